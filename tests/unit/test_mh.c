/* Mobility Header codec: every message and option built and parsed, the
 * JSON view round trip, and every malformation with its exact error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "ctl/wirejson.h"
#include "wire/mh.h"

static const uint8_t SRC[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x01 };
static const uint8_t DST[16] = { 0x20, 0x01, 0x0d, 0xb8, [14] = 0x01, [15] = 0x99 };
static const uint8_t ADDR6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02 };
static const uint8_t PREFIX[16] = { 0x20, 0x01, 0x0d, 0xb8, 0xaa, 0xbb };
static const uint8_t V4A[4] = { 192, 0, 2, 10 };
static const uint8_t V4B[4] = { 198, 51, 100, 7 };
static const uint8_t COOKIE[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
static const uint8_t TOKEN[8] = { 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8 };
static const uint8_t AUTH[12] = { 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab };

/* Independent check: the one's-complement sum over pseudo-header and the
 * whole header, checksum included, must be all ones. */
static void assert_csum_ok(const uint8_t *mh, size_t len)
{
	assert_int_equal(csum_ipv6(SRC, DST, 135, mh, len), 0);
}

/* decode -> encode through the JSON view reproduces the octets. */
static void assert_json_roundtrip(const uint8_t *mh, size_t len)
{
	struct wire_error err = { 0 };
	uint8_t out[MH_MAX_LEN];
	json_t *j = mh_to_json(mh, len, SRC, DST, &err);
	int n;

	if (!j)
		fail_msg("mh_to_json: %s", err.msg);
	n = mh_from_json(j, out, sizeof(out), SRC, DST, &err);
	if (n < 0)
		fail_msg("mh_from_json: %s", err.msg);
	assert_int_equal(n, len);
	assert_memory_equal(out, mh, len);
	/* Without addresses the checksum of the view is kept as is. */
	n = mh_from_json(j, out, sizeof(out), NULL, NULL, &err);
	assert_int_equal(n, len);
	assert_memory_equal(out, mh, len);
	json_decref(j);
}

static int build_bu_all(uint8_t *buf, size_t size)
{
	static const uint8_t vdata[3] = { 0xde, 0xad, 0x01 };
	struct mh_builder b;
	struct wire_error err = { 0 };
	union mh_body body = { .bu = { .seq = 0x1234,
				       .flags = MH_BU_A | MH_BU_H | MH_BU_L | MH_BU_K | MH_BU_R | MH_BU_F,
				       .lifetime = 900 } };
	int n;

	mh_build_begin(&b, buf, size, MH_BU, &body, &err);
	mh_build_bra(&b, 77);
	mh_build_alt_coa(&b, ADDR6);
	mh_build_nonce(&b, 5, 6);
	mh_build_auth(&b, AUTH, sizeof(AUTH));
	mh_build_mnp(&b, 48, PREFIX);
	mh_build_v4_hoa(&b, 24, true, V4A);
	mh_build_v4_ack(&b, 129, 24, V4A);
	mh_build_natd(&b, true, 110);
	mh_build_v4_coa(&b, V4B);
	mh_build_vendor(&b, 32473, 9, vdata, sizeof(vdata));
	n = mh_build_finish(&b, SRC, DST);
	if (n < 0)
		fail_msg("build: %s", err.msg);
	return n;
}

