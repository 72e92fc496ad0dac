#include "daemon/config.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct node_config *parsing_node;

const struct node_config *cfg_current_node(void) { return parsing_node; }

bool cfg_iface_declared(struct cfg_ctx *ctx, const config_setting_t *at, const char *name)
{
	if (!parsing_node || node_config_iface(parsing_node, name))
		return true;
	cfg_error(ctx, at, "interface '%s' is not declared in the top-level interfaces list", name);
	return false;
}

static const char *const top_known_fixed[] = {
	"node", "log", "control", "metrics", "security", "interfaces", "roles", NULL,
};

static void copy_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

static void parse_node(struct cfg_ctx *ctx, const config_setting_t *root,
		       struct node_config *nc)
{
	static const char *const known[] = { "name", "user", NULL };
	const config_setting_t *g = cfg_member(ctx, root, "node", CONFIG_TYPE_GROUP, true);
	const char *name = NULL, *user = NULL;

	if (!g)
		return;
	cfg_check_known(ctx, g, known);
	if (cfg_string(ctx, g, "name", true, &name) && name) {
		if (strlen(name) >= sizeof(nc->name))
			cfg_error(ctx, config_setting_get_member(g, "name"),
				  "longer than %zu characters", sizeof(nc->name) - 1);
		copy_str(nc->name, sizeof(nc->name), name);
	}
	if (cfg_string(ctx, g, "user", false, &user) && user) {
		if (!getpwnam(user))
			cfg_error(ctx, config_setting_get_member(g, "user"),
				  "no such user '%s'", user);
		copy_str(nc->user, sizeof(nc->user), user);
	}
}

static void parse_log(struct cfg_ctx *ctx, const config_setting_t *root,
		      struct node_config *nc)
{
	static const char *const known[] = { "level", "syslog", NULL };
	const config_setting_t *g = cfg_member(ctx, root, "log", CONFIG_TYPE_GROUP, false);
	const char *level = NULL;

	nc->log_level = LOG_LVL_INFO;
	if (!g)
		return;
	cfg_check_known(ctx, g, known);
	if (cfg_string(ctx, g, "level", false, &level) && level) {
		int l = log_level_from_name(level);
		if (l < 0)
			cfg_error(ctx, config_setting_get_member(g, "level"),
				  "unknown log level '%s' (error, warn, notice, info, debug)",
				  level);
		else
			nc->log_level = (enum log_level)l;
	}
	cfg_bool(ctx, g, "syslog", &nc->log_syslog);
}

static void parse_control(struct cfg_ctx *ctx, const config_setting_t *root,
			  struct node_config *nc)
{
	static const char *const known[] = { "socket", NULL };
	const config_setting_t *g = cfg_member(ctx, root, "control", CONFIG_TYPE_GROUP, false);
	const char *path = NULL;

	if (!g)
		return;
	cfg_check_known(ctx, g, known);
	if (cfg_string(ctx, g, "socket", false, &path) && path) {
		if (strlen(path) >= sizeof(nc->control_path))
			cfg_error(ctx, config_setting_get_member(g, "socket"),
				  "path longer than %zu bytes", sizeof(nc->control_path) - 1);
		else
			copy_str(nc->control_path, sizeof(nc->control_path), path);
	}
}

static void parse_metrics(struct cfg_ctx *ctx, const config_setting_t *root,
			  struct node_config *nc)
{
	static const char *const known[] = { "listen", NULL };
	const config_setting_t *g = cfg_member(ctx, root, "metrics", CONFIG_TYPE_GROUP, false);
	const char *listen = NULL;

	if (!g)
		return;
	cfg_check_known(ctx, g, known);
	if (!cfg_string(ctx, g, "listen", true, &listen) || !listen)
		return;
	if (!sockaddr_parse(listen, &nc->metrics_addr, &nc->metrics_addrlen)) {
		cfg_error(ctx, config_setting_get_member(g, "listen"),
			  "'%s' is not ADDRESS:PORT (IPv6 as [ADDRESS]:PORT)", listen);
		return;
	}
	nc->metrics_enabled = true;
	copy_str(nc->metrics_listen, sizeof(nc->metrics_listen), listen);
}

static void parse_security(struct cfg_ctx *ctx, const config_setting_t *root,
			   struct node_config *nc)
{
	static const char *const known[] = { "certificate", "private_key", "ca", NULL };
	const config_setting_t *g = cfg_member(ctx, root, "security", CONFIG_TYPE_GROUP, false);
	const char *p;

