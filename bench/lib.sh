# shellcheck shell=bash
# shellcheck disable=SC2034 # the globals set here are read by run.sh
# Helpers for bench/run.sh: messages, the cleanup trap, and mounting and
# unmounting each implementation under test.
#
# Calling sequence (run.sh):
#   bench_init_rundir DIR    make the scratch dir; the EXIT trap then
#                            unmounts everything under it, kills only the
#                            daemons we started (by PID) and removes it
#   impl_check IMPL          0 if IMPL can run here, else prints why not
#   impl_mount IMPL D        mount IMPL on D/mnt with upper D/upper and
#                            workdir D/work; sets MNT and DAEMON_PID
#                            ("" for the kernel); returns != 0 on failure
#   daemon_stats PID         "RSS_KIB CPU_SECONDS" of a live daemon
#   impl_umount IMPL D       unmount, wait for the daemon; != 0 (and a
#                            message on stderr) if it did not exit 0
#
# Needs: LOWERDIRS (array, top first), LAYERFS_BIN, RUNDIR.

LOWERDIRS=()
RUNDIR=
_bench_pids=()

msg()
{
	printf 'bench: %s\n' "$*" >&2
}

die()
{
	msg "error: $*"
	exit 1
}

_alive()
{
	kill -0 "$1" 2>/dev/null
}

# Wait up to $1 seconds for PID $2 to exit.
_wait_gone()
{
	local deadline=$((SECONDS + $1))

	while _alive "$2"; do
		[ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 0.02
	done
	return 0
}

_force_umount()
{
	local mnt=$1 n

	for n in 1 2 3 4; do
		is_mounted "$mnt" || return 0
		case "$n" in
		1) timeout 10 umount "$mnt" || timeout 10 fusermount3 -u "$mnt" ;;
		2) timeout 5 fusermount3 -uz "$mnt" ;;
		*) timeout 5 umount -l "$mnt" ;;
		esac
	done >/dev/null 2>&1
	is_mounted "$mnt" || return 0
	msg "cleanup: cannot unmount $mnt"
	return 1
}

# Kill only what we started: TERM, a grace time, then KILL.
_kill_ours()
{
	local p

	for p in "${_bench_pids[@]}"; do
		_alive "$p" || continue
		kill -TERM "$p" 2>/dev/null
		_wait_gone 3 "$p" || kill -KILL "$p" 2>/dev/null
	done
	return 0
}

bench_cleanup()
{
	local rc=${1:-$?} m

	trap '' INT TERM HUP
	trap - EXIT
	set +e +u
	if [ -n "$RUNDIR" ] && [ -d "$RUNDIR" ]; then
		while IFS= read -r m; do
			[ -n "$m" ] && _force_umount "$m"
		done < <(mi_mounts_under "$RUNDIR")
	fi
	_kill_ours
	if [ -n "$RUNDIR" ] && [ -d "$RUNDIR" ]; then
		# --one-file-system: never delete through a mount still there
		rm -rf --one-file-system "$RUNDIR" 2>/dev/null ||
			msg "cleanup: could not remove $RUNDIR"
	fi
	exit "$rc"
}

bench_init_rundir()
{
	RUNDIR=$(mktemp -d "$1/run.XXXXXX")
	RUNDIR=$(realpath "$RUNDIR")
	trap 'bench_cleanup $?' EXIT
	trap 'bench_cleanup 130' INT
	trap 'bench_cleanup 143' TERM
	trap 'bench_cleanup 129' HUP
}

# ---- the implementations -------------------------------------------------

IMPLS_ALL=(layerfs fuse-overlayfs unionfs-fuse kernel-meta kernel-nometa plain)
FUSE_IMPLS=" layerfs fuse-overlayfs unionfs-fuse "

is_fuse_impl()
{
	[[ $FUSE_IMPLS == *" $1 "* ]]
}

_have_overlay()
{
	[ "$(id -u)" -eq 0 ] || return 1
	grep -qw overlay /proc/filesystems && return 0
	modprobe overlay >/dev/null 2>&1 || true
	grep -qw overlay /proc/filesystems
}

_have_fuse()
{
	[ -c /dev/fuse ] && { : <>/dev/fuse; } 2>/dev/null
}

impl_check()
{
	case "$1" in
	layerfs)
		[ -x "$LAYERFS_BIN" ] || { echo "no layerfs binary"; return 1; }
		_have_fuse || { echo "no usable /dev/fuse"; return 1; }
		;;
	fuse-overlayfs)
		command -v fuse-overlayfs >/dev/null ||
			{ echo "fuse-overlayfs not installed"; return 1; }
		_have_fuse || { echo "no usable /dev/fuse"; return 1; }
		;;
	unionfs-fuse)
		command -v unionfs >/dev/null ||
			{ echo "unionfs-fuse not installed"; return 1; }
		_have_fuse || { echo "no usable /dev/fuse"; return 1; }
		;;
	kernel-meta | kernel-nometa)
		_have_overlay ||
			{ echo "needs root and the kernel's overlayfs"; return 1; }
		;;
	plain) ;;
	*)
		echo "unknown implementation"
		return 1
		;;
	esac
}

