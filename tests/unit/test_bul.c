#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/table.h"
#include "mip6/bcache.h"
#include "mip6/bul.h"

#define I BUL_IDLE
#define R BUL_RR_WAIT
#define W BUL_WAIT_BA
#define B BUL_BOUND
#define F BUL_REFRESHING
#define D BUL_DEREGISTERING

#define NONE BUL_ACT_NONE
#define BU BUL_ACT_SEND_BU
#define DEREG BUL_ACT_SEND_DEREG
#define RR BUL_ACT_START_RR
#define GIVEUP BUL_ACT_GIVE_UP

#define KEEP BUL_TIMER_KEEP
#define STOP BUL_TIMER_STOP
#define ARM BUL_TIMER_ARM

struct row {
	enum bul_kind kind;
	enum bul_state from;
	enum bul_event_type ev;
	enum bul_state to;
	enum bul_action act;
	enum bul_timer_op timer;
};

/* Every (kind, state, event) with the base event arguments: BA accepted
 * with lifetime 600 s, BA rejected with status 129 (administratively
 * prohibited), no tokens held, no retransmissions yet. */
static const struct row table[] = {
	/* home registration */
	{ BUL_HOME, I, BUL_EV_MOVED, W, BU, ARM },
	{ BUL_HOME, I, BUL_EV_RETURN_HOME, I, NONE, KEEP },
	{ BUL_HOME, I, BUL_EV_BA_ACCEPTED, I, NONE, KEEP },
	{ BUL_HOME, I, BUL_EV_BA_REJECTED, I, NONE, KEEP },
	{ BUL_HOME, I, BUL_EV_TIMEOUT, I, NONE, KEEP },
	{ BUL_HOME, I, BUL_EV_BRR, I, NONE, KEEP },
	{ BUL_HOME, I, BUL_EV_HOT, I, NONE, KEEP },
	{ BUL_HOME, I, BUL_EV_COT, I, NONE, KEEP },
	/* RR_WAIT is not a home state: behaves as IDLE */
	{ BUL_HOME, R, BUL_EV_MOVED, W, BU, ARM },
	{ BUL_HOME, R, BUL_EV_RETURN_HOME, R, NONE, KEEP },
	{ BUL_HOME, R, BUL_EV_BA_ACCEPTED, R, NONE, KEEP },
	{ BUL_HOME, R, BUL_EV_BA_REJECTED, R, NONE, KEEP },
	{ BUL_HOME, R, BUL_EV_TIMEOUT, R, NONE, KEEP },
	{ BUL_HOME, R, BUL_EV_BRR, R, NONE, KEEP },
	{ BUL_HOME, R, BUL_EV_HOT, R, NONE, KEEP },
	{ BUL_HOME, R, BUL_EV_COT, R, NONE, KEEP },
	{ BUL_HOME, W, BUL_EV_MOVED, W, BU, ARM },
	{ BUL_HOME, W, BUL_EV_RETURN_HOME, D, DEREG, ARM },
	{ BUL_HOME, W, BUL_EV_BA_ACCEPTED, B, NONE, ARM },
	{ BUL_HOME, W, BUL_EV_BA_REJECTED, I, GIVEUP, STOP },
	{ BUL_HOME, W, BUL_EV_TIMEOUT, W, BU, ARM },
	{ BUL_HOME, W, BUL_EV_BRR, W, NONE, KEEP },
	{ BUL_HOME, W, BUL_EV_HOT, W, NONE, KEEP },
	{ BUL_HOME, W, BUL_EV_COT, W, NONE, KEEP },
	{ BUL_HOME, B, BUL_EV_MOVED, W, BU, ARM },
	{ BUL_HOME, B, BUL_EV_RETURN_HOME, D, DEREG, ARM },
	{ BUL_HOME, B, BUL_EV_BA_ACCEPTED, B, NONE, KEEP },
	{ BUL_HOME, B, BUL_EV_BA_REJECTED, B, NONE, KEEP },
	{ BUL_HOME, B, BUL_EV_TIMEOUT, F, BU, ARM },
	{ BUL_HOME, B, BUL_EV_BRR, F, BU, ARM },
	{ BUL_HOME, B, BUL_EV_HOT, B, NONE, KEEP },
	{ BUL_HOME, B, BUL_EV_COT, B, NONE, KEEP },
	{ BUL_HOME, F, BUL_EV_MOVED, W, BU, ARM },
	{ BUL_HOME, F, BUL_EV_RETURN_HOME, D, DEREG, ARM },
	{ BUL_HOME, F, BUL_EV_BA_ACCEPTED, B, NONE, ARM },
	{ BUL_HOME, F, BUL_EV_BA_REJECTED, I, GIVEUP, STOP },
	{ BUL_HOME, F, BUL_EV_TIMEOUT, F, BU, ARM },
	{ BUL_HOME, F, BUL_EV_BRR, F, NONE, KEEP },
	{ BUL_HOME, F, BUL_EV_HOT, F, NONE, KEEP },
	{ BUL_HOME, F, BUL_EV_COT, F, NONE, KEEP },
	{ BUL_HOME, D, BUL_EV_MOVED, W, BU, ARM },
	{ BUL_HOME, D, BUL_EV_RETURN_HOME, D, NONE, KEEP },
	{ BUL_HOME, D, BUL_EV_BA_ACCEPTED, I, NONE, STOP },
	{ BUL_HOME, D, BUL_EV_BA_REJECTED, I, GIVEUP, STOP },
	{ BUL_HOME, D, BUL_EV_TIMEOUT, D, DEREG, ARM },
	{ BUL_HOME, D, BUL_EV_BRR, D, NONE, KEEP },
	{ BUL_HOME, D, BUL_EV_HOT, D, NONE, KEEP },
	{ BUL_HOME, D, BUL_EV_COT, D, NONE, KEEP },
	/* correspondent node (route optimisation) */
	{ BUL_CN, I, BUL_EV_MOVED, R, RR, ARM },
	{ BUL_CN, I, BUL_EV_RETURN_HOME, I, NONE, KEEP },
	{ BUL_CN, I, BUL_EV_BA_ACCEPTED, I, NONE, KEEP },
	{ BUL_CN, I, BUL_EV_BA_REJECTED, I, NONE, KEEP },
	{ BUL_CN, I, BUL_EV_TIMEOUT, I, NONE, KEEP },
	{ BUL_CN, I, BUL_EV_BRR, I, NONE, KEEP },
	{ BUL_CN, I, BUL_EV_HOT, I, NONE, KEEP },
	{ BUL_CN, I, BUL_EV_COT, I, NONE, KEEP },
	{ BUL_CN, R, BUL_EV_MOVED, R, RR, ARM },
	{ BUL_CN, R, BUL_EV_RETURN_HOME, I, NONE, STOP },
	{ BUL_CN, R, BUL_EV_BA_ACCEPTED, R, NONE, KEEP },
	{ BUL_CN, R, BUL_EV_BA_REJECTED, R, NONE, KEEP },
	{ BUL_CN, R, BUL_EV_TIMEOUT, R, RR, ARM },
	{ BUL_CN, R, BUL_EV_BRR, R, NONE, KEEP },
	{ BUL_CN, R, BUL_EV_HOT, R, NONE, KEEP },
	{ BUL_CN, R, BUL_EV_COT, R, NONE, KEEP },
	{ BUL_CN, W, BUL_EV_MOVED, R, RR, ARM },
	{ BUL_CN, W, BUL_EV_RETURN_HOME, I, NONE, STOP },
	{ BUL_CN, W, BUL_EV_BA_ACCEPTED, B, NONE, ARM },
	{ BUL_CN, W, BUL_EV_BA_REJECTED, I, GIVEUP, STOP },
	{ BUL_CN, W, BUL_EV_TIMEOUT, W, BU, ARM },
	{ BUL_CN, W, BUL_EV_BRR, W, NONE, KEEP },
	{ BUL_CN, W, BUL_EV_HOT, W, NONE, KEEP },
	{ BUL_CN, W, BUL_EV_COT, W, NONE, KEEP },
	{ BUL_CN, B, BUL_EV_MOVED, R, RR, ARM },
	{ BUL_CN, B, BUL_EV_RETURN_HOME, I, NONE, STOP },
	{ BUL_CN, B, BUL_EV_BA_ACCEPTED, B, NONE, KEEP },
	{ BUL_CN, B, BUL_EV_BA_REJECTED, B, NONE, KEEP },
	{ BUL_CN, B, BUL_EV_TIMEOUT, R, RR, ARM },
	{ BUL_CN, B, BUL_EV_BRR, R, RR, ARM },
	{ BUL_CN, B, BUL_EV_HOT, B, NONE, KEEP },
	{ BUL_CN, B, BUL_EV_COT, B, NONE, KEEP },
	/* REFRESHING is not a CN state: behaves as WAIT_BA */
	{ BUL_CN, F, BUL_EV_MOVED, R, RR, ARM },
	{ BUL_CN, F, BUL_EV_RETURN_HOME, I, NONE, STOP },
	{ BUL_CN, F, BUL_EV_BA_ACCEPTED, B, NONE, ARM },
	{ BUL_CN, F, BUL_EV_BA_REJECTED, I, GIVEUP, STOP },
	{ BUL_CN, F, BUL_EV_TIMEOUT, F, BU, ARM },
	{ BUL_CN, F, BUL_EV_BRR, F, NONE, KEEP },
	{ BUL_CN, F, BUL_EV_HOT, F, NONE, KEEP },
	{ BUL_CN, F, BUL_EV_COT, F, NONE, KEEP },
	{ BUL_CN, D, BUL_EV_MOVED, R, RR, ARM },
	{ BUL_CN, D, BUL_EV_RETURN_HOME, D, NONE, KEEP },
	{ BUL_CN, D, BUL_EV_BA_ACCEPTED, I, NONE, STOP },
	{ BUL_CN, D, BUL_EV_BA_REJECTED, I, GIVEUP, STOP },
	{ BUL_CN, D, BUL_EV_TIMEOUT, D, DEREG, ARM },
	{ BUL_CN, D, BUL_EV_BRR, D, NONE, KEEP },
	{ BUL_CN, D, BUL_EV_HOT, D, NONE, KEEP },
	{ BUL_CN, D, BUL_EV_COT, D, NONE, KEEP },
};

