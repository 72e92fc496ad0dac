/* IKE_AUTH with certificates between two real engines: ECDSA P-256 and
 * RSA (RFC 7427 signatures), CERT/CERTREQ, fragmentation of the
 * certificate-bearing messages (RFC 7383), and every certificate refusal
 * with its notify and counter. PKI: tests/data/config/ike (gen.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ike_pair.h"
#include "wire/ikev2.h"

#define A 0
#define B 1
#define WAIT_MS 8000
#define PKI MIPSEC_TESTDATA "/config/ike/"

static char cfg_a[4096], cfg_b[4096];

/* Side `me` with certificate/key `cert` (file stem) trusting ca.pem and
 * crl.pem; `extra` goes into the ike block. */
static void side(char *out, size_t size, bool is_a, const char *cert, const char *extra)
{
	snprintf(out, size,
		 "ike = {\n"
		 "  certificate = \"" PKI "%s.pem\"; private_key = \"" PKI "%s.key\";\n"
		 "  ca = [\"" PKI "ca.pem\"]; crl = [\"" PKI "crl.pem\"];\n"
		 "  local_id = \"fqdn:%s.example\";\n"
		 "  retransmit_timeout = 200; retransmit_tries = 3;\n"
		 "  %s\n"
		 "  peers = ( { name = \"%s\"; remote = \"%s\"; local = \"%s\";\n"
		 "    remote_id = \"fqdn:%s.example\"; auth = \"pubkey\";\n"
		 "    local_ts = [\"%s\"]; remote_ts = [\"%s\"]; dpd = 0; } );\n"
		 "};\n",
		 cert, cert, is_a ? "a" : "b", extra ? extra : "", is_a ? "b" : "a",
		 is_a ? "2001:db8::2" : "any", is_a ? "2001:db8::1" : "2001:db8::2",
		 is_a ? "b" : "a", is_a ? "2001:db8:a::/48" : "2001:db8:b::/48",
		 is_a ? "2001:db8:b::/48" : "2001:db8:a::/48");
}

static void start(struct pair *p, const char *cert_a, const char *cert_b, const char *extra)
{
	char err[256] = "";

	side(cfg_a, sizeof(cfg_a), true, cert_a, extra);
	side(cfg_b, sizeof(cfg_b), false, cert_b, extra);
	if (pair_init(p, cfg_a, cfg_b, "2001:db8::1", "2001:db8::2", err, sizeof(err))) {
		fprintf(stderr, "pair_init: %s\n", err);
		fail();
	}
}

static bool both_children(struct pair *p)
{
	return p->s[A].child_up >= 1 && p->s[B].child_up >= 1;
}

static void establish(struct pair *p)
{
	assert_int_not_equal(ike_engine_initiate(p->s[A].e, "b"), 0);
	assert_true(pair_run(p, both_children, WAIT_MS));
	assert_int_equal(p->s[A].last_child.spi_out, p->s[B].last_child.spi_in);
	assert_memory_equal(p->s[A].last_child.enc_out, p->s[B].last_child.enc_in,
			    p->s[A].last_child.enc_key_len);
	assert_int_equal(p->s[B].last_child.peer_id->type, IKEV2_ID_FQDN);
	assert_memory_equal(p->s[B].last_child.peer_id->data, "a.example", 9);
}

static void test_ecdsa(void **state)
{
	struct pair p;

	(void)state;
	start(&p, "a", "b", NULL);
	establish(&p);
	assert_int_equal(pc(&p, B, "rx_auth_failed"), 0);
	assert_int_equal(pc(&p, A, "rx_auth_failed"), 0);
	pair_free(&p);
}

static void test_rsa(void **state)
{
	struct pair p;

	(void)state;
	start(&p, "a_rsa", "b_rsa", NULL);
	establish(&p);
	pair_free(&p);
}

static void test_mixed(void **state)
{
	struct pair p;

	(void)state;
	start(&p, "a_rsa", "b", NULL);
	establish(&p);
	pair_free(&p);
}

/* RSA certificates and signatures do not fit 576 octets: both IKE_AUTH
 * messages travel in fragments. */
static void test_fragmented_certs(void **state)
{
	struct pair p;

	(void)state;
	start(&p, "a_rsa", "b_rsa", "fragment_mtu = 576;");
	establish(&p);
	assert_true(pc(&p, A, "frag_tx") >= 3);
	assert_true(pc(&p, B, "frag_tx") >= 3);
	assert_int_equal(pc(&p, A, "frag_reassembled"), 1);
	assert_int_equal(pc(&p, B, "frag_reassembled"), 1);
	pair_free(&p);
}

static bool refused(struct pair *p)
{
	return pc(p, A, "rx_n_auth_failed") >= 1 && ike_engine_n_ike(p->s[B].e) == 0 &&
	       ike_engine_n_ike(p->s[A].e) == 0;
}

static void refuse(const char *cert_a, const char *counter)
{
	struct pair p;

	start(&p, cert_a, "b", NULL);
	assert_int_not_equal(ike_engine_initiate(p.s[A].e, "b"), 0);
	if (!pair_run(&p, refused, WAIT_MS))
		fprintf(stderr, "%s: not refused\n", cert_a);
	assert_true(refused(&p));
	assert_int_equal(pc(&p, B, counter), 1);
	assert_int_equal(pc(&p, B, "rx_auth_failed"), 1);
	assert_int_equal(p.s[A].child_up + p.s[B].child_up, 0);
	assert_int_equal(p.s[B].ike_up, 0);
	pair_free(&p);
}

static void test_other_ca(void **state)
{
	(void)state;
	refuse("a_other", "rx_cert_untrusted");
}

static void test_expired(void **state)
{
	(void)state;
	refuse("a_expired", "rx_cert_expired");
}

static void test_revoked(void **state)
{
	(void)state;
	refuse("a_revoked", "rx_cert_revoked");
}

static void test_wrong_id(void **state)
{
	(void)state;
	refuse("a_wrongid", "rx_cert_id_mismatch");
}

/* The initiator checks the responder too. */
static bool a_closed(struct pair *p)
{
	return pc(p, A, "rx_auth_failed") >= 1 && ike_engine_n_ike(p->s[A].e) == 0;
}

static void test_responder_untrusted(void **state)
{
	struct pair p;
	char err[256] = "";

	(void)state;
	/* B signs with a certificate of the other CA (A checks the chain
	 * before the identity it names). */
	side(cfg_a, sizeof(cfg_a), true, "a", NULL);
	side(cfg_b, sizeof(cfg_b), false, "a_other", NULL);
	assert_int_equal(pair_init(&p, cfg_a, cfg_b, "2001:db8::1", "2001:db8::2", err,
				   sizeof(err)), 0);
	assert_int_not_equal(ike_engine_initiate(p.s[A].e, "b"), 0);
	assert_true(pair_run(&p, a_closed, WAIT_MS));
	assert_int_equal(pc(&p, A, "rx_cert_untrusted"), 1);
	assert_int_equal(p.s[A].ike_up, 0);
	pair_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ecdsa),
		cmocka_unit_test(test_rsa),
		cmocka_unit_test(test_mixed),
		cmocka_unit_test(test_fragmented_certs),
		cmocka_unit_test(test_other_ca),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_revoked),
		cmocka_unit_test(test_wrong_id),
		cmocka_unit_test(test_responder_untrusted),
	};

	log_init("test_ike_auth", getenv("IKE_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_ERR, false);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
