"""Differential parsing: sanio vs hyper vs h11 on the same byte streams.

Usage: python3 run.py SANIO_CMD HYPER_CMD [--mutations N] [--seed S]

Generates cases (the RFC 9112/9110 points in CASES, then N deterministic
mutations of them), runs each through sanio (examples/parse_report.rs),
hyper (hyper_parse/) and h11 (in process), and prints every case where the
three do not agree on how the stream is framed: the end (clean, incomplete,
rejected) and, per request, method, target, version and body. Exits 1 when
sanio frames a request neither reference frames the same way, so a
change in sanio's side shows up.

The check that fails the run: every request sanio frames (method, target,
version, body, in order) must be framed the same by hyper or by h11.
sanio refusing more than they do is allowed (each such difference is
decided in README.md); sanio accepting or framing what both frame
otherwise is a smuggling risk and fails.
"""

import random
import subprocess
import sys

import h11

# (name, bytes): the RFC points the issue lists, and framing classics.
H = b"Host: a\r\n"
CASES = [
    ("origin-form", b"GET /p?q=1 HTTP/1.1\r\n" + H + b"\r\n"),
    ("absolute-form", b"GET http://a/p?q HTTP/1.1\r\n" + H + b"\r\n"),
    ("authority-form with CONNECT", b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n"),
    ("authority-form with GET", b"GET a:443 HTTP/1.1\r\n" + H + b"\r\n"),
    ("asterisk with OPTIONS", b"OPTIONS * HTTP/1.1\r\n" + H + b"\r\n"),
    ("asterisk with GET", b"GET * HTTP/1.1\r\n" + H + b"\r\n"),
    ("relative target", b"GET p HTTP/1.1\r\n" + H + b"\r\n"),
    ("unknown method", b"BREW /pot HTTP/1.1\r\n" + H + b"\r\n"),
    ("lowercase method", b"get / HTTP/1.1\r\n" + H + b"\r\n"),
    ("TE chunked", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
    ("TE gzip, chunked", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
    ("TE chunked, gzip", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n"),
    ("TE identity", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: identity\r\nContent-Length: 1\r\n\r\nx"),
    ("TE twice", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("TE in two fields", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("TE with HTTP/1.0", b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
    ("TE and CL", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("CL list equal", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 3, 3\r\n\r\nabc"),
    ("CL twice equal", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc"),
    ("CL plus sign", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: +3\r\n\r\nabc"),
    ("Expect 100-continue 1.1", b"POST / HTTP/1.1\r\n" + H + b"Expect: 100-continue\r\nContent-Length: 3\r\n\r\nabc"),
    ("Expect 100-continue 1.0", b"POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc"),
    ("Expect unknown", b"POST / HTTP/1.1\r\n" + H + b"Expect: teapot\r\nContent-Length: 3\r\n\r\nabc"),
    ("one empty line before", b"\r\nGET / HTTP/1.1\r\n" + H + b"\r\n"),
    ("many empty lines before", b"\r\n" * 8 + b"GET / HTTP/1.1\r\n" + H + b"\r\n"),
    ("bare LF lines before", b"\n\nGET / HTTP/1.1\r\n" + H + b"\r\n"),
    ("bare LF head", b"GET / HTTP/1.1\nHost: a\n\n"),
    ("pipelined", b"GET /1 HTTP/1.1\r\n" + H + b"\r\nGET /2 HTTP/1.1\r\n" + H + b"\r\n"),
    ("HTTP/1.0 keep-alive pipelined", b"GET /1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\n"),
    ("HTTP/1.0 then more", b"GET /1 HTTP/1.0\r\n\r\nGET /2 HTTP/1.0\r\n\r\n"),
    ("missing Host", b"GET / HTTP/1.1\r\n\r\n"),
    ("two Hosts", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
    ("space before colon", b"GET / HTTP/1.1\r\nHost : a\r\n\r\n"),
    ("obs-fold", b"GET / HTTP/1.1\r\n" + H + b"X: a\r\n b\r\n\r\n"),
    ("HTTP/2.0 line", b"GET / HTTP/2.0\r\n" + H + b"\r\n"),
    ("HTTP/1.2 line", b"GET / HTTP/1.2\r\n" + H + b"\r\n"),
    ("chunk ext", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n3;a=b\r\nabc\r\n0\r\n\r\n"),
    ("chunk trailers", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nT: v\r\n\r\n"),
    ("chunk bare LF", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n3\nabc\n0\n\n"),
    ("chunk size huge", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n"),
    ("chunk data too long", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n"),
    ("chunk size with space", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n0\r\n\r\n"),
    ("NUL in value", b"GET / HTTP/1.1\r\n" + H + b"X: a\x00b\r\n\r\n"),
    ("obs-text in value", b"GET / HTTP/1.1\r\n" + H + b"X: \xe9\r\n\r\n"),
    ("tab in target", b"GET /a\tb HTTP/1.1\r\n" + H + b"\r\n"),
    ("double space", b"GET  / HTTP/1.1\r\n" + H + b"\r\n"),
    ("empty header name", b"GET / HTTP/1.1\r\n" + H + b": v\r\n\r\n"),
]

TOKENS = [b" ", b"\r", b"\n", b"\r\n", b"\t", b":", b",", b"0", b"\x00", b"chunked",
          b"Content-Length: 1\r\n", b"Transfer-Encoding: chunked\r\n", b"HTTP/1.0",
          b"\r\n\r\n", b"Connection: close\r\n", b"Expect: 100-continue\r\n"]


def mutate(rng, data):
    data = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(3)
        pos = rng.randrange(len(data) + 1)
        if op == 0:
            data[pos:pos] = rng.choice(TOKENS)
        elif op == 1 and data:
            del data[pos:pos + rng.randint(1, 4)]
        elif data:
            data[min(pos, len(data) - 1)] = rng.randrange(256)
    return bytes(data)


def h11_parse(data):
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(data)
    conn.receive_data(b"")
    requests, current = [], None
    while True:
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError as err:
            if "without sending complete" in str(err) or current is not None:
                return "incomplete" if "complete" in str(err) else "rejected", requests
            return "rejected", requests
        if isinstance(event, h11.Request):
            current = [event.method.decode("latin-1"), event.target.decode("latin-1"),
                       "HTTP/" + event.http_version.decode(), b""]
        elif isinstance(event, h11.Data):
            current[3] += event.data
        elif isinstance(event, h11.EndOfMessage):
            current[3] = current[3].hex()
            requests.append("\t".join(current))
            current = None
            try:
                conn.send(h11.Response(status_code=200, headers=[("Content-Length", "0")]))
                conn.send(h11.EndOfMessage())
                conn.start_next_cycle()
            except h11.LocalProtocolError:
                return "clean", requests  # must close, or CONNECT switched
        elif isinstance(event, h11.ConnectionClosed):
            return "clean", requests
        else:
            return "incomplete", requests


def run_tool(cmd, cases):
    stdin = "".join(c.hex() + "\n" for c in cases)
    out = subprocess.run(cmd, input=stdin, capture_output=True, text=True, shell=True, check=True)
    results = []
    for line in out.stdout.splitlines():
        end, *requests = line.split("|")
        results.append((end, [r for r in requests if r]))
    assert len(results) == len(cases), (cmd, len(results), len(cases))
    return results


def norm(result):
    end, requests = result
    out = []
    for r in requests:
        method, target, version, body = r.split("\t")
        out.append((method, target, version, body))
    return end, out


def main():
    args = sys.argv[1:]
    sanio_cmd, hyper_cmd = args[0], args[1]
    mutations = int(args[args.index("--mutations") + 1]) if "--mutations" in args else 2000
    seed = int(args[args.index("--seed") + 1]) if "--seed" in args else 1
    rng = random.Random(seed)
    named = list(CASES)
    for i in range(mutations):
        name, data = rng.choice(CASES)
        named.append(("mutated %d of %s" % (i, name), mutate(rng, data)))
    cases = [d for _, d in named]
    sanio = run_tool(sanio_cmd, cases)
    hyper = run_tool(hyper_cmd, cases)
    kinds = {}
    for (name, data), s, hy in zip(named, sanio, hyper):
        s, hy, h = norm(s), norm(hy), h11_parse(data)
        h = (h[0], [tuple(r.split("\t")) for r in h[1]])
        if s == hy == h:
            continue
        # What sanio accepted that another rejected (or framed otherwise)
        # is what matters; describe by who differs.
        who = "sanio alone" if hy == h else ("hyper alone" if s == h else ("h11 alone" if s == hy else "all differ"))
        kinds.setdefault(who, []).append((name, data, s, hy, h))
    lenient = []
    for (name, data), s, hy in zip(named, sanio, hyper):
        s, hy = norm(s), norm(hy)
        h = h11_parse(data)
        h = [tuple(r.split("\t")) for r in h[1]]
        for i, request in enumerate(s[1]):
            if request not in (hy[1][i:i + 1] + h[i:i + 1]):
                lenient.append((name, data, request))
                break
    total = sum(len(v) for v in kinds.values())
    print("differential: %d cases (%d named, %d mutated), %d disagreements" % (len(cases), len(CASES), mutations, total))
    for who, items in sorted(kinds.items()):
        print("== %s: %d" % (who, len(items)))
        for name, data, s, hy, h in items[:60 if "--all" in args else 12]:
            print("  %s: %r" % (name, data[:120]))
            print("    sanio %s %s" % (s[0], [r[:3] for r in s[1]]))
            print("    hyper %s %s" % (hy[0], [r[:3] for r in hy[1]]))
            print("    h11   %s %s" % (h[0], [r[:3] for r in h[1]]))
    for name, data, request in lenient:
        print("  LENIENT %s: %r: sanio framed %r, neither reference did" % (name, data[:120], request[:3]))
    print("differential: %d cases where sanio framed a request neither reference framed the same" % len(lenient))
    return 1 if lenient else 0


if __name__ == "__main__":
    sys.exit(main())
