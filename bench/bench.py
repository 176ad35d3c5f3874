#!/usr/bin/env python3
"""Helpers for bench/run.sh (Python 3 standard library only).

usage:
  bench.py sources SUITE               the host's apt entries for SUITE,
                                       SUITE-updates and SUITE-security as
                                       deb822 text (for mmdebstrap)
  bench.py mkfiles DIR FMT START N SIZE  N files DIR/(FMT % i), SIZE bytes
                                       of pseudo-random data each (0: empty)
  bench.py mktree DIR D F              D dirs dNNN of F empty files fNN
  bench.py tinyroot DIR                a small synthetic root file system
                                       (the --tiny stand-in for Debian)
  bench.py fio-iops FILE               IOPS of the first job of fio's JSON
  bench.py report RAW META WORKLOADS OUT   the markdown results table
"""

import glob
import json
import os
import random
import re
import statistics
import sys

# ---- apt sources -----------------------------------------------------------


def _deb822_stanzas(text):
    stanza = {}
    key = None
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        if not line.strip():
            if stanza:
                yield stanza
            stanza, key = {}, None
            continue
        if line[0] in " \t" and key:
            stanza[key] += "\n" + line
            continue
        key, _, value = line.partition(":")
        key = key.strip().lower()
        stanza[key] = value.strip()
    if stanza:
        yield stanza


def _one_line_entries(text):
    pat = re.compile(r"^deb\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s+(.*)$")
    for line in text.splitlines():
        m = pat.match(line.split("#", 1)[0].strip())
        if not m:
            continue
        opts = dict(o.partition("=")[::2] for o in (m.group(1) or "").split())
        yield {"types": "deb", "uris": m.group(2), "suites": m.group(3),
               "components": m.group(4),
               "signed-by": opts.get("signed-by", "")}


def cmd_sources(suite):
    wanted = {suite, suite + "-updates", suite + "-security"}
    entries = []
    files = ["/etc/apt/sources.list"]
    files += sorted(glob.glob("/etc/apt/sources.list.d/*.list"))
    files += sorted(glob.glob("/etc/apt/sources.list.d/*.sources"))
    for path in files:
        try:
            text = open(path, encoding="utf-8").read()
        except OSError:
            continue
        if path.endswith(".sources"):
            found = list(_deb822_stanzas(text))
        else:
            found = list(_one_line_entries(text))
        for e in found:
            if e.get("enabled", "yes").lower() == "no":
                continue
            if "deb" not in e.get("types", "").split():
                continue
            suites = [s for s in e.get("suites", "").split() if s in wanted]
            if not suites:
                continue
            entries.append((e, suites))
    if not entries:
        print(f"bench.py: no apt source for '{suite}' in /etc/apt",
              file=sys.stderr)
        return 1
    out = []
    for e, suites in entries:
        out.append("Types: deb")
        out.append("URIs: " + e["uris"])
        out.append("Suites: " + " ".join(suites))
        out.append("Components: " + e.get("components", "main"))
        if e.get("signed-by"):
            out.append("Signed-By: " + e["signed-by"])
        out.append("")
    sys.stdout.write("\n".join(out))
    return 0


# ---- layer contents --------------------------------------------------------


def mkfiles(d, fmt, start, n, size, rng=None):
    rng = rng or random.Random(start * 7919 + n)
    os.makedirs(d, exist_ok=True)
    for i in range(start, start + n):
        with open(os.path.join(d, fmt % i), "wb") as f:
            if size:
                f.write(rng.randbytes(size))


def cmd_mktree(d, ndirs, nfiles):
    for i in range(ndirs):
        mkfiles(os.path.join(d, f"d{i:03d}"), "f%02d", 0, nfiles, 0)
    return 0


