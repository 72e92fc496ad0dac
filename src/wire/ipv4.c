#include "wire/ipv4.h"

uint16_t csum_expected(uint16_t c, uint16_t f)
{
	return csum_fold((uint32_t)(uint16_t)~c + (uint16_t)~f);
}

uint16_t csum_ipv4(const uint8_t src[4], const uint8_t dst[4], uint8_t proto,
		   const uint8_t *payload, size_t len)
{
	uint8_t tail[4] = { 0, proto, (uint8_t)(len >> 8), (uint8_t)len };
	uint32_t sum;

	sum = csum_partial(src, 4, 0);
	sum = csum_partial(dst, 4, sum);
	sum = csum_partial(tail, 4, sum);
	sum = csum_partial(payload, len, sum);
	return csum_fold(sum);
}

enum wire_err ipv4_parse(const uint8_t *buf, size_t len, struct ipv4_hdr *h,
			 struct wire_error *err)
{
	size_t hlen;
	uint16_t w, c;

	if (len < IPV4_HDR_LEN)
		return wire_fail(err, WIRE_ETRUNC, len, "ipv4: %zu bytes, header needs 20", len);
	if (buf[0] >> 4 != 4)
		return wire_fail(err, WIRE_EVALUE, 0, "ipv4: version %u must be 4", buf[0] >> 4);
	h->ihl = buf[0] & 0xf;
	hlen = (size_t)h->ihl * 4;
	if (h->ihl < 5)
		return wire_fail(err, WIRE_ELEN, 0, "ipv4: IHL %u below 5", h->ihl);
	if (hlen > len)
		return wire_fail(err, WIRE_ETRUNC, len, "ipv4: header length %zu overruns packet (%zu)",
				 hlen, len);
	h->tos = buf[1];
	h->total_length = get_be16(buf + 2);
	if (h->total_length < hlen)
		return wire_fail(err, WIRE_ELEN, 2, "ipv4: total length %u below header length %zu",
				 h->total_length, hlen);
	if (h->total_length > len)
		return wire_fail(err, WIRE_ETRUNC, len, "ipv4: total length %u overruns packet (%zu)",
				 h->total_length, len);
	h->identification = get_be16(buf + 4);
	w = get_be16(buf + 6);
	h->rf = w >> 15;
	h->df = (w >> 14) & 1;
	h->mf = (w >> 13) & 1;
	h->fragment_offset = w & 0x1fff;
	h->ttl = buf[8];
	h->protocol = buf[9];
	h->checksum = get_be16(buf + 10);
	h->src = buf + 12;
	h->dst = buf + 16;
	h->options = buf + IPV4_HDR_LEN;
	h->options_len = hlen - IPV4_HDR_LEN;
	c = csum_fold(csum_partial(buf, hlen, 0));
	if (c)
		return wire_fail(err, WIRE_ECSUM, 10,
				 "ipv4: header checksum 0x%04x wrong (should be 0x%04x)", h->checksum,
				 csum_expected(c, h->checksum));
	return WIRE_OK;
}

int ipv4_build(uint8_t *buf, size_t size, const struct ipv4_hdr *h, bool fill_csum,
	       struct wire_error *err)
{
	size_t hlen = IPV4_HDR_LEN + h->options_len;

	if (h->options_len % 4 || h->options_len > 40) {
		wire_fail(err, WIRE_ELEN, 0, "ipv4: options length %zu not a multiple of 4 up to 40",
			  h->options_len);
		return -1;
	}
	if (size < hlen) {
		wire_fail(err, WIRE_ESPACE, 0, "ipv4: no space for header (%zu)", size);
		return -1;
	}
	if (h->options_len)
		memmove(buf + IPV4_HDR_LEN, h->options, h->options_len);
	buf[0] = (uint8_t)(0x40 | hlen / 4);
	buf[1] = h->tos;
	put_be16(buf + 2, h->total_length);
	put_be16(buf + 4, h->identification);
	put_be16(buf + 6, (uint16_t)((h->rf ? 0x8000 : 0) | (h->df ? 0x4000 : 0) |
				     (h->mf ? 0x2000 : 0) | (h->fragment_offset & 0x1fff)));
	buf[8] = h->ttl;
	buf[9] = h->protocol;
	put_be16(buf + 10, fill_csum ? 0 : h->checksum);
	memmove(buf + 12, h->src, 4);
	memmove(buf + 16, h->dst, 4);
	if (fill_csum)
		put_be16(buf + 10, csum_fold(csum_partial(buf, hlen, 0)));
	return (int)hlen;
}
