// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * diff and commit of a container (layerstore.h).
 *
 * Both open the container's upper layer, init layer and image layers as
 * directories and walk the changes (changes.c). A mounted container is
 * frozen first: layerctl connects to the daemon's control socket in the
 * container's work dir (fs/freeze.c), after a syncfs of the mount so that
 * cached writes reach the daemon. The container lock is held throughout,
 * so an unmounted container cannot be mounted meanwhile.
 *
 * commit streams the tar once: each chunk feeds the diffID's SHA-256 and
 * the compressor, whose output feeds the blob writer (and its SHA-256).
 * A thread unpacks the same bytes into the layer's directory meanwhile
 * (the importer every loaded layer goes through, so a commit's layer is
 * what a load of its blob would give). Nothing is published until the
 * blob is complete; then the layer, the config and manifest, and REF is
 * tagged last: a commit that stops anywhere leaves at
 * most unreferenced blobs for gc.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "changes.h"
#include "cleanup.h"
#include "compress.h"
#include "fsutil.h"
#include "oci.h"
#include "store-private.h"
#include "untar.h"
#include "upperfmt.h"

#define FREEZE_TIMEOUT_MS 60000

/* A container opened for reading its upper layer. */
struct ctr {
	struct ls_container *c;
	int cfd;	 /* containers/ID */
	int lockfd;	 /* the container lock */
	int freezefd;	 /* the freeze connection, or -1 */
	int upper, init; /* directories */
	int index;	 /* work/CU_WORK_INDEX, or -1 */
	int *lowers;	 /* the image's layers, top first */
	size_t nlowers;
};

static void ctr_init(struct ctr *t)
{
	*t = (struct ctr){ .cfd = -1,
			   .lockfd = -1,
			   .freezefd = -1,
			   .upper = -1,
			   .init = -1,
			   .index = -1 };
}

static void ctr_release(struct ctr *t)
{
	if (t->freezefd >= 0)
		close(t->freezefd); /* the daemon goes on */
	if (t->lockfd >= 0)
		close(t->lockfd);
	t->freezefd = t->lockfd = -1;
}

static void ctr_close(struct ctr *t)
{
	for (size_t i = 0; t->lowers && i < t->nlowers; i++)
		if (t->lowers[i] >= 0)
			close(t->lowers[i]);
	free(t->lowers);
	ctr_release(t);
	if (t->cfd >= 0)
		close(t->cfd);
	if (t->upper >= 0)
		close(t->upper);
	if (t->init >= 0)
		close(t->init);
	if (t->index >= 0)
		close(t->index);
	ls_container_free(t->c);
	ctr_init(t);
}

static int open_dir(struct ls_store *s, int dirfd, const char *path, int *ret)
{
	*ret = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*ret < 0)
		return ls_fail(s, -errno, "cannot open '%s'", path);
	return 0;
}

