/* The node configuration: everything outside the per-role blocks. */
#ifndef MIPSEC_DAEMON_CONFIG_H
#define MIPSEC_DAEMON_CONFIG_H

#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "core/addr.h"
#include "core/log.h"
#include "daemon/cfg.h"
#include "daemon/role.h"

#define NODE_MAX_IFACES 32
#define IFACE_MAX_ADDRS 16
#define NODE_MAX_ROLES 16

struct iface_config {
	char name[IFNAMSIZ];
	struct ip_prefix addrs[IFACE_MAX_ADDRS];	/* added at start, removed at stop */
	size_t n_addrs;
	bool optimistic;		/* RFC 4429 optimistic DAD for those addresses */
	unsigned mtu;			/* 0: leave as is */
};

struct role_config {
	const struct role_ops *ops;
	void *cfg;
};

struct node_config {
	char path[PATH_MAX];
	char name[64];
	char user[64];			/* empty: keep running as the starting user */
	enum log_level log_level;
	bool log_syslog;
	char control_path[108];		/* sun_path size */
	bool metrics_enabled;
	char metrics_listen[64];
	struct sockaddr_storage metrics_addr;
	size_t metrics_addrlen;
	char certificate[PATH_MAX];
	char private_key[PATH_MAX];
	char ca[PATH_MAX];
	struct iface_config ifaces[NODE_MAX_IFACES];
	size_t n_ifaces;
	struct role_config roles[NODE_MAX_ROLES];
	size_t n_roles;
};

/* Parses and validates `path`. Returns NULL with ctx->errors filled in. */
struct node_config *node_config_load(const char *path, struct cfg_ctx *ctx);
void node_config_free(struct node_config *nc);
const struct iface_config *node_config_iface(const struct node_config *nc, const char *name);
const struct role_config *node_config_role(const struct node_config *nc, const char *name);

/* For role parsers: the node configuration being parsed, so that a role can
 * check that an interface it names is declared. Valid only during parse. */
const struct node_config *cfg_current_node(void);
/* For role parsers: records an error at `at` unless interface `name` is
 * declared in the top-level interfaces list. Returns whether it is. */
bool cfg_iface_declared(struct cfg_ctx *ctx, const config_setting_t *at, const char *name);

#endif
