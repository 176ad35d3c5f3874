// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Open files: an open for writing copies the file up first (data too);
 * reads go to the top object, or to a metacopy's origin. A handle opened
 * read-only on a lower file re-opens on the upper copy once the file has
 * been copied up, so every reader sees the writes made through the mount.
 * Reads and writes move data with splice where libfuse can.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "lfs.h"

void lfs_handle_link(struct lfs_fs *fs, struct lfs_handle *head,
		     struct lfs_handle *h)
{
	pthread_mutex_lock(&fs->handles_lock);
	h->next = head->next;
	h->prev = head;
	head->next->prev = h;
	head->next = h;
	pthread_mutex_unlock(&fs->handles_lock);
}

void lfs_handle_unlink(struct lfs_fs *fs, struct lfs_handle *h)
{
	pthread_mutex_lock(&fs->handles_lock);
	h->prev->next = h->next;
	h->next->prev = h->prev;
	pthread_mutex_unlock(&fs->handles_lock);
}

struct lfs_fileh *lfs_fileh_new(struct lfs_fs *fs, int fd, int layer, int flags)
{
	struct lfs_fileh *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->fd = fd;
	h->layer = layer;
	h->flags = flags;
	lfs_handle_link(fs, &fs->files, &h->link);
	return h;
}

static struct lfs_fileh *fh_of(struct fuse_file_info *fi)
{
	return (struct lfs_fileh *)(uintptr_t)fi->fh;
}

static int real_flags(struct lfs_fs *fs, int flags)
{
	/* with the writeback cache the kernel reads pages of files opened
	 * write-only, and does O_APPEND itself */
	if (fs->opts->writeback) {
		if ((flags & O_ACCMODE) == O_WRONLY)
			flags = (flags & ~O_ACCMODE) | O_RDWR;
		flags &= ~O_APPEND;
	}
	return flags;
}

static bool wants_write(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
}

/* Open the object that holds n's data now. */
static int open_data(struct lfs_fs *fs, struct lfs_node *n, int flags,
		     int *ret_layer)
{
	struct lfs_stack *s;
	bool meta;
	int i, fd;

	pthread_mutex_lock(&n->lock);
	meta = n->metacopy;
	pthread_mutex_unlock(&n->lock);
	s = lfs_stack_get(fs, n);
	i = (meta && s->n > 1 && !wants_write(flags)) ? 1 : 0;
	fd = lfs_open_real(s->r[i].fd, real_flags(fs, flags));
	*ret_layer = s->r[i].layer;
	lfs_stack_put(s);
	return fd;
}

void lfs_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct lfs_fs *fs = lfs_fs_of(req);
	struct lfs_node *n = lfs_node_get(fs, ino);
	struct lfs_fileh *h;
	int r = 0, fd, layer;

	if (wants_write(fi->flags)) {
		if (!fs->has_upper) {
			fuse_reply_err(req, EROFS);
			return;
		}
		r = (fi->flags & O_TRUNC) ? lfs_truncate_node(fs, n, NULL, 0) :
					    lfs_copy_up(fs, n, true);
	}
	fd = r < 0 ? r : open_data(fs, n, fi->flags, &layer);
	if (fd < 0) {
		fuse_reply_err(req, -fd);
		return;
	}
	h = lfs_fileh_new(fs, fd, layer, fi->flags);
	if (!h) {
		close(fd);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fi->fh = (uintptr_t)h;
	/* every change goes through this mount: cached pages stay valid */
	fi->keep_cache = 1;
	fi->noflush = !(fi->flags & O_ACCMODE);
	fuse_reply_open(req, fi);
}

void lfs_op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		   mode_t mode, struct fuse_file_info *fi)
{
	struct lfs_fs *fs = lfs_fs_of(req);
	struct fuse_entry_param e;
	struct lfs_node *n = NULL;
	struct lfs_fileh *h = NULL;
	struct stat st;
	int fd = real_flags(fs, fi->flags);
	int r = lfs_create_at(fs, req, lfs_node_get(fs, parent), name,
			      S_IFREG | (mode & 07777), 0, NULL, &fd, &n, &st);

	if (r == 0 && !(h = lfs_fileh_new(fs, fd, 0, fi->flags)))
		r = -ENOMEM;
	if (r < 0) {
		if (fd >= 0)
			close(fd);
		if (n)
			lfs_node_forget(fs, n, 1);
		fuse_reply_err(req, -r);
		return;
	}
	fi->fh = (uintptr_t)h;
	fi->keep_cache = 1;
	lfs_fill_entry(fs, n, &st, &e);
	fuse_reply_create(req, &e, fi);
}

