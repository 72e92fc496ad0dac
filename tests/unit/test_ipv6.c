/* IPv6 header, extension headers and the chain walker: valid chains,
 * pseudo-header selection (HAO source, RH2 final destination), and every
 * malformation with its exact message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "wire/exthdr.h"
#include "wire/icmp6msg.h"

static const uint8_t COA[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0x30, [15] = 0x64 };
static const uint8_t CN[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0x20, [15] = 2 };
static const uint8_t HOA[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 0x64 };

/* IPv6 | DstOpt(PadN, HAO) | RH2 | ICMPv6 echo with 4 data bytes. */
static size_t build_pkt(uint8_t *p, size_t size)
{
	struct ipv6_hdr ip = { .next_header = PROTO_DSTOPTS, .hop_limit = 64, .src = COA, .dst = CN };
	uint8_t data[4] = { 1, 2, 3, 4 };
	struct icmp6_msg m = { .type = ICMPV6_ECHO_REQUEST, .identifier = 7, .sequence = 9,
			       .body = data, .body_len = 4 };
	int n;

	assert_int_equal(ext_hao_build(p + 40, size - 40, PROTO_ROUTING, HOA, NULL), 24);
	assert_int_equal(ext_rh2_build(p + 64, size - 64, PROTO_ICMPV6, HOA, NULL), 24);
	/* final destination = RH2 address, source = home address */
	n = icmp6_build(p + 88, size - 88, &m, HOA, HOA, NULL);
	assert_int_equal(n, 12);
	ip.payload_length = 24 + 24 + 12;
	assert_int_equal(ipv6_build(p, size, &ip, NULL), 40);
	return 100;
}

static void test_walk_valid(void **state)
{
	uint8_t p[128];
	struct ipv6_chain c;
	struct wire_error err = { 0 };
	size_t len = build_pkt(p, sizeof(p));

	assert_int_equal(ipv6_walk(p, len, &c, &err), WIRE_OK);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.ext[0].proto, PROTO_DSTOPTS);
	assert_int_equal(c.ext[1].proto, PROTO_ROUTING);
	assert_int_equal(c.proto, PROTO_ICMPV6);
	assert_int_equal(c.off, 88);
	assert_int_equal(c.len, 12);
	assert_memory_equal(c.src, HOA, 16);
	assert_memory_equal(c.dst, HOA, 16);
	assert_ptr_equal(c.hoa, p + 48);
	assert_false(c.fragment);
	assert_int_equal(ipv6_upper_csum(p, &c), 0);
	/* trailing link padding is ignored */
	p[100] = 0xee;
	assert_int_equal(ipv6_walk(p, len + 1, &c, &err), WIRE_OK);
	assert_int_equal(c.len, 12);
	/* a checksum over the plain addresses would not verify */
	assert_int_not_equal(csum_ipv6(COA, CN, 58, p + 88, 12), 0);
}

static void test_rh2_segments_left_zero(void **state)
{
	uint8_t p[128];
	struct ipv6_chain c;
	size_t len = build_pkt(p, sizeof(p));

	p[64 + 3] = 0;
	assert_int_equal(ipv6_walk(p, len, &c, NULL), WIRE_OK);
	assert_memory_equal(c.dst, CN, 16);
	assert_null(c.rh2);
}

/* The message expected when the payload is cut to k bytes (payload
 * length adjusted so the IPv6 header itself is consistent). */
static void expect_cut(size_t k, char *want, size_t sz)
{
	if (k < 2)
		snprintf(want, sz, "ipv6.dstopt: header truncated (%zu bytes)", k);
	else if (k < 24)
		snprintf(want, sz, "ipv6.dstopt: header length 24 overruns packet (%zu)", k);
	else if (k < 28)
		snprintf(want, sz, "ipv6.rh: header truncated (%zu bytes)", k - 24);
	else if (k < 48)
		snprintf(want, sz, "ipv6.rh: header length 24 overruns packet (%zu)", k - 24);
	else
		want[0] = 0;
}

static void test_truncated_everywhere(void **state)
{
	uint8_t p[128], q[128];
	size_t len = build_pkt(p, sizeof(p));
	struct ipv6_chain c;
	char want[128];

	for (size_t n = 0; n < len; n++) {
		struct wire_error err = { 0 };

		memcpy(q, p, len);
		/* as received: header claims the full length */
		assert_int_not_equal(ipv6_walk(q, n, &c, &err), WIRE_OK);
		if (n < 40)
			snprintf(want, sizeof(want), "ipv6: %zu bytes, header needs 40", n);
		else
			snprintf(want, sizeof(want), "ipv6: payload length 60 overruns packet (%zu)",
				 n - 40);
		assert_string_equal(err.msg, want);
		assert_int_equal(err.code, WIRE_ETRUNC);
		if (n < 40)
			continue;
		/* as if the sender's length was consistent */
		put_be16(q + 4, (uint16_t)(n - 40));
		expect_cut(n - 40, want, sizeof(want));
		memset(&err, 0, sizeof(err));
		if (!want[0]) {
			assert_int_equal(ipv6_walk(q, n, &c, &err), WIRE_OK);
			assert_int_equal(c.len, n - 88);
			continue;
		}
		assert_int_equal(ipv6_walk(q, n, &c, &err), WIRE_ETRUNC);
		assert_string_equal(err.msg, want);
	}
}

