#!/usr/bin/env bash
# layerctl diff and commit. A container made from a two-layer umoci image
# gets every kind of change through its mount; then:
#   * diff lists exactly those changes (A/C/D, parents first), text and JSON;
#   * the changeset tar (diff --tar, and the committed blob in zstd, gzip
#     and plain) follows the OCI layer rules, checked with python's tarfile;
#   * the committed image, as a new container and as umoci unpacks it, has
#     the same tree as the container had (treefp.py fingerprints);
#   * a commit while a writer runs is a point-in-time view (no torn file,
#     no mix of instants);
#   * the same upper gives the same layer; --timestamp / SOURCE_DATE_EPOCH
#     give the same manifest and clamp every mtime;
#   * the init layer (/etc/hostname, hosts, resolv.conf) is never committed;
#   * --change/--message/--author land in the config;
#   * bad input fails with a message and leaves the store as it was.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_root
need_fuse
need_cmd python3 umoci zstd gzip setfattr getfattr mkfifo

S=$T/store
lc() { "$LAYERCTL" --root "$S" "$@"; }
export LAYERFS
TS=1700000000 # 2023-11-14T22:13:20Z
# A valid VFS_CAP_REVISION_2 value: cap_net_raw, effective.
CAP=0x0100000200200000000000000000000000000000

# The init layer's files: each container has its own, never committed.
INIT_FILES=(etc/hostname etc/hosts etc/resolv.conf)

# fp DIR: the fingerprint of a container's tree (see treefp.py), without
# the init layer's files.
fp()
{
	local x=() f

	for f in "${INIT_FILES[@]}"; do
		x+=(--exclude "$f")
	done
	python3 "$SRCDIR/tests/integ/treefp.py" "${x[@]}" "$1"
}

# same_tree A B MSG: A and B have the same fingerprint; show how not.
same_tree()
{
	fp "$1" >"$T/fp.a"
	fp "$2" >"$T/fp.b"
	diff -u "$T/fp.a" "$T/fp.b" >&2 || fail "$3 ($1 vs $2)"
}

# js FILE EXPR: a python expression over the JSON document d in FILE.
js()
{
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(v if isinstance(v, str) else json.dumps(v))' "$1" "$2"
}

blob() { printf '%s/blobs/sha256/%s' "$S" "${1#sha256:}"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

# manifest/config/layer facts of an image in the store.
man_of() { lc inspect --json "$1" >"$T/insp.json" && js "$T/insp.json" 'd["manifest"]'; }
cfg_of() { lc inspect --json "$1" >"$T/insp.json" && js "$T/insp.json" 'd["config"]'; }
# top_layer REF OUT.tar: its top layer blob, decompressed, checked against
# its digest, size and diffID; sets LAYER_MT to the layer's media type.
top_layer()
{
	local m mt dg

	m=$(man_of "$1")
	mt=$(js "$(blob "$m")" 'd["layers"][-1]["mediaType"]')
	dg=$(js "$(blob "$m")" 'd["layers"][-1]["digest"]')
	[ "$(sha "$(blob "$dg")")" = "${dg#sha256:}" ] ||
		fail "$1: layer blob $dg does not hash to its digest"
	assert_eq "$(stat -c %s "$(blob "$dg")")" \
		"$(js "$(blob "$m")" 'd["layers"][-1]["size"]')" "$1: layer size"
	case "$mt" in
	*+zstd) zstd -q -d -c "$(blob "$dg")" >"$2" ;;
	*+gzip) gzip -d -c "$(blob "$dg")" >"$2" ;;
	*) cat "$(blob "$dg")" >"$2" ;;
	esac
	assert_eq "sha256:$(sha "$2")" \
		"$(js "$(blob "$(cfg_of "$1")")" 'd["rootfs"]["diff_ids"][-1]')" \
		"$1: the uncompressed top layer hashes to its diffID"
	LAYER_MT=$mt
}

# ---- the tar rules, with python's tarfile ---------------------------------
# tarcheck.py TAR [c1]: the OCI layer rules for any tar we produce; with
# "c1" also what the scripted changes of container c1 must give.
cat >"$T/tarcheck.py" <<'EOF'
import hashlib, os, sys, tarfile

