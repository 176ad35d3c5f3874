// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Name resolution through a stack of layer directories: top to bottom, the
 * first layer that has the name wins, a whiteout stops the search, an
 * opaque directory hides what is below it, a directory merges with the
 * directories of the same name below it. The rules themselves live in
 * common/whiteout.c; this file applies them to stacks, follows redirects
 * of renamed directories and finds the data of metacopy files.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "lfs.h"

uint64_t lfs_compose_ino(struct lfs_fs *fs, int layer, ino_t ino)
{
	/* as overlayfs' xino: the real inode number when all layers share
	 * one st_dev, else the layer's device index in the high bits */
	if (fs->ndevs <= 1)
		return ino;
	return (uint64_t)ino ^ ((uint64_t)fs->layers[layer].devidx << 56);
}

char *lfs_child_opath(const char *parent_opath, const char *name)
{
	char *r;

	if (!parent_opath)
		return NULL;
	if (!*parent_opath)
		return strdup(name);
	if (asprintf(&r, "%s/%s", parent_opath, name) < 0)
		return NULL;
	return r;
}

/* Read a small xattr of an O_PATH fd into buf (NUL-terminated).
 * Returns its length, 0 when absent, or -errno. */
static ssize_t read_marker(int fd, const char *name, char *buf, size_t size)
{
	char p[32];
	ssize_t n = getxattr(cu_fd_path(fd, p, sizeof(p)), name, buf, size - 1);

	if (n < 0)
		return (errno == ENODATA || errno == ENOTSUP) ? 0 : -errno;
	buf[n] = '\0';
	return n;
}

static int push(struct lfs_stack *s, int layer, int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	s->r[s->n].layer = layer;
	s->r[s->n].fd = fd;
	s->n++;
	return 0;
}

/* Append the stack found at a lower path (redirect or metacopy origin). */
static int append_origin(struct lfs_fs *fs, struct lfs_found *ret,
			 const char *path, mode_t want)
{
	struct lfs_found o = { 0 };
	struct lfs_stack *s;
	int r;

	r = lfs_resolve_lower_path(fs, path, &o);
	if (r == -ENOENT)
		return 0; /* origin gone: nothing below */
	if (r < 0)
		return r;
	if ((o.st.st_mode & S_IFMT) != want) {
		lfs_found_clear(&o);
		return 0;
	}
	s = lfs_stack_new(1 + o.stack->n);
	if (!s) {
		lfs_found_clear(&o);
		return -ENOMEM;
	}
	s->r[0] = ret->stack->r[0];
	ret->stack->r[0].fd = -1;
	for (int i = 0; i < o.stack->n; i++) {
		s->r[1 + i] = o.stack->r[i];
		o.stack->r[i].fd = -1;
	}
	s->n = 1 + o.stack->n;
	lfs_stack_put(ret->stack);
	ret->stack = s;
	free(ret->opath);
	ret->opath = strdup(path + (path[0] == '/'));
	lfs_found_clear(&o);
	return ret->opath ? 0 : -ENOMEM;
}

/* The top object was found in the upper layer: follow its markers. A
 * file can only be a metacopy in a directory marked hasmeta, so most
 * lookups read no xattr at all. */
static int upper_markers(struct lfs_fs *fs, struct lfs_found *ret,
			 bool parent_has_meta, bool *stop)
{
	char buf[PATH_MAX];
	int top = ret->stack->r[0].fd;
	ssize_t n;

	*stop = false;
	if (S_ISDIR(ret->st.st_mode)) {
		n = read_marker(top, LFS_XATTR_HASMETA, buf, sizeof(buf));
		if (n < 0)
			return n;
		ret->has_meta = n > 0;
		n = read_marker(top, LFS_XATTR_REDIRECT, buf, sizeof(buf));
		if (n <= 0)
			return n;
		ret->redirected = true;
		*stop = true;
		return append_origin(fs, ret, buf, S_IFDIR);
	}
	*stop = true;
	if (!S_ISREG(ret->st.st_mode) || !parent_has_meta)
		return 0;
	n = read_marker(top, LFS_XATTR_METACOPY, buf, sizeof(buf));
	if (n <= 0)
		return n;
	ret->metacopy = true;
	return append_origin(fs, ret, buf, S_IFREG);
}

