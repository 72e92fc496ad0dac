/* PAD (src/ipsec/pad.c): identity matching (exact address, FQDN without
 * case, "*.example" suffix, DN exact and subtree across string types,
 * address ranges), entry order between hashed and wildcard entries, the
 * RFC 4877 home-address authorisation (allowed, narrowed, refused with
 * reason and counter), malformed input, deletion and the table dump. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <cmocka.h>

#include <openssl/x509.h>

#include "core/stats.h"
#include "core/table.h"
#include "ipsec/pad.h"

static uint64_t ctr(const char *name)
{
	for (struct counter *c = counter_first(); c; c = c->next)
		if (!strcmp(c->name, name))
			return c->value;
	fail_msg("counter %s not registered", name);
	return 0;
}

static struct spd_ts ts6(const char *s, const char *e, uint8_t proto, uint16_t ps, uint16_t pe)
{
	struct spd_ts t = { .family = AF_INET6, .proto = proto, .port_start = ps, .port_end = pe };

	assert_int_equal(inet_pton(AF_INET6, s, t.start), 1);
	assert_int_equal(inet_pton(AF_INET6, e, t.end), 1);
	return t;
}

static uint32_t add(struct pad *pad, uint8_t type, enum pad_match m, const char *v,
		    uint32_t prio)
{
	struct pad_entry e = { .priority = prio };
	uint32_t id = 0;

	assert_int_equal(pad_entry_set_id(&e, type, m, v), PAD_OK);
	assert_int_equal(pad_add(pad, &e, &id), PAD_OK);
	return id;
}

static const struct pad_entry *look(struct pad *pad, uint8_t type, const char *v)
{
	return pad_lookup(pad, type, (const uint8_t *)v, strlen(v));
}

static void test_names(void **state)
{
	struct pad *pad = pad_new();
	uint32_t exact = add(pad, IKEV2_ID_FQDN, PAD_MATCH_EXACT, "ha.example.com", 10);
	uint32_t wild = add(pad, IKEV2_ID_FQDN, PAD_MATCH_SUFFIX, "*.example.com", 20);
	uint32_t mail = add(pad, IKEV2_ID_RFC822_ADDR, PAD_MATCH_SUFFIX, "*@example.com", 20);
	uint64_t none0 = ctr("mipsec_pad_no_entry_total");

	assert_int_equal(look(pad, IKEV2_ID_FQDN, "HA.Example.COM")->id, exact);
	assert_int_equal(look(pad, IKEV2_ID_FQDN, "mn1.example.com")->id, wild);
	assert_int_equal(look(pad, IKEV2_ID_FQDN, "a.b.EXAMPLE.com")->id, wild);
	assert_null(look(pad, IKEV2_ID_FQDN, "example.com"));
	assert_null(look(pad, IKEV2_ID_FQDN, "evil-example.com"));
	assert_null(look(pad, IKEV2_ID_FQDN, "mn1.example.com.evil"));
	/* The type is part of the identity. */
	assert_null(look(pad, IKEV2_ID_RFC822_ADDR, "ha.example.com"));
	assert_int_equal(look(pad, IKEV2_ID_RFC822_ADDR, "bob@example.com")->id, mail);
	assert_null(pad_lookup(pad, IKEV2_ID_FQDN, NULL, 0));
	assert_int_equal(ctr("mipsec_pad_no_entry_total"), none0 + 5);

	/* A wildcard earlier in order wins over a later exact entry. */
	{
		uint32_t first = add(pad, IKEV2_ID_FQDN, PAD_MATCH_SUFFIX, "*.corp.example.com", 1);

		add(pad, IKEV2_ID_FQDN, PAD_MATCH_EXACT, "mn9.corp.example.com", 5);
		assert_int_equal(look(pad, IKEV2_ID_FQDN, "mn9.corp.example.com")->id, first);
	}
	assert_int_equal(pad_del(pad, exact), PAD_OK);
	assert_int_equal(look(pad, IKEV2_ID_FQDN, "ha.example.com")->id, wild);
	assert_int_equal(pad_del(pad, exact), PAD_ERR_NOENT);
	assert_int_equal(pad_count(pad), 4);
	pad_free(pad);
}

