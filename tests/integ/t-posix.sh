#!/usr/bin/env bash
# POSIX through the union: hardlinks (upper and to a lower file), symlinks,
# mknod, xattrs (private ones hidden and refused), POSIX ACLs (access and
# default, on lower files too), shared writable mmap, fsync/fdatasync,
# fallocate and hole punching, truncate of lower files, utimensat with ns,
# statfs, flock and POSIX locks, O_DIRECT, and inode numbers: stable over
# copy-up and over the kernel forgetting inodes, unique, and readdir's
# d_ino equal to stat's st_ino.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_root
need_fuse
need_cmd python3 setfattr getfattr setfacl getfacl flock fallocate truncate mknod

PY=$(python3 -c 'import sys; print(sys.executable)')
have_ovl=1
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || true
grep -qw overlay /proc/filesystems || have_ovl=0

l1=$T/l1 l2=$T/l2 u=$T/upper w=$T/work m=$T/mnt
mkdir -p "$l1" "$l2" "$u" "$w"
mount_it()
{
	lfs_mount "$m" "lowerdir=$l1:$l2" "upperdir=$u" "workdir=$w"
}

# op.py OP ARGS...: one syscall; prints OK or the errno name.
cat >"$T/op.py" <<'EOF'
import errno, os, sys
op, a = sys.argv[1], sys.argv[2:]
try:
    if op == 'setxattr':
        os.setxattr(a[0], a[1], a[2].encode(), follow_symlinks=False)
    elif op == 'getxattr':
        os.getxattr(a[0], a[1], follow_symlinks=False)
    elif op == 'removexattr':
        os.removexattr(a[0], a[1], follow_symlinks=False)
    else:
        sys.exit('unknown op ' + op)
    print('OK')
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))
EOF
expect_err()
{
	local want=$1 got
	shift
	got=$("$PY" "$T/op.py" "$@")
	[ "$got" = "$want" ] || fail "$*: got $got, expected $want"
}

# Inode numbers: d_ino == st_ino for every entry, unique st_ino (the hl/
# dir of hardlinks aside), one st_dev. Writes "path ino" lines to $2.
cat >"$T/ino.py" <<'EOF'
import os, sys
root, out = sys.argv[1], sys.argv[2]
dev = os.lstat(root).st_dev
bad, inos, lines = [], {}, []
def walk(d):
    for e in os.scandir(d):
        st = os.lstat(e.path)
        rel = os.path.relpath(e.path, root)
        if e.inode() != st.st_ino:
            bad.append('%s: d_ino %d != st_ino %d' % (rel, e.inode(), st.st_ino))
        if st.st_dev != dev:
            bad.append('%s: st_dev %x != the mount\'s %x' % (rel, st.st_dev, dev))
        if not rel.startswith('hl/'):
            inos.setdefault(st.st_ino, []).append(rel)
        lines.append('%s %d' % (rel, st.st_ino))
        if e.is_dir(follow_symlinks=False):
            walk(e.path)
walk(root)
for ino, paths in inos.items():
    if len(paths) > 1:
        bad.append('st_ino %d shared by %s' % (ino, ' '.join(paths)))
if os.lstat(root).st_ino in inos:
    bad.append('the root inode number is reused')
with open(out, 'w') as f:
    f.write('\n'.join(sorted(lines)) + '\n')
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
EOF
ino_check()
{
	local out
	out=$("$PY" "$T/ino.py" "$m" "$2") || fail "inode numbers ($1): $out"
}
forget_inodes()
{
	sync
	echo 2 >/proc/sys/vm/drop_caches
}

# ---- lower content ------------------------------------------------------------

