/* JSON view of Neighbor Discovery messages (RFC 4861 §4.1-4.4) with their
 * options (§4.6, RFC 6275 §7.3-7.4, RFC 5380 §4), nested in the ICMPv6
 * view of wirejson_ip.c. See wirejson.h.
 *
 * Shape (RA): {"type": 134, "code": 0, "checksum": 4660, "cur_hop_limit":
 * 64, "m": false, "o": false, "h": true, "prf": 0, "p": false, "reserved":
 * 0, "router_lifetime": 1800, "reachable_time": 0, "retrans_timer": 0,
 * "options": [{"type": "prefix_information", "length": 4, ...}, ...]}.
 * As in the rest of the ICMPv6 view flags are lower-case booleans and
 * reserved fields always appear, so nothing on the wire is lost. Options
 * are listed in wire order; those the message's parser does not interpret
 * (RFC 4861 §4.6: skipped) keep a numeric "type" and their "data".
 *
 * Decoding goes through the nd.h parsers, so the view shows exactly what
 * the access router and the mobile node accept and fails with their
 * messages; encoding goes through the nd.h builders, laying options out in
 * the order given. A "length" (or "code") given in the JSON is written as
 * is, which lets tests build malformed messages. */
#include "ctl/wirejson.h"
#include "ctl/wirejson_util.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "wire/nd.h"

static const struct {
	uint8_t type;
	const char *name;
} opt_names[] = {
	{ ND_OPT_SLLA, "source_link_layer_address" },
	{ ND_OPT_TLLA, "target_link_layer_address" },
	{ ND_OPT_PREFIX, "prefix_information" },
	{ ND_OPT_MTU, "mtu" },
	{ ND_OPT_ADV_INTERVAL, "advertisement_interval" },
	{ ND_OPT_HA_INFO, "home_agent_information" },
	{ ND_OPT_MAP, "map" },
};

static const char *opt_name(uint8_t type)
{
	for (size_t i = 0; i < sizeof(opt_names) / sizeof(opt_names[0]); i++)
		if (opt_names[i].type == type)
			return opt_names[i].name;
	return NULL;
}

/* ---- decoding ---------------------------------------------------------- */

static json_t *opt_head(uint8_t type, uint8_t len)
{
	json_t *j = json_object();

	wj_set(j, "type", json_string(opt_name(type)));
	wj_set_int(j, "length", len);
	return j;
}

/* An option the parser skipped: its bytes as they are. */
static json_t *raw_json(const uint8_t *msg, const struct nd_opt_ref *r)
{
	json_t *j = json_object();

	wj_set_int(j, "type", r->type);
	wj_set_int(j, "length", r->len);
	wj_set(j, "data", wj_hex_sep(msg + r->off + 2, (size_t)r->len * 8 - 2, 0));
	return j;
}

static json_t *lladdr_json(const struct nd_opt_ref *r, const struct nd_lladdr *ll)
{
	json_t *j = opt_head(r->type, r->len);

	wj_set(j, "address", wj_hex_sep(ll->addr, ll->len, ':'));
	return j;
}

static json_t *prefix_json(const struct nd_opt_ref *r, const struct nd_ra *ra, size_t i)
{
	const struct nd_prefix *pi = &ra->prefixes[i];
	json_t *j = opt_head(r->type, r->len);

	wj_set_int(j, "prefix_length", pi->prefix_len);
	wj_set_bool(j, "l", pi->on_link);
	wj_set_bool(j, "a", pi->autonomous);
	wj_set_bool(j, "r", pi->router_address);
	wj_set_int(j, "reserved1", ra->prefix_reserved1[i]);
	wj_set_int(j, "valid_lifetime", pi->valid_lifetime);
	wj_set_int(j, "preferred_lifetime", pi->preferred_lifetime);
	wj_set_int(j, "reserved2", ra->prefix_reserved2[i]);
	wj_set(j, "prefix", wj_addr6(pi->prefix));
	return j;
}

