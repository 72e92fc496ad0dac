/* IKE_AUTH (RFC 7296 §1.2, §2.15): identities, certificates and
 * certificate requests, AUTH by PSK or RFC 7427 signature, and the first
 * CHILD SA with traffic selector narrowing and USE_TRANSPORT_MODE. */
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "core/log.h"
#include "ikev2/ike_sa.h"

#define AUTH_MAX 1024

/* The payloads of an IKE_AUTH message. */
struct auth_msg {
	const struct ikev2_payload *idi, *idr, *auth;
	const struct ikev2_payload *cert[8];
	size_t n_cert;
	bool has_certreq, transport, child, initial_contact;
	uint16_t error;		/* first error notify */
};

static bool auth_collect(const struct ikev2_chain *c, struct auth_msg *a, const char **why)
{
	struct wire_error werr;

	memset(a, 0, sizeof(*a));
	for (size_t i = 0; i < c->n; i++) {
		const struct ikev2_payload *p = &c->pl[i];
		struct ikev2_notify n;

		switch (p->type) {
		case IKEV2_PL_IDI:
		case IKEV2_PL_IDR:
		case IKEV2_PL_AUTH: {
			const struct ikev2_payload **slot = p->type == IKEV2_PL_IDI ? &a->idi :
							    p->type == IKEV2_PL_IDR ? &a->idr : &a->auth;

			if (*slot) {
				*why = "duplicate ID or AUTH payload";
				return false;
			}
			*slot = p;
			break;
		}
		case IKEV2_PL_CERT:
			if (a->n_cert < 8)
				a->cert[a->n_cert++] = p;
			break;
		case IKEV2_PL_CERTREQ:
			a->has_certreq = true;
			break;
		case IKEV2_PL_SA:
		case IKEV2_PL_TSI:
		case IKEV2_PL_TSR:
			a->child = true;
			break;
		case IKEV2_PL_NOTIFY:
			if (ikev2_notify_parse(p, &n, &werr) != WIRE_OK) {
				*why = "notify does not parse";
				return false;
			}
			if (n.type == IKEV2_N_USE_TRANSPORT_MODE)
				a->transport = true;
			else if (n.type == IKEV2_N_INITIAL_CONTACT)
				a->initial_contact = true;
			else if (ike_notify_is_error(n.type) && !a->error)
				a->error = n.type;
			break;
		case IKEV2_PL_KE:
		case IKEV2_PL_NONCE:
			*why = "KE or Nonce payload in IKE_AUTH";
			return false;
		default:
			break;
		}
	}
	return true;
}

static void id_local(const struct ike_sa *sa, struct ike_id *id)
{
	if (sa->peer->local_id.type)
		*id = sa->peer->local_id;
	else if (sa->e->local_id.type)
		*id = sa->e->local_id;
	else {
		memset(id, 0, sizeof(*id));
		id->type = sa->path.local.family == AF_INET ? IKEV2_ID_IPV4_ADDR : IKEV2_ID_IPV6_ADDR;
		id->len = ip_addr_len(&sa->path.local);
		memcpy(id->data, sa->path.local.bytes, id->len);
	}
}

/* RestOfID body: type, three reserved octets, data. */
static size_t id_body(const struct ike_id *id, uint8_t *out)
{
	out[0] = id->type;
	out[1] = out[2] = out[3] = 0;
	memcpy(out + 4, id->data, id->len);
	return 4 + id->len;
}

static int hash_choice(const struct ike_sa *sa)
{
	if (sa->peer_hashes & (1u << IKE_HASH_SHA256) || !sa->peer_hashes)
		return IKE_HASH_SHA256;
	if (sa->peer_hashes & (1u << IKE_HASH_SHA384))
		return IKE_HASH_SHA384;
	return IKE_HASH_SHA512;
}

