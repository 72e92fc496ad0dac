/* The engine: datagram intake (header, SA lookup, message-ID window,
 * retransmitted requests, SK/SKF decryption, inner payload validation)
 * and dispatch to the exchanges; protected message output; the public
 * API of ike.h; counters and tables. */
#include "ikev2/ike_sa.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/keylog.h"
#include "core/log.h"

struct ctr_def {
	const char *name, *help;
};

static const struct ctr_def ctr_defs[IKE_C_MAX] = {
#define IKE_CTR_DEF(n, h) [IKE_C_##n] = { #n, h },
	IKE_COUNTERS(IKE_CTR_DEF)
#undef IKE_CTR_DEF
};

static char ctr_names[IKE_C_MAX][64];

/* ---- output ------------------------------------------------------------------ */

static void hdr_of(const struct ike_sa *sa, uint8_t exchange, bool response, uint32_t mid,
		   struct ikev2_hdr *h)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->spi_i, sa->spi_i, 8);
	memcpy(h->spi_r, sa->spi_r, 8);
	h->major = 2;
	h->exchange = exchange;
	h->flags = (uint8_t)((sa->initiator ? IKEV2_FLAG_I : 0) | (response ? IKEV2_FLAG_R : 0));
	h->message_id = mid;
}

/* Room for IP, UDP and the non-ESP marker within fragment_mtu. */
static size_t ike_room(const struct ike_sa *sa)
{
	size_t over = (sa->path.remote.family == AF_INET6 ? 40 : 20) + 8 +
		      (sa->path.rport == IKEV2_NATT_PORT ? 4 : 0);
	size_t mtu = sa->e->cfg->fragment_mtu;

	return mtu > over + 100 ? mtu - over : 100;
}

static int protect_one(struct ike_sa *sa, const struct ikev2_hdr *h, uint8_t first,
		       uint16_t num, uint16_t total, const uint8_t *plain, size_t plen,
		       struct ike_out *o)
{
	size_t sklen = ike_sk_len(&sa->suite, plen);
	size_t size = IKEV2_HDR_LEN + IKEV2_GEN_LEN + (total ? 4 : 0) + sklen;
	const uint8_t *ke = sa->initiator ? sa->keys.sk_ei : sa->keys.sk_er;
	const uint8_t *ka = sa->initiator ? sa->keys.sk_ai : sa->keys.sk_ar;
	struct ikev2_sk sk = { .first = first, .frag_num = num, .frag_total = total, .len = sklen };
	struct ikev2_builder b;
	struct wire_error werr;
	uint8_t *d, *body;
	int n;

	if (o->n >= IKE_FRAG_MAX || !sklen)
		return -1;
	d = malloc(size);
	if (!d)
		return -1;
	ikev2_build_begin(&b, d, size, h, &werr);
	body = ikev2_add_sk(&b, &sk);
	n = ikev2_build_end(&b);
	if (n < 0 || !body ||
	    ike_sk_seal(&sa->suite, ke, ka, d, (size_t)(body - d), plain, plen)) {
		log_warn("ike", "cannot protect a message sa=%u", sa->id);
		free(d);
		return -1;
	}
	o->dgram[o->n] = d;
	o->len[o->n++] = (size_t)n;
	return 0;
}

int ike_frag_protect(struct ike_sa *sa, uint8_t exchange, bool response, uint32_t mid,
		     uint8_t first, const uint8_t *plain, size_t plen, struct ike_out *o)
{
	struct ikev2_hdr h;
	size_t room = ike_room(sa), over = IKEV2_HDR_LEN + IKEV2_GEN_LEN + 4;
	size_t chunk, total;

	/* Largest plaintext whose protected form fits (RFC 7383 §2.5.1). */
	for (chunk = room > over ? room - over : 1; chunk > 1; chunk--)
		if (over + ike_sk_len(&sa->suite, chunk) <= room)
			break;
	total = (plen + chunk - 1) / chunk;
	if (total > IKE_FRAG_MAX || total == 0)
		return -1;
	hdr_of(sa, exchange, response, mid, &h);
	for (size_t i = 0; i < total; i++) {
		size_t off = i * chunk, l = plen - off < chunk ? plen - off : chunk;

		/* Only the first fragment names the first inner payload. */
		if (protect_one(sa, &h, i == 0 ? first : IKEV2_PL_NONE, (uint16_t)(i + 1),
				(uint16_t)total, plain + off, l, o)) {
			ike_out_clear(o);
			return -1;
		}
		ike_count(sa->e, IKE_C_frag_tx);
	}
	return 0;
}

