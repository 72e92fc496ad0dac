/* Engine internals: the IKE SA with its explicit state machine, CHILD SAs,
 * the engine, counters, and the functions the exchange files share.
 * Not for users of the engine (they include ikev2/ike.h). */
#ifndef MIPSEC_IKEV2_IKE_SA_H
#define MIPSEC_IKEV2_IKE_SA_H

#include <stdbool.h>
#include <stdint.h>

#include "core/stats.h"
#include "core/table.h"
#include "ikev2/ike.h"
#include "ikev2/ike_cert.h"
#include "ikev2/ike_config.h"
#include "ikev2/ike_crypto.h"
#include "net/loop.h"
#include "wire/ikev2.h"

#define IKE_MSG_MAX	65535
#define IKE_NONCE_LEN	32
#define IKE_FRAG_MAX	32	/* fragments of one message */
#define IKE_COOKIE_LEN	(1 + 32)

/* Counters, per engine (label engine="<name>"). X(short, help). */
#define IKE_COUNTERS(X) \
	X(rx_msgs, "IKE datagrams received") \
	X(tx_msgs, "IKE datagrams sent") \
	X(rx_malformed, "messages refused by the codec (INVALID_SYNTAX)") \
	X(rx_unsupported_critical, "messages with an unknown critical payload") \
	X(rx_bad_version, "messages with a major version above 2") \
	X(rx_invalid_spi, "messages for an unknown IKE SA (INVALID_IKE_SPI)") \
	X(rx_bad_mid, "messages outside the message-ID window") \
	X(rx_retransmit, "retransmitted requests answered from the cache") \
	X(rx_decrypt_fail, "SK payloads failing integrity or padding checks") \
	X(rx_unexpected, "messages not expected in the SA state") \
	X(rx_invalid_syntax, "messages missing or misusing payloads") \
	X(rx_no_proposal, "proposals refused (NO_PROPOSAL_CHOSEN)") \
	X(rx_invalid_ke, "KE groups refused (INVALID_KE_PAYLOAD)") \
	X(rx_auth_failed, "authentications failed (AUTHENTICATION_FAILED)") \
	X(rx_ts_unacceptable, "traffic selectors refused (TS_UNACCEPTABLE)") \
	X(rx_cert_parse, "peer certificates that do not parse") \
	X(rx_cert_untrusted, "peer certificates without a chain to our CAs") \
	X(rx_cert_expired, "peer certificates expired or not yet valid") \
	X(rx_cert_revoked, "peer certificates revoked") \
	X(rx_cert_id_mismatch, "peer certificates not naming the peer's ID") \
	X(rx_no_peer, "requests matching no configured peer") \
	X(rx_bad_cookie, "IKE_SA_INIT with a wrong or stale cookie") \
	X(tx_cookie, "cookies demanded (half-open SAs over the threshold)") \
	X(rx_n_error, "error notifies received from peers") \
	X(rx_n_no_proposal, "NO_PROPOSAL_CHOSEN received") \
	X(rx_n_invalid_ke, "INVALID_KE_PAYLOAD received (renegotiated)") \
	X(rx_n_auth_failed, "AUTHENTICATION_FAILED received") \
	X(rx_n_ts_unacceptable, "TS_UNACCEPTABLE received") \
	X(rx_n_invalid_syntax, "INVALID_SYNTAX received") \
	X(rx_n_unsupported_critical, "UNSUPPORTED_CRITICAL_PAYLOAD received") \
	X(rx_n_cookie, "COOKIE demands received") \
	X(tx_retransmit, "requests retransmitted") \
	X(tx_error_notify, "error notifies sent") \
	X(frag_tx, "IKE fragments sent") \
	X(frag_rx, "IKE fragments received") \
	X(frag_reassembled, "IKE messages reassembled") \
	X(frag_bad, "IKE fragments dropped") \
	X(ike_established, "IKE SAs established") \
	X(ike_rekeyed, "IKE SAs rekeyed") \
	X(ike_deleted, "IKE SAs deleted") \
	X(child_established, "CHILD SAs established") \
	X(child_rekeyed, "CHILD SAs rekeyed") \
	X(child_deleted, "CHILD SAs deleted") \
	X(dpd_sent, "liveness checks sent") \
	X(dpd_dead, "peers declared dead") \
	X(half_open_expired, "half-open IKE SAs expired") \
	X(rekey_collision, "simultaneous rekeys resolved (RFC 7296 2.8.1)") \
	X(nat_detected, "IKE SAs with a NAT on the path") \
	X(path_updated, "IKE SA endpoints moved")

