// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Cgroups for a container: cgroup v2 where /sys/fs/cgroup is the unified
 * hierarchy and ours is writable (delegated), else cgroup v1 (memory, cpu
 * and pids controllers, each under /sys/fs/cgroup/NAME/), the layout this
 * machine and many older hosts have. A container gets layerfs/ID under
 * the launcher's own cgroup of each controller. Limits that cannot be
 * applied (no cgroup, not writable: rootless on v1) are warned about,
 * never silently dropped.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cleanup.h"
#include "ctr.h"
#include "fsutil.h"

#define CGROUP2_MAGIC 0x63677270
#define CG "/sys/fs/cgroup"

static int write_file(const char *dir, const char *name, const char *val)
{
	_cleanup_free_ char *p = cu_path_join(dir, name);
	_cleanup_close_ int fd = p ? open(p, O_WRONLY | O_CLOEXEC) : -1;

	if (!p)
		return -ENOMEM;
	if (fd < 0 || cu_write_all(fd, val, strlen(val)) < 0)
		return -errno;
	return 0;
}

/* Does the comma list have ctrl? ("" matches only an empty list: v2) */
static bool has_ctrl(const char *list, size_t n, const char *ctrl)
{
	size_t l = strlen(ctrl);

	if (!l)
		return n == 0;
	for (const char *c = list; c < list + n; c += strcspn(c, ",") + 1)
		if (strcspn(c, ",:") == l && !strncmp(c, ctrl, l))
			return true;
	return false;
}

/* Our own cgroup in a v1 controller (or v2 with ctrl ""), from
 * /proc/self/cgroup ("N:ctrl,ctrl:/path"), malloc'd. */
static char *own_cgroup(const char *ctrl)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	char *line = NULL, *res = NULL;
	size_t cap = 0;

	while (f && !res && getline(&line, &cap, f) > 0) {
		char *a = strchr(line, ':'), *b = a ? strchr(a + 1, ':') : NULL;

		if (!b)
			continue;
		b[strcspn(b, "\n")] = '\0';
		if (has_ctrl(a + 1, b - a - 1, ctrl))
			res = strdup(b + 1);
	}
	free(line);
	if (f)
		fclose(f);
	return res;
}

static int make_dir(struct ctr_cgroup *cg, size_t *n, const char *base,
		    const char *ctrl, const char *id)
{
	_cleanup_free_ char *own = own_cgroup(ctrl), *p = NULL;

	if (!own)
		return -ENOENT;
	if (asprintf(&p, "%s%s%s%s/layerfs/%s", base, *ctrl ? "/" : "", ctrl,
		     strcmp(own, "/") ? own : "", id) < 0)
		return -ENOMEM;
	if (cu_mkdir_p(p, 0755) < 0)
		return -errno;
	if (!*ctrl) { /* v2: controllers reach a child only when enabled */
		char *slash = strrchr(p, '/');

		*slash = '\0'; /* .../layerfs, then its parent */
		*strrchr(p, '/') = '\0';
		write_file(p, "cgroup.subtree_control", "+memory +pids +cpu");
		p[strlen(p)] = '/';
		write_file(p, "cgroup.subtree_control", "+memory +pids +cpu");
		*slash = '/';
	}
	cg->paths[(*n)++] = p;
	p = NULL;
	return 0;
}

static int limits_v1(struct ctr_cgroup *cg, const struct ctr_spec *sp)
{
	char v[32];
	int r = 0;

	for (size_t i = 0; r == 0 && cg->paths[i]; i++) {
		const char *p = cg->paths[i];

		if (strstr(p, CG "/memory/") == p && sp->memory) {
			snprintf(v, sizeof(v), "%llu",
				 (unsigned long long)sp->memory);
			r = write_file(p, "memory.limit_in_bytes", v);
			/* no swap beyond it, where the kernel counts swap */
			if (r == 0)
				write_file(p, "memory.memsw.limit_in_bytes", v);
		} else if (strstr(p, CG "/cpu/") == p && sp->cpu_millis) {
			snprintf(v, sizeof(v), "%llu",
				 (unsigned long long)sp->cpu_millis * 100);
			r = write_file(p, "cpu.cfs_period_us", "100000");
			if (r == 0)
				r = write_file(p, "cpu.cfs_quota_us", v);
		} else if (strstr(p, CG "/pids/") == p && sp->pids) {
			snprintf(v, sizeof(v), "%lld", (long long)sp->pids);
			r = write_file(p, "pids.max", v);
		}
	}
	return r;
}

