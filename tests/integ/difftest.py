#!/usr/bin/env python3
"""difftest.py -- differential tester for layerfs against the kernel overlayfs.

It builds random lower layers from a seed, mounts the kernel overlayfs (the
reference) and the implementation under test (any program with the
fuse-overlayfs command line, e.g. layerfs) over identical copies of them,
applies the same seeded random sequence of filesystem operations to both,
and compares every result (errno) and the visible trees.  On a mismatch it
prints the seed, the op index and the differences, then shrinks the op list
(delta debugging, re-running from fresh layers) and prints the shortest
sequence it found.

  difftest.py [--seed N] [--ops 2000] [--batch 200] [--lowers 2]
              [--impl-cmd 'CMD -f -o lowerdir={lower},upperdir={upper},workdir={work} {mnt}']
              [--lower-format oci|overlay] [--keep] [--verbose]

Exit status: 0 all equal, 1 mismatch (or the implementation failed to mount /
hung / modified a lower layer), 2 usage or setup error, 77 skipped (not root,
no overlayfs or FUSE support).

Layer formats.  The lowers are generated once in "overlay format" (whiteouts
are character devices 0/0, opaque dirs carry trusted.overlay.opaque=y), the
only format the kernel reads; the reference always gets that copy.  A converter
makes an "OCI format" copy (whiteouts are empty `.wh.NAME` files with mode 0,
opaque dirs contain an empty `.wh..wh..opq`), which the implementation gets by
default (--lower-format overlay gives it the overlay-format copy instead).

The reference is mounted with redirect_dir=on,index=on,metacopy=off when the
kernel allows it (falling back to index=off, then to no options; --ref-opts
overrides).  redirect_dir=on makes renames of lower/merged dirs succeed (as
layerfs must); index=on makes the kernel keep hardlinks of lower files joined
across copy-up, so link counts and hardlink identity are POSIX-exact and can be
compared strictly.

Operations (seeded, targets picked from the live reference tree, biased to
entries that come from the lowers): create (O_EXCL or O_TRUNC, through
symlinks too), pwrite at random offsets (holes), append, truncate grow/shrink,
open O_TRUNC, mkdir, rmdir (empty and non-empty), unlink, rename (files and
dirs, lower dirs, across dirs, over files, onto empty and non-empty dirs, into
itself, RENAME_NOREPLACE, RENAME_EXCHANGE), link, symlink, chmod (incl.
suid/sgid/sticky), chown/lchown, utimensat with ns (follow or not),
setxattr/removexattr (user.* and trusted.*, XATTR_CREATE/REPLACE, on every
file type), mknod (fifo, char device 1:3, socket), "replace" (delete a name,
recursively, and re-create it as another type over the whiteout), rmtree, and
a remount of both sides every --remount-every batches and at the end.  Ops
that would leave the mount through a symlink are skipped on both sides (and
listed).  Every op's errno must be the same on both sides (table below).
Names starting with `.wh.` are never created (layerfs must refuse them with
EINVAL, the kernel accepts them); all ops run as root, so permission checks
are not exercised.

Exploration-only options (never needed for a normal run) help find the next
difference after a known one: --exclude-ops, --ignore-attrs, --no-dir-renames.
--replay FILE re-runs the op list a failed run wrote.

Helper mode (used to check that the tool catches bugs; also a kernel-vs-kernel
self-check, which needs --allow-ghosts):
  difftest.py kernel-impl [--opts EXTRA] [--tamper] -f -o lowerdir=..,upperdir=..,workdir=.. MNT
mounts the kernel overlayfs at MNT with the given options (plus EXTRA), stays
in the foreground until MNT is unmounted (or SIGTERM), like a FUSE daemon.
--tamper mounts a copy of the lowers with one byte of one top-layer file
changed; --from-oci converts OCI-format lowers back to overlay format first
(a check of the converter).  Example:
  difftest.py --lower-format overlay \\
     --impl-cmd "$PWD/difftest.py kernel-impl --opts index=off -f -o lowerdir={lower},upperdir={upper},workdir={work} {mnt}"
"""

import argparse
import ctypes
import errno
import hashlib
import json
import os
import random
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time

# ---------------------------------------------------------------------------
# Documented equivalences.  Every other difference is reported.
#
# errno equivalences: (op kind, errno returned by the reference) ->
#   (what the implementation may do instead, reason).  'skip' means the op is
#   not applied to the implementation at all (so both trees stay equal) and is
#   counted as skipped in the summary.
ERRNO_EQUIV = {
    ('rename', errno.EXDEV): (
        'skip',
        "kernel overlayfs without redirect_dir (or when it cannot set the "
        "redirect xattr) returns EXDEV for renames of lower/merged dirs; this "
        "is an artefact of its on-disk format (applications fall back to "
        "copy+delete).  layerfs is required to succeed, so the reference "
        "result says nothing: the rename is skipped on both sides."),
}

# Attribute comparison rules (see compare_snapshots):
#  * st_nlink of directories: kernel overlayfs reports 1 for every MERGED
#    directory (the "unknown link count" convention honoured by find(1)); only
#    directories that live in a single layer get a real count.  Whether the
#    kernel treats a directory as merged depends on when its dentry was
#    cached (seen: a copied-up dir with lower content reporting its real
#    count), so dir nlink is compared only where neither side reports 1.
#  * st_nlink of non-directories and hardlink identity (which visible paths
#    share an inode): compared when the reference runs with index=on (copy-up
#    of one link of a lower hardlink keeps all links joined and counts exact).
#    One kernel artefact remains: for a lower file whose other links are
#    hidden (whited out, shadowed, under an opaque dir) the kernel reports the
#    lower inode's count, i.e. it counts invisible links.  Where the
#    reference's nlink differs from the number of visible paths to that inode,
#    the implementation may report either the kernel's value or its own exact
#    number of visible paths.  With index=off the kernel breaks lower hardlinks
#    at copy-up and keeps reporting the lower layer's count for the untouched
#    links; both are artefacts, so with index=off nlink/identity of non-dirs
#    are not compared and the generated lowers contain no hardlinks (a write
#    through one link of a broken lower hardlink would differ in content).
#  * Whiteouts in a lower dir that is not merged with any dir below (e.g. it
#    replaces a file, or hides names that exist nowhere below) are listed by
#    the kernel's readdir although lookup says ENOENT ("c?????????" in ls).
#    Such ghost names are dropped from the reference's tree; the
#    implementation must not list them at all (a name listed but ENOENT is
#    reported).
#  * mtimes: lower layers and utime ops only use timestamps before 2010, while
#    anything the filesystem sets itself is "now".  mtime_ns is compared
#    (exactly) for every entry where either side reports a pre-2010 value: this
#    checks that explicit times survive copy-up/rename/remount and that writes
#    do update them, without comparing clocks.
#  * atime, ctime, st_ino, st_dev, st_blocks, dir st_size: never compared.
#  * xattrs: trusted.overlay.* and security.* are excluded (overlay-private /
#    LSM); everything else (user.*, trusted.*) is compared.
#  * Whiteout-shaped entries (`.wh.*` names, char devices 0/0) must never be
#    visible through either mount.
# ---------------------------------------------------------------------------

EXPLICIT_TIME_LIMIT_NS = 1262304000 * 10**9   # 2010-01-01
TIME_LO = 978307200      # 2001-01-01
TIME_HI = 1136073600     # 2006-01-01

RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2
AT_FDCWD = -100

NAME_POOL = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'dir', 'sub', 'x y', 'data.bin',
             '.hidden', '-dash', '\u00e4\u00f6', 'L' * 40, 'n1', 'n2']
XATTR_NAMES = ['user.a', 'user.b', 'user.c', 'user.mime_type', 'trusted.t1']
UIDS = [0, 0, 1000, 1001, 65534]
GIDS = [0, 0, 100, 1000, 65534]
FILE_MODES = [0o644, 0o644, 0o600, 0o755, 0o640, 0o444, 0o4755, 0o2755, 0o000, 0o777]
DIR_MODES = [0o755, 0o755, 0o700, 0o1777, 0o2775, 0o555, 0o750]

_libc = ctypes.CDLL(None, use_errno=True)


class Interrupted(Exception):
    pass


class SetupError(Exception):
    pass


class Skip(Exception):
    pass


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def ename(e):
    if e == 0:
        return 'OK'
    if isinstance(e, str):
        return e
    return errno.errorcode.get(e, str(e))


def gen_data(ds, n):
    return random.Random(ds).randbytes(n)


def renameat2(a, b, flags):
    r = _libc.renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b),
                        ctypes.c_uint(flags))
    if r != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), a)


def run(cmd, check=True, timeout=120):
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        p = subprocess.CompletedProcess(cmd, -1, 'timed out after %ds' % timeout)
    if check and p.returncode != 0:
        raise SetupError('%s failed (%d): %s' % (' '.join(cmd), p.returncode,
                                                   p.stdout.strip()))
    return p