/* Our AUTH payload: method and data. `initiator`: the side we speak for. */
static int auth_make(struct ike_sa *sa, const struct ike_id *id, uint8_t *method, uint8_t *out,
		     size_t *outlen)
{
	struct ike_engine *e = sa->e;
	bool i = sa->initiator;
	const uint8_t *real = i ? sa->init_i : sa->init_r;
	size_t rlen = i ? sa->init_i_len : sa->init_r_len;
	const uint8_t *nonce = i ? sa->nr : sa->ni;
	size_t nlen = i ? sa->nr_len : sa->ni_len;
	uint8_t body[4 + IKE_ID_MAX];
	size_t blen = id_body(id, body), cap = rlen + nlen + IKE_KEY_MAX, olen;
	uint8_t *oct = malloc(cap);
	char err[160] = "";
	int ret = -1;

	if (!oct)
		return -1;
	olen = ike_auth_octets(sa->suite.prf, i ? sa->keys.sk_pi : sa->keys.sk_pr, sa->keys.prf_len,
			       real, rlen, nonce, nlen, body, blen, oct, cap);
	if (!olen)
		goto out;
	if (sa->peer->local_auth == IKE_AUTH_PSK) {
		*method = IKEV2_AUTH_PSK;
		ret = ike_auth_psk(sa->suite.prf, sa->peer->psk, sa->peer->psk_len, oct, olen, out,
				   outlen);
	} else {
		*method = IKEV2_AUTH_DIGITAL_SIG;
		*outlen = e->have_creds && e->creds.key ?
			  ike_auth_sign(e->creds.key, hash_choice(sa), false, oct, olen, out, AUTH_MAX,
					err, sizeof(err)) : 0;
		ret = *outlen ? 0 : -1;
		if (ret)
			log_warn("ike", "cannot sign AUTH sa=%u: %s", sa->id, err[0] ? err : "no key");
	}
out:
	free(oct);
	return ret;
}

static void add_certs(struct ike_sa *sa, struct ikev2_builder *b)
{
	struct ike_engine *e = sa->e;
	uint8_t der[8192];
	size_t l;

	if (sa->peer->local_auth != IKE_AUTH_PUBKEY || !e->have_creds || !e->creds.cert)
		return;
	l = ike_cert_der(e->creds.cert, der, sizeof(der));
	if (l)
		ikev2_add_typed(b, IKEV2_PL_CERT, IKEV2_CERT_X509_SIG, der, l);
	for (int i = 0; e->creds.chain && i < sk_X509_num(e->creds.chain); i++) {
		l = ike_cert_der(sk_X509_value(e->creds.chain, i), der, sizeof(der));
		if (l)
			ikev2_add_typed(b, IKEV2_PL_CERT, IKEV2_CERT_X509_SIG, der, l);
	}
}

static void count_cert_err(struct ike_engine *e, enum ike_cert_err ce)
{
	switch (ce) {
	case IKE_CERT_PARSE:
		ike_count(e, IKE_C_rx_cert_parse);
		break;
	case IKE_CERT_EXPIRED:
		ike_count(e, IKE_C_rx_cert_expired);
		break;
	case IKE_CERT_REVOKED:
		ike_count(e, IKE_C_rx_cert_revoked);
		break;
	case IKE_CERT_ID_MISMATCH:
		ike_count(e, IKE_C_rx_cert_id_mismatch);
		break;
	default:
		ike_count(e, IKE_C_rx_cert_untrusted);
		break;
	}
}

/* Verifies the peer's AUTH payload for identity payload `idp`.
 * 0 when valid; -1 after counting and logging why not. */
