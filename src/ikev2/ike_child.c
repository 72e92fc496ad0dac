/* CREATE_CHILD_SA (RFC 7296 §1.3): new CHILD SAs, CHILD SA rekey and IKE
 * SA rekey, make-before-break, with the §2.8.1 rule for simultaneous
 * rekeys; and the CHILD SA payloads shared with IKE_AUTH (ESP proposals,
 * traffic selectors and their narrowing, §2.9). */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "ikev2/ike_sa.h"

#define IKEV2_N_CHILD_SA_NOT_FOUND	44
#define IKEV2_N_TEMPORARY_FAILURE	43
#define REKEYED_SA_LINGER_MS		10000

/* ---- traffic selectors ------------------------------------------------------ */

void ike_ts_from_wire(const struct ikev2_ts_list *l, struct ike_ts_set *out)
{
	out->n = 0;
	for (size_t i = 0; i < l->n && out->n < IKE_TS_MAX; i++) {
		const struct ikev2_ts *w = &l->ts[i];
		struct ike_ts *t = &out->ts[out->n];
		size_t al;

		if (!w->start || !w->end)
			continue;	/* a type we do not know: ignored (§3.13.1) */
		al = w->type == IKEV2_TS_IPV4_ADDR_RANGE ? 4 : 16;
		memset(t, 0, sizeof(*t));
		t->start.family = t->end.family = al == 4 ? AF_INET : AF_INET6;
		memcpy(t->start.bytes, w->start, al);
		memcpy(t->end.bytes, w->end, al);
		t->proto = w->ip_protocol;
		t->sport = w->start_port;
		t->eport = w->end_port;
		out->n++;
	}
}

void ike_ts_to_wire(const struct ike_ts_set *s, struct ikev2_ts *out)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct ike_ts *t = &s->ts[i];

		memset(&out[i], 0, sizeof(out[i]));
		out[i].type = t->start.family == AF_INET ? IKEV2_TS_IPV4_ADDR_RANGE :
							   IKEV2_TS_IPV6_ADDR_RANGE;
		out[i].ip_protocol = t->proto;
		out[i].start_port = t->sport;
		out[i].end_port = t->eport;
		out[i].start = t->start.bytes;
		out[i].end = t->end.bytes;
	}
}

static int addr_cmp(const struct ip_addr *a, const struct ip_addr *b)
{
	return memcmp(a->bytes, b->bytes, ip_addr_len(a));
}

static bool ts_meet(const struct ike_ts *a, const struct ike_ts *b, struct ike_ts *out)
{
	if (a->start.family != b->start.family)
		return false;
	if (a->proto && b->proto && a->proto != b->proto)
		return false;
	*out = *a;
	out->proto = a->proto ? a->proto : b->proto;
	out->sport = a->sport > b->sport ? a->sport : b->sport;
	out->eport = a->eport < b->eport ? a->eport : b->eport;
	if (out->sport > out->eport)
		return false;
	out->start = addr_cmp(&a->start, &b->start) > 0 ? a->start : b->start;
	out->end = addr_cmp(&a->end, &b->end) < 0 ? a->end : b->end;
	return addr_cmp(&out->start, &out->end) <= 0;
}

void ike_ts_narrow(const struct ike_ts_set *req, const struct ike_ts_set *allowed,
		   struct ike_ts_set *out)
{
	out->n = 0;
	for (size_t i = 0; i < req->n; i++)
		for (size_t k = 0; k < allowed->n && out->n < IKE_TS_MAX; k++) {
			struct ike_ts t;
			bool dup = false;

			if (!ts_meet(&req->ts[i], &allowed->ts[k], &t))
				continue;
			for (size_t j = 0; j < out->n; j++)
				dup |= !memcmp(&out->ts[j], &t, sizeof(t));
			if (!dup)
				out->ts[out->n++] = t;
		}
}

static bool ts_within(const struct ike_ts *in, const struct ike_ts *out)
{
	return in->start.family == out->start.family &&
	       (!out->proto || out->proto == in->proto) && in->sport >= out->sport &&
	       in->eport <= out->eport && addr_cmp(&in->start, &out->start) >= 0 &&
	       addr_cmp(&in->end, &out->end) <= 0;
}

bool ike_ts_subset(const struct ike_ts_set *inner, const struct ike_ts_set *outer)
{
	if (!inner->n)
		return false;
	for (size_t i = 0; i < inner->n; i++) {
		bool ok = false;

		for (size_t k = 0; k < outer->n && !ok; k++)
			ok = ts_within(&inner->ts[i], &outer->ts[k]);
		if (!ok)
			return false;
	}
	return true;
}

/* A host selector for an address (transport mode without configuration). */
static void ts_host(const struct ip_addr *a, struct ike_ts_set *s)
{
	memset(s, 0, sizeof(*s));
	s->n = 1;
	s->ts[0].start = s->ts[0].end = *a;
	s->ts[0].eport = 0xffff;
}

static const struct ike_child_cfg *policy_of(const struct ike_sa *sa, size_t i)
{
	return &sa->peer->child[i < sa->peer->n_child ? i : 0];
}

static void ts_local(const struct ike_sa *sa, const struct ike_child_cfg *pol,
		     struct ike_ts_set *s)
{
	if (pol->local_ts.n)
		*s = pol->local_ts;
	else
		ts_host(&sa->path.local, s);
}

static void ts_remote(const struct ike_sa *sa, const struct ike_child_cfg *pol,
		      struct ike_ts_set *s)
{
	if (pol->remote_ts.n)
		*s = pol->remote_ts;
	else
		ts_host(&sa->path.remote, s);
}

