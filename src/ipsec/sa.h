/* IPsec Security Association for the user-space ESP data plane (RFC 4303).
 *
 * An SA is unidirectional: an outbound SA only encapsulates, an inbound SA
 * only decapsulates. All crypto state (OpenSSL EVP contexts, HMAC pad
 * states) is created once in sa_new() and reused for every packet; the
 * per-packet path only changes the IV/nonce, so it never allocates.
 *
 * Transforms and keying material (as IKEv2 KEYMAT hands them over):
 *   ESP_XFORM_AES_GCM_16      RFC 4106: enc key = AES key (16|32) || salt (4)
 *   ESP_XFORM_CHACHA20_POLY1305 RFC 7634: enc key = key (32) || salt (4)
 *   ESP_XFORM_AES_CBC_HMAC_SHA256 RFC 3602 + RFC 4868: enc key = AES key
 *                             (16|32), auth key = 32 bytes, ICV 16 bytes.
 *
 * CBC IVs (RFC 3602 §3 asks for unpredictable IVs): each SA draws a random
 * 128-bit IV key and a random 64-bit nonce at creation; the IV of packet n
 * is AES-128-ECB_ivkey(nonce || n), n being the 64-bit sequence number.
 * It is unique per packet (n never repeats within an SA), unpredictable
 * without the IV key (which never leaves the SA and is independent of the
 * traffic keys), and costs one AES block per packet instead of a call to
 * the system random generator.
 *
 * Threads: the packet path of an SA (sequence number, replay window,
 * statistics, expiry state) runs in one thread at a time, the SA's owner
 * (the gateway's TX thread for outbound SAs, its RX thread for inbound
 * ones). The owner stores the fields other threads look at (seq, stats,
 * expiry) with relaxed atomic stores (SA_PUT), which cost a plain store;
 * other threads read them only through sa_snapshot() and
 * sa_expiry_peek(), which load and never store. */
#ifndef MIPSEC_IPSEC_SA_H
#define MIPSEC_IPSEC_SA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "core/addr.h"

enum esp_xform {
	ESP_XFORM_AES_GCM_16,
	ESP_XFORM_CHACHA20_POLY1305,
	ESP_XFORM_AES_CBC_HMAC_SHA256,
};

enum sa_dir { SA_DIR_IN, SA_DIR_OUT };
/* ESP (the default, zero) or AH (RFC 4302, ipsec/ah.h): an AH SA has no
 * cipher, only the HMAC-SHA-256-128 auth key (32 bytes); xform is
 * ignored. */
enum sa_proto { SA_PROTO_ESP = 0, SA_PROTO_AH = 1 };
enum sa_mode { SA_MODE_TRANSPORT, SA_MODE_TUNNEL };

/* Anti-replay window (RFC 4303 §3.4.3), in packets. The bitmap is a ring of
 * SA_REPLAY_WORDS 64-bit words, one word more than the window, so that
 * sliding it forward clears whole words (the RFC 6479 layout). */
#define SA_REPLAY_WINDOW	1024u
#define SA_REPLAY_WORDS		(SA_REPLAY_WINDOW / 64u + 1u)

#define SA_KEY_MAX		36	/* 32-byte key + 4-byte salt */
/* Outbound sequence number from which a non-ESN SA reports SA_SOFT. */
#define SA_SEQ_SOFT_LIMIT	(UINT32_MAX - (UINT64_C(1) << 20))
#define SA_ICV_LEN		16	/* every transform here has a 16-byte ICV */

/* Limits; 0 means "no limit". Seconds are counted from sa_new() in the
 * caller's clock (the `now_s` passed to sa_new and sa_poll). */
struct sa_lifetime {
	uint64_t bytes;
	uint64_t packets;
	uint64_t seconds;
};

/* Expiry state the caller polls (sa_poll) to rekey or delete the SA. */
enum sa_expiry { SA_LIVE = 0, SA_SOFT = 1, SA_HARD = 2 };

struct sa_params {
	uint32_t spi;
	enum sa_dir dir;
	enum sa_mode mode;
	enum esp_xform xform;
	bool esn;			/* RFC 4303 §2.2.1 extended sequence numbers */
	const uint8_t *enc_key;		/* AEAD: key || 4-byte salt */
	size_t enc_key_len;
	const uint8_t *auth_key;	/* CBC only: 32 bytes */
	size_t auth_key_len;
	struct sa_lifetime soft, hard;
	struct ip_addr src, dst;	/* outer addresses, for the SAD dump */
	uint64_t now_s;			/* creation time in the caller's clock */
	enum sa_proto proto;		/* SA_PROTO_ESP unless set */
};

