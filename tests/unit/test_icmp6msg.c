/* ICMPv6 messages of Mobile IPv6: HAAD Request/Reply, MPS/MPA with Prefix
 * Information options, error messages and Echo; checksums and every
 * malformation with its exact message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "wire/icmp6msg.h"

static const uint8_t SRC[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 0x64 };
static const uint8_t DST[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 1 };
static const uint8_t PFX[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 9 };

static void test_haad_roundtrip(void **state)
{
	uint8_t b[64], addrs[32];
	struct icmp6_msg m = { .type = ICMPV6_HAAD_REPLY, .identifier = 0xbeef, .r = true,
			       .body = addrs, .body_len = 32 }, g;
	struct wire_error err = { 0 };

	memcpy(addrs, DST, 16);
	memcpy(addrs + 16, SRC, 16);
	assert_int_equal(icmp6_build(b, sizeof(b), &m, SRC, DST, &err), 40);
	assert_int_equal(csum_ipv6(SRC, DST, 58, b, 40), 0);
	assert_int_equal(icmp6_parse(b, 40, SRC, DST, &g, &err), WIRE_OK);
	assert_int_equal(g.type, ICMPV6_HAAD_REPLY);
	assert_int_equal(g.identifier, 0xbeef);
	assert_true(g.r);
	assert_int_equal(g.reserved, 0);
	assert_int_equal(g.n_addrs, 2);
	assert_memory_equal(g.body + 16, SRC, 16);

	/* wrong checksum: exact message with the right value */
	b[2] ^= 0x10;
	assert_int_equal(icmp6_parse(b, 40, SRC, DST, &g, &err), WIRE_ECSUM);
	{
		char want[128];
		uint16_t good = get_be16(b + 2) ^ 0x1000;

		snprintf(want, sizeof(want), "icmpv6: checksum 0x%04x wrong (should be 0x%04x)",
			 get_be16(b + 2), good);
		assert_string_equal(err.msg, want);
	}
	/* wrong pseudo-header (e.g. care-of instead of home address) */
	b[2] ^= 0x10;
	assert_int_equal(icmp6_parse(b, 40, DST, DST, &g, &err), WIRE_ECSUM);
	/* addresses not a multiple of 16 */
	assert_int_equal(icmp6_parse(b, 36, NULL, NULL, &g, &err), WIRE_ELEN);
	assert_string_equal(err.msg, "icmpv6.haad_reply: 28 address bytes not a multiple of 16");
}

static void test_haad_request_mps(void **state)
{
	uint8_t b[16];
	struct icmp6_msg m = { .type = ICMPV6_HAAD_REQUEST, .identifier = 1, .reserved = 0x1234 }, g;

	assert_int_equal(icmp6_build(b, sizeof(b), &m, SRC, DST, NULL), 8);
	assert_int_equal(b[6], 0x12);
	assert_int_equal(icmp6_parse(b, 8, SRC, DST, &g, NULL), WIRE_OK);
	assert_false(g.r);
	assert_int_equal(g.reserved, 0x1234);
	m = (struct icmp6_msg){ .type = ICMPV6_MPS, .identifier = 0x4242, .reserved = 0xffff };
	assert_int_equal(icmp6_build(b, sizeof(b), &m, SRC, DST, NULL), 8);
	assert_int_equal(icmp6_parse(b, 8, SRC, DST, &g, NULL), WIRE_OK);
	assert_int_equal(g.identifier, 0x4242);
	assert_int_equal(g.reserved, 0xffff);
	assert_int_equal(icmp6_build(b, 7, &m, NULL, NULL, NULL), -1);
}

/* MPA with two PIOs: 8 + 32 + 32 bytes. */
static size_t build_mpa(uint8_t *b, size_t size)
{
	struct nd_pio p = { .prefix_length = 64, .l = true, .a = true, .r = true,
			    .valid_lifetime = 86400, .preferred_lifetime = 3600, .prefix = PFX };
	struct icmp6_msg m = { .type = ICMPV6_MPA, .identifier = 9, .m = true, .o = false,
			       .body = b + 8, .body_len = 64 };

	assert_int_equal(icmp6_pio_build(b + 8, size - 8, &p, NULL), 32);
	p.r = false;
	p.prefix_length = 48;
	assert_int_equal(icmp6_pio_build(b + 40, size - 40, &p, NULL), 32);
	assert_int_equal(icmp6_build(b, size, &m, SRC, DST, NULL), 72);
	return 72;
}

static void test_mpa(void **state)
{
	uint8_t b[128];
	size_t len = build_mpa(b, sizeof(b)), off = 0, olen;
	struct icmp6_msg g;
	struct nd_pio p;
	uint8_t type;

	assert_int_equal(icmp6_parse(b, len, SRC, DST, &g, NULL), WIRE_OK);
	assert_true(g.m);
	assert_false(g.o);
	assert_int_equal(b[6], 0x80);
	assert_int_equal(icmp6_opt_next(g.body, g.body_len, &off, &type, &olen, NULL), WIRE_OK);
	assert_int_equal(type, ND_OPT_PREFIX_INFO);
	assert_int_equal(olen, 32);
	assert_int_equal(icmp6_pio_parse(g.body, olen, &p, NULL), WIRE_OK);
	assert_int_equal(p.prefix_length, 64);
	assert_true(p.l && p.a && p.r);
	assert_int_equal(p.valid_lifetime, 86400);
	assert_int_equal(p.preferred_lifetime, 3600);
	assert_memory_equal(p.prefix, PFX, 16);
	assert_int_equal(icmp6_opt_next(g.body, g.body_len, &off, &type, &olen, NULL), WIRE_OK);
	assert_int_equal(icmp6_pio_parse(g.body + 32, olen, &p, NULL), WIRE_OK);
	assert_false(p.r);
	assert_int_equal(icmp6_opt_next(g.body, g.body_len, &off, &type, &olen, NULL), WIRE_ETRUNC);
	assert_int_equal(off, 64);
}

