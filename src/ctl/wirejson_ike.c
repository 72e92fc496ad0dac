/* JSON view of IKEv2 messages (see wirejson.h and wire/ikev2.h).
 *
 * Shape: {"initiator_spi": hex, "responder_spi": hex, "next_payload": 33,
 * "major_version": 2, "minor_version": 0, "exchange_type": 34,
 * "flags": ["I"], "message_id": 0, "length": 240, "payloads": [...]}.
 * Each payload has "type" (number), "name" (RFC 7296 short name, for
 * people; ignored when encoding), "critical", and its fields under the
 * RFCs' names. Byte strings are lower-case hex; "address", "name" of IDs,
 * "signature_algorithm"/"signature" of AUTH method 14 and the "mh_type_*"
 * of Mobility Header selectors are only shown, encoding takes "data" and
 * the ports. SK/SKF bodies are opaque ("data" = IV | ciphertext | ICV).
 *
 * Encoding lays the chain out with the wire/ikev2.h builder, which fills
 * every Next Payload and length; "length" of the header, when given,
 * overrides the computed one (to write deliberately wrong messages). */
#include "ctl/wirejson.h"
#include "ctl/wirejson_util.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/ikev2.h"

static const char flag_letters[] = "RVI";	/* bits 0x20, 0x10, 0x08 */

/* ---- decoding ---------------------------------------------------------- */

static bool printable(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return false;
	return true;
}

static json_t *xf_json(const struct ikev2_transform *t)
{
	json_t *o = json_object(), *a;

	wj_set_int(o, "transform_type", t->type);
	wj_set_int(o, "transform_id", t->id);
	if (t->key_length >= 0)
		wj_set_int(o, "key_length", t->key_length);
	if (!t->n_attr)
		return o;
	a = json_array();
	for (unsigned i = 0; i < t->n_attr; i++) {
		const struct ikev2_attr *at = &t->attr[i];
		json_t *j = json_object();

		wj_set_int(j, "type", at->type);
		if (at->tv)
			wj_set_int(j, "value", at->value);
		else
			wj_set(j, "data", wj_hex(at->data, at->len));
		json_array_append_new(a, j);
	}
	wj_set(o, "attributes", a);
	return o;
}

static void sa_json(json_t *o, const struct ikev2_sa *sa)
{
	json_t *props = json_array();

	for (unsigned i = 0; i < sa->n; i++) {
		const struct ikev2_proposal *pr = &sa->prop[i];
		json_t *p = json_object(), *xs = json_array();

		wj_set_int(p, "proposal_num", pr->num);
		wj_set_int(p, "protocol_id", pr->protocol);
		wj_set(p, "spi", wj_hex(pr->spi, pr->spi_size));
		for (unsigned j = 0; j < pr->n_xf; j++)
			json_array_append_new(xs, xf_json(&pr->xf[j]));
		wj_set(p, "transforms", xs);
		json_array_append_new(props, p);
	}
	wj_set(o, "proposals", props);
}

static void typed_json(json_t *o, const struct ikev2_payload *p, const struct ikev2_typed *t)
{
	struct ikev2_digsig d;

	switch (p->type) {
	case IKEV2_PL_IDI:
	case IKEV2_PL_IDR:
		wj_set_int(o, "id_type", t->type);
		if (t->type == IKEV2_ID_IPV4_ADDR)
			wj_set(o, "address", wj_addr(AF_INET, t->data));
		else if (t->type == IKEV2_ID_IPV6_ADDR)
			wj_set(o, "address", wj_addr(AF_INET6, t->data));
		else if ((t->type == IKEV2_ID_FQDN || t->type == IKEV2_ID_RFC822_ADDR) &&
			 printable(t->data, t->len))
			wj_set(o, "name", json_stringn((const char *)t->data, t->len));
		break;
	case IKEV2_PL_CERT:
	case IKEV2_PL_CERTREQ:
		wj_set_int(o, "cert_encoding", t->type);
		break;
	case IKEV2_PL_AUTH:
		wj_set_int(o, "auth_method", t->type);
		if (t->type == IKEV2_AUTH_DIGITAL_SIG && !ikev2_digsig_parse(t, 0, &d, NULL)) {
			wj_set(o, "signature_algorithm", wj_hex(d.alg, d.alg_len));
			wj_set(o, "signature", wj_hex(d.sig, d.sig_len));
		}
		break;
	case IKEV2_PL_VENDOR:
		wj_set(o, "vendor_id", wj_hex(t->data, t->len));
		return;
	}
	wj_set(o, "data", wj_hex(t->data, t->len));
}

