/* IKEv2 AUTH payload (RFC 7296 §2.15, §3.8; RFC 7427; RFC 4754): the
 * signed octets, PSK authentication, digital signatures. See
 * ike_crypto.h.
 *
 * Method 14 data is | AlgorithmIdentifier length (1) | AlgorithmIdentifier
 * DER | signature |. We sign with fixed AlgorithmIdentifiers (RFC 7427
 * Appendix A); we verify after parsing the peer's with OpenSSL's DER
 * decoder, bounded by the length octet and the AUTH data. ECDSA
 * signatures of method 14 are DER ECDSA-Sig-Value (RFC 7427 §3, as
 * strongSwan's *_DER signature schemes); those of methods 9-11 are r | s
 * (RFC 4754 §7). */
#include "ikev2/ike_crypto.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "core/stats.h"
#include "ikev2/ike_crypto_priv.h"
#include "wire/ikev2.h"

COUNTER_DEFINE(ike_ctr_auth_bad_alg, "mipsec_ike_auth_bad_algorithm_total",
	       "AUTH payloads with a malformed, unsupported or mismatched signature algorithm");
COUNTER_DEFINE(ike_ctr_auth_bad_sig, "mipsec_ike_auth_bad_signature_total",
	       "AUTH signatures that do not verify with the peer's certificate");

/* ---- signed octets and PSK ------------------------------------------------ */

size_t ike_auth_octets(uint16_t prf, const uint8_t *sk_p, size_t sk_p_len,
		       const uint8_t *real_msg, size_t mlen, const uint8_t *peer_nonce,
		       size_t nlen, const uint8_t *id_body, size_t idlen, uint8_t *out,
		       size_t cap)
{
	size_t hl = ike_prf_len(prf);

	if (!hl || cap < mlen + nlen + hl)
		return 0;
	/* MACedIDFor* goes last, computed before the copies so that out may
	 * alias nothing of the inputs it still needs. */
	if (ike_prf(prf, sk_p, sk_p_len, id_body, idlen, out + mlen + nlen))
		return 0;
	memmove(out, real_msg, mlen);
	memmove(out + mlen, peer_nonce, nlen);
	return mlen + nlen + hl;
}

int ike_auth_psk(uint16_t prf, const uint8_t *psk, size_t psklen, const uint8_t *octets,
		 size_t olen, uint8_t *out, size_t *outlen)
{
	static const char pad[] = "Key Pad for IKEv2";	/* 17 octets, no NUL */
	uint8_t k[IKE_KEY_MAX];
	int rc;

	rc = ike_prf(prf, psk, psklen, (const uint8_t *)pad, sizeof(pad) - 1, k);
	if (!rc)
		rc = ike_prf(prf, k, ike_prf_len(prf), octets, olen, out);
	OPENSSL_cleanse(k, sizeof(k));
	if (!rc && outlen)
		*outlen = ike_prf_len(prf);
	return rc;
}

bool ike_auth_psk_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

/* ---- AlgorithmIdentifiers (RFC 7427 Appendix A) ---------------------------- */

enum sigkind { SIG_ECDSA, SIG_RSA_PKCS1, SIG_RSA_PSS };

struct sigalg {
	enum sigkind kind;
	int hash;		/* IKE_HASH_* */
	const uint8_t *der;
	size_t len;
};

#define OID_RSA		0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01
#define OID_ECDSA_SHA2	0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03
#define OID_SHA2	0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02

static const uint8_t aid_ecdsa256[] = { 0x30, 0x0a, 0x06, 0x08, OID_ECDSA_SHA2, 0x02 };
static const uint8_t aid_ecdsa384[] = { 0x30, 0x0a, 0x06, 0x08, OID_ECDSA_SHA2, 0x03 };
static const uint8_t aid_ecdsa512[] = { 0x30, 0x0a, 0x06, 0x08, OID_ECDSA_SHA2, 0x04 };
static const uint8_t aid_rsa256[] = { 0x30, 0x0d, 0x06, 0x09, OID_RSA, 0x0b, 0x05, 0x00 };
static const uint8_t aid_rsa384[] = { 0x30, 0x0d, 0x06, 0x09, OID_RSA, 0x0c, 0x05, 0x00 };
static const uint8_t aid_rsa512[] = { 0x30, 0x0d, 0x06, 0x09, OID_RSA, 0x0d, 0x05, 0x00 };
/* id-RSASSA-PSS with hashAlgorithm = SHA-2 h, maskGenAlgorithm = MGF1 with
 * h, saltLength = the hash length (RFC 8017 A.2.3; RFC 7427 A.4.x). */
