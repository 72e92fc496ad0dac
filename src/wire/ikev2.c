/* IKEv2 header and generic payload chain (RFC 7296 §3.1, §3.2), and the
 * builder core that lays out the chain. The payload bodies are in
 * ikev2_sa.c (SA) and ikev2_pl.c (the others). */
#include "wire/ikev2.h"

#define NO_NP ((size_t)-1)

const char *ikev2_payload_name(uint8_t type)
{
	static const char *const names[] = {
		"SA", "KE", "IDi", "IDr", "CERT", "CERTREQ", "AUTH", "Nonce",
		"N", "D", "V", "TSi", "TSr", "SK", "CP", "EAP",
	};

	if (type >= IKEV2_PL_SA && type <= IKEV2_PL_EAP)
		return names[type - IKEV2_PL_SA];
	if (type == IKEV2_PL_SKF)
		return "SKF";
	return NULL;
}

enum wire_err ikev2_hdr_parse(const uint8_t *buf, size_t len, struct ikev2_hdr *h,
			      struct wire_error *err)
{
	if (len < IKEV2_HDR_LEN)
		return wire_fail(err, WIRE_ETRUNC, len, "ikev2: %zu octets, header needs %d", len,
				 IKEV2_HDR_LEN);
	memcpy(h->spi_i, buf, 8);
	memcpy(h->spi_r, buf + 8, 8);
	h->next_payload = buf[16];
	h->major = buf[17] >> 4;
	h->minor = buf[17] & 0x0f;
	h->exchange = buf[18];
	h->flags = buf[19];
	h->message_id = get_be32(buf + 20);
	h->length = get_be32(buf + 24);
	/* §3.1: a higher major version is answered with INVALID_MAJOR_VERSION;
	 * a lower one (IKEv1) is simply not ours. The minor version is
	 * ignored on receipt. */
	if (h->major > 2)
		return wire_fail(err, WIRE_EVALUE, 17, "ikev2: major version %u is above 2",
				 h->major);
	if (h->major < 2)
		return wire_fail(err, WIRE_EVALUE, 17, "ikev2: major version %u is not IKEv2",
				 h->major);
	if (h->length < IKEV2_HDR_LEN)
		return wire_fail(err, WIRE_ELEN, 24, "ikev2: length %u is below the header (%d)",
				 h->length, IKEV2_HDR_LEN);
	return WIRE_OK;
}

/* One generic payload header at buf[off..); fills *p. */
static enum wire_err gen_hdr(uint8_t type, const uint8_t *buf, size_t len, size_t off,
			     size_t base, size_t idx, struct ikev2_payload *p,
			     struct wire_error *err)
{
	const char *name = ikev2_payload_name(type);
	uint16_t plen;

	if (len - off < IKEV2_GEN_LEN)
		return wire_fail(err, WIRE_ETRUNC, base + off,
				 "ikev2: payload %zu (%s %u) header needs 4 octets, %zu left", idx,
				 name ? name : "type", type, len - off);
	plen = get_be16(buf + off + 2);
	if (plen < IKEV2_GEN_LEN)
		return wire_fail(err, WIRE_ELEN, base + off + 2,
				 "ikev2: payload %zu (%s %u) length %u is below 4", idx,
				 name ? name : "type", type, plen);
	if (plen > len - off)
		return wire_fail(err, WIRE_ELEN, base + off + 2,
				 "ikev2: payload %zu (%s %u) length %u overruns the message (%zu left)",
				 idx, name ? name : "type", type, plen, len - off);
	p->type = type;
	p->next = buf[off];
	p->critical = buf[off + 1] & 0x80;
	p->known = name != NULL;
	p->offset = base + off;
	p->body = buf + off + IKEV2_GEN_LEN;
	p->body_len = plen - IKEV2_GEN_LEN;
	return WIRE_OK;
}

enum wire_err ikev2_chain_parse(uint8_t first, const uint8_t *buf, size_t len, size_t base,
				struct ikev2_chain *c, struct wire_error *err)
{
	uint8_t type = first;
	size_t off = 0;
	enum wire_err e;

	memset(c, 0, sizeof(*c));
	while (type != IKEV2_PL_NONE) {
		struct ikev2_payload *p;

		if (c->n == IKEV2_MAX_PAYLOADS)
			return wire_fail(err, WIRE_ECOUNT, base + off,
					 "ikev2: more than %d payloads", IKEV2_MAX_PAYLOADS);
		p = &c->pl[c->n];
		if ((e = gen_hdr(type, buf, len, off, base, c->n + 1, p, err)))
			return e;
		c->n++;
		if (!p->known) {
			/* §3.2: unknown + critical rejects the message; unknown
			 * alone is skipped. */
			if (p->critical) {
				c->notify = IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD;
				c->notify_type = type;
				return wire_fail(err, WIRE_ETYPE, p->offset,
						 "ikev2: payload %zu type %u is unknown and critical",
						 c->n, type);
			}
			c->n_unknown++;
		} else if ((e = ikev2_payload_check(p, err))) {
			return e;
		}
		off += IKEV2_GEN_LEN + p->body_len;
		if (type == IKEV2_PL_SK || type == IKEV2_PL_SKF) {
			/* Its Next Payload names the first inner payload. */
			if (off != len)
				return wire_fail(err, WIRE_ELEN, base + off,
						 "ikev2: %zu octets follow the %s payload, which must be last",
						 len - off, ikev2_payload_name(type));
			c->sk = p;
			c->sk_first = p->next;
			return WIRE_OK;
		}
		type = p->next;
	}
	if (off != len)
		return wire_fail(err, WIRE_ELEN, base + off,
				 "ikev2: %zu octets after the last payload", len - off);
	return WIRE_OK;
}

