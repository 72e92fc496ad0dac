/* Neighbor Discovery codecs: round trips of every option and message, and
 * each malformed input with its exact error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "wire/nd.h"

static const uint8_t PFX[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x5b, 0x00, 0x01 };
static const uint8_t MAPA[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 7, [15] = 0x30 };
static const uint8_t MAC[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
static const uint8_t LL_SRC[16] = { 0xfe, 0x80, [8] = 0x02, [15] = 0x01 };
static const uint8_t ALL_NODES[16] = { 0xff, 0x02, [15] = 0x01 };

static void full_ra(struct nd_ra *ra)
{
	memset(ra, 0, sizeof(*ra));
	ra->cur_hop_limit = 64;
	ra->managed = true;
	ra->home_agent = true;
	ra->prf = 1;
	ra->router_lifetime = 1800;
	ra->reachable_time = 30000;
	ra->retrans_timer = 1000;
	ra->has_slla = true;
	ra->slla.len = 6;
	memcpy(ra->slla.addr, MAC, 6);
	ra->has_mtu = true;
	ra->mtu = 1500;
	ra->has_adv_interval = true;
	ra->adv_interval_ms = 70;
	ra->has_ha_info = true;
	ra->ha_preference = -5;
	ra->ha_lifetime = 600;
	ra->n_prefixes = 1;
	ra->prefixes[0] = (struct nd_prefix){ 64, true, true, true, 86400, 14400, { 0 } };
	memcpy(ra->prefixes[0].prefix, PFX, 16);
	ra->prefixes[0].prefix[15] = 1;
	ra->n_maps = 1;
	ra->maps[0] = (struct nd_map){ 2, 7, true, 3600, { 0 } };
	memcpy(ra->maps[0].addr, MAPA, 16);
}

static void test_ra_roundtrip(void **state)
{
	struct nd_ra in, out;
	struct wire_error err;
	uint8_t buf[256];
	size_t len = 0;

	(void)state;
	full_ra(&in);
	assert_int_equal(nd_ra_build(&in, buf, sizeof(buf), &len, &err), WIRE_OK);
	/* 16 header + 8 SLLA + 8 MTU + 8 AdvInt + 8 HAInfo + 32 PI + 24 MAP */
	assert_int_equal(len, 104);
	assert_int_equal(buf[0], 134);
	assert_int_equal(buf[5], 0x80 | 0x20 | 0x08);	/* M, H, Prf=01 */
	assert_int_equal(buf[16], 1);			/* SLLA first */
	assert_int_equal(buf[17], 1);
	assert_memory_equal(buf + 18, MAC, 6);
	assert_int_equal(buf[24], 5);			/* MTU */
	assert_int_equal(buf[32], 7);			/* advertisement interval */
	assert_int_equal(buf[40], 8);			/* home agent info */
	assert_int_equal(get_be16(buf + 44), 0xfffb);
	assert_int_equal(buf[48], 3);			/* prefix information */
	assert_int_equal(buf[51], 0xe0);		/* L A R */
	assert_int_equal(buf[80], 23);			/* MAP */
	assert_int_equal(buf[81], 3);
	assert_int_equal(buf[82], 0x27);
	assert_int_equal(buf[83], 0x80);

	assert_int_equal(nd_ra_parse(buf, len, &out, &err), WIRE_OK);
	assert_int_equal(out.cur_hop_limit, 64);
	assert_true(out.managed);
	assert_false(out.other);
	assert_true(out.home_agent);
	assert_int_equal(out.prf, 1);
	assert_int_equal(out.router_lifetime, 1800);
	assert_int_equal(out.reachable_time, 30000);
	assert_int_equal(out.retrans_timer, 1000);
	assert_true(out.has_slla);
	assert_int_equal(out.slla.len, 6);
	assert_memory_equal(out.slla.addr, MAC, 6);
	assert_true(out.has_mtu);
	assert_int_equal(out.mtu, 1500);
	assert_true(out.has_adv_interval);
	assert_int_equal(out.adv_interval_ms, 70);
	assert_true(out.has_ha_info);
	assert_int_equal(out.ha_preference, -5);
	assert_int_equal(out.ha_lifetime, 600);
	assert_int_equal(out.n_prefixes, 1);
	assert_int_equal(out.prefixes[0].prefix_len, 64);
	assert_true(out.prefixes[0].on_link && out.prefixes[0].autonomous &&
		    out.prefixes[0].router_address);
	assert_int_equal(out.prefixes[0].valid_lifetime, 86400);
	assert_int_equal(out.prefixes[0].preferred_lifetime, 14400);
	assert_memory_equal(out.prefixes[0].prefix, in.prefixes[0].prefix, 16);
	assert_int_equal(out.n_maps, 1);
	assert_int_equal(out.maps[0].dist, 2);
	assert_int_equal(out.maps[0].pref, 7);
	assert_true(out.maps[0].rcoa);
	assert_int_equal(out.maps[0].valid_lifetime, 3600);
	assert_memory_equal(out.maps[0].addr, MAPA, 16);
	assert_int_equal(out.n_unknown, 0);
}

