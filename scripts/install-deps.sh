#!/usr/bin/env bash
# Install the Debian packages layerfs needs, only those missing.
# Usage: scripts/install-deps.sh [build|test|bench]...
#   build  compilers, meson and the libraries (always included)
#   test   also the peers and clients the integration tests drive
#   bench  also what the benchmarks run (fio, mmdebstrap, ...); the peers
#          they compare against come with test
# Quiet when everything is already there.
set -euo pipefail

build_pkgs=(
	gcc clang meson ninja-build pkg-config
	libfuse3-dev fuse3 libarchive-dev libzstd-dev libxxhash-dev
	libcmocka-dev libssl-dev libjson-c-dev zlib1g-dev
	busybox-static attr acl
)
test_pkgs=(
	clang-format zstd gzip xz-utils python3 util-linux procps psmisc
	fuse-overlayfs unionfs-fuse
	umoci skopeo podman buildah runc crun docker-registry uidmap containerd
	libclang-rt-14-dev
)
bench_pkgs=(
	fio hyperfine mmdebstrap debootstrap time bc
)

want=("${build_pkgs[@]}")
for set in "$@"; do
	case "$set" in
	build) ;;
	test) want+=("${test_pkgs[@]}") ;;
	bench) want+=("${bench_pkgs[@]}") ;;
	*) echo "install-deps: unknown set '$set' (build, test, bench)" >&2; exit 2 ;;
	esac
done

missing=()
for p in "${want[@]}"; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$st" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing Debian packages: ${missing[*]}" >&2
	echo "install-deps: run as root, or: sudo apt-get install -y ${missing[*]}" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has no package lists yet; update once, then retry once.
if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/layerfs-apt.log 2>&1; then
	apt-get update -q >>/tmp/layerfs-apt.log 2>&1 || true
	if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >>/tmp/layerfs-apt.log 2>&1; then
		tail -20 /tmp/layerfs-apt.log >&2
		echo "install-deps: apt-get install failed (log: /tmp/layerfs-apt.log)" >&2
		exit 1
	fi
fi
