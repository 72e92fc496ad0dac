/* RFC 4877 SA sets (src/mip6/mip6_sec.c): a mobile node's set and the home
 * agent's mirrored set talk to each other through the real ESP data plane:
 * BU in the transport SA (ESP between the HAO and the MH, next header 135)
 * comes back as the RFC 6275 BU byte for byte; replay, selectors (only
 * BU/BA in the transport SA, only IPv6 in the tunnel SA), wrong keys,
 * tunnel mode in place, the CoA move without rekeying, install errors and
 * the configuration block. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <arpa/inet.h>

#include "core/stats.h"
#include "ipsec/esp.h"
#include "mip6/mip6_ike.h"
#include "mip6/mip6_sec.h"
#include "mip6/mn.h"
#include "wire/exthdr.h"
#include "wire/mh.h"

static struct in6_addr a6(const char *s)
{
	struct in6_addr a;
	assert_int_equal(inet_pton(AF_INET6, s, &a), 1);
	return a;
}

static struct ip_addr ip6(const char *s)
{
	struct ip_addr a = { .family = AF_INET6 };
	a.v6 = a6(s);
	return a;
}

static uint8_t k1[20] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 0xca, 0xfe, 0, 1 };
static uint8_t k2[20] = { 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 0xca, 0xfe, 0, 2 };
static uint8_t k3[20] = { 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 0xca, 0xfe, 0, 3 };
static uint8_t k4[20] = { 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 0xca, 0xfe, 0, 4 };

static struct sa_params par(uint32_t spi, uint8_t *key, struct ip_addr src, struct ip_addr dst)
{
	return (struct sa_params){ .spi = spi, .xform = ESP_XFORM_AES_GCM_16, .enc_key = key,
				   .enc_key_len = 20, .src = src, .dst = dst };
}

/* MN -> HA uses SPIs 0x1001 (MH) and 0x2001 (tunnel) with k1/k3; HA -> MN
 * 0x1002 / 0x2002 with k2/k4. */
struct pair {
	struct mip6_sec *mn, *ha;
	struct mip6_sec_set *mset, *hset;
	struct in6_addr hoa, haa, coa;
};

static void pair_init(struct pair *p, const char *hoa)
{
	char err[160];
	struct ip_addr coa = ip6("2001:db8:5b:1::4"), ha = ip6("2001:db8:8::1"), none = { 0 };

	p->hoa = a6(hoa);
	p->haa = ha.v6;
	p->coa = coa.v6;
	p->mn = mip6_sec_new(MIP6_SEC_MN, NULL);
	p->ha = mip6_sec_new(MIP6_SEC_HA, NULL);
	assert_non_null(p->mn);
	assert_non_null(p->ha);
	struct mip6_sec_sas m = {
		.mh_out = par(0x1001, k1, coa, ha), .mh_in = par(0x1002, k2, ha, coa),
		.tun_out = par(0x2001, k3, coa, ha), .tun_in = par(0x2002, k4, ha, coa),
	};
	struct mip6_sec_sas h = {
		.mh_in = par(0x1001, k1, none, ha), .mh_out = par(0x1002, k2, ha, none),
		.tun_in = par(0x2001, k3, none, ha), .tun_out = par(0x2002, k4, ha, none),
	};
	assert_int_equal(mip6_sec_install(p->mn, &p->hoa, &m, err, sizeof(err)), 0);
	assert_int_equal(mip6_sec_install(p->ha, &p->hoa, &h, err, sizeof(err)), 0);
	p->mset = mip6_sec_find(p->mn, &p->hoa);
	p->hset = mip6_sec_find(p->ha, &p->hoa);
	assert_non_null(p->mset);
	assert_non_null(p->hset);
}

static void pair_free(struct pair *p)
{
	mip6_sec_free(p->mn);
	mip6_sec_free(p->ha);
}

static size_t build_bu(const struct pair *p, uint8_t *buf, size_t size)
{
	int n = mn_bu_build(buf, size, &p->coa, &p->haa, &p->hoa, 77, MH_BU_A | MH_BU_H, 600);
	assert_true(n > 0);
	return (size_t)n;
}

static void walk(const uint8_t *buf, size_t len, struct ipv6_chain *c)
{
	struct wire_error err;
	assert_int_equal(ipv6_walk(buf, len, c, &err), WIRE_OK);
}