static struct bul_event base_event(enum bul_event_type t)
{
	struct bul_event ev = { .type = t };

	if (t == BUL_EV_BA_ACCEPTED)
		ev.lifetime_s = 600;
	if (t == BUL_EV_BA_REJECTED)
		ev.status = 129;
	if (t == BUL_EV_MOVED) {
		ev.coa.family = AF_INET6;
		inet_pton(AF_INET6, "2001:db8:77::5", &ev.coa.v6);
	}
	return ev;
}

static void test_table_complete(void **state)
{
	static bool seen[2][BUL_NSTATES][BUL_NEVENTS];
	size_t n = sizeof(table) / sizeof(table[0]);

	(void)state;
	assert_int_equal(n, 2 * BUL_NSTATES * BUL_NEVENTS);
	for (size_t i = 0; i < n; i++) {
		const struct row *r = &table[i];

		if (seen[r->kind][r->from][r->ev])
			fail_msg("row %zu duplicates a pair", i);
		seen[r->kind][r->from][r->ev] = true;
	}
}

static void test_table(void **state)
{
	struct bul_cfg cfg;

	(void)state;
	bul_cfg_default(&cfg);
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const struct row *r = &table[i];
		struct bul_fsm cur = { .state = r->from, .kind = r->kind, .backoff_ms = 1000 };
		struct bul_event ev = base_event(r->ev);
		struct bul_step st = bul_fsm_step(&cfg, &cur, &ev);

		if (st.next.state != r->to || st.action != r->act || st.timer != r->timer)
			fail_msg("%s %s + %s: got %s/%s/timer %d, want %s/%s/timer %d",
				 r->kind == BUL_HOME ? "home" : "cn", bul_state_name(r->from),
				 bul_event_name(r->ev), bul_state_name(st.next.state),
				 bul_action_name(st.action), st.timer, bul_state_name(r->to),
				 bul_action_name(r->act), r->timer);
		assert_int_equal(st.next.kind, r->kind);
		if (st.timer == BUL_TIMER_ARM)
			assert_true(st.timer_ms > 0);
		if (st.action == BUL_ACT_START_RR)
			assert_int_equal(st.rr_send, BUL_TOK_BOTH);
		if (st.action == BUL_ACT_GIVE_UP)
			assert_int_equal(st.next.tokens, 0);
	}
}

