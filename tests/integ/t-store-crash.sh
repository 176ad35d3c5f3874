#!/usr/bin/env bash
# The store survives kill -9 at any instant. Image A is loaded first; then,
# CRASH_ITERS times, a load of image B (from an OCI layout, an OCI archive
# or a bare layer .tar.gz, in turn) is killed: at a random instant of its
# (calibrated, then re-measured) duration, or of its last 30%, or as it
# publishes (a watcher kills it within 0.5 ms of the first new entry in
# blobs/ or layers/). Every few iterations a gc and an rmi are killed
# mid-way too, and the leftovers of some dead loads stay for the next load.
# After each kill: fsck is clean; A is listed, its inspect --json
# unchanged, its layer trees those of the source; every layer directory is
# complete (diff/, layer.json, manifest); every blob hashes to its name;
# B is either absent from `images` or complete, with the source's trees.
# At the end a retry of the load succeeds, gc leaves tmp/ empty and fsck
# is clean.
# Part 2, CRASH_CTR_ITERS times: kill -9 `commit` of a container with a few
# MB of changes (4 MiB of new data, 300 new files, 40 deletions, 40
# copy-ups), `create`, `rmi` of the committed image and `gc`, each at a
# random instant of its measured duration (a bash timer: these take tens
# of ms). After each kill the same checks, plus: no stray ref in
# index.json, every container dir complete; a container of A (or of the
# committed C, when listed) mounted with `layerctl mount` reads what it
# should (C: what the committed container reads); a killed commit and a
# killed create run again to success.
# The last line sums up the kills per command and where they landed.
#
#   CRASH_ITERS      load iterations (default 30; CI wants at least 25)
#   CRASH_CTR_ITERS  commit/create iterations (default 8)
#   CRASH_SEED    seed of $RANDOM, to replay a run (default: random, printed)
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=storelib.sh
. "$(dirname "${BASH_SOURCE[0]}")/storelib.sh"
need_root
need_cmd python3 tar sha256sum awk

[ -n "$LAYERCTL" ] || fail "LAYERCTL is not set (meson sets it; or LAYERCTL=/path/to/layerctl)"
LAYERCTL=$(realpath "$LAYERCTL")
CRASH_ITERS=${CRASH_ITERS:-30}
CRASH_SEED=${CRASH_SEED:-$((RANDOM * 32768 + RANDOM))}
RANDOM=$CRASH_SEED
umask 022

S=$T/store
lc() { "$LAYERCTL" --root "$S" "$@"; }

# ---- the images -----------------------------------------------------------

# A = base + a1; B = base + b1 + b2 (base is shared: loading B finds it);
# the bare source is b1 alone. About 100 MB of layers for B.
python3 "$SRCDIR/tests/integ/storeimg.py" "$T/src/img" "$T/src/bare" '{
  "layers": {
    "base": {"big": 1, "big_mb": 16, "files": 1500},
    "a1":   {"files": 400, "whiteouts": ["base/d001/f00001"]},
    "b1":   {"big": 2, "big_mb": 20, "files": 2000},
    "b2":   {"big": 1, "big_mb": 16, "files": 1000,
             "whiteouts": ["base/big0.bin", "base/d002/f00002"]}},
  "images": {"A": ["base", "a1"], "B": ["base", "b1", "b2"]}}'
(cd "$T/src/img" && tar -cf "$T/src/img.tar" oci-layout index.json blobs)

# The source's tree of each layer (tar's extraction), by diffID hex.
declare -A tree=()
for l in base a1 b1 b2; do
	hex=$(diff_id "$l")
	mkdir "$T/x"
	tar -xzpf "$T/src/bare/$l.tar.gz" -C "$T/x" --numeric-owner
	tree[$hex]=$(describe "$T/x")
	rm -rf "$T/x"
done
A_LAYERS="$(diff_id base) $(diff_id a1)"
B_LAYERS="$(diff_id base) $(diff_id b1) $(diff_id b2)"
BB_LAYERS=$(diff_id b1)

# ---- checks ---------------------------------------------------------------

