#include "wire/nd.h"

#include <stdio.h>

const char *nd_opt_name(uint8_t type)
{
	switch (type) {
	case ND_OPT_SLLA: return "source link-layer address";
	case ND_OPT_TLLA: return "target link-layer address";
	case ND_OPT_PREFIX: return "prefix information";
	case 4: return "redirected header";
	case ND_OPT_MTU: return "mtu";
	case ND_OPT_ADV_INTERVAL: return "advertisement interval";
	case ND_OPT_HA_INFO: return "home agent information";
	case ND_OPT_MAP: return "map";
	}
	return NULL;
}

/* "prefix information" or "type 99", for messages. */
static const char *opt_label(uint8_t type, char *buf, size_t size)
{
	const char *n = nd_opt_name(type);

	if (n)
		return n;
	snprintf(buf, size, "type %u", type);
	return buf;
}

/* One option as the walker hands it to a message's handler. */
struct nd_opt {
	const char *who;		/* "nd.ra" */
	unsigned idx;			/* 1-based position among the options */
	uint8_t type;
	uint8_t len;			/* in units of 8 bytes, > 0 */
	const uint8_t *p;		/* the whole option, header included */
	size_t off;			/* its offset in the message */
};

typedef enum wire_err (*nd_opt_fn)(const struct nd_opt *o, void *view, struct wire_error *err);

static void record(struct nd_opt_order *order, uint8_t type, uint8_t len, size_t off)
{
	if (order->n < ND_MAX_OPT_REFS)
		order->ref[order->n] = (struct nd_opt_ref){ type, len, (uint32_t)off };
	order->n++;
}

static enum wire_err walk_options(const char *who, const uint8_t *buf, size_t len, size_t off,
				  nd_opt_fn fn, void *view, struct nd_opt_order *order,
				  struct wire_error *err)
{
	unsigned idx = 0;
	char lb[16];

	while (off < len) {
		idx++;
		if (len - off < 2)
			return wire_fail(err, WIRE_ETRUNC, off,
					 "%s: option %u truncated: 1 byte left, header needs 2",
					 who, idx);
		uint8_t type = buf[off], olen = buf[off + 1];
		/* RFC 4861 §4.6: a zero length would loop forever; discard. */
		if (olen == 0)
			return wire_fail(err, WIRE_ELEN, off + 1, "%s: option %u (%s) has length 0",
					 who, idx, opt_label(type, lb, sizeof(lb)));
		if ((size_t)olen * 8 > len - off)
			return wire_fail(err, WIRE_ELEN, off + 1,
					 "%s: option %u (%s) length %u (%u bytes) overruns message (%zu bytes left)",
					 who, idx, opt_label(type, lb, sizeof(lb)), olen, olen * 8u,
					 len - off);
		struct nd_opt o = { who, idx, type, olen, buf + off, off };
		enum wire_err rc = fn(&o, view, err);
		if (rc != WIRE_OK)
			return rc;
		record(order, type, olen, off);
		off += (size_t)olen * 8;
	}
	return WIRE_OK;
}

static enum wire_err need_len(const struct nd_opt *o, uint8_t want, struct wire_error *err)
{
	if (o->len == want)
		return WIRE_OK;
	return wire_fail(err, WIRE_ELEN, o->off + 1, "%s: option %u (%s) length %u must be %u",
			 o->who, o->idx, nd_opt_name(o->type), o->len, want);
}

static enum wire_err once(const struct nd_opt *o, bool *seen, struct wire_error *err)
{
	if (*seen)
		return wire_fail(err, WIRE_EVALUE, o->off, "%s: option %u (%s) duplicate",
				 o->who, o->idx, nd_opt_name(o->type));
	*seen = true;
	return WIRE_OK;
}

static enum wire_err get_lladdr(const struct nd_opt *o, bool *seen, struct nd_lladdr *ll,
				struct wire_error *err)
{
	enum wire_err rc = once(o, seen, err);

