#include "mip6/bul.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/stats.h"
#include "core/table.h"
#include "mip6/bcache.h"
#include "mip6/seq.h"
#include "net/loop.h"

static COUNTER_DEFINE(c_bu_sent, "mipsec_bul_bu_sent_total",
		      "Binding Updates (including deregistrations) the BUL asked to send");
static COUNTER_DEFINE(c_rr_start, "mipsec_bul_rr_started_total",
		      "Return routability procedures (HoTI/CoTI) started");
static COUNTER_DEFINE(c_give_up, "mipsec_bul_give_up_total",
		      "Registrations abandoned (retries exhausted or refused)");
static COUNTER_DEFINE(c_ba_stale, "mipsec_bul_ba_ignored_total",
		      "Binding Acknowledgements ignored: sequence number not the last sent");

void bul_cfg_default(struct bul_cfg *cfg)
{
	cfg->initial_first_reg_ms = 1500;
	cfg->initial_ms = 1000;
	cfg->max_backoff_ms = 32000;
	cfg->max_retries = 8;
	cfg->refresh_permille = 800;
	cfg->min_refresh_ms = 1000;
}

/* ---- pure state machine ---- */

static struct bul_step stay(const struct bul_fsm *cur)
{
	return (struct bul_step){ .next = *cur, .action = BUL_ACT_NONE, .timer = BUL_TIMER_KEEP };
}

/* A new message: retransmission state starts over. */
static struct bul_step send_fresh(const struct bul_cfg *cfg, const struct bul_fsm *cur,
				  enum bul_state to, enum bul_action act, bool first_reg)
{
	struct bul_step st = { .next = *cur, .action = act, .timer = BUL_TIMER_ARM };

	st.next.state = to;
	st.next.retries = 0;
	st.next.backoff_ms = first_reg ? cfg->initial_first_reg_ms : cfg->initial_ms;
	if (act == BUL_ACT_START_RR)
		st.rr_send = (uint8_t)(BUL_TOK_BOTH & ~cur->tokens);
	st.timer_ms = st.next.backoff_ms;
	return st;
}

static struct bul_step give_up(const struct bul_fsm *cur)
{
	struct bul_step st = { .next = *cur, .action = BUL_ACT_GIVE_UP, .timer = BUL_TIMER_STOP };

	st.next.state = BUL_IDLE;
	st.next.tokens = 0;
	st.next.retries = 0;
	st.next.backoff_ms = 0;
	return st;
}

/* The same message again, with exponential back-off (§11.8). */
static struct bul_step retransmit(const struct bul_cfg *cfg, const struct bul_fsm *cur,
				  enum bul_action act)
{
	struct bul_step st = { .next = *cur, .action = act, .timer = BUL_TIMER_ARM };
	uint64_t b = (uint64_t)cur->backoff_ms * 2u;

	if (cur->retries >= cfg->max_retries)
		return give_up(cur);
	st.next.retries = (uint8_t)(cur->retries + 1u);
	if (b == 0)
		b = cfg->initial_ms;
	st.next.backoff_ms = (uint32_t)(b > cfg->max_backoff_ms ? cfg->max_backoff_ms : b);
	if (act == BUL_ACT_START_RR)
		st.rr_send = (uint8_t)(BUL_TOK_BOTH & ~cur->tokens);
	st.timer_ms = st.next.backoff_ms;
	return st;
}

static struct bul_step bound(const struct bul_cfg *cfg, const struct bul_fsm *cur,
			     uint32_t lifetime_s)
{
	struct bul_step st = { .next = *cur, .action = BUL_ACT_NONE, .timer = BUL_TIMER_ARM };
	uint64_t r = (uint64_t)lifetime_s * cfg->refresh_permille;	/* ms */

	if (lifetime_s == 0) {	/* nothing was bound */
		st.next.state = BUL_IDLE;
		st.next.retries = 0;
		st.next.backoff_ms = 0;
		st.timer = BUL_TIMER_STOP;
		return st;
	}
	st.next.state = BUL_BOUND;
	st.next.retries = 0;
	st.next.backoff_ms = 0;
	if (r < cfg->min_refresh_ms)
		r = cfg->min_refresh_ms;
	st.timer_ms = (uint32_t)(r > UINT32_MAX ? UINT32_MAX : r);
	return st;
}

static struct bul_step idle_done(const struct bul_fsm *cur)
{
	struct bul_step st = { .next = *cur, .action = BUL_ACT_NONE, .timer = BUL_TIMER_STOP };

	st.next.state = BUL_IDLE;
	st.next.retries = 0;
	st.next.backoff_ms = 0;
	return st;
}

