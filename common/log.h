/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Logging for programs, not libraries: cu_log_*() write "PROG: msg" to
 * stderr (or syslog once cu_log_use_syslog() was called by a daemon).
 * Library code returns -errno and leaves the printing to main().
 */
#ifndef CU_LOG_H
#define CU_LOG_H

#include <stdbool.h>

enum cu_log_level { CU_LOG_ERR, CU_LOG_WARN, CU_LOG_INFO, CU_LOG_DEBUG };

void cu_log_init(const char *prog, enum cu_log_level max);
void cu_log_use_syslog(bool on);
bool cu_log_enabled(enum cu_log_level lvl);
void cu_log(enum cu_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define cu_err(...) cu_log(CU_LOG_ERR, __VA_ARGS__)
#define cu_warn(...) cu_log(CU_LOG_WARN, __VA_ARGS__)
#define cu_info(...) cu_log(CU_LOG_INFO, __VA_ARGS__)
#define cu_debug(...)                                      \
	do {                                               \
		if (cu_log_enabled(CU_LOG_DEBUG))          \
			cu_log(CU_LOG_DEBUG, __VA_ARGS__); \
	} while (0)

#endif
