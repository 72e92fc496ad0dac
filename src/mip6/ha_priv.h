/* Internal state of the home agent role, shared by its files (ha*.c). */
#ifndef MIPSEC_MIP6_HA_PRIV_H
#define MIPSEC_MIP6_HA_PRIV_H

#include <jansson.h>

#include "mip6/bcache.h"
#include "mip6/bcache_store.h"
#include "mip6/endpoint.h"
#include "mip6/ha.h"
#include "mip6/mip6_sec.h"
#include "net/loop.h"
#include "wire/exthdr.h"

struct daemon;
struct nl;
struct ha_dhaad;

#define HA_FLUSH_MS 100		/* binding store write-behind period */
#define HA_TUN_MTU 1400		/* leaves room for IPv6/IPv4 + UDP outside */
#define HA_TUN_MTU_IPSEC 1320	/* and for IPv6 + ESP (header, trailer, ICV) */
#define HA_PKT_MAX 1280		/* BA, BE, MPA we build */

struct ha {
	struct daemon *d;
	struct loop *loop;
	struct nl *nl;
	struct ha_config *cfg;
	struct bcache *bc;
	struct bcache_store *store;
	struct mip6_ep *ep;
	struct ha_dhaad *dhaad;
	struct timer expire_timer;
	struct timer flush_timer;
	int home_ifindex;
	int tun_ifindex;
	bool started;
	struct in6_addr anycast[HA_MAX_PREFIXES];
	uint64_t routes_installed;
	int na_fd;			/* unsolicited proxy NAs on the home link, -1: none */
	char proxy_ndp_saved;		/* the home link's proxy_ndp before us, '\0' untouched */
	uint8_t lladdr[32];		/* home link's hardware address */
	size_t lladdr_len;
	struct mip6_sec *sec;		/* RFC 4877 SA sets, NULL: no `ipsec` block */
	struct mip6_ike *ike;		/* their IKEv2 keying, NULL: manual keys only */
};

/* ha.c: IPsec is required for this home address (config `require`, or an
 * SA set is installed for it). */
bool ha_sec_required(const struct ha *ha, const struct in6_addr *hoa);

/* ha.c */
void ha_note_expiry(struct ha *ha, uint64_t expiry_ms);
void ha_note_change(struct ha *ha);

/* ha_rx.c: UDP 4191 input. */
void ha_rx_counters_register(void);
void ha_rx(void *arg, struct mip6_rx *rx);
bool ha_is_local(const struct ha *ha, const uint8_t *dst);

/* ha_fwd.c: routes, proxy ND, TUN. */
void ha_fwd_counters_register(void);
int ha_fwd_init(struct ha *ha);		/* proxy_ndp sysctl, NA socket */
void ha_fwd_close(struct ha *ha);
/* Interception of a home address; `lflag` (BU L flag): also proxy the
 * link-local address with the same interface identifier (§10.4.1).
 * `announce`: multicast an unsolicited NA for it (new binding). */
int ha_fwd_add(struct ha *ha, const struct in6_addr *hoa, bool lflag, bool announce);
void ha_fwd_del(struct ha *ha, const struct in6_addr *hoa, bool lflag);
void ha_tun_in(void *arg, struct mip6_tunpkt *p);
/* Tunnels an inner packet to the binding's care-of address (in the home
 * address's tunnel SA when it has one). */
int ha_fwd_send(struct ha *ha, const struct bce *e, const uint8_t *pkt, size_t len);

/* ha_dhaad.c */
struct ha_dhaad *ha_dhaad_open(struct ha *ha);
void ha_dhaad_close(struct ha_dhaad *h);
json_t *ha_dhaad_dump(struct ha_dhaad *h);
/* The reply for a request (also used for requests from the tunnel):
 * returns the ICMPv6 message length written into buf; the checksum is
 * filled when src and dst are given (the raw socket leaves it to the
 * kernel). */
size_t ha_dhaad_reply(struct ha_dhaad *h, uint16_t id, const uint8_t *src, const uint8_t *dst,
		      uint8_t *buf, size_t size);
/* Joins the Home-Agents anycast addresses of the current home prefixes
 * (after a reload changed them), leaving the old ones. */
void ha_dhaad_rejoin(struct ha_dhaad *h);

/* ha_mpa.c */
void ha_mpa_counters_register(void);
/* An ICMPv6 Mobile Prefix Solicitation from the tunnel (c: its chain). */
void ha_mpa_rx(struct ha *ha, const struct mip6_rx *rx, const struct ipv6_chain *c);
/* Unsolicited advertisements to every bound mobile node. */
size_t ha_mpa_push_all(struct ha *ha);
/* Builds IPv6(src=HA, dst=hoa)/ICMPv6 MPA; returns its length or 0. */
size_t ha_mpa_build(const struct ha *ha, const struct in6_addr *hoa, uint16_t id,
		    uint8_t *buf, size_t size);

#endif
