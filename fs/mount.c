// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Setting up the union: open the layers, check the upper and work dirs,
 * build the root node, and the FUSE capabilities we ask the kernel for.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "lfs.h"
#include "override.h"
#include "log.h"

#define WORK_SUBDIR "layerfs-work"
#define INDEX_SUBDIR CU_WORK_INDEX

/* *ret_err = "<message>: <strerror(-r)>"; returns r. */
__attribute__((format(printf, 3, 4))) static int fail(char **ret_err, int r,
						      const char *fmt, ...)
{
	char *m = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&m, fmt, ap);
	va_end(ap);
	if (n >= 0 && asprintf(ret_err, "%s: %s", m, strerror(-r)) < 0)
		*ret_err = NULL;
	free(m);
	return r;
}

static int open_layer(struct lfs_fs *fs, int i, const char *path,
		      char **ret_err)
{
	struct lfs_layer *l = &fs->layers[i];
	struct stat st;

	/* lower dirs may be symlinks (containers/storage's l/ links) */
	l->fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (l->fd < 0)
		return fail(ret_err, -errno, "cannot open layer '%s'", path);
	if (fstat(l->fd, &st) < 0)
		return fail(ret_err, -errno, "cannot stat layer '%s'", path);
	l->path = strdup(path);
	l->dev = st.st_dev;
	l->override_xattr = cu_override_detect(l->fd);
	return l->path ? 0 : -ENOMEM;
}

/* A shared flock on a lower's root for the life of the mount: a layer
 * store (layerctl gc) sees the layer is in use and keeps it. gc holds its
 * exclusive lock only while it removes a layer, so wait for it a while
 * (10 s), then check the path still leads to the directory we opened: a
 * layer removed meanwhile fails the mount rather than showing an empty
 * tree. A layer that cannot be opened for reading or locked is mounted
 * without a lease. */
static int lease_layer(struct lfs_layer *l, char **ret_err)
{
	struct stat a, b;
	int tries = 0;

	l->leasefd = openat(l->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (l->leasefd < 0)
		return 0;
	while (flock(l->leasefd, LOCK_SH | LOCK_NB) < 0) {
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK || ++tries > 1000) {
			close(l->leasefd);
			l->leasefd = -1;
			return 0;
		}
		usleep(10000);
	}
	if (fstat(l->leasefd, &a) < 0 || stat(l->path, &b) < 0 ||
	    a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return fail(ret_err, -ENOENT,
			    "layer '%s' was removed while mounting", l->path);
	return 0;
}

static void count_devs(struct lfs_fs *fs)
{
	fs->ndevs = 0;
	for (int i = 0; i < fs->nlayers; i++) {
		int j;

		for (j = 0; j < i; j++)
			if (fs->layers[j].dev == fs->layers[i].dev)
				break;
		fs->layers[i].devidx = j < i ? fs->layers[j].devidx :
					       fs->ndevs++;
	}
}

/* Whether the directory fd is the directory dev:ino or inside it. */
static bool dir_within(int fd, dev_t dev, ino_t ino)
{
	_cleanup_close_ int cur = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	struct stat st, up;

	while (cur >= 0 && fstat(cur, &st) == 0) {
		int fd_up;

		if (st.st_dev == dev && st.st_ino == ino)
			return true;
		fd_up = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd_up < 0 || fstat(fd_up, &up) < 0 ||
		    (up.st_dev == st.st_dev && up.st_ino == st.st_ino)) {
			if (fd_up >= 0)
				close(fd_up);
			return false; /* "/" */
		}
		close(cur);
		cur = fd_up;
	}
	return false;
}

/* The kernel's rule: the work dir inside the upper layer would show our
 * temp objects through the mount, the upper inside the work dir would be
 * wiped by the cleanup below. */
