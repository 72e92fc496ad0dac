/* TUN offload transformations of the ipsec data plane, see gw_offload.h. */
#include "ipsec/gw_offload.h"

#include <netinet/in.h>
#include <string.h>

const char *gw_offload_strerror(enum gw_offload_err e)
{
	switch (e) {
	case GW_OFFLOAD_OK:
		return "ok";
	case GW_OFFLOAD_TRUNCATED:
		return "IP or TCP header longer than the packet";
	case GW_OFFLOAD_BAD_HDR:
		return "not IPv4/IPv6, or an IP/TCP header length below its minimum";
	case GW_OFFLOAD_BAD_GSO:
		return "GSO type not TCP of the packet's IP version, or GSO size 0";
	case GW_OFFLOAD_NOT_TCP:
		return "TCP segmentation of a packet that is not TCP";
	case GW_OFFLOAD_BAD_CSUM:
		return "checksum start/offset outside the packet or inside the IP header";
	case GW_OFFLOAD_TOO_BIG:
		return "segment larger than the buffer";
	}
	return "?";
}

/* ---- checksums -------------------------------------------------------------- */

/* One's-complement sum of p[0..len) in network byte order as loaded
 * (host-order words of network-order bytes: folding gives the checksum in
 * network byte order, stored with memcpy). Eight bytes a step. */
static uint32_t sum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	uint64_t s = sum;

	while (len >= 8) {
		uint32_t a, b;

		memcpy(&a, p, 4);
		memcpy(&b, p + 4, 4);
		s += (uint64_t)a + b;
		p += 8;
		len -= 8;
	}
	while (len >= 2) {
		uint16_t a;

		memcpy(&a, p, 2);
		s += a;
		p += 2;
		len -= 2;
	}
	if (len) {
		uint16_t a = 0;

		memcpy(&a, p, 1);
		s += a;
	}
	while (s >> 32)
		s = (s & 0xffffffffu) + (s >> 32);
	return (uint32_t)s;
}

static uint16_t sum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Pseudo-header sum (RFC 793 / RFC 8200 8.1) of the IP header at `ip`. */
static uint32_t pseudo_sum(const uint8_t *ip, bool v6, uint8_t proto, size_t l4len)
{
	uint8_t tail[8] = { 0 };
	uint32_t s = v6 ? sum_add(0, ip + 8, 32) : sum_add(0, ip + 12, 8);

	if (v6) {
		gw_put32(tail, (uint32_t)l4len);
		tail[7] = proto;
	} else {
		tail[1] = proto;
		gw_put16(tail + 2, (uint16_t)l4len);
	}
	return sum_add(s, tail, 8);
}

void gw_ipv4_hdr_csum(uint8_t *ip)
{
	size_t ihl = (size_t)(ip[0] & 15) * 4;

	ip[10] = ip[11] = 0;
	uint16_t c = sum_fold(sum_add(0, ip, ihl));
	memcpy(ip + 10, &c, 2);
}

/* The IP header length of pkt[0..len): 0 with *e set when it is not a
 * whole IPv4/IPv6 header. */
static size_t ip_hlen(const uint8_t *pkt, size_t len, bool *v6, enum gw_offload_err *e)
{
	size_t iphl;

	if (len < 1) {
		*e = GW_OFFLOAD_TRUNCATED;
		return 0;
	}
	*v6 = pkt[0] >> 4 == 6;
	if (*v6) {
		iphl = 40;
	} else if (pkt[0] >> 4 == 4) {
		iphl = (size_t)(pkt[0] & 15) * 4;
		if (iphl < 20) {
			*e = GW_OFFLOAD_BAD_HDR;
			return 0;
		}
	} else {
		*e = GW_OFFLOAD_BAD_HDR;
		return 0;
	}
	if (iphl > len) {
		*e = GW_OFFLOAD_TRUNCATED;
		return 0;
	}
	return iphl;
}

/* ---- TX: partial checksums -------------------------------------------------- */

enum gw_offload_err gw_csum_finish(uint8_t *pkt, size_t len, const struct virtio_net_hdr *vh)
{
	size_t start = vh->csum_start, off = vh->csum_offset, iphl;
	enum gw_offload_err e;
	bool v6;

