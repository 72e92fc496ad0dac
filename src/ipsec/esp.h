/* ESP packet processing (RFC 4303) over one SA: encapsulation and
 * decapsulation in place, no allocation, precise errors and counters.
 *
 * Packet layout:  SPI(4) | Seq(4) | IV(8 AEAD, 16 CBC) |
 *                 ciphertext( payload | padding 1,2,3.. | pad len | NH ) |
 *                 ICV(16)
 * AEAD (RFC 4106 / RFC 7634): nonce = salt(4) || IV, IV = the 64-bit
 * sequence number, AAD = SPI || Seq (SPI || Seq high || Seq low with ESN,
 * RFC 4106 §5). CBC + HMAC (RFC 3602, RFC 4868): ICV = HMAC over
 * SPI .. ciphertext, followed by the high 32 sequence bits with ESN
 * (RFC 4303 §2.2.1), which are never sent. */
#ifndef MIPSEC_IPSEC_ESP_H
#define MIPSEC_IPSEC_ESP_H

#include <stddef.h>
#include <stdint.h>

#include "ipsec/sa.h"

#define ESP_HDR_LEN	8		/* SPI + sequence number */
#define ESP_NH_NONE	59		/* dummy packet (RFC 4303 2.6) */

enum esp_err {
	ESP_OK = 0,
	ESP_ERR_TRUNCATED,	/* shorter than header + IV + trailer + ICV */
	ESP_ERR_BAD_LEN,	/* CBC ciphertext not a whole number of blocks */
	ESP_ERR_UNKNOWN_SPI,	/* no SA for the SPI (SAD lookup) */
	ESP_ERR_WRONG_SPI,	/* packet SPI differs from the SA given */
	ESP_ERR_REPLAY,		/* duplicate or left of the window */
	ESP_ERR_AUTH,		/* ICV mismatch */
	ESP_ERR_PAD,		/* pad length or pad bytes not 1,2,3.. */
	ESP_ERR_SPACE,		/* output buffer too small */
	ESP_ERR_SEQ_OVERFLOW,	/* sequence space exhausted: rekey */
	ESP_ERR_EXPIRED,	/* the SA hit a hard lifetime */
	ESP_ERR_DIR,		/* encap on an inbound SA or vice versa */
	ESP_ERR_CRYPTO,		/* OpenSSL failed (not an input problem) */
};

const char *esp_strerror(enum esp_err e);

/* Bytes before the payload (SPI, Seq, IV). */
size_t esp_header_len(const struct sa *sa);
/* Bytes after the payload for a payload of `len` bytes: padding, pad
 * length, next header and ICV. */
size_t esp_trailer_len(const struct sa *sa, size_t len);

/* Encapsulates `payload` (`len` bytes) into `out` (capacity `cap`), which
 * receives the whole ESP packet (*out_len bytes). In place when `payload`
 * == out + esp_header_len(sa) (no copy at all); otherwise the payload is
 * moved there first. Consumes a sequence number only on success. */
enum esp_err esp_encap(struct sa *sa, const uint8_t *payload, size_t len,
		       uint8_t next_header, uint8_t *out, size_t cap,
		       size_t *out_len);

struct esp_decap_result {
	uint8_t next_header;
	uint8_t *payload;	/* inside the packet buffer */
	size_t len;
	uint64_t seq;		/* full (ESN-inferred) sequence number */
};

/* Verifies and decrypts `pkt` (`len` bytes, starting with the SPI) in
 * place. Order: length checks, replay check, ICV, replay update, padding
 * (RFC 4303 §3.4.3-3.4.4). The SPI must be that of `sa`. */
enum esp_err esp_decap(struct sa *sa, uint8_t *pkt, size_t len,
		       struct esp_decap_result *r);

/* The SPI of a packet (0 when shorter than 4 bytes). */
uint32_t esp_spi(const uint8_t *pkt, size_t len);

/* Counts error `e` in the global counters and, when `sa` is given, in
 * the SA's own (esp_decap/esp_encap do this themselves; the SAD uses it
 * for unknown SPIs). */
void esp_count_error(struct sa *sa, enum esp_err e);

/* Registers the global ESP counters (idempotent). */
void esp_stats_register(void);

#endif