int ike_msg_protect(struct ike_sa *sa, uint8_t exchange, bool response, uint32_t mid,
		    uint8_t first, const uint8_t *plain, size_t plen, struct ike_out *o)
{
	struct ikev2_hdr h;
	size_t whole = IKEV2_HDR_LEN + IKEV2_GEN_LEN + ike_sk_len(&sa->suite, plen);

	ike_out_clear(o);
	if (sa->frag_ok && whole > ike_room(sa))
		return ike_frag_protect(sa, exchange, response, mid, first, plain, plen, o);
	hdr_of(sa, exchange, response, mid, &h);
	return protect_one(sa, &h, first, 0, 0, plain, plen, o);
}

int ike_msg_respond(struct ike_sa *sa, uint8_t exchange, uint32_t mid, uint8_t first,
		    const uint8_t *plain, size_t plen)
{
	if (ike_msg_protect(sa, exchange, true, mid, first, plain, plen, &sa->resp))
		return -1;
	sa->resp_valid = true;
	sa->rx_mid = mid + 1;
	ike_sa_send_out(sa, &sa->resp);
	return 0;
}

void ike_respond_error(struct ike_sa *sa, uint8_t exchange, uint32_t mid, uint16_t notify,
		       const uint8_t *data, size_t dlen)
{
	struct ikev2_builder b;
	struct wire_error werr;
	int n;

	ikev2_build_begin(&b, sa->e->plain, sizeof(sa->e->plain), NULL, &werr);
	ikev2_add_notify(&b, 0, NULL, 0, notify, data, dlen);
	n = ikev2_build_end(&b);
	if (n < 0)
		return;
	ike_count(sa->e, IKE_C_tx_error_notify);
	ike_msg_respond(sa, exchange, mid, IKEV2_PL_NOTIFY, sa->e->plain, (size_t)n);
}

void ike_send_plain_notify(struct ike_engine *e, const struct ike_path *path,
			   const struct ikev2_hdr *req, uint16_t notify, const uint8_t *data,
			   size_t dlen)
{
	struct ikev2_hdr h = *req;
	struct ikev2_builder b;
	struct wire_error werr;
	uint8_t buf[512];
	int n;

	h.major = 2;
	h.minor = 0;
	h.flags = IKEV2_FLAG_R;
	ikev2_build_begin(&b, buf, sizeof(buf), &h, &werr);
	ikev2_add_notify(&b, 0, NULL, 0, notify, data, dlen);
	n = ikev2_build_end(&b);
	if (n < 0)
		return;
	ike_count(e, IKE_C_tx_error_notify);
	ike_count(e, IKE_C_tx_msgs);
	e->ops->send(e->arg, path, buf, (size_t)n);
}

bool ike_notify_is_error(uint16_t type) { return type > 0 && type < 16384; }

void ike_count_rx_notify(struct ike_engine *e, uint16_t type)
{
	static const struct { uint16_t t; enum ike_ctr c; } map[] = {
		{ IKEV2_N_NO_PROPOSAL_CHOSEN, IKE_C_rx_n_no_proposal },
		{ IKEV2_N_INVALID_KE_PAYLOAD, IKE_C_rx_n_invalid_ke },
		{ IKEV2_N_AUTHENTICATION_FAILED, IKE_C_rx_n_auth_failed },
		{ IKEV2_N_TS_UNACCEPTABLE, IKE_C_rx_n_ts_unacceptable },
		{ IKEV2_N_INVALID_SYNTAX, IKE_C_rx_n_invalid_syntax },
		{ IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD, IKE_C_rx_n_unsupported_critical },
	};

	if (!ike_notify_is_error(type))
		return;
	ike_count(e, IKE_C_rx_n_error);
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].t == type)
			ike_count(e, map[i].c);
}

/* ---- input --------------------------------------------------------------------- */

static bool path_same(const struct ike_path *a, const struct ike_path *b)
{
	return ip_addr_eq(&a->remote, &b->remote) && a->rport == b->rport &&
	       ip_addr_eq(&a->local, &b->local) && a->lport == b->lport;
}

