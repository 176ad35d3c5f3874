// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Hardlinks of lower files, kept joined across copy-up (the kernel
 * overlayfs' index=on). A lower regular file with several names is one
 * node. Its first copy-up makes the upper copy in the work dir, links it
 * into WORKDIR/layerfs-index/DEV-INO (the lower's st_dev and st_ino) and
 * then into place; every other name is linked to that same inode when it
 * is next looked up, renamed or removed. So a write through one name shows
 * through all of them, before and after a remount.
 *
 * The union's link count lives in user.layerfs.nlink on the indexed inode:
 * the lower's count at copy-up, plus links made, minus names removed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fsutil.h"
#include "lfs.h"

bool lfs_index_applies(struct lfs_fs *fs, int layer, const struct stat *st)
{
	return fs->indexfd >= 0 && layer != 0 && S_ISREG(st->st_mode) &&
	       st->st_nlink > 1;
}

void lfs_index_name(const struct stat *lower, char *buf, size_t size)
{
	snprintf(buf, size, CU_INDEX_NAME_FMT, (uint64_t)lower->st_dev,
		 (uint64_t)lower->st_ino);
}

int lfs_index_nlink_get(int fd, nlink_t *ret)
{
	char p[32], v[24];
	ssize_t n = getxattr(cu_fd_path(fd, p, sizeof(p)), LFS_XATTR_NLINK, v,
			     sizeof(v) - 1);

	if (n < 0)
		return errno == ENODATA ? 0 : -errno;
	v[n] = '\0';
	*ret = strtoul(v, NULL, 10);
	return 1;
}

/* Add delta to the union link count of an indexed inode (any other inode
 * is left alone). */
int lfs_index_nlink_add(struct lfs_fs *fs, int fd, int delta)
{
	nlink_t cur = 0;
	char p[32], v[24];
	int r, n;

	pthread_mutex_lock(&fs->index_lock);
	r = lfs_index_nlink_get(fd, &cur);
	if (r > 0) {
		cur = (long)cur + delta < 0 ? 0 : cur + delta;
		n = snprintf(v, sizeof(v), "%lu", (unsigned long)cur);
		r = setxattr(cu_fd_path(fd, p, sizeof(p)), LFS_XATTR_NLINK, v,
			     n, 0) < 0 ?
			    -errno :
			    0;
	}
	pthread_mutex_unlock(&fs->index_lock);
	return r < 0 ? r : 0;
}

/* A node known by the lower inode must show the upper copy now, and be
 * found by it too: one inode, one node. */
static void join_node(struct lfs_fs *fs, int layer, const struct stat *lower,
		      struct lfs_found *f)
{
	struct lfs_node *n = lfs_node_find_key(fs, layer, lower->st_dev,
					       lower->st_ino);

	if (!n)
		return;
	pthread_mutex_lock(&n->lock);
	if (n->layer != 0) {
		__atomic_add_fetch(&f->stack->refs, 1, __ATOMIC_ACQ_REL);
		lfs_node_set_stack(fs, n, f->stack);
	}
	pthread_mutex_unlock(&n->lock);
	lfs_node_add_key(fs, n, 0, &f->st);
	lfs_node_unref(fs, n);
}

/* f resolved parent/name to a lower hardlink whose inode was copied up
 * under another name: link the name to the upper copy, and resolve again
 * so that f shows it. */
int lfs_index_fix_alias(struct lfs_fs *fs, struct lfs_node *parent,
			const char *name, struct lfs_found *f)
{
	struct lfs_stack *ps;
	struct stat pst, ist, lower;
	char key[64];
	int r, layer;

	if (!lfs_index_applies(fs, lfs_top_layer(f->stack), &f->st))
		return 0;
	lfs_index_name(&f->st, key, sizeof(key));
	if (fstatat(fs->indexfd, key, &ist, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	r = lfs_ensure_upper_dir(fs, parent);
	if (r < 0)
		return r;
	ps = lfs_stack_get(fs, parent);
	if (fstatat(ps->r[0].fd, "", &pst, AT_EMPTY_PATH) < 0)
		r = -errno;
	if (r == 0 && linkat(fs->indexfd, key, ps->r[0].fd, name, 0) < 0 &&
	    errno != EEXIST)
		r = -errno;
	if (r == 0) {
		/* not a change anyone made to the directory */
		struct timespec ts[2] = { pst.st_atim, pst.st_mtim };
		char p[32];

		utimensat(AT_FDCWD, cu_fd_path(ps->r[0].fd, p, sizeof(p)), ts,
			  0);
	}
	lfs_stack_put(ps);
	if (r < 0)
		return r;
	lower = f->st;
	layer = lfs_top_layer(f->stack);
	lfs_found_clear(f);
	r = lfs_resolve(fs, parent, name, f);
	if (r == 0)
		join_node(fs, layer, &lower, f);
	return r;
}

/* Removing or renaming one name of a hardlinked lower file: bring the file
 * into the index and this name into the upper first, as overlayfs does
 * with index=on, so the other names keep the right link count. */
int lfs_index_name_up(struct lfs_fs *fs, struct lfs_node *parent,
		      const char *name, struct lfs_found *f)
{
	struct lfs_found g = { .st = f->st, .stack = f->stack };
	struct lfs_node *n;
	int r;

	n = lfs_node_intern(fs, parent, name, &g);
	f->stack = NULL;
	if (!n)
		return -ENOMEM;
	r = lfs_copy_up(fs, n, true);
	lfs_node_forget(fs, n, 1);
	if (r < 0)
		return r;
	lfs_found_clear(f);
	r = lfs_resolve(fs, parent, name, f);
	if (r == 0)
		r = lfs_index_fix_alias(fs, parent, name, f);
	return r;
}
