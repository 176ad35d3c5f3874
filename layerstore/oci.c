// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * OCI JSON documents: strict parsers for untrusted index, manifest and
 * config blobs, and the deterministic writer of the store's index.json.
 *
 * Parsing is two steps: json-c builds a tree, bounded in input size and
 * nesting depth, then we walk it and copy out only what we use, so nothing
 * points into the tree or the input afterwards. A failure names the
 * document and the field, quoting at most OCI_QUOTE_MAX bytes of the
 * untrusted value with anything unprintable replaced:
 *
 *	manifest: layers[3]: invalid digest 'sha256:xyz'
 *
 * Like Go's decoders (what skopeo and umoci use), an optional field that
 * is null counts as absent and unknown fields are ignored.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <sys/utsname.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cleanup.h"
#include "oci.h"
#include "store-private.h"

#define OCI_MAX_DOC (4u << 20)
#define OCI_MAX_DEPTH 32
#define OCI_MAX_MANIFESTS 100000
#define OCI_MAX_LAYERS 10000
#define OCI_QUOTE_MAX 80
#define OCI_QUOTE_BUF (OCI_QUOTE_MAX + 4)

#define MT_DOCKER "application/vnd.docker."
#define MT_OCI_NONDIST "application/vnd.oci.image.layer.nondistributable.v1.tar"

#define KIND(k) (1u << (k))
#define KINDS_LAYER                                       \
	(KIND(LS_MT_LAYER_TAR) | KIND(LS_MT_LAYER_GZIP) | \
	 KIND(LS_MT_LAYER_ZSTD) | KIND(LS_MT_LAYER_FOREIGN))

static const struct {
	const char *type;
	enum ls_media kind;
} media_types[] = {
	{ LS_MT_OCI_INDEX, LS_MT_INDEX },
	{ LS_MT_OCI_MANIFEST, LS_MT_MANIFEST },
	{ LS_MT_OCI_CONFIG, LS_MT_CONFIG },
	{ LS_MT_OCI_LAYER, LS_MT_LAYER_TAR },
	{ LS_MT_OCI_LAYER_GZIP, LS_MT_LAYER_GZIP },
	{ LS_MT_OCI_LAYER_ZSTD, LS_MT_LAYER_ZSTD },
	{ MT_OCI_NONDIST, LS_MT_LAYER_FOREIGN },
	{ MT_OCI_NONDIST "+gzip", LS_MT_LAYER_FOREIGN },
	{ MT_OCI_NONDIST "+zstd", LS_MT_LAYER_FOREIGN },
	{ MT_DOCKER "distribution.manifest.list.v2+json", LS_MT_INDEX },
	{ MT_DOCKER "distribution.manifest.v2+json", LS_MT_MANIFEST },
	{ MT_DOCKER "container.image.v1+json", LS_MT_CONFIG },
	{ MT_DOCKER "image.rootfs.diff.tar", LS_MT_LAYER_TAR },
	{ MT_DOCKER "image.rootfs.diff.tar.gzip", LS_MT_LAYER_GZIP },
	/* containerd's name; Docker itself never wrote zstd layers */
	{ MT_DOCKER "image.rootfs.diff.tar.zstd", LS_MT_LAYER_ZSTD },
	{ MT_DOCKER "image.rootfs.foreign.diff.tar", LS_MT_LAYER_FOREIGN },
	{ MT_DOCKER "image.rootfs.foreign.diff.tar.gzip", LS_MT_LAYER_FOREIGN },
};

enum ls_media ls_media_parse(const char *media_type)
{
	if (!media_type)
		return LS_MT_UNKNOWN;
	for (size_t i = 0; i < ARRAY_SIZE(media_types); i++)
		if (strcmp(media_type, media_types[i].type) == 0)
			return media_types[i].kind;
	return LS_MT_UNKNOWN;
}

