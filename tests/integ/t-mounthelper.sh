#!/usr/bin/env bash
# layerfs behind the mount helpers, as containerd's fuse-overlayfs
# snapshotter uses it (issue 8), and under a real containerd 1.6.
#
# 1. containerd's call. The fuse-overlayfs snapshotter returns mounts of
#    type "fuse3.fuse-overlayfs" with the overlayfs snapshotter's options;
#    containerd (mount/mount_linux.go, mountWithHelper) strips "fuse3." and
#    runs `mount.fuse3 SOURCE TARGET -o OPT -o OPT... -t fuse-overlayfs`
#    with its own PATH. Here: the same with "-t layerfs", a symlink named
#    layerfs to $LAYERFS in a directory at the front of PATH. mount.fuse3
#    (3.14) runs `/bin/sh -c 'layerfs SOURCE TARGET -o OPTS,dev,suid'`
#    (it joins the -o options and appends dev,suid as root). Checked: the
#    mount (fuse.layerfs, source "overlay"), reading the lower layers
#    (whiteout and opaque dir of the upper lower), a write (copy-up), a
#    delete (a .wh. whiteout in the upper), and that `umount TARGET` ends
#    the daemon with exit status 0.
# 2. mount(8). Workarounds needed, both outside layerfs:
#    * mount(8) runs its helpers with no PATH in the environment, so
#      mount.fuse's sh finds programs only in its default PATH
#      (/usr/local/sbin:...:/bin), never in the caller's PATH. The test
#      binds a directory with the layerfs symlink over /usr/local/sbin in a
#      private mount namespace (unshare -m) for `mount -t fuse.layerfs`.
#    * `mount -t fuse3.layerfs` does not work with Debian 12's mount(8) and
#      mount.fuse3 3.14: mount(8) calls mount.fuse3 -t fuse3.layerfs, and
#      mount.fuse3 strips only "fuse." and "fuseblk.", so it runs a program
#      named "fuse3.layerfs". The test checks that it fails that way and
#      mounts nothing. (containerd is not affected: it strips "fuse3."
#      itself.) The working spellings: -t fuse.layerfs, or
#      -t fuse3 '/path/to/layerfs#SOURCE' (the "prog#source" form, no PATH).
#    * An fstab line (mount -T FILE MNT) of that form with ro, noatime,
#      nodev, allow_other, default_permissions: the mount has them.
# 3. containerd 1.6 (containerd --config, its own root, state and socket
#    in $T; no CRI plugin, no opt plugin): an image of three layers (gzip,
#    gzip with a whiteout and an opaque dir, zstd; layerctl commit, then
#    layerctl save oci-archive:) imported with ctr (its overlayfs
#    snapshotter unpacks the layers with overlay-format whiteouts: char
#    0/0 and trusted.overlay.opaque), a snapshot prepared from its chain ID
#    twice, and `ctr snapshots mounts` of each: the `mount -t overlay` line
#    containerd would use. One is mounted with the kernel overlayfs, the
#    other with that line's options through mount.fuse3 -t layerfs, as
#    the fuse-overlayfs snapshotter does: the trees are equal (treefp.py)
#    and equal to a layerctl container of the same image, and stay equal
#    after the same changes through both. Then `ctr run --rootfs` (runc)
#    runs a command in the layerfs mount, with its exit code.
#    Note: layerfs writes OCI whiteouts (.wh.NAME) in the snapshot's upper
#    by default, where the kernel overlayfs writes char 0/0 devices (and
#    fuse-overlayfs, as root, too); `-o whiteout=chardev` gives the
#    overlay format. The test checks which format each upper has.
# Every process that daemonizes (layerfs, the shims) is reparented to
# t-mounthelper-reap.py, which runs this script and logs their exit
# statuses in $LFS_REAP_LOG; containerd runs under lfs_bg.
if [ -z "${LFS_REAP_LOG:-}" ]; then
	exec python3 "$(dirname "${BASH_SOURCE[0]}")/t-mounthelper-reap.py" \
		bash "${BASH_SOURCE[0]}" "$@"
fi
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_root
need_fuse
need_overlay
need_cmd mount.fuse3 unshare setpriv python3 gzip busybox containerd ctr runc \
	containerd-shim-runc-v2

