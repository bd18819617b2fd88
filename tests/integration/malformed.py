#!/usr/bin/python3
"""Throws malformed HTTP at a live parleyd, one group of cases per run.

Used by test_malformed.sh; Debian's python3 standard library only. Every request goes
over its own raw socket so that nothing (curl, urllib) cleans the input up first. The
routes come from src/daemon/routes.c, so a new route is covered without editing this.

Verdicts: a malformed request must get a 4xx whose body is JSON with a "code", or a
closed connection; never 2xx/3xx, never 5xx, never silence past the server's timeout.
libmicrohttpd 0.9 handles a few malformations itself, before parleyd sees the request,
and the cases concerned accept what it does: an HTML 4xx for a bad Content-Length, a
header block over the memory limit or an unparsable request line; 505 for an
unsupported HTTP version; and a raw NUL in the request line, where it cuts the line, so
the answer must then equal the answer to the cut request.

Prints one "ok - ..." or "not ok - ..." line per check, with details indented under a
failure. Exit status 0 even when checks fail (the caller counts the lines); 2 on a
usage error."""

import argparse
import base64
import concurrent.futures
import hashlib
import json
import os
import re
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time

ARGS = None
ROUTES = []
PRINT_LOCK = threading.Lock()

UUID = "01930000-0000-7000-8000-000000000000"


# ---------------------------------------------------------------- output


def ok(what):
    with PRINT_LOCK:
        print("ok - " + what, flush=True)


def not_ok(what, details=()):
    with PRINT_LOCK:
        print("not ok - " + what, flush=True)
        for d in list(details)[:12]:
            print("    " + d, flush=True)
        if len(details) > 12:
            print("    ... %d more" % (len(details) - 12), flush=True)


def report(what, failures):
    if failures:
        not_ok(what, failures)
    else:
        ok(what)


# ---------------------------------------------------------------- routes


def parse_routes(path):
    """Reads the route table: [(method, pattern, auth, name)]."""
    with open(path, encoding="utf-8") as f:
        src = f.read()
    m = re.search(r"parleyd_routes\[\]\s*=\s*\{(.*?)\n\};", src, re.S)
    if not m:
        return []
    entry = re.compile(
        r'\{\s*"([A-Za-z]+)"\s*,\s*"(/[^"]*)"\s*,\s*(\w+)\s*,\s*([\w\s|]+?)\s*,\s*"([\w-]+)"\s*\}',
        re.S)
    out = []
    for e in entry.finditer(m.group(1)):
        out.append((e.group(1), e.group(2), " ".join(e.group(4).split()), e.group(5)))
    return out


def param_value(prev_segment):
    """A plausible value for a {} segment, judged by the segment before it."""
    if prev_segment == "states":
        return "EST"
    if prev_segment in ("records", "versions"):
        return "1"
    if prev_segment in ("messages", "cases", "pings", "acks"):
        return UUID
    return "x1"


def concrete(pattern, values=None):
    """The pattern with {} and * replaced. values, if given, replaces every {} instead."""
    segs = pattern.split("/")
    out = []
    for i, s in enumerate(segs):
        if s == "{}":
            out.append(values if values is not None else param_value(segs[i - 1]))
        elif s == "*" and i == len(segs) - 1:
            out.append("0/000")
        else:
            out.append(s)
    return "/".join(out)


def identity_for(auth):
    """Which test key may call a route with this auth mask (None: public)."""
    if "PUBLIC" in auth:
        return None
    if "ANY" in auth or "OPERATOR" in auth:
        return "op"
    if "ROOT" in auth:
        return "root"
    if "OFFICER" in auth:
        return "officer"
    return "op"


def has_body(method):
    return method in ("POST", "PUT", "PATCH")


# ---------------------------------------------------------------- raw HTTP


