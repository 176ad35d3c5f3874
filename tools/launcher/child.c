// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The container's first process, in its new namespaces: it waits for the
 * parent to write its id maps, builds the mount tree over the union and
 * pivots into it, then becomes the process (process.c). Any failure is
 * written to the error pipe as text and the process exits 127; the parent
 * prints it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "ctr.h"
#include "fsutil.h"

static char errbuf[PATH_MAX + 256];

__attribute__((format(printf, 2, 3))) static int fail(int r, const char *fmt,
						      ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	va_end(ap);
	n = strlen(errbuf);
	snprintf(errbuf + n, sizeof(errbuf) - n, ": %s", strerror(-r));
	return r;
}

int ctr_open_in_root(int rootfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = flags | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));

	return fd < 0 ? -errno : fd;
}

static int mount_at(const char *src, int fd, const char *type,
		    unsigned long flags, const char *data)
{
	char p[32];

	if (mount(src, cu_fd_path(fd, p, sizeof(p)), type, flags, data) < 0)
		return -errno;
	return 0;
}

static int bind_in_root(int rootfd, const char *src, const char *dst, bool ro)
{
	_cleanup_close_ int fd = ctr_open_in_root(rootfd, dst, O_PATH);
	int r;

	if (fd < 0)
		return fail(fd, "cannot open mount target '%s'", dst);
	r = mount_at(src, fd, NULL, MS_BIND | MS_REC, NULL);
	if (r < 0)
		return fail(r, "cannot bind '%s' to '%s'", src, dst);
	if (!ro)
		return 0;
	close(fd); /* the new mount, not what was under it */
	fd = ctr_open_in_root(rootfd, dst, O_PATH);
	if (fd < 0)
		return fail(fd, "cannot open mount '%s'", dst);
	r = mount_at(NULL, fd, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL);
	return r < 0 ? fail(r, "cannot make '%s' read-only", dst) : 0;
}

static int volumes(int rootfd, const struct ctr_spec *sp)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < sp->nvols; i++)
		r = bind_in_root(rootfd, sp->vols[i].host, sp->vols[i].ctr,
				 sp->vols[i].ro);
	return r;
}

/* The device nodes of a minimal /dev: made when we may (root), else the
 * host's bound onto empty files (rootless). */
