// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The launcher's parent side: the init layer's per-container files, the
 * clone into new namespaces, id maps, cgroups, signal forwarding, the
 * exit status, and the state file that ps and exec read.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <pwd.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "ctr.h"
#include "fsutil.h"
#include "override.h"

/* --- the init layer ------------------------------------------------------- */

/* Rootless, the init layer keeps owners in xattrs (as the store made it):
 * what we add there is root's. */
static int root_owned(int dirfd, const char *name, mode_t mode)
{
	if (geteuid() == 0)
		return 0;
	return cu_override_set_at(dirfd, name, CU_OVERRIDE_CONTAINERS, 0, 0,
				  mode, NULL);
}

static int write_at(int dirfd, const char *name, const char *text)
{
	int r = cu_atomic_write_at(dirfd, name, text, strlen(text), 0644);

	return r < 0 ? r : root_owned(dirfd, name, 0644);
}

/* --- volume targets ------------------------------------------------------- */

/* The next component of *p (skipping slashes) into name; 0 at the end,
 * 1 with a name, -ENAMETOOLONG. */
static int next_name(const char **p, char name[NAME_MAX + 1])
{
	const char *s = *p, *e;

	while (*s == '/')
		s++;
	if (!*s)
		return 0;
	e = strchrnul(s, '/');
	if (e - s > NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(name, s, e - s);
	name[e - s] = '\0';
	*p = e;
	return 1;
}

/* A symlink met at cur/name: its target, then what was left of the path,
 * become the path still to walk (from "/" if the target is absolute). */
static int splice_link(int dfd, const char *name, const char *left, char *cur,
		       char **rest)
{
	char tgt[PATH_MAX];
	ssize_t n = readlinkat(dfd, name, tgt, sizeof(tgt) - 1);
	char *nr = NULL;

	if (n < 0)
		return -errno;
	tgt[n] = '\0';
	if (tgt[0] == '/')
		cur[0] = '\0';
	if (asprintf(&nr, "%s/%s", tgt, left) < 0)
		return -ENOMEM;
	free(*rest);
	*rest = nr;
	return 0;
}

/* What securejoin does for runc: path walked inside rootfd, a component
 * at a time, symlinks followed as if rootfd were "/", ".." never above it,
 * components that do not exist kept as they are. */
static int resolve_in_root(int rootfd, const char *path, char **ret)
{
	_cleanup_free_ char *rest = strdup(path);
	char cur[PATH_MAX] = "", name[NAME_MAX + 1];
	const char *p = rest;
	int links = 0, r;

	if (!rest)
		return -ENOMEM;
	while ((r = next_name(&p, name)) == 1) {
		_cleanup_close_ int dfd = -1;
		size_t len = strlen(cur);
		struct stat st;

		if (!strcmp(name, "."))
			continue;
		if (!strcmp(name, "..")) {
			char *s = strrchr(cur, '/');

			*(s ? s : cur) = '\0';
			continue;
		}
		dfd = ctr_open_in_root(rootfd, len ? cur : "/",
				       O_PATH | O_DIRECTORY);
		if (dfd >= 0 &&
		    fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			if (S_ISLNK(st.st_mode)) {
				if (++links > 40)
					return -ELOOP;
				if ((r = splice_link(dfd, name, p, cur,
						     &rest)) < 0)
					return r;
				p = rest;
				continue;
			}
			if (!S_ISDIR(st.st_mode) && p[strspn(p, "/")])
				return -ENOTDIR;
		}
		if (len + 1 + strlen(name) >= sizeof(cur))
			return -ENAMETOOLONG;
		cur[len] = '/';
		strcpy(cur + len + 1, name);
	}
	if (r < 0)
		return r;
	if (!cur[0])
		return -EINVAL; /* the root itself */
	*ret = strdup(cur);
	return *ret ? 0 : -ENOMEM;
}

int ctr_resolve_volumes(const char *rootfs, struct ctr_spec *sp,
			const char **ret_bad)
{
	_cleanup_close_ int rootfd = open(rootfs,
					  O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (rootfd < 0)
		return -errno;
	for (size_t i = 0; i < sp->nvols; i++) {
		char *res = NULL;
		int r = resolve_in_root(rootfd, sp->vols[i].ctr, &res);

		if (r < 0) {
			*ret_bad = sp->vols[i].ctr;
			return r;
		}
		free(sp->vols[i].ctr);
		sp->vols[i].ctr = res;
	}
	return 0;
}

/* A volume's mount point, made in the init layer (never in the upper),
 * as a directory or an empty file like its source. */
static int make_target(int initfd, const struct ctr_volume *v)
{
	_cleanup_free_ char *dup = strdup(v->ctr + 1);
	char *save = NULL, *c, *next;
	struct stat st;
	int fd, r = 0;

	if (!dup)
		return -ENOMEM;
	if (stat(v->host, &st) < 0)
		return -errno;
	fd = fcntl(initfd, F_DUPFD_CLOEXEC, 3);
	for (c = strtok_r(dup, "/", &save); c && fd >= 0 && r == 0; c = next) {
		int nfd;

		next = strtok_r(NULL, "/", &save);
		if (!next && !S_ISDIR(st.st_mode)) {
			nfd = openat(fd, c,
				     O_WRONLY | O_CREAT | O_NOFOLLOW |
					     O_CLOEXEC,
				     0644);
			r = nfd < 0 && errno != EISDIR ? -errno : 0;
			if (nfd >= 0)
				close(nfd);
			if (r == 0 && nfd >= 0)
				r = root_owned(fd, c, 0644);
			break;
		}
		if (mkdirat(fd, c, 0755) == 0)
			r = root_owned(fd, c, 0755);
		else if (errno != EEXIST)
			r = -errno;
		nfd = openat(fd, c,
			     O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = nfd;
	}
	if (fd < 0 && r == 0)
		r = -errno;
	if (fd >= 0)
		close(fd);
	return r;
}

int ctr_prepare_init(const struct ls_container *c, const struct ctr_spec *sp)
{
	_cleanup_free_ char *init = cu_path_join(c->dir, "init");
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *hosts = NULL, *resolv = NULL;
	const char *h = sp->hostname;
	size_t len;
	int r;

	fd = init ? open(init, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (fd < 0)
		return -errno;
	if (asprintf(&hosts,
		     "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost "
		     "ip6-loopback\n127.0.1.1\t%s\n",
		     h) < 0)
		return -ENOMEM;
	{
		char line[300];

		snprintf(line, sizeof(line), "%s\n", h);
		r = write_at(fd, "etc/hostname", line);
	}
	if (r == 0)
		r = write_at(fd, "etc/hosts", hosts);
	/* the host's resolver config for --net host; none to offer else */
	if (r == 0 && sp->net_host &&
	    cu_read_file_at(AT_FDCWD, "/etc/resolv.conf", 65536, &resolv,
			    &len) == 0)
		r = write_at(fd, "etc/resolv.conf", resolv);
	for (size_t i = 0; r == 0 && i < sp->nvols; i++)
		r = make_target(fd, &sp->vols[i]);
	return r;
}

/* --- state ---------------------------------------------------------------- */

static void now(char *buf, size_t size)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

struct state {
	const char *status;
	pid_t pid;
	int exit_code;
	char started[32], finished[32];
	char cgroups[PATH_MAX * 3];
	const struct ctr_spec *sp;
};

static json_object *strings(char *const *v)
{
	json_object *a = json_object_new_array();

	for (; v && *v; v++)
		json_object_array_add(a, json_object_new_string(*v));
	return a;
}

static int write_state(const struct ls_container *c, const struct state *st)
{
	_cleanup_close_ int fd = open(c->dir,
				      O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	json_object *o = json_object_new_object();
	const char *txt;
	int r;

	json_object_object_add(o, "status", json_object_new_string(st->status));
	json_object_object_add(o, "pid", json_object_new_int(st->pid));
	json_object_object_add(o, "exit_code",
			       json_object_new_int(st->exit_code));
	json_object_object_add(o, "started",
			       json_object_new_string(st->started));
	if (*st->finished)
		json_object_object_add(o, "finished",
				       json_object_new_string(st->finished));
	json_object_object_add(o, "cgroups",
			       json_object_new_string(st->cgroups));
	json_object_object_add(o, "rootless",
			       json_object_new_boolean(geteuid() != 0));
	json_object_object_add(o, "env", strings(st->sp->env));
	json_object_object_add(o, "workdir",
			       json_object_new_string(st->sp->workdir ?
							      st->sp->workdir :
							      "/"));
	json_object_object_add(o, "user",
			       json_object_new_string(
				       st->sp->user ? st->sp->user : "0"));
	txt = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	r = fd < 0 ? -errno : write_at(fd, "state.json", txt);
	json_object_put(o);
	return r;
}

static char *get_str(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) ?
		       strdup(json_object_get_string(v)) :
		       NULL;
}

void ctr_state_read(const struct ls_container *c, struct ctr_state *ret)
{
	_cleanup_close_ int fd = open(c->dir,
				      O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	json_object *o, *v;
	size_t len;

	*ret = (struct ctr_state){ .status = "created" };
	if (fd < 0 ||
	    cu_read_file_at(fd, "state.json", 1 << 20, &buf, &len) < 0 ||
	    !(o = json_tokener_parse(buf)))
		return;
	if (json_object_object_get_ex(o, "pid", &v))
		ret->pid = json_object_get_int(v);
	if (json_object_object_get_ex(o, "exit_code", &v))
		ret->exit_code = json_object_get_int(v);
	ret->status = "exited";
	if (json_object_object_get_ex(o, "status", &v) &&
	    !strcmp(json_object_get_string(v), "running") && ret->pid > 0 &&
	    kill(ret->pid, 0) == 0)
		ret->status = "running";
	else
		ret->pid = 0;
	ret->cgroups = get_str(o, "cgroups");
	ret->workdir = get_str(o, "workdir");
	ret->user = get_str(o, "user");
	if (json_object_object_get_ex(o, "env", &v) &&
	    json_object_is_type(v, json_type_array)) {
		size_t n = json_object_array_length(v);

		ret->env = calloc(n + 1, sizeof(char *));
		for (size_t i = 0; ret->env && i < n; i++)
			ret->env[i] = strdup(json_object_get_string(
				json_object_array_get_idx(v, i)));
	}
	json_object_put(o);
}

void ctr_state_free(struct ctr_state *st)
{
	free(st->cgroups);
	free(st->workdir);
	free(st->user);
	for (char **e = st->env; e && *e; e++)
		free(*e);
	free(st->env);
	*st = (struct ctr_state){ 0 };
}

/* --- id maps -------------------------------------------------------------- */

/* START COUNT of name's (or uid's) range in /etc/subuid or /etc/subgid. */
static bool subid_range(const char *file, unsigned long id,
			unsigned long *start, unsigned long *count)
{
	struct passwd pw, *p = NULL;
	char buf[4096], n[256];
	FILE *f = fopen(file, "re");
	char *line = NULL;
	size_t cap = 0;
	bool found = false;

	/* the host's user database, whatever backs it */
	getpwuid_r(id, &pw, buf, sizeof(buf), &p);
	while (f && !found && getline(&line, &cap, f) > 0) {
		if (sscanf(line, "%255[^:]:%lu:%lu", n, start, count) != 3)
			continue;
		found = (p && !strcmp(n, p->pw_name)) ||
			strtoul(n, NULL, 10) == id;
	}
	free(line);
	if (f)
		fclose(f);
	return found && *count > 0;
}

static int run_helper(const char *prog, pid_t pid, unsigned long id,
		      unsigned long start, unsigned long count)
{
	char a[5][24];
	pid_t p;
	int st;

	snprintf(a[0], 24, "%d", (int)pid);
	snprintf(a[1], 24, "%lu", id);
	snprintf(a[2], 24, "%lu", start);
	snprintf(a[3], 24, "%lu", count);
	p = fork();
	if (p == 0) {
		execlp(prog, prog, a[0], "0", a[1], "1", "1", a[2], a[3],
		       (char *)NULL);
		_exit(127);
	}
	if (p < 0 || waitpid(p, &st, 0) < 0)
		return -errno;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EPERM;
}

static int write_proc(pid_t pid, const char *file, const char *text)
{
	char p[64];
	_cleanup_close_ int fd = -1;

	snprintf(p, sizeof(p), "/proc/%d/%s", (int)pid, file);
	fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || cu_write_all(fd, text, strlen(text)) < 0)
		return -errno;
	return 0;
}

/* Does /etc/fuse.conf let users mount with allow_other? */
static bool fuse_allow_other(void)
{
	FILE *f = fopen("/etc/fuse.conf", "re");
	char line[256];
	bool yes = false;

	while (f && !yes && fgets(line, sizeof(line), f))
		yes = !strncmp(line, "user_allow_other", 16);
	if (f)
		fclose(f);
	return yes;
}

/* The caller's subordinate ranges, when it has both and the helpers, and
 * the union can serve their ids: a FUSE mount serves only the user who
 * made it unless allow_other, which users get from user_allow_other. */
static bool subids(unsigned long *us, unsigned long *uc, unsigned long *gs,
		   unsigned long *gc)
{
	return subid_range("/etc/subuid", getuid(), us, uc) &&
	       subid_range("/etc/subgid", getuid(), gs, gc) &&
	       access("/usr/bin/newuidmap", X_OK) == 0 &&
	       access("/usr/bin/newgidmap", X_OK) == 0 && fuse_allow_other();
}

char *ctr_idmap_opts(void)
{
	unsigned long us, uc, gs, gc;
	char *r = NULL;
	int n;

	if (geteuid() == 0)
		return NULL;
	if (subids(&us, &uc, &gs, &gc))
		n = asprintf(&r,
			     "uidmapping=0:%u:1:1:%lu:%lu,"
			     "gidmapping=0:%u:1:1:%lu:%lu,allow_other",
			     (unsigned)getuid(), us, uc, (unsigned)getgid(), gs,
			     gc);
	else
		n = asprintf(&r, "uidmapping=0:%u:1,gidmapping=0:%u:1",
			     (unsigned)getuid(), (unsigned)getgid());
	return n < 0 ? NULL : r;
}

/* Root in the container is the caller; with /etc/subuid ranges and the
 * newuidmap helpers, 1..N are the subordinate ids (as podman does), else
 * the one id alone (setgroups denied, as the kernel then requires). The
 * union is mounted with the same maps (ctr_idmap_opts). */
static int write_maps(pid_t pid)
{
	unsigned long us, uc, gs, gc;
	char m[64];
	int r;

	if (subids(&us, &uc, &gs, &gc) &&
	    run_helper("newuidmap", pid, getuid(), us, uc) == 0 &&
	    run_helper("newgidmap", pid, getgid(), gs, gc) == 0)
		return 0;
	snprintf(m, sizeof(m), "0 %u 1\n", (unsigned)getuid());
	r = write_proc(pid, "uid_map", m);
	if (r == 0)
		r = write_proc(pid, "setgroups", "deny");
	snprintf(m, sizeof(m), "0 %u 1\n", (unsigned)getgid());
	if (r == 0)
		r = write_proc(pid, "gid_map", m);
	return r;
}

/* --- running -------------------------------------------------------------- */

/* The child's setup error, if it sent one (EOF: it exec'd). */
static bool child_failed(int fd, char *buf, size_t size)
{
	ssize_t n, len = 0;

	while ((n = read(fd, buf + len, size - 1 - len)) > 0)
		len += n;
	buf[len] = '\0';
	return len > 0;
}

/* clone as fork does (no new stack: the child goes on on a copy of
 * ours, which sanitizers and debuggers understand), into new namespaces. */
static pid_t start(struct ctr_child *ch, int flags)
{
	pid_t pid = syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);

	if (pid == 0)
		_exit(ctr_child_main(ch));
	return pid < 0 ? -errno : pid;
}

static int wait_child(pid_t pid, int tty_master)
{
	int st;

	if (tty_master >= 0)
		ctr_tty_relay(tty_master, &ctr_child_exited);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

int ctr_run(struct ls_store *s, const struct ls_container *c,
	    const struct ctr_spec *sp, const char *rootfs)
{
	struct ctr_child ch = { .sp = sp,
				.rootfs = rootfs,
				.sync = { -1, -1 },
				.tty_sock = -1,
				.userns = geteuid() != 0 };
	struct state st = { .status = "running", .sp = sp };
	struct ctr_cgroup cg;
	int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC |
		    (sp->net_host ? 0 : CLONE_NEWNET) |
		    (ch.userns ? CLONE_NEWUSER : 0);
	int errp[2] = { -1, -1 }, ttys[2] = { -1, -1 }, master = -1, status;
	char msg[PATH_MAX + 256];
	pid_t pid;

	(void)s;
	ctr_cgroup_create(&cg, c->id, sp);
	for (size_t i = 0; cg.paths[i]; i++)
		snprintf(st.cgroups + strlen(st.cgroups),
			 sizeof(st.cgroups) - strlen(st.cgroups), "%s%s",
			 i ? ":" : "", cg.paths[i]);
	if (pipe2(ch.sync, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 ||
	    (sp->tty &&
	     socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ttys) < 0)) {
		status = -errno;
		fprintf(stderr, "layerctl: cannot start: %s\n",
			strerror(errno));
		goto out;
	}
	ch.err = errp[1];
	ch.tty_sock = ttys[1];
	ctr_signals_forward(0);
	pid = start(&ch, flags);
	if (pid < 0) {
		status = pid;
		fprintf(stderr, "layerctl: cannot make the namespaces: %s\n",
			strerror(-pid));
		goto out;
	}
	ctr_signals_forward(pid);
	close(ch.sync[0]);
	close(errp[1]);
	errp[1] = ch.sync[0] = -1;
	if (ttys[1] >= 0)
		close(ttys[1]);
	ttys[1] = -1;
	if ((ch.userns && (status = write_maps(pid)) < 0) ||
	    (status = ctr_cgroup_join(&cg, pid)) < 0) {
		fprintf(stderr, "layerctl: cannot set up the container: %s\n",
			strerror(-status));
		kill(pid, SIGKILL);
		wait_child(pid, -1);
		goto out;
	}
	now(st.started, sizeof(st.started));
	st.pid = pid;
	write_state(c, &st);
	(void)!write(ch.sync[1], "g", 1);
	if (ttys[0] >= 0)
		master = ctr_tty_recv(ttys[0]); /* < 0: it failed first */
	if (child_failed(errp[0], msg, sizeof(msg)))
		fprintf(stderr, "layerctl: %s\n", msg);
	status = wait_child(pid, master);
	st.status = "exited";
	st.pid = 0;
	st.exit_code = status;
	now(st.finished, sizeof(st.finished));
	write_state(c, &st);
out:
	ctr_signals_forward(-1);
	for (int *fd = ch.sync; fd < ch.sync + 2; fd++)
		if (*fd >= 0)
			close(*fd);
	if (errp[0] >= 0)
		close(errp[0]);
	if (errp[1] >= 0)
		close(errp[1]);
	if (master >= 0)
		close(master);
	for (int i = 0; i < 2; i++)
		if (ttys[i] >= 0)
			close(ttys[i]);
	ctr_cgroup_destroy(&cg);
	return status;
}
