#!/usr/bin/env python3
"""Workers and checks of t-fs-concurrent.sh (races through one mount).

  fsconc.py lower DIR                    the lower layer
  fsconc.py copyup MNT NPROC             NPROC processes copy up each cu/bigN
                                         at once (open for writing, chmod,
                                         append nothing) and read it back
  fsconc.py rw MNT SECS NREADERS         one writer rewrites rw/file block
                                         by block, readers check each block
  fsconc.py storm MNT SECS NPROC         renames among names, files and dirs
  fsconc.py names MNT                    check the storm's set of names

Each prints one "ok ..." line or its errors (exit 1).
"""
import ctypes
import errno
import hashlib
import os
import random
import struct
import sys
import time
from multiprocessing import Process, Queue

N_CU, CU_SIZE = 6, 6 << 20
BLK, N_BLK = 4096, 256
N_DIRS, DIR_SLOTS, N_FILES, FILE_SLOTS = 6, 10, 40, 60

libc = ctypes.CDLL(None, use_errno=True)
RENAME_NOREPLACE, RENAME_EXCHANGE = 1, 2


def renameat2(a, b, flags):
    if libc.renameat2(-100, a.encode(), -100, b.encode(), flags) < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), a)


def cu_content(i):
    return random.Random(500 + i).randbytes(CU_SIZE)


