#!/usr/bin/env bash
# `layerctl commit` next to `umoci repack` and `tar | zstd -T0`: the time
# to turn a container's upper layer into an image layer, for an upper of
# many small files and for one of a single big file.
#
# usage: bench/commit.sh [--full | --tiny] [--runs N] [--out DIR]
#
#   --full   (default) 10,000 files of 1-8 KiB (100 dirs x 100), and one
#            1 GiB file; 3 runs, < 10 min on 2 cores
#   --tiny   CI smoke test: 500 small files (10 x 50) and a 16 MiB file,
#            1 run, seconds; results go to bench/cache/results unless --out
#   --runs N runs per cell (the median of them is reported)
#   --out    where the results go (default bench/results)
#
# The two uppers are written through a layerfs mount of a container
# (layerctl create from the small generated rootfs of bench/run.sh, mount,
# cp -a of the test data, umount), so they are what layerfs really writes.
# The test data is generated once (seeded) into bench/cache/commit-*.
# umoci gets a bundle with the same content: umoci unpack of the same base
# image (layerctl save), then cp -a of the upper's files into its rootfs.
# Every tool runs once untimed (the warm-up, which the checks look at),
# then --runs times round robin; a `sync` before every timed command.
# Before each commit, /commit-mark (the new tag) is written through
# layerfs, so that no commit finds its layer in the store already; the
# commits of the big upper are removed afterwards (rmi, gc), those of the
# small one kept until the end (see drop_image).
#
# Writes OUT/YYYY-MM-DD-commit.md (the table) and .tsv (every
# measurement). Exit status: 0 if every tool ran every time and what
# layerctl commit (and diff --tar) wrote holds exactly the upper's files
# (timings never fail the run), 1 if not, 2 on usage. Needs root, FUSE,
# umoci and zstd (--tiny exits 0 with a SKIP line where one is missing).
#
# Environment: LAYERCTL=path of the layerctl binary (default
# build/tools/layerctl, built with ninja first if build/ is configured);
# LAYERFS=path of the layerfs daemon (default: next to LAYERCTL, else
# build/fs/layerfs). Both are copied at the start.
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH")
CACHE=$BENCH/cache
FP=$BENCH/commit-fp.py
export LC_ALL=C

# shellcheck source=scripts/mountinfo.sh
. "$ROOT/scripts/mountinfo.sh"
# shellcheck source=bench/lib.sh
. "$BENCH/lib.sh"
# shellcheck source=bench/layers.sh
. "$BENCH/layers.sh"

CASES=(small big)
TOOLS=(lc-zstd lc-none lc-diff tar tar-zstd tar-zstd-sync tar-x umoci)

