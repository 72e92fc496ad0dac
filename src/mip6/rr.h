/* Return routability (RFC 6275 §5.2): the cryptography shared by the
 * correspondent node and the mobile node, and the correspondent node's
 * nonce table.
 *
 *   home keygen token    = First(64, HMAC_SHA1(Kcn, home address | nonce | 0x00))
 *   care-of keygen token = First(64, HMAC_SHA1(Kcn, care-of address | nonce | 0x01))
 *   Kbm = SHA1(home keygen token | care-of keygen token)
 *   Kbm = SHA1(home keygen token)            (deregistration, §5.2.5)
 *   Authenticator = First(96, HMAC_SHA1(Kbm, care-of address | correspondent
 *                   | Mobility Header))      (§6.2.7)
 * where the Mobility Header is taken with its Checksum field as zero and
 * without the 12 authenticator octets themselves.
 *
 * The functions are pure apart from one reused HMAC context (the daemon is
 * single-threaded; nothing here is thread-safe) and randomness from
 * OpenSSL's RAND_bytes for Kcn, nonces and cookies. */
#ifndef MIPSEC_MIP6_RR_H
#define MIPSEC_MIP6_RR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RR_KCN_LEN	20
#define RR_NONCE_LEN	8
#define RR_COOKIE_LEN	8
#define RR_TOKEN_LEN	8
#define RR_KBM_LEN	20
#define RR_AUTH_LEN	12	/* Binding Authorization Data authenticator */

/* RFC 6275 §12 protocol constants, seconds. */
#define RR_MAX_NONCE_LIFETIME		240
#define RR_MAX_TOKEN_LIFETIME		210
#define RR_MAX_RR_BINDING_LIFETIME	420

enum rr_kind { RR_HOME = 0, RR_CAREOF = 1 };	/* the final octet of the HMAC input */

/* ---- cryptographic functions (both sides) -------------------------------- */

/* Keygen token for `addr` (home or care-of address per `kind`). 0 or -1
 * (OpenSSL failure, logged). */
int rr_keygen_token(const uint8_t kcn[RR_KCN_LEN], const uint8_t addr[16],
		    const uint8_t nonce[RR_NONCE_LEN], enum rr_kind kind,
		    uint8_t token[RR_TOKEN_LEN]);
/* Kbm; care_of NULL for a deregistration (home token only). */
int rr_kbm(const uint8_t home[RR_TOKEN_LEN], const uint8_t *care_of, uint8_t kbm[RR_KBM_LEN]);
/* Authenticator over a Mobility Header of `len` octets whose authenticator
 * (RR_AUTH_LEN octets) starts at `auth_off`. coa: the care-of address of
 * the binding, cn: the correspondent node's address. */
int rr_auth(const uint8_t kbm[RR_KBM_LEN], const uint8_t coa[16], const uint8_t cn[16],
	    const uint8_t *mh, size_t len, size_t auth_off, uint8_t out[RR_AUTH_LEN]);
/* Recomputes and compares in constant time. False also on bad offsets. */
bool rr_auth_verify(const uint8_t kbm[RR_KBM_LEN], const uint8_t coa[16], const uint8_t cn[16],
		    const uint8_t *mh, size_t len, size_t auth_off);
/* Finds the Binding Authorization Data option of a built or received
 * Mobility Header: it must be the last option, with RR_AUTH_LEN octets and
 * nothing after it (§6.2.7). Returns the authenticator offset or -1. */
int rr_auth_offset(const uint8_t *mh, size_t len);
/* For senders (MN BU, CN BA): fills the authenticator of the BAD option
 * already present in `mh` (built with any placeholder), then writes the MH
 * checksum over the pseudo-header csum_src/csum_dst (HoA and CN for a BU
 * with a HAO; CN and HoA for a BA with a RH2). 0 or -1 (no usable BAD). */
int rr_seal(uint8_t *mh, size_t len, const uint8_t kbm[RR_KBM_LEN], const uint8_t coa[16],
	    const uint8_t cn[16], const uint8_t csum_src[16], const uint8_t csum_dst[16]);

bool rr_equal(const void *a, const void *b, size_t len);	/* constant time */
int rr_random(void *buf, size_t len);				/* 0 or -1 */

