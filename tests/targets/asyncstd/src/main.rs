//! async-std: one task blocked on each kind of wait, each in an async fn
//! named after it, on async-std's global executor (async-global-executor on
//! async-executor and async-task, timers and sockets of async-io); main's
//! future (`#[async_std::main]`, async-std's `task::block_on`) awaits a
//! task's JoinHandle. Beside them, on threads of their own: futures'
//! `LocalPool` (thread `local-pool`, running `local_pool_main` with one
//! task), two `ThreadPool` tasks, futures' `block_on` (thread
//! `futures-blockon`), and a tokio runtime (thread `tokio-runtime`) with
//! one task. After `READY <pid>`:
//!
//!   ACCEPT_PORT <port of the listener accepts_on_listener waits on>
//!   READ_PORT <port of the listener whose accepted stream reads_tcp reads>
//!   TASKS <async-std tasks spawned>

use std::sync::Arc;
use std::time::Duration;

use async_std::channel;
use async_std::io::ReadExt;
use async_std::net::{TcpListener, TcpStream};
use async_lock::Barrier;
use async_std::sync::{Mutex, RwLock};
use async_std::task;
use event_listener::Event;

const AN_HOUR: Duration = Duration::from_secs(3600);

// ---- nested async fns

async fn nested_outer() {
    nested_middle().await; // @mark nested_outer_awaits_middle
}

async fn nested_middle() {
    nested_inner().await; // @mark nested_middle_awaits_inner
}

async fn nested_inner() {
    ready::arrive();
    task::sleep(AN_HOUR).await; // @mark nested_inner_awaits_sleep
}

// ---- timers and sockets

async fn sleeps() {
    ready::arrive();
    task::sleep(AN_HOUR + Duration::from_secs(1)).await; // @mark sleeps_awaits_sleep
}

async fn accepts_on_listener(listener: TcpListener) {
    ready::arrive();
    let _ = listener.accept().await; // @mark accepts_on_listener_awaits_accept
}

async fn reads_tcp(mut stream: TcpStream) {
    let mut buf = [0u8; 64];
    ready::arrive();
    let _ = stream.read(&mut buf).await; // @mark reads_tcp_awaits_read
}

// ---- channels

async fn recvs_channel(rx: channel::Receiver<u32>) {
    ready::arrive();
    let _ = rx.recv().await; // @mark recvs_channel_awaits_recv
}

async fn sends_on_full_channel(tx: channel::Sender<u32>) {
    tx.send(1).await.expect("the channel has room for one");
    ready::arrive();
    let _ = tx.send(2).await; // @mark sends_on_full_channel_awaits_send
}

// ---- locks and events

async fn holds_mutex(mutex: Arc<Mutex<u32>>, locked: channel::Sender<()>) {
    let _guard = mutex.lock().await;
    let _ = locked.send(()).await;
    ready::arrive();
    task::sleep(AN_HOUR + Duration::from_secs(2)).await; // @mark holds_mutex_awaits_sleep
}

async fn waits_on_mutex(mutex: Arc<Mutex<u32>>) {
    ready::arrive();
    let _guard = mutex.lock().await; // @mark waits_on_mutex_awaits_lock
}

async fn holds_read_lock(rwlock: Arc<RwLock<u32>>, locked: channel::Sender<()>) {
    let _guard = rwlock.read().await;
    let _ = locked.send(()).await;
    ready::arrive();
    task::sleep(AN_HOUR + Duration::from_secs(3)).await; // @mark holds_read_lock_awaits_sleep
}

async fn waits_on_rwlock_write(rwlock: Arc<RwLock<u32>>) {
    ready::arrive();
    let _guard = rwlock.write().await; // @mark waits_on_rwlock_write_awaits_write
}

async fn waits_on_semaphore(semaphore: Arc<async_lock::Semaphore>) {
    ready::arrive();
    let _permit = semaphore.acquire().await; // @mark waits_on_semaphore_awaits_acquire
}

async fn waits_on_barrier(barrier: Arc<Barrier>) {
    ready::arrive();
    barrier.wait().await; // @mark waits_on_barrier_awaits_wait
}

async fn waits_on_event(event: Arc<Event>) {
    ready::arrive();
    event.listen().await; // @mark waits_on_event_awaits_listen
}

// ---- a task awaiting another

async fn awaited_child() {
    ready::arrive();
    task::sleep(AN_HOUR + Duration::from_secs(4)).await; // @mark awaited_child_awaits_sleep
}

async fn awaits_task() {
    let child = task::spawn(awaited_child());
    ready::arrive();
    child.await; // @mark awaits_task_awaits_child
}

// ---- futures' executors and tokio beside async-std

async fn local_pool_main() {
    ready::arrive();
    let (_tx, rx) = futures::channel::oneshot::channel::<()>();
    let _ = rx.await; // @mark local_pool_main_awaits_oneshot
}

async fn local_pool_task() {
    ready::arrive();
    let (_tx, rx) = futures::channel::oneshot::channel::<()>();
    let _ = rx.await; // @mark local_pool_task_awaits_oneshot
}

async fn thread_pool_task(event: Arc<Event>) {
    ready::arrive();
    event.listen().await; // @mark thread_pool_task_awaits_listen
}

async fn thread_pool_inner(mut rx: futures::channel::mpsc::Receiver<u32>) {
    use futures::StreamExt;
    ready::arrive();
    let _ = rx.next().await; // @mark thread_pool_inner_awaits_next
}

