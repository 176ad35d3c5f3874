// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Directory listings: the merge of a directory's stack, top layer first.
 * A name already seen above hides the same name below; a whiteout in a
 * layer hides its name in the layers below (not in its own layer); marker
 * files never show. One pass over each layer, a hash set of names: linear
 * in the number of entries. The listing is a snapshot taken when a reader
 * starts at offset 0, as overlayfs caches it per open directory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "lfs.h"

struct nameset {
	char **slot;
	size_t cap, n;
};

static uint64_t name_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

static int nameset_grow(struct nameset *s)
{
	size_t cap = s->cap ? s->cap * 2 : 256;
	char **slot = calloc(cap, sizeof(*slot));

	if (!slot)
		return -ENOMEM;
	for (size_t i = 0; i < s->cap; i++) {
		size_t j;

		if (!s->slot[i])
			continue;
		for (j = name_hash(s->slot[i]) & (cap - 1); slot[j];
		     j = (j + 1) & (cap - 1))
			;
		slot[j] = s->slot[i];
	}
	free(s->slot);
	s->slot = slot;
	s->cap = cap;
	return 0;
}

/* 1 when added, 0 when already there, -ENOMEM. */
static int nameset_add(struct nameset *s, const char *name)
{
	size_t i;

	if ((s->n + 1) * 2 > s->cap && nameset_grow(s) < 0)
		return -ENOMEM;
	for (i = name_hash(name) & (s->cap - 1); s->slot[i];
	     i = (i + 1) & (s->cap - 1))
		if (!strcmp(s->slot[i], name))
			return 0;
	if (!(s->slot[i] = strdup(name)))
		return -ENOMEM;
	s->n++;
	return 1;
}

static bool nameset_has(const struct nameset *s, const char *name)
{
	if (!s->cap)
		return false;
	for (size_t i = name_hash(name) & (s->cap - 1); s->slot[i];
	     i = (i + 1) & (s->cap - 1))
		if (!strcmp(s->slot[i], name))
			return true;
	return false;
}

static void nameset_free(struct nameset *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->slot[i]);
	free(s->slot);
}

void lfs_dirh_clear(struct lfs_dirh *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->ents[i].name);
	free(h->ents);
	h->ents = NULL;
	h->n = h->cap = 0;
	h->loaded = false;
}

static int dirh_push(struct lfs_dirh *h, const char *name, int layer,
		     ino_t real_ino, uint64_t ino, unsigned char type)
{
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		struct lfs_dirent *e = realloc(h->ents, cap * sizeof(*e));

		if (!e)
			return -ENOMEM;
		h->ents = e;
		h->cap = cap;
	}
	if (!(h->ents[h->n].name = strdup(name)))
		return -ENOMEM;
	h->ents[h->n].ino = ino;
	h->ents[h->n].real_ino = real_ino;
	h->ents[h->n].layer = layer;
	h->ents[h->n].type = type;
	h->n++;
	return 0;
}

struct wh_list {
	char **v;
	size_t n, cap;
};

static int wh_push(struct wh_list *w, const char *name)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 16;
		char **v = realloc(w->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		w->v = v;
		w->cap = cap;
	}
	return (w->v[w->n++] = strdup(name)) ? 0 : -ENOMEM;
}

/* Is this entry an overlayfs char 0/0 whiteout? */
static bool chardev_whiteout(int dfd, const struct dirent *de)
{
	struct stat st;

	if (de->d_type != DT_CHR && de->d_type != DT_UNKNOWN)
		return false;
	return fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       cu_wh_is_chardev(&st);
}

/*
 * One layer of a directory: fn sees every entry that may show (not ".",
 * "..", markers or whiteouts); fn returns < 0 to fail, > 0 to stop, 0 to
 * go on. The layer's whiteouts are added to hide afterwards: they speak
 * for the layers below, not for their own.
 */
typedef int (*scan_fn)(void *arg, const struct lfs_real *real,
		       const struct dirent *de);

