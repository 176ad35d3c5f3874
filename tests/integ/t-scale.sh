#!/usr/bin/env bash
# Cost grows linearly with the size of a directory. For N = 5,000 and
# N = 20,000: one directory with N empty files in a lower layer and N
# other names in a second lower layer (2N entries merged). On a fresh
# mount, time `stat` of the directory, `ls -l` of it, then `rm` of 5,000
# of the lower files; the 20k/5k ratio of each must stay below 8 (linear:
# 4 for stat and ls, 1 for rm, which removes the same count; quadratic:
# 16). The upper then holds exactly 5,000 .wh. files and the listing
# shows the right names.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_fuse

SMALL=5000
BIG=20000
NRM=5000
MAX_RATIO=8
# below this, a time is noise (a stat of a directory takes microseconds)
FLOOR_US=100000

for n in $SMALL $BIG; do
	mkdir -p "$T/$n/l1/d" "$T/$n/l2/d"
	(cd "$T/$n/l1/d" && seq -f "a%06g" 1 "$n" | xargs touch)
	(cd "$T/$n/l2/d" && seq -f "b%06g" 1 "$n" | xargs touch)
	assert_eq "$(find "$T/$n/l1/d" "$T/$n/l2/d" -type f | wc -l)" $((2 * n)) \
		"lower files for N=$n"
done

# Upper layers on a tmpfs when we may mount one: whiteouts are then
# created without the disk's noise (this machine may be busy).
UPPERS=$T/uppers
mkdir -p "$UPPERS"
if [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=512m tmpfs "$UPPERS"; then
	note "upper layers on a tmpfs"
fi

now_us()
{
	local t=$EPOCHREALTIME

	printf '%s\n' "${t/./}"
}

# measure N RUN: fresh upper on the N layers; sets ST_N, LS_N, RM_N (us).
measure()
{
	local n=$1 run=$2 m up wk t0 t1 t2 t3 lines names

	up=$UPPERS/$n/run$run/upper
	wk=$UPPERS/$n/run$run/work
	m=$T/$n/run$run/mnt
	mkdir -p "$up" "$wk"
	lfs_mount "$m" "lowerdir=$T/$n/l1:$T/$n/l2" "upperdir=$up" "workdir=$wk"
	t0=$(now_us)
	stat "$m/d" >/dev/null
	t1=$(now_us)
	# shellcheck disable=SC2012 # timing ls -l itself is the point
	lines=$(ls -l "$m/d" | wc -l)
	t2=$(now_us)
	(cd "$m/d" && seq -f "a%06g" 1 "$NRM" | xargs rm --)
	t3=$(now_us)
	printf -v "ST_$n" '%s' $((t1 - t0))
	printf -v "LS_$n" '%s' $((t2 - t1))
	printf -v "RM_$n" '%s' $((t3 - t2))

	assert_eq "$lines" $((2 * n + 1)) "ls -l lines (total + 2N entries) for N=$n"
	names=$(ls -A "$m/d")
	assert_eq "$(count . "$names")" $((2 * n - NRM)) "entries after rm, N=$n"
	assert_eq "$(count '^a' "$names")" $((n - NRM)) "a* names left, N=$n"
	assert_eq "$(count '^b' "$names")" "$n" "b* names (second lower), N=$n"
	assert_eq "$(count '^\.wh\.' "$names")" 0 "whiteouts shown, N=$n"
	assert_not_exists "$m/d/a000001"
	assert_not_exists "$m/d/a00$NRM"
	[ "$n" -le "$NRM" ] || assert_exists "$m/d/a00$((NRM + 1))"
	lfs_umount "$m"
	assert_eq "$(find "$up/d" -maxdepth 1 -name '.wh.*' -type f | wc -l)" "$NRM" \
		"whiteouts in the upper, N=$n"
	assert_eq "$(find "$up/d" -maxdepth 1 -name '.wh.a*' -size 0 | wc -l)" "$NRM" \
		"empty .wh.a* files in the upper, N=$n"
	assert_eq "$(find "$T/$n/l1/d" -type f | wc -l)" "$n" "lower untouched, N=$n"
	rm -rf "$T/$n/run$run" "$UPPERS/$n/run$run"
}

# count REGEX TEXT: matching lines (0 is not an error)
count()
{
	grep -c -- "$1" <<<"$2" || true
}

fmt_s()
{
	printf '%d.%03d' $(($1 / 1000000)) $(($1 % 1000000 / 1000))
}

# ratio_ok SMALL_US BIG_US: big < MAX_RATIO * small, or both are noise.
ratio_ok()
{
	[ "$2" -lt $((MAX_RATIO * $1)) ] || [ "$2" -lt "$FLOOR_US" ]
}

ratio()
{
	local s=$(($1 > 0 ? $1 : 1))

	printf '%d.%02d' $(($2 / s)) $(($2 * 100 / s % 100))
}

report()
{
	local what=$1 s=$2 b=$3

	note "$(printf '%-6s N=%-6s %8ss   N=%-6s %8ss   ratio %s' "$what" \
		"$SMALL" "$(fmt_s "$s")" "$BIG" "$(fmt_s "$b")" "$(ratio "$s" "$b")")"
}

check_all()
{
	ratio_ok "$ST_5000" "$ST_20000" && ratio_ok "$LS_5000" "$LS_20000" &&
		ratio_ok "$RM_5000" "$RM_20000"
}

min()
{
	printf '%s\n' $(($1 < $2 ? $1 : $2))
}

measure "$SMALL" 1
measure "$BIG" 1
report stat "$ST_5000" "$ST_20000"
report ls-l "$LS_5000" "$LS_20000"
report rm "$RM_5000" "$RM_20000"

if ! check_all; then
	note "a ratio is over $MAX_RATIO: measuring once more (the best of two counts)"
	s_st=$ST_5000 s_ls=$LS_5000 s_rm=$RM_5000
	b_st=$ST_20000 b_ls=$LS_20000 b_rm=$RM_20000
	measure "$SMALL" 2
	measure "$BIG" 2
	ST_5000=$(min "$s_st" "$ST_5000") LS_5000=$(min "$s_ls" "$LS_5000")
	RM_5000=$(min "$s_rm" "$RM_5000")
	ST_20000=$(min "$b_st" "$ST_20000") LS_20000=$(min "$b_ls" "$LS_20000")
	RM_20000=$(min "$b_rm" "$RM_20000")
	report stat "$ST_5000" "$ST_20000"
	report ls-l "$LS_5000" "$LS_20000"
	report rm "$RM_5000" "$RM_20000"
fi
ratio_ok "$ST_5000" "$ST_20000" ||
	fail "stat of a directory: 20k/5k = $(ratio "$ST_5000" "$ST_20000") >= $MAX_RATIO"
ratio_ok "$LS_5000" "$LS_20000" ||
	fail "ls -l: 20k/5k = $(ratio "$LS_5000" "$LS_20000") >= $MAX_RATIO (quadratic?)"
ratio_ok "$RM_5000" "$RM_20000" ||
	fail "rm of $NRM files: 20k/5k = $(ratio "$RM_5000" "$RM_20000") >= $MAX_RATIO (cost per unlink grows with the directory)"
note "ok"