put "$l2/lowfile" "low file"
put "$l2/lnk_low" "lower, to be hardlinked"
head -c 100000 /dev/urandom >"$l2/trunc_grow"
head -c 100000 /dev/urandom >"$l2/trunc_shrink"
put "$l2/trunc_zero" "zero me"
put "$l2/xat_low" "xattrs"
setfattr -n user.lower -v fromlower "$l2/xat_low"
put "$l2/cap_low" "cap"
put "$l2/acl_low" "acl"
setfacl -m u:2222:r "$l2/acl_low"
put "$l2/acl_low2" "acl2"
mkdir -p "$l2/acl_dir"
setfacl -d -m u:1234:rx "$l2/acl_dir"
head -c 8192 /dev/urandom >"$l2/mmap_low"
head -c 65536 /dev/urandom >"$l2/direct_low"
put "$l2/time_low" "t"
mkdir -p "$l2/time_dir"
put "$l1/ino/a" "a"
put "$l2/ino/b" "b"
put "$l2/ino/sub/c" "c"
mkdir -p "$l2/sym"
# a lower name as long as the f_namemax that layerfs reports (251 or more)
nm=$(stat -f -c %l "$u")
for n in 251 252 253 254 255; do
	[ "$n" -le "$nm" ] && : >"$l2/$(printf 'n%.0s' $(seq 2 "$n"))L"
done
put "$l2/sym/target" "sym target"
ln -s target "$l2/sym/low_rel"

mount_it

# ---- hardlinks ----------------------------------------------------------------

note "hardlinks in the upper"
mkdir "$m/hl"
put "$m/hl/f" "one"
ln "$m/hl/f" "$m/hl/g"
assert_eq "$(stat -c %h "$m/hl/f")" 2 "nlink of f after link"
assert_eq "$(stat -c %h "$m/hl/g")" 2 "nlink of g after link"
assert_eq "$(stat -c %i "$m/hl/g")" "$(stat -c %i "$m/hl/f")" "both names have the same st_ino"
echo "two" >>"$m/hl/g"
assert_file_content "$m/hl/f" $'one\ntwo\n' "a write through one name shows through the other"
ln "$m/hl/f" "$m/hl/h"
assert_eq "$(stat -c %h "$m/hl/f")" 3
rm "$m/hl/g"
assert_eq "$(stat -c %h "$m/hl/f")" 2 "nlink after unlink"
assert_eq "$(stat -c %h "$m/hl/h")" 2
assert_eq "$(stat -c %h "$u/hl/f")" 2 "nlink in the upper"

note "a hardlink to a lower file"
ino0=$(stat -c %i "$m/lnk_low")
ln "$m/lnk_low" "$m/hl/to_low"
assert_eq "$(stat -c %h "$m/lnk_low")" 2 "nlink of the lower file after link"
assert_eq "$(stat -c %h "$m/hl/to_low")" 2
assert_eq "$(stat -c %i "$m/hl/to_low")" "$(stat -c %i "$m/lnk_low")" "same st_ino"
assert_eq "$(stat -c %i "$m/lnk_low")" "$ino0" "st_ino kept over the copy-up"
assert_file_text "$m/hl/to_low" "lower, to be hardlinked"
echo "more" >>"$m/hl/to_low"
assert_file_content "$m/lnk_low" $'lower, to be hardlinked\nmore\n'
assert_eq "$(stat -c %i "$u/hl/to_low")" "$(stat -c %i "$u/lnk_low")" "one inode in the upper"
assert_file_text "$l2/lnk_low" "lower, to be hardlinked" "the lower is untouched"

# ---- symlinks, mknod ------------------------------------------------------------

note "symlinks"
mkdir "$m/sym/dir"
put "$m/sym/dir/file" "via relative"
ln -s dir/file "$m/sym/rel"
ln -s "$m/sym/target" "$m/sym/abs"
ln -s does/not/exist "$m/sym/dangling"
assert_eq "$(readlink "$m/sym/rel")" "dir/file"
assert_file_text "$m/sym/rel" "via relative"
assert_file_text "$m/sym/abs" "sym target"
assert_eq "$(readlink "$m/sym/dangling")" "does/not/exist"
assert_symlink "$m/sym/dangling"
[ ! -e "$m/sym/dangling" ] || fail "a dangling symlink resolves"
assert_eq "$(readlink "$m/sym/low_rel")" "target" "a lower symlink"
assert_file_text "$m/sym/low_rel" "sym target"
assert_eq "$(stat -c %s "$m/sym/rel")" 8 "st_size of a symlink is its length"
assert_eq "$(readlink "$u/sym/rel")" "dir/file" "the symlink in the upper"

