/* Parsing and validation of the `ha` block (docs/config-ha.md). Every value
 * is copied; nothing points into the libconfig tree. */
#include "mip6/ha.h"
#include "mip6/mip6_ike.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config.h"
#include "mip6/bcache.h"
#include "wire/exthdr.h"

#define HA_MAX_LIFETIME_S (65535u * 4)	/* BA Lifetime is 16 bits of 4 s units */

static const char *const ha_known[] = {
	"home_link", "home_prefixes", "address", "address4", "preference", "lifetime",
	"max_bindings", "max_lifetime", "database", "tun", "proxy_nd", "refresh_advice",
	"port", "nat_keepalive", "deny", "ipsec", NULL,
};

static const config_setting_t *member(const config_setting_t *g, const char *name)
{
	return config_setting_get_member(g, name);
}

static bool copy_name(struct cfg_ctx *ctx, const config_setting_t *g, const char *name,
		      bool required, char *out)
{
	const char *v = NULL;

	if (!cfg_string(ctx, g, name, required, &v) || !v)
		return false;
	if (strlen(v) == 0 || strlen(v) >= IFNAMSIZ) {
		cfg_error(ctx, member(g, name), "interface name must have 1 to %d characters",
			  IFNAMSIZ - 1);
		return false;
	}
	snprintf(out, IFNAMSIZ, "%s", v);
	return true;
}

static void parse_home_link(struct cfg_ctx *ctx, const config_setting_t *b, struct ha_config *c)
{
	if (!copy_name(ctx, b, "home_link", true, c->home_link))
		return;
	cfg_iface_declared(ctx, member(b, "home_link"), c->home_link);
}

static bool prefix_ok(struct cfg_ctx *ctx, const config_setting_t *s, const struct ip_prefix *p)
{
	char buf[INET6_ADDRSTRLEN + 8];

	ip_prefix_fmt(p, buf, sizeof(buf));
	if (!ip_prefix_is_network(p)) {
		cfg_error(ctx, s, "'%s' has host bits set", buf);
		return false;
	}
	if (ipv6_bad_hoa(p->addr.bytes) || p->len < 8) {
		cfg_error(ctx, s, "'%s' cannot hold home addresses (link-local, multicast, loopback or too short)",
			  buf);
		return false;
	}
	/* RFC 2526: room for the 7-bit anycast identifier and more. */
	if (p->len > 120) {
		cfg_error(ctx, s, "'%s': a home prefix must be /120 or shorter (RFC 2526 anycast)",
			  buf);
		return false;
	}
	return true;
}

static void parse_prefix(struct cfg_ctx *ctx, const config_setting_t *e, struct ha_config *c)
{
	static const char *const known[] = { "prefix", "valid_lifetime", "preferred_lifetime", NULL };
	struct ha_prefix_cfg *p = &c->prefixes[c->n_prefixes];
	const config_setting_t *ps = e;
	size_t before = ctx->n_errors;

	p->valid_lifetime = p->preferred_lifetime = HA_LIFETIME_INFINITE;
	if (config_setting_type(e) == CONFIG_TYPE_GROUP) {
		cfg_check_known(ctx, e, known);
		ps = member(e, "prefix");
		if (!ps) {
			cfg_error_missing(ctx, e, "prefix");
			return;
		}
		cfg_u32(ctx, e, "valid_lifetime", 4, UINT32_MAX, &p->valid_lifetime);
		p->preferred_lifetime = p->valid_lifetime;
		if (cfg_u32(ctx, e, "preferred_lifetime", 0, UINT32_MAX, &p->preferred_lifetime) &&
		    p->preferred_lifetime > p->valid_lifetime)
			cfg_error(ctx, member(e, "preferred_lifetime"), "%u exceeds valid_lifetime %u",
				  p->preferred_lifetime, p->valid_lifetime);
	} else if (config_setting_type(e) != CONFIG_TYPE_STRING) {
		cfg_error(ctx, e, "must be a string \"prefix/len\" or a group { prefix = ...; }");
		return;
	}
	if (!cfg_prefix_value(ctx, ps, AF_INET6, true, &p->prefix) || !prefix_ok(ctx, ps, &p->prefix))
		return;
	if (ctx->n_errors != before)
		return;
	for (size_t i = 0; i < c->n_prefixes; i++) {
		const struct ip_prefix *o = &c->prefixes[i].prefix;
		if (ip_prefix_contains(o, &p->prefix.addr) ||
		    ip_prefix_contains(&p->prefix, &o->addr)) {
			cfg_error(ctx, ps, "overlaps home_prefixes[%zu]", i);
			return;
		}
	}
	c->n_prefixes++;
}