/* §11.8: 1.5 s for a first home registration, doubling to the maximum,
 * then giving up after max_retries retransmissions. */
static void test_backoff(void **state)
{
	static const uint32_t want[] = { 1500, 3000, 6000, 12000, 24000, 32000, 32000, 32000, 32000 };
	struct bul_cfg cfg;
	struct bul_fsm f = { .state = BUL_IDLE, .kind = BUL_HOME };
	struct bul_event mv = base_event(BUL_EV_MOVED), to = base_event(BUL_EV_TIMEOUT);
	struct bul_step st;

	(void)state;
	bul_cfg_default(&cfg);
	st = bul_fsm_step(&cfg, &f, &mv);
	for (size_t i = 0; i < 9; i++) {
		assert_int_equal(st.action, BUL_ACT_SEND_BU);
		assert_int_equal(st.timer_ms, want[i]);
		assert_int_equal(st.next.retries, i);
		f = st.next;
		st = bul_fsm_step(&cfg, &f, &to);
	}
	assert_int_equal(st.action, BUL_ACT_GIVE_UP);
	assert_int_equal(st.next.state, BUL_IDLE);

	/* The numbers are configuration. */
	cfg.initial_first_reg_ms = 500;
	cfg.max_backoff_ms = 3000;
	cfg.max_retries = 2;
	f = (struct bul_fsm){ .state = BUL_IDLE, .kind = BUL_HOME };
	st = bul_fsm_step(&cfg, &f, &mv);
	assert_int_equal(st.timer_ms, 500);
	st = bul_fsm_step(&cfg, &st.next, &to);
	assert_int_equal(st.timer_ms, 1000);
	st = bul_fsm_step(&cfg, &st.next, &to);
	assert_int_equal(st.timer_ms, 2000);
	st = bul_fsm_step(&cfg, &st.next, &to);
	assert_int_equal(st.action, BUL_ACT_GIVE_UP);

	/* A refresh is not a first registration: 1 s. */
	bul_cfg_default(&cfg);
	f = (struct bul_fsm){ .state = BUL_BOUND, .kind = BUL_HOME };
	st = bul_fsm_step(&cfg, &f, &to);
	assert_int_equal(st.next.state, BUL_REFRESHING);
	assert_int_equal(st.timer_ms, 1000);
}

