/* Parsing and validation of the `mn` block (docs/config-mn.md). Every value
 * is copied; nothing points into the libconfig tree. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config.h"
#include "mip6/mn.h"
#include "mip6/mip6_ike.h"
#include "wire/exthdr.h"

static const char *const known[] = {
	"home_address", "home_prefix", "home_agent", "interfaces", "tun", "tun_mtu",
	"fwmark", "table", "rule_priority", "lifetime", "initial_bindack_timeout_ms",
	"max_bindack_timeout_ms", "max_retries", "optimistic_first_bu", "iid",
	"rs_interval_ms", "rs_count", "dhaad_timeout_ms", "dhaad_retries",
	"prefix_solicit_before_s", "home_agent_ipv4", "nat_keepalive_s", "route_optimisation",
	"correspondents", "ipsec", NULL,
};

static void parse_addresses(struct cfg_ctx *ctx, const config_setting_t *b, struct mn_config *c)
{
	const config_setting_t *s;
	struct ip_prefix p;
	bool hoa_ok = false;

	if (cfg_prefix(ctx, b, "home_address", true, AF_INET6, false, &p)) {
		s = config_setting_get_member(b, "home_address");
		if (s && p.len != 128)
			cfg_error(ctx, s, "a home address is one address, not a prefix");
		else if (s && ipv6_bad_hoa(p.addr.bytes))
			cfg_error(ctx, s, "not usable as a home address (RFC 6275 §6.3: no "
				  "multicast, link-local, loopback, unspecified or v4-mapped)");
		else if (s) {
			c->hoa = p.addr.v6;
			hoa_ok = true;
		}
	}
	if (cfg_prefix(ctx, b, "home_prefix", true, AF_INET6, true, &c->home_prefix)) {
		s = config_setting_get_member(b, "home_prefix");
		struct ip_addr h = { .family = AF_INET6, .v6 = c->hoa };
		if (s && !ip_prefix_is_network(&c->home_prefix))
			cfg_error(ctx, s, "host bits set below /%u", c->home_prefix.len);
		else if (s && c->home_prefix.len > 120)
			cfg_error(ctx, s, "prefix longer than /120 leaves no room for the "
				  "Home-Agents anycast address (RFC 2526)");
		else if (s && hoa_ok && !ip_prefix_contains(&c->home_prefix, &h))
			cfg_error(ctx, s, "does not contain home_address");
	}
	if (config_setting_get_member(b, "home_agent") &&
	    cfg_prefix(ctx, b, "home_agent", false, AF_INET6, false, &p)) {
		s = config_setting_get_member(b, "home_agent");
		if (p.len != 128 || ipv6_bad_hoa(p.addr.bytes))
			cfg_error(ctx, s, "must be one global unicast IPv6 address");
		else {
			c->has_ha = true;
			c->ha = p.addr.v6;
		}
	}
}

/* RFC 5555: an IPv4 address of the HA makes IPv4 care-of addresses usable. */
static void parse_v4(struct cfg_ctx *ctx, const config_setting_t *b, struct mn_config *c)
{
	const config_setting_t *s = config_setting_get_member(b, "home_agent_ipv4");
	struct ip_prefix p;

	c->nat_keepalive_s = 110;	/* RFC 5555 NATKATIMEOUT */
	cfg_u32(ctx, b, "nat_keepalive_s", 1, 3600, &c->nat_keepalive_s);
	if (!s || !cfg_prefix(ctx, b, "home_agent_ipv4", false, AF_INET, false, &p))
		return;
	uint32_t a = ntohl(p.addr.v4.s_addr);
	if (p.len != 32 || a == 0 || (a >> 24) == 127 || (a >> 28) >= 14) {
		cfg_error(ctx, s, "must be one unicast IPv4 address");
		return;
	}
	if (!config_setting_get_member(b, "home_agent"))
		cfg_error(ctx, s, "needs home_agent too (DHAAD cannot run over IPv4)");
	c->has_ha4 = true;
	c->ha4 = p.addr.v4;
}

static void parse_ifaces(struct cfg_ctx *ctx, const config_setting_t *b, struct mn_config *c)
{
	const config_setting_t *l = cfg_member(ctx, b, "interfaces", CONFIG_TYPE_ARRAY, true);

	if (!l)
		return;
	if (config_setting_length(l) == 0)
		cfg_error(ctx, l, "must list at least one access interface");
	for (int i = 0; i < config_setting_length(l); i++) {
		const config_setting_t *e = config_setting_get_elem(l, (unsigned)i);
		const char *name = config_setting_get_string(e);

		if (!name) {
			cfg_error(ctx, e, "interface names are strings");
			continue;
		}
		if (c->n_ifaces >= MN_MAX_IFACES) {
			cfg_error(ctx, e, "more than %d access interfaces", MN_MAX_IFACES);
			break;
		}
		if (strlen(name) >= IFNAMSIZ) {
			cfg_error(ctx, e, "interface name longer than %d characters", IFNAMSIZ - 1);
			continue;
		}
		cfg_iface_declared(ctx, e, name);
		for (size_t k = 0; k < c->n_ifaces; k++)
			if (strcmp(c->ifaces[k], name) == 0)
				cfg_error(ctx, e, "interface '%s' is listed twice", name);
		snprintf(c->ifaces[c->n_ifaces++], IFNAMSIZ, "%s", name);
	}
}

