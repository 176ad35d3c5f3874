#!/usr/bin/env bash
# The README's main command: install what is missing, build everything,
# then show the product at work, with no network and no image download.
#
# Part 1, the union filesystem (build/fs/layerfs) on three small layers
# made here:
#
#   bottom  a tiny "image": etc/, app/, data/{a,b,c}
#   middle  deletes etc/motd with a .wh.motd whiteout and replaces data/
#           with an opaque directory (.wh..wh..opq), like an image layer
#   upper   empty and writable, like a container's layer
#
# Part 2, images and containers (build/tools/layerctl) in a store of its
# own in the temp dir: an image made from the host's busybox-static, a
# container that changes a file and deletes one, layerctl diff, commit,
# and a container of the new image that shows the change.
#
# Every claim printed is also checked; the script exits 0 only if all hold.
# Everything is cleaned up on exit, also on failure or Ctrl-C: containers
# removed, nothing left mounted or running, the temp dir removed.
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

# Show a shell command, run it (in $PWD, at most $SHOW_TIMEOUT seconds),
# then show its output indented. The output is also left in $OUT for the
# checks that follow.
SHOW_TIMEOUT=120
show()
{
	local st=0

	printf '  $ %s\n' "$1"
	# To a file, not $(...): a process left behind holding the output
	# open (a container whose launcher died) cannot stall the demo.
	timeout --foreground -k 5 "$SHOW_TIMEOUT" bash -c "$1" >"$T/.out" 2>&1 ||
		st=$?
	OUT=$(cat "$T/.out")
	if [ "$st" -ne 0 ]; then
		[ -n "$OUT" ] && printf '%s\n' "$OUT" | sed 's/^/    /' >&2
		[ "$st" -eq 124 ] &&
			fail "command timed out after ${SHOW_TIMEOUT}s: $1"
		fail "command failed (exit status $st): $1"
	fi
	if [ -n "$OUT" ]; then
		printf '%s\n' "$OUT" | sed 's/^/    /'
	elif [ "${1#ls }" != "$1" ]; then
		echo "    (empty)"
	fi
}