static void ts_json(json_t *o, const struct ikev2_ts_list *l)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < l->n; i++) {
		const struct ikev2_ts *t = &l->ts[i];
		json_t *j = json_object();
		int af = t->type == IKEV2_TS_IPV4_ADDR_RANGE ? AF_INET : AF_INET6;

		wj_set_int(j, "ts_type", t->type);
		wj_set_int(j, "ip_protocol_id", t->ip_protocol);
		if (!t->start) {
			wj_set(j, "data", wj_hex(t->data, t->len - 4));
			json_array_append_new(a, j);
			continue;
		}
		wj_set_int(j, "start_port", t->start_port);
		wj_set_int(j, "end_port", t->end_port);
		if (t->ip_protocol == IKEV2_IPPROTO_MH) {
			/* RFC 4877: the MH type rides in the high octet */
			wj_set_int(j, "mh_type_start", t->start_port >> 8);
			wj_set_int(j, "mh_type_end", t->end_port >> 8);
		}
		wj_set(j, "starting_address", wj_addr(af, t->start));
		wj_set(j, "ending_address", wj_addr(af, t->end));
		json_array_append_new(a, j);
	}
	wj_set(o, "traffic_selectors", a);
}

/* The body fields of a known payload (already checked by the chain walk). */
static void body_json(json_t *o, const struct ikev2_payload *p)
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
	json_t *a;

	switch (p->type) {
	case IKEV2_PL_SA:
		if (!ikev2_sa_parse(p, &v.sa, NULL))
			sa_json(o, &v.sa);
		return;
	case IKEV2_PL_KE:
		if (ikev2_ke_parse(p, &v.ke, NULL))
			return;
		wj_set_int(o, "dh_group", v.ke.group);
		wj_set(o, "key_exchange_data", wj_hex(v.ke.data, v.ke.len));
		return;
	case IKEV2_PL_IDI:
	case IKEV2_PL_IDR:
	case IKEV2_PL_CERT:
	case IKEV2_PL_CERTREQ:
	case IKEV2_PL_AUTH:
	case IKEV2_PL_VENDOR:
		if (!ikev2_typed_parse(p, &v.t, NULL))
			typed_json(o, p, &v.t);
		return;
	case IKEV2_PL_NONCE:
		wj_set(o, "nonce", wj_hex(p->body, p->body_len));
		return;
	case IKEV2_PL_NOTIFY:
		if (ikev2_notify_parse(p, &v.n, NULL))
			return;
		wj_set_int(o, "protocol_id", v.n.protocol);
		wj_set(o, "spi", wj_hex(v.n.spi, v.n.spi_size));
		wj_set_int(o, "notify_type", v.n.type);
		wj_set(o, "data", wj_hex(v.n.data, v.n.len));
		return;
	case IKEV2_PL_DELETE:
		if (ikev2_delete_parse(p, &v.d, NULL))
			return;
		wj_set_int(o, "protocol_id", v.d.protocol);
		wj_set_int(o, "spi_size", v.d.spi_size);
		a = json_array();
		for (unsigned i = 0; i < v.d.n; i++)
			json_array_append_new(a, wj_hex(v.d.spis + (size_t)i * v.d.spi_size,
							 v.d.spi_size));
		wj_set(o, "spis", a);
		return;
	case IKEV2_PL_TSI:
	case IKEV2_PL_TSR:
		if (!ikev2_ts_parse(p, &v.ts, NULL))
			ts_json(o, &v.ts);
		return;
	case IKEV2_PL_SK:
	case IKEV2_PL_SKF:
		if (ikev2_sk_parse(p, &v.sk, NULL))
			return;
		wj_set_int(o, "first_payload", v.sk.first);
		if (p->type == IKEV2_PL_SKF) {
			wj_set_int(o, "fragment_number", v.sk.frag_num);
			wj_set_int(o, "total_fragments", v.sk.frag_total);
		}
		wj_set(o, "data", wj_hex(v.sk.data, v.sk.len));
		return;
	case IKEV2_PL_CP:
		if (ikev2_cp_parse(p, &v.cp, NULL))
			return;
		wj_set_int(o, "cfg_type", v.cp.cfg_type);
		a = json_array();
		for (unsigned i = 0; i < v.cp.n; i++) {
			json_t *j = json_object();

			wj_set_int(j, "type", v.cp.attr[i].type);
			wj_set(j, "value", wj_hex(v.cp.attr[i].value, v.cp.attr[i].len));
			json_array_append_new(a, j);
		}
		wj_set(o, "attributes", a);
		return;
	}
	wj_set(o, "data", wj_hex(p->body, p->body_len));
}

