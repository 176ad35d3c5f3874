#!/usr/bin/env bash
# Many lower layers: 1, 2, 50 and 500. Layer i (1 = top, the leftmost in
# lowerdir) has a unique file u<i>, a file "common" that says "layer <i>"
# (the top one must win) and shared/s<i> (a directory merged over all
# layers). With 30 layers or more: layer 10 whites out "hidden", which
# layers 20 and 40 have; layer 30 makes "opq" opaque: opq/above5 (layer 5)
# and opq/in30 show, opq/below<i> (layers 31...) do not. The 50-layer set
# uses the OCI forms (.wh.hidden, .wh..wh..opq); as root, the 500-layer set
# uses the overlayfs forms (a 0/0 character device, trusted.overlay.opaque).
# Checks: the tree, copy-up from the bottom layer, the mount time; and a
# read-only mount (no upperdir) of the 50 layers, where writes get EROFS.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_fuse

now_us()
{
	local t=$EPOCHREALTIME

	printf '%s\n' "${t/./}"
}

fmt_s()
{
	printf '%d.%03d' $(($1 / 1000000)) $(($1 % 1000000 / 1000))
}

# build K FORMAT: $T/K/L1 (top) ... $T/K/L<K> (bottom); FORMAT oci|ovl.
build()
{
	local k=$1 fmt=$2 i d

	for ((i = 1; i <= k; i++)); do
		d=$T/$k/L$i
		mkdir -p "$d/shared"
		echo "u$i" >"$d/u$i"
		echo "layer $i" >"$d/common"
		echo "s$i" >"$d/shared/s$i"
	done
	[ "$k" -ge 30 ] || return 0
	echo "hidden in 20" >"$T/$k/L20/hidden"
	echo "hidden in 40" >"$T/$k/L40/hidden"
	mkdir -p "$T/$k/L5/opq" "$T/$k/L30/opq"
	echo "above" >"$T/$k/L5/opq/above5"
	echo "in30" >"$T/$k/L30/opq/in30"
	for ((i = 31; i <= k; i += 7)); do
		mkdir -p "$T/$k/L$i/opq"
		echo "below" >"$T/$k/L$i/opq/below$i"
	done
	case "$fmt" in
	oci)
		: >"$T/$k/L10/.wh.hidden"
		: >"$T/$k/L30/opq/.wh..wh..opq"
		;;
	ovl)
		mknod "$T/$k/L10/hidden" c 0 0
		setfattr -n trusted.overlay.opaque -v y "$T/$k/L30/opq"
		;;
	esac
}

lowers_of()
{
	local k=$1 i s=

	for ((i = 1; i <= k; i++)); do
		s+="${s:+:}$T/$k/L$i"
	done
	printf '%s' "$s"
}

# The root listing the union of K layers must show.
expected_root()
{
	local k=$1 i

	{
		echo common
		echo shared
		[ "$k" -lt 30 ] || echo opq
		for ((i = 1; i <= k; i++)); do echo "u$i"; done
	} | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//'
}

check_tree()
{
	local k=$1 m=$2 i n

	assert_ls "$m" "$(expected_root "$k")" "root of $k layers"
	assert_file_text "$m/common" "layer 1" "common: the top layer wins ($k layers)"
	for i in 1 $((k / 2 + 1)) "$k"; do
		assert_file_text "$m/u$i" "u$i"
	done
	n=$(find "$m/shared" -mindepth 1 | wc -l)
	assert_eq "$n" "$k" "entries of the merged shared/ ($k layers)"
	assert_file_text "$m/shared/s$k" "s$k"
	assert_file_text "$m/shared/s1" "s1"
	if [ "$k" -ge 30 ]; then
		assert_not_exists "$m/hidden" "hidden (whited out in layer 10) shows with $k layers"
		assert_ls "$m/opq" "above5 in30" "opq (opaque in layer 30) with $k layers"
		assert_not_exists "$m/opq/below31"
	fi
	# never a whiteout or marker through the mount
	n=$(find "$m" -name '.wh.*' | wc -l)
	assert_eq "$n" 0 "whiteout names visible ($k layers)"
	n=$(find "$m" -type c | wc -l)
	assert_eq "$n" 0 "character devices visible ($k layers)"
}

