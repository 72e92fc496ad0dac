/* Home registration (RFC 6275 §11.7.1, §11.7.3, §11.8, §11.5.5) driving
 * the Binding Update List machine of mip6/bul.h: this file turns its
 * actions into packets and received Mobility Headers into its events.
 *
 *   BU:    UDP(CoA→HA) IPv6(src=CoA, dst=HA)/DestOpt(HAO=HoA)/MH(BU A,H)
 *   dereg from home: UDP(HoA→HA) IPv6(src=HoA, dst=HA)/MH(BU lifetime 0)
 *   BA:    UDP(HA→CoA) IPv6(src=HA, dst=CoA)/RH2(HoA)/MH(BA)
 *
 * Route optimisation hook: correspondent entries (BUL_CN) live in the same
 * list; step_done() hands their steps to mn_ro.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "core/log.h"
#include "mip6/endpoint.h"
#include "mip6/mn_priv.h"
#include "wire/exthdr.h"
#include "wire/mh.h"

#define MOD "mn"
#define MIP6_PORT 4191

int mn_bu_build(uint8_t *buf, size_t size, const struct in6_addr *coa,
		const struct in6_addr *ha, const struct in6_addr *hoa, uint16_t seq,
		uint16_t flags, uint32_t lifetime_s)
{
	struct wire_error err;
	struct mh_builder b;
	/* Always a HAO, even from home where it repeats the source (§11.5.5):
	 * an HA that takes the home address from the Source Address when no
	 * HAO is present (§9.5.1) and one that insists on the option both
	 * accept this form. */
	bool hao = true;
	size_t off = IPV6_HDR_LEN;
	uint32_t units = (lifetime_s + 3u) / 4u;	/* §6.1.7: 4-second units */

	if (units > 0xffff)
		units = 0xffff;
	if (size < IPV6_HDR_LEN + 24)
		return -1;
	if (hao) {
		int n = ext_hao_build(buf + off, size - off, PROTO_MH, hoa->s6_addr, &err);
		if (n < 0)
			return -1;
		off += (size_t)n;
	}
	mh_build_begin(&b, buf + off, size - off, MH_BU,
		       &(union mh_body){ .bu = { .seq = seq, .flags = flags,
						 .lifetime = (uint16_t)units } }, &err);
	/* Pseudo-header: the home address (HAO) to the HA (§6.1.1). */
	int mlen = mh_build_finish(&b, hoa->s6_addr, ha->s6_addr);
	if (mlen < 0)
		return -1;
	struct ipv6_hdr h = {
		.payload_length = (uint16_t)(off - IPV6_HDR_LEN + (size_t)mlen),
		.next_header = hao ? PROTO_DSTOPTS : PROTO_MH,
		.hop_limit = 64,
		.src = coa->s6_addr,
		.dst = ha->s6_addr,
	};
	if (ipv6_build(buf, size, &h, &err) < 0)
		return -1;
	return (int)(off + (size_t)mlen);
}

int mn_bu_build4(uint8_t *buf, size_t size, const struct in_addr *v4coa,
		 const struct in6_addr *ha, const struct in6_addr *hoa, uint16_t seq,
		 uint16_t flags, uint32_t lifetime_s)
{
	struct wire_error err;
	struct mh_builder b;
	uint32_t units = (lifetime_s + 3u) / 4u;

	if (units > 0xffff)
		units = 0xffff;
	if (size < IPV6_HDR_LEN + 24)
		return -1;
	mh_build_begin(&b, buf + IPV6_HDR_LEN, size - IPV6_HDR_LEN, MH_BU,
		       &(union mh_body){ .bu = { .seq = seq, .flags = flags,
						 .lifetime = (uint16_t)units } }, &err);
	mh_build_v4_coa(&b, (const uint8_t *)&v4coa->s_addr);
	int mlen = mh_build_finish(&b, hoa->s6_addr, ha->s6_addr);
	if (mlen < 0)
		return -1;
	struct ipv6_hdr h = {
		.payload_length = (uint16_t)mlen,
		.next_header = PROTO_MH,
		.hop_limit = 64,
		.src = hoa->s6_addr,
		.dst = ha->s6_addr,
	};
	if (ipv6_build(buf, size, &h, &err) < 0)
		return -1;
	return IPV6_HDR_LEN + mlen;
}

