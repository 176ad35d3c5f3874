// SPDX-License-Identifier: GPL-2.0-or-later
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

static const char *log_prog = "layerfs";
static enum cu_log_level log_max = CU_LOG_WARN;
static bool log_syslog;

void cu_log_init(const char *prog, enum cu_log_level max)
{
	log_prog = prog;
	log_max = max;
}

void cu_log_use_syslog(bool on)
{
	if (on && !log_syslog)
		openlog(log_prog, LOG_PID, LOG_DAEMON);
	log_syslog = on;
}

bool cu_log_enabled(enum cu_log_level lvl)
{
	return lvl <= log_max;
}

void cu_log(enum cu_log_level lvl, const char *fmt, ...)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	va_list ap;

	if (!cu_log_enabled(lvl))
		return;
	va_start(ap, fmt);
	if (log_syslog) {
		vsyslog(prio[lvl], fmt, ap);
	} else {
		char buf[4096];

		vsnprintf(buf, sizeof(buf), fmt, ap);
		fprintf(stderr, "%s: %s%s\n", log_prog,
			lvl == CU_LOG_WARN ? "warning: " : "", buf);
	}
	va_end(ap);
}
