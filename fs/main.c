// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * layerfs: the union filesystem daemon. Parses the command line (options.c),
 * sets up the layers (mount.c), mounts, and serves FUSE requests with a
 * pool of threads until unmounted or sent SIGTERM/SIGINT/SIGHUP.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "lfs.h"
#include "log.h"

static void lfs_init(void *userdata, struct fuse_conn_info *conn)
{
	struct lfs_fs *fs = userdata;
	unsigned want = FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE |
			FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO |
			FUSE_CAP_CACHE_SYMLINKS | FUSE_CAP_PARALLEL_DIROPS |
			FUSE_CAP_ASYNC_DIO | FUSE_CAP_POSIX_ACL;

	if (fs->opts->writeback)
		want |= FUSE_CAP_WRITEBACK_CACHE;
	conn->want |= want & conn->capable;
	/* the kernel keeps POSIX and flock locks itself: every user of the
	 * union goes through this one mount */
	conn->want &= ~(FUSE_CAP_POSIX_LOCKS | FUSE_CAP_FLOCK_LOCKS);
	conn->max_write = 1 << 20;
	conn->max_readahead = 1 << 20;
	conn->max_background = 64;
	conn->congestion_threshold = 48;
}

const struct fuse_lowlevel_ops lfs_ops = {
	.init = lfs_init,
	.lookup = lfs_op_lookup,
	.forget = lfs_op_forget,
	.forget_multi = lfs_op_forget_multi,
	.getattr = lfs_op_getattr,
	.setattr = lfs_op_setattr,
	.readlink = lfs_op_readlink,
	.mknod = lfs_op_mknod,
	.mkdir = lfs_op_mkdir,
	.unlink = lfs_op_unlink,
	.rmdir = lfs_op_rmdir,
	.symlink = lfs_op_symlink,
	.rename = lfs_op_rename,
	.link = lfs_op_link,
	.open = lfs_op_open,
	.read = lfs_op_read,
	.write_buf = lfs_op_write_buf,
	.flush = lfs_op_flush,
	.release = lfs_op_release,
	.fsync = lfs_op_fsync,
	.opendir = lfs_op_opendir,
	.readdir = lfs_op_readdir,
	.readdirplus = lfs_op_readdirplus,
	.releasedir = lfs_op_releasedir,
	.fsyncdir = lfs_op_fsyncdir,
	.statfs = lfs_op_statfs,
	.setxattr = lfs_op_setxattr,
	.getxattr = lfs_op_getxattr,
	.listxattr = lfs_op_listxattr,
	.removexattr = lfs_op_removexattr,
	.create = lfs_op_create,
	.fallocate = lfs_op_fallocate,
	.lseek = lfs_op_lseek,
	.copy_file_range = lfs_op_copy_file_range,
};

__attribute__((format(printf, 2, 3))) static int add_arg(struct fuse_args *a,
							 const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	r = fuse_opt_add_arg(a, s);
	free(s);
	return r < 0 ? -ENOMEM : 0;
}

/* Escape ',' and '\' for libfuse's -o parser. */
static char *fuse_escape(const char *s)
{
	char *r = malloc(2 * strlen(s) + 1), *p = r;

	if (!r)
		return NULL;
	for (; *s; s++) {
		if (*s == ',' || *s == '\\')
			*p++ = '\\';
		*p++ = *s;
	}
	*p = '\0';
	return r;
}

