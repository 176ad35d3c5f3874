#!/bin/sh
# Differential test: layerfs ($LAYERFS) against the kernel overlayfs, see
# difftest.py.  A few fixed seeds; about 5 s per run when everything matches.
#   LAYERFS=/path/to/layerfs tests/integ/t-difftest.sh [extra difftest.py args]
# Exit: 0 all runs equal, 1 any mismatch (each failing run prints its seed
# and a shrunk op list), 77 (skip) when not root, without /dev/fuse, or when
# difftest.py finds no usable kernel overlayfs to compare with.
set -u
here=$(cd "$(dirname "$0")" && pwd)
py=${PYTHON:-python3}

if [ "$(id -u)" != 0 ]; then
    echo "t-difftest: SKIP: needs root (mount, mknod, chown)" >&2
    exit 77
fi
if [ ! -c /dev/fuse ]; then
    echo "t-difftest: SKIP: no /dev/fuse" >&2
    exit 77
fi
if [ -z "${LAYERFS:-}" ] || [ ! -x "$LAYERFS" ]; then
    echo "t-difftest: FAIL: LAYERFS='${LAYERFS:-}' is not an executable layerfs" >&2
    exit 1
fi

status=0
failed=""
shrink=40          # seconds to shrink the first failure; later ones get less
# seed lowers ops lower-format
for run in "101 2 2000 oci" "202 2 2000 oci" "303 2 2000 oci" "404 2 2000 oci" \
           "505 5 2000 oci" "606 3 1500 overlay"; do
    set -- $run "$@"
    seed=$1 lowers=$2 ops=$3 fmt=$4
    shift 4
    echo "t-difftest: seed=$seed lowers=$lowers ops=$ops lower-format=$fmt"
    "$py" "$here/difftest.py" --seed "$seed" --lowers "$lowers" --ops "$ops" \
        --batch 200 --lower-format "$fmt" --shrink-seconds "$shrink" "$@"
    rc=$?
    case $rc in
    0) ;;
    77) echo "t-difftest: SKIP (reported by difftest.py)" >&2; exit 77 ;;
    *) status=1; failed="$failed $seed"; shrink=10 ;;
    esac
done

# Once more with the daemon starved of file descriptors: its stack cache
# must drop and rebuild stacks all the time, and nothing may change.
echo "t-difftest: seed=707 lowers=3 ops=2000 with 'ulimit -n 128'"
"$py" "$here/difftest.py" --seed 707 --lowers 3 --ops 2000 --batch 200 \
    --shrink-seconds "$shrink" \
    --impl-cmd "sh -c 'ulimit -n 128; exec \"$LAYERFS\" -f -o lowerdir={lower},upperdir={upper},workdir={work} {mnt}'"
case $? in
0) ;;
77) echo "t-difftest: SKIP (reported by difftest.py)" >&2; exit 77 ;;
*) status=1; failed="$failed 707(fds)" ;;
esac

if [ $status != 0 ]; then
    echo "t-difftest: FAILED seeds:$failed" >&2
else
    echo "t-difftest: all runs equal"
fi
exit $status
