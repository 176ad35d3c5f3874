#!/usr/bin/env bash
# Hostile inputs that t-store-hostile.sh (hostile image archives) does not
# cover, as root:
#   * layerctl run -v: targets through the image's symlinks (absolute,
#     relative with "..", chains, loops, to "/", through a file, a
#     symlink swapped into the store's layer after load): the bind lands
#     inside the container's root (resolved as if it were "/", as runc),
#     never on the host, or the run is refused with 125;
#   * layerfs mount options: garbage is refused (clear message, status
#     != 0, nothing mounted), what the DESIGN accepts mounts safely;
#     upperdir and workdir must be separate subtrees (the kernel's rule);
#   * names of 255 and 256 bytes, paths near PATH_MAX, a tree 1000 levels
#     deep: create, copy-up, rename, the whiteout of a lower 255-byte name
#     (".wh." would make it 259 bytes: layerfs writes overlayfs' 0/0
#     character device instead) and layerctl commit of that upper;
#   * 50 and 500 lower layers (a file in each, whiteouts across layers),
#     against the kernel overlayfs (and fuse-overlayfs) for 50;
#   * symlinked store paths: the root may be one, the store's own
#     directories (blobs, layers, containers, tmp, locks, a layer) may not.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_root
need_fuse
need_overlay
need_cmd python3 busybox timeout

[ -n "$LAYERCTL" ] || fail "LAYERCTL is not set"
LAYERCTL=$(realpath "$LAYERCTL")
LAYERFS=$(realpath "$LAYERFS")
export LAYERFS # layerctl runs this daemon
umask 022
tried=0

# ---- layerctl run -v through the image's symlinks -----------------------------

S=$T/store
LC=("$LAYERCTL" --root "$S")
EVIL=$T/hostdir
mkdir -p "$EVIL" "$T/vol" "$T/img"
echo v >"$T/vol/v"
echo hostfile >"$T/hostfile"
TMPDIR=$T bash "$SRCDIR/tests/integ/runimg.sh" "$T/base.tar" "$EVIL"
tar -C "$T/img" -xf "$T/base.tar"
# the image's symlinks (what a hostile image may ship)
ln -s "../../../../../../../../..$EVIL" "$T/img/rel"  # up and out, relative
ln -s chain2 "$T/img/chain1"                          # a chain to /evil
ln -s "/chain3/." "$T/img/chain2"
ln -s "evil" "$T/img/chain3"
ln -s / "$T/img/toroot"                               # the root itself
ln -s .. "$T/img/up"                                  # ".." at the root
ln -s /loop2 "$T/img/loop1"
ln -s /loop1 "$T/img/loop2"
ln -s "$EVIL/missing/../../../.." "$T/img/dotty"         # ".." after a missing part
mkdir -p "$T/img/srv"
ln -s ../etc "$T/img/srv/etc"                         # an honest relative link
tar -C "$T/img" --numeric-owner -cf "$T/img.tar" .
"${LC[@]}" load -q --tag bb "$T/img.tar" >/dev/null

MOUNTS0=$(mi_mounts_under / | LC_ALL=C sort)

# vrun WANT VOLSPEC CMD: layerctl run --rm -v VOLSPEC bb sh -c CMD must exit
# WANT; sets $out/$err. Afterwards: the host's $EVIL empty, no new mount.
vrun()
{
	local want=$1 vol=$2 st=0
	shift 2
	tried=$((tried + 1))
	timeout 60 "${LC[@]}" run --rm -v "$vol" bb sh -c "$1" \
		>"$T/out" 2>"$T/err" </dev/null || st=$?
	out=$(cat "$T/out")
	err=$(cat "$T/err")
	[ "$st" -eq "$want" ] ||
		fail "run -v $vol: status $st, expected $want; out '$out'; err '$err'"
	assert_ls "$EVIL" "" "-v $vol: something made on the host's $EVIL"
	assert_eq "$(mi_mounts_under / | LC_ALL=C sort)" "$MOUNTS0" \
		"-v $vol: the host's mounts changed"
}

