// SPDX-License-Identifier: GPL-2.0-or-later
/* layerctl fsck: check (and repair) the store. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>

#include "lc.h"

static void usage(FILE *f)
{
	fputs("usage: layerctl fsck [--repair] [--json]\n\n"
	      "Check the store: every blob against its digest, every image's\n"
	      "manifest, config and layers, every unpacked layer against the\n"
	      "file manifest recorded when it was unpacked (types, modes,\n"
	      "owners, sizes, XXH3 of contents and xattrs). Prints one line per\n"
	      "problem; exit status 0 when none is left, 1 otherwise.\n\n"
	      "  --repair  unpack damaged or missing layers again from their\n"
	      "            blobs (a corrupt blob needs the image loaded again)\n"
	      "  --json    print the findings and counts as JSON\n",
	      f);
}

static void on_finding(void *arg, const struct ls_fsck_finding *x)
{
	json_object *a = arg;

	if (a) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "object",
				       json_object_new_string(x->object));
		json_object_object_add(o, "problem",
				       json_object_new_string(x->problem));
		json_object_object_add(o, "repaired",
				       json_object_new_boolean(x->repaired));
		json_object_array_add(a, o);
		return;
	}
	printf("%s: %s: %s\n", x->repaired ? "repaired" : "PROBLEM", x->object,
	       x->problem);
}

int lc_cmd_fsck(const struct lc_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "repair", no_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct ls_fsck_report rep;
	json_object *findings = NULL;
	struct ls_store *s;
	int c, json = 0, repair = 0, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+rjh", opts, NULL)) != -1) {
		if (c == 'r')
			repair = 1;
		else if (c == 'j')
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
	if (json)
		findings = json_object_new_array();
	r = ls_fsck(s, repair, on_finding, findings, &rep);
	if (r < 0) {
		json_object_put(findings);
		r = lc_fail(s);
		ls_store_free(s);
		return r;
	}
	r = rep.problems > rep.repaired;
	if (json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "ok", json_object_new_boolean(!r));
		json_object_object_add(o, "images",
				       json_object_new_int64(rep.images));
		json_object_object_add(o, "blobs",
				       json_object_new_int64(rep.blobs));
		json_object_object_add(o, "layers",
				       json_object_new_int64(rep.layers));
		json_object_object_add(o, "problems",
				       json_object_new_int64(rep.problems));
		json_object_object_add(o, "repaired",
				       json_object_new_int64(rep.repaired));
		json_object_object_add(o, "garbage",
				       json_object_new_int64(rep.garbage));
		json_object_object_add(o, "findings", findings);
		lc_print_json(o);
	} else {
		printf("checked %zu images, %zu blobs, %zu layers: %zu "
		       "problems, %zu repaired; %zu unreferenced objects or "
		       "leftovers (gc removes them)\n",
		       rep.images, rep.blobs, rep.layers, rep.problems,
		       rep.repaired, rep.garbage);
	}
	ls_store_free(s);
	return r;
}
