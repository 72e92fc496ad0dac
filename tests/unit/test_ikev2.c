/* IKEv2 codec (RFC 7296 §3): IKE_SA_INIT and IKE_AUTH-shaped messages built
 * and parsed back field by field, every payload type, and the
 * malformations with their exact messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "wire/ikev2.h"

static const uint8_t SPI_I[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
static const uint8_t SPI_R[8] = { 0 };

static void xf(struct ikev2_transform *t, uint8_t type, uint16_t id, int keylen)
{
	memset(t, 0, sizeof(*t));
	t->type = type;
	t->id = id;
	t->key_length = keylen;
}

/* Two IKE proposals: AES-CBC-256/SHA2-256/P-256 and AES-GCM-16-128/P-256. */
static void ike_sa(struct ikev2_sa *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->n = 2;
	sa->prop[0] = (struct ikev2_proposal){ .num = 1, .protocol = IKEV2_PROTO_IKE, .n_xf = 4 };
	xf(&sa->prop[0].xf[0], IKEV2_XF_ENCR, 12, 256);
	xf(&sa->prop[0].xf[1], IKEV2_XF_PRF, 5, -1);
	xf(&sa->prop[0].xf[2], IKEV2_XF_INTEG, 12, -1);
	xf(&sa->prop[0].xf[3], IKEV2_XF_DH, 19, -1);
	sa->prop[1] = (struct ikev2_proposal){ .num = 2, .protocol = IKEV2_PROTO_IKE, .n_xf = 3 };
	xf(&sa->prop[1].xf[0], IKEV2_XF_ENCR, 20, 128);
	xf(&sa->prop[1].xf[1], IKEV2_XF_PRF, 5, -1);
	xf(&sa->prop[1].xf[2], IKEV2_XF_DH, 19, -1);
}

static const struct ikev2_hdr init_hdr = {
	.spi_i = { 1, 2, 3, 4, 5, 6, 7, 8 }, .major = 2, .minor = 0,
	.exchange = IKEV2_IKE_SA_INIT, .flags = IKEV2_FLAG_I, .message_id = 0,
};

/* IKE_SA_INIT request: SA, KE, Ni, N(NAT_DETECTION_SOURCE_IP), V. */
static int build_init(uint8_t *buf, size_t size)
{
	struct ikev2_builder b;
	struct ikev2_sa sa;
	uint8_t ke[64], nonce[32], nat[20], vid[16];

	memset(ke, 0xaa, sizeof(ke));
	memset(nonce, 0x11, sizeof(nonce));
	memset(nat, 0x22, sizeof(nat));
	memset(vid, 0x33, sizeof(vid));
	ike_sa(&sa);
	ikev2_build_begin(&b, buf, size, &init_hdr, NULL);
	ikev2_add_sa(&b, &sa);
	ikev2_add_ke(&b, 19, ke, sizeof(ke));
	ikev2_add_nonce(&b, nonce, sizeof(nonce));
	ikev2_add_notify(&b, 0, NULL, 0, IKEV2_N_NAT_DETECTION_SOURCE_IP, nat, sizeof(nat));
	ikev2_add_vendor(&b, vid, sizeof(vid));
	return ikev2_build_end(&b);
}

/* sizes: SA 4 + (8+12+8+8+8) + (8+12+8+8) = 4+44+36 = 84; KE 4+4+64 = 72;
 * Nonce 36; N 4+4+20 = 28; V 20. */
#define INIT_LEN (28 + 84 + 72 + 36 + 28 + 20)

