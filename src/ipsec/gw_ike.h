/* The IKEv2 engine inside the `ipsec` role (private to src/ipsec/gw*.c).
 *
 * gw.c owns the sockets and the data plane; gw_ike.c owns one engine fed
 * by gw's IKE hook, and turns its CHILD SAs into data plane children
 * (gw_install_child / gw_remove_child). The data plane sends on the
 * newest child covering a destination, so a rekey (new child up, old one
 * down IKE_CHILD_OVERLAP_MS later) moves outbound traffic at once while
 * the old inbound SA keeps working until it is deleted.
 *
 * A poll every 100 ms reads the SAs' byte/packet lifetimes (sa_poll): soft
 * asks the engine for a CHILD rekey, hard deletes the child. */
#ifndef MIPSEC_IPSEC_GW_IKE_H
#define MIPSEC_IPSEC_GW_IKE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct gw;
struct gw_ike;
struct loop;
struct ike_config;
struct gw_dp_child;
struct pad_entry;

/* With PAD entries (n_pad > 0) a peer's identity must have one, and the
 * selectors it claims for its side are narrowed to the entry's space
 * (RFC 4301 §4.4.3) as well as to the configured remote_ts. */
struct gw_ike *gw_ike_new(struct gw *gw, struct loop *loop, const struct ike_config *cfg,
			  const struct pad_entry *pad, size_t n_pad, unsigned poll_ms, char *err,
			  size_t errlen);
/* Starts the peers with initiate = true (after the data plane runs). */
void gw_ike_start(struct gw_ike *g);
/* DELETE to every peer (best effort), then drops the children. */
void gw_ike_stop(struct gw_ike *g);
void gw_ike_free(struct gw_ike *g);
json_t *gw_ike_dump(const struct gw_ike *g);

/* From gw.c: the data plane child whose inbound SPI is `spi_in`. */
struct gw_dp_child *gw_child_get(struct gw *gw, uint32_t spi_in);

#endif