	if (rc != WIRE_OK)
		return rc;
	size_t n = (size_t)o->len * 8 - 2;
	if (n > ND_LLADDR_MAX)
		return wire_fail(err, WIRE_ECOUNT, o->off + 1,
				 "%s: option %u (%s) length %u exceeds %u (%u-byte addresses)",
				 o->who, o->idx, nd_opt_name(o->type), o->len,
				 (ND_LLADDR_MAX + 2) / 8, ND_LLADDR_MAX);
	ll->len = (uint8_t)n;
	memcpy(ll->addr, o->p + 2, n);
	return WIRE_OK;
}

static enum wire_err check_head(const char *who, const uint8_t *buf, size_t len, size_t min,
				uint8_t type, const char *what, struct wire_error *err)
{
	if (len < min)
		return wire_fail(err, WIRE_ETRUNC, 0, "%s: truncated: %zu bytes, need at least %zu",
				 who, len, min);
	if (buf[0] != type)
		return wire_fail(err, WIRE_ETYPE, 0, "%s: type %u is not a %s (%u)", who, buf[0],
				 what, type);
	if (buf[1] != 0)
		return wire_fail(err, WIRE_EVALUE, 1, "%s: code %u must be 0", who, buf[1]);
	return WIRE_OK;
}

/* ---- Router Advertisement ---------------------------------------------- */

struct ra_seen {
	struct nd_ra *ra;
	bool slla, mtu, adv, ha;
};

static enum wire_err ra_prefix(const struct nd_opt *o, struct nd_ra *ra, struct wire_error *err)
{
	enum wire_err rc = need_len(o, 4, err);

	if (rc != WIRE_OK)
		return rc;
	if (ra->n_prefixes >= ND_MAX_PREFIXES)
		return wire_fail(err, WIRE_ECOUNT, o->off, "%s: option %u: more than %d %s options",
				 o->who, o->idx, ND_MAX_PREFIXES, nd_opt_name(o->type));
	if (o->p[2] > 128)
		return wire_fail(err, WIRE_EVALUE, o->off + 2,
				 "%s: option %u (%s) prefix length %u exceeds 128", o->who, o->idx,
				 nd_opt_name(o->type), o->p[2]);
	struct nd_prefix *pi = &ra->prefixes[ra->n_prefixes++];
	pi->prefix_len = o->p[2];
	pi->on_link = o->p[3] & ND_PI_F_ONLINK;
	pi->autonomous = o->p[3] & ND_PI_F_AUTO;
	pi->router_address = o->p[3] & ND_PI_F_ROUTER;
	pi->valid_lifetime = get_be32(o->p + 4);
	pi->preferred_lifetime = get_be32(o->p + 8);
	memcpy(pi->prefix, o->p + 16, 16);
	ra->prefix_reserved1[ra->n_prefixes - 1] = o->p[3] & 0x1f;
	ra->prefix_reserved2[ra->n_prefixes - 1] = get_be32(o->p + 12);
	return WIRE_OK;
}

static enum wire_err ra_map(const struct nd_opt *o, struct nd_ra *ra, struct wire_error *err)
{
	enum wire_err rc = need_len(o, 3, err);

	if (rc != WIRE_OK)
		return rc;
	if (ra->n_maps >= ND_MAX_MAPS)
		return wire_fail(err, WIRE_ECOUNT, o->off, "%s: option %u: more than %d %s options",
				 o->who, o->idx, ND_MAX_MAPS, nd_opt_name(o->type));
	if ((o->p[2] >> 4) == 0)
		return wire_fail(err, WIRE_EVALUE, o->off + 2,
				 "%s: option %u (map) distance 0 is not allowed (RFC 5380 §4)",
				 o->who, o->idx);
	struct nd_map *m = &ra->maps[ra->n_maps++];
	m->dist = o->p[2] >> 4;
	m->pref = o->p[2] & 0x0f;
	m->rcoa = o->p[3] & 0x80;
	ra->map_reserved[ra->n_maps - 1] = o->p[3] & 0x7f;
	m->valid_lifetime = get_be32(o->p + 4);
	memcpy(m->addr, o->p + 8, 16);
	return WIRE_OK;
}

static enum wire_err ra_option(const struct nd_opt *o, void *view, struct wire_error *err)
{
	struct ra_seen *s = view;
	struct nd_ra *ra = s->ra;
	enum wire_err rc;

