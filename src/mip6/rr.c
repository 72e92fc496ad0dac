/* Return routability cryptography and the CN nonce table (RFC 6275 §5.2). */
#include "mip6/rr.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

#include "core/log.h"
#include "wire/mh.h"

#define MOD "rr"

/* One HMAC-SHA1 context, fetched once and re-keyed per message. */
static EVP_MAC *hmac;
static EVP_MAC_CTX *hctx;

static int hmac_begin(const uint8_t *key, size_t keylen)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA1", 0),
		OSSL_PARAM_construct_end(),
	};

	if (!hctx) {
		if (!hmac)
			hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
		if (hmac)
			hctx = EVP_MAC_CTX_new(hmac);
		if (!hctx) {
			log_err(MOD, "cannot create an HMAC-SHA1 context");
			return -1;
		}
	}
	if (!EVP_MAC_init(hctx, key, keylen, params)) {
		log_err(MOD, "HMAC-SHA1 init failed");
		return -1;
	}
	return 0;
}

static int hmac_update(const uint8_t *p, size_t len)
{
	return len == 0 || EVP_MAC_update(hctx, p, len) ? 0 : -1;
}

/* Finishes into a 20-octet buffer and copies the First(bits) of it. */
static int hmac_first(uint8_t *out, size_t outlen)
{
	uint8_t md[20];
	size_t mdlen = 0;

	if (!EVP_MAC_final(hctx, md, &mdlen, sizeof(md)) || mdlen != sizeof(md)) {
		log_err(MOD, "HMAC-SHA1 final failed");
		return -1;
	}
	memcpy(out, md, outlen);
	OPENSSL_cleanse(md, sizeof(md));
	return 0;
}

int rr_keygen_token(const uint8_t kcn[RR_KCN_LEN], const uint8_t addr[16],
		    const uint8_t nonce[RR_NONCE_LEN], enum rr_kind kind,
		    uint8_t token[RR_TOKEN_LEN])
{
	uint8_t last = kind == RR_CAREOF ? 1 : 0;

	if (hmac_begin(kcn, RR_KCN_LEN) < 0 || hmac_update(addr, 16) < 0 ||
	    hmac_update(nonce, RR_NONCE_LEN) < 0 || hmac_update(&last, 1) < 0)
		return -1;
	return hmac_first(token, RR_TOKEN_LEN);
}

int rr_kbm(const uint8_t home[RR_TOKEN_LEN], const uint8_t *care_of, uint8_t kbm[RR_KBM_LEN])
{
	uint8_t in[2 * RR_TOKEN_LEN];
	unsigned int mdlen = 0;

	memcpy(in, home, RR_TOKEN_LEN);
	if (care_of)
		memcpy(in + RR_TOKEN_LEN, care_of, RR_TOKEN_LEN);
	int ok = EVP_Digest(in, care_of ? sizeof(in) : RR_TOKEN_LEN, kbm, &mdlen,
			    EVP_sha1(), NULL);
	OPENSSL_cleanse(in, sizeof(in));
	if (!ok || mdlen != RR_KBM_LEN) {
		log_err(MOD, "SHA1 failed");
		return -1;
	}
	return 0;
}

int rr_auth(const uint8_t kbm[RR_KBM_LEN], const uint8_t coa[16], const uint8_t cn[16],
	    const uint8_t *mh, size_t len, size_t auth_off, uint8_t out[RR_AUTH_LEN])
{
	static const uint8_t zero[2];

	/* The checksum is octets 4-5; the authenticator must follow them. */
	if (len < 8 || auth_off < 6 || auth_off > len || len - auth_off < RR_AUTH_LEN)
		return -1;
	if (hmac_begin(kbm, RR_KBM_LEN) < 0 || hmac_update(coa, 16) < 0 ||
	    hmac_update(cn, 16) < 0 || hmac_update(mh, 4) < 0 || hmac_update(zero, 2) < 0 ||
	    hmac_update(mh + 6, auth_off - 6) < 0 ||
	    hmac_update(mh + auth_off + RR_AUTH_LEN, len - auth_off - RR_AUTH_LEN) < 0)
		return -1;
	return hmac_first(out, RR_AUTH_LEN);
}

