/* The `ipsec` role: a VPN gateway carrying host traffic from a TUN device
 * in ESP tunnel (or transport) mode over UDP (RFC 3948) to its peers, keyed
 * manually (RFC 4301 §4.5) from the configuration now and by the IKEv2
 * engine later (docs/config-ipsec.md).
 *
 *   TUN -> policy (destination) -> outbound SA -> ESP -> UDP natt_port
 *   UDP natt_port -> SPI -> inbound SA -> ESP decap -> inner policy -> TUN
 *   UDP ike_port, and natt_port datagrams with the non-ESP marker -> IKE hook
 *
 * Files: gw.c (role glue: sockets, TUN, routes, children, IKE hook),
 * gw_config.c (the `ipsec` block), gw_dp.c (the data plane and its worker
 * threads, see gw_dp.h). */
#ifndef MIPSEC_IPSEC_GW_H
#define MIPSEC_IPSEC_GW_H

#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "daemon/cfg.h"
#include "ipsec/sa.h"

struct ike_config;
struct pad_entry;

#define GW_DEFAULT_TUN "ipsec0"
#define GW_IKE_PORT 500
#define GW_NATT_PORT 4500
#define GW_LIFETIME_POLL_MS 100
#define GW_MAX_MANUAL 32
#define GW_MAX_TS 8
#define GW_MAX_TUN_ADDRS 8
#define GW_MAX_WORKERS 2
#define GW_KEY_MAX (SA_KEY_MAX + 32)	/* enc key || salt || auth key */

struct gw_manual_cfg {
	struct ip_addr remote;
	uint16_t remote_port;		/* natt_port unless given */
	enum sa_mode mode;
	enum esp_xform xform;
	size_t enc_key_len;		/* incl. the AEAD salt */
	size_t auth_key_len;		/* CBC: 32, else 0 */
	bool esn;
	uint32_t spi_in, spi_out;
	uint8_t key_in[GW_KEY_MAX], key_out[GW_KEY_MAX];
	struct ip_prefix local_ts[GW_MAX_TS], remote_ts[GW_MAX_TS];
	size_t n_local_ts, n_remote_ts;
};

struct gw_config {
	char tun[IFNAMSIZ];
	unsigned tun_mtu;		/* 0 in the file: 1500 - overhead (computed) */
	struct ip_prefix tun_addrs[GW_MAX_TUN_ADDRS];
	size_t n_tun_addrs;
	struct ip_addr listen;		/* 0.0.0.0: IPv4; ::: dual stack */
	uint16_t ike_port, natt_port;
	unsigned workers;		/* 1: inline in the loop; 2: TX + RX threads */
	bool offload;			/* TUN TSO/checksum offload, UDP GSO */
	unsigned lifetime_poll_ms;	/* IKE children's lifetime poll; 0: wake-ups only */
	char esp_sa_file[PATH_MAX];	/* empty: none */
	struct gw_manual_cfg manual[GW_MAX_MANUAL];
	size_t n_manual;
	/* The `ike` block (ikev2/ike_config.h), NULL without one: the
	 * engine's CHILD SAs join the data plane next to the manual ones. */
	struct ike_config *ike;
	/* `pad`: the identities the IKE responder accepts and the selector
	 * space each may claim (ipsec/pad.h); none: the peers' remote_ts. */
	struct pad_entry *pad;
	size_t n_pad;
};

void *gw_config_parse(struct cfg_ctx *ctx, const config_setting_t *block);
void gw_config_free(void *cfg);
/* Bytes ESP over UDP over IP adds in the worst case for `xform` (padding
 * included), with an outer header of `outer_ip` bytes. */
unsigned gw_overhead(enum esp_xform xform, unsigned outer_ip);
/* Transform by configuration name ("aes128gcm16", ...); false if unknown. */
bool gw_xform_parse(const char *name, enum esp_xform *x, size_t *enc_key_len,
		    size_t *auth_key_len);

/* ---- API for the IKE engine (and the manual SAs) ------------------------ */

struct gw;

/* Where an IKE message came from or goes to. local_port is ike_port or
 * natt_port: on natt_port the non-ESP marker (RFC 3948 §2.2) is added on
 * sending and removed on receipt. */
struct gw_path {
	struct ip_addr local;		/* family 0: unknown / kernel's choice */
	struct ip_addr peer;
	uint16_t local_port, peer_port;
	int ifindex;
};

typedef void (*gw_ike_fn)(void *arg, const struct gw_path *path, const uint8_t *msg,
			  size_t len);
/* Called from the main loop for every IKE message (marker removed). */
void gw_set_ike_handler(struct gw *gw, gw_ike_fn fn, void *arg);
/* `fn` runs in the loop when a packet took an SA past a byte/packet
 * lifetime (see gw_dp_set_expiry). */
void gw_set_expiry_handler(struct gw *gw, void (*fn)(void *arg), void *arg);
/* Sends an IKE message; returns 0 or a negative errno. */
int gw_send_ike(struct gw *gw, const struct gw_path *path, const uint8_t *msg, size_t len);
/* Sends a NAT keepalive (0xff) from the NAT-T socket to path->peer. */
int gw_send_natt_keepalive(struct gw *gw, const struct gw_path *path);

/* The selectors and the outer path of a CHILD SA pair. */
struct gw_child_sel {
	struct ip_addr peer;		/* outer destination */
	uint16_t peer_port;		/* 0: natt_port */
	const struct ip_prefix *local_ts, *remote_ts;
	size_t n_local_ts, n_remote_ts;
	bool routes;			/* install routes for remote_ts via the TUN */
};

/* Installs an inbound and an outbound SA (both modes must be equal) with
 * their selectors; the data plane uses them once this returns. The child is
 * named by its inbound SPI. Returns 0 or a negative errno (-EEXIST: SPI in
 * use, -EINVAL: parameters, -ENOSPC: too many children). */
int gw_install_child(struct gw *gw, const struct sa_params *in, const struct sa_params *out,
		     const struct gw_child_sel *sel);
/* Removes the child whose inbound SPI is `spi_in`; once this returns no
 * packet uses its SAs. -ENOENT if there is none. */
int gw_remove_child(struct gw *gw, uint32_t spi_in);

#endif