	switch (o->type) {
	case ND_OPT_SLLA:
		if ((rc = get_lladdr(o, &s->slla, &ra->slla, err)))
			return rc;
		ra->has_slla = true;
		return WIRE_OK;
	case ND_OPT_PREFIX:
		return ra_prefix(o, ra, err);
	case ND_OPT_MTU:
		if ((rc = need_len(o, 1, err)) || (rc = once(o, &s->mtu, err)))
			return rc;
		ra->has_mtu = true;
		ra->mtu = get_be32(o->p + 4);
		ra->mtu_reserved = get_be16(o->p + 2);
		return WIRE_OK;
	case ND_OPT_ADV_INTERVAL:
		if ((rc = need_len(o, 1, err)) || (rc = once(o, &s->adv, err)))
			return rc;
		ra->has_adv_interval = true;
		ra->adv_interval_ms = get_be32(o->p + 4);
		ra->adv_interval_reserved = get_be16(o->p + 2);
		return WIRE_OK;
	case ND_OPT_HA_INFO:
		if ((rc = need_len(o, 1, err)) || (rc = once(o, &s->ha, err)))
			return rc;
		if (get_be16(o->p + 6) == 0)
			return wire_fail(err, WIRE_EVALUE, o->off + 6,
					 "%s: option %u (home agent information) lifetime 0 is not allowed (RFC 6275 §7.4)",
					 o->who, o->idx);
		ra->has_ha_info = true;
		ra->ha_preference = (int16_t)get_be16(o->p + 4);
		ra->ha_lifetime = get_be16(o->p + 6);
		ra->ha_info_reserved = get_be16(o->p + 2);
		return WIRE_OK;
	case ND_OPT_MAP:
		return ra_map(o, ra, err);
	}
	/* RFC 4861 §4.6: unrecognised options are skipped. */
	ra->n_unknown++;
	return WIRE_OK;
}

enum wire_err nd_ra_parse(const uint8_t *buf, size_t len, struct nd_ra *ra,
			  struct wire_error *err)
{
	enum wire_err rc = check_head("nd.ra", buf, len, ND_RA_MIN_LEN, ND_TYPE_RA,
				      "router advertisement", err);

	if (rc != WIRE_OK)
		return rc;
	memset(ra, 0, sizeof(*ra));
	ra->cur_hop_limit = buf[4];
	ra->managed = buf[5] & ND_RA_F_MANAGED;
	ra->other = buf[5] & ND_RA_F_OTHER;
	ra->home_agent = buf[5] & ND_RA_F_HOME_AGENT;
	ra->prf = (buf[5] >> 3) & 0x3;
	ra->proxy = buf[5] & ND_RA_F_PROXY;
	ra->reserved = buf[5] & 0x03;
	ra->router_lifetime = get_be16(buf + 6);
	ra->reachable_time = get_be32(buf + 8);
	ra->retrans_timer = get_be32(buf + 12);
	struct ra_seen s = { .ra = ra };
	return walk_options("nd.ra", buf, len, ND_RA_MIN_LEN, ra_option, &s, &ra->order,
			    err);
}

/* ---- Router Solicitation, Neighbor Solicitation/Advertisement ---------- */

struct ll_seen {
	uint8_t want;			/* the one link-layer option this message takes */
	bool seen;
	bool *has;
	struct nd_lladdr *ll;
	size_t *n_unknown;
};

static enum wire_err ll_option(const struct nd_opt *o, void *view, struct wire_error *err)
{
	struct ll_seen *s = view;

	if (o->type != s->want) {
		(*s->n_unknown)++;
		return WIRE_OK;
	}
	enum wire_err rc = get_lladdr(o, &s->seen, s->ll, err);
	if (rc == WIRE_OK)
		*s->has = true;
	return rc;
}

enum wire_err nd_rs_parse(const uint8_t *buf, size_t len, struct nd_rs *rs,
			  struct wire_error *err)
{
	enum wire_err rc = check_head("nd.rs", buf, len, ND_RS_MIN_LEN, ND_TYPE_RS,
				      "router solicitation", err);