bool rr_auth_verify(const uint8_t kbm[RR_KBM_LEN], const uint8_t coa[16], const uint8_t cn[16],
		    const uint8_t *mh, size_t len, size_t auth_off)
{
	uint8_t want[RR_AUTH_LEN];

	if (rr_auth(kbm, coa, cn, mh, len, auth_off, want) < 0)
		return false;
	return CRYPTO_memcmp(want, mh + auth_off, RR_AUTH_LEN) == 0;
}

int rr_auth_offset(const uint8_t *mh, size_t len)
{
	struct mh_opt_iter it;
	struct mh_opt o, last = { 0 };
	bool any = false;
	int rc;

	if (len < 8 || len > MH_MAX_LEN || (size_t)(mh[1] + 1) * 8 != len)
		return -1;
	mh_opt_iter_init(&it, mh, len);
	while ((rc = mh_opt_next(&it, &o, NULL)) == 1) {
		last = o;
		any = true;
	}
	/* Last option, padding included: no trailing padding allowed. */
	if (rc < 0 || !any || last.type != MH_OPT_AUTH || last.len != RR_AUTH_LEN ||
	    (size_t)last.off + 2 + RR_AUTH_LEN != len)
		return -1;
	return last.off + 2;
}

int rr_seal(uint8_t *mh, size_t len, const uint8_t kbm[RR_KBM_LEN], const uint8_t coa[16],
	    const uint8_t cn[16], const uint8_t csum_src[16], const uint8_t csum_dst[16])
{
	int off = rr_auth_offset(mh, len);

	if (off < 0 || rr_auth(kbm, coa, cn, mh, len, (size_t)off, mh + off) < 0)
		return -1;
	put_be16(mh + 4, 0);
	put_be16(mh + 4, mh_checksum(mh, len, csum_src, csum_dst));
	return 0;
}

