#!/usr/bin/env bash
# layerctl load against a corpus of hostile images (hostile.py): absolute
# paths, "..", entries and hardlinks through symlinks or out of the layer,
# whiteouts of "." and "..", device nodes when not root, a gzip bomb and
# too many entries (past --max-layer-size / --max-entries), malformed
# streams, OCI layouts that lie (sizes, digests, diff_ids, blobs that are
# symlinks out of the layout, digests that are paths) and OCI archives
# whose outer tar is hostile. Each case comes as an OCI layout and an OCI
# archive of it and, for the tar-content ones, as a bare .tar and .tar.gz.
# Every one must be refused with a message naming the entry or the
# problem, leave the store as it was (only locks/ may change, tmp/ stays
# empty) and touch nothing outside the store. The good image loaded first
# must still be there and usable at the end. A few harmless look-alikes
# (".wh." alone, junk entries in an archive) must be safe, accepted or not.
#
# As root the corpus runs twice: as root, and as nobody on a store that
# nobody owns (where device nodes are refused; as root they are applied).
# Every failed expectation prints a FAIL line; the test fails at the end.
#   HOSTILE_CASES="dotdot chardev" t-store-hostile.sh   runs only those
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_cmd python3 timeout

[ -n "$LAYERCTL" ] || fail "LAYERCTL is not set (meson sets it; or LAYERCTL=/path/to/layerctl)"
LAYERCTL=$(realpath "$LAYERCTL")
umask 022

C=$T/corpus
OUT=$T/outside
LOG=$T/log
mkdir -p "$OUT/dir" "$T/cwd/a/b" "$LOG"
echo "do not touch" >"$OUT/sentinel"
echo "nor this" >"$OUT/dir/file"
python3 "$(dirname "${BASH_SOURCE[0]}")/hostile.py" "$C" "$OUT"

# ---- what each case must say (every line must be in the message) ---------

declare -A want=()
expect()
{
	local name=$1
	shift
	want[$name]=$(printf '%s\n' "$@")
}