/* Rejections: 135 resends from the peer's number; anything else ends it. */
static struct bul_step rejected(const struct bul_cfg *cfg, const struct bul_fsm *cur,
				uint8_t status, enum bul_action resend)
{
	if (status == BA_STATUS_SEQ_OUT_OF_WINDOW)
		return retransmit(cfg, cur, resend);
	return give_up(cur);
}

static struct bul_step step_home(const struct bul_cfg *cfg, const struct bul_fsm *cur,
				 const struct bul_event *ev)
{
	enum bul_state s = cur->state == BUL_RR_WAIT ? BUL_IDLE : cur->state;

	switch (ev->type) {
	case BUL_EV_MOVED:
		return send_fresh(cfg, cur, BUL_WAIT_BA, BUL_ACT_SEND_BU, s == BUL_IDLE);
	case BUL_EV_RETURN_HOME:
		if (s == BUL_IDLE || s == BUL_DEREGISTERING)
			return stay(cur);
		return send_fresh(cfg, cur, BUL_DEREGISTERING, BUL_ACT_SEND_DEREG, false);
	case BUL_EV_BA_ACCEPTED:
		if (s == BUL_WAIT_BA || s == BUL_REFRESHING)
			return bound(cfg, cur, ev->lifetime_s);
		if (s == BUL_DEREGISTERING)
			return idle_done(cur);
		return stay(cur);
	case BUL_EV_BA_REJECTED:
		if (s == BUL_WAIT_BA || s == BUL_REFRESHING)
			return rejected(cfg, cur, ev->status, BUL_ACT_SEND_BU);
		if (s == BUL_DEREGISTERING)
			return rejected(cfg, cur, ev->status, BUL_ACT_SEND_DEREG);
		return stay(cur);
	case BUL_EV_TIMEOUT:
		if (s == BUL_WAIT_BA || s == BUL_REFRESHING)
			return retransmit(cfg, cur, BUL_ACT_SEND_BU);
		if (s == BUL_DEREGISTERING)
			return retransmit(cfg, cur, BUL_ACT_SEND_DEREG);
		if (s == BUL_BOUND)
			return send_fresh(cfg, cur, BUL_REFRESHING, BUL_ACT_SEND_BU, false);
		return stay(cur);
	case BUL_EV_BRR:
		if (s == BUL_BOUND)
			return send_fresh(cfg, cur, BUL_REFRESHING, BUL_ACT_SEND_BU, false);
		return stay(cur);
	case BUL_EV_HOT:
	case BUL_EV_COT:
	case BUL_NEVENTS:
		break;
	}
	return stay(cur);
}

static struct bul_fsm with_tokens(const struct bul_fsm *cur, uint8_t tokens)
{
	struct bul_fsm f = *cur;

	f.tokens = tokens;
	return f;
}

/* Leaving for home at a CN: the deregistration needs the home keygen token
 * only (§5.2.5); without one the CN binding is left to expire. */
static struct bul_step cn_return_home(const struct bul_cfg *cfg, const struct bul_fsm *cur)
{
	struct bul_fsm f = with_tokens(cur, cur->tokens & BUL_TOK_HOME);

	if (cur->tokens & BUL_TOK_HOME)
		return send_fresh(cfg, &f, BUL_DEREGISTERING, BUL_ACT_SEND_DEREG, false);
	return idle_done(&f);
}

static uint8_t expired_tokens(uint8_t status)
{
	switch (status) {
	case BA_STATUS_EXPIRED_HOME_NONCE: return BUL_TOK_HOME;
	case BA_STATUS_EXPIRED_COA_NONCE: return BUL_TOK_CAREOF;
	case BA_STATUS_EXPIRED_NONCES: return BUL_TOK_BOTH;
	}
	return 0;
}