static void test_bu_all_options(void **state)
{
	uint8_t buf[512];
	struct mh_msg m;
	struct wire_error err = { 0 };
	const struct mh_opt *o;
	int n = build_bu_all(buf, sizeof(buf));

	(void)state;
	assert_int_equal(n % 8, 0);
	assert_int_equal(buf[1], n / 8 - 1);
	assert_csum_ok(buf, (size_t)n);
	assert_int_equal(mh_parse(buf, (size_t)n, SRC, DST, &m, &err), WIRE_OK);
	assert_int_equal(m.type, MH_BU);
	assert_int_equal(m.payload_proto, 59);
	assert_int_equal(m.u.bu.seq, 0x1234);
	assert_int_equal(m.u.bu.flags, 0xf500);
	assert_int_equal(m.u.bu.lifetime, 900);
	assert_int_equal(m.n_opts, 10);
	assert_int_equal(m.n_unknown, 0);
	/* Every option where its alignment rule puts it. */
	for (unsigned i = 0; i < m.n_opts; i++) {
		unsigned x, y;

		mh_opt_align(m.opts[i].type, &x, &y);
		assert_true(x > 0);
		assert_int_equal(m.opts[i].off % x, y);
	}
	o = mh_find_opt(&m, MH_OPT_BRA);
	assert_non_null(o);
	assert_int_equal(o->u.refresh_interval, 77);
	o = mh_find_opt(&m, MH_OPT_ALT_COA);
	assert_memory_equal(o->u.alt_coa, ADDR6, 16);
	assert_int_equal(o->off % 8, 6);
	o = mh_find_opt(&m, MH_OPT_NONCE);
	assert_int_equal(o->u.nonce.home, 5);
	assert_int_equal(o->u.nonce.care_of, 6);
	o = mh_find_opt(&m, MH_OPT_AUTH);
	assert_int_equal(o->len, 12);
	assert_memory_equal(o->data, AUTH, 12);
	assert_int_equal(o->off % 8, 2);
	o = mh_find_opt(&m, MH_OPT_MNP);
	assert_int_equal(o->u.mnp.prefix_len, 48);
	assert_memory_equal(o->u.mnp.prefix, PREFIX, 16);
	assert_int_equal(o->off % 8, 4);
	o = mh_find_opt(&m, MH_OPT_V4_HOA);
	assert_int_equal(o->u.v4_hoa.prefix_len, 24);
	assert_int_equal(o->u.v4_hoa.flags, MH_V4_HOA_P);
	assert_memory_equal(o->u.v4_hoa.addr, V4A, 4);
	assert_int_equal(o->data[0], 24 << 2 | 2);	/* Prefix-len | P | Reserved */
	assert_int_equal(o->data[1], 0);
	o = mh_find_opt(&m, MH_OPT_V4_ACK);
	assert_int_equal(o->u.v4_ack.status, 129);
	assert_int_equal(o->u.v4_ack.prefix_len, 24);
	o = mh_find_opt(&m, MH_OPT_NATD);
	assert_int_equal(o->u.natd.flags, MH_NATD_F);
	assert_int_equal(o->u.natd.refresh_time, 110);
	o = mh_find_opt(&m, MH_OPT_V4_COA);
	assert_memory_equal(o->u.v4_coa.addr, V4B, 4);
	o = mh_find_opt(&m, MH_OPT_VENDOR);
	assert_int_equal(o->u.vendor.vendor_id, 32473);
	assert_int_equal(o->u.vendor.sub_type, 9);
	assert_int_equal(o->len, 8);
	assert_int_equal(o->data[5], 0xde);
	assert_int_equal(o->off % 4, 2);
	assert_null(mh_find_opt(&m, 200));
	assert_json_roundtrip(buf, (size_t)n);
}

/* A Binding Update written out octet by octet from RFC 6275 §6.1.7 and
 * §6.2.4: the builder must produce exactly this. */
static void test_bu_vector(void **state)
{
	static const uint8_t want[] = {
		59, 4, 5, 0, 0, 0,		/* proto, len 4 (40 octets), BU, csum */
		0x00, 0x07, 0xd0, 0x00, 0x00, 0x64,	/* seq 7, A H K, lifetime 100 */
		0x01, 0x00,			/* PadN 2: Alt CoA at 8n+6 = 14 */
		0x03, 0x10, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,
		0x04, 0x04, 0x00, 0x01, 0x00, 0x02,	/* Nonce Indices at 32 (2n) */
		0x01, 0x00,			/* PadN 2 to 40 */
	};
	uint8_t buf[64], ref[sizeof(want)];
	struct mh_builder b;
	struct wire_error err = { 0 };
	union mh_body body = { .bu = { .seq = 7, .flags = MH_BU_A | MH_BU_H | MH_BU_K,
				       .lifetime = 100 } };
	uint16_t c;

	(void)state;
	mh_build_begin(&b, buf, sizeof(buf), MH_BU, &body, &err);
	mh_build_alt_coa(&b, ADDR6);
	mh_build_nonce(&b, 1, 2);
	assert_int_equal(mh_build_finish(&b, SRC, DST), sizeof(want));
	memcpy(ref, want, sizeof(want));
	c = csum_ipv6(SRC, DST, 135, ref, sizeof(ref));
	put_be16(ref + 4, c);
	assert_memory_equal(buf, ref, sizeof(ref));
	assert_json_roundtrip(buf, sizeof(want));
}

static void expect(const uint8_t *mh, size_t len, const uint8_t *src, enum wire_err code,
		   const char *msg);

