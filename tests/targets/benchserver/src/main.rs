//! The benchmark's loaded service: a hyper 0.14 HTTP server on 127.0.0.1
//! that answers every request at once, plus idle background tasks, as a
//! service has. wrk loads it while asyncdumpd samples it (or not).
//!
//!   benchserver [--idle-tasks N] (default 100)
//!
//! After `READY <pid>`:
//!
//!   PORT <the server's port>
//!   IDLE_TASKS N

use std::convert::Infallible;
use std::process::ExitCode;
use std::time::Duration;

use hyper::service::{make_service_fn, service_fn};
use hyper::{Body, Request, Response, Server};

const AN_HOUR: Duration = Duration::from_secs(3600);
const ANSWER: &str = "hello from benchserver\n";

async fn answer(_request: Request<Body>) -> Result<Response<Body>, Infallible> {
    Ok(Response::new(Body::from(ANSWER)))
}

async fn idle_background_task() {
    ready::arrive();
    tokio::time::sleep(AN_HOUR).await; // @mark idle_background_task_awaits_sleep
}

async fn serve(listener: std::net::TcpListener) {
    let make_service =
        make_service_fn(|_connection| async { Ok::<_, Infallible>(service_fn(answer)) });
    let server = Server::from_tcp(listener)
        .expect("hyper cannot use the listener")
        .serve(make_service);
    ready::arrive();
    let served = server.await; // @mark serve_awaits_server
    if let Err(error) = served {
        eprintln!("benchserver: {error}");
    }
}

fn parse_idle_tasks() -> Result<usize, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] => Ok(100),
        ["--idle-tasks", n] => n
            .parse()
            .map_err(|_| format!("--idle-tasks: not a number: {n}")),
        _ => Err(format!("usage: benchserver [--idle-tasks N], got {args:?}")),
    }
}

async fn run(listener: std::net::TcpListener, idle_tasks: usize) {
    for _ in 0..idle_tasks {
        drop(tokio::spawn(idle_background_task()));
    }
    tokio::spawn(serve(listener));
    std::future::pending::<()>().await; // @mark run_awaits_forever
}

fn main() -> ExitCode {
    let idle_tasks = match parse_idle_tasks() {
        Ok(n) => n,
        Err(why) => {
            eprintln!("benchserver: {why}");
            return ExitCode::from(2);
        }
    };
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("cannot listen on 127.0.0.1");
    listener
        .set_nonblocking(true)
        .expect("cannot make the listener non-blocking");
    let port = listener
        .local_addr()
        .expect("the listener has no address")
        .port();
    ready::report(format!("PORT {port}"));
    ready::report(format!("IDLE_TASKS {idle_tasks}"));
    // The idle tasks and the server.
    ready::announce_when_parked(idle_tasks + 1);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("cannot build a tokio runtime")
        .block_on(run(listener, idle_tasks));
    ExitCode::SUCCESS
}
