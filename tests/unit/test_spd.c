/* SPD (src/ipsec/spd.c): policy order, RFC 4877 MH-type selectors for
 * BU/BA, ICMPv6 type/code, ports and OPAQUE fragments, the three inbound
 * and outbound decisions with their counters, selector extraction from raw
 * IPv4/IPv6 packets (HAO, RH2, fragments, malformed input), IKEv2 TS
 * conversion and narrowing, deletion, the table dump, and the prefix index
 * checked against a linear scan over thousands of random policies. */
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

#include "core/stats.h"
#include "core/table.h"
#include "ipsec/spd.h"
#include "wire/exthdr.h"
#include "wire/ipv4.h"

static uint64_t ctr(const char *name)
{
	for (struct counter *c = counter_first(); c; c = c->next)
		if (!strcmp(c->name, name))
			return c->value;
	fail_msg("counter %s not registered", name);
	return 0;
}

static struct ip_prefix pfx(const char *s)
{
	struct ip_prefix p;

	assert_int_equal(ip_prefix_parse(s, AF_UNSPEC, false, &p), ADDR_OK);
	return p;
}

static void addr(int family, const char *s, uint8_t out[16])
{
	memset(out, 0, 16);
	assert_int_equal(inet_pton(family, s, out), 1);
}

static struct spd_pkt pkt6(const char *src, const char *dst, uint8_t proto,
			   uint16_t sport, uint16_t dport, bool typed)
{
	struct spd_pkt t = { .family = AF_INET6, .proto = proto, .typed = typed,
			     .sport = sport, .dport = dport };

	addr(AF_INET6, src, t.src);
	addr(AF_INET6, dst, t.dst);
	return t;
}

static struct spd_policy policy(const char *local, const char *remote, enum spd_action a,
				uint32_t prio, uint32_t child)
{
	struct spd_policy p = { .priority = prio, .action = a };
	struct ip_prefix l = pfx(local), r = pfx(remote);

	spd_sel_any(&p.sel, l.addr.family);
	spd_sel_local_prefix(&p.sel, &l);
	spd_sel_remote_prefix(&p.sel, &r);
	if (a == SPD_PROTECT) {
		p.protect.child_id = child;
		p.protect.ipsec_proto = 50;
		p.protect.mode = SA_MODE_TRANSPORT;
	}
	return p;
}

static uint32_t add(struct spd *spd, const struct spd_policy *p)
{
	uint32_t id = 0;

	assert_int_equal(spd_add(spd, p, &id), SPD_OK);
	assert_int_not_equal(id, 0);
	return id;
}

static void test_order(void **state)
{
	struct spd *spd = spd_new();
	struct spd_policy wide = policy("::/0", "2001:db8::/32", SPD_BYPASS, 10, 0);
	struct spd_policy host = policy("::/0", "2001:db8::5/128", SPD_DISCARD, 20, 0);
	struct spd_policy same = policy("::/0", "2001:db8::/48", SPD_PROTECT, 10, 7);
	struct spd_pkt t = pkt6("2001:db8:1::1", "2001:db8::5", 17, 1000, 53, false);
	const struct spd_policy *p;
	uint32_t w, h, s;

	h = add(spd, &host);
	w = add(spd, &wide);
	s = add(spd, &same);
	/* Priority 10 beats 20 although the host policy is more specific;
	 * within priority 10 the earlier insertion wins. */
	p = spd_lookup(spd, SPD_OUT, &t);
	assert_non_null(p);
	assert_int_equal(p->id, w);
	assert_int_equal(p->hits, 1);
	assert_int_equal(spd_del(spd, w), SPD_OK);
	assert_int_equal(spd_lookup(spd, SPD_OUT, &t)->id, s);
	assert_int_equal(spd_del_child(spd, 7), 1);
	assert_int_equal(spd_lookup(spd, SPD_OUT, &t)->id, h);
	assert_int_equal(spd_del(spd, w), SPD_ERR_NOENT);
	assert_int_equal(spd_count(spd), 1);
	/* Inbound, the remote side is the source. */
	assert_null(spd_lookup(spd, SPD_IN, &t));
	spd_free(spd);
}

/* RFC 4877 §4.2 on the mobile node: BU out and BA in share a transport SA;
 * on the home agent the same policy is written the other way round. */