class Result:
    """What came back: kind is "response", "closed" (EOF or reset before any answer)
    or "timeout" (neither an answer nor a close within the wait)."""

    def __init__(self, kind, status=0, headers=None, body=b"", raw=b"", elapsed=0.0):
        self.kind = kind
        self.status = status
        self.headers = headers or {}
        self.body = body
        self.raw = raw
        self.elapsed = elapsed

    def short(self):
        if self.kind != "response":
            return "%s after %.1fs" % (self.kind, self.elapsed)
        return "%d %s" % (self.status, self.body[:160].decode("utf-8", "replace"))

    def json_code(self):
        try:
            v = json.loads(self.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return None
        if isinstance(v, dict) and isinstance(v.get("code"), str):
            return v["code"]
        return None


def connect(src=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if src:
        s.bind((src, 0))
    s.settimeout(5)
    s.connect((ARGS.host, ARGS.port))
    return s


def parse_response(buf):
    """(status, headers, body, complete) from the bytes received so far, or None."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = buf[:end].decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/\d\.\d (\d{3})", head[0])
    if not m:
        return (0, {}, buf, True)
    headers = {}
    for line in head[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    body = buf[end + 4:]
    n = headers.get("content-length")
    complete = n is not None and n.isdigit() and len(body) >= int(n)
    if complete:
        body = body[:int(n)]
    if headers.get("content-type", "").startswith("text/event-stream"):
        complete = True  # an event stream never ends: its head is the answer
    return (int(m.group(1)), headers, body, complete)


def exchange(raw, wait=None, half_close=False, src=None):
    """Sends raw, then reads until a full response, a close, or wait seconds."""
    wait = wait if wait is not None else ARGS.timeout + 4
    t0 = time.monotonic()
    try:
        s = connect(src)
    except OSError as e:
        return Result("closed", raw=repr(e).encode(), elapsed=0)
    buf = b""
    try:
        try:
            s.sendall(raw)
            if half_close:
                s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may answer and close before reading everything
        while True:
            left = wait - (time.monotonic() - t0)
            if left <= 0:
                p = parse_response(buf)
                if p:
                    return Result("response", p[0], p[1], p[2], buf, time.monotonic() - t0)
                return Result("timeout", raw=buf, elapsed=time.monotonic() - t0)
            s.settimeout(left)
            try:
                d = s.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                d = b""
            if not d:
                p = parse_response(buf)
                if p:
                    return Result("response", p[0], p[1], p[2], buf, time.monotonic() - t0)
                return Result("closed", raw=buf, elapsed=time.monotonic() - t0)
            buf += d
            p = parse_response(buf)
            if p and p[3]:
                return Result("response", p[0], p[1], p[2], buf, time.monotonic() - t0)
    finally:
        s.close()


def request(method, target, headers=(), body=b"", version=b"HTTP/1.1", close=True):
    """Raw request bytes. method, target, header names and values may be str or bytes."""
    def b(x):
        return x if isinstance(x, bytes) else x.encode("utf-8")
    lines = [b(method) + b" " + b(target) + b" " + version]
    names = set()
    for k, v in headers:
        names.add(b(k).lower())
        lines.append(b(k) + b": " + b(v))
    if b"host" not in names:
        lines.insert(1, b"Host: %s:%d" % (ARGS.host.encode(), ARGS.port))
    if close and b"connection" not in names:
        lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


MHD_HTML = b"<html><head><title>"


def verdict(res, want=None, codes=None, allow_closed=True, allow_mhd=False, allow_505=False):
    """None if res is an acceptable answer to a malformed request, else why not.
    want: exact status required (or a tuple); codes: acceptable JSON codes."""
    if res.kind == "timeout":
        return "no answer and no close within %.0fs (hang)" % res.elapsed
    if res.kind == "closed":
        return None if allow_closed else "connection closed without an answer"
    st = res.status
    if st == 505 and allow_505:
        return None
    if st >= 500:
        return "server error %s" % res.short()
    if st < 400:
        return "accepted malformed input: %s" % res.short()
    if want is not None and st not in (want if isinstance(want, tuple) else (want,)):
        return "status %d, want %s: %s" % (st, want, res.short())
    code = res.json_code()
    if code is None:
        # libmicrohttpd 0.9.75 sometimes sends its error header twice, the second copy
        # standing in for the body.
        mhd_body = res.body.startswith(MHD_HTML) or res.body.startswith(b"HTTP/1.1 %d" % st)
        if allow_mhd and mhd_body and st in (400, 411, 413, 414, 431):
            return None
        return "4xx without a JSON body with a code: %s" % res.short()
    if codes and code not in codes:
        return "code %s, want one of %s" % (code, ",".join(codes))
    return None


def no_fault(res):
    """None unless res is a hang or a server error: for input a lenient parser may take."""
    if res.kind == "timeout" or (res.kind == "response" and (res.status >= 500 or res.status == 0)):
        return "want no 5xx and no hang: %s" % res.short()
    return None


def run_all(jobs, workers=16):
    """Runs (label, fn) pairs concurrently; returns [label: failure] strings."""
    failures = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as ex:
        futs = {ex.submit(fn): label for label, fn in jobs}
        for f in concurrent.futures.as_completed(futs):
            try:
                why = f.result()
            except Exception as e:  # a bug in this script must show, not pass
                why = "exception %r" % e
            if why:
                failures.append("%s: %s" % (futs[f], why))
    return sorted(failures)


def healthz(src=None, wait=3):
    r = exchange(request("GET", "/healthz"), wait=wait, src=src)
    return r.kind == "response" and r.status == 200


# ---------------------------------------------------------------- signing


_sign_tmp = tempfile.mkdtemp(prefix="malformed-")


def sign(who, method, target, body=None):
    """Fresh signed headers from the real client: [(name, value)]. target may be bytes."""
    cmd = [ARGS.parley, "--config", ARGS.conf[who], "api", "--headers-only"]
    if body is not None:
        fd, path = tempfile.mkstemp(dir=_sign_tmp)
        with os.fdopen(fd, "wb") as f:
            f.write(body)
        cmd += ["--data", path]
    t = target if isinstance(target, bytes) else target.encode()
    cmd += [method, os.fsdecode(t)]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    if body is not None:
        os.unlink(path)
    if p.returncode != 0:
        raise RuntimeError("parley api --headers-only failed: %s" % p.stderr.decode()[:200])
    out = []
    for line in p.stdout.decode().splitlines():
        k, _, v = line.partition(":")
        if k:
            out.append((k.strip(), v.strip()))
    return out


def hget(headers, name):
    for k, v in headers:
        if k.lower() == name.lower():
            return v
    return None


def hset(headers, name, value):
    """A copy with name set to value (None: removed)."""
    out = [(k, v) for k, v in headers if k.lower() != name.lower()]
    if value is not None:
        out.append((name, value))
    return out


def authed_routes():
    return [r for r in ROUTES if identity_for(r[2])]


def body_routes():
    return [r for r in ROUTES if has_body(r[0])]


# ---------------------------------------------------------------- groups


def g_routes():
    names = [r[1] for r in ROUTES]
    report("route table parsed from %s (%d routes)" % (ARGS.routes, len(ROUTES)),
           [] if len(ROUTES) >= 10 and "/healthz" in names else ["got %r" % names])


def g_truncated():
    """Requests cut short, then half-closed: the server must answer 4xx or close."""
    jobs = []  # each may wait for the server's timeout: run them all at once
    for method, pat, _, _ in ROUTES:
        path = concrete(pat)
        full = request(method, path, [("Content-Type", "application/json"),
                                      ("Content-Length", "100")], b'{"code":')
        cut_line = full[:len(method) + 1 + len(path) // 2]
        cut_header = full[:full.index(b"\r\n") + 12]
        for label, raw in (("request line cut", cut_line), ("header cut", cut_header),
                           ("body shorter than Content-Length", full)):
            jobs.append(("%s %s (%s)" % (method, path, label),
                         lambda raw=raw: verdict(exchange(raw, half_close=True),
                                                 allow_mhd=True)))
    fails = run_all(jobs, workers=max(1, min(len(jobs), ARGS.max_conn_per_ip - 8)))
    report("truncated requests, half-closed (%d): each answered 4xx or closed, no hang"
           % len(jobs), fails)
    # Fully closed mid-request: nothing to observe but the server's health afterwards.
    for method, pat, _, _ in ROUTES:
        s = connect()
        s.sendall(request(method, concrete(pat), [("Content-Type", "application/json"),
                                                  ("Content-Length", "1000")], b"[1,"))
        s.close()
    report("after %d requests abandoned mid-body the hub still answers" % len(ROUTES),
           [] if healthz() else ["GET /healthz failed"])


def g_oversized():
    """Content-Length over the limit: 413 before any of the body is sent."""
    jobs = []
    for method, pat, _, _ in ROUTES:
        path = concrete(pat)
        for extra in ((), (("Expect", "100-continue"),)):
            raw = request(method, path, [("Content-Type", "application/json"),
                                         ("Content-Length", str(ARGS.max_body + 1))]
                          + list(extra))

            def job(raw=raw):
                r = exchange(raw, wait=5)
                if r.kind == "response" and r.raw.startswith(b"HTTP/1.1 100"):
                    return "100 Continue for an oversized body"
                return verdict(r, want=413, codes=("BODY_TOO_LARGE",), allow_closed=False)
            jobs.append(("%s %s%s" % (method, path, " (Expect: 100-continue)" if extra else ""),
                         job))
    report("Content-Length over --max-body (%d requests): 413 BODY_TOO_LARGE before the body"
           % len(jobs), run_all(jobs))
    # The body is sent anyway: the answer comes early and the rest is dropped.
    big = b"[" + b"0," * (ARGS.max_body // 2) + b"0]"
    jobs = []
    for method, pat, _, _ in ROUTES:
        path = concrete(pat)
        raw = request(method, path, [("Content-Type", "application/json"),
                                     ("Content-Length", str(len(big)))], big)
        jobs.append(("%s %s" % (method, path),
                     lambda raw=raw: verdict(exchange(raw, wait=8), want=413)))
    report("oversized body actually sent (%d bytes, %d routes): 413 or closed"
           % (len(big), len(ROUTES)), run_all(jobs, workers=8))


def g_content_length():
    values = ["18446744073709551616", "18446744073709551615", "9223372036854775808",
              "99999999999999999999999999999999", "-1", "-0", "abc", "1e3", "0x10", "+5",
              "12 12", "1,1", "", "5\x0b"]
    jobs = []
    for method, pat, _, _ in ROUTES:
        path = concrete(pat)
        for v in values:
            raw = request(method, path, [("Content-Type", "application/json"),
                                         ("Content-Length", v)], b"{}")
            jobs.append(("%s %s Content-Length %r" % (method, path, v),
                         lambda raw=raw: verdict(exchange(raw, wait=8), allow_mhd=True)))
        raw = request(method, path, [("Content-Type", "application/json"),
                                     ("Content-Length", "2"), ("Content-Length", "40")], b"{}")
        jobs.append(("%s %s two different Content-Length" % (method, path),
                     lambda raw=raw: verdict(exchange(raw, wait=8), allow_mhd=True)))
        raw = request(method, path, [("Content-Type", "application/json"),
                                     ("Content-Length", "7"), ("Transfer-Encoding", "chunked")],
                      b"2\r\n{}\r\n0\r\n\r\n")
        jobs.append(("%s %s Content-Length with Transfer-Encoding" % (method, path),
                     lambda raw=raw: verdict(exchange(raw, wait=8), allow_mhd=True)))
    report("huge, negative, non-numeric and conflicting Content-Length (%d requests): 4xx or"
           " closed" % len(jobs), run_all(jobs))


def g_methods():
    methods = ["FOO", "get", "Get", "GETT", "G", "DELETE", "PATCH", "TRACE", "CONNECT",
               "OPTIONS", "M" * 10000, "\x01GET", "GE\x7fT", "G\xffT"]
    jobs = []
    for m_route, pat, _, _ in ROUTES:
        path = concrete(pat)
        for m in methods:
            if m == m_route:
                continue
            # OPTIONS on the API is a CORS preflight (204, no body, no effect): checked
            # in tests/web/test_serve.sh
            if m == "OPTIONS" and (path.startswith("/v1/") or path.startswith("/log/")
                                   or path == "/healthz"):
                continue
            raw = request(m.encode("latin-1"), path)
            jobs.append(("%.20s %s" % (repr(m), path),
                         lambda raw=raw: verdict(exchange(raw, wait=8), allow_mhd=True)))
        raw = request(b"A" * 40000, path)
        jobs.append(("40000-byte method %s" % path,
                     lambda raw=raw: verdict(exchange(raw, wait=8), allow_mhd=True)))
    report("bad methods (%d requests): 4xx (405 for a known path) or closed" % len(jobs),
           run_all(jobs))
    # A known path with an unknown method must be 405 METHOD_NOT_ALLOWED exactly.
    fails = []
    for m_route, pat, _, _ in ROUTES:
        path = concrete(pat)
        why = verdict(exchange(request("FOO", path), wait=8), want=405,
                      codes=("METHOD_NOT_ALLOWED",), allow_closed=False)
        if why:
            fails.append("FOO %s: %s" % (path, why))
    report("FOO on every route is 405 METHOD_NOT_ALLOWED", fails)


def g_versions():
    versions = [b"HTTP/2.0", b"HTTP/1.1x", b"HTTP/1", b"HTTP/1.10", b"http/1.1", b"XTTP/1.1",
                b"HTTP/1.1 HTTP/1.1", b"HTTP/" + b"9" * 5000]
    jobs = []
    for method, pat, _, _ in ROUTES:
        path = concrete(pat)
        for v in versions:
            raw = request(method, path, version=v)
            jobs.append(("%s %s %.20r" % (method, path, v),
                         lambda raw=raw: verdict(exchange(raw, wait=8), allow_mhd=True,
                                                 allow_505=True)))
        raw = ("%s %s\r\n\r\n" % (method, path)).encode()  # HTTP/0.9 form
        jobs.append(("%s %s without a version" % (method, path),
                     lambda raw=raw: verdict(exchange(raw, wait=8), allow_mhd=True)))
    report("bad HTTP versions (%d requests): 4xx, closed or 505 (libmicrohttpd's answer to"
           " an unsupported version)" % len(jobs), run_all(jobs))


def g_headers():
    jobs = []
    flood = [("X-Flood-%d" % i, "v") for i in range(5000)]
    same = [("X-Same", "v" * 20)] * 3000
    big = [("X-Big", "a" * 102400)]
    bigname = [("X" * 102400, "a")]
    for method, pat, _, _ in ROUTES:
        path = concrete(pat)
        for label, hs in (("5000 headers", flood), ("3000 copies of one header", same),
                          ("one 100 KiB header", big), ("a 100 KiB header name", bigname)):
            raw = request(method, path, hs)
            jobs.append(("%s %s (%s)" % (method, path, label),
                         lambda raw=raw: verdict(exchange(raw, wait=8),
                                                 want=(413, 431), allow_mhd=True)))
    report("header floods (%d requests): 431/413 or closed" % len(jobs), run_all(jobs))


def g_slowloris():
    """Headers, then a body, trickled a byte per second: the server must cut them at its
    timeout, and serve other clients meanwhile."""
    limit = ARGS.timeout + 6
    results = {}

    def trickle(label, prefix, data):
        t0 = time.monotonic()
        s = connect()
        s.sendall(prefix)
        s.setblocking(False)
        i, how = 0, None
        while time.monotonic() - t0 < limit:
            try:
                s.send(data[i % len(data):i % len(data) + 1])
                i += 1
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                how = "send failed"
                break
            r, _, _ = select.select([s], [], [], 1.0)
            if r:
                try:
                    d = s.recv(4096)
                except OSError:
                    d = b""
                how = "closed" if not d else "answered %r" % d[:40]
                break
        results[label] = (how, time.monotonic() - t0, i)
        s.close()

    head = b"Host: 127.0.0.1\r\nX-Slow: " + b"a" * 200
    body_route = next((r for r in ROUTES if has_body(r[0])), ROUTES[0])
    threads = []
    for method, pat, _, _ in (ROUTES[0], ROUTES[len(ROUTES) // 2], ROUTES[-1]):
        t = threading.Thread(target=trickle, args=(
            "headers of %s %s" % (method, concrete(pat)),
            ("%s %s HTTP/1.1\r\n" % (method, concrete(pat))).encode(), head))
        threads.append(t)
    slow_body = request(body_route[0], concrete(body_route[1]),
                        [("Content-Type", "application/json"), ("Content-Length", "4000")],
                        close=True)
    threads.append(threading.Thread(target=trickle, args=(
        "body of %s %s" % (body_route[0], concrete(body_route[1])), slow_body, b"[1,")))
    keepalive = []

    def polite():
        """One keep-alive connection, a request a second for longer than the timeout:
        the guard must re-arm after each answer, not cut a well-behaved client."""
        t0, n = time.monotonic(), 0
        s = connect()
        try:
            while time.monotonic() - t0 < ARGS.timeout + 3:
                s.sendall(request("GET", "/healthz", close=False))
                buf, deadline = b"", time.monotonic() + 3
                while not (parse_response(buf) or (0, 0, 0, False))[3]:
                    s.settimeout(max(0.1, deadline - time.monotonic()))
                    d = s.recv(65536)
                    if not d:
                        raise OSError("closed after %d answers" % n)
                    buf += d
                if parse_response(buf)[0] != 200:
                    raise OSError("status %d" % parse_response(buf)[0])
                n += 1
                time.sleep(1)
            keepalive.append(None)
        except OSError as e:
            keepalive.append("%s after %.1fs" % (e, time.monotonic() - t0))
        finally:
            s.close()
    threads.append(threading.Thread(target=polite))
    for t in threads:
        t.start()
    served, total = 0, 0
    time.sleep(0.5)
    while any(t.is_alive() for t in threads):
        total += 1
        if healthz(wait=2):
            served += 1
        time.sleep(0.5)
    for t in threads:
        t.join()
    fails = []
    for label, (how, secs, n) in sorted(results.items()):
        if how != "closed" and not (how or "").startswith("answered b'HTTP/1.1 4"):
            fails.append("%s: %s after %.1fs (%d bytes trickled)" % (label, how or "still open",
                                                                     secs, n))
        elif secs > ARGS.timeout + 3:
            fails.append("%s: cut only after %.1fs (timeout %ds)" % (label, secs, ARGS.timeout))
    report("slowloris: %d connections trickling a byte per second are cut by the server's"
           " timeout (%ds)" % (len(results), ARGS.timeout),
           fails + ([] if len(results) == len(threads) - 1 else ["a trickling thread died"]))
    report("meanwhile a keep-alive client asking once a second for %ds is never cut"
           % (ARGS.timeout + 3), [k for k in keepalive if k] if keepalive else ["no result"])
    report("other clients served meanwhile (%d/%d healthz answered 200)" % (served, total),
           [] if total > 0 and served == total else ["%d of %d failed" % (total - served, total)])


def g_idle():
    """More idle connections than --max-conn-per-ip: the extra ones are refused."""
    n = ARGS.max_conn_per_ip + 16
    socks = []
    try:
        for _ in range(n):
            try:
                socks.append(connect())
            except OSError:
                pass  # refused at connect: fine
        time.sleep(1.0)
        refused = 0
        for s in socks:
            r, _, _ = select.select([s], [], [], 0)
            if r:
                try:
                    d = s.recv(1)
                except OSError:
                    d = b""
                if not d:
                    refused += 1
        open_ = len(socks) - refused
        refused += n - len(socks)
        report("%d idle connections from one IP, limit %d: %d refused, %d kept"
               % (n, ARGS.max_conn_per_ip, refused, open_),
               [] if refused >= n - ARGS.max_conn_per_ip and open_ <= ARGS.max_conn_per_ip
               else ["want at least %d refused and at most %d kept"
                     % (n - ARGS.max_conn_per_ip, ARGS.max_conn_per_ip)])
        try:
            other = healthz(src="127.0.0.2")
        except OSError as e:
            other = None
            print("# skip: cannot bind 127.0.0.2 (%s)" % e, flush=True)
        if other is not None:
            report("meanwhile a client from another address (127.0.0.2) is served",
                   [] if other else ["GET /healthz from 127.0.0.2 failed"])
    finally:
        for s in socks:
            s.close()
    good = False
    for _ in range(20):
        if healthz():
            good = True
            break
        time.sleep(0.2)
    report("once they are closed 127.0.0.1 is served again", [] if good else ["no 200"])


# Refused wherever they appear: raw bytes outside printable ASCII, malformed or NUL
# escapes, escapes decoding to control characters or to invalid UTF-8.
REFUSE_UTF8 = [b"\xff\xfe", b"\xc3\x28", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
               b"\xe2\x82", b"\xc3\xa4", "%FF%FE", "%C3%28", "%C0%AF", "%ED%A0%80",
               "%F4%90%80%80", "%E2%82"]
REFUSE_PCT = ["%", "%%", "%G1", "%2", "%zz", "%00", "a%00b", "%u0041", "%%00", "%7f", "%09",
              "%0d%0aX-Injected:%201", "%C0%AE%C0%AE", b"a b", b"a\tb", b"\x7f"]
# Well-formed but odd: refused in a path segment (no such resource); in a query a route
# may ignore them, so there they only must not cause a fault.
ODD_PCT = ["%2500", "%2e%2e", "..%2F..%2Fetc", "%2F", "%20", "%25"]


_QUERY_NAMES = []


def query_names():
    """Every query parameter a handler reads (parleyd_query calls in src/daemon)."""
    if _QUERY_NAMES:
        return _QUERY_NAMES
    names = {"q"}
    d = os.path.dirname(os.path.abspath(ARGS.routes))
    for f in sorted(os.listdir(d)):
        if f.endswith(".c"):
            with open(os.path.join(d, f), encoding="utf-8", errors="replace") as fh:
                names.update(re.findall(r'parleyd_query\(\s*r\s*,\s*"([^"]+)"', fh.read()))
    _QUERY_NAMES.extend(sorted(names))
    return _QUERY_NAMES


def in_path(pat, piece):
    """The route's path with piece in place of every {} (or appended), as bytes."""
    pb = piece if isinstance(piece, bytes) else piece.encode()
    if "{}" in pat:
        return concrete(pat, values="\x00").encode().replace(b"\x00", pb)
    if pat == "/":
        return b"/" + pb
    return concrete(pat).encode() + pb


def in_query(pat, piece):
    pb = piece if isinstance(piece, bytes) else piece.encode()
    return concrete(pat).encode() + b"?" + b"&".join(n.encode() + b"=" + pb
                                                      for n in query_names())


def url_job(method, target, who=None, lenient=False):
    """Sends method target (signed by who, if given); lenient: only no fault required."""
    def job():
        body = b"{}" if has_body(method) else b""
        if who:
            hs = sign(who, method, target, body or None)
        else:
            hs = [("Content-Type", "application/json")] if body else []
        r = exchange(request(method, target, hs + [("Content-Length", str(len(body)))], body),
                     wait=8)
        return no_fault(r) if lenient else verdict(r, allow_closed=not who)
    return job


def g_urls(kind):
    refuse = REFUSE_UTF8 if kind == "utf8" else REFUSE_PCT
    # One per route: the HTTP layer refuses these before authentication, so the signed
    # cases guard that order. (The client will not sign raw control characters.)
    signed_pieces = ["%C3%28"] if kind == "utf8" else ["%00"]
    odd = [] if kind == "utf8" else ODD_PCT
    title = {"utf8": "invalid UTF-8 and raw non-ASCII bytes in URLs",
             "percent": "percent-encoded garbage and raw controls in URLs"}[kind]
    jobs = []
    for method, pat, auth, _ in ROUTES:
        for p in refuse:
            jobs.append(("%s %r" % (method, in_path(pat, p)), url_job(method, in_path(pat, p))))
            jobs.append(("%s %r" % (method, in_query(pat, p)),
                         url_job(method, in_query(pat, p))))
        for p in odd:
            jobs.append(("%s %r" % (method, in_path(pat, p)), url_job(method, in_path(pat, p))))
            jobs.append(("%s %r (may be ignored)" % (method, in_query(pat, p)),
                         url_job(method, in_query(pat, p), lenient=True)))
    report("%s, unsigned (%d requests, every query parameter a handler reads): 4xx"
           % (title, len(jobs)), run_all(jobs))
    # Signed by a key the route accepts, so that the garbage would reach the handler if
    # the HTTP layer let it through.
    jobs = []
    for method, pat, auth, _ in authed_routes():
        who = identity_for(auth)
        place = in_path if "{}" in pat else in_query
        for p in signed_pieces:
            t = place(pat, p)
            jobs.append(("%s %r as %s" % (method, t, who), url_job(method, t, who)))
        if "{}" in pat:
            for p in odd[1:2]:
                t = in_path(pat, p)
                jobs.append(("%s %r as %s" % (method, t, who), url_job(method, t, who)))
    report("%s, signed (%d requests): 4xx with a code" % (title, len(jobs)),
           run_all(jobs, workers=6))


def g_nul():
    """Raw NUL bytes. libmicrohttpd 0.9 cuts the path at a NUL before parleyd sees it, so
    a NUL in the path must get either a 4xx, a close, or exactly the answer to the path
    cut at the NUL."""
    jobs = []
    for method, pat, auth, _ in ROUTES:
        path = concrete(pat)
        cuts = [(path + "\x00", path), (path + "\x00/../x", path),
                (path[:len(path) // 2] + "\x00" + path[len(path) // 2:], path[:len(path) // 2]),
                (path + "?q=\x00x", path + "?q=")]
        cuts = [(method, w, c) for w, c in cuts] + [(method + "\x00X", path, path)]
        for m_nul, with_nul, cut in cuts:
            def job(method=method, m_nul=m_nul, with_nul=with_nul, cut=cut):
                r = exchange(request(m_nul.encode("latin-1"), with_nul.encode("latin-1")),
                             wait=8)
                if verdict(r, allow_mhd=True) is None:
                    return None
                if r.kind != "response" or r.status >= 500:
                    return verdict(r)
                ref = exchange(request(method, cut.encode("latin-1")), wait=8)
                if ref.kind == "response" and ref.status == r.status and ref.status < 500:
                    return None
                return "answered %s, but the cut path %r gets %s" % (r.short(), cut, ref.short())
            jobs.append(("%r %r" % (m_nul, with_nul), job))
        for hname, hval in ((b"X-A", b"a\x00b"), (b"X\x00A", b"b"), (b"Content-Type",
                                                                      b"application/json\x00x")):
            body = b"{}"
            raw = request(method, path, [(hname, hval), ("Content-Length", "2")], body)
            jobs.append(("%s %s header %r: %r" % (method, path, hname, hval),
                         lambda raw=raw: no_fault(exchange(raw, wait=8))))
    report("NUL bytes in paths, queries and headers (%d requests): 4xx, closed, or the answer"
           " to the path cut at the NUL; never 5xx or a hang" % len(jobs), run_all(jobs))


BAD_BODIES = [
    ("invalid UTF-8 in a string", b'{"code":"\xff\xfe"}'),
    ("invalid UTF-8 in a key", b'{"\xc3\x28":1}'),
    ("overlong UTF-8", b'{"code":"\xc0\xaf"}'),
    ("UTF-8 surrogate", b'{"code":"\xed\xa0\x80"}'),
    ("truncated UTF-8 sequence", b'{"code":"\xe2\x82"}'),
    ("lone escaped surrogate", b'{"code":"\\ud800"}'),
    ("escaped NUL", b'{"code":"EST\\u0000"}'),
    ("raw control character", b'{"code":"E\x01T"}'),
    ("10000 nested arrays", b"[" * 10000 + b"]" * 10000),
    ("10000 nested objects", b'{"a":' * 10000 + b"1" + b"}" * 10000),
    ("30000 unclosed arrays", b"[" * 30000),
    ("1e999999", b'{"code":1e999999}'),
    ("-1e999999", b'{"code":-1e999999}'),
    ("1e-999999", b'{"code":1e-999999}'),
    ("123456789012345678901234567890", b'{"code":123456789012345678901234567890}'),
    ("-123456789012345678901234567890", b'{"version":-123456789012345678901234567890}'),
    ("2^53+1", b'{"version":9007199254740993}'),
    ("a float", b'{"version":1.5}'),
    ("NaN", b'{"code":NaN}'),
    ("Infinity", b'{"code":Infinity}'),
    ("empty body with a Content-Type", b""),
    ("whitespace only", b"   "),
    ("null", b"null"),
    ("an array", b"[]"),
    ("a string", b'"EST"'),
    ("unterminated object", b"{"),
    ("trailing comma", b'{"code":"EST",}'),
    ("single quotes", b"{'code':'EST'}"),
    ("two objects", b'{"a":1}{"b":2}'),
    ("trailing garbage", b'{"a":1} x'),
    ("byte-order mark", b"\xef\xbb\xbf{}"),
    ("duplicate keys", b'{"code":"EST","code":"FIN"}'),
    ("NUL byte", b'{"code":"EST"}\x00'),
    ("5000 members", b"{" + b",".join(b'"k%d":%d' % (i, i) for i in range(5000)) + b"}"),
    ("40 KiB string", b'{"code":"' + b"A" * 40960 + b'"}'),
    ("wrong types everywhere", b'{"code":[],"name":{},"region":1,"root_key":true,'
                               b'"record":null,"rotation":"x","new_root_key":[],"format":7}'),
]


CORE_BODIES = ("invalid UTF-8 in a string", "10000 nested arrays", "1e999999",
               "123456789012345678901234567890", "trailing garbage", "duplicate keys",
               "NUL byte", "wrong types everywhere")


def send_signed(who, method, path, body):
    """Signs and sends; body b"" means none (no digest, no type)."""
    hs = sign(who, method, path, body or None)
    return exchange(request(method, path, hs + [("Content-Length", str(len(body)))], body),
                    wait=8)


def g_json():
    """Hostile JSON, signed, so that it reaches the handlers' parser. Every body route
    gets the core bodies, the first one all of them (they share one parser). Routes run
    one at a time in table order, since some change state (suspend, then activate)."""
    routes = [r for r in body_routes() if identity_for(r[2])]
    fails, notes, total = [], [], 0
    for i, (method, pat, auth, _) in enumerate(routes):
        who = identity_for(auth)
        path = concrete(pat)
        bodies = [b for b in BAD_BODIES if i == 0 or b[0] in CORE_BODIES]
        jobs = []
        for label, body in bodies:
            def job(who=who, method=method, path=path, body=body):
                hs = sign(who, method, path, body or None)
                if not body:
                    hs = hs + [("Content-Type", "application/json")]
                r = exchange(request(method, path, hs + [("Content-Length", str(len(body)))],
                                     body), wait=8)
                why = verdict(r, allow_closed=False)
                if why and r.kind == "response" and 200 <= r.status < 300:
                    # Acceptable only from a route that takes no body at all.
                    r0 = send_signed(who, method, path, b"")
                    if r0.kind == "response" and r0.status == r.status:
                        notes.append("%s %s ignores its body" % (method, path))
                        return None
                return why
            jobs.append(("%s %s as %s: %s" % (method, path, who, label), job))
        total += len(jobs)
        fails += run_all(jobs, workers=6)
    for n in sorted(set(notes)):
        print("# note: %s (answers a malformed body as it answers none)" % n, flush=True)
    report("malformed JSON bodies, signed, on every route taking a body (%d requests, %d"
           " routes): 4xx with a code" % (total, len(routes)), fails)
    r = send_signed("op", "POST", "/v1/states/EST/activate", b"")  # in case it was left suspended
    if r.kind != "response" or r.status >= 500:
        not_ok("re-activating EST after the JSON cases", [r.short()])
    # The same bodies unsigned reach the public routes' handlers and the auth layer.
    jobs = []
    for method, pat, auth, _ in ROUTES:
        path = concrete(pat)
        for label, body in BAD_BODIES[:12]:
            raw = request(method, path, [("Content-Type", "application/json"),
                                         ("Content-Length", str(len(body)))], body)
            allow_ok = not identity_for(auth) and not has_body(method)

            def job(raw=raw, allow_ok=allow_ok):
                r = exchange(raw, wait=8)
                if allow_ok:
                    return no_fault(r)  # a public GET may ignore its body
                return verdict(r)
            jobs.append(("%s %s: %s" % (method, path, label), job))
    report("malformed JSON bodies, unsigned, on every route (%d requests): 4xx (a public GET"
           " may ignore the body)" % len(jobs), run_all(jobs))


def g_content_type():
    types = [None, "text/plain", "application/jsonx", "application/json-patch+json",
             "multipart/form-data; boundary=x", "application/x-www-form-urlencoded",
             "application/javascript", "json", "", "application/json\tx", "*/*"]
    jobs = []
    for method, pat, _, _ in ROUTES:
        path = concrete(pat)
        for ct in types:
            hs = [("Content-Length", "2")]
            if ct is not None:
                hs.append(("Content-Type", ct))
            raw = request(method, path, hs, b"{}")
            jobs.append(("%s %s Content-Type %r" % (method, path, ct),
                         lambda raw=raw: verdict(exchange(raw, wait=8), want=415,
                                                 codes=("CONTENT_TYPE",), allow_closed=False)))
    report("wrong or missing Content-Type with a body (%d requests): 415 CONTENT_TYPE"
           % len(jobs), run_all(jobs))
    # Signed, with a correct digest, so the type check cannot hide behind the signature.
    jobs = []
    for method, pat, auth, _ in body_routes():
        who = identity_for(auth)
        if not who:
            continue
        path = concrete(pat)
        for ct in ("text/plain", "application/x-www-form-urlencoded"):
            def job(who=who, method=method, path=path, ct=ct):
                hs = hset(sign(who, method, path, b"{}"), "Content-Type", ct)
                return verdict(exchange(request(method, path, hs + [("Content-Length", "2")],
                                                b"{}"), wait=8), want=415, allow_closed=False)
            jobs.append(("%s %s as %s, %s" % (method, path, who, ct), job))
    report("signed requests with a wrong Content-Type (%d): 415" % len(jobs),
           run_all(jobs, workers=8))


def sig_mutations(has_digest):
    """(label, function of the headers list -> mutated list)."""
    def si(f):
        return lambda hs: hset(hs, "Signature-Input", f(hget(hs, "Signature-Input")))

    def sg(f):
        return lambda hs: hset(hs, "Signature", f(hget(hs, "Signature")))

    def flip(v):
        i = v.index(":") + 5
        return v[:i] + ("A" if v[i] != "A" else "B") + v[i + 1:]
    m = [
        ("no Signature", lambda hs: hset(hs, "Signature", None)),
        ("no Signature-Input", lambda hs: hset(hs, "Signature-Input", None)),
        ("neither", lambda hs: hset(hset(hs, "Signature", None), "Signature-Input", None)),
        ("Signature one bit changed", sg(flip)),
        ("Signature too short", sg(lambda v: "parley=:AAAA:")),
        ("Signature not base64", sg(lambda v: "parley=:!!!!$$$$:")),
        ("Signature a string", sg(lambda v: 'parley="abc"')),
        ("Signature an integer", sg(lambda v: "parley=12")),
        ("Signature with another label", sg(lambda v: "sig1" + v[v.index("="):])),
        ("Signature 10 KB", sg(lambda v: "parley=:" + "QUFB" * 2500 + ":")),
        ("Signature empty", sg(lambda v: "")),
        ("Signature garbage", sg(lambda v: "\x01\x02\x7f((((")),
        ("Signature twice", lambda hs: hs + [("Signature", "parley=:AAAA:")]),
        ("Signature-Input twice", lambda hs: hs + [("Signature-Input", hget(hs, "Signature-Input")
                                                     .replace("created=", "created=1"))]),
        ("unknown keyid", si(lambda v: re.sub(r'keyid="[^"]*"', 'keyid="AAAAAAAAAAAAAAAAAAAAAA"', v))),
        ("keyid 10 KB", si(lambda v: re.sub(r'keyid="[^"]*"', 'keyid="%s"' % ("A" * 10000), v))),
        ("keyid not a string", si(lambda v: re.sub(r'keyid="[^"]*"', "keyid=12", v))),
        ("no keyid", si(lambda v: re.sub(r';keyid="[^"]*"', "", v))),
        ("created 0", si(lambda v: re.sub(r"created=\d+", "created=0", v))),
        ("created in an hour", si(lambda v: re.sub(r"created=(\d+)",
                                                    lambda m: "created=%d" % (int(m.group(1)) + 3600), v))),
        ("created 2^63-1", si(lambda v: re.sub(r"created=\d+", "created=9223372036854775807", v))),
        ("created -2^63", si(lambda v: re.sub(r"created=\d+", "created=-9223372036854775808", v))),
        ("created 20 digits", si(lambda v: re.sub(r"created=\d+", "created=99999999999999999999", v))),
        ("created a string", si(lambda v: re.sub(r"created=\d+", 'created="now"', v))),
        ("created a decimal", si(lambda v: re.sub(r"created=(\d+)", r"created=\1.5", v))),
        ("no created", si(lambda v: re.sub(r";created=\d+", "", v))),
        ("expires in the past", si(lambda v: v + ";expires=1")),
        ("no nonce", si(lambda v: re.sub(r';nonce="[^"]*"', "", v))),
        ("nonce too short", si(lambda v: re.sub(r'nonce="[^"]*"', 'nonce="abc"', v))),
        ("nonce 10 KB", si(lambda v: re.sub(r'nonce="[^"]*"', 'nonce="%s"' % ("n" * 10000), v))),
        ("alg rsa", si(lambda v: v.replace('alg="ed25519"', 'alg="rsa-pss-sha512"'))),
        ("alg hmac", si(lambda v: v.replace('alg="ed25519"', 'alg="hmac-sha256"'))),
        ("no @method", si(lambda v: v.replace('"@method" ', ""))),
        ("no @target-uri", si(lambda v: v.replace('"@target-uri"', "").replace("( ", "("))),
        ("empty component list", si(lambda v: re.sub(r"\([^)]*\)", "()", v))),
        ("component list not closed", si(lambda v: v.replace(")", "", 1))),
        ("component not a string", si(lambda v: v.replace('"@method"', "@method"))),
        ("unknown component", si(lambda v: v.replace("(", '("x-not-sent" ', 1))),
        ("@query-param without name", si(lambda v: v.replace("(", '("@query-param" ', 1))),
        ("another label", si(lambda v: "sig1" + v[v.index("="):])),
        ("duplicate parameter", si(lambda v: v + ';keyid="AAAAAAAAAAAAAAAAAAAAAA"')),
        ("garbage", si(lambda v: "\x01\x02(((")),
        ("empty", si(lambda v: "")),
        ("10 KB of parentheses", si(lambda v: "parley=" + "(" * 10000)),
        ("inner list nesting", si(lambda v: 'parley=(("@method"))' + v[v.index(")") + 1:])),
        ("method changed", lambda hs: hs),  # applied to the request line below
    ]
    if has_digest:
        def cd(f):
            return lambda hs: hset(hs, "Content-Digest", f(hget(hs, "Content-Digest")))
        m += [
            ("no Content-Digest", cd(lambda v: None)),
            ("Content-Digest of another body", cd(lambda v: "sha-256=:%s:" % base64.b64encode(
                hashlib.sha256(b"[1]").digest()).decode())),
            ("Content-Digest too short", cd(lambda v: "sha-256=:AAAA:")),
            ("Content-Digest not base64", cd(lambda v: "sha-256=:!!!!:")),
            ("Content-Digest unknown algorithm only", cd(lambda v: "md5=:AAAAAAAAAAAAAAAAAAAAAA==:")),
            ("Content-Digest with a wrong sha-512", cd(lambda v: v + ", sha-512=:" + "A" * 86 + "==:")),
            ("Content-Digest garbage", cd(lambda v: "\x01(((")),
            ("Content-Digest 10 KB", cd(lambda v: "sha-256=:" + "QUFB" * 2500 + ":")),
            ("Content-Digest twice", lambda hs: hs + [("Content-Digest", "sha-256=:AAAA:")]),
            ("body changed after signing", "body"),
            ("no content-digest component", si(lambda v: v.replace(' "content-digest"', ""))),
        ]
    return m


def g_signatures():
    """One valid header set per route from the real client, mutated every way; none of
    the mutations may authenticate. Since a request refused before its signature verifies
    does not spend its nonce, the unmutated set sent afterwards must still authenticate
    (so no mutation got through), and its replay must be AUTH_REPLAY. A changed body is
    found only after the head authenticated and spent its nonce: that mutation is sent
    with a header set of its own."""
    fails, ctrl, total = [], [], 0
    routes = authed_routes()
    for method, pat, auth, _ in routes:
        who = identity_for(auth)
        path = concrete(pat, values="ZZZ" if "states/{}" in pat else None)
        body = b"{}" if has_body(method) else None
        signed = sign(who, method, path, body)
        jobs = []
        for label, mut in sig_mutations(body is not None):
            def job(label=label, mut=mut):
                hs, b, m = list(signed), body or b"", method
                if mut == "body":
                    # The head authenticates (its nonce is spent before the body is
                    # read); the digest check after the body refuses it. Its own set.
                    hs, b = sign(who, method, path, body), b"[]"
                else:
                    hs = mut(hs)
                if label == "method changed":
                    m = "PUT" if method == "POST" else "POST"
                    if not b:
                        b = b"{}"
                        hs = hs + [("Content-Type", "application/json")]
                r = exchange(request(m, path, hs + [("Content-Length", str(len(b)))], b), wait=8)
                if label == "method changed" and r.kind == "response" and r.status in (404, 405):
                    return None  # no such route with that method: refused before auth
                return verdict(r, want=(400, 401), allow_closed=False)
            jobs.append(("%s %s as %s: %s" % (method, path, who, label), job))
        total += len(jobs)
        fails += run_all(jobs)
        raw = request(method, path, signed + [("Content-Length", str(len(body or b"")))],
                      body or b"")
        r1 = exchange(raw, wait=8)
        r2 = exchange(raw, wait=8)
        if r1.kind != "response" or r1.status == 401 or r1.status >= 500:
            ctrl.append("%s %s as %s, unmutated after the mutations: %s"
                        % (method, path, who, r1.short()))
        if verdict(r2, want=401, codes=("AUTH_REPLAY",), allow_closed=False):
            ctrl.append("%s %s replayed: %s" % (method, path, r2.short()))
    report("signed requests with mutated Signature/Signature-Input/Content-Digest (%d"
           " requests, %d routes): 401/400 with a code" % (total, len(routes)), fails)
    report("controls: each route's unmutated header set, sent after its mutations, still"
           " authenticates (%d routes), and its replay is 401 AUTH_REPLAY" % len(routes), ctrl)


GROUPS = {
    "routes": g_routes,
    "truncated": g_truncated,
    "oversized": g_oversized,
    "content-length": g_content_length,
    "methods": g_methods,
    "versions": g_versions,
    "headers": g_headers,
    "slowloris": g_slowloris,
    "idle": g_idle,
    "utf8-url": lambda: g_urls("utf8"),
    "percent": lambda: g_urls("percent"),
    "nul": g_nul,
    "json": g_json,
    "content-type": g_content_type,
    "signatures": g_signatures,
}


def main():
    global ARGS, ROUTES
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--routes", required=True, help="src/daemon/routes.c")
    ap.add_argument("--parley", required=True, help="the parley client, for signing")
    ap.add_argument("--conf", action="append", default=[], metavar="WHO=FILE",
                    help="parley config of op, root and officer")
    ap.add_argument("--timeout", type=int, required=True, help="parleyd --timeout")
    ap.add_argument("--max-body", type=int, required=True)
    ap.add_argument("--max-conn-per-ip", type=int, required=True)
    ap.add_argument("group", choices=sorted(GROUPS))
    ARGS = ap.parse_args()
    if ARGS.host != "127.0.0.1":
        ap.error("only 127.0.0.1")
    ARGS.conf = dict(c.split("=", 1) for c in ARGS.conf)
    ROUTES = parse_routes(ARGS.routes)
    if not ROUTES:
        not_ok("no routes found in %s" % ARGS.routes)
        return 0
    t0 = time.monotonic()
    GROUPS[ARGS.group]()
    print("# group %s took %.1fs" % (ARGS.group, time.monotonic() - t0), flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        try:
            os.rmdir(_sign_tmp)
        except OSError:
            pass
