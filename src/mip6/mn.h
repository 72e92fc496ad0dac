/* The mobile node role (RFC 6275 §11): movement detection from Router
 * Advertisements, care-of address configuration with optimistic DAD
 * (RFC 4429), home agent discovery (§11.4.1), home registration through the
 * Binding Update List (mip6/bul.h), the host-facing TUN device carrying the
 * home address (the "virtual interface" of 001) and returning home
 * (§11.5.5). See docs/config-mn.md.
 *
 * This header holds the configuration and the pure helpers the unit tests
 * exercise; the running state is private to the mn*.c files (mn_priv.h). */
#ifndef MIPSEC_MIP6_MN_H
#define MIPSEC_MIP6_MN_H

#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "daemon/cfg.h"
#include "mip6/mip6_sec.h"
#include "wire/icmp6msg.h"
#include "wire/nd.h"

#define MN_MAX_IFACES 8
#define MN_MAX_HAS 8		/* home agents kept from a DHAAD reply */
#define MN_MAX_CNS 8		/* correspondent entries (route optimisation) */

enum mn_iid_mode {
	MN_IID_EUI64,		/* modified EUI-64 from the MAC (RFC 4291 App. A) */
	MN_IID_STABLE,		/* stable per (prefix, interface), RFC 7217 style */
};

struct mip6_ike_config;

struct mn_config {
	struct in6_addr hoa;
	struct ip_prefix home_prefix;
	bool has_ha;			/* false: DHAAD (§11.4.1) */
	struct in6_addr ha;
	bool has_ha4;			/* RFC 5555: register IPv4 CoAs with this */
	struct in_addr ha4;
	uint32_t nat_keepalive_s;	/* when a NAT Detection option gives 0 */
	char ifaces[MN_MAX_IFACES][IFNAMSIZ];
	size_t n_ifaces;
	char tun[IFNAMSIZ];
	unsigned tun_mtu;
	uint32_t fwmark;
	uint32_t table;
	uint32_t rule_priority;
	uint32_t lifetime_s;		/* requested in BUs, rounded up to 4 s units */
	uint32_t initial_bindack_timeout_ms;	/* first registration (§11.8) */
	uint32_t max_bindack_timeout_ms;
	uint32_t max_retries;
	bool optimistic_first_bu;	/* BU leaves while the CoA is optimistic */
	enum mn_iid_mode iid;
	uint32_t rs_interval_ms;	/* between RSs after a link change */
	uint32_t rs_count;		/* RSs after a link change (0: none) */
	uint32_t dhaad_timeout_ms;	/* first DHAAD retransmission, doubles */
	uint32_t dhaad_retries;
	uint32_t mps_before_s;		/* solicit home prefix when this close to expiry */
	bool route_optimisation;	/* RR + CN bindings (§11.6-11.7.2) */
	struct in6_addr correspondents[MN_MAX_CNS];	/* RR right after home registration */
	size_t n_correspondents;
	/* RFC 4877 protection with the home agent, manually keyed (the
	 * `ipsec` block; _in: HA -> MN, _out: MN -> HA). */
	bool has_ipsec;
	struct mip6_sec_keycfg ipsec;
	char esp_sa_file[PATH_MAX];	/* Wireshark esp_sa records; empty: none */
	struct mip6_ike_config *ike;	/* ipsec.ike: keyed by IKEv2 instead */
};

void *mn_config_parse(struct cfg_ctx *ctx, const config_setting_t *block);
void mn_config_free(void *cfg);

/* ---- pure helpers (unit-tested) ---- */

/* Care-of address from a /64 prefix: EUI-64 from a 6-byte MAC, or a stable
 * IID = first 8 bytes of SHA-256(prefix || ifname || secret) with the u/l
 * bit cleared and never a reserved IID (RFC 5453). Returns 0, or -1 when
 * the prefix length is not 64 or EUI-64 lacks a 6-byte MAC. */
int mn_coa_form(const uint8_t prefix[16], uint8_t plen, enum mn_iid_mode mode,
		const uint8_t *mac, size_t mac_len, const char *ifname,
		const uint8_t secret[16], struct in6_addr *out);

/* The Mobile IPv6 Home-Agents anycast address of a prefix (RFC 2526 §2,
 * anycast ID 126; RFC 6275 §10.5). Returns -1 for a prefix longer than 120. */
int mn_ha_anycast(const struct ip_prefix *home, struct in6_addr *out);

/* What an RA means for the node (RFC 6275 §11.5). */
enum mn_ra_verdict {
	MN_RA_IGNORE,		/* no usable autonomous /64 prefix, router lifetime 0 */
	MN_RA_SAME,		/* the current CoA's prefix is still advertised */
	MN_RA_MOVE,		/* new prefix: form a CoA from `prefix` */
	MN_RA_HOME,		/* the home prefix is advertised: at home */
};

struct mn_ra_decision {
	enum mn_ra_verdict verdict;
	struct ip_prefix prefix;	/* MOVE / HOME / SAME: the prefix used */
	uint32_t valid_lifetime;
	uint32_t router_timeout_ms;	/* when to declare the router lost */
};

/* cur: prefix of the current CoA on this link (len 0 = none). */
struct mn_ra_decision mn_ra_decide(const struct nd_ra *ra, const struct ip_prefix *home,
				   const struct ip_prefix *cur);

/* Router loss detection (§11.5.1): three missed Advertisement Intervals,
 * else the router lifetime. Never less than 100 ms. */
uint32_t mn_router_timeout_ms(const struct nd_ra *ra);

/* DHAAD Reply (§6.6, §11.4.1): checks the identifier and copies the listed
 * addresses in order (highest preference first), dropping ones that are
 * not usable unicast addresses and duplicates. Returns the number kept, or
 * -1 when the message is not the reply to request `id`. */
int mn_dhaad_reply(const struct icmp6_msg *m, uint16_t id, struct in6_addr *out, size_t max);

/* Builds IPv6(src=coa, dst=ha)/DestOpt(HAO=hoa)/MH(BU); from home
 * (coa == hoa, the deregistration of §11.5.5) the HAO repeats the source.
 * lifetime_s is converted to 4-second units (rounded up). Returns the
 * length or -1. */
int mn_bu_build(uint8_t *buf, size_t size, const struct in6_addr *coa,
		const struct in6_addr *ha, const struct in6_addr *hoa, uint16_t seq,
		uint16_t flags, uint32_t lifetime_s);

/* RFC 5555 §4.2: IPv6(src=hoa, dst=ha)/MH(BU + IPv4 Care-of Address
 * option), to travel in UDP over IPv4 from v4coa. */
int mn_bu_build4(uint8_t *buf, size_t size, const struct in_addr *v4coa,
		 const struct in6_addr *ha, const struct in6_addr *hoa, uint16_t seq,
		 uint16_t flags, uint32_t lifetime_s);

#endif
