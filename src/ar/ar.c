/* The `ar` role: one ar_if per configured interface, the "ar" table and
 * the role's status dump. */
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>

#include "ar/ar.h"
#include "ar/ar_if.h"
#include "core/log.h"
#include "core/table.h"
#include "daemon/daemon.h"
#include "daemon/role.h"

#define MOD "ar"

struct ar {
	struct loop *loop;
	struct ar_config *cfg;
	struct ar_if *ifs[AR_MAX_IFACES];
	size_t n_ifs;
	bool started;
	struct table table;
};

static json_t *ar_table_dump(void *arg)
{
	struct ar *ar = arg;
	json_t *a = json_array();

	for (size_t i = 0; i < ar->n_ifs; i++)
		json_array_append_new(a, ar_if_dump(ar->ifs[i]));
	return a;
}

static void close_all(struct ar_if **ifs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ar_if_close(ifs[i]);
}

static void *ar_init(struct daemon *d, void *cfgp)
{
	struct ar_config *cfg = cfgp;
	struct ar *ar = calloc(1, sizeof(*ar));

	if (!ar)
		return NULL;
	ar_counters_register();
	ar->loop = d->loop;
	for (size_t i = 0; i < cfg->n_ifaces; i++) {
		ar->ifs[i] = ar_if_open(d->loop, &cfg->ifaces[i]);
		if (!ar->ifs[i]) {
			close_all(ar->ifs, i);
			free(ar);
			return NULL;
		}
	}
	ar->n_ifs = cfg->n_ifaces;
	ar->cfg = cfg;
	ar->table.name = "ar";
	ar->table.description = "access router interfaces: prefixes, RA interval, RAs sent";
	ar->table.dump = ar_table_dump;
	ar->table.arg = ar;
	table_register(&ar->table);
	return ar;
}

static int ar_start(void *inst)
{
	struct ar *ar = inst;

	for (size_t i = 0; i < ar->n_ifs; i++)
		if (ar_if_start(ar->ifs[i]) < 0)
			return -1;
	ar->started = true;
	return 0;
}

static void ar_stop(void *inst)
{
	struct ar *ar = inst;

	for (size_t i = 0; i < ar->n_ifs; i++)
		ar_if_stop(ar->ifs[i]);
	ar->started = false;
}

static struct ar_if *find_if(struct ar *ar, const char *name)
{
	for (size_t i = 0; i < ar->n_ifs; i++)
		if (strcmp(ar->ifs[i]->cfg.name, name) == 0)
			return ar->ifs[i];
	return NULL;
}

/* Interfaces are matched by name: kept ones take the new settings without
 * losing their timers and counters, new ones are opened first (so that a
 * failure leaves the running configuration untouched), removed ones send
 * their final RA. */
static int ar_reload(void *inst, void *cfgp)
{
	struct ar *ar = inst;
	struct ar_config *cfg = cfgp;
	struct ar_if *next[AR_MAX_IFACES] = { 0 }, *opened[AR_MAX_IFACES];
	size_t n_opened = 0;

	for (size_t i = 0; i < cfg->n_ifaces; i++) {
		next[i] = find_if(ar, cfg->ifaces[i].name);
		if (next[i])
			continue;
		next[i] = ar_if_open(ar->loop, &cfg->ifaces[i]);
		if (!next[i] || (ar->started && ar_if_start(next[i]) < 0)) {
			ar_if_close(next[i]);
			for (size_t k = 0; k < n_opened; k++)
				ar_if_stop(opened[k]);
			close_all(opened, n_opened);
			return -1;
		}
		opened[n_opened++] = next[i];
	}
	for (size_t i = 0; i < ar->n_ifs; i++) {
		struct ar_if *ifp = ar->ifs[i];
		bool kept = false;
		for (size_t k = 0; k < cfg->n_ifaces; k++)
			if (next[k] == ifp) {
				ar_if_update(ifp, &cfg->ifaces[k]);
				kept = true;
			}
		if (!kept) {
			ar_if_stop(ifp);
			ar_if_close(ifp);
		}
	}
	memcpy(ar->ifs, next, sizeof(next));
	ar->n_ifs = cfg->n_ifaces;
	ar_config_free(ar->cfg);
	ar->cfg = cfg;
	log_info(MOD, "reloaded interfaces=%zu", ar->n_ifs);
	return 0;
}

static json_t *ar_dump(void *inst)
{
	struct ar *ar = inst;

	return json_pack("{s:b, s:o}", "started", ar->started, "interfaces", ar_table_dump(ar));
}

static void ar_destroy(void *inst)
{
	struct ar *ar = inst;

	if (!ar)
		return;
	table_unregister(&ar->table);
	close_all(ar->ifs, ar->n_ifs);
	ar_config_free(ar->cfg);
	free(ar);
}

const struct role_ops ar_role_ops = {
	.name = "ar",
	.description = "access router: Router Advertisements with Mobile IPv6 and HMIPv6 options",
	/* Raw ICMPv6 sockets for interfaces added by a reload. */
	.caps = ROLE_CAP(CAP_NET_RAW),
	.parse = ar_config_parse,
	.free_config = ar_config_free,
	.init = ar_init,
	.start = ar_start,
	.stop = ar_stop,
	.reload = ar_reload,
	.dump = ar_dump,
	.destroy = ar_destroy,
};
