#!/usr/bin/env bash
# Rootless layerfs, as an unprivileged user (lfs-test-user, created if
# needed) runs it:
#   userns  inside `unshare -Urm` (root there, one id mapped): read, write
#           (copy-up), delete (a .wh. file: no mknod), mkdir, rename of a
#           lower directory, remount, unmount;
#   wide    inside a user namespace with a subordinate id range, as podman
#           sets one up with newuidmap: real chown through the mount, and
#           -o uidmapping=,gidmapping=;
#   plain   no namespace at all, mounted through the setuid fusermount3:
#           the same file operations, then a container process (the wide
#           namespace) chowns and creates files as other ids: the daemon
#           cannot chown, keeps "uid:gid:mode" in the xattr
#           user.containers.override_stat and reports it, also after a
#           remount.
# Every case ends with the mount gone, no daemon and nothing left in /tmp.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_root
need_fuse
need_userns
need_cmd runuser setpriv nsenter getfattr setfattr useradd userdel

RL_USER=lfs-test-user
rl_prefix="lfs-it-rl${T##*.}" # the temp dirs of the inner scripts

# What only this test needs undone before lib.sh's cleanup: the daemons in
# private mount namespaces, the inner scripts' temp dirs.
rl_cleanup()
{
	local d

	# shellcheck disable=SC2046 # one PID a word
	lfs_end_pids $(rl_daemons)
	for d in /tmp/"$rl_prefix".??????; do
		[ -d "$d" ] && rm -rf --one-file-system "$d"
	done
}
lfs_on_cleanup rl_cleanup

# layerfs processes of this test (their command line names $T).
rl_daemons()
{
	local d

	for d in /proc/[0-9]*; do
		[ "$(cat "$d/comm" 2>/dev/null)" = layerfs ] || continue
		tr '\0' '\n' <"$d/cmdline" 2>/dev/null | grep -qF "$T/" &&
			printf '%s\n' "${d#/proc/}"
	done
	return 0
}

lfs_test_user "$RL_USER"
uid=$LFS_UID
gid=$LFS_GID
lfs_open_fuse
chmod 0711 "$T"

as_user()
{
	setpriv --reuid="$uid" --regid="$gid" --init-groups -- "$@"
}

# Nothing of the case is left: no mount below $T, no daemon, no temp dir.
assert_nothing_left()
{
	local what=$1 m d

	m=$(mi_mounts_under "$T" | tr '\n' ' ')
	[ -z "$m" ] || fail "$what: still mounted: $m"
	d=$(rl_daemons | tr '\n' ' ')
	[ -z "$d" ] || fail "$what: layerfs daemons left: $d"
	for d in /tmp/"$rl_prefix".??????; do
		[ -e "$d" ] && fail "$what: temp dir left behind: $d"
	done
	return 0
}

# assert_wh_file PATH: an OCI whiteout, an empty regular file
assert_wh_file()
{
	if [ ! -f "$1" ] || [ -L "$1" ]; then
		fail "whiteout $1 is not a regular file"
	fi
	assert_eq "$(stat -c %s "$1")" 0 "size of whiteout $1"
}

# run_inner NAME CMD...: run an inner test script (it sources lib.sh and
# uses lfs_mount itself), show its output if it fails.
run_inner()
{
	local name=$1 st=0
	shift

	"$@" >"$T/$name.out" 2>&1 || st=$?
	sed 's/^/    /' "$T/$name.out"
	[ "$st" -eq 0 ] || fail "$name: inner script exited $st"
}

# The start of every inner script.
cat >"$T/inner-head.sh" <<'EOF'
. "$SRCDIR/tests/integ/lib.sh"
W=$RL_DIR
lower=$W/lower upper=$W/upper work=$W/work m=$W/mnt
EOF

runuser -u "$RL_USER" -- unshare -Urm true 2>/dev/null ||
	skip "$RL_USER cannot create a user namespace (unprivileged user namespaces disabled?)"

# ---------------------------------------------------------------------------
note "userns: as $RL_USER inside unshare -Urm"
RL_DIR=$T/userns
mkdir -p "$RL_DIR"
chown "$uid:$gid" "$RL_DIR"
cat "$T/inner-head.sh" - >"$T/inner-userns.sh" <<'EOF'
assert_eq "$(id -u)" 0 "uid inside the namespace"
mkdir -p "$lower/dir/sub" "$lower/ldir/sub" "$upper" "$work" "$m"
put "$lower/file" "lower"
put "$lower/dir/sub/x" "x"
put "$lower/del" "to delete"
put "$lower/ldir/a" "a"
put "$lower/ldir/sub/b" "b"
lfs_mount "$m" "lowerdir=$lower" "upperdir=$upper" "workdir=$work"

