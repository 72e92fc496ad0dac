/* IKE credentials: PEM loading, chain validation with optional CRLs,
 * ID-to-certificate matching and CERTREQ authority hashes (RFC 7296
 * §3.6-3.7, RFC 4945 §3). See ike_cert.h. */
#include "ikev2/ike_cert.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "core/stats.h"
#include "ikev2/ike_crypto_priv.h"
#include "wire/ikev2.h"

#define CERT_COUNTER(var, reason) \
	struct counter var = { .name = "mipsec_ike_cert_refused_total", \
			       .help = "peer certificates refused, by reason", \
			       .label = "reason=\"" reason "\"" }
CERT_COUNTER(ike_ctr_cert_parse, "parse");
CERT_COUNTER(ike_ctr_cert_untrusted, "untrusted");
CERT_COUNTER(ike_ctr_cert_expired, "expired");
CERT_COUNTER(ike_ctr_cert_revoked, "revoked");
CERT_COUNTER(ike_ctr_cert_other, "other");
CERT_COUNTER(ike_ctr_cert_id, "id_mismatch");

void ike_cert_stats_register(void)
{
	counter_register(&ike_ctr_cert_parse);
	counter_register(&ike_ctr_cert_untrusted);
	counter_register(&ike_ctr_cert_expired);
	counter_register(&ike_ctr_cert_revoked);
	counter_register(&ike_ctr_cert_other);
	counter_register(&ike_ctr_cert_id);
}

static const char *ssl_reason(void)
{
	const char *r = ERR_reason_error_string(ERR_peek_last_error());

	return r ? r : "no PEM data";
}

/* ---- loading -------------------------------------------------------------- */

/* Every certificate of a PEM file, in order. */
static STACK_OF(X509) *read_certs(const char *path, char *err, size_t errlen)
{
	STACK_OF(X509) *sk;
	FILE *f = fopen(path, "r");
	X509 *x;

	if (!f) {
		ike_seterr(err, errlen, "%s: cannot open: %m", path);
		return NULL;
	}
	sk = sk_X509_new_null();
	while (sk && (x = PEM_read_X509(f, NULL, NULL, NULL)))
		if (!sk_X509_push(sk, x))
			X509_free(x);
	fclose(f);
	/* The loop ends on PEM's "no start line": expected at EOF. */
	if (sk && sk_X509_num(sk) > 0 &&
	    ERR_GET_REASON(ERR_peek_last_error()) == PEM_R_NO_START_LINE) {
		ERR_clear_error();
		return sk;
	}
	ike_seterr(err, errlen, "%s: no PEM certificate (%s)", path, ssl_reason());
	ERR_clear_error();
	sk_X509_pop_free(sk, X509_free);
	return NULL;
}

static int load_cert(struct ike_creds *c, const char *path, char *err, size_t errlen)
{
	STACK_OF(X509) *sk = read_certs(path, err, errlen);

	if (!sk)
		return -1;
	/* The first certificate is ours, the rest the chain we send. */
	c->cert = sk_X509_shift(sk);
	c->chain = sk;
	return 0;
}

static int load_key(struct ike_creds *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");

	if (!f) {
		ike_seterr(err, errlen, "%s: cannot open: %m", path);
		return -1;
	}
	c->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!c->key) {
		ike_seterr(err, errlen, "%s: no PEM private key (%s)", path, ssl_reason());
		ERR_clear_error();
		return -1;
	}
	if (c->cert && X509_check_private_key(c->cert, c->key) != 1) {
		ike_seterr(err, errlen, "%s: the private key does not belong to the certificate", path);
		ERR_clear_error();
		return -1;
	}
	return 0;
}

/* Appends SHA-1(SubjectPublicKeyInfo) of a CA to the CERTREQ data. */
static int add_certreq(struct ike_creds *c, X509 *ca)
{
	uint8_t *der = NULL, *n;
	int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(ca), &der);

	if (len <= 0)
		return -1;
	n = realloc(c->certreq, c->certreq_len + SHA_DIGEST_LENGTH);
	if (!n) {
		OPENSSL_free(der);
		return -1;
	}
	c->certreq = n;
	SHA1(der, (size_t)len, c->certreq + c->certreq_len);
	c->certreq_len += SHA_DIGEST_LENGTH;
	OPENSSL_free(der);
	return 0;
}