/* ---- CHILD SA payloads -------------------------------------------------------- */

size_t ike_child_add_payloads(struct ike_sa *sa, struct ikev2_builder *b,
			      const struct ike_child *c, bool request)
{
	struct ikev2_ts w[IKE_TS_MAX];
	struct ike_ts_set l, r;
	struct ikev2_sa sap;
	uint8_t spi[4];

	put_be32(spi, c->spi_in);
	if (c->mode == SA_MODE_TRANSPORT)
		ikev2_add_notify(b, 0, NULL, 0, IKEV2_N_USE_TRANSPORT_MODE, NULL, 0);
	if (request) {
		const struct ike_child_cfg *pol = policy_of(sa, c->policy);

		ike_props_to_sa(&pol->esp_props, IKEV2_PROTO_ESP, spi, 4, 0, true, &sap);
		ts_local(sa, pol, &l);
		ts_remote(sa, pol, &r);
	} else {
		ike_suite_to_sa(&c->suite, c->suite_num, IKEV2_PROTO_ESP, spi, 4, &sap);
		l = c->local_ts;
		r = c->remote_ts;
	}
	ikev2_add_sa(b, &sap);
	/* TSi is the exchange initiator's side. */
	ike_ts_to_wire(request ? &l : &r, w);
	ikev2_add_ts(b, IKEV2_PL_TSI, w, request ? l.n : r.n);
	ike_ts_to_wire(request ? &r : &l, w);
	ikev2_add_ts(b, IKEV2_PL_TSR, w, request ? r.n : l.n);
	return 0;
}

struct child_pl {
	struct ikev2_sa sa;
	struct ikev2_ts_list tsi, tsr;
	bool has_sa, has_tsi, has_tsr, transport;
};

static bool child_collect(const struct ikev2_chain *c, struct child_pl *cp)
{
	struct wire_error werr;

	memset(cp, 0, sizeof(*cp));
	for (size_t i = 0; i < c->n; i++) {
		const struct ikev2_payload *p = &c->pl[i];
		struct ikev2_notify n;

		if (p->type == IKEV2_PL_SA) {
			if (cp->has_sa || ikev2_sa_parse(p, &cp->sa, &werr))
				return false;
			cp->has_sa = true;
		} else if (p->type == IKEV2_PL_TSI) {
			if (cp->has_tsi || ikev2_ts_parse(p, &cp->tsi, &werr))
				return false;
			cp->has_tsi = true;
		} else if (p->type == IKEV2_PL_TSR) {
			if (cp->has_tsr || ikev2_ts_parse(p, &cp->tsr, &werr))
				return false;
			cp->has_tsr = true;
		} else if (p->type == IKEV2_PL_NOTIFY && !ikev2_notify_parse(p, &n, &werr) &&
			   n.type == IKEV2_N_USE_TRANSPORT_MODE) {
			cp->transport = true;
		}
	}
	return true;
}

/* Tries child policy `pol` on the request: 0, or the notify that says why
 * not (counters are left to the caller). */
static uint16_t pick_one(struct ike_sa *sa, const struct child_pl *cp, size_t i, bool need_dh,
			 struct ike_child *out)
{
	struct ike_engine *e = sa->e;
	const struct ike_child_cfg *pol = policy_of(sa, i);
	struct ike_ts_set req_r, req_l, allow_r, allow_l;
	size_t pidx;

	if (ike_props_select(&pol->esp_props, &cp->sa, IKEV2_PROTO_ESP, need_dh, &out->suite,
			     &pidx) || cp->sa.prop[pidx].spi_size != 4)
		return IKEV2_N_NO_PROPOSAL_CHOSEN;
	if ((pol->mode == SA_MODE_TRANSPORT) != cp->transport)
		return IKEV2_N_NO_PROPOSAL_CHOSEN;
	out->suite_num = cp->sa.prop[pidx].num;
	out->spi_out = get_be32(cp->sa.prop[pidx].spi);
	out->mode = pol->mode;
	out->policy = (uint8_t)i;
	/* The peer is the exchange initiator: TSi is its side. */
	ike_ts_from_wire(&cp->tsi, &req_r);
	ike_ts_from_wire(&cp->tsr, &req_l);
	ts_remote(sa, pol, &allow_r);
	ts_local(sa, pol, &allow_l);
	if (e->ops->authorize &&
	    e->ops->authorize(e->arg, sa->peer->name, &sa->peer_id, &req_r, &allow_r))
		allow_r.n = 0;
	ike_ts_narrow(&req_r, &allow_r, &out->remote_ts);
	ike_ts_narrow(&req_l, &allow_l, &out->local_ts);
	if (!out->remote_ts.n || !out->local_ts.n)
		return IKEV2_N_TS_UNACCEPTABLE;
	return 0;
}

int ike_child_pick(struct ike_sa *sa, const struct ikev2_chain *c, struct ike_child *out,
		   bool need_dh, uint16_t *notify)
{
	struct ike_engine *e = sa->e;
	struct child_pl cp;
	uint16_t why = IKEV2_N_NO_PROPOSAL_CHOSEN;

	if (!child_collect(c, &cp) || !cp.has_sa || !cp.has_tsi || !cp.has_tsr) {
		ike_count(e, IKE_C_rx_invalid_syntax);
		*notify = IKEV2_N_INVALID_SYNTAX;
		return -1;
	}
	/* The first of the peer's child policies the request fits. */
	for (size_t i = 0; i < sa->peer->n_child; i++) {
		uint16_t n = pick_one(sa, &cp, i, need_dh, out);

		if (!n) {
			do
				ike_random(&out->spi_in, 4);
			while (out->spi_in < 256);
			return 0;
		}
		if (n == IKEV2_N_TS_UNACCEPTABLE)
			why = n;	/* the more telling refusal */
	}
	if (why == IKEV2_N_TS_UNACCEPTABLE) {
		ike_count(e, IKE_C_rx_ts_unacceptable);
		log_notice("ike", "traffic selectors refused sa=%u peer=%s", sa->id, sa->peer->name);
	} else {
		ike_count(e, IKE_C_rx_no_proposal);
		log_notice("ike", "no acceptable ESP proposal or mode sa=%u peer=%s%s", sa->id,
			   sa->peer->name, cp.transport ? " (transport asked)" : "");
	}
	*notify = why;
	return -1;
}

