// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit tests for common/whiteout.c: the one module that says what hides what. */
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
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fsutil.h"
#include "whiteout.h"

static char tmpl[PATH_MAX];
static int dfd = -1;

static int setup(void **state)
{
	snprintf(tmpl, sizeof(tmpl), "%s/lfs-wh-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
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

static void test_classify(void **state)
{
	const char *t = NULL;

	assert_int_equal(cu_wh_classify("foo", &t), CU_WH_NAME_PLAIN);
	assert_int_equal(cu_wh_classify(".wh.foo", &t), CU_WH_NAME_WHITEOUT);
	assert_string_equal(t, "foo");
	assert_int_equal(cu_wh_classify(".wh..wh..opq", &t), CU_WH_NAME_OPAQUE);
	assert_int_equal(cu_wh_classify(".wh..wh.plnk", &t), CU_WH_NAME_META);
	assert_int_equal(cu_wh_classify(".wh.", &t), CU_WH_NAME_META);
	assert_int_equal(cu_wh_classify(".whfoo", &t), CU_WH_NAME_PLAIN);
	assert_int_equal(cu_wh_classify(".wh", &t), CU_WH_NAME_PLAIN);
	assert_true(cu_wh_name_reserved(".wh.x"));
	assert_false(cu_wh_name_reserved("x.wh."));
}

static void test_lookup_oci(void **state)
{
	struct stat st;

	assert_int_equal(cu_wh_lookup(dfd, "gone", &st), CU_WH_ABSENT);
	assert_int_equal(cu_wh_make(dfd, "gone", CU_WH_OCI), 0);
	assert_int_equal(cu_wh_make(dfd, "gone", CU_WH_OCI),
			 0); /* idempotent */
	assert_int_equal(cu_wh_lookup(dfd, "gone", &st), CU_WH_HIDDEN);
	assert_int_equal(fstatat(dfd, ".wh.gone", &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 0);

	/* an entry wins over a whiteout of the same name in the same layer */
	int fd = openat(dfd, "gone", O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(cu_wh_lookup(dfd, "gone", &st), CU_WH_FOUND);
	assert_true(S_ISREG(st.st_mode));

	assert_int_equal(cu_wh_remove(dfd, "gone"), 0);
	assert_int_equal(fstatat(dfd, ".wh.gone", &st, 0), -1);
	assert_int_equal(cu_wh_remove(dfd, "never"), 0);
}

static void test_long_name(void **state)
{
	char name[NAME_MAX + 1], buf[NAME_MAX + 1];
	struct stat st;

	memset(name, 'a', NAME_MAX);
	name[NAME_MAX] = '\0';
	assert_int_equal(cu_wh_name_of(name, buf, sizeof(buf)), -ENAMETOOLONG);
	assert_int_equal(cu_wh_lookup(dfd, name, &st), CU_WH_ABSENT);
	/* no room for ".wh.": the char device form, which needs CAP_MKNOD */
	if (geteuid() != 0) {
		assert_int_equal(cu_wh_make(dfd, name, CU_WH_OCI), -EPERM);
		return;
	}
	assert_int_equal(cu_wh_make(dfd, name, CU_WH_OCI), 0);
	assert_int_equal(cu_wh_lookup(dfd, name, &st), CU_WH_HIDDEN);
}

static void test_chardev(void **state)
{
	struct stat st;

	if (geteuid() != 0)
		skip(); /* mknod of 0/0 needs CAP_MKNOD */
	assert_int_equal(cu_wh_make(dfd, "cdev", CU_WH_CHARDEV), 0);
	assert_int_equal(cu_wh_lookup(dfd, "cdev", &st), CU_WH_HIDDEN);
	assert_int_equal(fstatat(dfd, "cdev", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(cu_wh_is_chardev(&st));
	assert_true(cu_wh_entry_hidden("cdev", &st));
	assert_int_equal(cu_wh_remove(dfd, "cdev"), 0);
	assert_int_equal(cu_wh_lookup(dfd, "cdev", &st), CU_WH_ABSENT);
}

static void test_opaque(void **state)
{
	char p[PATH_MAX + 8];

	assert_int_equal(mkdirat(dfd, "o1", 0755), 0);
	assert_int_equal(mkdirat(dfd, "o2", 0755), 0);
	int o1 = openat(dfd, "o1", O_RDONLY | O_DIRECTORY);
	int o2 = openat(dfd, "o2", O_PATH | O_DIRECTORY);
	assert_true(o1 >= 0 && o2 >= 0);
	assert_int_equal(cu_wh_dir_opaque(o1), 0);
	assert_int_equal(cu_wh_make_opaque(o1, CU_WH_OCI), 0);
	assert_int_equal(cu_wh_dir_opaque(o1), 1);

	/* user.overlay.opaque=y is read; "x" (has whiteouts) is not opaque */
	snprintf(p, sizeof(p), "%s/o2", tmpl);
	if (setxattr(p, "user.overlay.opaque", "x", 1, 0) == 0) {
		assert_int_equal(cu_wh_dir_opaque(o2), 0);
		assert_int_equal(setxattr(p, "user.overlay.opaque", "y", 1, 0),
				 0);
		assert_int_equal(cu_wh_dir_opaque(o2), 1);
	}
	close(o1);
	close(o2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify),
		cmocka_unit_test_setup_teardown(test_lookup_oci, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_long_name, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_chardev, setup, teardown),
		cmocka_unit_test_setup_teardown(test_opaque, setup, teardown),
	};
	return cmocka_run_group_tests_name("whiteout", tests, NULL, NULL);
}
