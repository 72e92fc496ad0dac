#include "net/loop.h"

#include <event2/event.h>
#include <stdlib.h>
#include <time.h>

struct loop {
	struct event_base *base;
};

struct io_watch {
	struct event *ev;
	io_cb cb;
	void *arg;
};

struct signal_watch {
	struct event *ev;
	signal_cb cb;
	void *arg;
};

struct loop *loop_new(void)
{
	struct event_config *cfg = event_config_new();
	struct loop *l = calloc(1, sizeof(*l));

	if (!cfg || !l)
		goto fail;
	/* Precise monotonic timers: RFC 6275 allows RA intervals of 30 ms and
	 * handover timing is measured in milliseconds. */
	event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
	l->base = event_base_new_with_config(cfg);
	if (!l->base)
		goto fail;
	event_config_free(cfg);
	return l;
fail:
	if (cfg)
		event_config_free(cfg);
	free(l);
	return NULL;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	event_base_free(l->base);
	free(l);
}

int loop_run(struct loop *l)
{
	return event_base_loop(l->base, EVLOOP_NO_EXIT_ON_EMPTY) < 0 ? -1 : 0;
}

void loop_exit(struct loop *l) { event_base_loopbreak(l->base); }
struct event_base *loop_base(struct loop *l) { return l->base; }

uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t mono_ms(void) { return mono_us() / 1000u; }

static void timer_fire(evutil_socket_t fd, short what, void *arg)
{
	struct timer *t = arg;

	(void)fd;
	(void)what;
	t->deadline_us = 0;
	t->cb(t->arg);
}

int timer_init(struct timer *t, struct loop *l, timer_cb cb, void *arg)
{
	t->cb = cb;
	t->arg = arg;
	t->deadline_us = 0;
	t->ev = evtimer_new(l->base, timer_fire, t);
	return t->ev ? 0 : -1;
}

void timer_arm_us(struct timer *t, uint64_t us)
{
	struct timeval tv = { .tv_sec = (time_t)(us / 1000000u),
			      .tv_usec = (suseconds_t)(us % 1000000u) };

	t->deadline_us = mono_us() + us;
	if (t->deadline_us == 0)
		t->deadline_us = 1;
	evtimer_add(t->ev, &tv);
}

void timer_cancel(struct timer *t)
{
	if (t->ev)
		evtimer_del(t->ev);
	t->deadline_us = 0;
}

bool timer_pending(const struct timer *t) { return t->deadline_us != 0; }

uint64_t timer_remaining_us(const struct timer *t)
{
	uint64_t now;

	if (!t->deadline_us)
		return 0;
	now = mono_us();
	return t->deadline_us > now ? t->deadline_us - now : 0;
}

void timer_deinit(struct timer *t)
{
	if (t->ev)
		event_free(t->ev);
	t->ev = NULL;
	t->deadline_us = 0;
}

static void io_fire(evutil_socket_t fd, short what, void *arg)
{
	struct io_watch *w = arg;

	(void)what;
	w->cb(fd, w->arg);
}

struct io_watch *io_watch_add(struct loop *l, int fd, io_cb cb, void *arg)
{
	struct io_watch *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->cb = cb;
	w->arg = arg;
	w->ev = event_new(l->base, fd, EV_READ | EV_PERSIST, io_fire, w);
	if (!w->ev || event_add(w->ev, NULL) < 0) {
		if (w->ev)
			event_free(w->ev);
		free(w);
		return NULL;
	}
	return w;
}

void io_watch_del(struct io_watch *w)
{
	if (!w)
		return;
	event_free(w->ev);
	free(w);
}

static void signal_fire(evutil_socket_t signo, short what, void *arg)
{
	struct signal_watch *w = arg;

	(void)what;
	w->cb((int)signo, w->arg);
}

struct signal_watch *signal_watch_add(struct loop *l, int signo, signal_cb cb, void *arg)
{
	struct signal_watch *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->cb = cb;
	w->arg = arg;
	w->ev = evsignal_new(l->base, signo, signal_fire, w);
	if (!w->ev || event_add(w->ev, NULL) < 0) {
		if (w->ev)
			event_free(w->ev);
		free(w);
		return NULL;
	}
	return w;
}

void signal_watch_del(struct signal_watch *w)
{
	if (!w)
		return;
	event_free(w->ev);
	free(w);
}
