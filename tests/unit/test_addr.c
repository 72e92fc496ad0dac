#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "core/addr.h"

static void test_prefix_parse(void **state)
{
	struct ip_prefix p;
	char buf[64];

	(void)state;
	assert_int_equal(ip_prefix_parse("2001:db8::/32", AF_INET6, true, &p), ADDR_OK);
	assert_int_equal(p.len, 32);
	assert_true(ip_prefix_is_network(&p));
	assert_string_equal(ip_prefix_fmt(&p, buf, sizeof(buf)), "2001:db8::/32");
	assert_int_equal(ip_prefix_parse("2001:db8::1", AF_INET6, false, &p), ADDR_OK);
	assert_int_equal(p.len, 128);
	assert_int_equal(ip_prefix_parse("2001:db8::1", AF_INET6, true, &p),
			 ADDR_ERR_PLEN_MISSING);
	assert_int_equal(ip_prefix_parse("2001:db8::1/129", AF_UNSPEC, true, &p),
			 ADDR_ERR_PLEN_RANGE);
	assert_int_equal(ip_prefix_parse("10.0.0.0/33", AF_UNSPEC, true, &p),
			 ADDR_ERR_PLEN_RANGE);
	assert_int_equal(ip_prefix_parse("10.0.0.0/8", AF_INET6, true, &p), ADDR_ERR_FAMILY);
	assert_int_equal(ip_prefix_parse("10.0.0.0/x", AF_INET, true, &p),
			 ADDR_ERR_PLEN_SYNTAX);
	assert_int_equal(ip_prefix_parse("10.0.0.0/-1", AF_INET, true, &p),
			 ADDR_ERR_PLEN_SYNTAX);
	assert_int_equal(ip_prefix_parse("10.0.0.0/0008", AF_INET, true, &p),
			 ADDR_ERR_PLEN_SYNTAX);
	assert_int_equal(ip_prefix_parse("fe80::1%eth0/64", AF_INET6, true, &p),
			 ADDR_ERR_SYNTAX);
	assert_int_equal(ip_prefix_parse("2001:db8::1/64", AF_INET6, true, &p), ADDR_OK);
	assert_false(ip_prefix_is_network(&p));
}

static void test_contains(void **state)
{
	struct ip_prefix p;
	struct ip_addr a;

	(void)state;
	assert_int_equal(ip_prefix_parse("2001:db8:5b::/61", AF_INET6, true, &p), ADDR_OK);
	assert_int_equal(ip_addr_parse("2001:db8:5b:7::1", AF_INET6, &a), ADDR_OK);
	assert_true(ip_prefix_contains(&p, &a));
	assert_int_equal(ip_addr_parse("2001:db8:5b:8::1", AF_INET6, &a), ADDR_OK);
	assert_false(ip_prefix_contains(&p, &a));
	assert_int_equal(ip_addr_parse("192.0.2.1", AF_INET, &a), ADDR_OK);
	assert_false(ip_prefix_contains(&p, &a));
}

static void test_sockaddr(void **state)
{
	struct sockaddr_storage ss;
	size_t len;

	(void)state;
	assert_true(sockaddr_parse("[::1]:9100", &ss, &len));
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_true(sockaddr_parse("127.0.0.1:80", &ss, &len));
	assert_int_equal(ss.ss_family, AF_INET);
	assert_false(sockaddr_parse("::1:9100", &ss, &len));
	assert_false(sockaddr_parse("[::1]9100", &ss, &len));
	assert_false(sockaddr_parse("127.0.0.1:", &ss, &len));
	assert_false(sockaddr_parse("127.0.0.1:65536", &ss, &len));
	assert_false(sockaddr_parse("[127.0.0.1]:80", &ss, &len));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefix_parse),
		cmocka_unit_test(test_contains),
		cmocka_unit_test(test_sockaddr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
