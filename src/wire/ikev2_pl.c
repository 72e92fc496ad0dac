/* IKEv2 payloads other than SA (RFC 7296 §3.4-§3.16, RFC 7383 §2.5,
 * RFC 7427 §3): parsed and built. */
#include "wire/ikev2.h"

/* Offset in the input of body octet `at` of payload p. */
static size_t at(const struct ikev2_payload *p, size_t off)
{
	return p->offset + IKEV2_GEN_LEN + off;
}

static enum wire_err need(const struct ikev2_payload *p, const char *name, size_t n,
			  struct wire_error *err)
{
	if (p->body_len >= n)
		return WIRE_OK;
	return wire_fail(err, WIRE_ETRUNC, at(p, p->body_len),
			 "ikev2.%s: body of %zu octets, needs at least %zu", name, p->body_len, n);
}

enum wire_err ikev2_ke_parse(const struct ikev2_payload *p, struct ikev2_ke *ke,
			     struct wire_error *err)
{
	enum wire_err e;

	if ((e = need(p, "ke", 5, err)))
		return e;
	ke->group = get_be16(p->body);
	ke->data = p->body + 4;
	ke->len = p->body_len - 4;
	if (ke->group == 0)
		return wire_fail(err, WIRE_EVALUE, at(p, 0), "ikev2.ke: DH group 0 is reserved");
	return WIRE_OK;
}

static enum wire_err id_check(const struct ikev2_payload *p, const struct ikev2_typed *t,
			      struct wire_error *err)
{
	const char *name = p->type == IKEV2_PL_IDI ? "idi" : "idr";
	size_t want = 0;

	switch (t->type) {
	case 0:
		return wire_fail(err, WIRE_EVALUE, at(p, 0), "ikev2.%s: ID type 0 is reserved",
				 name);
	case IKEV2_ID_IPV4_ADDR:
		want = 4;
		break;
	case IKEV2_ID_IPV6_ADDR:
		want = 16;
		break;
	}
	if (want && t->len != want)
		return wire_fail(err, WIRE_ELEN, at(p, 4), "ikev2.%s: ID type %u holds %zu octets, not %zu",
				 name, t->type, t->len, want);
	if (t->len == 0)
		return wire_fail(err, WIRE_ELEN, at(p, 4), "ikev2.%s: ID type %u is empty", name,
				 t->type);
	return WIRE_OK;
}

enum wire_err ikev2_typed_parse(const struct ikev2_payload *p, struct ikev2_typed *t,
				struct wire_error *err)
{
	size_t hl;
	const char *name;
	enum wire_err e;

	switch (p->type) {
	case IKEV2_PL_IDI:
	case IKEV2_PL_IDR:
	case IKEV2_PL_AUTH:
		hl = 4;
		break;
	case IKEV2_PL_CERT:
	case IKEV2_PL_CERTREQ:
		hl = 1;
		break;
	default:
		hl = 0;
	}
	name = p->type == IKEV2_PL_AUTH ? "auth" : p->type == IKEV2_PL_CERT ? "cert" :
	       p->type == IKEV2_PL_CERTREQ ? "certreq" : p->type == IKEV2_PL_VENDOR ? "v" : "id";
	if ((e = need(p, name, hl + (p->type == IKEV2_PL_CERTREQ ? 0 : 1), err)))
		return e;
	t->type = hl ? p->body[0] : 0;
	t->data = p->body + hl;
	t->len = p->body_len - hl;
	switch (p->type) {
	case IKEV2_PL_IDI:
	case IKEV2_PL_IDR:
		return id_check(p, t, err);
	case IKEV2_PL_AUTH:
		if (t->type == 0)
			return wire_fail(err, WIRE_EVALUE, at(p, 0),
					 "ikev2.auth: method 0 is reserved");
		if (t->type == IKEV2_AUTH_DIGITAL_SIG) {
			struct ikev2_digsig d;

			return ikev2_digsig_parse(t, at(p, 4), &d, err);
		}
		return WIRE_OK;
	case IKEV2_PL_CERT:
		if (t->type == 0)
			return wire_fail(err, WIRE_EVALUE, at(p, 0),
					 "ikev2.cert: encoding 0 is reserved");
		return WIRE_OK;
	case IKEV2_PL_CERTREQ:
		/* §3.7: X.509 requests list 20-octet SHA-1 key hashes. */
		if (t->type == IKEV2_CERT_X509_SIG && t->len % 20)
			return wire_fail(err, WIRE_ELEN, at(p, 1),
					 "ikev2.certreq: %zu octets of CA hashes is not a multiple of 20",
					 t->len);
		return WIRE_OK;
	}
	return WIRE_OK;
}

