// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Freezing the upper layer for a point-in-time read (layerctl commit and
 * diff of a mounted container), as `docker commit` pauses a container.
 *
 * The daemon listens on WORKDIR/layerfs.sock. A client (same uid or root)
 * connects and sends "freeze\n"; once every operation that may change the
 * upper layer has finished and new ones wait, the daemon answers
 * "frozen\n". The freeze lasts until the client closes the connection, so
 * a client that dies never leaves the container frozen.
 *
 * Every operation that may write the upper layer (lookup and readdirplus
 * too: they link hardlink aliases, index.c) runs under a shared hold of
 * fs->freeze_lock; the freeze takes it exclusive, preferring the writer so
 * a stream of operations cannot starve it. Reads of open files, getattr,
 * readdir and the like never wait.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"
#include "lfs.h"
#include "log.h"

#define SOCK_NAME CU_WORK_SOCKET

static int sock_addr(int dirfd, struct sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	/* through the dir fd: a workdir path may not fit sun_path */
	snprintf(a->sun_path, sizeof(a->sun_path), "/proc/self/fd/%d/%s", dirfd,
		 SOCK_NAME);
	return 0;
}

/* Another live daemon listening on this workdir's socket? */
static bool sock_live(const struct sockaddr_un *a)
{
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	return fd >= 0 &&
	       connect(fd, (const struct sockaddr *)a, sizeof(*a)) == 0;
}

int lfs_freeze_init(struct lfs_fs *fs, const char *workdir)
{
	pthread_rwlockattr_t ra;
	struct sockaddr_un a;
	_cleanup_close_ int wd = -1;

	fs->ctl_fd = fs->ctl_stop = -1;
	pthread_rwlockattr_init(&ra);
	pthread_rwlockattr_setkind_np(
		&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&fs->freeze_lock, &ra);
	pthread_rwlockattr_destroy(&ra);
	fs->freeze_ready = true;
	if (!workdir)
		return 0;
	wd = open(workdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (wd < 0)
		return -errno;
	sock_addr(wd, &a);
	if (sock_live(&a)) {
		cu_warn("workdir '%s' is in use by another mount: "
			"commits of this mount cannot pause it",
			workdir);
		return 0;
	}
	if (unlinkat(wd, SOCK_NAME, 0) < 0 && errno != ENOENT)
		return -errno;
	fs->ctl_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fs->ctl_fd < 0)
		return -errno;
	if (bind(fs->ctl_fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    fchmodat(wd, SOCK_NAME, 0600, 0) < 0 || listen(fs->ctl_fd, 4) < 0)
		return -errno;
	fs->ctl_workdir = wd;
	wd = -1;
	return 0;
}

static bool peer_allowed(int fd)
{
	struct ucred c;
	socklen_t len = sizeof(c);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c, &len) < 0)
		return false;
	return c.uid == 0 || c.uid == geteuid();
}

/* Wait for readable data on fd or a stop request: 1 readable, 0 stop. */
static int wait_fd(struct lfs_fs *fs, int fd)
{
	struct pollfd p[2] = { { .fd = fd, .events = POLLIN },
			       { .fd = fs->ctl_stop, .events = POLLIN } };

	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		if (p[1].revents)
			return 0;
		if (p[0].revents)
			return 1;
	}
}

static void serve_client(struct lfs_fs *fs, int c)
{
	char buf[64];
	ssize_t n;

	if (!peer_allowed(c) || wait_fd(fs, c) <= 0)
		return;
	n = read(c, buf, sizeof(buf) - 1);
	if (n <= 0)
		return;
	buf[n] = '\0';
	if (strcmp(buf, "freeze\n") != 0) {
		(void)!write(c, "error unknown request\n", 22);
		return;
	}
	pthread_rwlock_wrlock(&fs->freeze_lock);
	if (write(c, "frozen\n", 7) == 7) {
		/* hold until the client closes (EOF) or goes away */
		while (wait_fd(fs, c) > 0 && read(c, buf, sizeof(buf)) > 0)
			;
	}
	pthread_rwlock_unlock(&fs->freeze_lock);
}

static void *ctl_main(void *arg)
{
	struct lfs_fs *fs = arg;

	while (wait_fd(fs, fs->ctl_fd) > 0) {
		int c = accept4(fs->ctl_fd, NULL, NULL, SOCK_CLOEXEC);

		if (c < 0)
			continue;
		serve_client(fs, c);
		close(c);
	}
	return NULL;
}

/* After fuse_daemonize: threads do not survive its fork. */
int lfs_freeze_start(struct lfs_fs *fs)
{
	if (fs->ctl_fd < 0)
		return 0;
	fs->ctl_stop = eventfd(0, EFD_CLOEXEC);
	if (fs->ctl_stop < 0)
		return -errno;
	if (pthread_create(&fs->ctl_thread, NULL, ctl_main, fs) != 0) {
		close(fs->ctl_stop);
		fs->ctl_stop = -1;
		return -EAGAIN;
	}
	return 0;
}

void lfs_freeze_stop(struct lfs_fs *fs)
{
	uint64_t one = 1;

	if (fs->ctl_stop >= 0) {
		(void)!write(fs->ctl_stop, &one, sizeof(one));
		pthread_join(fs->ctl_thread, NULL);
		close(fs->ctl_stop);
		fs->ctl_stop = -1;
	}
	if (fs->ctl_fd >= 0) {
		unlinkat(fs->ctl_workdir, SOCK_NAME, 0);
		close(fs->ctl_fd);
		close(fs->ctl_workdir);
		fs->ctl_fd = -1;
	}
	if (fs->freeze_ready)
		pthread_rwlock_destroy(&fs->freeze_lock);
	fs->freeze_ready = false;
}