static int ctr_open(struct ls_store *s, const char *id, struct ctr *t)
{
	int r;

	ctr_init(t);
	r = ls_container_get(s, id, &t->c);
	if (r == 0)
		r = open_dir(s, AT_FDCWD, t->c->dir, &t->cfd);
	if (r == 0)
		r = open_dir(s, t->cfd, "upper", &t->upper);
	if (r == 0)
		r = open_dir(s, t->cfd, "init", &t->init);
	if (r < 0)
		return r;
	t->index = openat(t->cfd, "work/" CU_WORK_INDEX,
			  O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (t->index < 0 && errno != ENOENT)
		return ls_fail(s, -errno, "cannot open the index of '%s'", id);
	t->lowers = malloc((t->c->nlayers + 1) * sizeof(int));
	if (!t->lowers)
		return -ENOMEM;
	for (size_t i = 0; i < t->c->nlayers; i++) {
		const char *d = t->c->diff_ids[t->c->nlayers - 1 - i];
		_cleanup_free_ char *p = ls_layer_path(s, d);

		if (!p)
			return -ENOMEM;
		if ((r = open_dir(s, AT_FDCWD, p, &t->lowers[i])) < 0)
			return r;
		t->nlowers = i + 1;
	}
	return 0;
}

/* Flush what the kernel caches for the mount (mmap'd writes, writeback)
 * to the daemon before it freezes. */
static void sync_mount(struct ctr *t)
{
	_cleanup_free_ char *mnt = NULL;
	_cleanup_close_ int fd = -1;
	size_t len;

	if (cu_read_file_at(t->cfd, "mountpoint", PATH_MAX, &mnt, &len) < 0)
		return;
	fd = open(mnt, O_RDONLY | O_DIRECTORY | O_NONBLOCK | O_CLOEXEC);
	if (fd >= 0)
		syncfs(fd);
}

/* freeze_wait's answer when the daemon closed the connection without
 * one: it is stopping, its mount just went away ('layerctl umount' and
 * umount(8) return before the daemon has exited). */
#define FREEZE_GONE 1

static int freeze_wait(struct ls_store *s, int fd, const char *id)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[16] = "";
	ssize_t n;

	n = send(fd, "freeze\n", 7, MSG_NOSIGNAL);
	if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
		return FREEZE_GONE;
	if (n != 7)
		return ls_fail(s, n < 0 ? -errno : -EIO,
			       "cannot pause container '%s'", id);
	if (poll(&p, 1, FREEZE_TIMEOUT_MS) <= 0)
		return ls_fail(s, -ETIMEDOUT,
			       "container '%s' did not pause within %d s", id,
			       FREEZE_TIMEOUT_MS / 1000);
	n = read(fd, buf, sizeof(buf) - 1);
	if (n == 0 || (n < 0 && errno == ECONNRESET))
		return FREEZE_GONE;
	if (n != 7 || memcmp(buf, "frozen\n", 7))
		return ls_fail(s, -EIO, "container '%s' could not be paused",
			       id);
	return 0;
}

/* Hold the upper layer still: the container lock, and when a daemon
 * serves the container, a freeze. A daemon that is stopping closes the
 * connection unanswered; once it has removed its socket (after its last
 * operation) the upper layer is still, and the lock is enough. */
static int ctr_hold(struct ls_store *s, struct ctr *t)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	const struct timespec tick = { 0, 10 * 1000 * 1000 };
	int fd, r;

	t->lockfd = ls_container_lock(s, t->c);
	if (t->lockfd < 0)
		return t->lockfd;
	snprintf(a.sun_path, sizeof(a.sun_path),
		 "/proc/self/fd/%d/work/" CU_WORK_SOCKET, t->cfd);
	for (int waited = 0;; waited += 10) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return ls_fail(s, -errno, "cannot make a socket");
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
			int e = errno;

			close(fd);
			if (e == ENOENT || e == ECONNREFUSED)
				return 0; /* not mounted: the lock is enough */
			return ls_fail(s, -e, "cannot reach the daemon of '%s'",
				       t->c->id);
		}
		t->freezefd = fd;
		if (waited == 0)
			sync_mount(t);
		r = freeze_wait(s, fd, t->c->id);
		if (r != FREEZE_GONE)
			return r;
		close(fd);
		t->freezefd = -1;
		if (waited >= FREEZE_TIMEOUT_MS)
			return ls_fail(s, -EIO,
				       "the daemon of '%s' is stopping but "
				       "does not exit",
				       t->c->id);
		nanosleep(&tick, NULL);
	}
}

static int walk(struct ctr *t, int (*fn)(void *, const struct ls_change *),
		void *arg)
{
	struct ls_changes_src src = { .upper = t->upper,
				      .init = t->init,
				      .lowers = t->lowers,
				      .nlowers = t->nlowers,
				      .index = t->index };

	return ls_changes_walk(&src, fn, arg);
}

/* --- diff ----------------------------------------------------------------- */

struct diff_ctx {
	void (*fn)(void *arg, char kind, const char *path);
	void *arg;
	char path[PATH_MAX + 1];
};

static int diff_one(void *arg, const struct ls_change *c)
{
	struct diff_ctx *d = arg;

	if (c->kind == LS_CH_OPAQUE)
		return 0;
	snprintf(d->path, sizeof(d->path), "/%s", c->path);
	d->fn(d->arg, c->kind == LS_CH_HIDDEN ? 'D' : (char)c->kind, d->path);
	return 0;
}

