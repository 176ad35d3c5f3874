// SPDX-License-Identifier: GPL-2.0-or-later
/* layerctl diff and commit: a container's upper layer as changes, as an
 * OCI changeset tar, and as a new image. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lc.h"

static void diff_usage(FILE *f)
{
	fputs("usage: layerctl diff [--json] ID\n"
	      "       layerctl diff --tar ID > changes.tar\n\n"
	      "What the container changed, read from its upper layer (never\n"
	      "its init layer): one line per path, like docker diff:\n"
	      "  A /path   added      C /path   changed      D /path   deleted\n"
	      "A mounted container is paused while its upper layer is read.\n\n"
	      "  --tar    write the OCI changeset (an uncompressed layer tar)\n"
	      "           to standard output instead\n"
	      "  --json   a JSON array of {\"kind\", \"path\"}\n",
	      f);
}

static void print_line(void *arg, char kind, const char *path)
{
	(void)arg;
	printf("%c %s\n", kind, path);
}

static void add_json(void *arg, char kind, const char *path)
{
	json_object *o = json_object_new_object();
	char k[2] = { kind, '\0' };

	json_object_object_add(o, "kind", json_object_new_string(k));
	json_object_object_add(o, "path", json_object_new_string(path));
	json_object_array_add(arg, o);
}

int lc_cmd_diff(const struct lc_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tar", no_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	json_object *a = NULL;
	struct ls_store *s;
	int c, tar = 0, json = 0, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (c == 't')
			tar = 1;
		else if (c == 'j')
			json = 1;
		else
			return diff_usage(c == 'h' ? stdout : stderr),
			       c == 'h' ? 0 : 2;
	}
	if (optind != argc - 1 || (tar && json))
		return diff_usage(stderr), 2;
	if (tar && isatty(STDOUT_FILENO)) {
		fputs("layerctl diff: not writing a tar to a terminal "
		      "(redirect it)\n",
		      stderr);
		return 2;
	}
	s = lc_open_store(ctx);
	if (!s)
		return 1;
	if (tar) {
		fflush(stdout);
		r = ls_container_diff_tar(s, argv[optind], STDOUT_FILENO);
	} else if (json) {
		a = json_object_new_array();
		r = ls_container_diff(s, argv[optind], add_json, a);
	} else {
		r = ls_container_diff(s, argv[optind], print_line, NULL);
	}
	if (r < 0)
		r = lc_fail(s);
	else if (json)
		lc_print_json(a), a = NULL;
	json_object_put(a);
	ls_store_free(s);
	return r;
}

/* ---- commit --------------------------------------------------------------- */

static void commit_usage(FILE *f)
{
	fputs("usage: layerctl commit [OPTIONS] ID REF\n\n"
	      "Store the container's upper layer (never its init layer) as a new\n"
	      "layer on top of its image, and name the new image REF. Works on\n"
	      "a mounted container in use: it is paused while its upper layer\n"
	      "is read, so the layer is one instant of it. The same upper\n"
	      "layer always gives the same layer digest.\n\n"
	      "  --compress zstd|gzip|none  the layer blob (default zstd)\n"
	      "  -m, --message M            history comment\n"
	      "  -a, --author A             author, in the config and history\n"
	      "  -c, --change INSTR         apply a Dockerfile instruction to the\n"
	      "                             config: CMD, ENTRYPOINT (JSON array or\n"
	      "                             shell form), ENV K=V, WORKDIR /DIR,\n"
	      "                             USER U, LABEL K=V, EXPOSE P[/tcp],\n"
	      "                             VOLUME /DIR, STOPSIGNAL S; repeatable\n"
	      "  --timestamp T              seconds since the epoch: no mtime in\n"
	      "                             the layer is later than T, and the\n"
	      "                             config is dated T (default:\n"
	      "                             $SOURCE_DATE_EPOCH, else now and no\n"
	      "                             clamping)\n"
	      "  --json                     print the digests as JSON\n"
	      "  -q, --quiet                no progress display on a terminal\n",
	      f);
}

static int parse_time(const char *s, int64_t *ret)
{
	char *end;
	long long v;

	if (!s || !*s)
		return -1;
	v = strtoll(s, &end, 10);
	if (*end || v < 0)
		return -1;
	*ret = v;
	return 0;
}

