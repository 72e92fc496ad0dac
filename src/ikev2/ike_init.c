/* IKE_SA_INIT (RFC 7296 §1.2): proposals, KE, nonces, cookies (§2.6),
 * INVALID_KE_PAYLOAD renegotiation (§1.2), NAT detection (§2.23) and the
 * announcements of fragmentation (RFC 7383 §2.3) and signature hashes
 * (RFC 7427 §4). */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/log.h"
#include "ikev2/ike_sa.h"

#define COOKIE_ROTATE_MS	120000
#define MAX_INIT_RETRIES	4	/* cookie and INVALID_KE round trips */

static const uint8_t sig_hashes[] = { 0, IKE_HASH_SHA256, 0, IKE_HASH_SHA384, 0, IKE_HASH_SHA512 };

void ike_nat_hash(const uint8_t spi_i[8], const uint8_t spi_r[8], const struct ip_addr *a,
		  uint16_t port, uint8_t out[20])
{
	uint8_t buf[8 + 8 + 16 + 2];
	size_t al = ip_addr_len(a);
	unsigned int ol = 20;

	memcpy(buf, spi_i, 8);
	memcpy(buf + 8, spi_r, 8);
	memcpy(buf + 16, a->bytes, al);
	put_be16(buf + 16 + al, port);
	EVP_Digest(buf, 18 + al, out, &ol, EVP_sha1(), NULL);
}

void ike_cookie_rotate(void *arg)
{
	struct ike_engine *e = arg;

	memcpy(e->cookie_secret[1], e->cookie_secret[0], sizeof(e->cookie_secret[0]));
	ike_random(e->cookie_secret[0], sizeof(e->cookie_secret[0]));
	e->cookie_version++;
	timer_arm_ms(&e->cookie_timer, COOKIE_ROTATE_MS);
}

/* Cookie = <version of the secret> | prf(secret, Ni | IPi | SPIi) (§2.6). */
static size_t cookie_make(struct ike_engine *e, uint8_t version, const uint8_t *ni, size_t nilen,
			  const struct ip_addr *ip, const uint8_t spi_i[8], uint8_t *out)
{
	uint8_t data[IKEV2_NONCE_MAX + 16 + 8];
	const uint8_t *secret = e->cookie_secret[version == e->cookie_version ? 0 : 1];
	size_t al = ip_addr_len(ip);

	memcpy(data, ni, nilen);
	memcpy(data + nilen, ip->bytes, al);
	memcpy(data + nilen + al, spi_i, 8);
	out[0] = version;
	if (ike_prf(IKE_PRF_HMAC_SHA2_256, secret, 32, data, nilen + al + 8, out + 1))
		return 0;
	return 1 + 32;
}

static void add_nat_notifies(struct ikev2_builder *b, const struct ike_sa *sa,
			     const uint8_t spi_r[8])
{
	uint8_t h[20];

	ike_nat_hash(sa->spi_i, spi_r, &sa->path.local, sa->path.lport, h);
	ikev2_add_notify(b, 0, NULL, 0, IKEV2_N_NAT_DETECTION_SOURCE_IP, h, 20);
	ike_nat_hash(sa->spi_i, spi_r, &sa->path.remote, sa->path.rport, h);
	ikev2_add_notify(b, 0, NULL, 0, IKEV2_N_NAT_DETECTION_DESTINATION_IP, h, 20);
}

static uint8_t *dup_msg(const uint8_t *m, size_t len)
{
	uint8_t *d = malloc(len);

	if (d)
		memcpy(d, m, len);
	return d;
}