export LAYERFS
BIN=$T/bin
mkdir -p "$BIN"
ln -s "$LAYERFS" "$BIN/layerfs"
PATH=$BIN:$PATH
export PATH

fp() { python3 "$SRCDIR/tests/integ/treefp.py" "$@"; }

# same_tree A B MSG [--exclude P]...: A and B have the same fingerprint.
same_tree()
{
	local a=$1 b=$2 msg=$3
	shift 3
	fp "$@" "$a" >"$T/fp.a"
	fp "$@" "$b" >"$T/fp.b"
	diff -u "$T/fp.a" "$T/fp.b" >&2 || fail "$msg ($a vs $b)"
}

# daemon_pid MNT: the PID of the one layerfs daemon serving MNT.
daemon_pid()
{
	python3 - "$1" <<'EOF'
import os, sys
mnt = os.fsencode(sys.argv[1])
pids = []
for p in os.listdir("/proc"):
    if not p.isdigit():
        continue
    try:
        a = open(f"/proc/{p}/cmdline", "rb").read().split(b"\0")
    except OSError:
        continue
    if os.path.basename(a[0]).endswith(b"layerfs") and mnt in a[1:]:
        pids.append(p)
if len(pids) != 1:
    sys.exit(f"daemon_pid: {len(pids)} layerfs daemons for {sys.argv[1]}")
print(pids[0])
EOF
}

# reaped PID: wait (20 s) until the reaper logged PID's exit; print its
# exit code.
reaped()
{
	local deadline=$((SECONDS + 20)) st

	while [ "$SECONDS" -lt "$deadline" ]; do
		st=$(awk -v p="$1" '$1 == p { print $3 }' "$LFS_REAP_LOG")
		if [ -n "$st" ]; then
			printf '%s' "$st"
			return 0
		fi
		sleep 0.05
	done
	fail "process $1 did not exit within 20 s"
}

# mnt_field MNT N: field N after the " - " of MNT's mountinfo line (1 =
# fstype, 2 = source, 3 = super options); 0 = the mount options.
mnt_field()
{
	M=$(mi_escape "$1") awk -v n="$2" '$5 == ENVIRON["M"] {
		if (n == 0) { print $6; exit }
		for (i = 7; i <= NF; i++) if ($i == "-") { print $(i + n); exit }
	}' /proc/self/mountinfo
}

# has_opt LIST OPT: OPT is an item of the comma list LIST.
has_opt() { case ",$1," in *",$2,"*) return 0 ;; esac; return 1; }

# ctd_mount MNT OPTS: what containerd does for a "fuse3.layerfs" mount.
ctd_mount()
{
	local mnt=$1 o args=()

	IFS=, read -r -a o <<<"$2"
	for x in "${o[@]}"; do
		args+=(-o "$x")
	done
	mkdir -p "$mnt"
	mount.fuse3 overlay "$mnt" "${args[@]}" -t layerfs ||
		fail "mount.fuse3 overlay $mnt ${args[*]} -t layerfs failed"
	assert_mounted "$mnt"
	DPID=$(daemon_pid "$mnt")
}

# helper_umount MNT PID: umount(8), and the daemon exits 0.
helper_umount()
{
	umount "$1" || fail "umount $1"
	assert_eq "$(reaped "$2")" 0 "layerfs exit status after umount $1"
}

