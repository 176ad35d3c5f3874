#!/usr/bin/env python3
"""Writers and the checker of t-fs-crash.sh (layerfs killed mid-write).

  fscrash.py lower DIR                 make the lower layer
  fscrash.py write KIND MNT LOG ROUND SEED
                                       one writer; ends on the first error
                                       (the daemon died: ENOTCONN) and
                                       prints "ended ERRNAME OPS"
  fscrash.py check MNT LOWER LOG...    after the remount: every "done" is
                                       there; no stray names; copy-ups whole

A writer logs "try NAME SUM" before an operation and "done NAME SUM" once
the call that makes it durable (fsync, fdatasync, rename after fsync, the
dir's fsync) returned; SUM is the sha256 of the content NAME then has, "-"
for "absent". "part NAME SUM" is a "try" of a write that is not atomic
(O_TRUNC, write, write, fsync): until its "done" NAME may hold anything.
The log lives outside the mount. After the crash a NAME must hold the SUM
of its last "done" or of a later "try" (anything after a later "part");
never-done names may also hold their original state (absent, or the lower
file's content).
"""
import errno
import hashlib
import os
import random
import re
import sys

from treefp import sha256 as sha256_file  # same directory

N_CU = 12  # lower files that get copied up (cu/bigN)
N_MV = 16  # lower files renamed around (mv/aN <-> mv/bN)
N_DEL = 60  # lower files deleted (del/fN)
N_REN = 12  # names replaced by rename (w/rename/fN)
CU_SIZE = 3 << 20
HDR = 32


def sha(b):
    return hashlib.sha256(b).hexdigest()


def cu_content(i):
    return random.Random(1000 + i).randbytes(CU_SIZE)


def mv_content(i):
    return ("mv file %d\n" % i).encode() * (50 + i)


def make_lower(d):
    for sub in ("w", "cu", "mv", "del"):
        os.makedirs(os.path.join(d, sub))
    for i in range(N_CU):
        with open(f"{d}/cu/big{i}", "wb") as f:
            f.write(cu_content(i))
    for i in range(N_MV):
        with open(f"{d}/mv/a{i}", "wb") as f:
            f.write(mv_content(i))
    for i in range(N_DEL):
        with open(f"{d}/del/f{i}", "wb") as f:
            f.write(b"delete me %d\n" % i)