/* §2.23: a responder behind no NAT follows an authenticated request
 * coming from a new address or port (the peer's NAT mapping changed). */
static void follow_path(struct ike_sa *sa, const struct ike_path *path)
{
	if (path_same(&sa->path, path))
		return;
	if (sa->state == IKE_ST_INIT_DONE) {
		/* IKE_AUTH moved to port 4500 behind a NAT (§2.23). */
		sa->path = *path;
		return;
	}
	if (sa->state != IKE_ST_ESTABLISHED)
		return;
	if (!sa->nat_remote && sa->path.rport != IKEV2_NATT_PORT)
		return;
	sa->path = *path;
	ike_count(sa->e, IKE_C_path_updated);
	log_info("ike", "peer moved behind its NAT sa=%u", sa->id);
	for (struct ike_child *c = sa->children; c; c = c->next) {
		c->info.path = *path;
		if (sa->e->ops->child_moved)
			sa->e->ops->child_moved(sa->e->arg, &c->info);
	}
}

/* Decrypts the SK/SKF payload of `m` (reassembling fragments) and parses
 * the inner chain into *c. 1: done; 0: waiting for fragments; -1: drop
 * (counted); -2: the inner chain is malformed (counted; *notify says
 * what to answer). */
static int open_msg(struct ike_sa *sa, uint8_t *msg, size_t len, const struct ikev2_msg *m,
		    struct ikev2_chain *c, uint16_t *notify, uint8_t *ntype)
{
	struct ike_engine *e = sa->e;
	const struct ikev2_payload *sk = m->chain.sk;
	struct ikev2_sk v;
	struct wire_error werr;
	uint8_t *plain, *whole;
	size_t plen, wlen;
	uint8_t first;
	char err[160];
	const uint8_t *ke, *ka;
	bool resp = m->hdr.flags & IKEV2_FLAG_R;
	int r;

	if (!sk || m->chain.n != 1 || ikev2_sk_parse(sk, &v, &werr) != WIRE_OK) {
		ike_count(e, IKE_C_rx_invalid_syntax);
		log_info("ike", "message without SK payload dropped sa=%u exchange=%u", sa->id,
			 m->hdr.exchange);
		return -1;
	}
	if (!sa->keyed) {
		ike_count(e, IKE_C_rx_unexpected);
		return -1;
	}
	/* The peer's keys: the initiator's when the message has the I flag. */
	ke = (m->hdr.flags & IKEV2_FLAG_I) ? sa->keys.sk_ei : sa->keys.sk_er;
	ka = (m->hdr.flags & IKEV2_FLAG_I) ? sa->keys.sk_ai : sa->keys.sk_ar;
	if (ike_sk_open(&sa->suite, ke, ka, msg, len, sk->offset + IKEV2_GEN_LEN +
			(sk->type == IKEV2_PL_SKF ? 4 : 0), &plain, &plen, err, sizeof(err))) {
		ike_count(e, IKE_C_rx_decrypt_fail);
		log_info("ike", "SK payload refused sa=%u mid=%u: %s", sa->id, m->hdr.message_id, err);
		return -1;
	}
	whole = plain;
	wlen = plen;
	first = v.first;
	if (sk->type == IKEV2_PL_SKF) {
		ike_count(e, IKE_C_frag_rx);
		r = ike_frag_input(sa, m->hdr.message_id, resp, &v, plain, plen, &whole, &wlen, &first);
		if (r <= 0)
			return r;
	}
	r = ikev2_chain_parse(first, whole, wlen, 0, c, &werr);
	if (r != WIRE_OK) {
		if (c->notify == IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD) {
			ike_count(e, IKE_C_rx_unsupported_critical);
			*notify = IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD;
			*ntype = c->notify_type;
		} else {
			ike_count(e, IKE_C_rx_malformed);
			*notify = IKEV2_N_INVALID_SYNTAX;
		}
		log_info("ike", "inner payloads refused sa=%u mid=%u: %s", sa->id,
			 m->hdr.message_id, werr.msg);
		return -2;
	}
	return 1;
}

