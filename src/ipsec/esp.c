/* ESP encapsulation and decapsulation (RFC 4303), see esp.h. */
#include "ipsec/esp.h"

#include <string.h>

#include <openssl/crypto.h>

#include "core/stats.h"

COUNTER_DEFINE(ctr_encap, "mipsec_esp_encap_total", "ESP packets built");
COUNTER_DEFINE(ctr_decap, "mipsec_esp_decap_total", "ESP packets accepted");
COUNTER_DEFINE(ctr_truncated, "mipsec_esp_truncated_total",
	       "ESP packets too short for header, IV, trailer and ICV");
COUNTER_DEFINE(ctr_bad_len, "mipsec_esp_bad_length_total",
	       "ESP packets whose CBC ciphertext is not whole blocks");
COUNTER_DEFINE(ctr_unknown_spi, "mipsec_esp_unknown_spi_total",
	       "ESP packets for an SPI with no SA");
COUNTER_DEFINE(ctr_replay, "mipsec_esp_replay_total",
	       "ESP packets dropped by the anti-replay window");
COUNTER_DEFINE(ctr_auth, "mipsec_esp_auth_fail_total",
	       "ESP packets whose ICV did not verify");
COUNTER_DEFINE(ctr_pad, "mipsec_esp_bad_padding_total",
	       "ESP packets with a bad pad length or pad bytes");
COUNTER_DEFINE(ctr_overflow, "mipsec_esp_seq_overflow_total",
	       "ESP packets refused because the sequence space is used up");
COUNTER_DEFINE(ctr_expired, "mipsec_esp_expired_total",
	       "ESP packets refused on an SA past its hard lifetime");
COUNTER_DEFINE(ctr_other, "mipsec_esp_other_error_total",
	       "ESP packets refused for another reason (buffer, direction, crypto)");

void esp_stats_register(void)
{
	static int done;
	struct counter *all[] = { &ctr_encap, &ctr_decap, &ctr_truncated,
				  &ctr_bad_len, &ctr_unknown_spi, &ctr_replay,
				  &ctr_auth, &ctr_pad, &ctr_overflow, &ctr_expired,
				  &ctr_other };

	if (done)
		return;
	done = 1;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		counter_register(all[i]);
}

const char *esp_strerror(enum esp_err e)
{
	switch (e) {
	case ESP_OK:			return "ok";
	case ESP_ERR_TRUNCATED:		return "ESP packet truncated";
	case ESP_ERR_BAD_LEN:		return "ESP ciphertext is not a whole number of cipher blocks";
	case ESP_ERR_UNKNOWN_SPI:	return "no SA for this SPI";
	case ESP_ERR_WRONG_SPI:		return "packet SPI does not match the SA";
	case ESP_ERR_REPLAY:		return "sequence number replayed or left of the anti-replay window";
	case ESP_ERR_AUTH:		return "ICV verification failed";
	case ESP_ERR_PAD:		return "bad ESP padding (RFC 4303 2.4)";
	case ESP_ERR_SPACE:		return "output buffer too small";
	case ESP_ERR_SEQ_OVERFLOW:	return "sequence number space exhausted, SA must be rekeyed";
	case ESP_ERR_EXPIRED:		return "SA past its hard lifetime";
	case ESP_ERR_DIR:		return "SA direction does not allow this operation";
	case ESP_ERR_CRYPTO:		return "crypto library failure";
	}
	return "unknown ESP error";
}

void esp_count_error(struct sa *sa, enum esp_err e)
{
	struct sa_stats *s = sa ? &sa->stats : NULL;
	uint64_t dummy;
	struct counter *c;
	uint64_t *v = &dummy;

	switch (e) {
	case ESP_OK:
		return;
	case ESP_ERR_TRUNCATED:	c = &ctr_truncated; if (s) v = &s->truncated; break;
	case ESP_ERR_BAD_LEN:	c = &ctr_bad_len; if (s) v = &s->bad_len; break;
	case ESP_ERR_UNKNOWN_SPI: c = &ctr_unknown_spi; break;
	case ESP_ERR_REPLAY:	c = &ctr_replay; if (s) v = &s->replay; break;
	case ESP_ERR_AUTH:	c = &ctr_auth; if (s) v = &s->auth_fail; break;
	case ESP_ERR_PAD:	c = &ctr_pad; if (s) v = &s->bad_pad; break;
	case ESP_ERR_SEQ_OVERFLOW: c = &ctr_overflow; if (s) v = &s->seq_overflow; break;
	case ESP_ERR_EXPIRED:	c = &ctr_expired; if (s) v = &s->expired; break;
	default:		c = &ctr_other; break;
	}
	/* Encap (TX thread) and decap (RX thread) share some of these
	 * (expired, other): an atomic add, off the fast path anyway. */
	__atomic_fetch_add(&c->value, 1, __ATOMIC_RELAXED);
	SA_PUT(*v, *v + 1);	/* the SA's owner thread: one writer */
}