bool mn_reg_bound(const struct mn *mn)
{
	return mn->home && (mn->home->fsm.state == BUL_BOUND ||
			    mn->home->fsm.state == BUL_REFRESHING);
}

static void send_bu(struct mn *mn, struct bul_entry *e, bool dereg)
{
	uint8_t buf[256];
	char hb[64], cb[64];
	struct ip_addr coa, dst = { .family = AF_INET6, .v6 = e->peer };
	bool have = mn_coa(mn, &coa);
	int n;

	/* From home the care-of address is the home address (§11.5.5). */
	if (mn->at_home || (dereg && !have)) {
		coa = (struct ip_addr){ .family = AF_INET6, .v6 = e->hoa };
		have = true;
	}
	if (!have) {
		log_debug(MOD, "no care-of address: BU not sent");
		return;
	}
	uint32_t lifetime = dereg ? 0 : e->lifetime_req_s;
	if (coa.family == AF_INET) {
		/* RFC 5555 §4.2: over IPv4 to the HA's IPv4 address. */
		dst = (struct ip_addr){ .family = AF_INET, .v4 = mn->cfg->ha4 };
		n = mn_bu_build4(buf, sizeof(buf), &coa.v4, &e->peer, &e->hoa, e->seq,
				 MH_BU_A | MH_BU_H, lifetime);
	} else {
		n = mn_bu_build(buf, sizeof(buf), &coa.v6, &e->peer, &e->hoa, e->seq,
				MH_BU_A | MH_BU_H, lifetime);
	}
	if (n < 0) {
		log_err(MOD, "BU build failed");
		return;
	}
	e->coa = coa;
	e->lifetime_sent_s = lifetime;
	/* RFC 4877 with IKE: the BU leaves once its transport SA exists
	 * (mn_reg_sa_ready sends it then); the retransmission timer runs. */
	if (mn->ike && !mip6_ike_mn_ready(mn->ike, &e->hoa, &coa, &dst, &e->peer)) {
		log_info(MOD, "BU waits for the IKE transport SA seq=%u", e->seq);
		return;
	}
	struct mip6_sec_set *set = mn->sec ? mip6_sec_find(mn->sec, &e->hoa) : NULL;
	size_t len = (size_t)n;
	if (set) {
		/* RFC 4877 §4.3: the SAs move with the BU, no rekeying. */
		mip6_sec_move(mn->sec, &e->hoa, &coa);
		mip6_sec_home_agent(mn->sec, &e->hoa, &dst);
		if (mip6_sec_protect_mh(set, buf, sizeof(buf), &len) < 0) {
			log_err(MOD, "BU not sent: ESP failed");
			return;
		}
	}
	int rc = mip6_ep_send(mn->ep, &dst, MIP6_PORT, &coa, buf, len);
	mip6_ep_flush(mn->ep);
	if (mn->at_home)
		mn_home_solicit_ha(mn);
	if (rc < 0) {
		log_warn(MOD, "BU send failed ha=%s err=\"%s\"", ip_addr_fmt(&dst, hb, sizeof(hb)),
			 strerror(-rc));
		return;
	}
	counter_inc(&mn_c_bu_sent);
	log_info(MOD, "BU sent ha=%s coa=%s seq=%u lifetime=%u%s retry=%u",
		 ip_addr_fmt(&dst, hb, sizeof(hb)), ip_addr_fmt(&coa, cb, sizeof(cb)), e->seq,
		 lifetime, dereg ? " dereg=yes" : "", e->fsm.retries);
}

static void bul_timer_cb(void *arg);

void mn_reg_arm(struct mn *mn)
{
	uint64_t t = bul_next_deadline(mn->bul), now = mono_ms();

	if (t == UINT64_MAX)
		timer_cancel(&mn->bul_timer);
	else
		timer_arm_ms(&mn->bul_timer, t > now ? t - now : 0);
}

