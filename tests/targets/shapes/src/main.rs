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
use tokio::sync::{broadcast, oneshot, watch, Notify};
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

// ---- select!/join! in the shapes whose line was lost (issue 13): the
// user's line is the macro's first line in each.

async fn loop_branch() {
    tokio::time::sleep(AN_HOUR).await; // @mark loop_branch_awaits_sleep
}

async fn select_in_loop(notify: Arc<Notify>) {
    let mut rounds = 0u32;
    ready::arrive();
    while rounds < 3 {
        let woken = tokio::select! { // @mark select_in_loop_awaits_select
            _ = loop_branch() => false,
            _ = notify.notified() => true,
        };
        if woken {
            rounds += 1;
        }
    }
}

async fn instrumented_branch() {
    tokio::time::sleep(AN_HOUR).await; // @mark instrumented_branch_awaits_sleep
}

#[tracing::instrument(skip(notify))]
async fn select_instrumented(notify: Arc<Notify>) {
    ready::arrive();
    tokio::select! { // @mark select_instrumented_awaits_select
        _ = instrumented_branch() => {}
        _ = notify.notified() => {}
    }
}

async fn nested_branch() {
    tokio::time::sleep(AN_HOUR).await; // @mark nested_branch_awaits_sleep
}

async fn select_nested_blocks(notify: Arc<Notify>) {
    ready::arrive();
    let n = {
        let base = 1;
        {
            let picked = tokio::select! { // @mark select_nested_blocks_awaits_select
                _ = nested_branch() => {
                    let a = base + 1;
                    a * 2
                }
                _ = notify.notified() => {
                    base
                }
            };
            picked + base
        }
    };
    std::hint::black_box(n);
}

async fn biased_branch() {
    tokio::time::sleep(AN_HOUR).await; // @mark biased_branch_awaits_sleep
}

async fn select_biased(notify: Arc<Notify>) {
    ready::arrive();
    tokio::select! { // @mark select_biased_awaits_select
        biased;
        _ = notify.notified() => {}
        _ = biased_branch() => {}
    }
}

async fn else_branch() -> Result<u32, ()> {
    tokio::time::sleep(AN_HOUR).await; // @mark else_branch_awaits_sleep
    Ok(1)
}

async fn select_else(notify: Arc<Notify>) {
    ready::arrive();
    tokio::select! { // @mark select_else_awaits_select
        Ok(_) = else_branch() => {}
        _ = notify.notified() => {}
        else => {}
    }
}

async fn futures_macro_left() {
    tokio::time::sleep(AN_HOUR).await; // @mark futures_macro_left_awaits_sleep
}

async fn futures_macro_right(notify: Arc<Notify>) {
    notify.notified().await; // @mark futures_macro_right_awaits_notified
}

async fn futures_select_macro(notify: Arc<Notify>) {
    let mut left = Box::pin(futures_macro_left().fuse());
    let mut right = Box::pin(futures_macro_right(notify).fuse());
    ready::arrive();
    futures::select! { // @mark futures_select_macro_awaits_select
        _ = left => {}
        _ = right => {}
    }
}

async fn futures_join_branch() {
    tokio::time::sleep(AN_HOUR).await; // @mark futures_join_branch_awaits_sleep
}

async fn futures_join_done() -> u32 {
    3
} // @mark futures_join_done_completed

async fn futures_join_macro() {
    ready::arrive();
    futures::join!(futures_join_done(), futures_join_branch()); // @mark futures_join_macro_awaits_join
}

async fn try_join_branch() -> Result<(), ()> {
    tokio::time::sleep(AN_HOUR).await; // @mark try_join_branch_awaits_sleep
    Ok(())
}

async fn try_join_other(notify: Arc<Notify>) -> Result<(), ()> {
    notify.notified().await; // @mark try_join_other_awaits_notified
    Ok(())
}

async fn try_join_macro(notify: Arc<Notify>) {
    ready::arrive();
    let _ = tokio::try_join!(try_join_branch(), try_join_other(notify)); // @mark try_join_macro_awaits_join
}

// ---- select!/join! over futures that are no async fn: a hand-written
// future, a Sleep, a JoinHandle and a boxed dyn Future.

/// Pending for ever; holds a value that is not a future.
struct Forever {
    polls: u64,
}

impl Future for Forever {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        self.polls += 1;
        std::task::Poll::Pending
    }
}

async fn mixed_child() {
    ready::arrive();
    tokio::time::sleep(AN_HOUR).await; // @mark mixed_child_awaits_sleep
}

async fn mixed_boxed() {
    tokio::time::sleep(AN_HOUR).await; // @mark mixed_boxed_awaits_sleep
}

