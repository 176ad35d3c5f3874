#!/usr/bin/env bash
# Smoke test: two lower layers and an upper; lookup order, merged
# directories, copy-up on write, new files land in the upper, clean exit.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_fuse

top=$T/lower-top
bottom=$T/lower-bottom
upper=$T/upper
mkdir -p "$top" "$bottom" "$upper" "$T/work" "$T/mnt"

put "$bottom/only-bottom" "from bottom"
put "$bottom/clash" "bottom"
put "$bottom/dir/b" "b"
put "$top/only-top" "from top"
put "$top/clash" "top"
put "$top/dir/a" "a"

lfs_mount "$T/mnt" "lowerdir=$top:$bottom" "upperdir=$upper" \
	"workdir=$T/work"
m=$T/mnt

note "each layer's files are visible, the top one wins a clash"
assert_file_text "$m/only-bottom" "from bottom"
assert_file_text "$m/only-top" "from top"
assert_file_text "$m/clash" "top"
assert_ls "$m/dir" "a b" "a directory in both layers is merged"

note "a write to a lower file copies it up"
echo "appended" >>"$m/only-bottom"
assert_file_content "$m/only-bottom" $'from bottom\nappended\n'
assert_file_content "$upper/only-bottom" $'from bottom\nappended\n' \
	"the copy in the upper layer"
assert_file_content "$bottom/only-bottom" $'from bottom\n' \
	"the lower layer is untouched"

note "a new file lands in the upper layer only"
put "$m/dir/new" "new"
assert_file_text "$upper/dir/new" "new"
assert_not_exists "$top/dir/new"
assert_not_exists "$bottom/dir/new"
assert_ls "$m/dir" "a b new"

note "unmount: the daemon exits 0 and the upper keeps the writes"
lfs_umount "$m"
assert_not_mounted "$m"
assert_ls "$m" ""
assert_file_content "$upper/only-bottom" $'from bottom\nappended\n'
assert_file_text "$upper/dir/new" "new"
note "ok"
