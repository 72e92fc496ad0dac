/* The `ha` role: binding cache ("bindings" table) with its SQLite store,
 * the mobility endpoint (UDP 4191 + TUN), expiry and flush timers, DHAAD
 * and prefix advertisement. Packet handling lives in ha_rx.c / ha_fwd.c. */
#include <errno.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/stats.h"
#include "core/table.h"
#include "daemon/daemon.h"
#include "daemon/role.h"
#include "mip6/ha_priv.h"
#include "mip6/mip6_ike.h"
#include "net/netlink.h"

#define MOD "ha"

static COUNTER_DEFINE(c_expired, "mipsec_ha_bindings_expired_total",
		      "Bindings removed because their lifetime ended");
static COUNTER_DEFINE(c_restored, "mipsec_ha_bindings_restored_total",
		      "Bindings loaded from the binding store at start");
static COUNTER_DEFINE(c_store_err, "mipsec_ha_store_errors_total",
		      "Failed flushes of the binding store");

static struct table ha_list_table;

static void counters_register(void)
{
	counter_register(&c_expired);
	counter_register(&c_restored);
	counter_register(&c_store_err);
	ha_rx_counters_register();
	ha_fwd_counters_register();
	ha_mpa_counters_register();
}

void ha_note_expiry(struct ha *ha, uint64_t expiry_ms)
{
	uint64_t now = mono_ms();
	uint64_t at_us = expiry_ms > now ? (expiry_ms - now) * 1000 : 0;

	/* Only ever brought forward here; the timer re-arms itself from the
	 * cache's true next expiry when it fires. */
	if (timer_pending(&ha->expire_timer) && timer_remaining_us(&ha->expire_timer) <= at_us)
		return;
	timer_arm_us(&ha->expire_timer, at_us);
}

void ha_note_change(struct ha *ha)
{
	if (ha->store && !timer_pending(&ha->flush_timer))
		timer_arm_ms(&ha->flush_timer, HA_FLUSH_MS);
}

static void on_expired(const struct bce *e, void *arg)
{
	struct ha *ha = arg;
	char buf[INET6_ADDRSTRLEN + 8];
	struct ip_addr a = { .family = AF_INET6, .v6 = e->hoa };

	ha_fwd_del(ha, &e->hoa, e->flags & BCE_F_L);
	counter_inc(&c_expired);
	log_info(MOD, "binding expired hoa=%s", ip_addr_fmt(&a, buf, sizeof(buf)));
}

static void on_expire_timer(void *arg)
{
	struct ha *ha = arg;

	if (bcache_expire(ha->bc, mono_ms(), on_expired, ha))
		ha_note_change(ha);
	uint64_t next = bcache_next_expiry(ha->bc);
	if (next != UINT64_MAX)
		ha_note_expiry(ha, next);
}

static void flush_store(struct ha *ha)
{
	if (!ha->store || bcache_store_pending(ha->store) == 0)
		return;
	if (bcache_store_flush(ha->store) != BCS_OK) {
		counter_inc(&c_store_err);
		log_warn(MOD, "cannot write the binding store err=\"%s\"",
			 bcache_store_errmsg(ha->store));
		timer_arm_ms(&ha->flush_timer, HA_FLUSH_MS * 10);
	}
}

static void on_flush_timer(void *arg) { flush_store(arg); }

static json_t *ha_list_dump(void *arg)
{
	struct ha *ha = arg;

	return ha_dhaad_dump(ha->dhaad);
}

static void compute_anycast(struct ha *ha)
{
	for (size_t i = 0; i < ha->cfg->n_prefixes; i++)
		ha_anycast_addr(&ha->cfg->prefixes[i].prefix, &ha->anycast[i]);
}

static void ha_destroy(void *inst);

/* The store is written after the daemon drops to node.user: hand it the
 * database, SQLite's WAL and shared-memory files and their directory
 * (SQLite creates and removes the side files there). */
