#!/usr/bin/env bash
# layerctl load of an image built with the real umoci: the layerfs view of
# the loaded image equals umoci unpack's rootfs; the store root works with
# skopeo and umoci as an OCI layout; layers are stored once; a tampered
# image is refused and changes nothing.
source "$(dirname "$0")/lib.sh"
need_root
need_fuse
need_cmd umoci
need_cmd skopeo
need_cmd busybox
need_cmd zstd

lc() { "$LAYERCTL" --root "$T/store" "$@"; }

# Describe a tree: type, mode, owner, size, content hash, link target.
describe()
{
	(cd "$1" && find . -mindepth 1 -printf '%P %y %m %U:%G %s %l\n' | sort)
	(cd "$1" && find . -type f -exec sha256sum {} + | sort -k2)
}

# Three layers: a base; a layer that deletes a file, replaces a directory
# wholesale (opaque in OCI) and adds hardlinks; a layer with a fifo.
umoci init --layout "$T/img" >/dev/null
umoci new --image "$T/img:x" >/dev/null
umoci unpack --image "$T/img:x" "$T/b" >/dev/null
r=$T/b/rootfs
mkdir -p "$r/bin" "$r/etc" "$r/data/sub"
cp "$(command -v busybox)" "$r/bin/busybox"
ln -s busybox "$r/bin/sh"
echo hello >"$r/etc/motd"
echo doomed >"$r/etc/old"
for f in a b c; do echo "$f" >"$r/data/$f"; done
echo deep >"$r/data/sub/deep"
chown 1234:5678 "$r/etc/motd"
chmod 4755 "$r/bin/busybox"
umoci repack --image "$T/img:base" "$T/b" >/dev/null
# repack diffs against the image a bundle came from: unpack each stage
rm -rf "$T/b"
umoci unpack --image "$T/img:base" "$T/b" >/dev/null
rm "$r/etc/old"
rm -rf "$r/data"
mkdir "$r/data"
echo fresh >"$r/data/fresh"
ln "$r/etc/motd" "$r/etc/motd.link"
umoci repack --image "$T/img:v2" "$T/b" >/dev/null
rm -rf "$T/b"
umoci unpack --image "$T/img:v2" "$T/b" >/dev/null
mkfifo "$r/etc/fifo"
umoci repack --image "$T/img:v3" "$T/b" >/dev/null
rm -rf "$T/b"

lc load oci:"$T/img:v3" >/dev/null
lc load --tag base oci:"$T/img:base" >/dev/null
assert_eq "$(lc images --json | python3 -c 'import json,sys; print(sorted(i["ref"] for i in json.load(sys.stdin)))')" \
	"['base', 'v3']" "images lists both"
# base's one layer is v3's bottom layer: stored once
assert_eq "$(ls "$T/store/layers" | wc -l)" 3 "three distinct layers"

umoci unpack --image "$T/img:v3" "$T/ref" >/dev/null
lfs_mount "$T/m" "lowerdir=$(lc inspect --lowerdirs v3)"
assert_eq "$(describe "$T/m")" "$(describe "$T/ref/rootfs")" \
	"layerfs view of the loaded image = umoci unpack"
assert_eq "$(stat -c %i "$T/m/etc/motd")" "$(stat -c %i "$T/m/etc/motd.link")" \
	"hardlinks stay hardlinks"
lfs_umount "$T/m"

# The store root is an OCI layout for the real tools.
skopeo inspect oci:"$T/store:v3" >"$T/inspect.json"
assert_eq "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["Layers"]))' "$T/inspect.json")" \
	3 "skopeo inspect sees three layers"
umoci unpack --image "$T/store:v3" "$T/ref2" >/dev/null
assert_eq "$(describe "$T/ref2/rootfs")" "$(describe "$T/ref/rootfs")" \
	"umoci unpack of the store = of the source"
skopeo copy -q oci:"$T/store:v3" oci:"$T/copy:v3"
lc load --tag copied oci:"$T/copy:v3" >/dev/null

# save: the exported layout works with umoci and skopeo, and a layout
# that already holds images keeps them.
lc save v3 oci:"$T/saved:exported" >/dev/null
umoci unpack --image "$T/saved:exported" "$T/ref3" >/dev/null
assert_eq "$(describe "$T/ref3/rootfs")" "$(describe "$T/ref/rootfs")" \
	"umoci unpack of a saved image = of the source"