static void request_in(struct ike_sa *sa, const struct ike_path *path, uint8_t *msg, size_t len,
		       const struct ikev2_msg *m)
{
	struct ike_engine *e = sa->e;
	uint32_t mid = m->hdr.message_id;
	struct ikev2_chain c;
	uint16_t notify = 0;
	uint8_t ntype = 0;
	int r;

	if (sa->resp_valid && mid + 1 == sa->rx_mid) {
		const struct ikev2_payload *sk = m->chain.sk;

		/* Answer a fragmented request once, on its first fragment. */
		if (sk && sk->type == IKEV2_PL_SKF && sk->body_len >= 2 && get_be16(sk->body) != 1)
			return;
		ike_count(e, IKE_C_rx_retransmit);
		ike_sa_send_out(sa, &sa->resp);
		return;
	}
	if (mid != sa->rx_mid) {
		ike_count(e, IKE_C_rx_bad_mid);
		log_info("ike", "request outside the window sa=%u mid=%u expected=%u", sa->id, mid,
			 sa->rx_mid);
		return;
	}
	r = open_msg(sa, msg, len, m, &c, &notify, &ntype);
	if (r == 0 || r == -1)
		return;
	sa->last_rx_ms = mono_ms();
	follow_path(sa, path);
	if (r == -2) {
		ike_respond_error(sa, m->hdr.exchange, mid, notify, ntype ? &ntype : NULL, ntype ? 1 : 0);
		if (m->hdr.exchange == IKEV2_IKE_AUTH)
			ike_sa_close(sa, "malformed IKE_AUTH");
		return;
	}
	switch (m->hdr.exchange) {
	case IKEV2_IKE_AUTH:
		if (sa->state == IKE_ST_INIT_DONE && !sa->initiator) {
			ike_auth_request(sa, mid, &c);
			return;
		}
		break;
	case IKEV2_CREATE_CHILD_SA:
		if (sa->state == IKE_ST_ESTABLISHED) {
			ike_child_request(sa, mid, &c);
			return;
		}
		if (sa->state == IKE_ST_REKEYED) {
			/* §2.25: the SA is going away. */
			ike_respond_error(sa, m->hdr.exchange, mid, IKEV2_N_NO_PROPOSAL_CHOSEN, NULL, 0);
			return;
		}
		break;
	case IKEV2_INFORMATIONAL:
		if (sa->state >= IKE_ST_ESTABLISHED) {
			ike_info_request(sa, mid, &c);
			return;
		}
		break;
	default:
		break;
	}
	ike_count(e, IKE_C_rx_unexpected);
	log_info("ike", "request not expected sa=%u state=%s exchange=%u", sa->id,
		 ike_state_name(sa->state), m->hdr.exchange);
}

static uint8_t exchange_of(enum ike_task_kind k)
{
	switch (k) {
	case IKE_T_INIT:
		return IKEV2_IKE_SA_INIT;
	case IKE_T_AUTH:
		return IKEV2_IKE_AUTH;
	case IKE_T_CHILD_REKEY:
	case IKE_T_CHILD_NEW:
	case IKE_T_IKE_REKEY:
		return IKEV2_CREATE_CHILD_SA;
	default:
		return IKEV2_INFORMATIONAL;
	}
}

static void response_in(struct ike_sa *sa, uint8_t *msg, size_t len, const struct ikev2_msg *m)
{
	struct ike_engine *e = sa->e;
	struct ikev2_chain c;
	uint16_t notify = 0;
	uint8_t ntype = 0;
	int r;

	if (!sa->req_out || m->hdr.message_id + 1 != sa->tx_mid ||
	    m->hdr.exchange != exchange_of(sa->req_kind)) {
		ike_count(e, IKE_C_rx_bad_mid);
		log_info("ike", "unexpected response sa=%u mid=%u exchange=%u", sa->id,
			 m->hdr.message_id, m->hdr.exchange);
		return;
	}
	r = open_msg(sa, msg, len, m, &c, &notify, &ntype);
	if (r == 0 || r == -1)
		return;
	sa->last_rx_ms = mono_ms();
	if (r == -2) {
		/* A malformed answer: the exchange failed (§2.21.3). */
		ike_sa_req_done(sa);
		ike_sa_close(sa, "malformed response");
		return;
	}
	switch (sa->req_kind) {
	case IKE_T_AUTH:
		ike_auth_response(sa, &c);
		break;
	case IKE_T_CHILD_REKEY:
	case IKE_T_CHILD_NEW:
	case IKE_T_IKE_REKEY:
		ike_child_response(sa, &c);
		break;
	default:
		ike_info_response(sa, &c);
		break;
	}
}