json_t *ikev2_to_json(const uint8_t *buf, size_t len, struct wire_error *err)
{
	struct ikev2_msg *m = malloc(sizeof(*m));
	json_t *o, *fl, *pls;

	if (!m) {
		wire_fail(err, WIRE_ESPACE, 0, "ikev2: out of memory");
		return NULL;
	}
	if (ikev2_parse(buf, len, m, err)) {
		free(m);
		return NULL;
	}
	o = json_object();
	wj_set(o, "initiator_spi", wj_hex(m->hdr.spi_i, 8));
	wj_set(o, "responder_spi", wj_hex(m->hdr.spi_r, 8));
	wj_set_int(o, "next_payload", m->hdr.next_payload);
	wj_set_int(o, "major_version", m->hdr.major);
	wj_set_int(o, "minor_version", m->hdr.minor);
	wj_set_int(o, "exchange_type", m->hdr.exchange);
	fl = json_array();
	for (unsigned i = 0; flag_letters[i]; i++)
		if (m->hdr.flags & (0x20 >> i))
			json_array_append_new(fl, json_stringn(&flag_letters[i], 1));
	wj_set(o, "flags", fl);
	if (m->hdr.flags & ~IKEV2_FLAGS_KNOWN)
		wj_set_int(o, "flags_reserved", m->hdr.flags & ~IKEV2_FLAGS_KNOWN);
	wj_set_int(o, "message_id", m->hdr.message_id);
	wj_set_int(o, "length", m->hdr.length);
	pls = json_array();
	for (size_t i = 0; i < m->chain.n; i++) {
		const struct ikev2_payload *p = &m->chain.pl[i];
		json_t *j = json_object();
		const char *name = ikev2_payload_name(p->type);

		wj_set_int(j, "type", p->type);
		if (name)
			wj_set(j, "name", json_string(name));
		wj_set_bool(j, "critical", p->critical);
		if (!p->known) {
			wj_set_bool(j, "skipped", true);
			wj_set(j, "data", wj_hex(p->body, p->body_len));
		} else {
			body_json(j, p);
		}
		json_array_append_new(pls, j);
	}
	wj_set(o, "payloads", pls);
	free(m);
	return o;
}

/* ---- encoding ---------------------------------------------------------- */

/* Byte strings of the view are decoded into this arena; the builder copies
 * them into the message. */
struct enc {
	struct wire_error *err;
	const char *ctx;
	uint8_t arena[65536];
	size_t used;
};

static bool bad(struct enc *e, const char *k, const char *what)
{
	wire_fail(e->err, WIRE_EVALUE, 0, "encode.ikev2.%s: field %s %s", e->ctx, k, what);
	return false;
}

static bool num(struct enc *e, const json_t *o, const char *k, uint64_t max, uint64_t *v)
{
	const json_t *j = json_object_get(o, k);
	char what[48];

	if (!j)
		return true;
	if (json_is_boolean(j) && max == 1) {
		*v = json_is_true(j);
		return true;
	}
	if (json_is_integer(j) && json_integer_value(j) >= 0 &&
	    (uint64_t)json_integer_value(j) <= max) {
		*v = (uint64_t)json_integer_value(j);
		return true;
	}
	snprintf(what, sizeof(what), "must be an integer in 0..%llu", (unsigned long long)max);
	return bad(e, k, what);
}

static bool need(struct enc *e, const json_t *o, const char *k)
{
	return json_object_get(o, k) ? true : bad(e, k, "is missing");
}

/* A required unsigned field. */
static bool req(struct enc *e, const json_t *o, const char *k, uint64_t max, uint64_t *v)
{
	return need(e, o, k) && num(e, o, k, max, v);
}

