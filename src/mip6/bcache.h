/* Binding cache (RFC 6275 §9.1; "binding cache management table 310" of the
 * 000 document, FIG. 3): home address 311 -> care-of address 312, lifetime
 * 313, plus what an HA needs to process the next Binding Update.
 *
 * Layout, sized for a million bindings in well under 512 MiB:
 *  - entries live in a pool of fixed-size chunks (up to 32768 entries), so an
 *    entry never moves: a `struct bce *` stays valid until that entry is
 *    deleted or expires, whatever else is inserted;
 *  - the index is an open-addressing table of 8-byte slots (32-bit hash tag,
 *    32-bit pool index), linear probing with backward-shift deletion (no
 *    tombstones), kept at most half full; the hash is SipHash-2-4 under a
 *    random key from getrandom(), so a sender choosing home addresses cannot
 *    pile them into one probe run;
 *  - expiries are a 4-ary min-heap of (key, pool index) with a back-pointer
 *    in each entry. A heap rather than a timing wheel: lifetimes range from
 *    seconds to 65535 * 4 s (a wheel would need several levels or a coarse
 *    tick), and the daemon wants one loop timer armed at the exact next
 *    expiry. The heap is lazy about refreshes: a BU that extends a binding
 *    (the common case) is O(1); the stale node is re-sorted when it reaches
 *    the top, so each binding pays one O(log n) sift per lifetime, in the
 *    expiry timer rather than on the BU path.
 *
 * Lookup is O(1) and never allocates. Not thread-safe: the HA role owns one
 * instance and uses it from its event loop. */
#ifndef MIPSEC_MIP6_BCACHE_H
#define MIPSEC_MIP6_BCACHE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"

/* Binding Update flags kept in an entry. These are our own bit values; the
 * Mobility Header codec maps the wire bits (A, H, L, K of RFC 6275, R of
 * RFC 3963) onto them. */
enum bce_flag {
	BCE_F_A = 1u << 0,	/* acknowledge requested */
	BCE_F_H = 1u << 1,	/* home registration */
	BCE_F_L = 1u << 2,	/* link-local address compatibility */
	BCE_F_K = 1u << 3,	/* key management mobility capability */
	BCE_F_R = 1u << 4,	/* mobile router (NEMO) */
	BCE_F_ALL = 0x1fu,
};

#define BCE_PEER_NONE UINT32_MAX	/* no PAD peer slot bound yet */

struct bce {
	struct in6_addr hoa;		/* key (311) */
	struct ip_addr coa;		/* care-of address (312): IPv6, or IPv4 per RFC 5555 */
	uint32_t lifetime_s;		/* lifetime granted (313) */
	uint64_t expiry_ms;		/* monotonic ms at which the binding lapses */
	uint64_t registered_ms;		/* monotonic ms of the first accepted BU */
	uint32_t peer;			/* IPsec PAD peer slot, BCE_PEER_NONE if none */
	uint32_t ext;			/* extension index (NEMO prefixes later), 0 = none */
	uint32_t heap_pos;		/* private: expiry heap position / free-list link */
	uint16_t coa_port;		/* UDP source port of a NAT'd MN (RFC 5555), 0 if none */
	uint16_t seq;			/* last accepted sequence number */
	uint8_t flags;			/* BCE_F_* */
	uint8_t in_use;			/* private */
};

/* Monotonic time of the last accepted BU (derived, not stored). */
static inline uint64_t bce_updated_ms(const struct bce *e)
{
	return e->expiry_ms - (uint64_t)e->lifetime_s * 1000u;
}

/* What a Binding Update sets. */
struct bce_update {
	struct in6_addr hoa;
	struct ip_addr coa;
	uint16_t coa_port;
	uint16_t seq;
	uint8_t flags;
	uint32_t lifetime_s;	/* granted lifetime, > 0 (deregistration is a delete) */
	uint32_t peer;
	uint32_t ext;
};

