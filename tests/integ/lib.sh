# shellcheck shell=bash
# Library for layerfs integration tests. Every tests/integ/t-*.sh starts with
#
#	. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# and then gets:
#   * strict mode (set -euo pipefail) and a message naming the line and
#     command when something fails unexpectedly;
#   * $T, a fresh temporary directory (/tmp/lfs-it.XXXXXX);
#   * one cleanup, run on exit and on INT/TERM/HUP (meson sends SIGTERM to
#     the test's process group on timeout, then SIGKILL 0.5 s later, so the
#     cleanup is quick): it unmounts every mount the test made, kills only
#     the PIDs the test started, then removes $T;
#   * lfs_on_cleanup CMD: CMD runs first in the cleanup (a test's own
#     undoing: stop the containers a client started, ...);
#   * lfs_test_user NAME / lfs_open_fuse: an unprivileged user for the
#     test and /dev/fuse open to users, both undone by the cleanup;
#   * lfs_bg / lfs_forget for background processes, lfs_mount /
#     lfs_umount for layerfs, ovl_mount / ovl_umount for the
#     kernel overlayfs as a reference;
#   * need_* (exit 77 = skip, only when the machine really lacks it);
#   * fail and assert_* helpers.
#
# Environment (meson sets the first three):
#   LAYERFS   the layerfs daemon (fuse-overlayfs has the same command line)
#   LAYERCTL  the layerctl CLI
#   SRCDIR    the source tree
#   LFS_MOUNT_TIMEOUT   seconds to wait for a mount to go live (default 20)
#   LFS_EXIT_TIMEOUT    seconds to wait for a daemon to exit (default 20)
#   LFS_TMP_PREFIX      temp dir name prefix (default lfs-it)
#
# Rules for tests: call lfs_mount/lfs_bg in the test's own shell, never in a
# subshell or $(...), or the cleanup will not know about the mount or PID.

set -euo pipefail

# shellcheck source=scripts/mountinfo.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/mountinfo.sh"
set -o errtrace

LAYERFS=${LAYERFS:-}
LAYERCTL=${LAYERCTL:-}
SRCDIR=${SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
LFS_MOUNT_TIMEOUT=${LFS_MOUNT_TIMEOUT:-20}
LFS_EXIT_TIMEOUT=${LFS_EXIT_TIMEOUT:-20}
export LAYERFS LAYERCTL SRCDIR

_lfs_prefix=${LFS_TMP_PREFIX:-lfs-it}
T=$(mktemp -d "/tmp/${_lfs_prefix}.XXXXXX")
T=$(realpath "$T") # mountinfo shows canonical paths
export T

_lfs_mounts=()          # mountpoints in mount order
declare -A _lfs_mnt_pid # mountpoint -> daemon PID (layerfs mounts only)
declare -A _lfs_mnt_log # mountpoint -> daemon output file
_lfs_pids=()            # every PID started through lfs_mount / lfs_bg
_lfs_hooks=()           # lfs_on_cleanup commands
_lfs_user=              # lfs_test_user's user, and whether it made it
LFS_USER_MADE=0
_lfs_fuse_mode=         # /dev/fuse's mode before lfs_open_fuse
_lfs_seq=0

# ---- messages -------------------------------------------------------------

note()
{
	printf '# %s\n' "$*"
}

fail()
{
	local i=1

	printf 'FAIL: %s\n' "$*" >&2
	# Name the test line that called the failing helper.
	while [ "${BASH_SOURCE[$i]:-}" = "${BASH_SOURCE[0]}" ]; do
		i=$((i + 1))
	done
	if [ -n "${BASH_SOURCE[$i]:-}" ]; then
		printf '      at %s:%s\n' "${BASH_SOURCE[$i]##*/}" \
			"${BASH_LINENO[$((i - 1))]}" >&2
	fi
	exit 1
}

skip()
{
	printf 'SKIP: %s\n' "$*" >&2
	exit 77
}

# set -e alone exits silently; say what failed and where.
_lfs_on_err()
{
	local st=$1 line=$2 cmd=$3

	printf 'FAIL: %s:%s: command exited %s: %s\n' \
		"${BASH_SOURCE[1]##*/}" "$line" "$st" "$cmd" >&2
}

# ---- cleanup --------------------------------------------------------------

# Unmount whatever is at $1, however it can be done, without hanging.
_lfs_force_umount()
{
	local mnt=$1 n

	for n in 1 2 3 4 5; do
		is_mounted "$mnt" || return 0
		case "$n" in
		1) timeout 5 fusermount3 -u "$mnt" ;;
		2) timeout 5 umount "$mnt" ;;
		3) timeout 5 fusermount3 -uz "$mnt" ;;
		*) timeout 5 umount -l "$mnt" ;;
		esac
	done >/dev/null 2>&1
	is_mounted "$mnt" || return 0
	printf 'cleanup: cannot unmount %s\n' "$mnt" >&2
	return 1
}

