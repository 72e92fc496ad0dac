/* AH (src/ipsec/ah.c): ICVs checked against an independent HMAC-SHA-256
 * (OpenSSL's one-shot HMAC over a copy zeroed here field by field), the
 * mutable/immutable split (IPv4 options, IPv6 change-en-route options,
 * RH2 and HAO as the destination sees them), round trips in both modes
 * and families, ESN high bits, anti-replay, sequence overflow, SA checks,
 * every malformation with its error and counter, and ah_find. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/stats.h"
#include "ipsec/ah.h"
#include "wire/exthdr.h"
#include "wire/ipv6.h"

static const uint8_t key[32] = "0123456789abcdef0123456789ABCDEF";

static uint64_t ctr(const char *name)
{
	for (struct counter *c = counter_first(); c; c = c->next)
		if (!strcmp(c->name, name))
			return c->value;
	fail_msg("counter %s not registered", name);
	return 0;
}

static struct sa *mk(enum sa_dir dir, enum sa_mode mode, bool esn, int tunnel_family)
{
	struct sa_params p = { .spi = 0x4242, .dir = dir, .mode = mode, .esn = esn,
			       .proto = SA_PROTO_AH, .auth_key = key, .auth_key_len = 32 };
	enum sa_new_err e;
	struct sa *sa;

	if (tunnel_family == AF_INET) {
		assert_int_equal(ip_addr_parse("203.0.113.1", AF_INET, &p.src), ADDR_OK);
		assert_int_equal(ip_addr_parse("203.0.113.2", AF_INET, &p.dst), ADDR_OK);
	} else if (tunnel_family == AF_INET6) {
		assert_int_equal(ip_addr_parse("2001:db8:f::1", AF_INET6, &p.src), ADDR_OK);
		assert_int_equal(ip_addr_parse("2001:db8:f::2", AF_INET6, &p.dst), ADDR_OK);
	}
	sa = sa_new(&p, &e);
	assert_non_null(sa);
	return sa;
}

/* IPv6/UDP with `ext` bytes of extension headers (first next header
 * `nh`) between the fixed header and UDP. */
static size_t pkt6(uint8_t *b, uint8_t nh, const uint8_t *ext, size_t ext_len)
{
	size_t n = 40 + ext_len + 8 + 20;

	memset(b, 0, n);
	b[0] = 0x6a;
	b[1] = 0xb1;
	b[2] = 0x23;
	b[3] = 0x45;
	put_be16(b + 4, (uint16_t)(n - 40));
	b[6] = ext_len ? nh : PROTO_UDP;
	b[7] = 33;
	inet_pton(AF_INET6, "2001:db8:99::7", b + 8);
	inet_pton(AF_INET6, "2001:db8:1::1", b + 24);
	if (ext_len)
		memcpy(b + 40, ext, ext_len);
	put_be16(b + 40 + ext_len, 1111);
	put_be16(b + 42 + ext_len, 2222);
	put_be16(b + 44 + ext_len, 28);
	for (size_t i = 0; i < 20; i++)
		b[48 + ext_len + i] = (uint8_t)(i * 7);
	return n;
}

/* IPv4/UDP with `opt` bytes of options. */
static size_t pkt4(uint8_t *b, const uint8_t *opt, size_t opt_len)
{
	size_t hl = 20 + opt_len, n = hl + 8 + 12;

	memset(b, 0, n);
	b[0] = (uint8_t)(0x40 | hl / 4);
	b[1] = 0xb8;
	put_be16(b + 2, (uint16_t)n);
	put_be16(b + 4, 0x1234);
	b[6] = 0x40;			/* DF */
	b[8] = 17;
	b[9] = 17;
	inet_pton(AF_INET, "192.0.2.1", b + 12);
	inet_pton(AF_INET, "198.51.100.2", b + 16);
	if (opt_len)
		memcpy(b + 20, opt, opt_len);
	put_be16(b + 10, csum_fold(csum_partial(b, hl, 0)));
	put_be16(b + hl, 5000);
	put_be16(b + hl + 2, 6000);
	put_be16(b + hl + 4, 20);
	memset(b + hl + 8, 0x5a, 12);
	return n;
}

static void hmac128(const uint8_t *d, size_t n, const uint8_t *hi, uint8_t out[16])
{
	uint8_t md[32], buf[2048];
	unsigned len = 0;

	memcpy(buf, d, n);
	if (hi) {
		memcpy(buf + n, hi, 4);
		n += 4;
	}
	assert_non_null(HMAC(EVP_sha256(), key, 32, buf, n, md, &len));
	memcpy(out, md, 16);
}

