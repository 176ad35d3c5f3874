// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Garbage collection, rmi and the layer listing: mark what the refs of
 * index.json and the containers reference, then sweep the rest.
 *
 * Roots: every index.json entry (a manifest, or an index of manifests) and
 * every containers/ID/container.json ("image": manifest digest, "layers":
 * diffIDs). A layer that nothing references is still kept while a mount
 * uses it: layerfs holds a shared flock on each lower directory, and gc
 * removes a layer only under an exclusive one. In-flight operations hold
 * the gc lease (ls_store_hold); gc takes it exclusive, so it waits for them
 * and they wait for it. When a referenced document cannot be read, gc
 * stops without removing anything: fsck first.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "oci.h"
#include "store-private.h"

struct marks {
	struct ls_set blobs, layers;
	size_t *uses; /* per layer mark: for ls_layers_list */
};

static void marks_free(struct marks *m)
{
	ls_set_free(&m->blobs);
	ls_set_free(&m->layers);
}

static int mark_manifest(struct ls_store *s, struct marks *m,
			 const char *digest, enum ls_media kind, int depth);

/* A manifest: itself, its config, its layer blobs and diffIDs. */
static int mark_image(struct ls_store *s, struct marks *m, const char *digest)
{
	_cleanup_free_ char *mbuf = NULL, *cbuf = NULL, *err = NULL;
	struct ls_manifest man = { 0 };
	struct ls_config c = { 0 };
	size_t len;
	int r = ls_blob_read(s, digest, LS_JSON_MAX, &mbuf, &len);

	if (r == 0 && (r = ls_manifest_parse(mbuf, len, &man, &err)) < 0)
		ls_fail(s, r, "manifest '%s': %s", digest, err);
	if (r == 0)
		r = ls_set_add(&m->blobs, man.config.digest);
	for (size_t i = 0; r == 0 && i < man.nlayers; i++)
		r = ls_set_add(&m->blobs, man.layers[i].digest);
	if (r == 0)
		r = ls_blob_read(s, man.config.digest, LS_JSON_MAX, &cbuf,
				 &len);
	if (r == 0 && (r = ls_config_parse(cbuf, len, &c, &err)) < 0)
		ls_fail(s, r, "config '%s': %s", man.config.digest, err);
	for (size_t i = 0; r == 0 && i < c.ndiff; i++)
		r = ls_set_add(&m->layers, c.diff_ids[i]);
	ls_manifest_free(&man);
	ls_config_free(&c);
	return r;
}

/* An index: each of its manifests (nested indexes to a small depth). */
static int mark_index(struct ls_store *s, struct marks *m, const char *digest,
		      int depth)
{
	_cleanup_free_ char *buf = NULL, *err = NULL;
	struct ls_index idx = { 0 };
	size_t len;
	int r = ls_blob_read(s, digest, LS_JSON_MAX, &buf, &len);

	if (r == 0 && (r = ls_index_parse(buf, len, &idx, &err)) < 0)
		ls_fail(s, r, "index '%s': %s", digest, err);
	for (size_t i = 0; r == 0 && i < idx.n; i++)
		r = mark_manifest(s, m, idx.manifests[i].digest,
				  idx.manifests[i].kind, depth + 1);
	ls_index_free(&idx);
	return r;
}

/* What a descriptor names: an image, or an index of them (the kind its
 * media type says; a document that is not what it claims fails to parse,
 * and gc then removes nothing). */
static int mark_manifest(struct ls_store *s, struct marks *m,
			 const char *digest, enum ls_media kind, int depth)
{
	int r;

	if (depth > 4)
		return ls_fail(s, -ELOOP, "indexes nested too deep at '%s'",
			       digest);
	r = ls_set_add(&m->blobs, digest);
	if (r < 0)
		return r;
	return kind == LS_MT_INDEX ? mark_index(s, m, digest, depth) :
				     mark_image(s, m, digest);
}

