/* The access router role: Router Advertisements (RFC 4861 §6.2) with the
 * Mobile IPv6 (RFC 6275 §7) and HMIPv6 (RFC 5380 §4) additions, answers to
 * Router Solicitations. See docs/config-ar.md. */
#ifndef MIPSEC_AR_AR_H
#define MIPSEC_AR_AR_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "daemon/cfg.h"
#include "wire/nd.h"

#define AR_MAX_IFACES 16

/* RFC 4861 §6.2.1 / §10 and RFC 6275 §7.5 limits, in milliseconds. */
#define AR_MIN_RTR_ADV_MS 30		/* RFC 6275: MinRtrAdvInterval >= 0.03 s */
#define AR_MAX_RTR_ADV_MIN_MS 70	/* RFC 6275: MaxRtrAdvInterval >= 0.07 s */
#define AR_MAX_RTR_ADV_MAX_MS 1800000	/* RFC 4861: MaxRtrAdvInterval <= 1800 s */
#define AR_MAX_ROUTER_LIFETIME 9000
#define AR_MAX_REACHABLE_TIME 3600000
#define AR_MAX_INITIAL_RTR_ADVERTISEMENTS 3
#define AR_MAX_INITIAL_RTR_ADVERT_INTERVAL_MS 16000
#define AR_MIN_DELAY_BETWEEN_RAS_MS 3000	/* RFC 4861 constant, the default */
#define AR_MAX_RA_DELAY_TIME_MS 500

struct ar_prefix_cfg {
	struct ip_prefix prefix;	/* with router_address: the router's address */
	bool on_link, autonomous, router_address;
	uint32_t valid_lifetime, preferred_lifetime;
};

struct ar_map_cfg {
	struct in6_addr addr;
	uint8_t distance, preference;
	bool rcoa;
	uint32_t valid_lifetime;
};

struct ar_iface_cfg {
	char name[IFNAMSIZ];
	uint32_t min_interval_ms, max_interval_ms;
	uint32_t min_delay_between_ras_ms;	/* RFC 6275 §7.5 MinDelayBetweenRAs */
	uint32_t max_ra_delay_ms;		/* random delay before a solicited RA */
	bool solicited_unicast;			/* answer an RS unicast (RFC 7772) */
	uint32_t solicited_rate;		/* unicast answers per second, burst the same */
	bool managed, other_config, home_agent;
	uint8_t hop_limit;
	uint16_t router_lifetime;
	uint32_t reachable_time, retrans_timer;
	uint32_t mtu;				/* 0: no MTU option */
	bool source_lladdr, advertisement_interval;
	bool ha_info;
	int16_t ha_preference;
	uint16_t ha_lifetime;
	struct ar_prefix_cfg prefixes[ND_MAX_PREFIXES];
	size_t n_prefixes;
	struct ar_map_cfg maps[ND_MAX_MAPS];
	size_t n_maps;
};

struct ar_config {
	struct ar_iface_cfg ifaces[AR_MAX_IFACES];
	size_t n_ifaces;
};

void *ar_config_parse(struct cfg_ctx *ctx, const config_setting_t *block);
void ar_config_free(void *cfg);

/* Fills the RA an interface sends; `lladdr` may be NULL (no SLLA option).
 * router_lifetime_override >= 0 replaces the configured lifetime (the
 * final RA of RFC 4861 §6.2.5 sends 0). */
void ar_ra_fill(const struct ar_iface_cfg *ic, const uint8_t *lladdr, size_t lladdr_len,
		int router_lifetime_override, struct nd_ra *ra);

#endif
