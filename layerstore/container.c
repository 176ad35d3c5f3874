// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Containers: ROOT/containers/ID/ holds upper/ and work/ (the writable
 * layer and layerfs's work dir), init/ (the per-container init layer:
 * /etc/hostname, /etc/hosts, /etc/resolv.conf and mount points, never
 * committed) and container.json:
 *
 *	{"id": ID, "ref": REF, "image": MANIFEST, "created": RFC3339,
 *	 "layers": [DIFFID...]}		// the image's layers, bottom first
 *
 * gc reads "image" and "layers" as roots. A container is created in tmp/
 * and renamed into place whole; removed by renaming it into tmp/ first.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "override.h"
#include "store-private.h"

void ls_container_free(struct ls_container *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nlayers; i++)
		free(c->diff_ids[i]);
	free(c->diff_ids);
	free(c->ref);
	free(c->created);
	free(c->dir);
	free(c);
}

void ls_containers_free(struct ls_container **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ls_container_free(v[i]);
	free(v);
}

/* Names like Docker's: [A-Za-z0-9][A-Za-z0-9_.-]*, at most 64 bytes. */
static bool id_valid(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > LS_CONTAINER_ID_MAX || !strchr(LS_ALNUM, id[0]))
		return false;
	return strspn(id, LS_ALNUM "_.-") == n;
}

/* Owner and mode of dirfd/name ("" for dirfd): chown as root; rootless,
 * the override xattr layerfs reads (as the store's rootless layers do),
 * with the mode on disk open to us. */
