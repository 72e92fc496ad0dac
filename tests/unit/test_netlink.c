/* rtnetlink helpers against the real kernel, inside a private netns. Each
 * change is checked through our own dumps and once more through `ip -j`. */
#include <errno.h>
#include <jansson.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/addr.h"
#include "net/loop.h"
#include "net/netlink.h"
#include "net_isolate.h"

static struct nl *nl;
static int if0, if1;			/* the veth pair mv0 / mv1 */

static struct ip_prefix P(const char *s)
{
	struct ip_prefix p;

	assert_int_equal(ip_prefix_parse(s, AF_UNSPEC, false, &p), ADDR_OK);
	return p;
}

static struct ip_addr A(const char *s)
{
	struct ip_addr a;

	assert_int_equal(ip_addr_parse(s, AF_UNSPEC, &a), ADDR_OK);
	return a;
}

/* Runs a shell command (in our netns) and parses its stdout as JSON. */
static json_t *run_json(const char *fmt, ...)
{
	char cmd[512], out[65536];
	size_t n = 0, r;
	va_list ap;
	json_error_t err;
	FILE *f;
	json_t *j;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	f = popen(cmd, "r");
	assert_non_null(f);
	while (n < sizeof(out) - 1 && (r = fread(out + n, 1, sizeof(out) - 1 - n, f)) > 0)
		n += r;
	out[n] = '\0';
	assert_int_equal(pclose(f), 0);
	j = json_loads(out, 0, &err);
	if (!j)
		fail_msg("`%s` gave no JSON: %s (%s)", cmd, err.text, out);
	return j;
}

static int setup(void **state)
{
	if (!net_isolated)
		return 0;
	nl = nl_open();
	assert_non_null(nl);
	assert_int_equal(nl_link_add_veth(nl, "mv0", "mv1", -1), 0);
	if0 = nl_link_index("mv0");
	if1 = nl_link_index("mv1");
	assert_true(if0 > 0 && if1 > 0 && if0 != if1);
	return 0;
}

static int teardown(void **state)
{
	nl_close(nl);
	return 0;
}

static void test_link(void **state)
{
	struct nl_link_info li;
	uint8_t mac[32];

	REQUIRE_NETNS();
	assert_int_equal(nl_link_index("nosuchlink"), -ENODEV);
	assert_int_equal(nl_link_index(""), -EINVAL);
	assert_int_equal(nl_link_add_veth(nl, "mv0", "mvx", -1), -EEXIST);

	assert_int_equal(nl_link_set_mtu(nl, if0, 1400), 0);
	assert_int_equal(nl_link_get(nl, if0, &li), 0);
	assert_int_equal(li.mtu, 1400);
	assert_string_equal(li.name, "mv0");
	assert_int_equal(li.ifindex, if0);
	assert_false(li.flags & IFF_UP);

	assert_int_equal(nl_link_set_up(nl, if0, true), 0);
	assert_int_equal(nl_link_get(nl, if0, &li), 0);
	assert_true(li.flags & IFF_UP);
	assert_int_equal(nl_link_set_up(nl, if0, false), 0);
	assert_int_equal(nl_link_get(nl, if0, &li), 0);
	assert_false(li.flags & IFF_UP);

	assert_int_equal(nl_link_lladdr(nl, if0, mac, sizeof(mac)), 6);
	assert_memory_equal(mac, li.lladdr, 6);
	assert_int_equal(nl_link_lladdr(nl, if0, mac, 3), -ENOSPC);

	/* Independent check of the MTU. */
	json_t *j = run_json("ip -j link show dev mv0");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(j, 0), "mtu")), 1400);
	json_decref(j);
	assert_int_equal(nl_link_set_mtu(nl, if0, 1500), 0);

	assert_int_equal(nl_link_set_up(nl, 99999, true), -ENODEV);
	assert_int_equal(nl_link_set_mtu(nl, 99999, 1400), -ENODEV);
	assert_int_equal(nl_link_get(nl, 99999, &li), -ENODEV);
	assert_int_equal(nl_link_del(nl, 99999), -ENODEV);
}

struct addr_find {
	struct ip_prefix want;
	int ifindex;
	bool found;
	uint32_t flags;
	int count;
};

static void addr_find_cb(const struct nl_addr_info *a, void *arg)
{
	struct addr_find *f = arg;

	f->count++;
	if (a->ifindex == f->ifindex && a->prefix.len == f->want.len &&
	    ip_addr_eq(&a->prefix.addr, &f->want.addr)) {
		f->found = true;
		f->flags = a->ifa_flags;
	}
}