static int walk_fail(struct ls_store *s, int r, const char *id)
{
	return ls_fail(s, r, "cannot read the changes of '%s': %s", id,
		       strerror(-r));
}

int ls_container_diff(struct ls_store *s, const char *id,
		      void (*fn)(void *arg, char kind, const char *path),
		      void *arg)
{
	struct diff_ctx d = { .fn = fn, .arg = arg };
	struct ctr t;
	int r = ctr_open(s, id, &t);

	if (r == 0)
		r = ctr_hold(s, &t);
	if (r == 0 && (r = walk(&t, diff_one, &d)) < 0)
		walk_fail(s, r, id);
	ctr_release(&t);
	ctr_close(&t);
	return r;
}

static int fd_sink(void *arg, const void *buf, size_t n)
{
	return cu_write_all(*(int *)arg, buf, n) < 0 ? -errno : 0;
}

/* The tar of the changes into sink; the error says which file failed. */
static int write_tar(struct ls_store *s, struct ctr *t, int64_t clamp,
		     int (*sink)(void *, const void *, size_t), void *arg,
		     uint64_t *ret_bytes, uint64_t *ret_entries)
{
	struct ls_tarout *tar = NULL;
	int r = ls_tarout_new(sink, arg, clamp, &tar);

	if (r == 0)
		r = walk(t, ls_tarout_change, tar);
	if (r == 0)
		r = ls_tarout_finish(tar);
	if (r < 0 && tar)
		ls_fail(s, r, "cannot write the changes of '%s': %s", t->c->id,
			ls_tarout_error(tar));
	if (r == 0 && ret_bytes) {
		*ret_bytes = ls_tarout_bytes(tar);
		*ret_entries = ls_tarout_entries(tar);
	}
	ls_tarout_free(tar);
	return r;
}

int ls_container_diff_tar(struct ls_store *s, const char *id, int fd)
{
	struct ctr t;
	int r = ctr_open(s, id, &t);

	if (r == 0)
		r = ctr_hold(s, &t);
	if (r == 0)
		r = write_tar(s, &t, -1, fd_sink, &fd, NULL, NULL);
	ctr_release(&t);
	ctr_close(&t);
	return r;
}

/* --- commit --------------------------------------------------------------- */

/* The new layer's directory, unpacked from the tar as it is made (a
 * thread reading a socket), instead of from the blob afterwards. */
struct unpacker {
	struct ls_store *s;
	/* the thread's view of the store: the same fds, its own message
	 * (the store's error slot is the commit's, written meanwhile) */
	struct ls_store view;
	pthread_t thread;
	bool started;
	int fd[2]; /* [0] the thread reads, [1] the commit writes */
	char name[32];
	struct ls_untar_result res;
	int r;
};

struct commit {
	struct ls_store *s;
	struct unpacker u;
	struct ctr t;
	const struct ls_commit_opts *o;
	struct ls_digester *diff;
	struct ls_blob_writer *w;
	struct ls_compressor *z;
	uint64_t done, shown;
	char created[32];
	char *cfg;
	size_t cfg_len;
	struct ls_manifest m;
	size_t manifest_size;
	struct ls_commit_result res;
};

static void *unpack_main(void *arg)
{
	struct unpacker *u = arg;
	struct ls_untar_opts o = { .no_digest = true, /* ours: hashed */
				   .allow_devices = geteuid() == 0,
				   .chown = geteuid() == 0,
				   .record_owner = geteuid() != 0 };
	char buf[65536];

	u->r = ls_layer_stage(&u->view, u->fd[0], "(new layer)", NULL, &o,
			      u->view.tmpfd, u->name, &u->res);
	/* take everything, so the writer never blocks on a full socket */
	while (read(u->fd[0], buf, sizeof(buf)) > 0)
		;
	return NULL;
}

static int unpack_start(struct commit *k)
{
	struct unpacker *u = &k->u;
	int size = 1 << 20;
	char tok[13];

	u->s = k->s;
	u->view = *k->s;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, u->fd) < 0)
		return ls_fail(k->s, -errno, "cannot make a socket pair");
	setsockopt(u->fd[1], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	cu_random_token(tok, 12);
	snprintf(u->name, sizeof(u->name), "commit-%s", tok);
	if (pthread_create(&u->thread, NULL, unpack_main, u) != 0)
		return ls_fail(k->s, -EAGAIN, "cannot start a thread");
	u->started = true;
	return 0;
}

