#!/usr/bin/env bash
# Copy-up.
#  * every file type (regular, symlink, fifo, socket, char and block device,
#    directory) copied up keeps its type, owner, mode, nanosecond mtime and
#    atime and xattrs (user.*, trusted.*, security.capability), and so do
#    the parent directories copied up on the way (as the kernel does);
#  * metadata-only changes (chmod, chown, touch -m, setfattr) on a lower
#    regular file copy no data (metacopy) yet read the right data, also
#    after a remount; the first write then copies the data in;
#  * a 1-byte append to a 1 GiB sparse lower file copies only its data;
#  * the work dir is left empty; four 64 MiB files copied up in parallel
#    (and four writers racing on one file) end with the right bytes;
#  * an fd opened O_RDONLY before another fd's copy-up reads the new data.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_root
need_fuse
need_cmd python3 setfattr getfattr mknod sha256sum

PY=$(python3 -c 'import sys; print(sys.executable)')

l1=$T/l1 l2=$T/l2 u=$T/upper w=$T/work m=$T/mnt
mkdir -p "$l1" "$l2" "$u" "$w"
mount_it()
{
	lfs_mount "$m" "lowerdir=$l1:$l2" "upperdir=$u" "workdir=$w"
}

# type, owner, mode, mtime, atime (ns) and rdev of an object
st_of()
{
	stat -c '%F %u:%g %a %y | %x | %t:%T' "$1"
}
# every xattr but the union's private ones, in hex, sorted
xattrs_of()
{
	{ getfattr --absolute-names -h -d -m - -e hex "$1" 2>/dev/null || true; } |
		awk '/^#/ || /^$/ || /^user\.layerfs\./ || /^trusted\.overlay\./ { next } { print }' |
		LC_ALL=C sort
}
daemon_wchar()
{
	awk '/^wchar/ {print $2}' "/proc/$LFS_PID/io"
}

T1='2001-02-03 04:05:06.123456789'
T2='2001-02-03 04:05:07.987654321'

# ---- the lower objects, all owned 1234:5678, times T1 (mtime) / T2 (atime)

d=$l2/t
mkdir -p "$d/dir/sub"
head -c 100000 /dev/urandom >"$d/reg_open"
head -c 100000 /dev/urandom >"$d/reg_write"
ln -s "some/target" "$d/sym"
mkfifo "$d/fifo"
"$PY" -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$d/sock"
mknod "$d/chr" c 1 3
mknod "$d/blk" b 7 0
put "$d/dir/sub/f" "in dir"

chown -hR 1234:5678 "$d"
chmod 0754 "$d/reg_open"
chmod 0640 "$d/reg_write"
chmod 0640 "$d/fifo"
chmod 0751 "$d/sock"
chmod 0620 "$d/chr"
chmod 0660 "$d/blk"
chmod 0750 "$d/dir" "$d"
# user.* xattrs exist on regular files and dirs only; trusted.* on all
for f in reg_open reg_write dir; do
	setfattr -n user.one -v "1-$f" "$d/$f"
	setfattr -n user.two -v "two words" "$d/$f"
done
for f in reg_open reg_write sym fifo sock chr blk dir; do
	setfattr -h -n trusted.test -v "t-$f" "$d/$f"
done
have_setcap=0
if command -v setcap >/dev/null 2>&1 && setcap cap_net_raw+ep "$d/reg_open" 2>/dev/null; then
	have_setcap=1
else
	# a valid VFS_CAP_REVISION_2 value: cap_net_raw (bit 13) permitted, effective
	setfattr -n security.capability \
		-v 0x0100000201000000000000000000000000000000 "$d/reg_open" ||
		fail "cannot set security.capability on $d/reg_open"
fi
# (read before the times are set: reading updates the atime)
sha_reg_open=$(sha256sum <"$d/reg_open")
sha_reg_write=$(sha256sum <"$d/reg_write")
wdata=$({ cat "$d/reg_write"; printf appended; } | sha256sum)
for f in reg_open reg_write sym fifo sock chr blk dir/sub/f dir .; do
	touch -h -m -d "$T1" "$d/$f"
	touch -h -a -d "$T2" "$d/$f"
