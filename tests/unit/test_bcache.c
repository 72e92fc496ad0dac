#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "core/stats.h"
#include "core/table.h"
#include "mip6/bcache.h"
#include "mip6/seq.h"

/* ---- helpers ---- */

static void rnd(void *p, size_t n)
{
	assert_int_equal(getrandom(p, n, 0), (ssize_t)n);
}

static struct in6_addr hoa_n(uint32_t n)
{
	struct in6_addr a;

	inet_pton(AF_INET6, "2001:db8:1::", &a);
	a.s6_addr[12] = (uint8_t)(n >> 24);
	a.s6_addr[13] = (uint8_t)(n >> 16);
	a.s6_addr[14] = (uint8_t)(n >> 8);
	a.s6_addr[15] = (uint8_t)n;
	return a;
}

static struct bce_update upd(struct in6_addr hoa, uint16_t seq, uint32_t lifetime)
{
	struct bce_update u = { .hoa = hoa, .seq = seq, .lifetime_s = lifetime,
				.flags = BCE_F_A | BCE_F_H, .peer = BCE_PEER_NONE };

	u.coa.family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8:ff::7", &u.coa.v6);
	return u;
}

static uint64_t counter_value(const char *name, const char *label)
{
	for (struct counter *c = counter_first(); c; c = c->next)
		if (strcmp(c->name, name) == 0 && c->label && strcmp(c->label, label) == 0)
			return c->value;
	fail_msg("counter %s{%s} not registered", name, label);
	return 0;
}

/* ---- sequence numbers (RFC 6275 §9.5.1) ---- */

/* Reference: mark the last value and the 32768 before it as "<=". */
static void check_seq_against_reference(uint16_t last)
{
	static bool le[65536];

	memset(le, 0, sizeof(le));
	for (uint32_t k = 0; k <= 32768u; k++)
		le[(uint16_t)(last - k)] = true;
	for (uint32_t r = 0; r < 65536u; r++) {
		if (seq_le((uint16_t)r, last) != le[r])
			fail_msg("seq_le(%u, %u) wrong", r, last);
		if (seq_newer((uint16_t)r, last) == le[r])
			fail_msg("seq_newer(%u, %u) wrong", r, last);
		if ((seq_diff((uint16_t)r, last) <= 0) != le[r])
			fail_msg("seq_diff(%u, %u) sign wrong", r, last);
	}
}

static void test_seq_wrap(void **state)
{
	static const uint16_t edges[] = { 0, 1, 15, 32766, 32767, 32768, 32769, 65534, 65535 };

	(void)state;
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
		check_seq_against_reference(edges[i]);
	for (int i = 0; i < 32; i++) {
		uint16_t last;

		rnd(&last, sizeof(last));
		check_seq_against_reference(last);
	}
	/* The RFC's own example: after 15, 0..15 and 32783..65535 are old. */
	assert_true(seq_le(0, 15));
	assert_true(seq_le(15, 15));
	assert_true(seq_le(32783, 15));
	assert_true(seq_le(65535, 15));
	assert_true(seq_newer(16, 15));
	assert_true(seq_newer(32782, 15));
	/* Wrap: 0 follows 65535, and 32767 ahead is the newest still newer. */
	assert_true(seq_newer(0, 65535));
	assert_true(seq_newer(32766, 65535));
	assert_false(seq_newer(32767, 65535));
	assert_true(seq_newer(32767, 0));
	assert_false(seq_newer(32768, 0));
	assert_int_equal(seq_next(65535), 0);
	assert_int_equal(seq_diff(0, 65535), 1);
	assert_int_equal(seq_diff(65535, 0), -1);
	assert_int_equal(seq_diff(32768, 0), -32768);
}

/* ---- SipHash ---- */

static uint64_t openssl_siphash(const uint8_t key[16], const uint8_t *msg, size_t len)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
	EVP_MAC_CTX *ctx;
	size_t outsz = 8, outl = 0;
	uint8_t out[8];
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &outsz),
		OSSL_PARAM_END,
	};
	uint64_t v = 0;

	assert_non_null(mac);
	ctx = EVP_MAC_CTX_new(mac);
	assert_non_null(ctx);
	assert_int_equal(EVP_MAC_init(ctx, key, 16, params), 1);
	assert_int_equal(EVP_MAC_update(ctx, msg, len), 1);
	assert_int_equal(EVP_MAC_final(ctx, out, &outl, sizeof(out)), 1);
	assert_int_equal(outl, 8);
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)out[i] << (8 * i);
	return v;
}