const char *ls_media_oci(enum ls_media m)
{
	switch (m) {
	case LS_MT_INDEX:
		return LS_MT_OCI_INDEX;
	case LS_MT_MANIFEST:
		return LS_MT_OCI_MANIFEST;
	case LS_MT_CONFIG:
		return LS_MT_OCI_CONFIG;
	case LS_MT_LAYER_TAR:
		return LS_MT_OCI_LAYER;
	case LS_MT_LAYER_GZIP:
		return LS_MT_OCI_LAYER_GZIP;
	case LS_MT_LAYER_ZSTD:
		return LS_MT_OCI_LAYER_ZSTD;
	case LS_MT_LAYER_FOREIGN:
		return MT_OCI_NONDIST "+gzip";
	case LS_MT_UNKNOWN:
		break;
	}
	return NULL;
}

/* --- errors -------------------------------------------------------------- */

/* Where a parser is: the document, the field being read ("layers[3]"),
 * and where the message goes. */
struct pctx {
	const char *doc;
	char where[48];
	char **ret_err;
};

/* Copy at most OCI_QUOTE_MAX bytes of untrusted s into buf, printable
 * ASCII only, so a message never carries terminal escapes or a novel. */
static const char *quote(char *buf, const char *s)
{
	size_t i;

	for (i = 0; s[i] && i < OCI_QUOTE_MAX; i++)
		buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	strcpy(buf + i, s[i] ? "..." : "");
	return buf;
}

static int fail(struct pctx *c, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct pctx *c, int r, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;
	int n;

	if (!c->ret_err)
		return r;
	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	*c->ret_err = NULL;
	if (n < 0)
		return r;
	if (asprintf(c->ret_err, "%s: %s%s%s", c->doc, c->where,
		     c->where[0] ? ": " : "", msg) < 0)
		*c->ret_err = NULL;
	return r;
}

static int fail_nomem(struct pctx *c)
{
	return fail(c, -ENOMEM, "out of memory");
}

/* --- reading fields ------------------------------------------------------ */

static const char *type_name(enum json_type t)
{
	switch (t) {
	case json_type_object:
		return "an object";
	case json_type_array:
		return "an array";
	case json_type_string:
		return "a string";
	case json_type_int:
		return "an integer";
	default:
		return "of the expected type";
	}
}

/* Member key of o, of type t, in *ret; NULL when absent or null, which is
 * an error if the member is required. */
static int get_member(struct pctx *c, struct json_object *o, const char *key,
		      enum json_type t, int required, struct json_object **ret)
{
	struct json_object *v = NULL;

	*ret = NULL;
	if (!json_object_object_get_ex(o, key, &v) || !v) {
		if (required)
			return fail(c, -EINVAL, "missing '%s'", key);
		return 0;
	}
	if (!json_object_is_type(v, t))
		return fail(c, -EINVAL, "'%s' is not %s", key, type_name(t));
	*ret = v;
	return 0;
}

/* A string member; an embedded NUL (from "\u0000") is refused, since C
 * would see a different string than every other reader. */
static int get_string(struct pctx *c, struct json_object *o, const char *key,
		      int required, const char **ret)
{
	struct json_object *v;
	int r = get_member(c, o, key, json_type_string, required, &v);

	*ret = NULL;
	if (r < 0 || !v)
		return r;
	*ret = json_object_get_string(v);
	if (strlen(*ret) != (size_t)json_object_get_string_len(v))
		return fail(c, -EINVAL, "'%s' contains a NUL byte", key);
	return 0;
}

static int dup_string(struct pctx *c, struct json_object *o, const char *key,
		      int required, char **ret)
{
	const char *s;
	int r = get_string(c, o, key, required, &s);

	if (r < 0 || !s)
		return r;
	*ret = strdup(s);
	return *ret ? 0 : fail_nomem(c);
}

/* An integer in [0, INT64_MAX]: json-c keeps larger ones as uint64 and
 * saturates int64, so compare both views to catch an overflow. */
