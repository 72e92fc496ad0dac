/* The home agent role (RFC 6275 §10, RFC 5555 for IPv4 care-of addresses;
 * "mobile IP processor 15" with the binding cache management table 310 of
 * the 000 document). See docs/config-ha.md.
 *
 * Files:
 *   ha.c        role glue: lifecycle, timers, binding cache and its store
 *   ha_config.c the `ha` block
 *   ha_bu.c     the Binding Update -> Binding Acknowledgement decision, a
 *               pure function (unit-tested without sockets)
 *   ha_rx.c     Mobility Headers and tunnelled packets from UDP 4191
 *   ha_fwd.c    interception (routes, proxy ND) and the tunnel
 *   ha_dhaad.c  Home Agent Address Discovery responder, home agents list
 *   ha_mpa.c    Mobile Prefix Solicitation/Advertisement */
#ifndef MIPSEC_MIP6_HA_H
#define MIPSEC_MIP6_HA_H

#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "daemon/cfg.h"
#include "mip6/mip6_sec.h"

struct bce;

#define HA_MAX_PREFIXES 8
#define HA_MAX_DENY 32
#define HA_LIFETIME_INFINITE UINT32_MAX
#define HA_MAX_SEC_BINDINGS 64

/* RFC 4877 protection of one home address, manually keyed (the `ipsec`
 * block, docs/config-ha.md); the IKEv2 engine will install the same SAs. */
struct mip6_ike_config;

struct ha_sec_binding {
	struct in6_addr hoa;
	struct mip6_sec_keycfg keys;	/* _in: MN -> HA, _out: HA -> MN */
};

struct ha_ipsec_cfg {
	bool enabled;			/* an `ipsec` block is present */
	bool require;			/* every BU and tunnel packet must be in an SA */
	char esp_sa_file[PATH_MAX];	/* Wireshark esp_sa records; empty: none */
	struct ha_sec_binding bindings[HA_MAX_SEC_BINDINGS];
	size_t n_bindings;
};

/* RFC 6275 §6.1.8 Binding Acknowledgement status values the HA sends. */
enum ha_ba_status {
	HA_BA_ACCEPTED = 0,
	HA_BA_UNSPECIFIED = 128,	/* internal failure (memory, kernel route) */
	HA_BA_PROHIBITED = 129,		/* deny list, or a reserved address */
	HA_BA_NO_RESOURCES = 130,	/* max_bindings reached */
	HA_BA_NOT_SUPPORTED = 131,	/* H flag clear: we only do home registration */
	HA_BA_NOT_HOME_SUBNET = 132,	/* home address outside the home prefixes */
	HA_BA_NOT_HA_FOR_MN = 133,	/* deregistration without a binding (§10.3.2) */
	HA_BA_SEQ_OUT_OF_WINDOW = 135,	/* sequence not newer than the binding's */
	HA_BA_REG_TYPE_CHANGE = 139,	/* H/L/R flags differ from the binding's */
	HA_BA_MR_NOT_PERMITTED = 140,	/* R flag: NEMO not served (RFC 3963) */
};
#define HA_BA_N_STATUS 10
extern const uint8_t ha_ba_statuses[HA_BA_N_STATUS];

struct ha_prefix_cfg {
	struct ip_prefix prefix;
	uint32_t valid_lifetime;	/* s, HA_LIFETIME_INFINITE by default */
	uint32_t preferred_lifetime;
};

