// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * layerctl create, ps, rm, mount and umount: containers as the store keeps
 * them (ROOT/containers/ID/), mounted with the layerfs daemon. A mount is
 * recorded in ROOT/containers/ID/mountpoint; ps and rm check it against
 * /proc/self/mountinfo, so a mount that went away by other means is not
 * taken for a live one.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "launcher/ctr.h"
#include "lc.h"

/* ---- mountinfo ------------------------------------------------------------ */

/* Undo mountinfo's octal escapes (\040 and friends) in place. */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] &&
		    s[3]) {
			*o++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 |
				      (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/* Is path the mount point of a layerfs mount? */
static bool layerfs_mounted(const char *path)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	bool found = false;

	if (!f)
		return false;
	while (!found && getline(&line, &cap, f) > 0) {
		char *save = NULL, *mp = NULL, *tok,
		     *dash = strstr(line, " - ");
		int i = 0;

		if (!dash)
			continue;
		for (tok = strtok_r(line, " ", &save); tok && i < 5;
		     tok = strtok_r(NULL, " ", &save), i++)
			mp = tok;
		if (!mp || i < 5)
			continue;
		unescape(mp);
		found = !strcmp(mp, path) &&
			!strncmp(dash + 3, "fuse.layerfs", 12);
	}
	free(line);
	fclose(f);
	return found;
}

/* The recorded mount point of a container, if it is mounted now. */
char *lc_mounted_at(const struct ls_container *c)
{
	_cleanup_close_ int fd = open(c->dir,
				      O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char *buf = NULL;
	size_t len;

	if (fd < 0 ||
	    cu_read_file_at(fd, "mountpoint", PATH_MAX, &buf, &len) < 0)
		return NULL;
	if (!layerfs_mounted(buf)) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* ---- create --------------------------------------------------------------- */

static void create_usage(FILE *f)
{
	fputs("usage: layerctl create [--name ID] [--json] REF\n\n"
	      "Create a container from the image REF: its layers, an init layer\n"
	      "(/etc/hostname, /etc/hosts, /etc/resolv.conf, mount points) and an\n"
	      "empty upper layer under ROOT/containers/ID/. Prints the ID.\n\n"
	      "  --name ID  the container's name (letters, digits, '_.-'; default:\n"
	      "             a random one)\n"
	      "  --json     print the container as JSON\n",
	      f);
}

static json_object *container_json(const struct ls_container *c,
				   const char *mnt)
{
	json_object *o = json_object_new_object(), *a = json_object_new_array();

	json_object_object_add(o, "id", json_object_new_string(c->id));
	json_object_object_add(o, "ref",
			       json_object_new_string(c->ref ? c->ref : ""));
	json_object_object_add(o, "image", json_object_new_string(c->image));
	json_object_object_add(o, "created",
			       json_object_new_string(c->created ? c->created :
								   ""));
	json_object_object_add(o, "dir", json_object_new_string(c->dir));
	for (size_t i = 0; i < c->nlayers; i++)
		json_object_array_add(a,
				      json_object_new_string(c->diff_ids[i]));
	json_object_object_add(o, "layers", a);
	json_object_object_add(o, "mounted",
			       mnt ? json_object_new_string(mnt) : NULL);
	struct ctr_state st;

	ctr_state_read(c, &st);
	json_object_object_add(o, "status", json_object_new_string(st.status));
	json_object_object_add(o, "pid", json_object_new_int(st.pid));
	json_object_object_add(o, "exit_code",
			       json_object_new_int(st.exit_code));
	ctr_state_free(&st);
	return o;
}

int lc_cmd_create(const struct lc_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *name = NULL;
	struct ls_container *c;
	struct ls_store *s;
	int ch, json = 0, r = 0;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "+n:jh", opts, NULL)) != -1) {
		if (ch == 'n')
			name = optarg;
		else if (ch == 'j')
			json = 1;
		else
			return create_usage(ch == 'h' ? stdout : stderr),
			       ch == 'h' ? 0 : 2;
	}
	if (optind != argc - 1)
		return create_usage(stderr), 2;
	s = lc_open_store(ctx);
	if (!s)
		return 1;
	if (ls_container_create(s, argv[optind], name, &c) < 0) {
		r = lc_fail(s);
	} else {
		if (json)
			lc_print_json(container_json(c, NULL));
		else
			printf("%s\n", c->id);
		ls_container_free(c);
	}
	ls_store_free(s);
	return r;
}

/* ---- ps ------------------------------------------------------------------- */

