/* IKEv2 algorithm tables, PRF / prf+, key schedule and SK payload
 * protection (RFC 7296 §2.13-2.14, §2.17-2.18, §3.14; RFC 5282; RFC 7634;
 * RFC 4868). See ike_crypto.h. */
#include "ikev2/ike_crypto.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "core/stats.h"
#include "ikev2/ike_crypto_priv.h"
#include "wire/ikev2.h"

COUNTER_DEFINE(ctr_sk_icv, "mipsec_ike_sk_icv_fail_total",
	       "IKE SK/SKF payloads whose ICV did not verify");
COUNTER_DEFINE(ctr_sk_bad, "mipsec_ike_sk_malformed_total",
	       "IKE SK/SKF payloads too short, not whole blocks or with bad padding");
COUNTER_DEFINE(ctr_crypto_fail, "mipsec_ike_crypto_fail_total",
	       "IKE crypto operations failed in the crypto library");

void ike_crypto_stats_register(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	counter_register(&ctr_sk_icv);
	counter_register(&ctr_sk_bad);
	counter_register(&ctr_crypto_fail);
	counter_register(&ike_ctr_dh_invalid);
	counter_register(&ike_ctr_auth_bad_alg);
	counter_register(&ike_ctr_auth_bad_sig);
	ike_cert_stats_register();
}

void ike_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- algorithm tables ---------------------------------------------------- */

bool ike_encr_is_aead(uint16_t encr)
{
	return encr == IKE_ENCR_AES_GCM_16 || encr == IKE_ENCR_CHACHA20_POLY1305;
}

static bool encr_keylen_ok(const struct ike_suite *s)
{
	switch (s->encr) {
	case IKE_ENCR_AES_CBC:
	case IKE_ENCR_AES_GCM_16:
		return s->encr_keylen == 128 || s->encr_keylen == 256;
	case IKE_ENCR_CHACHA20_POLY1305:
		/* No Key Length attribute is sent for ChaCha20 (RFC 7634 §4). */
		return s->encr_keylen == 256 || s->encr_keylen == 0;
	}
	return false;
}

size_t ike_encr_keymat_len(const struct ike_suite *s)
{
	if (!encr_keylen_ok(s))
		return 0;
	switch (s->encr) {
	case IKE_ENCR_AES_CBC:
		return s->encr_keylen / 8;
	case IKE_ENCR_AES_GCM_16:
		return s->encr_keylen / 8 + 4;
	case IKE_ENCR_CHACHA20_POLY1305:
		return 32 + 4;
	}
	return 0;
}

size_t ike_integ_key_len(uint16_t integ)
{
	switch (integ) {
	case IKE_INTEG_HMAC_SHA2_256_128: return 32;
	case IKE_INTEG_HMAC_SHA2_384_192: return 48;
	case IKE_INTEG_HMAC_SHA2_512_256: return 64;
	}
	return 0;
}

size_t ike_integ_icv_len(uint16_t integ)
{
	return ike_integ_key_len(integ) / 2;
}

static const EVP_MD *integ_md(uint16_t integ)
{
	switch (integ) {
	case IKE_INTEG_HMAC_SHA2_256_128: return EVP_sha256();
	case IKE_INTEG_HMAC_SHA2_384_192: return EVP_sha384();
	case IKE_INTEG_HMAC_SHA2_512_256: return EVP_sha512();
	}
	return NULL;
}

static const char *prf_digest(uint16_t prf)
{
	switch (prf) {
	case IKE_PRF_HMAC_SHA2_256: return "SHA256";
	case IKE_PRF_HMAC_SHA2_384: return "SHA384";
	case IKE_PRF_HMAC_SHA2_512: return "SHA512";
	}
	return NULL;
}

size_t ike_prf_len(uint16_t prf)
{
	switch (prf) {
	case IKE_PRF_HMAC_SHA2_256: return 32;
	case IKE_PRF_HMAC_SHA2_384: return 48;
	case IKE_PRF_HMAC_SHA2_512: return 64;
	}
	return 0;
}

bool ike_dh_supported(uint16_t group)
{
	return group == IKE_DH_MODP2048 || group == IKE_DH_ECP256 || group == IKE_DH_CURVE25519;
}

