// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit tests for layerstore/untar.c: real and hostile layer tars, built in
 * memory with libarchive's writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fsutil.h"
#include "untar.h"

static char tmp[PATH_MAX];
static int outfd = -1, layerfd = -1;

struct tarbuf {
	struct archive *a;
	char *buf;
	size_t cap, used;
};

static int setup(void **state)
{
	snprintf(tmp, sizeof(tmp), "/tmp/lfs-untar-XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	outfd = open(tmp, O_RDONLY | O_DIRECTORY);
	if (mkdirat(outfd, "layer", 0755) < 0 ||
	    mkdirat(outfd, "outside", 0755))
		return -1;
	layerfd = openat(outfd, "layer", O_RDONLY | O_DIRECTORY);
	return layerfd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	close(layerfd);
	close(outfd);
	return cu_rm_rf_at(AT_FDCWD, tmp);
}

static void tb_begin(struct tarbuf *t, int gzip)
{
	t->cap = 1 << 22;
	t->buf = malloc(t->cap);
	t->a = archive_write_new();
	archive_write_set_format_pax_restricted(t->a);
	if (gzip)
		archive_write_add_filter_gzip(t->a);
	archive_write_set_bytes_in_last_block(t->a, 1);
	assert_int_equal(archive_write_open_memory(t->a, t->buf, t->cap,
						   &t->used),
			 ARCHIVE_OK);
}

static void tb_add(struct tarbuf *t, mode_t type, const char *path,
		   const char *data, const char *link)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0640);
	archive_entry_set_mtime(e, 1000000000, 5);
	if (type == AE_IFLNK)
		archive_entry_set_symlink(e, link);
	else if (link)
		archive_entry_set_hardlink(e, link);
	if (type == AE_IFCHR)
		archive_entry_set_rdev(e, makedev(1, 3));
	archive_entry_set_size(e, data ? strlen(data) : 0);
	assert_int_equal(archive_write_header(t->a, e), ARCHIVE_OK);
	if (data)
		archive_write_data(t->a, data, strlen(data));
	archive_entry_free(e);
}

/* Finish, write to a file and apply it; returns ls_untar's result. */
static int tb_apply(struct tarbuf *t, const struct ls_untar_opts *o,
		    struct ls_untar_result *res, char **err)
{
	char p[PATH_MAX + 16];
	int fd, r;

	archive_write_close(t->a);
	archive_write_free(t->a);
	snprintf(p, sizeof(p), "%s/in.tar", tmp);
	assert_int_equal(cu_atomic_write_at(AT_FDCWD, p, t->buf, t->used, 0644),
			 0);
	fd = open(p, O_RDONLY);
	*err = NULL;
	r = ls_untar(fd, layerfd, o, res, err);
	close(fd);
	return r;
}

static void digest_of(const void *buf, size_t len, char *out)
{
	struct ls_digester *d = ls_digester_new();

	ls_digester_update(d, buf, len);
	ls_digester_final(d, out);
	ls_digester_free(d);
}