int ike_child_check_answer(struct ike_sa *sa, const struct ikev2_chain *c,
			   struct ike_child *ch, uint16_t *notify)
{
	struct ike_engine *e = sa->e;
	struct child_pl cp;
	struct ike_ts_set l, r;
	bool pfs = ch->suite.dh != 0;

	if (!child_collect(c, &cp) || !cp.has_sa || !cp.has_tsi || !cp.has_tsr) {
		ike_count(e, IKE_C_rx_invalid_syntax);
		*notify = IKEV2_N_INVALID_SYNTAX;
		return -1;
	}
	const struct ike_child_cfg *pol = policy_of(sa, ch->policy);

	if (ike_props_check_answer(&pol->esp_props, &cp.sa, IKEV2_PROTO_ESP, pfs, &ch->suite) ||
	    cp.sa.prop[0].spi_size != 4) {
		ike_count(e, IKE_C_rx_no_proposal);
		log_notice("ike", "ESP proposal in the answer is not one we offered sa=%u", sa->id);
		*notify = IKEV2_N_NO_PROPOSAL_CHOSEN;
		return -1;
	}
	if (cp.transport != (ch->mode == SA_MODE_TRANSPORT)) {
		ike_count(e, IKE_C_rx_no_proposal);
		log_notice("ike", "answer changes the mode sa=%u", sa->id);
		*notify = IKEV2_N_NO_PROPOSAL_CHOSEN;
		return -1;
	}
	ch->spi_out = get_be32(cp.sa.prop[0].spi);
	ike_ts_from_wire(&cp.tsi, &ch->local_ts);
	ike_ts_from_wire(&cp.tsr, &ch->remote_ts);
	ts_local(sa, pol, &l);
	ts_remote(sa, pol, &r);
	if (!ike_ts_subset(&ch->local_ts, &l) || !ike_ts_subset(&ch->remote_ts, &r)) {
		ike_count(e, IKE_C_rx_ts_unacceptable);
		log_notice("ike", "answer widens the traffic selectors sa=%u", sa->id);
		*notify = IKEV2_N_TS_UNACCEPTABLE;
		return -1;
	}
	return 0;
}

/* ---- requests we send -------------------------------------------------------------- */

void ike_pending_clear(struct ike_pending *p)
{
	ike_dh_free(p->dh);
	memset(p, 0, sizeof(*p));
}

static int pending_start(struct ike_sa *sa, uint16_t group)
{
	char err[160];

	ike_pending_clear(&sa->pend);
	sa->pend.active = true;
	ike_random(sa->pend.nonce, IKE_NONCE_LEN);
	if (group) {
		sa->pend.dh = ike_dh_new(group, err, sizeof(err));
		if (!sa->pend.dh) {
			log_warn("ike", "no DH key pair for a rekey sa=%u: %s", sa->id, err);
			ike_pending_clear(&sa->pend);
			return -1;
		}
	}
	return 0;
}

static void send_req(struct ike_sa *sa, struct ikev2_builder *b, enum ike_task_kind kind)
{
	struct wire_error *werr = b->err;
	int n = ikev2_build_end(b);

	if (n < 0 || ike_msg_protect(sa, IKEV2_CREATE_CHILD_SA, false, sa->tx_mid, b->first,
				     sa->e->plain, (size_t)n, &sa->req)) {
		log_warn("ike", "cannot build CREATE_CHILD_SA sa=%u: %s", sa->id,
			 n < 0 ? werr->msg : "SK");
		ike_pending_clear(&sa->pend);
		return;
	}
	sa->tx_mid++;
	ike_sa_send_req(sa, kind);
}

static void add_ke(struct ikev2_builder *b, struct ike_dh *dh)
{
	uint8_t pub[IKE_DH_PUB_MAX];
	size_t l = ike_dh_public(dh, pub, sizeof(pub));

	ikev2_add_ke(b, ike_dh_group(dh), pub, l);
}