static json_t *map_json(const struct nd_opt_ref *r, const struct nd_ra *ra, size_t i)
{
	const struct nd_map *m = &ra->maps[i];
	json_t *j = opt_head(r->type, r->len);

	wj_set_int(j, "dist", m->dist);
	wj_set_int(j, "pref", m->pref);
	wj_set_bool(j, "r", m->rcoa);
	wj_set_int(j, "reserved", ra->map_reserved[i]);
	wj_set_int(j, "valid_lifetime", m->valid_lifetime);
	wj_set(j, "global_address", wj_addr6(m->addr));
	return j;
}

/* One RA option from the parsed view; *np and *nm count the prefixes and
 * MAPs already shown, which the parser stored in wire order. */
static json_t *ra_opt_json(const uint8_t *msg, const struct nd_opt_ref *r,
			   const struct nd_ra *ra, size_t *np, size_t *nm)
{
	json_t *j;

	switch (r->type) {
	case ND_OPT_SLLA:
		return lladdr_json(r, &ra->slla);
	case ND_OPT_PREFIX:
		return prefix_json(r, ra, (*np)++);
	case ND_OPT_MAP:
		return map_json(r, ra, (*nm)++);
	case ND_OPT_MTU:
		j = opt_head(r->type, r->len);
		wj_set_int(j, "reserved", ra->mtu_reserved);
		wj_set_int(j, "mtu", ra->mtu);
		return j;
	case ND_OPT_ADV_INTERVAL:
		j = opt_head(r->type, r->len);
		wj_set_int(j, "reserved", ra->adv_interval_reserved);
		wj_set_int(j, "advertisement_interval", ra->adv_interval_ms);
		return j;
	case ND_OPT_HA_INFO:
		j = opt_head(r->type, r->len);
		wj_set_int(j, "reserved", ra->ha_info_reserved);
		wj_set_int(j, "home_agent_preference", ra->ha_preference);
		wj_set_int(j, "home_agent_lifetime", ra->ha_lifetime);
		return j;
	}
	return raw_json(msg, r);
}

/* The options of any of the four messages: an RA's from its view, the
 * others' one link-layer address option (type ll_type) from *ll. */
static json_t *opts_json(const char *who, const uint8_t *msg, const struct nd_opt_order *ord,
			 const struct nd_ra *ra, uint8_t ll_type, const struct nd_lladdr *ll,
			 struct wire_error *err)
{
	size_t np = 0, nm = 0;
	json_t *a;

	if (ord->n > ND_MAX_OPT_REFS) {
		wire_fail(err, WIRE_ECOUNT, 0, "%s: %zu options, the view shows at most %d", who,
			  ord->n, ND_MAX_OPT_REFS);
		return NULL;
	}
	a = json_array();
	for (size_t i = 0; i < ord->n; i++) {
		const struct nd_opt_ref *r = &ord->ref[i];

		if (ra)
			json_array_append_new(a, ra_opt_json(msg, r, ra, &np, &nm));
		else if (r->type == ll_type)
			json_array_append_new(a, lladdr_json(r, ll));
		else
			json_array_append_new(a, raw_json(msg, r));
	}
	return a;
}

static json_t *ra_json(const uint8_t *buf, size_t len, json_t *j, struct wire_error *err)
{
	struct nd_ra ra;

	if (nd_ra_parse(buf, len, &ra, err))
		return NULL;
	wj_set_int(j, "cur_hop_limit", ra.cur_hop_limit);
	wj_set_bool(j, "m", ra.managed);
	wj_set_bool(j, "o", ra.other);
	wj_set_bool(j, "h", ra.home_agent);
	wj_set_int(j, "prf", ra.prf);
	wj_set_bool(j, "p", ra.proxy);
	wj_set_int(j, "reserved", ra.reserved);
	wj_set_int(j, "router_lifetime", ra.router_lifetime);
	wj_set_int(j, "reachable_time", ra.reachable_time);
	wj_set_int(j, "retrans_timer", ra.retrans_timer);
	return opts_json("nd.ra", buf, &ra.order, &ra, 0, NULL, err);
}

static json_t *rs_json(const uint8_t *buf, size_t len, json_t *j, struct wire_error *err)
{
	struct nd_rs rs;

	if (nd_rs_parse(buf, len, &rs, err))
		return NULL;
	wj_set_int(j, "reserved", rs.reserved);
	return opts_json("nd.rs", buf, &rs.order, NULL, ND_OPT_SLLA, &rs.slla, err);
}