def block(i, gen):
    # a block names its index and generation, 16 times over
    return struct.pack("<QQ", i, gen) * (BLK // 16)


def file_content(i):
    return (f"file {i}\n" * (1 + i * 37)).encode()


def make_lower(d):
    os.makedirs(d + "/cu")
    for i in range(N_CU):
        with open(f"{d}/cu/big{i}", "wb") as f:
            f.write(cu_content(i))
    os.makedirs(d + "/rw")
    with open(d + "/rw/file", "wb") as f:
        for i in range(N_BLK):
            f.write(block(i, 0))
    os.makedirs(d + "/st")
    for k in range(N_DIRS):
        os.makedirs(f"{d}/st/D{k}")
        with open(f"{d}/st/D{k}/dirid", "w") as f:
            f.write(f"dir {k}\n")
    for i in range(N_FILES):
        with open(f"{d}/st/D{i % N_DIRS}/f{i}", "wb") as f:
            f.write(file_content(i))


# ---- parallel copy-up of the same file ------------------------------------

def cu_worker(mnt, n, seed, q):
    rng = random.Random(seed)
    res = []
    for i in rng.sample(range(N_CU), N_CU):
        p = f"{mnt}/cu/big{i}"
        how = rng.choice(("open", "chmod", "append"))
        if how == "chmod":
            os.chmod(p, 0o644)
        fd = os.open(p, os.O_RDWR | (os.O_APPEND if how == "append" else 0))
        if how == "append":
            os.write(fd, b"")
        b = os.pread(fd, CU_SIZE + 1, 0)
        st = os.fstat(fd)
        os.close(fd)
        # and through a new open, after the others' copy-ups
        with open(p, "rb") as f:
            b2 = f.read()
        res.append((i, hashlib.sha256(b).hexdigest(), hashlib.sha256(b2).hexdigest(), st.st_ino, len(b)))
    q.put((n, res))


def copyup(mnt, nproc):
    q = Queue()
    ps = [Process(target=cu_worker, args=(mnt, n, n, q)) for n in range(int(nproc))]
    for p in ps:
        p.start()
    got = [q.get(timeout=300) for _ in ps]
    for p in ps:
        p.join()
    errs = []
    for i in range(N_CU):
        want = hashlib.sha256(cu_content(i)).hexdigest()
        inos = set()
        for n, res in got:
            for j, h, h2, ino, ln in res:
                if j != i:
                    continue
                inos.add(ino)
                if h != want or h2 != want:
                    errs.append(f"cu/big{i}: process {n} read {ln} bytes, not the lower's data")
        if len(inos) != 1:
            errs.append(f"cu/big{i}: {len(inos)} inode numbers: {sorted(inos)}")
    return errs, f"{len(got)} processes copied up {N_CU} files of {CU_SIZE >> 20} MiB at once"


# ---- readers and a writer on one file -------------------------------------

def rw_reader(mnt, secs, seed, q):
    rng = random.Random(seed)
    end = time.time() + secs
    errs, reads, torn = [], 0, 0
    fd = os.open(mnt + "/rw/file", os.O_RDONLY)  # before the copy-up
    while time.time() < end and len(errs) < 5:
        i = rng.randrange(N_BLK)
        n = rng.choice((1, 1, 4, 16))
        b = os.pread(fd, BLK * n, BLK * i)
        for k in range(len(b) // BLK):
            blk = b[k * BLK:(k + 1) * BLK]
            units = set(struct.iter_unpack("<QQ", blk))
            if any(idx != i + k for idx, _ in units):
                errs.append(f"block {i + k}: read data never written there: {sorted(units)[:4]}")
                break
            # a read racing a write of the same page may see part of
            # each generation (as on any Linux filesystem): counted
            torn += len(units) > 1
        if len(b) != min(BLK * n, BLK * (N_BLK - i)):
            errs.append(f"block {i}: short read {len(b)}")
        reads += 1
        if rng.random() < 0.01:  # and through a new open now and then
            os.close(fd)
            fd = os.open(mnt + "/rw/file", os.O_RDONLY)
    os.close(fd)
    q.put((errs, reads, torn))


def rw(mnt, secs, nreaders):
    secs = float(secs)
    q = Queue()
    ps = [Process(target=rw_reader, args=(mnt, secs, n, q)) for n in range(int(nreaders))]
    for p in ps:
        p.start()
    time.sleep(0.2)  # the readers hold the lower file open
    end, gen, writes = time.time() + secs, 0, 0
    fd = os.open(mnt + "/rw/file", os.O_WRONLY)
    while time.time() < end:
        gen += 1
        for i in range(N_BLK):
            os.pwrite(fd, block(i, gen), BLK * i)
            writes += 1
    os.close(fd)
    errs, reads, torn = [], 0, 0
    for p in ps:
        e, r, t = q.get(timeout=secs + 120)
        errs += e
        reads += r
        torn += t
    for p in ps:
        p.join()
    with open(mnt + "/rw/file", "rb") as f:
        b = f.read()
    if b != b"".join(block(i, gen) for i in range(N_BLK)):
        errs.append("the file does not hold the last generation at the end")
    return errs, (f"{writes} block writes ({gen} generations), {reads} reads by "
                  f"{len(ps)} readers ({torn} blocks of two generations)")


# ---- rename storm ----------------------------------------------------------

def storm_worker(mnt, secs, seed, q):
    rng = random.Random(seed)
    end = time.time() + secs
    st = mnt + "/st"
    ok = fail = 0
    while time.time() < end:
        flags = rng.choice((RENAME_NOREPLACE,) * 3 + (RENAME_EXCHANGE,))
        if rng.random() < 0.2:  # a directory, lower ones included
            a = f"{st}/D{rng.randrange(DIR_SLOTS)}"
            b = f"{st}/D{rng.randrange(DIR_SLOTS)}"
        else:
            a = f"{st}/D{rng.randrange(DIR_SLOTS)}/f{rng.randrange(FILE_SLOTS)}"
            b = f"{st}/D{rng.randrange(DIR_SLOTS)}/f{rng.randrange(FILE_SLOTS)}"
        try:
            renameat2(a, b, flags)
            ok += 1
        except OSError as e:
            # the names race: gone, taken, or the other side missing
            if e.errno not in (errno.ENOENT, errno.EEXIST, errno.EINVAL):
                q.put((f"rename {a} {b} {flags}: {e}", ok, fail))
                return
            fail += 1
    q.put(("", ok, fail))


def storm(mnt, secs, nproc):
    q = Queue()
    ps = [Process(target=storm_worker, args=(mnt, float(secs), n, q)) for n in range(int(nproc))]
    for p in ps:
        p.start()
    res = [q.get(timeout=float(secs) + 120) for _ in ps]
    for p in ps:
        p.join()
    errs = [e for e, _, _ in res if e]
    return errs, (f"{sum(r[1] for r in res)} renames done, {sum(r[2] for r in res)} "
                  f"refused (ENOENT/EEXIST/EINVAL) by {len(ps)} processes")


def names(mnt):
    st = mnt + "/st"
    errs = []
    dirs, files = {}, {}
    want = {file_content(i): i for i in range(N_FILES)}
    for d in sorted(os.listdir(st)):
        with open(f"{st}/{d}/dirid") as f:
            k = f.read()
        dirs.setdefault(k, []).append(d)
        for e in sorted(os.listdir(f"{st}/{d}")):
            if e == "dirid":
                continue
            with open(f"{st}/{d}/{e}", "rb") as f:
                b = f.read()
            if b not in want:
                errs.append(f"{d}/{e}: content of no file")
                continue
            files.setdefault(want[b], []).append(f"{d}/{e}")
    for k in range(N_DIRS):
        w = dirs.get(f"dir {k}\n", [])
        if len(w) != 1:
            errs.append(f"dir {k} found {len(w)} times: {w}")
    for i in range(N_FILES):
        w = files.get(i, [])
        if len(w) != 1:
            errs.append(f"file {i} found {len(w)} times: {w}")
    return errs, f"{len(dirs)} dirs and {sum(map(len, files.values()))} files, each once"


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "lower":
        make_lower(*args)
        return
    errs, msg = {"copyup": copyup, "rw": rw, "storm": storm, "names": names}[cmd](*args)
    for e in errs:
        print(e, file=sys.stderr)
    if errs:
        sys.exit(1)
    print("ok", msg)


if __name__ == "__main__":
    main()