enum ike_ctr {
#define IKE_CTR_ENUM(n, h) IKE_C_##n,
	IKE_COUNTERS(IKE_CTR_ENUM)
#undef IKE_CTR_ENUM
	IKE_C_MAX
};

/* The IKE SA state machine (initiator / responder columns). */
enum ike_state {
	IKE_ST_INIT_SENT,	/* I: IKE_SA_INIT request out */
	IKE_ST_INIT_DONE,	/* R: IKE_SA_INIT answered (half-open) */
	IKE_ST_AUTH_SENT,	/* I: IKE_AUTH request out */
	IKE_ST_ESTABLISHED,
	IKE_ST_REKEYED,		/* superseded by a rekey; waiting for DELETE */
	IKE_ST_DELETING,	/* our DELETE out */
	IKE_ST_DEAD,		/* freed at the next turn */
};
const char *ike_state_name(enum ike_state s);

enum child_state { CHILD_ST_INSTALLED, CHILD_ST_REKEYING, CHILD_ST_REKEYED, CHILD_ST_DELETING };

struct ike_child {
	struct ike_child *next;
	struct ike_sa *sa;
	uint32_t id;
	enum child_state state;
	uint32_t spi_in, spi_out;
	struct ike_suite suite;
	enum sa_mode mode;
	struct ike_ts_set local_ts, remote_ts;
	struct ike_child_info info;	/* what child_up got (keys included) */
	uint64_t established_ms;
	struct timer rekey;		/* soft lifetime */
	struct timer expire;		/* old child after a rekey */
	uint32_t replaced_by;
	uint8_t suite_num;		/* proposal number chosen (responder) */
	uint8_t policy;			/* index in sa->peer->child[] */
};

/* Requests we may have to send; one is in flight at a time (window 1). */
enum ike_task_kind {
	IKE_T_NONE,
	IKE_T_INIT,
	IKE_T_AUTH,
	IKE_T_CHILD_REKEY,
	IKE_T_CHILD_NEW,	/* child_id: the policy index */
	IKE_T_IKE_REKEY,
	IKE_T_DELETE_CHILD,
	IKE_T_DELETE_IKE,
	IKE_T_DPD,
};

#define IKE_TASKS_MAX 8
struct ike_task {
	enum ike_task_kind kind;
	uint32_t child_id;
};

/* A message being reassembled (RFC 7383 §2.6). */
struct ike_frag_rx {
	uint32_t mid;
	bool active;
	bool response;
	uint8_t first;
	uint16_t total;
	uint16_t have;
	uint8_t *part[IKE_FRAG_MAX];
	size_t part_len[IKE_FRAG_MAX];
	uint8_t *whole;			/* the last message reassembled */
	uint64_t started_ms;
};

/* A message sent: one datagram or its fragments. */
struct ike_out {
	size_t n;
	uint8_t *dgram[IKE_FRAG_MAX];
	size_t len[IKE_FRAG_MAX];
};

/* State of an exchange that creates a child or rekeys the IKE SA. */
struct ike_pending {
	bool active;
	uint32_t spi_in;			/* our new ESP SPI */
	uint8_t new_spi[8];			/* IKE rekey: our new IKE SPI */
	struct ike_dh *dh;
	uint8_t nonce[IKE_NONCE_LEN];		/* ours */
	uint8_t peer_nonce[IKEV2_NONCE_MAX];	/* for collision resolution */
	size_t peer_nonce_len;
	uint8_t resp_nonce[IKE_NONCE_LEN];	/* ours in the peer's colliding exchange */
	uint32_t rekey_child;			/* child being rekeyed */
	uint8_t policy;				/* of a new child */
	struct ike_sa *new_sa;			/* IKE rekey collision: what the peer made */
};