void ike_init_send(struct ike_sa *sa)
{
	struct ike_engine *e = sa->e;
	static const uint8_t zero[8];
	struct ikev2_hdr h = { .major = 2, .exchange = IKEV2_IKE_SA_INIT, .flags = IKEV2_FLAG_I };
	uint8_t pub[IKE_DH_PUB_MAX];
	struct ikev2_builder b;
	struct ikev2_sa sap;
	struct wire_error werr;
	size_t plen;
	char err[160];
	int n;

	if (!sa->dh_group)
		sa->dh_group = ike_props_first_dh(&sa->peer->ike_props);
	if (!sa->dh || ike_dh_group(sa->dh) != sa->dh_group) {
		ike_dh_free(sa->dh);
		sa->dh = ike_dh_new(sa->dh_group, err, sizeof(err));
		if (!sa->dh) {
			log_warn("ike", "no DH key pair sa=%u: %s", sa->id, err);
			ike_sa_close(sa, "no DH key");
			return;
		}
	}
	if (!sa->ni_len) {
		sa->ni_len = IKE_NONCE_LEN;
		ike_random(sa->ni, sa->ni_len);
	}
	plen = ike_dh_public(sa->dh, pub, sizeof(pub));
	memcpy(h.spi_i, sa->spi_i, 8);
	ikev2_build_begin(&b, e->buf, sizeof(e->buf), &h, &werr);
	if (sa->cookie_len)
		ikev2_add_notify(&b, 0, NULL, 0, IKEV2_N_COOKIE, sa->cookie, sa->cookie_len);
	ike_props_to_sa(&sa->peer->ike_props, IKEV2_PROTO_IKE, NULL, 0, sa->dh_group, false, &sap);
	ikev2_add_sa(&b, &sap);
	ikev2_add_ke(&b, sa->dh_group, pub, plen);
	ikev2_add_nonce(&b, sa->ni, sa->ni_len);
	add_nat_notifies(&b, sa, zero);
	ikev2_add_notify(&b, 0, NULL, 0, IKEV2_N_IKEV2_FRAGMENTATION_SUPPORTED, NULL, 0);
	ikev2_add_notify(&b, 0, NULL, 0, IKEV2_N_SIGNATURE_HASH_ALGORITHMS, sig_hashes,
			 sizeof(sig_hashes));
	n = ikev2_build_end(&b);
	if (n < 0 || !plen) {
		log_warn("ike", "cannot build IKE_SA_INIT sa=%u: %s", sa->id, werr.msg);
		ike_sa_close(sa, "build failed");
		return;
	}
	free(sa->init_i);
	sa->init_i = dup_msg(e->buf, (size_t)n);
	sa->init_i_len = (size_t)n;
	ike_out_clear(&sa->req);
	sa->req.dgram[0] = dup_msg(e->buf, (size_t)n);
	sa->req.len[0] = (size_t)n;
	sa->req.n = 1;
	sa->tx_mid = 1;
	ike_sa_set_state(sa, IKE_ST_INIT_SENT);
	log_info("ike", "IKE_SA_INIT sent sa=%u peer=%s group=%u%s", sa->id, sa->peer->name,
		 sa->dh_group, sa->cookie_len ? " cookie" : "");
	ike_sa_send_req(sa, IKE_T_INIT);
}

/* The notifies of an IKE_SA_INIT message that matter here. */
struct init_notes {
	const struct ikev2_notify *cookie;
	struct ikev2_notify nv[IKEV2_MAX_PAYLOADS];
	size_t n;
	uint16_t error;
	const uint8_t *error_data;
	size_t error_len;
	bool frag, nat_src_seen, nat_dst_seen;
	bool childless;			/* RFC 6023 CHILDLESS_IKEV2_SUPPORTED */
	uint8_t hashes;
};

/* RFC 6023: the initiator may leave the CHILD SA out of IKE_AUTH (the
 * responder needs nothing more than to answer IKE_AUTH without one,
 * which ike_auth_request does); we announce it when asked. */
#define IKE_N_CHILDLESS_SUPPORTED 16418

static bool init_notes(const struct ikev2_chain *c, struct init_notes *nn)
{
	struct wire_error werr;

	memset(nn, 0, sizeof(*nn));
	for (size_t i = 0; i < c->n; i++) {
		struct ikev2_notify *v = &nn->nv[nn->n];

		if (c->pl[i].type != IKEV2_PL_NOTIFY)
			continue;
		if (ikev2_notify_parse(&c->pl[i], v, &werr) != WIRE_OK)
			return false;
		nn->n++;
		if (v->type == IKEV2_N_COOKIE)
			nn->cookie = v;
		else if (v->type == IKEV2_N_IKEV2_FRAGMENTATION_SUPPORTED)
			nn->frag = true;
		else if (v->type == IKE_N_CHILDLESS_SUPPORTED)
			nn->childless = true;
		else if (v->type == IKEV2_N_SIGNATURE_HASH_ALGORITHMS)
			for (size_t k = 0; k + 1 < v->len; k += 2) {
				uint16_t hh = get_be16(v->data + k);

				if (hh < 8)
					nn->hashes |= (uint8_t)(1u << hh);
			}
		else if (ike_notify_is_error(v->type) && !nn->error) {
			nn->error = v->type;
			nn->error_data = v->data;
			nn->error_len = v->len;
		}
	}
	return true;
}

