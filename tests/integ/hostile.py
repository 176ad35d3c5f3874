#!/usr/bin/env python3
"""hostile.py -- a corpus of hostile image archives for t-store-hostile.sh.

  hostile.py OUTDIR OUTSIDE

writes into OUTDIR (which must not exist yet):

  good/            a small valid OCI layout (image "x"), to load first
  NAME/            for most cases: an OCI layout holding image "x"
  NAME.oci.tar     an OCI archive of it (oci-archive:NAME.oci.tar:x)
  NAME.tar         for the tar-content cases: the hostile layer, bare
  NAME.tar.gz      the same, gzip-compressed
  cases            one line per case: NAME KIND SOURCE..., the sources in
                   layerctl load's syntax; KIND is
                     tar      a hostile layer: oci:, oci-archive:, .tar(.gz)
                     gz       a hostile compressed stream (no .tar form)
                     oci      a hostile OCI layout: oci:, oci-archive:
                     archive  a hostile OCI archive: oci-archive: only
                     ok       like tar, but harmless: must be accepted
                     any      like archive, but safe to accept or refuse

OUTSIDE is a sentinel directory outside the store (the test fingerprints
it): symlink and absolute-path cases aim into it, and the blob-symlink
cases put there the copies of blobs that their symlinks point to.

Every layout is consistent except in the one way its case is about: the
index, manifest and config name the right digests and sizes, and the
config's diff_ids are those of the hostile layer, so that a refusal is due
to the content and not to a digest mismatch.  Everything is deterministic
(fixed mtimes, no user names, gzip mtime 0): the same run gives the same
bytes.  Python standard library only.
"""

import gzip
import hashlib
import io
import json
import os
import sys
import tarfile

MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER = "application/vnd.oci.image.layer.v1.tar"
MT_LAYER_GZIP = MT_LAYER + "+gzip"

REF = "x"
MTIME = 1700000000

CASES = {}


def case(kind):
    """Register the function as the builder of case NAME (its name with
    '_' turned to '-')."""

    def register(fn):
        CASES[fn.__name__.replace("_", "-")] = (kind, fn)
        return fn

    return register


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def gz(data):
    return gzip.compress(data, compresslevel=6, mtime=0)


def filler(n, seed=b"x"):
    """n incompressible, deterministic bytes."""
    out = bytearray()
    block = seed
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:n])


# --- tar building ------------------------------------------------------------


class Tar:
    """A layer tar built entry by entry, with no sanitising at all."""

    def __init__(self, fmt=tarfile.PAX_FORMAT):
        self.buf = io.BytesIO()
        self.tf = tarfile.open(fileobj=self.buf, mode="w", format=fmt)

    def _info(self, name, type_, mode, **kw):
        ti = tarfile.TarInfo(name)
        ti.type = type_
        ti.mode = mode
        ti.mtime = MTIME
        ti.uid = ti.gid = 0
        ti.uname = ti.gname = ""
        for k, v in kw.items():
            setattr(ti, k, v)
        return ti

    def file(self, name, data=b"", mode=0o644, **kw):
        ti = self._info(name, tarfile.REGTYPE, mode, size=len(data), **kw)
        self.tf.addfile(ti, io.BytesIO(data))
        return self

    def dir(self, name, mode=0o755, **kw):
        self.tf.addfile(self._info(name, tarfile.DIRTYPE, mode, **kw))
        return self

    def symlink(self, name, target, **kw):
        ti = self._info(name, tarfile.SYMTYPE, 0o777, linkname=target, **kw)
        self.tf.addfile(ti)
        return self

    def hardlink(self, name, target, **kw):
        ti = self._info(name, tarfile.LNKTYPE, 0o644, linkname=target, **kw)
        self.tf.addfile(ti)
        return self

    def chardev(self, name, major, minor):
        ti = self._info(
            name, tarfile.CHRTYPE, 0o666, devmajor=major, devminor=minor
        )
        self.tf.addfile(ti)
        return self

    def build(self):
        self.tf.close()
        return self.buf.getvalue()


