/* The running node: its loop, configuration, role instances and the
 * kernel state the core itself set up (interface addresses). */
#ifndef MIPSEC_DAEMON_DAEMON_H
#define MIPSEC_DAEMON_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/config.h"

struct loop;
struct nl;
struct ctl_server;
struct metrics_server;
struct signal_watch;

struct role_instance {
	const struct role_ops *ops;
	void *inst;
	bool started;
};

struct daemon {
	struct loop *loop;
	struct nl *nl;			/* shared rtnetlink request socket */
	struct node_config *cfg;
	struct role_instance roles[NODE_MAX_ROLES];
	size_t n_roles;
	struct ctl_server *ctl;
	struct metrics_server *metrics;
	struct signal_watch *sig_term, *sig_int, *sig_hup;
	uint64_t started_ms;
	/* The configured addresses, removed at stop (also when a killed
	 * instance left them behind and this one found them present). */
	struct { int ifindex; struct ip_prefix p; } added[NODE_MAX_IFACES * IFACE_MAX_ADDRS];
	size_t n_added;
	int exit_code;
};

/* Takes ownership of cfg. Returns NULL after logging why. */
struct daemon *daemon_new(struct node_config *cfg);
/* Privileged setup, privilege drop, role start; then runs until SIGTERM. */
int daemon_run(struct daemon *d);
/* Re-reads the configuration file; on error keeps the running one. */
int daemon_reload(struct daemon *d);
void daemon_free(struct daemon *d);

#endif
