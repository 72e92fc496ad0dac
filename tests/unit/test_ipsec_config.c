/* The `ipsec` configuration block (docs/config-ipsec.md): defaults, every
 * value of the documented example, keys split as the transforms need them,
 * the computed TUN MTU, and every file in data/config/ipsec/bad/ rejected
 * with the error its "# expect:" line names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cfg_test.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config.h"
#include "daemon/role.h"
#include "ikev2/ike_config.h"
#include "ipsec/gw.h"
#include "ipsec/pad.h"
#include "wire/ikev2.h"

#define BAD_DIR MIPSEC_TESTDATA "/config/ipsec/bad"

static const char *head =
	"node = { name = \"g\"; };\n"
	"roles = [ \"ipsec\" ];\n";

static struct node_config *load(const char *block, struct cfg_ctx *ctx)
{
	return cfg_test_load_parts(head, block, "\n", ctx);
}

static const struct gw_config *gw_cfg(const struct node_config *nc)
{
	const struct role_config *rc = node_config_role(nc, "ipsec");

	assert_non_null(rc);
	return rc->cfg;
}

static void test_defaults(void **state)
{
	struct cfg_ctx ctx;
	struct node_config *nc = load("", &ctx);

	(void)state;
	assert_non_null(nc);
	const struct gw_config *c = gw_cfg(nc);
	assert_string_equal(c->tun, "ipsec0");
	assert_int_equal(c->listen.family, AF_INET);
	assert_int_equal(c->ike_port, 500);
	assert_int_equal(c->natt_port, 4500);
	assert_int_equal(c->workers, 2);
	assert_true(c->offload);
	assert_int_equal(c->lifetime_poll_ms, 100);
	assert_int_equal(c->n_manual, 0);
	assert_string_equal(c->esp_sa_file, "");
	/* No SA yet: room for the worst transform (CBC: 16-byte IV, 15 octets
	 * of padding) over IPv4: 1500 - (20 + 8 + 8 + 16 + 15 + 2 + 16). */
	assert_int_equal(c->tun_mtu, 1415);
	node_config_free(nc);
	cfg_ctx_clear(&ctx);
}

/* The example of the brief / docs, verbatim. */
static const char *example =
	"ipsec = {\n"
	"  tun = \"ipsec0\";\n"
	"  tun_mtu = 1400;\n"
	"  tun_addresses = [\"10.10.0.1/32\", \"fd10::1/128\"];\n"
	"  listen = \"::\";\n"
	"  ike_port = 500; natt_port = 4500;\n"
	"  workers = 2;\n"
	"  esp_sa_file = \"/tmp/esp_sa\";\n"
	"  manual = ( {\n"
	"    remote = \"10.0.0.2\";\n"
	"    mode = \"tunnel\";\n"
	"    xform = \"aes128gcm16\";\n"
	"    esn = false;\n"
	"    spi_in = 0x1001; spi_out = 0x2001;\n"
	"    key_in = \"000102030405060708090a0b0c0d0e0f10111213\";\n"
	"    key_out = \"0x202122232425262728292a2b2c2d2e2f30313233\";\n"
	"    local_ts = [\"10.10.0.1/32\"]; remote_ts = [\"10.10.0.2/32\", \"fd10::2/128\"];\n"
	"  }, {\n"
	"    remote = \"[fd00::3]:4501\"; mode = \"transport\"; xform = \"aes256-sha256\"; esn = true;\n"
	"    spi_in = 0xfffffff0; spi_out = 256;\n"
	"    key_in = \"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	"a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf\";\n"
	"    key_out = \"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\";\n"
	"    local_ts = [\"fd10::1/128\"]; remote_ts = [\"fd10::3/128\"];\n"
	"  } );\n"
	"};";

