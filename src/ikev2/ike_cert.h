/* Credentials and trust for IKE_AUTH (RFC 7296 §3.5-3.7, RFC 4945):
 * our certificate chain and private key, the CAs and CRLs we trust, peer
 * certificate validation and the match between an ID payload and a
 * certificate. OpenSSL X509_STORE underneath. */
#ifndef MIPSEC_IKEV2_IKE_CERT_H
#define MIPSEC_IKEV2_IKE_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

struct ike_creds {
	X509 *cert;			/* end-entity certificate (may be NULL: PSK only) */
	STACK_OF(X509) *chain;		/* intermediates to send, may be empty */
	EVP_PKEY *key;
	X509_STORE *trust;		/* CAs + CRLs (X509_V_FLAG_CRL_CHECK when any CRL) */
	bool crl_check;
	/* SHA-1 of each trusted CA's SubjectPublicKeyInfo, concatenated: the
	 * CERTREQ payload data (§3.7). */
	uint8_t *certreq;
	size_t certreq_len;
};

/* Loads PEM files; any path may be NULL/empty. ca_files and crl_files are
 * arrays of n paths. Returns 0, or -1 with a message naming the file. */
int ike_creds_load(struct ike_creds *c, const char *cert, const char *key,
		   const char *const *ca_files, size_t n_ca, const char *const *crl_files,
		   size_t n_crl, char *err, size_t errlen);
void ike_creds_free(struct ike_creds *c);

/* Why a peer certificate was refused (for logs and counters). */
enum ike_cert_err {
	IKE_CERT_OK = 0,
	IKE_CERT_PARSE,		/* not a DER X.509 certificate */
	IKE_CERT_UNTRUSTED,	/* no chain to a configured CA */
	IKE_CERT_EXPIRED,	/* or not yet valid */
	IKE_CERT_REVOKED,
	IKE_CERT_ID_MISMATCH,	/* the ID payload is not in the certificate */
	IKE_CERT_OTHER,
};
const char *ike_cert_strerror(enum ike_cert_err e);

/* Decodes a CERT payload of encoding 4 (X.509 signature, DER). */
X509 *ike_cert_decode(const uint8_t *der, size_t len);
/* Validates `leaf` with `untrusted` intermediates (may be NULL) against the
 * trust store at time `now` (0: the current time). detail gets OpenSSL's
 * reason. */
enum ike_cert_err ike_cert_verify(const struct ike_creds *c, X509 *leaf,
				  STACK_OF(X509) *untrusted, time_t now, char *detail,
				  size_t dlen);
/* Whether the identity (IKEv2 ID type + data) is named by the certificate:
 * ID_IPV4_ADDR/ID_IPV6_ADDR in an iPAddress subjectAltName, ID_FQDN in a
 * dNSName, ID_RFC822_ADDR in an rfc822Name, ID_DER_ASN1_DN equal to the
 * subject (DER compare after canonical re-encoding). */
bool ike_cert_matches_id(X509 *cert, uint8_t id_type, const uint8_t *id, size_t idlen);
/* Both checks of a peer's CERT against its ID payload: ike_cert_verify()
 * then ike_cert_matches_id(); IKE_CERT_ID_MISMATCH (counted, with detail)
 * when the chain is good but the identity is not in the certificate. */
enum ike_cert_err ike_cert_check_peer(const struct ike_creds *c, X509 *leaf,
				      STACK_OF(X509) *untrusted, uint8_t id_type,
				      const uint8_t *id, size_t idlen, time_t now, char *detail,
				      size_t dlen);
/* The ID our certificate proves by default: its subject DN (DER) into buf.
 * Returns the length (0 on error). */
size_t ike_cert_subject_der(X509 *cert, uint8_t *buf, size_t cap);
/* DER of a certificate for a CERT payload; returns the length. */
size_t ike_cert_der(X509 *cert, uint8_t *buf, size_t cap);

#endif
