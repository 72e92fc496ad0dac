/* src/ikev2/ike_cert.c against a PKI made at run time by
 * tests/data/ike/mkcerts.sh (openssl command line): loading, chain
 * validation with and without CRLs, each refusal with its own enum value
 * and counter, ID matching, CERTREQ hashes (checked against the openssl
 * command line), DER round trips and truncations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <openssl/pem.h>

#include "core/stats.h"
#include "ikev2/ike_cert.h"
#include "ikev2/ike_crypto.h"
#include "wire/ikev2.h"

static char dir[64];

/* dir/name, one stable buffer per name (arrays of paths outlive calls). */
static const char *path(const char *name)
{
	static char names[32][32], paths[32][128];
	size_t i;

	for (i = 0; i < 32 && names[i][0]; i++)
		if (!strcmp(names[i], name))
			return paths[i];
	assert_true(i < 32);
	snprintf(names[i], sizeof(names[i]), "%s", name);
	snprintf(paths[i], sizeof(paths[i]), "%s/%s", dir, name);
	return paths[i];
}

static X509 *pem(const char *name)
{
	FILE *f = fopen(path(name), "r");
	X509 *x;

	assert_non_null(f);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(x);
	return x;
}

static uint64_t counter_value(const char *name, const char *label)
{
	for (struct counter *c = counter_first(); c; c = c->next)
		if (!strcmp(c->name, name) && (!label || (c->label && strstr(c->label, label))))
			return c->value;
	return UINT64_MAX;
}

