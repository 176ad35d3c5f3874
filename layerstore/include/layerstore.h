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

/* --- the store ------------------------------------------------------------
 * A store root is an OCI image layout (oci-layout, index.json, blobs/) plus
 * private directories (layers/, containers/, tmp/). Calling sequence:
 *
 *	struct ls_store *s;
 *	char *root = ls_default_root();		// --root / LAYERFS_ROOT / ...
 *	int r = ls_store_open(root, &s);	// creates the layout if new
 *	if (r < 0) fprintf(stderr, "%s\n", ls_store_error(s));	// s may be NULL
 *	...
 *	ls_store_free(s);
 *
 * Every function that fails returns -errno and leaves a message (lowercase,
 * subject quoted) that ls_store_error() returns until the next call.
 */
struct ls_store;

/* $LAYERFS_ROOT, else /var/lib/layerfs for root, else $XDG_DATA_HOME/layerfs
 * or ~/.local/share/layerfs. Caller frees. NULL on ENOMEM. */
char *ls_default_root(void);

int ls_store_open(const char *root, struct ls_store **ret);
void ls_store_free(struct ls_store *s);
const char *ls_store_root(const struct ls_store *s);
/* The message of the last failure; a static text when s is NULL. */
const char *ls_store_error(const struct ls_store *s);

/* The index lock (flock on ROOT/locks/index): shared for readers,
 * exclusive for changes to index.json. Released by ls_store_unlock or when
 * the process dies. */
int ls_store_lock(struct ls_store *s, int exclusive);
void ls_store_unlock(struct ls_store *s);

/* A lease on the whole store against gc (shared flock on ROOT/locks/gc):
 * held by every operation that creates objects nothing references yet
 * (load, commit, create), so gc, which takes it exclusive, never sees them
 * half-done. The library takes it itself where it needs it; callers that
 * put several calls together hold it around them. */
int ls_store_hold(struct ls_store *s);
void ls_store_release(struct ls_store *s);

/* Progress of long work (load, save), for a terminal display. */
struct ls_progress {
	const char *what;     /* "copy", "unpack", "save" */
	size_t item, nitems;  /* the layer being worked on (1-based), of */
	uint64_t done, total; /* bytes of this item; total 0 if unknown */
};
void ls_store_set_progress(struct ls_store *s,
			   void (*fn)(void *arg, const struct ls_progress *p),
			   void *arg);

/* --- blobs ----------------------------------------------------------------
 * Writing a blob streams it into tmp/ while hashing, then links it to
 * blobs/sha256/HEX after fsync (EEXIST means "already have it"):
 *
 *	struct ls_blob_writer *w;
 *	ls_blob_writer_new(s, &w);
 *	ls_blob_writer_write(w, buf, n);	// as often as needed
 *	ls_blob_writer_commit(w, expect, ret_digest);	// expect may be NULL
 *	ls_blob_writer_free(w);		// after commit, or to abort
 *
 * commit fails with -EBADMSG (and stores nothing) when the content does not
 * hash to the expected digest.
 */
struct ls_blob_writer;

int ls_blob_writer_new(struct ls_store *s, struct ls_blob_writer **ret);
int ls_blob_writer_write(struct ls_blob_writer *w, const void *buf, size_t len);
int ls_blob_writer_commit(struct ls_blob_writer *w, const char *expect,
			  char *ret_digest);
void ls_blob_writer_free(struct ls_blob_writer *w);
uint64_t ls_blob_writer_size(const struct ls_blob_writer *w);

/* Store a small blob from memory (JSON documents). */
int ls_blob_put(struct ls_store *s, const void *buf, size_t len,
		char *ret_digest);
/* 1 if the blob is present, 0 if not, -errno. */
int ls_blob_exists(struct ls_store *s, const char *digest);
/* Open a blob for reading (O_RDONLY fd; caller closes). */
int ls_blob_open(struct ls_store *s, const char *digest);
/* Read a whole blob of at most max bytes, verifying its digest. */
int ls_blob_read(struct ls_store *s, const char *digest, size_t max,
		 char **ret_buf, size_t *ret_len);

/* --- layers ---------------------------------------------------------------
 * An unpacked layer lives in ROOT/layers/HEX/diff for diffID sha256:HEX,
 * usable as a layerfs lower as it is (whiteouts as .wh. files).
 *
 * ls_layer_unpack applies a stored blob (gzip, zstd or plain) unless the
 * layer is there already, checks its diffID against expect (may be NULL)
 * and returns the diffID. Hostile archives fail with -EBADMSG and leave
 * nothing behind.
 */