/* An optional hex field into the arena (empty when absent). */
static bool hex(struct enc *e, const json_t *o, const char *k, const uint8_t **p, size_t *n)
{
	const json_t *j = json_object_get(o, k);
	const char *s;
	size_t l;

	*p = e->arena + e->used;
	*n = 0;
	if (!j)
		return true;
	if (!(s = json_string_value(j)) || (l = strlen(s)) % 2)
		return bad(e, k, "must be a hex string");
	if (l / 2 > sizeof(e->arena) - e->used) {
		wire_fail(e->err, WIRE_ESPACE, 0, "encode.ikev2.%s: field %s does not fit", e->ctx, k);
		return false;
	}
	for (size_t i = 0; i < l / 2; i++) {
		int hi = wj_hexval(s[2 * i]), lo = wj_hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return bad(e, k, "must be a hex string");
		e->arena[e->used + i] = (uint8_t)(hi << 4 | lo);
	}
	*n = l / 2;
	e->used += *n;
	return true;
}

static const json_t *list(struct enc *e, const json_t *o, const char *k)
{
	const json_t *a = json_object_get(o, k);

	if (!json_is_array(a)) {
		bad(e, k, "must be a list");
		return NULL;
	}
	return a;
}

static bool enc_xf(struct enc *e, const json_t *j, struct ikev2_transform *t)
{
	uint64_t type = 0, id = 0, kl = 0;
	const json_t *attrs = json_object_get(j, "attributes"), *a;
	size_t i;

	memset(t, 0, sizeof(*t));
	if (!req(e, j, "transform_type", 255, &type) || !req(e, j, "transform_id", 0xffff, &id) ||
	    !num(e, j, "key_length", 0xffff, &kl))
		return false;
	t->type = (uint8_t)type;
	t->id = (uint16_t)id;
	t->key_length = json_object_get(j, "key_length") ? (int)kl : -1;
	if (!attrs)
		return true;
	if (!json_is_array(attrs) || json_array_size(attrs) > IKEV2_MAX_ATTRS)
		return bad(e, "attributes", "must be a list of at most 2");
	json_array_foreach(attrs, i, a) {
		struct ikev2_attr *at = &t->attr[t->n_attr++];
		uint64_t at_type = 0, val = 0;
		size_t n;

		if (!req(e, a, "type", 0x7fff, &at_type))
			return false;
		at->type = (uint16_t)at_type;
		at->tv = json_object_get(a, "value") != NULL;
		if (at->tv) {
			if (!num(e, a, "value", 0xffff, &val))
				return false;
			at->value = (uint16_t)val;
		} else {
			if (!hex(e, a, "data", &at->data, &n))
				return false;
			if (n > 0xffff)
				return bad(e, "data", "is over 65535 octets");
			at->len = (uint16_t)n;
		}
	}
	return true;
}

static bool enc_sa(struct enc *e, const json_t *o, struct ikev2_builder *b)
{
	struct ikev2_sa *sa = calloc(1, sizeof(*sa));
	const json_t *props = list(e, o, "proposals"), *p, *x;
	size_t i, j, n;
	bool ok = false;

	if (!sa || !props)
		goto out;
	if (json_array_size(props) > IKEV2_MAX_PROPOSALS) {
		bad(e, "proposals", "has too many entries");
		goto out;
	}
	json_array_foreach(props, i, p) {
		struct ikev2_proposal *pr = &sa->prop[sa->n++];
		uint64_t pn = i + 1, proto = 0;
		const json_t *xs = list(e, p, "transforms");

		if (!xs || !num(e, p, "proposal_num", 255, &pn) ||
		    !req(e, p, "protocol_id", 255, &proto) || !hex(e, p, "spi", &pr->spi, &n))
			goto out;
		if (n > 255 || json_array_size(xs) > IKEV2_MAX_TRANSFORMS) {
			bad(e, "transforms", "or spi is too long");
			goto out;
		}
		pr->num = (uint8_t)pn;
		pr->protocol = (uint8_t)proto;
		pr->spi_size = (uint8_t)n;
		json_array_foreach(xs, j, x)
			if (!enc_xf(e, x, &pr->xf[pr->n_xf++]))
				goto out;
	}
	ikev2_add_sa(b, sa);
	ok = true;
out:
	free(sa);
	return ok;
}

