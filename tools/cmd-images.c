// SPDX-License-Identifier: GPL-2.0-or-later
/* layerctl images: list the store's images. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>

#include "lc.h"

static void usage(FILE *f)
{
	fputs("usage: layerctl images [--json]\n\n"
	      "List the images of the store: ref, manifest digest, layers and\n"
	      "stored size.\n",
	      f);
}

static void print_table(struct ls_image **v, size_t n)
{
	char size[32];

	printf("%-30s %-19s %6s %10s\n", "REF", "MANIFEST", "LAYERS", "SIZE");
	for (size_t i = 0; i < n; i++)
		printf("%-30s %-19.19s %6zu %10s\n",
		       v[i]->ref ? v[i]->ref : "-", v[i]->manifest,
		       v[i]->nlayers,
		       lc_human_size(v[i]->size, size, sizeof(size)));
}

int lc_cmd_images(const struct lc_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct ls_image **v;
	struct ls_store *s;
	size_t n;
	int c, json = 0;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+jh", opts, NULL)) != -1) {
		if (c == 'j')
			json = 1;
		else
			return usage(c == 'h' ? stdout : stderr),
			       c == 'h' ? 0 : 2;
	}
	if (optind != argc)
		return usage(stderr), 2;
	s = lc_open_store(ctx);
	if (!s)
		return 1;
	if (ls_images_list(s, &v, &n) < 0) {
		c = lc_fail(s);
		ls_store_free(s);
		return c;
	}
	if (json) {
		json_object *a = json_object_new_array();

		for (size_t i = 0; i < n; i++)
			json_object_array_add(a, lc_image_json(s, v[i]));
		lc_print_json(a);
	} else {
		print_table(v, n);
	}
	ls_images_free(v, n);
	ls_store_free(s);
	return 0;
}
