/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The changes of an upper layer (changes.c) and the OCI layer tar made of
 * them (tarout.c); internal to the library.
 *
 * ls_changes_walk reads an upper layer in the forms layerfs writes (see
 * fs/lfs.h: .wh. and char 0/0 whiteouts, opaque markers, redirected
 * directories, metacopy files, stat overrides) against the image layers
 * below it, and calls fn once per change in tar order: depth first,
 * siblings sorted by their name in the tar, a directory before what it
 * holds and its opaque marker right after it. The walk never goes through
 * a mount: it reads the directories themselves.
 *
 *	struct ls_changes_src src = { .upper = U, .init = I,
 *				      .lowers = L, .nlowers = n };
 *	ls_changes_walk(&src, fn, arg);
 */
#ifndef LS_CHANGES_H
#define LS_CHANGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

enum ls_change_kind {
	LS_CH_ADD = 'A',    /* an entry the image does not have */
	LS_CH_CHANGE = 'C', /* an entry that replaces the image's */
	LS_CH_DELETE = 'D', /* a whiteout of path */
	LS_CH_OPAQUE = 'O', /* path (a directory) hides the image's content */
	LS_CH_HIDDEN = 'H', /* path is gone under an opaque directory: shown
			       by diff, carried by the opaque marker in a tar */
};

struct ls_change {
	enum ls_change_kind kind;
	const char *path; /* relative to the root, no leading '/' */
	/* ADD and CHANGE: */
	struct stat st;	      /* as the union shows it (overrides applied) */
	int dirfd;	      /* the object is dirfd/name (readlink, xattrs) */
	const char *name;     /* ... */
	int datafd;	      /* regular files: open O_RDONLY on the data */
	const char *hardlink; /* regular files: an earlier path of the same
				 file in this walk, or NULL */
};

struct ls_changes_src {
	int upper;	   /* directory fds (O_RDONLY | O_DIRECTORY) */
	int init;	   /* the init layer (never part of a change), or -1 */
	const int *lowers; /* the image's layers, top first */
	size_t nlowers;
	int index; /* layerfs' WORKDIR/layerfs-index, or -1: hardlinked
		      lower files copied up, whose other names may still
		      be only in the lowers */
};

/* Call fn for each change; fn's negative return stops the walk and is
 * returned. Paths the init layer holds as non-directories are never
 * changes, nor is a whiteout of something the image does not have. */
int ls_changes_walk(const struct ls_changes_src *src,
		    int (*fn)(void *arg, const struct ls_change *c), void *arg);

/* --- the layer tar ------------------------------------------------------
 * An OCI layer tar written from changes: PAX, numeric ids, whiteouts and
 * opaque markers as empty files with mode 0 and mtime 0, security.capability
 * and user.* xattrs only. Bytes go to sink as they are made.
 *
 *	struct ls_tarout *t;
 *	ls_tarout_new(sink, arg, clamp, &t);	// clamp: max mtime, or -1
 *	ls_changes_walk(&src, ls_tarout_change, t);
 *	ls_tarout_finish(t);			// the end-of-archive blocks
 *	ls_tarout_free(t);
 */
struct ls_tarout;

int ls_tarout_new(int (*sink)(void *arg, const void *buf, size_t n), void *arg,
		  int64_t clamp, struct ls_tarout **ret);
int ls_tarout_change(void *t, const struct ls_change *c);
int ls_tarout_finish(struct ls_tarout *t);
/* Bytes of tar made so far and the entries written. */
uint64_t ls_tarout_bytes(const struct ls_tarout *t);
uint64_t ls_tarout_entries(const struct ls_tarout *t);
/* Why the last call failed (a static or internal string). */
const char *ls_tarout_error(const struct ls_tarout *t);
void ls_tarout_free(struct ls_tarout *t);

#endif
