/* Route optimisation of the mobile node (RFC 6275 §11.6-11.7.2, §11.3.1).
 *
 * Correspondent entries live in the same Binding Update List as the home
 * registration (BUL_CN); the machine of mip6/bul.h asks for the return
 * routability exchange (START_RR), collects the Home and Care-of keygen
 * tokens (HOT / COT events) and then asks for a BU. This file turns those
 * actions into packets (docs/mip6-transport.md):
 *
 *   HoTI: reverse tunnel to the HA: IPv6(src=HoA, dst=CN)/MH(HoTI)
 *   CoTI: UDP(CoA->CN) IPv6(src=CoA, dst=CN)/MH(CoTI)
 *   BU:   UDP(CoA->CN) IPv6(src=CoA, dst=CN)/DestOpt(HAO=HoA)/MH(BU A,
 *         Nonce Indices, Binding Authorization Data)
 *   data: host packets to a bound CN get a HAO and src=CoA, then go in UDP
 *         straight to the CN; packets from the CN with a RH2 naming the HoA
 *         lose the RH2 and reach the host with dst=HoA.
 *
 * RR starts for the configured correspondents once the home registration
 * is bound, and on demand for the first host packet to a destination
 * outside the home prefix (rate-limited, at most MN_MAX_CNS entries). A CN
 * that never answers or refuses leaves the entry IDLE: its traffic keeps
 * using the reverse tunnel (§11.3.1), and the CN is not tried again for
 * RO_HOLDDOWN_MS. */
#include <arpa/inet.h>
#include <string.h>

#include "core/log.h"
#include "mip6/endpoint.h"
#include "mip6/mn_priv.h"
#include "mip6/rr.h"
#include "wire/exthdr.h"
#include "wire/ipv6.h"
#include "wire/mh.h"

#define MOD "mn"
#define MIP6_PORT 4191
#define RO_START_INTERVAL_MS 200	/* on-demand RR starts at most this often */
#define RO_HOLDDOWN_MS 600000		/* after giving up on a CN */
#define RO_TOKEN_MAX_MS ((RR_MAX_TOKEN_LIFETIME - 10) * 1000ull)	/* margin */

static COUNTER_DEFINE(c_hoti, "mipsec_mn_hoti_sent_total", "Home Test Init messages sent");
static COUNTER_DEFINE(c_coti, "mipsec_mn_coti_sent_total", "Care-of Test Init messages sent");
static COUNTER_DEFINE(c_hot, "mipsec_mn_hot_received_total", "Home Test messages accepted");
static COUNTER_DEFINE(c_cot, "mipsec_mn_cot_received_total", "Care-of Test messages accepted");
static COUNTER_DEFINE(c_cn_bu, "mipsec_mn_cn_bu_sent_total",
		      "Binding Updates sent to correspondent nodes");
static COUNTER_DEFINE(c_cn_ba, "mipsec_mn_cn_ba_received_total",
		      "Binding Acknowledgements from correspondent nodes accepted");
static COUNTER_DEFINE(c_cn_ba_bad, "mipsec_mn_cn_ba_bad_total",
		      "BAs from correspondent nodes dropped: missing or wrong authenticator");
static COUNTER_DEFINE(c_cn_give_up, "mipsec_mn_cn_give_up_total",
		      "Correspondents given up: traffic stays in the reverse tunnel");
static COUNTER_DEFINE(c_ro_out, "mipsec_mn_ro_sent_total",
		      "Host packets sent route-optimised (HAO) to a correspondent");
static COUNTER_DEFINE(c_ro_in, "mipsec_mn_ro_received_total",
		      "Route-optimised packets (RH2) from a correspondent given to the host");
static COUNTER_DEFINE(c_ro_in_bad, "mipsec_mn_ro_rx_dropped_total",
		      "RH2 packets dropped: wrong home address, care-of address or unknown CN");
static COUNTER_DEFINE(c_ro_skipped, "mipsec_mn_ro_skipped_total",
		      "Route optimisation steps skipped (no CoA, no home binding, IPv4 CoA)");

void mn_ro_init(void)
{
	counter_register(&c_hoti);
	counter_register(&c_coti);
	counter_register(&c_hot);
	counter_register(&c_cot);
	counter_register(&c_cn_bu);
	counter_register(&c_cn_ba);
	counter_register(&c_cn_ba_bad);
	counter_register(&c_cn_give_up);
	counter_register(&c_ro_out);
	counter_register(&c_ro_in);
	counter_register(&c_ro_in_bad);
	counter_register(&c_ro_skipped);
}