static void test_mh_types(void **state)
{
	struct spd *mn = spd_new(), *ha = spd_new();
	struct spd_policy p = policy("2001:db8:1::100/128", "2001:db8:1::1/128",
				     SPD_PROTECT, 1, 3);
	struct spd_pkt bu = pkt6("2001:db8:1::100", "2001:db8:1::1", 135, 5 << 8, 0, true);
	struct spd_pkt ba = pkt6("2001:db8:1::1", "2001:db8:1::100", 135, 6 << 8, 0, true);
	struct spd_pkt brr = pkt6("2001:db8:1::1", "2001:db8:1::100", 135, 0, 0, true);
	struct spd_pkt bu_in = pkt6("2001:db8:1::1", "2001:db8:1::100", 135, 5 << 8, 0, true);

	spd_sel_mh(&p.sel, 5, 6);
	add(mn, &p);
	assert_non_null(spd_lookup(mn, SPD_OUT, &bu));
	assert_non_null(spd_lookup(mn, SPD_IN, &ba));
	assert_null(spd_lookup(mn, SPD_IN, &brr));
	assert_null(spd_lookup(mn, SPD_IN, &bu_in));
	/* BA sent by the MN is not what the policy covers. */
	ba = pkt6("2001:db8:1::100", "2001:db8:1::1", 135, 6 << 8, 0, true);
	assert_null(spd_lookup(mn, SPD_OUT, &ba));

	p = policy("2001:db8:1::1/128", "2001:db8:1::100/128", SPD_PROTECT, 1, 3);
	spd_sel_mh(&p.sel, 6, 5);
	add(ha, &p);
	assert_non_null(spd_lookup(ha, SPD_IN, &bu));
	ba = pkt6("2001:db8:1::1", "2001:db8:1::100", 135, 6 << 8, 0, true);
	assert_non_null(spd_lookup(ha, SPD_OUT, &ba));
	spd_free(mn);
	spd_free(ha);
}

static void test_ports_icmp_opaque(void **state)
{
	struct spd *spd = spd_new();
	struct spd_policy tcp = policy("10.0.0.0/8", "192.0.2.0/24", SPD_BYPASS, 1, 0);
	struct spd_policy echo = policy("::/0", "::/0", SPD_BYPASS, 1, 0);
	struct spd_pkt t = { .family = AF_INET, .proto = 6, .sport = 40000, .dport = 443 };
	struct spd_pkt e = pkt6("2001:db8::1", "2001:db8::2", 58, 128 << 8, 0, true);

	tcp.sel.proto = 6;
	tcp.sel.rport_start = tcp.sel.rport_end = 443;
	tcp.sel.lport_start = 1024;
	add(spd, &tcp);
	echo.sel.proto = 58;
	echo.sel.lport_start = echo.sel.lport_end = 128 << 8;	/* echo request, code 0 */
	add(spd, &echo);

	addr(AF_INET, "10.1.2.3", t.src);
	addr(AF_INET, "192.0.2.9", t.dst);
	assert_non_null(spd_lookup(spd, SPD_OUT, &t));
	t.dport = 80;
	assert_null(spd_lookup(spd, SPD_OUT, &t));
	t.dport = 443;
	t.sport = 1000;
	assert_null(spd_lookup(spd, SPD_OUT, &t));
	/* Inbound reply: ports swap roles. */
	{
		struct spd_pkt r = t;

		memcpy(r.src, t.dst, 16);
		memcpy(r.dst, t.src, 16);
		r.sport = 443;
		r.dport = 5555;
		assert_non_null(spd_lookup(spd, SPD_IN, &r));
		r.opaque = true;	/* non-first fragment: ports unknown */
		assert_null(spd_lookup(spd, SPD_IN, &r));
	}
	assert_non_null(spd_lookup(spd, SPD_OUT, &e));
	e.sport = 128 << 8 | 1;	/* code 1 */
	assert_null(spd_lookup(spd, SPD_OUT, &e));
	spd_free(spd);
}