const char *ike_transform_name(uint8_t xf_type, uint16_t id, uint16_t keylen)
{
	switch (xf_type) {
	case IKEV2_XF_ENCR:
		if (id == IKE_ENCR_CHACHA20_POLY1305)
			return "chacha20poly1305";
		if (id == IKE_ENCR_AES_GCM_16)
			return keylen == 128 ? "aes128gcm16" : keylen == 256 ? "aes256gcm16" : NULL;
		if (id == IKE_ENCR_AES_CBC)
			return keylen == 128 ? "aes128" : keylen == 256 ? "aes256" : NULL;
		return NULL;
	case IKEV2_XF_PRF:
		switch (id) {
		case IKE_PRF_HMAC_SHA2_256: return "prfsha256";
		case IKE_PRF_HMAC_SHA2_384: return "prfsha384";
		case IKE_PRF_HMAC_SHA2_512: return "prfsha512";
		}
		return NULL;
	case IKEV2_XF_INTEG:
		switch (id) {
		case IKE_INTEG_NONE: return "none";
		case IKE_INTEG_HMAC_SHA2_256_128: return "sha256";
		case IKE_INTEG_HMAC_SHA2_384_192: return "sha384";
		case IKE_INTEG_HMAC_SHA2_512_256: return "sha512";
		}
		return NULL;
	case IKEV2_XF_DH:
		switch (id) {
		case IKE_DH_NONE: return "none";
		case IKE_DH_MODP2048: return "modp2048";
		case IKE_DH_ECP256: return "ecp256";
		case IKE_DH_CURVE25519: return "curve25519";
		}
		return NULL;
	case IKEV2_XF_ESN:
		return id == IKE_ESN_NO ? "noesn" : id == IKE_ESN_YES ? "esn" : NULL;
	}
	return NULL;
}

/* ---- PRF ------------------------------------------------------------------ */

struct part {
	const uint8_t *p;
	size_t n;
};

/* HMAC over the concatenation of `parts` without copying them together. */
static int hmac_parts(const char *digest, const uint8_t *key, size_t klen,
		      const struct part *parts, size_t nparts, uint8_t *out, size_t outcap)
{
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx = NULL;
	EVP_MAC *mac;
	size_t outl = 0;
	int rc = -1;

	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (!mac)
		goto out;
	ctx = EVP_MAC_CTX_new(mac);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	/* HMAC accepts an empty key; OpenSSL wants a non-NULL pointer. */
	if (!ctx || !EVP_MAC_init(ctx, klen ? key : (const uint8_t *)"", klen, params))
		goto out;
	for (size_t i = 0; i < nparts; i++)
		if (parts[i].n && !EVP_MAC_update(ctx, parts[i].p, parts[i].n))
			goto out;
	if (!EVP_MAC_final(ctx, out, &outl, outcap))
		goto out;
	rc = 0;
out:
	if (rc)
		counter_inc(&ctr_crypto_fail);
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return rc;
}

int ike_prf(uint16_t prf, const uint8_t *key, size_t klen, const uint8_t *data, size_t dlen,
	    uint8_t *out)
{
	const char *d = prf_digest(prf);
	struct part p = { data, dlen };

	if (!d)
		return -1;
	return hmac_parts(d, key, klen, &p, 1, out, ike_prf_len(prf));
}

/* prf+ over a seed given in pieces (the callers' seeds are concatenations). */
static int prf_plus_parts(uint16_t prf, const uint8_t *key, size_t klen,
			  const struct part *seed, size_t nseed, uint8_t *out, size_t outlen)
{
	const char *d = prf_digest(prf);
	size_t hl = ike_prf_len(prf), done = 0;
	uint8_t t[IKE_KEY_MAX];
	struct part parts[8];
	uint8_t ctr;

	if (!d || nseed > 6 || outlen > 255 * hl)
		return -1;
	for (ctr = 1; done < outlen; ctr++) {
		size_t np = 0, n;

		/* T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n) */
		if (ctr > 1)
			parts[np++] = (struct part){ t, hl };
		for (size_t i = 0; i < nseed; i++)
			parts[np++] = seed[i];
		parts[np++] = (struct part){ &ctr, 1 };
		if (hmac_parts(d, key, klen, parts, np, t, sizeof(t)))
			return -1;
		n = outlen - done < hl ? outlen - done : hl;
		memcpy(out + done, t, n);
		done += n;
	}
	OPENSSL_cleanse(t, sizeof(t));
	return 0;
}

