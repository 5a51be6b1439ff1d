//! One task per shape of future tree a decoder has to walk. Each task runs an
//! async fn named after its shape; every suspension point is marked. After
//! `READY <pid>`:
//!
//!   RECURSION_DEPTH <n>   (boxed_recursion nests n + 1 `recurse` blocks)
//!   TASKS <number of tasks spawned>

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::future::FutureExt;
use futures::stream::{FuturesUnordered, StreamExt};
use tokio::sync::{oneshot, Notify};
use tokio::task::JoinHandle;
use tracing_futures::Instrument;

const AN_HOUR: Duration = Duration::from_secs(3600);
const RECURSION_DEPTH: u32 = 24;

type BoxedUnitFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

// ---- boxed recursion through trait objects

fn recurse(depth: u32) -> BoxedUnitFuture {
    Box::pin(async move {
        if depth == 0 {
            tokio::time::sleep(AN_HOUR).await; // @mark recurse_bottom_awaits_sleep
        } else {
            recurse(depth - 1).await; // @mark recurse_awaits_deeper
        }
    })
}

async fn boxed_recursion() {
    ready::arrive();
    recurse(RECURSION_DEPTH).await; // @mark boxed_recursion_awaits_recurse
}

// ---- #[async_trait] method

#[async_trait]
trait Waiter {
    async fn wait(&self);
}

struct TimerWaiter;

#[async_trait]
impl Waiter for TimerWaiter {
    async fn wait(&self) {
        tokio::time::sleep(AN_HOUR).await; // @mark wait_awaits_sleep
    }
}

async fn async_trait_method() {
    let waiter: Box<dyn Waiter + Send + Sync> = Box::new(TimerWaiter);
    ready::arrive();
    waiter.wait().await; // @mark async_trait_method_awaits_wait
}

// ---- tokio::select! over two pending futures

async fn select_timer_branch() {
    tokio::time::sleep(AN_HOUR).await; // @mark select_timer_branch_awaits_sleep
}

async fn select_notify_branch(notify: Arc<Notify>) {
    notify.notified().await; // @mark select_notify_branch_awaits_notified
}

async fn select_macro(notify: Arc<Notify>) {
    ready::arrive();
    tokio::select! { // @mark select_macro_awaits_select
        _ = select_timer_branch() => {}
        _ = select_notify_branch(notify) => {}
    }
}

// ---- tokio::join! with one branch done and one pending

async fn join_done_branch() -> u32 {
    7
} // @mark join_done_branch_completed

async fn join_pending_branch() {
    tokio::time::sleep(AN_HOUR).await; // @mark join_pending_branch_awaits_sleep
}

async fn join_macro() {
    ready::arrive();
    tokio::join!(join_done_branch(), join_pending_branch()); // @mark join_macro_awaits_join
}

// ---- futures::future::join_all of three

async fn join_all_member(extra_secs: u64) {
    tokio::time::sleep(AN_HOUR + Duration::from_secs(extra_secs)).await; // @mark join_all_member_awaits_sleep
}

async fn join_all_of_three() {
    let members = vec![join_all_member(1), join_all_member(2), join_all_member(3)];
    ready::arrive();
    futures::future::join_all(members).await; // @mark join_all_of_three_awaits_join_all
}

// ---- FuturesUnordered of three

async fn unordered_member(extra_secs: u64) {
    tokio::time::sleep(AN_HOUR + Duration::from_secs(extra_secs)).await; // @mark unordered_member_awaits_sleep
}

async fn futures_unordered_of_three() {
    let mut members: FuturesUnordered<_> = (1..=3).map(unordered_member).collect();
    ready::arrive();
    members.next().await; // @mark futures_unordered_of_three_awaits_next
}

// ---- tokio::time::timeout around a pending future

async fn pending_forever() {
    std::future::pending::<()>().await; // @mark pending_forever_awaits_pending
}

async fn timeout_around_pending() {
    ready::arrive();
    let _ = tokio::time::timeout(AN_HOUR, pending_forever()).await; // @mark timeout_around_pending_awaits_timeout
}

