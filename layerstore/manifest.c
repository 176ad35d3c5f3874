// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Tree manifests: one line per entry of an unpacked layer, recorded when
 * the layer is unpacked (layers/HEX/manifest) and recomputed by fsck.
 *
 *	PATH TYPE MODE UID:GID SIZE HASH XATTRS
 *
 * PATH is relative ("." for the root) with bytes outside '!'..'~' and '%'
 * written as %XX; TYPE one of f d l c b p s; MODE octal permission bits;
 * HASH the XXH3-64 of the content (files), the target (symlinks), the
 * device number (nodes), else "-"; XATTRS the XXH3-64 of the sorted
 * name=value list, or "-". Lines are sorted bytewise. XXH3 detects damage
 * here; it is never a digest anyone else verifies.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <xxhash.h>

#include "cleanup.h"
#include "fsutil.h"
#include "store-private.h"

struct lines {
	char **v;
	size_t n, cap;
};

static int lines_add(struct lines *l, char *line)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		char **v = realloc(l->v, cap * sizeof(*v));

		if (!v) {
			free(line);
			return -ENOMEM;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = line;
	return 0;
}

static void lines_free(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	*l = (struct lines){ 0 };
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* PATH escaped as the header comment says, in a malloc'd string. */
static char *escape(const char *p)
{
	char *r = malloc(strlen(p) * 3 + 1), *o = r;

	if (!r)
		return NULL;
	for (const unsigned char *c = (const unsigned char *)p; *c; c++) {
		if (*c < '!' || *c > '~' || *c == '%')
			o += sprintf(o, "%%%02X", *c);
		else
			*o++ = *c;
	}
	*o = '\0';
	return r;
}

static int hash_fd(int fd, uint64_t *ret)
{
	XXH3_state_t *st = XXH3_createState();
	char buf[1 << 16];
	ssize_t n;

	if (!st)
		return -ENOMEM;
	XXH3_64bits_reset(st);
	while ((n = cu_read_all(fd, buf, sizeof(buf))) > 0)
		XXH3_64bits_update(st, buf, n);
	*ret = XXH3_64bits_digest(st);
	XXH3_freeState(st);
	return n < 0 ? (int)n : 0;
}

/* XXH3 of "name=value\0" for each xattr, names sorted; 0 when none. */
static int hash_xattrs(const char *path, uint64_t *ret)
{
	_cleanup_free_ char *names = NULL, *val = NULL;
	const char *v[256];
	size_t nv = 0;
	ssize_t len = path ? listxattr(path, NULL, 0) : 0;
	XXH3_state_t *st;

	*ret = 0;
	if (len < 0)
		return errno == ENOTSUP ? 0 : -errno;
	if (len == 0)
		return 0;
	if (!(names = malloc(len)) || !(val = malloc(1 << 16)))
		return -ENOMEM;
	len = listxattr(path, names, len);
	if (len < 0)
		return -errno;
	for (char *n = names; n < names + len && nv < 256; n += strlen(n) + 1)
		v[nv++] = n;
	qsort(v, nv, sizeof(*v), cmp_str);
	if (!(st = XXH3_createState()))
		return -ENOMEM;
	XXH3_64bits_reset(st);
	for (size_t i = 0; i < nv; i++) {
		ssize_t vl = getxattr(path, v[i], val, 1 << 16);

		if (vl < 0) {
			XXH3_freeState(st);
			return -errno;
		}
		XXH3_64bits_update(st, v[i], strlen(v[i]));
		XXH3_64bits_update(st, "=", 1);
		XXH3_64bits_update(st, val, vl);
		XXH3_64bits_update(st, "", 1);
	}
	*ret = XXH3_64bits_digest(st) | 1; /* never 0, which means "none" */
	XXH3_freeState(st);
	return 0;
}

static char type_char(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFREG:
		return 'f';
	case S_IFDIR:
		return 'd';
	case S_IFLNK:
		return 'l';
	case S_IFCHR:
		return 'c';
	case S_IFBLK:
		return 'b';
	case S_IFIFO:
		return 'p';
	default:
		return 's';
	}
}