path, scen = sys.argv[1], sys.argv[2:]
errs = []
def err(m):
    errs.append(m)
def norm(n):
    while n.startswith("./"):
        n = n[2:]
    return n.strip("/")

PRIV = ("trusted.overlay.", "user.overlay.", "user.layerfs.",
        "user.containers.override_stat")
raw = open(path, "rb").read()
tf = tarfile.open(path, "r:")
ms = tf.getmembers()
seen = {}          # name -> member, in tar order
for m in ms:
    n = norm(m.name)
    hdr = raw[m.offset:m.offset + 512]
    if hdr[257:265] != b"ustar\x0000":
        err(f"{n}: not a POSIX ustar/pax header (magic {hdr[257:265]!r})")
    if hdr[156:157] in (b"L", b"K"):
        err(f"{n}: GNU long-name header")
    if m.uname or m.gname:
        err(f"{n}: uname/gname '{m.uname}'/'{m.gname}' (want numeric only)")
    if not n or n.startswith("/") or ".." in n.split("/"):
        err(f"bad name {m.name!r}")
    if n in seen:
        err(f"{n}: twice in the tar")
    # every parent directory of a change is in the tar, before it
    parts = n.split("/")
    for k in range(1, len(parts)):
        p = "/".join(parts[:k])
        if p not in seen:
            err(f"{n}: parent {p} missing or after it")
        elif not seen[p].isdir():
            err(f"{n}: parent {p} is not a directory")
    base = parts[-1]
    if base.startswith(".wh."):
        if not (m.isreg() and m.mode == 0 and m.mtime == 0 and m.uid == 0
                and m.gid == 0 and m.size == 0):
            err(f"{n}: whiteout not a regular file with mode/mtime/uid/"
                f"gid/size 0: type {m.type!r} mode {m.mode:o} mtime "
                f"{m.mtime} {m.uid}:{m.gid} size {m.size}")
    if m.ischr() and m.devmajor == 0 and m.devminor == 0:
        err(f"{n}: overlay-style 0/0 character device whiteout")
    if m.islnk():
        t = norm(m.linkname)
        if t not in seen:
            err(f"{n}: hardlink to {t}, not an earlier name in the tar")
        elif not seen[t].isreg():
            err(f"{n}: hardlink to {t}, which is not a regular file")
    for k in m.pax_headers:
        for pre in ("SCHILY.xattr.", "LIBARCHIVE.xattr."):
            if k.startswith(pre):
                x = k[len(pre):]
                if x.startswith(PRIV) or not (x.startswith("user.") or
                                              x == "security.capability"):
                    err(f"{n}: xattr {x} must not be in a layer")
    seen[n] = m
# entries in lexical order (DESIGN 2), compared component by component
names = [norm(m.name) for m in ms]
keys = [tuple(n.encode().split(b"/")) for n in names]
for a, b, ka, kb in zip(names, names[1:], keys, keys[1:]):
    if ka > kb:
        err(f"not in lexical order: {a} before {b}")

def xa(n, name):
    m = seen.get(n)
    if m is None:
        return None
    return m.pax_headers.get("SCHILY.xattr." + name)

def want(n, what="present"):
    if n not in seen:
        err(f"{n}: missing ({what})")
        return None
    return seen[n]