static void test_init_roundtrip(void **state)
{
	uint8_t buf[512];
	struct ikev2_msg m;
	struct ikev2_sa sa;
	struct ikev2_ke ke;
	struct ikev2_notify n;
	struct ikev2_typed v;
	const uint8_t *nonce;
	size_t nlen;
	struct wire_error err = { 0 };
	int len = build_init(buf, sizeof(buf));

	assert_int_equal(len, INIT_LEN);
	/* header octets as RFC 7296 §3.1 lays them out */
	assert_memory_equal(buf, SPI_I, 8);
	assert_memory_equal(buf + 8, SPI_R, 8);
	assert_int_equal(buf[16], IKEV2_PL_SA);
	assert_int_equal(buf[17], 0x20);
	assert_int_equal(buf[18], 34);
	assert_int_equal(buf[19], 0x08);
	assert_int_equal(get_be32(buf + 24), INIT_LEN);
	/* SA's generic header names KE next, length 84 */
	assert_int_equal(buf[28], IKEV2_PL_KE);
	assert_int_equal(get_be16(buf + 30), 84);
	/* first proposal: more follow (2), length 44, #1, IKE, SPI size 0, 4 xf */
	assert_memory_equal(buf + 32, "\x02\x00\x00\x2c\x01\x01\x00\x04", 8);
	/* first transform: ENCR 12 with Key Length 256 in TV format */
	assert_memory_equal(buf + 40, "\x03\x00\x00\x0c\x01\x00\x00\x0c\x80\x0e\x01\x00", 12);

	assert_int_equal(ikev2_parse(buf, (size_t)len, &m, &err), WIRE_OK);
	assert_int_equal(m.hdr.exchange, IKEV2_IKE_SA_INIT);
	assert_int_equal(m.hdr.flags, IKEV2_FLAG_I);
	assert_int_equal(m.hdr.major, 2);
	assert_int_equal(m.chain.n, 5);
	assert_int_equal(m.chain.n_unknown, 0);
	assert_null(m.chain.sk);
	assert_int_equal(m.chain.pl[0].type, IKEV2_PL_SA);
	assert_int_equal(m.chain.pl[4].type, IKEV2_PL_VENDOR);

	assert_int_equal(ikev2_sa_parse(ikev2_find(&m.chain, IKEV2_PL_SA), &sa, &err), WIRE_OK);
	assert_int_equal(sa.n, 2);
	assert_int_equal(sa.prop[0].num, 1);
	assert_int_equal(sa.prop[0].n_xf, 4);
	assert_int_equal(sa.prop[0].xf[0].type, IKEV2_XF_ENCR);
	assert_int_equal(sa.prop[0].xf[0].id, 12);
	assert_int_equal(sa.prop[0].xf[0].key_length, 256);
	assert_int_equal(sa.prop[0].xf[1].key_length, -1);
	assert_int_equal(sa.prop[0].xf[3].type, IKEV2_XF_DH);
	assert_int_equal(sa.prop[0].xf[3].id, 19);
	assert_int_equal(sa.prop[1].num, 2);
	assert_int_equal(sa.prop[1].xf[0].id, 20);
	assert_int_equal(sa.prop[1].xf[0].key_length, 128);

	assert_int_equal(ikev2_ke_parse(ikev2_find(&m.chain, IKEV2_PL_KE), &ke, &err), WIRE_OK);
	assert_int_equal(ke.group, 19);
	assert_int_equal(ke.len, 64);
	assert_int_equal(ke.data[63], 0xaa);
	assert_int_equal(ikev2_nonce_parse(ikev2_find(&m.chain, IKEV2_PL_NONCE), &nonce, &nlen,
					   &err), WIRE_OK);
	assert_int_equal(nlen, 32);
	assert_int_equal(ikev2_notify_parse(ikev2_find(&m.chain, IKEV2_PL_NOTIFY), &n, &err),
			 WIRE_OK);
	assert_int_equal(n.type, IKEV2_N_NAT_DETECTION_SOURCE_IP);
	assert_int_equal(n.spi_size, 0);
	assert_int_equal(n.len, 20);
	assert_int_equal(ikev2_typed_parse(ikev2_find(&m.chain, IKEV2_PL_VENDOR), &v, &err),
			 WIRE_OK);
	assert_int_equal(v.len, 16);

	/* the parsed SA builds back to the same octets */
	{
		uint8_t again[512];
		struct ikev2_builder b;

		ikev2_build_begin(&b, again, sizeof(again), NULL, NULL);
		ikev2_add_sa(&b, &sa);
		assert_int_equal(ikev2_build_end(&b), 84);
		assert_memory_equal(again + 4, buf + 32, 80);
	}
}

