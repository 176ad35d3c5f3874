#!/usr/bin/env bash
# podman and buildah with layerfs as containers/storage's mount program
# (`--storage-opt overlay.mount_program=...`, also in storage.conf), as
# root and rootless, each in private directories: their own graphroot and
# runroot (--root, --runroot, storage.conf), tmp,
# static, volume and network dirs (containers.conf), registries.conf and
# policy.json; the machine's global container state is compared before and
# after and must not change.
#
# For each of root and a created user with /etc/subuid ranges:
#   podman load (an image built by the test), run with an exit code, a
#   deletion and a volume, diff, commit, run of the committed image, run
#   -d + exec (exit code) + stop, run --rm (volatile), run -u 1000; then
#   buildah from, run, mount, commit on the same storage, and podman runs
#   buildah's image. Every mount is checked to be a layerfs one.
# The mount program is a wrapper that records each argv (cl_wrapper): the
# set of shapes podman/buildah passed must be exactly the expected one, so
# a change in the clients' contract fails here, with the difference.
# Last, what fuse-overlayfs cannot do here and layerfs can: rename(2) of an
# image directory inside a podman container (fuse-overlayfs 1.10: EXDEV).
#
# Workarounds: podman load/commit and buildah commit as root run with a
# tmpfs over /var/lib/containers/cache (NO_GLOBAL_CACHE: they always write
# their blob-info cache there). This machine also needs: --ulimit
# nofile/nproc on every run (no CAP_SYS_RESOURCE in this sandbox); runtime runc (crun 1.8 refuses the
# hybrid cgroup v1 set-up); cgroup_manager cgroupfs (no systemd); no
# network (--network none: no slirp4netns or netavark here, none needed).
# shellcheck disable=SC2016
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/clientlib.sh"

need_root
need_fuse
need_userns
need_cmd podman buildah runc runuser useradd userdel cc pgrep fuse-overlayfs
[ -x /bin/busybox ] ||
	skip "needs /bin/busybox (scripts/install-deps.sh test installs busybox-static)"

ULIM=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

global_before=$(cl_global_snapshot)
cl_image
cl_user
cl_user_home

# pdenv DIR MOUNT_PROGRAM: the private configuration in DIR.
pdenv()
{
	local d=$1 mp=$2

	mkdir -p "$d/root" "$d/runroot" "$d/tmp" "$d/cni" "$d/vol"
	echo "$mp" >"$d/mount_program"
	cat >"$d/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$d/root"
runroot = "$d/runroot"
[storage.options.overlay]
mount_program = "$mp"
EOF
	cat >"$d/containers.conf" <<EOF
[containers]
netns = "none"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$d/tmp"
static_dir = "$d/root/libpod"
volume_path = "$d/root/volumes"
[network]
network_config_dir = "$d/cni"
EOF
	printf 'unqualified-search-registries = []\n' >"$d/registries.conf"
	printf '{"default":[{"type":"insecureAcceptAnything"}]}\n' >"$d/policy.json"
}

# The environment and the global flags that keep a client in DIR.
envof()
{
	local d=$1

	printf '%s\n' "CONTAINERS_STORAGE_CONF=$d/storage.conf" \
		"CONTAINERS_CONF=$d/containers.conf" \
		"CONTAINERS_REGISTRIES_CONF=$d/registries.conf"
}

# NO_GLOBAL_CACHE: a command prefix that runs the command in a mount
# namespace of its own where a tmpfs covers /var/lib/containers/cache (or
# the nearest existing parent). podman 4.3's load and commit and buildah
# 1.28's commit, as root, write containers/image's blob-info cache there
# whatever --root says, and have no option to move it; cli() uses it for
# them.
cache_dir=/var/lib/containers/cache
[ -d "$cache_dir" ] || cache_dir=/var/lib/containers
[ -d "$cache_dir" ] || cache_dir=/var/lib
NO_GLOBAL_CACHE=(unshare -m --propagation private sh -c
	'mount -t tmpfs lfs-cache "$1" && shift && exec "$@"' sh "$cache_dir")