	if (!g)
		return;
	cfg_check_known(ctx, g, known);
	p = NULL;
	if (cfg_readable_file(ctx, g, "certificate", false, &p) && p)
		copy_str(nc->certificate, sizeof(nc->certificate), p);
	p = NULL;
	if (cfg_readable_file(ctx, g, "private_key", false, &p) && p)
		copy_str(nc->private_key, sizeof(nc->private_key), p);
	p = NULL;
	if (cfg_readable_file(ctx, g, "ca", false, &p) && p)
		copy_str(nc->ca, sizeof(nc->ca), p);
}

static void parse_iface(struct cfg_ctx *ctx, const config_setting_t *e,
			struct node_config *nc)
{
	static const char *const known[] = { "name", "addresses", "optimistic", "mtu", NULL };
	struct iface_config *ic = &nc->ifaces[nc->n_ifaces];
	const char *name = NULL;
	long long mtu = 0;

	if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
		cfg_error(ctx, e, "must be a group { name = ...; }");
		return;
	}
	cfg_check_known(ctx, e, known);
	if (cfg_string(ctx, e, "name", true, &name) && name) {
		if (strlen(name) >= IFNAMSIZ)
			cfg_error(ctx, config_setting_get_member(e, "name"),
				  "interface name longer than %d characters", IFNAMSIZ - 1);
		else if (node_config_iface(nc, name))
			cfg_error(ctx, config_setting_get_member(e, "name"),
				  "duplicate interface name '%s'", name);
		copy_str(ic->name, sizeof(ic->name), name);
	}
	cfg_bool(ctx, e, "optimistic", &ic->optimistic);
	if (cfg_int(ctx, e, "mtu", false, 1280, 65535, &mtu))
		ic->mtu = (unsigned)mtu;
	const config_setting_t *addrs = cfg_member(ctx, e, "addresses", CONFIG_TYPE_LIST, false);
	for (int i = 0; addrs && i < config_setting_length(addrs); i++) {
		const config_setting_t *a = config_setting_get_elem(addrs, (unsigned)i);
		if (ic->n_addrs >= IFACE_MAX_ADDRS) {
			cfg_error(ctx, a, "more than %d addresses", IFACE_MAX_ADDRS);
			break;
		}
		if (cfg_prefix_value(ctx, a, AF_UNSPEC, true, &ic->addrs[ic->n_addrs]))
			ic->n_addrs++;
	}
	nc->n_ifaces++;
}

static void parse_interfaces(struct cfg_ctx *ctx, const config_setting_t *root,
			     struct node_config *nc)
{
	const config_setting_t *l = cfg_member(ctx, root, "interfaces", CONFIG_TYPE_LIST, false);

	for (int i = 0; l && i < config_setting_length(l); i++) {
		if (nc->n_ifaces >= NODE_MAX_IFACES) {
			cfg_error(ctx, l, "more than %d interfaces", NODE_MAX_IFACES);
			return;
		}
		parse_iface(ctx, config_setting_get_elem(l, (unsigned)i), nc);
	}
}

static bool conflicts_with(const struct role_ops *a, const char *b)
{
	for (const char *const *c = a->conflicts; c && *c; c++)
		if (strcmp(*c, b) == 0)
			return true;
	return false;
}

static void parse_roles(struct cfg_ctx *ctx, const config_setting_t *root,
			struct node_config *nc)
{
	const config_setting_t *l = cfg_member(ctx, root, "roles", CONFIG_TYPE_ARRAY, true);

	for (int i = 0; l && i < config_setting_length(l); i++) {
		const config_setting_t *e = config_setting_get_elem(l, (unsigned)i);
		const char *name = config_setting_get_string(e);
		const struct role_ops *ops;

		if (!name) {
			cfg_error(ctx, e, "role names are strings");
			continue;
		}
		ops = role_find(name);
		if (!ops) {
			char known[256] = "";
			for (size_t k = 0; role_at(k); k++)
				snprintf(known + strlen(known), sizeof(known) - strlen(known),
					 "%s%s", k ? ", " : "", role_at(k)->name);
			cfg_error(ctx, e, "unknown role '%s' (known: %s)", name, known);
			continue;
		}
		if (node_config_role(nc, name)) {
			cfg_error(ctx, e, "role '%s' listed twice", name);
			continue;
		}
		for (size_t k = 0; k < nc->n_roles; k++) {
			const struct role_ops *other = nc->roles[k].ops;
			if (conflicts_with(ops, other->name) || conflicts_with(other, name))
				cfg_error(ctx, e, "role '%s' conflicts with role '%s' on one node",
					  name, other->name);
		}
		if (nc->n_roles >= NODE_MAX_ROLES) {
			cfg_error(ctx, e, "more than %d roles", NODE_MAX_ROLES);
			return;
		}
		nc->roles[nc->n_roles++].ops = ops;
	}
}

