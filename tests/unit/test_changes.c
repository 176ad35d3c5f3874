// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests for layerstore/changes.c and tarout.c: an upper layer built
 * by hand in every form layerfs writes, walked against two image layers
 * and an init layer; then the tar made of it, read back with libarchive.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "changes.h"
#include "fsutil.h"
#include "layerstore.h"
#include "oci.h"

static char root[256];

static void put(const char *path, const char *data)
{
	char p[PATH_MAX];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", root, path);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(data, f);
	assert_int_equal(fclose(f), 0);
}

static void dirs(const char *const *v)
{
	char p[PATH_MAX];

	for (; *v; v++) {
		snprintf(p, sizeof(p), "%s/%s", root, *v);
		assert_int_equal(cu_mkdir_p(p, 0755), 0);
	}
}

static void xattr(const char *path, const char *name, const char *v)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", root, path);
	assert_int_equal(lsetxattr(p, name, v, strlen(v), 0), 0);
}

static int at(const char *path)
{
	char p[PATH_MAX];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", root, path);
	fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

/*
 * L1 (bottom): etc/motd, data/{a,b}, old/{x,y}, rep/r1, h1 = h2, meta
 * L2: data/.wh.b, etc/issue
 * init: etc/hostname, proc/
 * upper: what a session through layerfs leaves (see expect[] below).
 */
static int setup(void **state)
{
	static const char *const d[] = {
		"L1/etc", "L1/data", "L1/old",		"L1/rep", "L2/data",
		"L2/etc", "I/etc",   "I/proc",		"U/etc",  "U/data",
		"U/rep",  "U/old2",  "W/layerfs-index", NULL,
	};
	char a[PATH_MAX], b[PATH_MAX], idx[64];
	struct stat st;

	(void)state;
	snprintf(root, sizeof(root), "/var/tmp/lfs-changes-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	dirs(d);
	put("L1/etc/motd", "hello\n");
	put("L1/data/a", "a");
	put("L1/data/b", "b");
	put("L1/old/x", "x");
	put("L1/old/y", "y");
	put("L1/rep/r1", "r1");
	put("L1/h1", "old link");
	snprintf(a, sizeof(a), "%s/L1/h1", root);
	snprintf(b, sizeof(b), "%s/L1/h2", root);
	assert_int_equal(link(a, b), 0);
	put("L1/meta", "lowerdata");
	put("L2/data/.wh.b", "");
	put("L2/etc/issue", "issue");
	put("I/etc/hostname", "");
	/* the upper */
	put("U/etc/motd", "changed\n");
	put("U/etc/hostname", "ctr"); /* the init layer's: never a change */
	put("U/etc/.wh.issue", "");
	put("U/data/.wh.a", "");
	put("U/data/.wh.b", ""); /* b is not in the image: no deletion */
	put("U/data/c", "new");
	put("U/rep/.wh..wh..opq", "");
	put("U/rep/r2", "r2");
	put("U/.wh.old", "");
	put("U/old2/z", "z");
	xattr("U/old2", "user.layerfs.redirect", "/old");
	put("U/.wh.proc", ""); /* only the init layer has /proc */
	put("U/meta", "");
	assert_int_equal(truncate(strcat(strcpy(a, root), "/U/meta"), 9), 0);
	assert_int_equal(chmod(a, 0600), 0);
	xattr("U/meta", "user.layerfs.metacopy", "/meta");
	xattr("U/meta", "user.keep", "yes");
	xattr("U/meta", "user.overlay.origin", "no");
	/* h1 copied up through the index; h2 not looked up since */
	snprintf(a, sizeof(a), "%s/L1/h1", root);
	assert_int_equal(stat(a, &st), 0);
	snprintf(idx, sizeof(idx), "%" PRIx64 "-%" PRIx64, (uint64_t)st.st_dev,
		 (uint64_t)st.st_ino);
	snprintf(a, sizeof(a), "W/layerfs-index/%s", idx);
	put(a, "new link");
	xattr(a, "user.layerfs.nlink", "2");
	snprintf(a, sizeof(a), "%s/W/layerfs-index/%s", root, idx);
	snprintf(b, sizeof(b), "%s/U/h1", root);
	assert_int_equal(link(a, b), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return cu_rm_rf_at(AT_FDCWD, root);
}

struct seen {
	char kinds[64];
	char *paths[64];
	char *links[64];
	char data[64][32];
	size_t n;
};

static int record(void *arg, const struct ls_change *c)
{
	struct seen *s = arg;

	assert_true(s->n < 64);
	s->kinds[s->n] = (char)c->kind;
	s->paths[s->n] = strdup(c->path);
	s->links[s->n] = c->hardlink ? strdup(c->hardlink) : NULL;
	if (c->datafd >= 0 && !c->hardlink) {
		ssize_t n = pread(c->datafd, s->data[s->n], 31, 0);

		assert_true(n >= 0);
		s->data[s->n][n] = '\0';
	}
	s->n++;
	return 0;
}

struct src {
	int fds[4];
	struct ls_changes_src src;
};

static void open_src(struct src *s)
{
	s->fds[0] = at("L2");
	s->fds[1] = at("L1");
	s->fds[2] = at("U");
	s->fds[3] = at("I");
	s->src = (struct ls_changes_src){ .upper = s->fds[2],
					  .init = s->fds[3],
					  .lowers = s->fds,
					  .nlowers = 2,
					  .index = at("W/layerfs-index") };
}

static void close_src(struct src *s)
{
	for (int i = 0; i < 4; i++)
		close(s->fds[i]);
	close(s->src.index);
}

static void test_walk(void **state)
{
	static const char *const expect[] = {
		"D old",       "C data",     "D data/a", "A data/c", "C etc",
		"D etc/issue", "C etc/motd", "C h1",	 "C h2",     "C meta",
		"A old2",      "A old2/x",   "A old2/y", "A old2/z", "C rep",
		"O rep",       "H rep/r1",   "A rep/r2",
	};
	struct seen s = { 0 };
	struct src src;
	char line[PATH_MAX];

	(void)state;
	open_src(&src);
	assert_int_equal(ls_changes_walk(&src.src, record, &s), 0);
	for (size_t i = 0; i < s.n; i++)
		fprintf(stderr, "  %c %s\n", s.kinds[i], s.paths[i]);
	assert_int_equal(s.n, sizeof(expect) / sizeof(expect[0]));
	for (size_t i = 0; i < s.n; i++) {
		snprintf(line, sizeof(line), "%c %s", s.kinds[i], s.paths[i]);
		assert_string_equal(line, expect[i]);
		if (!strcmp(s.paths[i], "meta"))
			assert_string_equal(s.data[i], "lowerdata");
		if (!strcmp(s.paths[i], "h1"))
			assert_string_equal(s.data[i], "new link");
		if (!strcmp(s.paths[i], "h2"))
			assert_string_equal(s.links[i], "h1");
		if (!strcmp(s.paths[i], "old2/x"))
			assert_string_equal(s.data[i], "x");
		free(s.paths[i]);
		free(s.links[i]);
	}
	close_src(&src);
}

struct mem {
	char *buf;
	size_t len, cap;
};

static int mem_sink(void *arg, const void *buf, size_t n)
{
	struct mem *m = arg;

	if (m->len + n > m->cap) {
		m->cap = (m->len + n) * 2;
		m->buf = realloc(m->buf, m->cap);
		assert_non_null(m->buf);
	}
	memcpy(m->buf + m->len, buf, n);
	m->len += n;
	return 0;
}

static struct mem make_tar(int64_t clamp)
{
	struct ls_tarout *t;
	struct mem m = { 0 };
	struct src src;

	open_src(&src);
	assert_int_equal(ls_tarout_new(mem_sink, &m, clamp, &t), 0);
	assert_int_equal(ls_changes_walk(&src.src, ls_tarout_change, t), 0);
	assert_int_equal(ls_tarout_finish(t), 0);
	ls_tarout_free(t);
	close_src(&src);
	return m;
}

static void check_entry(struct archive *a, struct archive_entry *e)
{
	const char *p = archive_entry_pathname(e), *name;
	const void *v;
	size_t size;
	char buf[64] = "";
	const char *un = archive_entry_uname(e), *gn = archive_entry_gname(e);

	assert_true(!un || !*un); /* numeric ids only */
	assert_true(!gn || !*gn);
	if (strstr(p, ".wh.")) {
		assert_int_equal(archive_entry_perm(e), 0);
		assert_int_equal(archive_entry_mtime(e), 0);
		assert_int_equal(archive_entry_size(e), 0);
		assert_int_equal(archive_entry_filetype(e), AE_IFREG);
	}
	if (!strcmp(p, "meta")) {
		assert_int_equal(archive_entry_perm(e), 0600);
		assert_int_equal(archive_read_data(a, buf, sizeof(buf)), 9);
		assert_string_equal(buf, "lowerdata");
		assert_int_equal(archive_entry_xattr_reset(e), 1);
		archive_entry_xattr_next(e, &name, &v, &size);
		assert_string_equal(name, "user.keep"); /* never union xattrs */
	}
	if (!strcmp(p, "h2"))
		assert_string_equal(archive_entry_hardlink(e), "h1");
}

static void test_tar(void **state)
{
	struct mem m1 = make_tar(-1), m2 = make_tar(-1), m3 = make_tar(1000);
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	size_t n = 0;

	(void)state;
	/* the same upper, the same bytes */
	assert_int_equal(m1.len, m2.len);
	assert_memory_equal(m1.buf, m2.buf, m1.len);
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_memory(a, m3.buf, m3.len),
			 ARCHIVE_OK);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		check_entry(a, e);
		assert_true(archive_entry_mtime(e) <= 1000);
		n++;
	}
	assert_int_equal(n, 17); /* everything but diff's H */
	archive_read_free(a);
	free(m1.buf);
	free(m2.buf);
	free(m3.buf);
}

static void test_refs(void **state)
{
	static const char *const good[] = { "a",     "img",  "v1.0",
					    "x/y:z", "a--b", "a_b-c.d@e+f" };
	static const char *const bad[] = { "",	 "-a",	"a-", "a//b",
					   "/a", "a b", "a/", "a---b" };

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		assert_true(ls_ref_valid(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_false(ls_ref_valid(bad[i]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_walk),
		cmocka_unit_test(test_tar),
		cmocka_unit_test(test_refs),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
