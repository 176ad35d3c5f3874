// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Content-addressed blobs, written as git writes loose objects: a temp file
 * in tmp/ (same filesystem), hashed while written, fsynced, then linked to
 * blobs/sha256/HEX (EEXIST: already there) and the directory fsynced. A
 * crash leaves at most a temp file, which gc removes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "store-private.h"

struct ls_blob_writer {
	struct ls_store *s;
	struct ls_digester *d;
	int fd;
	char tmp[64];
	uint64_t size;
	int failed;
};

int ls_blob_writer_new(struct ls_store *s, struct ls_blob_writer **ret)
{
	struct ls_blob_writer *w = calloc(1, sizeof(*w));

	if (!w)
		return ls_fail(s, -ENOMEM, "cannot start a blob");
	w->s = s;
	w->d = ls_digester_new();
	w->fd = cu_open_tmp_at(s->tmpfd, "blob", 0644, w->tmp, sizeof(w->tmp));
	if (!w->d || w->fd < 0) {
		int r = w->fd < 0 ? w->fd : -ENOMEM;

		ls_blob_writer_free(w);
		return ls_fail(s, r, "cannot create a temp file in '%s/tmp'",
			       s->root);
	}
	*ret = w;
	return 0;
}

int ls_blob_writer_write(struct ls_blob_writer *w, const void *buf, size_t len)
{
	ssize_t n;

	if (w->failed)
		return w->failed;
	n = cu_write_all(w->fd, buf, len);
	if (n >= 0)
		n = ls_digester_update(w->d, buf, len);
	if (n < 0) {
		w->failed = n;
		return ls_fail(w->s, n, "cannot write blob '%s/tmp/%s'",
			       w->s->root, w->tmp);
	}
	w->size += len;
	return 0;
}

uint64_t ls_blob_writer_size(const struct ls_blob_writer *w)
{
	return w->size;
}

int ls_blob_writer_commit(struct ls_blob_writer *w, const char *expect,
			  char *ret_digest)
{
	return ls_blob_writer_commit_at(w, w->s->blobfd, expect, ret_digest);
}

int ls_blob_writer_commit_at(struct ls_blob_writer *w, int dirfd,
			     const char *expect, char *ret_digest)
{
	struct ls_store *s = w->s;
	char digest[LS_DIGEST_STR_LEN + 1];
	int r;

	if (w->failed)
		return w->failed;
	r = ls_digester_final(w->d, digest);
	if (r < 0)
		return ls_fail(s, r, "cannot hash blob");
	if (expect && strcmp(expect, digest) != 0)
		return ls_fail(s, -EBADMSG,
			       "blob digest mismatch: expected '%s', got '%s'",
			       expect, digest);
	if (fsync(w->fd) < 0)
		return ls_fail(s, -errno, "cannot sync blob '%s'", digest);
	if (linkat(s->tmpfd, w->tmp, dirfd, digest + 7, 0) < 0 &&
	    errno != EEXIST)
		return ls_fail(s, -errno, "cannot store blob '%s'", digest);
	r = cu_fsync_dir_at(dirfd, ".");
	if (r < 0)
		return ls_fail(s, r, "cannot sync '%s/blobs/sha256'", s->root);
	if (ret_digest)
		memcpy(ret_digest, digest, sizeof(digest));
	return 0;
}

void ls_blob_writer_free(struct ls_blob_writer *w)
{
	if (!w)
		return;
	if (w->fd >= 0) {
		close(w->fd);
		unlinkat(w->s->tmpfd, w->tmp, 0);
	}
	ls_digester_free(w->d);
	free(w);
}

int ls_blob_put(struct ls_store *s, const void *buf, size_t len,
		char *ret_digest)
{
	struct ls_blob_writer *w;
	int r = ls_blob_writer_new(s, &w);

	if (r < 0)
		return r;
	r = ls_blob_writer_write(w, buf, len);
	if (r == 0)
		r = ls_blob_writer_commit(w, NULL, ret_digest);
	ls_blob_writer_free(w);
	return r;
}

int ls_blob_exists(struct ls_store *s, const char *digest)
{
	const char *hex = ls_digest_hex(digest);

	if (!hex)
		return ls_fail(s, -EINVAL, "invalid digest '%s'", digest);
	if (faccessat(s->blobfd, hex, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return 1;
	return errno == ENOENT ?
		       0 :
		       ls_fail(s, -errno, "cannot check blob '%s'", digest);
}

int ls_blob_open(struct ls_store *s, const char *digest)
{
	const char *hex = ls_digest_hex(digest);
	int fd;

	if (!hex)
		return ls_fail(s, -EINVAL, "invalid digest '%s'", digest);
	fd = openat(s->blobfd, hex, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return ls_fail(s, -errno, "cannot open blob '%s'", digest);
	return fd;
}

int ls_blob_read(struct ls_store *s, const char *digest, size_t max,
		 char **ret_buf, size_t *ret_len)
{
	return ls_blob_read_at(s, s->blobfd, digest, max, ret_buf, ret_len);
}

int ls_blob_read_at(struct ls_store *s, int dirfd, const char *digest,
		    size_t max, char **ret_buf, size_t *ret_len)
{
	char got[LS_DIGEST_STR_LEN + 1];
	_cleanup_free_ char *buf = NULL;
	struct ls_digester *d;
	size_t len;
	int r;

	if (!ls_digest_hex(digest))
		return ls_fail(s, -EINVAL, "invalid digest '%s'", digest);
	r = cu_read_file_at(dirfd, digest + 7, max, &buf, &len);
	if (r < 0)
		return ls_fail(s, r, "cannot read blob '%s'", digest);
	d = ls_digester_new();
	if (!d)
		return ls_fail(s, -ENOMEM, "cannot hash blob '%s'", digest);
	r = ls_digester_update(d, buf, len);
	if (r == 0)
		r = ls_digester_final(d, got);
	ls_digester_free(d);
	if (r == 0 && strcmp(got, digest) != 0)
		r = ls_fail(s, -EBADMSG,
			    "blob '%s' is corrupt (hashes to '%s')", digest,
			    got);
	if (r < 0)
		return r;
	*ret_buf = steal_ptr(&buf);
	if (ret_len)
		*ret_len = len;
	return 0;
}
