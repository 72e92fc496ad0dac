/* IPv4 header and UDP over IPv4/IPv6: checksums (header, pseudo-headers,
 * zero-checksum rules), options, fragments and every malformation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "wire/ipv4.h"
#include "wire/udp.h"

static const uint8_t S4[4] = { 192, 0, 2, 10 }, D4[4] = { 198, 51, 100, 1 };
static const uint8_t S6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const uint8_t D6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };

/* IPv4 (4 bytes of options) | UDP 4191->4191 | 6 bytes */
static size_t build4(uint8_t *b, size_t size)
{
	static const uint8_t opts[4] = { 0x94, 0x04, 0, 0 };	/* router alert */
	struct ipv4_hdr h = { .total_length = 24 + 8 + 6, .identification = 0x1234, .df = true,
			      .ttl = 64, .protocol = 17, .src = S4, .dst = D4, .options = opts,
			      .options_len = 4 };

	memcpy(b + 32, "abcdef", 6);
	assert_int_equal(udp_build(b + 24, size - 24, 4191, 4191, 6, 4, S4, D4, 0, NULL), 14);
	assert_int_equal(ipv4_build(b, size, &h, true, NULL), 24);
	return 38;
}

static void test_ipv4_valid(void **state)
{
	uint8_t b[64];
	size_t len = build4(b, sizeof(b));
	struct ipv4_hdr h;
	struct udp_hdr u;
	struct wire_error err = { 0 };

	assert_int_equal(ipv4_parse(b, len, &h, &err), WIRE_OK);
	assert_int_equal(h.ihl, 6);
	assert_int_equal(h.options_len, 4);
	assert_int_equal(h.options[0], 0x94);
	assert_true(h.df);
	assert_false(ipv4_is_fragment(&h));
	assert_int_equal(h.identification, 0x1234);
	assert_int_equal(udp_parse(b + 24, len - 24, 4, h.src, h.dst, &u, &err), WIRE_OK);
	assert_int_equal(u.source_port, 4191);
	assert_int_equal(u.payload_len, 6);
	assert_memory_equal(u.payload, "abcdef", 6);
	/* link padding after total_length is ignored */
	assert_int_equal(ipv4_parse(b, len + 10, &h, &err), WIRE_OK);
}

static void test_ipv4_truncated_everywhere(void **state)
{
	uint8_t b[64];
	size_t len = build4(b, sizeof(b));
	struct ipv4_hdr h;
	char want[128];

	for (size_t n = 0; n < len; n++) {
		struct wire_error err = { 0 };

		assert_int_equal(ipv4_parse(b, n, &h, &err), WIRE_ETRUNC);
		if (n < 20)
			snprintf(want, sizeof(want), "ipv4: %zu bytes, header needs 20", n);
		else if (n < 24)
			snprintf(want, sizeof(want), "ipv4: header length 24 overruns packet (%zu)", n);
		else
			snprintf(want, sizeof(want), "ipv4: total length 38 overruns packet (%zu)", n);
		assert_string_equal(err.msg, want);
	}
}

static void test_ipv4_errors(void **state)
{
	uint8_t b[64], q[64];
	size_t len = build4(b, sizeof(b));
	struct ipv4_hdr h;
	struct wire_error err;

	memcpy(q, b, len);
	q[10] ^= 1;
	assert_int_equal(ipv4_parse(q, len, &h, &err), WIRE_ECSUM);
	{
		char want[128];

		snprintf(want, sizeof(want), "ipv4: header checksum 0x%04x wrong (should be 0x%04x)",
			 get_be16(q + 10), get_be16(b + 10));
		assert_string_equal(err.msg, want);
	}
	memcpy(q, b, len);
	q[0] = 0x44;
	assert_int_equal(ipv4_parse(q, len, &h, &err), WIRE_ELEN);
	assert_string_equal(err.msg, "ipv4: IHL 4 below 5");
	q[0] = 0x65;
	assert_int_equal(ipv4_parse(q, len, &h, &err), WIRE_EVALUE);
	assert_string_equal(err.msg, "ipv4: version 6 must be 4");
	memcpy(q, b, len);
	put_be16(q + 2, 20);
	assert_int_equal(ipv4_parse(q, len, &h, &err), WIRE_ELEN);
	assert_string_equal(err.msg, "ipv4: total length 20 below header length 24");
	/* fragments are recognised */
	memcpy(q, b, len);
	put_be16(q + 6, 0x2000 | 5);
	put_be16(q + 10, 0);
	put_be16(q + 10, csum_fold(csum_partial(q, 24, 0)));
	assert_int_equal(ipv4_parse(q, len, &h, &err), WIRE_OK);
	assert_true(h.mf);
	assert_int_equal(h.fragment_offset, 5);
	assert_true(ipv4_is_fragment(&h));
	/* builder refuses bad options */
	h.options_len = 3;
	assert_int_equal(ipv4_build(q, sizeof(q), &h, true, &err), -1);
	assert_string_equal(err.msg, "ipv4: options length 3 not a multiple of 4 up to 40");
}

