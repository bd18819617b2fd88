#!/usr/bin/env python3
"""Writes tests/README.md: which tests reach each source file and each HTTP handler.

    python3 tests/coverage_map.py BUILD_DIR > tests/README.md

The file list is `git ls-files src web`, so a new file shows up (as untested until a test
reaches it). What counts as reaching, by kind of test:
  unit, fuzz  the C test calls a global symbol the file defines (nm of its object in
              BUILD_DIR), or links the file itself (tests/daemon/test_<module>.c);
  integration, hostile
              for a handler: the script names the route's path, or runs a `parley` command
              whose code names it; for a CLI file: the script runs a command it defines;
              for the rest of the daemon: see RUNTIME below (every script starts parleyd).
It is a map for finding tests, not a coverage measurement: a file listed is called by the
test, not proven to be exercised line by line.
"""
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build")

# Daemon files every integration and hostile run goes through (parleyd serving requests);
# the value says why, and the tests that aim at the file in particular are found below.
RUNTIME = {
    "main.c": "starts every hub",
    "http.c": "serves every request",
    "routes.c": "routes every request",
    "auth.c": "checks every signed request",
    "config.c": "reads every hub's flags",
    "writer.c": "commits every write",
    "metrics.c": "counts every request",
    "lifecycle.c": "runs every hub's start and stop",
}
# Files reached only through another file's API: file -> (through, why).
THROUGH = {
    "src/lib/store/sqlite.c": (["test_store"], ["all"], "through store.c: sqlite: URLs (every hub by default)"),
    "src/lib/store/postgres.c": (["test_store_pg"], ["test_directory", "test_messages", "test_stream", "test_lifecycle", "test_abuse"], "through store.c: postgres: URLs (integration-pg/*)"),
    "src/lib/store/faults.c": ([], ["test_faults"], "through store.c: faults: URLs wrap an engine"),
    "src/lib/store/tlog_append.c": ([], ["all"], "parleyd appends through it (transparency_log.c)"),
}
# Integration scripts that aim at a daemon file in particular (by what they test).
AIMED = {
    "budget.c": ["test_abuse"],
    "nonce_cache.c": ["test_abuse", "test_malformed"],
    "notify.c": ["test_webhooks", "test_messages"],
    "webhook_url.c": ["test_webhooks"],
    "scheduler.c": ["test_messages", "test_pings"],
    "poc_cache.c": ["test_messages", "test_webhooks"],
    "directory_log.c": ["test_key_transparency", "test_witness_directory"],
    "transparency_log.c": ["test_tlog", "test_key_transparency"],
    "message_json.c": ["test_messages"],
    "h_stream.c": ["test_stream"],
    "lifecycle.c": ["test_lifecycle", "test_crash_load"],
    "writer.c": ["test_crash_load", "test_faults"],
}


def git_files(*paths):
    out = subprocess.run(["git", "ls-files", *paths], cwd=ROOT, capture_output=True, text=True)
    return [f for f in out.stdout.split() if f]


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8", errors="replace") as f:
        return f.read()


def symbols(src):
    """Global symbols src defines, from its object file in BUILD (C sources only)."""
    if not src.startswith("src/") or not src.endswith(".c"):
        return set()
    target = {"lib": "parley", "daemon": "parleyd", "cli": "parley-cli"}[src.split("/")[1]]
    obj = os.path.join(BUILD, "CMakeFiles", target + ".dir", src + ".o")
    if not os.path.exists(obj):
        return set()
    out = subprocess.run(["nm", "--defined-only", "-g", obj], capture_output=True, text=True)
    syms = {ln.split()[-1] for ln in out.stdout.splitlines() if ln.strip()}
    return {s for s in syms if s not in ("main", "parleyd")}


def c_tests():
    """name -> (kind, text) for every C test, headers of a suite joined to their test."""
    tests = {}
    for f in git_files("tests/lib", "tests/daemon", "tests/fuzz"):
        if not f.endswith(".c") or f.endswith("replay_main.c"):
            continue
        text = read(f)
        d = os.path.dirname(f)
        for h in git_files(d):
            if h.endswith(".h"):
                text += read(h)
        kind = "fuzz" if f.startswith("tests/fuzz") else "unit"
        tests[f] = (kind, text)
    return tests


def script_tests():
    """name -> (kind, text) for integration scripts (with their helpers) and hostile cases."""
    tests = {}
    for f in git_files("tests/integration"):
        if re.search(r"/test_\w+\.sh$", f):
            text = read(f)
            # the scripts' Python helpers they run (malformed.py tries every route of routes.c)
            for py in re.findall(r"\$HERE/(\w+\.py)", text):
                if py == "malformed.py":
                    text += "\n" + " ".join("%s %s" % (m, pat) for m, pat in re.findall(
                        r'\{"(GET|POST|PUT|DELETE)", "([^"]+)"', read("src/daemon/routes.c")))
            tests[f] = ("integration", text)
    hostile = ""
    for f in git_files("tests/hostile"):
        if f.endswith(".json"):
            for case in json.loads(read(f)).get("cases", []):
                for step in case.get("steps", []):
                    if step.get("run"):
                        hostile += "\nas x " + " ".join(step["run"])
                for mv in case.get("move", {}).get("proxy", []):
                    hostile += "\n" + mv.get("path", "")
        elif f.endswith((".py", ".sh")):
            hostile += read(f)
    tests["tests/hostile/run.sh"] = ("hostile", hostile)
    return tests


