/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * OCI JSON documents (image index, manifest, config) as liblayerstore
 * reads and writes them; internal to the library. Parsers take untrusted
 * bytes and either fill the struct completely or fail with -EINVAL (or
 * -ENOMEM) and a malloc'd message naming what is wrong; they never keep
 * pointers into the input. Docker's media types are accepted as their
 * OCI twins. Every _free accepts a zeroed struct and leaves it zeroed.
 */
#ifndef LS_OCI_H
#define LS_OCI_H

#include <stddef.h>
#include <stdint.h>

enum ls_media {
	LS_MT_UNKNOWN = 0,
	LS_MT_INDEX,	    /* oci image index, docker manifest list */
	LS_MT_MANIFEST,	    /* oci image manifest, docker v2s2 manifest */
	LS_MT_CONFIG,	    /* oci image config, docker container config */
	LS_MT_LAYER_TAR,    /* uncompressed layer (oci tar, docker tar) */
	LS_MT_LAYER_GZIP,   /* oci tar+gzip, docker rootfs.diff.tar.gzip */
	LS_MT_LAYER_ZSTD,   /* oci tar+zstd */
	LS_MT_LAYER_FOREIGN /* non-distributable layers: refused */
};

#define LS_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define LS_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define LS_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define LS_MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define LS_MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define LS_MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define LS_REF_ANNOTATION "org.opencontainers.image.ref.name"

enum ls_media ls_media_parse(const char *media_type);
/* The OCI media type for a kind (what we write). */
const char *ls_media_oci(enum ls_media m);

struct ls_descriptor {
	char *media_type; /* as found (may be a Docker type) */
	enum ls_media kind;
	char *digest;	 /* validated "sha256:<hex>" */
	int64_t size;	 /* >= 0 */
	char *ref_name;	 /* annotation org.opencontainers.image.ref.name */
	char *os, *arch; /* platform, when given */
};

struct ls_index {
	struct ls_descriptor *manifests;
	size_t n;
};

struct ls_manifest {
	char *media_type;
	struct ls_descriptor config;
	struct ls_descriptor *layers;
	size_t nlayers;
};

struct ls_config {
	char **diff_ids; /* rootfs.diff_ids, validated digests */
	size_t ndiff;
	char *os, *arch;
};

int ls_index_parse(const char *buf, size_t len, struct ls_index *ret,
		   char **ret_err);
int ls_manifest_parse(const char *buf, size_t len, struct ls_manifest *ret,
		      char **ret_err);
int ls_config_parse(const char *buf, size_t len, struct ls_config *ret,
		    char **ret_err);

/* Serialise an index (the store's index.json) deterministically: keys in
 * a fixed order, manifests in the given order. Caller frees *ret. */
int ls_index_serialize(const struct ls_index *idx, char **ret, size_t *ret_len);

/* A manifest (OCI media types, layers in order), and a new config for a
 * plain image of n layers (empty runtime config; one history entry per
 * layer). Deterministic bytes. Caller frees *ret. */
int ls_manifest_serialize(const struct ls_manifest *m, char **ret,
			  size_t *ret_len);
int ls_config_new(const char *arch, const char *created, const char *created_by,
		  char *const *diff_ids, size_t n, char **ret, size_t *ret_len);

/* The config of a commit (cfgedit.c): the parent config's bytes with
 * created, author, the --change instructions, one more diff_id and one
 * more history entry. Caller frees *ret. */
struct ls_store;
struct ls_commit_opts;
int ls_config_commit(struct ls_store *s, const char *parent, size_t len,
		     const struct ls_commit_opts *o, const char *created,
		     const char *diff_id, char **ret, size_t *ret_len);

/* Is REF a valid OCI ref name (org.opencontainers.image.ref.name)? */
int ls_ref_valid(const char *ref);

/* Index edits for refs: set REF to point at desc (replacing any entry with
 * the same ref name), or remove REF. 0, or -ENOENT for a missing ref. */
int ls_index_set_ref(struct ls_index *idx, const char *ref,
		     const struct ls_descriptor *desc);
int ls_index_remove_ref(struct ls_index *idx, const char *ref);
/* The entry named REF, or NULL. */
const struct ls_descriptor *ls_index_find_ref(const struct ls_index *idx,
					      const char *ref);

/* The OCI architecture name of this machine ("amd64", "arm64", ...), and
 * the manifest of a multi-platform index for it (linux), or NULL. */
const char *ls_host_arch(void);
const struct ls_descriptor *ls_index_pick_platform(const struct ls_index *idx);

int ls_descriptor_copy(struct ls_descriptor *dst,
		       const struct ls_descriptor *src);
void ls_descriptor_free(struct ls_descriptor *d);
void ls_index_free(struct ls_index *idx);
void ls_manifest_free(struct ls_manifest *m);
void ls_config_free(struct ls_config *c);

#endif
