/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The whiteout and opaque-directory rules, in one place.
 *
 * The filesystem (fs/), the layer tar applier and the diff producer
 * (layerstore/) all call this module, so they agree on what hides what.
 *
 * Formats READ in any layer:
 *   ".wh.NAME"            regular file: NAME is deleted in the layers below
 *   ".wh..wh..opq"        the directory hides everything in the layers below
 *   ".wh..wh.*" (other)   AUFS bookkeeping: never visible, no effect
 *   char device 0/0       overlayfs whiteout of its own name
 *   xattr trusted.overlay.opaque=y or user.overlay.opaque=y: opaque dir
 *
 * Formats WRITTEN: ".wh.NAME" and ".wh..wh..opq" (OCI, needs no privilege),
 * or the overlayfs char device 0/0 with CU_WH_CHARDEV (opaque then becomes
 * the trusted.overlay.opaque=y xattr, exactly what the kernel writes).
 *
 * Within one layer an entry wins over a whiteout of the same name: a
 * whiteout only ever speaks about the layers below it.
 */
#ifndef CU_WHITEOUT_H
#define CU_WHITEOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#define CU_WH_PREFIX ".wh."
#define CU_WH_PREFIX_LEN 4
#define CU_WH_OPAQUE ".wh..wh..opq"
#define CU_WH_META_PREFIX ".wh..wh."

enum cu_wh_name {
	CU_WH_NAME_PLAIN,    /* an ordinary name */
	CU_WH_NAME_WHITEOUT, /* ".wh.X": hides X below */
	CU_WH_NAME_OPAQUE,   /* ".wh..wh..opq" */
	CU_WH_NAME_META,     /* other ".wh..wh.*": ignored, never shown */
};

enum cu_wh_format {
	CU_WH_OCI,     /* .wh.NAME files */
	CU_WH_CHARDEV, /* overlayfs char 0/0 */
};

/* What one layer says about a name (cu_wh_lookup). */
enum cu_wh_state {
	CU_WH_ABSENT = 0, /* not here: look further down */
	CU_WH_FOUND = 1,  /* an entry; *st filled */
	CU_WH_HIDDEN = 2, /* whited out here: stop, the name does not exist */
};

/* Classify a directory entry name. For CU_WH_NAME_WHITEOUT, *ret_target
 * (if not NULL) points into @name at the hidden name. */
enum cu_wh_name cu_wh_classify(const char *name, const char **ret_target);

/* A name users may not create through a union: it begins with ".wh.". */
bool cu_wh_name_reserved(const char *name);

/* An overlayfs-format whiteout: a character device with rdev 0. */
bool cu_wh_is_chardev(const struct stat *st);

/* Is an entry with this name and stat a whiteout or marker that a union
 * never shows? (A ".wh." name of any type, or a char 0/0 device.) */
bool cu_wh_entry_hidden(const char *name, const struct stat *st);

/* 1 if the directory is opaque in any format, 0 if not, -errno. */
int cu_wh_dir_opaque(int dirfd);

/* Does directory NAME (O_PATH dirfd, in parentfd) hide the layers below
 * it? It does when it is opaque, or when its own layer also holds a
 * whiteout of NAME (an entry wins over a whiteout in its layer, but the
 * whiteout still speaks for the layers below). 1, 0 or -errno. */
int cu_wh_dir_hides_below(int parentfd, const char *name, int dirfd);

/* Look NAME up in one layer directory: CU_WH_FOUND (with *ret_st),
 * CU_WH_HIDDEN, CU_WH_ABSENT or -errno. Never follows a final symlink. */
int cu_wh_lookup(int dirfd, const char *name, struct stat *ret_st);

/* Write a whiteout of NAME into dirfd. Returns 0 or -errno. A name too
 * long for ".wh.NAME" to fit NAME_MAX gets the char device form, which
 * needs CAP_MKNOD (-EPERM without it). */
int cu_wh_make(int dirfd, const char *name, enum cu_wh_format fmt);

/* Remove any whiteout of NAME from dirfd (both formats). 0 or -errno;
 * a missing whiteout is not an error. */
int cu_wh_remove(int dirfd, const char *name);

/* Remove only the ".wh.NAME" file of NAME (0 if there is none). */
int cu_wh_remove_oci(int dirfd, const char *name);

/* Mark a directory opaque (0 or -errno). */
int cu_wh_make_opaque(int dirfd, enum cu_wh_format fmt);

/* Is this xattr union bookkeeping (overlay and layerfs markers, stat
 * overrides) rather than content? Such xattrs never show through a mount
 * and never travel in a layer tar. */
bool cu_wh_xattr_private(const char *name);

/* Write ".wh." NAME into buf (size >= NAME_MAX + 1). -ENAMETOOLONG. */
int cu_wh_name_of(const char *name, char *buf, size_t size);

#endif
