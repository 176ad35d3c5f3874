// SPDX-License-Identifier: GPL-2.0-or-later
/* layerctl save: export an image to an OCI layout or archive. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>

#include "lc.h"

static void usage(FILE *f)
{
	fputs("usage: layerctl save [--json] [-q] REF oci:DIR[:NAME]|oci-archive:FILE[:NAME]\n\n"
	      "Export the image REF (manifest, config and layer blobs, each\n"
	      "checked against its digest on the way) as NAME (default: REF):\n"
	      "  oci:DIR[:NAME]          into the OCI layout DIR (created if\n"
	      "                          missing; its other images stay)\n"
	      "  oci-archive:FILE[:NAME] as a tar of a layout (written whole,\n"
	      "                          then renamed into place)\n\n"
	      "  --json       print the result as JSON\n"
	      "  -q, --quiet  no progress display on a terminal\n",
	      f);
}

int lc_cmd_save(const struct lc_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct ls_store *s;
	int c, json = 0, quiet = 0, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+jqh", opts, NULL)) != -1) {
		if (c == 'j')
			json = 1;
		else if (c == 'q')
			quiet = 1;
		else
			return usage(c == 'h' ? stdout : stderr),
			       c == 'h' ? 0 : 2;
	}
	if (optind != argc - 2)
		return usage(stderr), 2;
	s = lc_open_store(ctx);
	if (!s)
		return 1;
	if (!quiet)
		lc_progress_start(s);
	r = ls_save(s, argv[optind], argv[optind + 1]);
	lc_progress_end();
	if (r < 0) {
		r = lc_fail(s);
	} else if (json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "ref",
				       json_object_new_string(argv[optind]));
		json_object_object_add(o, "target",
				       json_object_new_string(
					       argv[optind + 1]));
		lc_print_json(o);
	} else {
		printf("saved '%s' to %s\n", argv[optind], argv[optind + 1]);
	}
	ls_store_free(s);
	return r;
}