int ike_prf_plus(uint16_t prf, const uint8_t *key, size_t klen, const uint8_t *seed,
		 size_t slen, uint8_t *out, size_t outlen)
{
	struct part p = { seed, slen };

	return prf_plus_parts(prf, key, klen, &p, 1, out, outlen);
}

/* ---- key schedule ------------------------------------------------------------ */

/* The seven keys from prf+(SKEYSEED, Ni | Nr | SPIi | SPIr). */
static int keys_from_seed(const struct ike_suite *s, const uint8_t *skeyseed,
			  size_t seedlen, const uint8_t *ni, size_t nilen, const uint8_t *nr,
			  size_t nrlen, const uint8_t spi_i[8], const uint8_t spi_r[8],
			  struct ike_keys *k)
{
	struct part seed[4] = { { ni, nilen }, { nr, nrlen }, { spi_i, 8 }, { spi_r, 8 } };
	uint8_t buf[7 * IKE_KEY_MAX], *p = buf;
	size_t total;
	int rc;

	memset(k, 0, sizeof(*k));
	k->prf_len = ike_prf_len(s->prf);
	k->encr_len = ike_encr_keymat_len(s);
	k->integ_len = ike_encr_is_aead(s->encr) ? 0 : ike_integ_key_len(s->integ);
	if (!k->prf_len || !k->encr_len || (!ike_encr_is_aead(s->encr) && !k->integ_len) ||
	    (ike_encr_is_aead(s->encr) && s->integ != IKE_INTEG_NONE))
		return -1;
	total = 3 * k->prf_len + 2 * k->integ_len + 2 * k->encr_len;
	rc = prf_plus_parts(s->prf, skeyseed, seedlen, seed, 4, buf, total);
	if (!rc) {
		memcpy(k->sk_d, p, k->prf_len), p += k->prf_len;
		memcpy(k->sk_ai, p, k->integ_len), p += k->integ_len;
		memcpy(k->sk_ar, p, k->integ_len), p += k->integ_len;
		memcpy(k->sk_ei, p, k->encr_len), p += k->encr_len;
		memcpy(k->sk_er, p, k->encr_len), p += k->encr_len;
		memcpy(k->sk_pi, p, k->prf_len), p += k->prf_len;
		memcpy(k->sk_pr, p, k->prf_len);
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

int ike_keys_derive(const struct ike_suite *s, const uint8_t *ni, size_t nilen,
		    const uint8_t *nr, size_t nrlen, const uint8_t *gir, size_t girlen,
		    const uint8_t spi_i[8], const uint8_t spi_r[8], struct ike_keys *k)
{
	uint8_t key[2 * IKEV2_NONCE_MAX], skeyseed[IKE_KEY_MAX];
	struct part g = { gir, girlen };
	const char *d = prf_digest(s->prf);
	int rc;

	if (!d || nilen > IKEV2_NONCE_MAX || nrlen > IKEV2_NONCE_MAX)
		return -1;
	/* SKEYSEED = prf(Ni | Nr, g^ir): the HMAC key is the nonces. */
	memcpy(key, ni, nilen);
	memcpy(key + nilen, nr, nrlen);
	rc = hmac_parts(d, key, nilen + nrlen, &g, 1, skeyseed, sizeof(skeyseed));
	if (!rc)
		rc = keys_from_seed(s, skeyseed, ike_prf_len(s->prf), ni, nilen, nr, nrlen,
				    spi_i, spi_r, k);
	OPENSSL_cleanse(skeyseed, sizeof(skeyseed));
	return rc;
}

int ike_keys_rekey(const struct ike_suite *s, uint16_t old_prf, const uint8_t *sk_d_old,
		   size_t sk_d_len, const uint8_t *gir, size_t girlen, const uint8_t *ni,
		   size_t nilen, const uint8_t *nr, size_t nrlen, const uint8_t spi_i[8],
		   const uint8_t spi_r[8], struct ike_keys *k)
{
	struct part parts[3] = { { gir, girlen }, { ni, nilen }, { nr, nrlen } };
	const char *d = prf_digest(old_prf);
	uint8_t skeyseed[IKE_KEY_MAX];
	int rc;

	if (!d)
		return -1;
	/* SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr) */
	rc = hmac_parts(d, sk_d_old, sk_d_len, parts, 3, skeyseed, sizeof(skeyseed));
	if (!rc)
		rc = keys_from_seed(s, skeyseed, ike_prf_len(old_prf), ni, nilen, nr, nrlen,
				    spi_i, spi_r, k);
	OPENSSL_cleanse(skeyseed, sizeof(skeyseed));
	return rc;
}

int ike_child_keymat(uint16_t prf, const uint8_t *sk_d, size_t sk_d_len, const uint8_t *gir,
		     size_t girlen, const uint8_t *ni, size_t nilen, const uint8_t *nr,
		     size_t nrlen, uint8_t *out, size_t len)
{
	struct part seed[3];
	size_t n = 0;

	if (gir && girlen)
		seed[n++] = (struct part){ gir, girlen };
	seed[n++] = (struct part){ ni, nilen };
	seed[n++] = (struct part){ nr, nrlen };
	return prf_plus_parts(prf, sk_d, sk_d_len, seed, n, out, len);
}

/* ---- SK / SKF payload -------------------------------------------------------- */

#define AEAD_IV_LEN	8	/* explicit IV of RFC 5282 / RFC 7634 */
#define AEAD_SALT_LEN	4
#define AEAD_ICV_LEN	16
#define CBC_BLOCK	16

static const EVP_CIPHER *sk_cipher(const struct ike_suite *s)
{
	switch (s->encr) {
	case IKE_ENCR_AES_CBC:
		return s->encr_keylen == 128 ? EVP_aes_128_cbc() : EVP_aes_256_cbc();
	case IKE_ENCR_AES_GCM_16:
		return s->encr_keylen == 128 ? EVP_aes_128_gcm() : EVP_aes_256_gcm();
	case IKE_ENCR_CHACHA20_POLY1305:
		return EVP_chacha20_poly1305();
	}
	return NULL;
}

/* IV length, ICV length and the block the plaintext | Pad Length is
 * padded to. AEAD transforms are stream-like: no padding is needed
 * (RFC 5282 §3 leaves it to the sender), we send none. */
static bool sk_geometry(const struct ike_suite *s, size_t *iv, size_t *icv, size_t *block)
{
	if (!ike_encr_keymat_len(s))
		return false;
	if (ike_encr_is_aead(s->encr)) {
		*iv = AEAD_IV_LEN;
		*icv = AEAD_ICV_LEN;
		*block = 1;
		return true;
	}
	*iv = CBC_BLOCK;
	*icv = ike_integ_icv_len(s->integ);
	*block = CBC_BLOCK;
	return *icv != 0;
}

size_t ike_sk_len(const struct ike_suite *s, size_t plen)
{
	size_t iv, icv, block, ct;

	if (!sk_geometry(s, &iv, &icv, &block))
		return 0;
	ct = (plen + 1 + block - 1) / block * block;
	return iv + ct + icv;
}

/* AEAD over buf[0..len) in place with nonce salt | iv. */
static int aead_crypt(const struct ike_suite *s, const uint8_t *ke, const uint8_t *iv,
		      const uint8_t *aad, size_t aadlen, uint8_t *buf, size_t len,
		      uint8_t *tag, bool enc)
{
	size_t klen = ike_encr_keymat_len(s) - AEAD_SALT_LEN;
	uint8_t nonce[AEAD_SALT_LEN + AEAD_IV_LEN];
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int outl, ok;

	memcpy(nonce, ke + klen, AEAD_SALT_LEN);
	memcpy(nonce + AEAD_SALT_LEN, iv, AEAD_IV_LEN);
	ok = ctx && EVP_CipherInit_ex(ctx, sk_cipher(s), NULL, NULL, NULL, enc) &&
	     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, sizeof(nonce), NULL) &&
	     EVP_CipherInit_ex(ctx, NULL, NULL, ke, nonce, enc) &&
	     (!enc ? EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, AEAD_ICV_LEN, tag) : 1) &&
	     EVP_CipherUpdate(ctx, NULL, &outl, aad, (int)aadlen) &&
	     (len == 0 || EVP_CipherUpdate(ctx, buf, &outl, buf, (int)len));
	if (ok)
		ok = EVP_CipherFinal_ex(ctx, buf + len, &outl) > 0;
	else
		counter_inc(&ctr_crypto_fail);
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, AEAD_ICV_LEN, tag) > 0;
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : -1;
}

