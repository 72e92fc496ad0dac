/* Parsing and validation of the `ar` block (docs/config-ar.md). Every value
 * is copied; nothing points into the libconfig tree. */
#include "ar/ar.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config.h"

static const char *const iface_known[] = {
	"name", "min_interval_ms", "max_interval_ms", "min_delay_between_ras_ms",
	"max_ra_delay_ms", "solicited_unicast", "solicited_rate", "managed", "other_config",
	"home_agent", "hop_limit", "router_lifetime", "reachable_time", "retrans_timer", "mtu",
	"source_lladdr", "advertisement_interval", "home_agent_info", "prefixes", "map", NULL,
};

static const config_setting_t *member(const config_setting_t *g, const char *name)
{
	return config_setting_get_member(g, name);
}

static bool addr_is_link_local(const uint8_t *a) { return a[0] == 0xfe && (a[1] & 0xc0) == 0x80; }
static bool addr_is_unspecified(const uint8_t *a)
{
	static const uint8_t z[16];
	return memcmp(a, z, 16) == 0;
}
static bool addr_is_loopback(const uint8_t *a)
{
	static const uint8_t lo[16] = { [15] = 1 };
	return memcmp(a, lo, 16) == 0;
}

static void parse_name(struct cfg_ctx *ctx, const config_setting_t *e, struct ar_iface_cfg *ic,
		       const struct ar_config *c)
{
	const char *name = NULL;

	if (!cfg_string(ctx, e, "name", true, &name) || !name)
		return;
	const config_setting_t *s = member(e, "name");
	if (strlen(name) >= IFNAMSIZ) {
		cfg_error(ctx, s, "interface name longer than %d characters", IFNAMSIZ - 1);
		return;
	}
	cfg_iface_declared(ctx, s, name);
	for (size_t i = 0; i < c->n_ifaces; i++)
		if (strcmp(c->ifaces[i].name, name) == 0)
			cfg_error(ctx, s, "interface '%s' is listed twice", name);
	snprintf(ic->name, sizeof(ic->name), "%s", name);
}

static void parse_intervals(struct cfg_ctx *ctx, const config_setting_t *e,
			    struct ar_iface_cfg *ic)
{
	ic->max_interval_ms = 600000;	/* RFC 4861 default 600 s */
	cfg_u32(ctx, e, "max_interval_ms", AR_MAX_RTR_ADV_MIN_MS, AR_MAX_RTR_ADV_MAX_MS,
		&ic->max_interval_ms);
	/* RFC 4861 default 0.33 * MaxRtrAdvInterval, never under RFC 6275's floor. */
	ic->min_interval_ms = ic->max_interval_ms / 3;
	if (ic->min_interval_ms < AR_MIN_RTR_ADV_MS)
		ic->min_interval_ms = AR_MIN_RTR_ADV_MS;
	if (cfg_u32(ctx, e, "min_interval_ms", AR_MIN_RTR_ADV_MS, AR_MAX_RTR_ADV_MAX_MS,
		    &ic->min_interval_ms) &&
	    (uint64_t)ic->min_interval_ms * 4 > (uint64_t)ic->max_interval_ms * 3)
		cfg_error(ctx, member(e, "min_interval_ms"),
			  "%u ms exceeds 0.75 * max_interval_ms (%u ms) (RFC 4861 §6.2.1)",
			  ic->min_interval_ms, ic->max_interval_ms * 3 / 4);
	ic->min_delay_between_ras_ms = ic->min_interval_ms < AR_MIN_DELAY_BETWEEN_RAS_MS ?
					       ic->min_interval_ms : AR_MIN_DELAY_BETWEEN_RAS_MS;
	cfg_u32(ctx, e, "min_delay_between_ras_ms", AR_MIN_RTR_ADV_MS, AR_MAX_RTR_ADV_MAX_MS,
		&ic->min_delay_between_ras_ms);
	ic->max_ra_delay_ms = 0;
	cfg_u32(ctx, e, "max_ra_delay_ms", 0, AR_MAX_RA_DELAY_TIME_MS, &ic->max_ra_delay_ms);
	ic->solicited_unicast = true;
	cfg_bool(ctx, e, "solicited_unicast", &ic->solicited_unicast);
	ic->solicited_rate = 10;
	cfg_u32(ctx, e, "solicited_rate", 1, 1000, &ic->solicited_rate);
}