void ike_child_rekey_send(struct ike_sa *sa, uint32_t child_id)
{
	struct ike_child *old = ike_child_by_id(sa->e, child_id), ch;
	struct ikev2_builder b;
	struct wire_error werr;
	uint8_t spi[4];

	if (!old || old->sa != sa || old->state != CHILD_ST_INSTALLED)
		return;
	if (pending_start(sa, old->suite.dh ? old->suite.dh : 0))
		return;
	do
		ike_random(&sa->pend.spi_in, 4);
	while (sa->pend.spi_in < 256);
	sa->pend.rekey_child = child_id;
	old->state = CHILD_ST_REKEYING;
	memset(&ch, 0, sizeof(ch));
	ch.spi_in = sa->pend.spi_in;
	ch.mode = old->mode;
	ch.policy = old->policy;
	put_be32(spi, old->spi_in);
	ikev2_build_begin(&b, sa->e->plain, sizeof(sa->e->plain), NULL, &werr);
	ikev2_add_notify(&b, IKEV2_PROTO_ESP, spi, 4, IKEV2_N_REKEY_SA, NULL, 0);
	/* SA, Nonce, [KE], TSi, TSr: the SA and selectors from the helper
	 * need the Nonce between them, so they are written here in order. */
	{
		struct ikev2_sa sap;
		struct ikev2_ts w[IKE_TS_MAX];

		if (ch.mode == SA_MODE_TRANSPORT)
			ikev2_add_notify(&b, 0, NULL, 0, IKEV2_N_USE_TRANSPORT_MODE, NULL, 0);
		put_be32(spi, ch.spi_in);
		ike_props_to_sa(&policy_of(sa, old->policy)->esp_props, IKEV2_PROTO_ESP, spi, 4,
				old->suite.dh, !old->suite.dh, &sap);
		ikev2_add_sa(&b, &sap);
		ikev2_add_nonce(&b, sa->pend.nonce, IKE_NONCE_LEN);
		if (sa->pend.dh)
			add_ke(&b, sa->pend.dh);
		ike_ts_to_wire(&old->local_ts, w);
		ikev2_add_ts(&b, IKEV2_PL_TSI, w, old->local_ts.n);
		ike_ts_to_wire(&old->remote_ts, w);
		ikev2_add_ts(&b, IKEV2_PL_TSR, w, old->remote_ts.n);
	}
	log_info("ike", "rekeying CHILD SA child=%u sa=%u", child_id, sa->id);
	send_req(sa, &b, IKE_T_CHILD_REKEY);
}

/* A CHILD SA for another policy of the peer (§1.3.1). */
void ike_child_new_send(struct ike_sa *sa, uint8_t policy)
{
	const struct ike_child_cfg *pol = policy_of(sa, policy);
	uint16_t pfs = ike_props_first_dh(&pol->esp_props);
	struct ike_child ch;
	struct ikev2_builder b;
	struct ikev2_sa sap;
	struct ikev2_ts w[IKE_TS_MAX];
	struct ike_ts_set l, r;
	struct wire_error werr;
	uint8_t spi[4];

	if (policy >= sa->peer->n_child || pending_start(sa, pfs))
		return;
	do
		ike_random(&sa->pend.spi_in, 4);
	while (sa->pend.spi_in < 256);
	sa->pend.policy = policy;
	memset(&ch, 0, sizeof(ch));
	ch.mode = pol->mode;
	ikev2_build_begin(&b, sa->e->plain, sizeof(sa->e->plain), NULL, &werr);
	if (ch.mode == SA_MODE_TRANSPORT)
		ikev2_add_notify(&b, 0, NULL, 0, IKEV2_N_USE_TRANSPORT_MODE, NULL, 0);
	put_be32(spi, sa->pend.spi_in);
	ike_props_to_sa(&pol->esp_props, IKEV2_PROTO_ESP, spi, 4, pfs, !pfs, &sap);
	ikev2_add_sa(&b, &sap);
	ikev2_add_nonce(&b, sa->pend.nonce, IKE_NONCE_LEN);
	if (sa->pend.dh)
		add_ke(&b, sa->pend.dh);
	ts_local(sa, pol, &l);
	ts_remote(sa, pol, &r);
	ike_ts_to_wire(&l, w);
	ikev2_add_ts(&b, IKEV2_PL_TSI, w, l.n);
	ike_ts_to_wire(&r, w);
	ikev2_add_ts(&b, IKEV2_PL_TSR, w, r.n);
	log_info("ike", "creating CHILD SA '%s' sa=%u", pol->name, sa->id);
	send_req(sa, &b, IKE_T_CHILD_NEW);
}

void ike_ike_rekey_send(struct ike_sa *sa)
{
	struct ikev2_builder b;
	struct wire_error werr;
	struct ikev2_sa sap;
	uint16_t group = sa->rekey_group ? sa->rekey_group : sa->suite.dh;

	if (pending_start(sa, group))
		return;
	ike_random(sa->pend.new_spi, 8);
	ikev2_build_begin(&b, sa->e->plain, sizeof(sa->e->plain), NULL, &werr);
	ike_props_to_sa(&sa->peer->ike_props, IKEV2_PROTO_IKE, sa->pend.new_spi, 8, group, false,
			&sap);
	ikev2_add_sa(&b, &sap);
	ikev2_add_nonce(&b, sa->pend.nonce, IKE_NONCE_LEN);
	add_ke(&b, sa->pend.dh);
	log_info("ike", "rekeying IKE SA sa=%u", sa->id);
	send_req(sa, &b, IKE_T_IKE_REKEY);
}

/* ---- IKE SA rekey ------------------------------------------------------------------- */

/* The successor of `old`: keys from the exchange, children moved over. */
static struct ike_sa *ike_successor(struct ike_sa *old, bool we_initiated, const uint8_t *spi_mine,
				    const uint8_t *spi_theirs, const struct ike_suite *suite,
				    const uint8_t *gir, size_t girlen, const uint8_t *ni, size_t nilen,
				    const uint8_t *nr, size_t nrlen)
{
	struct ike_sa *n = ike_sa_new(old->e, we_initiated, &old->path);

	if (!n)
		return NULL;
	memcpy(we_initiated ? n->spi_i : n->spi_r, spi_mine, 8);
	memcpy(we_initiated ? n->spi_r : n->spi_i, spi_theirs, 8);
	n->suite = *suite;
	if (ike_keys_rekey(suite, old->suite.prf, old->keys.sk_d, old->keys.prf_len, gir, girlen,
			   ni, nilen, nr, nrlen, n->spi_i, n->spi_r, &n->keys)) {
		ike_sa_free(n);
		return NULL;
	}
	n->keyed = true;
	n->peer = old->peer;
	n->peer_id = old->peer_id;
	n->peer_authed = true;
	n->frag_ok = old->frag_ok;
	n->peer_hashes = old->peer_hashes;
	n->nat_local = old->nat_local;
	n->nat_remote = old->nat_remote;
	memcpy(n->ni, ni, nilen);
	n->ni_len = nilen;
	memcpy(n->nr, nr, nrlen);
	n->nr_len = nrlen;
	return n;
}