static void hand_store_to_user(struct ha *ha)
{
	static const char *const sfx[] = { "", "-wal", "-shm" };
	const char *user = ha->d->cfg->user;
	char path[PATH_MAX + 8];
	struct passwd *pw;

	if (!user[0] || !(pw = getpwnam(user)))
		return;
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s%s", ha->cfg->database, sfx[i]);
		if (chown(path, pw->pw_uid, pw->pw_gid) < 0 && errno != ENOENT)
			log_warn(MOD, "cannot hand %s to user=%s err=\"%s\"", path, user,
				 strerror(errno));
	}
	snprintf(path, sizeof(path), "%s", ha->cfg->database);
	char *slash = strrchr(path, '/');
	struct stat st;
	if (slash && slash != path) {
		*slash = '\0';
		/* Never a shared directory such as /tmp (sticky): there the
		 * user can create the side files anyway. */
		if (stat(path, &st) == 0 && !(st.st_mode & S_ISVTX) &&
		    chown(path, pw->pw_uid, pw->pw_gid) < 0)
			log_warn(MOD, "cannot hand %s to user=%s err=\"%s\"", path, user,
				 strerror(errno));
	}
}

static int open_store(struct ha *ha)
{
	char err[256];
	int rc;

	if (!ha->cfg->database[0])
		return 0;
	rc = bcache_store_open(ha->cfg->database, &ha->store, err, sizeof(err));
	if (rc != BCS_OK) {
		log_err(MOD, "cannot open binding store path=%s err=\"%s\"", ha->cfg->database, err);
		return -1;
	}
	hand_store_to_user(ha);
	return 0;
}

bool ha_sec_required(const struct ha *ha, const struct in6_addr *hoa)
{
	return ha->sec && (ha->cfg->ipsec.require || mip6_sec_find(ha->sec, hoa));
}

/* The SA sets of the `ipsec` block: manually keyed bindings (RFC 4301
 * §4.5) and/or IKEv2 (ipsec.ike, CHILD SAs installed by mip6_ike). */
static int sec_open(struct ha *ha)
{
	const struct ha_ipsec_cfg *ic = &ha->cfg->ipsec;
	struct ip_addr local = { .family = AF_INET6, .v6 = ha->cfg->address }, any = { 0 };
	char err[160], hb[INET6_ADDRSTRLEN];

	if (!ic->enabled)
		return 0;
	ha->sec = mip6_sec_new(MIP6_SEC_HA, "mip6_sa");
	if (!ha->sec)
		return -1;
	for (size_t i = 0; i < ic->n_bindings; i++) {
		const struct ha_sec_binding *b = &ic->bindings[i];
		struct ip_addr h = { .family = AF_INET6, .v6 = b->hoa };
		struct mip6_sec_sas sas;
		mip6_sec_keycfg_sas(&b->keys, &local, &any, &sas);
		if (mip6_sec_install(ha->sec, &b->hoa, &sas, err, sizeof(err)) < 0) {
			log_err(MOD, "cannot install the IPsec SAs hoa=%s err=\"%s\"",
				ip_addr_fmt(&h, hb, sizeof(hb)), err);
			return -1;
		}
	}
	if (ha->cfg->ike) {
		ha->ike = mip6_ike_new(ha->loop, MIP6_SEC_HA, ha->cfg->ike, ha->sec, 0,
				       ic->esp_sa_file, NULL, err, sizeof(err));
		if (!ha->ike) {
			log_err(MOD, "cannot start IKEv2 err=\"%s\"", err);
			return -1;
		}
	}
	if (ic->esp_sa_file[0] && mip6_sec_export(ha->sec, ic->esp_sa_file) < 0)
		log_warn(MOD, "cannot write esp_sa records path=%s err=\"%s\"", ic->esp_sa_file,
			 strerror(errno));
	log_info(MOD, "IPsec (RFC 4877) on require=%s home_addresses=%zu ike=%s",
		 ic->require ? "yes" : "no", mip6_sec_count(ha->sec), ha->ike ? "yes" : "no");
	return 0;
}

