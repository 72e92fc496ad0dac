/* IKEv2 cryptography (RFC 7296 §2.13-2.15, §2.17, §3.14; RFC 7427; RFC 7383
 * §2.5): the algorithms IKE negotiates, Diffie-Hellman, the key schedule,
 * SK/SKF payload protection and the AUTH payload. OpenSSL 3 underneath;
 * no global state. This header is the contract between the IKE engine
 * (ike_sa*.c) and the crypto (ike_crypto.c, ike_dh.c, ike_auth.c).
 *
 * Every function that can fail returns 0 / -1 (or NULL) and, when given an
 * `err` buffer, says why in one line (for the log). */
#ifndef MIPSEC_IKEV2_IKE_CRYPTO_H
#define MIPSEC_IKEV2_IKE_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

/* Transform IDs (IANA "IKEv2 Parameters"). */
enum {
	IKE_ENCR_AES_CBC = 12,
	IKE_ENCR_AES_GCM_16 = 20,
	IKE_ENCR_CHACHA20_POLY1305 = 28,
	IKE_PRF_HMAC_SHA2_256 = 5,
	IKE_PRF_HMAC_SHA2_384 = 6,
	IKE_PRF_HMAC_SHA2_512 = 7,
	IKE_INTEG_NONE = 0,
	IKE_INTEG_HMAC_SHA2_256_128 = 12,
	IKE_INTEG_HMAC_SHA2_384_192 = 13,
	IKE_INTEG_HMAC_SHA2_512_256 = 14,
	IKE_DH_NONE = 0,
	IKE_DH_MODP2048 = 14,
	IKE_DH_ECP256 = 19,
	IKE_DH_CURVE25519 = 31,
	IKE_ESN_NO = 0,
	IKE_ESN_YES = 1,
};

#define IKE_KEY_MAX	64	/* largest key or PRF output (SHA-512) */
#define IKE_DH_PUB_MAX	512	/* MODP-2048 public value: 256; room to spare */

/* One negotiated algorithm set. encr_keylen in bits (128/256; 256 for
 * ChaCha20). For ESP/AH the same structure carries the CHILD SA transforms
 * (prf unused; integ NONE for AEAD). */
struct ike_suite {
	uint16_t encr;
	uint16_t encr_keylen;
	uint16_t prf;
	uint16_t integ;
	uint16_t dh;
	bool esn;
};

bool ike_encr_is_aead(uint16_t encr);
/* Key bytes for the suite's cipher, including the 4-byte salt of AEAD
 * transforms (RFC 5282 §7.1, RFC 7634 §4). 0 when unknown. */
size_t ike_encr_keymat_len(const struct ike_suite *s);
size_t ike_integ_key_len(uint16_t integ);	/* 0 for NONE/unknown */
size_t ike_integ_icv_len(uint16_t integ);	/* truncated output */
size_t ike_prf_len(uint16_t prf);		/* output = preferred key size */
bool ike_dh_supported(uint16_t group);
/* Names for logs and configs ("aes128gcm16", "prfsha256", "ecp256",
 * "modp2048", "curve25519", "sha256"): NULL when unknown. */
const char *ike_transform_name(uint8_t xf_type, uint16_t id, uint16_t keylen);

/* ---- PRF ---------------------------------------------------------------- */

/* prf(key, data) (HMAC). out gets ike_prf_len(prf) bytes. */
int ike_prf(uint16_t prf, const uint8_t *key, size_t klen, const uint8_t *data,
	    size_t dlen, uint8_t *out);
/* prf+ (§2.13): `outlen` bytes of T1 | T2 | ... (at most 255 blocks). */
int ike_prf_plus(uint16_t prf, const uint8_t *key, size_t klen, const uint8_t *seed,
		 size_t slen, uint8_t *out, size_t outlen);

/* ---- Diffie-Hellman ------------------------------------------------------ */

/* A fresh key pair for `group` (14, 19, 31). Public values on the wire:
 * MODP big-endian padded to the prime length; ECP x || y (§3.4 / RFC 5903);
 * Curve25519 the 32 raw octets (RFC 8031). */
