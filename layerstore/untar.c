// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The layer tar applier (see untar.h). Two chained libarchive readers: the
 * first only decompresses (format "raw") and its input callback hashes the
 * blob; the second reads tar from the first's output, which is hashed into
 * the diffID on the way. Every path is walked one component at a time with
 * O_NOFOLLOW from the layer root, so no entry can reach through a symlink
 * or out of the layer; directories get their modes and times last, so that
 * a read-only directory can still be filled.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "override.h"
#include "untar.h"
#include "whiteout.h"

#define BUF_SIZE (1 << 17)

struct dirmeta {
	char *path;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	struct timespec ts[2];
};

struct untar {
	const struct ls_untar_opts *o;
	int infd, rootfd;
	struct archive *raw, *tar;
	struct ls_digester *blob_d, *diff_d;
	struct ls_untar_result *res;
	uint64_t max_bytes, max_entries;
	size_t badlen; /* open_dir: the prefix that is not a directory */
	char *inbuf, *tarbuf;
	char *err;
	struct dirmeta *dirs;
	size_t ndirs, capdirs;
	bool plain; /* not compressed: the two digests are one */
	/* the directory of the last entry (entries come grouped by
	 * directory): dropped whenever an entry may change what it is */
	char *cpath;
	int cfd;
};

static void cache_drop(struct untar *u)
{
	free(u->cpath);
	u->cpath = NULL;
	if (u->cfd >= 0)
		close(u->cfd);
	u->cfd = -1;
}

static void cache_set(struct untar *u, const char *path, int fd)
{
	cache_drop(u);
	u->cfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	u->cpath = u->cfd >= 0 ? strdup(path) : NULL;
	if (!u->cpath)
		cache_drop(u);
}

/* Does the entry at path touch the cached directory or one above it? */
static void cache_check(struct untar *u, const char *path)
{
	size_t n = strlen(path);

	if (u->cpath && !strncmp(u->cpath, path, n) &&
	    (u->cpath[n] == '\0' || u->cpath[n] == '/'))
		cache_drop(u);
}

__attribute__((format(printf, 3, 4))) static int fail(struct untar *u, int r,
						      const char *fmt, ...)
{
	va_list ap;

	if (u->err)
		return r; /* the first message is the cause */
	va_start(ap, fmt);
	if (vasprintf(&u->err, fmt, ap) < 0)
		u->err = NULL;
	va_end(ap);
	return r;
}

static la_ssize_t raw_read(struct archive *a, void *data, const void **buf)
{
	struct untar *u = data;
	ssize_t n;

	do
		n = read(u->infd, u->inbuf, BUF_SIZE);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		archive_set_error(a, errno, "cannot read the layer");
		return -1;
	}
	if (!u->plain && !u->o->no_digest)
		ls_digester_update(u->blob_d, u->inbuf, n);
	u->res->blob_size += n;
	if (u->o->progress)
		u->o->progress(u->o->progress_arg, u->res->blob_size);
	*buf = u->inbuf;
	return n;
}

static la_ssize_t tar_read(struct archive *a, void *data, const void **buf)
{
	struct untar *u = data;
	la_ssize_t n = archive_read_data(u->raw, u->tarbuf, BUF_SIZE);

	if (n < 0) {
		archive_set_error(a, EIO, "%s", archive_error_string(u->raw));
		return -1;
	}
	if (!u->o->no_digest)
		ls_digester_update(u->diff_d, u->tarbuf, n);
	u->res->tar_size += n;
	if (u->res->tar_size > u->max_bytes) {
		/* libarchive's own formatter: no %llu */
		archive_set_error(a, EFBIG, "layer is larger than %ju bytes",
				  (uintmax_t)u->max_bytes);
		return -1;
	}
	*buf = u->tarbuf;
	return n;
}