/* NAT detection: `spi_r` as in the message that carried the hashes. */
static void nat_detect(struct ike_sa *sa, const struct init_notes *nn, const uint8_t spi_r[8])
{
	uint8_t hs[20], hd[20];
	bool src_seen = false, src_ok = false, dst_seen = false, dst_ok = false;

	ike_nat_hash(sa->spi_i, spi_r, &sa->path.remote, sa->path.rport, hs);
	ike_nat_hash(sa->spi_i, spi_r, &sa->path.local, sa->path.lport, hd);
	for (size_t i = 0; i < nn->n; i++) {
		const struct ikev2_notify *v = &nn->nv[i];

		if (v->type == IKEV2_N_NAT_DETECTION_SOURCE_IP) {
			src_seen = true;
			src_ok |= v->len == 20 && !memcmp(v->data, hs, 20);
		} else if (v->type == IKEV2_N_NAT_DETECTION_DESTINATION_IP) {
			dst_seen = true;
			dst_ok |= v->len == 20 && !memcmp(v->data, hd, 20);
		}
	}
	sa->nat_remote = src_seen && !src_ok;
	sa->nat_local = dst_seen && !dst_ok;
	if (sa->nat_remote || sa->nat_local) {
		ike_count(sa->e, IKE_C_nat_detected);
		log_info("ike", "NAT detected sa=%u local=%d remote=%d", sa->id, sa->nat_local,
			 sa->nat_remote);
	}
}

static bool peer_remote_ok(const struct ike_peer_cfg *p, const struct ike_path *path)
{
	return p->remote_any || ip_addr_eq(&p->remote, &path->remote);
}

struct init_req {
	struct ikev2_sa sa;
	struct ikev2_ke ke;
	const uint8_t *ni;
	size_t ni_len;
	bool childless;			/* answer CHILDLESS_IKEV2_SUPPORTED */
};

static bool init_payloads(const struct ikev2_chain *c, struct init_req *r, const char **why)
{
	const struct ikev2_payload *psa = NULL, *pke = NULL, *pn = NULL;
	struct wire_error werr;

	for (size_t i = 0; i < c->n; i++) {
		const struct ikev2_payload *p = &c->pl[i];
		const struct ikev2_payload **slot = p->type == IKEV2_PL_SA ? &psa :
						    p->type == IKEV2_PL_KE ? &pke :
						    p->type == IKEV2_PL_NONCE ? &pn : NULL;

		if (p->type == IKEV2_PL_SK || p->type == IKEV2_PL_SKF || p->type == IKEV2_PL_AUTH ||
		    p->type == IKEV2_PL_IDI || p->type == IKEV2_PL_IDR) {
			*why = "payload not allowed in IKE_SA_INIT";
			return false;
		}
		if (!slot)
			continue;
		if (*slot) {
			*why = "duplicate SA, KE or Nonce payload";
			return false;
		}
		*slot = p;
	}
	if (!psa || !pke || !pn) {
		*why = !psa ? "no SA payload" : !pke ? "no KE payload" : "no Nonce payload";
		return false;
	}
	if (ikev2_sa_parse(psa, &r->sa, &werr) || ikev2_ke_parse(pke, &r->ke, &werr) ||
	    ikev2_nonce_parse(pn, &r->ni, &r->ni_len, &werr)) {
		*why = "payload does not parse";
		return false;
	}
	return true;
}

static bool cookie_valid(struct ike_engine *e, const struct init_notes *nn, const struct init_req *r,
			 const struct ike_path *path, const uint8_t spi_i[8])
{
	uint8_t want[IKE_COOKIE_LEN];
	size_t wl;

	if (!nn->cookie || nn->cookie->len != IKE_COOKIE_LEN)
		return false;
	if (nn->cookie->data[0] != e->cookie_version &&
	    nn->cookie->data[0] != (uint8_t)(e->cookie_version - 1))
		return false;
	wl = cookie_make(e, nn->cookie->data[0], r->ni, r->ni_len, &path->remote, spi_i, want);
	return wl == IKE_COOKIE_LEN && CRYPTO_memcmp(want, nn->cookie->data, wl) == 0;
}

