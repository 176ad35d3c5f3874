// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The config of a committed image: the parent's, kept as it is (keys we
 * do not know travel untouched), with the commit's date and author, the
 * --change instructions applied to its runtime config, its diff_ids and
 * history extended by the new layer. --change takes what docker commit
 * takes: CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE, VOLUME,
 * STOPSIGNAL, in the Dockerfile's forms (JSON array or shell form).
 */
#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "oci.h"
#include "store-private.h"

static int set(struct json_object *o, const char *key, struct json_object *v)
{
	if (!v)
		return -ENOMEM;
	return json_object_object_add(o, key, v) < 0 ? -ENOMEM : 0;
}

/* o[key], made an empty object (or array) first if missing or of
 * another type. */
static struct json_object *member(struct json_object *o, const char *key,
				  json_type type)
{
	struct json_object *v;

	if (json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, type))
		return v;
	v = type == json_type_array ? json_object_new_array() :
				      json_object_new_object();
	return set(o, key, v) == 0 ? v : NULL;
}

/* ["a", "b"] (exec form, JSON) or a shell command line (shell form). */
static struct json_object *command(const char *arg)
{
	struct json_object *a, *v;

	if (*arg == '[') {
		v = json_tokener_parse(arg);
		if (!v || !json_object_is_type(v, json_type_array))
			goto bad;
		for (size_t i = 0; i < json_object_array_length(v); i++)
			if (!json_object_is_type(json_object_array_get_idx(v,
									   i),
						 json_type_string))
				goto bad;
		return v;
bad:
		json_object_put(v);
		return NULL;
	}
	a = json_object_new_array();
	if (!a)
		return NULL;
	json_object_array_add(a, json_object_new_string("/bin/sh"));
	json_object_array_add(a, json_object_new_string("-c"));
	json_object_array_add(a, json_object_new_string(arg));
	return a;
}

/* ENV K=V [K2=V2...] or ENV K V: replace K's entry or append one. */
static int env_set(struct json_object *cfg, const char *arg)
{
	struct json_object *env = member(cfg, "Env", json_type_array);
	_cleanup_free_ char *dup = strdup(arg);
	char *save = NULL, *kv, *sp = dup ? strchr(dup, ' ') : NULL;
	bool one = dup && (!strchr(dup, '=') || (sp && strchr(dup, '=') > sp));

	if (!env || !dup)
		return -ENOMEM;
	if (one) { /* the "ENV K V" form */
		if (!sp)
			return -EINVAL;
		*sp = '=';
	}
	for (kv = one ? dup : strtok_r(dup, " ", &save); kv;
	     kv = one ? NULL : strtok_r(NULL, " ", &save)) {
		size_t klen = strchr(kv, '=') ? (size_t)(strchr(kv, '=') - kv) :
						0;
		size_t i, n = json_object_array_length(env);

		if (klen == 0)
			return -EINVAL;
		for (i = 0; i < n; i++) {
			const char *e = json_object_get_string(
				json_object_array_get_idx(env, i));

			if (e && !strncmp(e, kv, klen + 1))
				break;
		}
		struct json_object *s = json_object_new_string(kv);
		if (!s)
			return -ENOMEM;
		if (i < n)
			json_object_array_put_idx(env, i, s);
		else
			json_object_array_add(env, s);
	}
	return 0;
}

/* LABEL K=V: Labels[K] = V. */
static int label_set(struct json_object *cfg, const char *arg)
{
	struct json_object *l = member(cfg, "Labels", json_type_object);
	const char *eq = strchr(arg, '=');
	_cleanup_free_ char *k = eq ? strndup(arg, eq - arg) : NULL;

	if (!eq || eq == arg)
		return -EINVAL;
	if (!l || !k)
		return -ENOMEM;
	return set(l, k, json_object_new_string(eq + 1));
}

/* EXPOSE 80 [443/tcp ...] and VOLUME /a [/b] or VOLUME ["/a"]: keys of
 * an object whose values are {}. */
