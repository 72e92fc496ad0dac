/* The IKEv2 engine end to end: two real engines (ikev2/ike.h) exchanging
 * datagrams through their send callbacks over a libevent loop. Nothing of
 * the protocol is mocked: both sides are the engine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/table.h"
#include "ike_pair.h"
#include "ikev2/ike_sa.h"
#include "wire/ikev2.h"

#define A 0
#define B 1
#define WAIT_MS 8000

static char cfg_a[4096], cfg_b[4096];

/* Appends "name = value;" unless `extra` sets name itself. */
static void dflt(char *out, size_t size, const char *extra, const char *name, const char *value)
{
	char key[64];

	snprintf(key, sizeof(key), "%s =", name);
	if (!extra || !strstr(extra, key))
		snprintf(out + strlen(out), size - strlen(out), " %s = %s;", name, value);
}

static void side_cfg(char *out, size_t size, bool is_a, const char *ike, const char *peer)
{
	char ib[512] = "", pb[1024] = "";

	dflt(ib, sizeof(ib), ike, "retransmit_timeout", "150");
	dflt(ib, sizeof(ib), ike, "retransmit_tries", "3");
	dflt(pb, sizeof(pb), peer, "local_ts", is_a ? "[\"10.1.0.0/16\"]" : "[\"10.2.0.0/16\"]");
	dflt(pb, sizeof(pb), peer, "remote_ts", is_a ? "[\"10.2.0.0/16\"]" : "[\"10.1.0.0/16\"]");
	dflt(pb, sizeof(pb), peer, "dpd", "0");
	dflt(pb, sizeof(pb), peer, "psk", "\"correct horse\"");
	dflt(pb, sizeof(pb), peer, "remote_id", is_a ? "\"fqdn:b.example\"" : "\"fqdn:a.example\"");
	snprintf(out, size,
		 "ike = {\n  local_id = \"fqdn:%s.example\";%s\n  %s\n"
		 "  peers = ( { name = \"%s\"; remote = \"%s\"; local = \"%s\"; auth = \"psk\";\n"
		 "    %s\n    %s } );\n};\n",
		 is_a ? "a" : "b", ib, ike ? ike : "", is_a ? "b" : "a", is_a ? "192.0.2.2" : "any",
		 is_a ? "192.0.2.1" : "192.0.2.2", pb, peer ? peer : "");
}

/* A initiates to B with a PSK; ike_x / peer_x go into the ike block and
 * the peer group of each side, replacing the defaults they name. */
static void make_cfg(const char *ike_a, const char *peer_a, const char *ike_b, const char *peer_b)
{
	side_cfg(cfg_a, sizeof(cfg_a), true, ike_a, peer_a);
	side_cfg(cfg_b, sizeof(cfg_b), false, ike_b, peer_b);
}

static void start(struct pair *p)
{
	char err[256] = "";

	if (pair_init(p, cfg_a, cfg_b, "192.0.2.1", "192.0.2.2", err, sizeof(err))) {
		fprintf(stderr, "pair_init: %s\nA:\n%s\nB:\n%s\n", err, cfg_a, cfg_b);
		fail();
	}
}

static bool both_children(struct pair *p)
{
	return p->s[A].child_up >= 1 && p->s[B].child_up >= 1;
}

static bool both_ike(struct pair *p)
{
	return p->s[A].ike_up >= 1 && p->s[B].ike_up >= 1;
}

static void check_child_pair(struct pair *p)
{
	const struct ike_child_info *a = &p->s[A].last_child, *b = &p->s[B].last_child;

	assert_int_equal(a->spi_out, b->spi_in);
	assert_int_equal(a->spi_in, b->spi_out);
	assert_int_equal(a->enc_key_len, b->enc_key_len);
	assert_true(a->enc_key_len > 0);
	assert_memory_equal(a->enc_out, b->enc_in, a->enc_key_len);
	assert_memory_equal(a->enc_in, b->enc_out, a->enc_key_len);
	assert_memory_not_equal(a->enc_in, a->enc_out, a->enc_key_len);
	assert_int_equal(a->auth_key_len, b->auth_key_len);
	if (a->auth_key_len) {
		assert_memory_equal(a->auth_out, b->auth_in, a->auth_key_len);
		assert_memory_equal(a->auth_in, b->auth_out, a->auth_key_len);
	}
	assert_int_equal(a->xform, b->xform);
	assert_int_equal(a->mode, b->mode);
	assert_int_equal(a->local_ts.n, b->remote_ts.n);
	assert_int_equal(a->remote_ts.n, b->local_ts.n);
	assert_memory_equal(&a->local_ts.ts[0], &b->remote_ts.ts[0], sizeof(struct ike_ts));
}

static void establish(struct pair *p)
{
	assert_int_not_equal(ike_engine_initiate(p->s[A].e, "b"), 0);
	assert_true(pair_run(p, both_children, WAIT_MS));
	assert_int_equal(ike_engine_n_ike(p->s[A].e), 1);
	assert_int_equal(ike_engine_n_ike(p->s[B].e), 1);
	check_child_pair(p);
}

static void test_psk(void **state)
{
	struct pair p;

	(void)state;
	make_cfg(NULL, NULL, NULL, NULL);
	start(&p);
	establish(&p);
	assert_int_equal(p.s[A].last_child.xform, ESP_XFORM_AES_GCM_16);
	assert_int_equal(p.s[A].last_child.mode, SA_MODE_TUNNEL);
	assert_int_equal(pc(&p, A, "ike_established"), 1);
	assert_int_equal(pc(&p, B, "ike_established"), 1);
	assert_int_equal(pc(&p, B, "rx_auth_failed"), 0);
	assert_int_equal(pc(&p, A, "tx_retransmit"), 0);
	/* The identity B authenticated. */
	assert_int_equal(p.s[B].last_child.peer_id->type, IKEV2_ID_FQDN);
	/* The tables. */
	ike_engine_register_tables(p.s[B].e);
	{
		struct table *t = table_find("ike_sa");
		json_t *j;

		assert_non_null(t);
		j = t->dump(t->arg);
		assert_int_equal(json_array_size(j), 1);
		assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "state")),
				    "established");
		assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "peer_id")),
				    "fqdn:a.example");
		json_decref(j);
		t = table_find("child_sa");
		assert_non_null(t);
		j = t->dump(t->arg);
		assert_int_equal(json_array_size(j), 1);
		assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "suite")),
				    "aes128gcm16");
		json_decref(j);
	}
	pair_free(&p);
}

static void test_dh_groups(void **state)
{
	static const char *const props[] = {
		"ike_proposals = [\"aes256-sha256-modp2048\"]; esp_proposals = [\"aes256-sha256\"];",
		"ike_proposals = [\"aes128gcm16-prfsha256-ecp256\"];",
		"ike_proposals = [\"aes256gcm16-prfsha384-curve25519\"]; esp_proposals = [\"chacha20poly1305\"];",
	};
	static const enum esp_xform xf[] = { ESP_XFORM_AES_CBC_HMAC_SHA256, ESP_XFORM_AES_GCM_16,
					     ESP_XFORM_CHACHA20_POLY1305 };

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		struct pair p;

		make_cfg(NULL, props[i], NULL, props[i]);
		start(&p);
		establish(&p);
		assert_int_equal(p.s[A].last_child.xform, xf[i]);
		pair_free(&p);
	}
}