static int get_int(struct pctx *c, struct json_object *o, const char *key,
		   int64_t *ret)
{
	struct json_object *v;
	int64_t i;
	int r = get_member(c, o, key, json_type_int, 1, &v);

	if (r < 0)
		return r;
	i = json_object_get_int64(v);
	if (i < 0 || (uint64_t)i != json_object_get_uint64(v))
		return fail(c, -EINVAL, "'%s' is out of range", key);
	*ret = i;
	return 0;
}

static int get_array(struct pctx *c, struct json_object *o, const char *key,
		     size_t max, struct json_object **ret, size_t *ret_n)
{
	int r = get_member(c, o, key, json_type_array, 1, ret);

	if (r < 0)
		return r;
	*ret_n = json_object_array_length(*ret);
	if (*ret_n > max)
		return fail(c, -EINVAL,
			    "too many entries in '%s' (%zu, limit %zu)", key,
			    *ret_n, max);
	return 0;
}

static int check_schema(struct pctx *c, struct json_object *o)
{
	int64_t v;
	int r = get_int(c, o, "schemaVersion", &v);

	if (r == 0 && v != 2)
		r = fail(c, -EINVAL, "unsupported schemaVersion %lld",
			 (long long)v);
	return r;
}

/* An optional top-level mediaType must name the document being parsed;
 * *ret is the type as found, or the OCI one when absent. */
static int check_media_type(struct pctx *c, struct json_object *o,
			    enum ls_media want, char **ret)
{
	char q[OCI_QUOTE_BUF];
	const char *mt;
	int r = get_string(c, o, "mediaType", 0, &mt);

	if (r < 0)
		return r;
	if (mt && ls_media_parse(mt) != want)
		return fail(c, -EINVAL, "unexpected mediaType '%s'",
			    quote(q, mt));
	if (!ret)
		return 0;
	*ret = strdup(mt ? mt : ls_media_oci(want));
	return *ret ? 0 : fail_nomem(c);
}

static int check_digest(struct pctx *c, const char *digest)
{
	char q[OCI_QUOTE_BUF];

	if (ls_digest_valid(digest))
		return 0;
	return fail(c, -EINVAL, "invalid digest '%s'", quote(q, digest));
}

/* json-c's strict mode still takes a few things RFC 8259 does not:
 * single-quoted keys, NaN and Infinity, "1.", raw control characters in
 * strings. Find them (in text json-c accepted, so the rest is well
 * formed), lest we accept what Go's decoder in skopeo or umoci refuses. */
static size_t lax_json_at(const char *buf, size_t len)
{
	int in_string = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = buf[i];

		if (in_string && ch < 0x20)
			return i;
		if (in_string && ch == '\\')
			i++;
		else if (ch == '"')
			in_string = !in_string;
		else if (!in_string && ch && strchr("'NI", ch))
			return i;
		else if (!in_string && ch == '.' &&
			 (i + 1 == len || !isdigit((unsigned char)buf[i + 1])))
			return i;
	}
	return len;
}

static int tokenize(struct pctx *c, const char *buf, size_t len,
		    struct json_object **ret, size_t *ret_end)
{
	struct json_tokener *tok = json_tokener_new_ex(OCI_MAX_DEPTH);
	enum json_tokener_error e;
	struct json_object *o;

	if (!tok)
		return fail_nomem(c);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
					    JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, buf, (int)len);
	e = json_tokener_get_error(tok);
	*ret_end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!o && e == json_tokener_continue)
		return fail(c, -EINVAL, "truncated document");
	if (!o)
		return fail(c, -EINVAL, "invalid json at byte %zu: %s",
			    *ret_end, json_tokener_error_desc(e));
	*ret = o;
	return 0;
}

/* The whole input as one JSON object, or a message saying why not. */
static int parse_doc(struct pctx *c, const char *buf, size_t len,
		     struct json_object **ret)
{
	struct json_object *o = NULL;
	size_t end = 0, lax;
	int r;