done
touch -h -m -d "$T1" "$d/dir/sub"
touch -h -a -d "$T2" "$d/dir/sub"

declare -A st0 x0
for f in reg_open reg_write sym fifo sock chr blk dir .; do
	st0[$f]=$(st_of "$d/$f")
	x0[$f]=$(xattrs_of "$d/$f")
done
st0w=$(stat -c '%F %u:%g %a %x' "$d/reg_write")
cap0=$(getfattr --absolute-names -n security.capability -e hex "$d/reg_open" | grep '=')
[ -n "${x0[reg_open]}" ] || fail "no xattrs read from the lower file"

mount_it
t=$m/t

note "before copy-up the union shows the lower metadata"
for f in reg_open reg_write sym fifo sock chr blk dir .; do
	assert_eq "$(st_of "$t/$f")" "${st0[$f]}" "stat of lower t/$f through the mount"
	assert_eq "$(xattrs_of "$t/$f")" "${x0[$f]}" "xattrs of lower t/$f through the mount"
done

note "copy-up of each type keeps type, owner, mode, ns times, xattrs"
# regular: open for writing copies it up (the data, no write: times stay)
"$PY" -c 'import os, sys; os.close(os.open(sys.argv[1], os.O_WRONLY))' "$t/reg_open"
# regular: a real write
printf 'appended' >>"$t/reg_write"
# symlink, block device: setxattr
setfattr -h -n trusted.added -v yes "$t/sym"
setfattr -h -n trusted.added -v yes "$t/blk"
# fifo: chmod; socket: chown; char device: touch -m; dir: setfattr user.*
chmod 0604 "$t/fifo"
chown -h 4321:8765 "$t/sock"
touch -h -m -d '2005-06-07 08:09:10.555555555' "$t/chr"
setfattr -n user.added -v yes "$t/dir"

for f in reg_open reg_write sym fifo sock chr blk dir; do
	# lstat only: following a symlink would update its atime
	stat --printf '' "$u/t/$f" 2>/dev/null || fail "t/$f must be copied up"
done
assert_file "$u/t/reg_open"
assert_file "$u/t/reg_write"
assert_symlink "$u/t/sym"
[ -p "$u/t/fifo" ] || fail "upper t/fifo is not a fifo"
[ -S "$u/t/sock" ] || fail "upper t/sock is not a socket"
[ -c "$u/t/chr" ] || fail "upper t/chr is not a char device"
[ -b "$u/t/blk" ] || fail "upper t/blk is not a block device"
assert_dir "$u/t/dir"

# what each trigger changed, applied to the lower's stat line
exp_st()
{
	local f=$1 s=${st0[$1]}
	case "$f" in
	fifo) s=${s/ 640 / 604 } ;;
	sock) s=${s/ 1234:5678 / 4321:8765 } ;;
	chr) s=${s/"$T1"/2005-06-07 08:09:10.555555555} ;;
	esac
	printf '%s' "$s"
}
for f in reg_open sym fifo sock chr blk dir .; do
	want=$(exp_st "$f")
	assert_eq "$(st_of "$t/$f")" "$want" "stat of copied-up t/$f through the mount"
	assert_eq "$(st_of "$u/t/$f")" "$want" "stat of copied-up t/$f in the upper"
done
# reg_write: the write changed its mtime; everything else stays
assert_eq "$(stat -c '%F %u:%g %a %x' "$t/reg_write")" "$st0w" "stat of written t/reg_write"
assert_eq "$(stat -c '%F %u:%g %a' "$u/t/reg_write")" "regular file 1234:5678 640" \
	"owner and mode of the written file in the upper"

