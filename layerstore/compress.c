// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Streaming compression into a blob writer, for layers we make (commit).
 * zstd runs with worker threads; its output does not depend on how many
 * (any count >= 1 gives the same bytes), so the same tar always gives the
 * same blob. gzip writes no name and no time in its header.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "compress.h"

#define OUT_SIZE (1 << 18)

struct ls_compressor {
	enum ls_compression kind;
	struct ls_blob_writer *w;
	ZSTD_CCtx *z;
	z_stream gz;
	bool gz_ready;
	unsigned char *out;
};

int ls_compressor_new(enum ls_compression kind, struct ls_blob_writer *w,
		      struct ls_compressor **ret)
{
	struct ls_compressor *c = calloc(1, sizeof(*c));
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (!c)
		return -ENOMEM;
	c->kind = kind;
	c->w = w;
	c->out = malloc(OUT_SIZE);
	if (!c->out)
		goto nomem;
	if (kind == LS_COMPRESS_ZSTD) {
		c->z = ZSTD_createCCtx();
		if (!c->z ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(c->z,
							ZSTD_c_compressionLevel,
							3)) ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(c->z,
							ZSTD_c_checksumFlag,
							1)))
			goto nomem;
		/* 0 workers (no libzstd threads) gives other bytes: keep >= 1 */
		ZSTD_CCtx_setParameter(c->z, ZSTD_c_nbWorkers,
				       cpus > 1 ? (int)cpus : 1);
	} else if (kind == LS_COMPRESS_GZIP) {
		if (deflateInit2(&c->gz, Z_DEFAULT_COMPRESSION, Z_DEFLATED,
				 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
			goto nomem;
		c->gz_ready = true;
	}
	*ret = c;
	return 0;
nomem:
	ls_compressor_free(c);
	return -ENOMEM;
}

static int zstd_run(struct ls_compressor *c, const void *buf, size_t n,
		    ZSTD_EndDirective mode)
{
	ZSTD_inBuffer in = { buf, n, 0 };
	size_t left;

	do {
		ZSTD_outBuffer out = { c->out, OUT_SIZE, 0 };
		int r;

		left = ZSTD_compressStream2(c->z, &out, &in, mode);
		if (ZSTD_isError(left))
			return -EIO;
		if (out.pos &&
		    (r = ls_blob_writer_write(c->w, c->out, out.pos)) < 0)
			return r;
	} while (mode == ZSTD_e_end ? left != 0 : in.pos < in.size);
	return 0;
}

static int gzip_run(struct ls_compressor *c, const void *buf, size_t n,
		    int flush)
{
	int zr;

	c->gz.next_in = (unsigned char *)buf;
	c->gz.avail_in = n;
	do {
		int r;

		c->gz.next_out = c->out;
		c->gz.avail_out = OUT_SIZE;
		zr = deflate(&c->gz, flush);
		if (zr == Z_STREAM_ERROR)
			return -EIO;
		if (OUT_SIZE - c->gz.avail_out &&
		    (r = ls_blob_writer_write(c->w, c->out,
					      OUT_SIZE - c->gz.avail_out)) < 0)
			return r;
	} while (flush == Z_FINISH ? zr != Z_STREAM_END : c->gz.avail_in > 0);
	return 0;
}

int ls_compressor_write(struct ls_compressor *c, const void *buf, size_t n)
{
	switch (c->kind) {
	case LS_COMPRESS_ZSTD:
		return zstd_run(c, buf, n, ZSTD_e_continue);
	case LS_COMPRESS_GZIP:
		return gzip_run(c, buf, n, Z_NO_FLUSH);
	case LS_COMPRESS_NONE:
		break;
	}
	return ls_blob_writer_write(c->w, buf, n);
}

int ls_compressor_finish(struct ls_compressor *c)
{
	switch (c->kind) {
	case LS_COMPRESS_ZSTD:
		return zstd_run(c, NULL, 0, ZSTD_e_end);
	case LS_COMPRESS_GZIP:
		return gzip_run(c, NULL, 0, Z_FINISH);
	case LS_COMPRESS_NONE:
		break;
	}
	return 0;
}

void ls_compressor_free(struct ls_compressor *c)
{
	if (!c)
		return;
	ZSTD_freeCCtx(c->z);
	if (c->gz_ready)
		deflateEnd(&c->gz);
	free(c->out);
	free(c);
}