static json_t *ns_json(const uint8_t *buf, size_t len, json_t *j, struct wire_error *err)
{
	struct nd_ns ns;

	if (nd_ns_parse(buf, len, &ns, err))
		return NULL;
	wj_set_int(j, "reserved", ns.reserved);
	wj_set(j, "target_address", wj_addr6(ns.target));
	return opts_json("nd.ns", buf, &ns.order, NULL, ND_OPT_SLLA, &ns.slla, err);
}

static json_t *na_json(const uint8_t *buf, size_t len, json_t *j, struct wire_error *err)
{
	struct nd_na na;

	if (nd_na_parse(buf, len, &na, err))
		return NULL;
	wj_set_bool(j, "r", na.router);
	wj_set_bool(j, "s", na.solicited);
	wj_set_bool(j, "o", na.override);
	wj_set_int(j, "reserved", na.reserved);
	wj_set(j, "target_address", wj_addr6(na.target));
	return opts_json("nd.na", buf, &na.order, NULL, ND_OPT_TLLA, &na.tlla, err);
}

json_t *nd_to_json(const uint8_t *buf, size_t len, const uint8_t *src, const uint8_t *dst,
		   struct wire_error *err)
{
	json_t *j, *opts;

	if (len < 1) {
		wire_fail(err, WIRE_ETRUNC, 0, "nd: empty message");
		return NULL;
	}
	j = json_object();
	wj_set_int(j, "type", buf[0]);
	if (len >= 4) {
		wj_set_int(j, "code", buf[1]);
		wj_set_int(j, "checksum", get_be16(buf + 2));
	}
	switch (buf[0]) {
	case ND_TYPE_RS:
		opts = rs_json(buf, len, j, err);
		break;
	case ND_TYPE_RA:
		opts = ra_json(buf, len, j, err);
		break;
	case ND_TYPE_NS:
		opts = ns_json(buf, len, j, err);
		break;
	case ND_TYPE_NA:
		opts = na_json(buf, len, j, err);
		break;
	default:
		wire_fail(err, WIRE_ETYPE, 0, "nd: type %u is not RS, RA, NS or NA (133-136)",
			  buf[0]);
		opts = NULL;
	}
	/* Structure first: its errors say more than a checksum mismatch. */
	if (opts && src && dst && nd_csum_verify(src, dst, buf, len, err)) {
		json_decref(opts);
		opts = NULL;
	}
	if (!opts) {
		json_decref(j);
		return NULL;
	}
	wj_set(j, "options", opts);
	return j;
}

/* ---- encoding ---------------------------------------------------------- */

struct enc {
	char where[48];		/* "icmpv6.ra", "icmpv6.ra option 2" */
	struct wire_error *err;
};

static bool bad(struct enc *e, const char *k, const char *what)
{
	wire_fail(e->err, WIRE_EVALUE, 0, "encode.%s: field %s %s", e->where, k, what);
	return false;
}

/* Every key must be one the object's type knows: typos fail loudly. */
static bool check_keys(struct enc *e, const json_t *o, const char *const *allowed)
{
	const char *k;
	json_t *v;

	if (!json_is_object(o)) {
		wire_fail(e->err, WIRE_EVALUE, 0, "encode.%s: not a JSON object", e->where);
		return false;
	}
	json_object_foreach((json_t *)o, k, v) {
		const char *const *a;

		(void)v;
		for (a = allowed; *a && strcmp(*a, k); a++)
			;
		if (!*a)
			return bad(e, k, "is not one this message has");
	}
	return true;
}

/* An optional integer field in min..max (booleans for 0..1 fields); *v is
 * left alone when absent. */
static bool num(struct enc *e, const json_t *o, const char *k, int64_t min, int64_t max,
		int64_t *v)
{
	const json_t *j = json_object_get(o, k);
	char what[64];

	if (!j)
		return true;
	if (json_is_boolean(j) && min == 0 && max == 1) {
		*v = json_is_true(j);
		return true;
	}
	if (json_is_integer(j) && json_integer_value(j) >= min && json_integer_value(j) <= max) {
		*v = json_integer_value(j);
		return true;
	}
	snprintf(what, sizeof(what), "must be %s in %lld..%lld",
		 max == 1 && min == 0 ? "a boolean or an integer" : "an integer", (long long)min,
		 (long long)max);
	return bad(e, k, what);
}