/* containers/ID/container.json: {"image": DIGEST, "layers": [DIFFID...]} */
static int mark_container(struct ls_store *s, struct marks *m, int cfd,
			  const char *id)
{
	_cleanup_free_ char *buf = NULL;
	char path[300];
	struct json_object *o, *v;
	size_t len;
	int r;

	snprintf(path, sizeof(path), "%s/container.json", id);
	r = cu_read_file_at(cfd, path, LS_JSON_MAX, &buf, &len);
	if (r == -ENOENT)
		return 0; /* being created or removed: nothing to keep yet */
	if (r < 0)
		return ls_fail(s, r, "cannot read container '%s'", id);
	o = json_tokener_parse(buf);
	if (!o)
		return ls_fail(s, -EBADMSG, "container '%s': bad JSON", id);
	if (json_object_object_get_ex(o, "image", &v) &&
	    json_object_is_type(v, json_type_string))
		r = mark_manifest(s, m, json_object_get_string(v),
				  LS_MT_MANIFEST, 0);
	if (r == 0 && json_object_object_get_ex(o, "layers", &v) &&
	    json_object_is_type(v, json_type_array))
		for (size_t i = 0; r == 0 && i < json_object_array_length(v);
		     i++)
			r = ls_set_add(&m->layers,
				       json_object_get_string(
					       json_object_array_get_idx(v,
									 i)));
	json_object_put(o);
	if (r == -EINVAL)
		return ls_fail(s, -EBADMSG, "container '%s': bad digest", id);
	return r;
}

/* Call fn(name) for each entry of dirfd/path but "." and "..". */
static int each_entry(int at, const char *path,
		      int (*fn)(void *arg, int dfd, const char *name),
		      void *arg)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int r = 0;

	if (!(d = cu_opendir_at(at, path)))
		return -errno;
	while (r == 0 && (errno = 0, de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			r = fn(arg, dirfd(d), de->d_name);
	if (r == 0 && errno)
		r = -errno;
	return r;
}

struct cont_walk {
	struct ls_store *s;
	struct marks *m;
};

static int cont_one(void *arg, int dfd, const char *name)
{
	struct cont_walk *w = arg;

	return mark_container(w->s, w->m, dfd, name);
}

/* Mark what every container uses. */
static int mark_containers(struct ls_store *s, struct marks *m)
{
	struct cont_walk w = { s, m };
	int r = each_entry(s->rootfd, "containers", cont_one, &w);

	if (r < 0 && !s->err[0])
		ls_fail(s, r, "cannot read '%s/containers'", s->root);
	return r;
}

/* Mark what every ref of idx names. */
static int mark_refs(struct ls_store *s, struct marks *m,
		     const struct ls_index *idx)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < idx->n; i++)
		r = mark_manifest(s, m, idx->manifests[i].digest,
				  idx->manifests[i].kind, 0);
	return r;
}

/* A marking failure means gc cannot know what is used: say so. */
static int mark_failed(struct ls_store *s, int r)
{
	if (r < 0 && r != -ENOMEM) {
		size_t n = strlen(s->err);

		snprintf(s->err + n, sizeof(s->err) - n,
			 " (nothing removed: run layerctl fsck)");
	}
	return r;
}

/* ---- sweep ------------------------------------------------------------ */

struct sweep {
	struct ls_store *s;
	struct marks *m;
	struct ls_set *only; /* rmi: consider these only (NULL: everything) */
	int dry_run;
	struct ls_gc_report *rep;
};

static uint64_t du_at(int dirfd, const char *name);

static int du_one(void *arg, int dfd, const char *name)
{
	*(uint64_t *)arg += du_at(dfd, name);
	return 0;
}

/* Bytes used under name (allocated blocks), best effort. */
static uint64_t du_at(int dirfd, const char *name)
{
	struct stat st;
	uint64_t n = 0;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	n = (uint64_t)st.st_blocks * 512;
	if (S_ISDIR(st.st_mode))
		each_entry(dirfd, name, du_one, &n);
	return n;
}

static int sweep_blob(void *arg, int dfd, const char *name)
{
	struct sweep *w = arg;
	struct stat st;

	if (ls_set_has(&w->m->blobs, name) ||
	    (w->only && !ls_set_has(w->only, name)))
		return 0;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	if (!w->dry_run && unlinkat(dfd, name, 0) < 0)
		return ls_fail(w->s, -errno, "cannot remove blob '%s'", name);
	w->rep->blobs++;
	w->rep->blob_bytes += st.st_size;
	return 0;
}

/* Is the layer's diff dir held by a mount? (1 yes, 0 no.) While the
 * caller keeps *ret_fd, nobody new can take it. */
static int layer_busy(int layfd, const char *name, int *ret_fd)
{
	char p[LS_DIGEST_HEX_LEN + 8];
	int fd;

	*ret_fd = -1;
	snprintf(p, sizeof(p), "%s/diff", name);
	fd = openat(layfd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0; /* no diff: a broken layer, nobody mounts it */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return 1;
	}
	*ret_fd = fd;
	return 0;
}

