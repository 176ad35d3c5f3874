#!/usr/bin/env bash
# Build the libFuzzer harnesses (tests/fuzz/) and run each for a while.
#
# usage: scripts/fuzz.sh [--seconds N] [--jobs J] [--build-dir DIR] [NAME...]
#   NAME        untar, options, oci, whiteout (default: all)
#   --seconds   how long each harness runs (default 60)
#   --jobs      fuzzing processes per harness, sharing its corpus
#               (default 1); the harnesses run one after the other
#   --build-dir the clang build (default build-fuzz/, -Dfuzz=true with
#               ASan and UBSan)
#
# Each harness runs on a COPY of its checked-in corpus (tests/fuzz/corpus/
# NAME/ is never grown here) in DIR/fuzz-out/NAME/, with the dictionary
# tests/fuzz/NAME.dict when there is one. Printed per harness: execs run,
# execs/s, corpus size (inputs), libFuzzer's cov: and ft: figures, crashes.
# A crash (or leak, timeout, out-of-memory) leaves its input in
# DIR/fuzz-out/NAME/ and a one-line repro command; the exit status is then
# 1. Scratch files go to a fresh dir under /dev/shm (or TMPDIR), removed
# at the end.
set -euo pipefail

cd "$(dirname "$0")/.."

all=(untar options oci whiteout)
seconds=60
jobs=1
bdir=build-fuzz
names=()

usage()
{
	sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
	exit "${1:-2}"
}

while [ $# -gt 0 ]; do
	case "$1" in
	--seconds) seconds=${2:?}; shift 2 ;;
	--jobs) jobs=${2:?}; shift 2 ;;
	--build-dir) bdir=${2:?}; shift 2 ;;
	-h | --help) usage 0 ;;
	-*) echo "fuzz.sh: unknown option '$1'" >&2; usage ;;
	*) names+=("$1"); shift ;;
	esac
done
[ ${#names[@]} -eq 0 ] && names=("${all[@]}")
for n in "${names[@]}"; do
	case " ${all[*]} " in
	*" $n "*) ;;
	*) echo "fuzz.sh: unknown harness '$n' (${all[*]})" >&2; exit 2 ;;
	esac
done
case "$seconds$jobs" in
*[!0-9]*) echo "fuzz.sh: --seconds and --jobs take numbers" >&2; exit 2 ;;
esac

build()
{
	local -a opts=(-Dfuzz=true -Db_sanitize=address,undefined
		-Db_lundef=false -Dbuildtype=debugoptimized)
	local -a targets=()

	if [ -f "$bdir/build.ninja" ]; then
		meson setup --reconfigure "$bdir" "${opts[@]}" >/dev/null ||
			CC=clang meson setup --wipe "$bdir" "${opts[@]}" >/dev/null
	else
		CC=clang meson setup "$bdir" "${opts[@]}" >/dev/null
	fi
	for n in "${names[@]}"; do
		targets+=("tests/fuzz/fuzz-$n")
	done
	ninja -C "$bdir" "${targets[@]}" >/dev/null
}

# The value of "key: N" in libFuzzer's last status line of a log.
status_field()
{
	grep -aE '^#[0-9]+' "$1" | tail -1 |
		sed -nE "s/.*[[:space:]]$2: ([0-9]+).*/\\1/p"
}

# run NAME: fuzz it, print its line; 1 when it found something
run()
{
	local name=$1 out=$bdir/fuzz-out/$1 bin=$bdir/tests/fuzz/fuzz-$1
	local -a args=(-max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048
		-print_final_stats=1 -artifact_prefix="$out/")
	local -a pids=() found=()
	local i execs=0 secs=0 cov=0 ft=0 corp n

	rm -rf "$out"
	mkdir -p "$out/corpus"
	cp tests/fuzz/corpus/"$name"/* "$out/corpus/"
	[ -f "tests/fuzz/$name.dict" ] && args+=(-dict="tests/fuzz/$name.dict")
	[ "$name" = untar ] && args+=(-max_len=65536)
	secs=$SECONDS
	for ((i = 0; i < jobs; i++)); do
		"$bin" "${args[@]}" "$out/corpus" >"$out/log.$i" 2>&1 &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" || true
	done
	secs=$((SECONDS - secs)) # wall time: a crashed job prints no "Done"
	for ((i = 0; i < jobs; i++)); do
		# final stats, or the last status line of a job that crashed
		n=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' \
			"$out/log.$i" | tail -1)
		[ -n "$n" ] || n=$(grep -aE '^#[0-9]+' "$out/log.$i" | tail -1 |
			sed -nE 's/^#([0-9]+).*/\1/p')
		execs=$((execs + ${n:-0}))
		n=$(status_field "$out/log.$i" cov)
		[ "${n:-0}" -gt "$cov" ] && cov=$n
		n=$(status_field "$out/log.$i" ft)
		[ "${n:-0}" -gt "$ft" ] && ft=$n
	done
	corp=$(find "$out/corpus" -type f | wc -l)
	mapfile -t found < <(find "$out" -maxdepth 1 -type f \
		\( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
		-o -name 'oom-*' -o -name 'slow-unit-*' \) | sort)
	printf 'fuzz %-9s %10d execs  %7d execs/s  corpus %6d  cov %5d  ft %6d  crashes %d\n' \
		"$name" "$execs" $((execs / (secs > 0 ? secs : 1))) "$corp" \
		"$cov" "$ft" "${#found[@]}"
	[ ${#found[@]} -eq 0 ] && return 0
	for f in "${found[@]}"; do
		case "$f" in */slow-unit-*) continue ;; esac
		echo "  found: $f"
		echo "  repro: $bin $f"
	done
	grep -aE -m1 -A12 '^==[0-9]+==ERROR|property failed|^SUMMARY' \
		"$out"/log.* | head -30 | sed 's/^/  | /' || true
	# slow units are reported, not failures
	for f in "${found[@]}"; do
		case "$f" in */slow-unit-*) ;; *) return 1 ;; esac
	done
	return 0
}

main()
{
	local status=0 n

	echo "fuzz.sh: building ${names[*]} in $bdir/"
	build
	LAYERFS_FUZZ_TMP=$(mktemp -d "$( [ -w /dev/shm ] && echo /dev/shm ||
		echo "${TMPDIR:-/tmp}")/layerfs-fuzz.XXXXXX")
	export LAYERFS_FUZZ_TMP
	trap 'rm -rf "$LAYERFS_FUZZ_TMP"' EXIT
	export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=1:symbolize=1"
	export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1"
	echo "fuzz.sh: ${seconds}s each, $jobs job(s), corpus copies in $bdir/fuzz-out/"
	for n in "${names[@]}"; do
		run "$n" || status=1
	done
	[ "$status" -eq 0 ] || echo "fuzz.sh: crashes found (inputs and repro lines above)" >&2
	return "$status"
}

main
