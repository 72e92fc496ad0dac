/* Counters: every error path and every protocol event increments one.
 * They are read by `mipsecctl stats` and exported as Prometheus metrics. */
#ifndef MIPSEC_CORE_STATS_H
#define MIPSEC_CORE_STATS_H

#include <stdint.h>

struct counter {
	const char *name;	/* Prometheus name, e.g. mipsec_ar_ra_sent_total */
	const char *help;
	const char *label;	/* optional "key=\"value\"" label set, or NULL */
	uint64_t value;
	struct counter *next;
};

/* Declares a counter; it links itself into the registry on first use of
 * counter_register() (done by the owning module's init). */
#define COUNTER_DEFINE(var, cname, chelp) \
	struct counter var = { .name = (cname), .help = (chelp) }

void counter_register(struct counter *c);
void counter_unregister(struct counter *c);
static inline void counter_inc(struct counter *c) { c->value++; }
static inline void counter_add(struct counter *c, uint64_t n) { c->value += n; }

/* Iterate in registration order. */
struct counter *counter_first(void);

#endif
