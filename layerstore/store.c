// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The store root: an OCI image layout plus private directories, created on
 * first use, and the flock that serialises changes to index.json.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "store-private.h"

#define OCI_LAYOUT "{\"imageLayoutVersion\":\"1.0.0\"}"
#define EMPTY_INDEX "{\"schemaVersion\":2,\"manifests\":[]}"

int ls_fail(struct ls_store *s, int r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!s)
		return r;
	va_start(ap, fmt);
	n = vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(s->err) && r != -EBADMSG && r < 0)
		snprintf(s->err + n, sizeof(s->err) - n, ": %s", strerror(-r));
	return r;
}

const char *ls_store_error(const struct ls_store *s)
{
	if (!s)
		return "out of memory";
	return s->err[0] ? s->err : "unknown error";
}

const char *ls_store_root(const struct ls_store *s)
{
	return s->root;
}

const char *ls_digest_hex(const char *digest)
{
	return ls_digest_valid(digest) ? digest + 7 : NULL;
}

char *ls_default_root(void)
{
	const char *env = getenv("LAYERFS_ROOT"), *home;
	char *r;

	if (env && *env)
		return strdup(env);
	if (geteuid() == 0)
		return strdup("/var/lib/layerfs");
	env = getenv("XDG_DATA_HOME");
	if (env && *env)
		return cu_path_join(env, "layerfs");
	home = getenv("HOME");
	if (!home || !*home)
		home = "/";
	if (asprintf(&r, "%s/.local/share/layerfs", home) < 0)
		return NULL;
	return r;
}

