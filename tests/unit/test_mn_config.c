/* The `mn` configuration block: a full block parses to its values, an
 * empty-ish one to the documented defaults (docs/config-mn.md), and every
 * broken setting yields its own "file:line: setting 'path': reason". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/config.h"
#include "mip6/mn.h"

#include "cfg_test.h"


/* Lines 1-4 are fixed, so body line k is file line 4 + k. */
static const char *head =
	"node = { name = \"mn1\"; };\n"
	"interfaces = ( { name = \"wa\"; }, { name = \"wb\"; } );\n"
	"roles = [ \"mn\" ];\n"
	"mn = {\n";

static const char *base =
	"home_address = \"2001:db8:8::4\"; home_prefix = \"2001:db8:8::/64\";\n";

static struct node_config *load(const char *body, struct cfg_ctx *ctx)
{
	return cfg_test_load_parts(head, body, "\n};\n", ctx);
}

static void expect_error(const char *body, int line, const char *setting, const char *reason)
{
	cfg_test_expect_error_parts(head, body, "\n};\n", line, setting, reason);
}

static const struct mn_config *mn_cfg(const struct node_config *nc)
{
	const struct role_config *rc = node_config_role(nc, "mn");

	assert_non_null(rc);
	return rc->cfg;
}

static void test_full(void **state)
{
	struct cfg_ctx ctx;
	struct in6_addr a;
	(void)state;
	struct node_config *nc = load(
		"home_address = \"2001:db8:8::4\"; home_prefix = \"2001:db8:8::/64\";\n"
		"home_agent = \"2001:db8:8::1\"; interfaces = [ \"wa\", \"wb\" ];\n"
		"tun = \"mip6x\"; tun_mtu = 1280; fwmark = 0x77; table = 100; rule_priority = 900;\n"
		"lifetime = 30; initial_bindack_timeout_ms = 500; max_bindack_timeout_ms = 4000;\n"
		"max_retries = 3; optimistic_first_bu = false; iid = \"stable\";\n"
		"rs_interval_ms = 200; rs_count = 5; dhaad_timeout_ms = 700; dhaad_retries = 2;\n"
		"prefix_solicit_before_s = 30; home_agent_ipv4 = \"198.51.100.1\"; nat_keepalive_s = 20;\n"
		"route_optimisation = true; correspondents = [ \"2001:db8:7::c\", \"2001:db8:9::1\" ];",
		&ctx);

	assert_int_equal(ctx.n_errors, 0);
	assert_non_null(nc);
	const struct mn_config *c = mn_cfg(nc);
	inet_pton(AF_INET6, "2001:db8:8::4", &a);
	assert_memory_equal(&c->hoa, &a, 16);
	assert_int_equal(c->home_prefix.len, 64);
	assert_true(c->has_ha);
	inet_pton(AF_INET6, "2001:db8:8::1", &a);
	assert_memory_equal(&c->ha, &a, 16);
	assert_int_equal(c->n_ifaces, 2);
	assert_string_equal(c->ifaces[1], "wb");
	assert_string_equal(c->tun, "mip6x");
	assert_int_equal(c->tun_mtu, 1280);
	assert_int_equal(c->fwmark, 0x77);
	assert_int_equal(c->table, 100);
	assert_int_equal(c->rule_priority, 900);
	assert_int_equal(c->lifetime_s, 30);
	assert_int_equal(c->initial_bindack_timeout_ms, 500);
	assert_int_equal(c->max_bindack_timeout_ms, 4000);
	assert_int_equal(c->max_retries, 3);
	assert_false(c->optimistic_first_bu);
	assert_int_equal(c->iid, MN_IID_STABLE);
	assert_int_equal(c->rs_interval_ms, 200);
	assert_int_equal(c->rs_count, 5);
	assert_int_equal(c->dhaad_timeout_ms, 700);
	assert_int_equal(c->dhaad_retries, 2);
	assert_int_equal(c->mps_before_s, 30);
	assert_true(c->has_ha4);
	assert_int_equal(ntohl(c->ha4.s_addr), 0xc6336401);
	assert_int_equal(c->nat_keepalive_s, 20);
	assert_true(c->route_optimisation);
	assert_int_equal(c->n_correspondents, 2);
	inet_pton(AF_INET6, "2001:db8:9::1", &a);
	assert_memory_equal(&c->correspondents[1], &a, 16);
	node_config_free(nc);
	cfg_ctx_clear(&ctx);
}

static void test_defaults(void **state)
{
	struct cfg_ctx ctx;
	(void)state;
	struct node_config *nc = load("home_address = \"2001:db8:8::4\"; "
				      "home_prefix = \"2001:db8:8::/64\"; interfaces = [ \"wa\" ];",
				      &ctx);

	assert_int_equal(ctx.n_errors, 0);
	const struct mn_config *c = mn_cfg(nc);
	assert_false(c->has_ha);	/* DHAAD */
	assert_false(c->has_ha4);
	assert_int_equal(c->nat_keepalive_s, 110);
	assert_string_equal(c->tun, "mip6mn0");
	assert_int_equal(c->tun_mtu, 1400);
	assert_int_equal(c->fwmark, 0x4d49);
	assert_int_equal(c->table, 4191);
	assert_int_equal(c->rule_priority, 1000);
	assert_int_equal(c->lifetime_s, 600);
	assert_int_equal(c->initial_bindack_timeout_ms, 1500);
	assert_int_equal(c->max_bindack_timeout_ms, 32000);
	assert_int_equal(c->max_retries, 8);
	assert_true(c->optimistic_first_bu);
	assert_int_equal(c->iid, MN_IID_EUI64);
	assert_int_equal(c->rs_count, 3);
	assert_int_equal(c->dhaad_timeout_ms, 3000);
	assert_int_equal(c->dhaad_retries, 4);
	assert_false(c->route_optimisation);
	assert_int_equal(c->n_correspondents, 0);
	node_config_free(nc);
	cfg_ctx_clear(&ctx);
}