static int load_ca(struct ike_creds *c, const char *path, char *err, size_t errlen)
{
	STACK_OF(X509) *sk = read_certs(path, err, errlen);
	int rc = 0;

	if (!sk)
		return -1;
	for (int i = 0; i < sk_X509_num(sk) && !rc; i++) {
		X509 *x = sk_X509_value(sk, i);

		if (!X509_STORE_add_cert(c->trust, x) || add_certreq(c, x)) {
			ike_seterr(err, errlen, "%s: cannot add CA certificate %d (%s)", path, i + 1,
			       ssl_reason());
			rc = -1;
		}
	}
	ERR_clear_error();
	sk_X509_pop_free(sk, X509_free);
	return rc;
}

static int load_crl(struct ike_creds *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	X509_CRL *crl;
	int n = 0, rc = 0;

	if (!f) {
		ike_seterr(err, errlen, "%s: cannot open: %m", path);
		return -1;
	}
	while (!rc && (crl = PEM_read_X509_CRL(f, NULL, NULL, NULL))) {
		if (!X509_STORE_add_crl(c->trust, crl)) {
			ike_seterr(err, errlen, "%s: cannot add CRL %d (%s)", path, n + 1, ssl_reason());
			rc = -1;
		}
		X509_CRL_free(crl);
		n++;
	}
	fclose(f);
	if (!rc && !n) {
		ike_seterr(err, errlen, "%s: no PEM CRL (%s)", path, ssl_reason());
		rc = -1;
	}
	ERR_clear_error();
	if (!rc)
		c->crl_check = true;
	return rc;
}

int ike_creds_load(struct ike_creds *c, const char *cert, const char *key,
		   const char *const *ca_files, size_t n_ca, const char *const *crl_files,
		   size_t n_crl, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	c->trust = X509_STORE_new();
	if (!c->trust) {
		ike_seterr(err, errlen, "out of memory");
		return -1;
	}
	if (cert && *cert && load_cert(c, cert, err, errlen))
		goto fail;
	if (key && *key && load_key(c, key, err, errlen))
		goto fail;
	for (size_t i = 0; i < n_ca; i++)
		if (ca_files[i] && *ca_files[i] && load_ca(c, ca_files[i], err, errlen))
			goto fail;
	for (size_t i = 0; i < n_crl; i++)
		if (crl_files[i] && *crl_files[i] && load_crl(c, crl_files[i], err, errlen))
			goto fail;
	if (!c->chain)
		c->chain = sk_X509_new_null();
	return 0;
fail:
	ike_creds_free(c);
	return -1;
}

void ike_creds_free(struct ike_creds *c)
{
	X509_free(c->cert);
	sk_X509_pop_free(c->chain, X509_free);
	EVP_PKEY_free(c->key);
	X509_STORE_free(c->trust);
	free(c->certreq);
	memset(c, 0, sizeof(*c));
}

/* ---- validation ----------------------------------------------------------- */

const char *ike_cert_strerror(enum ike_cert_err e)
{
	switch (e) {
	case IKE_CERT_OK:		return "ok";
	case IKE_CERT_PARSE:		return "not a DER X.509 certificate";
	case IKE_CERT_UNTRUSTED:	return "no chain to a trusted CA";
	case IKE_CERT_EXPIRED:		return "certificate expired or not yet valid";
	case IKE_CERT_REVOKED:		return "certificate revoked";
	case IKE_CERT_ID_MISMATCH:	return "identity not in the certificate";
	case IKE_CERT_OTHER:		return "certificate refused";
	}
	return "unknown certificate error";
}

X509 *ike_cert_decode(const uint8_t *der, size_t len)
{
	const uint8_t *p = der;
	X509 *x;

	if (!len || len > INT32_MAX)
		goto bad;
	x = d2i_X509(NULL, &p, (long)len);
	/* Trailing octets make the CERT payload malformed. */
	if (x && p == der + len)
		return x;
	X509_free(x);
bad:
	ERR_clear_error();
	counter_inc(&ike_ctr_cert_parse);
	return NULL;
}

/* CRLs are checked for the issuers that have one configured; a missing
 * CRL for another issuer is not an error (the brief: "only when a CRL for
 * the issuer is configured"). */
