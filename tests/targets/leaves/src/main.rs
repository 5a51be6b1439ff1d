//! One task per kind of wait of tokio, tokio-util and tokio-stream, each in
//! an async fn named after it, parked at a marked line. The target knows its
//! own sockets: after `READY <pid>` it prints their fds and ports.
//!
//!   ACCEPT_FD, ACCEPT_PORT       the listener `accepts_on_listener` waits on
//!   READ_FD, READ_PORT, READ_PEER_PORT
//!                                the accepted connection `reads_tcp` reads
//!                                (READ_PORT local, READ_PEER_PORT the client)
//!   PROXY_IN_FD, PROXY_UP_FD, UPSTREAM_PORT
//!                                `proxies_to_stalled_upstream`'s two sockets
//!                                (the upstream never reads)
//!   FEED_FD                      the client socket `feeds_proxy` writes to
//!   FRAMED_FD                    the socket `reads_framed_lines` reads lines from
//!   SEND_ALL_FD                  the socket `sends_all_lines` writes lines to
//!                                (its peer never reads)
//!   SEND_LINE_FD                 the socket `sends_framed_line` writes one long
//!                                line to through a Framed (its peer never reads)
//!   UDP_FD, UDP_PORT             the socket `recvs_udp` waits on
//!   UNIX_LISTENER_FD, UNIX_PATH  the listener `accepts_on_unix_listener` waits on
//!   UNIX_STREAM_FD               the end of a socketpair `reads_unix_stream` reads
//!   ASYNC_FD                     the fd `waits_async_fd_readable` waits on (a
//!                                std UnixStream inside an AsyncFd)
//!   CONNECT_PORT                 the listener `connects_to_full_listener`
//!                                connects to (its accept queue is full)
//!   TASKS                        tasks spawned

use std::future::Future;
use std::os::unix::io::AsRawFd;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use futures::SinkExt;
use tokio::io::unix::AsyncFd;
use tokio::net::{TcpListener, TcpStream, UdpSocket, UnixListener, UnixStream};
use tokio::sync::{broadcast, mpsc, oneshot, watch, Barrier, Semaphore};
use tokio::task::JoinSet;
use tokio_stream::StreamExt;
use tokio_util::codec::{Framed, FramedRead, FramedWrite, LinesCodec};

const AN_HOUR: Duration = Duration::from_secs(3600);

async fn accepts_on_listener(listener: TcpListener) {
    ready::arrive();
    let _ = listener.accept().await; // @mark accepts_on_listener_awaits_accept
}

async fn reads_tcp(mut stream: TcpStream) {
    // The peer sent 5 bytes: read_exact takes them and waits for the rest.
    let mut buf = [0u8; 64];
    ready::arrive();
    let _ = stream.read_exact(&mut buf).await; // @mark reads_tcp_awaits_read_exact
}

async fn proxies_to_stalled_upstream(mut inbound: TcpStream, mut upstream: TcpStream) {
    ready::arrive();
    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut upstream).await; // @mark proxies_to_stalled_upstream_awaits_copy
}

async fn feeds_proxy(mut client: TcpStream) {
    // More than every socket buffer between here and the stalled upstream.
    let data = vec![b'x'; 64 << 20];
    ready::arrive();
    let _ = client.write_all(&data).await; // @mark feeds_proxy_awaits_write_all
}

async fn reads_framed_lines(stream: TcpStream) {
    let mut lines = FramedRead::new(stream, LinesCodec::new());
    ready::arrive();
    let _ = lines.next().await; // @mark reads_framed_lines_awaits_next
}

async fn sends_all_lines(stream: TcpStream) {
    // More lines than the socket buffers between here and a peer that never reads.
    let line = "x".repeat(64 << 10);
    let mut lines = futures::stream::iter(std::iter::repeat(line).take(1024).map(Ok));
    let mut sink = FramedWrite::new(stream, LinesCodec::new());
    ready::arrive();
    let _ = sink.send_all(&mut lines).await; // @mark sends_all_lines_awaits_send_all
}

async fn sends_framed_line(stream: TcpStream) {
    // A reading and writing Framed, as a chat server keeps per peer, sending
    // one line longer than the socket buffers between here and a peer that
    // never reads: SinkExt::send waits in its flush.
    let line = "x".repeat(16 << 20);
    let mut framed = Framed::new(stream, LinesCodec::new());
    ready::arrive();
    let _ = framed.send(line.as_str()).await; // @mark sends_framed_line_awaits_send
}

