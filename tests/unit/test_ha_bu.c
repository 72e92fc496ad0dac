/* The home agent's Binding Update decision (src/mip6/ha_bu.c): every BA
 * status it decides, the order of the checks, the sequence window and the
 * lifetime caps, the BA flags and when a BA is sent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mip6/bcache.h"
#include "mip6/ha.h"
#include "wire/mh.h"

#define HK (MH_BU_A | MH_BU_H)

static const struct ha_bu_limits base_lim = {
	.served = true, .denied = false, .prefix_lifetime = HA_LIFETIME_INFINITE,
	.max_lifetime = 3600, .max_bindings = 10, .n_bindings = 0,
};

static struct ha_bu_decision decide(const struct ha_bu_state *st, uint16_t seq, uint16_t flags,
				    uint16_t lifetime, const struct ha_bu_limits *lim)
{
	struct ha_bu_in in = { .seq = seq, .flags = flags, .lifetime = lifetime };
	struct ha_bu_decision d;

	ha_bu_decide(st, &in, lim ? lim : &base_lim, &d);
	return d;
}

static const struct ha_bu_state none = { 0 };

static void test_accept_new(void **s)
{
	struct ha_bu_decision d = decide(&none, 7, HK, 100, NULL);

	assert_int_equal(d.status, 0);
	assert_int_equal(d.action, HA_ACT_CREATE);
	assert_int_equal(d.seq, 7);
	assert_int_equal(d.lifetime, 100);
	assert_int_equal(d.lifetime_s, 400);
	assert_true(d.send_ba);
	assert_int_equal(d.ba_flags, 0);
	assert_int_equal(d.bce_flags, BCE_F_A | BCE_F_H);
}

static void test_accept_update_and_silent(void **s)
{
	struct ha_bu_state st = { .exists = true, .seq = 7, .flags = BCE_F_A | BCE_F_H };
	struct ha_bu_decision d = decide(&st, 8, MH_BU_H, 10, NULL);

	assert_int_equal(d.status, 0);
	assert_int_equal(d.action, HA_ACT_UPDATE);
	/* A flag clear and accepted: no BA (RFC 6275 §9.5.1). */
	assert_false(d.send_ba);
}

static void test_k_flag(void **s)
{
	assert_int_equal(decide(&none, 1, HK | MH_BU_K, 10, NULL).ba_flags, MH_BA_K);
	assert_int_equal(decide(&none, 1, HK, 10, NULL).ba_flags, 0);
}

static void test_131_no_h(void **s)
{
	struct ha_bu_decision d = decide(&none, 1, MH_BU_A, 10, NULL);

	assert_int_equal(d.status, HA_BA_NOT_SUPPORTED);
	assert_int_equal(d.action, HA_ACT_NONE);
	assert_true(d.send_ba);
	assert_int_equal(d.lifetime, 0);
	/* Even without A, errors are always answered. */
	assert_true(decide(&none, 1, 0, 10, NULL).send_ba);
}

static void test_129_denied(void **s)
{
	struct ha_bu_limits lim = base_lim;

	lim.denied = true;
	assert_int_equal(decide(&none, 1, HK, 10, &lim).status, HA_BA_PROHIBITED);
	/* Denied beats "not served". */
	lim.served = false;
	assert_int_equal(decide(&none, 1, HK, 10, &lim).status, HA_BA_PROHIBITED);
}

static void test_132_not_home(void **s)
{
	struct ha_bu_limits lim = base_lim;

	lim.served = false;
	struct ha_bu_decision d = decide(&none, 1, HK, 10, &lim);
	assert_int_equal(d.status, HA_BA_NOT_HOME_SUBNET);
	assert_int_equal(d.action, HA_ACT_NONE);
}

static void test_135_sequence(void **s)
{
	struct ha_bu_state st = { .exists = true, .seq = 100, .flags = BCE_F_A | BCE_F_H };
	struct ha_bu_decision d;

	/* Equal and older: 135 with the HA's last sequence number. */
	d = decide(&st, 100, HK, 10, NULL);
	assert_int_equal(d.status, HA_BA_SEQ_OUT_OF_WINDOW);
	assert_int_equal(d.seq, 100);
	assert_int_equal(d.action, HA_ACT_NONE);
	d = decide(&st, 99, HK, 10, NULL);
	assert_int_equal(d.status, HA_BA_SEQ_OUT_OF_WINDOW);
	assert_int_equal(d.seq, 100);
	/* Exactly half-way back counts as old (seq.h). */
	assert_int_equal(decide(&st, (uint16_t)(100 + 32768), HK, 10, NULL).status, 135);
	/* One less than half-way forward is newer. */
	assert_int_equal(decide(&st, (uint16_t)(100 + 32767), HK, 10, NULL).status, 0);
	/* Wrap-around: last 65535, received 0 is newer. */
	st.seq = 65535;
	d = decide(&st, 0, HK, 10, NULL);
	assert_int_equal(d.status, 0);
	assert_int_equal(d.seq, 0);
	/* Without a binding any sequence number is taken. */
	assert_int_equal(decide(&none, 0, HK, 10, NULL).status, 0);
}

static void test_139_type_change(void **s)
{
	struct ha_bu_state st = { .exists = true, .seq = 1, .flags = BCE_F_A | BCE_F_H };

	assert_int_equal(decide(&st, 2, HK | MH_BU_L, 10, NULL).status,
			 HA_BA_REG_TYPE_CHANGE);
	st.flags |= BCE_F_L;
	assert_int_equal(decide(&st, 2, HK, 10, NULL).status, HA_BA_REG_TYPE_CHANGE);
	assert_int_equal(decide(&st, 2, HK | MH_BU_L, 10, NULL).status, 0);
	/* K and A may change freely. */
	assert_int_equal(decide(&st, 3, MH_BU_H | MH_BU_L | MH_BU_K, 10, NULL).status, 0);
	/* Sequence is checked first. */
	assert_int_equal(decide(&st, 1, HK, 10, NULL).status, HA_BA_SEQ_OUT_OF_WINDOW);
}

