"""A bounded soak under faults against examples/demo (run by benches/soak.sh).

Usage: python3 benches/soak.py SERVER_BINARY [--seconds N]

Starts the demo on a free loopback port with a descriptor limit of 512 and
runs, at once, for N seconds (default 600):
  - keep-alive and pipelined GET / load (every answer checked);
  - faulty clients: reset mid-request, reset mid-response, stall, send
    byte by byte, half-close after the request, oversized head (431) and
    body (413);
  - websocket clients on /echo: connect, echo, vanish with or without a
    close frame;
  - SSE clients on /events that read a little and leave;
  - background tasks added, cancelled and purged over HTTP (/tasks);
  - dispatch_all broadcasts (POST /notify);
  - for the middle tenth of the run, idle connections past the
    descriptor limit (the worker hits EMFILE, then recovers);
and at the end a graceful stop (SIGTERM) while load runs.

Checks: the server does not crash and logs no panic; every well-formed
request is answered correctly; resident memory after warm-up stays within
RSS_BOUND of its post-warm-up level; open descriptors are back at their
baseline once the load stops; the stop finishes inside the graceful timeout
with every in-flight request answered. Prints a summary table; exits 1 on
any failed check.
"""

import os
import random
import resource
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

RSS_BOUND_KB = 16 * 1024
NOFILE = 512
GRACE_S = 15.0

stats = {}
failures = []
lock = threading.Lock()
stop = threading.Event()
# Set once SIGTERM is sent: a load client's connection closed or refused
# after that is the stop working, not an error (the in-flight request is
# checked on its own).
stopping = threading.Event()


def count(key, n=1):
    with lock:
        stats[key] = stats.get(key, 0) + n


def fail(message):
    if stopping.is_set():
        count("load connections ended by the stop")
        return
    with lock:
        if len(failures) < 50:
            failures.append(message)
    count("errors")


