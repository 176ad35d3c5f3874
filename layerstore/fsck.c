// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fsck: check the store against itself.
 *
 *  - every blob hashes to its name;
 *  - every ref's manifest, config and layer blobs are there and parse,
 *    and each of its layers is unpacked;
 *  - every unpacked layer is complete (diff/, layer.json, manifest) and
 *    its tree still matches the manifest recorded when it was unpacked.
 *
 * With repair, a layer that is damaged or missing is unpacked again from
 * a blob that has its diffID (checked), staged in tmp/ and swapped in
 * under its layer lock. A corrupt blob cannot be repaired here (load the
 * image again). Unreferenced objects and tmp/ leftovers are garbage, not
 * problems: counted, left for gc.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "oci.h"
#include "store-private.h"
#include "untar.h"

struct fsck {
	struct ls_store *s;
	int repair;
	void (*fn)(void *arg, const struct ls_fsck_finding *f);
	void *arg;
	struct ls_fsck_report rep;
	/* diffID -> a blob that should give it, from the images */
	char (*map)[2][LS_DIGEST_STR_LEN + 1];
	size_t nmap;
	struct ls_set blobs;  /* referenced blobs */
	struct ls_set layers; /* diffIDs the images use */
};

__attribute__((format(printf, 4, 5))) static void
finding(struct fsck *f, const char *object, int repaired, const char *fmt, ...)
{
	struct ls_fsck_finding x = { .object = object, .repaired = repaired };
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	x.problem = msg;
	f->rep.problems++;
	f->rep.repaired += repaired;
	if (f->fn)
		f->fn(f->arg, &x);
}

static int add_map(struct fsck *f, const char *diff_id, const char *blob)
{
	void *v = realloc(f->map, (f->nmap + 1) * sizeof(*f->map));

	if (!v)
		return -ENOMEM;
	f->map = v;
	snprintf(f->map[f->nmap][0], LS_DIGEST_STR_LEN + 1, "%s", diff_id);
	snprintf(f->map[f->nmap][1], LS_DIGEST_STR_LEN + 1, "%s", blob);
	f->nmap++;
	return 0;
}

/* ---- blobs -------------------------------------------------------------- */

static int hash_blob(int dfd, const char *name, char *ret)
{
	_cleanup_close_ int fd = openat(dfd, name,
					O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	return fd < 0 ? -errno : ls_digest_fd(fd, ret, NULL, NULL, NULL);
}

static int check_blobs(struct fsck *f)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	if (!(d = cu_opendir_at(f->s->blobfd, ".")))
		return ls_fail(f->s, -errno, "cannot read blobs");
	while ((errno = 0, de = readdir(d))) {
		char want[NAME_MAX + 8], got[LS_DIGEST_STR_LEN + 1];
		struct stat st;
		int r;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(want, sizeof(want), "sha256:%s", de->d_name);
		if (!ls_digest_valid(want) ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) <
			    0 ||
		    !S_ISREG(st.st_mode)) {
			finding(f, want, 0, "not a blob (bad name or type)");
			continue;
		}
		f->rep.blobs++;
		r = hash_blob(dirfd(d), de->d_name, got);
		if (r < 0)
			finding(f, want, 0, "cannot read: %s", strerror(-r));
		else if (strcmp(got, want) != 0)
			finding(f, want, 0,
				"corrupt: hashes to '%s' (load the image again)",
				got);
		else if (!ls_set_has(&f->blobs, de->d_name))
			f->rep.garbage++;
	}
	return errno ? ls_fail(f->s, -errno, "cannot read blobs") : 0;
}

/* ---- images ------------------------------------------------------------- */

static int check_manifest(struct fsck *f, const char *ref, const char *digest,
			  enum ls_media kind, int depth);