static void test_normal(void **state)
{
	struct ls_untar_opts o = { .allow_devices = geteuid() == 0 };
	char expect[LS_DIGEST_STR_LEN + 1], *err;
	struct ls_untar_result res;
	struct tarbuf t;
	struct stat st, st2;

	tb_begin(&t, 0);
	tb_add(&t, AE_IFDIR, "./a/", NULL, NULL);
	tb_add(&t, AE_IFREG, "a/f", "hello", NULL);
	tb_add(&t, AE_IFREG, "a/h", NULL, "a/f");
	tb_add(&t, AE_IFLNK, "l", NULL, "/etc/passwd");
	tb_add(&t, AE_IFREG, "a/.wh.gone", NULL, NULL);
	tb_add(&t, AE_IFREG, "a/.wh..wh..opq", NULL, NULL);
	tb_add(&t, AE_IFIFO, "b/fifo", NULL, NULL); /* implicit parent */
	if (o.allow_devices)
		tb_add(&t, AE_IFCHR, "null", NULL, NULL);
	assert_int_equal(tb_apply(&t, &o, &res, &err), 0);
	digest_of(t.buf, t.used, expect);
	assert_string_equal(res.diff_id, expect);
	assert_string_equal(res.blob_digest, expect);
	assert_int_equal(res.tar_size, t.used);
	assert_int_equal(fstatat(layerfd, "a/f", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(st.st_size, 5);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_mtim.tv_sec, 1000000000);
	assert_int_equal(fstatat(layerfd, "a/h", &st2, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(st.st_ino, st2.st_ino);
	assert_int_equal(fstatat(layerfd, "l", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(fstatat(layerfd, "a/.wh.gone", &st, 0), 0);
	assert_int_equal(fstatat(layerfd, "a/.wh..wh..opq", &st, 0), 0);
	assert_int_equal(fstatat(layerfd, "b/fifo", &st, 0), 0);
	assert_true(S_ISFIFO(st.st_mode));
	assert_int_equal(fstatat(layerfd, "a", &st, 0), 0);
	assert_int_equal(st.st_mtim.tv_sec, 1000000000); /* set last */
	free(t.buf);
}

/* ".wh." + a 255-byte name is too long for a file name: the whiteout is
 * stored as overlayfs' char 0/0 under the name (root), or refused with a
 * message (no right to make device nodes). */
static void test_long_whiteout(void **state)
{
	struct ls_untar_opts o = { 0 };
	struct ls_untar_result res;
	char name[NAME_MAX + 1], wh[NAME_MAX + 8], *err;
	struct tarbuf t;
	struct stat st;
	int r;

	(void)state;
	memset(name, 'n', NAME_MAX);
	name[NAME_MAX] = '\0';
	snprintf(wh, sizeof(wh), "d/.wh.%s", name);
	tb_begin(&t, 0);
	tb_add(&t, AE_IFDIR, "d", NULL, NULL);
	tb_add(&t, AE_IFREG, wh, NULL, NULL);
	r = tb_apply(&t, &o, &res, &err);
	/* may this process make device nodes (root, not a user namespace's)? */
	bool can_mknod = mknodat(outfd, "probe", S_IFCHR, makedev(0, 0)) == 0;

	if (can_mknod) {
		assert_int_equal(r, 0);
		snprintf(wh, sizeof(wh), "d/%s", name);
		assert_int_equal(fstatat(layerfd, wh, &st, AT_SYMLINK_NOFOLLOW),
				 0);
		assert_true(S_ISCHR(st.st_mode));
		assert_int_equal(st.st_rdev, makedev(0, 0));
	} else {
		assert_int_equal(r, -EPERM);
		assert_non_null(err);
		assert_non_null(strstr(err, "0/0 device node"));
	}
	free(err);
	free(t.buf);
}

static void test_gzip(void **state)
{
	struct ls_untar_opts o = { 0 };
	struct ls_untar_result res;
	char blob[LS_DIGEST_STR_LEN + 1], *err;
	struct tarbuf t;

	tb_begin(&t, 1);
	tb_add(&t, AE_IFREG, "f", "data", NULL);
	assert_int_equal(tb_apply(&t, &o, &res, &err), 0);
	digest_of(t.buf, t.used, blob);
	assert_string_equal(res.blob_digest, blob);
	assert_string_not_equal(res.diff_id, blob);
	assert_int_equal(res.blob_size, t.used);
	free(t.buf);
}

/* A gzip of a gzipped tar is no layer (found by fuzz-untar): one
 * decompression gives no tar, so no diffID, as in every OCI tool. */
static void test_double_compressed(void **state)
{
	struct ls_untar_opts o = { 0 };
	struct ls_untar_result res;
	struct archive_entry *e = archive_entry_new();
	struct archive *a = archive_write_new();
	struct tarbuf t;
	size_t used = 0, cap = 1 << 20;
	char *twice = malloc(cap), p[PATH_MAX + 16], *err = NULL;
	struct stat st;
	int fd;

	tb_begin(&t, 1);
	tb_add(&t, AE_IFREG, "f", "data", NULL);
	archive_write_close(t.a);
	archive_write_free(t.a);
	archive_write_set_format_raw(a);
	archive_write_add_filter_gzip(a);
	assert_int_equal(archive_write_open_memory(a, twice, cap, &used),
			 ARCHIVE_OK);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_size(e, t.used);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(a, t.buf, t.used), t.used);
	archive_write_close(a);
	archive_write_free(a);
	archive_entry_free(e);
	snprintf(p, sizeof(p), "%s/in.tar.gz.gz", tmp);
	assert_int_equal(cu_atomic_write_at(AT_FDCWD, p, twice, used, 0644), 0);
	fd = open(p, O_RDONLY);
	assert_int_equal(ls_untar(fd, layerfd, &o, &res, &err), -EBADMSG);
	close(fd);
	assert_non_null(err);
	assert_non_null(strstr(err, "compressed more than once"));
	assert_int_equal(fstatat(layerfd, "f", &st, 0), -1);
	free(err);
	free(twice);
	free(t.buf);
}

static void expect_refused(mode_t type, const char *path, const char *link,
			   const char *setup_path, const char *setup_link,
			   const char *want)
{
	struct ls_untar_opts o = { 0 };
	struct ls_untar_result res;
	struct tarbuf t;
	struct stat st;
	char *err;

	tb_begin(&t, 0);
	if (setup_path)
		tb_add(&t, AE_IFLNK, setup_path, NULL, setup_link);
	tb_add(&t, type, path, type == AE_IFREG && !link ? "x" : NULL, link);
	assert_int_equal(tb_apply(&t, &o, &res, &err), -EBADMSG);
	assert_non_null(err);
	if (!strstr(err, want))
		fail_msg("message '%s' lacks '%s'", err, want);
	free(err);
	free(t.buf);
	/* nothing escaped into the sibling directory */
	assert_int_equal(fstatat(outfd, "outside/x", &st, 0), -1);
}

static void test_hostile(void **state)
{
	expect_refused(AE_IFREG, "/x", NULL, NULL, NULL, "out of the layer");
	expect_refused(AE_IFREG, "../outside/x", NULL, NULL, NULL,
		       "out of the layer");
	expect_refused(AE_IFREG, "a/../../outside/x", NULL, NULL, NULL,
		       "out of the layer");
	expect_refused(AE_IFREG, "l/x", NULL, "l", "../outside",
		       "goes through");
	expect_refused(AE_IFREG, "h", "../outside/x", NULL, NULL, "hardlink");
	expect_refused(AE_IFREG, "h2", "nonexistent", NULL, NULL, "hardlink");
	expect_refused(AE_IFREG, "d/.wh..", NULL, NULL, NULL, "whiteout");
	expect_refused(AE_IFCHR, "dev", NULL, NULL, NULL, "device node");
}

static void test_limits(void **state)
{
	struct ls_untar_opts o = { .max_entries = 3 };
	struct ls_untar_result res;
	char big[200000], *err;
	struct tarbuf t;

	tb_begin(&t, 0);
	for (int i = 0; i < 5; i++) {
		char n[16];

		snprintf(n, sizeof(n), "f%d", i);
		tb_add(&t, AE_IFREG, n, "x", NULL);
	}
	assert_int_equal(tb_apply(&t, &o, &res, &err), -EBADMSG);
	assert_non_null(strstr(err, "more than 3 entries"));
	free(err);
	free(t.buf);

	/* a gzip bomb: a small blob that inflates past the limit */
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	o.max_entries = 0;
	o.max_bytes = 100000;
	tb_begin(&t, 1);
	tb_add(&t, AE_IFREG, "bomb", big, NULL);
	assert_true(t.used < 10000); /* inflates 20-fold */
	assert_int_not_equal(tb_apply(&t, &o, &res, &err), 0);
	assert_non_null(err);
	free(err);
	free(t.buf);
}

static void test_garbage(void **state)
{
	struct ls_untar_opts o = { 0 };
	struct ls_untar_result res;
	char p[PATH_MAX + 16], *err = NULL;
	int fd;

	snprintf(p, sizeof(p), "%s/junk", tmp);
	cu_atomic_write_at(AT_FDCWD, p, "this is not a tar archive at all", 32,
			   0644);
	fd = open(p, O_RDONLY);
	assert_int_equal(ls_untar(fd, layerfd, &o, &res, &err), -EBADMSG);
	assert_non_null(err);
	free(err);
	close(fd);
}

/* security.capability survives the chown that follows it (a chown
 * drops it), on entries with an owner. */
static void test_capability(void **state)
{
	static const char cap[20] = { 1, 0, 0, 2, 0, 0x20 };
	struct ls_untar_opts o = { .chown = true };
	struct archive_entry *e = archive_entry_new();
	struct ls_untar_result res;
	char p[PATH_MAX + 16], v[32], *err;
	struct tarbuf t;

	if (geteuid() != 0) {
		archive_entry_free(e);
		skip();
	}
	tb_begin(&t, 0);
	archive_entry_set_pathname(e, "ping");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0755);
	archive_entry_set_uid(e, 1000);
	archive_entry_set_gid(e, 1000);
	archive_entry_set_size(e, 0);
	archive_entry_xattr_add_entry(e, "security.capability", cap,
				      sizeof(cap));
	assert_int_equal(archive_write_header(t.a, e), ARCHIVE_OK);
	archive_entry_free(e);
	assert_int_equal(tb_apply(&t, &o, &res, &err), 0);
	snprintf(p, sizeof(p), "%s/layer/ping", tmp);
	assert_int_equal(getxattr(p, "security.capability", v, sizeof(v)),
			 sizeof(cap));
	assert_memory_equal(v, cap, sizeof(cap));
	free(t.buf);
}

/* The directory of the last entry is remembered between entries: an entry
 * that replaces it with a symlink must not let the next one through. */
static void test_dir_cache(void **state)
{
	struct ls_untar_opts o = { 0 };
	struct ls_untar_result res;
	struct stat st;
	struct tarbuf t;
	char *err;

	tb_begin(&t, 0);
	tb_add(&t, AE_IFDIR, "d/", NULL, NULL);
	tb_add(&t, AE_IFREG, "d/a", "a", NULL);
	tb_add(&t, AE_IFREG, "d/b", "b", NULL);
	tb_add(&t, AE_IFLNK, "d", NULL, "../outside");
	tb_add(&t, AE_IFREG, "d/c", "c", NULL);
	assert_int_equal(tb_apply(&t, &o, &res, &err), -EBADMSG);
	assert_non_null(strstr(err, "symlink"));
	assert_int_equal(fstatat(outfd, "outside/c", &st, 0), -1);
	free(err);
	free(t.buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_normal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_whiteout, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_gzip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_double_compressed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capability, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_dir_cache, setup,
						teardown),
	};
	return cmocka_run_group_tests_name("untar", tests, NULL, NULL);
}