static int cbc_crypt(const struct ike_suite *s, const uint8_t *ke, const uint8_t *iv,
		     uint8_t *buf, size_t len, bool enc)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int outl, ok;

	ok = ctx && EVP_CipherInit_ex(ctx, sk_cipher(s), NULL, ke, iv, enc) &&
	     EVP_CIPHER_CTX_set_padding(ctx, 0) &&
	     EVP_CipherUpdate(ctx, buf, &outl, buf, (int)len) &&
	     EVP_CipherFinal_ex(ctx, buf + len, &outl);
	if (!ok)
		counter_inc(&ctr_crypto_fail);
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : -1;
}

static int integ_mac(uint16_t integ, const uint8_t *ka, const uint8_t *data, size_t len,
		     uint8_t *icv)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	if (!HMAC(integ_md(integ), ka, (int)ike_integ_key_len(integ), data, len, md, &mdlen)) {
		counter_inc(&ctr_crypto_fail);
		return -1;
	}
	memcpy(icv, md, ike_integ_icv_len(integ));
	return 0;
}

int ike_sk_seal(const struct ike_suite *s, const uint8_t *ke, const uint8_t *ka,
		uint8_t *msg, size_t body_off, const uint8_t *plain, size_t plen)
{
	size_t ivlen, icvlen, block, ct, pad;
	uint8_t *iv = msg + body_off, *body;

	if (!sk_geometry(s, &ivlen, &icvlen, &block) || !ke ||
	    (!ike_encr_is_aead(s->encr) && !ka))
		return -1;
	body = iv + ivlen;
	ct = (plen + 1 + block - 1) / block * block;
	pad = ct - plen - 1;
	/* The inner chain may already sit where the ciphertext goes. */
	memmove(body, plain, plen);
	memset(body + plen, 0, pad);
	body[plen + pad] = (uint8_t)pad;
	if (RAND_bytes(iv, (int)ivlen) != 1) {
		counter_inc(&ctr_crypto_fail);
		return -1;
	}
	if (ike_encr_is_aead(s->encr))
		return aead_crypt(s, ke, iv, msg, body_off, body, ct, body + ct, true);
	if (cbc_crypt(s, ke, iv, body, ct, true))
		return -1;
	return integ_mac(s->integ, ka, msg, body_off + ivlen + ct, body + ct);
}

