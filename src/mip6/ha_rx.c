/* What the home agent receives on UDP 4191 (docs/mip6-transport.md):
 * Binding Updates (IPv6 CoA with a Home Address option, or IPv4 CoA with
 * the RFC 5555 IPv4 Care-of Address option), other Mobility Headers
 * (Binding Error status 2 for unknown types), Mobile Prefix Solicitations
 * and reverse-tunnelled packets of bound mobile nodes.
 *
 * The BU path does no allocation: the packet is parsed in place (mh.h), the
 * decision is ha_bu_decide(), the BA is built on the stack and queued in the
 * endpoint's sendmmsg batch. */
#include <arpa/inet.h>
#include <string.h>

#include "core/log.h"
#include "core/stats.h"
#include "mip6/ha_priv.h"
#include "mip6/mip6_ike.h"
#include "wire/icmp6msg.h"
#include "wire/ipv6.h"
#include "wire/mh.h"

#define MOD "ha"

static COUNTER_DEFINE(c_bu_rx, "mipsec_ha_bu_received_total", "Binding Updates received");
static COUNTER_DEFINE(c_bu_invalid, "mipsec_ha_bu_invalid_total",
		      "Binding Updates dropped: no Home Address option (and no IPv4 Care-of Address option), or an address that cannot be a home address");
static COUNTER_DEFINE(c_bu_noack, "mipsec_ha_bu_accepted_silently_total",
		      "Binding Updates accepted without a BA (A flag clear)");
static COUNTER_DEFINE(c_apply_err, "mipsec_ha_bu_apply_errors_total",
		      "Accepted Binding Updates that failed in the cache or the kernel (BA status 128)");
static COUNTER_DEFINE(c_created, "mipsec_ha_bindings_created_total", "Bindings created");
static COUNTER_DEFINE(c_updated, "mipsec_ha_bindings_updated_total", "Bindings refreshed or moved");
static COUNTER_DEFINE(c_deleted, "mipsec_ha_bindings_deleted_total",
		      "Bindings removed by deregistration");
static COUNTER_DEFINE(c_nat, "mipsec_ha_nat_detected_total",
		      "IPv4 Binding Updates whose outer source differs from the IPv4 Care-of Address option (RFC 5555 NAT detection)");
static COUNTER_DEFINE(c_mh_malformed, "mipsec_ha_mh_malformed_total",
		      "Mobility Headers dropped as malformed (length, options, payload proto)");
static COUNTER_DEFINE(c_mh_csum, "mipsec_ha_mh_checksum_errors_total",
		      "Mobility Headers dropped for a bad checksum");
static COUNTER_DEFINE(c_mh_unexpected, "mipsec_ha_mh_unexpected_total",
		      "Known Mobility Header types a home agent does not take (dropped)");
static COUNTER_DEFINE(c_inner_bad, "mipsec_ha_inner_malformed_total",
		      "Inner packets on UDP 4191 that are not valid IPv6");
static COUNTER_DEFINE(c_inner4, "mipsec_ha_inner_ipv4_dropped_total",
		      "Inner IPv4 packets dropped (IPv4 home addresses are not served)");
static COUNTER_DEFINE(c_rt_ok, "mipsec_ha_reverse_tunnel_packets_total",
		      "Reverse-tunnelled packets written into the TUN device");
static COUNTER_DEFINE(c_rt_drop, "mipsec_ha_reverse_tunnel_dropped_total",
		      "Tunnelled packets whose source is not a home address bound to the outer source");
static COUNTER_DEFINE(c_be_limited, "mipsec_ha_be_ratelimited_total",
		      "Binding Errors not sent because of the rate limit (RFC 6275 §9.3.3)");
static COUNTER_DEFINE(c_dhaad_tun, "mipsec_ha_dhaad_tunnel_requests_total",
		      "Home Agent Address Discovery Requests received through the tunnel");
static COUNTER_DEFINE(c_hao_nobind, "mipsec_ha_hao_no_binding_total",
		      "Packets with a Home Address option and no binding for it (BE status 1)");