static bool parse_outer(struct ike_engine *e, const struct ike_path *path, uint8_t *msg,
			size_t len, struct ikev2_msg *m)
{
	struct wire_error werr;
	enum wire_err r = ikev2_parse(msg, len, m, &werr);
	bool request = !(m->hdr.flags & IKEV2_FLAG_R);

	if (r == WIRE_OK)
		return true;
	if (m->chain.notify == IKEV2_N_INVALID_MAJOR_VERSION) {
		ike_count(e, IKE_C_rx_bad_version);
		/* The version we speak is in the answer's header (§2.5). */
		if (request && m->hdr.exchange == IKEV2_IKE_SA_INIT)
			ike_send_plain_notify(e, path, &m->hdr, IKEV2_N_INVALID_MAJOR_VERSION, NULL, 0);
	} else if (m->chain.notify == IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD) {
		ike_count(e, IKE_C_rx_unsupported_critical);
		if (request && m->hdr.exchange == IKEV2_IKE_SA_INIT)
			ike_send_plain_notify(e, path, &m->hdr, IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD,
					      &m->chain.notify_type, 1);
	} else {
		ike_count(e, IKE_C_rx_malformed);
		if (request && m->hdr.exchange == IKEV2_IKE_SA_INIT && len >= IKEV2_HDR_LEN)
			ike_send_plain_notify(e, path, &m->hdr, IKEV2_N_INVALID_SYNTAX, NULL, 0);
	}
	log_info("ike", "message refused: %s", werr.msg);
	return false;
}

int ike_engine_input(struct ike_engine *e, const struct ike_path *path, uint8_t *msg, size_t len)
{
	static const uint8_t zero[8];
	struct ikev2_msg *m = malloc(sizeof(*m));
	struct ike_sa *sa;
	bool request, from_i;
	int ret = -1;

	ike_count(e, IKE_C_rx_msgs);
	if (!m)
		return -1;
	memset(m, 0, sizeof(*m));
	if (!parse_outer(e, path, msg, len, m))
		goto out;
	request = !(m->hdr.flags & IKEV2_FLAG_R);
	from_i = m->hdr.flags & IKEV2_FLAG_I;
	if (m->hdr.exchange == IKEV2_IKE_SA_INIT) {
		if (request && from_i && !memcmp(m->hdr.spi_r, zero, 8)) {
			sa = ike_sa_half_open(e, m->hdr.spi_i, path);
			if (sa && sa->resp_valid && sa->state == IKE_ST_INIT_DONE) {
				ike_count(e, IKE_C_rx_retransmit);
				ike_sa_send_out(sa, &sa->resp);
				ret = 0;
				goto out;
			}
			if (!sa)
				ike_init_request(e, path, msg, len, m);
			ret = 0;
			goto out;
		}
		sa = request ? NULL : ike_sa_by_spi(e, m->hdr.spi_i, true);
		if (!sa || sa->state != IKE_ST_INIT_SENT || m->hdr.message_id != 0) {
			ike_count(e, sa ? IKE_C_rx_unexpected : IKE_C_rx_invalid_spi);
			log_info("ike", "IKE_SA_INIT %s dropped: %s", request ? "request" : "response",
				 sa ? "not expected in this state" : "no such IKE SA");
			goto out;
		}
		ike_init_response(sa, msg, len, m);
		ret = 0;
		goto out;
	}
	/* Our SPI: the responder's when the sender is the original initiator. */
	sa = ike_sa_by_spi(e, from_i ? m->hdr.spi_r : m->hdr.spi_i, !from_i);
	if (sa && memcmp(from_i ? sa->spi_i : sa->spi_r, from_i ? m->hdr.spi_i : m->hdr.spi_r, 8))
		sa = NULL;
	if (!sa) {
		ike_count(e, IKE_C_rx_invalid_spi);
		log_info("ike", "message for an unknown IKE SA exchange=%u", m->hdr.exchange);
		/* §2.21.4: tell the sender of a request, unprotected. */
		if (request)
			ike_send_plain_notify(e, path, &m->hdr, IKEV2_N_INVALID_IKE_SPI, NULL, 0);
		goto out;
	}
	if (request)
		request_in(sa, path, msg, len, m);
	else
		response_in(sa, msg, len, m);
	ret = 0;
out:
	free(m);
	return ret;
}

