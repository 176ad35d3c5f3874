// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The node stacks are a cache of open O_PATH fds, bounded so that the
 * daemon never runs out of file descriptors whatever the kernel keeps
 * cached (the hard RLIMIT_NOFILE may be as low as a few thousand and not
 * raisable). A node's stack can always be rebuilt by resolving its name in
 * its parent, as a lookup does; so past a budget of open fds, a clock sweep
 * drops the stacks of nodes not used since its last pass. The root, nodes
 * whose name is gone (unlinked while still open) and nodes held by an
 * operation in progress are never dropped.
 *
 * Locks: fs->lru_lock protects the clock list and fs->pinned_fds. It may
 * be taken with a node's lock held; the sweep only trylocks nodes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cleanup.h"
#include "lfs.h"

void lfs_fdcache_init(struct lfs_fs *fs)
{
	struct rlimit rl;

	pthread_mutex_init(&fs->lru_lock, NULL);
	fs->fd_budget = 4096;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		fs->fd_budget = rl.rlim_cur * 6 / 10; /* the rest: open files */
	if (fs->fd_budget < 64)
		fs->fd_budget = 64;
}

/* lru_lock held. */
static void lru_insert(struct lfs_fs *fs, struct lfs_node *n)
{
	if (!fs->lru_hand) {
		n->lru_next = n->lru_prev = n;
		fs->lru_hand = n;
	} else {
		struct lfs_node *h = fs->lru_hand;

		n->lru_next = h;
		n->lru_prev = h->lru_prev;
		h->lru_prev->lru_next = n;
		h->lru_prev = n;
	}
	n->in_lru = true;
}

/* lru_lock held. */
static void lru_remove(struct lfs_fs *fs, struct lfs_node *n)
{
	if (!n->in_lru)
		return;
	if (n->lru_next == n) {
		fs->lru_hand = NULL;
	} else {
		n->lru_prev->lru_next = n->lru_next;
		n->lru_next->lru_prev = n->lru_prev;
		if (fs->lru_hand == n)
			fs->lru_hand = n->lru_next;
	}
	n->lru_next = n->lru_prev = NULL;
	n->in_lru = false;
}

static bool droppable(struct lfs_fs *fs, struct lfs_node *n)
{
	return n != fs->root && n->parent && n->name;
}

/* n->lock held: account for n's stack becoming s. */
static void account(struct lfs_fs *fs, struct lfs_node *n, struct lfs_stack *s)
{
	pthread_mutex_lock(&fs->lru_lock);
	fs->pinned_fds -= n->nfds;
	n->nfds = s ? s->n : 0;
	fs->pinned_fds += n->nfds;
	if (s && droppable(fs, n)) {
		if (!n->in_lru)
			lru_insert(fs, n);
	} else {
		lru_remove(fs, n);
	}
	pthread_mutex_unlock(&fs->lru_lock);
}

/* n->lock held; takes over the caller's reference on s. */
void lfs_node_set_stack(struct lfs_fs *fs, struct lfs_node *n,
			struct lfs_stack *s)
{
	struct lfs_stack *old = n->stack;

	n->stack = s;
	if (s)
		n->layer = lfs_top_layer(s);
	account(fs, n, s);
	lfs_stack_put(old);
}

/* A stack whose fds are all -1: every syscall on it fails cleanly. */
static struct lfs_stack *dead_stack(struct lfs_node *n)
{
	struct lfs_stack *s = lfs_stack_new(1);

	if (s)
		s->r[0].layer = n->layer;
	return s;
}

/* n->lock held: a new reference on n's stack, rebuilt if it was dropped.
 * Never NULL unless out of memory. */
struct lfs_stack *lfs_stack_locked(struct lfs_fs *fs, struct lfs_node *n)
{
	struct lfs_found f;

	if (!n->stack) {
		if (!n->parent || !n->name ||
		    lfs_resolve(fs, n->parent, n->name, &f) < 0)
			return dead_stack(n);
		if ((f.st.st_mode & S_IFMT) != n->type) {
			lfs_found_clear(&f);
			return dead_stack(n);
		}
		lfs_node_set_stack(fs, n, f.stack);
		f.stack = NULL;
		lfs_found_clear(&f);
	}
	__atomic_store_n(&n->lru_ref, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&n->stack->refs, 1, __ATOMIC_ACQ_REL);
	return n->stack;
}

struct lfs_stack *lfs_stack_get(struct lfs_fs *fs, struct lfs_node *n)
{
	struct lfs_stack *s;

	pthread_mutex_lock(&n->lock);
	s = lfs_stack_locked(fs, n);
	pthread_mutex_unlock(&n->lock);
	lfs_fdcache_trim(fs); /* the stack may have been rebuilt */
	return s;
}

/* Keep n's stack open until lfs_node_unhold: an operation is about to
 * change n's name, or remove it. */
void lfs_node_hold(struct lfs_fs *fs, struct lfs_node *n)
{
	pthread_mutex_lock(&n->lock);
	lfs_stack_put(lfs_stack_locked(fs, n));
	n->hold++;
	pthread_mutex_unlock(&n->lock);
	lfs_fdcache_trim(fs);
}

void lfs_node_unhold(struct lfs_fs *fs, struct lfs_node *n)
{
	pthread_mutex_lock(&n->lock);
	n->hold--;
	pthread_mutex_unlock(&n->lock);
}

/* n is being freed (table_lock held). */
void lfs_fdcache_forget(struct lfs_fs *fs, struct lfs_node *n)
{
	pthread_mutex_lock(&fs->lru_lock);
	fs->pinned_fds -= n->nfds;
	n->nfds = 0;
	lru_remove(fs, n);
	pthread_mutex_unlock(&fs->lru_lock);
}

/* Try to drop one node's stack; lru_lock held. */
static struct lfs_stack *try_drop(struct lfs_fs *fs, struct lfs_node *n)
{
	struct lfs_stack *s = NULL;

	if (pthread_mutex_trylock(&n->lock) != 0)
		return NULL;
	if (!n->hold && n->stack && droppable(fs, n)) {
		s = n->stack;
		n->stack = NULL;
		fs->pinned_fds -= n->nfds;
		n->nfds = 0;
		lru_remove(fs, n);
	}
	pthread_mutex_unlock(&n->lock);
	return s;
}

/* Drop stacks until the open fds are well under the budget. */
void lfs_fdcache_trim(struct lfs_fs *fs)
{
	struct lfs_stack *drop[64];
	size_t low, scanned = 0, limit;
	int nd = 0;

	if (__atomic_load_n(&fs->pinned_fds, __ATOMIC_RELAXED) <= fs->fd_budget)
		return;
	low = fs->fd_budget * 8 / 10;
	/* bounded work per call, so that the sweep stays amortised O(1) */
	limit = 4 * ARRAY_SIZE(drop);
	pthread_mutex_lock(&fs->lru_lock);
	while (fs->lru_hand && fs->pinned_fds > low && scanned++ < limit &&
	       nd < (int)ARRAY_SIZE(drop)) {
		struct lfs_node *n = fs->lru_hand;

		fs->lru_hand = n->lru_next;
		if (__atomic_exchange_n(&n->lru_ref, 0, __ATOMIC_RELAXED))
			continue; /* used since the last pass: a second chance */
		if ((drop[nd] = try_drop(fs, n)))
			nd++;
	}
	pthread_mutex_unlock(&fs->lru_lock);
	while (nd > 0)
		lfs_stack_put(
			drop[--nd]); /* closes the fds, outside the lock */
}