static void parse_header(struct cfg_ctx *ctx, const config_setting_t *e, struct ar_iface_cfg *ic)
{
	const struct node_config *nc = cfg_current_node();
	uint32_t v;

	cfg_bool(ctx, e, "managed", &ic->managed);
	cfg_bool(ctx, e, "other_config", &ic->other_config);
	cfg_bool(ctx, e, "home_agent", &ic->home_agent);
	v = 64;
	cfg_u32(ctx, e, "hop_limit", 0, 255, &v);
	ic->hop_limit = (uint8_t)v;

	/* RFC 4861 default 3 * MaxRtrAdvInterval, in whole seconds. */
	uint32_t floor_s = (ic->max_interval_ms + 999) / 1000;
	v = (3 * ic->max_interval_ms + 999) / 1000;
	if (v > AR_MAX_ROUTER_LIFETIME)
		v = AR_MAX_ROUTER_LIFETIME;
	if (cfg_u32(ctx, e, "router_lifetime", 0, AR_MAX_ROUTER_LIFETIME, &v) && v && v < floor_s)
		cfg_error(ctx, member(e, "router_lifetime"),
			  "%u s is below max_interval_ms (%u ms): use 0 or at least %u (RFC 4861 §6.2.1)",
			  v, ic->max_interval_ms, floor_s);
	ic->router_lifetime = (uint16_t)v;
	cfg_u32(ctx, e, "reachable_time", 0, AR_MAX_REACHABLE_TIME, &ic->reachable_time);
	cfg_u32(ctx, e, "retrans_timer", 0, UINT32_MAX, &ic->retrans_timer);

	/* Default: the MTU the node configures on the interface, if any. */
	const struct iface_config *nic = nc && ic->name[0] ? node_config_iface(nc, ic->name) : NULL;
	ic->mtu = nic ? nic->mtu : 0;
	if (cfg_u32(ctx, e, "mtu", 0, 65535, &ic->mtu) && ic->mtu && ic->mtu < 1280)
		cfg_error(ctx, member(e, "mtu"),
			  "%u is below the IPv6 minimum 1280 (0 omits the MTU option)", ic->mtu);
	ic->source_lladdr = true;
	cfg_bool(ctx, e, "source_lladdr", &ic->source_lladdr);
	ic->advertisement_interval = true;
	cfg_bool(ctx, e, "advertisement_interval", &ic->advertisement_interval);
}

static void parse_ha_info(struct cfg_ctx *ctx, const config_setting_t *e, struct ar_iface_cfg *ic)
{
	static const char *const known[] = { "preference", "lifetime", NULL };
	const config_setting_t *g = cfg_member(ctx, e, "home_agent_info", CONFIG_TYPE_GROUP, false);
	long long v;

	if (!g)
		return;
	if (!ic->home_agent) {
		cfg_error(ctx, g, "only valid with home_agent = true");
		return;
	}
	cfg_check_known(ctx, g, known);
	ic->ha_info = true;
	v = 0;
	if (cfg_int(ctx, g, "preference", false, INT16_MIN, INT16_MAX, &v))
		ic->ha_preference = (int16_t)v;
	/* RFC 6275 §7.4: the default is the router lifetime; 0 is forbidden. */
	v = ic->router_lifetime;
	if (!member(g, "lifetime") && v == 0)
		cfg_error(ctx, g, "lifetime is required when router_lifetime = 0 (0 is not a valid home agent lifetime)");
	if (cfg_int(ctx, g, "lifetime", false, 1, 65535, &v))
		ic->ha_lifetime = (uint16_t)v;
}

static bool prefix_value(struct cfg_ctx *ctx, const config_setting_t *g,
			 struct ar_prefix_cfg *p)
{
	const config_setting_t *s = member(g, "prefix");
	char buf[INET6_ADDRSTRLEN + 8], net[INET6_ADDRSTRLEN + 8];

