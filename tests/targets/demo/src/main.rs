//! The example of the "logical stack traces" design discussion: task `foo`
//! holds `bar()` and `baz()` and is parked at one of its three suspension
//! points, chosen on the command line (default 1, the one `./dev demo` shows):
//!
//!   demo [1|2|3]
//!
//! 1. `bar` and `baz` are created but not polled; foo awaits `sleep()`.
//! 2. `joined = join(bar, baz)` is created but not polled; foo awaits `sleep()`.
//! 3. foo awaits `joined`: `bar` is suspended on a timer, `baz` has completed.
//!
//! main (the `block_on` future) awaits foo's JoinHandle. The trailing
//! marker comments name the lines tests expect in traces (see marker_line in
//! tests/integration/lib.sh).

// The names are the design discussion's.
#![allow(clippy::disallowed_names)]

use std::process::ExitCode;
use std::time::Duration;

const AN_HOUR: Duration = Duration::from_secs(3600);

#[derive(Clone, Copy, PartialEq, Eq)]
enum SuspensionPoint {
    One,
    Two,
    Three,
}

async fn bar() {
    tokio::time::sleep(AN_HOUR).await; // @mark bar_awaits_timer
}

async fn baz() {
    // Nothing to wait for: completes on its first poll, so a trace shows it
    // completed at its closing brace.
} // @mark baz_completed

async fn sleep() {
    tokio::time::sleep(AN_HOUR).await; // @mark sleep_awaits_timer
}

async fn foo(point: SuspensionPoint) {
    let bar = bar();
    let baz = baz();
    if point == SuspensionPoint::One {
        ready::arrive();
        sleep().await; // @mark foo_point1_awaits_sleep
    }
    let joined = futures::future::join(bar, baz);
    if point == SuspensionPoint::Two {
        ready::arrive();
        sleep().await; // @mark foo_point2_awaits_sleep
    }
    ready::arrive();
    joined.await; // @mark foo_point3_awaits_joined
}

fn parse_point() -> Result<SuspensionPoint, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] | ["1"] => Ok(SuspensionPoint::One),
        ["2"] => Ok(SuspensionPoint::Two),
        ["3"] => Ok(SuspensionPoint::Three),
        _ => Err(format!(
            "usage: demo [1|2|3] (the suspension point), got {args:?}"
        )),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let point = match parse_point() {
        Ok(point) => point,
        Err(usage) => {
            eprintln!("{usage}");
            return ExitCode::from(2);
        }
    };
    let foo = tokio::spawn(foo(point));
    ready::announce_when_parked(1);
    foo.await.expect("task foo failed"); // @mark main_awaits_foo
    ExitCode::SUCCESS
}