static int resolve_from(struct lfs_fs *fs, const struct lfs_stack *dir,
			int from, const char *name, const char *parent_opath,
			bool parent_has_meta, struct lfs_found *ret)
{
	struct lfs_stack *s = lfs_stack_new(dir->n);
	struct stat st;
	int r = 0;

	memset(ret, 0, sizeof(*ret));
	if (!s)
		return -ENOMEM;
	s->n = 0;
	ret->stack = s;
	for (int i = from; i < dir->n; i++) {
		int layer = dir->r[i].layer, dfd = dir->r[i].fd;
		bool stop;

		r = cu_wh_lookup(dfd, name, &st);
		if (r < 0)
			goto fail;
		if (r == CU_WH_HIDDEN)
			break;
		if (r == CU_WH_ABSENT)
			continue;
		if (s->n > 0 && !S_ISDIR(st.st_mode))
			break; /* a non-directory below a directory is hidden */
		r = push(s, layer, dfd, name);
		if (r < 0)
			goto fail;
		if (s->n == 1) {
			ret->st = st;
			if (!(ret->opath = lfs_child_opath(parent_opath,
							   name)) &&
			    parent_opath) {
				r = -ENOMEM;
				goto fail;
			}
			if (layer == 0 && fs->has_upper) {
				r = upper_markers(fs, ret, parent_has_meta,
						  &stop);
				if (r < 0)
					goto fail;
				if (stop)
					return 0;
			} else if (!S_ISDIR(st.st_mode)) {
				return 0;
			}
		}
		r = cu_wh_dir_hides_below(dfd, name, s->r[s->n - 1].fd);
		if (r < 0)
			goto fail;
		if (r)
			break;
	}
	if (s->n == 0) {
		lfs_found_clear(ret);
		return -ENOENT;
	}
	return 0;
fail:
	lfs_found_clear(ret);
	return r;
}

int lfs_resolve(struct lfs_fs *fs, struct lfs_node *parent, const char *name,
		struct lfs_found *ret)
{
	struct lfs_stack *s = lfs_stack_get(fs, parent);
	bool meta = __atomic_load_n(&parent->has_meta, __ATOMIC_ACQUIRE);
	int r = resolve_from(fs, s, 0, name, parent->opath, meta, ret);

	lfs_stack_put(s);
	return r;
}

/* Is NAME visible in the layers below the upper one, under this parent? */
int lfs_lower_has(struct lfs_fs *fs, struct lfs_node *parent, const char *name)
{
	struct lfs_stack *s = lfs_stack_get(fs, parent);
	struct lfs_found f;
	int from = 0, r;

	while (from < s->n && s->r[from].layer == 0 && fs->has_upper)
		from++;
	r = resolve_from(fs, s, from, name, NULL, false, &f);
	lfs_stack_put(s);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	lfs_found_clear(&f);
	return 1;
}

/* Resolve "/a/b/c" through the lower layers only (no upper). */
int lfs_resolve_lower_path(struct lfs_fs *fs, const char *path,
			   struct lfs_found *ret)
{
	_cleanup_free_ char *copy = strdup(path);
	struct lfs_stack *cur;
	char *save = NULL, *comp;
	int first = fs->has_upper ? 1 : 0;

	if (!copy)
		return -ENOMEM;
	cur = lfs_stack_new(fs->nlayers - first);
	if (!cur)
		return -ENOMEM;
	for (int i = first; i < fs->nlayers; i++) {
		cur->r[i - first].layer = i;
		cur->r[i - first].fd = dup(fs->layers[i].fd);
	}
	memset(ret, 0, sizeof(*ret));
	for (comp = strtok_r(copy, "/", &save); comp;
	     comp = strtok_r(NULL, "/", &save)) {
		struct lfs_found f;
		int r;

		if (!strcmp(comp, ".") || !strcmp(comp, "..")) {
			lfs_stack_put(cur);
			return -EINVAL;
		}
		r = resolve_from(fs, cur, 0, comp, NULL, false, &f);
		lfs_stack_put(cur);
		if (r < 0)
			return r;
		cur = f.stack;
		ret->st = f.st;
		f.stack = NULL;
		lfs_found_clear(&f);
		if (!S_ISDIR(ret->st.st_mode) &&
		    (comp = strtok_r(NULL, "/", &save))) {
			lfs_stack_put(cur);
			return -ENOTDIR;
		}
		if (!comp)
			break;
	}
	ret->stack = cur;
	return 0;
}
