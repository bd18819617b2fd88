#!/usr/bin/env python3
"""Writes BENCHMARKS.md (to stdout) from the JSON results of bench/run.sh.

Inputs come from the environment run.sh exports: RES (the results folder), BEST_A /
BEST_B (the best rounds of (a) and (b)), and the facts about the machine and the run."""
import glob
import json
import os
import statistics

E = os.environ
RES = E["RES"]


def load(name):
    with open(os.path.join(RES, name + ".json")) as f:
        return json.load(f)


def rounds(prefix):
    return [load(os.path.basename(p)[:-5])
            for p in sorted(glob.glob(os.path.join(RES, prefix + "_r*.json")))]


def best(prefix):
    return max(rounds(prefix), key=lambda d: d["rps"])


def n(x):
    return "{:,.0f}".format(x)


def ms(x):
    return "{:.2f} ms".format(x)


def ratio(x, y):
    return "{:.2f}".format(x / y) if y else "–"


def lat(d, keys=("p50", "p99")):
    return " / ".join(ms(d["latency_ms"][k]) for k in keys)


def cpu(d):
    return d.get("server_cpu_us_per_req", 0)


A, B, C = best("a_nginx_record"), best("b_parleyd_record_signed"), best("c_parleyd_healthz")
SA, SB = load("s_nginx_record_steady"), load("s_parleyd_record_steady")
ED, FS = load("ed25519"), load("fsync")
pairs = list(zip(rounds("a_nginx_record"), rounds("b_parleyd_record_signed")))


def disturbed(d):
    return d.get("other_cpu_s", 0) / (d.get("cpu_window_s") or 1) >= 0.2


paired = ["{:.2f}{}".format(b["rps"] / a["rps"], "*" if disturbed(a) or disturbed(b) else "")
          for a, b in pairs if a["rps"]]
target = B["rps"] / A["rps"] if A["rps"] else 0
met = target >= 0.5

rows = [
    ("(b) parleyd, signed GET of the record, req/s", n(B["rps"]),
     "(a) nginx, same bytes: " + n(A["rps"]), ratio(B["rps"], A["rps"])),
    ("(b) server CPU per request (ratio: (a)'s over (b)'s, the req/s ratio of two CPU-bound "
     "servers on the same cores)", "{:.0f} µs".format(cpu(B)),
     "(a) nginx: {:.0f} µs".format(cpu(A)), ratio(cpu(A), cpu(B)) if cpu(B) else "–"),
    ("(c) parleyd, GET /healthz (public), req/s", n(C["rps"]),
     "(a) nginx: " + n(A["rps"]), ratio(C["rps"], A["rps"])),
    ("(b) signed record over (c) healthz", n(B["rps"]), "(c): " + n(C["rps"]),
     ratio(B["rps"], C["rps"])),
    ("(b) latency p50 / p99 at max rate", lat(B), "(a): " + lat(A),
     ratio(B["latency_ms"]["p99"], A["latency_ms"]["p99"])),
    ("(b) latency p50 / p99 / max at a steady {} req/s".format(n(SB["rate_target"])),
     lat(SB, ("p50", "p99", "max")), "(a): " + lat(SA, ("p50", "p99", "max")),
     ratio(SB["latency_ms"]["p99"], SA["latency_ms"]["p99"])),
    ("server CPU per request, (c)", "{:.0f} µs".format(cpu(C)),
     "(a) nginx: {:.0f} µs".format(cpu(A)), ratio(cpu(C), cpu(A))),
    ("Ed25519 verify, one core, ops/s", n(ED["ed25519_verify_per_s"]), "–", "–"),
    ("Ed25519 verify, one core, µs per op", "{:.0f} µs".format(1e6 / ED["ed25519_verify_per_s"]),
     "(b) server CPU per request: {:.0f} µs".format(cpu(B)),
     ratio(1e6 / ED["ed25519_verify_per_s"], cpu(B)) if cpu(B) else "–"),
    ("Ed25519 sign, one core, ops/s", n(ED["ed25519_sign_per_s"]), "–", "–"),
    ("fsync rate: 512 B pwrite + fdatasync in the data dir, ops/s", n(FS["fsync_per_s"]),
     "p50 {:.0f} µs, p99 {:.0f} µs".format(FS["p50_us"], FS["p99_us"]), "–"),
    ("parleyd memory idle, VmRSS / VmHWM", "{} / {} KiB".format(E["RSS_IDLE"], E["HWM_IDLE"]),
     "–", "–"),
    ("parleyd memory after the load, VmRSS / VmHWM",
     "{} / {} KiB".format(E["RSS_LOAD"], E["HWM_LOAD"]),
     "idle VmHWM {} KiB".format(E["HWM_IDLE"]), ratio(int(E["HWM_LOAD"]), int(E["HWM_IDLE"]))),
]
if E.get("WRK_RPS"):
    w = int(E["WRK_RPS"])
    rows.append(("load generator check: wrk -t1 -c{} on nginx, 5 s, req/s".format(E["CONNS"]),
                 n(w), "(a) loadgen: " + n(A["rps"]), ratio(A["rps"], w)))

