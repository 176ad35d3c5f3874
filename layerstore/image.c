// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Images: refs in index.json, their manifests and configs, and the
 * lowerdir string that mounts them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cleanup.h"
#include "fsutil.h"
#include "oci.h"
#include "store-private.h"

int ls_index_load(struct ls_store *s, struct ls_index *ret)
{
	_cleanup_free_ char *buf = NULL, *err = NULL;
	size_t len;
	int r;

	r = cu_read_file_at(s->rootfd, "index.json", LS_JSON_MAX, &buf, &len);
	if (r < 0)
		return ls_fail(s, r, "cannot read '%s/index.json'", s->root);
	r = ls_index_parse(buf, len, ret, &err);
	if (r < 0)
		return ls_fail(s, r, "'%s/index.json' is not valid: %s",
			       s->root, err ? err : "");
	return 0;
}

int ls_index_store(struct ls_store *s, const struct ls_index *idx)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r = ls_index_serialize(idx, &buf, &len);

	if (r == 0)
		r = cu_atomic_write_at(s->rootfd, "index.json", buf, len, 0644);
	if (r < 0)
		return ls_fail(s, r, "cannot write '%s/index.json'", s->root);
	return 0;
}

void ls_image_free(struct ls_image *img)
{
	if (!img)
		return;
	for (size_t i = 0; i < img->nlayers; i++) {
		free(img->diff_ids[i]);
		free(img->blobs[i]);
	}
	free(img->diff_ids);
	free(img->blobs);
	free(img->ref);
	free(img);
}

void ls_images_free(struct ls_image **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ls_image_free(v[i]);
	free(v);
}

/* Read and parse a stored JSON blob with its digest verified. */
static int read_json(struct ls_store *s, const char *digest, char **ret_buf,
		     size_t *ret_len)
{
	return ls_blob_read(s, digest, LS_JSON_MAX, ret_buf, ret_len);
}

static int fill_layers(struct ls_store *s, struct ls_image *img,
		       const struct ls_manifest *m, const struct ls_config *c)
{
	if (m->nlayers != c->ndiff)
		return ls_fail(s, -EBADMSG,
			       "image '%s': %zu layers but %zu diff_ids",
			       img->manifest, m->nlayers, c->ndiff);
	img->diff_ids = calloc(m->nlayers + 1, sizeof(char *));
	img->blobs = calloc(m->nlayers + 1, sizeof(char *));
	if (!img->diff_ids || !img->blobs)
		return -ENOMEM;
	for (size_t i = 0; i < m->nlayers; i++) {
		img->diff_ids[i] = strdup(c->diff_ids[i]);
		img->blobs[i] = strdup(m->layers[i].digest);
		img->nlayers = i + 1;
		if (!img->diff_ids[i] || !img->blobs[i])
			return -ENOMEM;
		img->size += m->layers[i].size;
	}
	img->size += m->config.size;
	return 0;
}

int ls_image_from_manifest(struct ls_store *s, const char *ref,
			   const char *digest, struct ls_image **ret)
{
	_cleanup_free_ char *mbuf = NULL, *cbuf = NULL, *err = NULL;
	struct ls_manifest m = { 0 };
	struct ls_config c = { 0 };
	struct ls_image *img = calloc(1, sizeof(*img));
	size_t mlen, clen;
	int r = img ? 0 : -ENOMEM;

	if (r == 0 && ref && !(img->ref = strdup(ref)))
		r = -ENOMEM;
	if (r == 0)
		r = read_json(s, digest, &mbuf, &mlen);
	if (r == 0 && (r = ls_manifest_parse(mbuf, mlen, &m, &err)) < 0)
		ls_fail(s, r, "manifest '%s': %s", digest, err);
	if (r == 0)
		r = read_json(s, m.config.digest, &cbuf, &clen);
	if (r == 0 && (r = ls_config_parse(cbuf, clen, &c, &err)) < 0)
		ls_fail(s, r, "config '%s': %s", m.config.digest, err);
	if (r == 0) {
		snprintf(img->manifest, sizeof(img->manifest), "%s", digest);
		snprintf(img->config, sizeof(img->config), "%s",
			 m.config.digest);
		img->size = img->manifest_size = mlen;
		r = fill_layers(s, img, &m, &c);
	}
	ls_manifest_free(&m);
	ls_config_free(&c);
	if (r < 0) {
		ls_image_free(img);
		return r == -ENOMEM ? ls_fail(s, r, "cannot load image") : r;
	}
	*ret = img;
	return 0;
}

/* The image an index.json entry names: its manifest, or for an image
 * index (as skopeo may write into the store) this machine's manifest. */
