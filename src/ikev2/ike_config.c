/* Parsing of the `ike` block (docs/config-ike.md). */
#include "ikev2/ike_config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "wire/ikev2.h"

static const char *const ike_known[] = {
	"certificate", "private_key", "ca", "crl", "local_id", "cookie_threshold",
	"fragment_mtu", "retransmit_timeout", "retransmit_tries", "half_open_timeout",
	"decryption_table", "natt_keepalive", "peers", NULL,
};

static const char *const peer_known[] = {
	"name", "remote", "remote_port", "local", "remote_id", "local_id", "auth", "local_auth",
	"psk", "ike_proposals", "esp_proposals", "mode", "local_ts", "remote_ts", "initiate",
	"rekey_time", "child_rekey_time", "child_rekey_bytes", "dpd", "children", NULL,
};

static const char *const child_known[] = {
	"name", "mode", "local_ts", "remote_ts", "esp_proposals", NULL,
};

void ike_config_defaults(struct ike_config *c)
{
	memset(c, 0, sizeof(*c));
	c->cookie_threshold = 100;
	c->fragment_mtu = 1280;
	c->retransmit_timeout_ms = 1000;
	c->retransmit_tries = 5;
	c->half_open_timeout = 30;
	c->natt_keepalive = 20;
}

void ike_config_free(struct ike_config *c)
{
	free(c->peers);
	c->peers = NULL;
	c->n_peers = 0;
}

const struct ike_peer_cfg *ike_config_peer(const struct ike_config *c, const char *name)
{
	for (size_t i = 0; i < c->n_peers; i++)
		if (strcmp(c->peers[i].name, name) == 0)
			return &c->peers[i];
	return NULL;
}

/* ---- identities ----------------------------------------------------------- */

/* "CN=a, O=b" or "/CN=a/O=b" into DER. */
static int dn_parse(const char *s, struct ike_id *id, char *err, size_t errlen)
{
	X509_NAME *n = X509_NAME_new();
	char buf[512], *save = NULL, *tok;
	const char *sep = s[0] == '/' ? "/" : ",";
	unsigned char *p;
	int len;

	if (!n || strlen(s) >= sizeof(buf)) {
		X509_NAME_free(n);
		snprintf(err, errlen, "distinguished name too long");
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, sep, &save); tok; tok = strtok_r(NULL, sep, &save)) {
		char *eq;

		while (*tok == ' ')
			tok++;
		eq = strchr(tok, '=');
		if (!eq || eq == tok || !eq[1]) {
			snprintf(err, errlen, "'%s' is not an attribute=value pair", tok);
			X509_NAME_free(n);
			return -1;
		}
		*eq = 0;
		if (!X509_NAME_add_entry_by_txt(n, tok, MBSTRING_UTF8, (unsigned char *)eq + 1,
						-1, -1, 0)) {
			snprintf(err, errlen, "unknown DN attribute '%s'", tok);
			X509_NAME_free(n);
			return -1;
		}
	}
	len = i2d_X509_NAME(n, NULL);
	if (len <= 0 || (size_t)len > sizeof(id->data)) {
		snprintf(err, errlen, "distinguished name does not encode");
		X509_NAME_free(n);
		return -1;
	}
	p = id->data;
	i2d_X509_NAME(n, &p);
	id->len = (size_t)len;
	id->type = IKEV2_ID_DER_ASN1_DN;
	X509_NAME_free(n);
	return 0;
}

static int id_set(struct ike_id *id, uint8_t type, const void *d, size_t len, char *err,
		  size_t errlen)
{
	if (len == 0 || len > sizeof(id->data)) {
		snprintf(err, errlen, "identity must have 1 to %zu octets", sizeof(id->data));
		return -1;
	}
	id->type = type;
	id->len = len;
	memcpy(id->data, d, len);
	return 0;
}