static int fuse_args_of(const struct lfs_opts *o, struct fuse_args *a)
{
	const char *src = o->source ? o->source : "layerfs";
	_cleanup_free_ char *esrc = fuse_escape(src);
	int r;

	if (!esrc)
		return -ENOMEM;
	r = add_arg(a, "%s", "layerfs");
	/* the kernel checks permissions against what we report */
	if (r == 0)
		r = add_arg(a, "-o%s", "default_permissions");
	if (r == 0)
		r = add_arg(a, "-ofsname=%s,subtype=layerfs", esrc);
	/* as fuse-overlayfs: root (also a user namespace's root, as under
	 * rootless podman) serves every user, for a container's processes
	 * run as other ids; permissions are still checked by the kernel
	 * (default_permissions). Others need allow_other from fuse.conf. */
	if (r == 0 && (o->allow_other || (geteuid() == 0 && !o->allow_root)))
		r = add_arg(a, "-o%s", "allow_other");
	if (r == 0 && o->allow_root)
		r = add_arg(a, "-o%s", "allow_root");
	if (r == 0 && (o->ro || !o->upperdir))
		r = add_arg(a, "-o%s", "ro");
	/* as the kernel's overlayfs: device nodes and set-id programs work
	 * (a container's rootfs needs them) unless asked otherwise; only
	 * root may mount so */
	if (r == 0 && geteuid() == 0)
		r = add_arg(a, "-o%s,%s", o->nodev ? "nodev" : "dev",
			    o->nosuid ? "nosuid" : "suid");
	if (r == 0 && o->noexec)
		r = add_arg(a, "-o%s", "noexec");
	if (r == 0 && o->noatime)
		r = add_arg(a, "-o%s", "noatime");
	/* the kernel refuses context= without SELinux: podman passes it
	 * anyway, and fuse-overlayfs mounts, so drop it there */
	if (r == 0 && o->context &&
	    access("/sys/fs/selinux/enforce", F_OK) < 0) {
		cu_warn("SELinux is off: ignoring context=\"%s\"", o->context);
	} else if (r == 0 && o->context) {
		_cleanup_free_ char *c = fuse_escape(o->context);

		r = c ? add_arg(a, "-ocontext=%s", c) : -ENOMEM;
	}
	if (r == 0 && o->debug)
		r = add_arg(a, "%s", "-d");
	return r;
}

