// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * layerctl's small helpers: size arguments, and the progress line shown
 * on a terminal while the store loads or saves (nothing when stderr is
 * not a terminal, so logs and pipes stay clean).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lc.h"

int lc_parse_size(const char *s, uint64_t *ret)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case '\0':
		break;
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	case 't':
	case 'T':
		shift = 40;
		break;
	default:
		return -EINVAL;
	}
	if (*end && end[1])
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*ret = (uint64_t)v << shift;
	return 0;
}

static int shown;
static struct timespec last;

static void show(void *arg, const struct ls_progress *p)
{
	char done[32], total[32];
	struct timespec now;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &now);
	/* at most ten redraws a second */
	if (shown && (now.tv_sec - last.tv_sec) * 1000000000L +
				     (now.tv_nsec - last.tv_nsec) <
			     100000000L)
		return;
	last = now;
	shown = 1;
	lc_human_size(p->done, done, sizeof(done));
	if (p->total)
		fprintf(stderr, "\r\033[K%s layer %zu/%zu: %s of %s", p->what,
			p->item, p->nitems, done,
			lc_human_size(p->total, total, sizeof(total)));
	else
		fprintf(stderr, "\r\033[K%s layer %zu/%zu: %s", p->what,
			p->item, p->nitems, done);
}

void lc_progress_start(struct ls_store *s)
{
	if (isatty(STDERR_FILENO))
		ls_store_set_progress(s, show, NULL);
}

void lc_progress_end(void)
{
	if (shown)
		fputs("\r\033[K", stderr);
	shown = 0;
}