def _unescape_mountinfo(s):
    out, i = [], 0
    while i < len(s):
        if s[i] == '\\' and i + 3 < len(s) and s[i + 1:i + 4].isdigit():
            out.append(chr(int(s[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(s[i])
            i += 1
    return ''.join(out)


def mount_fstype(path):
    """fstype of the mount whose mountpoint is exactly path, or None."""
    path = os.path.realpath(path)
    found = None
    with open('/proc/self/mountinfo') as f:
        for line in f:
            parts = line.split()
            if _unescape_mountinfo(parts[4]) == path:
                sep = parts.index('-')
                found = parts[sep + 1]
    return found


# ---------------------------------------------------------------------------
# Layer generation (overlay format) and conversion to OCI format.

class LayerBuilder:
    def __init__(self, seed, nlayers, base, hardlinks=True):
        self.hardlinks = hardlinks
        self.rng = random.Random('layers:%s' % seed)
        self.n = nlayers
        self.base = base
        self.dseed = 0

    def build(self):
        """Create base/L0..L{n-1} (L0 on top).  Returns list of layer dirs."""
        merged = {}          # rel -> type char, model of the union so far
        dirs = []
        for li in range(self.n - 1, -1, -1):
            root = os.path.join(self.base, 'L%d' % li)
            os.mkdir(root)
            self.layer_files = []
            self.created = {}    # rel -> type char ('w' whiteout, 'o' opaque dir)
            self.gen_dir(root, '', 0, merged, bottom=(li == self.n - 1))
            self.finish_layer(root)
            # update the union model
            for rel in sorted(self.created, key=lambda r: r.count('/')):
                t = self.created[rel]
                if t == 'w' or t != 'd':
                    for k in [k for k in merged if k.startswith(rel + '/')]:
                        del merged[k]
                if t == 'o':
                    for k in [k for k in merged if k.startswith(rel + '/')]:
                        if k not in self.created:
                            del merged[k]
                if t == 'w':
                    merged.pop(rel, None)
                else:
                    merged[rel] = 'd' if t == 'o' else t
            dirs.append(root)
        dirs.reverse()
        return dirs

    def _data(self):
        r = self.rng.random()
        if r < 0.15:
            n = 0
        elif r < 0.75:
            n = self.rng.randint(1, 4096)
        elif r < 0.92:
            n = self.rng.randint(4097, 65536)
        else:
            n = self.rng.randint(100 * 1024, 400 * 1024)
        self.dseed += 1
        return gen_data('L%d' % self.dseed + str(self.rng.random()), n)

    def _symtarget(self, rel):
        r = self.rng.random()
        depth = rel.count('/')
        if r < 0.5:
            return self.rng.choice(NAME_POOL)
        if r < 0.7 and depth > 0:
            return '../' + self.rng.choice(NAME_POOL)
        if r < 0.8:
            return self.rng.choice(NAME_POOL) + '/' + self.rng.choice(NAME_POOL)
        if r < 0.9:
            return '/nonexistent/difftest-target'
        return 'dangling-' + str(self.rng.randint(0, 9))

    def gen_dir(self, root, rel, depth, merged, bottom):
        rng = self.rng
        below_children = sorted({k[len(rel) + 1 if rel else 0:].split('/')[0]
                                 for k in merged
                                 if (k.startswith(rel + '/') if rel else True)})
        below_children = [c for c in below_children if c]
        if depth == 0:
            k = rng.randint(10, 16)
        elif depth < 3:
            k = rng.randint(3, 9)
        else:
            k = rng.randint(0, 5)
        names = []
        if below_children and k > 0:
            names += rng.sample(below_children, min(len(below_children),
                                                     rng.randint(1, k)))
        for _ in range(k):
            if rng.random() < 0.15:
                nm = 'u%d' % rng.randint(0, 999)
            else:
                nm = rng.choice(NAME_POOL)
            if nm not in names:
                names.append(nm)
        names = names[:max(k, 1)]
        for name in names:
            r = os.path.join(rel, name) if rel else name
            p = os.path.join(root, r)
            btype = merged.get(r)
            if not bottom and btype:
                t = rng.choices(['w', 'same', 'other'], [25, 50, 25])[0]
                if t == 'same':
                    t = btype if btype in 'fd' else rng.choice('fl')
                elif t == 'other':
                    t = 'f' if btype == 'd' else 'd'
            else:
                opts = ['f', 'd', 'l', 'h', 'p', 'c']
                wts = [45, 25 if depth < 3 else 0, 10,
                       8 if self.layer_files and self.hardlinks else 0, 5, 2]
                if not bottom:
                    opts.append('w')
                    wts.append(5)
                t = rng.choices(opts, wts)[0]
            if t == 'w':
                os.mknod(p, stat.S_IFCHR | 0, os.makedev(0, 0))
                self.created[r] = 'w'
            elif t == 'f':
                with open(p, 'wb') as f:
                    f.write(self._data())
                self._attrs(p, FILE_MODES, xattrs=True)
                self.layer_files.append(p)
                self.created[r] = 'f'
            elif t == 'h':
                os.link(rng.choice(self.layer_files), p)
                self.created[r] = 'f'
            elif t == 'l':
                os.symlink(self._symtarget(r), p)
                os.lchown(p, rng.choice(UIDS), rng.choice(GIDS))
                self.created[r] = 'l'
            elif t == 'p':
                os.mkfifo(p)
                self._attrs(p, [0o644, 0o600, 0o666])
                self.created[r] = 'p'
            elif t == 'c':
                os.mknod(p, stat.S_IFCHR | 0o644, os.makedev(1, 3))
                self._attrs(p, [0o644, 0o600, 0o666])
                self.created[r] = 'c'
            elif t == 'd':
                os.mkdir(p)
                opaque = (btype == 'd' and not bottom and rng.random() < 0.4)
                if opaque:
                    os.setxattr(p, 'trusted.overlay.opaque', b'y')
                self.created[r] = 'o' if opaque else 'd'
                sub = {} if opaque else merged
                self.gen_dir(root, r, depth + 1,
                             sub if btype == 'd' else {}, bottom)
                self._attrs(p, DIR_MODES, xattrs=True)

    def _attrs(self, p, modes, xattrs=False):
        rng = self.rng
        os.chown(p, rng.choice(UIDS), rng.choice(GIDS))
        os.chmod(p, rng.choice(modes))
        if xattrs and rng.random() < 0.3:
            for nm in rng.sample(XATTR_NAMES, rng.randint(1, 3)):
                os.setxattr(p, nm, rng.randbytes(rng.randint(0, 64)))

    def finish_layer(self, root):
        """Set explicit (pre-2010) times on everything, dirs after contents."""
        rng = self.rng
        for dp, dns, fns in os.walk(root, topdown=False):
            for n in sorted(fns) + sorted(dns):
                p = os.path.join(dp, n)
                st = os.lstat(p)
                if stat.S_ISDIR(st.st_mode):
                    continue
                t = self._t()
                os.utime(p, ns=(t, t + rng.randint(0, 10**9)),
                         follow_symlinks=False)
            t = self._t()
            os.utime(dp, ns=(t, t + 12345), follow_symlinks=False)

    def _t(self):
        return self.rng.randint(TIME_LO, TIME_HI) * 10**9 + self.rng.randint(0, 10**9 - 1)


def _copy_meta(src_st, dst, xattr_src=None, is_link=False, keep_overlay=False):
    os.chown(dst, src_st.st_uid, src_st.st_gid, follow_symlinks=False)
    if not is_link:
        os.chmod(dst, stat.S_IMODE(src_st.st_mode))
    if xattr_src is not None and not is_link:
        for n in os.listxattr(xattr_src, follow_symlinks=False):
            if n.startswith('trusted.overlay.') and not keep_overlay:
                continue
            os.setxattr(dst, n, os.getxattr(xattr_src, n, follow_symlinks=False),
                        follow_symlinks=False)


def a_oci_name(name):
    return name.startswith('.wh.')


def convert_from_oci(src, dst):
    """Inverse of convert_to_oci (used by kernel-impl --from-oci only)."""
    inodes = {}

    def rec(s, d):
        names = sorted(os.listdir(s))
        for name in names:
            sp, dp = os.path.join(s, name), os.path.join(d, name)
            st = os.lstat(sp)
            m = st.st_mode
            if not a_oci_name(name) and stat.S_ISCHR(m) and st.st_rdev == 0:
                os.mknod(dp, stat.S_IFCHR, os.makedev(0, 0))
            elif name == '.wh..wh..opq':
                os.setxattr(d, 'trusted.overlay.opaque', b'y')
            elif name.startswith('.wh.'):
                wp = os.path.join(d, name[4:])
                os.mknod(wp, stat.S_IFCHR, os.makedev(0, 0))
            elif stat.S_ISDIR(m):
                os.mkdir(dp)
                rec(sp, dp)
                _copy_meta(st, dp, sp, keep_overlay=True)
                os.utime(dp, ns=(st.st_atime_ns, st.st_mtime_ns))
            elif stat.S_ISREG(m):
                key = (st.st_dev, st.st_ino)
                if st.st_nlink > 1 and key in inodes:
                    os.link(inodes[key], dp)
                    continue
                shutil.copyfile(sp, dp)
                _copy_meta(st, dp, sp, keep_overlay=True)
                os.utime(dp, ns=(st.st_atime_ns, st.st_mtime_ns))
                inodes[key] = dp
            elif stat.S_ISLNK(m):
                os.symlink(os.readlink(sp), dp)
                _copy_meta(st, dp, None, is_link=True)
                os.utime(dp, ns=(st.st_atime_ns, st.st_mtime_ns),
                         follow_symlinks=False)
            else:
                os.mknod(dp, m, st.st_rdev)
                _copy_meta(st, dp, sp, keep_overlay=True)
                os.utime(dp, ns=(st.st_atime_ns, st.st_mtime_ns))
        st = os.lstat(s)
        os.utime(d, ns=(st.st_atime_ns, st.st_mtime_ns))

    os.mkdir(dst)
    rec(src, dst)
    st = os.lstat(src)
    _copy_meta(st, dst, src, keep_overlay=True)
    os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))


def convert_to_oci(src, dst):
    """Copy an overlay-format layer to OCI format (.wh.NAME, .wh..wh..opq)."""
    inodes = {}

    def rec(s, d):
        for name in sorted(os.listdir(s)):
            sp, dp = os.path.join(s, name), os.path.join(d, name)
            st = os.lstat(sp)
            m = st.st_mode
            if stat.S_ISCHR(m) and st.st_rdev == 0:
                wp = os.path.join(d, '.wh.' + name)
                os.close(os.open(wp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0))
                os.chmod(wp, 0)
                os.utime(wp, ns=(0, 0))
            elif stat.S_ISDIR(m):
                os.mkdir(dp)
                rec(sp, dp)
                try:
                    opq = os.getxattr(sp, 'trusted.overlay.opaque')
                except OSError:
                    opq = None
                if opq == b'y':
                    wp = os.path.join(dp, '.wh..wh..opq')
                    os.close(os.open(wp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0))
                    os.chmod(wp, 0)
                    os.utime(wp, ns=(0, 0))
                _copy_meta(st, dp, sp)
                os.utime(dp, ns=(st.st_atime_ns, st.st_mtime_ns))
            elif stat.S_ISREG(m):
                key = (st.st_dev, st.st_ino)
                if st.st_nlink > 1 and key in inodes:
                    os.link(inodes[key], dp)
                    continue
                shutil.copyfile(sp, dp)
                _copy_meta(st, dp, sp)
                os.utime(dp, ns=(st.st_atime_ns, st.st_mtime_ns))
                inodes[key] = dp
            elif stat.S_ISLNK(m):
                os.symlink(os.readlink(sp), dp)
                _copy_meta(st, dp, None, is_link=True)
                os.utime(dp, ns=(st.st_atime_ns, st.st_mtime_ns),
                         follow_symlinks=False)
            else:
                os.mknod(dp, m, st.st_rdev)
                _copy_meta(st, dp, sp)
                os.utime(dp, ns=(st.st_atime_ns, st.st_mtime_ns))

    os.mkdir(dst)
    rec(src, dst)
    st = os.lstat(src)
    _copy_meta(st, dst, src)
    os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))