note "volumes through the image's symlinks"
# /evil -> $EVIL (absolute): lands at the root's $EVIL, the link stays
vrun 0 "$T/vol:/evil/sub" "cat /evil/sub/v $EVIL/sub/v; readlink /evil"
assert_eq "$out" $'v\nv\n'"$EVIL" "-v :/evil/sub"
vrun 0 "$T/vol:/evil" "cat $EVIL/v; echo w >/evil/w"
assert_eq "$out" v "-v :/evil"
assert_file_text "$T/vol/w" w "a write through the volume at /evil"
rm "$T/vol/w"
vrun 0 "$T/vol:/rel/a/b" "cat $EVIL/a/b/v; readlink /rel"
assert_eq "${out%%$'\n'*}" v "-v :/rel/a/b (relative link out with ..)"
vrun 0 "$T/vol:/chain1/x" "cat /chain1/x/v $EVIL/x/v"
assert_eq "$out" $'v\nv' "-v :/chain1/x (a chain of links)"
vrun 0 "$T/vol:/up/up/data" "cat /data/v"
assert_eq "$out" v "-v :/up/up/data (.. at the root stays there)"
vrun 0 "$T/vol:/dotty/inside" "cat /inside/v"
assert_eq "$out" v "-v :/dotty/inside (.. past a missing part)"
vrun 0 "$T/hostfile:/srv/etc/motd:ro" "cat /etc/motd"
assert_eq "$out" hostfile "-v file:/srv/etc/motd (an honest relative link)"
vrun 125 "$T/vol:/toroot" "true"
case "$err" in *"resolves to the root"*) ;; *) fail "-v :/toroot: '$err'" ;; esac
vrun 125 "$T/vol:/loop1/x" "true"
case "$err" in *"symbolic links"*) ;; *) fail "-v :/loop1/x: '$err'" ;; esac
vrun 125 "$T/vol:/etc/motd/x" "true"
case "$err" in *"Not a directory"*) ;; *) fail "-v :/etc/motd/x: '$err'" ;; esac
vrun 125 "$T/vol:/evil/../../etc" "true"
case "$err" in *"bad volume"*) ;; *) fail "-v :/evil/../../etc: '$err'" ;; esac

note "a symlink swapped into the store's layer after load"
layer=$(find "$S/layers" -mindepth 2 -maxdepth 2 -name diff | head -n 1)
[ -d "$layer/data" ] || fail "no data dir in the layer $layer"
rmdir "$layer/data"
ln -s "../../../../../../../../../../../$EVIL" "$layer/data"
vrun 0 "$T/vol:/data/swapped" "cat $EVIL/swapped/v"
assert_eq "$out" v "-v :/data/swapped through the swapped-in link"
rm "$layer/data"
ln -s / "$layer/data"
vrun 125 "$T/vol:/data" "true"
rm "$layer/data"
mkdir "$layer/data"
assert_eq "$(find "$S/containers" -mindepth 1 -maxdepth 1 | wc -l)" 0 "containers left"

# ---- layerfs mount options --------------------------------------------------

note "mount options"
O=$T/opts
mkdir -p "$O"/{L,L2,U,W,M,U2/w,W3} "$O/L/up"
echo low >"$O/L/f"
echo low2 >"$O/L2/g"
: >"$O/file"
ln -s "$O/L" "$O/Llink"
mkdir -p "$O/other"
_lfs_mounts+=("$O/other")
mount -t tmpfs -o size=1m tmpfs "$O/other"
mkdir "$O/other/W"

# bad OPTS TEXT: layerfs -f -o OPTS must fail, say TEXT, mount nothing
bad()
{
	local st=0 err
	tried=$((tried + 1))
	err=$(timeout 20 "$LAYERFS" -f -o "$1" "$O/M" 2>&1 >/dev/null) || st=$?
	if is_mounted "$O/M"; then
		umount "$O/M"
		fail "-o '$1' was mounted"
	fi
	[ "$st" -ne 0 ] && [ "$st" -ne 124 ] ||
		fail "-o '$1': status $st (124: it was running)"
	case "$err" in
	*"$2"*) ;;
	*) fail "-o '${1:0:200}': said '${err:0:300}', expected '$2'" ;;
	esac
}

# good OPTS LS: mounts, lists LS at the root, unmounts, daemon exit 0
good()
{
	tried=$((tried + 1))
	lfs_mount "$O/M" "$1"
	assert_ls "$O/M" "$2" "-o $1"
	lfs_umount "$O/M"
}