struct ike_sa {
	struct ike_sa *next;
	struct ike_engine *e;
	uint32_t id;
	enum ike_state state;
	bool initiator;			/* original initiator of this IKE SA */
	const struct ike_peer_cfg *peer;
	uint8_t spi_i[8], spi_r[8];
	struct ike_path path;
	struct ike_suite suite;
	struct ike_keys keys;
	bool keyed;
	struct ike_dh *dh;
	uint16_t dh_group;		/* I: the group we send KE for */
	uint8_t ni[IKEV2_NONCE_MAX], nr[IKEV2_NONCE_MAX];
	size_t ni_len, nr_len;
	uint8_t *init_i, *init_r;	/* IKE_SA_INIT messages, for AUTH */
	size_t init_i_len, init_r_len;
	uint8_t cookie[256];
	size_t cookie_len;
	bool frag_ok;			/* both sent IKEV2_FRAGMENTATION_SUPPORTED */
	uint8_t peer_hashes;		/* bit per RFC 7427 hash the peer takes */
	bool nat_local, nat_remote;
	struct ike_id peer_id;
	bool peer_authed;

	/* Message IDs: ours as requester, the peer's as requester. */
	uint32_t tx_mid;		/* ID of our next request */
	uint32_t rx_mid;		/* ID of the peer's next request */
	struct ike_out req;		/* in flight (tx_mid - 1) */
	bool req_out;
	enum ike_task_kind req_kind;
	uint32_t req_child;
	unsigned retries;
	struct ike_out resp;		/* last response, for retransmissions */
	bool resp_valid;
	struct ike_frag_rx frx;
	struct ike_task tasks[IKE_TASKS_MAX];
	size_t n_tasks;
	struct ike_pending pend;	/* the child or IKE rekey exchange in flight */
	uint32_t auth_child_spi;	/* I: ESP SPI offered in IKE_AUTH */
	unsigned init_rounds;		/* cookie / INVALID_KE round trips */
	uint16_t rekey_group;		/* IKE rekey: group the peer asked for */

	struct ike_child *children;
	uint64_t created_ms, last_rx_ms;
	struct timer rtx, rekey, dpd, expire, natka;
};

struct keylog;

struct ike_engine {
	struct loop *loop;
	const struct ike_config *cfg;
	const struct ike_ops *ops;
	void *arg;
	char name[32];
	struct ike_creds creds;
	bool have_creds;
	struct ike_id local_id;		/* default local identity */
	struct ike_sa *sas;
	uint32_t next_ike_id, next_child_id;
	uint8_t cookie_secret[2][32];	/* current, previous */
	uint8_t cookie_version;
	struct timer cookie_timer;
	struct counter ctr[IKE_C_MAX];
	char label[48];
	struct table t_ike, t_child;
	bool tables;
	struct keylog *dtable_log;	/* cfg->decryption_table */
	uint8_t buf[IKE_MSG_MAX];	/* scratch for building */
	uint8_t plain[IKE_MSG_MAX];	/* scratch for inner chains */
};

static inline void ike_count(struct ike_engine *e, enum ike_ctr c) { counter_inc(&e->ctr[c]); }

/* ---- ike_sa.c ------------------------------------------------------------ */
struct ike_sa *ike_sa_new(struct ike_engine *e, bool initiator, const struct ike_path *path);
void ike_sa_free(struct ike_sa *sa);
/* Tells the owner and marks the SA dead (freed from the loop). */
void ike_sa_close(struct ike_sa *sa, const char *why);
void ike_sa_set_state(struct ike_sa *sa, enum ike_state st);
struct ike_sa *ike_sa_by_spi(struct ike_engine *e, const uint8_t spi[8], bool ours_is_i);
struct ike_sa *ike_sa_by_id(const struct ike_engine *e, uint32_t id);
struct ike_sa *ike_sa_half_open(struct ike_engine *e, const uint8_t spi_i[8],
				const struct ike_path *path);