static int auth_verify(struct ike_sa *sa, const struct ike_peer_cfg *peer,
		       const struct auth_msg *a, const struct ikev2_payload *idp)
{
	struct ike_engine *e = sa->e;
	bool peer_is_i = !sa->initiator;
	const uint8_t *real = peer_is_i ? sa->init_i : sa->init_r;
	size_t rlen = peer_is_i ? sa->init_i_len : sa->init_r_len;
	const uint8_t *nonce = peer_is_i ? sa->nr : sa->ni;
	size_t nlen = peer_is_i ? sa->nr_len : sa->ni_len;
	size_t cap = rlen + nlen + IKE_KEY_MAX, olen;
	uint8_t *oct = malloc(cap);
	struct ikev2_typed auth, idt;
	struct wire_error werr;
	char err[200] = "", detail[200] = "";
	int ret = -1;
	X509 *leaf = NULL;
	STACK_OF(X509) *chain = NULL;

	if (!oct)
		return -1;
	if (ikev2_typed_parse(a->auth, &auth, &werr) || ikev2_typed_parse(idp, &idt, &werr)) {
		snprintf(err, sizeof(err), "AUTH or ID does not parse");
		goto fail;
	}
	olen = ike_auth_octets(sa->suite.prf, peer_is_i ? sa->keys.sk_pi : sa->keys.sk_pr,
			       sa->keys.prf_len, real, rlen, nonce, nlen, idp->body, idp->body_len,
			       oct, cap);
	if (!olen) {
		snprintf(err, sizeof(err), "cannot compute the signed octets");
		goto fail;
	}
	if (peer->auth == IKE_AUTH_PSK) {
		uint8_t want[IKE_KEY_MAX];
		size_t wl = 0;

		if (auth.type != IKEV2_AUTH_PSK) {
			snprintf(err, sizeof(err), "AUTH method %u, PSK expected", auth.type);
			goto fail;
		}
		if (ike_auth_psk(sa->suite.prf, peer->psk, peer->psk_len, oct, olen, want, &wl) ||
		    wl != auth.len || !ike_auth_psk_equal(want, auth.data, wl)) {
			snprintf(err, sizeof(err), "PSK AUTH value does not match");
			goto fail;
		}
		ret = 0;
		goto out;
	}
	if (auth.type == IKEV2_AUTH_PSK) {
		snprintf(err, sizeof(err), "AUTH by PSK, a signature expected");
		goto fail;
	}
	if (!a->n_cert) {
		snprintf(err, sizeof(err), "no CERT payload");
		goto fail;
	}
	for (size_t i = 0; i < a->n_cert; i++) {
		struct ikev2_typed ct;
		X509 *x;

		if (ikev2_typed_parse(a->cert[i], &ct, &werr) || ct.type != IKEV2_CERT_X509_SIG ||
		    !(x = ike_cert_decode(ct.data, ct.len))) {
			if (i == 0) {
				count_cert_err(e, IKE_CERT_PARSE);
				snprintf(err, sizeof(err), "certificate %zu does not parse", i);
				goto out_failcounted;
			}
			continue;
		}
		if (i == 0) {
			leaf = x;
		} else {
			if (!chain)
				chain = sk_X509_new_null();
			if (!chain || !sk_X509_push(chain, x))
				X509_free(x);
		}
	}
	{
		enum ike_cert_err ce = ike_cert_verify(&e->creds, leaf, chain, 0, detail,
						       sizeof(detail));

		if (ce == IKE_CERT_OK && !ike_cert_matches_id(leaf, idt.type, idt.data, idt.len))
			ce = IKE_CERT_ID_MISMATCH;
		if (ce != IKE_CERT_OK) {
			count_cert_err(e, ce);
			snprintf(err, sizeof(err), "certificate refused: %s%s%s", ike_cert_strerror(ce),
				 detail[0] ? ": " : "", detail);
			goto out_failcounted;
		}
	}
	if (ike_auth_verify(leaf, auth.type, auth.data, auth.len, oct, olen, err, sizeof(err)))
		goto fail;
	ret = 0;
	goto out;
fail:
	ike_count(e, IKE_C_rx_auth_failed);
	log_notice("ike", "authentication failed sa=%u peer=%s: %s", sa->id, peer->name, err);
	goto out;
out_failcounted:
	ike_count(e, IKE_C_rx_auth_failed);
	log_notice("ike", "authentication failed sa=%u peer=%s: %s", sa->id, peer->name, err);
out:
	X509_free(leaf);
	sk_X509_pop_free(chain, X509_free);
	free(oct);
	return ret;
}

