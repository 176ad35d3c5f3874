#!/usr/bin/env bash
# rename(2) through the union.
#  * lower files move as metacopies (no data copied), content right;
#  * merged lower directories (content in two layers) move to a new name
#    and into another directory: user.layerfs.redirect on the moved dir, a
#    whiteout at the old name, the same tree after a remount;
#  * a->b->c and back; a pure upper dir moved over a deleted lower dir or
#    over an existing empty merged dir shows no lower content;
#  * RENAME_NOREPLACE (EEXIST) and RENAME_EXCHANGE (files, dirs,
#    file<->dir), before and after a remount;
#  * mv of a lower dir of 1000 files is fast and copies no data;
#  * the kernel overlayfs (redirect_dir=on) ends with the same tree.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_root
need_fuse
need_cmd python3 getfattr sha256sum

PY=$(python3 -c 'import sys; print(sys.executable)')
have_ovl=1
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || true
grep -qw overlay /proc/filesystems || have_ovl=0

# renameat2 FLAGS OLD NEW: prints OK or the errno name.
cat >"$T/rename2.py" <<'EOF'
import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD = -100
flags = {'noreplace': 1, 'exchange': 2}[sys.argv[1]]
r = libc.renameat2(AT_FDCWD, os.fsencode(sys.argv[2]),
                   AT_FDCWD, os.fsencode(sys.argv[3]), flags)
if r == 0:
    print('OK')
else:
    print(errno.errorcode.get(ctypes.get_errno(), str(ctypes.get_errno())))
EOF
rename2()
{
	"$PY" "$T/rename2.py" "$@"
}

snap()
{
	(
		cd "$1"
		find . \( -type d -printf '%p d %m %U:%G\n' \) -o \
			-printf '%p %y %m %s %U:%G %l\n' | LC_ALL=C sort
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum
	)
}
daemon_wchar()
{
	awk '/^wchar/ {print $2}' "/proc/$LFS_PID/io"
}
redirect_of()
{
	getfattr --absolute-names --only-values -n user.layerfs.redirect "$1" 2>/dev/null
}
is_wh()
{
	# an OCI whiteout of $2 in upper dir $1
	[ -f "$1/.wh.$2" ] && [ ! -s "$1/.wh.$2" ]
}

l1=$T/l1 l2=$T/l2 u=$T/upper w=$T/work m=$T/mnt
mkdir -p "$l1" "$l2" "$u" "$w"

# ---- lower content -------------------------------------------------------------
head -c 4M /dev/urandom >"$l2/rf1"
put "$l1/rf2" "rf2 from l1"
put "$l2/dd/keep" "dd"
put "$l1/d/a" "d/a l1"
put "$l1/d/sub/x" "d/sub/x l1"
put "$l2/d/b" "d/b l2"
put "$l2/d/sub/y" "d/sub/y l2"
put "$l1/d2/a2" "a2"
put "$l2/d2/b2" "b2"
put "$l2/other/deeper/z" "z"
put "$l1/ra/one" "ra one"
put "$l2/ra/two" "ra two"
put "$l1/rx/one" "rx one"
put "$l2/rx/two" "rx two"
put "$l2/gone/secret" "must not leak"
put "$l2/gone/sub/secret2" "must not leak"
put "$l1/em/x" "must not leak"
put "$l2/em/y" "must not leak"
mkdir -p "$l2/em2" "$l1/em3"
put "$l1/d3/p" "d3 p"
put "$l2/d3/q" "d3 q"
put "$l2/nr_a" "nr_a"
put "$l1/nr_b" "nr_b"
put "$l2/nrd_a/f" "nrd_a"
put "$l2/nrd_b/g" "nrd_b"
put "$l2/xa" "xa from l2"
put "$l1/xb" "xb from l1"
put "$l1/xd1/f1" "xd1 l1"
put "$l2/xd1/f2" "xd1 l2"
put "$l2/xd2/g1" "xd2 l2"
put "$l1/xd2/g2" "xd2 l1"
put "$l2/xf" "xf file"
put "$l2/xdir/in" "xdir in"
put "$l2/xl" "xl lower"
put "$l2/ov_src" "ov_src"
put "$l1/ov_dst" "ov_dst"
put "$l2/rm_src/f" "must not leak"
put "$l1/rm_src/g" "must not leak"