static void test_invalid_ke(void **state)
{
	struct pair p;

	(void)state;
	/* A sends KE for ecp256 first; B only takes curve25519. */
	make_cfg(NULL, "ike_proposals = [\"aes128gcm16-prfsha256-ecp256-curve25519\"];", NULL,
		 "ike_proposals = [\"aes128gcm16-prfsha256-curve25519\"];");
	start(&p);
	establish(&p);
	assert_int_equal(pc(&p, B, "rx_invalid_ke"), 1);
	assert_int_equal(pc(&p, A, "rx_n_invalid_ke"), 1);
	pair_free(&p);
}

static void test_cookie(void **state)
{
	struct pair p;

	(void)state;
	make_cfg(NULL, NULL, "cookie_threshold = 0;", NULL);
	start(&p);
	establish(&p);
	assert_int_equal(pc(&p, B, "tx_cookie"), 1);
	assert_int_equal(pc(&p, A, "rx_n_cookie"), 1);
	assert_int_equal(pc(&p, B, "rx_bad_cookie"), 0);
	pair_free(&p);
}

/* The cookie secret changes while A comes back with its cookie. */
static unsigned rotations;

static bool rotate_on_cookie(struct pair *p, int from, uint8_t *buf, size_t *len, size_t cap,
			     unsigned seq)
{
	struct ikev2_msg m;
	struct wire_error werr;
	const struct ikev2_payload *n;
	struct ikev2_notify v;

	(void)cap;
	(void)seq;
	if (from != B || ikev2_parse(buf, *len, &m, &werr) != WIRE_OK)
		return true;
	n = ikev2_find(&m.chain, IKEV2_PL_NOTIFY);
	if (n && !ikev2_notify_parse(n, &v, &werr) && v.type == IKEV2_N_COOKIE && rotations) {
		for (unsigned i = 0; i < rotations; i++)
			ike_cookie_rotate(p->s[B].e);
		rotations = 0;
	}
	return true;
}

static void test_cookie_rotation(void **state)
{
	struct pair p;

	(void)state;
	/* One rotation: the previous secret still opens the cookie. */
	make_cfg(NULL, NULL, "cookie_threshold = 0;", NULL);
	start(&p);
	rotations = 1;
	p.filter = rotate_on_cookie;
	establish(&p);
	assert_int_equal(pc(&p, B, "rx_bad_cookie"), 0);
	assert_int_equal(pc(&p, B, "tx_cookie"), 1);
	pair_free(&p);
	/* Two: the cookie is stale, B asks again, A comes back again. */
	start(&p);
	rotations = 2;
	p.filter = rotate_on_cookie;
	establish(&p);
	assert_int_equal(pc(&p, B, "rx_bad_cookie"), 1);
	assert_int_equal(pc(&p, B, "tx_cookie"), 2);
	assert_int_equal(pc(&p, A, "rx_n_cookie"), 2);
	pair_free(&p);
}

static void test_cookie_threshold_not_reached(void **state)
{
	struct pair p;

	(void)state;
	make_cfg(NULL, NULL, "cookie_threshold = 1;", NULL);
	start(&p);
	establish(&p);
	assert_int_equal(pc(&p, B, "tx_cookie"), 0);
	pair_free(&p);
}

static void test_fragmentation(void **state)
{
	static const char many_ts[] =
		"local_ts = [\"2001:db8:1::/48\", \"2001:db8:2::/48\", \"2001:db8:3::/48\", "
		"\"2001:db8:4::/48\", \"2001:db8:5::/48\", \"2001:db8:6::/48\", \"2001:db8:7::/48\", "
		"\"2001:db8:8::/48\", \"2001:db8:9::/48\", \"2001:db8:a::/48\", \"2001:db8:b::/48\", "
		"\"2001:db8:c::/48\", \"2001:db8:d::/48\", \"2001:db8:e::/48\", \"2001:db8:f::/48\", "
		"\"10.1.0.0/16\"];";
	static const char many_ts_r[] =
		"remote_ts = [\"2001:db8::/32\", \"10.1.0.0/16\"];";
	char pa[1024], pb[256];
	struct pair p;

	(void)state;
	snprintf(pa, sizeof(pa), "%s", many_ts);
	snprintf(pb, sizeof(pb), "%s", many_ts_r);
	make_cfg("fragment_mtu = 576;", pa, "fragment_mtu = 576;", pb);
	start(&p);
	establish(&p);
	assert_true(pc(&p, A, "frag_tx") >= 2);
	assert_int_equal(pc(&p, B, "frag_reassembled"), 1);
	assert_int_equal(pc(&p, B, "frag_bad"), 0);
	/* B narrowed A's 16 selectors to its 2 allowed ones (15 v6 + 1 v4). */
	assert_int_equal(p.s[B].last_child.remote_ts.n, 16);
	pair_free(&p);
}

/* Drops the first datagram of side `filter_arg` with exchange X. */
struct drop_spec {
	int from;
	uint8_t exchange;
	unsigned count;
	unsigned dropped;
};

static bool drop_filter(struct pair *p, int from, uint8_t *buf, size_t *len, size_t cap,
			unsigned seq)
{
	struct drop_spec *d = p->filter_arg;

	(void)cap;
	(void)seq;
	if (from == d->from && *len >= IKEV2_HDR_LEN && buf[18] == d->exchange &&
	    d->dropped < d->count) {
		d->dropped++;
		return false;
	}
	return true;
}

static void test_retransmit(void **state)
{
	struct drop_spec d = { .from = A, .exchange = IKEV2_IKE_AUTH, .count = 1 };
	struct drop_spec d2 = { .from = B, .exchange = IKEV2_IKE_AUTH, .count = 1 };
	struct pair p;

	(void)state;
	make_cfg(NULL, NULL, NULL, NULL);
	start(&p);
	p.filter = drop_filter;
	p.filter_arg = &d;
	establish(&p);
	assert_int_equal(d.dropped, 1);
	assert_int_equal(pc(&p, A, "tx_retransmit"), 1);
	pair_free(&p);

	/* A lost response: B answers the retransmitted request from its cache. */
	start(&p);
	p.filter = drop_filter;
	p.filter_arg = &d2;
	establish(&p);
	assert_int_equal(pc(&p, B, "rx_retransmit"), 1);
	assert_int_equal(pc(&p, B, "ike_established"), 1);
	pair_free(&p);
}

static bool two_children_each(struct pair *p)
{
	return p->s[A].child_up >= 2 && p->s[B].child_up >= 2;
}

static bool old_child_down(struct pair *p)
{
	return p->s[A].child_down >= 1 && p->s[B].child_down >= 1;
}