# ---- 1. containerd's call, on plain layers --------------------------------
note "mount.fuse3 overlay MNT -o ... -t layerfs"
L1=$T/l1 L2=$T/l2
mkdir -p "$L1"/{etc,opq/old,del} "$L2"/{etc,opq} "$T"/{u,w}
echo lower >"$L1/etc/motd"
echo gone >"$L1/etc/gone"
echo old >"$L1/opq/old/f"
echo del >"$L1/del/me"
echo l2 >"$L2/etc/l2"
: >"$L2/etc/.wh.gone"
: >"$L2/opq/.wh..wh..opq"
echo new >"$L2/opq/new"
M=$T/m
ctd_mount "$M" "index=off,workdir=$T/w,upperdir=$T/u,lowerdir=$L2:$L1"
assert_eq "$(mnt_field "$M" 1)" fuse.layerfs "fstype"
assert_eq "$(mnt_field "$M" 2)" overlay "source"
tr '\0' ' ' <"/proc/$DPID/cmdline" >"$T/cmdline"
note "mount.fuse3 ran: $(cat "$T/cmdline")"
has_opt "$(awk '{print $5}' "$T/cmdline")" dev || fail "mount.fuse3 did not add dev"
assert_file_text "$M/etc/motd" lower
assert_file_text "$M/etc/l2" l2
assert_not_exists "$M/etc/gone" "the whiteout in l2 hides etc/gone"
assert_ls "$M/opq" new "l2's opaque opq"
echo more >>"$M/etc/motd"
rm "$M/del/me"
mkdir "$M/newdir"
echo n >"$M/newdir/f"
assert_file_content "$M/etc/motd" $'lower\nmore\n'
assert_ls "$M/del" "" "del/me deleted"
helper_umount "$M" "$DPID"
assert_file_content "$T/u/etc/motd" $'lower\nmore\n' "the copy-up in the upper"
assert_file_text "$L1/etc/motd" lower "the lower layer unchanged"
assert_file "$T/u/del/.wh.me" "the delete left a .wh. whiteout in the upper"
assert_eq "$(stat -c %s "$T/u/del/.wh.me")" 0 "whiteout size"
assert_file_text "$T/u/newdir/f" n

# ---- 2. mount(8) ----------------------------------------------------------
note "mount -t fuse3.layerfs: mount.fuse3 runs 'fuse3.layerfs'"
mkdir -p "$T/m2"
if mount -t fuse3.layerfs overlay "$T/m2" -o "lowerdir=$L2:$L1" \
	>"$T/f3.out" 2>&1; then
	fail "mount -t fuse3.layerfs worked: update this test and its header"
fi
grep -q 'fuse3.layerfs: not found' "$T/f3.out" ||
	fail "mount -t fuse3.layerfs failed otherwise: $(cat "$T/f3.out")"
assert_not_mounted "$T/m2"
note "  as expected: $(cat "$T/f3.out")"

note "mount -t fuse.layerfs, layerfs in /usr/local/sbin (unshare -m)"
mkdir -p "$T/sbin" "$T/u2" "$T/w2"
ln -s "$LAYERFS" "$T/sbin/layerfs"
cat >"$T/ns.sh" <<'EOF'
set -eu
T=$1 L=$2
trap 'umount "$T/m2" 2>/dev/null || true' EXIT
mount --bind "$T/sbin" /usr/local/sbin
# mount(8) drops PATH: the caller's does not matter
env -u PATH /bin/mount -t fuse.layerfs overlay "$T/m2" \
	-o "lowerdir=$L,upperdir=$T/u2,workdir=$T/w2"
awk -v m="$T/m2" '$5 == m' /proc/self/mountinfo >"$T/ns.mountinfo"
for p in /proc/[0-9]*; do
	a=$( { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null) || continue
	case "$a" in
	*layerfs\ overlay\ "$T/m2"\ *) echo "${p#/proc/}" >"$T/ns.pid" ;;
	esac
done
cat "$T/m2/etc/motd" >"$T/ns.motd"
rm "$T/m2/etc/l2"
umount "$T/m2"
trap - EXIT
EOF
unshare -m --propagation private bash "$T/ns.sh" "$T" "$L2:$L1" ||
	fail "mount -t fuse.layerfs in a private namespace"
grep -q ' fuse.layerfs overlay ' "$T/ns.mountinfo" ||
	fail "mount -t fuse.layerfs: not a fuse.layerfs mount: $(cat "$T/ns.mountinfo")"
assert_file_text "$T/ns.motd" lower "read through the -t fuse.layerfs mount"
assert_file "$T/u2/etc/.wh.l2" "the delete through the -t fuse.layerfs mount"
assert_eq "$(reaped "$(cat "$T/ns.pid")")" 0 "layerfs exit after umount (-t fuse.layerfs)"

note "an fstab line: PROG#overlay MNT fuse3 ro,noatime,nodev,allow_other,..."
printf '%s#overlay %s fuse3 %s 0 0\n' "$BIN/layerfs" "$T/m2" \
	"ro,noatime,nodev,allow_other,default_permissions,lowerdir=$T/u:$L2:$L1" \
	>"$T/fstab"