static void test_bu_round_trip(void **state)
{
	struct pair p;
	uint8_t buf[512], clear[512];
	struct ipv6_chain c;
	struct mip6_sec_rx r;
	(void)state;

	pair_init(&p, "2001:db8:8::4");
	size_t len = build_bu(&p, buf, sizeof(buf)), clen = len;
	memcpy(clear, buf, len);
	assert_int_equal(mip6_sec_protect_mh(p.mset, buf, sizeof(buf), &len), 0);
	/* RFC 4877 §4.1: IPv6 / DestOpt(HAO) / ESP (SPI of the HoA) / MH */
	walk(buf, len, &c);
	assert_int_equal(c.proto, PROTO_ESP);
	assert_non_null(c.hoa);
	assert_memory_equal(c.hoa, &p.hoa, 16);
	assert_int_equal(esp_spi(buf + c.off, c.len), 0x1001);
	assert_int_equal(len, clen + 16 + 16 + (4 - (clen - c.off + 2) % 4) % 4 + 2);
	assert_int_equal(mip6_sec_unprotect(p.ha, buf, len, &c, &r), 0);
	assert_int_equal(r.kind, MIP6_SEC_MH);
	assert_ptr_equal(r.set, p.hset);
	assert_int_equal(r.len, clen);
	assert_memory_equal(r.pkt, clear, clen);
	pair_free(&p);
}

static void test_replay_and_tamper(void **state)
{
	struct pair p;
	uint8_t buf[512], copy[512];
	struct ipv6_chain c;
	struct mip6_sec_rx r;
	(void)state;

	pair_init(&p, "2001:db8:8::4");
	size_t len = build_bu(&p, buf, sizeof(buf));
	assert_int_equal(mip6_sec_protect_mh(p.mset, buf, sizeof(buf), &len), 0);
	memcpy(copy, buf, len);
	walk(buf, len, &c);
	assert_int_equal(mip6_sec_unprotect(p.ha, buf, len, &c, &r), 0);
	/* the same packet again: the anti-replay window refuses it */
	memcpy(buf, copy, len);
	walk(buf, len, &c);
	assert_int_equal(mip6_sec_unprotect(p.ha, buf, len, &c, &r), -1);
	assert_int_equal(p.hset->mh_in->stats.replay, 1);
	/* a flipped ciphertext bit in a fresh packet: ICV */
	len = build_bu(&p, buf, sizeof(buf));
	assert_int_equal(mip6_sec_protect_mh(p.mset, buf, sizeof(buf), &len), 0);
	walk(buf, len, &c);
	buf[c.off + 20] ^= 1;
	assert_int_equal(mip6_sec_unprotect(p.ha, buf, len, &c, &r), -1);
	assert_int_equal(p.hset->mh_in->stats.auth_fail, 1);
	pair_free(&p);
}

static void test_selectors(void **state)
{
	struct pair p;
	uint8_t buf[512];
	struct ipv6_chain c;
	struct mip6_sec_rx r;
	(void)state;

	pair_init(&p, "2001:db8:8::4");
	/* RFC 4877: the transport SA carries BU/BA only; an MH of type 1
	 * (HoTI) in it is refused after authentication. */
	size_t len = build_bu(&p, buf, sizeof(buf));
	walk(buf, len, &c);
	buf[c.off + 2] = MH_HOTI;
	assert_int_equal(mip6_sec_protect_mh(p.mset, buf, sizeof(buf), &len), 0);
	walk(buf, len, &c);
	assert_int_equal(mip6_sec_unprotect(p.ha, buf, len, &c, &r), -1);
	/* the HA's own outbound SA cannot be used against it (unknown SPI
	 * inbound: 0x1002 is outbound at the HA) */
	len = build_bu(&p, buf, sizeof(buf));
	assert_int_equal(mip6_sec_protect_mh(p.hset, buf, sizeof(buf), &len), 0);
	walk(buf, len, &c);
	assert_int_equal(mip6_sec_unprotect(p.ha, buf, len, &c, &r), -1);
	/* and the MN accepts it: the BA direction */
	walk(buf, len, &c);
	assert_int_equal(mip6_sec_unprotect(p.mn, buf, len, &c, &r), 0);
	assert_int_equal(r.kind, MIP6_SEC_MH);
	pair_free(&p);
}