/* A read-only handle on a lower object, after the file was copied up:
 * switch it to the upper copy. */
static int refresh(struct lfs_fs *fs, struct lfs_node *n, struct lfs_fileh *h)
{
	int fd, layer;
	bool stale;

	if (h->layer == 0 || !fs->has_upper)
		return 0;
	pthread_mutex_lock(&n->lock);
	stale = n->layer == 0 && !n->metacopy;
	pthread_mutex_unlock(&n->lock);
	if (!stale)
		return 0;
	fd = open_data(fs, n, h->flags & ~O_TRUNC, &layer);
	if (fd < 0)
		return fd;
	/* racing readers may both re-open; the last one wins, the other fd
	 * is closed here */
	fd = __atomic_exchange_n(&h->fd, fd, __ATOMIC_ACQ_REL);
	__atomic_store_n(&h->layer, layer, __ATOMIC_RELEASE);
	close(fd);
	return 0;
}

void lfs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		 struct fuse_file_info *fi)
{
	struct lfs_fs *fs = lfs_fs_of(req);
	struct lfs_fileh *h = fh_of(fi);
	struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);
	int r = refresh(fs, lfs_node_get(fs, ino), h);

	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	buf.buf[0].fd = __atomic_load_n(&h->fd, __ATOMIC_ACQUIRE);
	buf.buf[0].pos = off;
	fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
}

void lfs_op_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in,
		      off_t off, struct fuse_file_info *fi)
{
	struct lfs_fileh *h = fh_of(fi);
	struct fuse_bufvec out = FUSE_BUFVEC_INIT(fuse_buf_size(in));
	ssize_t n;

	if (h->layer != 0) {
		fuse_reply_err(req, EBADF);
		return;
	}
	out.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	out.buf[0].fd = h->fd;
	out.buf[0].pos = off;
	n = fuse_buf_copy(&out, in, 0);
	if (n < 0)
		fuse_reply_err(req, -n);
	else
		fuse_reply_write(req, n);
}

void lfs_op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	/* close a duplicate, so the real file sees a close (as the kernel
	 * does on every close of a file descriptor) */
	int fd = dup(fh_of(fi)->fd);

	fuse_reply_err(req, fd < 0 ? errno : (close(fd) < 0 ? errno : 0));
}

void lfs_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct lfs_fileh *h = fh_of(fi);

	lfs_handle_unlink(lfs_fs_of(req), &h->link);
	close(h->fd);
	free(h);
	fuse_reply_err(req, 0);
}

void lfs_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		  struct fuse_file_info *fi)
{
	struct lfs_fs *fs = lfs_fs_of(req);
	int fd = fh_of(fi)->fd, r = 0;

	if (fs->opts->fsync && !fs->opts->volatile_mode)
		r = (datasync ? fdatasync(fd) : fsync(fd)) < 0 ? errno : 0;
	fuse_reply_err(req, r);
}

void lfs_op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
		      off_t length, struct fuse_file_info *fi)
{
	struct lfs_fileh *h = fh_of(fi);

	if (h->layer != 0) {
		fuse_reply_err(req, EBADF);
		return;
	}
	fuse_reply_err(req,
		       fallocate(h->fd, mode, offset, length) < 0 ? errno : 0);
}

void lfs_op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		  struct fuse_file_info *fi)
{
	off_t r = lseek(fh_of(fi)->fd, off, whence);

	if (r < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_lseek(req, r);
}

void lfs_op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			    struct fuse_file_info *fi_in, fuse_ino_t ino_out,
			    off_t off_out, struct fuse_file_info *fi_out,
			    size_t len, int flags)
{
	struct lfs_fileh *out = fh_of(fi_out);
	loff_t oi = off_in, oo = off_out;
	ssize_t n;

	if (out->layer != 0) {
		fuse_reply_err(req, EBADF);
		return;
	}
	n = copy_file_range(fh_of(fi_in)->fd, &oi, out->fd, &oo, len, flags);
	if (n < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_write(req, n);
}

void lfs_op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct lfs_fs *fs = lfs_fs_of(req);
	struct statvfs sv;
	int fd = openat(fs->layers[0].fd, ".",
			O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fstatvfs(fd, &sv) < 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		fuse_reply_err(req, e);
		return;
	}
	close(fd);
	fuse_reply_statfs(req, &sv);
}
