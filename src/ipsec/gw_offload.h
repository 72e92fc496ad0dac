/* TUN offload transformations of the `ipsec` gateway's data plane: pure
 * functions over caller buffers (no threads, sockets or allocation), so
 * that gw_dp.c keeps the threads and batching and these stay testable.
 *
 *   TX: a TUN device with IFF_VNET_HDR and TSO hands over TCP
 *       super-packets of up to 64 KiB (virtio_net_hdr gso_type TCPV4/TCPV6,
 *       gso_size = MSS) and packets whose TCP/UDP checksum is left to us
 *       (VIRTIO_NET_HDR_F_NEEDS_CSUM). gw_tso_* cuts a super-packet into
 *       complete segments, one at a time, straight into the caller's
 *       buffers (no intermediate copy); gw_csum_finish fills a partial
 *       checksum in place.
 *   RX: gw_coalescer joins in-order segments of one TCP flow (or
 *       equal-size datagrams of one UDP flow) into one super-packet with
 *       its virtio_net_hdr, so the host's stack takes one write for up to
 *       GW_COALESCE_MAX_SEGS segments.
 *
 * virtio_net_hdr fields are in host byte order (a TUN device without
 * TUNSETVNETBE on a little-endian host). */
#ifndef MIPSEC_IPSEC_GW_OFFLOAD_H
#define MIPSEC_IPSEC_GW_OFFLOAD_H

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GW_VNET_LEN sizeof(struct virtio_net_hdr)
#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5	/* Linux 6.2 USO; older headers lack it */
#endif

/* Why a super-packet or a partial checksum was refused. */
enum gw_offload_err {
	GW_OFFLOAD_OK = 0,
	GW_OFFLOAD_TRUNCATED,	/* IP or TCP header longer than the packet */
	GW_OFFLOAD_BAD_HDR,	/* IP version not 4/6, IHL < 5, TCP data offset < 5 */
	GW_OFFLOAD_BAD_GSO,	/* gso_type not TCPV4/TCPV6 or not the packet's
				 * IP version, gso_size 0 */
	GW_OFFLOAD_NOT_TCP,	/* a TCP gso_type on a packet that is not TCP */
	GW_OFFLOAD_BAD_CSUM,	/* csum_start/csum_offset outside the packet or
				 * inside the IP header */
	GW_OFFLOAD_TOO_BIG,	/* a segment would not fit the caller's room */
};

const char *gw_offload_strerror(enum gw_offload_err e);

/* ---- checksums and field access ---- */

/* Recomputes the header checksum of the IPv4 header at `ip` (IHL words,
 * which the caller has checked lie inside its buffer). */
void gw_ipv4_hdr_csum(uint8_t *ip);

static inline void gw_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline uint32_t gw_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void gw_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* ---- TX: partial checksums ---- */

/* With VIRTIO_NET_HDR_F_NEEDS_CSUM in vh->flags, computes the checksum at
 * csum_start + csum_offset of the IPv4/IPv6 packet pkt[0..len) over the
 * pseudo-header (protocol: the IP header's) and the bytes from csum_start
 * on; a UDP checksum of 0 is sent as 0xffff. Without the flag: nothing to
 * do. */
enum gw_offload_err gw_csum_finish(uint8_t *pkt, size_t len, const struct virtio_net_hdr *vh);

/* ---- TX: TCP segmentation ---- */

/* A super-packet being cut; filled by gw_tso_begin, read by gw_tso_next.
 * It points into the caller's packet, which must stay unchanged. */
struct gw_tso {
	const uint8_t *pkt;
	size_t iphl, thl, hl;		/* IP header, TCP header, both */
	size_t mss, data, off;		/* gso_size, payload bytes, next offset */
	uint32_t seq;
	uint16_t id;
	uint8_t flags;
	bool v6;
	unsigned i;			/* segments made so far */
};

/* Checks the super-packet pkt[0..len) described by vh (gso_type TCPV4 or
 * TCPV6, optionally with VIRTIO_NET_HDR_GSO_ECN) and prepares cutting it
 * into segments of at most room bytes each. */
enum gw_offload_err gw_tso_begin(struct gw_tso *t, const struct virtio_net_hdr *vh,
				 const uint8_t *pkt, size_t len, size_t room);

/* Writes the next segment into out (room bytes, not overlapping the
 * super-packet) and returns its length, 0 after the last. Each segment
 * has the headers of the super-packet with its own IP length (and IPv4
 * ID: the super-packet's + segment index), sequence number, FIN and PSH
 * only on the last segment, CWR only on the first, and valid IPv4 header
 * and TCP checksums. A super-packet without payload gives one segment. */
size_t gw_tso_next(struct gw_tso *t, uint8_t *out);

/* ---- RX: coalescing ---- */

#define GW_COALESCE_MAX_SEGS 64
/* The largest super-packet (IP length) made; keeps room under the 64 KiB
 * IP limit for the headers of a rebuilt outer packet. */
#define GW_COALESCE_MAX_LEN (65535 - 64)
/* The caller's buffer: vnet header + super-packet. */
#define GW_COALESCE_BUF (GW_VNET_LEN + 65535)

/* One flow being coalesced. The caller sets buf, tcp_ok and udp_ok; the
 * rest is private (zero it once). */
struct gw_coalescer {
	uint8_t *buf;			/* GW_COALESCE_BUF bytes */
	bool tcp_ok, udp_ok;		/* which kinds may be coalesced */
	size_t len;			/* packet bytes (headers + payload) */
	size_t hl, iphl, seg;		/* header length, IP header length, segment size */
	unsigned count;			/* segments pending, 0: none */
	bool v6, udp, closed;		/* closed: a short segment or PSH ended it */
	uint32_t next_seq;
};

enum gw_coalesce_res {
	GW_COALESCE_HELD,	/* joined (or started) the pending super-packet */
	GW_COALESCE_FLUSH,	/* joined it and ended it (PSH, shorter segment):
				 * flush now */
	GW_COALESCE_OTHER,	/* could be coalesced, but not with the pending
				 * one: flush, then add it again */
	GW_COALESCE_ALONE,	/* cannot be coalesced (other protocol, IP
				 * options, fragment, TCP flags other than ACK
				 * or ACK|PSH, no payload, kind not allowed):
				 * flush, then write it alone */
};

/* Offers the IPv4/IPv6 packet pkt[0..len) (its IP length must be len).
 * It joins the pending super-packet when it continues it: same addresses,
 * ports, IP fields and TCP header but for sequence number, flags and
 * checksum, the next sequence number, a payload no longer than the first
 * segment's, and room left. */
enum gw_coalesce_res gw_coalesce_add(struct gw_coalescer *c, const uint8_t *pkt, size_t len);

/* What a flush hands to the TUN device. */
struct gw_coalesced {
	const uint8_t *buf;		/* vnet header + packet, inside c->buf */
	size_t len;
	unsigned segs;			/* segments it carries */
	bool udp;
};

/* Ends the pending super-packet: a lone segment goes out as it came with a
 * zero vnet header; several get their IP length (and IPv4 header
 * checksum, the UDP length) set, the pseudo-header sum in the checksum
 * field and a vnet header with NEEDS_CSUM, gso_type TCPV4/TCPV6/UDP_L4,
 * gso_size = the first segment's payload, hdr_len, csum_start = IP header
 * length, csum_offset 16 (TCP) or 6 (UDP). False when nothing pending. */
bool gw_coalesce_flush(struct gw_coalescer *c, struct gw_coalesced *out);

#endif