static bool separate_subtrees(int upfd, int wd)
{
	struct stat u, w;

	if (fstat(upfd, &u) < 0 || fstat(wd, &w) < 0)
		return false;
	return !dir_within(wd, u.st_dev, u.st_ino) &&
	       !dir_within(upfd, w.st_dev, w.st_ino);
}

/* WORKDIR/layerfs-work holds temp objects; anything there is a leftover
 * of a crash and is removed. */
static int open_work(struct lfs_fs *fs, const char *workdir, char **ret_err)
{
	_cleanup_close_ int wd = open(workdir,
				      O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat wst;
	int r;

	if (wd < 0)
		return fail(ret_err, -errno, "cannot open workdir '%s'",
			    workdir);
	if (fstat(wd, &wst) < 0)
		return -errno;
	if (wst.st_dev != fs->layers[0].dev)
		return fail(
			ret_err, -EXDEV,
			"workdir '%s' must be on the upper layer's filesystem",
			workdir);
	if (!separate_subtrees(fs->layers[0].fd, wd))
		return fail(
			ret_err, -EINVAL,
			"workdir '%s' and upperdir must be separate subtrees",
			workdir);
	r = cu_rm_rf_at(wd, WORK_SUBDIR);
	if (r < 0)
		return fail(ret_err, r, "cannot clean workdir '%s'", workdir);
	if (mkdirat(wd, WORK_SUBDIR, 0700) < 0)
		return fail(ret_err, -errno, "cannot create work dir in '%s'",
			    workdir);
	fs->workfd = openat(wd, WORK_SUBDIR, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fs->workfd < 0)
		return -errno;
	/* the index outlives mounts: it joins hardlinks of lower files */
	if (mkdirat(wd, INDEX_SUBDIR, 0700) < 0 && errno != EEXIST)
		return fail(ret_err, -errno, "cannot create index dir in '%s'",
			    workdir);
	fs->indexfd = openat(wd, INDEX_SUBDIR,
			     O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fs->indexfd < 0 ? -errno : 0;
}

static void choose_override(struct lfs_fs *fs)
{
	struct lfs_layer *up = &fs->layers[0];

	fs->rootless = geteuid() != 0;
	if (fs->opts->xattr_permissions == 1)
		fs->upper_override = LFS_OVERRIDE_PRIV;
	else if (fs->opts->xattr_permissions == 2)
		fs->upper_override = LFS_OVERRIDE_USER;
	else if (up->override_xattr)
		fs->upper_override = up->override_xattr;
	else
		fs->upper_override = LFS_OVERRIDE_CONTAINERS;
	if (fs->opts->xattr_permissions || fs->rootless) {
		/* mark the upper root so later mounts read the overrides */
		struct stat st;

		if (!up->override_xattr && fstat(up->fd, &st) == 0)
			cu_override_set_at(up->fd, "", fs->upper_override,
					   st.st_uid, st.st_gid, st.st_mode,
					   NULL);
		up->override_xattr = fs->upper_override;
	}
}

static int make_root(struct lfs_fs *fs)
{
	struct lfs_found f = { 0 };
	int n = 0;

	f.stack = lfs_stack_new(fs->nlayers);
	if (!f.stack)
		return -ENOMEM;
	for (int i = 0; i < fs->nlayers; i++) {
		f.stack->r[n].layer = i;
		f.stack->r[n].fd = dup(fs->layers[i].fd);
		if (f.stack->r[n++].fd < 0 ||
		    cu_wh_dir_opaque(fs->layers[i].fd) > 0)
			break; /* an opaque layer root hides the rest */
	}
	f.stack->n = n;
	if (fstatat(f.stack->r[0].fd, "", &f.st, AT_EMPTY_PATH) < 0) {
		lfs_found_clear(&f);
		return -errno;
	}
	f.opath = strdup("");
	if (fs->has_upper) {
		char p[32];

		f.has_meta = getxattr(cu_fd_path(fs->layers[0].fd, p,
						 sizeof(p)),
				      LFS_XATTR_HASMETA, NULL, 0) >= 0;
	}
	fs->root = lfs_node_intern(fs, NULL, "", &f);
	return fs->root ? 0 : -ENOMEM;
}

int lfs_fs_init(struct lfs_fs *fs, struct lfs_opts *o, char **ret_err)
{
	int r, i = 0;

	memset(fs, 0, sizeof(*fs));
	fs->opts = o;
	fs->workfd = -1;
	fs->ctl_fd = fs->ctl_stop = fs->ctl_workdir = -1;
	fs->indexfd = -1;
	fs->files.next = fs->files.prev = &fs->files;
	fs->dirs.next = fs->dirs.prev = &fs->dirs;
	pthread_mutex_init(&fs->handles_lock, NULL);
	pthread_mutex_init(&fs->index_lock, NULL);
	fs->has_upper = o->upperdir != NULL;
	fs->nlayers = o->nlower + fs->has_upper;
	fs->layers = calloc(fs->nlayers, sizeof(*fs->layers));
	fs->wh_fmt = o->whiteout == LFS_WH_WRITE_CHARDEV ? CU_WH_CHARDEV :
							   CU_WH_OCI;
	fs->timeout = o->timeout >= 0 ? o->timeout : 1.0;
	fs->lower_timeout = fs->timeout > 3600 ? fs->timeout : 3600;
	if (!fs->layers)
		return -ENOMEM;
	for (int j = 0; j < fs->nlayers; j++)
		fs->layers[j].fd = fs->layers[j].leasefd = -1;
	if (fs->has_upper &&
	    (r = open_layer(fs, i++, o->upperdir, ret_err)) < 0)
		return r;
	for (size_t j = 0; j < o->nlower; j++) {
		if ((r = open_layer(fs, i, o->lowerdirs[j], ret_err)) < 0)
			return r;
		if ((r = lease_layer(&fs->layers[i++], ret_err)) < 0)
			return r;
	}
	count_devs(fs);
	if (fs->has_upper) {
		r = open_work(fs, o->workdir, ret_err);
		if (r < 0)
			return r;
		choose_override(fs);
	}
	lfs_fdcache_init(fs);
	r = lfs_table_init(fs);
	if (r == 0)
		r = make_root(fs);
	return r;
}

/* Handles whose release never came: the daemon stopped first. */
void lfs_handles_free(struct lfs_fs *fs)
{
	while (fs->files.next && fs->files.next != &fs->files) {
		struct lfs_fileh *h = (struct lfs_fileh *)fs->files.next;

		lfs_handle_unlink(fs, &h->link);
		close(h->fd);
		free(h);
	}
	while (fs->dirs.next && fs->dirs.next != &fs->dirs) {
		struct lfs_dirh *h = (struct lfs_dirh *)fs->dirs.next;

		lfs_handle_unlink(fs, &h->link);
		lfs_dirh_clear(h);
		pthread_mutex_destroy(&h->lock);
		free(h);
	}
}

void lfs_fs_destroy(struct lfs_fs *fs)
{
	lfs_handles_free(fs);
	if (fs->buckets) {
		struct lfs_node *root = fs->root;

		lfs_table_destroy(fs);
		if (root) {
			lfs_stack_put(root->stack);
			free(root->opath);
			free(root->name);
			free(root);
		}
	}
	for (int i = 0; fs->layers && i < fs->nlayers; i++) {
		if (fs->layers[i].fd >= 0)
			close(fs->layers[i].fd);
		if (fs->layers[i].leasefd >= 0)
			close(fs->layers[i].leasefd);
		free(fs->layers[i].path);
	}
	free(fs->layers);
	if (fs->workfd >= 0)
		close(fs->workfd);
	if (fs->indexfd >= 0)
		close(fs->indexfd);
	pthread_mutex_destroy(&fs->index_lock);
	pthread_mutex_destroy(&fs->lru_lock);
	pthread_mutex_destroy(&fs->handles_lock);
}