#define AID_PSS(h, salt) { \
	0x30, 0x41, 0x06, 0x09, OID_RSA, 0x0a, \
	0x30, 0x34, \
	0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, OID_SHA2, h, 0x05, 0x00, \
	0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, OID_RSA, 0x08, \
		    0x30, 0x0d, 0x06, 0x09, OID_SHA2, h, 0x05, 0x00, \
	0xa2, 0x03, 0x02, 0x01, salt }
static const uint8_t aid_pss256[] = AID_PSS(0x01, 32);
static const uint8_t aid_pss384[] = AID_PSS(0x02, 48);
static const uint8_t aid_pss512[] = AID_PSS(0x03, 64);

#define SA(k, h, a) { k, h, a, sizeof(a) }
static const struct sigalg sigalgs[] = {
	SA(SIG_ECDSA, IKE_HASH_SHA256, aid_ecdsa256),
	SA(SIG_ECDSA, IKE_HASH_SHA384, aid_ecdsa384),
	SA(SIG_ECDSA, IKE_HASH_SHA512, aid_ecdsa512),
	SA(SIG_RSA_PKCS1, IKE_HASH_SHA256, aid_rsa256),
	SA(SIG_RSA_PKCS1, IKE_HASH_SHA384, aid_rsa384),
	SA(SIG_RSA_PKCS1, IKE_HASH_SHA512, aid_rsa512),
	SA(SIG_RSA_PSS, IKE_HASH_SHA256, aid_pss256),
	SA(SIG_RSA_PSS, IKE_HASH_SHA384, aid_pss384),
	SA(SIG_RSA_PSS, IKE_HASH_SHA512, aid_pss512),
};

static const EVP_MD *hash_md(int hash)
{
	switch (hash) {
	case IKE_HASH_SHA1: return EVP_sha1();
	case IKE_HASH_SHA256: return EVP_sha256();
	case IKE_HASH_SHA384: return EVP_sha384();
	case IKE_HASH_SHA512: return EVP_sha512();
	}
	return NULL;
}

static int md_hash(const EVP_MD *md)
{
	switch (EVP_MD_get_type(md)) {
	case NID_sha1: return IKE_HASH_SHA1;
	case NID_sha256: return IKE_HASH_SHA256;
	case NID_sha384: return IKE_HASH_SHA384;
	case NID_sha512: return IKE_HASH_SHA512;
	}
	return 0;
}

static const char *kind_name(enum sigkind k)
{
	return k == SIG_ECDSA ? "ECDSA" : k == SIG_RSA_PSS ? "RSASSA-PSS" : "RSA PKCS#1 v1.5";
}

/* Signature with `kind` and `md` over the octets (DER for ECDSA). */
static int pk_sign(EVP_PKEY *key, enum sigkind kind, const EVP_MD *md, const uint8_t *m,
		   size_t mlen, uint8_t *sig, size_t *siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int ok;

	ok = ctx && EVP_DigestSignInit(ctx, &pctx, md, NULL, key) > 0;
	if (ok && kind == SIG_RSA_PSS)
		ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
		     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0 &&
		     EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) > 0;
	ok = ok && EVP_DigestSign(ctx, sig, siglen, m, mlen) > 0;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

size_t ike_auth_sign(EVP_PKEY *key, int hash, bool rsa_pss, const uint8_t *octets,
		     size_t olen, uint8_t *out, size_t cap, char *err, size_t errlen)
{
	const struct sigalg *alg = NULL;
	enum sigkind kind;
	size_t siglen;

	if (EVP_PKEY_is_a(key, "EC"))
		kind = SIG_ECDSA;
	else if (EVP_PKEY_is_a(key, "RSA"))
		kind = rsa_pss ? SIG_RSA_PSS : SIG_RSA_PKCS1;
	else {
		ike_seterr(err, errlen, "AUTH: private key of type %s cannot sign (EC or RSA only)",
		       EVP_PKEY_get0_type_name(key));
		return 0;
	}
	for (size_t i = 0; i < sizeof(sigalgs) / sizeof(sigalgs[0]); i++)
		if (sigalgs[i].kind == kind && sigalgs[i].hash == hash)
			alg = &sigalgs[i];
	if (!alg) {
		ike_seterr(err, errlen, "AUTH: no %s signature with hash algorithm %d", kind_name(kind),
		       hash);
		return 0;
	}
	siglen = (size_t)EVP_PKEY_get_size(key);
	if (cap < 1 + alg->len + siglen) {
		ike_seterr(err, errlen, "AUTH: %zu octets of room for a %zu-octet signature", cap,
		       1 + alg->len + siglen);
		return 0;
	}
	out[0] = (uint8_t)alg->len;
	memcpy(out + 1, alg->der, alg->len);
	if (pk_sign(key, kind, hash_md(hash), octets, olen, out + 1 + alg->len, &siglen)) {
		ike_seterr(err, errlen, "AUTH: %s signing failed: %s", kind_name(kind),
		       ERR_reason_error_string(ERR_peek_last_error()));
		ERR_clear_error();
		return 0;
	}
	return 1 + alg->len + siglen;
}