	if (len > OCI_MAX_DOC)
		return fail(c, -EINVAL,
			    "document too large (%zu bytes, limit %u)", len,
			    OCI_MAX_DOC);
	r = tokenize(c, buf, len, &o, &end);
	if (r < 0)
		return r;
	lax = lax_json_at(buf, end);
	if (lax < end)
		r = fail(c, -EINVAL, "invalid json at byte %zu", lax);
	while (end < len && buf[end] && strchr(" \t\r\n", buf[end]))
		end++;
	if (r == 0 && end < len)
		r = fail(c, -EINVAL, "trailing data at byte %zu", end);
	else if (r == 0 && !json_object_is_type(o, json_type_object))
		r = fail(c, -EINVAL, "not a json object");
	if (r < 0) {
		json_object_put(o);
		return r;
	}
	*ret = o;
	return 0;
}

/* --- descriptors --------------------------------------------------------- */

static int parse_platform(struct pctx *c, struct json_object *o,
			  struct ls_descriptor *d)
{
	struct json_object *p;
	int r = get_member(c, o, "platform", json_type_object, 0, &p);

	if (r < 0 || !p)
		return r;
	r = dup_string(c, p, "os", 1, &d->os);
	if (r == 0)
		r = dup_string(c, p, "architecture", 1, &d->arch);
	return r;
}

static int parse_annotations(struct pctx *c, struct json_object *o,
			     struct ls_descriptor *d)
{
	struct json_object *a;
	int r = get_member(c, o, "annotations", json_type_object, 0, &a);

	if (r < 0 || !a)
		return r;
	return dup_string(c, a, LS_REF_ANNOTATION, 0, &d->ref_name);
}

/* A descriptor whose kind is one of kinds (a KIND() mask); d is zeroed
 * and freed by the caller on failure. */
static int parse_descriptor(struct pctx *c, struct json_object *o,
			    unsigned kinds, struct ls_descriptor *d)
{
	char q[OCI_QUOTE_BUF];
	int r;

	if (!json_object_is_type(o, json_type_object))
		return fail(c, -EINVAL, "not an object");
	r = dup_string(c, o, "mediaType", 1, &d->media_type);
	if (r == 0)
		r = dup_string(c, o, "digest", 1, &d->digest);
	if (r == 0)
		r = get_int(c, o, "size", &d->size);
	if (r < 0)
		return r;
	d->kind = ls_media_parse(d->media_type);
	if (!(KIND(d->kind) & kinds))
		return fail(c, -EINVAL, "unexpected mediaType '%s'",
			    quote(q, d->media_type));
	r = check_digest(c, d->digest);
	if (r == 0)
		r = parse_annotations(c, o, d);
	if (r == 0)
		r = parse_platform(c, o, d);
	return r;
}

/* The descriptors of array key, into a new array of *ret_n entries. */
static int parse_descriptors(struct pctx *c, struct json_object *o,
			     const char *key, size_t max, unsigned kinds,
			     struct ls_descriptor **ret, size_t *ret_n)
{
	struct json_object *a;
	size_t n;
	int r = get_array(c, o, key, max, &a, &n);

	if (r < 0 || n == 0)
		return r;
	*ret = calloc(n, sizeof(**ret));
	if (!*ret)
		return fail_nomem(c);
	*ret_n = n;
	for (size_t i = 0; i < n && r == 0; i++) {
		snprintf(c->where, sizeof(c->where), "%s[%zu]", key, i);
		r = parse_descriptor(c, json_object_array_get_idx(a, i), kinds,
				     &(*ret)[i]);
	}
	c->where[0] = '\0';
	return r;
}

int ls_descriptor_copy(struct ls_descriptor *dst,
		       const struct ls_descriptor *src)
{
	struct ls_descriptor d = { .kind = src->kind, .size = src->size };
	const char *const from[] = { src->media_type, src->digest,
				     src->ref_name, src->os, src->arch };
	char **const to[] = { &d.media_type, &d.digest, &d.ref_name, &d.os,
			      &d.arch };

	for (size_t i = 0; i < ARRAY_SIZE(from); i++) {
		if (from[i] && !(*to[i] = strdup(from[i]))) {
			ls_descriptor_free(&d);
			return -ENOMEM;
		}
	}
	*dst = d;
	return 0;
}