expect abs-path "entry '/etc/evil' points out of the layer"
expect abs-path-outside "entry '$OUT/evil-abs' points out of the layer"
expect abs-path-pax "entry '/etc/evil-pax' points out of the layer"
expect abs-path-gnu "entry '/etc/evil-gnu-lll" "points out of the layer"
expect dotdot "entry '../evil' points out of the layer"
expect dotdot-inner "entry 'a/../../evil' points out of the layer"
expect dotdot-deep "$OUT/evil-dotdot' points out of the layer"
expect dotdot-dir "'a/../../evil-dir" "points out of the layer"
expect symlink-abs "entry 'a/evil' goes through 'a'"
expect symlink-rel "entry 'a/evil' goes through 'a'"
expect symlink-rel-deep "entry 'a/evil' goes through 'a'"
expect symlink-mkdir "entry 'a/evil-dir' goes through 'a'"
expect symlink-over-dir "entry 'a/evil' goes through 'a'"
expect symlink-deep-parent "entry 'd/l/sub/evil' goes through"
expect hardlink-abs "hardlink 'passwd' points out of the layer ('/etc/passwd')"
expect hardlink-abs-outside "hardlink 'sentinel' points out of the layer ('$OUT/sentinel')"
expect hardlink-dotdot "hardlink 'x' points out of the layer ('../x')"
expect hardlink-not-earlier "hardlink 'early' points to 'late', not an earlier file"
expect hardlink-missing "hardlink 'h' points to 'nowhere', not an earlier file"
expect hardlink-symlink "'s/sentinel' goes through 's'"
expect hardlink-dir "hardlink 'h' points to 'd', not an earlier file"
expect hardlink-pax "hardlink 'h' points out of the layer ('/etc/passwd')"
expect wh-dot "whiteout '.wh..' reaches out of its directory"
expect wh-dotdot "whiteout '.wh...' reaches out of its directory"
expect wh-dot-sub "whiteout 'a/.wh..' reaches out of its directory"
expect wh-dotdot-sub "whiteout 'a/.wh...' reaches out of its directory"
expect wh-dotdot-dir "whiteout 'a/.wh...' reaches out of its directory"
expect wh-dot-parent "'.wh.." "whiteout"
expect wh-dotdot-parent "'a/.wh..." "whiteout"
expect chardev "device node 'dev/full' refused"
expect gzip-bomb "larger than 1048576 bytes"
expect many-entries "more than 100 entries"
expect truncated-gzip "'big'" "truncated gzip input"
expect truncated-tar "'big'" "Truncated tar archive"
expect garbage "not a tar archive"
expect path-max "'pppppppppp" "too long"
expect name-max "too long"
expect file-then-child "entry 'a/b' goes through 'a', not a directory"
expect oci-layer-size "blob 'sha256:" "bytes, not"
expect oci-layer-size-short "blob 'sha256:" "bytes, not"
expect oci-diff-id "has diffID 'sha256:" "the image says 'sha256:"
expect oci-diff-id-count "manifest has 1 layers, config 2 diff_ids"
expect oci-index-garbage "oci-index-garbage" "index.json" "invalid json"
expect oci-manifest-digest "digest mismatch"
expect oci-layer-digest "digest mismatch"
expect oci-layer-symlink "cannot open blob 'sha256:"
expect oci-config-symlink "cannot open blob 'sha256:"
expect oci-manifest-symlink "cannot open blob 'sha256:"
expect oci-digest-traversal "invalid digest 'sha256:../"
expect oci-index-digest-traversal "invalid digest 'sha256:../"
expect oci-second-layer-hostile "entry '../../evil-second' points out of the layer"
# in an OCI archive, a symlink is refused before anything follows it
for n in oci-layer-symlink oci-config-symlink oci-manifest-symlink; do
	expect "$n@oci-archive" "'blobs/sha256/" "in the archive is not a regular file"
done
expect archive-blob-dotdot "bad blob name 'blobs/sha256/../../../evil-archive'"
expect archive-blob-symlink "'blobs/sha256/" "not a regular file"
expect archive-blob-hardlink "'blobs/sha256/" "not a regular file"
expect archive-blobdir-symlink "'blobs/sha256'" "not a regular file"
expect archive-dup-blob "'blobs/sha256/"
expect archive-garbage "archive-garbage.oci.tar" "Unrecognized archive format"
expect archive-truncated "Truncated tar archive"
expect archive-bomb "larger than 1048576 bytes"

# Accepted ("ok" cases): a path the layer must then hold.
declare -A holds=([wh-empty]=a/.wh. [wh-empty-dir]=.wh./x)

# Load options per case.
declare -A opts=(
	[gzip-bomb]="--max-layer-size 1048576"
	[archive-bomb]="--max-layer-size 1048576"
	[many-entries]="--max-entries 100"
)

# ---- running layerctl, fingerprints ----------------------------------------

as=() # the command prefix of the current pass (setpriv ... for nobody)

# lc STORE ARGS...: layerctl on STORE, from a directory inside $T, as the
# pass's user.
lc()
{
	local store=$1
	shift
	(cd "$T/cwd/a/b" &&
		"${as[@]}" timeout 120 "$LAYERCTL" --root "$store" "$@")
}

# A new store, owned by the pass's user.
new_store()
{
	mkdir "$1"
	[ "${#as[@]}" -eq 0 ] || chown nobody:nogroup "$1"
}

# Everything in the store but locks/, and its index.
store_fp()
{
	(cd "$1" && find . -path ./locks -prune -o -printf '%P %y %s %m\n' |
		LC_ALL=C sort)
	cat "$1/index.json"
	echo
}