static void test_example(void **state)
{
	struct cfg_ctx ctx;
	struct node_config *nc = load(example, &ctx);
	char buf[64];

	(void)state;
	cfg_test_dump_errors(&ctx);
	assert_non_null(nc);
	const struct gw_config *c = gw_cfg(nc);
	assert_int_equal(c->tun_mtu, 1400);
	assert_int_equal(c->n_tun_addrs, 2);
	assert_string_equal(ip_prefix_fmt(&c->tun_addrs[1], buf, sizeof(buf)), "fd10::1/128");
	assert_int_equal(c->listen.family, AF_INET6);
	assert_string_equal(c->esp_sa_file, "/tmp/esp_sa");
	assert_int_equal(c->n_manual, 2);

	const struct gw_manual_cfg *m = &c->manual[0];
	assert_string_equal(ip_addr_fmt(&m->remote, buf, sizeof(buf)), "10.0.0.2");
	assert_int_equal(m->remote_port, 4500);
	assert_int_equal(m->mode, SA_MODE_TUNNEL);
	assert_int_equal(m->xform, ESP_XFORM_AES_GCM_16);
	assert_int_equal(m->enc_key_len, 20);	/* 16-byte key || 4-byte salt */
	assert_int_equal(m->auth_key_len, 0);
	assert_false(m->esn);
	assert_int_equal(m->spi_in, 0x1001);
	assert_int_equal(m->spi_out, 0x2001);
	assert_int_equal(m->key_in[0], 0x00);
	assert_int_equal(m->key_in[19], 0x13);
	assert_int_equal(m->key_out[0], 0x20);	/* "0x" prefix accepted */
	assert_int_equal(m->key_out[19], 0x33);
	assert_int_equal(m->n_local_ts, 1);
	assert_int_equal(m->n_remote_ts, 2);
	assert_string_equal(ip_prefix_fmt(&m->remote_ts[1], buf, sizeof(buf)), "fd10::2/128");

	m = &c->manual[1];
	assert_string_equal(ip_addr_fmt(&m->remote, buf, sizeof(buf)), "fd00::3");
	assert_int_equal(m->remote_port, 4501);
	assert_int_equal(m->mode, SA_MODE_TRANSPORT);
	assert_int_equal(m->xform, ESP_XFORM_AES_CBC_HMAC_SHA256);
	assert_int_equal(m->enc_key_len, 32);
	assert_int_equal(m->auth_key_len, 32);
	assert_true(m->esn);
	assert_int_equal(m->spi_in, 0xfffffff0u);
	assert_int_equal(m->spi_out, 256);
	/* enc key || auth key */
	assert_int_equal(m->key_in[31], 0x1f);
	assert_int_equal(m->key_in[32], 0xa0);
	assert_int_equal(m->key_in[63], 0xbf);
	node_config_free(nc);
	cfg_ctx_clear(&ctx);
}

static void test_default_mtu_follows_xform(void **state)
{
	struct cfg_ctx ctx;
	struct node_config *nc = load(
		"ipsec = { listen = \"::\"; manual = ( { remote = \"fd00::2\"; xform = \"chacha20poly1305\";"
		" spi_in = 0x1001; spi_out = 0x2001;"
		" key_in = \"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223\";"
		" key_out = \"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223\";"
		" local_ts = [\"fd10::1/128\"]; remote_ts = [\"fd10::/64\"]; } ); };",
		&ctx);

	(void)state;
	cfg_test_dump_errors(&ctx);
	assert_non_null(nc);
	/* AEAD over IPv6: 1500 - (40 + 8 + 8 + 8 + 3 + 2 + 16) */
	assert_int_equal(gw_cfg(nc)->tun_mtu, 1415);
	assert_int_equal(gw_cfg(nc)->manual[0].enc_key_len, 36);
	node_config_free(nc);
	cfg_ctx_clear(&ctx);
}

static void test_errors_inline(void **state)
{
	(void)state;
	cfg_test_expect_error_parts(head, "ipsec = { listen = \"10.0.0\"; };", "\n", 3,
				    "ipsec.listen", "'10.0.0' is not an IPv4 or IPv6 address");
	cfg_test_expect_error_parts(head, "ipsec = { natt_port = 0; };", "\n", 3,
				    "ipsec.natt_port", "value 0 out of range 1..65535");
	cfg_test_expect_error_parts(head, "ipsec = { tun_addresses = [\"10.10.0.1\"]; };", "\n", 3,
				    "ipsec.tun_addresses[0]",
				    "'10.10.0.1': prefix length missing");
	cfg_test_expect_error_parts(head, "ipsec = { offload = 1; };", "\n", 3,
				    "ipsec.offload", "must be true or false");
	cfg_test_expect_error_parts(head, "ipsec = { lifetime_poll_ms = 60001; };", "\n", 3,
				    "ipsec.lifetime_poll_ms", "value 60001 out of range 0..60000");
}

