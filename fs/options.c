// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Escapes: the item splitter only finds item boundaries (',' outside
 * double quotes, a backslash protects the next character); values are
 * decoded afterwards so that lowerdir keeps "\\" and "\:" for its own
 * splitter. A backslash before any other character is kept literally, so
 * odd paths survive.
 *
 * Items made only of digits and ':' right after uidmapping=/gidmapping= are
 * more triples of that mapping: the fuse-overlayfs manual documents
 * "uidmapping=0:1000:1,1:100000:65536".
 *
 * Every message quotes at most SUBJ_MAX bytes of what the user gave, with
 * control characters replaced, so a hostile option string cannot forge log
 * lines or produce megabyte messages.
 */
#include "options.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"

#define SUBJ_MAX 256
#define SUBJ(s, n) (int)((n) < SUBJ_MAX ? (n) : SUBJ_MAX), (s)
#define MAX_WARNINGS 64
#define MAX_THREADS 1024

struct parser {
	struct lfs_opts *o;
	char **err;
	size_t lower_cap, warn_cap, uid_cap, gid_cap;
	size_t nsuppressed; /* warnings beyond MAX_WARNINGS */
	bool squash_root;   /* applied last: squash_to_uid/gid win */
	char cont;	    /* 'u'/'g': bare triples continue that map */
	const char *pos[2]; /* positionals, borrowed from argv */
	int npos;
};

static int errf(char **ret_err, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int errf(char **ret_err, int r, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (!ret_err)
		return r;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0) {
		msg = NULL;
		r = -ENOMEM;
	}
	va_end(ap);
	for (char *c = msg; c && *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	*ret_err = msg;
	return r;
}

static int oom(char **ret_err)
{
	return errf(ret_err, -ENOMEM, "out of memory");
}

/* Make room for need elements; arr itself on success, NULL on overflow or
 * allocation failure (arr is then untouched). */
static void *grow(void *arr, size_t *cap, size_t need, size_t size)
{
	size_t ncap = *cap ? *cap : 8;
	void *a;

	if (need <= *cap)
		return arr;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return NULL;
		ncap *= 2;
	}
	if (ncap > SIZE_MAX / size)
		return NULL;
	a = realloc(arr, ncap * size);
	if (a)
		*cap = ncap;
	return a;
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Decimal digits only: no sign, no blanks, no base prefix. */
static int parse_u32(const char *s, size_t len, uint32_t *ret)
{
	uint64_t v = 0;

	if (len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > UINT32_MAX)
			return -ERANGE;
	}
	*ret = (uint32_t)v;
	return 0;
}

/* ---- lowerdir ---- */

static size_t lower_item_len(const char *s)
{
	size_t i = 0;

	for (; s[i] && s[i] != ':'; i++)
		if (s[i] == '\\' && s[i + 1])
			i++;
	return i;
}

static char *lower_unescape(const char *s, size_t len)
{
	char *out = malloc(len + 1), *q = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len &&
		    (s[i + 1] == ':' || s[i + 1] == '\\'))
			i++;
		*q++ = s[i];
	}
	*q = '\0';
	return out;
}

static int split_lowerdir(const char *v, char ***ret, size_t *ret_n,
			  const char **why)
{
	char **dirs;
	size_t n = 1;

	for (const char *c = v; *c; c++) {
		if (*c == '\\' && c[1])
			c++;
		else if (*c == ':')
			n++;
	}
	dirs = calloc(n, sizeof(*dirs));
	if (!dirs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		size_t len = lower_item_len(v);

		if (len == 0) {
			free_strv(dirs, i);
			*why = "empty layer path";
			return -EINVAL;
		}
		dirs[i] = lower_unescape(v, len);
		if (!dirs[i]) {
			free_strv(dirs, i);
			return -ENOMEM;
		}
		v += len + (v[len] ? 1 : 0);
	}
	*ret = dirs;
	*ret_n = n;
	return 0;
}

int lfs_opts_split_lowerdir(const char *value, char ***ret_dirs, size_t *ret_n,
			    char **ret_err)
{
	const char *why = NULL;
	int r = split_lowerdir(value, ret_dirs, ret_n, &why);

	if (r == -ENOMEM)
		return oom(ret_err);
	if (r < 0)
		return errf(ret_err, r, "invalid lowerdir '%.*s': %s",
			    SUBJ(value, strlen(value)), why);
	return 0;
}