static void test_tunnel_in_place(void **state)
{
	struct pair p;
	uint8_t buf[2048];
	size_t off = 64, o, n;
	struct ipv6_chain c;
	struct mip6_sec_rx r;
	struct wire_error err;
	uint8_t inner[100];
	(void)state;

	pair_init(&p, "2001:db8:8::4");
	struct in6_addr cn = a6("2001:db8:7::c");
	struct ipv6_hdr h = { .payload_length = 60, .next_header = PROTO_NONE, .hop_limit = 64,
			      .src = p.hoa.s6_addr, .dst = cn.s6_addr };
	assert_int_equal(ipv6_build(inner, sizeof(inner), &h, &err), 40);
	for (int i = 40; i < 100; i++)
		inner[i] = (uint8_t)i;
	memcpy(buf + off, inner, sizeof(inner));
	assert_true(mip6_sec_tun_headroom(p.mset) <= off);
	assert_int_equal(mip6_sec_protect_tun(p.mset, buf, sizeof(buf), off, sizeof(inner),
					      p.coa.s6_addr, p.haa.s6_addr, &o, &n), 0);
	assert_int_equal(o, off - 40 - 16);
	walk(buf + o, n, &c);
	assert_int_equal(c.proto, PROTO_ESP);
	assert_memory_equal(c.ip.src, &p.coa, 16);
	assert_memory_equal(c.ip.dst, &p.haa, 16);
	/* header elimination: no IPv6-in-IPv6, the inner packet is ESP's payload */
	assert_int_equal(mip6_sec_unprotect(p.ha, buf + o, n, &c, &r), 0);
	assert_int_equal(r.kind, MIP6_SEC_TUN);
	assert_int_equal(r.len, sizeof(inner));
	assert_memory_equal(r.pkt, inner, sizeof(inner));
	/* no room in front: refused, nothing written */
	assert_int_equal(mip6_sec_protect_tun(p.mset, buf, sizeof(buf), 10, sizeof(inner),
					      p.coa.s6_addr, p.haa.s6_addr, &o, &n), -1);
	pair_free(&p);
}

static void test_move_keeps_keys(void **state)
{
	struct pair p;
	uint8_t buf[512];
	struct ipv6_chain c;
	struct mip6_sec_rx r;
	(void)state;

	pair_init(&p, "2001:db8:8::4");
	size_t len = build_bu(&p, buf, sizeof(buf));
	assert_int_equal(mip6_sec_protect_mh(p.mset, buf, sizeof(buf), &len), 0);
	uint64_t seq = p.mset->mh_out->seq;
	struct ip_addr coa2 = ip6("2001:db8:5a:1::4");
	assert_true(mip6_sec_move(p.mn, &p.hoa, &coa2));
	assert_true(mip6_sec_move(p.ha, &p.hoa, &coa2));
	assert_true(ip_addr_eq(&p.mset->mh_out->src, &coa2));
	assert_true(ip_addr_eq(&p.mset->tun_in->dst, &coa2));
	assert_true(ip_addr_eq(&p.hset->tun_out->dst, &coa2));
	assert_true(ip_addr_eq(&p.hset->mh_in->src, &coa2));
	assert_int_equal(p.mset->moves, 1);
	/* same keys and sequence numbers: the BU sent before the move still
	 * authenticates, and the next one continues the sequence */
	walk(buf, len, &c);
	assert_int_equal(mip6_sec_unprotect(p.ha, buf, len, &c, &r), 0);
	p.coa = coa2.v6;
	len = build_bu(&p, buf, sizeof(buf));
	assert_int_equal(mip6_sec_protect_mh(p.mset, buf, sizeof(buf), &len), 0);
	assert_int_equal(p.mset->mh_out->seq, seq + 1);
	walk(buf, len, &c);
	assert_int_equal(mip6_sec_unprotect(p.ha, buf, len, &c, &r), 0);
	struct in6_addr other = a6("2001:db8:8::5");
	assert_false(mip6_sec_move(p.ha, &other, &coa2));
	/* the HA end (DHAAD, or the HA's IPv4 address with an IPv4 CoA) */
	struct ip_addr ha4 = { .family = AF_INET };
	inet_pton(AF_INET, "10.8.0.1", &ha4.v4);
	assert_true(mip6_sec_home_agent(p.mn, &p.hoa, &ha4));
	assert_true(ip_addr_eq(&p.mset->mh_out->dst, &ha4));
	assert_true(ip_addr_eq(&p.mset->tun_in->src, &ha4));
	assert_true(ip_addr_eq(&p.mset->tun_out->src, &coa2));
	assert_false(mip6_sec_home_agent(p.mn, &other, &ha4));
	pair_free(&p);
}

