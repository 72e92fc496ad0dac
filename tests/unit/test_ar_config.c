/* The `ar` configuration block: good blocks parse to the values and
 * defaults documented in docs/config-ar.md; every broken one yields its own
 * error naming file, line and setting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cfg_test.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ar/ar.h"
#include "daemon/config.h"


/* Lines 1-4 are fixed, so body line k is file line 4 + k. */
static const char *head =
	"node = { name = \"ar1\"; };\n"
	"interfaces = ( { name = \"va\"; mtu = 1400; }, { name = \"vb\"; } );\n"
	"roles = [ \"ar\" ];\n"
	"ar = { interfaces = ( {\n";

static struct node_config *load(const char *body, struct cfg_ctx *ctx)
{
	return cfg_test_load_parts(head, body, "\n} ); };\n", ctx);
}

static void expect_error(const char *body, int line, const char *setting, const char *reason)
{
	cfg_test_expect_error_parts(head, body, "\n} ); };\n", line, setting, reason);
}

static const struct ar_config *ar_cfg(const struct node_config *nc)
{
	const struct role_config *rc = node_config_role(nc, "ar");

	assert_non_null(rc);
	return rc->cfg;
}

static void test_full(void **state)
{
	struct cfg_ctx ctx;
	(void)state;
	struct node_config *nc = load(
		"name = \"va\"; min_interval_ms = 30; max_interval_ms = 70;\n"
		"managed = true; other_config = true; home_agent = true; hop_limit = 32;\n"
		"router_lifetime = 600; reachable_time = 30000; retrans_timer = 1000; mtu = 1500;\n"
		"source_lladdr = false; advertisement_interval = true;\n"
		"solicited_unicast = false; min_delay_between_ras_ms = 50; max_ra_delay_ms = 20;\n"
		"home_agent_info = { preference = -3; lifetime = 1200; };\n"
		"prefixes = ( { prefix = \"2001:db8:5b:1::1/64\"; router_address = true;\n"
		"  valid_lifetime = 86400; preferred_lifetime = 14400; },\n"
		"  { prefix = \"2001:db8:5c::/48\"; autonomous = false; on_link = false; } );\n"
		"map = ( { address = \"2001:db8:7::30\"; distance = 2; preference = 7;\n"
		"  valid_lifetime = 3600; rcoa = false; } );",
		&ctx);

	cfg_test_dump_errors(&ctx);
	assert_non_null(nc);
	const struct ar_config *c = ar_cfg(nc);
	assert_int_equal(c->n_ifaces, 1);
	const struct ar_iface_cfg *ic = &c->ifaces[0];
	assert_string_equal(ic->name, "va");
	assert_int_equal(ic->min_interval_ms, 30);
	assert_int_equal(ic->max_interval_ms, 70);
	assert_true(ic->managed && ic->other_config && ic->home_agent);
	assert_int_equal(ic->hop_limit, 32);
	assert_int_equal(ic->router_lifetime, 600);
	assert_int_equal(ic->reachable_time, 30000);
	assert_int_equal(ic->retrans_timer, 1000);
	assert_int_equal(ic->mtu, 1500);
	assert_false(ic->source_lladdr);
	assert_true(ic->advertisement_interval);
	assert_false(ic->solicited_unicast);
	assert_int_equal(ic->min_delay_between_ras_ms, 50);
	assert_int_equal(ic->max_ra_delay_ms, 20);
	assert_true(ic->ha_info);
	assert_int_equal(ic->ha_preference, -3);
	assert_int_equal(ic->ha_lifetime, 1200);
	assert_int_equal(ic->n_prefixes, 2);
	assert_true(ic->prefixes[0].router_address && ic->prefixes[0].autonomous);
	assert_int_equal(ic->prefixes[0].prefix.len, 64);
	assert_int_equal(ic->prefixes[0].prefix.addr.bytes[15], 1);
	assert_int_equal(ic->prefixes[0].valid_lifetime, 86400);
	assert_int_equal(ic->prefixes[0].preferred_lifetime, 14400);
	assert_false(ic->prefixes[1].autonomous || ic->prefixes[1].on_link);
	assert_int_equal(ic->n_maps, 1);
	assert_int_equal(ic->maps[0].distance, 2);
	assert_int_equal(ic->maps[0].preference, 7);
	assert_false(ic->maps[0].rcoa);
	assert_int_equal(ic->maps[0].addr.s6_addr[15], 0x30);
	node_config_free(nc);
	cfg_ctx_clear(&ctx);
}

