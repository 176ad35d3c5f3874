// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The changes an upper layer makes to the image below it, read from the
 * directories themselves (changes.h).
 *
 * The walk goes down the upper layer; at each directory it knows the image
 * directories merged under it (the lower stack, top first, cut at the
 * first that hides what is below: the union's own rule, common/whiteout.c).
 * An upper entry is a change (A when the image has nothing of its name, C
 * when it replaces something); a whiteout is a deletion only when the
 * image has the name. Three of layerfs' forms need more than that:
 *  - an opaque directory hides the image's content: the tar says so with
 *    one marker; diff lists what it hides (H);
 *  - a renamed directory (user.layerfs.redirect="/ORIGIN") holds only what
 *    changed since the rename: its lower content is at ORIGIN. A tar
 *    applier has nothing at the new name, so its whole merged content is
 *    written out there ("full" mode), the old name being whited out by the
 *    whiteout the rename left;
 *  - a metacopy file (user.layerfs.metacopy="/ORIGIN") has its metadata in
 *    the upper and its data at ORIGIN in the lower layers;
 *  - a hardlinked lower file, once copied up, lives in the work dir's
 *    index (DEV-INO of the lower inode), and its other names join it only
 *    when next looked up: names still only in the lowers are found by
 *    their inode and written as links to the copy ("aliases").
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "changes.h"
#include "cleanup.h"
#include "fsutil.h"
#include "override.h"
#include "upperfmt.h"
#include "whiteout.h"

#define LINK_BUCKETS 4096

/* Directory fds of one name in several layers, top first. */
struct stk {
	int *fd;
	int *layer; /* index into walk.ovr */
	size_t n;
	bool owned; /* close the fds when freed */
};

struct link {
	dev_t dev;
	ino_t ino;
	struct link *next;
	char path[];
};

/* A lower name of a copied-up hardlinked file the upper does not have. */
struct alias {
	char *path;
	char index[64]; /* its upper copy, in the index dir */
};

struct walk {
	const struct ls_changes_src *src;
	struct alias *aliases; /* sorted by path */
	size_t naliases;
	int (*fn)(void *arg, const struct ls_change *c);
	void *arg;
	struct stk image;      /* the image's roots (not owned) */
	struct stk all;	       /* init, then the image's roots */
	const char **ovr;      /* per layer: its stat override xattr */
	const char *upper_ovr; /* the upper's */
	struct link **links;   /* (dev, ino) -> first path, hashed */
	char path[PATH_MAX];
	size_t plen;
};

/* One directory of the walk. */
struct level {
	int up;		/* upper dir, or -1 */
	struct stk lo;	/* image dirs merged below it */
	struct stk hid; /* image dirs its opacity hides (diff's H) */
	int init;	/* the init layer's dir here, or -1 */
	bool full;	/* inside a renamed dir: everything is written */
};

enum item_type {
	IT_ENTRY,    /* in the upper */
	IT_WHITEOUT, /* whited out in the upper */
	IT_LOWER,    /* only below, in a renamed dir */
	IT_HIDDEN,   /* only below, under an opaque dir */
	IT_PASS,     /* only below, leads to an alias */
	IT_ALIAS,    /* only below, a name of an indexed file */
};

struct item {
	enum item_type t;
	const char *index; /* IT_ALIAS: its upper copy in the index dir */
	char *name;	   /* the entry, or the name whited out */
	char *tarname;	   /* its name in a tar: name or .wh.name */
	struct stat st;
};

/* A stack that is not owned (a copy of the roots) is only forgotten. */
static void stk_free(struct stk *s)
{
	if (s->owned) {
		for (size_t i = 0; i < s->n; i++)
			close(s->fd[i]);
		free(s->fd);
		free(s->layer);
	}
	*s = (struct stk){ 0 };
}

static int stk_push(struct stk *s, int fd, int layer)
{
	int *f = realloc(s->fd, (s->n + 1) * sizeof(int));
	int *l;

	if (!f)
		return -ENOMEM;
	s->fd = f;
	l = realloc(s->layer, (s->n + 1) * sizeof(int));
	if (!l)
		return -ENOMEM;
	s->layer = l;
	s->fd[s->n] = fd;
	s->layer[s->n++] = layer;
	s->owned = true;
	return 0;
}

/* What NAME is in a stack: the top-most object (*ret_st, found in
 * from->fd[*ret_i]) and, when dirs is given and that object is a
 * directory, the directories of that name merged under it. 1 found, 0 not
 * (absent or whited out), -errno. */
static int stack_child(const struct stk *from, const char *name,
		       struct stat *ret_st, size_t *ret_i, struct stk *dirs)
{
	bool found = false;
	struct stat st;
	int r;

	for (size_t i = 0; i < from->n; i++) {
		r = cu_wh_lookup(from->fd[i], name, &st);
		if (r < 0)
			return r;
		if (r == CU_WH_ABSENT)
			continue;
		if (r == CU_WH_HIDDEN || (found && !S_ISDIR(st.st_mode)))
			break;
		if (!found) {
			found = true;
			*ret_st = st;
			*ret_i = i;
		}
		if (!dirs || !S_ISDIR(st.st_mode))
			break;
		int fd = openat(from->fd[i], name,
				O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					O_CLOEXEC);
		if (fd < 0)
			return -errno;
		if ((r = stk_push(dirs, fd, from->layer[i])) < 0) {
			close(fd);
			return r;
		}
		r = cu_wh_dir_hides_below(from->fd[i], name, fd);
		if (r != 0)
			return r < 0 ? r : 1;
	}
	return found;
}

/* Resolve "/A/B/C" through a stack as the union does: *ret_dirfd (a new
 * fd on the directory holding C in the layer that wins, *ret_layer) and,
 * with ret_dirs, the stack of C when it is a directory. 0, -ENOENT or
 * -errno. */
static int resolve(const struct stk *roots, const char *path, int *ret_dirfd,
		   struct stat *ret_st, int *ret_layer, struct stk *ret_dirs)
{
	_cleanup_free_ char *p = strdup(path);
	struct stk cur = *roots;
	char *save = NULL, *comp = p ? strtok_r(p, "/", &save) : NULL;
	int r = p ? -ENOENT : -ENOMEM;

	cur.owned = false;
	while (comp) {
		char *nextc = strtok_r(NULL, "/", &save);
		struct stk next = { 0 };
		size_t i = 0;

		r = stack_child(&cur, comp, ret_st, &i,
				nextc || ret_dirs ? &next : NULL);
		if (r == 1 && !nextc) {
			*ret_layer = cur.layer[i];
			*ret_dirfd = fcntl(cur.fd[i], F_DUPFD_CLOEXEC, 3);
			r = *ret_dirfd < 0 ? -errno : 0;
			if (r == 0 && ret_dirs) {
				*ret_dirs = next;
				next = (struct stk){ 0 };
			}
		} else if (r == 1) {
			r = S_ISDIR(ret_st->st_mode) ? 0 : -ENOENT;
		} else if (r == 0) {
			r = -ENOENT;
		}
		stk_free(&cur);
		if (r < 0 || !nextc) {
			stk_free(&next);
			return r;
		}
		cur = next;
		comp = nextc;
	}
	stk_free(&cur);
	return r;
}

/* --- paths and hardlinks ------------------------------------------------- */

static int path_push(struct walk *w, const char *name, size_t *saved)
{
	size_t n = strlen(name), need = w->plen + (w->plen ? 1 : 0) + n;

	if (need >= sizeof(w->path))
		return -ENAMETOOLONG;
	*saved = w->plen;
	if (w->plen)
		w->path[w->plen++] = '/';
	memcpy(w->path + w->plen, name, n + 1);
	w->plen += n;
	return 0;
}

static void path_pop(struct walk *w, size_t saved)
{
	w->plen = saved;
	w->path[saved] = '\0';
}

/* The first path of a file with several names, or NULL after noting the
 * current path as its first. */
static int link_of(struct walk *w, const struct stat *st, const char **ret)
{
	size_t h = (st->st_ino * 31 + st->st_dev) % LINK_BUCKETS;
	struct link *l;

	*ret = NULL;
	for (l = w->links[h]; l; l = l->next)
		if (l->dev == st->st_dev && l->ino == st->st_ino) {
			*ret = l->path;
			return 0;
		}
	l = malloc(sizeof(*l) + w->plen + 1);
	if (!l)
		return -ENOMEM;
	l->dev = st->st_dev;
	l->ino = st->st_ino;
	memcpy(l->path, w->path, w->plen + 1);
	l->next = w->links[h];
	w->links[h] = l;
	return 0;
}

static void links_free(struct walk *w)
{
	for (size_t i = 0; w->links && i < LINK_BUCKETS; i++)
		while (w->links[i]) {
			struct link *l = w->links[i];

			w->links[i] = l->next;
			free(l);
		}
	free(w->links);
}

/* A union marker xattr ("/PATH") on an object: 1 and *ret (malloc'd), 0
 * when absent. */
static int marker(int dirfd, const char *name, const char *attr, char **ret)
{
	char p[PATH_MAX + 32], v[PATH_MAX + 1];
	ssize_t n;

	snprintf(p, sizeof(p), "/proc/self/fd/%d/%s", dirfd, name);
	n = lgetxattr(p, attr, v, sizeof(v) - 1);
	if (n < 0)
		return errno == ENODATA || errno == ENOTSUP ? 0 : -errno;
	v[n] = '\0';
	if (v[0] != '/')
		return 0; /* not one we wrote */
	*ret = strdup(v);
	return *ret ? 1 : -ENOMEM;
}

/* --- one directory -------------------------------------------------------- */

static void items_free(struct item *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].tarname);
	}
	free(v);
}

