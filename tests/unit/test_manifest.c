// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit tests for layerstore/manifest.c: the per-layer file manifests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fsutil.h"
#include "store-private.h"

static char root[PATH_MAX];
static int rootfd = -1;

static int setup(void **state)
{
	snprintf(root, sizeof(root), "/tmp/lfs-manifest-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return rootfd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	close(rootfd);
	return cu_rm_rf_at(AT_FDCWD, root);
}

static char *manifest(void)
{
	char *m = NULL;
	size_t len;

	assert_int_equal(ls_tree_manifest(rootfd, &m, &len), 0);
	assert_int_equal(strlen(m), len);
	return m;
}

static void put(const char *name, const char *data)
{
	int fd = openat(rootfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	close(fd);
}

static void test_lines(void **state)
{
	char *m;

	assert_int_equal(mkdirat(rootfd, "d", 0750), 0);
	put("d/f", "hello");
	put("a b\n%", "x");
	assert_int_equal(symlinkat("d/f", rootfd, "l"), 0);
	assert_int_equal(mkfifoat(rootfd, "p", 0600), 0);
	assert_int_equal(fchmodat(rootfd, "d", 0750, 0), 0);
	m = manifest();
	/* one line per entry, the root first, sorted, names escaped */
	assert_non_null(strstr(m, ". d "));
	assert_non_null(strstr(m, "\na%20b%0A%25 f 644 "));
	assert_non_null(strstr(m, "\nd d 750 "));
	assert_non_null(strstr(m, "\nd/f f 644 "));
	assert_non_null(strstr(m, " 5 "));
	assert_non_null(strstr(m, "\nl l 777 "));
	assert_non_null(strstr(m, "\np p 600 "));
	assert_true(strstr(m, "a%20b") < strstr(m, "\nd d"));
	assert_true(strstr(m, "\nd d") < strstr(m, "\nd/f"));
	free(m);
}

/* Every change a layer could suffer changes the manifest. */
static void test_changes(void **state)
{
	char *a, *b;

	assert_int_equal(mkdirat(rootfd, "d", 0755), 0);
	put("d/f", "hello");
	a = manifest();
	put("d/f", "hellO"); /* same size, other bytes */
	b = manifest();
	assert_string_not_equal(a, b);
	free(b);
	put("d/f", "hello");
	b = manifest();
	assert_string_equal(a, b);
	free(b);
	assert_int_equal(fchmodat(rootfd, "d/f", 0600, 0), 0);
	b = manifest();
	assert_string_not_equal(a, b);
	free(b);
	assert_int_equal(fchmodat(rootfd, "d/f", 0644, 0), 0);
	if (lsetxattr(root, "user.test", "1", 1, 0) == 0) {
		char p[PATH_MAX + 8];

		snprintf(p, sizeof(p), "%s/d/f", root);
		assert_int_equal(setxattr(p, "user.test", "1", 1, 0), 0);
		b = manifest();
		assert_string_not_equal(a, b);
		free(b);
		assert_int_equal(removexattr(p, "user.test"), 0);
	}
	put("d/g", "");
	b = manifest();
	assert_string_not_equal(a, b);
	free(b);
	assert_int_equal(unlinkat(rootfd, "d/g", 0), 0);
	assert_int_equal(unlinkat(rootfd, "d/f", 0), 0);
	b = manifest();
	assert_string_not_equal(a, b);
	free(b);
	free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changes, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
