#!/usr/bin/env bash
# OCI runtimes on a layerfs root: a bundle made by `runc spec` (and `runc
# spec --rootless`) whose root.path is a layerfs mount.
#   * root: runc run with an exit code (the write lands in the upper layer,
#     the deletion as a whiteout), runc run -d + runc exec (exit code,
#     output, a write seen by the next exec), kill, delete;
#   * rootless: the created user mounts layerfs itself (fusermount3, no
#     allow_other) and runs the rootless bundle with runc: exit code, exec;
#   * crun 1.8: run on the same bundle. This host's hybrid cgroup set-up
#     (v1 controllers plus a v2 mount) makes crun 1.8 refuse every
#     container, even with --cgroup-manager=disabled; the test checks that
#     it is that refusal and says so, and checks crun's exit code wherever
#     crun starts.
# shellcheck disable=SC2016
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/clientlib.sh"

need_root
need_fuse
need_userns
need_cmd runc crun runuser useradd userdel cc pgrep python3 fusermount3
[ -x /bin/busybox ] ||
	skip "needs /bin/busybox (scripts/install-deps.sh test installs busybox-static)"

cl_image
cl_user
cl_user_home

mkdir -p "$T/lower"
tar -C "$T/lower" -xf "$T/image/layer.tar"

# spec BUNDLE ROOTFS [--rootless] ARGS...: runc spec, then root.path,
# args, no terminal.
spec()
{
	local b=$1 root=$2 rl=()

	shift 2
	[ "${1:-}" = --rootless ] && rl=(--rootless) && shift
	mkdir -p "$b"
	if [ ${#rl[@]} -gt 0 ]; then
		# the rootless spec maps the caller's ids: the user's
		chown "$CL_USER:" "$b"
		as_user runc spec --rootless --bundle "$b"
	else
		runc spec --bundle "$b"
	fi
	python3 - "$b/config.json" "$root" "$@" <<'EOF'
import json, sys
path, root, args = sys.argv[1], sys.argv[2], sys.argv[3:]
c = json.load(open(path))
c["root"] = {"path": root, "readonly": False}
c["process"]["terminal"] = False
c["process"]["args"] = args
c["hostname"] = "lfs-runc"
json.dump(c, open(path, "w"), indent=1)
EOF
}

# runc as root keeps its state in $T; the runtime's containers are
# deleted before the unmounts.
RUNC=(runc --root "$T/runc")
stop_all()
{
	local c

	for c in $("${RUNC[@]}" list -q 2>/dev/null); do
		"${RUNC[@]}" delete -f "$c"
	done
	for c in $(as_user runc --root "$T/home/run/runc" list -q 2>/dev/null); do
		as_user runc --root "$T/home/run/runc" delete -f "$c"
	done
}
cl_on_cleanup stop_all

# ---- root ------------------------------------------------------------------

note "runc as root on a layerfs root"
m=$T/m
mkdir -p "$m" "$T/up" "$T/wk"
lfs_mount "$m" "lowerdir=$T/lower" "upperdir=$T/up" "workdir=$T/wk"

spec "$T/b1" "$m" sh -c 'hostname; echo run >/ran; rm /etc/motd; exit 7'
rc=0
out=$("${RUNC[@]}" run --bundle "$T/b1" lfs-r1 2>&1) || rc=$?
assert_eq "$rc" 7 "runc run exit code ($out)"
assert_eq "$out" lfs-runc "runc run output"
"${RUNC[@]}" delete lfs-r1 2>/dev/null || true
assert_file_text "$T/up/ran" run "the container's write in the upper layer"
assert_file "$T/up/etc/.wh.motd"
assert_not_exists "$m/etc/motd"

spec "$T/b2" "$m" sleep 600
"${RUNC[@]}" run -d --bundle "$T/b2" lfs-r2 </dev/null >"$T/r2.out" 2>&1
assert_eq "$("${RUNC[@]}" state lfs-r2 | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')" \
	running "runc state after run -d"
rc=0
out=$("${RUNC[@]}" exec lfs-r2 sh -c 'cat /ran; echo exec >/tmp/e; exit 4') || rc=$?
assert_eq "$rc" 4 "runc exec exit code"
assert_eq "$out" run "runc exec output"
assert_eq "$("${RUNC[@]}" exec lfs-r2 cat /tmp/e)" exec "a second exec sees the first's write"
"${RUNC[@]}" kill lfs-r2 KILL
"${RUNC[@]}" delete -f lfs-r2
assert_file_text "$T/up/tmp/e" exec "the exec's write in the upper layer"
lfs_umount "$m"

# ---- crun, where it works ---------------------------------------------------

note "crun $(crun --version | awk 'NR==1{print $3}') on the same kind of bundle"
lfs_mount "$m" "lowerdir=$T/lower" "upperdir=$T/up" "workdir=$T/wk"
spec "$T/b3" "$m" sh -c 'cat /ran; exit 9'
rc=0
out=$(crun --root "$T/crun" run --bundle "$T/b3" lfs-c1 2>&1) || rc=$?
crun --root "$T/crun" delete -f lfs-c1 >/dev/null 2>&1 || true
case "$out" in
*"cgroups in hybrid mode not supported"*)
	note "crun refuses this host's hybrid cgroups (rc $rc): '$out'; crun not exercised"
	[ -d /sys/fs/cgroup/unified ] ||
		fail "crun said hybrid mode but /sys/fs/cgroup/unified is not there"
	;;
*)
	assert_eq "$rc" 9 "crun run exit code ($out)"
	assert_eq "$out" run "crun run output"
	;;