static void test_install_errors(void **state)
{
	struct pair p;
	char err[160];
	struct ip_addr none = { 0 };
	(void)state;

	pair_init(&p, "2001:db8:8::4");
	struct in6_addr h5 = a6("2001:db8:8::5");
	struct mip6_sec_sas s = {
		.mh_in = par(0x1001, k1, none, none), .mh_out = par(0x3002, k2, none, none),
		.tun_in = par(0x3003, k3, none, none), .tun_out = par(0x3004, k4, none, none),
	};
	/* 0x1001 inbound belongs to 2001:db8:8::4 */
	assert_int_equal(mip6_sec_install(p.ha, &h5, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "another home address"));
	s.mh_in.spi = 0x3001;
	s.mh_in.enc_key_len = 19;
	assert_int_equal(mip6_sec_install(p.ha, &h5, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "inbound transport"));
	s.mh_in.enc_key_len = 20;
	s.tun_in.spi = 0x3001;
	assert_int_equal(mip6_sec_install(p.ha, &h5, &s, err, sizeof(err)), -1);
	s.tun_in.spi = 0x3003;
	assert_int_equal(mip6_sec_install(p.ha, &h5, &s, err, sizeof(err)), 0);
	assert_int_equal(mip6_sec_count(p.ha), 2);
	/* a rekey of the same home address replaces its SAs */
	s.mh_in.spi = 0x4001;
	assert_int_equal(mip6_sec_install(p.ha, &h5, &s, err, sizeof(err)), 0);
	assert_int_equal(mip6_sec_count(p.ha), 2);
	assert_int_equal(mip6_sec_find(p.ha, &h5)->mh_in->spi, 0x4001);
	/* only role instances (with a table) are what the IKE engine finds */
	assert_null(mip6_sec_instance(MIP6_SEC_HA));
	struct mip6_sec *role = mip6_sec_new(MIP6_SEC_HA, "mip6_sa_test");
	assert_ptr_equal(mip6_sec_instance(MIP6_SEC_HA), role);
	assert_null(mip6_sec_instance(MIP6_SEC_MN));
	mip6_sec_free(role);
	assert_null(mip6_sec_instance(MIP6_SEC_HA));
	json_t *d = mip6_sec_dump(p.ha);
	assert_int_equal(json_array_size(d), 2);
	json_decref(d);
	assert_true(mip6_sec_remove(p.ha, &h5));
	assert_false(mip6_sec_remove(p.ha, &h5));
	assert_null(mip6_sec_find(p.ha, &h5));
	/* the esp_sa export: four records, addresses wildcarded */
	char path[] = "/tmp/test_mip6_sec_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(mip6_sec_export(p.ha, path), 0);
	FILE *f = fopen(path, "r");
	char line[512];
	int n = 0;
	while (fgets(line, sizeof(line), f))
		if (line[0] != '#') {
			n++;
			assert_non_null(strstr(line, "\"IPv6\",\"*\",\"*\",\"0x0000"));
		}
	fclose(f);
	unlink(path);
	assert_int_equal(n, 4);
	pair_free(&p);
}

static int parse(const char *text, struct mip6_sec_keycfg *k, struct cfg_ctx *ctx)
{
	config_t cf;
	config_init(&cf);
	assert_int_equal(config_read_string(&cf, text), CONFIG_TRUE);
	cfg_ctx_init(ctx, "test.conf");
	bool ok = mip6_sec_keycfg_parse(ctx, config_lookup(&cf, "k"), k);
	config_destroy(&cf);
	return ok ? 0 : -1;
}

