// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * rename(2) through the union, with RENAME_NOREPLACE and RENAME_EXCHANGE,
 * and never EXDEV. Nothing is copied at rename time but the moved entry
 * itself:
 *  - a regular lower file becomes a metacopy (metadata in the upper,
 *    data still read from its origin);
 *  - a directory with lower content is made in the upper (just the dir)
 *    and gets user.layerfs.redirect="/ORIGIN", so its lower content is
 *    found at its origin wherever it moves (overlayfs' redirect_dir);
 *  - a directory with no lower content that lands where the lowers have
 *    the name is made opaque, so nothing below leaks into it.
 * The source name gets a whiteout when the lowers have it. Order: the
 * moved dir is marked first, then the whiteout is written, then the
 * rename happens, so each crash point leaves a consistent tree.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "lfs.h"

struct side {
	struct lfs_node *parent;
	const char *name;
	struct lfs_found f;
	bool exists;
	struct lfs_node *node; /* interned for the call: forget 1 at end */
	bool held;	       /* an lfs_node_hold to undo */
	int lower;	       /* the lowers have this name */
};

/* The marker file must not show as a change of the directory. */
static int make_opaque_keep_times(struct lfs_fs *fs, int fd)
{
	struct stat st;
	char p[32];
	int r;

	if (fstatat(fd, "", &st, AT_EMPTY_PATH) < 0)
		return -errno;
	r = cu_wh_make_opaque(fd, fs->wh_fmt);
	if (r == 0) {
		struct timespec ts[2] = { st.st_atim, st.st_mtim };

		if (utimensat(AT_FDCWD, cu_fd_path(fd, p, sizeof(p)), ts, 0) <
		    0)
			r = -errno;
	}
	return r;
}

/* Give a moved directory what it needs at its new place. */
static int prep_dir(struct lfs_fs *fs, struct lfs_node *n, int lower_at_dest)
{
	struct lfs_stack *s;
	char *v = NULL;
	int r = 0;

	if (n->type != S_IFDIR)
		return 0;
	s = lfs_stack_get(fs, n);
	pthread_mutex_lock(&n->lock);
	if (s->n > 1 && !n->redirected && n->opath) {
		if (asprintf(&v, "/%s", n->opath) < 0)
			r = -ENOMEM;
		else
			r = lfs_xattr_set_path(s->r[0].fd, LFS_XATTR_REDIRECT,
					       v, strlen(v), 0);
		free(v);
		if (r == 0)
			n->redirected = true;
	} else if (s->n == 1 && lower_at_dest) {
		r = cu_wh_dir_opaque(s->r[0].fd);
		if (r == 0)
			r = make_opaque_keep_times(fs, s->r[0].fd);
		else if (r > 0)
			r = 0;
	}
	pthread_mutex_unlock(&n->lock);
	lfs_stack_put(s);
	return r;
}

static int load_side(struct lfs_fs *fs, struct side *sd)
{
	struct stat st;
	int r = lfs_resolve(fs, sd->parent, sd->name, &sd->f);

	if (r == 0 &&
	    lfs_index_applies(fs, lfs_top_layer(sd->f.stack), &sd->f.st))
		r = lfs_index_name_up(fs, sd->parent, sd->name, &sd->f);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	sd->exists = true;
	st = sd->f.st;
	/* intern takes the found stack or frees it: keep only the stat */
	sd->node = lfs_node_intern(fs, sd->parent, sd->name, &sd->f);
	memset(&sd->f, 0, sizeof(sd->f));
	sd->f.st = st;
	return sd->node ? 0 : -ENOMEM;
}

static int check(struct lfs_fs *fs, struct side *a, struct side *b,
		 unsigned flags)
{
	if (!a->exists)
		return -ENOENT;
	if ((flags & RENAME_EXCHANGE) && !b->exists)
		return -ENOENT;
	if ((flags & RENAME_NOREPLACE) && b->exists)
		return -EEXIST;
	if (!b->exists || (flags & RENAME_EXCHANGE))
		return 0;
	if (S_ISDIR(a->f.st.st_mode) && !S_ISDIR(b->f.st.st_mode))
		return -ENOTDIR;
	if (!S_ISDIR(a->f.st.st_mode) && S_ISDIR(b->f.st.st_mode))
		return -EISDIR;
	if (S_ISDIR(b->f.st.st_mode)) {
		struct lfs_stack *s = lfs_stack_get(fs, b->node);
		int r = lfs_stack_empty(fs, s);

		lfs_stack_put(s);
		return r < 0 ? r : (r ? 0 : -ENOTEMPTY);
	}
	return 0;
}

static void move_node(struct lfs_fs *fs, struct lfs_node *n,
		      struct lfs_node *np, const char *name)
{
	char *nm = strdup(name);
	struct lfs_node *old;

	if (!nm)
		return; /* keeps the old name: a later copy-up fails cleanly */
	lfs_node_ref(fs, np);
	pthread_mutex_lock(&n->lock);
	old = n->parent;
	n->parent = np;
	free(n->name);
	n->name = nm;
	pthread_mutex_unlock(&n->lock);
	if (old)
		lfs_node_unref(fs, old);
}

static bool is_metacopy(struct lfs_node *n)
{
	bool m;

	pthread_mutex_lock(&n->lock);
	m = n->metacopy;
	pthread_mutex_unlock(&n->lock);
	return m;
}

/* Prepare both ends in the upper layer. */
static int prepare(struct lfs_fs *fs, struct side *a, struct side *b,
		   unsigned flags)
{
	int r = lfs_ensure_upper_dir(fs, a->parent);

	if (r == 0)
		r = lfs_ensure_upper_dir(fs, b->parent);
	if (r == 0)
		r = lfs_copy_up(fs, a->node, false);
	if (r == 0 && (flags & RENAME_EXCHANGE))
		r = lfs_copy_up(fs, b->node, false);
	if (r < 0)
		return r;
	a->lower = lfs_lower_has(fs, a->parent, a->name);
	b->lower = lfs_lower_has(fs, b->parent, b->name);
	if (a->lower < 0 || b->lower < 0)
		return a->lower < 0 ? a->lower : b->lower;
	r = prep_dir(fs, a->node, b->lower);
	if (r == 0 && (flags & RENAME_EXCHANGE))
		r = prep_dir(fs, b->node, a->lower);
	/* a metacopy file moving to another directory marks it first */
	if (r == 0 && is_metacopy(a->node))
		r = lfs_dir_mark_meta(fs, b->parent);
	if (r == 0 && (flags & RENAME_EXCHANGE) && is_metacopy(b->node))
		r = lfs_dir_mark_meta(fs, a->parent);
	return r;
}

/* The move itself, for the non-exchange case. */
static int move(struct lfs_fs *fs, struct side *a, struct side *b, int afd,
		int bfd)
{
	bool made_wh = false;
	int r = 0;

	if (b->exists && S_ISDIR(b->f.st.st_mode) &&
	    lfs_node_top_layer(b->node) == 0) {
		/* an empty-looking upper dir may still hold whiteouts */
		/* (a name too long for ".wh." goes without the interim one) */
		if (b->lower &&
		    strlen(b->name) + CU_WH_PREFIX_LEN <= NAME_MAX &&
		    (r = cu_wh_make(bfd, b->name, CU_WH_OCI)) == 0)
			made_wh = true;
		if (r == 0)
			r = lfs_remove_upper(fs, bfd, b->name, true);
	}
	/* no room for ".wh.NAME": overlayfs' whiteout, made by the rename */
	if (r == 0 && a->lower &&
	    (fs->wh_fmt == CU_WH_CHARDEV ||
	     strlen(a->name) + CU_WH_PREFIX_LEN > NAME_MAX)) {
		if (renameat2(afd, a->name, bfd, b->name, RENAME_WHITEOUT) < 0)
			r = -errno;
	} else if (r == 0) {
		if (a->lower)
			r = cu_wh_make(afd, a->name, CU_WH_OCI);
		if (r == 0 && renameat(afd, a->name, bfd, b->name) < 0)
			r = -errno;
	}
	if (r == 0 && made_wh)
		r = cu_wh_remove_oci(bfd, b->name);
	return r;
}

static int do_rename(struct lfs_fs *fs, struct side *a, struct side *b,
		     unsigned flags)
{
	struct lfs_stack *as, *bs;
	int r;

	r = load_side(fs, a);
	if (r == 0)
		r = load_side(fs, b);
	if (r == 0)
		r = check(fs, a, b, flags);
	if (r < 0 || (b->exists && a->node == b->node))
		return r; /* the same file under two names: nothing to do */
	/* their names change under them: keep their stacks open */
	lfs_node_hold(fs, a->node);
	a->held = true;
	if (b->exists) {
		lfs_node_hold(fs, b->node);
		b->held = true;
	}
	r = prepare(fs, a, b, flags);
	if (r < 0)
		return r;
	as = lfs_stack_get(fs, a->parent);
	bs = lfs_stack_get(fs, b->parent);
	if (flags & RENAME_EXCHANGE)
		r = renameat2(as->r[0].fd, a->name, bs->r[0].fd, b->name,
			      RENAME_EXCHANGE) < 0 ?
			    -errno :
			    0;
	else
		r = move(fs, a, b, as->r[0].fd, bs->r[0].fd);
	lfs_stack_put(bs);
	lfs_stack_put(as);
	if (r < 0)
		return r;
	if (b->exists && !(flags & RENAME_EXCHANGE)) {
		if (b->f.st.st_nlink <= 1 && lfs_node_top_layer(b->node) == 0)
			lfs_inomap_del(fs, b->f.st.st_ino);
		if (S_ISREG(b->f.st.st_mode) && b->f.st.st_nlink > 1) {
			bs = lfs_stack_get(fs, b->node);
			r = lfs_index_nlink_add(fs, bs->r[0].fd, -1);
			lfs_stack_put(bs);
		}
		lfs_node_detach(fs, b->node, b->parent, b->name);
	}
	move_node(fs, a->node, b->parent, b->name);
	if (flags & RENAME_EXCHANGE)
		move_node(fs, b->node, a->parent, a->name);
	return 0;
}

void lfs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		   fuse_ino_t newparent, const char *newname,
		   unsigned int flags)
{
	struct lfs_fs *fs = lfs_fs_of(req);
	struct side a = { .parent = lfs_node_get(fs, parent), .name = name };
	struct side b = { .parent = lfs_node_get(fs, newparent),
			  .name = newname };
	int r;

	if (!fs->has_upper)
		r = -EROFS;
	else if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE))
		r = -EINVAL;
	else if (cu_wh_name_reserved(name))
		r = -ENOENT;
	else if (cu_wh_name_reserved(newname))
		r = -EINVAL;
	else
		r = do_rename(fs, &a, &b, flags);
	if (a.held)
		lfs_node_unhold(fs, a.node);
	if (b.held)
		lfs_node_unhold(fs, b.node);
	if (a.node)
		lfs_node_forget(fs, a.node, 1);
	if (b.node)
		lfs_node_forget(fs, b.node, 1);
	lfs_found_clear(&a.f);
	lfs_found_clear(&b.f);
	fuse_reply_err(req, -r);
}