static void test_ba_details(void **state)
{
	struct bul_cfg cfg;
	struct bul_fsm f = { .state = BUL_WAIT_BA, .kind = BUL_HOME, .backoff_ms = 1500 };
	struct bul_event ev = base_event(BUL_EV_BA_ACCEPTED);
	struct bul_step st;

	(void)state;
	bul_cfg_default(&cfg);
	st = bul_fsm_step(&cfg, &f, &ev);
	assert_int_equal(st.timer_ms, 480000);	/* 80 % of 600 s */
	ev.lifetime_s = 1;
	st = bul_fsm_step(&cfg, &f, &ev);
	assert_int_equal(st.timer_ms, 1000);	/* floor */
	ev.lifetime_s = 0;
	st = bul_fsm_step(&cfg, &f, &ev);
	assert_int_equal(st.next.state, BUL_IDLE);
	assert_int_equal(st.timer, BUL_TIMER_STOP);

	ev = base_event(BUL_EV_BA_REJECTED);
	ev.status = BA_STATUS_SEQ_OUT_OF_WINDOW;
	st = bul_fsm_step(&cfg, &f, &ev);
	assert_int_equal(st.next.state, BUL_WAIT_BA);
	assert_int_equal(st.action, BUL_ACT_SEND_BU);
	assert_int_equal(st.next.retries, 1);
	f.state = BUL_DEREGISTERING;
	st = bul_fsm_step(&cfg, &f, &ev);
	assert_int_equal(st.action, BUL_ACT_SEND_DEREG);
	f.state = BUL_REFRESHING;
	st = bul_fsm_step(&cfg, &f, &ev);
	assert_int_equal(st.action, BUL_ACT_SEND_BU);
	assert_int_equal(st.next.state, BUL_REFRESHING);
}

