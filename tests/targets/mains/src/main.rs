//! The future a thread passes to a `block_on`, parked at a known line, for
//! each kind of block_on; one kind per run:
//!
//!   mains handle|local_set|run_until|futures|twin_multi|twin_current|twin_futures|blocked_current
//!
//! - `handle`: `Handle::block_on(handle_main())` on the main thread of a
//!   multi_thread runtime.
//! - `local_set`: `LocalSet::block_on(&current_thread_runtime, local_set_main())`.
//! - `run_until`: `Runtime::block_on(run_until_main())` on a current_thread
//!   runtime, which awaits `LocalSet::run_until(run_until_inner())`.
//! - `futures`: `futures::executor::block_on(futures_main())`.
//! - `twin_multi`, `twin_current`: two futures of the same type in main's
//!   frame: `twin(Role::Held)`, pinned in main and polled once by hand, parked
//!   at one line; `twin(Role::BlockOn)`, passed to `Runtime::block_on` (a
//!   multi_thread or a current_thread runtime), parked at another. Reporting
//!   the held one as the block_on future is wrong. `twin_futures`: the same
//!   with `futures::executor::block_on`, which inlines into main in a
//!   release build: both twins are then in the one frame searched.
//! - `blocked_current`: `Runtime::block_on(blocked_main())` on a
//!   current_thread runtime whose one spawned task blocks the thread (a
//!   `std::thread::sleep` inside a poll, the classic bug): the block_on
//!   thread is never parked again, it is inside the task's poll, and its
//!   future stays suspended where it was when the task started.
//!
//! Every block_on future waits on an hour's timer under one frame of this
//! file (run_until's through the LocalSet, in `run_until_inner`), except
//! futures_main, which waits on a tokio Notify (a multi_thread runtime runs
//! beside it, as in a program that uses both). What they await is kept in
//! memory by the runtime (a timer entry, a Notify's waiter), as a real
//! program's awaits are: a future whose state fits in registers may have no
//! address at all in a release build.

use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::task::Context;
use std::time::Duration;

use tokio::runtime::{Builder, Runtime};
use tokio::sync::Notify;
use tokio::task::LocalSet;

const AN_HOUR: Duration = Duration::from_secs(3600);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Held,
    BlockOn,
}

async fn handle_main() {
    ready::arrive();
    tokio::time::sleep(AN_HOUR).await; // @mark handle_main_awaits_timer
}

async fn local_set_main() {
    ready::arrive();
    tokio::time::sleep(AN_HOUR).await; // @mark local_set_main_awaits_timer
}

async fn run_until_inner() {
    ready::arrive();
    tokio::time::sleep(AN_HOUR).await; // @mark run_until_inner_awaits_timer
}

async fn run_until_main() {
    let local = LocalSet::new();
    local.run_until(run_until_inner()).await; // @mark run_until_main_awaits_local_set
}

async fn futures_main(notify: Arc<Notify>) {
    ready::arrive();
    notify.notified().await; // @mark futures_main_awaits_notify
}

/// A task that blocks its runtime's thread for an hour inside its poll.
async fn blocks_the_thread() {
    ready::arrive();
    std::thread::sleep(AN_HOUR);
}

async fn blocked_main() {
    tokio::spawn(blocks_the_thread());
    ready::arrive();
    tokio::time::sleep(AN_HOUR).await; // @mark blocked_main_awaits_timer
}

/// Both roles are the same type; each parks at its own line.
async fn twin(role: Role, tag: u64) -> u64 {
    if role == Role::Held {
        tokio::time::sleep(AN_HOUR).await; // @mark twin_held_awaits_timer
    } else {
        ready::arrive();
        tokio::time::sleep(AN_HOUR).await; // @mark twin_block_on_awaits_timer
    }
    tag
}

fn runtime(multi_thread: bool) -> Runtime {
    let mut builder = if multi_thread {
        Builder::new_multi_thread()
    } else {
        Builder::new_current_thread()
    };
    builder
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("cannot build the runtime")
}

/// Polls `f` once with a waker that does nothing: it parks at its first await.
fn poll_once<F: Future>(f: Pin<&mut F>) {
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    assert!(f.poll(&mut cx).is_pending(), "the held twin completed");
}

fn twin_main(multi_thread: bool) {
    let rt = runtime(multi_thread);
    let held = twin(Role::Held, 1);
    tokio::pin!(held);
    // Inside the runtime's context: its timer registers with the runtime.
    let context = rt.enter();
    poll_once(held.as_mut());
    drop(context);
    ready::announce_when_parked(1);
    let tag = rt.block_on(twin(Role::BlockOn, 2));
    // The held twin lives in main's frame until here (its timer entry is
    // linked into the runtime's wheel, so it stays in memory).
    drop(held);
    println!("{tag}");
}

/// Both twins in the frame of main, which futures' block_on inlines into;
/// the runtime's worker drives their timers.
fn twin_futures_main() {
    let rt = runtime(true);
    let _context = rt.enter();
    let held = twin(Role::Held, 1);
    tokio::pin!(held);
    poll_once(held.as_mut());
    ready::announce_when_parked(1);
    let tag = futures::executor::block_on(twin(Role::BlockOn, 2));
    // The held twin lives in main's frame until here (its timer entry is
    // linked into the runtime's wheel, so it stays in memory).
    drop(held);
    println!("{tag}");
}

fn main() -> ExitCode {
    let mode = std::env::args().nth(1).unwrap_or_default();
    match mode.as_str() {
        "handle" => {
            let rt = runtime(true);
            let handle = rt.handle().clone();
            ready::announce_when_parked(1);
            handle.block_on(handle_main());
        }
        "local_set" => {
            let rt = runtime(false);
            ready::announce_when_parked(1);
            LocalSet::new().block_on(&rt, local_set_main());
        }
        "run_until" => {
            let rt = runtime(false);
            ready::announce_when_parked(1);
            rt.block_on(run_until_main());
        }
        "futures" => {
            let _rt = runtime(true);
            let notify = Arc::new(Notify::new());
            ready::announce_when_parked(1);
            futures::executor::block_on(futures_main(notify));
        }
        "blocked_current" => {
            let rt = runtime(false);
            // main's arrival, then the blocking task's, after main's first
            // poll returned: the thread then sleeps in the task's poll.
            ready::announce_when_parked(2);
            rt.block_on(blocked_main());
        }
        "twin_multi" => twin_main(true),
        "twin_current" => twin_main(false),
        "twin_futures" => twin_futures_main(),
        _ => {
            eprintln!(
                "usage: mains handle|local_set|run_until|futures|twin_multi|twin_current|twin_futures|blocked_current"
            );
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}