static void check_image(struct fsck *f, const char *ref, const char *digest,
			const char *mbuf, size_t mlen)
{
	_cleanup_free_ char *cbuf = NULL, *err = NULL;
	struct ls_manifest m = { 0 };
	struct ls_config c = { 0 };
	size_t clen;
	int r = ls_manifest_parse(mbuf, mlen, &m, &err);

	if (r < 0) {
		finding(f, ref, 0, "manifest '%s': %s", digest, err);
		return;
	}
	ls_set_add(&f->blobs, m.config.digest);
	for (size_t i = 0; i < m.nlayers; i++) {
		ls_set_add(&f->blobs, m.layers[i].digest);
		if (ls_blob_exists(f->s, m.layers[i].digest) != 1)
			finding(f, ref, 0, "layer blob '%s' is missing",
				m.layers[i].digest);
	}
	r = ls_blob_read(f->s, m.config.digest, LS_JSON_MAX, &cbuf, &clen);
	if (r < 0) {
		finding(f, ref, 0, "config: %s", ls_store_error(f->s));
		goto out;
	}
	free(err);
	err = NULL;
	if (ls_config_parse(cbuf, clen, &c, &err) < 0) {
		finding(f, ref, 0, "config '%s': %s", m.config.digest, err);
		goto out;
	}
	if (c.ndiff != m.nlayers)
		finding(f, ref, 0, "manifest has %zu layers, config %zu",
			m.nlayers, c.ndiff);
	for (size_t i = 0; i < c.ndiff && i < m.nlayers; i++)
		if (add_map(f, c.diff_ids[i], m.layers[i].digest) == 0)
			ls_set_add(&f->layers, c.diff_ids[i]);
out:
	ls_manifest_free(&m);
	ls_config_free(&c);
}

/* What a descriptor names: an image, or an index of them (the kind its
 * media type says). */
static int check_manifest(struct fsck *f, const char *ref, const char *digest,
			  enum ls_media kind, int depth)
{
	_cleanup_free_ char *buf = NULL, *err = NULL;
	struct ls_index idx = { 0 };
	size_t len;

	ls_set_add(&f->blobs, digest);
	if (ls_blob_read(f->s, digest, LS_JSON_MAX, &buf, &len) < 0) {
		finding(f, ref, 0, "%s", ls_store_error(f->s));
		return 0;
	}
	if (kind != LS_MT_INDEX) {
		check_image(f, ref, digest, buf, len);
		return 0;
	}
	if (depth > 4 || ls_index_parse(buf, len, &idx, &err) < 0) {
		finding(f, ref, 0, "index '%s': %s", digest,
			err ? err : "nested too deep");
		return 0;
	}
	for (size_t i = 0; i < idx.n; i++)
		check_manifest(f, ref, idx.manifests[i].digest,
			       idx.manifests[i].kind, depth + 1);
	ls_index_free(&idx);
	return 0;
}

static int check_images(struct fsck *f)
{
	struct ls_index idx = { 0 };
	int r = ls_index_load(f->s, &idx);

	if (r < 0) {
		finding(f, "index.json", 0, "%s", ls_store_error(f->s));
		return 0;
	}
	for (size_t i = 0; i < idx.n; i++) {
		const char *ref = idx.manifests[i].ref_name ?
					  idx.manifests[i].ref_name :
					  idx.manifests[i].digest;

		f->rep.images++;
		check_manifest(f, ref, idx.manifests[i].digest,
			       idx.manifests[i].kind, 0);
	}
	ls_index_free(&idx);
	return 0;
}

/* ---- layers ------------------------------------------------------------- */

