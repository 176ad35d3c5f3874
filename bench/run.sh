#!/usr/bin/env bash
# layerfs benchmarks, side by side with fuse-overlayfs, unionfs-fuse, the
# kernel's overlayfs (two option sets) and a plain directory (the limit).
#
# usage: bench/run.sh [--quick | --full | --tiny] [--only W1,W2,...]
#                     [--impl I1,I2,...] [--runs N] [--out DIR] [--list]
#
#   --quick  (default) smaller sizes, 3 runs, only layerfs, fuse-overlayfs,
#            kernel-meta and plain (--impl all for every one): < 5 min
#   --full   the sizes of the issue, 3 runs: < 30 min on 2 cores
#   --tiny   CI smoke test: tiny sizes, 1 run, no Debian rootfs, < 60 s;
#            results go to bench/cache/results unless --out is given
#   --only   workloads to run (names: --list; "openstat" and "fio" name
#            their groups)
#   --impl   implementations: layerfs fuse-overlayfs unionfs-fuse
#            kernel-meta kernel-nometa plain, or "all" (default: all
#            that work here; for --quick the four the ratios use)
#   --runs N runs per cell (the median of them is reported)
#   --out    where the results go (default bench/results)
#
# Every implementation gets a fresh upper (and mount) for every run of
# every workload. Layers are built once into bench/cache/ (Debian from the
# host's apt sources, synthetic layers) and reused.
#
# Writes OUT/YYYY-MM-DD-MODE.md (the table) and .tsv (every measurement).
# Exit status: 0 if every workload ran correctly on layerfs (timings never
# fail the run), 1 if one failed or gave a wrong result there, 2 on usage.
#
# Environment: LAYERFS=path of the layerfs binary (default build/fs/layerfs,
# built with ninja first if build/ is configured).
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
# shellcheck source=bench/workloads.sh
. "$BENCH/workloads.sh"

usage()
{
	sed -n '5,19p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

set_mode()
{
	MODE=$1
	case "$MODE" in
	full)
		ROOTFS_KIND=debian N_FILES=20000 TREE_D=200 TREE_F=50 BIG_MIB=256
		SPARSE_MIB=1024 MV_N=1000 NEW_N=5000 DD_MIB=512 FIO_SEC=5
		FIO_W_MIB=128 OPS=80000 COMPILE_SET=all RUNS=3 TMO=600 UNTAR_PART=0
		;;
	quick)
		ROOTFS_KIND=debian N_FILES=5000 TREE_D=50 TREE_F=50 BIG_MIB=64
		SPARSE_MIB=1024 MV_N=250 NEW_N=1250 DD_MIB=128 FIO_SEC=1
		FIO_W_MIB=32 OPS=10000 COMPILE_SET=small RUNS=3 TMO=300 UNTAR_PART=1
		;;
	tiny)
		ROOTFS_KIND=tiny N_FILES=200 TREE_D=10 TREE_F=10 BIG_MIB=4
		SPARSE_MIB=16 MV_N=50 NEW_N=100 DD_MIB=4 FIO_SEC=1
		FIO_W_MIB=4 OPS=2000 COMPILE_SET=small RUNS=1 TMO=60 UNTAR_PART=0
		;;
	esac
}

# "openstat" and "fio" stand for their groups.
expand_only()
{
	local w x out=()

	for w in ${1//,/ }; do
		case "$w" in
		openstat | fio)
			for x in "${WORKLOADS[@]}"; do
				[[ $x == "$w"-* ]] && out+=("$x")
			done
			;;
		*)
			declare -F "info_$w" >/dev/null ||
				{ msg "unknown workload '$w' (--list)"; exit 2; }
			out+=("$w")
			;;
		esac
	done
	printf '%s\n' "${out[@]}"
}

