/*
 * lfs-rename FROM TO: one rename(2), nothing else. busybox mv falls back
 * to copy and delete on EXDEV, which hides what the file system did; the
 * real-clients tests build this statically and put it in their image to
 * see the plain answer ("renamed", or the errno's name and exit 1).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: lfs-rename FROM TO\n");
		return 2;
	}
	if (rename(argv[1], argv[2]) < 0) {
		int e = errno;

		printf("%s\n", e == EXDEV ? "EXDEV" : strerror(e));
		return 1;
	}
	printf("renamed\n");
	return 0;
}