static void test_rs_ns_na_roundtrip(void **state)
{
	struct nd_rs rs = { .has_slla = true, .slla = { 6, { 0 } } }, rs2;
	struct nd_ns ns = { .has_slla = true, .slla = { 6, { 0 } } }, ns2;
	struct nd_na na = { .router = true, .override = true, .has_tlla = true,
			    .tlla = { 6, { 0 } } }, na2;
	struct wire_error err;
	uint8_t buf[128];
	size_t len;

	(void)state;
	memcpy(rs.slla.addr, MAC, 6);
	assert_int_equal(nd_rs_build(&rs, buf, sizeof(buf), &len, &err), WIRE_OK);
	assert_int_equal(len, 16);
	assert_int_equal(nd_rs_parse(buf, len, &rs2, &err), WIRE_OK);
	assert_true(rs2.has_slla);
	assert_memory_equal(rs2.slla.addr, MAC, 6);

	memcpy(ns.target, PFX, 16);
	memcpy(ns.slla.addr, MAC, 6);
	assert_int_equal(nd_ns_build(&ns, buf, sizeof(buf), &len, &err), WIRE_OK);
	assert_int_equal(len, 32);
	assert_int_equal(nd_ns_parse(buf, len, &ns2, &err), WIRE_OK);
	assert_memory_equal(ns2.target, PFX, 16);
	assert_true(ns2.has_slla);

	memcpy(na.target, PFX, 16);
	memcpy(na.tlla.addr, MAC, 6);
	assert_int_equal(nd_na_build(&na, buf, sizeof(buf), &len, &err), WIRE_OK);
	assert_int_equal(buf[4], 0xa0);
	assert_int_equal(buf[24], 2);
	assert_int_equal(nd_na_parse(buf, len, &na2, &err), WIRE_OK);
	assert_true(na2.router && !na2.solicited && na2.override && na2.has_tlla);
	assert_memory_equal(na2.tlla.addr, MAC, 6);

	/* A longer link-layer address is padded to a multiple of 8. */
	rs.slla.len = 20;
	assert_int_equal(nd_rs_build(&rs, buf, sizeof(buf), &len, &err), WIRE_OK);
	assert_int_equal(len, 8 + 24);
	assert_int_equal(buf[9], 3);
}

/* An RA header followed by `opts`. */
static size_t ra_with(uint8_t *buf, const uint8_t *opts, size_t n)
{
	memset(buf, 0, 16);
	buf[0] = 134;
	if (n)
		memcpy(buf + 16, opts, n);
	return 16 + n;
}

static void expect_ra(const uint8_t *buf, size_t len, enum wire_err code, const char *msg)
{
	struct nd_ra ra;
	struct wire_error err = { 0 };

	assert_int_equal(nd_ra_parse(buf, len, &ra, &err), code);
	assert_string_equal(err.msg, msg);
}