L=$O/L U=$O/U W=$O/W
long=$(head -c 100000 /dev/zero | tr '\0' a)
bad "lowerdir=" "empty layer path"
bad "lowerdir=$L::$O/L2" "empty layer path"
bad "lowerdir=$O/nonexistent" "No such file or directory"
bad "lowerdir=$O/file" "Not a directory"
bad "lowerdir=$L"$'\n'"upperdir=$U,workdir=$W" "requires 'upperdir'"
bad "lowerdir=$L,upperdir=$U"$'\n'"workdir=$W" "requires 'workdir'"
bad "lowerdir=$L,upperdir=$U" "requires 'workdir'"
bad "lowerdir=$L,upperdir=$U,workdir=$O/other/W" "upper layer's filesystem"
bad "lowerdir=$L,upperdir=$U,workdir=$U" "separate subtrees"
bad "lowerdir=$L,upperdir=$O/U2,workdir=$O/U2/w" "separate subtrees"
bad "lowerdir=$L,upperdir=$O/U2/w,workdir=$O/U2" "separate subtrees"
bad "lowerdir=$L,uidmapping=garbage" "uidmapping"
bad "lowerdir=$L,uidmapping=0:0" "uidmapping"
bad "lowerdir=$L,gidmapping=0:0:1:" "gidmapping"
bad "lowerdir=$L,squash_to_uid=-1" "squash_to_uid"
bad "lowerdir=$L,squash_to_gid=99999999999999999999" "squash_to_gid"
bad "lowerdir=$L,xattr_permissions=abc" "xattr_permissions"
bad "lowerdir=$L,timeout=1e400" "timeout"
bad "lowerdir=$L,whiteout=bogus" "whiteout"
bad "lowerdir=$L,=x" "unknown mount option"
bad "lowerdir=$L,context=\"a,b" "unterminated quote"
bad "lowerdir=$L,$long" "unknown mount option"
bad "lowerdir=$L,$long=1" "unknown mount option"
bad "lowerdir=$O/$long" "cannot open layer"
bad "lowerdir=$L,upperdir=$O/$long,workdir=$W" "cannot open"
# accepted: a symlink to a lower, "..", a quoted path, empty items, a
# lower listed twice, the last lowerdir= wins, upperdir inside a lower
# (the kernel accepts that too)
good "lowerdir=$O/Llink" "f up"
good "lowerdir=$O/L/../L2:$L" "f g up"
good "lowerdir=\"$L\",," "f up"
good "lowerdir=$L:$L" "f up"
good "lowerdir=$L,lowerdir=$O/L2" "g"
good "lowerdir=$L,upperdir=$L/up,workdir=$W" "f up"
good "lowerdir=$L,context=\"a,b\",upperdir=$U,workdir=$W" "f up"
# a symlink to / as a lower: mounted read-only. (Not done: a lookup of
# the mount's own mountpoint through it, $O/M$O/M; the daemon then holds
# an fd inside its own mount and fusermount3 -u fails with EBUSY.)
ln -s / "$O/rootlink"
tried=$((tried + 1))
lfs_mount "$O/M" "lowerdir=$O/rootlink"
assert_exists "$O/M/etc/passwd" "lowerdir=-> /: /etc/passwd"
assert_fails_with "Read-only file system" touch "$O/M/tmp/x"
lfs_umount "$O/M"

# ---- long names, long paths, deep trees ------------------------------------