# has_line TEXT LINE: does TEXT have LINE as one of its lines?
has_line()
{
	printf '%s\n' "$1" | grep -qxF -- "$2"
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
	local log

	log=${TMPDIR:-/tmp}/layerfs-demo-build.$(id -u).log

	bash scripts/install-deps.sh
	printf 'building everything into build/ ... '
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

# ---- part 2: images and containers with layerctl ---------------------

# Can this machine run containers? 0 if so, else prints why not.
why_no_containers()
{
	[ "$(id -u)" -eq 0 ] && return 0
	# Rootless, layerctl run needs a user namespace (and the FUSE mount
	# that part 1 already made work).
	if ! unshare --user --map-root-user true 2>/dev/null; then
		echo "not root, and this machine does not let $(id -un) create a user namespace (unshare -Ur fails); run the demo as root"
		return 1
	fi
	return 0
}

# A rootfs from the host's static busybox: bin/busybox and a symlink per
# applet, etc/passwd, etc/group, and etc/issue for the container to delete.
make_rootfs()
{
	local r=$T/rootfs a n=0 ld

	[ -x /bin/busybox ] || fail "no /bin/busybox (Debian package busybox-static)"
	ld=$(LC_ALL=C ldd /bin/busybox 2>&1 || true)
	[ "${ld#*not a dynamic executable}" != "$ld" ] ||
		fail "/bin/busybox is not statically linked (Debian package busybox-static)"
	mkdir -p "$r/bin" "$r/etc" "$r/root" "$r/tmp"
	chmod 700 "$r/root"
	chmod 1777 "$r/tmp"
	cp /bin/busybox "$r/bin/busybox"
	for a in $("$r/bin/busybox" --list); do
		case "$a" in
		busybox | */* | .*) continue ;;
		esac
		ln -s busybox "$r/bin/$a"
		n=$((n + 1))
	done
	[ "$n" -gt 100 ] || fail "busybox --list gave only $n applets"
	put "$r/etc/passwd" "root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false"
	put "$r/etc/group" "root:x:0:
nogroup:x:65534:"
	put "$r/etc/issue" "Demo Linux (busybox) \\n \\l"
	APPLETS=$n
}

# The layer directories of an image, top first, as inspect prints them.
lowerdirs_of()
{
	"$LAYERCTL" --root store inspect --lowerdirs "$1"
}

# The LAYERS column of `layerctl images` for REF in $OUT.
layers_in_images()
{
	printf '%s\n' "$OUT" | awk -v r="$1" '$1 == r { print $3 }'
}

# etc_listing PRESENT ABSENT WHAT: $OUT (an ls) has PRESENT, not ABSENT.
etc_listing()
{
	has_line "$OUT" "$1" || fail "$3 has no $1"
	if has_line "$OUT" "$2"; then
		fail "$3 still has $2"
	fi
}

containers()
{
	# The header line of `layerctl ps`, then one line per container.
	"$LAYERCTL" --root store ps | awk 'NR > 1 { print $1 }'
}

demo_containers()
{
	local img=demo-busybox:1 img2=demo-busybox:2 base cmd

	say "part 2: an image made from the host's busybox-static (no network), run, changed, committed"
	make_rootfs
	echo "  rootfs/ has bin/busybox, $APPLETS applet symlinks to it, etc/passwd, etc/group, etc/issue:"
	show 'ls -F rootfs'
	show 'ls rootfs/etc'
	show 'tar --numeric-owner --owner=0 --group=0 --sort=name -C rootfs -cf busybox.tar .'
	echo "  a store of its own (--root store), imported as a one-layer image:"
	show "layerctl --root store load --tag $img busybox.tar"
	show 'layerctl --root store images'
	assert_eq "$(layers_in_images "$img")" 1 "layers of $img in layerctl images"
	base=$(lowerdirs_of "$img")
	assert_file "$base/etc/issue" "the unpacked layer $base has no etc/issue"
	assert_file "$base/bin/busybox" "the unpacked layer $base has no bin/busybox"

	say "run a command in a container (its own union, pid/uts/ipc/net namespaces): write /etc/motd, delete /etc/issue"
	# The command runs in the container's sh, not here: no expansion now.
	# shellcheck disable=SC2016
	cmd='echo "written in container $(hostname)" >/etc/motd; rm /etc/issue; echo "I am PID $$ on host $(hostname), network: $(ls /sys/class/net)"; ls /etc'
	show "layerctl --root store run --name demo $img sh -c '$cmd'"
	has_line "$OUT" "I am PID 1 on host demo, network: lo" ||
		fail "the container's process is not PID 1 on host 'demo' with only a loopback"
	etc_listing motd issue "/etc inside the container"
	echo "  the image's layer is untouched (it still has etc/issue, no etc/motd):"
	# shellcheck disable=SC2016 # expanded by show's shell
	show 'ls $(layerctl --root store inspect --lowerdirs '"$img"')/etc'
	assert_exists "$base/etc/issue" "the container's rm reached the image layer"
	assert_not_exists "$base/etc/motd" "the container's write reached the image layer"
	echo "  the container stays (stopped) until layerctl rm:"
	show 'layerctl --root store ps'
	printf '%s\n' "$OUT" | grep -qE '^demo .*exited \(0\)' ||
		fail "layerctl ps does not show container demo as exited (0)"

	say "layerctl diff: the container's changes, read from its upper layer, like docker diff"
	show 'layerctl --root store diff demo'
	assert_eq "$OUT" $'C /etc\nD /etc/issue\nA /etc/motd' "layerctl diff demo"
	echo "  as an OCI layer tar, the deletion is a .wh. whiteout (as in part 1):"
	show 'layerctl --root store diff --tar demo | tar -tvf -'
	printf '%s\n' "$OUT" | grep -qE ' etc/\.wh\.issue$' ||
		fail "diff --tar has no etc/.wh.issue whiteout"
	printf '%s\n' "$OUT" | grep -qE '^-[rwx-]{9} 0/0 .* etc/motd$' ||
		fail "diff --tar has no etc/motd owned by 0/0 (the container's root wrote it)"

	say "commit the container as a new image: the parent's layer plus one"
	show "layerctl --root store commit demo $img2"
	printf '%s\n' "$OUT" | grep -qE '^sha256:[0-9a-f]{64}$' ||
		fail "commit did not print the new image's digest"

	say "run the new image: the change is in it"
	show "layerctl --root store run --rm $img2 cat /etc/motd"
	has_line "$OUT" "written in container demo" ||
		fail "/etc/motd in $img2 is not what the container wrote"
	show "layerctl --root store run --rm $img2 ls /etc"
	etc_listing motd issue "/etc of $img2"
	echo "  and the old image is as it was:"
	show "layerctl --root store run --rm $img ls /etc"
	etc_listing issue motd "/etc of $img"
	show 'layerctl --root store images'
	assert_eq "$(layers_in_images "$img")" 1 "layers of $img in layerctl images"
	assert_eq "$(layers_in_images "$img2")" 2 "layers of $img2 in layerctl images"

	say "remove the container: nothing is left running or mounted"
	[ "$(containers)" = demo ] ||
		fail "containers left besides demo (run --rm should remove its own): $(containers | tr '\n' ' ')"
	show 'layerctl --root store rm demo'
	show 'layerctl --root store ps'
	[ -z "$(containers)" ] || fail "containers left after rm: $(containers | tr '\n' ' ')"
	[ -z "$(mi_mounts_under "$T")" ] ||
		fail "still mounted: $(mi_mounts_under "$T" | tr '\n' ' ')"
}

# On any exit: unmount what is still mounted in the store, remove the
# containers with layerctl rm, then the library's cleanup (unmount, kill
# our PIDs, remove $T, exit with RC).
demo_cleanup()
{
	local rc=$1 m d pids

	trap '' INT TERM HUP
	set +e +u
	if [ -d "$T/store/containers" ]; then
		# A container whose `layerctl run` was killed keeps running
		# (its PID 1 ignores TERM): kill it, by the PID ps gives.
		pids=$("$LAYERCTL" --root "$T/store" ps 2>/dev/null |
			sed -n 's/.*running (pid \([0-9][0-9]*\)).*/\1/p')
		if [ -n "$pids" ]; then
			# shellcheck disable=SC2086 # one PID a word
			kill -KILL $pids 2>/dev/null
			# shellcheck disable=SC2086
			_lfs_wait_gone 5 $pids
		fi
		while IFS= read -r m; do
			[ -n "$m" ] && _lfs_force_umount "$m"
		done < <(mi_mounts_under "$T/store")
		for d in "$T"/store/containers/*/; do
			[ -d "$d" ] || continue
			d=${d%/}
			"$LAYERCTL" --root "$T/store" rm "${d##*/}" >/dev/null 2>&1 ||
				printf 'cleanup: layerctl rm %s failed\n' "${d##*/}" >&2
		done
	fi
	cleanup "$rc"
}