note "mknod: fifo, char device"
mknod "$m/fifo" p
mknod "$m/null" c 1 3
[ -p "$m/fifo" ] || fail "fifo is not a fifo"
[ -c "$m/null" ] || fail "null is not a char device"
assert_eq "$(stat -c '%t:%T' "$m/null")" "1:3"
[ -p "$u/fifo" ] || fail "no fifo in the upper"
assert_eq "$(stat -c '%F %t:%T' "$u/null")" "character special file 1:3"
echo "through the fifo" >"$T/fifo.expect"
lfs_bg sh -c "cat '$m/fifo' >'$T/fifo.out'"
reader=$LFS_BG_PID
echo "through the fifo" >"$m/fifo"
wait "$reader"
assert_eq "$(cat "$T/fifo.out")" "through the fifo" "data through a fifo"
echo "to null" >"$m/null" || fail "cannot write to the char device"

# ---- xattrs -------------------------------------------------------------------------

note "xattrs: set, get, list, remove"
put "$m/xat" "x"
setfattr -n user.a -v alpha "$m/xat"
setfattr -n user.b -v "" "$m/xat"
setfattr -n trusted.t -v tee "$m/xat"
assert_eq "$(getfattr --absolute-names --only-values -n user.a "$m/xat")" alpha
assert_eq "$(getfattr --absolute-names -d -m - "$m/xat" | grep -v '^#' | grep . | LC_ALL=C sort | tr '\n' ' ')" \
	'trusted.t="tee" user.a="alpha" user.b="" ' "listed xattrs"
setfattr -x user.a "$m/xat"
expect_err ENODATA getxattr "$m/xat" user.a
expect_err ENODATA removexattr "$m/xat" user.a
assert_eq "$(getfattr --absolute-names -d "$m/xat" | grep -v '^#' | grep . | tr '\n' ' ')" 'user.b="" '
expect_err ENODATA getxattr "$u/xat" user.a
# on a lower file: copy-up, the lower's xattrs kept
assert_eq "$(getfattr --absolute-names --only-values -n user.lower "$m/xat_low")" fromlower
setfattr -n user.new -v new "$m/xat_low"
assert_eq "$(getfattr --absolute-names -d "$m/xat_low" | grep -v '^#' | grep . | LC_ALL=C sort | tr '\n' ' ')" \
	'user.lower="fromlower" user.new="new" '
setfattr -x user.lower "$m/xat_low"
assert_eq "$(getfattr --absolute-names -d "$m/xat_low" | grep -v '^#' | grep . | tr '\n' ' ')" 'user.new="new" '
assert_eq "$(getfattr --absolute-names --only-values -n user.lower "$l2/xat_low")" fromlower \
	"the lower keeps its xattr"
# on a dir and a symlink
setfattr -n user.d -v dir "$m/hl"
assert_eq "$(getfattr --absolute-names --only-values -n user.d "$m/hl")" dir
setfattr -h -n trusted.s -v sym "$m/sym/rel"
assert_eq "$(getfattr -h --absolute-names --only-values -n trusted.s "$m/sym/rel")" sym