static void *ha_init(struct daemon *d, void *cfgp)
{
	struct ha_config *cfg = cfgp;
	struct ha *ha = calloc(1, sizeof(*ha));

	if (!ha)
		return NULL;
	counters_register();
	ha->d = d;
	ha->loop = d->loop;
	ha->nl = d->nl;
	ha->cfg = cfg;
	ha->na_fd = -1;
	compute_anycast(ha);
	timer_init(&ha->expire_timer, d->loop, on_expire_timer, ha);
	timer_init(&ha->flush_timer, d->loop, on_flush_timer, ha);
	ha->bc = bcache_create(&(struct bcache_cfg){ .name = "ha", .max_entries = cfg->max_bindings });
	if (!ha->bc)
		goto fail;
	ha->home_ifindex = nl_link_index(cfg->home_link);
	if (ha->home_ifindex < 0) {
		log_err(MOD, "home link not found iface=%s", cfg->home_link);
		goto fail;
	}
	if (sec_open(ha) < 0)
		goto fail;
	struct mip6_ep_config ec = { .port = cfg->port, .tun_name = cfg->tun,
				     .tun_mtu = cfg->ipsec.enabled ? HA_TUN_MTU_IPSEC : HA_TUN_MTU };
	ec.bind6.family = AF_INET6;
	if (cfg->has_address4)
		ec.bind4.family = AF_INET;
	ha->ep = mip6_ep_open(d->loop, &ec, &(struct mip6_ep_ops){ .rx = ha_rx, .tun = ha_tun_in },
			      ha);
	if (!ha->ep)
		goto fail;
	ha->tun_ifindex = mip6_ep_tun_ifindex(ha->ep);
	int rc = nl_link_set_up(ha->nl, ha->tun_ifindex, true);
	if (rc < 0) {
		log_err(MOD, "cannot bring up iface=%s err=\"%s\"", cfg->tun, strerror(-rc));
		goto fail;
	}
	ha_fwd_init(ha);
	if (open_store(ha) < 0)
		goto fail;
	ha->dhaad = ha_dhaad_open(ha);
	if (!ha->dhaad)
		goto fail;
	bcache_table_register(ha->bc, "bindings");
	ha_list_table = (struct table){ .name = "ha_list",
					.description = "home agents list of the home link (RFC 6275 §10.1)",
					.dump = ha_list_dump, .arg = ha };
	table_register(&ha_list_table);
	return ha;
fail:
	ha->cfg = NULL;	/* on failure the caller keeps the configuration */
	ha_destroy(ha);
	return NULL;
}

static int ha_start(void *inst)
{
	struct ha *ha = inst;
	struct bcache_store_load_stats st = { 0 };
	uint32_t cur = 0;
	struct bce *e;

	if (ha->store) {
		int rc = bcache_store_load(ha->store, ha->bc, mono_ms(), (int64_t)time(NULL), &st);
		if (rc != BCS_OK) {
			log_err(MOD, "cannot load binding store path=%s err=\"%s\"", ha->cfg->database,
				bcache_store_errmsg(ha->store));
			return -1;
		}
		bcache_store_attach(ha->store, ha->bc);
		/* Reinstall interception for the restored bindings. */
		while ((e = bcache_next(ha->bc, &cur))) {
			if (ha_fwd_add(ha, &e->hoa, e->flags & BCE_F_L, true) < 0)
				continue;
			if (ha->sec)	/* the SAs follow the restored care-of address */
				mip6_sec_move(ha->sec, &e->hoa, &e->coa);
			counter_inc(&c_restored);
		}
		log_info(MOD, "binding store loaded path=%s loaded=%zu expired=%zu bad=%zu",
			 ha->cfg->database, st.loaded, st.expired, st.bad);
	}
	on_expire_timer(ha);
	ha->started = true;
	return 0;
}

static void ha_stop(void *inst)
{
	struct ha *ha = inst;
	uint32_t cur = 0;
	struct bce *e;

	if (!ha->started)
		return;
	/* Kernel state goes; the bindings stay in the store for the next
	 * start (DESIGN.md §2: what an HA needs to resume its bindings). */
	while ((e = bcache_next(ha->bc, &cur)))
		ha_fwd_del(ha, &e->hoa, e->flags & BCE_F_L);
	timer_cancel(&ha->expire_timer);
	timer_cancel(&ha->flush_timer);
	flush_store(ha);
	ha->started = false;
}

