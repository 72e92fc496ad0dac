/* The correspondent node's Binding Update decisions that do not need a
 * network (RFC 6275 §9.5.1, §5.2.7): which status a BU gets for the nonces
 * it names as time passes, and the lifetime it is granted. The same cases
 * run end to end in tests/conformance/test_cn_scapy.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mip6/cn.h"

static void test_nonce_status(void **state)
{
	struct rr_table t;
	uint64_t now = 10000;

	assert_int_equal(rr_table_init(&t, 240, 30, 240, now), 0);
	uint16_t h = rr_table_current(&t, now)->index;
	uint16_t c = rr_table_current(&t, now + 30000)->index;	/* the next one */
	uint64_t at = now + 31000;
	const struct rr_nonce *hn = rr_table_lookup(&t, h, at);
	const struct rr_nonce *cn = rr_table_lookup(&t, c, at);

	assert_int_equal(cn_nonce_status(hn, cn, false), CN_BA_ACCEPTED);
	assert_int_equal(cn_nonce_status(NULL, cn, false), CN_BA_EXPIRED_HOME_NONCE);
	assert_int_equal(cn_nonce_status(hn, NULL, false), CN_BA_EXPIRED_COA_NONCE);
	assert_int_equal(cn_nonce_status(NULL, NULL, false), CN_BA_EXPIRED_NONCES);
	/* Deregistration: only the home nonce counts. */
	assert_int_equal(cn_nonce_status(hn, NULL, true), CN_BA_ACCEPTED);
	assert_int_equal(cn_nonce_status(NULL, NULL, true), CN_BA_EXPIRED_HOME_NONCE);

	/* 240 s after first use the home nonce is gone, the care-of one
	 * (first used 30 s later) not yet: 136; 30 s later both: 138. */
	at = now + 240000;
	assert_int_equal(cn_nonce_status(rr_table_lookup(&t, h, at), rr_table_lookup(&t, c, at),
					 false), CN_BA_EXPIRED_HOME_NONCE);
	at = now + 270000;
	assert_int_equal(cn_nonce_status(rr_table_lookup(&t, h, at), rr_table_lookup(&t, c, at),
					 false), CN_BA_EXPIRED_NONCES);
	/* A care-of nonce older than the home one: 137. */
	assert_int_equal(cn_nonce_status(rr_table_lookup(&t, c, now + 240000),
					 rr_table_lookup(&t, h, now + 240000), false),
			 CN_BA_EXPIRED_COA_NONCE);
}

static void test_lifetime(void **state)
{
	assert_int_equal(cn_grant_lifetime(1, 420), 4);
	assert_int_equal(cn_grant_lifetime(25, 420), 100);
	assert_int_equal(cn_grant_lifetime(105, 420), 420);
	/* MAX_RR_BINDING_LIFETIME caps what a MN may ask. */
	assert_int_equal(cn_grant_lifetime(65535, 420), 420);
	assert_int_equal(cn_grant_lifetime(65535, 99), 96);
	assert_int_equal(cn_grant_lifetime(1, 5), 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nonce_status),
		cmocka_unit_test(test_lifetime),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
