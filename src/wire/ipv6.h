/* IPv6 fixed header (RFC 8200 §3). */
#ifndef MIPSEC_WIRE_IPV6_H
#define MIPSEC_WIRE_IPV6_H

#include "wire/wire.h"

#define IPV6_HDR_LEN 40

/* Protocol numbers used across the IP-layer codecs (IANA). */
enum {
	PROTO_HOPOPTS = 0,
	PROTO_IPV4 = 4,
	PROTO_UDP = 17,
	PROTO_IPV6 = 41,
	PROTO_ROUTING = 43,
	PROTO_FRAGMENT = 44,
	PROTO_GRE = 47,
	PROTO_ESP = 50,
	PROTO_AH = 51,
	PROTO_ICMPV6 = 58,
	PROTO_NONE = 59,
	PROTO_DSTOPTS = 60,
	PROTO_MH = 135,
};

struct ipv6_hdr {
	uint8_t traffic_class;
	uint32_t flow_label;		/* 20 bits */
	uint16_t payload_length;
	uint8_t next_header;
	uint8_t hop_limit;
	const uint8_t *src;		/* 16 bytes; points into the buffer */
	const uint8_t *dst;
};

/* Parses the fixed header and checks that payload_length fits in len
 * (bytes after the payload, such as link padding, are ignored). */
enum wire_err ipv6_parse(const uint8_t *buf, size_t len, struct ipv6_hdr *h,
			 struct wire_error *err);
/* Writes the 40-byte header (h->src/dst are copied). Returns 40 or -1. */
int ipv6_build(uint8_t *buf, size_t size, const struct ipv6_hdr *h, struct wire_error *err);

#endif
