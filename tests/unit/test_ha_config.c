/* The `ha` configuration block: a full block parses to its values, a
 * minimal one to the defaults of docs/config-ha.md, and every broken one
 * yields exactly one error naming file, line and setting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cfg_test.h"
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/config.h"
#include "mip6/ha.h"


/* Lines 1-4 are fixed, so body line k is file line 4 + k. */
static const char *head =
	"node = { name = \"ha1\"; };\n"
	"interfaces = ( { name = \"home0\"; } );\n"
	"roles = [ \"ha\" ];\n"
	"ha = {\n";

static struct node_config *load(const char *body, struct cfg_ctx *ctx)
{
	return cfg_test_load_parts(head, body, "\n};\n", ctx);
}

static void expect_error(const char *body, int line, const char *setting, const char *reason)
{
	cfg_test_expect_error_parts(head, body, "\n};\n", line, setting, reason);
}

static const struct ha_config *ha_cfg(const struct node_config *nc)
{
	const struct role_config *rc = node_config_role(nc, "ha");

	assert_non_null(rc);
	return rc->cfg;
}

#define MIN "home_link = \"home0\";\nhome_prefixes = [ \"2001:db8:8::/64\" ];\naddress = \"2001:db8:8::1\";\n"

static void test_defaults(void **state)
{
	struct cfg_ctx ctx;
	struct node_config *nc = load(MIN, &ctx);
	char a[INET6_ADDRSTRLEN];

	cfg_test_dump_errors(&ctx);
	assert_non_null(nc);
	const struct ha_config *c = ha_cfg(nc);
	assert_string_equal(c->home_link, "home0");
	assert_int_equal(c->n_prefixes, 1);
	assert_int_equal(c->prefixes[0].prefix.len, 64);
	assert_int_equal(c->prefixes[0].valid_lifetime, HA_LIFETIME_INFINITE);
	assert_string_equal(inet_ntop(AF_INET6, &c->address, a, sizeof(a)), "2001:db8:8::1");
	assert_false(c->has_address4);
	assert_int_equal(c->preference, 0);
	assert_int_equal(c->lifetime, 1800);
	assert_int_equal(c->max_bindings, 100000);
	assert_int_equal(c->max_lifetime, 3600);
	assert_string_equal(c->database, "");
	assert_string_equal(c->tun, "mip6ha0");
	assert_true(c->proxy_nd);
	assert_false(c->refresh_advice);
	assert_int_equal(c->port, 4191);
	assert_int_equal(c->nat_keepalive, 110);
	assert_int_equal(c->n_deny, 0);
	node_config_free(nc);
	cfg_ctx_clear(&ctx);
}

static void test_full(void **state)
{
	struct cfg_ctx ctx;
	struct node_config *nc = load(
		"home_link = \"home0\";\n"
		"home_prefixes = ( \"2001:db8:8::/64\", { prefix = \"2001:db8:9::/56\";\n"
		"  valid_lifetime = 7200; preferred_lifetime = 3600; } );\n"
		"address = \"2001:db8:8::1\"; address4 = \"10.0.8.1\";\n"
		"preference = -5; lifetime = 600; max_bindings = 20; max_lifetime = 120;\n"
		"database = \"/tmp/ha.db\"; tun = \"ha7\"; proxy_nd = false; refresh_advice = true;\n"
		"port = 14191; nat_keepalive = 30; deny = [ \"2001:db8:8::dead\", \"2001:db8:8:0:1::/80\" ];",
		&ctx);
	char a[INET6_ADDRSTRLEN];

	cfg_test_dump_errors(&ctx);
	assert_non_null(nc);
	const struct ha_config *c = ha_cfg(nc);
	assert_int_equal(c->n_prefixes, 2);
	assert_int_equal(c->prefixes[1].prefix.len, 56);
	assert_int_equal(c->prefixes[1].valid_lifetime, 7200);
	assert_int_equal(c->prefixes[1].preferred_lifetime, 3600);
	assert_true(c->has_address4);
	assert_string_equal(inet_ntop(AF_INET, &c->address4, a, sizeof(a)), "10.0.8.1");
	assert_int_equal(c->preference, -5);
	assert_int_equal(c->lifetime, 600);
	assert_int_equal(c->max_bindings, 20);
	assert_int_equal(c->max_lifetime, 120);
	assert_string_equal(c->database, "/tmp/ha.db");
	assert_string_equal(c->tun, "ha7");
	assert_false(c->proxy_nd);
	assert_true(c->refresh_advice);
	assert_int_equal(c->port, 14191);
	assert_int_equal(c->nat_keepalive, 30);
	assert_int_equal(c->n_deny, 2);

	struct in6_addr h;
	inet_pton(AF_INET6, "2001:db8:8::dead", &h);
	assert_true(ha_config_denied(c, &h));
	inet_pton(AF_INET6, "2001:db8:8:0:1::5", &h);
	assert_true(ha_config_denied(c, &h));
	assert_non_null(ha_config_prefix_of(c, &h));
	inet_pton(AF_INET6, "2001:db8:8::5", &h);
	assert_false(ha_config_denied(c, &h));
	inet_pton(AF_INET6, "2001:db8:9:ff::5", &h);
	assert_ptr_equal(ha_config_prefix_of(c, &h), &c->prefixes[1]);
	inet_pton(AF_INET6, "2001:db8:a::5", &h);
	assert_null(ha_config_prefix_of(c, &h));
	node_config_free(nc);
	cfg_ctx_clear(&ctx);
}

