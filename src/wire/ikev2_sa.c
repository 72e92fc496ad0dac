/* IKEv2 Security Association payload (RFC 7296 §3.3): proposals,
 * transforms and transform attributes, parsed and built. */
#include "wire/ikev2.h"

#define PROP_HDR 8
#define XF_HDR 8

/* Attributes of transform `ti` of proposal `pi` in a[0..len). */
static enum wire_err attrs_parse(const uint8_t *a, size_t len, size_t base, unsigned pi,
				 unsigned ti, struct ikev2_transform *t, struct wire_error *err)
{
	size_t off = 0;

	t->key_length = -1;
	while (off < len) {
		uint16_t af_type, alen;
		bool tv;

		if (len - off < 4)
			return wire_fail(err, WIRE_ETRUNC, base + off,
					 "ikev2.sa: proposal %u transform %u attribute needs 4 octets, %zu left",
					 pi, ti, len - off);
		af_type = get_be16(a + off);
		tv = af_type & IKEV2_ATTR_TV;
		alen = tv ? 0 : get_be16(a + off + 2);
		/* §3.3.5: Key Length is only ever TV. */
		if ((af_type & 0x7fff) == IKEV2_ATTR_KEY_LENGTH && !tv)
			return wire_fail(err, WIRE_EVALUE, base + off,
					 "ikev2.sa: proposal %u transform %u Key Length attribute is not in TV format",
					 pi, ti);
		if (alen > len - off - 4)
			return wire_fail(err, WIRE_ELEN, base + off + 2,
					 "ikev2.sa: proposal %u transform %u attribute length %u overruns the transform",
					 pi, ti, alen);
		if ((af_type & 0x7fff) == IKEV2_ATTR_KEY_LENGTH) {
			if (t->key_length >= 0)
				return wire_fail(err, WIRE_EVALUE, base + off,
						 "ikev2.sa: proposal %u transform %u has two Key Length attributes",
						 pi, ti);
			t->key_length = get_be16(a + off + 2);
		} else {
			struct ikev2_attr *at;

			if (t->n_attr == IKEV2_MAX_ATTRS)
				return wire_fail(err, WIRE_ECOUNT, base + off,
						 "ikev2.sa: proposal %u transform %u has more than %d attributes",
						 pi, ti, IKEV2_MAX_ATTRS);
			at = &t->attr[t->n_attr++];
			at->type = af_type & 0x7fff;
			at->tv = tv;
			at->value = tv ? get_be16(a + off + 2) : 0;
			at->data = tv ? NULL : a + off + 4;
			at->len = alen;
		}
		off += 4 + alen;
	}
	return WIRE_OK;
}

/* Transforms of proposal `pi` in x[0..len). */
static enum wire_err xfs_parse(const uint8_t *x, size_t len, size_t base, unsigned declared,
			       struct ikev2_proposal *pr, unsigned pi, struct wire_error *err)
{
	size_t off = 0;
	enum wire_err e;

	while (off < len) {
		unsigned ti = pr->n_xf + 1u;
		struct ikev2_transform *t;
		uint16_t tlen;
		uint8_t last = x[off];

		if (pr->n_xf == IKEV2_MAX_TRANSFORMS)
			return wire_fail(err, WIRE_ECOUNT, base + off,
					 "ikev2.sa: proposal %u has more than %d transforms", pi,
					 IKEV2_MAX_TRANSFORMS);
		if (len - off < XF_HDR)
			return wire_fail(err, WIRE_ETRUNC, base + off,
					 "ikev2.sa: proposal %u transform %u needs 8 octets, %zu left",
					 pi, ti, len - off);
		tlen = get_be16(x + off + 2);
		if (tlen < XF_HDR)
			return wire_fail(err, WIRE_ELEN, base + off + 2,
					 "ikev2.sa: proposal %u transform %u length %u is below 8", pi,
					 ti, tlen);
		if (tlen > len - off)
			return wire_fail(err, WIRE_ELEN, base + off + 2,
					 "ikev2.sa: proposal %u transform %u length %u overruns the proposal (%zu left)",
					 pi, ti, tlen, len - off);
		if (last != 0 && last != 3)
			return wire_fail(err, WIRE_EVALUE, base + off,
					 "ikev2.sa: proposal %u transform %u last-substruc %u is neither 0 nor 3",
					 pi, ti, last);
		if ((last == 0) != (off + tlen == len))
			return wire_fail(err, WIRE_EVALUE, base + off,
					 "ikev2.sa: proposal %u transform %u last-substruc %u but it is %s",
					 pi, ti, last, last ? "the last" : "not the last");
		t = &pr->xf[pr->n_xf++];
		memset(t, 0, sizeof(*t));
		t->type = x[off + 4];
		t->id = get_be16(x + off + 6);
		if (t->type == 0)
			return wire_fail(err, WIRE_EVALUE, base + off + 4,
					 "ikev2.sa: proposal %u transform %u type 0 is reserved", pi, ti);
		if ((e = attrs_parse(x + off + XF_HDR, tlen - XF_HDR, base + off + XF_HDR, pi, ti,
				     t, err)))
			return e;
		off += tlen;
	}
	if (pr->n_xf != declared)
		return wire_fail(err, WIRE_EVALUE, base,
				 "ikev2.sa: proposal %u declares %u transforms but holds %u", pi,
				 declared, pr->n_xf);
	if (pr->n_xf == 0)
		return wire_fail(err, WIRE_EVALUE, base, "ikev2.sa: proposal %u has no transforms",
				 pi);
	return WIRE_OK;
}

