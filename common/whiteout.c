// SPDX-License-Identifier: GPL-2.0-or-later
#include "whiteout.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"

enum cu_wh_name cu_wh_classify(const char *name, const char **ret_target)
{
	if (strncmp(name, CU_WH_PREFIX, CU_WH_PREFIX_LEN) != 0)
		return CU_WH_NAME_PLAIN;
	if (strcmp(name, CU_WH_OPAQUE) == 0)
		return CU_WH_NAME_OPAQUE;
	if (strncmp(name, CU_WH_META_PREFIX, strlen(CU_WH_META_PREFIX)) == 0)
		return CU_WH_NAME_META;
	if (name[CU_WH_PREFIX_LEN] == '\0')
		return CU_WH_NAME_META; /* ".wh." alone hides nothing */
	if (ret_target)
		*ret_target = name + CU_WH_PREFIX_LEN;
	return CU_WH_NAME_WHITEOUT;
}

bool cu_wh_name_reserved(const char *name)
{
	return strncmp(name, CU_WH_PREFIX, CU_WH_PREFIX_LEN) == 0;
}

bool cu_wh_xattr_private(const char *name)
{
	static const char *const prefixes[] = {
		"user.layerfs.",	   "trusted.overlay.",
		"user.overlay.",	   "user.fuseoverlayfs.",
		"security.fuseoverlayfs.", "user.containers.override_stat",
	};

	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++)
		if (!strncmp(name, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

bool cu_wh_is_chardev(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

bool cu_wh_entry_hidden(const char *name, const struct stat *st)
{
	return cu_wh_name_reserved(name) || (st && cu_wh_is_chardev(st));
}

static int xattr_is_y(int dirfd, const char *attr)
{
	char path[64], val[4];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", dirfd);
	n = getxattr(path, attr, val, sizeof(val));
	if (n < 0)
		return (errno == ENODATA || errno == ENOTSUP ||
			errno == EPERM || errno == E2BIG || errno == ERANGE) ?
			       0 :
			       -errno;
	return n == 1 && val[0] == 'y';
}

int cu_wh_dir_opaque(int dirfd)
{
	struct stat st;
	int r;

	if (fstatat(dirfd, CU_WH_OPAQUE, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 1;
	if (errno != ENOENT)
		return -errno;
	r = xattr_is_y(dirfd, "trusted.overlay.opaque");
	if (r != 0)
		return r;
	return xattr_is_y(dirfd, "user.overlay.opaque");
}

int cu_wh_dir_hides_below(int parentfd, const char *name, int dirfd)
{
	char wh[NAME_MAX + 1];
	struct stat st;

	if (cu_wh_name_of(name, wh, sizeof(wh)) == 0) {
		if (fstatat(parentfd, wh, &st, AT_SYMLINK_NOFOLLOW) == 0)
			return 1;
		if (errno != ENOENT)
			return -errno;
	}
	return cu_wh_dir_opaque(dirfd);
}

int cu_wh_name_of(const char *name, char *buf, size_t size)
{
	size_t n = strlen(name);

	if (n + CU_WH_PREFIX_LEN > NAME_MAX || n + CU_WH_PREFIX_LEN >= size)
		return -ENAMETOOLONG;
	memcpy(buf, CU_WH_PREFIX, CU_WH_PREFIX_LEN);
	memcpy(buf + CU_WH_PREFIX_LEN, name, n + 1);
	return 0;
}

int cu_wh_lookup(int dirfd, const char *name, struct stat *ret_st)
{
	char wh[NAME_MAX + 1];
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (cu_wh_is_chardev(&st))
			return CU_WH_HIDDEN;
		*ret_st = st;
		return CU_WH_FOUND;
	}
	if (errno != ENOENT)
		return errno == ENOTDIR ? CU_WH_ABSENT : -errno;
	if (cu_wh_name_of(name, wh, sizeof(wh)) < 0)
		return CU_WH_ABSENT; /* no OCI whiteout can exist for it */
	if (fstatat(dirfd, wh, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return CU_WH_HIDDEN;
	return errno == ENOENT ? CU_WH_ABSENT : -errno;
}

int cu_wh_make(int dirfd, const char *name, enum cu_wh_format fmt)
{
	char wh[NAME_MAX + 1];
	int r;

	if (fmt == CU_WH_CHARDEV) {
		if (mknodat(dirfd, name, S_IFCHR | 0, makedev(0, 0)) < 0)
			return -errno;
		return 0;
	}
	r = cu_wh_name_of(name, wh, sizeof(wh));
	if (r == -ENAMETOOLONG) /* no room for ".wh.": overlayfs' form */
		return cu_wh_make(dirfd, name, CU_WH_CHARDEV);
	if (r < 0)
		return r;
	/* mode 0 as OCI tars carry it; O_EXCL so an existing one is kept */
	_cleanup_close_ int fd = openat(dirfd, wh,
					O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
					0);
	if (fd < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int cu_wh_remove(int dirfd, const char *name)
{
	char wh[NAME_MAX + 1];
	struct stat st;

	if (cu_wh_name_of(name, wh, sizeof(wh)) == 0 &&
	    unlinkat(dirfd, wh, 0) < 0 && errno != ENOENT)
		return -errno;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    cu_wh_is_chardev(&st) && unlinkat(dirfd, name, 0) < 0)
		return -errno;
	return 0;
}

int cu_wh_remove_oci(int dirfd, const char *name)
{
	char wh[NAME_MAX + 1];

	if (cu_wh_name_of(name, wh, sizeof(wh)) == 0 &&
	    unlinkat(dirfd, wh, 0) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int cu_wh_make_opaque(int dirfd, enum cu_wh_format fmt)
{
	if (fmt == CU_WH_CHARDEV) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/self/fd/%d", dirfd);
		if (setxattr(path, "trusted.overlay.opaque", "y", 1, 0) < 0)
			return -errno;
		return 0;
	}
	_cleanup_close_ int fd = openat(dirfd, CU_WH_OPAQUE,
					O_WRONLY | O_CREAT | O_CLOEXEC, 0);
	return fd < 0 ? -errno : 0;
}
