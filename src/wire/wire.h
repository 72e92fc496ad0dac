/* Conventions shared by every codec in src/wire/:
 *  - parse functions take (const uint8_t *buf, size_t len) and never read
 *    outside it; build functions take (uint8_t *buf, size_t size) and never
 *    write outside it; neither allocates nor touches global state;
 *  - parsed views point into the input buffer (zero copy) where practical;
 *  - every failure fills a struct wire_error: a code for programs, the
 *    offset where it was detected, and a precise message for people, such
 *    as "mh.bu: option 3 length 9 overruns header (24)". */
#ifndef MIPSEC_WIRE_WIRE_H
#define MIPSEC_WIRE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum wire_err {
	WIRE_OK = 0,
	WIRE_ETRUNC,		/* buffer ends before the structure does */
	WIRE_ELEN,		/* a length field is inconsistent or overruns */
	WIRE_EALIGN,		/* alignment rule violated */
	WIRE_EPAD,		/* bad padding */
	WIRE_ETYPE,		/* unknown or unexpected type */
	WIRE_ECSUM,		/* checksum mismatch */
	WIRE_EVALUE,		/* a field holds a value the RFC forbids */
	WIRE_ESPACE,		/* output buffer too small (build) */
	WIRE_ECOUNT,		/* more items than the parsed view can hold */
};

struct wire_error {
	enum wire_err code;
	size_t offset;		/* byte offset in the input where it was found */
	char msg[128];
};

/* Records an error and returns its code, so that parsers can
 * `return wire_fail(err, WIRE_ETRUNC, off, "ra: ...", ...)`. err may be NULL. */
enum wire_err wire_fail(struct wire_error *err, enum wire_err code, size_t offset,
			const char *fmt, ...) __attribute__((format(printf, 4, 5)));
const char *wire_strerror(enum wire_err code);

static inline uint16_t get_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void put_be16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* RFC 1071 one's-complement sum, continued from `sum`; fold with csum_fold. */
uint32_t csum_partial(const uint8_t *p, size_t len, uint32_t sum);
uint16_t csum_fold(uint32_t sum);
/* Upper-layer checksum over the IPv6 pseudo-header (RFC 8200 §8.1) with
 * `dst` the final destination. Returns the value to store (0 folded as is). */
uint16_t csum_ipv6(const uint8_t src[16], const uint8_t dst[16], uint8_t next_header,
		   const uint8_t *payload, size_t len);

#endif
