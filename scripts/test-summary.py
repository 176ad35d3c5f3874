#!/usr/bin/env python3
"""Totals over one or more `meson test` runs, for scripts/test.sh.

usage: test-summary.py [--skip-is-failure] [--extra NAME=RESULT]...
                       LABEL=BUILDDIR/meson-logs/testlog.json...

Reads each testlog.json (one JSON object per line, field "result"), lists
the tests that did not pass, and ends with exactly one line:

    N passed, N failed, N skipped

--extra adds a result that is not a meson test (e.g. format=OK, or
"asan build=FAIL" when a pass could not even build). A LABEL whose log is
missing counts as one failure: its setup, build or test run broke.
With --skip-is-failure (CI: root and /dev/fuse) a skipped test is counted
as failed, since there every test can run.

Exit status: 0 when nothing failed, 1 otherwise, 2 on usage errors.
Python 3 standard library only.
"""

import argparse
import json
import sys

PASSED = {"OK", "EXPECTEDFAIL"}
SKIPPED = {"SKIP"}


def reason(entry):
    """The line a skipped or failed test gave as its reason, if any."""
    text = (entry.get("stdout") or "") + "\n" + (entry.get("stderr") or "")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for prefix in ("SKIP:", "FAIL:", "ERROR:", "error:"):
        for ln in lines:
            if ln.startswith(prefix):
                return ln
    return lines[-1] if lines else ""


def read_log(path):
    """The entries of one testlog.json, or None if it cannot be read."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            raw = f.read()
    except OSError:
        return None
    entries = []
    for n, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            entries.append({"name": f"{path}:{n}", "result": "ERROR",
                            "stdout": "unreadable line in test log"})
    return entries


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-is-failure", action="store_true")
    ap.add_argument("--extra", action="append", default=[],
                    metavar="NAME=RESULT")
    ap.add_argument("logs", nargs="*", metavar="LABEL=TESTLOG")
    args = ap.parse_args()

    passed = failed = skipped = 0
    bad = []      # (label, name, result, reason)
    skips = []
    per_pass = []

    for spec in args.logs:
        label, sep, path = spec.partition("=")
        if not sep:
            ap.error(f"expected LABEL=TESTLOG, got '{spec}'")
        entries = read_log(path)
        if entries is None:
            failed += 1
            bad.append((label, "(no test log)", "ERROR",
                        f"{path} missing: setup, build or meson test broke"))
            per_pass.append(f"{label}: no test log")
            continue
        p = f = s = 0
        for e in entries:
            name, result = e.get("name", "?"), e.get("result", "ERROR")
            if result in PASSED:
                p += 1
            elif result in SKIPPED and not args.skip_is_failure:
                s += 1
                skips.append((label, name, result, reason(e)))
            elif result in SKIPPED:
                f += 1
                bad.append((label, name, "SKIP (a failure here)", reason(e)))
            else:
                f += 1
                bad.append((label, name, result, reason(e)))
        passed, failed, skipped = passed + p, failed + f, skipped + s
        per_pass.append(f"{label}: {p} passed, {f} failed, {s} skipped")

    for spec in args.extra:
        name, sep, result = spec.partition("=")
        if not sep:
            ap.error(f"expected NAME=RESULT, got '{spec}'")
        if result in PASSED:
            passed += 1
            per_pass.append(f"{name}: passed")
        else:
            failed += 1
            bad.append(("", name, result, ""))
            per_pass.append(f"{name}: {result}")

    print("==== summary ====")
    for line in per_pass:
        print("  " + line)
    for title, rows in (("failed", bad), ("skipped", skips)):
        if not rows:
            continue
        print(f"{title}:")
        for label, name, result, why in rows:
            where = f"{label} / {name}" if label else name
            print(f"  {where}: {result}" + (f" -- {why}" if why else ""))
    if args.skip_is_failure and any(r[2].startswith("SKIP") for r in bad):
        print("(running as root with /dev/fuse: every test must run, "
              "so a skip is a failure)")
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