async fn thread_pool_outer(rx: futures::channel::mpsc::Receiver<u32>) {
    thread_pool_inner(rx).await; // @mark thread_pool_outer_awaits_inner
}

async fn futures_block_on_main() {
    ready::arrive();
    let (_tx, rx) = futures::channel::oneshot::channel::<()>();
    let _ = rx.await; // @mark futures_block_on_main_awaits_oneshot
}

async fn tokio_waits_on_timer() {
    ready::arrive();
    tokio::time::sleep(AN_HOUR).await; // @mark tokio_waits_on_timer_awaits_sleep
}

/// What keeps the futures executors' tasks waiting.
type FuturesKeepAlive = (futures::executor::ThreadPool, Arc<Event>, futures::channel::mpsc::Sender<u32>);

/// Starts the futures and tokio executors on their threads; returns how many
/// of their futures arrive, and what keeps them alive.
fn start_other_executors() -> (usize, FuturesKeepAlive) {
    std::thread::Builder::new()
        .name("local-pool".into())
        .spawn(|| {
            use futures::task::LocalSpawnExt;
            let mut pool = futures::executor::LocalPool::new();
            pool.spawner()
                .spawn_local(local_pool_task())
                .expect("cannot spawn on the LocalPool");
            pool.run_until(local_pool_main());
        })
        .expect("cannot start the LocalPool's thread");
    let thread_pool = futures::executor::ThreadPool::builder()
        .pool_size(1)
        .name_prefix("thread-pool-")
        .create()
        .expect("cannot build the ThreadPool");
    let event = Arc::new(Event::new());
    thread_pool.spawn_ok(thread_pool_task(event.clone()));
    let (tx, rx) = futures::channel::mpsc::channel(1);
    thread_pool.spawn_ok(thread_pool_outer(rx));
    std::thread::Builder::new()
        .name("futures-blockon".into())
        .spawn(|| futures::executor::block_on(futures_block_on_main()))
        .expect("cannot start the futures block_on's thread");
    std::thread::Builder::new()
        .name("tokio-runtime".into())
        .spawn(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("cannot build the tokio runtime");
            runtime.block_on(async {
                tokio::spawn(tokio_waits_on_timer());
                std::future::pending::<()>().await
            });
        })
        .expect("cannot start the tokio runtime's thread");
    (6, (thread_pool, event, tx))
}

/// Everything main keeps alive so that nobody is ever woken.
struct KeepAlive {
    _channels: (channel::Sender<u32>, channel::Receiver<u32>),
    _client: TcpStream,
    _events: (Arc<Event>, Arc<Event>),
    _others: FuturesKeepAlive,
}

async fn spawn_holder<F>(holder: impl FnOnce(channel::Sender<()>) -> F)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let (locked_tx, locked_rx) = channel::bounded(1);
    task::spawn(holder(locked_tx));
    locked_rx
        .recv()
        .await
        .expect("a lock holder died before taking its lock");
}

/// Spawns every blocked task; returns what main must keep alive, the number
/// of futures that arrive, and the task main awaits.
async fn spawn_blocked_tasks() -> (KeepAlive, usize, task::JoinHandle<()>) {
    let mut spawned = 0;
    task::spawn(nested_outer());
    task::spawn(sleeps());
    spawned += 2;

    let listener = TcpListener::bind("127.0.0.1:0").await.expect("cannot listen on 127.0.0.1");
    ready::report(format!("ACCEPT_PORT {}", listener.local_addr().unwrap().port()));
    task::spawn(accepts_on_listener(listener));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("cannot listen on 127.0.0.1");
    let address = listener.local_addr().expect("the listener has no address");
    let client = TcpStream::connect(address).await.expect("cannot connect to our own listener");
    let (accepted, _) = listener.accept().await.expect("cannot accept our own connection");
    ready::report(format!("READ_PORT {}", address.port()));
    task::spawn(reads_tcp(accepted));
    spawned += 2;

    let (recv_tx, recv_rx) = channel::bounded(4);
    task::spawn(recvs_channel(recv_rx));
    let (full_tx, full_rx) = channel::bounded(1);
    task::spawn(sends_on_full_channel(full_tx));
    spawned += 2;

    let mutex = Arc::new(Mutex::new(0));
    let m = mutex.clone();
    spawn_holder(move |locked| holds_mutex(m, locked)).await;
    task::spawn(waits_on_mutex(mutex));
    let rwlock = Arc::new(RwLock::new(0));
    let rw = rwlock.clone();
    spawn_holder(move |locked| holds_read_lock(rw, locked)).await;
    task::spawn(waits_on_rwlock_write(rwlock));
    task::spawn(waits_on_semaphore(Arc::new(async_lock::Semaphore::new(0))));
    task::spawn(waits_on_barrier(Arc::new(Barrier::new(2))));
    let event = Arc::new(Event::new());
    task::spawn(waits_on_event(event.clone()));
    spawned += 7;

    let (others, futures_keep) = start_other_executors();
    let keep = KeepAlive {
        _channels: (recv_tx, full_rx),
        _client: client,
        _events: (event, futures_keep.1.clone()),
        _others: futures_keep,
    };
    let awaited = task::spawn(awaits_task());
    spawned += 2;
    ready::report(format!("TASKS {spawned}"));
    (keep, spawned + others, awaited)
}

#[async_std::main]
async fn main() {
    let (_keep, arrivals, awaited) = spawn_blocked_tasks().await;
    ready::announce_when_parked(arrivals);
    awaited.await; // @mark main_awaits_task
}