if "c1" in scen:
    for f in ("etc/hostname", "etc/hosts", "etc/resolv.conf"):
        d, b = f.rsplit("/", 1)
        for x in (f, d + "/.wh." + b):
            if x in seen:
                err(f"{x}: the init layer is in the changeset")
    for w in ("data/.wh.delete.txt", ".wh.olddir", "usr/share/.wh.doc",
              "replace/.wh..wh..opq"):
        want(w, "a whiteout or opaque marker")
    for f in ("newdir/a", "newdir/b", "newdir/sub/x", "replace/new1",
              "replace/newsub/y", "newtop/f", "data/new.txt"):
        m = want(f, "a new file")
        if m and not (m.isreg() or m.islnk()):
            err(f"{f}: not a file")
    for d in ("newdir", "newdir/sub", "replace", "replace/newsub", "newtop"):
        m = want(d, "a directory")
        if m and not m.isdir():
            err(f"{d}: not a directory")
    if any(n.startswith("olddir/") for n in seen):
        err("content under the renamed olddir/ is in the tar")
    m = want("newdir/sym", "the renamed dir's symlink")
    if m and not (m.issym() and m.linkname == "a"):
        err("newdir/sym: not a symlink to a")
    m = want("newdir/b")
    if m and (m.uid, m.gid) != (7, 8):
        err(f"newdir/b: owner {m.uid}:{m.gid}, want 7:8")
    m = want("newdir/sub")
    if m and m.mode != 0o750:
        err(f"newdir/sub: mode {m.mode:o}, want 750")
    # a chmod'ed lower file carries its full data
    m = want("data/chmodme.bin", "chmod'ed lower file")
    if m:
        if not m.isreg() or m.mode != 0o600:
            err(f"data/chmodme.bin: type {m.type!r} mode {m.mode:o}")
        elif hashlib.sha256(tf.extractfile(m).read()).hexdigest() != \
                os.environ["CHMOD_SHA"]:
            err("data/chmodme.bin: content is not the lower file's")
    m = want("data/chownme.txt", "chown'ed lower file")
    if m and ((m.uid, m.gid) != (1234, 5678) or
              tf.extractfile(m).read() != b"chownme\n"):
        err(f"data/chownme.txt: {m.uid}:{m.gid} or content wrong")
    want("data/capme.txt")
    if xa("data/capme.txt", "security.capability") is None:
        err("data/capme.txt: no security.capability xattr")
    want("data/xattrme.txt")
    if xa("data/xattrme.txt", "user.foo") != "bar":
        err("data/xattrme.txt: user.foo is not 'bar'")
    if xa("data/xattrme.txt", "user.lower") != "v1":
        err("data/xattrme.txt: lost its lower xattr user.lower")
    if xa("newtop/f", "user.new") != "1":
        err("newtop/f: no user.new xattr")
    m = want("data/fifo")
    if m and not m.isfifo():
        err("data/fifo: not a fifo")
    m = want("data/sym")
    if m and not (m.issym() and m.linkname == "../etc/motd"):
        err("data/sym: not a symlink to ../etc/motd")
    for a, b in (("data/hl-a", "data/hl-b"), ("data/keep-hl", "data/keep.txt")):
        ma, mb = want(a), want(b)
        if ma and mb:
            pair = {(norm(x.name), x.islnk() and norm(x.linkname))
                    for x in (ma, mb)}
            if not ((a, b) in pair or (b, a) in pair):
                err(f"{a} and {b}: not one file and a hardlink to it")
for e in errs:
    print("tar rule:", e)
sys.exit(1 if errs else 0)
EOF

# tarcheck TAR [c1]: fail with the broken rules.
tarcheck()
{
	python3 "$T/tarcheck.py" "$@" >"$T/tarcheck.out" 2>&1 || {
		cat "$T/tarcheck.out" >&2
		fail "$1 breaks the layer tar rules"
	}
}

# ---- the image: two layers built with umoci ------------------------------
note "building the image"
umoci init --layout "$T/img" >/dev/null
umoci new --image "$T/img:base" >/dev/null
umoci config --image "$T/img:base" --config.env PATH=/usr/bin:/bin \
	--config.env A=1 --config.cmd /bin/sh --config.workingdir / >/dev/null
umoci unpack --image "$T/img:base" "$T/b" >/dev/null
r=$T/b/rootfs
mkdir -p "$r"/{etc,proc,sys,dev,usr/bin,usr/share/doc,data,olddir/sub,replace/sub}
echo hello >"$r/etc/motd"
echo tool >"$r/usr/bin/tool"
chmod 0755 "$r/usr/bin/tool"
echo gone >"$r/usr/bin/gone"
echo readme >"$r/usr/share/doc/readme"
for f in keep modify delete chownme capme xattrme; do
	echo "$f" >"$r/data/$f.txt"