static void step_done(struct mn *mn, struct bul_entry *e, const struct bul_step *st)
{
	if (e->kind == BUL_CN) {
		mn_ro_step(mn, e, st);
		return;
	}
	switch (st->action) {
	case BUL_ACT_SEND_BU:
		send_bu(mn, e, false);
		break;
	case BUL_ACT_SEND_DEREG:
		send_bu(mn, e, true);
		break;
	case BUL_ACT_GIVE_UP:
		counter_inc(&mn_c_give_up);
		log_warn(MOD, "registration abandoned status=%u retries_exhausted=%s",
			 e->last_status, e->last_status ? "no" : "yes");
		if (e != mn->home || mn->at_home)
			break;
		if (!mn->cfg->has_ha) {
			mn_dhaad_next(mn);
		} else if (e->last_status == 0 || e->last_status == 130) {
			/* Unanswered, or the HA was short of resources: try
			 * again later; other refusals wait for a movement. */
			timer_arm_ms(&mn->retry_timer, mn->cfg->max_bindack_timeout_ms);
		}
		break;
	case BUL_ACT_START_RR:	/* home entries never ask for it */
	case BUL_ACT_NONE:
		break;
	}
}

static void timers_step(struct bul_entry *e, const struct bul_step *st, void *arg)
{
	step_done(arg, e, st);
}

static void bul_timer_cb(void *arg)
{
	struct mn *mn = arg;

	bul_run_timers(mn->bul, mono_ms(), timers_step, mn);
	mn_reg_arm(mn);
}

static void feed(struct mn *mn, struct bul_entry *e, const struct bul_event *ev)
{
	struct bul_step st = bul_handle(mn->bul, e, ev, mono_ms());

	step_done(mn, e, &st);
	mn_reg_arm(mn);
}

/* The entry for the current HA; entries of a previous HA are dropped. */
static struct bul_entry *home_entry(struct mn *mn)
{
	if (mn->home && memcmp(&mn->home->peer, &mn->ha, 16) == 0 &&
	    memcmp(&mn->home->hoa, &mn->hoa, 16) == 0)
		return mn->home;
	if (mn->home) {
		bul_remove(mn->bul, mn->home);
		mn->home = NULL;
	}
	mn->home = bul_add(mn->bul, &mn->ha, &mn->hoa, BUL_HOME);
	if (mn->home)
		mn->home->lifetime_req_s = mn->cfg->lifetime_s;
	return mn->home;
}

void mn_reg_moved(struct mn *mn)
{
	struct bul_event ev = { .type = BUL_EV_MOVED };

	if (mn->at_home)
		mn_home_detach(mn);
	if (!mn_coa(mn, &ev.coa))
		return;
	timer_cancel(&mn->ka_timer);	/* a new path: NAT detection starts over */
	mn->nat = false;
	if (!mn->ha_known) {
		if (ev.coa.family == AF_INET6)
			mn_dhaad_start(mn);
		return;
	}
	struct bul_entry *e = home_entry(mn);
	if (!e)
		return;
	feed(mn, e, &ev);
}

void mn_reg_sa_ready(struct mn *mn)
{
	struct bul_entry *e = mn->home;

	if (!e || e->fsm.state == BUL_IDLE || e->fsm.state == BUL_BOUND)
		return;
	send_bu(mn, e, e->fsm.state == BUL_DEREGISTERING);
}

void mn_reg_sa_lost(struct mn *mn)
{
	struct ip_addr coa;

	if (mn->at_home || !mn->ha_known || !mn->home || !mn_coa(mn, &coa))
		return;
	mn_reg_moved(mn);
}

void mn_reg_ha_ready(struct mn *mn)
{
	struct ip_addr coa;

	if (mn->at_home || !mn_coa(mn, &coa))
		return;
	mn_reg_moved(mn);
}

void mn_reg_detached(struct mn *mn)
{
	/* Nothing to send from: retransmissions continue from the timer and
	 * find no CoA; the next attachment restarts the registration. */
	log_notice(MOD, "no usable access link");
}