void ls_descriptor_free(struct ls_descriptor *d)
{
	free(d->media_type);
	free(d->digest);
	free(d->ref_name);
	free(d->os);
	free(d->arch);
	memset(d, 0, sizeof(*d));
}

static void free_descriptors(struct ls_descriptor *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ls_descriptor_free(&v[i]);
	free(v);
}

/* --- documents ----------------------------------------------------------- */

int ls_index_parse(const char *buf, size_t len, struct ls_index *ret,
		   char **ret_err)
{
	struct pctx c = { .doc = "index", .ret_err = ret_err };
	struct ls_index idx = { 0 };
	struct json_object *o;
	int r = parse_doc(&c, buf, len, &o);

	if (r < 0)
		return r;
	r = check_schema(&c, o);
	if (r == 0)
		r = check_media_type(&c, o, LS_MT_INDEX, NULL);
	if (r == 0)
		r = parse_descriptors(&c, o, "manifests", OCI_MAX_MANIFESTS,
				      KIND(LS_MT_MANIFEST) | KIND(LS_MT_INDEX),
				      &idx.manifests, &idx.n);
	json_object_put(o);
	if (r < 0) {
		ls_index_free(&idx);
		return r;
	}
	*ret = idx;
	return 0;
}

static int manifest_from_json(struct pctx *c, struct json_object *o,
			      struct ls_manifest *m)
{
	struct json_object *cfg;
	int r = check_schema(c, o);

	if (r == 0)
		r = check_media_type(c, o, LS_MT_MANIFEST, &m->media_type);
	if (r == 0)
		r = get_member(c, o, "config", json_type_object, 1, &cfg);
	if (r < 0)
		return r;
	strcpy(c->where, "config");
	r = parse_descriptor(c, cfg, KIND(LS_MT_CONFIG), &m->config);
	c->where[0] = '\0';
	if (r == 0)
		r = parse_descriptors(c, o, "layers", OCI_MAX_LAYERS,
				      KINDS_LAYER, &m->layers, &m->nlayers);
	return r;
}

int ls_manifest_parse(const char *buf, size_t len, struct ls_manifest *ret,
		      char **ret_err)
{
	struct pctx c = { .doc = "manifest", .ret_err = ret_err };
	struct ls_manifest m = { 0 };
	struct json_object *o;
	int r = parse_doc(&c, buf, len, &o);

	if (r < 0)
		return r;
	r = manifest_from_json(&c, o, &m);
	json_object_put(o);
	if (r < 0) {
		ls_manifest_free(&m);
		return r;
	}
	*ret = m;
	return 0;
}

static int parse_diff_ids(struct pctx *c, struct json_object *rootfs,
			  struct ls_config *cf)
{
	struct json_object *a, *v;
	size_t n;
	int r = get_array(c, rootfs, "diff_ids", OCI_MAX_LAYERS, &a, &n);

	if (r < 0 || n == 0)
		return r;
	cf->diff_ids = calloc(n, sizeof(*cf->diff_ids));
	if (!cf->diff_ids)
		return fail_nomem(c);
	cf->ndiff = n;
	for (size_t i = 0; i < n; i++) {
		snprintf(c->where, sizeof(c->where), "rootfs.diff_ids[%zu]", i);
		v = json_object_array_get_idx(a, i);
		if (!json_object_is_type(v, json_type_string))
			return fail(c, -EINVAL, "not a string");
		r = check_digest(c, json_object_get_string(v));
		if (r < 0)
			return r;
		cf->diff_ids[i] = strdup(json_object_get_string(v));
		if (!cf->diff_ids[i])
			return fail_nomem(c);
	}
	c->where[0] = '\0';
	return 0;
}