static int from_descriptor(struct ls_store *s, const struct ls_descriptor *d,
			   struct ls_image **ret)
{
	_cleanup_free_ char *buf = NULL, *err = NULL;
	const struct ls_descriptor *p;
	struct ls_index sub = { 0 };
	size_t len;
	int r;

	if (d->kind != LS_MT_INDEX)
		return ls_image_from_manifest(s, d->ref_name, d->digest, ret);
	r = read_json(s, d->digest, &buf, &len);
	if (r == 0 && (r = ls_index_parse(buf, len, &sub, &err)) < 0)
		ls_fail(s, r, "index '%s': %s", d->digest, err);
	if (r == 0) {
		p = ls_index_pick_platform(&sub);
		r = p ? ls_image_from_manifest(s, d->ref_name, p->digest, ret) :
			ls_fail(s, -ENOENT, "index '%s' has no linux/%s image",
				d->digest, ls_host_arch());
	}
	ls_index_free(&sub);
	return r;
}

/* Both keep the shared index lock after they return: an rmi (exclusive)
 * then waits, so the image's blobs stay while the caller uses them. */
int ls_image_get(struct ls_store *s, const char *ref, struct ls_image **ret)
{
	struct ls_index idx = { 0 };
	const struct ls_descriptor *d;
	int r = ls_store_lock(s, 0);

	if (r == 0)
		r = ls_index_load(s, &idx);
	if (r < 0)
		return r;
	d = ls_index_find_ref(&idx, ref);
	for (size_t i = 0; !d && i < idx.n; i++)
		if (!strcmp(idx.manifests[i].digest, ref))
			d = &idx.manifests[i];
	if (!d)
		r = ls_fail(s, -ENOENT, "no image '%s' in '%s'", ref, s->root);
	else
		r = from_descriptor(s, d, ret);
	ls_index_free(&idx);
	return r;
}

int ls_images_list(struct ls_store *s, struct ls_image ***ret, size_t *ret_n)
{
	struct ls_index idx = { 0 };
	struct ls_image **v;
	size_t n = 0;
	int r = ls_store_lock(s, 0);

	if (r == 0)
		r = ls_index_load(s, &idx);
	if (r < 0)
		return r;
	v = calloc(idx.n + 1, sizeof(*v));
	if (!v)
		r = ls_fail(s, -ENOMEM, "cannot list images");
	for (size_t i = 0; r == 0 && i < idx.n; i++) {
		r = from_descriptor(s, &idx.manifests[i], &v[n]);
		n += r == 0;
	}
	ls_index_free(&idx);
	if (r < 0) {
		ls_images_free(v, n);
		return r;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* Append src to *p, escaping ':' and '\\' as lowerdir= wants. */
static char *append_escaped(char *p, const char *src)
{
	for (; *src; src++) {
		if (*src == ':' || *src == '\\')
			*p++ = '\\';
		*p++ = *src;
	}
	return p;
}

int ls_image_lowerdirs(struct ls_store *s, const struct ls_image *img,
		       char **ret)
{
	size_t per = 2 * strlen(s->root) + LS_DIGEST_HEX_LEN + 16;
	char *out = malloc(img->nlayers * per + 1), *p = out;

	if (!out)
		return ls_fail(s, -ENOMEM, "cannot build lowerdirs");
	/* overlayfs order: the top layer first */
	for (size_t i = img->nlayers; i-- > 0;) {
		int r = ls_layer_exists(s, img->diff_ids[i]);

		if (r < 0) { /* it said why */
			free(out);
			return r;
		}
		if (r == 0) {
			free(out);
			return ls_fail(s, -ENOENT,
				       "layer '%s' of '%s' is missing",
				       img->diff_ids[i], img->manifest);
		}
		if (p != out)
			*p++ = ':';
		p = append_escaped(p, s->root);
		p += sprintf(p, "/layers/%s/diff", img->diff_ids[i] + 7);
	}
	*p = '\0';
	*ret = out;
	return 0;
}

/* Name the image in the store's index.json (under the index lock). */
int ls_image_tag(struct ls_store *s, const char *ref,
		 const struct ls_descriptor *d)
{
	struct ls_index idx = { 0 };
	int r = ls_store_lock(s, 1);

	if (r == 0)
		r = ls_index_load(s, &idx);
	if (r == 0 && (r = ls_index_set_ref(&idx, ref, d)) < 0)
		ls_fail(s, r, "cannot tag '%s'", ref);
	if (r == 0)
		r = ls_index_store(s, &idx);
	ls_index_free(&idx);
	ls_store_unlock(s);
	return r;
}