main()
{
	build
	LAYERFS=${LAYERFS:-$root/build/fs/layerfs}
	[ -x "$LAYERFS" ] ||
		die "no layerfs daemon at $LAYERFS (is fs/ built yet?)"
	LAYERCTL=$root/build/tools/layerctl
	[ -x "$LAYERCTL" ] || die "no layerctl at $LAYERCTL (is tools/ built yet?)"
	[ -c /dev/fuse ] || die "this machine has no /dev/fuse"
	{ : <>/dev/fuse; } 2>/dev/null ||
		die "$(id -un) cannot open /dev/fuse ($(stat -c '%A %U' /dev/fuse)): run the demo as root, or make /dev/fuse usable (Debian sets crw-rw-rw-)"
	command -v fusermount3 >/dev/null || die "fusermount3 missing (Debian package fuse3)"

	# The test library gives the demo the same trap-protected mounts
	# and clean-up as the tests: nothing is left mounted or running.
	export LAYERFS LAYERCTL LFS_TMP_PREFIX=lfs-demo
	# shellcheck source=tests/integ/lib.sh
	. "$root/tests/integ/lib.sh"
	trap 'demo_cleanup $?' EXIT
	trap 'demo_cleanup 130' INT
	trap 'demo_cleanup 143' TERM
	trap 'demo_cleanup 129' HUP
	export PATH=$root/build/tools:$PATH
	make_layers
	cd "$T"
	demo
	if why=$(why_no_containers); then
		demo_containers
		cd "$root"
		say "demo finished: whiteouts, opaque directories, copy-up, a clean unmount; an image from busybox, a container, diff, commit, the new image"
	else
		cd "$root"
		say "part 2 (containers) skipped: $why"
		say "demo finished: whiteouts, opaque directories, copy-up and a clean unmount"
	fi
}

main "$@"
