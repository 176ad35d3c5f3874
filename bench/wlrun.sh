#!/usr/bin/env bash
# Run one workload once on a mounted tree, for bench/run.sh (which runs it
# under `timeout`, so a hung mount cannot hang the benchmark).
#
# usage: wlrun.sh NAME MERGED_ROOT OUTFILE
#
# Runs prep_NAME, drops the page cache if the workload is a cold one,
# times run_NAME, then check_NAME. Writes "secs S" or "iops N" to
# OUTFILE; exits != 0 with the reason on stderr if a step failed or the
# result is wrong. The environment comes from run.sh (sizes, paths).
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/workloads.sh
. "$BENCH/workloads.sh"

name=$1
m=$2
out=$3
WTMP=$(mktemp -d "${TMPDIR:-/tmp}/lfs-bench-wl.XXXXXX")
trap 'rm -rf "$WTMP"' EXIT

wl_info "$name"
if declare -F "prep_$name" >/dev/null; then
	"prep_$name" "$m" || { echo "prep failed" >&2; exit 1; }
fi
if [ "$W_COLD" = 1 ]; then
	sync
	echo 3 >/proc/sys/vm/drop_caches
fi

t0=$EPOCHREALTIME
if [ "$W_METRIC" = iops ]; then
	iops=$("run_$name" "$m") || { echo "run failed" >&2; exit 1; }
else
	"run_$name" "$m" || { echo "run failed" >&2; exit 1; }
fi
t1=$EPOCHREALTIME

if declare -F "check_$name" >/dev/null; then
	if ! why=$("check_$name" "$m" 2>&1); then
		echo "${why:-check failed}" >&2
		exit 1
	fi
fi
if [ "$W_METRIC" = iops ]; then
	printf 'iops %s\n' "$iops" >"$out"
else
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "secs %.4f\n", b - a }' >"$out"
fi
