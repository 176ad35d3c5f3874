#!/usr/bin/env bash
# Concurrent layerctl processes on one store:
#  1. four loads of the same image at once (two from an OCI layout, two from
#     an OCI archive): all succeed, each layer is unpacked once (a watcher
#     sees each diffID staged in one load's staging directory only), the
#     store lists each layer and the image once, fsck is clean;
#  2. loads of different images that share a base layer, and a bare load
#     of that base layer, at once: the same;
#  3. for CONC_SECS seconds (default 20) loops of load/verify/rmi of three
#     images, gc, fsck and the read-only commands, and three loops of
#     create/commit/verify/rmi/rm of containers of A, while image A
#     stays: every command succeeds, every image a worker finds loaded
#     has the source's trees, every committed image A's layers and one
#     that holds exactly the upper layer's files; at the end everything
#     loaded and not removed is intact, no container is left, fsck is
#     clean and, after a gc, tmp/ is empty;
#  4. layerfs mounts an image's layers; rmi and gc keep the layers the
#     mount holds (layers --json: in_use) and the mount reads the same;
#     after the unmount gc removes them.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=storelib.sh
. "$(dirname "${BASH_SOURCE[0]}")/storelib.sh"
need_root
need_fuse
need_cmd python3 tar sha256sum

[ -n "$LAYERCTL" ] || fail "LAYERCTL is not set (meson sets it; or LAYERCTL=/path/to/layerctl)"
LAYERCTL=$(realpath "$LAYERCTL")
CONC_SECS=${CONC_SECS:-20}
umask 022

# ---- the images -----------------------------------------------------------

# A = base + a1, B = base + b1, C = base + c1 + c2 share the base layer;
# D = d1 is unrelated (loaded as a bare layer).
python3 "$SRCDIR/tests/integ/storeimg.py" "$T/src/img" "$T/src/bare" '{
  "layers": {
    "base": {"big": 1, "big_mb": 6, "files": 600},
    "a1":   {"files": 300, "whiteouts": ["base/d001/f00001"]},
    "b1":   {"big": 1, "big_mb": 8, "files": 500},
    "c1":   {"big": 1, "big_mb": 4, "files": 300},
    "c2":   {"files": 200, "whiteouts": ["base/big0.bin"]},
    "d1":   {"big": 1, "big_mb": 6, "files": 400}},
  "images": {"A": ["base", "a1"], "B": ["base", "b1"],
             "C": ["base", "c1", "c2"]}}'
(cd "$T/src/img" && tar -cf "$T/src/img.tar" oci-layout index.json blobs)

# The source's tree of each layer (tar's extraction), by diffID hex.
declare -A tree=() hex_of=()
for l in base a1 b1 c1 c2 d1; do
	hex=$(diff_id "$l")
	hex_of[$l]=$hex
	mkdir "$T/x"
	tar -xzpf "$T/src/bare/$l.tar.gz" -C "$T/x" --numeric-owner
	tree[$hex]=$(describe "$T/x")
	rm -rf "$T/x"
done
declare -A want=(
	[A]="${hex_of[base]} ${hex_of[a1]}"
	[B]="${hex_of[base]} ${hex_of[b1]}"
	[C]="${hex_of[base]} ${hex_of[c1]} ${hex_of[c2]}"
	[D]="${hex_of[d1]}"
	[base]="${hex_of[base]}"
)

# ---- helpers --------------------------------------------------------------

S= # the store at hand
lc() { "$LAYERCTL" --root "$S" "$@"; }
entries() { find "$1" -mindepth 1 -maxdepth 1 -printf '%P\n' | LC_ALL=C sort; }
refs() { lc images --json | python3 -c 'import json,sys; print(" ".join(sorted(i["ref"] for i in json.load(sys.stdin))))'; }
layers_of() { lc inspect --json "$1" | python3 -c 'import json,sys; print(" ".join(l["diff_id"][7:] for l in json.load(sys.stdin)["layers"]))'; }
# diffID hex of every unpacked layer, as layers --json lists them
listed_layers() { lc layers --json | python3 -c 'import json,sys; print(" ".join(sorted(l["diff_id"][7:] for l in json.load(sys.stdin))))'; }
# the words of its arguments, sorted, once each, on one line
sorted() { tr ' ' '\n' <<<"$*" | LC_ALL=C sort -u | paste -sd ' '; }

# image_ok REF: REF (of want[]) has its layers, each with the source tree.
# Prints what is wrong and returns 1; safe in a background worker.
image_ok()
{
	local ref=$1 want_ref=${want[${2:-$1}]} got hex

	got=$(layers_of "$ref") || { echo "inspect $ref failed"; return 1; }
	if [ "$got" != "$want_ref" ]; then
		echo "$ref has the layers '$got', expected '$want_ref'"
		return 1
	fi
	for hex in $got; do
		if [ "$(describe "$S/layers/$hex/diff")" != "${tree[$hex]}" ]; then
			echo "$ref: layer $hex differs from the source"
			return 1
		fi
	done
}

