// SPDX-License-Identifier: GPL-2.0-or-later
/* layerctl gc and rmi: remove what nothing uses, report what was freed. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>

#include "lc.h"

static void print_report(const struct ls_gc_report *g, int json, int dry_run)
{
	char b[32], l[32], t[32];

	if (json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "dry_run",
				       json_object_new_boolean(dry_run));
		json_object_object_add(o, "blobs",
				       json_object_new_int64(g->blobs));
		json_object_object_add(o, "blob_bytes",
				       json_object_new_int64(g->blob_bytes));
		json_object_object_add(o, "layers",
				       json_object_new_int64(g->layers));
		json_object_object_add(o, "layer_bytes",
				       json_object_new_int64(g->layer_bytes));
		json_object_object_add(o, "tmp", json_object_new_int64(g->tmp));
		json_object_object_add(o, "tmp_bytes",
				       json_object_new_int64(g->tmp_bytes));
		json_object_object_add(o, "locks",
				       json_object_new_int64(g->locks));
		json_object_object_add(o, "kept_in_use",
				       json_object_new_int64(g->in_use));
		lc_print_json(o);
		return;
	}
	printf("%s %zu blobs (%s), %zu layers (%s), %zu staging leftovers "
	       "(%s)\n",
	       dry_run ? "would remove" : "removed", g->blobs,
	       lc_human_size(g->blob_bytes, b, sizeof(b)), g->layers,
	       lc_human_size(g->layer_bytes, l, sizeof(l)), g->tmp,
	       lc_human_size(g->tmp_bytes, t, sizeof(t)));
	if (g->in_use)
		printf("kept %zu unreferenced layers: mounted\n", g->in_use);
}

static void gc_usage(FILE *f)
{
	fputs("usage: layerctl gc [--dry-run] [--json]\n\n"
	      "Remove every blob and layer that no image and no container\n"
	      "references, and staging leftovers in tmp/. A layer a mount uses\n"
	      "is kept. Waits for loads and other work in progress.\n\n"
	      "  -n, --dry-run  only say what would be removed\n"
	      "  --json         print the report as JSON\n",
	      f);
}

int lc_cmd_gc(const struct lc_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct ls_gc_report g;
	struct ls_store *s;
	int c, json = 0, dry = 0, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+njh", opts, NULL)) != -1) {
		if (c == 'n')
			dry = 1;
		else if (c == 'j')
			json = 1;
		else
			return gc_usage(c == 'h' ? stdout : stderr),
			       c == 'h' ? 0 : 2;
	}
	if (optind != argc)
		return gc_usage(stderr), 2;
	s = lc_open_store(ctx);
	if (!s)
		return 1;
	r = ls_gc(s, dry, &g);
	if (r < 0)
		r = lc_fail(s);
	else
		print_report(&g, json, dry);
	ls_store_free(s);
	return r;
}

static void rmi_usage(FILE *f)
{
	fputs("usage: layerctl rmi [--force] [--json] REF...\n\n"
	      "Remove the images REF (their names in index.json), then the\n"
	      "blobs and layers that only they used. An image a container uses\n"
	      "is refused unless --force (the container keeps its layers).\n\n"
	      "  -f, --force  remove it even if a container uses it\n"
	      "  --json       print the report as JSON\n",
	      f);
}

int lc_cmd_rmi(const struct lc_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct ls_gc_report g;
	struct ls_store *s;
	int c, json = 0, force = 0, st = 0;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+fjh", opts, NULL)) != -1) {
		if (c == 'f')
			force = 1;
		else if (c == 'j')
			json = 1;
		else
			return rmi_usage(c == 'h' ? stdout : stderr),
			       c == 'h' ? 0 : 2;
	}
	if (optind >= argc)
		return rmi_usage(stderr), 2;
	s = lc_open_store(ctx);
	if (!s)
		return 1;
	for (int i = optind; i < argc; i++) {
		if (ls_rmi(s, argv[i], force, &g) < 0) {
			st = lc_fail(s);
			continue;
		}
		if (!json)
			printf("untagged '%s'\n", argv[i]);
		print_report(&g, json, 0);
	}
	ls_store_free(s);
	return st;
}
