// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Directory operations: lookup, the create family, unlink, rmdir, link.
 *
 * Every change is ordered so that a crash between two steps leaves a
 * consistent tree: a whiteout is written before the upper entry it
 * replaces goes away (an entry wins over a whiteout in its own layer),
 * and a directory created over a whiteout is built opaque in the work dir
 * and renamed into place before the whiteout is removed.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "lfs.h"

int lfs_lookup_entry(struct lfs_fs *fs, struct lfs_node *parent,
		     const char *name, struct fuse_entry_param *e)
{
	struct lfs_found f;
	struct lfs_node *n;
	struct stat st;
	int r;

	if (cu_wh_name_reserved(name))
		return -ENOENT; /* whiteouts and markers never show */
	r = lfs_resolve(fs, parent, name, &f);
	if (r == 0 && fs->has_upper)
		r = lfs_index_fix_alias(fs, parent, name, &f);
	if (r < 0)
		return r;
	n = lfs_node_intern(fs, parent, name, &f);
	if (!n)
		return -ENOMEM;
	r = lfs_getattr_node(fs, n, &st);
	if (r < 0) {
		lfs_node_forget(fs, n, 1);
		return r;
	}
	lfs_fill_entry(fs, n, &st, e);
	return 0;
}

void lfs_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct lfs_fs *fs = lfs_fs_of(req);
	struct fuse_entry_param e;
	int r = lfs_lookup_entry(fs, lfs_node_get(fs, parent), name, &e);

	if (r == -ENOENT) {
		/* a negative entry: creations go through us and drop it */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = fs->timeout;
		fuse_reply_entry(req, &e);
	} else if (r < 0) {
		fuse_reply_err(req, -r);
	} else {
		fuse_reply_entry(req, &e);
	}
}

void lfs_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct lfs_fs *fs = lfs_fs_of(req);

	lfs_node_forget(fs, lfs_node_get(fs, ino), nlookup);
	fuse_reply_none(req);
}

void lfs_op_forget_multi(fuse_req_t req, size_t count,
			 struct fuse_forget_data *forgets)
{
	struct lfs_fs *fs = lfs_fs_of(req);

	for (size_t i = 0; i < count; i++)
		lfs_node_forget(fs, lfs_node_get(fs, forgets[i].ino),
				forgets[i].nlookup);
	fuse_reply_none(req);
}

void lfs_op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct lfs_fs *fs = lfs_fs_of(req);
	struct lfs_stack *s = lfs_stack_get(fs, lfs_node_get(fs, ino));
	char buf[PATH_MAX + 1];
	ssize_t n = readlinkat(s->r[0].fd, "", buf, sizeof(buf) - 1);

	lfs_stack_put(s);
	if (n < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	buf[n] = '\0';
	fuse_reply_readlink(req, buf);
}

/* Does the upper directory pfd hold a whiteout of name? 0 none, 1 an OCI
 * ".wh." file, 2 an overlayfs char device at the name itself. */