static bool need(struct enc *e, const json_t *o, const char *k)
{
	return json_object_get(o, k) ? true : bad(e, k, "is missing");
}

static bool addr(struct enc *e, const json_t *o, const char *k, uint8_t out[16])
{
	const char *s = json_string_value(json_object_get(o, k));

	if (!need(e, o, k))
		return false;
	if (!s || inet_pton(AF_INET6, s, out) != 1)
		return bad(e, k, "is not an IPv6 address");
	return true;
}

/* Hex bytes, separated by `sep` when it is not 0; returns the count or -1. */
static long unhex(struct enc *e, const json_t *o, const char *k, char sep, uint8_t *out,
		  size_t size)
{
	const char *s = json_string_value(json_object_get(o, k));
	size_t n = 0;

	if (!need(e, o, k))
		return -1;
	if (!s)
		return bad(e, k, "must be a string"), -1;
	while (*s) {
		int hi = wj_hexval(s[0]), lo = hi < 0 ? -1 : wj_hexval(s[1]);

		if (hi < 0 || lo < 0)
			return bad(e, k, sep ? "must be hex bytes separated by ':'" :
					       "must be a hex string"), -1;
		if (n == size)
			return bad(e, k, "is too long"), -1;
		out[n++] = (uint8_t)(hi << 4 | lo);
		s += 2;
		if (sep && *s == sep && s[1])
			s++;
		else if (sep && *s)
			return bad(e, k, "must be hex bytes separated by ':'"), -1;
	}
	return (long)n;
}

static const char *const lladdr_keys[] = { "type", "length", "address", NULL };
static const char *const prefix_keys[] = { "type", "length", "prefix_length", "l", "a", "r",
					   "reserved1", "valid_lifetime", "preferred_lifetime",
					   "reserved2", "prefix", NULL };
static const char *const mtu_keys[] = { "type", "length", "reserved", "mtu", NULL };
static const char *const adv_keys[] = { "type", "length", "reserved", "advertisement_interval",
					NULL };
static const char *const ha_keys[] = { "type", "length", "reserved", "home_agent_preference",
				       "home_agent_lifetime", NULL };
static const char *const map_keys[] = { "type", "length", "dist", "pref", "r", "reserved",
					"valid_lifetime", "global_address", NULL };
static const char *const raw_keys[] = { "type", "length", "data", NULL };

static bool enc_lladdr(struct enc *e, const json_t *o, uint8_t type, uint8_t *buf, size_t size,
		       size_t *n)
{
	struct nd_lladdr ll = { 0 };
	long len;

	if (!check_keys(e, o, lladdr_keys) ||
	    (len = unhex(e, o, "address", ':', ll.addr, sizeof(ll.addr))) < 0)
		return false;
	ll.len = (uint8_t)len;
	return nd_opt_lladdr_build(type, &ll, buf, size, n, e->err) == WIRE_OK;
}

static bool enc_prefix(struct enc *e, const json_t *o, uint8_t *buf, size_t size, size_t *n)
{
	int64_t plen = 0, l = 0, a = 0, r = 0, res1 = 0, valid = 0, pref = 0, res2 = 0;
	struct nd_prefix pi = { 0 };

	if (!check_keys(e, o, prefix_keys) || !need(e, o, "prefix_length") ||
	    !num(e, o, "prefix_length", 0, 255, &plen) || !num(e, o, "l", 0, 1, &l) ||
	    !num(e, o, "a", 0, 1, &a) || !num(e, o, "r", 0, 1, &r) ||
	    !num(e, o, "reserved1", 0, 31, &res1) ||
	    !num(e, o, "valid_lifetime", 0, UINT32_MAX, &valid) ||
	    !num(e, o, "preferred_lifetime", 0, UINT32_MAX, &pref) ||
	    !num(e, o, "reserved2", 0, UINT32_MAX, &res2) || !addr(e, o, "prefix", pi.prefix))
		return false;
	pi.prefix_len = (uint8_t)plen;
	pi.on_link = l;
	pi.autonomous = a;
	pi.router_address = r;
	pi.valid_lifetime = (uint32_t)valid;
	pi.preferred_lifetime = (uint32_t)pref;
	return nd_opt_prefix_build(&pi, (uint8_t)res1, (uint32_t)res2, buf, size, n, e->err) ==
	       WIRE_OK;
}