size_t ike_sa_count_half_open(const struct ike_engine *e);
void ike_sa_established(struct ike_sa *sa);
void ike_sa_arm_rekey(struct ike_sa *sa);
void ike_out_clear(struct ike_out *o);
/* Queues a task and starts it when no request is in flight. */
void ike_sa_task(struct ike_sa *sa, enum ike_task_kind kind, uint32_t child_id);
void ike_sa_next_task(struct ike_sa *sa);
/* Sends a request already built in sa->req; arms retransmission. */
void ike_sa_send_req(struct ike_sa *sa, enum ike_task_kind kind);
/* The request in flight got its answer. */
void ike_sa_req_done(struct ike_sa *sa);
void ike_sa_send_out(struct ike_sa *sa, const struct ike_out *o);
void ike_random(void *buf, size_t len);

/* Children. */
struct ike_child *ike_child_new(struct ike_sa *sa);
struct ike_child *ike_child_by_id(const struct ike_engine *e, uint32_t id);
struct ike_child *ike_child_by_spi(struct ike_sa *sa, uint32_t spi_in_or_out, bool out);
/* Derives keys, fills info, calls child_up and arms the rekey timer. */
int ike_child_install(struct ike_sa *sa, struct ike_child *c, bool we_initiated,
		      const uint8_t *gir, size_t girlen, const uint8_t *ni, size_t nilen,
		      const uint8_t *nr, size_t nrlen, uint32_t replaces);
/* Calls child_down and frees. */
void ike_child_remove(struct ike_child *c, bool notify);
void ike_child_retire(struct ike_child *c);	/* child_down after the overlap */
void ike_child_remove_unlinked(struct ike_child *c);	/* never installed */

/* ---- messages (ike_engine.c) ------------------------------------------- */
/* Builds an SK-protected message (fragmented when needed) from the inner
 * chain `plain` into o. */
int ike_msg_protect(struct ike_sa *sa, uint8_t exchange, bool response, uint32_t mid,
		    uint8_t first, const uint8_t *plain, size_t plen, struct ike_out *o);
/* Sends a protected response to the peer's request `mid` and caches it. */
int ike_msg_respond(struct ike_sa *sa, uint8_t exchange, uint32_t mid, uint8_t first,
		    const uint8_t *plain, size_t plen);
/* Sends an encrypted INFORMATIONAL/IKE_AUTH/... response holding one
 * error notify. */
void ike_respond_error(struct ike_sa *sa, uint8_t exchange, uint32_t mid, uint16_t notify,
		       const uint8_t *data, size_t dlen);
/* Unprotected error response (IKE_SA_INIT, INVALID_IKE_SPI). */
void ike_send_plain_notify(struct ike_engine *e, const struct ike_path *path,
			   const struct ikev2_hdr *req, uint16_t notify, const uint8_t *data,
			   size_t dlen);
/* Notify codes that mean "the request failed": counted and logged. */
bool ike_notify_is_error(uint16_t type);
void ike_count_rx_notify(struct ike_engine *e, uint16_t type);

/* ---- exchanges ----------------------------------------------------------- */
/* ike_init.c */
void ike_init_send(struct ike_sa *sa);
void ike_init_request(struct ike_engine *e, const struct ike_path *path, uint8_t *msg,
		      size_t len, const struct ikev2_msg *m);
void ike_init_response(struct ike_sa *sa, uint8_t *msg, size_t len, const struct ikev2_msg *m);
void ike_cookie_rotate(void *arg);
void ike_nat_hash(const uint8_t spi_i[8], const uint8_t spi_r[8], const struct ip_addr *a,
		  uint16_t port, uint8_t out[20]);

/* ike_auth_x.c */
void ike_auth_send(struct ike_sa *sa);
void ike_auth_request(struct ike_sa *sa, uint32_t mid, const struct ikev2_chain *c);
void ike_auth_response(struct ike_sa *sa, const struct ikev2_chain *c);

/* ike_child.c */
void ike_child_rekey_send(struct ike_sa *sa, uint32_t child_id);
void ike_ike_rekey_send(struct ike_sa *sa);
void ike_child_new_send(struct ike_sa *sa, uint8_t policy);
void ike_child_request(struct ike_sa *sa, uint32_t mid, const struct ikev2_chain *c);
void ike_child_response(struct ike_sa *sa, const struct ikev2_chain *c);
void ike_pending_clear(struct ike_pending *p);
/* Child-SA payloads shared with IKE_AUTH: negotiation of the ESP SA
 * payload and of the selectors. */