for f in reg_open reg_write fifo sock chr; do
	assert_eq "$(xattrs_of "$t/$f")" "${x0[$f]}" "xattrs of copied-up t/$f"
	assert_eq "$(xattrs_of "$u/t/$f")" "${x0[$f]}" "xattrs of t/$f in the upper"
done
for f in sym blk; do
	want=$(printf '%s\ntrusted.added=0x796573' "${x0[$f]}" | LC_ALL=C sort)
	assert_eq "$(xattrs_of "$t/$f")" "$want" "xattrs of copied-up t/$f"
	assert_eq "$(xattrs_of "$u/t/$f")" "$want" "xattrs of t/$f in the upper"
done
want=$(printf '%s\nuser.added=0x796573' "${x0[dir]}" | LC_ALL=C sort)
assert_eq "$(xattrs_of "$t/dir")" "$want" "xattrs of copied-up t/dir"
assert_eq "$(getfattr --absolute-names -n security.capability -e hex "$u/t/reg_open" | grep '=')" \
	"$cap0" "security.capability of the copied-up file"
if [ "$have_setcap" = 1 ]; then
	assert_eq "$(getcap "$t/reg_open" | awk '{print $2}')" "cap_net_raw=ep" "getcap through the mount"
fi
if getfattr --absolute-names -n user.layerfs.metacopy "$u/t/reg_open" >/dev/null 2>&1; then
	fail "open for writing must copy the data (the upper has user.layerfs.metacopy)"
fi
assert_eq "$(sha256sum <"$u/t/reg_open")" "$sha_reg_open" "data of t/reg_open in the upper"
assert_eq "$(sha256sum <"$t/reg_open")" "$sha_reg_open" "data of t/reg_open through the mount"
assert_eq "$(sha256sum <"$u/t/reg_write")" "$wdata" \
	"data of t/reg_write in the upper"
assert_eq "$(readlink "$t/sym")" "some/target"
assert_eq "$(readlink "$u/t/sym")" "some/target"
assert_eq "$(stat -c '%t:%T' "$t/blk")" "7:0"
assert_eq "$(stat -c '%t:%T' "$t/chr")" "1:3"
assert_ls "$t/dir" "sub" "copied-up dir still shows its lower content"
assert_file_text "$t/dir/sub/f" "in dir"
assert_eq "$(sha256sum <"$d/reg_open")" "$sha_reg_open" "the lower file is untouched"
assert_eq "$(sha256sum <"$d/reg_write")" "$sha_reg_write" "the lower file is untouched"

# ---- metacopy ----------------------------------------------------------------

note "metadata-only changes copy no data"
for f in mc_chmod mc_chown mc_touch mc_xattr; do
	head -c 4M /dev/urandom >"$l2/$f"
done
lfs_umount "$m"
mount_it
t=$m/t
w0=$(daemon_wchar)
chmod 0600 "$m/mc_chmod"
chown 1234:5678 "$m/mc_chown"
touch -h -m -d "$T1" "$m/mc_touch" # -h: utimensat only (plain touch opens for writing)
setfattr -n user.mc -v yes "$m/mc_xattr"
w1=$(daemon_wchar)
note "4 metadata changes on 4 MiB lower files: the daemon wrote $((w1 - w0)) bytes"
[ $((w1 - w0)) -lt 65536 ] || fail "metadata-only changes wrote $((w1 - w0)) bytes"
check_mc()
{
	local f
	for f in mc_chmod mc_chown mc_touch mc_xattr; do
		assert_exists "$u/$f" "$f has its metadata in the upper"
		[ "$(stat -c %b "$u/$f")" -le 8 ] ||
			fail "$f: the upper file has $(stat -c %b "$u/$f") blocks: data was copied"
		getfattr --absolute-names -n user.layerfs.metacopy "$u/$f" >/dev/null 2>&1 ||
			fail "$f: no user.layerfs.metacopy in the upper"
		assert_eq "$(sha256sum <"$m/$f")" "$(sha256sum <"$l2/$f")" "data of metacopy $f"
		assert_eq "$(stat -c %s "$m/$f")" 4194304 "size of metacopy $f"
	done
	assert_eq "$(stat -c %a "$m/mc_chmod")" 600
	assert_eq "$(stat -c %u:%g "$m/mc_chown")" 1234:5678
	assert_eq "$(stat -c %y "$m/mc_touch")" "$(stat -c %y "$d/reg_open")"
	assert_eq "$(getfattr --absolute-names --only-values -n user.mc "$m/mc_xattr")" yes
	if getfattr --absolute-names -d -m - "$m/mc_chmod" 2>/dev/null | grep -q layerfs; then
		fail "user.layerfs.* is visible through the mount"
	fi
}
check_mc
note "... and after a remount"
lfs_umount "$m"
mount_it
check_mc

