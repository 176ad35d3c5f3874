// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Becoming the container's process: its user (names looked up in the
 * container's own /etc/passwd and /etc/group, never the host's), its
 * working dir (made if missing, as docker does), Docker's default
 * capability set and no_new_privs, stray fds closed on exec, then exec
 * with PATH from its environment. And the reaper of --init.
 */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "ctr.h"
#include "fsutil.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

struct ids {
	uid_t uid;
	gid_t gid;
	gid_t groups[64];
	int ngroups;
	bool has_gid;
};

static bool number(const char *s, unsigned long *ret)
{
	char *end;

	if (!*s)
		return false;
	*ret = strtoul(s, &end, 10);
	return *end == '\0';
}

/* Look NAME up in a passwd- or group-style file (by_id: the entry whose
 * numeric field 2 is NAME): that field and, for passwd, the group field
 * 3. */
static int lookup(const char *file, const char *name, bool by_id,
		  unsigned long *id, unsigned long *gid)
{
	FILE *f = fopen(file, "re");
	char *line = NULL;
	size_t cap = 0;
	int r = -ENOENT;

	while (f && r < 0 && getline(&line, &cap, f) > 0) {
		char *fld[4] = { 0 }, *p = line;
		int n = 0;

		line[strcspn(line, "\n")] = '\0';
		for (; n < 4 && (fld[n] = strsep(&p, ":")); n++)
			;
		if (n < 3 || (by_id ? strtoul(fld[2], NULL, 10) !=
					      strtoul(name, NULL, 10) :
				      strcmp(fld[0], name) != 0))
			continue;
		*id = strtoul(fld[2], NULL, 10);
		if (gid && fld[3])
			*gid = strtoul(fld[3], NULL, 10);
		r = 0;
	}
	free(line);
	if (f)
		fclose(f);
	return r;
}

/* The supplementary groups of user name (group file, 4th field). */
static void groups_of(const char *name, gid_t gid, struct ids *ids)
{
	FILE *f = fopen("/etc/group", "re");
	char *line = NULL;
	size_t cap = 0;

	ids->groups[ids->ngroups++] = gid;
	while (f && getline(&line, &cap, f) > 0 && ids->ngroups < 64) {
		char *fld[4] = { 0 }, *p = line, *m, *save = NULL;
		int n = 0;

		line[strcspn(line, "\n")] = '\0';
		for (; n < 4 && (fld[n] = strsep(&p, ":")); n++)
			;
		if (n < 4)
			continue;
		for (m = strtok_r(fld[3], ",", &save); m;
		     m = strtok_r(NULL, ",", &save)) {
			gid_t g = strtoul(fld[2], NULL, 10);
			bool have = false;

			for (int i = 0; i < ids->ngroups; i++)
				have |= ids->groups[i] == g;
			if (!strcmp(m, name) && !have && ids->ngroups < 64)
				ids->groups[ids->ngroups++] = g;
		}
	}
	free(line);
	if (f)
		fclose(f);
}

/* "user[:group]", names or numbers, in the container's files. */
static int resolve_user(const char *spec, struct ids *ids, char *err,
			size_t errlen)
{
	_cleanup_free_ char *dup = strdup(spec ? spec : "0");
	char *grp = dup ? strchr(dup, ':') : NULL;
	unsigned long uid = 0, gid = 0;
	bool named = false;

	if (!dup)
		return -ENOMEM;
	if (grp)
		*grp++ = '\0';
	if (!number(dup, &uid)) {
		if (lookup("/etc/passwd", dup, false, &uid, &gid) < 0) {
			snprintf(err, errlen, "no user '%s' in the container",
				 dup);
			return -ENOENT;
		}
		named = true;
	} else { /* by number: its passwd entry's group, if it has one */
		unsigned long u;

		lookup("/etc/passwd", dup, true, &u, &gid);
	}
	if (grp && !number(grp, &gid) &&
	    lookup("/etc/group", grp, false, &gid, NULL) < 0) {
		snprintf(err, errlen, "no group '%s' in the container", grp);
		return -ENOENT;
	}
	ids->uid = uid;
	ids->gid = gid;
	ids->ngroups = 0;
	if (named && !grp)
		groups_of(dup, gid, ids);
	else
		ids->groups[ids->ngroups++] = gid;
	return 0;
}

/* Docker's default capabilities; everything else leaves the bounding
 * set, so no exec can get it back. */
static int drop_caps(void)
{
	static const int keep[] = {
		CAP_CHOWN,
		CAP_DAC_OVERRIDE,
		CAP_FSETID,
		CAP_FOWNER,
		CAP_MKNOD,
		CAP_NET_RAW,
		CAP_SETGID,
		CAP_SETUID,
		CAP_SETFCAP,
		CAP_SETPCAP,
		CAP_NET_BIND_SERVICE,
		CAP_SYS_CHROOT,
		CAP_KILL,
		CAP_AUDIT_WRITE,
	};
	uint64_t mask = 0;

	for (size_t i = 0; i < sizeof(keep) / sizeof(*keep); i++)
		mask |= 1ULL << keep[i];
	for (int c = 0; c <= CAP_LAST_CAP; c++)
		if (!(mask & (1ULL << c)) && prctl(PR_CAPBSET_READ, c) == 1 &&
		    prctl(PR_CAPBSET_DROP, c) < 0)
			return -errno;
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	for (int i = 0; i < 2; i++) {
		uint32_t m = (uint32_t)(mask >> (32 * i));

		d[i].effective &= m;
		d[i].permitted &= m;
		d[i].inheritable &= m;
	}
	return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}