/* --- the operations that may change the upper layer ---------------------- */

#define HOLD(fs) pthread_rwlock_rdlock(&(fs)->freeze_lock)
#define UNHOLD(fs) pthread_rwlock_unlock(&(fs)->freeze_lock)

static void f_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct lfs_fs *fs = lfs_fs_of(req);

	HOLD(fs);
	lfs_op_lookup(req, parent, name);
	UNHOLD(fs);
}

static void f_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		      int to_set, struct fuse_file_info *fi)
{
	struct lfs_fs *fs = lfs_fs_of(req);

	HOLD(fs);
	lfs_op_setattr(req, ino, attr, to_set, fi);
	UNHOLD(fs);
}

static void f_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		    mode_t mode, dev_t rdev)
{
	struct lfs_fs *fs = lfs_fs_of(req);

	HOLD(fs);
	lfs_op_mknod(req, parent, name, mode, rdev);
	UNHOLD(fs);
}

static void f_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		    mode_t mode)
{
	struct lfs_fs *fs = lfs_fs_of(req);

	HOLD(fs);
	lfs_op_mkdir(req, parent, name, mode);
	UNHOLD(fs);
}

static void f_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct lfs_fs *fs = lfs_fs_of(req);

	HOLD(fs);
	lfs_op_unlink(req, parent, name);
	UNHOLD(fs);
}

static void f_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct lfs_fs *fs = lfs_fs_of(req);

	HOLD(fs);
	lfs_op_rmdir(req, parent, name);
	UNHOLD(fs);
}

static void f_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		      const char *name)
{
	struct lfs_fs *fs = lfs_fs_of(req);

	HOLD(fs);
	lfs_op_symlink(req, link, parent, name);
	UNHOLD(fs);
}

static void f_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		     fuse_ino_t newparent, const char *newname,
		     unsigned int flags)
{
	struct lfs_fs *fs = lfs_fs_of(req);

	HOLD(fs);
	lfs_op_rename(req, parent, name, newparent, newname, flags);
	UNHOLD(fs);
}

static void f_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		   const char *newname)
{
	struct lfs_fs *fs = lfs_fs_of(req);

	HOLD(fs);
	lfs_op_link(req, ino, newparent, newname);
	UNHOLD(fs);
}

static void f_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct lfs_fs *fs = lfs_fs_of(req);

	HOLD(fs);
	lfs_op_open(req, ino, fi);
	UNHOLD(fs);
}

static void f_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *bv,
			off_t off, struct fuse_file_info *fi)
{
	struct lfs_fs *fs = lfs_fs_of(req);

	HOLD(fs);
	lfs_op_write_buf(req, ino, bv, off, fi);
	UNHOLD(fs);
}

static void f_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			  off_t off, struct fuse_file_info *fi)
{
	struct lfs_fs *fs = lfs_fs_of(req);

	HOLD(fs);
	lfs_op_readdirplus(req, ino, size, off, fi);
	UNHOLD(fs);
}

static void f_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		       const char *value, size_t size, int flags)
{
	struct lfs_fs *fs = lfs_fs_of(req);

	HOLD(fs);
	lfs_op_setxattr(req, ino, name, value, size, flags);
	UNHOLD(fs);
}

static void f_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct lfs_fs *fs = lfs_fs_of(req);

	HOLD(fs);
	lfs_op_removexattr(req, ino, name);
	UNHOLD(fs);
}

static void f_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, struct fuse_file_info *fi)
{
	struct lfs_fs *fs = lfs_fs_of(req);

	HOLD(fs);
	lfs_op_create(req, parent, name, mode, fi);
	UNHOLD(fs);
}

static void f_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off,
			off_t len, struct fuse_file_info *fi)
{
	struct lfs_fs *fs = lfs_fs_of(req);

	HOLD(fs);
	lfs_op_fallocate(req, ino, mode, off, len, fi);
	UNHOLD(fs);
}

static void f_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			      struct fuse_file_info *fi_in, fuse_ino_t ino_out,
			      off_t off_out, struct fuse_file_info *fi_out,
			      size_t len, int flags)
{
	struct lfs_fs *fs = lfs_fs_of(req);

	HOLD(fs);
	lfs_op_copy_file_range(req, ino_in, off_in, fi_in, ino_out, off_out,
			       fi_out, len, flags);
	UNHOLD(fs);
}

/* The operation table with the changing operations held against a
 * freeze; the others are lfs_ops' own. */
void lfs_freeze_wrap(struct fuse_lowlevel_ops *ops)
{
	ops->lookup = f_lookup;
	ops->setattr = f_setattr;
	ops->mknod = f_mknod;
	ops->mkdir = f_mkdir;
	ops->unlink = f_unlink;
	ops->rmdir = f_rmdir;
	ops->symlink = f_symlink;
	ops->rename = f_rename;
	ops->link = f_link;
	ops->open = f_open;
	ops->write_buf = f_write_buf;
	ops->readdirplus = f_readdirplus;
	ops->setxattr = f_setxattr;
	ops->removexattr = f_removexattr;
	ops->create = f_create;
	ops->fallocate = f_fallocate;
	ops->copy_file_range = f_copy_file_range;
}
