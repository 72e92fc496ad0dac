/* Parsing and validation of the `cn` block (docs/config-cn.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config.h"
#include "mip6/cn.h"

static void parse_ifaces(struct cfg_ctx *ctx, const config_setting_t *b, struct cn_config *c)
{
	const config_setting_t *l = cfg_member(ctx, b, "interfaces", CONFIG_TYPE_ARRAY, false);

	for (int i = 0; l && i < config_setting_length(l); i++) {
		const config_setting_t *e = config_setting_get_elem(l, (unsigned)i);
		const char *name = config_setting_get_string(e);

		if (!name) {
			cfg_error(ctx, e, "must be an interface name (a string)");
			continue;
		}
		if (c->n_ifaces >= CN_MAX_IFACES) {
			cfg_error(ctx, e, "more than %d interfaces", CN_MAX_IFACES);
			break;
		}
		if (strlen(name) >= IFNAMSIZ) {
			cfg_error(ctx, e, "interface name longer than %d characters", IFNAMSIZ - 1);
			continue;
		}
		cfg_iface_declared(ctx, e, name);
		snprintf(c->ifaces[c->n_ifaces++], IFNAMSIZ, "%s", name);
	}
}

void *cn_config_parse(struct cfg_ctx *ctx, const config_setting_t *b)
{
	static const char *const known[] = {
		"interfaces", "tun", "address", "max_bindings", "kcn_lifetime", "nonce_interval",
		"nonce_lifetime", "max_binding_lifetime", "brr_before", "be_rate", "native", NULL,
	};
	size_t before = ctx->n_errors;
	struct cn_config *c = calloc(1, sizeof(*c));
	const char *s = NULL;

	if (!c)
		return NULL;
	snprintf(c->tun, sizeof(c->tun), "%s", CN_DEFAULT_TUN);
	c->bind.family = AF_INET6;
	c->max_bindings = 10000;
	c->kcn_lifetime = RR_MAX_NONCE_LIFETIME;
	c->nonce_interval = 30;
	c->nonce_lifetime = RR_MAX_NONCE_LIFETIME;
	c->max_binding_lifetime = RR_MAX_RR_BINDING_LIFETIME;
	c->brr_before = 20;
	c->be_rate = 10;
	c->native = true;
	if (!b)
		return c;	/* every default */
	cfg_check_known(ctx, b, known);
	parse_ifaces(ctx, b, c);
	if (cfg_string(ctx, b, "tun", false, &s) && s) {
		if (!*s || strlen(s) >= IFNAMSIZ)
			cfg_error(ctx, config_setting_get_member(b, "tun"),
				  "must be an interface name of 1 to %d characters", IFNAMSIZ - 1);
		else
			snprintf(c->tun, sizeof(c->tun), "%s", s);
	}
	struct ip_prefix p;
	if (config_setting_get_member(b, "address") &&
	    cfg_prefix(ctx, b, "address", false, AF_INET6, false, &p)) {
		if (p.len != 128)
			cfg_error(ctx, config_setting_get_member(b, "address"),
				  "must be an address, not a prefix");
		c->bind = p.addr;
	}
	cfg_u32(ctx, b, "max_bindings", 1, CN_MAX_BINDINGS, &c->max_bindings);
	cfg_u32(ctx, b, "kcn_lifetime", 1, 86400, &c->kcn_lifetime);
	cfg_u32(ctx, b, "nonce_lifetime", 1, RR_MAX_NONCE_LIFETIME, &c->nonce_lifetime);
	if (c->nonce_interval > c->nonce_lifetime)
		c->nonce_interval = c->nonce_lifetime;
	cfg_u32(ctx, b, "nonce_interval", 1, RR_MAX_NONCE_LIFETIME, &c->nonce_interval);
	if (c->nonce_interval > c->nonce_lifetime)
		cfg_error(ctx, config_setting_get_member(b, "nonce_interval"),
			  "%u exceeds nonce_lifetime %u", c->nonce_interval, c->nonce_lifetime);
	else if (c->nonce_lifetime / c->nonce_interval >= RR_NONCE_RING)
		cfg_error(ctx, config_setting_get_member(b, "nonce_interval"),
			  "%u s is too short for nonce_lifetime %u s: at most %d nonces are kept, use at least %u",
			  c->nonce_interval, c->nonce_lifetime, RR_NONCE_RING - 1,
			  c->nonce_lifetime / (RR_NONCE_RING - 1) + 1);
	cfg_u32(ctx, b, "max_binding_lifetime", 4, RR_MAX_RR_BINDING_LIFETIME,
		&c->max_binding_lifetime);
	cfg_u32(ctx, b, "brr_before", 0, RR_MAX_RR_BINDING_LIFETIME, &c->brr_before);
	cfg_u32(ctx, b, "be_rate", 1, 100000, &c->be_rate);
	cfg_bool(ctx, b, "native", &c->native);
	if (ctx->n_errors != before) {
		free(c);
		return NULL;
	}
	return c;
}

void cn_config_free(void *cfg) { free(cfg); }