static int id_addr(const char *s, int family, struct ike_id *id, char *err, size_t errlen)
{
	struct ip_addr a;

	if (ip_addr_parse(s, family, &a) != ADDR_OK) {
		snprintf(err, errlen, "'%s' is not an IP%s address", s,
			 family == AF_INET6 ? "v6" : family == AF_INET ? "v4" : "");
		return -1;
	}
	return id_set(id, a.family == AF_INET ? IKEV2_ID_IPV4_ADDR : IKEV2_ID_IPV6_ADDR,
		      a.bytes, ip_addr_len(&a), err, errlen);
}

static int id_keyid(const char *s, struct ike_id *id, char *err, size_t errlen)
{
	size_t n = strlen(s);
	uint8_t b[IKE_ID_MAX];

	if (n == 0 || n % 2 || n / 2 > sizeof(b)) {
		snprintf(err, errlen, "keyid must be an even number of hex digits");
		return -1;
	}
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;

		if (!isxdigit((unsigned char)s[2 * i]) || !isxdigit((unsigned char)s[2 * i + 1]) ||
		    sscanf(s + 2 * i, "%2x", &v) != 1) {
			snprintf(err, errlen, "keyid must be hex digits");
			return -1;
		}
		b[i] = (uint8_t)v;
	}
	return id_set(id, IKEV2_ID_KEY_ID, b, n / 2, err, errlen);
}

int ike_id_parse(const char *s, struct ike_id *id, char *err, size_t errlen)
{
	struct ip_addr a;

	memset(id, 0, sizeof(*id));
	if (!strncmp(s, "fqdn:", 5))
		return id_set(id, IKEV2_ID_FQDN, s + 5, strlen(s + 5), err, errlen);
	if (!strncmp(s, "email:", 6))
		return id_set(id, IKEV2_ID_RFC822_ADDR, s + 6, strlen(s + 6), err, errlen);
	if (!strncmp(s, "ipv6:", 5))
		return id_addr(s + 5, AF_INET6, id, err, errlen);
	if (!strncmp(s, "ipv4:", 5))
		return id_addr(s + 5, AF_INET, id, err, errlen);
	if (!strncmp(s, "ip:", 3))
		return id_addr(s + 3, AF_UNSPEC, id, err, errlen);
	if (!strncmp(s, "dn:", 3))
		return dn_parse(s + 3, id, err, errlen);
	if (!strncmp(s, "keyid:", 6))
		return id_keyid(s + 6, id, err, errlen);
	if (ip_addr_parse(s, AF_UNSPEC, &a) == ADDR_OK)
		return id_addr(s, AF_UNSPEC, id, err, errlen);
	if (strchr(s, '='))
		return dn_parse(s, id, err, errlen);
	if (strchr(s, '@'))
		return id_set(id, IKEV2_ID_RFC822_ADDR, s, strlen(s), err, errlen);
	return id_set(id, IKEV2_ID_FQDN, s, strlen(s), err, errlen);
}

const char *ike_id_fmt(const struct ike_id *id, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];

	switch (id->type) {
	case IKEV2_ID_IPV4_ADDR:
	case IKEV2_ID_IPV6_ADDR:
		if (id->len != 4 && id->len != 16)
			break;
		inet_ntop(id->len == 4 ? AF_INET : AF_INET6, id->data, a, sizeof(a));
		snprintf(buf, size, "%s:%s", id->len == 4 ? "ipv4" : "ipv6", a);
		return buf;
	case IKEV2_ID_FQDN:
	case IKEV2_ID_RFC822_ADDR:
		snprintf(buf, size, "%s:%.*s", id->type == IKEV2_ID_FQDN ? "fqdn" : "email",
			 (int)id->len, (const char *)id->data);
		for (char *p = buf; *p; p++)
			if (!isprint((unsigned char)*p))
				*p = '?';
		return buf;
	case IKEV2_ID_DER_ASN1_DN: {
		const unsigned char *p = id->data;
		X509_NAME *n = d2i_X509_NAME(NULL, &p, (long)id->len);
		char *t = n ? X509_NAME_oneline(n, NULL, 0) : NULL;

		snprintf(buf, size, "dn:%s", t ? t : "?");
		OPENSSL_free(t);
		X509_NAME_free(n);
		return buf;
	}
	case 0:
		snprintf(buf, size, "%%any");
		return buf;
	default:
		break;
	}
	snprintf(buf, size, "type%u:%zu-octets", id->type, id->len);
	return buf;
}

