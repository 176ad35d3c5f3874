#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Write the seed corpora of the fuzz harnesses into tests/fuzz/corpus/.

    python3 tests/fuzz/gen_corpus.py [OUTDIR]

Deterministic (fixed mtimes, no user names): running it again gives the
same bytes, so the checked-in corpus can be regenerated and diffed.

untar/   byte 0 chooses the form (fuzz_untar.c): 0 plain, 1 gzipped by
         the harness, 2 zstd'ed by the harness, 3 the bytes as given; +4
         allow devices, +8 record owners (rootless), +16 chown. The rest is
         a layer tar: whiteouts, opaque markers, hardlinks, symlinks, ".."
         and absolute names, devices, PAX headers, long names, xattrs.
options/ option strings as podman, containers/storage, containerd's
         mount.fuse3 helper and fuse-overlayfs users pass them (a file
         with NUL bytes is a whole argv).
oci/     index.json, manifests and configs as skopeo, umoci, docker and
         we write them.
whiteout/ names and paths for the whiteout rules and the path sanitizer.
"""
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile

MTIME = 1700000000


def digest(s):
    return "sha256:" + hashlib.sha256(s.encode()).hexdigest()


# ---- untar ---------------------------------------------------------------

def ti(name, kind=tarfile.REGTYPE, data=b"", **kw):
    t = tarfile.TarInfo(name)
    t.type = kind
    t.mtime = kw.pop("mtime", MTIME)
    t.mode = kw.pop("mode", 0o755 if kind == tarfile.DIRTYPE else 0o644)
    t.uid = kw.pop("uid", 0)
    t.gid = kw.pop("gid", 0)
    t.uname = t.gname = ""
    for k, v in kw.items():
        setattr(t, k, v)
    if kind == tarfile.REGTYPE:
        t.size = len(data)
    return (t, data)


def make_tar(entries, fmt=tarfile.PAX_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        for t, data in entries:
            tf.addfile(t, io.BytesIO(data) if t.isreg() else None)
    raw = buf.getvalue()
    # drop the record padding past the two zero blocks that end the tar:
    # small seeds, and libarchive takes a short last record
    end = len(raw)
    while end >= 512 and raw[end - 512:end] == bytes(512):
        end -= 512
    return raw[:end + 1024]


D, F, L, H = tarfile.DIRTYPE, tarfile.REGTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE

TARS = {
    "basic": [
        ti("etc", D), ti("etc/hostname", F, b"layer\n"),
        ti("etc/passwd", F, b"root:x:0:0:root:/root:/bin/sh\n"),
        ti("bin", D, mode=0o555), ti("bin/sh", F, b"\x7fELF", mode=0o755),
        ti("bin/ash", H, linkname="bin/sh"),
        ti("usr", D), ti("usr/bin", L, linkname="../bin"),
        ti("tmp", D, mode=0o1777), ti("root", D, mode=0o700, uid=0),
        ti("home", D), ti("home/u", D, uid=1000, gid=1000, mode=0o750),
        ti("home/u/f", F, b"x" * 700, uid=1000, gid=1000),
    ],
    "whiteouts": [
        ti("a", D), ti("a/.wh.gone", F, mode=0, mtime=0),
        ti("a/.wh..wh..opq", F, mode=0, mtime=0),
        ti("a/kept", F, b"kept"), ti(".wh.b", F, mode=0, mtime=0),
        ti(".wh..wh.plnk", D), ti(".wh..wh.plnk/123.45", F, b"aufs"),
        ti("c", D), ti("c/.wh.c", F), ti("c/d", D),
        ti("c/d/.wh..wh..opq", F), ti(".wh.", F),
    ],
    "replace": [
        ti("x", D), ti("x/f", F, b"1"), ti("x", F, b"now a file"),
        ti("y", F, b"file"), ti("y", D), ti("y/z", F, b"2"),
        ti("s", L, linkname="y"), ti("s", F, b"replaced link"),
        ti("y/z", H, linkname="x"),
    ],
    "dotdot": [ti("../sentinel/keep", F, b"escaped")],
    "dotdot-mid": [ti("a", D), ti("a/../../sentinel/pwn", F, b"x")],
    "absolute": [ti("/sentinel/pwn", F, b"x"), ti("/etc/x", F, b"y")],
    "dot-names": [ti("./", D), ti(".", D), ti("./a//b/", D),
                  ti("./a/./c", F, b"c"), ti("a/b/", D)],
    "symlink-escape": [
        ti("out", L, linkname="../sentinel"), ti("out/pwn", F, b"x"),
    ],
    "symlink-abs": [
        ti("out", L, linkname="/"), ti("out/tmp/lfs-fuzz-escaped", F, b"x"),
    ],
    "symlink-chain": [
        ti("a", L, linkname="b"), ti("b", L, linkname=".."),
        ti("a/sentinel/pwn", F, b"x"),
    ],
    "symlink-dir-replace": [
        ti("d", D), ti("d/f", F, b"1"), ti("d", L, linkname="../sentinel"),
        ti("d/f", F, b"pwn"),
    ],
    "hardlink-escape": [ti("h", H, linkname="../sentinel/keep")],
    "hardlink-abs": [ti("h", H, linkname="/etc/passwd")],
    "hardlink-through-symlink": [
        ti("s", L, linkname="../sentinel"), ti("h", H, linkname="s/keep"),
    ],
    "hardlink-later": [ti("h", H, linkname="f"), ti("f", F, b"late")],
    "hardlink-dir": [ti("d", D), ti("h", H, linkname="d")],
    "hardlink-self": [ti("f", F, b"x"), ti("f", H, linkname="f")],
    "whiteout-dots": [ti(".wh..", F), ti("a", D), ti("a/.wh...", F),
                      ti(".wh.../x", F)],
    "devices": [
        ti("dev", D), ti("dev/null", tarfile.CHRTYPE, devmajor=1,
                         devminor=3, mode=0o666),
        ti("dev/sda", tarfile.BLKTYPE, devmajor=8, devminor=0),
        ti("dev/fifo", tarfile.FIFOTYPE), ti("gone", tarfile.CHRTYPE,
                                             devmajor=0, devminor=0),
    ],
    "pax-long": [
        ti("d" * 90, D), ti("d" * 90 + "/" + "n" * 200, F, b"long name"),
        ti("l", L, linkname="t" * 300),
        ti("h", H, linkname="d" * 90 + "/" + "n" * 200),
        ti("p", F, b"pax", pax_headers={
            "path": "pax/renamed", "mtime": "1700000000.123456789",
            "atime": "1.5", "uid": "4000000000", "gid": "65534",
            "comment": "x"}),
        ti("pax", D),
    ],
    "xattrs": [
        ti("cap", F, b"\x7fELF", pax_headers={
            "SCHILY.xattr.security.capability":
                "\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00"
                "\x00\x00\x00\x00\x00\x00\x00\x00",
            "SCHILY.xattr.user.mime_type": "text/plain"}),
        ti("opq", D, pax_headers={
            "SCHILY.xattr.trusted.overlay.opaque": "y",
            "SCHILY.xattr.user.overlay.opaque": "y",
            "SCHILY.xattr.user.containers.override_stat": "0:0:0755"}),
        ti("opq/f", F, b"x", pax_headers={
            "LIBARCHIVE.xattr.user.b64": "aGVsbG8="}),
    ],
    "modes": [
        ti("ro", D, mode=0o500), ti("ro/f", F, b"x", mode=0o400),
        ti("none", D, mode=0), ti("none/sub", D, mode=0),
        ti("suid", F, b"x", mode=0o4755), ti("sticky", D, mode=0o1777),
        ti("big", F, b"y", uid=2**21 - 1, gid=2**21 - 1),
    ],
}

GNU_TARS = {
    "gnu-longname": [
        ti("g" * 150, D), ti("g" * 150 + "/" + "f" * 120, F, b"gnu"),
        ti("gl", L, linkname="z" * 200),
    ],
}


def untar_seeds():
    seeds = {}
    for name, ents in TARS.items():
        seeds[name] = make_tar(ents)
    for name, ents in GNU_TARS.items():
        seeds[name] = make_tar(ents, tarfile.GNU_FORMAT)
    seeds["ustar"] = make_tar(TARS["basic"][:6], tarfile.USTAR_FORMAT)
    out = {}
    for name, tar in seeds.items():
        out["plain-" + name] = bytes([0]) + tar
    # the same archives with the other options and compressions
    for name in ("basic", "whiteouts", "devices", "modes", "xattrs"):
        tar = seeds[name]
        out["devices-" + name] = bytes([4]) + tar
        out["rootless-" + name] = bytes([8]) + tar
        out["chown-" + name] = bytes([16 | 4]) + tar
    for name in ("basic", "whiteouts"):
        out["gzip-" + name] = bytes([1]) + seeds[name]
        out["zstd-" + name] = bytes([2]) + seeds[name]
        out["raw-gzip-" + name] = bytes([3]) + gzip.compress(
            seeds[name], mtime=0)
        if shutil.which("zstd"):
            z = subprocess.run(["zstd", "-q", "-c", "-3"],
                               input=seeds[name], check=True,
                               capture_output=True).stdout
            out["raw-zstd-" + name] = bytes([3]) + z
    out["raw-notar"] = bytes([3]) + b"not a tar at all\n"
    out["empty"] = bytes([0])
    return out


# ---- options -------------------------------------------------------------

L1 = "/var/lib/containers/storage/overlay/l/4XJTBQ3MDBVR2LGSDQ2Z3UCWKF"
L2 = "/var/lib/containers/storage/overlay/l/ZGTSIM6NPL6HCB4G6X4VOCH5BQ"
UP = "/var/lib/containers/storage/overlay/3f1c/diff"
WK = "/var/lib/containers/storage/overlay/3f1c/work"
CTX = '"system_u:object_r:container_file_t:s0:c1022,c1023"'

OPTIONS = {
    # containers/storage (podman, buildah) with mount_program
    "podman": f"lowerdir={L1}:{L2},upperdir={UP},workdir={WK},"
              f"volatile,context={CTX}",
    "podman-rootless": f"lowerdir={L1}:{L2},upperdir={UP},workdir={WK},"
                       "uidmapping=0:1000:1:1:100000:65536,"
                       "gidmapping=0:1000:1:1:100000:65536,"
                       "squash_to_uid=0,squash_to_gid=0",
    "podman-userxattr": f"lowerdir={L1},upperdir={UP},workdir={WK},"
                        "userxattr,xattr_permissions=2,fsync=0,",
    "empty-items": f",,lowerdir={L1},,upperdir={UP},workdir={WK},",
    "escaped-colon": r"lowerdir=/l/a\:b:/l/c\\d:/l/e\,f,ro",
    "quoted-comma": 'lowerdir=/a,context="a,b",context=\\"x\\"',
    "idmap-continuation": "lowerdir=/a,uidmapping=0:1000:1,1:100000:65536,"
                          "gidmapping=0:1000:1,1:100000:65536,ro",
    "idmap-overflow": "lowerdir=/a,uidmapping=4294967295:0:1",
    "fuse-overlayfs-manual": "lowerdir=/lower,upperdir=/upper,"
                             "workdir=/work,squash_to_root,"
                             "whiteout=chardev,timeout=1.5,threads=4,"
                             "writeback=1,noacl,fast_ino,plugins=/x.so",
    "kernel-overlay": "lowerdir=/a:/b,upperdir=/u,workdir=/w,index=off,"
                      "redirect_dir=on,metacopy=on,xino=auto,userxattr,"
                      "nfs_export=off,lowerdir+=/c,datadir+=/d",
    "mount-fuse3": "rw,nosuid,nodev,relatime,allow_other,"
                   "default_permissions,x-systemd.automount,_netdev,"
                   "lowerdir=/a,fsname=layerfs,subtype=layerfs",
    "garbage": "lowerdir=/a,bogus=1",
    "unterminated": 'lowerdir=/a,context="abc',
    "bad-values": "lowerdir=/a,fsync=2,threads=99999,timeout=-1,"
                  "xattr_permissions=3,squash_to_uid=4294967295",
    "no-lower": "upperdir=/u,workdir=/w",
    "empty-lower": "lowerdir=/a::/b",
    "trailing-backslash": "lowerdir=/a\\",
    "control-chars": "lowerdir=/a,context=\"\x01\x1b[31m\"",
}
ARGVS = {
    # mount -t fuse3.layerfs overlay /mnt -o ... (containerd's helper)
    "argv-mount-helper": ["overlay", "/mnt", "-o",
                          f"lowerdir={L1}:{L2},upperdir={UP},workdir={WK}"],
    "argv-foreground": ["-f", "-d", "-s", f"-olowerdir={L1}", "/mnt"],
    "argv-version": ["--version"],
    "argv-dashdash": ["-o", "lowerdir=/a", "--", "-weird-mnt"],
    "argv-three": ["a", "b", "c", "-o", "lowerdir=/a"],
    "argv-o-missing": ["/mnt", "-o"],
}


# ---- oci -----------------------------------------------------------------

MT = "application/vnd.oci.image."
DMT = "application/vnd.docker."


def desc(mt, what, size, **extra):
    d = {"mediaType": mt, "digest": digest(what), "size": size}
    d.update(extra)
    return d


def oci_seeds():
    cfg = desc(MT + "config.v1+json", "config", 1469)
    layers = [desc(MT + "layer.v1.tar+gzip", "layer1", 2812680),
              desc(MT + "layer.v1.tar+zstd", "layer2", 1024),
              desc(MT + "layer.v1.tar", "layer3", 10240)]
    docs = {
        "index-skopeo": {"schemaVersion": 2, "manifests": [
            desc(MT + "manifest.v1+json", "m1", 528, annotations={
                "org.opencontainers.image.ref.name": "latest"})]},
        "index-layerfs": {"schemaVersion": 2,
                          "mediaType": MT + "index.v1+json",
                          "manifests": [
                              desc(MT + "manifest.v1+json", "m1", 528,
                                   annotations={
                                       "org.opencontainers.image.ref.name":
                                           "busybox:1.36"}),
                              desc(MT + "manifest.v1+json", "m2", 1021,
                                   annotations={
                                       "org.opencontainers.image.ref.name":
                                           "localhost/app:v2"})]},
        "index-multiarch": {"schemaVersion": 2,
                            "mediaType": MT + "index.v1+json",
                            "manifests": [
                                desc(MT + "manifest.v1+json", "amd", 610,
                                     platform={"architecture": "amd64",
                                               "os": "linux"}),
                                desc(MT + "manifest.v1+json", "arm", 610,
                                     platform={"architecture": "arm64",
                                               "os": "linux",
                                               "variant": "v8"}),
                                desc(MT + "index.v1+json", "nested", 300)]},
        "manifest-list-docker": {
            "schemaVersion": 2,
            "mediaType": DMT + "distribution.manifest.list.v2+json",
            "manifests": [desc(DMT + "distribution.manifest.v2+json", "d1",
                               527, platform={"architecture": "amd64",
                                              "os": "linux"})]},
        "index-empty": {"schemaVersion": 2, "manifests": []},
        "manifest-oci": {"schemaVersion": 2,
                         "mediaType": MT + "manifest.v1+json",
                         "config": cfg, "layers": layers,
                         "annotations": {"org.opencontainers.image.created":
                                         "2024-01-01T00:00:00Z"}},
        "manifest-docker": {
            "schemaVersion": 2,
            "mediaType": DMT + "distribution.manifest.v2+json",
            "config": desc(DMT + "container.image.v1+json", "dc", 1457),
            "layers": [desc(DMT + "image.rootfs.diff.tar.gzip", "dl",
                            2220094)]},
        "manifest-foreign": {
            "schemaVersion": 2, "config": cfg, "layers": [
                desc(DMT + "image.rootfs.foreign.diff.tar.gzip", "win",
                     100, urls=["https://example.invalid/l"]),
                desc(MT + "layer.nondistributable.v1.tar+gzip", "nd",
                     5)]},
        "manifest-nolayers": {"schemaVersion": 2, "config": cfg,
                              "layers": []},
        "config-oci": {
            "created": "2023-07-18T23:19:33.655005962Z",
            "architecture": "amd64", "os": "linux",
            "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:"
                               "/usr/sbin:/usr/bin:/sbin:/bin"],
                       "Cmd": ["sh"], "WorkingDir": "/", "User": "1000:1000",
                       "ExposedPorts": {"80/tcp": {}},
                       "Labels": {"a": "b"}},
            "rootfs": {"type": "layers",
                       "diff_ids": [digest("d1"), digest("d2")]},
            "history": [{"created": "2023-07-18T23:19:33Z",
                         "created_by": "/bin/sh -c #(nop) ADD file:x in /"},
                        {"created": "2023-07-18T23:19:33Z",
                         "created_by": "/bin/sh -c #(nop)  CMD [\"sh\"]",
                         "empty_layer": True}]},
        "config-docker": {
            "architecture": "arm64", "variant": "v8", "os": "linux",
            "container_config": {"Hostname": "", "Cmd": None},
            "docker_version": "20.10.23",
            "rootfs": {"type": "layers", "diff_ids": [digest("d1")]}},
        "config-empty-rootfs": {"architecture": "amd64", "os": "linux",
                                "rootfs": {"type": "layers",
                                           "diff_ids": []}},
    }
    out = {k: json.dumps(v, indent=2 if "docker" in k else None).encode()
           for k, v in docs.items()}
    out["bad-trailing"] = out["index-skopeo"] + b" {}"
    out["bad-nan"] = b'{"schemaVersion": NaN, "manifests": []}'
    out["bad-digest"] = json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": MT + "manifest.v1+json", "digest": "sha256:../../x",
         "size": 1}]}).encode()
    out["bad-size"] = json.dumps({"schemaVersion": 2, "manifests": [
        desc(MT + "manifest.v1+json", "m", -1)]}).encode()
    out["deep"] = b"[" * 40 + b"]" * 40
    return out


# ---- whiteout ------------------------------------------------------------

WHITEOUT = {
    "wh-file": ".wh.foo", "opaque": ".wh..wh..opq", "aufs-meta":
    ".wh..wh.plnk", "wh-alone": ".wh.", "wh-dot": ".wh..", "wh-dotdot":
    ".wh...", "wh-opq-name": ".wh..opq", "plain": "etc", "long":
    "n" * 251, "long-wh": ".wh." + "n" * 251, "path-dotdot": "a/b/../c",
    "path-dots": "./a//b/./", "path-abs": "/etc/passwd", "dotdot": "..",
    "dot": ".", "xattr-opaque": "trusted.overlay.opaque", "xattr-user":
    "user.overlay.opaque", "xattr-cap": "security.capability",
    "xattr-override": "user.containers.override_stat", "nested-wh":
    "a/.wh.b/.wh..wh..opq", "empty": "",
}


def write_dir(d, files):
    os.makedirs(d, exist_ok=True)
    for name, data in files.items():
        if isinstance(data, str):
            data = data.encode()
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus")
    write_dir(os.path.join(out, "untar"), untar_seeds())
    opts = dict(OPTIONS)
    for k, v in ARGVS.items():
        opts[k] = "\0".join(v)
    write_dir(os.path.join(out, "options"), opts)
    write_dir(os.path.join(out, "oci"), oci_seeds())
    write_dir(os.path.join(out, "whiteout"), WHITEOUT)


if __name__ == "__main__":
    main()
