/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Compressing a stream into a blob writer (compress.c); internal.
 *
 *	ls_compressor_new(LS_COMPRESS_ZSTD, w, &c);
 *	ls_compressor_write(c, buf, n);		// as often as needed
 *	ls_compressor_finish(c);		// flush the end of the stream
 *	ls_compressor_free(c);
 */
#ifndef LS_COMPRESS_H
#define LS_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>

#include "layerstore.h"

struct ls_compressor;

int ls_compressor_new(enum ls_compression kind, struct ls_blob_writer *w,
		      struct ls_compressor **ret);
int ls_compressor_write(struct ls_compressor *c, const void *buf, size_t n);
int ls_compressor_finish(struct ls_compressor *c);
void ls_compressor_free(struct ls_compressor *c);

#endif
