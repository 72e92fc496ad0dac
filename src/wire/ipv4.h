/* IPv4 header (RFC 791) for the outer transport of RFC 5555 and for NAT
 * detection: checksum, options length, fragments recognised. */
#ifndef MIPSEC_WIRE_IPV4_H
#define MIPSEC_WIRE_IPV4_H

#include "wire/wire.h"

#define IPV4_HDR_LEN 20

struct ipv4_hdr {
	uint8_t ihl;			/* in 32-bit words */
	uint8_t tos;
	uint16_t total_length;
	uint16_t identification;
	bool rf, df, mf;		/* reserved, don't fragment, more fragments */
	uint16_t fragment_offset;	/* 8-octet units */
	uint8_t ttl;
	uint8_t protocol;
	uint16_t checksum;
	const uint8_t *src;		/* 4 bytes each, into the buffer */
	const uint8_t *dst;
	const uint8_t *options;
	size_t options_len;
};

/* Parses and checks version, IHL, total length and header checksum.
 * Bytes past total_length (link padding) are ignored. */
enum wire_err ipv4_parse(const uint8_t *buf, size_t len, struct ipv4_hdr *h,
			 struct wire_error *err);
static inline bool ipv4_is_fragment(const struct ipv4_hdr *h)
{
	return h->mf || h->fragment_offset;
}

/* Writes the header (with h->options_len bytes of options from
 * h->options, ihl derived) and, when fill_csum, the checksum; otherwise
 * h->checksum is written as is. total_length is taken from h. Returns
 * the header length or -1. */
int ipv4_build(uint8_t *buf, size_t size, const struct ipv4_hdr *h, bool fill_csum,
	       struct wire_error *err);

/* Upper-layer checksum over the IPv4 pseudo-header (RFC 768). */
uint16_t csum_ipv4(const uint8_t src[4], const uint8_t dst[4], uint8_t proto,
		   const uint8_t *payload, size_t len);

/* Given c, the folded checksum computed with the field's value f in place
 * (non-zero means a mismatch), the value the field should have held. */
uint16_t csum_expected(uint16_t c, uint16_t f);

#endif
