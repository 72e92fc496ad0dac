/* The correspondent node's data path (docs/mip6-transport.md):
 *
 *   UDP in, inner MH          -> cn_mh_input (RR, BU; unknown type: BE 2)
 *   UDP in, inner with a HAO  -> binding check (else BE 1), source := HoA,
 *                                HAO removed, written into the TUN
 *   TUN in (host -> HoA)      -> RH2(HoA) inserted, destination := CoA,
 *                                sent in UDP to the CoA
 *
 * Both directions work in place in the endpoint's buffers: no copies
 * beyond one memmove of the headers, no allocation. */
#include <arpa/inet.h>
#include <string.h>

#include "core/log.h"
#include "mip6/bcache.h"
#include "mip6/cn.h"
#include "wire/exthdr.h"

#define MOD "cn"

void cn_mh_input(struct cn *cn, const struct cn_mh_in *in)
{
	struct mh_msg m;
	struct wire_error err;
	/* The checksum covers the home address when a HAO is present. */
	enum wire_err rc = mh_parse(in->mh, in->len, in->hoa ? in->hoa : in->src, in->dst, &m,
				    &err);

	if (rc == WIRE_ETYPE) {
		/* §9.2: an unrecognised MH Type gets a Binding Error, status 2. */
		counter_inc(&cn_c_mh_unknown);
		log_debug(MOD, "unknown MH type %u: Binding Error", in->len > 2 ? in->mh[2] : 0);
		cn_send_be(cn, in, MH_BE_UNKNOWN_MH, in->hoa);
		return;
	}
	if (rc != WIRE_OK) {
		counter_inc(&cn_c_mh_malformed);
		log_debug(MOD, "mobility header dropped: %s", err.msg);
		return;
	}
	switch (m.type) {
	case MH_HOTI:
	case MH_COTI:
		cn_rr_input(cn, in, &m);
		break;
	case MH_BU:
		cn_bu_input(cn, in, &m);
		break;
	default:
		/* HoT, CoT, BA, BRR, BE, HAS are for mobile nodes and HAs. */
		counter_inc(&cn_c_mh_unexpected);
		log_debug(MOD, "%s not expected at a correspondent node", mh_type_tag(m.type));
		break;
	}
}

static size_t put_pad(uint8_t *p, size_t n)
{
	if (n == 1)
		p[0] = OPT_PAD1;
	else if (n > 1) {
		p[0] = OPT_PADN;
		p[1] = (uint8_t)(n - 2);
		memset(p + 2, 0, n - 2);
	}
	return n;
}

/* Rewrites a Destination Options header without its HAO: the other options
 * keep their offsets modulo 8 (so their alignment rules still hold), with
 * at most 7 octets of padding between them (RFC 8200 §4.2; Linux drops
 * more). Returns the new length, a multiple of 8. */
static size_t opts_without_hao(const uint8_t *hdr, const struct ext_opts *o, uint8_t *out)
{
	size_t w = 2;

	out[0] = hdr[0];
	for (size_t k = 0; k < o->n; k++) {
		const struct ext_opt *x = &o->opt[k];

		if (x->type == OPT_PAD1 || x->type == OPT_PADN || x->type == OPT_HAO)
			continue;
		w += put_pad(out + w, (x->off % 8 + 8 - w % 8) % 8);
		memcpy(out + w, hdr + x->off, 2u + x->len);
		w += 2u + x->len;
	}
	w += put_pad(out + w, (8 - w % 8) % 8);
	out[1] = (uint8_t)(w / 8 - 1);
	return w;
}

/* Removes the Home Address option of a packet from a MN: the whole
 * Destination Options header when the HAO is all it holds (besides
 * padding), else the header shrinks to the other options. The packet
 * start moves forward; returns it, NULL when malformed. */
static uint8_t *strip_hao(uint8_t *pkt, size_t *len, const struct ipv6_chain *c)
{
	size_t hao_off = (size_t)(c->hoa - pkt);
	uint8_t nhdr[MH_MAX_LEN];

	for (size_t i = 0; i < c->n; i++) {
		const struct ipv6_ext *x = &c->ext[i];
		struct ext_opts o;

		if (x->proto != PROTO_DSTOPTS || hao_off < x->off || hao_off >= x->off + x->len)
			continue;
		if (x->len > sizeof(nhdr) ||
		    ext_opts_parse(pkt + x->off, x->len, PROTO_DSTOPTS, &o, NULL) != WIRE_OK)
			return NULL;
		size_t others = 0;
		for (size_t k = 0; k < o.n; k++)
			others += o.opt[k].type != OPT_PAD1 && o.opt[k].type != OPT_PADN &&
				  o.opt[k].type != OPT_HAO;
		size_t shrink = x->len;
		if (others) {
			size_t nl = opts_without_hao(pkt + x->off, &o, nhdr);
			shrink = x->len - nl;
			memcpy(pkt + x->off + shrink, nhdr, nl);
		} else {
			/* The header before it names what follows it instead. */
			uint8_t *prev_nh = i == 0 ? pkt + 6 : pkt + c->ext[i - 1].off;
			*prev_nh = pkt[x->off];
		}
		put_be16(pkt + 4, (uint16_t)(get_be16(pkt + 4) - shrink));
		memmove(pkt + shrink, pkt, x->off);
		*len -= shrink;
		return pkt + shrink;
	}
	return NULL;
}