def connect(port, timeout=10.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def reset(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def read_response(f):
    """One response from a file object: (status, headers, body)."""
    line = f.readline()
    if not line:
        raise EOFError("connection closed")
    status = int(line.split()[1])
    headers = {}
    while True:
        line = f.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = b""
    if "content-length" in headers:
        body = f.read(int(headers["content-length"]))
    elif headers.get("transfer-encoding") == "chunked":
        while True:
            size = int(f.readline().split(b";")[0], 16)
            chunk = f.read(size + 2)[:-2]
            body += chunk
            if size == 0:
                break
    return status, headers, body


GET = b"GET / HTTP/1.1\r\nHost: soak\r\n\r\n"


def keepalive_client(port):
    while not stop.is_set():
        try:
            s = connect(port)
            f = s.makefile("rb")
            for _ in range(50):
                depth = random.choice([1, 1, 4, 16])
                s.sendall(GET * depth)
                for _ in range(depth):
                    status, _, body = read_response(f)
                    if status != 200 or body != b"Hello, World!":
                        fail("GET / answered %s %r" % (status, body[:40]))
                    count("requests ok")
                if stop.is_set():
                    break
            s.close()
        except (OSError, EOFError, ValueError) as err:
            if not stop.is_set():
                fail("keep-alive client: %r" % err)


def fault_client(port):
    kinds = ["reset mid-request", "reset mid-response", "stall", "slow", "half-close",
             "oversized head", "oversized body"]
    while not stop.is_set():
        kind = random.choice(kinds)
        try:
            s = connect(port)
            if kind == "reset mid-request":
                s.sendall(b"POST / HTTP/1.1\r\nHost: soak\r\nContent-Length: 100\r\n\r\nabc")
                reset(s)
            elif kind == "reset mid-response":
                s.sendall(GET * 64)
                s.recv(10)
                reset(s)
            elif kind == "stall":
                s.sendall(b"GET / HTTP/1.1\r\nHo")
                stop.wait(2.0)
                s.close()
            elif kind == "slow":
                f = s.makefile("rb")
                for b in GET:
                    s.send(bytes([b]))
                    time.sleep(0.002)
                status, _, body = read_response(f)
                if status != 200 or body != b"Hello, World!":
                    fail("slow GET answered %s" % status)
                count("requests ok")
                s.close()
            elif kind == "half-close":
                f = s.makefile("rb")
                s.sendall(GET)
                s.shutdown(socket.SHUT_WR)
                status, _, _ = read_response(f)
                if status != 200:
                    fail("half-closed GET answered %s" % status)
                count("requests ok")
                s.close()
            elif kind == "oversized head":
                f = s.makefile("rb")
                s.sendall(b"GET / HTTP/1.1\r\nHost: soak\r\nX: " + b"a" * 20000 + b"\r\n\r\n")
                status, _, _ = read_response(f)
                if status != 431:
                    fail("oversized head answered %s" % status)
                count("refused as expected")
                s.close()
            else:
                f = s.makefile("rb")
                s.sendall(b"POST /notify HTTP/1.1\r\nHost: soak\r\nContent-Length: 999999999999\r\n\r\n")
                status, _, _ = read_response(f)
                if status != 413:
                    fail("oversized body answered %s" % status)
                count("refused as expected")
                s.close()
            count("faults: " + kind)
        except (OSError, EOFError, ValueError) as err:
            if not stop.is_set() and kind not in ("reset mid-response",):
                fail("%s: %r" % (kind, err))


def ws_frame(opcode, payload):
    mask = os.urandom(4)
    head = bytes([0x80 | opcode])
    if len(payload) < 126:
        head += bytes([0x80 | len(payload)])
    else:
        head += bytes([0x80 | 126]) + struct.pack(">H", len(payload))
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def ws_client(port):
    key = b"dGhlIHNhbXBsZSBub25jZQ=="
    while not stop.is_set():
        try:
            s = connect(port)
            s.sendall(b"GET /echo HTTP/1.1\r\nHost: soak\r\nUpgrade: websocket\r\n"
                      b"Connection: Upgrade\r\nSec-WebSocket-Key: " + key +
                      b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
            f = s.makefile("rb")
            status, _, _ = read_response(f)
            if status != 101:
                fail("websocket upgrade answered %s" % status)
                continue
            for i in range(random.randint(1, 20)):
                payload = ("m%d" % i).encode() * random.randint(1, 50)
                s.sendall(ws_frame(0x1, payload))
                head = f.read(2)
                n = head[1] & 0x7F
                if n == 126:
                    n = struct.unpack(">H", f.read(2))[0]
                if f.read(n) != payload:
                    fail("websocket echo differs")
                count("ws echoes")
            if random.random() < 0.5:
                s.sendall(ws_frame(0x8, struct.pack(">H", 1000)))
                count("ws: left with a close frame")
                s.close()
            else:
                reset(s)
                count("ws: vanished")
        except (OSError, EOFError, ValueError, IndexError) as err:
            if not stop.is_set():
                fail("websocket client: %r" % err)


def http(port, method, path, body=b""):
    s = connect(port)
    try:
        s.sendall(b"%s %s HTTP/1.1\r\nHost: soak\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
                  % (method.encode(), path.encode(), len(body), body))
        return read_response(s.makefile("rb"))
    finally:
        s.close()


def control_client(port):
    n = 0
    while not stop.is_set():
        n += 1
        try:
            name = "soak%d" % (n % 8)
            status, _, _ = http(port, "POST", "/tasks/" + name)
            count("tasks added" if status < 300 else "tasks refused (%d)" % status)
            status, _, _ = http(port, "POST", "/notify", b"hello")
            if status >= 500:
                fail("notify answered %s" % status)
            count("dispatch_all")
            if n % 2:
                status, _, _ = http(port, "DELETE", "/tasks/" + name)
                count("tasks cancelled" if status < 300 else "cancel refused (%d)" % status)
            if n % 5 == 0:
                status, _, _ = http(port, "POST", "/tasks/purge")
                if status >= 500:
                    fail("purge answered %s" % status)
                count("purges")
            s = connect(port)
            s.sendall(b"GET /events HTTP/1.1\r\nHost: soak\r\n\r\n")
            s.recv(256)
            s.close()
            count("sse clients")
        except (OSError, EOFError, ValueError) as err:
            if not stop.is_set():
                fail("control client: %r" % err)
        stop.wait(0.05)


def fd_flood(port, hold_s):
    held = []
    try:
        for _ in range(NOFILE + 100):
            try:
                held.append(socket.create_connection(("127.0.0.1", port), timeout=2))
            except OSError:
                break
        count("idle connections past the fd limit", len(held))
        stop.wait(hold_s)
    finally:
        for s in held:
            s.close()


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def main():
    binary = sys.argv[1]
    seconds = float(sys.argv[sys.argv.index("--seconds") + 1]) if "--seconds" in sys.argv else 600.0
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    env = dict(os.environ, SANIO_PORT=str(port), SANIO_WORKERS="2")
    log = open("target/soak-server.log", "wb")

    def limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))

    server = subprocess.Popen([binary], env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=limit)
    for _ in range(100):
        try:
            connect(port).close()
            break
        except OSError:
            time.sleep(0.1)
    fd_base = fds(server.pid)
    started = time.time()
    clients = [keepalive_client] * 4 + [fault_client] * 2 + [ws_client] * 2 + [control_client]
    threads = [threading.Thread(target=c, args=(port,), daemon=True) for c in clients]
    for t in threads:
        t.start()
    rss = []
    flood_at, flooded = seconds * 0.45, False
    while time.time() - started < seconds:
        time.sleep(1.0)
        rss.append(rss_kb(server.pid))
        if not flooded and time.time() - started > flood_at:
            flooded = True
            threading.Thread(target=fd_flood, args=(port, seconds * 0.1), daemon=True).start()
        if server.poll() is not None:
            fail("server exited with %s during the run" % server.returncode)
            break
    # Graceful stop while load runs: keep-alive clients are still sending.
    in_flight = []

    def last_request():
        try:
            s = connect(port)
            s.sendall(b"GET / HTTP/1.1\r\nHost: soak\r\n\r\n")
            in_flight.append(read_response(s.makefile("rb"))[0])
        except (OSError, EOFError, ValueError) as err:
            in_flight.append(repr(err))

    # Load off first for the descriptor check, then on again for the stop.
    stop.set()
    for t in threads:
        t.join(timeout=30)
    # Connections the clients left end by their own timeouts (a lingering
    # close, a stalled head): wait for them, bounded.
    fd_after = -1
    for _ in range(60):
        time.sleep(0.5)
        fd_after = fds(server.pid) if server.poll() is None else -1
        if fd_after == fd_base:
            break
    stop.clear()
    load = [threading.Thread(target=keepalive_client, args=(port,), daemon=True) for _ in range(2)]
    for t in load:
        t.start()
    time.sleep(1.0)
    waiter = threading.Thread(target=last_request)
    waiter.start()
    time.sleep(0.05)
    t0 = time.time()
    stopping.set()
    server.send_signal(signal.SIGTERM)
    try:
        code = server.wait(timeout=GRACE_S + 10)
    except subprocess.TimeoutExpired:
        server.kill()
        code = "killed"
    stop_s = time.time() - t0
    stop.set()
    waiter.join(timeout=10)
    log.close()
    panics = [l for l in open("target/soak-server.log", "rb").read().decode("latin-1").splitlines()
              if "panicked" in l]
    server_log = open("target/soak-server.log", "rb").read().decode("latin-1")
    stats["server: accept hit the fd limit (warnings)"] = server_log.count("Too many open files")
    warm = rss[len(rss) // 5:] or [0]
    growth = max(warm) - warm[0]
    checks = [
        ("no crash during the run", not any("exited" in f for f in failures)),
        ("no panic logged", not panics),
        ("every well-formed request answered correctly", stats.get("errors", 0) == 0),
        ("RSS growth after warm-up <= %d MiB (was %.1f MiB)" % (RSS_BOUND_KB // 1024, growth / 1024), growth <= RSS_BOUND_KB),
        ("open fds back at baseline (%d -> %d)" % (fd_base, fd_after), fd_after == fd_base),
        ("graceful stop in %.1f s <= %.0f s, exit %s" % (stop_s, GRACE_S, code), code == 0 and stop_s <= GRACE_S),
        ("in-flight request at the stop answered (%s)" % in_flight, in_flight == [200]),
    ]
    print("soak: %.0f s on port %d, 2 workers, RLIMIT_NOFILE %d" % (seconds, port, NOFILE))
    print("%-52s %12s" % ("what", "count"))
    for key in sorted(stats):
        print("%-52s %12d" % (key, stats[key]))
    print("%-52s %9.1f MiB" % ("RSS after warm-up (first, max)", warm[0] / 1024) + " / %.1f" % (max(warm) / 1024))
    print()
    for name, ok in checks:
        print("%-6s %s" % ("ok" if ok else "FAIL", name))
    for f in failures[:20]:
        print("  error: " + f)
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
