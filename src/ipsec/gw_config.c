/* Parsing and validation of the `ipsec` block (docs/config-ipsec.md). Every
 * value is copied; nothing points into the libconfig tree. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config.h"
#include "ikev2/ike_config.h"
#include "ipsec/esp.h"
#include "ipsec/gw.h"
#include "ipsec/pad.h"
#include "wire/ikev2.h"
#include "net/udp.h"

static const config_setting_t *member(const config_setting_t *g, const char *name)
{
	return config_setting_get_member(g, name);
}

static const struct {
	const char *name;
	enum esp_xform x;
	size_t enc, auth;
} xforms[] = {
	{ "aes128gcm16", ESP_XFORM_AES_GCM_16, 16 + 4, 0 },
	{ "aes256gcm16", ESP_XFORM_AES_GCM_16, 32 + 4, 0 },
	{ "chacha20poly1305", ESP_XFORM_CHACHA20_POLY1305, 32 + 4, 0 },
	{ "aes128-sha256", ESP_XFORM_AES_CBC_HMAC_SHA256, 16, 32 },
	{ "aes256-sha256", ESP_XFORM_AES_CBC_HMAC_SHA256, 32, 32 },
};

bool gw_xform_parse(const char *name, enum esp_xform *x, size_t *enc_key_len,
		    size_t *auth_key_len)
{
	for (size_t i = 0; i < sizeof(xforms) / sizeof(xforms[0]); i++)
		if (strcmp(name, xforms[i].name) == 0) {
			*x = xforms[i].x;
			*enc_key_len = xforms[i].enc;
			*auth_key_len = xforms[i].auth;
			return true;
		}
	return false;
}

unsigned gw_overhead(enum esp_xform xform, unsigned outer_ip)
{
	/* UDP, SPI + Seq, IV, worst padding, pad length + NH, ICV. */
	if (xform == ESP_XFORM_AES_CBC_HMAC_SHA256)
		return outer_ip + 8 + ESP_HDR_LEN + 16 + 15 + 2 + SA_ICV_LEN;
	return outer_ip + 8 + ESP_HDR_LEN + 8 + 3 + 2 + SA_ICV_LEN;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void parse_key(struct cfg_ctx *ctx, const config_setting_t *g, const char *name,
		      size_t want, const char *xname, uint8_t *out)
{
	const char *s = NULL;

	if (!cfg_string(ctx, g, name, true, &s) || !s)
		return;
	const config_setting_t *at = member(g, name);
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++)
		if (hexval(s[i]) < 0) {
			cfg_error(ctx, at, "'%c' is not a hexadecimal digit", s[i]);
			return;
		}
	if (n != 2 * want) {
		cfg_error(ctx, at, "%s needs %zu octets (%zu hex digits), got %zu digits", xname,
			  want, 2 * want, n);
		return;
	}
	for (size_t i = 0; i < want; i++)
		out[i] = (uint8_t)(hexval(s[2 * i]) << 4 | hexval(s[2 * i + 1]));
}

static void parse_spi(struct cfg_ctx *ctx, const config_setting_t *g, const char *name,
		      uint32_t *out)
{
	const config_setting_t *s = member(g, name);
	long long v;

	/* libconfig reads 0x80000000..0xffffffff as a negative 32-bit int:
	 * hexadecimal SPIs are taken as the 32 bits they spell. */
	if (s && config_setting_type(s) == CONFIG_TYPE_INT &&
	    config_setting_get_format(s) == CONFIG_FORMAT_HEX && config_setting_get_int(s) < 0) {
		*out = (uint32_t)config_setting_get_int(s);
		return;
	}
	/* RFC 4303 2.1: 1..255 are reserved, 0 means "no SA" (and is the
	 * non-ESP marker on the NAT-T port). */
	if (cfg_int(ctx, g, name, true, 256, UINT32_MAX, &v) && s)
		*out = (uint32_t)v;
}

static size_t parse_ts(struct cfg_ctx *ctx, const config_setting_t *g, const char *name,
		       struct ip_prefix *out)
{
	const config_setting_t *l = cfg_member(ctx, g, name, CONFIG_TYPE_ARRAY, true);
	size_t n = 0;

