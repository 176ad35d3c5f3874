/* SPDX-License-Identifier: GPL-2.0-or-later */
/* liblayerstore internals, shared by its modules; not installed. */
#ifndef LS_STORE_PRIVATE_H
#define LS_STORE_PRIVATE_H

#include "layerstore.h"

struct ls_store {
	char *root;
	int rootfd; /* O_DIRECTORY */
	int blobfd; /* blobs/sha256 */
	int tmpfd;  /* tmp/ */
	int lockfd; /* lock, for flock */
	int locked; /* 0, LOCK_SH or LOCK_EX */
	char err[512];
};

/* Set the store's error message; returns r (a -errno) for tail calls. */
int ls_fail(struct ls_store *s, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "sha256:HEX" -> "HEX" (the file name under blobs/sha256). NULL if the
 * digest is not valid: never build a path from an unchecked digest. */
const char *ls_digest_hex(const char *digest);

struct ls_index;

/* ROOT/index.json, read and parsed / serialised and replaced atomically.
 * The caller holds the store lock (shared to read, exclusive to write). */
int ls_index_load(struct ls_store *s, struct ls_index *ret);
int ls_index_store(struct ls_store *s, const struct ls_index *idx);

/* The image whose manifest is DIGEST (stored), named REF (may be NULL). */
int ls_image_from_manifest(struct ls_store *s, const char *ref,
			   const char *digest, struct ls_image **ret);

#define LS_JSON_MAX (4 << 20) /* manifests, configs, indexes */

#endif