static void test_rr_flow(void **state)
{
	struct bul_cfg cfg;
	struct bul_fsm f = { .state = BUL_IDLE, .kind = BUL_CN };
	struct bul_event ev = base_event(BUL_EV_MOVED);
	struct bul_step st;

	(void)state;
	bul_cfg_default(&cfg);
	st = bul_fsm_step(&cfg, &f, &ev);
	assert_int_equal(st.rr_send, BUL_TOK_BOTH);
	ev = base_event(BUL_EV_HOT);
	st = bul_fsm_step(&cfg, &st.next, &ev);
	assert_int_equal(st.next.state, BUL_RR_WAIT);
	assert_int_equal(st.next.tokens, BUL_TOK_HOME);
	/* Timeout now resends only the CoTI. */
	struct bul_event to = base_event(BUL_EV_TIMEOUT);
	struct bul_step t = bul_fsm_step(&cfg, &st.next, &to);

	assert_int_equal(t.action, BUL_ACT_START_RR);
	assert_int_equal(t.rr_send, BUL_TOK_CAREOF);
	ev = base_event(BUL_EV_COT);
	st = bul_fsm_step(&cfg, &st.next, &ev);
	assert_int_equal(st.next.state, BUL_WAIT_BA);
	assert_int_equal(st.action, BUL_ACT_SEND_BU);
	assert_int_equal(st.next.tokens, BUL_TOK_BOTH);

	/* Expired nonces: only the named tokens are fetched again. */
	static const struct { uint8_t status, want; } exp[] = {
		{ BA_STATUS_EXPIRED_HOME_NONCE, BUL_TOK_HOME },
		{ BA_STATUS_EXPIRED_COA_NONCE, BUL_TOK_CAREOF },
		{ BA_STATUS_EXPIRED_NONCES, BUL_TOK_BOTH },
	};
	for (size_t i = 0; i < 3; i++) {
		struct bul_event rj = base_event(BUL_EV_BA_REJECTED);

		rj.status = exp[i].status;
		t = bul_fsm_step(&cfg, &st.next, &rj);
		assert_int_equal(t.next.state, BUL_RR_WAIT);
		assert_int_equal(t.action, BUL_ACT_START_RR);
		assert_int_equal(t.rr_send, exp[i].want);
	}
	/* Bound; moving keeps the home token, so only CoTI goes out. */
	ev = base_event(BUL_EV_BA_ACCEPTED);
	st = bul_fsm_step(&cfg, &st.next, &ev);
	assert_int_equal(st.next.state, BUL_BOUND);
	ev = base_event(BUL_EV_MOVED);
	t = bul_fsm_step(&cfg, &st.next, &ev);
	assert_int_equal(t.rr_send, BUL_TOK_CAREOF);
	assert_int_equal(t.next.tokens, BUL_TOK_HOME);
	/* Returning home with a home token deregisters at the CN. */
	ev = base_event(BUL_EV_RETURN_HOME);
	t = bul_fsm_step(&cfg, &st.next, &ev);
	assert_int_equal(t.next.state, BUL_DEREGISTERING);
	assert_int_equal(t.action, BUL_ACT_SEND_DEREG);
	assert_int_equal(t.next.tokens, BUL_TOK_HOME);
}

