#include "core/stats.h"

#include <stddef.h>

static struct counter *counters_head;
static struct counter **counters_tail = &counters_head;

void counter_register(struct counter *c)
{
	for (struct counter *it = counters_head; it; it = it->next)
		if (it == c)
			return;
	c->next = NULL;
	*counters_tail = c;
	counters_tail = &c->next;
}

void counter_unregister(struct counter *c)
{
	for (struct counter **pp = &counters_head; *pp; pp = &(*pp)->next) {
		if (*pp != c)
			continue;
		*pp = c->next;
		if (counters_tail == &c->next)
			counters_tail = pp;
		c->next = NULL;
		return;
	}
}

struct counter *counter_first(void) { return counters_head; }
