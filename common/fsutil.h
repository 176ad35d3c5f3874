/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * File helpers with no policy: full reads and writes, atomic replacement,
 * recursive removal, path joins. All return >= 0 or -errno.
 *
 * Atomic write calling sequence (git's loose objects, done the safe way):
 *	cu_atomic_write_at(dirfd, "index.json", buf, len, 0644);
 * writes a random O_EXCL temp name in the SAME directory, fsyncs it,
 * renames it over the target and fsyncs the directory.
 */
#ifndef CU_FSUTIL_H
#define CU_FSUTIL_H

#include <stdbool.h>
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

ssize_t cu_write_all(int fd, const void *buf, size_t len);
ssize_t cu_pwrite_all(int fd, const void *buf, size_t len, off_t off);
ssize_t cu_read_all(int fd, void *buf, size_t len);

/* Read a whole (small) file; *ret_buf is NUL-terminated, caller frees. */
int cu_read_file_at(int dirfd, const char *path, size_t max, char **ret_buf,
		    size_t *ret_len);

/* Fill buf with a random file-name-safe token of n chars (plus NUL). */
void cu_random_token(char *buf, size_t n);

/* Create a uniquely named file "PREFIX.XXXXXX" in dirfd with O_EXCL.
 * name_buf receives the name (size >= strlen(prefix) + 16). */
int cu_open_tmp_at(int dirfd, const char *prefix, mode_t mode, char *name_buf,
		   size_t name_size);

int cu_atomic_write_at(int dirfd, const char *name, const void *buf, size_t len,
		       mode_t mode);

int cu_fsync_dir_at(int dirfd, const char *path);

/* A directory stream on dirfd/path with its own file offset (a dup of a
 * dir fd shares the offset, so a second walk would see nothing). NULL and
 * errno on failure. */
DIR *cu_opendir_at(int dirfd, const char *path);

/* Remove a tree below dirfd/name (name itself too). A missing name is 0. */
int cu_rm_rf_at(int dirfd, const char *name);

/* mkdirat that is content with a directory already there: 0 or -errno. */
int cu_mkdir_at(int dirfd, const char *name, mode_t mode);

/* mkdir -p of a relative or absolute path (each component mode). */
int cu_mkdir_p(const char *path, mode_t mode);

/* "/proc/self/fd/N" for an O_PATH fd, into buf (>= 32 bytes). */
const char *cu_fd_path(int fd, char *buf, size_t size);

/* Join a and b with one '/', malloc'd; NULL on ENOMEM. */
char *cu_path_join(const char *a, const char *b);

#endif
