/* Mobility security association sets (RFC 4877): per home address, the
 * ESP SAs that protect a mobile node's signalling and its tunnel with its
 * home agent, on top of the user-space ESP data plane (ipsec/esp.h).
 *
 *   transport pair  protects the Mobility Header messages BU (5) and BA (6)
 *                   only (RFC 4877 §4.1 MH-type selectors): between the
 *                   extension headers (HAO, RH2) and the MH;
 *   tunnel pair     protects everything the HA and the MN tunnel to each
 *                   other, HoTI/HoT (1, 3) included: the ESP tunnel is the
 *                   mobile tunnel (001 Fig. 22 "header elimination").
 *
 * On the wire (inside the RFC 5555 UDP 4191 datagram, docs/mip6-transport.md
 * "With IPsec"):
 *   BU   IPv6(CoA->HA) / DestOpt(HAO=HoA) / ESP transport / MH(BU)
 *   BA   IPv6(HA->CoA) / RH2(HoA) / ESP transport / MH(BA)
 *   data IPv6(CoA->HA or HA->CoA) / ESP tunnel / IPv6(HoA<->X) ...
 * (with an IPv4 care-of address the IPv6 header carries the HoA instead of
 * the CoA, as in RFC 5555 §4.2).
 *
 * Keys come from the configuration (manual keying, RFC 4301 §4.5,
 * mip6_sec_install) or from the IKEv2 engine (mip6/mip6_ike.c): each CHILD
 * SA is one pair handed over by mip6_sec_install_pair(). A
 * care-of address change moves the outer endpoints of every SA of the set
 * (mip6_sec_move, RFC 4877 §4.3) without rekeying. */
#ifndef MIPSEC_MIP6_MIP6_SEC_H
#define MIPSEC_MIP6_MIP6_SEC_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/addr.h"
#include "daemon/cfg.h"
#include "ipsec/sa.h"
#include "wire/exthdr.h"

struct sad;
struct mip6_sec;

/* Which end of the SAs we are: decides which outer address is ours. */
enum mip6_sec_side { MIP6_SEC_MN, MIP6_SEC_HA };

/* What protected a received packet. */
enum mip6_sec_kind {
	MIP6_SEC_NONE = 0,	/* no ESP */
	MIP6_SEC_MH,		/* the transport SA of a home address */
	MIP6_SEC_TUN,		/* the tunnel SA of a home address */
};

/* One home address's set. The SAs are owned by the set's SAD. */
struct mip6_sec_set {
	struct in6_addr hoa;
	struct sa *mh_in, *mh_out, *tun_in, *tun_out;
	struct ip_addr local, peer;	/* current outer endpoints */
	uint64_t moves;
	struct mip6_sec_set *next;	/* HoA hash chain */
};

/* The four SAs as install takes them (the IKE engine fills the same). */
struct mip6_sec_sas {
	struct sa_params mh_in, mh_out, tun_in, tun_out;
};

/* table_name != NULL: the role's instance, dumpable as that table and
 * found by mip6_sec_instance(). */
struct mip6_sec *mip6_sec_new(enum mip6_sec_side side, const char *table_name);
void mip6_sec_free(struct mip6_sec *s);

/* The seam for the IKEv2 engine: the running ha (MIP6_SEC_HA) or mn role's
 * sets, NULL when that role runs without an `ipsec` block. The engine
 * calls mip6_sec_install() on it for each CHILD SA pair it negotiates for
 * a home address (transport pair with MH-type selectors 5/6, tunnel pair),
 * and mip6_sec_remove() on DELETE. */
struct mip6_sec *mip6_sec_instance(enum mip6_sec_side side);

/* Installs (or replaces: a rekey) the set of home address `hoa`. The
 * params' dir and mode are forced (in/out, transport/tunnel); their
 * src/dst give the initial outer endpoints (out: local -> peer). Returns
 * 0, or -1 with a message in err (duplicate SPI, bad key length, ...). */
int mip6_sec_install(struct mip6_sec *s, const struct in6_addr *hoa,
		     const struct mip6_sec_sas *sas, char *err, size_t errlen);
bool mip6_sec_remove(struct mip6_sec *s, const struct in6_addr *hoa);

/* IKE-keyed CHILD SAs come one pair (inbound + outbound) at a time:
 * `kind` MIP6_SEC_MH (transport) or MIP6_SEC_TUN. A pair of a kind the set
 * already has is a rekey, make-before-break: the new outbound SA is used
 * at once, the previous inbound SA keeps being accepted until
 * mip6_sec_remove_pair() names its SPI (child_down). Creates the set. */
int mip6_sec_install_pair(struct mip6_sec *s, const struct in6_addr *hoa,
			  enum mip6_sec_kind kind, const struct sa_params *in,
			  const struct sa_params *out, char *err, size_t errlen);
/* Removes the pair whose inbound SPI is `spi_in` (current or kept after a
 * rekey); the set goes when it has no SA left. False when absent. */
bool mip6_sec_remove_pair(struct mip6_sec *s, const struct in6_addr *hoa, uint32_t spi_in);
/* The lifetime state of an IKE-installed pair (the worse of its SAs still
 * in the SAD; SA_LIVE when neither is): byte and packet limits are counted
 * by the data plane, so the IKE glue polls them to rekey or delete. */
