/* One advertising interface of the access router: its socket, its RA
 * timer (RFC 4861 §6.2.4), its answers to solicitations (§6.2.6 with the
 * RFC 6275 §7.5 MinDelayBetweenRAs) and what it heard on the link. */
#ifndef MIPSEC_AR_AR_IF_H
#define MIPSEC_AR_AR_IF_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "ar/ar.h"
#include "net/loop.h"

#define AR_MSG_MAX 1280

struct ar_if {
	struct loop *loop;
	struct ar_iface_cfg cfg;
	int ifindex;
	int fd;
	struct io_watch *watch;
	struct timer ra_timer;		/* next multicast RA */
	bool running;
	bool next_is_solicited;		/* the armed RA answers a solicitation */
	unsigned initial_left;		/* MAX_INITIAL_RTR_ADVERTISEMENTS to go */
	uint8_t lladdr[ND_LLADDR_MAX];
	size_t lladdr_len;
	/* Prefixes a reload removed, advertised with zero lifetimes in the
	 * next `withdraw_left` multicast RAs so hosts deprecate them. */
	struct ar_prefix_cfg withdrawn[ND_MAX_PREFIXES];
	size_t n_withdrawn;
	unsigned withdraw_left;
	uint8_t msg[AR_MSG_MAX];	/* the RA as configured, rebuilt on change */
	size_t msg_len;
	uint64_t last_mcast_us;		/* 0: none yet */
	uint64_t last_sent_us;
	uint64_t credit_us, refill_us;	/* unicast answer token bucket, as time credit */
	uint64_t ras_sent, ras_solicited, rs_received, rs_invalid, ra_received;
	uint64_t send_errors;
	uint64_t last_inconsistency_log_us;
};

/* Opens the socket and reads the link-layer address (privileged part).
 * Returns NULL after logging why. */
struct ar_if *ar_if_open(struct loop *l, const struct ar_iface_cfg *cfg);
/* Starts advertising: first RA at once, then the periodic timer. */
int ar_if_start(struct ar_if *ifp);
/* Applies a changed configuration for the same interface. */
void ar_if_update(struct ar_if *ifp, const struct ar_iface_cfg *cfg);
/* Sends the final RA with router lifetime 0 (RFC 4861 §6.2.5) and stops. */
void ar_if_stop(struct ar_if *ifp);
void ar_if_close(struct ar_if *ifp);
json_t *ar_if_dump(const struct ar_if *ifp);

void ar_counters_register(void);

#endif
