/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Stat overrides: "uid:gid:mode" kept in an xattr where the real owner
 * could not be set (rootless), the format of fuse-overlayfs and
 * containers/storage. A layer uses them when its root carries one of the
 * names below; then its directories and regular files show the owner and
 * permission bits of their xattr. The filesystem (fs/) reads and writes
 * them; the diff producer (layerstore/) turns them back into tar headers.
 */
#ifndef CU_OVERRIDE_H
#define CU_OVERRIDE_H

#include <sys/stat.h>

#define CU_OVERRIDE_CONTAINERS "user.containers.override_stat"
#define CU_OVERRIDE_USER "user.fuseoverlayfs.override_stat"
#define CU_OVERRIDE_PRIV "security.fuseoverlayfs.override_stat"

/* The override xattr a layer root (any fd, O_PATH too) carries, or NULL. */
const char *cu_override_detect(int fd);

/* Parse "uid:gid:mode" (octal mode, type bits kept from st) into st. */
int cu_override_parse(const char *v, struct stat *st);

/* If st is a directory or regular file and the object at fd (any fd)
 * carries the xattr name, apply it to st. name NULL: nothing to do. */
void cu_override_apply(int fd, const char *name, struct stat *st);
/* The same for the object dirfd/path (a final symlink is not followed). */
void cu_override_apply_at(int dirfd, const char *path, const char *name,
			  struct stat *st);

/* Keep uid:gid:mode in the xattr name (CU_OVERRIDE_*) of dirfd/path
 * (path "" = dirfd itself; a final symlink is not followed). When
 * ret_disk_mode is given, it gets the mode to give the object on disk so
 * that we keep reading and writing it (containers/storage's force_mask:
 * u+rw, u+rwx for directories). 0 or -errno. */
int cu_override_set_at(int dirfd, const char *path, const char *name, uid_t uid,
		       gid_t gid, mode_t mode, mode_t *ret_disk_mode);

#endif
