/* Return routability crypto (RFC 6275 §5.2.5, §6.2.7) against vectors
 * computed with Python's hashlib/hmac (an implementation we did not write):
 *
 *   kcn = 00 01 .. 13, nonce = 01 .. 08, HoA 2001:db8:a::10,
 *   CoA 2001:db8:b::20, CN 2001:db8:c::1,
 *   home = hmac.new(kcn, hoa + nonce + b"\0", sha1).digest()[:8]
 *   coa  = hmac.new(kcn, coa + nonce + b"\1", sha1).digest()[:8]
 *   kbm  = sha1(home + coa), kbm_dereg = sha1(home)
 *   auth = hmac.new(kbm, coa + cn + mh[:4] + b"\0\0" + mh[6:20], sha1)[:12]
 *
 * tests/conformance/test_cn_scapy.py repeats the check live against the
 * daemon. Also: nonce table rotation and expiry, MN helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "mip6/rr.h"
#include "wire/mh.h"

static const uint8_t kcn[20] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
				 16, 17, 18, 19 };
static const uint8_t nonce[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
static const uint8_t v_home[8] = { 0x13, 0x80, 0x95, 0xf9, 0xba, 0xe5, 0x36, 0x24 };
static const uint8_t v_coa[8] = { 0x72, 0x20, 0x28, 0xb7, 0xf8, 0xff, 0x33, 0x21 };
static const uint8_t v_kbm[20] = { 0xd9, 0x34, 0xb8, 0x28, 0xb7, 0x66, 0x69, 0x3f, 0x58, 0x88,
				   0x87, 0x81, 0xdb, 0x4c, 0x5c, 0xd9, 0xbf, 0x55, 0x69, 0x9a };
static const uint8_t v_kbm_dereg[20] = { 0xe9, 0x32, 0x51, 0x50, 0xa5, 0xfc, 0xb9, 0xa7, 0x0c,
					 0x65, 0x25, 0xaa, 0xb0, 0xec, 0x3e, 0xfc, 0x45, 0x92,
					 0xc8, 0x6d };
static const uint8_t v_mh[32] = { 0x3b, 0x03, 0x05, 0x00, 0xab, 0xcd, 0x00, 0x07,
				  0x80, 0x00, 0x00, 0x64, 0x04, 0x04, 0x12, 0x34,
				  0x56, 0x78, 0x05, 0x0c, 0xee, 0xee, 0xee, 0xee,
				  0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee };
static const uint8_t v_auth[12] = { 0x27, 0x01, 0xd4, 0x9f, 0x4d, 0xe8, 0x22, 0xfe,
				    0x55, 0x0d, 0xd5, 0x3c };
static const uint8_t v_auth_dereg[12] = { 0x81, 0xaf, 0x62, 0x64, 0x3c, 0xc0, 0x37, 0x65,
					  0x4e, 0x3f, 0x0a, 0xb0 };

static uint8_t hoa[16], coa[16], cn[16];

static int setup(void **state)
{
	inet_pton(AF_INET6, "2001:db8:a::10", hoa);
	inet_pton(AF_INET6, "2001:db8:b::20", coa);
	inet_pton(AF_INET6, "2001:db8:c::1", cn);
	return 0;
}

static void test_tokens(void **state)
{
	uint8_t t[8], k[20];

	assert_int_equal(rr_keygen_token(kcn, hoa, nonce, RR_HOME, t), 0);
	assert_memory_equal(t, v_home, 8);
	assert_int_equal(rr_keygen_token(kcn, coa, nonce, RR_CAREOF, t), 0);
	assert_memory_equal(t, v_coa, 8);
	/* The final octet separates the two kinds. */
	assert_int_equal(rr_keygen_token(kcn, hoa, nonce, RR_CAREOF, t), 0);
	assert_memory_not_equal(t, v_home, 8);
	assert_int_equal(rr_kbm(v_home, v_coa, k), 0);
	assert_memory_equal(k, v_kbm, 20);
	assert_int_equal(rr_kbm(v_home, NULL, k), 0);
	assert_memory_equal(k, v_kbm_dereg, 20);
}

