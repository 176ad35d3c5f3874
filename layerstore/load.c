// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Importing images. Every blob is copied through a blob writer that checks
 * its digest and size; every layer is unpacked and its diffID checked
 * against the config; only then is the ref written to index.json (under
 * the exclusive store lock). A failure at any point leaves the store as it
 * was, but for blobs and layers that gc can take.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "oci.h"
#include "store-private.h"

struct source {
	char *dir;
	const char *ref; /* into dir's allocation, or NULL */
	int dirfd;
	int blobfd; /* DIR/blobs/sha256 */
};

/* "oci:DIR[:REF]": the REF is what follows the last ':' when that part
 * has no '/' (a path may hold ':' only before its last '/'). */
static int parse_source(struct ls_store *s, const char *src, struct source *ret)
{
	char *colon;

	if (strncmp(src, "oci:", 4) != 0)
		return ls_fail(
			s, -EINVAL,
			"unsupported source '%s' (expected oci:DIR[:REF])",
			src);
	ret->dir = strdup(src + 4);
	if (!ret->dir)
		return -ENOMEM;
	colon = strrchr(ret->dir, ':');
	if (colon && !strchr(colon, '/')) {
		*colon = '\0';
		ret->ref = colon + 1;
	}
	if (!*ret->dir || (ret->ref && !*ret->ref))
		return ls_fail(s, -EINVAL, "invalid source '%s'", src);
	ret->dirfd = open(ret->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ret->dirfd < 0)
		return ls_fail(s, -errno, "cannot open '%s'", ret->dir);
	ret->blobfd = openat(ret->dirfd, "blobs/sha256",
			     O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ret->blobfd < 0)
		return ls_fail(s, -errno, "'%s' is not an OCI layout",
			       ret->dir);
	return 0;
}

static void source_free(struct source *src)
{
	cu_closep(&src->dirfd);
	cu_closep(&src->blobfd);
	free(src->dir);
}

