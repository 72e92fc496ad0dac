/* The `ike` configuration block (docs/config-ike.md): credentials, our
 * identity, limits and the peers with their proposals and selectors.
 * Every value is copied out of the libconfig tree. */
#ifndef MIPSEC_IKEV2_IKE_CONFIG_H
#define MIPSEC_IKEV2_IKE_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon/cfg.h"
#include "ikev2/ike.h"

#define IKE_PROP_ALGS	6	/* algorithms of one type in one proposal */
#define IKE_MAX_PROPS	8
#define IKE_MAX_FILES	8
#define IKE_PSK_MAX	256

/* One proposal: per transform type (IKEV2_XF_ENCR..ESN, index 1..5) a
 * list of transform ids, encryption with its key length in bits. */
struct ike_prop {
	uint8_t n[6];
	uint16_t id[6][IKE_PROP_ALGS];
	uint16_t keylen[IKE_PROP_ALGS];	/* of id[IKEV2_XF_ENCR][k] */
};

struct ike_props {
	size_t n;
	struct ike_prop p[IKE_MAX_PROPS];
};

/* Parses "aes128gcm16-prfsha256-ecp256" (IKE, esp = false) or
 * "aes128gcm16-esn" (ESP): 0, or -1 with a reason in err. */
int ike_prop_parse(const char *s, bool esp, struct ike_prop *p, char *err, size_t errlen);

enum ike_auth_kind { IKE_AUTH_PUBKEY, IKE_AUTH_PSK };

#define IKE_MAX_CHILDREN 4

/* One CHILD SA policy of a peer: RFC 4877 wants two between a mobile node
 * and its home agent (transport mode for BU/BA, tunnel mode for traffic).
 * The first comes with IKE_AUTH, the others with CREATE_CHILD_SA. */
struct ike_child_cfg {
	char name[32];
	enum sa_mode mode;
	struct ike_ts_set local_ts, remote_ts;
	struct ike_props esp_props;
};

struct ike_peer_cfg {
	char name[64];
	bool remote_any;
	struct ip_addr remote;
	uint16_t remote_port;		/* default 500 */
	bool has_local;
	struct ip_addr local;		/* source address when we initiate */
	struct ike_id remote_id;	/* type 0: any identity the credentials prove */
	struct ike_id local_id;		/* type 0: the global local_id */
	enum ike_auth_kind auth, local_auth;
	uint8_t psk[IKE_PSK_MAX];
	size_t psk_len;
	struct ike_props ike_props, esp_props;
	enum sa_mode mode;
	struct ike_ts_set local_ts, remote_ts;
	/* `children`, or one made of the peer's mode, selectors and
	 * esp_proposals above. */
	struct ike_child_cfg child[IKE_MAX_CHILDREN];
	size_t n_child;
	bool initiate;
	uint32_t rekey_time, child_rekey_time;	/* seconds, 0 = never */
	uint64_t child_rekey_bytes;
	uint32_t dpd;				/* seconds, 0 = off */
};

struct ike_config {
	char certificate[PATH_MAX], private_key[PATH_MAX];
	char ca[IKE_MAX_FILES][PATH_MAX];
	size_t n_ca;
	char crl[IKE_MAX_FILES][PATH_MAX];
	size_t n_crl;
	struct ike_id local_id;
	uint32_t cookie_threshold;		/* half-open SAs before cookies */
	uint32_t fragment_mtu;			/* largest IKE datagram we send */
	uint32_t retransmit_timeout_ms;		/* first retransmission */
	uint32_t retransmit_tries;
	uint32_t half_open_timeout;		/* seconds */
	uint32_t natt_keepalive;		/* seconds between NAT keepalives, 0 = none */
	char decryption_table[PATH_MAX];	/* ikev2_decryption_table export */
	struct ike_peer_cfg *peers;
	size_t n_peers;
};

void ike_config_defaults(struct ike_config *c);
/* Parses the `ike` group `g`; errors go to ctx. True when valid. */
bool ike_config_parse(struct cfg_ctx *ctx, const config_setting_t *g, struct ike_config *c);
void ike_config_free(struct ike_config *c);
const struct ike_peer_cfg *ike_config_peer(const struct ike_config *c, const char *name);

/* "fqdn:x", "ipv6:a", "ipv4:a", "ip:a", "dn:CN=a,O=b", "email:u@d",
 * "keyid:hex" or bare (an address, a DN when it has '=', an e-mail when
 * it has '@', else an FQDN). 0 or -1 with err. */
int ike_id_parse(const char *s, struct ike_id *id, char *err, size_t errlen);
/* "10.0.0.0/24", "2001:db8::/64[tcp/80]", "::/0[mh/5]", "0.0.0.0/0[udp]". */
int ike_ts_parse(const char *s, struct ike_ts *ts, char *err, size_t errlen);

#endif
