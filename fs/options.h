/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Command line of the layerfs daemon (DESIGN.md section 1), compatible with
 * fuse-overlayfs so that containers/storage, mount.fuse3 and scripts can
 * swap it in:
 *
 *	layerfs [-f] [-d] -o lowerdir=TOP:...:BOTTOM[,upperdir=U,workdir=W][,OPTS] MNT
 *	layerfs SOURCE MNT -o OPTS		(as mount -t fuse3.layerfs calls it)
 *	layerfs --version | --help
 *
 * Calling sequence:
 *
 *	struct lfs_opts o;
 *	char *err = NULL;
 *	int r = lfs_opts_parse(argc, argv, &o, &err);
 *	if (r < 0) { fprintf(stderr, "layerfs: %s\n", err); free(err); exit(2); }
 *	...
 *	lfs_opts_free(&o);
 *
 * The parser only parses: it does not touch the filesystem. Unknown options
 * that the kernel overlayfs, fuse-overlayfs or mount(8) accept are recorded
 * in o.warnings (the caller prints them); anything else is an error.
 */
#ifndef LFS_OPTIONS_H
#define LFS_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lfs_idmap {
	uint32_t ctr, host, count; /* CONTAINER:HOST:COUNT */
};

enum lfs_wh_write { LFS_WH_WRITE_OCI, LFS_WH_WRITE_CHARDEV };

struct lfs_opts {
	char **lowerdirs; /* top first; "\:" unescaped; at least one */
	size_t nlower;
	char *upperdir; /* NULL: read-only mount */
	char *workdir;	/* required with upperdir */
	char *mountpoint;
	char *source; /* first positional of the SOURCE MNT form, or NULL */

	bool foreground;    /* -f */
	bool debug;	    /* -d: also implies foreground */
	bool single_thread; /* -s */
	bool show_version, show_help;

	enum lfs_wh_write whiteout; /* whiteout=oci (default) | chardev */
	bool volatile_mode;	    /* volatile: never fsync */
	bool fsync;		    /* fsync=0 turns it off; default true */
	bool ro;		    /* ro, or no upperdir */

	struct lfs_idmap *uidmap, *gidmap; /* uidmapping=, gidmapping= */
	size_t nuidmap, ngidmap;
	int64_t squash_uid, squash_gid; /* -1: no squashing */
	int xattr_permissions;		/* 0, 1 or 2 */

	double timeout;	  /* timeout=SECONDS (entry/attr for upper); -1 unset */
	unsigned threads; /* threads=N worker threads; 0: default */
	bool writeback;	  /* writeback=1: kernel writeback cache */

	/* passed through to the FUSE mount */
	bool allow_other, allow_root, default_permissions;
	bool nodev, nosuid, noexec, noatime;
	char *context; /* context="..." (SELinux label), quotes removed */

	char **warnings; /* "ignoring option 'X'" messages; the caller prints */
	size_t nwarnings;
};

/* 0 on success. On failure -EINVAL (or -ENOMEM) and *ret_err holds a
 * malloc'd message naming the offending argument. */
int lfs_opts_parse(int argc, char **argv, struct lfs_opts *ret, char **ret_err);
void lfs_opts_free(struct lfs_opts *o);

/* Text for --help. */
const char *lfs_opts_usage(void);

/* Split a lowerdir value on unescaped ':' ("\:" is a literal colon,
 * "\\" a backslash). Empty items are an error. */
int lfs_opts_split_lowerdir(const char *value, char ***ret_dirs, size_t *ret_n,
			    char **ret_err);

/* Parse "C:H:N[:C:H:N...]" (also accepts ',' between triples when the
 * caller already split them). */
int lfs_opts_parse_idmap(const char *value, struct lfs_idmap **ret,
			 size_t *ret_n, char **ret_err);

#endif