# store_flags DIR: the global flags of DIR's storage in STORE_FLAGS.
# With --root, podman 4.3 drops storage.conf's options: the mount program
# comes as the issue asks, with --storage-opt.
store_flags()
{
	STORE_FLAGS=(--root "$1/root" --runroot "$1/runroot"
		--storage-driver overlay
		--storage-opt "overlay.mount_program=$(cat "$1/mount_program")")
}

# cli DIR AS PROG ARGS...: run podman or buildah (PROG) on DIR's storage,
# as root (AS=root) or as the test user (AS=user).
cli()
{
	local d=$1 as=$2 prog=$3 env=()

	shift 3
	mapfile -t env < <(envof "$d")
	store_flags "$d"
	local flags=("${STORE_FLAGS[@]}")
	[ "$prog" = podman ] && flags+=(--tmpdir "$d/tmp")
	if [ "$as" = user ]; then
		as_user env "${env[@]}" "$prog" "${flags[@]}" "$@"
	elif [ "$1" = load ] || [ "$1" = commit ]; then
		"${NO_GLOBAL_CACHE[@]}" env "${env[@]}" "$prog" "${flags[@]}" "$@"
	else
		env "${env[@]}" "$prog" "${flags[@]}" "$@"
	fi
}

# The containers a failed run leaves are stopped before the unmounts.
stop_all()
{
	local d as

	for d in "$T"/pd-*; do
		[ -d "$d" ] || continue
		as=root
		[ "${d##*-}" = user ] && as=user
		cli "$d" "$as" podman rm -a -f -t 0
		cli "$d" "$as" buildah rm -a
	done
}
cl_on_cleanup stop_all

# merged_of DIR AS CTR: the container's union mountpoint
merged_of()
{
	cli "$1" "$2" podman inspect --format '{{.GraphDriver.Data.MergedDir}}' "$3"
}

# fstype_at DIR AS PATH: the file system type of the mount at PATH, as
# the client sees it (the user's podman mounts in its own namespaces:
# read them through podman unshare).
fstype_at()
{
	local d=$1 as=$2 path=$3 mi

	if [ "$as" = user ]; then
		mi=$(cli "$d" user podman unshare cat /proc/self/mountinfo)
	else
		mi=$(cat /proc/self/mountinfo)
	fi
	awk -v m="$path" '$5 == m { for (i = 7; $i != "-"; i++); print $(i + 1) }' \
		<<<"$mi" | tail -1
}

# ---- podman ---------------------------------------------------------------

