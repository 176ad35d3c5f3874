#!/usr/bin/env bash
# The store's benchmarks: layerctl next to umoci, tar and skopeo on one
# OCI image holding the Debian root file system of bench/run.sh.
#
# usage: bench/store.sh [--full | --tiny] [--runs N] [--out DIR]
#
#   --full   (default) the Debian minbase rootfs (cached by bench/run.sh's
#            layers.sh; built here if missing), 3 runs
#   --tiny   CI smoke test: the small generated rootfs, 1 run, seconds;
#            results go to bench/cache/results unless --out is given
#   --runs N runs per cell (the median of them is reported)
#   --out    where the results go (default bench/results)
#
# The image (one gzip layer holding the whole rootfs, made with umoci) is
# built once into bench/cache/oci-ROOTFSKEY/. Every tool first gets one
# untimed warm-up run; the timed runs then go round robin.
#
# Writes OUT/YYYY-MM-DD-store.md (the table) and .tsv (every measurement).
# Exit status: 0 if layerctl ran and its layer tree equals umoci's (timings
# never fail the run), 1 if not, 2 on usage. Needs root (umoci unpack
# restores the real owners only as root).
#
# Environment: LAYERCTL=path of the layerctl binary (default
# build/tools/layerctl, built with ninja first if build/ is configured).
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH")
CACHE=$BENCH/cache
export LC_ALL=C

# shellcheck source=scripts/mountinfo.sh
. "$ROOT/scripts/mountinfo.sh"
# shellcheck source=bench/lib.sh
. "$BENCH/lib.sh"
# shellcheck source=bench/layers.sh
. "$BENCH/layers.sh"

TAG=bench

usage()
{
	sed -n '5,13p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

set_mode()
{
	MODE=$1
	case "$MODE" in
	full) ROOTFS_KIND=debian RUNS=3 TMO=600 ;;
	tiny) ROOTFS_KIND=tiny RUNS=1 TMO=60 ;;
	esac
}

parse_args()
{
	local runs=''

	set_mode full
	OUT=
	while [ $# -gt 0 ]; do
		case "$1" in
		--full) set_mode full ;;
		--tiny) set_mode tiny ;;
		--runs) runs=${2:?}; shift ;;
		--runs=*) runs=${1#*=} ;;
		--out) OUT=${2:?}; shift ;;
		--out=*) OUT=${1#*=} ;;
		-h | --help) usage ;;
		*) msg "unknown argument '$1'"; usage ;;
		esac
		shift
	done
	[ -n "$runs" ] && RUNS=$runs
	[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { msg "--runs wants a number"; exit 2; }
	if [ -z "$OUT" ]; then
		OUT=$BENCH/results
		[ "$MODE" = tiny ] && OUT=$CACHE/results
	fi
	return 0
}

# Not runnable here: a SKIP (exit 0) for --tiny, so that CI on a machine
# without root or umoci does not fail; an error otherwise.
cannot_run()
{
	if [ "$MODE" = tiny ]; then
		msg "SKIP: $*"
		exit 0
	fi
	die "$*"
}

find_layerctl()
{
	local src=${LAYERCTL:-$ROOT/build/tools/layerctl}

	if [ -z "${LAYERCTL:-}" ] && [ -f "$ROOT/build/build.ninja" ]; then
		ninja -C "$ROOT/build" tools/layerctl >/dev/null ||
			die "ninja -C build failed"
	fi
	[ -x "$src" ] ||
		die "no layerctl binary at $src (build it: meson setup build && ninja -C build, or set LAYERCTL)"
	# one binary for the whole run, even if build/ is rebuilt meanwhile
	LC_BIN=$RUNDIR/layerctl
	cp "$src" "$LC_BIN"
	HAVE_SAVE=0
	if "$LC_BIN" --help 2>&1 | grep -Eq '^[[:space:]]+save([[:space:]]|$)'; then
		HAVE_SAVE=1
	fi
	return 0
}

# ---- the image ------------------------------------------------------------

# What the image was made from: a change of rootfs.tar rebuilds it.
_tar_stamp()
{
	stat -c '%s %Y' "$1"
}