/* ---- uidmapping / gidmapping ---- */

static int idmap_check(const struct lfs_idmap *m, size_t n, const char **why)
{
	for (size_t i = 0; i < n; i++) {
		if (m[i].count == 0) {
			*why = "count must be positive";
			return -EINVAL;
		}
		/* as the kernel's uid_map: (uid_t)-1 is never mapped */
		if ((uint64_t)m[i].ctr + m[i].count > UINT32_MAX ||
		    (uint64_t)m[i].host + m[i].count > UINT32_MAX) {
			*why = "range reaches id 4294967295";
			return -EINVAL;
		}
	}
	return 0;
}

static int parse_idmap(const char *v, struct lfs_idmap **ret, size_t *ret_n,
		       const char **why)
{
	_cleanup_free_ struct lfs_idmap *m = NULL;
	size_t nfields = 1;

	*why = "expected CONTAINER:HOST:COUNT triples";
	for (const char *c = v; *c; c++)
		nfields += (*c == ':' || *c == ',');
	if (nfields % 3)
		return -EINVAL;
	m = calloc(nfields / 3, sizeof(*m));
	if (!m)
		return -ENOMEM;
	for (size_t i = 0; i < nfields; i++) {
		struct lfs_idmap *t = &m[i / 3];
		uint32_t *f = i % 3 == 0 ? &t->ctr :
			      i % 3 == 1 ? &t->host :
					   &t->count;
		size_t len = strcspn(v, ":,");
		int r = parse_u32(v, len, f);

		if (r < 0) {
			*why = r == -ERANGE ? "id out of range" :
					      "not a decimal number";
			return -EINVAL;
		}
		if (v[len] == ',' && i % 3 != 2)
			return -EINVAL;
		v += len + (v[len] ? 1 : 0);
	}
	if (idmap_check(m, nfields / 3, why) < 0)
		return -EINVAL;
	*ret = steal_ptr(&m);
	*ret_n = nfields / 3;
	return 0;
}

int lfs_opts_parse_idmap(const char *value, struct lfs_idmap **ret,
			 size_t *ret_n, char **ret_err)
{
	const char *why = NULL;
	int r = parse_idmap(value, ret, ret_n, &why);

	if (r == -ENOMEM)
		return oom(ret_err);
	if (r < 0)
		return errf(ret_err, r, "invalid id mapping '%.*s': %s",
			    SUBJ(value, strlen(value)), why);
	return 0;
}

/* Replace the mapping, or append to it for a continuation item. */
static int store_idmap(struct parser *p, bool gid, bool append, const char *v)
{
	struct lfs_idmap **arr = gid ? &p->o->gidmap : &p->o->uidmap;
	size_t *n = gid ? &p->o->ngidmap : &p->o->nuidmap;
	size_t *cap = gid ? &p->gid_cap : &p->uid_cap;
	_cleanup_free_ struct lfs_idmap *m = NULL;
	const char *why = NULL;
	size_t mn;
	void *a;
	int r = parse_idmap(v, &m, &mn, &why);

	if (r == -ENOMEM)
		return oom(p->err);
	if (r < 0)
		return errf(p->err, r,
			    "invalid value '%.*s' for option '%s': %s",
			    SUBJ(v, strlen(v)),
			    gid ? "gidmapping" : "uidmapping", why);
	p->cont = gid ? 'g' : 'u';
	if (!append) {
		free(*arr);
		*arr = steal_ptr(&m);
		*n = *cap = mn;
		return 0;
	}
	a = grow(*arr, cap, *n + mn, sizeof(**arr));
	if (!a)
		return oom(p->err);
	*arr = a;
	memcpy(*arr + *n, m, mn * sizeof(*m));
	*n += mn;
	return 0;
}

/* ---- one option ---- */

enum opt_kind {
	OPT_SET,   /* no value: *(bool *)field = val */
	OPT_BOOL,  /* 0|1 into *(bool *)field */
	OPT_FLAG,  /* no value, handler */
	OPT_VALUE, /* value required, handler */
	OPT_LOWER, /* like OPT_VALUE, "\\" and "\:" kept for the splitter */
};

