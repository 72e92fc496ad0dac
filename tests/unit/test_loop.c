/* Event loop: timer ordering, re-arming, cancellation, io and signals.
 * Assertions are on order and on monotonic lower bounds (a timer never fires
 * early), never on how late a busy machine lets it fire. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "net/loop.h"

struct fired {
	struct loop *l;
	int order[8];
	uint64_t at_us[8];
	int n;
	int expect;
};

struct tctx {
	struct fired *f;
	int id;
};

static void record(void *arg)
{
	struct tctx *c = arg;

	c->f->at_us[c->f->n] = mono_us();
	c->f->order[c->f->n++] = c->id;
	if (c->f->n == c->f->expect)
		loop_exit(c->f->l);
}

static void guard(void *arg)
{
	/* A generous upper bound so a broken loop fails instead of hanging. */
	fail_msg("loop did not finish in time (%p)", arg);
}

static void test_timers_fire_in_deadline_order(void **state)
{
	struct fired f = { .expect = 3 };
	struct timer t[3], g;
	struct tctx c[3];

	(void)state;
	f.l = loop_new();
	assert_non_null(f.l);
	uint64_t delays_ms[3] = { 30, 10, 20 };
	uint64_t start = mono_us();
	for (int i = 0; i < 3; i++) {
		c[i] = (struct tctx){ &f, i };
		assert_int_equal(timer_init(&t[i], f.l, record, &c[i]), 0);
		timer_arm_ms(&t[i], delays_ms[i]);
		assert_true(timer_pending(&t[i]));
	}
	assert_int_equal(timer_init(&g, f.l, guard, NULL), 0);
	timer_arm_ms(&g, 20000);
	assert_int_equal(loop_run(f.l), 0);
	assert_int_equal(f.order[0], 1);
	assert_int_equal(f.order[1], 2);
	assert_int_equal(f.order[2], 0);
	for (int i = 0; i < 3; i++) {
		assert_false(timer_pending(&t[f.order[i]]));
		assert_true(f.at_us[i] - start >= delays_ms[f.order[i]] * 1000);
	}
	for (int i = 0; i < 3; i++)
		timer_deinit(&t[i]);
	timer_deinit(&g);
	loop_free(f.l);
}

static void test_cancel_and_rearm(void **state)
{
	struct fired f = { .expect = 1 };
	struct timer cancelled, rearmed, g;
	struct tctx c0, c1;

	(void)state;
	f.l = loop_new();
	c0 = (struct tctx){ &f, 0 };
	c1 = (struct tctx){ &f, 1 };
	timer_init(&cancelled, f.l, record, &c0);
	timer_init(&rearmed, f.l, record, &c1);
	timer_init(&g, f.l, guard, NULL);
	timer_arm_ms(&g, 20000);
	timer_arm_ms(&cancelled, 5);
	timer_cancel(&cancelled);
	assert_false(timer_pending(&cancelled));
	assert_int_equal(timer_remaining_us(&cancelled), 0);
	/* Re-arming replaces the earlier deadline rather than adding one. */
	uint64_t start = mono_us();
	timer_arm_ms(&rearmed, 1000);
	assert_true(timer_remaining_us(&rearmed) > 500000);
	timer_arm_ms(&rearmed, 15);
	assert_true(timer_remaining_us(&rearmed) <= 15000);
	/* Keep the loop alive past the cancelled deadline. */
	assert_int_equal(loop_run(f.l), 0);
	assert_int_equal(f.n, 1);
	assert_int_equal(f.order[0], 1);
	assert_true(f.at_us[0] - start >= 15000);
	assert_true(f.at_us[0] - start < 1000000);
	timer_deinit(&cancelled);
	timer_deinit(&rearmed);
	timer_deinit(&g);
	loop_free(f.l);
}

static void test_timer_rearm_from_callback(void **state);

struct periodic {
	struct loop *l;
	struct timer t;
	int count;
};

static void tick(void *arg)
{
	struct periodic *p = arg;

	if (++p->count == 5)
		loop_exit(p->l);
	else
		timer_arm_ms(&p->t, 2);
}

static void test_timer_rearm_from_callback(void **state)
{
	struct periodic p = { 0 };
	struct timer g;

	(void)state;
	p.l = loop_new();
	timer_init(&p.t, p.l, tick, &p);
	timer_init(&g, p.l, guard, NULL);
	timer_arm_ms(&g, 20000);
	timer_arm_ms(&p.t, 0);
	assert_int_equal(loop_run(p.l), 0);
	assert_int_equal(p.count, 5);
	timer_deinit(&p.t);
	timer_deinit(&g);
	loop_free(p.l);
}

struct ioctx {
	struct loop *l;
	char got[16];
	int signo;
};

static void on_readable(int fd, void *arg)
{
	struct ioctx *c = arg;
	ssize_t n = read(fd, c->got, sizeof(c->got) - 1);

	assert_true(n > 0);
	c->got[n] = '\0';
	loop_exit(c->l);
}

static void on_signal(int signo, void *arg)
{
	struct ioctx *c = arg;

	c->signo = signo;
	loop_exit(c->l);
}

static void test_io_and_signal(void **state)
{
	struct ioctx c = { 0 };
	struct timer g;
	int fds[2];

	(void)state;
	c.l = loop_new();
	timer_init(&g, c.l, guard, NULL);
	timer_arm_ms(&g, 20000);
	assert_int_equal(pipe(fds), 0);
	struct io_watch *w = io_watch_add(c.l, fds[0], on_readable, &c);
	assert_non_null(w);
	assert_int_equal(write(fds[1], "hello", 5), 5);
	assert_int_equal(loop_run(c.l), 0);
	assert_string_equal(c.got, "hello");
	io_watch_del(w);

	struct signal_watch *s = signal_watch_add(c.l, SIGUSR1, on_signal, &c);
	assert_non_null(s);
	raise(SIGUSR1);
	assert_int_equal(loop_run(c.l), 0);
	assert_int_equal(c.signo, SIGUSR1);
	signal_watch_del(s);
	close(fds[0]);
	close(fds[1]);
	timer_deinit(&g);
	loop_free(c.l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timers_fire_in_deadline_order),
		cmocka_unit_test(test_cancel_and_rearm),
		cmocka_unit_test(test_timer_rearm_from_callback),
		cmocka_unit_test(test_io_and_signal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
