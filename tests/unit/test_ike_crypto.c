/* src/ikev2 crypto: PRF vectors (RFC 4231), prf+ structure, key schedule
 * lengths, SK seal/open round trips and refusals, Diffie-Hellman between
 * two of our own key pairs and refusal of bad peer values, AUTH octets,
 * PSK and signatures (the independent cross-checks are in
 * tests/conformance/test_ike_crypto_py.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "core/stats.h"
#include "ikev2/ike_crypto.h"
#include "wire/ikev2.h"

static size_t unhex(const char *s, uint8_t *out)
{
	size_t n = strlen(s) / 2;

	for (size_t i = 0; i < n; i++) {
		unsigned v;

		sscanf(s + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
	return n;
}

static uint64_t counter_value(const char *name)
{
	for (struct counter *c = counter_first(); c; c = c->next)
		if (!strcmp(c->name, name))
			return c->value;
	return UINT64_MAX;
}

/* RFC 4231 test cases 1 and 2, SHA-256/384/512. */
static void test_prf_rfc4231(void **state)
{
	static const struct {
		uint16_t prf;
		const char *key, *data, *mac;
	} v[] = {
		{ IKE_PRF_HMAC_SHA2_256, "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265",
		  "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
		{ IKE_PRF_HMAC_SHA2_384, "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265",
		  "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c"
		  "faea9ea9076ede7f4af152e8b2fa9cb6" },
		{ IKE_PRF_HMAC_SHA2_512, "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265",
		  "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
		  "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854" },
		{ IKE_PRF_HMAC_SHA2_256, "4a656665",
		  "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
		  "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
		{ IKE_PRF_HMAC_SHA2_512, "4a656665",
		  "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
		  "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
		  "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t key[64], data[64], want[64], out[64];
		size_t kl = unhex(v[i].key, key), dl = unhex(v[i].data, data);
		size_t ml = unhex(v[i].mac, want);

		assert_int_equal(ike_prf_len(v[i].prf), ml);
		assert_int_equal(ike_prf(v[i].prf, key, kl, data, dl, out), 0);
		assert_memory_equal(out, want, ml);
	}
	assert_int_equal(ike_prf(99, (const uint8_t *)"k", 1, NULL, 0, (uint8_t[64]){ 0 }), -1);
}

/* T1 = prf(K, S | 1), T2 = prf(K, T1 | S | 2): checked through ike_prf. */
static void test_prf_plus(void **state)
{
	uint8_t key[] = "key", seed[40], out[100], t[64], buf[64 + 40 + 1];

	(void)state;
	memset(seed, 0x5a, sizeof(seed));
	assert_int_equal(ike_prf_plus(IKE_PRF_HMAC_SHA2_256, key, 3, seed, sizeof(seed), out,
				      sizeof(out)), 0);
	memcpy(buf, seed, 40);
	buf[40] = 1;
	ike_prf(IKE_PRF_HMAC_SHA2_256, key, 3, buf, 41, t);
	assert_memory_equal(out, t, 32);
	memcpy(buf, t, 32);
	memcpy(buf + 32, seed, 40);
	buf[72] = 2;
	ike_prf(IKE_PRF_HMAC_SHA2_256, key, 3, buf, 73, t);
	assert_memory_equal(out + 32, t, 32);
	/* At most 255 blocks. */
	{
		static uint8_t big[255 * 32 + 1];

		assert_int_equal(ike_prf_plus(IKE_PRF_HMAC_SHA2_256, key, 3, seed, 40, big,
					      255 * 32), 0);
		assert_int_equal(ike_prf_plus(IKE_PRF_HMAC_SHA2_256, key, 3, seed, 40, big,
					      255 * 32 + 1), -1);
	}
}

static void test_tables(void **state)
{
	struct ike_suite gcm = { .encr = IKE_ENCR_AES_GCM_16, .encr_keylen = 256 };
	struct ike_suite cha = { .encr = IKE_ENCR_CHACHA20_POLY1305 };
	struct ike_suite cbc = { .encr = IKE_ENCR_AES_CBC, .encr_keylen = 128,
				 .integ = IKE_INTEG_HMAC_SHA2_384_192 };
	struct ike_suite bad = { .encr = IKE_ENCR_AES_CBC, .encr_keylen = 192 };

	(void)state;
	assert_int_equal(ike_encr_keymat_len(&gcm), 36);
	assert_int_equal(ike_encr_keymat_len(&cha), 36);
	assert_int_equal(ike_encr_keymat_len(&cbc), 16);
	assert_int_equal(ike_encr_keymat_len(&bad), 0);
	assert_int_equal(ike_integ_key_len(IKE_INTEG_HMAC_SHA2_384_192), 48);
	assert_int_equal(ike_integ_icv_len(IKE_INTEG_HMAC_SHA2_384_192), 24);
	assert_int_equal(ike_integ_icv_len(IKE_INTEG_NONE), 0);
	assert_true(ike_encr_is_aead(IKE_ENCR_CHACHA20_POLY1305));
	assert_false(ike_encr_is_aead(IKE_ENCR_AES_CBC));
	assert_true(ike_dh_supported(19) && ike_dh_supported(31) && ike_dh_supported(14));
	assert_false(ike_dh_supported(2));
	assert_string_equal(ike_transform_name(IKEV2_XF_ENCR, 20, 128), "aes128gcm16");
	assert_string_equal(ike_transform_name(IKEV2_XF_PRF, 5, 0), "prfsha256");
	assert_string_equal(ike_transform_name(IKEV2_XF_DH, 19, 0), "ecp256");
	assert_string_equal(ike_transform_name(IKEV2_XF_DH, 31, 0), "curve25519");
	assert_string_equal(ike_transform_name(IKEV2_XF_DH, 14, 0), "modp2048");
	assert_string_equal(ike_transform_name(IKEV2_XF_INTEG, 12, 0), "sha256");
	assert_null(ike_transform_name(IKEV2_XF_ENCR, 3, 0));
	/* IV 8 + plaintext + pad length + ICV 16 */
	assert_int_equal(ike_sk_len(&gcm, 10), 8 + 11 + 16);
	/* IV 16 + blocks of (plen + 1) + ICV 24 */
	assert_int_equal(ike_sk_len(&cbc, 15), 16 + 16 + 24);
	assert_int_equal(ike_sk_len(&cbc, 16), 16 + 32 + 24);
	assert_int_equal(ike_sk_len(&bad, 16), 0);
}

static void test_keys(void **state)
{
	struct ike_suite s = { .encr = IKE_ENCR_AES_CBC, .encr_keylen = 256,
			       .prf = IKE_PRF_HMAC_SHA2_384,
			       .integ = IKE_INTEG_HMAC_SHA2_256_128 };
	uint8_t ni[32] = { 1 }, nr[32] = { 2 }, gir[32] = { 3 }, spii[8] = { 4 }, spir[8] = { 5 };
	uint8_t km[200], seed[64 + 64];
	struct ike_keys k, k2;
	char rec[1024];

	(void)state;
	assert_int_equal(ike_keys_derive(&s, ni, 32, nr, 32, gir, 32, spii, spir, &k), 0);
	assert_int_equal(k.prf_len, 48);
	assert_int_equal(k.integ_len, 32);
	assert_int_equal(k.encr_len, 32);
	assert_memory_not_equal(k.sk_ei, k.sk_er, 32);
	/* The keys are consecutive slices of one prf+ stream. */
	{
		uint8_t skeyseed[48], all[48 * 3 + 32 * 4], nn[64], sd[64 + 16];

		memcpy(nn, ni, 32);
		memcpy(nn + 32, nr, 32);
		ike_prf(s.prf, nn, 64, gir, 32, skeyseed);
		memcpy(sd, nn, 64);
		memcpy(sd + 64, spii, 8);
		memcpy(sd + 72, spir, 8);
		ike_prf_plus(s.prf, skeyseed, 48, sd, 80, all, sizeof(all));
		assert_memory_equal(k.sk_d, all, 48);
		assert_memory_equal(k.sk_ai, all + 48, 32);
		assert_memory_equal(k.sk_er, all + 48 + 32 * 3, 32);
		assert_memory_equal(k.sk_pr, all + 48 * 2 + 32 * 4, 48);
	}
	assert_int_equal(ike_keys_rekey(&s, IKE_PRF_HMAC_SHA2_256, k.sk_d, 32, gir, 32, ni, 32,
					nr, 32, spii, spir, &k2), 0);
	assert_memory_not_equal(k.sk_d, k2.sk_d, 48);
	/* CHILD KEYMAT without PFS = prf+(SK_d, Ni | Nr). */
	assert_int_equal(ike_child_keymat(s.prf, k.sk_d, 48, NULL, 0, ni, 32, nr, 32, km,
					  sizeof(km)), 0);
	memcpy(seed, ni, 32);
	memcpy(seed + 32, nr, 32);
	{
		uint8_t want[200];

		ike_prf_plus(s.prf, k.sk_d, 48, seed, 64, want, sizeof(want));
		assert_memory_equal(km, want, sizeof(km));
	}
	/* AEAD with an integrity transform is not a valid IKE suite. */
	s.encr = IKE_ENCR_AES_GCM_16;
	assert_int_equal(ike_keys_derive(&s, ni, 32, nr, 32, gir, 32, spii, spir, &k), -1);
	s.integ = IKE_INTEG_NONE;
	assert_int_equal(ike_keys_derive(&s, ni, 32, nr, 32, gir, 32, spii, spir, &k), 0);
	assert_int_equal(k.encr_len, 36);
	assert_int_equal(k.integ_len, 0);
	ike_decryption_table_record(&s, spii, spir, &k, rec, sizeof(rec));
	assert_int_equal(strncmp(rec, "0400000000000000,0500000000000000,", 34), 0);
	assert_non_null(strstr(rec, ",\"AES-GCM-256 with 16 octet ICV [RFC5282]\",,,"
				    "\"NONE [RFC4306]\""));
}

/* Builds header + SK generic header for `plen` octets of plaintext. */
static size_t sk_msg(const struct ike_suite *s, uint8_t *msg, size_t plen)
{
	size_t skl = ike_sk_len(s, plen), len = IKEV2_HDR_LEN + 4 + skl;

	memset(msg, 0, IKEV2_HDR_LEN + 4);
	memset(msg, 0xab, 16);
	msg[16] = IKEV2_PL_SK;
	msg[17] = 0x20;
	msg[18] = IKEV2_IKE_AUTH;
	msg[19] = IKEV2_FLAG_I;
	msg[24] = (uint8_t)(len >> 24), msg[25] = (uint8_t)(len >> 16);
	msg[26] = (uint8_t)(len >> 8), msg[27] = (uint8_t)len;
	msg[28] = IKEV2_PL_IDI;
	msg[30] = (uint8_t)((4 + skl) >> 8), msg[31] = (uint8_t)(4 + skl);
	return len;
}

static void test_sk_roundtrip(void **state)
{
	static const struct ike_suite suites[] = {
		{ .encr = IKE_ENCR_AES_GCM_16, .encr_keylen = 128 },
		{ .encr = IKE_ENCR_AES_GCM_16, .encr_keylen = 256 },
		{ .encr = IKE_ENCR_CHACHA20_POLY1305, .encr_keylen = 256 },
		{ .encr = IKE_ENCR_AES_CBC, .encr_keylen = 128, .integ = IKE_INTEG_HMAC_SHA2_256_128 },
		{ .encr = IKE_ENCR_AES_CBC, .encr_keylen = 256, .integ = IKE_INTEG_HMAC_SHA2_384_192 },
		{ .encr = IKE_ENCR_AES_CBC, .encr_keylen = 256, .integ = IKE_INTEG_HMAC_SHA2_512_256 },
	};
	uint8_t ke[IKE_KEY_MAX], ka[IKE_KEY_MAX], plain[300], msg[512], copy[512], *p;
	char err[256];
	size_t pl;

	(void)state;
	ike_crypto_stats_register();
	for (size_t i = 0; i < sizeof(plain); i++)
		plain[i] = (uint8_t)i;
	memset(ke, 0x11, sizeof(ke));
	memset(ka, 0x22, sizeof(ka));
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
		const struct ike_suite *s = &suites[i];

		for (size_t plen = 0; plen < 40; plen += 13) {
			size_t len = sk_msg(s, msg, plen);
			uint64_t icv0 = counter_value("mipsec_ike_sk_icv_fail_total");

			assert_int_equal(ike_sk_seal(s, ke, ka, msg, 32, plain, plen), 0);
			memcpy(copy, msg, len);
			assert_int_equal(ike_sk_open(s, ke, ka, msg, len, 32, &p, &pl, err,
						     sizeof(err)), 0);
			assert_int_equal(pl, plen);
			assert_memory_equal(p, plain, plen);
			/* A flipped bit anywhere (header = AAD, IV, ciphertext,
			 * ICV) is refused and counted. */
			for (size_t pos = 0; pos < len; pos += 7) {
				memcpy(msg, copy, len);
				msg[pos] ^= 4;
				err[0] = '\0';
				assert_int_equal(ike_sk_open(s, ke, ka, msg, len, 32, &p, &pl, err,
							     sizeof(err)), -1);
				assert_true(strlen(err) > 10);
			}
			assert_true(counter_value("mipsec_ike_sk_icv_fail_total") > icv0);
			/* The other direction's key does not open it. */
			memcpy(msg, copy, len);
			ke[0] ^= 1;
			ka[0] ^= 1;
			assert_int_equal(ike_sk_open(s, ke, ka, msg, len, 32, &p, &pl, err,
						     sizeof(err)), -1);
			ke[0] ^= 1;
			ka[0] ^= 1;
			/* Truncations never read past the end. */
			for (size_t cut = 32; cut < len; cut++) {
				memcpy(msg, copy, len);
				assert_int_equal(ike_sk_open(s, ke, ka, msg, cut, 32, &p, &pl, err,
							     sizeof(err)), -1);
			}
		}
		/* In place: the plaintext already where the ciphertext goes. */
		{
			size_t len = sk_msg(s, msg, 50), ivl = ike_encr_is_aead(s->encr) ? 8 : 16;

			memcpy(msg + 32 + ivl, plain, 50);
			assert_int_equal(ike_sk_seal(s, ke, ka, msg, 32, msg + 32 + ivl, 50), 0);
			assert_int_equal(ike_sk_open(s, ke, ka, msg, len, 32, &p, &pl, err,
						     sizeof(err)), 0);
			assert_int_equal(pl, 50);
			assert_memory_equal(p, plain, 50);
		}
	}
}

static void dh_pair(uint16_t group)
{
	uint8_t pa[IKE_DH_PUB_MAX], pb[IKE_DH_PUB_MAX], sa[IKE_DH_PUB_MAX], sb[IKE_DH_PUB_MAX];
	char err[256];
	struct ike_dh *a = ike_dh_new(group, err, sizeof(err));
	struct ike_dh *b = ike_dh_new(group, err, sizeof(err));
	size_t la, lb, na, nb;

	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(ike_dh_group(a), group);
	la = ike_dh_public(a, pa, sizeof(pa));
	lb = ike_dh_public(b, pb, sizeof(pb));
	assert_true(la > 0 && la == lb);
	assert_int_equal(ike_dh_public(a, pa, la - 1), 0);
	na = ike_dh_shared(a, pb, lb, sa, sizeof(sa), err, sizeof(err));
	nb = ike_dh_shared(b, pa, la, sb, sizeof(sb), err, sizeof(err));
	assert_true(na > 0);
	assert_int_equal(na, nb);
	assert_memory_equal(sa, sb, na);
	assert_int_equal(na, group == IKE_DH_MODP2048 ? 256 : 32);
	/* Wrong length */
	assert_int_equal(ike_dh_shared(a, pb, lb - 1, sa, sizeof(sa), err, sizeof(err)), 0);
	assert_non_null(strstr(err, "expected"));
	ike_dh_free(a);
	ike_dh_free(b);
}

static void test_dh(void **state)
{
	uint8_t v[256], out[256];
	char err[256];
	struct ike_dh *dh;
	uint64_t bad0;

	(void)state;
	ike_crypto_stats_register();
	dh_pair(IKE_DH_MODP2048);
	dh_pair(IKE_DH_ECP256);
	dh_pair(IKE_DH_CURVE25519);
	assert_null(ike_dh_new(2, err, sizeof(err)));
	assert_non_null(strstr(err, "not supported"));

	bad0 = counter_value("mipsec_ike_dh_invalid_public_total");
	dh = ike_dh_new(IKE_DH_MODP2048, err, sizeof(err));
	memset(v, 0, sizeof(v));
	v[255] = 1;
	assert_int_equal(ike_dh_shared(dh, v, 256, out, sizeof(out), err, sizeof(err)), 0);
	assert_non_null(strstr(err, "out of range"));
	memset(v, 0xff, sizeof(v));	/* > p */
	assert_int_equal(ike_dh_shared(dh, v, 256, out, sizeof(out), err, sizeof(err)), 0);
	ike_dh_free(dh);
	dh = ike_dh_new(IKE_DH_ECP256, err, sizeof(err));
	memset(v, 0x42, 64);
	assert_int_equal(ike_dh_shared(dh, v, 64, out, sizeof(out), err, sizeof(err)), 0);
	assert_non_null(strstr(err, "not a point"));
	ike_dh_free(dh);
	dh = ike_dh_new(IKE_DH_CURVE25519, err, sizeof(err));
	memset(v, 0, 32);
	assert_int_equal(ike_dh_shared(dh, v, 32, out, sizeof(out), err, sizeof(err)), 0);
	assert_non_null(strstr(err, "small-order"));
	ike_dh_free(dh);
	assert_int_equal(counter_value("mipsec_ike_dh_invalid_public_total"), bad0 + 4);
}

/* MODP secrets keep their leading zero octets (§2.14: padded to the
 * prime's length); about one in 256 secrets starts with one. */
static void test_dh_modp_padding(void **state)
{
	char err[256];
	int seen = 0;

	(void)state;
	for (int i = 0; i < 3000 && !seen; i++) {
		struct ike_dh *a = ike_dh_new(IKE_DH_MODP2048, err, sizeof(err));
		struct ike_dh *b = ike_dh_new(IKE_DH_MODP2048, err, sizeof(err));
		uint8_t pa[256], pb[256], sa[256], sb[256];

		ike_dh_public(a, pa, sizeof(pa));
		ike_dh_public(b, pb, sizeof(pb));
		assert_int_equal(ike_dh_shared(a, pb, 256, sa, sizeof(sa), err, sizeof(err)), 256);
		assert_int_equal(ike_dh_shared(b, pa, 256, sb, sizeof(sb), err, sizeof(err)), 256);
		assert_memory_equal(sa, sb, 256);
		seen = sa[0] == 0;
		ike_dh_free(a);
		ike_dh_free(b);
	}
	assert_true(seen);
}

/* ---- AUTH ---- */

static X509 *self_cert(EVP_PKEY *key)
{
	X509 *x = X509_new();

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)"unit", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_set_pubkey(x, key);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	return x;
}

static void test_auth_octets_psk(void **state)
{
	uint8_t msg[100], nonce[32], skp[32], id[] = { 2, 0, 0, 0, 'a', 'b' };
	uint8_t out[100 + 32 + IKE_KEY_MAX], mac[64], psk1[64], psk2[64];
	size_t n, l1 = 0, l2 = 0;

	(void)state;
	memset(msg, 1, sizeof(msg));
	memset(nonce, 2, sizeof(nonce));
	memset(skp, 3, sizeof(skp));
	n = ike_auth_octets(IKE_PRF_HMAC_SHA2_256, skp, 32, msg, 100, nonce, 32, id, 6, out,
			    sizeof(out));
	assert_int_equal(n, 100 + 32 + 32);
	assert_memory_equal(out, msg, 100);
	assert_memory_equal(out + 100, nonce, 32);
	ike_prf(IKE_PRF_HMAC_SHA2_256, skp, 32, id, 6, mac);
	assert_memory_equal(out + 132, mac, 32);
	assert_int_equal(ike_auth_octets(IKE_PRF_HMAC_SHA2_256, skp, 32, msg, 100, nonce, 32, id,
					 6, out, 163), 0);
	assert_int_equal(ike_auth_psk(IKE_PRF_HMAC_SHA2_384, (const uint8_t *)"secret", 6, out, n,
				      psk1, &l1), 0);
	assert_int_equal(l1, 48);
	{
		uint8_t k[64];

		ike_prf(IKE_PRF_HMAC_SHA2_384, (const uint8_t *)"secret", 6,
			(const uint8_t *)"Key Pad for IKEv2", 17, k);
		ike_prf(IKE_PRF_HMAC_SHA2_384, k, 48, out, n, psk2);
	}
	assert_memory_equal(psk1, psk2, 48);
	assert_true(ike_auth_psk_equal(psk1, psk2, 48));
	assert_int_equal(ike_auth_psk(IKE_PRF_HMAC_SHA2_384, (const uint8_t *)"secreT", 6, out, n,
				      psk2, &l2), 0);
	assert_false(ike_auth_psk_equal(psk1, psk2, 48));
}

static void sign_verify(EVP_PKEY *key, X509 *cert, X509 *other, int hash, bool pss)
{
	uint8_t octets[200], auth[1024];
	char err[256];
	size_t n, alen;

	memset(octets, 0x33, sizeof(octets));
	n = ike_auth_sign(key, hash, pss, octets, sizeof(octets), auth, sizeof(auth), err,
			  sizeof(err));
	assert_true(n > 0);
	alen = auth[0];
	assert_int_equal(ike_auth_verify(cert, IKEV2_AUTH_DIGITAL_SIG, auth, n, octets,
					 sizeof(octets), err, sizeof(err)), 0);
	/* Tampered octets, wrong key */
	octets[7] ^= 1;
	assert_int_equal(ike_auth_verify(cert, IKEV2_AUTH_DIGITAL_SIG, auth, n, octets,
					 sizeof(octets), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "does not verify"));
	octets[7] ^= 1;
	assert_int_equal(ike_auth_verify(other, IKEV2_AUTH_DIGITAL_SIG, auth, n, octets,
					 sizeof(octets), err, sizeof(err)), -1);
	/* Every truncation, bounded by the length octet and the data. */
	for (size_t cut = 0; cut < n; cut++) {
		err[0] = '\0';
		assert_int_equal(ike_auth_verify(cert, IKEV2_AUTH_DIGITAL_SIG, auth, cut, octets,
						 sizeof(octets), err, sizeof(err)), -1);
		assert_true(strlen(err) > 10);
		if (cut <= alen)
			assert_non_null(strstr(err, "AlgorithmIdentifier"));
	}
	/* A length octet that disagrees with the DER. */
	for (int d = -3; d <= 3; d++) {
		uint8_t save = auth[0];

		if (!d)
			continue;
		auth[0] = (uint8_t)(alen + (size_t)d);
		err[0] = '\0';
		assert_int_equal(ike_auth_verify(cert, IKEV2_AUTH_DIGITAL_SIG, auth, n, octets,
						 sizeof(octets), err, sizeof(err)), -1);
		assert_non_null(strstr(err, "AlgorithmIdentifier"));
		auth[0] = save;
	}
	/* Each AlgorithmIdentifier octet flipped in turn: refused, no crash. */
	for (size_t i = 1; i <= alen; i++) {
		auth[i] ^= 0x41;
		assert_int_equal(ike_auth_verify(cert, IKEV2_AUTH_DIGITAL_SIG, auth, n, octets,
						 sizeof(octets), err, sizeof(err)), -1);
		auth[i] ^= 0x41;
	}
}

static void test_auth_sign_verify(void **state)
{
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *ec2 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	X509 *cec = self_cert(ec), *cec2 = self_cert(ec2), *crsa = self_cert(rsa);
	uint8_t auth[1024], o[10] = { 0 };
	char err[256];
	uint64_t alg0;

	(void)state;
	ike_crypto_stats_register();
	for (int h = IKE_HASH_SHA256; h <= IKE_HASH_SHA512; h++) {
		sign_verify(ec, cec, cec2, h, false);
		sign_verify(rsa, crsa, cec, h, false);
		sign_verify(rsa, crsa, cec, h, true);
	}
	/* No SHA-1 signatures of our own with method 14. */
	assert_int_equal(ike_auth_sign(ec, IKE_HASH_SHA1, false, o, 10, auth, sizeof(auth), err,
				       sizeof(err)), 0);
	assert_non_null(strstr(err, "hash algorithm 1"));
	assert_int_equal(ike_auth_sign(ec, IKE_HASH_SHA256, false, o, 10, auth, 20, err,
				       sizeof(err)), 0);
	alg0 = counter_value("mipsec_ike_auth_bad_algorithm_total");
	assert_int_equal(ike_auth_verify(cec, 3, auth, 10, o, 10, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "method 3 is not supported"));
	assert_int_equal(counter_value("mipsec_ike_auth_bad_algorithm_total"), alg0 + 1);
	X509_free(cec);
	X509_free(cec2);
	X509_free(crsa);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(ec2);
	EVP_PKEY_free(rsa);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prf_rfc4231),
		cmocka_unit_test(test_prf_plus),
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_sk_roundtrip),
		cmocka_unit_test(test_dh),
		cmocka_unit_test(test_dh_modp_padding),
		cmocka_unit_test(test_auth_octets_psk),
		cmocka_unit_test(test_auth_sign_verify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
