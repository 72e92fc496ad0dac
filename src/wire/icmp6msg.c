#include "wire/icmp6msg.h"
#include "wire/ipv4.h"

static enum wire_err check_opts(const uint8_t *buf, size_t len, size_t base,
				struct wire_error *err)
{
	size_t off = 0, olen;
	uint8_t type;
	enum wire_err e;
	struct nd_pio p;

	while ((e = icmp6_opt_next(buf, len, &off, &type, &olen, err)) == WIRE_OK) {
		if (type == ND_OPT_PREFIX_INFO) {
			e = icmp6_pio_parse(buf + off - olen, olen, &p, err);
			if (e) {
				if (err)
					err->offset += base + off - olen;
				return e;
			}
		}
	}
	if (off == len)
		return WIRE_OK;
	if (err)
		err->offset += base;
	return e;
}

static enum wire_err parse_body(const uint8_t *buf, size_t len, struct icmp6_msg *m,
				struct wire_error *err)
{
	switch (m->type) {
	case ICMPV6_ECHO_REQUEST:
	case ICMPV6_ECHO_REPLY:
		m->identifier = get_be16(buf + 4);
		m->sequence = get_be16(buf + 6);
		return WIRE_OK;
	case ICMPV6_HAAD_REQUEST:
	case ICMPV6_HAAD_REPLY:
		m->identifier = get_be16(buf + 4);
		m->r = buf[6] >> 7;
		m->reserved = get_be16(buf + 6) & 0x7fff;
		if (m->type == ICMPV6_HAAD_REPLY) {
			if (m->body_len % 16)
				return wire_fail(err, WIRE_ELEN, len,
						 "icmpv6.haad_reply: %zu address bytes not a multiple of 16",
						 m->body_len);
			m->n_addrs = m->body_len / 16;
		}
		return WIRE_OK;
	case ICMPV6_MPS:
		m->identifier = get_be16(buf + 4);
		m->reserved = get_be16(buf + 6);
		return WIRE_OK;
	case ICMPV6_MPA:
		m->identifier = get_be16(buf + 4);
		m->m = buf[6] >> 7;
		m->o = (buf[6] >> 6) & 1;
		m->reserved = get_be16(buf + 6) & 0x3fff;
		return check_opts(m->body, m->body_len, ICMPV6_HDR_LEN, err);
	default:
		return WIRE_OK;
	}
}

enum wire_err icmp6_parse(const uint8_t *buf, size_t len, const uint8_t *src,
			  const uint8_t *dst, struct icmp6_msg *m, struct wire_error *err)
{
	memset(m, 0, sizeof(*m));
	if (len < ICMPV6_HDR_LEN)
		return wire_fail(err, WIRE_ETRUNC, len, "icmpv6: %zu bytes, header needs 8", len);
	m->type = buf[0];
	m->code = buf[1];
	m->checksum = get_be16(buf + 2);
	m->word = get_be32(buf + 4);
	m->body = buf + ICMPV6_HDR_LEN;
	m->body_len = len - ICMPV6_HDR_LEN;
	if (src && dst) {
		uint16_t c = csum_ipv6(src, dst, 58, buf, len);

		if (c)
			return wire_fail(err, WIRE_ECSUM, 2,
					 "icmpv6: checksum 0x%04x wrong (should be 0x%04x)",
					 m->checksum, csum_expected(c, m->checksum));
	}
	return parse_body(buf, len, m, err);
}

static void put_word(uint8_t *p, const struct icmp6_msg *m)
{
	switch (m->type) {
	case ICMPV6_ECHO_REQUEST:
	case ICMPV6_ECHO_REPLY:
		put_be16(p, m->identifier);
		put_be16(p + 2, m->sequence);
		break;
	case ICMPV6_HAAD_REQUEST:
	case ICMPV6_HAAD_REPLY:
		put_be16(p, m->identifier);
		put_be16(p + 2, (uint16_t)((m->r ? 0x8000 : 0) | (m->reserved & 0x7fff)));
		break;
	case ICMPV6_MPS:
		put_be16(p, m->identifier);
		put_be16(p + 2, m->reserved);
		break;
	case ICMPV6_MPA:
		put_be16(p, m->identifier);
		put_be16(p + 2, (uint16_t)((m->m ? 0x8000 : 0) | (m->o ? 0x4000 : 0) |
					   (m->reserved & 0x3fff)));
		break;
	default:
		put_be32(p, m->word);
	}
}

