// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit tests for layerstore/layer.c: unpacking stored layer blobs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
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

static char root[PATH_MAX];

static int setup(void **state)
{
	snprintf(root, sizeof(root), "/tmp/lfs-layer-XXXXXX");
	return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
	return cu_rm_rf_at(AT_FDCWD, root);
}

/* A one-file layer tar in memory, gzip'd or not. */
static size_t make_tar(char *buf, size_t cap, const char *data, int gzip)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	size_t used = 0;

	archive_write_set_format_pax_restricted(a);
	if (gzip)
		archive_write_add_filter_gzip(a);
	archive_write_set_bytes_in_last_block(a, 1);
	archive_write_open_memory(a, buf, cap, &used);
	archive_entry_set_pathname(e, "etc/motd");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, strlen(data));
	archive_write_header(a, e);
	archive_write_data(a, data, strlen(data));
	archive_entry_free(e);
	archive_write_close(a);
	archive_write_free(a);
	return used;
}

/* Entries of ROOT/rel that are not lock files. */
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
		n += de->d_name[0] != '.' && !strstr(de->d_name, ".lock");
	closedir(d);
	return n;
}

static void test_unpack_once(void **state)
{
	char buf[1 << 16], blob[LS_DIGEST_STR_LEN + 1],
		gz[LS_DIGEST_STR_LEN + 1];
	char diff[LS_DIGEST_STR_LEN + 1], diff2[LS_DIGEST_STR_LEN + 1];
	struct ls_store *s;
	char *path, *motd = NULL;
	char p[PATH_MAX + 64];
	size_t n;

	assert_int_equal(ls_store_open(root, &s), 0);
	n = make_tar(buf, sizeof(buf), "welcome\n", 0);
	assert_int_equal(ls_blob_put(s, buf, n, blob), 0);
	assert_int_equal(ls_layer_unpack(s, blob, NULL, diff), 0);
	/* uncompressed: the diffID is the blob digest */
	assert_string_equal(diff, blob);
	assert_int_equal(ls_layer_exists(s, diff), 1);
	path = ls_layer_path(s, diff);
	snprintf(p, sizeof(p), "%s/etc/motd", path);
	assert_int_equal(cu_read_file_at(AT_FDCWD, p, 100, &motd, NULL), 0);
	assert_string_equal(motd, "welcome\n");
	free(motd);
	free(path);

	/* the same content gzip'd: another blob, the same layer, kept once */
	n = make_tar(buf, sizeof(buf), "welcome\n", 1);
	assert_int_equal(ls_blob_put(s, buf, n, gz), 0);
	assert_string_not_equal(gz, blob);
	assert_int_equal(ls_layer_unpack(s, gz, diff, diff2), 0);
	assert_string_equal(diff2, diff);
	assert_int_equal(count("layers"), 1);
	assert_int_equal(count("tmp"), 0);
	ls_store_free(s);
}

static void test_wrong_diff_id(void **state)
{
	const char *lie =
		"sha256:0000000000000000000000000000000000000000000000000000000000000000";
	char buf[1 << 16], blob[LS_DIGEST_STR_LEN + 1];
	struct ls_store *s;
	size_t n;

	assert_int_equal(ls_store_open(root, &s), 0);
	n = make_tar(buf, sizeof(buf), "x", 1);
	assert_int_equal(ls_blob_put(s, buf, n, blob), 0);
	assert_int_equal(ls_layer_unpack(s, blob, lie, NULL), -EBADMSG);
	assert_non_null(strstr(ls_store_error(s), "diffID"));
	assert_int_equal(count("layers"), 0);
	assert_int_equal(count("tmp"), 0);
	assert_int_equal(ls_layer_unpack(s, blob, "sha256:../x", NULL),
			 -EINVAL);
	ls_store_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unpack_once, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_wrong_diff_id, setup,
						teardown),
	};
	return cmocka_run_group_tests_name("layer", tests, NULL, NULL);
}