static void test_decisions(void **state)
{
	struct spd *spd = spd_new();
	struct spd_policy prot = policy("2001:db8:1::100/128", "2001:db8:1::1/128",
					SPD_PROTECT, 1, 42);
	struct spd_policy drop = policy("::/0", "2001:db8:dead::/48", SPD_DISCARD, 2, 0);
	struct spd_policy pass = policy("::/0", "::/0", SPD_BYPASS, 3, 0);
	struct spd_pkt in = pkt6("2001:db8:1::1", "2001:db8:1::100", 135, 6 << 8, 0, true);
	struct spd_pkt bad = pkt6("2001:db8:dead::1", "2001:db8:1::100", 17, 1, 2, false);
	struct spd_pkt other = pkt6("2001:db8:2::1", "2001:db8:1::100", 17, 1, 2, false);
	const struct spd_policy *p;
	uint64_t c0, m0, d0, n0;

	add(spd, &prot);
	add(spd, &drop);
	c0 = ctr("mipsec_spd_clear_protected_total");
	m0 = ctr("mipsec_spd_inbound_mismatch_total");
	d0 = ctr("mipsec_spd_discard_total");
	n0 = ctr("mipsec_spd_no_policy_total");

	assert_false(spd_in_clear(spd, &in));
	assert_int_equal(ctr("mipsec_spd_clear_protected_total"), c0 + 1);
	assert_true(spd_in_protected(spd, 42, &in));
	assert_false(spd_in_protected(spd, 43, &in));
	assert_int_equal(ctr("mipsec_spd_inbound_mismatch_total"), m0 + 1);
	/* Right SA, but an inner packet its policy does not cover. */
	assert_false(spd_in_protected(spd, 42, &other));
	assert_int_equal(ctr("mipsec_spd_inbound_mismatch_total"), m0 + 2);
	assert_false(spd_in_clear(spd, &bad));
	assert_int_equal(ctr("mipsec_spd_discard_total"), d0 + 1);
	assert_false(spd_in_clear(spd, &other));
	assert_int_equal(ctr("mipsec_spd_no_policy_total"), n0 + 1);
	add(spd, &pass);
	assert_true(spd_in_clear(spd, &other));

	{
		struct spd_pkt bu = pkt6("2001:db8:1::100", "2001:db8:1::1", 135, 5 << 8, 0, true);

		assert_int_equal(spd_out(spd, &bu, &p), SPD_PROTECT);
		assert_int_equal(p->protect.child_id, 42);
	}
	spd_free(spd);
}

static void test_add_errors(void **state)
{
	struct spd *spd = spd_new();
	struct spd_policy p = policy("::/0", "::/0", SPD_BYPASS, 1, 0);
	uint32_t id;

	p.sel.family = 0;
	assert_int_equal(spd_add(spd, &p, &id), SPD_ERR_FAMILY);
	p = policy("::/0", "::/0", SPD_BYPASS, 1, 0);
	p.sel.lport_end = 80;
	assert_int_equal(spd_add(spd, &p, &id), SPD_ERR_PORTS_ANY_PROTO);
	p.sel.proto = 6;
	p.sel.lport_start = 81;
	assert_int_equal(spd_add(spd, &p, &id), SPD_ERR_RANGE);
	p = policy("::/0", "::/0", SPD_PROTECT, 1, 0);
	assert_int_equal(spd_add(spd, &p, &id), SPD_ERR_PROTECT);
	p.protect.child_id = 1;
	p.protect.ipsec_proto = 17;
	assert_int_equal(spd_add(spd, &p, &id), SPD_ERR_PROTECT);
	assert_string_equal(spd_strerror(SPD_ERR_PROTECT),
			    "PROTECT needs a child id and ESP (50) or AH (51)");
	assert_int_equal(spd_count(spd), 0);
	spd_free(spd);
}

/* ---- packets ---- */

static size_t ip6(uint8_t *b, const char *src, const char *dst, uint8_t nh, size_t plen)
{
	memset(b, 0, 40);
	b[0] = 0x60;
	put_be16(b + 4, (uint16_t)plen);
	b[6] = nh;
	b[7] = 64;
	assert_int_equal(inet_pton(AF_INET6, src, b + 8), 1);
	assert_int_equal(inet_pton(AF_INET6, dst, b + 24), 1);
	return 40;
}