enum wire_err ikev2_digsig_parse(const struct ikev2_typed *auth, size_t offset,
				 struct ikev2_digsig *d, struct wire_error *err)
{
	uint8_t alen;

	if (auth->len < 1)
		return wire_fail(err, WIRE_ETRUNC, offset,
				 "ikev2.auth: digital signature without its ASN.1 length");
	alen = auth->data[0];
	if (alen == 0 || (size_t)alen + 1 >= auth->len)
		return wire_fail(err, WIRE_ELEN, offset,
				 "ikev2.auth: AlgorithmIdentifier length %u leaves no signature in %zu octets",
				 alen, auth->len);
	d->alg = auth->data + 1;
	d->alg_len = alen;
	d->sig = auth->data + 1 + alen;
	d->sig_len = auth->len - 1 - alen;
	return WIRE_OK;
}

enum wire_err ikev2_nonce_parse(const struct ikev2_payload *p, const uint8_t **nonce,
				size_t *len, struct wire_error *err)
{
	/* §3.9: between 16 and 256 octets. */
	if (p->body_len < IKEV2_NONCE_MIN || p->body_len > IKEV2_NONCE_MAX)
		return wire_fail(err, WIRE_ELEN, p->offset + 2,
				 "ikev2.nonce: %zu octets is outside %d..%d", p->body_len,
				 IKEV2_NONCE_MIN, IKEV2_NONCE_MAX);
	*nonce = p->body;
	*len = p->body_len;
	return WIRE_OK;
}

enum wire_err ikev2_notify_parse(const struct ikev2_payload *p, struct ikev2_notify *n,
				 struct wire_error *err)
{
	enum wire_err e;

	if ((e = need(p, "n", 4, err)))
		return e;
	n->protocol = p->body[0];
	n->spi_size = p->body[1];
	n->type = get_be16(p->body + 2);
	if ((size_t)4 + n->spi_size > p->body_len)
		return wire_fail(err, WIRE_ELEN, at(p, 1),
				 "ikev2.n: SPI size %u overruns the %zu-octet body", n->spi_size,
				 p->body_len);
	if (n->type == 0)
		return wire_fail(err, WIRE_EVALUE, at(p, 2), "ikev2.n: notify type 0 is reserved");
	n->spi = p->body + 4;
	n->data = n->spi + n->spi_size;
	n->len = p->body_len - 4 - n->spi_size;
	return WIRE_OK;
}

enum wire_err ikev2_delete_parse(const struct ikev2_payload *p, struct ikev2_delete *d,
				 struct wire_error *err)
{
	enum wire_err e;
	uint8_t want;

	if ((e = need(p, "d", 4, err)))
		return e;
	d->protocol = p->body[0];
	d->spi_size = p->body[1];
	d->n = get_be16(p->body + 2);
	d->spis = p->body + 4;
	switch (d->protocol) {
	case IKEV2_PROTO_IKE:
		want = 0;
		break;
	case IKEV2_PROTO_AH:
	case IKEV2_PROTO_ESP:
		want = 4;
		break;
	default:
		return wire_fail(err, WIRE_EVALUE, at(p, 0), "ikev2.d: protocol %u unknown",
				 d->protocol);
	}
	if (d->spi_size != want)
		return wire_fail(err, WIRE_EVALUE, at(p, 1),
				 "ikev2.d: protocol %u SPI size %u (want %u)", d->protocol,
				 d->spi_size, want);
	if (d->protocol == IKEV2_PROTO_IKE && d->n)
		return wire_fail(err, WIRE_EVALUE, at(p, 2),
				 "ikev2.d: deleting the IKE SA lists %u SPIs (want 0)", d->n);
	if ((size_t)d->n * d->spi_size != p->body_len - 4)
		return wire_fail(err, WIRE_ELEN, at(p, 2),
				 "ikev2.d: %u SPIs of %u octets but %zu octets follow", d->n,
				 d->spi_size, p->body_len - 4);
	return WIRE_OK;
}