async fn recvs_udp(socket: UdpSocket) {
    let mut buf = [0u8; 64];
    ready::arrive();
    let _ = socket.recv(&mut buf).await; // @mark recvs_udp_awaits_recv
}

async fn accepts_on_unix_listener(listener: UnixListener) {
    ready::arrive();
    let _ = listener.accept().await; // @mark accepts_on_unix_listener_awaits_accept
}

async fn reads_unix_stream(mut stream: UnixStream) {
    let mut buf = [0u8; 64];
    ready::arrive();
    let _ = stream.read(&mut buf).await; // @mark reads_unix_stream_awaits_read
}

async fn waits_async_fd_readable(fd: AsyncFd<std::os::unix::net::UnixStream>) {
    ready::arrive();
    let _ = fd.readable().await; // @mark waits_async_fd_readable_awaits_readable
}

async fn recvs_futures_oneshot(rx: futures::channel::oneshot::Receiver<u32>) {
    ready::arrive();
    let _ = rx.await; // @mark recvs_futures_oneshot_awaits_receiver
}

async fn nexts_futures_mpsc(mut rx: futures::channel::mpsc::Receiver<u32>) {
    ready::arrive();
    let _ = futures::StreamExt::next(&mut rx).await; // @mark nexts_futures_mpsc_awaits_next
}

async fn locks_futures_mutex(mutex: Arc<futures::lock::Mutex<u32>>) {
    ready::arrive();
    let _ = mutex.lock().await; // @mark locks_futures_mutex_awaits_lock
}

async fn recvs_broadcast(mut rx: broadcast::Receiver<u32>) {
    ready::arrive();
    let _ = rx.recv().await; // @mark recvs_broadcast_awaits_recv
}

async fn waits_watch_changed(mut rx: watch::Receiver<u32>) {
    ready::arrive();
    let _ = rx.changed().await; // @mark waits_watch_changed_awaits_changed
}

async fn waits_on_barrier(barrier: Arc<Barrier>) {
    ready::arrive();
    barrier.wait().await; // @mark waits_on_barrier_awaits_wait
}

async fn sends_on_full_mpsc(tx: mpsc::Sender<u32>) {
    tx.send(1).await.expect("the channel is open");
    ready::arrive();
    let _ = tx.send(2).await; // @mark sends_on_full_mpsc_awaits_send
}

async fn oneshot_sender_waits_closed(mut tx: oneshot::Sender<u32>) {
    ready::arrive();
    tx.closed().await; // @mark oneshot_sender_waits_closed_awaits_closed
}

async fn oneshot_receiver_waits(rx: oneshot::Receiver<u32>) {
    ready::arrive();
    let _ = rx.await; // @mark oneshot_receiver_waits_awaits_receiver
}

async fn acquires_owned_permit(semaphore: Arc<Semaphore>) {
    ready::arrive();
    let _ = semaphore.acquire_owned().await; // @mark acquires_owned_permit_awaits_acquire_owned
}

async fn joined_in_set() {
    ready::arrive();
    tokio::time::sleep(AN_HOUR).await; // @mark joined_in_set_awaits_sleep
}

async fn joins_next_in_set() {
    let mut set = JoinSet::new();
    set.spawn(joined_in_set());
    ready::arrive();
    let _ = set.join_next().await; // @mark joins_next_in_set_awaits_join_next
}

async fn awaits_spawn_blocking() {
    let handle = tokio::task::spawn_blocking(|| std::thread::sleep(AN_HOUR));
    ready::arrive();
    let _ = handle.await; // @mark awaits_spawn_blocking_awaits_handle
}

async fn ticks_interval() {
    let mut interval = tokio::time::interval(AN_HOUR);
    interval.tick().await; // the first tick is immediate
    ready::arrive();
    interval.tick().await; // @mark ticks_interval_awaits_tick
}

async fn sleeps_until() {
    let deadline = tokio::time::Instant::now() + AN_HOUR;
    ready::arrive();
    tokio::time::sleep_until(deadline).await; // @mark sleeps_until_awaits_sleep_until
}

async fn times_out(rx: oneshot::Receiver<u32>) {
    ready::arrive();
    let _ = tokio::time::timeout(AN_HOUR, rx).await; // @mark times_out_awaits_timeout
}