# Everything in $T that is not a store (the corpus, $OUT, the cwd of
# layerctl), the contents of $OUT, and the places an absolute path aims at.
outside_fp()
{
	local f

	(cd "$T" && find . \( -path './store-*' -o -path './scratch-*' \
		-o -path ./log \) -prune -o -printf '%P %y %s %m %n %U %l\n' |
		LC_ALL=C sort)
	(cd "$OUT" && find . -type f -exec sha256sum {} + | LC_ALL=C sort -k2)
	stat -c '%n %i %h %s %Y' /etc/passwd
	for f in /etc/evil* /evil* /tmp/evil*; do
		if [ -e "$f" ] || [ -L "$f" ]; then
			echo "$f"
		fi
	done
}

problems=()
checked=0

# problem WHAT TEXT: report a failed expectation and go on (the test
# fails at the end).
problem()
{
	problems+=("$1: $2")
	printf 'FAIL %s: %s\n' "$1" "$2" >&2
}

# Show what changed between two fingerprint files (a few lines).
changes()
{
	diff "$1" "$2" | grep '^[<>]' | head -n 6 | tr '\n' ';' || true
}

tmp_left()
{
	find "$1/tmp" -mindepth 1 -maxdepth 1 -printf '%P ' 2>/dev/null |
		cut -c 1-300
}

# form SRC: oci, oci-archive, tar or tar.gz.
form()
{
	case "$1" in
	oci-archive:*) echo oci-archive ;;
	oci:*) echo oci ;;
	*.tar.gz) echo tar.gz ;;
	*) echo tar ;;
	esac
}

# check WHAT STORE SRC NAME MODE: load SRC into STORE. MODE says what must
# happen:
#   refuse  exit status 1, every line of want[NAME@FORM] (else want[NAME])
#           in the message, the store unchanged but for locks/
#   accept  the image's layer holds holds[NAME]
#   device  (as root) its layer holds dev/full, the char device 1:7
#   either  refuse (the store unchanged) or accept, as long as it is safe
# In every mode tmp/ is left empty and nothing outside the store changes.
check()
{
	local what=$1 store=$2 src=$3 name=$4 mode=$5 st=0 err line left text
	local -a o

	read -r -a o <<<"${opts[$name]:-}"
	text=${want[$name@$(form "$src")]:-${want[$name]:-}}
	store_fp "$store" >"$LOG/store.before"
	outside_fp >"$LOG/outside.before"
	lc "$store" load --tag "$mode" "${o[@]}" "$src" >"$LOG/out" \
		2>"$LOG/err" || st=$?
	checked=$((checked + 1))
	err=$(tr '\n' ' ' <"$LOG/err")
	if [ "$st" -eq 124 ] || [ "$st" -gt 128 ]; then
		problem "$what" "layerctl timed out or crashed (status $st): $err"
	elif [ "$st" -ne 0 ]; then
		case "$mode" in
		accept | device) problem "$what" "refused: $err" ;;
		refuse)
			while IFS= read -r line; do
				case "$err" in
				*"$line"*) ;;
				*) problem "$what" "message lacks \"$line\": $err" ;;
				esac
			done <<<"$text"
			;;
		esac
	else
		case "$mode" in
		refuse) problem "$what" "accepted: $(head -c 200 "$LOG/out")" ;;
		accept | device) check_layer "$what" "$store" "$name" "$mode" ;;
		esac
	fi
	if [ "$st" -ne 0 ]; then
		store_fp "$store" >"$LOG/store.after"
		cmp -s "$LOG/store.before" "$LOG/store.after" ||
			problem "$what" "store changed: $(changes "$LOG/store.before" "$LOG/store.after")"
	fi
	left=$(tmp_left "$store")
	[ -z "$left" ] || problem "$what" "left in tmp/: $left"
	outside_fp >"$LOG/outside.after"
	cmp -s "$LOG/outside.before" "$LOG/outside.after" ||
		problem "$what" "changed outside the store: $(changes "$LOG/outside.before" "$LOG/outside.after")"
}

