//! smol: one task blocked on each kind of wait, each in an async fn named
//! after it, on smol's global executor (async-executor, async-task, timers
//! and sockets of async-io, async-channel, async-lock, event-listener);
//! main's future (`smol::block_on`) awaits a `Task`. Beside them: an
//! `Executor` of our own run by two threads `executor-N` with one task, and
//! a `LocalExecutor` run by thread `local-executor` (its `run` future, passed
//! to `block_on`, holds `local_main`) with `LOCAL_TASKS` tasks. After
//! `READY <pid>`:
//!
//!   ACCEPT_PORT <port of the listener accepts_on_listener waits on>
//!   READ_PORT <port of the listener whose accepted stream reads_tcp reads>
//!   LINES_PORT <port of the listener whose accepted stream reads_lines reads>
//!   TASKS <tasks spawned on smol's global executor>
//!   LOCAL_TASKS <tasks spawned on the LocalExecutor>
//!
//! With `--block-on-only`, main's future is all there is: async-io's
//! `block_on` around a read raced with a timer (`or`), no executor ever
//! created, as in async-process's examples. After `READY <pid>`:
//!
//!   ONLY_READ_PORT <port of the listener whose accepted stream only_reads reads>

use std::net::{TcpListener, TcpStream};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use event_listener::Event;
use smol::channel;
use smol::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use smol::stream::StreamExt;
use smol::lock::{Barrier, Mutex, RwLock, Semaphore};
use smol::{Async, Executor, LocalExecutor, Task, Timer};

const AN_HOUR: Duration = Duration::from_secs(3600);
const LOCAL_TASKS: usize = 2;

// ---- nested async fns

async fn nested_outer() {
    nested_middle().await; // @mark nested_outer_awaits_middle
}

async fn nested_middle() {
    nested_inner().await; // @mark nested_middle_awaits_inner
}

async fn nested_inner() {
    ready::arrive();
    Timer::after(AN_HOUR).await; // @mark nested_inner_awaits_timer
}

// ---- timers and sockets

async fn sleeps() {
    ready::arrive();
    Timer::after(AN_HOUR + Duration::from_secs(1)).await; // @mark sleeps_awaits_timer
}

async fn accepts_on_listener(listener: Async<TcpListener>) {
    ready::arrive();
    let _ = listener.accept().await; // @mark accepts_on_listener_awaits_accept
}

async fn reads_tcp(mut stream: Async<TcpStream>) {
    let mut buf = [0u8; 64];
    ready::arrive();
    let _ = stream.read(&mut buf).await; // @mark reads_tcp_awaits_read
}

/// A line reader (futures-lite's Lines over a BufReader), as chat servers read.
async fn reads_lines(stream: Async<TcpStream>) {
    let mut lines = BufReader::new(stream).lines();
    ready::arrive();
    let _ = lines.next().await; // @mark reads_lines_awaits_next
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
    Timer::after(AN_HOUR + Duration::from_secs(2)).await; // @mark holds_mutex_awaits_timer
}

async fn waits_on_mutex(mutex: Arc<Mutex<u32>>) {
    ready::arrive();
    let _guard = mutex.lock().await; // @mark waits_on_mutex_awaits_lock
}

async fn holds_read_lock(rwlock: Arc<RwLock<u32>>, locked: channel::Sender<()>) {
    let _guard = rwlock.read().await;
    let _ = locked.send(()).await;
    ready::arrive();
    Timer::after(AN_HOUR + Duration::from_secs(3)).await; // @mark holds_read_lock_awaits_timer
}

async fn waits_on_rwlock_write(rwlock: Arc<RwLock<u32>>) {
    ready::arrive();
    let _guard = rwlock.write().await; // @mark waits_on_rwlock_write_awaits_write
}

async fn waits_on_semaphore(semaphore: Arc<Semaphore>) {
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

// ---- tasks awaiting others

async fn awaited_child() {
    ready::arrive();
    Timer::after(AN_HOUR + Duration::from_secs(4)).await; // @mark awaited_child_awaits_timer
}

async fn awaits_task() {
    let child = smol::spawn(awaited_child());
    ready::arrive();
    child.await; // @mark awaits_task_awaits_child
}

async fn main_child() {
    ready::arrive();
    Timer::after(AN_HOUR + Duration::from_secs(5)).await; // @mark main_child_awaits_timer
}

// ---- an Executor of our own, a LocalExecutor

async fn on_own_executor() {
    ready::arrive();
    Timer::after(AN_HOUR + Duration::from_secs(6)).await; // @mark on_own_executor_awaits_timer
}

async fn local_waits_on_timer(id: u64) {
    // Held across the await: this future is !Send, as LocalExecutor tasks may be.
    let id = Rc::new(id);
    ready::arrive();
    Timer::after(AN_HOUR + Duration::from_secs(10 + *id)).await; // @mark local_waits_on_timer_awaits_timer
}

async fn local_main() {
    ready::arrive();
    smol::future::pending::<()>().await; // @mark local_main_awaits_forever
}

/// Starts the Executor's two threads and the LocalExecutor's thread; returns
/// how many futures arrive there and the Executor's task.
fn start_other_executors() -> (usize, Task<()>) {
    let executor = Arc::new(Executor::new());
    let task = executor.spawn(on_own_executor());
    for n in 0..2 {
        let executor = executor.clone();
        std::thread::Builder::new()
            .name(format!("executor-{n}"))
            .spawn(move || smol::block_on(executor.run(smol::future::pending::<()>())))
            .expect("cannot start an executor thread");
    }
    std::thread::Builder::new()
        .name("local-executor".into())
        .spawn(|| {
            let local = LocalExecutor::new();
            for id in 0..LOCAL_TASKS as u64 {
                local.spawn(local_waits_on_timer(id)).detach();
            }
            smol::block_on(local.run(local_main()));
        })
        .expect("cannot start the LocalExecutor's thread");
    (1 + LOCAL_TASKS + 1, task)
}

/// Everything main keeps alive so that nobody is ever woken.
struct KeepAlive {
    _channels: (channel::Sender<u32>, channel::Receiver<u32>),
    _client: (Async<TcpStream>, Async<TcpStream>),
    _event: Arc<Event>,
    _task: Task<()>,
}

async fn spawn_holder<F>(holder: impl FnOnce(channel::Sender<()>) -> F)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let (locked_tx, locked_rx) = channel::bounded(1);
    smol::spawn(holder(locked_tx)).detach();
    locked_rx
        .recv()
        .await
        .expect("a lock holder died before taking its lock");
}