static void test_child_rekey(void **state)
{
	struct pair p;
	uint32_t old_a;

	(void)state;
	make_cfg(NULL, NULL, NULL, NULL);
	start(&p);
	establish(&p);
	old_a = p.s[A].last_child.id;
	assert_int_equal(ike_engine_rekey_child(p.s[A].e, old_a), 0);
	assert_true(pair_run(&p, two_children_each, WAIT_MS));
	/* Make before break: the new one is up and names the old one. */
	assert_int_equal(p.s[A].last_child.replaces, old_a);
	assert_int_equal(p.s[A].child_down, 0);
	check_child_pair(&p);
	assert_int_equal(pc(&p, A, "child_rekeyed"), 1);
	assert_int_equal(pc(&p, B, "child_rekeyed"), 1);
	assert_true(pair_run(&p, old_child_down, WAIT_MS));
	assert_int_equal(ike_engine_n_child(p.s[A].e), 1);
	assert_int_equal(ike_engine_n_child(p.s[B].e), 1);
	pair_free(&p);
}

static void test_child_rekey_pfs(void **state)
{
	struct pair p;

	(void)state;
	make_cfg(NULL, "esp_proposals = [\"aes128gcm16-ecp256\"];", NULL,
		 "esp_proposals = [\"aes128gcm16-ecp256\"];");
	start(&p);
	establish(&p);
	assert_int_equal(ike_engine_rekey_child(p.s[B].e, p.s[B].last_child.id), 0);
	assert_true(pair_run(&p, two_children_each, WAIT_MS));
	check_child_pair(&p);
	pair_free(&p);
}

static bool ike_rekeyed(struct pair *p)
{
	return pc(p, A, "ike_rekeyed") >= 1 && pc(p, B, "ike_rekeyed") >= 1 &&
	       p->s[A].ike_down >= 1 && p->s[B].ike_down >= 1;
}

static void test_ike_rekey(void **state)
{
	struct pair p;
	uint32_t old;

	(void)state;
	make_cfg(NULL, NULL, NULL, NULL);
	start(&p);
	establish(&p);
	old = ike_engine_ike_of(p.s[A].e, "b");
	assert_int_equal(ike_engine_rekey_ike(p.s[A].e, old), 0);
	assert_true(pair_run(&p, ike_rekeyed, WAIT_MS));
	/* The new IKE SA keeps the child and can rekey it. */
	assert_int_equal(ike_engine_n_ike(p.s[A].e), 1);
	assert_int_equal(ike_engine_n_ike(p.s[B].e), 1);
	assert_int_equal(ike_engine_n_child(p.s[A].e), 1);
	assert_int_equal(p.s[A].child_down, 0);
	assert_int_not_equal(ike_engine_ike_of(p.s[A].e, "b"), old);
	assert_int_equal(ike_engine_rekey_child(p.s[A].e, p.s[A].last_child.id), 0);
	assert_true(pair_run(&p, two_children_each, WAIT_MS));
	check_child_pair(&p);
	pair_free(&p);
}

static bool both_down(struct pair *p)
{
	return p->s[A].ike_down >= 1 && p->s[B].ike_down >= 1;
}

static void test_delete(void **state)
{
	struct pair p;

	(void)state;
	make_cfg(NULL, NULL, NULL, NULL);
	start(&p);
	establish(&p);
	assert_int_equal(ike_engine_delete_ike(p.s[A].e, ike_engine_ike_of(p.s[A].e, "b")), 0);
	assert_true(pair_run(&p, both_down, WAIT_MS));
	assert_int_equal(p.s[A].child_down, 1);
	assert_int_equal(p.s[B].child_down, 1);
	assert_int_equal(ike_engine_n_ike(p.s[B].e), 0);
	pair_free(&p);
}

static void test_delete_child(void **state)
{
	struct pair p;

	(void)state;
	make_cfg(NULL, NULL, NULL, NULL);
	start(&p);
	establish(&p);
	assert_int_equal(ike_engine_delete_child(p.s[B].e, p.s[B].last_child.id), 0);
	assert_true(pair_run(&p, old_child_down, WAIT_MS));
	assert_int_equal(ike_engine_n_ike(p.s[A].e), 1);
	assert_int_equal(ike_engine_n_child(p.s[A].e), 0);
	pair_free(&p);
}

static bool drop_all_from_b(struct pair *p, int from, uint8_t *buf, size_t *len, size_t cap,
			    unsigned seq)
{
	bool *on = p->filter_arg;

	(void)buf;
	(void)len;
	(void)cap;
	(void)seq;
	return !(*on && from == B);
}

static bool a_down(struct pair *p) { return p->s[A].ike_down >= 1; }

static void test_dpd_dead(void **state)
{
	struct pair p;
	bool silent = false;

	(void)state;
	make_cfg("retransmit_timeout = 50; retransmit_tries = 2;", "dpd = 1;", NULL, NULL);
	start(&p);
	p.filter = drop_all_from_b;
	p.filter_arg = &silent;
	establish(&p);
	silent = true;
	assert_true(pair_run(&p, a_down, WAIT_MS));
	assert_int_equal(pc(&p, A, "dpd_dead"), 1);
	assert_true(pc(&p, A, "dpd_sent") >= 1);
	assert_int_equal(pc(&p, A, "tx_retransmit"), 2);
	assert_int_equal(p.s[A].child_down, 1);
	pair_free(&p);
}

static void test_dpd_alive(void **state)
{
	struct pair p;

	(void)state;
	make_cfg(NULL, "dpd = 1;", NULL, NULL);
	start(&p);
	establish(&p);
	{
		/* Two liveness checks answered, nobody declared dead. */
		bool (*two)(struct pair *) = NULL;

		(void)two;
	}
	assert_false(pair_run(&p, a_down, 2600));
	assert_true(pc(&p, A, "dpd_sent") >= 2);
	assert_int_equal(pc(&p, A, "dpd_dead"), 0);
	pair_free(&p);
}

static bool a_gave_up(struct pair *p)
{
	return p->s[A].ike_down + pc(p, A, "rx_n_error") > 0 && ike_engine_n_ike(p->s[A].e) == 0 &&
	       ike_engine_n_ike(p->s[B].e) == 0 && pc(p, A, "rx_n_error") > 0;
}

static void test_wrong_psk(void **state)
{
	struct pair p;

	(void)state;
	make_cfg(NULL, NULL, NULL, "psk = \"wrong horse\";");
	start(&p);
	assert_int_not_equal(ike_engine_initiate(p.s[A].e, "b"), 0);
	assert_true(pair_run(&p, a_gave_up, WAIT_MS));
	assert_int_equal(pc(&p, B, "rx_auth_failed"), 1);
	assert_int_equal(pc(&p, A, "rx_n_auth_failed"), 1);
	assert_int_equal(p.s[A].child_up + p.s[B].child_up, 0);
	pair_free(&p);
}

static void test_unknown_identity(void **state)
{
	struct pair p;

	(void)state;
	make_cfg(NULL, NULL, NULL, "remote_id = \"fqdn:other.example\";");
	start(&p);
	assert_int_not_equal(ike_engine_initiate(p.s[A].e, "b"), 0);
	assert_true(pair_run(&p, a_gave_up, WAIT_MS));
	assert_int_equal(pc(&p, B, "rx_no_peer"), 1);
	assert_int_equal(pc(&p, A, "rx_n_auth_failed"), 1);
	pair_free(&p);
}