static void parse_prefixes(struct cfg_ctx *ctx, const config_setting_t *b, struct ha_config *c)
{
	const config_setting_t *l = member(b, "home_prefixes");

	if (!l) {
		cfg_error_missing(ctx, b, "home_prefixes");
		return;
	}
	if (config_setting_type(l) != CONFIG_TYPE_LIST && config_setting_type(l) != CONFIG_TYPE_ARRAY) {
		cfg_error(ctx, l, "must be a list of prefixes");
		return;
	}
	if (config_setting_length(l) == 0)
		cfg_error(ctx, l, "must list at least one home prefix");
	for (int i = 0; i < config_setting_length(l); i++) {
		const config_setting_t *e = config_setting_get_elem(l, (unsigned)i);
		if (i >= HA_MAX_PREFIXES) {
			cfg_error(ctx, e, "more than %d home prefixes", HA_MAX_PREFIXES);
			break;
		}
		parse_prefix(ctx, e, c);
	}
}

static void parse_addresses(struct cfg_ctx *ctx, const config_setting_t *b, struct ha_config *c,
			    bool prefixes_ok)
{
	struct ip_prefix a;
	char buf[INET6_ADDRSTRLEN + 8];

	if (cfg_prefix(ctx, b, "address", true, AF_INET6, false, &a) && member(b, "address")) {
		ip_addr_fmt(&a.addr, buf, sizeof(buf));
		if (a.len != 128)
			cfg_error(ctx, member(b, "address"), "the home agent's address, not a prefix");
		else if (prefixes_ok && !ha_config_prefix_of(c, &a.addr.v6))
			cfg_error(ctx, member(b, "address"),
				  "'%s' is not inside any of home_prefixes (the home agent sits on the home link, RFC 6275 §10.1)",
				  buf);
		c->address = a.addr.v6;
	}
	if (member(b, "address4") &&
	    cfg_prefix(ctx, b, "address4", false, AF_INET, false, &a)) {
		if (a.len != 32)
			cfg_error(ctx, member(b, "address4"), "the home agent's IPv4 address, not a prefix");
		c->has_address4 = true;
		c->address4 = a.addr.v4;
	}
}

static void parse_deny(struct cfg_ctx *ctx, const config_setting_t *b, struct ha_config *c)
{
	const config_setting_t *l = member(b, "deny");

	if (!l)
		return;
	if (config_setting_type(l) != CONFIG_TYPE_LIST && config_setting_type(l) != CONFIG_TYPE_ARRAY) {
		cfg_error(ctx, l, "must be a list of IPv6 prefixes");
		return;
	}
	for (int i = 0; i < config_setting_length(l); i++) {
		const config_setting_t *e = config_setting_get_elem(l, (unsigned)i);
		if (i >= HA_MAX_DENY) {
			cfg_error(ctx, e, "more than %d deny entries", HA_MAX_DENY);
			break;
		}
		if (cfg_prefix_value(ctx, e, AF_INET6, false, &c->deny[c->n_deny]))
			c->n_deny++;
	}
}