static COUNTER_DEFINE(c_bu_unprot, "mipsec_ha_bu_unprotected_total",
		      "Binding Updates dropped without a BA: IPsec is required for the home address and the BU came without ESP (RFC 4877 §4.1, 000 step 78)");
static COUNTER_DEFINE(c_bu_wrong_sa, "mipsec_ha_bu_wrong_sa_total",
		      "Binding Updates dropped without a BA: protected by an SA other than the transport SA of their home address");
static COUNTER_DEFINE(c_tun_unprot, "mipsec_ha_tunnel_unprotected_total",
		      "Tunnelled packets dropped: IPsec is required for the source home address and the packet came without ESP");
static COUNTER_DEFINE(c_tun_wrong_sa, "mipsec_ha_tunnel_wrong_sa_total",
		      "Tunnelled packets dropped: not in the tunnel SA of their source home address");
static COUNTER_DEFINE(c_esp_drop, "mipsec_ha_esp_dropped_total",
		      "ESP packets dropped: no SA, replayed, failed ICV or outside the SA's selectors (details in mipsec_esp_*)");

/* One log line per kind of refusal and interval (forged traffic must not
 * flood the log). */
static struct mip6_sec_ratelog rl_bu_unprot, rl_bu_wrong, rl_tun_unprot, rl_tun_wrong, rl_esp;

/* BA per status, BE per status. */
static struct counter c_ba[HA_BA_N_STATUS];
static char ba_labels[HA_BA_N_STATUS][16];
static struct counter c_be[2] = {
	{ .name = "mipsec_ha_be_sent_total", .help = "Binding Errors sent", .label = "status=\"1\"" },
	{ .name = "mipsec_ha_be_sent_total", .help = "Binding Errors sent", .label = "status=\"2\"" },
};

void ha_rx_counters_register(void)
{
	static struct counter *const all[] = {
		&c_bu_rx, &c_bu_invalid, &c_bu_noack, &c_apply_err, &c_created, &c_updated,
		&c_deleted, &c_nat, &c_mh_malformed, &c_mh_csum, &c_mh_unexpected, &c_inner_bad,
		&c_inner4, &c_rt_ok, &c_rt_drop, &c_hao_nobind, &c_be[0], &c_be[1],
		&c_be_limited, &c_dhaad_tun, &c_bu_unprot, &c_bu_wrong_sa, &c_tun_unprot,
		&c_tun_wrong_sa, &c_esp_drop,
	};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		counter_register(all[i]);
	for (size_t i = 0; i < HA_BA_N_STATUS; i++) {
		if (c_ba[i].name)
			continue;
		snprintf(ba_labels[i], sizeof(ba_labels[i]), "status=\"%u\"", ha_ba_statuses[i]);
		c_ba[i].name = "mipsec_ha_ba_sent_total";
		c_ba[i].help = "Binding Acknowledgements sent, by status";
		c_ba[i].label = ba_labels[i];
		counter_register(&c_ba[i]);
	}
}

static void count_ba(uint8_t status)
{
	for (size_t i = 0; i < HA_BA_N_STATUS; i++)
		if (ha_ba_statuses[i] == status) {
			counter_inc(&c_ba[i]);
			return;
		}
}

bool ha_is_local(const struct ha *ha, const uint8_t *dst)
{
	if (memcmp(dst, &ha->cfg->address, 16) == 0)
		return true;
	for (size_t i = 0; i < ha->cfg->n_prefixes; i++)
		if (memcmp(dst, &ha->anycast[i], 16) == 0)
			return true;
	return false;
}

/* IPv6(src, dst) [/ RH2(rh2)] / MH(msg) into buf. */
static size_t wrap_mh(uint8_t *buf, size_t size, const uint8_t *src, const uint8_t *dst,
		      const uint8_t *rh2, size_t mh_len)
{
	struct wire_error err;
	size_t hl = IPV6_HDR_LEN + (rh2 ? 24 : 0);
	struct ipv6_hdr h = {
		.payload_length = (uint16_t)(hl - IPV6_HDR_LEN + mh_len),
		.next_header = rh2 ? PROTO_ROUTING : PROTO_MH,
		.hop_limit = 64, .src = src, .dst = dst,
	};

	if (ipv6_build(buf, size, &h, &err) < 0 ||
	    (rh2 && ext_rh2_build(buf + IPV6_HDR_LEN, size - IPV6_HDR_LEN, PROTO_MH, rh2, &err) < 0))
		return 0;
	return hl + mh_len;
}