static void test_parse_v6(void **state)
{
	uint8_t b[256] = { 0 }, hoa[16], want[16];
	struct spd_pkt t;
	struct wire_error err;
	size_t off;
	int n;

	/* BU: CoA source, HAO with the home address, MH type 5. */
	addr(AF_INET6, "2001:db8:1::100", hoa);
	off = ip6(b, "2001:db8:99::7", "2001:db8:1::1", PROTO_DSTOPTS, 24 + 16);
	n = ext_hao_build(b + off, sizeof(b) - off, PROTO_MH, hoa, NULL);
	assert_int_equal(n, 24);
	off += (size_t)n;
	b[off] = 59;
	b[off + 1] = 1;
	b[off + 2] = 5;
	assert_int_equal(spd_pkt_parse(b, off + 16, &t, &err), WIRE_OK);
	assert_int_equal(t.family, AF_INET6);
	assert_memory_equal(t.src, hoa, 16);
	assert_int_equal(t.proto, 135);
	assert_true(t.typed);
	assert_false(t.opaque);
	assert_int_equal(t.sport, 5 << 8);

	/* BA: RH2 carrying the home address, which is the final destination. */
	memset(b, 0, sizeof(b));
	off = ip6(b, "2001:db8:1::1", "2001:db8:99::7", PROTO_ROUTING, 24 + 16);
	n = ext_rh2_build(b + off, sizeof(b) - off, PROTO_MH, hoa, NULL);
	assert_int_equal(n, 24);
	off += (size_t)n;
	b[off] = 59;
	b[off + 1] = 1;
	b[off + 2] = 6;
	assert_int_equal(spd_pkt_parse(b, off + 16, &t, &err), WIRE_OK);
	assert_memory_equal(t.dst, hoa, 16);
	assert_int_equal(t.sport, 6 << 8);

	/* UDP, and a non-first fragment of it. */
	memset(b, 0, sizeof(b));
	off = ip6(b, "2001:db8::1", "2001:db8::2", PROTO_UDP, 8);
	put_be16(b + off, 4500);
	put_be16(b + off + 2, 500);
	assert_int_equal(spd_pkt_parse(b, off + 8, &t, &err), WIRE_OK);
	addr(AF_INET6, "2001:db8::2", want);
	assert_memory_equal(t.dst, want, 16);
	assert_int_equal(t.sport, 4500);
	assert_int_equal(t.dport, 500);
	assert_false(t.typed);

	memset(b, 0, sizeof(b));
	off = ip6(b, "2001:db8::1", "2001:db8::2", PROTO_FRAGMENT, 16);
	b[off] = PROTO_UDP;
	put_be16(b + off + 2, 185 << 3);	/* offset 185 * 8 */
	assert_int_equal(spd_pkt_parse(b, off + 16, &t, &err), WIRE_OK);
	assert_true(t.opaque);
	put_be16(b + off + 2, 1);		/* first fragment, M set */
	put_be16(b + off + 8, 7);
	put_be16(b + off + 10, 9);
	assert_int_equal(spd_pkt_parse(b, off + 16, &t, &err), WIRE_OK);
	assert_false(t.opaque);
	assert_int_equal(t.dport, 9);

	/* ICMPv6 echo request, type/code in the port. */
	memset(b, 0, sizeof(b));
	off = ip6(b, "2001:db8::1", "2001:db8::2", PROTO_ICMPV6, 8);
	b[off] = 128;
	assert_int_equal(spd_pkt_parse(b, off + 8, &t, &err), WIRE_OK);
	assert_true(t.typed);
	assert_int_equal(t.sport, 128 << 8);

	/* UDP header cut short: ports opaque, not an error. */
	memset(b, 0, sizeof(b));
	off = ip6(b, "2001:db8::1", "2001:db8::2", PROTO_UDP, 2);
	assert_int_equal(spd_pkt_parse(b, off + 2, &t, &err), WIRE_OK);
	assert_true(t.opaque);
}