/* bul_handle: the entry bookkeeping around the machine. */
static void test_handle_bookkeeping(void **state)
{
	struct bul *b = bul_create(NULL);
	struct in6_addr ha, hoa, cn;
	struct bul_entry *e;
	struct bul_event ev;
	struct bul_step st;

	(void)state;
	inet_pton(AF_INET6, "2001:db8:1::1", &ha);
	inet_pton(AF_INET6, "2001:db8:1::100", &hoa);
	inet_pton(AF_INET6, "2001:db8:9::9", &cn);
	e = bul_add(b, &ha, &hoa, BUL_HOME);
	assert_non_null(e);
	assert_ptr_equal(bul_add(b, &ha, &hoa, BUL_HOME), e);
	assert_ptr_equal(bul_find(b, &ha, &hoa), e);
	assert_null(bul_find(b, &cn, &hoa));
	assert_int_equal(e->flags, BCE_F_A | BCE_F_H);
	e->lifetime_req_s = 600;
	e->seq = 65535;

	ev = base_event(BUL_EV_MOVED);
	st = bul_handle(b, e, &ev, 10000);
	assert_int_equal(st.action, BUL_ACT_SEND_BU);
	assert_int_equal(e->seq, 0);	/* wrapped */
	assert_int_equal(e->lifetime_sent_s, 600);
	assert_memory_equal(&e->coa.v6, &ev.coa.v6, 16);
	assert_true(e->sent_ms == 10000);
	assert_true(e->deadline_ms == 11500);
	assert_true(bul_next_deadline(b) == 11500);

	/* A BA for another sequence number is stale. */
	ev = base_event(BUL_EV_BA_ACCEPTED);
	ev.seq = 7;
	st = bul_handle(b, e, &ev, 10100);
	assert_int_equal(e->fsm.state, BUL_WAIT_BA);
	assert_int_equal(st.action, BUL_ACT_NONE);
	/* Status 135 carries the HA's last accepted number: continue after it. */
	ev = base_event(BUL_EV_BA_REJECTED);
	ev.status = BA_STATUS_SEQ_OUT_OF_WINDOW;
	ev.seq = 1000;
	st = bul_handle(b, e, &ev, 10200);
	assert_int_equal(st.action, BUL_ACT_SEND_BU);
	assert_int_equal(e->seq, 1001);
	assert_int_equal(e->last_status, 135);
	ev = base_event(BUL_EV_BA_ACCEPTED);
	ev.seq = 1001;
	ev.lifetime_s = 300;
	st = bul_handle(b, e, &ev, 10300);
	assert_int_equal(e->fsm.state, BUL_BOUND);
	assert_int_equal(e->lifetime_granted_s, 300);
	assert_true(e->expiry_ms == 10200 + 300000);	/* counted from the BU */
	assert_true(e->deadline_ms == 10300 + 240000);

	/* Timers: due entries get TIMEOUT. */
	assert_int_equal(bul_run_timers(b, 10300 + 239999, NULL, NULL), 0);
	assert_int_equal(bul_run_timers(b, 10300 + 240000, NULL, NULL), 1);
	assert_int_equal(e->fsm.state, BUL_REFRESHING);
	assert_int_equal(e->seq, 1002);

	/* Return home: deregistration with lifetime 0, then IDLE. */
	ev = base_event(BUL_EV_RETURN_HOME);
	st = bul_handle(b, e, &ev, 300000);
	assert_int_equal(st.action, BUL_ACT_SEND_DEREG);
	assert_int_equal(e->lifetime_sent_s, 0);
	ev = base_event(BUL_EV_BA_ACCEPTED);
	ev.seq = e->seq;
	ev.lifetime_s = 0;
	bul_handle(b, e, &ev, 300100);
	assert_int_equal(e->fsm.state, BUL_IDLE);
	assert_true(e->deadline_ms == 0);
	assert_true(e->expiry_ms == 0);
	assert_true(bul_next_deadline(b) == UINT64_MAX);

	/* CN entry: tokens recorded with nonce index and receive time. */
	struct bul_entry *c = bul_add(b, &cn, &hoa, BUL_CN);

	assert_int_equal(c->flags, BCE_F_A);
	ev = base_event(BUL_EV_MOVED);
	st = bul_handle(b, c, &ev, 5000);
	assert_int_equal(st.action, BUL_ACT_START_RR);
	ev = base_event(BUL_EV_HOT);
	memset(ev.token, 0x11, 8);
	ev.nonce_index = 42;
	bul_handle(b, c, &ev, 5100);
	assert_true(c->home.valid);
	assert_int_equal(c->home.nonce_index, 42);
	assert_true(c->home.rx_ms == 5100);
	assert_false(c->careof.valid);
	ev = base_event(BUL_EV_COT);
	memset(ev.token, 0x22, 8);
	ev.nonce_index = 43;
	st = bul_handle(b, c, &ev, 5200);
	assert_int_equal(st.action, BUL_ACT_SEND_BU);
	assert_true(c->careof.valid);
	assert_int_equal(c->careof.token[0], 0x22);
	/* Moving drops the care-of token only. */
	ev = base_event(BUL_EV_MOVED);
	bul_handle(b, c, &ev, 6000);
	assert_true(c->home.valid);
	assert_false(c->careof.valid);

	assert_int_equal(bul_count(b), 2);
	bul_remove(b, e);
	assert_int_equal(bul_count(b), 1);
	assert_ptr_equal(bul_at(b, 0), c);
	bul_destroy(b);
}

