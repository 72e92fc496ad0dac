/* IKEv2 Diffie-Hellman (RFC 7296 §2.14, §3.4): MODP group 14 (RFC 3526),
 * ECP group 19 (RFC 5903) and Curve25519 (RFC 8031), through EVP_PKEY.
 * See ike_crypto.h. Peer values are checked before use: their length,
 * 1 < y < p-1 for MODP, the point on the curve for ECP (OpenSSL refuses
 * to decode one that is not), a non-zero result for Curve25519. */
#include "ikev2/ike_crypto.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/param_build.h>

#include "core/stats.h"
#include "ikev2/ike_crypto_priv.h"

COUNTER_DEFINE(ike_ctr_dh_invalid, "mipsec_ike_dh_invalid_public_total",
	       "peer KE values refused (length, range, not on the curve, zero result)");

struct ike_dh {
	uint16_t group;
	EVP_PKEY *key;
};

#define MODP2048_LEN	256
#define ECP256_COORD	32
#define X25519_LEN	32

static size_t pub_len(uint16_t group)
{
	switch (group) {
	case IKE_DH_MODP2048: return MODP2048_LEN;
	case IKE_DH_ECP256: return 2 * ECP256_COORD;
	case IKE_DH_CURVE25519: return X25519_LEN;
	}
	return 0;
}

static EVP_PKEY *keygen_modp(void)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
	OSSL_PARAM params[2];
	EVP_PKEY *key = NULL;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
						     (char *)"modp_2048", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!ctx || EVP_PKEY_keygen_init(ctx) <= 0 || EVP_PKEY_CTX_set_params(ctx, params) <= 0 ||
	    EVP_PKEY_keygen(ctx, &key) <= 0)
		key = NULL;
	EVP_PKEY_CTX_free(ctx);
	return key;
}

struct ike_dh *ike_dh_new(uint16_t group, char *err, size_t errlen)
{
	struct ike_dh *dh;
	EVP_PKEY *key;

	switch (group) {
	case IKE_DH_MODP2048:
		key = keygen_modp();
		break;
	case IKE_DH_ECP256:
		key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case IKE_DH_CURVE25519:
		key = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
		break;
	default:
		ike_seterr(err, errlen, "DH group %u is not supported", group);
		return NULL;
	}
	if (!key) {
		ike_seterr(err, errlen, "DH group %u: key generation failed", group);
		return NULL;
	}
	dh = calloc(1, sizeof(*dh));
	if (!dh) {
		EVP_PKEY_free(key);
		ike_seterr(err, errlen, "out of memory");
		return NULL;
	}
	dh->group = group;
	dh->key = key;
	return dh;
}

void ike_dh_free(struct ike_dh *dh)
{
	if (!dh)
		return;
	EVP_PKEY_free(dh->key);
	free(dh);
}

uint16_t ike_dh_group(const struct ike_dh *dh)
{
	return dh->group;
}

size_t ike_dh_public(const struct ike_dh *dh, uint8_t *buf, size_t cap)
{
	size_t n = pub_len(dh->group);

	if (cap < n)
		return 0;
	switch (dh->group) {
	case IKE_DH_MODP2048: {
		BIGNUM *y = NULL;
		int ok;

		if (!EVP_PKEY_get_bn_param(dh->key, OSSL_PKEY_PARAM_PUB_KEY, &y))
			return 0;
		ok = BN_bn2binpad(y, buf, (int)n) == (int)n;
		BN_free(y);
		return ok ? n : 0;
	}
	case IKE_DH_ECP256: {
		uint8_t pt[1 + 2 * ECP256_COORD];
		size_t len = 0;

		/* Uncompressed 04 | x | y; the wire carries x | y. */
		if (!EVP_PKEY_get_octet_string_param(dh->key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
						     pt, sizeof(pt), &len) ||
		    len != sizeof(pt) || pt[0] != 0x04)
			return 0;
		memcpy(buf, pt + 1, n);
		return n;
	}
	case IKE_DH_CURVE25519: {
		size_t len = cap;

		if (!EVP_PKEY_get_raw_public_key(dh->key, buf, &len) || len != n)
			return 0;
		return n;
	}
	}
	return 0;
}

/* The peer's MODP value as a key of the same group, after 1 < y < p-1
 * (RFC 7296 §3.4 refers to RFC 2631 §2.1.5's check; y = 1 or p-1 would
 * force a known shared secret). */