/* Looks for p on if0 in a dump of `family` filtered by `ifindex` (0: all). */
static struct addr_find addr_lookup(int family, int ifindex, const char *p)
{
	struct addr_find f = { .want = P(p), .ifindex = if0 };

	assert_int_equal(nl_addr_dump(nl, family, ifindex, addr_find_cb, &f), 0);
	return f;
}

/* Finds `local` in `ip -j addr show dev` output; returns its addr_info. */
static json_t *ip_addr_entry(json_t *j, const char *local)
{
	json_t *ai = json_object_get(json_array_get(j, 0), "addr_info");
	size_t i;
	json_t *e;

	json_array_foreach(ai, i, e) {
		if (strcmp(json_string_value(json_object_get(e, "local")) ?: "", local) == 0)
			return e;
	}
	return NULL;
}

static void test_addr(void **state)
{
	struct ip_prefix v4 = P("10.20.0.1/24"), opt = P("2001:db8:1::1/64"),
			 nodad = P("2001:db8:2::1/64");
	struct addr_find f;
	json_t *j, *e;

	REQUIRE_NETNS();
	assert_int_equal(nl_link_set_up(nl, if0, false), 0);
	assert_int_equal(nl_addr_add(nl, if0, &v4, 0), 0);
	assert_int_equal(nl_addr_add(nl, if0, &v4, 0), -EEXIST);
	/* The link is down, so DAD cannot start and the flags stay put. */
	assert_int_equal(nl_addr_add(nl, if0, &opt, NL_ADDR_OPTIMISTIC), 0);
	assert_int_equal(nl_addr_add(nl, if0, &nodad, NL_ADDR_NODAD), 0);
	assert_int_equal(nl_addr_add(nl, 99999, &v4, 0), -ENODEV);
	assert_int_equal(nl_addr_add(nl, if0, &v4, 0x80), -EINVAL);

	f = addr_lookup(AF_INET, if0, "10.20.0.1/24");
	assert_true(f.found);
	f = addr_lookup(AF_UNSPEC, 0, "2001:db8:1::1/64");
	assert_true(f.found);
	assert_true(f.flags & IFA_F_OPTIMISTIC);
	assert_true(f.flags & IFA_F_TENTATIVE);
	f = addr_lookup(AF_INET6, if0, "2001:db8:2::1/64");
	assert_true(f.found);
	assert_true(f.flags & IFA_F_NODAD);
	assert_false(f.flags & IFA_F_TENTATIVE);
	/* Family filter: the IPv4 address is not in an IPv6 dump. */
	f = addr_lookup(AF_INET6, if0, "10.20.0.1/24");
	assert_false(f.found);
	assert_true(f.count >= 2);
	/* ifindex filter. */
	f = addr_lookup(AF_UNSPEC, if1, "10.20.0.1/24");
	assert_false(f.found);

	j = run_json("ip -j addr show dev mv0");
	e = ip_addr_entry(j, "2001:db8:1::1");
	assert_non_null(e);
	assert_true(json_is_true(json_object_get(e, "optimistic")));
	e = ip_addr_entry(j, "10.20.0.1");
	assert_non_null(e);
	assert_int_equal(json_integer_value(json_object_get(e, "prefixlen")), 24);
	json_decref(j);

	assert_int_equal(nl_addr_del(nl, if0, &v4), 0);
	assert_int_equal(nl_addr_del(nl, if0, &v4), -EADDRNOTAVAIL);
	assert_int_equal(nl_addr_del(nl, if0, &opt), 0);
	assert_int_equal(nl_addr_del(nl, if0, &nodad), 0);
	assert_false(addr_lookup(AF_UNSPEC, if0, "10.20.0.1/24").found);
	assert_false(addr_lookup(AF_UNSPEC, if0, "2001:db8:1::1/64").found);
	assert_int_equal(nl_addr_dump(nl, 99, 0, addr_find_cb, &f), -EAFNOSUPPORT);
}

struct route_find {
	struct nl_route want;
	bool found;
	struct nl_route_info got;
};

static void route_find_cb(const struct nl_route_info *ri, void *arg)
{
	struct route_find *f = arg;

	if (ri->r.dst.len == f->want.dst.len &&
	    ip_addr_eq(&ri->r.dst.addr, &f->want.dst.addr)) {
		f->found = true;
		f->got = *ri;
	}
}