enum wire_err ikev2_ts_parse(const struct ikev2_payload *p, struct ikev2_ts_list *l,
			     struct wire_error *err)
{
	const char *name = p->type == IKEV2_PL_TSI ? "tsi" : "tsr";
	size_t off = 4, declared;
	enum wire_err e;

	if ((e = need(p, name, 4, err)))
		return e;
	declared = p->body[0];
	l->n = 0;
	if (declared == 0)
		return wire_fail(err, WIRE_EVALUE, at(p, 0), "ikev2.%s: no traffic selectors", name);
	if (declared > IKEV2_MAX_TS)
		return wire_fail(err, WIRE_ECOUNT, at(p, 0), "ikev2.%s: %zu selectors, at most %d",
				 name, declared, IKEV2_MAX_TS);
	while (l->n < declared) {
		struct ikev2_ts *t = &l->ts[l->n];
		const uint8_t *s = p->body + off;
		size_t left = p->body_len - off, want = 0, alen = 0;

		if (left < 8)
			return wire_fail(err, WIRE_ETRUNC, at(p, off),
					 "ikev2.%s: selector %u needs 8 octets, %zu left", name,
					 l->n + 1u, left);
		t->type = s[0];
		t->ip_protocol = s[1];
		t->len = get_be16(s + 2);
		t->start_port = get_be16(s + 4);
		t->end_port = get_be16(s + 6);
		t->data = s + 4;
		if (t->type == IKEV2_TS_IPV4_ADDR_RANGE)
			alen = 4;
		else if (t->type == IKEV2_TS_IPV6_ADDR_RANGE)
			alen = 16;
		want = alen ? 8 + 2 * alen : 0;
		if (t->len < 8 || t->len > left)
			return wire_fail(err, WIRE_ELEN, at(p, off + 2),
					 "ikev2.%s: selector %u length %zu is outside 8..%zu", name,
					 l->n + 1u, t->len, left);
		if (want && t->len != want)
			return wire_fail(err, WIRE_ELEN, at(p, off + 2),
					 "ikev2.%s: selector %u of type %u has length %zu, not %zu",
					 name, l->n + 1u, t->type, t->len, want);
		t->start = alen ? s + 8 : NULL;
		t->end = alen ? s + 8 + alen : NULL;
		off += t->len;
		l->n++;
	}
	if (off != p->body_len)
		return wire_fail(err, WIRE_ELEN, at(p, off),
				 "ikev2.%s: %zu octets after the %u selectors", name, p->body_len - off,
				 l->n);
	return WIRE_OK;
}

enum wire_err ikev2_sk_parse(const struct ikev2_payload *p, struct ikev2_sk *sk,
			     struct wire_error *err)
{
	enum wire_err e;

	sk->first = p->next;
	sk->frag_num = sk->frag_total = 0;
	sk->data = p->body;
	sk->len = p->body_len;
	if (p->type != IKEV2_PL_SKF)
		return WIRE_OK;
	if ((e = need(p, "skf", 4, err)))
		return e;
	sk->frag_num = get_be16(p->body);
	sk->frag_total = get_be16(p->body + 2);
	sk->data += 4;
	sk->len -= 4;
	/* RFC 7383 §2.5 */
	if (sk->frag_num == 0 || sk->frag_total == 0 || sk->frag_num > sk->frag_total)
		return wire_fail(err, WIRE_EVALUE, at(p, 0), "ikev2.skf: fragment %u of %u", sk->frag_num,
				 sk->frag_total);
	if (sk->frag_num > 1 && sk->first)
		return wire_fail(err, WIRE_EVALUE, p->offset,
				 "ikev2.skf: fragment %u names a first payload (%u); only fragment 1 may",
				 sk->frag_num, sk->first);
	return WIRE_OK;
}

enum wire_err ikev2_cp_parse(const struct ikev2_payload *p, struct ikev2_cp *cp,
			     struct wire_error *err)
{
	size_t off = 4;
	enum wire_err e;