/// Everything main keeps alive so that nobody is ever woken.
#[allow(dead_code)]
struct KeepAlive {
    tcp: Vec<TcpStream>,
    unix: UnixStream,
    async_fd_peer: std::os::unix::net::UnixStream,
    broadcast: broadcast::Sender<u32>,
    watch: watch::Sender<u32>,
    mpsc_rx: mpsc::Receiver<u32>,
    timeout_tx: oneshot::Sender<u32>,
    futures_oneshot: futures::channel::oneshot::Sender<u32>,
    futures_mpsc: futures::channel::mpsc::Sender<u32>,
    futures_mutex: futures::lock::MutexGuard<'static, u32>,
}

async fn connected_pair(listener: &TcpListener) -> (TcpStream, TcpStream) {
    let address = listener.local_addr().expect("the listener has no address");
    let client = TcpStream::connect(address).await.expect("cannot connect to our own listener");
    let (accepted, _) = listener.accept().await.expect("cannot accept our own connection");
    (client, accepted)
}

async fn connects_to_full_listener(address: std::net::SocketAddr) {
    ready::arrive();
    let _ = TcpStream::connect(address).await; // @mark connects_to_full_listener_awaits_connect
}

/// A listener whose accept queue is full (backlog 1: Linux queues two
/// connections nobody accepts): the kernel drops further SYNs, and a connect
/// to it stays in SYN-SENT for minutes. Returns its address.
async fn full_listener(keep: &mut Vec<TcpStream>) -> (tokio::net::TcpListener, std::net::SocketAddr) {
    let socket = tokio::net::TcpSocket::new_v4().expect("cannot make a socket");
    socket.bind("127.0.0.1:0".parse().unwrap()).expect("cannot bind 127.0.0.1");
    let listener = socket.listen(1).expect("cannot listen on 127.0.0.1");
    let address = listener.local_addr().expect("the listener has no address");
    for _ in 0..2 {
        keep.push(TcpStream::connect(address).await.expect("cannot fill the accept queue"));
    }
    (listener, address)
}

async fn loopback_listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").await.expect("cannot listen on 127.0.0.1")
}

fn port(s: &TcpStream) -> u16 {
    s.local_addr().expect("no local address").port()
}

