#!/usr/bin/env python3
"""Writes BENCHMARKS.md (to stdout) from the JSON results of bench/run.sh.

Inputs come from the environment run.sh exports: RES (the results folder), BEST_A /
BEST_B (the best rounds of (a) and (b)), PARTS (the parts that ran), and the facts about
the machine and the run. A part that did not run leaves its section out."""
import glob
import json
import os

E = os.environ
RES = E["RES"]
PARTS = E.get("PARTS", "record messages tiles tlog").split()
NPROC = int(E.get("NPROC", "1"))


def path(name):
    return os.path.join(RES, name + ".json")


def have(name):
    return os.path.exists(path(name))


def load(name):
    with open(path(name)) as f:
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


def cores(d):
    return d.get("server_cpu_s", 0) / (d.get("cpu_window_s") or 1)


def disturbed(d):
    return d.get("other_cpu_s", 0) / (d.get("cpu_window_s") or 1) >= 0.2


def table(rows):
    P("| figure | value | reference | ratio |")
    P("|---|---|---|---|")
    for r in rows:
        P("| " + " | ".join(r) + " |")
    P("")


# The Ed25519 and fsync rates are measured before the message runs and again before the
# store-API appends; the faster of the two is the machine's limit.
ED = (max(rounds("ed25519"), key=lambda d: d["ed25519_verify_per_s"])
      if rounds("ed25519") else None)
FS = max(rounds("fsync"), key=lambda d: d["fsync_per_s"]) if rounds("fsync") else None
FS112 = load("fsync_112k") if have("fsync_112k") else None
L = []
P = L.append

# ---- header --------------------------------------------------------------------------
P("# Benchmarks\n")
P("Measured by `make bench` (`./bench/run.sh BUILD_DIR`; the build is RelWithDebInfo, -O2). "
  "parleyd and its references run in the same invocation on the same machine, driven by the "
  "same load generator (`bench/loadgen.c`: one epoll thread, HTTP/1.1 keep-alive) with the "
  "same {} connections for {} s each after a {} s warm-up. Each max-rate run, store-API "
  "benchmark and limit of the machine is measured {} times (the runs against nginx interleaved "
  "with parleyd's) and the tables give the best round of each, as other work on a shared "
  "machine can only slow a run down; the steady-rate runs are measured once. Everything runs on "
  "127.0.0.1, and the load generator shares the CPUs with the server under test.\n".format(
      E["CONNS"], E["DURATION"], E["WARMUP"], E["ROUNDS"]))
P("- Command: `{}`, run on {}".format(E["BENCH_CMD"], E["RUN_DATE"]))
P("- Machine: {} CPUs ({}), {} RAM, Linux {}".format(E["NPROC"], E["CPU_MODEL"], E["MEM"],
                                                   E["KERNEL"]))
P("- Software: nginx {} (worker_processes auto, access_log off, sendfile on), libmicrohttpd {}, "
  "SQLite {}, libsodium {}; parleyd with its default settings (threads = CPUs, SQLite store "
  "in WAL mode with synchronous=FULL, checkpoints every 5 s at most)"
  .format(E["NGINX_VERSION"], E["MHD_VERSION"], E["SQLITE_VERSION"],
          ED["libsodium"] if ED else "?"))
P("- Parts run: {}".format(", ".join(PARTS)))
P("")

summary = []  # one line per target, for the list at the top

# ---- limits of the machine ---------------------------------------------------------------
limit_rows = []
if ED:
    limit_rows += [
        ("Ed25519 verify, one core, ops/s, best of {} ({})".format(
            len(rounds("ed25519")), ", ".join(n(r["ed25519_verify_per_s"])
                                             for r in rounds("ed25519"))),
         n(ED["ed25519_verify_per_s"]), "–", "–"),
        ("Ed25519 sign, one core, ops/s", n(ED["ed25519_sign_per_s"]), "–", "–"),
    ]