# $1: temp dir; $2: the rootfs tarball. An OCI layout with one image,
# TAG, whose single layer (umoci writes gzip) holds the whole rootfs:
# unpack the empty image, extract the rootfs into the bundle, repack.
_build_oci()
{
	local out=$1 tarball=$2 b=$1/bundle log=$1/build.log

	{
		umoci init --layout "$out/layout" &&
			umoci new --image "$out/layout:$TAG" &&
			umoci unpack --image "$out/layout:$TAG" "$b" &&
			tar --numeric-owner -xpf "$tarball" -C "$b/rootfs" &&
			umoci repack --image "$out/layout:$TAG" "$b" &&
			umoci gc --layout "$out/layout"
	} >"$log" 2>&1 || { tail -n 20 "$log" >&2; return 1; }
	rm -rf "$b"
	_tar_stamp "$tarball" >"$out/source"
	# the single layer: its blob (relative to the layout), media type
	# and size
	python3 - "$out/layout" "$TAG" >"$out/layer" <<'EOF' || return 1
import json, os, sys
lay, tag = sys.argv[1], sys.argv[2]
def blob(d, root=lay):
    return os.path.join(root, "blobs", *d.split(":", 1))
idx = json.load(open(os.path.join(lay, "index.json")))
m = [m for m in idx["manifests"]
     if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag]
man = json.load(open(blob(m[0]["digest"])))
if len(man["layers"]) != 1:
    sys.exit(f"{len(man['layers'])} layers, expected 1")
l = man["layers"][0]
# relative: the temp dir is renamed once built
print(blob(l["digest"], ""), l["mediaType"], l["size"])
EOF
}

build_image()
{
	local rkey tarball oci stamp

	if [ "$ROOTFS_KIND" = tiny ]; then
		rkey=rootfs-tiny
	else
		rkey=rootfs-debian-$(_host_suite)-minbase
	fi
	# the rootfs of bench/run.sh (layers.sh), built there or here
	_cache_build "$CACHE/$rkey" _build_rootfs "$ROOTFS_KIND"
	tarball=$CACHE/$rkey/rootfs.tar
	oci=$CACHE/oci-$rkey
	stamp=$(_tar_stamp "$tarball")
	if [ -e "$oci/.done" ] && [ "$(cat "$oci/source" 2>/dev/null)" != "$stamp" ]; then
		msg "$rkey/rootfs.tar changed: rebuilding the image"
		rm -rf "$oci"
	fi
	_cache_build "$oci" _build_oci "$tarball"
	LAYOUT=$oci/layout
	read -r BLOB BLOB_MT BLOB_SIZE <"$oci/layer"
	BLOB=$LAYOUT/$BLOB
	TAR_SIZE=$(stat -c %s "$tarball")
	TAR_COUNT=$(cat "$CACHE/$rkey/tar-count")
	RKEY=$rkey
}

# ---- running --------------------------------------------------------------

# record TASK TOOL RUN METRIC VALUE STATUS [NOTE]
record()
{
	local note=${7:-}