	if (rc != WIRE_OK)
		return rc;
	memset(rs, 0, sizeof(*rs));
	rs->reserved = get_be32(buf + 4);
	struct ll_seen s = { ND_OPT_SLLA, false, &rs->has_slla, &rs->slla, &rs->n_unknown };
	return walk_options("nd.rs", buf, len, ND_RS_MIN_LEN, ll_option, &s, &rs->order,
			    err);
}

static enum wire_err check_target(const char *who, const uint8_t *t, struct wire_error *err)
{
	if (t[0] == 0xff)
		return wire_fail(err, WIRE_EVALUE, 8, "%s: target address is multicast", who);
	return WIRE_OK;
}

enum wire_err nd_ns_parse(const uint8_t *buf, size_t len, struct nd_ns *ns,
			  struct wire_error *err)
{
	enum wire_err rc = check_head("nd.ns", buf, len, ND_NS_MIN_LEN, ND_TYPE_NS,
				      "neighbor solicitation", err);

	if (rc != WIRE_OK || (rc = check_target("nd.ns", buf + 8, err)) != WIRE_OK)
		return rc;
	memset(ns, 0, sizeof(*ns));
	ns->reserved = get_be32(buf + 4);
	memcpy(ns->target, buf + 8, 16);
	struct ll_seen s = { ND_OPT_SLLA, false, &ns->has_slla, &ns->slla, &ns->n_unknown };
	return walk_options("nd.ns", buf, len, ND_NS_MIN_LEN, ll_option, &s, &ns->order,
			    err);
}

enum wire_err nd_na_parse(const uint8_t *buf, size_t len, struct nd_na *na,
			  struct wire_error *err)
{
	enum wire_err rc = check_head("nd.na", buf, len, ND_NA_MIN_LEN, ND_TYPE_NA,
				      "neighbor advertisement", err);

	if (rc != WIRE_OK || (rc = check_target("nd.na", buf + 8, err)) != WIRE_OK)
		return rc;
	memset(na, 0, sizeof(*na));
	na->router = buf[4] & 0x80;
	na->solicited = buf[4] & 0x40;
	na->override = buf[4] & 0x20;
	na->reserved = get_be32(buf + 4) & 0x1fffffff;
	memcpy(na->target, buf + 8, 16);
	struct ll_seen s = { ND_OPT_TLLA, false, &na->has_tlla, &na->tlla, &na->n_unknown };
	return walk_options("nd.na", buf, len, ND_NA_MIN_LEN, ll_option, &s, &na->order,
			    err);
}

enum wire_err nd_rs_check_source(const struct nd_rs *rs, const uint8_t src[16],
				 struct wire_error *err)
{
	static const uint8_t unspec[16];

	if (rs->has_slla && memcmp(src, unspec, 16) == 0)
		return wire_fail(err, WIRE_EVALUE, 0,
				 "nd.rs: source link-layer address option from the unspecified address");
	return WIRE_OK;
}

/* ---- builders ---------------------------------------------------------- */

struct nd_out {
	const char *who;
	uint8_t *buf;
	size_t size, off;
	struct wire_error *err;
};

/* Reserves `n` zeroed bytes; NULL after recording WIRE_ESPACE. */
static uint8_t *out_take(struct nd_out *o, size_t n)
{
	if (n > o->size - o->off) {
		wire_fail(o->err, WIRE_ESPACE, o->off, "%s: %zu bytes do not fit (%zu of %zu used)",
			  o->who, n, o->off, o->size);
		return NULL;
	}
	uint8_t *p = o->buf + o->off;
	memset(p, 0, n);
	o->off += n;
	return p;
}

static uint8_t *out_opt(struct nd_out *o, uint8_t type, uint8_t len8)
{
	uint8_t *p = out_take(o, (size_t)len8 * 8);

	if (p) {
		p[0] = type;
		p[1] = len8;
	}
	return p;
}

static enum wire_err put_lladdr(struct nd_out *o, uint8_t type, const struct nd_lladdr *ll)
{
	if (ll->len == 0 || ll->len > ND_LLADDR_MAX)
		return wire_fail(o->err, WIRE_EVALUE, o->off,
				 "%s: %s of %u bytes (1..%u)", o->who, nd_opt_name(type), ll->len,
				 ND_LLADDR_MAX);
	uint8_t *p = out_opt(o, type, (uint8_t)((ll->len + 2 + 7) / 8));
	if (!p)
		return WIRE_ESPACE;
	memcpy(p + 2, ll->addr, ll->len);
	return WIRE_OK;
}