static const struct ike_peer_cfg *select_peer(struct ike_engine *e, const struct ike_path *path,
					      const struct init_req *r, struct ike_suite *sel,
					      size_t *pidx, bool *any_peer)
{
	*any_peer = false;
	for (size_t i = 0; i < e->cfg->n_peers; i++) {
		const struct ike_peer_cfg *p = &e->cfg->peers[i];

		if (!peer_remote_ok(p, path))
			continue;
		*any_peer = true;
		if (!ike_props_select(&p->ike_props, &r->sa, IKEV2_PROTO_IKE, true, sel, pidx))
			return p;
	}
	return NULL;
}

static void respond_init(struct ike_sa *sa, const struct init_req *r, size_t pidx, bool want_frag,
			 bool want_hashes)
{
	struct ike_engine *e = sa->e;
	struct ikev2_hdr h = { .major = 2, .exchange = IKEV2_IKE_SA_INIT, .flags = IKEV2_FLAG_R };
	uint8_t pub[IKE_DH_PUB_MAX];
	struct ikev2_builder b;
	struct ikev2_sa sap;
	struct wire_error werr;
	size_t plen = ike_dh_public(sa->dh, pub, sizeof(pub));
	int n;

	memcpy(h.spi_i, sa->spi_i, 8);
	memcpy(h.spi_r, sa->spi_r, 8);
	ikev2_build_begin(&b, e->buf, sizeof(e->buf), &h, &werr);
	ike_suite_to_sa(&sa->suite, r->sa.prop[pidx].num, IKEV2_PROTO_IKE, NULL, 0, &sap);
	ikev2_add_sa(&b, &sap);
	ikev2_add_ke(&b, sa->suite.dh, pub, plen);
	ikev2_add_nonce(&b, sa->nr, sa->nr_len);
	add_nat_notifies(&b, sa, sa->spi_r);
	if (e->have_creds && e->creds.certreq_len)
		ikev2_add_typed(&b, IKEV2_PL_CERTREQ, IKEV2_CERT_X509_SIG, e->creds.certreq,
				e->creds.certreq_len);
	if (want_frag)
		ikev2_add_notify(&b, 0, NULL, 0, IKEV2_N_IKEV2_FRAGMENTATION_SUPPORTED, NULL, 0);
	if (want_hashes)
		ikev2_add_notify(&b, 0, NULL, 0, IKEV2_N_SIGNATURE_HASH_ALGORITHMS, sig_hashes,
				 sizeof(sig_hashes));
	if (r->childless)
		ikev2_add_notify(&b, 0, NULL, 0, IKE_N_CHILDLESS_SUPPORTED, NULL, 0);
	n = ikev2_build_end(&b);
	if (n < 0) {
		log_warn("ike", "cannot build IKE_SA_INIT response: %s", werr.msg);
		ike_sa_close(sa, "build failed");
		return;
	}
	sa->init_r = dup_msg(e->buf, (size_t)n);
	sa->init_r_len = (size_t)n;
	ike_out_clear(&sa->resp);
	sa->resp.dgram[0] = dup_msg(e->buf, (size_t)n);
	sa->resp.len[0] = (size_t)n;
	sa->resp.n = 1;
	sa->resp_valid = true;
	sa->rx_mid = 1;
	ike_sa_send_out(sa, &sa->resp);
}