# --- OCI layouts -------------------------------------------------------------


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def write_blob(layout, data):
    d = digest(data)
    with open(os.path.join(layout, "blobs", "sha256", d[7:]), "wb") as f:
        f.write(data)
    return d


def overwrite_blob(layout, d, data):
    with open(os.path.join(layout, "blobs", "sha256", d[7:]), "wb") as f:
        f.write(data)


def descriptor(media_type, data):
    return {"mediaType": media_type, "digest": digest(data), "size": len(data)}


def write_layout(
    layout, layers, manifest_hook=None, config_hook=None, index_hook=None
):
    """An OCI layout holding image REF made of layers, a list of
    (blob, uncompressed tar[, media type]) tuples (the media type is gzip's
    unless given).  The hooks may edit the config, the
    manifest and the index (as dicts) before they are written; what the
    manifest says about the config is computed after config_hook, what the
    index says about the manifest after manifest_hook."""
    os.makedirs(os.path.join(layout, "blobs", "sha256"))
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {},
        "rootfs": {
            "type": "layers",
            "diff_ids": [digest(lay[1]) for lay in layers],
        },
    }
    if config_hook:
        config_hook(config)
    cbytes = canonical(config)
    write_blob(layout, cbytes)
    manifest = {
        "schemaVersion": 2,
        "mediaType": MT_MANIFEST,
        "config": descriptor(MT_CONFIG, cbytes),
        "layers": [
            descriptor(lay[2] if len(lay) > 2 else MT_LAYER_GZIP, lay[0])
            for lay in layers
        ],
    }
    for lay in layers:
        write_blob(layout, lay[0])
    if manifest_hook:
        manifest_hook(manifest)
    mbytes = canonical(manifest)
    write_blob(layout, mbytes)
    mdesc = descriptor(MT_MANIFEST, mbytes)
    mdesc["annotations"] = {"org.opencontainers.image.ref.name": REF}
    index = {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": [mdesc]}
    if index_hook:
        index_hook(index)
    with open(os.path.join(layout, "index.json"), "wb") as f:
        f.write(canonical(index))
    return manifest


def layer(tar):
    """A gzip layer: (blob, uncompressed tar)."""
    return (gz(tar), tar)


def archive_entries(layout):
    """The (TarInfo, data) of every file and directory of layout, sorted,
    symlinks kept as symlinks: what an OCI archive of it holds."""
    paths = []
    for top, dirs, files in os.walk(layout):
        paths += [os.path.join(top, n) for n in dirs + files]
    out = []
    for path in sorted(paths):
        ti = tarfile.TarInfo(os.path.relpath(path, layout))
        ti.mtime = MTIME
        ti.mode = 0o644
        data = None
        if os.path.islink(path):
            ti.type = tarfile.SYMTYPE
            ti.linkname = os.readlink(path)
        elif os.path.isdir(path):
            ti.type = tarfile.DIRTYPE
            ti.mode = 0o755
        else:
            with open(path, "rb") as f:
                data = f.read()
            ti.size = len(data)
        out.append((ti, data))
    return out


def entry(name, data=b"", type_=tarfile.REGTYPE, linkname=""):
    ti = tarfile.TarInfo(name)
    ti.type = type_
    ti.mtime = MTIME
    ti.mode = 0o644
    ti.linkname = linkname
    if type_ == tarfile.REGTYPE:
        ti.size = len(data)
        return (ti, data)
    return (ti, None)


def write_archive(path, entries, compress=False):
    """An OCI archive (a tar of a layout) made of (TarInfo, data) pairs."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for ti, data in entries:
            tf.addfile(ti, io.BytesIO(data) if data is not None else None)
    with open(path, "wb") as f:
        f.write(gz(buf.getvalue()) if compress else buf.getvalue())


# --- the cases ---------------------------------------------------------------
# A "tar" (or "ok") case returns the uncompressed layer tar; a "gz" case
# returns (compressed stream, the tar whose diffID the config names); an
# "oci" case gets (layout directory, outside directory) and writes it.


def good_tar():
    return (
        Tar()
        .dir("etc")
        .file("etc/motd", b"hello from the good image\n")
        .hardlink("etc/motd.link", "etc/motd")
        .dir("bin")
        .symlink("bin/sh", "busybox")
        .file("bin/busybox", b"#!/bin/true\n", mode=0o755)
        .build()
    )


# absolute paths


@case("tar")
def abs_path(out):
    return Tar().file("etc/ok", b"ok\n").file("/etc/evil", b"evil\n").build()


@case("tar")
def abs_path_outside(out):
    return Tar().file(out + "/evil-abs", b"evil\n").build()


@case("tar")
def abs_path_pax(out):
    # the ustar name is harmless; the PAX "path" record wins
    pax = {"path": "/etc/evil-pax"}
    return Tar().file("harmless", b"evil\n", pax_headers=pax).build()


@case("tar")
def abs_path_gnu(out):
    # a GNU long name (type L) that is absolute
    return (
        Tar(tarfile.GNU_FORMAT)
        .file("/etc/evil-gnu-" + "l" * 120, b"evil\n")
        .build()
    )


# ".."


@case("tar")
def dotdot(out):
    return Tar().file("../evil", b"evil\n").build()


@case("tar")
def dotdot_inner(out):
    return Tar().dir("a").file("a/../../evil", b"evil\n").build()


@case("tar")
def dotdot_deep(out):
    # from STORE/tmp/STAGE/diff, far enough up to reach OUTSIDE
    up = "../" * 12
    return Tar().file(up + out.lstrip("/") + "/evil-dotdot", b"evil\n").build()


@case("tar")
def dotdot_dir(out):
    return Tar().dir("a/../../evil-dir").build()


# entries through a symlink


@case("tar")
def symlink_abs(out):
    return Tar().symlink("a", out).file("a/evil", b"evil\n").build()


@case("tar")
def symlink_rel(out):
    return Tar().symlink("a", "../../..").file("a/evil", b"evil\n").build()


@case("tar")
def symlink_rel_deep(out):
    # a relative link that really reaches OUTSIDE from the staging dir
    up = "../" * 12
    target = up + out.lstrip("/")
    return Tar().symlink("a", target).file("a/evil", b"evil\n").build()


@case("tar")
def symlink_mkdir(out):
    return Tar().symlink("a", out).dir("a/evil-dir").build()


@case("tar")
def symlink_over_dir(out):
    # a directory, replaced by a symlink, then written through
    return (
        Tar()
        .dir("a")
        .file("a/ok", b"ok\n")
        .symlink("a", out)
        .file("a/evil", b"evil\n")
        .build()
    )


@case("tar")
def symlink_deep_parent(out):
    # the symlink is in the middle of the path
    t = Tar().dir("d").symlink("d/l", out)
    return t.file("d/l/sub/evil", b"evil\n").build()


# hardlinks out of the layer


@case("tar")
def hardlink_abs(out):
    return Tar().hardlink("passwd", "/etc/passwd").build()


@case("tar")
def hardlink_abs_outside(out):
    return Tar().hardlink("sentinel", out + "/sentinel").build()


@case("tar")
def hardlink_dotdot(out):
    return Tar().hardlink("x", "../x").build()


@case("tar")
def hardlink_not_earlier(out):
    # the target comes later in the tar
    return Tar().hardlink("early", "late").file("late", b"late\n").build()


@case("tar")
def hardlink_missing(out):
    return Tar().file("f", b"f\n").hardlink("h", "nowhere").build()


@case("tar")
def hardlink_symlink(out):
    return Tar().symlink("s", out).hardlink("h", "s/sentinel").build()


@case("tar")
def hardlink_dir(out):
    return Tar().dir("d").hardlink("h", "d").build()


@case("tar")
def hardlink_pax(out):
    # a PAX "linkpath" record pointing out; the ustar linkname is harmless
    return (
        Tar()
        .file("f", b"f\n")
        .hardlink("h", "f", pax_headers={"linkpath": "/etc/passwd"})
        .build()
    )


# whiteouts reaching out of their directory


@case("tar")
def wh_dot(out):
    return Tar().file(".wh..", b"").build()


@case("tar")
def wh_dotdot(out):
    return Tar().file(".wh...", b"").build()


@case("tar")
def wh_dot_sub(out):
    return Tar().dir("a").file("a/.wh..", b"").build()


@case("tar")
def wh_dotdot_sub(out):
    return Tar().dir("a").file("a/.wh...", b"").build()


@case("tar")
def wh_dotdot_dir(out):
    # the same name as a directory
    return Tar().dir("a/.wh...").build()


@case("tar")
def wh_dot_parent(out):
    # the same name as a directory that the tar never names itself: made
    # as the parent of an entry
    return Tar().file(".wh../x", b"x\n").build()


@case("tar")
def wh_dotdot_parent(out):
    return Tar().file("a/.wh.../x", b"x\n").build()


# ".wh." alone hides nothing (common/whiteout.c: CU_WH_NAME_META): these
# are accepted, and must not reach anywhere either


@case("ok")
def wh_empty(out):
    return Tar().dir("a").file("a/keep", b"keep\n").file("a/.wh.").build()


@case("ok")
def wh_empty_dir(out):
    return Tar().file(".wh./x", b"x\n").build()


# device nodes (refused only when not root: the test runs this one as
# nobody, and as root checks it is applied)


@case("tar")
def chardev(out):
    return Tar().dir("dev").chardev("dev/full", 1, 7).build()


# limits (the test passes --max-layer-size / --max-entries)


@case("gz")
def gzip_bomb(out):
    # 32 MiB of zeros in one file: about 32 kB compressed
    tar = Tar().file("zero", bytes(32 << 20)).build()
    return (gz(tar), tar)


@case("tar")
def many_entries(out):
    t = Tar().dir("d")
    for i in range(300):
        t.file("d/f%03d" % i, b"")
    return t.build()


# malformed


@case("gz")
def truncated_gzip(out):
    tar = Tar().file("big", filler(256 << 10)).build()
    z = gz(tar)
    return (z[: len(z) // 2], tar)


@case("tar")
def truncated_tar(out):
    tar = Tar().file("big", filler(64 << 10)).build()
    return tar[: 512 + 20000]


@case("tar")
def garbage(out):
    return filler(10240, b"garbage")


@case("tar")
def path_max(out):
    # 30 components of 200 bytes: 6 kB, longer than PATH_MAX
    name = "/".join(["p" * 199 + "%d" % (i % 10) for i in range(30)])
    return Tar().file(name, b"deep\n").build()


@case("tar")
def name_max(out):
    return Tar().file("n" * 300, b"long\n").build()


@case("tar")
def file_then_child(out):
    return Tar().file("a", b"a\n").file("a/b", b"b\n").build()


# OCI-level: the layers are harmless, the layout is not


def harmless(d):
    """A valid layer, different for every case (a blob that an earlier
    case left in the store would not be read again)."""
    name = os.path.basename(d)
    return layer(Tar().file(name, name.encode() + b"\n").build())


@case("oci")
def oci_layer_size(d, out):
    def hook(m):
        m["layers"][0]["size"] += 1

    write_layout(d, [harmless(d)], manifest_hook=hook)


@case("oci")
def oci_layer_size_short(d, out):
    def hook(m):
        m["layers"][0]["size"] -= 1

    write_layout(d, [harmless(d)], manifest_hook=hook)


@case("oci")
def oci_diff_id(d, out):
    def hook(c):
        c["rootfs"]["diff_ids"][0] = digest(b"not the layer")

    write_layout(d, [harmless(d)], config_hook=hook)


@case("oci")
def oci_diff_id_count(d, out):
    def hook(c):
        c["rootfs"]["diff_ids"].append(digest(b"one too many"))

    write_layout(d, [harmless(d)], config_hook=hook)


@case("oci")
def oci_index_garbage(d, out):
    write_layout(d, [harmless(d)])
    with open(os.path.join(d, "index.json"), "wb") as f:
        f.write(b'{"schemaVersion":2,"manifests":[\x00garbage')


@case("oci")
def oci_manifest_digest(d, out):
    # the index names the manifest's digest; the blob stored under that
    # digest says something else (the same size)
    m = write_layout(d, [harmless(d)])
    mbytes = canonical(m)
    evil = mbytes.replace(b'"schemaVersion":2', b'"schemaVersion":3')
    assert len(evil) == len(mbytes) and evil != mbytes
    overwrite_blob(d, digest(mbytes), evil)


@case("oci")
def oci_layer_digest(d, out):
    # the layer blob under its digest was replaced (same size)
    lay = harmless(d)
    write_layout(d, [lay])
    evil = bytearray(lay[0])
    evil[len(evil) // 2] ^= 0xFF
    overwrite_blob(d, digest(lay[0]), bytes(evil))


def blob_symlink(d, out, which):
    """The blob WHICH (a function of the manifest) is a symlink to a copy
    of itself outside the layout: only following it would succeed."""
    m = write_layout(d, [harmless(d)])
    target = which(m, d)
    path = os.path.join(d, "blobs", "sha256", target[7:])
    with open(path, "rb") as f:
        data = f.read()
    with open(os.path.join(out, "blob-" + target[7:19]), "wb") as f:
        f.write(data)
    os.unlink(path)
    os.symlink(os.path.join(out, "blob-" + target[7:19]), path)


@case("oci")
def oci_layer_symlink(d, out):
    blob_symlink(d, out, lambda m, d: m["layers"][0]["digest"])


@case("oci")
def oci_config_symlink(d, out):
    blob_symlink(d, out, lambda m, d: m["config"]["digest"])


@case("oci")
def oci_manifest_symlink(d, out):
    blob_symlink(d, out, lambda m, d: digest(canonical(m)))


@case("oci")
def oci_digest_traversal(d, out):
    # a "digest" that is a path: it must never be opened as one
    def hook(m):
        m["layers"][0]["digest"] = "sha256:../../../../../../../../etc/passwd"

    write_layout(d, [harmless(d)], manifest_hook=hook)


@case("oci")
def oci_index_digest_traversal(d, out):
    def hook(i):
        i["manifests"][0]["digest"] = "sha256:" + "../" * 20 + "etc/passwd"

    write_layout(d, [harmless(d)], index_hook=hook)


@case("oci")
def oci_second_layer_hostile(d, out):
    # a good new layer first, then one that points out: the first must not
    # stay behind either
    ok = layer(Tar().file("first", b"first layer, valid\n").build())
    bad = layer(Tar().file("../../evil-second", b"evil\n").build())
    write_layout(d, [ok, bad])


# OCI archives (oci-archive:FILE): the image is harmless, the outer tar
# is not.  These get (base path, outside) and return the archive's path.


def archive_of(base, hook, compress=False, layers=None):
    """The archive BASE.oci.tar[.gz] of a harmless image (also left as the
    layout BASE), its entries edited by hook(entries, manifest)."""
    m = write_layout(base, layers or [harmless(base)])
    entries = hook(archive_entries(base), m)
    path = base + (".oci.tar.gz" if compress else ".oci.tar")
    write_archive(path, entries, compress)
    return path


def replace_entry(entries, name, new):
    return [new if ti.name == name else (ti, d) for ti, d in entries]


def blob_entry(m):
    return "blobs/sha256/" + m["layers"][0]["digest"][7:]


@case("archive")
def archive_blob_dotdot(base, out):
    def hook(e, m):
        return e + [entry("blobs/sha256/../../../evil-archive", b"evil\n")]

    return archive_of(base, hook)


@case("archive")
def archive_blob_symlink(base, out):
    # the layer blob is a symlink to a copy of itself outside
    def hook(e, m):
        name = blob_entry(m)
        data = dict((ti.name, d) for ti, d in e)[name]
        with open(os.path.join(out, "archive-blob"), "wb") as f:
            f.write(data)
        target = os.path.join(out, "archive-blob")
        link = entry(name, type_=tarfile.SYMTYPE, linkname=target)
        return replace_entry(e, name, link)

    return archive_of(base, hook)


@case("archive")
def archive_blob_hardlink(base, out):
    def hook(e, m):
        name = blob_entry(m)
        link = entry(name, type_=tarfile.LNKTYPE, linkname="/etc/passwd")
        return replace_entry(e, name, link)

    return archive_of(base, hook)


@case("archive")
def archive_blobdir_symlink(base, out):
    # blobs/sha256 itself is a symlink out, then the blobs come through it
    def hook(e, m):
        link = entry("blobs/sha256", type_=tarfile.SYMTYPE, linkname=out)
        return replace_entry(e, "blobs/sha256", link)

    return archive_of(base, hook)


@case("archive")
def archive_dup_blob(base, out):
    # the layer blob twice: the second, different copy must not win
    def hook(e, m):
        name = blob_entry(m)
        data = dict((ti.name, d) for ti, d in e)[name]
        evil = bytes([data[0] ^ 0xFF]) + data[1:]
        return e + [entry(name, evil)]

    return archive_of(base, hook)


@case("archive")
def archive_garbage(base, out):
    with open(base + ".oci.tar", "wb") as f:
        f.write(filler(10240, b"archive garbage"))
    return base + ".oci.tar"


@case("archive")
def archive_truncated(base, out):
    tar = Tar().file("big", filler(64 << 10, b"big blob")).build()
    path = archive_of(base, lambda e, m: e, layers=[(tar, tar, MT_LAYER)])
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data[: len(data) // 2])
    return path


@case("archive")
def archive_bomb(base, out):
    # a compressed archive of an uncompressed 32 MiB layer
    tar = Tar().file("zero", bytes(32 << 20)).build()
    return archive_of(base, lambda e, m: e, True, [(tar, tar, MT_LAYER)])


@case("any")
def archive_junk(base, out):
    # entries an OCI archive has no use for, aiming out: skipping them is
    # as good as refusing the archive, writing them is not
    def hook(e, m):
        return e + [
            entry("../evil-archive", b"evil\n"),
            entry(out + "/evil-archive", b"evil\n"),
            entry("blobs/../../evil-archive", b"evil\n"),
        ]

    return archive_of(base, hook)


# --- main --------------------------------------------------------------------


def main(argv):
    if len(argv) != 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    outdir, outside = argv[1], os.path.abspath(argv[2])
    os.makedirs(outdir)
    write_layout(os.path.join(outdir, "good"), [layer(good_tar())])
    lines = []
    for name, (kind, fn) in CASES.items():
        base = os.path.join(outdir, name)
        if kind in ("archive", "any"):
            path = fn(base, outside)
            lines.append([name, kind, "oci-archive:%s:%s" % (path, REF)])
            continue
        if kind == "oci":
            fn(base, outside)
        elif kind == "gz":
            blob, tar = fn(outside)
            write_layout(base, [(blob, tar)])
        else:  # tar, ok
            tar = fn(outside)
            write_layout(base, [layer(tar)])
        write_archive(base + ".oci.tar", archive_entries(base))
        srcs = ["oci:%s:%s" % (base, REF)]
        srcs.append("oci-archive:%s.oci.tar:%s" % (base, REF))
        if kind in ("tar", "ok"):
            with open(base + ".tar", "wb") as f:
                f.write(tar)
            srcs.append(base + ".tar")
        if kind in ("tar", "ok", "gz"):
            with open(base + ".tar.gz", "wb") as f:
                f.write(blob if kind == "gz" else gz(tar))
            srcs.append(base + ".tar.gz")
        lines.append([name, kind] + srcs)
    with open(os.path.join(outdir, "cases"), "w") as f:
        f.writelines(" ".join(line) + "\n" for line in lines)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
