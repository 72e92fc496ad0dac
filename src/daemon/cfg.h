/* Typed access to libconfig settings with errors that name the file, the
 * line, the setting's full path and the reason. Parsing never stops at the
 * first error: all of them are collected so a user fixes a file in one go. */
#ifndef MIPSEC_DAEMON_CFG_H
#define MIPSEC_DAEMON_CFG_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/addr.h"

#define CFG_MAX_ERRORS 64

struct cfg_ctx {
	const char *file;		/* main configuration file */
	char *errors[CFG_MAX_ERRORS];
	size_t n_errors;
	size_t n_dropped;		/* errors beyond CFG_MAX_ERRORS */
	/* Where cfg_error(ctx, NULL, ...) points: the config sets it to the
	 * `roles` entry while a role without a block of its own is parsed. */
	const config_setting_t *anchor;
};

void cfg_ctx_init(struct cfg_ctx *ctx, const char *file);
void cfg_ctx_clear(struct cfg_ctx *ctx);

/* Records "file:line: setting 'path': reason". */
void cfg_error(struct cfg_ctx *ctx, const config_setting_t *s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Same, for a member `name` that does not exist under group `parent`. */
void cfg_error_missing(struct cfg_ctx *ctx, const config_setting_t *parent, const char *name);

/* Writes the dotted path of a setting ("ar.interfaces[0].prefixes[1]"). */
void cfg_path(const config_setting_t *s, char *buf, size_t size);

/* Reports every member of `group` whose name is not in the NULL-terminated
 * `known` list. */
void cfg_check_known(struct cfg_ctx *ctx, const config_setting_t *group,
		     const char *const *known);

/* Getters: return true when the setting is absent (and not required; *out
 * untouched) or present and valid; false after recording an error. */
bool cfg_string(struct cfg_ctx *ctx, const config_setting_t *parent, const char *name,
		bool required, const char **out);
bool cfg_int(struct cfg_ctx *ctx, const config_setting_t *parent, const char *name,
	     bool required, long long min, long long max, long long *out);
bool cfg_bool(struct cfg_ctx *ctx, const config_setting_t *parent, const char *name,
	      bool *out);
/* Optional integer in [min, max] stored as uint32_t (untouched if absent). */
bool cfg_u32(struct cfg_ctx *ctx, const config_setting_t *parent, const char *name,
	     long long min, long long max, uint32_t *out);
/* family: AF_INET, AF_INET6 or AF_UNSPEC. need_len: "addr/len" required. */
bool cfg_prefix(struct cfg_ctx *ctx, const config_setting_t *parent, const char *name,
		bool required, int family, bool need_len, struct ip_prefix *out);
bool cfg_prefix_value(struct cfg_ctx *ctx, const config_setting_t *s, int family,
		      bool need_len, struct ip_prefix *out);
/* A group or list member that must be of the given type (CONFIG_TYPE_*). */
const config_setting_t *cfg_member(struct cfg_ctx *ctx, const config_setting_t *parent,
				   const char *name, int type, bool required);
/* A file path that the daemon must be able to read. */
bool cfg_readable_file(struct cfg_ctx *ctx, const config_setting_t *parent,
		       const char *name, bool required, const char **out);

#endif