static enum wire_err spi_size_check(const struct ikev2_proposal *pr, unsigned pi, size_t at,
				    struct wire_error *err)
{
	bool ok = true;

	if (pr->protocol == IKEV2_PROTO_IKE)
		ok = pr->spi_size == 0 || pr->spi_size == 8;
	else if (pr->protocol == IKEV2_PROTO_AH || pr->protocol == IKEV2_PROTO_ESP)
		ok = pr->spi_size == 4;
	if (!ok)
		return wire_fail(err, WIRE_EVALUE, at,
				 "ikev2.sa: proposal %u protocol %u SPI size %u (want %s)", pi,
				 pr->protocol, pr->spi_size,
				 pr->protocol == IKEV2_PROTO_IKE ? "0 or 8" : "4");
	return WIRE_OK;
}

enum wire_err ikev2_sa_parse(const struct ikev2_payload *p, struct ikev2_sa *sa,
			     struct wire_error *err)
{
	const uint8_t *b = p->body;
	size_t len = p->body_len, off = 0, base = p->offset + IKEV2_GEN_LEN;
	enum wire_err e;

	sa->n = 0;
	while (off < len) {
		unsigned pi = sa->n + 1u;
		struct ikev2_proposal *pr;
		uint16_t plen;
		uint8_t last = b[off];

		if (sa->n == IKEV2_MAX_PROPOSALS)
			return wire_fail(err, WIRE_ECOUNT, base + off,
					 "ikev2.sa: more than %d proposals", IKEV2_MAX_PROPOSALS);
		if (len - off < PROP_HDR)
			return wire_fail(err, WIRE_ETRUNC, base + off,
					 "ikev2.sa: proposal %u needs 8 octets, %zu left", pi, len - off);
		plen = get_be16(b + off + 2);
		if (plen < PROP_HDR)
			return wire_fail(err, WIRE_ELEN, base + off + 2,
					 "ikev2.sa: proposal %u length %u is below 8", pi, plen);
		if (plen > len - off)
			return wire_fail(err, WIRE_ELEN, base + off + 2,
					 "ikev2.sa: proposal %u length %u overruns the payload (%zu left)",
					 pi, plen, len - off);
		if (last != 0 && last != 2)
			return wire_fail(err, WIRE_EVALUE, base + off,
					 "ikev2.sa: proposal %u last-substruc %u is neither 0 nor 2", pi,
					 last);
		if ((last == 0) != (off + plen == len))
			return wire_fail(err, WIRE_EVALUE, base + off,
					 "ikev2.sa: proposal %u last-substruc %u but it is %s", pi, last,
					 last ? "the last" : "not the last");
		pr = &sa->prop[sa->n++];
		pr->num = b[off + 4];
		pr->protocol = b[off + 5];
		pr->spi_size = b[off + 6];
		pr->n_xf = 0;
		/* §3.3.1: numbering starts anywhere (a responder echoes the
		 * number it chose) but goes up by one. */
		if (pr->num == 0)
			return wire_fail(err, WIRE_EVALUE, base + off + 4,
					 "ikev2.sa: proposal %u number 0 is invalid", pi);
		if (sa->n > 1 && pr->num != sa->prop[sa->n - 2].num + 1)
			return wire_fail(err, WIRE_EVALUE, base + off + 4,
					 "ikev2.sa: proposal %u number %u does not follow %u", pi,
					 pr->num, sa->prop[sa->n - 2].num);
		if (pr->protocol == 0)
			return wire_fail(err, WIRE_EVALUE, base + off + 5,
					 "ikev2.sa: proposal %u protocol 0 is reserved", pi);
		if ((e = spi_size_check(pr, pi, base + off + 6, err)))
			return e;
		if (PROP_HDR + pr->spi_size > plen)
			return wire_fail(err, WIRE_ELEN, base + off + 6,
					 "ikev2.sa: proposal %u SPI size %u overruns its length %u", pi,
					 pr->spi_size, plen);
		pr->spi = b + off + PROP_HDR;
		if ((e = xfs_parse(b + off + PROP_HDR + pr->spi_size,
				   plen - PROP_HDR - pr->spi_size,
				   base + off + PROP_HDR + pr->spi_size, b[off + 7], pr, pi, err)))
			return e;
		off += plen;
	}
	if (sa->n == 0)
		return wire_fail(err, WIRE_ELEN, base, "ikev2.sa: no proposals");
	return WIRE_OK;
}

