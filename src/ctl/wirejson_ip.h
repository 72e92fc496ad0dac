/* JSON views of the IP layers for `mipsecctl decode` / `encode`: IPv6 with
 * its extension headers, IPv4, UDP, RFC 5555 encapsulation, ICMPv6 and
 * ESP, nesting down to the Mobility Header (wirejson.h). Field names are
 * the RFCs' own; decode(encode(x)) == x. */
#ifndef MIPSEC_CTL_WIREJSON_IP_H
#define MIPSEC_CTL_WIREJSON_IP_H

#include <jansson.h>

#include "wire/wire.h"

enum ip_layer {
	LAYER_AUTO,		/* from the version nibble */
	LAYER_IPV6,
	LAYER_IPV4,
	LAYER_UDPENCAP,
	LAYER_MH,
	LAYER_ICMP6,
};

/* Returns {"ipv6": {...}} (or "ipv4", "udpencap", "mh", "icmpv6") or NULL
 * with *err filled in ("<layer>.<what>: ..."). */
json_t *ip_packet_to_json(enum ip_layer layer, const uint8_t *buf, size_t len,
			  struct wire_error *err);

/* Builds the packet described by one such object. Lengths, next-header
 * values and checksums absent from the object are computed; present ones
 * are written as given. Returns the length or -1 with *err filled in. */
int ip_packet_from_json(const json_t *obj, uint8_t *buf, size_t size, struct wire_error *err);

#endif