static void remove_cb(struct bul_entry *e, const struct bul_step *st, void *arg)
{
	if (st->action == BUL_ACT_GIVE_UP)
		bul_remove(arg, e);
}

static void test_timers_and_dump(void **state)
{
	struct bul_cfg cfg;
	struct bul *b;
	struct in6_addr hoa;
	struct bul_event mv = base_event(BUL_EV_MOVED);
	json_t *arr;

	(void)state;
	bul_cfg_default(&cfg);
	cfg.max_retries = 0;	/* first timeout gives up */
	b = bul_create(&cfg);
	inet_pton(AF_INET6, "2001:db8:1::100", &hoa);
	for (uint8_t i = 1; i <= 3; i++) {
		struct in6_addr peer = hoa;

		peer.s6_addr[15] = i;
		struct bul_entry *e = bul_add(b, &peer, &hoa, BUL_HOME);

		bul_handle(b, e, &mv, 1000u * i);
	}
	bul_table_register(b, "bul");
	struct table *t = table_find("bul");

	assert_non_null(t);
	arr = t->dump(t->arg);
	assert_int_equal(json_array_size(arr), 3);
	json_t *o = json_array_get(arr, 0);

	assert_string_equal(json_string_value(json_object_get(o, "state")), "wait_ba");
	assert_string_equal(json_string_value(json_object_get(o, "kind")), "home");
	assert_string_equal(json_string_value(json_object_get(o, "flags")), "AH");
	assert_string_equal(json_string_value(json_object_get(o, "care_of_address")),
			    "2001:db8:77::5");
	assert_true(json_is_null(json_object_get(o, "home_token")));
	json_decref(arr);

	/* Deadlines 2500, 3500, 4500: two due; the callback removes them. */
	assert_true(bul_next_deadline(b) == 2500);
	assert_int_equal(bul_run_timers(b, 3500, remove_cb, b), 2);
	assert_int_equal(bul_count(b), 1);
	assert_true(bul_next_deadline(b) == 4500);
	bul_destroy(b);
	assert_null(table_find("bul"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_complete),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_ba_details),
		cmocka_unit_test(test_rr_flow),
		cmocka_unit_test(test_handle_bookkeeping),
		cmocka_unit_test(test_timers_and_dump),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