# podman_flow AS: the podman part for root or the user; DIR=$T/pd-AS
podman_flow()
{
	local as=$1 d=$T/pd-$1 out rc m img=localhost/lfs/bb:1

	note "podman as $as"
	cl_wrapper "$d/bin"
	pdenv "$d" "$d/bin/layerfs"
	echo volume-data >"$d/vol/in"
	[ "$as" = user ] && chown -R "$CL_USER:" "$d"

	out=$(cli "$d" "$as" podman load -q -i "$CL_IMAGE_TAR" 2>&1) ||
		fail "podman load: $out"
	cli "$d" "$as" podman image exists "$img" ||
		fail "podman load did not give $img: $out"

	# run: exit code, deletion, a write, a volume both ways
	rc=0
	out=$(cli "$d" "$as" podman run "${ULIM[@]}" --name c1 \
		-v "$d/vol:/vol" "$img" \
		sh -c 'rm /etc/motd && echo new >/new && cat /vol/in &&
			echo from-ctr >/vol/out && mkdir /home/user/made && exit 3' 2>&1) ||
		rc=$?
	assert_eq "$rc" 3 "podman run exit code ($out)"
	assert_eq "$out" volume-data "podman run read the volume"
	assert_file_text "$d/vol/out" from-ctr "podman run wrote to the volume"

	out=$(cli "$d" "$as" podman diff c1 | sort)
	for want in "D /etc/motd" "A /new" "A /home/user/made" "C /etc"; do
		grep -qxF "$want" <<<"$out" || fail "podman diff lacks '$want': $out"
	done

	# commit, and the committed image carries the changes
	cli "$d" "$as" podman commit -q c1 localhost/lfs/bb:2 >/dev/null
	out=$(cli "$d" "$as" podman run "${ULIM[@]}" --rm localhost/lfs/bb:2 \
		sh -c 'cat /new; test -e /etc/motd && echo motd-back; ls -d /home/user/made')
	assert_eq "$out" "new
/home/user/made" "the committed image"

	# run -d, the mount is layerfs, exec with an exit code, stop
	cli "$d" "$as" podman run "${ULIM[@]}" -d --name c2 "$img" sleep 600 >/dev/null
	m=$(merged_of "$d" "$as" c2)
	assert_eq "$(fstype_at "$d" "$as" "$m")" fuse.layerfs "c2's root file system"
	rc=0
	out=$(cli "$d" "$as" podman exec c2 sh -c 'echo in-c2 >/tmp/e; cat /tmp/e; exit 5') ||
		rc=$?
	assert_eq "$rc" 5 "podman exec exit code"
	assert_eq "$out" in-c2 "podman exec output"
	cli "$d" "$as" podman stop -t 1 c2 >/dev/null
	out=$(cli "$d" "$as" podman inspect --format '{{.State.Status}}' c2)
	assert_eq "$out" exited "c2 after podman stop"
	# stopped: podman unmounted the union
	[ -z "$(fstype_at "$d" "$as" "$m")" ] || fail "c2's union is still mounted after stop"
	out=$(cli "$d" "$as" podman diff c2)
	grep -qxF "A /tmp/e" <<<"$out" || fail "podman diff c2 lacks A /tmp/e: $out"
	cli "$d" "$as" podman rm c2 >/dev/null

	# --rm: volatile container, nothing left
	out=$(cli "$d" "$as" podman run "${ULIM[@]}" --rm --name c3 "$img" \
		sh -c 'echo gone >/x; cat /x')
	assert_eq "$out" gone "podman run --rm"
	cli "$d" "$as" podman container exists c3 && fail "c3 outlived --rm"
	grep -q 'volatile' "$d/bin/argv.log" ||
		fail "podman run --rm passed no volatile: $(cat "$d/bin/argv.log")"

	# another user in the container: the union serves it too
	out=$(cli "$d" "$as" podman run "${ULIM[@]}" --rm -u 1000 "$img" \
		sh -c 'id -u; touch /tmp/by-user && stat -c %u /tmp/by-user;
			touch /etc/no 2>/dev/null || echo denied')
	assert_eq "$out" "1000
1000
denied" "podman run -u 1000"
}

# ---- buildah --------------------------------------------------------------

buildah_flow()
{
	local as=$1 d=$T/pd-$1 c m out img=localhost/lfs/bb:1

	note "buildah as $as"
	c=$(cli "$d" "$as" buildah from --pull-never "$img")
	cli "$d" "$as" buildah run --network none "$c" -- \
		sh -c 'echo built >/built && rm /etc/group'
	if [ "$as" = user ]; then
		# a rootless mount lives in buildah's user namespace
		# (the buildah inside needs the same storage flags)
		out=$(cli "$d" "$as" buildah unshare sh -c \
			'c=$1; shift
			 m=$(buildah "$@" mount "$c") && cat "$m/built" &&
			 test ! -e "$m/etc/group" && echo no-group &&
			 awk -v m="$m" '"'"'$5 == m { for (i = 7; $i != "-"; i++); print $(i + 1) }'"'"' /proc/self/mountinfo &&
			 buildah "$@" umount "$c" >/dev/null' sh "$c" "${STORE_FLAGS[@]}")
	else
		m=$(cli "$d" "$as" buildah mount "$c")
		out=$(cat "$m/built"; test ! -e "$m/etc/group" && echo no-group
			fstype_at "$d" root "$m")
		cli "$d" "$as" buildah umount "$c" >/dev/null
	fi
	assert_eq "$out" "built
no-group
fuse.layerfs" "buildah mount of the working container"
	cli "$d" "$as" buildah commit -q "$c" localhost/lfs/built:1 >/dev/null
	cli "$d" "$as" buildah rm "$c" >/dev/null
	out=$(cli "$d" "$as" podman run "${ULIM[@]}" --rm localhost/lfs/built:1 \
		sh -c 'cat /built; test -e /etc/group || echo group-gone')
	assert_eq "$out" "built
group-gone" "podman run of buildah's image"
}

# ---- the contract: what podman and buildah passed to the mount program ----

check_argv()
{
	local as=$1 d=$T/pd-$1 got want

	got=$(cl_argv_shapes "$d/bin" "$d/root")
	want=$(
		cat <<'EOF'
argv [-o] [lowerdir=ROOT/overlay/ID/diff:ROOT/overlay/ID/empty] [ROOT/overlay/ID/merged]
argv [-o] [lowerdir=ROOT/overlay/l/L,upperdir=ROOT/overlay/ID/diff,workdir=ROOT/overlay/ID/work,,volatile] [ROOT/overlay/ID/merged]
argv [-o] [lowerdir=ROOT/overlay/l/L,upperdir=ROOT/overlay/ID/diff,workdir=ROOT/overlay/ID/work,] [ROOT/overlay/ID/merged]
argv [-o] [lowerdir=ROOT/overlay/l/L:ROOT/overlay/l/L,upperdir=ROOT/overlay/ID/diff,workdir=ROOT/overlay/ID/work,,volatile] [ROOT/overlay/ID/merged]
EOF
	)
	if [ "$got" != "$want" ]; then
		printf 'expected argv shapes:\n%s\ngot:\n%s\ndiff:\n' "$want" "$got" >&2
		diff <(echo "$want") <(echo "$got") >&2 || true
		fail "the mount program's command line changed ($as)"
	fi
	note "$as: $(wc -l <"$d/bin/argv.log") mounts, $(echo "$got" | wc -l) argv shapes as expected"
}

podman_flow root
buildah_flow root
check_argv root

podman_flow user
buildah_flow user
check_argv user

# ---- what fuse-overlayfs cannot do here: rename(2) of an image dir -------

note "rename(2) of an image directory in a container: layerfs vs fuse-overlayfs"
d=$T/pd-fovl
pdenv "$d" "$(command -v fuse-overlayfs)"
cli "$d" root podman load -q -i "$CL_IMAGE_TAR" >/dev/null
rn='lfs-rename /home /home2; ls /home2'
fo=$(cli "$d" root podman run "${ULIM[@]}" --rm localhost/lfs/bb:1 sh -c "$rn" 2>&1 || true)
lf=$(cli "$T/pd-root" root podman run "${ULIM[@]}" --rm localhost/lfs/bb:1 sh -c "$rn" 2>&1 || true)
note "fuse-overlayfs $(dpkg-query -W -f='${Version}' fuse-overlayfs): $(head -1 <<<"$fo")"
note "layerfs: $(head -1 <<<"$lf")"
assert_eq "$lf" "renamed
user" "rename of /home in a podman container on layerfs"
assert_eq "$(head -1 <<<"$fo")" EXDEV \
	"fuse-overlayfs's answer to the same rename (if this changed, the demo is moot)"

# ---- nothing written outside the private directories ----------------------

stop_all >/dev/null 2>&1
global_after=$(cl_global_snapshot)
if [ "$global_before" != "$global_after" ]; then
	diff <(echo "$global_before") <(echo "$global_after") >&2 || true
	fail "podman/buildah wrote to the machine's global container state"
fi
note "podman $(podman --version | awk '{print $3}'), buildah $(buildah --version | awk '{print $3}'), runc $(runc --version | awk 'NR==1{print $3}')"
