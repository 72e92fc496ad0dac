/* Binding Update List of a mobile node (RFC 6275 §11.1): one entry per
 * (peer, home address) -- the home agent (home registration) or a
 * correspondent node (route optimisation, which first needs the return
 * routability tokens of §5.2.5).
 *
 * The state machine is a pure function, bul_fsm_step(): (state, event) ->
 * (new state, action, timer). No sockets, no clock: the MN role feeds it
 * events and performs the action (send a BU, a deregistration, HoTI/CoTI).
 * bul_handle() wraps it with the bookkeeping of an entry (sequence number,
 * times, lifetimes, tokens, timer deadline).
 *
 *   home entry:  IDLE -MOVED-> WAIT_BA -BA ok-> BOUND -refresh timer/BRR->
 *                REFRESHING -BA ok-> BOUND;  any -RETURN_HOME-> DEREGISTERING
 *                -BA-> IDLE;  retransmissions back off from 1.5 s (first
 *                registration) or 1 s, doubling to 32 s (§11.8), then GIVE_UP.
 *   CN entry:    IDLE -MOVED-> RR_WAIT (HoTI/CoTI out) -both tokens-> WAIT_BA
 *                -BA ok-> BOUND -refresh/BRR-> RR_WAIT (fresh tokens) ...
 *                BA status 136/137/138 (expired nonce) -> RR_WAIT again.
 *   Home entries never enter RR_WAIT (treated as IDLE if they do); CN entries
 *   refresh through RR_WAIT, so REFRESHING is treated as WAIT_BA for them.
 *   Every BU is sent with the A flag; a CN that does not acknowledge simply
 *   leads to GIVE_UP and the role falls back to reverse tunnelling. */
#ifndef MIPSEC_MIP6_BUL_H
#define MIPSEC_MIP6_BUL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"

enum bul_kind { BUL_HOME, BUL_CN };

enum bul_state {
	BUL_IDLE,		/* nothing sent / nothing bound */
	BUL_RR_WAIT,		/* CN: HoTI and/or CoTI sent, waiting for tokens */
	BUL_WAIT_BA,		/* BU sent, no binding yet at the peer for this CoA */
	BUL_BOUND,		/* BA accepted, refresh timer running */
	BUL_REFRESHING,		/* home: re-BU sent while the binding still holds */
	BUL_DEREGISTERING,	/* lifetime-0 BU sent */
	BUL_NSTATES
};

enum bul_event_type {
	BUL_EV_MOVED,		/* new care-of address (ev.coa) */
	BUL_EV_RETURN_HOME,
	BUL_EV_BA_ACCEPTED,	/* ev.lifetime_s granted, ev.seq echoed */
	BUL_EV_BA_REJECTED,	/* ev.status >= 128, ev.seq */
	BUL_EV_TIMEOUT,		/* the entry's timer fired */
	BUL_EV_BRR,		/* Binding Refresh Request */
	BUL_EV_HOT,		/* Home Test received (ev.token, ev.nonce_index) */
	BUL_EV_COT,		/* Care-of Test received */
	BUL_NEVENTS
};

enum bul_action {
	BUL_ACT_NONE,
	BUL_ACT_SEND_BU,	/* with a new sequence number (bul_handle did it) */
	BUL_ACT_SEND_DEREG,	/* BU with lifetime 0 (home: to the HA from home) */
	BUL_ACT_START_RR,	/* send the HoTI/CoTI named in step.rr_send */
	BUL_ACT_GIVE_UP,	/* retries exhausted or refused: entry is IDLE */
};

enum bul_timer_op { BUL_TIMER_KEEP, BUL_TIMER_STOP, BUL_TIMER_ARM };

/* Token bits (held tokens / init messages to send). */
#define BUL_TOK_HOME 0x1u
#define BUL_TOK_CAREOF 0x2u
#define BUL_TOK_BOTH 0x3u

/* BA status codes the machine distinguishes (RFC 6275 §6.1.8). */
#define BA_STATUS_REJECT_MIN 128
#define BA_STATUS_SEQ_OUT_OF_WINDOW 135
#define BA_STATUS_EXPIRED_HOME_NONCE 136
#define BA_STATUS_EXPIRED_COA_NONCE 137
#define BA_STATUS_EXPIRED_NONCES 138

struct bul_cfg {
	uint32_t initial_first_reg_ms;	/* InitialBindackTimeoutFirstReg, 1500 */
	uint32_t initial_ms;		/* INITIAL_BINDACK_TIMEOUT, 1000 */
	uint32_t max_backoff_ms;	/* MAX_BINDACK_TIMEOUT, 32000 */
	uint32_t max_retries;		/* retransmissions before GIVE_UP, 8 */
	uint32_t refresh_permille;	/* refresh at this fraction of the granted lifetime, 800 */
	uint32_t min_refresh_ms;	/* never refresh sooner than this, 1000 */
};
void bul_cfg_default(struct bul_cfg *cfg);