static const char *fmt6(const void *a, char *b, size_t n)
{
	return inet_ntop(AF_INET6, a, b, (socklen_t)n) ? b : "?";
}

static size_t cn_count(const struct mn *mn)
{
	size_t n = 0;

	for (size_t i = 0; i < bul_count(mn->bul); i++)
		n += bul_at(mn->bul, i)->kind == BUL_CN;
	return n;
}

static bool held_down(const struct mn *mn, const struct in6_addr *cn, uint64_t now)
{
	for (size_t i = 0; i < MN_MAX_CNS; i++)
		if (mn->ro_hold[i].until_ms > now && memcmp(&mn->ro_hold[i].addr, cn, 16) == 0)
			return true;
	return false;
}

struct bul_entry *mn_ro_add_cn(struct mn *mn, const struct in6_addr *cn)
{
	struct bul_entry *e = bul_find(mn->bul, cn, &mn->hoa);

	if (e)
		return e->kind == BUL_CN ? e : NULL;
	if (cn_count(mn) >= MN_MAX_CNS)
		return NULL;
	e = bul_add(mn->bul, cn, &mn->hoa, BUL_CN);
	if (e) {
		uint32_t l = mn->cfg->lifetime_s;
		e->lifetime_req_s = l < RR_MAX_RR_BINDING_LIFETIME ? l : RR_MAX_RR_BINDING_LIFETIME;
	}
	return e;
}

static void feed(struct mn *mn, struct bul_entry *e, const struct bul_event *ev)
{
	struct bul_step st = bul_handle(mn->bul, e, ev, mono_ms());

	mn_ro_step(mn, e, &st);
	mn_reg_arm(mn);
}

/* Starts (or restarts after a move) RR with an entry when RO can run:
 * an IPv6 CoA, away from home, and a home binding for the HoTI's tunnel. */
static void kick(struct mn *mn, struct bul_entry *e)
{
	struct bul_event ev = { .type = BUL_EV_MOVED };

	if (mn->at_home || !mn_reg_bound(mn) || !mn_coa(mn, &ev.coa) ||
	    ev.coa.family != AF_INET6) {
		counter_inc(&c_ro_skipped);
		return;
	}
	if (held_down(mn, &e->peer, mono_ms()))
		return;
	feed(mn, e, &ev);
}

/* The home registration is (again) bound: RR with the configured
 * correspondents, and with every correspondent whose binding does not
 * name the current CoA (a move: CoTI again, the home token may be reused). */
void mn_ro_home_bound(struct mn *mn)
{
	struct ip_addr coa;

	if (!mn->cfg->route_optimisation || !mn_coa(mn, &coa) || coa.family != AF_INET6)
		return;
	for (size_t i = 0; i < mn->cfg->n_correspondents; i++)
		mn_ro_add_cn(mn, &mn->cfg->correspondents[i]);
	for (size_t i = 0; i < bul_count(mn->bul); i++) {
		struct bul_entry *e = bul_at(mn->bul, i);
		if (e->kind != BUL_CN)
			continue;
		bool same = e->coa.family == AF_INET6 && memcmp(&e->coa.v6, &coa.v6, 16) == 0;
		if (e->fsm.state == BUL_IDLE || !same)
			kick(mn, e);
	}
}

void mn_ro_return_home(struct mn *mn)
{
	for (size_t i = 0; i < bul_count(mn->bul); i++) {
		struct bul_entry *e = bul_at(mn->bul, i);
		if (e->kind != BUL_CN)
			continue;
		struct bul_event ev = { .type = BUL_EV_RETURN_HOME };
		feed(mn, e, &ev);
	}
}

static int mh_packet(uint8_t *buf, size_t size, const struct in6_addr *src,
		     const struct in6_addr *dst, uint8_t type, const uint8_t cookie[8])
{
	struct wire_error err;
	struct mh_builder b;

	if (size < IPV6_HDR_LEN + 16)
		return -1;
	mh_build_begin(&b, buf + IPV6_HDR_LEN, size - IPV6_HDR_LEN, type,
		       &(union mh_body){ .hoti = { .cookie = cookie } }, &err);
	int mlen = mh_build_finish(&b, src->s6_addr, dst->s6_addr);
	if (mlen < 0)
		return -1;
	struct ipv6_hdr h = { .payload_length = (uint16_t)mlen, .next_header = PROTO_MH,
			      .hop_limit = 64, .src = src->s6_addr, .dst = dst->s6_addr };
	if (ipv6_build(buf, size, &h, &err) < 0)
		return -1;
	return IPV6_HDR_LEN + mlen;
}

