#!/usr/bin/env python3
"""Fingerprints for bench/commit.sh: the test data, and the checks that
what `layerctl commit` and `layerctl diff --tar` wrote holds exactly the
files of the container's upper layer.

  commit-fp.py gen-small DIR N_DIRS N_FILES   N_DIRS x N_FILES text-like
                                              files of 1-8 KiB (seeded)
  commit-fp.py gen-big FILE MIB               MIB MiB of seeded random bytes
  commit-fp.py tree DIR OUT.json              the fingerprint of a tree
  commit-fp.py tar FILE UPPER.json            a tar (plain, gzip or zstd)
                                              against an upper's fingerprint
  commit-fp.py commit STORE REF BASE UPPER.json
                                              the image REF that commit
                                              made: BASE's layers plus one
                                              whose blob, diffID and
                                              unpacked layer match UPPER
  commit-fp.py layer LAYOUT REF               "SIZE MEDIATYPE" of REF's
                                              last layer in an OCI layout

A fingerprint maps each path (relative, no "./", the root left out) to
its type, mode, owner, size, sha256 (files) and target (symlinks). The
checks print one line, "key=value ..." (bytes, sha256, ...), and on a
mismatch the differences, exiting 1.
"""

import gzip
import hashlib
import json
import os
import random
import stat
import subprocess
import sys
import tarfile

CHUNK = 1 << 20
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
GZIP_MAGIC = b"\x1f\x8b"


# ---- test data --------------------------------------------------------------

