#!/usr/bin/env bash
# Races through one layerfs mount (fsconc.py does the work):
#  1. copy-up: 6 processes copy up the same six 6 MiB lower files at once
#     (open for writing, chmod first, or O_APPEND) and read them back:
#     all read the lower's full data, all see one inode number per file,
#     and the upper holds exactly one copy of each, whole;
#  2. readers and a writer on one lower file: readers open it before the
#     copy-up and read blocks while the writer rewrites every block again
#     and again; no read returns data never written at its place (parts
#     of two generations in one block are counted, as Linux allows); the
#     same run on the kernel's overlayfs as the reference;
#  3. a rename storm: processes rename files (RENAME_NOREPLACE and
#     RENAME_EXCHANGE) among 60 names in 10 dirs, and the dirs themselves
#     (lower dirs included), at once; every file and dir is there exactly
#     once after, and again after a remount of the same upper; the upper
#     has no temp objects and the work dir nothing left over.
# The daemon survives it all and exits 0 at the unmount.
#
#   CONC_SECS  seconds of each race (default 10)
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_root
need_fuse
need_overlay
need_cmd python3

SECS=${CONC_SECS:-10}
PY=$SRCDIR/tests/integ/fsconc.py
L=$T/lower U=$T/upper W=$T/work M=$T/mnt
mkdir -p "$L" "$U" "$W"
python3 "$PY" lower "$L"
OPTS="lowerdir=$L,upperdir=$U,workdir=$W"
t0=$SECONDS

# run WHAT ARGS...: fsconc.py ARGS; it must say ok
run()
{
	local what=$1 out
	shift

	out=$(python3 "$PY" "$@" 2>&1) || fail "$what: $out"
	note "$what: $out"
	RUN_OUT=$out
}

lfs_mount "$M" "$OPTS"
daemon=$LFS_PID

# ---- 1. parallel copy-up of the same file ---------------------------------

run "parallel copy-up" copyup "$M" 6
cu1=$RUN_OUT
for i in 0 1 2 3 4 5; do
	n=$(find "$U/cu" -maxdepth 1 -name "big$i*" | wc -l)
	assert_eq "$n" 1 "copies of cu/big$i in the upper"
	cmp -s "$U/cu/big$i" "$L/cu/big$i" || fail "upper cu/big$i differs from the lower"
done

# ---- 2. readers and a writer on one file ------------------------------------

run "readers and a writer (layerfs)" rw "$M" "$SECS" 3
rw1=$RUN_OUT
kill -0 "$daemon" || fail "layerfs died"

mkdir -p "$T/o/l" "$T/o/u" "$T/o/w"
cp -a "$L/rw" "$T/o/l/"
ovl_mount "$T/om" "lowerdir=$T/o/l,upperdir=$T/o/u,workdir=$T/o/w"
run "readers and a writer (overlayfs)" rw "$T/om" "$SECS" 3
ovl_umount "$T/om"

# ---- 3. rename storm ---------------------------------------------------------

run "rename storm" storm "$M" "$SECS" 6
st1=$RUN_OUT
run "names after the storm" names "$M"
kill -0 "$daemon" || fail "layerfs died"
before=$(cd "$M/st" && find . | LC_ALL=C sort | sha256sum)
lfs_umount "$M"
stray=$(find "$U" -name 'copyup.*' -o -name '.tmp*' | head -n 5)
[ -z "$stray" ] || fail "temp objects in the upper layer: $stray"
lfs_mount "$M" "$OPTS"
run "names after a remount" names "$M"
assert_eq "$(cd "$M/st" && find . | LC_ALL=C sort | sha256sum)" "$before" \
	"the tree after a remount"
left=$(find "$W" -mindepth 2 -path '*/layerfs-work/*' | head -n 5)
[ -z "$left" ] || fail "leftovers in the work dir: $left"
lfs_umount "$M"
echo "t-fs-concurrent: ok in $((SECONDS - t0))s: $cu1; $rw1; $st1"