static int verify_cb(int ok, X509_STORE_CTX *ctx)
{
	if (!ok && X509_STORE_CTX_get_error(ctx) == X509_V_ERR_UNABLE_TO_GET_CRL) {
		X509_STORE_CTX_set_error(ctx, X509_V_OK);
		return 1;
	}
	return ok;
}

static enum ike_cert_err map_error(int e)
{
	switch (e) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return IKE_CERT_EXPIRED;
	case X509_V_ERR_CERT_REVOKED:
		return IKE_CERT_REVOKED;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
	case X509_V_ERR_CERT_UNTRUSTED:
	case X509_V_ERR_CERT_REJECTED:
	case X509_V_ERR_INVALID_CA:
	case X509_V_ERR_PATH_LENGTH_EXCEEDED:
	case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
		return IKE_CERT_UNTRUSTED;
	}
	return IKE_CERT_OTHER;
}

static void count_refusal(enum ike_cert_err e)
{
	switch (e) {
	case IKE_CERT_UNTRUSTED: counter_inc(&ike_ctr_cert_untrusted); break;
	case IKE_CERT_EXPIRED: counter_inc(&ike_ctr_cert_expired); break;
	case IKE_CERT_REVOKED: counter_inc(&ike_ctr_cert_revoked); break;
	case IKE_CERT_PARSE: counter_inc(&ike_ctr_cert_parse); break;
	case IKE_CERT_ID_MISMATCH: counter_inc(&ike_ctr_cert_id); break;
	case IKE_CERT_OK: break;
	case IKE_CERT_OTHER: counter_inc(&ike_ctr_cert_other); break;
	}
}

enum ike_cert_err ike_cert_verify(const struct ike_creds *c, X509 *leaf,
				  STACK_OF(X509) *untrusted, time_t now, char *detail,
				  size_t dlen)
{
	X509_STORE_CTX *ctx;
	enum ike_cert_err rc;
	char subject[256];
	int e, depth;

	if (detail && dlen)
		detail[0] = '\0';
	if (!leaf) {
		ike_seterr(detail, dlen, "no certificate");
		count_refusal(IKE_CERT_PARSE);
		return IKE_CERT_PARSE;
	}
	if (!c || !c->trust) {
		ike_seterr(detail, dlen, "no CA configured");
		count_refusal(IKE_CERT_UNTRUSTED);
		return IKE_CERT_UNTRUSTED;
	}
	ctx = X509_STORE_CTX_new();
	if (!ctx || !X509_STORE_CTX_init(ctx, c->trust, leaf, untrusted)) {
		X509_STORE_CTX_free(ctx);
		ike_seterr(detail, dlen, "out of memory");
		count_refusal(IKE_CERT_OTHER);
		return IKE_CERT_OTHER;
	}
	if (now)
		X509_STORE_CTX_set_time(ctx, 0, now);
	if (c->crl_check) {
		X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
		X509_STORE_CTX_set_verify_cb(ctx, verify_cb);
	}
	if (X509_verify_cert(ctx) == 1) {
		rc = IKE_CERT_OK;
	} else {
		X509 *bad;

		e = X509_STORE_CTX_get_error(ctx);
		depth = X509_STORE_CTX_get_error_depth(ctx);
		bad = X509_STORE_CTX_get_current_cert(ctx);
		subject[0] = '\0';
		if (bad)
			X509_NAME_oneline(X509_get_subject_name(bad), subject, sizeof(subject));
		rc = map_error(e);
		ike_seterr(detail, dlen, "%s (depth %d%s%s)", X509_verify_cert_error_string(e), depth,
		       subject[0] ? ", " : "", subject);
	}
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
	count_refusal(rc);
	return rc;
}

/* ---- identities --------------------------------------------------------- */

static bool san_match(X509 *cert, int gen_type, const uint8_t *id, size_t idlen,
		      bool (*eq)(const uint8_t *, size_t, const uint8_t *, size_t))
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	bool found = false;

	for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens) && !found; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const ASN1_STRING *s;

		if (g->type != gen_type)
			continue;
		s = gen_type == GEN_IPADD ? g->d.iPAddress :
		    gen_type == GEN_DNS ? g->d.dNSName : g->d.rfc822Name;
		found = eq(ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s), id, idlen);
	}
	GENERAL_NAMES_free(gens);
	return found;
}

static bool eq_octets(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	return al == bl && !memcmp(a, b, al);
}

static uint8_t ascii_lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