/* One of each message type, built, parsed, checksum checked, JSON round trip. */
static void test_every_message(void **state)
{
	uint8_t has_addrs[32] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0xaa,
				  [16] = 0x20, [17] = 0x01, [18] = 0x0d, [19] = 0xb8, [31] = 0xbb };
	const struct { uint8_t type; union mh_body body; size_t len; } cases[] = {
		{ MH_BRR, { .brr = { 0 } }, 8 },
		{ MH_HOTI, { .hoti = { 0, COOKIE } }, 16 },
		{ MH_COTI, { .hoti = { 0, COOKIE } }, 16 },
		{ MH_HOT, { .hot = { 0x1111, COOKIE, TOKEN } }, 24 },
		{ MH_COT, { .hot = { 0x2222, COOKIE, TOKEN } }, 24 },
		{ MH_BU, { .bu = { 1, MH_BU_A | MH_BU_H | MH_BU_M, 0 } }, 16 },
		{ MH_BA, { .ba = { 0, MH_BA_K | MH_BA_R | MH_BA_T, 1, 150 } }, 16 },
		{ MH_BE, { .be = { MH_BE_UNKNOWN_MH, 0, ADDR6 } }, 24 },
		{ MH_HAS, { .has = { 2, 0, has_addrs } }, 40 },
	};
	uint8_t buf[128];
	struct mh_msg m;
	struct wire_error err = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mh_builder b;
		int n;

		mh_build_begin(&b, buf, sizeof(buf), cases[i].type, &cases[i].body, &err);
		n = mh_build_finish(&b, SRC, DST);
		assert_int_equal(n, cases[i].len);
		assert_csum_ok(buf, (size_t)n);
		assert_int_equal(mh_parse(buf, (size_t)n, SRC, DST, &m, &err), WIRE_OK);
		assert_int_equal(m.type, cases[i].type);
		assert_int_equal(m.n_opts, 0);
		assert_json_roundtrip(buf, (size_t)n);
		for (int t = 0; t < n; t++) {
			char msg[96];

			if (t < 8)
				snprintf(msg, sizeof(msg), "mh: %d octets, a Mobility Header has at least 8", t);
			else
				snprintf(msg, sizeof(msg), "mh: header_len %d means %d octets, only %d present",
					 n / 8 - 1, n, t);
			expect(buf, (size_t)t, SRC, WIRE_ETRUNC, msg);
		}
		switch (m.type) {
		case MH_HOTI:
		case MH_COTI:
			assert_memory_equal(m.u.hoti.cookie, COOKIE, 8);
			break;
		case MH_HOT:
		case MH_COT:
			assert_int_equal(m.u.hot.nonce_index, cases[i].body.hot.nonce_index);
			assert_memory_equal(m.u.hot.cookie, COOKIE, 8);
			assert_memory_equal(m.u.hot.token, TOKEN, 8);
			break;
		case MH_BU:
			assert_int_equal(m.u.bu.flags, MH_BU_A | MH_BU_H | MH_BU_M);
			/* 12 fixed octets: a 4-octet PadN closes the header. */
			assert_int_equal(m.pad_octets, 4);
			break;
		case MH_BA:
			assert_int_equal(buf[7], 0xd0);
			assert_int_equal(m.u.ba.seq, 1);
			assert_int_equal(m.u.ba.lifetime, 150);
			break;
		case MH_BE:
			assert_int_equal(m.u.be.status, 2);
			assert_memory_equal(m.u.be.home_addr, ADDR6, 16);
			break;
		case MH_HAS:
			assert_int_equal(m.u.has.n_addrs, 2);
			assert_memory_equal(m.u.has.addrs, has_addrs, 32);
			assert_int_equal(m.opt_off, 40);
			break;
		}
	}
}

static void expect(const uint8_t *mh, size_t len, const uint8_t *src, enum wire_err code,
		   const char *msg)
{
	struct mh_msg m;
	struct wire_error err = { 0 };
	json_t *j;

	assert_int_equal(mh_parse(mh, len, src, src ? DST : NULL, &m, &err), code);
	assert_string_equal(err.msg, msg);
	/* The JSON view refuses the same input with the same words. */
	memset(&err, 0, sizeof(err));
	j = mh_to_json(mh, len, src, src ? DST : NULL, &err);
	assert_null(j);
	assert_int_equal(err.code, code);
	assert_string_equal(err.msg, msg);
}