static void test_no_proposal_ike(void **state)
{
	struct pair p;

	(void)state;
	make_cfg(NULL, "ike_proposals = [\"aes128-sha256-ecp256\"];", NULL,
		 "ike_proposals = [\"aes256gcm16-prfsha384-ecp256\"];");
	start(&p);
	assert_int_not_equal(ike_engine_initiate(p.s[A].e, "b"), 0);
	assert_true(pair_run(&p, a_gave_up, WAIT_MS));
	assert_int_equal(pc(&p, B, "rx_no_proposal"), 1);
	assert_int_equal(pc(&p, A, "rx_n_no_proposal"), 1);
	pair_free(&p);
}

static bool ike_up_no_child(struct pair *p)
{
	return both_ike(p) && pc(p, A, "rx_n_error") > 0;
}

static void test_no_proposal_esp(void **state)
{
	struct pair p;

	(void)state;
	make_cfg(NULL, "esp_proposals = [\"aes128-sha256\"];", NULL,
		 "esp_proposals = [\"aes256gcm16\"];");
	start(&p);
	assert_int_not_equal(ike_engine_initiate(p.s[A].e, "b"), 0);
	assert_true(pair_run(&p, ike_up_no_child, WAIT_MS));
	assert_int_equal(pc(&p, B, "rx_no_proposal"), 1);
	assert_int_equal(pc(&p, A, "rx_n_no_proposal"), 1);
	assert_int_equal(p.s[A].child_up + p.s[B].child_up, 0);
	pair_free(&p);
}

static void test_ts_unacceptable(void **state)
{
	struct pair p;

	(void)state;
	make_cfg(NULL, NULL, NULL, "remote_ts = [\"10.9.0.0/16\"];");
	start(&p);
	assert_int_not_equal(ike_engine_initiate(p.s[A].e, "b"), 0);
	assert_true(pair_run(&p, ike_up_no_child, WAIT_MS));
	assert_int_equal(pc(&p, B, "rx_ts_unacceptable"), 1);
	assert_int_equal(pc(&p, A, "rx_n_ts_unacceptable"), 1);
	pair_free(&p);
}

static void test_ts_narrowing_pad(void **state)
{
	struct pair p;
	char err[128];

	(void)state;
	make_cfg(NULL, NULL, NULL, NULL);
	start(&p);
	/* The PAD lets A use only 10.1.7.0/24 of its 10.1.0.0/16. */
	p.s[B].pad_set = true;
	p.s[B].pad.n = 1;
	assert_int_equal(ike_ts_parse("10.1.7.0/24[tcp/80]", &p.s[B].pad.ts[0], err, sizeof(err)), 0);
	establish(&p);
	assert_int_equal(p.s[A].last_child.local_ts.n, 1);
	assert_int_equal(p.s[A].last_child.local_ts.ts[0].proto, 6);
	assert_int_equal(p.s[A].last_child.local_ts.ts[0].sport, 80);
	assert_int_equal(p.s[A].last_child.local_ts.ts[0].start.bytes[2], 7);
	assert_int_equal(p.s[A].last_child.local_ts.ts[0].end.bytes[3], 255);
	pair_free(&p);
}

static void test_transport_mh(void **state)
{
	struct pair p;

	(void)state;
	/* RFC 4877: BU (MH type 5) from the MN's home address, transport mode. */
	make_cfg(NULL,
		 "mode = \"transport\"; local_ts = [\"2001:db8::10/128[mh/5]\"]; remote_ts = [\"2001:db8::1/128[mh]\"];",
		 NULL,
		 "mode = \"transport\"; local_ts = [\"2001:db8::1/128[mh]\"]; remote_ts = [\"2001:db8::/64[mh]\"];");
	start(&p);
	establish(&p);
	assert_int_equal(p.s[B].last_child.mode, SA_MODE_TRANSPORT);
	assert_int_equal(p.s[B].last_child.remote_ts.ts[0].proto, 135);
	assert_int_equal(p.s[B].last_child.remote_ts.ts[0].sport, 5 << 8);
	pair_free(&p);
}

static bool mn_ha_up(struct pair *p)
{
	return ike_engine_n_child(p->s[A].e) == 2 && ike_engine_n_child(p->s[B].e) == 2 &&
	       p->s[A].child_up == 2 && p->s[B].child_up == 2;
}

static bool three_up(struct pair *p) { return p->s[A].child_up >= 3 && p->s[B].child_up >= 3; }

/* RFC 4877 between a mobile node (A, home address 2001:db8:8::10) and its
 * home agent (B): a transport-mode child for BU/BA (MH types 5 and 6) in
 * IKE_AUTH, a tunnel-mode child for the home address's traffic with
 * CREATE_CHILD_SA. Then the tunnel child is rekeyed on its own. */
static void test_mn_ha_children(void **state)
{
	static const char mn[] =
		"children = ( { name = \"bu\"; mode = \"transport\";\n"
		"      local_ts = [\"2001:db8:8::10/128[mh/5]\"]; remote_ts = [\"2001:db8:8::1/128[mh/6]\"]; },\n"
		"    { name = \"tunnel\"; mode = \"tunnel\"; local_ts = [\"2001:db8:8::10/128\"];\n"
		"      remote_ts = [\"::/0\"]; esp_proposals = [\"aes256gcm16\"]; } );";
	static const char ha[] =
		"children = ( { name = \"tunnel\"; mode = \"tunnel\"; local_ts = [\"::/0\"];\n"
		"      remote_ts = [\"2001:db8:8::/64\"]; esp_proposals = [\"aes256gcm16\"]; },\n"
		"    { name = \"bu\"; mode = \"transport\"; local_ts = [\"2001:db8:8::1/128[mh]\"];\n"
		"      remote_ts = [\"2001:db8:8::/64[mh]\"]; } );";
	struct pair p;
	uint32_t tunnel_a = 0;

	(void)state;
	make_cfg(NULL, mn, NULL, ha);
	start(&p);
	assert_int_not_equal(ike_engine_initiate(p.s[A].e, "b"), 0);
	assert_true(pair_run(&p, mn_ha_up, WAIT_MS));
	/* The last one up is the tunnel (CREATE_CHILD_SA after IKE_AUTH). */
	assert_string_equal(p.s[A].last_child.policy, "tunnel");
	assert_string_equal(p.s[B].last_child.policy, "tunnel");
	assert_int_equal(p.s[A].last_child.mode, SA_MODE_TUNNEL);
	assert_int_equal(p.s[A].last_child.enc_key_len, 36);
	check_child_pair(&p);
	tunnel_a = p.s[A].last_child.id;
	assert_int_equal(pc(&p, B, "child_established"), 2);
	assert_int_equal(pc(&p, B, "rx_no_proposal") + pc(&p, B, "rx_ts_unacceptable"), 0);
	assert_int_equal(ike_engine_rekey_child(p.s[A].e, tunnel_a), 0);
	assert_true(pair_run(&p, three_up, WAIT_MS));
	assert_int_equal(p.s[A].last_child.replaces, tunnel_a);
	assert_string_equal(p.s[A].last_child.policy, "tunnel");
	assert_int_equal(p.s[A].last_child.mode, SA_MODE_TUNNEL);
	check_child_pair(&p);
	pair_free(&p);
}

