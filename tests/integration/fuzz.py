# SPDX-License-Identifier: MIT
"""Fault injection for asyncdump: corrupt memory and corrupt debuginfo.

    python3 fuzz.py memory    --asyncdump BIN --targets DIR --seed N --rounds R
    python3 fuzz.py debuginfo --asyncdump BIN --targets DIR --seed N --rounds R

`memory`: each round starts a stock test target, takes a clean sample to
learn where its tasks live, then writes seeded garbage into the target's own
task cells through /proc/PID/mem (self-pointers, pointers to unmapped
memory, garbage discriminants, huge lengths, pointers to other tasks) and
samples it again. `debuginfo`: each round copies a target's binary, flips
seeded bytes inside its .debug_* sections, runs the copy and samples it.

Every sample must end in bounded time and memory, with either a document
that validates against docs/trace.schema.json or a clean one-line error of
a documented exit status; never a signal, a sanitizer report or a hang; and
the target must never be left stopped or traced. The same seed gives the
same corruptions, so a failure can be replayed (`./dev fuzz` prints the
command). Prints one line per round and 'N passed, N failed' at the end.
"""

import argparse
import json
import os
import random
import resource
import signal
import struct
import subprocess
import sys
import tempfile
import time

TARGETS = [("demo", []), ("sync", []), ("shapes", []), ("counts", ["--tasks", "12"])]
PROFILES = ["debug", "release"]
SAMPLE_TIMEOUT_S = 120       # a sample of a corrupt target under ASan
MAX_RSS_KB = 3 * 1024 * 1024  # asyncdump's own peak (ASan's shadow included)
# The CLI's exit statuses a corrupt target may earn (asyncdump --help):
# 0 a (partial) trace, 3 the target died of its corruption, 6 not analyzable.
CLEAN_STATUSES = {0, 3, 6}
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:", "Segmentation fault")


def fail(msg):
    print("FAIL: " + msg, flush=True)
    return False


