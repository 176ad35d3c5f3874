// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Copy-up: bring a lower object into the upper layer, as overlayfs does it.
 * A temp object is made in the work dir (same filesystem as the upper),
 * filled with data, then xattrs, then owner, mode and times, and renamed
 * into place: a crash leaves either the lower object visible or the
 * complete copy, never a half one (the work dir's leftovers are removed at
 * the next mount).
 *
 * Data is copied sparse-aware: FICLONE when the filesystems allow it, else
 * copy_file_range over the data extents that SEEK_DATA/SEEK_HOLE report,
 * so a 1-byte append to a sparse 1 GiB file copies only its data.
 *
 * Metadata-only changes (chmod, chown, utimens, setxattr, rename) make a
 * metacopy: an empty sparse file of the right size carrying the metadata
 * and the user.layerfs.metacopy xattr that names the data's origin. The
 * first write fills the data in place and drops the xattr last, so a
 * crash in between still reads the origin's data.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/param.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "lfs.h"

struct cu_ctx {
	struct lfs_fs *fs;
	struct lfs_node *n;
	struct lfs_stack *old; /* the node's stack before copy-up */
	struct stat st;	       /* of the object being copied */
	int pfd;	       /* upper parent dir (O_PATH) */
	const char *name;
	char tmp[64]; /* temp name in the work dir */
	int tmpfd;    /* O_PATH on the temp object */
	bool metacopy;
};