/* End of the tar (or of the commit): wait for the layer directory. When
 * the commit failed already, its message is the one kept (the thread
 * fails too, on the cut stream); else the thread's failure is the
 * commit's, and so is its message. */
static int unpack_end(struct commit *k, int failed)
{
	struct unpacker *u = &k->u;

	if (u->fd[1] >= 0)
		close(u->fd[1]);
	u->fd[1] = -1;
	if (u->started)
		pthread_join(u->thread, NULL);
	u->started = false;
	if (u->fd[0] >= 0)
		close(u->fd[0]);
	u->fd[0] = -1;
	if (!failed && u->r < 0)
		memcpy(k->s->err, u->view.err, sizeof(k->s->err));
	return u->r;
}

static int commit_sink(void *arg, const void *buf, size_t n)
{
	struct commit *k = arg;
	int r = ls_digester_update(k->diff, buf, n);

	for (size_t off = 0; r == 0 && off < n;) {
		ssize_t w = send(k->u.fd[1], (const char *)buf + off, n - off,
				 MSG_NOSIGNAL);

		if (w < 0 && errno != EINTR)
			r = -errno;
		off += w > 0 ? (size_t)w : 0;
	}
	if (r == 0)
		r = ls_compressor_write(k->z, buf, n);
	k->done += n;
	if (k->done - k->shown >= (8 << 20)) {
		ls_progress_report(k->s, "commit", 1, 1, k->done, 0);
		k->shown = k->done;
	}
	return r;
}

static const char *layer_media(enum ls_compression c)
{
	return c == LS_COMPRESS_ZSTD ? LS_MT_OCI_LAYER_ZSTD :
	       c == LS_COMPRESS_GZIP ? LS_MT_OCI_LAYER_GZIP :
				       LS_MT_OCI_LAYER;
}

/* The parent's manifest, and its config with the commit applied to all
 * but the new layer (so a bad --change fails before any work). */
static int read_parent(struct commit *k)
{
	_cleanup_free_ char *buf = NULL, *err = NULL;
	size_t len;
	int r = ls_blob_read(k->s, k->t.c->image, LS_JSON_MAX, &buf, &len);

	if (r == 0 && (r = ls_manifest_parse(buf, len, &k->m, &err)) < 0)
		return ls_fail(k->s, r, "manifest '%s': %s", k->t.c->image,
			       err);
	free(buf);
	buf = NULL;
	if (r == 0)
		r = ls_blob_read(k->s, k->m.config.digest, LS_JSON_MAX, &buf,
				 &len);
	if (r == 0) { /* the config, kept for after the layer */
		k->cfg = buf;
		k->cfg_len = len;
		buf = NULL;
	}
	return r;
}

static int make_layer(struct commit *k)
{
	int r = ls_blob_writer_new(k->s, &k->w);

	if (r == 0 && !(k->diff = ls_digester_new()))
		r = -ENOMEM;
	if (r == 0)
		r = ls_compressor_new(k->o->compression, k->w, &k->z);
	if (r == 0)
		r = unpack_start(k);
	if (r == 0)
		r = ctr_hold(k->s, &k->t);
	if (r == 0)
		r = write_tar(k->s, &k->t, k->o->timestamp, commit_sink, k,
			      &k->res.tar_size, &k->res.entries);
	ctr_release(&k->t); /* the container goes on as soon as it can */
	if (r == 0)
		r = ls_compressor_finish(k->z);
	if (r == 0)
		r = ls_digester_final(k->diff, k->res.diff_id);
	if (r == 0) {
		k->res.layer_size = ls_blob_writer_size(k->w);
		r = ls_blob_writer_commit(k->w, NULL, k->res.layer);
	}
	if (unpack_end(k, r < 0) < 0 && r == 0)
		r = k->u.r;
	if (r == 0 && k->u.res.tar_size != k->res.tar_size)
		r = ls_fail(k->s, -EIO,
			    "the new layer unpacked %llu bytes of %llu",
			    (unsigned long long)k->u.res.tar_size,
			    (unsigned long long)k->res.tar_size);
	memcpy(k->u.res.diff_id, k->res.diff_id, sizeof(k->res.diff_id));
	if (r == 0)
		r = ls_layer_set_blob(k->s, k->u.name, k->res.layer, &k->u.res);
	if (r == 0)
		r = ls_layer_publish(k->s, k->u.name, k->res.diff_id, -1);
	return r;
}