static int item_add(struct item **v, size_t *n, size_t *cap, enum item_type t,
		    const char *name, const struct stat *st)
{
	struct item *it;

	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 32;
		struct item *nv = realloc(*v, c * sizeof(**v));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = c;
	}
	it = &(*v)[*n];
	*it = (struct item){ .t = t };
	if (st)
		it->st = *st;
	it->name = strdup(name);
	if (t == IT_WHITEOUT) {
		if (asprintf(&it->tarname, CU_WH_PREFIX "%s", name) < 0)
			it->tarname = NULL;
	} else {
		it->tarname = strdup(name);
	}
	if (!it->name || !it->tarname) {
		free(it->name);
		free(it->tarname);
		return -ENOMEM;
	}
	(*n)++;
	return 0;
}

/* The upper directory's entries and whiteouts. */
static int read_upper(int up, struct item **v, size_t *n, size_t *cap)
{
	DIR *d = cu_opendir_at(up, ".");
	struct dirent *de;
	int r = 0;

	if (!d)
		return -errno;
	while (r == 0 && (errno = 0, de = readdir(d))) {
		const char *target;
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		switch (cu_wh_classify(de->d_name, &target)) {
		case CU_WH_NAME_OPAQUE:
		case CU_WH_NAME_META:
			continue;
		case CU_WH_NAME_WHITEOUT:
			r = item_add(v, n, cap, IT_WHITEOUT, target, NULL);
			continue;
		case CU_WH_NAME_PLAIN:
			break;
		}
		if (fstatat(up, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = -errno;
			break;
		}
		if (cu_wh_is_chardev(&st))
			r = item_add(v, n, cap, IT_WHITEOUT, de->d_name, NULL);
		else if (!S_ISSOCK(st.st_mode)) /* a tar has no sockets */
			r = item_add(v, n, cap, IT_ENTRY, de->d_name, &st);
	}
	if (r == 0 && errno)
		r = -errno;
	closedir(d);
	return r;
}

/* Plain names in the directories of a stack, as type t (resolved later). */
static int read_lower(const struct stk *s, enum item_type t, struct item **v,
		      size_t *n, size_t *cap)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < s->n; i++) {
		DIR *d = cu_opendir_at(s->fd[i], ".");
		struct dirent *de;

		if (!d)
			return -errno;
		while (r == 0 && (errno = 0, de = readdir(d)))
			if (strcmp(de->d_name, ".") &&
			    strcmp(de->d_name, "..") &&
			    cu_wh_classify(de->d_name, NULL) ==
				    CU_WH_NAME_PLAIN)
				r = item_add(v, n, cap, t, de->d_name, NULL);
		if (r == 0 && errno)
			r = -errno;
		closedir(d);
	}
	return r;
}