int ike_sk_open(const struct ike_suite *s, const uint8_t *ke, const uint8_t *ka,
		uint8_t *msg, size_t msg_len, size_t body_off, uint8_t **plain, size_t *plen,
		char *err, size_t errlen)
{
	size_t ivlen, icvlen, block, ct, pad;
	uint8_t *iv, *body;

	if (!sk_geometry(s, &ivlen, &icvlen, &block) || !ke ||
	    (!ike_encr_is_aead(s->encr) && !ka)) {
		ike_seterr(err, errlen, "SK: unsupported transform set or missing key (encr %u/%u "
		       "integ %u)", s->encr, s->encr_keylen, s->integ);
		return -1;
	}
	if (body_off > msg_len || msg_len - body_off < ivlen + icvlen + block) {
		counter_inc(&ctr_sk_bad);
		ike_seterr(err, errlen, "SK payload of %zu octets is shorter than IV, one block "
		       "and ICV (%zu)", body_off > msg_len ? 0 : msg_len - body_off,
		       ivlen + icvlen + block);
		return -1;
	}
	iv = msg + body_off;
	body = iv + ivlen;
	ct = msg_len - body_off - ivlen - icvlen;
	if (ct % block) {
		counter_inc(&ctr_sk_bad);
		ike_seterr(err, errlen, "SK ciphertext of %zu octets is not a whole number of "
		       "%zu-octet blocks", ct, block);
		return -1;
	}
	if (ike_encr_is_aead(s->encr)) {
		if (aead_crypt(s, ke, iv, msg, body_off, body, ct, body + ct, false)) {
			counter_inc(&ctr_sk_icv);
			ike_seterr(err, errlen, "SK: AEAD ICV verification failed");
			return -1;
		}
	} else {
		uint8_t icv[IKE_KEY_MAX];

		if (integ_mac(s->integ, ka, msg, body_off + ivlen + ct, icv)) {
			ike_seterr(err, errlen, "SK: HMAC computation failed");
			return -1;
		}
		if (CRYPTO_memcmp(icv, body + ct, icvlen)) {
			counter_inc(&ctr_sk_icv);
			ike_seterr(err, errlen, "SK: integrity checksum (%s) does not verify",
			       ike_transform_name(IKEV2_XF_INTEG, s->integ, 0));
			return -1;
		}
		if (cbc_crypt(s, ke, iv, body, ct, false)) {
			ike_seterr(err, errlen, "SK: AES-CBC decryption failed");
			return -1;
		}
	}
	pad = body[ct - 1];
	if (pad + 1 > ct) {
		counter_inc(&ctr_sk_bad);
		ike_seterr(err, errlen, "SK: Pad Length %zu exceeds the %zu decrypted octets",
		       pad, ct);
		return -1;
	}
	*plain = body;
	*plen = ct - 1 - pad;
	return 0;
}

