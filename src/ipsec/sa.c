/* Security Association: key schedule, sequence numbers, anti-replay window
 * and lifetimes. See sa.h for the keying conventions. */

/* HMAC-SHA-256 uses the SHA-256 block interface with the key-dependent
 * inner and outer states computed once per SA and copied per packet.
 * OpenSSL 3.0's EVP_MAC (and EVP_MD_CTX re-initialisation) duplicate the
 * provider context on every re-init, i.e. allocate on every packet; the
 * SHA256_CTX states are plain structs, so this path never allocates and
 * also saves the two pad blocks per packet. The digest is the same
 * assembler implementation EVP dispatches to. */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "ipsec/sa.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

struct sa_hmac_state {
	SHA256_CTX inner, outer;
};

const char *sa_new_strerror(enum sa_new_err e)
{
	switch (e) {
	case SA_NEW_OK:		return "ok";
	case SA_NEW_ERR_KEYLEN:	return "key length does not match the transform";
	case SA_NEW_ERR_SPI:	return "SPI 0-255 is reserved (RFC 4303 2.1)";
	case SA_NEW_ERR_CRYPTO:	return "OpenSSL refused the cipher or key";
	case SA_NEW_ERR_NOMEM:	return "out of memory";
	}
	return "unknown error";
}

const char *sa_xform_name(enum esp_xform x, size_t enc_key_len)
{
	switch (x) {
	case ESP_XFORM_AES_GCM_16:
		return enc_key_len == 36 ? "aes256gcm16" : "aes128gcm16";
	case ESP_XFORM_CHACHA20_POLY1305:
		return "chacha20poly1305";
	case ESP_XFORM_AES_CBC_HMAC_SHA256:
		return enc_key_len == 32 ? "aes256-sha256" : "aes128-sha256";
	}
	return "unknown";
}

const char *sa_dir_name(enum sa_dir d)
{
	return d == SA_DIR_OUT ? "out" : "in";
}

const char *sa_mode_name(enum sa_mode m)
{
	return m == SA_MODE_TUNNEL ? "tunnel" : "transport";
}

static bool key_lengths_ok(const struct sa_params *p)
{
	if (p->proto == SA_PROTO_AH)
		return p->enc_key_len == 0 && p->auth_key_len == 32;
	switch (p->xform) {
	case ESP_XFORM_AES_GCM_16:
		return p->enc_key_len == 20 || p->enc_key_len == 36;
	case ESP_XFORM_CHACHA20_POLY1305:
		return p->enc_key_len == 36;
	case ESP_XFORM_AES_CBC_HMAC_SHA256:
		return (p->enc_key_len == 16 || p->enc_key_len == 32) &&
		       p->auth_key_len == 32;
	}
	return false;
}

static const EVP_CIPHER *data_cipher(enum esp_xform x, size_t key_len)
{
	switch (x) {
	case ESP_XFORM_AES_GCM_16:
		return key_len == 32 ? EVP_aes_256_gcm() : EVP_aes_128_gcm();
	case ESP_XFORM_CHACHA20_POLY1305:
		return EVP_chacha20_poly1305();
	case ESP_XFORM_AES_CBC_HMAC_SHA256:
		return key_len == 32 ? EVP_aes_256_cbc() : EVP_aes_128_cbc();
	}
	return NULL;
}

static void hmac_setup(struct sa_hmac_state *h, const uint8_t *key, size_t len)
{
	uint8_t ipad[64], opad[64];

	/* Keys here are 32 bytes: shorter than the block, used as is. */
	memset(ipad, 0x36, sizeof(ipad));
	memset(opad, 0x5c, sizeof(opad));
	for (size_t i = 0; i < len; i++) {
		ipad[i] ^= key[i];
		opad[i] ^= key[i];
	}
	SHA256_Init(&h->inner);
	SHA256_Update(&h->inner, ipad, sizeof(ipad));
	SHA256_Init(&h->outer);
	SHA256_Update(&h->outer, opad, sizeof(opad));
	OPENSSL_cleanse(ipad, sizeof(ipad));
	OPENSSL_cleanse(opad, sizeof(opad));
}

void sa_hmac(const struct sa *sa, const uint8_t *a, size_t alen,
	     const uint8_t *b, size_t blen, uint8_t icv[SA_ICV_LEN])
{
	const struct sa_hmac_state *h = sa->hmac;
	uint8_t md[SHA256_DIGEST_LENGTH];
	SHA256_CTX c = h->inner;

	SHA256_Update(&c, a, alen);
	if (blen)
		SHA256_Update(&c, b, blen);
	SHA256_Final(md, &c);
	c = h->outer;
	SHA256_Update(&c, md, sizeof(md));
	SHA256_Final(md, &c);
	/* RFC 4868 2.3: HMAC-SHA-256-128 keeps the leftmost 128 bits. */
	memcpy(icv, md, SA_ICV_LEN);
	OPENSSL_cleanse(&c, sizeof(c));
}

