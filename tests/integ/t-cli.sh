#!/usr/bin/env bash
# The command-line contract of layerfs (DESIGN.md section 1), as podman,
# containerd's mount.fuse3 helper and scripts use it: --version/--help,
# daemon mode (returns once the mount is live, then runs in the
# background), -f, the option string (empty items, quoted values, the
# fuse-overlayfs options, id mapping, squashing, xattr_permissions), the
# "SOURCE MNT -o OPTS" form through mount.fuse3 and mount -t fuse.layerfs,
# unknown overlayfs options (warn, ignore), garbage (clear message, exit
# status != 0, nothing mounted, no daemon), and the ways to stop it
# (fusermount3 -u, umount, SIGTERM: exit 0, writes in the upper).
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_root
need_fuse
need_cmd findmnt mount.fuse3 getfattr setfattr

lower=$T/lower
lower2=$T/lower2
mkdir -p "$lower" "$lower2"
put "$lower/file" "top"
put "$lower/dir/a" "a"
put "$lower2/file" "bottom"
put "$lower2/bottom-only" "b2"
put "$lower2/dir/b" "b"
for u in 0 5 1000 70000; do
	put "$lower/own$u" "$u"
	chown "$u:$u" "$lower/own$u"
done
# containers/storage hands the lower dirs over as symlinks (l/SHORTID)
ln -s lower "$T/lower-link"
ln -s "$lower2" "$T/lower2-link"

# A fresh upper+work pair: sets up, wk.
new_layers()
{
	up=$T/$1/upper
	wk=$T/$1/work
	mkdir -p "$up" "$wk"
}

