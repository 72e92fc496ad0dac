#include "wire/exthdr.h"

static const char *opts_name(uint8_t proto)
{
	return proto == PROTO_HOPOPTS ? "ipv6.hbh" : "ipv6.dstopt";
}

bool ipv6_bad_hoa(const uint8_t a[16])
{
	static const uint8_t zero[16];
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (a[0] == 0xff || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80))
		return true;
	if (!memcmp(a, zero, 15) && (a[15] == 0 || a[15] == 1))
		return true;
	return !memcmp(a, mapped, 12);
}

static enum wire_err parse_hao(const uint8_t *buf, size_t off, uint8_t olen, uint8_t proto,
			       struct ext_opts *o, struct wire_error *err)
{
	if (proto != PROTO_DSTOPTS)
		return wire_fail(err, WIRE_ETYPE, off,
				 "ipv6.hao: Home Address option outside a Destination Options header");
	if (olen != HAO_LEN)
		return wire_fail(err, WIRE_ELEN, off + 1, "ipv6.hao: option length %u must be 16",
				 olen);
	/* RFC 6275 §6.3: alignment requirement 8n+6. */
	if (off % 8 != 6)
		return wire_fail(err, WIRE_EALIGN, off,
				 "ipv6.hao: option at offset %zu not aligned 8n+6", off);
	if (o->hoa)
		return wire_fail(err, WIRE_EVALUE, off, "ipv6.hao: more than one Home Address option");
	if (ipv6_bad_hoa(buf + off + 2))
		return wire_fail(err, WIRE_EVALUE, off + 2,
				 "ipv6.hao: home address is multicast, link-local, loopback, unspecified or v4-mapped");
	o->hoa = buf + off + 2;
	return WIRE_OK;
}

enum wire_err ext_opts_parse(const uint8_t *buf, size_t len, uint8_t proto,
			     struct ext_opts *o, struct wire_error *err)
{
	const char *name = opts_name(proto);
	size_t off = 2;
	enum wire_err e;

	memset(o, 0, sizeof(*o));
	if (len < 2)
		return wire_fail(err, WIRE_ETRUNC, len, "%s: header truncated (%zu bytes)", name, len);
	o->next_header = buf[0];
	o->hdr_ext_len = buf[1];
	o->len = ((size_t)buf[1] + 1) * 8;
	if (o->len > len)
		return wire_fail(err, WIRE_ETRUNC, len, "%s: header length %zu overruns packet (%zu)",
				 name, o->len, len);
	while (off < o->len) {
		struct ext_opt *opt;

		if (o->n == EXT_MAX_OPTS)
			return wire_fail(err, WIRE_ECOUNT, off, "%s: more than %d options", name,
					 EXT_MAX_OPTS);
		opt = &o->opt[o->n++];
		opt->type = buf[off];
		opt->off = off;
		if (opt->type == OPT_PAD1) {
			opt->len = 0;
			opt->data = NULL;
			off++;
			continue;
		}
		if (off + 2 > o->len)
			return wire_fail(err, WIRE_ELEN, off,
					 "%s: option %u at offset %zu has no length byte", name,
					 opt->type, off);
		opt->len = buf[off + 1];
		opt->data = buf + off + 2;
		if (off + 2 + opt->len > o->len)
			return wire_fail(err, WIRE_ELEN, off + 1,
					 "%s: option %u length %u overruns header (%zu)", name,
					 opt->type, opt->len, o->len);
		if (opt->type == OPT_PADN) {
			for (size_t i = 0; i < opt->len; i++)
				if (opt->data[i])
					return wire_fail(err, WIRE_EPAD, off + 2 + i,
							 "%s: PadN byte %zu not zero", name, i);
		} else if (opt->type == OPT_HAO) {
			e = parse_hao(buf, off, opt->len, proto, o, err);
			if (e)
				return e;
		} else if (opt->type >> 6) {
			/* RFC 8200 §4.2: the two high bits ask us to discard. */
			return wire_fail(err, WIRE_ETYPE, off,
					 "%s: unknown option type 0x%02x must be discarded (action %u)",
					 name, opt->type, opt->type >> 6);
		}
		off += 2 + (size_t)opt->len;
	}
	return WIRE_OK;
}