static void parse_tunnel(struct cfg_ctx *ctx, const config_setting_t *b, struct mn_config *c)
{
	const char *tun = NULL;

	snprintf(c->tun, sizeof(c->tun), "mip6mn0");
	if (cfg_string(ctx, b, "tun", false, &tun) && tun) {
		const config_setting_t *s = config_setting_get_member(b, "tun");
		if (strlen(tun) == 0 || strlen(tun) >= IFNAMSIZ)
			cfg_error(ctx, s, "TUN name must be 1 to %d characters", IFNAMSIZ - 1);
		else
			snprintf(c->tun, sizeof(c->tun), "%s", tun);
		for (size_t k = 0; k < c->n_ifaces; k++)
			if (strcmp(c->ifaces[k], tun) == 0)
				cfg_error(ctx, s, "'%s' is also an access interface", tun);
	}
	/* Room for the outer IPv6 + UDP + inner IPv6 on a 1500-byte link. */
	c->tun_mtu = 1400;
	uint32_t mtu = c->tun_mtu;
	cfg_u32(ctx, b, "tun_mtu", 1280, 65535, &mtu);
	c->tun_mtu = mtu;
	c->fwmark = 0x4d49;
	cfg_u32(ctx, b, "fwmark", 1, UINT32_MAX, &c->fwmark);
	c->table = 4191;
	if (cfg_u32(ctx, b, "table", 1, UINT32_MAX, &c->table) &&
	    (c->table == 253 || c->table == 254 || c->table == 255))
		cfg_error(ctx, config_setting_get_member(b, "table"),
			  "table %u is a kernel table (default/main/local)", c->table);
	c->rule_priority = 1000;
	cfg_u32(ctx, b, "rule_priority", 1, 32765, &c->rule_priority);
}

static void parse_timers(struct cfg_ctx *ctx, const config_setting_t *b, struct mn_config *c)
{
	const char *iid = NULL;

	c->lifetime_s = 600;
	/* The BU Lifetime field counts 4-second units in 16 bits (§6.1.7). */
	cfg_u32(ctx, b, "lifetime", 4, 65535u * 4u, &c->lifetime_s);
	c->initial_bindack_timeout_ms = 1500;	/* InitialBindackTimeoutFirstReg, §13 */
	cfg_u32(ctx, b, "initial_bindack_timeout_ms", 100, 60000, &c->initial_bindack_timeout_ms);
	c->max_bindack_timeout_ms = 32000;	/* MAX_BINDACK_TIMEOUT, §12 */
	if (cfg_u32(ctx, b, "max_bindack_timeout_ms", 100, 600000, &c->max_bindack_timeout_ms) &&
	    c->max_bindack_timeout_ms < c->initial_bindack_timeout_ms)
		cfg_error(ctx, config_setting_get_member(b, "max_bindack_timeout_ms"),
			  "%u ms is below initial_bindack_timeout_ms (%u ms)",
			  c->max_bindack_timeout_ms, c->initial_bindack_timeout_ms);
	c->max_retries = 8;
	cfg_u32(ctx, b, "max_retries", 0, 64, &c->max_retries);
	c->optimistic_first_bu = true;
	cfg_bool(ctx, b, "optimistic_first_bu", &c->optimistic_first_bu);
	c->iid = MN_IID_EUI64;
	if (cfg_string(ctx, b, "iid", false, &iid) && iid) {
		if (strcmp(iid, "eui64") == 0)
			c->iid = MN_IID_EUI64;
		else if (strcmp(iid, "stable") == 0)
			c->iid = MN_IID_STABLE;
		else
			cfg_error(ctx, config_setting_get_member(b, "iid"),
				  "'%s' is neither \"eui64\" nor \"stable\"", iid);
	}
	c->rs_interval_ms = 1000;
	cfg_u32(ctx, b, "rs_interval_ms", 50, 60000, &c->rs_interval_ms);
	c->rs_count = 3;			/* MAX_RTR_SOLICITATIONS, RFC 4861 §10 */
	cfg_u32(ctx, b, "rs_count", 0, 16, &c->rs_count);
	c->dhaad_timeout_ms = 3000;		/* INITIAL_DHAAD_TIMEOUT, §12 */
	cfg_u32(ctx, b, "dhaad_timeout_ms", 100, 60000, &c->dhaad_timeout_ms);
	c->dhaad_retries = 4;			/* DHAAD_RETRIES, §12 */
	cfg_u32(ctx, b, "dhaad_retries", 0, 16, &c->dhaad_retries);
	c->mps_before_s = 60;
	cfg_u32(ctx, b, "prefix_solicit_before_s", 0, 86400, &c->mps_before_s);
}

