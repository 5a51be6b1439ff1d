//! Many idle tasks in known states, to check that every task of every runtime
//! is found and attributed to the right async fn.
//!
//!   counts [--tasks N] [--flavor multi_thread|current_thread] [--two-runtimes]
//!
//! Task i runs `IDLE_FNS[i % 3]`. The main runtime (`--flavor`, default
//! multi_thread) runs N tasks (default 10); `--two-runtimes` adds a
//! current_thread runtime on its own thread "second-runtime" with N more.
//! After `READY <pid>`, one line per runtime says what it spawned:
//!
//!   SPAWNED runtime=main flavor=multi_thread idle_on_timer=4 idle_on_notify=3 idle_on_channel=3 total=10

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::{Builder, Runtime};
use tokio::sync::{oneshot, Notify};

const AN_HOUR: Duration = Duration::from_secs(3600);
const IDLE_FNS: [&str; 3] = ["idle_on_timer", "idle_on_notify", "idle_on_channel"];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavor {
    MultiThread,
    CurrentThread,
}

impl Flavor {
    fn name(self) -> &'static str {
        match self {
            Flavor::MultiThread => "multi_thread",
            Flavor::CurrentThread => "current_thread",
        }
    }
}

struct Options {
    tasks: usize,
    flavor: Flavor,
    two_runtimes: bool,
}

async fn idle_on_timer() {
    ready::arrive();
    tokio::time::sleep(AN_HOUR).await; // @mark idle_on_timer_awaits_sleep
}

async fn idle_on_notify(notify: Arc<Notify>) {
    ready::arrive();
    notify.notified().await; // @mark idle_on_notify_awaits_notified
}

async fn idle_on_channel(rx: oneshot::Receiver<u32>) {
    ready::arrive();
    let _ = rx.await; // @mark idle_on_channel_awaits_receiver
}

/// The SPAWNED line for `tasks` tasks spread over `IDLE_FNS` round-robin.
fn spawned_line(runtime: &str, flavor: Flavor, tasks: usize) -> String {
    let mut line = format!("SPAWNED runtime={runtime} flavor={}", flavor.name());
    for (which, name) in IDLE_FNS.iter().enumerate() {
        let count = (which..tasks).step_by(IDLE_FNS.len()).count();
        line.push_str(&format!(" {name}={count}"));
    }
    line + &format!(" total={tasks}")
}

/// Reports and spawns `tasks` idle tasks on the current runtime. Returns the
/// senders that keep the channel tasks waiting: the caller holds them forever.
fn spawn_idle_tasks(runtime: &str, flavor: Flavor, tasks: usize) -> Vec<oneshot::Sender<u32>> {
    // Reported before any task can arrive, so READY never goes out without it.
    ready::report(spawned_line(runtime, flavor, tasks));
    let notify = Arc::new(Notify::new());
    let mut senders = Vec::new();
    for i in 0..tasks {
        match i % IDLE_FNS.len() {
            0 => drop(tokio::spawn(idle_on_timer())),
            1 => drop(tokio::spawn(idle_on_notify(notify.clone()))),
            _ => {
                let (tx, rx) = oneshot::channel();
                senders.push(tx);
                drop(tokio::spawn(idle_on_channel(rx)));
            }
        }
    }
    senders
}

async fn main_runtime(options: Options) {
    let _senders = spawn_idle_tasks("main", options.flavor, options.tasks);
    std::future::pending::<()>().await; // @mark main_runtime_awaits_forever
}

async fn second_runtime(tasks: usize) {
    let _senders = spawn_idle_tasks("second", Flavor::CurrentThread, tasks);
    std::future::pending::<()>().await; // @mark second_runtime_awaits_forever
}

fn build_runtime(flavor: Flavor) -> Runtime {
    let mut builder = match flavor {
        Flavor::MultiThread => Builder::new_multi_thread(),
        Flavor::CurrentThread => Builder::new_current_thread(),
    };
    builder
        .enable_all()
        .build()
        .expect("cannot build a tokio runtime")
}

fn start_second_runtime(tasks: usize) {
    std::thread::Builder::new()
        .name("second-runtime".into())
        .spawn(move || build_runtime(Flavor::CurrentThread).block_on(second_runtime(tasks)))
        .expect("cannot start the second runtime's thread");
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        tasks: 10,
        flavor: Flavor::MultiThread,
        two_runtimes: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--tasks" => {
                let value = args.next().ok_or("--tasks needs a number")?;
                options.tasks = value
                    .parse()
                    .map_err(|_| format!("--tasks: not a number: {value}"))?;
            }
            "--flavor" => {
                options.flavor = match args.next().as_deref() {
                    Some("multi_thread") => Flavor::MultiThread,
                    Some("current_thread") => Flavor::CurrentThread,
                    other => {
                        return Err(format!(
                            "--flavor: multi_thread or current_thread, got {other:?}"
                        ))
                    }
                }
            }
            "--two-runtimes" => options.two_runtimes = true,
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    Ok(options)
}

fn main() -> ExitCode {
    let options = match parse_options() {
        Ok(options) => options,
        Err(why) => {
            eprintln!("counts: {why}\nusage: counts [--tasks N] [--flavor multi_thread|current_thread] [--two-runtimes]");
            return ExitCode::from(2);
        }
    };
    let mut arrivals = options.tasks;
    if options.two_runtimes {
        arrivals += options.tasks;
        start_second_runtime(options.tasks);
    }
    ready::announce_when_parked(arrivals);
    build_runtime(options.flavor).block_on(main_runtime(options));
    ExitCode::SUCCESS
}