note "security.capability"
put "$m/cap" "cap"
if command -v setcap >/dev/null 2>&1; then
	setcap cap_net_raw+ep "$m/cap"
	assert_eq "$(getcap "$m/cap" | awk '{print $2}')" "cap_net_raw=ep" "getcap"
	setcap cap_net_admin+ep "$m/cap_low"
	assert_eq "$(getcap "$m/cap_low" | awk '{print $2}')" "cap_net_admin=ep" "getcap on a copied-up file"
	assert_eq "$(getcap "$u/cap_low" | awk '{print $2}')" "cap_net_admin=ep" "getcap in the upper"
	setcap -r "$m/cap"
	assert_eq "$(getcap "$m/cap")" "" "capability removed"
else
	setfattr -n security.capability -v 0x0100000201000000000000000000000000000000 "$m/cap"
	assert_eq "$(getfattr --absolute-names -e hex --only-values -n security.capability "$m/cap" | od -An -tx1 | tr -d ' \n')" \
		"0100000201000000000000000000000000000000"
fi

note "private xattrs are never listed and cannot be set"
chmod 600 "$m/lowfile" # a metacopy: user.layerfs.metacopy in the upper
getfattr --absolute-names -n user.layerfs.metacopy "$u/lowfile" >/dev/null 2>&1 ||
	fail "expected a metacopy in the upper for this check"
for p in "$m/lowfile" "$m/hl" "$m/xat" "$m"; do
	if getfattr --absolute-names -h -d -m - "$p" 2>/dev/null | grep -E -q '^(user\.layerfs\.|trusted\.overlay\.)'; then
		fail "private xattrs listed on $p: $(getfattr --absolute-names -d -m - "$p")"
	fi
	expect_err EPERM setxattr "$p" user.layerfs.metacopy /x
	expect_err EPERM setxattr "$p" user.layerfs.redirect /x
	expect_err EPERM setxattr "$p" user.layerfs.anything y
	expect_err EPERM setxattr "$p" trusted.overlay.opaque y
	expect_err EPERM setxattr "$p" trusted.overlay.redirect /x
done
expect_err ENODATA getxattr "$m/lowfile" user.layerfs.metacopy
assert_file_text "$m/lowfile" "low file"

# ---- ACLs ---------------------------------------------------------------------------

acl_ops()
{
	local m=$1
	put "$m/acl_new" "acl"
	setfacl -m u:1234:rwx "$m/acl_new"
	setfacl -m u:1234:rwx,g:5678:r "$m/acl_low2"
	mkdir "$m/acl_d"
	setfacl -d -m u:1234:rx "$m/acl_d"
	( umask 022; touch "$m/acl_d/inherits"; mkdir "$m/acl_d/subdir" )
	( umask 022; touch "$m/acl_dir/inherits_low" )
}
acl_show()
{
	local m=$1 f
	for f in acl_new acl_low acl_low2 acl_d acl_d/inherits acl_d/subdir acl_dir acl_dir/inherits_low; do
		getfacl -p "$m/$f" 2>&1 | sed "s|$m/||"
	done
}

note "POSIX ACLs"
acl_ops "$m"
getfacl -p "$m/acl_new" | grep -qx 'user:1234:rwx' || fail "getfacl does not show user:1234:rwx"
getfacl -p "$m/acl_low" | grep -qx 'user:2222:r--' || fail "a lower file's ACL is not shown"
getfacl -p "$m/acl_low2" | grep -qx 'user:1234:rwx' || fail "ACL set on a lower file not shown"
getfacl -p "$m/acl_low2" | grep -qx 'group:5678:r--' || fail "ACL set on a lower file not shown"
getfattr --absolute-names -n system.posix_acl_access "$u/acl_low2" >/dev/null 2>&1 ||
	fail "no access ACL on the copied-up file in the upper"
getfacl -p "$m/acl_d" | grep -qx 'default:user:1234:r-x' || fail "no default ACL on acl_d"
getfacl -p "$m/acl_d/inherits" | grep -q '^user:1234:r-x' || fail "a new file does not inherit the default ACL"
getfacl -p "$m/acl_d/subdir" | grep -qx 'default:user:1234:r-x' || fail "a new dir does not inherit the default ACL"
getfacl -p "$m/acl_dir/inherits_low" | grep -q '^user:1234:r-x' ||
	fail "a new file in a lower dir with a default ACL does not inherit it"