/* ---- building ------------------------------------------------------------ */

static size_t xf_size(const struct ikev2_transform *t)
{
	size_t n = XF_HDR + (t->key_length >= 0 ? 4 : 0);

	for (unsigned i = 0; i < t->n_attr; i++)
		n += 4 + (t->attr[i].tv ? 0 : t->attr[i].len);
	return n;
}

static size_t prop_size(const struct ikev2_proposal *pr)
{
	size_t n = PROP_HDR + pr->spi_size;

	for (unsigned i = 0; i < pr->n_xf; i++)
		n += xf_size(&pr->xf[i]);
	return n;
}

static uint8_t *xf_write(uint8_t *p, const struct ikev2_transform *t, bool last)
{
	size_t n = xf_size(t);
	uint8_t *q = p + XF_HDR;

	p[0] = last ? 0 : 3;
	p[1] = 0;
	put_be16(p + 2, (uint16_t)n);
	p[4] = t->type;
	p[5] = 0;
	put_be16(p + 6, t->id);
	if (t->key_length >= 0) {
		put_be16(q, IKEV2_ATTR_TV | IKEV2_ATTR_KEY_LENGTH);
		put_be16(q + 2, (uint16_t)t->key_length);
		q += 4;
	}
	for (unsigned i = 0; i < t->n_attr; i++) {
		const struct ikev2_attr *a = &t->attr[i];

		put_be16(q, (uint16_t)(a->type | (a->tv ? IKEV2_ATTR_TV : 0)));
		put_be16(q + 2, a->tv ? a->value : a->len);
		q += 4;
		if (!a->tv && a->len) {
			memcpy(q, a->data, a->len);
			q += a->len;
		}
	}
	return q;
}

void ikev2_add_sa(struct ikev2_builder *b, const struct ikev2_sa *sa)
{
	size_t total = 0;
	uint8_t *p;

	if (b->status)
		return;
	for (unsigned i = 0; i < sa->n; i++) {
		size_t n = prop_size(&sa->prop[i]);

		if (n > 0xffff) {
			b->status = wire_fail(b->err, WIRE_ELEN, b->len,
					      "ikev2.build: SA proposal %u of %zu octets", i + 1, n);
			return;
		}
		total += n;
	}
	if (!(p = ikev2_build_payload(b, IKEV2_PL_SA, false, total)))
		return;
	for (unsigned i = 0; i < sa->n; i++) {
		const struct ikev2_proposal *pr = &sa->prop[i];

		p[0] = i + 1u == sa->n ? 0 : 2;
		p[1] = 0;
		put_be16(p + 2, (uint16_t)prop_size(pr));
		p[4] = pr->num;
		p[5] = pr->protocol;
		p[6] = pr->spi_size;
		p[7] = pr->n_xf;
		if (pr->spi_size)
			memcpy(p + PROP_HDR, pr->spi, pr->spi_size);
		p += PROP_HDR + pr->spi_size;
		for (unsigned j = 0; j < pr->n_xf; j++)
			p = xf_write(p, &pr->xf[j], j + 1u == pr->n_xf);
	}
}
