#!/usr/bin/env bash
# layerctl run and exec, as root and as an unprivileged user (lfs-run-user,
# created without /etc/subuid ranges: rootless is one id mapped), with a
# busybox image (runimg.sh) and an image made from it by commit with a Cmd,
# an Env and a WorkingDir:
#   * exit status (the process's, 128+N on a signal, 125 when it cannot
#     start, 127 when the command is not found, 126 when it cannot be
#     run, as docker), stdout, stderr, stdin;
#   * env (-e, -e K, the image's Env, PATH, HOSTNAME), working dir (-w, the
#     image's, made when missing), the image's Cmd;
#   * user (-u; rootless: -u 1000 fails and says so: nothing is mapped to
#     1000), hostname (--hostname, default the ID), /etc/hosts;
#   * volumes: rw (writes show on the host), ro (EROFS), a file, bad ones
#     (exit 125), a target through an image symlink to a host path (lands
#     in the container, not on the host);
#   * pid namespace (PID 1, no host process), mount namespace (no host
#     mount seen, no container mount seen from the host);
#   * limits: --memory kills, --pids stops a fork bomb (root); rootless
#     says it cannot apply them;
#   * exec (same filesystem, pid namespace, env, status), ps and rm of a
#     running and of an exited container, --rm, signal forwarding (--init).
# After every run: nothing of it mounted, no daemon, no cgroup left.
# shellcheck source-path=SCRIPTDIR
# The containers' scripts are in single quotes: they expand inside.
# shellcheck disable=SC2016
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_root
need_fuse
need_userns
need_cmd setpriv useradd userdel pgrep ldd script
[ -x /bin/busybox ] ||
	skip "needs /bin/busybox (scripts/install-deps.sh test installs busybox-static)"

RU=lfs-run-user
ru_etc_saved=0 # /etc/subuid, /etc/subgid, /etc/fuse.conf saved in $T/etc
PROBE=lfs-run-probe-${T##*.} # the source name of a host-only tmpfs

# --- cleanup: the containers' processes first (the mount namespaces that
# hold the unions), then lib.sh's, then /dev/fuse and the user ----------

# PIDs of the containers of the stores under $T that still run (their
# init, in another pid namespace: killing it ends the namespace).
ctr_pids()
{
	local f p

	for f in "$T"/*/store/containers/*/state.json; do
		[ -f "$f" ] || continue
		p=$(sed -n 's/.*"pid":\([0-9][0-9]*\).*/\1/p' "$f")
		[ -n "$p" ] || continue
		[ "$p" -gt 0 ] || continue
		[ "$(readlink "/proc/$p/ns/pid" 2>/dev/null)" != \
			"$(readlink /proc/self/ns/pid)" ] &&
			[ -e "/proc/$p" ] && printf '%s\n' "$p"
	done
	return 0
}

# Processes whose command line names this test's directory: layerctl and
# the layerfs daemons of its stores.
t_pids()
{
	pgrep -f -- "$T/" || true
}

# What only this test undoes, before lib.sh's cleanup (which then ends the
# user's processes, unmounts, puts /dev/fuse back and removes the user):
# the containers, this test's processes, the /etc files it changed.
ru_cleanup()
{
	local p f

	for p in $(ctr_pids); do
		kill -KILL "$p" 2>/dev/null
	done
	# shellcheck disable=SC2046 # one PID a word
	lfs_end_pids $(t_pids)
	if [ "$ru_etc_saved" -eq 1 ]; then
		for f in subuid subgid fuse.conf; do
			if [ -e "$T/etc/$f" ]; then
				cat "$T/etc/$f" >"/etc/$f"
			else
				rm -f "/etc/$f"
			fi
		done
	fi
}
lfs_on_cleanup ru_cleanup

# --- setup (as root) --------------------------------------------------------

# no subordinate ids: rootless runs get the one-id mapping
lfs_test_user "$RU" -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0
ru_uid=$LFS_UID
ru_gid=$LFS_GID
ru_subids=0
if grep -qE "^($RU|$ru_uid):" /etc/subuid 2>/dev/null; then
	ru_subids=1
fi
lfs_open_fuse
chmod 0711 "$T"

setpriv --reuid="$ru_uid" --regid="$ru_gid" --init-groups -- \
	unshare -U true 2>/dev/null ||
	skip "$RU cannot create a user namespace (unprivileged user namespaces disabled?)"

# The image, with /evil -> a host path outside its root.
EVIL=$T/hostdir
mkdir -p "$EVIL"
chmod 0755 "$EVIL"
TMPDIR=$T bash "$SRCDIR/tests/integ/runimg.sh" "$T/img.tar" "$EVIL"
chmod 0644 "$T/img.tar"

# A tmpfs the host has and the containers must not see.
mkdir -p "$T/probe"
_lfs_mounts+=("$T/probe")
mount -t tmpfs -o size=1m "$PROBE" "$T/probe"
echo host-only >"$T/probe/f"

# A host process the containers must not see.
lfs_bg sleep 599.987
HOST_SLEEP=$LFS_BG_PID

# --- what must hold after every run ------------------------------------------

# The host's mounts, "mountpoint fstype source", sorted. Mounts outside
# $T under /tmp, /var/tmp and /work are other tests' or benchmarks' that
# may run meanwhile on a developer's machine; a container's mounts would
# show under $T (its root and volumes are there) or at /proc, /dev, ...
mounts_now()
{
	awk -v t="$T/" '{
		for (i = 7; i <= NF; i++) if ($i == "-") break
		mp = $5
		if (index(mp "/", t) != 1 &&
		    (mp ~ "^/tmp/" || mp ~ "^/var/tmp/" || mp ~ "^/work/"))
			next
		print mp, $(i + 1), $(i + 2)
	}' /proc/self/mountinfo | LC_ALL=C sort
}

