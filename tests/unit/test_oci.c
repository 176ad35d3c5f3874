// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit tests for layerstore/oci.c: OCI and Docker JSON documents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci.h"

#define D1 \
	"sha256:02fc473f2536269a4488ebab76dcea668414b227e903c372e6bfcd0a52cd5c8a"
#define D2 \
	"sha256:086d82ba14afefa2f0411f726c920c611bad44e0979b39aa3fe6fdedc7da9376"
#define D3 \
	"sha256:ea2ac527570f024b1e0398f96fe2dfcb4eccf8d97b77adaf5b4d7d8954306970"
#define D4 \
	"sha256:9425e8dd1fde24c7793b296d4fdca80970403fa5df0f58a79cee9eb3070ff219"
#define D5 \
	"sha256:62fe46e5c0d546bd15c906ea3f51fbcc3dd60d5c2c534a7b5140ebc1ac123806"

#define MT_DOCKER_LIST \
	"application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIFEST \
	"application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define MT_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar.gzip"

#define DESC(mt, dg, sz) \
	"{\"mediaType\":\"" mt "\",\"digest\":\"" dg "\",\"size\":" sz "}"
#define IDX(m) "{\"schemaVersion\":2,\"manifests\":[" m "]}"
#define MDESC(dg, sz) DESC(LS_MT_OCI_MANIFEST, dg, sz)
#define CFG DESC(LS_MT_OCI_CONFIG, D2, "292")
#define LAYER DESC(LS_MT_OCI_LAYER_GZIP, D3, "139")
#define MAN(cfg, layers) \
	"{\"schemaVersion\":2,\"config\":" cfg ",\"layers\":[" layers "]}"
#define EMPTY_CONF "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}"
#define CONF(rootfs) "{\"os\":\"linux\",\"rootfs\":" rootfs "}"

/* As skopeo writes an OCI layout's index.json. */
static const char oci_index[] =
	"{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
	"\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" D1 "\","
	"\"size\":345,\"annotations\":{\"org.opencontainers.image.ref.name\":"
	"\"v1\"}},{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
	"\"digest\":\"" D5 "\",\"size\":1234,\"annotations\":{"
	"\"org.opencontainers.image.created\":\"2024-01-01T00:00:00Z\"},"
	"\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\","
	"\"variant\":\"v8\"}}]}";

/* A Docker manifest list, pretty printed as registries serve it. */
static const char docker_list[] =
	"{\n   \"schemaVersion\": 2,\n"
	"   \"mediaType\": \"" MT_DOCKER_LIST "\",\n"
	"   \"manifests\": [\n      {\n"
	"         \"mediaType\": \"" MT_DOCKER_MANIFEST "\",\n"
	"         \"size\": 528,\n         \"digest\": \"" D1 "\",\n"
	"         \"platform\": {\n            \"architecture\": \"amd64\",\n"
	"            \"os\": \"linux\"\n         }\n      }\n   ]\n}\n";

/* As skopeo writes an OCI manifest. */
static const char oci_manifest[] =
	"{\"schemaVersion\":2,\"mediaType\":"
	"\"application/vnd.oci.image.manifest.v1+json\",\"config\":{"
	"\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":"
	"\"" D2 "\",\"size\":292},\"layers\":[{\"mediaType\":"
	"\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" D3 "\","
	"\"size\":139},{\"mediaType\":"
	"\"application/vnd.oci.image.layer.v1.tar+zstd\",\"digest\":\"" D4 "\","
	"\"size\":77,\"annotations\":{\"io.github.x\":\"y\"}}],"
	"\"annotations\":{\"org.opencontainers.image.title\":\"t\"}}";

/* As umoci writes one: no mediaType, no layers yet. */
static const char umoci_manifest[] =
	"{\"schemaVersion\":2,\"config\":{\"mediaType\":"
	"\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" D2 "\","
	"\"size\":134},\"layers\":[]}";

/* As skopeo copy --format v2s2 writes a Docker manifest. */
static const char docker_manifest[] =
	"{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_MANIFEST "\","
	"\"config\":{\"mediaType\":\"" MT_DOCKER_CONFIG "\",\"size\":292,"
	"\"digest\":\"" D2 "\"},\"layers\":[{\"mediaType\":\"" MT_DOCKER_LAYER
	"\",\"size\":139,\"digest\":\"" D3 "\"},{\"mediaType\":"
	"\"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip\","
	"\"size\":1000,\"digest\":\"" D4 "\",\"urls\":[\"https://x/y\"]}]}";

/* As umoci repack writes an OCI config. */
static const char oci_config[] =
	"{\"created\":\"2024-11-25T04:51:59.130334524Z\",\"architecture\":"
	"\"amd64\",\"os\":\"linux\",\"config\":{},\"rootfs\":{\"type\":"
	"\"layers\",\"diff_ids\":[\"" D4 "\",\"" D3 "\"]},\"history\":[{"
	"\"created\":\"2024-11-25T04:51:59.142606014Z\",\"created_by\":"
	"\"umoci repack\"}]}";

/* A Docker image config, as docker build writes it. */
static const char docker_config[] =
	"{\"architecture\":\"arm64\",\"config\":{\"Hostname\":\"\",\"Env\":["
	"\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"],"
	"\"Cmd\":[\"/bin/sh\"],\"Image\":\"sha256:abc\",\"Volumes\":null,"
	"\"WorkingDir\":\"\",\"Entrypoint\":null,\"OnBuild\":null,"
	"\"Labels\":null},\"container\":\"4b3f\",\"container_config\":{"
	"\"Cmd\":[\"/bin/sh\",\"-c\",\"#(nop) \",\"CMD [\\\"/bin/sh\\\"]\"]},"
	"\"created\":\"2023-08-07T19:20:20.894140623Z\",\"docker_version\":"
	"\"20.10.23\",\"history\":[{\"created\":\"2023-08-07T19:20:20Z\","
	"\"created_by\":\"/bin/sh -c #(nop) ADD file:32ff in / \"},{"
	"\"created\":\"2023-08-07T19:20:20Z\",\"created_by\":"
	"\"/bin/sh -c #(nop)  CMD [\\\"/bin/sh\\\"]\",\"empty_layer\":true}],"
	"\"os\":\"linux\",\"variant\":\"v8\",\"rootfs\":{\"type\":\"layers\","
	"\"diff_ids\":[\"" D4 "\"]}}";