# The operations, the same on layerfs and on the kernel overlayfs.
ops()
{
	local m=$1

	mv "$m/rf1" "$m/rf1.new"
	mv "$m/rf2" "$m/dd/rf2.moved"
	echo "more" >>"$m/d/a" # d now also exists in the upper
	mv "$m/d" "$m/e"
	mkdir "$m/d"           # a new dir at the old name shows nothing below
	put "$m/d/new" "new d"
	mv "$m/d2" "$m/other/deeper/d2moved"
	mv "$m/e/sub" "$m/e/sub2" # inside a moved dir
	mv "$m/other/deeper/d2moved" "$m/e/sub2/d2deep" # a moved dir into a moved dir
	mv "$m/e/sub2/d2deep" "$m/other/deeper/d2moved" # and back
	mv "$m/ov_src" "$m/ov_dst" # a lower file over another lower file
	mv -T "$m/ra" "$m/rb"
	mv -T "$m/rb" "$m/rc"
	assert_ls "$m/rc" "one two" "ra->rb->rc"
	assert_not_exists "$m/ra"
	assert_not_exists "$m/rb"
	mv -T "$m/rc" "$m/ra"
	mv -T "$m/rx" "$m/ry"
	mv -T "$m/ry" "$m/rz"
	mv -T "$m/rm_src" "$m/rm_me_later0"
	mv -T "$m/rm_me_later0" "$m/rm_me_later"
	rm -r "$m/rm_me_later" # a moved dir removed...
	mkdir "$m/rm_me_later" # ...and a new dir made at its place
	# a pure upper dir over a deleted lower dir of that name
	rm -r "$m/gone"
	mkdir "$m/fresh"
	put "$m/fresh/new" "new"
	mv -T "$m/fresh" "$m/gone"
	# over an existing merged dir, emptied through the mount
	rm "$m/em/x" "$m/em/y"
	mkdir "$m/fresh2"
	put "$m/fresh2/n2" "n2"
	mv -T "$m/fresh2" "$m/em"
	# over an empty lower dir
	mkdir "$m/fresh3"
	put "$m/fresh3/n3" "n3"
	mv -T "$m/fresh3" "$m/em2"
	# a merged lower dir over an empty lower dir
	mv -T "$m/d3" "$m/em3"

	assert_eq "$(rename2 noreplace "$m/nr_a" "$m/nr_b")" EEXIST "RENAME_NOREPLACE over a file"
	assert_eq "$(rename2 noreplace "$m/nrd_a" "$m/nrd_b")" EEXIST "RENAME_NOREPLACE over a dir"
	assert_eq "$(rename2 noreplace "$m/nr_a" "$m/nrd_b")" EEXIST "RENAME_NOREPLACE file over a dir"
	assert_eq "$(rename2 noreplace "$m/rf1.new" "$m/e")" EEXIST "RENAME_NOREPLACE over a moved dir"
	assert_file_text "$m/nr_a" "nr_a"
	assert_file_text "$m/nr_b" "nr_b"
	assert_eq "$(rename2 noreplace "$m/nr_a" "$m/nr_c")" OK "RENAME_NOREPLACE to a free name"
	put "$m/nr_new" "nr_new"
	assert_eq "$(rename2 noreplace "$m/nr_new" "$m/gone/x")" OK "RENAME_NOREPLACE into a dir"

	assert_eq "$(rename2 exchange "$m/xa" "$m/xb")" OK "RENAME_EXCHANGE of two lower files"
	assert_eq "$(rename2 exchange "$m/xd1" "$m/xd2")" OK "RENAME_EXCHANGE of two merged dirs"
	assert_eq "$(rename2 exchange "$m/xf" "$m/xdir")" OK "RENAME_EXCHANGE of a file and a dir"
	put "$m/xu" "xu upper"
	assert_eq "$(rename2 exchange "$m/xu" "$m/xl")" OK "RENAME_EXCHANGE of an upper and a lower file"
	assert_eq "$(rename2 exchange "$m/xa" "$m/nonexistent")" ENOENT "RENAME_EXCHANGE with a missing name"
}