static void send_init(struct mn *mn, struct bul_entry *e, bool home, const struct ip_addr *coa)
{
	uint8_t buf[128];
	uint8_t *cookie = home ? e->home_cookie : e->careof_cookie;
	char b[64];

	/* A retransmission (retries > 0) keeps the cookie it replaces. */
	if (e->fsm.retries > 0) {
		memcpy(home ? e->home_cookie_prev : e->careof_cookie_prev, cookie, 8);
		*(home ? &e->home_prev_valid : &e->careof_prev_valid) = true;
	} else {
		*(home ? &e->home_prev_valid : &e->careof_prev_valid) = false;
	}
	if (rr_random(cookie, 8) < 0)
		return;
	int n = mh_packet(buf, sizeof(buf), home ? &mn->hoa : &coa->v6, &e->peer,
			  home ? MH_HOTI : MH_COTI, cookie);
	if (n < 0)
		return;
	struct ip_addr dst = { .family = AF_INET6, .v6 = home ? mn->home->peer : e->peer };
	/* HoTI rides the reverse tunnel (§5.2.5): it must reach the CN from
	 * the home address, and the HoT come back through the HA. */
	int rc = home ? mn_tun_send(mn, coa, buf, (size_t)n) :
			mip6_ep_send(mn->ep, &dst, MIP6_PORT, coa, buf, (size_t)n);
	if (rc < 0)
		return;
	counter_inc(home ? &c_hoti : &c_coti);
	log_info(MOD, "%s sent cn=%s retry=%u", home ? "HoTI" : "CoTI", fmt6(&e->peer, b, sizeof(b)),
		 e->fsm.retries);
}

void mn_ro_start_rr(struct mn *mn, struct bul_entry *e, uint8_t which)
{
	struct ip_addr coa;
	uint64_t now = mono_ms();

	if (mn->at_home || !mn->home || !mn_coa(mn, &coa) || coa.family != AF_INET6) {
		counter_inc(&c_ro_skipped);
		return;
	}
	/* The machine keeps the home token across a move; it is only good
	 * for RR_MAX_TOKEN_LIFETIME after it arrived (§5.2.7). */
	if (!(which & BUL_TOK_HOME) && (!e->home.valid || now - e->home.rx_ms > RO_TOKEN_MAX_MS)) {
		e->fsm.tokens &= (uint8_t)~BUL_TOK_HOME;
		e->home.valid = false;
		which |= BUL_TOK_HOME;
	}
	if (which & BUL_TOK_HOME) {
		if (mn_reg_bound(mn))
			send_init(mn, e, true, &coa);
		else
			counter_inc(&c_ro_skipped);	/* no tunnel yet: the retry sends it */
	}
	if (which & BUL_TOK_CAREOF)
		send_init(mn, e, false, &coa);
	mip6_ep_flush(mn->ep);
}

static int cn_bu_build(uint8_t *buf, size_t size, const struct mn *mn, const struct bul_entry *e,
		       const struct in6_addr *coa, bool dereg, const uint8_t kbm[RR_KBM_LEN])
{
	struct wire_error err;
	struct mh_builder b;
	bool hao = memcmp(coa, &mn->hoa, 16) != 0;	/* from home: none (§11.7.2) */
	size_t off = IPV6_HDR_LEN;
	uint32_t lifetime = dereg ? 0 : e->lifetime_req_s;
	uint8_t zero[RR_AUTH_LEN] = { 0 };

	if (size < IPV6_HDR_LEN + 24)
		return -1;
	if (hao) {
		int n = ext_hao_build(buf + off, size - off, PROTO_MH, mn->hoa.s6_addr, &err);
		if (n < 0)
			return -1;
		off += (size_t)n;
	}
	mh_build_begin(&b, buf + off, size - off, MH_BU,
		       &(union mh_body){ .bu = { .seq = e->seq, .flags = MH_BU_A,
						 .lifetime = (uint16_t)((lifetime + 3u) / 4u) } },
		       &err);
	mh_build_nonce(&b, e->home.nonce_index, dereg ? 0 : e->careof.nonce_index);
	mh_build_auth(&b, zero, RR_AUTH_LEN);
	int mlen = mh_build_finish(&b, mn->hoa.s6_addr, e->peer.s6_addr);
	if (mlen < 0)
		return -1;
	if (rr_seal(buf + off, (size_t)mlen, kbm, coa->s6_addr, e->peer.s6_addr, mn->hoa.s6_addr,
		    e->peer.s6_addr) < 0)
		return -1;
	struct ipv6_hdr h = {
		.payload_length = (uint16_t)(off - IPV6_HDR_LEN + (size_t)mlen),
		.next_header = hao ? PROTO_DSTOPTS : PROTO_MH,
		.hop_limit = 64,
		.src = coa->s6_addr,
		.dst = e->peer.s6_addr,
	};
	if (ipv6_build(buf, size, &h, &err) < 0)
		return -1;
	return (int)(off + (size_t)mlen);
}

