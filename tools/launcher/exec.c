// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * layerctl exec: a new process in a running container, as docker exec.
 * It joins the container's cgroups (from the host's side, while it still
 * can), then its namespaces through /proc/PID/ns (the user namespace
 * first, which gives the rights to join the others), takes the
 * container's root from /proc/PID/root, and forks: only a child enters
 * the pid namespace. The launcher stays outside to forward signals and
 * return the exit status.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "ctr.h"
#include "fsutil.h"

static int join(pid_t pid, const char *ns, bool unless_same)
{
	char p[64], q[64];
	struct stat a, b;
	_cleanup_close_ int fd = -1;

	snprintf(p, sizeof(p), "/proc/%d/ns/%s", (int)pid, ns);
	snprintf(q, sizeof(q), "/proc/self/ns/%s", ns);
	if (unless_same && stat(p, &a) == 0 && stat(q, &b) == 0 &&
	    a.st_ino == b.st_ino)
		return 0;
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, 0) < 0)
		return -errno;
	return 0;
}

/* In the forked child: enter everything, fork into the pid namespace,
 * exec there. Errors go to errfd as text. */
static _Noreturn void enter(const struct ctr_state *t, char *const *argv,
			    char *const *env, const char *workdir,
			    const char *user, int errfd, int tty_sock)
{
	static const char *const ns[] = { "ipc", "uts", "net", "pid", "mnt" };
	char err[PATH_MAX + 128] = "";
	_cleanup_close_ int root = -1;
	char p[64];
	int r = ctr_cgroup_join_list(t->cgroups, getpid());

	snprintf(p, sizeof(p), "/proc/%d/root", (int)t->pid);
	root = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (r < 0 || root < 0)
		snprintf(err, sizeof(err), "cannot join the container: %s",
			 strerror(r < 0 ? -r : errno));
	if (!*err && (r = join(t->pid, "user", true)) < 0)
		snprintf(err, sizeof(err), "cannot join its user namespace: %s",
			 strerror(-r));
	for (size_t i = 0; !*err && i < sizeof(ns) / sizeof(*ns); i++)
		if ((r = join(t->pid, ns[i], true)) < 0)
			snprintf(err, sizeof(err),
				 "cannot join its %s namespace: %s", ns[i],
				 strerror(-r));
	if (!*err && (fchdir(root) < 0 || chroot(".") < 0 || chdir("/") < 0))
		snprintf(err, sizeof(err), "cannot enter its root: %s",
			 strerror(errno));
	if (!*err) {
		pid_t pid = fork(); /* the pid namespace is the child's */

		if (pid > 0) {
			close(errfd);
			if (tty_sock >= 0)
				close(tty_sock);
			ctr_init_reaper(pid); /* waits, forwards, exits */
		}
		if (pid == 0 && tty_sock >= 0 &&
		    (r = ctr_tty_setup(tty_sock)) < 0)
			snprintf(err, sizeof(err),
				 "cannot make the terminal: %s", strerror(-r));
		if (pid == 0 && !*err) {
			r = ctr_exec_process(argv, env, workdir, user, err,
					     sizeof(err));
			(void)!write(errfd, err, strlen(err));
			_exit(ctr_exit_code(r));
		} else if (pid < 0)
			snprintf(err, sizeof(err), "cannot fork: %s",
				 strerror(errno));
	}
	(void)!write(errfd, err, strlen(err));
	_exit(125);
}

int ctr_exec(struct ls_store *s, const struct ls_container *c,
	     char *const *argv, char *const *env, const char *workdir,
	     const char *user, bool tty)
{
	struct ctr_state t;
	int errp[2], ttys[2] = { -1, -1 }, master = -1, st = 0, r;
	char msg[PATH_MAX + 256];
	ssize_t n, len = 0;
	pid_t pid;

	(void)s;
	ctr_state_read(c, &t);
	if (!t.pid) {
		fprintf(stderr, "layerctl: container '%s' is not running\n",
			c->id);
		ctr_state_free(&t);
		return -ESRCH;
	}
	r = 0;
	for (char *const *e = env; r == 0 && e && *e; e++) /* over the run's */
		r = ctr_env_set(&t.env, *e);
	if (r < 0) {
		ctr_state_free(&t);
		return r;
	}
	if (pipe2(errp, O_CLOEXEC) < 0 ||
	    (tty &&
	     socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ttys) < 0)) {
		ctr_state_free(&t);
		return -errno;
	}
	ctr_signals_forward(0);
	pid = fork();
	if (pid == 0) {
		close(errp[0]);
		enter(&t, argv, t.env, workdir ? workdir : t.workdir,
		      user ? user : t.user, errp[1], ttys[1]);
	}
	ctr_signals_forward(pid > 0 ? pid : 0);
	close(errp[1]);
	if (ttys[1] >= 0)
		close(ttys[1]);
	if (ttys[0] >= 0 && pid > 0)
		master = ctr_tty_recv(ttys[0]); /* < 0: it failed first */
	while (pid > 0 &&
	       (n = read(errp[0], msg + len, sizeof(msg) - 1 - len)) > 0)
		len += n;
	msg[len] = '\0';
	if (len)
		fprintf(stderr, "layerctl: %s\n", msg);
	if (master >= 0 && pid > 0)
		ctr_tty_relay(master, &ctr_child_exited);
	while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	ctr_signals_forward(-1);
	close(errp[0]);
	if (master >= 0)
		close(master);
	if (ttys[0] >= 0)
		close(ttys[0]);
	ctr_state_free(&t);
	if (pid < 0)
		return -errno;
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}