check_image()
{
	local why

	why=$(image_ok "$@") || fail "$why"
}

fsck_clean()
{
	local out

	if ! out=$(lc fsck 2>&1); then
		printf '%s\n' "$out" >&2
		fail "${1:-fsck}: fsck found problems"
	fi
}

# wait_ok PID WHAT: wait for PID; it must exit 0.
wait_ok()
{
	local st=0

	wait "$1" || st=$?
	lfs_forget "$1"
	[ "$st" -eq 0 ] || fail "$2 exited with status $st${3:+: $(cat "$3")}"
}

# watch.py ROOT OUT STOP: until the file STOP exists, note every
# ROOT/tmp/STAGE/layers/NAME it sees as "STAGE NAME" lines in OUT: which
# load staged (unpacked) which layer.
cat >"$T/watch.py" <<'EOF'
import os, sys, time
root, out, stop = sys.argv[1:4]
seen = set()
def ls(d):
    try:
        return os.listdir(d)
    except OSError:
        return []
with open(out, "w") as f:
    while not os.path.exists(stop):
        for st in ls(root + "/tmp"):
            for name in ls(f"{root}/tmp/{st}/layers"):
                if (st, name) not in seen:
                    seen.add((st, name))
                    print(st, name, file=f, flush=True)
        time.sleep(0.001)
EOF

# Start the watcher on $S (sets WATCH_PID); watch_end stops it.
watch_start()
{
	rm -f "$T/watch.stop"
	lfs_bg python3 "$T/watch.py" "$S" "$T/watch.out" "$T/watch.stop"
	WATCH_PID=$LFS_BG_PID
	sleep 0.2 # python is up
}

# watch_end: stop the watcher; fail when a layer was staged by two loads.
# Sets STAGED (how many diffIDs it saw staged) and EXTRA (unknown-diffID
# stagings of bare loads, "new": those cannot know the layer beforehand).
watch_end()
{
	local twice

	touch "$T/watch.stop"
	wait_ok "$WATCH_PID" watcher
	# (mawk has no {64}: a diffID is the name that is not "new")
	twice=$(awk '$2 != "new" { n[$2]++ } END { for (h in n) if (n[h] > 1) print h }' "$T/watch.out")
	[ -z "$twice" ] || {
		cat "$T/watch.out" >&2
		fail "$1: layers unpacked by more than one load: $twice"
	}
	STAGED=$(awk '$2 != "new"' "$T/watch.out" | wc -l)
	EXTRA=$(awk '$2 == "new"' "$T/watch.out" | wc -l)
}

SRC_A_OCI="oci:$T/src/img:A"
SRC_A_ARCH="oci-archive:$T/src/img.tar:A"

# ---- 1. four loads of the same image at once --------------------------------

S=$T/s1
watch_start
pids=()
for src in "$SRC_A_OCI" "$SRC_A_ARCH" "$SRC_A_OCI" "$SRC_A_ARCH"; do
	lfs_bg "$LAYERCTL" --root "$S" load -q "$src" >/dev/null 2>"$T/load-${#pids[@]}.err"
	pids+=("$LFS_BG_PID")
done
for n in "${!pids[@]}"; do
	wait_ok "${pids[n]}" "parallel load $n of A" "$T/load-$n.err"
done
watch_end "four loads of A"
note "four loads of A: $STAGED layer stagings seen (A has 2 layers)"
assert_eq "$(refs)" A "images after four loads of A"
assert_eq "$(listed_layers)" "$(sorted "${want[A]}")" "layers after four loads of A"
check_image A
fsck_clean "four loads of A"
assert_eq "$(entries "$S/tmp")" "" "tmp/ after four loads of A"

# ---- 2. different images sharing a layer, at once --------------------------