int ls_layer_unpack(struct ls_store *s, const char *blob_digest,
		    const char *expect_diff_id, char *ret_diff_id);
int ls_layer_exists(struct ls_store *s, const char *diff_id);
/* The diff directory of a layer, malloc'd; NULL for a bad diffID. */
char *ls_layer_path(struct ls_store *s, const char *diff_id);

/* --- images ---------------------------------------------------------------
 * An image is a ref in index.json naming a manifest; its layers are the
 * config's diff_ids, bottom first.
 *
 *	struct ls_image *img;
 *	ls_load(s, "oci:/path/to/layout:v1", NULL, &img);	// import
 *	ls_image_get(s, "v1", &img);				// look up
 *	ls_image_lowerdirs(s, img, &lower);	// "L/layers/TOP/diff:...:BOTTOM"
 *	ls_image_free(img);
 */
struct ls_image {
	char *ref;
	char manifest[LS_DIGEST_STR_LEN + 1];
	char config[LS_DIGEST_STR_LEN + 1];
	char **diff_ids; /* bottom first */
	char **blobs;	 /* the layer blobs, same order */
	size_t nlayers;
	uint64_t size; /* manifest + config + layer blobs, as stored */
	uint64_t manifest_size;
};

struct ls_load_opts {
	const char *tag;	 /* default: the source's REF, else its ref
				    name, else the file's stem, else latest */
	uint64_t max_layer_size; /* uncompressed bytes per layer; 0: 64 GiB */
	uint64_t max_entries;	 /* entries per layer; 0: 10 million */
};

/* Import the image at SRC, verifying every digest. SRC is "oci:DIR[:REF]",
 * "oci-archive:FILE[:REF]" or a bare layer FILE.tar[.gz|.tgz|.zst] (which
 * becomes a one-layer image). Everything is staged under tmp/ and only
 * published when all of it verified: a failed load leaves the store as it
 * was. o may be NULL. */
int ls_load(struct ls_store *s, const char *src, const struct ls_load_opts *o,
	    struct ls_image **ret);

/* Export the image REF to DST, "oci:DIR[:REF]" (created, or added to) or
 * "oci-archive:FILE[:REF]" (written atomically), named REF there (default:
 * the store's REF). */
int ls_save(struct ls_store *s, const char *ref, const char *dst);

/* Untag REF, then remove what only it used. -EBUSY when a container uses
 * the image, unless force. */
struct ls_gc_report {
	size_t blobs, layers, tmp, locks; /* objects removed */
	uint64_t blob_bytes, layer_bytes, tmp_bytes;
	size_t in_use; /* unreferenced layers kept: mounted (leased) */
};
int ls_rmi(struct ls_store *s, const char *ref, int force,
	   struct ls_gc_report *ret);
/* Remove every blob and layer no image or container references, unless a
 * mount holds it (a layerfs daemon keeps a shared flock on each lower),
 * and tmp/ leftovers. Waits for in-flight operations (ls_store_hold). */
int ls_gc(struct ls_store *s, int dry_run, struct ls_gc_report *ret);

/* --- containers -----------------------------------------------------------
 * A container is an image's layers, an init layer and an upper + work
 * dir under ROOT/containers/ID/. ls_container_mount_opts gives the layerfs
 * option string that mounts it (init above the image's layers).
 */
#define LS_CONTAINER_ID_MAX 64
struct ls_container {
	char id[LS_CONTAINER_ID_MAX + 1];
	char image[LS_DIGEST_STR_LEN + 1]; /* its manifest */
	char *ref;			   /* the image's name at create */
	char *created;			   /* RFC 3339 */
	char **diff_ids;		   /* bottom first */
	size_t nlayers;
	char *dir; /* ROOT/containers/ID */
};
/* id NULL: a random one. -EEXIST when the name is taken. */
int ls_container_create(struct ls_store *s, const char *ref, const char *id,
			struct ls_container **ret);
int ls_container_get(struct ls_store *s, const char *id,
		     struct ls_container **ret);
int ls_containers_list(struct ls_store *s, struct ls_container ***ret,
		       size_t *ret_n);
int ls_container_rm(struct ls_store *s, const char *id);
int ls_container_mount_opts(struct ls_store *s, const struct ls_container *c,
			    char **ret);
