// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Exporting an image: its manifest, config and layer blobs, re-hashed as
 * they are copied (a corrupt blob is never exported), into an OCI layout
 * directory (blobs written to a temp name, fsynced and renamed; index.json
 * replaced atomically, keeping the refs already there) or an OCI archive
 * (a tar of such a layout, written to a temp file and renamed).
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "oci.h"
#include "store-private.h"

#define OCI_LAYOUT "{\"imageLayoutVersion\":\"1.0.0\"}"

struct save {
	struct ls_store *s;
	struct ls_image *img;
	struct ls_descriptor desc; /* the manifest, as index.json names it */
	const char **blobs;	   /* manifest, config, layers */
	size_t nblobs;
	/* directory target */
	int dirfd, blobfd;
	/* archive target */
	struct archive *a;
};

struct stream {
	struct save *w;
	int (*out)(struct save *w, const void *buf, size_t n, void *arg);
	void *arg;
	size_t item;
	uint64_t done, total;
	bool out_failed; /* out set the message; else the read failed */
};

static int stream_chunk(void *arg, const void *buf, size_t n)
{
	struct stream *c = arg;
	int r = c->out(c->w, buf, n, c->arg);

	c->out_failed = r < 0;
	c->done += n;
	ls_progress_report(c->w->s, "save", c->item, c->w->nblobs, c->done,
			   c->total);
	return r;
}

/* Copy blob digest from the store to out (a callback per chunk), checking
 * its digest on the way. */
static int stream_blob(struct save *w, const char *digest, size_t item,
		       int (*out)(struct save *w, const void *buf, size_t n,
				  void *arg),
		       void *arg)
{
	_cleanup_close_ int fd = ls_blob_open(w->s, digest);
	struct stream c = { w, out, arg, item, 0, 0, false };
	char got[LS_DIGEST_STR_LEN + 1];
	struct stat st;
	int r;

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return ls_fail(w->s, -errno, "cannot read blob '%s'", digest);
	c.total = st.st_size;
	r = ls_digest_fd(fd, got, NULL, stream_chunk, &c);
	if (r < 0 && !c.out_failed)
		return ls_fail(w->s, r, "cannot read blob '%s'", digest);
	if (r == 0 && strcmp(got, digest) != 0)
		r = ls_fail(w->s, -EBADMSG,
			    "blob '%s' is corrupt in the store (run fsck)",
			    digest);
	return r;
}

/* ---- into a directory --------------------------------------------------- */

static int out_fd(struct save *w, const void *buf, size_t n, void *arg)
{
	if (cu_write_all(*(int *)arg, buf, n) < 0)
		return ls_fail(w->s, -errno, "cannot write blob");
	return 0;
}