/* DNS names compare without regard to case (RFC 4343). */
static bool eq_fqdn(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	if (al != bl || memchr(b, 0, bl))
		return false;
	for (size_t i = 0; i < al; i++)
		if (ascii_lower(a[i]) != ascii_lower(b[i]))
			return false;
	return true;
}

/* Mailbox: local part exact, domain without regard to case. */
static bool eq_rfc822(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	const uint8_t *at = memchr(a, '@', al);
	size_t local = at ? (size_t)(at - a) : al;

	if (al != bl || memcmp(a, b, local))
		return false;
	return eq_fqdn(a + local, al - local, b + local, bl - local);
}

static bool dn_match(X509 *cert, const uint8_t *id, size_t idlen)
{
	const uint8_t *p = id;
	X509_NAME *n;
	bool ok;

	if (!idlen || idlen > INT32_MAX)
		return false;
	n = d2i_X509_NAME(NULL, &p, (long)idlen);
	/* X509_NAME_cmp compares the canonical encodings (case and spaces
	 * folded in string values). */
	ok = n && p == id + idlen && X509_NAME_cmp(X509_get_subject_name(cert), n) == 0;
	X509_NAME_free(n);
	ERR_clear_error();
	return ok;
}

bool ike_cert_matches_id(X509 *cert, uint8_t id_type, const uint8_t *id, size_t idlen)
{
	if (!cert || !id)
		return false;
	switch (id_type) {
	case IKEV2_ID_IPV4_ADDR:
		return idlen == 4 && san_match(cert, GEN_IPADD, id, idlen, eq_octets);
	case IKEV2_ID_IPV6_ADDR:
		return idlen == 16 && san_match(cert, GEN_IPADD, id, idlen, eq_octets);
	case IKEV2_ID_FQDN:
		return idlen > 0 && san_match(cert, GEN_DNS, id, idlen, eq_fqdn);
	case IKEV2_ID_RFC822_ADDR:
		return idlen > 0 && san_match(cert, GEN_EMAIL, id, idlen, eq_rfc822);
	case IKEV2_ID_DER_ASN1_DN:
		return dn_match(cert, id, idlen);
	}
	return false;
}

static const char *id_type_name(uint8_t t)
{
	switch (t) {
	case IKEV2_ID_IPV4_ADDR: return "ID_IPV4_ADDR";
	case IKEV2_ID_FQDN: return "ID_FQDN";
	case IKEV2_ID_RFC822_ADDR: return "ID_RFC822_ADDR";
	case IKEV2_ID_IPV6_ADDR: return "ID_IPV6_ADDR";
	case IKEV2_ID_DER_ASN1_DN: return "ID_DER_ASN1_DN";
	}
	return "an unsupported ID type";
}

enum ike_cert_err ike_cert_check_peer(const struct ike_creds *c, X509 *leaf,
				      STACK_OF(X509) *untrusted, uint8_t id_type,
				      const uint8_t *id, size_t idlen, time_t now, char *detail,
				      size_t dlen)
{
	enum ike_cert_err e = ike_cert_verify(c, leaf, untrusted, now, detail, dlen);
	char subject[256];

	if (e != IKE_CERT_OK)
		return e;
	if (ike_cert_matches_id(leaf, id_type, id, idlen))
		return IKE_CERT_OK;
	X509_NAME_oneline(X509_get_subject_name(leaf), subject, sizeof(subject));
	ike_seterr(detail, dlen, "%s (%zu octets) is not named by the certificate of %s",
	       id_type_name(id_type), idlen, subject);
	count_refusal(IKE_CERT_ID_MISMATCH);
	return IKE_CERT_ID_MISMATCH;
}

size_t ike_cert_subject_der(X509 *cert, uint8_t *buf, size_t cap)
{
	X509_NAME *n = cert ? X509_get_subject_name(cert) : NULL;
	int len = n ? i2d_X509_NAME(n, NULL) : -1;

	if (len <= 0 || (size_t)len > cap)
		return 0;
	return (size_t)i2d_X509_NAME(n, &buf);
}

size_t ike_cert_der(X509 *cert, uint8_t *buf, size_t cap)
{
	int len = cert ? i2d_X509(cert, NULL) : -1;

	if (len <= 0 || (size_t)len > cap)
		return 0;
	return (size_t)i2d_X509(cert, &buf);
}
