// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The node table: nodes by (layer, st_dev, st_ino) of their real objects,
 * and node lifetime (kernel lookups plus our own references).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lfs.h"

#define INITIAL_BUCKETS 4096

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static uint64_t key_hash(const struct lfs_key *k)
{
	return mix64((uint64_t)k->ino ^ ((uint64_t)k->dev << 32) ^
		     ((uint64_t)k->layer << 56));
}

static bool key_eq(const struct lfs_key *a, const struct lfs_key *b)
{
	return a->layer == b->layer && a->dev == b->dev && a->ino == b->ino;
}

int lfs_table_init(struct lfs_fs *fs)
{
	pthread_mutex_init(&fs->table_lock, NULL);
	fs->nbuckets = INITIAL_BUCKETS;
	fs->buckets = calloc(fs->nbuckets, sizeof(*fs->buckets));
	fs->next_generation = 1;
	return fs->buckets ? 0 : -ENOMEM;
}

/* Locked: grow when the load factor passes 1. */
static void table_grow(struct lfs_fs *fs)
{
	size_t nb = fs->nbuckets * 2;
	struct lfs_hent **b = calloc(nb, sizeof(*b));

	if (!b)
		return; /* keep the longer chains; still correct */
	for (size_t i = 0; i < fs->nbuckets; i++) {
		struct lfs_hent *e = fs->buckets[i], *next;

		for (; e; e = next) {
			size_t j = key_hash(&e->key) & (nb - 1);

			next = e->next;
			e->next = b[j];
			b[j] = e;
		}
	}
	free(fs->buckets);
	fs->buckets = b;
	fs->nbuckets = nb;
}

/* Locked. */
static struct lfs_hent *table_find(struct lfs_fs *fs, const struct lfs_key *k)
{
	struct lfs_hent *e = fs->buckets[key_hash(k) & (fs->nbuckets - 1)];

	for (; e; e = e->next)
		if (key_eq(&e->key, k))
			return e;
	return NULL;
}

/* Locked. */
static int table_insert(struct lfs_fs *fs, struct lfs_node *n, int slot,
			const struct lfs_key *k)
{
	struct lfs_hent *e = calloc(1, sizeof(*e));
	size_t i;

	if (!e)
		return -ENOMEM;
	e->key = *k;
	e->node = n;
	if (fs->nentries >= fs->nbuckets)
		table_grow(fs);
	i = key_hash(k) & (fs->nbuckets - 1);
	e->next = fs->buckets[i];
	fs->buckets[i] = e;
	fs->nentries++;
	n->hent[slot] = e;
	return 0;
}

/* Locked. */
static void table_remove(struct lfs_fs *fs, struct lfs_hent *e)
{
	struct lfs_hent **pp =
		&fs->buckets[key_hash(&e->key) & (fs->nbuckets - 1)];

	for (; *pp; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			fs->nentries--;
			break;
		}
	}
	free(e);
}

struct lfs_stack *lfs_stack_new(int n)
{
	struct lfs_stack *s = calloc(1, sizeof(*s) + n * sizeof(s->r[0]));

	if (!s)
		return NULL;
	s->refs = 1;
	s->n = n;
	for (int i = 0; i < n; i++)
		s->r[i].fd = -1;
	return s;
}