/* Copy one blob into the store, checking digest and size. */
static int copy_blob(struct ls_store *s, struct source *src,
		     const struct ls_descriptor *d)
{
	struct ls_blob_writer *w = NULL;
	char buf[1 << 16];
	ssize_t n = 0;
	int r = ls_blob_exists(s, d->digest);

	if (r != 0)
		return r < 0 ? r : 0;
	_cleanup_close_ int fd = openat(src->blobfd, d->digest + 7,
					O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return ls_fail(s, -errno, "cannot open blob '%s' in '%s'",
			       d->digest, src->dir);
	r = ls_blob_writer_new(s, &w);
	while (r == 0 && (n = cu_read_all(fd, buf, sizeof(buf))) > 0)
		r = ls_blob_writer_write(w, buf, n);
	if (r == 0 && n < 0)
		r = ls_fail(s, n, "cannot read blob '%s'", d->digest);
	if (r == 0 && ls_blob_writer_size(w) != (uint64_t)d->size)
		r = ls_fail(s, -EBADMSG, "blob '%s' has %llu bytes, not %lld",
			    d->digest,
			    (unsigned long long)ls_blob_writer_size(w),
			    (long long)d->size);
	if (r == 0)
		r = ls_blob_writer_commit(w, d->digest, NULL);
	ls_blob_writer_free(w);
	return r;
}

static const char *host_arch(void)
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

/* The source's manifest descriptor for REF (or its only one). */
static int pick(struct ls_store *s, struct source *src,
		const struct ls_index *idx, struct ls_descriptor *ret)
{
	const struct ls_descriptor *d = NULL;

	if (src->ref)
		d = ls_index_find_ref(idx, src->ref);
	else if (idx->n == 1)
		d = &idx->manifests[0];
	if (!d && src->ref)
		return ls_fail(s, -ENOENT, "no image '%s' in '%s'", src->ref,
			       src->dir);
	if (!d)
		return ls_fail(s, -EINVAL,
			       "'%s' holds %zu images: name one (oci:DIR:REF)",
			       src->dir, idx->n);
	return ls_descriptor_copy(ret, d);
}

/* A multi-platform index: the manifest for this machine (linux). */
static int pick_platform(struct ls_store *s, const char *digest,
			 struct ls_descriptor *ret)
{
	_cleanup_free_ char *buf = NULL, *err = NULL;
	struct ls_index sub = { 0 };
	size_t len;
	int r = ls_blob_read(s, digest, LS_JSON_MAX, &buf, &len);

	if (r < 0)
		return r;
	r = ls_index_parse(buf, len, &sub, &err);
	if (r < 0)
		return ls_fail(s, r, "index '%s': %s", digest, err);
	r = ls_fail(s, -ENOENT, "index '%s' has no linux/%s image", digest,
		    host_arch());
	for (size_t i = 0; i < sub.n; i++) {
		const struct ls_descriptor *d = &sub.manifests[i];

		if (d->kind == LS_MT_MANIFEST &&
		    (!d->os || !strcmp(d->os, "linux")) &&
		    (!d->arch || !strcmp(d->arch, host_arch()))) {
			r = ls_descriptor_copy(ret, d);
			break;
		}
	}
	ls_index_free(&sub);
	return r;
}

static int read_source_index(struct ls_store *s, struct source *src,
			     struct ls_index *ret)
{
	_cleanup_free_ char *buf = NULL, *err = NULL;
	size_t len;
	int r = cu_read_file_at(src->dirfd, "index.json", LS_JSON_MAX, &buf,
				&len);

	if (r < 0)
		return ls_fail(s, r, "cannot read '%s/index.json'", src->dir);
	r = ls_index_parse(buf, len, ret, &err);
	if (r < 0)
		return ls_fail(s, r, "'%s/index.json': %s", src->dir, err);
	return 0;
}

/* Copy every layer blob and unpack it against the config's diff_ids. */
static int import_layers(struct ls_store *s, struct source *src,
			 const struct ls_manifest *m, const struct ls_config *c)
{
	int r = 0;

	if (m->nlayers != c->ndiff)
		return ls_fail(s, -EBADMSG,
			       "manifest has %zu layers, config %zu diff_ids",
			       m->nlayers, c->ndiff);
	for (size_t i = 0; r == 0 && i < m->nlayers; i++) {
		if (m->layers[i].kind == LS_MT_LAYER_FOREIGN)
			return ls_fail(s, -ENOTSUP,
				       "layer '%s' is non-distributable",
				       m->layers[i].digest);
		r = copy_blob(s, src, &m->layers[i]);
		if (r == 0)
			r = ls_layer_unpack(s, m->layers[i].digest,
					    c->diff_ids[i], NULL);
	}
	return r;
}

static int import_image(struct ls_store *s, struct source *src,
			struct ls_descriptor *d)
{
	_cleanup_free_ char *mbuf = NULL, *cbuf = NULL, *err = NULL;
	struct ls_manifest m = { 0 };
	struct ls_config c = { 0 };
	size_t mlen, clen;
	int r = copy_blob(s, src, d);

	if (r == 0 && d->kind == LS_MT_INDEX) {
		struct ls_descriptor sub = { 0 };

		r = pick_platform(s, d->digest, &sub);
		if (r == 0) {
			ls_descriptor_free(d);
			*d = sub;
			r = copy_blob(s, src, d);
		}
	}
	if (r == 0)
		r = ls_blob_read(s, d->digest, LS_JSON_MAX, &mbuf, &mlen);
	if (r == 0 && (r = ls_manifest_parse(mbuf, mlen, &m, &err)) < 0)
		ls_fail(s, r, "manifest '%s': %s", d->digest, err);
	if (r == 0)
		r = copy_blob(s, src, &m.config);
	if (r == 0)
		r = ls_blob_read(s, m.config.digest, LS_JSON_MAX, &cbuf, &clen);
	if (r == 0 && (r = ls_config_parse(cbuf, clen, &c, &err)) < 0)
		ls_fail(s, r, "config '%s': %s", m.config.digest, err);
	if (r == 0)
		r = import_layers(s, src, &m, &c);
	ls_manifest_free(&m);
	ls_config_free(&c);
	return r;
}

/* Name the image in the store's index.json (exclusive lock held). */
static int tag(struct ls_store *s, const char *ref,
	       const struct ls_descriptor *d)
{
	struct ls_index idx = { 0 };
	int r = ls_index_load(s, &idx);

	if (r == 0 && (r = ls_index_set_ref(&idx, ref, d)) < 0)
		ls_fail(s, r, "cannot tag '%s'", ref);
	if (r == 0)
		r = ls_index_store(s, &idx);
	ls_index_free(&idx);
	return r;
}

int ls_load(struct ls_store *s, const char *srcname, const char *tagname,
	    struct ls_image **ret)
{
	struct source src = { .dirfd = -1, .blobfd = -1 };
	struct ls_index idx = { 0 };
	struct ls_descriptor d = { 0 };
	_cleanup_free_ char *ref = NULL;
	int r = parse_source(s, srcname, &src);

	if (r == 0)
		r = read_source_index(s, &src, &idx);
	if (r == 0)
		r = pick(s, &src, &idx, &d);
	if (r == 0)
		r = import_image(s, &src, &d);
	if (r == 0) {
		ref = strdup(tagname	? tagname :
			     src.ref	? src.ref :
			     d.ref_name ? d.ref_name :
					  "latest");
		r = ref ? ls_store_lock(s, 1) : -ENOMEM;
	}
	if (r == 0)
		r = tag(s, ref, &d);
	ls_store_unlock(s);
	if (r == 0 && ret)
		r = ls_image_from_manifest(s, ref, d.digest, ret);
	ls_descriptor_free(&d);
	ls_index_free(&idx);
	source_free(&src);
	return r;
}
