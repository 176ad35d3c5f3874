#!/usr/bin/env bash
# layerctl create, mount, ps, umount, rm: a container is its image's
# layers, an init layer (never the upper) and an upper layer; it keeps its
# layers from rmi and gc; a mounted container cannot be removed.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_root
need_fuse
need_cmd python3

lc() { "$LAYERCTL" --root "$T/store" "$@"; }
S=$T/store
export LAYERFS

mkdir -p "$T/r/etc" "$T/r/bin"
echo hi >"$T/r/etc/motd"
chmod 0750 "$T/r/etc"
tar -C "$T/r" -czf "$T/img.tar.gz" .
lc load --tag img "$T/img.tar.gz" >/dev/null

assert_eq "$(lc create --name web img)" web "create prints the ID"
assert_fails_with "exists" lc create --name web img
assert_fails_with "invalid container name" lc create --name ../x img
assert_fails_with "no image" lc create nosuch
id=$(lc create img)
[[ $id =~ ^[0-9a-z]{12}$ ]] || fail "random ID '$id'"
assert_file "$S/containers/web/init/etc/hostname"
assert_eq "$(stat -c %a "$S/containers/web/init/etc")" 750 \
	"the init layer keeps the image's mode of /etc"

mkdir "$T/m"
lc mount web "$T/m"
assert_mounted "$T/m"
assert_file_text "$T/m/etc/motd" "hi"
assert_file "$T/m/etc/resolv.conf"
echo changed >"$T/m/etc/motd"
rm "$T/m/etc/hostname"
assert_eq "$(lc ps --json | python3 -c 'import json,sys; print({c["id"]: c["mounted"] for c in json.load(sys.stdin)}["web"])')" \
	"$T/m" "ps shows where it is mounted"
assert_fails_with "is mounted" lc rm web
assert_fails_with "used by a container" lc rmi img
lc umount "$T/m"
assert_not_mounted "$T/m"
assert_file_text "$S/containers/web/upper/etc/motd" "changed"
assert_file "$S/containers/web/init/etc/hostname" # never the upper's to change
assert_fails lc umount "$T/m"

# the container keeps its layers through rmi --force and gc
lc rmi --force img >/dev/null
lc gc >/dev/null
lc mount web "$T/m"
assert_file_text "$T/m/etc/motd" "changed"
lc umount "$T/m"
lc fsck >/dev/null
assert_eq "$(lc rm web "$id")" "web
$id" "rm prints what it removed"
assert_not_exists "$S/containers/web"
lc gc >/dev/null
assert_eq "$(ls "$S/layers" | wc -l)" 0 "gc removes the layers once no container uses them"
assert_fails lc rm web
echo "t-containers: ok"