/* ---- verification -------------------------------------------------------- */

struct verify_alg {
	enum sigkind kind;
	const EVP_MD *md;
	int salt;		/* PSS */
	char name[96];
};

/* A hash AlgorithmIdentifier has NULL or absent parameters (RFC 5754 §2). */
static bool hash_params_ok(int ptype)
{
	return ptype == V_ASN1_UNDEF || ptype == V_ASN1_NULL;
}

/* The hash of an MGF1 AlgorithmIdentifier (its parameter is the hash's
 * AlgorithmIdentifier), NULL for another mask generation function. */
static const EVP_MD *mgf1_md(const X509_ALGOR *mgf)
{
	const ASN1_OBJECT *oid;
	const ASN1_STRING *seq;
	const void *pv;
	const uint8_t *p;
	X509_ALGOR *h;
	const EVP_MD *md;
	int ptype;

	X509_ALGOR_get0(&oid, &ptype, &pv, mgf);
	if (OBJ_obj2nid(oid) != NID_mgf1 || ptype != V_ASN1_SEQUENCE)
		return NULL;
	seq = pv;
	p = ASN1_STRING_get0_data(seq);
	h = d2i_X509_ALGOR(NULL, &p, ASN1_STRING_length(seq));
	if (!h)
		return NULL;
	X509_ALGOR_get0(&oid, &ptype, NULL, h);
	md = hash_params_ok(ptype) ? EVP_get_digestbyobj(oid) : NULL;
	X509_ALGOR_free(h);
	return md;
}

/* RSASSA-PSS-params: hash, MGF1 with the same hash (we accept no other
 * mask), salt length (default 20). */
static int parse_pss(const X509_ALGOR *a, struct verify_alg *v, char *err, size_t errlen)
{
	const ASN1_STRING *seq;
	const void *pv;
	int ptype;
	const uint8_t *p;
	RSA_PSS_PARAMS *pss;
	const EVP_MD *mgf_md = EVP_sha1();
	int rc = -1;

	X509_ALGOR_get0(NULL, &ptype, &pv, a);
	if (ptype != V_ASN1_SEQUENCE) {
		ike_seterr(err, errlen, "RSASSA-PSS AlgorithmIdentifier without parameters");
		return -1;
	}
	seq = pv;
	p = ASN1_STRING_get0_data(seq);
	pss = d2i_RSA_PSS_PARAMS(NULL, &p, ASN1_STRING_length(seq));
	if (!pss) {
		ike_seterr(err, errlen, "RSASSA-PSS parameters are not valid DER");
		return -1;
	}
	v->md = EVP_sha1();
	if (pss->hashAlgorithm) {
		const ASN1_OBJECT *hoid;
		int hptype;

		X509_ALGOR_get0(&hoid, &hptype, NULL, pss->hashAlgorithm);
		v->md = hash_params_ok(hptype) ? EVP_get_digestbyobj(hoid) : NULL;
	}
	if (pss->maskGenAlgorithm)
		mgf_md = mgf1_md(pss->maskGenAlgorithm);
	v->salt = 20;
	if (pss->saltLength) {
		long s = ASN1_INTEGER_get(pss->saltLength);

		v->salt = s < 0 || s > 1024 ? -1 : (int)s;
	}
	if (!v->md || !md_hash(v->md) || !mgf_md || EVP_MD_get_type(mgf_md) !=
	    EVP_MD_get_type(v->md) || v->salt < 0 || pss->trailerField)
		ike_seterr(err, errlen, "RSASSA-PSS parameters not supported (hash, MGF1 with the "
		       "same hash, salt length, trailer field 1 only)");
	else
		rc = 0;
	RSA_PSS_PARAMS_free(pss);
	return rc;
}