/* The line for REL (which names FULL, a path through /proc/self/fd). */
static int entry_line(int pfd, const char *name, const char *rel,
		      const char *full, const struct stat *st, char **ret)
{
	_cleanup_free_ char *esc = escape(rel);
	char h[24] = "-", x[24] = "-";
	uint64_t v;
	int r;

	if (!esc)
		return -ENOMEM;
	if (S_ISREG(st->st_mode)) {
		_cleanup_close_ int fd = openat(pfd, name,
						O_RDONLY | O_NOFOLLOW |
							O_CLOEXEC);

		if (fd < 0)
			return -errno;
		r = hash_fd(fd, &v);
		if (r < 0)
			return r;
		snprintf(h, sizeof(h), "%016" PRIx64, v);
	} else if (S_ISLNK(st->st_mode)) {
		char t[4096];
		ssize_t n = readlinkat(pfd, name, t, sizeof(t));

		if (n < 0)
			return -errno;
		snprintf(h, sizeof(h), "%016" PRIx64, XXH3_64bits(t, n));
	} else if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
		snprintf(h, sizeof(h), "%u:%u", major(st->st_rdev),
			 minor(st->st_rdev));
	}
	/* through the fd's /proc link, which the non-l calls follow to
	 * the entry; symlinks' xattrs (rare, never user.*) are not kept */
	r = hash_xattrs(S_ISLNK(st->st_mode) ? NULL : full, &v);
	if (r < 0)
		return r;
	if (v)
		snprintf(x, sizeof(x), "%016" PRIx64, v);
	if (asprintf(ret, "%s %c %o %u:%u %lld %s %s", esc,
		     type_char(st->st_mode), (unsigned)(st->st_mode & 07777),
		     (unsigned)st->st_uid, (unsigned)st->st_gid,
		     S_ISREG(st->st_mode) ? (long long)st->st_size : 0LL, h,
		     x) < 0)
		return -ENOMEM;
	return 0;
}

static int walk(int dfd, const char *rel, struct lines *out)
{
	_cleanup_closedir_ DIR *d = NULL;
	char full[64];
	struct dirent *de;
	int r = 0;

	if (!(d = cu_opendir_at(dfd, ".")))
		return -errno;
	while (r == 0 && (errno = 0, de = readdir(d))) {
		_cleanup_free_ char *path = NULL;
		char *line = NULL;
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
		path = *rel ? cu_path_join(rel, de->d_name) :
			      strdup(de->d_name);
		if (!path)
			return -ENOMEM;
		if (S_ISDIR(st.st_mode)) {
			_cleanup_close_ int sub = openat(dfd, de->d_name,
							 O_RDONLY |
								 O_DIRECTORY |
								 O_NOFOLLOW |
								 O_CLOEXEC);

			if (sub < 0)
				return -errno;
			snprintf(full, sizeof(full), "/proc/self/fd/%d", sub);
			r = entry_line(dfd, de->d_name, path, full, &st, &line);
			if (r == 0)
				r = lines_add(out, line);
			if (r == 0)
				r = walk(sub, path, out);
			continue;
		}
		{
			/* xattrs through an O_PATH fd's /proc link */
			_cleanup_close_ int pf = openat(dfd, de->d_name,
							O_PATH | O_NOFOLLOW |
								O_CLOEXEC);

			if (pf < 0)
				return -errno;
			snprintf(full, sizeof(full), "/proc/self/fd/%d", pf);
			r = entry_line(dfd, de->d_name, path, full, &st, &line);
		}
		if (r == 0)
			r = lines_add(out, line);
	}
	if (r == 0 && errno)
		r = -errno;
	return r;
}

int ls_tree_manifest(int dirfd, char **ret, size_t *ret_len)
{
	struct lines l = { 0 };
	char full[64], *line = NULL, *buf, *o;
	size_t len = 0;
	struct stat st;
	int r;

	if (fstat(dirfd, &st) < 0)
		return -errno;
	snprintf(full, sizeof(full), "/proc/self/fd/%d", dirfd);
	r = entry_line(dirfd, ".", ".", full, &st, &line);
	if (r == 0)
		r = lines_add(&l, line);
	if (r == 0)
		r = walk(dirfd, "", &l);
	if (r < 0) {
		lines_free(&l);
		return r;
	}
	qsort(l.v, l.n, sizeof(*l.v), cmp_str);
	for (size_t i = 0; i < l.n; i++)
		len += strlen(l.v[i]) + 1;
	buf = o = malloc(len + 1);
	if (!buf) {
		lines_free(&l);
		return -ENOMEM;
	}
	for (size_t i = 0; i < l.n; i++)
		o = stpcpy(stpcpy(o, l.v[i]), "\n");
	*o = '\0';
	lines_free(&l);
	*ret = buf;
	*ret_len = len;
	return 0;
}
