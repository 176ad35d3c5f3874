// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Extended attributes through the mount. Reads come from the top object;
 * writes copy up metadata first. The union's own bookkeeping (overlay and
 * layerfs markers, stat overrides) is never shown and cannot be set.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "cleanup.h"
#include "fsutil.h"
#include "lfs.h"

bool lfs_xattr_private(const char *name)
{
	return cu_wh_xattr_private(name);
}

int lfs_xattr_get_path(int fd, const char *name, void *buf, size_t size)
{
	char p[32];
	ssize_t n = getxattr(cu_fd_path(fd, p, sizeof(p)), name, buf, size);

	return n < 0 ? -errno : (int)n;
}

int lfs_xattr_set_path(int fd, const char *name, const void *v, size_t size,
		       int flags)
{
	char p[32];

	if (setxattr(cu_fd_path(fd, p, sizeof(p)), name, v, size, flags) < 0)
		return -errno;
	return 0;
}

static ssize_t list_all(int fd, char **ret)
{
	char p[32];
	ssize_t n;

	cu_fd_path(fd, p, sizeof(p));
	for (;;) {
		n = listxattr(p, NULL, 0);
		if (n <= 0) {
			*ret = NULL;
			return n < 0 && errno != ENOTSUP ? -errno : 0;
		}
		*ret = malloc(n);
		if (!*ret)
			return -ENOMEM;
		n = listxattr(p, *ret, n);
		if (n >= 0)
			return n;
		free(*ret);
		if (errno != ERANGE)
			return -errno;
	}
}

int lfs_copy_xattrs(int src, int dst, bool skip_acl)
{
	_cleanup_free_ char *names = NULL;
	_cleanup_free_ char *val = NULL;
	ssize_t len = list_all(src, &names);
	size_t cap = 0;

	if (len < 0)
		return len;
	for (char *k = names; k && k < names + len; k += strlen(k) + 1) {
		int n;

		if (lfs_xattr_private(k) ||
		    (skip_acl && !strncmp(k, "system.posix_acl_", 17)))
			continue;
		n = lfs_xattr_get_path(src, k, NULL, 0);
		if (n < 0)
			continue; /* gone meanwhile, or not readable */
		if ((size_t)n > cap) {
			char *nv = realloc(val, n);

			if (!nv)
				return -ENOMEM;
			val = nv;
			cap = n;
		}
		n = lfs_xattr_get_path(src, k, val, n);
		if (n < 0)
			continue;
		n = lfs_xattr_set_path(dst, k, val, n, 0);
		/* an unprivileged daemon cannot write trusted.* or some
		 * security.*: the copy keeps what it may */
		if (n < 0 && n != -EPERM && n != -ENOTSUP)
			return n;
	}
	return 0;
}

void lfs_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		     size_t size)
{
	struct lfs_fs *fs = lfs_fs_of(req);
	struct lfs_node *n = lfs_node_get(fs, ino);
	_cleanup_free_ char *buf = NULL;
	struct lfs_stack *s;
	int r;

	if (lfs_xattr_private(name)) {
		fuse_reply_err(req, ENODATA);
		return;
	}
	if (size && !(buf = malloc(size))) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	s = lfs_stack_get(fs, n);
	r = lfs_xattr_get_path(s->r[0].fd, name, buf, size);
	lfs_stack_put(s);
	if (r < 0)
		fuse_reply_err(req, -r);
	else if (size == 0)
		fuse_reply_xattr(req, r);
	else
		fuse_reply_buf(req, buf, r);
}

void lfs_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct lfs_fs *fs = lfs_fs_of(req);
	struct lfs_node *n = lfs_node_get(fs, ino);
	_cleanup_free_ char *names = NULL;
	struct lfs_stack *s = lfs_stack_get(fs, n);
	ssize_t len = list_all(s->r[0].fd, &names);
	size_t out = 0;

	lfs_stack_put(s);
	if (len < 0) {
		fuse_reply_err(req, -len);
		return;
	}
	/* filter in place: the output is never longer than the input */
	for (char *k = names; k && k < names + len; k += strlen(k) + 1) {
		size_t kl = strlen(k) + 1;

		if (lfs_xattr_private(k))
			continue;
		memmove(names + out, k, kl);
		out += kl;
	}
	if (size == 0)
		fuse_reply_xattr(req, out);
	else if (out > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, names, out);
}

static int modify_xattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			const char *value, size_t size, int flags, bool remove)
{
	struct lfs_fs *fs = lfs_fs_of(req);
	struct lfs_node *n = lfs_node_get(fs, ino);
	struct lfs_stack *s;
	char p[32];
	int r;

	if (!fs->has_upper)
		return -EROFS;
	if (lfs_xattr_private(name))
		return -EPERM;
	r = lfs_copy_up(fs, n, false);
	if (r < 0)
		return r;
	s = lfs_stack_get(fs, n);
	cu_fd_path(s->r[0].fd, p, sizeof(p));
	if (remove)
		r = removexattr(p, name) < 0 ? -errno : 0;
	else
		r = setxattr(p, name, value, size, flags) < 0 ? -errno : 0;
	lfs_stack_put(s);
	return r;
}

void lfs_op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		     const char *value, size_t size, int flags)
{
	fuse_reply_err(req, -modify_xattr(req, ino, name, value, size, flags,
					  false));
}

void lfs_op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	fuse_reply_err(req, -modify_xattr(req, ino, name, NULL, 0, 0, true));
}
