//! The benchmark's target: N tasks, each three async frames deep, blocked on a
//! timer, and a probe thread that feels how long the process is stopped.
//!
//!   benchtarget [--tasks N] (default 100)
//!
//! Every task runs `frame_one` → `frame_two` → `frame_three`, which sleeps for
//! an hour. The probe thread wakes every 200 µs (CLOCK_MONOTONIC) and keeps
//! the largest gap between two consecutive wake-ups: a tool that stops the
//! process for P µs shows up as a gap of about P + 200 µs, whatever the tool
//! itself reports. The probe runs SCHED_FIFO when allowed (root), so that the
//! scheduler's latency on a loaded machine does not pass for a pause. A second
//! probe runs at the normal priority (SCHED_OTHER, nice 0), as the target's
//! own threads do: it also feels the CPU time a tool takes from the target
//! around the pause (decoding right after the resume, say).
//!
//! The probe is read over a loopback TCP port, one command per line:
//!   `reset` → `ok`   (forget the largest gap seen so far)
//!   `read`  → `max_gap_us=G wakeups=W`
//! G is the largest gap since the reset, W the wake-ups counted since then.
//! After `READY <pid>`:
//!
//!   TASKS N
//!   PROBE_PORT <port>
//!   PROBE_PERIOD_US 200
//!   PROBE_SCHED fifo|other
//!   PROBE_NORMAL_PORT <port>   (the normal-priority probe, same commands)

use std::hint::black_box;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

const AN_HOUR: Duration = Duration::from_secs(3600);
const PROBE_PERIOD_NS: i64 = 200_000;
const NS_PER_S: i64 = 1_000_000_000;

/// What the probe thread has seen since the last reset.
#[derive(Default)]
struct Probe {
    max_gap_ns: AtomicU64,
    wakeups: AtomicU64,
}

impl Probe {
    fn record(&self, gap_ns: u64) {
        self.wakeups.fetch_add(1, Ordering::Relaxed);
        self.max_gap_ns.fetch_max(gap_ns, Ordering::Relaxed);
    }

    fn reset(&self) {
        self.max_gap_ns.store(0, Ordering::Relaxed);
        self.wakeups.store(0, Ordering::Relaxed);
    }

    fn summary(&self) -> String {
        format!(
            "max_gap_us={} wakeups={}",
            self.max_gap_ns.load(Ordering::Relaxed) / 1000,
            self.wakeups.load(Ordering::Relaxed)
        )
    }
}

async fn frame_three(index: u32) -> u32 {
    ready::arrive();
    tokio::time::sleep(AN_HOUR).await; // @mark frame_three_awaits_sleep
    black_box(index)
}

async fn frame_two(index: u32) -> u32 {
    let found = frame_three(index).await; // @mark frame_two_awaits_frame_three
    black_box(found ^ index)
}

async fn frame_one(index: u32) -> u32 {
    let found = frame_two(index).await; // @mark frame_one_awaits_frame_two
    black_box(found.wrapping_add(index))
}

async fn spawn_and_wait(tasks: u32) {
    for index in 0..tasks {
        drop(tokio::spawn(frame_one(index)));
    }
    std::future::pending::<()>().await; // @mark spawn_and_wait_awaits_forever
}

fn monotonic_ns() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec to write; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    now.tv_sec as u64 * NS_PER_S as u64 + now.tv_nsec as u64
}

fn sleep_one_period() {
    let period = libc::timespec {
        tv_sec: 0,
        tv_nsec: PROBE_PERIOD_NS,
    };
    // SAFETY: valid timespec pointers; an interrupted sleep just ends early,
    // which only makes one gap shorter.
    unsafe { libc::clock_nanosleep(libc::CLOCK_MONOTONIC, 0, &period, std::ptr::null_mut()) };
}

/// No timer slack for the calling thread and, when `realtime`, real-time
/// priority, so its wake-ups are punctual on a busy machine. Returns whether
/// it got SCHED_FIFO.
fn make_punctual(realtime: bool) -> bool {
    // SAFETY: plain syscalls on the calling thread with valid arguments.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0);
        let param = libc::sched_param { sched_priority: 10 };
        realtime && libc::pthread_setschedparam(libc::pthread_self(), libc::SCHED_FIFO, &param) == 0
    }
}

fn run_probe(probe: Arc<Probe>, realtime: bool, fifo: std::sync::mpsc::Sender<bool>) {
    // It wakes 5,000 times a second: the READY watcher must not wait for it.
    ready::ignore_current_thread();
    let _ = fifo.send(make_punctual(realtime));
    let mut last = monotonic_ns();
    loop {
        sleep_one_period();
        let now = monotonic_ns();
        probe.record(now - last);
        last = now;
    }
}

fn serve_client(stream: TcpStream, probe: &Probe) -> std::io::Result<()> {
    let mut writer = stream.try_clone()?;
    for line in BufReader::new(stream).lines() {
        let reply = match line?.trim() {
            "reset" => {
                probe.reset();
                "ok".to_string()
            }
            "read" => probe.summary(),
            other => format!("error unknown command {other:?}: reset or read"),
        };
        writer.write_all(format!("{reply}\n").as_bytes())?;
    }
    Ok(())
}

fn serve_probe(listener: TcpListener, probe: Arc<Probe>) {
    for stream in listener.incoming().flatten() {
        // One client at a time: the benchmark holds one connection.
        let _ = serve_client(stream, &probe);
    }
}

/// Starts a probe and its control port; returns (port, got SCHED_FIFO).
fn start_probe(realtime: bool) -> std::io::Result<(u16, bool)> {
    let probe = Arc::new(Probe::default());
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let (fifo_tx, fifo_rx) = std::sync::mpsc::channel();
    let for_probe = probe.clone();
    std::thread::Builder::new()
        .name("probe".into())
        .spawn(move || run_probe(for_probe, realtime, fifo_tx))?;
    std::thread::Builder::new()
        .name("probe-control".into())
        .spawn(move || serve_probe(listener, probe))?;
    let fifo = fifo_rx.recv().unwrap_or(false);
    Ok((port, fifo))
}

fn parse_tasks() -> Result<u32, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] => Ok(100),
        ["--tasks", n] => n.parse().map_err(|_| format!("--tasks: not a number: {n}")),
        _ => Err(format!("usage: benchtarget [--tasks N], got {args:?}")),
    }
}

fn main() -> ExitCode {
    let tasks = match parse_tasks() {
        Ok(tasks) => tasks,
        Err(why) => {
            eprintln!("benchtarget: {why}");
            return ExitCode::from(2);
        }
    };
    let started = start_probe(true).and_then(|(port, fifo)| {
        start_probe(false).map(|(normal_port, _)| (port, fifo, normal_port))
    });
    let (port, fifo, normal_port) = match started {
        Ok(started) => started,
        Err(error) => {
            eprintln!("benchtarget: cannot start the probe: {error}");
            return ExitCode::from(1);
        }
    };
    ready::report(format!("TASKS {tasks}"));
    ready::report(format!("PROBE_PORT {port}"));
    ready::report(format!("PROBE_PERIOD_US {}", PROBE_PERIOD_NS / 1000));
    ready::report(format!(
        "PROBE_SCHED {}",
        if fifo { "fifo" } else { "other" }
    ));
    ready::report(format!("PROBE_NORMAL_PORT {normal_port}"));
    ready::announce_when_parked(tasks as usize);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("cannot build a tokio runtime")
        .block_on(spawn_and_wait(tasks));
    ExitCode::SUCCESS
}