static struct route_find route_lookup(const struct nl_route *r, uint32_t table)
{
	struct route_find f = { .want = *r };

	assert_int_equal(nl_route_dump(nl, r->dst.addr.family, table, route_find_cb, &f), 0);
	return f;
}

static json_t *ip_route_entry(json_t *j, const char *dst)
{
	size_t i;
	json_t *e;

	json_array_foreach(j, i, e) {
		if (strcmp(json_string_value(json_object_get(e, "dst")) ?: "", dst) == 0)
			return e;
	}
	return NULL;
}

static void test_route(void **state)
{
	struct ip_prefix a0 = P("10.20.0.1/24"), a6 = P("2001:db8:5::1/64");
	struct nl_route r4 = { .dst = P("10.30.0.0/16"), .gateway = A("10.20.0.254"),
			       .table = 100, .metric = 50 };
	struct nl_route r6 = { .dst = P("2001:db8:99::/48"), .oif = if0, .metric = 77 };
	struct nl_route bad = { .dst = P("10.31.0.0/16"), .oif = 99999 };
	struct route_find f;
	json_t *j, *e;

	REQUIRE_NETNS();
	assert_int_equal(nl_link_set_up(nl, if1, true), 0);
	assert_int_equal(nl_link_set_up(nl, if0, true), 0);
	assert_int_equal(nl_addr_add(nl, if0, &a0, 0), 0);
	assert_int_equal(nl_addr_add(nl, if0, &a6, NL_ADDR_NODAD), 0);

	assert_int_equal(nl_route_add(nl, &r4, false), 0);
	assert_int_equal(nl_route_add(nl, &r4, false), -EEXIST);
	f = route_lookup(&r4, 100);
	assert_true(f.found);
	assert_int_equal(f.got.r.table, 100);
	assert_int_equal(f.got.r.metric, 50);
	assert_int_equal(f.got.r.oif, if0);
	assert_true(ip_addr_eq(&f.got.r.gateway, &r4.gateway));
	assert_int_equal(f.got.r.prefsrc.family, 0);
	assert_int_equal(f.got.protocol, RTPROT_STATIC);
	/* Not in main. */
	assert_false(route_lookup(&r4, RT_TABLE_MAIN).found);

	/* Replace adds the preferred source to the same route. */
	r4.prefsrc = A("10.20.0.1");
	assert_int_equal(nl_route_add(nl, &r4, true), 0);
	f = route_lookup(&r4, 100);
	assert_true(f.found);
	assert_true(ip_addr_eq(&f.got.r.prefsrc, &r4.prefsrc));

	j = run_json("ip -j route show table 100");
	e = ip_route_entry(j, "10.30.0.0/16");
	assert_non_null(e);
	assert_string_equal(json_string_value(json_object_get(e, "gateway")), "10.20.0.254");
	assert_string_equal(json_string_value(json_object_get(e, "prefsrc")), "10.20.0.1");
	assert_string_equal(json_string_value(json_object_get(e, "dev")), "mv0");
	assert_int_equal(json_integer_value(json_object_get(e, "metric")), 50);
	json_decref(j);

	/* IPv6, main table, directly connected. */
	assert_int_equal(nl_route_add(nl, &r6, false), 0);
	f = route_lookup(&r6, RT_TABLE_MAIN);
	assert_true(f.found);
	assert_int_equal(f.got.r.metric, 77);
	assert_int_equal(f.got.r.oif, if0);
	j = run_json("ip -j -6 route show");
	e = ip_route_entry(j, "2001:db8:99::/48");
	assert_non_null(e);
	assert_int_equal(json_integer_value(json_object_get(e, "metric")), 77);
	json_decref(j);

	/* IPv6 via a link-local gateway in a table of more than 8 bits. */
	struct nl_route g6 = { .dst = P("2001:db8:77::/48"), .gateway = A("fe80::1"),
			       .oif = if0, .table = 1000 };
	assert_int_equal(nl_route_add(nl, &g6, false), 0);
	f = route_lookup(&g6, 1000);
	assert_true(f.found);
	assert_int_equal(f.got.r.table, 1000);
	assert_true(ip_addr_eq(&f.got.r.gateway, &g6.gateway));
	assert_int_equal(nl_route_del(nl, &g6), 0);

	assert_int_equal(nl_route_add(nl, &bad, false), -ENODEV);
	bad.oif = 0;
	bad.gateway = A("2001:db8::1");		/* family mismatch */
	assert_int_equal(nl_route_add(nl, &bad, false), -EINVAL);

	assert_int_equal(nl_route_del(nl, &r4), 0);
	assert_int_equal(nl_route_del(nl, &r4), -ESRCH);
	assert_false(route_lookup(&r4, 100).found);
	assert_int_equal(nl_route_del(nl, &r6), 0);
	assert_false(route_lookup(&r6, 0).found);
	assert_int_equal(nl_route_del(nl, &r6), -ESRCH);

	assert_int_equal(nl_addr_del(nl, if0, &a0), 0);
	assert_int_equal(nl_addr_del(nl, if0, &a6), 0);
}