static void test_ra_malformed_header(void **state)
{
	uint8_t b[64];
	size_t n = ra_with(b, NULL, 0);

	(void)state;
	expect_ra(b, 10, WIRE_ETRUNC, "nd.ra: truncated: 10 bytes, need at least 16");
	b[0] = 133;
	expect_ra(b, n, WIRE_ETYPE, "nd.ra: type 133 is not a router advertisement (134)");
	b[0] = 134;
	b[1] = 1;
	expect_ra(b, n, WIRE_EVALUE, "nd.ra: code 1 must be 0");
}

static void test_ra_malformed_options(void **state)
{
	uint8_t b[512], o[400];
	size_t n;

	(void)state;
	/* RFC 4861 §4.6: zero length. */
	memset(o, 0, sizeof(o));
	o[0] = 5;
	n = ra_with(b, o, 8);
	expect_ra(b, n, WIRE_ELEN, "nd.ra: option 1 (mtu) has length 0");
	o[0] = 99;
	n = ra_with(b, o, 8);
	expect_ra(b, n, WIRE_ELEN, "nd.ra: option 1 (type 99) has length 0");
	/* Overrun: a prefix option claims 32 bytes, 24 remain. */
	o[0] = 3; o[1] = 4;
	n = ra_with(b, o, 24);
	expect_ra(b, n, WIRE_ELEN,
		  "nd.ra: option 1 (prefix information) length 4 (32 bytes) overruns message (24 bytes left)");
	/* A lone byte after a good option. */
	o[0] = 5; o[1] = 1; o[8] = 7;
	n = ra_with(b, o, 9);
	expect_ra(b, n, WIRE_ETRUNC, "nd.ra: option 2 truncated: 1 byte left, header needs 2");
	/* Wrong fixed lengths. */
	memset(o, 0, sizeof(o));
	o[0] = 5; o[1] = 1; o[8] = 3; o[9] = 3;
	n = ra_with(b, o, 32);
	expect_ra(b, n, WIRE_ELEN, "nd.ra: option 2 (prefix information) length 3 must be 4");
	static const struct { uint8_t type; uint8_t want; const char *msg; } fixed[] = {
		{ 5, 1, "nd.ra: option 1 (mtu) length 2 must be 1" },
		{ 7, 1, "nd.ra: option 1 (advertisement interval) length 2 must be 1" },
		{ 8, 1, "nd.ra: option 1 (home agent information) length 2 must be 1" },
		{ 23, 3, "nd.ra: option 1 (map) length 2 must be 3" },
	};
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		memset(o, 0, sizeof(o));
		o[0] = fixed[i].type;
		o[1] = 2;
		n = ra_with(b, o, 16);
		expect_ra(b, n, WIRE_ELEN, fixed[i].msg);
	}
	/* Values the RFCs forbid. */
	memset(o, 0, sizeof(o));
	o[0] = 3; o[1] = 4; o[2] = 129;
	n = ra_with(b, o, 32);
	expect_ra(b, n, WIRE_EVALUE,
		  "nd.ra: option 1 (prefix information) prefix length 129 exceeds 128");
	memset(o, 0, sizeof(o));
	o[0] = 23; o[1] = 3; o[2] = 0x07;
	n = ra_with(b, o, 24);
	expect_ra(b, n, WIRE_EVALUE, "nd.ra: option 1 (map) distance 0 is not allowed (RFC 5380 §4)");
	memset(o, 0, sizeof(o));
	o[0] = 8; o[1] = 1;
	n = ra_with(b, o, 8);
	expect_ra(b, n, WIRE_EVALUE,
		  "nd.ra: option 1 (home agent information) lifetime 0 is not allowed (RFC 6275 §7.4)");
	/* Duplicates of single options. */
	memset(o, 0, sizeof(o));
	o[0] = 5; o[1] = 1; o[8] = 5; o[9] = 1;
	n = ra_with(b, o, 16);
	expect_ra(b, n, WIRE_EVALUE, "nd.ra: option 2 (mtu) duplicate");
	/* More prefixes than the view holds. */
	memset(o, 0, sizeof(o));
	for (int i = 0; i < 9; i++) {
		o[i * 32] = 3;
		o[i * 32 + 1] = 4;
		o[i * 32 + 2] = 64;
	}
	n = ra_with(b, o, 9 * 32);
	expect_ra(b, n, WIRE_ECOUNT, "nd.ra: option 9: more than 8 prefix information options");
	/* A link-layer address option too long for the view. */
	memset(o, 0, sizeof(o));
	o[0] = 1; o[1] = 5;
	n = ra_with(b, o, 40);
	expect_ra(b, n, WIRE_ECOUNT,
		  "nd.ra: option 1 (source link-layer address) length 5 exceeds 4 (30-byte addresses)");
}