/* The peer's DN as a certificate carries it: PrintableString values. */
static size_t peer_dn(uint8_t *out, const char *const *kv, size_t n)
{
	X509_NAME *name = X509_NAME_new();
	unsigned char *p = out;
	int len;

	for (size_t i = 0; i < n; i += 2)
		assert_int_equal(X509_NAME_add_entry_by_txt(name, kv[i], V_ASN1_PRINTABLESTRING,
							    (const unsigned char *)kv[i + 1],
							    -1, -1, 0), 1);
	len = i2d_X509_NAME(name, &p);
	X509_NAME_free(name);
	assert_true(len > 0);
	return (size_t)len;
}

static void test_dn(void **state)
{
	struct pad *pad = pad_new();
	static const char *const mn1[] = { "C", "FI", "O", "Example", "CN", "MN1" };
	static const char *const other[] = { "C", "FI", "O", "Other", "CN", "mn1" };
	uint32_t exact = add(pad, IKEV2_ID_DER_ASN1_DN, PAD_MATCH_EXACT,
			     "C=FI, O=Example, CN=mn1", 1);
	uint32_t sub = add(pad, IKEV2_ID_DER_ASN1_DN, PAD_MATCH_SUBTREE, "C=FI,O=Example", 2);
	uint8_t der[256];
	size_t n;

	n = peer_dn(der, mn1, 6);
	assert_int_equal(pad_lookup(pad, IKEV2_ID_DER_ASN1_DN, der, n)->id, exact);
	/* Two RDNs: inside the subtree, not the exact DN. */
	n = peer_dn(der, mn1, 4);
	assert_int_equal(pad_lookup(pad, IKEV2_ID_DER_ASN1_DN, der, n)->id, sub);
	n = peer_dn(der, other, 6);
	assert_null(pad_lookup(pad, IKEV2_ID_DER_ASN1_DN, der, n));
	/* Garbage and trailing bytes are no DN. */
	n = peer_dn(der, mn1, 6);
	assert_null(pad_lookup(pad, IKEV2_ID_DER_ASN1_DN, der, n - 3));
	der[n] = 0;
	assert_null(pad_lookup(pad, IKEV2_ID_DER_ASN1_DN, der, n + 1));
	pad_free(pad);
}

/* RFC 4877 §4.4: the MN's identity is its home address, and it may claim
 * only that address for its side of the CHILD SA. */
