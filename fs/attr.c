// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Attributes: what stat() shows through the mount and how chmod, chown,
 * utimens and truncate reach the upper layer.
 *
 * Ownership goes through three transformations, in this order:
 *  1. stat override: in a layer whose root carries an override xattr (or
 *     the upper, when the daemon cannot chown or xattr_permissions= asks
 *     for it), "uid:gid:mode" in that xattr replaces the real owner and
 *     permission bits of directories and regular files;
 *  2. uidmapping=/gidmapping=: CONTAINER:HOST:N triples, on-disk ids in
 *     [CONTAINER, CONTAINER+N) shown as HOST+offset, unknown ones as
 *     65534, and the reverse for ids coming from the kernel (fuse-overlayfs'
 *     semantics);
 *  3. squash_to_uid=/squash_to_gid=/squash_to_root: everything shows so.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "lfs.h"
#include "override.h"

#define OVERFLOW_ID 65534

static uint32_t map_id(const struct lfs_idmap *m, size_t n, uint32_t id,
		       bool to_disk)
{
	if (n == 0)
		return id;
	for (size_t i = 0; i < n; i++) {
		uint32_t from = to_disk ? m[i].host : m[i].ctr;
		uint32_t to = to_disk ? m[i].ctr : m[i].host;

		if (id >= from && id - from < m[i].count)
			return to + (id - from);
	}
	return OVERFLOW_ID;
}

uid_t lfs_uid_to_disk(struct lfs_fs *fs, uid_t uid)
{
	return map_id(fs->opts->uidmap, fs->opts->nuidmap, uid, true);
}

gid_t lfs_gid_to_disk(struct lfs_fs *fs, gid_t gid)
{
	return map_id(fs->opts->gidmap, fs->opts->ngidmap, gid, true);
}

static void map_to_kernel(struct lfs_fs *fs, struct stat *st)
{
	const struct lfs_opts *o = fs->opts;

	st->st_uid = map_id(o->uidmap, o->nuidmap, st->st_uid, false);
	st->st_gid = map_id(o->gidmap, o->ngidmap, st->st_gid, false);
	if (o->squash_uid >= 0)
		st->st_uid = o->squash_uid;
	if (o->squash_gid >= 0)
		st->st_gid = o->squash_gid;
}

static void apply_override(struct lfs_fs *fs, int layer, int fd,
			   struct stat *st)
{
	cu_override_apply(fd, fs->layers[layer].override_xattr, st);
}

int lfs_getattr_node(struct lfs_fs *fs, struct lfs_node *n, struct stat *st)
{
	struct lfs_stack *s = lfs_stack_get(fs, n);
	int r = 0;

	if (fstatat(s->r[0].fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) <
	    0) {
		r = -errno;
		goto out;
	}
	apply_override(fs, s->r[0].layer, s->r[0].fd, st);
	/* an indexed hardlink: the index's own link is not a name, and the
	 * union's count is kept on the inode (index.c) */
	if (S_ISREG(st->st_mode) && st->st_nlink > 1 && s->r[0].layer == 0 &&
	    fs->indexfd >= 0) {
		nlink_t nl;

		if (lfs_index_nlink_get(s->r[0].fd, &nl) > 0)
			st->st_nlink = nl;
	}
	if (S_ISDIR(st->st_mode) && s->n > 1)
		st->st_nlink = 1; /* merged: unknown, as overlayfs says */
	if (n->metacopy && s->n > 1) {
		struct stat ost;

		if (fstatat(s->r[1].fd, "", &ost, AT_EMPTY_PATH) == 0)
			st->st_blocks = ost.st_blocks;
	}
	map_to_kernel(fs, st);
	st->st_ino = n->ino;
out:
	lfs_stack_put(s);
	return r;
}

void lfs_fill_entry(struct lfs_fs *fs, struct lfs_node *n,
		    const struct stat *st, struct fuse_entry_param *e)
{
	bool lower_only;

	memset(e, 0, sizeof(*e));
	e->ino = n == fs->root ? FUSE_ROOT_ID : (uintptr_t)n;
	e->generation = n->generation;
	e->attr = *st;
	pthread_mutex_lock(&n->lock);
	lower_only = fs->has_upper ? n->layer != 0 : true;
	pthread_mutex_unlock(&n->lock);
	/* lower-only entries change only through us: cache them long */
	e->entry_timeout = lower_only ? fs->lower_timeout : fs->timeout;
	e->attr_timeout = e->entry_timeout;
}

static int write_override(struct lfs_fs *fs, int fd, uid_t uid, gid_t gid,
			  mode_t mode)
{
	return cu_override_set_at(fd, "", fs->upper_override, uid, gid, mode,
				  NULL);
}

/* Make an upper object owned by uid:gid (disk ids) with mode. When the
 * daemon may not chown (rootless), the owner goes into the override
 * xattr instead, for directories and regular files. */
int lfs_set_owner(struct lfs_fs *fs, int fd, uid_t uid, gid_t gid, mode_t mode)
{
	bool can_override = S_ISDIR(mode) || S_ISREG(mode);
	char p[32];

	if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) <
	    0) {
		if (errno != EPERM && errno != EINVAL)
			return -errno;
		if (!fs->upper_override || !can_override)
			return fs->rootless ? 0 : -EPERM;
		return write_override(fs, fd, uid, gid, mode);
	}
	/* chown cleared the set-id bits: put them back */
	if ((mode & (S_ISUID | S_ISGID)) && !S_ISLNK(mode) &&
	    chmod(cu_fd_path(fd, p, sizeof(p)), mode & 07777) < 0)
		return -errno;
	if (can_override && fs->layers[0].override_xattr)
		return write_override(fs, fd, uid, gid, mode);
	return 0;
}