static void raise_nofile(void)
{
	struct rlimit rl;

	/* one O_PATH fd per cached node and layer: take what we may */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/*
 * SIGTERM, SIGINT and SIGHUP end the daemon the way an external unmount
 * does: a thread waits for them and detaches the mount, the workers see
 * ENODEV and return by themselves (libfuse's own handlers would cancel
 * workers blocked in read() instead).
 */
struct sigwatch {
	sigset_t set;
	char *mnt;    /* absolute */
	int stopping; /* atomic: the loop is over, just return */
	pthread_t thread;
};

static void detach_mount(const char *mnt)
{
	pid_t pid;

	if (umount2(mnt, MNT_DETACH) == 0)
		return;
	pid = fork(); /* not root: the setuid helper may unmount */
	if (pid == 0) {
		execlp("fusermount3", "fusermount3", "-u", "-z", mnt,
		       (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

static void *sigwatch_main(void *arg)
{
	struct sigwatch *w = arg;
	int sig;

	if (sigwait(&w->set, &sig) == 0 &&
	    !__atomic_load_n(&w->stopping, __ATOMIC_ACQUIRE))
		detach_mount(w->mnt);
	return NULL;
}

/* Block the signals in this thread (and so in every thread made later). */
static int sigwatch_block(struct sigwatch *w, const char *mountpoint)
{
	sigemptyset(&w->set);
	sigaddset(&w->set, SIGTERM);
	sigaddset(&w->set, SIGINT);
	sigaddset(&w->set, SIGHUP);
	w->mnt = realpath(mountpoint, NULL);
	if (!w->mnt)
		return -errno;
	return -pthread_sigmask(SIG_BLOCK, &w->set, NULL);
}

static void sigwatch_stop(struct sigwatch *w)
{
	__atomic_store_n(&w->stopping, 1, __ATOMIC_RELEASE);
	pthread_kill(w->thread, SIGTERM); /* wakes sigwait */
	pthread_join(w->thread, NULL);
}

static int run_loop(struct fuse_session *se, struct lfs_opts *o)
{
	struct fuse_loop_config *cfg;
	unsigned n = o->threads ? o->threads : 16;
	int r;

	if (o->single_thread)
		return fuse_session_loop(se);
	cfg = fuse_loop_cfg_create();
	fuse_loop_cfg_set_clone_fd(cfg, 0);
	fuse_loop_cfg_set_max_threads(cfg, n);
	/* as many idle workers as workers: retiring idle ones makes libfuse
	 * spawn a thread (and a splice pipe) per request */
	fuse_loop_cfg_set_idle_threads(cfg, n);
	r = fuse_session_loop_mt(se, cfg);
	fuse_loop_cfg_destroy(cfg);
	return r;
}

static int serve(struct lfs_fs *fs, struct lfs_opts *o)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_session *se = NULL;
	struct fuse_lowlevel_ops ops = lfs_ops;
	struct sigwatch w = { 0 };
	int r = fuse_args_of(o, &args);

	if (fs->has_upper)
		lfs_freeze_wrap(&ops);
	if (r == 0)
		se = fuse_session_new(&args, &ops, sizeof(ops), fs);
	if (!se) {
		cu_err("cannot create the FUSE session");
		fuse_opt_free_args(&args);
		return 1;
	}
	r = 1;
	if (sigwatch_block(&w, o->mountpoint) < 0) {
		cu_err("cannot use mountpoint '%s': %s", o->mountpoint,
		       strerror(errno));
		goto out;
	}
	r = lfs_freeze_init(fs, fs->has_upper ? o->workdir : NULL);
	if (r < 0)
		cu_warn("cannot make the control socket in '%s' (%s): "
			"commits of this mount cannot pause it",
			o->workdir, strerror(-r));
	r = 1;
	if (fuse_session_mount(se, o->mountpoint) != 0) {
		cu_err("cannot mount on '%s'", o->mountpoint);
		goto out;
	}
	/* returns in the parent only once the mount is live */
	if (fuse_daemonize(o->foreground) != 0)
		goto out_mount;
	if (!o->foreground)
		cu_log_use_syslog(true);
	if (pthread_create(&w.thread, NULL, sigwatch_main, &w) != 0) {
		cu_err("cannot start the signal thread");
		goto out_mount;
	}
	if (lfs_freeze_start(fs) < 0)
		cu_warn("cannot start the control thread: commits of this "
			"mount cannot pause it");
	r = run_loop(se, o) < 0 ? 1 : 0;
	sigwatch_stop(&w);
out_mount:
	fuse_session_unmount(se);
out:
	lfs_freeze_stop(fs);
	fuse_session_destroy(se);
	fuse_opt_free_args(&args);
	free(w.mnt);
	return r;
}

int main(int argc, char **argv)
{
	struct lfs_opts o;
	struct lfs_fs fs;
	char *err = NULL;
	int r;

	cu_log_init("layerfs", CU_LOG_WARN);
	if (lfs_opts_parse(argc, argv, &o, &err) < 0) {
		fprintf(stderr, "layerfs: %s\n", err ? err : "out of memory");
		fprintf(stderr, "Try 'layerfs --help'.\n");
		free(err);
		return 2;
	}
	if (o.show_help || o.show_version) {
		if (o.show_help)
			fputs(lfs_opts_usage(), stdout);
		else
			printf("layerfs version %s\nFUSE library version %s\n",
			       LAYERFS_VERSION, fuse_pkgversion());
		lfs_opts_free(&o);
		return 0;
	}
	if (o.debug)
		cu_log_init("layerfs", CU_LOG_DEBUG);
	for (size_t i = 0; i < o.nwarnings; i++)
		cu_warn("%s", o.warnings[i]);
	umask(0); /* modes come from the kernel, umask already applied */
	raise_nofile();
	r = lfs_fs_init(&fs, &o, &err);
	if (r < 0) {
		fprintf(stderr, "layerfs: %s\n", err ? err : strerror(-r));
		free(err);
		lfs_fs_destroy(&fs);
		lfs_opts_free(&o);
		return 1;
	}
	r = serve(&fs, &o);
	lfs_fs_destroy(&fs);
	lfs_opts_free(&o);
	return r;
}