static void test_mode_mismatch(void **state)
{
	struct pair p;

	(void)state;
	make_cfg(NULL, "mode = \"transport\";", NULL, NULL);
	start(&p);
	assert_int_not_equal(ike_engine_initiate(p.s[A].e, "b"), 0);
	assert_true(pair_run(&p, ike_up_no_child, WAIT_MS));
	assert_int_equal(pc(&p, A, "rx_n_no_proposal"), 1);
	pair_free(&p);
}

static bool settled(struct pair *p)
{
	return ike_engine_n_child(p->s[A].e) == 1 && ike_engine_n_child(p->s[B].e) == 1 &&
	       p->s[A].child_up >= 2 && p->s[B].child_up >= 2 && p->s[A].child_down >= 2 &&
	       p->s[B].child_down >= 2;
}

/* §2.8.1: both ends rekey the same child at once; one new child stays. */
static void test_simultaneous_child_rekey(void **state)
{
	struct pair p;

	(void)state;
	make_cfg(NULL, NULL, NULL, NULL);
	start(&p);
	establish(&p);
	assert_int_equal(ike_engine_rekey_child(p.s[A].e, p.s[A].last_child.id), 0);
	assert_int_equal(ike_engine_rekey_child(p.s[B].e, p.s[B].last_child.id), 0);
	assert_true(pair_run(&p, settled, WAIT_MS));
	assert_int_equal(pc(&p, A, "rekey_collision"), 1);
	assert_int_equal(pc(&p, B, "rekey_collision"), 1);
	/* Both installed both new children; the redundant one was deleted. */
	assert_int_equal(p.s[A].child_up, 3);
	assert_int_equal(p.s[B].child_up, 3);
	pair_free(&p);
}

static bool ike_settled(struct pair *p)
{
	return pc(p, A, "ike_rekeyed") >= 1 && pc(p, B, "ike_rekeyed") >= 1 &&
	       ike_engine_n_ike(p->s[A].e) == 1 && ike_engine_n_ike(p->s[B].e) == 1 &&
	       p->s[A].ike_down >= 1 && p->s[B].ike_down >= 1;
}

static void test_simultaneous_ike_rekey(void **state)
{
	struct pair p;

	(void)state;
	make_cfg(NULL, NULL, NULL, NULL);
	start(&p);
	establish(&p);
	assert_int_equal(ike_engine_rekey_ike(p.s[A].e, ike_engine_ike_of(p.s[A].e, "b")), 0);
	assert_int_equal(ike_engine_rekey_ike(p.s[B].e, ike_engine_ike_of(p.s[B].e, "a")), 0);
	assert_true(pair_run(&p, ike_settled, WAIT_MS));
	assert_int_equal(pc(&p, A, "rekey_collision"), 1);
	/* The survivor works: a child rekey over it. */
	assert_int_equal(ike_engine_n_child(p.s[A].e), 1);
	assert_int_equal(ike_engine_rekey_child(p.s[A].e, p.s[A].last_child.id), 0);
	assert_true(pair_run(&p, two_children_each, WAIT_MS));
	check_child_pair(&p);
	assert_int_equal(p.s[A].child_down, 0);
	pair_free(&p);
}

static bool a_kept_alive_twice(struct pair *p)
{
	return p->s[A].keepalives >= 2;
}

/* A behind a NAT: both detect it, IKE moves to 4500, ESP is UDP-encapsulated. */
static void test_nat(void **state)
{
	struct pair p;

	(void)state;
	make_cfg(NULL, NULL, NULL, NULL);
	start(&p);
	p.nat_on[A] = true;
	ip_addr_parse("198.51.100.7", AF_INET, &p.nat[A]);
	p.nat_port[A] = 40000;
	p.s[A].cfg.natt_keepalive = 1;
	p.s[B].cfg.natt_keepalive = 1;
	establish(&p);
	assert_int_equal(pc(&p, A, "nat_detected"), 1);
	assert_int_equal(pc(&p, B, "nat_detected"), 1);
	assert_true(p.s[A].last_child.nat_local);
	assert_true(p.s[B].last_child.nat_remote);
	assert_true(p.s[A].last_child.encap);
	assert_true(p.s[B].last_child.encap);
	assert_int_equal(p.s[A].last_child.path.rport, 4500);
	assert_int_equal(p.s[B].last_child.path.rport, 40001);
	assert_true(ip_addr_eq(&p.s[B].last_child.path.remote, &p.nat[A]));
	/* RFC 3948 §2.3: only the side behind the NAT keeps it open, to 4500,
	 * every natt_keepalive seconds. */
	assert_true(pair_run(&p, a_kept_alive_twice, 5000));
	assert_int_equal(p.s[A].last_keepalive.rport, 4500);
	assert_int_equal(p.s[A].last_keepalive.lport, 4500);
	assert_int_equal(p.s[B].keepalives, 0);
	/* The NAT mapping changes: B follows the next authenticated request. */
	p.nat_port[A] = 41000;
	assert_int_equal(ike_engine_rekey_child(p.s[A].e, p.s[A].last_child.id), 0);
	assert_true(pair_run(&p, two_children_each, WAIT_MS));
	assert_int_equal(pc(&p, B, "path_updated"), 1);
	assert_int_equal(p.s[B].last_child.path.rport, 41001);
	pair_free(&p);
}

static bool b_has_second(struct pair *p)
{
	return p->s[B].ike_up >= 2 && p->s[B].ike_down >= 1 && p->s[A].child_up >= 1;
}

/* A restarts (its state lost) and connects again: INITIAL_CONTACT makes
 * B drop the SAs of the previous incarnation. */
static void test_initial_contact(void **state)
{
	struct pair p;
	char err[256];

	(void)state;
	make_cfg(NULL, NULL, NULL, NULL);
	start(&p);
	establish(&p);
	ike_engine_free(p.s[A].e);
	p.s[A].child_up = 0;
	p.s[A].e = ike_engine_new(p.loop, &p.s[A].cfg, &p.s[A].ops, &p.s[A], "a2", err, sizeof(err));
	assert_non_null(p.s[A].e);
	assert_int_not_equal(ike_engine_initiate(p.s[A].e, "b"), 0);
	assert_true(pair_run(&p, b_has_second, WAIT_MS));
	assert_int_equal(ike_engine_n_ike(p.s[B].e), 1);
	assert_int_equal(ike_engine_n_child(p.s[B].e), 1);
	assert_int_equal(p.s[B].child_down, 1);
	pair_free(&p);
}

/* ---- bad input straight into the responder ------------------------------------- */

static uint8_t last_b[4096];
static size_t last_b_len;

static bool record_b(struct pair *p, int from, uint8_t *buf, size_t *len, size_t cap,
		     unsigned seq)
{
	(void)p;
	(void)cap;
	(void)seq;
	if (from == B && *len <= sizeof(last_b)) {
		memcpy(last_b, buf, *len);
		last_b_len = *len;
	}
	return true;
}

static uint16_t notify_of_last_b(void)
{
	struct ikev2_msg m;
	struct wire_error werr;
	const struct ikev2_payload *n;
	struct ikev2_notify v;

	if (!last_b_len || ikev2_parse(last_b, last_b_len, &m, &werr) != WIRE_OK)
		return 0;
	/* The first error notify (types below 16384). */
	for (size_t i = 0; i < m.chain.n; i++) {
		n = &m.chain.pl[i];
		if (n->type == IKEV2_PL_NOTIFY && ikev2_notify_parse(n, &v, &werr) == WIRE_OK &&
		    v.type < 16384)
			return v.type;
	}
	return 0;
}