static bool enc_ts(struct enc *e, const json_t *o, uint8_t type, struct ikev2_builder *b)
{
	struct ikev2_ts ts[IKEV2_MAX_TS];
	const json_t *a = list(e, o, "traffic_selectors"), *j;
	size_t i;

	if (!a)
		return false;
	if (json_array_size(a) > IKEV2_MAX_TS)
		return bad(e, "traffic_selectors", "has too many entries");
	json_array_foreach(a, i, j) {
		struct ikev2_ts *t = &ts[i];
		uint64_t tt = 0, pr = 0, sp = 0, ep = 0xffff;
		int af;
		size_t alen, n;
		const char *s1, *s2;
		uint8_t *addr;

		memset(t, 0, sizeof(*t));
		if (!req(e, j, "ts_type", 255, &tt) || !num(e, j, "ip_protocol_id", 255, &pr) ||
		    !num(e, j, "start_port", 0xffff, &sp) || !num(e, j, "end_port", 0xffff, &ep))
			return false;
		t->type = (uint8_t)tt;
		t->ip_protocol = (uint8_t)pr;
		t->start_port = (uint16_t)sp;
		t->end_port = (uint16_t)ep;
		if (tt != IKEV2_TS_IPV4_ADDR_RANGE && tt != IKEV2_TS_IPV6_ADDR_RANGE) {
			if (!hex(e, j, "data", &t->data, &n))
				return false;
			t->len = 4 + n;
			continue;
		}
		af = tt == IKEV2_TS_IPV4_ADDR_RANGE ? AF_INET : AF_INET6;
		alen = af == AF_INET ? 4 : 16;
		s1 = json_string_value(json_object_get(j, "starting_address"));
		s2 = json_string_value(json_object_get(j, "ending_address"));
		if (sizeof(e->arena) - e->used < 2 * alen) {
			wire_fail(e->err, WIRE_ESPACE, 0, "encode.ikev2.ts: out of room");
			return false;
		}
		addr = e->arena + e->used;
		e->used += 2 * alen;
		if (!s1 || inet_pton(af, s1, addr) != 1)
			return bad(e, "starting_address", "is not an address of the ts_type");
		if (!s2 || inet_pton(af, s2, addr + alen) != 1)
			return bad(e, "ending_address", "is not an address of the ts_type");
		t->start = addr;
		t->end = addr + alen;
	}
	ikev2_add_ts(b, type, ts, i);
	return true;
}

static bool enc_id(struct enc *e, const json_t *o, uint8_t type, struct ikev2_builder *b)
{
	uint64_t id = 0;
	const uint8_t *d;
	size_t n;
	const char *s;

	if (!req(e, o, "id_type", 255, &id) || !hex(e, o, "data", &d, &n))
		return false;
	if (!json_object_get(o, "data")) {
		/* from the readable forms */
		uint8_t *p = e->arena + e->used;

		if ((s = json_string_value(json_object_get(o, "address")))) {
			int af = id == IKEV2_ID_IPV4_ADDR ? AF_INET : AF_INET6;

			if (inet_pton(af, s, p) != 1)
				return bad(e, "address", "is not an address of the id_type");
			n = af == AF_INET ? 4 : 16;
		} else if ((s = json_string_value(json_object_get(o, "name")))) {
			n = strlen(s);
			if (n > 1024)
				return bad(e, "name", "is too long");
			memcpy(p, s, n);
		} else {
			return bad(e, "data", "is missing (or address, name)");
		}
		e->used += n;
		d = p;
	}
	ikev2_add_typed(b, type, (uint8_t)id, d, n);
	return true;
}

static bool enc_body(struct enc *e, const json_t *j, uint8_t type, struct ikev2_builder *b);

static bool enc_payload(struct enc *e, const json_t *j, struct ikev2_builder *b)
{
	uint64_t type = 0, crit = 0;
	const uint8_t *d;
	size_t n;

	if (!req(e, j, "type", 255, &type) || !num(e, j, "critical", 1, &crit))
		return false;
	e->ctx = ikev2_payload_name((uint8_t)type) ? ikev2_payload_name((uint8_t)type) : "payload";
	if (!ikev2_payload_name((uint8_t)type)) {
		if (!hex(e, j, "data", &d, &n))
			return false;
		ikev2_add_raw(b, (uint8_t)type, crit, d, n);
		return true;
	}
	if (crit) {
		/* a known payload sent with the Critical bit: lay it out, then
		 * set the bit in its generic header */
		size_t at = b->len;

		if (!enc_body(e, j, (uint8_t)type, b))
			return false;
		if (!b->status)
			b->buf[at + 1] |= 0x80;
		return true;
	}
	return enc_body(e, j, (uint8_t)type, b);
}