/* ---- correspondent node: Kcn and the nonce table (§5.2.7) ---------------- */

/* The ring keeps every nonce that may still be accepted. A nonce is handed
 * out for `interval` after its first use and accepted until `lifetime`
 * after that first use, so the ring needs lifetime/interval + 1 slots. */
#define RR_NONCE_RING 64

struct rr_nonce {
	uint8_t nonce[RR_NONCE_LEN];
	uint8_t kcn[RR_KCN_LEN];	/* the Kcn in force when it was made */
	uint64_t first_use_ms;		/* 0: never handed out */
	uint64_t created_ms;
	uint16_t index;
	bool valid;
};

struct rr_table {
	struct rr_nonce ring[RR_NONCE_RING];
	uint8_t kcn[RR_KCN_LEN];
	uint64_t kcn_created_ms;
	uint32_t kcn_lifetime_ms;	/* Kcn regenerated after this */
	uint32_t interval_ms;		/* a nonce is handed out this long */
	uint32_t lifetime_ms;		/* ... and accepted this long */
	uint16_t cur_index;		/* index of the current nonce */
	bool have_cur;
	uint64_t generated;		/* nonces made so far */
	uint64_t kcn_generated;
};

/* Lifetimes in seconds: kcn_lifetime >= 1, 1 <= interval <= lifetime <=
 * RR_MAX_NONCE_LIFETIME and lifetime/interval < RR_NONCE_RING. Returns 0,
 * -EINVAL for bad values or -EIO when no randomness. */
int rr_table_init(struct rr_table *t, uint32_t kcn_lifetime_s, uint32_t interval_s,
		  uint32_t lifetime_s, uint64_t now_ms);
/* The nonce to give in a HoT/CoT now; rotates (and regenerates Kcn when
 * due) first. NULL only if randomness fails. */
const struct rr_nonce *rr_table_current(struct rr_table *t, uint64_t now_ms);
/* The nonce a BU names, or NULL when unknown or expired (status 136-138). */
const struct rr_nonce *rr_table_lookup(const struct rr_table *t, uint16_t index,
				       uint64_t now_ms);
/* Drops expired nonces; returns how many went. */
unsigned rr_table_expire(struct rr_table *t, uint64_t now_ms);
/* Live nonces for the "rr_nonces" table: index, age, remaining. */
struct json_t;
struct json_t *rr_table_dump(const struct rr_table *t, uint64_t now_ms);

/* ---- mobile node: one correspondent's RR state ----------------------------
 * The MN sends HoTI/CoTI with fresh cookies (rr_mn_start), accepts the
 * HoT/CoT whose cookie matches, and once it holds both tokens (or the home
 * token for a deregistration) derives Kbm for the BU. Tokens are used at
 * most RR_MAX_TOKEN_LIFETIME seconds after they arrived. */
struct rr_mn {
	uint8_t home_cookie[RR_COOKIE_LEN], coa_cookie[RR_COOKIE_LEN];
	uint8_t home_token[RR_TOKEN_LEN], coa_token[RR_TOKEN_LEN];
	uint16_t home_index, coa_index;
	uint64_t home_rx_ms, coa_rx_ms;	/* 0: no token yet */
};

/* New cookies for HoTI (home = true) or CoTI; forgets the old token. */
int rr_mn_start(struct rr_mn *m, bool home);
/* Takes a HoT (home) or CoT; false (and nothing changes) when the cookie
 * does not match the outstanding one. */
bool rr_mn_accept(struct rr_mn *m, bool home, const uint8_t cookie[RR_COOKIE_LEN],
		  uint16_t nonce_index, const uint8_t token[RR_TOKEN_LEN], uint64_t now_ms);
/* True when the tokens a BU needs are fresh (dereg: the home token only). */
bool rr_mn_ready(const struct rr_mn *m, bool dereg, uint64_t now_ms);
/* Kbm for the BU and the nonce indices to put in it; -1 when not ready. */
int rr_mn_kbm(const struct rr_mn *m, bool dereg, uint64_t now_ms, uint8_t kbm[RR_KBM_LEN],
	      uint16_t *home_index, uint16_t *coa_index);

#endif
