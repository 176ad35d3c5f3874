#!/usr/bin/env bash
# layerctl rmi, gc, fsck and layers on a store with images sharing a layer:
# what is shared stays, what only a removed image used goes, containers
# and mounts keep their layers, leftovers go; fsck finds every kind of
# damage (blob bytes, file content, mode, a missing, an extra file, a
# missing layer), --repair fixes what a blob can fix, and says what it
# cannot.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_root
need_fuse
need_cmd python3

lc() { "$LAYERCTL" --root "$T/store" "$@"; }
S=$T/store
nlayers() { lc layers --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
diff_of() { lc inspect --json "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"]['"$2"']["diff_id"][7:])'; }

# base (one layer) and app (base's layer + one more), as bare tars + save
mkdir -p "$T/r1/etc" "$T/r2/app"
echo base >"$T/r1/etc/base"
echo app >"$T/r2/app/main"
tar -C "$T/r1" -czf "$T/base.tar.gz" .
tar -C "$T/r2" -czf "$T/app.tar.gz" .
lc load --tag base "$T/base.tar.gz" >/dev/null
lc load --tag top "$T/app.tar.gz" >/dev/null
python3 - "$S" <<'EOF'
# "app" = base's layer + top's layer: a two-layer image built by hand
import hashlib, json, os, sys
root = sys.argv[1]
def blob(d):
    return open(os.path.join(root, "blobs/sha256", d[7:]), "rb").read()
def put(data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    open(os.path.join(root, "blobs/sha256", d[7:]), "wb").write(data)
    return d, len(data)
idx = json.load(open(os.path.join(root, "index.json")))
by = {m["annotations"]["org.opencontainers.image.ref.name"]: m for m in idx["manifests"]}
mb, mt = json.loads(blob(by["base"]["digest"])), json.loads(blob(by["top"]["digest"]))
cb, ct = json.loads(blob(mb["config"]["digest"])), json.loads(blob(mt["config"]["digest"]))
cb["rootfs"]["diff_ids"] += ct["rootfs"]["diff_ids"]
cb["history"] += ct["history"]
cd, cl = put(json.dumps(cb).encode())
m = dict(mb, config=dict(mb["config"], digest=cd, size=cl), layers=mb["layers"] + mt["layers"])
md, ml = put(json.dumps(m).encode())
idx["manifests"].append({"mediaType": "application/vnd.oci.image.manifest.v1+json",
    "digest": md, "size": ml, "annotations": {"org.opencontainers.image.ref.name": "app"}})
json.dump(idx, open(os.path.join(root, "index.json"), "w"))
EOF
lc fsck >/dev/null
assert_eq "$(nlayers)" 2 "two layers for three images"
lc rmi top >/dev/null
assert_eq "$(nlayers)" 2 "rmi keeps layers another image uses"
lc rmi app >/dev/null
assert_eq "$(nlayers)" 1 "rmi removes what only it used"
assert_fails lc rmi app
lc fsck >/dev/null

# gc: garbage of every kind goes, dry-run first
mkdir "$S/tmp/load-dead" && echo x >"$S/tmp/load-dead/f"
lc load --tag gone "$T/app.tar.gz" >/dev/null
python3 - "$S" <<'EOF'
import json, sys
p = sys.argv[1] + "/index.json"
idx = json.load(open(p))
idx["manifests"] = [m for m in idx["manifests"] if m["annotations"]["org.opencontainers.image.ref.name"] != "gone"]
json.dump(idx, open(p, "w"))
EOF
lc gc --dry-run --json >"$T/dry.json"
assert_eq "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["blobs"], d["layers"], d["tmp"])' "$T/dry.json")" \
	"3 1 1" "dry run: the untagged image's 3 blobs, its layer, the leftover"
assert_eq "$(nlayers)" 2 "a dry run removes nothing"
lc gc >/dev/null
assert_eq "$(nlayers)" 1 "gc removes the unreferenced layer"
assert_eq "$(find "$S/tmp" -mindepth 1 | wc -l)" 0 "gc empties tmp/"
lc inspect base >/dev/null

# a container's layers are roots, even without a ref
lc load --tag c "$T/app.tar.gz" >/dev/null
cdiff=$(diff_of c 0)
mkdir -p "$S/containers/c1"
printf '{"image":null,"layers":["sha256:%s"]}\n' "$cdiff" >"$S/containers/c1/container.json"
lc rmi c >/dev/null
assert_exists "$S/layers/$cdiff/diff/app/main"
rm -rf "$S/containers/c1"
lc gc >/dev/null
assert_not_exists "$S/layers/$cdiff"
# a bad container.json: gc removes nothing and says so
mkdir -p "$S/containers/bad" && echo '{' >"$S/containers/bad/container.json"
assert_fails_with "container 'bad'" lc gc
rm -rf "$S/containers/bad"

# a mounted layer is kept while mounted
lc load --tag mnt "$T/app.tar.gz" >/dev/null
mdiff=$(diff_of mnt 0)
lfs_mount "$T/m" "lowerdir=$(lc inspect --lowerdirs mnt)"
lc rmi mnt >/dev/null
assert_eq "$(lc layers --json | python3 -c 'import json,sys; print([l["in_use"] for l in json.load(sys.stdin) if l["diff_id"].endswith(sys.argv[1])])' "$mdiff")" \
	"[True]" "layers shows the mounted layer in use"
assert_file_text "$T/m/app/main" "app"
lfs_umount "$T/m"
lc gc >/dev/null
assert_not_exists "$S/layers/$mdiff"

# fsck: each kind of damage to base's layer, found and repaired
bdiff=$(diff_of base 0)
L=$S/layers/$bdiff/diff
damage()
{
	local what=$1
	shift
	"$@"
	note "damage: $what"
	assert_fails lc fsck
	lc fsck >"$T/fsck.out" || true
	grep -q PROBLEM "$T/fsck.out" || fail "fsck silent about: $what"
	lc fsck --repair >/dev/null || fail "repair failed: $what"
	lc fsck >/dev/null || fail "still damaged after repair: $what"
	assert_file_text "$L/etc/base" "base"
}
damage "content" sh -c "echo evil >'$L/etc/base'"
damage "mode" chmod 600 "$L/etc/base"
damage "owner" chown 7:7 "$L/etc/base"
damage "missing file" rm "$L/etc/base"
damage "extra file" touch "$L/etc/extra"
damage "xattr" setfattr -n user.x -v 1 "$L/etc/base"
damage "missing layer" rm -rf "$S/layers/$bdiff"
damage "no manifest" rm "$S/layers/$bdiff/manifest"
# a corrupt blob: found, not repairable here
blob=$(lc inspect --json base | python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][0]["blob"][7:])')
cp "$S/blobs/sha256/$blob" "$T/blob.bak"
printf 'X' | dd of="$S/blobs/sha256/$blob" bs=1 seek=10 conv=notrunc 2>/dev/null
assert_fails lc fsck --repair
lc fsck >"$T/fsck.out" || true
grep -q "corrupt" "$T/fsck.out" || fail "corrupt blob not reported: $(cat "$T/fsck.out")"
assert_fails lc save base oci:"$T/out"
cp "$T/blob.bak" "$S/blobs/sha256/$blob"
lc fsck >/dev/null

