/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The upper layer's on-disk form, as the layerfs daemon writes it and as
 * layerctl diff and commit read it back (layerstore/changes.c): the names
 * both sides must agree on. Whiteouts and opaque markers are whiteout.h's,
 * stat overrides override.h's.
 *
 *   .wh.NAME, .wh..wh..opq  whiteouts and opaque dirs (OCI; or overlayfs
 *                           char 0/0 and trusted.overlay.opaque with
 *                           whiteout=chardev)
 *   user.layerfs.redirect   on a directory that was renamed while it had
 *                           lower content: "/PATH" of its origin in the
 *                           lower layers. Its lower content is found
 *                           there, not under its current name.
 *   user.layerfs.metacopy   on a regular file whose metadata was changed
 *                           but whose data still lives in the lower
 *                           layers at "/PATH" (chmod, chown, utimens,
 *                           setxattr and rename of a lower file). The
 *                           first write copies the data up, then drops it.
 *   user.layerfs.hasmeta=y  on an upper directory that may hold metacopy
 *                           files: only there are files checked for one.
 *   WORKDIR/layerfs-index/DEV-INO  the upper copy of a hardlinked lower
 *                           file (by the lower's st_dev and st_ino): all
 *                           its names in the upper are links to it, and
 *   user.layerfs.nlink      on it, holds the union's link count.
 *   user.containers.override_stat  "uid:gid:mode" when the daemon could
 *                           not chown (rootless); see override.h.
 *   WORKDIR/layerfs.sock    the control socket (fs/freeze.c): layerctl diff
 *                           and commit hold changes back through it while
 *                           they read the upper layer.
 * A directory in the upper layer next to a whiteout of its own name is
 * opaque (a crash-safe intermediate state of mkdir-over-whiteout).
 */
#ifndef CU_UPPERFMT_H
#define CU_UPPERFMT_H

#include <inttypes.h>

#define CU_XATTR_PREFIX "user.layerfs."
#define CU_XATTR_REDIRECT "user.layerfs.redirect"
#define CU_XATTR_METACOPY "user.layerfs.metacopy"
#define CU_XATTR_HASMETA "user.layerfs.hasmeta"
#define CU_XATTR_NLINK "user.layerfs.nlink"

/* In WORKDIR: */
#define CU_WORK_INDEX "layerfs-index" /* indexed hardlinks */
#define CU_WORK_SOCKET "layerfs.sock" /* the control socket */
/* An index entry's name: the lower's st_dev and st_ino, in hex. */
#define CU_INDEX_NAME_FMT "%" PRIx64 "-%" PRIx64
#define CU_INDEX_NAME_SCAN "%" SCNx64 "-%" SCNx64

#endif