_lfs_alive()
{
	kill -0 "$1" 2>/dev/null
}

# Wait up to $1 seconds for the PIDs that follow to exit. 0 if all did.
_lfs_wait_gone()
{
	local deadline=$((SECONDS + $1)) p busy
	shift

	while :; do
		busy=0
		for p in "$@"; do
			if _lfs_alive "$p"; then
				busy=1
				break
			fi
		done
		[ "$busy" -eq 0 ] && return 0
		[ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 0.05
	done
}

# lfs_end_pids PID...: TERM, a grace time of 3 s, then KILL.
lfs_end_pids()
{
	[ $# -eq 0 ] && return 0
	kill -TERM "$@" 2>/dev/null
	if ! _lfs_wait_gone 3 "$@"; then
		kill -KILL "$@" 2>/dev/null
		_lfs_wait_gone 2 "$@"
	fi
	return 0
}

# lfs_user_pids USER: the processes running as USER (for a user the test
# created, which runs only what the test started).
lfs_user_pids()
{
	local u d

	u=$(id -u "$1" 2>/dev/null) || return 0
	for d in /proc/[0-9]*; do
		[ "$(stat -c %u "$d" 2>/dev/null)" = "$u" ] &&
			printf '%s\n' "${d#/proc/}"
	done
	return 0
}

# TERM, a grace time, then KILL; only the PIDs this test started.
_lfs_kill_pids()
{
	local p live=()

	for p in "${_lfs_pids[@]}"; do
		_lfs_alive "$p" && live+=("$p")
	done
	[ "${#live[@]}" -eq 0 ] && return 0
	lfs_end_pids "${live[@]}"
	for p in "${live[@]}"; do
		wait "$p" 2>/dev/null
	done
	return 0
}

cleanup()
{
	local rc=${1:-$?} i m

	# A second signal must not cut the cleanup short; run it once.
	trap '' INT TERM HUP
	trap - EXIT ERR
	set +e +u
	for ((i = ${#_lfs_hooks[@]} - 1; i >= 0; i--)); do
		eval "${_lfs_hooks[i]}"
	done
	for ((i = ${#_lfs_mounts[@]} - 1; i >= 0; i--)); do
		_lfs_force_umount "${_lfs_mounts[i]}"
	done
	# shellcheck disable=SC2046 # one PID a word
	[ "$LFS_USER_MADE" -eq 1 ] && lfs_end_pids $(lfs_user_pids "$_lfs_user")
	_lfs_kill_pids
	while IFS= read -r m; do
		[ -n "$m" ] && _lfs_force_umount "$m"
	done < <(mi_mounts_under "$T")
	[ -n "$_lfs_fuse_mode" ] && chmod "$_lfs_fuse_mode" /dev/fuse
	if [ "$LFS_USER_MADE" -eq 1 ]; then
		userdel -r "$_lfs_user" >/dev/null 2>&1 ||
			printf 'cleanup: userdel %s failed\n' "$_lfs_user" >&2
	fi
	# --one-file-system: never delete through a mount that is still there.
	case "${T##*/}" in
	"$_lfs_prefix".??????)
		rm -rf --one-file-system "$T" 2>/dev/null ||
			printf 'cleanup: could not remove %s\n' "$T" >&2
		;;
	esac
	exit "$rc"
}

trap '_lfs_on_err $? $LINENO "$BASH_COMMAND"' ERR
trap 'cleanup $?' EXIT
trap 'cleanup 130' INT
trap 'cleanup 143' TERM
trap 'cleanup 129' HUP

# ---- processes and mounts -------------------------------------------------

# lfs_on_cleanup CMD: eval CMD at the start of the cleanup, before
# lib.sh unmounts and kills; the last one registered runs first, as
# undoing goes.
lfs_on_cleanup()
{
	_lfs_hooks+=("$*")
}

# lfs_test_user NAME [USERADD-OPTION...]: an unprivileged user for the
# test, made with useradd -m and the options unless it exists. When it
# made it (LFS_USER_MADE=1), the cleanup ends the user's processes (it
# runs only what the test started) and removes it. Sets LFS_UID and
# LFS_GID.
lfs_test_user()
{
	local name=$1

	shift
	_lfs_user=$name
	if ! id -u "$name" >/dev/null 2>&1; then
		useradd -m "$@" "$name" || fail "useradd $name"
		LFS_USER_MADE=1
	fi
	LFS_UID=$(id -u "$name")
	LFS_GID=$(id -g "$name")
	[ "$LFS_UID" -ne 0 ] || fail "$name has uid 0"
}

# lfs_open_fuse: let users open /dev/fuse (mode 0600 where no udev runs)
# until the cleanup puts its mode back.
lfs_open_fuse()
{
	[ -n "$_lfs_fuse_mode" ] || _lfs_fuse_mode=$(stat -c %a /dev/fuse)
	chmod 0666 /dev/fuse
}

# Start CMD... in the background and have the cleanup kill it.
# Sets LFS_BG_PID.
lfs_bg()
{
	"$@" &
	LFS_BG_PID=$!
	_lfs_pids+=("$LFS_BG_PID")
}

# After waiting for a PID lfs_bg started: drop it from the cleanup's list,
# lest the cleanup signal whatever process reuses the number later (tests
# that start thousands of processes; pid_max may be 32768).
lfs_forget()
{
	local p keep=()

	for p in "${_lfs_pids[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	_lfs_pids=("${keep[@]}")
}

# lfs_mount MNT OPT[,OPT...] [OPT...]
# Runs "$LAYERFS -f -o OPTS MNT" in the background (the options are joined
# with commas) and returns once the mount is live. The daemon's stdout and
# stderr go to a log file (lfs_log MNT). Sets LFS_PID.
lfs_mount()
{
	local mnt=$1 opts log pid deadline st=0
	shift
	opts=$(IFS=,; printf '%s' "$*")

	[ -n "$LAYERFS" ] || fail "LAYERFS is not set (meson sets it; or LAYERFS=/path/to/layerfs)"
	[ -x "$LAYERFS" ] || fail "LAYERFS=$LAYERFS is not an executable"
	mkdir -p "$mnt"
	mnt=$(realpath "$mnt")
	is_mounted "$mnt" && fail "lfs_mount: $mnt is already a mountpoint"
	_lfs_seq=$((_lfs_seq + 1))
	log="$T/.layerfs-$_lfs_seq.log"

	"$LAYERFS" -f -o "$opts" "$mnt" >"$log" 2>&1 &
	pid=$!
	_lfs_pids+=("$pid")
	_lfs_mounts+=("$mnt")
	_lfs_mnt_pid[$mnt]=$pid
	_lfs_mnt_log[$mnt]=$log
	# shellcheck disable=SC2034 # for the tests
	LFS_PID=$pid

	deadline=$((SECONDS + LFS_MOUNT_TIMEOUT))
	until is_mounted "$mnt"; do
		if ! _lfs_alive "$pid"; then
			wait "$pid" || st=$?
			_lfs_show_log "$log"
			fail "layerfs exited with status $st before $mnt was mounted (-o $opts)"
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			_lfs_show_log "$log"
			fail "$mnt not mounted after ${LFS_MOUNT_TIMEOUT}s (-o $opts)"
		fi
		sleep 0.02
	done
	# Mounted is not yet answering: make sure FUSE INIT is done.
	if ! timeout "$LFS_MOUNT_TIMEOUT" stat -f "$mnt" >/dev/null; then
		_lfs_show_log "$log"
		fail "$mnt is mounted but does not answer"
	fi
}

_lfs_show_log()
{
	[ -s "$1" ] || return 0
	printf -- '--- daemon output (%s) ---\n' "$1" >&2
	tail -n 50 "$1" >&2
	printf -- '--- end of daemon output ---\n' >&2
}

# Print what the daemon of MNT wrote so far.
lfs_log()
{
	local log=${_lfs_mnt_log[$(realpath "$1")]:-}

	[ -n "$log" ] && cat "$log"
}

# lfs_umount MNT: unmount, wait for the daemon and require exit status 0.
lfs_umount()
{
	local mnt pid log st=0

	mnt=$(realpath "$1")
	pid=${_lfs_mnt_pid[$mnt]:-}
	log=${_lfs_mnt_log[$mnt]:-}
	[ -n "$pid" ] || fail "lfs_umount: $mnt was not mounted by lfs_mount"
	is_mounted "$mnt" || fail "lfs_umount: $mnt is not mounted (daemon died?)"
	if ! timeout 10 fusermount3 -u "$mnt"; then
		_lfs_show_log "$log"
		fail "fusermount3 -u $mnt failed"
	fi
	if ! _lfs_wait_gone "$LFS_EXIT_TIMEOUT" "$pid"; then
		_lfs_show_log "$log"
		fail "layerfs (pid $pid) still running ${LFS_EXIT_TIMEOUT}s after unmount"
	fi
	wait "$pid" || st=$?
	unset "_lfs_mnt_pid[$mnt]"
	if [ "$st" -ne 0 ]; then
		_lfs_show_log "$log"
		fail "layerfs exited with status $st after unmounting $mnt"
	fi
}

# ovl_mount MNT OPT[,OPT...] [OPT...]: the kernel overlayfs, as a reference.
ovl_mount()
{
	local mnt=$1 opts
	shift
	opts=$(IFS=,; printf '%s' "$*")

	mkdir -p "$mnt"
	mnt=$(realpath "$mnt")
	_lfs_mounts+=("$mnt")
	mount -t overlay overlay -o "$opts" "$mnt" ||
		fail "mount -t overlay -o $opts $mnt failed"
}

ovl_umount()
{
	umount "$1" || fail "umount $1 failed"
}

# ---- requirements: exit 77 only when the machine lacks something ----------

need_root()
{
	[ "$(id -u)" -eq 0 ] || skip "needs root"
}

need_cmd()
{
	local c

	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 ||
			skip "needs the command '$c' (scripts/install-deps.sh test installs it)"
	done
}

need_fuse()
{
	[ -c /dev/fuse ] || skip "needs /dev/fuse"
	{ : <>/dev/fuse; } 2>/dev/null || skip "cannot open /dev/fuse"
	need_cmd fusermount3
}

need_userns()
{
	need_cmd unshare
	unshare --user --map-root-user true 2>/dev/null ||
		skip "cannot create a user namespace (unshare -Ur failed)"
}

need_overlay()
{
	need_root
	grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null ||
		true
	grep -qw overlay /proc/filesystems ||
		skip "the kernel has no overlay filesystem"
}

# ---- assertions -----------------------------------------------------------

assert_eq()
{
	[ "$1" = "$2" ] ||
		fail "${3:-values differ}: got '$1', expected '$2'"
}

assert_ne()
{
	[ "$1" != "$2" ] || fail "${3:-values are equal}: both '$1'"
}

# assert_file_content FILE EXPECTED [MSG] (exact bytes, trailing newlines
# of the file included: EXPECTED is compared to the whole file)
assert_file_content()
{
	local f=$1 want=$2 got

	[ -f "$f" ] || fail "${3:-$f}: no such regular file: $f"
	got=$(cat "$f"; printf x)
	got=${got%x}
	[ "$got" = "$want" ] ||
		fail "${3:-content of $f}: got '$got', expected '$want'"
}

# Like assert_file_content but EXPECTED has no trailing newline and the
# file's are ignored (the usual echo-wrote-it case).
assert_file_text()
{
	local f=$1 want=$2 got

	[ -f "$f" ] || fail "${3:-$f}: no such regular file: $f"
	got=$(cat "$f")
	[ "$got" = "$want" ] ||
		fail "${3:-content of $f}: got '$got', expected '$want'"
}

assert_exists()
{
	[ -e "$1" ] || [ -L "$1" ] || fail "${2:-$1 should exist}"
}

assert_not_exists()
{
	if [ -e "$1" ] || [ -L "$1" ]; then
		fail "${2:-$1 should not exist}"
	fi
}

assert_file()
{
	if [ ! -f "$1" ] || [ -L "$1" ]; then
		fail "${2:-$1 should be a regular file}"
	fi
}

assert_dir()
{
	if [ ! -d "$1" ] || [ -L "$1" ]; then
		fail "${2:-$1 should be a directory}"
	fi
}

assert_symlink()
{
	[ -L "$1" ] || fail "${2:-$1 should be a symlink}"
}

assert_mounted()
{
	is_mounted "$(realpath "$1")" || fail "${2:-$1 should be mounted}"
}

assert_not_mounted()
{
	! is_mounted "$(realpath -m "$1")" || fail "${2:-$1 should not be mounted}"
}

# assert_ls DIR "name1 name2 ..." [MSG]: the exact sorted entry list.
assert_ls()
{
	local got

	# shellcheck disable=SC2012 # test names are plain
	got=$(LC_ALL=C ls -A "$1" | tr '\n' ' ')
	got=${got% }
	assert_eq "$got" "$2" "${3:-entries of $1}"
}

# assert_fails CMD...: CMD must exit non-zero.
assert_fails()
{
	if "$@" >/dev/null 2>&1; then
		fail "should have failed: $*"
	fi
}

# assert_fails_with TEXT CMD...: CMD must fail and say TEXT on stderr
# (e.g. "Invalid argument" for EINVAL).
assert_fails_with()
{
	local text=$1 err
	shift

	if err=$("$@" 2>&1 >/dev/null); then
		fail "should have failed: $*"
	fi
	case "$err" in
	*"$text"*) ;;
	*) fail "'$*' failed with '$err', expected '$text'" ;;
	esac
}

# ---- small helpers --------------------------------------------------------

# put PATH [TEXT]: write TEXT and a newline to PATH, creating parent dirs.
put()
{
	mkdir -p "$(dirname "$1")"
	printf '%s\n' "${2:-}" >"$1"
}
