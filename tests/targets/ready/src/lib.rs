//! The READY protocol of asyncdump's test targets.
//!
//! A target prints `READY <pid>` on stdout, followed in the same write by the
//! extra `KEY value` lines it [`report`]ed, once every task it spawned is parked
//! at its intended suspension point. A test that has read `READY` can sample
//! the process at once: no sleeping, no hoping.
//!
//! "Parked" is established in two steps, because neither is enough alone:
//! - each task calls [`arrive`] right before its final `.await`, so the
//!   watcher knows every task has been polled up to that point;
//! - an arrival does not prove that the poll has returned `Pending` yet, so the
//!   watcher then waits until no other thread of the process is running
//!   (state `R` in `/proc/self/task/*/stat`) in several consecutive scans. A
//!   thread still inside a poll is running; parked workers, the `block_on`
//!   thread and idle blocking-pool threads sleep.
//!
//! Threads that never sleep on purpose (a busy loop) exclude themselves with
//! [`ignore_current_thread`]. The watcher thread exits after announcing, so
//! the sampled process has no thread of ours left.

use std::fs;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

static ARRIVED: AtomicUsize = AtomicUsize::new(0);
static EXTRA_LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());
static IGNORED_TIDS: Mutex<Vec<libc::pid_t>> = Mutex::new(Vec::new());

/// How often the watcher looks at the threads.
const SCAN_INTERVAL: Duration = Duration::from_millis(2);
/// Consecutive all-idle scans needed: a thread briefly sleeping on a lock in
/// the middle of a poll must not pass for parked.
const IDLE_SCANS_NEEDED: u32 = 5;
/// Give up (exit 3 with a diagnosis) before the test harness's own timeout.
const GIVE_UP_AFTER: Duration = Duration::from_secs(20);
/// Exit status when the target could not reach its parked state.
const EXIT_NOT_PARKED: i32 = 3;

/// Counts one task as having reached its final suspension point; call it
/// right before that `.await`.
pub fn arrive() {
    ARRIVED.fetch_add(1, Ordering::SeqCst);
}

/// Adds a `KEY value` line to print right after `READY <pid>`.
pub fn report(line: impl Into<String>) {
    EXTRA_LINES.lock().unwrap().push(line.into());
}

/// The kernel thread id of the calling thread.
pub fn gettid() -> libc::pid_t {
    // SAFETY: gettid has no preconditions and cannot fail.
    unsafe { libc::gettid() }
}

/// Excludes the calling thread from the idle check (a thread that spins on
/// purpose); call it before [`arrive`]. Returns the thread's id.
pub fn ignore_current_thread() -> libc::pid_t {
    let tid = gettid();
    IGNORED_TIDS.lock().unwrap().push(tid);
    tid
}

/// Starts the watcher thread: once `expected_arrivals` tasks have arrived and
/// the process is quiet, it prints `READY <pid>` and the reported lines, then
/// exits. If that does not happen in time, the process exits with status 3
/// and a diagnosis on stderr, so a test fails clearly instead of hanging.
pub fn announce_when_parked(expected_arrivals: usize) {
    thread::Builder::new()
        .name("ready-watcher".into())
        .spawn(move || watch(expected_arrivals))
        .expect("cannot start the ready-watcher thread");
}

fn watch(expected_arrivals: usize) {
    let me = gettid();
    let started = Instant::now();
    let mut idle_scans = 0;
    loop {
        if ARRIVED.load(Ordering::SeqCst) >= expected_arrivals {
            // Read after the arrivals: a busy thread ignores itself before it arrives.
            let ignored = IGNORED_TIDS.lock().unwrap().clone();
            if running_threads(me, &ignored).is_empty() {
                idle_scans += 1;
            } else {
                idle_scans = 0;
            }
            if idle_scans >= IDLE_SCANS_NEEDED {
                announce();
                return;
            }
        }
        if started.elapsed() > GIVE_UP_AFTER {
            give_up(me, expected_arrivals);
        }
        thread::sleep(SCAN_INTERVAL);
    }
}

fn announce() {
    let mut text = format!("READY {}\n", std::process::id());
    for line in EXTRA_LINES.lock().unwrap().iter() {
        text.push_str(line);
        text.push('\n');
    }
    let mut stdout = std::io::stdout().lock();
    // One write, so a reader that sees READY sees the extra lines too.
    if stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        eprintln!("ready: cannot write READY to stdout");
        std::process::exit(EXIT_NOT_PARKED);
    }
}

fn give_up(me: libc::pid_t, expected_arrivals: usize) -> ! {
    let ignored = IGNORED_TIDS.lock().unwrap().clone();
    let running: Vec<String> = running_threads(me, &ignored)
        .into_iter()
        .map(|(tid, name)| format!("{tid} ({name})"))
        .collect();
    eprintln!(
        "ready: not parked after {}s: {} of {} tasks arrived; threads still running: [{}]",
        GIVE_UP_AFTER.as_secs(),
        ARRIVED.load(Ordering::SeqCst),
        expected_arrivals,
        running.join(", ")
    );
    std::process::exit(EXIT_NOT_PARKED);
}

/// The threads of this process, but `me` and `ignored`, that are running or
/// runnable, with their names.
fn running_threads(me: libc::pid_t, ignored: &[libc::pid_t]) -> Vec<(libc::pid_t, String)> {
    // No let-else here: the targets also build with rustc 1.63.
    let entries = match fs::read_dir("/proc/self/task") {
        Ok(entries) => entries,
        Err(_) => return vec![(0, "cannot read /proc/self/task".into())],
    };
    let mut running = Vec::new();
    for entry in entries.flatten() {
        let tid = match entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<libc::pid_t>().ok())
        {
            Some(tid) => tid,
            None => continue,
        };
        if tid == me || ignored.contains(&tid) {
            continue;
        }
        // A thread that exited meanwhile has no stat any more: it is not running.
        let stat = match fs::read_to_string(entry.path().join("stat")) {
            Ok(stat) => stat,
            Err(_) => continue,
        };
        if let Some((name, 'R')) = parse_stat(&stat) {
            running.push((tid, name.to_string()));
        }
    }
    running
}

/// The name and state of a `/proc/.../stat` line: `tid (name) S ...`; the
/// name may itself contain parentheses, so the state follows the last `)`.
fn parse_stat(stat: &str) -> Option<(&str, char)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?;
    let state = stat.get(close + 1..)?.trim_start().chars().next()?;
    Some((name, state))
}

#[cfg(test)]
mod tests {
    use super::parse_stat;

    #[test]
    fn parse_stat_reads_name_and_state() {
        assert_eq!(
            parse_stat("42 (tokio-runtime-w) S 1 2 3"),
            Some(("tokio-runtime-w", 'S'))
        );
        assert_eq!(parse_stat("7 (a) b) (c) R 0"), Some(("a) b) (c", 'R')));
        assert_eq!(parse_stat("garbage"), None);
    }
}