lfs_acl=$(acl_show "$m")
if [ "$have_ovl" = 1 ]; then
	# the kernel overlayfs on a copy of the lowers gives the same ACLs and modes
	mkdir -p "$T/ko1" "$T/ko2" "$T/ku" "$T/kw"
	cp -a "$l1/." "$T/ko1/"
	cp -a "$l2/." "$T/ko2/"
	ovl_mount "$T/kmnt" "lowerdir=$T/ko1:$T/ko2,upperdir=$T/ku,workdir=$T/kw"
	acl_ops "$T/kmnt"
	assert_eq "$lfs_acl" "$(acl_show "$T/kmnt")" "ACLs: layerfs vs the kernel overlayfs"
	ovl_umount "$T/kmnt"
fi

# ---- mmap, fsync, fallocate ----------------------------------------------------------

note "shared writable mmap, msync, read back; fsync and fdatasync"
head -c 16384 /dev/urandom >"$m/mmap_up"
"$PY" - "$m/mmap_up" "$m/mmap_low" "$m" <<'EOF'
import mmap, os, sys
for p in sys.argv[1:3]:
    fd = os.open(p, os.O_RDWR)
    size = os.fstat(fd).st_size
    mm = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    mm[100:111] = b'MMAP-WRITE!'
    mm[size - 5:size] = b'TAIL!'
    mm.flush()
    assert os.pread(fd, 11, 100) == b'MMAP-WRITE!', 'read() after msync: %r' % os.pread(fd, 11, 100)
    assert os.pread(fd, 5, size - 5) == b'TAIL!'
    assert os.fsync(fd) is None
    assert os.fdatasync(fd) is None
    mm.close()
    os.close(fd)
    fd = os.open(p, os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    assert os.pread(fd, 11, 100) == b'MMAP-WRITE!', 'reread: %r' % os.pread(fd, 11, 100)
    os.close(fd)
# fsync on a directory
fd = os.open(sys.argv[3], os.O_RDONLY | os.O_DIRECTORY)
os.fsync(fd)
os.close(fd)
EOF
mm_up=$(sha256sum <"$m/mmap_up")
mm_low=$(sha256sum <"$m/mmap_low")
assert_eq "$(dd if="$u/mmap_low" bs=1 skip=100 count=11 status=none)" "MMAP-WRITE!" "the mmap write in the upper"
assert_eq "$(head -c 100 "$m/mmap_low" | sha256sum)" "$(head -c 100 "$l2/mmap_low" | sha256sum)" \
	"the rest of the mmapped lower file"

note "fallocate and punching holes"
: >"$m/falloc"
"$PY" -c 'import os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
os.posix_fallocate(fd, 0, 4 << 20)
os.close(fd)' "$m/falloc"
assert_eq "$(stat -c %s "$m/falloc")" $((4 << 20)) "size after posix_fallocate"
[ "$(stat -c %b "$u/falloc")" -ge 8192 ] || fail "posix_fallocate did not allocate in the upper"
fallocate -n -o $((4 << 20)) -l 1M "$m/falloc"
assert_eq "$(stat -c %s "$m/falloc")" $((4 << 20)) "fallocate --keep-size keeps the size"
head -c 1M /dev/urandom >"$m/punch"
b0=$(stat -c %b "$u/punch")
fallocate -p -o 65536 -l 524288 "$m/punch"
b1=$(stat -c %b "$u/punch")
assert_eq "$(stat -c %s "$m/punch")" 1048576 "punching a hole keeps the size"
[ "$b1" -le $((b0 - 1024)) ] || fail "punching 512 KiB freed nothing: $b0 -> $b1 blocks"
assert_eq "$(dd if="$m/punch" bs=65536 skip=1 count=8 status=none | tr -d '\0' | wc -c)" 0 \
	"the punched range reads as zeros"

# ---- truncate, utimens ---------------------------------------------------------------

note "truncate grow and shrink of lower files"
truncate -s 300000 "$m/trunc_grow"
assert_eq "$(stat -c %s "$m/trunc_grow")" 300000
assert_eq "$(head -c 100000 "$m/trunc_grow" | sha256sum)" "$(sha256sum <"$l2/trunc_grow")" "data kept when growing"
assert_eq "$(tail -c 200000 "$m/trunc_grow" | tr -d '\0' | wc -c)" 0 "the grown part reads as zeros"
truncate -s 10 "$m/trunc_shrink"
assert_eq "$(stat -c %s "$m/trunc_shrink")" 10
assert_eq "$(sha256sum <"$m/trunc_shrink")" "$(head -c 10 "$l2/trunc_shrink" | sha256sum)" "data kept when shrinking"
: >"$m/trunc_zero"
assert_eq "$(stat -c %s "$m/trunc_zero")" 0 "O_TRUNC of a lower file"
assert_eq "$(stat -c %s "$l2/trunc_grow") $(stat -c %s "$l2/trunc_shrink") $(stat -c %s "$l2/trunc_zero")" \
	"100000 100000 8" "the lowers are untouched"

note "utimensat with nanoseconds"
"$PY" - "$m" <<'EOF'
import os, sys
m = sys.argv[1]
a, b = 981173106123456789, 1234567890987654321
for p, follow in ((m + '/time_low', True), (m + '/time_dir', True),
                  (m + '/xat', True), (m + '/sym/rel', False), (m + '/fifo', True)):
    os.utime(p, ns=(a, b), follow_symlinks=follow)
    st = os.stat(p, follow_symlinks=follow)
    assert (st.st_atime_ns, st.st_mtime_ns) == (a, b), '%s: %r' % (p, (st.st_atime_ns, st.st_mtime_ns))
# and again, both the same
os.utime(m + '/time_low', ns=(a, a))
st = os.stat(m + '/time_low')
assert (st.st_atime_ns, st.st_mtime_ns) == (a, a)
EOF
assert_eq "$(stat -c '%x|%y' "$m/time_low")" "$(stat -c '%x|%y' "$u/time_low")" "times in the upper"

# The node of a hardlinked symlink keeps the name it was first seen by; once
# that name is unlinked, utimensat(AT_SYMLINK_NOFOLLOW) through another link
# must still set the times (it was silently ignored: found by t-soak).
note "utimensat of a hardlinked symlink whose first name is gone"
"$PY" - "$m" <<'EOF'
import os, sys
m = sys.argv[1]
os.symlink('no-target', m + '/sym/hl1')
os.link(m + '/sym/hl1', m + '/sym/hl2', follow_symlinks=False)
os.link(m + '/sym/hl1', m + '/sym/hl3', follow_symlinks=False)
s1, s2 = os.lstat(m + '/sym/hl1'), os.lstat(m + '/sym/hl2')
assert s1.st_ino == s2.st_ino and s2.st_nlink == 3, (s1, s2)
os.unlink(m + '/sym/hl1')
t = 1061229714683051432
os.utime(m + '/sym/hl2', ns=(t - 5, t), follow_symlinks=False)
st = os.lstat(m + '/sym/hl2')
assert st.st_atime_ns == t - 5, st
for n in ('hl2', 'hl3'):
    st = os.lstat(m + '/sym/' + n)
    assert (st.st_mtime_ns, st.st_nlink) == (t, 2), \
        '%s: %r' % (n, (st.st_mtime_ns, st.st_nlink))
    assert os.readlink(m + '/sym/' + n) == 'no-target'
EOF
assert_eq "$(stat -c %Y "$u/sym/hl3")" 1061229714 "the symlinks' mtime in the upper"
rm "$m/sym/hl2" "$m/sym/hl3" # the inode-number checks below want no hardlinks

# ---- statfs ----------------------------------------------------------------------------

note "statfs"
df "$m" >/dev/null || fail "df on the mount fails"
df -i "$m" >/dev/null || fail "df -i on the mount fails"
namemax=$(stat -f -c %l "$m")
note "f_namemax $namemax, f_blocks $(stat -f -c %b "$m") x $(stat -f -c %S "$m")"
# the upper's, or 4 less to leave room for the ".wh." of a whiteout
if [ "$namemax" -lt $(($(stat -f -c %l "$u") - 4)) ] || [ "$namemax" -gt "$(stat -f -c %l "$u")" ]; then
	fail "f_namemax is $namemax (the upper's is $(stat -f -c %l "$u"))"
fi
long=$(printf 'n%.0s' $(seq 1 "$namemax"))
put "$m/$long" "long"
assert_file_text "$m/$long" "long" "a name of f_namemax characters"
rm "$m/$long"
assert_not_exists "$m/$long"
rm "$m/${long:1}L" || fail "cannot delete a lower file with a name of f_namemax characters"
assert_not_exists "$m/${long:1}L"
assert_eq "$(stat -f -c '%b %S' "$m")" "$(stat -f -c '%b %S' "$u")" "f_blocks and f_bsize are the upper's"

# ---- locks -----------------------------------------------------------------------------

note "flock: a second process cannot take a held lock"
put "$m/lockf" "lock"
rm -f "$T/flock.ready" "$T/flock.release"
# -o: only the flock process holds the lock; it lets go when the shell ends
lfs_bg flock -o "$m/lockf" sh -c "touch '$T/flock.ready'
	for i in \$(seq 1 600); do [ -e '$T/flock.release' ] && exit 0; sleep 0.05; done"
holder=$LFS_BG_PID
for _ in $(seq 1 200); do
	[ -e "$T/flock.ready" ] && break
	sleep 0.05
done
[ -e "$T/flock.ready" ] || fail "the flock holder did not start"
if flock -n "$m/lockf" true; then
	fail "flock -n got a lock another process holds"
fi
if flock -n -s "$m/lockf" true; then
	fail "flock -n -s got a shared lock while another process holds it exclusive"
fi
touch "$T/flock.release"
wait "$holder" || fail "the flock holder failed"
flock -n "$m/lockf" true || fail "flock -n fails after the holder let go"

note "POSIX locks (fcntl.lockf) from two processes"
"$PY" - "$m/lockf" <<'EOF'
import errno, fcntl, os, sys, time
p = sys.argv[1]
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    fd = os.open(p, os.O_RDWR)
    fcntl.lockf(fd, fcntl.LOCK_EX, 10, 0)
    os.write(w, b'x')
    time.sleep(30)
    os._exit(0)
try:
    os.read(r, 1)
    fd = os.open(p, os.O_RDWR)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 0)
        sys.exit('lockf got a range another process holds')
    except OSError as e:
        assert e.errno in (errno.EAGAIN, errno.EACCES), e
    # a range nobody holds is free
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 100)
    fcntl.lockf(fd, fcntl.LOCK_UN, 10, 100)
