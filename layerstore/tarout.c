// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The OCI layer tar of a set of changes (changes.h). Every choice here is
 * for two things: any OCI applier recreates the tree the union showed, and
 * the same changes give the same bytes. So: PAX (restricted: extended
 * headers only where ustar cannot say it), numeric ids and no names,
 * mtimes in whole seconds and no atime/ctime, xattrs in name order, whiteouts with nothing that varies,
 * no padding after the end-of-archive blocks.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "changes.h"
#include "cleanup.h"
#include "whiteout.h"

#define BUF_SIZE (1 << 20)

struct ls_tarout {
	struct archive *a;
	struct archive_entry *e;
	int (*sink)(void *arg, const void *buf, size_t n);
	void *arg;
	int64_t clamp;
	uint64_t bytes, entries;
	int sink_err;
	char *buf;
	char err[PATH_MAX + 512];
};

static la_ssize_t write_cb(struct archive *a, void *arg, const void *buf,
			   size_t n)
{
	struct ls_tarout *t = arg;
	int r = t->sink(t->arg, buf, n);

	(void)a;
	if (r < 0) {
		t->sink_err = r;
		return -1;
	}
	t->bytes += n;
	return (la_ssize_t)n;
}

int ls_tarout_new(int (*sink)(void *arg, const void *buf, size_t n), void *arg,
		  int64_t clamp, struct ls_tarout **ret)
{
	struct ls_tarout *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->sink = sink;
	t->arg = arg;
	t->clamp = clamp;
	t->a = archive_write_new();
	t->e = archive_entry_new();
	t->buf = malloc(BUF_SIZE);
	if (!t->a || !t->e || !t->buf ||
	    archive_write_set_format_pax_restricted(t->a) != ARCHIVE_OK ||
	    /* xattrs as Go's archive/tar writes them, once */
	    archive_write_set_format_option(t->a, "pax", "xattrheader",
					    "SCHILY") != ARCHIVE_OK ||
	    /* big writes to the sink; the last block is not padded, so the
	     * bytes are what any block size gives */
	    archive_write_set_bytes_per_block(t->a, BUF_SIZE) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(t->a, 1) != ARCHIVE_OK ||
	    archive_write_open2(t->a, t, NULL, write_cb, NULL, NULL) !=
		    ARCHIVE_OK) {
		ls_tarout_free(t);
		return -ENOMEM;
	}
	*ret = t;
	return 0;
}

__attribute__((format(printf, 3, 4))) static int
fail(struct ls_tarout *t, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->err, sizeof(t->err), fmt, ap);
	va_end(ap);
	return r;
}

static int archive_fail(struct ls_tarout *t, const char *path)
{
	if (t->sink_err)
		return fail(t, t->sink_err, "cannot write the tar at '%s'",
			    path);
	return fail(t, -EIO, "cannot write '%s' to the tar: %s", path,
		    archive_error_string(t->a));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool xattr_travels(const char *name)
{
	return !strcmp(name, "security.capability") ||
	       (!strncmp(name, "user.", 5) && !cu_wh_xattr_private(name));
}

/* The xattrs an image carries: security.capability and user.*, sorted. */
static int add_xattrs(struct ls_tarout *t, const struct ls_change *c)
{
	char p[PATH_MAX + 32], *names[256];
	_cleanup_free_ char *list = NULL;
	size_t n = 0;
	ssize_t len;

	if (S_ISLNK(c->st.st_mode))
		return 0; /* neither kind can be set on a symlink */
	snprintf(p, sizeof(p), "/proc/self/fd/%d/%s", c->dirfd, c->name);
	len = llistxattr(p, NULL, 0);
	if (len <= 0)
		return len < 0 && errno != ENOTSUP ? -errno : 0;
	list = malloc(len);
	if (!list)
		return -ENOMEM;
	len = llistxattr(p, list, len);
	if (len < 0)
		return -errno;
	for (char *s = list; s < list + len && n < 256; s += strlen(s) + 1)
		if (xattr_travels(s))
			names[n++] = s;
	qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		ssize_t vl = lgetxattr(p, names[i], t->buf, BUF_SIZE);

		if (vl < 0)
			return errno == ENODATA ? 0 : -errno;
		archive_entry_xattr_add_entry(t->e, names[i], t->buf, vl);
	}
	return 0;
}

