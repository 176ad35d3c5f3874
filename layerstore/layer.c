// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unpacked layers: layers/HEX/ holds diff/ (the directory layerfs mounts
 * as a lower) and layer.json (what it came from), for the layer whose
 * diffID is sha256:HEX. A layer is unpacked in tmp/, synced, and renamed
 * into place, so layers/HEX exists only complete; a per-layer flock makes
 * two parallel imports of one layer unpack it once.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "store-private.h"
#include "untar.h"

int ls_layer_exists(struct ls_store *s, const char *diff_id)
{
	const char *hex = ls_digest_hex(diff_id);
	char p[LS_DIGEST_HEX_LEN + 16];

	if (!hex)
		return ls_fail(s, -EINVAL, "invalid diffID '%s'", diff_id);
	snprintf(p, sizeof(p), "layers/%s", hex);
	if (faccessat(s->rootfd, p, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return 1;
	return errno == ENOENT ?
		       0 :
		       ls_fail(s, -errno, "cannot check layer '%s'", diff_id);
}

char *ls_layer_path(struct ls_store *s, const char *diff_id)
{
	const char *hex = ls_digest_hex(diff_id);
	char *r;

	if (!hex || asprintf(&r, "%s/layers/%s/diff", s->root, hex) < 0)
		return NULL;
	return r;
}

/* Exclusive per-layer lock, held until the fd is closed. */
static int lock_layer(struct ls_store *s, const char *hex)
{
	char name[LS_DIGEST_HEX_LEN + 16];
	int fd;

	snprintf(name, sizeof(name), "layer-%s.lock", hex);
	fd = openat(s->tmpfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
		    0600);
	if (fd < 0)
		return ls_fail(s, -errno, "cannot lock layer '%s'", hex);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			close(fd);
			return ls_fail(s, -errno, "cannot lock layer '%s'",
				       hex);
		}
	}
	return fd;
}

static int write_meta(int dirfd, const char *blob,
		      const struct ls_untar_result *res)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf),
			 "{\"diff_id\":\"%s\",\"blob\":\"%s\",\"size\":%llu,"
			 "\"entries\":%llu}\n",
			 res->diff_id, blob, (unsigned long long)res->tar_size,
			 (unsigned long long)res->entries);

	return cu_atomic_write_at(dirfd, "layer.json", buf, n, 0644);
}

/* Unpack into tmp/NAME/diff; returns the staging dir fd. */
static int unpack_staged(struct ls_store *s, int blobfd, const char *name,
			 const char *blob, struct ls_untar_result *res)
{
	struct ls_untar_opts o = { .allow_devices = geteuid() == 0,
				   .chown = geteuid() == 0 };
	_cleanup_free_ char *err = NULL;
	int sfd, dfd, r;

	if (mkdirat(s->tmpfd, name, 0755) < 0)
		return ls_fail(s, -errno, "cannot create '%s/tmp/%s'", s->root,
			       name);
	sfd = openat(s->tmpfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0 || mkdirat(sfd, "diff", 0755) < 0 ||
	    (dfd = openat(sfd, "diff", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) <
		    0) {
		r = -errno;
		if (sfd >= 0)
			close(sfd);
		return ls_fail(s, r, "cannot stage layer in '%s/tmp'", s->root);
	}
	r = ls_untar(blobfd, dfd, &o, res, &err);
	close(dfd);
	if (r < 0) {
		close(sfd);
		return ls_fail(s, r, "layer '%s': %s", blob, err ? err : "");
	}
	return sfd;
}

int ls_layer_unpack(struct ls_store *s, const char *blob,
		    const char *expect_diff_id, char *ret_diff_id)
{
	const char *hex = expect_diff_id ? ls_digest_hex(expect_diff_id) : NULL;
	struct ls_untar_result res;
	char name[32], tok[13], dst[LS_DIGEST_STR_LEN + 16];
	int lockfd = -1, blobfd, sfd = -1, r;

	if (expect_diff_id && !hex)
		return ls_fail(s, -EINVAL, "invalid diffID '%s'",
			       expect_diff_id);
	if (hex) {
		lockfd = lock_layer(s, hex);
		if (lockfd < 0)
			return lockfd;
		r = ls_layer_exists(s, expect_diff_id);
		if (r != 0)
			goto out; /* there already, or an error */
	}
	blobfd = ls_blob_open(s, blob);
	if (blobfd < 0) {
		r = blobfd;
		goto out;
	}
	cu_random_token(tok, 12);
	snprintf(name, sizeof(name), "unpack-%s", tok);
	sfd = r = unpack_staged(s, blobfd, name, blob, &res);
	close(blobfd);
	if (r < 0)
		goto fail;
	if (expect_diff_id && strcmp(res.diff_id, expect_diff_id) != 0) {
		r = ls_fail(s, -EBADMSG,
			    "layer '%s' has diffID '%s', the image says '%s'",
			    blob, res.diff_id, expect_diff_id);
		goto fail;
	}
	r = write_meta(sfd, blob, &res);
	if (r == 0 && syncfs(sfd) < 0)
		r = -errno;
	snprintf(dst, sizeof(dst), "layers/%.64s", res.diff_id + 7);
	if (r == 0 && renameat(s->tmpfd, name, s->rootfd, dst) < 0)
		r = (errno == EEXIST || errno == ENOTEMPTY) ? 1 : -errno;
	if (r >= 0)
		r = cu_fsync_dir_at(s->rootfd, "layers");
	if (r < 0) {
		ls_fail(s, r, "cannot store layer '%s'", res.diff_id);
		goto fail;
	}
	if (ret_diff_id)
		memcpy(ret_diff_id, res.diff_id, sizeof(res.diff_id));
	r = 0;
fail:
	if (sfd >= 0)
		close(sfd);
	cu_rm_rf_at(s->tmpfd, name); /* gone after the rename; else staging */
out:
	if (lockfd >= 0)
		close(lockfd);
	if (r == 1 && ret_diff_id)
		memcpy(ret_diff_id, expect_diff_id, LS_DIGEST_STR_LEN + 1);
	return r < 0 ? r : 0;
}