S=$T/s2
watch_start
pids=()
what=("A from oci" "B from oci-archive" "C from oci" "base as a bare layer" "D as a bare layer" "C from oci-archive")
lfs_bg "$LAYERCTL" --root "$S" load -q "$SRC_A_OCI" >/dev/null 2>"$T/load-0.err"
pids+=("$LFS_BG_PID")
lfs_bg "$LAYERCTL" --root "$S" load -q "oci-archive:$T/src/img.tar:B" >/dev/null 2>"$T/load-1.err"
pids+=("$LFS_BG_PID")
lfs_bg "$LAYERCTL" --root "$S" load -q "oci:$T/src/img:C" >/dev/null 2>"$T/load-2.err"
pids+=("$LFS_BG_PID")
lfs_bg "$LAYERCTL" --root "$S" load -q --tag base "$T/src/bare/base.tar.gz" >/dev/null 2>"$T/load-3.err"
pids+=("$LFS_BG_PID")
lfs_bg "$LAYERCTL" --root "$S" load -q --tag D "$T/src/bare/d1.tar.gz" >/dev/null 2>"$T/load-4.err"
pids+=("$LFS_BG_PID")
lfs_bg "$LAYERCTL" --root "$S" load -q --tag C "oci-archive:$T/src/img.tar:C" >/dev/null 2>"$T/load-5.err"
pids+=("$LFS_BG_PID")
for n in "${!pids[@]}"; do
	wait_ok "${pids[n]}" "parallel load of ${what[n]}" "$T/load-$n.err"
done
watch_end "loads of A, B, C, base, D"
note "loads of A, B, C (twice), base, D: $STAGED layer stagings seen (6 distinct layers), $EXTRA bare unpacks of unknown diffID"
assert_eq "$(refs)" "A B C D base" "images after the parallel loads"
assert_eq "$(listed_layers)" "$(sorted "${want[A]}" "${want[B]}" "${want[C]}" "${want[D]}")" \
	"layers after the parallel loads"
for r in A B C D base; do
	check_image "$r"
done
fsck_clean "parallel loads of different images"
assert_eq "$(entries "$S/tmp")" "" "tmp/ after the parallel loads"

# ---- 3. loads, rmi, gc, fsck and readers, all at once -----------------------

S=$T/s3
lc load -q "$SRC_A_OCI" >/dev/null
A_INSPECT=$(lc inspect --json A)
: >"$T/errors"
rm -f "$T/stop"

# err MSG: note a failure of a background loop (the main shell fails).
err() { printf '%s\n' "$*" >>"$T/errors"; }

# churn NAME REF SRC...: until $T/stop, load REF (from each SRC in turn),
# check it, rmi it; ends with REF loaded. Prints the number of rounds.
churn()
{
	local name=$1 ref=$2 n=0 e why
	shift 2
	local srcs=("$@")

	e=$T/$name.err
	while :; do
		if ! lc load -q --tag "$ref" "${srcs[n % ${#srcs[@]}]}" >/dev/null 2>"$e"; then
			err "$name: load $ref: $(cat "$e")"
			return 1
		fi
		n=$((n + 1))
		if ! why=$(image_ok "$ref" "${ref%%-*}" 2>&1); then
			err "$name: after load $n: $why"
			return 1
		fi
		[ -e "$T/stop" ] && break
		if ! lc rmi "$ref" >/dev/null 2>"$e"; then
			err "$name: rmi $ref: $(cat "$e")"
			return 1
		fi
	done
	echo "$n" >"$T/$name.count"
}

# repeat NAME PAUSE CMD...: run CMD until $T/stop; it must succeed.
repeat()
{
	local name=$1 pause=$2 n=0
	shift 2

	while [ ! -e "$T/stop" ]; do
		if ! "$@" >"$T/$name.out" 2>&1; then
			err "$name: '$*' failed: $(cat "$T/$name.out")"
			return 1
		fi
		n=$((n + 1))
		sleep "$pause"
	done
	echo "$n" >"$T/$name.count"
}

# files_of DIR: its regular files and their contents
files_of() { (cd "$1" && find . -type f -exec sha256sum {} + | LC_ALL=C sort -k2); }