static void move_children(struct ike_sa *from, struct ike_sa *to)
{
	while (from->children) {
		struct ike_child *c = from->children;

		from->children = c->next;
		c->sa = to;
		c->info.ike_id = to->id;
		c->next = to->children;
		to->children = c;
	}
}

static void successor_up(struct ike_sa *old, struct ike_sa *n)
{
	move_children(old, n);
	ike_sa_set_state(old, IKE_ST_REKEYED);
	timer_cancel(&old->rekey);
	timer_cancel(&old->dpd);
	timer_arm_ms(&old->expire, REKEYED_SA_LINGER_MS);
	ike_count(old->e, IKE_C_ike_rekeyed);
	/* ike_sa_established counts it established: undo, a rekey is not one. */
	ike_sa_established(n);
	old->e->ctr[IKE_C_ike_established].value--;
	log_info("ike", "IKE SA rekeyed old=%u new=%u", old->id, n->id);
}

static const uint8_t *min_nonce(const uint8_t *a, size_t al, const uint8_t *b, size_t bl,
				size_t *len)
{
	size_t l = al < bl ? al : bl;
	int c = memcmp(a, b, l);

	if (c < 0 || (c == 0 && al <= bl)) {
		*len = al;
		return a;
	}
	*len = bl;
	return b;
}

/* §2.8.1: of two simultaneous rekeys, the one whose exchange has the
 * lowest nonce loses. True when our exchange (ours_i, theirs_r) loses
 * against theirs (theirs_i, ours_r). */
static bool we_lose(const uint8_t *our_i, size_t oil, const uint8_t *their_r, size_t trl,
		    const uint8_t *their_i, size_t til, const uint8_t *our_r, size_t orl)
{
	size_t l1, l2;
	const uint8_t *m1 = min_nonce(our_i, oil, their_r, trl, &l1);
	const uint8_t *m2 = min_nonce(their_i, til, our_r, orl, &l2);
	size_t l = l1 < l2 ? l1 : l2;
	int c = memcmp(m1, m2, l);

	return c < 0 || (c == 0 && l1 < l2);
}

struct cc_req {
	struct ikev2_sa sa;
	struct ikev2_ke ke;
	const uint8_t *nonce;
	size_t nonce_len;
	bool has_sa, has_ke, has_nonce;
	bool rekey;
	uint32_t rekey_spi;
	uint16_t error;
	const uint8_t *error_data;
	size_t error_len;
};

static bool cc_collect(const struct ikev2_chain *c, struct cc_req *r)
{
	struct wire_error werr;

	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < c->n; i++) {
		const struct ikev2_payload *p = &c->pl[i];
		struct ikev2_notify n;

		switch (p->type) {
		case IKEV2_PL_SA:
			if (r->has_sa || ikev2_sa_parse(p, &r->sa, &werr))
				return false;
			r->has_sa = true;
			break;
		case IKEV2_PL_KE:
			if (r->has_ke || ikev2_ke_parse(p, &r->ke, &werr))
				return false;
			r->has_ke = true;
			break;
		case IKEV2_PL_NONCE:
			if (r->has_nonce || ikev2_nonce_parse(p, &r->nonce, &r->nonce_len, &werr))
				return false;
			r->has_nonce = true;
			break;
		case IKEV2_PL_NOTIFY:
			if (ikev2_notify_parse(p, &n, &werr))
				return false;
			if (n.type == IKEV2_N_REKEY_SA) {
				if (n.protocol != IKEV2_PROTO_ESP || n.spi_size != 4)
					return false;
				r->rekey = true;
				r->rekey_spi = get_be32(n.spi);
			} else if (ike_notify_is_error(n.type) && !r->error) {
				r->error = n.type;
				r->error_data = n.data;
				r->error_len = n.len;
			}
			break;
		case IKEV2_PL_IDI:
		case IKEV2_PL_IDR:
		case IKEV2_PL_AUTH:
			return false;
		default:
			break;
		}
	}
	return true;
}

