/* IPv6 extension headers (RFC 8200 §4) as Mobile IPv6 uses them:
 * Hop-by-Hop and Destination Options with Pad1/PadN and the Home Address
 * option (RFC 6275 §6.3), the type 2 Routing Header (RFC 6275 §6.4), the
 * Fragment header (recognised, never reassembled), and a chain walker that
 * finds the upper layer and the addresses of its checksum pseudo-header. */
#ifndef MIPSEC_WIRE_EXTHDR_H
#define MIPSEC_WIRE_EXTHDR_H

#include "wire/ipv6.h"

enum {
	OPT_PAD1 = 0,
	OPT_PADN = 1,
	OPT_HAO = 201,		/* Home Address, RFC 6275 §6.3 */
	HAO_LEN = 16,
};

#define EXT_MAX_OPTS 16

struct ext_opt {
	uint8_t type;
	uint8_t len;			/* Opt Data Len (0 for Pad1) */
	const uint8_t *data;
	size_t off;			/* of the option within the header */
};

struct ext_opts {
	uint8_t next_header;
	uint8_t hdr_ext_len;
	size_t len;			/* whole header, (hdr_ext_len + 1) * 8 */
	size_t n;
	struct ext_opt opt[EXT_MAX_OPTS];
	const uint8_t *hoa;		/* Home Address option's address or NULL */
};

/* proto is PROTO_HOPOPTS or PROTO_DSTOPTS (the HAO is only allowed in the
 * latter). Checks option bounds, zero padding, HAO length/alignment 8n+6
 * and address, and rejects unknown options whose action bits say discard. */
enum wire_err ext_opts_parse(const uint8_t *buf, size_t len, uint8_t proto,
			     struct ext_opts *o, struct wire_error *err);

struct ext_rh {
	uint8_t next_header;
	uint8_t hdr_ext_len;
	uint8_t routing_type;
	uint8_t segments_left;
	size_t len;
	uint32_t reserved;		/* type 2 */
	const uint8_t *addr;		/* type 2: the home address */
	const uint8_t *data;		/* other types: bytes after the first 4 */
	size_t data_len;
};

enum wire_err ext_rh_parse(const uint8_t *buf, size_t len, struct ext_rh *rh,
			   struct wire_error *err);

struct ext_frag {
	uint8_t next_header;
	uint8_t reserved;
	uint16_t fragment_offset;	/* in 8-octet units */
	uint8_t res;			/* 2 bits */
	bool m;
	uint32_t identification;
};

#define EXT_FRAG_LEN 8
enum wire_err ext_frag_parse(const uint8_t *buf, size_t len, struct ext_frag *f,
			     struct wire_error *err);

/* Builders for what the mobility code sends: a Destination Options header
 * holding PadN(4) + HAO (24 bytes), a type 2 RH (24 bytes), a Fragment
 * header (8 bytes). Each returns the length written or -1. */
int ext_hao_build(uint8_t *buf, size_t size, uint8_t next_header, const uint8_t hoa[16],
		  struct wire_error *err);
int ext_rh2_build(uint8_t *buf, size_t size, uint8_t next_header, const uint8_t addr[16],
		  struct wire_error *err);
int ext_frag_build(uint8_t *buf, size_t size, const struct ext_frag *f, struct wire_error *err);

#define IPV6_CHAIN_MAX 8

struct ipv6_ext {
	uint8_t proto;			/* PROTO_HOPOPTS, _ROUTING, _FRAGMENT, _DSTOPTS */
	size_t off;			/* from the start of the IPv6 header */
	size_t len;
};

struct ipv6_chain {
	struct ipv6_hdr ip;
	size_t n;
	struct ipv6_ext ext[IPV6_CHAIN_MAX];
	uint8_t proto;			/* upper-layer protocol */
	size_t off;			/* its offset from the IPv6 header */
	size_t len;			/* its length (to the end of the payload) */
	const uint8_t *src;		/* pseudo-header source (HAO or source) */
	const uint8_t *dst;		/* pseudo-header final destination */
	const uint8_t *hoa;
	const uint8_t *rh2;
	bool fragment;			/* a Fragment header was seen: the bytes
					 * at off are fragment data, not a whole
					 * upper-layer message */
};

/* Parses the IPv6 header and walks HBH/RH/Fragment/DstOpts headers,
 * validating each. Error offsets are from the start of pkt. */
enum wire_err ipv6_walk(const uint8_t *pkt, size_t len, struct ipv6_chain *c,
			struct wire_error *err);

/* Checksum of the upper layer found by the walk over its pseudo-header
 * (RFC 8200 §8.1, RFC 6275 §6.3-6.4). Returns 0 when it verifies. */
uint16_t ipv6_upper_csum(const uint8_t *pkt, const struct ipv6_chain *c);

/* True when addr may not be a home address (RFC 6275 §6.3): multicast,
 * link-local, loopback, unspecified, IPv4-mapped. */
bool ipv6_bad_hoa(const uint8_t addr[16]);

#endif