static enum esp_err fail(struct sa *sa, enum esp_err e)
{
	esp_count_error(sa, e);
	return e;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool aead(const struct sa *sa)
{
	return sa->xform != ESP_XFORM_AES_CBC_HMAC_SHA256;
}

uint32_t esp_spi(const uint8_t *pkt, size_t len)
{
	return len < 4 ? 0 : get32(pkt);
}

size_t esp_header_len(const struct sa *sa)
{
	return ESP_HDR_LEN + sa->iv_len;
}

static size_t pad_len(const struct sa *sa, size_t len)
{
	return (sa->block - (len + 2) % sa->block) % sa->block;
}

size_t esp_trailer_len(const struct sa *sa, size_t len)
{
	return pad_len(sa, len) + 2 + SA_ICV_LEN;
}

/* AAD of RFC 4106 5 / RFC 7634 2.1: SPI || [Seq high] || Seq low. */
static size_t build_aad(const struct sa *sa, const uint8_t *pkt, uint64_t seq,
			uint8_t aad[12])
{
	if (!sa->esn) {
		memcpy(aad, pkt, 8);
		return 8;
	}
	memcpy(aad, pkt, 4);
	put32(aad + 4, (uint32_t)(seq >> 32));
	memcpy(aad + 8, pkt + 4, 4);
	return 12;
}

/* One AEAD operation in place; `tag` is written (enc) or checked (dec). */
static bool aead_run(struct sa *sa, int enc, const uint8_t *iv, const uint8_t *aad,
		     size_t aad_len, uint8_t *data, size_t len, uint8_t *tag)
{
	EVP_CIPHER_CTX *c = sa->cipher;
	uint8_t nonce[12];
	int n;

	memcpy(nonce, sa->salt, 4);
	memcpy(nonce + 4, iv, 8);
	if (EVP_CipherInit_ex2(c, NULL, NULL, nonce, enc, NULL) != 1 ||
	    EVP_CipherUpdate(c, NULL, &n, aad, (int)aad_len) != 1 ||
	    (len && EVP_CipherUpdate(c, data, &n, data, (int)len) != 1))
		return false;
	if (!enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, SA_ICV_LEN, tag) != 1)
		return false;
	if (EVP_CipherFinal_ex(c, data + len, &n) != 1)
		return false;
	return !enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, SA_ICV_LEN, tag) == 1;
}

static bool cbc_run(struct sa *sa, int enc, const uint8_t *iv, uint8_t *data, size_t len)
{
	int n;

	return EVP_CipherInit_ex2(sa->cipher, NULL, NULL, iv, enc, NULL) == 1 &&
	       EVP_CipherUpdate(sa->cipher, data, &n, data, (int)len) == 1;
}

/* CBC IV of packet `seq`: AES-ECB under the SA's IV key of nonce || seq. */
static bool cbc_iv(struct sa *sa, uint64_t seq, uint8_t iv[16])
{
	uint8_t in[16];
	int n;

	memcpy(in, sa->iv_nonce, 8);
	put32(in + 8, (uint32_t)(seq >> 32));
	put32(in + 12, (uint32_t)seq);
	return EVP_CipherUpdate(sa->ivgen, iv, &n, in, 16) == 1 && n == 16;
}

static enum esp_err encap_check(struct sa *sa, size_t total, size_t cap)
{
	if (sa->dir != SA_DIR_OUT)
		return ESP_ERR_DIR;
	if (sa->expiry == SA_HARD)
		return ESP_ERR_EXPIRED;
	if (sa->seq >= (sa->esn ? UINT64_MAX : UINT32_MAX))
		return ESP_ERR_SEQ_OVERFLOW;	/* RFC 4303 3.3.3: never cycle */
	if (total > cap || total > INT32_MAX)
		return ESP_ERR_SPACE;
	return ESP_OK;
}