bool rr_equal(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

int rr_random(void *buf, size_t len)
{
	if (RAND_bytes(buf, (int)len) != 1) {
		log_err(MOD, "RAND_bytes failed");
		return -1;
	}
	return 0;
}

/* ---- CN nonce table ------------------------------------------------------ */

int rr_table_init(struct rr_table *t, uint32_t kcn_lifetime_s, uint32_t interval_s,
		  uint32_t lifetime_s, uint64_t now_ms)
{
	uint16_t start;

	if (kcn_lifetime_s < 1 || interval_s < 1 || lifetime_s < interval_s ||
	    lifetime_s > RR_MAX_NONCE_LIFETIME || lifetime_s / interval_s >= RR_NONCE_RING)
		return -EINVAL;
	memset(t, 0, sizeof(*t));
	t->kcn_lifetime_ms = kcn_lifetime_s * 1000u;
	t->interval_ms = interval_s * 1000u;
	t->lifetime_ms = lifetime_s * 1000u;
	/* A random first index: indices of a restarted CN do not name the
	 * nonces of its previous run. */
	if (rr_random(t->kcn, sizeof(t->kcn)) < 0 || rr_random(&start, sizeof(start)) < 0)
		return -EIO;
	t->kcn_created_ms = now_ms;
	t->kcn_generated = 1;
	t->cur_index = start;
	return 0;
}

static bool expired(const struct rr_table *t, const struct rr_nonce *n, uint64_t now_ms)
{
	return n->first_use_ms && now_ms >= n->first_use_ms + t->lifetime_ms;
}

static const struct rr_nonce *generate(struct rr_table *t, uint64_t now_ms)
{
	uint16_t idx = t->have_cur ? (uint16_t)(t->cur_index + 1) : t->cur_index;
	struct rr_nonce *n = &t->ring[idx % RR_NONCE_RING];

	if (now_ms >= t->kcn_created_ms + t->kcn_lifetime_ms) {
		if (rr_random(t->kcn, sizeof(t->kcn)) < 0)
			return NULL;
		t->kcn_created_ms = now_ms;
		t->kcn_generated++;
	}
	/* The slot's previous nonce is RR_NONCE_RING intervals old, long past
	 * its lifetime (rr_table_init enforces the ratio). */
	if (rr_random(n->nonce, sizeof(n->nonce)) < 0)
		return NULL;
	memcpy(n->kcn, t->kcn, sizeof(n->kcn));
	n->index = idx;
	n->created_ms = now_ms;
	n->first_use_ms = now_ms;
	n->valid = true;
	t->cur_index = idx;
	t->have_cur = true;
	t->generated++;
	return n;
}

const struct rr_nonce *rr_table_current(struct rr_table *t, uint64_t now_ms)
{
	if (t->have_cur) {
		struct rr_nonce *n = &t->ring[t->cur_index % RR_NONCE_RING];

		if (n->valid && now_ms < n->first_use_ms + t->interval_ms &&
		    now_ms < t->kcn_created_ms + t->kcn_lifetime_ms)
			return n;
	}
	return generate(t, now_ms);
}

const struct rr_nonce *rr_table_lookup(const struct rr_table *t, uint16_t index,
				       uint64_t now_ms)
{
	const struct rr_nonce *n = &t->ring[index % RR_NONCE_RING];

	if (!n->valid || n->index != index || expired(t, n, now_ms))
		return NULL;
	return n;
}

unsigned rr_table_expire(struct rr_table *t, uint64_t now_ms)
{
	unsigned gone = 0;

	for (size_t i = 0; i < RR_NONCE_RING; i++) {
		struct rr_nonce *n = &t->ring[i];

		if (n->valid && expired(t, n, now_ms)) {
			OPENSSL_cleanse(n, sizeof(*n));
			gone++;
		}
	}
	return gone;
}

json_t *rr_table_dump(const struct rr_table *t, uint64_t now_ms)
{
	json_t *a = json_array();

	for (size_t i = 0; i < RR_NONCE_RING; i++) {
		const struct rr_nonce *n = &t->ring[i];

		if (!n->valid || expired(t, n, now_ms))
			continue;
		uint64_t end = n->first_use_ms + t->lifetime_ms;
		json_array_append_new(a, json_pack("{s:i, s:b, s:f, s:f}",
			"index", (json_int_t)n->index,
			"current", t->have_cur && n->index == t->cur_index,
			"age_s", (double)(now_ms - n->created_ms) / 1000.0,
			"remaining_s", (double)(end - now_ms) / 1000.0));
	}
	return a;
}

/* ---- MN side ------------------------------------------------------------- */

int rr_mn_start(struct rr_mn *m, bool home)
{
	if (home) {
		m->home_rx_ms = 0;
		return rr_random(m->home_cookie, RR_COOKIE_LEN);
	}
	m->coa_rx_ms = 0;
	return rr_random(m->coa_cookie, RR_COOKIE_LEN);
}

bool rr_mn_accept(struct rr_mn *m, bool home, const uint8_t cookie[RR_COOKIE_LEN],
		  uint16_t nonce_index, const uint8_t token[RR_TOKEN_LEN], uint64_t now_ms)
{
	if (!rr_equal(cookie, home ? m->home_cookie : m->coa_cookie, RR_COOKIE_LEN))
		return false;
	if (home) {
		memcpy(m->home_token, token, RR_TOKEN_LEN);
		m->home_index = nonce_index;
		m->home_rx_ms = now_ms ? now_ms : 1;
	} else {
		memcpy(m->coa_token, token, RR_TOKEN_LEN);
		m->coa_index = nonce_index;
		m->coa_rx_ms = now_ms ? now_ms : 1;
	}
	return true;
}

static bool fresh(uint64_t rx_ms, uint64_t now_ms)
{
	return rx_ms && now_ms < rx_ms + RR_MAX_TOKEN_LIFETIME * 1000ull;
}

bool rr_mn_ready(const struct rr_mn *m, bool dereg, uint64_t now_ms)
{
	return fresh(m->home_rx_ms, now_ms) && (dereg || fresh(m->coa_rx_ms, now_ms));
}

int rr_mn_kbm(const struct rr_mn *m, bool dereg, uint64_t now_ms, uint8_t kbm[RR_KBM_LEN],
	      uint16_t *home_index, uint16_t *coa_index)
{
	if (!rr_mn_ready(m, dereg, now_ms))
		return -1;
	*home_index = m->home_index;
	*coa_index = dereg ? 0 : m->coa_index;
	return rr_kbm(m->home_token, dereg ? NULL : m->coa_token, kbm);
}
