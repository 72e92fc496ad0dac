/* Security Policy Database (RFC 4301 §4.4.1) for the user-space data plane.
 *
 * An ordered list of policies (lower priority value first, then insertion
 * order), each a selector and an action: PROTECT (with the id of the CHILD
 * SA bundle the data plane uses), BYPASS or DISCARD. A packet matching no
 * policy is discarded (RFC 4301 §4.4.1: the SPD ends with "discard all").
 *
 * Selectors are symmetric, written from this node's point of view (local,
 * remote): an outbound packet has local = source, an inbound one local =
 * destination. Addresses are inclusive ranges (a prefix is the range it
 * covers), IPv4 or IPv6. Ports are inclusive ranges; the next-layer
 * protocol 0 means any.
 *
 * Typed protocols (ICMP, ICMPv6, the Mobility Header 135): as in IKEv2
 * traffic selectors (RFC 4301 §4.4.1.1, RFC 4877 §4.2), the 16-bit "port"
 * carries type << 8 | code (MH: type << 8, code 0). The value is that of
 * the message's sender: an outbound message is checked against the local
 * port range, an inbound one against the remote range, so RFC 4877's
 * "local_mh_type = BU & remote_mh_type = BA" is lport = [5<<8, 5<<8],
 * rport = [6<<8, 6<<8] on the mobile node, the reverse on the home agent,
 * and one transport-mode policy covers the BU out and the BA in.
 * Packets whose ports are unknown (non-first fragments: OPAQUE, RFC 4301
 * §4.4.1.1) match only policies whose port ranges are both 0-65535.
 *
 * Lookups never allocate. Policies whose remote selector is a prefix
 * (every host and home-prefix policy) sit in a hash index keyed by
 * (family, prefix length, masked address); a lookup probes one bucket per
 * prefix length in use and scans only the few policies whose remote range
 * is no prefix, so it costs O(prefix lengths in use), not O(policies).
 * PROTECT policies are also indexed by child id for the inbound check.
 *
 * Concurrency: lookups only read the SPD (hit counts aside, see spd.c), so
 * several data-plane threads may look up at once; adding or deleting
 * policies must not overlap with lookups (the caller serialises, e.g. the
 * loop thread owns changes and data-plane threads take its lock). */
#ifndef MIPSEC_IPSEC_SPD_H
#define MIPSEC_IPSEC_SPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/addr.h"
#include "core/table.h"
#include "ipsec/sa.h"
#include "wire/ikev2.h"
#include "wire/wire.h"

enum spd_action { SPD_DISCARD = 0, SPD_BYPASS, SPD_PROTECT };
enum spd_dir { SPD_OUT = 0, SPD_IN };

/* An owned traffic selector with IKEv2 semantics (RFC 7296 §3.13.1). */
struct spd_ts {
	int family;			/* AF_INET or AF_INET6 */
	uint8_t proto;			/* 0: any */
	uint16_t port_start, port_end;
	uint8_t start[16], end[16];	/* IPv4 in the first 4 bytes */
};

struct spd_sel {
	int family;
	uint8_t lstart[16], lend[16];	/* local address range */
	uint8_t rstart[16], rend[16];	/* remote address range */
	uint8_t proto;			/* 0: any */
	uint16_t lport_start, lport_end;
	uint16_t rport_start, rport_end;
};

struct spd_protect {
	uint32_t child_id;		/* CHILD SA (bundle) the data plane uses */
	enum sa_mode mode;
	uint8_t ipsec_proto;		/* 50 (ESP) or 51 (AH) */
};

struct spd_policy {
	uint32_t id;			/* assigned by spd_add, never 0 */
	uint32_t priority;
	struct spd_sel sel;
	enum spd_action action;
	struct spd_protect protect;
	uint64_t hits;
	/* private */
	uint64_t order;			/* priority << 32 | insertion number */
	int rplen;			/* remote prefix length, -1: no prefix */
	struct spd_policy *bnext;	/* prefix bucket or general list */
	struct spd_policy *cnext;	/* child index chain */
};

/* The selector tuple of one packet (spd_pkt_parse). For IPv6 the
 * addresses are those of the upper layer's pseudo-header: the Home
 * Address option's address as source, the final destination of a routing
 * header, i.e. what the mobility policies are written for. */
struct spd_pkt {
	int family;
	uint8_t src[16], dst[16];
	uint8_t proto;
	bool typed;			/* ICMP/ICMPv6/MH: sport = type<<8|code */
	bool opaque;			/* ports unknown (non-first fragment) */
	uint16_t sport, dport;
};

enum spd_err {
	SPD_OK = 0,
	SPD_ERR_FAMILY,			/* family not AF_INET/AF_INET6 */
	SPD_ERR_RANGE,			/* a range with start > end */
	SPD_ERR_PORTS_ANY_PROTO,	/* port ranges with protocol "any" */
	SPD_ERR_PROTECT,		/* PROTECT without child id / proto */
	SPD_ERR_NOMEM,
	SPD_ERR_NOENT,
	SPD_ERR_TS_TYPE,		/* TS type other than IPv4/IPv6 range */
};
const char *spd_strerror(enum spd_err e);