static bool fresh(const struct bul_token *t, uint64_t now)
{
	return t->valid && now - t->rx_ms <= RO_TOKEN_MAX_MS;
}

/* Kbm from the entry's tokens (§5.2.5); false when they are missing. */
static bool entry_kbm(const struct bul_entry *e, bool dereg, uint8_t kbm[RR_KBM_LEN])
{
	uint64_t now = mono_ms();

	if (!fresh(&e->home, now) || (!dereg && !fresh(&e->careof, now)))
		return false;
	return rr_kbm(e->home.token, dereg ? NULL : e->careof.token, kbm) == 0;
}

void mn_ro_send_bu(struct mn *mn, struct bul_entry *e, bool dereg)
{
	uint8_t buf[256], kbm[RR_KBM_LEN];
	struct ip_addr coa;
	char b[64], cb[64];

	if (mn->at_home || (dereg && !mn_coa(mn, &coa)))
		coa = (struct ip_addr){ .family = AF_INET6, .v6 = mn->hoa };
	else if (!mn_coa(mn, &coa) || coa.family != AF_INET6) {
		counter_inc(&c_ro_skipped);
		return;
	}
	if (!entry_kbm(e, dereg, kbm)) {
		/* Tokens aged out while waiting: the retransmission timer runs
		 * RR again through a BA-less timeout; nothing valid to send. */
		counter_inc(&c_ro_skipped);
		log_info(MOD, "BU to cn=%s not sent: keygen tokens missing or too old",
			 fmt6(&e->peer, b, sizeof(b)));
		return;
	}
	int n = cn_bu_build(buf, sizeof(buf), mn, e, &coa.v6, dereg, kbm);
	if (n < 0) {
		log_err(MOD, "BU to a correspondent: build failed");
		return;
	}
	e->coa = coa;
	struct ip_addr dst = { .family = AF_INET6, .v6 = e->peer };
	if (mip6_ep_send(mn->ep, &dst, MIP6_PORT, &coa, buf, (size_t)n) < 0)
		return;
	mip6_ep_flush(mn->ep);
	counter_inc(&c_cn_bu);
	log_info(MOD, "BU sent cn=%s coa=%s seq=%u lifetime=%u%s", fmt6(&e->peer, b, sizeof(b)),
		 ip_addr_fmt(&coa, cb, sizeof(cb)), e->seq, dereg ? 0 : e->lifetime_req_s,
		 dereg ? " dereg=yes" : "");
}

void mn_ro_step(struct mn *mn, struct bul_entry *e, const struct bul_step *st)
{
	char b[64];

	switch (st->action) {
	case BUL_ACT_START_RR:
		mn_ro_start_rr(mn, e, st->rr_send);
		break;
	case BUL_ACT_SEND_BU:
	case BUL_ACT_SEND_DEREG:
		mn_ro_send_bu(mn, e, st->action == BUL_ACT_SEND_DEREG);
		break;
	case BUL_ACT_GIVE_UP: {
		size_t slot = 0;
		uint64_t now = mono_ms();
		for (size_t i = 0; i < MN_MAX_CNS; i++)
			if (mn->ro_hold[i].until_ms < mn->ro_hold[slot].until_ms)
				slot = i;
		mn->ro_hold[slot].addr = e->peer;
		mn->ro_hold[slot].until_ms = now + RO_HOLDDOWN_MS;
		counter_inc(&c_cn_give_up);
		log_warn(MOD, "route optimisation with cn=%s abandoned status=%u: reverse tunnel",
			 fmt6(&e->peer, b, sizeof(b)), e->last_status);
		break;
	}
	case BUL_ACT_NONE:
		break;
	}
}