static void test_truncated_every_offset(void **state)
{
	uint8_t buf[512];
	char msg[128];
	int n = build_bu_all(buf, sizeof(buf));

	(void)state;
	for (int i = 0; i < n; i++) {
		if (i < 8)
			snprintf(msg, sizeof(msg), "mh: %d octets, a Mobility Header has at least 8", i);
		else
			snprintf(msg, sizeof(msg), "mh: header_len %d means %d octets, only %d present",
				 n / 8 - 1, n, i);
		expect(buf, (size_t)i, SRC, WIRE_ETRUNC, msg);
	}
}

static int build_plain_bu(uint8_t *buf, size_t size)
{
	struct mh_builder b;
	struct wire_error err = { 0 };

	mh_build_begin(&b, buf, size, MH_BU, &(union mh_body){ .bu = { 9, MH_BU_A, 10 } }, &err);
	mh_build_alt_coa(&b, ADDR6);
	return mh_build_finish(&b, SRC, DST);
}

static void test_header_len(void **state)
{
	uint8_t buf[64];
	int n = build_plain_bu(buf, sizeof(buf));

	(void)state;
	assert_int_equal(n, 32);
	/* Octets after the header: the caller must slice exactly. */
	expect(buf, 40, NULL, WIRE_ELEN, "mh: 8 octets after the 32 of header_len 3");
	/* Header Len beyond the buffer. */
	buf[1] = 5;
	expect(buf, 32, NULL, WIRE_ETRUNC, "mh: header_len 5 means 48 octets, only 32 present");
}

static void test_payload_proto(void **state)
{
	uint8_t buf[64];
	int n = build_plain_bu(buf, sizeof(buf));

	(void)state;
	buf[0] = 6;
	expect(buf, (size_t)n, NULL, WIRE_EVALUE, "mh.bu: payload proto 6, expected 59 (IPPROTO_NONE)");
}

static void test_bad_checksum(void **state)
{
	uint8_t buf[64];
	char msg[128];
	int n = build_plain_bu(buf, sizeof(buf));
	uint16_t good = get_be16(buf + 4);

	(void)state;
	buf[11] ^= 0x01;	/* lifetime changed in flight */
	{
		struct mh_msg m;
		struct wire_error err = { 0 };
		uint16_t want = mh_checksum(buf, (size_t)n, SRC, DST);

		assert_int_not_equal(want, good);
		snprintf(msg, sizeof(msg), "mh.bu: checksum 0x%04x, expected 0x%04x", good, want);
		assert_int_equal(mh_parse(buf, (size_t)n, SRC, DST, &m, &err), WIRE_ECSUM);
		assert_int_equal(err.offset, 4);
	}
	expect(buf, (size_t)n, SRC, WIRE_ECSUM, msg);
	/* Wrong pseudo-header (another destination) is a mismatch too. */
	buf[11] ^= 0x01;
	{
		struct mh_msg m;
		struct wire_error err = { 0 };

		assert_int_equal(mh_parse(buf, (size_t)n, SRC, SRC, &m, &err), WIRE_ECSUM);
		assert_int_equal(mh_parse(buf, (size_t)n, NULL, NULL, &m, &err), WIRE_OK);
	}
}

/* 0x0000 and 0xffff are both one's-complement zero: a sender that stores
 * either is accepted (RFC 1071 verification). */
static void test_checksum_zero(void **state)
{
	uint8_t buf[8] = { 59, 0, MH_BRR, 0 };
	struct mh_msg m;
	struct wire_error err = { 0 };
	unsigned r;

	(void)state;
	for (r = 0; r < 0x10000; r++) {
		put_be16(buf + 6, (uint16_t)r);
		if (mh_checksum(buf, 8, SRC, DST) == 0)
			break;
	}
	assert_true(r < 0x10000);
	put_be16(buf + 4, 0x0000);
	assert_int_equal(mh_parse(buf, 8, SRC, DST, &m, &err), WIRE_OK);
	put_be16(buf + 4, 0xffff);
	assert_int_equal(mh_parse(buf, 8, SRC, DST, &m, &err), WIRE_OK);
	assert_int_equal(m.u.brr.reserved, r);
	put_be16(buf + 4, 0x0001);
	assert_int_equal(mh_parse(buf, 8, SRC, DST, &m, &err), WIRE_ECSUM);
	assert_string_equal(err.msg, "mh.brr: checksum 0x0001, expected 0x0000");
}

static void test_unknown_type(void **state)
{
	uint8_t buf[16] = { 59, 1, 8, 0, 0, 0 };

	(void)state;
	expect(buf, 16, NULL, WIRE_ETYPE, "mh: unknown MH type 8");
	buf[2] = 255;
	expect(buf, 16, NULL, WIRE_ETYPE, "mh: unknown MH type 255");
}