/* Per-SA counters; the global ones are in esp.h. */
struct sa_stats {
	uint64_t packets, bytes;	/* authenticated payload */
	uint64_t auth_fail, replay, bad_pad, truncated, bad_len;
	uint64_t seq_overflow, expired;
};

enum sa_new_err {
	SA_NEW_OK = 0,
	SA_NEW_ERR_KEYLEN,		/* key length does not fit the transform */
	SA_NEW_ERR_SPI,			/* SPI 0..255 are reserved (RFC 4303 §2.1) */
	SA_NEW_ERR_CRYPTO,		/* OpenSSL refused the key or the cipher */
	SA_NEW_ERR_NOMEM,
};

struct sa {
	uint32_t spi;
	enum sa_dir dir;
	enum sa_mode mode;
	enum esp_xform xform;
	bool esn;

	/* Crypto state, built once. */
	EVP_CIPHER_CTX *cipher;		/* AEAD or CBC data cipher */
	EVP_CIPHER_CTX *ivgen;		/* CBC IV generator (AES-128-ECB) */
	uint8_t salt[4];		/* AEAD nonce prefix */
	uint8_t iv_nonce[8];		/* CBC IV generator nonce */
	void *hmac;			/* CBC: precomputed HMAC-SHA-256 pads */
	uint8_t iv_len, block;		/* explicit IV bytes; padding block */
	uint8_t enc_key[SA_KEY_MAX], auth_key[32];
	uint8_t enc_key_len, auth_key_len;

	/* Outbound: last sequence number sent (first packet gets 1).
	 * Inbound: highest authenticated sequence number and the window. */
	uint64_t seq;
	uint64_t replay[SA_REPLAY_WORDS];

	struct sa_lifetime soft, hard;
	uint64_t created_s;
	enum sa_expiry expiry;
	/* The highest expiry state the packet path has already reported to
	 * the SA's owner (a data plane wakes its owner once per state). */
	enum sa_expiry expiry_told;

	struct ip_addr src, dst;
	struct sa_stats stats;
	struct sa *hnext;		/* SAD hash chain */
	enum sa_proto proto;
};

struct sa *sa_new(const struct sa_params *p, enum sa_new_err *err);
void sa_free(struct sa *sa);
const char *sa_new_strerror(enum sa_new_err e);

/* Owner thread: re-evaluates the time limits (packet and byte limits are
 * checked on every packet) and returns the current expiry state. */
enum sa_expiry sa_poll(struct sa *sa, uint64_t now_s);
/* Any thread: the state sa_poll() would return, computed without storing
 * (a time limit reached is not recorded in the SA: its owner deletes it). */
enum sa_expiry sa_expiry_peek(const struct sa *sa, uint64_t now_s);

/* Any thread: the fields the owner updates, each read atomically. */
struct sa_snapshot {
	uint64_t seq;
	enum sa_expiry expiry;
	struct sa_stats stats;
};
void sa_snapshot(const struct sa *sa, struct sa_snapshot *out);

/* Owner-thread stores of the fields other threads read. */
#define SA_PUT(lvalue, v) __atomic_store_n(&(lvalue), (v), __ATOMIC_RELAXED)
#define SA_GET(lvalue) __atomic_load_n(&(lvalue), __ATOMIC_RELAXED)

/* Accounts one packet of `bytes` payload and updates the expiry state. */
void sa_account(struct sa *sa, size_t bytes);

/* Anti-replay (inbound SAs). `seq_lo` is the 32-bit field of the packet;
 * sa_replay_infer() returns the full 64-bit number (RFC 4303 Appendix A2
 * for ESN; the field itself otherwise) or false when the packet is
 * outside the window. sa_replay_check() tests before authentication,
 * sa_replay_update() records after it. */
bool sa_replay_infer(const struct sa *sa, uint32_t seq_lo, uint64_t *seq);
bool sa_replay_check(const struct sa *sa, uint64_t seq);
void sa_replay_update(struct sa *sa, uint64_t seq);

/* Names as IKEv2 and our configuration spell them; key lengths. */
const char *sa_xform_name(enum esp_xform x, size_t enc_key_len);
const char *sa_dir_name(enum sa_dir d);
const char *sa_mode_name(enum sa_mode m);

/* HMAC-SHA-256-128 over the concatenation of up to three buffers
 * (used by esp.c: packet, ESN high bits). */
void sa_hmac(const struct sa *sa, const uint8_t *a, size_t alen,
	     const uint8_t *b, size_t blen, uint8_t icv[SA_ICV_LEN]);

#endif
