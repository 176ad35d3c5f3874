#!/usr/bin/env bash
# A registry round trip with the real clients (issue 8): Debian's
# docker-registry (distribution 2.8) on 127.0.0.1, skopeo 1.9 pushing the
# layerctl store root (an OCI layout) to it and pulling it back into a
# plain OCI layout, layerctl loading what came back into another store.
#
# The image: a gzip busybox layer (runimg.sh), a gzip layer committed from
# a container (a whiteout, an opaque directory, new files), a zstd layer
# committed on top of that (a whiteout of a file of the layer below).
# Checked, for s1 (the store pushed from) against s3 (the store loaded
# from what came back):
#   * the registry serves the manifest byte for byte as the store has it,
#     skopeo inspect shows its layers (zstd too), and skopeo writes the
#     same manifest into the layout it pulls into;
#   * manifest digest, config digest, diffIDs and layer blobs are equal;
#   * a container of the image has the same tree in both stores
#     (treefp.py), with the whiteouts and the opaque directory applied.
# What skopeo rewrites, checked for what must stay equal:
#   * a plain (uncompressed) layer: skopeo copy compresses it to gzip for a
#     registry by default (the manifest's layer mediaType, digest and size
#     change; the config and diffIDs do not); --preserve-digests keeps the
#     manifest byte for byte;
#   * --format v2s2 (Docker schema 2): for a gzip image the registry holds
#     a Docker manifest (media types rewritten; the same config and layer
#     blobs); pulled back into an OCI layout, skopeo converts it back to the
#     very manifest bytes the store pushed, and the tree is the same. The
#     zstd image is refused by skopeo itself ("zstd compression is not
#     supported for docker images"), before any manifest is written: zstd
#     needs the OCI manifest, which the registry takes and serves as is.
# The registry is started with lfs_bg and stopped by PID in the cleanup.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_root
need_fuse
need_cmd docker-registry skopeo curl python3 gzip busybox

