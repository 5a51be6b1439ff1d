"""The client of benchtarget's probe: the pause as the target itself felt it.

The probe thread wakes every PROBE_PERIOD_US and keeps the largest gap
between two wake-ups since the last `reset`; `read` returns it. A tool that
stops the process for P µs leaves a gap of P to P + period µs."""
import socket

from .procs import BenchError


class Probe:
    def __init__(self, port):
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.io = self.sock.makefile("rwb")

    def _ask(self, command):
        self.io.write(command.encode() + b"\n")
        self.io.flush()
        reply = self.io.readline().decode().strip()
        if not reply or reply.startswith("error"):
            raise BenchError(f"probe on port {self.port}: {command!r} answered {reply!r}")
        return reply

    def reset(self):
        self._ask("reset")

    def read(self):
        """The largest gap since the reset, in µs, and the wake-ups counted."""
        fields = dict(kv.split("=", 1) for kv in self._ask("read").split())
        return {"max_gap_us": int(fields["max_gap_us"]), "wakeups": int(fields["wakeups"])}

    def close(self):
        self.io.close()
        self.sock.close()