static void test_config(void **state)
{
	struct mip6_sec_keycfg k;
	struct cfg_ctx ctx;
	(void)state;

	assert_int_equal(parse("k = { xform = \"aes128gcm16\"; mh_spi_in = 0x1001; mh_spi_out = 0x1002;"
			       " tun_spi_in = 0x2001; tun_spi_out = 0x2002;"
			       " mh_key_in = \"0102030405060708090a0b0c0d0e0f10cafe0001\";"
			       " mh_key_out = \"0x1112131415161718191a1b1c1d1e1f20cafe0002\";"
			       " tun_key_in = \"2122232425262728292a2b2c2d2e2f30cafe0003\";"
			       " tun_key_out = \"3132333435363738393a3b3c3d3e3f40cafe0004\"; };",
			       &k, &ctx), 0);
	assert_int_equal(k.mh_spi_in, 0x1001);
	assert_int_equal(k.key_len, 20);
	assert_int_equal(k.mh_key_out[0], 0x11);
	assert_int_equal(k.mh_key_in[19], 0x01);
	struct mip6_sec_sas s;
	struct ip_addr l = ip6("2001:db8:8::1"), pe = { 0 };
	mip6_sec_keycfg_sas(&k, &l, &pe, &s);
	assert_int_equal(s.mh_out.spi, 0x1002);
	assert_true(ip_addr_eq(&s.mh_out.src, &l));
	assert_true(ip_addr_eq(&s.tun_in.dst, &l));
	cfg_ctx_clear(&ctx);

	/* short key, bad digit, unknown xform, reserved SPI, equal SPIs */
	assert_int_equal(parse("k = { mh_spi_in = 0x1001; mh_spi_out = 0x1002; tun_spi_in = 0x2001;"
			       " tun_spi_out = 0x2002; mh_key_in = \"0102\"; mh_key_out = \"zz12131415161718191a1b1c1d1e1f20cafe0002\";"
			       " tun_key_in = \"2122232425262728292a2b2c2d2e2f30cafe0003\";"
			       " tun_key_out = \"3132333435363738393a3b3c3d3e3f40cafe0004\"; };",
			       &k, &ctx), -1);
	assert_int_equal(ctx.n_errors, 2);
	assert_non_null(strstr(ctx.errors[0], "40 hexadecimal digits"));
	assert_non_null(strstr(ctx.errors[1], "not hexadecimal"));
	cfg_ctx_clear(&ctx);
	assert_int_equal(parse("k = { xform = \"des\"; };", &k, &ctx), -1);
	assert_non_null(strstr(ctx.errors[0], "'des' is not one of"));
	cfg_ctx_clear(&ctx);
	assert_int_equal(parse("k = { xform = \"aes256gcm16\"; mh_spi_in = 255; mh_spi_out = 0x1002;"
			       " tun_spi_in = 0x2001; tun_spi_out = 0x1002; };", &k, &ctx), -1);
	assert_non_null(strstr(ctx.errors[0], "out of range"));
	cfg_ctx_clear(&ctx);
}

/* IKE-keyed pairs: one CHILD SA at a time, make-before-break rekeys. */
static void tun_packet(struct mip6_sec_set *set, const struct pair *p, uint8_t *buf, size_t cap,
		       size_t *o, size_t *n, uint8_t tag)
{
	struct wire_error err;
	struct in6_addr cn = a6("2001:db8:7::c");
	struct ipv6_hdr h = { .payload_length = 8, .next_header = PROTO_NONE, .hop_limit = 64,
			      .src = p->hoa.s6_addr, .dst = cn.s6_addr };
	assert_int_equal(ipv6_build(buf + 64, 48, &h, &err), 40);
	memset(buf + 104, tag, 8);
	assert_int_equal(mip6_sec_protect_tun(set, buf, cap, 64, 48, p->coa.s6_addr,
					      p->haa.s6_addr, o, n), 0);
}

static int rx(struct mip6_sec *s, uint8_t *buf, size_t len, struct mip6_sec_rx *r)
{
	struct ipv6_chain c;
	walk(buf, len, &c);
	return mip6_sec_unprotect(s, buf, len, &c, r);
}

/* A mobile node and its home agent, no SA yet (IKE installs pairs). */
static void ike_pair_new(struct pair *p, const struct ip_addr *coa, const struct ip_addr *ha)
{
	p->hoa = a6("2001:db8:8::4");
	p->haa = ha->v6;
	p->coa = coa->v6;
	p->mn = mip6_sec_new(MIP6_SEC_MN, NULL);
	p->ha = mip6_sec_new(MIP6_SEC_HA, NULL);
}

