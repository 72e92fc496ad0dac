/* Named tables (binding cache, prefix list, ...) that `mipsecctl show NAME`
 * dumps. A module registers a dump callback producing a JSON array. */
#ifndef MIPSEC_CORE_TABLE_H
#define MIPSEC_CORE_TABLE_H

#include <jansson.h>

struct table {
	const char *name;
	const char *description;
	json_t *(*dump)(void *arg);	/* returns a new reference */
	void *arg;
	struct table *next;
};

void table_register(struct table *t);
void table_unregister(struct table *t);
struct table *table_find(const char *name);
struct table *table_first(void);

#endif
