#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static enum log_level log_threshold = LOG_LVL_INFO;
static bool log_to_syslog;

static const char *const level_names[] = {
	[LOG_LVL_ERR] = "error", [LOG_LVL_WARN] = "warn",
	[LOG_LVL_NOTICE] = "notice", [LOG_LVL_INFO] = "info",
	[LOG_LVL_DEBUG] = "debug",
};

void log_init(const char *ident, enum log_level level, bool use_syslog)
{
	log_threshold = level;
	if (log_to_syslog && !use_syslog)
		closelog();
	log_to_syslog = use_syslog;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_set_level(enum log_level level) { log_threshold = level; }
enum log_level log_get_level(void) { return log_threshold; }

int log_level_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(name, level_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *log_level_name(enum log_level level)
{
	return (unsigned)level < sizeof(level_names) / sizeof(level_names[0])
		       ? level_names[level] : "?";
}

void log_msg(enum log_level level, const char *module, const char *fmt, ...)
{
	static const int syslog_prio[] = {
		[LOG_LVL_ERR] = LOG_ERR, [LOG_LVL_WARN] = LOG_WARNING,
		[LOG_LVL_NOTICE] = LOG_NOTICE, [LOG_LVL_INFO] = LOG_INFO,
		[LOG_LVL_DEBUG] = LOG_DEBUG,
	};
	char msg[1024];
	va_list ap;

	if (level > log_threshold)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	if (log_to_syslog) {
		syslog(syslog_prio[level], "level=%s mod=%s %s",
		       level_names[level], module, msg);
		return;
	}
	/* Wall-clock time for humans reading the log; timers use CLOCK_MONOTONIC. */
	struct timespec ts;
	struct tm tm;
	char stamp[32];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "ts=%s.%03ldZ level=%s mod=%s %s\n", stamp,
		ts.tv_nsec / 1000000, level_names[level], module, msg);
}