def tree_digest(root):
    """Digest of everything in a layer dir (to check lowers stay unchanged)."""
    h = hashlib.sha256()
    for dp, dns, fns in os.walk(root):
        dns.sort()
        for n in [''] + sorted(fns + dns):
            p = os.path.join(dp, n) if n else dp
            st = os.lstat(p)
            h.update(repr((os.path.relpath(p, root), st.st_mode, st.st_uid,
                           st.st_gid, st.st_size, st.st_mtime_ns, st.st_nlink,
                           st.st_rdev)).encode())
            try:
                for x in sorted(os.listxattr(p, follow_symlinks=False)):
                    h.update(x.encode() + os.getxattr(p, x, follow_symlinks=False))
            except OSError:
                pass
            if stat.S_ISREG(st.st_mode):
                with open(p, 'rb') as f:
                    h.update(hashlib.sha256(f.read()).digest())
            elif stat.S_ISLNK(st.st_mode):
                h.update(os.fsencode(os.readlink(p)))
    return h.hexdigest()


# ---------------------------------------------------------------------------
# Snapshots and comparison.

def snapshot(root, ghosts_ok=False):
    """Walk a mounted tree.  Returns (entries, problems).

    entries: rel path ('/' for the root) -> dict of attributes.
    problems: list of (path, description) for duplicate readdir names etc.
    ghosts_ok: drop names that readdir lists but lstat says ENOENT (the
    kernel's whiteouts in non-merged lower dirs, see the table at the top).
    """
    entries, problems = {}, []

    def rec(rel):
        p = os.path.join(root, rel) if rel else root
        key = rel or '/'
        try:
            st = os.lstat(p)
        except OSError as e:
            if e.errno == errno.ENOENT and ghosts_ok:
                return
            if e.errno == errno.ENOENT:
                problems.append((key, 'listed by readdir but lstat fails with ENOENT'))
                return
            entries[key] = {'lstat': ename(e.errno)}
            return
        m = st.st_mode
        a = {'mode': '%o' % m, 'uid': st.st_uid, 'gid': st.st_gid,
             'nlink': st.st_nlink, 'mtime': st.st_mtime_ns,
             '_ino': (st.st_dev, st.st_ino)}
        if stat.S_ISREG(m):
            a['size'] = st.st_size
            try:
                h = hashlib.sha256()
                with open(p, 'rb') as f:
                    while True:
                        b = f.read(1 << 20)
                        if not b:
                            break
                        h.update(b)
                a['sha256'] = h.hexdigest()[:16]
            except OSError as e:
                a['sha256'] = 'ERR ' + ename(e.errno)
        elif stat.S_ISLNK(m):
            a['size'] = st.st_size
            try:
                a['target'] = os.readlink(p)
            except OSError as e:
                a['target'] = 'ERR ' + ename(e.errno)
        elif stat.S_ISCHR(m) or stat.S_ISBLK(m):
            a['rdev'] = (os.major(st.st_rdev), os.minor(st.st_rdev))
        try:
            xs = {}
            for n in os.listxattr(p, follow_symlinks=False):
                if n.startswith('trusted.overlay.') or n.startswith('security.'):
                    continue
                try:
                    xs[n] = os.getxattr(p, n, follow_symlinks=False).hex()
                except OSError as e:
                    xs[n] = 'ERR ' + ename(e.errno)
            a['xattrs'] = xs
        except OSError as e:
            a['xattrs'] = 'ERR ' + ename(e.errno)
        entries[key] = a
        if stat.S_ISDIR(m):
            try:
                names = os.listdir(p)
            except OSError as e:
                a['readdir'] = 'ERR ' + ename(e.errno)
                return
            if len(names) != len(set(names)):
                problems.append((key, 'duplicate names in readdir: %r' %
                                 sorted(n for n in set(names)
                                        if names.count(n) > 1)))
            for n in sorted(set(names)):
                rec(os.path.join(rel, n) if rel else n)

    rec('')
    for k, a in entries.items():
        base = k.rsplit('/', 1)[-1]
        if base.startswith('.wh.'):
            problems.append((k, 'whiteout-shaped name visible'))
        if a.get('rdev') == (0, 0) and a.get('mode', '').startswith('2'):
            problems.append((k, 'char device 0/0 (whiteout) visible'))
    return entries, problems


def link_groups(entries):
    groups = {}
    for k, a in entries.items():
        if '_ino' in a and not a['mode'].startswith('4'):
            groups.setdefault(a['_ino'], []).append(k)
    out = {}
    for g in groups.values():
        if len(g) > 1:
            for k in g:
                out[k] = tuple(sorted(g))
    return out


def compare_snapshots(ref, impl, strict_links, ignore_attrs=()):
    """Returns list of (path, attr, refval, implval)."""
    diffs = []
    rg, ig = link_groups(ref), link_groups(impl)
    for k in sorted(set(ref) | set(impl)):
        if k not in impl:
            diffs.append((k, 'exists', 'yes (%s)' % ref[k].get('mode'), 'MISSING'))
            continue
        if k not in ref:
            diffs.append((k, 'exists', 'MISSING', 'yes (%s)' % impl[k].get('mode')))
            continue
        r, i = ref[k], impl[k]
        is_dir = r.get('mode', '').startswith('4')
        for attr in sorted(set(r) | set(i)):
            if attr.startswith('_') or attr in ignore_attrs:
                continue
            rv, iv = r.get(attr), i.get(attr)
            if attr == 'nlink':
                if is_dir and (rv == 1 or iv == 1):
                    continue
                if not is_dir and not strict_links:
                    continue
                if not is_dir and rv != len(rg.get(k, (k,))) and \
                        iv == len(ig.get(k, (k,))):
                    continue    # ref counts hidden lower links; impl is exact
            if attr == 'mtime':
                if not (isinstance(rv, int) and isinstance(iv, int)):
                    continue
                if rv >= EXPLICIT_TIME_LIMIT_NS and iv >= EXPLICIT_TIME_LIMIT_NS:
                    continue
            if attr == 'size' and is_dir:
                continue
            if rv != iv:
                diffs.append((k, attr, rv, iv))
    if strict_links and 'links' not in ignore_attrs:
        for k in sorted(set(rg) | set(ig)):
            if k in ref and k in impl and rg.get(k) != ig.get(k):
                diffs.append((k, 'hardlinks', rg.get(k, ()), ig.get(k, ())))
    return diffs


def fmt_val(v):
    if isinstance(v, int) and v > 10**17:
        return '%d.%09d' % divmod(v, 10**9)
    s = repr(v)
    return s if len(s) < 120 else s[:117] + '...'


# ---------------------------------------------------------------------------
# Operations.  An op is a small JSON-able dict; 'k' is the kind.

FOLLOW_KINDS = {'creat', 'write', 'trunc', 'otrunc', 'chmod'}
NS_KINDS = {'creat', 'mkdir', 'rmdir', 'unlink', 'rename', 'link', 'symlink',
            'mknod', 'otrunc'}


def op_paths(op):
    """(paths whose parent is traversed, paths that are followed)."""
    paths = [op[k] for k in ('p', 'src', 'dst') if k in op]
    follow = []
    if op['k'] in FOLLOW_KINDS or op.get('follow'):
        follow = [op['p']]
    return paths, follow