static json_t *ip_rule_entry(json_t *j, int prio)
{
	size_t i;
	json_t *e;

	json_array_foreach(j, i, e) {
		if (json_integer_value(json_object_get(e, "priority")) == prio)
			return e;
	}
	return NULL;
}

static void test_rule(void **state)
{
	struct nl_rule r4 = { .family = AF_INET, .priority = 1000, .table = 100,
			      .fwmark = 0x1234, .fwmask = 0xffff, .invert = true };
	struct nl_rule r6 = { .family = AF_INET6, .priority = 1001, .table = 2000,
			      .src = P("2001:db8::/32"), .dst = P("2001:db8:ff::/48") };
	struct nl_rule bad = { .family = AF_INET, .src = P("2001:db8::/32") };
	json_t *j, *e;

	REQUIRE_NETNS();
	assert_int_equal(nl_rule_add(nl, &r4), 0);
	assert_int_equal(nl_rule_add(nl, &r4), -EEXIST);
	assert_int_equal(nl_rule_add(nl, &r6), 0);
	assert_int_equal(nl_rule_add(nl, &bad), -EINVAL);

	j = run_json("ip -j -4 rule show");
	e = ip_rule_entry(j, 1000);
	assert_non_null(e);
	assert_non_null(json_object_get(e, "not"));
	assert_string_equal(json_string_value(json_object_get(e, "fwmark")), "0x1234");
	assert_string_equal(json_string_value(json_object_get(e, "fwmask")), "0xffff");
	assert_string_equal(json_string_value(json_object_get(e, "table")), "100");
	json_decref(j);

	j = run_json("ip -j -6 rule show");
	e = ip_rule_entry(j, 1001);
	assert_non_null(e);
	assert_null(json_object_get(e, "not"));
	assert_string_equal(json_string_value(json_object_get(e, "src")), "2001:db8::");
	assert_int_equal(json_integer_value(json_object_get(e, "srclen")), 32);
	assert_string_equal(json_string_value(json_object_get(e, "dst")), "2001:db8:ff::");
	assert_int_equal(json_integer_value(json_object_get(e, "dstlen")), 48);
	assert_string_equal(json_string_value(json_object_get(e, "table")), "2000");
	assert_null(ip_rule_entry(j, 1000));	/* IPv4 rule not in IPv6 */
	json_decref(j);

	assert_int_equal(nl_rule_del(nl, &r4), 0);
	assert_int_equal(nl_rule_del(nl, &r4), -ENOENT);
	assert_int_equal(nl_rule_del(nl, &r6), 0);
	j = run_json("ip -j rule show");
	assert_null(ip_rule_entry(j, 1000));
	json_decref(j);
	j = run_json("ip -j -6 rule show");
	assert_null(ip_rule_entry(j, 1001));
	json_decref(j);
}

static bool proxy_listed(const char *dst)
{
	json_t *j = run_json("ip -j -6 neigh show proxy dev mv0");
	bool found = false;
	size_t i;
	json_t *e;

	json_array_foreach(j, i, e) {
		if (strcmp(json_string_value(json_object_get(e, "dst")) ?: "", dst) == 0 &&
		    json_object_get(e, "proxy"))
			found = true;
	}
	json_decref(j);
	return found;
}