enum doc { INDEX, MANIFEST, CONFIG };

/* Parse s as a doc; on success free the result at once. */
static int parse(enum doc doc, const char *s, size_t len, char **err)
{
	struct ls_manifest m;
	struct ls_config c;
	struct ls_index i;
	int r;

	*err = NULL;
	switch (doc) {
	case INDEX:
		if ((r = ls_index_parse(s, len, &i, err)) == 0)
			ls_index_free(&i);
		return r;
	case MANIFEST:
		if ((r = ls_manifest_parse(s, len, &m, err)) == 0)
			ls_manifest_free(&m);
		return r;
	case CONFIG:
		if ((r = ls_config_parse(s, len, &c, err)) == 0)
			ls_config_free(&c);
		return r;
	}
	return -EINVAL;
}

/* A message must name the document, be lowercase at the start, carry no
 * control characters and no final period, and stay short. */
static void check_message(enum doc doc, const char *err)
{
	static const char *const prefix[] = { "index: ", "manifest: ",
					      "config: " };
	size_t n;

	assert_non_null(err);
	n = strlen(err);
	assert_true(strncmp(err, prefix[doc], strlen(prefix[doc])) == 0);
	assert_true(n < 300);
	assert_true(err[n - 1] != '.');
	for (size_t i = 0; i < n; i++)
		assert_true(err[i] >= 0x20 && err[i] < 0x7f);
}

static void expect_reject(enum doc doc, const char *s, size_t len,
			  const char *want)
{
	char *err;
	int r = parse(doc, s, len, &err);

	if (r != -EINVAL || !err || !strstr(err, want))
		print_error("input: %.200s\nwant: %s\ngot: %d '%s'\n", s, want,
			    r, err ? err : "(null)");
	assert_int_equal(r, -EINVAL);
	check_message(doc, err);
	assert_non_null(strstr(err, want));
	free(err);
}

#define REJECT(doc, s, want) expect_reject(doc, s, strlen(s), want)

