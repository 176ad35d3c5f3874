/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Scope-bound cleanup, as crun and systemd do it:
 *
 *	_cleanup_free_ char *p = malloc(n);
 *	_cleanup_close_ int fd = open(...);
 *	...
 *	return steal_fd(&fd);	// hand ownership to the caller
 *
 * The cleanup runs on every exit path of the scope.
 */
#ifndef CU_CLEANUP_H
#define CU_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void cu_freep(void *p)
{
	free(*(void **)p);
}

static inline void cu_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void cu_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static inline void cu_closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

#define _cleanup_free_ __attribute__((cleanup(cu_freep)))
#define _cleanup_close_ __attribute__((cleanup(cu_closep)))
#define _cleanup_fclose_ __attribute__((cleanup(cu_fclosep)))
#define _cleanup_closedir_ __attribute__((cleanup(cu_closedirp)))

static inline int steal_fd(int *fd)
{
	int r = *fd;
	*fd = -1;
	return r;
}

static inline void *steal_ptr(void *pp)
{
	void **p = pp;
	void *r = *p;
	*p = NULL;
	return r;
}

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