static bool enc_body(struct enc *e, const json_t *j, uint8_t type, struct ikev2_builder *b)
{
	uint64_t v1 = 0, v2 = 0, v3 = 0;
	const uint8_t *d, *d2;
	size_t n, n2, i;
	const json_t *a, *x;

	switch (type) {
	case IKEV2_PL_SA:
		return enc_sa(e, j, b);
	case IKEV2_PL_KE:
		if (!req(e, j, "dh_group", 0xffff, &v1) || !hex(e, j, "key_exchange_data", &d, &n))
			return false;
		ikev2_add_ke(b, (uint16_t)v1, d, n);
		return true;
	case IKEV2_PL_IDI:
	case IKEV2_PL_IDR:
		return enc_id(e, j, type, b);
	case IKEV2_PL_CERT:
	case IKEV2_PL_CERTREQ:
	case IKEV2_PL_AUTH:
		if (!req(e, j, type == IKEV2_PL_AUTH ? "auth_method" : "cert_encoding", 255, &v1) ||
		    !hex(e, j, "data", &d, &n))
			return false;
		ikev2_add_typed(b, type, (uint8_t)v1, d, n);
		return true;
	case IKEV2_PL_NONCE:
		if (!need(e, j, "nonce") || !hex(e, j, "nonce", &d, &n))
			return false;
		ikev2_add_nonce(b, d, n);
		return true;
	case IKEV2_PL_NOTIFY:
		if (!num(e, j, "protocol_id", 255, &v1) || !req(e, j, "notify_type", 0xffff, &v2) ||
		    !hex(e, j, "spi", &d, &n) || !hex(e, j, "data", &d2, &n2))
			return false;
		if (n > 255)
			return bad(e, "spi", "is over 255 octets");
		ikev2_add_notify(b, (uint8_t)v1, d, (uint8_t)n, (uint16_t)v2, d2, n2);
		return true;
	case IKEV2_PL_DELETE:
		if (!req(e, j, "protocol_id", 255, &v1) || !(a = list(e, j, "spis")))
			return false;
		v2 = v1 == IKEV2_PROTO_IKE ? 0 : 4;
		if (!num(e, j, "spi_size", 255, &v2))
			return false;
		d = e->arena + e->used;
		json_array_foreach(a, i, x) {
			const char *s = json_string_value(x);

			if (!s || strlen(s) != 2 * v2)
				return bad(e, "spis", "must list hex SPIs of spi_size octets");
			for (size_t k = 0; k < v2; k++) {
				int hi = wj_hexval(s[2 * k]), lo = wj_hexval(s[2 * k + 1]);

				if (hi < 0 || lo < 0 || e->used == sizeof(e->arena))
					return bad(e, "spis", "must list hex SPIs of spi_size octets");
				e->arena[e->used++] = (uint8_t)(hi << 4 | lo);
			}
			v3++;
		}
		if (v3 > 0xffff)
			return bad(e, "spis", "has too many entries");
		ikev2_add_delete(b, (uint8_t)v1, (uint8_t)v2, (uint16_t)v3, d);
		return true;
	case IKEV2_PL_VENDOR:
		if (!need(e, j, "vendor_id") || !hex(e, j, "vendor_id", &d, &n))
			return false;
		ikev2_add_vendor(b, d, n);
		return true;
	case IKEV2_PL_TSI:
	case IKEV2_PL_TSR:
		return enc_ts(e, j, type, b);
	case IKEV2_PL_SK:
	case IKEV2_PL_SKF: {
		struct ikev2_sk sk = { 0 };

		if (!req(e, j, "first_payload", 255, &v1) || !hex(e, j, "data", &d, &n))
			return false;
		if (type == IKEV2_PL_SKF &&
		    (!req(e, j, "fragment_number", 0xffff, &v2) ||
		     !req(e, j, "total_fragments", 0xffff, &v3)))
			return false;
		if (type == IKEV2_PL_SKF && v3 == 0)
			return bad(e, "total_fragments", "must not be 0");
		sk = (struct ikev2_sk){ .first = (uint8_t)v1, .frag_num = (uint16_t)v2,
					.frag_total = (uint16_t)v3, .data = d, .len = n };
		ikev2_add_sk(b, &sk);
		return true;
	}
	case IKEV2_PL_CP: {
		struct ikev2_cp cp = { 0 };

		if (!req(e, j, "cfg_type", 255, &v1) || !(a = list(e, j, "attributes")))
			return false;
		if (json_array_size(a) > IKEV2_MAX_CFG_ATTRS)
			return bad(e, "attributes", "has too many entries");
		cp.cfg_type = (uint8_t)v1;
		json_array_foreach(a, i, x) {
			struct ikev2_cfg_attr *at = &cp.attr[cp.n++];

			if (!req(e, x, "type", 0x7fff, &v2) || !hex(e, x, "value", &d, &n))
				return false;
			if (n > 0xffff)
				return bad(e, "value", "is over 65535 octets");
			at->type = (uint16_t)v2;
			at->value = d;
			at->len = (uint16_t)n;
		}
		ikev2_add_cp(b, &cp);
		return true;
	}
	}
	/* EAP: the EAP message as is */
	if (!hex(e, j, "data", &d, &n))
		return false;
	ikev2_add_raw(b, type, false, d, n);
	return true;
}

