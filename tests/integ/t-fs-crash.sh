#!/usr/bin/env bash
# layerfs killed (SIGKILL) during heavy writes loses nothing that was made
# durable. FSCRASH_ROUNDS times (default 10): mount lower + upper (every
# other round with the writeback cache), run writers (fscrash.py) that
# write new files and fsync or fdatasync them, write a temp + fsync +
# rename it over a name + fsync the dir, make a dir + a file + fsync both,
# copy up 3 MiB lower files (sometimes after a chmod: metacopy first) and
# fsync the new header, rename lower files back and forth and delete lower
# files (whiteouts); each logs outside the mount what it made durable.
# Then kill -9 the daemon at a random moment, lazily unmount the dead
# mount, remount the same upper/work and check: every logged file has its
# logged content; no other name shows through the mount (no temp or
# work files, no whiteouts); each copy-up is the lower file or the
# complete new version, never a truncated one; each renamed lower file is
# there exactly once; the work dir's leftovers are gone. The writers must
# have ended with ENOTCONN/ECONNABORTED (the dead mount), not another
# error. Then three kills during the copy-up of a 128 MiB file (once its
# temp object shows in the work dir): after the remount it is the lower
# file or the complete new version. At the end a clean unmount, and the
# upper holds no stray temp.
#
#   FSCRASH_ROUNDS  rounds (default 10)
#   FSCRASH_SEED    seed of $RANDOM (default: random, printed)
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_root
need_fuse
need_cmd python3

ROUNDS=${FSCRASH_ROUNDS:-10}
SEED=${FSCRASH_SEED:-$((RANDOM * 32768 + RANDOM))}
RANDOM=$SEED
PY=$SRCDIR/tests/integ/fscrash.py
KINDS=(fsync fdatasync rename dirsync copyup move delete)

L=$T/lower U=$T/upper W=$T/work M=$T/m/mnt
mkdir -p "$L" "$U" "$W" "$T/m" "$T/log"
python3 "$PY" lower "$L"

# kill_daemon: kill -9 the daemon of $M and reap it; the mount is dead
# (ENOTCONN for everyone) until dead_umount.
kill_daemon()
{
	local pid=$LFS_PID st=0

	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || st=$?
	lfs_forget "$pid"
	[ "$st" -eq 137 ] || fail "round $r: the daemon ended with $st before the kill"
	# the mount is dead: stat fails with ENOTCONN
	if stat "$M" >/dev/null 2>&1; then
		fail "round $r: the mount still answers after the daemon died"
	fi
}

# dead_umount: lazily unmount the dead mount, once the writers are gone
# (or they would write on in the directory under it).
dead_umount()
{
	fusermount3 -u -z "$M" 2>/dev/null || umount -l "$M"
	assert_not_mounted "$M" "round $r: the dead mount is gone"
}

# the options of a round: every other one with the writeback cache
opts_of() { printf 'lowerdir=%s,upperdir=%s,workdir=%s%s' "$L" "$U" "$W" \
	"$([ $(($1 % 2)) -eq 0 ] && echo ,writeback=1)"; }