static void test_icv_v6_independent(void **state)
{
	/* HBH with an en-route option (0x3e) and a fixed one (0x1e), then a
	 * Destination Options header with the HAO. */
	uint8_t ext[16 + 24] = { PROTO_DSTOPTS, 1, 0x3e, 4, 1, 2, 3, 4, 0x1e, 4, 5, 6, 7, 8, 1, 0 };
	uint8_t b[512], z[512], icv[16], hoa[16];
	struct sa *out = mk(SA_DIR_OUT, SA_MODE_TRANSPORT, false, 0);
	size_t n, len;

	inet_pton(AF_INET6, "2001:db8:1::100", hoa);
	assert_int_equal(ext_hao_build(ext + 16, 24, PROTO_UDP, hoa, NULL), 24);
	n = pkt6(b, PROTO_HOPOPTS, ext, sizeof(ext));
	assert_int_equal(ah_encap(out, b, n, sizeof(b), &len), AH_OK);
	assert_int_equal(len, n + AH_LEN_V6);
	/* AH after HBH and the Destination Options, UDP behind it. */
	assert_int_equal(b[40 + 16], PROTO_AH);
	assert_int_equal(b[80], PROTO_UDP);
	assert_int_equal(b[81], 6);
	assert_int_equal(get_be32(b + 84), 0x4242);
	assert_int_equal(get_be32(b + 88), 1);
	assert_int_equal(get_be16(b + 4), len - 40);

	memcpy(z, b, len);
	z[0] = 0x60;
	z[1] = z[2] = z[3] = 0;
	z[7] = 0;
	memset(z + 44, 0, 4);			/* en-route option data */
	memset(z + 80 + 12, 0, 20);		/* ICV and padding */
	/* RFC 6275 6.3: source = home address, HAO = care-of address. */
	memcpy(z + 8, hoa, 16);
	memcpy(z + 40 + 16 + 8, b + 8, 16);
	hmac128(z, len, NULL, icv);
	assert_memory_equal(b + 92, icv, 16);
	assert_memory_equal(b + 108, "\0\0\0\0", 4);
	sa_free(out);
}

static void test_icv_v4_options(void **state)
{
	/* Router Alert (148, immutable), NOP, Record Route (7, mutable). */
	uint8_t opt[12] = { 148, 4, 0, 0, 1, 7, 7, 4, 10, 0, 0, 1 };
	uint8_t b[256], z[256], icv[16], hi[4] = { 0, 0, 0, 1 };
	struct sa *out = mk(SA_DIR_OUT, SA_MODE_TRANSPORT, true, 0);
	struct sa *in = mk(SA_DIR_IN, SA_MODE_TRANSPORT, true, 0);
	struct ah_decap_result r;
	size_t n, len;

	out->seq = 0x100000004ull;
	in->seq = 0x100000004ull;
	n = pkt4(b, opt, sizeof(opt));
	assert_int_equal(ah_encap(out, b, n, sizeof(b), &len), AH_OK);
	assert_int_equal(len, n + AH_LEN_V4);
	assert_int_equal(b[9], PROTO_AH);
	assert_int_equal(b[32], PROTO_UDP);
	assert_int_equal(b[33], 5);
	assert_int_equal(get_be32(b + 40), 5);	/* low 32 bits on the wire */
	assert_int_equal(csum_fold(csum_partial(b, 32, 0)), 0);

	memcpy(z, b, len);
	z[1] = 0;
	z[6] = z[7] = 0;
	z[8] = 0;
	z[10] = z[11] = 0;
	memset(z + 25, 0, 7);			/* the whole Record Route option */
	memset(z + 44, 0, 16);
	hmac128(z, len, hi, icv);		/* ESN: high bits appended */
	assert_memory_equal(b + 44, icv, 16);

	/* Routers rewrite the record route and the TTL: still valid. */
	b[28] = 99;
	b[8] = 3;
	put_be16(b + 10, 0);
	put_be16(b + 10, csum_fold(csum_partial(b, 32, 0)));
	assert_int_equal(ah_decap(in, b, len, &r), AH_OK);
	assert_int_equal(r.seq, 0x100000005ull);
	assert_int_equal(r.len, n);
	assert_int_equal(r.pkt[9], PROTO_UDP);
	assert_int_equal(get_be16(r.pkt + 2), n);
	assert_int_equal(csum_fold(csum_partial(r.pkt, 32, 0)), 0);
	assert_int_equal(get_be16(r.pkt + 32), 5000);
	sa_free(out);
	sa_free(in);
}