static void test_min_lengths(void **state)
{
	const struct { uint8_t type, hlen; const char *msg; } cases[] = {
		{ MH_HOTI, 0, "mh.hoti: header_len 0 (8 octets) too short, needs 16" },
		{ MH_COTI, 0, "mh.coti: header_len 0 (8 octets) too short, needs 16" },
		{ MH_HOT, 1, "mh.hot: header_len 1 (16 octets) too short, needs 24" },
		{ MH_COT, 1, "mh.cot: header_len 1 (16 octets) too short, needs 24" },
		{ MH_BU, 0, "mh.bu: header_len 0 (8 octets) too short, needs 12" },
		{ MH_BA, 0, "mh.ba: header_len 0 (8 octets) too short, needs 12" },
		{ MH_BE, 1, "mh.be: header_len 1 (16 octets) too short, needs 24" },
	};
	uint8_t buf[64] = { 0 };
	struct mh_msg m;
	struct wire_error err;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(buf, 0, sizeof(buf));
		buf[0] = 59;
		buf[1] = cases[i].hlen;
		buf[2] = cases[i].type;
		expect(buf, (size_t)(cases[i].hlen + 1) * 8, NULL, WIRE_ELEN, cases[i].msg);
	}
	/* A BRR fits in 8 octets; a HAS must hold its addresses. */
	buf[1] = 0;
	buf[2] = MH_BRR;
	assert_int_equal(mh_parse(buf, 8, NULL, NULL, &m, &err), WIRE_OK);
	buf[1] = 3;
	buf[2] = MH_HAS;
	buf[6] = 2;
	expect(buf, 32, NULL, WIRE_ELEN, "mh.has: header_len 3 (32 octets) too short, needs 40");
	buf[6] = 1;
	assert_int_equal(mh_parse(buf, 32, NULL, NULL, &m, &err), WIRE_OK);
	assert_int_equal(m.u.has.n_addrs, 1);
	assert_int_equal(m.pad_octets, 8);
}

/* Builds a BU whose option area is given raw (from offset 12). */
static int raw_bu(uint8_t *buf, size_t size, const uint8_t *opts, size_t n)
{
	struct mh_builder b;
	struct wire_error err = { 0 };

	mh_build_begin(&b, buf, size, MH_BU, NULL, &err);
	assert_true(b.len + n <= size);
	memcpy(buf + b.len, opts, n);
	b.len += n;
	return mh_build_finish(&b, NULL, NULL);
}

static void test_fixed_option_lengths(void **state)
{
	const struct { uint8_t type; int good; const char *name; } opts[] = {
		{ MH_OPT_BRA, 2, "binding_refresh_advice" },
		{ MH_OPT_ALT_COA, 16, "alternate_care_of_address" },
		{ MH_OPT_NONCE, 4, "nonce_indices" },
		{ MH_OPT_MNP, 18, "mobile_network_prefix" },
		{ MH_OPT_V4_HOA, 6, "ipv4_home_address" },
		{ MH_OPT_V4_ACK, 6, "ipv4_address_acknowledgement" },
		{ MH_OPT_NATD, 6, "nat_detection" },
		{ MH_OPT_V4_COA, 6, "ipv4_care_of_address" },
	};
	uint8_t buf[128], o[64];
	char msg[128];

	(void)state;
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		for (int d = -1; d <= 1; d += 2) {
			int len = opts[i].good + d, n;

			memset(o, 0, sizeof(o));
			o[0] = opts[i].type;
			o[1] = (uint8_t)len;
			n = raw_bu(buf, sizeof(buf), o, 2 + (size_t)len);
			snprintf(msg, sizeof(msg),
				 "mh.bu: option 1 (%s) at offset 12: length %d, expected %d",
				 opts[i].name, len, opts[i].good);
			expect(buf, (size_t)n, NULL, WIRE_ELEN, msg);
		}
	}
	memset(o, 0, sizeof(o));
	o[0] = MH_OPT_VENDOR;
	o[1] = 4;
	expect(buf, (size_t)raw_bu(buf, sizeof(buf), o, 6), NULL, WIRE_ELEN,
	       "mh.bu: option 1 (vendor_specific) at offset 12: length 4, expected at least 5");
	o[0] = MH_OPT_AUTH;
	o[1] = 0;
	expect(buf, (size_t)raw_bu(buf, sizeof(buf), o, 2), NULL, WIRE_ELEN,
	       "mh.bu: option 1 (binding_authorization_data) at offset 12: length 0, expected at least 1");
}