done
head -c 200000 /dev/urandom >"$r/data/chmodme.bin"
chmod 0644 "$r/data/chmodme.bin"
echo pair >"$r/data/link1"
ln "$r/data/link1" "$r/data/link2"
echo pair3 >"$r/data/pair3a"
ln "$r/data/pair3a" "$r/data/pair3b"
setfattr -n user.lower -v v1 "$r/data/xattrme.txt"
echo a >"$r/olddir/a"
echo b >"$r/olddir/b"
chown 7:8 "$r/olddir/b"
echo x >"$r/olddir/sub/x"
chmod 0750 "$r/olddir/sub"
ln -s a "$r/olddir/sym"
echo 1 >"$r/replace/old1"
echo 2 >"$r/replace/old2"
echo 3 >"$r/replace/sub/old3"
# old mtimes, so that a file the container changes has another one and the
# round trip shows whether a copied-up file kept its lower mtime
find "$r" -exec touch -h -d @1600000000 {} +
umoci repack --image "$T/img:base" "$T/b" >/dev/null
rm -rf "$T/b"
umoci unpack --image "$T/img:base" "$T/b" >/dev/null
echo l2 >"$r/data/layer2.txt"
echo modify-l2 >"$r/data/modify.txt"
rm "$r/usr/bin/gone"
touch -d @1650000000 "$r/data/layer2.txt" "$r/data/modify.txt"
umoci repack --image "$T/img:base" "$T/b" >/dev/null
rm -rf "$T/b"
CHMOD_SHA=$(umoci unpack --image "$T/img:base" "$T/ub" >/dev/null &&
	sha "$T/ub/rootfs/data/chmodme.bin")
export CHMOD_SHA
for f in "${INIT_FILES[@]}"; do
	assert_not_exists "$T/ub/rootfs/$f" "the image must not have /$f"
done

lc load oci:"$T/img:base" >/dev/null
assert_eq "$(lc create --name c1 base)" c1 "create c1"
mkdir "$T/m1"
lc mount c1 "$T/m1"
same_tree "$T/m1" "$T/ub/rootfs" "a new container's view = umoci unpack"
d=$(lc diff c1)
assert_eq "$d" "" "a new container has no changes"

# ---- 1. every kind of change, through the mount ---------------------------
note "changing c1"
m=$T/m1
echo new >"$m/data/new.txt"
echo more >>"$m/data/modify.txt"
rm "$m/data/delete.txt"
chmod 0600 "$m/data/chmodme.bin"
chown 1234:5678 "$m/data/chownme.txt"
setfattr -n security.capability -v "$CAP" "$m/data/capme.txt"
setfattr -n user.foo -v bar "$m/data/xattrme.txt"
echo more >>"$m/data/link1"
echo hl >"$m/data/hl-a"
ln "$m/data/hl-a" "$m/data/hl-b"
ln "$m/data/keep.txt" "$m/data/keep-hl"
ln -s ../etc/motd "$m/data/sym"
ln -s nowhere "$m/data/dangling"
mkfifo "$m/data/fifo"
mkdir "$m/newtop"
echo f >"$m/newtop/f"
setfattr -n user.new -v 1 "$m/newtop/f"
mv "$m/olddir" "$m/newdir"
rm -rf "$m/replace"
mkdir "$m/replace"
echo n1 >"$m/replace/new1"
mkdir "$m/replace/newsub"
echo y >"$m/replace/newsub/y"
rm -rf "$m/usr/share/doc"
# the init layer: a write copies /etc/hosts up, a delete of a file only the
# init layer has leaves a whiteout in the upper; neither is a change
echo "127.0.0.1 c1" >>"$m/etc/hosts"
rm "$m/etc/resolv.conf"
assert_file "$S/containers/c1/upper/etc/hosts" "the write copied /etc/hosts up"
assert_exists "$S/containers/c1/upper/etc/.wh.resolv.conf" \
	"the delete left a whiteout in the upper"
assert_eq "$(getfattr --absolute-names --only-values -n user.foo "$m/data/xattrme.txt")" bar \
	"user.foo through the mount"

# What diff must say. A write to one name of a lower hardlink pair changes
# the other name too when the mount keeps the pair one inode.
expect="C /data
C /data/capme.txt
C /data/chmodme.bin
C /data/chownme.txt
A /data/dangling
D /data/delete.txt
A /data/fifo
A /data/hl-a
A /data/hl-b
A /data/keep-hl
C /data/keep.txt
C /data/link1
C /data/modify.txt
A /data/new.txt
A /data/sym
C /data/xattrme.txt
A /newdir
A /newdir/a
A /newdir/b
A /newdir/sub
A /newdir/sub/x
A /newdir/sym
A /newtop
A /newtop/f
D /olddir
C /replace
A /replace/new1
A /replace/newsub
A /replace/newsub/y
D /replace/old1
D /replace/old2
D /replace/sub
C /usr
C /usr/share
D /usr/share/doc"
if [ "$(stat -c %i "$m/data/link1")" = "$(stat -c %i "$m/data/link2")" ]; then
	note "the mount keeps the written lower hardlink pair one inode"
	expect+=$'\nC /data/link2'