static int dir_blob(struct save *w, const char *digest, size_t item)
{
	char tmp[64];
	int fd, r;

	if (faccessat(w->blobfd, digest + 7, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	fd = cu_open_tmp_at(w->blobfd, ".tmp-", 0644, tmp, sizeof(tmp));
	if (fd < 0)
		return ls_fail(w->s, fd, "cannot write into the target");
	r = stream_blob(w, digest, item, out_fd, &fd);
	if (r == 0 && fsync(fd) < 0)
		r = ls_fail(w->s, -errno, "cannot sync blob '%s'", digest);
	close(fd);
	if (r == 0 && renameat(w->blobfd, tmp, w->blobfd, digest + 7) < 0)
		r = ls_fail(w->s, -errno, "cannot store blob '%s'", digest);
	if (r < 0)
		unlinkat(w->blobfd, tmp, 0);
	return r;
}

static int save_dir(struct save *w, const char *dir, const char *ref)
{
	_cleanup_free_ char *buf = NULL, *err = NULL, *out = NULL;
	struct ls_index idx = { 0 };
	size_t len;
	int r = cu_mkdir_p(dir, 0755);

	if (r < 0)
		return ls_fail(w->s, r, "cannot create '%s'", dir);
	w->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w->dirfd < 0)
		return ls_fail(w->s, -errno, "cannot open '%s'", dir);
	r = cu_mkdir_at(w->dirfd, "blobs", 0755);
	if (r == 0)
		r = cu_mkdir_at(w->dirfd, "blobs/sha256", 0755);
	if (r == 0 &&
	    faccessat(w->dirfd, "oci-layout", F_OK, AT_SYMLINK_NOFOLLOW) < 0)
		r = cu_atomic_write_at(w->dirfd, "oci-layout", OCI_LAYOUT,
				       strlen(OCI_LAYOUT), 0644);
	if (r < 0)
		return ls_fail(w->s, r, "cannot create a layout in '%s'", dir);
	w->blobfd = openat(w->dirfd, "blobs/sha256",
			   O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (w->blobfd < 0)
		return ls_fail(w->s, -errno, "cannot open '%s/blobs/sha256'",
			       dir);
	for (size_t i = 0; r == 0 && i < w->nblobs; i++)
		r = dir_blob(w, w->blobs[i], i + 1);
	if (r == 0)
		r = cu_fsync_dir_at(w->blobfd, ".");
	if (r < 0)
		return r;
	/* the refs already there stay */
	r = cu_read_file_at(w->dirfd, "index.json", LS_JSON_MAX, &buf, &len);
	if (r == 0 && ls_index_parse(buf, len, &idx, &err) < 0)
		return ls_fail(w->s, -EINVAL, "'%s/index.json': %s", dir, err);
	if (r < 0 && r != -ENOENT)
		return ls_fail(w->s, r, "cannot read '%s/index.json'", dir);
	r = ls_index_set_ref(&idx, ref, &w->desc);
	if (r == 0)
		r = ls_index_serialize(&idx, &out, &len);
	if (r == 0)
		r = cu_atomic_write_at(w->dirfd, "index.json", out, len, 0644);
	ls_index_free(&idx);
	if (r < 0)
		return ls_fail(w->s, r, "cannot write '%s/index.json'", dir);
	return 0;
}

/* ---- into an archive ---------------------------------------------------- */

static int out_archive(struct save *w, const void *buf, size_t n, void *arg)
{
	(void)arg;
	if (archive_write_data(w->a, buf, n) != (la_ssize_t)n)
		return ls_fail(w->s, -EIO, "cannot write the archive: %s",
			       archive_error_string(w->a));
	return 0;
}

/* A header for a file or directory of the archive (fixed owner and time:
 * the same image gives the same archive). */
static int ar_header(struct save *w, const char *path, mode_t type,
		     int64_t size)
{
	struct archive_entry *e = archive_entry_new();
	int r = 0;

	if (!e)
		return -ENOMEM;
	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
	archive_entry_set_size(e, type == AE_IFDIR ? 0 : size);
	archive_entry_set_mtime(e, 0, 0);
	if (archive_write_header(w->a, e) != ARCHIVE_OK)
		r = ls_fail(w->s, -EIO, "cannot write the archive: %s",
			    archive_error_string(w->a));
	archive_entry_free(e);
	return r;
}

static int ar_file(struct save *w, const char *path, const char *buf,
		   size_t len)
{
	int r = ar_header(w, path, AE_IFREG, len);

	return r < 0 ? r : out_archive(w, buf, len, NULL);
}

static int save_archive(struct save *w, const char *file, const char *ref)
{
	_cleanup_free_ char *idx_json = NULL, *tmp = NULL;
	struct ls_index idx = { 0 };
	size_t len;
	int r;

	if (asprintf(&tmp, "%s.tmp-%d", file, (int)getpid()) < 0)
		return -ENOMEM;
	r = ls_index_set_ref(&idx, ref, &w->desc);
	if (r == 0)
		r = ls_index_serialize(&idx, &idx_json, &len);
	ls_index_free(&idx);
	if (r < 0)
		return ls_fail(w->s, r, "cannot build index.json");
	w->a = archive_write_new();
	if (!w->a)
		return -ENOMEM;
	archive_write_set_format_pax_restricted(w->a);
	if (archive_write_open_filename(w->a, tmp) != ARCHIVE_OK)
		return ls_fail(w->s, -EIO, "cannot create '%s': %s", tmp,
			       archive_error_string(w->a));
	r = ar_file(w, "oci-layout", OCI_LAYOUT, strlen(OCI_LAYOUT));
	if (r == 0)
		r = ar_file(w, "index.json", idx_json, len);
	if (r == 0)
		r = ar_header(w, "blobs/", AE_IFDIR, 0);
	if (r == 0)
		r = ar_header(w, "blobs/sha256/", AE_IFDIR, 0);
	for (size_t i = 0; r == 0 && i < w->nblobs; i++) {
		char path[LS_DIGEST_HEX_LEN + 16];
		struct stat st;
		_cleanup_close_ int fd = ls_blob_open(w->s, w->blobs[i]);

		if (fd < 0 || fstat(fd, &st) < 0) {
			r = fd < 0 ? fd : -errno;
			break;
		}
		snprintf(path, sizeof(path), "blobs/sha256/%s",
			 w->blobs[i] + 7);
		r = ar_header(w, path, AE_IFREG, st.st_size);
		if (r == 0)
			r = stream_blob(w, w->blobs[i], i + 1, out_archive,
					NULL);
	}
	if (archive_write_close(w->a) != ARCHIVE_OK && r == 0)
		r = ls_fail(w->s, -EIO, "cannot write '%s': %s", tmp,
			    archive_error_string(w->a));
	if (r == 0) {
		_cleanup_close_ int fd = open(tmp, O_RDONLY | O_CLOEXEC);

		if (fd < 0 || fsync(fd) < 0 || rename(tmp, file) < 0)
			r = ls_fail(w->s, -errno, "cannot write '%s'", file);
	}
	if (r < 0)
		unlink(tmp);
	return r;
}

/* "oci:DIR[:REF]" / "oci-archive:FILE[:REF]" -> kind, path, ref. */
static int parse_dst(struct ls_store *s, const char *dst, bool *archive,
		     char **path, const char **ref)
{
	const char *p;
	int r;

	if (!strncmp(dst, "oci:", 4))
		*archive = false, p = dst + 4;
	else if (!strncmp(dst, "oci-archive:", 12))
		*archive = true, p = dst + 12;
	else
		return ls_fail(s, -EINVAL,
			       "unsupported target '%s' (expected oci:DIR[:REF]"
			       " or oci-archive:FILE[:REF])",
			       dst);
	r = ls_split_ref(p, path, ref);
	return r == -EINVAL ? ls_fail(s, r, "invalid target '%s'", dst) : r;
}

int ls_save(struct ls_store *s, const char *ref, const char *dst)
{
	struct save w = { .s = s, .dirfd = -1, .blobfd = -1 };
	_cleanup_free_ char *path = NULL;
	const char *dref = NULL;
	bool archive = false;
	int held = s->gc_held;
	int r = parse_dst(s, dst, &archive, &path, &dref);

	if (r == 0)
		r = ls_store_hold(s); /* no gc under our feet */
	if (r == 0)
		r = ls_image_get(s, ref, &w.img);
	if (r == 0) {
		w.desc.kind = LS_MT_MANIFEST;
		w.desc.digest = w.img->manifest;
		w.desc.size = w.img->manifest_size;
		w.blobs = calloc(w.img->nlayers + 2, sizeof(*w.blobs));
		r = w.blobs ? 0 : -ENOMEM;
	}
	if (r == 0) {
		w.blobs[w.nblobs++] = w.img->manifest;
		w.blobs[w.nblobs++] = w.img->config;
		for (size_t i = 0; i < w.img->nlayers; i++)
			w.blobs[w.nblobs++] = w.img->blobs[i];
		r = archive ? save_archive(&w, path, dref ? dref : w.img->ref) :
			      save_dir(&w, path, dref ? dref : w.img->ref);
	}
	if (w.a)
		archive_write_free(w.a);
	cu_closep(&w.dirfd);
	cu_closep(&w.blobfd);
	free(w.blobs);
	ls_image_free(w.img);
	if (!held)
		ls_store_release(s);
	return r;
}