	if ((e = need(p, "cp", 4, err)))
		return e;
	cp->cfg_type = p->body[0];
	cp->n = 0;
	if (cp->cfg_type < IKEV2_CFG_REQUEST || cp->cfg_type > IKEV2_CFG_ACK)
		return wire_fail(err, WIRE_EVALUE, at(p, 0), "ikev2.cp: CFG type %u unknown",
				 cp->cfg_type);
	while (off < p->body_len) {
		struct ikev2_cfg_attr *a;
		uint16_t alen;

		if (p->body_len - off < 4)
			return wire_fail(err, WIRE_ETRUNC, at(p, off),
					 "ikev2.cp: attribute %u needs 4 octets, %zu left", cp->n + 1u,
					 p->body_len - off);
		alen = get_be16(p->body + off + 2);
		if (alen > p->body_len - off - 4)
			return wire_fail(err, WIRE_ELEN, at(p, off + 2),
					 "ikev2.cp: attribute %u length %u overruns the payload",
					 cp->n + 1u, alen);
		if (cp->n == IKEV2_MAX_CFG_ATTRS)
			return wire_fail(err, WIRE_ECOUNT, at(p, off),
					 "ikev2.cp: more than %d attributes", IKEV2_MAX_CFG_ATTRS);
		a = &cp->attr[cp->n++];
		a->type = get_be16(p->body + off) & 0x7fff;
		a->len = alen;
		a->value = p->body + off + 4;
		off += 4 + alen;
	}
	return WIRE_OK;
}

static enum wire_err eap_check(const struct ikev2_payload *p, struct wire_error *err)
{
	enum wire_err e;

	if ((e = need(p, "eap", 4, err)))
		return e;
	if (get_be16(p->body + 2) != p->body_len)
		return wire_fail(err, WIRE_ELEN, at(p, 2),
				 "ikev2.eap: EAP length %u but the payload holds %zu",
				 get_be16(p->body + 2), p->body_len);
	return WIRE_OK;
}

enum wire_err ikev2_payload_check(const struct ikev2_payload *p, struct wire_error *err)
{
	union {
		struct ikev2_sa sa;
		struct ikev2_ke ke;
		struct ikev2_typed t;
		struct ikev2_notify n;
		struct ikev2_delete d;
		struct ikev2_ts_list ts;
		struct ikev2_sk sk;
		struct ikev2_cp cp;
	} v;
	const uint8_t *nonce;
	size_t nlen;

	switch (p->type) {
	case IKEV2_PL_SA:
		return ikev2_sa_parse(p, &v.sa, err);
	case IKEV2_PL_KE:
		return ikev2_ke_parse(p, &v.ke, err);
	case IKEV2_PL_IDI:
	case IKEV2_PL_IDR:
	case IKEV2_PL_CERT:
	case IKEV2_PL_CERTREQ:
	case IKEV2_PL_AUTH:
	case IKEV2_PL_VENDOR:
		return ikev2_typed_parse(p, &v.t, err);
	case IKEV2_PL_NONCE:
		return ikev2_nonce_parse(p, &nonce, &nlen, err);
	case IKEV2_PL_NOTIFY:
		return ikev2_notify_parse(p, &v.n, err);
	case IKEV2_PL_DELETE:
		return ikev2_delete_parse(p, &v.d, err);
	case IKEV2_PL_TSI:
	case IKEV2_PL_TSR:
		return ikev2_ts_parse(p, &v.ts, err);
	case IKEV2_PL_SK:
	case IKEV2_PL_SKF:
		return ikev2_sk_parse(p, &v.sk, err);
	case IKEV2_PL_CP:
		return ikev2_cp_parse(p, &v.cp, err);
	case IKEV2_PL_EAP:
		return eap_check(p, err);
	}
	return WIRE_OK;
}

/* ---- building ------------------------------------------------------------ */

void ikev2_add_ke(struct ikev2_builder *b, uint16_t group, const uint8_t *data, size_t len)
{
	uint8_t *p = ikev2_build_payload(b, IKEV2_PL_KE, false, 4 + len);

	if (!p)
		return;
	put_be16(p, group);
	put_be16(p + 2, 0);
	if (len)
		memcpy(p + 4, data, len);
}

void ikev2_add_typed(struct ikev2_builder *b, uint8_t pl_type, uint8_t type,
		     const uint8_t *data, size_t len)
{
	size_t hl = pl_type == IKEV2_PL_CERT || pl_type == IKEV2_PL_CERTREQ ? 1 : 4;
	uint8_t *p = ikev2_build_payload(b, pl_type, false, hl + len);

	if (!p)
		return;
	memset(p, 0, hl);
	p[0] = type;
	if (len)
		memcpy(p + hl, data, len);
}