static int sweep_layer(void *arg, int dfd, const char *name)
{
	struct sweep *w = arg;
	char dst[LS_DIGEST_HEX_LEN + 32], tok[13];
	_cleanup_close_ int lockfd = -1;
	uint64_t bytes;

	if (ls_set_has(&w->m->layers, name) ||
	    (w->only && !ls_set_has(w->only, name)))
		return 0;
	if (layer_busy(dfd, name, &lockfd)) {
		w->rep->in_use++;
		return 0;
	}
	bytes = du_at(dfd, name);
	if (!w->dry_run) {
		/* out of the namespace at once, then removed from tmp/ */
		cu_random_token(tok, 12);
		snprintf(dst, sizeof(dst), "gc-%s", tok);
		if (renameat(dfd, name, w->s->tmpfd, dst) < 0)
			return ls_fail(w->s, -errno, "cannot remove layer '%s'",
				       name);
		cu_rm_rf_at(w->s->tmpfd, dst);
	}
	w->rep->layers++;
	w->rep->layer_bytes += bytes;
	return 0;
}

static int sweep_tmp(void *arg, int dfd, const char *name)
{
	struct sweep *w = arg;

	w->rep->tmp++;
	w->rep->tmp_bytes += du_at(dfd, name);
	if (!w->dry_run)
		cu_rm_rf_at(dfd, name);
	return 0;
}

/* An idle layer lock file: unlinked while we hold it (ls_lock_file
 * retries on a lock whose file went). */
static int sweep_lock(void *arg, int dfd, const char *name)
{
	struct sweep *w = arg;
	_cleanup_close_ int fd = -1;

	if (strncmp(name, "layer-", 6) != 0)
		return 0;
	fd = openat(dfd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
		return 0;
	if (!w->dry_run)
		unlinkat(dfd, name, 0);
	w->rep->locks++;
	return 0;
}

static int sweep(struct sweep *w)
{
	int r = each_entry(w->s->rootfd, "blobs/sha256", sweep_blob, w);

	if (r == 0)
		r = cu_fsync_dir_at(w->s->blobfd, ".");
	if (r == 0)
		r = each_entry(w->s->rootfd, "layers", sweep_layer, w);
	if (r == 0 && !w->only)
		r = each_entry(w->s->rootfd, "tmp", sweep_tmp, w);
	if (r == 0 && !w->only)
		r = each_entry(w->s->rootfd, "locks", sweep_lock, w);
	if (r < 0 && !w->s->err[0])
		ls_fail(w->s, r, "cannot sweep '%s'", w->s->root);
	return r;
}

int ls_gc(struct ls_store *s, int dry_run, struct ls_gc_report *ret)
{
	struct marks m = { 0 };
	struct ls_gc_report rep = { 0 };
	struct sweep w = { s, &m, NULL, dry_run, &rep };
	struct ls_index idx = { 0 };
	int r = ls_store_lease(s, LOCK_EX);

	s->err[0] = '\0';
	if (r == 0)
		r = ls_store_lock(s, 0);
	if (r == 0)
		r = mark_failed(s, ls_index_load(s, &idx));
	if (r == 0)
		r = mark_failed(s, mark_refs(s, &m, &idx));
	if (r == 0)
		r = mark_failed(s, mark_containers(s, &m));
	if (r == 0)
		r = sweep(&w);
	ls_store_unlock(s);
	ls_store_release(s);
	ls_index_free(&idx);
	marks_free(&m);
	if (r == 0 && ret)
		*ret = rep;
	return r;
}

int ls_rmi(struct ls_store *s, const char *ref, int force,
	   struct ls_gc_report *ret)
{
	struct marks m = { 0 }, gone = { 0 };
	struct ls_gc_report rep = { 0 };
	struct sweep w = { s, &m, NULL, 0, &rep };
	struct ls_index idx = { 0 };
	const struct ls_descriptor *d;
	struct ls_set only = { 0 };
	int r = ls_store_lease(s, LOCK_EX);

	s->err[0] = '\0';
	if (r == 0)
		r = ls_store_lock(s, 1);
	if (r == 0)
		r = ls_index_load(s, &idx);
	if (r == 0 && !(d = ls_index_find_ref(&idx, ref)))
		r = ls_fail(s, -ENOENT, "no image '%s'", ref);
	/* what the image holds (a broken image is untagged all the same;
	 * what it held is left to gc), and whether a container uses it */
	if (r == 0 && mark_manifest(s, &gone, d->digest, d->kind, 0) < 0) {
		marks_free(&gone);
		r = ls_set_add(&gone.blobs, d->digest);
	}
	if (r == 0)
		r = mark_failed(s, mark_containers(s, &m));
	if (r == 0 && !force && ls_set_has(&m.blobs, d->digest + 7))
		r = ls_fail(s, -EBUSY,
			    "image '%s' is used by a container "
			    "(layerctl rm it first, or --force)",
			    ref);
	if (r == 0 && (r = ls_index_remove_ref(&idx, ref)) == 0)
		r = ls_index_store(s, &idx);
	/* then remove what only it used */
	if (r == 0) {
		only = gone.blobs;
		gone.blobs = (struct ls_set){ 0 };
		for (size_t i = 0; r == 0 && i < gone.layers.n; i++) {
			char dg[LS_DIGEST_STR_LEN + 1];

			snprintf(dg, sizeof(dg), "sha256:%s", gone.layers.v[i]);
			r = ls_set_add(&only, dg);
		}
	}
	/* what the other refs use (the containers' is marked already) */
	if (r == 0)
		r = mark_failed(s, mark_refs(s, &m, &idx));
	w.only = &only;
	if (r == 0)
		r = sweep(&w);
	ls_store_unlock(s);
	ls_store_release(s);
	ls_index_free(&idx);
	marks_free(&m);
	marks_free(&gone);
	ls_set_free(&only);
	if (r == 0 && ret)
		*ret = rep;
	return r;
}

/* ---- listing ------------------------------------------------------------ */

struct list_walk {
	struct ls_store *s;
	struct ls_layer_info *v;
	size_t n, cap;
};

static void read_layer_meta(struct ls_store *s, const char *name,
			    struct ls_layer_info *li)
{
	_cleanup_free_ char *buf = NULL;
	struct json_object *o, *v;
	char p[LS_DIGEST_HEX_LEN + 32];
	size_t len;

	snprintf(p, sizeof(p), "layers/%s/layer.json", name);
	if (cu_read_file_at(s->rootfd, p, 65536, &buf, &len) < 0)
		return;
	o = json_tokener_parse(buf);
	if (o && json_object_object_get_ex(o, "blob", &v))
		snprintf(li->blob, sizeof(li->blob), "%s",
			 json_object_get_string(v));
	if (o && json_object_object_get_ex(o, "size", &v))
		li->size = json_object_get_int64(v);
	if (o && json_object_object_get_ex(o, "entries", &v))
		li->entries = json_object_get_int64(v);
	json_object_put(o);
}

static int list_one(void *arg, int dfd, const char *name)
{
	struct list_walk *w = arg;
	struct ls_layer_info *li;
	char dg[NAME_MAX + 8];
	int fd;

	snprintf(dg, sizeof(dg), "sha256:%s", name);
	if (!ls_digest_valid(dg))
		return 0;
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 32;
		void *v = realloc(w->v, cap * sizeof(*w->v));

		if (!v)
			return -ENOMEM;
		w->v = v;
		w->cap = cap;
	}
	li = &w->v[w->n++];
	*li = (struct ls_layer_info){ 0 };
	memcpy(li->diff_id, dg, sizeof(li->diff_id));
	read_layer_meta(w->s, name, li);
	li->in_use = layer_busy(dfd, name, &fd);
	if (fd >= 0)
		close(fd);
	return 0;
}