static int scan_layer(const struct lfs_real *real, struct nameset *hide,
		      scan_fn fn, void *arg)
{
	struct wh_list wh = { 0 };
	struct dirent *de;
	const char *target;
	int r = 0, fd;

	fd = openat(real->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while (r == 0 && (errno = 0, de = readdir(d))) {
		enum cu_wh_name k = cu_wh_classify(de->d_name, &target);

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (k == CU_WH_NAME_WHITEOUT)
			r = wh_push(&wh, target);
		else if (k != CU_WH_NAME_PLAIN)
			continue;
		else if (chardev_whiteout(fd, de))
			r = wh_push(&wh, de->d_name);
		else
			r = fn(arg, real, de);
	}
	if (r == 0 && errno)
		r = -errno;
	for (size_t i = 0; i < wh.n; i++) {
		if (r >= 0 && nameset_add(hide, wh.v[i]) < 0)
			r = -ENOMEM;
		free(wh.v[i]);
	}
	free(wh.v);
	return r;
}

struct list_arg {
	struct lfs_fs *fs;
	struct nameset *seen;
	struct lfs_dirh *h;
};

/* A name not seen above joins the listing. */
static int list_entry(void *arg, const struct lfs_real *real,
		      const struct dirent *de)
{
	struct list_arg *a = arg;
	int r = nameset_add(a->seen, de->d_name);

	if (r <= 0)
		return r;
	return dirh_push(a->h, de->d_name, real->layer, de->d_ino,
			 lfs_table_ino_of(a->fs, real->layer, de->d_ino),
			 de->d_type);
}

/* A name not hidden from above makes the directory non-empty: stop. */
static int visible_entry(void *arg, const struct lfs_real *real,
			 const struct dirent *de)
{
	return !nameset_has(arg, de->d_name);
}

/* 1 when the merged directory shows no entry, 0 when it does, -errno. */
int lfs_stack_empty(struct lfs_fs *fs, const struct lfs_stack *s)
{
	struct nameset hidden = { 0 };
	int r = 0;

	for (int i = 0; r == 0 && i < s->n; i++)
		r = scan_layer(&s->r[i], &hidden, visible_entry, &hidden);
	nameset_free(&hidden);
	return r < 0 ? r : !r;
}

int lfs_dir_list(struct lfs_fs *fs, struct lfs_node *dir, struct lfs_dirh *h)
{
	struct lfs_stack *s = lfs_stack_get(fs, dir);
	struct nameset seen = { 0 };
	struct lfs_node *parent;
	int r;

	lfs_dirh_clear(h);
	pthread_mutex_lock(&dir->lock);
	parent = dir->parent ? dir->parent : dir;
	pthread_mutex_unlock(&dir->lock);
	r = dirh_push(h, ".", -1, 0, dir->ino, DT_DIR);
	if (r == 0)
		r = dirh_push(h, "..", -1, 0, parent->ino, DT_DIR);
	for (int i = 0; r == 0 && i < s->n; i++)
		r = scan_layer(&s->r[i], &seen, list_entry,
			       &(struct list_arg){ fs, &seen, h });
	nameset_free(&seen);
	lfs_stack_put(s);
	h->loaded = r == 0;
	return r;
}

static struct lfs_dirh *dirh_of(struct fuse_file_info *fi)
{
	return (struct lfs_dirh *)(uintptr_t)fi->fh;
}

void lfs_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct lfs_dirh *h = calloc(1, sizeof(*h));

	if (!h) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_mutex_init(&h->lock, NULL);
	lfs_handle_link(lfs_fs_of(req), &lfs_fs_of(req)->dirs, &h->link);
	fi->fh = (uintptr_t)h;
	fi->cache_readdir = 0;
	fuse_reply_open(req, fi);
}

/* The entry for readdirplus: a node we know already needs no lookup. */
static void plus_entry(struct lfs_fs *fs, struct lfs_node *dir,
		       const struct lfs_dirent *e, struct fuse_entry_param *ep)
{
	struct lfs_node *n = lfs_node_lookup_key(fs, e->layer, e->real_ino);
	struct stat st;

	if (!n) {
		lfs_lookup_entry(fs, dir, e->name, ep);
		return;
	}
	if (lfs_getattr_node(fs, n, &st) < 0) {
		lfs_node_forget(fs, n, 1);
		return; /* ep->ino stays 0: the kernel looks it up itself */
	}
	lfs_fill_entry(fs, n, &st, ep);
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi, bool plus)
{
	struct lfs_fs *fs = lfs_fs_of(req);
	struct lfs_node *dir = lfs_node_get(fs, ino);
	struct lfs_dirh *h = dirh_of(fi);
	_cleanup_free_ char *buf = malloc(size);
	size_t used = 0;
	int r = 0;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_mutex_lock(&h->lock);
	if (off == 0 || !h->loaded)
		r = lfs_dir_list(fs, dir, h);
	for (size_t i = off; r == 0 && i < h->n; i++) {
		struct lfs_dirent *e = &h->ents[i];
		struct fuse_entry_param ep;
		struct stat st = { .st_ino = e->ino, .st_mode = e->type << 12 };
		size_t need;

		if (!plus) {
			need = fuse_add_direntry(req, buf + used, size - used,
						 e->name, &st, i + 1);
		} else {
			need = fuse_add_direntry_plus(req, NULL, 0, e->name,
						      NULL, 0);
			if (need > size - used)
				break;
			memset(&ep, 0, sizeof(ep));
			ep.attr = st;
			if (i >= 2)
				plus_entry(fs, dir, e, &ep);
			need = fuse_add_direntry_plus(req, buf + used,
						      size - used, e->name, &ep,
						      i + 1);
		}
		if (need > size - used)
			break;
		used += need;
	}
	pthread_mutex_unlock(&h->lock);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_buf(req, buf, used);
}

void lfs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, false);
}

void lfs_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, true);
}

void lfs_op_releasedir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct lfs_dirh *h = dirh_of(fi);

	lfs_handle_unlink(lfs_fs_of(req), &h->link);
	lfs_dirh_clear(h);
	pthread_mutex_destroy(&h->lock);
	free(h);
	fuse_reply_err(req, 0);
}

void lfs_op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	struct lfs_fs *fs = lfs_fs_of(req);
	struct lfs_node *n = lfs_node_get(fs, ino);
	struct lfs_stack *s = lfs_stack_get(fs, n);
	int r = 0;

	if (fs->has_upper && s->r[0].layer == 0 && fs->opts->fsync &&
	    !fs->opts->volatile_mode) {
		int fd = openat(s->r[0].fd, ".",
				O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		r = fd < 0 ? -errno : (fsync(fd) < 0 ? -errno : 0);
		if (fd >= 0)
			close(fd);
	}
	lfs_stack_put(s);
	fuse_reply_err(req, -r);
}
