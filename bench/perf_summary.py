#!/usr/bin/env python3
"""Splits parleyd's profile into request stages from `perf script -F ip,sym,dso` output
(with DWARF call chains) on stdin: each sample goes to the first stage found walking from
the root of its stack towards the leaf, so the stages do not overlap."""
import collections
import sys

# (stage, function names that mark it), the more specific first.
STAGES = [
    ("Ed25519 verification (parley_httpsig_verify)", {"parley_httpsig_verify"}),
    ("signature parsing and policy", {"parley_httpsig_parse_request", "parley_httpsig_parse",
                                      "parley_httpsig_check_policy"}),
    ("nonce replay check", {"parleyd_nonce_check"}),
    ("store reads (parley_store_run: key + state, then record)", {"parley_store_run"}),
    ("sending the reply (sendmsg/writev, kernel TCP)", {"__libc_sendmsg", "__sendmsg", "sendmsg",
                                                        "__send", "__libc_send", "writev",
                                                        "__writev", "MHD_queue_response"}),
    ("reading requests (recv)", {"__libc_recv", "recv", "__recv", "__libc_read", "read"}),
    ("waiting for events (epoll)", {"epoll_wait", "__epoll_wait", "epoll_ctl"}),
    ("locks, wakeups (futex)", {"__futex_abstimed_wait_common", "futex_wait", "__lll_lock_wait",
                                "__lll_lock_wake", "lll_mutex_lock_optimized"}),
]


def main():
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
        done = False
        for frame in reversed(s):  # root first
            for name, marks in STAGES:
                if frame in marks:
                    stage, done = name, True
                    break
            if done:
                break
        count[stage] += 1
    n = len(samples)
    print("Where parleyd's CPU goes under (b), by stage ({} samples):".format(n))
    for name, c in count.most_common():
        print("{:5.1f}%  {}".format(100.0 * c / n, name))


if __name__ == "__main__":
    main()
