#!/usr/bin/env python3
"""The operator's proxy: sits between parley and parleyd, forwards every request to the
hub unchanged and rewrites the hub's answers by the rules in a control file (JSON),
read again on every request so a test can change them at any time:

  [{"method": "GET", "path": "^/v1/messages/ID$",      regex on path?query
    "set":    {"from.state": "LVA", "receipts.0.receipt.time": "..."},
    "delete": ["kind", "history.0.event"],
    "append": {"receipts": {...}},                       onto an array member
    "swap_with": "GET /v1/messages/OTHER",               last 2xx body seen for it
    "body": "any text", "status": 400}]                  serve this body (UTF-8) / status

Dotted paths name members of objects and (by number) elements of arrays. swap_with
replaces the whole body first, then set/delete/append apply. Usage:
  proxy.py LISTEN_PORT HUB_URL RULES_FILE LOG_FILE
"""
import http.client
import http.server
import json
import re
import sys
import threading
import urllib.parse

PORT, HUB, RULES, LOG = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
hub = urllib.parse.urlsplit(HUB)
seen = {}  # "METHOD path" -> last 2xx body
lock = threading.Lock()


def log(msg):
    with lock, open(LOG, "a") as f:
        f.write(msg + "\n")


def rules():
    try:
        with open(RULES) as f:
            return json.load(f)
    except (OSError, ValueError):
        return []


def walk(doc, path):
    """(parent, last key) of a dotted path; intermediate members must exist."""
    keys = path.split(".")
    cur = doc
    for k in keys[:-1]:
        cur = cur[int(k)] if isinstance(cur, list) else cur[k]
    last = keys[-1]
    return cur, (int(last) if isinstance(cur, list) else last)


def apply(rule, body):
    if rule.get("body") is not None:  # raw text, e.g. for a text endpoint (/log/...)
        body = rule["body"].encode()
    if rule.get("swap_with"):
        other = seen.get(rule["swap_with"])
        if other is None:
            log("swap_with %s: never seen" % rule["swap_with"])
        else:
            body = other
    if not any(rule.get(k) for k in ("set", "delete", "append")):
        return body
    doc = json.loads(body)
    for path, value in (rule.get("set") or {}).items():
        parent, key = walk(doc, path)
        parent[key] = value
    for path in rule.get("delete") or []:
        parent, key = walk(doc, path)
        del parent[key]
    for path, value in (rule.get("append") or {}).items():
        parent, key = walk(doc, path)
        parent[key].append(value)
    return json.dumps(doc).encode()


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def handle_one(self):
        n = int(self.headers.get("Content-Length") or 0)
        req_body = self.rfile.read(n) if n else None
        c = http.client.HTTPConnection(hub.hostname, hub.port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection",)}
        c.request(self.command, self.path, body=req_body, headers=headers)
        r = c.getresponse()
        body = r.read()
        status = r.status
        ctype = r.getheader("Content-Type", "")
        # the hub's other headers (Upload-Offset, Content-Range, Retry-After, ...) pass through
        extra = [(k, v) for k, v in r.getheaders()
                 if k.lower() not in ("content-type", "content-length", "connection",
                                      "transfer-encoding", "date", "server")]
        c.close()
        key = "%s %s" % (self.command, self.path)
        if 200 <= status < 300:
            seen[key] = body
        for i, rule in enumerate(rules()):
            if rule.get("method", "GET") != self.command:
                continue
            if not re.search(rule["path"], self.path):
                continue
            try:
                body = apply(rule, body)
                status = rule.get("status", status)
                log("rule %d applied to %s" % (i, key))
            except Exception as e:  # a rule that does not fit this answer
                log("rule %d on %s failed: %r" % (i, key, e))
        self.send_response(status)
        self.send_header("Content-Type", ctype or "application/octet-stream")
        for k, v in extra:
            self.send_header(k, v)
        if self.command == "HEAD":
            self.send_header("Content-Length", r.getheader("Content-Length", "0"))
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            return
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = handle_one

    def log_message(self, *a):
        pass


srv = http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Proxy)
print("proxy listening", flush=True)
srv.serve_forever()
