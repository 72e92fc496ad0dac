/* JSON views of wire messages for `mipsecctl decode` / `mipsecctl encode`
 * and the conformance tests. Field names are the RFCs' own (lower case,
 * underscores). encode(decode(x)) == x for every well-formed message.
 *
 * The IPv6/IPv4/UDP/ICMPv6 layers (decode.c, encode.c, wirejson_ip.c) call
 * into the Mobility Header layer (wirejson_mh.c) through these functions. */
#ifndef MIPSEC_CTL_WIREJSON_H
#define MIPSEC_CTL_WIREJSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"

/* A whole Mobility Header (RFC 6275 §6.1) with its options. When src and
 * dst are non-NULL the checksum is verified over that pseudo-header
 * (dst = final destination, src = home address when a Home Address option
 * is present); a mismatch is an error. Returns a new object or NULL with
 * *err filled in. */
json_t *mh_to_json(const uint8_t *mh, size_t len, const uint8_t *src, const uint8_t *dst,
		   struct wire_error *err);

/* Builds a Mobility Header from its JSON view into buf; fills the checksum
 * when src and dst are non-NULL (else leaves any "checksum" given in the
 * spec). Returns the length written or -1 with *err filled in. */
int mh_from_json(const json_t *spec, uint8_t *buf, size_t size, const uint8_t *src,
		 const uint8_t *dst, struct wire_error *err);

/* A Neighbor Discovery message (RFC 4861 RS, RA, NS, NA: ICMPv6 types
 * 133-136, from the Type byte) with its options, through the wire/nd.h
 * codec (wirejson_nd.c). With src and dst the checksum is verified over
 * that pseudo-header. Returns a new object or NULL with *err filled in. */
json_t *nd_to_json(const uint8_t *buf, size_t len, const uint8_t *src, const uint8_t *dst,
		   struct wire_error *err);

/* Builds an ND message from its JSON view into buf; fills the checksum
 * when src and dst are non-NULL and the spec gives none. Returns the
 * length written or -1 with *err filled in. */
int nd_from_json(const json_t *spec, uint8_t *buf, size_t size, const uint8_t *src,
		 const uint8_t *dst, struct wire_error *err);

#endif
