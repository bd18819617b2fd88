#!/usr/bin/env python3
"""An independent client written from docs/protocol.md alone (§2, §3, §8, §8.4, §12.3-4),
not from Parley's code: it checks that the document is exact enough for a second
implementation. Given a GET /v1/messages/{id} answer, the sender's and a recipient's key
files (protection none), it verifies the outer signature, ciphertext_sha256, opens the
body (crypto_box_seal unwrap, key commitment, XChaCha20-Poly1305 with the associated
data), verifies the inner signature, and every served receipt by the given signers.

  doc_verify.py MESSAGE.json SENDER.key RECIPIENT.key [SIGNER.key ...]
Prints what it verified; exits 1 at the first thing that does not verify."""
import base64
import hashlib
import hmac
import json
import struct
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.poly1305 import Poly1305


def b64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def enc(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jcs(o):  # RFC 8785 for Parley's objects: strings and integers
    return json.dumps(o, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def fail(msg):
    print("doc_verify: NOT VERIFIED: " + msg)
    sys.exit(1)


def verify_signed(obj, purpose, pk, leave_out=("signature",)):  # §3
    msg = jcs({k: v for k, v in obj.items() if k not in leave_out})
    try:
        Ed25519PublicKey.from_public_bytes(pk).verify(
            b64u(obj["signature"]), b"parley/v1/" + purpose.encode() + b"\n" + msg)
    except Exception:
        fail("%s signature" % purpose)


def key_id(prefix, pk):  # §2
    return enc(hashlib.sha256(prefix + b"\n" + pk).digest()[:16])


def rotl(v, n):
    return ((v << n) & 0xFFFFFFFF) | (v >> (32 - n))


def salsa_rounds(x):
    def qr(a, b, c, d):
        x[b] ^= rotl((x[a] + x[d]) & 0xFFFFFFFF, 7)
        x[c] ^= rotl((x[b] + x[a]) & 0xFFFFFFFF, 9)
        x[d] ^= rotl((x[c] + x[b]) & 0xFFFFFFFF, 13)
        x[a] ^= rotl((x[d] + x[c]) & 0xFFFFFFFF, 18)
    for _ in range(10):
        qr(0, 4, 8, 12); qr(5, 9, 13, 1); qr(10, 14, 2, 6); qr(15, 3, 7, 11)
        qr(0, 1, 2, 3); qr(5, 6, 7, 4); qr(10, 11, 8, 9); qr(15, 12, 13, 14)


SIGMA = struct.unpack("<4I", b"expand 32-byte k")


def hsalsa20(key, n16):
    k, n = struct.unpack("<8I", key), struct.unpack("<4I", n16)
    x = [SIGMA[0], k[0], k[1], k[2], k[3], SIGMA[1], n[0], n[1], n[2], n[3],
         SIGMA[2], k[4], k[5], k[6], k[7], SIGMA[3]]
    salsa_rounds(x)
    return struct.pack("<8I", *(x[i] for i in (0, 5, 10, 15, 6, 7, 8, 9)))


def salsa20_stream(key, n8, length):
    k, n = struct.unpack("<8I", key), struct.unpack("<2I", n8)
    out = b""
    ctr = 0
    while len(out) < length:
        s = [SIGMA[0], k[0], k[1], k[2], k[3], SIGMA[1], n[0], n[1], ctr & 0xFFFFFFFF, ctr >> 32,
             SIGMA[2], k[4], k[5], k[6], k[7], SIGMA[3]]
        x = list(s)
        salsa_rounds(x)
        out += struct.pack("<16I", *((x[i] + s[i]) & 0xFFFFFFFF for i in range(16)))
        ctr += 1
    return out[:length]


def hchacha20(key, n16):
    c = struct.unpack("<4I", b"expand 32-byte k")
    x = list(c) + list(struct.unpack("<8I", key)) + list(struct.unpack("<4I", n16))

    def qr(a, b, cc, d):
        x[a] = (x[a] + x[b]) & 0xFFFFFFFF; x[d] = rotl(x[d] ^ x[a], 16)
        x[cc] = (x[cc] + x[d]) & 0xFFFFFFFF; x[b] = rotl(x[b] ^ x[cc], 12)
        x[a] = (x[a] + x[b]) & 0xFFFFFFFF; x[d] = rotl(x[d] ^ x[a], 8)
        x[cc] = (x[cc] + x[d]) & 0xFFFFFFFF; x[b] = rotl(x[b] ^ x[cc], 7)
    for _ in range(10):
        qr(0, 4, 8, 12); qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15)
        qr(0, 5, 10, 15); qr(1, 6, 11, 12); qr(2, 7, 8, 13); qr(3, 4, 9, 14)
    return struct.pack("<8I", *(x[i] for i in (0, 1, 2, 3, 12, 13, 14, 15)))


def box_seal_open(sealed, r_pk, r_sk):  # libsodium crypto_box_seal, 80 bytes here
    epk, mac, c = sealed[:32], sealed[32:48], sealed[48:]
    nonce = hashlib.blake2b(epk + r_pk, digest_size=24).digest()
    shared = X25519PrivateKey.from_private_bytes(r_sk).exchange(X25519PublicKey.from_public_bytes(epk))
    k = hsalsa20(shared, b"\0" * 16)
    sub = hsalsa20(k, nonce[:16])
    stream = salsa20_stream(sub, nonce[16:], 32 + len(c))
    if not hmac.compare_digest(Poly1305.generate_tag(stream[:32], c), mac):
        fail("wrapped_key does not open")
    return bytes(a ^ b for a, b in zip(c, stream[32:]))


def load_key(path):  # §2, "protection": "none"
    k = json.load(open(path))
    secret = b64u(k["secret"])
    return b64u(k["sign_pk"]), b64u(k["box_pk"]), secret[:32], secret[32:]


msg = json.load(open(sys.argv[1]))
env = msg["envelope"]
s_pk = load_key(sys.argv[2])[0]
r_sign_pk, r_box_pk, _, r_box_sk = load_key(sys.argv[3])

# §8.1: outer signature over the envelope without signature and ciphertext
if env["from"]["key_id"] != key_id(b"ed25519", s_pk):
    fail("from.key_id is not the sender's key id")
verify_signed(env, "envelope", s_pk, ("signature", "ciphertext"))
ct = b64u(env["ciphertext"])
if hashlib.sha256(ct).digest() != b64u(env["ciphertext_sha256"]):
    fail("ciphertext_sha256")
env_hash = hashlib.sha256(jcs(env)).digest()
print("envelope %s: outer signature VERIFIED, ciphertext_sha256 matches" % env["id"])

# §8.1/8.3: unwrap, commitment, decrypt with the associated data
mine = [r for r in env["recipients"] if r["key_id"] == key_id(b"x25519", r_box_pk)]
if not mine:
    fail("no recipient entry for this encryption key")
key = box_seal_open(b64u(mine[0]["wrapped_key"]), r_box_pk, r_box_sk)
nonce = b64u(env["nonce"])
commit = hmac.new(key, b"parley/v1/key-commitment\n" + nonce, hashlib.sha256).digest()
if not hmac.compare_digest(commit, b64u(env["key_commitment"])):
    fail("key_commitment")
ad_obj = {k: v for k, v in env.items()
          if k not in ("signature", "ciphertext", "ciphertext_sha256", "key_commitment", "nonce")}
ad_obj["recipients"] = [{k: v for k, v in r.items() if k != "wrapped_key"} for r in env["recipients"]]
ad = hashlib.sha256(jcs(ad_obj)).digest()
sub = hchacha20(key, nonce[:16])
try:
    pt = ChaCha20Poly1305(sub).decrypt(b"\0" * 4 + nonce[16:], ct, ad)
except Exception:
    fail("the body does not decrypt with the associated data of §8.1")
body = json.loads(pt)
if pt != jcs(body):
    fail("the plaintext is not the JCS of the body")
for k in ("id", "kind", "from"):
    if body[k] != env[k]:
        fail("body %s differs from the header's" % k)
if body["recipients"] != ad_obj["recipients"]:
    fail("body recipients differ from the header's")
verify_signed(body, "inner", s_pk)
print("body opened: key commitment, AEAD with the associated data, inner signature VERIFIED")

# §8.4/§12.4: receipts, each by one of the given signers
signers = {}
for path in sys.argv[4:]:
    pk = load_key(path)[0]
    signers[key_id(b"ed25519", pk)] = pk
for item in msg.get("receipts", []):
    if set(item) != {"receipt", "leaf_index"}:
        fail("receipts[] members are not exactly receipt and leaf_index")
    r = item["receipt"]
    if set(r) != {"format", "message", "envelope_sha256", "state", "poc", "key_id", "time", "signature"}:
        fail("receipt members")
    if r["key_id"] not in signers:
        fail("receipt key_id %s is none of the given signers" % r["key_id"])
    verify_signed(r, "ack", signers[r["key_id"]])
    if r["message"] != env["id"] or b64u(r["envelope_sha256"]) != env_hash:
        fail("receipt names another message or envelope")
    print("receipt by %s/%s VERIFIED" % (r["state"], r["poc"]))
print("doc_verify: everything VERIFIED from docs/protocol.md alone")