static enum sa_new_err setup_cbc(struct sa *sa, const struct sa_params *p)
{
	uint8_t ivkey[16];
	struct sa_hmac_state *h;

	h = calloc(1, sizeof(*h));
	if (!h)
		return SA_NEW_ERR_NOMEM;
	sa->hmac = h;
	hmac_setup(h, p->auth_key, p->auth_key_len);
	sa->ivgen = EVP_CIPHER_CTX_new();
	if (!sa->ivgen)
		return SA_NEW_ERR_NOMEM;
	if (RAND_bytes(ivkey, sizeof(ivkey)) != 1 ||
	    RAND_bytes(sa->iv_nonce, sizeof(sa->iv_nonce)) != 1 ||
	    EVP_CipherInit_ex2(sa->ivgen, EVP_aes_128_ecb(), ivkey, NULL, 1, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(sa->ivgen, 0) != 1) {
		OPENSSL_cleanse(ivkey, sizeof(ivkey));
		return SA_NEW_ERR_CRYPTO;
	}
	OPENSSL_cleanse(ivkey, sizeof(ivkey));
	sa->iv_len = 16;
	sa->block = 16;
	return EVP_CIPHER_CTX_set_padding(sa->cipher, 0) == 1 ? SA_NEW_OK
							       : SA_NEW_ERR_CRYPTO;
}

static enum sa_new_err setup_crypto(struct sa *sa, const struct sa_params *p)
{
	bool aead = p->xform != ESP_XFORM_AES_CBC_HMAC_SHA256;
	size_t klen = aead ? p->enc_key_len - 4 : p->enc_key_len;
	int enc = p->dir == SA_DIR_OUT;

	if (p->proto == SA_PROTO_AH) {
		/* AH: integrity only, the precomputed HMAC pads. */
		sa->hmac = calloc(1, sizeof(struct sa_hmac_state));
		if (!sa->hmac)
			return SA_NEW_ERR_NOMEM;
		hmac_setup(sa->hmac, p->auth_key, p->auth_key_len);
		return SA_NEW_OK;
	}
	sa->cipher = EVP_CIPHER_CTX_new();
	if (!sa->cipher)
		return SA_NEW_ERR_NOMEM;
	/* The key schedule is computed here, once; packets only set the IV. */
	if (EVP_CipherInit_ex2(sa->cipher, data_cipher(p->xform, klen),
			       p->enc_key, NULL, enc, NULL) != 1)
		return SA_NEW_ERR_CRYPTO;
	if (!aead)
		return setup_cbc(sa, p);
	memcpy(sa->salt, p->enc_key + klen, 4);
	sa->iv_len = 8;
	/* RFC 4106 3.2 / RFC 7634 2: padding aligns to 4 bytes. */
	sa->block = 4;
	return SA_NEW_OK;
}

struct sa *sa_new(const struct sa_params *p, enum sa_new_err *err)
{
	enum sa_new_err e;
	struct sa *sa;

	if (!key_lengths_ok(p)) {
		e = SA_NEW_ERR_KEYLEN;
		goto fail;
	}
	if (p->spi < 256) {
		e = SA_NEW_ERR_SPI;
		goto fail;
	}
	sa = calloc(1, sizeof(*sa));
	if (!sa) {
		e = SA_NEW_ERR_NOMEM;
		goto fail;
	}
	sa->spi = p->spi;
	sa->dir = p->dir;
	sa->mode = p->mode;
	sa->xform = p->xform;
	sa->esn = p->esn;
	sa->proto = p->proto;
	sa->soft = p->soft;
	sa->hard = p->hard;
	sa->created_s = p->now_s;
	sa->src = p->src;
	sa->dst = p->dst;
	if (p->enc_key_len)	/* AH SAs have no encryption key */
		memcpy(sa->enc_key, p->enc_key, p->enc_key_len);
	sa->enc_key_len = (uint8_t)p->enc_key_len;
	if (p->auth_key_len) {
		memcpy(sa->auth_key, p->auth_key, p->auth_key_len);
		sa->auth_key_len = (uint8_t)p->auth_key_len;
	}
	e = setup_crypto(sa, p);
	if (e != SA_NEW_OK) {
		sa_free(sa);
		goto fail;
	}
	if (err)
		*err = SA_NEW_OK;
	return sa;
fail:
	if (err)
		*err = e;
	return NULL;
}

void sa_free(struct sa *sa)
{
	if (!sa)
		return;
	EVP_CIPHER_CTX_free(sa->cipher);
	EVP_CIPHER_CTX_free(sa->ivgen);
	if (sa->hmac) {
		OPENSSL_cleanse(sa->hmac, sizeof(struct sa_hmac_state));
		free(sa->hmac);
	}
	OPENSSL_cleanse(sa, sizeof(*sa));
	free(sa);
}

/* ---- lifetimes ---- */

static bool over(uint64_t limit, uint64_t v)
{
	return limit && v >= limit;
}

/* RFC 4303 §3.3.3: the sequence counter must never cycle, so an outbound
 * SA without ESN asks for its rekey while 2^20 numbers are left. */
static bool seq_running_out(const struct sa *sa, uint64_t seq)
{
	return sa->dir == SA_DIR_OUT && !sa->esn && seq >= SA_SEQ_SOFT_LIMIT;
}

/* The expiry state the limits give at `age`, from state `cur` on. */
static enum sa_expiry evaluate(const struct sa *sa, enum sa_expiry cur, uint64_t packets,
			       uint64_t bytes, uint64_t seq, uint64_t age)
{
	if (over(sa->hard.bytes, bytes) || over(sa->hard.packets, packets) ||
	    over(sa->hard.seconds, age))
		return SA_HARD;
	if (cur == SA_LIVE &&
	    (over(sa->soft.bytes, bytes) || over(sa->soft.packets, packets) ||
	     over(sa->soft.seconds, age) || seq_running_out(sa, seq)))
		return SA_SOFT;
	return cur;
}

static uint64_t age_at(const struct sa *sa, uint64_t now_s)
{
	return now_s > sa->created_s ? now_s - sa->created_s : 0;
}

enum sa_expiry sa_poll(struct sa *sa, uint64_t now_s)
{
	SA_PUT(sa->expiry, evaluate(sa, sa->expiry, sa->stats.packets, sa->stats.bytes, sa->seq,
				    age_at(sa, now_s)));
	return sa->expiry;
}

enum sa_expiry sa_expiry_peek(const struct sa *sa, uint64_t now_s)
{
	struct sa_snapshot v;