void lfs_stack_put(struct lfs_stack *s)
{
	if (!s || __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	for (int i = 0; i < s->n; i++)
		if (s->r[i].fd >= 0)
			close(s->r[i].fd);
	free(s);
}

void lfs_found_clear(struct lfs_found *f)
{
	lfs_stack_put(f->stack);
	free(f->opath);
	memset(f, 0, sizeof(*f));
}

static void node_free(struct lfs_fs *fs, struct lfs_node *n)
{
	lfs_fdcache_forget(fs, n);
	lfs_stack_put(n->stack);
	free(n->opath);
	free(n->name);
	pthread_mutex_destroy(&n->lock);
	free(n);
}

struct lfs_node *lfs_node_get(struct lfs_fs *fs, fuse_ino_t ino)
{
	if (ino == FUSE_ROOT_ID)
		return fs->root;
	return (struct lfs_node *)(uintptr_t)ino;
}

void lfs_node_ref(struct lfs_fs *fs, struct lfs_node *n)
{
	pthread_mutex_lock(&fs->table_lock);
	n->refs++;
	pthread_mutex_unlock(&fs->table_lock);
}

/* Drop n if nothing refers to it any more; walks up the parent chain
 * instead of recursing. */
static void node_release_locked(struct lfs_fs *fs, struct lfs_node *n,
				struct lfs_node **ret_parent)
{
	*ret_parent = NULL;
	if (n->nlookup > 0 || n->refs > 0 || n == fs->root)
		return;
	for (int i = 0; i < 2; i++)
		if (n->hent[i])
			table_remove(fs, n->hent[i]);
	*ret_parent = n->parent;
	n->parent = NULL;
	node_free(fs, n);
}

static void node_put_chain(struct lfs_fs *fs, struct lfs_node *n)
{
	struct lfs_node *parent;

	/* locked on entry; each released node drops a ref on its parent */
	for (;;) {
		node_release_locked(fs, n, &parent);
		if (!parent)
			break;
		parent->refs--;
		n = parent;
	}
}

void lfs_node_unref(struct lfs_fs *fs, struct lfs_node *n)
{
	pthread_mutex_lock(&fs->table_lock);
	n->refs--;
	node_put_chain(fs, n);
	pthread_mutex_unlock(&fs->table_lock);
}

void lfs_node_forget(struct lfs_fs *fs, struct lfs_node *n, uint64_t nlookup)
{
	pthread_mutex_lock(&fs->table_lock);
	n->nlookup = nlookup > n->nlookup ? 0 : n->nlookup - nlookup;
	node_put_chain(fs, n);
	pthread_mutex_unlock(&fs->table_lock);
}

/* --- the copied-up inode map (locked by table_lock): linear probing --- */

static size_t inomap_slot(struct lfs_fs *fs, ino_t ino)
{
	return mix64(ino) & (fs->inomap_cap - 1);
}

static void inomap_set_locked(struct lfs_fs *fs, ino_t upper, uint64_t ino)
{
	size_t i;

	if ((fs->inomap_n + 1) * 2 > fs->inomap_cap) {
		struct lfs_inomap *old = fs->inomap;
		size_t oc = fs->inomap_cap;
		size_t nc = oc ? oc * 2 : 1024;
		struct lfs_inomap *nm = calloc(nc, sizeof(*nm));

		if (!nm)
			return; /* the ino shows the upper's: still unique */
		fs->inomap = nm;
		fs->inomap_cap = nc;
		fs->inomap_n = 0;
		for (size_t j = 0; j < oc; j++)
			if (old[j].upper)
				inomap_set_locked(fs, old[j].upper, old[j].ino);
		free(old);
	}
	for (i = inomap_slot(fs, upper); fs->inomap[i].upper;
	     i = (i + 1) & (fs->inomap_cap - 1))
		if (fs->inomap[i].upper == upper)
			break;
	if (!fs->inomap[i].upper)
		fs->inomap_n++;
	fs->inomap[i].upper = upper;
	fs->inomap[i].ino = ino;
}

static uint64_t upper_ino_locked(struct lfs_fs *fs, ino_t upper)
{
	if (fs->inomap_cap) {
		for (size_t i = inomap_slot(fs, upper); fs->inomap[i].upper;
		     i = (i + 1) & (fs->inomap_cap - 1))
			if (fs->inomap[i].upper == upper)
				return fs->inomap[i].ino;
	}
	return lfs_compose_ino(fs, 0, upper);
}

void lfs_inomap_del(struct lfs_fs *fs, ino_t upper)
{
	size_t i, j;

	pthread_mutex_lock(&fs->table_lock);
	if (!fs->inomap_cap)
		goto out;
	for (i = inomap_slot(fs, upper); fs->inomap[i].upper;
	     i = (i + 1) & (fs->inomap_cap - 1))
		if (fs->inomap[i].upper == upper)
			break;
	if (!fs->inomap[i].upper)
		goto out;
	/* backward-shift deletion keeps every probe chain intact */
	for (j = (i + 1) & (fs->inomap_cap - 1); fs->inomap[j].upper;
	     j = (j + 1) & (fs->inomap_cap - 1)) {
		size_t home = inomap_slot(fs, fs->inomap[j].upper);

		if (((j - home) & (fs->inomap_cap - 1)) >=
		    ((j - i) & (fs->inomap_cap - 1))) {
			fs->inomap[i] = fs->inomap[j];
			i = j;
		}
	}
	fs->inomap[i].upper = 0;
	fs->inomap_n--;
out:
	pthread_mutex_unlock(&fs->table_lock);
}

static uint64_t reported_ino_locked(struct lfs_fs *fs, int layer, ino_t ino)
{
	if (layer == 0 && fs->has_upper)
		return upper_ino_locked(fs, ino);
	return lfs_compose_ino(fs, layer, ino);
}

static void make_key(struct lfs_key *k, int layer, const struct stat *st)
{
	memset(k, 0, sizeof(*k));
	k->layer = layer;
	k->dev = st->st_dev;
	k->ino = st->st_ino;
}

/* The upper key of a node that was just copied up. */
int lfs_node_add_key(struct lfs_fs *fs, struct lfs_node *n, int layer,
		     const struct stat *st)
{
	struct lfs_key k;
	int r = 0;

	memset(&k, 0, sizeof(k));
	k.layer = layer;
	k.dev = st->st_dev;
	k.ino = st->st_ino;
	pthread_mutex_lock(&fs->table_lock);
	if (!table_find(fs, &k)) {
		int slot = n->hent[0] ? 1 : 0;

		if (n->hent[slot])
			table_remove(fs, n->hent[slot]);
		r = table_insert(fs, n, slot, &k);
	}
	if (layer == 0 && n->ino != st->st_ino)
		inomap_set_locked(fs, st->st_ino, n->ino);
	pthread_mutex_unlock(&fs->table_lock);
	return r;
}

uint64_t lfs_table_ino_of(struct lfs_fs *fs, int layer, ino_t ino)
{
	struct lfs_key k = { .layer = layer,
			     .dev = fs->layers[layer].dev,
			     .ino = ino };
	struct lfs_hent *e;
	uint64_t r;

	pthread_mutex_lock(&fs->table_lock);
	e = table_find(fs, &k);
	r = e ? e->node->ino : reported_ino_locked(fs, layer, ino);
	pthread_mutex_unlock(&fs->table_lock);
	return r;
}

/* The node of a real object with one more reference of the given kind
 * (ours, or the kernel's lookup count), or NULL. */
static struct lfs_node *grab(struct lfs_fs *fs, int layer, dev_t dev, ino_t ino,
			     bool kernel)
{
	struct lfs_key k = { .layer = layer, .dev = dev, .ino = ino };
	struct lfs_node *n = NULL;
	struct lfs_hent *e;

	pthread_mutex_lock(&fs->table_lock);
	e = table_find(fs, &k);
	if (e) {
		n = e->node;
		if (kernel)
			n->nlookup++;
		else
			n->refs++;
	}
	pthread_mutex_unlock(&fs->table_lock);
	return n;
}

/* The node of a real object, with a reference (lfs_node_unref), or NULL. */
struct lfs_node *lfs_node_find_key(struct lfs_fs *fs, int layer, dev_t dev,
				   ino_t ino)
{
	return grab(fs, layer, dev, ino, false);
}

/* A kernel lookup of a node known by its real object (readdirplus). */
struct lfs_node *lfs_node_lookup_key(struct lfs_fs *fs, int layer, ino_t ino)
{
	return grab(fs, layer, fs->layers[layer].dev, ino, true);
}

static struct lfs_node *node_new(struct lfs_fs *fs, struct lfs_node *parent,
				 const char *name, struct lfs_found *f)
{
	struct lfs_node *n = calloc(1, sizeof(*n));

	if (!n || !(n->name = strdup(name))) {
		free(n);
		return NULL;
	}
	pthread_mutex_init(&n->lock, NULL);
	n->type = f->st.st_mode & S_IFMT;
	n->stack = f->stack;
	n->layer = lfs_top_layer(f->stack);
	n->metacopy = f->metacopy;
	n->redirected = f->redirected;
	n->has_meta = f->has_meta;
	n->opath = f->opath;
	n->parent = parent;
	memset(f, 0, sizeof(*f));
	return n;
}

/* A node was found or made from f: its stack joins the fd cache. */
static void adopt_stack(struct lfs_fs *fs, struct lfs_node *n,
			struct lfs_found *f, bool fresh)
{
	pthread_mutex_lock(&n->lock);
	if (fresh || !n->stack) {
		struct lfs_stack *s = fresh ? n->stack : f->stack;

		if (fresh)
			n->stack = NULL;
		else
			f->stack = NULL;
		lfs_node_set_stack(fs, n, s);
	}
	pthread_mutex_unlock(&n->lock);
	lfs_found_clear(f);
	lfs_fdcache_trim(fs);
}

struct lfs_node *lfs_node_intern(struct lfs_fs *fs, struct lfs_node *parent,
				 const char *name, struct lfs_found *f)
{
	struct lfs_key k;
	struct lfs_hent *e;
	struct lfs_node *n;

	make_key(&k, lfs_top_layer(f->stack), &f->st);
	pthread_mutex_lock(&fs->table_lock);
	e = table_find(fs, &k);
	if (e) {
		n = e->node;
		n->nlookup++;
		n->refs++; /* keeps n alive until adopt_stack is done */
		pthread_mutex_unlock(&fs->table_lock);
		adopt_stack(fs, n, f, false);
		lfs_node_unref(fs, n);
		return n;
	}
	n = node_new(fs, parent, name, f);
	if (!n || table_insert(fs, n, 0, &k) < 0) {
		pthread_mutex_unlock(&fs->table_lock);
		if (n)
			node_free(fs, n);
		else
			lfs_found_clear(f);
		return NULL;
	}
	n->ino = reported_ino_locked(fs, n->layer, k.ino);
	n->generation = fs->next_generation++;
	n->nlookup = 1;
	if (parent)
		parent->refs++;
	pthread_mutex_unlock(&fs->table_lock);
	adopt_stack(fs, n, f, true);
	return n;
}

void lfs_table_destroy(struct lfs_fs *fs)
{
	/* Unmount: free every node regardless of counts. */
	for (size_t i = 0; i < fs->nbuckets; i++) {
		struct lfs_hent *e = fs->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			if (e->node->hent[0] == e)
				e->node->hent[0] = NULL;
			if (e->node->hent[1] == e)
				e->node->hent[1] = NULL;
			if (!e->node->hent[0] && !e->node->hent[1] &&
			    e->node != fs->root)
				node_free(fs, e->node);
			free(e);
		}
	}
	free(fs->buckets);
	fs->buckets = NULL;
	free(fs->inomap);
	fs->inomap = NULL;
	pthread_mutex_destroy(&fs->table_lock);
}

int lfs_node_top_layer(struct lfs_node *n)
{
	int l;

	pthread_mutex_lock(&n->lock);
	l = n->layer;
	pthread_mutex_unlock(&n->lock);
	return l;
}

/* The name parent/name of n went away: n keeps living for open files
 * and the kernel, but must never be copied up to that name again. */
void lfs_node_detach(struct lfs_fs *fs, struct lfs_node *n,
		     struct lfs_node *parent, const char *name)
{
	struct lfs_node *old = NULL;

	pthread_mutex_lock(&n->lock);
	if (n->parent == parent && n->name && !strcmp(n->name, name)) {
		/* no name to rebuild the stack from: keep it open */
		struct lfs_stack *s = lfs_stack_locked(fs, n);

		old = n->parent;
		n->parent = NULL;
		free(n->name);
		n->name = NULL;
		if (s)
			lfs_node_set_stack(fs, n, s);
	}
	pthread_mutex_unlock(&n->lock);
	if (old)
		lfs_node_unref(fs, old);
}
