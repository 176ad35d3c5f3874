/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * layerctl's private header: the context every subcommand gets, and the
 * subcommands. A subcommand parses its options, calls liblayerstore and
 * returns the exit status (0 ok, 1 failure, 2 usage); it prints its own
 * result, and the store's message on failure.
 */
#ifndef LC_H
#define LC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "layerstore.h"

struct lc_ctx {
	const char *root; /* --root, or NULL for the default */
};

/* Open the store; on failure print why and return NULL. */
struct ls_store *lc_open_store(const struct lc_ctx *ctx);
/* Print "layerctl: MESSAGE" for the store's last failure; returns 1. */
int lc_fail(struct ls_store *s);
/* "12.3 MB" style sizes for people. */
const char *lc_human_size(unsigned long long n, char *buf, size_t size);

/* "123", "64k", "10M", "2G" (powers of 1024) -> *ret; -EINVAL if not. */
int lc_parse_size(const char *s, uint64_t *ret);

/* Progress on stderr while the store works, when stderr is a terminal:
 * one line rewritten in place, cleared at the end. */
void lc_progress_start(struct ls_store *s);
void lc_progress_end(void);

struct json_object;
/* An image as JSON (a new object), and printing one (which frees it). */
struct json_object *lc_image_json(struct ls_store *s,
				  const struct ls_image *img);
void lc_print_json(struct json_object *o);

/* Mount container c at mnt with layerfs (recorded in its mountpoint
 * file), and unmount it; both print why they failed. */
int lc_mount_container(struct ls_store *s, const struct ls_container *c,
		       const char *mnt);
int lc_umount(const char *mnt);
/* The mount point of a container if it is mounted now (malloc'd). */
char *lc_mounted_at(const struct ls_container *c);

int lc_cmd_load(const struct lc_ctx *ctx, int argc, char **argv);
int lc_cmd_images(const struct lc_ctx *ctx, int argc, char **argv);
int lc_cmd_inspect(const struct lc_ctx *ctx, int argc, char **argv);
int lc_cmd_save(const struct lc_ctx *ctx, int argc, char **argv);
int lc_cmd_layers(const struct lc_ctx *ctx, int argc, char **argv);
int lc_cmd_rmi(const struct lc_ctx *ctx, int argc, char **argv);
int lc_cmd_gc(const struct lc_ctx *ctx, int argc, char **argv);
int lc_cmd_fsck(const struct lc_ctx *ctx, int argc, char **argv);
int lc_cmd_create(const struct lc_ctx *ctx, int argc, char **argv);
int lc_cmd_ps(const struct lc_ctx *ctx, int argc, char **argv);
int lc_cmd_rm(const struct lc_ctx *ctx, int argc, char **argv);
int lc_cmd_mount(const struct lc_ctx *ctx, int argc, char **argv);
int lc_cmd_umount(const struct lc_ctx *ctx, int argc, char **argv);
int lc_cmd_diff(const struct lc_ctx *ctx, int argc, char **argv);
int lc_cmd_commit(const struct lc_ctx *ctx, int argc, char **argv);
int lc_cmd_run(const struct lc_ctx *ctx, int argc, char **argv);
int lc_cmd_exec(const struct lc_ctx *ctx, int argc, char **argv);

#endif