static int cmp_name_type(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : (int)x->t - (int)y->t;
}

static int cmp_tarname(const void *a, const void *b)
{
	return strcmp(((const struct item *)a)->tarname,
		      ((const struct item *)b)->tarname);
}

/* Keep one item per name (an entry over a whiteout over what is below),
 * then order them as the tar lists them. */
static size_t items_settle(struct item *v, size_t n)
{
	size_t k = 0;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_name_type);
	for (size_t i = 0; i < n; i++) {
		if (k > 0 && !strcmp(v[k - 1].name, v[i].name)) {
			free(v[i].name);
			free(v[i].tarname);
			continue;
		}
		v[k++] = v[i];
	}
	qsort(v, k, sizeof(*v), cmp_tarname);
	return k;
}

/* --- aliases of indexed hardlinks ---------------------------------------- */

struct wanted {
	dev_t dev;
	ino_t ino;
	char index[64];
};

/* Indexed files whose union link count is more than their upper names. */
static int read_index(int index, struct wanted **ret, size_t *ret_n)
{
	DIR *d = cu_opendir_at(index, ".");
	struct dirent *de;
	size_t n = 0;
	int r = 0;

	if (!d)
		return -errno;
	while (r == 0 && (errno = 0, de = readdir(d))) {
		unsigned long long nl;
		uint64_t dev, ino;
		char p[PATH_MAX], v[24], end;
		struct stat st;
		ssize_t len;

		if (sscanf(de->d_name, CU_INDEX_NAME_SCAN "%c", &dev, &ino,
			   &end) != 2 ||
		    strlen(de->d_name) >= sizeof((*ret)->index) ||
		    fstatat(index, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		snprintf(p, sizeof(p), "/proc/self/fd/%d/%s", index,
			 de->d_name);
		len = lgetxattr(p, CU_XATTR_NLINK, v, sizeof(v) - 1);
		if (len <= 0)
			continue;
		v[len] = '\0';
		nl = strtoull(v, NULL, 10);
		if (nl <= st.st_nlink - 1) /* every name is in the upper */
			continue;
		struct wanted *nv = realloc(*ret, (n + 1) * sizeof(*nv));
		if (!nv) {
			r = -ENOMEM;
			break;
		}
		*ret = nv;
		nv[n] = (struct wanted){ .dev = dev, .ino = ino };
		snprintf(nv[n].index, sizeof(nv[n].index), "%s", de->d_name);
		n++;
	}
	if (r == 0 && errno)
		r = -errno;
	closedir(d);
	*ret_n = n;
	return r;
}

static int alias_add(struct walk *w, const char *path, const char *index)
{
	struct alias *v = realloc(w->aliases, (w->naliases + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	w->aliases = v;
	v[w->naliases].path = strdup(path);
	if (!v[w->naliases].path)
		return -ENOMEM;
	snprintf(v[w->naliases++].index, sizeof(v->index), "%s", index);
	return 0;
}

/* Is the lower name at path what the union shows there (no upper entry,
 * whiteout or opaque directory in the way)? */
static bool alias_visible(struct walk *w, const char *path,
			  const struct stat *want)
{
	struct stk all = { 0 };
	_cleanup_close_ int dfd = -1;
	struct stat st;
	int layer, r = stk_push(&all, w->src->upper, -1);

	for (size_t i = 0; r == 0 && i < w->image.n; i++)
		r = stk_push(&all, w->image.fd[i], w->image.layer[i]);
	all.owned = false;
	if (r == 0)
		r = resolve(&all, path, &dfd, &st, &layer, NULL);
	free(all.fd);
	free(all.layer);
	return r == 0 && layer >= 0 && st.st_dev == want->st_dev &&
	       st.st_ino == want->st_ino;
}

/* Walk one lower layer for names of the wanted inodes. */
static int scan(struct walk *w, int dirfd, const struct wanted *v, size_t n,
		char *path, size_t plen)
{
	DIR *d = cu_opendir_at(dirfd, ".");
	struct dirent *de;
	int r = 0;

	if (!d)
		return -errno;
	while (r == 0 && (errno = 0, de = readdir(d))) {
		size_t len = strlen(de->d_name);
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    plen + len + 2 >= PATH_MAX ||
		    fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		sprintf(path + plen, "%s%s", plen ? "/" : "", de->d_name);
		if (S_ISDIR(st.st_mode)) {
			_cleanup_close_ int fd = openat(dirfd, de->d_name,
							O_RDONLY | O_DIRECTORY |
								O_NOFOLLOW |
								O_CLOEXEC);

			r = fd < 0 ? -errno :
				     scan(w, fd, v, n, path,
					  plen + len + (plen ? 1 : 0));
		} else if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
			for (size_t i = 0; i < n; i++)
				if (v[i].dev == st.st_dev &&
				    v[i].ino == st.st_ino &&
				    alias_visible(w, path, &st))
					r = alias_add(w, path, v[i].index);
		}
		path[plen] = '\0';
	}
	if (r == 0 && errno)
		r = -errno;
	closedir(d);
	return r;
}

static int cmp_alias(const void *a, const void *b)
{
	return strcmp(((const struct alias *)a)->path,
		      ((const struct alias *)b)->path);
}

static int find_aliases(struct walk *w)
{
	_cleanup_free_ struct wanted *v = NULL;
	char path[PATH_MAX] = "";
	size_t n = 0;
	int r;

	if (w->src->index < 0)
		return 0;
	r = read_index(w->src->index, &v, &n);
	for (size_t i = 0; r == 0 && n && i < w->image.n; i++)
		r = scan(w, w->image.fd[i], v, n, path, 0);
	if (r == 0 && w->naliases)
		qsort(w->aliases, w->naliases, sizeof(*w->aliases), cmp_alias);
	return r;
}

/* Items for the aliases below the current directory. */
static int alias_items(struct walk *w, struct item **v, size_t *n, size_t *cap)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < w->naliases; i++) {
		const char *rest = w->aliases[i].path, *slash;
		_cleanup_free_ char *name = NULL;

		if (w->plen) {
			if (strncmp(rest, w->path, w->plen) ||
			    rest[w->plen] != '/')
				continue;
			rest += w->plen + 1;
		}
		slash = strchr(rest, '/');
		name = slash ? strndup(rest, slash - rest) : strdup(rest);
		if (!name)
			return -ENOMEM;
		r = item_add(v, n, cap, slash ? IT_PASS : IT_ALIAS, name, NULL);
		if (r == 0 && !slash)
			(*v)[*n - 1].index = w->aliases[i].index;
	}
	return r;
}

/* --- emitting ------------------------------------------------------------- */

static int walk_dir(struct walk *w, struct level *lv);

static int emit(struct walk *w, enum ls_change_kind kind, const struct stat *st,
		int dirfd, const char *name, int datafd)
{
	struct ls_change c = { .kind = kind,
			       .path = w->path,
			       .dirfd = dirfd,
			       .name = name,
			       .datafd = datafd };
	int r;

	if (st)
		c.st = *st;
	if (st && S_ISREG(st->st_mode) && st->st_nlink > 1) {
		r = link_of(w, st, &c.hardlink);
		if (r < 0)
			return r;
	}
	return w->fn(w->arg, &c);
}

/* Open the data of a regular file: its own, or a metacopy's origin. */
static int open_data(struct walk *w, int dirfd, const char *name, bool upper)
{
	_cleanup_free_ char *origin = NULL;
	_cleanup_close_ int odir = -1;
	struct stat st;
	int layer,
		r = upper ? marker(dirfd, name, CU_XATTR_METACOPY, &origin) : 0;

	if (r < 0)
		return r;
	if (r == 0) {
		r = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		return r < 0 ? -errno : r;
	}
	r = resolve(&w->all, origin, &odir, &st, &layer, NULL);
	if (r < 0)
		return r == -ENOENT ? -EIO : r; /* the data is gone */
	r = openat(odir, strrchr(origin, '/') + 1,
		   O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	return r < 0 ? -errno : r;
}

/* A non-directory entry: upper (up is its dir) or lower. */
static int do_file(struct walk *w, enum ls_change_kind kind,
		   const struct stat *st, int dirfd, const char *name,
		   bool upper)
{
	_cleanup_close_ int data = -1;

	if (S_ISREG(st->st_mode)) {
		data = open_data(w, dirfd, name, upper);
		if (data < 0)
			return data;
	}
	return emit(w, kind, st, dirfd, name, data);
}

/* An upper directory: its own kind of merge below (plain, opaque or
 * renamed), then what it holds. dirs: the image's directories of its name
 * (taken over). */
static int do_upper_dir(struct walk *w, struct level *lv, const char *name,
			const struct stat *st, enum ls_change_kind kind,
			bool replaces_dir, struct stk *dirs)
{
	struct level child = { .up = -1, .init = -1, .full = lv->full };
	_cleanup_free_ char *origin = NULL;
	int r, renamed, opaque = 0, layer, odir = -1;
	struct stat ost;

	child.up = openat(lv->up, name,
			  O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (child.up < 0)
		return -errno;
	r = renamed = marker(lv->up, name, CU_XATTR_REDIRECT, &origin);
	if (r >= 0)
		r = opaque = cu_wh_dir_hides_below(lv->up, name, child.up);
	if (r >= 0 && renamed) { /* its lower content is at origin */
		child.full = true;
		r = resolve(&w->image, origin, &odir, &ost, &layer, &child.lo);
		if (odir >= 0)
			close(odir);
		r = r == -ENOENT ? 0 : r;
	} else if (r >= 0 && opaque && !lv->full) {
		child.hid = *dirs;
		*dirs = (struct stk){ 0 };
	} else if (r >= 0 && !opaque) {
		child.lo = *dirs;
		*dirs = (struct stk){ 0 };
	}
	if (r >= 0 && lv->init >= 0 && !child.full)
		child.init = openat(lv->init, name,
				    O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					    O_CLOEXEC);
	if (r >= 0)
		r = emit(w, kind, st, lv->up, name, -1);
	if (r >= 0 && (renamed || opaque) && replaces_dir)
		r = emit(w, LS_CH_OPAQUE, NULL, -1, NULL, -1);
	if (r >= 0)
		r = walk_dir(w, &child);
	stk_free(dirs);
	stk_free(&child.lo);
	stk_free(&child.hid);
	if (child.init >= 0)
		close(child.init);
	close(child.up);
	return r < 0 ? r : 0;
}

/* Does the init layer own this name (a file the runtime writes)? */
static bool init_owns(const struct level *lv, const char *name)
{
	struct stat st;

	return lv->init >= 0 &&
	       fstatat(lv->init, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       !S_ISDIR(st.st_mode);
}

static int do_entry(struct walk *w, struct level *lv, struct item *it)
{
	struct stk dirs = { 0 };
	struct stat below;
	size_t i;
	bool dir = S_ISDIR(it->st.st_mode);
	int r;

	if (init_owns(lv, it->name))
		return 0;
	cu_override_apply_at(lv->up, it->name, w->upper_ovr, &it->st);
	r = stack_child(&lv->lo, it->name, &below, &i, dir ? &dirs : NULL);
	if (r < 0)
		return r;
	enum ls_change_kind kind = r && !lv->full ? LS_CH_CHANGE : LS_CH_ADD;
	if (dir)
		return do_upper_dir(w, lv, it->name, &it->st, kind,
				    r && S_ISDIR(below.st_mode) && !lv->full,
				    &dirs);
	return do_file(w, kind, &it->st, lv->up, it->name, true);
}

/* A name only the image's layers have, in a renamed directory. */
static int do_lower(struct walk *w, struct level *lv, struct item *it)
{
	struct level child = { .up = -1, .init = -1, .full = true };
	struct stat st;
	size_t i;
	int r = stack_child(&lv->lo, it->name, &st, &i, &child.lo);

	if (r <= 0)
		return r;
	cu_override_apply_at(lv->lo.fd[i], it->name, w->ovr[lv->lo.layer[i]],
			     &st);
	if (!S_ISDIR(st.st_mode)) {
		stk_free(&child.lo);
		if (S_ISSOCK(st.st_mode))
			return 0;
		return do_file(w, LS_CH_ADD, &st, lv->lo.fd[i], it->name,
			       false);
	}
	r = emit(w, LS_CH_ADD, &st, lv->lo.fd[i], it->name, -1);
	if (r >= 0)
		r = walk_dir(w, &child);
	stk_free(&child.lo);
	return r;
}

/* A whiteout: a deletion if the image has the name (H under an opaque
 * directory, where the marker already carries it). */
static int do_whiteout(struct walk *w, struct level *lv, struct item *it)
{
	struct stat st;
	size_t i;
	int r;

	if (lv->full || init_owns(lv, it->name))
		return 0;
	r = stack_child(&lv->lo, it->name, &st, &i, NULL);
	if (r != 0)
		return r < 0 ? r : emit(w, LS_CH_DELETE, NULL, -1, NULL, -1);
	r = stack_child(&lv->hid, it->name, &st, &i, NULL);
	if (r != 0)
		return r < 0 ? r : emit(w, LS_CH_HIDDEN, NULL, -1, NULL, -1);
	return 0;
}

static int do_hidden(struct walk *w, struct level *lv, struct item *it)
{
	struct stat st;
	size_t i;
	int r;

	if (init_owns(lv, it->name))
		return 0;
	r = stack_child(&lv->hid, it->name, &st, &i, NULL);
	if (r != 0)
		return r < 0 ? r : emit(w, LS_CH_HIDDEN, NULL, -1, NULL, -1);
	return 0;
}

/* A lower directory on the way to an alias. */
static int do_pass(struct walk *w, struct level *lv, struct item *it)
{
	struct level child = { .up = -1, .init = -1 };
	struct stat st;
	size_t i;
	int r = stack_child(&lv->lo, it->name, &st, &i, &child.lo);

	if (r > 0 && S_ISDIR(st.st_mode)) {
		cu_override_apply_at(lv->lo.fd[i], it->name,
				     w->ovr[lv->lo.layer[i]], &st);
		r = emit(w, LS_CH_CHANGE, &st, lv->lo.fd[i], it->name, -1);
		if (r >= 0)
			r = walk_dir(w, &child);
	}
	stk_free(&child.lo);
	return r < 0 ? r : 0;
}

/* A name of a copied-up hardlinked file that only the lowers have yet. */
static int do_alias(struct walk *w, struct item *it)
{
	_cleanup_close_ int data = -1;
	struct stat st;

	if (fstatat(w->src->index, it->index, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	cu_override_apply_at(w->src->index, it->index, w->upper_ovr, &st);
	data = openat(w->src->index, it->index,
		      O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (data < 0)
		return -errno;
	return emit(w, LS_CH_CHANGE, &st, w->src->index, it->index, data);
}

static int walk_item(struct walk *w, struct level *lv, struct item *it)
{
	size_t saved;
	int r = path_push(w, it->name, &saved);

	if (r < 0)
		return r;
	switch (it->t) {
	case IT_ENTRY:
		r = do_entry(w, lv, it);
		break;
	case IT_WHITEOUT:
		r = do_whiteout(w, lv, it);
		break;
	case IT_LOWER:
		r = do_lower(w, lv, it);
		break;
	case IT_HIDDEN:
		r = do_hidden(w, lv, it);
		break;
	case IT_PASS:
		r = do_pass(w, lv, it);
		break;
	case IT_ALIAS:
		r = do_alias(w, it);
		break;
	}
	path_pop(w, saved);
	return r;
}

static int walk_dir(struct walk *w, struct level *lv)
{
	struct item *v = NULL;
	size_t n = 0, cap = 0;
	int r = 0;

	if (lv->up >= 0)
		r = read_upper(lv->up, &v, &n, &cap);
	if (r == 0 && lv->full)
		r = read_lower(&lv->lo, IT_LOWER, &v, &n, &cap);
	if (r == 0 && lv->hid.n)
		r = read_lower(&lv->hid, IT_HIDDEN, &v, &n, &cap);
	if (r == 0 && w->naliases && !lv->full)
		r = alias_items(w, &v, &n, &cap);
	if (r == 0)
		n = items_settle(v, n);
	for (size_t i = 0; r == 0 && i < n; i++)
		r = walk_item(w, lv, &v[i]);
	items_free(v, n);
	return r;
}

int ls_changes_walk(const struct ls_changes_src *src,
		    int (*fn)(void *arg, const struct ls_change *c), void *arg)
{
	struct walk w = { .src = src, .fn = fn, .arg = arg };
	struct level top = { .up = src->upper, .init = src->init };
	int r = -ENOMEM;

	w.links = calloc(LINK_BUCKETS, sizeof(*w.links));
	w.ovr = calloc(src->nlowers + 1, sizeof(*w.ovr));
	if (!w.links || !w.ovr)
		goto out;
	w.upper_ovr = cu_override_detect(src->upper);
	for (size_t i = 0; i < src->nlowers; i++) {
		w.ovr[i] = cu_override_detect(src->lowers[i]);
		if (stk_push(&w.image, src->lowers[i], i) < 0)
			goto out;
	}
	if (src->init >= 0) {
		w.ovr[src->nlowers] = cu_override_detect(src->init);
		if (stk_push(&w.all, src->init, src->nlowers) < 0)
			goto out;
	}
	for (size_t i = 0; i < src->nlowers; i++)
		if (stk_push(&w.all, src->lowers[i], i) < 0)
			goto out;
	w.image.owned = w.all.owned = false; /* the caller's fds */
	top.lo = w.image;
	r = find_aliases(&w);
	if (r == 0)
		r = walk_dir(&w, &top);
out:
	for (size_t i = 0; i < w.naliases; i++)
		free(w.aliases[i].path);
	free(w.aliases);
	free(w.image.fd);
	free(w.image.layer);
	free(w.all.fd);
	free(w.all.layer);
	free(w.ovr);
	links_free(&w);
	return r;
}
