# SPDX-License-Identifier: MIT
"""Drives a corpus program into a state worth a trace, and holds it there.

    python3 drive.py SCENARIO PORT PID OUT

PID is the program (its stdout in OUT), or 0 when the program is started
after us (the stall-* scenarios are the program's peers). The driver opens
its connections, waits until the program shows it got them (an accepted
socket among its fds, a line it prints), then prints what the program must
now hold, as "KEY value" lines, then READY, and keeps every connection open
until it is killed:

    CONNECTIONS n   connections the program holds open to us
    REQUESTS n      requests the program has received and not answered
    PEERS n         chat peers the program knows by name (a-chat)

Scenarios (the program's own source says what each state means):
    h2-clients      against h2's examples/server.rs: one HTTP/2 connection
                    idle after the handshake, one with a request whose body
                    never ends (handle_request waits for DATA), one TCP
                    connection that never sends the preface (handshake)
    h2-stall        an HTTP/2 server for h2's examples/client.rs that takes
                    the request and never answers it
    http-clients    against hyper-util's examples/server.rs: a keep-alive
                    connection idle after one request, one stopped half-way
                    through a request head, one that never sends a byte (its
                    handler reads no body: a body half-sent is answered and
                    the connection closed, no state to hold)
    http-graceful   against hyper-util's examples/server_graceful.rs, whose
                    service sleeps 5 s: one connection always with a request
                    in flight, one that never sends a byte
    http-stall      an HTTP/1.1 server for hyper-util's examples/client.rs
                    that takes the request and never answers it
    echo-clients    against a TCP echo server (async-std's tcp-echo.rs,
                    smol's tcp-server.rs: a spawned task per connection
                    copying what it reads back): one connection echoed once
                    and idle since, one that never sends a byte
    udp-echo        against async-std's udp-echo.rs: one datagram echoed;
                    the program waits in recv_from for the next
    chat-clients    against async-std's a-chat server: one peer that gave
                    its name and got its own message back (its writer task
                    exists and waits for the next), one connection that
                    never sends its name
"""

import os
import re
import socket
import struct
import sys
import threading
import time

DEADLINE_S = 60
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
SETTINGS, HEADERS = 0x4, 0x1
ACK, END_HEADERS = 0x1, 0x4
# HPACK, static table only: :method GET, :scheme http, :path /,
# :authority localhost (literal, indexed name 1).
REQUEST_HEADERS = b"\x82\x86\x84\x41\x09localhost"


def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def say(key, value=None):
    print(key if value is None else "%s %s" % (key, value), flush=True)


def wait_until(what, predicate):
    deadline = time.monotonic() + DEADLINE_S
    while not predicate():
        if time.monotonic() > deadline:
            sys.exit("drive: timed out waiting for %s" % what)
        time.sleep(0.05)


def connect(port):
    return socket.create_connection(("127.0.0.1", port), timeout=DEADLINE_S)


def accepted_sockets(pid, port):
    """Established TCP sockets with local port `port` among the fds of pid."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            m = re.fullmatch(r"socket:\[(\d+)\]", os.readlink("/proc/%d/fd/%s" % (pid, fd)))
        except OSError:
            continue
        if m:
            inodes.add(int(m.group(1)))
    n = 0
    for table in ("tcp", "tcp6"):
        with open("/proc/%d/net/%s" % (pid, table)) as f:
            for row in f.read().split("\n")[1:]:
                cols = row.split()
                if len(cols) > 9 and int(cols[1].rsplit(":", 1)[1], 16) == port and cols[3] == "01" \
                        and int(cols[9]) in inodes:
                    n += 1
    return n


def lines_of(out, text):
    with open(out, errors="replace") as f:
        return sum(1 for line in f if text in line)


def read_frame(sock):
    """(type, flags, stream, payload) of the next HTTP/2 frame."""
    head = recv_exactly(sock, 9)
    length = int.from_bytes(head[:3], "big")
    return head[3], head[4], int.from_bytes(head[5:9], "big") & 0x7FFFFFFF, recv_exactly(sock, length)


def recv_exactly(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            sys.exit("drive: the program closed a connection")
        data += chunk
    return data


def h2_server_settings(sock):
    """Reads frames until the server's own SETTINGS (not an ACK)."""
    while True:
        kind, flags, _, _ = read_frame(sock)
        if kind == SETTINGS and not flags & ACK:
            return


def h2_clients(port, pid, out):
    idle = connect(port)
    idle.sendall(PREFACE + frame(SETTINGS, 0, 0))
    h2_server_settings(idle)
    idle.sendall(frame(SETTINGS, ACK, 0))
    busy = connect(port)
    busy.sendall(PREFACE + frame(SETTINGS, 0, 0))
    h2_server_settings(busy)
    busy.sendall(frame(SETTINGS, ACK, 0) + frame(HEADERS, END_HEADERS, 1, REQUEST_HEADERS))
    silent = connect(port)
    wait_until("3 accepted connections", lambda: accepted_sockets(pid, port) == 3)
    wait_until("the request to reach handle_request", lambda: lines_of(out, "GOT request") == 1)
    return [idle, busy, silent], 1


