#!/usr/bin/env bash
# Build layerfs and run every test: the README's test command and CI's.
#
#   1. scripts/install-deps.sh test bench (quiet when all is installed)
#   2. format check (scripts/check-format.sh; counts as the test "format")
#   3. pass "default": build/ (debugoptimized), meson test, all suites
#   4. pass "asan": build-asan/ with ASan+UBSan, unit and integ suites;
#      any sanitizer report aborts the program, so the test fails
#   5. fuzz: scripts/fuzz.sh runs each libFuzzer harness (tests/fuzz/)
#      for LAYERFS_FUZZ_SECONDS (default 60) on a copy of its corpus; any
#      crash fails it
#   6. bench/run.sh, bench/store.sh and bench/commit.sh on tiny sizes (so
#      they cannot rot; timings never fail the run)
#   7. scripts/test-summary.py: the tests that did not pass, then exactly
#      one last line "N passed, N failed, N skipped" over both passes
#
# Exit status 0 only when nothing failed. As root with /dev/fuse (CI), a
# skipped test is a failure: there every test can and must run.
#
# Environment:
#   LAYERFS_TEST_JOBS=N        meson test --num-processes (default 2)
#   LAYERFS_SKIP_IS_FAILURE=0|1  override the CI skip policy above
#   LAYERFS_FUZZ_SECONDS=N     seconds per fuzz harness (default 60)
set -euo pipefail

cd "$(dirname "$0")/.."

jobs=${LAYERFS_TEST_JOBS:-2}
extra=()   # results that are not meson tests, NAME=RESULT
logs=()    # LABEL=testlog.json, one per pass
status=0

section()
{
	printf '\n======== %s ========\n' "$*"
}

# Configure BUILDDIR with the given options (reconfigure if it exists:
# options given here win over what a developer set), then build it.
setup_and_build()
{
	local dir=$1
	shift

	if [ -f "$dir/build.ninja" ]; then
		# A build dir from another meson version cannot be reconfigured.
		meson setup --reconfigure "$dir" "$@" ||
			meson setup --wipe "$dir" "$@"
	else
		meson setup "$dir" "$@"
	fi
	meson compile -C "$dir"
}

# run_pass LABEL BUILDDIR TIMEOUT_MULTIPLIER [meson setup args] -- [meson test args]
run_pass()
{
	local label=$1 dir=$2 mult=$3
	local -a setup_args=() test_args=()
	shift 3

	while [ $# -gt 0 ] && [ "$1" != "--" ]; do
		setup_args+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift
	test_args=("$@")

	section "$label: setup and build ($dir)"
	# A stale log must never be counted as this run's.
	rm -f "$dir/meson-logs/testlog.json"
	if ! setup_and_build "$dir" "${setup_args[@]}"; then
		echo "test.sh: $label: setup or build failed" >&2
		extra+=("$label build=FAIL")
		status=1
		return 0
	fi
	logs+=("$label=$dir/meson-logs/testlog.json")

	section "$label: tests"
	if ! meson test -C "$dir" --print-errorlogs --num-processes "$jobs" \
		--timeout-multiplier "$mult" "${test_args[@]}"; then
		status=1
	fi
}

# tiny_bench NAME CMD...: a benchmark script on tiny sizes, so it cannot
# rot (timings never fail it; a workload that breaks does)
tiny_bench()
{
	local name=$1

	shift
	section "$name"
	if "$@"; then
		extra+=("$name=OK")
	else
		extra+=("$name=FAIL")
		status=1
	fi
}

skip_is_failure()
{
	case "${LAYERFS_SKIP_IS_FAILURE:-auto}" in
	0) return 1 ;;
	1) return 0 ;;
	esac
	[ "$(id -u)" -eq 0 ] && [ -c /dev/fuse ]
}

main()
{
	local -a summary_args=()

	section "dependencies"
	bash scripts/install-deps.sh test bench
	echo "all Debian packages present"

	section "format"
	if bash scripts/check-format.sh; then
		extra+=("format=OK")
	else
		extra+=("format=FAIL")
		status=1
	fi

	run_pass default build 1

	# halt_on_error/abort_on_error: a UBSan report kills the program like
	# an ASan one does, instead of printing and carrying on.
	export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=1:print_summary=1:detect_stack_use_after_return=1"
	export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:print_summary=1"
	run_pass asan build-asan 2 \
		-Db_sanitize=address,undefined -Db_lundef=false \
		-- --suite unit --suite integ
	unset ASAN_OPTIONS UBSAN_OPTIONS

	# each fuzz harness for a while (its own build-fuzz/, clang); a crash
	# fails the step and leaves the input and a repro line in the log
	tiny_bench fuzz bash scripts/fuzz.sh \
		--seconds "${LAYERFS_FUZZ_SECONDS:-60}"

	# the benchmark script on tiny sizes, so it cannot rot (timings never
	# fail it; a workload that breaks on layerfs does)
	tiny_bench bench-tiny bash bench/run.sh --tiny
	tiny_bench bench-store-tiny env LAYERCTL="$PWD/build/tools/layerctl" \
		bash bench/store.sh --tiny
	tiny_bench bench-commit-tiny env LAYERCTL="$PWD/build/tools/layerctl" \
		bash bench/commit.sh --tiny

	section "result"
	skip_is_failure && summary_args+=(--skip-is-failure)
	for e in "${extra[@]}"; do
		summary_args+=(--extra "$e")
	done
	python3 scripts/test-summary.py "${summary_args[@]}" "${logs[@]}" ||
		status=1
	return "$status"
}

main "$@"