static enum wire_err walk_msg(uint8_t *p, size_t len, struct wire_error *err)
{
	struct ipv6_chain c;

	memset(err, 0, sizeof(*err));
	return ipv6_walk(p, len, &c, err);
}

static void test_hao_errors(void **state)
{
	uint8_t p[128], q[128];
	size_t len = build_pkt(p, sizeof(p));
	struct wire_error err;

	/* option length 12 */
	memcpy(q, p, len);
	q[40 + 7] = 12;
	assert_int_equal(walk_msg(q, len, &err), WIRE_ELEN);
	assert_string_equal(err.msg, "ipv6.hao: option length 12 must be 16");
	assert_int_equal(err.offset, 47);

	/* misaligned: Pad1 at 2, HAO at 3, PadN(1) at 21 */
	memcpy(q, p, len);
	q[42] = OPT_PAD1;
	q[43] = OPT_HAO;
	q[44] = 16;
	memcpy(q + 45, HOA, 16);
	q[61] = OPT_PADN;
	q[62] = 1;
	q[63] = 0;
	assert_int_equal(walk_msg(q, len, &err), WIRE_EALIGN);
	assert_string_equal(err.msg, "ipv6.hao: option at offset 3 not aligned 8n+6");
	assert_int_equal(err.offset, 43);

	/* Pad1 x4 then HAO: aligned, accepted */
	memcpy(q, p, len);
	q[42] = q[43] = q[44] = q[45] = OPT_PAD1;
	assert_int_equal(walk_msg(q, len, &err), WIRE_OK);

	/* multicast home address */
	memcpy(q, p, len);
	q[48] = 0xff;
	assert_int_equal(walk_msg(q, len, &err), WIRE_EVALUE);
	assert_string_equal(err.msg,
			    "ipv6.hao: home address is multicast, link-local, loopback, unspecified or v4-mapped");

	/* HAO inside a Hop-by-Hop header */
	memcpy(q, p, len);
	q[6] = PROTO_HOPOPTS;
	assert_int_equal(walk_msg(q, len, &err), WIRE_ETYPE);
	assert_string_equal(err.msg,
			    "ipv6.hao: Home Address option outside a Destination Options header");
}

static void test_two_haos(void **state)
{
	uint8_t p[160];
	struct ipv6_hdr ip = { .next_header = PROTO_DSTOPTS, .payload_length = 48 + 8,
			       .src = COA, .dst = CN };
	struct wire_error err;

	memset(p, 0, sizeof(p));
	assert_int_equal(ext_hao_build(p + 40, 120, PROTO_ICMPV6, HOA, NULL), 24);
	/* second 24 bytes: PadN(4 total) + HAO again, header grows to 48 */
	memcpy(p + 64, p + 40, 24);
	p[64] = OPT_PADN;
	p[65] = 4;
	memset(p + 66, 0, 4);
	p[41] = 5;
	ipv6_build(p, sizeof(p), &ip, NULL);
	assert_int_equal(walk_msg(p, 40 + 56, &err), WIRE_EVALUE);
	assert_string_equal(err.msg, "ipv6.hao: more than one Home Address option");
}

static void test_option_errors(void **state)
{
	uint8_t p[128], q[128];
	size_t len = build_pkt(p, sizeof(p));
	struct wire_error err;

	memcpy(q, p, len);
	q[45] = 7;
	assert_int_equal(walk_msg(q, len, &err), WIRE_EPAD);
	assert_string_equal(err.msg, "ipv6.dstopt: PadN byte 1 not zero");
	assert_int_equal(err.offset, 45);

	memcpy(q, p, len);
	q[43] = 30;
	assert_int_equal(walk_msg(q, len, &err), WIRE_ELEN);
	assert_string_equal(err.msg, "ipv6.dstopt: option 1 length 30 overruns header (24)");

	/* unknown option whose action bits say discard */
	memcpy(q, p, len);
	q[42] = 0xc2;
	assert_int_equal(walk_msg(q, len, &err), WIRE_ETYPE);
	assert_string_equal(err.msg,
			    "ipv6.dstopt: unknown option type 0xc2 must be discarded (action 3)");
	/* ... and one that may be skipped */
	q[42] = 0x1e;
	assert_int_equal(walk_msg(q, len, &err), WIRE_OK);

	/* an option whose length byte is past the header: an 8-byte header
	 * with PadN(3) leaves the type byte 16 at offset 7 */
	memcpy(q, p, len);
	q[40] = PROTO_NONE;
	q[41] = 0;
	q[43] = 3;
	q[46] = 0;
	put_be16(q + 4, 8);
	assert_int_equal(walk_msg(q, 40 + 8, &err), WIRE_ELEN);
	assert_string_equal(err.msg, "ipv6.dstopt: option 16 at offset 7 has no length byte");
}

