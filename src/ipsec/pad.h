/* Peer Authorization Database (RFC 4301 §4.4.3).
 *
 * An ordered list of entries, each binding a peer identity (an IKEv2 ID
 * type and value, matched exactly or by a wildcard) to how the peer must
 * authenticate and to the traffic-selector space it may claim as its own.
 * For Mobile IPv6 (RFC 4877 §4.4) that space is the home address(es) or
 * home prefix of the mobile node: the home agent creates CHILD SAs only
 * for selectors inside it, so an MN cannot get an SA (and then send BUs)
 * for another node's home address.
 *
 * Identity matching (RFC 4301 §4.4.3.1):
 *   PAD_MATCH_EXACT   same type and value (FQDN and RFC822 names compare
 *                     without case; DNs compare attribute by attribute as
 *                     text, so PrintableString and UTF8String agree);
 *   PAD_MATCH_SUFFIX  FQDN / RFC822 wildcard "*.example.com" or
 *                     "*@example.com": any name ending in the part after
 *                     the star (the bare "example.com" does not match);
 *   PAD_MATCH_SUBTREE DN whose first RDNs (from the root) are the
 *                     entry's, e.g. "C=FI, O=Example" for the subtree;
 *   PAD_MATCH_RANGE   ID_IPV4_ADDR / ID_IPV6_ADDR inside the entry's
 *                     prefix.
 * With `claim_self` the peer may claim only its own address identity
 * (the RFC 4877 profile: the MN's identity is its home address), in
 * addition to the entry's explicit space.
 *
 * Exact entries are found by hash; wildcard entries are scanned in order,
 * and the first in order of all matching entries wins. */
#ifndef MIPSEC_IPSEC_PAD_H
#define MIPSEC_IPSEC_PAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/addr.h"
#include "core/table.h"
#include "ipsec/spd.h"

#define PAD_ID_MAX	256	/* identity value bytes (DER DN, names) */
#define PAD_MAX_TS	8
#define PAD_PSK_MAX	64

enum pad_match { PAD_MATCH_EXACT, PAD_MATCH_SUFFIX, PAD_MATCH_SUBTREE, PAD_MATCH_RANGE };
enum pad_auth { PAD_AUTH_CERT, PAD_AUTH_PSK };

struct pad_entry {
	uint32_t id;			/* assigned by pad_add */
	uint32_t priority;		/* lower first, then insertion order */
	uint8_t id_type;		/* IKEV2_ID_* */
	enum pad_match match;
	uint8_t value[PAD_ID_MAX];	/* as in the ID payload; SUFFIX: the
					 * pattern text; RANGE: address */
	size_t value_len;
	uint8_t range_plen;		/* RANGE: prefix length */
	enum pad_auth auth;
	char ca[128];			/* CERT: trust anchor name ("" = any configured) */
	uint8_t psk[PAD_PSK_MAX];
	size_t psk_len;
	bool claim_self;		/* may claim its own address identity */
	struct spd_ts ts[PAD_MAX_TS];	/* space the peer may claim */
	size_t nts;
	/* private */
	uint64_t order;
	uint64_t lookups;
	struct pad_entry *next, *hnext;
};

enum pad_err {
	PAD_OK = 0,
	PAD_ERR_ID_TYPE,		/* ID type unsupported or not matchable this way */
	PAD_ERR_VALUE,			/* value does not parse for the ID type */
	PAD_ERR_TOO_LONG,
	PAD_ERR_TOO_MANY_TS,
	PAD_ERR_NOMEM,
	PAD_ERR_NOENT,
};
const char *pad_strerror(enum pad_err e);

enum pad_verdict {
	PAD_ALLOW = 0,			/* every requested selector is inside */
	PAD_NARROWED,			/* only the returned subset is */
	PAD_DENY_NO_ENTRY,		/* no PAD entry for the identity */
	PAD_DENY_TS,			/* nothing requested is inside the space */
	PAD_DENY_BAD_TS,		/* a requested selector is malformed */
};
const char *pad_verdict_str(enum pad_verdict v);

struct pad {
	struct pad_entry *wild;		/* non-exact entries, by order */
	struct pad_entry **hash;	/* exact entries */
	size_t nhash, count;
	uint32_t next_id;
	uint64_t next_seq;
	struct table tbl;
};

struct pad *pad_new(void);
void pad_free(struct pad *pad);

/* Fills the identity of `e` from text: an address ("2001:db8::1"), a
 * prefix for RANGE ("2001:db8:1::/64"), a name ("mn1.example.com",
 * "*.example.com", "user@example.com") or a DN ("C=FI, O=Example,
 * CN=mn1", converted to DER). Other fields are left alone. */
enum pad_err pad_entry_set_id(struct pad_entry *e, uint8_t id_type, enum pad_match match,
			      const char *text);
/* Adds `e` to the allowed space from a prefix (any protocol and port). */
enum pad_err pad_entry_add_prefix(struct pad_entry *e, const struct ip_prefix *p);

/* Adds a copy; returns its id in *id. */
enum pad_err pad_add(struct pad *pad, const struct pad_entry *e, uint32_t *id);
enum pad_err pad_del(struct pad *pad, uint32_t id);
size_t pad_count(const struct pad *pad);

/* The entry for a peer's identity as carried in its ID payload (type and
 * data), or NULL (counted). */
const struct pad_entry *pad_lookup(struct pad *pad, uint8_t id_type,
				   const uint8_t *data, size_t len);

/* Checks the selectors a peer asks for as its own side against the
 * entry's space: `out` receives the allowed subset (intersections, up to
 * `cap`), *nout its size. `id_data`/`id_len` is the peer's identity
 * (used by claim_self). A refusal is counted and explained in `why` (may
 * be NULL, at least 128 bytes). */
enum pad_verdict pad_authorize(const struct pad_entry *e, uint8_t id_type,
			       const uint8_t *id_data, size_t id_len,
			       const struct spd_ts *req, size_t nreq,
			       struct spd_ts *out, size_t cap, size_t *nout,
			       char *why, size_t whylen);

json_t *pad_dump(const struct pad *pad);
void pad_table_register(struct pad *pad, const char *name);	/* NULL: "pad" */
void pad_stats_register(void);

#endif