static bool cookie_ours(const struct bul_entry *e, bool home, const uint8_t cookie[8])
{
	if (rr_equal(cookie, home ? e->home_cookie : e->careof_cookie, 8))
		return true;
	return (home ? e->home_prev_valid : e->careof_prev_valid) &&
	       rr_equal(cookie, home ? e->home_cookie_prev : e->careof_cookie_prev, 8);
}

/* HoT (via the HA, to the HoA) or CoT (to the CoA) from a correspondent
 * we have an entry for, echoing the cookie we sent (§11.6.2). */
void mn_ro_rx(struct mn *mn, const struct ipv6_chain *c, const struct mh_msg *m)
{
	struct in6_addr peer;
	bool home = m->type == MH_HOT;

	memcpy(&peer, c->ip.src, 16);
	struct bul_entry *e = bul_find(mn->bul, &peer, &mn->hoa);
	/* The HoT must have come to the home address (through the HA),
	 * the CoT to the care-of address the CoTI left from. */
	const struct in6_addr *to = home ? &mn->hoa :
				    e && e->coa.family == AF_INET6 ? &e->coa.v6 : NULL;
	if (!e || e->kind != BUL_CN || e->fsm.state != BUL_RR_WAIT || !to ||
	    memcmp(c->ip.dst, to, 16) != 0 || !cookie_ours(e, home, m->u.hot.cookie)) {
		counter_inc(&mn_c_rx_bad);
		log_info(MOD, "%s not matching an outstanding init dropped", home ? "HoT" : "CoT");
		return;
	}
	counter_inc(home ? &c_hot : &c_cot);
	struct bul_event ev = { .type = home ? BUL_EV_HOT : BUL_EV_COT,
				.nonce_index = m->u.hot.nonce_index };
	memcpy(ev.token, m->u.hot.token, 8);
	feed(mn, e, &ev);
}

/* BA from a correspondent (§11.7.3): it must carry a Binding
 * Authorization Data option made with the Kbm of our BU. */
void mn_ro_ba(struct mn *mn, struct bul_entry *e, const uint8_t *pkt, const struct ipv6_chain *c,
	      const struct mh_msg *m)
{
	uint8_t kbm[RR_KBM_LEN];
	char b[64];
	bool dereg = e->fsm.state == BUL_DEREGISTERING;
	const uint8_t *mh = pkt + c->off;

	if (e->coa.family != AF_INET6 || !entry_kbm(e, dereg, kbm) ||
	    rr_auth_offset(mh, c->len) < 0 ||
	    !rr_auth_verify(kbm, e->coa.v6.s6_addr, e->peer.s6_addr, mh, c->len,
			    (size_t)rr_auth_offset(mh, c->len))) {
		/* §6.1.8: status >= 128 may come without the option. */
		if (m->u.ba.status < BA_STATUS_REJECT_MIN) {
			counter_inc(&c_cn_ba_bad);
			log_info(MOD, "BA from cn=%s without a valid authenticator dropped",
				 fmt6(&e->peer, b, sizeof(b)));
			return;
		}
	}
	counter_inc(&c_cn_ba);
	log_info(MOD, "BA received cn=%s status=%u seq=%u lifetime=%u state=%s",
		 fmt6(&e->peer, b, sizeof(b)), m->u.ba.status, m->u.ba.seq,
		 (unsigned)m->u.ba.lifetime * 4u, bul_state_name(e->fsm.state));
	struct bul_event ev = {
		.type = m->u.ba.status < BA_STATUS_REJECT_MIN ? BUL_EV_BA_ACCEPTED :
								 BUL_EV_BA_REJECTED,
		.status = m->u.ba.status, .seq = m->u.ba.seq,
		.lifetime_s = (uint32_t)m->u.ba.lifetime * 4u };
	feed(mn, e, &ev);
}

void mn_ro_brr(struct mn *mn, struct bul_entry *e)
{
	struct bul_event ev = { .type = BUL_EV_BRR };

	feed(mn, e, &ev);
}

static bool in_home_prefix(const struct mn *mn, const uint8_t *a)
{
	unsigned len = mn->home_prefix.len;
	const uint8_t *p = mn->home_prefix.addr.bytes;

	if (memcmp(a, p, len / 8) != 0)
		return false;
	if (len % 8 == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - len % 8));
	return (a[len / 8] & mask) == (p[len / 8] & mask);
}

/* Destinations RO makes sense for: global unicast outside the home prefix. */
static bool ro_candidate(const struct mn *mn, const uint8_t *dst)
{
	return dst[0] != 0xff && !(dst[0] == 0xfe && (dst[1] & 0xc0) == 0x80) &&
	       !ipv6_bad_hoa(dst) && !in_home_prefix(mn, dst) &&
	       !(mn->home && memcmp(dst, &mn->home->peer, 16) == 0);
}