static void test_auth(void **state)
{
	uint8_t a[12], mh[32];

	assert_int_equal(rr_auth_offset(v_mh, sizeof(v_mh)), 20);
	assert_int_equal(rr_auth(v_kbm, coa, cn, v_mh, sizeof(v_mh), 20, a), 0);
	assert_memory_equal(a, v_auth, 12);
	assert_int_equal(rr_auth(v_kbm_dereg, coa, cn, v_mh, sizeof(v_mh), 20, a), 0);
	assert_memory_equal(a, v_auth_dereg, 12);

	/* Checksum and authenticator bytes do not enter the MAC; any other
	 * byte does. */
	memcpy(mh, v_mh, sizeof(mh));
	memcpy(mh + 20, v_auth, 12);
	assert_true(rr_auth_verify(v_kbm, coa, cn, mh, sizeof(mh), 20));
	mh[4] = 0x11;
	assert_true(rr_auth_verify(v_kbm, coa, cn, mh, sizeof(mh), 20));
	mh[7] ^= 1;
	assert_false(rr_auth_verify(v_kbm, coa, cn, mh, sizeof(mh), 20));
	mh[7] ^= 1;
	assert_false(rr_auth_verify(v_kbm, cn, coa, mh, sizeof(mh), 20));
	assert_false(rr_auth_verify(v_kbm_dereg, coa, cn, mh, sizeof(mh), 20));
	mh[31] ^= 0x80;
	assert_false(rr_auth_verify(v_kbm, coa, cn, mh, sizeof(mh), 20));
	/* Offsets that do not leave room for the authenticator. */
	assert_int_equal(rr_auth(v_kbm, coa, cn, v_mh, sizeof(v_mh), 21, a), -1);
	assert_int_equal(rr_auth(v_kbm, coa, cn, v_mh, sizeof(v_mh), 2, a), -1);
	assert_false(rr_auth_verify(v_kbm, coa, cn, v_mh, 8, 20));
}

/* The same BU built by our codec, sealed, verifies and has a valid checksum. */
static void test_seal(void **state)
{
	uint8_t buf[64], zero12[12] = { 0 };
	struct mh_builder b;
	struct wire_error err;
	struct mh_msg m;

	mh_build_begin(&b, buf, sizeof(buf), MH_BU,
		       &(union mh_body){ .bu = { .seq = 7, .flags = MH_BU_A, .lifetime = 100 } },
		       &err);
	mh_build_nonce(&b, 0x1234, 0x5678);
	mh_build_auth(&b, zero12, 12);
	int n = mh_build_finish(&b, NULL, NULL);
	assert_int_equal(n, 32);
	assert_memory_equal(buf, v_mh, 4);
	assert_memory_equal(buf + 6, v_mh + 6, 14);
	assert_int_equal(rr_seal(buf, (size_t)n, v_kbm, coa, cn, hoa, cn), 0);
	assert_memory_equal(buf + 20, v_auth, 12);
	assert_int_equal(mh_parse(buf, (size_t)n, hoa, cn, &m, &err), WIRE_OK);
	assert_true(rr_auth_verify(v_kbm, coa, cn, buf, (size_t)n, 20));

	/* BAD not last: PadN after it is refused. */
	mh_build_begin(&b, buf, sizeof(buf), MH_BU,
		       &(union mh_body){ .bu = { .seq = 7 } }, &err);
	mh_build_auth(&b, zero12, 12);
	mh_build_pad(&b, 8);
	n = mh_build_finish(&b, NULL, NULL);
	assert_true(n > 0);
	assert_int_equal(rr_auth_offset(buf, (size_t)n), -1);
	assert_int_equal(rr_seal(buf, (size_t)n, v_kbm, coa, cn, hoa, cn), -1);
	/* No BAD at all. */
	mh_build_begin(&b, buf, sizeof(buf), MH_BU,
		       &(union mh_body){ .bu = { .seq = 7 } }, &err);
	mh_build_nonce(&b, 1, 2);
	n = mh_build_finish(&b, NULL, NULL);
	assert_int_equal(rr_auth_offset(buf, (size_t)n), -1);
	/* Header Len disagreeing with the length. */
	assert_int_equal(rr_auth_offset(v_mh, 24), -1);
}

