//! A small hyper 0.14 HTTP server on 127.0.0.1 whose request handler gets
//! stuck (it awaits a Notify that never fires). The target sends two requests
//! to itself, one by hand (`request_self`), one with hyper's client
//! (`client_request_stuck`), so two handlers are stuck, each inside the
//! connection task hyper spawned; the client's connection task waits for the
//! response. After `READY <pid>`:
//!
//!   PORT <the server's port>
//!
//!   IDLE_PORT <client port of a connection that never sends anything>
//!   PARTIAL_PORT <client port of a connection that sent half a request head>
//!
//! Both connections are open and accepted by hyper (its connection tasks are
//! idle, and reading the head) before READY. Any further request to the port
//! adds one more stuck handler.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use hyper::service::{make_service_fn, service_fn};
use hyper::{Body, Request, Response, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;

async fn handle_stuck(
    _request: Request<Body>,
    never: Arc<Notify>,
) -> Result<Response<Body>, Infallible> {
    ready::arrive();
    never.notified().await; // @mark handle_stuck_awaits_notified
    Ok(Response::new(Body::from("unreachable: nobody notifies\n")))
}

async fn serve(listener: std::net::TcpListener, never: Arc<Notify>) {
    let make_service = make_service_fn(move |_connection| {
        let never = never.clone();
        async move {
            Ok::<_, Infallible>(service_fn(move |request| {
                handle_stuck(request, never.clone())
            }))
        }
    });
    let server = Server::from_tcp(listener)
        .expect("hyper cannot use the listener")
        .serve(make_service);
    ready::arrive();
    let served = server.await; // @mark serve_awaits_server
    if let Err(error) = served {
        eprintln!("server: {error}");
    }
}

async fn request_self(address: SocketAddr) {
    let mut stream = TcpStream::connect(address)
        .await
        .expect("cannot connect to our own server");
    let request = format!("GET /stuck HTTP/1.1\r\nHost: {address}\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("cannot send the request");
    let mut response = [0u8; 256];
    ready::arrive();
    let _ = stream.read(&mut response).await; // @mark request_self_awaits_response
}

/// Waits until the listener's accept queue is empty (/proc/self/net/tcp):
/// hyper has accepted every connection made so far.
fn wait_until_accepted(port: u16) {
    let listening = format!(":{port:04X} 00000000:0000 0A ");
    for _ in 0..2000 {
        let table = std::fs::read_to_string("/proc/self/net/tcp").expect("cannot read /proc/self/net/tcp");
        let queued = table.lines().find(|l| l.contains(&listening)).and_then(|l| {
            let queues = l.split_whitespace().nth(4)?;
            u64::from_str_radix(queues.split(':').nth(1)?, 16).ok()
        });
        if queued == Some(0) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    eprintln!("server: the listener never emptied its accept queue");
    std::process::exit(3);
}

async fn client_request_stuck(address: SocketAddr) {
    let client = hyper::Client::new();
    let uri: hyper::Uri = format!("http://{address}/stuck").parse().expect("a valid uri");
    ready::arrive();
    let _ = client.get(uri).await; // @mark client_request_stuck_awaits_get
}

#[tokio::main]
async fn main() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("cannot listen on 127.0.0.1");
    listener
        .set_nonblocking(true)
        .expect("cannot make the listener non-blocking");
    let address = listener.local_addr().expect("the listener has no address");
    ready::report(format!("PORT {}", address.port()));
    tokio::spawn(serve(listener, Arc::new(Notify::new())));
    tokio::spawn(request_self(address));
    tokio::spawn(client_request_stuck(address));
    // Two more connections, without a request in flight: one idle, one
    // half-way through a request head. Main holds the client ends.
    let idle = TcpStream::connect(address)
        .await
        .expect("cannot connect to our own server");
    let mut partial = TcpStream::connect(address)
        .await
        .expect("cannot connect to our own server");
    partial
        .write_all(format!("GET /partial HTTP/1.1\r\nHost: {address}\r\n").as_bytes())
        .await
        .expect("cannot send half a request");
    ready::report(format!("IDLE_PORT {}", idle.local_addr().expect("no address").port()));
    ready::report(format!("PARTIAL_PORT {}", partial.local_addr().expect("no address").port()));
    wait_until_accepted(address.port());
    // serve, request_self, client_request_stuck, and their two handlers.
    ready::announce_when_parked(5);
    let _clients = (idle, partial);
    std::future::pending::<()>().await; // @mark main_awaits_forever
}