/* Input as A would send it, on the path from A to B. */
static void inject(struct pair *p, uint8_t *msg, size_t len)
{
	struct ike_path path = { .local = p->s[B].addr, .remote = p->s[A].addr,
				 .lport = 500, .rport = 500 };

	last_b_len = 0;
	ike_engine_input(p->s[B].e, &path, msg, len);
}

/* A valid IKE_SA_INIT request of A, captured on its way. */
static uint8_t init_req[2048];
static size_t init_req_len;

static bool capture_init(struct pair *p, int from, uint8_t *buf, size_t *len, size_t cap,
			 unsigned seq)
{
	(void)p;
	(void)cap;
	(void)seq;
	if (from == A && buf[18] == IKEV2_IKE_SA_INIT && !init_req_len) {
		memcpy(init_req, buf, *len);
		init_req_len = *len;
		return false;
	}
	return record_b(p, from, buf, len, cap, seq);
}

static void test_bad_init(void **state)
{
	struct pair p;
	uint8_t m[2048];
	size_t off;

	(void)state;
	make_cfg(NULL, NULL, NULL, NULL);
	start(&p);
	init_req_len = 0;
	p.filter = capture_init;
	ike_engine_initiate(p.s[A].e, "b");
	assert_true(init_req_len > IKEV2_HDR_LEN);

	/* Truncated SA payload (its length overruns the message). */
	memcpy(m, init_req, init_req_len);
	put_be16(m + IKEV2_HDR_LEN + 2, 3000);
	inject(&p, m, init_req_len);
	assert_int_equal(pc(&p, B, "rx_malformed"), 1);
	assert_int_equal(notify_of_last_b(), IKEV2_N_INVALID_SYNTAX);

	/* Unknown payload type 200 with the critical bit, first in the chain. */
	memcpy(m, init_req, IKEV2_HDR_LEN);
	off = IKEV2_HDR_LEN;
	m[16] = 200;
	m[off] = init_req[16];
	m[off + 1] = 0x80;
	put_be16(m + off + 2, 8);
	memset(m + off + 4, 0, 4);
	memcpy(m + off + 8, init_req + IKEV2_HDR_LEN, init_req_len - IKEV2_HDR_LEN);
	put_be32(m + 24, (uint32_t)(init_req_len + 8));
	inject(&p, m, init_req_len + 8);
	assert_int_equal(pc(&p, B, "rx_unsupported_critical"), 1);
	assert_int_equal(notify_of_last_b(), IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD);

	/* The same without the critical bit: skipped, the SA is answered. */
	m[off + 1] = 0;
	inject(&p, m, init_req_len + 8);
	assert_int_equal(notify_of_last_b(), 0);
	assert_true(last_b_len > 100);

	/* Major version 3. */
	memcpy(m, init_req, init_req_len);
	m[17] = 0x30;
	inject(&p, m, init_req_len);
	assert_int_equal(pc(&p, B, "rx_bad_version"), 1);
	assert_int_equal(notify_of_last_b(), IKEV2_N_INVALID_MAJOR_VERSION);

	/* No KE payload: the SA payload's next is Nonce (KE skipped). */
	{
		struct ikev2_msg pm;
		struct wire_error werr;
		const struct ikev2_payload *ke;
		size_t kl;

		assert_int_equal(ikev2_parse(init_req, init_req_len, &pm, &werr), WIRE_OK);
		ke = ikev2_find(&pm.chain, IKEV2_PL_KE);
		assert_non_null(ke);
		kl = IKEV2_GEN_LEN + ke->body_len;
		memcpy(m, init_req, ke->offset);
		m[0] ^= 0x5a;	/* another initiator SPI: not a retransmission */
		memcpy(m + ke->offset, init_req + ke->offset + kl, init_req_len - ke->offset - kl);
		/* The SA payload (first) now points past KE. */
		m[IKEV2_HDR_LEN] = ke->next;
		put_be32(m + 24, (uint32_t)(init_req_len - kl));
		inject(&p, m, init_req_len - kl);
		assert_int_equal(pc(&p, B, "rx_invalid_syntax"), 1);
		assert_int_equal(notify_of_last_b(), IKEV2_N_INVALID_SYNTAX);
	}

	/* An INFORMATIONAL for an IKE SA B never had. */
	memcpy(m, init_req, IKEV2_HDR_LEN);
	m[8] = 0x55;
	m[16] = 0;
	m[18] = IKEV2_INFORMATIONAL;
	put_be32(m + 20, 1);
	put_be32(m + 24, IKEV2_HDR_LEN);
	inject(&p, m, IKEV2_HDR_LEN);
	assert_int_equal(pc(&p, B, "rx_invalid_spi"), 1);
	assert_int_equal(notify_of_last_b(), IKEV2_N_INVALID_IKE_SPI);

	/* Shorter than a header. */
	memset(m, 0xff, 40);
	inject(&p, m, 10);
	assert_int_equal(pc(&p, B, "rx_malformed"), 2);
	pair_free(&p);
}

/* Flips a bit in the first IKE_AUTH request: B must drop it silently
 * (integrity), A retransmits, the SA comes up. */
static bool corrupt_auth(struct pair *p, int from, uint8_t *buf, size_t *len, size_t cap,
			 unsigned seq)
{
	unsigned *done = p->filter_arg;

	(void)cap;
	(void)seq;
	if (from == A && buf[18] == IKEV2_IKE_AUTH && !*done) {
		buf[*len - 1] ^= 1;
		(*done)++;
	}
	return true;
}

static void test_bad_icv(void **state)
{
	struct pair p;
	unsigned done = 0;

	(void)state;
	make_cfg(NULL, NULL, NULL, NULL);
	start(&p);
	p.filter = corrupt_auth;
	p.filter_arg = &done;
	establish(&p);
	assert_int_equal(pc(&p, B, "rx_decrypt_fail"), 1);
	assert_int_equal(pc(&p, A, "tx_retransmit"), 1);
	pair_free(&p);
}

static void test_update_path(void **state)
{
	struct pair p;
	struct ip_addr coa;

	(void)state;
	make_cfg(NULL, NULL, NULL, NULL);
	start(&p);
	establish(&p);
	ip_addr_parse("192.0.2.77", AF_INET, &coa);
	assert_int_equal(ike_engine_update_path(p.s[A].e, ike_engine_ike_of(p.s[A].e, "b"), &coa), 0);
	assert_int_equal(p.s[A].moved, 1);
	assert_true(ip_addr_eq(&p.s[A].last_child.path.local, &coa));
	pair_free(&p);
}

/* ---- bad inner payloads: A's real IKE SA carries what the test wrote --------- */

static bool drop_first_auth(struct pair *p, int from, uint8_t *buf, size_t *len, size_t cap,
			    unsigned seq)
{
	bool *dropped = p->filter_arg;

	(void)len;
	(void)cap;
	(void)seq;
	if (from == A && buf[18] == IKEV2_IKE_AUTH && !*dropped) {
		*dropped = true;
		return false;
	}
	return true;
}