struct bu_ctx {
	const struct mip6_rx *rx;
	const struct ipv6_chain *c;
	const struct mh_msg *m;
	const uint8_t *hoa;
	const uint8_t *v4coa;		/* RFC 5555 IPv4 CoA option, or NULL */
	const struct mip6_sec_rx *sec;	/* what protected the BU */
};

static void send_ba(struct ha *ha, const struct bu_ctx *b, const struct ha_bu_decision *d)
{
	uint8_t pkt[HA_PKT_MAX];
	struct wire_error err;
	struct mh_builder mb;
	bool v4 = b->v4coa != NULL;
	const uint8_t *ha_addr = b->c->ip.dst;
	/* The BA goes back in the inner header to where the BU came from
	 * (CoA) with the home address in a type 2 routing header; for an
	 * IPv4 care-of address the inner destination is the home address. */
	size_t hl = IPV6_HDR_LEN + (v4 ? 0 : 24);
	union mh_body body = { .ba = { .status = d->status, .flags = d->ba_flags,
				       .seq = d->seq, .lifetime = d->lifetime } };

	mh_build_begin(&mb, pkt + hl, sizeof(pkt) - hl, MH_BA, &body, &err);
	if (ha->cfg->refresh_advice && d->status == HA_BA_ACCEPTED && d->lifetime >= 2)
		mh_build_bra(&mb, (uint16_t)(d->lifetime / 2));
	if (v4) {
		const struct mh_opt *h4 = mh_find_opt(b->m, MH_OPT_V4_HOA);
		bool nat = memcmp(b->v4coa, b->rx->peer.bytes, 4) != 0;
		if (h4) /* IPv4 home addresses are not assigned here: 128. */
			mh_build_v4_ack(&mb, 128, h4->u.v4_hoa.prefix_len, h4->u.v4_hoa.addr);
		if (nat || (b->m->u.bu.flags & MH_BU_F))
			mh_build_natd(&mb, (b->m->u.bu.flags & MH_BU_F) != 0, ha->cfg->nat_keepalive);
	}
	int n = mh_build_finish(&mb, ha_addr, b->hoa);
	if (n < 0) {
		log_err(MOD, "cannot build BA err=\"%s\"", err.msg);
		return;
	}
	size_t len = wrap_mh(pkt, sizeof(pkt), ha_addr, v4 ? b->hoa : b->c->ip.src,
			     v4 ? NULL : b->hoa, (size_t)n);
	if (!len)
		return;
	/* RFC 4877 §4.2: the BA leaves in the transport SA the BU came in. */
	if (b->sec->kind == MIP6_SEC_MH && mip6_sec_protect_mh(b->sec->set, pkt, sizeof(pkt), &len) < 0)
		return;
	if (mip6_ep_send(ha->ep, &b->rx->peer, b->rx->peer_port, &b->rx->local, pkt, len) == 0)
		count_ba(d->status);
}

/* RFC 6275 §9.3.3: Binding Errors are rate limited, so that forged
 * packets cannot turn the HA into a reflector. A token bucket refilled at
 * HA_BE_RATE per second with a burst of as many. */
#define HA_BE_RATE 100
static bool be_allowed(void)
{
	static uint64_t credit_us, refill_us;
	const uint64_t cap = 1000000, cost = cap / HA_BE_RATE;
	uint64_t now = mono_us();

	if (refill_us == 0)
		credit_us = cap;
	else
		credit_us += now - refill_us;
	if (credit_us > cap)
		credit_us = cap;
	refill_us = now;
	if (credit_us < cost)
		return false;
	credit_us -= cost;
	return true;
}