class Writer:
    def __init__(self, mnt, log, rnd, seed):
        self.mnt, self.rnd = mnt, rnd
        self.rng = random.Random(seed)
        self.log = open(log, "a", buffering=1)
        self.n = 0

    def p(self, name):
        return os.path.join(self.mnt, name)

    def note(self, what, name, s):
        self.log.write(f"{what} {name} {s}\n")

    def data(self):
        return self.rng.randbytes(self.rng.choice((1, 100, 4096, 70000, 300000, 1 << 20)))

    def put(self, name, b, sync, flags=0):
        fd = os.open(self.p(name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC | flags, 0o644)
        try:
            os.write(fd, b[: len(b) // 2])
            os.write(fd, b[len(b) // 2 :])
            sync(fd)
        finally:
            os.close(fd)

    def fsync_dir(self, name):
        fd = os.open(self.p(name), os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    # ---- the kinds ----
    def k_fsync(self):
        name, b = f"w/fsync/r{self.rnd}-{self.n}", self.data()
        self.note("part", name, sha(b))
        self.put(name, b, os.fsync)
        self.note("done", name, sha(b))

    def k_fdatasync(self):
        name, b = f"w/fdatasync/r{self.rnd}-{self.n}", self.data()
        self.note("part", name, sha(b))
        self.put(name, b, os.fdatasync)
        self.note("done", name, sha(b))

    def k_rename(self):
        # write a temp, fsync it, rename it over one of a few names
        name = f"w/rename/f{self.rng.randrange(N_REN)}"
        tmp, b = f"{name}.tmp.{self.rnd}.{self.n}", self.data()
        self.note("part", tmp, sha(b))
        self.put(tmp, b, os.fsync)
        self.note("done", tmp, sha(b))
        self.note("try", name, sha(b))
        self.note("try", tmp, "-")
        os.rename(self.p(tmp), self.p(name))
        self.fsync_dir("w/rename")
        self.note("done", name, sha(b))
        self.note("done", tmp, "-")

    def k_dirsync(self):
        d, b = f"w/dirsync/r{self.rnd}-d{self.n}", self.data()
        os.mkdir(self.p(d))
        self.note("part", d + "/f", sha(b))
        self.put(d + "/f", b, os.fsync)
        self.fsync_dir(d)
        self.fsync_dir("w/dirsync")
        self.note("done", d + "/f", sha(b))

    def k_copyup(self):
        # a copy-up of a 3 MiB lower file, then a new header written in
        # place; now and then a chmod first (a metacopy, then the data)
        i = self.rng.randrange(N_CU)
        name = f"cu/big{i}"
        hdr = (f"r{self.rnd} n{self.n} " * 8).encode()[:HDR]
        want = sha(hdr + cu_content(i)[HDR:])
        self.note("try", name, want)
        if self.rng.random() < 0.3:
            os.chmod(self.p(name), 0o600 + self.rng.randrange(2) * 0o40)
        fd = os.open(self.p(name), os.O_RDWR)
        try:
            os.pwrite(fd, hdr, 0)
            (os.fsync if self.n % 2 else os.fdatasync)(fd)
        finally:
            os.close(fd)
        self.note("done", name, want)

    def k_move(self):
        # rename lower files back and forth between mv/aN and mv/bN
        i = self.rng.randrange(N_MV)
        a, b = f"mv/a{i}", f"mv/b{i}"
        src, dst = (a, b) if self.exists(a) else (b, a)
        s = sha(mv_content(i))
        self.note("try", dst, s)
        self.note("try", src, "-")
        os.rename(self.p(src), self.p(dst))
        self.fsync_dir("mv")
        self.note("done", dst, s)
        self.note("done", src, "-")

    def exists(self, name):
        try:
            os.lstat(self.p(name))
            return True
        except FileNotFoundError:
            return False

    def k_delete(self):
        # delete lower files (whiteouts); make deleted ones anew
        i = self.rng.randrange(N_DEL)
        name = f"del/f{i}"
        if self.exists(name):
            self.note("try", name, "-")
            os.unlink(self.p(name))
            self.fsync_dir("del")
            self.note("done", name, "-")
            return
        b = self.data()
        self.note("part", name, sha(b))
        self.put(name, b, os.fsync)
        self.fsync_dir("del")
        self.note("done", name, sha(b))

    def run(self, kind):
        step = getattr(self, "k_" + kind)
        for d in ("w/fsync", "w/fdatasync", "w/rename", "w/dirsync"):
            try:
                os.makedirs(self.p(d), exist_ok=True)
            except FileExistsError:
                pass  # a racing writer made it
        while True:  # until the daemon dies under us
            step()
            self.n += 1


def write(kind, mnt, log, rnd, seed):
    w = Writer(mnt, log, int(rnd), seed)
    try:
        w.run(kind)
    except OSError as e:
        how = errno.errorcode.get(e.errno, str(e.errno))
    print("ended", how, w.n)


# ---- the check ------------------------------------------------------------

ALLOWED = [
    r"w",
    r"w/(fsync|fdatasync|rename|dirsync)",
    r"w/(fsync|fdatasync)/r\d+-\d+",
    r"w/rename/f\d+(\.tmp\.\d+\.\d+)?",
    r"w/dirsync/r\d+-d\d+(/f)?",
    r"cu",
    r"cu/big\d+",
    r"mv",
    r"mv/[ab]\d+",
    r"del",
    r"del/f\d+",
    r"huge",
]


def check(mnt, lower, logs):
    errs = []
    allowed = re.compile("^(" + "|".join(ALLOWED) + ")$")
    # every name through the mount is one we made or the lower had
    seen = set()
    for root, dirs, files in os.walk(mnt):
        for e in dirs + files:
            rel = os.path.relpath(os.path.join(root, e), mnt)
            seen.add(rel)
            if not allowed.match(rel):
                errs.append(f"stray name through the mount: {rel}")
    # per name: the states the log allows
    ok = {}  # name -> set of sums; "-" absent
    done = {}
    for lg in logs:
        with open(lg) as f:
            for line in f:
                what, name, s = line.split()
                if what == "done":
                    done[name] = s
                    ok[name] = {s}
                elif what == "part":
                    ok.setdefault(name, set()).add("*")
                else:
                    ok.setdefault(name, set()).add(s)
    for name in ok:
        if name not in done:
            lp = os.path.join(lower, name)
            ok[name].add(sha256_file(lp) if os.path.isfile(lp) else "-")
    ndone = 0
    for name, sums in sorted(ok.items()):
        p = os.path.join(mnt, name)
        got = sha256_file(p) if os.path.lexists(p) else "-"
        if got not in sums and "*" not in sums:
            why = "done" if name in done else "tried"
            errs.append(f"{name}: {why}, has {got[:12]}, expected one of "
                        + " ".join(x[:12] for x in sums))
        ndone += name in done
    # the copy-up targets: whole (size right, the tail the lower's)
    for i in range(N_CU):
        name = f"cu/big{i}"
        with open(os.path.join(mnt, name), "rb") as f:
            b = f.read()
        tail = cu_content(i)[HDR:]
        if len(b) != CU_SIZE or b[HDR:] != tail:
            errs.append(f"{name}: a broken copy-up ({len(b)} bytes)")
    # the renamed lower files: each exactly once
    for i in range(N_MV):
        n = sum(os.path.lexists(os.path.join(mnt, f"mv/{x}{i}")) for x in "ab")
        if n != 1:
            errs.append(f"mv/[ab]{i}: {n} copies")
    for e in errs:
        print(e, file=sys.stderr)
    print(f"checked {len(ok)} names ({ndone} done), {len(seen)} entries")
    return 1 if errs else 0


def main():
    cmd = sys.argv[1]
    if cmd == "lower":
        make_lower(sys.argv[2])
    elif cmd == "write":
        write(*sys.argv[2:7])
    elif cmd == "check":
        sys.exit(check(sys.argv[2], sys.argv[3], sys.argv[4:]))
    else:
        sys.exit("usage: fscrash.py lower|write|check ...")


if __name__ == "__main__":
    main()