def cmd_tinyroot(root):
    """A few hundred files shaped like a root file system: usr/ holds most
    of the data (the bottom lower), the rest is small config-like files."""
    rng = random.Random(42)
    for sub, dirs, files, lo, hi in (
            ("usr/bin", 1, 40, 4096, 65536),
            ("usr/lib/x86_64-linux-gnu", 1, 40, 8192, 131072),
            ("usr/share/doc", 30, 6, 200, 4000),
            ("usr/share/locale", 10, 4, 1000, 20000),
            ("etc", 8, 10, 50, 2000),
            ("var/lib/dpkg/info", 1, 60, 100, 3000)):
        for d in range(dirs):
            path = os.path.join(root, sub, f"p{d:02d}" if dirs > 1 else "")
            os.makedirs(path, exist_ok=True)
            for i in range(files):
                with open(os.path.join(path, f"f{i:03d}"), "wb") as f:
                    f.write(rng.randbytes(rng.randint(lo, hi)))
    for name, target in (("bin", "usr/bin"), ("lib", "usr/lib"),
                         ("sbin", "usr/bin")):
        os.symlink(target, os.path.join(root, name))
    for d in ("tmp", "root", "home", "proc", "sys", "dev", "run"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    os.chmod(os.path.join(root, "tmp"), 0o1777)
    return 0


def cmd_fio_iops(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    # fio may print notes before the JSON object
    data = json.loads(text[text.index("{"):])
    job = data["jobs"][0]
    iops = job["read"]["iops"] + job["write"]["iops"]
    print(f"{iops:.0f}")
    return 0


# ---- the report ------------------------------------------------------------

IMPLS = ["layerfs", "fuse-overlayfs", "unionfs-fuse", "kernel-meta",
         "kernel-nometa", "plain"]
HEAD = {"layerfs": "layerfs", "fuse-overlayfs": "fuse-overlayfs",
        "unionfs-fuse": "unionfs-fuse",
        "kernel-meta": "kernel (redir+meta)",
        "kernel-nometa": "kernel (plain opts)", "plain": "plain"}
# the targets: layerfs/X must stay at or under these
TARGETS = {"meta": 1.5, "stream": 1.2, "copyup": 1.2}


def fmt_secs(v):
    """Seconds (or a ratio) with 3-4 significant digits; bench/store.sh
    and bench/commit.sh format theirs with it too."""
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    if v >= 1:
        return f"{v:.2f}"
    if v >= 0.01:
        return f"{v:.3f}"
    return f"{v:.4f}"


def _fmt(v, metric):
    if metric == "iops":
        return f"{v:,.0f}"
    if metric in ("upper_kib", "rss_kib"):
        return f"{v:,.0f}"
    return fmt_secs(v)


def _cell(vals, metric):
    if not vals:
        return None
    med = statistics.median(vals)
    if len(vals) == 1:
        return med, _fmt(med, metric)
    return med, (f"{_fmt(med, metric)} [{_fmt(min(vals), metric)}–"
                 f"{_fmt(max(vals), metric)}]")


def _ratio(a, b, metric, target):
    """layerfs against another; > 1 means layerfs is worse (for IOPS the
    quotient is turned around so that this holds too)."""
    if a is None or b is None:
        return "n/a"
    if metric == "iops":
        a, b = b, a
    if b == 0:
        return "n/a"
    r = a / b
    s = f"{r:.2f}"
    if target is not None and r > target:
        s = f"**{s}**"
    return s


def _read_tsv(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            rows.append(line.split("\t"))
    return rows


def cmd_report(raw, meta, wlfile, out):
    metas = dict(r[:2] for r in _read_tsv(meta) if len(r) >= 2)
    workloads = [r for r in _read_tsv(wlfile)]  # name label kind metric
    vals = {}      # (w, impl, metric) -> [values]
    probs = {}     # (w, impl) -> (status, note)
    for r in _read_tsv(raw):
        w, impl, _run, metric, value, status = r[:6]
        note = r[6] if len(r) > 6 else ""
        if status == "ok":
            vals.setdefault((w, impl, metric), []).append(float(value))
        elif (w, impl) not in probs or status == "err":
            probs[(w, impl)] = (status, note)
    impls = [i for i in IMPLS if i in metas.get("impls", "").split(",")]
    notes = []
    note_ids = {}

    def note_ref(status, text):
        key = (status, text)
        if key not in note_ids:
            note_ids[key] = len(note_ids) + 1
            notes.append(f"{note_ids[key]}. {status}: {text}")
        return f"{status} ({note_ids[key]})"

    lines = []
    lines.append(f"# layerfs benchmarks: {metas.get('mode')} mode, "
                 f"{metas.get('date')}")
    lines.append("")
    lines.append(f"Machine: {metas.get('machine')}")
    lines.append("")
    lines.append(f"Software: {metas.get('versions')}")
    lines.append("")
    lines.append(f"Run: `{metas.get('command')}`: {metas.get('runs')} "
                 f"run(s) per cell, {metas.get('sizes')}; "
                 f"wall time {metas.get('wall')}.")
    lines.append("")
    lines.append("Cells: seconds unless the workload says otherwise, as "
                 "median [min–max]. Ratios are of medians, layerfs over "
                 "the other, so > 1 means layerfs is slower (for IOPS the "
                 "quotient is inverted to keep that meaning); "
                 "layerfs/kernel is against the kernel overlayfs with "
                 "redirect_dir=on,metacopy=on. A **bold** ratio misses the "
                 "target (fuse-overlayfs: 1.0; kernel: 1.5 on metadata, "
                 "1.2 on streaming and on copy-up/unlink/rename; plain: "
                 "none).")
    lines.append("")
    cols = [HEAD[i] for i in impls]
    ratio_cols = [("fuse-overlayfs", "layerfs/fuse-overlayfs"),
                  ("kernel-meta", "layerfs/kernel"),
                  ("plain", "layerfs/plain")]
    lines.append("| workload | " + " | ".join(cols) + " | " +
                 " | ".join(c for _, c in ratio_cols) + " |")
    lines.append("|---" * (1 + len(cols) + len(ratio_cols)) + "|")

    def row(label, w, metric, kind):
        cells, meds = [], {}
        for impl in impls:
            c = _cell(vals.get((w, impl, metric), []), metric)
            if c:
                meds[impl] = c[0]
                cells.append(c[1])
            elif (w, impl) in probs:
                cells.append(note_ref(*probs[(w, impl)]))
            else:
                cells.append("n/a")
        ratios = []
        for other, _ in ratio_cols:
            target = None
            if other == "fuse-overlayfs":
                target = 1.0
            elif other == "kernel-meta":
                target = TARGETS.get(kind)
            if kind == "size":
                target = None
            ratios.append(_ratio(meds.get("layerfs"), meds.get(other),
                                 metric, target))
        lines.append(f"| {label} | " + " | ".join(cells) + " | " +
                     " | ".join(ratios) + " |")

    for w, label, kind, metric in workloads:
        row(label, w, metric, kind)
        if any((w, i, "upper_kib") in vals for i in impls):
            row(f"{label}: KiB used in the upper (du)", w, "upper_kib",
                "size")

    # daemon totals over the whole run
    cells_rss, cells_cpu = [], []
    for impl in impls:
        rss = [v for (w, i, m), vs in vals.items()
               if i == impl and m == "rss_kib" for v in vs]
        cpu = [v for (w, i, m), vs in vals.items()
               if i == impl and m == "cpu_s" for v in vs]
        cells_rss.append(f"{max(rss) / 1024:.1f}" if rss else "n/a")
        cells_cpu.append(f"{sum(cpu):.1f}" if cpu else "n/a")
    pad = " | ".join(["" for _ in ratio_cols])
    lines.append("| daemon peak RSS, MiB (max over all workloads) | " +
                 " | ".join(cells_rss) + " | " + pad + " |")
    lines.append("| daemon CPU seconds (sum over all runs) | " +
                 " | ".join(cells_cpu) + " | " + pad + " |")
    lines.append("")
    if notes:
        lines.append("Notes:")
        lines.append("")
        lines.extend(notes)
        lines.append("")

    fuse = [i for i in impls if i in ("layerfs", "fuse-overlayfs",
                                      "unionfs-fuse")]
    if fuse:
        lines.append("Daemon per workload: peak RSS in MiB (VmHWM at "
                     "unmount) / CPU seconds (user+system of that mount), "
                     "median over the runs.")
        lines.append("")
        lines.append("| workload | " + " | ".join(fuse) + " |")
        lines.append("|---" * (1 + len(fuse)) + "|")
        for w, label, _kind, _metric in workloads:
            cells = []
            for impl in fuse:
                rss = vals.get((w, impl, "rss_kib"))
                cpu = vals.get((w, impl, "cpu_s"))
                if rss and cpu:
                    cells.append(f"{statistics.median(rss) / 1024:.1f} / "
                                 f"{statistics.median(cpu):.2f}")
                else:
                    cells.append("n/a")
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines.append("")
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    return 0


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[1], argv[2:]
    if cmd == "sources" and len(args) == 1:
        return cmd_sources(args[0])
    if cmd == "mkfiles" and len(args) == 5:
        mkfiles(args[0], args[1], int(args[2]), int(args[3]), int(args[4]))
        return 0
    if cmd == "mktree" and len(args) == 3:
        return cmd_mktree(args[0], int(args[1]), int(args[2]))
    if cmd == "tinyroot" and len(args) == 1:
        return cmd_tinyroot(args[0])
    if cmd == "fio-iops" and len(args) == 1:
        return cmd_fio_iops(args[0])
    if cmd == "report" and len(args) == 4:
        return cmd_report(*args)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
