#include "wire/udpencap.h"

#include "wire/ipv6.h"

static enum wire_err ip_version(const uint8_t *p, size_t len, size_t off, uint8_t *inner,
				struct wire_error *err)
{
	if (!len)
		return wire_fail(err, WIRE_ETRUNC, off, "udpencap: no packet after the header");
	switch (p[0] >> 4) {
	case 4:
		*inner = PROTO_IPV4;
		return WIRE_OK;
	case 6:
		*inner = PROTO_IPV6;
		return WIRE_OK;
	}
	return wire_fail(err, WIRE_EVALUE, off, "udpencap: IP version %u is neither 4 nor 6",
			 p[0] >> 4);
}

enum wire_err udpencap_parse(const uint8_t *buf, size_t len, struct udpencap *e,
			     struct wire_error *err)
{
	memset(e, 0, sizeof(*e));
	if (!len)
		return wire_fail(err, WIRE_ETRUNC, 0, "udpencap: empty payload");
	if (buf[0] >> 4) {
		e->payload = buf;
		e->payload_len = len;
		return ip_version(buf, len, 0, &e->inner, err);
	}
	e->tlv = true;
	if (len < UDPENCAP_TLV_LEN)
		return wire_fail(err, WIRE_ETRUNC, len, "udpencap.tlv: header truncated (%zu bytes)",
				 len);
	e->tlv_type = buf[0];
	e->tlv_length = buf[1];
	e->tlv_reserved = get_be16(buf + 2);
	if (e->tlv_length < UDPENCAP_TLV_LEN)
		return wire_fail(err, WIRE_ELEN, 1, "udpencap.tlv: length %u below 4", e->tlv_length);
	if (e->tlv_length > len)
		return wire_fail(err, WIRE_ELEN, 1, "udpencap.tlv: length %u overruns payload (%zu)",
				 e->tlv_length, len);
	e->payload = buf + e->tlv_length;
	e->payload_len = len - e->tlv_length;
	switch (e->tlv_type) {
	case UDPENCAP_TLV_IP:
		return ip_version(e->payload, e->payload_len, e->tlv_length, &e->inner, err);
	case UDPENCAP_TLV_ESP:
		e->inner = PROTO_ESP;
		if (e->payload_len < 8)
			return wire_fail(err, WIRE_ETRUNC, len,
					 "udpencap.tlv: ESP header truncated (%zu bytes)",
					 e->payload_len);
		return WIRE_OK;
	case UDPENCAP_TLV_GRE:
		e->inner = PROTO_GRE;
		return WIRE_OK;
	}
	return wire_fail(err, WIRE_ETYPE, 0, "udpencap.tlv: unknown type %u", e->tlv_type);
}

int udpencap_tlv_build(uint8_t *buf, size_t size, uint8_t inner, struct wire_error *err)
{
	uint8_t type;

	switch (inner) {
	case PROTO_IPV4:
	case PROTO_IPV6:
		type = UDPENCAP_TLV_IP;
		break;
	case PROTO_ESP:
		type = UDPENCAP_TLV_ESP;
		break;
	case PROTO_GRE:
		type = UDPENCAP_TLV_GRE;
		break;
	default:
		wire_fail(err, WIRE_ETYPE, 0, "udpencap.tlv: no type for protocol %u", inner);
		return -1;
	}
	if (size < UDPENCAP_TLV_LEN) {
		wire_fail(err, WIRE_ESPACE, 0, "udpencap.tlv: no space (%zu)", size);
		return -1;
	}
	buf[0] = type;
	buf[1] = UDPENCAP_TLV_LEN;
	put_be16(buf + 2, 0);
	return UDPENCAP_TLV_LEN;
}