enum wire_err ikev2_parse(const uint8_t *buf, size_t len, struct ikev2_msg *msg,
			  struct wire_error *err)
{
	enum wire_err e;

	memset(&msg->chain, 0, sizeof(msg->chain));
	if ((e = ikev2_hdr_parse(buf, len, &msg->hdr, err))) {
		if (len >= IKEV2_HDR_LEN && msg->hdr.major > 2) {
			msg->chain.notify = IKEV2_N_INVALID_MAJOR_VERSION;
			msg->chain.notify_type = IKEV2_VERSION;
		}
		return e;
	}
	if (msg->hdr.length > len)
		return wire_fail(err, WIRE_ETRUNC, len, "ikev2: length %u exceeds the %zu octets received",
				 msg->hdr.length, len);
	if (msg->hdr.length < len)
		return wire_fail(err, WIRE_ELEN, 24, "ikev2: length %u but %zu octets received",
				 msg->hdr.length, len);
	return ikev2_chain_parse(msg->hdr.next_payload, buf + IKEV2_HDR_LEN, len - IKEV2_HDR_LEN,
				 IKEV2_HDR_LEN, &msg->chain, err);
}

const struct ikev2_payload *ikev2_find(const struct ikev2_chain *c, uint8_t type)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->pl[i].type == type)
			return &c->pl[i];
	return NULL;
}

/* ---- building ------------------------------------------------------------ */

void ikev2_build_begin(struct ikev2_builder *b, uint8_t *buf, size_t size,
		       const struct ikev2_hdr *h, struct wire_error *err)
{
	*b = (struct ikev2_builder){ .buf = buf, .size = size, .np_off = NO_NP, .err = err,
				     .header = h != NULL };
	if (!h)
		return;
	if (size < IKEV2_HDR_LEN) {
		b->status = wire_fail(err, WIRE_ESPACE, 0, "ikev2.build: %zu octets, header needs %d",
				      size, IKEV2_HDR_LEN);
		return;
	}
	memcpy(buf, h->spi_i, 8);
	memcpy(buf + 8, h->spi_r, 8);
	buf[16] = IKEV2_PL_NONE;
	buf[17] = (uint8_t)(h->major << 4 | (h->minor & 0x0f));
	buf[18] = h->exchange;
	buf[19] = h->flags;
	put_be32(buf + 20, h->message_id);
	put_be32(buf + 24, 0);
	b->np_off = 16;
	b->len = IKEV2_HDR_LEN;
}

uint8_t *ikev2_build_payload(struct ikev2_builder *b, uint8_t type, bool critical,
			     size_t body_len)
{
	uint8_t *p;

	if (b->status)
		return NULL;
	if (b->closed) {
		b->status = wire_fail(b->err, WIRE_EVALUE, b->len,
				      "ikev2.build: payload type %u after the SK payload", type);
		return NULL;
	}
	if (body_len > 0xffff - IKEV2_GEN_LEN) {
		b->status = wire_fail(b->err, WIRE_ELEN, b->len,
				      "ikev2.build: payload type %u body of %zu octets over 65531",
				      type, body_len);
		return NULL;
	}
	if (b->size - b->len < IKEV2_GEN_LEN + body_len) {
		b->status = wire_fail(b->err, WIRE_ESPACE, b->len,
				      "ikev2.build: payload type %u (%zu octets) does not fit in %zu",
				      type, IKEV2_GEN_LEN + body_len, b->size);
		return NULL;
	}
	if (b->np_off != NO_NP)
		b->buf[b->np_off] = type;
	if (b->n++ == 0)
		b->first = type;
	p = b->buf + b->len;
	p[0] = IKEV2_PL_NONE;
	p[1] = critical ? 0x80 : 0;
	put_be16(p + 2, (uint16_t)(IKEV2_GEN_LEN + body_len));
	b->np_off = b->len;
	b->len += IKEV2_GEN_LEN + body_len;
	return p + IKEV2_GEN_LEN;
}

void ikev2_add_raw(struct ikev2_builder *b, uint8_t type, bool critical, const uint8_t *body,
		   size_t len)
{
	uint8_t *p = ikev2_build_payload(b, type, critical, len);

	if (p && len)
		memcpy(p, body, len);
}

uint8_t *ikev2_add_sk(struct ikev2_builder *b, const struct ikev2_sk *sk)
{
	bool frag = sk->frag_total != 0;
	size_t hl = frag ? 4 : 0;
	uint8_t *p = ikev2_build_payload(b, frag ? IKEV2_PL_SKF : IKEV2_PL_SK, false, hl + sk->len);

	if (!p)
		return NULL;
	/* The Next Payload of SK names the first payload inside it. */
	p[-IKEV2_GEN_LEN] = sk->first;
	b->np_off = NO_NP;
	b->closed = true;
	if (frag) {
		put_be16(p, sk->frag_num);
		put_be16(p + 2, sk->frag_total);
	}
	if (sk->data && sk->len)
		memcpy(p + hl, sk->data, sk->len);
	return p + hl;
}

int ikev2_build_end(struct ikev2_builder *b)
{
	if (b->status)
		return -1;
	if (b->header)
		put_be32(b->buf + 24, (uint32_t)b->len);
	return (int)b->len;
}