static void test_home_address(void **state)
{
	struct pad *pad = pad_new();
	struct pad_entry e = { .claim_self = true, .auth = PAD_AUTH_CERT };
	uint8_t hoa[16], other[16];
	struct spd_ts req[2], out[4];
	const struct pad_entry *pe;
	uint64_t d0 = ctr("mipsec_pad_ts_denied_total"), n0 = ctr("mipsec_pad_ts_narrowed_total");
	char why[160];
	size_t n;

	assert_int_equal(pad_entry_set_id(&e, IKEV2_ID_IPV6_ADDR, PAD_MATCH_RANGE,
					  "2001:db8:1::/64"), PAD_OK);
	assert_int_equal(pad_add(pad, &e, NULL), PAD_OK);
	inet_pton(AF_INET6, "2001:db8:1::100", hoa);
	inet_pton(AF_INET6, "2001:db8:2::100", other);
	pe = pad_lookup(pad, IKEV2_ID_IPV6_ADDR, hoa, 16);
	assert_non_null(pe);
	assert_null(pad_lookup(pad, IKEV2_ID_IPV6_ADDR, other, 16));
	assert_null(pad_lookup(pad, IKEV2_ID_IPV6_ADDR, hoa, 4));

	/* Its own home address, BU selector: allowed as asked. */
	req[0] = ts6("2001:db8:1::100", "2001:db8:1::100", 135, 5 << 8, 5 << 8);
	assert_int_equal(pad_authorize(pe, IKEV2_ID_IPV6_ADDR, hoa, 16, req, 1, out, 4, &n,
				       why, sizeof(why)), PAD_ALLOW);
	assert_int_equal(n, 1);
	assert_memory_equal(&out[0], &req[0], sizeof(out[0]));

	/* The whole home prefix: narrowed to the home address. */
	req[0] = ts6("2001:db8:1::", "2001:db8:1::ffff", 0, 0, 0xffff);
	assert_int_equal(pad_authorize(pe, IKEV2_ID_IPV6_ADDR, hoa, 16, req, 1, out, 4, &n,
				       why, sizeof(why)), PAD_NARROWED);
	assert_int_equal(n, 1);
	assert_memory_equal(out[0].start, hoa, 16);
	assert_memory_equal(out[0].end, hoa, 16);
	assert_int_equal(ctr("mipsec_pad_ts_narrowed_total"), n0 + 1);

	/* Another MN's home address in the same prefix: refused. */
	req[0] = ts6("2001:db8:1::101", "2001:db8:1::101", 135, 0, 0xffff);
	req[1] = ts6("2001:db8:2::1", "2001:db8:2::1", 0, 0, 0xffff);
	assert_int_equal(pad_authorize(pe, IKEV2_ID_IPV6_ADDR, hoa, 16, req, 2, out, 4, &n,
				       why, sizeof(why)), PAD_DENY_TS);
	assert_int_equal(n, 0);
	assert_string_equal(why, "pad: entry 1 does not allow 2001:db8:1::101-2001:db8:1::101 "
				 "proto 135 ports 0-65535");
	assert_int_equal(ctr("mipsec_pad_ts_denied_total"), d0 + 1);

	/* Malformed request and empty list. */
	req[0] = ts6("2001:db8:1::101", "2001:db8:1::100", 0, 0, 0xffff);
	assert_int_equal(pad_authorize(pe, IKEV2_ID_IPV6_ADDR, hoa, 16, req, 1, out, 4, &n,
				       why, sizeof(why)), PAD_DENY_BAD_TS);
	assert_string_equal(why, "pad: requested selector 1 is malformed");
	assert_int_equal(pad_authorize(pe, IKEV2_ID_IPV6_ADDR, hoa, 16, req, 0, out, 4, &n,
				       NULL, 0), PAD_DENY_TS);
	assert_int_equal(pad_authorize(NULL, IKEV2_ID_IPV6_ADDR, hoa, 16, req, 1, out, 4, &n,
				       why, sizeof(why)), PAD_DENY_NO_ENTRY);
	pad_free(pad);
}

/* An FQDN identity bound to an explicit home prefix (a mobile router). */
static void test_prefix_space(void **state)
{
	struct pad *pad = pad_new();
	struct pad_entry e = { .auth = PAD_AUTH_PSK, .psk_len = 4 };
	struct ip_prefix p;
	struct spd_ts req[2], out[4];
	const struct pad_entry *pe;
	size_t n;

	memcpy(e.psk, "abcd", 4);
	assert_int_equal(pad_entry_set_id(&e, IKEV2_ID_FQDN, PAD_MATCH_EXACT, "mr1.example.com"),
			 PAD_OK);
	assert_int_equal(ip_prefix_parse("2001:db8:5::/48", AF_INET6, true, &p), ADDR_OK);
	assert_int_equal(pad_entry_add_prefix(&e, &p), PAD_OK);
	assert_int_equal(ip_prefix_parse("192.0.2.0/24", AF_INET, true, &p), ADDR_OK);
	assert_int_equal(pad_entry_add_prefix(&e, &p), PAD_OK);
	assert_int_equal(pad_add(pad, &e, NULL), PAD_OK);
	pe = look(pad, IKEV2_ID_FQDN, "mr1.example.com");
	assert_non_null(pe);
	assert_int_equal(pe->auth, PAD_AUTH_PSK);
	req[0] = ts6("2001:db8:5:1::", "2001:db8:5:1::ffff", 6, 80, 80);
	req[1] = (struct spd_ts){ .family = AF_INET, .port_end = 0xffff,
				  .start = { 192, 0, 2, 0 }, .end = { 192, 0, 3, 255 } };
	assert_int_equal(pad_authorize(pe, IKEV2_ID_FQDN, (const uint8_t *)"mr1.example.com", 15,
				       req, 2, out, 4, &n, NULL, 0), PAD_NARROWED);
	assert_int_equal(n, 2);
	assert_int_equal(out[1].family, AF_INET);
	assert_int_equal(out[1].end[2], 2);
	assert_int_equal(out[1].end[3], 255);
	/* claim_self is off: the identity grants nothing by itself. */
	pad_free(pad);
}