# committer NAME: until $T/stop: create a container of A, put 1 MiB and
# a few small files in its upper layer, commit it as image NAME, check
# that NAME is A's layers and one more that holds those files, then rmi
# NAME and rm the container. Prints the number of rounds.
committer()
{
	local name=$1 n=0 e=$T/$1.err id up got top

	while [ ! -e "$T/stop" ]; do
		id=$(lc create A 2>"$e") || { err "$name: create: $(cat "$e")"; return 1; }
		up=$S/containers/$id/upper
		mkdir "$up/$name"
		head -c $((1 << 20)) /dev/urandom >"$up/$name/big"
		for k in 1 2 3 4 5 6; do
			echo "$name $n $k" >"$up/$name/f$k"
		done
		if ! lc commit -q "$id" "$name" >/dev/null 2>"$e"; then
			err "$name: commit $id: $(cat "$e")"
			return 1
		fi
		got=$(layers_of "$name") || { err "$name: inspect failed"; return 1; }
		top=${got##* }
		if [ "${got% *}" != "${want[A]}" ]; then
			err "$name: the committed image has the layers '$got'"
			return 1
		fi
		if [ "$(files_of "$S/layers/$top/diff")" != "$(files_of "$up")" ]; then
			err "$name: the committed layer $top is not the upper layer"
			return 1
		fi
		if ! lc rmi "$name" >/dev/null 2>"$e" || ! lc rm "$id" >/dev/null 2>"$e"; then
			err "$name: rmi or rm: $(cat "$e")"
			return 1
		fi
		n=$((n + 1))
	done
	echo "$n" >"$T/$name.count"
}

# the read-only commands, and A (never removed) stays as it was
readers()
{
	lc images --json >/dev/null &&
		lc layers --json >/dev/null &&
		[ "$(lc inspect --json A)" = "$A_INSPECT" ] &&
		lc inspect --lowerdirs A >/dev/null
}

pids=()
names=(churn-B churn-C churn-D gc fsck readers commit-1 commit-2 commit-3)
lfs_bg churn churn-B B "oci:$T/src/img:B" "oci-archive:$T/src/img.tar:B"
pids+=("$LFS_BG_PID")
lfs_bg churn churn-C C "oci-archive:$T/src/img.tar:C" "oci:$T/src/img:C"
pids+=("$LFS_BG_PID")
lfs_bg churn churn-D D "$T/src/bare/d1.tar.gz"
pids+=("$LFS_BG_PID")
lfs_bg repeat gc 0.05 lc gc
pids+=("$LFS_BG_PID")
lfs_bg repeat fsck 0.1 lc fsck
pids+=("$LFS_BG_PID")
lfs_bg repeat readers 0.02 readers
pids+=("$LFS_BG_PID")
for c in 1 2 3; do
	lfs_bg committer "commit-$c"
	pids+=("$LFS_BG_PID")
done
t0=$SECONDS
while [ $((SECONDS - t0)) -lt "$CONC_SECS" ] && [ ! -s "$T/errors" ]; do
	sleep 0.5
done
touch "$T/stop"
for n in "${!pids[@]}"; do
	st=0
	wait "${pids[n]}" || st=$?
	lfs_forget "${pids[n]}"
	[ "$st" -eq 0 ] || err "${names[n]} exited with status $st"
done
[ ! -s "$T/errors" ] || fail "concurrent work failed: $(cat "$T/errors")"
counts=""
for n in "${names[@]}"; do
	counts+=" $n=$(cat "$T/$n.count")"
done
note "in $((SECONDS - t0))s:$counts"
assert_eq "$(refs)" "A B C D" "images after the concurrent work"
assert_eq "$(lc ps --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 0 \
	"containers after the concurrent work"
assert_eq "$(lc inspect --json A)" "$A_INSPECT" "A after the concurrent work"
for r in A B C D; do
	check_image "$r"
done
fsck_clean "after the concurrent work"
lc gc >/dev/null
assert_eq "$(entries "$S/tmp")" "" "tmp/ after the final gc"
assert_eq "$(listed_layers)" "$(sorted "${want[A]}" "${want[B]}" "${want[C]}" "${want[D]}")" \
	"layers after the final gc"
fsck_clean "after the final gc"

# ---- 4. a mount keeps its layers ---------------------------------------------

# in_use of layer HEX in layers --json ("" when not listed)
in_use() { lc layers --json | python3 -c 'import json,sys; print("".join(str(l["in_use"]).lower() for l in json.load(sys.stdin) if l["diff_id"] == "sha256:" + sys.argv[1]))' "$1"; }

b1=${hex_of[b1]} base=${hex_of[base]}
lfs_mount "$T/m" "lowerdir=$(lc inspect --lowerdirs B)"
view=$(describe "$T/m")
assert_eq "$(in_use "$b1")" true "b1 in use while mounted"
assert_eq "$(in_use "${hex_of[c1]}")" false "c1 not in use"
lc rmi B >/dev/null
assert_eq "$(refs)" "A C D" "images after rmi B"
lc gc >/dev/null
assert_dir "$S/layers/$b1/diff" "gc kept the mounted layer b1"
assert_eq "$(in_use "$b1")" true "b1 in use after rmi and gc"
assert_eq "$(describe "$T/m")" "$view" "the mount reads the same after rmi and gc"
assert_eq "$(describe "$S/layers/$b1/diff")" "${tree[$b1]}" "b1 intact"
fsck_clean "with an unreferenced mounted layer"
lfs_umount "$T/m"
assert_eq "$(in_use "$b1")" false "b1 not in use after the unmount"
lc gc >/dev/null
assert_not_exists "$S/layers/$b1" "gc removes b1 after the unmount"
assert_eq "$(listed_layers)" "$(sorted "${want[A]}" "${want[C]}" "${want[D]}")" \
	"layers after the last gc"
check_image A
fsck_clean "at the end"
assert_eq "$(entries "$S/tmp")" "" "tmp/ at the end"
echo "t-store-concurrent: ok:$counts in ${CONC_SECS}s"
