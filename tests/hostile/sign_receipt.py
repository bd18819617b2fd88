#!/usr/bin/env python3
"""Signs a receipt (docs/protocol.md §8.4) with a key file of "protection": "none", for
the envelope in a GET /v1/messages/{id} answer, naming STATE and POC: what a hostile hub
can serve although it would refuse to accept it.
  sign_receipt.py KEYFILE MESSAGE.json STATE POC  -> the receipt as compact JSON"""
import base64
import hashlib
import json
import sys
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jcs(o):  # RFC 8785 for what Parley signs: ASCII strings and integers only
    return json.dumps(o, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


key = json.load(open(sys.argv[1]))
secret = base64.urlsafe_b64decode(key["secret"] + "==")
sk = Ed25519PrivateKey.from_private_bytes(secret[:32])
pk = base64.urlsafe_b64decode(key["sign_pk"] + "==")
env = json.load(open(sys.argv[2]))["envelope"]
receipt = {
    "format": "parley-ack-v1",
    "message": env["id"],
    "envelope_sha256": b64u(hashlib.sha256(jcs(env)).digest()),
    "state": sys.argv[3],
    "poc": sys.argv[4],
    "key_id": b64u(hashlib.sha256(b"ed25519\n" + pk).digest()[:16]),
    "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
}
receipt["signature"] = b64u(sk.sign(b"parley/v1/ack\n" + jcs(receipt)))
print(json.dumps(receipt, separators=(",", ":")))