char *ls_untar_clean_path(const char *p)
{
	char *r = malloc(strlen(p) + 1), *o = r;

	if (!r || p[0] == '/') {
		free(r);
		return NULL;
	}
	while (*p) {
		const char *e = strchrnul(p, '/');
		size_t n = e - p;

		if (n == 2 && p[0] == '.' && p[1] == '.') {
			free(r);
			return NULL;
		}
		if (n && !(n == 1 && p[0] == '.')) {
			if (o != r)
				*o++ = '/';
			memcpy(o, p, n);
			o += n;
		}
		p = *e ? e + 1 : e;
	}
	*o = '\0';
	return r;
}

/* Open directory PATH below the root without following anything, making
 * missing components (0755, fixed later if the tar names them). */
static int open_dir(struct untar *u, const char *path, bool create)
{
	_cleanup_free_ char *copy = strdup(path);
	char *save = NULL, *c;
	int fd = dup(u->rootfd);

	if (!copy || fd < 0)
		return -ENOMEM;
	for (c = strtok_r(copy, "/", &save); c;
	     c = strtok_r(NULL, "/", &save)) {
		struct stat st;
		int nfd;

		if (fstatat(fd, c, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT || !create ||
			    mkdirat(fd, c, 0755) < 0) {
				close(fd);
				return -errno;
			}
		} else if (!S_ISDIR(st.st_mode)) {
			close(fd);
			u->badlen = c - copy + strlen(c);
			return S_ISLNK(st.st_mode) ? -ELOOP : -ENOTDIR;
		}
		nfd = openat(fd, c,
			     O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		if (nfd < 0)
			return -errno;
		fd = nfd;
	}
	return fd;
}

/* The directory part of path, opened, and the last component in *base. */
static int open_parent(struct untar *u, char *path, const char **base,
		       bool create)
{
	char *slash = strrchr(path, '/');
	int fd;

	if (!slash) {
		*base = path;
		fd = dup(u->rootfd);
		return fd < 0 ? -errno : fd;
	}
	*slash = '\0';
	if (u->cpath && !strcmp(u->cpath, path)) {
		*slash = '/';
		*base = slash + 1;
		fd = fcntl(u->cfd, F_DUPFD_CLOEXEC, 3);
		return fd < 0 ? -errno : fd;
	}
	fd = open_dir(u, path, create);
	if (fd >= 0 && create)
		cache_set(u, path, fd);
	*slash = '/';
	if (fd == -ELOOP || fd == -ENOTDIR)
		return fail(u, -EBADMSG, "entry '%s' goes through '%.*s', %s",
			    path, (int)u->badlen, path,
			    fd == -ELOOP ? "a symlink" : "not a directory");
	*base = slash + 1;
	return fd;
}

static int set_xattrs(struct untar *u, struct archive_entry *e, int pfd,
		      const char *base, const char *path)
{
	const char *name;
	const void *val;
	size_t size;
	char p[PATH_MAX + 32];

	snprintf(p, sizeof(p), "/proc/self/fd/%d/%s", pfd, base);
	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &name, &val, &size) == ARCHIVE_OK) {
		if (cu_wh_xattr_private(name))
			continue; /* an image may not plant union markers */
		if (lsetxattr(p, name, val, size, 0) < 0 && errno != ENOTSUP &&
		    errno != EPERM)
			return fail(u, -errno, "cannot set xattr '%s' on '%s'",
				    name, path);
	}
	return 0;
}

static int write_data(struct untar *u, int fd, const char *path)
{
	const void *buf;
	size_t size;
	la_int64_t off;
	int r;

	while ((r = archive_read_data_block(u->tar, &buf, &size, &off)) ==
	       ARCHIVE_OK) {
		if (cu_pwrite_all(fd, buf, size, off) < 0)
			return fail(u, -errno, "cannot write '%s'", path);
	}
	if (r != ARCHIVE_EOF)
		return fail(u, -EBADMSG, "cannot read '%s' from the layer: %s",
			    path, archive_error_string(u->tar));
	return 0;
}