def gen_small(out, ndirs, nfiles):
    """Text-like files (words and numbers, compressing about 3:1 like
    configuration and source files), each different, sizes 1-8 KiB."""
    rng = random.Random(20261125)
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = ["".join(rng.choice(letters) for _ in range(rng.randint(2, 10)))
             for _ in range(4096)]
    for d in range(ndirs):
        dd = os.path.join(out, f"d{d:03d}")
        os.makedirs(dd, exist_ok=True)
        for f in range(nfiles):
            size = rng.randint(1024, 8192)
            words = rng.choices(vocab, k=size // 4)
            for i in range(0, len(words), 9):
                words[i] = f"{rng.getrandbits(32):08x}\n"
            data = " ".join(words).encode()[:size]
            with open(os.path.join(dd, f"f{f:03d}"), "wb") as fh:
                fh.write(data)


def gen_big(out, mib):
    rng = random.Random(20261125)
    with open(out, "wb") as fh:
        for _ in range(mib):
            fh.write(rng.randbytes(CHUNK))


# ---- fingerprints -----------------------------------------------------------

def _sha256_fh(fh):
    h = hashlib.sha256()
    for b in iter(lambda: fh.read(CHUNK), b""):
        h.update(b)
    return h.hexdigest()


def _type_of(fmt):
    return {stat.S_IFREG: "file", stat.S_IFDIR: "dir",
            stat.S_IFLNK: "symlink", stat.S_IFCHR: "chardev",
            stat.S_IFBLK: "blockdev", stat.S_IFIFO: "fifo",
            stat.S_IFSOCK: "socket"}.get(fmt, oct(fmt))


def _entry(path):
    st = os.lstat(path)
    fmt = stat.S_IFMT(st.st_mode)
    e = {"type": _type_of(fmt), "mode": f"{stat.S_IMODE(st.st_mode):04o}",
         "owner": f"{st.st_uid}:{st.st_gid}"}
    if fmt == stat.S_IFREG:
        e["size"] = st.st_size
        with open(path, "rb") as fh:
            e["sha256"] = _sha256_fh(fh)
    elif fmt == stat.S_IFLNK:
        e["target"] = os.readlink(path)
    return e


def tree(root):
    t = {}
    for dp, dns, fns in os.walk(root):
        for n in dns + fns:
            p = os.path.join(dp, n)
            t[os.path.relpath(p, root)] = _entry(p)
    return t


class _Hashing:
    """A read-only stream that hashes what is read through it."""

    def __init__(self, fh):
        self.fh, self.h, self.n = fh, hashlib.sha256(), 0

    def read(self, n=-1):
        b = self.fh.read(n)
        self.h.update(b)
        self.n += len(b)
        return b


def _open_tar_stream(path):
    """(raw file, decompressed stream, decompressor process or None)."""
    raw = _Hashing(open(path, "rb"))
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic.startswith(ZSTD_MAGIC):
        proc = subprocess.Popen(["zstd", "-dcq", path], stdout=subprocess.PIPE)
        return raw, proc.stdout, proc
    if magic.startswith(GZIP_MAGIC):
        return raw, gzip.GzipFile(fileobj=raw, mode="rb"), None
    return raw, raw, None


def tar_fp(path):
    """The fingerprint of a tar, its size and sha256 (the diffID when
    compressed: over the decompressed stream), and the blob's own size
    and sha256 (the digest)."""
    raw, stream, proc = _open_tar_stream(path)
    hs = _Hashing(stream) if stream is not raw else raw
    t, bad = {}, []
    with tarfile.open(fileobj=hs, mode="r|") as tf:
        for m in tf:
            name = m.name[2:] if m.name.startswith("./") else m.name
            name = name.rstrip("/")
            if name in ("", "."):
                continue
            if name in t:
                bad.append(f"{name}: twice in the tar")
            e = {"mode": f"{m.mode & 0o7777:04o}", "owner": f"{m.uid}:{m.gid}"}
            if m.isreg():
                e["type"] = "file"
                e["size"] = m.size
                e["sha256"] = _sha256_fh(tf.extractfile(m))
            elif m.isdir():
                e["type"] = "dir"
            elif m.issym():
                e["type"], e["target"] = "symlink", m.linkname
            elif m.islnk():
                e["type"], e["target"] = "hardlink", m.linkname
            else:
                e["type"] = {tarfile.CHRTYPE: "chardev",
                             tarfile.BLKTYPE: "blockdev",
                             tarfile.FIFOTYPE: "fifo"}.get(m.type, repr(m.type))
            t[name] = e
        # the end-of-archive blocks and any padding belong to the diffID
        for _ in iter(lambda: hs.read(CHUNK), b""):
            pass
    if proc is not None:
        if proc.wait() != 0:
            bad.append(f"zstd -d exited with status {proc.returncode}")
    # the blob's digest: read the rest of it (all of it for zstd, which
    # reads the file itself)
    for _ in iter(lambda: raw.read(CHUNK), b""):
        pass
    return t, bad, {"tar_bytes": hs.n, "tar_sha256": hs.h.hexdigest(),
                    "blob_bytes": raw.n, "blob_sha256": raw.h.hexdigest()}


def compare(got, want, what):
    """Differences of fingerprint got (what) from want (the upper)."""
    bad = []
    for p in sorted(got.keys() | want.keys()):
        if p not in got:
            bad.append(f"{p}: in the upper, not in {what}")
        elif p not in want:
            bad.append(f"{p}: in {what}, not in the upper")
        elif got[p] != want[p]:
            for k in sorted(got[p].keys() | want[p].keys()):
                if got[p].get(k) != want[p].get(k):
                    bad.append(f"{p}: {k} {got[p].get(k)} ({what}) != "
                               f"{want[p].get(k)} (upper)")
    return bad


def summary(t):
    files = [e for e in t.values() if e["type"] == "file"]
    big = max(files, key=lambda e: e["size"], default=None)
    s = {"entries": len(t), "files": len(files),
         "bytes": sum(e["size"] for e in files)}
    if big is not None:
        s["largest_sha256"] = big["sha256"]
    return s


def _print(kv, bad):
    print(" ".join(f"{k}={v}" for k, v in kv.items()))
    if bad:
        print(f"{len(bad)} difference(s):")
        print("\n".join(bad[:20]))
        if len(bad) > 20:
            print(f"... and {len(bad) - 20} more")
    return 1 if bad else 0


# ---- the store --------------------------------------------------------------

def _blob(root, digest):
    return os.path.join(root, "blobs", *digest.split(":", 1))


def _manifest(root, ref):
    with open(os.path.join(root, "index.json"), encoding="utf-8") as fh:
        idx = json.load(fh)
    for m in idx.get("manifests", []):
        if m.get("annotations", {}).get(
                "org.opencontainers.image.ref.name") == ref:
            with open(_blob(root, m["digest"]), encoding="utf-8") as fh:
                return json.load(fh)
    raise SystemExit(f"no image '{ref}' in {root}/index.json")


def check_commit(store, ref, base, upper_json):
    with open(upper_json, encoding="utf-8") as fh:
        want = json.load(fh)
    man, bman = _manifest(store, ref), _manifest(store, base)
    with open(_blob(store, man["config"]["digest"]), encoding="utf-8") as fh:
        cfg = json.load(fh)
    with open(_blob(store, bman["config"]["digest"]), encoding="utf-8") as fh:
        bcfg = json.load(fh)
    bad = []
    layers, blayers = man["layers"], bman["layers"]
    if [l["digest"] for l in layers[:-1]] != [l["digest"] for l in blayers] \
            or len(layers) != len(blayers) + 1:
        bad.append(f"layers: {len(layers)}, not the {len(blayers)} of "
                   f"'{base}' plus one")
    ids, bids = cfg["rootfs"]["diff_ids"], bcfg["rootfs"]["diff_ids"]
    if ids[:-1] != bids or len(ids) != len(layers):
        bad.append("config diff_ids are not the base's plus one")
    new = layers[-1]
    path = _blob(store, new["digest"])
    got, tbad, h = tar_fp(path)
    bad += tbad
    if "sha256:" + h["blob_sha256"] != new["digest"]:
        bad.append(f"blob sha256:{h['blob_sha256']} != manifest "
                   f"{new['digest']}")
    if h["blob_bytes"] != new["size"]:
        bad.append(f"blob size {h['blob_bytes']} != manifest {new['size']}")
    if "sha256:" + h["tar_sha256"] != ids[-1]:
        bad.append(f"tar sha256:{h['tar_sha256']} != diff_id {ids[-1]}")
    bad += compare(got, want, "the layer blob")
    # the layer commit unpacked into the store (keyed by diffID, or by
    # chainID for the rare layer whose hardlinks point below it)
    unpacked = os.path.join(store, "layers", ids[-1].split(":", 1)[1], "diff")
    if os.path.isdir(unpacked):
        bad += compare(tree(unpacked), want, "layers/DIFFID/diff")
        un = "layers/DIFFID/diff"
    else:
        un = "no layers/DIFFID/diff (chainID key?)"
    kv = {"media_type": new["mediaType"], "blob_bytes": h["blob_bytes"],
          "tar_bytes": h["tar_bytes"], "diff_id": ids[-1], "unpacked": un}
    kv.update(summary(got))
    return _print(kv, bad)


def check_tar(path, upper_json):
    with open(upper_json, encoding="utf-8") as fh:
        want = json.load(fh)
    got, bad, h = tar_fp(path)
    bad += compare(got, want, "the tar")
    kv = {"tar_bytes": h["tar_bytes"], "tar_sha256": "sha256:" + h["tar_sha256"]}
    kv.update(summary(got))
    return _print(kv, bad)


def layer_of(layout, ref):
    new = _manifest(layout, ref)["layers"][-1]
    print(new["size"], new["mediaType"])
    return 0


def main(argv):
    cmd, args = (argv[1], argv[2:]) if len(argv) > 1 else ("", [])
    if cmd == "gen-small" and len(args) == 3:
        gen_small(args[0], int(args[1]), int(args[2]))
        return 0
    if cmd == "gen-big" and len(args) == 2:
        gen_big(args[0], int(args[1]))
        return 0
    if cmd == "tree" and len(args) == 2:
        t = tree(args[0])
        with open(args[1], "w", encoding="utf-8") as fh:
            json.dump(t, fh)
        return _print(summary(t), [])
    if cmd == "tar" and len(args) == 2:
        return check_tar(*args)
    if cmd == "commit" and len(args) == 4:
        return check_commit(*args)
    if cmd == "layer" and len(args) == 2:
        return layer_of(*args)
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