static void test_parse_v4_and_bad(void **state)
{
	uint8_t b[64] = { 0 };
	struct ipv4_hdr h = { .tos = 0, .total_length = 28, .ttl = 64, .protocol = 17 };
	uint8_t src[4] = { 192, 0, 2, 1 }, dst[4] = { 198, 51, 100, 2 };
	struct spd_pkt t;
	struct wire_error err;
	uint64_t bad0 = ctr("mipsec_spd_bad_packet_total");

	h.src = src;
	h.dst = dst;
	assert_int_equal(ipv4_build(b, sizeof(b), &h, true, NULL), 20);
	put_be16(b + 20, 1234);
	put_be16(b + 22, 4500);
	assert_int_equal(spd_pkt_parse(b, 28, &t, &err), WIRE_OK);
	assert_int_equal(t.family, AF_INET);
	assert_memory_equal(t.src, src, 4);
	assert_memory_equal(t.dst, dst, 4);
	assert_int_equal(t.sport, 1234);
	assert_int_equal(t.dport, 4500);
	h.fragment_offset = 3;
	assert_int_equal(ipv4_build(b, sizeof(b), &h, true, NULL), 20);
	assert_int_equal(spd_pkt_parse(b, 28, &t, &err), WIRE_OK);
	assert_true(t.opaque);

	b[0] = 0x75;
	assert_int_equal(spd_pkt_parse(b, 28, &t, &err), WIRE_EVALUE);
	assert_string_equal(err.msg, "spd: IP version 7 is neither 4 nor 6");
	assert_int_not_equal(spd_pkt_parse(b, 0, &t, &err), WIRE_OK);
	b[0] = 0x60;
	assert_int_not_equal(spd_pkt_parse(b, 20, &t, &err), WIRE_OK);
	assert_int_equal(ctr("mipsec_spd_bad_packet_total"), bad0 + 3);
}

/* ---- traffic selectors ---- */

static struct spd_ts ts6(const char *s, const char *e, uint8_t proto, uint16_t ps, uint16_t pe)
{
	struct spd_ts t = { .family = AF_INET6, .proto = proto, .port_start = ps, .port_end = pe };

	addr(AF_INET6, s, t.start);
	addr(AF_INET6, e, t.end);
	return t;
}

static void test_ts(void **state)
{
	struct spd_ts prop[2] = {
		ts6("2001:db8:1::", "2001:db8:1::ffff", 0, 0, 0xffff),
		ts6("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 135, 0, 0xffff),
	};
	struct spd_ts ok[1] = { ts6("2001:db8:1::100", "2001:db8:1::100", 135, 5 << 8, 5 << 8) };
	struct spd_ts out[4], back;
	struct ikev2_ts v;
	size_t n;

	n = spd_ts_narrow(prop, 2, ok, 1, out, 4);
	/* Both proposals narrow to the same selector: one copy. */
	assert_int_equal(n, 1);
	assert_int_equal(out[0].proto, 135);
	assert_int_equal(out[0].port_start, 5 << 8);
	assert_memory_equal(out[0].start, ok[0].start, 16);

	/* No overlap: a different protocol, a disjoint range. */
	ok[0].proto = 17;
	assert_int_equal(spd_ts_narrow(&prop[1], 1, ok, 1, out, 4), 0);
	ok[0] = ts6("2001:db8:2::", "2001:db8:2::ff", 0, 0, 0xffff);
	assert_int_equal(spd_ts_narrow(prop, 1, ok, 1, out, 4), 0);
	/* Partial overlap of ranges. */
	ok[0] = ts6("2001:db8:1::ff00", "2001:db8:2::", 6, 80, 80);
	assert_int_equal(spd_ts_narrow(prop, 1, ok, 1, out, 4), 1);
	assert_memory_equal(out[0].start, ok[0].start, 16);
	assert_memory_equal(out[0].end, prop[0].end, 16);
	assert_int_equal(out[0].proto, 6);

	spd_ts_to_ikev2(&out[0], &v);
	assert_int_equal(v.type, IKEV2_TS_IPV6_ADDR_RANGE);
	assert_int_equal(v.len, 40);
	assert_int_equal(spd_ts_from_ikev2(&v, &back), SPD_OK);
	assert_memory_equal(&back, &out[0], sizeof(back));
	v.type = 9;
	assert_int_equal(spd_ts_from_ikev2(&v, &back), SPD_ERR_TS_TYPE);
	v.type = IKEV2_TS_IPV6_ADDR_RANGE;
	v.start_port = 81;
	assert_int_equal(spd_ts_from_ikev2(&v, &back), SPD_ERR_RANGE);
}

/* An IKE-narrowed child becomes policies the data plane finds. */
static void test_from_ts(void **state)
{
	struct spd *spd = spd_new();
	struct spd_ts l[1] = { ts6("2001:db8:1::100", "2001:db8:1::100", 135, 5 << 8, 5 << 8) };
	struct spd_ts r[2] = { ts6("2001:db8:1::1", "2001:db8:1::1", 135, 6 << 8, 6 << 8),
			       ts6("2001:db8:1::1", "2001:db8:1::1", 17, 0, 0xffff) };
	struct spd_policy tmpl = { .priority = 5,
				   .protect = { .child_id = 9, .ipsec_proto = 50 } };
	struct spd_pkt bu = pkt6("2001:db8:1::100", "2001:db8:1::1", 135, 5 << 8, 0, true);
	enum spd_err e;

	/* The UDP remote selector does not meet the MH local one. */
	assert_int_equal(spd_add_from_ts(spd, l, 1, r, 2, &tmpl, &e), 1);
	assert_int_equal(e, SPD_OK);
	assert_int_equal(spd_out(spd, &bu, NULL), SPD_PROTECT);
	bu = pkt6("2001:db8:1::1", "2001:db8:1::100", 135, 6 << 8, 0, true);
	assert_true(spd_in_protected(spd, 9, &bu));
	spd_free(spd);
}

static void test_dump(void **state)
{
	struct spd *spd = spd_new();
	struct spd_policy p = policy("2001:db8:1::100/128", "2001:db8:1::1/128", SPD_PROTECT, 1, 3);
	struct spd_policy q = policy("10.0.0.0/8", "10.1.0.0/16", SPD_BYPASS, 0, 0);
	struct table *t;
	json_t *a, *o;

	spd_sel_mh(&p.sel, 5, 6);
	add(spd, &p);
	q.sel.rstart[3] = 9;	/* 10.1.0.9-10.1.255.255: no prefix */
	add(spd, &q);
	spd_table_register(spd, NULL);
	t = table_find("spd");
	assert_non_null(t);
	a = t->dump(t->arg);
	assert_int_equal(json_array_size(a), 2);
	o = json_array_get(a, 0);
	assert_string_equal(json_string_value(json_object_get(o, "remote")),
			    "10.1.0.9-10.1.255.255");
	assert_string_equal(json_string_value(json_object_get(o, "action")), "bypass");
	o = json_array_get(a, 1);
	assert_string_equal(json_string_value(json_object_get(o, "local")), "2001:db8:1::100/128");
	assert_int_equal(json_integer_value(json_object_get(o, "proto")), 135);
	assert_int_equal(json_integer_value(json_array_get(json_object_get(o, "local_ports"), 0)),
			 5 << 8);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "protect"),
							    "child")), 3);
	json_decref(a);
	spd_free(spd);
	assert_null(table_find("spd"));
}

