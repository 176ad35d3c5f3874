#!/usr/bin/env bash
# lib.sh's cleanup works: a test that mounts layerfs and then is killed or
# fails midway leaves no mount, no process and no temp dir behind.
#
# Each case runs a child test (sourcing lib.sh like any t-*.sh) in its own
# session, waits until it has mounted and started a background process, then:
#   timeout  what meson does on timeout: SIGTERM to the child's process
#            group, SIGKILL to the group 0.5 s later (the child is busy in a
#            foreground command at that moment)
#   term     SIGTERM to the child's bash only (its daemon gets nothing)
#   fail     the child fails an assertion with the mount live
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_fuse
need_cmd setsid

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

cat >"$T/child.sh" <<'EOF'
. "$LIB"
mkdir -p "$T/lower" "$T/upper" "$T/work"
put "$T/lower/file" "lower"
lfs_mount "$T/mnt" "lowerdir=$T/lower" "upperdir=$T/upper" "workdir=$T/work"
lfs_bg sleep 300
echo "written through the mount" >"$T/mnt/new"
# T, mountpoint, daemon PID, background PID, own process group
printf '%s %s %s %s %s\n' "$T" "$T/mnt" "$LFS_PID" "$LFS_BG_PID" \
	"$(ps -o pgid= -p $$ | tr -d ' ')" >"$STATE.tmp"
mv "$STATE.tmp" "$STATE"
case "$MODE" in
timeout) sleep 300 ;;
term) wait ;;
fail)
	# fail only once the parent has seen the mount
	until [ -e "$STATE.go" ]; do sleep 0.05; done
	assert_eq "mounted" "failed" "an assertion fails midway (expected)"
	;;
esac
echo "child: not reached" >&2
exit 9
EOF

# A zombie waiting for a reaper is gone for our purpose.
gone()
{
	local st

	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 0
	case "$st" in
	Z*) return 0 ;;
	*) return 1 ;;
	esac
}

wait_for_file()
{
	local deadline=$((SECONDS + $2))

	until [ -s "$1" ]; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

run_case()
{
	local mode=$1 want_rc=$2 state="$T/state-$1" child st=0
	local ct cmnt cdaemon cbg cpgid

	note "case $mode"
	LIB="$here/lib.sh" STATE="$state" MODE="$mode" \
		lfs_bg setsid bash "$T/child.sh"
	child=$LFS_BG_PID
	if ! wait_for_file "$state" 60; then
		wait "$child" || st=$?
		fail "$mode: the child never got its mount up (exit $st)"
	fi
	read -r ct cmnt cdaemon cbg cpgid <"$state"
	assert_mounted "$cmnt" "$mode: child mount is live"
	assert_ne "$cpgid" "$(ps -o pgid= -p $$ | tr -d ' ')" \
		"$mode: child has its own process group"

	case "$mode" in
	timeout)
		kill -TERM -- "-$cpgid"
		sleep 0.5
		kill -KILL -- "-$cpgid" 2>/dev/null || true
		;;
	term)
		kill -TERM "$child"
		;;
	fail)
		touch "$state.go"
		;;
	esac
	_lfs_wait_gone 20 "$child" || fail "$mode: child still running"
	wait "$child" || st=$?
	assert_eq "$st" "$want_rc" "$mode: child exit status"

	assert_not_mounted "$cmnt" "$mode: child mount removed"
	gone "$cdaemon" || fail "$mode: daemon (pid $cdaemon) still running"
	gone "$cbg" || fail "$mode: background process (pid $cbg) still running"
	assert_not_exists "$ct" "$mode: child temp dir $ct removed"
}

run_case timeout 143
run_case term 143
run_case fail 1
note "ok"