# The cgroup directories the launcher made for container $1, if left.
cg_left()
{
	local ctrl path d

	while IFS=: read -r _ ctrl path; do
		[ "$path" = / ] && path=
		if [ -z "$ctrl" ]; then
			d=/sys/fs/cgroup$path/layerfs/$1
		else
			d=/sys/fs/cgroup/${ctrl#name=}$path/layerfs/$1
		fi
		[ -d "$d" ] && printf '%s ' "$d"
	done </proc/self/cgroup
	return 0
}

# assert_clean WHAT [ID]: no new host mount (none of a container, no
# layerfs), no process naming the store (layerctl, layerfs), no cgroup
# of container ID.
assert_clean()
{
	local what=$1 id=${2:-} new p deadline=$((SECONDS + 10))

	new=$(LC_ALL=C comm -13 <(printf '%s\n' "$MOUNTS0") <(mounts_now))
	[ -z "$new" ] || fail "$what: new mounts on the host: $new"
	while p=$(pgrep -f -- "$S/" | tr '\n' ' ') && [ -n "$p" ]; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			fail "$what: still running: $(ps -o pid=,args= -p "${p// /,}" 2>/dev/null)"
		fi
		sleep 0.02
	done
	[ -z "$id" ] || [ -z "$(cg_left "$id")" ] ||
		fail "$what: cgroups left: $(cg_left "$id")"
}

# crun WANT ARGS...: `layerctl run --name cN ARGS` must exit WANT (ARGS
# may name the container itself); stdout and stderr are in $out and
# $err, stdin is $CRUN_IN (default /dev/null). Sets $cid.
seq_n=0
crun()
{
	local want=$1 st=0 i
	shift
	seq_n=$((seq_n + 1))
	cid=c$seq_n
	for ((i = 1; i <= $#; i++)); do
		if [ "${!i}" = --name ]; then
			i=$((i + 1))
			cid=${!i}
			break
		fi
	done
	"${LC[@]}" run --name "$cid" "$@" <"${CRUN_IN:-/dev/null}" \
		>"$W/out" 2>"$W/err" || st=$?
	out=$(cat "$W/out")
	err=$(cat "$W/err")
	[ "$st" -eq "$want" ] ||
		fail "run $*: exit status $st, expected $want; stdout: '$out'; stderr: '$err'"
	assert_clean "run $*" "$cid"
}

# has TEXT WHERE HAYSTACK: HAYSTACK contains TEXT.
has()
{
	case "$3" in
	*"$1"*) ;;
	*) fail "$2: '$1' not in '$3'" ;;
	esac
}
hasnt()
{
	case "$3" in
	*"$1"*) fail "$2: '$1' should not be in '$3'" ;;
	esac
}

# wait_file F: until F exists (a container says it is ready).
wait_file()
{
	local deadline=$((SECONDS + 20))

	until [ -e "$1" ]; do
		[ "$SECONDS" -lt "$deadline" ] || fail "no $1 after 20s"
		sleep 0.02
	done
}

# ps_status ID: the STATUS column of layerctl ps for ID.
ps_status()
{
	"${LC[@]}" ps | awk -v id="$1" '$1 == id {
		s = $0; sub(/^[^ ]+ +[^ ]+ +[^ ]+ +/, "", s)
		sub(/ +[^ ]+$/, "", s); print s }'
}