	if (!l)
		return 0;
	if (config_setting_length(l) == 0)
		cfg_error(ctx, l, "must list at least one prefix");
	for (int i = 0; i < config_setting_length(l); i++) {
		const config_setting_t *e = config_setting_get_elem(l, (unsigned)i);

		if (n >= GW_MAX_TS) {
			cfg_error(ctx, e, "more than %d prefixes", GW_MAX_TS);
			break;
		}
		if (!cfg_prefix_value(ctx, e, AF_UNSPEC, false, &out[n]))
			continue;
		if (!ip_prefix_is_network(&out[n])) {
			char buf[INET6_ADDRSTRLEN + 8];
			cfg_error(ctx, e, "'%s' has host bits set",
				  ip_prefix_fmt(&out[n], buf, sizeof(buf)));
			continue;
		}
		n++;
	}
	return n;
}

/* "addr", "v4:port" or "[v6]:port". */
static void parse_remote(struct cfg_ctx *ctx, const config_setting_t *g, uint16_t natt,
			 const struct ip_addr *listen, struct gw_manual_cfg *m)
{
	const char *s = NULL;
	struct sockaddr_storage ss;
	size_t sslen;

	if (!cfg_string(ctx, g, "remote", true, &s) || !s)
		return;
	m->remote_port = natt;
	if (ip_addr_parse(s, AF_UNSPEC, &m->remote) != ADDR_OK &&
	    !(sockaddr_parse(s, &ss, &sslen) &&
	      udp_sockaddr_addr((struct sockaddr *)&ss, &m->remote, &m->remote_port) &&
	      m->remote_port)) {
		cfg_error(ctx, member(g, "remote"),
			  "'%s' is not ADDRESS, IPv4:PORT or [IPv6]:PORT", s);
		return;
	}
	/* An IPv4 socket cannot reach an IPv6 peer; "::" is dual stack. */
	if (listen->family == AF_INET && m->remote.family == AF_INET6)
		cfg_error(ctx, member(g, "remote"),
			  "'%s' is IPv6 but listen is IPv4: use listen = \"::\"", s);
	else if (listen->family == AF_INET6 && m->remote.family == AF_INET &&
		 !IN6_IS_ADDR_UNSPECIFIED(&listen->v6))
		cfg_error(ctx, member(g, "remote"),
			  "'%s' is IPv4 but listen is a specific IPv6 address", s);
}

static void parse_mode(struct cfg_ctx *ctx, const config_setting_t *g, struct gw_manual_cfg *m)
{
	const char *s = NULL;

	m->mode = SA_MODE_TUNNEL;
	if (!cfg_string(ctx, g, "mode", false, &s) || !s)
		return;
	if (strcmp(s, "tunnel") == 0)
		m->mode = SA_MODE_TUNNEL;
	else if (strcmp(s, "transport") == 0)
		m->mode = SA_MODE_TRANSPORT;
	else
		cfg_error(ctx, member(g, "mode"), "unknown mode '%s' (tunnel, transport)", s);
}

/* Transport mode rebuilds the inner header from the selectors: one host
 * each side, one family. */
static void check_transport(struct cfg_ctx *ctx, const config_setting_t *g,
			    const struct gw_manual_cfg *m)
{
	const struct ip_prefix *l = &m->local_ts[0], *r = &m->remote_ts[0];

	if (m->mode != SA_MODE_TRANSPORT || !m->n_local_ts || !m->n_remote_ts)
		return;
	if (m->n_local_ts != 1 || m->n_remote_ts != 1 ||
	    l->len != ip_addr_len(&l->addr) * 8 || r->len != ip_addr_len(&r->addr) * 8 ||
	    l->addr.family != r->addr.family)
		cfg_error(ctx, member(g, "mode"),
			  "transport mode needs exactly one host address (/32 or /128) of one family in local_ts and in remote_ts");
}