else
	assert_file_text "$m/data/link2" pair "the other name of the pair"
fi

# ---- diff -----------------------------------------------------------------
note "diff"
lc diff c1 >"$T/diff.txt"
lc diff --json c1 >"$T/diff.json"
# the JSON form says the same, in the same order
python3 -c 'import json, sys
for c in json.load(open(sys.argv[1])):
    print(c["kind"], c["path"])' "$T/diff.json" >"$T/diff.json.txt"
diff -u "$T/diff.txt" "$T/diff.json.txt" >&2 ||
	fail "diff --json does not list what diff does"
# parents before children, each path once
python3 - "$T/diff.txt" <<'EOF' || fail "diff: order or duplicates"
import sys
lines = [l.rstrip("\n") for l in open(sys.argv[1])]
paths = {l.partition(" ")[2] for l in lines}
seen, bad = set(), 0
for l in lines:
    k, _, p = l.partition(" ")
    if k not in ("A", "C", "D") or not p.startswith("/") or p in seen:
        print("bad or repeated line:", l, file=sys.stderr)
        bad = 1
    parts = p.split("/")
    for i in range(2, len(parts)):
        q = "/".join(parts[:i])
        if q in paths and q not in seen:
            print(f"{p} before its parent {q}", file=sys.stderr)
            bad = 1
    seen.add(p)
sys.exit(bad)
EOF
for f in "${INIT_FILES[@]}"; do
	if grep -q " /$f\$" "$T/diff.txt"; then
		fail "diff lists the init layer's /$f"
	fi
done
grep -q '/\.wh\.' "$T/diff.txt" && fail "diff shows a whiteout name"
# The exact set; /replace (opaque now) may be A or C; /etc may show as C
# (its copied-up directory) but nothing in it may.
LC_ALL=C sort "$T/diff.txt" | sed -e 's|^A /replace$|C /replace|' |
	grep -v '^C /etc$' >"$T/diff.got" || true
printf '%s\n' "$expect" | LC_ALL=C sort >"$T/diff.want"
diff -u "$T/diff.want" "$T/diff.got" >&2 ||
	fail "diff: not the changes the test made (- expected, + got)"

# ---- 2. the changeset tar -------------------------------------------------
note "diff --tar"
lc diff --tar c1 >"$T/changes.tar"
tarcheck "$T/changes.tar" c1

# ---- commit while mounted; the round trip ---------------------------------
note "commit"
lc commit c1 snap >"$T/commit.out"
dig=$(cat "$T/commit.out")
[[ $dig =~ ^sha256:[0-9a-f]{64}$ ]] ||
	fail "commit prints the manifest digest, not '$dig'"
assert_eq "$(man_of snap)" "$dig" "commit's digest is snap's manifest"
top_layer snap "$T/snap.tar"
assert_eq "$LAYER_MT" application/vnd.oci.image.layer.v1.tar+zstd \
	"zstd by default"
tarcheck "$T/snap.tar" c1
cmp "$T/snap.tar" "$T/changes.tar" >/dev/null ||
	fail "the committed layer differs from diff --tar of the same upper"
lc inspect --json base >"$T/base.json"
lc inspect --json snap >"$T/snap.json"
assert_eq "$(js "$T/snap.json" 'd["layers"][:-1]')" "$(js "$T/base.json" 'd["layers"]')" \
	"snap = base's layers + one"
assert_eq "$(js "$T/snap.json" 'len(d["layers"])')" 3 "snap has 3 layers"
assert_eq "$(js "$(blob "$(cfg_of snap)")" 'd["config"]')" \
	"$(js "$(blob "$(cfg_of base)")" 'd["config"]')" \
	"a commit without --change keeps the image's config"