int ike_child_pick(struct ike_sa *sa, const struct ikev2_chain *c, struct ike_child *out,
		   bool need_dh, uint16_t *notify);
size_t ike_child_add_payloads(struct ike_sa *sa, struct ikev2_builder *b,
			      const struct ike_child *c, bool request);
int ike_child_check_answer(struct ike_sa *sa, const struct ikev2_chain *c,
			   struct ike_child *ch, uint16_t *notify);

/* ike_info.c */
void ike_info_send_delete_child(struct ike_sa *sa, uint32_t child_id);
void ike_info_send_delete_ike(struct ike_sa *sa);
void ike_info_send_dpd(struct ike_sa *sa);
void ike_info_request(struct ike_sa *sa, uint32_t mid, const struct ikev2_chain *c);
void ike_info_response(struct ike_sa *sa, const struct ikev2_chain *c);
void ike_dpd_arm(struct ike_sa *sa);

/* ike_frag.c */
/* Splits inner chain `plain` into SKF fragments of at most fragment_mtu. */
int ike_frag_protect(struct ike_sa *sa, uint8_t exchange, bool response, uint32_t mid,
		     uint8_t first, const uint8_t *plain, size_t plen, struct ike_out *o);
/* One SKF message received and authenticated (plain = its inner bytes).
 * Returns 1 with *out and *outlen (owned by sa->frx until the next call to
 * ike_frag_reset) when complete, 0 when more are needed, -1 on error. */
int ike_frag_input(struct ike_sa *sa, uint32_t mid, bool response, const struct ikev2_sk *skf,
		   const uint8_t *plain, size_t plen, uint8_t **out, size_t *outlen,
		   uint8_t *first);
void ike_frag_reset(struct ike_frag_rx *f);

/* ike_proposal.c */
/* Builds an SA payload view from configured proposals (spi: our SPI or
 * NULL for the IKE SA_INIT). dh_first: group to list first (0 = keep). */
void ike_props_to_sa(const struct ike_props *ps, uint8_t protocol, const uint8_t *spi,
		     uint8_t spi_size, uint16_t dh_first, bool no_dh, struct ikev2_sa *out);
/* Chooses from the peer's SA payload. 0 with *sel, the index of the
 * chosen proposal in *prop_idx; -1 when nothing matches. */
int ike_props_select(const struct ike_props *ours, const struct ikev2_sa *theirs,
		     uint8_t protocol, bool need_dh, struct ike_suite *sel, size_t *prop_idx);
/* Whether the peer's answer (one proposal) is acceptable for what we sent. */
int ike_props_check_answer(const struct ike_props *ours, const struct ikev2_sa *answer,
			   uint8_t protocol, bool need_dh, struct ike_suite *sel);
/* The single proposal of an answer. */
void ike_suite_to_sa(const struct ike_suite *s, uint8_t num, uint8_t protocol,
		     const uint8_t *spi, uint8_t spi_size, struct ikev2_sa *out);
uint16_t ike_props_first_dh(const struct ike_props *ps);
bool ike_props_has_dh(const struct ike_props *ps, uint16_t group);
const char *ike_suite_fmt(const struct ike_suite *s, bool ike, char *buf, size_t size);

/* Traffic selectors (ike_child.c). */
void ike_ts_from_wire(const struct ikev2_ts_list *l, struct ike_ts_set *out);
void ike_ts_to_wire(const struct ike_ts_set *s, struct ikev2_ts *out);
/* Intersection of every pair (narrowing, §2.9). */
void ike_ts_narrow(const struct ike_ts_set *req, const struct ike_ts_set *allowed,
		   struct ike_ts_set *out);
bool ike_ts_subset(const struct ike_ts_set *inner, const struct ike_ts_set *outer);

/* ike_keyexport.c */
int ike_keyexport_ike(const struct ike_sa *sa, char *buf, size_t size);
void ike_keyexport_auto(struct ike_engine *e);

#endif