struct opt_def {
	const char *name;
	enum opt_kind kind;
	size_t off; /* the field for OPT_SET, OPT_BOOL and set_string */
	bool val;   /* OPT_SET: the value; handlers: gid vs uid, or (for
		     * set_string) reject control characters */
	int (*fn)(struct parser *p, const struct opt_def *d, char **v);
};

static int bad_value(struct parser *p, const struct opt_def *d, const char *v)
{
	return errf(p->err, -EINVAL, "invalid value '%.*s' for option '%s'",
		    SUBJ(v, strlen(v)), d->name);
}

static int set_lowerdir(struct parser *p, const struct opt_def *d, char **v)
{
	char **dirs;
	size_t n;
	const char *why = NULL;
	int r = split_lowerdir(*v, &dirs, &n, &why);

	if (r == -ENOMEM)
		return oom(p->err);
	if (r < 0)
		return errf(p->err, r,
			    "invalid value '%.*s' for option '%s': %s",
			    SUBJ(*v, strlen(*v)), d->name, why);
	free_strv(p->o->lowerdirs, p->o->nlower);
	p->o->lowerdirs = dirs;
	p->o->nlower = p->lower_cap = n;
	return 0;
}

/* New mount API form: one layer per item, appended below the others. */
static int add_lowerdir(struct parser *p, const struct opt_def *d, char **v)
{
	struct lfs_opts *o = p->o;
	char **a;

	if (!**v)
		return bad_value(p, d, *v);
	a = grow(o->lowerdirs, &p->lower_cap, o->nlower + 1, sizeof(*a));
	if (!a)
		return oom(p->err);
	o->lowerdirs = a;
	o->lowerdirs[o->nlower++] = steal_ptr(v);
	return 0;
}

