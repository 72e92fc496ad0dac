/* Mobility Header building: fixed part, options with their alignment
 * padding (RFC 6275 §6.2.1), Header Len and checksum. */
#include "wire/mh.h"

/* Room for n more octets, or a recorded error. */
static uint8_t *reserve(struct mh_builder *b, size_t n)
{
	uint8_t *p;

	if (b->code)
		return NULL;
	if (b->len + n > MH_MAX_LEN) {
		b->code = wire_fail(b->err, WIRE_ELEN, b->len,
				    "mh.%s: %zu octets exceed the 2048 a Header Len can express",
				    mh_type_tag(b->type), b->len + n);
		return NULL;
	}
	if (b->len + n > b->size) {
		b->code = wire_fail(b->err, WIRE_ESPACE, b->len,
				    "mh.%s: needs %zu octets, buffer has %zu",
				    mh_type_tag(b->type), b->len + n, b->size);
		return NULL;
	}
	p = b->buf + b->len;
	memset(p, 0, n);
	b->len += n;
	return p;
}

static void put_body(uint8_t *p, uint8_t type, const union mh_body *u)
{
	switch (type) {
	case MH_BRR:
		put_be16(p, u->brr.reserved);
		break;
	case MH_HOTI:
	case MH_COTI:
		put_be16(p, u->hoti.reserved);
		if (u->hoti.cookie)
			memcpy(p + 2, u->hoti.cookie, 8);
		break;
	case MH_HOT:
	case MH_COT:
		put_be16(p, u->hot.nonce_index);
		if (u->hot.cookie)
			memcpy(p + 2, u->hot.cookie, 8);
		if (u->hot.token)
			memcpy(p + 10, u->hot.token, 8);
		break;
	case MH_BU:
		put_be16(p, u->bu.seq);
		put_be16(p + 2, u->bu.flags);
		put_be16(p + 4, u->bu.lifetime);
		break;
	case MH_BA:
		p[0] = u->ba.status;
		p[1] = u->ba.flags;
		put_be16(p + 2, u->ba.seq);
		put_be16(p + 4, u->ba.lifetime);
		break;
	case MH_BE:
		p[0] = u->be.status;
		p[1] = u->be.reserved;
		if (u->be.home_addr)
			memcpy(p + 2, u->be.home_addr, 16);
		break;
	case MH_HAS:
		p[0] = u->has.n_addrs;
		p[1] = u->has.reserved;
		if (u->has.n_addrs)
			memcpy(p + 2, u->has.addrs, 16 * (size_t)u->has.n_addrs);
		break;
	}
}

void mh_build_begin(struct mh_builder *b, uint8_t *buf, size_t size, uint8_t type,
		    const union mh_body *body, struct wire_error *err)
{
	static const union mh_body zero;
	int blen = mh_body_len(type);
	size_t n;
	uint8_t *p;

	b->buf = buf;
	b->size = size;
	b->len = 0;
	b->type = type;
	b->payload_proto = MH_PROTO_NONE;
	b->header_reserved = 0;
	b->checksum = 0;
	b->code = WIRE_OK;
	b->err = err;
	if (blen < 0) {
		b->code = wire_fail(err, WIRE_ETYPE, 2, "mh: cannot build unknown MH type %u", type);
		return;
	}
	if (!body)
		body = &zero;
	if (type == MH_HAS && body->has.n_addrs && !body->has.addrs) {
		b->code = wire_fail(err, WIRE_EVALUE, 6, "mh.has: %u addresses but no address array",
				    body->has.n_addrs);
		return;
	}
	n = 6 + (size_t)blen + (type == MH_HAS ? 16 * (size_t)body->has.n_addrs : 0);
	p = reserve(b, n);
	if (!p)
		return;
	p[2] = type;
	put_body(p + 6, type, body);
}

void mh_build_pad(struct mh_builder *b, size_t n)
{
	uint8_t *p;

	if (n == 0)
		return;
	if (n > 257) {
		mh_build_pad(b, n - 257);
		n = 257;
	}
	p = reserve(b, n);
	if (!p)
		return;
	/* reserve() zeroed the octets: a Pad1 is a single 0. */
	if (n > 1) {
		p[0] = MH_OPT_PADN;
		p[1] = (uint8_t)(n - 2);
	}
}

