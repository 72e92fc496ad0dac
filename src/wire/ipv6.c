#include "wire/ipv6.h"

enum wire_err ipv6_parse(const uint8_t *buf, size_t len, struct ipv6_hdr *h,
			 struct wire_error *err)
{
	uint32_t w;

	if (len < IPV6_HDR_LEN)
		return wire_fail(err, WIRE_ETRUNC, len, "ipv6: %zu bytes, header needs 40", len);
	w = get_be32(buf);
	if (w >> 28 != 6)
		return wire_fail(err, WIRE_EVALUE, 0, "ipv6: version %u must be 6", w >> 28);
	h->traffic_class = (uint8_t)(w >> 20);
	h->flow_label = w & 0xfffffu;
	h->payload_length = get_be16(buf + 4);
	h->next_header = buf[6];
	h->hop_limit = buf[7];
	h->src = buf + 8;
	h->dst = buf + 24;
	/* A zero length means a Jumbo Payload option (RFC 2675), which no
	 * link we run on can carry. */
	if (h->payload_length == 0 && h->next_header == PROTO_HOPOPTS)
		return wire_fail(err, WIRE_EVALUE, 4, "ipv6: jumbograms not supported");
	if (h->payload_length > len - IPV6_HDR_LEN)
		return wire_fail(err, WIRE_ETRUNC, len,
				 "ipv6: payload length %u overruns packet (%zu)",
				 h->payload_length, len - IPV6_HDR_LEN);
	return WIRE_OK;
}

int ipv6_build(uint8_t *buf, size_t size, const struct ipv6_hdr *h, struct wire_error *err)
{
	if (size < IPV6_HDR_LEN) {
		wire_fail(err, WIRE_ESPACE, 0, "ipv6: no space for header (%zu)", size);
		return -1;
	}
	put_be32(buf, 6u << 28 | (uint32_t)h->traffic_class << 20 | (h->flow_label & 0xfffffu));
	put_be16(buf + 4, h->payload_length);
	buf[6] = h->next_header;
	buf[7] = h->hop_limit;
	memmove(buf + 8, h->src, 16);
	memmove(buf + 24, h->dst, 16);
	return IPV6_HDR_LEN;
}