/* The AlgorithmIdentifier of method 14 (exactly `len` DER octets). */
static int parse_algid(const uint8_t *der, size_t len, struct verify_alg *v, char *err,
		       size_t errlen)
{
	const uint8_t *p = der;
	X509_ALGOR *a = d2i_X509_ALGOR(NULL, &p, (long)len);
	const ASN1_OBJECT *oid;
	int nid, ptype, rc = 0;

	if (!a || p != der + len) {
		ike_seterr(err, errlen, "AUTH: AlgorithmIdentifier of %zu octets is not valid DER%s",
		       len, a ? " (trailing octets)" : "");
		X509_ALGOR_free(a);
		ERR_clear_error();
		return -1;
	}
	X509_ALGOR_get0(&oid, &ptype, NULL, a);
	nid = OBJ_obj2nid(oid);
	{
		char num[40];
		const char *sn = OBJ_nid2sn(nid);

		OBJ_obj2txt(num, sizeof(num), oid, 1);
		snprintf(v->name, sizeof(v->name), "%s%s%s%s", num, nid ? " (" : "",
			 nid ? sn : "", nid ? ")" : "");
	}
	v->md = NULL;
	switch (nid) {
	case NID_ecdsa_with_SHA256: v->kind = SIG_ECDSA; v->md = EVP_sha256(); break;
	case NID_ecdsa_with_SHA384: v->kind = SIG_ECDSA; v->md = EVP_sha384(); break;
	case NID_ecdsa_with_SHA512: v->kind = SIG_ECDSA; v->md = EVP_sha512(); break;
	case NID_sha256WithRSAEncryption: v->kind = SIG_RSA_PKCS1; v->md = EVP_sha256(); break;
	case NID_sha384WithRSAEncryption: v->kind = SIG_RSA_PKCS1; v->md = EVP_sha384(); break;
	case NID_sha512WithRSAEncryption: v->kind = SIG_RSA_PKCS1; v->md = EVP_sha512(); break;
	case NID_rsassaPss:
		v->kind = SIG_RSA_PSS;
		rc = parse_pss(a, v, err, errlen);
		break;
	default:
		ike_seterr(err, errlen, "AUTH: signature algorithm %s is not supported", v->name);
		rc = -1;
	}
	/* ECDSA identifiers carry no parameters (RFC 5758 §3.2); PKCS#1 ones
	 * NULL or none. */
	if (!rc && v->kind == SIG_ECDSA && ptype != V_ASN1_UNDEF) {
		ike_seterr(err, errlen, "AUTH: %s with parameters", v->name);
		rc = -1;
	}
	if (!rc && v->kind == SIG_RSA_PKCS1 && ptype != V_ASN1_UNDEF && ptype != V_ASN1_NULL) {
		ike_seterr(err, errlen, "AUTH: %s with non-NULL parameters", v->name);
		rc = -1;
	}
	X509_ALGOR_free(a);
	return rc;
}

/* RFC 4754 r | s to DER ECDSA-Sig-Value. */
static int ecdsa_raw_to_der(const uint8_t *sig, size_t len, uint8_t **der, size_t *dlen)
{
	ECDSA_SIG *s = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, (int)(len / 2), NULL);
	BIGNUM *ss = BN_bin2bn(sig + len / 2, (int)(len / 2), NULL);
	int n;

	if (!s || !r || !ss || !ECDSA_SIG_set0(s, r, ss)) {
		BN_free(r);
		BN_free(ss);
		ECDSA_SIG_free(s);
		return -1;
	}
	*der = NULL;
	n = i2d_ECDSA_SIG(s, der);
	ECDSA_SIG_free(s);
	if (n <= 0)
		return -1;
	*dlen = (size_t)n;
	return 0;
}

static int pk_verify(EVP_PKEY *key, const struct verify_alg *v, const uint8_t *sig,
		     size_t siglen, const uint8_t *m, size_t mlen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int ok;

	ok = ctx && EVP_DigestVerifyInit(ctx, &pctx, v->md, NULL, key) > 0;
	if (ok && v->kind == SIG_RSA_PSS)
		ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
		     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, v->salt) > 0 &&
		     EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, v->md) > 0;
	ok = ok && EVP_DigestVerify(ctx, sig, siglen, m, mlen) == 1;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok ? 0 : -1;
}