static struct bul_step step_cn(const struct bul_cfg *cfg, const struct bul_fsm *cur,
			       const struct bul_event *ev)
{
	enum bul_state s = cur->state == BUL_REFRESHING ? BUL_WAIT_BA : cur->state;
	struct bul_fsm f;

	switch (ev->type) {
	case BUL_EV_MOVED:
		/* A new CoA voids the care-of token; the home token still holds. */
		f = with_tokens(cur, cur->tokens & BUL_TOK_HOME);
		return send_fresh(cfg, &f, BUL_RR_WAIT, BUL_ACT_START_RR, false);
	case BUL_EV_RETURN_HOME:
		if (s == BUL_IDLE || s == BUL_DEREGISTERING)
			return stay(cur);
		return cn_return_home(cfg, cur);
	case BUL_EV_HOT:
	case BUL_EV_COT:
		if (s != BUL_RR_WAIT)
			return stay(cur);
		f = with_tokens(cur, (uint8_t)(cur->tokens |
			(ev->type == BUL_EV_HOT ? BUL_TOK_HOME : BUL_TOK_CAREOF)));
		if (f.tokens == BUL_TOK_BOTH)
			return send_fresh(cfg, &f, BUL_WAIT_BA, BUL_ACT_SEND_BU, false);
		return stay(&f);
	case BUL_EV_BA_ACCEPTED:
		if (s == BUL_WAIT_BA)
			return bound(cfg, cur, ev->lifetime_s);
		if (s == BUL_DEREGISTERING)
			return idle_done(cur);
		return stay(cur);
	case BUL_EV_BA_REJECTED:
		if (s == BUL_WAIT_BA && expired_tokens(ev->status)) {
			f = with_tokens(cur, cur->tokens & ~expired_tokens(ev->status));
			return send_fresh(cfg, &f, BUL_RR_WAIT, BUL_ACT_START_RR, false);
		}
		if (s == BUL_WAIT_BA)
			return rejected(cfg, cur, ev->status, BUL_ACT_SEND_BU);
		if (s == BUL_DEREGISTERING)
			return rejected(cfg, cur, ev->status, BUL_ACT_SEND_DEREG);
		return stay(cur);
	case BUL_EV_TIMEOUT:
		if (s == BUL_RR_WAIT)
			return retransmit(cfg, cur, BUL_ACT_START_RR);
		if (s == BUL_WAIT_BA)
			return retransmit(cfg, cur, BUL_ACT_SEND_BU);
		if (s == BUL_DEREGISTERING)
			return retransmit(cfg, cur, BUL_ACT_SEND_DEREG);
		if (s == BUL_BOUND) {	/* refresh: tokens are too old by now */
			f = with_tokens(cur, 0);
			return send_fresh(cfg, &f, BUL_RR_WAIT, BUL_ACT_START_RR, false);
		}
		return stay(cur);
	case BUL_EV_BRR:
		if (s == BUL_BOUND) {
			f = with_tokens(cur, 0);
			return send_fresh(cfg, &f, BUL_RR_WAIT, BUL_ACT_START_RR, false);
		}
		return stay(cur);
	case BUL_NEVENTS:
		break;
	}
	return stay(cur);
}

struct bul_step bul_fsm_step(const struct bul_cfg *cfg, const struct bul_fsm *cur,
			     const struct bul_event *ev)
{
	if ((unsigned)cur->state >= BUL_NSTATES || (unsigned)ev->type >= BUL_NEVENTS)
		return stay(cur);
	return cur->kind == BUL_CN ? step_cn(cfg, cur, ev) : step_home(cfg, cur, ev);
}

const char *bul_state_name(enum bul_state s)
{
	static const char *const n[] = { "idle", "rr_wait", "wait_ba", "bound", "refreshing",
					 "deregistering" };

	return (unsigned)s < BUL_NSTATES ? n[s] : "?";
}

const char *bul_event_name(enum bul_event_type e)
{
	static const char *const n[] = { "moved", "return_home", "ba_accepted", "ba_rejected",
					 "timeout", "brr", "hot", "cot" };

	return (unsigned)e < BUL_NEVENTS ? n[e] : "?";
}

const char *bul_action_name(enum bul_action a)
{
	static const char *const n[] = { "none", "send_bu", "send_dereg", "start_rr", "give_up" };

	return (unsigned)a <= BUL_ACT_GIVE_UP ? n[a] : "?";
}

/* ---- the list ---- */

struct bul {
	struct bul_cfg cfg;
	struct bul_entry **v;
	size_t n, cap;
	struct table tbl;
	char tbl_name[32];
};

struct bul *bul_create(const struct bul_cfg *cfg)
{
	struct bul *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	if (cfg)
		b->cfg = *cfg;
	else
		bul_cfg_default(&b->cfg);
	counter_register(&c_bu_sent);
	counter_register(&c_rr_start);
	counter_register(&c_give_up);
	counter_register(&c_ba_stale);
	return b;
}

void bul_destroy(struct bul *b)
{
	if (!b)
		return;
	if (b->tbl.name)
		table_unregister(&b->tbl);
	for (size_t i = 0; i < b->n; i++)
		free(b->v[i]);
	free(b->v);
	free(b);
}