static bool id_from_payload(const struct ikev2_payload *p, struct ike_id *id)
{
	struct ikev2_typed t;
	struct wire_error werr;

	if (ikev2_typed_parse(p, &t, &werr) != WIRE_OK || t.len == 0 || t.len > IKE_ID_MAX)
		return false;
	memset(id, 0, sizeof(*id));
	id->type = t.type;
	id->len = t.len;
	memcpy(id->data, t.data, t.len);
	return true;
}

static bool id_eq(const struct ike_id *a, const struct ike_id *b)
{
	return a->type == b->type && a->len == b->len && !memcmp(a->data, b->data, a->len);
}

/* ---- initiator ------------------------------------------------------------------ */

void ike_auth_send(struct ike_sa *sa)
{
	struct ike_engine *e = sa->e;
	struct ike_id id;
	struct ike_child ch;
	struct ikev2_builder b;
	struct wire_error werr;
	uint8_t auth[AUTH_MAX], method = 0;
	size_t alen = 0;
	int n;

	id_local(sa, &id);
	if (auth_make(sa, &id, &method, auth, &alen)) {
		ike_sa_close(sa, "cannot make AUTH");
		return;
	}
	memset(&ch, 0, sizeof(ch));
	do
		ike_random(&sa->auth_child_spi, 4);
	while (sa->auth_child_spi < 256);
	ch.spi_in = sa->auth_child_spi;
	ch.mode = sa->peer->child[0].mode;
	ikev2_build_begin(&b, e->plain, sizeof(e->plain), NULL, &werr);
	ikev2_add_typed(&b, IKEV2_PL_IDI, id.type, id.data, id.len);
	add_certs(sa, &b);
	if (sa->peer->auth == IKE_AUTH_PUBKEY && e->have_creds && e->creds.certreq_len)
		ikev2_add_typed(&b, IKEV2_PL_CERTREQ, IKEV2_CERT_X509_SIG, e->creds.certreq,
				e->creds.certreq_len);
	if (sa->peer->remote_id.type)
		ikev2_add_typed(&b, IKEV2_PL_IDR, sa->peer->remote_id.type, sa->peer->remote_id.data,
				sa->peer->remote_id.len);
	ikev2_add_typed(&b, IKEV2_PL_AUTH, method, auth, alen);
	if (!ike_engine_ike_of(e, sa->peer->name))
		ikev2_add_notify(&b, 0, NULL, 0, IKEV2_N_INITIAL_CONTACT, NULL, 0);
	ike_child_add_payloads(sa, &b, &ch, true);
	n = ikev2_build_end(&b);
	if (n < 0 || ike_msg_protect(sa, IKEV2_IKE_AUTH, false, sa->tx_mid, b.first, e->plain,
				     (size_t)n, &sa->req)) {
		log_warn("ike", "cannot build IKE_AUTH sa=%u: %s", sa->id, n < 0 ? werr.msg : "SK");
		ike_sa_close(sa, "build failed");
		return;
	}
	sa->tx_mid++;
	ike_sa_set_state(sa, IKE_ST_AUTH_SENT);
	log_info("ike", "IKE_AUTH sent sa=%u peer=%s fragments=%zu", sa->id, sa->peer->name,
		 sa->req.n);
	ike_sa_send_req(sa, IKE_T_AUTH);
}