/* ---- life cycle ------------------------------------------------------------------ */

static json_t *dump_ike(void *arg);
static json_t *dump_child(void *arg);

struct ike_engine *ike_engine_new(struct loop *loop, const struct ike_config *cfg,
				  const struct ike_ops *ops, void *arg, const char *name,
				  char *err, size_t errlen)
{
	struct ike_engine *e = calloc(1, sizeof(*e));
	const char *cas[IKE_MAX_FILES], *crls[IKE_MAX_FILES];

	if (!e) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	e->loop = loop;
	e->cfg = cfg;
	e->ops = ops;
	e->arg = arg;
	snprintf(e->name, sizeof(e->name), "%s", name ? name : "ike");
	for (size_t i = 0; i < cfg->n_ca; i++)
		cas[i] = cfg->ca[i];
	for (size_t i = 0; i < cfg->n_crl; i++)
		crls[i] = cfg->crl[i];
	if (cfg->certificate[0] || cfg->n_ca) {
		if (ike_creds_load(&e->creds, cfg->certificate[0] ? cfg->certificate : NULL,
				   cfg->private_key[0] ? cfg->private_key : NULL, cas, cfg->n_ca,
				   crls, cfg->n_crl, err, errlen)) {
			free(e);
			return NULL;
		}
		e->have_creds = true;
	}
	e->local_id = cfg->local_id;
	if (!e->local_id.type && e->have_creds && e->creds.cert) {
		e->local_id.len = ike_cert_subject_der(e->creds.cert, e->local_id.data,
						       sizeof(e->local_id.data));
		if (e->local_id.len)
			e->local_id.type = IKEV2_ID_DER_ASN1_DN;
	}
	snprintf(e->label, sizeof(e->label), "engine=\"%s\"", e->name);
	for (int i = 0; i < IKE_C_MAX; i++) {
		if (!ctr_names[i][0])
			snprintf(ctr_names[i], sizeof(ctr_names[i]), "mipsec_ike_%s_total",
				 ctr_defs[i].name);
		e->ctr[i].name = ctr_names[i];
		e->ctr[i].help = ctr_defs[i].help;
		e->ctr[i].label = e->label;
		counter_register(&e->ctr[i]);
	}
	ike_random(e->cookie_secret, sizeof(e->cookie_secret));
	timer_init(&e->cookie_timer, loop, ike_cookie_rotate, e);
	timer_arm_ms(&e->cookie_timer, 120000);
	e->t_ike = (struct table){ .name = "ike_sa", .description = "IKEv2 SAs",
				   .dump = dump_ike, .arg = e };
	e->t_child = (struct table){ .name = "child_sa", .description = "IKEv2 CHILD SAs",
				     .dump = dump_child, .arg = e };
	return e;
}

void ike_engine_register_tables(struct ike_engine *e)
{
	table_register(&e->t_ike);
	table_register(&e->t_child);
	e->tables = true;
}

void ike_engine_free(struct ike_engine *e)
{
	if (!e)
		return;
	while (e->sas)
		ike_sa_free(e->sas);
	for (int i = 0; i < IKE_C_MAX; i++)
		counter_unregister(&e->ctr[i]);
	if (e->tables) {
		table_unregister(&e->t_ike);
		table_unregister(&e->t_child);
	}
	timer_deinit(&e->cookie_timer);
	keylog_close(e->dtable_log);
	if (e->have_creds)
		ike_creds_free(&e->creds);
	OPENSSL_cleanse(e->cookie_secret, sizeof(e->cookie_secret));
	free(e);
}

void ike_engine_shutdown(struct ike_engine *e)
{
	for (struct ike_sa *sa = e->sas; sa; sa = sa->next)
		if (sa->state == IKE_ST_ESTABLISHED) {
			ike_sa_req_done(sa);
			ike_info_send_delete_ike(sa);
			ike_sa_req_done(sa);
		}
}

