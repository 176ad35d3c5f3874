// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz harness: the OCI JSON parsers (layerstore/oci.c). Every input is
 * parsed as an image index, a manifest and a config (one harness, three
 * parsers: the seeds are real documents of each kind). Checked besides
 * "no crash":
 *
 *  - failure: -EINVAL with a message (never -ENOMEM here), struct zeroed;
 *  - success: every digest valid, every size >= 0, every kind known
 *    (a manifest's config a config, its layers layers);
 *  - what we write parses back to the same: an index and a manifest
 *    through ls_*_serialize, a config's diff_ids through ls_config_new;
 *  - ref edits: after ls_index_set_ref(REF) ls_index_find_ref(REF) finds
 *    that descriptor, after ls_index_remove_ref(REF) nothing.
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "layerstore.h"
#include "oci.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

static int streq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static void check_failure(int r, char *err, const void *s, size_t n)
{
	static const char zero[256];

	FUZZ_CHECK(r == -EINVAL);
	FUZZ_CHECK(err != NULL && *err);
	FUZZ_CHECK(n <= sizeof(zero) && !memcmp(s, zero, n));
	free(err);
}

static void check_desc(const struct ls_descriptor *d)
{
	FUZZ_CHECK(d->media_type && d->digest);
	FUZZ_CHECK(ls_digest_valid(d->digest));
	FUZZ_CHECK(d->size >= 0);
	FUZZ_CHECK(d->kind == ls_media_parse(d->media_type));
}

static void same_desc(const struct ls_descriptor *a,
		      const struct ls_descriptor *b, int same_type)
{
	FUZZ_CHECK(a->kind == b->kind);
	FUZZ_CHECK(!same_type || streq(a->media_type, b->media_type));
	FUZZ_CHECK(streq(a->digest, b->digest));
	FUZZ_CHECK(a->size == b->size);
}

static void index_refs(struct ls_index *idx)
{
	struct ls_descriptor d;
	const struct ls_descriptor *f;
	const char *ref = "fuzz:latest";

	if (!idx->n || ls_descriptor_copy(&d, &idx->manifests[0]) < 0)
		return;
	FUZZ_CHECK(ls_index_set_ref(idx, ref, &d) == 0);
	f = ls_index_find_ref(idx, ref);
	FUZZ_CHECK(f && streq(f->digest, d.digest) && f->size == d.size);
	FUZZ_CHECK(ls_index_remove_ref(idx, ref) == 0);
	FUZZ_CHECK(ls_index_find_ref(idx, ref) == NULL);
	FUZZ_CHECK(ls_index_remove_ref(idx, ref) == -ENOENT);
	ls_descriptor_free(&d);
}

static void index_case(const char *buf, size_t len)
{
	struct ls_index idx, back;
	char *err = NULL, *out = NULL;
	size_t olen = 0;
	int r;

	memset(&idx, 0, sizeof(idx));
	r = ls_index_parse(buf, len, &idx, &err);
	if (r < 0) {
		check_failure(r, err, &idx, sizeof(idx));
		return;
	}
	for (size_t i = 0; i < idx.n; i++) {
		check_desc(&idx.manifests[i]);
		FUZZ_CHECK(idx.manifests[i].kind == LS_MT_MANIFEST ||
			   idx.manifests[i].kind == LS_MT_INDEX);
		FUZZ_CHECK(!idx.manifests[i].os == !idx.manifests[i].arch);
	}
	(void)ls_index_pick_platform(&idx);
	if (ls_index_serialize(&idx, &out, &olen) == 0) {
		memset(&back, 0, sizeof(back));
		err = NULL;
		r = ls_index_parse(out, olen, &back, &err);
		if (r < 0)
			fprintf(stderr, "reparse: %s\n%s\n", err, out);
		FUZZ_CHECK(r == 0);
		FUZZ_CHECK(back.n == idx.n);
		for (size_t i = 0; i < idx.n; i++) {
			same_desc(&idx.manifests[i], &back.manifests[i], 1);
			FUZZ_CHECK(streq(idx.manifests[i].ref_name,
					 back.manifests[i].ref_name));
			FUZZ_CHECK(streq(idx.manifests[i].os,
					 back.manifests[i].os));
			FUZZ_CHECK(streq(idx.manifests[i].arch,
					 back.manifests[i].arch));
		}
		ls_index_free(&back);
		free(out);
	}
	index_refs(&idx);
	ls_index_free(&idx);
}

static void manifest_case(const char *buf, size_t len)
{
	struct ls_manifest m, back;
	char *err = NULL, *out = NULL;
	size_t olen = 0;
	int r;

	memset(&m, 0, sizeof(m));
	r = ls_manifest_parse(buf, len, &m, &err);
	if (r < 0) {
		check_failure(r, err, &m, sizeof(m));
		return;
	}
	FUZZ_CHECK(m.media_type);
	check_desc(&m.config);
	FUZZ_CHECK(m.config.kind == LS_MT_CONFIG);
	for (size_t i = 0; i < m.nlayers; i++) {
		check_desc(&m.layers[i]);
		FUZZ_CHECK(m.layers[i].kind >= LS_MT_LAYER_TAR);
	}
	if (ls_manifest_serialize(&m, &out, &olen) == 0) {
		memset(&back, 0, sizeof(back));
		err = NULL;
		r = ls_manifest_parse(out, olen, &back, &err);
		if (r < 0)
			fprintf(stderr, "reparse: %s\n%s\n", err, out);
		FUZZ_CHECK(r == 0);
		same_desc(&m.config, &back.config, 1);
		FUZZ_CHECK(back.nlayers == m.nlayers);
		for (size_t i = 0; i < m.nlayers; i++)
			same_desc(&m.layers[i], &back.layers[i], 1);
		ls_manifest_free(&back);
		free(out);
	}
	ls_manifest_free(&m);
}

static void config_case(const char *buf, size_t len)
{
	struct ls_config cf, back;
	char *err = NULL, *out = NULL;
	size_t olen = 0;
	int r;

	memset(&cf, 0, sizeof(cf));
	r = ls_config_parse(buf, len, &cf, &err);
	if (r < 0) {
		check_failure(r, err, &cf, sizeof(cf));
		return;
	}
	for (size_t i = 0; i < cf.ndiff; i++)
		FUZZ_CHECK(ls_digest_valid(cf.diff_ids[i]));
	if (cf.arch && ls_config_new(cf.arch, "1970-01-01T00:00:00Z", "fuzz",
				     cf.diff_ids, cf.ndiff, &out, &olen) == 0) {
		memset(&back, 0, sizeof(back));
		err = NULL;
		r = ls_config_parse(out, olen, &back, &err);
		if (r < 0)
			fprintf(stderr, "reparse: %s\n%s\n", err, out);
		FUZZ_CHECK(r == 0);
		FUZZ_CHECK(streq(back.arch, cf.arch));
		FUZZ_CHECK(back.ndiff == cf.ndiff);
		for (size_t i = 0; i < cf.ndiff; i++)
			FUZZ_CHECK(!strcmp(back.diff_ids[i], cf.diff_ids[i]));
		ls_config_free(&back);
		free(out);
	}
	ls_config_free(&cf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy: the parsers get (buf, len), no terminator */
	char *buf = malloc(size ? size : 1);

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	index_case(buf, size);
	manifest_case(buf, size);
	config_case(buf, size);
	free(buf);
	return 0;
}
