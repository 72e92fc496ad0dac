/* Running state of the mobile node role, shared by mn.c (glue), mn_move.c
 * (movement detection, CoA), mn_reg.c (registration), mn_dhaad.c (home
 * agent discovery) and mn_tun.c (host side). Not for other modules. */
#ifndef MIPSEC_MIP6_MN_PRIV_H
#define MIPSEC_MIP6_MN_PRIV_H

#include "core/stats.h"
#include "mip6/bul.h"
#include "mip6/mip6_ike.h"
#include "mip6/mip6_sec.h"
#include "mip6/mn.h"
#include "net/loop.h"

struct daemon;
struct nl;
struct nl_monitor;
struct mip6_ep;
struct io_watch;
struct mip6_tunpkt;

/* One access interface (§11.5: movement is detected per link). */
struct mn_if {
	struct mn *mn;
	char name[IFNAMSIZ];
	int ifindex;
	int fd;				/* raw ICMPv6: RA, DHAAD Reply, MPA */
	struct io_watch *watch;
	uint8_t mac[32];
	size_t mac_len;
	bool running;			/* link up with carrier */

	bool have_router;
	struct in6_addr router;		/* link-local source of the last RA */
	struct timer router_timer;	/* router unreachable (§11.5.1) */
	struct timer rs_timer;
	uint32_t rs_left;

	bool have_coa;
	struct ip_prefix coa;		/* address/64 configured on this link */
	bool coa_ready;			/* the kernel announced it (RTM_NEWADDR) */
	struct timer coa_timer;		/* in case that announcement never comes */
	char accept_ra_saved;		/* the sysctls' values before us, '\0' unknown */
	char use_optimistic_saved;
	bool route_added;		/* default route via `router` in main */
	bool have_v4;			/* RFC 5555: an IPv4 address on the link */
	struct in_addr v4;
	bool home;			/* the RA carries the home prefix */
	uint32_t home_valid_s;		/* home prefix valid lifetime at last RA */
	uint64_t home_rx_ms;
};

struct mn {
	struct daemon *d;
	struct loop *loop;
	struct nl *nl;
	struct mn_config *cfg;
	struct mip6_ep *ep;
	struct nl_monitor *mon;
	struct mn_if ifs[MN_MAX_IFACES];
	size_t n_ifs;
	struct mn_if *cur;		/* link holding the registered CoA, or NULL */
	struct mn_if *cur4;		/* without cur: link whose IPv4 address is the CoA */
	bool started;
	uint8_t iid_secret[16];
	struct in6_addr hoa;		/* cfg->hoa until a prefix renumbering */
	struct ip_prefix home_prefix;

	/* registration */
	struct bul *bul;
	struct bul_entry *home;		/* entry for the current HA */
	struct timer bul_timer;
	struct timer retry_timer;	/* new attempt after an abandoned registration */
	bool ha_known;
	struct in6_addr ha;

	/* RFC 5555 NAT traversal */
	bool nat;			/* the HA saw our IPv4 CoA translated */
	uint32_t nat_refresh_s;
	struct timer ka_timer;

	/* home agent discovery */
	struct in6_addr has[MN_MAX_HAS];
	size_t n_has, ha_idx;
	uint16_t dhaad_id;
	bool dhaad_pending;
	uint32_t dhaad_tries, dhaad_backoff_ms;
	struct timer dhaad_timer;

	/* prefix discovery (§11.4.2) */
	uint16_t mps_id;
	bool mps_pending;
	struct timer mps_timer;

	/* host side */
	bool routing_installed;
	bool hoa_on_tun;
	bool at_home;
	bool home_ready;		/* the HoA on the home link is announced */
	int home_ifindex;		/* HoA configured here while at home */

	/* route optimisation (mn_ro.c) */
	uint64_t ro_last_start_ms;	/* last on-demand RR start */
	struct { struct in6_addr addr; uint64_t until_ms; } ro_hold[MN_MAX_CNS];

	/* RFC 4877: SAs with the home agent (NULL: no `ipsec` block) */
	struct mip6_sec *sec;
	struct mip6_ike *ike;		/* IKEv2 keying of sec (NULL: manual keys) */
	enum mip6_sec_kind rx_sec;	/* what protected the packet being handled */

	/* handover timing */
	uint64_t move_start_ms;		/* link change that started the handover */
	int64_t last_handover_ms;	/* -1: none yet */
	uint64_t handovers;
};

/* counters (mn.c) */
extern struct counter mn_c_bu_sent, mn_c_ba_ok, mn_c_ba_135, mn_c_ba_other,
	mn_c_movements, mn_c_ra_rx, mn_c_ra_bad, mn_c_mh_bad, mn_c_brr, mn_c_be,
	mn_c_tun_out, mn_c_tun_in, mn_c_tun_drop, mn_c_dhaad_sent, mn_c_dhaad_reply,
	mn_c_rx_bad, mn_c_give_up, mn_c_returned_home, mn_c_mps_sent, mn_c_mpa_rx,
	mn_c_handovers, mn_c_handover_ms, mn_c_dad_failed, mn_c_ba_unprot, mn_c_tun_unprot,
	mn_c_esp_drop;