/* Binding Error (RFC 6275 §6.1.9, §9.3.3) to the source of the packet. */
static void send_be(struct ha *ha, const struct mip6_rx *rx, const struct ipv6_chain *c,
		    uint8_t status)
{
	static const uint8_t zero[16];
	uint8_t pkt[HA_PKT_MAX];
	struct wire_error err;
	struct mh_builder mb;
	const uint8_t *hoa = c->hoa ? c->hoa : zero;
	union mh_body body = { .be = { .status = status, .home_addr = hoa } };

	if (!be_allowed()) {
		counter_inc(&c_be_limited);
		return;
	}
	mh_build_begin(&mb, pkt + IPV6_HDR_LEN, sizeof(pkt) - IPV6_HDR_LEN, MH_BE, &body, &err);
	int n = mh_build_finish(&mb, c->ip.dst, c->ip.src);
	if (n < 0)
		return;
	size_t len = wrap_mh(pkt, sizeof(pkt), c->ip.dst, c->ip.src, NULL, (size_t)n);
	if (len && mip6_ep_send(ha->ep, &rx->peer, rx->peer_port, &rx->local, pkt, len) == 0)
		counter_inc(&c_be[status == MH_BE_UNKNOWN_HAO ? 0 : 1]);
}

static uint8_t apply(struct ha *ha, const struct bu_ctx *b, struct bce *e,
		     const struct ha_bu_decision *d)
{
	struct bce_update u = {
		.coa = b->rx->peer, .coa_port = b->rx->peer_port, .seq = d->seq,
		.flags = d->bce_flags, .lifetime_s = d->lifetime_s, .peer = BCE_PEER_NONE,
	};
	uint64_t now = mono_ms();
	int rc = 0;

	memcpy(&u.hoa, b->hoa, 16);
	switch (d->action) {
	case HA_ACT_NONE:
		return d->status;
	case HA_ACT_DELETE:
		ha_fwd_del(ha, &u.hoa, e->flags & BCE_F_L);
		bcache_remove(ha->bc, e);
		counter_inc(&c_deleted);
		ha_note_change(ha);
		return HA_BA_ACCEPTED;
	case HA_ACT_UPDATE:
		rc = bcache_update_entry(ha->bc, e, &u, now);
		if (rc < 0)
			break;
		if (ha->sec)	/* RFC 4877 §4.3: the SAs follow the CoA */
			mip6_sec_move(ha->sec, &u.hoa, &u.coa);
		if (ha->ike)	/* and so does IKE (no NAT made the engine follow) */
			mip6_ike_peer_moved(ha->ike, &u.hoa, &u.coa);
		counter_inc(&c_updated);
		ha_note_expiry(ha, e->expiry_ms);
		ha_note_change(ha);
		return HA_BA_ACCEPTED;
	case HA_ACT_CREATE:
		rc = bcache_update(ha->bc, &u, now, &e);
		if (rc == BCACHE_ERR_FULL)
			return HA_BA_NO_RESOURCES;
		if (rc < 0)
			break;
		if (ha_fwd_add(ha, &u.hoa, d->bce_flags & BCE_F_L, true) < 0) {
			bcache_remove(ha->bc, e);
			ha_note_change(ha);
			counter_inc(&c_apply_err);
			return HA_BA_UNSPECIFIED;
		}
		if (ha->sec)
			mip6_sec_move(ha->sec, &u.hoa, &u.coa);
		if (ha->ike)	/* and so does IKE (no NAT made the engine follow) */
			mip6_ike_peer_moved(ha->ike, &u.hoa, &u.coa);
		counter_inc(&c_created);
		ha_note_expiry(ha, e->expiry_ms);
		ha_note_change(ha);
		return HA_BA_ACCEPTED;
	}
	log_warn(MOD, "binding cache refused an accepted BU err=\"%s\"", bcache_strerror(rc));
	counter_inc(&c_apply_err);
	return HA_BA_UNSPECIFIED;
}

static void log_bu(const struct bu_ctx *b, const struct ha_bu_decision *d)
{
	char h[INET6_ADDRSTRLEN], c[INET6_ADDRSTRLEN];

	/* Accepted BUs are counted, not logged: they are the hot path. */
	if (d->status == HA_BA_ACCEPTED)
		return;
	inet_ntop(AF_INET6, b->hoa, h, sizeof(h));
	ip_addr_fmt(&b->rx->peer, c, sizeof(c));
	log_debug(MOD, "binding update rejected hoa=%s coa=%s port=%u seq=%u status=%u (%s)",
		  h, c, b->rx->peer_port, b->m->u.bu.seq, d->status, ha_ba_status_name(d->status));
}