_wait_mounted()
{
	local mnt=$1 pid=$2 log=$3 deadline=$((SECONDS + 30))

	until is_mounted "$mnt"; do
		if [ -n "$pid" ] && ! _alive "$pid"; then
			msg "daemon exited before $mnt was mounted:"
			tail -n 20 "$log" >&2
			return 1
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			msg "$mnt not mounted after 30 s"
			return 1
		fi
		sleep 0.01
	done
	# mounted is not yet answering: wait for FUSE INIT
	timeout 30 stat -f "$mnt" >/dev/null
}

_lowerdir_opt()
{
	local IFS=:

	printf '%s' "${LOWERDIRS[*]}"
}

# unionfs-fuse branches: UPPER=RW:L1=RO:...
_unionfs_branches()
{
	local d s

	s="$1=RW"
	for d in "${LOWERDIRS[@]}"; do
		s+=":$d=RO"
	done
	printf '%s' "$s"
}

impl_mount()
{
	local impl=$1 d=$2 lower log pid=

	lower=$(_lowerdir_opt)
	MNT=$d/mnt
	DAEMON_PID=
	mkdir -p "$d/upper" "$d/work" "$MNT"
	log=$d/daemon.log
	case "$impl" in
	layerfs | fuse-overlayfs)
		local bin=$LAYERFS_BIN
		[ "$impl" = fuse-overlayfs ] && bin=$(command -v fuse-overlayfs)
		"$bin" -f -o "lowerdir=$lower,upperdir=$d/upper,workdir=$d/work" \
			"$MNT" >"$log" 2>&1 &
		pid=$!
		;;
	unionfs-fuse)
		# Debian's build prints a debug line per readdir entry on
		# stdout; in the background that goes to /dev/null anyway.
		unionfs -f -o cow,hide_meta_files \
			"$(_unionfs_branches "$d/upper")" "$MNT" \
			>/dev/null 2>"$log" &
		pid=$!
		;;
	kernel-meta)
		mount -t overlay overlay -o \
			"lowerdir=$lower,upperdir=$d/upper,workdir=$d/work,redirect_dir=on,metacopy=on" \
			"$MNT" 2>"$log" || { cat "$log" >&2; return 1; }
		;;
	kernel-nometa)
		mount -t overlay overlay -o \
			"lowerdir=$lower,upperdir=$d/upper,workdir=$d/work,redirect_dir=off,metacopy=off" \
			"$MNT" 2>"$log" || { cat "$log" >&2; return 1; }
		;;
	*) return 1 ;;
	esac
	if [ -n "$pid" ]; then
		_bench_pids+=("$pid")
		DAEMON_PID=$pid
	fi
	_wait_mounted "$MNT" "$pid" "$log"
}

# "RSS_KIB CPU_SECONDS": peak RSS (VmHWM) and utime+stime so far.
daemon_stats()
{
	local pid=$1 rss stat tck

	rss=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) ||
		rss=
	stat=$(cat "/proc/$pid/stat" 2>/dev/null) || stat=
	tck=$(getconf CLK_TCK)
	# fields after the command name, which may hold spaces: utime is
	# field 14 of the whole line, the 12th after ") "
	stat=${stat##*) }
	awk -v r="${rss:-0}" -v t="$tck" '{ printf "%s %.2f\n", r, ($12 + $13) / t }' \
		<<<"$stat"
}

impl_umount()
{
	local impl=$1 d=$2 pid=$DAEMON_PID st=0
	local -a um=(umount)

	# unprivileged FUSE mounts need fusermount3
	[ "$(id -u)" -eq 0 ] || um=(fusermount3 -u)

	if ! is_mounted "$MNT"; then
		msg "$impl: $MNT is no longer mounted (daemon died?)"
		[ -n "$pid" ] && { wait "$pid" 2>/dev/null || true; }
		return 1
	fi
	if ! timeout 60 "${um[@]}" "$MNT" 2>>"$d/daemon.log"; then
		msg "$impl: umount $MNT failed"
		_force_umount "$MNT"
		return 1
	fi
	[ -n "$pid" ] || return 0
	if ! _wait_gone 60 "$pid"; then
		msg "$impl: daemon $pid still running 60 s after unmount"
		kill -KILL "$pid" 2>/dev/null
		return 1
	fi
	wait "$pid" || st=$?
	if [ "$st" -ne 0 ]; then
		msg "$impl: daemon exited with status $st after unmount"
		tail -n 20 "$d/daemon.log" >&2
		return 1
	fi
	return 0
}

# One line on the machine for a report's header (CPUs, RAM, kernel, OS, the
# filesystem of $CACHE).
machine_line()
{
	local cpu mem kern fs os

	cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	mem=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
	kern=$(uname -r)
	# shellcheck disable=SC1091
	os=$(. /etc/os-release && printf '%s' "${PRETTY_NAME:-linux}")
	fs=$(findmnt -n -o FSTYPE,SOURCE -T "$CACHE" | awk '{ print $1 " on " $2 }')
	printf '%s CPUs (%s), %s RAM, Linux %s, %s; bench/cache on %s' \
		"$(nproc)" "${cpu:-unknown CPU}" "$mem" "$kern" "$os" "$fs"
}
