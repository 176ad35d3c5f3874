// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * layerctl run and exec: the command lines of the launcher
 * (tools/launcher/). run creates a container from an image, writes its
 * init layer, mounts its union, runs the process (the image's Entrypoint
 * + Cmd, user, env and working dir unless overridden) and unmounts; the
 * container stays (stopped) until layerctl rm, unless --rm.
 */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "launcher/ctr.h"
#include "lc.h"

#define DEFAULT_PATH \
	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static void run_usage(FILE *f)
{
	fputs("usage: layerctl run [OPTIONS] REF [CMD [ARG...]]\n\n"
	      "Run a process in a new container of the image REF: its own\n"
	      "union (layerfs), mount, pid, uts, ipc and network namespaces (and\n"
	      "a user namespace when not root), cgroup limits, a minimal /dev.\n"
	      "The exit status is the process's (128+N when killed by signal\n"
	      "N; 125 when the container could not start). The container\n"
	      "stays, stopped, until 'layerctl rm' (or --rm).\n\n"
	      "  -v, --volume HOST:CTR[:ro]  bind HOST at CTR (read-only with :ro)\n"
	      "  -e, --env K=V               set an environment variable (K alone:\n"
	      "                              the caller's value)\n"
	      "  -w, --workdir DIR           working directory (default: image's)\n"
	      "  -u, --user USER[:GROUP]     name or id, in the container's\n"
	      "                              /etc/passwd (default: image's, root)\n"
	      "  --hostname H                (default: the container ID)\n"
	      "  --memory N                  memory limit (suffixes k, M, G)\n"
	      "  --cpus N                    CPU limit, e.g. 0.5\n"
	      "  --pids N                    process limit\n"
	      "  --net none|host             own empty network namespace (default,\n"
	      "                              loopback only) or the host's\n"
	      "  --name ID                   the container's ID (default: random)\n"
	      "  --rm                        remove the container at exit\n"
	      "  --init                      run a small init as PID 1 that\n"
	      "                              forwards signals and reaps zombies\n"
	      "  -t, --tty                   give the process a terminal\n",
	      f);
}

struct run_args {
	struct ctr_spec sp;
	const char *name, *ref;
	char **cmd;
	char **env_cli;
	size_t nenv_cli;
	bool rm;
};