/* cb(arg) runs from the packet path when an SA crosses a soft or hard
 * byte/packet limit; the SAs are in use then, so it may only schedule
 * work (mip6_sec_pair_expiry from a timer). */
void mip6_sec_set_expiry_handler(struct mip6_sec *s, void (*cb)(void *), void *arg);
enum sa_expiry mip6_sec_pair_expiry(struct mip6_sec *s, uint32_t spi_in, uint32_t spi_out,
				    uint64_t now_s);
struct mip6_sec_set *mip6_sec_find(const struct mip6_sec *s, const struct in6_addr *hoa);
size_t mip6_sec_count(const struct mip6_sec *s);

/* RFC 4877 §4.3: the mobile node's care-of address changed (MN: before the
 * BU leaves; HA: when the BU is accepted). Only the outer addresses move;
 * keys, sequence numbers and replay windows stay. False when no set. */
bool mip6_sec_move(struct mip6_sec *s, const struct in6_addr *hoa, const struct ip_addr *coa);

/* The home agent's end of the set (MN: learnt by DHAAD, or the HA's IPv4
 * address with an IPv4 CoA; HA: its own address). False when no set. */
bool mip6_sec_home_agent(struct mip6_sec *s, const struct in6_addr *hoa, const struct ip_addr *ha);

/* Adds the esp_sa records (Wireshark UAT, addresses wildcarded so that
 * they match whatever the care-of address was) to the key log at `path`:
 * truncated on the first call, it then keeps the records of every SA
 * since, rekeyed ones included (core/keylog.h). */
int mip6_sec_export(struct mip6_sec *s, const char *path);

/* ---- outbound ---- */

/* Inserts ESP (transport SA of `set`) in front of the Mobility Header of
 * the IPv6 packet buf[0..*len), in place; `cap` is the buffer's size.
 * Returns 0 or -1 (counted). */
int mip6_sec_protect_mh(struct mip6_sec_set *set, uint8_t *buf, size_t cap, size_t *len);

/* Bytes needed in front of a tunnelled packet: IPv6 header + ESP header. */
size_t mip6_sec_tun_headroom(const struct mip6_sec_set *set);
/* Tunnel mode: the packet at buf + off (len bytes) becomes
 * IPv6(src, dst) / ESP / packet, starting at buf + *out_off, in place
 * (off must be >= mip6_sec_tun_headroom()); `cap` is the buffer's size.
 * src/dst: the IPv6 header's addresses (CoA or HoA, HA). */
int mip6_sec_protect_tun(struct mip6_sec_set *set, uint8_t *buf, size_t cap, size_t off,
			 size_t len, const uint8_t src[16], const uint8_t dst[16],
			 size_t *out_off, size_t *out_len);

/* ---- inbound ---- */

struct mip6_sec_rx {
	enum mip6_sec_kind kind;
	struct mip6_sec_set *set;
	uint8_t *pkt;		/* MH: the packet with ESP removed; TUN: the inner packet */
	size_t len;
};

/* The packet buf[0..len), walked into `c` with c->proto == PROTO_ESP:
 * looks the SPI up, decrypts in place and checks the selectors (transport
 * SA: next header MH and type BU or BA; tunnel SA: next header IPv6). For
 * the transport SA the ESP header is removed (the packet becomes the RFC
 * 6275 form again). Returns 0, or -1 (dropped and counted: unknown SPI,
 * replay, ICV, selector). */
int mip6_sec_unprotect(struct mip6_sec *s, uint8_t *buf, size_t len, const struct ipv6_chain *c,
		       struct mip6_sec_rx *out);

/* Rate-limited drop log: at most one line per `what` every 10 s, with the
 * number of drops since the last line. */
struct mip6_sec_ratelog {
	uint64_t last_ms;
	uint64_t suppressed;
};
void mip6_sec_log_drop(struct mip6_sec_ratelog *rl, const char *mod, const char *what,
		       const uint8_t *hoa, const struct ip_addr *peer);

json_t *mip6_sec_dump(const struct mip6_sec *s);
void mip6_sec_counters_register(void);

/* ---- configuration (shared by the ha and mn blocks) ---- */

struct mip6_sec_keycfg {
	enum esp_xform xform;
	uint32_t mh_spi_in, mh_spi_out, tun_spi_in, tun_spi_out;
	uint8_t mh_key_in[64], mh_key_out[64], tun_key_in[64], tun_key_out[64];
	size_t key_len;		/* enc key (+ salt) length */
	size_t auth_len;	/* CBC: 32 bytes of HMAC key after the enc key */
};

/* Parses xform, the four SPIs and the four hex keys of group `g`. The
 * error messages name the setting. Returns false after an error. */
bool mip6_sec_keycfg_parse(struct cfg_ctx *ctx, const config_setting_t *g,
			   struct mip6_sec_keycfg *k);
/* Fills the four sa_params (keys point into k) for the given endpoints. */
void mip6_sec_keycfg_sas(const struct mip6_sec_keycfg *k, const struct ip_addr *local,
			 const struct ip_addr *peer, struct mip6_sec_sas *out);

#endif
