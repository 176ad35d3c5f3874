/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * liblayerstore: the content-addressed layer store (an OCI image layout).
 * This is the library's ONLY public header; its structs are opaque.
 * Functions return >= 0 on success and -errno on failure; results go out
 * through ret_* pointers set only on success. _free() accepts NULL.
 */
#ifndef LAYERSTORE_H
#define LAYERSTORE_H

#include <stddef.h>
#include <stdint.h>

/* --- digests ------------------------------------------------------------
 * Streaming SHA-256, as OCI digests: "sha256:" + 64 lowercase hex.
 *
 *	struct ls_digester *d = ls_digester_new();
 *	ls_digester_update(d, buf, n);	// as often as needed
 *	ls_digester_final(d, out);	// out: LS_DIGEST_STR_LEN + 1 bytes
 *	ls_digester_free(d);
 */
#define LS_DIGEST_HEX_LEN 64
#define LS_DIGEST_STR_LEN (7 + LS_DIGEST_HEX_LEN) /* "sha256:" + hex */

struct ls_digester;

struct ls_digester *ls_digester_new(void);
int ls_digester_update(struct ls_digester *d, const void *buf, size_t len);
int ls_digester_final(struct ls_digester *d, char *ret_digest);
void ls_digester_free(struct ls_digester *d);

/* Is s a well-formed "sha256:<64 lowercase hex>" digest? */
int ls_digest_valid(const char *s);

#endif