#[tokio::main]
async fn main() {
    let mut tasks: Vec<Pin<Box<dyn Future<Output = ()> + Send>>> = Vec::new();
    let mut spawn = |task| tasks.push(task);
    let mut tcp = Vec::new();

    let accepting = loopback_listener().await;
    ready::report(format!("ACCEPT_FD {}", accepting.as_raw_fd()));
    ready::report(format!("ACCEPT_PORT {}", accepting.local_addr().unwrap().port()));
    spawn(Box::pin(accepts_on_listener(accepting)));

    let listener = loopback_listener().await;
    let (mut client, accepted) = connected_pair(&listener).await;
    client.write_all(b"hello").await.expect("cannot write to our own connection");
    ready::report(format!("READ_FD {}", accepted.as_raw_fd()));
    ready::report(format!("READ_PORT {}", port(&accepted)));
    ready::report(format!("READ_PEER_PORT {}", port(&client)));
    spawn(Box::pin(reads_tcp(accepted)));
    tcp.push(client);

    // client → (feeds_proxy) → inbound | proxy | upstream → stalled (never read)
    // The upstream server keeps listening, as a real one does.
    let upstream_listener = loopback_listener().await;
    let (upstream, stalled) = connected_pair(&upstream_listener).await;
    ready::report(format!("UPSTREAM_PORT {}", port(&stalled)));
    let (client, inbound) = connected_pair(&listener).await;
    ready::report(format!("PROXY_IN_FD {}", inbound.as_raw_fd()));
    ready::report(format!("PROXY_UP_FD {}", upstream.as_raw_fd()));
    ready::report(format!("FEED_FD {}", client.as_raw_fd()));
    spawn(Box::pin(proxies_to_stalled_upstream(inbound, upstream)));
    spawn(Box::pin(feeds_proxy(client)));
    tcp.push(stalled);

    let (mut client, framed) = connected_pair(&listener).await;
    client.write_all(b"no newline yet").await.expect("cannot write to our own connection");
    ready::report(format!("FRAMED_FD {}", framed.as_raw_fd()));
    spawn(Box::pin(reads_framed_lines(framed)));
    tcp.push(client);

    let (client, sending) = connected_pair(&listener).await;
    ready::report(format!("SEND_ALL_FD {}", sending.as_raw_fd()));
    spawn(Box::pin(sends_all_lines(sending)));
    tcp.push(client);

    let (client, sending) = connected_pair(&listener).await;
    ready::report(format!("SEND_LINE_FD {}", sending.as_raw_fd()));
    spawn(Box::pin(sends_framed_line(sending)));
    tcp.push(client);

    let (_full, full_address) = full_listener(&mut tcp).await;
    ready::report(format!("CONNECT_PORT {}", full_address.port()));
    spawn(Box::pin(connects_to_full_listener(full_address)));

    let udp = UdpSocket::bind("127.0.0.1:0").await.expect("cannot bind a udp socket");
    ready::report(format!("UDP_FD {}", udp.as_raw_fd()));
    ready::report(format!("UDP_PORT {}", udp.local_addr().unwrap().port()));
    spawn(Box::pin(recvs_udp(udp)));

    let path = std::env::temp_dir().join(format!("asyncdump-leaves-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let unix_listener = UnixListener::bind(&path).expect("cannot listen on a unix socket");
    // The listener stays bound; its path is not needed once bound.
    let _ = std::fs::remove_file(&path);
    ready::report(format!("UNIX_LISTENER_FD {}", unix_listener.as_raw_fd()));
    ready::report(format!("UNIX_PATH {}", path.display()));
    spawn(Box::pin(accepts_on_unix_listener(unix_listener)));
    let (unix_peer, unix_stream) = UnixStream::pair().expect("cannot make a socketpair");
    ready::report(format!("UNIX_STREAM_FD {}", unix_stream.as_raw_fd()));
    spawn(Box::pin(reads_unix_stream(unix_stream)));
    let (async_fd_peer, async_fd_end) =
        std::os::unix::net::UnixStream::pair().expect("cannot make a socketpair");
    async_fd_end.set_nonblocking(true).expect("cannot make a socket non-blocking");
    ready::report(format!("ASYNC_FD {}", async_fd_end.as_raw_fd()));
    spawn(Box::pin(waits_async_fd_readable(
        AsyncFd::new(async_fd_end).expect("cannot register an AsyncFd"),
    )));

    let (futures_oneshot, rx) = futures::channel::oneshot::channel();
    spawn(Box::pin(recvs_futures_oneshot(rx)));
    let (futures_mpsc, rx) = futures::channel::mpsc::channel(4);
    spawn(Box::pin(nexts_futures_mpsc(rx)));
    let futures_mutex: &'static Arc<futures::lock::Mutex<u32>> =
        Box::leak(Box::new(Arc::new(futures::lock::Mutex::new(0))));
    let futures_mutex_guard = futures_mutex.lock().await;
    spawn(Box::pin(locks_futures_mutex(futures_mutex.clone())));

    let (broadcast_tx, broadcast_rx) = broadcast::channel(16);
    spawn(Box::pin(recvs_broadcast(broadcast_rx)));
    let (watch_tx, watch_rx) = watch::channel(0);
    spawn(Box::pin(waits_watch_changed(watch_rx)));
    spawn(Box::pin(waits_on_barrier(Arc::new(Barrier::new(2)))));
    let (mpsc_tx, mpsc_rx) = mpsc::channel(1);
    spawn(Box::pin(sends_on_full_mpsc(mpsc_tx)));
    let (oneshot_tx, oneshot_rx) = oneshot::channel();
    spawn(Box::pin(oneshot_sender_waits_closed(oneshot_tx)));
    spawn(Box::pin(oneshot_receiver_waits(oneshot_rx)));
    spawn(Box::pin(acquires_owned_permit(Arc::new(Semaphore::new(0)))));
    spawn(Box::pin(joins_next_in_set()));
    spawn(Box::pin(awaits_spawn_blocking()));
    spawn(Box::pin(ticks_interval()));
    spawn(Box::pin(sleeps_until()));
    let (timeout_tx, timeout_rx) = oneshot::channel();
    spawn(Box::pin(times_out(timeout_rx)));

    // joined_in_set, spawned by joins_next_in_set, arrives too.
    let spawned = tasks.len() + 1;
    for task in tasks {
        tokio::spawn(task);
    }
    let _keep = KeepAlive { tcp, unix: unix_peer, async_fd_peer, futures_oneshot, futures_mpsc,
        futures_mutex: futures_mutex_guard, broadcast: broadcast_tx, watch: watch_tx, mpsc_rx, timeout_tx };
    ready::report(format!("TASKS {spawned}"));
    ready::announce_when_parked(spawned);
    std::future::pending::<()>().await; // @mark main_awaits_forever
}