static void parse_manual(struct cfg_ctx *ctx, const config_setting_t *g, struct gw_config *c)
{
	static const char *const known[] = {
		"remote", "mode", "xform", "esn", "spi_in", "spi_out", "key_in", "key_out",
		"local_ts", "remote_ts", NULL,
	};
	struct gw_manual_cfg *m = &c->manual[c->n_manual];
	const char *x = NULL;
	size_t before = ctx->n_errors;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		cfg_error(ctx, g, "must be a group { remote = ...; }");
		return;
	}
	memset(m, 0, sizeof(*m));
	cfg_check_known(ctx, g, known);
	parse_remote(ctx, g, c->natt_port, &c->listen, m);
	parse_mode(ctx, g, m);
	if (cfg_string(ctx, g, "xform", true, &x) && x &&
	    !gw_xform_parse(x, &m->xform, &m->enc_key_len, &m->auth_key_len)) {
		cfg_error(ctx, member(g, "xform"),
			  "unknown transform '%s' (aes128gcm16, aes256gcm16, chacha20poly1305, aes128-sha256, aes256-sha256)",
			  x);
		x = NULL;
	}
	cfg_bool(ctx, g, "esn", &m->esn);
	parse_spi(ctx, g, "spi_in", &m->spi_in);
	parse_spi(ctx, g, "spi_out", &m->spi_out);
	if (x) {
		parse_key(ctx, g, "key_in", m->enc_key_len + m->auth_key_len, x, m->key_in);
		parse_key(ctx, g, "key_out", m->enc_key_len + m->auth_key_len, x, m->key_out);
	}
	m->n_local_ts = parse_ts(ctx, g, "local_ts", m->local_ts);
	m->n_remote_ts = parse_ts(ctx, g, "remote_ts", m->remote_ts);
	check_transport(ctx, g, m);
	if (ctx->n_errors != before)
		return;
	for (size_t i = 0; i < c->n_manual; i++)
		if (c->manual[i].spi_in == m->spi_in) {
			cfg_error(ctx, member(g, "spi_in"), "0x%x is also spi_in of manual[%zu]",
				  m->spi_in, i);
			return;
		}
	c->n_manual++;
}

static void parse_tun(struct cfg_ctx *ctx, const config_setting_t *b, struct gw_config *c)
{
	const char *s = NULL;
	const config_setting_t *l;

	if (cfg_string(ctx, b, "tun", false, &s) && s) {
		if (strlen(s) >= IFNAMSIZ)
			cfg_error(ctx, member(b, "tun"),
				  "must be an interface name of 1 to %d characters", IFNAMSIZ - 1);
		else
			snprintf(c->tun, sizeof(c->tun), "%s", s);
	}
	l = cfg_member(ctx, b, "tun_addresses", CONFIG_TYPE_ARRAY, false);
	for (int i = 0; l && i < config_setting_length(l); i++) {
		const config_setting_t *e = config_setting_get_elem(l, (unsigned)i);

		if (c->n_tun_addrs >= GW_MAX_TUN_ADDRS) {
			cfg_error(ctx, e, "more than %d addresses", GW_MAX_TUN_ADDRS);
			break;
		}
		if (cfg_prefix_value(ctx, e, AF_UNSPEC, true, &c->tun_addrs[c->n_tun_addrs]))
			c->n_tun_addrs++;
	}
}

static void parse_ports(struct cfg_ctx *ctx, const config_setting_t *b, struct gw_config *c)
{
	uint32_t v;
	const char *s = NULL;

	if (cfg_string(ctx, b, "listen", false, &s) && s &&
	    ip_addr_parse(s, AF_UNSPEC, &c->listen) != ADDR_OK)
		cfg_error(ctx, member(b, "listen"), "'%s' is not an IPv4 or IPv6 address", s);
	v = GW_IKE_PORT;
	cfg_u32(ctx, b, "ike_port", 1, 65535, &v);
	c->ike_port = (uint16_t)v;
	v = GW_NATT_PORT;
	cfg_u32(ctx, b, "natt_port", 1, 65535, &v);
	c->natt_port = (uint16_t)v;
	if (c->ike_port == c->natt_port)
		cfg_error(ctx, member(b, "natt_port") ? member(b, "natt_port") : member(b, "ike_port"),
			  "ike_port and natt_port must differ (both %u)", c->ike_port);
	v = 2;
	cfg_u32(ctx, b, "workers", 1, GW_MAX_WORKERS, &v);
	c->workers = v;
	c->offload = true;
	cfg_bool(ctx, b, "offload", &c->offload);
	v = GW_LIFETIME_POLL_MS;
	cfg_u32(ctx, b, "lifetime_poll_ms", 0, 60000, &v);
	c->lifetime_poll_ms = v;
	if (cfg_string(ctx, b, "esp_sa_file", false, &s) && s && member(b, "esp_sa_file")) {
		if (strlen(s) >= sizeof(c->esp_sa_file))
			cfg_error(ctx, member(b, "esp_sa_file"), "path too long");
		else
			snprintf(c->esp_sa_file, sizeof(c->esp_sa_file), "%s", s);
	}
}

