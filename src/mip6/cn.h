/* The correspondent node role (RFC 6275 §9): return routability, the
 * binding cache and route-optimised traffic, carried as docs/mip6-transport.md
 * describes. See docs/config-cn.md.
 *
 * Files: cn.c (role glue, configuration, sockets, timers), cn_rr.c
 * (HoTI/CoTI -> HoT/CoT), cn_bu.c (BU -> binding, BA), cn_fwd.c (the data
 * path and the Mobility Header dispatch), cn_out.c (building and sending
 * the packets the CN originates). */
#ifndef MIPSEC_MIP6_CN_H
#define MIPSEC_MIP6_CN_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/stats.h"
#include "core/table.h"
#include "daemon/cfg.h"
#include "mip6/endpoint.h"
#include "mip6/rr.h"
#include "net/loop.h"
#include "wire/mh.h"

#define CN_MAX_IFACES 8
#define CN_DEFAULT_TUN "mip6cn0"
#define CN_MAX_BINDINGS (1u << 22)	/* the per-binding side table is allocated up front */

struct cn_config {
	char ifaces[CN_MAX_IFACES][IFNAMSIZ];
	size_t n_ifaces;
	char tun[IFNAMSIZ];
	struct ip_addr bind;		/* UDP 4191 bind address; all-zero: any */
	uint32_t max_bindings;
	uint32_t kcn_lifetime;		/* s */
	uint32_t nonce_interval;	/* s: a nonce is handed out this long */
	uint32_t nonce_lifetime;	/* s, <= MAX_NONCE_LIFETIME */
	uint32_t max_binding_lifetime;	/* s, <= MAX_RR_BINDING_LIFETIME */
	uint32_t brr_before;		/* s before expiry a BRR goes out; 0: never */
	uint32_t be_rate;		/* Binding Errors per second */
	bool native;			/* raw IPPROTO_MH socket for HoTI/HoT */
};

void *cn_config_parse(struct cfg_ctx *ctx, const config_setting_t *block);
void cn_config_free(void *cfg);

/* What the CN keeps per binding next to the binding cache entry (bce.ext
 * indexes it; slot 0 is unused so that 0 means none). */
struct cn_bext {
	uint64_t last_used_ms;		/* last packet sent over the binding */
	uint64_t brr_sent_ms;		/* BRR for the current lifetime, 0: none */
	uint32_t next_free;
	bool in_use;
};

struct bcache;
struct bce;
struct daemon;

struct cn {
	struct daemon *d;
	struct loop *loop;
	struct cn_config *cfg;
	struct mip6_ep *ep;
	int raw_fd;			/* IPPROTO_MH in: HoTI via the HA */
	int raw_tx_fd;			/* IPPROTO_MH out, bound to ifaces[0] */
	struct io_watch *raw_w;
	struct bcache *bc;
	struct cn_bext *ext;
	uint32_t ext_free;		/* free list head, 0: none */
	uint32_t ext_next;		/* first never used slot */
	struct rr_table rr;
	struct timer tick;
	struct table nonce_table;
	int tun_ifindex;
	bool started;
	/* Binding Error rate limit (RFC 6275 §9.3.3): a token bucket. */
	double be_tokens;
	uint64_t be_last_ms;
};

/* Counters, registered by cn_counters_register(). */
extern struct counter cn_c_hoti_rx, cn_c_coti_rx, cn_c_hot_tx, cn_c_cot_tx,
	cn_c_rr_bad_hao, cn_c_bu_rx, cn_c_bu_accepted, cn_c_bu_dereg, cn_c_bu_no_nonce,
	cn_c_bu_no_auth, cn_c_bu_bad_auth, cn_c_bu_expired_home, cn_c_bu_expired_coa,
	cn_c_bu_expired_both, cn_c_bu_seq, cn_c_bu_home_reg, cn_c_bu_full, cn_c_bu_bad_hoa,
	cn_c_ba_tx, cn_c_be_tx, cn_c_be_limited, cn_c_brr_tx, cn_c_mh_malformed,
	cn_c_mh_unknown, cn_c_mh_unexpected, cn_c_ro_rx, cn_c_ro_rx_no_binding,
	cn_c_ro_rx_coa_mismatch, cn_c_ro_tx, cn_c_ro_tx_no_binding, cn_c_ro_tx_unsupported,
	cn_c_rx_malformed, cn_c_rx_not_mobile, cn_c_raw_rx, cn_c_send_err, cn_c_route_err,
	cn_c_binding_expired;