void ike_auth_response(struct ike_sa *sa, const struct ikev2_chain *c)
{
	struct ike_engine *e = sa->e;
	struct auth_msg a;
	const char *why = NULL;
	struct ike_id rid;
	struct ike_child *ch;
	uint16_t notify = 0;

	ike_sa_req_done(sa);
	if (!auth_collect(c, &a, &why)) {
		ike_count(e, IKE_C_rx_invalid_syntax);
		log_notice("ike", "IKE_AUTH response refused sa=%u: %s", sa->id, why);
		ike_sa_close(sa, "bad IKE_AUTH response");
		return;
	}
	if (!a.idr || !a.auth) {
		if (a.error)
			ike_count_rx_notify(e, a.error);
		else
			ike_count(e, IKE_C_rx_invalid_syntax);
		log_notice("ike", "IKE_AUTH refused by the peer sa=%u notify=%u", sa->id, a.error);
		ike_sa_close(sa, "IKE_AUTH refused");
		return;
	}
	if (!id_from_payload(a.idr, &rid) ||
	    (sa->peer->remote_id.type && !id_eq(&rid, &sa->peer->remote_id))) {
		char b1[300];

		ike_count(e, IKE_C_rx_auth_failed);
		log_notice("ike", "responder identity %s is not the configured one sa=%u",
			   ike_id_fmt(&rid, b1, sizeof(b1)), sa->id);
		ike_sa_close(sa, "wrong responder identity");
		return;
	}
	if (auth_verify(sa, sa->peer, &a, a.idr)) {
		ike_sa_close(sa, "responder authentication failed");
		return;
	}
	sa->peer_id = rid;
	sa->peer_authed = true;
	ike_sa_established(sa);
	/* The other child policies come with CREATE_CHILD_SA. */
	for (size_t i = 1; i < sa->peer->n_child; i++)
		ike_sa_task(sa, IKE_T_CHILD_NEW, (uint32_t)i);
	if (a.error || !a.child) {
		if (a.error)
			ike_count_rx_notify(e, a.error);
		log_notice("ike", "no CHILD SA from IKE_AUTH sa=%u notify=%u", sa->id, a.error);
		return;
	}
	ch = ike_child_new(sa);
	if (!ch)
		return;
	ch->spi_in = sa->auth_child_spi;
	ch->mode = sa->peer->child[0].mode;
	if (ike_child_check_answer(sa, c, ch, &notify) ||
	    ike_child_install(sa, ch, true, NULL, 0, sa->ni, sa->ni_len, sa->nr, sa->nr_len, 0)) {
		log_notice("ike", "CHILD SA of IKE_AUTH refused sa=%u", sa->id);
		ike_child_remove_unlinked(ch);
	}
}

/* ---- responder ------------------------------------------------------------------ */

static bool method_fits(const struct ike_peer_cfg *p, uint8_t method)
{
	return p->auth == IKE_AUTH_PSK ? method == IKEV2_AUTH_PSK : method != IKEV2_AUTH_PSK;
}

/* The configured peer for identity `id` reached over sa->path. */
static const struct ike_peer_cfg *peer_for(struct ike_sa *sa, const struct ike_id *id,
					   uint8_t method)
{
	const struct ike_config *cfg = sa->e->cfg;

	/* The peer chosen at IKE_SA_INIT first (its proposals were used). */
	if (sa->peer && method_fits(sa->peer, method) &&
	    (sa->peer->remote_id.type ? id_eq(&sa->peer->remote_id, id) :
					sa->peer->auth == IKE_AUTH_PUBKEY))
		return sa->peer;
	for (size_t i = 0; i < cfg->n_peers; i++) {
		const struct ike_peer_cfg *p = &cfg->peers[i];

		if (!p->remote_any && !ip_addr_eq(&p->remote, &sa->path.remote))
			continue;
		if (!method_fits(p, method))
			continue;
		if (p->remote_id.type ? id_eq(&p->remote_id, id) : p->auth == IKE_AUTH_PUBKEY)
			return p;
	}
	return NULL;
}

/* INITIAL_CONTACT (§3.10.1): the peer lost its state; its older IKE SAs
 * (and their children) are gone, without exchange. */
static void initial_contact(struct ike_sa *sa)
{
	for (struct ike_sa *o = sa->e->sas; o; o = o->next)
		if (o != sa && o->peer == sa->peer && o->peer_authed && o->state != IKE_ST_DEAD &&
		    id_eq(&o->peer_id, &sa->peer_id))
			ike_sa_close(o, "INITIAL_CONTACT from the peer");
}

static void auth_fail(struct ike_sa *sa, uint32_t mid, const char *why)
{
	ike_respond_error(sa, IKEV2_IKE_AUTH, mid, IKEV2_N_AUTHENTICATION_FAILED, NULL, 0);
	ike_sa_close(sa, why);
}

