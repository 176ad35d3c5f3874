# shellcheck shell=bash
# shellcheck disable=SC2034 # W_* and WORKLOADS are read by run.sh
# The workloads of bench/run.sh. Each NAME has
#
#   info_NAME    sets W_LABEL (the table's row), W_KIND (meta | stream |
#                copyup: which target applies), W_METRIC (secs | iops),
#                W_PLAIN (what the "plain" limit runs on: "ro" = the
#                shared plain copy; "" = a fresh empty dir; else paths of
#                the plain copy to copy into a fresh dir first), W_COLD
#                (1: drop the page cache right before the timed part),
#                W_UPPER (1: also report the KiB the upper uses after it),
#                W_NEEDS (commands it needs), W_WARM (paths, relative to
#                the merged root, whose data is read into the page cache
#                from the layers before the workload's runs)
#   prep_NAME M  untimed set-up inside the mount M (optional)
#   run_NAME M   the timed part; for W_METRIC=iops it prints the IOPS
#   check_NAME M untimed: is the result right? (optional; if not, it
#                prints why and fails)
#
# wlrun.sh runs one of them; run.sh reads the info. Sizes come from the
# mode (N_FILES, NEW_N, ...); every path is relative to the merged root.

WORKLOADS=(statwalk tar-warm tar-cold stat-dir ls-dir create rm-new
	rm-lower append-sparse append-big dd read-cold read-warm mv-dir untar
	compile fio-randread fio-randwrite openstat-1 openstat-2 openstat-4
	openstat-8)

_info_defaults()
{
	W_KIND=meta W_METRIC=secs W_PLAIN=ro W_COLD=0 W_UPPER=0 W_NEEDS=
	W_WARM=
}

_count()
{
	find "$1" -mindepth 1 -maxdepth 1 | wc -l
}

_expect()
{
	[ "$1" = "$2" ] || { echo "wrong result: $3: got $1, expected $2"; return 1; }
}

# ---- the root file system -------------------------------------------------

_walk()
{
	find "$1" -path "$1/synth" -prune -o -printf '%p %s %i %m %U\n' | wc -l
}

info_statwalk()
{
	W_LABEL="stat walk of the rootfs (find -printf)"
}
run_statwalk() { _walk "$1" >"$WTMP/walk"; }
check_statwalk() { _expect "$(cat "$WTMP/walk")" "$EXPECT_WALK" "entries walked"; }

_tar_read()
{
	tar -C "$1" --exclude=./synth -cf - . | cat >/dev/null
}

info_tar-warm()
{
	W_LABEL="read every rootfs file (tar), warm" W_KIND=stream
}
prep_tar-warm() { _tar_read "$1"; }
run_tar-warm() { _tar_read "$1"; }

info_tar-cold()
{
	W_LABEL="read every rootfs file (tar), cold" W_KIND=stream W_COLD=1
}
run_tar-cold() { _tar_read "$1"; }

# ---- the directory of N_FILES files ---------------------------------------

info_stat-dir()
{
	W_LABEL="stat of the $N_FILES-file dir (find -printf)"
}
run_stat-dir() { find "$1/synth/files" -printf '%s %i\n' | wc -l >"$WTMP/n"; }
check_stat-dir() { _expect "$(cat "$WTMP/n")" "$((N_FILES + 1))" "entries"; }

info_ls-dir()
{
	W_LABEL="ls -l of the $N_FILES-file dir"
}
# shellcheck disable=SC2012 # ls -l is the workload
run_ls-dir() { ls -l "$1/synth/files" | wc -l >"$WTMP/n"; }
check_ls-dir() { _expect "$(cat "$WTMP/n")" "$((N_FILES + 1))" "ls -l lines"; }

_create_new()
{
	mkdir "$1/new"
	(cd "$1/new" && seq -f 'c%05g' 1 "$NEW_N" | xargs touch)
}

info_create()
{
	W_LABEL="create $NEW_N files" W_PLAIN=
}
run_create() { _create_new "$1"; }
check_create() { _expect "$(_count "$1/new")" "$NEW_N" "files created"; }

info_rm-new()
{
	W_LABEL="rm -rf of $NEW_N new files" W_KIND=copyup W_PLAIN=
}
prep_rm-new() { _create_new "$1"; }
run_rm-new() { rm -rf "$1/new"; }
check_rm-new()
{
	[ ! -e "$1/new" ] || { echo "wrong result: new/ still there"; return 1; }
}

info_rm-lower()
{
	W_LABEL="rm $NEW_N lower files (after ls -l)" W_KIND=copyup
	W_PLAIN=synth/files
}
prep_rm-lower() { ls -l "$1/synth/files" >/dev/null; }
run_rm-lower()
{
	(cd "$1/synth/files" && seq -f 'f%05g' 0 "$((NEW_N - 1))" | xargs rm --)
}
check_rm-lower()
{
	_expect "$(_count "$1/synth/files")" "$((N_FILES - NEW_N))" \
		"files left after rm" &&
		_expect "$(_count "$SYNTH_LAYER/synth/files")" "$N_FILES" \
			"files in the lower layer (must not change)"
}

# ---- copy-up of big files -------------------------------------------------

_append()
{
	printf x >>"$1"
}

_check_append()
{
	local m=$1 f=$2 size=$3

	_expect "$(stat -c %s "$m/$f")" "$((size + 1))" "size after append" &&
		_expect "$(stat -c %s "$SYNTH_LAYER/$f")" "$size" \
			"size of the lower file (must not change)" &&
		_expect "$(tail -c 1 "$m/$f")" x "last byte"
}