void ikev2_add_nonce(struct ikev2_builder *b, const uint8_t *nonce, size_t len)
{
	ikev2_add_raw(b, IKEV2_PL_NONCE, false, nonce, len);
}

void ikev2_add_vendor(struct ikev2_builder *b, const uint8_t *vid, size_t len)
{
	ikev2_add_raw(b, IKEV2_PL_VENDOR, false, vid, len);
}

void ikev2_add_notify(struct ikev2_builder *b, uint8_t protocol, const uint8_t *spi,
		      uint8_t spi_size, uint16_t type, const uint8_t *data, size_t len)
{
	uint8_t *p = ikev2_build_payload(b, IKEV2_PL_NOTIFY, false, 4u + spi_size + len);

	if (!p)
		return;
	p[0] = protocol;
	p[1] = spi_size;
	put_be16(p + 2, type);
	if (spi_size)
		memcpy(p + 4, spi, spi_size);
	if (len)
		memcpy(p + 4 + spi_size, data, len);
}

void ikev2_add_delete(struct ikev2_builder *b, uint8_t protocol, uint8_t spi_size,
		      uint16_t n, const uint8_t *spis)
{
	size_t sl = (size_t)n * spi_size;
	uint8_t *p = ikev2_build_payload(b, IKEV2_PL_DELETE, false, 4 + sl);

	if (!p)
		return;
	p[0] = protocol;
	p[1] = spi_size;
	put_be16(p + 2, n);
	if (sl)
		memcpy(p + 4, spis, sl);
}

static size_t ts_size(const struct ikev2_ts *t)
{
	if (t->type == IKEV2_TS_IPV4_ADDR_RANGE)
		return 16;
	if (t->type == IKEV2_TS_IPV6_ADDR_RANGE)
		return 40;
	return 4 + (t->len >= 4 ? t->len - 4 : 0);
}

void ikev2_add_ts(struct ikev2_builder *b, uint8_t pl_type, const struct ikev2_ts *ts,
		  size_t n)
{
	size_t total = 4;
	uint8_t *p;

	if (n > 255) {
		if (!b->status)
			b->status = wire_fail(b->err, WIRE_ECOUNT, b->len,
					      "ikev2.build: %zu traffic selectors, at most 255", n);
		return;
	}
	for (size_t i = 0; i < n; i++)
		total += ts_size(&ts[i]);
	if (!(p = ikev2_build_payload(b, pl_type, false, total)))
		return;
	p[0] = (uint8_t)n;
	memset(p + 1, 0, 3);
	p += 4;
	for (size_t i = 0; i < n; i++) {
		const struct ikev2_ts *t = &ts[i];
		size_t sl = ts_size(t), alen = (sl - 8) / 2;

		p[0] = t->type;
		p[1] = t->ip_protocol;
		put_be16(p + 2, (uint16_t)sl);
		if (t->type == IKEV2_TS_IPV4_ADDR_RANGE || t->type == IKEV2_TS_IPV6_ADDR_RANGE) {
			put_be16(p + 4, t->start_port);
			put_be16(p + 6, t->end_port);
			memcpy(p + 8, t->start, alen);
			memcpy(p + 8 + alen, t->end, alen);
		} else if (sl > 4) {
			memcpy(p + 4, t->data, sl - 4);
		}
		p += sl;
	}
}

void ikev2_add_cp(struct ikev2_builder *b, const struct ikev2_cp *cp)
{
	size_t total = 4;
	uint8_t *p;

	for (unsigned i = 0; i < cp->n; i++)
		total += 4u + cp->attr[i].len;
	if (!(p = ikev2_build_payload(b, IKEV2_PL_CP, false, total)))
		return;
	p[0] = cp->cfg_type;
	memset(p + 1, 0, 3);
	p += 4;
	for (unsigned i = 0; i < cp->n; i++) {
		const struct ikev2_cfg_attr *a = &cp->attr[i];

		put_be16(p, a->type & 0x7fff);
		put_be16(p + 2, a->len);
		if (a->len)
			memcpy(p + 4, a->value, a->len);
		p += 4u + a->len;
	}
}