esac
lfs_umount "$m"

# ---- rootless --------------------------------------------------------------

note "runc rootless, on a layerfs mounted by the user"
r=$T/rl
mkdir -p "$r/m" "$r/up" "$r/wk" "$r/lower"
chown -R "$CL_USER:" "$r"
# the image as a rootless user has it: unpacked by the user, so the files
# are the user's on disk and root's inside the container
as_user tar -C "$r/lower" -xf "$T/image/layer.tar"
# the user's own mount (through fusermount3), in the user's name; the
# cleanup unmounts it and ends its daemon (it names $T)
as_user "$LAYERFS" -o "lowerdir=$r/lower,upperdir=$r/up,workdir=$r/wk" "$r/m"
grep -q " $r/m .* fuse.layerfs " /proc/self/mountinfo ||
	fail "the user's layerfs mount is not there"

as_user mkdir -p "$T/home/run/runc"
spec "$r/b" "$r/m" --rootless sh -c 'id -u; echo rl >/rl; rm /etc/passwd; exit 3'
rc=0
out=$(as_user runc --root "$T/home/run/runc" run --bundle "$r/b" lfs-u1 2>&1) || rc=$?
assert_eq "$rc" 3 "rootless runc run exit code ($out)"
assert_eq "$out" 0 "rootless runc run: root inside"
as_user runc --root "$T/home/run/runc" delete lfs-u1 2>/dev/null || true
assert_file_text "$r/up/rl" rl "the rootless container's write in the upper layer"
assert_file "$r/up/etc/.wh.passwd"
[ "$(stat -c %u "$r/up/rl")" = "$(id -u "$CL_USER")" ] ||
	fail "the rootless write is not owned by the user on disk"

spec "$r/b2" "$r/m" --rootless sleep 600
as_user runc --root "$T/home/run/runc" run -d --bundle "$r/b2" lfs-u2 \
	</dev/null >"$T/u2.out" 2>&1
rc=0
out=$(as_user runc --root "$T/home/run/runc" exec lfs-u2 sh -c 'cat /rl; exit 6') ||
	rc=$?
assert_eq "$rc" 6 "rootless runc exec exit code"
assert_eq "$out" rl "rootless runc exec output"
as_user runc --root "$T/home/run/runc" kill lfs-u2 KILL
as_user runc --root "$T/home/run/runc" delete -f lfs-u2
as_user fusermount3 -u "$r/m"
grep -q " $r/m " /proc/self/mountinfo && fail "the user's mount is still there"
note "runc $(runc --version | awk 'NR==1{print $3}'): root and rootless bundles on layerfs"
