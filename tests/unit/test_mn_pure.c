/* The mobile node's pure parts: care-of address formation, the
 * Home-Agents anycast address, movement decisions from RAs, router loss
 * timing, DHAAD Reply handling and the Binding Update it sends (read back
 * with our independent IPv6/MH parsers, checksum included). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <string.h>

#include "mip6/mn.h"
#include "wire/exthdr.h"
#include "wire/mh.h"

static struct in6_addr A(const char *s)
{
	struct in6_addr a;
	assert_int_equal(inet_pton(AF_INET6, s, &a), 1);
	return a;
}

static struct ip_prefix P(const char *s)
{
	struct ip_prefix p;
	assert_int_equal(ip_prefix_parse(s, AF_INET6, true, &p), ADDR_OK);
	return p;
}

static void test_coa_eui64(void **state)
{
	static const uint8_t mac[6] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55 };
	struct ip_prefix p = P("2001:db8:1::/64");
	struct in6_addr out, want = A("2001:db8:1::211:22ff:fe33:4455");
	(void)state;

	assert_int_equal(mn_coa_form(p.addr.bytes, 64, MN_IID_EUI64, mac, 6, "eth0", NULL, &out), 0);
	assert_memory_equal(&out, &want, 16);
	/* Only /64 prefixes form addresses (RFC 4862 §5.5.3 with RFC 4291). */
	assert_int_equal(mn_coa_form(p.addr.bytes, 48, MN_IID_EUI64, mac, 6, "eth0", NULL, &out), -1);
	/* EUI-64 needs a 48-bit MAC. */
	assert_int_equal(mn_coa_form(p.addr.bytes, 64, MN_IID_EUI64, mac, 0, "eth0", NULL, &out), -1);
}

static void test_coa_stable(void **state)
{
	static const uint8_t secret[16] = { 1, 2, 3 };
	struct ip_prefix p1 = P("2001:db8:1::/64"), p2 = P("2001:db8:2::/64");
	struct in6_addr a, b, c, d;
	(void)state;

	assert_int_equal(mn_coa_form(p1.addr.bytes, 64, MN_IID_STABLE, NULL, 0, "eth0", secret, &a), 0);
	assert_int_equal(mn_coa_form(p1.addr.bytes, 64, MN_IID_STABLE, NULL, 0, "eth0", secret, &b), 0);
	assert_memory_equal(&a, &b, 16);		/* stable */
	assert_memory_equal(&a, p1.addr.bytes, 8);	/* in the prefix */
	assert_int_equal(a.s6_addr[8] & 0x02, 0);	/* local IID */
	assert_int_equal(mn_coa_form(p2.addr.bytes, 64, MN_IID_STABLE, NULL, 0, "eth0", secret, &c), 0);
	assert_memory_not_equal(&a.s6_addr[8], &c.s6_addr[8], 8);	/* differs per prefix */
	assert_int_equal(mn_coa_form(p1.addr.bytes, 64, MN_IID_STABLE, NULL, 0, "eth1", secret, &d), 0);
	assert_memory_not_equal(&a.s6_addr[8], &d.s6_addr[8], 8);	/* and per interface */
}

static void test_anycast(void **state)
{
	struct in6_addr out, w;
	struct ip_prefix p;
	(void)state;

	p = P("2001:db8:8::/64");
	assert_int_equal(mn_ha_anycast(&p, &out), 0);
	w = A("2001:db8:8:0:fdff:ffff:ffff:fffe");
	assert_memory_equal(&out, &w, 16);
	p = P("2001:db8:8::/48");
	assert_int_equal(mn_ha_anycast(&p, &out), 0);
	w = A("2001:db8:8:ffff:ffff:ffff:ffff:fffe");
	assert_memory_equal(&out, &w, 16);
	p = P("2001:db8:8::/120");
	assert_int_equal(mn_ha_anycast(&p, &out), 0);
	w = A("2001:db8:8::fe");
	assert_memory_equal(&out, &w, 16);
	p = P("2001:db8:8::/121");
	assert_int_equal(mn_ha_anycast(&p, &out), -1);
}