def fmt_op(op):
    k = op['k']
    if k == 'remount':
        return 'remount both'
    if k == 'creat':
        return 'creat(%r, 0%o, %s, %d bytes)' % (op['p'], op['mode'],
                                               'O_EXCL' if op['excl'] else 'O_TRUNC', op['n'])
    if k == 'write':
        return '%s(%r, off=%d, %d bytes)' % ('append' if op['append'] else 'pwrite',
                                            op['p'], op['off'], op['n'])
    if k == 'trunc':
        return 'truncate(%r, %d)' % (op['p'], op['size'])
    if k == 'otrunc':
        return 'open(%r, O_WRONLY|O_TRUNC%s)' % (op['p'], '|O_CREAT' if op['creat'] else '')
    if k in ('mkdir',):
        return 'mkdir(%r, 0%o)' % (op['p'], op['mode'])
    if k in ('rmdir', 'unlink'):
        return '%s(%r)' % (k, op['p'])
    if k == 'rename':
        fl = {0: '', 1: ', RENAME_NOREPLACE', 2: ', RENAME_EXCHANGE'}[op['flags']]
        return 'rename(%r, %r%s)' % (op['src'], op['dst'], fl)
    if k == 'link':
        return 'link(%r, %r)' % (op['src'], op['dst'])
    if k == 'symlink':
        return 'symlink(%r -> %r)' % (op['p'], op['target'])
    if k == 'chmod':
        return 'chmod(%r, 0%o)' % (op['p'], op['mode'])
    if k == 'chown':
        return '%schown(%r, %d, %d)' % ('' if op['follow'] else 'l', op['p'],
                                       op['uid'], op['gid'])
    if k == 'utime':
        return 'utimensat(%r, atime=%s, mtime=%s%s)' % (
            op['p'], fmt_val(op['at']), fmt_val(op['mt']),
            '' if op['follow'] else ', AT_SYMLINK_NOFOLLOW')
    if k == 'setxattr':
        return '%ssetxattr(%r, %r, %d bytes, flags=%s)' % (
            '' if op['follow'] else 'l', op['p'], op['name'], op['n'],
            {0: '0', 1: 'XATTR_CREATE', 2: 'XATTR_REPLACE'}[op['flags']])
    if k == 'rmxattr':
        return '%sremovexattr(%r, %r)' % ('' if op['follow'] else 'l', op['p'], op['name'])
    if k == 'mknod':
        return 'mknod(%r, %s, 0%o)' % (op['p'], op['type'], op['mode'])
    return repr(op)


def apply_op(mnt, op):
    """Apply one op under mnt.  Returns 0 or an errno."""
    k = op['k']

    def P(key):
        return os.path.join(mnt, op[key])

    try:
        if k == 'creat':
            fl = os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK | os.O_CLOEXEC
            fl |= os.O_EXCL if op['excl'] else os.O_TRUNC
            fd = os.open(P('p'), fl, op['mode'])
            try:
                if op['n']:
                    os.write(fd, gen_data(op['ds'], op['n']))
            finally:
                os.close(fd)
        elif k == 'write':
            fl = os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC
            if op['append']:
                fl |= os.O_APPEND
            fd = os.open(P('p'), fl)
            try:
                d = gen_data(op['ds'], op['n'])
                if op['append']:
                    os.write(fd, d)
                else:
                    os.pwrite(fd, d, op['off'])
            finally:
                os.close(fd)
        elif k == 'trunc':
            os.truncate(P('p'), op['size'])
        elif k == 'otrunc':
            fl = os.O_WRONLY | os.O_TRUNC | os.O_NONBLOCK | os.O_CLOEXEC
            if op['creat']:
                fl |= os.O_CREAT
            os.close(os.open(P('p'), fl, 0o640))
        elif k == 'mkdir':
            os.mkdir(P('p'), op['mode'])
        elif k == 'rmdir':
            os.rmdir(P('p'))
        elif k == 'unlink':
            os.unlink(P('p'))
        elif k == 'rename':
            if op['flags']:
                renameat2(P('src'), P('dst'), op['flags'])
            else:
                os.rename(P('src'), P('dst'))
        elif k == 'link':
            os.link(P('src'), P('dst'), follow_symlinks=False)
        elif k == 'symlink':
            os.symlink(op['target'], P('p'))
        elif k == 'chmod':
            os.chmod(P('p'), op['mode'])
        elif k == 'chown':
            os.chown(P('p'), op['uid'], op['gid'], follow_symlinks=op['follow'])
        elif k == 'utime':
            os.utime(P('p'), ns=(op['at'], op['mt']), follow_symlinks=op['follow'])
        elif k == 'setxattr':
            os.setxattr(P('p'), op['name'], gen_data(op['ds'], op['n']),
                        op['flags'], follow_symlinks=op['follow'])
        elif k == 'rmxattr':
            os.removexattr(P('p'), op['name'], follow_symlinks=op['follow'])
        elif k == 'mknod':
            t = op['type']
            if t == 'fifo':
                os.mkfifo(P('p'), op['mode'])
            elif t == 'chr':
                os.mknod(P('p'), stat.S_IFCHR | op['mode'], os.makedev(1, 3))
            else:
                os.mknod(P('p'), stat.S_IFSOCK | op['mode'])
        else:
            raise ValueError('unknown op %r' % k)
    except OSError as e:
        return e.errno
    return 0


def describe_paths(mnt, op):
    out = []
    for key in ('p', 'src', 'dst'):
        if key not in op:
            continue
        p = os.path.join(mnt, op[key])
        try:
            st = os.lstat(p)
        except OSError as e:
            out.append('%r: %s' % (op[key], ename(e.errno)))
            continue
        m = st.st_mode
        t = {stat.S_IFREG: 'file', stat.S_IFDIR: 'dir', stat.S_IFLNK: 'symlink',
             stat.S_IFIFO: 'fifo', stat.S_IFCHR: 'chardev', stat.S_IFSOCK: 'socket',
             stat.S_IFBLK: 'blockdev'}.get(stat.S_IFMT(m), '?')
        d = '%r: %s %04o %d:%d nlink=%d' % (op[key], t, stat.S_IMODE(m), st.st_uid,
                                            st.st_gid, st.st_nlink)
        if t == 'symlink':
            d += ' -> %r' % os.readlink(p)
        elif t == 'dir':
            try:
                d += ' (%d entries)' % len(os.listdir(p))
            except OSError:
                pass
        out.append(d)
    return '; '.join(out)


def escapes(mnt, op):
    """True if the op would touch anything outside mnt (through symlinks)."""
    paths, follow = op_paths(op)
    real = os.path.realpath(mnt)
    chk = [os.path.dirname(os.path.join(mnt, p)) for p in paths]
    chk += [os.path.join(mnt, p) for p in follow]
    for c in chk:
        rp = os.path.realpath(c)
        if rp != real and not rp.startswith(real + '/'):
            return True
    return False