static void test_table_rotation(void **state)
{
	struct rr_table t;
	uint64_t now = 1000000;

	assert_int_equal(rr_table_init(&t, 240, 0, 240, now), -EINVAL);
	assert_int_equal(rr_table_init(&t, 240, 30, 241, now), -EINVAL);
	assert_int_equal(rr_table_init(&t, 240, 2, 240, now), -EINVAL);	/* ring too small */
	assert_int_equal(rr_table_init(&t, 0, 30, 240, now), -EINVAL);
	assert_int_equal(rr_table_init(&t, 100, 30, 240, now), 0);

	const struct rr_nonce *a = rr_table_current(&t, now);
	assert_non_null(a);
	uint16_t ia = a->index;
	uint8_t na[8], ka[20];
	memcpy(na, a->nonce, 8);
	memcpy(ka, a->kcn, 20);
	/* Same nonce within the interval. */
	assert_int_equal(rr_table_current(&t, now + 29999)->index, ia);
	/* A new one after it, with the next index. */
	const struct rr_nonce *b = rr_table_current(&t, now + 30000);
	assert_int_equal(b->index, (uint16_t)(ia + 1));
	assert_memory_not_equal(b->nonce, na, 8);
	assert_memory_equal(b->kcn, ka, 20);	/* Kcn lives 100 s */
	/* The old nonce is still accepted, with its own Kcn. */
	const struct rr_nonce *la = rr_table_lookup(&t, ia, now + 30000);
	assert_non_null(la);
	assert_memory_equal(la->nonce, na, 8);
	/* Kcn is regenerated when due; the old nonce keeps the old Kcn. */
	const struct rr_nonce *c = rr_table_current(&t, now + 100000);
	assert_memory_not_equal(c->kcn, ka, 20);
	assert_memory_equal(rr_table_lookup(&t, ia, now + 100000)->kcn, ka, 20);
	assert_int_equal(t.kcn_generated, 2);
	/* Unknown indices. */
	assert_null(rr_table_lookup(&t, (uint16_t)(ia - 1), now));
	assert_null(rr_table_lookup(&t, (uint16_t)(ia + 64), now));
}

static void test_table_expiry(void **state)
{
	struct rr_table t;
	uint64_t now = 5000;

	assert_int_equal(rr_table_init(&t, 240, 30, 240, now), 0);
	uint16_t i0 = rr_table_current(&t, now)->index;
	/* Accepted until MAX_NONCE_LIFETIME after its first use, not after. */
	assert_non_null(rr_table_lookup(&t, i0, now + 239999));
	assert_null(rr_table_lookup(&t, i0, now + 240000));
	/* Keep handing out nonces every 30 s for 10 minutes: lookups only
	 * succeed for the last 8 (240 / 30). */
	uint16_t last = i0;
	for (uint64_t s = 30; s <= 600; s += 30)
		last = rr_table_current(&t, now + s * 1000)->index;
	uint64_t end = now + 600000;
	unsigned live = 0;
	for (int d = 0; d < 40; d++)
		live += rr_table_lookup(&t, (uint16_t)(last - d), end) != NULL;
	assert_int_equal(live, 8);
	assert_true(rr_table_expire(&t, end) > 0);
	json_t *j = rr_table_dump(&t, end);
	assert_int_equal(json_array_size(j), 8);
	json_decref(j);
	/* Index wrap-around is fine. */
	t.cur_index = 0xffff;
	assert_int_equal(rr_table_current(&t, end + 30000)->index, 0);
}

static void test_mn(void **state)
{
	struct rr_mn m = { 0 };
	uint8_t kbm[20], wrong[8] = { 0 };
	uint16_t hi, ci;

	assert_int_equal(rr_mn_start(&m, true), 0);
	assert_int_equal(rr_mn_start(&m, false), 0);
	assert_false(rr_mn_ready(&m, true, 1000));
	assert_int_equal(rr_mn_kbm(&m, false, 1000, kbm, &hi, &ci), -1);
	/* A HoT answering another HoTI is ignored. */
	if (memcmp(wrong, m.home_cookie, 8) == 0)
		wrong[0] = 1;
	assert_false(rr_mn_accept(&m, true, wrong, 1, v_home, 1000));
	assert_true(rr_mn_accept(&m, true, m.home_cookie, 0x1234, v_home, 1000));
	assert_true(rr_mn_ready(&m, true, 1000));
	assert_false(rr_mn_ready(&m, false, 1000));
	assert_false(rr_mn_accept(&m, false, m.home_cookie, 1, v_coa, 1000) &&
		     memcmp(m.home_cookie, m.coa_cookie, 8) != 0);
	assert_true(rr_mn_accept(&m, false, m.coa_cookie, 0x5678, v_coa, 2000));
	assert_int_equal(rr_mn_kbm(&m, false, 3000, kbm, &hi, &ci), 0);
	assert_memory_equal(kbm, v_kbm, 20);
	assert_int_equal(hi, 0x1234);
	assert_int_equal(ci, 0x5678);
	assert_int_equal(rr_mn_kbm(&m, true, 3000, kbm, &hi, &ci), 0);
	assert_memory_equal(kbm, v_kbm_dereg, 20);
	/* MAX_TOKEN_LIFETIME after the home token arrived it may not be used. */
	assert_true(rr_mn_ready(&m, false, 1000 + 209999));
	assert_false(rr_mn_ready(&m, false, 1000 + 210000));
	/* A new CoTI forgets the care-of token. */
	assert_int_equal(rr_mn_start(&m, false), 0);
	assert_false(rr_mn_ready(&m, false, 3000));
	assert_true(rr_mn_ready(&m, true, 3000));
}

