/* RFC 5555 §4.1 UDP encapsulation on port 4191: the UDP payload is either
 * the tunnelled IPv4/IPv6 packet itself, or a 4-byte TLV header
 * (Type, Length, Reserved) followed by the payload it names.
 *
 * The two forms are told apart by the first nibble: an IP packet starts
 * with version 4 or 6, a TLV header with a small Type (high nibble 0), so
 * a receiver accepts both whatever the T flag of the BU/BA negotiated.
 *
 * CAUTION - values not checked against the specification text (it could
 * not be consulted when this was written; the T flag "TLV-header format"
 * is registered by IANA with RFC 5845 as its reference): Type 1 = IPv4 or
 * IPv6 packet (the version nibble tells which), 2 = ESP, 3 = GRE
 * (recognised, carried opaque); Length = octets of the TLV header (4 when
 * sent; a longer header is skipped). Change the UDPENCAP_TLV_* values
 * below if the RFC says otherwise - everything else follows them. */
#ifndef MIPSEC_WIRE_UDPENCAP_H
#define MIPSEC_WIRE_UDPENCAP_H

#include "wire/wire.h"

#define MIP6_UDP_PORT 4191
#define UDPENCAP_TLV_LEN 4

enum {
	UDPENCAP_TLV_IP = 1,
	UDPENCAP_TLV_ESP = 2,
	UDPENCAP_TLV_GRE = 3,
};

struct udpencap {
	bool tlv;			/* TLV-header form */
	uint8_t tlv_type;
	uint8_t tlv_length;
	uint16_t tlv_reserved;
	uint8_t inner;			/* PROTO_IPV4, PROTO_IPV6, PROTO_ESP, PROTO_GRE */
	const uint8_t *payload;
	size_t payload_len;
};

/* Parses the UDP payload buf[0..len). */
enum wire_err udpencap_parse(const uint8_t *buf, size_t len, struct udpencap *e,
			     struct wire_error *err);
/* Writes a TLV header announcing `inner` (a PROTO_* value). Returns 4 or -1. */
int udpencap_tlv_build(uint8_t *buf, size_t size, uint8_t inner, struct wire_error *err);

#endif