static void roundtrip(int family, enum sa_mode mode, int tunnel_family)
{
	struct sa *out = mk(SA_DIR_OUT, mode, false, tunnel_family);
	struct sa *in = mk(SA_DIR_IN, mode, false, tunnel_family);
	uint8_t b[512], orig[512];
	struct ah_decap_result r;
	size_t n, len;
	uint64_t ok0 = ctr("mipsec_ah_decap_total");

	n = family == AF_INET ? pkt4(b, NULL, 0) : pkt6(b, 0, NULL, 0);
	memcpy(orig, b, n);
	for (int i = 1; i <= 3; i++) {
		memcpy(b, orig, n);
		assert_int_equal(ah_encap(out, b, n, sizeof(b), &len), AH_OK);
		assert_int_equal(len, n + ah_overhead(out, family));
		if (mode == SA_MODE_TUNNEL)
			assert_int_equal(b[0] >> 4, tunnel_family == AF_INET ? 4 : 6);
		/* The hop limit / TTL changes on the way. */
		if (b[0] >> 4 == 6)
			b[7] = 1;
		assert_int_equal(ah_decap(in, b, len, &r), AH_OK);
		assert_int_equal(r.seq, i);
		assert_int_equal(r.len, n);
		if (mode == SA_MODE_TUNNEL) {
			assert_int_equal(r.next_header, family == AF_INET ? 4 : 41);
			assert_memory_equal(r.pkt, orig, n);
		} else if (family == AF_INET) {
			assert_memory_equal(r.pkt, orig, n);
		} else {
			assert_memory_equal(r.pkt, orig, 7);
			assert_memory_equal(r.pkt + 8, orig + 8, n - 8);
		}
	}
	assert_int_equal(ctr("mipsec_ah_decap_total"), ok0 + 3);
	assert_int_equal(in->stats.packets, 3);
	sa_free(out);
	sa_free(in);
}

static void test_roundtrips(void **state)
{
	roundtrip(AF_INET6, SA_MODE_TRANSPORT, 0);
	roundtrip(AF_INET, SA_MODE_TRANSPORT, 0);
	roundtrip(AF_INET6, SA_MODE_TUNNEL, AF_INET6);
	roundtrip(AF_INET, SA_MODE_TUNNEL, AF_INET6);
	roundtrip(AF_INET6, SA_MODE_TUNNEL, AF_INET);
	roundtrip(AF_INET, SA_MODE_TUNNEL, AF_INET);
}

/* A BA to the care-of address with RH2: verified on the wire form, and
 * equal to the ICV of the form the home address sees. */
static void test_rh2(void **state)
{
	uint8_t ext[24], b[512], fin[512], hoa[16];
	struct sa *out = mk(SA_DIR_OUT, SA_MODE_TRANSPORT, false, 0);
	struct sa *in = mk(SA_DIR_IN, SA_MODE_TRANSPORT, false, 0);
	struct ah_decap_result r;
	size_t n, len;

	inet_pton(AF_INET6, "2001:db8:1::100", hoa);
	assert_int_equal(ext_rh2_build(ext, sizeof(ext), PROTO_UDP, hoa, NULL), 24);
	n = pkt6(b, PROTO_ROUTING, ext, sizeof(ext));
	memcpy(fin, b, n);
	/* The final destination's view: dst = HoA, RH2 = CoA, segleft 0. */
	memcpy(fin + 24, hoa, 16);
	memcpy(fin + 48, b + 24, 16);
	fin[43] = 0;
	assert_int_equal(ah_encap(out, b, n, sizeof(b), &len), AH_OK);
	out->seq = 0;
	assert_int_equal(ah_encap(out, fin, n, sizeof(fin), &len), AH_OK);
	assert_memory_equal(b + 64 + 12, fin + 64 + 12, 16);
	assert_int_equal(ah_decap(in, b, len, &r), AH_OK);
	/* Only type 2 with one segment is understood. */
	n = pkt6(b, PROTO_ROUTING, ext, sizeof(ext));
	b[42] = 0;
	assert_int_equal(ah_encap(out, b, n, sizeof(b), &len), AH_ERR_HEADERS);
	sa_free(out);
	sa_free(in);
}