static int become(const struct ids *ids)
{
	if (setgroups(ids->ngroups, ids->groups) < 0 && errno != EPERM)
		return -errno;
	if (setgid(ids->gid) < 0 || setuid(ids->uid) < 0)
		return -errno;
	return 0;
}

int ctr_exec_process(char *const *argv, char *const *env, const char *workdir,
		     const char *user, char *err, size_t errlen)
{
	struct ids ids = { 0 };
	int r;

	if ((r = resolve_user(user, &ids, err, errlen)) < 0)
		return -ESRCH; /* not the command's fault: 125 */
	if (workdir && *workdir) {
		if (cu_mkdir_p(workdir, 0755) < 0 && errno != EEXIST)
			return snprintf(err, errlen,
					"cannot make working dir '%s': %s",
					workdir, strerror(errno)),
			       -ESRCH;
	}
	if (drop_caps() < 0)
		return snprintf(err, errlen, "cannot drop capabilities: %s",
				strerror(errno)),
		       -ESRCH;
	if ((r = become(&ids)) < 0)
		return snprintf(err, errlen, "cannot become user '%s': %s%s",
				user ? user : "0", strerror(-r),
				r == -EINVAL ?
					" (the id is not mapped in the "
					"container's user namespace: "
					"rootless, only root is, without "
					"/etc/subuid ranges)" :
					""),
		       -ESRCH;
	if (workdir && *workdir && chdir(workdir) < 0)
		return snprintf(err, errlen, "cannot enter '%s': %s", workdir,
				strerror(errno)),
		       -ESRCH;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return snprintf(err, errlen, "cannot set no_new_privs: %s",
				strerror(errno)),
		       -ESRCH;
	syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
	for (char *const *e = env; e && *e; e++)
		if (!strncmp(*e, "PATH=", 5))
			setenv("PATH", *e + 5, 1); /* for execvpe's search */
	execvpe(argv[0], argv, env);
	r = -errno;
	snprintf(err, errlen, "cannot run '%s': %s", argv[0], strerror(errno));
	return r == -ENOENT ? -ENOENT : -EACCES; /* 127, 126 */
}

int ctr_exit_code(int r)
{
	return r == -ENOENT ? 127 : r == -EACCES ? 126 : 125;
}

static volatile sig_atomic_t got_sig;

static void on_signal(int sig)
{
	got_sig = sig;
}

_Noreturn void ctr_init_reaper(pid_t child)
{
	static const int fwd[] = { SIGTERM, SIGINT,  SIGHUP,   SIGQUIT,
				   SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT };
	struct sigaction sa = { .sa_handler = on_signal };
	int st = 0;

	for (size_t i = 0; i < sizeof(fwd) / sizeof(*fwd); i++)
		sigaction(fwd[i], &sa, NULL);
	for (;;) {
		pid_t p = waitpid(-1, &st, 0);

		if (got_sig) {
			kill(child, got_sig);
			got_sig = 0;
		}
		if (p == child)
			break;
		if (p < 0 && errno == ECHILD)
			_exit(127);
	}
	if (WIFSIGNALED(st))
		_exit(128 + WTERMSIG(st));
	_exit(WEXITSTATUS(st));
}

int ctr_env_set(char ***env, const char *kv)
{
	size_t k = strcspn(kv, "="), n = 0;
	char **v;

	for (; *env && (*env)[n]; n++)
		if (!strncmp((*env)[n], kv, k) && (*env)[n][k] == '=') {
			free((*env)[n]);
			(*env)[n] = strdup(kv);
			return (*env)[n] ? 0 : -ENOMEM;
		}
	v = realloc(*env, (n + 2) * sizeof(char *));
	if (!v)
		return -ENOMEM;
	*env = v;
	v[n] = strdup(kv);
	v[n + 1] = NULL;
	return v[n] ? 0 : -ENOMEM;
}

/* --- the launcher's own signals ------------------------------------------ */

static volatile pid_t fwd_pid;
volatile int ctr_child_exited;

static void forward(int sig)
{
	if (fwd_pid > 0)
		kill(fwd_pid, sig);
}

static void on_chld(int sig)
{
	(void)sig;
	ctr_child_exited = 1;
}

void ctr_signals_forward(pid_t pid)
{
	static const int fwd[] = { SIGINT,  SIGTERM, SIGHUP,
				   SIGQUIT, SIGUSR1, SIGUSR2 };
	struct sigaction sa = { .sa_handler = pid >= 0 ? forward : SIG_DFL };
	struct sigaction sc = { .sa_handler = pid >= 0 ? on_chld : SIG_DFL,
				.sa_flags = SA_NOCLDSTOP };

	fwd_pid = pid;
	ctr_child_exited = 0;
	for (size_t i = 0; i < sizeof(fwd) / sizeof(*fwd); i++)
		sigaction(fwd[i], &sa, NULL);
	sigaction(SIGCHLD, &sc, NULL);
}