static void add_prefix(struct nd_ra *ra, const char *s, bool autonomous, uint32_t valid)
{
	struct nd_prefix *p = &ra->prefixes[ra->n_prefixes++];
	struct ip_prefix x = P(s);

	memcpy(p->prefix, x.addr.bytes, 16);
	p->prefix_len = x.len;
	p->on_link = true;
	p->autonomous = autonomous;
	p->valid_lifetime = valid;
	p->preferred_lifetime = valid / 2;
}

static void test_ra_decide(void **state)
{
	struct ip_prefix home = P("2001:db8:8::/64"), none = { 0 };
	struct ip_prefix cur = { .addr = { .family = AF_INET6 }, .len = 64 };
	struct nd_ra ra = { .router_lifetime = 1800 };
	struct mn_ra_decision d;
	(void)state;

	cur.addr.v6 = A("2001:db8:1::211:22ff:fe33:4455");
	/* Nothing usable: not autonomous, /56, zero valid lifetime. */
	add_prefix(&ra, "2001:db8:5::/64", false, 100);
	add_prefix(&ra, "2001:db8:6::/56", true, 100);
	add_prefix(&ra, "2001:db8:7::/64", true, 0);
	assert_int_equal(mn_ra_decide(&ra, &home, &none).verdict, MN_RA_IGNORE);
	/* First attachment: move to the first usable prefix. */
	add_prefix(&ra, "2001:db8:2::/64", true, 100);
	add_prefix(&ra, "2001:db8:1::/64", true, 100);
	d = mn_ra_decide(&ra, &home, &none);
	assert_int_equal(d.verdict, MN_RA_MOVE);
	struct ip_prefix want = P("2001:db8:2::/64");
	assert_true(ip_addr_eq(&d.prefix.addr, &want.addr));
	/* Our CoA's prefix is still advertised: no movement (§11.5.1). */
	d = mn_ra_decide(&ra, &home, &cur);
	assert_int_equal(d.verdict, MN_RA_SAME);
	want = P("2001:db8:1::/64");
	assert_true(ip_addr_eq(&d.prefix.addr, &want.addr));
	/* A new link: the old prefix is gone. */
	ra.n_prefixes = 4;
	d = mn_ra_decide(&ra, &home, &cur);
	assert_int_equal(d.verdict, MN_RA_MOVE);
	/* Home prefix: at home, even non-autonomous. */
	add_prefix(&ra, "2001:db8:8::/64", false, 50);
	d = mn_ra_decide(&ra, &home, &cur);
	assert_int_equal(d.verdict, MN_RA_HOME);
	assert_int_equal(d.valid_lifetime, 50);
	/* Router lifetime 0: not a default router. */
	ra.router_lifetime = 0;
	assert_int_equal(mn_ra_decide(&ra, &home, &cur).verdict, MN_RA_IGNORE);
}

static void test_router_timeout(void **state)
{
	struct nd_ra ra = { .router_lifetime = 30 };
	(void)state;

	assert_int_equal(mn_router_timeout_ms(&ra), 30000);
	ra.has_adv_interval = true;
	ra.adv_interval_ms = 1000;
	assert_int_equal(mn_router_timeout_ms(&ra), 3000);	/* three missed intervals */
	ra.adv_interval_ms = 10;
	assert_int_equal(mn_router_timeout_ms(&ra), 100);	/* floor */
}

static void test_dhaad_reply(void **state)
{
	uint8_t body[16 * 5];
	struct in6_addr list[4], a1 = A("2001:db8:8::1"), a2 = A("2001:db8:8::2"),
				 ll = A("fe80::1"), mc = A("ff02::1");
	struct icmp6_msg m = { .type = ICMPV6_HAAD_REPLY, .identifier = 77, .body = body,
			       .n_addrs = 5, .body_len = sizeof(body) };
	(void)state;

	memcpy(body, &a1, 16);
	memcpy(body + 16, &ll, 16);	/* not a usable HA address */
	memcpy(body + 32, &a2, 16);
	memcpy(body + 48, &a1, 16);	/* duplicate */
	memcpy(body + 64, &mc, 16);
	assert_int_equal(mn_dhaad_reply(&m, 78, list, 4), -1);	/* other request */
	assert_int_equal(mn_dhaad_reply(&m, 77, list, 4), 2);
	assert_memory_equal(&list[0], &a1, 16);	/* preference order kept */
	assert_memory_equal(&list[1], &a2, 16);
	assert_int_equal(mn_dhaad_reply(&m, 77, list, 1), 1);
	m.type = ICMPV6_MPA;
	assert_int_equal(mn_dhaad_reply(&m, 77, list, 4), -1);
}

