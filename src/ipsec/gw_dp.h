/* The data plane of the `ipsec` gateway role.
 *
 *   TX: TUN read -> gw_dp_lookup_out (destination -> child) -> esp_encap in
 *       place -> sendmmsg (runs of equal-size datagrams to one peer leave as
 *       one UDP GSO send when the kernel has UDP_SEGMENT)
 *   RX: recvmmsg -> non-ESP marker: IKE hook, 0xff: NAT keepalive, else
 *       SPI -> esp_decap (anti-replay, counters) -> gw_dp_check_in -> TUN
 *
 * With TUN offload (IFF_VNET_HDR + TUNSETOFFLOAD) the kernel hands over TCP
 * super-packets of up to 64 KiB; they are cut into MSS-sized segments here,
 * each with its own IP/TCP header and checksums, before encryption.
 *
 * Threads: with workers = 2 one thread does TX and one RX, so an outbound
 * SA is only ever touched by the TX thread and an inbound SA only by the
 * RX thread: no lock on the hot path. Children are published as an
 * immutable snapshot (policy table + SPI table) through an atomic pointer;
 * each worker announces the epoch it entered a batch in and 0 when idle,
 * and a change waits (a few microseconds, a batch at most) until no worker
 * is still inside an older epoch before it frees what it replaced - RCU
 * with a grace period of one batch. With workers = 1 everything runs from
 * the event loop and the grace period is empty.
 *
 * Nothing on the hot path allocates: every buffer is made in gw_dp_new(). */
#ifndef MIPSEC_IPSEC_GW_DP_H
#define MIPSEC_IPSEC_GW_DP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <jansson.h>

#include "core/addr.h"
#include "ipsec/gw.h"
#include "ipsec/sa.h"

struct loop;
struct gw_dp;
struct gw_dp_snap;

#define GW_DP_MAX_CHILDREN 64

/* A CHILD SA pair as the data plane sees it; immutable once added (the SAs
 * themselves change: sequence numbers, windows, counters). */
struct gw_dp_child {
	uint32_t id;			/* inbound SPI */
	uint64_t gen;			/* install order: the newest of equal
					 * selectors takes the outbound traffic */
	enum sa_mode mode;
	struct sa *in, *out;		/* owned by the caller (its SAD) */
	struct ip_addr peer;
	uint16_t peer_port;
	struct sockaddr_storage peer_sa;
	socklen_t peer_salen;
	struct ip_prefix local_ts[GW_MAX_TS], remote_ts[GW_MAX_TS];
	size_t n_local_ts, n_remote_ts;
};

struct gw_dp_config {
	struct loop *loop;
	int tun_fd;
	bool vnet_hdr;			/* tun_fd has IFF_VNET_HDR and TSO offloads */
	int udp_fd;			/* natt_port */
	uint16_t natt_port;
	bool udp_gso;			/* try UDP_SEGMENT */
	unsigned workers;		/* 1 or 2 */
	/* IKE on natt_port, called from the loop (marker removed). */
	gw_ike_fn ike;
	void *ike_arg;
};

struct gw_dp *gw_dp_new(const struct gw_dp_config *c);
/* Starts the workers (or the loop watches); 0 or a negative errno. */
int gw_dp_start(struct gw_dp *dp);
/* Stops and joins the workers; idempotent. */
void gw_dp_stop(struct gw_dp *dp);
void gw_dp_free(struct gw_dp *dp);
void gw_dp_set_ike(struct gw_dp *dp, gw_ike_fn fn, void *arg);
/* `fn` runs in the loop soon after a packet took an SA past its soft or
 * hard byte/packet limit, so that the owner rekeys without waiting for
 * its next poll. */
void gw_dp_set_expiry(struct gw_dp *dp, void (*fn)(void *arg), void *arg);

/* Publishes a snapshot with `c` added (the data plane keeps the pointer
 * until gw_dp_remove_child). -EEXIST, -ENOSPC, -ENOMEM. */
int gw_dp_add_child(struct gw_dp *dp, struct gw_dp_child *c);
/* Publishes a snapshot without child `id` and waits out the grace period;
 * returns the child (the caller frees it and its SAs) or NULL. */
struct gw_dp_child *gw_dp_remove_child(struct gw_dp *dp, uint32_t id);
/* The child `id`, or NULL (main loop only). */
struct gw_dp_child *gw_dp_child_get(struct gw_dp *dp, uint32_t id);

/* The narrow policy interface the full SPD will replace:
 * gw_dp_lookup_out: the child whose remote_ts holds the destination of the
 * cleartext packet (longest prefix first), NULL when none (the packet is
 * dropped and counted);
 * gw_dp_check_in: whether a decrypted inner packet may come through `c`
 * (source in its remote_ts, destination in its local_ts). */
struct gw_dp_child *gw_dp_lookup_out(const struct gw_dp_snap *s, const uint8_t *pkt,
				     size_t len);
bool gw_dp_check_in(const struct gw_dp_child *c, const uint8_t *pkt, size_t len);

/* Counters and state of the data plane. */
json_t *gw_dp_dump(struct gw_dp *dp);

/* Registers the data plane counters (idempotent). */
void gw_dp_counters_register(void);

#endif