static void test_siphash(void **state)
{
	uint8_t key[16], msg[64];

	(void)state;
	/* Test vector from the SipHash paper (appendix A). */
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 15; i++)
		msg[i] = (uint8_t)i;
	assert_true(bcache_siphash24(key, msg, 15) == 0xa129ca6149be45e5ull);
	/* And OpenSSL as an independent oracle, every length up to 64. */
	for (size_t len = 0; len <= sizeof(msg); len++) {
		rnd(key, sizeof(key));
		rnd(msg, sizeof(msg));
		assert_true(bcache_siphash24(key, msg, len) == openssl_siphash(key, msg, len));
	}
}

/* ---- binding cache ---- */

static void test_insert_update_lookup(void **state)
{
	struct bcache *bc = bcache_create(&(struct bcache_cfg){ .name = "t_basic" });
	struct in6_addr a = hoa_n(1), b = hoa_n(2);
	struct bce_update u = upd(a, 10, 60);
	struct bce *e = NULL, *e2 = NULL;

	(void)state;
	assert_non_null(bc);
	assert_null(bcache_lookup(bc, &a));
	assert_int_equal(bcache_update(bc, &u, 1000, &e), BCACHE_INSERTED);
	assert_non_null(e);
	assert_ptr_equal(bcache_lookup(bc, &a), e);
	assert_null(bcache_lookup(bc, &b));
	assert_int_equal(e->seq, 10);
	assert_int_equal(e->lifetime_s, 60);
	assert_true(e->expiry_ms == 61000);
	assert_true(e->registered_ms == 1000);
	assert_int_equal(e->flags, BCE_F_A | BCE_F_H);
	assert_int_equal(bcache_count(bc), 1);

	/* Move to an IPv4 care-of address behind a NAT (RFC 5555). */
	u.seq = 11;
	u.lifetime_s = 120;
	u.coa.family = AF_INET;
	inet_pton(AF_INET, "192.0.2.9", &u.coa.v4);
	u.coa_port = 40000;
	u.flags |= BCE_F_K;
	assert_int_equal(bcache_update(bc, &u, 5000, &e2), BCACHE_UPDATED);
	assert_ptr_equal(e2, e);
	assert_int_equal(e->coa.family, AF_INET);
	assert_int_equal(e->coa_port, 40000);
	assert_true(e->expiry_ms == 125000);
	assert_true(e->registered_ms == 1000);
	assert_true(bce_updated_ms(e) == 5000);
	assert_int_equal(bcache_count(bc), 1);
	assert_int_equal(bcache_update_entry(bc, e, &u, 6000), BCACHE_UPDATED);
	assert_int_equal(counter_value("mipsec_bcache_inserts_total", "cache=\"t_basic\""), 1);
	assert_int_equal(counter_value("mipsec_bcache_updates_total", "cache=\"t_basic\""), 2);

	/* Invalid updates change nothing. */
	u.lifetime_s = 0;
	assert_int_equal(bcache_update(bc, &u, 7000, NULL), BCACHE_ERR_INVAL);
	u.lifetime_s = 10;
	u.coa.family = AF_UNIX;
	assert_int_equal(bcache_update(bc, &u, 7000, NULL), BCACHE_ERR_INVAL);
	u.coa.family = AF_INET6;
	u.flags = 0x80;
	assert_int_equal(bcache_update(bc, &u, 7000, NULL), BCACHE_ERR_INVAL);
	u = upd(b, 1, 10);
	assert_int_equal(bcache_update_entry(bc, e, &u, 7000), BCACHE_ERR_INVAL);
	assert_true(e->expiry_ms == 126000);
	assert_int_equal(bcache_count(bc), 1);
	assert_string_equal(bcache_strerror(BCACHE_ERR_FULL), "binding cache full");

	assert_true(bcache_delete(bc, &a));
	assert_false(bcache_delete(bc, &a));
	assert_null(bcache_lookup(bc, &a));
	assert_int_equal(bcache_count(bc), 0);
	assert_true(bcache_next_expiry(bc) == UINT64_MAX);
	assert_int_equal(counter_value("mipsec_bcache_deletes_total", "cache=\"t_basic\""), 1);
	bcache_destroy(bc);
}

static void not_before(const struct bce *e, void *arg)
{
	const uint64_t *now = arg;

	assert_true(e->expiry_ms <= *now);
}

/* Random inserts and deletes against a plain array model; checks that
 * backward-shift deletion never loses a key and the heap stays ordered. */