static void ike_rekey_request(struct ike_sa *sa, uint32_t mid, const struct cc_req *r)
{
	struct ike_engine *e = sa->e;
	struct ike_suite sel;
	size_t pidx;
	struct ike_dh *dh;
	uint8_t gir[IKE_DH_PUB_MAX], spi_r[8], nr[IKE_NONCE_LEN], grp[2];
	size_t girlen = 0;
	struct ikev2_builder b;
	struct wire_error werr;
	struct ikev2_sa sap;
	struct ike_sa *n;
	char err[160] = "";
	int len;

	if (!r->has_ke || r->sa.n == 0) {
		ike_count(e, IKE_C_rx_invalid_syntax);
		ike_respond_error(sa, IKEV2_CREATE_CHILD_SA, mid, IKEV2_N_INVALID_SYNTAX, NULL, 0);
		return;
	}
	if (ike_props_select(&sa->peer->ike_props, &r->sa, IKEV2_PROTO_IKE, true, &sel, &pidx) ||
	    r->sa.prop[pidx].spi_size != 8) {
		ike_count(e, IKE_C_rx_no_proposal);
		ike_respond_error(sa, IKEV2_CREATE_CHILD_SA, mid, IKEV2_N_NO_PROPOSAL_CHOSEN, NULL, 0);
		return;
	}
	if (r->ke.group != sel.dh) {
		ike_count(e, IKE_C_rx_invalid_ke);
		put_be16(grp, sel.dh);
		ike_respond_error(sa, IKEV2_CREATE_CHILD_SA, mid, IKEV2_N_INVALID_KE_PAYLOAD, grp, 2);
		return;
	}
	dh = ike_dh_new(sel.dh, err, sizeof(err));
	if (dh)
		girlen = ike_dh_shared(dh, r->ke.data, r->ke.len, gir, sizeof(gir), err, sizeof(err));
	if (!girlen) {
		ike_dh_free(dh);
		ike_count(e, IKE_C_rx_invalid_syntax);
		log_notice("ike", "IKE rekey KE refused sa=%u: %s", sa->id, err);
		ike_respond_error(sa, IKEV2_CREATE_CHILD_SA, mid, IKEV2_N_INVALID_SYNTAX, NULL, 0);
		return;
	}
	ike_random(spi_r, 8);
	ike_random(nr, sizeof(nr));
	n = ike_successor(sa, false, spi_r, r->sa.prop[pidx].spi, &sel, gir, girlen, r->nonce,
			  r->nonce_len, nr, sizeof(nr));
	OPENSSL_cleanse(gir, sizeof(gir));
	if (!n) {
		ike_dh_free(dh);
		ike_respond_error(sa, IKEV2_CREATE_CHILD_SA, mid, IKEV2_N_TEMPORARY_FAILURE, NULL, 0);
		return;
	}
	ikev2_build_begin(&b, e->plain, sizeof(e->plain), NULL, &werr);
	ike_suite_to_sa(&sel, r->sa.prop[pidx].num, IKEV2_PROTO_IKE, spi_r, 8, &sap);
	ikev2_add_sa(&b, &sap);
	ikev2_add_nonce(&b, nr, sizeof(nr));
	add_ke(&b, dh);
	ike_dh_free(dh);
	len = ikev2_build_end(&b);
	if (len < 0 || ike_msg_respond(sa, IKEV2_CREATE_CHILD_SA, mid, b.first, e->plain,
				       (size_t)len)) {
		ike_sa_free(n);
		return;
	}
	if (sa->req_out && sa->req_kind == IKE_T_IKE_REKEY && sa->pend.active) {
		/* Simultaneous rekey: decided when our answer comes. */
		ike_count(e, IKE_C_rekey_collision);
		sa->pend.new_sa = n;
		memcpy(sa->pend.peer_nonce, r->nonce, r->nonce_len);
		sa->pend.peer_nonce_len = r->nonce_len;
		ike_sa_set_state(n, IKE_ST_ESTABLISHED);
		return;
	}
	successor_up(sa, n);
}

static void ike_rekey_response(struct ike_sa *sa, const struct cc_req *r)
{
	struct ike_engine *e = sa->e;
	struct ike_suite sel;
	uint8_t gir[IKE_DH_PUB_MAX];
	size_t girlen = 0;
	char err[160] = "";
	struct ike_sa *n, *theirs = sa->pend.new_sa;

	if (r->error == IKEV2_N_INVALID_KE_PAYLOAD && r->error_len == 2) {
		uint16_t g = get_be16(r->error_data);

		ike_count_rx_notify(e, r->error);
		ike_pending_clear(&sa->pend);
		log_notice("ike", "IKE rekey: peer wants group %u sa=%u", g, sa->id);
		if (g != sa->rekey_group && ike_props_has_dh(&sa->peer->ike_props, g) &&
		    ike_dh_supported(g)) {
			sa->rekey_group = g;
			ike_sa_task(sa, IKE_T_IKE_REKEY, 0);
		} else {
			ike_sa_arm_rekey(sa);
		}
		return;
	}
	if (r->error || !r->has_sa || !r->has_ke || !r->has_nonce ||
	    ike_props_check_answer(&sa->peer->ike_props, &r->sa, IKEV2_PROTO_IKE, true, &sel) ||
	    sel.dh != ike_dh_group(sa->pend.dh) || r->ke.group != sel.dh ||
	    r->sa.prop[0].spi_size != 8) {
		if (r->error)
			ike_count_rx_notify(e, r->error);
		else
			ike_count(e, IKE_C_rx_invalid_syntax);
		log_notice("ike", "IKE rekey refused sa=%u notify=%u", sa->id, r->error);
		if (theirs)
			successor_up(sa, theirs);
		ike_pending_clear(&sa->pend);
		if (!theirs)
			ike_sa_arm_rekey(sa);
		return;
	}
	girlen = ike_dh_shared(sa->pend.dh, r->ke.data, r->ke.len, gir, sizeof(gir), err, sizeof(err));
	n = girlen ? ike_successor(sa, true, sa->pend.new_spi, r->sa.prop[0].spi, &sel, gir, girlen,
				   sa->pend.nonce, IKE_NONCE_LEN, r->nonce, r->nonce_len) : NULL;
	OPENSSL_cleanse(gir, sizeof(gir));
	if (!n) {
		log_notice("ike", "IKE rekey failed sa=%u: %s", sa->id, err);
		ike_pending_clear(&sa->pend);
		ike_sa_arm_rekey(sa);
		return;
	}
	if (theirs && we_lose(sa->pend.nonce, IKE_NONCE_LEN, r->nonce, r->nonce_len,
			      sa->pend.peer_nonce, sa->pend.peer_nonce_len, theirs->nr,
			      theirs->nr_len)) {
		/* Ours is redundant: the peer's successor stays, we delete ours
		 * (over itself) and the peer deletes the old SA. */
		log_info("ike", "simultaneous IKE rekey lost sa=%u", sa->id);
		ike_pending_clear(&sa->pend);
		successor_up(sa, theirs);
		ike_sa_set_state(n, IKE_ST_ESTABLISHED);
		n->peer_authed = false;	/* never announced */
		ike_info_send_delete_ike(n);
		return;
	}
	if (theirs) {
		/* Ours stays; the peer deletes its redundant one. */
		log_info("ike", "simultaneous IKE rekey won sa=%u", sa->id);
		theirs->peer_authed = false;
		ike_sa_set_state(theirs, IKE_ST_REKEYED);
		timer_arm_ms(&theirs->expire, REKEYED_SA_LINGER_MS);
	}
	ike_pending_clear(&sa->pend);
	successor_up(sa, n);
	/* Make before break: the old SA goes once the new one is up. */
	ike_sa_task(sa, IKE_T_DELETE_IKE, 0);
}