L = []
P = L.append
P("# Benchmarks\n")
P("Measured by `make bench` (`./bench/run.sh BUILD_DIR`; the build is RelWithDebInfo, -O2). "
  "parleyd and its references run in the same invocation on the same machine, driven by the "
  "same load generator (`bench/loadgen.c`: one epoll thread, HTTP/1.1 keep-alive) with the "
  "same {} connections for {} s each after a {} s warm-up. (a), (b) and (c) are measured {} "
  "times, interleaved; the table gives the best round of each (other work on a shared machine "
  "can only slow a run down). Everything runs on 127.0.0.1, and the load generator shares the "
  "CPUs with the server under test.\n".format(
      E["CONNS"], E["DURATION"], E["WARMUP"], E["ROUNDS"]))
P("- Command: `{}`, run on {}".format(E["BENCH_CMD"], E["RUN_DATE"]))
P("- Machine: {} CPUs ({}), {} RAM, Linux {}".format(E["NPROC"], E["CPU_MODEL"], E["MEM"],
                                                   E["KERNEL"]))
P("- Software: nginx {} (worker_processes auto, access_log off, sendfile on), libmicrohttpd {}, "
  "SQLite {}, libsodium {}; parleyd with its default settings (threads = CPUs, SQLite store)"
  .format(E["NGINX_VERSION"], E["MHD_VERSION"], E["SQLITE_VERSION"], ED["libsodium"]))
P("- Payload: EST's state record with 7 POCs, {} bytes, fetched once from the hub and written "
  "to nginx's root at the same path; answers seen by the load generator: {} B from nginx, {} B "
  "from parleyd".format(E["RECORD_BYTES"], A["body_bytes_avg"], B["body_bytes_avg"]))
P("")
P("**Target (b)/(a) ≥ 0.5: {} — {:.2f}** (per round: {}{}).\n".format(
    "met" if met else "NOT met", target, ", ".join(paired),
    "; * = a run of that round was disturbed by other processes using ≥ 0.2 cores"
    if any(x.endswith("*") for x in paired) else ""))
P("| figure | value | reference | ratio |")
P("|---|---|---|---|")
for r in rows:
    P("| " + " | ".join(r) + " |")
P("")
P("What each figure is:\n")
P("- (a) nginx GET of the record file. The requests carry the same RFC 9421 headers as (b), "
  "signed for the hub's URL (nginx ignores them), so both servers read requests of the same size.")
P("- (b) parleyd signed GET `/v1/states/EST/record` by one of EST's duty officers: "
  "Signature-Input/Signature parsing, policy (components, created window, nonce), key and state "
  "lookup in the store, Ed25519 verification, nonce replay check, role check, then the handler "
  "(a second store read) and the reply. Every request has its own nonce; all were signed "
  "before the timed run ({:,} pre-signed in {:.1f} s).".format(B["presigned"], B["presign_s"]))
P("- (c) parleyd GET `/healthz`: public and unsigned, the ceiling of the HTTP layer.")
P("- Steady rows: open loop at half of (b)'s slowest round; each request's latency is counted from "
  "its scheduled send time, so a stalled server cannot hide behind a waiting client.")
P("- Server CPU per request: user + system CPU of the server processes (nginx master and "
  "workers; parleyd) over the measured window, divided by the requests in it.")
P("- Ed25519 verify µs per op over (b)'s CPU per request: the share of parleyd's work that "
  "one signature verification would be.")
P("")
P("All runs (cores: CPU seconds over the window's seconds; \"other\" is what other processes "
  "on the machine used meanwhile, a large value marks a disturbed run; \"irq\" is interrupt "
  "time, mostly the loopback TCP of the run itself):\n")
P("| run | req/s | p50 | p99 | max | server CPU/req | server cores | client cores | other cores "
  "| irq cores | non-2xx | errors + timeouts |")
P("|---|---|---|---|---|---|---|---|---|---|---|---|")
names = sorted(os.path.basename(p)[:-5] for p in glob.glob(os.path.join(RES, "[abcs]_*.json")))
for name in names:
    d = load(name)
    w = d.get("cpu_window_s") or 1
    P("| {} | {} | {} | {} | {} | {:.0f} µs | {:.2f} | {:.2f} | {:.2f} | {:.2f} | {} | {} |".format(
        name, n(d["rps"]), ms(d["latency_ms"]["p50"]), ms(d["latency_ms"]["p99"]),
        ms(d["latency_ms"]["max"]), cpu(d), d.get("server_cpu_s", 0) / w,
        d.get("client_cpu_s", 0) / w, d.get("other_cpu_s", 0) / w, d.get("irq_s", 0) / w,
        d["non2xx"],
        d["errors"] + d["timeouts"] + d.get("unsent", 0)))
P("")
P("Warnings and errors: parleyd's log has {} lines at level warn or error; nginx's error log "
  "has {} at error or worse.\n".format(E["HUB_ERRORS"], E["NGINX_ERRORS"]))
prof = E.get("PROF_TXT")
if prof and os.path.exists(prof):
    P("## Profile of parleyd under (b)\n")
    P("`perf record --call-graph dwarf -F 299 -p PID`, 5 s while the load generator ran (b). "
      "Percentages are of all samples in parleyd's threads; Debian's libsodium is stripped, so its "
      "time shows by library only.\n")
    P("```")
    P(open(prof).read().strip())
    P("```\n")
P("Raw results, one JSON line per run, are left in `BUILD/bench/results/`.")
print("\n".join(L))