static enum wire_err put_prefix(struct nd_out *o, const struct nd_prefix *pi, uint8_t res1,
			       uint32_t res2)
{
	if (pi->prefix_len > 128)
		return wire_fail(o->err, WIRE_EVALUE, o->off, "%s: prefix length %u exceeds 128",
				 o->who, pi->prefix_len);
	uint8_t *p = out_opt(o, ND_OPT_PREFIX, 4);
	if (!p)
		return WIRE_ESPACE;
	p[2] = pi->prefix_len;
	p[3] = (uint8_t)((pi->on_link ? ND_PI_F_ONLINK : 0) | (pi->autonomous ? ND_PI_F_AUTO : 0) |
			 (pi->router_address ? ND_PI_F_ROUTER : 0) | (res1 & 0x1f));
	put_be32(p + 4, pi->valid_lifetime);
	put_be32(p + 8, pi->preferred_lifetime);
	put_be32(p + 12, res2);
	memcpy(p + 16, pi->prefix, 16);
	return WIRE_OK;
}

static enum wire_err put_map(struct nd_out *o, const struct nd_map *m, uint8_t res)
{
	if (m->dist == 0 || m->dist > 15 || m->pref > 15)
		return wire_fail(o->err, WIRE_EVALUE, o->off,
				 "%s: map distance %u (1..15) or preference %u (0..15) out of range",
				 o->who, m->dist, m->pref);
	uint8_t *p = out_opt(o, ND_OPT_MAP, 3);
	if (!p)
		return WIRE_ESPACE;
	p[2] = (uint8_t)(m->dist << 4 | m->pref);
	p[3] = (uint8_t)((m->rcoa ? 0x80 : 0) | (res & 0x7f));
	put_be32(p + 4, m->valid_lifetime);
	memcpy(p + 8, m->addr, 16);
	return WIRE_OK;
}

static enum wire_err put_u32_opt(struct nd_out *o, uint8_t type, uint16_t reserved, uint32_t v)
{
	uint8_t *p = out_opt(o, type, 1);

	if (!p)
		return WIRE_ESPACE;
	put_be16(p + 2, reserved);
	put_be32(p + 4, v);
	return WIRE_OK;
}

static enum wire_err put_ha_info(struct nd_out *o, uint16_t reserved, int16_t pref,
				 uint16_t lifetime)
{
	if (lifetime == 0)
		return wire_fail(o->err, WIRE_EVALUE, o->off,
				 "%s: home agent lifetime 0 is not allowed (RFC 6275 §7.4)", o->who);
	uint8_t *p = out_opt(o, ND_OPT_HA_INFO, 1);
	if (!p)
		return WIRE_ESPACE;
	put_be16(p + 2, reserved);
	put_be16(p + 4, (uint16_t)pref);
	put_be16(p + 6, lifetime);
	return WIRE_OK;
}

static enum wire_err ra_options(struct nd_out *o, const struct nd_ra *ra)
{
	enum wire_err rc;

	if (ra->has_slla && (rc = put_lladdr(o, ND_OPT_SLLA, &ra->slla)))
		return rc;
	if (ra->has_mtu && (rc = put_u32_opt(o, ND_OPT_MTU, ra->mtu_reserved, ra->mtu)))
		return rc;
	if (ra->has_adv_interval &&
	    (rc = put_u32_opt(o, ND_OPT_ADV_INTERVAL, ra->adv_interval_reserved, ra->adv_interval_ms)))
		return rc;
	if (ra->has_ha_info &&
	    (rc = put_ha_info(o, ra->ha_info_reserved, ra->ha_preference, ra->ha_lifetime)))
		return rc;
	for (size_t i = 0; i < ra->n_prefixes; i++)
		if ((rc = put_prefix(o, &ra->prefixes[i], ra->prefix_reserved1[i],
				     ra->prefix_reserved2[i])))
			return rc;
	for (size_t i = 0; i < ra->n_maps; i++)
		if ((rc = put_map(o, &ra->maps[i], ra->map_reserved[i])))
			return rc;
	return WIRE_OK;
}