async fn select_mixed() {
    let child = tokio::spawn(mixed_child());
    let boxed: BoxedUnitFuture = Box::pin(mixed_boxed());
    ready::arrive();
    tokio::select! { // @mark select_mixed_awaits_select
        _ = Forever { polls: 0 } => {}
        _ = tokio::time::sleep(AN_HOUR) => {}
        _ = child => {}
        _ = boxed => {}
    }
}

async fn join_mixed_child() {
    ready::arrive();
    tokio::time::sleep(AN_HOUR).await; // @mark join_mixed_child_awaits_sleep
}

async fn join_mixed_boxed() {
    tokio::time::sleep(AN_HOUR).await; // @mark join_mixed_boxed_awaits_sleep
}

async fn join_mixed() {
    let child = tokio::spawn(join_mixed_child());
    let boxed: BoxedUnitFuture = Box::pin(join_mixed_boxed());
    ready::arrive();
    let _ = tokio::join!(Forever { polls: 0 }, tokio::time::sleep(AN_HOUR), child, boxed); // @mark join_mixed_awaits_join
}

// ---- a walk that cannot run away (issue 14): futures beside shared state
// that is no future (channel ends, tokio's intrusive waiter lists).

async fn broadcast_waiter(mut rx: broadcast::Receiver<u32>) {
    ready::arrive();
    let _ = rx.recv().await; // @mark broadcast_waiter_awaits_recv
}

/// A hand-written future holding values that are no futures, and the one
/// future it polls.
struct Holder {
    _broadcast: broadcast::Sender<u32>,
    _watch: watch::Sender<u32>,
    _watch_rx: watch::Receiver<u32>,
    _oneshot: Option<oneshot::Sender<()>>,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl Future for Holder {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        self.sleep.as_mut().poll(cx)
    }
}

async fn holds_values(broadcast: broadcast::Sender<u32>) {
    let (watch_tx, watch_rx) = watch::channel(0);
    let (oneshot_tx, _) = oneshot::channel();
    let holder = Holder {
        _broadcast: broadcast,
        _watch: watch_tx,
        _watch_rx: watch_rx,
        _oneshot: Some(oneshot_tx),
        sleep: Box::pin(tokio::time::sleep(AN_HOUR)),
    };
    ready::arrive();
    holder.await; // @mark holds_values_awaits_holder
}

/// Spawns one task per shape; returns how many tasks there are in all (each
/// arrives once).
fn spawn_shapes() -> usize {
    let notify = Arc::new(Notify::new());
    let (broadcast_tx, _) = broadcast::channel(4);
    let shapes = [
        tokio::spawn(boxed_recursion()),
        tokio::spawn(async_trait_method()),
        tokio::spawn(select_macro(notify.clone())),
        tokio::spawn(join_macro()),
        tokio::spawn(join_all_of_three()),
        tokio::spawn(futures_unordered_of_three()),
        tokio::spawn(timeout_around_pending()),
        tokio::spawn(awaits_other_task()),
        tokio::spawn(futures_select(notify.clone())),
        tokio::spawn(map_then_chain()),
        tokio::spawn(fused()),
        tokio::spawn(instrumented()),
        tokio::spawn(select_in_loop(notify.clone())),
        tokio::spawn(select_instrumented(notify.clone())),
        tokio::spawn(select_nested_blocks(notify.clone())),
        tokio::spawn(select_biased(notify.clone())),
        tokio::spawn(select_else(notify.clone())),
        tokio::spawn(futures_select_macro(notify.clone())),
        tokio::spawn(futures_join_macro()),
        tokio::spawn(try_join_macro(notify.clone())),
        tokio::spawn(select_mixed()),
        tokio::spawn(join_mixed()),
        tokio::spawn(broadcast_waiter(broadcast_tx.subscribe())),
        tokio::spawn(broadcast_waiter(broadcast_tx.subscribe())),
        tokio::spawn(broadcast_waiter(broadcast_tx.subscribe())),
        tokio::spawn(holds_values(broadcast_tx)),
    ];
    let (handle_tx, handle_rx) = oneshot::channel();
    let own = tokio::spawn(awaits_own_handle(handle_rx));
    if handle_tx.send(own).is_err() {
        panic!("awaits_own_handle dropped its receiver");
    }
    // The shapes, awaits_own_handle, and the tasks the shapes spawn:
    // joined_child, mixed_child and join_mixed_child.
    shapes.len() + 1 + 3
}

#[tokio::main]
async fn main() {
    let tasks = spawn_shapes();
    ready::report(format!("RECURSION_DEPTH {RECURSION_DEPTH}"));
    ready::report(format!("TASKS {tasks}"));
    ready::announce_when_parked(tasks);
    std::future::pending::<()>().await; // @mark main_awaits_forever
}