note "read"
assert_file_text "$m/file" "lower"
assert_file_text "$m/dir/sub/x" "x"
note "write: copy-up"
echo "more" >>"$m/file"
assert_file_content "$m/file" $'lower\nmore\n'
assert_file_content "$upper/file" $'lower\nmore\n'
assert_file_content "$lower/file" $'lower\n'
note "delete: a .wh. file in the upper"
rm "$m/del"
assert_not_exists "$m/del"
assert_file "$upper/.wh.del"
assert_exists "$lower/del"
note "mkdir, and a new file in it"
mkdir "$m/newdir"
put "$m/newdir/n" "n"
assert_file_text "$upper/newdir/n" "n"
note "rename of a lower directory"
mv "$m/ldir" "$m/ldir2"
assert_not_exists "$m/ldir"
assert_file_text "$m/ldir2/a" "a"
assert_file_text "$m/ldir2/sub/b" "b"
assert_file "$upper/.wh.ldir" "the old name is whited out in the upper"
assert_ls "$lower/ldir" "a sub" "the lower directory is untouched"
note "chown to an id this namespace does not map: the kernel refuses it"
assert_fails chown 1234 "$m/file"
assert_eq "$(stat -c %u:%g "$m/file")" "0:0" "owner after the refused chown"
chown 0:0 "$m/dir/sub/x"
assert_eq "$(stat -c %u:%g "$m/dir/sub/x")" "0:0"
lfs_umount "$m"

note "remount: the same tree"
lfs_mount "$m" "lowerdir=$lower" "upperdir=$upper" "workdir=$work"
assert_file_content "$m/file" $'lower\nmore\n'
assert_not_exists "$m/del"
assert_not_exists "$m/ldir"
assert_file_text "$m/ldir2/sub/b" "b"
assert_file_text "$m/newdir/n" "n"
assert_ls "$m" "dir file ldir2 newdir"
lfs_umount "$m"
assert_not_mounted "$m"
EOF
run_inner userns runuser -u "$RL_USER" -- env LAYERFS="$LAYERFS" \
	SRCDIR="$SRCDIR" LFS_TMP_PREFIX="$rl_prefix" RL_DIR="$RL_DIR" \
	unshare -Urm bash "$T/inner-userns.sh"
assert_nothing_left "userns"
note "userns: the upper layer as the host sees it"
u=$RL_DIR/upper
assert_wh_file "$u/.wh.del"
assert_wh_file "$u/.wh.ldir"
assert_eq "$(find "$u" -type c | wc -l)" 0 "character devices in the upper"
assert_eq "$(stat -c %u:%g "$u/file")" "$uid:$gid" "owner of the copied-up file on disk"
assert_eq "$(stat -c %u:%g "$u/newdir/n")" "$uid:$gid" "owner of a new file on disk"

# ---------------------------------------------------------------------------
# A user namespace with a subordinate range, made by root as newuidmap
# would for podman: 0 -> the user, 1..1000 -> 200000..200999. A process
# that stays in it holds it; nsenter joins it as its root (the user's uid).
SUB=200000
printf '0 %s 1\n1 %s 1000\n' "$uid" "$SUB" >"$T/uid_map"
printf '0 %s 1\n1 %s 1000\n' "$gid" "$SUB" >"$T/gid_map"
lfs_bg unshare --user sleep 600
H=$LFS_BG_PID
deadline=$((SECONDS + 10))
while [ "$(readlink "/proc/$H/ns/user")" = "$(readlink /proc/self/ns/user)" ]; do
	[ "$SECONDS" -lt "$deadline" ] || fail "unshare --user did not start"
	sleep 0.01
done
cat "$T/uid_map" >"/proc/$H/uid_map" # one write() each
cat "$T/gid_map" >"/proc/$H/gid_map"
in_ns()
{
	nsenter --user --target "$H" -- "$@"
}
assert_eq "$(in_ns id -u)" 0 "uid in the wide namespace"
# the id a container id N has on the host
host_id()
{
	if [ "$1" -eq 0 ]; then echo "$uid"; else echo $((SUB + $1 - 1)); fi
}