note "long names and deep paths"
N=$T/names
mkdir -p "$N"/{L,U,W,M}
n255=$(head -c 255 /dev/zero | tr '\0' n)
n256=$(head -c 256 /dev/zero | tr '\0' n)
echo low >"$N/L/$n255"
mkdir "$N/L/d"
echo low >"$N/L/d/$n255"
lfs_mount "$N/M" "lowerdir=$N/L,upperdir=$N/U,workdir=$N/W"
tried=$((tried + 6))
( echo new >"$N/M/a$n255" ) 2>/dev/null && fail "a 256-byte name was created"
assert_fails_with "File name too long" touch "$N/M/$n256"
assert_fails_with "File name too long" mkdir "$N/M/$n256"
echo more >>"$N/M/d/$n255" # copy-up of a 255-byte name
assert_file_text "$N/M/d/$n255" $'low\nmore' "copy-up of a 255-byte name"
mv "$N/M/d/$n255" "$N/M/${n255%n}m"
assert_file_text "$N/M/${n255%n}m" $'low\nmore' "rename of a 255-byte name"
assert_not_exists "$N/M/d/$n255"
assert_fails_with "File name too long" mv "$N/M/${n255%n}m" "$N/M/$n256"
# a copied-up 255-byte lower name removed, and one renamed away
echo up >>"$N/M/${n255%n}m"
cp -a "$N/L/d" "$N/L/d2"
echo more >>"$N/M/d2/$n255"
rm "$N/M/d2/$n255"
assert_ls "$N/M/d2" "" "a copied-up 255-byte name removed"
[ -c "$N/U/d2/$n255" ] || fail "no 0/0 whiteout in d2 for the removed copied-up name"
# the whiteout of a lower 255-byte name: no room for ".wh.", so the
# overlayfs form (a 0/0 character device) in the upper
rm "$N/M/$n255"
assert_not_exists "$N/M/$n255" "a deleted 255-byte lower name"
[ -c "$N/U/$n255" ] || fail "no 0/0 whiteout for the 255-byte name in the upper"
# a deep tree: 1000 levels, through the mount, then copy-up at the bottom
deep=$(python3 - "$N/M" <<'EOF'
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
for i in range(1000):
    os.mkdir('x', 0o755, dir_fd=fd)
    nfd = os.open('x', os.O_RDONLY, dir_fd=fd)
    os.close(fd)
    fd = nfd
with open(os.open('leaf', os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), 'w') as f:
    f.write('deep')
print(len(os.path.join(sys.argv[1], *(['x'] * 1000), 'leaf')))
EOF
)
tried=$((tried + 1))
note "a file at depth 1000 (path of $deep bytes)"
lfs_umount "$N/M"
lfs_mount "$N/M" "lowerdir=$N/L,upperdir=$N/U,workdir=$N/W"
assert_not_exists "$N/M/$n255" "the whiteout of a 255-byte name after a remount"
got=$(cd "$N/M" && python3 -c '
import os
fd = os.open(".", os.O_RDONLY)
for i in range(1000):
    nfd = os.open("x", os.O_RDONLY, dir_fd=fd); os.close(fd); fd = nfd
print(open(os.open("leaf", os.O_RDONLY, dir_fd=fd)).read())')
assert_eq "$got" deep "the file at depth 1000 after a remount"
# a path just under PATH_MAX (4096) and one over it
tried=$((tried + 2))
p=$N/M
while [ ${#p} -lt 3800 ]; do p=$p/$(head -c 200 /dev/zero | tr '\0' p); done
mkdir -p "$p"
echo ok >"$p/f"
assert_file_text "$p/f" ok "a path of ${#p} bytes"
assert_fails_with "File name too long" touch "$p/$(head -c 250 /dev/zero | tr '\0' q)/x"
lfs_umount "$N/M"

note "commit of an upper with the whiteout of a 255-byte name"
tried=$((tried + 1))
mkdir -p "$T/longimg"
echo low >"$T/longimg/$n255"
echo keep >"$T/longimg/keep"
tar -C "$T/longimg" --numeric-owner -cf "$T/long.tar" .
"${LC[@]}" load -q --tag long "$T/long.tar" >/dev/null
"${LC[@]}" create --name lc1 long >/dev/null
mkdir -p "$T/lm"
"${LC[@]}" mount lc1 "$T/lm"
_lfs_mounts+=("$T/lm")
rm "$T/lm/$n255"
"${LC[@]}" umount "$T/lm"
"${LC[@]}" diff lc1 >"$T/diff.txt"
assert_eq "$(cat "$T/diff.txt")" "D /$n255" "layerctl diff of the 255-byte whiteout"
# ".wh." + 255 bytes cannot be a file name: the tar carries it (PAX), and
# the store unpacks it as the overlayfs whiteout (char 0/0), which needs
# root (rootless, the commit fails with a clear message instead).
"${LC[@]}" commit lc1 long2 >"$T/commit.out" 2>&1 </dev/null ||
	fail "commit of a 255-byte whiteout: $(cat "$T/commit.out")"
"${LC[@]}" create --name lc2 long2 >/dev/null
"${LC[@]}" mount lc2 "$T/lm"
assert_file_text "$T/lm/keep" keep "the committed image"
assert_not_exists "$T/lm/$n255" "the committed image without the 255-byte name"
"${LC[@]}" umount "$T/lm"
"${LC[@]}" rm lc2 >/dev/null
"${LC[@]}" fsck >"$T/fsck.out" 2>&1 || fail "fsck after the commit: $(cat "$T/fsck.out")"
# and a save + load into another store round-trips it
"${LC[@]}" save -q long2 "oci:$T/longoci:long2" >/dev/null
"$LAYERCTL" --root "$T/store-b" load -q "oci:$T/longoci:long2" >/dev/null
"$LAYERCTL" --root "$T/store-b" create --name lc3 long2 >/dev/null
"$LAYERCTL" --root "$T/store-b" mount lc3 "$T/lm"
assert_file_text "$T/lm/keep" keep "the image after save and load"
assert_not_exists "$T/lm/$n255" "the 255-byte whiteout after save and load"
"$LAYERCTL" --root "$T/store-b" umount "$T/lm"
"${LC[@]}" rm lc1 >/dev/null

# ---- 50 and 500 lower layers ------------------------------------------------

# layers DIR N: DIR/l0..l(N-1), l0 on top; each has f$i and d/f$i; every
# 10th layer whites out f of the layer below it; layer 7 makes d opaque
# in the OCI form (.wh..wh..opq) and the overlay form (a second copy).
layers()
{
	python3 - "$1" "$2" <<'EOF'
import os, sys
base, n = sys.argv[1], int(sys.argv[2])
for fmt in ('oci', 'ovl'):
    for i in range(n):
        d = os.path.join(base, fmt, 'l%d' % i)
        os.makedirs(os.path.join(d, 'd'))
        open(os.path.join(d, 'f%d' % i), 'w').write('%d\n' % i)
        open(os.path.join(d, 'd', 'f%d' % i), 'w').write('d%d\n' % i)
        if i % 10 == 0 and i + 1 < n:
            if fmt == 'oci':
                open(os.path.join(d, '.wh.f%d' % (i + 1)), 'w').close()
            else:
                os.mknod(os.path.join(d, 'f%d' % (i + 1)), 0o20000, 0)
        if i == 7:
            if fmt == 'oci':
                open(os.path.join(d, 'd', '.wh..wh..opq'), 'w').close()
            else:
                os.setxattr(os.path.join(d, 'd'), 'trusted.overlay.opaque', b'y')
EOF
}

# listing MNT: every path and file content under MNT, sorted
listing()
{
	(cd "$1" && find . -type f -exec sh -c 'for f; do printf "%s %s\n" "$f" "$(cat "$f")"; done' _ {} + |
		LC_ALL=C sort)
}

for n in 50 500; do
	note "$n lower layers"
	Y=$T/layers$n
	layers "$Y" "$n"
	low=$(for ((i = 0; i < n; i++)); do printf '%s:' "$Y/oci/l$i"; done)
	mkdir -p "$Y"/{M,K,F}
	tried=$((tried + 1))
	lfs_mount "$Y/M" "lowerdir=${low%:}"
	t0=$EPOCHREALTIME
	ls -R "$Y/M" >/dev/null
	t1=$EPOCHREALTIME
	listing "$Y/M" >"$Y/lfs.txt"
	lfs_umount "$Y/M"
	want=$((n + 8 - ((n - 2) / 10 + 1)))
	assert_eq "$(wc -l <"$Y/lfs.txt")" "$want" "$n layers: files seen"
	grep -qx "./f1 " "$Y/lfs.txt" && fail "$n layers: f1 is whited out"
	grep -q "^./d/f8 " "$Y/lfs.txt" && fail "$n layers: d/f8 is under an opaque d"
	note "$n layers: ls -R in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s"
	kovl=$(for ((i = 0; i < n; i++)); do printf '%s:' "$Y/ovl/l$i"; done)
	st=0
	mount -t overlay overlay -o "lowerdir=${kovl%:}" "$Y/K" 2>"$Y/kerr" || st=$?
	if [ "$st" -eq 0 ]; then
		_lfs_mounts+=("$Y/K")
		listing "$Y/K" >"$Y/kernel.txt"
		umount "$Y/K"
		cmp -s "$Y/lfs.txt" "$Y/kernel.txt" ||
			fail "$n layers: layerfs and the kernel differ: $(diff "$Y/kernel.txt" "$Y/lfs.txt" | head)"
		note "$n layers: the kernel overlayfs agrees"
	else
		note "$n layers: the kernel overlayfs refuses: $(tr '\n' ' ' <"$Y/kerr")"
	fi
	if command -v fuse-overlayfs >/dev/null; then
		st=0
		timeout 30 fuse-overlayfs -o "lowerdir=${low%:}" "$Y/F" 2>"$Y/ferr" || st=$?
		if [ "$st" -eq 0 ] && is_mounted "$Y/F"; then
			_lfs_mounts+=("$Y/F")
			listing "$Y/F" >"$Y/fo.txt"
			umount "$Y/F"
			if cmp -s "$Y/lfs.txt" "$Y/fo.txt"; then
				note "$n layers: fuse-overlayfs agrees"
			else
				note "$n layers: fuse-overlayfs differs: $(diff "$Y/fo.txt" "$Y/lfs.txt" | head -n 3 | tr '\n' ' ')"
			fi
		else
			note "$n layers: fuse-overlayfs fails ($st): $(head -c 200 "$Y/ferr")"
		fi
	fi
done

# ---- symlinked store paths -----------------------------------------------------

note "symlinked store paths"
# The store root may be a symlink (a store moved to another disk); the
# store's own directories may not: a symlink there could send writes or
# mounts outside the store. Every command refuses such a store with a
# message, and nothing is written where the symlink points.
SR=$T/sreal
mkdir -p "$SR"
ln -s "$SR" "$T/slink"
"$LAYERCTL" --root "$T/slink" load -q --tag s "$T/base.tar" >/dev/null
"$LAYERCTL" --root "$T/slink" fsck >/dev/null ||
	fail "a store reached through a symlinked root is not clean"
mkdir -p "$T/elsewhere"
for d in blobs blobs/sha256 layers containers tmp locks; do
	tried=$((tried + 1))
	mv "$SR/$d" "$T/moved"
	mv "$T/moved" "$T/elsewhere/x"
	ln -s "$T/elsewhere/x" "$SR/$d"
	before=$(find "$T/elsewhere" -printf '%p %s %T@\n' | sort)
	for cmd in images fsck "load -q --tag s2 $T/base.tar"; do
		st=0
		# shellcheck disable=SC2086
		"$LAYERCTL" --root "$SR" $cmd >"$T/sl.out" 2>&1 || st=$?
		[ "$st" -ne 0 ] || fail "store with $d a symlink: '$cmd' succeeded"
		grep -q "'$SR/$d' is a symlink" "$T/sl.out" ||
			fail "store with $d a symlink: '$cmd': $(cat "$T/sl.out")"
	done
	[ "$(find "$T/elsewhere" -printf '%p %s %T@\n' | sort)" = "$before" ] ||
		fail "store with $d a symlink: something was written through it"
	rm "$SR/$d"
	mv "$T/elsewhere/x" "$SR/$d"
done
# a layer directory that is a symlink: fsck names it, mount refuses it,
# fsck --repair unpacks the layer again and leaves the target alone
tried=$((tried + 1))
L1=$(ls "$SR/layers")
mv "$SR/layers/$L1" "$T/elsewhere/layer"
ln -s "$T/elsewhere/layer" "$SR/layers/$L1"
before=$(find "$T/elsewhere" -printf '%p %s %T@\n' | sort)
st=0
"$LAYERCTL" --root "$SR" fsck >"$T/sl.out" 2>&1 || st=$?
[ "$st" -ne 0 ] && grep -q "not a directory (a symlink)" "$T/sl.out" ||
	fail "fsck of a symlinked layer: status $st: $(cat "$T/sl.out")"
"$LAYERCTL" --root "$SR" create --name sc s >/dev/null
mkdir -p "$T/sm"
st=0
"$LAYERCTL" --root "$SR" mount sc "$T/sm" >"$T/sl.out" 2>&1 || st=$?
[ "$st" -ne 0 ] && grep -q "is a symlink in the store" "$T/sl.out" ||
	fail "mount over a symlinked layer: status $st: $(cat "$T/sl.out")"
is_mounted "$T/sm" && fail "a container over a symlinked layer got mounted"
"$LAYERCTL" --root "$SR" fsck --repair >/dev/null 2>&1 || true
"$LAYERCTL" --root "$SR" fsck >"$T/sl.out" 2>&1 ||
	fail "fsck after repair: $(cat "$T/sl.out")"
[ -d "$SR/layers/$L1" ] && [ ! -L "$SR/layers/$L1" ] ||
	fail "the repaired layer is not a real directory"
[ "$(find "$T/elsewhere" -printf '%p %s %T@\n' | sort)" = "$before" ] ||
	fail "fsck --repair wrote through the symlinked layer"
"$LAYERCTL" --root "$SR" mount sc "$T/sm"
_lfs_mounts+=("$T/sm")
assert_file_text "$T/sm/etc/motd" image "a container of the repaired layer"
"$LAYERCTL" --root "$SR" umount "$T/sm"

note "hostile inputs tried: $tried"
