#include "daemon/cfg.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void cfg_ctx_init(struct cfg_ctx *ctx, const char *file)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->file = file;
}

void cfg_ctx_clear(struct cfg_ctx *ctx)
{
	for (size_t i = 0; i < ctx->n_errors; i++)
		free(ctx->errors[i]);
	ctx->n_errors = 0;
	ctx->n_dropped = 0;
}

void cfg_path(const config_setting_t *s, char *buf, size_t size)
{
	const config_setting_t *chain[32];
	size_t n = 0, off = 0;

	buf[0] = '\0';
	for (const config_setting_t *it = s; it && config_setting_parent(it) && n < 32;
	     it = config_setting_parent(it))
		chain[n++] = it;
	while (n-- > 0 && off < size) {
		const config_setting_t *it = chain[n];
		const char *name = config_setting_name(it);
		int w;

		if (name)
			w = snprintf(buf + off, size - off, "%s%s", off ? "." : "", name);
		else
			w = snprintf(buf + off, size - off, "[%d]", config_setting_index(it));
		if (w < 0)
			break;
		off += (size_t)w;
	}
}

static void cfg_record(struct cfg_ctx *ctx, const config_setting_t *at, const char *path,
		       const char *reason)
{
	const char *file = at ? config_setting_source_file(at) : NULL;
	int line = at ? (int)config_setting_source_line(at) : 0;
	char *msg;

	if (!file)
		file = ctx->file ? ctx->file : "<config>";
	if (ctx->n_errors >= CFG_MAX_ERRORS) {
		ctx->n_dropped++;
		return;
	}
	if (asprintf(&msg, "%s:%d: setting '%s': %s", file, line, path[0] ? path : "(root)",
		     reason) < 0)
		return;
	ctx->errors[ctx->n_errors++] = msg;
}

void cfg_error(struct cfg_ctx *ctx, const config_setting_t *s, const char *fmt, ...)
{
	char path[256], reason[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (!s)
		s = ctx->anchor;
	cfg_path(s, path, sizeof(path));
	cfg_record(ctx, s, path, reason);
}

void cfg_error_missing(struct cfg_ctx *ctx, const config_setting_t *parent, const char *name)
{
	char path[256], full[320];

	cfg_path(parent, path, sizeof(path));
	snprintf(full, sizeof(full), "%s%s%s", path, path[0] ? "." : "", name);
	/* A group opened by the root has no line; point at line 1 of the file
	 * rather than inventing one. */
	cfg_record(ctx, config_setting_parent(parent) ? parent : NULL, full,
		   "missing required setting");
	if (!config_setting_parent(parent) && ctx->n_errors) {
		char *m = ctx->errors[ctx->n_errors - 1];
		char *colon = strchr(m, ':');
		/* rewrite "file:0:" as "file:1:" for the root group */
		if (colon && colon[1] == '0' && colon[2] == ':')
			colon[1] = '1';
	}
}

static const char *type_name(int type)
{
	switch (type) {
	case CONFIG_TYPE_GROUP: return "a group { ... }";
	case CONFIG_TYPE_INT: case CONFIG_TYPE_INT64: return "an integer";
	case CONFIG_TYPE_FLOAT: return "a number";
	case CONFIG_TYPE_STRING: return "a string";
	case CONFIG_TYPE_BOOL: return "a boolean";
	case CONFIG_TYPE_ARRAY: return "an array [ ... ]";
	case CONFIG_TYPE_LIST: return "a list ( ... )";
	}
	return "a setting";
}

void cfg_check_known(struct cfg_ctx *ctx, const config_setting_t *group,
		     const char *const *known)
{
	int n = config_setting_length(group);

	for (int i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(group, (unsigned)i);
		const char *name = config_setting_name(m);
		bool ok = false;

		if (!name)
			continue;
		for (const char *const *k = known; *k; k++)
			if (strcmp(*k, name) == 0)
				ok = true;
		if (!ok)
			cfg_error(ctx, m, "unknown setting");
	}
}

const config_setting_t *cfg_member(struct cfg_ctx *ctx, const config_setting_t *parent,
				   const char *name, int type, bool required)
{
	const config_setting_t *s = config_setting_get_member(parent, name);

	if (!s) {
		if (required)
			cfg_error_missing(ctx, parent, name);
		return NULL;
	}
	int t = config_setting_type(s);
	bool list_ok = type == CONFIG_TYPE_LIST && t == CONFIG_TYPE_ARRAY;
	bool int_ok = type == CONFIG_TYPE_INT && t == CONFIG_TYPE_INT64;
	if (t != type && !list_ok && !int_ok) {
		cfg_error(ctx, s, "must be %s", type_name(type));
		return NULL;
	}
	return s;
}

bool cfg_string(struct cfg_ctx *ctx, const config_setting_t *parent, const char *name,
		bool required, const char **out)
{
	const config_setting_t *s = config_setting_get_member(parent, name);

	if (!s) {
		if (required)
			cfg_error_missing(ctx, parent, name);
		return !required;
	}
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		cfg_error(ctx, s, "must be a string");
		return false;
	}
	const char *v = config_setting_get_string(s);
	if (!v[0]) {
		cfg_error(ctx, s, "must not be empty");
		return false;
	}
	*out = v;
	return true;
}