static void test_pairs_rekey(void **state)
{
	struct pair p;
	struct ip_addr coa = ip6("2001:db8:5b:1::4"), ha = ip6("2001:db8:8::1");
	struct sa_params mi = par(0x1002, k2, ha, coa), mo = par(0x1001, k1, coa, ha);
	struct sa_params hi = par(0x1001, k1, coa, ha), ho = par(0x1002, k2, ha, coa);
	uint8_t a[256], b[256], c2[256], bu[512];
	size_t ao, an, bo, bn, co, cn2, len;
	struct mip6_sec_rx r;
	char err[160];
	(void)state;

	ike_pair_new(&p, &coa, &ha);
	/* The transport CHILD SA first (IKE_AUTH): BU possible, tunnel not. */
	assert_int_equal(mip6_sec_install_pair(p.mn, &p.hoa, MIP6_SEC_MH, &mi, &mo, err, sizeof(err)), 0);
	assert_int_equal(mip6_sec_install_pair(p.ha, &p.hoa, MIP6_SEC_MH, &hi, &ho, err, sizeof(err)), 0);
	p.mset = mip6_sec_find(p.mn, &p.hoa);
	p.hset = mip6_sec_find(p.ha, &p.hoa);
	assert_non_null(p.mset);
	assert_null(p.mset->tun_out);
	len = build_bu(&p, bu, sizeof(bu));
	assert_int_equal(mip6_sec_protect_mh(p.mset, bu, sizeof(bu), &len), 0);
	assert_int_equal(rx(p.ha, bu, len, &r), 0);
	assert_int_equal(r.kind, MIP6_SEC_MH);
	size_t o, n;
	assert_int_equal(mip6_sec_protect_tun(p.mset, a, sizeof(a), 64, 48, p.coa.s6_addr,
					      p.haa.s6_addr, &o, &n), -1);
	/* The tunnel CHILD SA. */
	mi = par(0x2002, k4, ha, coa); mo = par(0x2001, k3, coa, ha);
	hi = par(0x2001, k3, coa, ha); ho = par(0x2002, k4, ha, coa);
	assert_int_equal(mip6_sec_install_pair(p.mn, &p.hoa, MIP6_SEC_TUN, &mi, &mo, err, sizeof(err)), 0);
	assert_int_equal(mip6_sec_install_pair(p.ha, &p.hoa, MIP6_SEC_TUN, &hi, &ho, err, sizeof(err)), 0);
	/* A packet in flight in the old tunnel SA while both ends rekey. */
	tun_packet(p.mset, &p, a, sizeof(a), &ao, &an, 0xaa);
	assert_int_equal(esp_spi(a + ao + 40, an - 40), 0x2001);
	tun_packet(p.mset, &p, c2, sizeof(c2), &co, &cn2, 0xdd);
	mi = par(0x3002, k2, ha, coa); mo = par(0x3001, k1, coa, ha);
	hi = par(0x3001, k1, coa, ha); ho = par(0x3002, k2, ha, coa);
	assert_int_equal(mip6_sec_install_pair(p.ha, &p.hoa, MIP6_SEC_TUN, &hi, &ho, err, sizeof(err)), 0);
	assert_int_equal(mip6_sec_install_pair(p.mn, &p.hoa, MIP6_SEC_TUN, &mi, &mo, err, sizeof(err)), 0);
	/* Outbound switches at once; the old inbound SA still accepts. */
	tun_packet(p.mset, &p, b, sizeof(b), &bo, &bn, 0xbb);
	assert_int_equal(esp_spi(b + bo + 40, bn - 40), 0x3001);
	assert_int_equal(rx(p.ha, b + bo, bn, &r), 0);
	assert_int_equal(r.kind, MIP6_SEC_TUN);
	assert_int_equal(r.pkt[40], 0xbb);
	assert_int_equal(rx(p.ha, a + ao, an, &r), 0);
	assert_int_equal(r.pkt[40], 0xaa);
	/* The same SPI twice is refused. */
	assert_int_equal(mip6_sec_install_pair(p.ha, &p.hoa, MIP6_SEC_TUN, &hi, &ho, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "already installed"));
	/* child_down of the old CHILD SA: its inbound SA goes. */
	tun_packet(p.mset, &p, a, sizeof(a), &ao, &an, 0xcc);	/* new SA, seq 2 */
	assert_true(mip6_sec_remove_pair(p.ha, &p.hoa, 0x2001));
	assert_false(mip6_sec_remove_pair(p.ha, &p.hoa, 0x2001));
	assert_int_equal(rx(p.ha, a + ao, an, &r), 0);
	assert_int_equal(rx(p.ha, c2 + co, cn2, &r), -1);	/* the old SA is gone */
	json_t *d = mip6_sec_dump(p.ha);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(d, 0), "old_inbound")), 0);
	json_decref(d);
	/* Every pair gone: the set goes. */
	assert_true(mip6_sec_remove_pair(p.ha, &p.hoa, 0x3001));
	assert_int_equal(mip6_sec_count(p.ha), 1);
	assert_true(mip6_sec_remove_pair(p.ha, &p.hoa, 0x1001));
	assert_int_equal(mip6_sec_count(p.ha), 0);
	assert_null(mip6_sec_find(p.ha, &p.hoa));
	pair_free(&p);
}