static void on_demand(struct mn *mn, const struct in6_addr *dst, struct bul_entry *e)
{
	uint64_t now = mono_ms();

	if (e && e->fsm.state != BUL_IDLE)
		return;
	if (now - mn->ro_last_start_ms < RO_START_INTERVAL_MS || held_down(mn, dst, now))
		return;
	if (!e)
		e = mn_ro_add_cn(mn, dst);
	if (!e)
		return;
	mn->ro_last_start_ms = now;
	kick(mn, e);
}

/* A host packet (src = HoA): true when it left route-optimised. */
bool mn_ro_from_host(struct mn *mn, struct mip6_tunpkt *p)
{
	struct in6_addr dst;
	struct ip_addr coa;

	if (!mn->cfg->route_optimisation || !ro_candidate(mn, p->pkt + 24))
		return false;
	memcpy(&dst, p->pkt + 24, 16);
	struct bul_entry *e = bul_find(mn->bul, &dst, &mn->hoa);
	if (!e || e->kind != BUL_CN || e->fsm.state != BUL_BOUND) {
		on_demand(mn, &dst, e && e->kind == BUL_CN ? e : NULL);
		return false;
	}
	/* The binding must name the CoA we would send from, and the HAO has
	 * to follow a Hop-by-Hop header we do not move: tunnel those. */
	if (!mn_coa(mn, &coa) || coa.family != AF_INET6 || e->coa.family != AF_INET6 ||
	    memcmp(&coa.v6, &e->coa.v6, 16) != 0 || p->pkt[6] == PROTO_HOPOPTS ||
	    p->headroom < 24 || p->len + 24 > 0xffff + IPV6_HDR_LEN)
		return false;
	struct wire_error err;
	uint8_t *np = p->pkt - 24;
	memmove(np, p->pkt, IPV6_HDR_LEN);
	if (ext_hao_build(np + IPV6_HDR_LEN, 24, np[6], mn->hoa.s6_addr, &err) != 24)
		return false;
	np[6] = PROTO_DSTOPTS;
	uint16_t plen = (uint16_t)(((np[4] << 8) | np[5]) + 24);
	np[4] = (uint8_t)(plen >> 8);
	np[5] = (uint8_t)plen;
	/* The upper-layer checksum stays valid: with a HAO its pseudo-header
	 * still uses the home address (§6.3). */
	memcpy(np + 8, &coa.v6, 16);
	if (mip6_ep_send(mn->ep, &(struct ip_addr){ .family = AF_INET6, .v6 = dst }, MIP6_PORT,
			 &coa, np, p->len + 24) < 0) {
		counter_inc(&mn_c_tun_drop);
		return true;
	}
	counter_inc(&c_ro_out);
	return true;
}

/* A packet with a RH2 (segments left 1, checked by the walk) in UDP: from a
 * correspondent we have an entry for, to our CoA, naming our HoA. */
void mn_ro_rx_data(struct mn *mn, struct mip6_rx *rx, const struct ipv6_chain *c)
{
	struct in6_addr src;
	uint8_t *pkt = rx->pkt;

	memcpy(&src, c->ip.src, 16);
	struct bul_entry *e = bul_find(mn->bul, &src, &mn->hoa);
	if (!e || e->kind != BUL_CN || memcmp(c->rh2, &mn->hoa, 16) != 0 ||
	    c->n < 1 || c->ext[0].proto != PROTO_ROUTING || c->ext[0].off != IPV6_HDR_LEN ||
	    c->ext[0].len != 24 || rx->len < IPV6_HDR_LEN + 24) {
		counter_inc(&c_ro_in_bad);
		return;
	}
	/* Drop the RH2: its Next Header moves into the IPv6 header, which
	 * moves up over it, and the destination becomes the HoA. */
	pkt[6] = pkt[IPV6_HDR_LEN];
	uint16_t plen = (uint16_t)(((pkt[4] << 8) | pkt[5]) - 24);
	pkt[4] = (uint8_t)(plen >> 8);
	pkt[5] = (uint8_t)plen;
	memmove(pkt + 24, pkt, IPV6_HDR_LEN);
	pkt += 24;
	memcpy(pkt + 24, &mn->hoa, 16);
	counter_inc(&c_ro_in);
	mn_tun_to_host(mn, pkt, rx->len - 24);
}
