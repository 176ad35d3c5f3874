// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz harness: the layerfs command line (fs/options.c).
 *
 * Input: without NUL bytes, an option string, parsed as
 * `layerfs -o INPUT /mnt`; with NUL bytes, the argv after "layerfs", one
 * item per NUL-separated piece. Checked besides "no crash":
 *
 *  - success: at least one lower dir, none empty; a mountpoint; upperdir
 *    and workdir together; ro without upperdir; id maps with positive
 *    counts that stay below 2^32; squash ids never (uid_t)-1; at most
 *    MAX_WARNINGS + 1 warnings, each short and printable;
 *  - failure: a message, printable and bounded, and a zeroed struct;
 *  - each lower dir, escaped again ("\\" and "\:") and joined with ':',
 *    splits back into the same list (lfs_opts_split_lowerdir).
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "options.h"

#define MAX_ARGS 64
#define MSG_MAX 1024 /* messages quote at most 256 bytes of input */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

static void check_message(const char *m)
{
	FUZZ_CHECK(m != NULL);
	FUZZ_CHECK(strlen(m) < MSG_MAX);
	for (const char *c = m; *c; c++)
		FUZZ_CHECK((unsigned char)*c >= 0x20 && *c != 0x7f);
}

static char *escape_lower(const char *s)
{
	char *out = malloc(2 * strlen(s) + 1), *q = out;

	if (!out)
		return NULL;
	for (; *s; s++) {
		if (*s == '\\' || *s == ':')
			*q++ = '\\';
		*q++ = *s;
	}
	*q = '\0';
	return out;
}

static void check_lower_roundtrip(char **dirs, size_t n)
{
	size_t len = 1, m = 0;
	char *joined, **back = NULL, *err = NULL;

	for (size_t i = 0; i < n; i++)
		len += 2 * strlen(dirs[i]) + 1;
	joined = calloc(1, len);
	if (!joined)
		return;
	for (size_t i = 0; i < n; i++) {
		char *e = escape_lower(dirs[i]);

		if (!e) {
			free(joined);
			return;
		}
		if (i)
			strcat(joined, ":");
		strcat(joined, e);
		free(e);
	}
	FUZZ_CHECK(lfs_opts_split_lowerdir(joined, &back, &m, &err) == 0);
	FUZZ_CHECK(m == n);
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(!strcmp(back[i], dirs[i]));
		free(back[i]);
	}
	free(back);
	free(joined);
}

static void check_idmap(const struct lfs_idmap *m, size_t n)
{
	FUZZ_CHECK(!n == !m);
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(m[i].count > 0);
		FUZZ_CHECK((uint64_t)m[i].ctr + m[i].count <= UINT32_MAX);
		FUZZ_CHECK((uint64_t)m[i].host + m[i].count <= UINT32_MAX);
	}
}

static void check_ok(const struct lfs_opts *o)
{
	if (o->show_version || o->show_help)
		return;
	FUZZ_CHECK(o->nlower >= 1 && o->lowerdirs);
	for (size_t i = 0; i < o->nlower; i++)
		FUZZ_CHECK(o->lowerdirs[i] && *o->lowerdirs[i]);
	FUZZ_CHECK(o->mountpoint && *o->mountpoint);
	FUZZ_CHECK(!o->upperdir == !o->workdir);
	FUZZ_CHECK(o->upperdir || o->ro);
	FUZZ_CHECK(!o->volatile_mode || !o->fsync);
	FUZZ_CHECK(o->xattr_permissions >= 0 && o->xattr_permissions <= 2);
	FUZZ_CHECK(o->squash_uid >= -1 && o->squash_uid < UINT32_MAX);
	FUZZ_CHECK(o->squash_gid >= -1 && o->squash_gid < UINT32_MAX);
	FUZZ_CHECK(o->timeout == -1 || o->timeout >= 0);
	check_idmap(o->uidmap, o->nuidmap);
	check_idmap(o->gidmap, o->ngidmap);
	FUZZ_CHECK(o->nwarnings <= 65);
	for (size_t i = 0; i < o->nwarnings; i++)
		check_message(o->warnings[i]);
	/* a label (any length, as given) but never a control character */
	for (const char *c = o->context; c && *c; c++)
		FUZZ_CHECK((unsigned char)*c >= 0x20 && *c != 0x7f);
	check_lower_roundtrip(o->lowerdirs, o->nlower);
}

static void parse(int argc, char **argv)
{
	struct lfs_opts o, zero;
	char *err = NULL;
	int r = lfs_opts_parse(argc, argv, &o, &err);

	if (r == 0) {
		FUZZ_CHECK(err == NULL);
		check_ok(&o);
		lfs_opts_free(&o);
		return;
	}
	FUZZ_CHECK(r == -EINVAL || r == -ENOMEM);
	check_message(err);
	memset(&zero, 0, sizeof(zero));
	FUZZ_CHECK(!memcmp(&o, &zero, sizeof(o)));
	free(err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *argv[MAX_ARGS + 2];
	int argc = 0;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[argc++] = (char *)"layerfs";
	if (!memchr(data, '\0', size)) {
		argv[argc++] = (char *)"-o";
		argv[argc++] = buf;
		argv[argc++] = (char *)"/mnt";
	} else {
		for (size_t i = 0; i <= size && argc < MAX_ARGS + 1;) {
			argv[argc++] = buf + i;
			i += strlen(buf + i) + 1;
		}
	}
	argv[argc] = NULL;
	parse(argc, argv);
	free(buf);
	return 0;
}