static void test_option_overrun(void **state)
{
	uint8_t buf[16] = { 59, 1, MH_BU, 0, 0, 0, 0, 0, 0, 0, 0, 0 };

	(void)state;
	buf[12] = MH_OPT_ALT_COA;
	buf[13] = 16;
	expect(buf, 16, NULL, WIRE_ELEN, "mh.bu: option 1 (type 3) at offset 12: length 16 overruns header (16)");
	buf[13] = 3;	/* 12 + 2 + 3 = 17 */
	expect(buf, 16, NULL, WIRE_ELEN, "mh.bu: option 1 (type 3) at offset 12: length 3 overruns header (16)");
	/* Pad1 Pad1 Pad1 then a type octet with no length octet. */
	buf[12] = buf[13] = buf[14] = 0;
	buf[15] = MH_OPT_AUTH;
	expect(buf, 16, NULL, WIRE_ELEN,
	       "mh.bu: option 4 (type 5) at offset 15: length octet past header end (16)");
	/* An unknown option overrunning is as bad as a known one. */
	buf[12] = 200;
	buf[13] = 9;
	expect(buf, 16, NULL, WIRE_ELEN, "mh.bu: option 1 (type 200) at offset 12: length 9 overruns header (16)");
}

static void test_values(void **state)
{
	uint8_t buf[64], o[20] = { MH_OPT_MNP, 18, 0, 129 };
	uint8_t h[8] = { MH_OPT_V4_HOA, 6, 33 << 2, 0, 10, 0, 0, 1 };

	(void)state;
	expect(buf, (size_t)raw_bu(buf, sizeof(buf), o, 20), NULL, WIRE_EVALUE,
	       "mh.bu: option 1 (mobile_network_prefix) at offset 12: prefix length 129 over 128");
	expect(buf, (size_t)raw_bu(buf, sizeof(buf), h, 8), NULL, WIRE_EVALUE,
	       "mh.bu: option 1 (ipv4_home_address) at offset 12: prefix length 33 over 32");
	/* The code does not depend on the caller wanting the message. */
	{
		struct mh_msg m;

		assert_int_equal(mh_parse(buf, 24, NULL, NULL, &m, NULL), WIRE_EVALUE);
	}
}

/* Alignment is a sender rule: a misaligned option is accepted. */
static void test_misaligned_accepted(void **state)
{
	uint8_t buf[64], o[18] = { MH_OPT_ALT_COA, 16 };
	struct mh_msg m;
	struct wire_error err = { 0 };
	int n;

	(void)state;
	memcpy(o + 2, ADDR6, 16);
	n = raw_bu(buf, sizeof(buf), o, sizeof(o));	/* at 12, not 8n+6 */
	assert_int_equal(mh_parse(buf, (size_t)n, NULL, NULL, &m, &err), WIRE_OK);
	assert_int_equal(m.n_opts, 1);
	assert_int_equal(m.opts[0].off, 12);
	assert_memory_equal(m.opts[0].u.alt_coa, ADDR6, 16);
	{
		uint8_t out[64];
		json_t *j = mh_to_json(buf, (size_t)n, NULL, NULL, &err);

		assert_non_null(j);
		assert_int_equal(mh_from_json(j, out, sizeof(out), NULL, NULL, &err), n);
		assert_memory_equal(out, buf, (size_t)n);
		json_decref(j);
	}
}

static void test_unknown_option_and_padn(void **state)
{
	/* unknown 200 (3 octets), PadN with non-zero contents, vendor. */
	uint8_t o[] = { 200, 3, 0xaa, 0xbb, 0xcc, MH_OPT_PADN, 1, 0x55, 0 };
	uint8_t buf[64], out[64];
	struct mh_msg m;
	struct wire_error err = { 0 };
	json_t *j, *opts;
	int n;

	(void)state;
	n = raw_bu(buf, sizeof(buf), o, sizeof(o));
	assert_int_equal(n, 24);
	assert_int_equal(mh_parse(buf, (size_t)n, NULL, NULL, &m, &err), WIRE_OK);
	assert_int_equal(m.n_opts, 1);
	assert_int_equal(m.n_unknown, 1);
	assert_false(m.opts[0].known);
	assert_int_equal(m.opts[0].type, 200);
	assert_int_equal(m.opts[0].len, 3);
	assert_int_equal(m.pad_octets, 7);	/* PadN 3, Pad1, closing PadN 3 */
	j = mh_to_json(buf, (size_t)n, NULL, NULL, &err);
	assert_non_null(j);
	opts = json_object_get(j, "options");
	assert_int_equal(json_array_size(opts), 4);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(opts, 0), "type")), 200);
	assert_string_equal(json_string_value(json_object_get(json_array_get(opts, 0), "data")),
			    "aabbcc");
	assert_string_equal(json_string_value(json_object_get(json_array_get(opts, 1), "data")), "55");
	assert_string_equal(json_string_value(json_object_get(json_array_get(opts, 2), "type")), "pad1");
	assert_int_equal(mh_from_json(j, out, sizeof(out), NULL, NULL, &err), n);
	assert_memory_equal(out, buf, (size_t)n);
	json_decref(j);
}