assert_eq "$(skopeo inspect oci:"$T/saved:exported" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["Layers"]))')" \
	3 "skopeo inspect of the saved layout"
lc save base oci:"$T/saved" >/dev/null
assert_eq "$(python3 -c 'import json,sys; print(sorted(m["annotations"]["org.opencontainers.image.ref.name"] for m in json.load(open(sys.argv[1]))["manifests"]))' "$T/saved/index.json")" \
	"['base', 'exported']" "save adds to a layout, keeps its refs"
lc save v3 oci-archive:"$T/saved.tar" >/dev/null
skopeo inspect oci-archive:"$T/saved.tar" >/dev/null
"$LAYERCTL" --root "$T/store-a" load oci-archive:"$T/saved.tar:v3" >/dev/null
assert_eq "$("$LAYERCTL" --root "$T/store-a" inspect --json v3 | python3 -c 'import json,sys; print(json.load(sys.stdin)["manifest"])')" \
	"$(lc inspect --json v3 | python3 -c 'import json,sys; print(json.load(sys.stdin)["manifest"])')" \
	"an oci-archive round trip keeps the manifest digest"
"$LAYERCTL" --root "$T/store-a" fsck >/dev/null
assert_fails lc save nosuch oci:"$T/x"
assert_fails lc save v3 docker://example/x

# A bare layer tar (gzip, zstd, plain) is a one-layer image.
tar -C "$T/ref/rootfs" -cf "$T/root.tar" .
gzip -c "$T/root.tar" >"$T/root.tar.gz"
zstd -q -c "$T/root.tar" >"$T/root.tar.zst"
for f in root.tar root.tar.gz root.tar.zst; do
	"$LAYERCTL" --root "$T/store-b" load --tag "b-$f" "$T/$f" >/dev/null
done
assert_eq "$("$LAYERCTL" --root "$T/store-b" layers --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" \
	1 "the same tar, three compressions: one layer"
lfs_mount "$T/m" "lowerdir=$("$LAYERCTL" --root "$T/store-b" inspect --lowerdirs b-root.tar.zst)"
assert_eq "$(describe "$T/m")" "$(describe "$T/ref/rootfs")" \
	"a bare layer's view = its tree"
lfs_umount "$T/m"
"$LAYERCTL" --root "$T/store-b" load "$T/root.tar.gz" >/dev/null
"$LAYERCTL" --root "$T/store-b" inspect root >/dev/null # tag = the stem

# Loading again changes nothing and unpacks nothing new.
before=$(cd "$T/store" && find . -path ./tmp -prune -o -print | sort | sha256sum)
lc load oci:"$T/img:v3" >/dev/null
after=$(cd "$T/store" && find . -path ./tmp -prune -o -print | sort | sha256sum)
assert_eq "$after" "$before" "a second load of the same image changes nothing"

# A tampered layer blob: refused with a clear message, store unchanged.
cp -a "$T/img" "$T/bad"
blob=$(python3 -c 'import json,sys
m=json.load(open(sys.argv[1]+"/index.json"))["manifests"]
d=[x for x in m if x["annotations"]["org.opencontainers.image.ref.name"]=="v3"][0]["digest"]
man=json.load(open(sys.argv[1]+"/blobs/sha256/"+d[7:]))
print(man["layers"][-1]["digest"][7:])' "$T/bad")
printf 'X' | dd of="$T/bad/blobs/sha256/$blob" bs=1 seek=100 conv=notrunc 2>/dev/null
rm -rf "$T/store2"
lc_bad() { "$LAYERCTL" --root "$T/store2" "$@"; }
lc_bad load --tag good oci:"$T/img:base" >/dev/null
before=$(cat "$T/store2/index.json")
if lc_bad load --tag evil oci:"$T/bad:v3" 2>"$T/err"; then
	fail "a tampered blob was accepted"
fi
grep -q "digest mismatch" "$T/err" || fail "unclear message: $(cat "$T/err")"
assert_eq "$(cat "$T/store2/index.json")" "$before" \
	"the failed load left index.json unchanged"
# Nothing of the failed load stays: not even the layers that verified.
assert_eq "$(ls "$T/store2/layers" | wc -l)" 1 "only base's layer"
assert_eq "$(find "$T/store2/tmp" -mindepth 1 | wc -l)" 0 \
	"no staging leftovers"
assert_fails lc_bad inspect evil
assert_fails lc_bad load oci:"$T/nonexistent:x"
assert_fails lc_bad load "docker://example/x"
echo "t-store-load: ok"