static int set_owner(int dirfd, const char *name, uid_t uid, gid_t gid,
		     mode_t mode)
{
	mode_t disk;
	int r;

	if (geteuid() == 0) {
		if (*name &&
		    fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
		return *name && fchmodat(dirfd, name, mode & 07777, 0) < 0 ?
			       -errno :
			       0;
	}
	r = cu_override_set_at(dirfd, name, CU_OVERRIDE_CONTAINERS, uid, gid,
			       mode, &disk);
	if (r == 0 && *name && fchmodat(dirfd, name, disk, 0) < 0)
		r = -errno;
	return r;
}

/* The init layer: what the launcher writes per container, as empty files
 * and directories whose owner and mode follow the image's where it has
 * them (so the init layer does not change how /etc looks). */
static int make_init(struct ls_store *s, int cfd, const struct ls_image *img)
{
	static const char *const dirs[] = { "etc", "proc", "sys", "dev" };
	static const char *const files[] = { "etc/hostname", "etc/hosts",
					     "etc/resolv.conf" };
	_cleanup_close_ int ifd = -1;
	int r;

	if (mkdirat(cfd, "init", 0755) < 0 ||
	    (ifd = openat(cfd, "init", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		struct stat st = { .st_mode = S_IFDIR | 0755 };

		for (size_t l = img->nlayers; l-- > 0;) {
			_cleanup_free_ char *p =
				ls_layer_path(s, img->diff_ids[l]);
			_cleanup_free_ char *q = p ? cu_path_join(p, dirs[i]) :
						     NULL;

			if (q && lstat(q, &st) == 0) {
				/* a rootless store keeps owners in xattrs */
				cu_override_apply_at(AT_FDCWD, q,
						     CU_OVERRIDE_CONTAINERS,
						     &st);
				break;
			}
			st.st_mode = S_IFDIR | 0755;
		}
		if (!S_ISDIR(st.st_mode))
			continue; /* the image has a non-directory there */
		if (mkdirat(ifd, dirs[i], st.st_mode & 07777) < 0)
			return -errno;
		r = set_owner(ifd, dirs[i], st.st_uid, st.st_gid, st.st_mode);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		r = cu_atomic_write_at(ifd, files[i], "", 0, 0644);
		if (r == 0)
			r = set_owner(ifd, files[i], 0, 0, S_IFREG | 0644);
		if (r < 0)
			return r;
	}
	/* rootless: mark the layer so layerfs reads the owners kept */
	return geteuid() == 0 ? 0 : set_owner(ifd, "", 0, 0, S_IFDIR | 0755);
}

static int write_json(int cfd, const char *id, const struct ls_image *img)
{
	struct json_object *o = json_object_new_object(), *a;
	char created[32];
	time_t now = time(NULL);
	const char *txt;
	int r;

	if (!o)
		return -ENOMEM;
	strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "ref",
			       json_object_new_string(img->ref ? img->ref :
								 ""));
	json_object_object_add(o, "image",
			       json_object_new_string(img->manifest));
	json_object_object_add(o, "created", json_object_new_string(created));
	a = json_object_new_array();
	for (size_t i = 0; i < img->nlayers; i++)
		json_object_array_add(a,
				      json_object_new_string(img->diff_ids[i]));
	json_object_object_add(o, "layers", a);
	txt = json_object_to_json_string_ext(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	r = txt ? cu_atomic_write_at(cfd, "container.json", txt, strlen(txt),
				     0644) :
		  -ENOMEM;
	json_object_put(o);
	return r;
}

int ls_container_create(struct ls_store *s, const char *ref, const char *id,
			struct ls_container **ret)
{
	struct ls_image *img = NULL;
	char name[32], tok[13], gen[13], dst[LS_CONTAINER_ID_MAX + 16];
	_cleanup_close_ int cfd = -1;
	int held = s->gc_held, r;

	if (id && !id_valid(id))
		return ls_fail(s, -EINVAL,
			       "invalid container name '%s' (letters, digits, "
			       "'_.-', at most %d)",
			       id, LS_CONTAINER_ID_MAX);
	if (!id) {
		cu_random_token(gen, 12);
		id = gen;
	}
	r = ls_store_hold(s); /* the image's layers stay while we work */
	if (r == 0)
		r = ls_image_get(s, ref, &img);
	if (r < 0)
		goto out;
	cu_random_token(tok, 12);
	snprintf(name, sizeof(name), "ctr-%s", tok);
	if (mkdirat(s->tmpfd, name, 0700) < 0 ||
	    (cfd = openat(s->tmpfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) <
		    0 ||
	    mkdirat(cfd, "upper", 0755) < 0 || mkdirat(cfd, "work", 0700) < 0)
		r = -errno;
	if (r == 0)
		r = make_init(s, cfd, img);
	if (r == 0 && geteuid() != 0) /* the union's root is root's */
		r = set_owner(cfd, "upper", 0, 0, S_IFDIR | 0755);
	if (r == 0)
		r = write_json(cfd, id, img);
	if (r == 0 && syncfs(cfd) < 0)
		r = -errno;
	snprintf(dst, sizeof(dst), "containers/%s", id);
	if (r == 0 && renameat(s->tmpfd, name, s->rootfd, dst) < 0)
		r = errno == EEXIST || errno == ENOTEMPTY ?
			    ls_fail(s, -EEXIST, "container '%s' exists", id) :
			    -errno;
	if (r == 0)
		r = cu_fsync_dir_at(s->rootfd, "containers");
	if (r < 0) {
		cu_rm_rf_at(s->tmpfd, name);
		if (!s->err[0] || r != -EEXIST)
			ls_fail(s, r, "cannot create container '%s'", id);
		goto out;
	}
	r = ls_container_get(s, id, ret);
out:
	ls_image_free(img);
	if (!held)
		ls_store_release(s);
	return r;
}

static int parse(struct ls_store *s, const char *id, const char *buf,
		 struct ls_container *c)
{
	struct json_object *o = json_tokener_parse(buf), *v, *a;
	int r = -EBADMSG;

	if (!o)
		goto out;
	snprintf(c->id, sizeof(c->id), "%s", id);
	if (!json_object_object_get_ex(o, "image", &v) ||
	    !ls_digest_valid(json_object_get_string(v)))
		goto out;
	snprintf(c->image, sizeof(c->image), "%s", json_object_get_string(v));
	if (json_object_object_get_ex(o, "ref", &v))
		c->ref = strdup(json_object_get_string(v));
	if (json_object_object_get_ex(o, "created", &v))
		c->created = strdup(json_object_get_string(v));
	if (!json_object_object_get_ex(o, "layers", &a) ||
	    !json_object_is_type(a, json_type_array))
		goto out;
	c->diff_ids = calloc(json_object_array_length(a) + 1, sizeof(char *));
	if (!c->diff_ids) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		const char *d = json_object_get_string(
			json_object_array_get_idx(a, i));

		if (!d || !ls_digest_valid(d))
			goto out;
		c->diff_ids[c->nlayers++] = strdup(d);
	}
	r = 0;
out:
	json_object_put(o);
	return r == -EBADMSG ?
		       ls_fail(s, r, "container '%s': bad container.json", id) :
		       r;
}

int ls_container_get(struct ls_store *s, const char *id,
		     struct ls_container **ret)
{
	_cleanup_free_ char *buf = NULL;
	struct ls_container *c;
	char p[LS_CONTAINER_ID_MAX + 32];
	size_t len;
	int r;

	if (!id_valid(id))
		return ls_fail(s, -ENOENT, "no container '%s'", id);
	snprintf(p, sizeof(p), "containers/%s/container.json", id);
	r = cu_read_file_at(s->rootfd, p, LS_JSON_MAX, &buf, &len);
	if (r == -ENOENT)
		return ls_fail(s, r, "no container '%s'", id);
	if (r < 0)
		return ls_fail(s, r, "cannot read container '%s'", id);
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	r = parse(s, id, buf, c);
	if (r == 0 && asprintf(&c->dir, "%s/containers/%s", s->root, id) < 0)
		r = -ENOMEM;
	if (r < 0) {
		ls_container_free(c);
		return r;
	}
	*ret = c;
	return 0;
}

static int cmp_ctr(const void *a, const void *b)
{
	return strcmp((*(struct ls_container *const *)a)->id,
		      (*(struct ls_container *const *)b)->id);
}

int ls_containers_list(struct ls_store *s, struct ls_container ***ret,
		       size_t *ret_n)
{
	_cleanup_closedir_ DIR *d = cu_opendir_at(s->rootfd, "containers");
	struct ls_container **v = NULL;
	struct dirent *de;
	size_t n = 0;

	if (!d)
		return ls_fail(s, -errno, "cannot read '%s/containers'",
			       s->root);
	while ((de = readdir(d))) {
		struct ls_container *c, **nv;

		if (de->d_name[0] == '.' ||
		    ls_container_get(s, de->d_name, &c) < 0)
			continue; /* half-removed or foreign: not listed */
		nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv) {
			ls_container_free(c);
			ls_containers_free(v, n);
			return -ENOMEM;
		}
		v = nv;
		v[n++] = c;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_ctr);
	*ret = v;
	*ret_n = n;
	return 0;
}

int ls_container_lock(struct ls_store *s, const struct ls_container *c)
{
	int fd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return ls_fail(s, -errno, "cannot open container '%s'", c->id);
	if (flock(fd, LOCK_EX) < 0) {
		int r = -errno;

		close(fd);
		return ls_fail(s, r, "cannot lock container '%s'", c->id);
	}
	return fd;
}

int ls_container_rm(struct ls_store *s, const char *id)
{
	char src[LS_CONTAINER_ID_MAX + 16], dst[32], tok[13];
	struct ls_container *c;
	_cleanup_close_ int lockfd = -1;
	int r = ls_container_get(s, id, &c);

	if (r < 0)
		return r;
	lockfd = ls_container_lock(s, c);
	ls_container_free(c);
	if (lockfd < 0)
		return lockfd;
	cu_random_token(tok, 12);
	snprintf(src, sizeof(src), "containers/%s", id);
	snprintf(dst, sizeof(dst), "rm-%s", tok);
	if (renameat(s->rootfd, src, s->tmpfd, dst) < 0)
		return ls_fail(s, -errno, "cannot remove container '%s'", id);
	r = cu_fsync_dir_at(s->rootfd, "containers");
	cu_rm_rf_at(s->tmpfd, dst);
	return r < 0 ? ls_fail(s, r, "cannot remove container '%s'", id) : 0;
}

int ls_container_mount_opts(struct ls_store *s, const struct ls_container *c,
			    char **ret)
{
	struct ls_image img = { .diff_ids = c->diff_ids,
				.nlayers = c->nlayers };
	_cleanup_free_ char *lower = NULL;
	int r = ls_image_lowerdirs(s, &img, &lower);

	if (r < 0)
		return r;
	/* c->dir has no ',' or ':' of its own beyond the root's; the root
	 * is escaped in lower, and refused with ',' (layerfs's separator) */
	if (strchr(s->root, ',') || strchr(s->root, ':'))
		return ls_fail(s, -EINVAL,
			       "a store root with ',' or ':' cannot be mounted");
	if (asprintf(ret,
		     "lowerdir=%s/init:%s,upperdir=%s/upper,workdir=%s/work",
		     c->dir, lower, c->dir, c->dir) < 0)
		return -ENOMEM;
	return 0;
}