info_append-sparse()
{
	W_LABEL="append 1 byte to the $SPARSE_MIB MiB sparse lower file"
	W_KIND=copyup W_PLAIN=synth/sparse.img W_UPPER=1
}
run_append-sparse() { _append "$1/synth/sparse.img"; }
check_append-sparse()
{
	_check_append "$1" synth/sparse.img "$((SPARSE_MIB << 20))"
}

info_append-big()
{
	W_LABEL="append 1 byte to the $BIG_MIB MiB lower file"
	W_KIND=copyup W_PLAIN=synth/big.bin W_UPPER=1 W_WARM=synth/big.bin
}
run_append-big() { _append "$1/synth/big.bin"; }
check_append-big() { _check_append "$1" synth/big.bin "$((BIG_MIB << 20))"; }

# ---- streaming ------------------------------------------------------------

info_dd()
{
	W_LABEL="dd $DD_MIB MiB write, conv=fsync" W_KIND=stream W_PLAIN=
}
run_dd()
{
	dd if=/dev/zero of="$1/dd.out" bs=1M count="$DD_MIB" conv=fsync \
		status=none
}
check_dd() { _expect "$(stat -c %s "$1/dd.out")" "$((DD_MIB << 20))" "size"; }

info_read-cold()
{
	W_LABEL="read the $BIG_MIB MiB file, cold" W_KIND=stream W_COLD=1
}
run_read-cold() { cat "$1/synth/big.bin" >/dev/null; }

info_read-warm()
{
	W_LABEL="read the $BIG_MIB MiB file, warm" W_KIND=stream
}
prep_read-warm() { cat "$1/synth/big.bin" >/dev/null; }
run_read-warm() { cat "$1/synth/big.bin" >/dev/null; }

# ---- rename, untar, compile -----------------------------------------------

info_mv-dir()
{
	W_LABEL="mv of the $MV_N-file lower dir" W_KIND=copyup
	W_PLAIN=synth/move W_WARM=synth/move
}
run_mv-dir() { mv "$1/synth/move" "$1/synth/moved"; }
check_mv-dir()
{
	[ ! -e "$1/synth/move" ] || { echo "wrong result: move/ still there"; return 1; }
	_expect "$(_count "$1/synth/moved")" "$MV_N" "files in moved/" &&
		_expect "$(stat -c %s "$1/synth/moved/m0000")" 4096 "size of moved/m0000" &&
		_expect "$(_count "$SYNTH_LAYER/synth/move")" "$MV_N" \
			"files in the lower move/ (must not change)"
}

info_untar()
{
	W_LABEL="untar the rootfs tarball into the mount" W_KIND=stream W_PLAIN=
}
prep_untar() { cat "$TARBALL" >/dev/null; }
run_untar()
{
	mkdir "$1/untar"
	tar -xf "$TARBALL" -C "$1/untar"
}
check_untar()
{
	_expect "$(find "$1/untar" | wc -l)" "$TAR_COUNT" "entries untarred"
}

info_compile()
{
	W_LABEL="compile a C project (make -j2)" W_KIND=stream
	W_PLAIN=synth/src W_NEEDS="make gcc pkg-config" W_WARM=synth/src
}
run_compile() { make -s -j2 -C "$1/synth/src" >/dev/null; }
check_compile()
{
	local n

	n=$(find "$1/synth/src" -name '*.o' | wc -l)
	[ "$n" -gt 0 ] || { echo "wrong result: no object file built"; return 1; }
}

# ---- fio ------------------------------------------------------------------

_fio()
{
	fio --output-format=json --output="$WTMP/fio.json" --name=bench \
		--bs=4k --ioengine=psync --numjobs=1 --time_based \
		--runtime="$FIO_SEC" "$@" >/dev/null &&
		python3 "$BENCH/bench.py" fio-iops "$WTMP/fio.json"
}

info_fio-randread()
{
	W_LABEL="fio 4k random read, IOPS (warm)" W_KIND=stream W_METRIC=iops
	W_NEEDS=fio W_WARM=synth/big.bin
}
prep_fio-randread() { cat "$1/synth/big.bin" >/dev/null; }
run_fio-randread()
{
	_fio --filename="$1/synth/big.bin" --rw=randread --readonly \
		--invalidate=0 --size="${BIG_MIB}M"
}

info_fio-randwrite()
{
	W_LABEL="fio 4k random write, IOPS (new $FIO_W_MIB MiB file)"
	W_KIND=stream W_METRIC=iops W_NEEDS=fio W_PLAIN=
}
run_fio-randwrite()
{
	_fio --filename="$1/fio.w" --rw=randwrite --size="${FIO_W_MIB}M" \
		--end_fsync=1
}

# ---- parallel open/stat/close ---------------------------------------------

_info_openstat()
{
	W_LABEL="open/fstat/close x$OPS, $1 thread(s)" W_NEEDS=gcc
}
info_openstat-1() { _info_openstat 1; }
info_openstat-2() { _info_openstat 2; }
info_openstat-4() { _info_openstat 4; }
info_openstat-8() { _info_openstat 8; }

prep_openstat() { find "$1/synth/tree" -printf '' ; }
_run_openstat()
{
	"$OPENSTAT_BIN" "$1/synth/tree" "$TREE_D" "$TREE_F" "$2" "$OPS" >/dev/null
}
run_openstat-1() { _run_openstat "$1" 1; }
run_openstat-2() { _run_openstat "$1" 2; }
run_openstat-4() { _run_openstat "$1" 4; }
run_openstat-8() { _run_openstat "$1" 8; }
prep_openstat-1() { prep_openstat "$1"; }
prep_openstat-2() { prep_openstat "$1"; }
prep_openstat-4() { prep_openstat "$1"; }
prep_openstat-8() { prep_openstat "$1"; }

wl_info()
{
	_info_defaults
	"info_$1"
}
