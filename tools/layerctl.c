// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * layerctl: a thin CLI over liblayerstore. Global options, then a dispatch
 * table to one cmd-*.c per subcommand.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lc.h"

struct command {
	const char *name;
	int (*fn)(const struct lc_ctx *ctx, int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "load", lc_cmd_load,
	  "import an image (oci:, oci-archive:, a layer tar)" },
	{ "save", lc_cmd_save, "export an image (oci:, oci-archive:)" },
	{ "images", lc_cmd_images, "list the images" },
	{ "layers", lc_cmd_layers, "list the unpacked layers" },
	{ "inspect", lc_cmd_inspect, "show an image, or its lowerdir string" },
	{ "rmi", lc_cmd_rmi, "remove images and what only they used" },
	{ "gc", lc_cmd_gc, "remove unreferenced blobs, layers, leftovers" },
	{ "fsck", lc_cmd_fsck, "check the store (and repair layers)" },
	{ "create", lc_cmd_create, "create a container from an image" },
	{ "ps", lc_cmd_ps, "list the containers" },
	{ "rm", lc_cmd_rm, "remove containers" },
	{ "mount", lc_cmd_mount, "mount a container with layerfs" },
	{ "umount", lc_cmd_umount, "unmount a container" },
	{ "diff", lc_cmd_diff, "a container's changes (or their OCI tar)" },
	{ "commit", lc_cmd_commit, "a container's changes as a new image" },
	{ "run", lc_cmd_run, "run a process in a new container" },
	{ "exec", lc_cmd_exec, "run a process in a running container" },
};

static void usage(FILE *f)
{
	fputs("usage: layerctl [--root DIR] COMMAND [ARGS...]\n"
	      "       layerctl --version | --help\n\n"
	      "  --root DIR   the store (default: $LAYERFS_ROOT, else\n"
	      "               /var/lib/layerfs as root, else\n"
	      "               $XDG_DATA_HOME/layerfs or ~/.local/share/layerfs)\n\n"
	      "commands:\n",
	      f);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name,
			commands[i].summary);
	fputs("\n'layerctl COMMAND --help' describes a command.\n", f);
}

struct ls_store *lc_open_store(const struct lc_ctx *ctx)
{
	char *root = ctx->root ? strdup(ctx->root) : ls_default_root();
	struct ls_store *s = NULL;

	if (!root) {
		fprintf(stderr, "layerctl: out of memory\n");
		return NULL;
	}
	if (ls_store_open(root, &s) < 0) {
		fprintf(stderr, "layerctl: %s\n", ls_store_error(s));
		ls_store_free(s);
		s = NULL;
	}
	free(root);
	return s;
}

int lc_fail(struct ls_store *s)
{
	fprintf(stderr, "layerctl: %s\n", ls_store_error(s));
	return 1;
}

const char *lc_human_size(unsigned long long n, char *buf, size_t size)
{
	static const char *const unit[] = { "B", "kB", "MB", "GB", "TB" };
	double v = n;
	int u = 0;

	while (v >= 1000 && u < 4) {
		v /= 1000;
		u++;
	}
	snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
	return buf;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct lc_ctx ctx = { 0 };
	int c;

	/* '+': stop at the command, its options are its own */
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			ctx.root = optarg;
			break;
		case 'V':
			printf("layerctl %s\n", LAYERFS_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(argv[optind], commands[i].name)) {
			optind++;
			return commands[i].fn(&ctx, argc - optind + 1,
					      argv + optind - 1);
		}
	}
	fprintf(stderr, "layerctl: unknown command '%s'\n", argv[optind]);
	usage(stderr);
	return 2;
}