	if (!cfg_prefix(ctx, g, "prefix", true, AF_INET6, true, &p->prefix) || !s)
		return false;
	const uint8_t *a = p->prefix.addr.bytes;
	ip_prefix_fmt(&p->prefix, buf, sizeof(buf));
	if (addr_is_link_local(a) || a[0] == 0xff) {
		cfg_error(ctx, s, "'%s' is %s; only global or unique local prefixes are advertised",
			  buf, a[0] == 0xff ? "multicast" : "link-local");
		return false;
	}
	bool network = ip_prefix_is_network(&p->prefix);
	if (!p->router_address && !network) {
		struct ip_prefix n = p->prefix;
		for (unsigned i = p->prefix.len; i < 128; i++)
			n.addr.bytes[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
		ip_prefix_fmt(&n, net, sizeof(net));
		cfg_error(ctx, s, "'%s' has host bits set: write %s, or set router_address = true to advertise the router's address",
			  buf, net);
		return false;
	}
	if (p->router_address && network && p->prefix.len < 128) {
		cfg_error(ctx, s, "router_address = true needs the router's full address in the prefix (R flag, RFC 6275 §7.2), not the network '%s'",
			  buf);
		return false;
	}
	if (p->autonomous && p->prefix.len != 64) {
		cfg_error(ctx, s, "autonomous = true needs a /64 (64-bit interface identifiers, RFC 4862); '%s' is a /%u: set autonomous = false",
			  buf, p->prefix.len);
		return false;
	}
	return true;
}

static void parse_prefix(struct cfg_ctx *ctx, const config_setting_t *g, struct ar_iface_cfg *ic)
{
	static const char *const known[] = { "prefix", "on_link", "autonomous", "router_address",
					     "valid_lifetime", "preferred_lifetime", NULL };
	struct ar_prefix_cfg *p = &ic->prefixes[ic->n_prefixes];
	size_t before = ctx->n_errors;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		cfg_error(ctx, g, "must be a group { prefix = \"...\"; }");
		return;
	}
	cfg_check_known(ctx, g, known);
	p->on_link = p->autonomous = true;
	p->router_address = false;
	cfg_bool(ctx, g, "on_link", &p->on_link);
	cfg_bool(ctx, g, "autonomous", &p->autonomous);
	cfg_bool(ctx, g, "router_address", &p->router_address);
	/* RFC 4861 §6.2.1 defaults: 30 days valid, 7 days preferred. */
	p->valid_lifetime = 2592000;
	cfg_u32(ctx, g, "valid_lifetime", 0, UINT32_MAX, &p->valid_lifetime);
	p->preferred_lifetime = p->valid_lifetime < 604800 ? p->valid_lifetime : 604800;
	if (cfg_u32(ctx, g, "preferred_lifetime", 0, UINT32_MAX, &p->preferred_lifetime) &&
	    p->preferred_lifetime > p->valid_lifetime)
		cfg_error(ctx, member(g, "preferred_lifetime"), "%u exceeds valid_lifetime %u",
			  p->preferred_lifetime, p->valid_lifetime);
	if (!prefix_value(ctx, g, p) || ctx->n_errors != before)
		return;
	for (size_t i = 0; i < ic->n_prefixes; i++) {
		const struct ip_prefix *o = &ic->prefixes[i].prefix;
		if (o->len == p->prefix.len && ip_prefix_contains(o, &p->prefix.addr)) {
			cfg_error(ctx, member(g, "prefix"), "same prefix as prefixes[%zu]", i);
			return;
		}
	}
	ic->n_prefixes++;
}

static void parse_map(struct cfg_ctx *ctx, const config_setting_t *g, struct ar_iface_cfg *ic)
{
	static const char *const known[] = { "address", "distance", "preference",
					     "valid_lifetime", "rcoa", NULL };
	struct ar_map_cfg *m = &ic->maps[ic->n_maps];
	struct ip_prefix a;
	uint32_t v;
	size_t before = ctx->n_errors;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		cfg_error(ctx, g, "must be a group { address = \"...\"; }");
		return;
	}
	cfg_check_known(ctx, g, known);
	if (cfg_prefix(ctx, g, "address", true, AF_INET6, false, &a) && member(g, "address")) {
		const char *txt = config_setting_get_string(member(g, "address"));
		if (a.len != 128)
			cfg_error(ctx, member(g, "address"), "'%s': the MAP's address, not a prefix",
				  txt);
		else if (addr_is_unspecified(a.addr.bytes) || addr_is_loopback(a.addr.bytes) ||
			 addr_is_link_local(a.addr.bytes) || a.addr.bytes[0] == 0xff)
			cfg_error(ctx, member(g, "address"),
				  "'%s' is not a global unicast address (RFC 5380 §4)", txt);
		memcpy(&m->addr, a.addr.bytes, 16);
	}
	v = 1;
	cfg_u32(ctx, g, "distance", 1, 15, &v);
	m->distance = (uint8_t)v;
	v = 10;
	cfg_u32(ctx, g, "preference", 0, 15, &v);
	m->preference = (uint8_t)v;
	m->valid_lifetime = 3600;
	cfg_u32(ctx, g, "valid_lifetime", 0, UINT32_MAX, &m->valid_lifetime);
	m->rcoa = true;
	cfg_bool(ctx, g, "rcoa", &m->rcoa);
	if (ctx->n_errors != before)
		return;
	for (size_t i = 0; i < ic->n_maps; i++)
		if (memcmp(&ic->maps[i].addr, &m->addr, 16) == 0) {
			cfg_error(ctx, member(g, "address"), "same MAP as map[%zu]", i);
			return;
		}
	ic->n_maps++;
}

static void parse_lists(struct cfg_ctx *ctx, const config_setting_t *e, struct ar_iface_cfg *ic)
{
	const config_setting_t *l = cfg_member(ctx, e, "prefixes", CONFIG_TYPE_LIST, false);

	for (int i = 0; l && i < config_setting_length(l); i++) {
		const config_setting_t *g = config_setting_get_elem(l, (unsigned)i);
		if (i >= ND_MAX_PREFIXES) {
			cfg_error(ctx, g, "more than %d prefixes", ND_MAX_PREFIXES);
			break;
		}
		parse_prefix(ctx, g, ic);
	}
	l = cfg_member(ctx, e, "map", CONFIG_TYPE_LIST, false);
	for (int i = 0; l && i < config_setting_length(l); i++) {
		const config_setting_t *g = config_setting_get_elem(l, (unsigned)i);
		if (i >= ND_MAX_MAPS) {
			cfg_error(ctx, g, "more than %d MAP options", ND_MAX_MAPS);
			break;
		}
		parse_map(ctx, g, ic);
	}
}