static int upper_whiteout(int pfd, const char *name)
{
	char wh[NAME_MAX + 1];
	struct stat st;

	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    cu_wh_is_chardev(&st))
		return 2;
	if (cu_wh_name_of(name, wh, sizeof(wh)) == 0 &&
	    fstatat(pfd, wh, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 1;
	return 0;
}

struct mk {
	mode_t mode;
	dev_t rdev;
	const char *target; /* symlink */
	int flags;	    /* open flags for regular files */
	int fd;		    /* out: open fd of a regular file */
};

/* Create the object at dirfd/name. */
static int mk_object(int dirfd, const char *name, struct mk *m)
{
	switch (m->mode & S_IFMT) {
	case S_IFREG:
		m->fd = openat(dirfd, name,
			       (m->flags & ~O_TRUNC) | O_CREAT | O_EXCL |
				       O_CLOEXEC,
			       m->mode & 07777);
		return m->fd < 0 ? -errno : 0;
	case S_IFDIR:
		return mkdirat(dirfd, name, m->mode & 07777) < 0 ? -errno : 0;
	case S_IFLNK:
		return symlinkat(m->target, dirfd, name) < 0 ? -errno : 0;
	default:
		return mknodat(dirfd, name, m->mode, m->rdev) < 0 ? -errno : 0;
	}
}

/* Build the object in the work dir (opaque if a dir), then rename it
 * over the whiteout: the name is never missing nor half made. */
static int mk_over_whiteout(struct lfs_fs *fs, int pfd, const char *name,
			    struct mk *m, int wh, uid_t uid, gid_t gid)
{
	char tmp[64];
	int r = -EEXIST, ofd;

	for (int i = 0; i < 100 && r == -EEXIST; i++) {
		char tok[13];

		cu_random_token(tok, 12);
		snprintf(tmp, sizeof(tmp), "create.%s", tok);
		r = mk_object(fs->workfd, tmp, m);
	}
	if (r < 0)
		return r;
	ofd = openat(fs->workfd, tmp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	r = ofd < 0 ? -errno : lfs_set_owner(fs, ofd, uid, gid, m->mode);
	if (r == 0 && S_ISDIR(m->mode))
		r = cu_wh_make_opaque(ofd, fs->wh_fmt);
	if (ofd >= 0)
		close(ofd);
	/* over a char device whiteout: swap them (a directory cannot be
	 * renamed over a non-directory), then drop the device */
	if (r == 0 &&
	    renameat2(fs->workfd, tmp, pfd, name,
		      wh == 2 ? RENAME_EXCHANGE : RENAME_NOREPLACE) < 0)
		r = -errno;
	if (r == 0 && wh == 2 && unlinkat(fs->workfd, tmp, 0) < 0)
		r = -errno;
	if (r < 0) {
		if (m->fd >= 0)
			close(m->fd);
		m->fd = -1;
		cu_rm_rf_at(fs->workfd, tmp);
		return r;
	}
	return wh == 1 ? cu_wh_remove(pfd, name) : 0;
}

/* In a set-group-ID directory new entries take its group, and new
 * directories its set-group-ID bit (the filesystem does it for objects
 * made in place, not for those renamed in from the work dir). */
static gid_t new_gid(struct lfs_fs *fs, int pfd, gid_t ctx_gid, mode_t *mode)
{
	struct stat pst;

	if (fstatat(pfd, "", &pst, AT_EMPTY_PATH) == 0 &&
	    (pst.st_mode & S_ISGID)) {
		if (S_ISDIR(*mode))
			*mode |= S_ISGID;
		return pst.st_gid;
	}
	return lfs_gid_to_disk(fs, ctx_gid);
}

static int make_node(struct lfs_fs *fs, struct lfs_node *parent,
		     const char *name, int pfd, struct lfs_node **ret_node,
		     struct stat *ret_st)
{
	struct lfs_found f = { 0 };
	int fd = openat(pfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	f.stack = lfs_stack_new(1);
	if (!f.stack) {
		close(fd);
		return -ENOMEM;
	}
	f.stack->r[0].layer = 0;
	f.stack->r[0].fd = fd;
	if (fstatat(fd, "", &f.st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
		lfs_found_clear(&f);
		return -errno;
	}
	f.opath = lfs_child_opath(parent->opath, name);
	*ret_node = lfs_node_intern(fs, parent, name, &f);
	if (!*ret_node)
		return -ENOMEM;
	return lfs_getattr_node(fs, *ret_node, ret_st);
}

int lfs_create_at(struct lfs_fs *fs, fuse_req_t req, struct lfs_node *parent,
		  const char *name, mode_t mode, dev_t rdev,
		  const char *link_target, int *ret_fd,
		  struct lfs_node **ret_node, struct stat *ret_st)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct mk m = { .mode = mode,
			.rdev = rdev,
			.target = link_target,
			.flags = ret_fd ? *ret_fd : O_RDONLY,
			.fd = -1 };
	struct lfs_stack *ps;
	uid_t uid;
	gid_t gid;
	int r, pfd, wh;

	if (!fs->has_upper)
		return -EROFS;
	if (cu_wh_name_reserved(name))
		return -EINVAL;
	r = lfs_ensure_upper_dir(fs, parent);
	if (r < 0)
		return r;
	ps = lfs_stack_get(fs, parent);
	pfd = ps->r[0].fd;
	uid = lfs_uid_to_disk(fs, ctx->uid);
	gid = new_gid(fs, pfd, ctx->gid, &m.mode);
	wh = upper_whiteout(pfd, name);
	if (wh) {
		r = mk_over_whiteout(fs, pfd, name, &m, wh, uid, gid);
	} else {
		r = mk_object(pfd, name, &m);
		if (r == 0) {
			int ofd = openat(pfd, name,
					 O_PATH | O_NOFOLLOW | O_CLOEXEC);

			r = ofd < 0 ? -errno :
				      lfs_set_owner(fs, ofd, uid, gid, m.mode);
			if (ofd >= 0)
				close(ofd);
		}
	}
	if (r == 0)
		r = make_node(fs, parent, name, pfd, ret_node, ret_st);
	lfs_stack_put(ps);
	if (r < 0 && m.fd >= 0) {
		close(m.fd);
		m.fd = -1;
	}
	if (ret_fd)
		*ret_fd = m.fd;
	return r;
}

static void reply_create(fuse_req_t req, fuse_ino_t parent, const char *name,
			 mode_t mode, dev_t rdev, const char *target)
{
	struct lfs_fs *fs = lfs_fs_of(req);
	struct fuse_entry_param e;
	struct lfs_node *n = NULL;
	struct stat st;
	int r = lfs_create_at(fs, req, lfs_node_get(fs, parent), name, mode,
			      rdev, target, NULL, &n, &st);

	if (r < 0) {
		if (n)
			lfs_node_forget(fs, n, 1);
		fuse_reply_err(req, -r);
		return;
	}
	lfs_fill_entry(fs, n, &st, &e);
	fuse_reply_entry(req, &e);
}

void lfs_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		  mode_t mode, dev_t rdev)
{
	reply_create(req, parent, name, mode, rdev, NULL);
}

void lfs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		  mode_t mode)
{
	reply_create(req, parent, name, S_IFDIR | (mode & 07777), 0, NULL);
}

void lfs_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		    const char *name)
{
	reply_create(req, parent, name, S_IFLNK | 0777, 0, link);
}

