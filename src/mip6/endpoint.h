/* The mobility endpoint: the data path every Mobile IPv6 role shares
 * (docs/mip6-transport.md). It owns the RFC 5555 UDP sockets (port 4191,
 * IPv6 and optionally IPv4) and, optionally, a TUN device facing the host.
 *
 *   UDP in  -> RFC 5555 framing removed -> rx callback with the inner packet
 *   TUN in  -> tun callback with the host's packet (headroom in front of it
 *              so the role can prepend a HAO/RH2 in place)
 *   out     -> mip6_ep_send() queues a datagram; queued datagrams leave in
 *              one sendmmsg() when the current batch of input is done.
 *
 * Hot path rules: no allocation per packet, recvmmsg for UDP input, TUN
 * drained up to a batch per wake-up, sendmmsg for output. */
#ifndef MIPSEC_MIP6_ENDPOINT_H
#define MIPSEC_MIP6_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"

struct loop;
struct mip6_ep;

#define MIP6_EP_BATCH 32
#define MIP6_EP_HEADROOM 64	/* room to prepend HAO (24) or RH2 (24) + slack */
#define MIP6_EP_BUFSZ 2048	/* per packet, headroom included */

struct mip6_ep_config {
	struct ip_addr bind6;		/* family 0: no IPv6 socket; all-zero: any */
	struct ip_addr bind4;		/* family 0: no IPv4 socket */
	uint16_t port;			/* 0: 4191 */
	uint32_t fwmark;		/* SO_MARK on the sockets (MN policy routing) */
	const char *tun_name;		/* NULL: no TUN; may hold a %d pattern */
	unsigned tun_mtu;		/* 0: leave */
};

/* One inner packet received over UDP. */
struct mip6_rx {
	struct ip_addr peer;		/* outer source (CoA, HA, CN) */
	uint16_t peer_port;		/* != 4191 behind a NAT */
	struct ip_addr local;		/* outer destination */
	int ifindex;
	uint8_t inner;			/* 41 = IPv6, 4 = IPv4, 50 = ESP (TLV form) */
	uint8_t *pkt;			/* the inner packet, writable */
	size_t len;
};

/* A host packet read from the TUN device: `pkt` has `headroom` writable
 * bytes in front of it, and the whole buffer (headroom included) is
 * MIP6_EP_BUFSZ bytes, so that ESP can be added in place. */
struct mip6_tunpkt {
	uint8_t *pkt;
	size_t len;
	size_t headroom;
};

struct mip6_ep_ops {
	void (*rx)(void *arg, struct mip6_rx *rx);
	void (*tun)(void *arg, struct mip6_tunpkt *p);	/* NULL without TUN */
};

struct mip6_ep *mip6_ep_open(struct loop *l, const struct mip6_ep_config *cfg,
			     const struct mip6_ep_ops *ops, void *arg);
void mip6_ep_close(struct mip6_ep *ep);

/* Queues `len` bytes (an inner packet, plain RFC 5555 form) for dst:port
 * from `src` (family 0: kernel's choice). The data is copied; the queue is
 * flushed at the end of the current input batch or when full, or by
 * mip6_ep_flush() for sends made outside an input callback (timers).
 * Returns 0 or a negative errno (-ENOBUFS never: a full queue is flushed). */
int mip6_ep_send(struct mip6_ep *ep, const struct ip_addr *dst, uint16_t port,
		 const struct ip_addr *src, const uint8_t *data, size_t len);
/* Same, with the payload given in two parts (e.g. a new header + packet). */
int mip6_ep_send2(struct mip6_ep *ep, const struct ip_addr *dst, uint16_t port,
		  const struct ip_addr *src, const uint8_t *a, size_t alen,
		  const uint8_t *b, size_t blen);
void mip6_ep_flush(struct mip6_ep *ep);

/* Writes a packet into the TUN device (towards the host). */
int mip6_ep_tun_write(struct mip6_ep *ep, const uint8_t *pkt, size_t len);
int mip6_ep_tun_ifindex(const struct mip6_ep *ep);
const char *mip6_ep_tun_name(const struct mip6_ep *ep);

#endif
