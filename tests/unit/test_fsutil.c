// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit tests for common/fsutil.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"

static char tmpl[PATH_MAX];
static int dfd = -1;

static int setup(void **state)
{
	snprintf(tmpl, sizeof(tmpl), "/tmp/lfs-fsutil-XXXXXX");
	if (!mkdtemp(tmpl))
		return -1;
	dfd = open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return dfd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	close(dfd);
	return cu_rm_rf_at(AT_FDCWD, tmpl);
}

static int count_entries(int fd)
{
	DIR *d = fdopendir(dup(fd));
	struct dirent *de;
	int n = 0;

	rewinddir(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void test_atomic_write(void **state)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	struct stat st;

	assert_int_equal(cu_atomic_write_at(dfd, "f", "hello", 5, 0640), 0);
	assert_int_equal(cu_atomic_write_at(dfd, "f", "bye", 3, 0600), 0);
	assert_int_equal(cu_read_file_at(dfd, "f", 1 << 20, &buf, &len), 0);
	assert_int_equal(len, 3);
	assert_string_equal(buf, "bye");
	assert_int_equal(fstatat(dfd, "f", &st, 0), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* no temp file is left behind */
	assert_int_equal(count_entries(dfd), 1);
}

static void test_read_file_limit(void **state)
{
	char big[10000];
	char *buf = NULL;

	memset(big, 'x', sizeof(big));
	assert_int_equal(cu_atomic_write_at(dfd, "big", big, sizeof(big), 0644),
			 0);
	assert_int_equal(cu_read_file_at(dfd, "big", 4096, &buf, NULL), -EFBIG);
	assert_null(buf);
	assert_int_equal(cu_read_file_at(dfd, "big", 1 << 20, &buf, NULL), 0);
	assert_int_equal(strlen(buf), sizeof(big));
	free(buf);
	assert_int_equal(cu_read_file_at(dfd, "nope", 10, &buf, NULL), -ENOENT);
}

static void test_rm_rf(void **state)
{
	assert_int_equal(mkdirat(dfd, "a", 0755), 0);
	assert_int_equal(mkdirat(dfd, "a/b", 0755), 0);
	assert_int_equal(cu_atomic_write_at(dfd, "a/b/c", "x", 1, 0644), 0);
	assert_int_equal(symlinkat("/etc", dfd, "a/link"), 0);
	assert_int_equal(mkdirat(dfd, "a/ro", 0), 0);
	assert_int_equal(cu_rm_rf_at(dfd, "a"), 0);
	assert_int_equal(count_entries(dfd), 0);
	assert_int_equal(cu_rm_rf_at(dfd, "a"), 0);
	/* a symlink to a directory is removed, never followed */
	assert_int_equal(access("/etc/passwd", F_OK), 0);
}

static void test_tmp_names_unique(void **state)
{
	char a[64], b[64];
	int fa = cu_open_tmp_at(dfd, ".t", 0600, a, sizeof(a));
	int fb = cu_open_tmp_at(dfd, ".t", 0600, b, sizeof(b));

	assert_true(fa >= 0 && fb >= 0);
	assert_string_not_equal(a, b);
	close(fa);
	close(fb);
}

static void test_path_join(void **state)
{
	char *p = cu_path_join("/a/b/", "/c");

	assert_string_equal(p, "/a/b/c");
	free(p);
	p = cu_path_join("", "c");
	assert_string_equal(p, "/c");
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_atomic_write, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_read_file_limit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rm_rf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tmp_names_unique, setup,
						teardown),
		cmocka_unit_test(test_path_join),
	};
	return cmocka_run_group_tests_name("fsutil", tests, NULL, NULL);
}