/* What the pure machine sees of an entry. */
struct bul_fsm {
	enum bul_state state;
	enum bul_kind kind;
	uint8_t tokens;		/* BUL_TOK_* held */
	uint8_t retries;	/* retransmissions of the current message */
	uint32_t backoff_ms;	/* current retransmission timeout */
};

struct bul_event {
	enum bul_event_type type;
	uint32_t lifetime_s;	/* BA_ACCEPTED */
	uint8_t status;		/* BA_REJECTED */
	uint16_t seq;		/* BA: the sequence number it carries */
	struct ip_addr coa;	/* MOVED */
	uint8_t token[8];	/* HOT / COT: keygen token */
	uint16_t nonce_index;	/* HOT / COT */
};

struct bul_step {
	struct bul_fsm next;
	enum bul_action action;
	uint8_t rr_send;	/* START_RR: BUL_TOK_HOME (HoTI) | BUL_TOK_CAREOF (CoTI) */
	enum bul_timer_op timer;
	uint32_t timer_ms;	/* with BUL_TIMER_ARM */
};

/* The transition function: pure, total over (kind, state, event). */
struct bul_step bul_fsm_step(const struct bul_cfg *cfg, const struct bul_fsm *cur,
			     const struct bul_event *ev);

const char *bul_state_name(enum bul_state s);
const char *bul_event_name(enum bul_event_type e);
const char *bul_action_name(enum bul_action a);

/* ---- the list ---- */

struct bul_token {
	bool valid;
	uint8_t token[8];	/* keygen token */
	uint16_t nonce_index;
	uint64_t rx_ms;		/* monotonic receive time (tokens age out, §5.2.7) */
};

struct bul_entry {
	struct in6_addr peer;		/* HA or CN address */
	struct in6_addr hoa;
	struct ip_addr coa;		/* CoA sent in the last BU */
	enum bul_kind kind;
	uint8_t flags;			/* BCE_F_* bits as sent */
	uint16_t seq;			/* last sequence number sent */
	uint32_t lifetime_req_s;	/* lifetime to ask for in BUs (set by the role) */
	uint32_t lifetime_sent_s;	/* lifetime in the last BU sent */
	uint32_t lifetime_granted_s;	/* from the last accepted BA */
	uint64_t sent_ms;		/* when the last BU went out */
	uint64_t expiry_ms;		/* binding lapses (sent_ms + granted), 0 if none */
	uint64_t deadline_ms;		/* entry timer, 0 = not armed */
	uint8_t last_status;		/* last BA status */
	struct bul_fsm fsm;
	struct bul_token home, careof;
	uint8_t home_cookie[8], careof_cookie[8];	/* in the HoTI / CoTI sent */
	/* The cookies of the init each retransmission replaced: a HoT/CoT
	 * answering it may cross the retransmission and is still ours. */
	uint8_t home_cookie_prev[8], careof_cookie_prev[8];
	bool home_prev_valid, careof_prev_valid;
};

struct bul;

struct bul *bul_create(const struct bul_cfg *cfg);	/* cfg NULL = defaults */
void bul_destroy(struct bul *b);

/* Entry pointers stay valid until bul_remove(). */
struct bul_entry *bul_find(const struct bul *b, const struct in6_addr *peer,
			   const struct in6_addr *hoa);
/* Finds or creates; NULL only on allocation failure. The initial sequence
 * number is random (§11.7.1 leaves it open; randomness avoids reusing the
 * window of a previous run). */
struct bul_entry *bul_add(struct bul *b, const struct in6_addr *peer,
			  const struct in6_addr *hoa, enum bul_kind kind);
void bul_remove(struct bul *b, struct bul_entry *e);
size_t bul_count(const struct bul *b);
struct bul_entry *bul_at(const struct bul *b, size_t i);

/* Runs one event through the machine and updates the entry. BAs whose
 * sequence number is not the last one sent are ignored (§11.7.3), except
 * status 135 which carries the peer's last accepted number: the next BU
 * continues from it. Returns the step (action to perform). */
struct bul_step bul_handle(struct bul *b, struct bul_entry *e, const struct bul_event *ev,
			   uint64_t now_ms);

/* Earliest armed deadline, UINT64_MAX if none. */
uint64_t bul_next_deadline(const struct bul *b);
/* Feeds TIMEOUT to every entry due at now_ms; cb gets each resulting step. */
typedef void (*bul_step_cb)(struct bul_entry *e, const struct bul_step *st, void *arg);
size_t bul_run_timers(struct bul *b, uint64_t now_ms, bul_step_cb cb, void *arg);

/* Dump (table "bul"): JSON array of entries. */
void bul_table_register(struct bul *b, const char *name);
struct json_t;
struct json_t *bul_dump(const struct bul *b, uint64_t now_ms);

#endif