/* ---- CHILD SA create / rekey ------------------------------------------------------ */

static void child_request(struct ike_sa *sa, uint32_t mid, const struct ikev2_chain *c,
			  const struct cc_req *r)
{
	struct ike_engine *e = sa->e;
	struct ike_child *old = NULL, *ch;
	struct ike_dh *dh = NULL;
	uint8_t gir[IKE_DH_PUB_MAX], nr[IKE_NONCE_LEN], grp[2];
	size_t girlen = 0;
	uint16_t notify = 0;
	struct ikev2_builder b;
	struct wire_error werr;
	char err[160] = "";
	int len;

	if (r->rekey) {
		old = ike_child_by_spi(sa, r->rekey_spi, true);
		if (!old || old->state == CHILD_ST_REKEYED || old->state == CHILD_ST_DELETING) {
			log_info("ike", "rekey of an unknown CHILD SA spi=0x%08x sa=%u", r->rekey_spi,
				 sa->id);
			ike_respond_error(sa, IKEV2_CREATE_CHILD_SA, mid, IKEV2_N_CHILD_SA_NOT_FOUND,
					  NULL, 0);
			return;
		}
	}
	ch = ike_child_new(sa);
	if (!ch)
		return;
	if (ike_child_pick(sa, c, ch, r->has_ke, &notify)) {
		ike_child_remove_unlinked(ch);
		ike_respond_error(sa, IKEV2_CREATE_CHILD_SA, mid, notify, NULL, 0);
		return;
	}
	if (r->has_ke != (ch->suite.dh != 0) || (r->has_ke && r->ke.group != ch->suite.dh)) {
		ike_child_remove_unlinked(ch);
		if (ch->suite.dh) {
			ike_count(e, IKE_C_rx_invalid_ke);
			put_be16(grp, ch->suite.dh);
			ike_respond_error(sa, IKEV2_CREATE_CHILD_SA, mid, IKEV2_N_INVALID_KE_PAYLOAD,
					  grp, 2);
		} else {
			ike_count(e, IKE_C_rx_invalid_syntax);
			ike_respond_error(sa, IKEV2_CREATE_CHILD_SA, mid, IKEV2_N_INVALID_SYNTAX, NULL, 0);
		}
		return;
	}
	if (r->has_ke) {
		dh = ike_dh_new(ch->suite.dh, err, sizeof(err));
		girlen = dh ? ike_dh_shared(dh, r->ke.data, r->ke.len, gir, sizeof(gir), err,
					    sizeof(err)) : 0;
		if (!girlen) {
			ike_dh_free(dh);
			ike_child_remove_unlinked(ch);
			ike_count(e, IKE_C_rx_invalid_syntax);
			ike_respond_error(sa, IKEV2_CREATE_CHILD_SA, mid, IKEV2_N_INVALID_SYNTAX, NULL, 0);
			return;
		}
	}
	ike_random(nr, sizeof(nr));
	ikev2_build_begin(&b, e->plain, sizeof(e->plain), NULL, &werr);
	{
		struct ikev2_sa sap;
		struct ikev2_ts w[IKE_TS_MAX];
		uint8_t spi[4];

		if (ch->mode == SA_MODE_TRANSPORT)
			ikev2_add_notify(&b, 0, NULL, 0, IKEV2_N_USE_TRANSPORT_MODE, NULL, 0);
		put_be32(spi, ch->spi_in);
		ike_suite_to_sa(&ch->suite, ch->suite_num, IKEV2_PROTO_ESP, spi, 4, &sap);
		ikev2_add_sa(&b, &sap);
		ikev2_add_nonce(&b, nr, sizeof(nr));
		if (dh)
			add_ke(&b, dh);
		ike_ts_to_wire(&ch->remote_ts, w);
		ikev2_add_ts(&b, IKEV2_PL_TSI, w, ch->remote_ts.n);
		ike_ts_to_wire(&ch->local_ts, w);
		ikev2_add_ts(&b, IKEV2_PL_TSR, w, ch->local_ts.n);
	}
	ike_dh_free(dh);
	len = ikev2_build_end(&b);
	if (len < 0 || ike_msg_respond(sa, IKEV2_CREATE_CHILD_SA, mid, b.first, e->plain,
				       (size_t)len)) {
		ike_child_remove_unlinked(ch);
		return;
	}
	if (old && old->state == CHILD_ST_REKEYING && sa->req_kind == IKE_T_CHILD_REKEY &&
	    sa->pend.rekey_child == old->id) {
		/* Simultaneous child rekey: noted; settled on our answer. */
		ike_count(e, IKE_C_rekey_collision);
		memcpy(sa->pend.peer_nonce, r->nonce, r->nonce_len);
		sa->pend.peer_nonce_len = r->nonce_len;
		memcpy(sa->pend.resp_nonce, nr, sizeof(nr));
	}
	if (ike_child_install(sa, ch, false, girlen ? gir : NULL, girlen, r->nonce, r->nonce_len,
			      nr, sizeof(nr), old ? old->id : 0)) {
		ike_child_remove_unlinked(ch);
		OPENSSL_cleanse(gir, sizeof(gir));
		return;
	}
	OPENSSL_cleanse(gir, sizeof(gir));
	if (old && old->state == CHILD_ST_INSTALLED)
		old->state = CHILD_ST_REKEYED;	/* its DELETE comes from the peer */
	else if (old)
		old->replaced_by = ch->id;
}

