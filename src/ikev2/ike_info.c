/* INFORMATIONAL (RFC 7296 §1.4): DELETE of CHILD and IKE SAs, liveness
 * checks (§2.4, "DPD"), notifies. */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "ikev2/ike_sa.h"

static void send_info(struct ike_sa *sa, struct ikev2_builder *b, enum ike_task_kind kind,
		      uint32_t child)
{
	int n = ikev2_build_end(b);
	uint8_t first = b->n ? b->first : IKEV2_PL_NONE;

	if (n < 0 || ike_msg_protect(sa, IKEV2_INFORMATIONAL, false, sa->tx_mid, first,
				     sa->e->plain, (size_t)n, &sa->req)) {
		log_warn("ike", "cannot build INFORMATIONAL sa=%u", sa->id);
		return;
	}
	sa->tx_mid++;
	sa->req_child = child;
	ike_sa_send_req(sa, kind);
}

void ike_info_send_delete_child(struct ike_sa *sa, uint32_t child_id)
{
	struct ike_child *c = ike_child_by_id(sa->e, child_id);
	struct ikev2_builder b;
	struct wire_error werr;
	uint8_t spi[4];

	if (!c || c->sa != sa)
		return;
	c->state = CHILD_ST_DELETING;
	put_be32(spi, c->spi_in);
	ikev2_build_begin(&b, sa->e->plain, sizeof(sa->e->plain), NULL, &werr);
	ikev2_add_delete(&b, IKEV2_PROTO_ESP, 4, 1, spi);
	log_info("ike", "deleting CHILD SA child=%u sa=%u", child_id, sa->id);
	send_info(sa, &b, IKE_T_DELETE_CHILD, child_id);
}

void ike_info_send_delete_ike(struct ike_sa *sa)
{
	struct ikev2_builder b;
	struct wire_error werr;

	ikev2_build_begin(&b, sa->e->plain, sizeof(sa->e->plain), NULL, &werr);
	ikev2_add_delete(&b, IKEV2_PROTO_IKE, 0, 0, NULL);
	if (sa->state == IKE_ST_ESTABLISHED)
		ike_sa_set_state(sa, IKE_ST_DELETING);
	log_info("ike", "deleting IKE SA sa=%u", sa->id);
	send_info(sa, &b, IKE_T_DELETE_IKE, 0);
}

void ike_info_send_dpd(struct ike_sa *sa)
{
	struct ikev2_builder b;
	struct wire_error werr;

	ikev2_build_begin(&b, sa->e->plain, sizeof(sa->e->plain), NULL, &werr);
	ike_count(sa->e, IKE_C_dpd_sent);
	send_info(sa, &b, IKE_T_DPD, 0);
}

static void dpd_fire(void *arg)
{
	struct ike_sa *sa = arg;
	uint64_t idle = mono_ms() - sa->last_rx_ms, period = (uint64_t)sa->peer->dpd * 1000;

	if (sa->state != IKE_ST_ESTABLISHED)
		return;
	if (idle >= period) {
		ike_sa_task(sa, IKE_T_DPD, 0);
		timer_arm_ms(&sa->dpd, period);
	} else {
		timer_arm_ms(&sa->dpd, period - idle);
	}
}

void ike_dpd_arm(struct ike_sa *sa)
{
	sa->dpd.cb = dpd_fire;
	sa->dpd.arg = sa;
	if (sa->peer && sa->peer->dpd)
		timer_arm_ms(&sa->dpd, (uint64_t)sa->peer->dpd * 1000);
}

/* The DELETE payloads and notifies of an INFORMATIONAL message. */
void ike_info_request(struct ike_sa *sa, uint32_t mid, const struct ikev2_chain *c)
{
	struct ike_engine *e = sa->e;
	uint8_t spis[4 * 64];
	uint16_t n_spis = 0;
	bool ike_del = false;
	struct ikev2_builder b;
	struct wire_error werr;
	int len;

	for (size_t i = 0; i < c->n; i++) {
		const struct ikev2_payload *p = &c->pl[i];
		struct ikev2_delete d;
		struct ikev2_notify nt;

		if (p->type == IKEV2_PL_NOTIFY && !ikev2_notify_parse(p, &nt, &werr)) {
			ike_count_rx_notify(e, nt.type);
			continue;
		}
		if (p->type != IKEV2_PL_DELETE)
			continue;
		if (ikev2_delete_parse(p, &d, &werr)) {
			ike_count(e, IKE_C_rx_invalid_syntax);
			ike_respond_error(sa, IKEV2_INFORMATIONAL, mid, IKEV2_N_INVALID_SYNTAX, NULL, 0);
			return;
		}
		if (d.protocol == IKEV2_PROTO_IKE) {
			ike_del = true;
			continue;
		}
		for (uint16_t k = 0; k < d.n && d.spi_size == 4; k++) {
			struct ike_child *ch = ike_child_by_spi(sa, get_be32(d.spis + 4 * k), true);

			if (!ch)
				continue;
			if (n_spis < 64)
				put_be32(spis + 4 * n_spis++, ch->spi_in);
			ike_count(e, IKE_C_child_deleted);
			log_info("ike", "CHILD SA deleted by the peer child=%u sa=%u", ch->id, sa->id);
			if (ch->state == CHILD_ST_REKEYED)
				ike_child_retire(ch);
			else
				ike_child_remove(ch, true);
		}
	}
	ikev2_build_begin(&b, e->plain, sizeof(e->plain), NULL, &werr);
	if (n_spis && !ike_del)
		ikev2_add_delete(&b, IKEV2_PROTO_ESP, 4, n_spis, spis);
	len = ikev2_build_end(&b);
	if (len >= 0)
		ike_msg_respond(sa, IKEV2_INFORMATIONAL, mid, b.n ? b.first : IKEV2_PL_NONE, e->plain,
				(size_t)len);
	if (ike_del) {
		log_info("ike", "IKE SA deleted by the peer sa=%u", sa->id);
		ike_sa_close(sa, "deleted by the peer");
	}
}

void ike_info_response(struct ike_sa *sa, const struct ikev2_chain *c)
{
	enum ike_task_kind kind = sa->req_kind;
	uint32_t child = sa->req_child;

	ike_sa_req_done(sa);
	for (size_t i = 0; i < c->n; i++) {
		struct ikev2_notify nt;
		struct wire_error werr;

		if (c->pl[i].type == IKEV2_PL_NOTIFY && !ikev2_notify_parse(&c->pl[i], &nt, &werr))
			ike_count_rx_notify(sa->e, nt.type);
	}
	if (kind == IKE_T_DELETE_IKE) {
		ike_sa_close(sa, "deleted");
		return;
	}
	if (kind == IKE_T_DELETE_CHILD) {
		struct ike_child *ch = ike_child_by_id(sa->e, child);

		if (ch && ch->sa == sa) {
			ike_count(sa->e, IKE_C_child_deleted);
			if (ch->replaced_by)
				ike_child_retire(ch);	/* make before break */
			else
				ike_child_remove(ch, true);
		}
	}
	ike_sa_next_task(sa);
}