int lfs_open_real(int opath_fd, int flags)
{
	char p[32];
	int fd;

	/* the kernel does O_DIRECT's work through FUSE already; on the real
	 * file it would only make our unaligned buffers fail */
	flags &= ~(O_CREAT | O_EXCL | O_NOCTTY | O_NOFOLLOW | O_TRUNC |
		   O_DIRECT);
	fd = open(cu_fd_path(opath_fd, p, sizeof(p)), flags | O_CLOEXEC);
	if (fd < 0 && errno == EPERM && (flags & O_NOATIME))
		fd = open(p, (flags & ~O_NOATIME) | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int copy_range(int in, int out, off_t off, off_t end)
{
	while (off < end) {
		loff_t io = off, oo = off;
		ssize_t n = copy_file_range(in, &io, out, &oo, end - off, 0);

		if (n < 0 && (errno == EXDEV || errno == ENOSYS ||
			      errno == EOPNOTSUPP || errno == EINVAL)) {
			char buf[1 << 16];
			ssize_t m = pread(in, buf,
					  MIN(sizeof(buf), (size_t)(end - off)),
					  off);

			if (m < 0)
				return -errno;
			if (m == 0)
				break;
			n = cu_pwrite_all(out, buf, m, off);
		}
		if (n < 0)
			return n == -1 ? -errno : (int)n;
		if (n == 0)
			break; /* source shrank */
		off += n;
	}
	return 0;
}

/* Copy the data extents of in to out (same offsets), then set the size. */
static int copy_data(int in, int out, off_t size)
{
	off_t off = 0;
	int r;

	if (ioctl(out, FICLONE, in) == 0)
		return 0;
	while (off < size) {
		off_t data = lseek(in, off, SEEK_DATA), hole;

		if (data < 0) {
			if (errno == ENXIO)
				break; /* only a hole remains */
			data = off;    /* no SEEK_DATA: copy everything */
			hole = size;
		} else {
			hole = lseek(in, data, SEEK_HOLE);
			if (hole < 0)
				hole = size;
		}
		r = copy_range(in, out, data, MIN(hole, size));
		if (r < 0)
			return r;
		off = hole;
	}
	if (ftruncate(out, size) < 0)
		return -errno;
	return 0;
}

static int make_tmp_reg(struct cu_ctx *c)
{
	struct lfs_fs *fs = c->fs;
	_cleanup_close_ int out = cu_open_tmp_at(fs->workfd, "copyup", 0600,
						 c->tmp, sizeof(c->tmp));
	int r;

	if (out < 0)
		return out;
	if (c->metacopy) {
		char *v;

		r = ftruncate(out, c->st.st_size) < 0 ? -errno : 0;
		if (r == 0 && asprintf(&v, "/%s", c->n->opath) >= 0) {
			if (fsetxattr(out, LFS_XATTR_METACOPY, v, strlen(v),
				      0) < 0)
				r = -errno;
			free(v);
		}
	} else {
		_cleanup_close_ int in =
			lfs_open_real(c->old->r[c->n->metacopy ? 1 : 0].fd,
				      O_RDONLY);

		if (in < 0)
			return in;
		r = copy_data(in, out, c->st.st_size);
		if (r == 0 && fs->opts->fsync && !fs->opts->volatile_mode &&
		    fsync(out) < 0)
			r = -errno;
	}
	if (r < 0)
		return r;
	c->tmpfd = lfs_open_real(out, O_PATH);
	return c->tmpfd < 0 ? c->tmpfd : 0;
}

static int make_tmp_other(struct cu_ctx *c)
{
	struct lfs_fs *fs = c->fs;
	int top = c->old->r[0].fd;
	mode_t type = c->st.st_mode & S_IFMT;
	char target[PATH_MAX];
	ssize_t len;
	int r = -EEXIST;

	for (int i = 0; i < 100 && r == -EEXIST; i++) {
		char tok[13];

		cu_random_token(tok, 12);
		snprintf(c->tmp, sizeof(c->tmp), "copyup.%s", tok);
		if (type == S_IFDIR) {
			r = mkdirat(fs->workfd, c->tmp, 0700);
		} else if (type == S_IFLNK) {
			len = readlinkat(top, "", target, sizeof(target) - 1);
			if (len < 0)
				return -errno;
			target[len] = '\0';
			r = symlinkat(target, fs->workfd, c->tmp);
		} else {
			r = mknodat(fs->workfd, c->tmp, type | 0600,
				    c->st.st_rdev);
		}
		r = r < 0 ? -errno : 0;
	}
	if (r < 0)
		return r;
	c->tmpfd = openat(fs->workfd, c->tmp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	return c->tmpfd < 0 ? -errno : 0;
}

/* Owner, then xattrs, then mode and times: chown clears set-id bits and
 * security.capability, so both must come after it. */
static int copy_attrs(struct cu_ctx *c)
{
	struct timespec ts[2] = { c->st.st_atim, c->st.st_mtim };
	char p[32];
	int r;

	r = lfs_set_owner(c->fs, c->tmpfd, c->st.st_uid, c->st.st_gid,
			  c->st.st_mode);
	if (r == 0)
		r = lfs_copy_xattrs(c->old->r[0].fd, c->tmpfd, false);
	if (r < 0)
		return r;
	if (!S_ISLNK(c->st.st_mode) && chmod(cu_fd_path(c->tmpfd, p, sizeof(p)),
					     c->st.st_mode & 07777) < 0)
		return -errno;
	if (utimensat(c->fs->workfd, c->tmp, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

/* Keep the parent's times: a copy-up is not a change users made. */
static int place(struct cu_ctx *c)
{
	struct stat pst;
	bool keep = fstatat(c->pfd, "", &pst, AT_EMPTY_PATH) == 0;
	char p[32];

	if (renameat2(c->fs->workfd, c->tmp, c->pfd, c->name,
		      RENAME_NOREPLACE) < 0)
		return -errno;
	if (keep) {
		struct timespec ts[2] = { pst.st_atim, pst.st_mtim };

		utimensat(AT_FDCWD, cu_fd_path(c->pfd, p, sizeof(p)), ts, 0);
	}
	return 0;
}

/* The new stack: the upper object on top, then what was there. */
static int swap_stack(struct cu_ctx *c)
{
	struct lfs_node *n = c->n;
	int keep = S_ISDIR(c->st.st_mode) ? c->old->n : (c->metacopy ? 1 : 0);
	struct lfs_stack *s = lfs_stack_new(1 + keep);
	struct stat ust;

	if (!s)
		return -ENOMEM;
	s->r[0].layer = 0;
	s->r[0].fd = c->tmpfd;
	c->tmpfd = -1;
	for (int i = 0; i < keep; i++) {
		s->r[1 + i].layer = c->old->r[i].layer;
		s->r[1 + i].fd = dup(c->old->r[i].fd);
		if (s->r[1 + i].fd < 0) {
			lfs_stack_put(s);
			return -errno;
		}
	}
	if (fstatat(s->r[0].fd, "", &ust, AT_EMPTY_PATH) == 0)
		lfs_node_add_key(c->fs, n, 0, &ust);
	n->metacopy = c->metacopy;
	lfs_node_set_stack(c->fs, n, s);
	return 0;
}

/* Rename the temp object into place (or link an indexed one there). */
static int place_any(struct cu_ctx *c, bool from_index, const char *key)
{
	struct stat pst;
	bool keep = fstatat(c->pfd, "", &pst, AT_EMPTY_PATH) == 0;
	char p[32];
	int r = 0;

	if (!from_index)
		return place(c);
	if (linkat(c->fs->indexfd, key, c->pfd, c->name, 0) < 0) {
		struct stat a, b;

		r = -errno;
		/* already linked there (another name's lookup did it) */
		if (r == -EEXIST &&
		    fstatat(c->pfd, c->name, &a, AT_SYMLINK_NOFOLLOW) == 0 &&
		    fstatat(c->fs->indexfd, key, &b, AT_SYMLINK_NOFOLLOW) ==
			    0 &&
		    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			r = 0;
	}
	if (r == 0 && keep) {
		struct timespec ts[2] = { pst.st_atim, pst.st_mtim };

		utimensat(AT_FDCWD, cu_fd_path(c->pfd, p, sizeof(p)), ts, 0);
	}
	return r;
}

/* A hardlinked lower file: the copy goes to the index first (index.c), so
 * that all its names end up on one upper inode. Called with index_lock. */
static int copy_indexed(struct cu_ctx *c)
{
	struct lfs_fs *fs = c->fs;
	char key[64], v[24];
	bool have;
	int r = 0, n;

	lfs_index_name(&c->st, key, sizeof(key));
	have = fstatat(fs->indexfd, key, &(struct stat){ 0 },
		       AT_SYMLINK_NOFOLLOW) == 0;
	if (have) {
		c->tmpfd = openat(fs->indexfd, key,
				  O_PATH | O_NOFOLLOW | O_CLOEXEC);
		r = c->tmpfd < 0 ? -errno : 0;
	} else {
		r = make_tmp_reg(c);
		if (r == 0)
			r = copy_attrs(c);
		n = snprintf(v, sizeof(v), "%lu",
			     (unsigned long)c->st.st_nlink);
		if (r == 0)
			r = lfs_xattr_set_path(c->tmpfd, LFS_XATTR_NLINK, v, n,
					       0);
		if (r == 0 &&
		    linkat(fs->workfd, c->tmp, fs->indexfd, key, 0) < 0)
			r = -errno;
	}
	if (r == 0 && c->name)
		r = place_any(c, have, key);
	else if (r == 0)
		unlinkat(fs->workfd, c->tmp, 0); /* the index keeps it */
	return r;
}

/* Locked: n->lock held, n's top is in a lower layer. */
static int copy_up_lower(struct lfs_fs *fs, struct lfs_node *n,
			 struct lfs_stack *old, bool data)
{
	struct cu_ctx c = { .fs = fs, .n = n, .old = old, .tmpfd = -1 };
	struct lfs_stack *ps = NULL;
	bool indexed;
	int r;

	if (fstatat(c.old->r[0].fd, "", &c.st, AT_EMPTY_PATH) < 0)
		return -errno;
	/* the owner and mode the union shows, where the lower keeps them in
	 * an override xattr (a rootless store's layers) */
	cu_override_apply(c.old->r[0].fd,
			  fs->layers[lfs_top_layer(c.old)].override_xattr,
			  &c.st);
	indexed = lfs_index_applies(fs, lfs_top_layer(c.old), &c.st);
	if (!n->parent || !n->name) {
		if (!indexed)
			return -ENOENT; /* unlinked: nowhere to copy up to */
	} else {
		r = lfs_copy_up(fs, n->parent, false);
		if (r < 0)
			return r;
		ps = lfs_stack_get(fs, n->parent);
		c.pfd = ps->r[0].fd;
		c.name = n->name;
	}
	c.metacopy = !indexed && !data && S_ISREG(c.st.st_mode) && n->opath;
	if (c.metacopy && (r = lfs_dir_mark_meta(fs, n->parent)) < 0)
		goto out;
	if (indexed) {
		pthread_mutex_lock(&fs->index_lock);
		r = copy_indexed(&c);
		pthread_mutex_unlock(&fs->index_lock);
	} else {
		r = S_ISREG(c.st.st_mode) ? make_tmp_reg(&c) :
					    make_tmp_other(&c);
		if (r == 0)
			r = copy_attrs(&c);
		if (r == 0)
			r = place(&c);
	}
	if (r < 0 && c.tmp[0])
		cu_rm_rf_at(fs->workfd, c.tmp);
	if (r == 0)
		r = swap_stack(&c);
out:
	if (c.tmpfd >= 0)
		close(c.tmpfd);
	lfs_stack_put(ps);
	return r;
}

/* Locked: n is a metacopy in the upper layer; fill its data in place. */
static int copy_up_data(struct lfs_fs *fs, struct lfs_node *n,
			struct lfs_stack *s)
{
	struct lfs_stack *ns;
	char cap[64];
	ssize_t caplen;
	struct stat st;
	char p[32];
	int r;

	_cleanup_close_ int out = lfs_open_real(s->r[0].fd, O_WRONLY);
	if (out < 0)
		return out;
	_cleanup_close_ int in = lfs_open_real(s->r[1].fd,
					       O_RDONLY | O_NOATIME);
	if (in < 0)
		return in;
	if (fstat(out, &st) < 0)
		return -errno;
	/* writing drops security.capability (as it must for users): this
	 * write is ours, so put it back */
	caplen = fgetxattr(out, "security.capability", cap, sizeof(cap));
	r = copy_data(in, out, st.st_size);
	if (r == 0 && caplen > 0 &&
	    fsetxattr(out, "security.capability", cap, caplen, 0) < 0)
		r = -errno;
	if (r == 0) {
		struct timespec ts[2] = { st.st_atim, st.st_mtim };

		if (futimens(out, ts) < 0 ||
		    (fs->opts->fsync && !fs->opts->volatile_mode &&
		     fsync(out) < 0))
			r = -errno;
	}
	if (r == 0 && removexattr(cu_fd_path(s->r[0].fd, p, sizeof(p)),
				  LFS_XATTR_METACOPY) < 0)
		r = -errno;
	if (r < 0)
		return r;
	ns = lfs_stack_new(1);
	if (!ns)
		return -ENOMEM;
	ns->r[0].layer = 0;
	ns->r[0].fd = dup(s->r[0].fd);
	n->metacopy = false;
	lfs_node_set_stack(fs, n, ns);
	return 0;
}

/* Mark an upper directory as one that may hold metacopy files, before
 * the first one is placed in it. */
int lfs_dir_mark_meta(struct lfs_fs *fs, struct lfs_node *dir)
{
	struct lfs_stack *s;
	int r;

	if (__atomic_load_n(&dir->has_meta, __ATOMIC_ACQUIRE))
		return 0;
	s = lfs_stack_get(fs, dir);
	r = lfs_xattr_set_path(s->r[0].fd, LFS_XATTR_HASMETA, "y", 1, 0);
	lfs_stack_put(s);
	if (r == 0)
		__atomic_store_n(&dir->has_meta, true, __ATOMIC_RELEASE);
	return r;
}

int lfs_copy_up(struct lfs_fs *fs, struct lfs_node *n, bool data)
{
	struct lfs_stack *s;
	int r = 0;

	if (!fs->has_upper)
		return -EROFS;
	pthread_mutex_lock(&n->lock);
	s = lfs_stack_locked(fs, n);
	if (!s)
		r = -ENOMEM;
	else if (lfs_top_layer(s) != 0)
		r = copy_up_lower(fs, n, s, data);
	else if (n->metacopy && data)
		r = copy_up_data(fs, n, s);
	pthread_mutex_unlock(&n->lock);
	lfs_stack_put(s);
	lfs_fdcache_trim(fs);
	return r;
}

int lfs_ensure_upper_dir(struct lfs_fs *fs, struct lfs_node *dir)
{
	return lfs_copy_up(fs, dir, false);
}
