//! Tasks for hang detection:
//! - `stuck_on_notify` waits forever on a Notify nobody notifies;
//! - `sleeps_in_loop` wakes up every LOOP_PERIOD_MS and sleeps again at the same
//!   line: it is alive, although a single sample sees it at the same place;
//! - `deadlock_a` and `deadlock_b` await each other's JoinHandle.
//!
//! After `READY <pid>`:
//!
//!   LOOP_PERIOD_MS <period of sleeps_in_loop>
//!
//! (tokio 1.24 has no stable task ids, so none are printed.)

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{oneshot, Notify};
use tokio::task::JoinHandle;

const LOOP_PERIOD_MS: u64 = 100;

async fn stuck_on_notify(notify: Arc<Notify>) {
    ready::arrive();
    notify.notified().await; // @mark stuck_on_notify_awaits_notified
}

async fn sleeps_in_loop() {
    ready::arrive();
    loop {
        tokio::time::sleep(Duration::from_millis(LOOP_PERIOD_MS)).await; // @mark sleeps_in_loop_awaits_sleep
    }
}

async fn deadlock_a(peer_rx: oneshot::Receiver<JoinHandle<()>>) {
    let peer = peer_rx.await.expect("main sends deadlock_b's handle"); // @mark deadlock_a_receives_peer
    ready::arrive();
    let _ = peer.await; // @mark deadlock_a_awaits_peer
}

async fn deadlock_b(peer_rx: oneshot::Receiver<JoinHandle<()>>) {
    let peer = peer_rx.await.expect("main sends deadlock_a's handle"); // @mark deadlock_b_receives_peer
    ready::arrive();
    let _ = peer.await; // @mark deadlock_b_awaits_peer
}

#[tokio::main]
async fn main() {
    ready::report(format!("LOOP_PERIOD_MS {LOOP_PERIOD_MS}"));
    tokio::spawn(stuck_on_notify(Arc::new(Notify::new())));
    tokio::spawn(sleeps_in_loop());
    let (to_a, a_rx) = oneshot::channel();
    let (to_b, b_rx) = oneshot::channel();
    let a = tokio::spawn(deadlock_a(a_rx));
    let b = tokio::spawn(deadlock_b(b_rx));
    if to_a.send(b).is_err() || to_b.send(a).is_err() {
        panic!("a deadlocked task dropped its receiver");
    }
    ready::announce_when_parked(4);
    std::future::pending::<()>().await; // @mark main_awaits_forever
}