finally:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 0)
EOF

# ---- O_DIRECT ----------------------------------------------------------------------------

note "O_DIRECT on a lower and an upper file"
head -c 65536 /dev/urandom >"$m/direct_up"
"$PY" - "$m/direct_low" "$m/direct_up" "$l2/direct_low" <<'EOF'
import mmap, os, sys
want_low = open(sys.argv[3], 'rb').read()
want_up = open(sys.argv[2], 'rb').read()
for p, want in ((sys.argv[1], want_low), (sys.argv[2], want_up)):
    fd = os.open(p, os.O_RDONLY | os.O_DIRECT)
    buf = mmap.mmap(-1, 8192)
    n = os.preadv(fd, [buf], 8192)
    assert n == 8192 and buf[:n] == want[8192:16384], p
    os.close(fd)
fd = os.open(sys.argv[2], os.O_WRONLY | os.O_DIRECT)
buf = mmap.mmap(-1, 4096)
buf.write(b'D' * 4096)
assert os.pwritev(fd, [buf], 0) == 4096
os.close(fd)
assert open(sys.argv[2], 'rb').read(4096) == b'D' * 4096
EOF

# ---- inode numbers -----------------------------------------------------------------------

note "inode numbers: d_ino == st_ino, unique, stable over copy-up and forget"
ino_check "mounted" "$T/ino1"
ia=$(stat -c %i "$m/ino/a") ib=$(stat -c %i "$m/ino/b") ic=$(stat -c %i "$m/ino/sub/c")
idir=$(stat -c %i "$m/ino") isub=$(stat -c %i "$m/ino/sub")
forget_inodes
ino_check "after forget" "$T/ino2"
assert_eq "$(cat "$T/ino2")" "$(cat "$T/ino1")" "st_ino of every entry after the kernel forgot inodes"
chmod 600 "$m/ino/b"               # metacopy
echo more >>"$m/ino/a"             # data copy-up
put "$m/ino/sub/new" "new"         # copies up ino/sub
assert_eq "$(stat -c %i "$m/ino/a")" "$ia" "st_ino of a after its copy-up"
assert_eq "$(stat -c %i "$m/ino/b")" "$ib" "st_ino of b after its metacopy"
assert_eq "$(stat -c %i "$m/ino/sub/c")" "$ic"
assert_eq "$(stat -c %i "$m/ino")" "$idir" "st_ino of a dir after its copy-up"
assert_eq "$(stat -c %i "$m/ino/sub")" "$isub"
echo more >>"$m/ino/b"             # metacopy -> data
assert_eq "$(stat -c %i "$m/ino/b")" "$ib" "st_ino of b after its data copy-up"
ino_check "after copy-ups" "$T/ino3"
forget_inodes
ino_check "after copy-ups and forget" "$T/ino4"
assert_eq "$(cat "$T/ino4")" "$(cat "$T/ino3")" "st_ino of every entry after copy-ups and forget"
assert_eq "$(stat -c %i "$m/ino/a") $(stat -c %i "$m/ino/b") $(stat -c %i "$m/ino")" \
	"$ia $ib $idir" "st_ino after copy-up and forget"