static bool enc_map(struct enc *e, const json_t *o, uint8_t *buf, size_t size, size_t *n)
{
	int64_t dist = 0, pref = 0, r = 0, res = 0, valid = 0;
	struct nd_map m = { 0 };

	if (!check_keys(e, o, map_keys) || !need(e, o, "dist") || !num(e, o, "dist", 0, 15, &dist) ||
	    !num(e, o, "pref", 0, 15, &pref) || !num(e, o, "r", 0, 1, &r) ||
	    !num(e, o, "reserved", 0, 127, &res) ||
	    !num(e, o, "valid_lifetime", 0, UINT32_MAX, &valid) ||
	    !addr(e, o, "global_address", m.addr))
		return false;
	m.dist = (uint8_t)dist;
	m.pref = (uint8_t)pref;
	m.rcoa = r;
	m.valid_lifetime = (uint32_t)valid;
	return nd_opt_map_build(&m, (uint8_t)res, buf, size, n, e->err) == WIRE_OK;
}

static bool enc_u32(struct enc *e, const json_t *o, uint8_t type, uint8_t *buf, size_t size,
		    size_t *n)
{
	const char *k = type == ND_OPT_MTU ? "mtu" : "advertisement_interval";
	int64_t res = 0, v = 0;

	if (!check_keys(e, o, type == ND_OPT_MTU ? mtu_keys : adv_keys) || !need(e, o, k) ||
	    !num(e, o, k, 0, UINT32_MAX, &v) || !num(e, o, "reserved", 0, 0xffff, &res))
		return false;
	return nd_opt_u32_build(type, (uint16_t)res, (uint32_t)v, buf, size, n, e->err) == WIRE_OK;
}

static bool enc_ha_info(struct enc *e, const json_t *o, uint8_t *buf, size_t size, size_t *n)
{
	int64_t res = 0, pref = 0, life = 0;

	if (!check_keys(e, o, ha_keys) || !need(e, o, "home_agent_lifetime") ||
	    !num(e, o, "reserved", 0, 0xffff, &res) ||
	    !num(e, o, "home_agent_preference", INT16_MIN, INT16_MAX, &pref) ||
	    !num(e, o, "home_agent_lifetime", 0, 0xffff, &life))
		return false;
	return nd_opt_ha_info_build((uint16_t)res, (int16_t)pref, (uint16_t)life, buf, size, n,
				    e->err) == WIRE_OK;
}

static bool enc_raw(struct enc *e, const json_t *o, uint8_t type, uint8_t *buf, size_t size,
		    size_t *n)
{
	long len;

	if (size < 2) {
		wire_fail(e->err, WIRE_ESPACE, 0, "encode.%s: does not fit", e->where);
		return false;
	}
	if (!check_keys(e, o, raw_keys) || (len = unhex(e, o, "data", 0, buf + 2, size - 2)) < 0)
		return false;
	if ((len + 2) % 8 && !json_object_get(o, "length"))
		return bad(e, "data", "with the 2-byte header must make a multiple of 8 bytes");
	buf[0] = type;
	buf[1] = (uint8_t)((len + 2) / 8);
	*n = (size_t)len + 2;
	return true;
}

/* The option's type: a name from opt_names, or a number (then a known type
 * without "data" is built from its fields, anything else from "data"). */