static bool enc_flags(struct enc *e, const json_t *o, uint8_t *flags)
{
	const json_t *fl = json_object_get(o, "flags"), *x;
	uint64_t res = 0;
	size_t i;

	if (!num(e, o, "flags_reserved", 255, &res))
		return false;
	*flags = (uint8_t)(res & ~IKEV2_FLAGS_KNOWN);
	if (!fl)
		return true;
	if (!json_is_array(fl))
		return bad(e, "flags", "must be a list of I, V, R");
	json_array_foreach(fl, i, x) {
		const char *s = json_string_value(x), *c;

		if (!s || strlen(s) != 1 || !(c = strchr(flag_letters, s[0])))
			return bad(e, "flags", "must be a list of I, V, R");
		*flags |= (uint8_t)(0x20 >> (c - flag_letters));
	}
	return true;
}

int ikev2_from_json(const json_t *spec, uint8_t *buf, size_t size, struct wire_error *err)
{
	struct enc *e = calloc(1, sizeof(*e));
	struct ikev2_hdr h = { .major = 2 };
	struct ikev2_builder b;
	uint64_t maj = 2, min = 0, ex = 0, mid = 0, len = 0;
	const uint8_t *spi;
	size_t n, i;
	const json_t *pls, *j;
	int ret = -1;

	if (!e) {
		wire_fail(err, WIRE_ESPACE, 0, "encode.ikev2: out of memory");
		return -1;
	}
	e->err = err;
	e->ctx = "header";
	if (!json_is_object(spec)) {
		bad(e, "ikev2", "must be an object");
		goto out;
	}
	if (!num(e, spec, "major_version", 15, &maj) || !num(e, spec, "minor_version", 15, &min) ||
	    !req(e, spec, "exchange_type", 255, &ex) ||
	    !num(e, spec, "message_id", 0xffffffff, &mid) || !enc_flags(e, spec, &h.flags))
		goto out;
	h.major = (uint8_t)maj;
	h.minor = (uint8_t)min;
	h.exchange = (uint8_t)ex;
	h.message_id = (uint32_t)mid;
	if (!hex(e, spec, "initiator_spi", &spi, &n) || (n && n != 8)) {
		if (n && n != 8)
			bad(e, "initiator_spi", "must be 8 octets");
		goto out;
	}
	memcpy(h.spi_i, spi, n);
	if (!hex(e, spec, "responder_spi", &spi, &n) || (n && n != 8)) {
		if (n && n != 8)
			bad(e, "responder_spi", "must be 8 octets");
		goto out;
	}
	memcpy(h.spi_r, spi, n);
	pls = json_object_get(spec, "payloads");
	if (pls && !json_is_array(pls)) {
		bad(e, "payloads", "must be a list");
		goto out;
	}
	ikev2_build_begin(&b, buf, size, &h, err);
	json_array_foreach(pls, i, j) {
		if (!json_is_object(j)) {
			bad(e, "payloads", "must list objects");
			goto out;
		}
		if (!enc_payload(e, j, &b))
			goto out;
		if (b.status)
			break;
	}
	if ((ret = ikev2_build_end(&b)) < 0)
		goto out;
	e->ctx = "header";
	len = (uint64_t)ret;
	if (!num(e, spec, "length", 0xffffffff, &len)) {
		ret = -1;
		goto out;
	}
	put_be32(buf + 24, (uint32_t)len);
out:
	free(e);
	return ret;
}
