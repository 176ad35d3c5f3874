// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Importing images, in three steps:
 *
 *  1. stage: every blob is copied into tmp/load-TOKEN/blobs/ through a
 *     writer that checks its digest and size, and every layer the store
 *     lacks is unpacked into tmp/load-TOKEN/layers/HEX and its diffID
 *     checked against the config (under the per-layer locks, taken in
 *     sorted order, so a parallel load of the same layer waits and then
 *     finds it);
 *  2. publish: blobs are linked into blobs/sha256/, layers renamed into
 *     layers/, each directory fsynced;
 *  3. tag: the ref is written to index.json under the index lock.
 *
 * All of it under the store's gc lease (ls_store_hold). A failure in step
 * 1 leaves the store as it was (the staging directory is removed); a
 * crash leaves at most tmp/ leftovers and, after step 2, complete objects
 * nothing references yet; gc removes both.
 *
 * Sources: an OCI layout directory, an OCI archive (a tar of one, whose
 * files are extracted into the staging directory first), or a bare layer
 * tar that becomes a one-layer image.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "oci.h"
#include "store-private.h"
#include "untar.h"

struct load {
	struct ls_store *s;
	const struct ls_load_opts *o;
	char stage[32];		      /* tmp/load-TOKEN */
	int stagefd, sblobfd, slayfd; /* it, its blobs/ and layers/ */
	/* the source, an OCI layout */
	char *dir;
	const char *ref; /* into dir's allocation, or NULL */
	int dirfd, blobfd;
	bool own_blobs; /* extracted from an archive: move, not copy */
	int *locks;
	size_t nlocks;
	size_t item, nitems; /* progress */
};

static void load_free(struct load *l)
{
	cu_closep(&l->dirfd);
	cu_closep(&l->blobfd);
	cu_closep(&l->sblobfd);
	cu_closep(&l->slayfd);
	cu_closep(&l->stagefd);
	if (l->stage[0])
		cu_rm_rf_at(l->s->tmpfd, l->stage);
	for (size_t i = 0; i < l->nlocks; i++)
		close(l->locks[i]);
	free(l->locks);
	free(l->dir);
}

static int mkdir_open(int dirfd, const char *name, int *ret)
{
	if (mkdirat(dirfd, name, 0755) < 0)
		return -errno;
	*ret = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return *ret < 0 ? -errno : 0;
}

static int make_stage(struct load *l)
{
	char tok[13];
	int r;

	cu_random_token(tok, 12);
	snprintf(l->stage, sizeof(l->stage), "load-%s", tok);
	r = mkdir_open(l->s->tmpfd, l->stage, &l->stagefd);
	if (r == 0)
		r = mkdir_open(l->stagefd, "blobs", &l->sblobfd);
	if (r == 0)
		r = mkdir_open(l->stagefd, "layers", &l->slayfd);
	if (r < 0)
		return ls_fail(l->s, r, "cannot create '%s/tmp/%s'", l->s->root,
			       l->stage);
	return 0;
}

static void progress(void *arg, uint64_t bytes);

/* ---- sources ---------------------------------------------------------- */

static int split_ref(struct load *l, const char *what, const char *src)
{
	int r = ls_split_ref(what, &l->dir, &l->ref);

	return r == -EINVAL ? ls_fail(l->s, r, "invalid source '%s'", src) : r;
}