static bool opt_type(struct enc *e, const json_t *o, uint8_t *type, bool *raw)
{
	const json_t *t = json_object_get(o, "type");
	int64_t v = 0;

	if (json_is_string(t)) {
		for (size_t i = 0; i < sizeof(opt_names) / sizeof(opt_names[0]); i++)
			if (!strcmp(json_string_value(t), opt_names[i].name)) {
				*type = opt_names[i].type;
				*raw = false;
				return true;
			}
		return bad(e, "type", "is not a Neighbor Discovery option name");
	}
	if (!need(e, o, "type") || !num(e, o, "type", 0, 255, &v))
		return false;
	*type = (uint8_t)v;
	*raw = json_object_get(o, "data") || !opt_name(*type);
	return true;
}

static bool enc_opt(struct enc *e, const json_t *o, uint8_t *buf, size_t size, size_t *n)
{
	int64_t len = -1;
	uint8_t type;
	bool raw, ok;

	if (!json_is_object(o)) {
		wire_fail(e->err, WIRE_EVALUE, 0, "encode.%s: not a JSON object", e->where);
		return false;
	}
	if (!opt_type(e, o, &type, &raw) || !num(e, o, "length", 0, 255, &len))
		return false;
	if (raw)
		ok = enc_raw(e, o, type, buf, size, n);
	else if (type == ND_OPT_SLLA || type == ND_OPT_TLLA)
		ok = enc_lladdr(e, o, type, buf, size, n);
	else if (type == ND_OPT_PREFIX)
		ok = enc_prefix(e, o, buf, size, n);
	else if (type == ND_OPT_MAP)
		ok = enc_map(e, o, buf, size, n);
	else if (type == ND_OPT_HA_INFO)
		ok = enc_ha_info(e, o, buf, size, n);
	else
		ok = enc_u32(e, o, type, buf, size, n);
	if (ok && len >= 0)
		buf[1] = (uint8_t)len;
	if (!ok && e->err && !strncmp(e->err->msg, "nd.opt: ", 8)) {
		/* The builder does not know which option of the list it was. */
		char m[sizeof(e->err->msg)];

		snprintf(m, sizeof(m), "encode.%s: %s", e->where, e->err->msg + 8);
		memcpy(e->err->msg, m, sizeof(m));
	}
	return ok;
}

static int enc_opts(struct enc *e, const json_t *list, uint8_t *buf, size_t size)
{
	char where[sizeof(e->where)];
	const json_t *o;
	size_t off = 0, i, n;

	if (!list)
		return 0;
	if (!json_is_array(list))
		return bad(e, "options", "must be a list"), -1;
	memcpy(where, e->where, sizeof(where));
	json_array_foreach(list, i, o) {
		snprintf(e->where, sizeof(e->where), "%.30s option %zu", where, i + 1);
		if (!enc_opt(e, o, buf + off, size - off, &n))
			return -1;
		off += n;
	}
	memcpy(e->where, where, sizeof(where));
	return (int)off;
}

static const char *const ra_keys[] = { "type", "code", "checksum", "cur_hop_limit", "m", "o",
				       "h", "prf", "p", "reserved", "router_lifetime",
				       "reachable_time", "retrans_timer", "options", NULL };
static const char *const rs_keys[] = { "type", "code", "checksum", "reserved", "options", NULL };
static const char *const ns_keys[] = { "type", "code", "checksum", "reserved", "target_address",
				       "options", NULL };
static const char *const na_keys[] = { "type", "code", "checksum", "r", "s", "o", "reserved",
				       "target_address", "options", NULL };

/* The fixed part of each message, through its builder with no options. */
static bool enc_ra(struct enc *e, const json_t *o, uint8_t *buf, size_t size, size_t *n)
{
	int64_t v[10] = { 0 };
	static const char *const k[] = { "cur_hop_limit", "m", "o", "h", "prf", "p", "reserved",
					 "router_lifetime", "reachable_time", "retrans_timer" };
	static const int64_t max[] = { 255, 1, 1, 1, 3, 1, 3, 0xffff, UINT32_MAX, UINT32_MAX };
	struct nd_ra ra;

	if (!check_keys(e, o, ra_keys))
		return false;
	for (size_t i = 0; i < 10; i++)
		if (!num(e, o, k[i], 0, max[i], &v[i]))
			return false;
	memset(&ra, 0, sizeof(ra));
	ra.cur_hop_limit = (uint8_t)v[0];
	ra.managed = v[1];
	ra.other = v[2];
	ra.home_agent = v[3];
	ra.prf = (uint8_t)v[4];
	ra.proxy = v[5];
	ra.reserved = (uint8_t)v[6];
	ra.router_lifetime = (uint16_t)v[7];
	ra.reachable_time = (uint32_t)v[8];
	ra.retrans_timer = (uint32_t)v[9];
	return nd_ra_build(&ra, buf, size, n, e->err) == WIRE_OK;
}