/* The first difference between two manifests, for the message. */
static void first_difference(const char *want, const char *got, char *out,
			     size_t size)
{
	const char *a = want, *b = got;

	while (*a && *b) {
		const char *ea = strchr(a, '\n'), *eb = strchr(b, '\n');
		size_t la = ea ? (size_t)(ea - a) : strlen(a);
		size_t lb = eb ? (size_t)(eb - b) : strlen(b);

		if (la != lb || memcmp(a, b, la) != 0) {
			const char *sa = memchr(a, ' ', la),
				   *sb = memchr(b, ' ', lb);
			size_t pa = sa ? (size_t)(sa - a) : la;
			size_t pb = sb ? (size_t)(sb - b) : lb;

			if (pa == pb && !memcmp(a, b, pa))
				snprintf(out, size, "'%.*s' changed", (int)pa,
					 a);
			else if (strncmp(a, b, pa < pb ? pa : pb) < 0 ||
				 (pa < pb && !strncmp(a, b, pa)))
				snprintf(out, size, "'%.*s' is missing",
					 (int)pa, a);
			else
				snprintf(out, size, "'%.*s' is extra", (int)pb,
					 b);
			return;
		}
		a += la + (ea ? 1 : 0);
		b += lb + (eb ? 1 : 0);
	}
	if (*a)
		snprintf(out, size, "'%.*s' is missing", (int)strcspn(a, " \n"),
			 a);
	else
		snprintf(out, size, "'%.*s' is extra", (int)strcspn(b, " \n"),
			 b);
}