/* Remove the upper entry name (a dir may hold whiteouts): move it into
 * the work dir atomically, then clean it up there. */
int lfs_remove_upper(struct lfs_fs *fs, int pfd, const char *name, bool dir)
{
	char tmp[64], tok[13];

	if (!dir)
		return unlinkat(pfd, name, 0) < 0 ? -errno : 0;
	if (unlinkat(pfd, name, AT_REMOVEDIR) == 0)
		return 0;
	if (errno != ENOTEMPTY && errno != EEXIST)
		return -errno;
	cu_random_token(tok, 12);
	snprintf(tmp, sizeof(tmp), "remove.%s", tok);
	if (renameat2(pfd, name, fs->workfd, tmp, RENAME_NOREPLACE) < 0)
		return -errno;
	return cu_rm_rf_at(fs->workfd, tmp);
}

static int do_remove(struct lfs_fs *fs, struct lfs_node *parent,
		     const char *name, bool dir)
{
	struct lfs_node *n = NULL;
	struct lfs_found f;
	struct lfs_stack *ps;
	bool longname;
	int r, lower;

	if (!fs->has_upper)
		return -EROFS;
	if (cu_wh_name_reserved(name))
		return -ENOENT;
	r = lfs_resolve(fs, parent, name, &f);
	if (r == 0 && lfs_index_applies(fs, lfs_top_layer(f.stack), &f.st))
		r = lfs_index_name_up(fs, parent, name, &f);
	if (r < 0)
		return r;
	if (dir != S_ISDIR(f.st.st_mode)) {
		r = dir ? -ENOTDIR : -EISDIR;
		goto out;
	}
	if (dir && (r = lfs_stack_empty(fs, f.stack)) <= 0) {
		r = r == 0 ? -ENOTEMPTY : r;
		goto out;
	}
	r = lfs_ensure_upper_dir(fs, parent);
	if (r < 0)
		goto out;
	lower = lfs_lower_has(fs, parent, name);
	if (lower < 0) {
		r = lower;
		goto out;
	}
	/* a node of this name keeps its stack: the name is going away */
	n = lfs_node_find_key(fs, lfs_top_layer(f.stack), f.st.st_dev,
			      f.st.st_ino);
	if (n)
		lfs_node_hold(fs, n);
	ps = lfs_stack_get(fs, parent);
	/* no room for ".wh.NAME": only the chardev form, once the upper
	 * entry is gone (it would be in the way) */
	longname = strlen(name) + CU_WH_PREFIX_LEN > NAME_MAX;
	if (lower && !(longname && lfs_top_layer(f.stack) == 0))
		r = cu_wh_make(ps->r[0].fd, name,
			       fs->wh_fmt == CU_WH_CHARDEV &&
					       lfs_top_layer(f.stack) == 0 ?
				       CU_WH_OCI :
				       fs->wh_fmt);
	if (r == 0 && lfs_top_layer(f.stack) == 0) {
		r = lfs_remove_upper(fs, ps->r[0].fd, name, dir);
		if (r == 0 && f.st.st_nlink <= 1)
			lfs_inomap_del(fs, f.st.st_ino);
		if (r == 0 && !dir && f.st.st_nlink > 1)
			r = lfs_index_nlink_add(fs, f.stack->r[0].fd, -1);
		if (r == 0 && lower &&
		    (fs->wh_fmt == CU_WH_CHARDEV || longname)) {
			/* swap the interim OCI whiteout for the chardev one */
			r = cu_wh_make(ps->r[0].fd, name, CU_WH_CHARDEV);
			if (r == 0 && !longname)
				r = cu_wh_remove_oci(ps->r[0].fd, name);
		}
	}
	lfs_stack_put(ps);
	if (n) {
		/* the node must never be copied up to that name again */
		if (r == 0)
			lfs_node_detach(fs, n, parent, name);
		lfs_node_unhold(fs, n);
		lfs_node_unref(fs, n);
	}
out:
	lfs_found_clear(&f);
	return r;
}