int lc_cmd_ps(const struct lc_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct ls_container **v;
	struct ls_store *s;
	json_object *a = NULL;
	size_t n;
	int ch, json = 0;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "+jh", opts, NULL)) != -1) {
		if (ch == 'j')
			json = 1;
		else
			return fputs("usage: layerctl ps [--json]\n\n"
				     "List the containers: ID, image, created, "
				     "status (created, running with its pid,\n"
				     "exited with its code), where mounted.\n",
				     ch == 'h' ? stdout : stderr),
			       ch == 'h' ? 0 : 2;
	}
	s = lc_open_store(ctx);
	if (!s)
		return 1;
	if (ls_containers_list(s, &v, &n) < 0) {
		ch = lc_fail(s);
		ls_store_free(s);
		return ch;
	}
	if (json)
		a = json_object_new_array();
	else
		printf("%-20s %-24s %-21s %-22s %s\n", "ID", "IMAGE", "CREATED",
		       "STATUS", "MOUNTED");
	for (size_t i = 0; i < n; i++) {
		char *mnt = lc_mounted_at(v[i]), status[40];
		struct ctr_state st;

		ctr_state_read(v[i], &st);

		if (st.pid)
			snprintf(status, sizeof(status), "running (pid %d)",
				 st.pid);
		else if (!strcmp(st.status, "exited"))
			snprintf(status, sizeof(status), "exited (%d)",
				 st.exit_code);
		else
			snprintf(status, sizeof(status), "%s", st.status);
		if (json)
			json_object_array_add(a, container_json(v[i], mnt));
		else
			printf("%-20s %-24s %-21s %-22s %s\n", v[i]->id,
			       v[i]->ref && *v[i]->ref ? v[i]->ref :
							 v[i]->image,
			       v[i]->created ? v[i]->created : "-", status,
			       mnt ? mnt : "-");
		ctr_state_free(&st);
		free(mnt);
	}
	if (json)
		lc_print_json(a);
	ls_containers_free(v, n);
	ls_store_free(s);
	return 0;
}

/* ---- rm ------------------------------------------------------------------- */

int lc_cmd_rm(const struct lc_ctx *ctx, int argc, char **argv)
{
	struct ls_store *s;
	int st = 0;

	if (argc < 2 || !strcmp(argv[1], "--help") || argv[1][0] == '-') {
		bool help = argc >= 2 && !strcmp(argv[1], "--help");

		fputs("usage: layerctl rm ID...\n\n"
		      "Remove containers: their upper and init layers and their\n"
		      "config. A mounted container is refused (layerctl umount).\n",
		      help ? stdout : stderr);
		return help ? 0 : 2;
	}
	s = lc_open_store(ctx);
	if (!s)
		return 1;
	for (int i = 1; i < argc; i++) {
		struct ls_container *c;
		struct ctr_state state;
		pid_t running;
		char *mnt;

		if (ls_container_get(s, argv[i], &c) < 0) {
			st = lc_fail(s);
			continue;
		}
		mnt = lc_mounted_at(c);
		ctr_state_read(c, &state);
		running = state.pid;
		ctr_state_free(&state);
		if (running) {
			fprintf(stderr,
				"layerctl: container '%s' is running (pid %d)\n",
				argv[i], (int)running);
			ls_container_free(c);
			free(mnt);
			st = 1;
			continue;
		}
		ls_container_free(c);
		if (mnt) {
			fprintf(stderr,
				"layerctl: container '%s' is mounted at '%s' "
				"(layerctl umount it first)\n",
				argv[i], mnt);
			free(mnt);
			st = 1;
			continue;
		}
		if (ls_container_rm(s, argv[i]) < 0)
			st = lc_fail(s);
		else
			printf("%s\n", argv[i]);
	}
	ls_store_free(s);
	return st;
}

/* ---- mount and umount ------------------------------------------------------ */

/* The layerfs daemon: $LAYERFS, else next to layerctl (installed), else
 * in the build tree (tools/../fs/layerfs), else from PATH. */
static char *find_layerfs(void)
{
	char self[PATH_MAX], *p;
	ssize_t n;

	if (getenv("LAYERFS") && *getenv("LAYERFS"))
		return strdup(getenv("LAYERFS"));
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		*strrchr(self, '/') = '\0';
		if (asprintf(&p, "%s/layerfs", self) >= 0) {
			if (access(p, X_OK) == 0)
				return p;
			free(p);
		}
		if (asprintf(&p, "%s/../fs/layerfs", self) >= 0) {
			if (access(p, X_OK) == 0)
				return p;
			free(p);
		}
	}
	return strdup("layerfs");
}

