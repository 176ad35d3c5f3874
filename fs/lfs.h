/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * layerfs private header: the union's data model, prototypes by file.
 *
 * Layers: layers[0] is the upper layer when there is one, then the lowers
 * top to bottom. Every layer is an O_PATH fd on its root; every object is
 * reached with *at() calls on O_PATH fds, never by path strings.
 *
 * A node is one entry of the merged tree as the kernel knows it (its FUSE
 * nodeid is the node's address). It holds an O_PATH fd on its top-most
 * real object and, for a merged directory, the lower directories merged
 * under it. Nodes live in a hash table keyed by (layer, st_dev, st_ino) of
 * their real objects; a copied-up node is found under both its origin and
 * its upper key. Hardlinks of a lower file are one node, as the kernel's
 * overlayfs with index=on (see index.c).
 *
 * The on-disk form in the upper layer, which layerctl diff and commit
 * read too, is described (and its names defined) in common/upperfmt.h.
 *
 * Locking. No global lock around operations:
 *   fs->table_lock  protects the hash table and every node's nlookup/refs.
 *   node->lock      protects the node's layer/fd/lowers/flags/parent/name
 *                   and serialises its copy-up.
 * Order: a node's lock before its parent's (copy-up walks up), then
 * table_lock last; never a parent's lock while taking a child's. No lock is
 * held across fuse_reply_*(). Directory modifications are already
 * serialised per directory by the kernel (i_rwsem).
 */
#ifndef LFS_H
#define LFS_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "options.h"
#include "override.h"
#include "upperfmt.h"
#include "whiteout.h"

#define LFS_XATTR_REDIRECT CU_XATTR_REDIRECT
#define LFS_XATTR_METACOPY CU_XATTR_METACOPY
#define LFS_XATTR_HASMETA CU_XATTR_HASMETA
#define LFS_XATTR_NLINK CU_XATTR_NLINK
#define LFS_XATTR_PREFIX CU_XATTR_PREFIX
#define LFS_OVERRIDE_CONTAINERS CU_OVERRIDE_CONTAINERS
#define LFS_OVERRIDE_USER CU_OVERRIDE_USER
#define LFS_OVERRIDE_PRIV CU_OVERRIDE_PRIV

struct lfs_layer {
	int fd;	     /* O_PATH | O_DIRECTORY on the layer root */
	int leasefd; /* lower layers: holds a shared flock on the root */
	char *path;
	dev_t dev;
	unsigned devidx; /* index among the distinct st_dev of all layers */
	const char *override_xattr; /* stat override in use here, or NULL */
};

/* One real object of a stack, in a given layer. */
struct lfs_real {
	int layer;
	int fd; /* O_PATH */
};

/*
 * What a node is made of: r[0] is its top-most real object; a merged
 * directory has the lower directories below it in r[1..]; a metacopy file
 * has its data in r[1]. A stack never changes once published: copy-up
 * builds a new one and swaps it in under the node's lock, so readers take
 * a reference (lfs_stack_get) and make syscalls without holding a lock.
 */
struct lfs_stack {
	int refs; /* atomic */
	int n;
	struct lfs_real r[];
};
struct lfs_key {
	int layer;
	dev_t dev;
	ino_t ino;
};

struct lfs_node {
	uint64_t ino; /* reported st_ino: stable for the mount's life */
	uint64_t generation;
	mode_t type; /* S_IFMT bits; never changes for a node */

	pthread_mutex_t lock;
	/* --- protected by lock --- */
	struct lfs_stack *stack; /* NULL when dropped by the fd cache */
	int layer;		 /* of the top object, also when dropped */
	int hold;		 /* > 0: the fd cache keeps the stack */
	bool metacopy;	 /* upper holds metadata only; data in stack r[1] */
	bool redirected; /* upper dir carries a redirect xattr */
	bool has_meta;	 /* upper dir carries the hasmeta mark */
	char *opath;	 /* origin path in the lowers ("" = root), or NULL */
	struct lfs_node *parent; /* holds a ref; NULL for root/unlinked */
	char *name;

	/* --- protected by fs->table_lock --- */
	struct lfs_hent *hent[2]; /* origin key, upper key after copy-up */
	uint64_t nlookup;	  /* kernel references */
	uint64_t refs;		  /* our references (children, handles) */

	/* --- protected by fs->lru_lock (fdcache.c) --- */
	struct lfs_node *lru_prev, *lru_next;
	bool in_lru;
	int nfds;    /* fds of the stack, as counted in fs->pinned_fds */
	int lru_ref; /* atomic: used since the sweep last passed */
};

struct lfs_hent {
	struct lfs_key key;
	struct lfs_node *node;
	struct lfs_hent *next;
};

/* Open handles are linked on the fs (handles_lock), so that those whose
 * release never came (the daemon was stopped first) are freed at exit. */
struct lfs_handle {
	struct lfs_handle *prev, *next;
};

struct lfs_fs {
	struct lfs_opts *opts;
	struct lfs_layer *layers;
	int nlayers;
	bool has_upper;
	int workfd;  /* O_PATH of WORKDIR/layerfs-work, on the upper's fs */
	int indexfd; /* O_PATH of WORKDIR/layerfs-index, or -1 */
	pthread_mutex_t index_lock; /* serialises index entries and nlinks */
	unsigned ndevs;		    /* distinct st_dev among layers */
	enum cu_wh_format wh_fmt;
	double timeout;	      /* entry/attr timeout for upper/merged entries */
	double lower_timeout; /* for entries that only live in lowers */
	bool rootless;	      /* cannot chown: use override_stat */
	const char *upper_override; /* override xattr written in the upper */
	struct lfs_node *root;

	pthread_mutex_t table_lock;
	struct lfs_hent **buckets;
	size_t nbuckets, nentries;
	/* upper inode -> reported ino of objects copied up during this
	 * mount, so their st_ino stays the origin's after a forget */
	pthread_mutex_t handles_lock;
	struct lfs_handle files, dirs; /* list heads */

	pthread_mutex_t lru_lock; /* fdcache.c */
	struct lfs_node *lru_hand;
	size_t pinned_fds, fd_budget;

	struct lfs_inomap {
		ino_t upper;
		uint64_t ino;
	} * inomap;
	size_t inomap_cap, inomap_n;
	uint64_t next_generation;

	/* freeze.c: changing operations hold freeze_lock shared; a freeze
	 * (through the control socket WORKDIR/layerfs.sock) holds it
	 * exclusive. Taken before any other lock. */
	pthread_rwlock_t freeze_lock;
	bool freeze_ready;
	int ctl_fd, ctl_stop, ctl_workdir;
	pthread_t ctl_thread;
};

struct lfs_dirent {
	char *name;
	uint64_t ino; /* as reported */
	ino_t real_ino;
	int layer;
	unsigned char type;
};

struct lfs_dirh {
	struct lfs_handle link; /* first: a dirh is a handle */
	pthread_mutex_t lock;
	struct lfs_dirent *ents;
	size_t n, cap;
	bool loaded;
};

struct lfs_fileh {
	struct lfs_handle link; /* first: a fileh is a handle */
	int fd;
	int layer; /* the node's layer when opened (re-open after copy-up) */
	int flags;
};

/* Result of resolving one name in a stack of directories. */
struct lfs_found {
	struct stat st; /* of the top object */
	struct lfs_stack *stack;
	bool metacopy, redirected, has_meta;
	char *opath;
};

static inline struct lfs_fs *lfs_fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* table.c */
int lfs_table_init(struct lfs_fs *fs);
void lfs_table_destroy(struct lfs_fs *fs);
struct lfs_node *lfs_node_get(struct lfs_fs *fs, fuse_ino_t ino);
void lfs_node_ref(struct lfs_fs *fs, struct lfs_node *n);
void lfs_node_unref(struct lfs_fs *fs, struct lfs_node *n);
void lfs_node_forget(struct lfs_fs *fs, struct lfs_node *n, uint64_t nlookup);
int lfs_node_add_key(struct lfs_fs *fs, struct lfs_node *n, int layer,
		     const struct stat *st);
struct lfs_node *lfs_node_intern(struct lfs_fs *fs, struct lfs_node *parent,
				 const char *name, struct lfs_found *f);
uint64_t lfs_table_ino_of(struct lfs_fs *fs, int layer, ino_t ino);
struct lfs_node *lfs_node_lookup_key(struct lfs_fs *fs, int layer, ino_t ino);
struct lfs_node *lfs_node_find_key(struct lfs_fs *fs, int layer, dev_t dev,
				   ino_t ino);
void lfs_inomap_del(struct lfs_fs *fs, ino_t upper_ino);
int lfs_node_top_layer(struct lfs_node *n);
void lfs_node_detach(struct lfs_fs *fs, struct lfs_node *n,
		     struct lfs_node *parent, const char *name);
void lfs_found_clear(struct lfs_found *f);
struct lfs_stack *lfs_stack_new(int n);
void lfs_stack_put(struct lfs_stack *s);
static inline int lfs_top_layer(const struct lfs_stack *s)
{
	return s->r[0].layer;
}

/* fdcache.c */
void lfs_fdcache_init(struct lfs_fs *fs);
struct lfs_stack *lfs_stack_get(struct lfs_fs *fs, struct lfs_node *n);
struct lfs_stack *lfs_stack_locked(struct lfs_fs *fs, struct lfs_node *n);
void lfs_node_set_stack(struct lfs_fs *fs, struct lfs_node *n,
			struct lfs_stack *s);
void lfs_node_hold(struct lfs_fs *fs, struct lfs_node *n);
void lfs_node_unhold(struct lfs_fs *fs, struct lfs_node *n);
void lfs_fdcache_forget(struct lfs_fs *fs, struct lfs_node *n);
void lfs_fdcache_trim(struct lfs_fs *fs);

/* lookup.c */
uint64_t lfs_compose_ino(struct lfs_fs *fs, int layer, ino_t ino);
int lfs_resolve(struct lfs_fs *fs, struct lfs_node *parent, const char *name,
		struct lfs_found *ret);
int lfs_resolve_lower_path(struct lfs_fs *fs, const char *path,
			   struct lfs_found *ret);
int lfs_lower_has(struct lfs_fs *fs, struct lfs_node *parent, const char *name);
char *lfs_child_opath(const char *parent_opath, const char *name);

/* attr.c */
int lfs_getattr_node(struct lfs_fs *fs, struct lfs_node *n, struct stat *st);
void lfs_fill_entry(struct lfs_fs *fs, struct lfs_node *n,
		    const struct stat *st, struct fuse_entry_param *e);
int lfs_set_owner(struct lfs_fs *fs, int fd, uid_t uid, gid_t gid, mode_t mode);
uid_t lfs_uid_to_disk(struct lfs_fs *fs, uid_t uid);
gid_t lfs_gid_to_disk(struct lfs_fs *fs, gid_t gid);
int lfs_truncate_node(struct lfs_fs *fs, struct lfs_node *n,
		      struct fuse_file_info *fi, off_t size);
void lfs_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void lfs_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		    int to_set, struct fuse_file_info *fi);