static void test_too_many_options(void **state)
{
	uint8_t o[33 * 4], buf[256];

	(void)state;
	for (int i = 0; i < 33; i++) {
		o[4 * i] = MH_OPT_BRA;
		o[4 * i + 1] = 2;
		o[4 * i + 2] = 0;
		o[4 * i + 3] = (uint8_t)i;
	}
	{
		struct mh_msg m;
		struct wire_error err = { 0 };
		int n = raw_bu(buf, sizeof(buf), o, 32 * 4);

		assert_int_equal(mh_parse(buf, (size_t)n, NULL, NULL, &m, &err), WIRE_OK);
		assert_int_equal(m.n_opts, 32);
		assert_int_equal(m.opts[31].u.refresh_interval, 31);
	}
	expect(buf, (size_t)raw_bu(buf, sizeof(buf), o, sizeof(o)), NULL, WIRE_ECOUNT,
	       "mh.bu: more than 32 options");
}

static void test_builder_errors(void **state)
{
	uint8_t buf[24];
	struct mh_builder b;
	struct wire_error err = { 0 };

	(void)state;
	mh_build_begin(&b, buf, sizeof(buf), MH_BU, NULL, &err);
	mh_build_alt_coa(&b, ADDR6);
	mh_build_nonce(&b, 1, 2);	/* ignored after the first error */
	assert_int_equal(mh_build_finish(&b, SRC, DST), -1);
	assert_int_equal(err.code, WIRE_ESPACE);
	assert_string_equal(err.msg, "mh.bu: needs 32 octets, buffer has 24");
	mh_build_begin(&b, buf, sizeof(buf), 9, NULL, &err);
	assert_int_equal(mh_build_finish(&b, NULL, NULL), -1);
	assert_int_equal(err.code, WIRE_ETYPE);
	assert_string_equal(err.msg, "mh: cannot build unknown MH type 9");
	mh_build_begin(&b, buf, sizeof(buf), MH_BU, NULL, &err);
	mh_build_mnp(&b, 129, PREFIX);
	assert_int_equal(mh_build_finish(&b, NULL, NULL), -1);
	assert_int_equal(err.code, WIRE_EVALUE);
	assert_string_equal(err.msg, "mh.bu: mobile_network_prefix prefix length 129 over 128");
}

static void json_expect(const char *spec, enum wire_err code, const char *msg)
{
	uint8_t buf[MH_MAX_LEN];
	struct wire_error err = { 0 };
	json_error_t jerr;
	json_t *j = json_loads(spec, 0, &jerr);

	assert_non_null(j);
	assert_int_equal(mh_from_json(j, buf, sizeof(buf), NULL, NULL, &err), -1);
	assert_int_equal(err.code, code);
	assert_string_equal(err.msg, msg);
	json_decref(j);
}