static void test_set_id_errors(void **state)
{
	struct pad_entry e = { 0 };
	char big[400];

	assert_int_equal(pad_entry_set_id(&e, IKEV2_ID_IPV6_ADDR, PAD_MATCH_EXACT, "2001:db8::g"),
			 PAD_ERR_VALUE);
	assert_int_equal(pad_entry_set_id(&e, IKEV2_ID_IPV4_ADDR, PAD_MATCH_EXACT, "2001:db8::1"),
			 PAD_ERR_VALUE);
	assert_int_equal(pad_entry_set_id(&e, IKEV2_ID_IPV6_ADDR, PAD_MATCH_RANGE, "2001:db8::"),
			 PAD_ERR_VALUE);
	assert_int_equal(pad_entry_set_id(&e, IKEV2_ID_IPV6_ADDR, PAD_MATCH_SUFFIX, "*::1"),
			 PAD_ERR_ID_TYPE);
	assert_int_equal(pad_entry_set_id(&e, IKEV2_ID_FQDN, PAD_MATCH_SUFFIX, "example.com"),
			 PAD_ERR_VALUE);
	assert_int_equal(pad_entry_set_id(&e, IKEV2_ID_FQDN, PAD_MATCH_SUBTREE, "a"),
			 PAD_ERR_ID_TYPE);
	assert_int_equal(pad_entry_set_id(&e, IKEV2_ID_DER_ASN1_DN, PAD_MATCH_EXACT, "CN"),
			 PAD_ERR_VALUE);
	assert_int_equal(pad_entry_set_id(&e, IKEV2_ID_DER_ASN1_DN, PAD_MATCH_EXACT, "XX=1"),
			 PAD_ERR_VALUE);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	assert_int_equal(pad_entry_set_id(&e, IKEV2_ID_FQDN, PAD_MATCH_EXACT, big),
			 PAD_ERR_TOO_LONG);
	assert_int_equal(pad_entry_set_id(&e, 200, PAD_MATCH_EXACT, "x"), PAD_ERR_ID_TYPE);
	e.value_len = 0;
	{
		struct pad *pad = pad_new();

		assert_int_equal(pad_add(pad, &e, NULL), PAD_ERR_VALUE);
		pad_free(pad);
	}
	assert_string_equal(pad_strerror(PAD_ERR_ID_TYPE),
			    "identity type cannot be matched this way");
}

static void test_dump(void **state)
{
	struct pad *pad = pad_new();
	struct pad_entry e = { .claim_self = true };
	struct table *t;
	json_t *a, *o;

	add(pad, IKEV2_ID_DER_ASN1_DN, PAD_MATCH_SUBTREE, "C=FI, O=Example", 2);
	assert_int_equal(pad_entry_set_id(&e, IKEV2_ID_IPV6_ADDR, PAD_MATCH_EXACT,
					  "2001:db8:1::100"), PAD_OK);
	assert_int_equal(pad_add(pad, &e, NULL), PAD_OK);
	pad_table_register(pad, NULL);
	t = table_find("pad");
	assert_non_null(t);
	a = t->dump(t->arg);
	assert_int_equal(json_array_size(a), 2);
	o = json_array_get(a, 0);
	assert_string_equal(json_string_value(json_object_get(o, "identity")), "2001:db8:1::100");
	assert_true(json_is_true(json_object_get(o, "claim_self")));
	o = json_array_get(a, 1);
	assert_string_equal(json_string_value(json_object_get(o, "identity")), "/C=FI/O=Example");
	assert_string_equal(json_string_value(json_object_get(o, "match")), "subtree");
	json_decref(a);
	pad_free(pad);
	assert_null(table_find("pad"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_dn),
		cmocka_unit_test(test_home_address),
		cmocka_unit_test(test_prefix_space),
		cmocka_unit_test(test_set_id_errors),
		cmocka_unit_test(test_dump),
	};

	pad_stats_register();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