static int put_manifest(struct commit *k)
{
	_cleanup_free_ char *cfg = NULL, *man = NULL;
	struct ls_descriptor *v;
	size_t clen, mlen;
	int r = ls_config_commit(k->s, k->cfg, k->cfg_len, k->o, k->created,
				 k->res.diff_id, &cfg, &clen);

	if (r == 0)
		r = ls_blob_put(k->s, cfg, clen, k->res.config);
	if (r < 0)
		return r;
	v = reallocarray(k->m.layers, k->m.nlayers + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	k->m.layers = v;
	v[k->m.nlayers++] = (struct ls_descriptor){
		.kind = ls_media_parse(layer_media(k->o->compression)),
		.digest = strdup(k->res.layer),
		.size = (int64_t)k->res.layer_size,
	};
	for (size_t i = 0; i < k->m.nlayers; i++) { /* OCI types only */
		free(v[i].media_type);
		v[i].media_type = NULL;
	}
	free(k->m.config.media_type);
	k->m.config.media_type = NULL;
	k->m.config.kind = LS_MT_CONFIG;
	free(k->m.config.digest);
	k->m.config.digest = strdup(k->res.config);
	k->m.config.size = (int64_t)clen;
	if (!v[k->m.nlayers - 1].digest || !k->m.config.digest)
		return -ENOMEM;
	r = ls_manifest_serialize(&k->m, &man, &mlen);
	if (r == 0)
		r = ls_blob_put(k->s, man, mlen, k->res.manifest);
	k->manifest_size = mlen;
	return r;
}

static void date(char *buf, size_t size, int64_t t)
{
	time_t tt = t >= 0 ? (time_t)t : time(NULL);
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int tag_commit(struct commit *k, const char *ref)
{
	struct ls_descriptor d = { .kind = LS_MT_MANIFEST,
				   .digest = k->res.manifest,
				   .size = (int64_t)k->manifest_size };

	return ls_image_tag(k->s, ref, &d);
}

int ls_commit(struct ls_store *s, const char *id, const char *ref,
	      const struct ls_commit_opts *o, struct ls_commit_result *ret)
{
	struct commit k = { .s = s, .o = o, .u.fd = { -1, -1 } };
	int held = s->gc_held, r;

	ctr_init(&k.t);
	if (!ls_ref_valid(ref))
		return ls_fail(s, -EINVAL,
			       "invalid reference '%s' (letters, digits and "
			       "-._:@+ between them, '/' between parts)",
			       ref);
	r = ls_commit_check_changes(s, o->changes, o->nchanges);
	if (r < 0)
		return r;
	date(k.created, sizeof(k.created), o->timestamp);
	r = ls_store_hold(s);
	if (r == 0)
		r = ctr_open(s, id, &k.t);
	if (r == 0)
		r = read_parent(&k);
	if (r == 0)
		r = make_layer(&k);
	if (r == 0)
		r = put_manifest(&k);
	if (r == 0)
		r = tag_commit(&k, ref);
	if (r == 0) {
		k.res.media_type = layer_media(o->compression);
		*ret = k.res;
	}
	unpack_end(&k, r < 0);
	if (k.u.name[0])
		cu_rm_rf_at(s->tmpfd, k.u.name); /* published, or half-made */
	ls_compressor_free(k.z);
	ls_blob_writer_free(k.w);
	ls_digester_free(k.diff);
	ls_manifest_free(&k.m);
	free(k.cfg);
	ctr_close(&k.t);
	if (!held)
		ls_store_release(s);
	return r == -ENOMEM ? ls_fail(s, r, "cannot commit '%s'", id) : r;
}