/* The `ike` block goes to the engine's parser; `pad` entries are built. */
static void test_ike_and_pad(void **state)
{
	struct cfg_ctx ctx;
	struct node_config *nc = load(
		"ipsec = { ike = { local_id = \"fqdn:a.example\";\n"
		"  peers = ( { name = \"b\"; remote = \"any\"; auth = \"psk\"; psk = \"x\";\n"
		"              remote_id = \"fqdn:b.example\"; remote_ts = [\"10.10.0.0/24\"]; } ); };\n"
		"  pad = ( { id = \"fqdn:b.example\"; ts = [\"10.10.0.2/32\"]; },\n"
		"          { id = \"fqdn:*.branch.example\"; match = \"suffix\"; ts = [\"10.20.0.0/16\"]; },\n"
		"          { id = \"ipv6:2001:db8:8::/64\"; match = \"range\"; claim_self = true; } ); };",
		&ctx);

	(void)state;
	if (!nc)
		cfg_test_dump_errors(&ctx);
	assert_non_null(nc);
	const struct gw_config *c = gw_cfg(nc);
	assert_non_null(c->ike);
	assert_int_equal(c->ike->n_peers, 1);
	assert_string_equal(c->ike->peers[0].name, "b");
	assert_int_equal(c->n_pad, 3);
	assert_int_equal(c->pad[0].id_type, IKEV2_ID_FQDN);
	assert_int_equal(c->pad[0].match, PAD_MATCH_EXACT);
	assert_int_equal(c->pad[0].nts, 1);
	assert_int_equal(c->pad[1].match, PAD_MATCH_SUFFIX);
	assert_int_equal(c->pad[2].id_type, IKEV2_ID_IPV6_ADDR);
	assert_int_equal(c->pad[2].match, PAD_MATCH_RANGE);
	assert_true(c->pad[2].claim_self);
	/* IKE may pick CBC: the default MTU leaves room for it. */
	assert_int_equal(c->tun_mtu, 1415);
	node_config_free(nc);
	cfg_ctx_clear(&ctx);

	cfg_test_expect_error_parts(head, "ipsec = { pad = ( { id = \"foo:x\"; ts = [\"10.0.0.0/8\"]; } ); ike = { peers = (); }; };",
				    "\n", 3, "ipsec.pad[0].id",
				    "'foo:x': want TYPE:VALUE with TYPE fqdn, email, ipv4, ipv6 or dn");
}

static void test_bad_files(void **state)
{
	DIR *d = opendir(BAD_DIR);
	struct dirent *e;
	size_t n = 0;

	(void)state;
	assert_non_null(d);
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		char path[512], line[512];
		struct cfg_ctx ctx;
		bool found = false;

		if (l < 6 || strcmp(e->d_name + l - 5, ".conf") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", BAD_DIR, e->d_name);
		FILE *f = fopen(path, "r");
		assert_non_null(f);
		assert_non_null(fgets(line, sizeof(line), f));
		fclose(f);
		assert_int_equal(strncmp(line, "# expect: ", 10), 0);
		line[strcspn(line, "\n")] = '\0';
		cfg_ctx_init(&ctx, path);
		struct node_config *nc = node_config_load(path, &ctx);
		if (nc)
			fail_msg("%s: accepted, expected \"%s\"", e->d_name, line + 10);
		for (size_t k = 0; k < ctx.n_errors; k++)
			if (strstr(ctx.errors[k], line + 10))
				found = true;
		if (!found) {
			cfg_test_dump_errors(&ctx);
			fail_msg("%s: no error contains \"%s\"", e->d_name, line + 10);
		}
		/* One broken setting, one error. */
		assert_int_equal(ctx.n_errors, 1);
		cfg_ctx_clear(&ctx);
		n++;
	}
	closedir(d);
	assert_true(n >= 12);
}

static void test_xform_names(void **state)
{
	enum esp_xform x;
	size_t ek, ak;

	(void)state;
	assert_true(gw_xform_parse("aes256gcm16", &x, &ek, &ak));
	assert_int_equal(x, ESP_XFORM_AES_GCM_16);
	assert_int_equal(ek, 36);
	assert_true(gw_xform_parse("aes128-sha256", &x, &ek, &ak));
	assert_int_equal(x, ESP_XFORM_AES_CBC_HMAC_SHA256);
	assert_int_equal(ek, 16);
	assert_int_equal(ak, 32);
	assert_false(gw_xform_parse("aes128", &x, &ek, &ak));
	assert_false(gw_xform_parse("", &x, &ek, &ak));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_default_mtu_follows_xform),
		cmocka_unit_test(test_errors_inline),
		cmocka_unit_test(test_ike_and_pad),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_xform_names),
	};

	return cmocka_run_group_tests(tests, cfg_test_setup, cfg_test_teardown);
}