usage()
{
	sed -n '6,13p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

set_mode()
{
	MODE=$1
	case "$MODE" in
	full) SMALL_D=100 SMALL_F=100 BIG_MIB=1024 RUNS=3 TMO=600 ;;
	tiny) SMALL_D=10 SMALL_F=50 BIG_MIB=16 RUNS=1 TMO=120 ;;
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
		--runs) runs=${2:-}; [ $# -ge 2 ] || usage; shift ;;
		--runs=*) runs=${1#*=} ;;
		--out) OUT=${2:-}; [ $# -ge 2 ] || usage; shift ;;
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
# without root, FUSE or umoci does not fail; an error otherwise.
cannot_run()
{
	if [ "$MODE" = tiny ]; then
		msg "SKIP: $*"
		exit 0
	fi
	die "$*"
}

# Copy layerctl and layerfs into the run dir: one pair of binaries for the
# whole run, even if build/ is rebuilt meanwhile. layerctl mount finds
# the daemon through $LAYERFS.
find_binaries()
{
	local lc=${LAYERCTL:-$ROOT/build/tools/layerctl} lfs=${LAYERFS:-}

	if [ -z "${LAYERCTL:-}" ] && [ -f "$ROOT/build/build.ninja" ]; then
		ninja -C "$ROOT/build" tools/layerctl fs/layerfs >/dev/null ||
			die "ninja -C build failed"
	fi
	[ -x "$lc" ] ||
		die "no layerctl binary at $lc (build it: meson setup build && ninja -C build, or set LAYERCTL)"
	if [ -z "$lfs" ]; then
		for lfs in "$(dirname "$lc")/layerfs" "$(dirname "$lc")/../fs/layerfs" \
			"$(command -v layerfs || true)"; do
			[ -n "$lfs" ] && [ -x "$lfs" ] && break
		done
	fi
	if [ -z "$lfs" ] || [ ! -x "$lfs" ]; then
		die "no layerfs binary (next to layerctl, build/fs/layerfs or PATH; or set LAYERFS)"
	fi
	LC_BIN=$RUNDIR/layerctl
	cp "$lc" "$LC_BIN"
	cp "$lfs" "$RUNDIR/layerfs"
	export LAYERFS=$RUNDIR/layerfs
	"$LC_BIN" commit --help >/dev/null 2>&1 ||
		cannot_run "$lc has no 'commit' yet"
	"$LC_BIN" diff --help >/dev/null 2>&1 ||
		cannot_run "$lc has no 'diff' yet"
	return 0
}

lc()
{
	"$LC_BIN" --root "$STORE" "$@"
}

# ---- the test data (cached) -------------------------------------------------

_gen_small()
{
	python3 "$FP" gen-small "$1/data" "$2" "$3" &&
		python3 "$FP" tree "$1/data" "$1/fp.json" >"$1/summary"
}

_gen_big()
{
	python3 "$FP" gen-big "$1/big.bin" "$2" &&
		sha256sum "$1/big.bin" | cut -d' ' -f1 >"$1/sha256"
}

build_data()
{
	_cache_build "$CACHE/rootfs-tiny" _build_rootfs tiny
	BASE_TAR=$CACHE/rootfs-tiny/rootfs.tar
	SMALL_SRC=$CACHE/commit-small-${SMALL_D}x$SMALL_F
	_cache_build "$SMALL_SRC" _gen_small "$SMALL_D" "$SMALL_F"
	BIG_SRC=$CACHE/commit-big-${BIG_MIB}m
	_cache_build "$BIG_SRC" _gen_big "$BIG_MIB"
}

# ---- the containers ---------------------------------------------------------

# The PID of the layerfs daemon serving MNT (the last word of its command
# line), "" if none: layerctl mount leaves it running in the background.
_daemon_of()
{
	local p last

	for p in /proc/[0-9]*; do
		[ -r "$p/cmdline" ] || continue
		last=$(tr '\0' '\n' <"$p/cmdline" 2>/dev/null | tail -n 1) || continue
		if [ "$last" = "$1" ] &&
			[[ $(tr '\0' '\n' <"$p/cmdline" | head -n 1) == *layerfs ]]; then
			printf '%s' "${p#/proc/}"
			return 0
		fi
	done
	return 0
}

# Has PID exited (gone, or a zombie its new parent has not reaped yet)?
_exited()
{
	local st

	st=$(awk '{ sub(/.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) ||
		return 0
	[ -z "$st" ] || [ "$st" = Z ]
}

# in_container CASE CMD...: mount container CASE at $MNT, run CMD, unmount
# and wait for the daemon to write everything out and exit.
in_container()
{
	local c=$1 pid deadline rc=0
	shift

	MNT=$RUNDIR/mnt-$c
	mkdir -p "$MNT"
	lc mount "$c" "$MNT" || die "layerctl mount $c failed"
	pid=$(_daemon_of "$MNT")
	[ -n "$pid" ] && _bench_pids+=("$pid")
	"$@" || rc=$?
	lc umount "$MNT" || die "layerctl umount $MNT failed"
	if [ -n "$pid" ]; then
		deadline=$((SECONDS + 120))
		until _exited "$pid"; do
			[ "$SECONDS" -lt "$deadline" ] ||
				die "layerfs ($pid) still running 120 s after unmounting $MNT"
			sleep 0.05
		done
	fi
	return "$rc"
}

_fill()
{
	mkdir "$MNT/bench" || return 1
	if [ "$1" = small ]; then
		cp -a "$SMALL_SRC/data/." "$MNT/bench/"
	else
		cp -a "$BIG_SRC/big.bin" "$MNT/bench/"
	fi
}

# Create container CASE from the base image and copy the case's data into
# its /bench through layerfs. Sets FILL_SECS[CASE].
fill_container()
{
	local c=$1 t0

	lc create --name "$c" base >/dev/null || die "layerctl create $c failed"
	t0=$EPOCHREALTIME
	in_container "$c" _fill "$c" || die "writing the $c data through layerfs failed"
	FILL_SECS[$c]=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
}

_mark()
{
	printf '%s\n' "$1" >"$MNT/commit-mark"
}

# Before each commit: write /commit-mark (the commit's tag) through
# layerfs, so that every commit makes a layer the store does not have yet
# and does the whole work, with nothing to delete in between.
mark()
{
	in_container "$1" _mark "$2" || die "writing /commit-mark into $1 failed"
}

# Fingerprint the upper; check that it holds what was copied in.
check_upper()
{
	local c=$1 s files bytes sha

	s=$(python3 "$FP" tree "$STORE/containers/$c/upper" "$RUNDIR/$c.json") ||
		die "cannot read the upper of $c"
	files=$(sed -n 's/.* files=\([0-9]*\).*/\1/p' <<<"$s")
	bytes=$(sed -n 's/.* bytes=\([0-9]*\).*/\1/p' <<<"$s")
	sha=$(sed -n 's/.* largest_sha256=\([0-9a-f]*\).*/\1/p' <<<"$s")
	UP_FILES[$c]=$files
	UP_BYTES[$c]=$bytes
	UP_ENTRIES[$c]=$(sed -n 's/^entries=\([0-9]*\).*/\1/p' <<<"$s")
	if [ "$c" = small ]; then
		local want
		want=$(cat "$SMALL_SRC/summary")
		if [ "$files" != "$((SMALL_D * SMALL_F))" ] ||
			[[ $want != *" bytes=$bytes "* ]]; then
			die "the upper of $c holds $files files, $bytes bytes; copied: $want"
		fi
	else
		if [ "$files" != 1 ] || [ "$sha" != "$(cat "$BIG_SRC/sha256")" ]; then
			die "the upper of $c holds $files files (largest sha256 $sha), not the big file"
		fi
	fi
	msg "upper of $c: $s (written through layerfs in ${FILL_SECS[$c]} s)"
}

setup()
{
	local c

	STORE=$RUNDIR/store
	LAYOUT=$RUNDIR/layout
	lc load -q --tag base "$BASE_TAR" >/dev/null || die "layerctl load of the base failed"
	lc save base "oci:$LAYOUT:base" >/dev/null || die "layerctl save of the base failed"
	BASE_LAYERS=$(find "$STORE/layers" -mindepth 1 -maxdepth 1 | wc -l)
	for c in "${CASES[@]}"; do
		fill_container "$c"
		check_upper "$c"
		umoci unpack --image "$LAYOUT:base" "$RUNDIR/bundle-$c" \
			>"$RUNDIR/umoci-unpack-$c.log" 2>&1 ||
			die "umoci unpack of the base failed: $(tail -n 2 "$RUNDIR/umoci-unpack-$c.log")"
		cp -a "$STORE/containers/$c/upper/bench" "$RUNDIR/bundle-$c/rootfs/"
	done
	mkdir "$RUNDIR/out"
}

# ---- running ----------------------------------------------------------------

# record CASE TOOL RUN METRIC VALUE STATUS [NOTE]
record()
{
	local note=${7:-}

	note=${note//$'\t'/ }
	note=${note//$'\n'/ }
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" \
		"$note" >>"$RAW"
}

fail()
{
	FAILED+=("$*")
	msg "FAIL: $*"
}

# timed CASE TOOL RUN CMD...: sync (untimed), then run CMD under timeout
# and record its wall time, or "err" and why. Run 0 is the warm-up: not
# recorded. Returns CMD's status.
timed()
{
	local c=$1 tool=$2 r=$3 t0 t1 rc=0 pid why log
	shift 3

	log=$RUNDIR/$c.$tool.log
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
		fail "$c/$tool (run $r): $why"
		[ "$r" -gt 0 ] && record "$c" "$tool" "$r" secs "" err "$why"
		return "$rc"
	fi
	[ "$r" -gt 0 ] && record "$c" "$tool" "$r" secs \
		"$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')" ok
	return 0
}

# key=value out of a line of commit-fp.py
_kv()
{
	sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2" | head -n 1
}

# After the warm-up commit of CASE to TAG: the image must be the base's
# layers plus one whose blob, diffID and unpacked layer hold exactly the
# upper's files. Records the blob's size.
check_commit()
{
	local c=$1 tool=$2 tag=$3 want=$4 out rc=0 mt

	out=$(python3 "$FP" commit "$STORE" "$tag" base "$RUNDIR/$c.json" 2>&1) || rc=$?
	if [ "$rc" -ne 0 ]; then
		fail "$c/$tool: the committed image does not hold the upper's files:"
		printf '%s\n' "$out" | sed 's/^/bench:   /' >&2
		CHECKS+=("$c/$tool: FAIL: ${out//$'\n'/; }")
		return 0
	fi
	mt=$(_kv media_type "$out")
	if [ "$mt" != "$want" ]; then
		fail "$c/$tool: layer media type $mt, expected $want"
		CHECKS+=("$c/$tool: FAIL: layer media type $mt, expected $want")
		return 0
	fi
	record "$c" "$tool" 0 out_bytes "$(_kv blob_bytes "$out")" ok "$mt"
	DIFF_IDS[$c/$tool]=$(_kv diff_id "$out")
	CHECKS+=("$c/$tool: OK: $(_kv files "$out") file(s), $(_kv bytes "$out") bytes (largest sha256 $(_kv largest_sha256 "$out" | cut -c1-16)...) equal the upper's, blob digest and size, diffID, $(_kv unpacked "$out"); $mt, $(_kv blob_bytes "$out") bytes")
	msg "check $c/$tool: OK: $out"
}

check_diff_tar()
{
	local c=$1 out rc=0

	out=$(python3 "$FP" tar "$RUNDIR/out/$c-diff.tar" "$RUNDIR/$c.json" 2>&1) || rc=$?
	if [ "$rc" -ne 0 ]; then
		fail "$c/lc-diff: diff --tar does not hold the upper's files:"
		printf '%s\n' "$out" | sed 's/^/bench:   /' >&2
		CHECKS+=("$c/lc-diff: FAIL: ${out//$'\n'/; }")
		return 0
	fi
	record "$c" lc-diff 0 out_bytes "$(_kv tar_bytes "$out")" ok
	DIFF_IDS[$c/lc-diff]=$(_kv tar_sha256 "$out")
	CHECKS+=("$c/lc-diff: OK: $(_kv files "$out") file(s), $(_kv bytes "$out") bytes (largest sha256 $(_kv largest_sha256 "$out" | cut -c1-16)...) equal the upper's")
	msg "check $c/lc-diff: OK: $out"
}

# Remove a committed image of the big upper (untimed): a blob and a
# layer of one file each, where keeping them all would take 2 GiB a
# commit. Those of the small upper are kept until the end: removing
# 10,000 files makes the next creates on an ext4 without a journal
# several times slower (see store.sh above), which would fall on the
# next commit's unpack.
drop_image()
{
	local c=$1 tool=$2 tag=$3 n log=$RUNDIR/drop.log

	if [ "$c" = small ]; then
		KEPT=$((KEPT + 1))
		return 0
	fi
	if ! { lc rmi "$tag" && lc gc; } >"$log" 2>&1; then
		fail "$c/$tool: layerctl rmi $tag; gc failed: $(tail -n 2 "$log" | tr '\n' ' ')"
		return 0
	fi
	n=$(find "$STORE/layers" -mindepth 1 -maxdepth 1 | wc -l)
	[ "$n" -eq "$((BASE_LAYERS + KEPT))" ] ||
		fail "$c/$tool: $n layers in the store after rmi $tag and gc, expected $((BASE_LAYERS + KEPT))"
	return 0
}

run_tool()
{
	local tool=$1 c=$2 r=$3 upper=$STORE/containers/$2/upper tag out

	case "$tool" in
	lc-zstd | lc-none)
		tag=$c-${tool#lc-}-$r
		local -a opt=()
		[ "$tool" = lc-none ] && opt=(--compress none)
		mark "$c" "$tag"
		# the check compares with the upper as it is now
		[ "$r" -eq 0 ] && python3 "$FP" tree "$upper" "$RUNDIR/$c.json" >/dev/null
		if timed "$c" "$tool" "$r" "$LC_BIN" --root "$STORE" commit -q \
			"${opt[@]}" "$c" "$tag"; then
			if [ "$r" -eq 0 ]; then
				if [ "$tool" = lc-none ]; then
					check_commit "$c" "$tool" "$tag" application/vnd.oci.image.layer.v1.tar
				else
					check_commit "$c" "$tool" "$tag" application/vnd.oci.image.layer.v1.tar+zstd
				fi
			fi
			drop_image "$c" "$tool" "$tag"
		fi
		;;
	lc-diff)
		# the warm-up keeps the tar for the check; the timed runs write
		# through cat to /dev/null, like tar below
		if [ "$r" -eq 0 ]; then
			# shellcheck disable=SC2016 # for the inner shell
			timed "$c" "$tool" "$r" bash -c \
				'"$1" --root "$2" diff --tar "$3" >"$4"' lc-diff \
				"$LC_BIN" "$STORE" "$c" "$RUNDIR/out/$c-diff.tar" &&
				check_diff_tar "$c"
		else
			# shellcheck disable=SC2016 # for the inner shell
			timed "$c" "$tool" "$r" bash -c 'set -o pipefail
				"$1" --root "$2" diff --tar "$3" | cat >/dev/null' \
				lc-diff "$LC_BIN" "$STORE" "$c"
		fi
		;;
	tar)
		# through cat: GNU tar reads no file data when writing to /dev/null
		# shellcheck disable=SC2016
		timed "$c" "$tool" "$r" bash -c 'set -o pipefail
			tar -C "$1" --numeric-owner -cf - . | cat >/dev/null' tar "$upper"
		;;
	tar-zstd | tar-zstd-sync)
		out=$RUNDIR/out/$c-$tool-$r.tar.zst
		# shellcheck disable=SC2016
		timed "$c" "$tool" "$r" bash -c 'set -o pipefail
			tar -C "$1" --numeric-owner -cf - . | zstd -q -T0 -3 >"$2" &&
			{ [ "$3" = 0 ] || sync "$2"; }' tar-zstd "$upper" "$out" \
			"$([ "$tool" = tar-zstd-sync ] && echo 1 || echo 0)" &&
			[ "$r" -eq 0 ] && record "$c" "$tool" 0 out_bytes "$(stat -c %s "$out")" ok
		# 1 GiB a run; one inode, so removing it costs the next runs nothing
		[ "$c" = big ] && rm -f "$out"
		;;
	tar-x)
		# the unpack alone: the warm-up's diff --tar (in the page cache)
		# into a fresh dir, then syncfs as commit does
		out=$RUNDIR/out/$c-x-$r
		mkdir "$out"
		# shellcheck disable=SC2016
		timed "$c" "$tool" "$r" bash -c 'tar -xf "$1" -C "$2" && sync -f "$2"' \
			tar-x "$RUNDIR/out/$c-diff.tar" "$out"
		[ "$c" = big ] && rm -rf "$out"
		;;
	umoci)
		tag=$c-$r
		timed "$c" "$tool" "$r" umoci repack --image "$LAYOUT:$tag" \
			"$RUNDIR/bundle-$c" &&
			[ "$r" -eq 0 ] && record "$c" "$tool" 0 out_bytes \
				"$(python3 "$FP" layer "$LAYOUT" "$tag" | cut -d' ' -f1)" ok \
				"$(python3 "$FP" layer "$LAYOUT" "$tag" | cut -d' ' -f2)"
		;;
	esac
	return 0
}