static int open_layout(struct load *l, int dirfd, const char *shown)
{
	l->dirfd = dirfd;
	if (l->dirfd < 0)
		return ls_fail(l->s, -errno, "cannot open '%s'", shown);
	l->blobfd = openat(l->dirfd, "blobs/sha256",
			   O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (l->blobfd < 0)
		return ls_fail(l->s, -errno, "'%s' is not an OCI layout",
			       shown);
	return 0;
}

/* Write the archive entry's data to a new file NAME under dirfd, at most
 * the layer size limit (an archive is no way around it; a compressed
 * layer is not larger than its tar but by a few bytes). */
static int extract_file(struct load *l, struct archive *a, int dirfd,
			const char *name, const char *shown)
{
	_cleanup_close_ int fd = openat(dirfd, name,
					O_WRONLY | O_CREAT | O_EXCL |
						O_NOFOLLOW | O_CLOEXEC,
					0644);
	uint64_t max = l->o && l->o->max_layer_size ? l->o->max_layer_size :
						      LS_UNTAR_MAX_BYTES;
	uint64_t done = 0;
	char buf[1 << 16];
	la_ssize_t n;

	if (fd < 0 && errno == EEXIST)
		return ls_fail(l->s, -EBADMSG, "'%s' twice in the archive",
			       shown);
	if (fd < 0)
		return ls_fail(l->s, -errno, "cannot extract '%s'", shown);
	while ((n = archive_read_data(a, buf, sizeof(buf))) > 0) {
		if ((done += n) > max)
			return ls_fail(l->s, -EBADMSG,
				       "'%s' in the archive is larger than "
				       "%llu bytes",
				       shown, (unsigned long long)max);
		if (cu_write_all(fd, buf, n) < 0)
			return ls_fail(l->s, -errno, "cannot extract '%s'",
				       shown);
	}
	if (n < 0)
		return ls_fail(l->s, -EBADMSG, "cannot read '%s' in '%s': %s",
			       shown, l->dir, archive_error_string(a));
	return 0;
}

/* One entry of an OCI archive: index.json, oci-layout, blobs/sha256/HEX
 * (regular files) and their directories are taken, other regular files
 * skipped, anything else refused. */
static int archive_entry_take(struct load *l, struct archive *a,
			      struct archive_entry *e, int srcfd, int sbfd)
{
	const char *p = archive_entry_pathname(e);
	mode_t t = archive_entry_filetype(e);
	char hexname[LS_DIGEST_STR_LEN + 1];

	if (!p)
		return ls_fail(l->s, -EBADMSG, "archive entry without a name");
	while (p[0] == '.' && p[1] == '/')
		p += 2;
	if (t == AE_IFDIR)
		return 0;
	if (t != AE_IFREG || archive_entry_hardlink(e))
		return ls_fail(l->s, -EBADMSG,
			       "'%s' in the archive is not a regular file", p);
	if (!strcmp(p, "index.json") || !strcmp(p, "oci-layout"))
		return extract_file(l, a, srcfd, p, p);
	if (!strncmp(p, "blobs/sha256/", 13)) {
		snprintf(hexname, sizeof(hexname), "sha256:%s", p + 13);
		if (!ls_digest_valid(hexname))
			return ls_fail(l->s, -EBADMSG,
				       "bad blob name '%s' in the archive", p);
		return extract_file(l, a, sbfd, p + 13, p);
	}
	return 0;
}

/* "oci-archive:FILE[:REF]": extract it into the staging area, then read
 * it as a layout whose blobs we may move. */
static int open_archive(struct load *l, const char *src)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int srcfd = -1, sbfd = -1, r;

	r = split_ref(l, src + 12, src);
	if (r < 0)
		goto out;
	if (!a) {
		r = -ENOMEM;
		goto out;
	}
	r = mkdir_open(l->stagefd, "src", &srcfd);
	if (r == 0 && mkdirat(srcfd, "blobs", 0755) < 0)
		r = -errno;
	if (r == 0)
		r = mkdir_open(srcfd, "blobs/sha256", &sbfd);
	if (r < 0) {
		ls_fail(l->s, r, "cannot stage '%s'", l->dir);
		goto out;
	}
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, l->dir, 1 << 16) != ARCHIVE_OK) {
		int err = archive_errno(a);

		r = ls_fail(l->s, err > 0 ? -err : -EBADMSG,
			    "cannot read '%s': %s", l->dir,
			    archive_error_string(a));
		goto out;
	}
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		r = archive_entry_take(l, a, e, srcfd, sbfd);
		if (r < 0)
			goto out;
	}
	if (r != ARCHIVE_EOF) {
		r = ls_fail(l->s, -EBADMSG, "'%s' is not a valid archive: %s",
			    l->dir, archive_error_string(a));
		goto out;
	}
	l->own_blobs = true;
	r = open_layout(l, dup(srcfd), l->dir);