enum wire_err nd_ra_build(const struct nd_ra *ra, uint8_t *buf, size_t size,
			  size_t *out_len, struct wire_error *err)
{
	struct nd_out o = { "nd.ra", buf, size, 0, err };
	enum wire_err rc;

	if (ra->n_prefixes > ND_MAX_PREFIXES || ra->n_maps > ND_MAX_MAPS)
		return wire_fail(err, WIRE_ECOUNT, 0, "nd.ra: %zu prefixes (max %d), %zu maps (max %d)",
				 ra->n_prefixes, ND_MAX_PREFIXES, ra->n_maps, ND_MAX_MAPS);
	if (ra->prf > 3)
		return wire_fail(err, WIRE_EVALUE, 5, "nd.ra: router preference %u exceeds 3", ra->prf);
	uint8_t *p = out_take(&o, ND_RA_MIN_LEN);
	if (!p)
		return WIRE_ESPACE;
	p[0] = ND_TYPE_RA;
	p[4] = ra->cur_hop_limit;
	p[5] = (uint8_t)((ra->managed ? ND_RA_F_MANAGED : 0) | (ra->other ? ND_RA_F_OTHER : 0) |
			 (ra->home_agent ? ND_RA_F_HOME_AGENT : 0) | ra->prf << 3 |
			 (ra->proxy ? ND_RA_F_PROXY : 0) | (ra->reserved & 0x03));
	put_be16(p + 6, ra->router_lifetime);
	put_be32(p + 8, ra->reachable_time);
	put_be32(p + 12, ra->retrans_timer);
	if ((rc = ra_options(&o, ra)))
		return rc;
	*out_len = o.off;
	return WIRE_OK;
}

enum wire_err nd_rs_build(const struct nd_rs *rs, uint8_t *buf, size_t size,
			  size_t *out_len, struct wire_error *err)
{
	struct nd_out o = { "nd.rs", buf, size, 0, err };
	uint8_t *p = out_take(&o, ND_RS_MIN_LEN);
	enum wire_err rc;

	if (!p)
		return WIRE_ESPACE;
	p[0] = ND_TYPE_RS;
	put_be32(p + 4, rs->reserved);
	if (rs->has_slla && (rc = put_lladdr(&o, ND_OPT_SLLA, &rs->slla)))
		return rc;
	*out_len = o.off;
	return WIRE_OK;
}

enum wire_err nd_ns_build(const struct nd_ns *ns, uint8_t *buf, size_t size,
			  size_t *out_len, struct wire_error *err)
{
	struct nd_out o = { "nd.ns", buf, size, 0, err };
	uint8_t *p;
	enum wire_err rc;

	if ((rc = check_target("nd.ns", ns->target, err)))
		return rc;
	if (!(p = out_take(&o, ND_NS_MIN_LEN)))
		return WIRE_ESPACE;
	p[0] = ND_TYPE_NS;
	put_be32(p + 4, ns->reserved);
	memcpy(p + 8, ns->target, 16);
	if (ns->has_slla && (rc = put_lladdr(&o, ND_OPT_SLLA, &ns->slla)))
		return rc;
	*out_len = o.off;
	return WIRE_OK;
}

enum wire_err nd_na_build(const struct nd_na *na, uint8_t *buf, size_t size,
			  size_t *out_len, struct wire_error *err)
{
	struct nd_out o = { "nd.na", buf, size, 0, err };
	uint8_t *p;
	enum wire_err rc;

	if ((rc = check_target("nd.na", na->target, err)))
		return rc;
	if (!(p = out_take(&o, ND_NA_MIN_LEN)))
		return WIRE_ESPACE;
	p[0] = ND_TYPE_NA;
	put_be32(p + 4, (uint32_t)(na->router ? 0x80 : 0) << 24 |
			(uint32_t)(na->solicited ? 0x40 : 0) << 24 |
			(uint32_t)(na->override ? 0x20 : 0) << 24 | (na->reserved & 0x1fffffff));
	memcpy(p + 8, na->target, 16);
	if (na->has_tlla && (rc = put_lladdr(&o, ND_OPT_TLLA, &na->tlla)))
		return rc;
	*out_len = o.off;
	return WIRE_OK;
}