enum esp_err esp_encap(struct sa *sa, const uint8_t *payload, size_t len,
		       uint8_t next_header, uint8_t *out, size_t cap,
		       size_t *out_len)
{
	size_t hdr = esp_header_len(sa), pad = pad_len(sa, len);
	size_t ct_len = len + pad + 2, total = hdr + ct_len + SA_ICV_LEN;
	uint8_t *ct = out + hdr, *icv = ct + ct_len, aad[12];
	uint64_t seq = sa->seq + 1;
	enum esp_err e;

	if (len > cap)
		return fail(sa, ESP_ERR_SPACE);
	e = encap_check(sa, total, cap);
	if (e != ESP_OK)
		return fail(sa, e);
	if (payload != ct)
		memmove(ct, payload, len);
	for (size_t i = 0; i < pad; i++)
		ct[len + i] = (uint8_t)(i + 1);
	ct[len + pad] = (uint8_t)pad;
	ct[len + pad + 1] = next_header;
	put32(out, sa->spi);
	put32(out + 4, (uint32_t)seq);
	if (aead(sa)) {
		put32(out + 8, (uint32_t)(seq >> 32));
		put32(out + 12, (uint32_t)seq);
		if (!aead_run(sa, 1, out + 8, aad, build_aad(sa, out, seq, aad),
			      ct, ct_len, icv))
			return fail(sa, ESP_ERR_CRYPTO);
	} else {
		uint8_t hi[4];

		put32(hi, (uint32_t)(seq >> 32));
		if (!cbc_iv(sa, seq, out + 8) || !cbc_run(sa, 1, out + 8, ct, ct_len))
			return fail(sa, ESP_ERR_CRYPTO);
		sa_hmac(sa, out, hdr + ct_len, hi, sa->esn ? 4 : 0, icv);
	}
	SA_PUT(sa->seq, seq);
	sa_account(sa, len);
	counter_inc(&ctr_encap);
	*out_len = total;
	return ESP_OK;
}

static enum esp_err decap_auth(struct sa *sa, uint8_t *pkt, size_t hdr,
			       size_t ct_len, uint64_t seq)
{
	uint8_t *ct = pkt + hdr, *icv = ct + ct_len, aad[12];

	if (aead(sa))
		return aead_run(sa, 0, pkt + 8, aad, build_aad(sa, pkt, seq, aad),
				ct, ct_len, icv) ? ESP_OK : ESP_ERR_AUTH;
	uint8_t want[SA_ICV_LEN], hi[4];

	if (ct_len % sa->block)
		return ESP_ERR_BAD_LEN;
	put32(hi, (uint32_t)(seq >> 32));
	sa_hmac(sa, pkt, hdr + ct_len, hi, sa->esn ? 4 : 0, want);
	if (CRYPTO_memcmp(want, icv, SA_ICV_LEN) != 0)
		return ESP_ERR_AUTH;
	return cbc_run(sa, 0, pkt + 8, ct, ct_len) ? ESP_OK : ESP_ERR_CRYPTO;
}

/* RFC 4303 2.4: pad bytes are 1, 2, 3, ... and must fit. */
static bool padding_ok(const uint8_t *ct, size_t ct_len)
{
	size_t pad = ct[ct_len - 2];

	if (pad + 2 > ct_len)
		return false;
	for (size_t i = 0; i < pad; i++)
		if (ct[ct_len - 2 - pad + i] != (uint8_t)(i + 1))
			return false;
	return true;
}

enum esp_err esp_decap(struct sa *sa, uint8_t *pkt, size_t len,
		       struct esp_decap_result *r)
{
	size_t hdr = esp_header_len(sa), ct_len, min_ct = aead(sa) ? 2 : sa->block;
	uint64_t seq;
	enum esp_err e;

	if (sa->dir != SA_DIR_IN)
		return fail(sa, ESP_ERR_DIR);
	if (len < hdr + min_ct + SA_ICV_LEN || len > INT32_MAX)
		return fail(sa, ESP_ERR_TRUNCATED);
	if (get32(pkt) != sa->spi)
		return fail(sa, ESP_ERR_WRONG_SPI);
	if (sa->expiry == SA_HARD)
		return fail(sa, ESP_ERR_EXPIRED);
	/* Window check before the (costly) ICV, update only after it. */
	if (!sa_replay_infer(sa, get32(pkt + 4), &seq) || !sa_replay_check(sa, seq))
		return fail(sa, ESP_ERR_REPLAY);
	ct_len = len - hdr - SA_ICV_LEN;
	e = decap_auth(sa, pkt, hdr, ct_len, seq);
	if (e != ESP_OK)
		return fail(sa, e);
	sa_replay_update(sa, seq);
	if (!padding_ok(pkt + hdr, ct_len))
		return fail(sa, ESP_ERR_PAD);
	r->next_header = pkt[hdr + ct_len - 1];
	r->payload = pkt + hdr;
	r->len = ct_len - 2 - pkt[hdr + ct_len - 2];
	r->seq = seq;
	sa_account(sa, r->len);
	counter_inc(&ctr_decap);
	return ESP_OK;
}