/* Random inputs through both implementations: ours and Python's hashlib
 * and hmac (skipped when /usr/bin/python3 is missing). Each line carries
 * kcn hoa coa cn nonce mh auth_off in hex; Python prints home token,
 * care-of token, Kbm, deregistration Kbm and the authenticator. */
static const char py_oracle[] =
	"import sys, hmac, hashlib\n"
	"for line in sys.stdin:\n"
	"    k, h, c, n, no, mh, off = line.split()\n"
	"    k, h, c, n, no, mh, off = [bytes.fromhex(x) for x in (k, h, c, n, no, mh)] + [int(off)]\n"
	"    ht = hmac.new(k, h + no + b'\\0', hashlib.sha1).digest()[:8]\n"
	"    ct = hmac.new(k, c + no + b'\\1', hashlib.sha1).digest()[:8]\n"
	"    kbm = hashlib.sha1(ht + ct).digest()\n"
	"    kd = hashlib.sha1(ht).digest()\n"
	"    d = c + n + mh[:4] + b'\\0\\0' + mh[6:off] + mh[off + 12:]\n"
	"    a = hmac.new(kbm, d, hashlib.sha1).digest()[:12]\n"
	"    print(ht.hex(), ct.hex(), kbm.hex(), kd.hex(), a.hex())\n";

static void hex(FILE *f, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
	fputc(' ', f);
}

static void test_python_random(void **state)
{
	enum { N = 64 };
	static struct { uint8_t k[20], h[16], c[16], n[16], no[8], mh[64]; size_t len, off; } v[N];
	char in[] = "/tmp/test_rr_in.XXXXXX", script[] = "/tmp/test_rr_py.XXXXXX";
	char cmd[256], line[512];

	if (access("/usr/bin/python3", X_OK) != 0)
		skip();
	int fi = mkstemp(in), fs = mkstemp(script);
	assert_true(fi >= 0 && fs >= 0);
	assert_int_equal(write(fs, py_oracle, sizeof(py_oracle) - 1), (ssize_t)sizeof(py_oracle) - 1);
	close(fs);
	FILE *f = fdopen(fi, "w");
	for (int i = 0; i < N; i++) {
		assert_int_equal(rr_random(&v[i], sizeof(v[i]) - 2 * sizeof(size_t)), 0);
		v[i].len = 8 * (3 + (size_t)(v[i].mh[0] % 6));		/* 24 .. 64 */
		v[i].off = 6 + (size_t)v[i].mh[1] % (v[i].len - 6 - 12 + 1);
		hex(f, v[i].k, 20), hex(f, v[i].h, 16), hex(f, v[i].c, 16), hex(f, v[i].n, 16);
		hex(f, v[i].no, 8), hex(f, v[i].mh, v[i].len);
		fprintf(f, "%zu\n", v[i].off);
	}
	fclose(f);
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s < %s", script, in);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	for (int i = 0; i < N; i++) {
		uint8_t ht[8], ct[8], kbm[20], kd[20], a[12];
		char want[160], got[160] = "";
		FILE *g = fmemopen(got, sizeof(got), "w");

		assert_non_null(fgets(line, sizeof(line), p));
		assert_int_equal(rr_keygen_token(v[i].k, v[i].h, v[i].no, RR_HOME, ht), 0);
		assert_int_equal(rr_keygen_token(v[i].k, v[i].c, v[i].no, RR_CAREOF, ct), 0);
		assert_int_equal(rr_kbm(ht, ct, kbm), 0);
		assert_int_equal(rr_kbm(ht, NULL, kd), 0);
		assert_int_equal(rr_auth(kbm, v[i].c, v[i].n, v[i].mh, v[i].len, v[i].off, a), 0);
		hex(g, ht, 8), hex(g, ct, 8), hex(g, kbm, 20), hex(g, kd, 20), hex(g, a, 12);
		fclose(g);
		got[strlen(got) - 1] = '\n';
		snprintf(want, sizeof(want), "%s", line);
		assert_string_equal(got, want);
	}
	assert_int_equal(pclose(p), 0);
	unlink(in);
	unlink(script);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_seal),
		cmocka_unit_test(test_table_rotation),
		cmocka_unit_test(test_table_expiry),
		cmocka_unit_test(test_mn),
		cmocka_unit_test(test_python_random),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