static EVP_PKEY *peer_modp(const uint8_t *peer, char *err, size_t errlen)
{
	BIGNUM *y = BN_bin2bn(peer, MODP2048_LEN, NULL), *p = NULL, *pm1 = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *key = NULL;

	if (!y)
		goto out;
	/* p comes from our own key (same named group). */
	if (!BN_hex2bn(&p, "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD1"
			   "29024E088A67CC74020BBEA63B139B22514A08798E3404DD"
			   "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245"
			   "E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
			   "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3D"
			   "C2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
			   "83655D23DCA3AD961C62F356208552BB9ED529077096966D"
			   "670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
			   "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9"
			   "DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
			   "15728E5A8AACAA68FFFFFFFFFFFFFFFF"))
		goto out;
	pm1 = BN_dup(p);
	if (!pm1 || !BN_sub_word(pm1, 1))
		goto out;
	if (BN_cmp(y, BN_value_one()) <= 0 || BN_cmp(y, pm1) >= 0) {
		counter_inc(&ike_ctr_dh_invalid);
		ike_seterr(err, errlen, "MODP-2048 KE value out of range (must be 1 < y < p-1)");
		goto out;
	}
	bld = OSSL_PARAM_BLD_new();
	if (!bld || !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
						     "modp_2048", 0) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PUB_KEY, y))
		goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
		key = NULL;
		ike_seterr(err, errlen, "MODP-2048 KE value not accepted by the crypto library");
	}
out:
	if (!key && err && errlen && !err[0])
		ike_seterr(err, errlen, "MODP-2048 KE value: crypto library failure");
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(y);
	BN_free(p);
	BN_free(pm1);
	return key;
}

static EVP_PKEY *peer_ecp(const uint8_t *peer, char *err, size_t errlen)
{
	uint8_t pt[1 + 2 * ECP256_COORD];
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *key = NULL;

	pt[0] = 0x04;
	memcpy(pt + 1, peer, 2 * ECP256_COORD);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
						     (char *)"prime256v1", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt));
	params[2] = OSSL_PARAM_construct_end();
	/* Decoding the point checks that it lies on the curve. */
	if (!ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
		key = NULL;
		counter_inc(&ike_ctr_dh_invalid);
		ike_seterr(err, errlen, "ECP-256 KE value is not a point on the curve");
	}
	EVP_PKEY_CTX_free(ctx);
	return key;
}

size_t ike_dh_shared(struct ike_dh *dh, const uint8_t *peer, size_t plen, uint8_t *out,
		     size_t cap, char *err, size_t errlen)
{
	size_t want = pub_len(dh->group), len;
	static const uint8_t zero[X25519_LEN];
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;

	if (err && errlen)
		err[0] = '\0';
	if (plen != want) {
		counter_inc(&ike_ctr_dh_invalid);
		ike_seterr(err, errlen, "KE data of %zu octets for DH group %u (expected %zu)", plen,
		       dh->group, want);
		return 0;
	}
	/* The secret is as long as the prime / a coordinate / the u value. */
	if (cap < (dh->group == IKE_DH_MODP2048 ? MODP2048_LEN : 32)) {
		ike_seterr(err, errlen, "DH group %u: %zu octets of room for the shared secret",
		       dh->group, cap);
		return 0;
	}
	switch (dh->group) {
	case IKE_DH_MODP2048:
		pk = peer_modp(peer, err, errlen);
		break;
	case IKE_DH_ECP256:
		pk = peer_ecp(peer, err, errlen);
		break;
	case IKE_DH_CURVE25519:
		pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer, plen);
		if (!pk)
			ike_seterr(err, errlen, "Curve25519 KE value refused by the crypto library");
		break;
	}
	if (!pk)
		return 0;
	len = cap;
	ctx = EVP_PKEY_CTX_new(dh->key, NULL);
	if (!ctx || EVP_PKEY_derive_init(ctx) <= 0 ||
	    /* g^ir padded to the length of the prime (§2.14). */
	    (dh->group == IKE_DH_MODP2048 && EVP_PKEY_CTX_set_dh_pad(ctx, 1) <= 0) ||
	    EVP_PKEY_derive_set_peer(ctx, pk) <= 0 || EVP_PKEY_derive(ctx, out, &len) <= 0) {
		ERR_clear_error();
		counter_inc(&ike_ctr_dh_invalid);
		/* For X25519 OpenSSL refuses an all-zero result here
		 * (a small-order peer point, RFC 8031 §2.3). */
		ike_seterr(err, errlen, "DH group %u: key agreement with the peer's value failed%s",
		       dh->group, dh->group == IKE_DH_CURVE25519 ?
		       " (small-order point, all-zero shared secret)" : "");
		len = 0;
	} else if (dh->group == IKE_DH_CURVE25519 &&
		   (len != X25519_LEN || !CRYPTO_memcmp(out, zero, X25519_LEN))) {
		counter_inc(&ike_ctr_dh_invalid);
		ike_seterr(err, errlen, "Curve25519 shared secret is all zero (RFC 8031 §2.3)");
		OPENSSL_cleanse(out, len);
		len = 0;
	}
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	return len;
}