static void test_errors(void **state)
{
	char b[512];
	(void)state;
#define E(body, line, setting, reason) \
	do { snprintf(b, sizeof(b), "%s%s", base, body); expect_error(b, line, setting, reason); } while (0)
	E("interfaces = [ \"wa\" ]; foo = 1;", 6, "mn.foo", "unknown setting");
	E("interfaces = [ \"wz\" ];", 6, "mn.interfaces[0]",
	  "interface 'wz' is not declared in the top-level interfaces list");
	E("interfaces = [ \"wa\", \"wa\" ];", 6, "mn.interfaces[1]", "interface 'wa' is listed twice");
	E("interfaces = [ ];", 6, "mn.interfaces", "must list at least one access interface");
	E("interfaces = [ \"wa\" ];\nhome_agent = \"fe80::1\";", 7, "mn.home_agent",
	  "must be one global unicast IPv6 address");
	E("interfaces = [ \"wa\" ];\nlifetime = 0;", 7, "mn.lifetime", "value 0 out of range 4..262140");
	E("interfaces = [ \"wa\" ];\ntable = 254;", 7, "mn.table",
	  "table 254 is a kernel table (default/main/local)");
	E("interfaces = [ \"wa\" ];\niid = \"mac\";", 7, "mn.iid",
	  "'mac' is neither \"eui64\" nor \"stable\"");
	E("interfaces = [ \"wa\" ];\ntun = \"wa\";", 7, "mn.tun", "'wa' is also an access interface");
	E("interfaces = [ \"wa\" ];\ninitial_bindack_timeout_ms = 5000;\nmax_bindack_timeout_ms = 1000;",
	  8, "mn.max_bindack_timeout_ms", "1000 ms is below initial_bindack_timeout_ms (5000 ms)");
	E("interfaces = [ \"wa\" ];\nhome_agent_ipv4 = \"2001:db8::1\";", 7, "mn.home_agent_ipv4",
	  "'2001:db8::1' is not an IPv4 address");
	E("interfaces = [ \"wa\" ];\nhome_agent_ipv4 = \"224.0.0.1\";", 7, "mn.home_agent_ipv4",
	  "must be one unicast IPv4 address");
	E("interfaces = [ \"wa\" ];\nhome_agent_ipv4 = \"192.0.2.1\";", 7, "mn.home_agent_ipv4",
	  "needs home_agent too (DHAAD cannot run over IPv4)");
	E("interfaces = [ \"wa\" ];\ncorrespondents = [ \"2001:db8:7::c\" ];", 7,
	  "mn.correspondents", "correspondents need route_optimisation = true");
	E("interfaces = [ \"wa\" ]; route_optimisation = true;\ncorrespondents = [ \"cn\" ];", 7,
	  "mn.correspondents[0]", "correspondents are IPv6 addresses in strings");
	E("interfaces = [ \"wa\" ]; route_optimisation = true;\n"
	  "correspondents = [ \"2001:db8:7::c\", \"ff02::1\" ];", 7,
	  "mn.correspondents[1]", "'ff02::1' is not a global unicast address");
	E("interfaces = [ \"wa\" ]; route_optimisation = true;\ncorrespondents = [ \"2001:db8::1\", "
	  "\"2001:db8::2\", \"2001:db8::3\", \"2001:db8::4\", \"2001:db8::5\",\n"
	  "\"2001:db8::6\", \"2001:db8::7\", \"2001:db8::8\", \"2001:db8::9\" ];", 8,
	  "mn.correspondents[8]", "more than 8 correspondents");
#undef E
	expect_error("home_address = \"2001:db8:9::4\"; home_prefix = \"2001:db8:8::/64\";\n"
		     "interfaces = [ \"wa\" ];", 5, "mn.home_prefix", "does not contain home_address");
	expect_error("home_address = \"fe80::4\"; home_prefix = \"2001:db8:8::/64\";\n"
		     "interfaces = [ \"wa\" ];", 5, "mn.home_address",
		     "not usable as a home address (RFC 6275 §6.3: no multicast, link-local, "
		     "loopback, unspecified or v4-mapped)");
	expect_error("home_address = \"2001:db8:8::4\"; home_prefix = \"2001:db8:8::1/64\";\n"
		     "interfaces = [ \"wa\" ];", 5, "mn.home_prefix", "host bits set below /64");
}

static void test_missing_block(void **state)
{
	struct cfg_ctx ctx;
	(void)state;

	assert_null(cfg_test_load("node = { name = \"mn1\"; };\nroles = [ \"mn\" ];\n", &ctx));
	assert_int_equal(ctx.n_errors, 1);
	assert_non_null(strstr(ctx.errors[0], "needs an 'mn' block"));
	cfg_ctx_clear(&ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_missing_block),
	};
	return cmocka_run_group_tests(tests, cfg_test_setup, cfg_test_teardown);
}
