/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The launcher: runs a process in a container's union, in new namespaces
 * (layerctl run), or in a running container's (layerctl exec).
 *
 *	struct ctr_spec sp = { ... };	// from the command line + image
 *	int status = ctr_run(s, c, &sp);	// the process's exit status
 *
 * The order of operations is crun's and bubblewrap's: mount the union
 * (layerfs, as the calling user), clone into new user (when not root),
 * mount, pid, uts, ipc and net namespaces, write the id maps, then in the
 * child: private propagation, volumes bound BEFORE pivot_root (targets
 * resolved inside the root with openat2 RESOLVE_IN_ROOT, as runc after its
 * CVEs), /proc, a minimal /dev, /sys read-only, pivot_root(".", ".") and
 * detach the old root, hostname, close stray fds, capabilities and
 * no_new_privs, user, env, working dir, exec.
 *
 * State lives in ROOT/containers/ID/state.json: {pid, status, exit_code,
 * started, finished, cgroups, rootless} (what ps and exec read).
 */
#ifndef CTR_H
#define CTR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "layerstore.h"

struct ctr_volume {
	char *host; /* absolute, resolved */
	char *ctr;  /* absolute path in the container */
	bool ro;
};

struct ctr_spec {
	struct ctr_volume *vols;
	size_t nvols;
	char **env; /* NULL-terminated, K=V */
	char *workdir;
	char *user; /* "uid[:gid]" or "name[:group]", resolved inside */
	const char *hostname;
	uint64_t memory;     /* bytes, 0: no limit */
	uint64_t cpu_millis; /* 1000 = one CPU, 0: no limit */
	int64_t pids;	     /* 0: no limit */
	bool net_host, init, tty;
	char **argv;	     /* NULL-terminated */
	const char *layerfs; /* the daemon to run */
};

/* A path inside the root opened without ever leaving it (openat2
 * RESOLVE_IN_ROOT: symlinks and ".." resolved as if rootfd were "/"):
 * what a mount inside the container may target. An fd or -errno. */
int ctr_open_in_root(int rootfd, const char *path, int flags);

/* Rewrite each volume's target to where it lands in the container's root
 * at rootfs (the union, mounted): every symlink on the way followed as if
 * rootfs were "/", as runc does (a target through an image's symlink to
 * /x lands at the root's /x, never the host's), the parts that do not
 * exist yet kept as they are. -ENOTDIR if a part on the way is not a
 * directory, -ELOOP past 40 symlinks, -EINVAL if it resolves to "/". On
 * failure *ret_bad is the target that failed. */
int ctr_resolve_volumes(const char *rootfs, struct ctr_spec *sp,
			const char **ret_bad);

/* Write the init layer's per-container files (/etc/hostname, /etc/hosts,
 * /etc/resolv.conf with --net host) and the volumes' mount points (the
 * targets ctr_resolve_volumes gave); before the union is mounted. */
int ctr_prepare_init(const struct ls_container *c, const struct ctr_spec *sp);

/* What ROOT/containers/ID/state.json says (run writes it), checked
 * against the process: status "created" (never run), "running" (pid
 * alive) or "exited" (pid 0, exit_code); and what exec takes over from
 * the run. ctr_state_free accepts a zeroed struct. */
struct ctr_state {
	const char *status; /* static */
	pid_t pid;
	int exit_code;
	char *cgroups, *workdir, *user; /* may be NULL */
	char **env;			/* NULL-terminated, may be NULL */
};
void ctr_state_read(const struct ls_container *c, struct ctr_state *ret);
void ctr_state_free(struct ctr_state *st);

/* Rootless: the layerfs options that map ids as the container's user
 * namespace does (uidmapping=0:UID:1[...],gidmapping=...), malloc'd;
 * NULL as root (or on ENOMEM). */
char *ctr_idmap_opts(void);

/* Run sp in container c, whose union is mounted at rootfs; returns the
 * process's exit status (128 + signal when killed), or -errno with a
 * message printed when the container could not start. */
int ctr_run(struct ls_store *s, const struct ls_container *c,
	    const struct ctr_spec *sp, const char *rootfs);

/* Run argv in the running container c, as docker exec: every namespace
 * and the cgroups of its process. env (K=V, NULL-terminated, may be NULL)
 * is set over the run's environment; workdir/user NULL: the run's. */
int ctr_exec(struct ls_store *s, const struct ls_container *c,
	     char *const *argv, char *const *env, const char *workdir,
	     const char *user, bool tty);

/* --- cgroup.c ------------------------------------------------------------ */
struct ctr_cgroup {
	char *paths[8]; /* the directories made, NULL-terminated */
	bool v2;
};
/* Make the container's cgroups and set the limits; a warning (not an
 * error) when limits are asked for and cannot be set. */
int ctr_cgroup_create(struct ctr_cgroup *cg, const char *id,
		      const struct ctr_spec *sp);
int ctr_cgroup_join(const struct ctr_cgroup *cg, pid_t pid);
void ctr_cgroup_destroy(struct ctr_cgroup *cg);
/* The cgroups recorded in state.json ("a:b:c" list) for exec. */
int ctr_cgroup_join_list(const char *list, pid_t pid);

/* --- child.c ------------------------------------------------------------- */
struct ctr_child {
	const struct ctr_spec *sp;
	const char *rootfs; /* where the union is mounted */
	int sync[2];	    /* parent -> child: ids mapped, go on */
	int err;	    /* child -> parent: why it failed (text) */
	int tty_sock;	    /* -t: where the pty's master goes, or -1 */
	bool userns;
};
int ctr_child_main(void *arg);

/* --- process.c: what runs inside, after the namespaces -------------------- */
/* Become sp's user (resolved in the container's /etc/passwd, /etc/group),
 * enter the working dir, drop capabilities, no_new_privs, exec. Only
 * returns on failure (message in err): -ENOENT, -EACCES (the command),
 * -ESRCH (before it); see ctr_exit_code. */
int ctr_exec_process(char *const *argv, char *const *env, const char *workdir,
		     const char *user, char *err, size_t errlen);
/* Set K=V in a malloc'd NULL-terminated env, replacing K's entry. */
int ctr_env_set(char ***env, const char *kv);
/* Forward SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1/2 to pid (0: none yet,
 * set again once known) and note SIGCHLD in ctr_child_exited; pid < 0:
 * back to the defaults. */
void ctr_signals_forward(pid_t pid);
extern volatile int ctr_child_exited;
/* The exit status for ctr_exec_process's failure: 127 command not found,
 * 126 not runnable, 125 anything before it (user, working dir...). */
int ctr_exit_code(int r);
/* The reaper of --init: forwards signals to child, reaps everything,
 * exits with child's status. */
_Noreturn void ctr_init_reaper(pid_t child);

/* --- tty.c --------------------------------------------------------------- */
/* In the container (its /dev mounted): a pty whose slave becomes our
 * controlling terminal and fds 0-2, its master sent over sock. */
int ctr_tty_setup(int sock);
/* In the launcher: the master sent, or -errno (the child failed first). */
int ctr_tty_recv(int sock);
/* Relay stdin -> master and master -> stdout until the master closes
 * (the container's side is gone) or stop reads nonzero; raw mode on the
 * terminal meanwhile. */
void ctr_tty_relay(int master, volatile int *stop);

#endif