static bool a_auth_sent(struct pair *p)
{
	struct ike_sa *sa = ike_sa_by_id(p->s[A].e, 1);

	return sa && sa->state == IKE_ST_AUTH_SENT && *(bool *)p->filter_arg;
}

static bool a_closed_sa(struct pair *p) { return ike_engine_n_ike(p->s[A].e) == 0 &&
						 !ike_sa_by_id(p->s[A].e, 1); }

/* A's IKE_AUTH request replaced by the inner chain `in` (first payload
 * `first`), protected with A's real keys; waits for A to give up. */
static void auth_inject(struct pair *p, uint8_t first, const uint8_t *in, size_t n)
{
	bool dropped = false;
	struct ike_sa *sa;

	p->filter = drop_first_auth;
	p->filter_arg = &dropped;
	assert_int_not_equal(ike_engine_initiate(p->s[A].e, "b"), 0);
	assert_true(pair_run(p, a_auth_sent, WAIT_MS));
	sa = ike_sa_by_id(p->s[A].e, 1);
	assert_int_equal(ike_msg_protect(sa, IKEV2_IKE_AUTH, false, 1, first, in, n, &sa->req), 0);
	ike_sa_send_req(sa, IKE_T_AUTH);
	assert_true(pair_run(p, a_closed_sa, WAIT_MS));
}

static void test_auth_critical_inner(void **state)
{
	/* IDi, then an unknown payload type 99 with the critical bit. */
	static const uint8_t in[] = { 99, 0, 0, 17, IKEV2_ID_FQDN, 0, 0, 0,
				      'a', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e',
				      0, 0x80, 0, 8, 0, 0, 0, 0 };
	struct pair p;

	(void)state;
	make_cfg(NULL, NULL, NULL, NULL);
	start(&p);
	auth_inject(&p, IKEV2_PL_IDI, in, sizeof(in));
	assert_int_equal(pc(&p, B, "rx_unsupported_critical"), 1);
	assert_int_equal(pc(&p, A, "rx_n_unsupported_critical"), 1);
	assert_int_equal(p.s[B].ike_up, 0);
	pair_free(&p);
}

static void test_auth_missing_idi(void **state)
{
	/* AUTH alone. */
	static const uint8_t in[] = { 0, 0, 0, 12, 2, 0, 0, 0, 1, 2, 3, 4 };
	struct pair p;

	(void)state;
	make_cfg(NULL, NULL, NULL, NULL);
	start(&p);
	auth_inject(&p, IKEV2_PL_AUTH, in, sizeof(in));
	assert_int_equal(pc(&p, B, "rx_invalid_syntax"), 1);
	assert_int_equal(pc(&p, A, "rx_n_invalid_syntax"), 1);
	pair_free(&p);
}

/* Every payload type, one octet long: B answers INVALID_SYNTAX. */
static void test_auth_malformed_each_type(void **state)
{
	static const uint8_t types[] = { IKEV2_PL_SA, IKEV2_PL_KE, IKEV2_PL_IDI, IKEV2_PL_IDR,
					 IKEV2_PL_CERT, IKEV2_PL_CERTREQ, IKEV2_PL_AUTH,
					 IKEV2_PL_NONCE, IKEV2_PL_NOTIFY, IKEV2_PL_DELETE,
					 IKEV2_PL_TSI, IKEV2_PL_TSR, IKEV2_PL_CP, IKEV2_PL_EAP };
	unsigned tested = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(types); i++) {
		uint8_t in[] = { 0, 0, 0, 5, 0 };
		struct ikev2_chain c;
		struct wire_error werr;
		struct pair p;

		if (ikev2_chain_parse(types[i], in, sizeof(in), 0, &c, &werr) == WIRE_OK)
			continue;	/* one octet is a valid body of this type */
		make_cfg(NULL, NULL, NULL, NULL);
		start(&p);
		auth_inject(&p, types[i], in, sizeof(in));
		if (pc(&p, B, "rx_malformed") != 1 || pc(&p, A, "rx_n_invalid_syntax") != 1)
			fprintf(stderr, "payload type %u not refused as malformed\n", types[i]);
		assert_int_equal(pc(&p, B, "rx_malformed"), 1);
		assert_int_equal(pc(&p, A, "rx_n_invalid_syntax"), 1);
		pair_free(&p);
		tested++;
	}
	assert_true(tested >= 10);
}

static bool b_expired(struct pair *p) { return pc(p, B, "half_open_expired") >= 1; }

/* A half-open SA (IKE_AUTH never arrives) goes after half_open_timeout. */
static void test_half_open_expiry(void **state)
{
	struct drop_spec d = { .from = A, .exchange = IKEV2_IKE_AUTH, .count = 100 };
	struct pair p;

	(void)state;
	make_cfg("retransmit_timeout = 2000;", NULL, "half_open_timeout = 1;", NULL);
	start(&p);
	p.filter = drop_filter;
	p.filter_arg = &d;
	assert_int_not_equal(ike_engine_initiate(p.s[A].e, "b"), 0);
	assert_true(pair_run(&p, b_expired, 4000));
	assert_int_equal(ike_engine_n_ike(p.s[B].e), 0);
	assert_int_equal(p.s[B].ike_up, 0);
	pair_free(&p);
}

static bool b_bad_mid(struct pair *p) { return pc(p, B, "rx_bad_mid") >= 1; }

/* A request far ahead of the window is dropped and counted; the SA lives. */
static void test_message_id_window(void **state)
{
	struct pair p;
	struct ike_sa *sa;
	struct ike_out o = { 0 };

	(void)state;
	make_cfg(NULL, NULL, NULL, NULL);
	start(&p);
	establish(&p);
	sa = ike_sa_by_id(p.s[A].e, ike_engine_ike_of(p.s[A].e, "b"));
	assert_non_null(sa);
	assert_int_equal(ike_msg_protect(sa, IKEV2_INFORMATIONAL, false, sa->tx_mid + 5,
					 IKEV2_PL_NONE, (const uint8_t *)"", 0, &o), 0);
	ike_sa_send_out(sa, &o);
	ike_out_clear(&o);
	assert_true(pair_run(&p, b_bad_mid, WAIT_MS));
	assert_int_equal(ike_engine_n_ike(p.s[B].e), 1);
	/* The window still works: a DELETE goes through. */
	assert_int_equal(ike_engine_delete_ike(p.s[A].e, ike_engine_ike_of(p.s[A].e, "b")), 0);
	assert_true(pair_run(&p, both_down, WAIT_MS));
	pair_free(&p);
}

static bool timers_rekeyed(struct pair *p)
{
	return pc(p, A, "child_rekeyed") >= 1 && pc(p, B, "child_rekeyed") >= 1 &&
	       pc(p, A, "ike_rekeyed") >= 1 && pc(p, B, "ike_rekeyed") >= 1;
}

/* The lifetimes drive the rekeys (jitter: at most 10 % early). */
static void test_rekey_timers(void **state)
{
	struct pair p;
	uint64_t t0 = mono_ms();

	(void)state;
	make_cfg(NULL, "child_rekey_time = 1; rekey_time = 2;", NULL,
		 "child_rekey_time = 0; rekey_time = 0;");
	start(&p);
	establish(&p);
	assert_true(pair_run(&p, timers_rekeyed, 6000));
	assert_true(mono_ms() - t0 >= 1800);
	check_child_pair(&p);
	pair_free(&p);
}

