/* Structured logging: one logfmt line per event, to stderr or syslog. */
#ifndef MIPSEC_CORE_LOG_H
#define MIPSEC_CORE_LOG_H

#include <stdbool.h>

enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_NOTICE, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_init(const char *ident, enum log_level level, bool use_syslog);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Returns -1 for an unknown name. */
int log_level_from_name(const char *name);
const char *log_level_name(enum log_level level);

/* `module` names the subsystem ("ar", "netlink"); `fmt` is the message text,
 * conventionally followed by key=value pairs. */
void log_msg(enum log_level level, const char *module, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_err(m, ...)    log_msg(LOG_LVL_ERR, m, __VA_ARGS__)
#define log_warn(m, ...)   log_msg(LOG_LVL_WARN, m, __VA_ARGS__)
#define log_notice(m, ...) log_msg(LOG_LVL_NOTICE, m, __VA_ARGS__)
#define log_info(m, ...)   log_msg(LOG_LVL_INFO, m, __VA_ARGS__)
#define log_debug(m, ...)  log_msg(LOG_LVL_DEBUG, m, __VA_ARGS__)

#endif