# What the tree must look like after ops.
check()
{
	local m=$1

	assert_not_exists "$m/rf1"
	assert_eq "$(sha256sum <"$m/rf1.new")" "$(sha256sum <"$l2/rf1")" "content of the renamed rf1"
	assert_not_exists "$m/rf2"
	assert_file_text "$m/dd/rf2.moved" "rf2 from l1"
	assert_ls "$m/dd" "keep rf2.moved"
	assert_ls "$m/d" "new" "a new dir at a moved dir's old name shows nothing below"
	assert_ls "$m/e" "a b sub2" "the moved merged dir keeps both layers' content"
	assert_ls "$m/e/sub2" "x y" "a merged dir moved inside a moved dir"
	assert_file_content "$m/e/a" $'d/a l1\nmore\n'
	assert_file_text "$m/e/b" "d/b l2"
	assert_file_text "$m/e/sub2/y" "d/sub/y l2"
	assert_file_text "$m/e/sub2/x" "d/sub/x l1"
	assert_not_exists "$m/ov_src"
	assert_file_text "$m/ov_dst" "ov_src"
	assert_ls "$m/rm_me_later" "" "a new dir where a moved dir was removed: no lower content"
	assert_not_exists "$m/rm_src"
	assert_not_exists "$m/d2"
	assert_ls "$m/other/deeper" "d2moved z"
	assert_ls "$m/other/deeper/d2moved" "a2 b2"
	assert_file_text "$m/other/deeper/d2moved/b2" "b2"
	assert_ls "$m/ra" "one two" "ra->rb->rc->ra"
	assert_file_text "$m/ra/two" "ra two"
	assert_not_exists "$m/rb"
	assert_not_exists "$m/rc"
	assert_not_exists "$m/rx"
	assert_not_exists "$m/ry"
	assert_ls "$m/rz" "one two" "rx->ry->rz"
	assert_file_text "$m/rz/two" "rx two"
	assert_ls "$m/gone" "new x" "an upper dir moved over a deleted lower dir: no lower content"
	assert_ls "$m/em" "n2" "an upper dir moved over an emptied merged dir: no lower content"
	assert_ls "$m/em2" "n3"
	assert_ls "$m/em3" "p q" "a merged dir moved over an empty lower dir"
	assert_not_exists "$m/d3"
	assert_not_exists "$m/fresh"
	assert_not_exists "$m/fresh2"
	assert_not_exists "$m/fresh3"
	assert_not_exists "$m/nr_a"
	assert_file_text "$m/nr_c" "nr_a"
	assert_file_text "$m/nr_b" "nr_b"
	assert_ls "$m/nrd_a" "f"
	assert_ls "$m/nrd_b" "g"
	assert_file_text "$m/gone/x" "nr_new"
	assert_file_text "$m/xa" "xb from l1" "exchanged file xa"
	assert_file_text "$m/xb" "xa from l2" "exchanged file xb"
	assert_ls "$m/xd1" "g1 g2" "exchanged dir xd1"
	assert_ls "$m/xd2" "f1 f2" "exchanged dir xd2"
	assert_file_text "$m/xd1/g1" "xd2 l2"
	assert_file_text "$m/xd2/f2" "xd1 l2"
	assert_dir "$m/xf" "xf is a dir after the exchange"
	assert_ls "$m/xf" "in"
	assert_file_text "$m/xf/in" "xdir in"
	assert_file_text "$m/xdir" "xf file" "xdir is a file after the exchange"
	assert_file_text "$m/xu" "xl lower"
	assert_file_text "$m/xl" "xu upper"
}

# ---- layerfs ---------------------------------------------------------------------

lfs_mount "$m" "lowerdir=$l1:$l2" "upperdir=$u" "workdir=$w"

note "rename of a lower file copies no data"
w0=$(daemon_wchar)
mv "$m/rf1" "$m/rf1.tmp"
w1=$(daemon_wchar)
mv "$m/rf1.tmp" "$m/rf1"
note "rename of a 4 MiB lower file: the daemon wrote $((w1 - w0)) bytes"
[ $((w1 - w0)) -lt 65536 ] || fail "rename of a lower file wrote $((w1 - w0)) bytes"

note "renames of files and dirs across layers"
ops "$m"
check "$m"
assert_eq "$(stat -c %b "$u/rf1.new")" 0 "the renamed lower file has no data in the upper"
getfattr --absolute-names -n user.layerfs.metacopy "$u/rf1.new" >/dev/null 2>&1 ||
	fail "the renamed lower file carries no user.layerfs.metacopy"

