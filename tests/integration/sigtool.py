#!/usr/bin/python3
"""Signs requests as a Parley client would (RFC 9421, docs/protocol.md section 5), with
the knobs the abuse tests need and the real client does not offer: any `created`, any
label, optional whitespace in Signature-Input. Reads unprotected key files only.

  sigtool.py headers KEYFILE METHOD URL [--body FILE] [--created-offset S]
             [--label L] [--spaced] [--extra-label L]
      prints the request's signature headers, one "Name: value" per line.
  sigtool.py flood KEYFILE URL N THREADS [--same]
      sends N signed GETs (signed first, then sent at once; with --same, N times one
      signed request: replays); prints one line per answer: "STATUS CODE RETRY-AFTER".
  sigtool.py head-only URL METHOD PATH CONTENT_LENGTH [KEYFILE] [--wait S]
      sends only the head of a request announcing CONTENT_LENGTH bytes of body (signed by
      KEYFILE if given, else with a signature by no registered key) and prints the
      status the hub answers without having been sent the body, or "none" after S s.
"""
import base64
import hashlib
import http.client
import json
import os
import socket
import sys
import threading
import time
import urllib.parse

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def load_key(path):
    with open(path) as f:
        k = json.load(f)
    if k.get("protection") != "none":
        raise SystemExit("sigtool: only unprotected key files")
    secret = b64url_decode(k["secret"])
    sk = Ed25519PrivateKey.from_private_bytes(secret[:32])
    pk = b64url_decode(k["sign_pk"])
    fpr = hashlib.sha256(b"ed25519\n" + pk).digest()
    keyid = base64.urlsafe_b64encode(fpr[:16]).decode().rstrip("=")
    return sk, keyid


def sign(key, method, url, body=None, created=None, label="parley", spaced=False,
         extra_label=None):
    sk, keyid = key
    headers = []
    comps = ["@method", "@target-uri"]
    if body:
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
        headers.append(("Content-Digest", "sha-256=:%s:" % digest))
        headers.append(("Content-Type", "application/json"))
        comps.append("content-digest")
    created = int(time.time()) if created is None else created
    nonce = base64.urlsafe_b64encode(os.urandom(24)).decode().rstrip("=")
    canon = '(%s);created=%d;keyid="%s";nonce="%s";alg="ed25519"' % (
        " ".join('"%s"' % c for c in comps), created, keyid, nonce)
    lines = []
    for c in comps:
        v = {"@method": method, "@target-uri": url}.get(c)
        if v is None:
            v = dict(headers)["Content-Digest"]
        lines.append('"%s": %s' % (c, v))
    lines.append('"@signature-params": %s' % canon)
    sig = base64.b64encode(sk.sign("\n".join(lines).encode())).decode()
    sent = canon
    if spaced:  # valid RFC 8941, not canonical: spaces inside the list and after ';'
        sent = "( " + canon[1:].replace(" ", "  ", 1).replace(";", "; ")
    si = "%s=%s" % (label, sent)
    sg = "%s=:%s:" % (label, sig)
    if extra_label:
        si = '%s=("@method");created=%d;keyid="x", %s' % (extra_label, created, si)
        sg = "%s=:AAAA:, %s" % (extra_label, sg)
    headers += [("Signature-Input", si), ("Signature", sg)]
    return headers


def cmd_headers(args):
    key = load_key(args[0])
    method, url = args[1], args[2]
    opts = args[3:]
    body, created, label, spaced, extra = None, None, "parley", False, None
    i = 0
    while i < len(opts):
        o = opts[i]
        if o == "--body":
            body = open(opts[i + 1], "rb").read()
            i += 1
        elif o == "--created-offset":
            created = int(time.time()) + int(opts[i + 1])
            i += 1
        elif o == "--label":
            label = opts[i + 1]
            i += 1
        elif o == "--extra-label":
            extra = opts[i + 1]
            i += 1
        elif o == "--spaced":
            spaced = True
        else:
            raise SystemExit("sigtool: unknown option " + o)
        i += 1
    for k, v in sign(key, method, url, body, created, label, spaced, extra):
        print("%s: %s" % (k, v))


def cmd_flood(args):
    key = load_key(args[0])
    url, n, threads = args[1], int(args[2]), int(args[3])
    u = urllib.parse.urlsplit(url)
    path = u.path + ("?" + u.query if u.query else "")
    if "--same" in args[4:]:
        signed = [sign(key, "GET", url)] * n
    else:
        signed = [sign(key, "GET", url) for _ in range(n)]
    out, lock = [], threading.Lock()

    def worker(chunk):
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
        for hs in chunk:
            c.request("GET", path, headers=dict(hs))
            r = c.getresponse()
            body = r.read()
            try:
                code = json.loads(body).get("code", "-")
            except ValueError:
                code = "-"
            with lock:
                out.append("%d %s %s" % (r.status, code, r.getheader("Retry-After") or "-"))
            if r.getheader("Connection", "").lower() == "close":
                c.close()
                c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
        c.close()

    ts = [threading.Thread(target=worker, args=(signed[i::threads],)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("\n".join(out))


def cmd_head_only(args):
    url, method, path, length = args[0], args[1], args[2], int(args[3])
    rest = args[4:]
    wait = 3.0
    if "--wait" in rest:
        i = rest.index("--wait")
        wait = float(rest[i + 1])
        del rest[i:i + 2]
    u = urllib.parse.urlsplit(url)
    if rest:
        key = load_key(rest[0])
    else:
        key = (Ed25519PrivateKey.generate(), "AAAAAAAAAAAAAAAAAAAAAA")
    # Sign as if the whole body were going to follow (its digest is of zeros).
    body = b"\0" * length
    hs = sign(key, method, url + path, body)
    head = "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n" % (method, path, u.netloc, length)
    head += "".join("%s: %s\r\n" % (k, v) for k, v in hs) + "\r\n"
    s = socket.create_connection((u.hostname, u.port))
    s.sendall(head.encode())
    s.settimeout(wait)
    try:
        data = s.recv(4096)
    except socket.timeout:
        data = b""
    s.close()
    if not data:
        print("none")
        return
    status = data.split(b"\r\n", 1)[0].split(b" ")[1].decode()
    body = data.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in data else b""
    try:
        code = json.loads(body).get("code", "-")
    except ValueError:
        code = "-"
    print(status, code)


if __name__ == "__main__":
    cmd, rest = sys.argv[1], sys.argv[2:]
    {"headers": cmd_headers, "flood": cmd_flood, "head-only": cmd_head_only}[cmd](rest)