static void test_mpa_truncated_everywhere(void **state)
{
	uint8_t b[128];
	size_t len = build_mpa(b, sizeof(b));
	struct icmp6_msg g;
	char want[128];

	for (size_t n = 0; n < len; n++) {
		struct wire_error err = { 0 };
		enum wire_err e = icmp6_parse(b, n, NULL, NULL, &g, &err);
		size_t rest = n < 40 ? n - 8 : n - 40;

		if (n < 8) {
			snprintf(want, sizeof(want), "icmpv6: %zu bytes, header needs 8", n);
		} else if (n == 8 || n == 40) {
			assert_int_equal(e, WIRE_OK);
			continue;
		} else if (rest < 2) {
			snprintf(want, sizeof(want), "icmpv6.opt: option header truncated at %zu",
				 n - 8 - rest);
		} else {
			snprintf(want, sizeof(want),
				 "icmpv6.opt: option 3 length 32 overruns message (%zu)", rest);
		}
		assert_int_not_equal(e, WIRE_OK);
		assert_string_equal(err.msg, want);
		/* and over the pseudo-header the checksum catches it first */
		if (n >= 8)
			assert_int_equal(icmp6_parse(b, n, SRC, DST, &g, NULL), WIRE_ECSUM);
	}
}

static void test_mpa_option_errors(void **state)
{
	uint8_t b[128], q[128];
	size_t len = build_mpa(b, sizeof(b));
	struct icmp6_msg g;
	struct wire_error err;

	memcpy(q, b, len);
	q[9] = 0;
	assert_int_equal(icmp6_parse(q, len, NULL, NULL, &g, &err), WIRE_ELEN);
	assert_string_equal(err.msg, "icmpv6.opt: option 3 has length 0");
	assert_int_equal(err.offset, 9);

	memcpy(q, b, len);
	q[9] = 3;
	assert_int_equal(icmp6_parse(q, len, NULL, NULL, &g, &err), WIRE_ELEN);
	assert_string_equal(err.msg, "icmpv6.pio: option length 24 must be 32");

	memcpy(q, b, len);
	q[42] = 129;
	assert_int_equal(icmp6_parse(q, len, NULL, NULL, &g, &err), WIRE_EVALUE);
	assert_string_equal(err.msg, "icmpv6.pio: prefix length 129 over 128");
	assert_int_equal(err.offset, 42);

	/* unknown option types are carried, not refused */
	memcpy(q, b, len);
	q[40] = 99;
	assert_int_equal(icmp6_parse(q, len, NULL, NULL, &g, &err), WIRE_OK);
}

static void test_errors_and_echo(void **state)
{
	uint8_t b[64], inv[48] = { 0x60 };
	struct icmp6_msg m = { .type = ICMPV6_PACKET_TOO_BIG, .word = 1280, .body = inv,
			       .body_len = sizeof(inv) }, g;

	assert_int_equal(icmp6_build(b, sizeof(b), &m, SRC, DST, NULL), 56);
	assert_int_equal(icmp6_parse(b, 56, SRC, DST, &g, NULL), WIRE_OK);
	assert_int_equal(g.word, 1280);
	assert_int_equal(g.body_len, 48);
	assert_int_equal(g.body[0], 0x60);
	m = (struct icmp6_msg){ .type = ICMPV6_PARAM_PROB, .code = 2, .word = 40 };
	assert_int_equal(icmp6_build(b, sizeof(b), &m, SRC, DST, NULL), 8);
	assert_int_equal(icmp6_parse(b, 8, SRC, DST, &g, NULL), WIRE_OK);
	assert_int_equal(g.word, 40);
	assert_int_equal(g.code, 2);
	m = (struct icmp6_msg){ .type = ICMPV6_ECHO_REPLY, .identifier = 0xabcd, .sequence = 3 };
	assert_int_equal(icmp6_build(b, sizeof(b), &m, SRC, DST, NULL), 8);
	assert_int_equal(icmp6_parse(b, 8, SRC, DST, &g, NULL), WIRE_OK);
	assert_int_equal(g.identifier, 0xabcd);
	assert_int_equal(g.sequence, 3);
	/* build without a pseudo-header keeps the given checksum */
	m.checksum = 0x1234;
	assert_int_equal(icmp6_build(b, sizeof(b), &m, NULL, NULL, NULL), 8);
	assert_int_equal(get_be16(b + 2), 0x1234);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_haad_roundtrip),
		cmocka_unit_test(test_haad_request_mps),
		cmocka_unit_test(test_mpa),
		cmocka_unit_test(test_mpa_truncated_everywhere),
		cmocka_unit_test(test_mpa_option_errors),
		cmocka_unit_test(test_errors_and_echo),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
