#include "core/table.h"

#include <string.h>

static struct table *tables_head;

void table_register(struct table *t)
{
	struct table **pp = &tables_head;

	while (*pp) {
		if (*pp == t)
			return;
		pp = &(*pp)->next;
	}
	t->next = NULL;
	*pp = t;
}

void table_unregister(struct table *t)
{
	for (struct table **pp = &tables_head; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			t->next = NULL;
			return;
		}
	}
}

struct table *table_find(const char *name)
{
	for (struct table *t = tables_head; t; t = t->next)
		if (strcmp(t->name, name) == 0)
			return t;
	return NULL;
}

struct table *table_first(void) { return tables_head; }