static int config_from_json(struct pctx *c, struct json_object *o,
			    struct ls_config *cf)
{
	struct json_object *rootfs;
	const char *type;
	char q[OCI_QUOTE_BUF];
	int r = dup_string(c, o, "os", 0, &cf->os);

	if (r == 0)
		r = dup_string(c, o, "architecture", 0, &cf->arch);
	if (r == 0)
		r = get_member(c, o, "rootfs", json_type_object, 1, &rootfs);
	if (r < 0)
		return r;
	strcpy(c->where, "rootfs");
	r = get_string(c, rootfs, "type", 1, &type);
	if (r == 0 && strcmp(type, "layers") != 0)
		r = fail(c, -EINVAL, "unsupported type '%s'", quote(q, type));
	c->where[0] = '\0';
	if (r == 0)
		r = parse_diff_ids(c, rootfs, cf);
	return r;
}

int ls_config_parse(const char *buf, size_t len, struct ls_config *ret,
		    char **ret_err)
{
	struct pctx c = { .doc = "config", .ret_err = ret_err };
	struct ls_config cf = { 0 };
	struct json_object *o;
	int r = parse_doc(&c, buf, len, &o);

	if (r < 0)
		return r;
	r = config_from_json(&c, o, &cf);
	json_object_put(o);
	if (r < 0) {
		ls_config_free(&cf);
		return r;
	}
	*ret = cf;
	return 0;
}

void ls_index_free(struct ls_index *idx)
{
	free_descriptors(idx->manifests, idx->n);
	memset(idx, 0, sizeof(*idx));
}

void ls_manifest_free(struct ls_manifest *m)
{
	free(m->media_type);
	ls_descriptor_free(&m->config);
	free_descriptors(m->layers, m->nlayers);
	memset(m, 0, sizeof(*m));
}

void ls_config_free(struct ls_config *c)
{
	for (size_t i = 0; i < c->ndiff; i++)
		free(c->diff_ids[i]);
	free(c->diff_ids);
	free(c->os);
	free(c->arch);
	memset(c, 0, sizeof(*c));
}

/* --- writing index.json -------------------------------------------------- */

/* Add key: v to o, which takes our reference to v (json-c leaves it to
 * us when the add fails). */