enum wire_err ext_rh_parse(const uint8_t *buf, size_t len, struct ext_rh *rh,
			   struct wire_error *err)
{
	memset(rh, 0, sizeof(*rh));
	if (len < 4)
		return wire_fail(err, WIRE_ETRUNC, len, "ipv6.rh: header truncated (%zu bytes)", len);
	rh->next_header = buf[0];
	rh->hdr_ext_len = buf[1];
	rh->routing_type = buf[2];
	rh->segments_left = buf[3];
	rh->len = ((size_t)buf[1] + 1) * 8;
	if (rh->len > len)
		return wire_fail(err, WIRE_ETRUNC, len, "ipv6.rh: header length %zu overruns packet (%zu)",
				 rh->len, len);
	if (rh->routing_type != 2) {
		/* RFC 8200 §4.4: an unknown type is ignored only when no
		 * segments are left. */
		if (rh->segments_left)
			return wire_fail(err, WIRE_ETYPE, 2,
					 "ipv6.rh: unsupported routing type %u with segments left %u",
					 rh->routing_type, rh->segments_left);
		rh->data = buf + 4;
		rh->data_len = rh->len - 4;
		return WIRE_OK;
	}
	if (rh->hdr_ext_len != 2)
		return wire_fail(err, WIRE_ELEN, 1, "ipv6.rh2: hdr ext len %u must be 2",
				 rh->hdr_ext_len);
	if (rh->segments_left > 1)
		return wire_fail(err, WIRE_EVALUE, 3, "ipv6.rh2: segments left %u must be 1",
				 rh->segments_left);
	rh->reserved = get_be32(buf + 4);
	rh->addr = buf + 8;
	return WIRE_OK;
}

enum wire_err ext_frag_parse(const uint8_t *buf, size_t len, struct ext_frag *f,
			     struct wire_error *err)
{
	uint16_t w;

	if (len < EXT_FRAG_LEN)
		return wire_fail(err, WIRE_ETRUNC, len, "ipv6.frag: header truncated (%zu bytes)", len);
	f->next_header = buf[0];
	f->reserved = buf[1];
	w = get_be16(buf + 2);
	f->fragment_offset = w >> 3;
	f->res = (w >> 1) & 3;
	f->m = w & 1;
	f->identification = get_be32(buf + 4);
	return WIRE_OK;
}

int ext_hao_build(uint8_t *buf, size_t size, uint8_t next_header, const uint8_t hoa[16],
		  struct wire_error *err)
{
	if (size < 24) {
		wire_fail(err, WIRE_ESPACE, 0, "ipv6.dstopt: no space for HAO header (%zu)", size);
		return -1;
	}
	buf[0] = next_header;
	buf[1] = 2;
	/* PadN(2) puts the option at offset 6 = 8n+6. */
	buf[2] = OPT_PADN;
	buf[3] = 2;
	buf[4] = buf[5] = 0;
	buf[6] = OPT_HAO;
	buf[7] = HAO_LEN;
	memmove(buf + 8, hoa, 16);
	return 24;
}

int ext_rh2_build(uint8_t *buf, size_t size, uint8_t next_header, const uint8_t addr[16],
		  struct wire_error *err)
{
	if (size < 24) {
		wire_fail(err, WIRE_ESPACE, 0, "ipv6.rh2: no space (%zu)", size);
		return -1;
	}
	buf[0] = next_header;
	buf[1] = 2;
	buf[2] = 2;
	buf[3] = 1;
	put_be32(buf + 4, 0);
	memmove(buf + 8, addr, 16);
	return 24;
}

