/* ICMPv6 messages (RFC 4443) used by Mobile IPv6 (RFC 6275 §6.5-6.8):
 * Home Agent Address Discovery Request/Reply, Mobile Prefix
 * Solicitation/Advertisement with Prefix Information options, and the
 * error messages and Echo that the tunnel and the tests need.
 * (Router/Neighbour Discovery lives in nd.{h,c}.) */
#ifndef MIPSEC_WIRE_ICMP6MSG_H
#define MIPSEC_WIRE_ICMP6MSG_H

#include "wire/wire.h"

enum {
	ICMPV6_DST_UNREACH = 1,
	ICMPV6_PACKET_TOO_BIG = 2,
	ICMPV6_TIME_EXCEEDED = 3,
	ICMPV6_PARAM_PROB = 4,
	ICMPV6_ECHO_REQUEST = 128,
	ICMPV6_ECHO_REPLY = 129,
	ICMPV6_HAAD_REQUEST = 144,
	ICMPV6_HAAD_REPLY = 145,
	ICMPV6_MPS = 146,
	ICMPV6_MPA = 147,
	ICMPV6_HDR_LEN = 8,		/* type, code, checksum, first word */
	ND_OPT_PREFIX_INFO = 3,
	ND_OPT_PI_LEN = 32,
};

struct icmp6_msg {
	uint8_t type;
	uint8_t code;
	uint16_t checksum;
	uint32_t word;			/* bytes 4-7: unused / mtu / pointer */
	uint16_t identifier;		/* echo, HAAD, MPS, MPA */
	uint16_t sequence;		/* echo */
	bool r;				/* HAAD: mobile router (RFC 3963) */
	bool m, o;			/* MPA */
	uint16_t reserved;		/* HAAD 15 bits, MPS 16, MPA 14 */
	const uint8_t *body;		/* after the first 8 bytes */
	size_t body_len;
	size_t n_addrs;			/* HAAD Reply: body holds n_addrs * 16 */
};

/* Parses one message of len bytes. When src and dst are non-NULL the
 * checksum is verified over that IPv6 pseudo-header. */
enum wire_err icmp6_parse(const uint8_t *buf, size_t len, const uint8_t *src,
			  const uint8_t *dst, struct icmp6_msg *m, struct wire_error *err);

/* Writes the 8-byte header from m (type, code, word or the per-type
 * fields) followed by body_len bytes from m->body (which may already sit
 * at buf + 8), then fills the checksum when src/dst are non-NULL. */
int icmp6_build(uint8_t *buf, size_t size, const struct icmp6_msg *m, const uint8_t *src,
		const uint8_t *dst, struct wire_error *err);

/* Prefix Information option (RFC 4861 §4.6.2 with the R flag of
 * RFC 6275 §7.2). */
struct nd_pio {
	uint8_t prefix_length;
	bool l, a, r;
	uint8_t reserved1;		/* 5 bits */
	uint32_t valid_lifetime;
	uint32_t preferred_lifetime;
	uint32_t reserved2;
	const uint8_t *prefix;
};

/* Iterates over ND-style options in [buf, buf+len): on success *type,
 * *olen (bytes) and *data (the option start) describe the option at *off,
 * and *off advances. Returns WIRE_OK, or WIRE_ETRUNC at the end with
 * *off == len (no error recorded), or a length error. */
enum wire_err icmp6_opt_next(const uint8_t *buf, size_t len, size_t *off, uint8_t *type,
			     size_t *olen, struct wire_error *err);
enum wire_err icmp6_pio_parse(const uint8_t *opt, size_t olen, struct nd_pio *p,
			      struct wire_error *err);
int icmp6_pio_build(uint8_t *buf, size_t size, const struct nd_pio *p, struct wire_error *err);

#endif