static void test_anycast(void **state)
{
	struct ip_prefix p;
	struct in6_addr a;
	char buf[INET6_ADDRSTRLEN];

	/* RFC 2526 §2: EUI-64 format for a /64, all ones otherwise. */
	assert_int_equal(ip_prefix_parse("2001:db8:8::/64", AF_INET6, true, &p), ADDR_OK);
	ha_anycast_addr(&p, &a);
	assert_string_equal(inet_ntop(AF_INET6, &a, buf, sizeof(buf)),
			    "2001:db8:8:0:fdff:ffff:ffff:fffe");
	assert_int_equal(ip_prefix_parse("2001:db8:9::/56", AF_INET6, true, &p), ADDR_OK);
	ha_anycast_addr(&p, &a);
	assert_string_equal(inet_ntop(AF_INET6, &a, buf, sizeof(buf)),
			    "2001:db8:9:ff:ffff:ffff:ffff:fffe");
	assert_int_equal(ip_prefix_parse("2001:db8:9::/120", AF_INET6, true, &p), ADDR_OK);
	ha_anycast_addr(&p, &a);
	assert_string_equal(inet_ntop(AF_INET6, &a, buf, sizeof(buf)), "2001:db8:9::fe");
}

static void test_reserved(void **state)
{
	struct cfg_ctx ctx;
	struct node_config *nc = load(MIN, &ctx);
	struct in6_addr h;
	static const char *const reserved[] = {
		"2001:db8:8::1", "2001:db8:8::", "2001:db8:8:0:fdff:ffff:ffff:fffe",
		"2001:db8:8:0:fdff:ffff:ffff:ff80", "2001:db8:8:0:fdff:ffff:ffff:ffff",
	};
	static const char *const usable[] = {
		"2001:db8:8::2", "2001:db8:8:0:fdff:ffff:ffff:ff7f", "2001:db8:8:0:ffff:ffff:ffff:fffe",
		"2001:db8:9::",
	};

	assert_non_null(nc);
	const struct ha_config *c = ha_cfg(nc);
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		inet_pton(AF_INET6, reserved[i], &h);
		if (!ha_config_reserved(c, &h))
			fail_msg("%s should be reserved", reserved[i]);
	}
	for (size_t i = 0; i < sizeof(usable) / sizeof(usable[0]); i++) {
		inet_pton(AF_INET6, usable[i], &h);
		if (ha_config_reserved(c, &h))
			fail_msg("%s should be usable", usable[i]);
	}
	node_config_free(nc);
	cfg_ctx_clear(&ctx);
}

