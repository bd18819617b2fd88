#!/usr/bin/env python3
"""Splits parleyd's profile into request stages from `perf script -F ip,sym,dso` output
(with DWARF call chains) on stdin.

    perf_summary.py [record|messages|tiles]

record (the default): each sample goes to the first stage found walking from the root of
its stack towards the leaf, so the stages do not overlap.
messages, tiles: each sample goes to the first stage in the list below that has one of
its functions anywhere in the stack (so that, e.g., the COMMIT inside a transaction is
split from the rest of the transaction)."""
import collections
import sys

SENDING = {"__libc_sendmsg", "__sendmsg", "sendmsg", "__send", "__libc_send", "writev",
           "__writev", "MHD_queue_response"}
READING = {"__libc_recv", "recv", "__recv", "__libc_read", "read"}
EPOLL = {"epoll_wait", "__epoll_wait", "epoll_ctl"}
FUTEX = {"__futex_abstimed_wait_common", "futex_wait", "__lll_lock_wait", "__lll_lock_wake",
         "lll_mutex_lock_optimized"}

# (stage, function names that mark it), the more specific first.
STAGES = {
    "record": [
        ("Ed25519 verification (parley_httpsig_verify)", {"parley_httpsig_verify"}),
        ("signature parsing and policy", {"parley_httpsig_parse_request", "parley_httpsig_parse",
                                          "parley_httpsig_check_policy"}),
        ("nonce replay check", {"parleyd_nonce_check"}),
        ("store reads (parley_store_run: key + state, then record)", {"parley_store_run"}),
        ("sending the reply (sendmsg/writev, kernel TCP)", SENDING),
        ("reading requests (recv)", READING),
        ("waiting for events (epoll)", EPOLL),
        ("locks, wakeups (futex)", FUTEX),
    ],
    "messages": [
        ("request signature: Ed25519 (parley_httpsig_verify)", {"parley_httpsig_verify"}),
        ("request authentication, rest (parsing, policy, key lookup, nonce cache)",
         {"parleyd_authenticate"}),
        ("envelope checks incl. its Ed25519 signature (parley_envelope_verify)",
         {"parley_envelope_verify"}),
        ("COMMIT of the shared write transaction: WAL write + fsync (sq_commit)", {"sq_commit"}),
        ("BEGIN IMMEDIATE: waiting for the write lock (sq_begin, sqlite busy handler)",
         {"sq_begin"}),
        ("savepoints of the batch (sq_savepoint)", {"sq_savepoint"}),
        ("log append: leaf and Merkle nodes (parleyd_log_append)", {"parleyd_log_append"}),
        ("recipients' current records: read and parse (parleyd_current_record)",
         {"parleyd_current_record"}),
        ("write, rest: nonce, message, recipients, event (writer thread)",
         {"parley_store_run_batch", "parley_store_run"}),
        ("envelope JSON parse and JCS (parley_json_parse_object, parley_jcs)",
         {"parley_json_parse_object", "parley_jcs"}),
        ("sending the reply (sendmsg/writev, kernel TCP)", SENDING),
        ("reading requests (recv)", READING),
        ("waiting for events (epoll)", EPOLL),
        ("locks, wakeups (futex)", FUTEX),
    ],
    "tiles": [
        ("latest checkpoint (parley_store_checkpoint_get)", {"parley_store_checkpoint_get"}),
        ("256 leaf hashes, one store lookup each (parley_tile_hashes)", {"parley_tile_hashes"}),
        ("BEGIN / COMMIT of the read transaction (sq_begin, sq_commit)", {"sq_begin", "sq_commit"}),
        ("read transaction, rest (parley_store_run)", {"parley_store_run"}),
        ("sending the reply (sendmsg/writev, kernel TCP)", SENDING),
        ("reading requests (recv)", READING),
        ("waiting for events (epoll)", EPOLL),
        ("locks, wakeups (futex)", FUTEX),
    ],
}


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "record"
    if mode not in STAGES:
        sys.exit("usage: perf_summary.py [record|messages|tiles]")
    stages = STAGES[mode]
    samples, cur = [], []
    for line in sys.stdin:
        if not line.strip():
            if cur:
                samples.append(cur)
            cur = []
            continue
        parts = line.split(None, 1)
        cur.append(parts[1].split(" (")[0].strip() if len(parts) > 1 else "?")
    if cur:
        samples.append(cur)
    if not samples:
        print("(no samples)")
        return
    count = collections.Counter()
    for s in samples:
        stage = "other (HTTP parsing, routing, allocation, scheduler, ...)"
        if mode == "record":
            done = False
            for frame in reversed(s):  # root first
                for name, marks in stages:
                    if frame in marks:
                        stage, done = name, True
                        break
                if done:
                    break
        else:
            frames = set(s)
            for name, marks in stages:
                if frames & marks:
                    stage = name
                    break
        count[stage] += 1
    n = len(samples)
    what = {"record": "(b)", "messages": "message submissions", "tiles": "tile requests"}[mode]
    print("Where parleyd's CPU goes under {}, by stage ({} samples):".format(what, n))
    for name, c in count.most_common():
        print("{:5.1f}%  {}".format(100.0 * c / n, name))


if __name__ == "__main__":
    main()
