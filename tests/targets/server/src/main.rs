//! A small hyper 0.14 HTTP server on 127.0.0.1 whose request handler gets
//! stuck (it awaits a Notify that never fires). The target sends one request
//! to itself, so exactly one handler is stuck, inside the connection task
//! hyper spawned. After `READY <pid>`:
//!
//!   PORT <the server's port>
//!
//! Any further request to the port adds one more stuck handler.

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
