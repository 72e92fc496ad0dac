/* The IKEv2 engine (RFC 7296, RFC 7383 fragmentation, RFC 7427
 * signatures, RFC 4877 for Mobile IPv6) as a library without sockets.
 *
 * The owner feeds every datagram received on UDP 500/4500 (the non-ESP
 * marker already removed) to ike_engine_input() with the path it came on,
 * and the engine sends through ops->send() (the transport adds the marker
 * on port 4500). Timers run on the owner's struct loop: retransmission
 * with exponential backoff, IKE and CHILD rekey with jitter, liveness
 * checks (DPD), half-open expiry and cookie secret rotation.
 *
 * CHILD SAs leave the engine through ops->child_up() with everything the
 * data plane needs for the two struct sa_params of ipsec/sa.h. A rekey is
 * make-before-break: child_up(new, replaces = old id) first, then
 * child_down(old) IKE_CHILD_OVERLAP_MS later, so the data plane switches
 * its outbound traffic to the newest child of the same policy on child_up
 * and keeps receiving on the old one meanwhile.
 *
 * One engine = one `ike` configuration block (ikev2/ike_config.h). */
#ifndef MIPSEC_IKEV2_IKE_H
#define MIPSEC_IKEV2_IKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "ipsec/sa.h"

struct loop;
struct ike_config;
struct ike_engine;

#define IKE_TS_MAX		16
#define IKE_ID_MAX		256
#define IKE_CHILD_OVERLAP_MS	2000	/* old child kept after a rekey */

/* Where a datagram came from / goes to. Ports in host order. */
struct ike_path {
	struct ip_addr local, remote;
	uint16_t lport, rport;
};

/* A traffic selector: an address range, an IP protocol (0 = any) and a
 * port range. RFC 4877 Mobility Header type selectors are protocol 135
 * with ports (type << 8) .. (type << 8) | 0xff... the engine keeps
 * whatever the configuration or the peer says. */
struct ike_ts {
	struct ip_addr start, end;
	uint8_t proto;
	uint16_t sport, eport;
};

struct ike_ts_set {
	size_t n;
	struct ike_ts ts[IKE_TS_MAX];
};

/* An identity as carried by the ID payload (RFC 7296 §3.5). */
struct ike_id {
	uint8_t type;		/* IKEV2_ID_*; 0 = unset */
	size_t len;
	uint8_t data[IKE_ID_MAX];
};

/* Formats an identity for logs ("fqdn:gw1.example", "dn:CN=..."). */
const char *ike_id_fmt(const struct ike_id *id, char *buf, size_t size);

/* Everything needed to create the inbound and outbound SA of a CHILD SA. */
struct ike_child_info {
	uint32_t id;			/* child id, unique per engine */
	uint32_t ike_id;		/* the IKE SA that keys it */
	uint32_t replaces;		/* rekey: the child it replaces, or 0 */
	const char *peer;		/* configured peer name */
	/* The peer's child policy this SA serves (its `children` entry, or
	 * the peer name): the data plane sends on the newest child of a
	 * policy. */
	const char *policy;
	const struct ike_id *peer_id;	/* authenticated identity of the peer */
	uint32_t spi_in, spi_out;
	enum esp_xform xform;
	bool esn;
	enum sa_mode mode;
	/* Keys per direction: AEAD enc = key || salt; CBC auth 32 bytes. */
	uint8_t enc_in[SA_KEY_MAX], enc_out[SA_KEY_MAX];
	size_t enc_key_len;
	uint8_t auth_in[32], auth_out[32];
	size_t auth_key_len;
	struct sa_lifetime soft, hard;
	/* Outer endpoints. encap: ESP in UDP (RFC 3948) on path.lport/rport. */
	struct ike_path path;
	bool encap;
	bool nat_local, nat_remote;	/* NAT detected in front of us / the peer */
	struct ike_ts_set local_ts, remote_ts;
};

