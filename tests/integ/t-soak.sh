#!/usr/bin/env bash
# Soak: several processes at once drive random operations through one
# layerfs mount for a bounded time, the kernel overlayfs gets the same ops
# as the reference (soak.py, difftest.py's generator and comparison; each
# worker in its own subtree with its own seed). The daemon's RSS and open
# fds are sampled every second: no growth of its memory with the number of
# ops after a warm-up, its fds back to the baseline once the workers are
# done and the kernel's caches are dropped, the trees equal at the end and
# after a remount, and the daemon exits 0 at unmount (under ASan: no leak
# report). Knobs (environment):
#   LFS_SOAK_SECONDS  run time of the workers (default 75)
#   LFS_SOAK_OPS      op budget over all workers (default 200000: in CI
#                     the time is the bound)
#   LFS_SOAK_WORKERS  processes (default 4)
#   LFS_SOAK_SEED     seed (default 1)
#   LFS_SOAK_LOWERS   lower layers (default 3)
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_overlay
need_fuse
need_cmd python3

secs=${LFS_SOAK_SECONDS:-75}
total_ops=${LFS_SOAK_OPS:-200000}
workers=${LFS_SOAK_WORKERS:-4}
seed=${LFS_SOAK_SEED:-1}
lowers=${LFS_SOAK_LOWERS:-3}
here=$(dirname "${BASH_SOURCE[0]}")
soak=(python3 "$here/soak.py")
umask 022

# The reference's options, as difftest.py picks them: index=on makes its
# hardlinks exact, so they are compared too.
ref_opts=
for o in redirect_dir=on,index=on,metacopy=off redirect_dir=on,index=off,metacopy=off ''; do
	mkdir -p "$T/probe/"{l,u,w,m}
	if mount -t overlay overlay -o "lowerdir=$T/probe/l,upperdir=$T/probe/u,workdir=$T/probe/w${o:+,$o}" \
		"$T/probe/m" 2>/dev/null; then
		umount "$T/probe/m"
		ref_opts=$o
		break
	fi
	rm -rf "$T/probe"
done
strict=()
case ",$ref_opts," in *,index=on,*) strict=(--strict-links) ;; esac
note "reference options: '${ref_opts}'"

"${soak[@]}" build --seed "$seed" --workers "$workers" --lowers "$lowers" \
	"${strict[@]}" "$T/layers"
ovl_low=$(for ((k = 0; k < lowers; k++)); do printf '%s:' "$T/layers/ovl/L$k"; done)
oci_low=$(for ((k = 0; k < lowers; k++)); do printf '%s:' "$T/layers/oci/L$k"; done)
mkdir -p "$T"/{ref,impl}/{upper,work,mnt}

mount_both()
{
	ovl_mount "$T/ref/mnt" "lowerdir=${ovl_low%:}" "upperdir=$T/ref/upper" \
		"workdir=$T/ref/work" ${ref_opts:+"$ref_opts"}
	lfs_mount "$T/impl/mnt" "lowerdir=${oci_low%:}" "upperdir=$T/impl/upper" \
		"workdir=$T/impl/work"
}
mount_both
note "soak: $workers workers, ${secs}s or $total_ops ops, seed $seed, $lowers lowers, daemon pid $LFS_PID"
st=0
"${soak[@]}" run --ref "$T/ref/mnt" --impl "$T/impl/mnt" --pid "$LFS_PID" \
	--workers "$workers" --seed "$seed" --seconds "$secs" \
	--ops $(((total_ops + workers - 1) / workers)) \
	"${strict[@]}" || st=$?
[ "$st" -eq 0 ] || {
	lfs_log "$T/impl/mnt" | tail -n 20 >&2
	fail "soak run failed (status $st)"
}

# Everything written is in the upper layer: the same trees after a remount.
ovl_umount "$T/ref/mnt"
lfs_umount "$T/impl/mnt" # the daemon must exit 0 (ASan: no leaks)
mount_both
"${soak[@]}" compare "$T/ref/mnt" "$T/impl/mnt" "${strict[@]}" ||
	fail "the trees differ after the remount"
ovl_umount "$T/ref/mnt"
lfs_umount "$T/impl/mnt"
note "soak passed"