void ls_container_free(struct ls_container *c);
void ls_containers_free(struct ls_container **v, size_t n);
/* The container's lock (an fd to close): held while a daemon for it
 * starts (layerctl mount), while it is removed, and by diff and commit of
 * an unmounted container, so none of these overlap. */
int ls_container_lock(struct ls_store *s, const struct ls_container *c);

/* --- diff and commit ------------------------------------------------------
 * Both read the container's upper layer itself (never through a mount)
 * against its image's layers; the init layer is never part of a change.
 * A mounted container is frozen for the read (its layerfs daemon holds
 * every change back until the read is done), so what they see is one
 * instant of the upper layer, as docker commit pauses a container.
 *
 * ls_container_diff calls fn with 'A' (added), 'C' (changed) or 'D'
 * (deleted) and the path ("/etc/motd"), parents first.
 * ls_container_diff_tar writes the OCI changeset (an uncompressed layer
 * tar) to fd. ls_commit stores it as a new layer on the container's image
 * and tags REF; the same upper layer always gives the same layer digest.
 */
int ls_container_diff(struct ls_store *s, const char *id,
		      void (*fn)(void *arg, char kind, const char *path),
		      void *arg);
int ls_container_diff_tar(struct ls_store *s, const char *id, int fd);

enum ls_compression {
	LS_COMPRESS_ZSTD = 0, /* the default */
	LS_COMPRESS_GZIP,
	LS_COMPRESS_NONE,
};
struct ls_commit_opts {
	enum ls_compression compression;
	const char *message;	    /* history comment, may be NULL */
	const char *author;	    /* config author, may be NULL */
	const char *const *changes; /* "CMD ...", "ENV K=V", ... (Dockerfile
				       instructions, as docker commit -c) */
	size_t nchanges;
	int64_t timestamp; /* >= 0: clamp every mtime to it and date the
			      config with it; < 0: now, no clamping */
};
struct ls_commit_result {
	char manifest[LS_DIGEST_STR_LEN + 1];
	char config[LS_DIGEST_STR_LEN + 1];
	char layer[LS_DIGEST_STR_LEN + 1]; /* the blob */
	char diff_id[LS_DIGEST_STR_LEN + 1];
	uint64_t layer_size, tar_size, entries;
	const char *media_type; /* of the layer (static) */
};
/* Check the --change instructions without committing (0 or -EINVAL with
 * a message), so a bad one fails before any work. */
int ls_commit_check_changes(struct ls_store *s, const char *const *changes,
			    size_t n);
int ls_commit(struct ls_store *s, const char *id, const char *ref,
	      const struct ls_commit_opts *o, struct ls_commit_result *ret);

/* --- listing layers ------------------------------------------------------ */
struct ls_layer_info {
	char diff_id[LS_DIGEST_STR_LEN + 1];
	char blob[LS_DIGEST_STR_LEN + 1]; /* the blob it came from */
	uint64_t size, entries;		  /* of its tar */
	size_t nimages;			  /* images that use it */
	int in_use;			  /* a mount holds it */
};
int ls_layers_list(struct ls_store *s, struct ls_layer_info **ret,
		   size_t *ret_n);

/* --- fsck -----------------------------------------------------------------
 * Re-hash every blob, check every image's documents and layers, and every
 * unpacked layer against the manifest recorded when it was unpacked. Each
 * finding goes to fn; with repair, a damaged or missing layer is unpacked
 * again from its blob (and the finding says so). Garbage (unreferenced
 * objects, tmp/ leftovers) is counted, not a problem: gc removes it.
 */
struct ls_fsck_finding {
	const char *object; /* "blob sha256:...", "layer sha256:...", ... */
	const char *problem;
	int repaired;
};
struct ls_fsck_report {
	size_t blobs, layers, images; /* checked */
	size_t problems, repaired;
	size_t garbage; /* unreferenced blobs/layers, tmp/ entries */
};
int ls_fsck(struct ls_store *s, int repair,
	    void (*fn)(void *arg, const struct ls_fsck_finding *f), void *arg,
	    struct ls_fsck_report *ret);
/* REF, or a manifest digest. -ENOENT when there is no such image. */
int ls_image_get(struct ls_store *s, const char *ref, struct ls_image **ret);
int ls_images_list(struct ls_store *s, struct ls_image ***ret, size_t *ret_n);
int ls_image_lowerdirs(struct ls_store *s, const struct ls_image *img,
		       char **ret);
void ls_image_free(struct ls_image *img);
void ls_images_free(struct ls_image **v, size_t n);

#endif