/* xattr.c */
bool lfs_xattr_private(const char *name);
int lfs_xattr_get_path(int fd, const char *name, void *buf, size_t size);
int lfs_xattr_set_path(int fd, const char *name, const void *v, size_t size,
		       int flags);
int lfs_copy_xattrs(int src_fd, int dst_fd, bool skip_acl);
void lfs_op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		     const char *value, size_t size, int flags);
void lfs_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		     size_t size);
void lfs_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void lfs_op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);

/* copyup.c */
int lfs_copy_up(struct lfs_fs *fs, struct lfs_node *n, bool data);
int lfs_ensure_upper_dir(struct lfs_fs *fs, struct lfs_node *dir);
int lfs_dir_mark_meta(struct lfs_fs *fs, struct lfs_node *dir);
int lfs_node_upper_fd(struct lfs_node *n);
int lfs_open_real(int opath_fd, int flags);

/* index.c */
bool lfs_index_applies(struct lfs_fs *fs, int layer, const struct stat *st);
void lfs_index_name(const struct stat *lower, char *buf, size_t size);
int lfs_index_fix_alias(struct lfs_fs *fs, struct lfs_node *parent,
			const char *name, struct lfs_found *f);
int lfs_index_nlink_add(struct lfs_fs *fs, int fd, int delta);
int lfs_index_name_up(struct lfs_fs *fs, struct lfs_node *parent,
		      const char *name, struct lfs_found *f);
