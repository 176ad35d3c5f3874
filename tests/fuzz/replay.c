// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The libFuzzer driver's replay mode without libFuzzer: run one harness
 * once on every file named on the command line or found in a directory
 * named there (not recursive), as `fuzz-NAME -runs=0 DIR` would. A broken
 * property or a sanitizer report aborts, so the test fails; it prints how
 * many inputs it ran.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

static int run_file(const char *path)
{
	struct stat st;
	uint8_t *buf;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "replay: cannot open '%s': %s\n", path,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* a copy of exactly size bytes, as libFuzzer gives: ASan sees
	 * reads past the end */
	buf = malloc(st.st_size ? st.st_size : 1);
	while (buf && got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, st.st_size - got);

		if (n <= 0)
			break;
		got += n;
	}
	close(fd);
	if (!buf || got != (size_t)st.st_size) {
		fprintf(stderr, "replay: cannot read '%s'\n", path);
		free(buf);
		return -1;
	}
	LLVMFuzzerTestOneInput(buf, got);
	free(buf);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The regular files of dir, sorted (a stable order for the log). */
static int run_dir(const char *dir, size_t *ret_n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int r = 0;

	if (!d) {
		fprintf(stderr, "replay: cannot open '%s': %s\n", dir,
			strerror(errno));
		return -1;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **v = realloc(names, (cap = cap ? 2 * cap : 64) *
							  sizeof(*v));
			if (!v) {
				r = -1;
				break;
			}
			names = v;
		}
		if (!(names[n] = malloc(strlen(dir) + strlen(de->d_name) + 2))) {
			r = -1;
			break;
		}
		sprintf(names[n++], "%s/%s", dir, de->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (r == 0 && run_file(names[i]) < 0)
			r = -1;
		free(names[i]);
	}
	free(names);
	*ret_n += n;
	return r;
}

int main(int argc, char **argv)
{
	size_t n = 0;
	int r = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc && r == 0; i++) {
		struct stat st;

		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "replay: cannot open '%s': %s\n",
				argv[i], strerror(errno));
			r = -1;
		} else if (S_ISDIR(st.st_mode)) {
			r = run_dir(argv[i], &n);
		} else {
			r = run_file(argv[i]);
			n++;
		}
	}
	if (r < 0)
		return 1;
	printf("replay: %zu inputs, no property broken\n", n);
	return 0;
}