enum bcache_rc {
	BCACHE_UPDATED = 0,		/* an existing binding was changed */
	BCACHE_INSERTED = 1,		/* a new binding was created */
	BCACHE_ERR_FULL = -1,		/* max_entries reached: BA status 130 */
	BCACHE_ERR_NOMEM = -2,
	BCACHE_ERR_INVAL = -3,		/* zero lifetime, bad CoA family, unknown flags */
};
const char *bcache_strerror(int rc);

/* Change notifications, used by the SQLite store's write-behind queue. */
enum bcache_event { BCACHE_EV_INSERT, BCACHE_EV_UPDATE, BCACHE_EV_DELETE, BCACHE_EV_EXPIRE };
typedef void (*bcache_observer)(void *arg, enum bcache_event ev, const struct bce *e);

struct bcache_cfg {
	const char *name;		/* counter label and default table name */
	uint32_t max_entries;		/* 0 = BCACHE_DEFAULT_MAX */
};
#define BCACHE_DEFAULT_MAX (1u << 20)
#define BCACHE_HARD_MAX (1u << 30)	/* the index keeps 32-bit hash tags */

struct bcache;

/* NULL if memory or getrandom() fails (logged). */
struct bcache *bcache_create(const struct bcache_cfg *cfg);
void bcache_destroy(struct bcache *bc);

/* Hot path: no allocation, O(1). NULL if absent. */
struct bce *bcache_lookup(const struct bcache *bc, const struct in6_addr *hoa);

/* Inserts or updates the binding for u->hoa; returns enum bcache_rc. On
 * update, registered_ms is kept. *out (may be NULL) gets the entry. */
int bcache_update(struct bcache *bc, const struct bce_update *u, uint64_t now_ms,
		  struct bce **out);
/* Same, for an entry the caller already looked up (saves a hash). */
int bcache_update_entry(struct bcache *bc, struct bce *e, const struct bce_update *u,
			uint64_t now_ms);
/* Inserts a complete entry as-is (expiry and registration times included);
 * used to restore from the store. The observer is not called. */
int bcache_restore(struct bcache *bc, const struct bce *e);

/* Removes; false if absent. The entry pointer is invalid afterwards. */
bool bcache_delete(struct bcache *bc, const struct in6_addr *hoa);
void bcache_remove(struct bcache *bc, struct bce *e);

/* Iteration in pool order: start with *cursor = 0; NULL at the end. Deleting
 * the entry just returned (or any other) is safe during the walk. */
struct bce *bcache_next(const struct bcache *bc, uint32_t *cursor);

size_t bcache_count(const struct bcache *bc);
uint32_t bcache_max_entries(const struct bcache *bc);

/* Removes every entry with expiry_ms <= now_ms, earliest first, calling cb
 * (may be NULL) on each before it goes. Returns how many were removed. */
typedef void (*bcache_expire_cb)(const struct bce *e, void *arg);
size_t bcache_expire(struct bcache *bc, uint64_t now_ms, bcache_expire_cb cb, void *arg);
/* Earliest expiry (monotonic ms), UINT64_MAX when empty. Not const: it may
 * re-sort refreshed entries the heap still held at their old time. */
uint64_t bcache_next_expiry(struct bcache *bc);

void bcache_set_observer(struct bcache *bc, bcache_observer fn, void *arg);

/* Registers the "bindings"-style dump table under `name` (a copy is kept).
 * Unregistered by bcache_destroy(). */
void bcache_table_register(struct bcache *bc, const char *name);
/* The dump itself, for callers that want it without the registry. */
struct json_t;
struct json_t *bcache_dump(const struct bcache *bc, uint64_t now_ms);
/* "AHLKR" letters of the set flags into buf (at least 6 bytes). */
const char *bce_flags_str(uint8_t flags, char *buf);

/* Diagnostics: longest probe distance in the index, index slot count, and
 * bytes held by the structure (pool chunks, index, heap). */
uint32_t bcache_max_probe(const struct bcache *bc);
size_t bcache_index_slots(const struct bcache *bc);
size_t bcache_memory(const struct bcache *bc);

/* SipHash-2-4 (64-bit output) as used by the index; exposed for tests. */
uint64_t bcache_siphash24(const uint8_t key[16], const void *data, size_t len);

#endif
