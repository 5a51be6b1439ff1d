//! One task that never yields (it spins on an atomic) while the others sleep,
//! to check which thread polls a running task. After `READY <pid>`:
//!
//!   BUSY_TID <tid of the worker thread polling the busy task>
//!   SLEEPERS <number of sleeping tasks>
//!
//! With the argument `churn`, a thread of its own runs a current_thread
//! runtime whose one task yields forever, in turn at two awaits: where it is
//! suspended changes on every poll, a task that a sample taken without
//! stopping the process cannot read twice alike while its thread runs. It
//! also prints
//!
//!   CHURN_TID <tid of that thread>
//!
//! The busy task is never suspended: its state machine is still unresumed, so
//! its marker is on the fn header (the Unresumed state's line).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const AN_HOUR: Duration = Duration::from_secs(3600);
const SLEEPERS: usize = 3;

/// Never set: the busy task spins on it forever.
static STOP_SPINNING: AtomicBool = AtomicBool::new(false);

async fn sleeps_while_other_spins() {
    ready::arrive();
    tokio::time::sleep(AN_HOUR).await; // @mark sleeps_while_other_spins_awaits_sleep
}

// Never suspended, so a sample finds it in its Unresumed state, whose line
// is this header: the marker must stay on it.
#[rustfmt::skip]
async fn spins_forever() { // @mark spins_forever_unresumed
    let tid = ready::ignore_current_thread();
    ready::report(format!("BUSY_TID {tid}"));
    ready::arrive();
    while !STOP_SPINNING.load(Ordering::Relaxed) {
        std::hint::spin_loop();
    }
}

async fn churns_forever() {
    ready::arrive();
    loop {
        tokio::task::yield_now().await; // @mark churns_forever_yields_first
        tokio::task::yield_now().await; // @mark churns_forever_yields_second
    }
}

fn start_churning() {
    std::thread::Builder::new()
        .name("churn".into())
        .spawn(|| {
            let tid = ready::ignore_current_thread();
            ready::report(format!("CHURN_TID {tid}"));
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            rt.block_on(async { tokio::spawn(churns_forever()).await })
        })
        .expect("cannot start the churn thread");
}

// Two workers: one is taken by the busy task, the other still serves the rest.
#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    ready::report(format!("SLEEPERS {SLEEPERS}"));
    for _ in 0..SLEEPERS {
        tokio::spawn(sleeps_while_other_spins());
    }
    let churn = std::env::args().nth(1).as_deref() == Some("churn");
    if churn {
        start_churning();
    }
    let busy = tokio::spawn(spins_forever());
    ready::announce_when_parked(SLEEPERS + 1 + usize::from(churn));
    busy.await.expect("the busy task failed"); // @mark main_awaits_busy
}