struct ike_dh;
struct ike_dh *ike_dh_new(uint16_t group, char *err, size_t errlen);
void ike_dh_free(struct ike_dh *dh);
uint16_t ike_dh_group(const struct ike_dh *dh);
/* Public value; returns its length (0 on error). */
size_t ike_dh_public(const struct ike_dh *dh, uint8_t *buf, size_t cap);
/* Shared secret g^ir from the peer's public value, checked as the RFCs ask
 * (length, point on curve, 1 < y < p-1, Curve25519 all-zero result);
 * returns its length (0 on error, with err). */
size_t ike_dh_shared(struct ike_dh *dh, const uint8_t *peer, size_t plen, uint8_t *out,
		     size_t cap, char *err, size_t errlen);

/* ---- key schedule (§2.14, §2.17, §2.18) ----------------------------------- */

struct ike_keys {
	uint8_t sk_d[IKE_KEY_MAX];
	uint8_t sk_ai[IKE_KEY_MAX], sk_ar[IKE_KEY_MAX];
	uint8_t sk_ei[IKE_KEY_MAX], sk_er[IKE_KEY_MAX];	/* AEAD: key || salt */
	uint8_t sk_pi[IKE_KEY_MAX], sk_pr[IKE_KEY_MAX];
	size_t prf_len, integ_len, encr_len;		/* lengths of the above */
};

/* Initial IKE SA: SKEYSEED = prf(Ni | Nr, g^ir), then the seven keys from
 * prf+(SKEYSEED, Ni | Nr | SPIi | SPIr). */
int ike_keys_derive(const struct ike_suite *s, const uint8_t *ni, size_t nilen,
		    const uint8_t *nr, size_t nrlen, const uint8_t *gir, size_t girlen,
		    const uint8_t spi_i[8], const uint8_t spi_r[8], struct ike_keys *k);
/* IKE SA rekey (§2.18): SKEYSEED = prf(SK_d_old, g^ir_new | Ni | Nr) with
 * the OLD SA's PRF, keys with the new suite's. */
int ike_keys_rekey(const struct ike_suite *s, uint16_t old_prf, const uint8_t *sk_d_old,
		   size_t sk_d_len, const uint8_t *gir, size_t girlen, const uint8_t *ni,
		   size_t nilen, const uint8_t *nr, size_t nrlen, const uint8_t spi_i[8],
		   const uint8_t spi_r[8], struct ike_keys *k);
/* CHILD SA KEYMAT (§2.17): prf+(SK_d, [g^ir_new |] Ni | Nr), `len` bytes.
 * The caller splits it: initiator->responder encr | integ, then
 * responder->initiator encr | integ. gir may be NULL (no PFS). */
int ike_child_keymat(uint16_t prf, const uint8_t *sk_d, size_t sk_d_len, const uint8_t *gir,
		     size_t girlen, const uint8_t *ni, size_t nilen, const uint8_t *nr,
		     size_t nrlen, uint8_t *out, size_t len);

/* ---- SK / SKF payload (§3.14, RFC 5282, RFC 7383 §2.5) --------------------- */

/* IV | ciphertext | ICV length for `plen` bytes of plaintext (padding and
 * the Pad Length octet included). */
size_t ike_sk_len(const struct ike_suite *s, size_t plen);

/* Protects a message in place. msg[0 .. body_off) is the IKE header, the
 * payloads before SK and the SK (or SKF) generic header (+ the 4 fragment
 * octets for SKF) already written with their final lengths; the plaintext
 * inner chain is `plain` (`plen` bytes); msg has room for body_off +
 * ike_sk_len(). Writes IV | ciphertext | ICV at msg + body_off. AEAD: AAD
 * is msg[0 .. body_off); otherwise the ICV is the integ MAC over
 * everything before it. ke/ka: SK_e and SK_a of the sending side. */
int ike_sk_seal(const struct ike_suite *s, const uint8_t *ke, const uint8_t *ka,
		uint8_t *msg, size_t body_off, const uint8_t *plain, size_t plen);
/* Verifies and decrypts in place: msg (msg_len bytes, the whole message as
 * received), SK body at msg + body_off through the end. On success
 * *plain / *plen point at the inner chain (padding removed). -1 with err on
 * a bad ICV or padding (the caller drops silently, §2.21.2). */