static void test_bu_build(void **state)
{
	uint8_t buf[256];
	struct in6_addr coa = A("2001:db8:1::211:22ff:fe33:4455"), ha = A("2001:db8:8::1"),
			hoa = A("2001:db8:8::4");
	struct ipv6_chain c;
	struct wire_error err;
	struct mh_msg m;
	(void)state;

	int n = mn_bu_build(buf, sizeof(buf), &coa, &ha, &hoa, 4242, MH_BU_A | MH_BU_H, 601);
	assert_true(n > 0);
	assert_int_equal(ipv6_walk(buf, (size_t)n, &c, &err), WIRE_OK);
	assert_memory_equal(c.ip.src, &coa, 16);
	assert_memory_equal(c.ip.dst, &ha, 16);
	assert_non_null(c.hoa);
	assert_memory_equal(c.hoa, &hoa, 16);
	assert_int_equal(c.proto, PROTO_MH);
	assert_int_equal(mh_parse(buf + c.off, c.len, c.src, c.dst, &m, &err), WIRE_OK);
	assert_int_equal(m.type, MH_BU);
	assert_int_equal(m.u.bu.seq, 4242);
	assert_int_equal(m.u.bu.flags, MH_BU_A | MH_BU_H);
	assert_int_equal(m.u.bu.lifetime, 151);	/* 601 s rounded up to 4 s units */
	/* Wrong pseudo-header (the CoA instead of the HoA): checksum fails. */
	assert_int_equal(mh_parse(buf + c.off, c.len, c.ip.src, c.dst, &m, &err), WIRE_ECSUM);

	/* Deregistration from home: source = HoA, the HAO repeating it. */
	n = mn_bu_build(buf, sizeof(buf), &hoa, &ha, &hoa, 9, MH_BU_A | MH_BU_H, 0);
	assert_true(n > 0);
	assert_int_equal(ipv6_walk(buf, (size_t)n, &c, &err), WIRE_OK);
	assert_non_null(c.hoa);
	assert_memory_equal(c.hoa, &hoa, 16);
	assert_memory_equal(c.ip.src, &hoa, 16);
	assert_int_equal(mh_parse(buf + c.off, c.len, c.src, c.dst, &m, &err), WIRE_OK);
	assert_int_equal(m.u.bu.lifetime, 0);
	/* No room: error, not an overrun. */
	assert_int_equal(mn_bu_build(buf, 50, &coa, &ha, &hoa, 1, 0, 4), -1);
}

static void test_bu_build4(void **state)
{
	uint8_t buf[256];
	struct in6_addr ha = A("2001:db8:8::1"), hoa = A("2001:db8:8::4");
	struct in_addr v4;
	struct ipv6_chain c;
	struct wire_error err;
	struct mh_msg m;
	(void)state;

	inet_pton(AF_INET, "192.0.2.10", &v4);
	int n = mn_bu_build4(buf, sizeof(buf), &v4, &ha, &hoa, 7, MH_BU_A | MH_BU_H, 600);
	assert_true(n > 0);
	assert_int_equal(ipv6_walk(buf, (size_t)n, &c, &err), WIRE_OK);
	assert_memory_equal(c.ip.src, &hoa, 16);	/* RFC 5555 §4.2: from the HoA */
	assert_null(c.hoa);
	assert_int_equal(mh_parse(buf + c.off, c.len, c.src, c.dst, &m, &err), WIRE_OK);
	assert_int_equal(m.u.bu.lifetime, 150);
	const struct mh_opt *o = mh_find_opt(&m, MH_OPT_V4_COA);
	assert_non_null(o);
	assert_memory_equal(o->u.v4_coa.addr, &v4.s_addr, 4);
	assert_int_equal(o->off % 4, 0);	/* 4n alignment */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_coa_eui64),
		cmocka_unit_test(test_coa_stable),
		cmocka_unit_test(test_anycast),
		cmocka_unit_test(test_ra_decide),
		cmocka_unit_test(test_router_timeout),
		cmocka_unit_test(test_dhaad_reply),
		cmocka_unit_test(test_bu_build),
		cmocka_unit_test(test_bu_build4),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