static int set_string(struct parser *p, const struct opt_def *d, char **v)
{
	char **field = (char **)(void *)((char *)p->o + d->off);

	if (!**v)
		return bad_value(p, d, *v);
	for (const char *c = *v; d->val && *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return bad_value(p, d, *v);
	free(*field);
	*field = steal_ptr(v);
	return 0;
}

static int set_whiteout(struct parser *p, const struct opt_def *d, char **v)
{
	if (strcmp(*v, "oci") == 0)
		p->o->whiteout = LFS_WH_WRITE_OCI;
	else if (strcmp(*v, "chardev") == 0)
		p->o->whiteout = LFS_WH_WRITE_CHARDEV;
	else
		return bad_value(p, d, *v);
	return 0;
}

static int set_idmap(struct parser *p, const struct opt_def *d, char **v)
{
	return store_idmap(p, d->val, false, *v);
}

static int set_squash(struct parser *p, const struct opt_def *d, char **v)
{
	uint32_t id;

	/* (uid_t)-1 means "unchanged" to chown(2): never a real owner */
	if (parse_u32(*v, strlen(*v), &id) < 0 || id == UINT32_MAX)
		return bad_value(p, d, *v);
	if (d->val)
		p->o->squash_gid = id;
	else
		p->o->squash_uid = id;
	return 0;
}

static int set_squash_root(struct parser *p, const struct opt_def *d, char **v)
{
	p->squash_root = true;
	return 0;
}

static int set_debug(struct parser *p, const struct opt_def *d, char **v)
{
	p->o->debug = p->o->foreground = true;
	return 0;
}

static int set_xattr_perms(struct parser *p, const struct opt_def *d, char **v)
{
	if (strcmp(*v, "0") && strcmp(*v, "1") && strcmp(*v, "2"))
		return bad_value(p, d, *v);
	p->o->xattr_permissions = **v - '0';
	return 0;
}

/* Plain decimal seconds ("1", "0.5"): no sign, exponent, inf or nan. */
static int set_timeout(struct parser *p, const struct opt_def *d, char **v)
{
	size_t digits = strspn(*v, "0123456789");
	const char *rest = *v + digits;

	if (*rest == '.') {
		size_t frac = strspn(rest + 1, "0123456789");

		digits += frac;
		rest += 1 + frac;
	}
	if (digits == 0 || *rest)
		return bad_value(p, d, *v);
	p->o->timeout = strtod(*v, NULL);
	return 0;
}

static int set_threads(struct parser *p, const struct opt_def *d, char **v)
{
	uint32_t n;

	if (parse_u32(*v, strlen(*v), &n) < 0 || n > MAX_THREADS)
		return bad_value(p, d, *v);
	p->o->threads = n;
	return 0;
}

#define F(field) offsetof(struct lfs_opts, field)

static const struct opt_def known_opts[] = {
	{ "lowerdir", OPT_LOWER, 0, false, set_lowerdir },
	{ "lowerdir+", OPT_VALUE, 0, false, add_lowerdir },
	{ "upperdir", OPT_VALUE, F(upperdir), false, set_string },
	{ "workdir", OPT_VALUE, F(workdir), false, set_string },
	{ "context", OPT_VALUE, F(context), true, set_string },
	{ "whiteout", OPT_VALUE, 0, false, set_whiteout },
	{ "uidmapping", OPT_VALUE, 0, false, set_idmap },
	{ "gidmapping", OPT_VALUE, 0, true, set_idmap },
	{ "squash_to_uid", OPT_VALUE, 0, false, set_squash },
	{ "squash_to_gid", OPT_VALUE, 0, true, set_squash },
	{ "squash_to_root", OPT_FLAG, 0, false, set_squash_root },
	{ "xattr_permissions", OPT_VALUE, 0, false, set_xattr_perms },
	{ "timeout", OPT_VALUE, 0, false, set_timeout },
	{ "threads", OPT_VALUE, 0, false, set_threads },
	{ "debug", OPT_FLAG, 0, false, set_debug },
	{ "fsync", OPT_BOOL, F(fsync), false, NULL },
	{ "writeback", OPT_BOOL, F(writeback), false, NULL },
	{ "volatile", OPT_SET, F(volatile_mode), true, NULL },
	{ "ro", OPT_SET, F(ro), true, NULL },
	{ "rw", OPT_SET, F(ro), false, NULL },
	{ "allow_other", OPT_SET, F(allow_other), true, NULL },
	{ "allow_root", OPT_SET, F(allow_root), true, NULL },
	{ "default_permissions", OPT_SET, F(default_permissions), true, NULL },
	{ "dev", OPT_SET, F(nodev), false, NULL },
	{ "nodev", OPT_SET, F(nodev), true, NULL },
	{ "suid", OPT_SET, F(nosuid), false, NULL },
	{ "nosuid", OPT_SET, F(nosuid), true, NULL },
	{ "exec", OPT_SET, F(noexec), false, NULL },
	{ "noexec", OPT_SET, F(noexec), true, NULL },
	{ "atime", OPT_SET, F(noatime), false, NULL },
	{ "noatime", OPT_SET, F(noatime), true, NULL },
};

/* Accepted with a warning, with or without a value. A trailing '*' matches
 * any key with that prefix. */
/* clang-format off */
static const char *const ignored_opts[] = {
	/* kernel overlayfs */
	"redirect_dir", "index", "metacopy", "xino", "nfs_export", "userxattr",
	"uuid", "verity", "datadir+",
	/* fuse-overlayfs */
	"plugins", "fast_ino", "static_nlink", "noxattrs", "threaded", "noacl",
	"max_idle_threads", "max_threads", "clone_fd",
	/* libfuse */
	"auto_unmount", "blkdev", "blksize", "fsname", "subtype", "max_read",
	"max_write", "max_readahead", "max_background",
	"congestion_threshold", "rootmode", "user_id", "group_id", "fd",
	"kernel_cache", "auto_cache", "noauto_cache", "nonempty",
	"sync_read", "async_read", "no_remote_lock", "no_remote_flock",
	"no_remote_posix_lock", "splice_read", "splice_write", "splice_move",
	"no_splice_read", "no_splice_write", "no_splice_move",
	"writeback_cache", "no_writeback_cache", "atomic_o_trunc",
	"big_writes", "large_read", "direct_io", "use_ino", "readdir_ino",
	"hard_remove", "intr", "umask", "uid", "gid", "entry_timeout",
	"negative_timeout", "attr_timeout", "ac_attr_timeout", "remember",
	"noforget",
	/* mount(8), mount.fuse3 and SELinux */
	"defaults", "auto", "noauto", "user", "nouser", "users", "owner",
	"group", "_netdev", "nofail", "relatime", "norelatime", "strictatime",
	"nostrictatime", "diratime", "nodiratime", "lazytime", "nolazytime",
	"sync", "async", "dirsync", "mand", "nomand", "iversion",
	"noiversion", "nosymfollow", "silent", "loud", "comment", "x-*",
	"setuid", "drop_privileges", "nodrop_privileges", "fscontext",
	"defcontext", "rootcontext", "seclabel",
};
/* clang-format on */

static bool key_is(const char *key, size_t klen, const char *name)
{
	size_t n = strlen(name);

	if (n && name[n - 1] == '*')
		return klen >= n - 1 && memcmp(key, name, n - 1) == 0;
	return klen == n && memcmp(key, name, n) == 0;
}

static const struct opt_def *find_known(const char *key, size_t klen)
{
	for (size_t i = 0; i < ARRAY_SIZE(known_opts); i++)
		if (key_is(key, klen, known_opts[i].name))
			return &known_opts[i];
	return NULL;
}

static bool is_ignored(const char *key, size_t klen)
{
	for (size_t i = 0; i < ARRAY_SIZE(ignored_opts); i++)
		if (key_is(key, klen, ignored_opts[i]))
			return true;
	return false;
}

static char **warning_slot(struct parser *p)
{
	struct lfs_opts *o = p->o;
	char **a = grow(o->warnings, &p->warn_cap, o->nwarnings + 1,
			sizeof(*a));

	if (!a)
		return NULL;
	o->warnings = a;
	return &o->warnings[o->nwarnings];
}

static int add_warning(struct parser *p, const char *item, size_t len)
{
	char **slot;

	if (p->o->nwarnings >= MAX_WARNINGS) {
		p->nsuppressed++;
		return 0;
	}
	slot = warning_slot(p);
	if (!slot ||
	    errf(slot, 0, "ignoring option '%.*s'", SUBJ(item, len)) < 0)
		return oom(p->err);
	p->o->nwarnings++;
	return 0;
}

static int add_summary_warning(struct parser *p)
{
	char **slot = warning_slot(p);

	if (!slot ||
	    errf(slot, 0, "ignoring %zu more options", p->nsuppressed) < 0)
		return oom(p->err);
	p->o->nwarnings++;
	return 0;
}

/* Drop unescaped quotes; resolve "\,", "\"" and (but for lowerdir) "\\". */
static char *decode_value(const char *raw, size_t len, bool lower)
{
	char *out = malloc(len + 1), *q = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		char c = raw[i], n = i + 1 < len ? raw[i + 1] : '\0';

		if (c == '"')
			continue;
		if (c == '\\' &&
		    (n == ',' || n == '"' || (n == '\\' && !lower))) {
			*q++ = n;
			i++;
			continue;
		}
		if (c == '\\' && n == '\\') {
			*q++ = c;
			i++;
		}
		*q++ = c;
	}
	*q = '\0';
	return out;
}

