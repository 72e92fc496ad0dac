/* Mobility options (RFC 6275 §6.2): walking, length rules, field decoding. */
#include "wire/mh.h"

struct mh_opt_info {
	const char *name;
	int8_t fixed;		/* required Option Length, -1 variable */
	uint8_t min;		/* minimum Option Length when variable */
	uint8_t ax, ay;		/* alignment ax*n + ay, ax == 0: none */
};

static const struct mh_opt_info mh_opts[] = {
	[MH_OPT_PAD1] = { "pad1", -1, 0, 0, 0 },
	[MH_OPT_PADN] = { "padn", -1, 0, 0, 0 },
	[MH_OPT_BRA] = { "binding_refresh_advice", 2, 0, 2, 0 },
	[MH_OPT_ALT_COA] = { "alternate_care_of_address", 16, 0, 8, 6 },
	[MH_OPT_NONCE] = { "nonce_indices", 4, 0, 2, 0 },
	[MH_OPT_AUTH] = { "binding_authorization_data", -1, 1, 8, 2 },
	[MH_OPT_MNP] = { "mobile_network_prefix", 18, 0, 8, 4 },
	[MH_OPT_VENDOR] = { "vendor_specific", -1, 5, 4, 2 },
	[MH_OPT_V4_HOA] = { "ipv4_home_address", 6, 0, 4, 0 },
	[MH_OPT_V4_ACK] = { "ipv4_address_acknowledgement", 6, 0, 4, 0 },
	[MH_OPT_NATD] = { "nat_detection", 6, 0, 4, 0 },
	[MH_OPT_V4_COA] = { "ipv4_care_of_address", 6, 0, 4, 0 },
};

#define N_OPTS (sizeof(mh_opts) / sizeof(mh_opts[0]))

static const struct mh_opt_info *opt_info(uint8_t type)
{
	if (type >= N_OPTS || !mh_opts[type].name)
		return NULL;
	return &mh_opts[type];
}

const char *mh_opt_name(uint8_t type)
{
	const struct mh_opt_info *i = opt_info(type);

	return i ? i->name : NULL;
}

int mh_opt_fixed_len(uint8_t type)
{
	const struct mh_opt_info *i = opt_info(type);

	return i ? i->fixed : -1;
}

void mh_opt_align(uint8_t type, unsigned *x, unsigned *y)
{
	const struct mh_opt_info *i = opt_info(type);

	*x = i ? i->ax : 0;
	*y = i ? i->ay : 0;
}

void mh_opt_iter_init(struct mh_opt_iter *it, const uint8_t *buf, size_t len)
{
	int body = len >= 8 ? mh_body_len(buf[2]) : -1;
	size_t off = 6 + (size_t)(body < 0 ? 2 : body);

	if (len >= 8 && buf[2] == MH_HAS)
		off += 16 * (size_t)buf[6];
	it->buf = buf;
	it->end = len;
	it->off = off > len ? len : off;
	it->idx = 0;
	it->code = WIRE_OK;
	it->mh_type = len >= 8 ? buf[2] : 0;
}

static void decode(struct mh_opt *o)
{
	const uint8_t *d = o->data;

	switch (o->type) {
	case MH_OPT_BRA:
		o->u.refresh_interval = get_be16(d);
		break;
	case MH_OPT_ALT_COA:
		o->u.alt_coa = d;
		break;
	case MH_OPT_NONCE:
		o->u.nonce.home = get_be16(d);
		o->u.nonce.care_of = get_be16(d + 2);
		break;
	case MH_OPT_MNP:
		o->u.mnp.reserved = d[0];
		o->u.mnp.prefix_len = d[1];
		o->u.mnp.prefix = d + 2;
		break;
	case MH_OPT_V4_HOA:
		/* Prefix-len (6 bits) | P | Reserved (9 bits) */
		o->u.v4_hoa.prefix_len = d[0] >> 2;
		o->u.v4_hoa.flags = get_be16(d) & 0x03ff;
		o->u.v4_hoa.addr = d + 2;
		break;
	case MH_OPT_V4_ACK:
		/* Status | Pref-len (6 bits) | Res (2 bits) */
		o->u.v4_ack.status = d[0];
		o->u.v4_ack.prefix_len = d[1] >> 2;
		o->u.v4_ack.reserved = d[1] & 3;
		o->u.v4_ack.addr = d + 2;
		break;
	case MH_OPT_NATD:
		o->u.natd.flags = get_be16(d);
		o->u.natd.refresh_time = get_be32(d + 2);
		break;
	case MH_OPT_V4_COA:
		o->u.v4_coa.reserved = get_be16(d);
		o->u.v4_coa.addr = d + 2;
		break;
	case MH_OPT_VENDOR:
		o->u.vendor.vendor_id = get_be32(d);
		o->u.vendor.sub_type = d[4];
		break;
	}
}

