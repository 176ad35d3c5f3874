#!/usr/bin/env python3
# storeimg.py LAYOUT BAREDIR SPEC: test images for the store tests (used by
# t-store-crash and t-store-concurrent). An OCI layout of gzip layers made
# of random (incompressible) big files and many small files of varied
# modes, owners, symlinks, hardlinks and whiteouts; each layer also as
# BAREDIR/NAME.tar.gz; LAYOUT/../layers.json maps each layer name to its
# blob and diffID. SPEC is JSON: {"layers": {NAME: {...}}, "images": {...}}.
import gzip, hashlib, io, json, os, random, sys, tarfile

out, bare, spec = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
os.makedirs(out + "/blobs/sha256")
os.makedirs(bare, exist_ok=True)
with open(out + "/oci-layout", "w") as f:
    json.dump({"imageLayoutVersion": "1.0.0"}, f)

def put_blob(data):
    d = hashlib.sha256(data).hexdigest()
    with open(out + "/blobs/sha256/" + d, "wb") as f:
        f.write(data)
    return "sha256:" + d, len(data)

def layer(name, ls):
    rnd = random.Random(name)
    buf = io.BytesIO()
    t = tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT)
    def add(path, typ=tarfile.REGTYPE, data=b"", mode=0o644, uid=0, gid=0,
            link=""):
        ti = tarfile.TarInfo(path)
        ti.type, ti.mode, ti.uid, ti.gid = typ, mode, uid, gid
        ti.mtime, ti.linkname = 1700000000, link
        ti.size = len(data) if typ == tarfile.REGTYPE else 0
        t.addfile(ti, io.BytesIO(data) if typ == tarfile.REGTYPE else None)
    top = name
    add(top, tarfile.DIRTYPE, mode=0o755)
    for i in range(ls.get("big", 0)):
        add(f"{top}/big{i}.bin", data=os.urandom(ls["big_mb"] << 20))
    nf = ls.get("files", 0)
    nd = max(1, nf // 100)
    for d in range(nd):
        add(f"{top}/d{d:03}", tarfile.DIRTYPE, mode=0o755, uid=d % 3 * 1000)
    for i in range(nf):
        p = f"{top}/d{i % nd:03}/f{i:05}"
        add(p, data=rnd.randbytes(rnd.randrange(0, 4096)),
            mode=rnd.choice([0o644, 0o600, 0o755, 0o4755]),
            uid=i % 7, gid=i % 5)
        if i % 97 == 0:
            add(p + ".sym", tarfile.SYMTYPE, link=f"f{i:05}", mode=0o777)
        if i % 101 == 0:
            add(p + ".hard", tarfile.LNKTYPE, link=p)
    for w in ls.get("whiteouts", []):
        d, b = os.path.split(w)
        add(os.path.join(d, ".wh." + b), mode=0)
    t.close()
    raw = buf.getvalue()
    z = io.BytesIO()
    with gzip.GzipFile(fileobj=z, mode="wb", compresslevel=1, mtime=0) as g:
        g.write(raw)
    blob, size = put_blob(z.getvalue())
    os.link(out + "/blobs/sha256/" + blob[7:], f"{bare}/{name}.tar.gz")
    return {"blob": blob, "size": size,
            "diff_id": "sha256:" + hashlib.sha256(raw).hexdigest()}

layers = {n: layer(n, ls) for n, ls in spec["layers"].items()}
index = {"schemaVersion": 2, "manifests": []}
for ref, names in spec["images"].items():
    cfg = {"architecture": "amd64", "os": "linux", "config": {},
           "rootfs": {"type": "layers",
                      "diff_ids": [layers[n]["diff_id"] for n in names]},
           "history": [{"created_by": "storeimg.py " + n} for n in names]}
    cd, cs = put_blob(json.dumps(cfg).encode())
    man = {"schemaVersion": 2,
           "mediaType": "application/vnd.oci.image.manifest.v1+json",
           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                      "digest": cd, "size": cs},
           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                       "digest": layers[n]["blob"], "size": layers[n]["size"]}
                      for n in names]}
    md, ms = put_blob(json.dumps(man).encode())
    index["manifests"].append(
        {"mediaType": "application/vnd.oci.image.manifest.v1+json",
         "digest": md, "size": ms,
         "annotations": {"org.opencontainers.image.ref.name": ref}})
with open(out + "/index.json", "w") as f:
    json.dump(index, f)
with open(os.path.dirname(out) + "/layers.json", "w") as f:
    json.dump(layers, f)