/// A connection to a listener of our own on loopback: the listener's port,
/// the client's end and the accepted end.
async fn connection_to_ourselves() -> (u16, Async<TcpStream>, Async<TcpStream>) {
    let listener = Async::<TcpListener>::bind(([127, 0, 0, 1], 0)).expect("cannot listen on 127.0.0.1");
    let address = listener.get_ref().local_addr().expect("the listener has no address");
    let client = Async::<TcpStream>::connect(address).await.expect("cannot connect to our own listener");
    let (accepted, _) = listener.accept().await.expect("cannot accept our own connection");
    (address.port(), client, accepted)
}

/// Spawns every blocked task; returns what main must keep alive, the number
/// of futures that arrive, and the task main awaits.
async fn spawn_blocked_tasks() -> (KeepAlive, usize, Task<()>) {
    let mut spawned = 0;
    smol::spawn(nested_outer()).detach();
    smol::spawn(sleeps()).detach();
    spawned += 2;

    let listener = Async::<TcpListener>::bind(([127, 0, 0, 1], 0)).expect("cannot listen on 127.0.0.1");
    ready::report(format!("ACCEPT_PORT {}", listener.get_ref().local_addr().unwrap().port()));
    smol::spawn(accepts_on_listener(listener)).detach();
    let (port, client, accepted) = connection_to_ourselves().await;
    ready::report(format!("READ_PORT {port}"));
    smol::spawn(reads_tcp(accepted)).detach();
    let (port, lines_client, lines_accepted) = connection_to_ourselves().await;
    ready::report(format!("LINES_PORT {port}"));
    smol::spawn(reads_lines(lines_accepted)).detach();
    spawned += 3;

    let (recv_tx, recv_rx) = channel::bounded(4);
    smol::spawn(recvs_channel(recv_rx)).detach();
    let (full_tx, full_rx) = channel::bounded(1);
    smol::spawn(sends_on_full_channel(full_tx)).detach();
    spawned += 2;

    let mutex = Arc::new(Mutex::new(0));
    let m = mutex.clone();
    spawn_holder(move |locked| holds_mutex(m, locked)).await;
    smol::spawn(waits_on_mutex(mutex)).detach();
    let rwlock = Arc::new(RwLock::new(0));
    let rw = rwlock.clone();
    spawn_holder(move |locked| holds_read_lock(rw, locked)).await;
    smol::spawn(waits_on_rwlock_write(rwlock)).detach();
    smol::spawn(waits_on_semaphore(Arc::new(Semaphore::new(0)))).detach();
    smol::spawn(waits_on_barrier(Arc::new(Barrier::new(2)))).detach();
    let event = Arc::new(Event::new());
    smol::spawn(waits_on_event(event.clone())).detach();
    spawned += 7;

    smol::spawn(awaits_task()).detach();
    let awaited = smol::spawn(main_child());
    spawned += 3;

    let (others, task) = start_other_executors();
    ready::report(format!("TASKS {spawned}"));
    ready::report(format!("LOCAL_TASKS {LOCAL_TASKS}"));
    let keep = KeepAlive {
        _channels: (recv_tx, full_rx),
        _client: (client, lines_client),
        _event: event,
        _task: task,
    };
    (keep, spawned + others, awaited)
}

async fn main_future() {
    let (_keep, arrivals, awaited) = spawn_blocked_tasks().await;
    ready::announce_when_parked(arrivals);
    awaited.await; // @mark main_future_awaits_task
}

// ---- --block-on-only

async fn only_reads(stream: &mut Async<TcpStream>) {
    let mut buf = [0u8; 64];
    let _ = stream.read(&mut buf).await; // @mark only_reads_awaits_read
}

async fn only_sleeps() {
    Timer::after(AN_HOUR + Duration::from_secs(7)).await; // @mark only_sleeps_awaits_timer
}

async fn block_on_only() {
    let (port, _client, mut accepted) = connection_to_ourselves().await;
    ready::report(format!("ONLY_READ_PORT {port}"));
    ready::arrive();
    ready::announce_when_parked(1);
    smol::future::FutureExt::or(only_reads(&mut accepted), only_sleeps()).await; // @mark block_on_only_awaits_or
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("--block-on-only") {
        smol::block_on(block_on_only());
        return;
    }
    smol::block_on(main_future());
}