t0=$SECONDS
total_ops=0 kills=0 inflight=0
for ((r = 1; r <= ROUNDS; r++)); do
	lfs_mount "$M" "$(opts_of "$r")"
	if [ "$r" -gt 1 ]; then
		# the remount of the crashed upper: check before writing more
		python3 "$PY" check "$M" "$L" "$T"/log/* >"$T/check.out" ||
			fail "round $r: after the crash of round $((r - 1)): $(cat "$T/check.out")"
		note "round $r, after the crash: $(cat "$T/check.out")"
		left=$(find "$W" -mindepth 2 -path '*/layerfs-work/*' | head -n 5)
		[ -z "$left" ] || fail "round $r: leftovers in the work dir after the remount: $left"
	fi
	pids=()
	for k in "${KINDS[@]}"; do
		lfs_bg python3 "$PY" write "$k" "$M" "$T/log/$k" "$r" "$RANDOM.$k" >"$T/w-$k.out" 2>&1
		pids+=("$LFS_BG_PID")
	done
	delay=$(awk -v r="$RANDOM" 'BEGIN { printf "%.3f", 0.4 + 2.6 * r / 32767 }')
	sleep "$delay"
	kill_daemon
	kills=$((kills + 1))
	for i in "${!pids[@]}"; do
		st=0
		wait "${pids[i]}" || st=$?
		lfs_forget "${pids[i]}"
		out=$(cat "$T/w-${KINDS[i]}.out")
		[ "$st" -eq 0 ] || fail "round $r: writer ${KINDS[i]} failed ($st): $out"
		case "$out" in
		"ended ENOTCONN "* | "ended ECONNABORTED "*) ;;
		*) fail "round $r: writer ${KINDS[i]} ended with: $out" ;;
		esac
		total_ops=$((total_ops + ${out##* }))
	done
	dead_umount
	# temp objects the daemon had in flight (copy-ups, new files): the
	# remount must drop them
	n=$(find "$W/layerfs-work" -mindepth 1 -maxdepth 1 | wc -l)
	inflight=$((inflight + n))
	note "round $r: daemon killed after ${delay}s with $n temp objects in flight; ops so far $total_ops"
done

# ---- a kill in the middle of a big copy-up ---------------------------------

# The daemon is killed once the copy-up of a 128 MiB lower file has its
# temp object in the work dir: after the remount the file is the lower
# one, whole, or the complete new version (its first byte "X").
exec {SLEEPFD}<> <(:)
head -c $((128 << 20)) /dev/urandom >"$L/huge"
want_tail=$(tail -c +2 "$L/huge" | sha256sum)
mid=0
for n in 1 2 3; do
	lfs_mount "$M" "$(opts_of 1)"
	lfs_bg dd of="$M/huge" conv=notrunc bs=1 count=1 status=none < <(printf X) 2>/dev/null
	dd_pid=$LFS_BG_PID
	for ((k = 0; k < 5000; k++)); do
		[ -z "$(find "$W/layerfs-work" -maxdepth 1 -name 'copyup.*')" ] || break
		read -r -t 0.001 -u "$SLEEPFD" || true
	done
	r="copy-up $n"
	kill_daemon
	wait "$dd_pid" || true
	lfs_forget "$dd_pid"
	tmp=$(find "$W/layerfs-work" -maxdepth 1 -name 'copyup.*' | wc -l)
	mid=$((mid + tmp))
	dead_umount
	lfs_mount "$M" "$(opts_of 1)"
	assert_eq "$(stat -c %s "$M/huge")" $((128 << 20)) "copy-up $n: the size after the kill"
	assert_eq "$(tail -c +2 "$M/huge" | sha256sum)" "$want_tail" "copy-up $n: the data after the kill"
	if [ "$(head -c 1 "$M/huge")" = X ]; then
		first="the new version"
	else
		cmp -s "$M/huge" "$L/huge" || fail "copy-up $n: neither the lower nor the new version"
		first="the lower file"
	fi
	left=$(find "$W" -mindepth 2 -path '*/layerfs-work/*' | head -n 5)
	[ -z "$left" ] || fail "copy-up $n: leftovers in the work dir after the remount: $left"
	note "copy-up $n: killed with $tmp temp object(s) in the work dir; after: $first"
	lfs_umount "$M"
	# the next kill needs a lower-only file again
	rm -f "$U/huge"
done

# the last crash, then a clean end
lfs_mount "$M" "$(opts_of 1)"
python3 "$PY" check "$M" "$L" "$T"/log/* >"$T/check.out" ||
	fail "after the last crash: $(cat "$T/check.out")"
note "after the last crash: $(cat "$T/check.out")"
lfs_umount "$M"
stray=$(find "$U" -name 'copyup.*' -o -name '.tmp*' | head -n 5)
[ -z "$stray" ] || fail "temp objects in the upper layer: $stray"
done_n=$(cat "$T"/log/* | grep -c '^done ')
echo "t-fs-crash: ok: $ROUNDS daemon kills survived in $((SECONDS - t0))s (seed $SEED)," \
	"$total_ops writer ops, $done_n durable ops checked, $inflight temp objects in flight at the kills;" \
	"$mid of 3 kills in the middle of a 128 MiB copy-up"