note "wide: layerfs as root of a namespace with a subordinate range"
RL_DIR=$T/wide
mkdir -p "$RL_DIR"/{lower,upper,work,mnt}
put "$RL_DIR/lower/f0" "f0"
put "$RL_DIR/lower/f5" "f5"
put "$RL_DIR/lower/f7" "f7"
mkdir -p "$RL_DIR/lower/d5"
chown -R "$uid:$gid" "$RL_DIR"
chown "$(host_id 5):$(host_id 5)" "$RL_DIR/lower/f5" "$RL_DIR/lower/d5"
chown "$(host_id 7):$(host_id 8)" "$RL_DIR/lower/f7"
cat "$T/inner-head.sh" - >"$T/inner-wide.sh" <<'EOF'
# allow_other: processes of other container ids use the mount too
lfs_mount "$m" "lowerdir=$lower" "upperdir=$upper" "workdir=$work" allow_other
note "owners as the namespace sees them"
assert_eq "$(stat -c %u:%g "$m/f0")" "0:0"
assert_eq "$(stat -c %u:%g "$m/f5")" "5:5"
assert_eq "$(stat -c %u:%g "$m/f7")" "7:8"
note "a write keeps the owner on copy-up; chown and chgrp work"
echo "w" >>"$m/f5"
assert_eq "$(stat -c %u:%g "$m/f5")" "5:5" "owner after copy-up"
chown 9:10 "$m/f0"
assert_eq "$(stat -c %u:%g "$m/f0")" "9:10"
note "a file created by container uid 5 in its own directory"
setpriv --reuid=5 --regid=5 --clear-groups -- sh -c "echo by5 >'$m/d5/new'"
assert_eq "$(stat -c %u:%g "$m/d5/new")" "5:5"
lfs_umount "$m"

note "-o uidmapping=0:100:1:5:200:1,gidmapping=0:100:1:5:200:1"
lfs_mount "$m" "lowerdir=$lower" "upperdir=$upper" "workdir=$work" \
	"uidmapping=0:100:1:5:200:1" "gidmapping=0:100:1:5:200:1"
assert_eq "$(stat -c %u:%g "$m/f5")" "200:200" "disk 5 shows as 200"
assert_eq "$(stat -c %u:%g "$m/f0")" "65534:65534" "disk 9:10 (unmapped) shows as 65534"
assert_eq "$(stat -c %u:%g "$m/f7")" "65534:65534" "disk 7:8 (unmapped)"
assert_eq "$(stat -c %u:%g "$m/d5/new")" "200:200"
chown 100:100 "$m/f5"
assert_eq "$(stat -c %u:%g "$m/f5")" "100:100" "after chown 100:100"
chown 200:100 "$m/f0"
assert_eq "$(stat -c %u:%g "$m/f0")" "200:100" "after chown 200:100"
lfs_umount "$m"
EOF
run_inner wide in_ns env HOME=/tmp LAYERFS="$LAYERFS" SRCDIR="$SRCDIR" \
	LFS_TMP_PREFIX="$rl_prefix" RL_DIR="$RL_DIR" \
	unshare --mount bash "$T/inner-wide.sh"
assert_nothing_left "wide"
note "wide: real owners on disk, no override xattrs needed"
u=$RL_DIR/upper
assert_eq "$(stat -c %u:%g "$u/f5")" "$uid:$gid" "f5 chowned to container 100:100 = disk 0:0"
assert_eq "$(stat -c %u:%g "$u/f0")" "$(host_id 5):$(host_id 0)" "f0 chowned to container 200:100 = disk 5:0"
assert_eq "$(stat -c %u:%g "$u/d5/new")" "$(host_id 5):$(host_id 5)" "file created by uid 5"
assert_eq "$(stat -c %u:%g "$RL_DIR/lower/f5")" "$(host_id 5):$(host_id 5)" "lower f5 untouched"
if getfattr -n user.containers.override_stat "$u/f5" >/dev/null 2>&1; then
	fail "an override xattr where a real chown was possible"
fi

# ---------------------------------------------------------------------------
note "plain: no namespace, mounted through the setuid fusermount3"
fm=$(command -v fusermount3)
if [ ! -u "$fm" ] || [ "$(stat -c %u "$fm")" -ne 0 ]; then
	skip "$fm is not setuid root: an unprivileged user cannot mount FUSE without a namespace"
fi

# user_mount MNT OPTS: layerfs -f as the user; the mount is the user's
# (root may not even stat it: no allow_other). Sets UPID.
user_mount()
{
	local mnt=$1 opts=$2 log="$T/plain.$((++_lfs_seq)).log" deadline st=0

	# setpriv execs layerfs: the PID is the daemon's
	lfs_bg setpriv --reuid="$uid" --regid="$gid" --init-groups -- \
		"$LAYERFS" -f -o "$opts" "$mnt" >"$log" 2>&1
	UPID=$LFS_BG_PID
	deadline=$((SECONDS + LFS_MOUNT_TIMEOUT))
	until is_mounted "$mnt"; do
		if ! _lfs_alive "$UPID"; then
			wait "$UPID" || st=$?
			cat "$log" >&2
			fail "layerfs as $RL_USER exited $st before mounting $mnt"
		fi
		[ "$SECONDS" -lt "$deadline" ] || { cat "$log" >&2; fail "$mnt not mounted"; }
		sleep 0.02
	done
	as_user timeout 20 stat -f "$mnt" >/dev/null || fail "$mnt does not answer"
	grep -F " $mnt " /proc/self/mountinfo | grep -q "user_id=$uid" ||
		fail "$mnt is not a mount of uid $uid"
}