if FS:
    limit_rows.append(("fsync rate: 512 B pwrite + fdatasync in the data dir, ops/s, best of {} "
                       "({})".format(len(rounds("fsync")), ", ".join(
                           n(r["fsync_per_s"]) for r in rounds("fsync"))),
                       n(FS["fsync_per_s"]),
                       "p50 {:.0f} µs, p99 {:.0f} µs".format(FS["p50_us"], FS["p99_us"]), "–"))
if FS112:
    limit_rows.append(("fsync rate: 112 KiB pwrite + fdatasync (about what the hub writes per "
                       "message, WAL and checkpoint copy-back), ops/s", n(FS112["fsync_per_s"]),
                       "p50 {:.0f} µs, p99 {:.0f} µs".format(FS112["p50_us"], FS112["p99_us"]),
                       "–"))

# ---- issue 3: the record -------------------------------------------------------------------
sections = []
if "record" in PARTS and E.get("BEST_A") and E.get("BEST_B"):
    A, B, C = best("a_nginx_record"), best("b_parleyd_record_signed"), best("c_parleyd_healthz")
    SA, SB = load("s_nginx_record_steady"), load("s_parleyd_record_steady")
    pairs = list(zip(rounds("a_nginx_record"), rounds("b_parleyd_record_signed")))
    paired = ["{:.2f}{}".format(b["rps"] / a["rps"], "*" if disturbed(a) or disturbed(b) else "")
              for a, b in pairs if a["rps"]]
    target = B["rps"] / A["rps"] if A["rps"] else 0
    summary.append("Signed GET of a state record (b)/(a) ≥ 0.5: **{} — {:.2f}** (per round: "
                   "{}{}).".format("met" if target >= 0.5 else "NOT met", target,
                                   ", ".join(paired),
                                   "; * = a run of that round was disturbed by other processes "
                                   "using ≥ 0.2 cores" if any(x.endswith("*") for x in paired)
                                   else ""))
    rows = [
        ("(b) parleyd, signed GET of the record, req/s", n(B["rps"]),
         "(a) nginx, same bytes: " + n(A["rps"]), ratio(B["rps"], A["rps"])),
        ("(b) server CPU per request (ratio: (a)'s over (b)'s, the req/s ratio of two "
         "CPU-bound servers on the same cores)", "{:.0f} µs".format(cpu(B)),
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
    ]
    if ED:
        rows.append(("Ed25519 verify, one core, µs per op",
                     "{:.0f} µs".format(1e6 / ED["ed25519_verify_per_s"]),
                     "(b) server CPU per request: {:.0f} µs".format(cpu(B)),
                     ratio(1e6 / ED["ed25519_verify_per_s"], cpu(B)) if cpu(B) else "–"))
    rows += [
        ("parleyd memory idle, VmRSS / VmHWM",
         "{} / {} KiB".format(E["RSS_IDLE"], E["HWM_IDLE"]), "–", "–"),
        ("parleyd memory after the record runs, VmRSS / VmHWM",
         "{} / {} KiB".format(E["RSS_LOAD"], E["HWM_LOAD"]),
         "idle VmHWM {} KiB".format(E["HWM_IDLE"]),
         ratio(int(E["HWM_LOAD"]), int(E["HWM_IDLE"]))),
    ]
    if E.get("WRK_RPS"):
        w = int(E["WRK_RPS"])
        rows.append(("load generator check: wrk -t1 -c{} on nginx, 5 s, req/s".format(E["CONNS"]),
                     n(w), "(a) loadgen: " + n(A["rps"]), ratio(A["rps"], w)))
    notes = [
        "- Payload: EST's state record with 7 POCs, {} bytes, fetched once from the hub and "
        "written to nginx's root at the same path; answers seen by the load generator: {} B "
        "from nginx, {} B from parleyd.".format(E["RECORD_BYTES"], A["body_bytes_avg"],
                                                 B["body_bytes_avg"]),
        "- (a) nginx GET of the record file. The requests carry the same RFC 9421 headers as (b), "
        "signed for the hub's URL (nginx ignores them), so both servers read requests of the "
        "same size.",
        "- (b) parleyd signed GET `/v1/states/EST/record` by one of EST's duty officers: "
        "Signature-Input/Signature parsing, policy (components, created window, nonce), key and "
        "state lookup in the store, Ed25519 verification, nonce replay check, role check, then "
        "the handler (a second store read) and the reply. Every request has its own nonce; all "
        "were signed before the timed run ({:,} pre-signed in {:.1f} s).".format(
            B["presigned"], B["presign_s"]),
        "- (c) parleyd GET `/healthz`: public and unsigned, the ceiling of the HTTP layer.",
        "- Steady rows: open loop at half of (b)'s slowest round; each request's latency is "
        "counted from its scheduled send time, so a stalled server cannot hide behind a waiting "
        "client.",
        "- Server CPU per request: user + system CPU of the server processes (nginx master and "
        "workers; parleyd) over the measured window, divided by the requests in it.",
        "- Ed25519 verify µs per op over (b)'s CPU per request: the share of parleyd's work that "
        "one signature verification would be.",
    ]
    sections.append(("Directory: signed GET of a state record (issue 3)", rows, notes,
                     "profile_record", "(b)"))

# ---- issue 4: messages ------------------------------------------------------------------------
if "messages" in PARTS and rounds("m_parleyd_messages"):
    M, MS = best("m_parleyd_messages"), load("s_parleyd_messages_steady")
    SEAL = load("seal_max_r1")
    rows = []
    limit = ED["ed25519_verify_per_s"] / 2 * NPROC if ED else 0
    met = limit and M["rps"] >= 0.5 * limit
    p99_ok = MS["latency_ms"]["p99"] < 20 and MS["non2xx"] == 0 and \
        MS["errors"] + MS["timeouts"] + MS.get("unsent", 0) == 0
    summary.append("Messages, max rate ≥ half the crypto-bound limit: **{} — {} msgs/s = {:.2f} "
                   "of {} msgs/s** (Ed25519 verify rate / 2 × {} cores; best of {} rounds: {})."
                   .format("met" if met else "NOT met", n(M["rps"]),
                           M["rps"] / limit if limit else 0, n(limit), NPROC,
                           len(rounds("m_parleyd_messages")),
                           ", ".join(n(r["rps"]) + ("*" if disturbed(r) else "")
                                     for r in rounds("m_parleyd_messages")))
                   + (" * = disturbed: other processes used ≥ 0.2 cores during that run."
                      if any(disturbed(r) for r in rounds("m_parleyd_messages")) else ""))
    summary.append("Messages, p99 < 20 ms at a steady {} msgs/s: **{} — p99 {}**.".format(
        n(MS["rate_target"]), "met" if p99_ok else "NOT met", ms(MS["latency_ms"]["p99"])))
    rows.append(("parleyd, POST /v1/messages, durable submissions/s ({:.0f} B envelope, {} "
                 "recipients, {} connections)".format(SEAL["envelope_bytes_avg"],
                                                      SEAL["recipients"], E["CONNS"]),
                 n(M["rps"]),
                 "crypto-bound limit, Ed25519 verify / 2 × {} cores: {}".format(NPROC, n(limit)),
                 ratio(M["rps"], limit)))
    if FS:
        rows.append(("same, against the fsync rate (512 B writes)", n(M["rps"]),
                     "fsync rate: " + n(FS["fsync_per_s"]), ratio(M["rps"], FS["fsync_per_s"])))
    if FS112:
        rows.append(("same, against the fsync rate of 112 KiB writes", n(M["rps"]),
                     "fsync rate: " + n(FS112["fsync_per_s"]),
                     ratio(M["rps"], FS112["fsync_per_s"])))
    if M.get("writer_commits"):
        rows.append(("group commit: submissions per shared commit at max rate (parleyd's "
                     "/metrics, warm-up and drain included)",
                     "{:.1f}".format(M["writer_writes"] / M["writer_commits"]),
                     "{} writes in {} commits".format(n(M["writer_writes"]),
                                                      n(M["writer_commits"])), "–"))
    if MS.get("writer_commits"):
        rows.append(("group commit: submissions per shared commit, steady",
                     "{:.1f}".format(MS["writer_writes"] / MS["writer_commits"]),
                     "{} writes in {} commits".format(n(MS["writer_writes"]),
                                                      n(MS["writer_commits"])), "–"))
    rows.append(("latency p50 / p99 at max rate", lat(M), "–", "–"))
    rows.append(("latency p50 / p99 / max at a steady {} msgs/s".format(n(MS["rate_target"])),
                 lat(MS, ("p50", "p99", "max")), "target p99 < 20 ms",
                 ratio(MS["latency_ms"]["p99"], 20)))
    rows.append(("server CPU per message at max rate", "{:.0f} µs".format(cpu(M)),
                 "2 Ed25519 verifications: {:.0f} µs".format(2e6 / ED["ed25519_verify_per_s"])
                 if ED else "–",
                 ratio(2e6 / ED["ed25519_verify_per_s"], cpu(M)) if ED and cpu(M) else "–"))
    rows.append(("server cores busy at max rate", "{:.2f}".format(cores(M)),
                 "cores: {}".format(NPROC), ratio(cores(M), NPROC)))
    rows.append(("server CPU per message, steady", "{:.0f} µs".format(cpu(MS)), "–", "–"))
    accepted = M["requests"] - M["non2xx"]
    rows.append(("accepted (201) / refused in the max-rate window", "{} / {}".format(
        n(accepted), n(M["non2xx"])), "statuses: " + ", ".join(
        "{} × {}".format(n(v), k) for k, v in sorted(M["status"].items())), "–"))
    pm = load("profile_messages") if have("profile_messages") else None
    if pm and pm.get("log_after", 0) > pm.get("log_before", 0):
        k = pm["log_after"] - pm["log_before"]
        f = pm.get("fsync", 0) + pm.get("fdatasync", 0)
        rows.append(("fsync + fdatasync calls per message (perf stat over 5 s of the profile "
                     "run)", "{:.2f}".format(f / k),
                     "{} messages; system calls: {} fsync, {} fdatasync, {} pwrite64, {} futex, "
                     "{} clock_nanosleep, {} fcntl".format(
                         n(k), n(pm.get("fsync", 0)), n(pm.get("fdatasync", 0)),
                         n(pm.get("pwrite64", 0)), n(pm.get("futex", 0)),
                         n(pm.get("clock_nanosleep", 0)), n(pm.get("fcntl", 0))), "–"))
        rows.append(("pwrite64 calls and bytes written to disk per message (same window)",
                     "{:.1f} writes, {:.0f} KiB".format(pm.get("pwrite64", 0) / k,
                                                       pm.get("write_bytes", 0) / k / 1024),
                     "envelope: {:.1f} KiB".format(SEAL["envelope_bytes_avg"] / 1024),
                     ratio(pm.get("write_bytes", 0) / k, SEAL["envelope_bytes_avg"])))
    rows.append(("client side: envelopes sealed per second (msgprep, {} threads, not timed "
                 "against the server)".format(SEAL["threads"]), n(SEAL["seals_per_s"]), "–", "–"))
    notes = [
        "- Envelopes: `notification` from EST/est-poc-1 (a duty officer whose key signs the "
        "requests) to FIN's three POCs, whose encryption keys `bench/msgprep.c` takes from FIN's "
        "record as the hub serves it, after `parley_record_verify` with FIN's root key. The "
        "summary is padded so that the envelope (JCS, as POSTed) has the size asked for: {:.0f} B, "
        "of which the ciphertext is {} B for a {}-byte summary (the header with 3 wrapped keys, "
        "and the body's own copy of the metadata with its inner signature, take the rest). Every "
        "envelope has its own id and every request its own nonce; all were sealed and signed "
        "before the timed runs ({:,} envelopes for each max-rate run). After the runs FIN's "
        "first POC reads and decrypts one of them with the real `parley read`.".format(
            SEAL["envelope_bytes_avg"], SEAL.get("ciphertext_bytes", "?"),
            SEAL["summary_bytes"], SEAL["envelopes"]),
        "- What the hub does per message: RFC 9421 verification (Ed25519), the envelope's shape, "
        "its Ed25519 signature and ciphertext hash, JCS of the envelope (on the HTTP threads), "
        "then the write (nonce, the recipients' keys, leaf + Merkle nodes, message, 3 "
        "recipients, history event) on the writer thread: group commit, every submission "
        "waiting at that moment in one transaction, each in its own savepoint, committed "
        "durably once (WAL, synchronous=FULL) before each 201. The fsync row above shows "
        "the batching: fdatasync calls per message.",
        "- Crypto-bound limit: two Ed25519 verifications per message (request and envelope), so "
        "verify rate / 2 per core × {} cores = {} msgs/s, if nothing else cost anything.".format(
            NPROC, n(limit)),
        "- Steady row: open loop at {} msgs/s; latency counted from each request's scheduled "
        "send time.".format(n(MS["rate_target"])),
    ]
    sections.append(("Messages: durable submissions (issue 4)", rows, notes, "profile_messages",
                     "message submissions"))

# ---- issue 5: transparency log --------------------------------------------------------------
rows, notes = [], []
A1 = A100 = None
if "tlog" in PARTS and rounds("tlog_append_1"):
    A1 = max(rounds("tlog_append_1"), key=lambda d: d["appends_per_s"])
    A100 = max(rounds("tlog_append_100"), key=lambda d: d["appends_per_s"])
if "messages" in PARTS and rounds("m_parleyd_messages"):
    M = best("m_parleyd_messages")
    grew = M.get("log_after", 0) - M.get("log_before", 0)
    rows.append(("(a) appends through the hub: one leaf per accepted message (checkpoints every "
                 "5 s), leaves/s; the log grew by {} leaves in the run (warm-up and drain "
                 "included), the latest checkpoint has {}".format(
                     n(grew), n(int(E.get("HUB_CHECKPOINT_SIZE") or 0))), n(M["rps"]),
                 "store API, 1 append per transaction: " + n(A1["appends_per_s"]) if A1 else "–",
                 ratio(M["rps"], A1["appends_per_s"]) if A1 else "–"))
if A1:
    rows.append(("(a) store API: appends/s, 1 per transaction (a durable commit each), "
                 "checkpoint every 1 s, best of {} rounds ({})".format(
                     len(rounds("tlog_append_1")), ", ".join(
                         n(r["appends_per_s"]) for r in rounds("tlog_append_1"))),
                 n(A1["appends_per_s"]),
                 "fsync rate: " + n(FS["fsync_per_s"]) if FS else "–",
                 ratio(A1["appends_per_s"], FS["fsync_per_s"]) if FS else "–"))
    rows.append(("(a) store API: transaction latency p50 / p99, 1 per transaction",
                 "{:.2f} ms / {:.2f} ms".format(A1["tx_p50_ms"], A1["tx_p99_ms"]), "–", "–"))
    rows.append(("(a) store API: appends/s, 100 per transaction, checkpoint every 1 s, best of "
                 "{} rounds ({})".format(len(rounds("tlog_append_100")), ", ".join(
                     n(r["appends_per_s"]) for r in rounds("tlog_append_100"))),
                 n(A100["appends_per_s"]), "1 per transaction: " + n(A1["appends_per_s"]),
                 ratio(A100["appends_per_s"], A1["appends_per_s"])))
    rows.append(("(a) store API: checkpoint signing (root over the store + note + put), ms",
                 "{:.2f} ms".format(A100["checkpoint_ms_avg"]),
                 "{} checkpoints in 5 s".format(A100["checkpoints"]), "–"))
    sizes = sorted({int(os.path.basename(p).split("_")[2])
                    for p in glob.glob(os.path.join(RES, "tlog_prove_*_r*.json"))})
    for size in sizes:
        rs = rounds("tlog_prove_{}".format(size))
        cold, warm = rs[0], (min(rs[1:], key=lambda r: r["p99_ms"]) if len(rs) > 1 else None)
        b = load("tlog_build_{}".format(size)) if have("tlog_build_{}".format(size)) else {}
        label = "{:,} M".format(size / 1e6) if size % 1000000 == 0 else n(size)
        label = label.replace(".0 M", " M")

        def pr(r):
            return "{:.3f} / {:.3f} / {:.3f} ms".format(r["p50_ms"], r["p99_ms"], r["max_ms"])

        def disk(r):
            return "{:.1f} KiB read from disk per proof, other processes {:.2f} cores".format(
                r.get("disk_read_bytes", 0) / r["proofs"] / 1024, r.get("other_cores", 0))
        hashes = int(round(cold["proof_hashes_avg"]))
        if warm:
            rows.append(("(b) inclusion proof at {} leaves ({} hashes), p50 / p99 / max, warm: "
                         "the store file read once into the page cache{}".format(
                             label, hashes, ", best of {} rounds".format(len(rs) - 1)
                             if len(rs) > 2 else ""), pr(warm),
                         "target: well under 1 ms; " + disk(warm), ratio(warm["p99_ms"], 1.0)))
        rows.append(("(b) inclusion proof at {} leaves, p50 / p99 / max, as found: the store's "
                     "pages where the OS left them".format(label), pr(cold),
                     "target: well under 1 ms; " + disk(cold), ratio(cold["p99_ms"], 1.0)))
        if b:
            rows.append(("(b) the {} store: built {}, {} leaves/s (batches of {:,}), {:.0f} MB"
                         .format(label, "in this run" if b.get("built_in_this_run")
                                 else "on " + b.get("built_at", "?") + " and reused",
                                 n(b["appends_per_s"]), b["batch"], b.get("db_bytes", 0) / 1e6),
                         "{:.0f} s for {:,} appends".format(b["seconds"], b["appended"]), "–",
                         "–"))
        for what, r in (("warm", warm), ("as found", cold)):
            if r:
                summary.append("Inclusion proof at {} leaves, {}, p99 well under 1 ms: **{} — p99 "
                               "{:.3f} ms** ({:.1f} KiB read from disk per proof)".format(
                                   label, what, "met" if r["p99_ms"] < 1.0 else "NOT met",
                                   r["p99_ms"], r.get("disk_read_bytes", 0) / r["proofs"] / 1024))
    notes += [
        "- Store API rows: `bench/tlog_bench.c` on libparley's store (`sqlite:` in the same file "
        "system as the hub's data directory, the store's own settings), appending as "
        "`src/daemon/log.c` does: `parley_store_leaf_append`, `parley_tlog_append_nodes` over "
        "`parley_store_node_get`, `parley_store_node_put` of each interior node completed, all "
        "in one write transaction through `parley_store_run`; a checkpoint (root over the store, "
        "C2SP checkpoint, Ed25519 note, `parley_store_checkpoint_put`) in its own write "
        "transaction every second.",
        "- Inclusion proofs: random leaf indices, each proof `parley_tlog_inclusion_proof` in its "
        "own `parley_store_run` read transaction (timed as a whole), after a tenth as many "
        "unmeasured ones; every proof is verified against the tree's root (outside the timing). "
        "The first round takes the store as it is found (this VM's kernel reclaims idle page "
        "cache, so random leaves may come from the disk: \"read from disk\" says how much); then "
        "the store file is read once (`cat > /dev/null`) and the next rounds are warm.",
        "- The large stores are built once into `BUILD/bench/tlog/` by `tlog_bench build` "
        "(batched transactions through the same store API; the build alone raises SQLite's page "
        "cache to 2 GiB) and reused by later runs; the 10 M one starts as a copy of the 1 M "
        "one. `BENCH_TLOG_REBUILD=1` builds them again.",
    ]
if "tiles" in PARTS and rounds("t_parleyd_tile"):
    TN, TP = best("t_nginx_tile"), best("t_parleyd_tile")
    rows.append(("(c) parleyd GET /log/tile/0/000 (full tile, {} B), req/s".format(
        E.get("TILE_BYTES", "?")), n(TP["rps"]), "nginx, same bytes: " + n(TN["rps"]),
        ratio(TP["rps"], TN["rps"])))
    rows.append(("(c) server CPU per tile request", "{:.0f} µs".format(cpu(TP)),
                 "nginx: {:.0f} µs".format(cpu(TN)), ratio(cpu(TN), cpu(TP)) if cpu(TP) else "–"))
    rows.append(("(c) tile latency p50 / p99 at max rate", lat(TP), "nginx: " + lat(TN),
                 ratio(TP["latency_ms"]["p99"], TN["latency_ms"]["p99"])))
    notes.append("- Tiles: the full level-0 tile (256 leaf hashes) fetched once from parleyd once "
                 "its latest checkpoint covered 256 leaves or more, written into nginx's root at "
                 "the same path; both servers then get the same unsigned GETs, {} connections, "
                 "{} rounds interleaved, best round each (answers seen: {} B from nginx, {} B "
                 "from parleyd).".format(E["CONNS"], E["ROUNDS"], TN["body_bytes_avg"],
                                         TP["body_bytes_avg"]))
if rows:
    sections.append(("Transparency log (issue 5)", rows, notes, "profile_tiles",
                     "tile requests (GET /log/tile/0/000)"))

# ---- output ------------------------------------------------------------------------------
P("Targets:\n")
for s in summary:
    P("- " + s)
P("")
for title, rows, notes, prof, what in sections:
    P("## " + title + "\n")
    table(rows)
    for note in notes:
        P(note)
    P("")
if limit_rows or E.get("RSS_END"):
    P("## Limits of this machine and memory, measured in the same run\n")
    if E.get("RSS_END"):
        limit_rows.append(("parleyd memory at the end of all runs, VmRSS / VmHWM",
                           "{} / {} KiB".format(E["RSS_END"], E["HWM_END"]),
                           "idle VmHWM {} KiB".format(E["HWM_IDLE"]),
                           ratio(int(E["HWM_END"]), int(E["HWM_IDLE"]))))
    table(limit_rows)

P("All runs (cores: CPU seconds over the window's seconds; \"other\" is what other processes "
  "on the machine used meanwhile, a large value marks a disturbed run; \"irq\" is interrupt "
  "time, mostly the loopback TCP of the run itself):\n")
P("| run | req/s | p50 | p99 | max | server CPU/req | server cores | client cores | other cores "
  "| irq cores | non-2xx | errors + timeouts |")
P("|---|---|---|---|---|---|---|---|---|---|---|---|")
names = sorted(os.path.basename(p)[:-5] for p in glob.glob(os.path.join(RES, "[abcmst]_*.json"))
               if not os.path.basename(p).startswith(("tlog_", "seal_")))
for name in names:
    d = load(name)
    if "rps" not in d:
        continue
    w = d.get("cpu_window_s") or 1
    P("| {} | {} | {} | {} | {} | {:.0f} µs | {:.2f} | {:.2f} | {:.2f} | {:.2f} | {} | {} |".format(
        name, n(d["rps"]), ms(d["latency_ms"]["p50"]), ms(d["latency_ms"]["p99"]),
        ms(d["latency_ms"]["max"]), cpu(d), d.get("server_cpu_s", 0) / w,
        d.get("client_cpu_s", 0) / w, d.get("other_cpu_s", 0) / w, d.get("irq_s", 0) / w,
        d["non2xx"], d["errors"] + d["timeouts"] + d.get("unsent", 0)))
P("")
P("Warnings and errors: parleyd's log has {} lines at level warn or error; nginx's error log "
  "has {} at error or worse.\n".format(E["HUB_ERRORS"], E["NGINX_ERRORS"]))
for title, rows, notes, prof, what in sections:
    f = os.path.join(RES, (prof or "-") + ".txt")
    if prof and os.path.exists(f):
        P("## Profile of parleyd under {}\n".format(what))
        P("`perf record --call-graph dwarf -F 299 -p PID`, 5 s while the load generator ran {}. "
          "Percentages are of all samples in parleyd's threads; Debian's libsodium is stripped, "
          "so its time shows by library only. Time spent blocked (in fsync, or waiting for a "
          "lock) is not sampled: it shows as server cores below {}.\n".format(what, NPROC))
        P("```")
        P(open(f).read().strip())
        P("```\n")
P("Raw results, one JSON line per run, are left in `BUILD/bench/results/`.")
print("\n".join(L))
