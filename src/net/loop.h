/* The event loop: libevent underneath, monotonic timers as first-class
 * objects (armed, re-armed and cancelled without allocation), fd watchers
 * and signals. Everything in a daemon runs from one loop. */
#ifndef MIPSEC_NET_LOOP_H
#define MIPSEC_NET_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct loop;
struct event;

struct loop *loop_new(void);
void loop_free(struct loop *l);
/* Runs until loop_exit(); returns 0, or -1 if the backend failed. */
int loop_run(struct loop *l);
void loop_exit(struct loop *l);
struct event_base *loop_base(struct loop *l);

/* CLOCK_MONOTONIC in milliseconds / microseconds. */
uint64_t mono_ms(void);
uint64_t mono_us(void);

typedef void (*timer_cb)(void *arg);

struct timer {
	struct event *ev;
	timer_cb cb;
	void *arg;
	uint64_t deadline_us;	/* monotonic; 0 when not armed */
};

int timer_init(struct timer *t, struct loop *l, timer_cb cb, void *arg);
/* (Re)arms the timer to fire once after `us` microseconds. */
void timer_arm_us(struct timer *t, uint64_t us);
static inline void timer_arm_ms(struct timer *t, uint64_t ms) { timer_arm_us(t, ms * 1000); }
void timer_cancel(struct timer *t);
bool timer_pending(const struct timer *t);
/* Microseconds until it fires, 0 if due or not armed. */
uint64_t timer_remaining_us(const struct timer *t);
void timer_deinit(struct timer *t);

/* Readable-fd watcher, persistent until removed. */
typedef void (*io_cb)(int fd, void *arg);
struct io_watch;
struct io_watch *io_watch_add(struct loop *l, int fd, io_cb cb, void *arg);
void io_watch_del(struct io_watch *w);

typedef void (*signal_cb)(int signo, void *arg);
struct signal_watch;
struct signal_watch *signal_watch_add(struct loop *l, int signo, signal_cb cb, void *arg);
void signal_watch_del(struct signal_watch *w);

#endif