static int cmp_layer(const void *a, const void *b)
{
	return strcmp(((const struct ls_layer_info *)a)->diff_id,
		      ((const struct ls_layer_info *)b)->diff_id);
}

int ls_layers_list(struct ls_store *s, struct ls_layer_info **ret,
		   size_t *ret_n)
{
	struct list_walk w = { s, NULL, 0, 0 };
	struct ls_image **imgs = NULL;
	size_t nimg = 0;
	int r = ls_images_list(s, &imgs, &nimg);

	if (r == 0)
		r = each_entry(s->rootfd, "layers", list_one, &w);
	if (r < 0) {
		free(w.v);
		ls_images_free(imgs, nimg);
		return s->err[0] ? r :
				   ls_fail(s, r, "cannot list '%s/layers'",
					   s->root);
	}
	qsort(w.v, w.n, sizeof(*w.v), cmp_layer);
	for (size_t i = 0; i < nimg; i++)
		for (size_t j = 0; j < imgs[i]->nlayers; j++) {
			struct ls_layer_info key, *li;

			memcpy(key.diff_id, imgs[i]->diff_ids[j],
			       sizeof(key.diff_id));
			li = w.n ? bsearch(&key, w.v, w.n, sizeof(*w.v),
					   cmp_layer) :
				   NULL;
			size_t k = 0;

			/* once per image, even if it repeats the layer */
			while (k < j && strcmp(imgs[i]->diff_ids[k],
					       imgs[i]->diff_ids[j]))
				k++;
			if (li && k == j)
				li->nimages++;
		}
	ls_images_free(imgs, nimg);
	*ret = w.v;
	*ret_n = w.n;
	return 0;
}