static unsigned expiry_calls;
static void count_expiry(void *arg)
{
	(void)arg;
	expiry_calls++;
}

/* Byte lifetimes: the packet that crosses the soft limit tells the owner
 * once, outbound and inbound; the pair reads SOFT, then HARD, and a hard
 * SA carries no more packets. */
static void test_pair_byte_lifetime(void **state)
{
	struct pair p;
	struct ip_addr coa = ip6("2001:db8:5b:1::4"), ha = ip6("2001:db8:8::1");
	struct sa_params mi = par(0x2002, k4, ha, coa), mo = par(0x2001, k3, coa, ha);
	struct sa_params hi = par(0x2001, k3, coa, ha), ho = par(0x2002, k4, ha, coa);
	uint8_t a[256];
	size_t o, n;
	struct mip6_sec_rx r;
	char err[160];
	(void)state;

	ike_pair_new(&p, &coa, &ha);
	mo.soft.bytes = 100;	/* two 48-byte packets stay under, the third crosses */
	mo.hard.bytes = 200;
	hi.soft.bytes = 100;
	assert_int_equal(mip6_sec_install_pair(p.mn, &p.hoa, MIP6_SEC_TUN, &mi, &mo, err, sizeof(err)), 0);
	assert_int_equal(mip6_sec_install_pair(p.ha, &p.hoa, MIP6_SEC_TUN, &hi, &ho, err, sizeof(err)), 0);
	p.mset = mip6_sec_find(p.mn, &p.hoa);
	p.hset = mip6_sec_find(p.ha, &p.hoa);
	mip6_sec_set_expiry_handler(p.mn, count_expiry, NULL);
	mip6_sec_set_expiry_handler(p.ha, count_expiry, NULL);
	expiry_calls = 0;
	for (int i = 0; i < 2; i++) {
		tun_packet(p.mset, &p, a, sizeof(a), &o, &n, (uint8_t)i);
		assert_int_equal(rx(p.ha, a + o, n, &r), 0);
	}
	assert_int_equal(expiry_calls, 0);
	assert_int_equal(mip6_sec_pair_expiry(p.mn, 0x2002, 0x2001, 0), SA_LIVE);
	tun_packet(p.mset, &p, a, sizeof(a), &o, &n, 3);
	assert_int_equal(expiry_calls, 1);		/* MN outbound: soft */
	assert_int_equal(rx(p.ha, a + o, n, &r), 0);
	assert_int_equal(expiry_calls, 2);		/* HA inbound: soft */
	assert_int_equal(mip6_sec_pair_expiry(p.mn, 0x2002, 0x2001, 0), SA_SOFT);
	assert_int_equal(mip6_sec_pair_expiry(p.ha, 0x2001, 0x2002, 0), SA_SOFT);
	tun_packet(p.mset, &p, a, sizeof(a), &o, &n, 4);
	assert_int_equal(expiry_calls, 2);		/* told once per limit */
	tun_packet(p.mset, &p, a, sizeof(a), &o, &n, 5);
	assert_int_equal(expiry_calls, 3);		/* MN outbound: hard */
	assert_int_equal(mip6_sec_pair_expiry(p.mn, 0x2002, 0x2001, 0), SA_HARD);
	o = n = 0;
	uint8_t b[256];
	struct wire_error werr;
	struct in6_addr cn = a6("2001:db8:7::c");
	struct ipv6_hdr h = { .payload_length = 8, .next_header = PROTO_NONE, .hop_limit = 64,
			      .src = p.hoa.s6_addr, .dst = cn.s6_addr };
	assert_int_equal(ipv6_build(b + 64, 48, &h, &werr), 40);
	assert_int_equal(mip6_sec_protect_tun(p.mset, b, sizeof(b), 64, 48, p.coa.s6_addr,
					      p.haa.s6_addr, &o, &n), -1);
	assert_int_equal(mip6_sec_pair_expiry(p.mn, 0x9999, 0x9998, 0), SA_LIVE);	/* unknown */
	pair_free(&p);
}