static void test_replay_esn(void **state)
{
	struct sa *out = mk(SA_DIR_OUT, SA_MODE_TRANSPORT, true, 0);
	struct sa *in = mk(SA_DIR_IN, SA_MODE_TRANSPORT, true, 0);
	uint8_t b[512], keep[512];
	struct ah_decap_result r;
	size_t n, len;
	uint64_t rp0 = ctr("mipsec_ah_replay_total"), au0 = ctr("mipsec_ah_auth_fail_total");

	out->seq = 0x100000004ull;
	n = pkt6(b, 0, NULL, 0);
	assert_int_equal(ah_encap(out, b, n, sizeof(b), &len), AH_OK);
	memcpy(keep, b, len);
	/* A window at high bits 0 infers the wrong high half: the ICV, which
	 * covers them, fails. */
	in->seq = 4;
	assert_int_equal(ah_decap(in, b, len, &r), AH_ERR_AUTH);
	assert_int_equal(ctr("mipsec_ah_auth_fail_total"), au0 + 1);
	in->seq = 0x100000004ull;
	assert_int_equal(ah_decap(in, b, len, &r), AH_OK);
	assert_int_equal(r.seq, 0x100000005ull);
	assert_int_equal(ah_decap(in, keep, len, &r), AH_ERR_REPLAY);
	assert_int_equal(ctr("mipsec_ah_replay_total"), rp0 + 1);
	assert_int_equal(in->stats.replay, 1);
	/* Far ahead, then the old one falls out of the window. */
	memcpy(b, keep, len);
	out->seq = 0x100000004ull + SA_REPLAY_WINDOW + 10;
	n = pkt6(b, 0, NULL, 0);
	assert_int_equal(ah_encap(out, b, n, sizeof(b), &len), AH_OK);
	assert_int_equal(ah_decap(in, b, len, &r), AH_OK);
	/* Now far left of the window: with ESN its low bits read as the
	 * next 2^32 block (RFC 4303 A2), so the ICV over those high bits
	 * fails. */
	assert_int_equal(ah_decap(in, keep, len, &r), AH_ERR_AUTH);
	assert_int_equal(ctr("mipsec_ah_replay_total"), rp0 + 1);
	sa_free(out);
	sa_free(in);

	/* Without ESN a packet left of the window is a replay. */
	out = mk(SA_DIR_OUT, SA_MODE_TRANSPORT, false, 0);
	in = mk(SA_DIR_IN, SA_MODE_TRANSPORT, false, 0);
	n = pkt6(keep, 0, NULL, 0);
	assert_int_equal(ah_encap(out, keep, n, sizeof(keep), &len), AH_OK);
	out->seq = SA_REPLAY_WINDOW + 1;
	n = pkt6(b, 0, NULL, 0);
	assert_int_equal(ah_encap(out, b, n, sizeof(b), &len), AH_OK);
	assert_int_equal(ah_decap(in, b, len, &r), AH_OK);
	assert_int_equal(ah_decap(in, keep, len, &r), AH_ERR_REPLAY);
	assert_int_equal(ctr("mipsec_ah_replay_total"), rp0 + 2);
	sa_free(out);
	sa_free(in);
}

static void test_sa_checks(void **state)
{
	struct sa *out = mk(SA_DIR_OUT, SA_MODE_TRANSPORT, false, 0);
	struct sa *in = mk(SA_DIR_IN, SA_MODE_TRANSPORT, false, 0);
	struct sa *tun = mk(SA_DIR_OUT, SA_MODE_TUNNEL, false, 0);	/* no endpoints */
	struct sa_params p = { .spi = 0x4242, .proto = SA_PROTO_AH, .auth_key = key,
			       .auth_key_len = 20 };
	uint8_t b[512];
	struct ah_decap_result r;
	enum sa_new_err e;
	size_t n, len;

	assert_null(sa_new(&p, &e));
	assert_int_equal(e, SA_NEW_ERR_KEYLEN);
	p.auth_key_len = 32;
	p.enc_key = key;
	p.enc_key_len = 16;
	assert_null(sa_new(&p, &e));
	assert_int_equal(e, SA_NEW_ERR_KEYLEN);

	n = pkt6(b, 0, NULL, 0);
	assert_int_equal(ah_encap(in, b, n, sizeof(b), &len), AH_ERR_SA);
	assert_int_equal(ah_decap(out, b, n, &r), AH_ERR_SA);
	assert_int_equal(ah_encap(tun, b, n, sizeof(b), &len), AH_ERR_SA);
	out->seq = UINT32_MAX;
	assert_int_equal(ah_encap(out, b, n, sizeof(b), &len), AH_ERR_SEQ_OVERFLOW);
	out->seq = 0;
	assert_int_equal(ah_encap(out, b, n, n + 31, &len), AH_ERR_SPACE);
	assert_memory_equal(b + 40, "\x04\x57\x08\xae", 4);	/* untouched */
	out->expiry = SA_HARD;
	assert_int_equal(ah_encap(out, b, n, sizeof(b), &len), AH_ERR_EXPIRED);
	assert_string_equal(ah_strerror(AH_ERR_FRAGMENT), "AH on a fragment (RFC 4302 3.4.1)");
	sa_free(out);
	sa_free(in);
	sa_free(tun);
}