static void test_json_errors(void **state)
{
	(void)state;
	json_expect("{\"type\":\"binding_update\",\"sequence\":1,\"lifetime\":2,\"lifetme\":3}",
		    WIRE_EVALUE, "mh json: binding_update: unknown field \"lifetme\"");
	json_expect("{\"type\":\"binding_update\",\"lifetime\":2}",
		    WIRE_EVALUE, "mh json: binding_update: missing \"sequence\"");
	json_expect("{\"type\":\"binding_update\",\"sequence\":70000,\"lifetime\":2}",
		    WIRE_EVALUE, "mh json: binding_update: \"sequence\" must be an integer from 0 to 65535");
	json_expect("{\"type\":\"binding_update\",\"sequence\":1,\"lifetime\":2,\"flags\":[\"Z\"]}",
		    WIRE_EVALUE, "mh json: binding_update: \"flags\" holds a letter other than AHLKMRPFTB");
	json_expect("{\"type\":\"fast_binding_update\"}",
		    WIRE_EVALUE, "mh json: mobility header: unknown message \"fast_binding_update\"");
	json_expect("{\"type\":\"home_test_init\",\"home_init_cookie\":\"0102\"}",
		    WIRE_EVALUE, "mh json: home_test_init: \"home_init_cookie\" must be a hex string of 8 octets");
	json_expect("{\"type\":\"binding_error\",\"status\":1,\"home_address\":\"10.0.0.1\"}",
		    WIRE_EVALUE, "mh json: binding_error: \"home_address\" must be an IPv6 address");
	json_expect("{\"type\":\"binding_refresh_request\",\"options\":[{\"type\":\"nonce_indices\","
		    "\"home_nonce_index\":1}]}",
		    WIRE_EVALUE, "mh json: binding_refresh_request option 1: missing \"care_of_nonce_index\"");
	json_expect("{\"type\":\"binding_refresh_request\",\"options\":[{\"type\":\"bogus\"}]}",
		    WIRE_EVALUE, "mh json: binding_refresh_request option 1: needs a \"type\" that is an option name or a number");
	/* header_len asks for the exact layout: it must add up. */
	json_expect("{\"type\":\"binding_refresh_request\",\"header_len\":1}",
		    WIRE_ELEN, "mh json: binding_refresh_request: header_len 1 given, content makes 0");
	json_expect("{\"type\":\"binding_update\",\"sequence\":1,\"lifetime\":2,\"header_len\":1}",
		    WIRE_EALIGN, "mh json: binding_update: options end at 12 octets, not a multiple of 8 (header_len given: exact layout)");
}

/* The JSON builder aligns options itself when no header_len is given. */
static void test_json_build(void **state)
{
	const char *spec =
		"{\"type\":\"binding_acknowledgement\",\"status\":0,\"flags\":[\"K\",\"R\"],"
		"\"sequence\":9,\"lifetime\":300,\"options\":["
		"{\"type\":\"binding_refresh_advice\",\"refresh_interval\":60},"
		"{\"type\":\"ipv4_address_acknowledgement\",\"status\":0,\"prefix_len\":24,\"address\":\"192.0.2.10\"},"
		"{\"type\":\"nat_detection\",\"flags\":[\"F\"],\"refresh_time\":110},"
		"{\"type\":\"binding_authorization_data\",\"authenticator\":\"a0a1a2a3a4a5a6a7a8a9aaab\"}]}";
	uint8_t buf[128];
	struct mh_msg m;
	struct wire_error err = { 0 };
	json_error_t jerr;
	json_t *j = json_loads(spec, 0, &jerr);
	int n;

	(void)state;
	n = mh_from_json(j, buf, sizeof(buf), SRC, DST, &err);
	json_decref(j);
	if (n < 0)
		fail_msg("%s", err.msg);
	assert_csum_ok(buf, (size_t)n);
	assert_int_equal(mh_parse(buf, (size_t)n, SRC, DST, &m, &err), WIRE_OK);
	assert_int_equal(m.u.ba.flags, MH_BA_K | MH_BA_R);
	assert_int_equal(m.n_opts, 4);
	assert_int_equal(m.opts[0].off, 12);
	assert_int_equal(m.opts[1].off % 4, 0);
	assert_int_equal(m.opts[2].off % 4, 0);
	assert_int_equal(m.opts[3].off % 8, 2);
	assert_memory_equal(m.opts[3].data, AUTH, 12);
	assert_json_roundtrip(buf, (size_t)n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bu_all_options),
		cmocka_unit_test(test_bu_vector),
		cmocka_unit_test(test_every_message),
		cmocka_unit_test(test_truncated_every_offset),
		cmocka_unit_test(test_header_len),
		cmocka_unit_test(test_payload_proto),
		cmocka_unit_test(test_bad_checksum),
		cmocka_unit_test(test_checksum_zero),
		cmocka_unit_test(test_unknown_type),
		cmocka_unit_test(test_min_lengths),
		cmocka_unit_test(test_fixed_option_lengths),
		cmocka_unit_test(test_option_overrun),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_misaligned_accepted),
		cmocka_unit_test(test_unknown_option_and_padn),
		cmocka_unit_test(test_too_many_options),
		cmocka_unit_test(test_builder_errors),
		cmocka_unit_test(test_json_errors),
		cmocka_unit_test(test_json_build),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