void ike_auth_request(struct ike_sa *sa, uint32_t mid, const struct ikev2_chain *c)
{
	struct ike_engine *e = sa->e;
	const struct ike_peer_cfg *peer;
	struct auth_msg a;
	struct ike_id pid, lid, want;
	struct ikev2_typed at;
	struct wire_error werr;
	struct ikev2_builder b;
	struct ike_child *ch = NULL;
	uint8_t auth[AUTH_MAX], method = 0;
	size_t alen = 0;
	uint16_t child_err = 0;
	const char *why = NULL;
	char idb[300];
	int n;

	if (!auth_collect(c, &a, &why) || !a.idi || !a.auth || !id_from_payload(a.idi, &pid) ||
	    ikev2_typed_parse(a.auth, &at, &werr)) {
		ike_count(e, IKE_C_rx_invalid_syntax);
		log_notice("ike", "IKE_AUTH refused sa=%u: %s", sa->id,
			   why ? why : "IDi or AUTH missing or malformed");
		ike_respond_error(sa, IKEV2_IKE_AUTH, mid, IKEV2_N_INVALID_SYNTAX, NULL, 0);
		ike_sa_close(sa, "malformed IKE_AUTH");
		return;
	}
	peer = peer_for(sa, &pid, at.type);
	if (!peer) {
		ike_count(e, IKE_C_rx_no_peer);
		ike_count(e, IKE_C_rx_auth_failed);
		log_notice("ike", "no peer configured for identity %s (AUTH method %u) sa=%u",
			   ike_id_fmt(&pid, idb, sizeof(idb)), at.type, sa->id);
		auth_fail(sa, mid, "unknown peer identity");
		return;
	}
	if (auth_verify(sa, peer, &a, a.idi)) {
		auth_fail(sa, mid, "initiator authentication failed");
		return;
	}
	sa->peer = peer;
	sa->peer_id = pid;
	sa->peer_authed = true;
	if (a.initial_contact)
		initial_contact(sa);
	id_local(sa, &lid);
	/* IDr names who the initiator wants; we answer with our identity. */
	if (a.idr && id_from_payload(a.idr, &want) && !id_eq(&want, &lid))
		log_info("ike", "initiator asked for identity %s, answering as ours sa=%u",
			 ike_id_fmt(&want, idb, sizeof(idb)), sa->id);
	if (auth_make(sa, &lid, &method, auth, &alen)) {
		ike_respond_error(sa, IKEV2_IKE_AUTH, mid, IKEV2_N_AUTHENTICATION_FAILED, NULL, 0);
		ike_sa_close(sa, "cannot make AUTH");
		return;
	}
	if (a.child) {
		ch = ike_child_new(sa);
		if (ch && ike_child_pick(sa, c, ch, false, &child_err)) {
			ike_child_remove_unlinked(ch);
			ch = NULL;
		}
	}
	ikev2_build_begin(&b, e->plain, sizeof(e->plain), NULL, &werr);
	ikev2_add_typed(&b, IKEV2_PL_IDR, lid.type, lid.data, lid.len);
	add_certs(sa, &b);
	ikev2_add_typed(&b, IKEV2_PL_AUTH, method, auth, alen);
	if (ch)
		ike_child_add_payloads(sa, &b, ch, false);
	else if (child_err)
		ikev2_add_notify(&b, 0, NULL, 0, child_err, NULL, 0);
	n = ikev2_build_end(&b);
	if (n < 0 || ike_msg_respond(sa, IKEV2_IKE_AUTH, mid, b.first, e->plain, (size_t)n)) {
		log_warn("ike", "cannot build IKE_AUTH response sa=%u", sa->id);
		if (ch)
			ike_child_remove_unlinked(ch);
		ike_sa_close(sa, "build failed");
		return;
	}
	ike_sa_established(sa);
	if (ch && ike_child_install(sa, ch, false, NULL, 0, sa->ni, sa->ni_len, sa->nr, sa->nr_len, 0))
		ike_child_remove_unlinked(ch);
}