static int apply_opt(struct parser *p, const struct opt_def *d, const char *raw,
		     size_t len, bool has_value)
{
	_cleanup_free_ char *v = NULL;
	bool needs_value = d->kind == OPT_BOOL || d->kind == OPT_VALUE ||
			   d->kind == OPT_LOWER;
	bool *field = (bool *)((char *)p->o + d->off);

	if (has_value) {
		v = decode_value(raw, len, d->kind == OPT_LOWER);
		if (!v)
			return oom(p->err);
	}
	if (needs_value && !has_value)
		return errf(p->err, -EINVAL, "option '%s' requires a value",
			    d->name);
	if (!needs_value && has_value)
		return bad_value(p, d, v);
	if (d->kind == OPT_SET) {
		*field = d->val;
		return 0;
	}
	if (d->kind != OPT_BOOL)
		return d->fn(p, d, &v);
	if (strcmp(v, "0") && strcmp(v, "1"))
		return bad_value(p, d, v);
	*field = v[0] == '1';
	return 0;
}

static bool is_triple_item(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((s[i] < '0' || s[i] > '9') && s[i] != ':')
			return false;
	return len > 0;
}

static int parse_item(struct parser *p, const char *item, size_t len)
{
	const char *eq = memchr(item, '=', len);
	size_t klen = eq ? (size_t)(eq - item) : len;
	const struct opt_def *d;

	if (len == 0)
		return 0;
	if (p->cont && is_triple_item(item, len)) {
		_cleanup_free_ char *v = strndup(item, len);

		if (!v)
			return oom(p->err);
		return store_idmap(p, p->cont == 'g', true, v);
	}
	p->cont = 0;
	d = find_known(item, klen);
	if (d)
		return apply_opt(p, d, eq ? eq + 1 : NULL,
				 eq ? len - klen - 1 : 0, eq != NULL);
	if (is_ignored(item, klen))
		return add_warning(p, item, len);
	return errf(p->err, -EINVAL, "unknown mount option '%.*s'",
		    SUBJ(item, klen));
}