void lfs_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct lfs_fs *fs = lfs_fs_of(req);
	struct lfs_node *n = lfs_node_get(fs, ino);
	struct stat st;
	int r = lfs_getattr_node(fs, n, &st);
	double t;

	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	pthread_mutex_lock(&n->lock);
	t = (fs->has_upper && n->layer == 0) ? fs->timeout : fs->lower_timeout;
	pthread_mutex_unlock(&n->lock);
	fuse_reply_attr(req, &st, t);
}

static int set_times(struct lfs_node *n, int fd, const struct stat *attr,
		     int to_set)
{
	struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT },
				  { .tv_nsec = UTIME_OMIT } };
	char p[32];

	if (to_set & FUSE_SET_ATTR_ATIME_NOW)
		ts[0].tv_nsec = UTIME_NOW;
	else if (to_set & FUSE_SET_ATTR_ATIME)
		ts[0] = attr->st_atim;
	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		ts[1].tv_nsec = UTIME_NOW;
	else if (to_set & FUSE_SET_ATTR_MTIME)
		ts[1] = attr->st_mtim;
	/*
	 * A symlink's times: through its own O_PATH fd, never following it.
	 * Not through its parent and name: the node of a hardlinked symlink
	 * keeps one of its names, and once that name is unlinked it has none
	 * while the other links still show it.  Kernels before 5.8 refuse
	 * AT_EMPTY_PATH here; the /proc magic link then resolves to the
	 * symlink itself, not to its target, as it does for other types.
	 */
	if (n->type == S_IFLNK &&
	    utimensat(fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (n->type == S_IFLNK && errno != EINVAL)
		return -errno;
	return utimensat(AT_FDCWD, cu_fd_path(fd, p, sizeof(p)), ts, 0) < 0 ?
		       -errno :
		       0;
}

static int set_owner_mode(struct lfs_fs *fs, struct lfs_node *n, int fd,
			  const struct stat *attr, int to_set)
{
	struct stat cur;
	char p[32];
	int r;

	if (fstatat(fd, "", &cur, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	apply_override(fs, 0, fd, &cur);
	if (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		uid_t uid = (to_set & FUSE_SET_ATTR_UID) ?
				    lfs_uid_to_disk(fs, attr->st_uid) :
				    cur.st_uid;
		gid_t gid = (to_set & FUSE_SET_ATTR_GID) ?
				    lfs_gid_to_disk(fs, attr->st_gid) :
				    cur.st_gid;

		r = lfs_set_owner(fs, fd, uid, gid, cur.st_mode);
		if (r < 0)
			return r;
		if (fstatat(fd, "", &cur, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) <
		    0)
			return -errno;
		apply_override(fs, 0, fd, &cur);
	}
	if (!(to_set & FUSE_SET_ATTR_MODE) || n->type == S_IFLNK)
		return 0;
	if (chmod(cu_fd_path(fd, p, sizeof(p)), attr->st_mode & 07777) < 0) {
		if (errno != EPERM || !fs->upper_override)
			return -errno;
	}
	if (fs->upper_override &&
	    (S_ISDIR(cur.st_mode) || S_ISREG(cur.st_mode)) &&
	    (fs->rootless || fs->opts->xattr_permissions))
		return write_override(fs, fd, cur.st_uid, cur.st_gid,
				      attr->st_mode);
	return 0;
}

int lfs_truncate_node(struct lfs_fs *fs, struct lfs_node *n,
		      struct fuse_file_info *fi, off_t size)
{
	struct lfs_stack *s;
	int r;

	/* truncate to 0 needs none of the old data */
	r = lfs_copy_up(fs, n, size != 0);
	if (r < 0)
		return r;
	s = lfs_stack_get(fs, n);
	if (fi && ((struct lfs_fileh *)(uintptr_t)fi->fh)->layer == 0) {
		r = ftruncate(((struct lfs_fileh *)(uintptr_t)fi->fh)->fd,
			      size);
	} else {
		int fd = lfs_open_real(s->r[0].fd, O_WRONLY);

		r = fd < 0 ? fd : ftruncate(fd, size);
		if (fd >= 0)
			close(fd);
	}
	if (r == -1)
		r = -errno;
	lfs_stack_put(s);
	if (r == 0 && size == 0)
		r = lfs_copy_up(fs, n, true); /* drops the metacopy mark */
	return r;
}

void lfs_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		    int to_set, struct fuse_file_info *fi)
{
	struct lfs_fs *fs = lfs_fs_of(req);
	struct lfs_node *n = lfs_node_get(fs, ino);
	struct lfs_stack *s;
	struct stat st;
	int r;

	if (!fs->has_upper) {
		fuse_reply_err(req, EROFS);
		return;
	}
	r = (to_set & FUSE_SET_ATTR_SIZE) ?
		    lfs_truncate_node(fs, n, fi, attr->st_size) :
		    lfs_copy_up(fs, n, false);
	if (r < 0)
		goto out;
	s = lfs_stack_get(fs, n);
	if (to_set &
	    (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID | FUSE_SET_ATTR_MODE))
		r = set_owner_mode(fs, n, s->r[0].fd, attr, to_set);
	if (r == 0 &&
	    (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME |
		       FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW)))
		r = set_times(n, s->r[0].fd, attr, to_set);
	lfs_stack_put(s);
	if (r == 0)
		r = lfs_getattr_node(fs, n, &st);
out:
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_attr(req, &st, fs->timeout);
}
