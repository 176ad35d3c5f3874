// SPDX-License-Identifier: MIT
/*
 * openstat: open/fstat/close of the files of a generated tree from N
 * threads at once, for bench/run.sh (workload "openstat").
 *
 * usage: openstat DIR NDIRS NFILES THREADS TOTAL_OPS
 *
 * The tree is DIR/dNNN/fNN (NDIRS x NFILES, as bench/layers.sh makes it).
 * TOTAL_OPS operations are split evenly over THREADS threads; thread i
 * starts at a different file and walks the tree round-robin, so threads
 * do not hit the same inode at the same time. Prints the wall seconds of
 * the parallel part on stdout; exits 1 on the first failed call.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct worker {
	pthread_t tid;
	const char *dir;
	long ndirs, nfiles, start, ops;
	int err;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	long total = w->ndirs * w->nfiles;
	char path[4096];
	struct stat st;

	for (long i = 0; i < w->ops; i++) {
		long k = (w->start + i) % total;
		int fd;

		snprintf(path, sizeof(path), "%s/d%03ld/f%02ld", w->dir,
			 k / w->nfiles, k % w->nfiles);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0) {
			fprintf(stderr, "openstat: '%s': %s\n", path,
				strerror(errno));
			w->err = 1;
			if (fd >= 0)
				close(fd);
			return NULL;
		}
		close(fd);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct worker *ws;
	long ndirs, nfiles, nthreads, total;
	double t0;
	int err = 0;

	if (argc != 6) {
		fprintf(stderr,
			"usage: openstat DIR NDIRS NFILES THREADS TOTAL_OPS\n");
		return 2;
	}
	ndirs = atol(argv[2]);
	nfiles = atol(argv[3]);
	nthreads = atol(argv[4]);
	total = atol(argv[5]);
	if (ndirs <= 0 || nfiles <= 0 || nthreads <= 0 || total <= 0)
		return 2;
	ws = calloc((size_t)nthreads, sizeof(*ws));
	if (!ws)
		return 1;
	t0 = now();
	for (long i = 0; i < nthreads; i++) {
		ws[i] = (struct worker){
			.dir = argv[1],
			.ndirs = ndirs,
			.nfiles = nfiles,
			.start = i * (ndirs * nfiles / nthreads),
			.ops = total / nthreads,
		};
		if (pthread_create(&ws[i].tid, NULL, work, &ws[i]) != 0)
			return 1;
	}
	for (long i = 0; i < nthreads; i++) {
		pthread_join(ws[i].tid, NULL);
		err |= ws[i].err;
	}
	printf("%.6f\n", now() - t0);
	free(ws);
	return err;
}