static int dev_nodes(int devfd, bool userns)
{
	static const struct {
		const char *name;
		unsigned maj, min;
	} nodes[] = { { "null", 1, 3 },	  { "zero", 1, 5 },    { "full", 1, 7 },
		      { "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 } };
	char src[64];

	for (size_t i = 0; i < sizeof(nodes) / sizeof(*nodes); i++) {
		const char *n = nodes[i].name;
		_cleanup_close_ int fd = -1;

		if (!userns &&
		    mknodat(devfd, n, S_IFCHR | 0666,
			    makedev(nodes[i].maj, nodes[i].min)) == 0)
			continue;
		fd = openat(devfd, n, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
		if (fd < 0)
			return fail(-errno, "cannot make /dev/%s", n);
		close(fd);
		fd = openat(devfd, n, O_PATH | O_CLOEXEC);
		snprintf(src, sizeof(src), "/dev/%s", n);
		if (fd < 0 || mount_at(src, fd, NULL, MS_BIND, NULL) < 0)
			return fail(-errno, "cannot bind /dev/%s", n);
	}
	return 0;
}

static int dev_links(int devfd)
{
	static const char *const links[][2] = {
		{ "fd", "/proc/self/fd" },
		{ "stdin", "/proc/self/fd/0" },
		{ "stdout", "/proc/self/fd/1" },
		{ "stderr", "/proc/self/fd/2" },
		{ "ptmx", "pts/ptmx" },
		{ "core", "/proc/kcore" },
	};

	for (size_t i = 0; i < sizeof(links) / sizeof(*links); i++)
		if (symlinkat(links[i][1], devfd, links[i][0]) < 0)
			return fail(-errno, "cannot make /dev/%s", links[i][0]);
	return 0;
}

static int mount_dev(int rootfd, bool userns)
{
	_cleanup_close_ int fd = ctr_open_in_root(rootfd, "/dev", O_PATH);
	_cleanup_close_ int dfd = -1, pfd = -1;
	int r;

	if (fd < 0)
		return fail(fd, "cannot open /dev");
	r = mount_at("tmpfs", fd, "tmpfs", MS_NOSUID, "mode=755,size=65536k");
	if (r < 0)
		return fail(r, "cannot mount /dev");
	dfd = ctr_open_in_root(rootfd, "/dev", O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		return fail(dfd, "cannot open /dev");
	if ((r = dev_nodes(dfd, userns)) < 0 || (r = dev_links(dfd)) < 0)
		return r;
	if (mkdirat(dfd, "pts", 0755) < 0 || mkdirat(dfd, "shm", 01777) < 0 ||
	    mkdirat(dfd, "mqueue", 0755) < 0)
		return fail(-errno, "cannot populate /dev");
	pfd = openat(dfd, "pts", O_PATH | O_CLOEXEC);
	r = mount_at("devpts", pfd, "devpts", MS_NOSUID | MS_NOEXEC,
		     "newinstance,ptmxmode=0666,mode=0620");
	if (r < 0)
		return fail(r, "cannot mount /dev/pts");
	close(pfd);
	pfd = openat(dfd, "shm", O_PATH | O_CLOEXEC);
	r = mount_at("shm", pfd, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		     "mode=1777,size=65536k");
	if (r < 0)
		return fail(r, "cannot mount /dev/shm");
	return 0;
}

/* Bind src at dst (in the root) recursively and make all of it read-only
 * (mount_setattr, so submounts too). Optional: a missing src is fine. */
static int bind_ro(int rootfd, const char *src, const char *dst, bool opt)
{
	struct mount_attr a = { .attr_set = MOUNT_ATTR_RDONLY |
					    MOUNT_ATTR_NOSUID |
					    MOUNT_ATTR_NODEV |
					    MOUNT_ATTR_NOEXEC };
	_cleanup_close_ int fd = -1;
	int r;

	if (opt && access(src, F_OK) < 0)
		return 0;
	fd = ctr_open_in_root(rootfd, dst, O_PATH);
	if (fd < 0)
		return opt ? 0 : fail(fd, "cannot open '%s'", dst);
	r = mount_at(src, fd, NULL, MS_BIND | MS_REC, NULL);
	if (r < 0)
		return fail(r, "cannot bind '%s'", src);
	close(fd);
	fd = ctr_open_in_root(rootfd, dst, O_PATH);
	if (fd < 0 || syscall(SYS_mount_setattr, fd, "",
			      AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof(a)) < 0)
		return fail(fd < 0 ? fd : -errno, "cannot make '%s' read-only",
			    dst);
	return 0;
}

static int mount_proc_sys(int rootfd)
{
	_cleanup_close_ int p = ctr_open_in_root(rootfd, "/proc", O_PATH);
	_cleanup_close_ int s = ctr_open_in_root(rootfd, "/sys", O_PATH);
	int r;

	if (p < 0 || s < 0)
		return fail(p < 0 ? p : s, "cannot open /proc or /sys");
	r = mount_at("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	if (r < 0)
		return fail(r, "cannot mount /proc");
	/* a sysfs of our own shows our network namespace's devices, with
	 * the host's cgroups (read-only) where limits can be read; where a
	 * sysfs is refused, the host's /sys, bound */
	r = mount_at("sysfs", s, "sysfs",
		     MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	if (r == 0)
		return bind_ro(rootfd, "/sys/fs/cgroup", "/sys/fs/cgroup",
			       true);
	return bind_ro(rootfd, "/sys", "/sys", false);
}

/* pivot_root(".", ".") and detach the old root: crun's and runc's way,
 * no directory for the old root needed. */
static int pivot(const char *rootfs)
{
	if (chdir(rootfs) < 0)
		return fail(-errno, "cannot enter '%s'", rootfs);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return fail(-errno, "pivot_root into '%s' failed", rootfs);
	if (umount2(".", MNT_DETACH) < 0)
		return fail(-errno, "cannot detach the old root");
	if (chdir("/") < 0)
		return fail(-errno, "cannot enter the new root");
	return 0;
}

/* lo up in a new network namespace, as docker leaves it. */
static void loopback_up(void)
{
	_cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = { .ifr_name = "lo" };

	if (fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
}

static int setup(struct ctr_child *c)
{
	const struct ctr_spec *sp = c->sp;
	_cleanup_close_ int rootfd = -1;
	const char *h = sp->hostname;
	int r;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return fail(-errno, "cannot make the mounts private");
	/* a mount of our own over the union: one copied from the parent's
	 * namespace is locked in a user namespace, and pivot_root refuses
	 * a locked new root */
	if (mount(c->rootfs, c->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		return fail(-errno, "cannot bind '%s'", c->rootfs);
	rootfd = open(c->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return fail(-errno, "cannot open '%s'", c->rootfs);
	if ((r = volumes(rootfd, sp)) < 0 || (r = mount_proc_sys(rootfd)) < 0 ||
	    (r = mount_dev(rootfd, c->userns)) < 0)
		return r;
	if ((r = pivot(c->rootfs)) < 0)
		return r;
	if (h && sethostname(h, strlen(h)) < 0)
		return fail(-errno, "cannot set the hostname");
	if (!sp->net_host)
		loopback_up();
	return 0;
}

/* Say why the container could not start (125: before the command ran, as
 * docker; exec failures give 126/127 instead) and end. */
static _Noreturn void report(int fd, int code)
{
	(void)!write(fd, errbuf, strlen(errbuf));
	_exit(code);
}

int ctr_child_main(void *arg)
{
	struct ctr_child *c = arg;
	char go;
	int r;

	/* the container dies with its launcher (a killed layerctl run must
	 * not leave it running with nobody to wait for it) */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	close(c->sync[1]);
	if (read(c->sync[0], &go, 1) != 1)
		_exit(127); /* the parent gave up */
	close(c->sync[0]);
	if (setup(c) < 0)
		report(c->err, 125);
	if (c->tty_sock >= 0) {
		if ((r = ctr_tty_setup(c->tty_sock)) < 0) {
			fail(r, "cannot make the terminal");
			report(c->err, 125);
		}
		close(c->tty_sock);
	}
	if (c->sp->init) {
		pid_t pid = fork();

		if (pid < 0) {
			fail(-errno, "cannot fork the process");
			report(c->err, 125);
		}
		if (pid > 0) {
			close(c->err);
			ctr_init_reaper(pid);
		}
	}
	r = ctr_exec_process(c->sp->argv, c->sp->env, c->sp->workdir,
			     c->sp->user, errbuf, sizeof(errbuf));
	report(c->err, ctr_exit_code(r));
	return 127;
}