/* The IKE engine's block, parsed by the engine's own parser. */
static void parse_ike(struct cfg_ctx *ctx, const config_setting_t *b, struct gw_config *c)
{
	const config_setting_t *g = cfg_member(ctx, b, "ike", CONFIG_TYPE_GROUP, false);

	if (!g)
		return;
	if (!(c->ike = calloc(1, sizeof(*c->ike)))) {
		cfg_error(ctx, g, "out of memory");
		return;
	}
	ike_config_parse(ctx, g, c->ike);
}

static const struct {
	const char *name;
	uint8_t type;
} pad_types[] = {
	{ "fqdn", IKEV2_ID_FQDN }, { "email", IKEV2_ID_RFC822_ADDR },
	{ "ipv4", IKEV2_ID_IPV4_ADDR }, { "ipv6", IKEV2_ID_IPV6_ADDR },
	{ "dn", IKEV2_ID_DER_ASN1_DN },
};

static const char *const pad_matches[] = { "exact", "suffix", "subtree", "range" };

/* One `pad` entry: { id = "fqdn:*.example"; match = "suffix";
 * ts = ["10.10.0.0/24"]; claim_self = false; } */
static void parse_pad_entry(struct cfg_ctx *ctx, const config_setting_t *g, struct pad_entry *e)
{
	static const char *const known[] = { "id", "match", "ts", "claim_self", NULL };
	const char *id = NULL, *m = NULL, *colon;
	enum pad_match match = PAD_MATCH_EXACT;
	enum pad_err err;
	size_t k;

	memset(e, 0, sizeof(*e));
	cfg_check_known(ctx, g, known);
	if (!cfg_string(ctx, g, "id", true, &id) || !id)
		return;
	if (cfg_string(ctx, g, "match", false, &m) && m) {
		for (k = 0; k < 4 && strcmp(m, pad_matches[k]); k++)
			;
		if (k == 4) {
			cfg_error(ctx, member(g, "match"),
				  "unknown match '%s' (exact, suffix, subtree, range)", m);
			return;
		}
		match = (enum pad_match)k;
	}
	colon = strchr(id, ':');
	for (k = 0; colon && k < sizeof(pad_types) / sizeof(pad_types[0]); k++)
		if (strlen(pad_types[k].name) == (size_t)(colon - id) &&
		    !strncmp(id, pad_types[k].name, (size_t)(colon - id)))
			break;
	if (!colon || k == sizeof(pad_types) / sizeof(pad_types[0])) {
		cfg_error(ctx, member(g, "id"),
			  "'%s': want TYPE:VALUE with TYPE fqdn, email, ipv4, ipv6 or dn", id);
		return;
	}
	if ((err = pad_entry_set_id(e, pad_types[k].type, match, colon + 1)) != PAD_OK) {
		cfg_error(ctx, member(g, "id"), "'%s' (match %s): %s", id, pad_matches[match],
			  pad_strerror(err));
		return;
	}
	cfg_bool(ctx, g, "claim_self", &e->claim_self);
	struct ip_prefix ts[GW_MAX_TS];
	size_t n = member(g, "ts") ? parse_ts(ctx, g, "ts", ts) : 0;
	for (size_t i = 0; i < n; i++)
		if ((err = pad_entry_add_prefix(e, &ts[i])) != PAD_OK)
			cfg_error(ctx, member(g, "ts"), "%s", pad_strerror(err));
	if (!n && !e->claim_self)
		cfg_error(ctx, g, "needs ts = [...] or claim_self = true");
}