# One run: every tool on every case, tool by tool.
one_run()
{
	local r=$1 tool c

	for tool in "${TOOLS[@]}"; do
		for c in "${CASES[@]}"; do
			run_tool "$tool" "$c" "$r"
		done
	done
}

# commit --compress none and diff --tar of the same upper (nothing is
# written between them) should give the same tar (DESIGN: the same upper
# always gives the same bytes); the zstd commit had another /commit-mark.
cross_check()
{
	local c a b

	for c in "${CASES[@]}"; do
		a=${DIFF_IDS[$c/lc-none]:-}
		b=${DIFF_IDS[$c/lc-diff]:-}
		if [ -z "$a" ] || [ -z "$b" ]; then
			continue
		fi
		if [ "$a" = "$b" ]; then
			CHECKS+=("$c: commit --compress none and diff --tar give the same tar ($a)")
		else
			CHECKS+=("$c: WARNING: the diffID of commit --compress none, $a, is not the sha256 of diff --tar, $b (the same upper should give the same bytes)")
			msg "WARNING: $c: commit --compress none's diffID $a != diff --tar's $b"
		fi
	done
}

# ---- the report -------------------------------------------------------------

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
	v+=", zstd $(zstd -V 2>&1 | grep -o 'v[0-9][0-9.]*' | head -n 1)"
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
    metas.setdefault(k, []).append(v)