static void align(struct mh_builder *b, uint8_t type)
{
	unsigned x, y;

	mh_opt_align(type, &x, &y);
	if (x)
		mh_build_pad(b, (y + x - b->len % x) % x);
}

static size_t opt_len(const struct mh_opt *o)
{
	int fixed = mh_opt_fixed_len(o->type);

	return fixed >= 0 ? (size_t)fixed : o->len;
}

static void put_opt_data(uint8_t *d, const struct mh_opt *o)
{
	switch (o->type) {
	case MH_OPT_BRA:
		put_be16(d, o->u.refresh_interval);
		return;
	case MH_OPT_ALT_COA:
		memcpy(d, o->u.alt_coa, 16);
		return;
	case MH_OPT_NONCE:
		put_be16(d, o->u.nonce.home);
		put_be16(d + 2, o->u.nonce.care_of);
		return;
	case MH_OPT_MNP:
		d[0] = o->u.mnp.reserved;
		d[1] = o->u.mnp.prefix_len;
		memcpy(d + 2, o->u.mnp.prefix, 16);
		return;
	case MH_OPT_V4_HOA:
		put_be16(d, (uint16_t)(o->u.v4_hoa.prefix_len << 10 | (o->u.v4_hoa.flags & 0x03ff)));
		memcpy(d + 2, o->u.v4_hoa.addr, 4);
		return;
	case MH_OPT_V4_ACK:
		d[0] = o->u.v4_ack.status;
		d[1] = (uint8_t)(o->u.v4_ack.prefix_len << 2 | (o->u.v4_ack.reserved & 3));
		memcpy(d + 2, o->u.v4_ack.addr, 4);
		return;
	case MH_OPT_NATD:
		put_be16(d, o->u.natd.flags);
		put_be32(d + 2, o->u.natd.refresh_time);
		return;
	case MH_OPT_V4_COA:
		put_be16(d, o->u.v4_coa.reserved);
		memcpy(d + 2, o->u.v4_coa.addr, 4);
		return;
	case MH_OPT_VENDOR:
		put_be32(d, o->u.vendor.vendor_id);
		d[4] = o->u.vendor.sub_type;
		/* data is the whole option data, as in a parsed view */
		if (o->len > 5)
			memcpy(d + 5, o->data + 5, o->len - 5u);
		return;
	default:		/* PadN, authorization data, unknown: raw */
		if (o->len)
			memcpy(d, o->data, o->len);
	}
}

static bool check_opt(struct mh_builder *b, const struct mh_opt *o)
{
	unsigned plen = 0, max = 255;

	mh_opt_prefix_len(o, &plen, &max);
	switch (o->type) {
	case MH_OPT_AUTH:
		if (o->len == 0)
			goto empty;
		break;
	case MH_OPT_VENDOR:
		if (o->len < 5) {
			b->code = wire_fail(b->err, WIRE_EVALUE, b->len,
					    "mh.%s: vendor_specific length %u, needs at least 5",
					    mh_type_tag(b->type), o->len);
			return false;
		}
		break;
	}
	if (plen > max) {
		b->code = wire_fail(b->err, WIRE_EVALUE, b->len, "mh.%s: %s prefix length %u over %u",
				    mh_type_tag(b->type), mh_opt_name(o->type), plen, max);
		return false;
	}
	return true;
empty:
	b->code = wire_fail(b->err, WIRE_EVALUE, b->len, "mh.%s: %s without data",
			    mh_type_tag(b->type), mh_opt_name(o->type));
	return false;
}

void mh_build_opt(struct mh_builder *b, const struct mh_opt *o, bool do_align)
{
	size_t n;
	uint8_t *p;

	if (b->code)
		return;
	if (o->type == MH_OPT_PAD1) {
		mh_build_pad(b, 1);
		return;
	}
	if (!check_opt(b, o))
		return;
	if (do_align)
		align(b, o->type);
	n = opt_len(o);
	p = reserve(b, 2 + n);
	if (!p)
		return;
	p[0] = o->type;
	p[1] = (uint8_t)n;
	put_opt_data(p + 2, o);
}