/* 000 steps 71-73, 78: a BU for a home address that IPsec protects is
 * taken only from the transport SA bound to that home address; anything
 * else is dropped without a BA (an answer would help a forger). */
static bool bu_protection_ok(struct ha *ha, const struct bu_ctx *b)
{
	struct in6_addr hoa;

	memcpy(&hoa, b->hoa, 16);
	if (b->sec->kind == MIP6_SEC_MH && memcmp(&b->sec->set->hoa, &hoa, 16) == 0)
		return true;
	if (b->sec->kind == MIP6_SEC_NONE && !ha_sec_required(ha, &hoa))
		return true;
	if (b->sec->kind == MIP6_SEC_NONE) {
		counter_inc(&c_bu_unprot);
		mip6_sec_log_drop(&rl_bu_unprot, MOD, "Binding Update without IPsec", b->hoa,
				  &b->rx->peer);
	} else {
		counter_inc(&c_bu_wrong_sa);
		mip6_sec_log_drop(&rl_bu_wrong, MOD, "Binding Update in the SA of another home address or the tunnel SA",
				  b->hoa, &b->rx->peer);
	}
	return false;
}

static void rx_bu(struct ha *ha, const struct mip6_rx *rx, const struct ipv6_chain *c,
		  const struct mh_msg *m, const struct mip6_sec_rx *sec)
{
	struct bu_ctx b = { .rx = rx, .c = c, .m = m, .sec = sec };
	struct ha_bu_decision d;
	const struct mh_opt *o4 = mh_find_opt(m, MH_OPT_V4_COA);
	bool coa_is_hoa = false;

	counter_inc(&c_bu_rx);
	if (sec->kind == MIP6_SEC_TUN) {
		/* RFC 4877 §4.1: BUs belong in the transport SA, never the tunnel. */
		counter_inc(&c_bu_wrong_sa);
		mip6_sec_log_drop(&rl_bu_wrong, MOD, "Binding Update in the tunnel SA", c->ip.src,
				  &rx->peer);
		return;
	}
	if (c->hoa) {
		/* RFC 6275 §9.5.1: the CoA is the source (or the Alternate
		 * Care-of Address option); the binding keeps the outer source,
		 * where the MN is reachable through NATs. */
		const struct mh_opt *alt = mh_find_opt(m, MH_OPT_ALT_COA);
		b.hoa = c->hoa;
		coa_is_hoa = memcmp(alt ? alt->u.alt_coa : c->ip.src, c->hoa, 16) == 0;
	} else if (o4 && rx->peer.family == AF_INET) {
		/* RFC 5555 §4.2: IPv4 CoA, the inner source is the home address. */
		b.hoa = c->ip.src;
		b.v4coa = o4->u.v4_coa.addr;
		if (memcmp(b.v4coa, rx->peer.bytes, 4) != 0)
			counter_inc(&c_nat);
	} else {
		counter_inc(&c_bu_invalid);
		return;
	}
	if (ipv6_bad_hoa(b.hoa)) {
		counter_inc(&c_bu_invalid);
		return;
	}
	if (!bu_protection_ok(ha, &b))
		return;

	struct in6_addr hoa;
	memcpy(&hoa, b.hoa, 16);
	struct bce *e = bcache_lookup(ha->bc, &hoa);
	struct ha_bu_state st = { .exists = e != NULL };
	if (e) {
		st.seq = e->seq;
		st.flags = e->flags;
	}
	const struct ha_prefix_cfg *pc = ha_config_prefix_of(ha->cfg, &hoa);
	struct ha_bu_limits lim = {
		.served = pc != NULL,
		.denied = ha_config_denied(ha->cfg, &hoa) || ha_config_reserved(ha->cfg, &hoa),
		.prefix_lifetime = pc ? pc->valid_lifetime : 0,
		.max_lifetime = ha->cfg->max_lifetime,
		.max_bindings = ha->cfg->max_bindings,
		.n_bindings = bcache_count(ha->bc),
	};
	struct ha_bu_in in = {
		.seq = m->u.bu.seq, .flags = m->u.bu.flags, .lifetime = m->u.bu.lifetime,
		.coa_is_hoa = coa_is_hoa,
	};
	ha_bu_decide(&st, &in, &lim, &d);
	uint8_t status = apply(ha, &b, e, &d);
	if (status != d.status) {
		d.status = status;
		d.lifetime = 0;
		d.send_ba = true;
	}
	log_bu(&b, &d);
	if (d.send_ba)
		send_ba(ha, &b, &d);
	else
		counter_inc(&c_bu_noack);
}

