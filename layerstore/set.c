// SPDX-License-Identifier: GPL-2.0-or-later
/* Sets of digests by their hex (store-private.h): what gc and fsck mark. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store-private.h"

int ls_set_add(struct ls_set *s, const char *digest)
{
	const char *hex = ls_digest_hex(digest);

	if (!hex)
		return -EINVAL;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		void *v = realloc(s->v, cap * sizeof(*s->v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	memcpy(s->v[s->n++], hex, LS_DIGEST_HEX_LEN + 1);
	s->sorted = false;
	return 0;
}

static int cmp_hex(const void *a, const void *b)
{
	return strcmp(a, b);
}

bool ls_set_has(struct ls_set *s, const char *hex)
{
	if (!s->sorted && s->n)
		qsort(s->v, s->n, sizeof(*s->v), cmp_hex);
	s->sorted = true;
	return s->n && bsearch(hex, s->v, s->n, sizeof(*s->v), cmp_hex);
}

void ls_set_free(struct ls_set *s)
{
	free(s->v);
	*s = (struct ls_set){ 0 };
}