out:
	if (a)
		archive_read_free(a);
	if (srcfd >= 0)
		close(srcfd);
	if (sbfd >= 0)
		close(sbfd);
	return r;
}

/* ---- blobs ------------------------------------------------------------ */

/* A blob for reading: the staged copy, else the store's. */
static int open_blob(struct load *l, const char *digest)
{
	int fd = openat(l->sblobfd, digest + 7,
			O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	return fd >= 0 ? fd : ls_blob_open(l->s, digest);
}

static int read_blob(struct load *l, const char *digest, char **buf,
		     size_t *len)
{
	if (faccessat(l->sblobfd, digest + 7, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return ls_blob_read_at(l->s, l->sblobfd, digest, LS_JSON_MAX,
				       buf, len);
	return ls_blob_read(l->s, digest, LS_JSON_MAX, buf, len);
}

struct verify {
	struct load *l;
	const struct ls_descriptor *d;
	uint64_t done;
};

static int verify_tick(void *arg, const void *buf, size_t n)
{
	struct verify *v = arg;

	v->done += n;
	ls_progress_report(v->l->s, "copy", v->l->item, v->l->nitems, v->done,
			   v->d->size);
	return 0;
}

/* Hash fd to its end; moving a blob we extracted needs no second copy. */
static int verify_fd(struct load *l, int fd, const struct ls_descriptor *d)
{
	struct verify v = { l, d, 0 };
	char got[LS_DIGEST_STR_LEN + 1];
	uint64_t size;
	int r = ls_digest_fd(fd, got, &size, verify_tick, &v);

	if (r < 0)
		return ls_fail(l->s, r, "cannot read blob '%s'", d->digest);
	if (strcmp(got, d->digest) != 0)
		return ls_fail(l->s, -EBADMSG,
			       "blob digest mismatch: expected '%s', got '%s'",
			       d->digest, got);
	if (size != (uint64_t)d->size)
		return ls_fail(l->s, -EBADMSG,
			       "blob '%s' has %llu bytes, not %lld", d->digest,
			       (unsigned long long)size, (long long)d->size);
	return 0;
}

/* Stage the blob open at fd, checking digest and size. */
static int copy_blob_fd(struct load *l, int fd, const struct ls_descriptor *d)
{
	struct ls_blob_writer *w = NULL;
	char buf[1 << 16];
	ssize_t n = 0;
	int r = ls_blob_writer_new(l->s, &w);

	while (r == 0 && (n = cu_read_all(fd, buf, sizeof(buf))) > 0) {
		r = ls_blob_writer_write(w, buf, n);
		ls_progress_report(l->s, "copy", l->item, l->nitems,
				   ls_blob_writer_size(w), d->size);
	}
	if (r == 0 && n < 0)
		r = ls_fail(l->s, n, "cannot read blob '%s'", d->digest);
	if (r == 0 && ls_blob_writer_size(w) != (uint64_t)d->size)
		r = ls_fail(l->s, -EBADMSG,
			    "blob '%s' has %llu bytes, not %lld", d->digest,
			    (unsigned long long)ls_blob_writer_size(w),
			    (long long)d->size);
	if (r == 0)
		r = ls_blob_writer_commit_at(w, l->sblobfd, d->digest, NULL);
	ls_blob_writer_free(w);
	return r;
}

/* Stage one blob of the source, checking digest and size, unless the
 * store or the staging area has it. */
static int copy_blob(struct load *l, const struct ls_descriptor *d)
{
	int r = ls_blob_exists(l->s, d->digest);

	if (r == 0 && faccessat(l->sblobfd, d->digest + 7, F_OK,
				AT_SYMLINK_NOFOLLOW) == 0)
		r = 1;
	if (r != 0)
		return r < 0 ? r : 0;
	_cleanup_close_ int fd = openat(l->blobfd, d->digest + 7,
					O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return ls_fail(l->s, -errno, "cannot open blob '%s' in '%s'",
			       d->digest, l->dir);
	if (!l->own_blobs)
		return copy_blob_fd(l, fd, d);
	r = verify_fd(l, fd, d);
	if (r == 0 && fsync(fd) < 0)
		r = ls_fail(l->s, -errno, "cannot sync '%s'", d->digest);
	if (r == 0 &&
	    renameat(l->blobfd, d->digest + 7, l->sblobfd, d->digest + 7) < 0)
		r = ls_fail(l->s, -errno, "cannot stage blob '%s'", d->digest);
	return r;
}

/* ---- layers ----------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Take the per-layer locks of every diffID, in sorted order (two loads
 * never wait for each other in a circle). */
static int lock_layers(struct load *l, char *const *diff_ids, size_t n)
{
	_cleanup_free_ const char **v = calloc(n ? n : 1, sizeof(*v));

	l->locks = calloc(n ? n : 1, sizeof(*l->locks));
	if (!v || !l->locks)
		return -ENOMEM;
	memcpy(v, diff_ids, n * sizeof(*v));
	qsort(v, n, sizeof(*v), cmp_str);
	for (size_t i = 0; i < n; i++) {
		int fd;

		if (i && !strcmp(v[i], v[i - 1]))
			continue;
		fd = ls_layer_lock(l->s, v[i] + 7);
		if (fd < 0)
			return fd;
		l->locks[l->nlocks++] = fd;
	}
	return 0;
}

static struct ls_untar_opts untar_opts(struct load *l)
{
	return (struct ls_untar_opts){
		.allow_devices = geteuid() == 0,
		.chown = geteuid() == 0,
		.record_owner = geteuid() != 0,
		.max_bytes = l->o ? l->o->max_layer_size : 0,
		.max_entries = l->o ? l->o->max_entries : 0,
		.progress = progress,
		.progress_arg = l,
	};
}

/* Stage layer diff_id from blob unless the store or the stage has it
 * (the lock is held). */
static int unpack_layer(struct load *l, const char *blob, const char *diff_id)
{
	struct ls_untar_opts o = untar_opts(l);
	struct ls_untar_result res;
	_cleanup_close_ int fd = -1;
	int r = ls_layer_exists(l->s, diff_id);

	if (r == 0 &&
	    faccessat(l->slayfd, diff_id + 7, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		r = 1;
	if (r != 0)
		return r < 0 ? r : 0;
	fd = open_blob(l, blob);
	if (fd < 0)
		return fd;
	return ls_layer_stage(l->s, fd, blob, diff_id, &o, l->slayfd,
			      diff_id + 7, &res);
}

static void progress(void *arg, uint64_t bytes)
{
	struct load *l = arg;

	ls_progress_report(l->s, "unpack", l->item, l->nitems, bytes, 0);
}

/* ---- OCI sources -------------------------------------------------------- */

/* The source's manifest descriptor for REF (or its only one). */
static int pick(struct load *l, const struct ls_index *idx,
		struct ls_descriptor *ret)
{
	const struct ls_descriptor *d = NULL;

	if (l->ref)
		d = ls_index_find_ref(idx, l->ref);
	else if (idx->n == 1)
		d = &idx->manifests[0];
	if (!d && l->ref)
		return ls_fail(l->s, -ENOENT, "no image '%s' in '%s'", l->ref,
			       l->dir);
	if (!d)
		return ls_fail(l->s, -EINVAL,
			       "'%s' holds %zu images: name one (SOURCE:REF)",
			       l->dir, idx->n);
	return ls_descriptor_copy(ret, d);
}

/* A multi-platform index: the manifest for this machine (linux). */
static int pick_platform(struct load *l, const char *digest,
			 struct ls_descriptor *ret)
{
	_cleanup_free_ char *buf = NULL, *err = NULL;
	struct ls_index sub = { 0 };
	size_t len;
	int r = read_blob(l, digest, &buf, &len);

	if (r < 0)
		return r;
	r = ls_index_parse(buf, len, &sub, &err);
	if (r < 0)
		return ls_fail(l->s, r, "index '%s': %s", digest, err);
	r = ls_index_pick_platform(&sub) ?
		    ls_descriptor_copy(ret, ls_index_pick_platform(&sub)) :
		    ls_fail(l->s, -ENOENT, "index '%s' has no linux/%s image",
			    digest, ls_host_arch());
	ls_index_free(&sub);
	return r;
}

static int read_source_index(struct load *l, struct ls_index *ret)
{
	_cleanup_free_ char *buf = NULL, *err = NULL;
	size_t len;
	int r = cu_read_file_at(l->dirfd, "index.json", LS_JSON_MAX, &buf,
				&len);

	if (r < 0)
		return ls_fail(l->s, r, "cannot read '%s/index.json'", l->dir);
	r = ls_index_parse(buf, len, ret, &err);
	if (r < 0)
		return ls_fail(l->s, r, "'%s/index.json': %s", l->dir, err);
	return 0;
}

/* Stage every layer blob, and unpack each against the config's diff_ids. */
static int stage_layers(struct load *l, const struct ls_manifest *m,
			const struct ls_config *c)
{
	int r = 0;

	if (m->nlayers != c->ndiff)
		return ls_fail(l->s, -EBADMSG,
			       "manifest has %zu layers, config %zu diff_ids",
			       m->nlayers, c->ndiff);
	for (size_t i = 0; i < m->nlayers; i++)
		if (m->layers[i].kind == LS_MT_LAYER_FOREIGN)
			return ls_fail(l->s, -ENOTSUP,
				       "layer '%s' is non-distributable",
				       m->layers[i].digest);
	r = lock_layers(l, c->diff_ids, c->ndiff);
	l->nitems = m->nlayers;
	for (size_t i = 0; r == 0 && i < m->nlayers; i++) {
		l->item = i + 1;
		r = copy_blob(l, &m->layers[i]);
		if (r == 0)
			r = unpack_layer(l, m->layers[i].digest,
					 c->diff_ids[i]);
	}
	return r;
}

static int stage_image(struct load *l, struct ls_descriptor *d)
{
	_cleanup_free_ char *mbuf = NULL, *cbuf = NULL, *err = NULL;
	struct ls_manifest m = { 0 };
	struct ls_config c = { 0 };
	size_t mlen, clen;
	int r = copy_blob(l, d);

	if (r == 0 && d->kind == LS_MT_INDEX) {
		struct ls_descriptor sub = { 0 };

		r = pick_platform(l, d->digest, &sub);
		if (r == 0) {
			ls_descriptor_free(d);
			*d = sub;
			r = copy_blob(l, d);
		}
	}
	if (r == 0)
		r = read_blob(l, d->digest, &mbuf, &mlen);
	if (r == 0 && (r = ls_manifest_parse(mbuf, mlen, &m, &err)) < 0)
		ls_fail(l->s, r, "manifest '%s': %s", d->digest, err);
	if (r == 0)
		r = copy_blob(l, &m.config);
	if (r == 0)
		r = read_blob(l, m.config.digest, &cbuf, &clen);
	if (r == 0 && (r = ls_config_parse(cbuf, clen, &c, &err)) < 0)
		ls_fail(l->s, r, "config '%s': %s", m.config.digest, err);
	if (r == 0)
		r = stage_layers(l, &m, &c);
	ls_manifest_free(&m);
	ls_config_free(&c);
	return r;
}

static int stage_oci(struct load *l, struct ls_descriptor *ret)
{
	struct ls_index idx = { 0 };
	int r = read_source_index(l, &idx);

	if (r == 0)
		r = pick(l, &idx, ret);
	if (r == 0)
		r = stage_image(l, ret);
	ls_index_free(&idx);
	return r;
}

/* ---- a bare layer ------------------------------------------------------- */

/* Stage a small document (config, manifest) as a blob. */
static int put_doc(struct load *l, const char *buf, size_t len,
		   char *ret_digest)
{
	struct ls_blob_writer *w;
	int r = ls_blob_writer_new(l->s, &w);

	if (r < 0)
		return r;
	r = ls_blob_writer_write(w, buf, len);
	if (r == 0)
		r = ls_blob_writer_commit_at(w, l->sblobfd, NULL, ret_digest);
	ls_blob_writer_free(w);
	return r;
}

static enum ls_media sniff(int fd)
{
	unsigned char m[4] = { 0 };

	if (pread(fd, m, sizeof(m), 0) < 4)
		return LS_MT_LAYER_TAR;
	if (m[0] == 0x1f && m[1] == 0x8b)
		return LS_MT_LAYER_GZIP;
	if (m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
		return LS_MT_LAYER_ZSTD;
	return LS_MT_LAYER_TAR;
}

/* The file's name without its directory and tar extensions: the tag. */
static char *stem(const char *path)
{
	static const char *const ext[] = { ".tar.gz", ".tar.zst", ".tgz",
					   ".tar" };
	const char *b = strrchr(path, '/');
	char *r = strdup(b ? b + 1 : path);
	size_t n = r ? strlen(r) : 0;

	for (size_t i = 0; r && i < ARRAY_SIZE(ext); i++) {
		size_t e = strlen(ext[i]);

		if (n > e && !strcmp(r + n - e, ext[i])) {
			r[n - e] = '\0';
			break;
		}
	}
	return r;
}

/* A layer file: stage it as a blob, unpack it (its diffID is what it
 * is), and write a config and manifest for a one-layer image. */
static int stage_bare(struct load *l, const char *path,
		      struct ls_descriptor *ret)
{
	struct ls_descriptor layer = { .kind = LS_MT_LAYER_TAR };
	struct ls_untar_opts o = untar_opts(l);
	struct ls_untar_result res;
	struct ls_manifest m = { 0 };
	_cleanup_free_ char *cfg = NULL, *man = NULL, *by = NULL;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	char digest[LS_DIGEST_STR_LEN + 1], created[32], *ids[1];
	struct stat st;
	size_t clen, mlen;
	int r;

	if (fd < 0 || fstat(fd, &st) < 0)
		return ls_fail(l->s, -errno, "cannot open '%s'", path);
	if (!S_ISREG(st.st_mode))
		return ls_fail(l->s, -EINVAL, "'%s' is not a layer file", path);
	l->item = l->nitems = 1;
	layer.kind = sniff(fd);
	r = ls_layer_stage(l->s, fd, path, NULL, &o, l->slayfd, "new", &res);
	if (r < 0)
		return r;
	/* the digests are known now: lock, keep the layer if the store
	 * lacks it, and stage the file as the blob the digest names */
	r = lock_layers(l, (char *[]){ res.diff_id }, 1);
	if (r == 0)
		r = ls_layer_exists(l->s, res.diff_id);
	if (r == 1)
		r = cu_rm_rf_at(l->slayfd, "new");
	else if (r == 0 &&
		 renameat(l->slayfd, "new", l->slayfd, res.diff_id + 7) < 0)
		r = -errno;
	if (r < 0)
		return ls_fail(l->s, r, "cannot stage layer '%s'", res.diff_id);
	layer.digest = res.blob_digest;
	layer.size = res.blob_size;
	r = ls_blob_exists(l->s, layer.digest);
	if (r == 0 && lseek(fd, 0, SEEK_SET) < 0)
		r = ls_fail(l->s, -errno, "cannot read '%s'", path);
	if (r == 0)
		r = copy_blob_fd(l, fd, &layer); /* fails if it changed */
	if (r < 0)
		return r;
	/* created: the file's mtime, so the same file gives the same image */
	strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ",
		 gmtime(&st.st_mtime));
	ids[0] = res.diff_id;
	if (asprintf(&by, "layerctl load %s", l->dir) < 0)
		return -ENOMEM;
	r = ls_config_new(ls_host_arch(), created, by, ids, 1, &cfg, &clen);
	if (r == 0)
		r = put_doc(l, cfg, clen, digest);
	if (r < 0)
		return ls_fail(l->s, r, "cannot write the image config");
	m.config = (struct ls_descriptor){ .kind = LS_MT_CONFIG,
					   .digest = digest,
					   .size = clen };
	m.layers = &layer;
	m.nlayers = 1;
	r = ls_manifest_serialize(&m, &man, &mlen);
	ret->kind = LS_MT_MANIFEST;
	ret->size = mlen;
	if (r == 0 && !(ret->digest = malloc(LS_DIGEST_STR_LEN + 1)))
		r = -ENOMEM;
	if (r == 0)
		r = put_doc(l, man, mlen, ret->digest);
	if (r < 0)
		return ls_fail(l->s, r, "cannot write the image manifest");
	return 0;
}

/* ---- publish and tag ---------------------------------------------------- */

/* Move every staged entry of from (a dir fd) into to, fsync to. link for
 * blobs (an existing one is the same bytes), rename for layers. */
static int publish_dir(struct load *l, int from, int to, bool dirs)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int r = 0;

	if (!(d = cu_opendir_at(from, ".")))
		return -errno;
	while (r == 0 && (errno = 0, de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (dirs ? renameat(from, de->d_name, to, de->d_name) < 0 &&
				    errno != EEXIST && errno != ENOTEMPTY :
			   linkat(from, de->d_name, to, de->d_name, 0) < 0 &&
				    errno != EEXIST)
			r = -errno;
	}
	if (r == 0 && errno)
		r = -errno;
	if (r == 0)
		r = cu_fsync_dir_at(to, ".");
	return r;
}

static int publish(struct load *l)
{
	_cleanup_close_ int layfd = openat(l->s->rootfd, "layers",
					   O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = layfd < 0 ? -errno : 0;

	if (r == 0)
		r = publish_dir(l, l->sblobfd, l->s->blobfd, false);
	if (r == 0)
		r = publish_dir(l, l->slayfd, layfd, true);
	if (r < 0)
		return ls_fail(l->s, r, "cannot publish into '%s'", l->s->root);
	return 0;
}

static int stage_source(struct load *l, const char *src,
			struct ls_descriptor *d, char **ret_stem)
{
	struct stat st;
	int r;

	if (!strncmp(src, "oci:", 4)) {
		r = split_ref(l, src + 4, src);
		if (r == 0)
			r = open_layout(l,
					open(l->dir, O_RDONLY | O_DIRECTORY |
							     O_CLOEXEC),
					l->dir);
		return r < 0 ? r : stage_oci(l, d);
	}
	if (!strncmp(src, "oci-archive:", 12)) {
		r = open_archive(l, src);
		return r < 0 ? r : stage_oci(l, d);
	}
	if (!strchr(src, ':') || (stat(src, &st) == 0 && S_ISREG(st.st_mode))) {
		*ret_stem = stem(src);
		if (!*ret_stem)
			return -ENOMEM;
		l->dir = strdup(*ret_stem); /* a name, not where it was */
		return l->dir ? stage_bare(l, src, d) : -ENOMEM;
	}
	return ls_fail(l->s, -EINVAL,
		       "unsupported source '%s' (expected oci:DIR[:REF], "
		       "oci-archive:FILE[:REF] or FILE.tar[.gz|.zst])",
		       src);
}

int ls_load(struct ls_store *s, const char *src, const struct ls_load_opts *o,
	    struct ls_image **ret)
{
	struct load l = { .s = s,
			  .o = o,
			  .stagefd = -1,
			  .sblobfd = -1,
			  .slayfd = -1,
			  .dirfd = -1,
			  .blobfd = -1 };
	struct ls_descriptor d = { 0 };
	_cleanup_free_ char *ref = NULL, *stemname = NULL;
	int held = s->gc_held;
	int r = ls_store_hold(s);

	if (r == 0)
		r = make_stage(&l);
	if (r == 0)
		r = stage_source(&l, src, &d, &stemname);
	if (r == 0)
		r = publish(&l);
	if (r == 0) {
		ref = strdup(o && o->tag ? o->tag :
			     l.ref	 ? l.ref :
			     d.ref_name	 ? d.ref_name :
			     stemname	 ? stemname :
					   "latest");
		r = ref ? ls_image_tag(s, ref, &d) : -ENOMEM;
	}
	load_free(&l);
	if (r == 0 && ret)
		r = ls_image_from_manifest(s, ref, d.digest, ret);
	if (!held)
		ls_store_release(s);
	ls_descriptor_free(&d);
	return r == -ENOMEM ? ls_fail(s, r, "cannot load '%s'", src) : r;
}