note "the first write copies the data in and drops the metacopy mark"
for f in mc_chmod mc_chown mc_touch mc_xattr; do
	printf 'Z' >>"$m/$f"
	assert_eq "$(sha256sum <"$m/$f")" "$({ cat "$l2/$f"; printf Z; } | sha256sum)" "$f after a write"
	assert_eq "$(sha256sum <"$u/$f")" "$({ cat "$l2/$f"; printf Z; } | sha256sum)" "$f in the upper after a write"
	if getfattr --absolute-names -n user.layerfs.metacopy "$u/$f" >/dev/null 2>&1; then
		fail "$f: user.layerfs.metacopy still set after the data was copied"
	fi
done
assert_eq "$(stat -c %a "$m/mc_chmod")" 600 "mode kept over the data copy"
assert_eq "$(stat -c %u:%g "$m/mc_chown")" 1234:5678 "owner kept over the data copy"
assert_eq "$(getfattr --absolute-names --only-values -n user.mc "$m/mc_xattr")" yes
lfs_umount "$m"
mount_it
for f in mc_chmod mc_chown mc_touch mc_xattr; do
	assert_eq "$(sha256sum <"$m/$f")" "$({ cat "$l2/$f"; printf Z; } | sha256sum)" "$f after remount"
done

# ---- sparse --------------------------------------------------------------------

note "a 1-byte append to a 1 GiB sparse lower file copies only its data"
lfs_umount "$m"
truncate -s 1G "$l2/sparse"
printf 'M' | dd of="$l2/sparse" bs=1 seek=$((512 * 1024 * 1024)) conv=notrunc status=none
mount_it
echo x >>"$m/sparse"
kib=$(du -k "$u/sparse" | cut -f1)
note "upper copy of the 1 GiB sparse file uses $kib KiB"
[ "$kib" -lt 16384 ] || fail "the sparse file's copy uses $kib KiB (>= 16 MiB)"
assert_eq "$(stat -c %s "$m/sparse")" $((1024 * 1024 * 1024 + 2)) "size after the append"
assert_eq "$(dd if="$m/sparse" bs=1 skip=$((512 * 1024 * 1024)) count=1 status=none)" "M" \
	"the byte in the middle"
assert_eq "$(tail -c 2 "$m/sparse" | od -An -c | tr -d ' ')" 'x\n' "the appended bytes"
assert_eq "$(dd if="$m/sparse" bs=1 skip=$((512 * 1024 * 1024 - 1)) count=1 status=none | od -An -tx1 | tr -d ' ')" \
	"00" "a hole byte"
assert_eq "$(dd if="$u/sparse" bs=1 skip=$((512 * 1024 * 1024)) count=1 status=none)" "M" \
	"the byte in the middle, in the upper"

# ---- work dir ------------------------------------------------------------------

note "the work dir holds nothing after the copy-ups"
assert_eq "$(ls -A "$w/layerfs-work")" "" "leftovers in the work dir (mounted)"

# ---- parallel copy-ups ---------------------------------------------------------

note "four 64 MiB files copied up in parallel by four writers"
lfs_umount "$m"
for i in 1 2 3 4; do
	head -c 64M /dev/urandom >"$l2/big$i"