void ike_child_request(struct ike_sa *sa, uint32_t mid, const struct ikev2_chain *c)
{
	struct cc_req r;

	if (!cc_collect(c, &r) || !r.has_sa || !r.has_nonce) {
		ike_count(sa->e, IKE_C_rx_invalid_syntax);
		log_notice("ike", "CREATE_CHILD_SA refused sa=%u: payloads missing or malformed",
			   sa->id);
		ike_respond_error(sa, IKEV2_CREATE_CHILD_SA, mid, IKEV2_N_INVALID_SYNTAX, NULL, 0);
		return;
	}
	if (r.sa.n && r.sa.prop[0].protocol == IKEV2_PROTO_IKE)
		ike_rekey_request(sa, mid, &r);
	else
		child_request(sa, mid, c, &r);
}

static void child_rekey_response(struct ike_sa *sa, const struct ikev2_chain *c,
				 const struct cc_req *r)
{
	struct ike_engine *e = sa->e;
	struct ike_child *old = ike_child_by_id(e, sa->pend.rekey_child), *ch;
	uint8_t gir[IKE_DH_PUB_MAX];
	size_t girlen = 0;
	uint16_t notify = 0;
	char err[160] = "";

	if (r->error || !r->has_nonce || (sa->pend.dh && !r->has_ke)) {
		if (r->error)
			ike_count_rx_notify(e, r->error);
		else
			ike_count(e, IKE_C_rx_invalid_syntax);
		log_notice("ike", "CHILD SA rekey refused sa=%u notify=%u", sa->id, r->error);
		if (old && old->state == CHILD_ST_REKEYING) {
			old->state = CHILD_ST_INSTALLED;
			if (old->replaced_by == 0 && sa->peer->child_rekey_time)
				timer_arm_ms(&old->rekey, 30000);
		}
		ike_pending_clear(&sa->pend);
		return;
	}
	ch = ike_child_new(sa);
	if (!ch)
		return;
	ch->spi_in = sa->pend.spi_in;
	ch->policy = old ? old->policy : sa->pend.policy;
	ch->mode = old ? old->mode : policy_of(sa, ch->policy)->mode;
	ch->suite.dh = sa->pend.dh ? ike_dh_group(sa->pend.dh) : 0;
	if (ike_child_check_answer(sa, c, ch, &notify) ||
	    (sa->pend.dh && (r->ke.group != ike_dh_group(sa->pend.dh) ||
			     !(girlen = ike_dh_shared(sa->pend.dh, r->ke.data, r->ke.len, gir,
						      sizeof(gir), err, sizeof(err))))) ||
	    ike_child_install(sa, ch, true, girlen ? gir : NULL, girlen, sa->pend.nonce,
			      IKE_NONCE_LEN, r->nonce, r->nonce_len, old ? old->id : 0)) {
		log_notice("ike", "CHILD SA rekey answer refused sa=%u %s", sa->id, err);
		ike_child_remove_unlinked(ch);
		if (old)
			old->state = CHILD_ST_INSTALLED;
		ike_pending_clear(&sa->pend);
		return;
	}
	OPENSSL_cleanse(gir, sizeof(gir));
	if (old && sa->pend.peer_nonce_len && old->replaced_by &&
	    we_lose(sa->pend.nonce, IKE_NONCE_LEN, r->nonce, r->nonce_len, sa->pend.peer_nonce,
		    sa->pend.peer_nonce_len, sa->pend.resp_nonce, IKE_NONCE_LEN)) {
		/* §2.8.1: our new child is the redundant one; delete it. */
		ike_pending_clear(&sa->pend);
		ike_sa_task(sa, IKE_T_DELETE_CHILD, ch->id);
		return;
	}
	ike_pending_clear(&sa->pend);
	if (old) {
		old->state = CHILD_ST_REKEYED;
		old->replaced_by = ch->id;
		ike_sa_task(sa, IKE_T_DELETE_CHILD, old->id);
	}
}

void ike_child_response(struct ike_sa *sa, const struct ikev2_chain *c)
{
	enum ike_task_kind kind = sa->req_kind;
	struct cc_req r;

	ike_sa_req_done(sa);
	if (!cc_collect(c, &r)) {
		ike_count(sa->e, IKE_C_rx_invalid_syntax);
		memset(&r, 0, sizeof(r));
		r.error = IKEV2_N_INVALID_SYNTAX;
	}
	if (kind == IKE_T_IKE_REKEY)
		ike_rekey_response(sa, &r);
	else
		child_rekey_response(sa, c, &r);
	ike_sa_next_task(sa);
}