void cn_counters_register(void);

/* A Mobility Header received, and where it came from. */
struct cn_mh_in {
	const uint8_t *src;		/* IPv6 source (CoA, or HoA without a HAO) */
	const uint8_t *dst;		/* IPv6 destination: the CN */
	const uint8_t *hoa;		/* Home Address option, NULL if none */
	const uint8_t *mh;
	size_t len;
	bool udp;			/* in UDP 4191 (else native, raw socket) */
	struct ip_addr peer;		/* outer source when udp */
	uint16_t peer_port;
};

/* cn_fwd.c */
void cn_mh_input(struct cn *cn, const struct cn_mh_in *in);
void cn_udp_rx(void *arg, struct mip6_rx *rx);
void cn_tun_rx(void *arg, struct mip6_tunpkt *p);

/* cn_rr.c */
void cn_rr_input(struct cn *cn, const struct cn_mh_in *in, const struct mh_msg *m);

/* cn_bu.c */
/* BA status codes (RFC 6275 §6.1.8) the CN uses. */
enum cn_ba_status {
	CN_BA_ACCEPTED = 0,
	CN_BA_INSUFFICIENT = 130,
	CN_BA_HOME_REG_NOT_SUPPORTED = 131,
	CN_BA_SEQ_OUT_OF_WINDOW = 135,
	CN_BA_EXPIRED_HOME_NONCE = 136,
	CN_BA_EXPIRED_COA_NONCE = 137,
	CN_BA_EXPIRED_NONCES = 138,
};
/* §9.5.1: status for the nonces a BU names (NULL: index no longer known);
 * a deregistration needs only the home nonce. */
uint8_t cn_nonce_status(const struct rr_nonce *home, const struct rr_nonce *care_of,
			bool dereg);
/* Lifetime granted, seconds, for a BU asking `units` * 4 s (> 0): at most
 * max_s, a multiple of 4, at least 4. */
uint32_t cn_grant_lifetime(uint16_t units, uint32_t max_s);
void cn_bu_input(struct cn *cn, const struct cn_mh_in *in, const struct mh_msg *m);
/* Housekeeping: expiry and BRRs. */
void cn_bindings_tick(struct cn *cn, uint64_t now_ms);
/* Removes a binding with its route and extension slot. */
void cn_binding_remove(struct cn *cn, struct bce *e, bool expired);
struct cn_bext *cn_bext(struct cn *cn, const struct bce *e);

/* cn_out.c: sending. A Mobility Header is wrapped as the path needs:
 * native (raw socket, no extension headers) or in UDP to the peer with an
 * IPv6 header and, when rh2 is set, a type 2 routing header. `mh` must have
 * its checksum already computed over (src, rh2 ? rh2 : dst). */
struct cn_out {
	const uint8_t *src, *dst;	/* IPv6 addresses: CN, CoA (or HoA) */
	const uint8_t *rh2;		/* home address for a RH2, or NULL */
	bool udp;
	struct ip_addr peer;		/* UDP destination */
	uint16_t peer_port;
};
int cn_send_mh(struct cn *cn, const struct cn_out *o, const uint8_t *mh, size_t len);
/* Binding Error to the sender of `in` (status 1 or 2). */
void cn_send_be(struct cn *cn, const struct cn_mh_in *in, uint8_t status,
		const uint8_t *hoa);
/* Source address the kernel would use towards dst. */
int cn_local_addr(struct cn *cn, const struct ip_addr *dst, struct ip_addr *out);
/* Binding Error for a data packet with an unknown HAO (status 1). */
void cn_send_be_to(struct cn *cn, const uint8_t *src, const uint8_t *dst,
		   const struct ip_addr *peer, uint16_t port, uint8_t status,
		   const uint8_t *hoa);

#endif