assert_eq "$(lc create --name c2 snap)" c2 "create c2 from the commit"
mkdir "$T/m2"
lc mount c2 "$T/m2"
same_tree "$T/m1" "$T/m2" "a container of the committed image = the container"
d=$(lc diff c2)
assert_eq "$d" "" "a container of the committed image has no changes"
for f in "${INIT_FILES[@]}"; do
	assert_eq "$(stat -c %s "$T/m2/$f")" 0 "c2's /$f is its own init file"
done
lc umount "$T/m2"

# other compressions: the same layer, another blob
for c in gzip none; do
	lc commit --json --compress "$c" c1 "snap-$c" >"$T/c-$c.json"
	assert_eq "$(js "$T/c-$c.json" 'd["ref"]')" "snap-$c" "--json ref"
	assert_eq "$(js "$T/c-$c.json" 'd["manifest"]')" "$(man_of "snap-$c")" \
		"--json manifest"
	assert_eq "$(js "$T/c-$c.json" 'd["config"]')" "$(cfg_of "snap-$c")" \
		"--json config"
	top_layer "snap-$c" "$T/snap-$c.tar"
	mt=$LAYER_MT
	assert_eq "$(js "$T/c-$c.json" 'd["layer"]["media_type"]')" "$mt" \
		"--json media_type"
	assert_eq "$(js "$T/c-$c.json" 'd["layer"]["diff_id"]')" \
		"sha256:$(sha "$T/snap.tar")" "--compress $c: the same diffID"
	dg=$(js "$T/c-$c.json" 'd["layer"]["digest"]')
	assert_eq "$(js "$T/c-$c.json" 'd["layer"]["size"]')" \
		"$(stat -c %s "$(blob "$dg")")" "--json size"
	cmp "$T/snap-$c.tar" "$T/snap.tar" >/dev/null ||
		fail "--compress $c: another tar for the same upper"
	case "$c" in
	gzip) assert_eq "$mt" application/vnd.oci.image.layer.v1.tar+gzip \
		"gzip media type" ;;
	none) assert_eq "$mt" application/vnd.oci.image.layer.v1.tar \
		"uncompressed media type"
		assert_eq "$dg" "sha256:$(sha "$T/snap.tar")" \
			"uncompressed: digest = diffID" ;;
	esac
done

# The committed image for umoci: the gzip one (the same layer tar, checked
# above), as umoci 0.4 cannot read zstd layers; save must write the zstd
# one all the same.
lc save snap oci:"$T/out:snap" >/dev/null
lc save snap-gzip oci:"$T/out:snap-gzip" >/dev/null
umoci unpack --image "$T/out:snap-gzip" "$T/ub2" >/dev/null
same_tree "$T/m1" "$T/ub2/rootfs" "umoci unpack of the committed image = the container"
for f in "${INIT_FILES[@]}"; do
	assert_not_exists "$T/ub2/rootfs/$f" "/$f of the init layer was committed"
done

# ---- 4. determinism -------------------------------------------------------
note "determinism"
lc commit c1 snap-again >/dev/null
assert_eq "$(js "$(blob "$(man_of snap-again)")" 'd["layers"][-1]')" \
	"$(js "$(blob "$(man_of snap)")" 'd["layers"][-1]')" \
	"the same upper, the same layer blob"
assert_eq "$(js "$(blob "$(cfg_of snap-again)")" 'd["rootfs"]')" \
	"$(js "$(blob "$(cfg_of snap)")" 'd["rootfs"]')" "the same diffIDs"
t1=$(lc commit --timestamp "$TS" c1 ts1)
t2=$(lc commit --timestamp "$TS" c1 ts2)
t3=$(SOURCE_DATE_EPOCH=$TS lc commit c1 ts3)
assert_eq "$t2" "$t1" "--timestamp twice: the same manifest"
assert_eq "$t3" "$t1" "SOURCE_DATE_EPOCH = --timestamp"
top_layer ts1 "$T/ts.tar"
tarcheck "$T/ts.tar" c1
python3 - "$T/ts.tar" "$TS" <<'EOF' || fail "--timestamp: mtimes not clamped"
import sys, tarfile
bad = [(m.name, m.mtime) for m in tarfile.open(sys.argv[1])
       if m.mtime > int(sys.argv[2])]