static void parse_iface(struct cfg_ctx *ctx, const config_setting_t *e, struct ar_config *c)
{
	struct ar_iface_cfg *ic = &c->ifaces[c->n_ifaces];

	if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
		cfg_error(ctx, e, "must be a group { name = ...; }");
		return;
	}
	memset(ic, 0, sizeof(*ic));
	cfg_check_known(ctx, e, iface_known);
	parse_name(ctx, e, ic, c);
	parse_intervals(ctx, e, ic);
	parse_header(ctx, e, ic);
	parse_ha_info(ctx, e, ic);
	parse_lists(ctx, e, ic);
	c->n_ifaces++;
}

void *ar_config_parse(struct cfg_ctx *ctx, const config_setting_t *block)
{
	static const char *const known[] = { "interfaces", NULL };
	size_t before = ctx->n_errors;
	struct ar_config *c;

	if (!block) {
		cfg_error(ctx, NULL, "role 'ar' needs an 'ar' block with its interfaces");
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	cfg_check_known(ctx, block, known);
	const config_setting_t *l = cfg_member(ctx, block, "interfaces", CONFIG_TYPE_LIST, true);
	if (l && config_setting_length(l) == 0)
		cfg_error(ctx, l, "must list at least one interface");
	for (int i = 0; l && i < config_setting_length(l); i++) {
		const config_setting_t *e = config_setting_get_elem(l, (unsigned)i);
		if (c->n_ifaces >= AR_MAX_IFACES) {
			cfg_error(ctx, e, "more than %d interfaces", AR_MAX_IFACES);
			break;
		}
		parse_iface(ctx, e, c);
	}
	if (ctx->n_errors != before) {
		free(c);
		return NULL;
	}
	return c;
}

void ar_config_free(void *cfg) { free(cfg); }

void ar_ra_fill(const struct ar_iface_cfg *ic, const uint8_t *lladdr, size_t lladdr_len,
		int router_lifetime_override, struct nd_ra *ra)
{
	memset(ra, 0, sizeof(*ra));
	ra->cur_hop_limit = ic->hop_limit;
	ra->managed = ic->managed;
	ra->other = ic->other_config;
	ra->home_agent = ic->home_agent;
	ra->router_lifetime = router_lifetime_override >= 0 ? (uint16_t)router_lifetime_override :
							      ic->router_lifetime;
	ra->reachable_time = ic->reachable_time;
	ra->retrans_timer = ic->retrans_timer;
	if (ic->source_lladdr && lladdr && lladdr_len > 0 && lladdr_len <= ND_LLADDR_MAX) {
		ra->has_slla = true;
		ra->slla.len = (uint8_t)lladdr_len;
		memcpy(ra->slla.addr, lladdr, lladdr_len);
	}
	if (ic->mtu) {
		ra->has_mtu = true;
		ra->mtu = ic->mtu;
	}
	if (ic->advertisement_interval) {
		/* RFC 6275 §7.3: MaxRtrAdvInterval, in milliseconds. */
		ra->has_adv_interval = true;
		ra->adv_interval_ms = ic->max_interval_ms;
	}
	if (ic->home_agent && ic->ha_info) {
		ra->has_ha_info = true;
		ra->ha_preference = ic->ha_preference;
		ra->ha_lifetime = ic->ha_lifetime;
	}
	for (size_t i = 0; i < ic->n_prefixes; i++) {
		const struct ar_prefix_cfg *p = &ic->prefixes[i];
		struct nd_prefix *pi = &ra->prefixes[ra->n_prefixes++];
		pi->prefix_len = p->prefix.len;
		pi->on_link = p->on_link;
		pi->autonomous = p->autonomous;
		pi->router_address = p->router_address;
		pi->valid_lifetime = p->valid_lifetime;
		pi->preferred_lifetime = p->preferred_lifetime;
		memcpy(pi->prefix, p->prefix.addr.bytes, 16);
	}
	for (size_t i = 0; i < ic->n_maps; i++) {
		const struct ar_map_cfg *m = &ic->maps[i];
		struct nd_map *o = &ra->maps[ra->n_maps++];
		o->dist = m->distance;
		o->pref = m->preference;
		o->rcoa = m->rcoa;
		o->valid_lifetime = m->valid_lifetime;
		memcpy(o->addr, &m->addr, 16);
	}
}