/* ipsec = { require; esp_sa_file; bindings = ( { home_address; keys } ); } */
static void parse_ipsec(struct cfg_ctx *ctx, const config_setting_t *b, struct ha_config *c)
{
	static const char *const known[] = { "require", "esp_sa_file", "bindings", "ike", "pad",
					     NULL };
	static const char *const bknown[] = {
		"home_address", "xform", "mh_spi_in", "mh_spi_out", "mh_key_in", "mh_key_out",
		"tun_spi_in", "tun_spi_out", "tun_key_in", "tun_key_out", NULL,
	};
	const config_setting_t *g = cfg_member(ctx, b, "ipsec", CONFIG_TYPE_GROUP, false);
	struct ha_ipsec_cfg *ic = &c->ipsec;
	const char *path = NULL;

	if (!g)
		return;
	cfg_check_known(ctx, g, known);
	ic->enabled = true;
	ic->require = true;
	cfg_bool(ctx, g, "require", &ic->require);
	if (cfg_string(ctx, g, "esp_sa_file", false, &path) && path) {
		if (!path[0] || strlen(path) >= sizeof(ic->esp_sa_file))
			cfg_error(ctx, member(g, "esp_sa_file"), "must be a path of 1 to %zu characters",
				  sizeof(ic->esp_sa_file) - 1);
		else
			snprintf(ic->esp_sa_file, sizeof(ic->esp_sa_file), "%s", path);
	}
	const config_setting_t *l = cfg_member(ctx, g, "bindings", CONFIG_TYPE_LIST, false);
	for (int i = 0; l && i < config_setting_length(l); i++) {
		const config_setting_t *e = config_setting_get_elem(l, (unsigned)i);
		struct ha_sec_binding *sb = &ic->bindings[ic->n_bindings];
		struct ip_prefix h;
		if (i >= HA_MAX_SEC_BINDINGS) {
			cfg_error(ctx, e, "more than %d IPsec bindings", HA_MAX_SEC_BINDINGS);
			break;
		}
		if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
			cfg_error(ctx, e, "must be a group { home_address = ...; xform = ...; ... }");
			continue;
		}
		cfg_check_known(ctx, e, bknown);
		size_t before = ctx->n_errors;
		if (cfg_prefix(ctx, e, "home_address", true, AF_INET6, false, &h) &&
		    member(e, "home_address") && (h.len != 128 || ipv6_bad_hoa(h.addr.bytes)))
			cfg_error(ctx, member(e, "home_address"), "must be one home address");
		sb->hoa = h.addr.v6;
		for (size_t k = 0; ctx->n_errors == before && k < ic->n_bindings; k++)
			if (memcmp(&ic->bindings[k].hoa, &sb->hoa, 16) == 0)
				cfg_error(ctx, member(e, "home_address"), "listed twice (bindings[%zu])", k);
		mip6_sec_keycfg_parse(ctx, e, &sb->keys);
		if (ctx->n_errors == before)
			ic->n_bindings++;
	}
	mip6_ike_config_parse(ctx, g, MIP6_SEC_HA, &c->ike);
}

static void parse_limits(struct cfg_ctx *ctx, const config_setting_t *b, struct ha_config *c)
{
	uint32_t v;
	const char *db = NULL;

	long long pref = 0;
	if (cfg_int(ctx, b, "preference", false, INT16_MIN, INT16_MAX, &pref))
		c->preference = (int16_t)pref;
	v = 1800;
	cfg_u32(ctx, b, "lifetime", 1, 65535, &v);
	c->lifetime = (uint16_t)v;
	c->max_bindings = 100000;
	cfg_u32(ctx, b, "max_bindings", 1, BCACHE_HARD_MAX, &c->max_bindings);
	c->max_lifetime = 3600;
	cfg_u32(ctx, b, "max_lifetime", 4, HA_MAX_LIFETIME_S, &c->max_lifetime);
	v = 4191;
	cfg_u32(ctx, b, "port", 1, 65535, &v);
	c->port = (uint16_t)v;
	c->nat_keepalive = 110;	/* RFC 5555 §4.1: NATKATIMEOUT default */
	cfg_u32(ctx, b, "nat_keepalive", 1, 65535, &c->nat_keepalive);
	c->proxy_nd = true;
	cfg_bool(ctx, b, "proxy_nd", &c->proxy_nd);
	c->refresh_advice = false;
	cfg_bool(ctx, b, "refresh_advice", &c->refresh_advice);
	snprintf(c->tun, sizeof(c->tun), "mip6ha0");
	if (member(b, "tun"))
		copy_name(ctx, b, "tun", false, c->tun);
	if (cfg_string(ctx, b, "database", false, &db) && db) {
		if (strlen(db) == 0 || strlen(db) >= sizeof(c->database))
			cfg_error(ctx, member(b, "database"), "must be a path of 1 to %zu characters",
				  sizeof(c->database) - 1);
		else
			snprintf(c->database, sizeof(c->database), "%s", db);
	}
}