m1 = {k: v[0] for k, v in metas.items()}
vals, errs, outb = {}, {}, {}
for line in open(raw, encoding="utf-8"):
    r = line.rstrip("\n").split("\t")
    if len(r) < 6:
        continue
    case, tool, _run, metric, value, status = r[:6]
    note = r[6] if len(r) > 6 else ""
    if metric == "out_bytes" and status == "ok":
        outb[(case, tool)] = (int(value), note)
    elif metric == "secs" and status == "ok":
        vals.setdefault((case, tool), []).append(float(value))
    elif metric == "secs":
        errs[(case, tool)] = note

from bench import fmt_secs as fmt  # bench/bench.py

tools = [("lc-zstd", "`layerctl commit` (zstd)"),
         ("lc-none", "`layerctl commit --compress none`"),
         ("lc-diff", "`layerctl diff --tar \\| cat > /dev/null`"),
         ("tar", "`tar -cf - . \\| cat > /dev/null`"),
         ("tar-zstd", "`tar -cf - . \\| zstd -T0 -3 > FILE`"),
         ("tar-zstd-sync", "the same, then `sync FILE`"),
         ("tar-x", "`tar -xf LAYER.tar -C NEWDIR; sync -f`"),
         ("umoci", "`umoci repack` (gzip)")]
