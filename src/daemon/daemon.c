#include "daemon/daemon.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/privdrop.h"
#include "ctl/control.h"
#include "ctl/metrics.h"
#include "daemon/commands.h"
#include "net/loop.h"
#include "net/netlink.h"

#define MOD "daemon"

static void on_term(int signo, void *arg)
{
	struct daemon *d = arg;

	log_notice(MOD, "shutting down signal=%s", signo == SIGTERM ? "TERM" : "INT");
	loop_exit(d->loop);
}

static void on_hup(int signo, void *arg)
{
	(void)signo;
	daemon_reload(arg);
}

struct daemon *daemon_new(struct node_config *cfg)
{
	struct daemon *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->cfg = cfg;
	d->loop = loop_new();
	d->nl = nl_open();
	if (!d->loop || !d->nl) {
		log_err(MOD, "cannot create event loop or netlink socket");
		node_config_free(cfg);
		loop_free(d->loop);
		if (d->nl)
			nl_close(d->nl);
		free(d);
		return NULL;
	}
	d->started_ms = mono_ms();
	return d;
}

static int setup_interfaces(struct daemon *d)
{
	for (size_t i = 0; i < d->cfg->n_ifaces; i++) {
		const struct iface_config *ic = &d->cfg->ifaces[i];
		int idx = nl_link_index(ic->name);
		int rc;

		if (idx < 0) {
			log_err(MOD, "interface not found iface=%s", ic->name);
			return -1;
		}
		if (ic->mtu && (rc = nl_link_set_mtu(d->nl, idx, ic->mtu)) < 0)
			log_warn(MOD, "cannot set mtu iface=%s mtu=%u err=\"%s\"", ic->name,
				 ic->mtu, strerror(-rc));
		if ((rc = nl_link_set_up(d->nl, idx, true)) < 0)
			log_warn(MOD, "cannot bring link up iface=%s err=\"%s\"", ic->name,
				 strerror(-rc));
		for (size_t a = 0; a < ic->n_addrs; a++) {
			char buf[64];
			rc = nl_addr_add(d->nl, idx, &ic->addrs[a],
					 ic->optimistic ? NL_ADDR_OPTIMISTIC : 0);
			ip_prefix_fmt(&ic->addrs[a], buf, sizeof(buf));
			/* Present already: left by an instance killed before it
			 * could clean up. The address is still ours to remove. */
			if (rc == -EEXIST)
				log_info(MOD, "address already present, taking it over iface=%s addr=%s",
					 ic->name, buf);
			else if (rc < 0) {
				log_err(MOD, "cannot add address iface=%s addr=%s err=\"%s\"",
					ic->name, buf, strerror(-rc));
				return -1;
			}
			d->added[d->n_added].ifindex = idx;
			d->added[d->n_added].p = ic->addrs[a];
			d->n_added++;
			if (rc != -EEXIST)
				log_info(MOD, "address added iface=%s addr=%s", ic->name, buf);
		}
	}
	return 0;
}

static void teardown_interfaces(struct daemon *d)
{
	while (d->n_added > 0) {
		d->n_added--;
		char buf[64];
		int rc = nl_addr_del(d->nl, d->added[d->n_added].ifindex, &d->added[d->n_added].p);
		ip_prefix_fmt(&d->added[d->n_added].p, buf, sizeof(buf));
		if (rc < 0 && rc != -EADDRNOTAVAIL && rc != -ENODEV)
			log_warn(MOD, "cannot remove address addr=%s err=\"%s\"", buf, strerror(-rc));
		else
			log_info(MOD, "address removed addr=%s", buf);
	}
}

static int init_roles(struct daemon *d)
{
	for (size_t i = 0; i < d->cfg->n_roles; i++) {
		struct role_config *rc = &d->cfg->roles[i];
		void *inst = rc->ops->init(d, rc->cfg);

		if (!inst) {
			log_err(MOD, "role failed to initialise role=%s", rc->ops->name);
			return -1;
		}
		rc->cfg = NULL;	/* now owned by the role instance */
		d->roles[d->n_roles].ops = rc->ops;
		d->roles[d->n_roles].inst = inst;
		d->n_roles++;
	}
	return 0;
}

static int drop_privileges(struct daemon *d)
{
	uint64_t caps = 0;

	if (!d->cfg->user[0])
		return 0;
	for (size_t i = 0; i < d->n_roles; i++)
		caps |= d->roles[i].ops->caps;
	/* The core removes its own addresses at shutdown. */
	if (d->n_added)
		caps |= ROLE_CAP(CAP_NET_ADMIN);
	/* The control socket is removed at shutdown, after the drop: hand it
	 * (and its directory, which belongs to mipsec) to the user first. */
	struct passwd *pw = getpwnam(d->cfg->user);
	if (pw) {
		char dir[sizeof(d->cfg->control_path)];
		snprintf(dir, sizeof(dir), "%s", d->cfg->control_path);
		char *slash = strrchr(dir, '/');
		if (slash && slash != dir)
			*slash = '\0';
		if (chown(d->cfg->control_path, pw->pw_uid, pw->pw_gid) < 0 ||
		    (slash && chown(dir, pw->pw_uid, pw->pw_gid) < 0))
			log_warn(MOD, "cannot hand the control socket to user=%s err=\"%s\"",
				 d->cfg->user, strerror(errno));
	}
	int rc = priv_drop(d->cfg->user, caps);
	if (rc < 0) {
		log_err(MOD, "cannot drop privileges user=%s err=\"%s\"", d->cfg->user,
			strerror(-rc));
		return -1;
	}
	log_info(MOD, "dropped privileges user=%s caps=0x%llx", d->cfg->user,
		 (unsigned long long)caps);
	return 0;
}