/* IKE_AUTH request: SK { IDi, CERT, CERTREQ, AUTH(14), CP, SA(ESP), TSi, TSr, N } */
static int build_auth_inner(uint8_t *buf, size_t size)
{
	static const uint8_t fqdn[] = "mn.example.org";
	static const uint8_t alg[] = { 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
				       0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00 };
	uint8_t auth[1 + sizeof(alg) + 64], hashes[40], cert[50], home[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	uint8_t all0[16] = { 0 }, all1[16];
	struct ikev2_builder b;
	struct ikev2_sa sa = { .n = 1 };
	struct ikev2_ts ts[2];
	struct ikev2_cp cp = { .cfg_type = IKEV2_CFG_REQUEST, .n = 1,
			       .attr = { { .type = 8 /* INTERNAL_IP6_ADDRESS */ } } };
	static const uint8_t spi[4] = { 0xc0, 0, 0, 1 };

	memset(all1, 0xff, sizeof(all1));
	memset(hashes, 0x44, sizeof(hashes));
	memset(cert, 0x30, sizeof(cert));
	auth[0] = sizeof(alg);
	memcpy(auth + 1, alg, sizeof(alg));
	memset(auth + 1 + sizeof(alg), 0x55, 64);
	sa.prop[0] = (struct ikev2_proposal){ .num = 1, .protocol = IKEV2_PROTO_ESP,
					      .spi_size = 4, .spi = spi, .n_xf = 2 };
	xf(&sa.prop[0].xf[0], IKEV2_XF_ENCR, 20, 128);
	xf(&sa.prop[0].xf[1], IKEV2_XF_ESN, 0, -1);
	home[15] = 0x10;
	/* RFC 4877: MH type 5 (Binding Update) in the high octet of the ports */
	ts[0] = (struct ikev2_ts){ .type = IKEV2_TS_IPV6_ADDR_RANGE,
				   .ip_protocol = IKEV2_IPPROTO_MH,
				   .start_port = ikev2_ts_mh_port(5),
				   .end_port = ikev2_ts_mh_port(5), .start = home, .end = home };
	ts[1] = (struct ikev2_ts){ .type = IKEV2_TS_IPV6_ADDR_RANGE, .start_port = 0,
				   .end_port = 0xffff, .start = all0, .end = all1 };
	ikev2_build_begin(&b, buf, size, NULL, NULL);
	ikev2_add_typed(&b, IKEV2_PL_IDI, IKEV2_ID_FQDN, fqdn, sizeof(fqdn) - 1);
	ikev2_add_typed(&b, IKEV2_PL_CERT, IKEV2_CERT_X509_SIG, cert, sizeof(cert));
	ikev2_add_typed(&b, IKEV2_PL_CERTREQ, IKEV2_CERT_X509_SIG, hashes, sizeof(hashes));
	ikev2_add_typed(&b, IKEV2_PL_AUTH, IKEV2_AUTH_DIGITAL_SIG, auth, sizeof(auth));
	ikev2_add_cp(&b, &cp);
	ikev2_add_sa(&b, &sa);
	ikev2_add_ts(&b, IKEV2_PL_TSI, ts, 2);
	ikev2_add_ts(&b, IKEV2_PL_TSR, ts + 1, 1);
	ikev2_add_notify(&b, 0, NULL, 0, IKEV2_N_USE_TRANSPORT_MODE, NULL, 0);
	return ikev2_build_end(&b);
}

static void test_auth_sk(void **state)
{
	uint8_t inner[1024], buf[1200], iv[16];
	struct ikev2_builder b;
	struct ikev2_hdr h = init_hdr;
	struct ikev2_msg m;
	struct ikev2_chain c;
	struct ikev2_sk sk;
	struct ikev2_typed t;
	struct ikev2_digsig d;
	struct ikev2_ts_list ts;
	struct ikev2_sa sa;
	struct ikev2_cp cp;
	struct wire_error err = { 0 };
	int ilen = build_auth_inner(inner, sizeof(inner)), len;
	uint8_t *body;

	assert_true(ilen > 0);
	memset(iv, 0x99, sizeof(iv));
	h.exchange = IKEV2_IKE_AUTH;
	h.message_id = 1;
	ikev2_build_begin(&b, buf, sizeof(buf), &h, NULL);
	/* the builder reserves room; here the "ciphertext" is the plaintext
	 * so that the inner chain can be checked after the outer parse */
	body = ikev2_add_sk(&b, &(struct ikev2_sk){ .first = IKEV2_PL_IDI,
						    .len = sizeof(iv) + (size_t)ilen + 16 });
	assert_non_null(body);
	memcpy(body, iv, sizeof(iv));
	memcpy(body + sizeof(iv), inner, (size_t)ilen);
	memset(body + sizeof(iv) + ilen, 0x77, 16);
	len = ikev2_build_end(&b);
	assert_int_equal(len, 28 + 4 + 16 + ilen + 16);
	assert_int_equal(buf[16], IKEV2_PL_SK);
	assert_int_equal(buf[28], IKEV2_PL_IDI);

	assert_int_equal(ikev2_parse(buf, (size_t)len, &m, &err), WIRE_OK);
	assert_int_equal(m.chain.n, 1);
	assert_non_null(m.chain.sk);
	assert_int_equal(m.chain.sk_first, IKEV2_PL_IDI);
	assert_int_equal(ikev2_sk_parse(m.chain.sk, &sk, &err), WIRE_OK);
	assert_int_equal(sk.first, IKEV2_PL_IDI);
	assert_int_equal(sk.len, 16 + (size_t)ilen + 16);
	assert_int_equal(sk.frag_total, 0);

	assert_int_equal(ikev2_chain_parse(sk.first, sk.data + 16, (size_t)ilen, 0, &c, &err),
			 WIRE_OK);
	assert_int_equal(c.n, 9);
	assert_int_equal(ikev2_typed_parse(ikev2_find(&c, IKEV2_PL_IDI), &t, &err), WIRE_OK);
	assert_int_equal(t.type, IKEV2_ID_FQDN);
	assert_int_equal(t.len, 14);
	assert_memory_equal(t.data, "mn.example.org", 14);
	assert_int_equal(ikev2_typed_parse(ikev2_find(&c, IKEV2_PL_CERTREQ), &t, &err), WIRE_OK);
	assert_int_equal(t.type, IKEV2_CERT_X509_SIG);
	assert_int_equal(t.len, 40);
	assert_int_equal(ikev2_typed_parse(ikev2_find(&c, IKEV2_PL_AUTH), &t, &err), WIRE_OK);
	assert_int_equal(t.type, IKEV2_AUTH_DIGITAL_SIG);
	assert_int_equal(ikev2_digsig_parse(&t, 0, &d, &err), WIRE_OK);
	assert_int_equal(d.alg_len, 15);
	assert_int_equal(d.alg[0], 0x30);
	assert_int_equal(d.sig_len, 64);
	assert_int_equal(ikev2_cp_parse(ikev2_find(&c, IKEV2_PL_CP), &cp, &err), WIRE_OK);
	assert_int_equal(cp.cfg_type, IKEV2_CFG_REQUEST);
	assert_int_equal(cp.n, 1);
	assert_int_equal(cp.attr[0].type, 8);
	assert_int_equal(cp.attr[0].len, 0);
	assert_int_equal(ikev2_sa_parse(ikev2_find(&c, IKEV2_PL_SA), &sa, &err), WIRE_OK);
	assert_int_equal(sa.prop[0].protocol, IKEV2_PROTO_ESP);
	assert_int_equal(sa.prop[0].spi_size, 4);
	assert_memory_equal(sa.prop[0].spi, "\xc0\x00\x00\x01", 4);
	assert_int_equal(sa.prop[0].xf[1].type, IKEV2_XF_ESN);
	assert_int_equal(ikev2_ts_parse(ikev2_find(&c, IKEV2_PL_TSI), &ts, &err), WIRE_OK);
	assert_int_equal(ts.n, 2);
	assert_int_equal(ts.ts[0].type, IKEV2_TS_IPV6_ADDR_RANGE);
	assert_int_equal(ts.ts[0].ip_protocol, 135);
	assert_int_equal(ts.ts[0].start_port, 0x0500);
	assert_int_equal(ts.ts[0].len, 40);
	assert_int_equal(ts.ts[0].start[15], 0x10);
	assert_int_equal(ts.ts[1].end_port, 0xffff);
	assert_int_equal(ts.ts[1].end[0], 0xff);
	assert_int_equal(ikev2_ts_parse(ikev2_find(&c, IKEV2_PL_TSR), &ts, &err), WIRE_OK);
	assert_int_equal(ts.n, 1);
	assert_int_equal(c.pl[8].type, IKEV2_PL_NOTIFY);
}

static void test_delete_skf_ipv4(void **state)
{
	uint8_t buf[256], spis[8] = { 0, 0, 0, 1, 0, 0, 0, 2 }, a[4] = { 192, 0, 2, 1 };
	struct ikev2_builder b;
	struct ikev2_hdr h = init_hdr;
	struct ikev2_msg m;
	struct ikev2_delete d;
	struct ikev2_sk sk;
	struct ikev2_ts_list tl;
	struct ikev2_typed t;
	struct ikev2_ts ts = { .type = IKEV2_TS_IPV4_ADDR_RANGE, .ip_protocol = 17,
			       .start_port = 500, .end_port = 500, .start = a, .end = a };
	struct wire_error err = { 0 };
	int len;

	ikev2_build_begin(&b, buf, sizeof(buf), NULL, NULL);
	ikev2_add_delete(&b, IKEV2_PROTO_ESP, 4, 2, spis);
	ikev2_add_delete(&b, IKEV2_PROTO_IKE, 0, 0, NULL);
	ikev2_add_typed(&b, IKEV2_PL_IDR, IKEV2_ID_IPV4_ADDR, a, 4);
	ikev2_add_ts(&b, IKEV2_PL_TSR, &ts, 1);
	len = ikev2_build_end(&b);
	assert_int_equal(len, 16 + 8 + 12 + 24);
	assert_int_equal(b.first, IKEV2_PL_DELETE);
	{
		struct ikev2_chain c;

		assert_int_equal(ikev2_chain_parse(b.first, buf, (size_t)len, 0, &c, &err), WIRE_OK);
		assert_int_equal(ikev2_delete_parse(&c.pl[0], &d, &err), WIRE_OK);
		assert_int_equal(d.n, 2);
		assert_int_equal(d.spis[7], 2);
		assert_int_equal(ikev2_delete_parse(&c.pl[1], &d, &err), WIRE_OK);
		assert_int_equal(d.protocol, IKEV2_PROTO_IKE);
		assert_int_equal(ikev2_typed_parse(&c.pl[2], &t, &err), WIRE_OK);
		assert_int_equal(t.type, IKEV2_ID_IPV4_ADDR);
		assert_int_equal(ikev2_ts_parse(&c.pl[3], &tl, &err), WIRE_OK);
		assert_int_equal(tl.ts[0].len, 16);
		assert_int_equal(tl.ts[0].start_port, 500);
		assert_int_equal(tl.ts[0].end[3], 1);
	}

	h.exchange = IKEV2_INFORMATIONAL;
	ikev2_build_begin(&b, buf, sizeof(buf), &h, NULL);
	assert_non_null(ikev2_add_sk(&b, &(struct ikev2_sk){ .first = IKEV2_PL_DELETE,
		.frag_num = 1, .frag_total = 2, .data = spis, .len = 8 }));
	len = ikev2_build_end(&b);
	assert_int_equal(len, 28 + 4 + 4 + 8);
	assert_int_equal(ikev2_parse(buf, (size_t)len, &m, &err), WIRE_OK);
	assert_int_equal(m.chain.sk->type, IKEV2_PL_SKF);
	assert_int_equal(ikev2_sk_parse(m.chain.sk, &sk, &err), WIRE_OK);
	assert_int_equal(sk.frag_num, 1);
	assert_int_equal(sk.frag_total, 2);
	assert_int_equal(sk.first, IKEV2_PL_DELETE);
	assert_int_equal(sk.len, 8);
	/* nothing may follow SK */
	ikev2_build_begin(&b, buf, sizeof(buf), &h, &err);
	ikev2_add_sk(&b, &(struct ikev2_sk){ .first = 0, .len = 8 });
	ikev2_add_vendor(&b, a, 4);
	assert_int_equal(ikev2_build_end(&b), -1);
	assert_string_equal(err.msg, "ikev2.build: payload type 43 after the SK payload");
	/* out of room */
	ikev2_build_begin(&b, buf, 40, &h, &err);
	ikev2_add_nonce(&b, buf, 32);
	assert_int_equal(ikev2_build_end(&b), -1);
	assert_int_equal(err.code, WIRE_ESPACE);
}

/* Every prefix of a message fails, whether the header length is left as is
 * or made to agree with the prefix (so the chain walk sees the cut). */
static void test_truncation(void **state)
{
	uint8_t buf[512], cut[512];
	struct ikev2_msg m;
	struct wire_error err;
	int len = build_init(buf, sizeof(buf));

	for (int l = 0; l < len; l++) {
		memcpy(cut, buf, (size_t)l);
		assert_int_not_equal(ikev2_parse(cut, (size_t)l, &m, &err), WIRE_OK);
		if (l >= IKEV2_HDR_LEN) {
			put_be32(cut + 24, (uint32_t)l);
			err.msg[0] = 0;
			assert_int_not_equal(ikev2_parse(cut, (size_t)l, &m, &err), WIRE_OK);
			assert_true(err.msg[0] != 0);
		}
	}
	assert_int_equal(ikev2_parse(buf, (size_t)len, &m, &err), WIRE_OK);
}

#define EXPECT(buf, len, code, text)                                            \
	do {                                                                    \
		struct ikev2_msg m_;                                            \
		struct wire_error e_ = { 0 };                                   \
		assert_int_equal(ikev2_parse(buf, len, &m_, &e_), code);        \
		assert_string_equal(e_.msg, text);                              \
	} while (0)

static void test_header_errors(void **state)
{
	uint8_t buf[512];
	struct ikev2_msg m;
	struct wire_error err;
	int len = build_init(buf, sizeof(buf));

	buf[17] = 0x30;
	assert_int_equal(ikev2_parse(buf, (size_t)len, &m, &err), WIRE_EVALUE);
	assert_string_equal(err.msg, "ikev2: major version 3 is above 2");
	assert_int_equal(m.chain.notify, IKEV2_N_INVALID_MAJOR_VERSION);
	buf[17] = 0x10;
	assert_int_equal(ikev2_parse(buf, (size_t)len, &m, &err), WIRE_EVALUE);
	assert_string_equal(err.msg, "ikev2: major version 1 is not IKEv2");
	assert_int_equal(m.chain.notify, 0);
	buf[17] = 0x21;	/* minor versions are ignored */
	assert_int_equal(ikev2_parse(buf, (size_t)len, &m, &err), WIRE_OK);
	assert_int_equal(m.hdr.minor, 1);
	buf[17] = 0x20;
	put_be32(buf + 24, (uint32_t)len + 1);
	EXPECT(buf, (size_t)len, WIRE_ETRUNC, "ikev2: length 269 exceeds the 268 octets received");
	put_be32(buf + 24, (uint32_t)len - 1);
	EXPECT(buf, (size_t)len, WIRE_ELEN, "ikev2: length 267 but 268 octets received");
	put_be32(buf + 24, 20);
	EXPECT(buf, (size_t)len, WIRE_ELEN, "ikev2: length 20 is below the header (28)");
	EXPECT(buf, 27, WIRE_ETRUNC, "ikev2: 27 octets, header needs 28");
}

static void test_chain_errors(void **state)
{
	uint8_t buf[512];
	struct ikev2_msg m;
	struct wire_error err;
	int len = build_init(buf, sizeof(buf));
	size_t v = (size_t)len - 20;	/* the Vendor ID payload */

	/* overrun and underrun of a generic payload length */
	put_be16(buf + v + 2, 21);
	EXPECT(buf, (size_t)len, WIRE_ELEN,
	       "ikev2: payload 5 (V 43) length 21 overruns the message (20 left)");
	put_be16(buf + v + 2, 3);
	EXPECT(buf, (size_t)len, WIRE_ELEN, "ikev2: payload 5 (V 43) length 3 is below 4");
	put_be16(buf + v + 2, 16);
	EXPECT(buf, (size_t)len, WIRE_ELEN, "ikev2: 4 octets after the last payload");
	put_be16(buf + v + 2, 20);

	/* unknown payload: skipped, or rejected when critical */
	buf[v - 28] = 60;	/* N's Next Payload */
	assert_int_equal(ikev2_parse(buf, (size_t)len, &m, &err), WIRE_OK);
	assert_int_equal(m.chain.n_unknown, 1);
	assert_false(m.chain.pl[4].known);
	assert_int_equal(m.chain.pl[4].type, 60);
	buf[v + 1] = 0x80;
	assert_int_equal(ikev2_parse(buf, (size_t)len, &m, &err), WIRE_ETYPE);
	assert_string_equal(err.msg, "ikev2: payload 5 type 60 is unknown and critical");
	assert_int_equal(m.chain.notify, IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD);
	assert_int_equal(m.chain.notify_type, 60);
	/* the Critical bit on a known payload changes nothing */
	buf[v - 28] = IKEV2_PL_VENDOR;
	assert_int_equal(ikev2_parse(buf, (size_t)len, &m, &err), WIRE_OK);
	assert_true(m.chain.pl[4].critical);

	/* SK must be last */
	buf[v - 28] = IKEV2_PL_SK;
	buf[v] = IKEV2_PL_VENDOR;
	put_be16(buf + v + 2, 8);
	EXPECT(buf, (size_t)len, WIRE_ELEN, "ikev2: 12 octets follow the SK payload, which must be last");
}

/* Builds an SA payload from raw proposal octets and parses it. */
static enum wire_err sa_raw(const uint8_t *body, size_t len, struct wire_error *err)
{
	uint8_t buf[256];
	struct ikev2_builder b;
	struct ikev2_msg m;
	int n;

	ikev2_build_begin(&b, buf, sizeof(buf), &init_hdr, NULL);
	ikev2_add_raw(&b, IKEV2_PL_SA, false, body, len);
	n = ikev2_build_end(&b);
	return ikev2_parse(buf, (size_t)n, &m, err);
}

#define SA_EXPECT(code, text, ...)                                               \
	do {                                                                     \
		const uint8_t b_[] = { __VA_ARGS__ };                            \
		struct wire_error e_ = { 0 };                                    \
		assert_int_equal(sa_raw(b_, sizeof(b_), &e_), code);             \
		assert_string_equal(e_.msg, text);                               \
	} while (0)

static void test_sa_errors(void **state)
{
	/* a good one-proposal, one-transform SA */
	SA_EXPECT(WIRE_OK, "", 0, 0, 0, 20, 1, 3, 4, 1, 0xc0, 0, 0, 1, 0, 0, 0, 8, 1, 0, 0, 12);
	SA_EXPECT(WIRE_EVALUE, "ikev2.sa: proposal 2 number 3 does not follow 1",
		  2, 0, 0, 16, 1, 1, 0, 1, 0, 0, 0, 8, 4, 0, 0, 19,
		  0, 0, 0, 16, 3, 1, 0, 1, 0, 0, 0, 8, 4, 0, 0, 19);
	SA_EXPECT(WIRE_EVALUE, "ikev2.sa: proposal 1 number 0 is invalid",
		  0, 0, 0, 16, 0, 1, 0, 1, 0, 0, 0, 8, 4, 0, 0, 19);
	SA_EXPECT(WIRE_ELEN, "ikev2.sa: proposal 1 transform 3 length 7 is below 8",
		  0, 0, 0, 32, 1, 1, 0, 3, 3, 0, 0, 8, 2, 0, 0, 5, 3, 0, 0, 8, 3, 0, 0, 12,
		  0, 0, 0, 7, 4, 0, 0, 19);
	SA_EXPECT(WIRE_ELEN, "ikev2.sa: proposal 1 transform 1 length 9 overruns the proposal (8 left)",
		  0, 0, 0, 16, 1, 1, 0, 1, 0, 0, 0, 9, 4, 0, 0, 19);
	SA_EXPECT(WIRE_EVALUE, "ikev2.sa: proposal 1 declares 2 transforms but holds 1",
		  0, 0, 0, 16, 1, 1, 0, 2, 0, 0, 0, 8, 4, 0, 0, 19);
	SA_EXPECT(WIRE_EVALUE, "ikev2.sa: proposal 1 transform 1 last-substruc 3 but it is the last",
		  0, 0, 0, 16, 1, 1, 0, 1, 3, 0, 0, 8, 4, 0, 0, 19);
	SA_EXPECT(WIRE_EVALUE, "ikev2.sa: proposal 1 last-substruc 2 but it is the last",
		  2, 0, 0, 16, 1, 1, 0, 1, 0, 0, 0, 8, 4, 0, 0, 19);
	SA_EXPECT(WIRE_ELEN, "ikev2.sa: proposal 1 length 7 is below 8", 0, 0, 0, 7, 1, 1, 0, 0);
	SA_EXPECT(WIRE_EVALUE, "ikev2.sa: proposal 1 protocol 3 SPI size 8 (want 4)",
		  0, 0, 0, 24, 1, 3, 8, 1, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 8, 1, 0, 0, 12);
	/* Key Length must use the TV format */
	SA_EXPECT(WIRE_EVALUE,
		  "ikev2.sa: proposal 1 transform 1 Key Length attribute is not in TV format",
		  0, 0, 0, 22, 1, 1, 0, 1, 0, 0, 0, 14, 1, 0, 0, 12, 0, 14, 0, 2, 1, 0);
	SA_EXPECT(WIRE_ELEN,
		  "ikev2.sa: proposal 1 transform 1 attribute length 9 overruns the transform",
		  0, 0, 0, 22, 1, 1, 0, 1, 0, 0, 0, 14, 1, 0, 0, 12, 0, 15, 0, 9, 1, 0);
	SA_EXPECT(WIRE_ETRUNC,
		  "ikev2.sa: proposal 1 transform 1 attribute needs 4 octets, 2 left",
		  0, 0, 0, 18, 1, 1, 0, 1, 0, 0, 0, 10, 1, 0, 0, 12, 0x80, 14);
	SA_EXPECT(WIRE_ELEN, "ikev2.sa: no proposals");
}

/* A message with one payload of `type` and the given body. */
static enum wire_err one(uint8_t type, const uint8_t *body, size_t len, struct wire_error *err)
{
	uint8_t buf[512];
	struct ikev2_builder b;
	struct ikev2_msg m;
	int n;

	ikev2_build_begin(&b, buf, sizeof(buf), &init_hdr, NULL);
	ikev2_add_raw(&b, type, false, body, len);
	n = ikev2_build_end(&b);
	return ikev2_parse(buf, (size_t)n, &m, err);
}

#define ONE(type, code, text, ...)                                              \
	do {                                                                    \
		const uint8_t b_[] = { __VA_ARGS__ };                           \
		struct wire_error e_ = { 0 };                                   \
		assert_int_equal(one(type, b_, sizeof(b_), &e_), code);         \
		assert_string_equal(e_.msg, text);                              \
	} while (0)

static void test_payload_errors(void **state)
{
	uint8_t big[300] = { 0 };
	struct wire_error err = { 0 };

	assert_int_equal(one(IKEV2_PL_NONCE, big, 15, &err), WIRE_ELEN);
	assert_string_equal(err.msg, "ikev2.nonce: 15 octets is outside 16..256");
	assert_int_equal(one(IKEV2_PL_NONCE, big, 257, &err), WIRE_ELEN);
	assert_string_equal(err.msg, "ikev2.nonce: 257 octets is outside 16..256");
	assert_int_equal(one(IKEV2_PL_NONCE, big, 16, &err), WIRE_OK);
	assert_int_equal(one(IKEV2_PL_NONCE, big, 256, &err), WIRE_OK);
	ONE(IKEV2_PL_KE, WIRE_ETRUNC, "ikev2.ke: body of 4 octets, needs at least 5", 0, 19, 0, 0);
	ONE(IKEV2_PL_IDI, WIRE_ELEN, "ikev2.idi: ID type 1 holds 5 octets, not 4",
	    1, 0, 0, 0, 192, 0, 2, 1, 0);
	ONE(IKEV2_PL_IDR, WIRE_ELEN, "ikev2.idr: ID type 5 holds 4 octets, not 16",
	    5, 0, 0, 0, 192, 0, 2, 1);
	ONE(IKEV2_PL_IDI, WIRE_EVALUE, "ikev2.idi: ID type 0 is reserved", 0, 0, 0, 0, 1);
	ONE(IKEV2_PL_IDI, WIRE_OK, "", IKEV2_ID_KEY_ID, 0, 0, 0, 1);
	ONE(IKEV2_PL_CERTREQ, WIRE_ELEN,
	    "ikev2.certreq: 3 octets of CA hashes is not a multiple of 20", 4, 1, 2, 3);
	ONE(IKEV2_PL_AUTH, WIRE_ELEN,
	    "ikev2.auth: AlgorithmIdentifier length 4 leaves no signature in 5 octets",
	    14, 0, 0, 0, 4, 0x30, 2, 5, 0);
	ONE(IKEV2_PL_AUTH, WIRE_OK, "", 2, 0, 0, 0, 1, 2, 3);
	ONE(IKEV2_PL_NOTIFY, WIRE_ELEN, "ikev2.n: SPI size 4 overruns the 6-octet body",
	    3, 4, 0x40, 0x01, 0, 0);
	ONE(IKEV2_PL_DELETE, WIRE_ELEN, "ikev2.d: 2 SPIs of 4 octets but 4 octets follow",
	    3, 4, 0, 2, 0, 0, 0, 1);
	ONE(IKEV2_PL_DELETE, WIRE_EVALUE, "ikev2.d: protocol 1 SPI size 8 (want 0)", 1, 8, 0, 0);
	ONE(IKEV2_PL_TSI, WIRE_ELEN, "ikev2.tsi: selector 1 of type 7 has length 12, not 16",
	    1, 0, 0, 0, 7, 0, 0, 12, 0, 0, 255, 255, 1, 2, 3, 4);
	ONE(IKEV2_PL_TSR, WIRE_ETRUNC, "ikev2.tsr: selector 2 needs 8 octets, 0 left",
	    2, 0, 0, 0, 7, 0, 0, 16, 0, 0, 255, 255, 1, 2, 3, 4, 1, 2, 3, 4);
	ONE(IKEV2_PL_TSR, WIRE_EVALUE, "ikev2.tsr: no traffic selectors", 0, 0, 0, 0);
	ONE(IKEV2_PL_SKF, WIRE_EVALUE, "ikev2.skf: fragment 3 of 2", 0, 3, 0, 2, 9, 9);
	ONE(IKEV2_PL_CP, WIRE_ELEN, "ikev2.cp: attribute 1 length 4 overruns the payload",
	    1, 0, 0, 0, 0, 1, 0, 4, 10, 0, 0);
	ONE(IKEV2_PL_CP, WIRE_EVALUE, "ikev2.cp: CFG type 9 unknown", 9, 0, 0, 0);
	ONE(IKEV2_PL_EAP, WIRE_ELEN, "ikev2.eap: EAP length 9 but the payload holds 5",
	    1, 1, 0, 9, 1);
}

/* The decrypted content of SK is walked by the same rules. */
static void test_inner_chain(void **state)
{
	uint8_t buf[128], nonce[16] = { 0 };
	struct ikev2_builder b;
	struct ikev2_chain c;
	struct ikev2_hdr h;
	struct wire_error err = { 0 };
	int len;

	ikev2_build_begin(&b, buf, sizeof(buf), NULL, NULL);
	ikev2_add_nonce(&b, nonce, sizeof(nonce));
	ikev2_add_raw(&b, 200, true, nonce, 4);
	len = ikev2_build_end(&b);
	assert_int_equal(ikev2_chain_parse(b.first, buf, (size_t)len, 100, &c, &err), WIRE_ETYPE);
	assert_string_equal(err.msg, "ikev2: payload 2 type 200 is unknown and critical");
	assert_int_equal(err.offset, 100 + 20);
	assert_int_equal(c.notify, IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD);
	assert_int_equal(c.notify_type, 200);
	/* an empty chain is fine; a payload named but absent is not */
	assert_int_equal(ikev2_chain_parse(IKEV2_PL_NONE, buf, 0, 0, &c, &err), WIRE_OK);
	assert_int_equal(c.n, 0);
	assert_int_equal(ikev2_chain_parse(IKEV2_PL_NONCE, buf, 0, 0, &c, &err), WIRE_ETRUNC);
	assert_string_equal(err.msg, "ikev2: payload 1 (Nonce 40) header needs 4 octets, 0 left");
	/* SKF: only fragment 1 names the first inner payload */
	ikev2_build_begin(&b, buf, sizeof(buf), &init_hdr, NULL);
	ikev2_add_sk(&b, &(struct ikev2_sk){ .first = IKEV2_PL_IDI, .frag_num = 2,
					     .frag_total = 2, .len = 8 });
	len = ikev2_build_end(&b);
	EXPECT(buf, (size_t)len, WIRE_EVALUE,
	       "ikev2.skf: fragment 2 names a first payload (35); only fragment 1 may");
	/* the header alone */
	assert_int_equal(ikev2_hdr_parse(buf, IKEV2_HDR_LEN, &h, &err), WIRE_OK);
	assert_int_equal(h.length, (uint32_t)len);
	assert_int_equal(h.next_payload, IKEV2_PL_SKF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_roundtrip),
		cmocka_unit_test(test_auth_sk),
		cmocka_unit_test(test_delete_skf_ipv4),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_header_errors),
		cmocka_unit_test(test_chain_errors),
		cmocka_unit_test(test_sa_errors),
		cmocka_unit_test(test_payload_errors),
		cmocka_unit_test(test_inner_chain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