now() { printf '%s' "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }'; }
# A random time in [$1 * $2, $1 * $3] seconds, 3 decimals.
rand_time() { awk -v m="$1" -v a="$2" -v b="$3" -v r="$RANDOM" 'BEGIN { printf "%.3f", m * (a + (b - a) * r / 32767) }'; }

entries() { find "$1" -mindepth 1 -maxdepth 1 -printf '%P\n' | LC_ALL=C sort; }
nentries() { find "$1" -mindepth 1 -maxdepth 1 -printf . | wc -c; }
refs() { lc images --json | python3 -c 'import json,sys; print(" ".join(sorted(i["ref"] for i in json.load(sys.stdin))))'; }
# (in a condition set -e is off: say it when images fails)
has_ref()
{
	local r

	r=$(refs) || fail "layerctl images failed"
	case " $r " in *" $1 "*) return 0 ;; esac
	return 1
}
layers_of() { lc inspect --json "$1" | python3 -c 'import json,sys; print(" ".join(l["diff_id"][7:] for l in json.load(sys.stdin)["layers"]))'; }

# Has gc something to remove?
has_garbage()
{
	local j

	j=$(lc gc --dry-run --json) || fail "gc --dry-run failed"
	python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(not (d["blobs"] or d["layers"] or d["tmp"]))' <<<"$j"
}

check_trees() # WHAT "HEX..."
{
	local hex

	for hex in $2; do
		[ -d "$S/layers/$hex/diff" ] || fail "$1: layer $hex is missing"
		assert_eq "$(describe "$S/layers/$hex/diff")" "${tree[$hex]}" \
			"$1: the tree of layer $hex"
	done
}

