// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * layerctl: a thin CLI over liblayerstore. One cmd-*.c per subcommand,
 * dispatched from the table below; main() alone prints the final error.
 */
#include <stdio.h>
#include <string.h>

#include "layerstore.h"

static void usage(FILE *f)
{
	fputs("usage: layerctl [--version] [--help] COMMAND [ARGS...]\n"
	      "\n"
	      "The store commands (load, save, images, layers, inspect, rmi,\n"
	      "gc, fsck), containers (create, mount, diff, commit, rm) and the\n"
	      "launcher (run, exec) arrive with their issues; see README.md.\n",
	      f);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("layerctl %s\n", LAYERFS_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "layerctl: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
