/* Mobile Prefix Solicitation / Advertisement (RFC 6275 §6.7, §6.8, §10.6):
 * a bound mobile node asks through its tunnel (IPv6(src=HoA, dst=HA) /
 * ICMPv6 146 inside UDP from its CoA); the answer goes back the same way,
 * IPv6(src=HA, dst=HoA) / ICMPv6 147 with one Prefix Information option per
 * home prefix. A reload that changes home_prefixes sends unsolicited
 * advertisements to every bound node (§10.6.2; 000 document, FIG. 22). */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/stats.h"
#include "mip6/ha_priv.h"
#include "wire/icmp6msg.h"
#include "wire/ipv6.h"
#include "wire/nd.h"

#define MOD "ha"

static COUNTER_DEFINE(c_mps, "mipsec_ha_mps_received_total",
		      "Mobile Prefix Solicitations received through the tunnel");
static COUNTER_DEFINE(c_mps_drop, "mipsec_ha_mps_dropped_total",
		      "Mobile Prefix Solicitations dropped: malformed or not from a bound home address");
static struct counter c_mpa[2] = {
	{ .name = "mipsec_ha_mpa_sent_total", .help = "Mobile Prefix Advertisements sent",
	  .label = "kind=\"solicited\"" },
	{ .name = "mipsec_ha_mpa_sent_total", .help = "Mobile Prefix Advertisements sent",
	  .label = "kind=\"unsolicited\"" },
};

void ha_mpa_counters_register(void)
{
	counter_register(&c_mps);
	counter_register(&c_mps_drop);
	counter_register(&c_mpa[0]);
	counter_register(&c_mpa[1]);
}

size_t ha_mpa_build(const struct ha *ha, const struct in6_addr *hoa, uint16_t id,
		    uint8_t *buf, size_t size)
{
	uint8_t body[HA_MAX_PREFIXES * ND_OPT_PI_LEN];
	size_t blen = 0;
	struct wire_error err;

	for (size_t i = 0; i < ha->cfg->n_prefixes; i++) {
		const struct ha_prefix_cfg *p = &ha->cfg->prefixes[i];
		struct nd_pio pio = {
			.prefix_length = p->prefix.len, .l = true, .a = p->prefix.len == 64,
			.valid_lifetime = p->valid_lifetime,
			.preferred_lifetime = p->preferred_lifetime,
			.prefix = p->prefix.addr.bytes,
		};
		int n = icmp6_pio_build(body + blen, sizeof(body) - blen, &pio, &err);
		if (n < 0)
			return 0;
		blen += (size_t)n;
	}
	struct icmp6_msg m = { .type = ICMPV6_MPA, .identifier = id, .body = body,
			       .body_len = blen };
	if (size < IPV6_HDR_LEN)
		return 0;
	int n = icmp6_build(buf + IPV6_HDR_LEN, size - IPV6_HDR_LEN, &m, ha->cfg->address.s6_addr,
			    hoa->s6_addr, &err);
	if (n < 0)
		return 0;
	struct ipv6_hdr h = { .payload_length = (uint16_t)n, .next_header = PROTO_ICMPV6,
			      .hop_limit = 64, .src = ha->cfg->address.s6_addr,
			      .dst = hoa->s6_addr };
	if (ipv6_build(buf, size, &h, &err) < 0)
		return 0;
	return IPV6_HDR_LEN + (size_t)n;
}

void ha_mpa_rx(struct ha *ha, const struct mip6_rx *rx, const struct ipv6_chain *c)
{
	struct icmp6_msg m;
	struct wire_error err;
	struct in6_addr hoa;
	uint8_t pkt[HA_PKT_MAX];
	const struct bce *e;

	counter_inc(&c_mps);
	memcpy(&hoa, c->ip.src, 16);
	e = bcache_lookup(ha->bc, &hoa);
	if (icmp6_parse(rx->pkt + c->off, c->len, c->src, c->dst, &m, &err) != WIRE_OK ||
	    !e || !ip_addr_eq(&e->coa, &rx->peer)) {
		counter_inc(&c_mps_drop);
		return;
	}
	size_t len = ha_mpa_build(ha, &hoa, m.identifier, pkt, sizeof(pkt));
	if (len && ha_fwd_send(ha, e, pkt, len) == 0)
		counter_inc(&c_mpa[0]);
}

size_t ha_mpa_push_all(struct ha *ha)
{
	uint8_t pkt[HA_PKT_MAX];
	uint32_t cur = 0;
	size_t n = 0;
	const struct bce *e;

	while ((e = bcache_next(ha->bc, &cur))) {
		size_t len = ha_mpa_build(ha, &e->hoa, (uint16_t)arc4random(), pkt, sizeof(pkt));
		if (len && ha_fwd_send(ha, e, pkt, len) == 0) {
			counter_inc(&c_mpa[1]);
			n++;
		}
		if (n % MIP6_EP_BATCH == 0)
			mip6_ep_flush(ha->ep);
	}
	mip6_ep_flush(ha->ep);
	return n;
}