cases = [("small", m1["small"]), ("big", m1["big"])]
notes = []

L = []
L.append(f"# layerctl commit benchmarks: {m1['mode']} mode, {m1['date']}")
L.append("")
L.append(f"Machine: {m1['machine']}")
L.append("")
L.append(f"Software: {m1['versions']}")
L.append("")
L.append("Uppers: " + "; ".join(f"**{c}**: {d}" for c, d in cases) + ".")
L.append("")
L.append(f"Run: `{m1['command']}`: {m1['runs']} run(s) per cell after one "
         "untimed warm-up run of every tool (whose output the checks "
         "read), round robin (every tool on both uppers, then the next "
         "run); page cache warm, a `sync` before every timed command; "
         f"wall time {m1['wall']}.")
L.append("")
L.append("Correctness:")
L.append("")
for c in metas.get("check", []):
    L.append(f"* {c}")
L.append("")
L.append("Cells: seconds as median [min–max] over the runs; MB/s is the "
         "upper's file bytes (MB = 10^6 bytes) over the median; the ratio "
         "is the median over that of `tar -cf - . | zstd -T0 -3 > FILE` on "
         "the same upper (> 1: slower); output is the size of the layer "
         "blob (or tar) written, MB. `layerctl commit` writes a layer blob, "
         "unpacks it into the store and writes config, manifest and "
         "index.json. Before each commit a /commit-mark file (its tag) is "
         "written through layerfs (untimed), so that every commit makes a "
         "layer the store does not have yet and does the whole work; the "
         "commits of the big upper are removed again (`layerctl rmi`, `gc`, "
         "untimed), those of the small one kept until the end (removing "
         "10,000 files slows the next creates on this ext4). "
         "`layerctl diff --tar` and `tar` write through `cat` to /dev/null "
         "(GNU tar reads no data when writing to /dev/null itself). "
         "`tar -xf` extracts the warm-up's `diff --tar` output (page cache "
         "warm) into a fresh dir and syncfs()es, as commit's unpack into "
         "the store does: the unpack alone. "
         "`umoci repack` walks the whole "
         "bundle rootfs (base image plus the upper's files, copied in with "
         "`cp -a`) against its mtree and writes a gzip layer; each repack "
         "goes to a fresh tag of the same layout (the blob is the same, so "
         "it is rewritten, not added). The tar commands read the upper "
         "directory directly. On a shared machine, look at the [min–max] "
         "spread before reading much into a ratio; the commit of the small "
         "upper, like `tar -xf`, mostly creates files, whose cost on this "
         "ext4 varies a lot with what was deleted on it lately.")
