#!/usr/bin/env bash
# runimg.sh OUT.tar [EVIL_TARGET]: a tiny image for the launcher's tests,
# from the host's static busybox (scripts/install-deps.sh installs
# busybox-static): /bin/busybox and links for the applets the tests use,
# /etc/passwd with root, nobody and user (1000:1000), /etc/group, and the
# usual empty directories. With EVIL_TARGET, /evil is a symlink to it (an
# absolute path outside the root, for the volume-through-a-symlink test).
# The result is a bare layer tar: `layerctl load --tag NAME OUT.tar`.
set -euo pipefail

out=$1
evil=${2:-}
bb=${BUSYBOX:-/bin/busybox}

[ -x "$bb" ] || { echo "runimg.sh: no $bb (install busybox-static)" >&2; exit 1; }
# the image has no libc: a dynamic busybox could not run in it
if ldd "$bb" >/dev/null 2>&1; then
	echo "runimg.sh: $bb is dynamically linked (install busybox-static)" >&2
	exit 1
fi

r=$(mktemp -d "${TMPDIR:-/tmp}/runimg.XXXXXX")
trap 'rm -rf "$r"' EXIT

chmod 0755 "$r"
mkdir -p "$r"/{bin,etc,proc,sys,dev,root,tmp,var,home/user,data}
chmod 1777 "$r/tmp"
chmod 0700 "$r/root"
cp "$bb" "$r/bin/busybox"
for a in sh ash cat echo env false grep head hostname id kill ls mkdir \
	mount ps pwd readlink rm sed seq sleep stat tail tee test touch tr \
	true wc yes dd printf cut sort uniq awk nproc; do
	ln -s busybox "$r/bin/$a"
done
cat >"$r/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
user:x:1000:1000:user:/home/user:/bin/sh
EOF
cat >"$r/etc/group" <<'EOF'
root:x:0:
users:x:100:user
nogroup:x:65534:
user:x:1000:
EOF
echo "image" >"$r/etc/motd"
[ -z "$evil" ] || ln -s "$evil" "$r/evil"
# owners as the image has them, whoever builds it
tar -C "$r" --numeric-owner --owner=0 --group=0 -cf "$out" .