static void test_udp_errors(void **state)
{
	uint8_t b[64], q[64];
	size_t len = build4(b, sizeof(b));
	struct udp_hdr u;
	struct wire_error err;
	char want[128];

	for (size_t n = 0; n < 14; n++) {
		memset(&err, 0, sizeof(err));
		assert_int_equal(udp_parse(b + 24, n, 4, S4, D4, &u, &err), WIRE_ETRUNC);
		if (n < 8)
			snprintf(want, sizeof(want), "udp: %zu bytes, header needs 8", n);
		else
			snprintf(want, sizeof(want), "udp: length 14 overruns datagram (%zu)", n);
		assert_string_equal(err.msg, want);
	}
	memcpy(q, b, len);
	q[24 + 9] ^= 0xff;
	assert_int_equal(udp_parse(q + 24, 14, 4, S4, D4, &u, &err), WIRE_ECSUM);
	assert_memory_equal(err.msg, "udp: checksum 0x", 16);
	/* the wrong pseudo-header (NAT rewrote the source) */
	assert_int_equal(udp_parse(b + 24, 14, 4, D4, D4, &u, &err), WIRE_ECSUM);
	memcpy(q, b, len);
	put_be16(q + 28, 7);
	assert_int_equal(udp_parse(q + 24, 14, 4, S4, D4, &u, &err), WIRE_ELEN);
	assert_string_equal(err.msg, "udp: length 7 below 8");
	/* zero checksum: none over IPv4, forbidden over IPv6 */
	memcpy(q, b, len);
	put_be16(q + 30, 0);
	assert_int_equal(udp_parse(q + 24, 14, 4, S4, D4, &u, &err), WIRE_OK);
	assert_int_equal(udp_parse(q + 24, 14, 6, S6, D6, &u, &err), WIRE_ECSUM);
	assert_string_equal(err.msg, "udp: zero checksum not allowed over IPv6 (RFC 8200 §8.1)");
}

static void test_udp6_and_ffff(void **state)
{
	uint8_t b[64];
	struct udp_hdr u;
	int found = 0;

	/* over IPv6 */
	memset(b, 0, sizeof(b));
	assert_int_equal(udp_build(b, sizeof(b), 1, 2, 4, 6, S6, D6, 0, NULL), 12);
	assert_int_equal(udp_parse(b, 12, 6, S6, D6, &u, NULL), WIRE_OK);
	assert_int_equal(csum_ipv6(S6, D6, 17, b, 12), 0);
	/* a computed checksum of zero is sent as 0xffff: search payloads */
	for (uint32_t v = 0; v < 0x10000 && !found; v++) {
		put_be16(b + 8, (uint16_t)v);
		udp_build(b, sizeof(b), 1, 2, 2, 4, S4, D4, 0, NULL);
		if (get_be16(b + 6) == 0xffff) {
			found = 1;
			assert_int_equal(udp_parse(b, 10, 4, S4, D4, &u, NULL), WIRE_OK);
		}
	}
	assert_true(found);
	assert_int_equal(udp_build(b, 9, 1, 2, 2, 4, S4, D4, 0, NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_valid),
		cmocka_unit_test(test_ipv4_truncated_everywhere),
		cmocka_unit_test(test_ipv4_errors),
		cmocka_unit_test(test_udp_errors),
		cmocka_unit_test(test_udp6_and_ffff),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
