// SPDX-License-Identifier: GPL-2.0-or-later
/* layerctl load: import an image into the store. */
#include <getopt.h>
#include <stdio.h>

#include "lc.h"

static void usage(FILE *f)
{
	fputs("usage: layerctl load [--tag REF] [--json] oci:DIR[:REF]\n\n"
	      "Import the image REF of the OCI layout DIR (or its only image),\n"
	      "verifying every digest and unpacking each layer once.\n\n"
	      "  --tag REF   name it REF in the store (default: the source's REF,\n"
	      "              else its ref name, else 'latest')\n"
	      "  --json      print the result as JSON\n",
	      f);
}

int lc_cmd_load(const struct lc_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tag", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *tag = NULL;
	struct ls_image *img;
	struct ls_store *s;
	int c, json = 0, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+t:jh", opts, NULL)) != -1) {
		if (c == 't')
			tag = optarg;
		else if (c == 'j')
			json = 1;
		else
			return usage(c == 'h' ? stdout : stderr),
			       c == 'h' ? 0 : 2;
	}
	if (optind != argc - 1)
		return usage(stderr), 2;
	s = lc_open_store(ctx);
	if (!s)
		return 1;
	r = ls_load(s, argv[optind], tag, &img);
	if (r < 0) {
		r = lc_fail(s);
	} else {
		if (json)
			lc_print_json(lc_image_json(s, img));
		else
			printf("loaded '%s' (%s, %zu layers)\n", img->ref,
			       img->manifest, img->nlayers);
		ls_image_free(img);
	}
	ls_store_free(s);
	return r;
}