static bool prefixes_changed(const struct ha_config *a, const struct ha_config *b)
{
	if (a->n_prefixes != b->n_prefixes)
		return true;
	for (size_t i = 0; i < a->n_prefixes; i++)
		if (memcmp(&a->prefixes[i], &b->prefixes[i], sizeof(a->prefixes[i])) != 0)
			return true;
	return false;
}

/* Limits, deny list, lifetimes and prefixes take effect at once; the
 * sockets, the TUN, the home link and the database need a restart. */
static int ha_reload(void *inst, void *cfgp)
{
	struct ha *ha = inst;
	struct ha_config *n = cfgp, *o = ha->cfg;

	if (strcmp(n->home_link, o->home_link) || strcmp(n->tun, o->tun) ||
	    strcmp(n->database, o->database) || n->port != o->port ||
	    n->has_address4 != o->has_address4 ||
	    memcmp(&n->address, &o->address, sizeof(n->address)) ||
	    memcmp(&n->ipsec, &o->ipsec, sizeof(n->ipsec))) {
		log_err(MOD, "home_link, tun, database, port, addresses and ipsec change only with a restart");
		return -1;
	}
	if (n->max_bindings > bcache_max_entries(ha->bc)) {
		log_err(MOD, "max_bindings can rise above its value at start (%u) only with a restart",
			bcache_max_entries(ha->bc));
		return -1;
	}
	bool push = prefixes_changed(o, n);
	/* The IKE engine keeps pointing at the configuration it started
	 * with (ike changes need a restart). */
	mip6_ike_config_free(n->ike);
	n->ike = o->ike;
	o->ike = NULL;
	ha->cfg = n;
	compute_anycast(ha);
	ha_config_free(o);
	if (push)
		ha_dhaad_rejoin(ha->dhaad);
	if (push)
		log_info(MOD, "home prefixes changed: unsolicited MPAs sent=%zu", ha_mpa_push_all(ha));
	return 0;
}

static json_t *ha_dump(void *inst)
{
	struct ha *ha = inst;

	json_t *o = json_pack("{s:b, s:I, s:I, s:s, s:I, s:o}", "started", ha->started, "bindings",
			      (json_int_t)bcache_count(ha->bc), "max_bindings",
			      (json_int_t)ha->cfg->max_bindings, "tun", ha->cfg->tun, "store_pending",
			      (json_int_t)(ha->store ? bcache_store_pending(ha->store) : 0), "ha_list",
			      ha_dhaad_dump(ha->dhaad));
	if (o && ha->sec)
		json_object_set_new(o, "ipsec", json_pack("{s:b, s:I}", "require",
			ha->cfg->ipsec.require, "home_addresses", (json_int_t)mip6_sec_count(ha->sec)));
	return o;
}

static void ha_destroy(void *inst)
{
	struct ha *ha = inst;

	if (!ha)
		return;
	if (ha_list_table.arg == ha) {
		table_unregister(&ha_list_table);
		ha_list_table.arg = NULL;
	}
	ha_dhaad_close(ha->dhaad);
	ha_fwd_close(ha);
	mip6_ep_close(ha->ep);
	timer_deinit(&ha->expire_timer);
	timer_deinit(&ha->flush_timer);
	bcache_store_close(ha->store);
	bcache_destroy(ha->bc);
	mip6_ike_free(ha->ike, true);
	mip6_sec_free(ha->sec);
	ha_config_free(ha->cfg);
	free(ha);
}

/* Each of them owns UDP port 4191 on the node (docs/mip6-transport.md). */
static const char *const ha_conflicts[] = { "mn", "cn", NULL };

const struct role_ops ha_role_ops = {
	.name = "ha",
	.conflicts = ha_conflicts,
	.description = "home agent: binding cache, tunnel, DHAAD, mobile prefix advertisement",
	/* Routes and proxy neighbours per binding; raw ICMPv6 for DHAAD. */
	.caps = ROLE_CAP(CAP_NET_ADMIN) | ROLE_CAP(CAP_NET_RAW),
	.parse = ha_config_parse,
	.free_config = ha_config_free,
	.init = ha_init,
	.start = ha_start,
	.stop = ha_stop,
	.reload = ha_reload,
	.dump = ha_dump,
	.destroy = ha_destroy,
};