/* Methods 9-11 (RFC 4754): curve and hash fixed by the method. */
static int rfc4754_alg(uint8_t method, EVP_PKEY *key, struct verify_alg *v, size_t *rs_len)
{
	char group[32];
	size_t glen = 0;
	const char *want;

	switch (method) {
	case 9: want = "prime256v1"; v->md = EVP_sha256(); *rs_len = 64; break;
	case 10: want = "secp384r1"; v->md = EVP_sha384(); *rs_len = 96; break;
	case 11: want = "secp521r1"; v->md = EVP_sha512(); *rs_len = 132; break;
	default: return -1;
	}
	v->kind = SIG_ECDSA;
	snprintf(v->name, sizeof(v->name), "ECDSA method %u", method);
	if (!EVP_PKEY_is_a(key, "EC") ||
	    !EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group,
					    sizeof(group), &glen))
		return -1;
	return strcmp(group, want) ? -1 : 0;
}

int ike_auth_verify(X509 *cert, uint8_t method, const uint8_t *data, size_t dlen,
		    const uint8_t *octets, size_t olen, char *err, size_t errlen)
{
	EVP_PKEY *key = cert ? X509_get0_pubkey(cert) : NULL;
	struct verify_alg v = { .salt = 0 };
	const uint8_t *sig = data;
	size_t siglen = dlen, rs_len;
	uint8_t *der = NULL;
	int rc;

	if (!key) {
		ike_seterr(err, errlen, "AUTH: the certificate has no usable public key");
		return -1;
	}
	switch (method) {
	case IKEV2_AUTH_RSA_SIG:
		/* RFC 7296 §3.8: EMSA-PKCS1-v1_5 with SHA-1. */
		v.kind = SIG_RSA_PKCS1;
		v.md = EVP_sha1();
		snprintf(v.name, sizeof(v.name), "RSA method 1 (SHA-1)");
		if (!EVP_PKEY_is_a(key, "RSA")) {
			counter_inc(&ike_ctr_auth_bad_alg);
			ike_seterr(err, errlen, "AUTH method 1 (RSA) but the certificate key is %s",
			       EVP_PKEY_get0_type_name(key));
			return -1;
		}
		break;
	case 9: case 10: case 11:
		if (rfc4754_alg(method, key, &v, &rs_len)) {
			counter_inc(&ike_ctr_auth_bad_alg);
			ike_seterr(err, errlen, "AUTH method %u needs an ECDSA key on its curve "
			       "(RFC 4754), the certificate key does not match", method);
			return -1;
		}
		if (dlen != rs_len || ecdsa_raw_to_der(data, dlen, &der, &siglen)) {
			counter_inc(&ike_ctr_auth_bad_sig);
			ike_seterr(err, errlen, "AUTH method %u: signature of %zu octets, expected "
			       "r | s of %zu", method, dlen, rs_len);
			return -1;
		}
		sig = der;
		break;
	case IKEV2_AUTH_DIGITAL_SIG: {
		size_t alen;

		if (dlen < 1 || (alen = data[0]) == 0 || 1 + alen > dlen) {
			counter_inc(&ike_ctr_auth_bad_alg);
			ike_seterr(err, errlen, "AUTH method 14: AlgorithmIdentifier length %u does not "
			       "fit the %zu octets of AUTH data", dlen ? data[0] : 0, dlen);
			return -1;
		}
		if (parse_algid(data + 1, alen, &v, err, errlen)) {
			counter_inc(&ike_ctr_auth_bad_alg);
			return -1;
		}
		if ((v.kind == SIG_ECDSA) != (bool)EVP_PKEY_is_a(key, "EC") ||
		    (v.kind != SIG_ECDSA && !EVP_PKEY_is_a(key, "RSA") &&
		     !EVP_PKEY_is_a(key, "RSA-PSS"))) {
			counter_inc(&ike_ctr_auth_bad_alg);
			ike_seterr(err, errlen, "AUTH method 14: %s signature but the certificate key "
			       "is %s", kind_name(v.kind), EVP_PKEY_get0_type_name(key));
			return -1;
		}
		sig = data + 1 + alen;
		siglen = dlen - 1 - alen;
		break;
	}
	default:
		counter_inc(&ike_ctr_auth_bad_alg);
		ike_seterr(err, errlen, "AUTH method %u is not supported", method);
		return -1;
	}
	rc = pk_verify(key, &v, sig, siglen, octets, olen);
	OPENSSL_free(der);
	if (rc) {
		counter_inc(&ike_ctr_auth_bad_sig);
		ike_seterr(err, errlen, "AUTH method %u: %s signature (%s) does not verify with the "
		       "certificate's public key", method, kind_name(v.kind), v.name);
	}
	return rc;
}