static int run_wait(const char *const argv[])
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execvp(argv[0], (char *const *)argv);
		fprintf(stderr, "layerctl: cannot run '%s': %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int lc_mount_container(struct ls_store *s, const struct ls_container *c,
		       const char *mnt)
{
	_cleanup_free_ char *opts = NULL, *lfs = find_layerfs();
	_cleanup_close_ int lockfd = -1, fd = -1;
	int r;

	if (!lfs)
		return -ENOMEM;
	if (ls_container_mount_opts(s, c, &opts) < 0)
		return lc_fail(s), -EINVAL;
	/* as root, a container's other users (run -u) may use it too; the
	 * kernel checks their permissions (layerfs's default_permissions).
	 * Rootless, ids are mapped as the container's user namespace maps
	 * them, so what root in the container writes is stored as 0:0. */
	{
		_cleanup_free_ char *map = ctr_idmap_opts();
		char *o = NULL;

		if (asprintf(&o, "%s,%s", opts,
			     geteuid() == 0 ? "allow_other" :
			     map	    ? map :
					      "") < 0)
			return -ENOMEM;
		free(opts);
		opts = o;
	}
	lockfd = ls_container_lock(s, c); /* no commit reads it meanwhile */
	if (lockfd < 0)
		return lc_fail(s), lockfd;
	{
		const char *args[] = { lfs, "-o", opts, mnt, NULL };

		r = run_wait(args);
	}
	if (r != 0) {
		fprintf(stderr, "layerctl: layerfs could not mount '%s'\n",
			c->id);
		return -EIO;
	}
	fd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 ||
	    cu_atomic_write_at(fd, "mountpoint", mnt, strlen(mnt), 0644) < 0)
		fprintf(stderr, "layerctl: warning: cannot record the mount\n");
	return 0;
}

int lc_cmd_mount(const struct lc_ctx *ctx, int argc, char **argv)
{
	_cleanup_free_ char *mnt = NULL;
	struct ls_container *c = NULL;
	struct ls_store *s;
	int r = 1;

	if (argc != 3 || argv[1][0] == '-') {
		bool help = argc == 2 && !strcmp(argv[1], "--help");

		fputs("usage: layerctl mount ID MNT\n\n"
		      "Mount the container ID at MNT with layerfs (its image's\n"
		      "layers, the init layer, its upper layer); the daemon runs\n"
		      "until 'layerctl umount MNT'. $LAYERFS names the daemon\n"
		      "(default: next to layerctl, else from PATH).\n",
		      help ? stdout : stderr);
		return help ? 0 : 2;
	}
	s = lc_open_store(ctx);
	if (!s)
		return 1;
	mnt = realpath(argv[2], NULL);
	if (!mnt)
		fprintf(stderr, "layerctl: mount point '%s': %s\n", argv[2],
			strerror(errno));
	else if (ls_container_get(s, argv[1], &c) < 0)
		lc_fail(s);
	else if (lc_mount_container(s, c, mnt) == 0)
		r = 0;
	ls_container_free(c);
	ls_store_free(s);
	return r;
}

int lc_umount(const char *mnt)
{
	const char *args[] = { "fusermount3", "-u", mnt, NULL };

	if (geteuid() == 0) {
		if (umount2(mnt, 0) == 0)
			return 0;
		fprintf(stderr, "layerctl: cannot unmount '%s': %s\n", mnt,
			strerror(errno));
		return -errno;
	}
	return run_wait(args) == 0 ? 0 : -EIO;
}

int lc_cmd_umount(const struct lc_ctx *ctx, int argc, char **argv)
{
	_cleanup_free_ char *mnt = NULL;

	(void)ctx;
	if (argc != 2 || argv[1][0] == '-') {
		bool help = argc == 2 && !strcmp(argv[1], "--help");

		fputs("usage: layerctl umount MNT\n\n"
		      "Unmount a container mounted with 'layerctl mount'; the\n"
		      "daemon writes everything out and exits.\n",
		      help ? stdout : stderr);
		return help ? 0 : 2;
	}
	mnt = realpath(argv[1], NULL);
	if (!mnt || !layerfs_mounted(mnt)) {
		fprintf(stderr, "layerctl: '%s' is not a layerfs mount\n",
			argv[1]);
		return 1;
	}
	return lc_umount(mnt) == 0 ? 0 : 1;
}
