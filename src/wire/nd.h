/* IPv6 Neighbor Discovery (RFC 4861) messages as the access router and the
 * mobile node use them: Router Solicitation and Advertisement, Neighbor
 * Solicitation and Advertisement, with the options RFC 4861 defines plus
 * the Mobile IPv6 ones (Advertisement Interval and Home Agent Information,
 * RFC 6275 §7.3-7.4; the H and R flags, §7.1-7.2) and the HMIPv6 MAP
 * option (RFC 5380 §4).
 *
 * Buffers hold the ICMPv6 message only (from the Type byte). Parsers check
 * the structure RFC 4861 §6.1 / §7.1 asks of a receiver that the IP layer
 * cannot: type, code, minimum length, every option's length non-zero and
 * inside the message, fixed option lengths; unknown options are skipped
 * (§4.6) and counted. Hop limit 255 and the source address rules need the
 * IP header and are checked by the socket layer (net/icmp6.c) and the
 * caller (nd_rs_check_source). Builders leave the checksum zero: the kernel
 * fills it on raw ICMPv6 sockets; nd_csum_fill() does it for anyone else. */
#ifndef MIPSEC_WIRE_ND_H
#define MIPSEC_WIRE_ND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"

#define ND_TYPE_RS 133
#define ND_TYPE_RA 134
#define ND_TYPE_NS 135
#define ND_TYPE_NA 136

#define ND_OPT_SLLA 1			/* Source Link-Layer Address */
#define ND_OPT_TLLA 2			/* Target Link-Layer Address */
#define ND_OPT_PREFIX 3			/* Prefix Information */
#define ND_OPT_MTU 5
#define ND_OPT_ADV_INTERVAL 7		/* RFC 6275 §7.3 */
#define ND_OPT_HA_INFO 8		/* RFC 6275 §7.4 */
#define ND_OPT_MAP 23			/* RFC 5380 §4 */

#define ND_RS_MIN_LEN 8
#define ND_RA_MIN_LEN 16
#define ND_NS_MIN_LEN 24
#define ND_NA_MIN_LEN 24

/* Bounds of the parsed views (more is an error, WIRE_ECOUNT). */
#define ND_MAX_PREFIXES 8
#define ND_MAX_MAPS 4
#define ND_LLADDR_MAX 30		/* option length 4: 32 - 2 bytes */

/* RA flags byte (RFC 4861 §4.2, RFC 6275 §7.1, RFC 4191 Prf, RFC 4389 P). */
#define ND_RA_F_MANAGED 0x80
#define ND_RA_F_OTHER 0x40
#define ND_RA_F_HOME_AGENT 0x20
#define ND_RA_F_PROXY 0x04

/* Prefix Information flags (RFC 4861 §4.6.2, RFC 6275 §7.2). */
#define ND_PI_F_ONLINK 0x80
#define ND_PI_F_AUTO 0x40
#define ND_PI_F_ROUTER 0x20

#define ND_INFINITY 0xffffffffu		/* lifetime "forever" */

/* Where each option sat, in wire order, so that a caller can show or
 * rebuild a message exactly (mipsecctl decode/encode). The parsers record
 * the first ND_MAX_OPT_REFS options; n counts them all. */
#define ND_MAX_OPT_REFS 64

struct nd_opt_ref {
	uint8_t type;
	uint8_t len;			/* in units of 8 bytes */
	uint32_t off;			/* from the start of the message */
};

struct nd_opt_order {
	struct nd_opt_ref ref[ND_MAX_OPT_REFS];
	size_t n;
};

/* A link-layer address option's data: the option body, which for Ethernet
 * is the 6-byte MAC (option length 1). Builders pad with zeros. */
struct nd_lladdr {
	uint8_t len;
	uint8_t addr[ND_LLADDR_MAX];
};

struct nd_prefix {
	uint8_t prefix_len;
	bool on_link;			/* L */
	bool autonomous;		/* A */
	bool router_address;		/* R: prefix holds the router's address */
	uint32_t valid_lifetime;	/* seconds, ND_INFINITY = forever */
	uint32_t preferred_lifetime;
	uint8_t prefix[16];
};

struct nd_map {
	uint8_t dist;			/* 1..15 */
	uint8_t pref;			/* 0..15, 0: do not pick for new bindings */
	bool rcoa;			/* R: form an RCoA from the MAP's prefix */
	uint32_t valid_lifetime;
	uint8_t addr[16];		/* global address of the MAP */
};

struct nd_ra {
	uint8_t cur_hop_limit;
	bool managed;			/* M */
	bool other;			/* O */
	bool home_agent;		/* H (RFC 6275 §7.1) */
	uint8_t prf;			/* RFC 4191 router preference, 2 bits */
	bool proxy;			/* P (RFC 4389) */
	uint16_t router_lifetime;	/* seconds */
	uint32_t reachable_time;	/* ms */
	uint32_t retrans_timer;		/* ms */