# every object that existed before keeps its number (new ones aside)
for f in ino/a ino/b ino/sub ino/sub/c lowfile lnk_low trunc_grow xat_low; do
	assert_eq "$(grep "^$f " "$T/ino4")" "$(grep "^$f " "$T/ino1")" "st_ino of $f over the whole run"
done

# ---- remount ---------------------------------------------------------------------------

note "after a remount"
lfs_umount "$m"
mount_it
assert_eq "$(sha256sum <"$m/mmap_up")" "$mm_up" "mmap-written file after remount"
assert_eq "$(sha256sum <"$m/mmap_low")" "$mm_low" "mmap-written lower file after remount"
assert_eq "$(stat -c %h "$m/hl/f") $(stat -c %h "$m/lnk_low")" "2 2" "link counts after remount"
assert_eq "$(stat -c %i "$m/hl/to_low")" "$(stat -c %i "$m/lnk_low")" "hardlinks after remount"
assert_eq "$(acl_show "$m")" "$lfs_acl" "ACLs after remount"
"$PY" -c 'import os, sys
st = os.stat(sys.argv[1])
assert (st.st_atime_ns, st.st_mtime_ns) == (981173106123456789, 981173106123456789), st' "$m/time_low"
assert_eq "$(getfattr --absolute-names -d "$m/xat" | grep -v '^#' | grep . | tr '\n' ' ')" 'user.b="" '
ino_check "after remount" "$T/ino5"
lfs_umount "$m"
note "ok"
