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

#endif