/* Remove what an earlier entry left at base, unless both are dirs. */
static int replace(struct untar *u, int pfd, const char *base, bool dir)
{
	struct stat st;

	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (dir && S_ISDIR(st.st_mode))
		return 1;
	cache_drop(u); /* it may hold the cached directory */
	return cu_rm_rf_at(pfd, base);
}

/* Rootless: the owner and mode in the override xattr of dirfd/base ("" =
 * dirfd itself); the mode on disk gets what we need to read it back. */
static int record_owner(int dirfd, const char *base, uid_t uid, gid_t gid,
			mode_t mode, mode_t *ret_disk_mode)
{
	return cu_override_set_at(dirfd, base, CU_OVERRIDE_CONTAINERS, uid, gid,
				  mode, ret_disk_mode);
}

static int owner_mode_times(struct untar *u, struct archive_entry *e, int pfd,
			    const char *base, mode_t type)
{
	struct timespec ts[2] = {
		{ archive_entry_atime(e), archive_entry_atime_nsec(e) },
		{ archive_entry_mtime(e), archive_entry_mtime_nsec(e) },
	};
	mode_t mode = archive_entry_perm(e);
	int nf = AT_SYMLINK_NOFOLLOW, r;

	if (!archive_entry_atime_is_set(e))
		ts[0] = ts[1];
	if (u->o->chown && fchownat(pfd, base, archive_entry_uid(e),
				    archive_entry_gid(e), nf) < 0)
		return -errno;
	if (u->o->record_owner && type == AE_IFREG &&
	    (r = record_owner(pfd, base, archive_entry_uid(e),
			      archive_entry_gid(e), S_IFREG | mode, &mode)) < 0)
		return r;
	if (type != AE_IFLNK && fchmodat(pfd, base, mode, 0) < 0)
		return -errno;
	return utimensat(pfd, base, ts, nf) < 0 ? -errno : 0;
}