static int setup(void **state)
{
	char cmd[512];

	(void)state;
	if (system("openssl version >/dev/null 2>&1") != 0) {
		fprintf(stderr, "openssl command line not installed\n");
		return -1;
	}
	snprintf(dir, sizeof(dir), "/tmp/mipsec-ikecert-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "sh %s/ike/mkcerts.sh %s", MIPSEC_TESTDATA, dir);
	assert_int_equal(system(cmd), 0);
	ike_crypto_stats_register();
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void load(struct ike_creds *c, const char *cert, const char *key, bool ca2, bool crl)
{
	const char *cas[] = { path("ca.crt"), path("ca2.crt") };
	const char *crls[] = { path("ca.crl") };
	char err[256];

	assert_int_equal(ike_creds_load(c, cert ? path(cert) : NULL, key ? path(key) : NULL, cas,
					ca2 ? 2 : 1, crls, crl ? 1 : 0, err, sizeof(err)), 0);
}

static void test_load(void **state)
{
	const char *cas[] = { path("ca.crt"), path("ca2.crt") };
	const char *bad[] = { path("nonexistent.crt") };
	struct ike_creds c;
	char err[256], cmd[512], line[128];
	FILE *p;

	(void)state;
	load(&c, "bundle.crt", "ha.key", true, true);
	assert_non_null(c.cert);
	assert_non_null(c.key);
	assert_int_equal(sk_X509_num(c.chain), 1);	/* inter.crt after ha.crt */
	assert_true(c.crl_check);
	assert_int_equal(c.certreq_len, 40);
	/* CERTREQ: SHA-1 of each CA's SubjectPublicKeyInfo, as the openssl
	 * command line computes it. */
	for (int i = 0; i < 2; i++) {
		uint8_t want[20];

		snprintf(cmd, sizeof(cmd), "openssl x509 -in %s -noout -pubkey | "
			 "openssl pkey -pubin -outform DER | openssl dgst -sha1 -r", cas[i]);
		p = popen(cmd, "r");
		assert_non_null(p);
		assert_non_null(fgets(line, sizeof(line), p));
		pclose(p);
		for (int j = 0; j < 20; j++) {
			unsigned v;

			sscanf(line + 2 * j, "%2x", &v);
			want[j] = (uint8_t)v;
		}
		assert_memory_equal(c.certreq + 20 * i, want, 20);
	}
	ike_creds_free(&c);
	load(&c, NULL, NULL, false, false);
	assert_null(c.cert);
	assert_false(c.crl_check);
	ike_creds_free(&c);

	/* Errors name the file. */
	assert_int_equal(ike_creds_load(&c, path("ha.crt"), path("mn.key"), cas, 1, NULL, 0, err,
					sizeof(err)), -1);
	assert_non_null(strstr(err, "mn.key"));
	assert_non_null(strstr(err, "does not belong"));
	assert_int_equal(ike_creds_load(&c, path("ha.crt"), NULL, bad, 1, NULL, 0, err,
					sizeof(err)), -1);
	assert_non_null(strstr(err, "nonexistent.crt: cannot open"));
	assert_int_equal(ike_creds_load(&c, path("ha.key"), NULL, NULL, 0, NULL, 0, err,
					sizeof(err)), -1);
	assert_non_null(strstr(err, "ha.key: no PEM certificate"));
	assert_int_equal(ike_creds_load(&c, NULL, NULL, cas, 1, cas, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "ca.crt: no PEM CRL"));
}

struct vcase {
	const char *file;
	bool ca2, crl, with_inter;
	enum ike_cert_err want;
	const char *detail;
};

static void test_verify(void **state)
{
	static const struct vcase cases[] = {
		{ "ha.crt", false, true, false, IKE_CERT_OK, NULL },
		{ "mn.crt", false, true, false, IKE_CERT_OK, NULL },
		{ "leaf-inter.crt", false, true, true, IKE_CERT_OK, NULL },
		{ "leaf-inter.crt", false, true, false, IKE_CERT_UNTRUSTED, "issuer" },
		{ "expired.crt", false, true, false, IKE_CERT_EXPIRED, "expired" },
		{ "future.crt", false, true, false, IKE_CERT_EXPIRED, "not yet valid" },
		{ "revoked.crt", false, true, false, IKE_CERT_REVOKED, "revoked" },
		/* No CRL configured: no revocation check. */
		{ "revoked.crt", false, false, false, IKE_CERT_OK, NULL },
		{ "other.crt", false, true, false, IKE_CERT_UNTRUSTED, "issuer" },
		/* ca2 trusted, CRL only for ca: no CRL needed for ca2's leaves. */
		{ "other.crt", true, true, false, IKE_CERT_OK, NULL },
		{ "ca2.crt", false, false, false, IKE_CERT_UNTRUSTED, "self-signed" },
		{ "wrongsan.crt", false, true, false, IKE_CERT_OK, NULL },
	};
	static const char *const labels[] = { [IKE_CERT_UNTRUSTED] = "untrusted",
					      [IKE_CERT_EXPIRED] = "expired",
					      [IKE_CERT_REVOKED] = "revoked" };

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct vcase *v = &cases[i];
		STACK_OF(X509) *un = sk_X509_new_null();
		X509 *leaf = pem(v->file), *inter = NULL;
		struct ike_creds c;
		char detail[256];
		uint64_t before = 0;
		enum ike_cert_err e;

		if (v->with_inter) {
			inter = pem("inter.crt");
			sk_X509_push(un, inter);
		}
		if (v->want != IKE_CERT_OK)
			before = counter_value("mipsec_ike_cert_refused_total", labels[v->want]);
		load(&c, NULL, NULL, v->ca2, v->crl);
		e = ike_cert_verify(&c, leaf, un, 0, detail, sizeof(detail));
		if (e != v->want)
			fail_msg("%s: %s (%s), expected %s", v->file, ike_cert_strerror(e), detail,
				 ike_cert_strerror(v->want));
		if (v->detail && !strstr(detail, v->detail))
			fail_msg("%s: detail \"%s\" lacks \"%s\"", v->file, detail, v->detail);
		if (v->want != IKE_CERT_OK)
			assert_int_equal(counter_value("mipsec_ike_cert_refused_total",
						       labels[v->want]), before + 1);
		ike_creds_free(&c);
		sk_X509_pop_free(un, X509_free);
		X509_free(leaf);
	}
}

/* The verification time is the caller's: valid today, expired in 20
 * years, not yet valid 20 years ago. */
static void test_verify_time(void **state)
{
	X509 *leaf = pem("ha.crt");
	struct ike_creds c;
	char d[256];
	time_t now = time(NULL);

	(void)state;
	/* At a time before the CRL was issued, the CRL itself is refused. */
	load(&c, NULL, NULL, false, true);
	assert_int_equal(ike_cert_verify(&c, leaf, NULL, now - 20L * 365 * 86400, d, sizeof(d)),
			 IKE_CERT_OTHER);
	assert_non_null(strstr(d, "CRL is not yet valid"));
	ike_creds_free(&c);
	load(&c, NULL, NULL, false, false);
	assert_int_equal(ike_cert_verify(&c, leaf, NULL, now, d, sizeof(d)), IKE_CERT_OK);
	assert_int_equal(ike_cert_verify(&c, leaf, NULL, now + 20L * 365 * 86400, d, sizeof(d)),
			 IKE_CERT_EXPIRED);
	assert_int_equal(ike_cert_verify(&c, leaf, NULL, now - 20L * 365 * 86400, d, sizeof(d)),
			 IKE_CERT_EXPIRED);
	assert_non_null(strstr(d, "not yet valid"));
	assert_int_equal(ike_cert_verify(NULL, leaf, NULL, 0, d, sizeof(d)), IKE_CERT_UNTRUSTED);
	assert_int_equal(ike_cert_verify(&c, NULL, NULL, 0, d, sizeof(d)), IKE_CERT_PARSE);
	ike_creds_free(&c);
	X509_free(leaf);
}

static void test_matches_id(void **state)
{
	X509 *ha = pem("ha.crt"), *mn = pem("mn.crt"), *wrong = pem("wrongsan.crt");
	uint8_t v6[16], v4[4], dn[512], dn2[512];
	size_t n, n2;

	(void)state;
	inet_pton(AF_INET6, "2001:db8::1", v6);
	inet_pton(AF_INET, "192.0.2.1", v4);
	assert_true(ike_cert_matches_id(ha, IKEV2_ID_FQDN, (const uint8_t *)"ha.example.org", 14));
	assert_true(ike_cert_matches_id(ha, IKEV2_ID_FQDN, (const uint8_t *)"HA.Example.ORG", 14));
	assert_false(ike_cert_matches_id(ha, IKEV2_ID_FQDN, (const uint8_t *)"ha.example.or", 13));
	assert_false(ike_cert_matches_id(ha, IKEV2_ID_FQDN, (const uint8_t *)"ha.example.org\0", 15));
	assert_false(ike_cert_matches_id(wrong, IKEV2_ID_FQDN, (const uint8_t *)"ha.example.org",
					 14));
	assert_true(ike_cert_matches_id(ha, IKEV2_ID_IPV6_ADDR, v6, 16));
	assert_true(ike_cert_matches_id(ha, IKEV2_ID_IPV4_ADDR, v4, 4));
	assert_false(ike_cert_matches_id(ha, IKEV2_ID_IPV6_ADDR, v4, 4));
	assert_false(ike_cert_matches_id(mn, IKEV2_ID_IPV6_ADDR, v6, 16));
	inet_pton(AF_INET6, "2001:db8:30::100", v6);
	assert_true(ike_cert_matches_id(mn, IKEV2_ID_IPV6_ADDR, v6, 16));
	assert_true(ike_cert_matches_id(ha, IKEV2_ID_RFC822_ADDR,
					(const uint8_t *)"ha@EXAMPLE.org", 14));
	assert_false(ike_cert_matches_id(ha, IKEV2_ID_RFC822_ADDR,
					 (const uint8_t *)"HA@example.org", 14));
	/* DN: our subject, and its truncations / trailing junk refused. */
	n = ike_cert_subject_der(ha, dn, sizeof(dn));
	assert_true(n > 10);
	assert_int_equal(ike_cert_subject_der(ha, dn, n - 1), 0);
	assert_true(ike_cert_matches_id(ha, IKEV2_ID_DER_ASN1_DN, dn, n));
	assert_false(ike_cert_matches_id(mn, IKEV2_ID_DER_ASN1_DN, dn, n));
	for (size_t cut = 0; cut < n; cut++)
		assert_false(ike_cert_matches_id(ha, IKEV2_ID_DER_ASN1_DN, dn, cut));
	dn[n] = 0;
	assert_false(ike_cert_matches_id(ha, IKEV2_ID_DER_ASN1_DN, dn, n + 1));
	/* The same DN with its CN in another case and as a UTF8String is the
	 * same name after canonical encoding. */
	{
		X509_NAME *name = X509_NAME_new();
		uint8_t *p = dn2;

		X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"MIPSEC",
					   -1, -1, 0);
		X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)"ha",
					   -1, -1, 0);
		n2 = (size_t)i2d_X509_NAME(name, &p);
		X509_NAME_free(name);
		assert_true(ike_cert_matches_id(ha, IKEV2_ID_DER_ASN1_DN, dn2, n2));
	}
	assert_false(ike_cert_matches_id(ha, IKEV2_ID_KEY_ID, (const uint8_t *)"ha", 2));
	X509_free(ha);
	X509_free(mn);
	X509_free(wrong);
}

static void test_der(void **state)
{
	X509 *ha = pem("ha.crt"), *x;
	uint8_t der[4096];
	size_t n;
	uint64_t parse0 = counter_value("mipsec_ike_cert_refused_total", "parse");

	(void)state;
	assert_string_equal(ike_cert_strerror(IKE_CERT_REVOKED), "certificate revoked");
	n = ike_cert_der(ha, der, sizeof(der));
	assert_true(n > 100);
	assert_int_equal(ike_cert_der(ha, der, n - 1), 0);
	x = ike_cert_decode(der, n);
	assert_non_null(x);
	assert_int_equal(X509_cmp(x, ha), 0);
	X509_free(x);
	for (size_t cut = 0; cut < n; cut += 3)
		assert_null(ike_cert_decode(der, cut));
	der[n] = 0;
	assert_null(ike_cert_decode(der, n + 1));
	assert_true(counter_value("mipsec_ike_cert_refused_total", "parse") > parse0);
	X509_free(ha);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_verify),
		cmocka_unit_test(test_verify_time),
		cmocka_unit_test(test_matches_id),
		cmocka_unit_test(test_der),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