int lfs_index_nlink_get(int fd, nlink_t *ret);

/* readdir.c */
void lfs_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void lfs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi);
void lfs_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			struct fuse_file_info *fi);
void lfs_op_releasedir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi);
void lfs_op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi);
int lfs_dir_list(struct lfs_fs *fs, struct lfs_node *dir, struct lfs_dirh *h);
int lfs_stack_empty(struct lfs_fs *fs, const struct lfs_stack *s);
void lfs_dirh_clear(struct lfs_dirh *h);

/* dir.c */
int lfs_lookup_entry(struct lfs_fs *fs, struct lfs_node *parent,
		     const char *name, struct fuse_entry_param *e);
void lfs_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void lfs_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
void lfs_op_forget_multi(fuse_req_t req, size_t count,
			 struct fuse_forget_data *forgets);
void lfs_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		  mode_t mode, dev_t rdev);
void lfs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		  mode_t mode);
void lfs_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		    const char *name);
void lfs_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		 const char *newname);
void lfs_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void lfs_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void lfs_op_readlink(fuse_req_t req, fuse_ino_t ino);
void lfs_op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		   mode_t mode, struct fuse_file_info *fi);
int lfs_remove_upper(struct lfs_fs *fs, int pfd, const char *name, bool dir);
int lfs_create_at(struct lfs_fs *fs, fuse_req_t req, struct lfs_node *parent,
		  const char *name, mode_t mode, dev_t rdev,
		  const char *link_target, int *ret_fd,
		  struct lfs_node **ret_node, struct stat *ret_st);

