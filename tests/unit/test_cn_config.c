/* The `cn` configuration block (docs/config-cn.md): defaults, every value,
 * and one precise error per broken setting. */
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

#include "daemon/config.h"
#include "daemon/role.h"
#include "mip6/cn.h"


/* Lines 1-3 are fixed, so the cn block is on line 4. */
static const char *head =
	"node = { name = \"cn1\"; };\n"
	"interfaces = ( { name = \"va\"; } );\n"
	"roles = [ \"cn\" ];\n";

static struct node_config *load(const char *block, struct cfg_ctx *ctx)
{
	return cfg_test_load_parts(head, block, "\n", ctx);
}

/* The block starts on line 4. */
static void expect_error(const char *block, const char *setting, const char *reason)
{
	cfg_test_expect_error_parts(head, block, "\n", 4, setting, reason);
}

static const struct cn_config *cn_cfg(const struct node_config *nc)
{
	const struct role_config *rc = node_config_role(nc, "cn");

	assert_non_null(rc);
	return rc->cfg;
}

static void test_defaults(void **state)
{
	struct cfg_ctx ctx;
	/* No block at all: every default. */
	struct node_config *nc = load("", &ctx);

	assert_non_null(nc);
	const struct cn_config *c = cn_cfg(nc);
	assert_string_equal(c->tun, "mip6cn0");
	assert_int_equal(c->n_ifaces, 0);
	assert_int_equal(c->max_bindings, 10000);
	assert_int_equal(c->kcn_lifetime, 240);
	assert_int_equal(c->nonce_interval, 30);
	assert_int_equal(c->nonce_lifetime, 240);
	assert_int_equal(c->max_binding_lifetime, 420);
	assert_int_equal(c->brr_before, 20);
	assert_true(c->native);
	node_config_free(nc);
	cfg_ctx_clear(&ctx);
}

static void test_full(void **state)
{
	struct cfg_ctx ctx;
	struct node_config *nc = load(
		"cn = { interfaces = [ \"va\" ]; tun = \"cn%d\"; address = \"2001:db8::5\";"
		" max_bindings = 7; kcn_lifetime = 600; nonce_interval = 10; nonce_lifetime = 200;"
		" max_binding_lifetime = 100; brr_before = 0; be_rate = 3; native = false; };",
		&ctx);

	for (size_t i = 0; i < ctx.n_errors; i++)
		fprintf(stderr, "  error: %s\n", ctx.errors[i]);
	assert_non_null(nc);
	const struct cn_config *c = cn_cfg(nc);
	assert_int_equal(c->n_ifaces, 1);
	assert_string_equal(c->ifaces[0], "va");
	assert_string_equal(c->tun, "cn%d");
	assert_int_equal(c->bind.family, AF_INET6);
	assert_int_equal(c->bind.bytes[15], 5);
	assert_int_equal(c->max_bindings, 7);
	assert_int_equal(c->kcn_lifetime, 600);
	assert_int_equal(c->nonce_interval, 10);
	assert_int_equal(c->nonce_lifetime, 200);
	assert_int_equal(c->max_binding_lifetime, 100);
	assert_int_equal(c->brr_before, 0);
	assert_int_equal(c->be_rate, 3);
	assert_false(c->native);
	node_config_free(nc);
	cfg_ctx_clear(&ctx);
}

static void test_errors(void **state)
{
	expect_error("cn = { interfaces = [ \"vz\" ]; };", "cn.interfaces[0]",
		     "interface 'vz' is not declared in the top-level interfaces list");
	expect_error("cn = { nonce_lifetime = 241; };", "cn.nonce_lifetime",
		     "value 241 out of range 1..240");
	expect_error("cn = { max_binding_lifetime = 421; };", "cn.max_binding_lifetime",
		     "value 421 out of range 4..420");
	expect_error("cn = { nonce_interval = 3; };", "cn.nonce_interval",
		     "3 s is too short for nonce_lifetime 240 s: at most 63 nonces are kept, use at least 4");
	expect_error("cn = { nonce_interval = 60; nonce_lifetime = 30; };", "cn.nonce_interval",
		     "60 exceeds nonce_lifetime 30");
	expect_error("cn = { tun = \"0123456789abcdef\"; };", "cn.tun",
		     "must be an interface name of 1 to 15 characters");
	expect_error("cn = { address = \"2001:db8::/64\"; };", "cn.address",
		     "must be an address, not a prefix");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, cfg_test_setup, cfg_test_teardown);
}
