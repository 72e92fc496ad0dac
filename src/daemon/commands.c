/* Commands of the control socket:
 *   status            node, version, pid, uptime, roles with their state
 *   tables            the names of the tables `show` can dump
 *   show <table>      one table as a JSON array
 *   stats             every counter
 *   reload            same as SIGHUP */
#include "daemon/commands.h"

#include <string.h>
#include <unistd.h>

#include "core/stats.h"
#include "core/table.h"
#include "ctl/control.h"
#include "daemon/daemon.h"
#include "net/loop.h"

#ifndef MIPSEC_VERSION
#define MIPSEC_VERSION "0.1.0"
#endif

static json_t *cmd_status(struct daemon *d)
{
	json_t *roles = json_array();

	for (size_t i = 0; i < d->n_roles; i++) {
		json_t *r = json_pack("{s:s, s:b}", "name", d->roles[i].ops->name, "started",
				      d->roles[i].started);
		json_t *dump = d->roles[i].ops->dump ? d->roles[i].ops->dump(d->roles[i].inst)
						     : NULL;
		if (dump)
			json_object_set_new(r, "state", dump);
		json_array_append_new(roles, r);
	}
	return json_pack("{s:s, s:s, s:I, s:I, s:s, s:o}", "node", d->cfg->name, "version",
			 MIPSEC_VERSION, "pid", (json_int_t)getpid(), "uptime_ms",
			 (json_int_t)(mono_ms() - d->started_ms), "control",
			 d->cfg->control_path, "roles", roles);
}

static json_t *cmd_tables(void)
{
	json_t *a = json_array();

	for (struct table *t = table_first(); t; t = t->next)
		json_array_append_new(a, json_pack("{s:s, s:s}", "name", t->name,
						   "description", t->description));
	return a;
}

static json_t *cmd_stats(void)
{
	json_t *o = json_object();

	for (struct counter *c = counter_first(); c; c = c->next) {
		if (c->label) {
			char key[256];
			snprintf(key, sizeof(key), "%s{%s}", c->name, c->label);
			json_object_set_new(o, key, json_integer((json_int_t)c->value));
		} else {
			json_object_set_new(o, c->name, json_integer((json_int_t)c->value));
		}
	}
	return o;
}

json_t *daemon_command(const json_t *request, void *arg)
{
	struct daemon *d = arg;
	const char *cmd = json_string_value(json_object_get(request, "command"));

	if (!cmd)
		return ctl_error("request has no \"command\" string");
	if (strcmp(cmd, "status") == 0)
		return ctl_ok(cmd_status(d));
	if (strcmp(cmd, "tables") == 0)
		return ctl_ok(cmd_tables());
	if (strcmp(cmd, "stats") == 0)
		return ctl_ok(cmd_stats());
	if (strcmp(cmd, "reload") == 0)
		return daemon_reload(d) == 0 ? ctl_ok(json_true())
					     : ctl_error("reload failed; see the log");
	if (strcmp(cmd, "show") == 0) {
		const char *name = json_string_value(json_object_get(request, "table"));
		struct table *t;
		if (!name)
			return ctl_error("show needs a \"table\" name");
		t = table_find(name);
		if (!t)
			return ctl_error("no table '%s' (try: mipsecctl tables)", name);
		json_t *rows = t->dump(t->arg);
		return rows ? ctl_ok(rows) : ctl_error("table '%s' could not be dumped", name);
	}
	return ctl_error("unknown command '%s'", cmd);
}