static int keys_add(struct json_object *cfg, const char *field, const char *arg,
		    bool ports)
{
	struct json_object *o = member(cfg, field, json_type_object);
	_cleanup_free_ char *dup = strdup(arg);
	char *save = NULL, *w, key[256];

	if (!o || !dup)
		return -ENOMEM;
	if (*arg == '[') {
		struct json_object *a = command(arg);
		int r = a ? 0 : -EINVAL;

		for (size_t i = 0; r == 0 && i < json_object_array_length(a);
		     i++)
			r = set(o,
				json_object_get_string(
					json_object_array_get_idx(a, i)),
				json_object_new_object());
		json_object_put(a);
		return r;
	}
	for (w = strtok_r(dup, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		int r;

		if (ports && !isdigit((unsigned char)*w))
			return -EINVAL;
		snprintf(key, sizeof(key), "%s%s", w,
			 ports && !strchr(w, '/') ? "/tcp" : "");
		if ((r = set(o, key, json_object_new_object())) < 0)
			return r;
	}
	return 0;
}

static int apply_one(struct json_object *cfg, const char *change)
{
	static const char *const kw[] = {
		"CMD",	 "ENTRYPOINT", "ENV",	 "WORKDIR",   "USER",
		"LABEL", "EXPOSE",     "VOLUME", "STOPSIGNAL"
	};
	size_t i, klen = strcspn(change, " \t");
	const char *arg = change + klen;

	while (*arg == ' ' || *arg == '\t')
		arg++;
	for (i = 0; i < ARRAY_SIZE(kw); i++)
		if (strlen(kw[i]) == klen && !strncasecmp(change, kw[i], klen))
			break;
	if (i == ARRAY_SIZE(kw) || !*arg)
		return -EINVAL;
	switch (i) {
	case 0:
	case 1: {
		struct json_object *c = command(arg);

		return c ? set(cfg, i == 0 ? "Cmd" : "Entrypoint", c) : -EINVAL;
	}
	case 2:
		return env_set(cfg, arg);
	case 3:
		if (*arg != '/')
			return -EINVAL;
		return set(cfg, "WorkingDir", json_object_new_string(arg));
	case 4:
		return set(cfg, "User", json_object_new_string(arg));
	case 5:
		return label_set(cfg, arg);
	case 6:
	case 7:
		return keys_add(cfg, i == 6 ? "ExposedPorts" : "Volumes", arg,
				i == 6);
	default:
		return set(cfg, "StopSignal", json_object_new_string(arg));
	}
}

static int apply_changes(struct ls_store *s, struct json_object *cfg,
			 const char *const *changes, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int r = apply_one(cfg, changes[i]);

		if (r == -EINVAL)
			return ls_fail(s, r,
				       "invalid --change '%s' (expected CMD, "
				       "ENTRYPOINT, ENV K=V, WORKDIR /DIR, "
				       "USER, LABEL K=V, EXPOSE, VOLUME or "
				       "STOPSIGNAL with a value)",
				       changes[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

int ls_commit_check_changes(struct ls_store *s, const char *const *changes,
			    size_t n)
{
	struct json_object *cfg = json_object_new_object();
	int r = cfg ? apply_changes(s, cfg, changes, n) : -ENOMEM;

	json_object_put(cfg);
	return r;
}

int ls_config_commit(struct ls_store *s, const char *parent, size_t len,
		     const struct ls_commit_opts *o, const char *created,
		     const char *diff_id, char **ret, size_t *ret_len)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *c = tok ? json_tokener_parse_ex(tok, parent, len) :
				      NULL;
	struct json_object *x, *h = NULL;
	const char *str;
	int r = c && json_object_is_type(c, json_type_object) ? 0 : -EBADMSG;

	json_tokener_free(tok);
	if (r < 0) {
		json_object_put(c);
		return ls_fail(s, r, "the image's config is not a JSON object");
	}
	r = set(c, "created", json_object_new_string(created));
	if (r == 0 && o->author)
		r = set(c, "author", json_object_new_string(o->author));
	if (r == 0)
		r = (x = member(c, "config", json_type_object)) ?
			    apply_changes(s, x, o->changes, o->nchanges) :
			    -ENOMEM;
	if (r == 0)
		r = (x = member(c, "rootfs", json_type_object)) ? 0 : -ENOMEM;
	if (r == 0)
		r = set(x, "type", json_object_new_string("layers"));
	if (r == 0)
		r = (x = member(x, "diff_ids", json_type_array)) ?
			    json_object_array_add(x, json_object_new_string(
							     diff_id)) :
			    -ENOMEM;
	if (r == 0)
		r = (x = member(c, "history", json_type_array)) &&
				    (h = json_object_new_object()) &&
				    json_object_array_add(x, h) == 0 ?
			    0 :
			    -ENOMEM;
	if (r == 0)
		r = set(h, "created", json_object_new_string(created));
	if (r == 0)
		r = set(h, "created_by",
			json_object_new_string("layerctl commit"));
	if (r == 0 && o->author)
		r = set(h, "author", json_object_new_string(o->author));
	if (r == 0 && o->message)
		r = set(h, "comment", json_object_new_string(o->message));
	if (r == 0) {
		str = json_object_to_json_string_ext(
			c, JSON_C_TO_STRING_PLAIN |
				   JSON_C_TO_STRING_NOSLASHESCAPE);
		*ret = str ? strdup(str) : NULL;
		r = *ret ? 0 : -ENOMEM;
		if (r == 0)
			*ret_len = strlen(*ret);
	}
	json_object_put(c);
	return r;
}