static int limits_v2(struct ctr_cgroup *cg, const struct ctr_spec *sp)
{
	char v[48];
	int r = 0;

	if (sp->memory) {
		snprintf(v, sizeof(v), "%llu", (unsigned long long)sp->memory);
		r = write_file(cg->paths[0], "memory.max", v);
		if (r == 0)
			write_file(cg->paths[0], "memory.swap.max", "0");
	}
	if (r == 0 && sp->cpu_millis) {
		snprintf(v, sizeof(v), "%llu 100000",
			 (unsigned long long)sp->cpu_millis * 100);
		r = write_file(cg->paths[0], "cpu.max", v);
	}
	if (r == 0 && sp->pids) {
		snprintf(v, sizeof(v), "%lld", (long long)sp->pids);
		r = write_file(cg->paths[0], "pids.max", v);
	}
	return r;
}

int ctr_cgroup_create(struct ctr_cgroup *cg, const char *id,
		      const struct ctr_spec *sp)
{
	static const char *const v1[] = { "memory", "cpu", "pids" };
	bool want = sp->memory || sp->cpu_millis || sp->pids;
	struct statfs f;
	size_t n = 0;
	int r = -ENOENT;

	memset(cg, 0, sizeof(*cg));
	if (statfs(CG, &f) == 0 && f.f_type == CGROUP2_MAGIC) {
		cg->v2 = true;
		r = make_dir(cg, &n, CG, "", id);
		if (r == 0)
			r = limits_v2(cg, sp);
	} else {
		for (size_t i = 0; i < sizeof(v1) / sizeof(*v1); i++) {
			char p[64];

			snprintf(p, sizeof(p), CG "/%s", v1[i]);
			if (access(p, F_OK) == 0 &&
			    (r = make_dir(cg, &n, CG, v1[i], id)) < 0)
				break;
		}
		if (r == 0)
			r = limits_v1(cg, sp);
	}
	if (r < 0) {
		ctr_cgroup_destroy(cg);
		if (want)
			fprintf(stderr,
				"layerctl: warning: cannot apply --memory, "
				"--cpus or --pids: no writable cgroup (%s)%s\n",
				strerror(-r),
				geteuid() ? "; rootless containers need a "
					    "delegated cgroup v2" :
					    "");
	}
	return 0;
}

int ctr_cgroup_join(const struct ctr_cgroup *cg, pid_t pid)
{
	char v[24];
	int r = 0;

	snprintf(v, sizeof(v), "%d", (int)pid);
	for (size_t i = 0; r == 0 && cg->paths[i]; i++)
		r = write_file(cg->paths[i], "cgroup.procs", v);
	return r;
}

int ctr_cgroup_join_list(const char *list, pid_t pid)
{
	_cleanup_free_ char *dup = list ? strdup(list) : NULL;
	char *save = NULL, v[24];
	int r = 0;

	if (!dup)
		return 0;
	snprintf(v, sizeof(v), "%d", (int)pid);
	for (char *p = strtok_r(dup, ":", &save); r == 0 && p;
	     p = strtok_r(NULL, ":", &save))
		r = write_file(p, "cgroup.procs", v);
	return r;
}

/* Remove the cgroups (empty once every process in them is gone). */
void ctr_cgroup_destroy(struct ctr_cgroup *cg)
{
	for (size_t i = 0; cg->paths[i]; i++) {
		for (int tries = 0;
		     rmdir(cg->paths[i]) < 0 && errno == EBUSY && tries < 50;
		     tries++)
			usleep(20000);
		free(cg->paths[i]);
		cg->paths[i] = NULL;
	}
}