static int ike_parse(const char *text, enum mip6_sec_side side, struct mip6_ike_config **out,
		     struct cfg_ctx *ctx)
{
	config_t cf;
	config_init(&cf);
	assert_int_equal(config_read_string(&cf, text), CONFIG_TRUE);
	cfg_ctx_init(ctx, "test.conf");
	bool ok = mip6_ike_config_parse(ctx, config_lookup(&cf, "ipsec"), side, out);
	config_destroy(&cf);
	return ok ? 0 : -1;
}

#define PSK_PEER "peers = ( { name = \"p\"; auth = \"psk\"; psk = \"secret\"; remote_id = \"ipv6:2001:db8:8::4\"; " 

static void test_ike_config(void **state)
{
	struct mip6_ike_config *c = NULL;
	struct cfg_ctx ctx;
	(void)state;

	assert_int_equal(ike_parse("ipsec = { ike = { " PSK_PEER "remote = \"dhaad\"; } ); }; };",
				   MIP6_SEC_MN, &c, &ctx), 0);
	assert_non_null(c);
	assert_true(c->ike.peers[0].remote_any);
	assert_true(c->auto_children[0]);
	mip6_ike_config_free(c);
	cfg_ctx_clear(&ctx);
	assert_int_equal(ike_parse("ipsec = { ike = { " PSK_PEER "} ); }; pad = ( "
				   "{ id = \"ipv6:2001:db8:8::4\"; home_addresses = [ \"2001:db8:8::4\" ]; },"
				   "{ id = \"fqdn:*.mn.example\"; home_addresses = [ \"2001:db8:8::/64\" ]; } ); };",
				   MIP6_SEC_HA, &c, &ctx), 0);
	assert_int_equal(c->n_pad, 2);
	assert_true(c->pad[0].claim_self);
	assert_false(c->pad[1].claim_self);
	assert_int_equal(c->pad[1].match, PAD_MATCH_SUFFIX);
	mip6_ike_config_free(c);
	cfg_ctx_clear(&ctx);
	/* no ike: nothing */
	assert_int_equal(ike_parse("ipsec = { };", MIP6_SEC_HA, &c, &ctx), 0);
	assert_null(c);
	cfg_ctx_clear(&ctx);
	/* errors */
	assert_int_equal(ike_parse("ipsec = { ike = { " PSK_PEER "} ); }; };", MIP6_SEC_HA, &c, &ctx), -1);
	assert_non_null(strstr(ctx.errors[0], "needs a 'pad'"));
	cfg_ctx_clear(&ctx);
	assert_int_equal(ike_parse("ipsec = { ike = { " PSK_PEER "} ); }; pad = ( { id = \"mn4\"; } ); };",
				   MIP6_SEC_HA, &c, &ctx), -1);
	assert_non_null(strstr(ctx.errors[0], "must start with ipv6:"));
	cfg_ctx_clear(&ctx);
	assert_int_equal(ike_parse("ipsec = { ike = { " PSK_PEER "} ); }; pad = ( { id = \"fqdn:x\"; } ); };",
				   MIP6_SEC_HA, &c, &ctx), -1);
	assert_non_null(strstr(ctx.errors[0], "may claim nothing"));
	cfg_ctx_clear(&ctx);
	assert_int_equal(ike_parse("ipsec = { pad = ( ); };", MIP6_SEC_HA, &c, &ctx), -1);
	assert_non_null(strstr(ctx.errors[0], "needs an 'ike' block"));
	cfg_ctx_clear(&ctx);
	assert_int_equal(ike_parse("ipsec = { ike = { " PSK_PEER "}, { name = \"q\"; auth = \"psk\"; psk = \"x\"; remote_id = \"fqdn:q\"; } ); }; };",
				   MIP6_SEC_MN, &c, &ctx), -1);
	assert_non_null(strstr(ctx.errors[0], "one IKE peer"));
	cfg_ctx_clear(&ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bu_round_trip),
		cmocka_unit_test(test_replay_and_tamper),
		cmocka_unit_test(test_selectors),
		cmocka_unit_test(test_tunnel_in_place),
		cmocka_unit_test(test_move_keeps_keys),
		cmocka_unit_test(test_install_errors),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_pairs_rekey),
		cmocka_unit_test(test_pair_byte_lifetime),
		cmocka_unit_test(test_ike_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