mount -T "$T/fstab" "$T/m2" || fail "mount -T fstab $T/m2"
DPID=$(daemon_pid "$T/m2")
assert_eq "$(mnt_field "$T/m2" 1)" fuse.layerfs "fstab: fstype"
mo=$(mnt_field "$T/m2" 0)
so=$(mnt_field "$T/m2" 3)
for o in ro nodev noatime; do
	has_opt "$mo" "$o" || fail "fstab: the mount has no '$o' ($mo)"
done
for o in ro allow_other default_permissions; do
	has_opt "$so" "$o" || fail "fstab: no '$o' in the super options ($so)"
done
assert_file_content "$T/m2/etc/motd" $'lower\nmore\n' "the old upper as a lower"
assert_not_exists "$T/m2/del/me" "its whiteout"
assert_fails_with "Read-only file system" touch "$T/m2/x"
# allow_other: another user reads it ($T is 0700: open it for the check)
chmod 0711 "$T"
assert_eq "$(setpriv --reuid 65534 --regid 65534 --clear-groups \
	cat "$T/m2/etc/l2")" l2 "allow_other: uid 65534 reads the mount"
chmod 0700 "$T"
helper_umount "$T/m2" "$DPID"

# ---- 3. containerd --------------------------------------------------------
note "an image of three layers"
S=$T/store
lc() { "$LAYERCTL" --root "$S" "$@"; }
bash "$SRCDIR/tests/integ/runimg.sh" "$T/bb.tar"
gzip -n "$T/bb.tar"
lc load -q --tag base "$T/bb.tar.gz" >/dev/null
mkdir "$T/c"
lc create --name c1 base >/dev/null
lc mount c1 "$T/c"
rm "$T/c/bin/yes"
rm -rf "$T/c/home"
mkdir -p "$T/c/home/new" "$T/c/data/d"
echo x >"$T/c/data/d/x"
echo keep >"$T/c/data/d/keep"
echo two >"$T/c/etc/motd"
lc umount "$T/c"
lc commit -q --compress gzip c1 two >/dev/null
# A commit right after an unmount may reach a daemon that is stopping: it
# closes the connection unanswered, then removes its socket. A fake daemon
# does that for 0.5 s; the commit waits it out (it failed with "cannot
# pause container" / "could not be paused" before).
cat >"$T/stopping.py" <<'EOF'
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(8)
s.settimeout(0.02)
open(sys.argv[2], "w").close()
n, end = 0, time.monotonic() + 0.5
while time.monotonic() < end:
    try:
        c, _ = s.accept()
    except socket.timeout:
        continue
    n += 1
    c.close()
os.unlink(sys.argv[1])
s.close()
print(n)
EOF
lfs_bg python3 "$T/stopping.py" "$S/containers/c1/work/layerfs.sock" \
	"$T/stopping.ready" >"$T/stopping.n"
spid=$LFS_BG_PID
until [ -e "$T/stopping.ready" ]; do
	_lfs_alive "$spid" || fail "the fake daemon did not start"
	sleep 0.02
done
lc commit -q --compress gzip c1 two-again >/dev/null ||
	fail "commit while the container's daemon was stopping"