static void test_ra_unknown_skipped(void **state)
{
	uint8_t b[64], o[32] = { 0 };
	struct nd_ra ra;
	struct wire_error err;

	(void)state;
	o[0] = 25; o[1] = 2;		/* RDNSS, not ours: skipped */
	o[16] = 5; o[17] = 1; o[22] = 0x05; o[23] = 0xdc;	/* MTU 1500 */
	size_t n = ra_with(b, o, 24);
	assert_int_equal(nd_ra_parse(b, n, &ra, &err), WIRE_OK);
	assert_int_equal(ra.n_unknown, 1);
	assert_true(ra.has_mtu);
	assert_int_equal(ra.mtu, 1500);
}

static void test_rs_ns_na_malformed(void **state)
{
	uint8_t b[64] = { 133 };
	struct nd_rs rs;
	struct nd_ns ns;
	struct nd_na na;
	struct wire_error err = { 0 };
	static const uint8_t unspec[16];

	(void)state;
	assert_int_equal(nd_rs_parse(b, 4, &rs, &err), WIRE_ETRUNC);
	assert_string_equal(err.msg, "nd.rs: truncated: 4 bytes, need at least 8");
	b[8] = 1; b[9] = 0;
	assert_int_equal(nd_rs_parse(b, 16, &rs, &err), WIRE_ELEN);
	assert_string_equal(err.msg, "nd.rs: option 1 (source link-layer address) has length 0");
	b[9] = 1;
	assert_int_equal(nd_rs_parse(b, 16, &rs, &err), WIRE_OK);
	assert_int_equal(nd_rs_check_source(&rs, unspec, &err), WIRE_EVALUE);
	assert_string_equal(err.msg,
			    "nd.rs: source link-layer address option from the unspecified address");
	assert_int_equal(nd_rs_check_source(&rs, LL_SRC, &err), WIRE_OK);
	b[16] = 1; b[17] = 1;
	assert_int_equal(nd_rs_parse(b, 24, &rs, &err), WIRE_EVALUE);
	assert_string_equal(err.msg, "nd.rs: option 2 (source link-layer address) duplicate");

	memset(b, 0, sizeof(b));
	b[0] = 135;
	b[8] = 0xff;
	assert_int_equal(nd_ns_parse(b, 24, &ns, &err), WIRE_EVALUE);
	assert_string_equal(err.msg, "nd.ns: target address is multicast");
	b[0] = 136;
	b[8] = 0x20;
	assert_int_equal(nd_na_parse(b, 20, &na, &err), WIRE_ETRUNC);
	assert_string_equal(err.msg, "nd.na: truncated: 20 bytes, need at least 24");
	b[1] = 3;
	assert_int_equal(nd_na_parse(b, 24, &na, &err), WIRE_EVALUE);
	assert_string_equal(err.msg, "nd.na: code 3 must be 0");
}