def start(binary, args):
    """Starts a target and waits for READY; returns the Popen."""
    proc = subprocess.Popen([binary] + args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    line = b""
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith(b"READY"):
            return proc
        if not line and proc.poll() is not None:
            break
    proc.kill()
    proc.wait()
    raise RuntimeError("%s %s did not get READY: %r" % (binary, args, line))


def stop(proc):
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def target_state(pid):
    """(state letter, tracer pid), or None when the process is gone."""
    try:
        stat = open("/proc/%d/stat" % pid).read()
        status = open("/proc/%d/status" % pid).read()
    except OSError:
        return None
    state = stat[stat.rindex(")") + 2]
    tracer = next(int(l.split()[1]) for l in status.splitlines() if l.startswith("TracerPid:"))
    return state, tracer


def sample(asyncdump, pid, json_mode):
    args = [asyncdump] + (["--json", "--locals"] if json_mode else []) + [str(pid)]
    t0 = time.monotonic()
    try:
        r = subprocess.run(args, capture_output=True, timeout=SAMPLE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return None, b"", b"", time.monotonic() - t0
    return r.returncode, r.stdout, r.stderr, time.monotonic() - t0


class Checker:
    def __init__(self, asyncdump, schema):
        self.asyncdump = asyncdump
        self.schema = schema

    def check_sample(self, what, pid):
        ok = True
        for json_mode in (True, False):
            mode = "json" if json_mode else "text"
            status, out, err, took = sample(self.asyncdump, pid, json_mode)
            text = err.decode(errors="replace")
            if status is None:
                ok = fail("%s (%s): no answer in %d s" % (what, mode, SAMPLE_TIMEOUT_S))
                continue
            if any(m in text for m in SANITIZER_MARKS) or status < 0:
                ok = fail("%s (%s): status %d, %s" % (what, mode, status, text[:3000]))
                continue
            if status not in CLEAN_STATUSES:
                ok = fail("%s (%s): exit status %d: %s" % (what, mode, status, text[:500]))
                continue
            if status and not (text.startswith("asyncdump: ") and text.count("\n") == 1):
                ok = fail("%s (%s): not a one-line error: %r" % (what, mode, text[:500]))
            if status == 0 and json_mode:
                try:
                    import jsonschema
                    jsonschema.validate(json.loads(out), self.schema)
                except Exception as e:  # noqa: BLE001 - any failure is the finding
                    ok = fail("%s: the document does not validate: %s" % (what, str(e)[:500]))
            state = target_state(pid)
            if state and (state[0] in "tT" or state[1] != 0):
                ok = fail("%s (%s): the target is left %s, tracer %d" % (what, mode, state[0], state[1]))
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        if peak > MAX_RSS_KB:
            ok = fail("%s: asyncdump's peak memory %d MiB" % (what, peak // 1024))
        return ok


def task_addresses(asyncdump, pid):
    r = subprocess.run([asyncdump, "--json", str(pid)], capture_output=True, timeout=SAMPLE_TIMEOUT_S)
    if r.returncode != 0:
        raise RuntimeError("clean sample of %d failed: %s" % (pid, r.stderr.decode()[:500]))
    doc = json.loads(r.stdout)
    return [int(t["address"], 16) for t in doc["tasks"] if t["kind"] in ("task", "local")]


def garbage_word(rng, victim, others):
    choice = rng.randrange(8)
    if choice == 0:
        return victim                                  # self-loop
    if choice == 1:
        return rng.choice(others) if others else victim  # another task
    if choice == 2:
        return 0x10 + rng.randrange(0x1000)            # unmapped, near null
    if choice == 3:
        return rng.randrange(0, 300)                   # a discriminant / small count
    if choice == 4:
        return 1 << rng.randrange(32, 63)              # a huge length
    if choice == 5:
        return victim + 8 * rng.randrange(-16, 64)     # inside the cell
    if choice == 6:
        return 0
    return rng.getrandbits(64)


def round_memory(checker, targets_dir, rng, n):
    name, args = TARGETS[n % len(TARGETS)]
    profile = PROFILES[(n // len(TARGETS)) % len(PROFILES)]
    what = "memory round %d (%s %s)" % (n, name, profile)
    proc = start(os.path.join(targets_dir, profile, name), args)
    try:
        heads = task_addresses(checker.asyncdump, proc.pid)
        if not heads:
            return fail("%s: no task in the clean sample" % what)
        writes = []
        with open("/proc/%d/mem" % proc.pid, "r+b", buffering=0) as mem:
            for _ in range(rng.randrange(1, 9)):
                victim = rng.choice(heads)
                others = [h for h in heads if h != victim]
                address = victim + 8 * rng.randrange(0, 128)
                word = garbage_word(rng, victim, others)
                mem.seek(address)
                mem.write(struct.pack("<Q", word & 0xFFFFFFFFFFFFFFFF))
                writes.append("0x%x=0x%x" % (address, word & 0xFFFFFFFFFFFFFFFF))
        ok = checker.check_sample(what, proc.pid)
        print("%s %s: %d writes %s" % ("ok" if ok else "FAIL", what, len(writes), " ".join(writes)),
              flush=True)
        return ok
    finally:
        stop(proc)


def debug_sections(path):
    """(offset, size) of each .debug_* section of an ELF64 little-endian file."""
    with open(path, "rb") as f:
        data = f.read()
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    def header(i):
        return struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize)
    strtab = header(shstrndx)
    out = []
    for i in range(shnum):
        h = header(i)
        start = strtab[4] + h[0]
        name = data[start:data.index(b"\0", start)].decode()
        if name.startswith(".debug_") and h[1] != 8 and h[5] > 0:  # not SHT_NOBITS
            out.append((name, h[4], h[5]))
    return out


def round_debuginfo(checker, targets_dir, rng, n, scratch):
    name, args = TARGETS[n % len(TARGETS)]
    profile = PROFILES[(n // len(TARGETS)) % len(PROFILES)]
    original = os.path.join(targets_dir, profile, name)
    copy = os.path.join(scratch, "%s-%d" % (name, n))
    with open(original, "rb") as f:
        data = bytearray(f.read())
    sections = debug_sections(original)
    flips = []
    for _ in range(rng.randrange(1, 17)):
        sname, off, size = rng.choice(sections)
        # the first bytes of a section (unit headers) and anywhere else
        pos = off + (rng.randrange(min(size, 64)) if rng.random() < 0.3 else rng.randrange(size))
        data[pos] = rng.getrandbits(8)
        flips.append("%s+0x%x" % (sname, pos - off))
    with open(copy, "wb") as f:
        f.write(data)
    os.chmod(copy, 0o755)
    what = "debuginfo round %d (%s %s)" % (n, name, profile)
    proc = start(copy, args)
    try:
        ok = checker.check_sample(what, proc.pid)
        print("%s %s: %d flips %s" % ("ok" if ok else "FAIL", what, len(flips), " ".join(flips)),
              flush=True)
        return ok
    finally:
        stop(proc)
        os.unlink(copy)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["memory", "debuginfo"])
    p.add_argument("--asyncdump", required=True)
    p.add_argument("--targets", required=True, help="the cargo target dir (debug/, release/)")
    p.add_argument("--schema", required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--seconds", type=float, default=0, help="stop starting rounds after this")
    a = p.parse_args()
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    checker = Checker(a.asyncdump, json.load(open(a.schema)))
    passed = failed = 0
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="asyncdump-fuzz.") as scratch:
        for n in range(a.rounds):
            if a.seconds and time.monotonic() - t0 > a.seconds:
                break
            # one generator per round: any round replays from (seed, n)
            rng = random.Random("%d/%s/%d" % (a.seed, a.mode, n))
            if a.mode == "memory":
                ok = round_memory(checker, a.targets, rng, n)
            else:
                ok = round_debuginfo(checker, a.targets, rng, n, scratch)
            passed += ok
            failed += not ok
    print("fuzz %s seed %d: %d passed, %d failed" % (a.mode, a.seed, passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
