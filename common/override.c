// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/xattr.h>

#include "cleanup.h"
#include "fsutil.h"
#include "override.h"

const char *cu_override_detect(int fd)
{
	static const char *const names[] = { CU_OVERRIDE_PRIV,
					     CU_OVERRIDE_CONTAINERS,
					     CU_OVERRIDE_USER };
	char p[32];

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (getxattr(cu_fd_path(fd, p, sizeof(p)), names[i], NULL, 0) >=
		    0)
			return names[i];
	return NULL;
}

int cu_override_parse(const char *v, struct stat *st)
{
	unsigned long uid, gid, mode;
	char *end;

	uid = strtoul(v, &end, 10);
	if (*end != ':')
		return -EINVAL;
	gid = strtoul(end + 1, &end, 10);
	if (*end != ':')
		return -EINVAL;
	mode = strtoul(end + 1, &end, 8);
	if (*end != '\0' && *end != ':')
		return -EINVAL;
	st->st_uid = uid;
	st->st_gid = gid;
	st->st_mode = (st->st_mode & S_IFMT) | (mode & 07777);
	return 0;
}

static void apply(const char *path, bool follow, const char *name,
		  struct stat *st)
{
	char v[64];
	ssize_t n;

	if (!name || !(S_ISDIR(st->st_mode) || S_ISREG(st->st_mode)))
		return;
	/* follow: path is a /proc/self/fd magic link */
	n = follow ? getxattr(path, name, v, sizeof(v) - 1) :
		     lgetxattr(path, name, v, sizeof(v) - 1);
	if (n <= 0)
		return;
	v[n] = '\0';
	cu_override_parse(v, st);
}

void cu_override_apply(int fd, const char *name, struct stat *st)
{
	char p[32];

	apply(cu_fd_path(fd, p, sizeof(p)), true, name, st);
}

void cu_override_apply_at(int dirfd, const char *path, const char *name,
			  struct stat *st)
{
	char p[PATH_MAX + 32];

	if (dirfd == AT_FDCWD)
		snprintf(p, sizeof(p), "%s", path);
	else
		snprintf(p, sizeof(p), "/proc/self/fd/%d/%s", dirfd, path);
	apply(p, false, name, st);
}

int cu_override_set_at(int dirfd, const char *path, const char *name, uid_t uid,
		       gid_t gid, mode_t mode, mode_t *ret_disk_mode)
{
	char p[PATH_MAX + 32], v[64];
	int n = snprintf(v, sizeof(v), "%u:%u:0%o", (unsigned)uid,
			 (unsigned)gid, (unsigned)(mode & 07777));
	int r;

	if (*path)
		snprintf(p, sizeof(p), "/proc/self/fd/%d/%s", dirfd, path);
	else
		cu_fd_path(dirfd, p, sizeof(p));
	/* "" is the fd itself: its /proc link must be followed */
	r = *path ? lsetxattr(p, name, v, n, 0) : setxattr(p, name, v, n, 0);
	if (r < 0)
		return -errno;
	if (ret_disk_mode)
		*ret_disk_mode = (mode & 07777) | (S_ISDIR(mode) ? 0700 : 0600);
	return 0;
}