/* An empty file of mode 0 and time 0: a whiteout or opaque marker. */
static int write_marker(struct ls_tarout *t, const char *path, const char *name)
{
	char p[PATH_MAX + NAME_MAX + 8];
	const char *slash = strrchr(path, '/');
	int n;

	if (name) /* the opaque marker in directory path */
		n = snprintf(p, sizeof(p), "%s/%s", path, name);
	else if (slash) /* .wh. + the base name */
		n = snprintf(p, sizeof(p), "%.*s/" CU_WH_PREFIX "%s",
			     (int)(slash - path), path, slash + 1);
	else
		n = snprintf(p, sizeof(p), CU_WH_PREFIX "%s", path);
	if (n < 0 || (size_t)n >= sizeof(p))
		return fail(t, -ENAMETOOLONG, "path too long: '%s'", path);
	archive_entry_clear(t->e);
	archive_entry_set_pathname(t->e, p);
	archive_entry_set_filetype(t->e, AE_IFREG);
	archive_entry_set_perm(t->e, 0);
	archive_entry_set_size(t->e, 0);
	archive_entry_set_mtime(t->e, 0, 0);
	if (archive_write_header(t->a, t->e) != ARCHIVE_OK)
		return archive_fail(t, p);
	t->entries++;
	return 0;
}

static int write_data(struct ls_tarout *t, const struct ls_change *c)
{
	uint64_t left = c->st.st_size;

	while (left > 0) {
		ssize_t n = read(c->datafd, t->buf,
				 left < BUF_SIZE ? left : BUF_SIZE);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail(t, -errno, "cannot read '%s'", c->path);
		if (n == 0) /* only without a freeze: it shrank meanwhile */
			return fail(t, -EIO, "'%s' changed while being read",
				    c->path);
		if (archive_write_data(t->a, t->buf, n) != n)
			return archive_fail(t, c->path);
		left -= n;
	}
	return 0;
}

static int write_entry(struct ls_tarout *t, const struct ls_change *c)
{
	const struct stat *st = &c->st;
	int64_t mtime = st->st_mtim.tv_sec; /* whole seconds, as moby */
	int r;

	if (t->clamp >= 0 && mtime > t->clamp)
		mtime = t->clamp;
	archive_entry_clear(t->e);
	archive_entry_set_pathname(t->e, c->path);
	archive_entry_set_mode(t->e, st->st_mode);
	archive_entry_set_uid(t->e, st->st_uid);
	archive_entry_set_gid(t->e, st->st_gid);
	archive_entry_set_mtime(t->e, mtime, 0);
	archive_entry_set_size(t->e, 0);
	if (S_ISREG(st->st_mode) && c->hardlink)
		archive_entry_set_hardlink(t->e, c->hardlink);
	else if (S_ISREG(st->st_mode))
		archive_entry_set_size(t->e, st->st_size);
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
		archive_entry_set_rdev(t->e, st->st_rdev);
	if (S_ISLNK(st->st_mode)) {
		ssize_t n = readlinkat(c->dirfd, c->name, t->buf, PATH_MAX);

		if (n < 0)
			return fail(t, -errno, "cannot read link '%s'",
				    c->path);
		t->buf[n] = '\0';
		archive_entry_set_symlink(t->e, t->buf);
	}
	if ((r = add_xattrs(t, c)) < 0)
		return fail(t, r, "cannot read the xattrs of '%s'", c->path);
	if (archive_write_header(t->a, t->e) != ARCHIVE_OK)
		return archive_fail(t, c->path);
	t->entries++;
	if (S_ISREG(st->st_mode) && !c->hardlink)
		return write_data(t, c);
	return 0;
}

int ls_tarout_change(void *arg, const struct ls_change *c)
{
	struct ls_tarout *t = arg;

	switch (c->kind) {
	case LS_CH_ADD:
	case LS_CH_CHANGE:
		return write_entry(t, c);
	case LS_CH_DELETE:
		return write_marker(t, c->path, NULL);
	case LS_CH_OPAQUE:
		return write_marker(t, c->path, CU_WH_OPAQUE);
	case LS_CH_HIDDEN:
		return 0; /* the opaque marker said it */
	}
	return -EINVAL;
}

int ls_tarout_finish(struct ls_tarout *t)
{
	if (archive_write_close(t->a) != ARCHIVE_OK)
		return archive_fail(t, "(end)");
	return 0;
}

uint64_t ls_tarout_bytes(const struct ls_tarout *t)
{
	return t->bytes;
}

uint64_t ls_tarout_entries(const struct ls_tarout *t)
{
	return t->entries;
}

const char *ls_tarout_error(const struct ls_tarout *t)
{
	return t->err[0] ? t->err : "cannot write the layer tar";
}

void ls_tarout_free(struct ls_tarout *t)
{
	if (!t)
		return;
	if (t->a)
		archive_write_free(t->a);
	archive_entry_free(t->e);
	free(t->buf);
	free(t);
}