/* Up to the first ',' outside quotes and not escaped. */
static size_t item_len(const char *s, bool *ret_open_quote)
{
	bool quoted = false;
	size_t i = 0;

	for (; s[i]; i++) {
		if (s[i] == '\\' && s[i + 1])
			i++;
		else if (s[i] == '"')
			quoted = !quoted;
		else if (s[i] == ',' && !quoted)
			break;
	}
	*ret_open_quote = quoted;
	return i;
}

static int parse_optstring(struct parser *p, const char *s)
{
	while (*s) {
		bool open_quote;
		size_t len = item_len(s, &open_quote);
		int r;

		if (open_quote)
			return errf(p->err, -EINVAL,
				    "unterminated quote in option '%.*s'",
				    SUBJ(s, strcspn(s, "=")));
		r = parse_item(p, s, len);
		if (r < 0)
			return r;
		s += len + (s[len] ? 1 : 0);
	}
	return 0;
}

/* ---- argv ---- */

static int add_positional(struct parser *p, const char *a)
{
	if (p->npos == 2)
		return errf(p->err, -EINVAL, "unexpected argument '%.*s'",
			    SUBJ(a, strlen(a)));
	p->pos[p->npos++] = a;
	return 0;
}

/* One argument starting with '-'; returns how many argv items it used. */
static int parse_dash_arg(struct parser *p, int argc, char **argv, int i)
{
	const char *a = argv[i];
	struct lfs_opts *o = p->o;
	int r;

	if (strcmp(a, "-o") == 0) {
		if (i + 1 >= argc)
			return errf(p->err, -EINVAL,
				    "option '-o' requires an argument");
		r = parse_optstring(p, argv[i + 1]);
		return r < 0 ? r : 2;
	}
	if (strncmp(a, "-o", 2) == 0) {
		r = parse_optstring(p, a + 2);
		return r < 0 ? r : 1;
	}
	if (strcmp(a, "-f") == 0)
		o->foreground = true;
	else if (strcmp(a, "-d") == 0 || strcmp(a, "--debug") == 0)
		o->debug = o->foreground = true;
	else if (strcmp(a, "-s") == 0)
		o->single_thread = true;
	else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0)
		o->show_version = true;
	else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
		o->show_help = true;
	else
		return errf(p->err, -EINVAL, "unknown argument '%.*s'",
			    SUBJ(a, strlen(a)));
	return 1;
}

static int parse_argv(struct parser *p, int argc, char **argv)
{
	bool only_positionals = false;

	for (int i = 1; i < argc;) {
		const char *a = argv[i];
		int r;

		if (!only_positionals && strcmp(a, "--") == 0) {
			only_positionals = true;
			r = 1;
		} else if (only_positionals || a[0] != '-') {
			r = add_positional(p, a);
			r = r < 0 ? r : 1;
		} else {
			r = parse_dash_arg(p, argc, argv, i);
		}
		if (r < 0)
			return r;
		i += r;
	}
	return 0;
}

static int take_positionals(struct parser *p)
{
	struct lfs_opts *o = p->o;

	if (p->npos == 0)
		return 0;
	if (p->npos == 2) {
		o->source = strdup(p->pos[0]);
		if (!o->source)
			return oom(p->err);
	}
	o->mountpoint = strdup(p->pos[p->npos - 1]);
	return o->mountpoint ? 0 : oom(p->err);
}