void ike_init_request(struct ike_engine *e, const struct ike_path *path, uint8_t *msg,
		      size_t len, const struct ikev2_msg *m)
{
	struct init_notes nn;
	struct init_req r;
	const struct ike_peer_cfg *peer;
	struct ike_suite sel;
	struct ike_sa *sa;
	uint8_t gir[IKE_DH_PUB_MAX], grp[2];
	size_t pidx = 0, girlen;
	const char *why = NULL;
	char err[160];
	bool any_peer;

	if (m->hdr.message_id != 0 || !init_notes(&m->chain, &nn) ||
	    !init_payloads(&m->chain, &r, &why)) {
		ike_count(e, IKE_C_rx_invalid_syntax);
		log_info("ike", "IKE_SA_INIT refused: %s", why ? why : "bad message ID or notify");
		ike_send_plain_notify(e, path, &m->hdr, IKEV2_N_INVALID_SYNTAX, NULL, 0);
		return;
	}
	if (ike_sa_count_half_open(e) >= e->cfg->cookie_threshold &&
	    !cookie_valid(e, &nn, &r, path, m->hdr.spi_i)) {
		uint8_t ck[IKE_COOKIE_LEN];
		size_t cl = cookie_make(e, e->cookie_version, r.ni, r.ni_len, &path->remote,
					m->hdr.spi_i, ck);

		if (nn.cookie)
			ike_count(e, IKE_C_rx_bad_cookie);
		ike_count(e, IKE_C_tx_cookie);
		log_debug("ike", "cookie demanded (half-open=%zu)", ike_sa_count_half_open(e));
		if (cl)
			ike_send_plain_notify(e, path, &m->hdr, IKEV2_N_COOKIE, ck, cl);
		return;
	}
	peer = select_peer(e, path, &r, &sel, &pidx, &any_peer);
	if (!peer) {
		ike_count(e, any_peer ? IKE_C_rx_no_proposal : IKE_C_rx_no_peer);
		log_info("ike", "IKE_SA_INIT refused: %s",
			 any_peer ? "no acceptable proposal" : "no peer configured for this address");
		ike_send_plain_notify(e, path, &m->hdr, IKEV2_N_NO_PROPOSAL_CHOSEN, NULL, 0);
		return;
	}
	if (r.ke.group != sel.dh) {
		ike_count(e, IKE_C_rx_invalid_ke);
		log_info("ike", "IKE_SA_INIT: KE group %u, we want %u", r.ke.group, sel.dh);
		put_be16(grp, sel.dh);
		ike_send_plain_notify(e, path, &m->hdr, IKEV2_N_INVALID_KE_PAYLOAD, grp, 2);
		return;
	}
	sa = ike_sa_new(e, false, path);
	if (!sa)
		return;
	sa->peer = peer;
	sa->suite = sel;
	memcpy(sa->spi_i, m->hdr.spi_i, 8);
	memcpy(sa->ni, r.ni, r.ni_len);
	sa->ni_len = r.ni_len;
	sa->nr_len = IKE_NONCE_LEN;
	ike_random(sa->nr, sa->nr_len);
	sa->dh = ike_dh_new(sel.dh, err, sizeof(err));
	girlen = sa->dh ? ike_dh_shared(sa->dh, r.ke.data, r.ke.len, gir, sizeof(gir), err,
					sizeof(err)) : 0;
	if (!girlen) {
		ike_count(e, IKE_C_rx_invalid_syntax);
		log_info("ike", "IKE_SA_INIT: KE refused: %s", err);
		ike_send_plain_notify(e, path, &m->hdr, IKEV2_N_INVALID_SYNTAX, NULL, 0);
		ike_sa_free(sa);
		return;
	}
	if (ike_keys_derive(&sa->suite, sa->ni, sa->ni_len, sa->nr, sa->nr_len, gir, girlen,
			    sa->spi_i, sa->spi_r, &sa->keys)) {
		OPENSSL_cleanse(gir, sizeof(gir));
		ike_sa_free(sa);
		return;
	}
	OPENSSL_cleanse(gir, sizeof(gir));
	sa->keyed = true;
	nat_detect(sa, &nn, m->hdr.spi_r);
	sa->frag_ok = nn.frag;
	sa->peer_hashes = nn.hashes;
	sa->init_i = dup_msg(msg, len);
	sa->init_i_len = len;
	ike_sa_set_state(sa, IKE_ST_INIT_DONE);
	timer_arm_ms(&sa->expire, (uint64_t)e->cfg->half_open_timeout * 1000);
	r.childless = nn.childless;
	respond_init(sa, &r, pidx, nn.frag, nn.hashes != 0);
	/* The DH secret is not needed once the response carries our value. */
	ike_dh_free(sa->dh);
	sa->dh = NULL;
	log_info("ike", "IKE_SA_INIT answered sa=%u peer=%s", sa->id, peer->name);
}

