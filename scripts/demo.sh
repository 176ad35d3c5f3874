#!/usr/bin/env bash
# The README's main command: build layerfs, then show the union at work on
# three small layers made here (no network, no image needed):
#
#   bottom  a tiny "image": etc/, app/, data/{a,b,c}
#   middle  deletes etc/motd with a .wh.motd whiteout and replaces data/
#           with an opaque directory (.wh..wh..opq), like an image layer
#   upper   empty and writable, like a container's layer
#
# Every claim printed is also checked; the script exits 0 only if all hold.
# LAYERFS=/path/to/daemon runs the demo with another daemon that has the
# same command line (e.g. /usr/bin/fuse-overlayfs).
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)

die()
{
	printf 'demo: %s\n' "$*" >&2
	exit 1
}

say()
{
	printf '\n==> %s\n' "$*"
}

# Show a shell command, run it, then show its output indented.
show()
{
	local out

	printf '  $ %s\n' "$1"
	out=$(bash -c "$1" 2>&1) || {
		printf '%s\n' "$out" >&2
		fail "command failed: $1"
	}
	if [ -n "$out" ]; then
		printf '%s\n' "$out" | sed 's/^/    /'
	elif [ "${1#ls }" != "$1" ]; then
		echo "    (empty)"
	fi
}

# The tree under a directory: type/mode and path, sorted by path.
tree_of()
{
	printf '  $ find %s\n' "$1"
	find "$1" -mindepth 1 -printf '%P\t%M\n' | LC_ALL=C sort |
		awk -F'\t' '{ printf "    %s  %s\n", $2, $1 }
			END { if (NR == 0) print "    (empty)" }'
}

build()
{
	local log=/tmp/layerfs-demo-build.log

	bash scripts/install-deps.sh
	printf 'building layerfs into build/ ... '
	if ! { [ -f build/build.ninja ] || meson setup build; } >"$log" 2>&1 ||
		! meson compile -C build >>"$log" 2>&1; then
		echo "failed"
		tail -n 30 "$log" >&2
		die "build failed (full log: $log)"
	fi
	echo "done"
}

make_layers()
{
	local b=$T/bottom m=$T/middle

	put "$b/etc/os-release" 'NAME="Demo Linux"'
	put "$b/etc/motd" "Welcome to the bottom layer"
	put "$b/app/config" "color=blue"
	put "$b/app/bin/start" $'#!/bin/sh\necho started'
	chmod 755 "$b/app/bin/start"
	put "$b/data/a" "a"
	put "$b/data/b" "b"
	put "$b/data/c" "c"

	# OCI whiteouts: an empty ".wh.NAME" deletes NAME from the layers
	# below; ".wh..wh..opq" hides everything below in its directory.
	put "$m/app/VERSION" "2.0"
	mkdir -p "$m/etc" "$m/data"
	: >"$m/etc/.wh.motd"
	: >"$m/data/.wh..wh..opq"
	put "$m/data/fresh" "from the middle layer"

	mkdir -p "$T/upper" "$T/work" "$T/merged"
}

# The upper layer records a deletion as ".wh.NAME" (layerfs' default) or
# as a 0/0 character device named NAME (overlayfs format, fuse-overlayfs).
is_whiteout_in()
{
	local dir=$1 name=$2

	[ -f "$dir/.wh.$name" ] && return 0
	[ -c "$dir/$name" ] &&
		[ "$(stat -c '%t:%T' "$dir/$name")" = "0:0" ]
}

demo()
{
	say "three layers: bottom (an image), middle (an image layer that deletes and replaces), upper (empty, writable)"
	tree_of bottom
	tree_of middle
	tree_of upper

	say "mount them: lowerdir is top:...:bottom, like overlayfs"
	printf '  $ %s -f -o lowerdir=middle:bottom,upperdir=upper,workdir=work merged &\n' \
		"${LAYERFS#"$root"/}"
	lfs_mount "$T/merged" "lowerdir=$T/middle:$T/bottom" \
		"upperdir=$T/upper" "workdir=$T/work"
	echo "    mounted (daemon pid $LFS_PID)"

	say "the merged tree: both layers, nothing .wh.-shaped"
	tree_of merged
	[ -z "$(find merged -name '.wh.*' -print -quit)" ] ||
		fail "a .wh. entry is visible through the mount"
	assert_file_text merged/app/VERSION "2.0"
	assert_file_text merged/app/config "color=blue"

	say "middle's .wh.motd deleted etc/motd, though bottom still has it"
	show 'ls -A bottom/etc'
	show 'ls -A merged/etc'
	assert_not_exists merged/etc/motd
	assert_exists bottom/etc/motd

	say "middle's data/ is opaque: bottom's a, b, c are hidden"
	show 'ls -A bottom/data'
	show 'ls -A middle/data'
	show 'ls -A merged/data'
	assert_ls merged/data "fresh"

	say "copy-up: append to bottom's app/config through the mount"
	show 'echo color=red >> merged/app/config'
	show 'cat merged/app/config'
	echo "  bottom is unchanged:"
	show 'cat bottom/app/config'
	echo "  the upper layer now holds the whole file:"
	show 'cat upper/app/config'
	assert_file_text bottom/app/config "color=blue"
	assert_file_text upper/app/config $'color=blue\ncolor=red'

	say "delete bottom's etc/os-release through the mount"
	show 'rm merged/etc/os-release'
	show 'ls -A merged/etc'
	echo "  bottom still has it; the upper records the deletion as a whiteout:"
	show 'ls -A bottom/etc'
	show 'ls -la upper/etc'
	assert_not_exists merged/etc/os-release
	assert_exists bottom/etc/os-release
	is_whiteout_in upper/etc os-release ||
		fail "no whiteout for os-release in upper/etc"

	say "unmount: the daemon exits 0 and the changes stay in upper"
	printf '  $ fusermount3 -u merged\n'
	lfs_umount "$T/merged"
	tree_of upper
}

main()
{
	build
	LAYERFS=${LAYERFS:-$root/build/fs/layerfs}
	[ -x "$LAYERFS" ] ||
		die "no layerfs daemon at $LAYERFS (is fs/ built yet?)"
	[ -c /dev/fuse ] || die "this machine has no /dev/fuse"
	command -v fusermount3 >/dev/null || die "fusermount3 missing (Debian package fuse3)"

	# The test library gives the demo the same trap-protected mounts
	# and clean-up as the tests: nothing is left mounted or running.
	export LAYERFS LFS_TMP_PREFIX=lfs-demo
	# shellcheck source=tests/integ/lib.sh
	. "$root/tests/integ/lib.sh"
	make_layers
	cd "$T"
	demo
	cd "$root"
	say "demo finished: whiteouts, opaque directories, copy-up and a clean unmount"
}

main "$@"