// ---- a task awaiting another task's JoinHandle

async fn joined_child() {
    ready::arrive();
    tokio::time::sleep(AN_HOUR).await; // @mark joined_child_awaits_sleep
}

async fn awaits_other_task() {
    let child = tokio::spawn(joined_child());
    ready::arrive();
    child.await.expect("joined_child failed"); // @mark awaits_other_task_awaits_handle
}

// ---- a task awaiting its own JoinHandle (the design discussion's last example)

async fn awaits_own_handle(handle_rx: oneshot::Receiver<JoinHandle<()>>) {
    let own = handle_rx.await.expect("main sends the handle"); // @mark awaits_own_handle_receives_handle
    ready::arrive();
    let _ = own.await; // @mark awaits_own_handle_awaits_itself
}

// ---- futures::future::select over two pending futures

async fn select_left() {
    tokio::time::sleep(AN_HOUR).await; // @mark select_left_awaits_sleep
}

async fn select_right(notify: Arc<Notify>) {
    notify.notified().await; // @mark select_right_awaits_notified
}

async fn futures_select(notify: Arc<Notify>) {
    let left = Box::pin(select_left());
    let right = Box::pin(select_right(notify));
    ready::arrive();
    futures::future::select(left, right).await; // @mark futures_select_awaits_select
}

// ---- FutureExt::map and ::then, pending in the first stage

async fn chain_source() -> u32 {
    tokio::time::sleep(AN_HOUR).await; // @mark chain_source_awaits_sleep
    7
}

async fn chain_continuation(n: u32) {
    tokio::time::sleep(Duration::from_secs(u64::from(n))).await; // @mark chain_continuation_awaits_sleep
}

async fn map_then_chain() {
    ready::arrive();
    chain_source().map(|n| n + 1).then(chain_continuation).await; // @mark map_then_chain_awaits_then
}

// ---- FutureExt::fuse

async fn fused_inner() {
    tokio::time::sleep(AN_HOUR).await; // @mark fused_inner_awaits_sleep
}

async fn fused() {
    ready::arrive();
    fused_inner().fuse().await; // @mark fused_awaits_fuse
}

// ---- tracing_futures::Instrumented

async fn instrumented_inner() {
    tokio::time::sleep(AN_HOUR).await; // @mark instrumented_inner_awaits_sleep
}

async fn instrumented() {
    let span = tracing::info_span!("shapes_instrumented");
    ready::arrive();
    instrumented_inner().instrument(span).await; // @mark instrumented_awaits_instrumented
}

/// Spawns one task per shape; returns how many tasks there are in all (each
/// arrives once).
fn spawn_shapes() -> usize {
    let notify = Arc::new(Notify::new());
    let shapes = [
        tokio::spawn(boxed_recursion()),
        tokio::spawn(async_trait_method()),
        tokio::spawn(select_macro(notify.clone())),
        tokio::spawn(join_macro()),
        tokio::spawn(join_all_of_three()),
        tokio::spawn(futures_unordered_of_three()),
        tokio::spawn(timeout_around_pending()),
        tokio::spawn(awaits_other_task()),
        tokio::spawn(futures_select(notify)),
        tokio::spawn(map_then_chain()),
        tokio::spawn(fused()),
        tokio::spawn(instrumented()),
    ];
    let (handle_tx, handle_rx) = oneshot::channel();
    let own = tokio::spawn(awaits_own_handle(handle_rx));
    if handle_tx.send(own).is_err() {
        panic!("awaits_own_handle dropped its receiver");
    }
    // The shapes, awaits_own_handle, and joined_child (spawned by awaits_other_task).
    shapes.len() + 1 + 1
}

#[tokio::main]
async fn main() {
    let tasks = spawn_shapes();
    ready::report(format!("RECURSION_DEPTH {RECURSION_DEPTH}"));
    ready::report(format!("TASKS {tasks}"));
    ready::announce_when_parked(tasks);
    std::future::pending::<()>().await; // @mark main_awaits_forever
}
