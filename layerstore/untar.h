/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Applying one layer tar (gzip, zstd or plain, detected) into an empty
 * directory, with whiteouts kept as OCI ".wh." files so the directory is a
 * layerfs lower as it is. Internal to liblayerstore.
 *
 * Hostile archives are refused with a message naming the entry: absolute
 * paths, "..", entries through symlinks, hardlinks to anything but an
 * earlier entry of the same tar, whiteouts of "." or "..", device nodes
 * unless allowed, and streams past the size or entry limits. On failure
 * the directory holds a partial tree: the caller stages it in tmp/ and
 * removes it. Both digests are computed in the same single pass: the
 * blob's (the bytes read from infd) and the diffID (the uncompressed tar).
 */
#ifndef LS_UNTAR_H
#define LS_UNTAR_H

#include <stdbool.h>
#include <stdint.h>

#include "layerstore.h"

#define LS_UNTAR_MAX_BYTES (64ULL << 30) /* default uncompressed limit */
#define LS_UNTAR_MAX_ENTRIES 10000000ULL /* default entry limit */

struct ls_untar_opts {
	bool allow_devices; /* create device nodes (root only) */
	bool chown;	    /* apply the tar's numeric owners */
	/* instead (rootless): keep each directory's and regular file's
	 * owner and mode in user.containers.override_stat (the layer root
	 * marked, so layerfs reads them), on-disk modes readable and
	 * writable by us (containers/storage's force_mask) */
	bool record_owner;
	/* the stream comes from ourselves and is hashed already: no digests
	 * (ret's digests are left empty) */
	bool no_digest;
	uint64_t max_bytes;   /* uncompressed stream limit; 0: 64 GiB */
	uint64_t max_entries; /* 0: 10 million */
	/* called as the input is read, with the bytes read so far */
	void (*progress)(void *arg, uint64_t bytes);
	void *progress_arg;
};

struct ls_untar_result {
	char blob_digest[LS_DIGEST_STR_LEN + 1];
	char diff_id[LS_DIGEST_STR_LEN + 1];
	uint64_t blob_size, tar_size, entries;
};

/* 0, or -errno with *ret_err a malloc'd message (-EBADMSG: a hostile or
 * malformed archive). */
int ls_untar(int infd, int dirfd, const struct ls_untar_opts *o,
	     struct ls_untar_result *ret, char **ret_err);

/* An entry's name as the applier walks it: "./a//b/" -> "a/b", "." or
 * "" -> "" (the layer root); NULL for absolute names, ".." anywhere, or
 * no memory. Malloc'd. (Exposed for the fuzz harness.) */
char *ls_untar_clean_path(const char *p);

#endif