L.append("")
L.append("| upper | tool | seconds | MB/s | / tar\\|zstd | output MB |")
L.append("|---|---|---|---|---|---|")
for case, _ in cases:
    nbytes = int(m1[f"bytes_{case}"])
    base = vals.get((case, "tar-zstd"))
    basemed = statistics.median(base) if base else None
    for tool, label in tools:
        v = vals.get((case, tool))
        if v:
            med = statistics.median(v)
            cell = fmt(med) + (f" [{fmt(min(v))}–{fmt(max(v))}]" if len(v) > 1 else "")
            mbs = f"{nbytes / med / 1e6:.0f}" if med > 0 else ""
            ratio = f"{med / basemed:.2f}" if basemed else ""
        else:
            if (case, tool) in errs:
                notes.append(f"{len(notes) + 1}. {case}/{tool}: {errs[(case, tool)]}")
                cell = f"err ({len(notes)})"
            else:
                cell = ""
            mbs = ratio = ""
        ob = outb.get((case, tool))
        o = f"{ob[0] / 1e6:.1f}" if ob else ""
        L.append(f"| {case} | {label} | {cell} | {mbs} | {ratio} | {o} |")
L.append("")
if notes:
    L.append("Notes:")
    L.append("")
    L.extend(notes)
    L.append("")