int ext_frag_build(uint8_t *buf, size_t size, const struct ext_frag *f, struct wire_error *err)
{
	if (size < EXT_FRAG_LEN) {
		wire_fail(err, WIRE_ESPACE, 0, "ipv6.frag: no space (%zu)", size);
		return -1;
	}
	buf[0] = f->next_header;
	buf[1] = f->reserved;
	put_be16(buf + 2, (uint16_t)(f->fragment_offset << 3 | (f->res & 3) << 1 | f->m));
	put_be32(buf + 4, f->identification);
	return EXT_FRAG_LEN;
}

static enum wire_err shift(struct wire_error *err, size_t base, enum wire_err e)
{
	if (err && e)
		err->offset += base;
	return e;
}

static bool is_ext(uint8_t p)
{
	return p == PROTO_HOPOPTS || p == PROTO_ROUTING || p == PROTO_FRAGMENT ||
	       p == PROTO_DSTOPTS;
}

static enum wire_err walk_one(const uint8_t *pkt, size_t end, struct ipv6_chain *c,
			      size_t *len, uint8_t *next, struct wire_error *err)
{
	const uint8_t *p = pkt + c->off;
	size_t avail = end - c->off;
	struct ext_opts o;
	struct ext_rh rh;
	struct ext_frag f;
	enum wire_err e;

	switch (c->proto) {
	case PROTO_HOPOPTS:
		/* RFC 8200 §4.3: only right after the IPv6 header. */
		if (c->n)
			return wire_fail(err, WIRE_EVALUE, c->off,
					 "ipv6.hbh: Hop-by-Hop Options header not first");
		/* fall through */
	case PROTO_DSTOPTS:
		e = ext_opts_parse(p, avail, c->proto, &o, err);
		if (e)
			return shift(err, c->off, e);
		if (o.hoa)
			c->hoa = o.hoa;
		*len = o.len;
		*next = o.next_header;
		return WIRE_OK;
	case PROTO_ROUTING:
		e = ext_rh_parse(p, avail, &rh, err);
		if (e)
			return shift(err, c->off, e);
		if (rh.addr && rh.segments_left)
			c->rh2 = rh.addr;
		*len = rh.len;
		*next = rh.next_header;
		return WIRE_OK;
	default:
		e = ext_frag_parse(p, avail, &f, err);
		if (e)
			return shift(err, c->off, e);
		c->fragment = true;
		*len = EXT_FRAG_LEN;
		*next = f.next_header;
		return WIRE_OK;
	}
}

enum wire_err ipv6_walk(const uint8_t *pkt, size_t len, struct ipv6_chain *c,
			struct wire_error *err)
{
	enum wire_err e;
	size_t end;

	memset(c, 0, sizeof(*c));
	e = ipv6_parse(pkt, len, &c->ip, err);
	if (e)
		return e;
	end = IPV6_HDR_LEN + (size_t)c->ip.payload_length;
	c->proto = c->ip.next_header;
	c->off = IPV6_HDR_LEN;
	/* The Fragment header ends the walk: what follows is a fragment. */
	while (is_ext(c->proto) && !c->fragment) {
		size_t hlen;
		uint8_t next;

		if (c->n == IPV6_CHAIN_MAX)
			return wire_fail(err, WIRE_ECOUNT, c->off,
					 "ipv6: more than %d extension headers", IPV6_CHAIN_MAX);
		e = walk_one(pkt, end, c, &hlen, &next, err);
		if (e)
			return e;
		c->ext[c->n].proto = c->proto;
		c->ext[c->n].off = c->off;
		c->ext[c->n].len = hlen;
		c->n++;
		c->off += hlen;
		c->proto = next;
	}
	c->len = end - c->off;
	c->src = c->hoa ? c->hoa : c->ip.src;
	c->dst = c->rh2 ? c->rh2 : c->ip.dst;
	return WIRE_OK;
}

uint16_t ipv6_upper_csum(const uint8_t *pkt, const struct ipv6_chain *c)
{
	return csum_ipv6(c->src, c->dst, c->proto, pkt + c->off, c->len);
}