static void rx_mh(struct ha *ha, const struct mip6_rx *rx, const struct ipv6_chain *c,
		  const struct mip6_sec_rx *sec)
{
	struct mh_msg m;
	struct wire_error err;
	enum wire_err rc;

	if (c->fragment) {
		counter_inc(&c_mh_malformed);
		return;
	}
	rc = mh_parse(rx->pkt + c->off, c->len, c->src, c->dst, &m, &err);
	if (rc == WIRE_ETYPE) {
		counter_inc(&c_mh_unexpected);
		send_be(ha, rx, c, MH_BE_UNKNOWN_MH);
		return;
	}
	if (rc == WIRE_ECSUM) {
		counter_inc(&c_mh_csum);
		return;
	}
	if (rc != WIRE_OK) {
		char p[INET6_ADDRSTRLEN];
		counter_inc(&c_mh_malformed);
		log_debug(MOD, "malformed mobility header from=%s err=\"%s\"",
			  ip_addr_fmt(&rx->peer, p, sizeof(p)), err.msg);
		return;
	}
	if (m.type == MH_BU) {
		rx_bu(ha, rx, c, &m, sec);
		return;
	}
	counter_inc(&c_mh_unexpected);
}

static bool bound_to_peer(const struct bce *e, const struct mip6_rx *rx)
{
	return e && ip_addr_eq(&e->coa, &rx->peer) && e->coa_port == rx->peer_port;
}

/* Tunnelled traffic of a home address that IPsec protects comes only in
 * that home address's tunnel SA (RFC 4877 §4.4, the SPD check of 001). */
static bool tunnel_protection_ok(struct ha *ha, const struct mip6_rx *rx,
				 const struct in6_addr *src, const struct mip6_sec_rx *sec)
{
	if (sec->kind == MIP6_SEC_TUN && memcmp(&sec->set->hoa, src, 16) == 0)
		return true;
	if (sec->kind == MIP6_SEC_NONE && !ha_sec_required(ha, src))
		return true;
	if (sec->kind == MIP6_SEC_NONE) {
		counter_inc(&c_tun_unprot);
		mip6_sec_log_drop(&rl_tun_unprot, MOD, "tunnelled packet without IPsec", src->s6_addr,
				  &rx->peer);
	} else {
		counter_inc(&c_tun_wrong_sa);
		mip6_sec_log_drop(&rl_tun_wrong, MOD, "tunnelled packet in the SA of another home address",
				  src->s6_addr, &rx->peer);
	}
	return false;
}

static void reverse_tunnel(struct ha *ha, struct mip6_rx *rx, const struct ipv6_chain *c,
			   const struct mip6_sec_rx *sec)
{
	struct in6_addr src;

	memcpy(&src, c->ip.src, 16);
	if (!tunnel_protection_ok(ha, rx, &src, sec))
		return;
	if (!bound_to_peer(bcache_lookup(ha->bc, &src), rx)) {
		counter_inc(&c_rt_drop);
		return;
	}
	if (mip6_ep_tun_write(ha->ep, rx->pkt, rx->len) == 0)
		counter_inc(&c_rt_ok);
}

/* A DHAAD request that reached us inside UDP (an MN that sends it to the
 * anycast address through our port 4191, e.g. from behind a NAT): the reply
 * goes back the same way, IPv6(src=HA, dst=requester) / ICMPv6 145. */
