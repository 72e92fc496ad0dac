/* RFC 4877 keying by IKEv2: the glue between the IKEv2 engine
 * (ikev2/ike.h), the Peer Authorization Database (ipsec/pad.h) and the
 * mobility SA sets (mip6/mip6_sec.h) of a mobile node or a home agent.
 *
 *   mobile node  initiator: before the first BU to a home agent, an IKE SA
 *                from the care-of address (UDP 500, 4500 after NAT
 *                detection), identity = the home address or an FQDN; the
 *                transport CHILD SA (MH types BU out / BA in) comes with
 *                IKE_AUTH, the tunnel CHILD SA (HoA <-> any) with
 *                CREATE_CHILD_SA. The BU leaves once the transport SA is
 *                up. A care-of address change moves the SAs and the IKE SA
 *                (RFC 4877 §4.3), no exchange.
 *   home agent   responder: the engine's authorize hook asks the PAD which
 *                home addresses the authenticated identity may claim, and
 *                the CHILD SA is narrowed to them or refused
 *                (TS_UNACCEPTABLE), logged and counted.
 *
 * Every CHILD SA becomes one pair of mip6_sec_install_pair() (rekeys are
 * make-before-break there); child_down removes it by inbound SPI. The
 * role owns the sockets: UDP 500 and 4500 of both families, bound to the
 * wildcard with the source chosen per datagram (IPV6_PKTINFO/IP_PKTINFO),
 * marked with the role's fwmark so policy routing keeps them off the
 * mobile tunnel. */
#ifndef MIPSEC_MIP6_MIP6_IKE_H
#define MIPSEC_MIP6_MIP6_IKE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/addr.h"
#include "daemon/cfg.h"
#include "ikev2/ike_config.h"
#include "ipsec/pad.h"
#include "mip6/mip6_sec.h"

struct loop;
struct mip6_ike;

#define MIP6_IKE_MAX_PAD 64

/* The `ike` and `pad` members of a role's `ipsec` block. */
struct mip6_ike_config {
	struct ike_config ike;
	/* Peers without `children` get the RFC 4877 pair, made at run time
	 * from the home address and the home agent's address. */
	bool auto_children[8];
	struct pad_entry pad[MIP6_IKE_MAX_PAD];	/* HA only */
	size_t n_pad;
};

/* Parses ipsec.ike (and, for the HA, ipsec.pad) of group `ipsec`. *out
 * stays NULL when there is no `ike`. On the MN a peer's `remote` may be
 * "dhaad" (or absent): the home agent the MN registers with. False after
 * an error. */
bool mip6_ike_config_parse(struct cfg_ctx *ctx, const config_setting_t *ipsec,
			   enum mip6_sec_side side, struct mip6_ike_config **out);
void mip6_ike_config_free(struct mip6_ike_config *c);

struct mip6_ike_hooks {
	/* MN: the transport CHILD SA for `hoa` is up: the BU may leave. */
	void (*mh_up)(void *arg, const struct in6_addr *hoa);
	/* MN: the transport SA went and no rekey replaced it (DELETE from
	 * the HA, IKE SA dead): register again (a new IKE SA first). Called
	 * from a timer, outside the engine. */
	void (*mh_down)(void *arg, const struct in6_addr *hoa);
	void *arg;
};

/* Opens the sockets (fwmark 0: none), starts the engine on `loop` and
 * registers the ike_sa / child_sa tables. esp_sa_file (may be NULL or
 * ""): esp_sa records rewritten whenever SAs change. NULL + err. */
struct mip6_ike *mip6_ike_new(struct loop *loop, enum mip6_sec_side side,
			      struct mip6_ike_config *cfg, struct mip6_sec *sec,
			      uint32_t fwmark, const char *esp_sa_file,
			      const struct mip6_ike_hooks *hooks, char *err, size_t errlen);
/* Sends DELETE for every IKE SA when `graceful`, then frees. */
void mip6_ike_free(struct mip6_ike *m, bool graceful);

/* MN, before every BU to the home agent `ha` (IPv6, or its IPv4 address
 * with an IPv4 CoA) from `coa`; `ha6` is its IPv6 address (the BA's
 * source, in the transport SA's selectors): true when the transport SA of
 * `hoa` is up (the IKE SA then follows the CoA); otherwise IKE is started
 * (or is under way) and mh_up will say when to send. */
bool mip6_ike_mn_ready(struct mip6_ike *m, const struct in6_addr *hoa, const struct ip_addr *coa,
		       const struct ip_addr *ha, const struct in6_addr *ha6);

/* HA: the BU of `hoa` registered care-of address `coa`: the IKE SAs of
 * that home address follow it (no NAT made the engine do it). */
void mip6_ike_peer_moved(struct mip6_ike *m, const struct in6_addr *hoa, const struct ip_addr *coa);

struct ike_engine *mip6_ike_engine(struct mip6_ike *m);
void mip6_ike_counters_register(void);

#endif