static void parse_pad(struct cfg_ctx *ctx, const config_setting_t *b, struct gw_config *c)
{
	const config_setting_t *l = cfg_member(ctx, b, "pad", CONFIG_TYPE_LIST, false);
	int n = l ? config_setting_length(l) : 0;

	if (!l)
		return;
	if (!c->ike)
		cfg_error(ctx, l, "a PAD needs the ike block");
	if (!(c->pad = calloc((size_t)(n ? n : 1), sizeof(*c->pad)))) {
		cfg_error(ctx, l, "out of memory");
		return;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(l, (unsigned)i);
		size_t before = ctx->n_errors;

		if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
			cfg_error(ctx, g, "must be a group { id = ...; ts = [...]; }");
			continue;
		}
		parse_pad_entry(ctx, g, &c->pad[c->n_pad]);
		if (ctx->n_errors == before) {
			c->pad[c->n_pad].priority = (uint32_t)c->n_pad;
			c->n_pad++;
		}
	}
}

/* Default MTU: 1500 less the worst overhead of the configured transforms
 * (CBC when none is configured yet: IKE may pick it). */
static void parse_mtu(struct cfg_ctx *ctx, const config_setting_t *b, struct gw_config *c)
{
	unsigned outer = c->listen.family == AF_INET ? 20 : 40, worst = 0;
	bool v6 = false;

	for (size_t i = 0; i < c->n_manual; i++) {
		unsigned o = gw_overhead(c->manual[i].xform, outer);
		if (o > worst)
			worst = o;
	}
	if (!c->n_manual || c->ike)
		worst = gw_overhead(ESP_XFORM_AES_CBC_HMAC_SHA256, outer);
	c->tun_mtu = 1500 - worst;
	cfg_u32(ctx, b, "tun_mtu", 576, 3900, &c->tun_mtu);
	for (size_t i = 0; i < c->n_tun_addrs; i++)
		v6 |= c->tun_addrs[i].addr.family == AF_INET6;
	for (size_t i = 0; i < c->n_manual; i++)
		for (size_t k = 0; k < c->manual[i].n_local_ts; k++)
			v6 |= c->manual[i].local_ts[k].addr.family == AF_INET6;
	if (v6 && c->tun_mtu < 1280)
		cfg_error(ctx, member(b, "tun_mtu") ? member(b, "tun_mtu") : b,
			  "%u is below the IPv6 minimum 1280 and the TUN carries IPv6",
			  c->tun_mtu);
}

void *gw_config_parse(struct cfg_ctx *ctx, const config_setting_t *b)
{
	static const char *const known[] = {
		"tun", "tun_mtu", "tun_addresses", "listen", "ike_port", "natt_port", "workers",
		"offload", "lifetime_poll_ms", "esp_sa_file", "manual", "ike", "pad", NULL,
	};
	size_t before = ctx->n_errors;
	struct gw_config *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	snprintf(c->tun, sizeof(c->tun), "%s", GW_DEFAULT_TUN);
	c->listen.family = AF_INET;
	if (b) {
		cfg_check_known(ctx, b, known);
		parse_tun(ctx, b, c);
		parse_ports(ctx, b, c);
		const config_setting_t *l = cfg_member(ctx, b, "manual", CONFIG_TYPE_LIST, false);
		for (int i = 0; l && i < config_setting_length(l); i++) {
			const config_setting_t *g = config_setting_get_elem(l, (unsigned)i);
			if (c->n_manual >= GW_MAX_MANUAL) {
				cfg_error(ctx, g, "more than %d manual SAs", GW_MAX_MANUAL);
				break;
			}
			parse_manual(ctx, g, c);
		}
		parse_ike(ctx, b, c);
		parse_pad(ctx, b, c);
	} else {
		c->ike_port = GW_IKE_PORT;
		c->natt_port = GW_NATT_PORT;
		c->workers = 2;
		c->offload = true;
		c->lifetime_poll_ms = GW_LIFETIME_POLL_MS;
	}
	if (b)
		parse_mtu(ctx, b, c);
	else
		c->tun_mtu = 1500 - gw_overhead(ESP_XFORM_AES_CBC_HMAC_SHA256, 20);
	if (ctx->n_errors != before) {
		gw_config_free(c);
		return NULL;
	}
	return c;
}

void gw_config_free(void *cfg)
{
	struct gw_config *c = cfg;

	if (c && c->ike) {
		ike_config_free(c->ike);
		free(c->ike);
	}
	if (c)
		free(c->pad);
	free(c);
}