def serve_forever(port, handle):
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(8)
    held, requests = [], []

    def accept_loop():
        while True:
            conn, _ = listener.accept()
            held.append(conn)
            threading.Thread(target=handle, args=(conn, requests), daemon=True).start()

    threading.Thread(target=accept_loop, daemon=True).start()
    say("LISTENING", port)
    return listener, held, requests


def h2_stall_handler(conn, requests):
    recv_exactly(conn, len(PREFACE))
    conn.sendall(frame(SETTINGS, 0, 0))
    while True:
        kind, flags, _, _ = read_frame(conn)
        if kind == SETTINGS and not flags & ACK:
            conn.sendall(frame(SETTINGS, ACK, 0))
        elif kind == HEADERS and conn not in requests:
            requests.append(conn)  # once: the trailers are HEADERS too


def http_stall_handler(conn, requests):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return
        data += chunk
    requests.append(conn)


def stall(port, handler):
    """A peer the program connects to: waits for its request, never answers."""
    listener, held, requests = serve_forever(port, handler)
    wait_until("the program's request", lambda: len(requests) == 1)
    return [listener] + held, len(requests)


def http_request(path="/", extra=b""):
    return b"GET " + path.encode() + b" HTTP/1.1\r\nHost: localhost\r\n" + extra + b"\r\n"


def read_http_response(sock):
    """Reads one response with a Content-Length body."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += recv_exactly(sock, 1)
    head = data.decode("latin-1")
    m = re.search(r"(?im)^content-length:\s*(\d+)", head)
    if not m:
        sys.exit("drive: a response without Content-Length: %r" % head)
    recv_exactly(sock, int(m.group(1)))


def http_clients(port, pid, out):
    idle = connect(port)
    idle.sendall(http_request())
    read_http_response(idle)
    head = connect(port)
    head.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Waiting: for the rest")
    silent = connect(port)
    wait_until("3 accepted connections", lambda: accepted_sockets(pid, port) == 3)
    wait_until("3 connections handled",
               lambda: lines_of(out, "handling a request from") == 3)
    return [idle, head, silent], 0


def http_graceful(port, pid, out):
    busy = connect(port)
    silent = connect(port)

    def keep_busy():
        # The service sleeps 5 s per request: always have the next one sent.
        while True:
            busy.sendall(http_request())
            read_http_response(busy)

    threading.Thread(target=keep_busy, daemon=True).start()
    wait_until("2 accepted connections", lambda: accepted_sockets(pid, port) == 2)
    wait_until("2 connections accepted by the program",
               lambda: lines_of(out, "incomming connection accepted") == 2)
    return [busy, silent], 1


def echo_clients(port, pid, out):
    echoed = connect(port)
    echoed.sendall(b"ping\n")
    if recv_exactly(echoed, 5) != b"ping\n":
        sys.exit("drive: the echo server did not echo")
    silent = connect(port)
    wait_until("2 accepted connections", lambda: accepted_sockets(pid, port) == 2)
    wait_until("2 connections accepted by the program", lambda: lines_of(out, "Accepted ") == 2)
    return [echoed, silent], 0


def udp_echo(port, pid, out):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(DEADLINE_S)
    sock.sendto(b"ping", ("127.0.0.1", port))
    data, _ = sock.recvfrom(64)
    if data != b"ping":
        sys.exit("drive: the datagram came back as %r" % data)
    wait_until("the program's line for the echo", lambda: lines_of(out, "Sent ") == 1)
    return [sock], 0


def chat_clients(port, pid, out):
    named = connect(port)
    named.sendall(b"alice\nalice: hello\n")
    want = b"from alice: hello\n"
    if recv_exactly(named, len(want)) != want:
        sys.exit("drive: the chat server did not deliver the message")
    silent = connect(port)
    wait_until("2 accepted connections", lambda: accepted_sockets(pid, port) == 2)
    wait_until("2 connections accepted by the program", lambda: lines_of(out, "Accepting from") == 2)
    say("PEERS", 1)
    return [named, silent], 0


def main(argv):
    if len(argv) != 5:
        sys.exit("usage: drive.py SCENARIO PORT PID OUT")
    scenario, port, pid, out = argv[1], int(argv[2]), int(argv[3]), argv[4]
    if scenario == "h2-clients":
        held, requests = h2_clients(port, pid, out)
    elif scenario == "http-clients":
        held, requests = http_clients(port, pid, out)
    elif scenario == "http-graceful":
        held, requests = http_graceful(port, pid, out)
    elif scenario == "echo-clients":
        held, requests = echo_clients(port, pid, out)
    elif scenario == "chat-clients":
        held, requests = chat_clients(port, pid, out)
    elif scenario == "udp-echo":
        held, requests = udp_echo(port, pid, out)
    elif scenario == "h2-stall":
        held, requests = stall(port, h2_stall_handler)
    elif scenario == "http-stall":
        held, requests = stall(port, http_stall_handler)
    else:
        sys.exit("drive: no scenario %s" % scenario)
    connections = sum(1 for s in held if s.type == socket.SOCK_STREAM and s.fileno() >= 0) \
        - (1 if scenario.endswith("stall") else 0)
    say("CONNECTIONS", connections)
    say("REQUESTS", requests)
    time.sleep(0.3)  # the program's last poll after the bytes it got
    say("READY")
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main(sys.argv)