static void dhaad_tunnel(struct ha *ha, const struct mip6_rx *rx, const struct ipv6_chain *c)
{
	struct icmp6_msg m;
	struct wire_error err;
	uint8_t pkt[HA_PKT_MAX];
	const uint8_t *src = ha->cfg->address.s6_addr;

	counter_inc(&c_dhaad_tun);
	if (icmp6_parse(rx->pkt + c->off, c->len, c->src, c->dst, &m, &err) != WIRE_OK) {
		counter_inc(&c_inner_bad);
		return;
	}
	size_t n = ha_dhaad_reply(ha->dhaad, m.identifier, src, c->ip.src, pkt + IPV6_HDR_LEN,
				  sizeof(pkt) - IPV6_HDR_LEN);
	if (!n)
		return;
	struct ipv6_hdr h = { .payload_length = (uint16_t)n, .next_header = PROTO_ICMPV6,
			      .hop_limit = 64, .src = src, .dst = c->ip.src };
	if (ipv6_build(pkt, sizeof(pkt), &h, &err) < 0)
		return;
	mip6_ep_send(ha->ep, &rx->peer, rx->peer_port, &rx->local, pkt, IPV6_HDR_LEN + n);
}

/* ESP (RFC 4877): the transport SA gives back the packet without its
 * ESP header, the tunnel SA the inner packet; either is walked again and
 * handled as if it had come in clear, with `sec` saying what protected it. */
static bool esp_in(struct ha *ha, struct mip6_rx *rx, struct ipv6_chain *c,
		   struct mip6_sec_rx *sec)
{
	struct wire_error err;

	if (!ha->sec || mip6_sec_unprotect(ha->sec, rx->pkt, rx->len, c, sec) < 0) {
		counter_inc(&c_esp_drop);
		mip6_sec_log_drop(&rl_esp, MOD, "ESP packet (no SA, replayed, bad ICV or outside the selectors)",
				  NULL, &rx->peer);
		return false;
	}
	rx->pkt = sec->pkt;
	rx->len = sec->len;
	if (ipv6_walk(rx->pkt, rx->len, c, &err) != WIRE_OK) {
		counter_inc(&c_inner_bad);
		return false;
	}
	return true;
}

void ha_rx(void *arg, struct mip6_rx *rx)
{
	struct ha *ha = arg;
	struct ipv6_chain c;
	struct wire_error err;
	struct mip6_sec_rx sec = { .kind = MIP6_SEC_NONE };

	if (rx->inner != PROTO_IPV6) {
		counter_inc(rx->inner == PROTO_IPV4 ? &c_inner4 : &c_inner_bad);
		return;
	}
	if (ipv6_walk(rx->pkt, rx->len, &c, &err) != WIRE_OK) {
		counter_inc(&c_inner_bad);
		return;
	}
	if (c.proto == PROTO_ESP && !c.fragment && !esp_in(ha, rx, &c, &sec))
		return;
	if (ha_is_local(ha, c.ip.dst)) {
		if (c.proto == PROTO_MH) {
			rx_mh(ha, rx, &c, &sec);
			return;
		}
		if (c.hoa) {
			/* Data with a HAO for us: route optimisation to the HA
			 * is not supported, and without a binding RFC 6275
			 * §9.3.3 asks for a Binding Error status 1. */
			struct in6_addr h;
			memcpy(&h, c.hoa, 16);
			if (!bcache_lookup(ha->bc, &h)) {
				counter_inc(&c_hao_nobind);
				send_be(ha, rx, &c, MH_BE_UNKNOWN_HAO);
			} else {
				counter_inc(&c_rt_drop);
			}
			return;
		}
		if (c.proto == PROTO_ICMPV6 && !c.fragment && c.len >= 1 &&
		    rx->pkt[c.off] == ICMPV6_MPS) {
			ha_mpa_rx(ha, rx, &c);
			return;
		}
		if (c.proto == PROTO_ICMPV6 && !c.fragment && c.len >= 1 &&
		    rx->pkt[c.off] == ICMPV6_HAAD_REQUEST) {
			dhaad_tunnel(ha, rx, &c);
			return;
		}
	}
	reverse_tunnel(ha, rx, &c, &sec);
}
