/* Mobility Header parsing: common header, per-type fixed part, checksum.
 * Options are walked by mh_opt.c; building is in mh_build.c. */
#include "wire/mh.h"

struct mh_type_info {
	const char *name;
	const char *tag;
	int8_t body;		/* fixed octets after the 6-octet common header */
};

/* Indexed by MH Type; a NULL name is a type this codec does not know. */
static const struct mh_type_info mh_types[] = {
	[MH_BRR] = { "binding_refresh_request", "brr", 2 },
	[MH_HOTI] = { "home_test_init", "hoti", 10 },
	[MH_COTI] = { "care_of_test_init", "coti", 10 },
	[MH_HOT] = { "home_test", "hot", 18 },
	[MH_COT] = { "care_of_test", "cot", 18 },
	[MH_BU] = { "binding_update", "bu", 6 },
	[MH_BA] = { "binding_acknowledgement", "ba", 6 },
	[MH_BE] = { "binding_error", "be", 18 },
	[MH_HAS] = { "home_agent_switch", "has", 2 },
};

#define N_TYPES (sizeof(mh_types) / sizeof(mh_types[0]))

int mh_body_len(uint8_t type)
{
	if (type >= N_TYPES || !mh_types[type].name)
		return -1;
	return mh_types[type].body;
}

const char *mh_type_name(uint8_t type)
{
	return type < N_TYPES ? mh_types[type].name : NULL;
}

const char *mh_type_tag(uint8_t type)
{
	if (type >= N_TYPES || !mh_types[type].tag)
		return "unknown";
	return mh_types[type].tag;
}

uint16_t mh_checksum(const uint8_t *mh, size_t len, const uint8_t *src, const uint8_t *dst)
{
	uint8_t tail[8] = { 0 };
	uint32_t sum;

	put_be32(tail, (uint32_t)len);
	tail[7] = IPPROTO_MH_NUM;
	sum = csum_partial(src, 16, 0);
	sum = csum_partial(dst, 16, sum);
	sum = csum_partial(tail, 8, sum);
	/* The Checksum field (octets 4-5) counts as zero; 6 is even, so the
	 * 16-bit word boundaries of the rest are unchanged. */
	sum = csum_partial(mh, 4, sum);
	sum = csum_partial(mh + 6, len - 6, sum);
	return csum_fold(sum);
}

static void parse_body(const uint8_t *p, struct mh_msg *m)
{
	union mh_body *u = &m->u;

	switch (m->type) {
	case MH_BRR:
		u->brr.reserved = get_be16(p);
		break;
	case MH_HOTI:
	case MH_COTI:
		u->hoti.reserved = get_be16(p);
		u->hoti.cookie = p + 2;
		break;
	case MH_HOT:
	case MH_COT:
		u->hot.nonce_index = get_be16(p);
		u->hot.cookie = p + 2;
		u->hot.token = p + 10;
		break;
	case MH_BU:
		u->bu.seq = get_be16(p);
		u->bu.flags = get_be16(p + 2);
		u->bu.lifetime = get_be16(p + 4);
		break;
	case MH_BA:
		u->ba.status = p[0];
		u->ba.flags = p[1];
		u->ba.seq = get_be16(p + 2);
		u->ba.lifetime = get_be16(p + 4);
		break;
	case MH_BE:
		u->be.status = p[0];
		u->be.reserved = p[1];
		u->be.home_addr = p + 2;
		break;
	case MH_HAS:
		u->has.n_addrs = p[0];
		u->has.reserved = p[1];
		u->has.addrs = p + 2;
		break;
	}
}

static enum wire_err parse_opts(const uint8_t *buf, struct mh_msg *m, struct wire_error *err)
{
	struct mh_opt_iter it;
	struct mh_opt o;
	int r;

	mh_opt_iter_init(&it, buf, m->len);
	while ((r = mh_opt_next(&it, &o, err)) > 0) {
		if (o.type <= MH_OPT_PADN) {
			m->pad_octets += (uint16_t)(o.type == MH_OPT_PAD1 ? 1 : 2 + o.len);
			continue;
		}
		if (m->n_opts == MH_MAX_OPTS)
			return wire_fail(err, WIRE_ECOUNT, o.off,
					 "mh.%s: more than %d options", mh_type_tag(m->type),
					 MH_MAX_OPTS);
		m->n_unknown += !o.known;
		m->opts[m->n_opts++] = o;
	}
	return r < 0 ? it.code : WIRE_OK;
}

/* Checks in the order of RFC 6275 §9.2 once the length is known to be
 * sound: checksum, MH Type, Payload Proto, Header Len. */
enum wire_err mh_parse(const uint8_t *buf, size_t len, const uint8_t *src,
		       const uint8_t *dst, struct mh_msg *m, struct wire_error *err)
{
	size_t total, fixed;
	int body;

	if (len < 8)
		return wire_fail(err, WIRE_ETRUNC, len,
				 "mh: %zu octets, a Mobility Header has at least 8", len);
	total = ((size_t)buf[1] + 1) * 8;
	if (len < total)
		return wire_fail(err, WIRE_ETRUNC, len,
				 "mh: header_len %u means %zu octets, only %zu present",
				 buf[1], total, len);
	if (len > total)
		return wire_fail(err, WIRE_ELEN, total,
				 "mh: %zu octets after the %zu of header_len %u",
				 len - total, total, buf[1]);
	m->payload_proto = buf[0];
	m->header_len = buf[1];
	m->type = buf[2];
	m->header_reserved = buf[3];
	m->checksum = get_be16(buf + 4);
	m->len = (uint16_t)total;
	m->n_opts = m->n_unknown = 0;
	m->pad_octets = 0;
	/* RFC 1071 check: the sum over pseudo-header and header, Checksum
	 * included, is all ones (so 0x0000 and 0xffff both pass for zero). */
	if (src && dst && csum_ipv6(src, dst, IPPROTO_MH_NUM, buf, total) != 0)
		return wire_fail(err, WIRE_ECSUM, 4, "mh.%s: checksum 0x%04x, expected 0x%04x",
				 mh_type_tag(m->type), m->checksum, mh_checksum(buf, total, src, dst));
	body = mh_body_len(m->type);
	if (body < 0)
		return wire_fail(err, WIRE_ETYPE, 2, "mh: unknown MH type %u", m->type);
	if (m->payload_proto != MH_PROTO_NONE)
		return wire_fail(err, WIRE_EVALUE, 0,
				 "mh.%s: payload proto %u, expected 59 (IPPROTO_NONE)",
				 mh_type_tag(m->type), m->payload_proto);
	fixed = 6 + (size_t)body;
	if (m->type == MH_HAS)	/* total >= 8: the count octet is there */
		fixed += 16 * (size_t)buf[6];
	if (fixed > total)
		return wire_fail(err, WIRE_ELEN, 1,
				 "mh.%s: header_len %u (%zu octets) too short, needs %zu",
				 mh_type_tag(m->type), m->header_len, total, fixed);
	m->opt_off = (uint16_t)fixed;
	parse_body(buf + 6, m);
	return parse_opts(buf, m, err);
}

const struct mh_opt *mh_find_opt(const struct mh_msg *m, uint8_t type)
{
	for (unsigned i = 0; i < m->n_opts; i++)
		if (m->opts[i].type == type)
			return &m->opts[i];
	return NULL;
}