/* mn_move.c */
int mn_move_open(struct mn *mn);
int mn_move_start(struct mn *mn);
void mn_move_stop(struct mn *mn);
void mn_move_close(struct mn *mn);
/* The IPv6 CoA currently registered (or to register), NULL if none. */
const struct in6_addr *mn_current_coa(const struct mn *mn);
/* The CoA of either family (IPv6 preferred); false if none. */
bool mn_coa(const struct mn *mn, struct ip_addr *out);
/* Without an IPv6 CoA: use an IPv4 address as CoA (RFC 5555) if the HA
 * has an IPv4 address. Returns true when one was taken. */
bool mn_v4_attach(struct mn *mn);

/* mn_reg.c */
void mn_reg_init(struct mn *mn);
void mn_reg_fini(struct mn *mn);
/* New CoA on mn->cur: register it (DHAAD first when no HA is known). */
void mn_reg_moved(struct mn *mn);
/* No usable CoA any more: nothing to do but wait (the binding lapses). */
void mn_reg_detached(struct mn *mn);
void mn_reg_return_home(struct mn *mn);
/* The HoA is usable on the home link: the deregistration can leave. */
void mn_reg_home_ready(struct mn *mn);
/* HA learnt (configured or DHAAD): start registering if a CoA exists. */
void mn_reg_ha_ready(struct mn *mn);
void mn_reg_rx_mh(struct mn *mn, const uint8_t *pkt, size_t len);
void mn_reg_arm(struct mn *mn);
/* Home network renumbered (§11.4.3): new HoA, host side moved, registered. */
void mn_reg_renumber(struct mn *mn, const struct ip_prefix *prefix);
bool mn_reg_bound(const struct mn *mn);
/* IKE: the transport SA with the home agent is up: the BU it held leaves. */
void mn_reg_sa_ready(struct mn *mn);
/* IKE: the transport SA is gone (not rekeyed): register again. */
void mn_reg_sa_lost(struct mn *mn);

/* mn_dhaad.c */
void mn_dhaad_init(struct mn *mn);
void mn_dhaad_fini(struct mn *mn);
void mn_dhaad_start(struct mn *mn);
/* The current HA failed: use the next one from the last reply, or ask again. */
void mn_dhaad_next(struct mn *mn);
void mn_icmp_rx(struct mn_if *mi, const uint8_t *buf, size_t len,
		const struct in6_addr *src, const struct in6_addr *dst);
void mn_mps_send(struct mn *mn);
/* An MPA (plain ICMPv6 on the access link, or tunnelled by the HA). */
void mn_mpa_rx(struct mn *mn, const uint8_t *buf, size_t len, const struct in6_addr *src);

/* mn_ro.c: route optimisation (return routability, CN bindings, HAO/RH2) */
struct ipv6_chain;
struct mh_msg;
struct mip6_rx;
void mn_ro_init(void);
struct bul_entry *mn_ro_add_cn(struct mn *mn, const struct in6_addr *cn);
void mn_ro_start_rr(struct mn *mn, struct bul_entry *e, uint8_t which);
void mn_ro_send_bu(struct mn *mn, struct bul_entry *e, bool dereg);
/* Performs a CN entry's machine step (START_RR, BU, GIVE_UP). */
void mn_ro_step(struct mn *mn, struct bul_entry *e, const struct bul_step *st);
void mn_ro_rx(struct mn *mn, const struct ipv6_chain *c, const struct mh_msg *m);
void mn_ro_ba(struct mn *mn, struct bul_entry *e, const uint8_t *pkt, const struct ipv6_chain *c,
	      const struct mh_msg *m);
void mn_ro_brr(struct mn *mn, struct bul_entry *e);
/* Home binding accepted: RR with configured CNs and after a move. */
void mn_ro_home_bound(struct mn *mn);
void mn_ro_return_home(struct mn *mn);
bool mn_ro_from_host(struct mn *mn, struct mip6_tunpkt *p);
void mn_ro_rx_data(struct mn *mn, struct mip6_rx *rx, const struct ipv6_chain *c);

/* mn_tun.c */
int mn_tun_install(struct mn *mn);	/* HoA on the TUN + policy routing */
void mn_tun_remove(struct mn *mn);
void mn_tun_from_host(void *arg, struct mip6_tunpkt *p);
void mn_tun_to_host(struct mn *mn, const uint8_t *pkt, size_t len);
/* Sends an IPv6 packet (src = HoA) through the reverse tunnel from `coa`,
 * in the tunnel SA when IPsec is on. */
int mn_tun_send(struct mn *mn, const struct ip_addr *coa, const uint8_t *pkt, size_t len);
/* Returning home: HoA onto the home interface (after the dereg BA). */
void mn_home_attach(struct mn *mn, struct mn_if *mi);
/* After the deregistration BA: unsolicited NA with Override for the HoA. */
void mn_home_announce(struct mn *mn);
/* At home: resolve the HA's link-layer address from our link-local. */
void mn_home_solicit_ha(struct mn *mn);
void mn_home_detach(struct mn *mn);

#endif