uint32_t ike_engine_initiate(struct ike_engine *e, const char *peer)
{
	const struct ike_peer_cfg *p = ike_config_peer(e->cfg, peer);
	struct ike_path path = { .lport = IKEV2_PORT, .rport = p ? p->remote_port : 0 };
	struct ike_sa *sa;

	if (!p || p->remote_any) {
		log_warn("ike", "cannot initiate to peer '%s': %s", peer,
			 p ? "its remote is \"any\"" : "no such peer");
		return 0;
	}
	path.remote = p->remote;
	if (p->has_local)
		path.local = p->local;
	else
		path.local.family = p->remote.family;
	sa = ike_sa_new(e, true, &path);
	if (!sa)
		return 0;
	sa->peer = p;
	ike_init_send(sa);
	return sa->state == IKE_ST_DEAD ? 0 : sa->id;
}

void ike_engine_start(struct ike_engine *e)
{
	for (size_t i = 0; i < e->cfg->n_peers; i++)
		if (e->cfg->peers[i].initiate)
			ike_engine_initiate(e, e->cfg->peers[i].name);
}

int ike_engine_rekey_child(struct ike_engine *e, uint32_t child_id)
{
	struct ike_child *c = ike_child_by_id(e, child_id);

	if (!c || c->state != CHILD_ST_INSTALLED || c->sa->state != IKE_ST_ESTABLISHED)
		return -1;
	ike_sa_task(c->sa, IKE_T_CHILD_REKEY, child_id);
	return 0;
}

int ike_engine_rekey_ike(struct ike_engine *e, uint32_t ike_id)
{
	struct ike_sa *sa = ike_sa_by_id(e, ike_id);

	if (!sa || sa->state != IKE_ST_ESTABLISHED)
		return -1;
	ike_sa_task(sa, IKE_T_IKE_REKEY, 0);
	return 0;
}

int ike_engine_delete_ike(struct ike_engine *e, uint32_t ike_id)
{
	struct ike_sa *sa = ike_sa_by_id(e, ike_id);

	if (!sa || sa->state != IKE_ST_ESTABLISHED)
		return -1;
	ike_sa_task(sa, IKE_T_DELETE_IKE, 0);
	return 0;
}

int ike_engine_delete_child(struct ike_engine *e, uint32_t child_id)
{
	struct ike_child *c = ike_child_by_id(e, child_id);

	if (!c || c->sa->state != IKE_ST_ESTABLISHED)
		return -1;
	ike_sa_task(c->sa, IKE_T_DELETE_CHILD, child_id);
	return 0;
}

int ike_engine_update_path(struct ike_engine *e, uint32_t ike_id, const struct ip_addr *local)
{
	struct ike_sa *sa = ike_sa_by_id(e, ike_id);

	if (!sa)
		return -1;
	sa->path.local = *local;
	ike_count(e, IKE_C_path_updated);
	for (struct ike_child *c = sa->children; c; c = c->next) {
		c->info.path.local = *local;
		if (e->ops->child_moved)
			e->ops->child_moved(e->arg, &c->info);
	}
	return 0;
}

int ike_engine_update_remote(struct ike_engine *e, uint32_t ike_id, const struct ip_addr *remote)
{
	struct ike_sa *sa = ike_sa_by_id(e, ike_id);

	if (!sa || remote->family != sa->path.remote.family)
		return -1;
	if (ip_addr_eq(&sa->path.remote, remote))
		return 0;
	sa->path.remote = *remote;
	ike_count(e, IKE_C_path_updated);
	for (struct ike_child *c = sa->children; c; c = c->next) {
		c->info.path.remote = *remote;
		if (e->ops->child_moved)
			e->ops->child_moved(e->arg, &c->info);
	}
	return 0;
}

enum ike_sa_state_pub ike_engine_sa_state(const struct ike_engine *e, uint32_t ike_id)
{
	const struct ike_sa *sa = ike_sa_by_id(e, ike_id);

	if (!sa)
		return IKE_PUB_NONE;
	if (sa->state == IKE_ST_ESTABLISHED)
		return IKE_PUB_ESTABLISHED;
	if (sa->state < IKE_ST_ESTABLISHED)
		return IKE_PUB_CONNECTING;
	return IKE_PUB_CLOSING;
}