void lfs_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct lfs_fs *fs = lfs_fs_of(req);

	fuse_reply_err(req,
		       -do_remove(fs, lfs_node_get(fs, parent), name, false));
}

void lfs_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct lfs_fs *fs = lfs_fs_of(req);

	fuse_reply_err(req,
		       -do_remove(fs, lfs_node_get(fs, parent), name, true));
}

void lfs_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		 const char *newname)
{
	struct lfs_fs *fs = lfs_fs_of(req);
	struct lfs_node *n = lfs_node_get(fs, ino);
	struct lfs_node *p = lfs_node_get(fs, newparent);
	struct fuse_entry_param e;
	struct lfs_stack *s, *ps;
	struct lfs_node *nn = NULL;
	struct stat st;
	char src[32];
	int r, wh;

	if (!fs->has_upper) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (cu_wh_name_reserved(newname)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	r = lfs_copy_up(fs, n, true);
	if (r == 0)
		r = lfs_ensure_upper_dir(fs, p);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	s = lfs_stack_get(fs, n);
	ps = lfs_stack_get(fs, p);
	wh = upper_whiteout(ps->r[0].fd, newname);
	if (wh == 2 && unlinkat(ps->r[0].fd, newname, 0) < 0)
		r = -errno;
	if (r == 0 && linkat(AT_FDCWD, cu_fd_path(s->r[0].fd, src, sizeof(src)),
			     ps->r[0].fd, newname, AT_SYMLINK_FOLLOW) < 0)
		r = -errno;
	if (r == 0 && wh == 1)
		r = cu_wh_remove(ps->r[0].fd, newname);
	if (r == 0)
		r = lfs_index_nlink_add(fs, s->r[0].fd, +1);
	if (r == 0)
		r = make_node(fs, p, newname, ps->r[0].fd, &nn, &st);
	lfs_stack_put(ps);
	lfs_stack_put(s);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	lfs_fill_entry(fs, nn, &st, &e);
	fuse_reply_entry(req, &e);
}
