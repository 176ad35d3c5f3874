// SPDX-License-Identifier: GPL-2.0-or-later
/* layerctl layers: list the unpacked layers. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>

#include "lc.h"

static void usage(FILE *f)
{
	fputs("usage: layerctl layers [--json]\n\n"
	      "List the unpacked layers: diffID, tar size, entries, how many\n"
	      "images use each, and whether a mount holds it.\n",
	      f);
}

int lc_cmd_layers(const struct lc_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct ls_layer_info *v;
	struct ls_store *s;
	size_t n;
	int c, json = 0;
	char size[32];

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
	if (ls_layers_list(s, &v, &n) < 0) {
		c = lc_fail(s);
		ls_store_free(s);
		return c;
	}
	if (json) {
		json_object *a = json_object_new_array();

		for (size_t i = 0; i < n; i++) {
			json_object *o = json_object_new_object();
			char *path = ls_layer_path(s, v[i].diff_id);

			json_object_object_add(o, "diff_id",
					       json_object_new_string(
						       v[i].diff_id));
			json_object_object_add(o, "blob",
					       json_object_new_string(
						       v[i].blob));
			json_object_object_add(o, "path",
					       json_object_new_string(
						       path ? path : ""));
			json_object_object_add(o, "size",
					       json_object_new_int64(
						       v[i].size));
			json_object_object_add(o, "entries",
					       json_object_new_int64(
						       v[i].entries));
			json_object_object_add(o, "images",
					       json_object_new_int64(
						       v[i].nimages));
			json_object_object_add(o, "in_use",
					       json_object_new_boolean(
						       v[i].in_use));
			json_object_array_add(a, o);
			free(path);
		}
		lc_print_json(a);
	} else {
		printf("%-19s %10s %8s %6s %s\n", "DIFF ID", "SIZE", "ENTRIES",
		       "IMAGES", "IN USE");
		for (size_t i = 0; i < n; i++)
			printf("%-19.19s %10s %8llu %6zu %s\n", v[i].diff_id,
			       lc_human_size(v[i].size, size, sizeof(size)),
			       (unsigned long long)v[i].entries, v[i].nimages,
			       v[i].in_use ? "mounted" : "-");
	}
	free(v);
	ls_store_free(s);
	return 0;
}