static int make_hardlink(struct untar *u, const char *target, int pfd,
			 const char *base, const char *path)
{
	_cleanup_free_ char *t = ls_untar_clean_path(target);
	const char *tbase;
	struct stat st;
	int tfd, r = 0;

	if (!t || !*t)
		return fail(u, -EBADMSG,
			    "hardlink '%s' points out of the layer ('%s')",
			    path, target);
	tfd = open_parent(u, t, &tbase, false);
	if (tfd < 0 || fstatat(tfd, tbase, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    S_ISDIR(st.st_mode))
		r = fail(u, -EBADMSG,
			 "hardlink '%s' points to '%s', not an earlier file of this layer",
			 path, target);
	if (r == 0 && linkat(tfd, tbase, pfd, base, 0) < 0)
		r = fail(u, -errno, "cannot link '%s' to '%s'", path, target);
	if (tfd >= 0)
		close(tfd);
	return r;
}

static int make_file(struct untar *u, struct archive_entry *e, int pfd,
		     const char *base, const char *path)
{
	int fd = openat(pfd, base,
			O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			0600);
	int r;

	if (fd < 0)
		return fail(u, -errno, "cannot create '%s'", path);
	r = write_data(u, fd, path);
	if (r == 0 && archive_entry_size_is_set(e) &&
	    ftruncate(fd, archive_entry_size(e)) < 0)
		r = fail(u, -errno, "cannot size '%s'", path);
	close(fd);
	return r;
}

static int remember_dir(struct untar *u, struct archive_entry *e,
			const char *path)
{
	struct dirmeta *d;

	if (u->ndirs == u->capdirs) {
		size_t cap = u->capdirs ? 2 * u->capdirs : 64;

		d = realloc(u->dirs, cap * sizeof(*d));
		if (!d)
			return -ENOMEM;
		u->dirs = d;
		u->capdirs = cap;
	}
	d = &u->dirs[u->ndirs];
	if (!(d->path = strdup(path)))
		return -ENOMEM;
	d->mode = archive_entry_perm(e);
	d->uid = archive_entry_uid(e);
	d->gid = archive_entry_gid(e);
	d->ts[1].tv_sec = archive_entry_mtime(e);
	d->ts[1].tv_nsec = archive_entry_mtime_nsec(e);
	d->ts[0] = d->ts[1];
	u->ndirs++;
	return 0;
}

/* Create one non-directory entry of type t at pfd/base. */
static int make_node(struct untar *u, struct archive_entry *e, mode_t t,
		     int pfd, const char *base, const char *path)
{
	if (t == AE_IFREG)
		return make_file(u, e, pfd, base, path);
	if (t == AE_IFLNK) {
		const char *target = archive_entry_symlink(e);

		if (!target || symlinkat(target, pfd, base) < 0)
			return fail(u, target ? -errno : -EBADMSG,
				    "cannot create symlink '%s'", path);
		return 0;
	}
	if ((t == AE_IFCHR || t == AE_IFBLK) && !u->o->allow_devices)
		return fail(
			u, -EBADMSG,
			"device node '%s' refused (only root may import devices)",
			path);
	if (t != AE_IFCHR && t != AE_IFBLK && t != AE_IFIFO)
		return fail(u, -EBADMSG, "entry '%s' has an unsupported type",
			    path);
	if (mknodat(pfd, base, t | 0600, archive_entry_rdev(e)) < 0)
		return fail(u, -errno, "cannot create '%s'", path);
	return 0;
}

/* No component may be a whiteout of "." or "..": not the entry's name,
 * and not a parent the entry would make. */
static int check_whiteout(struct untar *u, const char *path)
{
	_cleanup_free_ char *copy = strdup(path);
	char *save = NULL;
	const char *target;

	if (!copy)
		return -ENOMEM;
	for (char *c = strtok_r(copy, "/", &save); c;
	     c = strtok_r(NULL, "/", &save))
		if (cu_wh_classify(c, &target) == CU_WH_NAME_WHITEOUT &&
		    (!strcmp(target, ".") || !strcmp(target, "..")))
			return fail(u, -EBADMSG,
				    "whiteout '%.*s' reaches out of its "
				    "directory",
				    (int)(c - copy + strlen(c)), path);
	return 0;
}

/*
 * An entry whose name is too long for a directory entry may still be the
 * whiteout of a name of 252 to 255 bytes (".wh." takes 4): stored as the
 * overlayfs whiteout, a char 0/0 device under the name itself, as layerfs
 * writes it in an upper layer and reads it in every layer. Returns 0 when
 * done, 1 when the entry is not such a whiteout (the caller goes on and
 * fails on the name), or an error.
 */
static int long_whiteout(struct untar *u, struct archive_entry *e, int pfd,
			 const char *base, const char *path)
{
	const char *target;
	int r;

	if (archive_entry_filetype(e) != AE_IFREG ||
	    archive_entry_hardlink(e) ||
	    cu_wh_classify(base, &target) != CU_WH_NAME_WHITEOUT)
		return 1;
	r = replace(u, pfd, target, false);
	if (r == 0)
		r = cu_wh_make(pfd, target, CU_WH_CHARDEV);
	if (r == -EPERM)
		return fail(u, r,
			    "cannot store the whiteout '%.64s...': a name with "
			    "no room for \".wh.\" needs a 0/0 device node, "
			    "and this user may not make one",
			    path);
	return r < 0 ? fail(u, r, "cannot store the whiteout '%.64s...'",
			    path) :
		       0;
}

static int apply_entry(struct untar *u, struct archive_entry *e)
{
	_cleanup_free_ char *path = ls_untar_clean_path(
		archive_entry_pathname(e));
	const char *base, *hl = archive_entry_hardlink(e);
	mode_t t = archive_entry_filetype(e);
	int pfd, r;

	if (!path)
		return fail(u, -EBADMSG, "entry '%s' points out of the layer",
			    archive_entry_pathname(e));
	if (!*path)
		return 0; /* the layer root itself */
	if (strlen(path) >= PATH_MAX)
		return fail(
			u, -EBADMSG,
			"entry '%.64s...' has a path too long (over %d bytes)",
			path, PATH_MAX - 1);
	r = check_whiteout(u, path);
	if (r < 0)
		return r;
	cache_check(u, path);
	pfd = open_parent(u, path, &base, true);
	if (pfd < 0)
		return fail(u, pfd, "cannot open the directory of '%s'", path);
	if (strlen(base) > NAME_MAX)
		r = long_whiteout(u, e, pfd, base, path);
	else
		r = 1;
	if (r <= 0) {
		close(pfd);
		return r;
	}
	r = replace(u, pfd, base, t == AE_IFDIR && !hl);
	if (r < 0)
		r = fail(u, r, "cannot replace '%s'", path);
	if (r == 0 && t == AE_IFDIR && !hl && mkdirat(pfd, base, 0755) < 0)
		r = fail(u, -errno, "cannot create '%s'", path);
	if (r >= 0 && t == AE_IFDIR && !hl)
		r = remember_dir(u, e, path);
	else if (r == 0 && hl)
		r = make_hardlink(u, hl, pfd, base, path);
	else if (r == 0)
		r = make_node(u, e, t, pfd, base, path);
	/* xattrs after the owner: a chown drops security.capability */
	if (r == 0 && !hl && t != AE_IFDIR &&
	    (r = owner_mode_times(u, e, pfd, base, t)) < 0)
		r = fail(u, r, "cannot set the owner, mode or times of '%s'",
			 path);
	if (r == 0)
		r = set_xattrs(u, e, pfd, base, path);
	close(pfd);
	return r;
}

/* Directories last, deepest first: their modes and times are final. */
static int finish_dirs(struct untar *u)
{
	for (size_t i = u->ndirs; i-- > 0;) {
		struct dirmeta *d = &u->dirs[i];
		int fd = open_dir(u, d->path, false);

		if (fd < 0)
			continue; /* replaced by a later non-directory */
		char p[32];

		/* through the fd: the path was checked, the fd is what it
		 * checked */
		cu_fd_path(fd, p, sizeof(p));
		mode_t mode = d->mode;

		if ((u->o->chown &&
		     fchownat(fd, "", d->uid, d->gid, AT_EMPTY_PATH) < 0) ||
		    (u->o->record_owner &&
		     record_owner(fd, "", d->uid, d->gid, S_IFDIR | d->mode,
				  &mode) < 0) ||
		    chmod(p, mode) < 0 ||
		    utimensat(AT_FDCWD, p, d->ts, 0) < 0) {
			close(fd);
			return fail(u, -errno,
				    "cannot set the metadata of '%s'", d->path);
		}
		close(fd);
	}
	return 0;
}

static int open_readers(struct untar *u)
{
	struct archive_entry *e;

	u->raw = archive_read_new();
	u->tar = archive_read_new();
	if (!u->raw || !u->tar)
		return -ENOMEM;
	archive_read_support_filter_gzip(u->raw);
	archive_read_support_filter_zstd(u->raw);
	archive_read_support_format_raw(u->raw);
	if (archive_read_open(u->raw, u, NULL, raw_read, NULL) != ARCHIVE_OK ||
	    archive_read_next_header(u->raw, &e) != ARCHIVE_OK)
		return fail(u, -EBADMSG, "cannot read the layer: %s",
			    archive_error_string(u->raw));
	/* libarchive peels nested compression, a layer has at most one: the
	 * diffID is over what one decompression gives (as every OCI tool
	 * reads it), not over a tar found inside a gzip inside a gzip */
	if (archive_filter_count(u->raw) > 2)
		return fail(u, -EBADMSG,
			    "layer is compressed more than once (%s inside %s)",
			    archive_filter_name(u->raw, 0),
			    archive_filter_name(u->raw, 1));
	/* the raw bytes are the tar's: hash them once, as the diffID */
	u->plain = archive_filter_code(u->raw, 0) == ARCHIVE_FILTER_NONE;
	archive_read_support_format_tar(u->tar);
	if (archive_read_open(u->tar, u, NULL, tar_read, NULL) != ARCHIVE_OK)
		return fail(u, -EBADMSG, "not a tar archive: %s",
			    archive_error_string(u->tar));
	return 0;
}

/* Hash what follows the tar's end (padding) and the compressed stream's
 * tail, so both digests cover every byte. */
static int drain(struct untar *u)
{
	const void *buf;
	la_ssize_t n;

	while ((n = tar_read(u->tar, u, &buf)) > 0)
		;
	if (n < 0)
		return fail(u, -EBADMSG, "cannot read the layer: %s",
			    archive_error_string(u->tar));
	while ((n = raw_read(u->raw, u, &buf)) > 0)
		;
	return n < 0 ? fail(u, -errno, "cannot read the layer") : 0;
}

static int run(struct untar *u)
{
	struct archive_entry *e;
	mode_t m;
	int r = open_readers(u);

	/* the root's mark tells layerfs this layer keeps owners in xattrs */
	if (r == 0 && u->o->record_owner &&
	    (r = record_owner(u->rootfd, "", 0, 0, S_IFDIR | 0755, &m)) < 0)
		return fail(u, r, "cannot record owners in the layer");

	while (r == 0 &&
	       (r = archive_read_next_header(u->tar, &e)) == ARCHIVE_OK) {
		if (++u->res->entries > u->max_entries)
			return fail(u, -EBADMSG,
				    "layer has more than %llu entries",
				    (unsigned long long)u->max_entries);
		r = apply_entry(u, e);
	}
	if (r < 0)
		return r;
	if (r != ARCHIVE_EOF)
		return fail(u, -EBADMSG, "cannot read the layer: %s",
			    archive_error_string(u->tar));
	r = drain(u);
	if (r == 0)
		r = finish_dirs(u);
	if (r == 0 && u->o->no_digest)
		return 0;
	if (r == 0 && ls_digester_final(u->diff_d, u->res->diff_id) < 0)
		r = -EIO;
	if (r == 0 && u->plain)
		memcpy(u->res->blob_digest, u->res->diff_id,
		       sizeof(u->res->diff_id));
	else if (r == 0 &&
		 ls_digester_final(u->blob_d, u->res->blob_digest) < 0)
		r = -EIO;
	return r;
}

int ls_untar(int infd, int dirfd, const struct ls_untar_opts *o,
	     struct ls_untar_result *ret, char **ret_err)
{
	struct untar u = {
		.o = o, .infd = infd, .rootfd = dirfd, .res = ret, .cfd = -1
	};
	int r = -ENOMEM;

	memset(ret, 0, sizeof(*ret));
	u.max_bytes = o->max_bytes ? o->max_bytes : LS_UNTAR_MAX_BYTES;
	u.max_entries = o->max_entries ? o->max_entries : LS_UNTAR_MAX_ENTRIES;
	u.inbuf = malloc(BUF_SIZE);
	u.tarbuf = malloc(BUF_SIZE);
	u.blob_d = ls_digester_new();
	u.diff_d = ls_digester_new();
	if (u.inbuf && u.tarbuf && u.blob_d && u.diff_d)
		r = run(&u);
	if (r < 0 && !u.err)
		fail(&u, r, "cannot apply the layer: %s", strerror(-r));
	if (u.raw)
		archive_read_free(u.raw);
	if (u.tar)
		archive_read_free(u.tar);
	for (size_t i = 0; i < u.ndirs; i++)
		free(u.dirs[i].path);
	free(u.dirs);
	cache_drop(&u);
	free(u.inbuf);
	free(u.tarbuf);
	ls_digester_free(u.blob_d);
	ls_digester_free(u.diff_d);
	if (r < 0 && ret_err)
		*ret_err = u.err;
	else
		free(u.err);
	return r < 0 ? r : 0;
}