static void test_model(void **state)
{
	enum { N = 20000 };
	struct bcache *bc = bcache_create(&(struct bcache_cfg){ .name = "t_model" });
	static struct in6_addr keys[N];
	static bool present[N];
	size_t live = 0;

	(void)state;
	for (int i = 0; i < N; i++)
		rnd(&keys[i], sizeof(keys[i]));
	for (int round = 0; round < 4 * N; round++) {
		uint32_t r;

		rnd(&r, sizeof(r));
		uint32_t i = r % N;

		if (present[i] && (r >> 31)) {
			assert_true(bcache_delete(bc, &keys[i]));
			present[i] = false;
			live--;
		} else {
			struct bce_update u = upd(keys[i], (uint16_t)round, 1 + (r >> 20) % 1000);
			/* time moves on, so refreshes both extend and shorten */
			int rc = bcache_update(bc, &u, (uint64_t)round * 10u, NULL);

			assert_int_equal(rc, present[i] ? BCACHE_UPDATED : BCACHE_INSERTED);
			if (!present[i])
				live++;
			present[i] = true;
		}
	}
	assert_int_equal(bcache_count(bc), live);
	for (int i = 0; i < N; i++) {
		struct bce *e = bcache_lookup(bc, &keys[i]);

		if (present[i]) {
			assert_non_null(e);
			assert_memory_equal(&e->hoa, &keys[i], sizeof(keys[i]));
		} else {
			assert_null(e);
		}
	}
	/* Draining by expiry yields everything, in order. */
	uint64_t prev = 0;
	size_t drained = 0;

	while (bcache_count(bc)) {
		uint64_t t = bcache_next_expiry(bc);

		assert_true(t >= prev);
		prev = t;
		drained += bcache_expire(bc, t, not_before, &t);
	}
	assert_int_equal(drained, live);
	bcache_destroy(bc);
}

/* 100k home addresses, random and adversarially regular (one /64, counting
 * interface identifiers): the keyed hash keeps every probe run short. */
static void test_collision_resistance(void **state)
{
	enum { N = 100000 };
	struct bcache *bc = bcache_create(&(struct bcache_cfg){ .name = "t_hash" });
	struct bcache *bc2 = bcache_create(&(struct bcache_cfg){ .name = "t_hash2" });

	(void)state;
	for (uint32_t i = 0; i < N; i++) {
		struct in6_addr a;

		rnd(&a, sizeof(a));
		struct bce_update u = upd(a, 0, 100);

		assert_int_equal(bcache_update(bc, &u, 0, NULL), BCACHE_INSERTED);
		u = upd(hoa_n(i << 8), 0, 100);
		assert_int_equal(bcache_update(bc2, &u, 0, NULL), BCACHE_INSERTED);
	}
	assert_int_equal(bcache_count(bc), N);
	/* The index is kept at most half full ... */
	assert_true(bcache_index_slots(bc) >= 2u * N);
	/* ... so with a uniform hash the longest run stays near ln(n): */
	uint32_t p1 = bcache_max_probe(bc), p2 = bcache_max_probe(bc2);

	print_message("max probe: random %u, sequential %u (slots %zu)\n", p1, p2,
		      bcache_index_slots(bc));
	assert_true(p1 <= 64);
	assert_true(p2 <= 64);
	for (uint32_t i = 0; i < N; i += 7) {
		struct in6_addr a = hoa_n(i << 8);

		assert_non_null(bcache_lookup(bc2, &a));
	}
	bcache_destroy(bc);
	bcache_destroy(bc2);
}

static void test_max_entries(void **state)
{
	struct bcache *bc = bcache_create(&(struct bcache_cfg){ .name = "t_full", .max_entries = 100 });
	struct bce_update u;

	(void)state;
	assert_int_equal(bcache_max_entries(bc), 100);
	for (uint32_t i = 0; i < 100; i++) {
		u = upd(hoa_n(i), 0, 30);
		assert_int_equal(bcache_update(bc, &u, 0, NULL), BCACHE_INSERTED);
	}
	u = upd(hoa_n(100), 0, 30);
	assert_int_equal(bcache_update(bc, &u, 0, NULL), BCACHE_ERR_FULL);
	assert_int_equal(bcache_update(bc, &u, 0, NULL), BCACHE_ERR_FULL);
	assert_null(bcache_lookup(bc, &u.hoa));
	assert_int_equal(counter_value("mipsec_bcache_full_total", "cache=\"t_full\""), 2);
	/* Refreshing an existing binding still works when full. */
	u = upd(hoa_n(5), 1, 30);
	assert_int_equal(bcache_update(bc, &u, 0, NULL), BCACHE_UPDATED);
	/* A freed slot is reused. */
	assert_true(bcache_delete(bc, &u.hoa));
	u = upd(hoa_n(100), 0, 30);
	assert_int_equal(bcache_update(bc, &u, 0, NULL), BCACHE_INSERTED);
	assert_int_equal(bcache_count(bc), 100);
	bcache_destroy(bc);
}