static int finish(struct parser *p)
{
	struct lfs_opts *o = p->o;

	if (p->squash_root && o->squash_uid < 0)
		o->squash_uid = 0;
	if (p->squash_root && o->squash_gid < 0)
		o->squash_gid = 0;
	if (o->volatile_mode)
		o->fsync = false;
	if (!o->upperdir)
		o->ro = true;
	if (p->nsuppressed && add_summary_warning(p) < 0)
		return -ENOMEM;
	if (o->show_version || o->show_help)
		return 0;
	if (!o->mountpoint)
		return errf(p->err, -EINVAL, "missing mountpoint");
	if (!*o->mountpoint)
		return errf(p->err, -EINVAL, "invalid mountpoint ''");
	if (o->nlower == 0)
		return errf(p->err, -EINVAL, "missing option 'lowerdir'");
	if (o->upperdir && !o->workdir)
		return errf(p->err, -EINVAL,
			    "option 'upperdir' requires 'workdir'");
	if (o->workdir && !o->upperdir)
		return errf(p->err, -EINVAL,
			    "option 'workdir' requires 'upperdir'");
	return 0;
}

int lfs_opts_parse(int argc, char **argv, struct lfs_opts *ret, char **ret_err)
{
	struct parser p = { .o = ret, .err = ret_err };
	int r;

	memset(ret, 0, sizeof(*ret));
	if (ret_err)
		*ret_err = NULL;
	ret->whiteout = LFS_WH_WRITE_OCI;
	ret->fsync = true;
	ret->squash_uid = ret->squash_gid = -1;
	ret->timeout = -1;

	r = parse_argv(&p, argc, argv);
	if (r >= 0)
		r = take_positionals(&p);
	if (r >= 0)
		r = finish(&p);
	if (r < 0)
		lfs_opts_free(ret);
	return r < 0 ? r : 0;
}

void lfs_opts_free(struct lfs_opts *o)
{
	if (!o)
		return;
	free_strv(o->lowerdirs, o->nlower);
	free(o->upperdir);
	free(o->workdir);
	free(o->mountpoint);
	free(o->source);
	free(o->uidmap);
	free(o->gidmap);
	free(o->context);
	free_strv(o->warnings, o->nwarnings);
	memset(o, 0, sizeof(*o));
}

const char *lfs_opts_usage(void)
{
	return "usage: layerfs [-f] [-d] [-s] -o lowerdir=TOP:...:BOTTOM"
	       "[,upperdir=U,workdir=W][,OPTS] MOUNTPOINT\n"
	       "       layerfs SOURCE MOUNTPOINT -o OPTS\n"
	       "       layerfs --version | --help\n"
	       "\n"
	       "  -f                   stay in the foreground\n"
	       "  -d, --debug          debug output (implies -f)\n"
	       "  -s                   single-threaded\n"
	       "  -V, --version        print the version\n"
	       "  -h, --help           print this help\n"
	       "\n"
	       "options (-o, comma-separated; \"\\,\" or \"...\" protect commas):\n"
	       "  lowerdir=DIR:DIR...  read-only layers, leftmost on top;\n"
	       "                       \"\\:\" is a literal colon\n"
	       "  upperdir=DIR         writable layer (without it: read-only)\n"
	       "  workdir=DIR          scratch directory on the upper's file system\n"
	       "  whiteout=oci|chardev write .wh. files (default) or 0/0 devices\n"
	       "  volatile, fsync=0    never fsync\n"
	       "  uidmapping=C:H:N[:C:H:N...], gidmapping=...  id translation\n"
	       "  squash_to_uid=N, squash_to_gid=N, squash_to_root  report one owner\n"
	       "  xattr_permissions=0|1|2  keep owner/mode in an xattr (2: user.*)\n"
	       "  timeout=SECONDS      kernel entry/attribute cache timeout\n"
	       "  threads=N            worker threads\n"
	       "  writeback=0|1        kernel writeback cache\n"
	       "  ro, rw, allow_other (the default as root), allow_root,\n"
	       "  default_permissions, [no]dev,\n"
	       "  [no]suid, [no]exec, [no]atime, context=\"LABEL\"\n"
	       "\n"
	       "Options of the kernel overlayfs, fuse-overlayfs and mount(8) that\n"
	       "layerfs does not need are accepted with a warning.\n";
}
