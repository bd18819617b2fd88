#!/usr/bin/env python3
"""Evidence manifests for the hostile cases (docs/protocol.md §3, §7, §13).
  manifest_tool.py leaf PACKAGE.json          -> the manifest's log leaf hash (base64url)
  manifest_tool.py forge PACKAGE.json KEYFILE -> the manifest with other notes, signed
      again with KEYFILE (the sender's): a manifest the sender signed that the hub never
      logged, compact JSON"""
import base64
import hashlib
import json
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jcs(o):  # RFC 8785 for what Parley signs: ASCII strings and integers only
    return json.dumps(o, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


manifest = json.load(open(sys.argv[2]))["manifest"]
if sys.argv[1] == "leaf":
    entry = b"evidence-manifest\n" + hashlib.sha256(jcs(manifest)).digest()
    print(b64u(hashlib.sha256(b"\x00" + entry).digest()))
else:
    key = json.load(open(sys.argv[3]))
    sk = Ed25519PrivateKey.from_private_bytes(base64.urlsafe_b64decode(key["secret"] + "==")[:32])
    manifest["notes"] = "rewritten after logging"
    del manifest["signature"]
    manifest["signature"] = b64u(sk.sign(b"parley/v1/evidence-manifest\n" + jcs(manifest)))
    print(json.dumps(manifest, separators=(",", ":")))
