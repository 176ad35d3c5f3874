/* SPDX-License-Identifier: GPL-2.0-or-later */
/* liblayerstore internals, shared by its modules; not installed. */
#ifndef LS_STORE_PRIVATE_H
#define LS_STORE_PRIVATE_H

#include <stdbool.h>

#include "layerstore.h"

struct ls_store {
	char *root;
	int rootfd;  /* O_DIRECTORY */
	int blobfd;  /* blobs/sha256 */
	int tmpfd;   /* tmp/ */
	int locksfd; /* locks/ */
	int lockfd;  /* locks/index, for flock */
	int locked;  /* 0, LOCK_SH or LOCK_EX */
	int gcfd;    /* locks/gc while held */
	int gc_held; /* 0, LOCK_SH (an operation in flight) or LOCK_EX (gc) */
	void (*progress)(void *arg, const struct ls_progress *p);
	void *progress_arg;
	char err[512];
};

/* Take the flock OP (LOCK_SH/LOCK_EX, | LOCK_NB) on locks/NAME, created if
 * missing; returns the fd holding it. Safe against gc removing lock files:
 * a lock taken on a file that was unlinked meanwhile is retried. With
 * LOCK_NB, -EWOULDBLOCK when someone else holds it. */
int ls_lock_file(struct ls_store *s, const char *name, int op);

/* "PATH[:REF]" as oci: and oci-archive: names write it: REF is all that
 * follows the first ':' and may hold ':' itself ("oci:DIR:lfs/bb:1"), as
 * skopeo and the containers/image transports split it (a PATH holds no
 * ':'). *ret_path is malloc'd (set even on -EINVAL, for an empty PATH or
 * REF); *ret_ref points into it or stays NULL. */
int ls_split_ref(const char *s, char **ret_path, const char **ret_ref);

/* A set of digests, kept as hex (blobs or diffIDs): append, then look up
 * (sorted once, at the first lookup after a change). Zero-initialised is
 * empty. ls_set_add: -EINVAL for an invalid digest. */
struct ls_set {
	char (*v)[LS_DIGEST_HEX_LEN + 1];
	size_t n, cap;
	bool sorted;
};
int ls_set_add(struct ls_set *s, const char *digest);
bool ls_set_has(struct ls_set *s, const char *hex);
void ls_set_free(struct ls_set *s);

/* Take the gc lease as OP: LOCK_SH (ls_store_hold) or LOCK_EX (gc, which
 * thus waits for operations in flight), dropping any lease held. */
int ls_store_lease(struct ls_store *s, int op);

/* Tell the progress callback, if any. */
void ls_progress_report(struct ls_store *s, const char *what, size_t item,
			size_t nitems, uint64_t done, uint64_t total);

/* Set the store's error message; returns r (a -errno) for tail calls. */
int ls_fail(struct ls_store *s, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "sha256:HEX" -> "HEX" (the file name under blobs/sha256). NULL if the
 * digest is not valid: never build a path from an unchecked digest. */
const char *ls_digest_hex(const char *digest);

struct ls_index;
struct ls_descriptor;

/* SHA-256 of everything read from fd to its end, and how many bytes;
 * each (may be NULL) sees every chunk and can stop the read with a
 * -errno, which is returned. A read error is returned as -errno. */
int ls_digest_fd(int fd, char *ret_digest, uint64_t *ret_size,
		 int (*each)(void *arg, const void *buf, size_t n), void *arg);

/* Blob writer commit and whole-blob read in another directory of blobs
 * named by hex (a load's staging area) instead of blobs/sha256. */
int ls_blob_writer_commit_at(struct ls_blob_writer *w, int dirfd,
			     const char *expect, char *ret_digest);
int ls_blob_read_at(struct ls_store *s, int dirfd, const char *digest,
		    size_t max, char **ret_buf, size_t *ret_len);

/* ROOT/index.json, read and parsed / serialised and replaced atomically.
 * The caller holds the store lock (shared to read, exclusive to write). */
int ls_index_load(struct ls_store *s, struct ls_index *ret);
int ls_index_store(struct ls_store *s, const struct ls_index *idx);

/* Point REF at the manifest d in index.json (under the index lock). */
int ls_image_tag(struct ls_store *s, const char *ref,
		 const struct ls_descriptor *d);

/* The image whose manifest is DIGEST (stored), named REF (may be NULL). */
int ls_image_from_manifest(struct ls_store *s, const char *ref,
			   const char *digest, struct ls_image **ret);

/* The tree manifest of an unpacked layer (manifest.c): sorted text lines,
 * malloc'd. Recorded at unpack as layers/HEX/manifest, checked by fsck. */
int ls_tree_manifest(int dirfd, char **ret, size_t *ret_len);

struct ls_untar_opts;
struct ls_untar_result;

/* Unpack the layer blob open at BLOBFD into PFD/NAME/ (diff/, layer.json,
 * manifest), synced; checks the diffID against EXPECT (may be NULL). On
 * failure nothing is left at PFD/NAME. */
int ls_layer_stage(struct ls_store *s, int blobfd, const char *blob,
		   const char *expect, const struct ls_untar_opts *o, int pfd,
		   const char *name, struct ls_untar_result *res);

/* Move the layer staged in tmp/NAME to layers/HEX of diff_id (kept if
 * there already), under the layer's lock (taken here when lockfd < 0). */
int ls_layer_publish(struct ls_store *s, const char *name, const char *diff_id,
		     int lockfd);
/* Record blob as the one a layer staged in tmp/NAME came from. */
int ls_layer_set_blob(struct ls_store *s, const char *name, const char *blob,
		      const struct ls_untar_result *res);

/* The exclusive per-layer lock (an fd to close), for diffID sha256:HEX. */
int ls_layer_lock(struct ls_store *s, const char *hex);

#define LS_ALNUM \
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

#define LS_JSON_MAX (4 << 20) /* manifests, configs, indexes */

#endif