# The layerfs daemons of this test: a process named layerfs whose command
# line mentions $T or that holds a file below $T open (its layers, when
# given as relative paths). Never anything else on the machine.
our_daemons()
{
	local d p f

	for d in /proc/[0-9]*; do
		p=${d#/proc/}
		[ "$(cat "$d/comm" 2>/dev/null)" = layerfs ] || continue
		if tr '\0' '\n' <"$d/cmdline" 2>/dev/null | grep -qF "$T/"; then
			printf '%s\n' "$p"
			continue
		fi
		for f in "$d"/fd/*; do
			case "$(readlink "$f" 2>/dev/null || true)" in
			"$T"/*)
				printf '%s\n' "$p"
				break
				;;
			esac
		done
	done
}

# daemon_of ARG: the daemon of this test with ARG (its mountpoint, as
# given) as an argument.
daemon_of()
{
	local p

	for p in $(our_daemons); do
		if tr '\0' '\n' <"/proc/$p/cmdline" 2>/dev/null |
			grep -qxF "$1"; then
			printf '%s\n' "$p"
		fi
	done
}

assert_no_daemon()
{
	local left

	left=$(our_daemons | tr '\n' ' ')
	[ -z "$left" ] || fail "${1:-}: layerfs daemons left behind: $left"
}

# bg_started MNT [ARG]: right after a daemon-mode layerfs returned 0. The
# mount must already be in mountinfo; sets DPID to the daemon (the one
# with ARG, default MNT, on its command line), which the cleanup then
# kills if it is still there.
bg_started()
{
	local mnt=$1 n

	assert_eq "$(fstype_at "$mnt")" "fuse.layerfs" \
		"fstype of $mnt right after layerfs returned"
	DPID=$(daemon_of "${2:-$mnt}")
	n=$(printf '%s\n' "$DPID" | grep -c .) || true
	assert_eq "$n" 1 "number of daemons serving $mnt"
	_lfs_pids+=("$DPID") # lib.sh's cleanup kills it if it must
	assert_ne "$(ps -o ppid= -p "$DPID" | tr -d ' ')" "$$" \
		"the daemon is detached from the caller"
}

# gone PID: exited (a zombie waiting for init to reap it has exited)
gone()
{
	local st

	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 0
	case "$st" in
	Z*) return 0 ;;
	*) return 1 ;;
	esac
}

# wait_daemon_gone PID WHAT
wait_daemon_gone()
{
	local deadline=$((SECONDS + 20))

	until gone "$1"; do
		[ "$SECONDS" -lt "$deadline" ] ||
			fail "$2: daemon $1 still running 20 s later"
		sleep 0.02
	done
}

# The fstype of the mount at $1, from mountinfo (lib.sh's is_mounted
# passes the octal-escaped path through awk -v, which decodes "\040"
# again: it misses mountpoints with a space).
fstype_at()
{
	M=$(mi_escape "$1") awk '$5 == ENVIRON["M"] {
		for (i = 7; i <= NF; i++) if ($i == "-") { t = $(i + 1); break }
	} END { print t }' /proc/self/mountinfo
}

O_BASE="lowerdir=$lower:$lower2"

# ---------------------------------------------------------------------------
note "--version and --help exit 0 and print something useful"
out=$("$LAYERFS" --version) || fail "layerfs --version exited $?"
case "$out" in
*[0-9].[0-9]*) ;;
*) fail "layerfs --version printed no version: '$out'" ;;
esac
out=$("$LAYERFS" --help) || fail "layerfs --help exited $?"
case "$out" in
*lowerdir*upperdir*) ;;
*) fail "layerfs --help does not describe lowerdir/upperdir: '$out'" ;;
esac

# ---------------------------------------------------------------------------
note "daemon mode: returns once the mount is live, then runs in the background"
new_layers bg
m=$T/bg/mnt
mkdir -p "$m"
"$LAYERFS" -o "$O_BASE,upperdir=$up,workdir=$wk" "$m" ||
	fail "layerfs (daemon mode) exited $?"
# no waiting: the mount must be there and answer now
timeout 10 stat "$m/file" >/dev/null || fail "stat $m/file right after layerfs returned"
bg_started "$m"
assert_eq "$(findmnt -n -o FSTYPE "$m")" "fuse.layerfs" "findmnt $m"
assert_file_text "$m/file" "top"
assert_file_text "$m/bottom-only" "b2"
assert_ls "$m/dir" "a b"
echo "written in daemon mode" >"$m/new"
note "fusermount3 -u: the daemon exits, the write is in the upper"
fusermount3 -u "$m" || fail "fusermount3 -u $m"
wait_daemon_gone "$DPID" "fusermount3 -u"
assert_not_mounted "$m"
assert_file_text "$up/new" "written in daemon mode"

note "daemon mode with relative paths (the daemon changes directory to /)"
new_layers rel
mkdir -p "$T/rel/mnt"
(cd "$T" && "$LAYERFS" -o "lowerdir=lower-link:lower2,upperdir=rel/upper,workdir=rel/work" rel/mnt) ||
	fail "layerfs with relative paths exited $?"
m=$T/rel/mnt
bg_started "$m" rel/mnt
assert_file_text "$m/file" "top"
assert_file_text "$m/bottom-only" "b2"
echo rel >"$m/new"
umount "$m" || fail "umount $m"
wait_daemon_gone "$DPID" "umount"
assert_file_text "$up/new" "rel"

# The exit status of a daemon is only visible to its parent: run layerfs
# under a child subreaper that reports the status of the returning parent
# and then of the daemon.
if command -v python3 >/dev/null 2>&1; then
	cat >"$T/reaper.py" <<'EOF'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
    sys.exit("prctl failed")
out = sys.argv[1]
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, st = os.waitpid(pid, 0)
with open(out + ".tmp", "w") as f:
    f.write("%d\n" % os.waitstatus_to_exitcode(st))
os.rename(out + ".tmp", out)
while True:
    try:
        p, st = os.wait()
    except ChildProcessError:
        break
    with open(out + ".daemon.tmp", "a") as f:
        f.write("%d %d\n" % (p, os.waitstatus_to_exitcode(st)))
os.rename(out + ".daemon.tmp", out + ".daemon")
EOF
	# reaped_mount NAME HOW: mount in daemon mode, write, stop with HOW,
	# require exit status 0 from both the caller and the daemon.
	reaped_mount()
	{
		local name=$1 how=$2 st deadline m

		new_layers "$name"
		m=$T/$name/mnt
		mkdir -p "$m"
		lfs_bg python3 "$T/reaper.py" "$T/$name/status" "$LAYERFS" \
			-o "$O_BASE,upperdir=$up,workdir=$wk" "$m"
		deadline=$((SECONDS + 20))
		until [ -e "$T/$name/status" ]; do
			[ "$SECONDS" -lt "$deadline" ] || fail "$name: layerfs never returned"
			sleep 0.02
		done
		assert_eq "$(cat "$T/$name/status")" 0 "$name: exit status of layerfs (daemon mode)"
		bg_started "$m"
		echo "$how" >"$m/new"
		case "$how" in
		sigterm) kill -TERM "$DPID" ;;
		*) $how "$m" ;;
		esac
		wait_daemon_gone "$DPID" "$how"
		deadline=$((SECONDS + 20))
		until [ -e "$T/$name/status.daemon" ]; do
			[ "$SECONDS" -lt "$deadline" ] || fail "$name: reaper did not report"
			sleep 0.02
		done
		st=$(awk -v p="$DPID" '$1 == p { print $2 }' "$T/$name/status.daemon")
		assert_eq "$st" 0 "exit status of the daemon after $how"
		assert_not_mounted "$m" "$how unmounts $m"
		assert_file_text "$up/new" "$how" "data written before $how"
	}
	note "daemon mode: exit status 0 after fusermount3 -u, umount, SIGTERM"
	reaped_mount reap1 "fusermount3 -u"
	reaped_mount reap2 umount
	reaped_mount reap3 sigterm
else
	note "no python3: exit status of the detached daemon not checked"
fi

# ---------------------------------------------------------------------------
note "-f stays in the foreground; symlinked lower dirs"
new_layers fg
m=$T/fg/mnt
lfs_mount "$m" "lowerdir=$T/lower-link:$T/lower2-link" "upperdir=$up" "workdir=$wk"
_lfs_alive "$LFS_PID" || fail "layerfs -f is not running"
assert_eq "$(ps -o ppid= -p "$LFS_PID" | tr -d ' ')" "$$" "layerfs -f is our child"
assert_eq "$(daemon_of "$m")" "$LFS_PID" "no detached daemon for -f"
assert_file_text "$m/file" "top"
assert_file_text "$m/bottom-only" "b2"
assert_ls "$m/dir" "a b"
put "$m/dir/new" "fg"
assert_file_text "$up/dir/new" "fg"
assert_ls "$T/lower/dir" "a" "the symlink target (lower) is untouched"

note "umount (not fusermount3) ends a -f daemon with status 0"
umount "$m" || fail "umount $m"
_lfs_wait_gone 20 "$LFS_PID" || fail "layerfs -f still running after umount"
st=0
wait "$LFS_PID" || st=$?
assert_eq "$st" 0 "exit status of layerfs -f after umount"
assert_file_text "$up/dir/new" "fg"

note "SIGTERM to a -f daemon unmounts cleanly"
new_layers term
m=$T/term/mnt
lfs_mount "$m" "$O_BASE" "upperdir=$up" "workdir=$wk"
head -c 300000 /dev/urandom >"$T/blob"
cp "$T/blob" "$m/blob"
echo "appended" >>"$m/file"
kill -TERM "$LFS_PID"
_lfs_wait_gone 20 "$LFS_PID" || fail "layerfs still running 20 s after SIGTERM"
st=0
wait "$LFS_PID" || st=$?
assert_eq "$st" 0 "exit status after SIGTERM"
assert_not_mounted "$m" "SIGTERM unmounts"
cmp -s "$T/blob" "$up/blob" || fail "blob written before SIGTERM is not in the upper"
assert_file_content "$up/file" $'top\nappended\n'

note "several -o, a layer path with an escaped colon, a space in the mountpoint"
mkdir -p "$T/co:lon"
put "$T/co:lon/colon-file" "colon"
new_layers multi
m="$T/multi/mount point"
mkdir -p "$m"
"$LAYERFS" -o "lowerdir=${T}/co\\:lon:$lower" -o "upperdir=$up" -o "workdir=$wk" "$m" ||
	fail "layerfs with several -o exited $?"
# lib.sh's cleanup cannot see a mountpoint with a space: unmount it
# here before failing
if ! (
	bg_started "$m"
	assert_file_text "$m/colon-file" "colon"
	assert_file_text "$m/file" "top"
	put "$m/sp" "space"
); then
	fusermount3 -u "$m" || umount -l "$m"
	fail "several -o / escaped colon / space in the mountpoint"
fi
DPID=$(daemon_of "$m")
_lfs_pids+=("$DPID")
fusermount3 -u "$m"
wait_daemon_gone "$DPID" "fusermount3 -u"
[ -z "$(fstype_at "$m")" ] || fail "$m still mounted"
assert_file_text "$up/sp" "space"

# ---------------------------------------------------------------------------
# accepted NAME OPTS...: mounts $T/NAME/mnt with -f (lfs_mount), checks
# the union works, leaves it mounted for more checks; sets m. Call
# new_layers NAME first (OPTS use its $up and $wk).
accepted()
{
	local name=$1
	shift

	m=$T/$name/mnt
	lfs_mount "$m" "$@"
	assert_file_text "$m/file" "top" "-o $*: lookup"
}

note "empty items, trailing comma, volatile, fsync=0, timeout=0.5"
new_layers empty
accepted empty ",$O_BASE,,upperdir=$T/empty/upper,workdir=$T/empty/work,,volatile,fsync=0,timeout=0.5,"
echo volatile >"$m/v"
lfs_umount "$m"
assert_file_text "$up/v" "volatile" "a volatile mount's writes survive unmount"

note "dev,suid,allow_other,default_permissions (root mounts get dev and suid)"
new_layers devsuid
accepted devsuid "$O_BASE" "upperdir=$up" "workdir=$wk" dev suid allow_other default_permissions
opts=$(findmnt -n -o OPTIONS "$m")
case ",$opts," in *,nodev,* | *,nosuid,*) fail "dev,suid asked, got '$opts'" ;; esac
case ",$opts," in *,allow_other,*) ;; *) fail "allow_other not in '$opts'" ;; esac
case ",$opts," in *,default_permissions,*) ;; *) fail "default_permissions not in '$opts'" ;; esac
lfs_umount "$m"

note "nodev"
new_layers nodev
accepted nodev "$O_BASE" "upperdir=$up" "workdir=$wk" nodev
case ",$(findmnt -n -o OPTIONS "$m")," in *,nodev,*) ;; *) fail "nodev not applied" ;; esac
lfs_umount "$m"

note "ro with an upperdir: EROFS, nothing reaches the upper"
new_layers ro
accepted ro "$O_BASE" "upperdir=$up" "workdir=$wk" ro
case ",$(findmnt -n -o OPTIONS "$m")," in *,ro,*) ;; *) fail "ro mount is not ro" ;; esac
assert_fails_with "Read-only file system" touch "$m/new"
assert_fails_with "Read-only file system" rm "$m/file"
lfs_umount "$m"
assert_ls "$up" "" "upper of a ro mount"

note "context=\"...\" with commas inside the quotes"
# Without SELinux the kernel knows no context=: the label may be ignored,
# but the mount must work (containers/storage passes it whatever the host).
new_layers context
accepted context "$O_BASE" "upperdir=$up" "workdir=$wk" \
	'context="system_u:object_r:container_file_t:s0:c1,c2"' "volatile"
if [ -d /sys/fs/selinux ] && [ "$(cat /sys/fs/selinux/enforce 2>/dev/null)" != "" ]; then
	case "$(findmnt -n -o OPTIONS "$m")" in
	*context=*c1,c2*) ;;
	*) fail "SELinux on: context not applied" ;;
	esac
fi
put "$m/ctx" "ctx"
lfs_umount "$m"
assert_file_text "$up/ctx" "ctx"

# ---------------------------------------------------------------------------
# Owners as fs/attr.c describes them (fuse-overlayfs' semantics):
# uidmapping=C:H:N shows an on-disk id in [C, C+N) as H+(id-C), ids in no
# range as 65534; a chown through the mount writes the reverse.
stat_ids()
{
	stat -c '%u:%g' "$1"
}

note "uidmapping/gidmapping: ids shown mapped, chown writes them back"
map="0:1000:1:1:100000:65536"
new_layers idmap
accepted idmap "$O_BASE" "upperdir=$up" "workdir=$wk" "uidmapping=$map" "gidmapping=$map"
assert_eq "$(stat_ids "$m/own0")" "1000:1000" "disk 0 with $map"
assert_eq "$(stat_ids "$m/own5")" "100004:100004" "disk 5 with $map"
assert_eq "$(stat_ids "$m/own1000")" "100999:100999" "disk 1000 with $map"
assert_eq "$(stat_ids "$m/own70000")" "65534:65534" "disk 70000 (unmapped) with $map"
chown 1000:1000 "$m/own5"
chown 100009:100010 "$m/own1000"
assert_eq "$(stat_ids "$m/own5")" "1000:1000" "after chown 1000:1000"
assert_eq "$(stat_ids "$m/own1000")" "100009:100010" "after chown 100009:100010"
assert_eq "$(stat_ids "$up/own5")" "0:0" "chown 1000:1000 on disk"
assert_eq "$(stat_ids "$up/own1000")" "10:11" "chown 100009:100010 on disk"
assert_eq "$(stat_ids "$lower/own5")" "5:5" "the lower file keeps its owner"
lfs_umount "$m"

note "uidmapping with the triples as separate items (fuse-overlayfs manual form)"
new_layers idmap2
accepted idmap2 "$O_BASE" "upperdir=$up" "workdir=$wk" \
	"uidmapping=0:1000:1,1:100000:65536" "gidmapping=0:2000:1,1:200000:65536"
assert_eq "$(stat_ids "$m/own0")" "1000:2000" "disk 0"
assert_eq "$(stat_ids "$m/own5")" "100004:200004" "disk 5"
lfs_umount "$m"

note "squash_to_uid/squash_to_gid"
new_layers squash
accepted squash "$O_BASE" "upperdir=$up" "workdir=$wk" squash_to_uid=7 squash_to_gid=8
for u in 0 5 1000 70000; do
	assert_eq "$(stat_ids "$m/own$u")" "7:8" "own$u with squash_to_uid=7,squash_to_gid=8"
done
lfs_umount "$m"

note "squash_to_root: every file shows as 0:0"
new_layers squashroot
accepted squashroot "$O_BASE" "upperdir=$up" "workdir=$wk" squash_to_root
for f in own0 own5 own1000 own70000 file dir dir/a; do
	assert_eq "$(stat_ids "$m/$f")" "0:0" "$f with squash_to_root"
done
put "$m/created" "c"
chown 1234:1234 "$m/created"
assert_eq "$(stat_ids "$m/created")" "0:0" "a chowned file with squash_to_root"
lfs_umount "$m"

note "xattr_permissions=2: owner and mode kept in user.fuseoverlayfs.override_stat"
new_layers xperm
accepted xperm "$O_BASE" "upperdir=$up" "workdir=$wk" xattr_permissions=2
chmod 0600 "$m/own5"
chown 1234:4321 "$m/own5"
assert_eq "$(stat -c '%u:%g %a' "$m/own5")" "1234:4321 600" "after chmod+chown"
v=$(getfattr --only-values -n user.fuseoverlayfs.override_stat "$up/own5" 2>/dev/null) ||
	fail "no user.fuseoverlayfs.override_stat on the upper file"
case "$v" in
1234:4321:*600) ;;
*) fail "override xattr is '$v', expected 1234:4321:0600" ;;
esac
lfs_umount "$m"
# the xattr is what the mount shows, whatever the file's real owner
setfattr -n user.fuseoverlayfs.override_stat -v "42:43:0700" "$up/own5"
lfs_mount "$m" "$O_BASE" "upperdir=$up" "workdir=$wk" xattr_permissions=2
assert_eq "$(stat -c '%u:%g %a' "$m/own5")" "42:43 700" "owner from the override xattr"
lfs_umount "$m"

note "xattr_permissions=1 writes security.fuseoverlayfs.override_stat"
new_layers xperm1
accepted xperm1 "$O_BASE" "upperdir=$up" "workdir=$wk" xattr_permissions=1
chmod 0640 "$m/own0"
v=$(getfattr --only-values -n security.fuseoverlayfs.override_stat "$up/own0" 2>/dev/null) ||
	fail "no security.fuseoverlayfs.override_stat on the upper file"
case "$v" in
0:0:*640) ;;
*) fail "override xattr is '$v', expected 0:0:0640" ;;
esac
lfs_umount "$m"

# ---------------------------------------------------------------------------
note "unknown overlayfs/fuse-overlayfs options: warned about, ignored"
new_layers unknown
m=$T/unknown/mnt
mkdir -p "$m"
ignored="redirect_dir=on index=off metacopy=on xino=auto userxattr plugins= fast_ino= static_nlink noacl"
"$LAYERFS" -o "$O_BASE,upperdir=$up,workdir=$wk,$(printf '%s' "$ignored" | tr ' ' ',')" "$m" \
	2>"$T/unknown/err" || { cat "$T/unknown/err" >&2; fail "unknown options made the mount fail"; }
bg_started "$m"
for o in $ignored; do
	grep -F "$o" "$T/unknown/err" | grep -qi warn ||
		fail "no warning about '$o' on stderr: $(cat "$T/unknown/err")"
done
assert_file_text "$m/file" "top"
fusermount3 -u "$m"
wait_daemon_gone "$DPID" "fusermount3 -u"

# ---------------------------------------------------------------------------
note "garbage: clear message, exit status != 0, nothing mounted, no daemon"
new_layers bad
m=$T/bad/mnt
mkdir -p "$m" "$T/bad/tmpfs"
mount -t tmpfs -o size=4m tmpfs "$T/bad/tmpfs"
_lfs_mounts+=("$T/bad/tmpfs")
G="upperdir=$up,workdir=$wk"
# garbage WHAT-THE-MESSAGE-NAMES LAYERFS-ARGS...
garbage()
{
	local want=$1 st=0 err
	shift

	err=$(timeout 20 "$LAYERFS" "$@" 2>&1 >/dev/null) || st=$?
	[ "$st" -ne 0 ] || fail "should have failed: layerfs $*"
	[ "$st" -ne 124 ] || fail "layerfs $* hung (timeout)"
	case "$err" in
	*"$want"*) ;;
	*) fail "layerfs $*: message '$err' does not name '$want'" ;;
	esac
	assert_not_mounted "$m" "after layerfs $*"
	assert_no_daemon "after layerfs $*"
	note "  exit $st: $(printf '%s' "$err" | head -n1)"
}
garbage frobnicate -o "$O_BASE,$G,frobnicate" "$m"
garbage fsync -o "$O_BASE,$G,fsync=x" "$m"
garbage whiteout -o "$O_BASE,$G,whiteout=foo" "$m"
garbage lowerdir -o "lowerdir=,$G" "$m"
garbage lowerdir -o "$G" "$m"
garbage mountpoint -o "$O_BASE,$G"
garbage "$T/bad/nope" -o "$O_BASE,$G" "$T/bad/nope"
garbage "$T/nonexistent" -o "lowerdir=$lower:$T/nonexistent,$G" "$m"
garbage workdir -o "$O_BASE,upperdir=$up" "$m"
garbage workdir -o "$O_BASE,upperdir=$up,workdir=$T/bad/tmpfs" "$m"
garbage squash_to_uid -o "$O_BASE,$G,squash_to_uid=abc" "$m"
garbage uidmapping -o "$O_BASE,$G,uidmapping=0:1000" "$m"
garbage "unterminated" -o "$O_BASE,$G,context=\"abc" "$m"
garbage "unknown argument" --frobnicate -o "$O_BASE,$G" "$m"
# the same, in the foreground
garbage frobnicate -f -o "$O_BASE,$G,frobnicate" "$m"
garbage workdir -f -o "$O_BASE,upperdir=$up,workdir=$T/bad/tmpfs" "$m"
assert_ls "$T/bad/tmpfs" "" "nothing created in the rejected workdir"

# ---------------------------------------------------------------------------
note "SOURCE MNT -o OPTS form"
new_layers srcform
m=$T/srcform/mnt
mkdir -p "$m"
"$LAYERFS" overlay "$m" -o "$O_BASE,upperdir=$up,workdir=$wk,rw,dev,suid" ||
	fail "layerfs overlay MNT -o ... exited $?"
bg_started "$m"
assert_eq "$(findmnt -n -o SOURCE "$m")" "overlay" "source of the mount"
assert_file_text "$m/file" "top"
fusermount3 -u "$m"
wait_daemon_gone "$DPID" "fusermount3 -u"

note "mount.fuse3 overlay MNT -o ... -t layerfs (containerd's helper call)"
mkdir -p "$T/bin"
ln -s "$LAYERFS" "$T/bin/layerfs"
new_layers helper
m=$T/helper/mnt
mkdir -p "$m"
PATH=$T/bin:$PATH mount.fuse3 overlay "$m" -o "lowerdir=$lower:$lower2,upperdir=$up,workdir=$wk" -t layerfs ||
	fail "mount.fuse3 ... -t layerfs exited $?"
bg_started "$m"
# the helper passes "rw,...,dev,suid" on: accepted, and applied
case "$(tr '\0' ' ' <"/proc/$DPID/cmdline")" in
*dev,suid*) ;;
*) note "  (this mount.fuse3 did not append dev,suid)" ;;
esac
case ",$(findmnt -n -o OPTIONS "$m")," in
*,nodev,* | *,nosuid,*) fail "mount through mount.fuse3 is nodev/nosuid: $(findmnt -n -o OPTIONS "$m")" ;;
esac
assert_eq "$(findmnt -n -o SOURCE "$m")" "overlay" "source of the mount"
assert_file_text "$m/bottom-only" "b2"
put "$m/helper" "helper"
umount "$m" || fail "umount $m"
wait_daemon_gone "$DPID" "umount"
assert_file_text "$up/helper" "helper"

# mount(8) runs helpers with a sanitized environment (no PATH): sh then
# finds layerfs only in the standard directories. Make it one there in a
# private mount namespace, and run the whole mount/use/umount inside it.
note "mount -t fuse.layerfs overlay MNT -o ... (through /sbin/mount.fuse3)"
new_layers mountt
m=$T/mountt/mnt
mkdir -p "$m"
cat >"$T/mountt/run.sh" <<'EOF'
set -eu
mount --make-rprivate /
mount --bind "$T/bin" /usr/local/sbin
mount -t fuse.layerfs overlay "$M" -o "lowerdir=$LOWERS,upperdir=$UP,workdir=$WK"
grep -q " $M .* fuse.layerfs overlay " /proc/self/mountinfo
test "$(cat "$M/file")" = top
test "$(cat "$M/bottom-only")" = b2
echo "mount -t" >"$M/mountt"
pid=
for d in /proc/[0-9]*; do
	[ "$(cat "$d/comm" 2>/dev/null)" = layerfs ] || continue
	tr '\0' '\n' <"$d/cmdline" | grep -qxF "$M" && pid=${d#/proc/}
done
test -n "$pid"
echo "$pid" >"$T/mountt/pid"
umount "$M"
for i in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
! kill -0 "$pid" 2>/dev/null
echo ok
EOF
out=$(M=$m LOWERS="$lower:$lower2" UP=$up WK=$wk \
	unshare -m bash "$T/mountt/run.sh" 2>&1) || {
	[ -s "$T/mountt/pid" ] && _lfs_pids+=("$(cat "$T/mountt/pid")")
	fail "mount -t fuse.layerfs in a private mount namespace: $out"
}
assert_eq "$out" "ok" "mount -t fuse.layerfs"
assert_file_text "$up/mountt" "mount -t"

assert_no_daemon "at the end"
note "ok"
