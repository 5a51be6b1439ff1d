//! One task blocked on each tokio synchronisation primitive, on a timer, on a
//! socket read, plus tasks of a LocalSet running on its own thread
//! "local-set". Each blocked task's async fn is named after what it waits on.
//! After `READY <pid>`:
//!
//!   TCP_PORT <port of the loopback listener whose accepted stream is read>
//!   LOCAL_TASKS <number of spawn_local tasks>

use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, Mutex, Notify, RwLock, Semaphore};
use tokio::task::LocalSet;

const AN_HOUR: Duration = Duration::from_secs(3600);
const LOCAL_TASKS: usize = 2;

// ---- lock holders: they take the lock, say so, and sleep holding it

async fn holds_mutex(mutex: Arc<Mutex<u32>>, locked: oneshot::Sender<()>) {
    let _guard = mutex.lock().await;
    let _ = locked.send(());
    ready::arrive();
    tokio::time::sleep(AN_HOUR).await; // @mark holds_mutex_awaits_sleep
}

async fn holds_read_lock(rwlock: Arc<RwLock<u32>>, locked: oneshot::Sender<()>) {
    let _guard = rwlock.read().await;
    let _ = locked.send(());
    ready::arrive();
    tokio::time::sleep(AN_HOUR).await; // @mark holds_read_lock_awaits_sleep
}

// ---- the blocked tasks

async fn waits_on_mutex(mutex: Arc<Mutex<u32>>) {
    ready::arrive();
    let _guard = mutex.lock().await; // @mark waits_on_mutex_awaits_lock
}

async fn waits_on_rwlock_write(rwlock: Arc<RwLock<u32>>) {
    ready::arrive();
    let _guard = rwlock.write().await; // @mark waits_on_rwlock_write_awaits_write
}

async fn waits_on_semaphore(semaphore: Arc<Semaphore>) {
    ready::arrive();
    let _permit = semaphore.acquire().await; // @mark waits_on_semaphore_awaits_acquire
}

async fn waits_on_notify(notify: Arc<Notify>) {
    ready::arrive();
    notify.notified().await; // @mark waits_on_notify_awaits_notified
}

async fn waits_on_oneshot(rx: oneshot::Receiver<u32>) {
    ready::arrive();
    let _ = rx.await; // @mark waits_on_oneshot_awaits_receiver
}

async fn waits_on_mpsc(mut rx: mpsc::Receiver<u32>) {
    ready::arrive();
    rx.recv().await; // @mark waits_on_mpsc_awaits_recv
}

async fn waits_on_unbounded_mpsc(mut rx: mpsc::UnboundedReceiver<u32>) {
    ready::arrive();
    rx.recv().await; // @mark waits_on_unbounded_mpsc_awaits_recv
}

async fn waits_on_timer() {
    ready::arrive();
    tokio::time::sleep(AN_HOUR).await; // @mark waits_on_timer_awaits_sleep
}

async fn waits_on_tcp_read(mut stream: TcpStream) {
    let mut buf = [0u8; 64];
    ready::arrive();
    let _ = stream.read(&mut buf).await; // @mark waits_on_tcp_read_awaits_read
}

// ---- the LocalSet

async fn local_waits_on_timer(id: u64) {
    // Held across the await: this future is !Send, as LocalSet tasks may be.
    let id = Rc::new(id);
    ready::arrive();
    tokio::time::sleep(AN_HOUR + Duration::from_secs(*id)).await; // @mark local_waits_on_timer_awaits_sleep
}

async fn local_set_main() {
    for id in 0..LOCAL_TASKS as u64 {
        tokio::task::spawn_local(local_waits_on_timer(id));
    }
    std::future::pending::<()>().await; // @mark local_set_main_awaits_forever
}

fn start_local_set() {
    std::thread::Builder::new()
        .name("local-set".into())
        .spawn(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("cannot build the LocalSet's runtime");
            LocalSet::new().block_on(&runtime, local_set_main());
        })
        .expect("cannot start the LocalSet's thread");
}

/// Everything main keeps alive so that nobody is ever woken: senders, the
/// client end of the socket.
struct KeepAlive {
    _oneshot: oneshot::Sender<u32>,
    _mpsc: mpsc::Sender<u32>,
    _unbounded: mpsc::UnboundedSender<u32>,
    _client: TcpStream,
}

/// Spawns tasks and counts them: each task spawned here arrives once.
#[derive(Default)]
struct Spawner {
    spawned: usize,
}

impl Spawner {
    fn spawn(&mut self, task: impl Future<Output = ()> + Send + 'static) {
        tokio::spawn(task);
        self.spawned += 1;
    }

    /// Spawns `holder`, which takes a lock and then sends on the channel it
    /// is given, and returns once it holds the lock.
    async fn spawn_holder<F>(&mut self, holder: impl FnOnce(oneshot::Sender<()>) -> F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let (locked_tx, locked_rx) = oneshot::channel();
        self.spawn(holder(locked_tx));
        locked_rx
            .await
            .expect("a lock holder died before taking its lock");
    }
}

/// Spawns every blocked task; returns what main must keep alive and how many
/// tasks arrive.
async fn spawn_blocked_tasks() -> (KeepAlive, usize) {
    let mut tasks = Spawner::default();
    let mutex = Arc::new(Mutex::new(0));
    let m = mutex.clone();
    tasks
        .spawn_holder(move |locked| holds_mutex(m, locked))
        .await;
    tasks.spawn(waits_on_mutex(mutex));

    let rwlock = Arc::new(RwLock::new(0));
    let rw = rwlock.clone();
    tasks
        .spawn_holder(move |locked| holds_read_lock(rw, locked))
        .await;
    tasks.spawn(waits_on_rwlock_write(rwlock));

    tasks.spawn(waits_on_semaphore(Arc::new(Semaphore::new(0))));
    tasks.spawn(waits_on_notify(Arc::new(Notify::new())));
    let (oneshot_tx, oneshot_rx) = oneshot::channel();
    tasks.spawn(waits_on_oneshot(oneshot_rx));
    let (mpsc_tx, mpsc_rx) = mpsc::channel(8);
    tasks.spawn(waits_on_mpsc(mpsc_rx));
    let (unbounded_tx, unbounded_rx) = mpsc::unbounded_channel();
    tasks.spawn(waits_on_unbounded_mpsc(unbounded_rx));
    tasks.spawn(waits_on_timer());

    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("cannot listen on 127.0.0.1");
    let address = listener.local_addr().expect("the listener has no address");
    let client = TcpStream::connect(address)
        .await
        .expect("cannot connect to our own listener");
    let (accepted, _) = listener
        .accept()
        .await
        .expect("cannot accept our own connection");
    tasks.spawn(waits_on_tcp_read(accepted));
    ready::report(format!("TCP_PORT {}", address.port()));

    let keep = KeepAlive {
        _oneshot: oneshot_tx,
        _mpsc: mpsc_tx,
        _unbounded: unbounded_tx,
        _client: client,
    };
    (keep, tasks.spawned)
}

#[tokio::main]
async fn main() {
    ready::report(format!("LOCAL_TASKS {LOCAL_TASKS}"));
    start_local_set();
    let (_keep, tasks) = spawn_blocked_tasks().await;
    ready::announce_when_parked(tasks + LOCAL_TASKS);
    std::future::pending::<()>().await; // @mark main_awaits_forever
}