static void test_media_types(void **state)
{
	static const struct {
		const char *type;
		enum ls_media kind;
	} cases[] = {
		{ LS_MT_OCI_INDEX, LS_MT_INDEX },
		{ LS_MT_OCI_MANIFEST, LS_MT_MANIFEST },
		{ LS_MT_OCI_CONFIG, LS_MT_CONFIG },
		{ LS_MT_OCI_LAYER, LS_MT_LAYER_TAR },
		{ LS_MT_OCI_LAYER_GZIP, LS_MT_LAYER_GZIP },
		{ LS_MT_OCI_LAYER_ZSTD, LS_MT_LAYER_ZSTD },
		{ "application/vnd.oci.image.layer.nondistributable.v1.tar",
		  LS_MT_LAYER_FOREIGN },
		{ "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
		  LS_MT_LAYER_FOREIGN },
		{ "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
		  LS_MT_LAYER_FOREIGN },
		{ MT_DOCKER_LIST, LS_MT_INDEX },
		{ MT_DOCKER_MANIFEST, LS_MT_MANIFEST },
		{ MT_DOCKER_CONFIG, LS_MT_CONFIG },
		{ "application/vnd.docker.image.rootfs.diff.tar",
		  LS_MT_LAYER_TAR },
		{ MT_DOCKER_LAYER, LS_MT_LAYER_GZIP },
		{ "application/vnd.docker.image.rootfs.diff.tar.zstd",
		  LS_MT_LAYER_ZSTD },
		{ "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
		  LS_MT_LAYER_FOREIGN },
		{ "application/vnd.docker.image.rootfs.foreign.diff.tar",
		  LS_MT_LAYER_FOREIGN },
		/* near misses */
		{ "application/vnd.oci.image.manifest.v1+json ",
		  LS_MT_UNKNOWN },
		{ "APPLICATION/VND.OCI.IMAGE.INDEX.V1+JSON", LS_MT_UNKNOWN },
		{ "application/vnd.oci.image.layer.v1.tar+gzip+encrypted",
		  LS_MT_UNKNOWN },
		{ "application/vnd.docker.distribution.manifest.v1+prettyjws",
		  LS_MT_UNKNOWN },
		{ "application/vnd.oci.empty.v1+json", LS_MT_UNKNOWN },
		{ "", LS_MT_UNKNOWN },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(ls_media_parse(cases[i].type), cases[i].kind);
	assert_int_equal(ls_media_parse(NULL), LS_MT_UNKNOWN);

	assert_string_equal(ls_media_oci(LS_MT_INDEX), LS_MT_OCI_INDEX);
	assert_string_equal(ls_media_oci(LS_MT_MANIFEST), LS_MT_OCI_MANIFEST);
	assert_string_equal(ls_media_oci(LS_MT_CONFIG), LS_MT_OCI_CONFIG);
	assert_string_equal(ls_media_oci(LS_MT_LAYER_TAR), LS_MT_OCI_LAYER);
	assert_string_equal(ls_media_oci(LS_MT_LAYER_GZIP),
			    LS_MT_OCI_LAYER_GZIP);
	assert_string_equal(ls_media_oci(LS_MT_LAYER_ZSTD),
			    LS_MT_OCI_LAYER_ZSTD);
	assert_null(ls_media_oci(LS_MT_UNKNOWN));
	/* every kind's OCI type maps back to it */
	for (int k = LS_MT_INDEX; k <= LS_MT_LAYER_FOREIGN; k++)
		assert_int_equal(ls_media_parse(ls_media_oci(k)), k);
}

static void test_index_oci(void **state)
{
	struct ls_index idx;
	char *err = NULL;

	assert_int_equal(ls_index_parse(oci_index, strlen(oci_index), &idx,
					&err),
			 0);
	assert_null(err);
	assert_int_equal(idx.n, 2);
	assert_string_equal(idx.manifests[0].media_type, LS_MT_OCI_MANIFEST);
	assert_int_equal(idx.manifests[0].kind, LS_MT_MANIFEST);
	assert_string_equal(idx.manifests[0].digest, D1);
	assert_int_equal(idx.manifests[0].size, 345);
	assert_string_equal(idx.manifests[0].ref_name, "v1");
	assert_null(idx.manifests[0].os);
	assert_null(idx.manifests[0].arch);
	/* other annotations are not a ref; platform is kept */
	assert_null(idx.manifests[1].ref_name);
	assert_string_equal(idx.manifests[1].os, "linux");
	assert_string_equal(idx.manifests[1].arch, "arm64");
	assert_int_equal(idx.manifests[1].size, 1234);
	assert_ptr_equal(ls_index_find_ref(&idx, "v1"), &idx.manifests[0]);
	assert_null(ls_index_find_ref(&idx, "v2"));
	ls_index_free(&idx);
	assert_null(idx.manifests);
	assert_int_equal(idx.n, 0);
}

static void test_index_docker(void **state)
{
	struct ls_index idx;
	char *err = NULL;

	assert_int_equal(ls_index_parse(docker_list, strlen(docker_list), &idx,
					&err),
			 0);
	assert_int_equal(idx.n, 1);
	assert_string_equal(idx.manifests[0].media_type, MT_DOCKER_MANIFEST);
	assert_int_equal(idx.manifests[0].kind, LS_MT_MANIFEST);
	assert_string_equal(idx.manifests[0].arch, "amd64");
	assert_int_equal(idx.manifests[0].size, 528);
	ls_index_free(&idx);

	/* an empty layout's index.json, as the store creates it */
	assert_int_equal(ls_index_parse(IDX(""), strlen(IDX("")), &idx, &err),
			 0);
	assert_int_equal(idx.n, 0);
	assert_null(idx.manifests);
	ls_index_free(&idx);
}

static void test_manifest_oci(void **state)
{
	struct ls_manifest m;
	char *err = NULL;

	assert_int_equal(ls_manifest_parse(oci_manifest, strlen(oci_manifest),
					   &m, &err),
			 0);
	assert_string_equal(m.media_type, LS_MT_OCI_MANIFEST);
	assert_int_equal(m.config.kind, LS_MT_CONFIG);
	assert_string_equal(m.config.digest, D2);
	assert_int_equal(m.config.size, 292);
	assert_int_equal(m.nlayers, 2);
	assert_int_equal(m.layers[0].kind, LS_MT_LAYER_GZIP);
	assert_string_equal(m.layers[0].digest, D3);
	assert_int_equal(m.layers[0].size, 139);
	assert_int_equal(m.layers[1].kind, LS_MT_LAYER_ZSTD);
	assert_string_equal(m.layers[1].media_type, LS_MT_OCI_LAYER_ZSTD);
	assert_int_equal(m.layers[1].size, 77);
	ls_manifest_free(&m);
	assert_null(m.layers);
	assert_null(m.config.digest);

	/* umoci's: no mediaType (so it is an OCI manifest), no layers */
	assert_int_equal(ls_manifest_parse(umoci_manifest,
					   strlen(umoci_manifest), &m, &err),
			 0);
	assert_string_equal(m.media_type, LS_MT_OCI_MANIFEST);
	assert_int_equal(m.nlayers, 0);
	assert_null(m.layers);
	assert_int_equal(m.config.size, 134);
	ls_manifest_free(&m);
	assert_null(err);
}

static void test_manifest_docker(void **state)
{
	struct ls_manifest m;
	char *err = NULL;

	assert_int_equal(ls_manifest_parse(docker_manifest,
					   strlen(docker_manifest), &m, &err),
			 0);
	assert_string_equal(m.media_type, MT_DOCKER_MANIFEST);
	assert_string_equal(m.config.media_type, MT_DOCKER_CONFIG);
	assert_int_equal(m.config.kind, LS_MT_CONFIG);
	assert_int_equal(m.nlayers, 2);
	assert_string_equal(m.layers[0].media_type, MT_DOCKER_LAYER);
	assert_int_equal(m.layers[0].kind, LS_MT_LAYER_GZIP);
	/* the parser takes foreign layers; the loader refuses them */
	assert_int_equal(m.layers[1].kind, LS_MT_LAYER_FOREIGN);
	assert_string_equal(m.layers[1].digest, D4);
	ls_manifest_free(&m);
}

static void test_config(void **state)
{
	struct ls_config c;
	char *err = NULL;

	assert_int_equal(ls_config_parse(oci_config, strlen(oci_config), &c,
					 &err),
			 0);
	assert_int_equal(c.ndiff, 2);
	assert_string_equal(c.diff_ids[0], D4);
	assert_string_equal(c.diff_ids[1], D3);
	assert_string_equal(c.os, "linux");
	assert_string_equal(c.arch, "amd64");
	ls_config_free(&c);
	assert_null(c.diff_ids);
	assert_int_equal(c.ndiff, 0);

	assert_int_equal(ls_config_parse(docker_config, strlen(docker_config),
					 &c, &err),
			 0);
	assert_int_equal(c.ndiff, 1);
	assert_string_equal(c.diff_ids[0], D4);
	assert_string_equal(c.arch, "arm64");
	ls_config_free(&c);

	/* os and architecture are optional; an image may have no layers */
	assert_int_equal(ls_config_parse(EMPTY_CONF, strlen(EMPTY_CONF), &c,
					 &err),
			 0);
	assert_null(c.os);
	assert_null(c.arch);
	assert_int_equal(c.ndiff, 0);
	ls_config_free(&c);
	assert_null(err);
}

static void test_reject_index(void **state)
{
	REJECT(INDEX, "[]", "not a json object");
	REJECT(INDEX, "\"x\"", "not a json object");
	REJECT(INDEX, "{\"manifests\":[]}", "missing 'schemaVersion'");
	REJECT(INDEX, "{\"schemaVersion\":1,\"manifests\":[]}",
	       "unsupported schemaVersion 1");
	REJECT(INDEX, "{\"schemaVersion\":\"2\",\"manifests\":[]}",
	       "'schemaVersion' is not an integer");
	REJECT(INDEX, "{\"schemaVersion\":2.0,\"manifests\":[]}",
	       "'schemaVersion' is not an integer");
	REJECT(INDEX,
	       "{\"schemaVersion\":2,\"mediaType\":\"" LS_MT_OCI_MANIFEST
	       "\",\"manifests\":[]}",
	       "unexpected mediaType 'application/vnd.oci.image.manifest");
	REJECT(INDEX, "{\"schemaVersion\":2,\"mediaType\":7,\"manifests\":[]}",
	       "'mediaType' is not a string");
	REJECT(INDEX, "{\"schemaVersion\":2}", "missing 'manifests'");
	REJECT(INDEX, "{\"schemaVersion\":2,\"manifests\":{}}",
	       "'manifests' is not an array");
	REJECT(INDEX, "{\"schemaVersion\":2,\"manifests\":null}",
	       "missing 'manifests'");
	REJECT(INDEX, IDX("3"), "manifests[0]: not an object");
	REJECT(INDEX, IDX(MDESC(D1, "1") ",{\"digest\":\"" D1 "\",\"size\":1}"),
	       "index: manifests[1]: missing 'mediaType'");
	REJECT(INDEX,
	       IDX("{\"mediaType\":\"" LS_MT_OCI_MANIFEST "\",\"size\":1}"),
	       "manifests[0]: missing 'digest'");
	REJECT(INDEX,
	       IDX("{\"mediaType\":\"" LS_MT_OCI_MANIFEST "\",\"digest\":\"" D1
		   "\"}"),
	       "manifests[0]: missing 'size'");
	REJECT(INDEX, IDX(MDESC(D1, "-1")),
	       "manifests[0]: 'size' is out of range");
	REJECT(INDEX, IDX(MDESC(D1, "1.5")), "'size' is not an integer");
	REJECT(INDEX, IDX(MDESC(D1, "1e3")), "'size' is not an integer");
	REJECT(INDEX, IDX(MDESC(D1, "\"12\"")), "'size' is not an integer");
	REJECT(INDEX, IDX(MDESC(D1, "true")), "'size' is not an integer");
	REJECT(INDEX, IDX(MDESC(D1, "9223372036854775808")),
	       "'size' is out of range");
	REJECT(INDEX, IDX(MDESC(D1, "99999999999999999999999")),
	       "'size' is out of range");
	REJECT(INDEX, IDX(DESC(LS_MT_OCI_LAYER_GZIP, D1, "1")),
	       "manifests[0]: unexpected mediaType "
	       "'application/vnd.oci.image.layer.v1.tar+gzip'");
	REJECT(INDEX, IDX(DESC("text/plain", D1, "1")),
	       "unexpected mediaType 'text/plain'");
	REJECT(INDEX,
	       IDX(MDESC(D1, "1") ",{\"mediaType\":\"" LS_MT_OCI_MANIFEST
				  "\",\"digest\":\"" D1 "\",\"size\":1,"
				  "\"annotations\":[]}"),
	       "manifests[1]: 'annotations' is not an object");
	REJECT(INDEX,
	       IDX("{\"mediaType\":\"" LS_MT_OCI_MANIFEST "\",\"digest\":\"" D1
		   "\",\"size\":1,"
		   "\"annotations\":{\"" LS_REF_ANNOTATION "\":5}}"),
	       "'org.opencontainers.image.ref.name' is not a string");
	REJECT(INDEX,
	       IDX("{\"mediaType\":\"" LS_MT_OCI_MANIFEST "\",\"digest\":\"" D1
		   "\",\"size\":1,"
		   "\"platform\":{\"architecture\":\"amd64\"}}"),
	       "manifests[0]: missing 'os'");
	REJECT(INDEX,
	       IDX("{\"mediaType\":\"" LS_MT_OCI_MANIFEST "\",\"digest\":\"" D1
		   "\",\"size\":1,"
		   "\"platform\":\"linux/amd64\"}"),
	       "'platform' is not an object");
	REJECT(INDEX,
	       IDX("{\"mediaType\":\"" LS_MT_OCI_MANIFEST "\",\"digest\":\"" D1
		   "\",\"size\":1,"
		   "\"annotations\":{\"" LS_REF_ANNOTATION
		   "\":\"a\\u0000b\"}}"),
	       "'org.opencontainers.image.ref.name' contains a NUL byte");
}

static void test_reject_digest(void **state)
{
	/* uppercase hex, wrong length, other algorithms, junk */
	REJECT(INDEX,
	       IDX(MDESC("sha256:02FC473F2536269A4488EBAB76DCEA668414B227"
			 "E903C372E6BFCD0A52CD5C8A",
			 "1")),
	       "manifests[0]: invalid digest 'sha256:02FC473F");
	REJECT(INDEX, IDX(MDESC("sha256:abc", "1")),
	       "invalid digest 'sha256:abc'");
	REJECT(INDEX,
	       IDX(MDESC("sha512:02fc473f2536269a4488ebab76dcea668414b2"
			 "27e903c372e6bfcd0a52cd5c8a",
			 "1")),
	       "invalid digest 'sha512:");
	REJECT(INDEX, IDX(MDESC("../../../etc/passwd", "1")),
	       "invalid digest '../../../etc/passwd'");
	REJECT(INDEX, IDX(MDESC("", "1")), "invalid digest ''");
	REJECT(INDEX,
	       IDX("{\"mediaType\":\"" LS_MT_OCI_MANIFEST
		   "\",\"digest\":[],\"size\":1}"),
	       "'digest' is not a string");
	/* the example of the header, exactly */
	REJECT(MANIFEST,
	       MAN(CFG, LAYER "," LAYER "," LAYER
			      "," DESC(LS_MT_OCI_LAYER, "sha256:xyz", "1")),
	       "manifest: layers[3]: invalid digest 'sha256:xyz'");
}

static void test_reject_quoting(void **state)
{
	char big[400], *err;
	int n;

	/* a long hostile value is cut, and control characters replaced */
	n = snprintf(big, sizeof(big),
		     IDX(MDESC("sha256:\\u001b[31m%0200d", "1")), 7);
	assert_true(n > 0 && (size_t)n < sizeof(big));
	assert_int_equal(parse(INDEX, big, n, &err), -EINVAL);
	check_message(INDEX, err);
	assert_non_null(strstr(err, "invalid digest 'sha256:?[31m000"));
	assert_non_null(strstr(err, "...'"));
	assert_true(strlen(err) < 140);
	free(err);
	/* a NULL ret_err is allowed */
	assert_int_equal(ls_index_parse("[]", 2, NULL, NULL) == -EINVAL, 1);
}

static void test_reject_manifest(void **state)
{
	REJECT(MANIFEST, "{\"schemaVersion\":2,\"layers\":[]}",
	       "missing 'config'");
	REJECT(MANIFEST, "{\"config\":" CFG ",\"layers\":[]}",
	       "missing 'schemaVersion'");
	REJECT(MANIFEST,
	       "{\"schemaVersion\":3,\"config\":" CFG ",\"layers\":[]}",
	       "unsupported schemaVersion 3");
	REJECT(MANIFEST, "{\"schemaVersion\":2,\"config\":" CFG "}",
	       "missing 'layers'");
	REJECT(MANIFEST, "{\"schemaVersion\":2,\"config\":[],\"layers\":[]}",
	       "'config' is not an object");
	REJECT(MANIFEST, MAN(LAYER, ""),
	       "config: unexpected mediaType "
	       "'application/vnd.oci.image.layer.v1.tar+gzip'");
	REJECT(MANIFEST, MAN(DESC(LS_MT_OCI_CONFIG, D2, "-1"), ""),
	       "manifest: config: 'size' is out of range");
	REJECT(MANIFEST, MAN(DESC(LS_MT_OCI_CONFIG, "sha256:", "1"), ""),
	       "manifest: config: invalid digest 'sha256:'");
	REJECT(MANIFEST, MAN(CFG, LAYER "," CFG),
	       "layers[1]: unexpected mediaType "
	       "'application/vnd.oci.image.config.v1+json'");
	REJECT(MANIFEST, MAN(CFG, DESC(LS_MT_OCI_MANIFEST, D1, "1")),
	       "layers[0]: unexpected mediaType");
	REJECT(MANIFEST, MAN(CFG, "\"" D3 "\""), "layers[0]: not an object");
	REJECT(MANIFEST,
	       "{\"schemaVersion\":2,\"mediaType\":\"" LS_MT_OCI_INDEX
	       "\",\"config\":" CFG ",\"layers\":[]}",
	       "manifest: unexpected mediaType "
	       "'application/vnd.oci.image.index.v1+json'");
	REJECT(MANIFEST,
	       "{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_LIST
	       "\",\"config\":" CFG ",\"layers\":[]}",
	       "unexpected mediaType");
	REJECT(MANIFEST,
	       "{\"schemaVersion\":2,\"config\":" CFG ",\"layers\":{}}",
	       "'layers' is not an array");
}

static void test_reject_config(void **state)
{
	REJECT(CONFIG, "{\"os\":\"linux\"}", "config: missing 'rootfs'");
	REJECT(CONFIG, CONF("[]"), "'rootfs' is not an object");
	REJECT(CONFIG, CONF("{\"diff_ids\":[]}"), "rootfs: missing 'type'");
	REJECT(CONFIG, CONF("{\"type\":\"layer\",\"diff_ids\":[]}"),
	       "config: rootfs: unsupported type 'layer'");
	REJECT(CONFIG, CONF("{\"type\":1,\"diff_ids\":[]}"),
	       "rootfs: 'type' is not a string");
	REJECT(CONFIG, CONF("{\"type\":\"layers\"}"), "missing 'diff_ids'");
	REJECT(CONFIG, CONF("{\"type\":\"layers\",\"diff_ids\":\"" D3 "\"}"),
	       "'diff_ids' is not an array");
	REJECT(CONFIG,
	       CONF("{\"type\":\"layers\",\"diff_ids\":[\"" D3 "\",\"sha256:"
		    "9425E8DD1FDE24C7793B296D4FDCA80970403FA5DF0F58A79CEE9EB30"
		    "70FF219\"]}"),
	       "config: rootfs.diff_ids[1]: invalid digest 'sha256:9425E8DD");
	REJECT(CONFIG, CONF("{\"type\":\"layers\",\"diff_ids\":[5]}"),
	       "rootfs.diff_ids[0]: not a string");
	REJECT(CONFIG, CONF("{\"type\":\"layers\",\"diff_ids\":[null]}"),
	       "rootfs.diff_ids[0]: not a string");
	REJECT(CONFIG,
	       "{\"os\":[],\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
	       "'os' is not a string");
	REJECT(CONFIG,
	       "{\"architecture\":1,\"rootfs\":{\"type\":\"layers\","
	       "\"diff_ids\":[]}}",
	       "'architecture' is not a string");
}

static void test_reject_json(void **state)
{
	static const char ok[] = IDX("");
	static const char spaced[] = " \n" IDX("") "\n\t ";
	static const char odd[] =
		"{\"schemaVersion\":2,\"x\":[\"\\\"'NI.\",{\"y\":"
		"[1.5,-2e3,true,false,null,\"\\u00e9\\t\"]}],\"manifests\":[]}";
	char *err;

	/* whitespace around the document is fine, anything else is not */
	assert_int_equal(parse(INDEX, spaced, strlen(spaced), &err), 0);
	REJECT(INDEX, "", "truncated document");
	REJECT(INDEX, "{\"schemaVersion\":2,", "truncated document");
	REJECT(INDEX, IDX("") "x", "invalid json at byte 34");
	REJECT(INDEX, IDX("") IDX(""), "index: ");
	expect_reject(INDEX, ok, sizeof(ok), "trailing data at byte 34");
	REJECT(INDEX, "{\"schemaVersion\":2,\"manifests\":[],}",
	       "invalid json");
	REJECT(INDEX, "{'schemaVersion':2,\"manifests\":[]}", "invalid json");
	REJECT(INDEX, "{\"schemaVersion\":2,\"x\":NaN,\"manifests\":[]}",
	       "invalid json");
	REJECT(INDEX, "{\"schemaVersion\":2,\"x\":-Infinity,\"manifests\":[]}",
	       "invalid json");
	REJECT(INDEX, "{\"schemaVersion\":2,\"x\":1.,\"manifests\":[]}",
	       "invalid json");
	REJECT(INDEX, "{\"schemaVersion\":2,\"x\":\"a\tb\",\"manifests\":[]}",
	       "invalid json");
	REJECT(INDEX, "{\"schemaVersion\":2,\"x\":\"\xff\",\"manifests\":[]}",
	       "invalid json");
	REJECT(INDEX, "/**/{\"schemaVersion\":2,\"manifests\":[]}",
	       "invalid json");
	REJECT(INDEX, "{\"schemaVersion\":02,\"manifests\":[]}",
	       "invalid json");
	/* strings with escapes and unknown fields of any shape are fine */
	assert_int_equal(parse(INDEX, odd, strlen(odd), &err), 0);
}

/* A document of exactly len bytes: ok, padded with spaces inside. */
static char *padded(const char *head, const char *tail, size_t len)
{
	size_t h = strlen(head), t = strlen(tail);
	char *s = malloc(len);

	assert_non_null(s);
	memcpy(s, head, h);
	memset(s + h, ' ', len - h - t);
	memcpy(s + len - t, tail, t);
	return s;
}

static void test_limits(void **state)
{
	char *s, *err;
	size_t n, h;

	/* 4 MiB is the most we read; 5 MiB is refused before parsing */
	s = padded("{\"schemaVersion\":2,", "\"manifests\":[]}", 4u << 20);
	assert_int_equal(parse(INDEX, s, 4u << 20, &err), 0);
	free(s);
	s = padded("{\"schemaVersion\":2,", "\"manifests\":[]}", 5u << 20);
	expect_reject(INDEX, s, 5u << 20, "document too large");
	expect_reject(MANIFEST, s, 5u << 20, "document too large");
	expect_reject(CONFIG, s, (4u << 20) + 1, "document too large");
	free(s);

	/* deep nesting is refused by the tokenizer, not by the stack */
	n = 20000;
	s = malloc(2 * n + 64);
	assert_non_null(s);
	strcpy(s, "{\"schemaVersion\":2,\"x\":");
	h = strlen(s);
	memset(s + h, '[', n);
	memset(s + h + n, ']', n);
	strcpy(s + h + 2 * n, ",\"manifests\":[]}");
	REJECT(INDEX, s, "nesting too deep");
	free(s);
	/* some depth is normal in configs */
	REJECT(CONFIG, "{\"a\":{\"b\":{\"c\":[[[[{\"d\":[[]]}]]]]}}}",
	       "missing 'rootfs'");
}

/* count copies of item, comma separated, between head and tail */
static char *repeat(const char *head, const char *item, size_t count,
		    const char *tail)
{
	size_t h = strlen(head), i = strlen(item), t = strlen(tail);
	char *s = malloc(h + count * (i + 1) + t + 1), *p = s;

	assert_non_null(s);
	memcpy(p, head, h);
	p += h;
	for (size_t k = 0; k < count; k++) {
		memcpy(p, item, i);
		p += i;
		*p++ = ',';
	}
	p -= count > 0;
	strcpy(p, tail);
	return s;
}

static void test_too_many(void **state)
{
	char *s, *err;

	s = repeat("{\"schemaVersion\":2,\"manifests\":[", "{}", 100001, "]}");
	REJECT(INDEX, s,
	       "index: too many entries in 'manifests' (100001, limit 100000)");
	free(s);
	s = repeat("{\"schemaVersion\":2,\"config\":" CFG ",\"layers\":[", "{}",
		   10001, "]}");
	REJECT(MANIFEST, s,
	       "too many entries in 'layers' (10001, limit 10000)");
	free(s);
	s = repeat("{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[", "0",
		   10001, "]}}");
	REJECT(CONFIG, s, "too many entries in 'diff_ids'");
	free(s);
	/* at the limit, fine */
	s = repeat("{\"schemaVersion\":2,\"config\":" CFG ",\"layers\":[",
		   LAYER, 10000, "]}");
	assert_int_equal(parse(MANIFEST, s, strlen(s), &err), 0);
	free(s);
}

static void set_desc(struct ls_descriptor *d, const char *digest, int64_t size)
{
	memset(d, 0, sizeof(*d));
	d->kind = LS_MT_MANIFEST;
	d->digest = (char *)digest;
	d->size = size;
}

#define SER_EMPTY                             \
	"{\"schemaVersion\":2,\"mediaType\":" \
	"\"application/vnd.oci.image.index.v1+json\",\"manifests\":[]}"

static void test_serialize(void **state)
{
	static const char want[] =
		"{\"schemaVersion\":2,\"mediaType\":"
		"\"application/vnd.oci.image.index.v1+json\",\"manifests\":["
		"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
		"\"digest\":\"" D1 "\",\"size\":345,\"annotations\":{"
		"\"org.opencontainers.image.ref.name\":\"v1\"}},"
		"{\"mediaType\":\"" MT_DOCKER_MANIFEST "\",\"digest\":\"" D5
		"\",\"size\":9007199254740993,\"annotations\":{"
		"\"org.opencontainers.image.ref.name\":"
		"\"example.com/a/b:v2\\\"q\\\\\"},\"platform\":{"
		"\"architecture\":\"arm64\",\"os\":\"linux\"}},"
		"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
		"\"digest\":\"" D3 "\",\"size\":0}]}";
	struct ls_index idx = { 0 }, back;
	struct ls_descriptor d;
	char *out, *out2, *err = NULL;
	size_t len, len2;

	assert_int_equal(ls_index_serialize(&idx, &out, &len), 0);
	assert_string_equal(out, SER_EMPTY);
	assert_int_equal(len, strlen(SER_EMPTY));
	free(out);

	set_desc(&d, D1, 345);
	d.media_type = (char *)LS_MT_OCI_MANIFEST;
	assert_int_equal(ls_index_set_ref(&idx, "v1", &d), 0);
	set_desc(&d, D5, 9007199254740993);
	d.media_type = (char *)MT_DOCKER_MANIFEST;
	d.os = (char *)"linux";
	d.arch = (char *)"arm64";
	assert_int_equal(ls_index_set_ref(&idx, "example.com/a/b:v2\"q\\", &d),
			 0);
	/* an entry without a ref (a manifest list's child, say) */
	set_desc(&d, D3, 0);
	idx.manifests = realloc(idx.manifests, 3 * sizeof(d));
	assert_int_equal(ls_descriptor_copy(&idx.manifests[2], &d), 0);
	idx.n = 3;

	assert_int_equal(ls_index_serialize(&idx, &out, &len), 0);
	assert_string_equal(out, want);
	assert_int_equal(len, strlen(want));

	/* round trip: parse it back, serialise again, same bytes */
	assert_int_equal(ls_index_parse(out, len, &back, &err), 0);
	assert_int_equal(back.n, 3);
	assert_string_equal(back.manifests[1].ref_name,
			    "example.com/a/b:v2\"q\\");
	assert_int_equal(back.manifests[1].size, 9007199254740993);
	assert_string_equal(back.manifests[1].os, "linux");
	assert_int_equal(back.manifests[1].kind, LS_MT_MANIFEST);
	assert_null(back.manifests[2].ref_name);
	assert_int_equal(ls_index_serialize(&back, &out2, &len2), 0);
	assert_int_equal(len2, len);
	assert_memory_equal(out, out2, len);
	free(out2);
	/* the same index twice: the same bytes */
	assert_int_equal(ls_index_serialize(&idx, &out2, NULL), 0);
	assert_string_equal(out, out2);
	free(out2);
	free(out);
	ls_index_free(&back);
	ls_index_free(&idx);
}

static void test_serialize_invalid(void **state)
{
	struct ls_descriptor d;
	struct ls_index idx = { .manifests = &d, .n = 1 };
	char *out = (char *)"untouched";

	/* what we write must parse back, so bad entries are refused */
	set_desc(&d, "sha256:ABC", 1);
	assert_int_equal(ls_index_serialize(&idx, &out, NULL), -EINVAL);
	set_desc(&d, D1, -1);
	assert_int_equal(ls_index_serialize(&idx, &out, NULL), -EINVAL);
	set_desc(&d, D1, 1);
	d.kind = LS_MT_LAYER_GZIP;
	assert_int_equal(ls_index_serialize(&idx, &out, NULL), -EINVAL);
	set_desc(&d, D1, 1);
	d.kind = LS_MT_UNKNOWN;
	assert_int_equal(ls_index_serialize(&idx, &out, NULL), -EINVAL);
	set_desc(&d, D1, 1);
	d.os = (char *)"linux";
	assert_int_equal(ls_index_serialize(&idx, &out, NULL), -EINVAL);
	assert_string_equal(out, "untouched");
}

static void test_refs(void **state)
{
	struct ls_index idx = { 0 };
	struct ls_descriptor d;
	const struct ls_descriptor *f;

	set_desc(&d, D1, 1);
	assert_null(ls_index_find_ref(&idx, "v1"));
	assert_int_equal(ls_index_remove_ref(&idx, "v1"), -ENOENT);
	assert_int_equal(ls_index_set_ref(&idx, "", &d), -EINVAL);
	assert_int_equal(idx.n, 0);

	d.ref_name = (char *)"ignored";
	assert_int_equal(ls_index_set_ref(&idx, "v1", &d), 0);
	set_desc(&d, D2, 2);
	assert_int_equal(ls_index_set_ref(&idx, "v2", &d), 0);
	set_desc(&d, D3, 3);
	assert_int_equal(ls_index_set_ref(&idx, "v3", &d), 0);
	assert_int_equal(idx.n, 3);
	assert_string_equal(idx.manifests[0].ref_name, "v1");
	assert_null(ls_index_find_ref(&idx, "ignored"));

	/* replacing keeps the entry's place */
	set_desc(&d, D4, 4);
	assert_int_equal(ls_index_set_ref(&idx, "v2", &d), 0);
	assert_int_equal(idx.n, 3);
	f = ls_index_find_ref(&idx, "v2");
	assert_ptr_equal(f, &idx.manifests[1]);
	assert_string_equal(f->digest, D4);
	assert_int_equal(f->size, 4);
	assert_null(f->media_type);

	/* a ref set from another entry of the same index */
	assert_int_equal(ls_index_set_ref(&idx, "v1",
					  ls_index_find_ref(&idx, "v3")),
			 0);
	assert_string_equal(ls_index_find_ref(&idx, "v1")->digest, D3);
	assert_string_equal(ls_index_find_ref(&idx, "v3")->digest, D3);

	assert_int_equal(ls_index_remove_ref(&idx, "v2"), 0);
	assert_int_equal(idx.n, 2);
	assert_null(ls_index_find_ref(&idx, "v2"));
	assert_int_equal(ls_index_remove_ref(&idx, "v2"), -ENOENT);
	assert_string_equal(idx.manifests[0].ref_name, "v1");
	assert_string_equal(idx.manifests[1].ref_name, "v3");
	assert_int_equal(ls_index_remove_ref(&idx, "v1"), 0);
	assert_int_equal(ls_index_remove_ref(&idx, "v3"), 0);
	assert_int_equal(idx.n, 0);
	ls_index_free(&idx);
}

static void test_refs_duplicates(void **state)
{
	static const char dup[] = IDX(
		"{\"mediaType\":\"" LS_MT_OCI_MANIFEST "\",\"digest\":\"" D1
		"\",\"size\":1,\"annotations\":{\"" LS_REF_ANNOTATION
		"\":\"x\"}},"
		"{\"mediaType\":\"" LS_MT_OCI_MANIFEST "\",\"digest\":\"" D2
		"\",\"size\":2,\"annotations\":{\"" LS_REF_ANNOTATION
		"\":\"y\"}},"
		"{\"mediaType\":\"" LS_MT_OCI_MANIFEST "\",\"digest\":\"" D3
		"\",\"size\":3,\"annotations\":{\"" LS_REF_ANNOTATION
		"\":\"x\"}}");
	struct ls_index idx;
	struct ls_descriptor d;
	char *err;

	/* a hand-edited index may name a ref twice: setting it leaves one */
	assert_int_equal(ls_index_parse(dup, strlen(dup), &idx, &err), 0);
	assert_string_equal(ls_index_find_ref(&idx, "x")->digest, D1);
	set_desc(&d, D4, 4);
	assert_int_equal(ls_index_set_ref(&idx, "x", &d), 0);
	assert_int_equal(idx.n, 2);
	assert_string_equal(idx.manifests[0].digest, D4);
	assert_string_equal(idx.manifests[1].ref_name, "y");
	ls_index_free(&idx);
	/* and removing it removes every one */
	assert_int_equal(ls_index_parse(dup, strlen(dup), &idx, &err), 0);
	assert_int_equal(ls_index_remove_ref(&idx, "x"), 0);
	assert_int_equal(idx.n, 1);
	assert_string_equal(idx.manifests[0].ref_name, "y");
	ls_index_free(&idx);
}

static void test_copy_free(void **state)
{
	struct ls_descriptor a = { 0 }, b;
	struct ls_index idx = { 0 };
	struct ls_manifest m = { 0 };
	struct ls_config c = { 0 };

	/* _free takes zeroed structs and leaves them zeroed */
	ls_descriptor_free(&a);
	ls_index_free(&idx);
	ls_manifest_free(&m);
	ls_config_free(&c);
	ls_config_free(&c);
	assert_null(a.digest);

	a.media_type = strdup(MT_DOCKER_MANIFEST);
	a.kind = LS_MT_MANIFEST;
	a.digest = strdup(D1);
	a.size = 42;
	a.ref_name = strdup("r");
	a.os = strdup("linux");
	a.arch = strdup("riscv64");
	assert_int_equal(ls_descriptor_copy(&b, &a), 0);
	ls_descriptor_free(&a);
	assert_null(a.media_type);
	assert_null(a.ref_name);
	assert_string_equal(b.media_type, MT_DOCKER_MANIFEST);
	assert_int_equal(b.kind, LS_MT_MANIFEST);
	assert_string_equal(b.digest, D1);
	assert_int_equal(b.size, 42);
	assert_string_equal(b.ref_name, "r");
	assert_string_equal(b.os, "linux");
	assert_string_equal(b.arch, "riscv64");
	ls_descriptor_free(&b);
	ls_descriptor_free(&b);
	/* a descriptor with only some fields copies as such */
	set_desc(&a, D2, 7);
	assert_int_equal(ls_descriptor_copy(&b, &a), 0);
	assert_null(b.media_type);
	assert_null(b.os);
	assert_string_equal(b.digest, D2);
	ls_descriptor_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_media_types),
		cmocka_unit_test(test_index_oci),
		cmocka_unit_test(test_index_docker),
		cmocka_unit_test(test_manifest_oci),
		cmocka_unit_test(test_manifest_docker),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_reject_index),
		cmocka_unit_test(test_reject_digest),
		cmocka_unit_test(test_reject_quoting),
		cmocka_unit_test(test_reject_manifest),
		cmocka_unit_test(test_reject_config),
		cmocka_unit_test(test_reject_json),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_too_many),
		cmocka_unit_test(test_serialize),
		cmocka_unit_test(test_serialize_invalid),
		cmocka_unit_test(test_refs),
		cmocka_unit_test(test_refs_duplicates),
		cmocka_unit_test(test_copy_free),
	};
	return cmocka_run_group_tests_name("oci", tests, NULL, NULL);
}
