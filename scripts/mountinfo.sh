# shellcheck shell=bash
# Reading /proc/self/mountinfo, for the integration tests and the
# benchmarks alike. Only reads mountinfo: never stats a mountpoint, so it
# cannot hang on a FUSE daemon that stopped answering. Defines functions
# only; sourcing it has no other effect.
#
# mountinfo escapes ' ', tab, newline and '\' as octal; paths are escaped
# the same way here and compared through the environment (awk -v would
# undo the escapes and never match).

# PATH as mountinfo writes it.
mi_escape()
{
	local s=$1

	s=${s//\\/\\134}
	s=${s// /\\040}
	s=${s//$'\t'/\\011}
	s=${s//$'\n'/\\012}
	printf '%s' "$s"
}

# Is something mounted at PATH?
is_mounted()
{
	M=$(mi_escape "$1") awk '$5 == ENVIRON["M"] { found = 1 } END { exit !found }' \
		/proc/self/mountinfo
}

# The filesystem type of the top-most mount at PATH ("" when not mounted).
mount_fstype()
{
	M=$(mi_escape "$1") awk '$5 == ENVIRON["M"] {
		for (i = 7; i <= NF; i++) if ($i == "-") { t = $(i + 1); break }
	} END { print t }' /proc/self/mountinfo
}

# Every mount below DIR, deepest first, one path a line (unescaped).
mi_mounts_under()
{
	TP="$(mi_escape "$1")/" awk 'index($5, ENVIRON["TP"]) == 1 { print length($5) " " $5 }' \
		/proc/self/mountinfo | sort -rn | cut -d' ' -f2- |
		sed 's/\\040/ /g; s/\\011/\t/g; s/\\134/\\/g'
}
