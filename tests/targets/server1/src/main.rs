//! The `server` target on hyper 1 and hyper-util, for the suites whose
//! hyper is 1.x (hyper 1 has no Server: the accept loop is ours, and each
//! connection is a task of ours serving it with hyper's http1 connection). A
//! small HTTP server on 127.0.0.1 whose request handler gets stuck (it
//! awaits a Notify that never fires). The target sends one request to
//! itself, so exactly one handler is stuck, inside the connection task.
//! After `READY <pid>`:
//!
//!   PORT <the server's port>
//!
//! Any further request to the port adds one more stuck handler.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

async fn handle_stuck(
    _request: Request<Incoming>,
    never: Arc<Notify>,
) -> Result<Response<String>, Infallible> {
    ready::arrive();
    never.notified().await; // @mark handle_stuck_awaits_notified
    Ok(Response::new("unreachable: nobody notifies\n".to_string()))
}

async fn connection(stream: TcpStream, never: Arc<Notify>) {
    let service = service_fn(move |request| handle_stuck(request, never.clone()));
    let served = http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await; // @mark connection_awaits_hyper
    if let Err(error) = served {
        eprintln!("server1: connection: {error}");
    }
}

async fn serve(listener: std::net::TcpListener, never: Arc<Notify>) {
    let listener = TcpListener::from_std(listener).expect("tokio cannot use the listener");
    ready::arrive();
    loop {
        let accepted = listener.accept().await; // @mark serve_awaits_server
        match accepted {
            Ok((stream, _)) => {
                tokio::spawn(connection(stream, never.clone()));
            }
            Err(error) => eprintln!("server1: accept: {error}"),
        }
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
    // serve, request_self, and the one handler.
    ready::announce_when_parked(3);
    std::future::pending::<()>().await; // @mark main_awaits_forever
}