static int add(struct json_object *o, const char *key, struct json_object *v)
{
	if (!v)
		return -ENOMEM;
	if (json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static int add_string(struct json_object *o, const char *key, const char *s)
{
	return add(o, key, json_object_new_string(s));
}

/* What we write must parse back: the same checks as the parser. An
 * index entry names a manifest or an index; others any known kind. */
static int descriptor_valid(const struct ls_descriptor *d, bool in_index)
{
	const char *mt = d->media_type ? d->media_type : ls_media_oci(d->kind);
	enum ls_media k = mt ? ls_media_parse(mt) : LS_MT_UNKNOWN;

	return mt && d->digest && ls_digest_valid(d->digest) && d->size >= 0 &&
	       (in_index ? k == LS_MT_MANIFEST || k == LS_MT_INDEX :
			   k != LS_MT_UNKNOWN) &&
	       !d->os == !d->arch;
}

/* Keys in a fixed order (json-c keeps insertion order): the same
 * descriptor always gives the same bytes. */
static int descriptor_to_json(const struct ls_descriptor *d,
			      struct json_object *o, bool in_index)
{
	struct json_object *a;
	int r;

	if (!descriptor_valid(d, in_index))
		return -EINVAL;
	r = add_string(o, "mediaType",
		       d->media_type ? d->media_type : ls_media_oci(d->kind));
	if (r == 0)
		r = add_string(o, "digest", d->digest);
	if (r == 0)
		r = add(o, "size", json_object_new_int64(d->size));
	if (r == 0 && d->ref_name) {
		r = add(o, "annotations", a = json_object_new_object());
		if (r == 0)
			r = add_string(a, LS_REF_ANNOTATION, d->ref_name);
	}
	if (r == 0 && d->os) {
		r = add(o, "platform", a = json_object_new_object());
		if (r == 0)
			r = add_string(a, "architecture", d->arch);
		if (r == 0)
			r = add_string(a, "os", d->os);
	}
	return r;
}

static int index_to_json(const struct ls_index *idx, struct json_object *o)
{
	struct json_object *a, *d;
	int r = add(o, "schemaVersion", json_object_new_int(2));

	if (r == 0)
		r = add_string(o, "mediaType", LS_MT_OCI_INDEX);
	if (r == 0)
		r = add(o, "manifests", a = json_object_new_array());
	for (size_t i = 0; r == 0 && i < idx->n; i++) {
		d = json_object_new_object();
		if (!d)
			return -ENOMEM;
		if (json_object_array_add(a, d) < 0) {
			json_object_put(d);
			return -ENOMEM;
		}
		r = descriptor_to_json(&idx->manifests[i], d, true);
	}
	return r;
}

/* o as compact JSON in a malloc'd string; consumes o. */
static int to_string(struct json_object *o, int r, char **ret, size_t *ret_len)
{
	const char *s = NULL;
	size_t len = 0;
	char *out = NULL;

	if (r == 0)
		s = json_object_to_json_string_length(
			o,
			JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
			&len);
	if (s)
		out = strndup(s, len);
	json_object_put(o);
	if (r < 0)
		return r;
	if (!out)
		return -ENOMEM;
	*ret = out;
	if (ret_len)
		*ret_len = len;
	return 0;
}

int ls_index_serialize(const struct ls_index *idx, char **ret, size_t *ret_len)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return -ENOMEM;
	return to_string(o, index_to_json(idx, o), ret, ret_len);
}

/* A new object added to array a, or NULL. */
static struct json_object *push_object(struct json_object *a)
{
	struct json_object *d = json_object_new_object();

	if (d && json_object_array_add(a, d) < 0) {
		json_object_put(d);
		d = NULL;
	}
	return d;
}

int ls_manifest_serialize(const struct ls_manifest *m, char **ret,
			  size_t *ret_len)
{
	struct json_object *o = json_object_new_object(), *c, *a, *d;
	int r;

	if (!o)
		return -ENOMEM;
	r = add(o, "schemaVersion", json_object_new_int(2));
	if (r == 0)
		r = add_string(o, "mediaType", LS_MT_OCI_MANIFEST);
	if (r == 0)
		r = add(o, "config", c = json_object_new_object());
	if (r == 0)
		r = descriptor_to_json(&m->config, c, false);
	if (r == 0)
		r = add(o, "layers", a = json_object_new_array());
	for (size_t i = 0; r == 0 && i < m->nlayers; i++) {
		d = push_object(a);
		r = d ? descriptor_to_json(&m->layers[i], d, false) : -ENOMEM;
	}
	return to_string(o, r, ret, ret_len);
}

int ls_config_new(const char *arch, const char *created, const char *created_by,
		  char *const *diff_ids, size_t n, char **ret, size_t *ret_len)
{
	struct json_object *o = json_object_new_object(), *x, *a, *h;
	int r;

	if (!o)
		return -ENOMEM;
	r = add_string(o, "created", created);
	if (r == 0)
		r = add_string(o, "architecture", arch);
	if (r == 0)
		r = add_string(o, "os", "linux");
	if (r == 0)
		r = add(o, "config", json_object_new_object());
	if (r == 0)
		r = add(o, "rootfs", x = json_object_new_object());
	if (r == 0)
		r = add_string(x, "type", "layers");
	if (r == 0)
		r = add(x, "diff_ids", a = json_object_new_array());
	for (size_t i = 0; r == 0 && i < n; i++) {
		struct json_object *s = json_object_new_string(diff_ids[i]);

		if (!s || json_object_array_add(a, s) < 0) {
			json_object_put(s);
			r = -ENOMEM;
		}
	}
	if (r == 0)
		r = add(o, "history", a = json_object_new_array());
	for (size_t i = 0; r == 0 && i < n; i++) {
		h = push_object(a);
		r = h ? add_string(h, "created", created) : -ENOMEM;
		if (r == 0)
			r = add_string(h, "created_by", created_by);
	}
	return to_string(o, r, ret, ret_len);
}

/* --- refs ---------------------------------------------------------------- */

static int ref_is(const struct ls_descriptor *d, const char *ref)
{
	return d->ref_name && strcmp(d->ref_name, ref) == 0;
}

const struct ls_descriptor *ls_index_find_ref(const struct ls_index *idx,
					      const char *ref)
{
	for (size_t i = 0; i < idx->n; i++)
		if (ref_is(&idx->manifests[i], ref))
			return &idx->manifests[i];
	return NULL;
}

/* Drop the entries named ref from position from on; how many went. */
static size_t drop_ref(struct ls_index *idx, const char *ref, size_t from)
{
	size_t i, j, n = idx->n;

	for (i = j = from; i < n; i++) {
		if (ref_is(&idx->manifests[i], ref))
			ls_descriptor_free(&idx->manifests[i]);
		else
			idx->manifests[j++] = idx->manifests[i];
	}
	idx->n = j;
	return n - j;
}

int ls_index_remove_ref(struct ls_index *idx, const char *ref)
{
	return drop_ref(idx, ref, 0) ? 0 : -ENOENT;
}

/* The entry for ref takes the place of the first one with that name (so
 * index.json keeps its order), or goes last; duplicates, which only a
 * hand-edited index has, are dropped. */
int ls_index_set_ref(struct ls_index *idx, const char *ref,
		     const struct ls_descriptor *desc)
{
	struct ls_descriptor d, *v;
	size_t i;

	if (!ref || !*ref)
		return -EINVAL;
	if (ls_descriptor_copy(&d, desc) < 0)
		return -ENOMEM;
	free(d.ref_name);
	d.ref_name = strdup(ref);
	v = reallocarray(idx->manifests, idx->n + 1, sizeof(*v));
	if (!d.ref_name || !v) {
		ls_descriptor_free(&d);
		return -ENOMEM;
	}
	idx->manifests = v;
	for (i = 0; i < idx->n && !ref_is(&v[i], ref); i++)
		;
	if (i < idx->n) {
		ls_descriptor_free(&v[i]);
		v[i] = d;
		drop_ref(idx, ref, i + 1);
	} else {
		v[idx->n++] = d;
	}
	return 0;
}

const char *ls_host_arch(void)
{
	static struct utsname u;

	if (uname(&u) < 0)
		return "amd64";
	if (!strcmp(u.machine, "x86_64"))
		return "amd64";
	if (!strcmp(u.machine, "aarch64"))
		return "arm64";
	return u.machine;
}

const struct ls_descriptor *ls_index_pick_platform(const struct ls_index *idx)
{
	for (size_t i = 0; i < idx->n; i++) {
		const struct ls_descriptor *d = &idx->manifests[i];

		if (d->kind == LS_MT_MANIFEST &&
		    (!d->os || !strcmp(d->os, "linux")) &&
		    (!d->arch || !strcmp(d->arch, ls_host_arch())))
			return d;
	}
	return NULL;
}

/* The OCI image layout's grammar: components of alphanumerics joined by
 * one of -._:@+ (or "--"), separated by '/'. */
int ls_ref_valid(const char *ref)
{
	bool want_alnum = true; /* at a component's start or after a sep */
	const char *p = ref;

	if (!ref || !*ref || strlen(ref) > 255)
		return 0;
	for (; *p; p++) {
		if (isalnum((unsigned char)*p)) {
			want_alnum = false;
		} else if (*p == '/') {
			if (want_alnum)
				return 0;
			want_alnum = true;
		} else if (strchr("-._:@+", *p)) {
			if (want_alnum)
				return 0;
			if (p[0] == '-' && p[1] == '-')
				p++;
			want_alnum = true;
		} else {
			return 0;
		}
	}
	return !want_alnum;
}
