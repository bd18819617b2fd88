#!/usr/bin/env python3
"""Runs the hostile-hub cases (tests/hostile/cases/*.json, every file) against a
scenario that run.sh has set up. See README.md for the format.

  runner.py WORK VARS.json [CASE-NAME-REGEX]

For each case: the operator's move (proxy rules written to WORK/proxy-rules.json, and/or
SQL run on the hub's store), the parley commands, the checks, then the move undone.
Prints one "ok - " or "not ok - " line per case; exits 1 if any case failed."""
import glob
import json
import os
import re
import subprocess
import sys
import time

WORK, VARS_FILE = sys.argv[1], sys.argv[2]
ONLY = re.compile(sys.argv[3]) if len(sys.argv) > 3 else None
HERE = os.path.dirname(os.path.abspath(__file__))
PARLEY = os.environ["PARLEY"]
RULES = os.path.join(WORK, "proxy-rules.json")
STORE = os.environ.get("PARLEY_TEST_STORE", "sqlite")

with open(VARS_FILE) as f:
    VARS = json.load(f)


def subst(v):
    """${NAME} in strings from the scenario's variables ({"$var": NAME}: the whole value,
    parsed as JSON); ${NOW} is the current Unix time."""
    if isinstance(v, dict):
        if set(v) == {"$var"}:
            return json.loads(VARS[v["$var"]])
        return {subst(k): subst(x) for k, x in v.items()}
    if isinstance(v, list):
        return [subst(x) for x in v]
    if isinstance(v, str):
        def one(m):
            name = m.group(1)
            if name == "NOW":
                return str(int(time.time()))
            return VARS[name]
        return re.sub(r"\$\{([A-Z0-9_]+)\}", one, v)
    return v


def missing_vars(case):
    """The scenario's names a case uses that this scenario does not define (a client's
    scenario without evidence packages, say): such a case is skipped, and said so."""
    text = json.dumps(case)
    names = set(re.findall(r"\$\{([A-Z0-9_]+)\}", text)) | set(
        re.findall(r'"\$var": "([A-Z0-9_]+)"', text))
    return sorted(n for n in names if n != "NOW" and n not in VARS)


def sql(statements):
    for s in statements:
        if STORE == "postgresql":
            cmd = ["psql", "-q", "-v", "ON_ERROR_STOP=1", VARS["PG_URL"], "-c", s]
        else:
            cmd = ["sqlite3", os.path.join(WORK, "hub", "hub.db"), ".timeout 5000", s]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("SQL failed: %s: %s" % (s, r.stderr.strip()))


def run(step):
    args = [PARLEY, "--config", os.path.join(WORK, step["as"] + ".conf")] + step["run"]
    try:
        r = subprocess.run(args, capture_output=True, timeout=120)
    except subprocess.TimeoutExpired:
        return None, b""
    return r.returncode, r.stdout + r.stderr


def check(step, rc, out):
    """A list of what went wrong (empty: the step passed)."""
    bad = []
    text = out.decode("utf-8", "replace")
    if rc is None:
        return ["timed out"]
    if rc < 0:
        bad.append("parley died of signal %d" % -rc)
    want = step.get("exit", 0)
    if want == "nonzero":
        if rc == 0:
            bad.append("exit status 0, want a refusal (non-zero)")
    elif rc != want:
        bad.append("exit status %d, want %d" % (rc, want))
    for s in step.get("must", []):
        if s not in text:
            bad.append("missing %r" % s)
    for s in step.get("must_not", []):
        if s in text:
            bad.append("must not show %r" % s)
    for s in step.get("must_match", []):
        if not re.search(s, text, re.M):
            bad.append("no line matches %r" % s)
    for s in step.get("must_not_match", []):
        if re.search(s, text, re.M):
            bad.append("a line matches %r" % s)
    for path in step.get("absent", []):
        if os.path.lexists(path):
            bad.append("%s exists, want nothing written there" % path)
    if step.get("no_control_chars"):
        ctl = [c for c in text if (ord(c) < 32 and c not in "\n") or 0x7F <= ord(c) <= 0x9F]
        if ctl:
            bad.append("raw control characters reached the terminal: %r" % sorted(set(ctl)))
    return bad


def set_rules(r):
    tmp = RULES + ".tmp"
    with open(tmp, "w") as f:
        json.dump(r, f)
    os.replace(tmp, RULES)


def proxy_log_size():
    try:
        return os.path.getsize(os.path.join(WORK, "proxy.log"))
    except OSError:
        return 0


def proxy_moves_made(rules, since):
    """Every proxy rule of the case must have rewritten at least one answer, and none
    may have failed to fit: else the case tested nothing."""
    try:
        with open(os.path.join(WORK, "proxy.log")) as f:
            f.seek(since)
            log = f.read()
    except OSError:
        log = ""
    bad = []
    for i in range(len(rules)):
        if "rule %d applied" % i not in log:
            bad.append("the operator's move (proxy rule %d) never applied" % i)
        if "rule %d on" % i in log:
            bad.append("proxy rule %d did not fit an answer: %s" % (i, log.strip()[-300:]))
    return bad


def run_case(case):
    for p in case.get("prepare", []):
        run(p)
    move = case.get("move", {})
    log_at = proxy_log_size()
    set_rules(move.get("proxy", []))
    problems = []
    try:
        if move.get("sql"):
            sql(move["sql"])
        for i, step in enumerate(case["steps"]):
            rc, out = run(step)
            bad = check(step, rc, out)
            for b in bad:
                problems.append("step %d (%s %s): %s" % (i + 1, step["as"], " ".join(step["run"]), b))
            if bad:
                detail = out.decode("utf-8", "replace").encode("unicode_escape").decode()
                problems.append("    output: " + detail[:1500])
        problems += proxy_moves_made(move.get("proxy", []), log_at)
    finally:
        set_rules([])
        if move.get("sql_restore"):
            sql(move["sql_restore"])
    return problems


def main():
    failed = 0
    total = 0
    for path in sorted(glob.glob(os.path.join(HERE, "cases", "*.json"))):
        with open(path) as f:
            doc = json.load(f)
        for case in doc["cases"]:
            if ONLY and not ONLY.search(case["name"]):
                continue
            if STORE not in case.get("stores", ["sqlite", "postgresql"]):
                continue
            label = "%s: %s" % (os.path.basename(path), case["name"])
            absent = missing_vars(case)
            if absent:
                print("skip - %s (the scenario defines no %s)" % (label, ", ".join(absent)))
                continue
            total += 1
            case = subst(case)
            try:
                problems = run_case(case)
            except Exception as e:
                problems = ["could not run: %r" % e]
            if problems:
                failed += 1
                print("not ok - " + label)
                for p in problems:
                    print("    " + p)
            else:
                print("ok - " + label)
            sys.stdout.flush()
    print("%d cases, %d passed, %d failed" % (total, total - failed, failed))
    return 1 if failed else 0


sys.exit(main())