for b in bad:
    print("mtime after the timestamp:", *b, file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
cfg=$(blob "$(cfg_of ts1)")
assert_eq "$(js "$cfg" 'd["created"]')" 2023-11-14T22:13:20Z "config created"
assert_eq "$(js "$cfg" 'd["history"][-1]["created"]')" 2023-11-14T22:13:20Z \
	"history created"

# ---- 6. --change, --message, --author -------------------------------------
note "--change"
bcfg=$(blob "$(cfg_of base)")
lc commit --message "my message" --author "Ann <ann@example.org>" \
	--change 'CMD ["/bin/echo", "hi"]' \
	--change 'ENTRYPOINT /bin/run --fast' \
	--change 'ENV A=2' --change 'ENV B=3' \
	--change 'WORKDIR /srv' --change 'USER 1000:1000' \
	--change 'LABEL k=v' c1 changed >/dev/null
ccfg=$(blob "$(cfg_of changed)")
assert_eq "$(js "$ccfg" 'd["config"]["Cmd"]')" '["/bin/echo", "hi"]' "Cmd"
assert_eq "$(js "$ccfg" 'd["config"]["Entrypoint"]')" \
	'["/bin/sh", "-c", "/bin/run --fast"]' "Entrypoint (shell form)"
assert_eq "$(js "$ccfg" 'd["config"]["Env"]')" \
	'["PATH=/usr/bin:/bin", "A=2", "B=3"]' "Env: A replaced in place, B appended"
assert_eq "$(js "$ccfg" 'd["config"]["WorkingDir"]')" /srv "WorkingDir"
assert_eq "$(js "$ccfg" 'd["config"]["User"]')" 1000:1000 "User"
assert_eq "$(js "$ccfg" 'd["config"]["Labels"]')" '{"k": "v"}' "Labels"
assert_eq "$(js "$ccfg" 'len(d["history"])')" \
	"$(($(js "$bcfg" 'len(d["history"])') + 1))" "history: one more entry"
assert_eq "$(js "$ccfg" 'd["history"][:-1]')" "$(js "$bcfg" 'd["history"]')" \
	"history: the base's entries kept"
assert_eq "$(js "$ccfg" 'd["history"][-1].get("comment")')" "my message" \
	"history comment"
assert_eq "$(js "$ccfg" 'd["history"][-1].get("author")')" \
	"Ann <ann@example.org>" "history author"
assert_eq "$(js "$ccfg" 'd["history"][-1].get("empty_layer", False)')" false \
	"the new history entry has a layer"
assert_eq "$(js "$ccfg" 'd["rootfs"]["diff_ids"]')" \
	"$(js "$bcfg" 'd["rootfs"]["diff_ids"] + ["sha256:'"$(sha "$T/snap.tar")"'"]')" \
	"diff_ids: the base's + the new layer"
assert_eq "$(js "$ccfg" '[d["architecture"], d["os"]]')" \
	"$(js "$bcfg" '[d["architecture"], d["os"]]')" "architecture and os kept"

# ---- 3. a writer during the commit ----------------------------------------
note "commit under a writer"
assert_eq "$(lc create --name w base)" w "create w"
mkdir "$T/mw"
lc mount w "$T/mw"
mkdir "$T/mw/w"
for k in 0 1 2 3 4 5 6 7 8 9; do
	head -c 65536 /dev/zero >"$T/mw/w/f$k"
done
cat >"$T/writer.py" <<'EOF'
import os, struct, sys
d = sys.argv[1]
fds = [os.open(f"{d}/f{k}", os.O_RDWR) for k in range(10)]
gen = 1
while True:
    buf = struct.pack("<Q", gen) * 8192
    for fd in fds:
        if os.pwrite(fd, buf, 0) != len(buf):
            sys.exit("short write")
    if gen == 20:
        open(sys.argv[2], "w").close()
    gen += 1
EOF
lfs_bg python3 "$T/writer.py" "$T/mw/w" "$T/writer.running"
wpid=$LFS_BG_PID
for _ in $(seq 200); do
	[ -e "$T/writer.running" ] && break
	kill -0 "$wpid" 2>/dev/null || fail "the writer died"
	sleep 0.05
done
assert_exists "$T/writer.running" "the writer did not get going"
for i in 1 2 3; do
	lc commit w "w$i" >/dev/null
	top_layer "w$i" "$T/w$i.tar"
	python3 - "$T/w$i.tar" <<'EOF' >>"$T/gens" || fail "commit w$i is not a point in time"
import struct, sys, tarfile
t = tarfile.open(sys.argv[1])
gens, bad = [], 0
for k in range(10):
    data = t.extractfile(f"w/f{k}").read()
    words = {data[i:i + 8] for i in range(0, len(data), 8)}
    if len(data) != 65536 or len(words) != 1:
        print(f"w/f{k}: torn: {len(data)} bytes, generations "
              f"{sorted(struct.unpack('<Q', w)[0] for w in words)[:8]}",
              file=sys.stderr)
        bad = 1
        gens.append(-1)
    else:
        gens.append(struct.unpack("<Q", words.pop())[0])
print(*gens)
if any(a < b for a, b in zip(gens, gens[1:])) or max(gens) - min(gens) > 1:
    print("generations along f0..f9 are no instant of the writer:", gens,
          file=sys.stderr)
    bad = 1
sys.exit(bad)
EOF
done
kill -0 "$wpid" 2>/dev/null || fail "the writer died during the commits"
kill -TERM "$wpid"
wait "$wpid" || true
lfs_forget "$wpid"
note "writer generations seen by the commits: $(tr '\n' '/' <"$T/gens")"
lc umount "$T/mw"

# ---- 5. the init layer, once more: a container that only touched it -------
note "init layer only"
assert_eq "$(lc create --name i base)" i "create i"
mkdir "$T/mi"
lc mount i "$T/mi"
echo "10.0.0.1 x" >>"$T/mi/etc/hosts"
echo name >"$T/mi/etc/hostname"
rm "$T/mi/etc/resolv.conf"
lc diff i >"$T/diff-i.txt"
if grep -v '^C /etc$' "$T/diff-i.txt"; then
	fail "diff of a container that only touched the init layer"
fi
lc diff --tar i >"$T/i.tar"
tarcheck "$T/i.tar"
python3 - "$T/i.tar" <<'EOF' || fail "the init layer's files are in the changeset"
import sys, tarfile
def norm(n):
    while n.startswith("./"):
        n = n[2:]
    return n.strip("/")
bad = [m.name for m in tarfile.open(sys.argv[1])
       if norm(m.name) not in ("", "etc")]
for b in bad:
    print("in the changeset:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
lc umount "$T/mi"

# ---- 7. bad input ---------------------------------------------------------
note "bad input"
lc images --json >"$T/images.before"
(cd "$S" && find index.json blobs layers containers tmp -print |
	LC_ALL=C sort) >"$T/tree.before"
bad_commit()
{
	local want=$1
	shift
	if lc commit "$@" >"$T/bad.out" 2>"$T/bad.err"; then
		fail "should have failed: layerctl commit $*"
	fi
	[ -s "$T/bad.err" ] || fail "layerctl commit $*: no message on stderr"
	grep -qi -- "$want" "$T/bad.err" ||
		fail "layerctl commit $*: message '$(cat "$T/bad.err")' does not mention '$want'"
	[ -s "$T/bad.out" ] && fail "layerctl commit $*: printed '$(cat "$T/bad.out")'"
	return 0
}
bad_commit nosuch nosuch x1
bad_commit lz4 --compress lz4 c1 x2
bad_commit FROBNICATE --change 'FROBNICATE x' c1 x3
bad_commit ENV --change 'ENV' c1 x4
bad_commit 'bad ref' c1 'bad ref'
bad_commit '../up' c1 '../up'
lc fsck >/dev/null || fail "fsck after the failed commits"
lc images --json >"$T/images.after"
diff -u "$T/images.before" "$T/images.after" >&2 ||
	fail "a failed commit changed the images"
(cd "$S" && find index.json blobs layers containers tmp -print |
	LC_ALL=C sort) >"$T/tree.after"
diff -u "$T/tree.before" "$T/tree.after" >&2 ||
	fail "a failed commit left something in the store"
lc diff nosuch >/dev/null 2>&1 && fail "diff of an unknown container"

lc umount "$T/m1"
lc fsck >/dev/null
echo "t-commit: ok"