/* ---- traffic selectors -------------------------------------------------------- */

static int proto_parse(const char *s, uint8_t *out)
{
	static const struct { const char *n; uint8_t v; } names[] = {
		{ "tcp", 6 }, { "udp", 17 }, { "icmp", 1 }, { "ipv6-icmp", 58 },
		{ "icmp6", 58 }, { "mh", 135 }, { "ipv6-mh", 135 }, { "any", 0 },
	};
	char *end;
	long v;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i].n)) {
			*out = names[i].v;
			return 0;
		}
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < 0 || v > 255)
		return -1;
	*out = (uint8_t)v;
	return 0;
}

static void prefix_range(const struct ip_prefix *p, struct ike_ts *ts)
{
	size_t alen = ip_addr_len(&p->addr);

	ts->start = ts->end = p->addr;
	for (size_t i = 0; i < alen; i++) {
		int bits = (int)p->len - (int)(i * 8);
		uint8_t mask = bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));

		ts->start.bytes[i] &= mask;
		ts->end.bytes[i] |= (uint8_t)~mask;
	}
}

int ike_ts_parse(const char *s, struct ike_ts *ts, char *err, size_t errlen)
{
	char buf[160], *br, *slash, *end;
	struct ip_prefix p;
	enum addr_parse_err pe;

	memset(ts, 0, sizeof(*ts));
	ts->eport = 0xffff;
	if (strlen(s) >= sizeof(buf)) {
		snprintf(err, errlen, "selector too long");
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", s);
	br = strchr(buf, '[');
	if (br) {
		size_t l = strlen(br);

		if (br[l - 1] != ']') {
			snprintf(err, errlen, "'%s': missing ']'", s);
			return -1;
		}
		br[l - 1] = 0;
		*br++ = 0;
		slash = strchr(br, '/');
		if (slash)
			*slash++ = 0;
		if (proto_parse(br, &ts->proto)) {
			snprintf(err, errlen, "'%s': unknown protocol '%s'", s, br);
			return -1;
		}
		if (slash && strcmp(slash, "%any") != 0) {
			long v;

			errno = 0;
			v = strtol(slash, &end, 10);
			if (errno || *end || end == slash || v < 0 || v > 65535 ||
			    (ts->proto == IKEV2_IPPROTO_MH && v > 255)) {
				snprintf(err, errlen, "'%s': bad %s '%s'", s,
					 ts->proto == IKEV2_IPPROTO_MH ? "MH type" : "port", slash);
				return -1;
			}
			if (ts->proto == IKEV2_IPPROTO_MH) {
				/* RFC 4877: the MH type in the high octet. */
				ts->sport = ikev2_ts_mh_port((uint8_t)v);
				ts->eport = ts->sport;
			} else {
				if (ts->proto != 6 && ts->proto != 17 && ts->proto != 132) {
					snprintf(err, errlen, "'%s': ports need tcp, udp or sctp", s);
					return -1;
				}
				ts->sport = ts->eport = (uint16_t)v;
			}
		}
	}
	pe = ip_prefix_parse(buf, AF_UNSPEC, false, &p);
	if (pe != ADDR_OK) {
		snprintf(err, errlen, "'%s': %s", buf, addr_parse_strerror(pe));
		return -1;
	}
	prefix_range(&p, ts);
	return 0;
}

/* ---- the block ---------------------------------------------------------------- */

static void copy_path(struct cfg_ctx *ctx, const config_setting_t *g, const char *name,
		      char *out)
{
	const char *v = NULL;

	if (cfg_readable_file(ctx, g, name, false, &v) && v) {
		if (strlen(v) >= PATH_MAX)
			cfg_error(ctx, config_setting_get_member(g, name), "path too long");
		else
			snprintf(out, PATH_MAX, "%s", v);
	}
}

static void path_list(struct cfg_ctx *ctx, const config_setting_t *g, const char *name,
		      char out[][PATH_MAX], size_t *n)
{
	const config_setting_t *l = config_setting_get_member(g, name);

	if (!l)
		return;
	if (config_setting_type(l) == CONFIG_TYPE_STRING) {
		copy_path(ctx, g, name, out[0]);
		*n = out[0][0] ? 1 : 0;
		return;
	}
	if (!config_setting_is_aggregate(l) || config_setting_is_group(l)) {
		cfg_error(ctx, l, "must be a file name or a list of file names");
		return;
	}
	for (int i = 0; i < config_setting_length(l); i++) {
		const config_setting_t *e = config_setting_get_elem(l, (unsigned)i);
		const char *v = config_setting_get_string(e);

		if (!v) {
			cfg_error(ctx, e, "must be a file name");
			continue;
		}
		if (*n >= IKE_MAX_FILES) {
			cfg_error(ctx, e, "at most %d files", IKE_MAX_FILES);
			return;
		}
		if (access(v, R_OK) != 0) {
			cfg_error(ctx, e, "cannot read '%s': %s", v, strerror(errno));
			continue;
		}
		snprintf(out[(*n)++], PATH_MAX, "%s", v);
	}
}

static void id_setting(struct cfg_ctx *ctx, const config_setting_t *g, const char *name,
		       struct ike_id *id)
{
	const char *v = NULL;
	char err[160];

	if (!cfg_string(ctx, g, name, false, &v) || !v)
		return;
	if (ike_id_parse(v, id, err, sizeof(err)))
		cfg_error(ctx, config_setting_get_member(g, name), "%s", err);
}

static void props_setting(struct cfg_ctx *ctx, const config_setting_t *g, const char *name,
			  bool esp, struct ike_props *ps)
{
	const config_setting_t *l = config_setting_get_member(g, name);
	static const char *const def_ike[] = {
		"aes128gcm16-prfsha256-ecp256", "aes256gcm16-prfsha384-ecp256-curve25519-modp2048",
		"aes256-sha256-ecp256-modp2048",
	};
	static const char *const def_esp[] = { "aes128gcm16-aes256gcm16", "aes256-sha256" };
	char err[160];

	ps->n = 0;
	if (!l) {
		const char *const *d = esp ? def_esp : def_ike;
		size_t nd = esp ? 2 : 3;

		for (size_t i = 0; i < nd; i++)
			ike_prop_parse(d[i], esp, &ps->p[ps->n++], err, sizeof(err));
		return;
	}
	if (!config_setting_is_array(l) && !config_setting_is_list(l)) {
		cfg_error(ctx, l, "must be a list of proposal strings");
		return;
	}
	for (int i = 0; i < config_setting_length(l); i++) {
		const config_setting_t *e = config_setting_get_elem(l, (unsigned)i);
		const char *v = config_setting_get_string(e);

		if (!v) {
			cfg_error(ctx, e, "must be a proposal string such as '%s'",
				  esp ? "aes128gcm16-esn" : "aes128gcm16-prfsha256-ecp256");
			continue;
		}
		if (ps->n >= IKE_MAX_PROPS) {
			cfg_error(ctx, e, "at most %d proposals", IKE_MAX_PROPS);
			return;
		}
		if (ike_prop_parse(v, esp, &ps->p[ps->n], err, sizeof(err)))
			cfg_error(ctx, e, "%s", err);
		else
			ps->n++;
	}
	if (ps->n == 0 && config_setting_length(l) == 0)
		cfg_error(ctx, l, "needs at least one proposal");
}

static void ts_setting(struct cfg_ctx *ctx, const config_setting_t *g, const char *name,
		       struct ike_ts_set *set)
{
	const config_setting_t *l = config_setting_get_member(g, name);
	char err[200];

	set->n = 0;
	if (!l)
		return;
	if (config_setting_type(l) == CONFIG_TYPE_STRING) {
		if (ike_ts_parse(config_setting_get_string(l), &set->ts[0], err, sizeof(err)))
			cfg_error(ctx, l, "%s", err);
		else
			set->n = 1;
		return;
	}
	if (!config_setting_is_array(l) && !config_setting_is_list(l)) {
		cfg_error(ctx, l, "must be a list of selectors such as \"10.0.0.0/24[tcp/80]\"");
		return;
	}
	for (int i = 0; i < config_setting_length(l); i++) {
		const config_setting_t *e = config_setting_get_elem(l, (unsigned)i);
		const char *v = config_setting_get_string(e);

		if (!v) {
			cfg_error(ctx, e, "must be a selector string");
			continue;
		}
		if (set->n >= IKE_TS_MAX) {
			cfg_error(ctx, e, "at most %d selectors", IKE_TS_MAX);
			return;
		}
		if (ike_ts_parse(v, &set->ts[set->n], err, sizeof(err)))
			cfg_error(ctx, e, "%s", err);
		else
			set->n++;
	}
}

static void mode_setting(struct cfg_ctx *ctx, const config_setting_t *g, enum sa_mode *mode)
{
	const char *v = NULL;

	if (cfg_string(ctx, g, "mode", false, &v) && v) {
		if (!strcmp(v, "transport"))
			*mode = SA_MODE_TRANSPORT;
		else if (!strcmp(v, "tunnel"))
			*mode = SA_MODE_TUNNEL;
		else
			cfg_error(ctx, config_setting_get_member(g, "mode"),
				  "must be \"tunnel\" or \"transport\"");
	}
}

/* `children`: each inherits what it does not set from the peer. */
static void parse_children(struct cfg_ctx *ctx, const config_setting_t *e, struct ike_peer_cfg *p)
{
	const config_setting_t *l = config_setting_get_member(e, "children");
	struct ike_child_cfg *c = &p->child[0];

	if (!l) {
		snprintf(c->name, sizeof(c->name), "%s", p->name);
		c->mode = p->mode;
		c->local_ts = p->local_ts;
		c->remote_ts = p->remote_ts;
		c->esp_props = p->esp_props;
		p->n_child = 1;
		return;
	}
	if (!config_setting_is_list(l) || config_setting_length(l) < 1) {
		cfg_error(ctx, l, "must be a list of 1 to %d groups { name = ...; }", IKE_MAX_CHILDREN);
		return;
	}
	for (int i = 0; i < config_setting_length(l); i++) {
		const config_setting_t *g = config_setting_get_elem(l, (unsigned)i);
		const char *v = NULL;

		if (!config_setting_is_group(g)) {
			cfg_error(ctx, g, "must be a group { name = ...; }");
			continue;
		}
		if (p->n_child >= IKE_MAX_CHILDREN) {
			cfg_error(ctx, g, "at most %d children", IKE_MAX_CHILDREN);
			return;
		}
		c = &p->child[p->n_child];
		cfg_check_known(ctx, g, child_known);
		if (cfg_string(ctx, g, "name", true, &v) && v) {
			if (!*v || strlen(v) >= sizeof(c->name))
				cfg_error(ctx, config_setting_get_member(g, "name"),
					  "must have 1 to %zu characters", sizeof(c->name) - 1);
			snprintf(c->name, sizeof(c->name), "%s", v);
		}
		for (size_t k = 0; k < p->n_child; k++)
			if (!strcmp(p->child[k].name, c->name))
				cfg_error(ctx, config_setting_get_member(g, "name"),
					  "child '%s' defined twice", c->name);
		c->mode = p->mode;
		mode_setting(ctx, g, &c->mode);
		c->local_ts = p->local_ts;
		c->remote_ts = p->remote_ts;
		if (config_setting_get_member(g, "local_ts"))
			ts_setting(ctx, g, "local_ts", &c->local_ts);
		if (config_setting_get_member(g, "remote_ts"))
			ts_setting(ctx, g, "remote_ts", &c->remote_ts);
		c->esp_props = p->esp_props;
		if (config_setting_get_member(g, "esp_proposals"))
			props_setting(ctx, g, "esp_proposals", true, &c->esp_props);
		p->n_child++;
	}
}

static bool auth_kind(struct cfg_ctx *ctx, const config_setting_t *g, const char *name,
		      enum ike_auth_kind *out)
{
	const char *v = NULL;

	if (!cfg_string(ctx, g, name, false, &v) || !v)
		return false;
	if (!strcmp(v, "pubkey"))
		*out = IKE_AUTH_PUBKEY;
	else if (!strcmp(v, "psk"))
		*out = IKE_AUTH_PSK;
	else {
		cfg_error(ctx, config_setting_get_member(g, name), "must be \"pubkey\" or \"psk\"");
		return false;
	}
	return true;
}

static void parse_remote(struct cfg_ctx *ctx, const config_setting_t *e, struct ike_peer_cfg *p)
{
	const char *v = NULL;

	p->remote_any = true;
	if (!cfg_string(ctx, e, "remote", false, &v) || !v || !strcmp(v, "any") ||
	    !strcmp(v, "%any"))
		return;
	if (ip_addr_parse(v, AF_UNSPEC, &p->remote) != ADDR_OK) {
		cfg_error(ctx, config_setting_get_member(e, "remote"),
			  "'%s' is not an IP address or \"any\"", v);
		return;
	}
	p->remote_any = false;
}

static void parse_peer(struct cfg_ctx *ctx, const config_setting_t *e, const struct ike_config *c,
		       struct ike_peer_cfg *p)
{
	const char *v = NULL;
	long long ll;
	bool lauth_set;
	uint32_t port = 500;

	cfg_check_known(ctx, e, peer_known);
	if (cfg_string(ctx, e, "name", true, &v) && v) {
		if (!*v || strlen(v) >= sizeof(p->name))
			cfg_error(ctx, config_setting_get_member(e, "name"),
				  "must have 1 to %zu characters", sizeof(p->name) - 1);
		snprintf(p->name, sizeof(p->name), "%s", v);
	}
	parse_remote(ctx, e, p);
	cfg_u32(ctx, e, "remote_port", 1, 65535, &port);
	p->remote_port = (uint16_t)port;
	v = NULL;
	if (cfg_string(ctx, e, "local", false, &v) && v) {
		if (ip_addr_parse(v, AF_UNSPEC, &p->local) != ADDR_OK)
			cfg_error(ctx, config_setting_get_member(e, "local"),
				  "'%s' is not an IP address", v);
		else
			p->has_local = true;
		if (p->has_local && !p->remote_any && p->local.family != p->remote.family)
			cfg_error(ctx, config_setting_get_member(e, "local"),
				  "'%s' is not of the family of remote", v);
	}
	id_setting(ctx, e, "remote_id", &p->remote_id);
	id_setting(ctx, e, "local_id", &p->local_id);
	p->auth = IKE_AUTH_PUBKEY;
	auth_kind(ctx, e, "auth", &p->auth);
	lauth_set = auth_kind(ctx, e, "local_auth", &p->local_auth);
	if (!lauth_set)
		p->local_auth = p->auth;
	v = NULL;
	if (cfg_string(ctx, e, "psk", false, &v) && v) {
		if (strlen(v) < 1 || strlen(v) > IKE_PSK_MAX)
			cfg_error(ctx, config_setting_get_member(e, "psk"),
				  "must have 1 to %d characters", IKE_PSK_MAX);
		else {
			p->psk_len = strlen(v);
			memcpy(p->psk, v, p->psk_len);
		}
	}
	if ((p->auth == IKE_AUTH_PSK || p->local_auth == IKE_AUTH_PSK) && !p->psk_len)
		cfg_error(ctx, config_setting_get_member(e, "psk") ? config_setting_get_member(e, "psk") : e,
			  "auth = \"psk\" needs a psk");
	if (p->auth == IKE_AUTH_PSK && p->remote_id.type == 0)
		cfg_error(ctx, e, "auth = \"psk\" needs a remote_id");
	if (p->auth == IKE_AUTH_PUBKEY && c->n_ca == 0)
		cfg_error(ctx, e, "auth = \"pubkey\" needs 'ca' in the ike block");
	if (p->local_auth == IKE_AUTH_PUBKEY && (!c->certificate[0] || !c->private_key[0]))
		cfg_error(ctx, e, "local_auth = \"pubkey\" needs 'certificate' and 'private_key'");
	props_setting(ctx, e, "ike_proposals", false, &p->ike_props);
	props_setting(ctx, e, "esp_proposals", true, &p->esp_props);
	p->mode = SA_MODE_TUNNEL;
	mode_setting(ctx, e, &p->mode);
	ts_setting(ctx, e, "local_ts", &p->local_ts);
	ts_setting(ctx, e, "remote_ts", &p->remote_ts);
	parse_children(ctx, e, p);
	cfg_bool(ctx, e, "initiate", &p->initiate);
	if (p->initiate && p->remote_any)
		cfg_error(ctx, e, "initiate = true needs a remote address");
	p->rekey_time = 14400;
	p->child_rekey_time = 3600;
	p->dpd = 30;
	cfg_u32(ctx, e, "rekey_time", 0, 86400 * 30, &p->rekey_time);
	cfg_u32(ctx, e, "child_rekey_time", 0, 86400 * 30, &p->child_rekey_time);
	cfg_u32(ctx, e, "dpd", 0, 86400, &p->dpd);
	if (cfg_int(ctx, e, "child_rekey_bytes", false, 0, (1LL << 62), &ll) &&
	    config_setting_get_member(e, "child_rekey_bytes"))
		p->child_rekey_bytes = (uint64_t)ll;
}

bool ike_config_parse(struct cfg_ctx *ctx, const config_setting_t *g, struct ike_config *c)
{
	size_t before = ctx->n_errors;
	const config_setting_t *peers;
	const char *v = NULL;
	uint32_t ms;

	ike_config_defaults(c);
	cfg_check_known(ctx, g, ike_known);
	copy_path(ctx, g, "certificate", c->certificate);
	copy_path(ctx, g, "private_key", c->private_key);
	if (!c->certificate[0] != !c->private_key[0])
		cfg_error(ctx, g, "'certificate' and 'private_key' go together");
	path_list(ctx, g, "ca", c->ca, &c->n_ca);
	path_list(ctx, g, "crl", c->crl, &c->n_crl);
	id_setting(ctx, g, "local_id", &c->local_id);
	cfg_u32(ctx, g, "cookie_threshold", 0, 1000000, &c->cookie_threshold);
	cfg_u32(ctx, g, "fragment_mtu", 576, 65000, &c->fragment_mtu);
	ms = c->retransmit_timeout_ms;
	cfg_u32(ctx, g, "retransmit_timeout", 10, 60000, &ms);
	c->retransmit_timeout_ms = ms;
	cfg_u32(ctx, g, "retransmit_tries", 0, 20, &c->retransmit_tries);
	cfg_u32(ctx, g, "half_open_timeout", 1, 3600, &c->half_open_timeout);
	cfg_u32(ctx, g, "natt_keepalive", 0, 3600, &c->natt_keepalive);
	if (cfg_string(ctx, g, "decryption_table", false, &v) && v)
		snprintf(c->decryption_table, sizeof(c->decryption_table), "%s", v);

	peers = cfg_member(ctx, g, "peers", CONFIG_TYPE_LIST, true);
	if (peers) {
		int n = config_setting_length(peers);

		c->peers = calloc((size_t)(n ? n : 1), sizeof(*c->peers));
		for (int i = 0; c->peers && i < n; i++) {
			const config_setting_t *e = config_setting_get_elem(peers, (unsigned)i);

			if (!config_setting_is_group(e)) {
				cfg_error(ctx, e, "must be a group { name = ...; }");
				continue;
			}
			parse_peer(ctx, e, c, &c->peers[c->n_peers]);
			for (size_t k = 0; k < c->n_peers; k++)
				if (!strcmp(c->peers[k].name, c->peers[c->n_peers].name))
					cfg_error(ctx, config_setting_get_member(e, "name"),
						  "peer '%s' defined twice", c->peers[k].name);
			c->n_peers++;
		}
	}
	return ctx->n_errors == before;
}