static void test_defaults(void **state)
{
	struct cfg_ctx ctx;
	(void)state;
	struct node_config *nc = load(
		"name = \"va\"; max_interval_ms = 4000;\n"
		"prefixes = ( { prefix = \"2001:db8:1::/64\"; valid_lifetime = 86400; } );\n"
		"map = ( { address = \"2001:db8:7::30\"; } ); }, { name = \"vb\";", &ctx);

	cfg_test_dump_errors(&ctx);
	assert_non_null(nc);
	const struct ar_config *c = ar_cfg(nc);
	assert_int_equal(c->n_ifaces, 2);
	const struct ar_iface_cfg *ic = &c->ifaces[0];
	assert_int_equal(ic->min_interval_ms, 1333);		/* 0.33 * max */
	assert_int_equal(ic->min_delay_between_ras_ms, 1333);	/* min(min, 3 s) */
	assert_int_equal(ic->router_lifetime, 12);		/* 3 * max */
	assert_int_equal(ic->hop_limit, 64);
	assert_int_equal(ic->mtu, 1400);			/* from interfaces */
	assert_true(ic->source_lladdr && ic->advertisement_interval && ic->solicited_unicast);
	assert_int_equal(ic->solicited_rate, 10);
	assert_false(ic->home_agent || ic->ha_info);
	assert_true(ic->prefixes[0].on_link && ic->prefixes[0].autonomous);
	assert_false(ic->prefixes[0].router_address);
	assert_int_equal(ic->prefixes[0].preferred_lifetime, 86400);	/* capped by valid */
	assert_int_equal(ic->maps[0].distance, 1);
	assert_int_equal(ic->maps[0].preference, 10);
	assert_int_equal(ic->maps[0].valid_lifetime, 3600);
	assert_true(ic->maps[0].rcoa);
	const struct ar_iface_cfg *vb = &c->ifaces[1];
	assert_int_equal(vb->max_interval_ms, 600000);
	assert_int_equal(vb->min_interval_ms, 200000);
	assert_int_equal(vb->min_delay_between_ras_ms, 3000);
	assert_int_equal(vb->router_lifetime, 1800);
	assert_int_equal(vb->mtu, 0);
	node_config_free(nc);
	cfg_ctx_clear(&ctx);
}

#define I0 "ar.interfaces[0]"

static void test_iface_errors(void **state)
{
	(void)state;
	expect_error("name = \"va\";\nfoo = 1;", 6, I0 ".foo", "unknown setting");
	expect_error("name = \"eth9\";", 5, I0 ".name",
		     "interface 'eth9' is not declared in the top-level interfaces list");
	expect_error("name = \"va\"; }, { name = \"va\";", 5, "ar.interfaces[1].name",
		     "interface 'va' is listed twice");
	expect_error("min_interval_ms = 30;", 4, I0 ".name", "missing required setting");
	expect_error("name = \"va\";\nmin_interval_ms = 20;", 6, I0 ".min_interval_ms",
		     "value 20 out of range 30..1800000");
	expect_error("name = \"va\";\nmax_interval_ms = 60;", 6, I0 ".max_interval_ms",
		     "value 60 out of range 70..1800000");
	expect_error("name = \"va\"; max_interval_ms = 70;\nmin_interval_ms = 60;", 6,
		     I0 ".min_interval_ms",
		     "60 ms exceeds 0.75 * max_interval_ms (52 ms) (RFC 4861 §6.2.1)");
	expect_error("name = \"va\"; max_interval_ms = 4000;\nrouter_lifetime = 1;", 6,
		     I0 ".router_lifetime",
		     "1 s is below max_interval_ms (4000 ms): use 0 or at least 4 (RFC 4861 §6.2.1)");
	expect_error("name = \"va\";\nrouter_lifetime = 9001;", 6, I0 ".router_lifetime",
		     "value 9001 out of range 0..9000");
	expect_error("name = \"va\";\nhop_limit = 256;", 6, I0 ".hop_limit",
		     "value 256 out of range 0..255");
	expect_error("name = \"va\";\nreachable_time = 3600001;", 6, I0 ".reachable_time",
		     "value 3600001 out of range 0..3600000");
	expect_error("name = \"va\";\nmtu = 1000;", 6, I0 ".mtu",
		     "1000 is below the IPv6 minimum 1280 (0 omits the MTU option)");
	expect_error("name = \"va\";\nmanaged = 1;", 6, I0 ".managed", "must be true or false");
	expect_error("name = \"va\";\nmax_ra_delay_ms = 501;", 6, I0 ".max_ra_delay_ms",
		     "value 501 out of range 0..500");
	expect_error("name = \"va\";\nmin_delay_between_ras_ms = 29;", 6,
		     I0 ".min_delay_between_ras_ms", "value 29 out of range 30..1800000");
}