void mn_reg_return_home(struct mn *mn)
{
	if (!mn->ha_known || !mn->home || mn->home->fsm.state == BUL_IDLE) {
		/* Nothing registered: just use the home address natively. */
		mn->at_home = true;
		mn_home_attach(mn, mn->cur);
		mn->move_start_ms = 0;
		return;
	}
	mn->at_home = true;
	mn_home_attach(mn, mn->cur);
	mn_ro_return_home(mn);
	if (mn->home_ready)
		mn_reg_home_ready(mn);
}

void mn_reg_home_ready(struct mn *mn)
{
	if (!mn->at_home || !mn->home || mn->home->fsm.state == BUL_IDLE ||
	    mn->home->fsm.state == BUL_DEREGISTERING)
		return;
	struct bul_event ev = { .type = BUL_EV_RETURN_HOME };
	feed(mn, mn->home, &ev);
}

static void handover_done(struct mn *mn, const struct bul_entry *e)
{
	char hb[64], cb[64];
	struct ip_addr ha = { .family = AF_INET6, .v6 = e->peer };

	if (!mn->move_start_ms)
		return;
	uint64_t now = mono_ms();
	mn->last_handover_ms = (int64_t)(now - mn->move_start_ms);
	mn->handovers++;
	mn->move_start_ms = 0;
	counter_inc(&mn_c_handovers);
	counter_add(&mn_c_handover_ms, (uint64_t)mn->last_handover_ms);
	log_notice(MOD, "handover done ha=%s coa=%s iface=%s ms=%lld lifetime=%u",
		   ip_addr_fmt(&ha, hb, sizeof(hb)),
		   e->coa.family ? ip_addr_fmt(&e->coa, cb, sizeof(cb)) : "-",
		   mn->cur ? mn->cur->name : mn->cur4 ? mn->cur4->name : "-",
		   (long long)mn->last_handover_ms,
		   e->lifetime_granted_s);
}

/* RFC 5555 §4.2.1: a NAT Detection option in the BA says the HA saw our
 * IPv4 CoA translated; the NAT binding must then be kept alive. The
 * keepalive is a binding refresh every Refresh Time seconds (or
 * nat_keepalive_s when the option says 0), which also carries data. */
static void nat_check(struct mn *mn, const struct bul_entry *e, const struct mh_msg *m)
{
	const struct mh_opt *o = mh_find_opt(m, MH_OPT_NATD);

	if (!o || e->coa.family != AF_INET) {
		if (mn->nat)
			log_info(MOD, "no NAT on the path any more");
		mn->nat = false;
		timer_cancel(&mn->ka_timer);
		return;
	}
	uint32_t r = o->u.natd.refresh_time ? o->u.natd.refresh_time : mn->cfg->nat_keepalive_s;
	if (!mn->nat)
		log_notice(MOD, "NAT detected between us and the HA: keepalive every %u s", r);
	mn->nat = true;
	mn->nat_refresh_s = r;
	timer_arm_ms(&mn->ka_timer, (uint64_t)r * 1000u);
}

static void ka_timer_cb(void *arg)
{
	struct mn *mn = arg;

	if (!mn->nat || !mn->home || mn->home->fsm.state != BUL_BOUND)
		return;
	struct bul_event ev = { .type = BUL_EV_BRR };	/* refresh now */
	feed(mn, mn->home, &ev);
}