/* ---- single options -------------------------------------------------- */

static enum wire_err opt_done(const struct nd_out *o, enum wire_err rc, size_t *out_len)
{
	if (rc == WIRE_OK)
		*out_len = o->off;
	return rc;
}

enum wire_err nd_opt_lladdr_build(uint8_t type, const struct nd_lladdr *ll, uint8_t *buf,
				  size_t size, size_t *out_len, struct wire_error *err)
{
	struct nd_out o = { "nd.opt", buf, size, 0, err };

	return opt_done(&o, put_lladdr(&o, type, ll), out_len);
}

enum wire_err nd_opt_prefix_build(const struct nd_prefix *pi, uint8_t reserved1,
				  uint32_t reserved2, uint8_t *buf, size_t size, size_t *out_len,
				  struct wire_error *err)
{
	struct nd_out o = { "nd.opt", buf, size, 0, err };

	return opt_done(&o, put_prefix(&o, pi, reserved1, reserved2), out_len);
}

enum wire_err nd_opt_map_build(const struct nd_map *m, uint8_t reserved, uint8_t *buf,
			       size_t size, size_t *out_len, struct wire_error *err)
{
	struct nd_out o = { "nd.opt", buf, size, 0, err };

	return opt_done(&o, put_map(&o, m, reserved), out_len);
}

enum wire_err nd_opt_u32_build(uint8_t type, uint16_t reserved, uint32_t value, uint8_t *buf,
			       size_t size, size_t *out_len, struct wire_error *err)
{
	struct nd_out o = { "nd.opt", buf, size, 0, err };

	return opt_done(&o, put_u32_opt(&o, type, reserved, value), out_len);
}

enum wire_err nd_opt_ha_info_build(uint16_t reserved, int16_t preference, uint16_t lifetime,
				   uint8_t *buf, size_t size, size_t *out_len,
				   struct wire_error *err)
{
	struct nd_out o = { "nd.opt", buf, size, 0, err };

	return opt_done(&o, put_ha_info(&o, reserved, preference, lifetime), out_len);
}

/* ---- checksum ---------------------------------------------------------- */

static uint32_t pseudo_sum(const uint8_t src[16], const uint8_t dst[16], size_t len)
{
	uint8_t tail[8] = { 0 };
	uint32_t sum;

	put_be32(tail, (uint32_t)len);
	tail[7] = 58;	/* IPPROTO_ICMPV6 */
	sum = csum_partial(src, 16, 0);
	sum = csum_partial(dst, 16, sum);
	return csum_partial(tail, 8, sum);
}

/* The checksum to store: the message summed with its checksum field as zero. */
static uint16_t icmp6_csum(const uint8_t src[16], const uint8_t dst[16], const uint8_t *msg,
			   size_t len)
{
	uint32_t sum = pseudo_sum(src, dst, len);

	sum = csum_partial(msg, 2, sum);
	sum = csum_partial(msg + 4, len - 4, sum);
	return csum_fold(sum);
}

void nd_csum_fill(const uint8_t src[16], const uint8_t dst[16], uint8_t *msg, size_t len)
{
	if (len < 4)
		return;
	put_be16(msg + 2, icmp6_csum(src, dst, msg, len));
}

enum wire_err nd_csum_verify(const uint8_t src[16], const uint8_t dst[16],
			     const uint8_t *msg, size_t len, struct wire_error *err)
{
	if (len < 4)
		return wire_fail(err, WIRE_ETRUNC, 0, "icmp6: truncated: %zu bytes, need at least 4",
				 len);
	/* Summed with the field in place a correct message folds to zero; that
	 * also accepts 0xffff for 0x0000, the same value in one's complement. */
	if (csum_fold(csum_partial(msg, len, pseudo_sum(src, dst, len))) == 0)
		return WIRE_OK;
	uint16_t want = icmp6_csum(src, dst, msg, len), got = get_be16(msg + 2);
	if (want != got)
		return wire_fail(err, WIRE_ECSUM, 2, "icmp6: checksum 0x%04x, expected 0x%04x", got,
				 want);
	return WIRE_OK;
}