static void test_133_and_dereg(void **s)
{
	struct ha_bu_state st = { .exists = true, .seq = 5, .flags = BCE_F_A | BCE_F_H };
	struct ha_bu_decision d;
	struct ha_bu_in in = { .seq = 6, .flags = HK, .lifetime = 100, .coa_is_hoa = true };

	d = decide(&none, 1, HK, 0, NULL);
	assert_int_equal(d.status, HA_BA_NOT_HA_FOR_MN);
	assert_int_equal(d.action, HA_ACT_NONE);
	d = decide(&st, 6, HK, 0, NULL);
	assert_int_equal(d.status, 0);
	assert_int_equal(d.action, HA_ACT_DELETE);
	assert_int_equal(d.lifetime, 0);
	assert_true(d.send_ba);
	/* CoA == HoA deregisters whatever the lifetime. */
	ha_bu_decide(&st, &in, &base_lim, &d);
	assert_int_equal(d.action, HA_ACT_DELETE);
	assert_int_equal(d.lifetime, 0);
	/* A deregistration is not refused for lack of room. */
	struct ha_bu_limits lim = base_lim;
	lim.n_bindings = lim.max_bindings;
	assert_int_equal(decide(&st, 7, HK, 0, &lim).action, HA_ACT_DELETE);
}

static void test_140_mobile_router(void **s)
{
	struct ha_bu_limits lim = base_lim;
	struct ha_bu_decision d = decide(&none, 1, HK | MH_BU_R, 10, NULL);

	assert_int_equal(d.status, HA_BA_MR_NOT_PERMITTED);
	lim.mobile_router = true;
	d = decide(&none, 1, HK | MH_BU_R, 10, &lim);
	assert_int_equal(d.status, 0);
	assert_int_equal(d.ba_flags & MH_BA_R, MH_BA_R);
}

static void test_130_full(void **s)
{
	struct ha_bu_limits lim = base_lim;
	struct ha_bu_state st = { .exists = true, .seq = 1, .flags = BCE_F_A | BCE_F_H };

	lim.n_bindings = lim.max_bindings;
	assert_int_equal(decide(&none, 1, HK, 10, &lim).status, HA_BA_NO_RESOURCES);
	/* A refresh of an existing binding still fits. */
	assert_int_equal(decide(&st, 2, HK, 10, &lim).status, 0);
	lim.n_bindings = lim.max_bindings - 1;
	assert_int_equal(decide(&none, 1, HK, 10, &lim).status, 0);
}

static void test_lifetime_caps(void **s)
{
	struct ha_bu_limits lim = base_lim;
	struct ha_bu_decision d;

	/* max_lifetime 3600 s = 900 units. */
	d = decide(&none, 1, HK, 65535, &lim);
	assert_int_equal(d.status, 0);
	assert_int_equal(d.lifetime, 900);
	assert_int_equal(d.lifetime_s, 3600);
	/* Rounded down to 4 s units. */
	lim.max_lifetime = 3602;
	assert_int_equal(decide(&none, 1, HK, 65535, &lim).lifetime, 900);
	/* The prefix's valid lifetime caps too (RFC 6275 §10.3.1). */
	lim.prefix_lifetime = 40;
	assert_int_equal(decide(&none, 1, HK, 65535, &lim).lifetime, 10);
	/* Below one unit of prefix lifetime: the address is not usable. */
	lim.prefix_lifetime = 3;
	d = decide(&none, 1, HK, 65535, &lim);
	assert_int_equal(d.status, HA_BA_NOT_HOME_SUBNET);
	assert_int_equal(d.action, HA_ACT_NONE);
	/* Smaller requests are granted as asked. */
	assert_int_equal(decide(&none, 1, HK, 1, NULL).lifetime, 1);
}

static void test_order(void **s)
{
	struct ha_bu_limits lim = base_lim;

	/* H is checked before everything else. */
	lim.denied = true;
	lim.served = false;
	assert_int_equal(decide(&none, 1, MH_BU_A, 10, &lim).status, 131);
	/* 132 before the sequence check. */
	struct ha_bu_state st = { .exists = true, .seq = 9, .flags = BCE_F_H };
	lim.denied = false;
	assert_int_equal(decide(&st, 1, HK, 10, &lim).status, 132);
}

static void test_names(void **s)
{
	for (size_t i = 0; i < HA_BA_N_STATUS; i++)
		assert_string_not_equal(ha_ba_status_name(ha_ba_statuses[i]), "unknown");
	assert_string_equal(ha_ba_status_name(1), "unknown");
	assert_int_equal(ha_bu_bce_flags(MH_BU_A | MH_BU_H | MH_BU_L | MH_BU_K | MH_BU_R),
			 BCE_F_ALL);
	assert_int_equal(ha_bu_bce_flags(MH_BU_F | MH_BU_T), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accept_new),
		cmocka_unit_test(test_accept_update_and_silent),
		cmocka_unit_test(test_k_flag),
		cmocka_unit_test(test_131_no_h),
		cmocka_unit_test(test_129_denied),
		cmocka_unit_test(test_132_not_home),
		cmocka_unit_test(test_135_sequence),
		cmocka_unit_test(test_139_type_change),
		cmocka_unit_test(test_133_and_dereg),
		cmocka_unit_test(test_140_mobile_router),
		cmocka_unit_test(test_130_full),
		cmocka_unit_test(test_lifetime_caps),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