# check_store WHEN: the invariants that must hold whatever was killed.
check_store()
{
	local when=$1 out d bad r

	if ! out=$(lc fsck 2>&1); then
		printf '%s\n' "$out" >&2
		fail "$when: fsck found problems"
	fi
	has_ref A || fail "$when: image A is gone (images: $(refs))"
	assert_eq "$(lc inspect --json A)" "$A_INSPECT" "$when: inspect --json A"
	check_trees "$when: A" "$A_LAYERS"
	for d in "$S"/layers/*; do
		[ -e "$d" ] || continue
		[[ ${d##*/} =~ ^[0-9a-f]{64}$ ]] || fail "$when: stray entry $d"
		if [ ! -d "$d/diff" ] || [ ! -f "$d/layer.json" ] ||
			[ ! -f "$d/manifest" ]; then
			fail "$when: incomplete layer $d: $(entries "$d")"
		fi
	done
	bad=$(cd "$S/blobs/sha256" && find . -type f -printf '%P\0' |
		xargs -0r sha256sum | awk '$1 != $2 { print $2 }')
	[ -z "$bad" ] || fail "$when: blobs whose content is not their name: $bad"
	for r in $(refs); do
		case "$r" in
		A) ;;
		B)
			assert_eq "$(layers_of B)" "$B_LAYERS" "$when: B's layers"
			check_trees "$when: B" "$B_LAYERS"
			;;
		Bbare)
			assert_eq "$(layers_of Bbare)" "$BB_LAYERS" "$when: Bbare's layers"
			check_trees "$when: Bbare" "$BB_LAYERS"
			;;
		C) # the commit of the container "work" (part 2)
			assert_eq "$(lc inspect --json C)" "$C_INSPECT" "$when: inspect --json C"
			;;
		*) fail "$when: unexpected image '$r'" ;;
		esac
	done
	# index.json: only these refs, each one's manifest blob present
	bad=$(python3 -c '
import json, os, sys
for m in json.load(open(sys.argv[1] + "/index.json"))["manifests"]:
    r = m.get("annotations", {}).get("org.opencontainers.image.ref.name")
    if r not in ("A", "B", "Bbare", "C") or not os.path.isfile(
            sys.argv[1] + "/blobs/sha256/" + m["digest"][7:]):
        print(r, m["digest"])' "$S") || fail "$when: cannot read index.json"
	[ -z "$bad" ] || fail "$when: stray refs in index.json: $bad"
	# containers: whole or absent
	for d in "$S"/containers/*; do
		[ -e "$d" ] || continue
		if [ ! -f "$d/container.json" ] || [ ! -d "$d/upper" ] ||
			[ ! -d "$d/work" ] || [ ! -d "$d/init/etc" ]; then
			fail "$when: incomplete container $d: $(entries "$d")"
		fi
	done
}

# ---- the "before" state and the calibration -------------------------------

lc load -q oci:"$T/src/img:A" >/dev/null
A_INSPECT=$(lc inspect --json A)
check_store "after loading A"

SRC_NAME=(oci archive bare)
SRC_ARGS=("oci:$T/src/img:B" "oci-archive:$T/src/img.tar:B" "$T/src/bare/b1.tar.gz")
SRC_TAG=(B B Bbare)
declare -a cal=()
t_rmi=0
for k in 0 1 2; do
	t0=$(now)
	lc load -q --tag "${SRC_TAG[k]}" "${SRC_ARGS[k]}" >/dev/null
	cal[k]=$(since "$t0")
	check_store "after a full load ($k)"
	t0=$(now)
	lc rmi "${SRC_TAG[k]}" >/dev/null
	t=$(since "$t0")
	t_rmi=$(awk -v a="$t_rmi" -v b="$t" 'BEGIN { print (b > a) ? b : a }')
	lc gc >/dev/null
done
note "seed $CRASH_SEED; full loads: oci ${cal[0]}s, archive ${cal[1]}s, bare ${cal[2]}s; rmi ${t_rmi}s"

# ---- the kills ------------------------------------------------------------

t_gc=0.1 gc_sum=0 gc_n=0 # t_gc: the mean time of the gc runs below
C_INSPECT= # image C (part 2)
declare -A phases=()
kills_load=0 kills_gc=0 kills_rmi=0
kill_log=()

# killer.py PID START ROOT MODE ARG SEED: kill -9 PID, START being its
# start ($EPOCHREALTIME), and print "killed T" or, when it ended first,
# "ended T" (T: seconds since START, to 1 ms). MODE is
#   at       at ARG seconds;
#   publish  0 to ARG seconds after a new entry shows in ROOT/blobs/sha256
#            or ROOT/layers (a load publishes);
#   change   0 to ARG seconds after anything changes in those or in
#            ROOT/tmp two levels deep (gc or rmi at work).
cat >"$T/killer.py" <<'EOF2'
import os, random, signal, sys, time
pid, start, root, mode, arg = sys.argv[1:6]
pid, start, arg = int(pid), float(start), float(arg)
random.seed(sys.argv[6])

def alive():
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:  # ENOENT, or ESRCH when it goes while we read
        return False

def names(d):
    try:
        return os.listdir(d)
    except OSError:  # gone, or a file (tmp/ holds both)
        return []

def sig():
    r = [len(names(root + "/blobs/sha256")), len(names(root + "/layers"))]
    if mode == "change":
        for e in sorted(names(root + "/tmp")):
            r += [e] + sorted(names(root + "/tmp/" + e))
    return r

first = sig() if mode != "at" else None
when = start + arg if mode == "at" else None
while True:
    now = time.time()
    if not alive():
        print("ended %.3f" % (now - start))
        break
    if when is None and sig() != first:
        when = now + random.uniform(0, arg)
    if when is not None and now >= when:
        try:
            os.kill(pid, signal.SIGKILL)
            print("killed %.3f" % (now - start))
        except ProcessLookupError:  # it ended, and the shell reaped it
            print("ended %.3f" % (now - start))
        break
    if now > start + 300:
        sys.exit("killer.py: %d still running after 300 s" % pid)
    time.sleep(0.001 if mode == "at" else 0.0002)
EOF2

# kill_at WHAT MODE ARG CMD...: run CMD in the background, and kill -9 it
# (killer.py MODE ARG) unless it ends first. Sets KILLED (1 or 0) and
# KILL_T: when it was killed, or ended, in seconds.
kill_at()
{
	local what=$1 mode=$2 arg=$3 pid st=0 t0 out
	shift 3

	t0=$EPOCHREALTIME
	lfs_bg "$@" >/dev/null 2>"$T/bg.err"
	pid=$LFS_BG_PID
	out=$(python3 "$T/killer.py" "$pid" "$t0" "$S" "$mode" "$arg" "$RANDOM")
	{ wait "$pid"; } 2>/dev/null || st=$?
	lfs_forget "$pid"
	KILL_T=${out#* }
	# "killed": but it may have ended just before the signal
	if [ "$st" -eq 137 ]; then
		KILLED=1
		return 0
	fi
	KILLED=0
	[ "$st" -eq 0 ] || fail "$what ended with status $st: $(cat "$T/bg.err")"
}

# Where was the load when it died? Compares with the snapshot taken
# before it started.
load_phase()
{
	local tag=$1 stage nb nl nm

	if has_ref "$tag"; then
		echo tagged
		return
	fi
	if [ "$(nentries "$S/blobs/sha256") $(nentries "$S/layers")" != "$pre_counts" ]; then
		echo publish
		return
	fi
	stage=$(comm -13 <(printf '%s\n' "$pre_tmp") <(entries "$S/tmp") | grep '^load-' | head -n 1 || true)
	if [ -z "$stage" ]; then
		echo startup
		return
	fi
	nb=$(find "$S/tmp/$stage/blobs" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
	nl=$(find "$S/tmp/$stage/layers" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
	nm=$(find "$S/tmp/$stage/layers" -mindepth 2 -maxdepth 2 -name manifest 2>/dev/null | wc -l)
	if [ "$nb$nl" = 00 ] && [ -d "$S/tmp/$stage/src" ]; then
		echo extract
	else
		# blobs staged, layers being unpacked, layers complete
		echo "stage:${nb}b${nl}l${nm}m"
	fi
}

t_start=$SECONDS
for ((i = 1; i <= CRASH_ITERS; i++)); do
	k=$((i % 3))
	tag=${SRC_TAG[k]}
	pre_tmp=$(entries "$S/tmp")
	pre_counts="$(nentries "$S/blobs/sha256") $(nentries "$S/layers")"
	# when to kill, in turn for each source: anywhere in the load; in its
	# last quarter; as it publishes (publish and tag are short)
	# (the full load's time is a running estimate: the machine's load
	# changes; publish and tag take a few ms at the end)
	case $(((i - 1) / 3 % 3)) in
	0) aim=anywhere kmode=at karg=$(rand_time "${cal[k]}" 0 1) ;;
	1) aim=late kmode=at karg=$(rand_time "${cal[k]}" 0.7 1) ;;
	2) aim=at-publish kmode=publish karg=0.0005 ;;
	esac
	kill_at "load ${SRC_NAME[k]}" "$kmode" "$karg" \
		"$LAYERCTL" --root "$S" load -q --tag "$tag" "${SRC_ARGS[k]}"
	if [ "$KILLED" -eq 1 ]; then
		kills_load=$((kills_load + 1))
		ph=$(load_phase "$tag")
	else
		ph=finished
		has_ref "$tag" || fail "iteration $i: the load ended well but '$tag' is not listed"
		cal[k]=$(awk -v a="${cal[k]}" -v b="$KILL_T" 'BEGIN { printf "%.3f", (a + b) / 2 }')
	fi
	phases[${ph%%:*}]=$((${phases[${ph%%:*}]:-0} + 1))
	if [ "$KILLED" -eq 1 ]; then
		what="load ${SRC_NAME[k]} killed at ${KILL_T}s"
	else
		what="load ${SRC_NAME[k]} ended at ${KILL_T}s, not killed"
	fi
	what+=" (aimed $aim; full load ~${cal[k]}s)"
	kill_log+=("$i:load-${SRC_NAME[k]}@${KILL_T}/$aim=$ph")
	note "iteration $i: $what: $ph"
	check_store "iteration $i, $what: $ph"

	# every 4th: kill rmi of a complete image
	rmi_killed=0
	if [ $((i % 4)) -eq 0 ]; then
		has_ref "$tag" || lc load -q --tag "$tag" "${SRC_ARGS[k]}" >/dev/null
		# half the time anywhere, half once it has begun to remove
		if [ $((i % 8)) -eq 0 ]; then
			kill_at "rmi $tag" change 0.03 "$LAYERCTL" --root "$S" rmi "$tag"
		else
			kill_at "rmi $tag" at "$(rand_time "$t_rmi" 0 1)" \
				"$LAYERCTL" --root "$S" rmi "$tag"
		fi
		if [ "$KILLED" -eq 1 ]; then
			kills_rmi=$((kills_rmi + 1)) rmi_killed=1
			kill_log+=("$i:rmi@${KILL_T}")
			note "iteration $i: rmi killed at ${KILL_T}s"
		else
			kill_log+=("$i:rmi@${KILL_T}=finished")
			note "iteration $i: rmi finished in ${KILL_T}s, not killed"
		fi
		check_store "iteration $i, rmi killed at ${KILL_T}s"
	fi
	# every 5th, and after a killed rmi: kill gc as it removes garbage
	if { [ $((i % 5)) -eq 0 ] || [ "$rmi_killed" -eq 1 ]; } && has_garbage; then
		kill_at gc at "$(rand_time "$t_gc" 0 1.2)" "$LAYERCTL" --root "$S" gc
		if [ "$KILLED" -eq 1 ]; then
			kills_gc=$((kills_gc + 1))
			kill_log+=("$i:gc@${KILL_T}")
			note "iteration $i: gc killed at ${KILL_T}s"
		else
			kill_log+=("$i:gc@${KILL_T}=finished")
			note "iteration $i: gc finished in ${KILL_T}s, not killed"
		fi
		check_store "iteration $i, gc killed at ${KILL_T}s"
	fi
	# back to a store without B, so that the next load unpacks again;
	# every 4th time from the 2nd, keep the leftovers for the next load
	if has_ref "$tag"; then
		lc rmi "$tag" >/dev/null
	fi
	if [ $((i % 4)) -ne 2 ]; then
		t0=$(now)
		lc gc >/dev/null
		gc_sum=$(awk -v a="$gc_sum" -v b="$(since "$t0")" 'BEGIN { print a + b }')
		gc_n=$((gc_n + 1))
		t_gc=$(awk -v a="$gc_sum" -v n="$gc_n" 'BEGIN { printf "%.3f", a / n }')
	fi
done
t_loop=$((SECONDS - t_start))

# ---- the end: a retry works, gc cleans up everything ------------------------

lc load -q oci:"$T/src/img:B" >/dev/null
lc load -q --tag Bbare "$T/src/bare/b1.tar.gz" >/dev/null
check_store "after the final loads"
has_ref B || fail "B is not listed after the final load"
has_ref Bbare || fail "Bbare is not listed after the final load"
lc gc >/dev/null
if ! out=$(lc fsck 2>&1); then
	printf '%s\n' "$out" >&2
	fail "fsck after the final gc"
fi
assert_eq "$(entries "$S/tmp")" "" "tmp/ after the final gc"
check_store "at the end"

# ---- part 2: commit and create killed ------------------------------------

# kill_fast WHAT DELAY CMD...: run CMD in the background and kill -9 it
# DELAY seconds later, unless it ended; all in bash (killer.py takes
# longer to start than create, gc or rmi of a small image take to run).
# Sets KILLED and KILL_T as kill_at does. With DELAY "never": no kill,
# KILL_T is how long CMD took.
exec {SLEEPFD}<> <(:)
kill_fast()
{
	local what=$1 delay=$2 pid st=0 t0
	shift 2

	t0=$EPOCHREALTIME
	lfs_bg "$@" >/dev/null 2>"$T/bg.err"
	pid=$LFS_BG_PID
	if [ "$delay" != never ]; then
		read -r -t "$delay" -u "$SLEEPFD" || true
		kill -KILL "$pid" 2>/dev/null || true
	fi
	{ wait "$pid"; } 2>/dev/null || st=$?
	lfs_forget "$pid"
	KILL_T=$(since "$t0")
	if [ "$st" -eq 137 ]; then
		KILLED=1
		return 0
	fi
	KILLED=0
	[ "$st" -eq 0 ] || fail "$what ended with status $st: $(cat "$T/bg.err")"
}


# A container "work" of A with a few MB of changes, made through its
# mount: commit turns its upper layer into image C. With a fixed
# --timestamp the same upper gives the same C (inspect --json C_INSPECT).
TS=1700000000
M=$T/mnt
mkdir -p "$M"

# view DIR: describe DIR, less the init files that name the container
view()
{
	(
		cd "$1" || exit
		find . -mindepth 1 \( -path ./etc/hostname -o -path ./etc/hosts \) \
			-prune -o -printf '%P %y %m %U:%G %s %n %l\n' | LC_ALL=C sort
		find . \( -path ./etc/hostname -o -path ./etc/hosts \) -prune \
			-o -type f -exec sha256sum {} + | LC_ALL=C sort -k2
	) | sha256sum
}

# ctr_view ID: the view of container ID through its layerctl mount
ctr_view()
{
	lc mount "$1" "$M" >/dev/null
	view "$M"
	lc umount "$M" >/dev/null
}

# image_view REF: the view of a new container of REF (then removed)
image_view()
{
	local id

	id=$(lc create "$1") || fail "create a container of $1"
	ctr_view "$id"
	lc rm "$id" >/dev/null
}

lc create --name work A >/dev/null
lc mount work "$M" >/dev/null
python3 - "$M" <<'EOF'
import os, random, sys
m, r = sys.argv[1], random.Random(9)
os.makedirs(m + "/changes/sub")
for i in range(4):  # incompressible: the commit's zstd has work to do
    with open(f"{m}/changes/big{i}", "wb") as f:
        f.write(r.randbytes(1 << 20))
for i in range(300):
    with open(f"{m}/changes/sub/s{i}", "wb") as f:
        f.write(r.randbytes(r.randrange(0, 3000)))
files = sorted(os.path.join(d, n) for d, _, ns in os.walk(m + "/base") for n in ns)
for p in files[:40]:  # deletions: whiteouts in the layer
    os.unlink(p)
for p in files[40:80]:  # changes to lower files: copy-ups
    with open(p, "ab") as f:
        f.write(b"changed\n")
os.chmod(files[80], 0o600)
EOF
W_VIEW=$(view "$M")
lc umount "$M" >/dev/null
A_VIEW=$(image_view A)
assert_ne "$A_VIEW" "$W_VIEW" "the work container has changes"

kill_fast "commit" never "$LAYERCTL" --root "$S" commit -q --timestamp "$TS" work C
t_commit=$KILL_T
C_INSPECT=$(lc inspect --json C)
check_store "after the first commit"
assert_eq "$(image_view C)" "$W_VIEW" "a container of C reads what work had"
kill_fast "rmi C" never "$LAYERCTL" --root "$S" rmi C
t_rmic=$KILL_T
kill_fast gc never "$LAYERCTL" --root "$S" gc
t_gc2=$KILL_T
kill_fast create never "$LAYERCTL" --root "$S" create --name probe A
t_create=$KILL_T
lc rm probe >/dev/null
note "commit ${t_commit}s, create ${t_create}s, rmi C ${t_rmic}s, gc ${t_gc2}s"

# kill_rand WHAT T LO HI CMD...: kill_fast at a random instant of
# [LO T, HI T]
kill_rand()
{
	local what=$1 t=$2 lo=$3 hi=$4
	shift 4

	kill_fast "$what" "$(rand_time "$t" "$lo" "$hi")" "$@"
	if [ "$KILLED" -eq 1 ]; then
		kill_log+=("$i:$what@${KILL_T}")
	else
		kill_log+=("$i:$what@${KILL_T}=finished")
	fi
}

# ctr_phase [REF]: where a killed create (or commit of REF) was: "done"
# (listed), "staged" (tmp/ has an entry it had not in $pre_tmp), "none"
ctr_phase()
{
	if { [ -n "${1:-}" ] && has_ref "$1"; } ||
		{ [ -z "${1:-}" ] && [ -d "$S/containers/k$i" ]; }; then
		echo "done"
	elif [ -n "$(comm -13 <(printf '%s\n' "$pre_tmp") <(entries "$S/tmp"))" ]; then
		echo staged
	else
		echo none
	fi
}

CTR_ITERS=${CRASH_CTR_ITERS:-8}
kills_commit=0 kills_create=0 t_start2=$SECONDS
for ((i = 1; i <= CTR_ITERS; i++)); do
	pre_tmp=$(entries "$S/tmp")
	# anywhere; every 3rd as it publishes (killer.py: its start takes
	# about half of the commit)
	if [ $((i % 3)) -eq 0 ]; then
		kill_at commit publish 0.002 "$LAYERCTL" --root "$S" commit -q \
			--timestamp "$TS" work C
		kill_log+=("$i:commit@${KILL_T}/at-publish$([ "$KILLED" -eq 1 ] || echo "=finished")")
	else
		kill_rand commit "$t_commit" 0 1.2 "$LAYERCTL" --root "$S" commit -q \
			--timestamp "$TS" work C
	fi
	kills_commit=$((kills_commit + KILLED))
	[ "$KILLED" -eq 0 ] || kill_log[-1]+="=$(ctr_phase C)"
	check_store "part 2, iteration $i, commit killed at ${KILL_T}s"
	# A and (when listed) C still make containers that read right;
	# the killed commit runs again to success
	if has_ref C; then
		assert_eq "$(image_view C)" "$W_VIEW" "iteration $i: a container of C after the kill"
	else
		assert_eq "$(image_view A)" "$A_VIEW" "iteration $i: a container of A after the commit's kill"
		lc commit -q --timestamp "$TS" work C >/dev/null
	fi
	if [ $((i % 4)) -eq 0 ]; then
		assert_eq "$(ctr_view work)" "$W_VIEW" "iteration $i: the container work"
	fi

	pre_tmp=$(entries "$S/tmp")
	# (create is short: its first part is the program's start, and it
	# often ends before its mean time)
	kill_rand create "$t_create" 0.3 0.9 "$LAYERCTL" --root "$S" create --name "k$i" A
	kills_create=$((kills_create + KILLED))
	# the running estimate of its duration (it varies with the load)
	if [ "$KILLED" -eq 0 ]; then
		t_create=$(awk -v a="$t_create" -v b="$KILL_T" 'BEGIN { printf "%.4f", (a + b) / 2 }')
	fi
	[ "$KILLED" -eq 0 ] || kill_log[-1]+="=$(ctr_phase)"
	check_store "part 2, iteration $i, create killed at ${KILL_T}s"
	if [ -d "$S/containers/k$i" ]; then
		lc ps --json | grep -q "\"id\":\"k$i\"" || fail "iteration $i: k$i is not listed"
	else
		lc create --name "k$i" A >/dev/null # the re-run
	fi
	if [ $((i % 2)) -eq 0 ]; then
		assert_eq "$(ctr_view "k$i")" "$A_VIEW" "iteration $i: container k$i after the kill of its create"
	fi
	lc rm "k$i" >/dev/null

	# rmi C and gc, killed
	kill_rand "rmi C" "$t_rmic" 0 1.2 "$LAYERCTL" --root "$S" rmi C
	kills_rmi=$((kills_rmi + KILLED))
	if has_ref C; then
		lc rmi C >/dev/null
	fi
	if has_garbage; then
		kill_rand gc "$t_gc2" 0 1.2 "$LAYERCTL" --root "$S" gc
		kills_gc=$((kills_gc + KILLED))
	fi
	check_store "part 2, iteration $i, rmi C and gc killed"
	lc gc >/dev/null
done
t_loop2=$((SECONDS - t_start2))
lc commit -q --timestamp "$TS" work C >/dev/null
assert_eq "$(image_view C)" "$W_VIEW" "a container of C at the end"
lc rm work >/dev/null
lc gc >/dev/null
check_store "at the end of part 2"
assert_eq "$(entries "$S/tmp")" "" "tmp/ at the end of part 2"

summary=""
for p in startup extract stage publish tagged finished; do
	summary+=" $p=${phases[$p]:-0}"
done
note "kills: ${kill_log[*]}"
echo "t-store-crash: ok: $CRASH_ITERS load iterations in ${t_loop}s and" \
	"$CTR_ITERS commit/create iterations in ${t_loop2}s (seed $CRASH_SEED)," \
	"$((kills_load + kills_commit + kills_create + kills_gc + kills_rmi)) kills survived" \
	"(load $kills_load, commit $kills_commit, create $kills_create, gc $kills_gc, rmi $kills_rmi);" \
	"load phases:$summary; commit ${t_commit}s, create ${t_create}s;" \
	"full load at the end ~oci ${cal[0]}s archive ${cal[1]}s bare ${cal[2]}s, rmi ${t_rmi}s, gc ${t_gc}s"