/* ---- Wireshark export ------------------------------------------------------- */

static const char *ws_encr_name(const struct ike_suite *s)
{
	switch (s->encr) {
	case IKE_ENCR_AES_CBC:
		return s->encr_keylen == 128 ? "AES-CBC-128 [RFC3602]" : "AES-CBC-256 [RFC3602]";
	case IKE_ENCR_AES_GCM_16:
		return s->encr_keylen == 128 ? "AES-GCM-128 with 16 octet ICV [RFC5282]" :
		       "AES-GCM-256 with 16 octet ICV [RFC5282]";
	}
	/* ChaCha20-Poly1305 is not in Wireshark 4.0's IKEv2 table. */
	return NULL;
}

static const char *ws_integ_name(uint16_t integ)
{
	switch (integ) {
	case IKE_INTEG_HMAC_SHA2_256_128: return "HMAC_SHA2_256_128 [RFC4868]";
	case IKE_INTEG_HMAC_SHA2_384_192: return "HMAC_SHA2_384_192 [RFC4868]";
	case IKE_INTEG_HMAC_SHA2_512_256: return "HMAC_SHA2_512_256 [RFC4868]";
	}
	return "NONE [RFC4306]";
}

static char *hexcat(char *p, const uint8_t *b, size_t n)
{
	static const char d[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		*p++ = d[b[i] >> 4];
		*p++ = d[b[i] & 15];
	}
	*p = '\0';
	return p;
}

int ike_decryption_table_record(const struct ike_suite *s, const uint8_t spi_i[8],
				const uint8_t spi_r[8], const struct ike_keys *k, char *buf,
				size_t len)
{
	char spii[17], spir[17], ei[2 * IKE_KEY_MAX + 1], er[2 * IKE_KEY_MAX + 1];
	char ai[2 * IKE_KEY_MAX + 1], ar[2 * IKE_KEY_MAX + 1];
	const char *encr = ws_encr_name(s);

	if (!encr || !ike_encr_keymat_len(s) || k->encr_len > IKE_KEY_MAX ||
	    k->integ_len > IKE_KEY_MAX)
		return -1;
	hexcat(spii, spi_i, 8);
	hexcat(spir, spi_r, 8);
	hexcat(ei, k->sk_ei, k->encr_len);
	hexcat(er, k->sk_er, k->encr_len);
	hexcat(ai, k->sk_ai, k->integ_len);
	hexcat(ar, k->sk_ar, k->integ_len);
	/* UAT byte fields are bare hex (quoted text would be taken as the
	 * octets of the string); the algorithm fields are quoted names. */
	return snprintf(buf, len, "%s,%s,%s,%s,\"%s\",%s,%s,\"%s\"",
			spii, spir, ei, er, encr, ai, ar, ws_integ_name(s->integ));
}
