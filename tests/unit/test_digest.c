// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit tests for layerstore/digest.c against known SHA-256 vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "layerstore.h"

static void digest_of(const char *s, size_t chunk, char *out)
{
	struct ls_digester *d = ls_digester_new();
	size_t len = strlen(s);

	assert_non_null(d);
	for (size_t off = 0; off < len; off += chunk)
		assert_int_equal(ls_digester_update(d, s + off,
						    len - off < chunk ?
							    len - off :
							    chunk),
				 0);
	assert_int_equal(ls_digester_final(d, out), 0);
	ls_digester_free(d);
}

static void test_vectors(void **state)
{
	char out[LS_DIGEST_STR_LEN + 1];

	digest_of("", 1, out);
	assert_string_equal(
		out,
		"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	digest_of("abc", 1, out);
	assert_string_equal(
		out,
		"sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	/* chunking does not matter */
	digest_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 7,
		  out);
	assert_string_equal(
		out,
		"sha256:248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	assert_true(ls_digest_valid(out));
}

static void test_valid(void **state)
{
	assert_false(ls_digest_valid("sha256:abc"));
	assert_false(ls_digest_valid(
		"sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
	assert_false(ls_digest_valid(
		"sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"));
	assert_false(ls_digest_valid(
		"sha256:../../../etc/passwd00000000000000000000000000000000000000000000"));
	ls_digester_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_valid),
	};
	return cmocka_run_group_tests_name("digest", tests, NULL, NULL);
}