# The layer of image "accept" or "device" that check just loaded.
check_layer()
{
	local what=$1 store=$2 name=$3 mode=$4 lower

	if ! lower=$(lc "$store" inspect --lowerdirs "$mode" 2>"$LOG/err"); then
		problem "$what" "inspect failed: $(tr '\n' ' ' <"$LOG/err")"
	elif [ "$mode" = accept ] && [ ! -e "${lower%%:*}/${holds[$name]}" ]; then
		problem "$what" "the layer has no '${holds[$name]}'"
	elif [ "$mode" = device ] &&
		[ "$(stat -c '%F %t:%T' "${lower%%:*}/dev/full")" != \
			"character special file 1:7" ]; then
		problem "$what" "dev/full is not the char device 1:7"
	fi
}

selected()
{
	[ -z "${HOSTILE_CASES:-}" ] && return 0
	case " $HOSTILE_CASES " in
	*" $1 "*) return 0 ;;
	esac
	return 1
}

# ---- the passes ------------------------------------------------------------

if [ "$(id -u)" -eq 0 ]; then
	need_cmd setpriv
	# nobody must reach the corpus and its stores
	chmod 755 "$T"
	passes="root nobody"
else
	passes="user"
fi

help=$("$LAYERCTL" load --help 2>&1 || true)
for o in --max-layer-size --max-entries; do
	case "$help" in
	*"$o"*) ;;
	*) problem "layerctl load" "no $o option yet (the gzip-bomb and many-entries cases need it)" ;;
	esac
done

for pass in $passes; do
	as=()
	[ "$pass" = nobody ] &&
		as=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
	store=$T/store-$pass
	scratch=$T/scratch-$pass
	new_store "$store"
	new_store "$scratch"
	note "pass $pass: $store"

	for s in "$store" "$scratch"; do
		lc "$s" load --tag good "oci:$C/good:x" >/dev/null ||
			fail "$pass: the good image does not load"
	done
	left=$(tmp_left "$store")
	[ -z "$left" ] || problem "$pass: good image" "left in tmp/: $left"

	while read -r -a f; do
		name=${f[0]}
		kind=${f[1]}
		selected "$name" || continue
		case "$kind" in
		ok) mode=accept ;;
		any) mode=either ;;
		*) mode=refuse ;;
		esac
		if [ "$name" = chardev ] && [ "$pass" = root ]; then
			mode=device
		fi
		if [ "$mode" = accept ] && [ -z "${holds[$name]:-}" ]; then
			fail "hostile.py case '$name' has no entry in holds[]"
		elif [ "$kind" != any ] && [ "$kind" != ok ] &&
			[ -z "${want[$name]:-}" ]; then
			fail "hostile.py case '$name' has no expect line"
		fi
		for src in "${f[@]:2}"; do
			what="$pass $name ${src##*/}"
			if [ "$mode" = refuse ]; then
				check "$what" "$store" "$src" "$name" "$mode"
			else
				check "$what" "$scratch" "$src" "$name" "$mode"
			fi
		done
	done <"$C/cases"

	# The good image is intact and usable.
	imgs=$(lc "$store" images) || fail "$pass: layerctl images failed"
	case "$imgs" in
	*good*) ;;
	*) fail "$pass: the good image is no longer listed: $imgs" ;;
	esac
	case "$imgs" in
	*refuse*) problem "$pass" "a hostile image was stored: ${imgs//$'\n'/; }" ;;
	esac
	lower=$(lc "$store" inspect --lowerdirs good) ||
		fail "$pass: inspect --lowerdirs good failed"
	assert_file_text "${lower%%:*}/etc/motd" "hello from the good image" \
		"$pass: the good image's layer"
	if lc "$store" inspect refuse >/dev/null 2>&1; then
		problem "$pass" "layerctl inspect refuse (a hostile image) works"
	fi
done

note "$checked loads checked"
[ "${#problems[@]}" -eq 0 ] ||
	fail "hostile images: ${#problems[@]} problem(s), each on a FAIL line above"
echo "t-store-hostile: ok"