static void stop_roles(struct daemon *d)
{
	for (size_t i = d->n_roles; i-- > 0;) {
		if (d->roles[i].started)
			d->roles[i].ops->stop(d->roles[i].inst);
		d->roles[i].started = false;
	}
}

int daemon_run(struct daemon *d)
{
	const struct node_config *c = d->cfg;
	int rc = 1;

	d->sig_term = signal_watch_add(d->loop, SIGTERM, on_term, d);
	d->sig_int = signal_watch_add(d->loop, SIGINT, on_term, d);
	d->sig_hup = signal_watch_add(d->loop, SIGHUP, on_hup, d);
	signal(SIGPIPE, SIG_IGN);
	if (!d->sig_term || !d->sig_int || !d->sig_hup)
		goto out;
	if (setup_interfaces(d) < 0 || init_roles(d) < 0)
		goto out;
	d->ctl = ctl_server_open(d->loop, c->control_path, daemon_command, d);
	if (!d->ctl)
		goto out;
	if (c->metrics_enabled) {
		d->metrics = metrics_server_start(d->loop, (const struct sockaddr *)&c->metrics_addr,
						  (socklen_t)c->metrics_addrlen, c->name);
		if (!d->metrics)
			goto out;
	}
	if (drop_privileges(d) < 0)
		goto out;
	for (size_t i = 0; i < d->n_roles; i++) {
		if (d->roles[i].ops->start(d->roles[i].inst) < 0) {
			log_err(MOD, "role failed to start role=%s", d->roles[i].ops->name);
			goto out;
		}
		d->roles[i].started = true;
	}
	log_notice(MOD, "running node=%s roles=%zu control=%s", c->name, d->n_roles,
		   c->control_path);
	rc = loop_run(d->loop) < 0 ? 1 : d->exit_code;
out:
	stop_roles(d);
	teardown_interfaces(d);
	return rc;
}

int daemon_reload(struct daemon *d)
{
	struct cfg_ctx ctx;
	struct node_config *nc;

	cfg_ctx_init(&ctx, d->cfg->path);
	nc = node_config_load(d->cfg->path, &ctx);
	if (!nc) {
		for (size_t i = 0; i < ctx.n_errors; i++)
			log_err(MOD, "reload rejected: %s", ctx.errors[i]);
		cfg_ctx_clear(&ctx);
		return -1;
	}
	cfg_ctx_clear(&ctx);
	/* Roles are fixed for the life of the process: adding or removing one
	 * changes privileges and kernel state set up before the drop. */
	bool same = nc->n_roles == d->n_roles;
	for (size_t i = 0; same && i < nc->n_roles; i++)
		same = nc->roles[i].ops == d->roles[i].ops;
	if (!same) {
		log_err(MOD, "reload rejected: the set of roles changed; restart instead");
		node_config_free(nc);
		return -1;
	}
	int failed = 0;
	for (size_t i = 0; i < d->n_roles; i++) {
		if (d->roles[i].ops->reload(d->roles[i].inst, nc->roles[i].cfg) < 0) {
			log_err(MOD, "role kept its old configuration role=%s",
				d->roles[i].ops->name);
			failed = -1;
			continue;
		}
		nc->roles[i].cfg = NULL;	/* now owned by the role */
	}
	log_init("mipsecd", nc->log_level, nc->log_syslog);
	/* Interfaces, control socket and metrics address keep their startup
	 * values; the stored configuration records what is in force. */
	for (size_t i = 0; i < d->n_roles; i++)
		if (nc->roles[i].cfg) {
			d->roles[i].ops->free_config(nc->roles[i].cfg);
			nc->roles[i].cfg = NULL;
		}
	d->cfg->log_level = nc->log_level;
	d->cfg->log_syslog = nc->log_syslog;
	node_config_free(nc);
	log_notice(MOD, "configuration reloaded");
	return failed;
}

void daemon_free(struct daemon *d)
{
	if (!d)
		return;
	for (size_t i = d->n_roles; i-- > 0;)
		d->roles[i].ops->destroy(d->roles[i].inst);
	if (d->metrics)
		metrics_server_stop(d->metrics);
	if (d->ctl)
		ctl_server_close(d->ctl);
	signal_watch_del(d->sig_term);
	signal_watch_del(d->sig_int);
	signal_watch_del(d->sig_hup);
	nl_close(d->nl);
	loop_free(d->loop);
	node_config_free(d->cfg);
	free(d);
}
