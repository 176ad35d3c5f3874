// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unpacked layers: layers/HEX/ holds diff/ (the directory layerfs mounts
 * as a lower) and layer.json (what it came from), for the layer whose
 * diffID is sha256:HEX. A layer is unpacked in tmp/, synced, and renamed
 * into place, so layers/HEX exists only complete; a per-layer flock makes
 * two parallel imports of one layer unpack it once. The manifest file lists
 * every entry with an XXH3 of its content (manifest.c) for fsck.
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
	struct stat st;

	if (!hex)
		return ls_fail(s, -EINVAL, "invalid diffID '%s'", diff_id);
	snprintf(p, sizeof(p), "layers/%s", hex);
	if (fstatat(s->rootfd, p, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ?
			       0 :
			       ls_fail(s, -errno, "cannot check layer '%s'",
				       diff_id);
	/* a layer is a real directory: never a path out of the store */
	if (!S_ISDIR(st.st_mode))
		return ls_fail(s, -ENOTDIR,
			       "layer '%s' is %s in the store, not a directory",
			       diff_id,
			       S_ISLNK(st.st_mode) ? "a symlink" : "a file");
	return 1;
}

char *ls_layer_path(struct ls_store *s, const char *diff_id)
{
	const char *hex = ls_digest_hex(diff_id);
	char *r;

	if (!hex || asprintf(&r, "%s/layers/%s/diff", s->root, hex) < 0)
		return NULL;
	return r;
}

int ls_layer_lock(struct ls_store *s, const char *hex)
{
	char name[LS_DIGEST_HEX_LEN + 16];

	snprintf(name, sizeof(name), "layer-%s", hex);
	return ls_lock_file(s, name, LOCK_EX);
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

static int write_manifest(int sfd)
{
	_cleanup_close_ int dfd = openat(sfd, "diff",
					 O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *m = NULL;
	size_t len;
	int r;

	if (dfd < 0)
		return -errno;
	r = ls_tree_manifest(dfd, &m, &len);
	if (r == 0)
		r = cu_atomic_write_at(sfd, "manifest", m, len, 0644);
	return r;
}

static int stage(struct ls_store *s, int blobfd, const char *blob,
		 const char *expect, const struct ls_untar_opts *o, int pfd,
		 const char *name, struct ls_untar_result *res)
{
	_cleanup_free_ char *err = NULL;
	_cleanup_close_ int sfd = -1, dfd = -1;
	int r;

	if (mkdirat(pfd, name, 0755) < 0)
		return ls_fail(s, -errno, "cannot stage layer '%s'", blob);
	sfd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0 || mkdirat(sfd, "diff", 0755) < 0 ||
	    (dfd = openat(sfd, "diff", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return ls_fail(s, -errno, "cannot stage layer '%s'", blob);
	r = ls_untar(blobfd, dfd, o, res, &err);
	if (r < 0)
		return ls_fail(s, r, "layer '%s': %s", blob, err ? err : "");
	if (expect && strcmp(res->diff_id, expect) != 0)
		return ls_fail(s, -EBADMSG,
			       "layer '%s' has diffID '%s', the image says '%s'",
			       blob, res->diff_id, expect);
	r = write_meta(sfd, res->blob_digest, res);
	if (r == 0)
		r = write_manifest(sfd);
	if (r == 0 && syncfs(sfd) < 0)
		r = -errno;
	if (r < 0)
		return ls_fail(s, r, "cannot stage layer '%s'", blob);
	return 0;
}

int ls_layer_stage(struct ls_store *s, int blobfd, const char *blob,
		   const char *expect, const struct ls_untar_opts *o, int pfd,
		   const char *name, struct ls_untar_result *res)
{
	int r = stage(s, blobfd, blob, expect, o, pfd, name, res);

	if (r < 0)
		cu_rm_rf_at(pfd, name);
	return r;
}

int ls_layer_publish(struct ls_store *s, const char *name, const char *diff_id,
		     int lockfd)
{
	_cleanup_close_ int own = -1;
	char dst[LS_DIGEST_STR_LEN + 16];
	int r = 0;

	if (lockfd < 0)
		lockfd = own = r = ls_layer_lock(s, diff_id + 7);
	snprintf(dst, sizeof(dst), "layers/%.64s", diff_id + 7);
	if (r >= 0 && renameat(s->tmpfd, name, s->rootfd, dst) < 0)
		r = (errno == EEXIST || errno == ENOTEMPTY) ? 1 : -errno;
	if (r >= 0 && (r = cu_fsync_dir_at(s->rootfd, "layers")) < 0)
		ls_fail(s, r, "cannot store layer '%s'", diff_id);
	else if (r < 0)
		ls_fail(s, r, "cannot store layer '%s'", diff_id);
	cu_rm_rf_at(s->tmpfd, name); /* gone after the rename; else staging */
	return r < 0 ? r : 0;
}

int ls_layer_set_blob(struct ls_store *s, const char *name, const char *blob,
		      const struct ls_untar_result *res)
{
	_cleanup_close_ int sfd = openat(s->tmpfd, name,
					 O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = sfd < 0 ? -errno : write_meta(sfd, blob, res);

	return r < 0 ? ls_fail(s, r, "cannot stage layer '%s'", res->diff_id) :
		       0;
}

int ls_layer_unpack(struct ls_store *s, const char *blob,
		    const char *expect_diff_id, char *ret_diff_id)
{
	struct ls_untar_opts o = { .allow_devices = geteuid() == 0,
				   .chown = geteuid() == 0,
				   .record_owner = geteuid() != 0 };
	const char *hex = expect_diff_id ? ls_digest_hex(expect_diff_id) : NULL;
	struct ls_untar_result res;
	char name[32], tok[13];
	_cleanup_close_ int lockfd = -1, blobfd = -1;
	int r, held = s->gc_held;

	if (expect_diff_id && !hex)
		return ls_fail(s, -EINVAL, "invalid diffID '%s'",
			       expect_diff_id);
	r = ls_store_hold(s);
	if (r < 0)
		return r;
	if (hex) {
		lockfd = r = ls_layer_lock(s, hex);
		if (r >= 0)
			r = ls_layer_exists(s, expect_diff_id);
		if (r != 0)
			goto out; /* there already, or an error */
	}
	blobfd = r = ls_blob_open(s, blob);
	if (r < 0)
		goto out;
	cu_random_token(tok, 12);
	snprintf(name, sizeof(name), "unpack-%s", tok);
	r = ls_layer_stage(s, blobfd, blob, expect_diff_id, &o, s->tmpfd, name,
			   &res);
	/* without an expected diffID, the one found is locked to publish */
	if (r >= 0)
		r = ls_layer_publish(s, name, res.diff_id, lockfd);
	if (r >= 0 && ret_diff_id)
		memcpy(ret_diff_id, res.diff_id, sizeof(res.diff_id));
out:
	if (!held)
		ls_store_release(s);
	if (r == 1 && ret_diff_id && expect_diff_id)
		memcpy(ret_diff_id, expect_diff_id, LS_DIGEST_STR_LEN + 1);
	return r < 0 ? r : 0;
}