static void test_ha_info_errors(void **state)
{
	(void)state;
	expect_error("name = \"va\";\nhome_agent_info = { preference = 1; };", 6,
		     I0 ".home_agent_info", "only valid with home_agent = true");
	expect_error("name = \"va\"; home_agent = true;\nhome_agent_info = { lifetime = 0; };", 6,
		     I0 ".home_agent_info.lifetime", "value 0 out of range 1..65535");
	expect_error("name = \"va\"; home_agent = true;\nhome_agent_info = { preference = 40000; };",
		     6, I0 ".home_agent_info.preference", "value 40000 out of range -32768..32767");
	expect_error("name = \"va\"; home_agent = true; router_lifetime = 0;\nhome_agent_info = { };",
		     6, I0 ".home_agent_info",
		     "lifetime is required when router_lifetime = 0 (0 is not a valid home agent lifetime)");
	expect_error("name = \"va\"; home_agent = true;\nhome_agent_info = { pref = 1; };", 6,
		     I0 ".home_agent_info.pref", "unknown setting");
}

#define P0 I0 ".prefixes[0]"

static void test_prefix_errors(void **state)
{
	(void)state;
	expect_error("name = \"va\"; prefixes = (\n{ prefix = \"2001:db8::1/64\"; } );", 6,
		     P0 ".prefix",
		     "'2001:db8::1/64' has host bits set: write 2001:db8::/64, or set router_address = true to advertise the router's address");
	expect_error("name = \"va\"; prefixes = (\n{ prefix = \"2001:db8::/64\"; router_address = true; } );",
		     6, P0 ".prefix",
		     "router_address = true needs the router's full address in the prefix (R flag, RFC 6275 §7.2), not the network '2001:db8::/64'");
	expect_error("name = \"va\"; prefixes = (\n{ prefix = \"2001:db8::/48\"; } );", 6, P0 ".prefix",
		     "autonomous = true needs a /64 (64-bit interface identifiers, RFC 4862); '2001:db8::/48' is a /48: set autonomous = false");
	expect_error("name = \"va\"; prefixes = ( { prefix = \"2001:db8::/64\";\nvalid_lifetime = 100; preferred_lifetime = 200; } );",
		     6, P0 ".preferred_lifetime", "200 exceeds valid_lifetime 100");
	expect_error("name = \"va\"; prefixes = (\n{ prefix = \"fe80::/64\"; } );", 6, P0 ".prefix",
		     "'fe80::/64' is link-local; only global or unique local prefixes are advertised");
	expect_error("name = \"va\"; prefixes = (\n{ prefix = \"2001:db8::\"; } );", 6, P0 ".prefix",
		     "'2001:db8::': prefix length missing");
	expect_error("name = \"va\"; prefixes = (\n{ prefix = \"10.0.0.0/8\"; } );", 6, P0 ".prefix",
		     "'10.0.0.0/8' is not an IPv6 address");
	expect_error("name = \"va\"; prefixes = ( { prefix = \"2001:db8::/64\"; },\n{ prefix = \"2001:db8::/64\"; } );",
		     6, I0 ".prefixes[1].prefix", "same prefix as prefixes[0]");
	expect_error("name = \"va\"; prefixes = (\n{ prefix = \"2001:db8::/64\"; onlink = true; } );", 6,
		     P0 ".onlink", "unknown setting");
	expect_error("name = \"va\"; prefixes = (\n{ on_link = true; } );", 6, P0 ".prefix",
		     "missing required setting");
}

#define M0 I0 ".map[0]"