done
head -c 64M /dev/urandom >"$l2/shared"
mount_it
writer()
{
	local i=$1 n
	for n in $(seq 1 20); do
		printf 'writer %s line %s\n' "$i" "$n" >>"$m/big$i"
	done
}
pids=()
for i in 1 2 3 4; do
	lfs_bg writer "$i"
	pids+=("$LFS_BG_PID")
done
for p in "${pids[@]}"; do
	wait "$p" || fail "a writer failed"
done
for i in 1 2 3 4; do
	want=$({ cat "$l2/big$i"; for n in $(seq 1 20); do printf 'writer %s line %s\n' "$i" "$n"; done; } | sha256sum)
	assert_eq "$(sha256sum <"$m/big$i")" "$want" "big$i through the mount"
	assert_eq "$(sha256sum <"$u/big$i")" "$want" "big$i in the upper"
done

note "four writers racing on the copy-up of one 64 MiB file"
pids=()
for i in 1 2 3 4; do
	lfs_bg sh -c "printf 'racer %s\n' $i >>'$m/shared'"
	pids+=("$LFS_BG_PID")
done
for p in "${pids[@]}"; do
	wait "$p" || fail "a racer failed"
done
assert_eq "$(stat -c %s "$m/shared")" $((64 * 1024 * 1024 + 4 * 8)) "size of the raced file"
assert_eq "$(head -c 64M "$m/shared" | sha256sum)" "$(sha256sum <"$l2/shared")" \
	"the raced file starts with the lower data"
assert_eq "$(tail -c 32 "$m/shared" | LC_ALL=C sort | tr '\n' ' ')" \
	"racer 1 racer 2 racer 3 racer 4 " "each racer's line is there once"
assert_eq "$(ls -A "$w/layerfs-work")" "" "leftovers in the work dir after parallel copy-ups"

# ---- an fd opened before the copy-up ---------------------------------------------

note "an O_RDONLY fd opened before a copy-up reads the new data"
put "$l2/early" "0123456789abcdef"
put "$l2/early2" "0123456789abcdef"
lfs_umount "$m"
mount_it
"$PY" - "$m/early" "$m/early2" <<'EOF'
import os, subprocess, sys
p, p2 = sys.argv[1], sys.argv[2]
# 1. another fd in this process writes (the copy-up happens on its open)
fd1 = os.open(p, os.O_RDONLY)
assert os.pread(fd1, 4, 0) == b'0123', 'first read'
fd2 = os.open(p, os.O_WRONLY)
os.pwrite(fd2, b'NEW', 4)
os.close(fd2)
os.posix_fadvise(fd1, 0, 0, os.POSIX_FADV_DONTNEED)
got = os.pread(fd1, 17, 0)
assert got == b'0123NEW789abcdef\n', 'fd opened before copy-up read %r' % got
os.close(fd1)
# 2. another process writes through a truncating open
fd1 = os.open(p2, os.O_RDONLY)
assert os.pread(fd1, 4, 0) == b'0123'
subprocess.run(['sh', '-c', 'printf "replaced data\\n" > "$0"', p2], check=True)
os.posix_fadvise(fd1, 0, 0, os.POSIX_FADV_DONTNEED)
got = os.pread(fd1, 100, 0)
assert got == b'replaced data\n', 'fd opened before copy-up read %r' % got
os.close(fd1)
EOF
assert_file_text "$u/early" "0123NEW789abcdef"
assert_file_text "$l2/early" "0123456789abcdef" "the lower is untouched"

lfs_umount "$m"
assert_eq "$(ls -A "$w/layerfs-work")" "" "leftovers in the work dir after unmount"
assert_eq "$(ls -A "$w" | tr '\n' ' ')" "layerfs-index layerfs-work " \
	"the work dir holds only layerfs-index and layerfs-work"
assert_eq "$(ls -A "$w/layerfs-index")" "" "no hardlinked file was copied up here"
note "ok"