static void ba_rx(struct mn *mn, const uint8_t *pkt, const struct ipv6_chain *c,
		  const struct mh_msg *m)
{
	struct bul_entry *e = mn->home;
	char hb[64];

	if (!e || memcmp(c->ip.src, &e->peer, 16) != 0) {
		struct in6_addr src;
		memcpy(&src, c->ip.src, 16);
		struct bul_entry *cn = bul_find(mn->bul, &src, &mn->hoa);
		if (cn && cn->kind == BUL_CN) {	/* route optimisation (mn_ro.c) */
			mn_ro_ba(mn, cn, pkt, c, m);
			return;
		}
		counter_inc(&mn_c_rx_bad);
		log_info(MOD, "BA from a node we did not register with src=%s",
			 inet_ntop(AF_INET6, c->ip.src, hb, sizeof(hb)) ? hb : "?");
		return;
	}
	/* 001 BA routine 70 steps 72-74: with IPsec on, only a BA that our
	 * transport SA authenticated counts. */
	if (mn->sec && mn->rx_sec != MIP6_SEC_MH) {
		static struct mip6_sec_ratelog rl;
		counter_inc(&mn_c_ba_unprot);
		mip6_sec_log_drop(&rl, MOD, "Binding Acknowledgement without IPsec", e->hoa.s6_addr,
				  NULL);
		return;
	}
	/* §11.7.3: the BA comes with a RH2 naming the home address (or,
	 * from home, straight to the home address). */
	const uint8_t *to = c->rh2 ? c->rh2 : c->ip.dst;
	if (memcmp(to, &e->hoa, 16) != 0) {
		counter_inc(&mn_c_rx_bad);
		log_info(MOD, "BA not for our home address dropped");
		return;
	}
	uint8_t status = m->u.ba.status;
	if (status == 0 || status < BA_STATUS_REJECT_MIN)
		counter_inc(&mn_c_ba_ok);
	else if (status == BA_STATUS_SEQ_OUT_OF_WINDOW)
		counter_inc(&mn_c_ba_135);
	else
		counter_inc(&mn_c_ba_other);
	enum bul_state before = e->fsm.state;
	struct bul_event ev = {
		.type = status < BA_STATUS_REJECT_MIN ? BUL_EV_BA_ACCEPTED : BUL_EV_BA_REJECTED,
		.status = status,
		.seq = m->u.ba.seq,
		.lifetime_s = (uint32_t)m->u.ba.lifetime * 4u,
	};
	log_info(MOD, "BA received ha=%s status=%u seq=%u lifetime=%u state=%s",
		 inet_ntop(AF_INET6, c->ip.src, hb, sizeof(hb)) ? hb : "?", status,
		 m->u.ba.seq, ev.lifetime_s, bul_state_name(before));
	feed(mn, e, &ev);
	if (mn->home != e)
		return;		/* refused: the entry went with its HA (next HA) */
	if (ev.type == BUL_EV_BA_ACCEPTED && e->fsm.state == BUL_BOUND)
		nat_check(mn, e, m);
	if (ev.type == BUL_EV_BA_ACCEPTED && e->fsm.state == BUL_BOUND && before != BUL_BOUND) {
		handover_done(mn, e);
		mn_ro_home_bound(mn);
	}
	if (before == BUL_DEREGISTERING && e->fsm.state == BUL_IDLE && mn->at_home) {
		counter_inc(&mn_c_returned_home);
		handover_done(mn, e);
		/* §11.5.5: now take the home address over from the HA's proxy. */
		mn_home_announce(mn);
	}
}

static void be_rx(struct mn *mn, const struct ipv6_chain *c, const struct mh_msg *m)
{
	char hb[64];

	counter_inc(&mn_c_be);
	inet_ntop(AF_INET6, c->ip.src, hb, sizeof(hb));
	log_info(MOD, "Binding Error src=%s status=%u", hb, m->u.be.status);
	/* §11.3.6: status 1 from our HA means it has no binding for the HoA
	 * we used in a HAO: register again. Status 2 (unknown MH type) only
	 * says the peer does not speak what we sent; nothing to retry. */
	if (m->u.be.status == MH_BE_UNKNOWN_HAO && mn->home &&
	    memcmp(c->ip.src, &mn->home->peer, 16) == 0 && !mn->at_home) {
		struct bul_event ev = { .type = BUL_EV_MOVED };
		if (mn_coa(mn, &ev.coa))
			feed(mn, mn->home, &ev);
	}
}