static void test_malformed(void **state)
{
	struct sa *out = mk(SA_DIR_OUT, SA_MODE_TRANSPORT, false, 0);
	struct sa *in = mk(SA_DIR_IN, SA_MODE_TRANSPORT, false, 0);
	struct sa *tin = mk(SA_DIR_IN, SA_MODE_TUNNEL, false, AF_INET6);
	uint8_t b[512], good[512], frag[8] = { PROTO_UDP, 0, 0, 1, 0, 0, 0, 9 };
	struct ah_decap_result r;
	size_t n, len, off;
	uint32_t spi;
	uint64_t m0 = ctr("mipsec_ah_malformed_total"), t0 = ctr("mipsec_ah_truncated_total");
	uint64_t l0 = ctr("mipsec_ah_bad_length_total");

	n = pkt6(b, 0, NULL, 0);
	assert_int_equal(ah_encap(out, b, n, sizeof(b), &len), AH_OK);
	memcpy(good, b, len);
	assert_int_equal(ah_find(b, len, &off, &spi), AH_OK);
	assert_int_equal(off, 40);
	assert_int_equal(spi, 0x4242);

	assert_int_equal(ah_decap(in, b, 39, &r), AH_ERR_TRUNCATED);
	assert_int_equal(ah_decap(in, b, len - 1, &r), AH_ERR_TRUNCATED);
	put_be16(b + 4, 10);
	assert_int_equal(ah_decap(in, b, len, &r), AH_ERR_TRUNCATED);
	memcpy(b, good, len);
	b[41] = 5;				/* 28 bytes: not a multiple of 8 */
	assert_int_equal(ah_decap(in, b, len, &r), AH_ERR_BAD_LEN);
	b[41] = 1;
	assert_int_equal(ah_decap(in, b, len, &r), AH_ERR_BAD_LEN);
	assert_int_equal(ctr("mipsec_ah_bad_length_total"), l0 + 2);
	memcpy(b, good, len);
	b[6] = PROTO_UDP;
	assert_int_equal(ah_decap(in, b, len, &r), AH_ERR_NOT_AH);
	b[0] = 0x50;
	assert_int_equal(ah_decap(in, b, len, &r), AH_ERR_BAD_IP);
	memcpy(b, good, len);
	put_be32(b + 44, 0x4243);
	assert_int_equal(ah_decap(in, b, len, &r), AH_ERR_WRONG_SPI);
	memcpy(b, good, len);
	b[len - 1] ^= 1;
	assert_int_equal(ah_decap(in, b, len, &r), AH_ERR_AUTH);
	/* Valid AH, but a tunnel SA needs an IP packet inside. */
	memcpy(b, good, len);
	assert_int_equal(ah_decap(tin, b, len, &r), AH_ERR_TUNNEL_NH);

	/* Fragments: neither protected nor accepted. */
	n = pkt6(b, PROTO_FRAGMENT, frag, sizeof(frag));
	assert_int_equal(ah_encap(out, b, n, sizeof(b), &len), AH_ERR_FRAGMENT);
	n = pkt4(b, NULL, 0);
	b[6] = 0x20;				/* MF */
	assert_int_equal(ah_encap(out, b, n, sizeof(b), &len), AH_ERR_FRAGMENT);
	/* An option running past its header. */
	{
		uint8_t bad[8] = { PROTO_UDP, 0, 0x3e, 9, 0, 0, 0, 0 };

		n = pkt6(b, PROTO_HOPOPTS, bad, sizeof(bad));
		assert_int_equal(ah_encap(out, b, n, sizeof(b), &len), AH_ERR_BAD_IP);
	}
	assert_true(ctr("mipsec_ah_malformed_total") >= m0 + 5);
	assert_true(ctr("mipsec_ah_truncated_total") >= t0 + 3);
	sa_free(out);
	sa_free(in);
	sa_free(tin);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_icv_v6_independent),
		cmocka_unit_test(test_icv_v4_options),
		cmocka_unit_test(test_roundtrips),
		cmocka_unit_test(test_rh2),
		cmocka_unit_test(test_replay_esn),
		cmocka_unit_test(test_sa_checks),
		cmocka_unit_test(test_malformed),
	};

	ah_stats_register();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
