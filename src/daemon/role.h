/* A role is one function of a node (ar, ha, mn, cn, ...). Each registers a
 * role_ops with the core; the daemon runs every role its configuration names
 * from one event loop.
 *
 * Lifecycle: parse (at -n check, start and every reload) -> init (privileged
 * setup: sockets, TUN devices) -> start (after privileges are dropped) ->
 * reload* -> stop (undo kernel state: routes, addresses, devices) -> destroy.
 */
#ifndef MIPSEC_DAEMON_ROLE_H
#define MIPSEC_DAEMON_ROLE_H

#include <jansson.h>
#include <libconfig.h>
#include <stdint.h>

#include "daemon/cfg.h"

struct daemon;

/* Capability bits a role needs after root is dropped (CAP_* numbers). */
#define ROLE_CAP(c) (UINT64_C(1) << (c))

struct role_ops {
	const char *name;
	const char *description;
	/* Roles that cannot share a node with this one (NULL-terminated). */
	const char *const *conflicts;
	uint64_t caps;

	/* Validates the role's block (may be NULL when the role has no block)
	 * and returns its parsed configuration, or NULL after cfg_error(). The
	 * result must not point into the libconfig tree. */
	void *(*parse)(struct cfg_ctx *ctx, const config_setting_t *block);
	void (*free_config)(void *cfg);

	/* Takes ownership of cfg on success (free it in destroy). */
	void *(*init)(struct daemon *d, void *cfg);
	int (*start)(void *inst);
	void (*stop)(void *inst);
	/* Applies a new parsed configuration; returns 0 and takes ownership of
	 * `cfg` on success. On failure the old configuration stays in force. */
	int (*reload)(void *inst, void *cfg);
	json_t *(*dump)(void *inst);
	void (*destroy)(void *inst);
};

void role_register(const struct role_ops *ops);
const struct role_ops *role_find(const char *name);
/* Registers every role compiled into mipsec (idempotent). */
void roles_register_all(void);
const struct role_ops *role_at(size_t i);

#endif