int icmp6_build(uint8_t *buf, size_t size, const struct icmp6_msg *m, const uint8_t *src,
		const uint8_t *dst, struct wire_error *err)
{
	size_t len = ICMPV6_HDR_LEN + m->body_len;

	if (size < len) {
		wire_fail(err, WIRE_ESPACE, 0, "icmpv6: no space for %zu bytes (%zu)", len, size);
		return -1;
	}
	if (m->body_len)
		memmove(buf + ICMPV6_HDR_LEN, m->body, m->body_len);
	buf[0] = m->type;
	buf[1] = m->code;
	put_be16(buf + 2, m->checksum);
	put_word(buf + 4, m);
	if (src && dst) {
		put_be16(buf + 2, 0);
		put_be16(buf + 2, csum_ipv6(src, dst, 58, buf, len));
	}
	return (int)len;
}

enum wire_err icmp6_opt_next(const uint8_t *buf, size_t len, size_t *off, uint8_t *type,
			     size_t *olen, struct wire_error *err)
{
	size_t o = *off;

	if (o >= len)
		return WIRE_ETRUNC;
	if (len - o < 2)
		return wire_fail(err, WIRE_ETRUNC, o, "icmpv6.opt: option header truncated at %zu", o);
	*type = buf[o];
	*olen = (size_t)buf[o + 1] * 8;
	if (!*olen)
		return wire_fail(err, WIRE_ELEN, o + 1, "icmpv6.opt: option %u has length 0",
				 *type);
	if (*olen > len - o)
		return wire_fail(err, WIRE_ELEN, o + 1,
				 "icmpv6.opt: option %u length %zu overruns message (%zu)", *type,
				 *olen, len - o);
	*off = o + *olen;
	return WIRE_OK;
}

enum wire_err icmp6_pio_parse(const uint8_t *opt, size_t olen, struct nd_pio *p,
			      struct wire_error *err)
{
	if (olen != ND_OPT_PI_LEN)
		return wire_fail(err, WIRE_ELEN, 1, "icmpv6.pio: option length %zu must be 32", olen);
	p->prefix_length = opt[2];
	if (p->prefix_length > 128)
		return wire_fail(err, WIRE_EVALUE, 2, "icmpv6.pio: prefix length %u over 128",
				 p->prefix_length);
	p->l = opt[3] >> 7;
	p->a = (opt[3] >> 6) & 1;
	p->r = (opt[3] >> 5) & 1;
	p->reserved1 = opt[3] & 0x1f;
	p->valid_lifetime = get_be32(opt + 4);
	p->preferred_lifetime = get_be32(opt + 8);
	p->reserved2 = get_be32(opt + 12);
	p->prefix = opt + 16;
	return WIRE_OK;
}

int icmp6_pio_build(uint8_t *buf, size_t size, const struct nd_pio *p, struct wire_error *err)
{
	if (size < ND_OPT_PI_LEN) {
		wire_fail(err, WIRE_ESPACE, 0, "icmpv6.pio: no space (%zu)", size);
		return -1;
	}
	buf[0] = ND_OPT_PREFIX_INFO;
	buf[1] = 4;
	buf[2] = p->prefix_length;
	buf[3] = (uint8_t)((p->l ? 0x80 : 0) | (p->a ? 0x40 : 0) | (p->r ? 0x20 : 0) |
			   (p->reserved1 & 0x1f));
	put_be32(buf + 4, p->valid_lifetime);
	put_be32(buf + 8, p->preferred_lifetime);
	put_be32(buf + 12, p->reserved2);
	memmove(buf + 16, p->prefix, 16);
	return ND_OPT_PI_LEN;
}