bool mh_opt_prefix_len(const struct mh_opt *o, unsigned *plen, unsigned *max)
{
	switch (o->type) {
	case MH_OPT_MNP:
		*plen = o->u.mnp.prefix_len, *max = 128;
		return true;
	case MH_OPT_V4_HOA:
		*plen = o->u.v4_hoa.prefix_len, *max = 32;
		return true;
	case MH_OPT_V4_ACK:
		*plen = o->u.v4_ack.prefix_len, *max = 32;
		return true;
	default:
		return false;
	}
}

/* Values a length check cannot catch. */
static int check_values(struct mh_opt_iter *it, const struct mh_opt *o,
			unsigned n, struct wire_error *err)
{
	unsigned plen, max;

	if (!mh_opt_prefix_len(o, &plen, &max) || plen <= max)
		return 1;
	it->code = wire_fail(err, WIRE_EVALUE, o->off, "mh.%s: option %u (%s) at offset %u: prefix length %u over %u",
		  mh_type_tag(it->mh_type), n, mh_opt_name(o->type), (unsigned)o->off, plen, max);
	return -1;
}

int mh_opt_next(struct mh_opt_iter *it, struct mh_opt *o, struct wire_error *err)
{
	const struct mh_opt_info *info;
	const char *tag = mh_type_tag(it->mh_type);
	size_t off = it->off;
	unsigned n;

	if (off >= it->end)
		return 0;
	n = ++it->idx;
	o->type = it->buf[off];
	o->off = (uint16_t)off;
	o->known = true;
	if (o->type == MH_OPT_PAD1) {
		o->len = 0;
		o->data = it->buf + off + 1;
		it->off = off + 1;
		return 1;
	}
	if (off + 2 > it->end) {
		it->code = wire_fail(err, WIRE_ELEN, off, "mh.%s: option %u (type %u) at offset %zu: length octet past header end (%zu)",
			  tag, n, o->type, off, it->end);
		return -1;
	}
	o->len = it->buf[off + 1];
	o->data = it->buf + off + 2;
	if (off + 2 + o->len > it->end) {
		it->code = wire_fail(err, WIRE_ELEN, off, "mh.%s: option %u (type %u) at offset %zu: length %u overruns header (%zu)",
			  tag, n, o->type, off, o->len, it->end);
		return -1;
	}
	it->off = off + 2 + o->len;
	info = opt_info(o->type);
	if (!info) {
		o->known = false;
		return 1;
	}
	if (info->fixed >= 0 && o->len != info->fixed) {
		it->code = wire_fail(err, WIRE_ELEN, off, "mh.%s: option %u (%s) at offset %zu: length %u, expected %d",
			  tag, n, info->name, off, o->len, info->fixed);
		return -1;
	}
	if (info->fixed < 0 && o->len < info->min) {
		it->code = wire_fail(err, WIRE_ELEN, off, "mh.%s: option %u (%s) at offset %zu: length %u, expected at least %u",
			  tag, n, info->name, off, o->len, info->min);
		return -1;
	}
	decode(o);
	return check_values(it, o, n, err);
}