bool cfg_int(struct cfg_ctx *ctx, const config_setting_t *parent, const char *name,
	     bool required, long long min, long long max, long long *out)
{
	const config_setting_t *s = config_setting_get_member(parent, name);
	long long v;

	if (!s) {
		if (required)
			cfg_error_missing(ctx, parent, name);
		return !required;
	}
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT: v = config_setting_get_int(s); break;
	case CONFIG_TYPE_INT64: v = config_setting_get_int64(s); break;
	default:
		cfg_error(ctx, s, "must be an integer");
		return false;
	}
	if (v < min || v > max) {
		cfg_error(ctx, s, "value %lld out of range %lld..%lld", v, min, max);
		return false;
	}
	*out = v;
	return true;
}

bool cfg_u32(struct cfg_ctx *ctx, const config_setting_t *parent, const char *name,
	     long long min, long long max, uint32_t *out)
{
	long long v;

	if (!config_setting_get_member(parent, name))
		return true;
	if (!cfg_int(ctx, parent, name, false, min, max, &v))
		return false;
	*out = (uint32_t)v;
	return true;
}

bool cfg_bool(struct cfg_ctx *ctx, const config_setting_t *parent, const char *name,
	      bool *out)
{
	const config_setting_t *s = config_setting_get_member(parent, name);

	if (!s)
		return true;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		cfg_error(ctx, s, "must be true or false");
		return false;
	}
	*out = config_setting_get_bool(s) != 0;
	return true;
}

bool cfg_prefix_value(struct cfg_ctx *ctx, const config_setting_t *s, int family,
		      bool need_len, struct ip_prefix *out)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		cfg_error(ctx, s, "must be a string holding an address%s",
			  need_len ? "/length" : "");
		return false;
	}
	const char *v = config_setting_get_string(s);
	enum addr_parse_err e = ip_prefix_parse(v, family, need_len, out);
	switch (e) {
	case ADDR_OK:
		return true;
	case ADDR_ERR_FAMILY:
		cfg_error(ctx, s, "'%s' is not an %s address", v,
			  family == AF_INET ? "IPv4" : "IPv6");
		return false;
	case ADDR_ERR_PLEN_RANGE:
		cfg_error(ctx, s, "'%s': prefix length out of range 0..%d", v,
			  out->addr.family == AF_INET ? 32 : 128);
		return false;
	default:
		cfg_error(ctx, s, "'%s': %s", v, addr_parse_strerror(e));
		return false;
	}
}

bool cfg_prefix(struct cfg_ctx *ctx, const config_setting_t *parent, const char *name,
		bool required, int family, bool need_len, struct ip_prefix *out)
{
	const config_setting_t *s = config_setting_get_member(parent, name);

	if (!s) {
		if (required)
			cfg_error_missing(ctx, parent, name);
		return !required;
	}
	return cfg_prefix_value(ctx, s, family, need_len, out);
}

bool cfg_readable_file(struct cfg_ctx *ctx, const config_setting_t *parent,
		       const char *name, bool required, const char **out)
{
	const char *path = NULL;

	if (!cfg_string(ctx, parent, name, required, &path))
		return false;
	if (!path)
		return true;
	if (access(path, R_OK) != 0) {
		cfg_error(ctx, config_setting_get_member(parent, name),
			  "cannot read '%s': %s", path, strerror(errno));
		return false;
	}
	*out = path;
	return true;
}