# a broken image (its manifest gone): gc refuses to guess, rmi still
# untags it, and then gc cleans up
lc load --tag broken "$T/app.tar.gz" >/dev/null
man=$(python3 -c 'import json,sys; print([m["digest"][7:] for m in json.load(open(sys.argv[1]))["manifests"] if m["annotations"]["org.opencontainers.image.ref.name"]=="broken"][0])' "$S/index.json")
rm "$S/blobs/sha256/$man"
assert_fails_with "nothing removed" lc gc
lc rmi broken >/dev/null
lc gc >/dev/null
lc fsck >/dev/null
lc inspect base >/dev/null

# a ref to an image index (as skopeo may write into the store): gc keeps
# what its manifests use, fsck checks through it
python3 - "$S" <<'EOF'
import hashlib, json, sys
p = sys.argv[1] + "/index.json"
idx = json.load(open(p))
m = [x for x in idx["manifests"] if x["annotations"]["org.opencontainers.image.ref.name"] == "base"][0]
sub = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
       "manifests": [{"mediaType": m["mediaType"], "digest": m["digest"], "size": m["size"],
                      "platform": {"architecture": "amd64", "os": "linux"}}]}
b = json.dumps(sub).encode()
d = "sha256:" + hashlib.sha256(b).hexdigest()
open(sys.argv[1] + "/blobs/sha256/" + d[7:], "wb").write(b)
idx["manifests"] = [{"mediaType": sub["mediaType"], "digest": d, "size": len(b),
                     "annotations": {"org.opencontainers.image.ref.name": "multi"}}]
json.dump(idx, open(p, "w"))
EOF
lc gc >/dev/null
assert_eq "$(nlayers)" 1 "gc keeps the layer an index's manifest uses"
lc fsck >/dev/null
echo "t-store-gc: ok"