struct expired_log {
	uint64_t last_expiry;
	size_t n;
	uint32_t ids[64];
};

static void on_expire(const struct bce *e, void *arg)
{
	struct expired_log *log = arg;

	assert_true(e->expiry_ms >= log->last_expiry);
	log->last_expiry = e->expiry_ms;
	assert_true(log->n < 64);
	log->ids[log->n++] = e->hoa.s6_addr[15];
}

static void test_expiry_order(void **state)
{
	/* lifetimes in seconds for hoa_n(i) */
	static const uint32_t lt[] = { 50, 10, 40, 30, 20, 60, 10, 45 };
	struct bcache *bc = bcache_create(&(struct bcache_cfg){ .name = "t_exp" });
	struct expired_log log = { 0 };

	(void)state;
	for (uint32_t i = 0; i < 8; i++) {
		struct bce_update u = upd(hoa_n(i), 0, lt[i]);

		assert_int_equal(bcache_update(bc, &u, 0, NULL), BCACHE_INSERTED);
	}
	assert_true(bcache_next_expiry(bc) == 10000);
	assert_int_equal(bcache_expire(bc, 9999, on_expire, &log), 0);
	assert_int_equal(bcache_expire(bc, 10000, on_expire, &log), 2);
	assert_true(bcache_next_expiry(bc) == 20000);
	/* Refreshing hoa 4 (20 s) at t=15 s moves it to 75 s. */
	struct bce_update u = upd(hoa_n(4), 1, 60);

	assert_int_equal(bcache_update(bc, &u, 15000, NULL), BCACHE_UPDATED);
	assert_true(bcache_next_expiry(bc) == 30000);
	/* Shortening hoa 5 (60 s) to expire at 16+1 s. */
	u = upd(hoa_n(5), 1, 1);
	assert_int_equal(bcache_update(bc, &u, 16000, NULL), BCACHE_UPDATED);
	assert_true(bcache_next_expiry(bc) == 17000);
	assert_int_equal(bcache_expire(bc, 45000, on_expire, &log), 4);
	static const uint32_t order[] = { 1, 6, 5, 3, 2, 7 };

	assert_int_equal(log.n, 6);
	for (size_t i = 0; i < 2; i++)	/* the two 10 s entries, either order */
		assert_true(log.ids[i] == 1 || log.ids[i] == 6);
	for (size_t i = 2; i < 6; i++)
		assert_int_equal(log.ids[i], order[i]);
	assert_int_equal(bcache_count(bc), 2);
	assert_true(bcache_next_expiry(bc) == 50000);
	assert_int_equal(bcache_expire(bc, UINT64_MAX, on_expire, &log), 2);
	assert_int_equal(log.ids[6], 0);
	assert_int_equal(log.ids[7], 4);
	assert_int_equal(counter_value("mipsec_bcache_expired_total", "cache=\"t_exp\""), 8);
	bcache_destroy(bc);
}

static void test_iterate_while_deleting(void **state)
{
	enum { N = 1000 };
	struct bcache *bc = bcache_create(&(struct bcache_cfg){ .name = "t_iter" });
	static uint8_t seen[N];
	uint32_t cur = 0;
	struct bce *e;
	size_t visits = 0;

	(void)state;
	for (uint32_t i = 0; i < N; i++) {
		struct bce_update u = upd(hoa_n(i), 0, 100 + i);

		bcache_update(bc, &u, 0, NULL);
	}
	/* Delete the odd ones as we meet them, and also a later even one's
	 * neighbour: deleting entries not yet visited must skip them cleanly. */
	while ((e = bcache_next(bc, &cur))) {
		uint32_t id = (uint32_t)e->hoa.s6_addr[14] << 8 | e->hoa.s6_addr[15];

		assert_true(id < N);
		seen[id]++;
		visits++;
		if (id & 1u) {
			bcache_remove(bc, e);
		} else if (id % 10 == 0 && id + 3 < N) {
			struct in6_addr later = hoa_n(id + 3);

			bcache_delete(bc, &later);
		}
	}
	for (uint32_t i = 0; i < N; i++) {
		bool skipped = (i % 10 == 3);

		assert_int_equal(seen[i], skipped ? 0 : 1);
	}
	assert_int_equal(visits, N - N / 10);
	assert_int_equal(bcache_count(bc), N / 2);
	cur = 0;
	while ((e = bcache_next(bc, &cur)))
		bcache_remove(bc, e);
	assert_int_equal(bcache_count(bc), 0);
	bcache_destroy(bc);
}