BOMB='
bomb() { [ "$1" -ge 8 ] && exec sleep 3; bomb $(($1 + 1)) & bomb $(($1 + 1)) & wait; }
now() { read -r t _ </proc/uptime; t=${t%.*}${t#*.}; }
now; t0=$t
bomb 0 &
max=0
while now && [ $((t - t0)) -lt 200 ]; do
	set -- /proc/[0-9]*; [ $# -gt $max ] && max=$#
done
echo $max'

# --- the tests, as root (MODE=root) and as $RU (MODE=rootless) ---------------

suite()
{
	MODE=$1
	W=$T/$MODE
	S=$W/store
	mkdir -p "$W"/{rw,ro,vol,ctl}
	echo ro-data >"$W/ro/f"
	echo host-file >"$W/file"
	if [ "$MODE" = root ]; then
		LC=("$LAYERCTL" --root "$S")
	else
		chown -R "$ru_uid:$ru_gid" "$W"
		LC=(setpriv --reuid="$ru_uid" --regid="$ru_gid" --init-groups --
			"$LAYERCTL" --root "$S")
	fi
	MOUNTS0=$(mounts_now)
	note "$MODE: image bb (busybox), bb2 = bb + CMD, ENV, WORKDIR"
	"${LC[@]}" load -q --tag bb "$T/img.tar" >/dev/null
	assert_eq "$("${LC[@]}" create --name base bb)" base
	"${LC[@]}" commit -q -c 'CMD ["echo","from-cmd"]' \
		-c 'ENV FOO=from-image' -c 'ENV BAR=image-bar' \
		-c 'WORKDIR /srv' base bb2 >/dev/null
	"${LC[@]}" rm base >/dev/null
	assert_clean "$MODE: setup"

	t_status
	t_io
	t_env
	t_workdir
	t_user
	t_hostname
	t_volumes
	t_namespaces
	t_limits
	t_exec_ps_rm
	t_signal
	t_tty
	t_rm

	# Only the images are left in the store.
	assert_eq "$(find "$S/containers" -mindepth 1 -maxdepth 1 | tr '\n' ' ')" "" \
		"$MODE: containers left"
	assert_clean "$MODE: end"
}

t_status()
{
	note "$MODE: exit status"
	crun 0 bb true
	k1=$cid
	crun 1 bb false
	k2=$cid
	crun 3 --rm bb sh -c 'exit 3'
	crun 255 --rm bb sh -c 'exit 255'
	crun 127 --rm bb nosuch-cmd
	has "cannot run 'nosuch-cmd'" "command not found" "$err"
	crun 126 --rm bb /etc/motd
	has "cannot run '/etc/motd'" "not executable" "$err"
	# with --init the process is not PID 1, a signal can kill it
	crun 137 --rm --init bb sh -c 'kill -KILL $$'
	crun 143 --rm --init bb sh -c 'kill -TERM $$'
	crun 125 --rm nosuch-image true
	has "no image 'nosuch-image'" "unknown image" "$err"
	assert_not_exists "$S/containers/$cid"
	crun 125 --rm bb
	has "no command" "an image without a Cmd, no command" "$err"
	crun 125 --rm --memory lots bb true
	has "bad value 'lots'" "--memory lots" "$err"
	crun 125 --rm --net bridge bb true
	assert_eq "$("${LC[@]}" rm "$k1" "$k2" | tr '\n' ' ')" "$k1 $k2 " "rm of exited containers"
}

t_io()
{
	note "$MODE: stdout, stderr, stdin"
	crun 0 --rm bb sh -c 'echo out; echo err >&2; echo out2'
	assert_eq "$out" $'out\nout2' "stdout"
	assert_eq "$err" "err" "stderr (and nothing else from layerctl)"
	printf 'line1\nline2\n' >"$W/in"
	CRUN_IN=$W/in crun 0 --rm bb sh -c 'cat; echo done'
	assert_eq "$out" $'line1\nline2\ndone' "stdin is the container's"
	note "$MODE: the image's Cmd"
	crun 0 --rm bb2
	assert_eq "$out" "from-cmd" "no command given: the image's Cmd"
	crun 0 --rm bb2 echo given
	assert_eq "$out" "given" "a command given replaces the Cmd"
}

t_env()
{
	note "$MODE: env"
	crun 0 --rm --name envc bb2 env
	has "FOO=from-image" "the image's Env" "$out"
	has "BAR=image-bar" "the image's Env" "$out"
	has "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
		"default PATH" "$out"
	has "HOSTNAME=envc" "HOSTNAME" "$out"
	hasnt "LAYERCTL=" "the caller's environment is not passed" "$out"
	crun 0 --rm -e FOO=cli -e 'NEW=a b=c' -e EMPTY= bb2 env
	has "FOO=cli" "-e overrides the image's Env" "$out"
	hasnt "FOO=from-image" "-e replaces, not adds" "$out"
	has "BAR=image-bar" "the rest of the image's Env" "$out"
	has "NEW=a b=c" "-e with spaces and =" "$out"
	has $'\nEMPTY=\n' "-e K= (empty)" $'\n'"$out"$'\n'
	assert_eq "$(printf '%s\n' "$out" | grep -c '^FOO=')" 1 "FOO once"
	LFS_RUN_CALLER=from-caller crun 0 --rm -e LFS_RUN_CALLER \
		-e LFS_RUN_UNSET bb sh -c 'echo "$LFS_RUN_CALLER"; env | grep -c LFS_RUN_UNSET || true'
	assert_eq "$out" $'from-caller\n0' "-e K: the caller's value, or nothing"
	crun 0 --rm -e PATH=/bin bb sh -c 'echo $PATH'
	assert_eq "$out" "/bin" "-e PATH replaces the default"
}

t_workdir()
{
	note "$MODE: working dir"
	crun 0 --rm bb pwd
	assert_eq "$out" "/" "default working dir"
	crun 0 --rm bb2 pwd
	assert_eq "$out" "/srv" "the image's WorkingDir"
	crun 0 --rm -w /tmp bb2 pwd
	assert_eq "$out" "/tmp" "-w overrides the image's"
	crun 0 --rm -w /new/work/dir bb sh -c 'pwd; echo "$PWD"'
	assert_eq "$out" $'/new/work/dir\n/new/work/dir' "-w of a missing dir: made"
	crun 125 --rm -w relative bb pwd
	has "absolute" "-w relative" "$err"
}

t_user()
{
	note "$MODE: user"
	crun 0 --rm bb id
	assert_eq "$out" "uid=0(root) gid=0(root) groups=0(root)" "default user"
	crun 125 --rm -u nosuch bb id
	has "no user 'nosuch' in the container" "-u nosuch" "$err"
	crun 125 --rm -u user:nosuchgroup bb id
	has "no group 'nosuchgroup'" "-u user:nosuchgroup" "$err"
	if [ "$MODE" = rootless ] && [ "$ru_subids" -eq 1 ]; then
		# a leftover user with a subordinate range (not the one-id case
		# this test sets up): the ids would be mapped
		note "rootless: $RU has /etc/subuid entries: -u 1000 not checked"
		return 0
	fi
	if [ "$MODE" = rootless ]; then
		# One id mapped (root = the caller): uid 1000 does not exist in
		# the user namespace; it must fail, and say which user.
		crun 0 --rm bb cat /proc/self/uid_map
		assert_eq "$(printf '%s\n' "$out" | awk '{ print $1, $2, $3 }')" \
			"0 $ru_uid 1" "rootless uid_map: one id"
		st=0
		"${LC[@]}" run --rm --name u1000 -u 1000 bb id \
			>"$W/out" 2>"$W/err" </dev/null || st=$?
		assert_eq "$st" 125 "rootless run -u 1000: exit status"
		has "cannot become user '1000'" "rootless -u 1000" "$(cat "$W/err")"
		has "not mapped" "rootless -u 1000 says why" "$(cat "$W/err")"
		assert_eq "$(cat "$W/out")" "" "rootless -u 1000: nothing ran"
		assert_clean "rootless -u 1000" u1000
		return 0
	fi
	crun 0 --rm -u 1000 bb sh -c 'id; touch /tmp/by1000; stat -c %u:%g /tmp/by1000'
	assert_eq "$out" $'uid=1000(user) gid=1000(user) groups=1000(user)\n1000:1000' "-u 1000"
	crun 0 --rm -u user bb id
	assert_eq "$out" "uid=1000(user) gid=1000(user) groups=100(users),1000(user)" \
		"-u user (its groups from the container's /etc/group)"
	crun 0 --rm -u nobody:users bb id
	assert_eq "$out" "uid=65534(nobody) gid=100(users) groups=100(users)" "-u nobody:users"
	crun 0 --rm -u 1000:100 bb id -u
	assert_eq "$out" "1000" "-u 1000:100"
	crun 1 --rm -u user bb sh -c 'echo x >/root/f'
	has "Permission denied" "user may not write root's dir" "$err"
	crun 0 --rm -u 1000 bb sh -c 'cat /proc/self/status | grep ^CapEff'
	assert_eq "$out" $'CapEff:\t0000000000000000' "-u 1000 has no capabilities"
}

t_hostname()
{
	note "$MODE: hostname, /etc/hosts"
	local host_hn
	host_hn=$(hostname)
	crun 0 --rm --name hn-default bb sh -c 'hostname; cat /etc/hostname'
	assert_eq "$out" $'hn-default\nhn-default' "default hostname: the ID"
	crun 0 --rm --hostname box.example bb sh -c 'hostname; cat /etc/hostname; cat /etc/hosts; echo "$HOSTNAME"'
	has $'box.example\nbox.example\n' "--hostname" "$out"
	has $'127.0.0.1\tlocalhost' "/etc/hosts" "$out"
	has $'127.0.1.1\tbox.example' "/etc/hosts names the hostname" "$out"
	assert_eq "${out##*$'\n'}" "box.example" "HOSTNAME is --hostname"
	assert_eq "$(hostname)" "$host_hn" "the host's hostname is unchanged"
}

t_volumes()
{
	note "$MODE: volumes"
	crun 0 --rm -v "$W/rw:/data" -v "$W/ro:/ro:ro" bb sh -c '
		echo written >/data/new && mkdir /data/d && echo in-d >/data/d/f
		cat /ro/f
		if echo x >/ro/f; then echo ro-writable; fi
		if touch /ro/g; then echo ro-creatable; fi'
	assert_eq "$out" "ro-data" "read-only volume: read"
	has "Read-only file system" "write to a read-only volume: EROFS" "$err"
	assert_file_text "$W/rw/new" "written" "a write to the rw volume, on the host"
	assert_file_text "$W/rw/d/f" "in-d" "a new dir in the rw volume, on the host"
	assert_file_text "$W/ro/f" "ro-data" "the ro volume's file, on the host"
	assert_not_exists "$W/ro/g"
	crun 0 --rm -v "$W/rw:/data:rw" bb cat /data/new
	assert_eq "$out" "written" "rw volume, :rw, read back"
	crun 0 --rm -v "$W/file:/etc/motd:ro" -v "$W/rw:/deep/a/b/c" bb sh -c 'cat /etc/motd /deep/a/b/c/new'
	assert_eq "$out" $'host-file\nwritten' "a file volume, a deep target"

	note "$MODE: bad volumes: exit 125 and a message"
	crun 125 --rm -v "$W/missing:/x" bb true
	has "bad volume '$W/missing:/x'" "a missing host path" "$err"
	crun 125 --rm -v "$W/rw:relative" bb true
	has "bad volume" "a relative target" "$err"
	crun 125 --rm -v "$W/rw:/a/../b" bb true
	has "bad volume" "a target with .." "$err"
	crun 125 --rm -v "$W/rw:/.." bb true
	has "bad volume" "a target /.." "$err"
	crun 125 --rm -v "$W/rw:/a/.." bb true
	has "bad volume" "a target ending in /.." "$err"
	crun 125 --rm -v "$W/rw:/x:rx" bb true
	has "bad volume" "a bad mode" "$err"
	crun 125 --rm -v "$W/rw" bb true
	has "bad volume" "no target" "$err"

	note "$MODE: a target through the image's /evil -> $EVIL lands in the container"
	echo v >"$W/vol/v"
	[ "$MODE" = root ] || chown "$ru_uid:$ru_gid" "$W/vol/v"
	crun 0 --rm -v "$W/vol:/evil/sub" bb sh -c 'cat /evil/sub/v; echo w >/evil/sub/w'
	assert_eq "$out" "v" "the volume at /evil/sub"
	assert_file_text "$W/vol/w" "w" "written through the volume"
	crun 0 --rm -v "$W/vol:/evil" bb sh -c 'cat /evil/v'
	assert_eq "$out" "v" "the volume at /evil"
	assert_ls "$EVIL" "" "nothing made on the host path the symlink names"
	assert_not_mounted "$EVIL"
}

t_namespaces()
{
	note "$MODE: pid namespace"
	crun 0 --rm bb sh -c 'echo $$; ps -o pid,args; true'
	assert_eq "${out%%$'\n'*}" 1 "the process is PID 1"
	# the header, PID 1 (sh) and ps (forked: busybox shows it as
	# "{ps} sh -c ..."): nothing of the host
	assert_eq "$(printf '%s\n' "$out" | sed 1,2d | awk '{ print ($1 == 1 ? 1 : "N") }' | tr '\n' ' ')" \
		"1 N " "the processes ps sees: $out"
	hasnt "599.987" "a host process seen in the container" "$out"
	kill -0 "$HOST_SLEEP" || fail "the host's sleep is gone"

	note "$MODE: mount namespace"
	crun 0 --rm -v "$W/rw:/data" bb cat /proc/self/mountinfo
	hasnt "$PROBE" "the host's tmpfs seen in the container" "$out"
	hasnt "$T" "a host path as a mount point in the container" \
		"$(printf '%s\n' "$out" | awk '{ print $5 }')"
	assert_eq "$(printf '%s\n' "$out" | awk '$5 == "/" {
		for (i = 7; $i != "-"; i++) ; print $(i + 1) }')" \
		fuse.layerfs "the container's root"
	for m in /proc /sys /dev /dev/pts /dev/shm /data; do
		printf '%s\n' "$out" | awk -v m="$m" '$5 == m { f = 1 } END { exit !f }' ||
			fail "no $m in the container's mountinfo: $out"
	done
	crun 0 --rm bb sh -c 'ls /dev | tr "\n" " "; echo x >/dev/null && head -c 4 /dev/zero | wc -c'
	has "null" "/dev/null" "$out"
	has "4" "/dev/zero" "$out"
	# (what the host sees after each run: assert_clean)
}

t_limits()
{
	note "$MODE: --memory, --pids"
	if [ "$MODE" = rootless ]; then
		crun 0 --rm --memory 32M bb true
		has "cannot apply --memory" "rootless --memory: the warning" "$err"
		crun 0 --rm --pids 10 bb true
		has "cannot apply --memory, --cpus or --pids" "rootless --pids: the warning" "$err"
		return 0
	fi
	# dd's 100M buffer is all touched by the read from /dev/zero
	crun 137 --rm --memory 32M bb dd if=/dev/zero of=/dev/null bs=100M count=1
	crun 0 --rm --memory 256M bb dd if=/dev/zero of=/dev/null bs=100M count=1 status=none
	assert_eq "$err" "" "a limit root can apply: no warning"
	crun 0 --rm --cpus 0.5 bb true
	assert_eq "$err" "" "--cpus as root: no warning"
	# A fork bomb, bounded (512 processes at most, the leaves sleep 3 s);
	# PID 1 counts the processes (/proc/[0-9]*, a builtin glob, no fork)
	# for 2 s and prints the most it saw. With a limit well
	# above, the same count sees far more: the count works.
	crun 0 --rm --pids 30 bb sh -c "$BOMB"
	has "can't fork" "--pids 30: the fork bomb is stopped" "$err"
	if [ "$out" -gt 30 ]; then
		fail "--pids 30: $out processes at once"
	fi
	crun 0 --rm --pids 1000 bb sh -c "$BOMB"
	if [ "$out" -lt 100 ]; then
		fail "--pids 1000: the bomb made only $out processes at once"
	fi
}

t_exec_ps_rm()
{
	note "$MODE: exec, ps, rm of a running container"
	local st=0 p during
	rm -f "$W/ctl"/*
	lfs_bg "${LC[@]}" run --name ex -e RUNV=r1 -w /tmp -v "$W/ctl:/ctl" bb sh -c '
		echo shared >/tmp/shared; echo ready >/ctl/ready
		while [ ! -e /ctl/stop ]; do sleep 0.05; done; exit 7' \
		</dev/null >"$W/ex.out" 2>&1
	p=$LFS_BG_PID
	wait_file "$W/ctl/ready"
	has "running (pid " "ps of a running container" "$(ps_status ex)"
	cpid=$(ps_status ex | sed 's/.*pid \([0-9]*\).*/\1/')
	assert_ne "$(readlink "/proc/$cpid/ns/pid")" "$(readlink /proc/self/ns/pid)" \
		"ps's pid is the container's init"
	assert_mounted "$S/containers/ex/rootfs"
	if [ "$MODE" = root ]; then
		[ -n "$(cg_left ex)" ] || fail "no cgroup for a running container as root"
	fi
	during=$(LC_ALL=C comm -13 <(printf '%s\n' "$MOUNTS0") <(mounts_now))
	assert_eq "$during" "$S/containers/ex/rootfs fuse.layerfs layerfs" \
		"the only host mount while it runs: its root"
	assert_fails_with "is running" "${LC[@]}" rm ex
	assert_exists "$S/containers/ex"

	assert_eq "$("${LC[@]}" exec ex cat /tmp/shared </dev/null)" "shared" \
		"exec sees the run's files"
	out=$("${LC[@]}" exec ex cat /proc/1/cmdline </dev/null | tr '\0\n' '  ')
	has "sh -c " "exec sees the run's PID 1" "$out"
	has "/ctl/stop" "exec sees the run's PID 1" "$out"
	out=$("${LC[@]}" exec ex sh -c 'echo $$; pwd; echo "$RUNV"; hostname' </dev/null)
	mapfile -t l <<<"$out"
	[ "${l[0]}" -gt 1 ] || fail "exec's shell is PID ${l[0]}"
	assert_eq "${l[1]}" "/tmp" "exec: the run's working dir"
	assert_eq "${l[2]}" "r1" "exec: the run's env"
	assert_eq "${l[3]}" "ex" "exec: the run's hostname"
	out=$("${LC[@]}" exec ex ps -o pid,args </dev/null)
	has "/ctl/stop" "exec's ps sees the run's process" "$out"
	hasnt "599.987" "exec's ps sees a host process" "$out"
	assert_eq "$(printf '%s\n' "$out" | awk 'NR > 1 && $1 == 1' | wc -l)" 1 "one PID 1"
	out=$("${LC[@]}" exec -e RUNV=x -e NEW=n -w / ex sh -c 'pwd; echo "$RUNV $NEW"; echo exec-err >&2; exit 5' \
		</dev/null 2>"$W/err") || st=$?
	assert_eq "$st" 5 "exec: the command's exit status"
	assert_eq "$out" $'/\nx n' "exec -e -w"
	assert_eq "$(cat "$W/err")" "exec-err" "exec: stderr"
	"${LC[@]}" exec ex sh -c 'echo from-exec >/ctl/exec-file' </dev/null
	assert_file_text "$W/ctl/exec-file" "from-exec" "exec sees the volumes"
	st=0
	"${LC[@]}" exec ex nosuch-cmd </dev/null 2>"$W/err" || st=$?
	assert_eq "$st" 127 "exec of a missing command"
	has "cannot run 'nosuch-cmd'" "exec of a missing command" "$(cat "$W/err")"
	if [ "$MODE" = root ]; then
		assert_eq "$("${LC[@]}" exec -u 1000 ex id -u </dev/null)" 1000 "exec -u"
	fi

	touch "$W/ctl/stop"
	st=0
	wait "$p" || st=$?
	lfs_forget "$p"
	assert_eq "$st" 7 "run's exit status after exec"
	assert_clean "run with exec" ex
	assert_eq "$(ps_status ex)" "exited (7)" "ps of the exited container"
	assert_not_mounted "$S/containers/ex/rootfs"
	st=0
	"${LC[@]}" exec ex true </dev/null 2>"$W/err" || st=$?
	assert_eq "$st" 125 "exec in an exited container"
	has "is not running" "exec in an exited container" "$(cat "$W/err")"
	assert_file_text "$S/containers/ex/upper/tmp/shared" "shared" \
		"the upper layer outlives the process"
	assert_eq "$("${LC[@]}" rm ex)" ex "rm of the exited container"
	assert_not_exists "$S/containers/ex"
	assert_clean "rm ex"
}

t_signal()
{
	note "$MODE: --init forwards SIGTERM to the process"
	local st=0 p
	rm -f "$W/ctl"/*
	lfs_bg "${LC[@]}" run --rm --init --name sig -v "$W/ctl:/ctl" bb sh -c '
		trap "echo got-term; exit 42" TERM
		echo ready >/ctl/ready
		while :; do sleep 0.05; done' </dev/null >"$W/sig.out" 2>&1
	p=$LFS_BG_PID
	wait_file "$W/ctl/ready"
	kill -TERM "$p"
	wait "$p" || st=$?
	lfs_forget "$p"
	assert_eq "$st" 42 "exit status after SIGTERM (the trap's)"
	assert_file_text "$W/sig.out" "got-term" "the trap ran"
	assert_not_exists "$S/containers/sig"
	assert_clean "signal" sig

	note "$MODE: SIGKILL of the process from the host: 137"
	rm -f "$W/ctl"/*
	lfs_bg "${LC[@]}" run --rm --name sig2 -v "$W/ctl:/ctl" bb sh -c '
		echo ready >/ctl/ready; while :; do sleep 0.05; done' \
		</dev/null >"$W/sig.out" 2>&1
	p=$LFS_BG_PID
	wait_file "$W/ctl/ready"
	kill -KILL "$(sed -n 's/.*"pid":\([0-9]*\).*/\1/p' "$S/containers/sig2/state.json")"
	st=0
	wait "$p" || st=$?
	lfs_forget "$p"
	assert_eq "$st" 137 "exit status of a process killed by SIGKILL"
	assert_not_exists "$S/containers/sig2"
	assert_clean "sigkill" sig2
}

t_tty()
{
	local st=0 q

	note "$MODE: -t: a terminal made in the container, exit status kept"
	# script(1) gives layerctl a terminal; it exits with the command's
	# status (-e)
	printf -v q '%q ' "${LC[@]}" run --rm --name tty1 -t bb \
		sh -c 'tty; [ -t 0 ] && echo stdin-tty; exit 4'
	script -qec "$q" /dev/null </dev/null >"$W/out" 2>&1 || st=$?
	out=$(tr -d '\r' <"$W/out")
	assert_eq "$st" 4 "run -t: exit status"
	has "/dev/pts/0" "run -t: tty names the container's pts" "$out"
	has "stdin-tty" "run -t: stdin is the terminal" "$out"
	assert_clean "run -t" tty1
}

t_rm()
{
	note "$MODE: --rm removes the container; without it, it stays"
	crun 0 --rm --name gone bb sh -c 'echo x >/f'
	assert_not_exists "$S/containers/gone" "--rm: the container dir is gone"
	crun 9 --name kept bb sh -c 'echo kept >/f; exit 9'
	assert_dir "$S/containers/kept"
	assert_file_text "$S/containers/kept/upper/f" "kept"
	assert_eq "$(ps_status kept)" "exited (9)" "ps of an exited container"
	assert_fails_with "exists" "${LC[@]}" run --name kept bb true
	assert_eq "$("${LC[@]}" rm kept)" kept
	assert_not_exists "$S/containers/kept"
	for c in "$S"/containers/*; do
		[ -d "$c" ] || continue
		fail "a container left by a --rm run: ${c##*/}"
	done
	assert_clean "rm"
}

# Rootless with subordinate ids, as podman users have them: the launcher
# maps them with newuidmap/newgidmap, and the union serves them with
# allow_other (which a user gets from user_allow_other in /etc/fuse.conf).
# Both files are changed for this part only and restored.
t_subids()
{
	local f

	if [ "$LFS_USER_MADE" -ne 1 ] || ! command -v newuidmap >/dev/null; then
		note "rootless with subordinate ids: not checked (no newuidmap, or $RU not ours)"
		return 0
	fi
	MODE=subids
	mkdir -p "$T/etc"
	for f in subuid subgid fuse.conf; do
		[ -e "/etc/$f" ] && cp -p "/etc/$f" "$T/etc/$f"
	done
	ru_etc_saved=1
	echo "$RU:300000:65536" >>/etc/subuid
	echo "$RU:300000:65536" >>/etc/subgid
	grep -q '^user_allow_other' /etc/fuse.conf 2>/dev/null ||
		echo user_allow_other >>/etc/fuse.conf
	note "rootless with /etc/subuid ranges: -u 1000 inside"
	crun 0 --rm --name sub1 bb cat /proc/self/uid_map
	assert_eq "$(printf '%s\n' "$out" | awk '{ print $1, $2, $3 }' | tr '\n' ' ')" \
		"0 $ru_uid 1 1 300000 65536 " "uid_map: the caller, then the range"
	crun 0 --name sub2 -u 1000 bb sh -c \
		'id -u; echo by1000 >/tmp/f1000; stat -c %u:%g /tmp/f1000'
	assert_eq "$out" $'1000\n1000:1000' "-u 1000 with subordinate ids"
	"${LC[@]}" diff --tar sub2 >"$W/sub2.tar" ||
		fail "diff --tar of a subids container"
	assert_eq "$(tar -tvf "$W/sub2.tar" --numeric-owner | awk '$6 == "tmp/f1000" { print $2 }')" \
		"1000/1000" "the file 1000 made is 1000's in the layer"
	"${LC[@]}" rm sub2 >/dev/null
	assert_clean "$MODE: end"
}

suite root
suite rootless
W=$T/rootless
t_subids
note "ok"
