/* RFC 5555 UDP encapsulation: plain and TLV-header forms carrying IPv6,
 * IPv4 and ESP, and every malformation with its exact message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "wire/ipv6.h"
#include "wire/udpencap.h"

static void test_plain(void **state)
{
	uint8_t v6[40] = { 0x60 }, v4[20] = { 0x45 };
	struct udpencap e;

	assert_int_equal(udpencap_parse(v6, sizeof(v6), &e, NULL), WIRE_OK);
	assert_false(e.tlv);
	assert_int_equal(e.inner, PROTO_IPV6);
	assert_ptr_equal(e.payload, v6);
	assert_int_equal(e.payload_len, 40);
	assert_int_equal(udpencap_parse(v4, sizeof(v4), &e, NULL), WIRE_OK);
	assert_int_equal(e.inner, PROTO_IPV4);
}

static void test_tlv(void **state)
{
	uint8_t b[64] = { 0 };
	struct udpencap e;

	assert_int_equal(udpencap_tlv_build(b, sizeof(b), PROTO_IPV6, NULL), 4);
	assert_int_equal(b[0], UDPENCAP_TLV_IP);
	assert_int_equal(b[1], 4);
	b[4] = 0x60;
	assert_int_equal(udpencap_parse(b, 44, &e, NULL), WIRE_OK);
	assert_true(e.tlv);
	assert_int_equal(e.inner, PROTO_IPV6);
	assert_ptr_equal(e.payload, b + 4);
	assert_int_equal(e.payload_len, 40);
	b[4] = 0x45;
	assert_int_equal(udpencap_parse(b, 44, &e, NULL), WIRE_OK);
	assert_int_equal(e.inner, PROTO_IPV4);
	assert_int_equal(udpencap_tlv_build(b, sizeof(b), PROTO_ESP, NULL), 4);
	assert_int_equal(b[0], UDPENCAP_TLV_ESP);
	assert_int_equal(udpencap_parse(b, 20, &e, NULL), WIRE_OK);
	assert_int_equal(e.inner, PROTO_ESP);
	assert_int_equal(e.payload_len, 16);
	/* a longer TLV header is skipped */
	b[0] = UDPENCAP_TLV_IP;
	b[1] = 8;
	b[8] = 0x60;
	assert_int_equal(udpencap_parse(b, 48, &e, NULL), WIRE_OK);
	assert_ptr_equal(e.payload, b + 8);
	assert_int_equal(udpencap_tlv_build(b, 3, PROTO_IPV6, NULL), -1);
	assert_int_equal(udpencap_tlv_build(b, 8, PROTO_UDP, NULL), -1);
}

static void test_errors(void **state)
{
	uint8_t b[64] = { 0 };
	struct udpencap e;
	struct wire_error err = { 0 };

	assert_int_equal(udpencap_parse(b, 0, &e, &err), WIRE_ETRUNC);
	assert_string_equal(err.msg, "udpencap: empty payload");
	b[0] = 0x50;
	assert_int_equal(udpencap_parse(b, 20, &e, &err), WIRE_EVALUE);
	assert_string_equal(err.msg, "udpencap: IP version 5 is neither 4 nor 6");
	b[0] = 1;
	for (size_t n = 1; n < 4; n++) {
		assert_int_equal(udpencap_parse(b, n, &e, &err), WIRE_ETRUNC);
		assert_string_equal(err.msg, n == 1 ? "udpencap.tlv: header truncated (1 bytes)" :
					     n == 2 ? "udpencap.tlv: header truncated (2 bytes)" :
						      "udpencap.tlv: header truncated (3 bytes)");
	}
	b[1] = 3;
	assert_int_equal(udpencap_parse(b, 20, &e, &err), WIRE_ELEN);
	assert_string_equal(err.msg, "udpencap.tlv: length 3 below 4");
	b[1] = 30;
	assert_int_equal(udpencap_parse(b, 20, &e, &err), WIRE_ELEN);
	assert_string_equal(err.msg, "udpencap.tlv: length 30 overruns payload (20)");
	b[1] = 4;
	assert_int_equal(udpencap_parse(b, 4, &e, &err), WIRE_ETRUNC);
	assert_string_equal(err.msg, "udpencap: no packet after the header");
	b[4] = 0x10;
	assert_int_equal(udpencap_parse(b, 20, &e, &err), WIRE_EVALUE);
	assert_string_equal(err.msg, "udpencap: IP version 1 is neither 4 nor 6");
	b[0] = 2;
	assert_int_equal(udpencap_parse(b, 11, &e, &err), WIRE_ETRUNC);
	assert_string_equal(err.msg, "udpencap.tlv: ESP header truncated (7 bytes)");
	b[0] = 9;
	assert_int_equal(udpencap_parse(b, 20, &e, &err), WIRE_ETYPE);
	assert_string_equal(err.msg, "udpencap.tlv: unknown type 9");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_tlv),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