def cli_commands():
    """command words -> (cli file, function) from the table in src/cli/main.c."""
    cmds = {}
    for words, fn in re.findall(r'\{"([a-z -]+)", (cmd_\w+)', read("src/cli/main.c")):
        for f in git_files("src/cli"):
            if f.endswith(".c") and re.search(r"\n\w[^\n]*\b" + fn + r"\(", read(f)):
                cmds[words] = (f, fn)
    return cmds


def function_body(text, fn):
    m = re.search(r"\n\w[^\n;]*\b" + fn + r"\([^;{]*\{", text)
    if not m:
        return ""
    end = text.find("\n}", m.end())
    return text[m.start(): end if end > 0 else len(text)]


def runs_command(script, words):
    pat = r"(?:\bas\s+\S+|--config\s+\S+|\bas\s+x)(?:\s+--json)?\s+" + re.escape(words) + r"(?![\w-])"
    return re.search(pat, script) is not None


def path_regex(pattern):
    if pattern == "/":
        return r"\bGET\s+/(?=[\s\"']|$)"
    rx = re.escape(pattern).replace(r"\{\}", r"[^/\"'\s?]+").replace(r"\*", r"\S+")
    return rx + r"(?![\w/-])"


def main():
    sources = [f for f in git_files("src", "web/src") if f.endswith(".c") or f.startswith("web/")]
    # The web app's tests: node unit tests (web/test) import its modules by path; the
    # browser test (tests/web) loads the whole bundle.
    web_tests = {f: open(os.path.join(ROOT, f)).read()
                 for f in git_files("web/test", "tests/web") if f.endswith((".ts", ".mjs", ".sh"))}
    ctests = c_tests()
    stests = script_tests()
    cmds = cli_commands()
    routes = re.findall(r'\{"(GET|POST|PUT|DELETE)", "([^"]+)", (h_\w+),', read("src/daemon/routes.c"))
    handler_file = {}
    for f in sources:
        if f.startswith("src/daemon/"):
            for h in re.findall(r"\nvoid (h_\w+)\(parleyd_req \*r\) \{", read(f)):
                handler_file[h] = f
    cli_text = {f: read(f) for f in sources if f.startswith("src/cli/")}

    def scripts_for_route(method, pattern):
        rx = path_regex(pattern)
        hit = set()
        via = set()
        for words, (f, fn) in cmds.items():
            body = function_body(cli_text[f], fn)
            # a CLI path is built with %s where the route has {}
            crx = re.escape(pattern).replace(r"\{\}", r"%s").replace(r"\*", r"\S*") + r"(?![\w/-])"
            if pattern != "/" and (re.search(crx, body) or re.search(rx, body)):
                via.add(words)
        for t, (kind, text) in stests.items():
            if re.search(rx, text) or any(runs_command(text, w) for w in via):
                hit.add(t)
        return hit, via

    def name(t):
        return os.path.splitext(os.path.basename(t))[0]

    rows = []
    for f in sources:
        unit, fuzz, integ, hostile, note = set(), set(), set(), set(), ""
        syms = symbols(f)
        base = os.path.basename(f)
        for t, (kind, text) in ctests.items():
            linked = f.startswith("src/daemon/") and name(t) == "test_" + os.path.splitext(base)[0]
            if t.endswith("tests/daemon/test_routes.c") and f.startswith("src/daemon/") and base == "routes.c":
                linked = True
            used = any(re.search(r"\b" + re.escape(s) + r"\b", text) for s in syms)
            if linked or used:
                (fuzz if kind == "fuzz" else unit).add(name(t))
        if f in THROUGH:
            u, i, note = THROUGH[f]
            unit.update(u)
            integ.update(i)
        if f.startswith("src/cli/"):
            for words, (cf, fn) in cmds.items():
                if cf != f:
                    continue
                for t, (kind, text) in stests.items():
                    if runs_command(text, words):
                        (hostile if kind == "hostile" else integ).add(name(t) if kind != "hostile" else "hostile")
            if base in ("main.c", "http.c", "util.c"):
                integ.add("all"), hostile.add("hostile")
                note = "every `parley` run"
            if base == "msg_verify.c":
                for t, (kind, text) in stests.items():
                    if any(runs_command(text, w) for w in ("read", "inbox", "case", "ack", "reply")):
                        (hostile if kind == "hostile" else integ).add(name(t) if kind != "hostile" else "hostile")
        if f.startswith("src/daemon/"):
            hs = [h for h, hf in handler_file.items() if hf == f]
            for method, pattern, h in routes:
                if h in hs:
                    hit, _ = scripts_for_route(method, pattern)
                    for t in hit:
                        if stests[t][0] == "hostile":
                            hostile.add("hostile")
                        else:
                            integ.add(name(t))
            if base in RUNTIME:
                integ.add("all")
                hostile.add("hostile")
                note = RUNTIME[base]
            for t in AIMED.get(base, []):
                integ.add(t)
        if f.startswith("web/src/"):
            stem = os.path.splitext(base)[0]
            for t, text in web_tests.items():
                if t.startswith("web/test/") and re.search(r"['\"/]" + re.escape(stem) + r"(\.ts)?['\"]", text):
                    unit.add("web/unit:" + name(t))
            integ.add("web/browser")
        rows.append((f, unit, fuzz, integ, hostile, note))

    def cell(s):
        if not s:
            return "—"
        s = sorted(s)
        if "all" in s:
            rest = [x for x in s if x != "all"]
            return "all" + (" (aimed: " + ", ".join(rest) + ")" if rest else "")
        return ", ".join(s)

    out = []
    w = out.append
    w("# Where each part of Parley is tested")
    w("")
    w("Generated by `python3 tests/coverage_map.py build > tests/README.md` from `git ls-files src`;")
    w("rerun it after adding a file or a test. How a test is said to reach a file is in the")
    w("script's docstring: a C test calls a symbol the file defines or links it; a script names")
    w("a route's path or runs a `parley` command defined in (or naming the path in) the file.")
    w("It is a map for finding tests, not a line-coverage measurement.")
    w("")
    w("## The kinds of test")
    w("")
    w("| kind | where | runs as (ctest) | what |")
    w("|---|---|---|---|")
    w("| unit | `tests/lib/<module>/test_*.c` | `unit/<test>` | cmocka, in-process, one per library module; the store suite (`tests/lib/store/store_suite.h` and its `suite_*.h` sections) runs against SQLite (`test_store`) and a PostgreSQL server it starts (`test_store_pg`) |")
    w("| unit (daemon) | `tests/daemon/test_<module>.c` | `unit/daemon/<test>` | cmocka, in-process, built with `src/daemon/<module>.c` (test_routes with the daemon but main.c) |")
    w("| integration | `tests/integration/test_*.sh` | `integration/<test>`, `integration-pg/<test>` | the real `parleyd` driven by the real `parley` and curl, on SQLite files (and PostgreSQL for some) |")
    w("| hostile | `tests/hostile/` | `hostile/sqlite`, `hostile/postgresql` | a lying hub (proxy in front of parleyd) against the real `parley`: it must refuse or show only what verifies |")
    w("| fuzz | `tests/fuzz/fuzz_*.c` | `fuzz-replay/<name>` | libFuzzer targets; `make check` replays their corpus |")
    w("")
    w("In the tables, `all` means every integration script (each starts parleyd and goes")
    w("through the file); `aimed` names the scripts written for that file in particular.")
    w("Every library file also runs under the integration tests inside parleyd and parley;")
    w("its columns name only the tests that call it directly. `test_malformed` sends malformed")
    w("requests to every route it reads from routes.c, so it reaches every handler.")
    w("")
    untested = []
    for group, title in (("src/lib/", "Library (libparley)"), ("src/daemon/", "Daemon (parleyd)"),
                         ("src/cli/", "CLI (parley)"), ("web/", "Web app")):
        gr = [r for r in rows if r[0].startswith(group)]
        if not gr:
            continue
        w("## " + title)
        w("")
        w("| file | unit | fuzz | integration | hostile | note |")
        w("|---|---|---|---|---|---|")
        for f, unit, fuzz, integ, hostile, note in gr:
            if not (unit or fuzz or integ or hostile):
                untested.append(f)
                note = "**NO TEST reaches this file**" + ("; " + note if note else "")
            w("| `%s` | %s | %s | %s | %s | %s |" % (f, cell(unit), cell(fuzz), cell(integ), cell(hostile), note))
        w("")
    w("## HTTP handlers")
    w("")
    w("Every route of `src/daemon/routes.c` is matched by `unit/daemon/test_routes`. The")
    w("integration column lists the scripts that name the route's path or run a `parley`")
    w("command that does (the `via` column).")
    w("")
    w("| route | handler | file | integration | hostile | via `parley` |")
    w("|---|---|---|---|---|---|")
    for method, pattern, h in routes:
        hit, via = scripts_for_route(method, pattern)
        integ = {name(t) for t in hit if stests[t][0] == "integration"}
        host = {"hostile" for t in hit if stests[t][0] == "hostile"}
        f = handler_file.get(h, "?")
        if not integ and not host:
            untested.append("%s %s" % (method, pattern))
        w("| `%s %s` | `%s` | `%s` | %s | %s | %s |" % (method, pattern, h, os.path.basename(f),
                                                     cell(integ) if integ else "**none**", cell(host),
                                                     ", ".join("`%s`" % v for v in sorted(via)) or "—"))
    w("")
    w("## Not reached by any test")
    w("")
    if untested:
        for u in untested:
            w("- `%s`" % u)
    else:
        w("Every file and every handler above is reached by at least one test.")
    w("")
    print("\n".join(out))


if __name__ == "__main__":
    main()
