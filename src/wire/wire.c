#include "wire/wire.h"

#include <stdarg.h>
#include <stdio.h>

enum wire_err wire_fail(struct wire_error *err, enum wire_err code, size_t offset,
			const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	err->code = code;
	err->offset = offset;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

const char *wire_strerror(enum wire_err code)
{
	switch (code) {
	case WIRE_OK: return "ok";
	case WIRE_ETRUNC: return "truncated";
	case WIRE_ELEN: return "bad length";
	case WIRE_EALIGN: return "misaligned";
	case WIRE_EPAD: return "bad padding";
	case WIRE_ETYPE: return "unknown type";
	case WIRE_ECSUM: return "bad checksum";
	case WIRE_EVALUE: return "invalid value";
	case WIRE_ESPACE: return "no space";
	case WIRE_ECOUNT: return "too many items";
	}
	return "?";
}

uint32_t csum_partial(const uint8_t *p, size_t len, uint32_t sum)
{
	uint64_t s = sum;

	while (len >= 2) {
		s += get_be16(p);
		p += 2;
		len -= 2;
	}
	if (len)
		s += (uint32_t)p[0] << 8;
	while (s >> 32)
		s = (s & 0xffffffffu) + (s >> 32);
	return (uint32_t)s;
}

uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)~sum;
}

uint16_t csum_ipv6(const uint8_t src[16], const uint8_t dst[16], uint8_t next_header,
		   const uint8_t *payload, size_t len)
{
	uint8_t tail[8];
	uint32_t sum;

	put_be32(tail, (uint32_t)len);
	tail[4] = tail[5] = tail[6] = 0;
	tail[7] = next_header;
	sum = csum_partial(src, 16, 0);
	sum = csum_partial(dst, 16, sum);
	sum = csum_partial(tail, 8, sum);
	sum = csum_partial(payload, len, sum);
	return csum_fold(sum);
}