parse_args()
{
	local only='' impl=''

	set_mode quick
	OUT=
	PARTIAL=0
	while [ $# -gt 0 ]; do
		case "$1" in
		--quick) set_mode quick ;;
		--full) set_mode full ;;
		--tiny) set_mode tiny ;;
		--only) only=${2:?}; PARTIAL=1; shift ;;
		--only=*) only=${1#*=}; PARTIAL=1 ;;
		--impl) impl=${2:?}; shift ;;
		--impl=*) impl=${1#*=} ;;
		--runs) RUNS_OPT=${2:?}; shift ;;
		--runs=*) RUNS_OPT=${1#*=} ;;
		--out) OUT=${2:?}; shift ;;
		--out=*) OUT=${1#*=} ;;
		--list)
			printf '%s\n' "${WORKLOADS[@]}"
			exit 0
			;;
		-h | --help) usage ;;
		*) msg "unknown argument '$1'"; usage ;;
		esac
		shift
	done
	[ -n "${RUNS_OPT:-}" ] && RUNS=$RUNS_OPT
	[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { msg "--runs wants a number"; exit 2; }
	SEL_W=("${WORKLOADS[@]}")
	[ -n "$only" ] && mapfile -t SEL_W < <(expand_only "$only")
	SEL_I=("${IMPLS_ALL[@]}")
	# daily work: only the implementations the ratios are taken against
	if [ "$MODE" = quick ]; then
		SEL_I=(layerfs fuse-overlayfs kernel-meta plain)
	fi
	if [ "$impl" = all ]; then
		SEL_I=("${IMPLS_ALL[@]}")
	elif [ -n "$impl" ]; then
		PARTIAL=1
		IFS=, read -r -a SEL_I <<<"$impl"
	fi
	if [ -z "$OUT" ]; then
		OUT=$BENCH/results
		if [ "$MODE" = tiny ]; then
			OUT=$CACHE/results
		fi
	fi
}

find_layerfs()
{
	LAYERFS_SRC=${LAYERFS:-$ROOT/build/fs/layerfs}
	if [ -z "${LAYERFS:-}" ] && [ -f "$ROOT/build/build.ninja" ]; then
		ninja -C "$ROOT/build" fs/layerfs >/dev/null ||
			die "ninja -C build failed"
	fi
	[ -x "$LAYERFS_SRC" ] ||
		die "no layerfs binary at $LAYERFS_SRC (build it: meson setup build && ninja -C build, or set LAYERFS)"
	# one binary for the whole run, even if build/ is rebuilt meanwhile
	LAYERFS_BIN=$RUNDIR/layerfs
	cp "$LAYERFS_SRC" "$LAYERFS_BIN"
}

# ---- machine and versions -------------------------------------------------

versions_line()
{
	local v lfs git

	lfs=$("$LAYERFS_BIN" --version 2>&1 | head -n 1)
	git=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo "?")
	v="$lfs (git $git)"
	command -v fuse-overlayfs >/dev/null &&
		v+=", $(fuse-overlayfs --version 2>/dev/null | grep -m 1 '^fuse-overlayfs')"
	command -v unionfs >/dev/null &&
		v+=", $(dpkg-query -W -f='unionfs-fuse ${Version}' unionfs-fuse 2>/dev/null || echo unionfs-fuse)"
	v+=", kernel overlayfs $(uname -r); compile: $SRC_NOTE"
	printf '%s' "$v"
}

# ---- running --------------------------------------------------------------

# record WORKLOAD IMPL RUN METRIC VALUE STATUS [NOTE]
record()
{
	local note=${7:-}