static void ro_deliver(struct cn *cn, struct mip6_rx *rx, const struct ipv6_chain *c)
{
	struct in6_addr hoa;
	uint8_t src[16], dst[16];

	memcpy(&hoa, c->hoa, 16);
	memcpy(src, c->ip.src, 16);
	memcpy(dst, c->ip.dst, 16);
	struct bce *e = bcache_lookup(cn->bc, &hoa);
	if (!e || e->coa.family != AF_INET6 || memcmp(e->coa.bytes, src, 16) != 0) {
		/* §9.3.1: no binding for this home address (or not from its
		 * care-of address): drop, Binding Error status 1. */
		counter_inc(e ? &cn_c_ro_rx_coa_mismatch : &cn_c_ro_rx_no_binding);
		cn_send_be_to(cn, dst, src, &rx->peer, rx->peer_port, MH_BE_UNKNOWN_HAO,
			      hoa.s6_addr);
		return;
	}
	size_t len = rx->len;
	uint8_t *pkt = strip_hao(rx->pkt, &len, c);
	if (!pkt) {
		counter_inc(&cn_c_rx_malformed);
		return;
	}
	/* The upper-layer checksum was computed over the home address
	 * (RFC 6275 §6.3), so it holds once the source is the HoA again. */
	memcpy(pkt + 8, hoa.s6_addr, 16);
	struct cn_bext *x = cn_bext(cn, e);
	if (x)
		x->last_used_ms = mono_ms();
	if (mip6_ep_tun_write(cn->ep, pkt, len) < 0) {
		counter_inc(&cn_c_send_err);
		return;
	}
	counter_inc(&cn_c_ro_rx);
}

void cn_udp_rx(void *arg, struct mip6_rx *rx)
{
	struct cn *cn = arg;
	struct ipv6_chain c;
	struct wire_error err;

	if (rx->inner != PROTO_IPV6) {
		counter_inc(&cn_c_rx_not_mobile);
		return;
	}
	if (ipv6_walk(rx->pkt, rx->len, &c, &err) != WIRE_OK) {
		counter_inc(&cn_c_rx_malformed);
		log_debug(MOD, "inner packet dropped: %s", err.msg);
		return;
	}
	if (c.rh2) {
		/* Only the CN sends routing headers of type 2. */
		counter_inc(&cn_c_rx_not_mobile);
		return;
	}
	if (c.proto == PROTO_MH && !c.fragment) {
		struct cn_mh_in in = { .src = c.ip.src, .dst = c.ip.dst, .hoa = c.hoa,
				       .mh = rx->pkt + c.off, .len = c.len, .udp = true,
				       .peer = rx->peer, .peer_port = rx->peer_port };
		cn_mh_input(cn, &in);
		return;
	}
	if (!c.hoa) {
		counter_inc(&cn_c_rx_not_mobile);
		return;
	}
	ro_deliver(cn, rx, &c);
}

void cn_tun_rx(void *arg, struct mip6_tunpkt *p)
{
	struct cn *cn = arg;
	struct in6_addr hoa;
	struct wire_error err;

	if (p->len < IPV6_HDR_LEN || p->pkt[0] >> 4 != 6 || p->headroom < 24 ||
	    p->pkt[6] == PROTO_HOPOPTS || get_be16(p->pkt + 4) > 65535 - 24) {
		counter_inc(&cn_c_ro_tx_unsupported);
		return;
	}
	memcpy(&hoa, p->pkt + 24, 16);
	struct bce *e = bcache_lookup(cn->bc, &hoa);
	if (!e || e->coa.family != AF_INET6) {
		/* The route outlived the binding for a moment. */
		counter_inc(&cn_c_ro_tx_no_binding);
		return;
	}
	uint8_t *n = p->pkt - 24;
	uint8_t nh = p->pkt[6];
	memmove(n, p->pkt, IPV6_HDR_LEN);
	if (ext_rh2_build(n + IPV6_HDR_LEN, 24, nh, hoa.s6_addr, &err) < 0)
		return;
	n[6] = PROTO_ROUTING;
	put_be16(n + 4, (uint16_t)(get_be16(n + 4) + 24));
	memcpy(n + 24, e->coa.bytes, 16);
	if (mip6_ep_send(cn->ep, &e->coa, e->coa_port, NULL, n, p->len + 24) < 0) {
		counter_inc(&cn_c_send_err);
		return;
	}
	struct cn_bext *x = cn_bext(cn, e);
	if (x)
		x->last_used_ms = mono_ms();
	counter_inc(&cn_c_ro_tx);
}