with open(out, "w", encoding="utf-8") as f:
    f.write("\n".join(L))
EOF
}

write_meta()
{
	local c

	{
		printf 'mode\t%s\n' "$MODE"
		printf 'date\t%s\n' "$DATE"
		printf 'runs\t%s\n' "$RUNS"
		printf 'machine\t%s\n' "$(machine_line)"
		printf 'versions\t%s\n' "$(versions_line)"
		printf 'command\tbench/commit.sh%s\n' "${ARGS_TEXT:+ $ARGS_TEXT}"
		printf 'small\t%s\n' "${UP_FILES[small]} files of 1-8 KiB in $SMALL_D dirs (${UP_ENTRIES[small]} entries), $((UP_BYTES[small] / 1000000)) MB of seeded text-like data (words and hex numbers), written through layerfs in ${FILL_SECS[small]} s"
		printf 'big\t%s\n' "one file of $BIG_MIB MiB of random bytes (incompressible), written through layerfs in ${FILL_SECS[big]} s"
		for c in "${CASES[@]}"; do
			printf 'bytes_%s\t%s\n' "$c" "${UP_BYTES[$c]}"
		done
		for c in "${CHECKS[@]}"; do
			printf 'check\t%s\n' "${c//$'\t'/ }"
		done
		printf 'wall\t%s\n' "$(((SECONDS - STARTED) / 60)) min $(((SECONDS - STARTED) % 60)) s"
	} >"$RUNDIR/meta.tsv"
}

main()
{
	local base r rc=0 f

	STARTED=$SECONDS
	parse_args "$@"
	[ "$(id -u)" -eq 0 ] ||
		cannot_run "needs root (umoci unpack and repack keep the real owners only as root)"
	command -v umoci >/dev/null ||
		cannot_run "umoci is not installed (scripts/install-deps.sh test)"
	command -v zstd >/dev/null || cannot_run "zstd is not installed"
	[ -c /dev/fuse ] || cannot_run "no /dev/fuse"
	mkdir -p "$CACHE" "$OUT"
	bench_init_rundir "$CACHE"
	find_binaries
	build_data

	declare -gA FILL_SECS=() UP_FILES=() UP_BYTES=() UP_ENTRIES=() DIFF_IDS=()
	KEPT=0
	FAILED=()
	CHECKS=()
	RAW=$RUNDIR/raw.tsv
	: >"$RAW"
	DATE=$(date +%F)
	base=$DATE-commit
	[ "$MODE" = tiny ] && base+=-tiny

	msg "mode $MODE, $RUNS run(s): filling the containers"
	setup
	msg "warm-up run and checks"
	one_run 0
	cross_check
	for ((r = 1; r <= RUNS; r++)); do
		msg "run $r of $RUNS"
		one_run "$r"
	done

	write_meta
	cp "$RAW" "$OUT/$base.tsv"
	report "$OUT/$base.md"
	msg "results: $OUT/$base.md ($((SECONDS - STARTED)) s)"
	if [ "${#FAILED[@]}" -gt 0 ]; then
		msg "FAIL: ${#FAILED[@]} problem(s):"
		for f in "${FAILED[@]}"; do
			msg "  $f"
		done
		rc=1
	fi
	return "$rc"
}

ARGS_TEXT="$*"
main "$@"