/* Create name with content if it does not exist (atomically). */
static int ensure_file(int dirfd, const char *name, const char *content)
{
	if (faccessat(dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (errno != ENOENT)
		return -errno;
	return cu_atomic_write_at(dirfd, name, content, strlen(content), 0644);
}

/* Open a directory of the store, refusing symlinks: the store's own paths
 * must never lead outside it. */
static int open_dir(struct ls_store *s, int dirfd, const char *name, int *ret)
{
	*ret = openat(dirfd, name,
		      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*ret < 0)
		return ls_fail(s, -errno, "cannot open '%s/%s'", s->root, name);
	return 0;
}

static int create_layout(struct ls_store *s)
{
	static const char *const dirs[] = { "blobs",  "blobs/sha256",
					    "layers", "containers",
					    "tmp",    "locks" };
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		struct stat st;

		r = cu_mkdir_at(s->rootfd, dirs[i], 0755);
		if (r < 0)
			return ls_fail(s, r, "cannot create '%s/%s'", s->root,
				       dirs[i]);
		/* the root may be a symlink, what is inside may not: the
		 * store's own paths never lead outside it */
		if (fstatat(s->rootfd, dirs[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
			return ls_fail(s, -errno, "cannot open '%s/%s'",
				       s->root, dirs[i]);
		if (!S_ISDIR(st.st_mode))
			return ls_fail(s, -ENOTDIR,
				       "'%s/%s' is %s, not a directory: the "
				       "store's directories must be real ones",
				       s->root, dirs[i],
				       S_ISLNK(st.st_mode) ? "a symlink" :
							     "a file");
	}
	r = ensure_file(s->rootfd, "oci-layout", OCI_LAYOUT);
	if (r == 0)
		r = ensure_file(s->rootfd, "index.json", EMPTY_INDEX);
	if (r < 0)
		return ls_fail(s, r, "cannot initialise store '%s'", s->root);
	return 0;
}

int ls_store_open(const char *root, struct ls_store **ret)
{
	struct ls_store *s = calloc(1, sizeof(*s));
	int r;

	*ret = s;
	if (!s)
		return -ENOMEM;
	s->rootfd = s->blobfd = s->tmpfd = s->locksfd = s->lockfd = -1;
	s->gcfd = -1;
	if (!(s->root = strdup(root)))
		return -ENOMEM;
	r = cu_mkdir_p(root, 0755);
	if (r < 0)
		return ls_fail(s, r, "cannot create store '%s'", root);
	s->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->rootfd < 0)
		return ls_fail(s, -errno, "cannot open store '%s'", root);
	r = create_layout(s);
	if (r == 0)
		r = open_dir(s, s->rootfd, "blobs/sha256", &s->blobfd);
	if (r == 0)
		r = open_dir(s, s->rootfd, "tmp", &s->tmpfd);
	if (r == 0)
		r = open_dir(s, s->rootfd, "locks", &s->locksfd);
	if (r < 0)
		return r;
	s->lockfd = openat(s->locksfd, "index",
			   O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (s->lockfd < 0)
		return ls_fail(s, -errno, "cannot open '%s/locks/index'", root);
	return 0;
}

void ls_store_free(struct ls_store *s)
{
	if (!s)
		return;
	cu_closep(&s->rootfd);
	cu_closep(&s->blobfd);
	cu_closep(&s->tmpfd);
	cu_closep(&s->locksfd);
	cu_closep(&s->lockfd);
	cu_closep(&s->gcfd);
	free(s->root);
	free(s);
}

int ls_store_lock(struct ls_store *s, int exclusive)
{
	int op = exclusive ? LOCK_EX : LOCK_SH;

	if (s->locked == op)
		return 0;
	while (flock(s->lockfd, op) < 0) {
		if (errno != EINTR)
			return ls_fail(s, -errno, "cannot lock store '%s'",
				       s->root);
	}
	s->locked = op;
	return 0;
}

void ls_store_unlock(struct ls_store *s)
{
	if (s->locked && flock(s->lockfd, LOCK_UN) == 0)
		s->locked = 0;
}

int ls_lock_file(struct ls_store *s, const char *name, int op)
{
	struct stat a, b;

	for (;;) {
		_cleanup_close_ int fd = openat(s->locksfd, name,
						O_RDWR | O_CREAT | O_NOFOLLOW |
							O_CLOEXEC,
						0644);

		if (fd < 0)
			return ls_fail(s, -errno, "cannot open lock '%s'",
				       name);
		if (flock(fd, op) < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EWOULDBLOCK)
				return -EWOULDBLOCK;
			return ls_fail(s, -errno, "cannot lock '%s'", name);
		}
		/* still the file of that name? (gc unlinks idle locks) */
		if (fstat(fd, &a) == 0 &&
		    fstatat(s->locksfd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
		    a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			return steal_fd(&fd);
	}
}

int ls_store_lease(struct ls_store *s, int op)
{
	int fd;

	ls_store_release(s);
	fd = ls_lock_file(s, "gc", op);
	if (fd < 0)
		return fd;
	s->gcfd = fd;
	s->gc_held = op;
	return 0;
}

int ls_store_hold(struct ls_store *s)
{
	return s->gc_held ? 0 : ls_store_lease(s, LOCK_SH);
}

void ls_store_release(struct ls_store *s)
{
	cu_closep(&s->gcfd);
	s->gc_held = 0;
}

void ls_store_set_progress(struct ls_store *s,
			   void (*fn)(void *arg, const struct ls_progress *p),
			   void *arg)
{
	s->progress = fn;
	s->progress_arg = arg;
}

void ls_progress_report(struct ls_store *s, const char *what, size_t item,
			size_t nitems, uint64_t done, uint64_t total)
{
	struct ls_progress p = { .what = what,
				 .item = item,
				 .nitems = nitems,
				 .done = done,
				 .total = total };

	if (s->progress)
		s->progress(s->progress_arg, &p);
}

int ls_split_ref(const char *s, char **ret_path, const char **ret_ref)
{
	char *path = strdup(s), *colon;

	*ret_path = path;
	if (!path)
		return -ENOMEM;
	colon = strchr(path, ':');
	if (colon) {
		*colon = '\0';
		*ret_ref = colon + 1;
	}
	return !*path || (*ret_ref && !**ret_ref) ? -EINVAL : 0;
}