/* ---- configuration ----------------------------------------------------------------- */

static void expect_cfg_error(const char *text, const char *needle)
{
	struct ike_config c;
	char err[512] = "";

	assert_int_equal(pair_config(&c, text, err, sizeof(err)), -1);
	if (!strstr(err, needle)) {
		fprintf(stderr, "want '%s' in '%s'\n", needle, err);
		fail();
	}
	ike_config_free(&c);
}

static void test_config(void **state)
{
	(void)state;
	expect_cfg_error("ike = { peers = ( { name = \"x\"; auth = \"psk\"; psk = \"k\"; remote_id = \"fqdn:x\";\n"
			 "  ike_proposals = [\"aes128-foo\"]; } ); };",
			 ":2: setting 'ike.peers[0].ike_proposals[0]': proposal 'aes128-foo': unknown algorithm 'foo'");
	expect_cfg_error("ike = { peers = ( { name = \"x\"; auth = \"psk\"; psk = \"k\"; remote_id = \"fqdn:x\";\n"
			 "  esp_proposals = [\"aes128gcm16-sha256\"]; } ); };",
			 "an AEAD cipher takes no integrity algorithm");
	expect_cfg_error("ike = { peers = ( { name = \"x\"; auth = \"psk\"; psk = \"k\"; } ); };",
			 "auth = \"psk\" needs a remote_id");
	expect_cfg_error("ike = { peers = ( { name = \"x\"; auth = \"pubkey\"; } ); };",
			 "needs 'ca' in the ike block");
	expect_cfg_error("ike = { peers = ( { name = \"x\"; auth = \"psk\"; psk = \"k\"; remote_id = \"fqdn:x\";\n"
			 "  local_ts = [\"10.0.0.0/8[tcp/99999]\"]; } ); };",
			 "bad port '99999'");
	expect_cfg_error("ike = { fragment_mtu = 100; peers = (); };", "fragment_mtu");
	expect_cfg_error("ike = { peers = ( { name = \"x\"; auth = \"psk\"; psk = \"k\"; remote_id = \"fqdn:x\"; mode = \"tunnle\"; } ); };",
			 "must be \"tunnel\" or \"transport\"");
	expect_cfg_error("ike = { peers = ( { name = \"x\"; auth = \"psk\"; psk = \"k\"; remote_id = \"fqdn:x\"; initiate = true; } ); };",
			 "initiate = true needs a remote address");
	expect_cfg_error("ike = { bogus = 1; peers = (); };", "bogus");
	expect_cfg_error("ike = { peers = ( { name = \"x\"; auth = \"psk\"; psk = \"k\"; remote_id = \"fqdn:x\";\n"
			 "  remote = \"10.0.0.1\"; local = \"2001:db8::1\"; } ); };",
			 ":2: setting 'ike.peers[0].local': '2001:db8::1' is not of the family of remote");
	expect_cfg_error("ike = { peers = ( { name = \"x\"; auth = \"psk\"; psk = \"k\"; remote_id = \"fqdn:x\";\n"
			 "  children = ( { name = \"c\"; }, { name = \"c\"; mode = \"tunnel\"; } ); } ); };",
			 ":2: setting 'ike.peers[0].children[1].name': child 'c' defined twice");
	expect_cfg_error("ike = { peers = ( { name = \"x\"; auth = \"psk\"; psk = \"k\"; remote_id = \"fqdn:x\";\n"
			 "  children = ( { name = \"c\"; local_ts = [\"10.0.0.0/33\"]; } ); } ); };",
			 "setting 'ike.peers[0].children[0].local_ts[0]'");
}

static void test_ids(void **state)
{
	struct ike_id id;
	char err[128], buf[300];

	(void)state;
	assert_int_equal(ike_id_parse("ipv6:2001:db8::1", &id, err, sizeof(err)), 0);
	assert_int_equal(id.type, IKEV2_ID_IPV6_ADDR);
	assert_int_equal(id.len, 16);
	assert_string_equal(ike_id_fmt(&id, buf, sizeof(buf)), "ipv6:2001:db8::1");
	assert_int_equal(ike_id_parse("dn:CN=gw1.example, O=mipsec", &id, err, sizeof(err)), 0);
	assert_int_equal(id.type, IKEV2_ID_DER_ASN1_DN);
	assert_string_equal(ike_id_fmt(&id, buf, sizeof(buf)), "dn:/CN=gw1.example/O=mipsec");
	assert_int_equal(ike_id_parse("gw1.example", &id, err, sizeof(err)), 0);
	assert_int_equal(id.type, IKEV2_ID_FQDN);
	assert_int_equal(ike_id_parse("10.0.0.1", &id, err, sizeof(err)), 0);
	assert_int_equal(id.type, IKEV2_ID_IPV4_ADDR);
	assert_int_equal(ike_id_parse("ipv6:10.0.0.1", &id, err, sizeof(err)), -1);
	assert_int_equal(ike_id_parse("dn:CN", &id, err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_psk),
		cmocka_unit_test(test_dh_groups),
		cmocka_unit_test(test_invalid_ke),
		cmocka_unit_test(test_cookie),
		cmocka_unit_test(test_cookie_rotation),
		cmocka_unit_test(test_cookie_threshold_not_reached),
		cmocka_unit_test(test_fragmentation),
		cmocka_unit_test(test_retransmit),
		cmocka_unit_test(test_child_rekey),
		cmocka_unit_test(test_child_rekey_pfs),
		cmocka_unit_test(test_ike_rekey),
		cmocka_unit_test(test_delete),
		cmocka_unit_test(test_delete_child),
		cmocka_unit_test(test_dpd_dead),
		cmocka_unit_test(test_dpd_alive),
		cmocka_unit_test(test_wrong_psk),
		cmocka_unit_test(test_unknown_identity),
		cmocka_unit_test(test_no_proposal_ike),
		cmocka_unit_test(test_no_proposal_esp),
		cmocka_unit_test(test_ts_unacceptable),
		cmocka_unit_test(test_ts_narrowing_pad),
		cmocka_unit_test(test_transport_mh),
		cmocka_unit_test(test_mn_ha_children),
		cmocka_unit_test(test_mode_mismatch),
		cmocka_unit_test(test_simultaneous_child_rekey),
		cmocka_unit_test(test_simultaneous_ike_rekey),
		cmocka_unit_test(test_nat),
		cmocka_unit_test(test_initial_contact),
		cmocka_unit_test(test_bad_init),
		cmocka_unit_test(test_bad_icv),
		cmocka_unit_test(test_half_open_expiry),
		cmocka_unit_test(test_message_id_window),
		cmocka_unit_test(test_rekey_timers),
		cmocka_unit_test(test_auth_critical_inner),
		cmocka_unit_test(test_auth_missing_idi),
		cmocka_unit_test(test_auth_malformed_each_type),
		cmocka_unit_test(test_update_path),
	};

	log_init("test_ike_engine", getenv("IKE_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_ERR, false);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