void mn_reg_rx_mh(struct mn *mn, const uint8_t *pkt, size_t len)
{
	struct ipv6_chain c;
	struct wire_error err;
	struct mh_msg m;

	if (ipv6_walk(pkt, len, &c, &err) != WIRE_OK || c.proto != PROTO_MH || c.fragment) {
		counter_inc(&mn_c_mh_bad);
		return;
	}
	if (mh_parse(pkt + c.off, c.len, c.src, c.dst, &m, &err) != WIRE_OK) {
		counter_inc(&mn_c_mh_bad);
		log_info(MOD, "malformed Mobility Header dropped err=\"%s\"", err.msg);
		return;
	}
	switch (m.type) {
	case MH_BA:
		ba_rx(mn, pkt, &c, &m);
		break;
	case MH_BRR:
		counter_inc(&mn_c_brr);
		if (mn->home && memcmp(c.ip.src, &mn->home->peer, 16) == 0) {
			struct bul_event ev = { .type = BUL_EV_BRR };
			feed(mn, mn->home, &ev);
		} else {
			struct in6_addr src;
			memcpy(&src, c.ip.src, 16);
			struct bul_entry *cn = bul_find(mn->bul, &src, &mn->hoa);
			if (cn && cn->kind == BUL_CN)
				mn_ro_brr(mn, cn);	/* §11.7.4: RR again */
		}
		break;
	case MH_BE:
		be_rx(mn, &c, &m);
		break;
	case MH_HOT:
	case MH_COT:
		mn_ro_rx(mn, &c, &m);
		break;
	default:
		counter_inc(&mn_c_mh_bad);
		log_debug(MOD, "Mobility Header type %u ignored", m.type);
		break;
	}
}

void mn_reg_renumber(struct mn *mn, const struct ip_prefix *prefix)
{
	struct ip_addr n = { .family = AF_INET6 };
	char ob[64], nb[64];

	/* Same interface identifier under the new prefix. */
	for (unsigned i = 0; i < 16; i++) {
		uint8_t mask = i * 8 + 8 <= prefix->len ? 0xff :
			       i * 8 >= prefix->len ? 0 : (uint8_t)(0xff << (8 - prefix->len % 8));
		n.bytes[i] = (uint8_t)((prefix->addr.bytes[i] & mask) | (mn->hoa.s6_addr[i] & ~mask));
	}
	if (ipv6_bad_hoa(n.bytes) || memcmp(&n.v6, &mn->hoa, 16) == 0)
		return;
	struct ip_addr o = { .family = AF_INET6, .v6 = mn->hoa };
	log_notice(MOD, "home network renumbered: home address %s -> %s",
		   ip_addr_fmt(&o, ob, sizeof(ob)), ip_addr_fmt(&n, nb, sizeof(nb)));
	bool installed = mn->routing_installed;
	mn_tun_remove(mn);
	/* The old binding is left to lapse at the HA (its prefix is going). */
	if (mn->home) {
		bul_remove(mn->bul, mn->home);
		mn->home = NULL;
	}
	mn->hoa = n.v6;
	mn->home_prefix = *prefix;
	if (installed)
		mn_tun_install(mn);
	mn_reg_moved(mn);
}

static void retry_timer_cb(void *arg)
{
	struct mn *mn = arg;

	if (mn->at_home || !mn->home || mn->home->fsm.state != BUL_IDLE)
		return;
	log_info(MOD, "registering again after an abandoned attempt");
	mn_reg_moved(mn);
}

void mn_reg_init(struct mn *mn)
{
	timer_init(&mn->bul_timer, mn->loop, bul_timer_cb, mn);
	timer_init(&mn->retry_timer, mn->loop, retry_timer_cb, mn);
	timer_init(&mn->ka_timer, mn->loop, ka_timer_cb, mn);
	if (mn->cfg->has_ha) {
		mn->ha = mn->cfg->ha;
		mn->ha_known = true;
	}
}

/* Stop: deregister if bound, best effort (no wait for the BA). */
void mn_reg_fini(struct mn *mn)
{
	if (mn->home && mn_reg_bound(mn) && !mn->at_home) {
		struct bul_event ev = { .type = BUL_EV_RETURN_HOME };
		struct bul_step st = bul_handle(mn->bul, mn->home, &ev, mono_ms());
		if (st.action == BUL_ACT_SEND_DEREG)
			send_bu(mn, mn->home, true);
	}
	timer_cancel(&mn->bul_timer);
	timer_cancel(&mn->ka_timer);
	timer_cancel(&mn->retry_timer);
}