void *ha_config_parse(struct cfg_ctx *ctx, const config_setting_t *block)
{
	size_t before = ctx->n_errors;
	struct ha_config *c;

	if (!block) {
		cfg_error(ctx, NULL, "role 'ha' needs an 'ha' block (home_link, home_prefixes, address)");
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	cfg_check_known(ctx, block, ha_known);
	parse_home_link(ctx, block, c);
	size_t pre = ctx->n_errors;
	parse_prefixes(ctx, block, c);
	parse_addresses(ctx, block, c, ctx->n_errors == pre && c->n_prefixes > 0);
	parse_deny(ctx, block, c);
	parse_limits(ctx, block, c);
	parse_ipsec(ctx, block, c);
	if (strcmp(c->tun, c->home_link) == 0)
		cfg_error(ctx, member(block, "tun"), "the tunnel device cannot be the home link '%s'",
			  c->home_link);
	if (ctx->n_errors != before) {
		free(c);
		return NULL;
	}
	return c;
}

void ha_config_free(void *cfg)
{
	struct ha_config *c = cfg;

	if (c)
		mip6_ike_config_free(c->ike);
	free(cfg);
}

const struct ha_prefix_cfg *ha_config_prefix_of(const struct ha_config *c,
						const struct in6_addr *hoa)
{
	struct ip_addr a = { .family = AF_INET6, .v6 = *hoa };

	for (size_t i = 0; i < c->n_prefixes; i++)
		if (ip_prefix_contains(&c->prefixes[i].prefix, &a))
			return &c->prefixes[i];
	return NULL;
}

bool ha_config_denied(const struct ha_config *c, const struct in6_addr *hoa)
{
	struct ip_addr a = { .family = AF_INET6, .v6 = *hoa };

	for (size_t i = 0; i < c->n_deny; i++)
		if (ip_prefix_contains(&c->deny[i], &a))
			return true;
	return false;
}

void ha_anycast_addr(const struct ip_prefix *p, struct in6_addr *out)
{
	uint8_t *b = out->s6_addr;

	memcpy(b, p->addr.bytes, 16);
	for (unsigned i = p->len; i < 128; i++)
		b[i / 8] |= (uint8_t)(0x80u >> (i % 8));
	/* Anycast ID 0x7e (Mobile IPv6 Home-Agents) in the low 7 bits. */
	b[15] = (uint8_t)((b[15] & 0x80) | 0x7e);
	/* EUI-64 format (/64): the universal/local bit is 0 (fdff:...). */
	if (p->len == 64)
		b[8] &= (uint8_t)~0x02;
}

bool ha_config_reserved(const struct ha_config *c, const struct in6_addr *hoa)
{
	const struct ha_prefix_cfg *p = ha_config_prefix_of(c, hoa);
	struct in6_addr any;
	static const uint8_t zero[16];
	uint8_t host[16];

	if (memcmp(hoa, &c->address, 16) == 0)
		return true;
	if (!p)
		return false;
	/* Subnet-Router anycast (RFC 4291 §2.6.1): all host bits zero. */
	memcpy(host, hoa->s6_addr, 16);
	for (unsigned i = 0; i < p->prefix.len; i++)
		host[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
	if (memcmp(host, zero, 16) == 0)
		return true;
	/* RFC 2526 reserved subnet anycast: the 128 identifiers that differ
	 * from the Home-Agents one only in the 7-bit anycast ID. */
	ha_anycast_addr(&p->prefix, &any);
	return memcmp(hoa->s6_addr, any.s6_addr, 15) == 0 &&
	       (hoa->s6_addr[15] & 0x80) == (any.s6_addr[15] & 0x80);
}