void mh_build_raw(struct mh_builder *b, uint8_t type, const uint8_t *data, uint8_t len)
{
	uint8_t *p = reserve(b, 2 + (size_t)len);

	if (!p)
		return;
	p[0] = type;
	p[1] = len;
	if (len)
		memcpy(p + 2, data, len);
}

void mh_build_bra(struct mh_builder *b, uint16_t refresh_interval)
{
	struct mh_opt o = { .type = MH_OPT_BRA, .u.refresh_interval = refresh_interval };

	mh_build_opt(b, &o, true);
}

void mh_build_alt_coa(struct mh_builder *b, const uint8_t addr[16])
{
	struct mh_opt o = { .type = MH_OPT_ALT_COA, .u.alt_coa = addr };

	mh_build_opt(b, &o, true);
}

void mh_build_nonce(struct mh_builder *b, uint16_t home, uint16_t care_of)
{
	struct mh_opt o = { .type = MH_OPT_NONCE, .u.nonce = { home, care_of } };

	mh_build_opt(b, &o, true);
}

void mh_build_auth(struct mh_builder *b, const uint8_t *auth, uint8_t len)
{
	struct mh_opt o = { .type = MH_OPT_AUTH, .len = len, .data = auth };

	mh_build_opt(b, &o, true);
}

void mh_build_mnp(struct mh_builder *b, uint8_t prefix_len, const uint8_t prefix[16])
{
	struct mh_opt o = { .type = MH_OPT_MNP };

	o.u.mnp.prefix_len = prefix_len;
	o.u.mnp.prefix = prefix;
	mh_build_opt(b, &o, true);
}

void mh_build_v4_hoa(struct mh_builder *b, uint8_t prefix_len, bool p, const uint8_t addr[4])
{
	struct mh_opt o = { .type = MH_OPT_V4_HOA };

	o.u.v4_hoa.prefix_len = prefix_len;
	o.u.v4_hoa.flags = p ? MH_V4_HOA_P : 0;
	o.u.v4_hoa.addr = addr;
	mh_build_opt(b, &o, true);
}

void mh_build_v4_ack(struct mh_builder *b, uint8_t status, uint8_t prefix_len,
		     const uint8_t addr[4])
{
	struct mh_opt o = { .type = MH_OPT_V4_ACK };

	o.u.v4_ack.status = status;
	o.u.v4_ack.prefix_len = prefix_len;
	o.u.v4_ack.addr = addr;
	mh_build_opt(b, &o, true);
}

void mh_build_natd(struct mh_builder *b, bool force, uint32_t refresh_time)
{
	struct mh_opt o = { .type = MH_OPT_NATD };

	o.u.natd.flags = force ? MH_NATD_F : 0;
	o.u.natd.refresh_time = refresh_time;
	mh_build_opt(b, &o, true);
}

void mh_build_v4_coa(struct mh_builder *b, const uint8_t addr[4])
{
	struct mh_opt o = { .type = MH_OPT_V4_COA };

	o.u.v4_coa.addr = addr;
	mh_build_opt(b, &o, true);
}

void mh_build_vendor(struct mh_builder *b, uint32_t vendor_id, uint8_t sub_type,
		     const uint8_t *data, uint8_t len)
{
	uint8_t tmp[255];
	struct mh_opt o = { .type = MH_OPT_VENDOR, .data = tmp };

	if (len > 250) {
		if (!b->code)
			b->code = wire_fail(b->err, WIRE_EVALUE, b->len,
					    "mh.%s: vendor_specific data %u octets, at most 250",
					    mh_type_tag(b->type), len);
		return;
	}
	if (len)
		memcpy(tmp + 5, data, len);
	o.len = (uint8_t)(5 + len);
	o.u.vendor.vendor_id = vendor_id;
	o.u.vendor.sub_type = sub_type;
	mh_build_opt(b, &o, true);
}

int mh_build_finish(struct mh_builder *b, const uint8_t *src, const uint8_t *dst)
{
	uint8_t *p = b->buf;

	mh_build_pad(b, (8 - b->len % 8) % 8);
	if (b->code)
		return -1;
	p[0] = b->payload_proto;
	p[1] = (uint8_t)(b->len / 8 - 1);
	p[3] = b->header_reserved;
	if (src && dst)
		b->checksum = mh_checksum(p, b->len, src, dst);
	put_be16(p + 4, b->checksum);
	return (int)b->len;
}