note "the upper: redirects on moved dirs, whiteouts at the old names"
assert_eq "$(redirect_of "$u/e")" "/d" "redirect of e"
assert_eq "$(redirect_of "$u/other/deeper/d2moved")" "/d2" "redirect of d2moved"
assert_eq "$(redirect_of "$u/rz")" "/rx" "redirect of a dir moved twice"
assert_eq "$(redirect_of "$u/em3")" "/d3" "redirect of d3 moved over em3"
[ -f "$u/d/.wh..wh..opq" ] || fail "the new dir d in the upper is not opaque"
is_wh "$u" d2 || fail "no whiteout .wh.d2 in the upper"
is_wh "$u" rx || fail "no whiteout .wh.rx in the upper"
is_wh "$u" rf1 || fail "no whiteout .wh.rf1 in the upper"
is_wh "$u" rf2 || fail "no whiteout .wh.rf2 in the upper"
is_wh "$u" d3 || fail "no whiteout .wh.d3 in the upper"
assert_not_exists "$u/ry"
assert_not_exists "$u/rb"
assert_not_exists "$u/rc"
if getfattr --absolute-names -d -m - "$m/e" 2>/dev/null | grep -q layerfs; then
	fail "user.layerfs.redirect is visible through the mount"
fi

before=$(snap "$m")
lfs_umount "$m"
note "remount: the same tree"
lfs_mount "$m" "lowerdir=$l1:$l2" "upperdir=$u" "workdir=$w"
check "$m"
assert_eq "$(snap "$m")" "$before" "tree after remount"

note "rename again after the remount"
mv "$m/e" "$m/e2"
assert_ls "$m/e2" "a b sub2"
assert_ls "$m/e2/sub2" "x y"
mv "$m/e2" "$m/e"
assert_eq "$(rename2 exchange "$m/xa" "$m/xb")" OK "RENAME_EXCHANGE after remount"
assert_file_text "$m/xa" "xa from l2"
assert_file_text "$m/xb" "xb from l1"
assert_eq "$(rename2 exchange "$m/xa" "$m/xb")" OK
assert_eq "$(snap "$m")" "$before" "tree after renaming back"

note "mv of a lower dir of 1000 files"
lfs_umount "$m"
mkdir -p "$l2/many"
for i in $(seq -w 0 999); do
	printf 'file %s\n%01024d\n' "$i" 0 >"$l2/many/f$i"
done
lfs_mount "$m" "lowerdir=$l1:$l2" "upperdir=$u" "workdir=$w"
ls "$m/many" >/dev/null
b0=$(du -sk "$u" | cut -f1)
w0=$(daemon_wchar)
t0=$(date +%s%N)
mv "$m/many" "$m/other/many-moved"
t1=$(date +%s%N)
w1=$(daemon_wchar)
b1=$(du -sk "$u" | cut -f1)
ms=$(((t1 - t0) / 1000000))
note "mv of 1000 files: $ms ms, daemon wrote $((w1 - w0)) bytes, upper $b0 -> $b1 KiB"
[ "$ms" -lt 2000 ] || fail "mv of a dir of 1000 lower files took $ms ms"
[ $((w1 - w0)) -lt 65536 ] || fail "mv of a dir of 1000 lower files wrote $((w1 - w0)) bytes"
[ $((b1 - b0)) -lt 256 ] || fail "mv of a dir of 1000 lower files grew the upper by $((b1 - b0)) KiB"
assert_not_exists "$m/many"
assert_eq "$(find "$m/other/many-moved" -type f | wc -l)" 1000 "files in the moved dir"
assert_eq "$(cat "$m"/other/many-moved/* | sha256sum)" "$(cat "$l2"/many/* | sha256sum)" \
	"content of the moved dir"
assert_eq "$(redirect_of "$u/other/many-moved")" "/many"
lfs_umount "$m"
lfs_mount "$m" "lowerdir=$l1:$l2" "upperdir=$u" "workdir=$w"
assert_eq "$(cat "$m"/other/many-moved/* | sha256sum)" "$(cat "$l2"/many/* | sha256sum)" \
	"content of the moved dir after remount"
assert_not_exists "$m/many"
lfs_umount "$m"
rm -rf "$l2/many"
assert_eq "$(ls -A "$w/layerfs-work")" "" "the work dir is empty"

# ---- the kernel overlayfs as the reference ---------------------------------------

if [ "$have_ovl" = 1 ]; then
	note "the kernel overlayfs (redirect_dir=on) ends with the same tree"
	ku=$T/ku kw=$T/kw
	mkdir -p "$ku" "$kw"
	ovl_mount "$T/kmnt" "lowerdir=$l1:$l2,upperdir=$ku,workdir=$kw,redirect_dir=on"
	ops "$T/kmnt"
	check "$T/kmnt"
	assert_eq "$before" "$(snap "$T/kmnt")" "layerfs and the kernel overlayfs trees"
	ovl_umount "$T/kmnt"
else
	note "no kernel overlayfs here: comparison skipped"
fi
note "ok"