static void test_errors(void **state)
{
	struct cfg_ctx ctx;

	/* No block at all. */
	FILE *f = fopen(cfg_test_path, "w");
	fputs("node = { name = \"ha1\"; };\ninterfaces = ( { name = \"home0\"; } );\nroles = [ \"ha\" ];\n", f);
	fclose(f);
	cfg_ctx_init(&ctx, cfg_test_path);
	assert_null(node_config_load(cfg_test_path, &ctx));
	assert_int_equal(ctx.n_errors, 1);
	assert_non_null(strstr(ctx.errors[0], "role 'ha' needs an 'ha' block"));
	cfg_ctx_clear(&ctx);

	expect_error("home_link = \"eth9\";\nhome_prefixes = [ \"2001:db8:8::/64\" ];\naddress = \"2001:db8:8::1\";",
		     5, "ha.home_link", "interface 'eth9' is not declared in the top-level interfaces list");
	expect_error("home_prefixes = [ \"2001:db8:8::/64\" ];\naddress = \"2001:db8:8::1\";",
		     4, "ha.home_link", "missing required setting");
	expect_error("home_link = \"home0\";\naddress = \"2001:db8:8::1\";",
		     4, "ha.home_prefixes", "missing required setting");
	expect_error("home_link = \"home0\";\nhome_prefixes = [ ];\naddress = \"2001:db8:8::1\";",
		     6, "ha.home_prefixes", "must list at least one home prefix");
	expect_error("home_link = \"home0\";\nhome_prefixes = [ \"2001:db8:8::1/64\" ];\naddress = \"2001:db8:8::1\";",
		     6, "ha.home_prefixes[0]", "'2001:db8:8::1/64' has host bits set");
	expect_error("home_link = \"home0\";\nhome_prefixes = [ \"fe80::/64\" ];\naddress = \"2001:db8:8::1\";",
		     6, "ha.home_prefixes[0]",
		     "'fe80::/64' cannot hold home addresses (link-local, multicast, loopback or too short)");
	expect_error("home_link = \"home0\";\nhome_prefixes = [ \"2001:db8:8::/124\" ];\naddress = \"2001:db8:8::1\";",
		     6, "ha.home_prefixes[0]",
		     "'2001:db8:8::/124': a home prefix must be /120 or shorter (RFC 2526 anycast)");
	expect_error("home_link = \"home0\";\nhome_prefixes = [ \"2001:db8:8::/64\", \"2001:db8:8::/48\" ];\naddress = \"2001:db8:8::1\";",
		     6, "ha.home_prefixes[1]", "overlaps home_prefixes[0]");
	expect_error("home_link = \"home0\";\nhome_prefixes = [ \"2001:db8:8::/64\" ];\naddress = \"2001:db8:7::1\";",
		     7, "ha.address",
		     "'2001:db8:7::1' is not inside any of home_prefixes (the home agent sits on the home link, RFC 6275 §10.1)");
	expect_error(MIN "address4 = \"2001:db8::1\";", 8, "ha.address4",
		     "'2001:db8::1' is not an IPv4 address");
	expect_error(MIN "max_lifetime = 2;", 8, "ha.max_lifetime", "value 2 out of range 4..262140");
	expect_error(MIN "max_bindings = 0;", 8, "ha.max_bindings",
		     "value 0 out of range 1..1073741824");
	expect_error(MIN "lifetime = 0;", 8, "ha.lifetime", "value 0 out of range 1..65535");
	expect_error(MIN "preference = 40000;", 8, "ha.preference",
		     "value 40000 out of range -32768..32767");
	expect_error(MIN "tun = \"home0\";", 8, "ha.tun",
		     "the tunnel device cannot be the home link 'home0'");
	expect_error(MIN "tun = \"a-very-long-tunnel-name\";", 8, "ha.tun",
		     "interface name must have 1 to 15 characters");
	expect_error(MIN "deny = [ \"nonsense\" ];", 8, "ha.deny[0]",
		     "'nonsense': not a valid IP address");
	expect_error(MIN "proxy_nd = 1;", 8, "ha.proxy_nd", "must be true or false");
	expect_error(MIN "bindings = 5;", 8, "ha.bindings", "unknown setting");
	expect_error("home_link = \"home0\";\nhome_prefixes = ( { prefix = \"2001:db8:8::/64\"; valid_lifetime = 100; preferred_lifetime = 200; } );\naddress = \"2001:db8:8::1\";",
		     6, "ha.home_prefixes[0].preferred_lifetime", "200 exceeds valid_lifetime 100");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_anycast),
		cmocka_unit_test(test_reserved),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, cfg_test_setup, cfg_test_teardown);
}
