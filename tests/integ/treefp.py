#!/usr/bin/env python3
# treefp.py [--exclude PATH]... DIR: a fingerprint of the tree under DIR,
# one line per entry (DIR itself left out), sorted by path, for comparing
# two trees with diff(1): two trees are "the same" when their fingerprints
# are equal.
#
# Each line: PATH TYPE then, by type,
#   every type but symlinks: mode (07777 bits, octal)
#   every type:   uid:gid
#   regular file: size, mtime (whole seconds), sha256 of the content
#   fifo/socket:  mtime (whole seconds)
#   symlink:      mtime (whole seconds), -> target
#   device:       rdev major,minor
#   directory:    nothing more: a directory's mtime and size depend on how
#                 it was written, not on what it holds
#   x=NAME=HEX,...  the user.* and security.capability xattrs, sorted (the
#                 layerfs/overlay-private user.* names are left out: they are
#                 not part of the tree, and the tar checks look for them)
#   hl=PATH       the lexically first name of its hardlink group within the
#                 tree, when the inode has more than one name in the tree
# Not compared: atime, ctime, st_nlink (names outside the tree may count),
# directory mtimes and sizes, inode numbers.
#
# --exclude PATH (relative to DIR, no leading "/") leaves out PATH and, for
# a directory, everything below it.
import hashlib
import os
import stat
import sys

PRIVATE = ("user.overlay.", "user.layerfs.", "user.containers.override_stat")


def xattrs(path):
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return ""
    out = []
    for n in sorted(names):
        if not (n.startswith("user.") or n == "security.capability"):
            continue
        if n.startswith(PRIVATE):
            continue
        v = os.getxattr(path, n, follow_symlinks=False)
        out.append(f"{n}={v.hex()}")
    return " x=" + ",".join(out) if out else ""


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def describe(root, rel, st):
    p = os.path.join(root, rel)
    m = st.st_mode
    own = f"{st.st_uid}:{st.st_gid}"
    mode = f"{stat.S_IMODE(m):04o}"
    mt = str(int(st.st_mtime))
    if stat.S_ISREG(m):
        s = f"f {mode} {own} {st.st_size} {mt} {sha256(p)}"
    elif stat.S_ISDIR(m):
        s = f"d {mode} {own}"
    elif stat.S_ISLNK(m):
        s = f"l {own} {mt} -> {os.readlink(p)}"
    elif stat.S_ISFIFO(m):
        s = f"p {mode} {own} {mt}"
    elif stat.S_ISSOCK(m):
        s = f"s {mode} {own} {mt}"
    else:
        t = "c" if stat.S_ISCHR(m) else "b"
        s = (f"{t} {mode} {own} "
             f"{os.major(st.st_rdev)},{os.minor(st.st_rdev)}")
    return s + xattrs(p)


def main(argv):
    excl = set()
    while len(argv) > 2 and argv[0] == "--exclude":
        excl.add(argv[1].strip("/"))
        argv = argv[2:]
    if len(argv) != 1:
        sys.exit("usage: treefp.py [--exclude PATH]... DIR")
    root = argv[0]
    entries = {}
    for dirpath, dirs, files in os.walk(root):
        reldir = os.path.relpath(dirpath, root)
        reldir = "" if reldir == "." else reldir
        for name in dirs + files:
            rel = os.path.join(reldir, name)
            if rel in excl:
                continue
            entries[rel] = os.lstat(os.path.join(root, rel))
        dirs[:] = [d for d in dirs
                   if os.path.join(reldir, d) not in excl and
                   not os.path.islink(os.path.join(dirpath, d))]
    groups = {}
    for rel, st in entries.items():
        if not stat.S_ISDIR(st.st_mode):
            groups.setdefault((st.st_dev, st.st_ino), []).append(rel)
    first = {}
    for names in groups.values():
        if len(names) > 1:
            for n in names:
                first[n] = min(names)
    for rel in sorted(entries):
        line = "/" + rel + " " + describe(root, rel, entries[rel])
        if rel in first:
            line += " hl=/" + first[rel]
        print(line)


if __name__ == "__main__":
    main(sys.argv[1:])