	bool has_slla;
	struct nd_lladdr slla;
	bool has_mtu;
	uint32_t mtu;
	bool has_adv_interval;
	uint32_t adv_interval_ms;
	bool has_ha_info;
	int16_t ha_preference;
	uint16_t ha_lifetime;		/* seconds, never 0 on the wire */

	struct nd_prefix prefixes[ND_MAX_PREFIXES];
	size_t n_prefixes;
	struct nd_map maps[ND_MAX_MAPS];
	size_t n_maps;
	size_t n_unknown;		/* options skipped as unrecognised */

	/* Reserved bits, zero when sent (RFC 4861 §4.2, RFC 6275 §7.3-7.4),
	 * kept so that a parsed message rebuilds byte for byte. */
	uint8_t reserved;		/* the 2 low bits of the flags byte */
	uint16_t mtu_reserved;
	uint16_t adv_interval_reserved;
	uint16_t ha_info_reserved;
	uint8_t prefix_reserved1[ND_MAX_PREFIXES];	/* 5 bits after L, A, R */
	uint32_t prefix_reserved2[ND_MAX_PREFIXES];
	uint8_t map_reserved[ND_MAX_MAPS];		/* 7 bits after R */
	struct nd_opt_order order;
};

struct nd_rs {
	bool has_slla;
	struct nd_lladdr slla;
	size_t n_unknown;
	uint32_t reserved;
	struct nd_opt_order order;
};

struct nd_ns {
	uint8_t target[16];
	bool has_slla;
	struct nd_lladdr slla;
	size_t n_unknown;
	uint32_t reserved;
	struct nd_opt_order order;
};

struct nd_na {
	bool router;			/* R */
	bool solicited;			/* S */
	bool override;			/* O */
	uint8_t target[16];
	bool has_tlla;
	struct nd_lladdr tlla;
	size_t n_unknown;
	uint32_t reserved;		/* 29 bits after R, S, O */
	struct nd_opt_order order;
};

/* Name of an option type for messages ("prefix information"), or NULL. */
const char *nd_opt_name(uint8_t type);

enum wire_err nd_rs_parse(const uint8_t *buf, size_t len, struct nd_rs *rs,
			  struct wire_error *err);
enum wire_err nd_ra_parse(const uint8_t *buf, size_t len, struct nd_ra *ra,
			  struct wire_error *err);
enum wire_err nd_ns_parse(const uint8_t *buf, size_t len, struct nd_ns *ns,
			  struct wire_error *err);
enum wire_err nd_na_parse(const uint8_t *buf, size_t len, struct nd_na *na,
			  struct wire_error *err);

/* Builders write the message into buf and its length into *out_len. */
enum wire_err nd_rs_build(const struct nd_rs *rs, uint8_t *buf, size_t size,
			  size_t *out_len, struct wire_error *err);
enum wire_err nd_ra_build(const struct nd_ra *ra, uint8_t *buf, size_t size,
			  size_t *out_len, struct wire_error *err);
enum wire_err nd_ns_build(const struct nd_ns *ns, uint8_t *buf, size_t size,
			  size_t *out_len, struct wire_error *err);
enum wire_err nd_na_build(const struct nd_na *na, uint8_t *buf, size_t size,
			  size_t *out_len, struct wire_error *err);

/* Single options, for callers that lay options out in their own order
 * (mipsecctl encode); the same checks and layout as the message builders.
 * nd_opt_u32_build writes the MTU and Advertisement Interval options. */
enum wire_err nd_opt_lladdr_build(uint8_t type, const struct nd_lladdr *ll, uint8_t *buf,
				  size_t size, size_t *out_len, struct wire_error *err);
enum wire_err nd_opt_prefix_build(const struct nd_prefix *pi, uint8_t reserved1,
				  uint32_t reserved2, uint8_t *buf, size_t size, size_t *out_len,
				  struct wire_error *err);
enum wire_err nd_opt_map_build(const struct nd_map *m, uint8_t reserved, uint8_t *buf,
			       size_t size, size_t *out_len, struct wire_error *err);
enum wire_err nd_opt_u32_build(uint8_t type, uint16_t reserved, uint32_t value, uint8_t *buf,
			       size_t size, size_t *out_len, struct wire_error *err);
enum wire_err nd_opt_ha_info_build(uint16_t reserved, int16_t preference, uint16_t lifetime,
				   uint8_t *buf, size_t size, size_t *out_len,
				   struct wire_error *err);

/* RFC 4861 §6.1.1 / §7.1.1: a solicitation from the unspecified address
 * must not carry a source link-layer address option. */
enum wire_err nd_rs_check_source(const struct nd_rs *rs, const uint8_t src[16],
				 struct wire_error *err);

/* ICMPv6 checksum over the pseudo-header (RFC 4443 §2.3, RFC 8200 §8.1). */
void nd_csum_fill(const uint8_t src[16], const uint8_t dst[16], uint8_t *msg, size_t len);
enum wire_err nd_csum_verify(const uint8_t src[16], const uint8_t dst[16],
			     const uint8_t *msg, size_t len, struct wire_error *err);

#endif
