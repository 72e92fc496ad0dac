/* IP Authentication Header (RFC 4302) with HMAC-SHA-256-128 (RFC 4868)
 * over IPv4 and IPv6, transport and tunnel mode, in place, no allocation.
 *
 * AH:  Next Header(1) | Payload Len(1) = AH length in 4-octet words - 2 |
 *      Reserved(2) | SPI(4) | Seq(4) | ICV(16) [| 4 zero octets on IPv6,
 *      whose extension headers are multiples of 8 octets]
 *
 * The ICV covers the whole IP packet with the fields that change in
 * transit set to zero (RFC 4302 §3.3.3.1): IPv4 TOS, flags and fragment
 * offset, TTL, header checksum and the options that Appendix A lists as
 * mutable; IPv6 traffic class, flow label and hop limit, and the data of
 * Hop-by-Hop and Destination options whose change-en-route bit (0x20 of
 * the type) is set. Fields whose value at the destination is predictable
 * count with that value: a type 2 routing header with segments left is
 * computed as the final destination sees it (destination = the home
 * address, the routing header holding the care-of address, segments left
 * 0), and a Home Address option as RFC 6275 §6.3 says (source = the home
 * address, the option holding the care-of address). With ESN the high 32
 * bits of the sequence number follow the packet (RFC 4302 §3.3.3.2.1).
 *
 * The packet's own bytes are changed for the computation and restored
 * afterwards; the headers in front of AH (at most AH_HDRS_MAX octets) are
 * saved on the stack for that. The SA is an AH SA of sa.h (proto
 * SA_PROTO_AH); the anti-replay window and lifetimes are the SA's. */
#ifndef MIPSEC_IPSEC_AH_H
#define MIPSEC_IPSEC_AH_H

#include <stddef.h>
#include <stdint.h>

#include "ipsec/sa.h"

#define AH_HDR_LEN	12		/* up to and including Seq */
#define AH_LEN_V4	(AH_HDR_LEN + SA_ICV_LEN)	/* 28 */
#define AH_LEN_V6	(AH_HDR_LEN + SA_ICV_LEN + 4)	/* 32 */
#define AH_HDRS_MAX	512		/* IP + extension headers before AH */

enum ah_err {
	AH_OK = 0,
	AH_ERR_TRUNCATED,	/* packet ends inside the IP header or AH */
	AH_ERR_BAD_LEN,		/* AH payload length impossible or misaligned */
	AH_ERR_BAD_IP,		/* not IPv4/IPv6 or a malformed IP/extension header */
	AH_ERR_NOT_AH,		/* no AH where the IP headers end */
	AH_ERR_FRAGMENT,	/* AH on a fragment (RFC 4302 §3.4.1) */
	AH_ERR_HEADERS,		/* headers in front of AH longer than AH_HDRS_MAX,
				 * or a routing header whose final form is unknown */
	AH_ERR_WRONG_SPI,
	AH_ERR_REPLAY,
	AH_ERR_AUTH,		/* ICV mismatch */
	AH_ERR_TUNNEL_NH,	/* tunnel mode but AH does not carry IPv4/IPv6 */
	AH_ERR_SPACE,		/* buffer too small for AH (and outer header) */
	AH_ERR_SEQ_OVERFLOW,
	AH_ERR_EXPIRED,
	AH_ERR_SA,		/* not an AH SA, wrong direction, or tunnel
				 * mode without outer addresses */
};

const char *ah_strerror(enum ah_err e);

/* Bytes AH adds to a packet of family AF_INET/AF_INET6 (tunnel mode: for
 * the outer family, plus the outer header). */
size_t ah_overhead(const struct sa *sa, int family);

/* Protects the IP packet in `pkt` (`len` bytes, buffer capacity `cap`) in
 * place. Transport mode inserts AH after the IPv4 header, or after the
 * IPv6 Hop-by-Hop, Routing and Destination Options headers (a
 * Destination Options header after a Routing header stays behind AH).
 * Tunnel mode prepends an outer header from the SA's src/dst (hop limit
 * 64) and AH with next header 4 or 41. *out_len is the new length. */
enum ah_err ah_encap(struct sa *sa, uint8_t *pkt, size_t len, size_t cap, size_t *out_len);

struct ah_decap_result {
	uint8_t *pkt;		/* the packet without AH (transport: IP header
				 * moved forward; tunnel: the inner packet) */
	size_t len;
	uint8_t next_header;	/* what AH carried */
	uint64_t seq;
};

/* Verifies the AH packet `pkt` (starting with its IP header) with inbound
 * SA `sa` and removes AH in place. Order: lengths, SPI, replay check,
 * ICV, replay update (RFC 4302 §3.4). */
enum ah_err ah_decap(struct sa *sa, uint8_t *pkt, size_t len, struct ah_decap_result *r);

/* Offset of AH in an IP packet and its SPI (for the SAD lookup);
 * AH_ERR_* when there is none. */
enum ah_err ah_find(const uint8_t *pkt, size_t len, size_t *ah_off, uint32_t *spi);

void ah_count_error(struct sa *sa, enum ah_err e);
void ah_stats_register(void);

#endif