static void print_result(const char *ref, const struct ls_commit_result *r,
			 bool json)
{
	json_object *o, *l;

	if (!json) {
		printf("%s\n", r->manifest);
		return;
	}
	o = json_object_new_object();
	l = json_object_new_object();
	json_object_object_add(o, "ref", json_object_new_string(ref));
	json_object_object_add(o, "manifest",
			       json_object_new_string(r->manifest));
	json_object_object_add(o, "config", json_object_new_string(r->config));
	json_object_object_add(l, "digest", json_object_new_string(r->layer));
	json_object_object_add(l, "diff_id",
			       json_object_new_string(r->diff_id));
	json_object_object_add(l, "size", json_object_new_int64(r->layer_size));
	json_object_object_add(l, "tar_size",
			       json_object_new_int64(r->tar_size));
	json_object_object_add(l, "entries", json_object_new_int64(r->entries));
	json_object_object_add(l, "media_type",
			       json_object_new_string(r->media_type));
	json_object_object_add(o, "layer", l);
	lc_print_json(o);
}

struct commit_args {
	struct ls_commit_opts o;
	const char **changes;
	bool json, quiet;
};

/* 0 ok, 1 help shown, 2 usage error. */
static int parse_commit(int argc, char **argv, struct commit_args *a)
{
	static const struct option opts[] = {
		{ "compress", required_argument, NULL, 'z' },
		{ "message", required_argument, NULL, 'm' },
		{ "author", required_argument, NULL, 'a' },
		{ "change", required_argument, NULL, 'c' },
		{ "timestamp", required_argument, NULL, 'T' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	a->o.timestamp = -1;
	if (getenv("SOURCE_DATE_EPOCH") &&
	    parse_time(getenv("SOURCE_DATE_EPOCH"), &a->o.timestamp) < 0)
		return fprintf(stderr,
			       "layerctl commit: bad SOURCE_DATE_EPOCH "
			       "'%s'\n",
			       getenv("SOURCE_DATE_EPOCH")),
		       2;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+m:a:c:qh", opts, NULL)) != -1) {
		if (c == 'z' && !strcmp(optarg, "zstd"))
			a->o.compression = LS_COMPRESS_ZSTD;
		else if (c == 'z' && !strcmp(optarg, "gzip"))
			a->o.compression = LS_COMPRESS_GZIP;
		else if (c == 'z' && !strcmp(optarg, "none"))
			a->o.compression = LS_COMPRESS_NONE;
		else if (c == 'z')
			return fprintf(stderr,
				       "layerctl commit: unknown compression "
				       "'%s' (zstd, gzip or none)\n",
				       optarg),
			       2;
		else if (c == 'm')
			a->o.message = optarg;
		else if (c == 'a')
			a->o.author = optarg;
		else if (c == 'c')
			a->changes[a->o.nchanges++] = optarg;
		else if (c == 'T') {
			if (parse_time(optarg, &a->o.timestamp) < 0)
				return fprintf(stderr,
					       "layerctl commit: bad --timestamp "
					       "'%s' (seconds since the epoch)\n",
					       optarg),
				       2;
		} else if (c == 'j')
			a->json = true;
		else if (c == 'q')
			a->quiet = true;
		else
			return commit_usage(c == 'h' ? stdout : stderr),
			       c == 'h' ? 1 : 2;
	}
	a->o.changes = a->changes;
	if (optind != argc - 2)
		return commit_usage(stderr), 2;
	return 0;
}

int lc_cmd_commit(const struct lc_ctx *ctx, int argc, char **argv)
{
	struct commit_args a = { 0 };
	struct ls_commit_result res;
	struct ls_store *s;
	int r;

	a.changes = calloc(argc, sizeof(*a.changes));
	if (!a.changes)
		return 1;
	r = parse_commit(argc, argv, &a);
	if (r != 0) {
		free(a.changes);
		return r == 1 ? 0 : 2;
	}
	s = lc_open_store(ctx);
	if (!s) {
		free(a.changes);
		return 1;
	}
	if (!a.quiet)
		lc_progress_start(s);
	r = ls_commit(s, argv[optind], argv[optind + 1], &a.o, &res);
	lc_progress_end();
	if (r < 0)
		r = lc_fail(s);
	else
		print_result(argv[optind + 1], &res, a.json);
	free(a.changes);
	ls_store_free(s);
	return r;
}