static bool enc_rs(struct enc *e, const json_t *o, uint8_t *buf, size_t size, size_t *n)
{
	struct nd_rs rs;
	int64_t res = 0;

	if (!check_keys(e, o, rs_keys) || !num(e, o, "reserved", 0, UINT32_MAX, &res))
		return false;
	memset(&rs, 0, sizeof(rs));
	rs.reserved = (uint32_t)res;
	return nd_rs_build(&rs, buf, size, n, e->err) == WIRE_OK;
}

static bool enc_ns(struct enc *e, const json_t *o, uint8_t *buf, size_t size, size_t *n)
{
	struct nd_ns ns;
	int64_t res = 0;

	memset(&ns, 0, sizeof(ns));
	if (!check_keys(e, o, ns_keys) || !num(e, o, "reserved", 0, UINT32_MAX, &res) ||
	    !addr(e, o, "target_address", ns.target))
		return false;
	ns.reserved = (uint32_t)res;
	return nd_ns_build(&ns, buf, size, n, e->err) == WIRE_OK;
}

static bool enc_na(struct enc *e, const json_t *o, uint8_t *buf, size_t size, size_t *n)
{
	int64_t r = 0, s = 0, ov = 0, res = 0;
	struct nd_na na;

	memset(&na, 0, sizeof(na));
	if (!check_keys(e, o, na_keys) || !num(e, o, "r", 0, 1, &r) || !num(e, o, "s", 0, 1, &s) ||
	    !num(e, o, "o", 0, 1, &ov) || !num(e, o, "reserved", 0, 0x1fffffff, &res) ||
	    !addr(e, o, "target_address", na.target))
		return false;
	na.router = r;
	na.solicited = s;
	na.override = ov;
	na.reserved = (uint32_t)res;
	return nd_na_build(&na, buf, size, n, e->err) == WIRE_OK;
}

int nd_from_json(const json_t *spec, uint8_t *buf, size_t size, const uint8_t *src,
		 const uint8_t *dst, struct wire_error *err)
{
	static const char *const names[] = { "rs", "ra", "ns", "na" };
	struct enc e = { "icmpv6", err };
	int64_t type = 0, code = 0, csum = -1;
	size_t n = 0;
	bool ok;
	int opts;

	if (!json_is_object(spec)) {
		wire_fail(err, WIRE_EVALUE, 0, "encode.icmpv6: not a JSON object");
		return -1;
	}
	if (!need(&e, spec, "type") || !num(&e, spec, "type", ND_TYPE_RS, ND_TYPE_NA, &type) ||
	    !num(&e, spec, "code", 0, 255, &code) || !num(&e, spec, "checksum", 0, 0xffff, &csum))
		return -1;
	snprintf(e.where, sizeof(e.where), "icmpv6.%s", names[type - ND_TYPE_RS]);
	switch (type) {
	case ND_TYPE_RS:
		ok = enc_rs(&e, spec, buf, size, &n);
		break;
	case ND_TYPE_RA:
		ok = enc_ra(&e, spec, buf, size, &n);
		break;
	case ND_TYPE_NS:
		ok = enc_ns(&e, spec, buf, size, &n);
		break;
	default:
		ok = enc_na(&e, spec, buf, size, &n);
	}
	if (!ok)
		return -1;
	opts = enc_opts(&e, json_object_get(spec, "options"), buf + n, size - n);
	if (opts < 0)
		return -1;
	n += (size_t)opts;
	buf[1] = (uint8_t)code;
	if (csum >= 0)
		put_be16(buf + 2, (uint16_t)csum);
	else if (src && dst)
		nd_csum_fill(src, dst, buf, n);
	return (int)n;
}