/* ---- the index against a linear scan ---- */

static uint32_t rnd(void)
{
	static uint64_t s = 0x243f6a8885a308d3ull;

	s ^= s << 13;
	s ^= s >> 7;
	s ^= s << 17;
	return (uint32_t)s;
}

static void rnd_addr(int family, uint8_t a[16])
{
	memset(a, 0, 16);
	if (family == AF_INET) {
		a[0] = 10;
		a[1] = (uint8_t)(rnd() % 4);
		a[2] = (uint8_t)(rnd() % 4);
		a[3] = (uint8_t)rnd();
	} else {
		a[0] = 0x20;
		a[1] = 0x01;
		a[5] = (uint8_t)(rnd() % 4);
		a[7] = (uint8_t)(rnd() % 4);
		a[15] = (uint8_t)rnd();
	}
}

static void rnd_policy(struct spd_policy *p)
{
	int family = rnd() % 2 ? AF_INET6 : AF_INET;
	int max = family == AF_INET ? 32 : 128;
	struct ip_prefix r = { .addr.family = family };

	memset(p, 0, sizeof(*p));
	spd_sel_any(&p->sel, family);
	rnd_addr(family, r.addr.bytes);
	switch (rnd() % 4) {
	case 0: r.len = (uint8_t)max; break;
	case 1: r.len = (uint8_t)(max - 8); break;
	case 2: r.len = (uint8_t)(max - 1 - rnd() % 20); break;
	default: r.len = 0; break;
	}
	spd_sel_remote_prefix(&p->sel, &r);
	if (rnd() % 5 == 0) {
		/* A range that is not a prefix. */
		rnd_addr(family, p->sel.rstart);
		memcpy(p->sel.rend, p->sel.rstart, 16);
		p->sel.rend[family == AF_INET ? 3 : 15] |= 0x3f;
		p->sel.rstart[family == AF_INET ? 3 : 15] |= 1;
	}
	if (rnd() % 3 == 0) {
		p->sel.proto = rnd() % 2 ? 17 : 135;
		if (p->sel.proto == 17)
			p->sel.rport_start = p->sel.rport_end = (uint16_t)(rnd() % 4);
		else
			spd_sel_mh(&p->sel, (int)(rnd() % 3) + 4, -1);
	}
	p->priority = rnd() % 50;
	p->action = (enum spd_action)(rnd() % 2);
}