	if (!(vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return GW_OFFLOAD_OK;
	if (!(iphl = ip_hlen(pkt, len, &v6, &e)))
		return e;
	if (start < iphl || start + off + 2 > len)
		return GW_OFFLOAD_BAD_CSUM;
	pkt[start + off] = pkt[start + off + 1] = 0;
	/* The pseudo-header sum was in the field: recompute it all instead. */
	uint8_t proto = v6 ? pkt[6] : pkt[9];
	uint32_t s = pseudo_sum(pkt, v6, proto, len - start);
	uint16_t c = sum_fold(sum_add(s, pkt + start, len - start));

	if (c == 0 && proto == IPPROTO_UDP)
		c = 0xffff;
	memcpy(pkt + start + off, &c, 2);
	return GW_OFFLOAD_OK;
}

/* ---- TX: TCP segmentation --------------------------------------------------- */

enum gw_offload_err gw_tso_begin(struct gw_tso *t, const struct virtio_net_hdr *vh,
				 const uint8_t *pkt, size_t len, size_t room)
{
	unsigned type = vh->gso_type & (unsigned)~VIRTIO_NET_HDR_GSO_ECN;
	enum gw_offload_err e;
	size_t iphl;
	bool v6;

	if (!(iphl = ip_hlen(pkt, len, &v6, &e)))
		return e;
	if (type != (v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4) ||
	    vh->gso_size == 0)
		return GW_OFFLOAD_BAD_GSO;
	if ((v6 ? pkt[6] : pkt[9]) != IPPROTO_TCP)
		return GW_OFFLOAD_NOT_TCP;
	if (len < iphl + 20)
		return GW_OFFLOAD_TRUNCATED;
	t->thl = (size_t)(pkt[iphl + 12] >> 4) * 4;
	if (t->thl < 20)
		return GW_OFFLOAD_BAD_HDR;
	t->hl = iphl + t->thl;
	if (t->hl > len)
		return GW_OFFLOAD_TRUNCATED;
	/* Not used (every checksum is recomputed), but a header pointing
	 * outside the packet is not one the kernel made. */
	if ((vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    (size_t)vh->csum_start + vh->csum_offset + 2 > len)
		return GW_OFFLOAD_BAD_CSUM;
	if (t->hl + vh->gso_size > room)
		return GW_OFFLOAD_TOO_BIG;
	t->pkt = pkt;
	t->iphl = iphl;
	t->v6 = v6;
	t->mss = vh->gso_size;
	t->data = len - t->hl;
	t->off = 0;
	t->i = 0;
	t->seq = gw_get32(pkt + iphl + 4);
	t->id = (uint16_t)(pkt[4] << 8 | pkt[5]);
	t->flags = pkt[iphl + 13];
	return GW_OFFLOAD_OK;
}

size_t gw_tso_next(struct gw_tso *t, uint8_t *p)
{
	if (t->i && t->off >= t->data)
		return 0;

	size_t n = t->data - t->off < t->mss ? t->data - t->off : t->mss;
	size_t hl = t->hl, thl = t->thl;
	bool last = t->off + n >= t->data;

	memcpy(p, t->pkt, hl);
	memcpy(p + hl, t->pkt + hl + t->off, n);
	if (t->v6) {
		gw_put16(p + 4, (uint16_t)(thl + n));
	} else {
		gw_put16(p + 2, (uint16_t)(hl + n));
		gw_put16(p + 4, (uint16_t)(t->id + t->i));
		gw_ipv4_hdr_csum(p);
	}
	uint8_t *tcp = p + t->iphl;
	gw_put32(tcp + 4, t->seq + (uint32_t)t->off);
	/* FIN and PSH only on the last segment, CWR only on the first. */
	tcp[13] = (uint8_t)(t->flags & ~((last ? 0 : 0x09) | (t->i ? 0x80 : 0)));
	tcp[16] = tcp[17] = 0;
	uint16_t c = sum_fold(sum_add(pseudo_sum(p, t->v6, IPPROTO_TCP, thl + n), tcp, thl + n));
	memcpy(tcp + 16, &c, 2);
	t->off += n;
	t->i++;
	return hl + n;
}

/* ---- RX: coalescing --------------------------------------------------------- */

struct geom {
	size_t iphl, hl;
	bool v6, udp;
};

/* Header geometry of a plain TCP segment or UDP datagram that may be
 * coalesced: IP length = len, no IP options or extension headers, no
 * fragment; TCP flags ACK or ACK|PSH; a UDP length that is the packet's;
 * some payload. */
static bool co_geom(const uint8_t *p, size_t len, struct geom *g)
{
	uint8_t proto;

	if (len < 20 || len > GW_COALESCE_MAX_LEN)
		return false;
	if (p[0] >> 4 == 4) {
		if (p[0] != 0x45 || (p[6] & 0x3f) || p[7] || (size_t)(p[2] << 8 | p[3]) != len)
			return false;
		proto = p[9];
		g->iphl = 20;
		g->v6 = false;
	} else if (p[0] >> 4 == 6) {
		if (len < 40 || (size_t)(p[4] << 8 | p[5]) + 40 != len)
			return false;
		proto = p[6];
		g->iphl = 40;
		g->v6 = true;
	} else {
		return false;
	}
	g->udp = proto == IPPROTO_UDP;
	if (g->udp) {
		g->hl = g->iphl + 8;
		return len > g->hl && (size_t)(p[g->iphl + 4] << 8 | p[g->iphl + 5]) == len - g->iphl;
	}
	if (proto != IPPROTO_TCP || len < g->iphl + 20)
		return false;
	g->hl = g->iphl + (size_t)(p[g->iphl + 12] >> 4) * 4;
	uint8_t fl = p[g->iphl + 13];
	return g->hl >= g->iphl + 20 && g->hl < len && (fl == 0x10 || fl == 0x18);
}

/* Whether `p` continues the pending super-packet: same addresses, ports,
 * IP fields; for TCP the header apart from sequence, flags and checksum,
 * and the next sequence number. */
static bool co_match(const struct gw_coalescer *c, const uint8_t *p, size_t len,
		     const struct geom *g)
{
	const uint8_t *q = c->buf + GW_VNET_LEN;
	size_t ip = c->iphl, hl = g->hl;

	if (c->closed || g->v6 != c->v6 || g->udp != c->udp || hl != c->hl || len - hl > c->seg ||
	    c->len + (len - hl) > GW_COALESCE_MAX_LEN || c->count >= GW_COALESCE_MAX_SEGS)
		return false;
	if (g->v6 ? memcmp(p, q, 4) || memcmp(p + 6, q + 6, 34) :
		    p[1] != q[1] || p[6] != q[6] || p[8] != q[8] || memcmp(p + 12, q + 12, 8))
		return false;
	if (g->udp)
		return !memcmp(p + ip, q + ip, 4);
	/* ports; ack, data offset; window; options */
	return !memcmp(p + ip, q + ip, 4) && gw_get32(p + ip + 4) == c->next_seq &&
	       !memcmp(p + ip + 8, q + ip + 8, 5) && !memcmp(p + ip + 14, q + ip + 14, 2) &&
	       !memcmp(p + ip + 20, q + ip + 20, hl - ip - 20);
}

enum gw_coalesce_res gw_coalesce_add(struct gw_coalescer *c, const uint8_t *p, size_t len)
{
	struct geom g;

	if (!co_geom(p, len, &g) || !(g.udp ? c->udp_ok : c->tcp_ok))
		return GW_COALESCE_ALONE;
	if (c->count) {
		if (!co_match(c, p, len, &g))
			return GW_COALESCE_OTHER;
		memcpy(c->buf + GW_VNET_LEN + c->len, p + g.hl, len - g.hl);
		c->len += len - g.hl;
		c->count++;
	} else {
		memcpy(c->buf + GW_VNET_LEN, p, len);
		c->len = len;
		c->hl = g.hl;
		c->iphl = g.iphl;
		c->v6 = g.v6;
		c->udp = g.udp;
		c->seg = len - g.hl;
		c->count = 1;
		c->closed = false;
	}
	if (g.udp) {
		if (len - g.hl < c->seg) {
			c->closed = true;
			return GW_COALESCE_FLUSH;
		}
		return GW_COALESCE_HELD;
	}
	c->next_seq = gw_get32(p + g.iphl + 4) + (uint32_t)(len - g.hl);
	/* PSH or a short segment ends the super-packet. */
	if (p[g.iphl + 13] & 0x08 || len - g.hl < c->seg) {
		c->buf[GW_VNET_LEN + g.iphl + 13] |= p[g.iphl + 13] & 0x08;
		c->closed = true;
		return GW_COALESCE_FLUSH;
	}
	return GW_COALESCE_HELD;
}

bool gw_coalesce_flush(struct gw_coalescer *c, struct gw_coalesced *out)
{
	uint8_t *p;

	if (!c->count)
		return false;
	p = c->buf + GW_VNET_LEN;
	if (c->count == 1) {
		/* A lone segment keeps its own (valid) checksum. */
		memset(c->buf, 0, GW_VNET_LEN);
	} else {
		struct virtio_net_hdr vh = {
			.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
			.gso_type = c->udp ? VIRTIO_NET_HDR_GSO_UDP_L4 :
				    c->v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4,
			.hdr_len = (uint16_t)c->hl, .gso_size = (uint16_t)c->seg,
			.csum_start = (uint16_t)c->iphl, .csum_offset = c->udp ? 6 : 16,
		};
		size_t l4 = c->len - c->iphl;

		if (c->v6) {
			gw_put16(p + 4, (uint16_t)l4);
		} else {
			gw_put16(p + 2, (uint16_t)c->len);
			gw_ipv4_hdr_csum(p);
		}
		/* UDP GSO: the length of the whole; the kernel adjusts the
		 * length and the checksum of each datagram it cuts. */
		if (c->udp)
			gw_put16(p + c->iphl + 4, (uint16_t)l4);
		/* CHECKSUM_PARTIAL: the field holds the pseudo-header sum. */
		uint8_t proto = c->udp ? IPPROTO_UDP : IPPROTO_TCP;
		uint16_t s = (uint16_t)~sum_fold(pseudo_sum(p, c->v6, proto, l4));
		memcpy(p + c->iphl + vh.csum_offset, &s, 2);
		memcpy(c->buf, &vh, GW_VNET_LEN);
	}
	*out = (struct gw_coalesced){ .buf = c->buf, .len = c->len + GW_VNET_LEN,
				      .segs = c->count, .udp = c->udp };
	c->count = 0;
	return true;
}