struct ha_config {
	char home_link[IFNAMSIZ];
	struct ha_prefix_cfg prefixes[HA_MAX_PREFIXES];
	size_t n_prefixes;
	struct in6_addr address;	/* the HA's global address on the home link */
	bool has_address4;
	struct in_addr address4;	/* enables the IPv4 socket (RFC 5555) */
	int16_t preference;		/* HA information option / DHAAD ordering */
	uint16_t lifetime;		/* home agent lifetime, s */
	uint32_t max_bindings;
	uint32_t max_lifetime;		/* s, granted lifetime cap */
	char database[PATH_MAX];	/* empty: no persistence */
	char tun[IFNAMSIZ];
	bool proxy_nd;
	bool refresh_advice;		/* Binding Refresh Advice in the BA */
	uint16_t port;			/* UDP port, 4191 */
	uint32_t nat_keepalive;		/* s, NAT Detection refresh time (RFC 5555) */
	struct ip_prefix deny[HA_MAX_DENY];
	size_t n_deny;
	struct ha_ipsec_cfg ipsec;
	/* ipsec.ike + ipsec.pad: RFC 4877 SAs keyed by IKEv2 (NULL: manual
	 * keys only). Outside `ipsec`: reload compares that bytewise. */
	struct mip6_ike_config *ike;
};

void *ha_config_parse(struct cfg_ctx *ctx, const config_setting_t *block);
void ha_config_free(void *cfg);

/* Home prefix serving `hoa`, or NULL. */
const struct ha_prefix_cfg *ha_config_prefix_of(const struct ha_config *c,
						const struct in6_addr *hoa);
bool ha_config_denied(const struct ha_config *c, const struct in6_addr *hoa);
/* Addresses no mobile node may register: the HA's own address, the
 * Subnet-Router anycast and the RFC 2526 reserved anycast addresses of the
 * home prefixes (a binding would steer them into the tunnel). */
bool ha_config_reserved(const struct ha_config *c, const struct in6_addr *hoa);
/* Home-Agents anycast address of a prefix (RFC 2526 §2: the prefix with
 * the interface identifier ...:fdff:ffff:ffff:fffe for 64-bit EUI-64
 * formatted identifiers, and the last 128 - 7 bits set but the
 * anycast ID for other lengths). */
void ha_anycast_addr(const struct ip_prefix *p, struct in6_addr *out);

/* ---- the Binding Update decision (ha_bu.c), a pure function ---- */

enum ha_bu_action {
	HA_ACT_NONE = 0,		/* reject: nothing changes */
	HA_ACT_CREATE,			/* new binding: add routes and proxy ND */
	HA_ACT_UPDATE,			/* refresh / move an existing binding */
	HA_ACT_DELETE,			/* deregistration */
};

/* What the decision needs from the received BU (wire fields). */
struct ha_bu_in {
	uint16_t seq;
	uint16_t flags;			/* MH_BU_* */
	uint16_t lifetime;		/* 4 s units */
	bool coa_is_hoa;		/* CoA == HoA: deregistration */
};

/* The binding cache's view of the home address. */
struct ha_bu_state {
	bool exists;
	uint16_t seq;			/* last accepted sequence number */
	uint8_t flags;			/* BCE_F_* */
};

struct ha_bu_limits {
	bool served;			/* HoA in a home prefix */
	bool denied;			/* HoA in the deny list */
	uint32_t prefix_lifetime;	/* s, remaining valid lifetime of its prefix */
	uint32_t max_lifetime;		/* s */
	uint32_t max_bindings;
	size_t n_bindings;
	bool mobile_router;		/* R flag allowed */
};

struct ha_bu_decision {
	enum ha_bu_action action;
	uint8_t status;			/* enum ha_ba_status */
	uint16_t seq;			/* BA sequence: the BU's, or the binding's on 135 */
	uint16_t lifetime;		/* BA lifetime, 4 s units */
	uint32_t lifetime_s;		/* granted lifetime, seconds (= lifetime * 4) */
	uint8_t ba_flags;		/* MH_BA_* */
	uint8_t bce_flags;		/* BCE_F_* to store */
	bool send_ba;			/* A flag set, or an error */
};

void ha_bu_decide(const struct ha_bu_state *st, const struct ha_bu_in *bu,
		  const struct ha_bu_limits *lim, struct ha_bu_decision *d);
/* BCE_F_* bits of the MH_BU_* wire flags. */
uint8_t ha_bu_bce_flags(uint16_t wire);
const char *ha_ba_status_name(uint8_t status);

#endif
