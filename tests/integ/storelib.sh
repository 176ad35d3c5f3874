# shellcheck shell=bash
# Helpers shared by the store tests that build their images with
# storeimg.py (t-store-crash, t-store-concurrent); sourced after lib.sh.

# The diffID hex of layer NAME of the generated images.
diff_id() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]]["diff_id"][7:])' "$T/src/layers.json" "$1"; }

# Describe a tree: type, mode, owner, size, links, target; file contents.
describe()
{
	(
		cd "$1" || exit
		find . -mindepth 1 -printf '%P %y %m %U:%G %s %n %l\n' | LC_ALL=C sort
		find . -type f -exec sha256sum {} + | LC_ALL=C sort -k2
	) | sha256sum
}
