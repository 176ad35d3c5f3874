#!/usr/bin/env bash
# Check the C sources against .clang-format (clang-format 14).
#
# usage: scripts/check-format.sh [-v]
#   -v   show clang-format's diagnostics for every file that differs
#
# Reports every file that clang-format would change and fails (exit 1) if
# there is any. Fix a file with `clang-format -i FILE`.
set -euo pipefail

cd "$(dirname "$0")/.."

verbose=0
[ "${1:-}" = "-v" ] && verbose=1

find_clang_format()
{
	local c

	for c in clang-format-14 clang-format; do
		if command -v "$c" >/dev/null 2>&1; then
			printf '%s' "$c"
			return 0
		fi
	done
	return 1
}

main()
{
	local cf f out n total=0 bad=0 places=0
	local -a files

	if ! cf=$(find_clang_format); then
		echo "check-format: clang-format not found (apt-get install clang-format)" >&2
		return 1
	fi
	mapfile -t files < <(find common fs layerstore tools tests \
		-type f \( -name '*.c' -o -name '*.h' \) 2>/dev/null | LC_ALL=C sort)

	for f in "${files[@]}"; do
		total=$((total + 1))
		if out=$("$cf" --dry-run -Werror "$f" 2>&1); then
			continue
		fi
		bad=$((bad + 1))
		n=$(grep -c 'clang-format-violations' <<<"$out" || true)
		places=$((places + n))
		printf '  %-40s %3d place(s)\n' "$f" "$n"
		[ "$verbose" -eq 1 ] && printf '%s\n' "$out"
	done

	if [ "$bad" -eq 0 ]; then
		echo "check-format: all $total C files match .clang-format"
		return 0
	fi
	echo "check-format: $bad of $total C files differ from .clang-format in $places place(s) (-v shows where; clang-format -i FILE fixes)"
	return 1
}

main "$@"