static void test_rh_errors(void **state)
{
	uint8_t p[128], q[128];
	size_t len = build_pkt(p, sizeof(p));
	struct wire_error err;

	memcpy(q, p, len);
	q[64 + 3] = 2;
	assert_int_equal(walk_msg(q, len, &err), WIRE_EVALUE);
	assert_string_equal(err.msg, "ipv6.rh2: segments left 2 must be 1");
	assert_int_equal(err.offset, 67);

	memcpy(q, p, len);
	q[64 + 1] = 1;
	assert_int_equal(walk_msg(q, len, &err), WIRE_ELEN);
	assert_string_equal(err.msg, "ipv6.rh2: hdr ext len 1 must be 2");

	memcpy(q, p, len);
	q[64 + 2] = 0;
	assert_int_equal(walk_msg(q, len, &err), WIRE_ETYPE);
	assert_string_equal(err.msg, "ipv6.rh: unsupported routing type 0 with segments left 1");
	q[64 + 3] = 0;
	assert_int_equal(walk_msg(q, len, &err), WIRE_OK);
}

static void test_header_errors(void **state)
{
	uint8_t p[128], q[128];
	size_t len = build_pkt(p, sizeof(p));
	struct wire_error err;

	memcpy(q, p, len);
	q[0] = 0x45;
	assert_int_equal(walk_msg(q, len, &err), WIRE_EVALUE);
	assert_string_equal(err.msg, "ipv6: version 4 must be 6");

	memcpy(q, p, len);
	put_be16(q + 4, 0);
	q[6] = PROTO_HOPOPTS;
	assert_int_equal(walk_msg(q, len, &err), WIRE_EVALUE);
	assert_string_equal(err.msg, "ipv6: jumbograms not supported");

	/* Hop-by-Hop after the Destination Options header */
	memcpy(q, p, len);
	q[40] = PROTO_HOPOPTS;
	assert_int_equal(walk_msg(q, len, &err), WIRE_EVALUE);
	assert_string_equal(err.msg, "ipv6.hbh: Hop-by-Hop Options header not first");
	assert_int_equal(err.offset, 64);
}

static void test_fragment(void **state)
{
	uint8_t p[128];
	struct ipv6_hdr ip = { .next_header = PROTO_FRAGMENT, .payload_length = 8 + 16,
			       .src = COA, .dst = CN };
	struct ext_frag f = { .next_header = PROTO_UDP, .fragment_offset = 0x123, .m = true,
			      .identification = 0xdeadbeef }, g;
	struct ipv6_chain c;
	struct wire_error err = { 0 };

	memset(p, 0xab, sizeof(p));
	ipv6_build(p, sizeof(p), &ip, NULL);
	assert_int_equal(ext_frag_build(p + 40, 88, &f, NULL), 8);
	assert_int_equal(ipv6_walk(p, 64, &c, &err), WIRE_OK);
	assert_true(c.fragment);
	assert_int_equal(c.proto, PROTO_UDP);
	assert_int_equal(c.off, 48);
	assert_int_equal(c.len, 16);
	assert_int_equal(ext_frag_parse(p + 40, 8, &g, NULL), WIRE_OK);
	assert_int_equal(g.fragment_offset, 0x123);
	assert_true(g.m);
	assert_int_equal(g.identification, 0xdeadbeef);
	put_be16(p + 4, 7);
	assert_int_equal(ipv6_walk(p, 47, &c, &err), WIRE_ETRUNC);
	assert_string_equal(err.msg, "ipv6.frag: header truncated (7 bytes)");
}

static void test_build_space(void **state)
{
	uint8_t p[64];
	struct wire_error err = { 0 };

	assert_int_equal(ext_hao_build(p, 23, 0, HOA, &err), -1);
	assert_int_equal(err.code, WIRE_ESPACE);
	assert_int_equal(ext_rh2_build(p, 10, 0, HOA, &err), -1);
	assert_int_equal(err.code, WIRE_ESPACE);
	assert_true(ipv6_bad_hoa((const uint8_t[16]){ 0xfe, 0x80 }));
	assert_true(ipv6_bad_hoa((const uint8_t[16]){ [15] = 1 }));
	assert_true(ipv6_bad_hoa((const uint8_t[16]){ [10] = 0xff, [11] = 0xff, [12] = 10 }));
	assert_false(ipv6_bad_hoa(HOA));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_walk_valid),
		cmocka_unit_test(test_rh2_segments_left_zero),
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_hao_errors),
		cmocka_unit_test(test_two_haos),
		cmocka_unit_test(test_option_errors),
		cmocka_unit_test(test_rh_errors),
		cmocka_unit_test(test_header_errors),
		cmocka_unit_test(test_fragment),
		cmocka_unit_test(test_build_space),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
