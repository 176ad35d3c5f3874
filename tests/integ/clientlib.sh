# shellcheck shell=bash
# Shared pieces of the real-clients tests (t-podman, t-runc): source it
# after lib.sh. It gives
#   * cl_image: the test image (tests/integ/runimg.sh's busybox layer plus
#     a static lfs-rename), loaded into a layerctl store and saved as an
#     OCI archive, $CL_IMAGE_TAR, for the clients to load;
#   * cl_wrapper DIR: a mount program that records each argv it gets in
#     DIR/argv.log (one line per call, every argument in [brackets]), then
#     execs $LAYERFS; cl_argv_shapes DIR ROOT prints the recorded calls
#     with ROOT, layer ids and link names replaced, sorted and unique;
#   * cl_user: an unprivileged user with /etc/subuid ranges ($CL_USER), made
#     for the test and removed at the end, with /dev/fuse opened to users
#     for the test's duration (restored after);
#   * cl_on_cleanup CMD: run CMD first in the cleanup (stop the clients'
#     containers before lib.sh unmounts and removes $T); then every
#     process that names $T is ended;
#   * cl_global_snapshot: a listing of the machine's global container
#     directories, to show the test never wrote there.

CL_USER=lfs-clients-user
CL_IMAGE_TAR=

# Processes whose command line names $T (conmon, runc, podman's helpers,
# the layerfs daemons the clients started), ended in the cleanup after the
# tests' own hooks (registered later, so run first) stopped their
# containers.
_cl_end_t_pids()
{
	# shellcheck disable=SC2046 # one PID a word
	lfs_end_pids $(pgrep -f -- "$T/")
}
lfs_on_cleanup _cl_end_t_pids

# cl_on_cleanup CMD: CMD early in the cleanup, quietly (stop the clients'
# containers before their processes end and lib.sh unmounts and removes
# $T).
cl_on_cleanup()
{
	lfs_on_cleanup "$* >/dev/null 2>&1"
}

# cl_user: make $CL_USER (with subordinate ids, as useradd gives by
# default) and let users open /dev/fuse until the end of the test.
cl_user()
{
	if id -u "$CL_USER" >/dev/null 2>&1; then
		fail "user $CL_USER exists already (left by a crashed run?)"
	fi
	lfs_test_user "$CL_USER"
	grep -q "^$CL_USER:" /etc/subuid ||
		fail "useradd gave $CL_USER no /etc/subuid range"
	grep -q "^$CL_USER:" /etc/subgid ||
		fail "useradd gave $CL_USER no /etc/subgid range"
	lfs_open_fuse
	chmod 0711 "$T"
}

# as_user CMD...: CMD as $CL_USER, in a login-like environment of its own
# (HOME and XDG dirs under $T/home, never the machine's).
as_user()
{
	runuser -u "$CL_USER" -- env -i PATH="$PATH" HOME="$T/home" \
		XDG_RUNTIME_DIR="$T/home/run" XDG_CONFIG_HOME="$T/home/config" \
		XDG_DATA_HOME="$T/home/data" LANG=C.UTF-8 "$@"
}

# cl_user_home: the $T/home that as_user uses, owned by the user.
cl_user_home()
{
	mkdir -p "$T/home/run" "$T/home/config" "$T/home/data"
	chmod 0700 "$T/home/run"
	chown -R "$CL_USER:" "$T/home"
}

# cl_image: build the test image; sets CL_IMAGE_TAR (an OCI archive,
# world-readable, ref lfs/bb:1).
cl_image()
{
	local d=$T/image

	mkdir -p "$d/add/bin"
	cc -static -O2 -o "$d/add/bin/lfs-rename" "$SRCDIR/tests/integ/lfs-rename.c" ||
		fail "cannot build a static lfs-rename (cc -static needs libc6-dev)"
	bash "$SRCDIR/tests/integ/runimg.sh" "$d/layer.tar"
	tar -C "$d/add" --numeric-owner --owner=0 --group=0 -rf "$d/layer.tar" \
		./bin/lfs-rename
	"$LAYERCTL" --root "$d/store" load -q --tag lfs/bb:1 "$d/layer.tar" >/dev/null
	"$LAYERCTL" --root "$d/store" save -q lfs/bb:1 "oci-archive:$d/bb.tar:lfs/bb:1" \
		>/dev/null
	chmod 0755 "$d"
	chmod 0644 "$d/bb.tar"
	CL_IMAGE_TAR=$d/bb.tar
}

# cl_wrapper DIR: write DIR/layerfs, a mount program that logs its argv
# to DIR/argv.log and execs $LAYERFS.
cl_wrapper()
{
	local d=$1

	mkdir -p "$d"
	cat >"$d/layerfs" <<EOF
#!/bin/sh
{ printf 'argv'; for a in "\$@"; do printf ' [%s]' "\$a"; done; echo; } >>'$d/argv.log'
exec '$LAYERFS' "\$@"
EOF
	chmod 0755 "$d" "$d/layerfs"
	: >"$d/argv.log"
	chmod 0666 "$d/argv.log"
}

# cl_argv_shapes DIR ROOT: the recorded calls, with ROOT as ROOT, 64-hex
# layer ids as ID and containers/storage's 26-character link names as L.
cl_argv_shapes()
{
	sed -e "s#$2#ROOT#g" -e 's/[0-9a-f]\{64\}/ID/g' \
		-e 's#/l/[A-Z0-9]\{26\}#/l/L#g' "$1/argv.log" | sort -u
}

# The machine's own container state: podman and buildah must not write
# there when given private directories.
cl_global_snapshot()
{
	local d

	for d in /var/lib/containers /run/containers /run/libpod \
		/etc/containers /etc/cni; do
		[ -e "$d" ] || { echo "absent $d"; continue; }
		find "$d" -printf '%p %y %s %T@\n' 2>/dev/null | sort
	done
}