	sa_snapshot(sa, &v);
	return evaluate(sa, v.expiry, v.stats.packets, v.stats.bytes, v.seq, age_at(sa, now_s));
}

void sa_snapshot(const struct sa *sa, struct sa_snapshot *out)
{
	const struct sa_stats *s = &sa->stats;

	out->seq = SA_GET(sa->seq);
	out->expiry = SA_GET(sa->expiry);
	out->stats = (struct sa_stats){
		.packets = SA_GET(s->packets), .bytes = SA_GET(s->bytes),
		.auth_fail = SA_GET(s->auth_fail), .replay = SA_GET(s->replay),
		.bad_pad = SA_GET(s->bad_pad), .truncated = SA_GET(s->truncated),
		.bad_len = SA_GET(s->bad_len), .seq_overflow = SA_GET(s->seq_overflow),
		.expired = SA_GET(s->expired),
	};
}

void sa_account(struct sa *sa, size_t bytes)
{
	SA_PUT(sa->stats.packets, sa->stats.packets + 1);
	SA_PUT(sa->stats.bytes, sa->stats.bytes + bytes);
	/* Time is only looked at in sa_poll(); age 0 never trips it here. */
	if (sa->expiry != SA_HARD)
		SA_PUT(sa->expiry, evaluate(sa, sa->expiry, sa->stats.packets, sa->stats.bytes,
					    sa->seq, 0));
}

/* ---- anti-replay (RFC 4303 3.4.3, Appendix A2) ---- */

bool sa_replay_infer(const struct sa *sa, uint32_t seq_lo, uint64_t *seq)
{
	const uint32_t w = SA_REPLAY_WINDOW;
	uint32_t tl = (uint32_t)sa->seq, th = (uint32_t)(sa->seq >> 32), hi;

	if (!sa->esn) {
		*seq = seq_lo;
		return true;
	}
	if (tl >= w - 1) {
		/* Case A: the window lies within one subspace. */
		if (seq_lo >= tl - w + 1) {
			hi = th;
		} else {
			if (th == UINT32_MAX)
				return false;
			hi = th + 1;
		}
	} else {
		/* Case B: the window spans two subspaces; tl - w + 1 wraps. */
		if (seq_lo >= (uint32_t)(tl - w + 1)) {
			if (th == 0)
				return false;
			hi = th - 1;
		} else {
			hi = th;
		}
	}
	*seq = (uint64_t)hi << 32 | seq_lo;
	return true;
}

bool sa_replay_check(const struct sa *sa, uint64_t seq)
{
	if (seq == 0)
		return false;		/* the first packet carries 1 */
	if (seq > sa->seq)
		return true;
	if (sa->seq - seq >= SA_REPLAY_WINDOW)
		return false;
	return !(sa->replay[(seq / 64) % SA_REPLAY_WORDS] & (1ull << (seq % 64)));
}

void sa_replay_update(struct sa *sa, uint64_t seq)
{
	if (seq > sa->seq) {
		uint64_t from = sa->seq / 64, to = seq / 64;

		if (to - from >= SA_REPLAY_WORDS)
			memset(sa->replay, 0, sizeof(sa->replay));
		else
			for (uint64_t b = from + 1; b <= to; b++)
				sa->replay[b % SA_REPLAY_WORDS] = 0;
		SA_PUT(sa->seq, seq);
	}
	sa->replay[(seq / 64) % SA_REPLAY_WORDS] |= 1ull << (seq % 64);
}