	note=${note//$'\t'/ }
	note=${note//$'\n'/ }
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" \
		"$note" >>"$RAW"
}

can_drop_caches()
{
	[ -w /proc/sys/vm/drop_caches ] &&
		sync && { echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null
}

# Read the layers' metadata (and W_WARM's data) into the page cache, so
# that the first implementation measured does not pay for it.
prewarm()
{
	local p d

	find "${LOWERDIRS[@]}" "$PLAIN" -printf '' 2>/dev/null || true
	for p in $W_WARM; do
		for d in "${LOWERDIRS[@]}" "$PLAIN"; do
			[ -e "$d/$p" ] || continue
			if [ -d "$d/$p" ]; then
				find "$d/$p" -type f -exec cat {} + >/dev/null
			else
				cat "$d/$p" >/dev/null
			fi
		done
	done
}

# The tree "plain" runs workload W on: the shared copy, or a fresh dir
# with copies of what the workload changes.
plain_tree()
{
	local d=$1 p

	if [ "$W_PLAIN" = ro ]; then
		MNT=$PLAIN
		return 0
	fi
	MNT=$d/plain
	mkdir -p "$MNT"
	for p in $W_PLAIN; do
		mkdir -p "$MNT/$(dirname "$p")"
		cp -a --sparse=always "$PLAIN/$p" "$MNT/$p"
	done
}

# The KiB the upper layer (or plain's fresh copy) uses, after unmount.
upper_kib()
{
	local d=$1 impl=$2

	if [ "$impl" = plain ]; then
		du -sk "$d/plain" | cut -f1
	else
		du -sk "$d/upper" | cut -f1
	fi
}

run_one()
{
	local w=$1 impl=$2 r=$3 d rc=0 res why stats kib

	d=$(mktemp -d "$RUNDIR/$w.$impl.XXXXXX")
	DAEMON_PID=
	if [ "$impl" = plain ]; then
		plain_tree "$d"
	elif ! impl_mount "$impl" "$d" 2>"$d/mount.err"; then
		record "$w" "$impl" "$r" secs "" err \
			"mount failed: $(tail -n 3 "$d/mount.err")"
		[ "$impl" = layerfs ] && LAYERFS_FAILED+=("$w: mount failed")
		_force_umount "$d/mnt" || true
		rm -rf --one-file-system "$d"
		return 0
	fi

	timeout -k 5 "$TMO" bash "$BENCH/wlrun.sh" "$w" "$MNT" "$d/result" \
		>"$d/wl.log" 2>&1 || rc=$?
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		why="timed out after $TMO s"
	elif [ "$rc" -ne 0 ]; then
		why=$(grep -v '^$' "$d/wl.log" | tail -n 2 | tr '\n' ' ')
		why=${why:-exit status $rc}
	fi
	if [ -n "$DAEMON_PID" ]; then
		stats=$(daemon_stats "$DAEMON_PID")
	fi
	if [ "$impl" != plain ] && ! impl_umount "$impl" "$d" 2>>"$d/wl.log"; then
		[ "$rc" -eq 0 ] && rc=1 &&
			why="unmount: $(tail -n 2 "$d/wl.log" | tr '\n' ' ')"
	fi

	if [ "$rc" -eq 0 ]; then
		read -r res <"$d/result"
		record "$w" "$impl" "$r" "${res% *}" "${res#* }" ok
		if [ "$W_UPPER" = 1 ]; then
			kib=$(upper_kib "$d" "$impl")
			record "$w" "$impl" "$r" upper_kib "$kib" ok
		fi
	else
		record "$w" "$impl" "$r" "$W_METRIC" "" err "$why"
		msg "  $impl: FAILED: $why"
		[ "$impl" = layerfs ] && LAYERFS_FAILED+=("$w: $why")
	fi
	if [ -n "${stats:-}" ]; then
		record "$w" "$impl" "$r" rss_kib "${stats% *}" ok
		record "$w" "$impl" "$r" cpu_s "${stats#* }" ok
	fi
	rm -rf --one-file-system "$d"
	sync
}

# Why workload W cannot run at all here ("" if it can).
workload_blocker()
{
	local c

	for c in $W_NEEDS; do
		command -v "$c" >/dev/null || { echo "$c is not installed"; return; }
	done
	if [ "$W_COLD" = 1 ] && [ "$CAN_DROP" = 0 ]; then
		echo "cannot drop the page cache here (needs root)"
	fi
}

run_workload()
{
	local w=$1 r impl why t0

	wl_info "$w"
	why=$(workload_blocker)
	if [ -n "$why" ]; then
		msg "$w: skipped: $why"
		for impl in "${SEL_I[@]}"; do
			record "$w" "$impl" 1 "$W_METRIC" "" na "$why"
		done
		return 0
	fi
	t0=$SECONDS
	printf '%s\t%s\t%s\t%s\n' "$w" "$W_LABEL" "$W_KIND" "$W_METRIC" >>"$WLIST"
	prewarm
	# round robin, so that a noisy minute hits every implementation
	for ((r = 1; r <= RUNS; r++)); do
		for impl in "${SEL_I[@]}"; do
			if [ -n "${IMPL_NA[$impl]:-}" ]; then
				[ "$r" -eq 1 ] && record "$w" "$impl" 1 "$W_METRIC" "" na \
					"${IMPL_NA[$impl]}"
				continue
			fi
			# unionfs-fuse keeps whiteouts in its own .unionfs-fuse dir
			# and cannot rename a lower dir: both are its real behaviour
			run_one "$w" "$impl" "$r"
		done
	done
	msg "$w: done in $((SECONDS - t0)) s"
}

main()
{
	local w impl why started=$SECONDS date base

	parse_args "$@"
	mkdir -p "$CACHE" "$OUT"
	bench_init_rundir "$CACHE"
	find_layerfs

	declare -gA IMPL_NA=()
	for impl in "${SEL_I[@]}"; do
		if ! why=$(impl_check "$impl"); then
			IMPL_NA[$impl]=$why
			msg "$impl: not measured: $why"
		fi
	done
	if [ -n "${IMPL_NA[layerfs]:-}" ]; then
		if [ "$MODE" = tiny ] && [[ ${IMPL_NA[layerfs]} == *fuse* ]]; then
			msg "SKIP: layerfs cannot mount here: ${IMPL_NA[layerfs]}"
			exit 0
		fi
	fi
	CAN_DROP=0
	can_drop_caches && CAN_DROP=1

	build_layers
	export BENCH N_FILES TREE_D TREE_F BIG_MIB SPARSE_MIB MV_N NEW_N DD_MIB \
		FIO_SEC FIO_W_MIB OPS TARBALL TAR_COUNT SYNTH_LAYER
	EXPECT_WALK=$(_walk "$PLAIN")
	export EXPECT_WALK
	OPENSTAT_BIN=$RUNDIR/openstat
	export OPENSTAT_BIN
	if command -v gcc >/dev/null; then
		gcc -O2 -pthread -o "$OPENSTAT_BIN" "$BENCH/openstat.c"
	fi

	date=$(date +%F)
	base=$date-$MODE
	[ "$PARTIAL" = 1 ] && base+=-partial
	RAW=$RUNDIR/raw.tsv
	WLIST=$RUNDIR/workloads.tsv
	: >"$RAW"
	: >"$WLIST"
	LAYERFS_FAILED=()
	msg "mode $MODE, $RUNS run(s), implementations: ${SEL_I[*]}"
	for w in "${SEL_W[@]}"; do
		run_workload "$w"
	done

	{
		printf 'mode\t%s\n' "$MODE"
		printf 'date\t%s\n' "$date"
		printf 'runs\t%s\n' "$RUNS"
		printf 'impls\t%s\n' "$(IFS=,; printf '%s' "${SEL_I[*]}")"
		printf 'machine\t%s\n' "$(machine_line)"
		printf 'versions\t%s\n' "$(versions_line)"
		printf 'command\tbench/run.sh %s\n' "${ARGS_TEXT}"
		printf 'sizes\t%s\n' "rootfs: $ROOTFS_KIND, untar of $(basename "$TARBALL") ($TAR_COUNT entries), $N_FILES-file dir, tree ${TREE_D}x$TREE_F, $BIG_MIB MiB file, $SPARSE_MIB MiB sparse file, $MV_N files to move, $NEW_N files created/removed, dd $DD_MIB MiB, fio ${FIO_SEC} s per run; page cache drop: $([ "$CAN_DROP" = 1 ] && echo yes || echo no)"
		printf 'wall\t%s\n' "$(((SECONDS - started) / 60)) min $(((SECONDS - started) % 60)) s"
	} >"$RUNDIR/meta.tsv"
	cp "$RAW" "$OUT/$base.tsv"
	python3 "$BENCH/bench.py" report "$RAW" "$RUNDIR/meta.tsv" "$WLIST" \
		"$OUT/$base.md"
	msg "results: $OUT/$base.md ($((SECONDS - started)) s)"

	if [ "${#LAYERFS_FAILED[@]}" -gt 0 ]; then
		msg "layerfs failed ${#LAYERFS_FAILED[@]} workload run(s):"
		for w in "${LAYERFS_FAILED[@]}"; do
			msg "  $w"
		done
		return 1
	fi
	return 0
}

ARGS_TEXT="$*"
main "$@"
