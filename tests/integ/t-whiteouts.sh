#!/usr/bin/env bash
# Whiteouts and opaque directories.
#  READ: every form (.wh.NAME, .wh..wh..opq, char 0/0, trusted.overlay.opaque,
#        user.overlay.opaque) in the middle and in the top of 3 lowers hides
#        what is below it; nothing whiteout-shaped is ever visible or
#        reachable by name; the kernel overlayfs agrees on its own forms.
#  WRITTEN: unlink/rmdir write .wh.NAME (default) or char 0/0
#        (whiteout=chardev); .wh.* names cannot be created (EINVAL);
#        re-creating over a whiteout; unlinking a 1 GiB lower file writes
#        no data; rmdir of a merged dir whose content is all whited out;
#        a mount without upperdir is read-only (EROFS); the upper layer
#        holds exactly what it should, and a remount shows the same tree.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_root
need_fuse
need_cmd python3 setfattr getfattr mknod

PY=$(python3 -c 'import sys; print(sys.executable)')
# The kernel overlayfs is the reference where it exists.
have_ovl=1
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || true
grep -qw overlay /proc/filesystems || have_ovl=0

# ---- helpers ---------------------------------------------------------------

# op.py OP ARGS...: do one syscall, print OK or the errno name (ENOENT...).
cat >"$T/op.py" <<'EOF'
import errno, os, stat, sys
op, a = sys.argv[1], sys.argv[2:]
try:
    if op == 'creat':
        os.close(os.open(a[0], os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    elif op == 'openw':
        os.close(os.open(a[0], os.O_WRONLY))
    elif op == 'openrw':
        os.close(os.open(a[0], os.O_RDWR))
    elif op == 'opentrunc':
        os.close(os.open(a[0], os.O_RDONLY | os.O_TRUNC))
    elif op == 'open':
        os.close(os.open(a[0], os.O_RDONLY))
    elif op == 'mkdir':
        os.mkdir(a[0])
    elif op == 'rmdir':
        os.rmdir(a[0])
    elif op == 'unlink':
        os.unlink(a[0])
    elif op == 'mkfifo':
        os.mkfifo(a[0])
    elif op == 'mknod_chr':
        os.mknod(a[0], 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    elif op == 'mknod_reg':
        os.mknod(a[0], 0o600 | stat.S_IFREG)
    elif op == 'symlink':
        os.symlink(a[0], a[1])
    elif op == 'link':
        os.link(a[0], a[1])
    elif op == 'rename':
        os.rename(a[0], a[1])
    elif op == 'chmod':
        os.chmod(a[0], int(a[1], 8))
    elif op == 'chown':
        os.chown(a[0], int(a[1]), int(a[2]), follow_symlinks=False)
    elif op == 'truncate':
        os.truncate(a[0], int(a[1]))
    elif op == 'utime':
        os.utime(a[0], ns=(1, 1), follow_symlinks=False)
    elif op == 'setxattr':
        os.setxattr(a[0], a[1], a[2].encode(), follow_symlinks=False)
    elif op == 'removexattr':
        os.removexattr(a[0], a[1], follow_symlinks=False)
    elif op == 'stat':
        os.lstat(a[0])
    else:
        sys.exit('op.py: unknown op ' + op)
    print('OK')
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))
EOF

# expect_err ERRNAME OP ARGS...
expect_err()
{
	local want=$1 got
	shift
	got=$("$PY" "$T/op.py" "$@")
	[ "$got" = "$want" ] || fail "$*: got $got, expected $want"
}

# Walk every directory with readdir: no entry may look like a whiteout or
# an opaque marker, and every listed entry must be reachable by lstat.
cat >"$T/nowh.py" <<'EOF'
import os, stat, sys
bad = []
def walk(d):
    for e in os.scandir(d):
        if e.name.startswith('.wh.'):
            bad.append('whiteout-shaped name listed: ' + e.path)
        try:
            st = os.lstat(e.path)
        except OSError as x:
            bad.append('listed but lstat fails: %s: %s' % (e.path, x))
            continue
        if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
            bad.append('char 0/0 device visible: ' + e.path)
        for x in ('trusted.overlay.opaque', 'user.overlay.opaque'):
            try:
                os.getxattr(e.path, x, follow_symlinks=False)
                bad.append('%s visible on %s' % (x, e.path))
            except OSError:
                pass
        if stat.S_ISDIR(st.st_mode):
            walk(e.path)
walk(sys.argv[1])
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
EOF

no_whiteouts_visible()
{
	local out
	out=$("$PY" "$T/nowh.py" "$1") || fail "whiteout-shaped entries through $1: $out"
	out=$(cd "$1" && find . -name '.wh.*')
	assert_eq "$out" "" "find -name '.wh.*' through the mount"
	out=$(cd "$1" && find . -type c -printf '%p\n' | while read -r p; do
		[ "$(stat -c '%t:%T' "$p")" = 0:0 ] && echo "$p"; done)
	assert_eq "$out" "" "char 0/0 devices visible through the mount"
}

# A tree listing (no times; dir sizes left out) plus every file's sha256.
snap()
{
	(
		cd "$1"
		find . \( -type d -printf '%p d %m %U:%G\n' \) -o \
			\( -type c -printf '%p %y %m %U:%G ' -exec stat -c '%t:%T' {} \; \) -o \
			-printf '%p %y %m %s %U:%G %l\n' | LC_ALL=C sort
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum
	)
}

# The upper layer as a sorted list: path, type, and the marker details.
upper_list()
{
	(
		cd "$1"
		find . -mindepth 1 | LC_ALL=C sort | while read -r p; do
			if [ -L "$p" ]; then
				echo "$p l"
			elif [ -c "$p" ]; then
				echo "$p c$(stat -c '%t:%T' "$p")"
			elif [ -d "$p" ]; then
				local o=""
				o=$(getfattr --absolute-names -n trusted.overlay.opaque \
					--only-values "$p" 2>/dev/null || true)
				echo "$p d${o:+ opaque=$o}"
			else
				echo "$p f$(stat -c '%s' "$p")"
			fi
		done
	)
}

chardev_wh()
{
	mknod "$1" c 0 0
}

l1=$T/l1 l2=$T/l2 l3=$T/l3
mkdir -p "$l1" "$l2" "$l3"

# ---- the lower layers: every form in the middle (l2) and the top (l1) -------

# bottom: things to hide
for w in mid top; do
	put "$l3/fw_$w" "l3"       # hidden by .wh.fw_$w
	put "$l3/fc_$w" "l3"       # hidden by char 0/0
	put "$l3/dw_$w/x" "l3"     # dir hidden by .wh.dw_$w
	put "$l3/dc_$w/x" "l3"     # dir hidden by char 0/0
	put "$l3/ow_$w/x" "l3"     # opaque with .wh..wh..opq
	put "$l3/ot_$w/x" "l3"     # opaque with trusted.overlay.opaque=y
	put "$l3/ou_$w/x" "l3"     # opaque with user.overlay.opaque=y
	put "$l3/sub/deep/n_$w" "l3" # nested whiteout
done
put "$l3/keep" "l3"
put "$l3/both" "l3"
put "$l3/back" "l3"
put "$l3/sub/deep/stay" "l3"

# middle: the "mid" forms; also content the "top" forms must hide
: >"$l2/.wh.fw_mid"
chardev_wh "$l2/fc_mid"
: >"$l2/.wh.dw_mid"
chardev_wh "$l2/dc_mid"
put "$l2/ow_mid/m" "l2"
: >"$l2/ow_mid/.wh..wh..opq"
put "$l2/ot_mid/m" "l2"
setfattr -n trusted.overlay.opaque -v y "$l2/ot_mid"
put "$l2/ou_mid/m" "l2"
setfattr -n user.overlay.opaque -v y "$l2/ou_mid"
mkdir -p "$l2/sub/deep"
: >"$l2/sub/deep/.wh.n_mid"
w=top
{
	put "$l2/fw_$w" "l2"
	put "$l2/fc_$w" "l2"
	put "$l2/dw_$w/y" "l2"
	put "$l2/dc_$w/y" "l2"
	put "$l2/ow_$w/y" "l2"
	put "$l2/ot_$w/y" "l2"
	put "$l2/ou_$w/y" "l2"
	put "$l2/sub/deep/n_$w" "l2"
}
# a whiteout speaks only of the layers below it: l1/back still shows
: >"$l2/.wh.back"
# within one layer an entry wins over a whiteout of its own name
put "$l2/both" "l2"
: >"$l2/.wh.both"
# AUFS bookkeeping: never visible
mkdir -p "$l2/.wh..wh.plnk" "$l2/.wh..wh.orph"
put "$l2/.wh..wh.plnk/junk" "junk"

# top: the "top" forms
: >"$l1/.wh.fw_top"
chardev_wh "$l1/fc_top"
: >"$l1/.wh.dw_top"
chardev_wh "$l1/dc_top"
put "$l1/ow_top/m" "l1"
: >"$l1/ow_top/.wh..wh..opq"
put "$l1/ot_top/m" "l1"
setfattr -n trusted.overlay.opaque -v y "$l1/ot_top"
put "$l1/ou_top/m" "l1"
setfattr -n user.overlay.opaque -v y "$l1/ou_top"
mkdir -p "$l1/sub/deep"
: >"$l1/sub/.wh.nonexistent"
: >"$l1/sub/deep/.wh.n_top"
put "$l1/back" "l1"
: >"$l1/.wh.nothing-here"

m=$T/mnt
# check_read_tree MNT [EXTRA-ROOT-NAMES]
check_read_tree()
{
	local m=$1 w root="back both keep ot_mid ot_top ou_mid ou_top ow_mid ow_top sub${2:+ $2}"

	assert_ls "$m" "$root" "root of the union"
	# shellcheck disable=SC2012 # plain names
	assert_eq "$(LC_ALL=C ls -a "$m" | tr '\n' ' ')" ". .. $root " "ls -a of the root"
	for w in mid top; do
		for f in fw fc dw dc; do
			assert_not_exists "$m/${f}_$w" "${f}_$w must be whited out"
			expect_err ENOENT stat "$m/${f}_$w"
		done
	done
	assert_ls "$m/ow_mid" "m" ".wh..wh..opq in the middle layer"
	assert_ls "$m/ot_mid" "m" "trusted.overlay.opaque in the middle layer"
	assert_ls "$m/ou_mid" "m" "user.overlay.opaque in the middle layer"
	assert_ls "$m/ow_top" "m" ".wh..wh..opq in the top layer"
	assert_ls "$m/ot_top" "m" "trusted.overlay.opaque in the top layer"
	assert_ls "$m/ou_top" "m" "user.overlay.opaque in the top layer"
	for d in ow ot ou; do
		assert_file_text "$m/${d}_mid/m" "l2"
		assert_file_text "$m/${d}_top/m" "l1"
		expect_err ENOENT stat "$m/${d}_mid/x"
		expect_err ENOENT stat "$m/${d}_top/x"
		expect_err ENOENT stat "$m/${d}_top/y"
	done
	assert_ls "$m/sub/deep" "stay" "nested .wh. whiteouts (mid and top)"
	assert_file_text "$m/back" "l1" "a whiteout hides only the layers below it"
	assert_file_text "$m/both" "l2" "an entry wins over a whiteout in its own layer"
	assert_file_text "$m/keep" "l3"

	note "whiteout names cannot be looked up (ENOENT)"
	expect_err ENOENT stat "$m/.wh.fw_mid"
	expect_err ENOENT stat "$m/.wh.fw_top"
	expect_err ENOENT stat "$m/.wh.dw_mid"
	expect_err ENOENT stat "$m/.wh.back"
	expect_err ENOENT stat "$m/.wh.both"
	expect_err ENOENT stat "$m/.wh.nothing-here"
	expect_err ENOENT stat "$m/.wh..wh.plnk"
	expect_err ENOENT stat "$m/.wh..wh.plnk/junk"
	expect_err ENOENT stat "$m/.wh..wh.orph"
	expect_err ENOENT stat "$m/ow_mid/.wh..wh..opq"
	expect_err ENOENT stat "$m/ow_top/.wh..wh..opq"
	expect_err ENOENT stat "$m/sub/deep/.wh.n_mid"
	expect_err ENOENT stat "$m/sub/.wh.nonexistent"
	expect_err ENOENT open "$m/.wh.fw_mid"
	expect_err ENOENT stat "$m/.wh.x"

	note "nothing whiteout-shaped is visible (readdir of every dir, find, xattrs)"
	no_whiteouts_visible "$m"
}

note "READ: every form, read-only mount of 3 lowers"
lfs_mount "$m" "lowerdir=$l1:$l2:$l3"
check_read_tree "$m"
lfs_umount "$m"

# ---- the kernel overlayfs agrees on the forms it knows -----------------------

kernel_read_compare()
{
k1=$T/k1 k2=$T/k2 k3=$T/k3
mkdir -p "$k1" "$k2" "$k3"
for w in mid top; do
	put "$k3/f_$w" "k3"
	put "$k3/d_$w/x" "k3"
	put "$k3/o_$w/x" "k3"
done
put "$k3/keep" "k3"
put "$k2/f_top" "k2"
put "$k2/d_top/y" "k2"
put "$k2/o_top/y" "k2"
chardev_wh "$k2/f_mid"
chardev_wh "$k2/d_mid"
put "$k2/o_mid/m" "k2"
setfattr -n trusted.overlay.opaque -v y "$k2/o_mid"
chardev_wh "$k1/f_top"
chardev_wh "$k1/d_top"
put "$k1/o_top/m" "k1"
setfattr -n trusted.overlay.opaque -v y "$k1/o_top"
ovl_mount "$T/kmnt" "lowerdir=$k1:$k2:$k3"
lfs_mount "$m" "lowerdir=$k1:$k2:$k3"
ktree=$(snap "$T/kmnt")
ltree=$(snap "$m")
assert_eq "$ltree" "$ktree" "layerfs and the kernel overlayfs show the same tree"
assert_ls "$m" "keep o_mid o_top"
assert_ls "$m/o_mid" "m"
assert_ls "$m/o_top" "m"
no_whiteouts_visible "$m"
lfs_umount "$m"
ovl_umount "$T/kmnt"
}
if [ "$have_ovl" = 1 ]; then
	note "the kernel overlayfs reads the char 0/0 and trusted.overlay.opaque forms alike"
	kernel_read_compare
else
	note "no kernel overlayfs here: comparison skipped"
fi

# ---- WRITTEN ----------------------------------------------------------------

# Lower content for the write tests, in the bottom layer l3 unless said.
put "$l3/w/keep2" "keep2"
put "$l3/w/gone" "gone"
mkdir -p "$l3/w/emptyd"
put "$l3/w/tree/a" "a"
put "$l2/w/tree/b" "b"              # tree is merged l2+l3
put "$l3/w/redir/a" "a"             # dir, removed, re-made as a dir
put "$l2/w/redir/b" "b"
put "$l3/w/f2d/inner" "deep-dir"    # l3 has a dir, l2 a file over it
put "$l2/w/f2d" "file"
put "$l3/w/d2f/inner" "x"           # dir, removed, re-made as a file
put "$l3/w/f2f" "old"               # file, removed, re-made as a file
put "$l3/w/md/x" "x"                # merged dir whose content is whited out
put "$l3/w/md/y" "y"
mkdir -p "$l2/w/md"
: >"$l2/w/md/.wh.x"
mkdir -p "$l1/w/md"
chardev_wh "$l1/w/md/y"
put "$l3/w/md2/x" "x"               # its content removed through the mount
put "$l2/w/md2/y" "y"
put "$l3/w/full/x" "x"              # not empty: ENOTEMPTY
put "$l3/w/target" "t"

wmnt()
{
	# shellcheck disable=SC2068
	lfs_mount "$m" "lowerdir=$l1:$l2:$l3" "upperdir=$1" "workdir=$2" ${3:+"$3"}
}

writes()
{
	local m=$1

	rm "$m/w/gone"
	rmdir "$m/w/emptyd"
	rm -r "$m/w/tree"
	assert_not_exists "$m/w/gone"
	assert_not_exists "$m/w/emptyd"
	assert_not_exists "$m/w/tree"

	note "names beginning with .wh. cannot be created (EINVAL)"
	expect_err EINVAL creat "$m/w/.wh.new"
	expect_err EINVAL creat "$m/w/.wh.keep2"
	expect_err EINVAL creat "$m/w/.wh..wh..opq"
	expect_err EINVAL mkdir "$m/w/.wh.dir"
	expect_err EINVAL mkfifo "$m/w/.wh.fifo"
	expect_err EINVAL mknod_chr "$m/w/.wh.chr"
	expect_err EINVAL mknod_reg "$m/w/.wh.reg"
	expect_err EINVAL symlink target "$m/w/.wh.sym"
	expect_err EINVAL link "$m/w/keep2" "$m/w/.wh.lnk"
	expect_err EINVAL rename "$m/w/target" "$m/w/.wh.ren"
	expect_err EINVAL rename "$m/w/full" "$m/w/.wh.rend"
	expect_err EINVAL rename "$m/w/target" "$m/w/.wh.gone"
	assert_fails_with "Invalid argument" touch "$m/w/.wh.touch"
	assert_fails_with "Invalid argument" mkdir "$m/w/.wh.mkdir"
	assert_fails_with "Invalid argument" mknod "$m/w/.wh.mknod" p
	assert_fails_with "Invalid argument" ln -s x "$m/w/.wh.ln-s"
	assert_fails_with "Invalid argument" ln "$m/w/keep2" "$m/w/.wh.ln"
	assert_file_text "$m/w/target" "t" "rename source untouched after EINVAL"
	assert_dir "$m/w/full"
	assert_ls "$m/w" "d2f f2d f2f full keep2 md md2 redir target"

	note "re-create over a whiteout"
	rm -r "$m/w/redir"
	mkdir "$m/w/redir"
	assert_ls "$m/w/redir" "" "a dir re-made over a removed merged dir is empty (opaque)"
	put "$m/w/redir/new" "new"
	assert_ls "$m/w/redir" "new"
	rm "$m/w/f2d"
	assert_not_exists "$m/w/f2d"
	mkdir "$m/w/f2d"
	assert_ls "$m/w/f2d" "" "file->dir: the lower dir under the removed file must not show"
	expect_err ENOENT stat "$m/w/f2d/inner"
	rm -r "$m/w/d2f"
	put "$m/w/d2f" "now a file"
	assert_file "$m/w/d2f"
	assert_file_text "$m/w/d2f" "now a file" "dir->file"
	rm "$m/w/f2f"
	put "$m/w/f2f" "new"
	assert_file_text "$m/w/f2f" "new" "file->file"

	note "rmdir of merged dirs whose content is whited out"
	assert_ls "$m/w/md" "" "lower whiteouts (.wh. in l2, char 0/0 in l1) empty the dir"
	rmdir "$m/w/md"
	assert_not_exists "$m/w/md"
	rm "$m/w/md2/x" "$m/w/md2/y"
	assert_ls "$m/w/md2" ""
	rmdir "$m/w/md2"
	assert_not_exists "$m/w/md2"
	expect_err ENOTEMPTY rmdir "$m/w/full"
	assert_ls "$m/w" "d2f f2d f2f full keep2 redir target"
	no_whiteouts_visible "$m"
}

note "WRITTEN, default (OCI) format"
u=$T/upper wk=$T/work
mkdir -p "$u" "$wk"
wmnt "$u" "$wk"
writes "$m"

note "unlink of a 1 GiB lower file writes no data"
dd if=/dev/zero of="$l3/big" bs=1M count=1024 status=none
w0=$(awk '/^wchar/ {print $2}' "/proc/$LFS_PID/io")
b0=$(du -sk "$u" | cut -f1)
t0=$(date +%s%N)
rm "$m/big"
t1=$(date +%s%N)
w1=$(awk '/^wchar/ {print $2}' "/proc/$LFS_PID/io")
b1=$(du -sk "$u" | cut -f1)
note "unlink of 1 GiB: $(((t1 - t0) / 1000000)) ms, daemon wrote $((w1 - w0)) bytes, upper $b0 -> $b1 KiB"
assert_not_exists "$m/big"
[ $((w1 - w0)) -lt 65536 ] || fail "unlink of a lower file made the daemon write $((w1 - w0)) bytes"
[ $((b1 - b0)) -lt 64 ] || fail "unlink of a lower file grew the upper by $((b1 - b0)) KiB"
assert_not_exists "$u/big" "the upper holds no copy of the deleted file"
[ "$(stat -c %b "$u/.wh.big")" -eq 0 ] || fail "the whiteout .wh.big has blocks"
rm -f "$l3/big"

before=$(snap "$m")
lfs_umount "$m"

note "the upper layer holds exactly the whiteouts and new objects"
got=$(upper_list "$u")
want="./.wh.big f0
./w d
./w/.wh.emptyd f0
./w/.wh.gone f0
./w/.wh.md f0
./w/.wh.md2 f0
./w/.wh.tree f0
./w/d2f f11
./w/f2d d
./w/f2d/.wh..wh..opq f0
./w/f2f f4
./w/redir d
./w/redir/.wh..wh..opq f0
./w/redir/new f4"
assert_eq "$got" "$want" "upper layer after unmount (OCI format)"
for f in "$u/.wh.big" "$u/w/.wh.gone" "$u/w/.wh.tree" "$u/w/redir/.wh..wh..opq"; do
	assert_eq "$(stat -c %F "$f")" "regular empty file" "$f"
done
assert_eq "$(ls -A "$wk/layerfs-work" 2>/dev/null)" "" "the work dir is empty"

note "a remount shows the same tree"
wmnt "$u" "$wk"
after=$(snap "$m")
assert_eq "$after" "$before" "tree after remount"
no_whiteouts_visible "$m"
check_read_tree "$m" w >/dev/null
lfs_umount "$m"

note "WRITTEN, whiteout=chardev (the overlayfs format)"
u2=$T/upper2 wk2=$T/work2
mkdir -p "$u2" "$wk2"
wmnt "$u2" "$wk2" whiteout=chardev
writes "$m"
before=$(snap "$m")
lfs_umount "$m"
got=$(upper_list "$u2")
want="./w d
./w/d2f f11
./w/emptyd c0:0
./w/f2d d opaque=y
./w/f2f f4
./w/gone c0:0
./w/md c0:0
./w/md2 c0:0
./w/redir d opaque=y
./w/redir/new f4
./w/tree c0:0"
assert_eq "$got" "$want" "upper layer after unmount (chardev format)"
wmnt "$u2" "$wk2" whiteout=chardev
assert_eq "$(snap "$m")" "$before" "tree after remount (chardev format)"
lfs_umount "$m"

# ---- the kernel overlayfs writes the same and reads what we write ------------

kernel_write_compare()
{
pl=$T/plain
put "$pl/gone" "gone"
mkdir -p "$pl/emptyd"
put "$pl/tree/a" "a"
put "$pl/tree/sub/b" "b"
put "$pl/redir/a" "a"
put "$pl/d2f/a" "a"
put "$pl/stay" "stay"
ops()
{
	rm "$1/gone"
	rmdir "$1/emptyd"
	rm -r "$1/tree"
	rm -r "$1/redir"
	mkdir "$1/redir"
	put "$1/redir/n" "n"
	rm -r "$1/d2f"
	put "$1/d2f" "f"
}
ku=$T/ku kw=$T/kw lu=$T/lu lw=$T/lw
mkdir -p "$ku" "$kw" "$lu" "$lw"
ovl_mount "$T/kmnt2" "lowerdir=$pl,upperdir=$ku,workdir=$kw"
ops "$T/kmnt2"
ktree=$(snap "$T/kmnt2")
ovl_umount "$T/kmnt2"
lfs_mount "$m" "lowerdir=$pl" "upperdir=$lu" "workdir=$lw" whiteout=chardev
ops "$m"
assert_eq "$(snap "$m")" "$ktree" "layerfs and the kernel give the same tree"
lfs_umount "$m"
assert_eq "$(upper_list "$lu")" "$(upper_list "$ku")" \
	"layerfs (whiteout=chardev) writes the upper as the kernel does"
ovl_mount "$T/kmnt3" "lowerdir=$pl,upperdir=$lu,workdir=$lw"
assert_eq "$(snap "$T/kmnt3")" "$ktree" "the kernel reads layerfs' upper the same"
ovl_umount "$T/kmnt3"
}
if [ "$have_ovl" = 1 ]; then
	note "compare with the kernel overlayfs on plain lowers (whiteout=chardev)"
	kernel_write_compare
fi

# ---- read-only without upperdir -----------------------------------------------

note "no upperdir: every write fails with EROFS"
setfattr -n user.x -v 1 "$l3/keep"
lfs_mount "$m" "lowerdir=$l1:$l2:$l3"
expect_err EROFS creat "$m/new"
expect_err EROFS openw "$m/keep"
expect_err EROFS openrw "$m/keep"
expect_err EROFS opentrunc "$m/keep"
expect_err EROFS truncate "$m/keep" 0
expect_err EROFS mkdir "$m/newdir"
expect_err EROFS rmdir "$m/ow_mid"
expect_err EROFS rmdir "$m/w/emptyd"
expect_err EROFS unlink "$m/keep"
expect_err EROFS rename "$m/keep" "$m/keep2"
expect_err EROFS rename "$m/ow_mid" "$m/ow_mid2"
expect_err EROFS symlink x "$m/sym"
expect_err EROFS link "$m/keep" "$m/lnk"
expect_err EROFS mkfifo "$m/fifo"
expect_err EROFS mknod_chr "$m/chr"
expect_err EROFS chmod "$m/keep" 600
expect_err EROFS chown "$m/keep" 1 1
expect_err EROFS utime "$m/keep"
expect_err EROFS setxattr "$m/keep" user.y 2
expect_err EROFS removexattr "$m/keep" user.x
assert_fails_with "Read-only file system" touch "$m/keep"
assert_fails_with "Read-only file system" sh -c "echo x >>'$m/keep'"
assert_file_text "$m/keep" "l3"
check_read_tree "$m" w >/dev/null
lfs_umount "$m"
assert_eq "$(stat -c %s "$l3/keep")" 3 "the lower is untouched"
note "ok"