void ike_init_response(struct ike_sa *sa, uint8_t *msg, size_t len, const struct ikev2_msg *m)
{
	struct ike_engine *e = sa->e;
	struct init_notes nn;
	struct init_req r;
	struct ike_suite sel;
	uint8_t gir[IKE_DH_PUB_MAX];
	size_t girlen;
	const char *why = NULL;
	char err[160] = "";
	if (!init_notes(&m->chain, &nn)) {
		ike_count(e, IKE_C_rx_invalid_syntax);
		return;
	}
	if (nn.cookie) {
		ike_count(e, IKE_C_rx_n_cookie);
		if (nn.cookie->len < 1 || nn.cookie->len > 64 || ++sa->init_rounds > MAX_INIT_RETRIES) {
			ike_count(e, IKE_C_rx_invalid_syntax);
			return;
		}
		memcpy(sa->cookie, nn.cookie->data, nn.cookie->len);
		sa->cookie_len = nn.cookie->len;
		ike_sa_req_done(sa);
		ike_init_send(sa);
		return;
	}
	if (nn.error == IKEV2_N_INVALID_KE_PAYLOAD && nn.error_len == 2) {
		uint16_t g = get_be16(nn.error_data);

		ike_count_rx_notify(e, nn.error);
		if (g != sa->dh_group && ++sa->init_rounds <= MAX_INIT_RETRIES &&
		    ike_props_has_dh(&sa->peer->ike_props, g) &&
		    ike_dh_supported(g)) {
			log_info("ike", "peer wants DH group %u sa=%u", g, sa->id);
			sa->dh_group = g;
			ike_sa_req_done(sa);
			ike_init_send(sa);
			return;
		}
		ike_sa_req_done(sa);
		ike_sa_close(sa, "INVALID_KE_PAYLOAD for a group we do not offer");
		return;
	}
	if (nn.error) {
		ike_count_rx_notify(e, nn.error);
		log_notice("ike", "IKE_SA_INIT refused by the peer sa=%u notify=%u", sa->id, nn.error);
		ike_sa_req_done(sa);
		ike_sa_close(sa, "IKE_SA_INIT refused");
		return;
	}
	if (!init_payloads(&m->chain, &r, &why) ||
	    ike_props_check_answer(&sa->peer->ike_props, &r.sa, IKEV2_PROTO_IKE, true, &sel) ||
	    sel.dh != sa->dh_group || r.ke.group != sa->dh_group) {
		ike_count(e, IKE_C_rx_invalid_syntax);
		log_notice("ike", "IKE_SA_INIT response refused sa=%u: %s", sa->id,
			   why ? why : "proposal or KE not what we offered");
		ike_sa_req_done(sa);
		ike_sa_close(sa, "bad IKE_SA_INIT response");
		return;
	}
	girlen = ike_dh_shared(sa->dh, r.ke.data, r.ke.len, gir, sizeof(gir), err, sizeof(err));
	memcpy(sa->spi_r, m->hdr.spi_r, 8);
	memcpy(sa->nr, r.ni, r.ni_len);
	sa->nr_len = r.ni_len;
	sa->suite = sel;
	if (!girlen || ike_keys_derive(&sa->suite, sa->ni, sa->ni_len, sa->nr, sa->nr_len, gir,
				       girlen, sa->spi_i, sa->spi_r, &sa->keys)) {
		ike_count(e, IKE_C_rx_invalid_syntax);
		log_notice("ike", "IKE_SA_INIT response: no keys sa=%u: %s", sa->id, err);
		ike_sa_req_done(sa);
		ike_sa_close(sa, "key derivation failed");
		return;
	}
	OPENSSL_cleanse(gir, sizeof(gir));
	sa->keyed = true;
	ike_dh_free(sa->dh);
	sa->dh = NULL;
	nat_detect(sa, &nn, sa->spi_r);
	sa->frag_ok = nn.frag;
	sa->peer_hashes = nn.hashes;
	sa->init_r = dup_msg(msg, len);
	sa->init_r_len = len;
	ike_sa_req_done(sa);
	/* §2.23: behind a NAT, move to port 4500 for everything after. */
	if (sa->nat_local || sa->nat_remote) {
		sa->path.lport = IKEV2_NATT_PORT;
		sa->path.rport = IKEV2_NATT_PORT;
	}
	ike_auth_send(sa);
}