static const config_setting_t *role_entry(const config_setting_t *root, const char *name)
{
	const config_setting_t *l = config_setting_get_member(root, "roles");

	for (int i = 0; l && i < config_setting_length(l); i++) {
		const config_setting_t *e = config_setting_get_elem(l, (unsigned)i);
		const char *v = config_setting_get_string(e);
		if (v && strcmp(v, name) == 0)
			return e;
	}
	return l;
}

static void parse_role_blocks(struct cfg_ctx *ctx, const config_setting_t *root,
			      struct node_config *nc)
{
	/* Top-level members: fixed sections, or a block named after a role. */
	for (int i = 0; i < config_setting_length(root); i++) {
		const config_setting_t *m = config_setting_get_elem(root, (unsigned)i);
		const char *name = config_setting_name(m);
		bool fixed = false;

		for (const char *const *k = top_known_fixed; *k; k++)
			if (strcmp(*k, name) == 0)
				fixed = true;
		if (fixed)
			continue;
		if (!role_find(name))
			cfg_error(ctx, m, "unknown setting");
		else if (!node_config_role(nc, name))
			cfg_error(ctx, m, "block for role '%s', which is not in roles", name);
		else if (config_setting_type(m) != CONFIG_TYPE_GROUP)
			cfg_error(ctx, m, "must be a group { ... }");
	}
	for (size_t k = 0; k < nc->n_roles; k++) {
		struct role_config *rc = &nc->roles[k];
		const config_setting_t *block = config_setting_get_member(root, rc->ops->name);
		size_t before = ctx->n_errors;

		if (block && config_setting_type(block) != CONFIG_TYPE_GROUP)
			continue;
		ctx->anchor = block ? NULL : role_entry(root, rc->ops->name);
		rc->cfg = rc->ops->parse(ctx, block);
		ctx->anchor = NULL;
		if (!rc->cfg && ctx->n_errors == before)
			cfg_error(ctx, block ? block : root, "role '%s' could not be configured",
				  rc->ops->name);
	}
}

struct node_config *node_config_load(const char *path, struct cfg_ctx *ctx)
{
	struct node_config *nc = calloc(1, sizeof(*nc));
	config_t cf;

	if (!nc)
		return NULL;
	roles_register_all();
	copy_str(nc->path, sizeof(nc->path), path);
	config_init(&cf);
	if (!config_read_file(&cf, path)) {
		char *msg;
		const char *file = config_error_file(&cf);
		if (config_error_type(&cf) == CONFIG_ERR_FILE_IO) {
			if (asprintf(&msg, "%s: cannot read configuration file", path) >= 0)
				ctx->errors[ctx->n_errors++] = msg;
		} else if (asprintf(&msg, "%s:%d: %s", file ? file : path,
				    config_error_line(&cf), config_error_text(&cf)) >= 0) {
			ctx->errors[ctx->n_errors++] = msg;
		}
		config_destroy(&cf);
		free(nc);
		return NULL;
	}
	const config_setting_t *root = config_root_setting(&cf);

	parsing_node = nc;
	parse_node(ctx, root, nc);
	parse_log(ctx, root, nc);
	parse_control(ctx, root, nc);
	parse_metrics(ctx, root, nc);
	parse_security(ctx, root, nc);
	parse_interfaces(ctx, root, nc);
	parse_roles(ctx, root, nc);
	parse_role_blocks(ctx, root, nc);
	parsing_node = NULL;
	config_destroy(&cf);
	if (ctx->n_errors) {
		node_config_free(nc);
		return NULL;
	}
	if (!nc->control_path[0])
		snprintf(nc->control_path, sizeof(nc->control_path), "/run/mipsec/%s.sock",
			 nc->name);
	return nc;
}

void node_config_free(struct node_config *nc)
{
	if (!nc)
		return;
	for (size_t k = 0; k < nc->n_roles; k++)
		if (nc->roles[k].cfg)
			nc->roles[k].ops->free_config(nc->roles[k].cfg);
	free(nc);
}

const struct iface_config *node_config_iface(const struct node_config *nc, const char *name)
{
	for (size_t i = 0; i < nc->n_ifaces; i++)
		if (strcmp(nc->ifaces[i].name, name) == 0)
			return &nc->ifaces[i];
	return NULL;
}

const struct role_config *node_config_role(const struct node_config *nc, const char *name)
{
	for (size_t i = 0; i < nc->n_roles; i++)
		if (strcmp(nc->roles[i].ops->name, name) == 0)
			return &nc->roles[i];
	return NULL;
}