wait "$spid" || fail "the fake daemon failed"
lfs_forget "$spid"
[ "$(cat "$T/stopping.n")" -ge 1 ] || fail "the commit never reached the fake daemon"
top_diff() { lc inspect --json "$1" | python3 -c 'import json, sys
print(json.load(sys.stdin)["layers"][-1]["diff_id"])'; }
assert_eq "$(top_diff two-again)" "$(top_diff two)" \
	"the commit after the wait: the same layer"
lc create --name c2 two >/dev/null
lc mount c2 "$T/c"
rm "$T/c/data/d/x"
echo z >"$T/c/etc/zz"
lc umount "$T/c"
lc commit -q --compress zstd c2 three >/dev/null
lc save -q three "oci-archive:$T/three.tar:three" >/dev/null
lc inspect --json three >"$T/three.json"
CHAIN=$(python3 - "$T/three.json" <<'EOF'
import hashlib, json, sys
ids = [l["diff_id"] for l in json.load(open(sys.argv[1]))["layers"]]
c = ids[0]
for d in ids[1:]:
    c = "sha256:" + hashlib.sha256(f"{c} {d}".encode()).hexdigest()
print(c)
EOF
)

note "containerd"
CD=$T/ctd
mkdir -p "$CD"
cat >"$CD/config.toml" <<EOF
version = 2
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.internal.v1.opt"]
[ttrpc]
  address = "$CD/ctd.sock.ttrpc"
[debug]
  address = ""
EOF
lfs_bg containerd --config "$CD/config.toml" --root "$CD/root" \
	--state "$CD/state" --address "$CD/ctd.sock" >"$CD/log" 2>&1
CTD_PID=$LFS_BG_PID
# A namespace of its own: runc puts the container in the cgroup /NS/ID
# (in every hierarchy), which the test removes at the end.
NS=lfs-it-${T##*.}
ctr() { command ctr -a "$CD/ctd.sock" -n "$NS" "$@"; }

# On failure: a container still running keeps its rootfs (and so a layerfs
# daemon) alive in its mount namespace, whatever lib.sh unmounts. Kill the
# tasks through containerd, then any shim of this containerd (found by its
# -address) with its children, by PID; then lib.sh's cleanup.
ctd_cleanup()
{
	local id p kids

	trap - ERR
	set +e
	if _lfs_alive "$CTD_PID"; then
		for id in $(timeout 5 command ctr -a "$CD/ctd.sock" -n "$NS" \
			tasks ls -q 2>/dev/null); do
			timeout 5 command ctr -a "$CD/ctd.sock" -n "$NS" \
				tasks kill -s SIGKILL "$id"
			timeout 10 command ctr -a "$CD/ctd.sock" -n "$NS" \
				tasks delete -f "$id"
		done >/dev/null 2>&1
	fi
	for p in /proc/[0-9]*; do
		case "$( { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null)" in
		*containerd-shim*" -address $CD/ctd.sock "*)
			kids=$(pgrep -P "${p#/proc/}")
			# shellcheck disable=SC2086 # PIDs
			lfs_end_pids $kids "${p#/proc/}"
			;;
		esac
	done
	rm_cgroups
}

# The namespace's cgroups, once empty (rmdir fails on a cgroup in use).
rm_cgroups()
{
	local d

	for d in /sys/fs/cgroup/"$NS" /sys/fs/cgroup/*/"$NS"; do
		[ -d "$d" ] || continue
		find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
		[ -d "$d" ] && printf 'cleanup: cgroup %s is still there\n' "$d" >&2
	done
	return 0
}
# shellcheck disable=SC2154 # _st is set in the trap
trap '_st=$?; ctd_cleanup; cleanup $_st' EXIT
trap 'ctd_cleanup; cleanup 130' INT
trap 'ctd_cleanup; cleanup 143' TERM
trap 'ctd_cleanup; cleanup 129' HUP
deadline=$((SECONDS + 30))
until ctr version >/dev/null 2>&1; do
	_lfs_alive "$CTD_PID" || { cat "$CD/log" >&2; fail "containerd exited"; }
	[ "$SECONDS" -lt "$deadline" ] || { cat "$CD/log" >&2; fail "containerd does not answer"; }
	sleep 0.1
done
ctr images import --snapshotter overlayfs --base-name lfs.test/three \
	"$T/three.tar" >"$T/import.out" || fail "ctr images import"
ctr images ls -q | grep -qx lfs.test/three:three || fail "the image is not in containerd"
ctr snapshots --snapshotter overlayfs info "$CHAIN" >/dev/null ||
	fail "no snapshot for the image's chain ID $CHAIN"
for k in ovl lfs; do
	ctr snapshots --snapshotter overlayfs prepare "$k" "$CHAIN"
	mkdir -p "$T/mnt-$k"
	ctr snapshots --snapshotter overlayfs mounts "$T/mnt-$k" "$k" >"$T/line-$k"
	case "$(cat "$T/line-$k")" in
	"mount -t overlay overlay $T/mnt-$k -o "*) ;;
	*) fail "ctr snapshots mounts: $(cat "$T/line-$k")" ;;
	esac
done
note "containerd's line: $(cat "$T/line-lfs")"
OPTS_OVL=$(sed 's/.* -o //' "$T/line-ovl")
OPTS_LFS=$(sed 's/.* -o //' "$T/line-lfs")
python3 - "$OPTS_LFS" <<'EOF' || fail "not the overlayfs snapshotter's options"
import sys
o = sys.argv[1].split(",")
keys = [x.split("=", 1)[0] for x in o]
assert keys == ["index", "workdir", "upperdir", "lowerdir"], keys
assert o[0] == "index=off", o[0]
assert len(o[3].split(":")) == 3, "three lower layers"
EOF
lower_of() { sed 's/.*lowerdir=//' "$T/line-$1"; }
for d in $(lower_of lfs | tr ':' ' '); do
	find "$d" -type c >>"$T/chardevs"
done
grep -q '/bin/yes$' "$T/chardevs" ||
	fail "containerd did not unpack bin/.wh.yes as a char device"

ovl_mount "$T/mnt-ovl" "$OPTS_OVL"
ctd_mount "$T/mnt-lfs" "$OPTS_LFS"
LFS_PID=$DPID
same_tree "$T/mnt-ovl" "$T/mnt-lfs" "kernel overlayfs vs layerfs on containerd's snapshot"
lc create --name c3 three >/dev/null
lc mount c3 "$T/c"
same_tree "$T/c" "$T/mnt-lfs" "a layerctl container vs containerd's snapshot" \
	--exclude etc/hostname --exclude etc/hosts --exclude etc/resolv.conf
lc umount "$T/c"
assert_not_exists "$T/mnt-lfs/bin/yes"
assert_ls "$T/mnt-lfs/home" new "the opaque /home"
assert_ls "$T/mnt-lfs/data/d" keep "the zstd layer's whiteout"

note "the same changes through both"
for k in ovl lfs; do
	m=$T/mnt-$k
	echo more >>"$m/etc/motd"
	rm "$m/etc/passwd"
	rm -rf "$m/data"
	mkdir "$m/data"
	echo n >"$m/data/n"
	mv "$m/home" "$m/home2"
	chmod 0700 "$m/etc/group"
	ln "$m/etc/zz" "$m/etc/zz2"
	ln -s ../etc/motd "$m/tmp/l"
done
same_tree "$T/mnt-ovl" "$T/mnt-lfs" "after the same changes"
UP_OVL=$(sed 's/.*upperdir=\([^,]*\).*/\1/' "$T/line-ovl")
UP_LFS=$(sed 's/.*upperdir=\([^,]*\).*/\1/' "$T/line-lfs")
[ -c "$UP_OVL/etc/passwd" ] || fail "the kernel's upper: no char device whiteout"
assert_file "$UP_LFS/etc/.wh.passwd" "layerfs' upper: an OCI whiteout"

note "ctr run --rootfs on the layerfs mount"
ctr run --rm --env PATH=/bin --rootfs "$T/mnt-lfs" lfs-run /bin/sh -c \
	'cat /etc/motd; echo run >/tmp/run; rm /etc/zz; test ! -e /bin/yes; exit 7' \
	>"$T/run.out" 2>&1 && st=0 || st=$?
[ "$st" -eq 7 ] || { cat "$T/run.out" >&2; fail "ctr run: exit $st, expected 7"; }
assert_file_content "$T/run.out" $'two\nmore\n' "ctr run: the command's output"
assert_file_text "$UP_LFS/tmp/run" run "the container's write is in the snapshot's upper"
assert_file "$UP_LFS/etc/.wh.zz" "the container's delete is a whiteout in the upper"
assert_eq "$(ctr containers ls -q)" "" "ctr run --rm left a container"

helper_umount "$T/mnt-lfs" "$LFS_PID"
ovl_umount "$T/mnt-ovl"
for k in ovl lfs; do
	ctr snapshots --snapshotter overlayfs rm "$k"
done
_lfs_alive "$CTD_PID" || fail "containerd died"
rm_cgroups
[ -z "$(find /sys/fs/cgroup -maxdepth 2 -name "$NS")" ] ||
	fail "the cgroups of $NS are not empty after the run"
lfs_end_pids "$CTD_PID"
wait "$CTD_PID" || true
lfs_forget "$CTD_PID"
# the shims are gone too: every process the reaper adopted has exited
while read -r p c st; do
	_lfs_alive "$p" && fail "$c ($p), adopted by the reaper, still runs"
	[ "$st" = 0 ] || fail "$c ($p), adopted by the reaper, exited $st"
done <"$LFS_REAP_LOG"
note "exited under the reaper: $(awk '{printf "%s=%s ", $2, $3}' "$LFS_REAP_LOG")"
echo "t-mounthelper: ok"