static void test_map_errors(void **state)
{
	(void)state;
	expect_error("name = \"va\"; map = ( { address = \"2001:db8:7::30\";\ndistance = 0; } );", 6,
		     M0 ".distance", "value 0 out of range 1..15");
	expect_error("name = \"va\"; map = ( { address = \"2001:db8:7::30\";\ndistance = 16; } );", 6,
		     M0 ".distance", "value 16 out of range 1..15");
	expect_error("name = \"va\"; map = ( { address = \"2001:db8:7::30\";\npreference = 16; } );", 6,
		     M0 ".preference", "value 16 out of range 0..15");
	expect_error("name = \"va\"; map = (\n{ address = \"fe80::1\"; } );", 6, M0 ".address",
		     "'fe80::1' is not a global unicast address (RFC 5380 §4)");
	expect_error("name = \"va\"; map = (\n{ address = \"2001:db8:7::/64\"; } );", 6, M0 ".address",
		     "'2001:db8:7::/64': the MAP's address, not a prefix");
	expect_error("name = \"va\"; map = (\n{ address = \"not-an-address\"; } );", 6, M0 ".address",
		     "'not-an-address': not a valid IP address");
	expect_error("name = \"va\"; map = ( { address = \"2001:db8:7::30\"; },\n{ address = \"2001:db8:7::30\"; } );",
		     6, I0 ".map[1].address", "same MAP as map[0]");
}

static void test_block_errors(void **state)
{
	struct cfg_ctx ctx;
	char want[512];
	(void)state;

	/* The role without its block. */
	struct node_config *nc = cfg_test_load("node = { name = \"n\"; };\nroles = [ \"ar\" ];\n", &ctx);
	assert_null(nc);
	assert_int_equal(ctx.n_errors, 1);
	snprintf(want, sizeof(want),
		 "%s:2: setting 'roles[0]': role 'ar' needs an 'ar' block with its interfaces", cfg_test_path);
	assert_string_equal(ctx.errors[0], want);
	cfg_ctx_clear(&ctx);

	nc = cfg_test_load("node = { name = \"n\"; };\nroles = [ \"ar\" ];\nar = { interfaces = ( ); };\n",
		      &ctx);
	assert_null(nc);
	assert_int_equal(ctx.n_errors, 1);
	snprintf(want, sizeof(want), "%s:3: setting 'ar.interfaces': must list at least one interface",
		 cfg_test_path);
	assert_string_equal(ctx.errors[0], want);
	cfg_ctx_clear(&ctx);

	nc = cfg_test_load("node = { name = \"n\"; };\nroles = [ \"ar\" ];\nar = {\nifaces = ( );\n};\n",
		      &ctx);
	assert_null(nc);
	assert_int_equal(ctx.n_errors, 2);
	snprintf(want, sizeof(want), "%s:4: setting 'ar.ifaces': unknown setting", cfg_test_path);
	assert_string_equal(ctx.errors[0], want);
	snprintf(want, sizeof(want), "%s:3: setting 'ar.interfaces': missing required setting", cfg_test_path);
	assert_string_equal(ctx.errors[1], want);
	cfg_ctx_clear(&ctx);

	/* Several mistakes are all reported, each on its own line. */
	nc = load("name = \"va\";\nhop_limit = 300;\nmtu = 10;\nmap = ( { address = \"::\"; } );", &ctx);
	assert_null(nc);
	assert_int_equal(ctx.n_errors, 3);
	snprintf(want, sizeof(want), "%s:6: setting '" I0 ".hop_limit': value 300 out of range 0..255", cfg_test_path);
	assert_string_equal(ctx.errors[0], want);
	snprintf(want, sizeof(want), "%s:7: setting '" I0 ".mtu': 10 is below the IPv6 minimum 1280 (0 omits the MTU option)", cfg_test_path);
	assert_string_equal(ctx.errors[1], want);
	snprintf(want, sizeof(want), "%s:8: setting '" M0 ".address': '::' is not a global unicast address (RFC 5380 §4)", cfg_test_path);
	assert_string_equal(ctx.errors[2], want);
	cfg_ctx_clear(&ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_iface_errors),
		cmocka_unit_test(test_ha_info_errors),
		cmocka_unit_test(test_prefix_errors),
		cmocka_unit_test(test_map_errors),
		cmocka_unit_test(test_block_errors),
	};
	return cmocka_run_group_tests(tests, cfg_test_setup, cfg_test_teardown);
}