class OpGen:
    """Generates ops from the live reference tree."""

    WEIGHTS = {
        'creat': 10, 'write': 8, 'append': 4, 'trunc': 5, 'otrunc': 3,
        'mkdir': 7, 'rmdir': 5, 'unlink': 7, 'rename': 16, 'link': 5,
        'symlink': 4, 'chmod': 5, 'chown': 4, 'utime': 5, 'setxattr': 5,
        'rmxattr': 3, 'mknod': 3, 'replace': 4, 'rmtree': 1,
    }

    DELETING = {'rmdir', 'unlink', 'rmtree', 'replace'}
    CREATING = {'creat', 'mkdir', 'symlink', 'mknod', 'link'}

    def __init__(self, seed, exclude=(), no_dir_renames=False):
        self.no_dir_renames = no_dir_renames
        self.initial_size = 1
        self.rng = random.Random('ops:%s' % seed)
        self.kinds = [k for k in self.WEIGHTS if k not in exclude]
        self.weights = [self.WEIGHTS[k] for k in self.kinds]
        self.names = set(NAME_POOL)
        self.lower = set()
        self.counter = 0

    @staticmethod
    def walk(mnt):
        """rel -> [type char, number of children, size, st_ino]."""
        tree = {}

        def rec(rel, p):
            try:
                it = list(os.scandir(p))
            except OSError:
                return
            for e in it:
                r = os.path.join(rel, e.name) if rel else e.name
                try:
                    st = e.stat(follow_symlinks=False)
                except OSError:
                    continue
                m = st.st_mode
                t = ('d' if stat.S_ISDIR(m) else 'f' if stat.S_ISREG(m) else
                     'l' if stat.S_ISLNK(m) else 'o')
                tree[r] = [t, 0, st.st_size, st.st_ino]
                tree[rel][1] += 1
                if t == 'd':
                    rec(r, e.path)

        tree[''] = ['d', 0, 0, 0]
        rec('', mnt)
        return tree

    def set_tree(self, tree, initial=False):
        self.tree = tree
        if initial:
            self.initial_size = len(tree)
            self.lower = set(tree)
            self.lower_inos = {v[3] for r, v in tree.items() if r}
            for r in tree:
                if r:
                    self.names.add(r.rsplit('/', 1)[-1])

    def pick(self, pred, lower_bias=0.75, allow_root=False):
        """A random existing path; with probability lower_bias one that comes
        from a lower layer (same inode as initially: renamed, copied up or
        not)."""
        cands = [r for r, v in self.tree.items()
                 if (allow_root or r) and pred(v)]
        if not cands:
            return None
        low = [r for r in cands if self.tree[r][3] in self.lower_inos]
        if low and self.rng.random() < lower_bias:
            return self.rng.choice(low)
        return self.rng.choice(cands)

    def any_entry(self):
        return self.pick(lambda v: True)

    def a_dir(self, root_ok=True):
        return self.pick(lambda v: v[0] == 'd', allow_root=root_ok)

    def a_file(self):
        r = self.pick(lambda v: v[0] == 'f')
        return r if r is not None else self.any_entry()

    def new_name(self, parent=None):
        if parent is None:
            parent = self.a_dir()
        if self.rng.random() < 0.7:
            nm = self.rng.choice(sorted(self.names))
        else:
            self.counter += 1
            nm = 'new%d' % self.counter
        if self.rng.random() < 0.03:
            nm += '/'          # trailing slash: ENOTDIR/EISDIR edge cases
        return os.path.join(parent, nm) if parent else nm

    def data(self):
        r = self.rng.random()
        n = (self.rng.randint(0, 4096) if r < 0.7 else
             self.rng.randint(4097, 65536) if r < 0.95 else
             self.rng.randint(65537, 300000))
        return self.rng.getrandbits(32), n

    def ntime(self):
        return self.rng.randint(TIME_LO, TIME_HI) * 10**9 + self.rng.randint(0, 10**9 - 1)

    def descendants(self, top):
        pre = top + '/'
        return sum(1 for r in self.tree if r.startswith(pre))

    def rmtree_ops(self, top):
        """unlink/rmdir ops that empty and remove top (bottom-up)."""
        ops = []
        if self.tree.get(top, ['o'])[0] == 'd':
            subs = sorted((r for r in self.tree if r.startswith(top + '/')),
                          key=lambda r: -r.count('/'))
            for r in subs:
                ops.append({'k': 'rmdir' if self.tree[r][0] == 'd' else 'unlink',
                            'p': r})
            ops.append({'k': 'rmdir', 'p': top})
        else:
            ops.append({'k': 'unlink', 'p': top})
        return ops

    def next(self):
        """Returns a list of ops (usually one)."""
        rng = self.rng
        # keep the tree near its initial size: damp deletions when it shrinks,
        # creations when it grows
        ratio = len(self.tree) / max(self.initial_size, 20)
        wts = []
        for k, w in zip(self.kinds, self.weights):
            if k in self.DELETING and ratio < 1:
                w *= max(ratio, 0.1) ** 2
            elif k in self.CREATING and ratio > 1.3:
                w /= ratio * ratio
            wts.append(w)
        for _ in range(50):
            kind = rng.choices(self.kinds, wts)[0]
            ops = self._gen(kind)
            if ops:
                return ops
        return [{'k': 'chmod', 'p': '', 'mode': 0o755}]

    def _gen(self, kind):
        rng = self.rng
        if kind == 'creat':
            ds, n = self.data()
            return [{'k': 'creat', 'p': self.new_name(), 'mode': rng.choice(FILE_MODES),
                     'excl': rng.random() < 0.7, 'ds': ds, 'n': n}]
        if kind in ('write', 'append'):
            p = self.a_file()
            if p is None:
                return None
            ds, n = self.data()
            size = self.tree[p][2]
            off = rng.randint(0, size + 8192)
            return [{'k': 'write', 'p': p, 'append': kind == 'append',
                     'off': off, 'ds': ds, 'n': n}]
        if kind == 'trunc':
            p = self.a_file()
            if p is None:
                return None
            size = self.tree[p][2]
            sz = rng.choice([0, size // 2, size + rng.randint(1, 100000),
                             rng.randint(0, 5000)])
            return [{'k': 'trunc', 'p': p, 'size': sz}]
        if kind == 'otrunc':
            if rng.random() < 0.8:
                p = self.a_file()
            else:
                p = self.new_name()
            if p is None:
                return None
            return [{'k': 'otrunc', 'p': p, 'creat': rng.random() < 0.5}]
        if kind == 'mkdir':
            return [{'k': 'mkdir', 'p': self.new_name(), 'mode': rng.choice(DIR_MODES)}]
        if kind == 'rmdir':
            if rng.random() < 0.6:
                p = self.pick(lambda v: v[0] == 'd' and v[1] == 0, lower_bias=0.3)
            else:
                p = self.pick(lambda v: v[0] == 'd', lower_bias=0.3)
            if p is None:
                p = self.any_entry()
            return p and [{'k': 'rmdir', 'p': p}]
        if kind == 'unlink':
            if rng.random() < 0.9:
                p = self.pick(lambda v: v[0] != 'd', lower_bias=0.3)
            else:
                p = self.any_entry()
            return p and [{'k': 'unlink', 'p': p}]
        if kind == 'rename':
            src = self.any_entry()
            if src is None:
                return None
            if self.no_dir_renames and self.tree[src][0] == 'd':
                return None
            r = rng.random()
            if r < 0.35:
                dst = self.new_name()
            elif r < 0.55:
                dst = self.pick(lambda v: v[0] != 'd')
            elif r < 0.7:
                dst = self.pick(lambda v: v[0] == 'd' and v[1] == 0)
            elif r < 0.8:
                dst = self.a_dir(root_ok=False)
            elif r < 0.88:
                dst = self.new_name(os.path.dirname(src))
            elif r < 0.94 and self.tree[src][0] == 'd':
                dst = self.new_name(src)           # into itself: EINVAL
            else:
                dst = self.any_entry()
            if dst is None:
                dst = self.new_name()
            flags = rng.choices([0, RENAME_NOREPLACE, RENAME_EXCHANGE], [75, 12, 13])[0]
            if (self.no_dir_renames and flags == RENAME_EXCHANGE and
                    self.tree.get(dst, ['-'])[0] == 'd'):
                flags = 0
            return [{'k': 'rename', 'src': src, 'dst': dst, 'flags': flags}]
        if kind == 'link':
            src = self.a_file() if rng.random() < 0.85 else self.any_entry()
            return src and [{'k': 'link', 'src': src, 'dst': self.new_name()}]
        if kind == 'symlink':
            r = rng.random()
            if r < 0.6:
                tgt = self.any_entry() or 'x'
                # relative to the link's dir only when in the root dir
                p = self.new_name('')
            elif r < 0.85:
                tgt = rng.choice(sorted(self.names))
                p = self.new_name()
            else:
                tgt = '/nonexistent/difftest-' + str(rng.randint(0, 9))
                p = self.new_name()
            return [{'k': 'symlink', 'p': p, 'target': tgt}]
        if kind == 'chmod':
            p = self.any_entry()
            modes = FILE_MODES + DIR_MODES + [0o6755, 0o1755]
            return p and [{'k': 'chmod', 'p': p, 'mode': rng.choice(modes)}]
        if kind == 'chown':
            p = self.any_entry()
            return p and [{'k': 'chown', 'p': p, 'uid': rng.choice(UIDS),
                           'gid': rng.choice(GIDS), 'follow': rng.random() < 0.3}]
        if kind == 'utime':
            p = self.any_entry() if rng.random() < 0.9 else ''
            return [{'k': 'utime', 'p': p, 'at': self.ntime(), 'mt': self.ntime(),
                     'follow': rng.random() < 0.3}]
        if kind == 'setxattr':
            p = self.any_entry() if rng.random() < 0.95 else ''
            return [{'k': 'setxattr', 'p': p, 'name': rng.choice(XATTR_NAMES),
                     'ds': rng.getrandbits(32), 'n': rng.randint(0, 200),
                     'flags': rng.choices([0, 1, 2], [70, 15, 15])[0],
                     'follow': rng.random() < 0.3}]
        if kind == 'rmxattr':
            p = self.any_entry()
            return p and [{'k': 'rmxattr', 'p': p, 'name': rng.choice(XATTR_NAMES),
                           'follow': rng.random() < 0.3}]
        if kind == 'mknod':
            t = rng.choices(['fifo', 'chr', 'sock'], [60, 25, 15])[0]
            return [{'k': 'mknod', 'p': self.new_name(), 'type': t,
                     'mode': rng.choice([0o644, 0o600, 0o666])}]
        if kind == 'replace':
            # delete (recursively) then re-create the name as another type
            p = self.pick(lambda v: True, lower_bias=0.3)
            if p is None:
                return None
            if self.descendants(p) > 6:
                p = self.pick(lambda v: v[0] != 'd') or p
            was_dir = self.tree[p][0] == 'd'
            ops = self.rmtree_ops(p)
            if was_dir or rng.random() < 0.5:
                ds, n = self.data()
                nt = rng.choice(['creat', 'creat', 'symlink', 'mknod'] if was_dir
                                else ['creat'])
                if nt == 'creat':
                    ops.append({'k': 'creat', 'p': p, 'mode': rng.choice(FILE_MODES),
                                'excl': True, 'ds': ds, 'n': n})
                elif nt == 'symlink':
                    ops.append({'k': 'symlink', 'p': p, 'target': 'replaced'})
                else:
                    ops.append({'k': 'mknod', 'p': p, 'type': 'fifo', 'mode': 0o600})
            else:
                ops.append({'k': 'mkdir', 'p': p, 'mode': rng.choice(DIR_MODES)})
                if rng.random() < 0.5:
                    ds, n = self.data()
                    ops.append({'k': 'creat', 'p': p + '/inner', 'mode': 0o644,
                                'excl': True, 'ds': ds, 'n': n})
            return ops
        if kind == 'rmtree':
            p = self.pick(lambda v: v[0] == 'd', lower_bias=0.3)
            if p is None:
                return None
            for _ in range(5):
                if self.descendants(p) <= 8 or rng.random() < 0.1:
                    break
                p = self.pick(lambda v: v[0] == 'd', lower_bias=0.3)
            return self.rmtree_ops(p)
        return None


# ---------------------------------------------------------------------------
# Mount management.