static int add_volume(struct ctr_spec *sp, const char *arg)
{
	_cleanup_free_ char *dup = strdup(arg);
	char *ctr = dup ? strchr(dup, ':') : NULL, *mode;
	struct ctr_volume *v;

	if (!ctr)
		return -EINVAL;
	*ctr++ = '\0';
	mode = strchr(ctr, ':');
	if (mode)
		*mode++ = '\0';
	if (*ctr != '/' || strstr(ctr, "/../") || !strcmp(ctr, "/") ||
	    (strlen(ctr) >= 3 && !strcmp(ctr + strlen(ctr) - 3, "/..")) ||
	    (mode && strcmp(mode, "ro") && strcmp(mode, "rw")))
		return -EINVAL;
	v = realloc(sp->vols, (sp->nvols + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	sp->vols = v;
	v = &v[sp->nvols];
	v->host = realpath(dup, NULL);
	if (!v->host)
		return -errno;
	v->ctr = strdup(ctr);
	v->ro = mode && !strcmp(mode, "ro");
	sp->nvols++;
	return v->ctr ? 0 : -ENOMEM;
}

/* 0 ok, 1 help, 2 usage error. */
static int parse_run(int argc, char **argv, struct run_args *a)
{
	static const struct option opts[] = {
		{ "volume", required_argument, NULL, 'v' },
		{ "env", required_argument, NULL, 'e' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "user", required_argument, NULL, 'u' },
		{ "hostname", required_argument, NULL, 'H' },
		{ "memory", required_argument, NULL, 'M' },
		{ "cpus", required_argument, NULL, 'C' },
		{ "pids", required_argument, NULL, 'P' },
		{ "net", required_argument, NULL, 'N' },
		{ "name", required_argument, NULL, 'n' },
		{ "rm", no_argument, NULL, 'R' },
		{ "init", no_argument, NULL, 'I' },
		{ "tty", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char *end;
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+v:e:w:u:th", opts, NULL)) != -1) {
		switch (c) {
		case 'v':
			if ((r = add_volume(&a->sp, optarg)) < 0)
				return fprintf(stderr,
					       "layerctl run: bad volume '%s' "
					       "(HOST:/CTR[:ro], HOST must "
					       "exist): %s\n",
					       optarg, strerror(-r)),
				       2;
			break;
		case 'e':
			a->env_cli[a->nenv_cli++] = optarg;
			break;
		case 'w':
			if (*optarg != '/')
				return fprintf(stderr, "layerctl run: -w needs "
						       "an absolute path\n"),
				       2;
			a->sp.workdir = strdup(optarg);
			break;
		case 'u':
			a->sp.user = strdup(optarg);
			break;
		case 'H':
			a->sp.hostname = optarg;
			break;
		case 'M':
			if (lc_parse_size(optarg, &a->sp.memory) < 0 ||
			    a->sp.memory == 0)
				goto bad;
			break;
		case 'C': {
			double v = strtod(optarg, &end);

			if (*end || !(v > 0) || v > 4096)
				goto bad;
			a->sp.cpu_millis = (uint64_t)(v * 1000 + 0.5);
			break;
		}
		case 'P':
			a->sp.pids = strtoll(optarg, &end, 10);
			if (*end || a->sp.pids <= 0)
				goto bad;
			break;
		case 'N':
			if (strcmp(optarg, "none") && strcmp(optarg, "host"))
				goto bad;
			a->sp.net_host = !strcmp(optarg, "host");
			break;
		case 'n':
			a->name = optarg;
			break;
		case 'R':
			a->rm = true;
			break;
		case 'I':
			a->sp.init = true;
			break;
		case 't':
			a->sp.tty = true;
			break;
		case 'h':
			return run_usage(stdout), 1;
		default:
			return run_usage(stderr), 2;
		}
	}
	if (optind >= argc)
		return run_usage(stderr), 2;
	a->ref = argv[optind];
	a->cmd = argv + optind + 1;
	return 0;
bad:
	fprintf(stderr, "layerctl run: bad value '%s'\n", optarg);
	return 2;
}

/* --- the image's runtime config ------------------------------------------ */

static char **str_array(json_object *cfg, const char *key)
{
	json_object *a;
	char **v;
	size_t n;

	if (!json_object_object_get_ex(cfg, key, &a) ||
	    !json_object_is_type(a, json_type_array))
		return calloc(1, sizeof(char *));
	n = json_object_array_length(a);
	v = calloc(n + 1, sizeof(char *));
	for (size_t i = 0; v && i < n; i++)
		v[i] = strdup(
			json_object_get_string(json_object_array_get_idx(a, i)) ?:
				"");
	return v;
}

static void strv_free(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

static size_t strv_len(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

static json_object *image_config(struct ls_store *s,
				 const struct ls_container *c)
{
	_cleanup_free_ char *mb = NULL, *cb = NULL;
	json_object *m = NULL, *cfg = NULL, *x, *d;
	size_t len;

	if (ls_blob_read(s, c->image, 4 << 20, &mb, &len) < 0 ||
	    !(m = json_tokener_parse(mb)) ||
	    !json_object_object_get_ex(m, "config", &x) ||
	    !json_object_object_get_ex(x, "digest", &d) ||
	    ls_blob_read(s, json_object_get_string(d), 4 << 20, &cb, &len) < 0)
		goto out;
	cfg = json_tokener_parse(cb);
out:
	json_object_put(m);
	return cfg;
}

/* argv, env, workdir and user: the image's, overridden by the caller. */
static int make_process(struct ls_store *s, const struct ls_container *c,
			struct run_args *a)
{
	json_object *all = image_config(s, c), *cfg = NULL, *v;
	char **ep, **cmd, **argv, host[300];
	size_t ne, nc;
	int r = 0;

	if (all && !json_object_object_get_ex(all, "config", &cfg))
		cfg = NULL;
	a->sp.env = str_array(cfg, "Env");
	ep = str_array(cfg, "Entrypoint");
	cmd = *a->cmd ? NULL : str_array(cfg, "Cmd");
	ne = strv_len(ep);
	nc = cmd ? strv_len(cmd) : strv_len(a->cmd);
	argv = calloc(ne + nc + 1, sizeof(char *));
	for (size_t i = 0; argv && i < ne; i++)
		argv[i] = strdup(ep[i]);
	for (size_t i = 0; argv && i < nc; i++)
		argv[ne + i] = strdup(cmd ? cmd[i] : a->cmd[i]);
	strv_free(ep);
	strv_free(cmd);
	a->sp.argv = argv;
	if (!argv || !argv[0]) {
		fprintf(stderr, "layerctl run: no command (the image has no "
				"Entrypoint or Cmd: give one)\n");
		r = -EINVAL;
	}
	if (!a->sp.workdir && cfg &&
	    json_object_object_get_ex(cfg, "WorkingDir", &v) &&
	    *json_object_get_string(v))
		a->sp.workdir = strdup(json_object_get_string(v));
	if (!a->sp.user && cfg && json_object_object_get_ex(cfg, "User", &v) &&
	    *json_object_get_string(v))
		a->sp.user = strdup(json_object_get_string(v));
	json_object_put(all);
	snprintf(host, sizeof(host), "HOSTNAME=%s", a->sp.hostname);
	bool has_path = false;
	for (char **e = a->sp.env; e && *e; e++)
		has_path |= !strncmp(*e, "PATH=", 5);
	if (r == 0 && !has_path)
		r = ctr_env_set(&a->sp.env, "PATH=" DEFAULT_PATH);
	if (r == 0)
		r = ctr_env_set(&a->sp.env, host);
	if (r == 0 && a->sp.tty)
		r = ctr_env_set(&a->sp.env, "TERM=xterm");
	for (size_t i = 0; r == 0 && i < a->nenv_cli; i++) {
		const char *e = a->env_cli[i];
		_cleanup_free_ char *kv = NULL;

		if (!strchr(e, '=')) { /* docker's -e K: the caller's value */
			if (!getenv(e))
				continue;
			if (asprintf(&kv, "%s=%s", e, getenv(e)) < 0)
				return -ENOMEM;
			e = kv;
		}
		r = ctr_env_set(&a->sp.env, e);
	}
	return r;
}

static void spec_free(struct run_args *a)
{
	for (size_t i = 0; i < a->sp.nvols; i++) {
		free(a->sp.vols[i].host);
		free(a->sp.vols[i].ctr);
	}
	free(a->sp.vols);
	strv_free(a->sp.env);
	strv_free(a->sp.argv);
	free(a->sp.workdir);
	free(a->sp.user);
	free(a->env_cli);
}

/* Where the volumes land in the container's root: resolved in its union,
 * mounted for that while no mount point is made yet. */
static int resolve_volumes(struct ls_store *s, const struct ls_container *c,
			   struct ctr_spec *sp, const char *rootfs)
{
	const char *bad = NULL;
	int r;

	if (sp->nvols == 0)
		return 0;
	if ((r = lc_mount_container(s, c, rootfs)) < 0)
		return r;
	r = ctr_resolve_volumes(rootfs, sp, &bad);
	if (r < 0)
		fprintf(stderr, "layerctl: volume target '%s' in '%s': %s\n",
			bad ? bad : "", c->id,
			r == -EINVAL ? "resolves to the root" : strerror(-r));
	if (lc_umount(rootfs) < 0 && r == 0)
		r = -EIO;
	return r;
}

/* The container's rootfs mountpoint, absolute: it is recorded, and
 * compared with mountinfo. */
static char *make_rootfs(const struct ls_container *c)
{
	_cleanup_free_ char *rootfs = cu_path_join(c->dir, "rootfs");

	if (!rootfs)
		return NULL;
	if (mkdir(rootfs, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "layerctl: cannot make '%s': %s\n", rootfs,
			strerror(errno));
		return NULL;
	}
	return realpath(rootfs, NULL);
}

/* Create, prepare, mount, run, unmount: the process's status or 125. */
static int run_container(struct ls_store *s, struct run_args *a,
			 struct ls_container **ret)
{
	struct ls_container *c = NULL;
	_cleanup_free_ char *rootfs = NULL;
	int r, status = 125;

	if (ls_container_create(s, a->ref, a->name, &c) < 0)
		return lc_fail(s), 125;
	*ret = c;
	if (!a->sp.hostname)
		a->sp.hostname = c->id;
	rootfs = make_rootfs(c);
	if (!rootfs || make_process(s, c, a) < 0 ||
	    resolve_volumes(s, c, &a->sp, rootfs) < 0)
		return 125;
	if ((r = ctr_prepare_init(c, &a->sp)) < 0) {
		fprintf(stderr, "layerctl: cannot prepare container '%s': %s\n",
			c->id, strerror(-r));
		return 125;
	}
	if (lc_mount_container(s, c, rootfs) < 0)
		return 125;
	r = ctr_run(s, c, &a->sp, rootfs);
	if (r >= 0)
		status = r;
	lc_umount(rootfs);
	return status;
}

int lc_cmd_run(const struct lc_ctx *ctx, int argc, char **argv)
{
	struct run_args a = { 0 };
	struct ls_container *c = NULL;
	struct ls_store *s;
	int r;

	a.env_cli = calloc(argc, sizeof(char *));
	if (!a.env_cli)
		return 125;
	r = parse_run(argc, argv, &a);
	if (r != 0) {
		spec_free(&a);
		return r == 1 ? 0 : 125;
	}
	s = lc_open_store(ctx);
	if (!s) {
		spec_free(&a);
		return 125;
	}
	r = run_container(s, &a, &c);
	if (a.rm && c && ls_container_rm(s, c->id) < 0)
		lc_fail(s);
	ls_container_free(c);
	spec_free(&a);
	ls_store_free(s);
	return r;
}

/* ---- exec ----------------------------------------------------------------- */

static void exec_usage(FILE *f)
{
	fputs("usage: layerctl exec [-e K=V]... [-w DIR] [-u USER] [-t] ID CMD "
	      "[ARG...]\n\n"
	      "Run CMD in the running container ID: in all its namespaces and\n"
	      "cgroups, as docker exec. The environment, working dir and user\n"
	      "are the container's unless given. The exit status is CMD's.\n",
	      f);
}

int lc_cmd_exec(const struct lc_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "env", required_argument, NULL, 'e' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "user", required_argument, NULL, 'u' },
		{ "tty", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *workdir = NULL, *user = NULL;
	_cleanup_free_ char **envs = calloc(argc, sizeof(char *));
	struct ls_container *c = NULL;
	struct ls_store *s;
	size_t ne = 0;
	bool tty = false;
	int ch, r = 125;

	if (!envs)
		return 125;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "+e:w:u:th", opts, NULL)) != -1) {
		if (ch == 'e')
			envs[ne++] = optarg;
		else if (ch == 'w')
			workdir = optarg;
		else if (ch == 'u')
			user = optarg;
		else if (ch == 't')
			tty = true;
		else
			return exec_usage(ch == 'h' ? stdout : stderr),
			       ch == 'h' ? 0 : 125;
	}
	if (optind + 2 > argc)
		return exec_usage(stderr), 125;
	s = lc_open_store(ctx);
	if (!s)
		return 125;
	if (ls_container_get(s, argv[optind], &c) < 0) {
		lc_fail(s);
		goto out;
	}
	r = ctr_exec(s, c, argv + optind + 1, envs, workdir, user, tty);
	if (r < 0)
		r = 125;
out:
	ls_container_free(c);
	ls_store_free(s);
	return r;
}