struct obs_log {
	int ev[8];
	int n;
};

static void observer(void *arg, enum bcache_event ev, const struct bce *e)
{
	struct obs_log *l = arg;

	(void)e;
	if (l->n < 8)
		l->ev[l->n++] = (int)ev;
}

static void test_observer_restore(void **state)
{
	struct bcache *bc = bcache_create(&(struct bcache_cfg){ .name = "t_obs" });
	struct obs_log log = { 0 };
	struct bce_update u = upd(hoa_n(1), 0, 10);
	struct bce saved, *e;

	(void)state;
	bcache_set_observer(bc, observer, &log);
	bcache_update(bc, &u, 0, &e);
	bcache_update(bc, &u, 1, NULL);
	saved = *e;
	bcache_delete(bc, &u.hoa);
	u = upd(hoa_n(2), 0, 1);
	bcache_update(bc, &u, 0, NULL);
	bcache_expire(bc, 5000, NULL, NULL);
	assert_int_equal(log.n, 5);
	assert_int_equal(log.ev[0], BCACHE_EV_INSERT);
	assert_int_equal(log.ev[1], BCACHE_EV_UPDATE);
	assert_int_equal(log.ev[2], BCACHE_EV_DELETE);
	assert_int_equal(log.ev[3], BCACHE_EV_INSERT);
	assert_int_equal(log.ev[4], BCACHE_EV_EXPIRE);
	/* Restore keeps times as given and does not notify. */
	saved.registered_ms = 7;
	saved.expiry_ms = 99999;
	assert_int_equal(bcache_restore(bc, &saved), BCACHE_INSERTED);
	assert_int_equal(log.n, 5);
	e = bcache_lookup(bc, &saved.hoa);
	assert_non_null(e);
	assert_true(e->registered_ms == 7 && e->expiry_ms == 99999);
	assert_true(bcache_next_expiry(bc) == 99999);
	saved.lifetime_s = 0;
	assert_int_equal(bcache_restore(bc, &saved), BCACHE_ERR_INVAL);
	bcache_destroy(bc);
}

static void test_dump(void **state)
{
	struct bcache *bc = bcache_create(&(struct bcache_cfg){ .name = "t_dump" });
	struct bce_update u = upd(hoa_n(0x10), 4242, 100);
	struct table *t;
	json_t *arr, *o;
	char fl[8];

	(void)state;
	assert_string_equal(bce_flags_str(BCE_F_ALL, fl), "AHLKR");
	assert_string_equal(bce_flags_str(BCE_F_H | BCE_F_K, fl), "HK");
	u.flags = BCE_F_A | BCE_F_H | BCE_F_K;
	bcache_update(bc, &u, 1000, NULL);
	u = upd(hoa_n(0x11), 1, 100);
	u.coa.family = AF_INET;
	inet_pton(AF_INET, "198.51.100.1", &u.coa.v4);
	u.coa_port = 4500;
	bcache_update(bc, &u, 1000, NULL);

	arr = bcache_dump(bc, 31500);
	assert_non_null(arr);
	assert_int_equal(json_array_size(arr), 2);
	o = json_array_get(arr, 0);
	assert_string_equal(json_string_value(json_object_get(o, "home_address")),
			    "2001:db8:1::10");
	assert_string_equal(json_string_value(json_object_get(o, "care_of_address")),
			    "2001:db8:ff::7");
	assert_int_equal(json_integer_value(json_object_get(o, "lifetime_remaining_s")), 69);
	assert_int_equal(json_integer_value(json_object_get(o, "sequence")), 4242);
	assert_string_equal(json_string_value(json_object_get(o, "flags")), "AHK");
	o = json_array_get(arr, 1);
	assert_string_equal(json_string_value(json_object_get(o, "care_of_address")),
			    "198.51.100.1");
	assert_int_equal(json_integer_value(json_object_get(o, "care_of_port")), 4500);
	json_decref(arr);

	bcache_table_register(bc, "bindings");
	t = table_find("bindings");
	assert_non_null(t);
	arr = t->dump(t->arg);
	assert_int_equal(json_array_size(arr), 2);
	json_decref(arr);
	bcache_destroy(bc);
	assert_null(table_find("bindings"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seq_wrap),
		cmocka_unit_test(test_siphash),
		cmocka_unit_test(test_insert_update_lookup),
		cmocka_unit_test(test_model),
		cmocka_unit_test(test_collision_resistance),
		cmocka_unit_test(test_max_entries),
		cmocka_unit_test(test_expiry_order),
		cmocka_unit_test(test_iterate_while_deleting),
		cmocka_unit_test(test_observer_restore),
		cmocka_unit_test(test_dump),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
