// SPDX-License-Identifier: GPL-2.0-or-later
/* layerctl load: import an image into the store. */
#include <getopt.h>
#include <stdio.h>

#include "lc.h"

static void usage(FILE *f)
{
	fputs("usage: layerctl load [OPTIONS] SOURCE\n\n"
	      "Import an image, verifying every digest and unpacking each layer\n"
	      "once. A failed load leaves the store as it was. SOURCE is\n"
	      "  oci:DIR[:REF]           the image REF of an OCI layout (or its\n"
	      "                          only image)\n"
	      "  oci-archive:FILE[:REF]  the same, from a tar of a layout\n"
	      "  FILE.tar[.gz|.zst]      one layer tar (gzip, zstd or plain):\n"
	      "                          a one-layer image\n\n"
	      "  --tag REF             name it REF in the store (default: the\n"
	      "                        source's REF, else its ref name, else the\n"
	      "                        file name without .tar..., else 'latest')\n"
	      "  --max-layer-size N    refuse a layer whose tar exceeds N bytes\n"
	      "                        (suffixes k, M, G; default 64G)\n"
	      "  --max-entries N       refuse a layer of more than N entries\n"
	      "                        (default 10000000)\n"
	      "  --json                print the result as JSON\n"
	      "  -q, --quiet           no progress display on a terminal\n",
	      f);
}

int lc_cmd_load(const struct lc_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tag", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "max-layer-size", required_argument, NULL, 'S' },
		{ "max-entries", required_argument, NULL, 'E' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct ls_load_opts o = { 0 };
	struct ls_image *img;
	struct ls_store *s;
	int c, json = 0, quiet = 0, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+t:jqh", opts, NULL)) != -1) {
		if (c == 't')
			o.tag = optarg;
		else if (c == 'j')
			json = 1;
		else if (c == 'q')
			quiet = 1;
		else if (c == 'S' &&
			 lc_parse_size(optarg, &o.max_layer_size) == 0)
			continue;
		else if (c == 'E' && lc_parse_size(optarg, &o.max_entries) == 0)
			continue;
		else if (c == 'S' || c == 'E')
			return fprintf(stderr,
				       "layerctl load: bad number '%s'\n",
				       optarg),
			       2;
		else
			return usage(c == 'h' ? stdout : stderr),
			       c == 'h' ? 0 : 2;
	}
	if (optind != argc - 1)
		return usage(stderr), 2;
	s = lc_open_store(ctx);
	if (!s)
		return 1;
	if (!quiet)
		lc_progress_start(s);
	r = ls_load(s, argv[optind], &o, &img);
	lc_progress_end();
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