export LAYERFS
js()
{
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(v if isinstance(v, str) else json.dumps(v))' "$1" "$2"
}
lc() { "$LAYERCTL" --root "$1" "${@:2}"; }
blob() { printf '%s/blobs/sha256/%s' "$1" "${2#sha256:}"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
sk() { skopeo --insecure-policy "$@"; }

# ---- the registry ---------------------------------------------------------
# start_registry: a free port, retried when another process takes it
# between the probe and the registry's bind. Sets PORT, REG.
start_registry()
{
	local try pid deadline

	for try in 1 2 3 4 5; do
		PORT=$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
		cat >"$T/registry.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $T/registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$PORT
  secret: layerfs-test
EOF
		lfs_bg docker-registry serve "$T/registry.yml" >"$T/registry.log" 2>&1
		pid=$LFS_BG_PID
		deadline=$((SECONDS + 20))
		while _lfs_alive "$pid" && [ "$SECONDS" -lt "$deadline" ]; do
			if curl -sf -o /dev/null "http://127.0.0.1:$PORT/v2/"; then
				# answered while our process lives: the port is ours
				_lfs_alive "$pid" || break
				REG=127.0.0.1:$PORT
				REG_PID=$pid
				return 0
			fi
			sleep 0.1
		done
		note "registry on port $PORT did not come up (try $try):"
		cat "$T/registry.log" >&2
		lfs_end_pids "$pid"
		wait "$pid" 2>/dev/null || true
		lfs_forget "$pid"
	done
	fail "docker-registry did not start"
}

start_registry
note "docker-registry $(docker-registry --version | awk '{print $NF}') on $REG (pid $REG_PID)"

# manifest REPO:TAG OUT: the manifest bytes the registry serves (OCI or
# Docker schema 2, as stored).
manifest()
{
	curl -sf -o "$2" \
		-H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		-H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
		"http://$REG/v2/${1%:*}/manifests/${1##*:}"
}

# ---- the image in s1 ------------------------------------------------------
note "building the image in s1"
S1=$T/s1
bash "$SRCDIR/tests/integ/runimg.sh" "$T/bb.tar"
cp "$T/bb.tar" "$T/bbgz.tar"
gzip -n "$T/bbgz.tar"
lc "$S1" load -q --tag plain "$T/bb.tar" >/dev/null
lc "$S1" load -q --tag base "$T/bbgz.tar.gz" >/dev/null
mkdir "$T/m"
lc "$S1" create --name c1 base >/dev/null
lc "$S1" mount c1 "$T/m"
echo "layer 2" >"$T/m/etc/motd"
rm "$T/m/bin/yes"                  # a whiteout
rm -rf "$T/m/home"                 # home/user was in the layer below:
mkdir "$T/m/home"                  # an opaque directory
echo opq >"$T/m/home/only"
mkdir -p "$T/m/data/d"
echo x >"$T/m/data/d/x"
echo keep >"$T/m/data/d/keep"
lc "$S1" umount "$T/m"
lc "$S1" commit -q --compress gzip --timestamp 1700000000 c1 two >/dev/null
lc "$S1" create --name c2 two >/dev/null
lc "$S1" mount c2 "$T/m"
rm "$T/m/data/d/x"                 # a whiteout of layer 2's file
echo z >"$T/m/etc/zz"
lc "$S1" umount "$T/m"
lc "$S1" commit -q --compress zstd --timestamp 1700000100 c2 three >/dev/null
lc "$S1" inspect --json three >"$T/s1-three.json"
M1=$(js "$T/s1-three.json" 'd["manifest"]')
js "$(blob "$S1" "$M1")" '[l["mediaType"].rsplit(".", 1)[1] for l in d["layers"]]' \
	>"$T/mts"
assert_eq "$(cat "$T/mts")" '["tar+gzip", "tar+gzip", "tar+zstd"]' \
	"the image's layer media types"

# ---- push, inspect, pull, load --------------------------------------------
note "skopeo copy oci:s1:three -> docker://$REG/lfs/img:three"
sk copy -q --dest-tls-verify=false "oci:$S1:three" \
	"docker://$REG/lfs/img:three" >/dev/null
manifest lfs/img:three "$T/reg-three.json"
cmp "$T/reg-three.json" "$(blob "$S1" "$M1")" ||
	fail "the registry serves another manifest than the store's"
sk inspect --tls-verify=false "docker://$REG/lfs/img:three" >"$T/inspect.json"
assert_eq "$(js "$T/inspect.json" 'd["Digest"]')" "$M1" "skopeo inspect: digest"
assert_eq "$(js "$T/inspect.json" 'd["Layers"]')" \
	"$(js "$(blob "$S1" "$M1")" '[l["digest"] for l in d["layers"]]')" \
	"skopeo inspect: the layers"
# skopeo 1.9's inspect has no LayersData (media types): --raw has them
sk inspect --raw --tls-verify=false "docker://$REG/lfs/img:three" >"$T/raw.json"
cmp "$T/raw.json" "$(blob "$S1" "$M1")" ||
	fail "skopeo inspect --raw: another manifest than the store's"
assert_eq "$(js "$T/inspect.json" 'd["Os"] + "/" + d["Architecture"]')" \
	"$(js "$(blob "$S1" "$(js "$T/s1-three.json" 'd["config"]')")" \
		'd["os"] + "/" + d["architecture"]')" "skopeo inspect: os/arch"

note "skopeo copy docker://$REG/lfs/img:three -> oci:s2:back"
S2=$T/s2
sk copy -q --src-tls-verify=false "docker://$REG/lfs/img:three" \
	"oci:$S2:back" >/dev/null
M2=$(js "$S2/index.json" '[m["digest"] for m in d["manifests"]
	if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == "back"][0]')
assert_eq "$M2" "$M1" "the pulled layout's manifest digest"
cmp "$(blob "$S2" "$M2")" "$(blob "$S1" "$M1")" ||
	fail "skopeo wrote another manifest into the layout"

S3=$T/s3
lc "$S3" load -q oci:"$S2:back" >/dev/null
lc "$S3" inspect --json back >"$T/s3-back.json"
for k in manifest config; do
	assert_eq "$(js "$T/s3-back.json" "d['$k']")" \
		"$(js "$T/s1-three.json" "d['$k']")" "s3 vs s1: $k digest"
done
assert_eq "$(js "$T/s3-back.json" '[[l["diff_id"], l["blob"]] for l in d["layers"]]')" \
	"$(js "$T/s1-three.json" '[[l["diff_id"], l["blob"]] for l in d["layers"]]')" \
	"s3 vs s1: diffIDs and layer blobs"
for f in manifest config; do
	d=$(js "$T/s1-three.json" "d['$f']")
	cmp "$(blob "$S3" "$d")" "$(blob "$S1" "$d")" || fail "s3's $f bytes differ"
done
lc "$S3" fsck >/dev/null || fail "fsck of s3"

# fp DIR: the tree's fingerprint, without the init layer's files (made at
# create time, with that time as their mtime).
fp()
{
	python3 "$SRCDIR/tests/integ/treefp.py" --exclude etc/hostname \
		--exclude etc/hosts --exclude etc/resolv.conf "$1"
}

# same_image_tree S_A REF_A S_B REF_B MSG: a container of each has the same
# tree; the checks of what the layers do, on the second.
same_image_tree()
{
	local n

	_ctr=$((${_ctr:-0} + 1))
	n=t$_ctr
	lc "$1" create --name "$n" "$2" >/dev/null
	lc "$3" create --name "$n" "$4" >/dev/null
	mkdir -p "$T/ma-$n" "$T/mb-$n"
	lc "$1" mount "$n" "$T/ma-$n"
	lc "$3" mount "$n" "$T/mb-$n"
	fp "$T/ma-$n" >"$T/fp-a"
	fp "$T/mb-$n" >"$T/fp-b"
	diff -u "$T/fp-a" "$T/fp-b" >&2 || fail "$5: the trees differ"
	MB=$T/mb-$n
}
unmount_trees()
{
	lc "$1" umount "$T/ma-t$_ctr"
	lc "$2" umount "$T/mb-t$_ctr"
}

note "a container of the image, in s1 and s3"
same_image_tree "$S1" three "$S3" back "s1:three vs s3:back"
assert_not_exists "$MB/bin/yes" "layer 2's whiteout of /bin/yes"
assert_exists "$MB/bin/true" "the rest of /bin"
assert_ls "$MB/home" only "layer 2's opaque /home"
assert_ls "$MB/data/d" keep "layer 3's whiteout of /data/d/x"
assert_file_text "$MB/etc/motd" "layer 2"
assert_file_text "$MB/etc/zz" z
assert_eq "$(sha "$MB/bin/busybox")" "$(sha /bin/busybox)" "busybox intact"
unmount_trees "$S1" "$S3"

# ---- a plain layer: skopeo compresses it for the registry -----------------
note "a plain layer: skopeo copy (default) and --preserve-digests"
lc "$S1" inspect --json plain >"$T/s1-plain.json"
MP=$(js "$T/s1-plain.json" 'd["manifest"]')
sk copy -q --dest-tls-verify=false "oci:$S1:plain" \
	"docker://$REG/lfs/plain:default" >/dev/null
manifest lfs/plain:default "$T/reg-plain.json"
python3 - "$(blob "$S1" "$MP")" "$T/reg-plain.json" <<'EOF' ||
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
la, lb = a.pop("layers"), b.pop("layers")
assert a == b, f"more than the layers changed: {a} vs {b}"
assert len(la) == len(lb) == 1
assert la[0]["mediaType"] == "application/vnd.oci.image.layer.v1.tar", la
assert lb[0]["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip", lb
assert la[0]["digest"] != lb[0]["digest"]
print(f"# skopeo rewrote the layer: {la[0]['mediaType']} {la[0]['size']} B "
      f"-> {lb[0]['mediaType']} {lb[0]['size']} B")
EOF
	fail "skopeo copy of a plain layer: not the expected rewrite"
sk copy -q --src-tls-verify=false "docker://$REG/lfs/plain:default" \
	"oci:$S2:plain-default" >/dev/null
lc "$S3" load -q oci:"$S2:plain-default" >/dev/null
lc "$S3" inspect --json plain-default >"$T/s3-pd.json"
assert_ne "$(js "$T/s3-pd.json" 'd["manifest"]')" "$MP" \
	"the recompressed image has another manifest"
assert_eq "$(js "$T/s3-pd.json" 'd["config"]')" \
	"$(js "$T/s1-plain.json" 'd["config"]')" "recompressed: the same config"
assert_eq "$(js "$T/s3-pd.json" '[l["diff_id"] for l in d["layers"]]')" \
	"$(js "$T/s1-plain.json" '[l["diff_id"] for l in d["layers"]]')" \
	"recompressed: the same diffIDs"
sk copy -q --preserve-digests --dest-tls-verify=false "oci:$S1:plain" \
	"docker://$REG/lfs/plain:preserved" >/dev/null
manifest lfs/plain:preserved "$T/reg-plain-p.json"
cmp "$T/reg-plain-p.json" "$(blob "$S1" "$MP")" ||
	fail "--preserve-digests: the registry serves another manifest"
same_image_tree "$S1" plain "$S3" plain-default "s1:plain vs s3:plain-default"
unmount_trees "$S1" "$S3"

# ---- Docker schema 2: gzip converts, zstd is refused ----------------------
note "--format v2s2"
lc "$S1" inspect --json two >"$T/s1-two.json"
sk copy -q --format v2s2 --dest-tls-verify=false "oci:$S1:two" \
	"docker://$REG/lfs/img:two-v2s2" >/dev/null
manifest lfs/img:two-v2s2 "$T/reg-two-v2s2.json"
assert_eq "$(js "$T/reg-two-v2s2.json" 'd["mediaType"]')" \
	application/vnd.docker.distribution.manifest.v2+json "v2s2 manifest"
assert_eq "$(js "$T/reg-two-v2s2.json" '[l["digest"] for l in d["layers"]]')" \
	"$(js "$T/s1-two.json" '[l["blob"] for l in d["layers"]]')" \
	"v2s2: the same layer blobs"
sk copy -q --src-tls-verify=false "docker://$REG/lfs/img:two-v2s2" \
	"oci:$S2:two-v2s2" >/dev/null
lc "$S3" load -q oci:"$S2:two-v2s2" >/dev/null
lc "$S3" inspect --json two-v2s2 >"$T/s3-two.json"
assert_eq "$(js "$T/reg-two-v2s2.json" 'd["config"]["digest"]')" \
	"$(js "$T/s1-two.json" 'd["config"]')" "v2s2: the same config blob"
assert_eq "$(js "$T/s3-two.json" 'd["config"]')" \
	"$(js "$T/s1-two.json" 'd["config"]')" "v2s2 and back: the same config"
cmp "$(blob "$S3" "$(js "$T/s3-two.json" 'd["manifest"]')")" \
	"$(blob "$S1" "$(js "$T/s1-two.json" 'd["manifest"]')")" ||
	fail "v2s2 and back: not the OCI manifest the store pushed"
assert_eq "$(js "$T/s3-two.json" '[l["diff_id"] for l in d["layers"]]')" \
	"$(js "$T/s1-two.json" '[l["diff_id"] for l in d["layers"]]')" \
	"v2s2 and back: the same diffIDs"
same_image_tree "$S1" two "$S3" two-v2s2 "s1:two vs s3:two-v2s2"
unmount_trees "$S1" "$S3"
if sk copy -q --format v2s2 --dest-tls-verify=false "oci:$S1:three" \
	"docker://$REG/lfs/img:three-v2s2" >/dev/null 2>"$T/v2s2.err"; then
	fail "skopeo 1.9 put a zstd layer in a Docker schema 2 manifest"
fi
grep -q 'zstd compression is not supported for docker images' "$T/v2s2.err" ||
	fail "zstd as v2s2: an unexpected error: $(cat "$T/v2s2.err")"
note "zstd as v2s2, refused by skopeo: $(grep -o 'zstd compression[^"]*' "$T/v2s2.err" | head -1)"
if manifest lfs/img:three-v2s2 "$T/none.json"; then
	fail "the refused v2s2 copy left a manifest in the registry"
fi

_lfs_alive "$REG_PID" || fail "the registry died"
lc "$S1" fsck >/dev/null
lc "$S3" fsck >/dev/null
echo "t-registry: ok"