struct ike_ops {
	void (*send)(void *arg, const struct ike_path *path, const uint8_t *msg, size_t len);
	void (*child_up)(void *arg, const struct ike_child_info *c);
	void (*child_down)(void *arg, uint32_t child_id);
	/* Outer endpoints of a child changed (NAT mapping, CoA move). */
	void (*child_moved)(void *arg, const struct ike_child_info *c);
	/* An IKE SA rekey is ike_up(new) then ike_down(old): the children
	 * stay up (their ike_id becomes the new one). */
	void (*ike_up)(void *arg, uint32_t ike_id, const char *peer, const struct ike_id *peer_id);
	void (*ike_down)(void *arg, uint32_t ike_id, const char *peer);
	/* The PAD hook: which remote traffic selectors may the authenticated
	 * `peer_id` (configured as `peer`) use, given what it asks for?
	 * `allowed` comes in holding the child policy's configured remote
	 * selectors; the hook may narrow or replace them (the engine then
	 * narrows `requested` to the result) and returns 0, or -1 to refuse
	 * (TS_UNACCEPTABLE). NULL: the configured selectors. */
	int (*authorize)(void *arg, const char *peer, const struct ike_id *peer_id,
			 const struct ike_ts_set *requested, struct ike_ts_set *allowed);
	/* A NAT keepalive (RFC 3948 §2.3: the single octet 0xff, no non-ESP
	 * marker) on `path`, sent every `natt_keepalive` seconds while the
	 * IKE SA is up and we are behind a NAT. NULL: none are sent. */
	void (*keepalive)(void *arg, const struct ike_path *path);
};

/* The engine keeps a pointer to cfg (which must outlive it) and loads
 * the credentials it names. NULL with err on failure. */
struct ike_engine *ike_engine_new(struct loop *loop, const struct ike_config *cfg,
				  const struct ike_ops *ops, void *arg, const char *name,
				  char *err, size_t errlen);
/* Silently drops every SA (no DELETE sent; see ike_engine_shutdown). */
void ike_engine_free(struct ike_engine *e);
/* Sends DELETE for every IKE SA (best effort, no retransmission). */
void ike_engine_shutdown(struct ike_engine *e);
/* Registers the `ike_sa` and `child_sa` tables (one engine per daemon). */
void ike_engine_register_tables(struct ike_engine *e);

/* A datagram received on `path`. The engine may modify msg. Returns 0
 * when it was accepted, -1 when dropped (the reason is counted). */
int ike_engine_input(struct ike_engine *e, const struct ike_path *path, uint8_t *msg,
		     size_t len);

/* Starts IKE_SA_INIT towards the configured peer `name` (its `remote`
 * must be an address; give it a `local` address too, or NAT detection
 * sees a NAT in front of us and moves to port 4500). Returns the IKE SA
 * id, or 0. Peers with initiate = true are started by
 * ike_engine_start(). */
uint32_t ike_engine_initiate(struct ike_engine *e, const char *peer);
void ike_engine_start(struct ike_engine *e);

/* Rekeys a CHILD SA or an IKE SA now (the timers do it normally). */
int ike_engine_rekey_child(struct ike_engine *e, uint32_t child_id);
int ike_engine_rekey_ike(struct ike_engine *e, uint32_t ike_id);
/* Deletes an IKE SA (and its children) with an INFORMATIONAL DELETE. */
int ike_engine_delete_ike(struct ike_engine *e, uint32_t ike_id);
int ike_engine_delete_child(struct ike_engine *e, uint32_t child_id);

/* RFC 4877 §4.3: the local address of the IKE SA `ike_id` (and of all its
 * children) is now `local` (a care-of address move); no exchange. The
 * children are reported through ops->child_moved. */
int ike_engine_update_path(struct ike_engine *e, uint32_t ike_id, const struct ip_addr *local);
/* The other end: the peer's address is now `remote` (a home agent learns
 * the mobile node's new care-of address from its protected BU, RFC 4877
 * §4.3, where no NAT makes the engine follow the peer by itself). Same
 * family only; children reported through ops->child_moved. */
int ike_engine_update_remote(struct ike_engine *e, uint32_t ike_id, const struct ip_addr *remote);

/* Inspection (tests, control socket). */
enum ike_sa_state_pub { IKE_PUB_NONE, IKE_PUB_CONNECTING, IKE_PUB_ESTABLISHED, IKE_PUB_CLOSING };
enum ike_sa_state_pub ike_engine_sa_state(const struct ike_engine *e, uint32_t ike_id);
size_t ike_engine_n_ike(const struct ike_engine *e);	/* established */
size_t ike_engine_n_child(const struct ike_engine *e);	/* installed */
/* The id of the (first) established IKE SA with peer `name`, or 0. */
uint32_t ike_engine_ike_of(const struct ike_engine *e, const char *peer);
/* Value of counter `short_name` ("rx_no_proposal", ...): see ike_sa.h. */
uint64_t ike_engine_counter(const struct ike_engine *e, const char *short_name);

/* Wireshark decryption records (ikev2_decryption_table and esp_sa) of
 * every established SA, one per line, to the files (NULL: skip). */
int ike_engine_export_keys(const struct ike_engine *e, const char *ikev2_table,
			   const char *esp_sa);

#endif