static void test_index_vs_scan(void **state)
{
	enum { NPOL = 3000, NPKT = 30000 };
	struct spd *spd = spd_new();
	struct spd_policy *pol = calloc(NPOL, sizeof(*pol));
	uint32_t *ids = calloc(NPOL, sizeof(*ids));
	size_t hits = 0;

	for (int i = 0; i < NPOL; i++) {
		rnd_policy(&pol[i]);
		ids[i] = add(spd, &pol[i]);
	}
	/* Delete a tenth to exercise unlinking and the length bookkeeping. */
	for (int i = 0; i < NPOL; i += 10) {
		assert_int_equal(spd_del(spd, ids[i]), SPD_OK);
		ids[i] = 0;
	}
	for (int k = 0; k < NPKT; k++) {
		struct spd_pkt t = { .family = rnd() % 2 ? AF_INET6 : AF_INET };
		enum spd_dir dir = rnd() % 2 ? SPD_IN : SPD_OUT;
		const struct spd_policy *got;
		int want = -1;

		rnd_addr(t.family, t.src);
		rnd_addr(t.family, t.dst);
		t.proto = rnd() % 2 ? 17 : 135;
		t.typed = t.proto == 135;
		t.sport = t.typed ? (uint16_t)((rnd() % 3 + 4) << 8) : (uint16_t)(rnd() % 4);
		t.dport = (uint16_t)(rnd() % 4);
		for (int i = 0; i < NPOL; i++) {
			if (!ids[i] || !spd_sel_match(&pol[i].sel, dir, &t))
				continue;
			/* Earlier index = earlier insertion. */
			if (want < 0 || pol[i].priority < pol[want].priority)
				want = i;
		}
		got = spd_lookup(spd, dir, &t);
		if (want < 0) {
			assert_null(got);
			continue;
		}
		assert_non_null(got);
		assert_int_equal(got->id, ids[want]);
		hits++;
	}
	/* The random space must make matches common, or this proves little. */
	assert_true(hits > NPKT / 4);
	free(pol);
	free(ids);
	spd_free(spd);
}

/* Host policies differing only in their last bytes (home addresses of one
 * prefix) must spread over the index, or lookups degrade to a scan. */
static void test_index_spread(void **state)
{
	struct spd *spd = spd_new();
	size_t longest = 0;

	for (uint32_t i = 0; i < 4096; i++) {
		struct spd_policy p = policy("2001:db8:1::1/128", "2001:db8:1::/128",
					     SPD_PROTECT, 1, i + 1);

		p.sel.rstart[14] = p.sel.rend[14] = (uint8_t)(i >> 8);
		p.sel.rstart[15] = p.sel.rend[15] = (uint8_t)i;
		add(spd, &p);
	}
	assert_true(spd->nbuckets >= 4096);
	for (size_t b = 0; b < spd->nbuckets; b++) {
		size_t n = 0;

		for (struct spd_policy *p = spd->buckets[b]; p; p = p->bnext)
			n++;
		if (n > longest)
			longest = n;
	}
	assert_true(longest <= 12);
	spd_free(spd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_mh_types),
		cmocka_unit_test(test_ports_icmp_opaque),
		cmocka_unit_test(test_decisions),
		cmocka_unit_test(test_add_errors),
		cmocka_unit_test(test_parse_v6),
		cmocka_unit_test(test_parse_v4_and_bad),
		cmocka_unit_test(test_ts),
		cmocka_unit_test(test_from_ts),
		cmocka_unit_test(test_dump),
		cmocka_unit_test(test_index_vs_scan),
		cmocka_unit_test(test_index_spread),
	};

	spd_stats_register();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
