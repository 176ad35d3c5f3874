// SPDX-License-Identifier: GPL-2.0-or-later
/* layerctl inspect: one image in detail, or the lowerdir string that
 * mounts it with layerfs. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "lc.h"

static void usage(FILE *f)
{
	fputs("usage: layerctl inspect [--json | --lowerdirs] REF\n\n"
	      "Show the image REF (or a manifest digest): its digests and its\n"
	      "layers, bottom first.\n\n"
	      "  --json       as JSON\n"
	      "  --lowerdirs  print only its layers as a layerfs/overlayfs\n"
	      "               lowerdir string (top first), e.g.\n"
	      "               layerfs -o lowerdir=$(layerctl inspect --lowerdirs REF) MNT\n",
	      f);
}

static void print_human(struct ls_store *s, const struct ls_image *img)
{
	char size[32];

	printf("ref:      %s\nmanifest: %s\nconfig:   %s\nsize:     %s\n"
	       "layers:   %zu (bottom first)\n",
	       img->ref ? img->ref : "-", img->manifest, img->config,
	       lc_human_size(img->size, size, sizeof(size)), img->nlayers);
	for (size_t i = 0; i < img->nlayers; i++) {
		char *p = ls_layer_path(s, img->diff_ids[i]);

		printf("  %s\n    %s\n", img->diff_ids[i], p ? p : "?");
		free(p);
	}
}

int lc_cmd_inspect(const struct lc_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "lowerdirs", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct ls_image *img = NULL;
	struct ls_store *s;
	int c, json = 0, lower = 0, r = 0;
	char *dirs;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+jlh", opts, NULL)) != -1) {
		if (c == 'j')
			json = 1;
		else if (c == 'l')
			lower = 1;
		else
			return usage(c == 'h' ? stdout : stderr),
			       c == 'h' ? 0 : 2;
	}
	if (optind != argc - 1 || (json && lower))
		return usage(stderr), 2;
	s = lc_open_store(ctx);
	if (!s)
		return 1;
	if (ls_image_get(s, argv[optind], &img) < 0) {
		r = lc_fail(s);
	} else if (lower) {
		if (ls_image_lowerdirs(s, img, &dirs) < 0) {
			r = lc_fail(s);
		} else {
			puts(dirs);
			free(dirs);
		}
	} else if (json) {
		lc_print_json(lc_image_json(s, img));
	} else {
		print_human(s, img);
	}
	ls_image_free(img);
	ls_store_free(s);
	return r;
}