/* rename.c */
void lfs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		   fuse_ino_t newparent, const char *newname,
		   unsigned int flags);

/* file.c */
void lfs_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void lfs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		 struct fuse_file_info *fi);
void lfs_op_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *buf,
		      off_t off, struct fuse_file_info *fi);
void lfs_op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void lfs_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void lfs_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		  struct fuse_file_info *fi);
void lfs_op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
		      off_t length, struct fuse_file_info *fi);
void lfs_op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		  struct fuse_file_info *fi);
void lfs_op_flock(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		  int op);
void lfs_op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			    struct fuse_file_info *fi_in, fuse_ino_t ino_out,
			    off_t off_out, struct fuse_file_info *fi_out,
			    size_t len, int flags);
void lfs_op_statfs(fuse_req_t req, fuse_ino_t ino);
struct lfs_fileh *lfs_fileh_new(struct lfs_fs *fs, int fd, int layer,
				int flags);
void lfs_handle_link(struct lfs_fs *fs, struct lfs_handle *head,
		     struct lfs_handle *h);
void lfs_handle_unlink(struct lfs_fs *fs, struct lfs_handle *h);
void lfs_handles_free(struct lfs_fs *fs);

/* main.c / mount.c */
int lfs_fs_init(struct lfs_fs *fs, struct lfs_opts *o, char **ret_err);
void lfs_fs_destroy(struct lfs_fs *fs);
extern const struct fuse_lowlevel_ops lfs_ops;

/* freeze.c */
int lfs_freeze_init(struct lfs_fs *fs, const char *workdir);
int lfs_freeze_start(struct lfs_fs *fs);
void lfs_freeze_stop(struct lfs_fs *fs);
void lfs_freeze_wrap(struct fuse_lowlevel_ops *ops);

#endif