/* "" if the layer is sound, else what is wrong (in why). */
static void layer_problem(struct fsck *f, const char *hex, char *why,
			  size_t size)
{
	_cleanup_free_ char *want = NULL, *got = NULL;
	char p[LS_DIGEST_HEX_LEN + 32];
	struct stat st;
	size_t wl, gl;
	int r;

	why[0] = '\0';
	snprintf(p, sizeof(p), "layers/%s", hex);
	if (fstatat(f->s->rootfd, p, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    !S_ISDIR(st.st_mode)) {
		snprintf(why, size, "not a directory (%s)",
			 S_ISLNK(st.st_mode) ? "a symlink" : "a file");
		return;
	}
	snprintf(p, sizeof(p), "layers/%s/layer.json", hex);
	if (faccessat(f->s->rootfd, p, F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
		snprintf(why, size, "incomplete (no layer.json)");
		return;
	}
	snprintf(p, sizeof(p), "layers/%s/manifest", hex);
	r = cu_read_file_at(f->s->rootfd, p, SIZE_MAX / 2, &want, &wl);
	if (r < 0) {
		snprintf(why, size, "no file manifest: %s", strerror(-r));
		return;
	}
	snprintf(p, sizeof(p), "layers/%s/diff", hex);
	_cleanup_close_ int dfd = openat(f->s->rootfd, p,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
						 O_CLOEXEC);
	if (dfd < 0) {
		snprintf(why, size, "no diff directory");
		return;
	}
	r = ls_tree_manifest(dfd, &got, &gl);
	if (r < 0)
		snprintf(why, size, "cannot read its tree: %s", strerror(-r));
	else if (wl != gl || memcmp(want, got, wl) != 0)
		first_difference(want, got, why, size);
}

static const char *blob_for(struct fsck *f, const char *diff_id)
{
	for (size_t i = 0; i < f->nmap; i++)
		if (!strcmp(f->map[i][0], diff_id) &&
		    ls_blob_exists(f->s, f->map[i][1]) == 1)
			return f->map[i][1];
	return NULL;
}

/* Unpack diff_id again and swap it in (its lock held). */
static int repair_layer(struct fsck *f, const char *diff_id)
{
	struct ls_untar_opts o = { .allow_devices = geteuid() == 0,
				   .chown = geteuid() == 0 };
	struct ls_untar_result res;
	const char *blob = blob_for(f, diff_id);
	char name[32], old[32], tok[13], dst[LS_DIGEST_HEX_LEN + 16];
	_cleanup_close_ int fd = -1;
	int r;

	if (!blob)
		return ls_fail(f->s, -ENOENT, "no blob gives this layer");
	fd = ls_blob_open(f->s, blob);
	if (fd < 0)
		return fd;
	cu_random_token(tok, 12);
	snprintf(name, sizeof(name), "fsck-%s", tok);
	snprintf(old, sizeof(old), "fsck-old-%s", tok);
	r = ls_layer_stage(f->s, fd, blob, diff_id, &o, f->s->tmpfd, name,
			   &res);
	if (r < 0)
		return r;
	snprintf(dst, sizeof(dst), "layers/%.64s", diff_id + 7);
	if (renameat(f->s->rootfd, dst, f->s->tmpfd, old) < 0 &&
	    errno != ENOENT)
		r = -errno;
	if (r == 0 && renameat(f->s->tmpfd, name, f->s->rootfd, dst) < 0)
		r = -errno;
	if (r == 0)
		r = cu_fsync_dir_at(f->s->rootfd, "layers");
	cu_rm_rf_at(f->s->tmpfd, old);
	cu_rm_rf_at(f->s->tmpfd, name);
	if (r < 0)
		return ls_fail(f->s, r, "cannot swap the layer in");
	return 0;
}

static void check_layer(struct fsck *f, const char *hex, bool exists)
{
	char dg[NAME_MAX + 8], why[512], obj[NAME_MAX + 16];
	int lockfd, r;

	snprintf(dg, sizeof(dg), "sha256:%s", hex);
	snprintf(obj, sizeof(obj), "layer %s", dg);
	if (!ls_digest_valid(dg)) {
		finding(f, obj, 0, "not a layer (bad name)");
		return;
	}
	if (exists) {
		f->rep.layers++;
		layer_problem(f, hex, why, sizeof(why));
	} else {
		snprintf(why, sizeof(why), "missing (an image uses it)");
	}
	if (!why[0])
		return;
	if (!f->repair || !blob_for(f, dg)) {
		finding(f, obj, 0, "%s%s", why,
			f->repair ? " (no blob to repair it from)" : "");
		return;
	}
	lockfd = ls_layer_lock(f->s, hex);
	r = lockfd < 0 ? lockfd : repair_layer(f, dg);
	if (lockfd >= 0)
		close(lockfd);
	if (r < 0)
		finding(f, obj, 0, "%s; repair failed: %s", why,
			ls_store_error(f->s));
	else
		finding(f, obj, 1, "%s; unpacked again from its blob", why);
}

static int check_layers(struct fsck *f)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	if (!(d = cu_opendir_at(f->s->rootfd, "layers")))
		return ls_fail(f->s, -errno, "cannot read layers");
	while ((errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		check_layer(f, de->d_name, true);
		if (!ls_set_has(&f->layers, de->d_name))
			f->rep.garbage++;
	}
	/* layers an image needs that are not there */
	for (size_t i = 0; i < f->nmap; i++) {
		bool seen = false;

		for (size_t j = 0; j < i && !seen; j++)
			seen = !strcmp(f->map[j][0], f->map[i][0]);
		if (!seen && ls_layer_exists(f->s, f->map[i][0]) == 0)
			check_layer(f, f->map[i][0] + 7, false);
	}
	return 0;
}

static int count_tmp(struct fsck *f)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	if (!(d = cu_opendir_at(f->s->tmpfd, ".")))
		return -errno;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			f->rep.garbage++;
	return 0;
}

int ls_fsck(struct ls_store *s, int repair,
	    void (*fn)(void *arg, const struct ls_fsck_finding *x), void *arg,
	    struct ls_fsck_report *ret)
{
	struct fsck f = { .s = s, .repair = repair, .fn = fn, .arg = arg };
	int held = s->gc_held;
	int r = ls_store_hold(s); /* no gc meanwhile */

	if (r == 0)
		r = ls_store_lock(s, 0);
	if (r == 0)
		r = check_images(&f);
	ls_store_unlock(s);
	if (r == 0)
		r = check_blobs(&f);
	if (r == 0)
		r = check_layers(&f);
	if (r == 0)
		count_tmp(&f);
	if (!held)
		ls_store_release(s);
	free(f.map);
	ls_set_free(&f.blobs);
	ls_set_free(&f.layers);
	if (r == 0 && ret)
		*ret = f.rep;
	return r;
}