static void test_neigh_proxy(void **state)
{
	struct ip_addr a = A("2001:db8:5::5");

	REQUIRE_NETNS();
	assert_false(proxy_listed("2001:db8:5::5"));
	assert_int_equal(nl_neigh_proxy_add(nl, if0, &a), 0);
	assert_true(proxy_listed("2001:db8:5::5"));
	assert_int_equal(nl_neigh_proxy_del(nl, if0, &a), 0);
	assert_false(proxy_listed("2001:db8:5::5"));
	assert_int_equal(nl_neigh_proxy_del(nl, if0, &a), -ENOENT);
	assert_int_equal(nl_neigh_proxy_add(nl, 99999, &a), -ENODEV);
}

/* Monitor: the test waits for specific events with a generous deadline. */
struct mon_state {
	struct loop *loop;
	struct timer deadline;
	int ifindex, gone_ifindex;
	struct ip_prefix v4, v6;
	bool link_up, v4_new, v6_new, v4_del, link_removed, timed_out;
};

static void mon_check_done(struct mon_state *s)
{
	if (s->link_up && s->v4_new && s->v6_new && s->v4_del && s->link_removed)
		loop_exit(s->loop);
}

static bool ev_is(const struct nl_event *ev, int ifindex, const struct ip_prefix *p)
{
	return ev->ifindex == ifindex && ev->addr.prefix.len == p->len &&
	       ip_addr_eq(&ev->addr.prefix.addr, &p->addr);
}

static void mon_cb(const struct nl_event *ev, void *arg)
{
	struct mon_state *s = arg;

	switch (ev->kind) {
	case NL_EV_LINK:
		if (ev->ifindex == s->ifindex && ev->up && !ev->removed) {
			assert_string_equal(ev->ifname, "mv1");
			s->link_up = true;
		}
		if (ev->ifindex == s->gone_ifindex && ev->removed)
			s->link_removed = true;
		break;
	case NL_EV_ADDR_NEW:
		s->v4_new |= ev_is(ev, s->ifindex, &s->v4);
		s->v6_new |= ev_is(ev, s->ifindex, &s->v6);
		break;
	case NL_EV_ADDR_DEL:
		s->v4_del |= ev_is(ev, s->ifindex, &s->v4);
		break;
	case NL_EV_LOST:
		fail_msg("monitor lost events");
	}
	mon_check_done(s);
}

static void mon_timeout(void *arg)
{
	struct mon_state *s = arg;

	s->timed_out = true;
	loop_exit(s->loop);
}

static void test_monitor(void **state)
{
	struct mon_state s = { .v4 = P("10.40.0.1/24"), .v6 = P("2001:db8:40::1/64") };
	struct nl_monitor *m;

	REQUIRE_NETNS();
	s.loop = loop_new();
	assert_non_null(s.loop);
	assert_int_equal(timer_init(&s.deadline, s.loop, mon_timeout, &s), 0);
	m = nl_monitor_open(s.loop, mon_cb, &s);
	assert_non_null(m);
	s.ifindex = if1;

	assert_int_equal(nl_link_set_up(nl, if1, false), 0);
	assert_int_equal(nl_link_set_up(nl, if1, true), 0);
	assert_int_equal(nl_addr_add(nl, if1, &s.v4, 0), 0);
	assert_int_equal(nl_addr_add(nl, if1, &s.v6, NL_ADDR_NODAD), 0);
	assert_int_equal(nl_addr_del(nl, if1, &s.v4), 0);
	assert_int_equal(nl_link_add_veth(nl, "mv2", "mv3", -1), 0);
	s.gone_ifindex = nl_link_index("mv2");
	assert_true(s.gone_ifindex > 0);
	assert_int_equal(nl_link_del(nl, s.gone_ifindex), 0);
	assert_int_equal(nl_link_index("mv3"), -ENODEV);	/* peer went too */

	timer_arm_ms(&s.deadline, 10000);
	assert_int_equal(loop_run(s.loop), 0);
	assert_false(s.timed_out);
	assert_true(s.link_up && s.v4_new && s.v6_new && s.v4_del && s.link_removed);

	nl_monitor_close(m);
	timer_deinit(&s.deadline);
	loop_free(s.loop);
	assert_int_equal(nl_addr_del(nl, if1, &s.v6), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_link),
		cmocka_unit_test(test_addr),
		cmocka_unit_test(test_route),
		cmocka_unit_test(test_rule),
		cmocka_unit_test(test_neigh_proxy),
		cmocka_unit_test(test_monitor),
	};

	if (!net_isolate())
		fprintf(stderr, "test_netlink: skipping: %s\n", net_isolate_why);
	return cmocka_run_group_tests(tests, setup, teardown);
}