user_umount()
{
	local st=0

	as_user fusermount3 -u "$1" || fail "fusermount3 -u $1 as $RL_USER"
	_lfs_wait_gone 20 "$UPID" || fail "layerfs still running after unmount"
	wait "$UPID" || st=$?
	assert_eq "$st" 0 "exit status of layerfs run by $RL_USER"
	assert_not_mounted "$1"
}

W=$T/plain
lower=$W/lower upper=$W/upper work=$W/work m=$W/mnt
mkdir -p "$lower/ldir/sub" "$upper" "$work" "$m"
put "$lower/file" "lower"
put "$lower/del" "to delete"
put "$lower/ldir/a" "a"
put "$lower/ldir/sub/b" "b"
put "$lower/cf" "chown me"
chown -R "$uid:$gid" "$W"
O="lowerdir=$lower,upperdir=$upper,workdir=$work"
user_mount "$m" "$O"

note "plain: read, write, delete, mkdir, rename"
assert_eq "$(as_user cat "$m/file")" "lower"
as_user sh -c "echo more >>'$m/file'"
assert_file_content "$upper/file" $'lower\nmore\n'
assert_file_content "$lower/file" $'lower\n'
as_user rm "$m/del"
assert_wh_file "$upper/.wh.del"
assert_fails as_user test -e "$m/del"
as_user mkdir "$m/newdir"
as_user sh -c "echo n >'$m/newdir/n'"
assert_file_text "$upper/newdir/n" "n"
as_user mv "$m/ldir" "$m/ldir2"
assert_eq "$(as_user cat "$m/ldir2/sub/b")" "b"
assert_fails as_user test -e "$m/ldir"
assert_wh_file "$upper/.wh.ldir"
assert_eq "$(find "$upper" -type c | wc -l)" 0 "character devices in the upper"
assert_fails as_user chown 1234 "$m/cf" # the kernel: no CAP_CHOWN

note "plain: chown by a container process (subordinate ids) is kept in the xattr"
in_ns chown 5:6 "$m/cf"
assert_eq "$(in_ns stat -c %u:%g "$m/cf")" "5:6" "owner in the container"
assert_eq "$(as_user stat -c %u:%g "$m/cf")" "$(host_id 5):$(host_id 6)" "owner for the user"
assert_eq "$(stat -c %u:%g "$upper/cf")" "$uid:$gid" "the real owner on disk"
v=$(getfattr --only-values -n user.containers.override_stat "$upper/cf" 2>/dev/null) ||
	fail "no user.containers.override_stat on $upper/cf"
assert_eq "$v" "$(host_id 5):$(host_id 6):0644" "override xattr of cf"
in_ns chmod 0640 "$m/cf"
assert_eq "$(as_user stat -c %a "$m/cf")" "640" "mode after chmod"
v=$(getfattr --only-values -n user.containers.override_stat "$upper/cf" 2>/dev/null)
assert_eq "$v" "$(host_id 5):$(host_id 6):0640" "override xattr after chmod"
assert_eq "$(in_ns cat "$m/cf")" "chown me" "content after chown+chmod"
assert_fails as_user cat "$m/cf" # 0640 and owned by 5:6 now: the user is "other"

note "plain: a directory made by the container's root and chowned to 5:5"
# (processes with other ids cannot use a plain user's mount: no allow_other)
in_ns mkdir "$m/cdir"
in_ns chown 5:5 "$m/cdir"
assert_eq "$(in_ns stat -c '%u:%g %a' "$m/cdir")" "5:5 755"
v=$(getfattr --only-values -n user.containers.override_stat "$upper/cdir" 2>/dev/null) ||
	fail "no override xattr on the chowned directory"
assert_eq "$v" "$(host_id 5):$(host_id 5):0755" "override xattr of cdir"
in_ns sh -c "echo in-cdir >'$m/cdir/f'"
assert_file_text "$upper/cdir/f" "in-cdir"
user_umount "$m"

note "plain: remount shows the same owners"
user_mount "$m" "$O"
assert_eq "$(as_user stat -c '%u:%g %a' "$m/cf")" "$(host_id 5):$(host_id 6) 640" "cf after remount"
assert_eq "$(in_ns stat -c %u:%g "$m/cdir")" "5:5" "cdir after remount"
assert_eq "$(as_user stat -c %u:%g "$m/file")" "$uid:$gid" "an unchanged file"
assert_eq "$(as_user cat "$m/file")" $'lower\nmore'
assert_fails as_user test -e "$m/del"
user_umount "$m"
assert_nothing_left "plain"
note "ok"