int ike_sk_open(const struct ike_suite *s, const uint8_t *ke, const uint8_t *ka,
		uint8_t *msg, size_t msg_len, size_t body_off, uint8_t **plain, size_t *plen,
		char *err, size_t errlen);

/* One record of Wireshark's ikev2_decryption_table UAT (no newline):
 *   <SPIi hex>,<SPIr hex>,<SK_ei hex>,<SK_er hex>,"<encr name>",
 *   <SK_ai hex>,<SK_ar hex>,"<integ name>"
 * (byte fields bare hex, empty for AEAD's SK_a; names quoted)
 * with the names as Wireshark 4.0 lists them ("AES-GCM-128 with 16 octet
 * ICV [RFC5282]" with key || salt, "AES-CBC-256 [RFC3602]",
 * "HMAC_SHA2_256_128 [RFC4868]", "NONE [RFC4306]"). Use it as
 * tshark -o 'uat:ikev2_decryption_table:<record>' or one line of
 * ~/.config/wireshark/ikev2_decryption_table. Returns what snprintf does. */
int ike_decryption_table_record(const struct ike_suite *s, const uint8_t spi_i[8],
				const uint8_t spi_r[8], const struct ike_keys *k, char *buf,
				size_t len);
/* Registers the counters of ike_crypto.c, ike_dh.c, ike_auth.c and
 * ike_cert.c: SK failures (bad ICV, malformed, library), refused KE
 * values, refused AUTH algorithms and signatures, refused certificates
 * (mipsec_ike_cert_refused_total{reason=...}). */
void ike_crypto_stats_register(void);

/* ---- authentication (§2.15, RFC 7427) ---------------------------------------- */

/* The signed octets: RealMessage | NonceOfPeer | prf(SK_p, RestOfID),
 * RestOfID being the ID payload body (type, 3 reserved, data). out must
 * hold mlen + nlen + IKE_KEY_MAX; returns the length (0 on error). */
size_t ike_auth_octets(uint16_t prf, const uint8_t *sk_p, size_t sk_p_len,
		       const uint8_t *real_msg, size_t mlen, const uint8_t *peer_nonce,
		       size_t nlen, const uint8_t *id_body, size_t idlen, uint8_t *out,
		       size_t cap);
/* PSK (method 2): prf(prf(Shared Secret, "Key Pad for IKEv2"), octets). */
int ike_auth_psk(uint16_t prf, const uint8_t *psk, size_t psklen, const uint8_t *octets,
		 size_t olen, uint8_t *out, size_t *outlen);
/* RFC 7427 hash algorithms (SIGNATURE_HASH_ALGORITHMS values). */
enum { IKE_HASH_SHA1 = 1, IKE_HASH_SHA256 = 2, IKE_HASH_SHA384 = 3, IKE_HASH_SHA512 = 4 };
/* Signs with `key` (ECDSA P-256/P-384 or RSA): method 14 AUTH data
 * (AlgorithmIdentifier length | DER | signature). ECDSA with SHA-256
 * (ecdsa-with-SHA256), RSA with sha256WithRSAEncryption (PKCS#1 v1.5) unless
 * `rsa_pss`. `hash` is an IKE_HASH_* both ends support (§4 of RFC 7427).
 * Returns the length written (0 on error). */
size_t ike_auth_sign(EVP_PKEY *key, int hash, bool rsa_pss, const uint8_t *octets,
		     size_t olen, uint8_t *out, size_t cap, char *err, size_t errlen);
/* Verifies AUTH `method` (1 RSA, 3 DSS, 14 digital signature; 9-11 ECDSA
 * of RFC 4754 optional) of `data` over `octets` with the public key of
 * `cert`. 0 when valid. */
int ike_auth_verify(X509 *cert, uint8_t method, const uint8_t *data, size_t dlen,
		    const uint8_t *octets, size_t olen, char *err, size_t errlen);
/* Constant-time comparison of a PSK AUTH value. */
bool ike_auth_psk_equal(const uint8_t *a, const uint8_t *b, size_t len);

#endif
