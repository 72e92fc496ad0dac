/* UDP (RFC 768) over IPv4 or IPv6, checksum over the right pseudo-header.
 * Over IPv6 a zero checksum is refused (RFC 8200 §8.1); over IPv4 it
 * means "no checksum". */
#ifndef MIPSEC_WIRE_UDP_H
#define MIPSEC_WIRE_UDP_H

#include "wire/wire.h"

#define UDP_HDR_LEN 8

struct udp_hdr {
	uint16_t source_port;
	uint16_t destination_port;
	uint16_t length;
	uint16_t checksum;
	const uint8_t *payload;
	size_t payload_len;
};

/* af is 4 or 6 (src/dst are 4 or 16 bytes: the pseudo-header addresses),
 * or 0 with src/dst NULL to skip the checksum. The UDP length must fit
 * in len; bytes after it are ignored. */
enum wire_err udp_parse(const uint8_t *buf, size_t len, int af, const uint8_t *src,
			const uint8_t *dst, struct udp_hdr *u, struct wire_error *err);

/* Writes the header in front of payload_len bytes already at buf + 8 and,
 * when af is 4 or 6, the checksum (0 becomes 0xffff). With af 0 the
 * given checksum is written. Returns 8 + payload_len or -1. */
int udp_build(uint8_t *buf, size_t size, uint16_t sport, uint16_t dport, size_t payload_len,
	      int af, const uint8_t *src, const uint8_t *dst, uint16_t checksum,
	      struct wire_error *err);

#endif