	note=${note//$'\t'/ }
	note=${note//$'\n'/ }
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" \
		"$note" >>"$RAW"
}

# timed TASK TOOL RUN CMD...: sync (untimed), then run CMD under timeout
# and record its wall time, or "err" and why. Run 0 is the warm-up: not
# recorded. Returns CMD's status.
timed()
{
	local task=$1 tool=$2 r=$3 t0 t1 rc=0 pid why log
	shift 3

	log=$RUNDIR/$task.$tool.log
	sync
	t0=$EPOCHREALTIME
	# in the background, so that a signal reaches the cleanup trap at
	# once (which kills it by its PID)
	timeout -k 5 "$TMO" "$@" >"$log" 2>&1 &
	pid=$!
	_bench_pids+=("$pid")
	wait "$pid" || rc=$?
	t1=$EPOCHREALTIME
	unset '_bench_pids[-1]'
	if [ "$rc" -ne 0 ]; then
		if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
			why="timed out after $TMO s"
		else
			why=$(grep -v '^$' "$log" | tail -n 2 | tr '\n' ' ')
			why="exit status $rc${why:+: $why}"
		fi
		msg "  $task/$tool (run $r): FAILED: $why"
		[ "$tool" = layerctl ] && LC_FAILED+=("$task, run $r: $why")
		[ "$r" -gt 0 ] && record "$task" "$tool" "$r" secs "" err "$why"
		return "$rc"
	fi
	[ "$r" -gt 0 ] && record "$task" "$tool" "$r" secs \
		"$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')" ok
	return 0
}

# The manifest digest of TAG in the OCI layout $1 ("" if none).
_manifest_of()
{
	python3 - "$1" "$2" <<'EOF'
import json, os, sys
try:
    idx = json.load(open(os.path.join(sys.argv[1], "index.json")))
except OSError:
    sys.exit(0)
for m in idx.get("manifests", []):
    if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == sys.argv[2]:
        print(m["digest"])
        break
EOF
}

# One run of every tool; run 0 is the untimed warm-up, whose store and
# bundle the correctness check compares. Each tool writes into a fresh
# dir under $d, kept until the end (about 1 GB a run for Debian).
one_run()
{
	local r=$1 d store got want

	d=$RUNDIR/run$r
	mkdir -p "$d"
	store=$d/store
	# 1. import: a fresh store; umoci unpack; the floor: tar of the blob
	if timed import layerctl "$r" "$LC_BIN" --root "$store" load \
		"oci:$LAYOUT:$TAG"; then
		# 2. the same image again into the same store
		timed reload layerctl "$r" "$LC_BIN" --root "$store" load \
			"oci:$LAYOUT:$TAG" || true
		# 3. save, against skopeo copying out of the same store
		if [ "$HAVE_SAVE" = 1 ]; then
			if timed save layerctl "$r" "$LC_BIN" --root "$store" save \
				"$TAG" "oci:$d/saved"; then
				want=$(_manifest_of "$store" "$TAG")
				got=$(python3 -c 'import json, sys
print(" ".join(m["digest"] for m in json.load(open(sys.argv[1]))["manifests"]))' \
					"$d/saved/index.json" 2>/dev/null) || got=
				if [ "$r" -eq 1 ]; then
					if [ -n "$want" ] && [[ " $got " == *" $want "* ]]; then
						SAVE_NOTE="the saved layout holds the store's manifest ($want)"
					else
						SAVE_NOTE="the saved layout's manifests (${got:-none}) are not the store's ($want)"
					fi
				fi
			fi
		fi
		if [ "$HAVE_SKOPEO" = 1 ]; then
			timed save skopeo "$r" skopeo copy -q "oci:$store:$TAG" \
				"oci:$d/skopeo-saved:$TAG" || true
		fi
	fi
	timed import umoci "$r" umoci unpack --image "$LAYOUT:$TAG" \
		"$d/bundle" || true
	mkdir "$d/tar" "$d/tar-sync"
	timed import tar "$r" tar -xzf "$BLOB" -C "$d/tar" || true
	# shellcheck disable=SC2016 # for the inner shell
	timed import tar-sync "$r" bash -c 'tar -xzf "$1" -C "$2" && sync' \
		tar-sync "$BLOB" "$d/tar-sync" || true
	if [ "$HAVE_SKOPEO" = 1 ]; then
		timed import skopeo "$r" skopeo copy -q "oci:$LAYOUT:$TAG" \
			"oci:$d/copy:$TAG" || true
		timed reload skopeo "$r" skopeo copy -q "oci:$LAYOUT:$TAG" \
			"oci:$d/copy:$TAG" || true
	fi
	[ "$r" -eq 0 ] && check_trees "$d"
	# No rm -rf here: on an ext4 without a journal, new inodes skip those
	# deleted in the last 30 s (recently_deleted()), which made every
	# create of the next runs several times slower. The trap removes
	# everything at the end.
	return 0
}

# ---- correctness ----------------------------------------------------------

# Compare the layer layerctl unpacked with umoci's rootfs: names, types,
# modes, owners, sizes, link counts, symlink targets, device numbers and
# the sha256 of every file. Sets CHECK_OK and CHECK_NOTE.
check_trees()
{
	local d=$1 diffs=() out rc=0

	CHECK_OK=0
	shopt -s nullglob
	diffs=("$d"/store/layers/*/diff)
	shopt -u nullglob
	if [ ! -d "$d/bundle/rootfs" ]; then
		CHECK_NOTE="umoci unpack gave no rootfs to compare with"
		return 0
	fi
	if [ "${#diffs[@]}" -ne 1 ]; then
		CHECK_NOTE="expected one layers/*/diff in the store, found ${#diffs[@]}"
		return 0
	fi
	out=$(python3 - "${diffs[0]}" "$d/bundle/rootfs" <<'EOF'
import hashlib, os, stat, sys

def entry(path):
    st = os.lstat(path)
    fmt = stat.S_IFMT(st.st_mode)
    e = {"type": {stat.S_IFREG: "file", stat.S_IFDIR: "dir",
                  stat.S_IFLNK: "symlink", stat.S_IFCHR: "chardev",
                  stat.S_IFBLK: "blockdev", stat.S_IFIFO: "fifo",
                  stat.S_IFSOCK: "socket"}.get(fmt, oct(fmt)),
         "mode": f"{stat.S_IMODE(st.st_mode):04o}",
         "owner": f"{st.st_uid}:{st.st_gid}"}
    if fmt != stat.S_IFDIR:
        e["links"] = st.st_nlink
    if fmt == stat.S_IFREG:
        e["size"] = st.st_size
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for b in iter(lambda: f.read(1 << 20), b""):
                h.update(b)
        e["sha256"] = h.hexdigest()
    elif fmt == stat.S_IFLNK:
        e["target"] = os.readlink(path)
    elif fmt in (stat.S_IFCHR, stat.S_IFBLK):
        e["rdev"] = f"{os.major(st.st_rdev)},{os.minor(st.st_rdev)}"
    return e

def tree(root):
    t = {".": entry(root)}
    for dp, dns, fns in os.walk(root):
        for n in dns + fns:
            p = os.path.join(dp, n)
            t[os.path.relpath(p, root)] = entry(p)
    return t

a, b = tree(sys.argv[1]), tree(sys.argv[2])
bad = []
for p in sorted(a.keys() | b.keys()):
    if p not in b:
        bad.append(f"{p}: only in layerctl's layer")
    elif p not in a:
        bad.append(f"{p}: only in umoci's rootfs")
    elif a[p] != b[p]:
        for k in sorted(a[p].keys() | b[p].keys()):
            if a[p].get(k) != b[p].get(k):
                bad.append(f"{p}: {k} {a[p].get(k)} (layerctl) != "
                           f"{b[p].get(k)} (umoci)")
nbytes = sum(e.get("size", 0) for e in a.values())
if bad:
    print(f"{len(bad)} difference(s) over {len(a)} / {len(b)} entries:")
    print("\n".join(bad[:20]))
    if len(bad) > 20:
        print(f"... and {len(bad) - 20} more")
    sys.exit(1)
print(f"{len(a)} entries, {nbytes} bytes of files: names, types, modes, "
      f"owners, sizes, link counts, symlink targets, devices and sha256 "
      f"equal")
EOF
	) || rc=$?
	if [ "$rc" -eq 0 ]; then
		CHECK_OK=1
		CHECK_NOTE=$out
		msg "check: OK: $out"
	else
		CHECK_NOTE=$out
		msg "check: FAIL: layerctl's layer differs from umoci's rootfs:"
		printf '%s\n' "$out" | sed 's/^/bench:   /' >&2
	fi
	return 0
}

# ---- the report -----------------------------------------------------------

versions_line()
{
	local v git

	if [ -n "${LAYERCTL:-}" ]; then
		git="LAYERCTL=$LAYERCTL"
	else
		git="git $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo "?")"
	fi
	v="$("$LC_BIN" --version 2>&1 | head -n 1) ($git)"
	v+=", $(umoci --version 2>&1 | head -n 1)"
	v+=", $(tar --version | head -n 1)"
	if [ "$HAVE_SKOPEO" = 1 ]; then
		v+=", $(skopeo --version 2>&1 | head -n 1)"
	fi
	printf '%s' "$v"
}

report()
{
	PYTHONPATH=$BENCH python3 - "$RAW" "$RUNDIR/meta.tsv" "$1" <<'EOF'
import statistics, sys

raw, meta, out = sys.argv[1:4]
metas = {}
for line in open(meta, encoding="utf-8"):
    k, _, v = line.rstrip("\n").partition("\t")
    metas[k] = v
vals, probs = {}, {}
for line in open(raw, encoding="utf-8"):
    r = line.rstrip("\n").split("\t")
    if len(r) < 6:
        continue
    task, tool, _run, _metric, value, status = r[:6]
    note = r[6] if len(r) > 6 else ""
    if status == "ok":
        vals.setdefault((task, tool), []).append(float(value))
    elif (task, tool) not in probs or status == "err":
        probs[(task, tool)] = (status, note)

from bench import fmt_secs as fmt  # bench/bench.py

notes, note_ids = [], {}
def note_ref(status, text):
    if (status, text) not in note_ids:
        note_ids[(status, text)] = len(note_ids) + 1
        notes.append(f"{note_ids[(status, text)]}. {status}: {text}")
    return f"{status} ({note_ids[(status, text)]})"

tools = [("layerctl", "layerctl"), ("umoci", "umoci unpack"),
         ("tar", "tar -xzf"), ("tar-sync", "tar -xzf; sync"),
         ("skopeo", "skopeo copy")]
ratios = [("umoci", "layerctl/umoci"), ("tar", "layerctl/tar"),
          ("tar-sync", "layerctl/(tar+sync)"), ("skopeo", "layerctl/skopeo")]
rows = [("import", "import the image: into a fresh store (layerctl load), "
         "a fresh bundle, a fresh dir, a fresh layout"),
        ("reload", "load it again into the same store (skopeo: copy "
         "again to the same layout)"),
        ("save", "save it from the store to a fresh OCI layout "
         "(layerctl save; skopeo copy oci:STORE:TAG)")]

L = []
L.append(f"# layerfs store benchmarks: {metas['mode']} mode, {metas['date']}")
L.append("")
L.append(f"Machine: {metas['machine']}")
L.append("")
L.append(f"Software: {metas['versions']}")
L.append("")
L.append(f"Image: {metas['image']}")
L.append("")
L.append(f"Run: `{metas['command']}`: {metas['runs']} run(s) per cell "
         "after one untimed warm-up run of every tool, round robin; page "
         "cache warm (the layout is read by the warm-up), a `sync` before "
         f"every timed command; wall time {metas['wall']}.")
L.append("")
L.append(f"Correctness: **{metas['check']}**")
L.append("")
L.append("Cells: seconds as median [min–max]. Ratios are of medians, "
         "layerctl over the other, so > 1 means layerctl is slower. "
         "`layerctl load` verifies every digest and size and the diffID, "
         "fsyncs the blobs and syncfs()es the unpacked layer; umoci, tar "
         "and skopeo do not sync, hence the `tar -xzf; sync` column (the "
         "durable floor). skopeo copies blobs without unpacking them: it "
         "is a reference, not a peer, for the import.")
L.append("")
L.append("| task | " + " | ".join(h for _, h in tools) + " | " +
         " | ".join(h for _, h in ratios) + " |")
L.append("|---" * (1 + len(tools) + len(ratios)) + "|")
for task, label in rows:
    cells, meds = [], {}
    for tool, _ in tools:
        v = vals.get((task, tool))
        if v:
            meds[tool] = statistics.median(v)
            c = fmt(meds[tool])
            if len(v) > 1:
                c += f" [{fmt(min(v))}–{fmt(max(v))}]"
            cells.append(c)
        elif (task, tool) in probs:
            st, why = probs[(task, tool)]
            cells.append(why if st == "na" and why.startswith("n/a")
                         else note_ref(st, why))
        else:
            cells.append("")
    rs = []
    for tool, _ in ratios:
        a, b = meds.get("layerctl"), meds.get(tool)
        rs.append(f"{a / b:.2f}" if a is not None and b else "")
    L.append(f"| {label} | " + " | ".join(cells) + " | " + " | ".join(rs) +
             " |")
L.append("")
extra = [n for n in (metas.get("save_note"),) if n]
if notes or extra:
    L.append("Notes:")
    L.append("")
    L.extend(notes)
    L.extend(f"* {n}" for n in extra)
    L.append("")
with open(out, "w", encoding="utf-8") as f:
    f.write("\n".join(L))
EOF
}

main()
{
	local started=$SECONDS date base r check rc=0

	parse_args "$@"
	[ "$(id -u)" -eq 0 ] ||
		cannot_run "needs root (umoci unpack restores the real owners only as root)"
	command -v umoci >/dev/null ||
		cannot_run "umoci is not installed (scripts/install-deps.sh test)"
	HAVE_SKOPEO=0
	command -v skopeo >/dev/null && HAVE_SKOPEO=1
	mkdir -p "$CACHE" "$OUT"
	bench_init_rundir "$CACHE"
	find_layerctl
	build_image

	date=$(date +%F)
	base=$date-store
	[ "$MODE" = tiny ] && base+=-tiny
	RAW=$RUNDIR/raw.tsv
	: >"$RAW"
	LC_FAILED=()
	CHECK_OK=0
	CHECK_NOTE="not run"
	SAVE_NOTE=
	if [ "$HAVE_SAVE" = 0 ]; then
		record save layerctl 1 secs "" na "n/a (no save yet)"
	fi
	if [ "$HAVE_SKOPEO" = 0 ]; then
		record import skopeo 1 secs "" na "n/a (skopeo not installed)"
		record reload skopeo 1 secs "" na "n/a (skopeo not installed)"
		record save skopeo 1 secs "" na "n/a (skopeo not installed)"
	fi
	for r in umoci tar tar-sync; do
		record reload "$r" 1 secs "" na "n/a (no store: unpacks again)"
		record save "$r" 1 secs "" na "n/a"
	done

	msg "mode $MODE, $RUNS run(s); image $LAYOUT:$TAG (one $BLOB_MT layer, $BLOB_SIZE bytes)"
	msg "warm-up run and correctness check"
	one_run 0
	for ((r = 1; r <= RUNS; r++)); do
		msg "run $r of $RUNS"
		one_run "$r"
	done

	if [ "$CHECK_OK" = 1 ]; then
		check="OK: the layer layerctl unpacked (layers/*/diff) equals umoci's rootfs: $CHECK_NOTE"
	else
		check="FAIL: the layer layerctl unpacked (layers/*/diff) differs from umoci's rootfs: $CHECK_NOTE"
	fi
	record check layerctl 0 equal "$CHECK_OK" "$([ "$CHECK_OK" = 1 ] && echo ok || echo err)" \
		"$CHECK_NOTE"
	{
		printf 'mode\t%s\n' "$MODE"
		printf 'date\t%s\n' "$date"
		printf 'runs\t%s\n' "$RUNS"
		printf 'machine\t%s\n' "$(machine_line)"
		printf 'versions\t%s\n' "$(versions_line)"
		printf 'command\tbench/store.sh%s\n' "${ARGS_TEXT:+ $ARGS_TEXT}"
		printf 'image\t%s\n' "the $RKEY rootfs ($TAR_COUNT entries, $((TAR_SIZE >> 20)) MiB as tar) as one $BLOB_MT layer of $((BLOB_SIZE >> 20)) MiB, made with umoci init, new, unpack of the empty image, tar -x of the rootfs into the bundle, repack, gc (cached in bench/cache/oci-$RKEY)"
		printf 'check\t%s\n' "${check//$'\n'/; }"
		printf 'save_note\t%s\n' "$SAVE_NOTE"
		printf 'wall\t%s\n' "$(((SECONDS - started) / 60)) min $(((SECONDS - started) % 60)) s"
	} >"$RUNDIR/meta.tsv"
	cp "$RAW" "$OUT/$base.tsv"
	report "$OUT/$base.md"
	msg "results: $OUT/$base.md ($((SECONDS - started)) s)"

	if [ "$CHECK_OK" != 1 ]; then
		msg "FAIL: layerctl's layer is not umoci's rootfs (see above)"
		rc=1
	fi
	if [ "${#LC_FAILED[@]}" -gt 0 ]; then
		msg "FAIL: layerctl failed ${#LC_FAILED[@]} time(s):"
		for r in "${LC_FAILED[@]}"; do
			msg "  $r"
		done
		rc=1
	fi
	return "$rc"
}

ARGS_TEXT="$*"
main "$@"