size_t ike_engine_n_ike(const struct ike_engine *e)
{
	size_t n = 0;

	for (const struct ike_sa *sa = e->sas; sa; sa = sa->next)
		n += sa->state == IKE_ST_ESTABLISHED;
	return n;
}

size_t ike_engine_n_child(const struct ike_engine *e)
{
	size_t n = 0;

	for (const struct ike_sa *sa = e->sas; sa; sa = sa->next)
		if (sa->state != IKE_ST_DEAD)
			for (const struct ike_child *c = sa->children; c; c = c->next)
				n += c->state == CHILD_ST_INSTALLED || c->state == CHILD_ST_REKEYING;
	return n;
}

uint32_t ike_engine_ike_of(const struct ike_engine *e, const char *peer)
{
	for (const struct ike_sa *sa = e->sas; sa; sa = sa->next)
		if (sa->state == IKE_ST_ESTABLISHED && sa->peer && !strcmp(sa->peer->name, peer))
			return sa->id;
	return 0;
}

uint64_t ike_engine_counter(const struct ike_engine *e, const char *short_name)
{
	for (int i = 0; i < IKE_C_MAX; i++)
		if (!strcmp(ctr_defs[i].name, short_name))
			return e->ctr[i].value;
	return UINT64_MAX;
}

/* ---- tables -------------------------------------------------------------------- */

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

static json_t *dump_ike(void *arg)
{
	struct ike_engine *e = arg;
	json_t *a = json_array();

	for (struct ike_sa *sa = e->sas; sa; sa = sa->next) {
		char si[17], sr[17], rem[INET6_ADDRSTRLEN + 8], loc[INET6_ADDRSTRLEN + 8];
		char suite[96], id[300];
		size_t nc = 0;

		for (struct ike_child *c = sa->children; c; c = c->next)
			nc++;
		hex(sa->spi_i, 8, si);
		hex(sa->spi_r, 8, sr);
		json_array_append_new(a, json_pack(
			"{s:i, s:s, s:s, s:b, s:s, s:s, s:s, s:i, s:i, s:s, s:s, s:i, s:b, s:b, s:I, s:I}",
			"id", (json_int_t)sa->id, "peer", sa->peer ? sa->peer->name : "",
			"state", ike_state_name(sa->state), "initiator", sa->initiator,
			"spi_i", si, "spi_r", sr,
			"local", ip_addr_fmt(&sa->path.local, loc, sizeof(loc)),
			"local_port", (json_int_t)sa->path.lport, "remote_port", (json_int_t)sa->path.rport,
			"remote", ip_addr_fmt(&sa->path.remote, rem, sizeof(rem)),
			"suite", sa->keyed ? ike_suite_fmt(&sa->suite, true, suite, sizeof(suite)) : "",
			"children", (json_int_t)nc, "nat_local", sa->nat_local, "nat_remote", sa->nat_remote,
			"tx_mid", (json_int_t)sa->tx_mid, "rx_mid", (json_int_t)sa->rx_mid));
		json_object_set_new(json_array_get(a, json_array_size(a) - 1), "peer_id",
				    json_string(ike_id_fmt(&sa->peer_id, id, sizeof(id))));
	}
	return a;
}

static json_t *dump_child(void *arg)
{
	static const char *const st[] = { "installed", "rekeying", "rekeyed", "deleting" };
	struct ike_engine *e = arg;
	json_t *a = json_array();

	for (struct ike_sa *sa = e->sas; sa; sa = sa->next)
		for (struct ike_child *c = sa->children; c; c = c->next) {
			char si[9], so[9], suite[96];

			snprintf(si, sizeof(si), "%08x", c->spi_in);
			snprintf(so, sizeof(so), "%08x", c->spi_out);
			json_array_append_new(a, json_pack(
				"{s:i, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i}",
				"id", (json_int_t)c->id, "ike_sa", (json_int_t)sa->id,
				"peer", sa->peer ? sa->peer->name : "", "state", st[c->state],
				"spi_in", si, "spi_out", so,
				"suite", ike_suite_fmt(&c->suite, false, suite, sizeof(suite)),
				"mode", sa_mode_name(c->mode),
				"local_ts", (json_int_t)c->local_ts.n, "remote_ts", (json_int_t)c->remote_ts.n));
		}
	return a;
}