class Mounts:
    """Reference (kernel overlayfs) and implementation mounts for one run."""

    def __init__(self, ctx, rundir):
        self.ctx = ctx
        self.rundir = rundir
        self.ref_mnt = os.path.join(rundir, 'ref', 'mnt')
        self.impl_mnt = os.path.join(rundir, 'impl', 'mnt')
        for side in ('ref', 'impl'):
            for d in ('upper', 'work', 'mnt'):
                os.makedirs(os.path.join(rundir, side, d))
        self.daemon = None
        self.daemon_log = os.path.join(rundir, 'impl', 'daemon.log')
        self.ref_mounted = False
        self.problems = []   # daemon exit status etc.

    def mount_ref(self):
        c = self.ctx
        o = 'lowerdir=%s,upperdir=%s,workdir=%s' % (
            ':'.join(c.ref_lowers), os.path.join(self.rundir, 'ref', 'upper'),
            os.path.join(self.rundir, 'ref', 'work'))
        if c.ref_opts:
            o += ',' + c.ref_opts
        run(['mount', '-t', 'overlay', 'overlay', '-o', o, self.ref_mnt])
        self.ref_mounted = True

    def umount_ref(self):
        if not self.ref_mounted:
            return
        for i in range(20):
            if run(['umount', self.ref_mnt], check=False).returncode == 0:
                break
            time.sleep(0.1)
        else:
            run(['umount', '-l', self.ref_mnt], check=False)
        self.ref_mounted = False

    def mount_impl(self):
        c = self.ctx
        cmd = c.impl_cmd
        for k, v in (('{lower}', ':'.join(c.impl_lowers)),
                     ('{upper}', os.path.join(self.rundir, 'impl', 'upper')),
                     ('{work}', os.path.join(self.rundir, 'impl', 'work')),
                     ('{mnt}', self.impl_mnt)):
            cmd = cmd.replace(k, v)
        argv = shlex.split(cmd)
        logf = open(self.daemon_log, 'ab')
        try:
            self.daemon = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                           stdout=logf, stderr=logf,
                                           start_new_session=True)
        except OSError as e:
            raise SetupError('cannot start %r: %s' % (argv[0], e))
        finally:
            logf.close()
        c.daemon_pid = self.daemon.pid
        if c.verbose:
            log('impl daemon pid %d: %s' % (self.daemon.pid, cmd))
        deadline = time.time() + 20
        while time.time() < deadline:
            if mount_fstype(self.impl_mnt):
                return
            if self.daemon.poll() is not None:
                break
            time.sleep(0.02)
        rc = self.daemon.poll()
        self.kill_daemon()
        raise ImplFailure('implementation did not mount (%s); command: %s\n%s' % (
            'exited with status %s' % rc if rc is not None else 'timeout',
            cmd, self.daemon_tail()))

    def daemon_tail(self, n=20):
        try:
            with open(self.daemon_log, errors='replace') as f:
                lines = f.read().splitlines()[-n:]
            return '\n'.join('  | ' + l for l in lines)
        except OSError:
            return ''

    def kill_daemon(self):
        d = self.daemon
        if d is None:
            return
        if d.poll() is None:
            for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
                try:
                    os.kill(d.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    d.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    pass
        self.daemon = None
        self.ctx.daemon_pid = None

    def umount_impl(self, check_exit=True):
        d = self.daemon
        if mount_fstype(self.impl_mnt):
            for i in range(20):
                if run(['umount', self.impl_mnt], check=False).returncode == 0:
                    break
                time.sleep(0.1)
            else:
                if run(['fusermount3', '-u', self.impl_mnt],
                       check=False).returncode != 0:
                    run(['umount', '-l', self.impl_mnt], check=False)
        if d is not None:
            try:
                rc = d.wait(10)
                if check_exit and rc != 0:
                    self.problems.append(
                        'impl daemon (pid %d) exited with status %d after unmount\n%s'
                        % (d.pid, rc, self.daemon_tail()))
            except subprocess.TimeoutExpired:
                if check_exit:
                    self.problems.append('impl daemon (pid %d) still running 10s '
                                         'after unmount; killed' % d.pid)
            self.kill_daemon()

    def mount(self):
        self.mount_ref()
        self.mount_impl()

    def umount(self, check_exit=True):
        try:
            self.umount_ref()
        finally:
            self.umount_impl(check_exit)

    def cleanup(self, remove=True):
        try:
            self.umount(check_exit=False)
        finally:
            if remove:
                shutil.rmtree(self.rundir, ignore_errors=True)


class ImplFailure(Exception):
    pass


# ---------------------------------------------------------------------------
# Running a sequence.

class Failure:
    def __init__(self, kind, index, msg, sig, details=()):
        self.kind = kind          # 'errno', 'tree', 'hang', 'mount', 'daemon'
        self.index = index        # number of ops applied before detection
        self.msg = msg
        self.sig = sig            # used by the shrinker to keep the same bug
        self.details = list(details)

    def same_bug(self, other):
        if other is None or other.kind != self.kind:
            return False
        if self.kind == 'tree':
            return bool(set(self.sig) & set(other.sig))
        return self.sig == other.sig


class Ctx:
    pass


class Runner:
    def __init__(self, ctx):
        self.ctx = ctx
        self.busy_since = None
        self.hung = False
        self.m = None
        self.stats = {}
        self.skipped = []
        self.results = []

    # watchdog: kill a hung implementation daemon so blocked syscalls return
    def watchdog(self, stop):
        while not stop.wait(0.5):
            b = self.busy_since
            if b is not None and time.time() - b > self.ctx.op_timeout:
                self.hung = True
                m = self.m
                if m is not None and m.daemon is not None:
                    log('difftest: implementation hung for %ds: killing daemon pid %d'
                        % (self.ctx.op_timeout, m.daemon.pid))
                    try:
                        os.kill(m.daemon.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                self.busy_since = None

    def new_mounts(self):
        c = self.ctx
        c.run_no += 1
        rundir = os.path.join(c.tmp, 'run%d' % c.run_no)
        self.m = Mounts(c, rundir)
        c.active = self.m
        self.m.mount()

    def close_mounts(self, remove=True):
        m = self.m
        if m is not None:
            m.cleanup(remove)
        self.m = None
        self.ctx.active = None

    def compare(self, index, where):
        m = self.m
        self.busy_since = time.time()
        try:
            rs, rp = snapshot(m.ref_mnt, ghosts_ok=True)
            is_, ip = snapshot(m.impl_mnt, ghosts_ok=self.ctx.allow_ghosts)
        finally:
            self.busy_since = None
        diffs = compare_snapshots(rs, is_, self.ctx.strict_links,
                                  self.ctx.ignore_attrs)
        probs = [('ref', p, d) for p, d in rp] + [('impl', p, d) for p, d in ip]
        if not diffs and not probs:
            return None
        lines = []
        for side, p, d in probs:
            lines.append('  %-4s %s: %s' % (side, p, d))
        for p, a, rv, iv in diffs:
            lines.append('  %s  [%s]  ref=%s  impl=%s' % (p, a, fmt_val(rv), fmt_val(iv)))
        sig = sorted({a for _, a, _, _ in diffs} | {d.split(':')[0] for _, _, d in probs})
        if self.hung:
            return Failure('hang', index, 'implementation hung (daemon killed) '
                           'before %s' % where, ('hang',), lines)
        return Failure('tree', index, 'trees differ %s' % where, sig, lines)

    def remount(self):
        m = self.m
        m.umount()
        if m.problems:
            return m.problems
        m.mount()
        return None

    def apply(self, i, op):
        """Apply op i to both sides.  Returns a Failure or None."""
        c, m = self.ctx, self.m
        if op['k'] == 'remount':
            probs = self.remount()
            if probs:
                return Failure('daemon', i + 1, probs[0], ('daemon',))
            self.results.append((op, 0, 0))
            return None
        if escapes(m.ref_mnt, op) or escapes(m.impl_mnt, op):
            self.results.append((op, 'unsafe', 'unsafe'))
            self.skipped.append((i, op, 'path leaves the mount through a symlink'))
            return None
        before = describe_paths(m.ref_mnt, op)
        r = apply_op(m.ref_mnt, op)
        eq = ERRNO_EQUIV.get((op['k'], r))
        if eq and eq[0] == 'skip':
            self.results.append((op, r, 'skipped'))
            self.skipped.append((i, op, 'reference returned %s' % ename(r)))
            return None
        self.busy_since = time.time()
        try:
            x = apply_op(m.impl_mnt, op)
        finally:
            self.busy_since = None
        self.results.append((op, r, x))
        key = (op['k'], ename(r))
        self.stats[key] = self.stats.get(key, 0) + 1
        if c.verbose:
            log('%5d %-70s ref=%s impl=%s' % (i, fmt_op(op), ename(r), ename(x)))
        if self.hung:
            return Failure('hang', i + 1, 'implementation hung on op %d: %s' % (
                i, fmt_op(op)), ('hang',))
        if r != x:
            return Failure('errno', i + 1,
                           'op %d %s: ref=%s impl=%s' % (i, fmt_op(op), ename(r), ename(x)),
                           (op['k'], ename(r), ename(x)),
                           ['  before the op (reference): ' + before])
        return None

    def replay(self, ops, final_remount_compare):
        """Run ops from fresh state; compare at the end.  Returns Failure/None."""
        self.results = []
        try:
            try:
                self.new_mounts()
            except ImplFailure as e:
                return Failure('mount', 0, str(e), ('mount',))
            for i, op in enumerate(ops):
                f = self.apply(i, op)
                if f:
                    return f
            f = self.compare(len(ops), 'at the end')
            if f or not final_remount_compare:
                return f
            probs = self.remount()
            if probs:
                return Failure('daemon', len(ops), probs[0], ('daemon',))
            return self.compare(len(ops), 'after remount')
        except ImplFailure as e:
            return Failure('mount', len(self.results), str(e), ('mount',))
        finally:
            self.close_mounts()


def print_failure(c, f, ops):
    log('')
    log('=' * 78)
    log('MISMATCH  seed=%s  lowers=%d  lower-format=%s  ref-opts=%s' % (
        c.seed, c.lowers, c.lower_format, c.ref_opts or '(none)'))
    log('after %d ops (index of last op applied: %d): %s' % (f.index, f.index - 1, f.msg))
    if f.index > 0 and f.kind != 'errno':
        log('last ops:')
        for j in range(max(0, f.index - 3), f.index):
            log('  %5d %s' % (j, fmt_op(ops[j])))
    for l in f.details[:40]:
        log(l)
    if len(f.details) > 40:
        log('  ... %d more differences' % (len(f.details) - 40))


def shrink(c, ops, fail):
    """Delta-debug ops (a prefix ending at the failure) keeping the same bug."""
    deadline = time.time() + c.shrink_seconds
    need_remount = fail.msg.endswith('after remount')
    trials = [0]
    last = {'fail': fail, 'results': None}

    def test(sub):
        if time.time() > deadline:
            return False
        trials[0] += 1
        r = Runner(c)
        c.runner = r
        stop = threading.Event()
        t = threading.Thread(target=r.watchdog, args=(stop,), daemon=True)
        t.start()
        try:
            f = r.replay(sub, need_remount)
        finally:
            stop.set()
        ok = f is not None and fail.same_bug(f)
        if ok:
            last['fail'] = f
            last['results'] = r.results
        return ok

    ops = list(ops)
    log('')
    log('shrinking %d ops (budget %ds)...' % (len(ops), c.shrink_seconds))
    if not test(ops):
        log('could not reproduce the failure from a fresh start with the same ops '
            '(flaky or state-dependent); not shrinking')
        return ops, None, trials[0]
    # drop trailing remounts / try the empty list first
    if test([]):
        return [], last, trials[0]
    n = 2
    while len(ops) >= 2 and time.time() < deadline:
        chunk = (len(ops) + n - 1) // n
        parts = [ops[i:i + chunk] for i in range(0, len(ops), chunk)]
        reduced = False
        if n > 2:
            for s in parts:
                if test(s):
                    ops, n, reduced = s, 2, True
                    break
        if not reduced:
            for i in range(len(parts)):
                comp = [o for j, p in enumerate(parts) if j != i for o in p]
                if test(comp):
                    ops, n, reduced = comp, max(n - 1, 2), True
                    break
        if not reduced:
            if n >= len(ops):
                break
            n = min(len(ops), 2 * n)
    # one-by-one pass (1-minimality) while time remains
    i = 0
    while i < len(ops) and time.time() < deadline:
        comp = ops[:i] + ops[i + 1:]
        if test(comp):
            ops = comp
        else:
            i += 1
    return ops, last, trials[0]


def report_shrunk(c, ops, last, trials, elapsed):
    log('')
    if last is None:
        log('ops (not shrunk):')
    else:
        log('shrunk to %d ops in %.0fs (%d trials)%s:' % (
            len(ops), elapsed, trials,
            '' if time.time() < c.shrink_deadline else ' [time budget exhausted]'))
    res = last['results'] if last and last['results'] else []
    for j, op in enumerate(ops):
        if len(ops) > 80 and 40 <= j < len(ops) - 40:
            if j == 40:
                log('  ... (%d ops, see the repro file)' % (len(ops) - 80))
            continue
        extra = ''
        if j < len(res):
            _, r, x = res[j]
            extra = '   -> ref=%s impl=%s' % (ename(r), ename(x))
            if r != x:
                extra += '   <== differs'
        log('  %3d. %s%s' % (j, fmt_op(op), extra))
    if last and last['fail']:
        f = last['fail']
        log('result: %s' % f.msg)
        for l in f.details[:20]:
            log(l)
    try:
        fd, path = tempfile.mkstemp(prefix='difftest-repro-%s-' % c.seed,
                                    suffix='.json', dir='/tmp')
        with os.fdopen(fd, 'w') as fo:
            json.dump({'seed': c.seed, 'lowers': c.lowers, 'ops': ops,
                       'final_remount': last['fail'].msg.endswith('after remount')
                       if last and last['fail'] else False}, fo, indent=1)
        cmd = [sys.argv[0], '--seed', str(c.seed), '--lowers', str(c.lowers),
               '--lower-format', c.lower_format]
        if c.ref_opts_arg is not None:
            cmd += ['--ref-opts', c.ref_opts_arg]
        if c.ignore_attrs:
            cmd += ['--ignore-attrs', ','.join(sorted(c.ignore_attrs))]
        if c.allow_ghosts:
            cmd += ['--allow-ghosts']
        if c.impl_cmd_arg is not None:
            cmd += ['--impl-cmd', c.impl_cmd_arg]
        cmd += ['--replay', path]
        log('repro ops written to %s; replay with:\n  %s' % (
            path, ' '.join(shlex.quote(x) for x in cmd)))
    except OSError:
        pass


# ---------------------------------------------------------------------------

def check_environment(c):
    if os.geteuid() != 0:
        raise Skip('not root (needs mount(2), mknod and chown)')
    if not os.path.exists('/dev/fuse'):
        raise Skip('/dev/fuse missing')
    fs = open('/proc/filesystems').read()
    if 'overlay' not in fs:
        run(['modprobe', 'overlay'], check=False)
        if 'overlay' not in open('/proc/filesystems').read():
            raise Skip('kernel has no overlayfs')
    if 'fuse' not in fs:
        run(['modprobe', 'fuse'], check=False)


def probe_ref_opts(c):
    """Find the best reference mount options the kernel accepts."""
    cands = [c.ref_opts] if c.ref_opts is not None else [
        'redirect_dir=on,index=on,metacopy=off',
        'redirect_dir=on,index=off,metacopy=off',
        '']
    base = os.path.join(c.tmp, 'probe')
    last = ''
    for o in cands:
        shutil.rmtree(base, ignore_errors=True)
        for d in ('l', 'u', 'w', 'm'):
            os.makedirs(os.path.join(base, d))
        opts = 'lowerdir=%s/l,upperdir=%s/u,workdir=%s/w' % (base, base, base)
        if o:
            opts += ',' + o
        p = run(['mount', '-t', 'overlay', 'overlay', '-o', opts,
                 os.path.join(base, 'm')], check=False)
        if p.returncode == 0:
            run(['umount', os.path.join(base, 'm')], check=False)
            shutil.rmtree(base, ignore_errors=True)
            return o
        last = p.stdout.strip()
    shutil.rmtree(base, ignore_errors=True)
    raise Skip('cannot mount the kernel overlayfs: %s' % last)


def main_run(c):
    c.tmp = tempfile.mkdtemp(prefix='difftest.', dir='/tmp')
    c.run_no = 0
    c.ref_opts = probe_ref_opts(c)
    c.strict_links = 'index=on' in c.ref_opts.split(',')
    if c.verbose:
        log('reference options: %r (strict hardlink checks: %s)' % (
            c.ref_opts, c.strict_links))
    t0 = time.time()
    base_ovl = os.path.join(c.tmp, 'layers-overlay')
    os.mkdir(base_ovl)
    if not c.strict_links:
        log('difftest: warning: reference runs without index=on: the kernel then '
            'breaks lower hardlinks at copy-up, so the lowers get no hardlinks '
            'and link counts are not compared')
    c.ref_lowers = LayerBuilder(c.seed, c.lowers, base_ovl,
                                hardlinks=c.strict_links).build()
    if c.lower_format == 'oci':
        base_oci = os.path.join(c.tmp, 'layers-oci')
        os.mkdir(base_oci)
        c.impl_lowers = []
        for d in c.ref_lowers:
            nd = os.path.join(base_oci, os.path.basename(d))
            convert_to_oci(d, nd)
            c.impl_lowers.append(nd)
    else:
        c.impl_lowers = list(c.ref_lowers)
    all_lowers = sorted(set(c.ref_lowers + c.impl_lowers))
    digests = [tree_digest(d) for d in all_lowers]
    if c.verbose:
        log('layers built in %.2fs under %s' % (time.time() - t0, c.tmp))

    if c.replay:
        with open(c.replay) as f:
            data = json.load(f)
        ops = data['ops']
        r = Runner(c)
        c.runner = r
        stop = threading.Event()
        threading.Thread(target=r.watchdog, args=(stop,), daemon=True).start()
        c.verbose = True
        f = r.replay(ops, data.get('final_remount', True))
        stop.set()
        if f is None:
            log('replay of %d ops: no difference' % len(ops))
            return 0
        print_failure(c, f, ops)
        return 1

    gen = OpGen(c.seed, c.exclude_ops, c.no_dir_renames)
    r = Runner(c)
    c.runner = r
    stop = threading.Event()
    threading.Thread(target=r.watchdog, args=(stop,), daemon=True).start()
    ops = []
    fail = None
    try:
        r.new_mounts()
        fail = r.compare(0, 'before any op')
        gen.set_tree(OpGen.walk(r.m.ref_mnt), initial=True)
        nbatches = (c.ops + c.batch - 1) // c.batch
        b = 0
        while fail is None and b < nbatches:
            todo = min(c.batch, c.ops - b * c.batch)
            done = 0
            while done < todo and fail is None:
                new = gen.next()
                changed = False
                for op in new:
                    ops.append(op)
                    fail = r.apply(len(ops) - 1, op)
                    if fail:
                        break
                    if op['k'] in NS_KINDS:
                        changed = True
                done += len(new)
                if changed and fail is None:
                    gen.set_tree(OpGen.walk(r.m.ref_mnt))
            b += 1
            if fail is None:
                fail = r.compare(len(ops), 'after batch %d (op %d)' % (b, len(ops) - 1))
            if fail is None and (b % c.remount_every == 0 or b == nbatches):
                ops.append({'k': 'remount'})
                fail = r.apply(len(ops) - 1, ops[-1])
                if fail is None:
                    fail = r.compare(len(ops), 'after remount')
                gen.set_tree(OpGen.walk(r.m.ref_mnt))
            if c.verbose and fail is None:
                nlow = sum(1 for x, v in gen.tree.items()
                           if x and v[3] in gen.lower_inos)
                log('batch %d/%d ok (%d ops, %d entries (initially %d, %d from '
                    'lowers), %.1fs)' % (b, nbatches, len(ops), len(gen.tree),
                                         gen.initial_size, nlow, time.time() - t0))
    except ImplFailure as e:
        fail = Failure('mount', len(ops), str(e), ('mount',))
    finally:
        stop.set()
        if r.m is not None:
            try:
                r.m.umount()
                if fail is None and r.m.problems:
                    fail = Failure('daemon', len(ops), r.m.problems[0], ('daemon',))
            except SetupError as e:
                if fail is None:
                    fail = Failure('daemon', len(ops), str(e), ('daemon',))
        if fail is not None and c.keep and r.m is not None:
            log('difftest: kept the failing run (uppers, daemon log) in %s'
                % r.m.rundir)
        r.close_mounts(remove=not (fail is not None and c.keep))

    if fail is None:
        now = [tree_digest(d) for d in all_lowers]
        changed = [d for d, x, y in zip(all_lowers, digests, now) if x != y]
        if changed:
            fail = Failure('lower', len(ops), 'lower layer(s) modified: %s' %
                           ' '.join(changed), ('lower',))

    summary = ', '.join('%s:%s=%d' % (k, e, n) for (k, e), n in sorted(r.stats.items()))
    if c.verbose:
        log('op results: ' + summary)
    if r.skipped:
        log('skipped %d ops:' % len(r.skipped))
        for i, op, why in r.skipped[:20]:
            log('  %5d %s: %s' % (i, fmt_op(op), why))
    if fail is None:
        print('difftest: seed=%s lowers=%d ops=%d: no differences (%.1fs, ref %s, '
              'impl lowers %s format)' % (c.seed, c.lowers, len(ops),
                                          time.time() - t0, c.ref_opts or '(none)',
                                          c.lower_format))
        return 0
    print_failure(c, fail, ops)
    if c.shrink_seconds > 0 and fail.kind not in ('lower',):
        prefix = ops[:fail.index]
        ts = time.time()
        c.shrink_deadline = ts + c.shrink_seconds
        small, last, trials = shrink(c, prefix, fail)
        report_shrunk(c, small, last, trials, time.time() - ts)
    log('seed=%s: FAILED' % c.seed)
    return 1


def kernel_impl(argv):
    """Pretend to be a FUSE daemon, using the kernel overlayfs (for self-tests)."""
    ap = argparse.ArgumentParser(prog='difftest.py kernel-impl')
    ap.add_argument('--opts', default='')
    ap.add_argument('--tamper', action='store_true')
    ap.add_argument('--from-oci', action='store_true',
                    help='lowers are in OCI format: convert them for the kernel')
    ap.add_argument('-f', action='store_true')
    ap.add_argument('-o', required=True)
    ap.add_argument('mnt')
    a = ap.parse_args(argv)

    # converted/tampered lowers are kept next to the originals (inside
    # difftest's temp dir) and reused, so that a remount sees the same lowers
    # (index=on refuses other ones)
    def transform(tag, fn):
        items = a.o.split(',')
        for j, it in enumerate(items):
            if it.startswith('lowerdir='):
                new = []
                for k, l in enumerate(it[len('lowerdir='):].split(':')):
                    d = os.path.join(os.path.dirname(l.rstrip('/')),
                                     '.kimpl-%s-%s' % (tag, os.path.basename(l.rstrip('/'))))
                    if not os.path.isdir(d):
                        fn(k, l, d + '.tmp')
                        os.rename(d + '.tmp', d)
                    new.append(d)
                items[j] = 'lowerdir=' + ':'.join(new)
        a.o = ','.join(items)

    def tamper(k, src, dst):
        run(['cp', '-a', src, dst])
        if k != 0:
            return
        for dp, dns, fns in os.walk(dst):
            dns.sort()
            for fn in sorted(fns):
                p = os.path.join(dp, fn)
                st = os.lstat(p)
                if stat.S_ISREG(st.st_mode) and st.st_size > 0:
                    with open(p, 'r+b') as f:
                        b = f.read(1)
                        f.seek(0)
                        f.write(bytes([b[0] ^ 1]))
                    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
                    print('kernel-impl: tampered %s' % p, file=sys.stderr)
                    return

    if a.from_oci:
        transform('fromoci', lambda k, s, d: convert_from_oci(s, d))
    if a.tamper:
        transform('tamper', tamper)
    opts = a.o
    if a.opts:
        opts += ',' + a.opts
    stopping = []
    signal.signal(signal.SIGTERM, lambda *x: stopping.append(1))
    signal.signal(signal.SIGINT, lambda *x: stopping.append(1))
    p = run(['mount', '-t', 'overlay', 'overlay', '-o', opts, a.mnt], check=False)
    if p.returncode != 0:
        print('kernel-impl: mount failed: ' + p.stdout, file=sys.stderr)
        return 1
    while not stopping and mount_fstype(a.mnt):
        time.sleep(0.05)
    if mount_fstype(a.mnt):
        run(['umount', a.mnt], check=False)
    return 0


def main():
    if len(sys.argv) > 1 and sys.argv[1] == 'kernel-impl':
        return kernel_impl(sys.argv[2:])
    ap = argparse.ArgumentParser(
        description='Differential tester: implementation vs kernel overlayfs.',
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='Exit: 0 equal, 1 mismatch, 2 setup error, 77 skipped.')
    ap.add_argument('--seed', default='1', help='random seed (default 1)')
    ap.add_argument('--ops', type=int, default=2000, help='number of ops (default 2000)')
    ap.add_argument('--batch', type=int, default=200,
                    help='compare the trees every N ops (default 200)')
    ap.add_argument('--lowers', type=int, default=2, help='number of lower layers (default 2)')
    ap.add_argument('--impl-cmd', default=None,
                    help="command of the implementation, run in the foreground; "
                    "{lower} {upper} {work} {mnt} are substituted (default: "
                    "'$LAYERFS -f -o lowerdir={lower},upperdir={upper},workdir={work} {mnt}')")
    ap.add_argument('--lower-format', choices=['oci', 'overlay'], default='oci',
                    help='whiteout format of the lowers given to the implementation')
    ap.add_argument('--ref-opts', default=None,
                    help='kernel overlayfs options of the reference (default: the '
                    'first that works of redirect_dir=on,index=on,metacopy=off / '
                    'redirect_dir=on,index=off,metacopy=off / none)')
    ap.add_argument('--remount-every', type=int, default=3,
                    help='remount both every N batches (and always at the end)')
    ap.add_argument('--shrink-seconds', type=int, default=120,
                    help='time budget for shrinking a failure (0: do not shrink)')
    ap.add_argument('--op-timeout', type=int, default=30,
                    help='seconds before a blocked op on the implementation counts '
                    'as a hang (its daemon is then killed)')
    ap.add_argument('--exclude-ops', default='',
                    help='comma-separated op kinds not to generate (exploration only): '
                    + ','.join(OpGen.WEIGHTS))
    ap.add_argument('--no-dir-renames', action='store_true',
                    help='never rename a directory, nor exchange one (exploration only)')
    ap.add_argument('--ignore-attrs', default='',
                    help='comma-separated attributes not to compare (exploration '
                    'only): mode,uid,gid,nlink,mtime,size,sha256,target,rdev,xattrs,links')
    ap.add_argument('--allow-ghosts', action='store_true',
                    help='let the implementation list whiteouts of non-merged lower '
                    'dirs as the kernel does (only for kernel-vs-kernel self-checks)')
    ap.add_argument('--replay', metavar='FILE',
                    help='run the ops of a repro file written by a failed run')
    ap.add_argument('--keep', action='store_true', help='keep the temp dir on failure')
    ap.add_argument('--verbose', '-v', action='store_true')
    c = Ctx()
    ap.parse_args(namespace=c)
    c.exclude_ops = {x for x in c.exclude_ops.split(',') if x}
    c.ignore_attrs = {x for x in c.ignore_attrs.split(',') if x}
    bad = c.exclude_ops - set(OpGen.WEIGHTS)
    if bad:
        ap.error('unknown op kinds: %s' % ','.join(sorted(bad)))
    if c.lowers < 1 or c.batch < 1 or c.ops < 0 or c.remount_every < 1:
        ap.error('bad numeric argument')
    c.ref_opts_arg = c.ref_opts
    c.impl_cmd_arg = c.impl_cmd
    if c.impl_cmd is None:
        lf = os.environ.get('LAYERFS')
        if not lf:
            log('difftest: set LAYERFS=/path/to/layerfs or pass --impl-cmd')
            return 2
        c.impl_cmd = (shlex.quote(lf) +
                      ' -f -o lowerdir={lower},upperdir={upper},workdir={work} {mnt}')
    c.tmp = None
    c.active = None
    c.daemon_pid = None
    c.runner = None
    c.shrink_deadline = 0
    os.umask(0o022)
    os.chdir('/')

    def on_signal(sig, frame):
        raise Interrupted('signal %d' % sig)

    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)

    rc = 2
    try:
        check_environment(c)
        rc = main_run(c)
    except Skip as e:
        log('difftest: SKIP: %s' % e)
        rc = 77
    except SetupError as e:
        log('difftest: setup error: %s' % e)
        rc = 2
    except Interrupted as e:
        log('difftest: interrupted (%s), cleaning up' % e)
        rc = 130
    except Exception:
        import traceback
        traceback.print_exc()
        log('difftest: internal error (seed=%s)' % c.seed)
        rc = 2
    finally:
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)
        try:
            r = c.runner
            if r is not None and r.m is not None:
                r.close_mounts()
        except Exception as e:   # keep cleaning up
            log('difftest: cleanup: %s' % e)
        if c.daemon_pid:
            try:
                os.kill(c.daemon_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if c.tmp:
            if c.keep and rc != 0:
                log('difftest: kept %s' % c.tmp)
            else:
                shutil.rmtree(c.tmp, ignore_errors=True)
    return rc


if __name__ == '__main__':
    sys.exit(main())
