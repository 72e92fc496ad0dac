#include "daemon/role.h"

#include <string.h>

#define ROLES_MAX 32

static const struct role_ops *roles[ROLES_MAX];
static size_t n_roles;

void role_register(const struct role_ops *ops)
{
	if (role_find(ops->name) || n_roles >= ROLES_MAX)
		return;
	roles[n_roles++] = ops;
}

const struct role_ops *role_find(const char *name)
{
	for (size_t i = 0; i < n_roles; i++)
		if (strcmp(roles[i]->name, name) == 0)
			return roles[i];
	return NULL;
}

const struct role_ops *role_at(size_t i) { return i < n_roles ? roles[i] : NULL; }