static void test_build_errors(void **state)
{
	struct nd_ra ra;
	struct wire_error err;
	uint8_t buf[256];
	size_t len;

	(void)state;
	full_ra(&ra);
	assert_int_equal(nd_ra_build(&ra, buf, 60, &len, &err), WIRE_ESPACE);
	assert_string_equal(err.msg, "nd.ra: 32 bytes do not fit (48 of 60 used)");
	ra.maps[0].dist = 0;
	assert_int_equal(nd_ra_build(&ra, buf, sizeof(buf), &len, &err), WIRE_EVALUE);
	assert_string_equal(err.msg,
			    "nd.ra: map distance 0 (1..15) or preference 7 (0..15) out of range");
	full_ra(&ra);
	ra.ha_lifetime = 0;
	assert_int_equal(nd_ra_build(&ra, buf, sizeof(buf), &len, &err), WIRE_EVALUE);
	assert_string_equal(err.msg, "nd.ra: home agent lifetime 0 is not allowed (RFC 6275 §7.4)");
	full_ra(&ra);
	ra.n_prefixes = 9;
	assert_int_equal(nd_ra_build(&ra, buf, sizeof(buf), &len, &err), WIRE_ECOUNT);
	assert_string_equal(err.msg, "nd.ra: 9 prefixes (max 8), 1 maps (max 4)");
}

static void test_checksum(void **state)
{
	struct nd_ra ra;
	struct wire_error err;
	uint8_t buf[256];
	size_t len;

	(void)state;
	full_ra(&ra);
	assert_int_equal(nd_ra_build(&ra, buf, sizeof(buf), &len, &err), WIRE_OK);
	assert_int_equal(get_be16(buf + 2), 0);
	nd_csum_fill(LL_SRC, ALL_NODES, buf, len);
	uint16_t good = get_be16(buf + 2);
	assert_int_not_equal(good, 0);
	assert_int_equal(nd_csum_verify(LL_SRC, ALL_NODES, buf, len, &err), WIRE_OK);
	/* The checksum covers the pseudo-header: another destination fails. */
	uint8_t other[16] = { 0xff, 0x02, [15] = 0x02 };
	assert_int_equal(nd_csum_verify(LL_SRC, other, buf, len, &err), WIRE_ECSUM);
	buf[20] ^= 0x01;
	assert_int_equal(nd_csum_verify(LL_SRC, ALL_NODES, buf, len, &err), WIRE_ECSUM);
	buf[20] ^= 0x01;
	put_be16(buf + 2, (uint16_t)(good + 1));
	char want[96];
	snprintf(want, sizeof(want), "icmp6: checksum 0x%04x, expected 0x%04x",
		 (unsigned)(uint16_t)(good + 1), good);
	assert_int_equal(nd_csum_verify(LL_SRC, ALL_NODES, buf, len, &err), WIRE_ECSUM);
	assert_string_equal(err.msg, want);
	assert_int_equal(err.offset, 2);
	/* A known vector: an RS with no options from fe80::1 to ff02::2.
	 * Sum: fe80+0001 (src) + ff02+0002 (dst) + 0008 (len) + 003a (nh)
	 * + 8500 (type/code) = 0x282c7 -> 0x82c9 -> ~ = 0x7d36. */
	uint8_t rs[8] = { 133 };
	uint8_t s1[16] = { 0xfe, 0x80, [15] = 1 }, d2[16] = { 0xff, 0x02, [15] = 2 };
	nd_csum_fill(s1, d2, rs, 8);
	assert_int_equal(get_be16(rs + 2), 0x7d36);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ra_roundtrip),
		cmocka_unit_test(test_rs_ns_na_roundtrip),
		cmocka_unit_test(test_ra_malformed_header),
		cmocka_unit_test(test_ra_malformed_options),
		cmocka_unit_test(test_ra_unknown_skipped),
		cmocka_unit_test(test_rs_ns_na_malformed),
		cmocka_unit_test(test_build_errors),
		cmocka_unit_test(test_checksum),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