struct bul_entry *bul_find(const struct bul *b, const struct in6_addr *peer,
			   const struct in6_addr *hoa)
{
	for (size_t i = 0; i < b->n; i++)
		if (memcmp(&b->v[i]->peer, peer, sizeof(*peer)) == 0 &&
		    memcmp(&b->v[i]->hoa, hoa, sizeof(*hoa)) == 0)
			return b->v[i];
	return NULL;
}

struct bul_entry *bul_add(struct bul *b, const struct in6_addr *peer,
			  const struct in6_addr *hoa, enum bul_kind kind)
{
	struct bul_entry *e = bul_find(b, peer, hoa);

	if (e)
		return e;
	if (b->n == b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 8;
		struct bul_entry **nv = realloc(b->v, ncap * sizeof(*nv));

		if (!nv)
			return NULL;
		b->v = nv;
		b->cap = ncap;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->peer = *peer;
	e->hoa = *hoa;
	e->kind = kind;
	e->fsm.kind = kind;
	e->fsm.state = BUL_IDLE;
	e->flags = kind == BUL_HOME ? (BCE_F_A | BCE_F_H) : BCE_F_A;
	if (getrandom(&e->seq, sizeof(e->seq), 0) != (ssize_t)sizeof(e->seq))
		e->seq = 0;
	b->v[b->n++] = e;
	return e;
}

void bul_remove(struct bul *b, struct bul_entry *e)
{
	for (size_t i = 0; i < b->n; i++) {
		if (b->v[i] != e)
			continue;
		b->v[i] = b->v[--b->n];
		free(e);
		return;
	}
}

size_t bul_count(const struct bul *b) { return b->n; }
struct bul_entry *bul_at(const struct bul *b, size_t i) { return i < b->n ? b->v[i] : NULL; }

static void store_token(struct bul_token *t, const struct bul_event *ev, uint64_t now_ms)
{
	t->valid = true;
	memcpy(t->token, ev->token, sizeof(t->token));
	t->nonce_index = ev->nonce_index;
	t->rx_ms = now_ms;
}

/* Keeps the token records in line with the machine's token bits. */
static void sync_tokens(struct bul_entry *e)
{
	if (!(e->fsm.tokens & BUL_TOK_HOME))
		e->home.valid = false;
	if (!(e->fsm.tokens & BUL_TOK_CAREOF))
		e->careof.valid = false;
}

struct bul_step bul_handle(struct bul *b, struct bul_entry *e, const struct bul_event *ev,
			   uint64_t now_ms)
{
	bool is_ba = ev->type == BUL_EV_BA_ACCEPTED || ev->type == BUL_EV_BA_REJECTED;
	struct bul_step st;

	if (is_ba && ev->seq != e->seq &&
	    !(ev->type == BUL_EV_BA_REJECTED && ev->status == BA_STATUS_SEQ_OUT_OF_WINDOW)) {
		counter_inc(&c_ba_stale);
		return stay(&e->fsm);
	}
	st = bul_fsm_step(&b->cfg, &e->fsm, ev);
	if (is_ba)
		e->last_status = ev->type == BUL_EV_BA_ACCEPTED ? 0 : ev->status;
	if (ev->type == BUL_EV_MOVED)
		e->coa = ev->coa;
	if (ev->type == BUL_EV_HOT && (st.next.tokens & ~e->fsm.tokens & BUL_TOK_HOME))
		store_token(&e->home, ev, now_ms);
	if (ev->type == BUL_EV_COT && (st.next.tokens & ~e->fsm.tokens & BUL_TOK_CAREOF))
		store_token(&e->careof, ev, now_ms);
	if (ev->type == BUL_EV_BA_REJECTED && ev->status == BA_STATUS_SEQ_OUT_OF_WINDOW)
		e->seq = ev->seq;	/* continue after the peer's last accepted number */
	if (ev->type == BUL_EV_BA_ACCEPTED && st.next.state == BUL_BOUND) {
		e->lifetime_granted_s = ev->lifetime_s;
		e->expiry_ms = e->sent_ms + (uint64_t)ev->lifetime_s * 1000u;
	} else if (st.next.state == BUL_IDLE) {
		e->lifetime_granted_s = 0;
		e->expiry_ms = 0;
	}
	e->fsm = st.next;
	sync_tokens(e);
	switch (st.action) {
	case BUL_ACT_SEND_BU:
	case BUL_ACT_SEND_DEREG:
		e->seq = seq_next(e->seq);
		e->sent_ms = now_ms;
		e->lifetime_sent_s = st.action == BUL_ACT_SEND_BU ? e->lifetime_req_s : 0;
		counter_inc(&c_bu_sent);
		break;
	case BUL_ACT_START_RR:
		counter_inc(&c_rr_start);
		break;
	case BUL_ACT_GIVE_UP:
		counter_inc(&c_give_up);
		break;
	case BUL_ACT_NONE:
		break;
	}
	if (st.timer == BUL_TIMER_ARM)
		e->deadline_ms = now_ms + st.timer_ms;
	else if (st.timer == BUL_TIMER_STOP)
		e->deadline_ms = 0;
	return st;
}

uint64_t bul_next_deadline(const struct bul *b)
{
	uint64_t t = UINT64_MAX;

	for (size_t i = 0; i < b->n; i++)
		if (b->v[i]->deadline_ms && b->v[i]->deadline_ms < t)
			t = b->v[i]->deadline_ms;
	return t;
}

size_t bul_run_timers(struct bul *b, uint64_t now_ms, bul_step_cb cb, void *arg)
{
	const struct bul_event ev = { .type = BUL_EV_TIMEOUT };
	size_t fired = 0;

	/* Index walk: a callback may remove the current entry (swap-remove
	 * moves the last one here, which is then checked in turn). */
	for (size_t i = 0; i < b->n;) {
		struct bul_entry *e = b->v[i];

		if (!e->deadline_ms || e->deadline_ms > now_ms) {
			i++;
			continue;
		}
		e->deadline_ms = 0;
		struct bul_step st = bul_handle(b, e, &ev, now_ms);

		fired++;
		if (cb)
			cb(e, &st, arg);
		if (i < b->n && b->v[i] == e)
			i++;
	}
	return fired;
}

/* ---- dump ---- */

static json_t *token_json(const struct bul_token *t, uint64_t now_ms)
{
	if (!t->valid)
		return json_null();
	return json_pack("{s:i, s:I}", "nonce_index", (int)t->nonce_index, "age_ms",
			 (json_int_t)(now_ms > t->rx_ms ? now_ms - t->rx_ms : 0));
}

static json_t *entry_json(const struct bul_entry *e, uint64_t now_ms)
{
	char peer[INET6_ADDRSTRLEN], hoa[INET6_ADDRSTRLEN], coa[INET6_ADDRSTRLEN + 4], fl[8];
	struct ip_addr p = { .family = AF_INET6, .v6 = e->peer };
	struct ip_addr h = { .family = AF_INET6, .v6 = e->hoa };
	uint64_t left = e->expiry_ms > now_ms ? (e->expiry_ms - now_ms) / 1000u : 0;

	ip_addr_fmt(&p, peer, sizeof(peer));
	ip_addr_fmt(&h, hoa, sizeof(hoa));
	if (e->coa.family)
		ip_addr_fmt(&e->coa, coa, sizeof(coa));
	else
		coa[0] = '\0';
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:I, s:I, s:I, s:i, s:I, s:i,"
			 " s:o, s:o}",
			 "peer", peer, "home_address", hoa, "care_of_address", coa,
			 "kind", e->kind == BUL_HOME ? "home" : "cn",
			 "state", bul_state_name(e->fsm.state), "flags", bce_flags_str(e->flags, fl),
			 "sequence", (int)e->seq,
			 "lifetime_requested_s", (json_int_t)e->lifetime_req_s,
			 "lifetime_granted_s", (json_int_t)e->lifetime_granted_s,
			 "lifetime_remaining_s", (json_int_t)left,
			 "retransmissions", (int)e->fsm.retries,
			 "backoff_ms", (json_int_t)e->fsm.backoff_ms,
			 "last_status", (int)e->last_status,
			 "home_token", token_json(&e->home, now_ms),
			 "careof_token", token_json(&e->careof, now_ms));
}

json_t *bul_dump(const struct bul *b, uint64_t now_ms)
{
	json_t *arr = json_array();

	if (!arr)
		return NULL;
	for (size_t i = 0; i < b->n; i++) {
		json_t *o = entry_json(b->v[i], now_ms);

		if (!o || json_array_append_new(arr, o) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static json_t *table_dump(void *arg)
{
	return bul_dump(arg, mono_ms());
}

void bul_table_register(struct bul *b, const char *name)
{
	if (b->tbl.name)
		table_unregister(&b->tbl);
	snprintf(b->tbl_name, sizeof(b->tbl_name), "%s", name ? name : "bul");
	b->tbl.name = b->tbl_name;
	b->tbl.description = "Mobile IPv6 binding update list (RFC 6275 11.1)";
	b->tbl.dump = table_dump;
	b->tbl.arg = b;
	table_register(&b->tbl);
}