struct spd {
	struct spd_policy **buckets;	/* prefix index, power of two */
	size_t nbuckets, nindexed;
	struct spd_policy *general;	/* remote range is no prefix, by order */
	struct spd_policy **children;	/* child id index, power of two */
	size_t nchildren;
	uint32_t plen_refs[2][129];	/* [v4/v6][len]: policies per length */
	uint8_t plens[2][129];		/* lengths in use, ascending */
	uint8_t nplens[2];
	size_t count;
	uint32_t next_id;
	uint64_t next_seq;
	struct table tbl;
};

struct spd *spd_new(void);
void spd_free(struct spd *spd);

/* Selector helpers: everything (any address of the family, any protocol,
 * any port), then narrowed. */
void spd_sel_any(struct spd_sel *s, int family);
void spd_sel_local_prefix(struct spd_sel *s, const struct ip_prefix *p);
void spd_sel_remote_prefix(struct spd_sel *s, const struct ip_prefix *p);
/* proto 135 with the MH types each side sends (-1: any). */
void spd_sel_mh(struct spd_sel *s, int local_type, int remote_type);

/* Adds a copy of `p` (id, hits and private fields are ignored) and
 * returns its new id in *id. */
enum spd_err spd_add(struct spd *spd, const struct spd_policy *p, uint32_t *id);
enum spd_err spd_del(struct spd *spd, uint32_t id);
/* Removes every policy of a CHILD SA (after its DELETE); returns how many. */
size_t spd_del_child(struct spd *spd, uint32_t child_id);
const struct spd_policy *spd_get(const struct spd *spd, uint32_t id);
size_t spd_count(const struct spd *spd);

/* First policy (in order) matching packet `t` travelling in `dir`, or
 * NULL when none does. Counts a hit on the policy. */
const struct spd_policy *spd_lookup(struct spd *spd, enum spd_dir dir,
				    const struct spd_pkt *t);

/* Outbound decision: the action for `t` (DISCARD when no policy matches,
 * counted) and the policy in *pol (may be NULL). */
enum spd_action spd_out(struct spd *spd, const struct spd_pkt *t,
			const struct spd_policy **pol);
/* Inbound packet that arrived in clear: true when a BYPASS policy lets it
 * in; a PROTECT match is dropped and counted as spd_clear_protected,
 * DISCARD/no match as spd_discard / spd_no_policy. */
bool spd_in_clear(struct spd *spd, const struct spd_pkt *t);
/* Inbound packet decrypted with an SA of CHILD `child_id`: true when one
 * of that child's PROTECT policies matches the inner packet; otherwise
 * dropped and counted as spd_inbound_mismatch. */
bool spd_in_protected(struct spd *spd, uint32_t child_id, const struct spd_pkt *t);

/* True when policy selector `s` matches `t` in direction `dir`. */
bool spd_sel_match(const struct spd_sel *s, enum spd_dir dir, const struct spd_pkt *t);

/* Selector tuple of a raw IPv4 or IPv6 packet (IPv6 extension headers
 * walked with ipv6_walk). A truncated upper-layer header leaves the ports
 * opaque; a malformed IP header is an error (counted as spd_bad_packet). */
enum wire_err spd_pkt_parse(const uint8_t *pkt, size_t len, struct spd_pkt *t,
			    struct wire_error *err);

/* ---- IKEv2 traffic selectors -------------------------------------------- */

enum spd_err spd_ts_from_ikev2(const struct ikev2_ts *in, struct spd_ts *out);
/* A view of `in` for ikev2_add_ts (its start/end point into `in`). */
void spd_ts_to_ikev2(const struct spd_ts *in, struct ikev2_ts *out);
/* Intersection of two selectors; false when empty. */
bool spd_ts_intersect(const struct spd_ts *a, const struct spd_ts *b, struct spd_ts *out);
/* RFC 7296 §2.9 narrowing: every non-empty pairwise intersection of the
 * proposed list `a` with the acceptable list `b` (duplicates dropped),
 * up to `cap`; returns how many were written. */
size_t spd_ts_narrow(const struct spd_ts *a, size_t na, const struct spd_ts *b,
		     size_t nb, struct spd_ts *out, size_t cap);
/* Installs the narrowed selectors of a CHILD SA as PROTECT policies: one
 * per (local TS, remote TS) pair with compatible family and protocol.
 * `tmpl` gives priority and protect fields. Returns the number added. */
size_t spd_add_from_ts(struct spd *spd, const struct spd_ts *local, size_t nl,
		       const struct spd_ts *remote, size_t nr,
		       const struct spd_policy *tmpl, enum spd_err *err);

/* ---- dump ----------------------------------------------------------------- */
json_t *spd_dump(const struct spd *spd);
/* Registers table `name` (NULL: "spd"). */
void spd_table_register(struct spd *spd, const char *name);
/* Registers the SPD counters (idempotent; spd_new does it). */
void spd_stats_register(void);

#endif
