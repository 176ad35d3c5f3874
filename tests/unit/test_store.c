// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit tests for layerstore/store.c and blob.c. */
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

#include "fsutil.h"
#include "layerstore.h"
#include "store-private.h"

#define ABC \
	"sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static char root[PATH_MAX];

static int setup(void **state)
{
	snprintf(root, sizeof(root), "/tmp/lfs-store-XXXXXX");
	return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
	return cu_rm_rf_at(AT_FDCWD, root);
}

static char *slurp(const char *rel)
{
	char p[PATH_MAX + 64];
	char *buf = NULL;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	if (cu_read_file_at(AT_FDCWD, p, 1 << 20, &buf, NULL) < 0)
		return NULL;
	return buf;
}

static int count(const char *rel)
{
	char p[PATH_MAX + 64];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	d = opendir(p);
	assert_non_null(d);
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static void test_layout(void **state)
{
	struct ls_store *s;
	char *v;

	assert_int_equal(ls_store_open(root, &s), 0);
	v = slurp("oci-layout");
	assert_non_null(strstr(v, "\"imageLayoutVersion\":\"1.0.0\""));
	free(v);
	v = slurp("index.json");
	assert_non_null(strstr(v, "\"schemaVersion\":2"));
	free(v);
	assert_int_equal(count("blobs/sha256"), 0);
	ls_store_free(s);
	/* opening again keeps what is there */
	assert_int_equal(ls_store_open(root, &s), 0);
	assert_int_equal(ls_store_lock(s, 1), 0);
	ls_store_unlock(s);
	ls_store_free(s);
}

static void test_blob_put_read(void **state)
{
	char digest[LS_DIGEST_STR_LEN + 1];
	struct ls_store *s;
	char *buf = NULL;
	size_t len;

	assert_int_equal(ls_store_open(root, &s), 0);
	assert_int_equal(ls_blob_exists(s, ABC), 0);
	assert_int_equal(ls_blob_put(s, "abc", 3, digest), 0);
	assert_string_equal(digest, ABC);
	assert_int_equal(ls_blob_put(s, "abc", 3, digest), 0); /* again */
	assert_int_equal(ls_blob_exists(s, ABC), 1);
	assert_int_equal(ls_blob_read(s, ABC, 100, &buf, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(buf, "abc", 3);
	free(buf);
	assert_int_equal(count("blobs/sha256"), 1);
	assert_int_equal(count("tmp"), 0);
	ls_store_free(s);
}

static void test_blob_mismatch(void **state)
{
	struct ls_blob_writer *w;
	struct ls_store *s;

	assert_int_equal(ls_store_open(root, &s), 0);
	assert_int_equal(ls_blob_writer_new(s, &w), 0);
	assert_int_equal(ls_blob_writer_write(w, "abd", 3), 0);
	assert_int_equal(ls_blob_writer_size(w), 3);
	assert_int_equal(ls_blob_writer_commit(w, ABC, NULL), -EBADMSG);
	assert_non_null(strstr(ls_store_error(s), "digest mismatch"));
	ls_blob_writer_free(w);
	/* nothing stored, nothing left behind */
	assert_int_equal(count("blobs/sha256"), 0);
	assert_int_equal(count("tmp"), 0);
	ls_store_free(s);
}

static void test_blob_corrupt_and_hostile(void **state)
{
	char p[PATH_MAX + 128];
	struct ls_store *s;
	char *buf = NULL;

	assert_int_equal(ls_store_open(root, &s), 0);
	assert_int_equal(ls_blob_put(s, "abc", 3, NULL), 0);
	snprintf(p, sizeof(p), "%s/blobs/sha256/%s", root, ABC + 7);
	assert_int_equal(cu_atomic_write_at(AT_FDCWD, p, "xyz", 3, 0644), 0);
	assert_int_equal(ls_blob_read(s, ABC, 100, &buf, NULL), -EBADMSG);
	assert_null(buf);
	assert_non_null(strstr(ls_store_error(s), "corrupt"));
	/* digests are checked before any path is built from them */
	assert_int_equal(ls_blob_exists(s, "sha256:../../etc/passwd"), -EINVAL);
	assert_int_equal(ls_blob_open(s, "md5:abc"), -EINVAL);
	/* a blob that is a symlink is not followed */
	assert_int_equal(unlink(p), 0);
	assert_int_equal(symlink("/etc/passwd", p), 0);
	assert_int_equal(ls_blob_open(s, ABC), -ELOOP);
	ls_store_free(s);
}

static void test_default_root(void **state)
{
	char *r;

	setenv("LAYERFS_ROOT", "/x/y", 1);
	r = ls_default_root();
	assert_string_equal(r, "/x/y");
	free(r);
	unsetenv("LAYERFS_ROOT");
	r = ls_default_root();
	assert_non_null(r);
	if (geteuid() == 0)
		assert_string_equal(r, "/var/lib/layerfs");
	free(r);
}

/* as skopeo: the path ends at the first ':', the ref may hold more */
static void test_split_ref(void **state)
{
	char *path;
	const char *ref;

	(void)state;
	ref = NULL;
	assert_int_equal(ls_split_ref("/d/x:lfs/bb:1", &path, &ref), 0);
	assert_string_equal(path, "/d/x");
	assert_string_equal(ref, "lfs/bb:1");
	free(path);
	ref = NULL;
	assert_int_equal(ls_split_ref("/d/x", &path, &ref), 0);
	assert_string_equal(path, "/d/x");
	assert_null(ref);
	free(path);
	ref = NULL;
	assert_int_equal(ls_split_ref("/d/x:", &path, &ref), -EINVAL);
	free(path);
	ref = NULL;
	assert_int_equal(ls_split_ref(":r", &path, &ref), -EINVAL);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_layout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blob_put_read, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_blob_mismatch, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_blob_corrupt_and_hostile,
						setup, teardown),
		cmocka_unit_test(test_default_root),
		cmocka_unit_test(test_split_ref),
	};
	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