static void parse_ro(struct cfg_ctx *ctx, const config_setting_t *b, struct mn_config *c)
{
	c->route_optimisation = false;
	cfg_bool(ctx, b, "route_optimisation", &c->route_optimisation);
	const config_setting_t *l = cfg_member(ctx, b, "correspondents", CONFIG_TYPE_ARRAY, false);
	if (!l)
		return;
	if (!c->route_optimisation && config_setting_length(l) > 0)
		cfg_error(ctx, l, "correspondents need route_optimisation = true");
	for (int i = 0; i < config_setting_length(l); i++) {
		const config_setting_t *e = config_setting_get_elem(l, (unsigned)i);
		const char *s = config_setting_get_string(e);
		struct in6_addr a;
		if (!s || inet_pton(AF_INET6, s, &a) != 1) {
			cfg_error(ctx, e, "correspondents are IPv6 addresses in strings");
			continue;
		}
		if (c->n_correspondents >= MN_MAX_CNS) {
			cfg_error(ctx, e, "more than %d correspondents", MN_MAX_CNS);
			return;
		}
		if (a.s6_addr[0] == 0xff || ipv6_bad_hoa(a.s6_addr)) {
			cfg_error(ctx, e, "'%s' is not a global unicast address", s);
			continue;
		}
		c->correspondents[c->n_correspondents++] = a;
	}
}

/* ipsec = { xform; mh_spi_in; ... tun_key_out; esp_sa_file; }: the mirror
 * of the home agent's binding for our home address. */
static void parse_ipsec(struct cfg_ctx *ctx, const config_setting_t *b, struct mn_config *c)
{
	static const char *const ipsec_known[] = {
		"xform", "mh_spi_in", "mh_spi_out", "mh_key_in", "mh_key_out", "tun_spi_in",
		"tun_spi_out", "tun_key_in", "tun_key_out", "esp_sa_file", "ike", NULL,
	};
	const config_setting_t *g = cfg_member(ctx, b, "ipsec", CONFIG_TYPE_GROUP, false);
	const char *path = NULL;

	if (!g)
		return;
	cfg_check_known(ctx, g, ipsec_known);
	if (config_setting_get_member(g, "ike"))
		c->has_ipsec = mip6_ike_config_parse(ctx, g, MIP6_SEC_MN, &c->ike);
	else
		c->has_ipsec = mip6_sec_keycfg_parse(ctx, g, &c->ipsec);
	/* Room for IPv6 + ESP outside (docs/mip6-transport.md "With IPsec"). */
	if (c->has_ipsec && !config_setting_get_member(b, "tun_mtu"))
		c->tun_mtu = 1320;
	if (cfg_string(ctx, g, "esp_sa_file", false, &path) && path) {
		if (!path[0] || strlen(path) >= sizeof(c->esp_sa_file))
			cfg_error(ctx, config_setting_get_member(g, "esp_sa_file"),
				  "must be a path of 1 to %zu characters", sizeof(c->esp_sa_file) - 1);
		else
			snprintf(c->esp_sa_file, sizeof(c->esp_sa_file), "%s", path);
	}
}

void *mn_config_parse(struct cfg_ctx *ctx, const config_setting_t *block)
{
	size_t before = ctx->n_errors;
	struct mn_config *c;

	if (!block) {
		cfg_error(ctx, NULL, "role 'mn' needs an 'mn' block with home_address, "
			  "home_prefix and interfaces");
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	cfg_check_known(ctx, block, known);
	parse_addresses(ctx, block, c);
	parse_v4(ctx, block, c);
	parse_ifaces(ctx, block, c);
	parse_tunnel(ctx, block, c);
	parse_timers(ctx, block, c);
	parse_ro(ctx, block, c);
	parse_ipsec(ctx, block, c);
	if (ctx->n_errors != before) {
		mn_config_free(c);
		return NULL;
	}
	return c;
}

void mn_config_free(void *cfg)
{
	struct mn_config *c = cfg;

	if (c)
		mip6_ike_config_free(c->ike);
	free(cfg);
}
