#include "wire/udp.h"

#include "wire/ipv4.h"

static uint16_t udp_csum(const uint8_t *buf, size_t len, int af, const uint8_t *src,
			 const uint8_t *dst)
{
	if (af == 4)
		return csum_ipv4(src, dst, 17, buf, len);
	return csum_ipv6(src, dst, 17, buf, len);
}

enum wire_err udp_parse(const uint8_t *buf, size_t len, int af, const uint8_t *src,
			const uint8_t *dst, struct udp_hdr *u, struct wire_error *err)
{
	uint16_t c;

	if (len < UDP_HDR_LEN)
		return wire_fail(err, WIRE_ETRUNC, len, "udp: %zu bytes, header needs 8", len);
	u->source_port = get_be16(buf);
	u->destination_port = get_be16(buf + 2);
	u->length = get_be16(buf + 4);
	u->checksum = get_be16(buf + 6);
	if (u->length < UDP_HDR_LEN)
		return wire_fail(err, WIRE_ELEN, 4, "udp: length %u below 8", u->length);
	if (u->length > len)
		return wire_fail(err, WIRE_ETRUNC, len, "udp: length %u overruns datagram (%zu)",
				 u->length, len);
	u->payload = buf + UDP_HDR_LEN;
	u->payload_len = u->length - UDP_HDR_LEN;
	if (!af || !src || !dst)
		return WIRE_OK;
	if (!u->checksum) {
		if (af == 6)
			return wire_fail(err, WIRE_ECSUM, 6,
					 "udp: zero checksum not allowed over IPv6 (RFC 8200 §8.1)");
		return WIRE_OK;
	}
	c = udp_csum(buf, u->length, af, src, dst);
	if (c)
		return wire_fail(err, WIRE_ECSUM, 6, "udp: checksum 0x%04x wrong (should be 0x%04x)",
				 u->checksum, csum_expected(c, u->checksum));
	return WIRE_OK;
}

int udp_build(uint8_t *buf, size_t size, uint16_t sport, uint16_t dport, size_t payload_len,
	      int af, const uint8_t *src, const uint8_t *dst, uint16_t checksum,
	      struct wire_error *err)
{
	size_t len = UDP_HDR_LEN + payload_len;
	uint16_t c;

	if (len > 0xffff || size < len) {
		wire_fail(err, WIRE_ESPACE, 0, "udp: no space for %zu bytes (%zu)", len, size);
		return -1;
	}
	put_be16(buf, sport);
	put_be16(buf + 2, dport);
	put_be16(buf + 4, (uint16_t)len);
	put_be16(buf + 6, af ? 0 : checksum);
	if (af) {
		c = udp_csum(buf, len, af, src, dst);
		put_be16(buf + 6, c ? c : 0xffff);
	}
	return (int)len;
}