run_set()
{
	local k=$1 fmt=$2 m up wk t0 t1 t2

	build "$k" "$fmt"
	up=$T/$k/upper
	wk=$T/$k/work
	m=$T/$k/mnt
	mkdir -p "$up" "$wk"
	t0=$(now_us)
	lfs_mount "$m" "lowerdir=$(lowers_of "$k")" "upperdir=$up" "workdir=$wk"
	t1=$(now_us)
	check_tree "$k" "$m"
	t2=$(now_us)
	note "$(printf '%3d lowers (%s): mount %ss, tree checks %ss' "$k" "$fmt" \
		"$(fmt_s $((t1 - t0)))" "$(fmt_s $((t2 - t1)))")"

	# copy-up from the bottom layer
	echo "appended" >>"$m/u$k"
	assert_file_content "$m/u$k" $'u'"$k"$'\nappended\n'
	assert_file_content "$up/u$k" $'u'"$k"$'\nappended\n' "copy-up of u$k"
	assert_file_content "$T/$k/L$k/u$k" "u$k"$'\n' "bottom layer untouched"
	echo "changed" >"$m/shared/s$k"
	assert_file_text "$up/shared/s$k" "changed"
	assert_file_text "$T/$k/L$k/shared/s$k" "s$k"
	# a name the top layer wins: the copy comes from layer 1
	echo "more" >>"$m/common"
	assert_file_content "$up/common" $'layer 1\nmore\n'
	if [ "$k" -ge 30 ]; then
		# the whited-out name can be made anew; the opaque dir takes files
		echo "new" >"$m/hidden"
		assert_file_text "$m/hidden" "new"
		echo "x" >"$m/opq/new"
		assert_ls "$m/opq" "above5 in30 new"
	fi
	lfs_umount "$m"

	# the same tree after a remount, with the changes
	lfs_mount "$m" "lowerdir=$(lowers_of "$k")" "upperdir=$up" "workdir=$wk"
	assert_file_content "$m/u$k" $'u'"$k"$'\nappended\n'
	assert_file_text "$m/shared/s$k" "changed"
	assert_eq "$(find "$m/shared" -mindepth 1 | wc -l)" "$k" "merged shared/ after remount"
	[ "$k" -lt 30 ] || assert_ls "$m/opq" "above5 in30 new"
	lfs_umount "$m"
}

run_set 1 oci
run_set 2 oci
run_set 50 oci
if [ "$(id -u)" -eq 0 ] && command -v setfattr >/dev/null; then
	run_set 500 ovl
else
	note "not root: the 500-layer set uses the OCI forms"
	run_set 500 oci
fi

note "read-only: 50 lowers, no upperdir"
rm -rf "$T/50/upper" "$T/50/work"
m=$T/ro
t0=$(now_us)
lfs_mount "$m" "lowerdir=$(lowers_of 50)"
t1=$(now_us)
note "50 lowers read-only: mount $(fmt_s $((t1 - t0)))s"
case ",$(findmnt -n -o OPTIONS "$m" 2>/dev/null || echo ro)," in
*,ro,*) ;;
*) fail "a mount without upperdir is not ro: $(findmnt -n -o OPTIONS "$m")" ;;
esac
check_tree 50 "$m"
erofs=("Read-only file system")
assert_fails_with "${erofs[0]}" touch "$m/new"
assert_fails_with "${erofs[0]}" sh -c "echo x >>'$m/u50'"
assert_fails_with "${erofs[0]}" sh -c "echo x >'$m/common'"
assert_fails_with "${erofs[0]}" rm "$m/u1"
assert_fails_with "${erofs[0]}" rm "$m/shared/s50"
assert_fails_with "${erofs[0]}" mkdir "$m/newdir"
assert_fails_with "${erofs[0]}" mv "$m/u2" "$m/u2.moved"
assert_fails_with "${erofs[0]}" chmod 0600 "$m/u3"
assert_fails_with "${erofs[0]}" ln -s u1 "$m/link"
assert_fails_with "${erofs[0]}" truncate -s 0 "$m/u4"
assert_fails_with "${erofs[0]}" touch -d @0 "$m/u5"
check_tree 50 "$m"
assert_file_content "$T/50/L50/u50" $'u50\n' "nothing reached the lower"
assert_file_text "$T/50/L1/common" "layer 1"
lfs_umount "$m"
note "ok"
