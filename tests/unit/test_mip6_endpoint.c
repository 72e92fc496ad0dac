/* The mobility endpoint in a private network namespace: RFC 5555 framing on
 * receive, batched transmit, TUN in both directions, malformed datagrams. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "core/stats.h"
#include "mip6/endpoint.h"
#include "net/loop.h"
#include "net/netlink.h"
#include "net/udp.h"
#include "net_isolate.h"
#include "wire/wire.h"

#include <poll.h>

/* Waits up to 10 s for fd to become readable. */
static void wait_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	assert_int_equal(poll(&p, 1, 10000), 1);
}

struct tctx {
	struct loop *l;
	struct mip6_ep *ep;
	int got_rx, got_tun;
	struct mip6_rx last;
	uint8_t pkt[2048];
	size_t pkt_len;
	bool echo_tun_to_udp;		/* tun callback sends what it read */
	struct ip_addr echo_dst;
	uint16_t echo_port;
};

static void guard(void *arg) { fail_msg("timed out (%p)", arg); }

static void on_rx(void *arg, struct mip6_rx *rx)
{
	struct tctx *c = arg;

	c->last = *rx;
	memcpy(c->pkt, rx->pkt, rx->len);
	c->pkt_len = rx->len;
	c->got_rx++;
	loop_exit(c->l);
}

static void on_tun(void *arg, struct mip6_tunpkt *p)
{
	struct tctx *c = arg;

	assert_true(p->headroom >= 40);
	/* The kernel also sends its own traffic (MLD, RS) into a new link:
	 * only the test's UDP datagram to 2001:db8:77::/64 counts. */
	static const uint8_t net[8] = { 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x77, 0, 0 };
	if (p->len < 48 || p->pkt[6] != 17 || memcmp(p->pkt + 24, net, 8) != 0)
		return;
	c->got_tun++;
	memcpy(c->pkt, p->pkt, p->len);
	c->pkt_len = p->len;
	if (c->echo_tun_to_udp)
		assert_int_equal(mip6_ep_send(c->ep, &c->echo_dst, c->echo_port, NULL, p->pkt,
					      p->len), 0);
	loop_exit(c->l);
}

static const struct mip6_ep_ops ops = { .rx = on_rx, .tun = on_tun };

/* A minimal IPv6 header + 8 bytes: all the endpoint looks at is the
 * version nibble (plain RFC 5555 form). */
static size_t fake_ipv6(uint8_t *b)
{
	memset(b, 0, 48);
	b[0] = 0x60;
	b[5] = 8;
	b[6] = 59;
	b[7] = 64;
	b[23] = 1;
	b[39] = 2;
	return 48;
}

static uint64_t counter_value(const char *name)
{
	for (struct counter *c = counter_first(); c; c = c->next)
		if (strcmp(c->name, name) == 0)
			return c->value;
	fail_msg("no counter %s", name);
	return 0;
}

static void run(struct tctx *c)
{
	struct timer g;

	timer_init(&g, c->l, guard, NULL);
	timer_arm_ms(&g, 10000);
	assert_int_equal(loop_run(c->l), 0);
	timer_deinit(&g);
}

static void test_udp_roundtrip(void **state)
{
	struct tctx c = { 0 };
	struct mip6_ep_config cfg = { .port = 14191 };
	struct ip_addr lo;
	uint8_t b[64];

	(void)state;
	if (!net_isolated)
		skip();
	ip_addr_parse("::1", AF_INET6, &lo);
	cfg.bind6 = lo;
	ip_addr_parse("127.0.0.1", AF_INET, &cfg.bind4);
	c.l = loop_new();
	c.ep = mip6_ep_open(c.l, &cfg, &ops, &c);
	assert_non_null(c.ep);

	/* Plain form from a peer socket. */
	int peer = udp_open(&lo, 0, NULL);
	assert_true(peer >= 0);
	struct udp_meta m = { .peer = lo, .peer_port = 14191 };
	size_t n = fake_ipv6(b);
	assert_int_equal(udp_send(peer, b, n, &m), (ssize_t)n);
	run(&c);
	assert_int_equal(c.got_rx, 1);
	assert_int_equal(c.last.inner, 41);
	assert_int_equal(c.pkt_len, n);
	assert_memory_equal(c.pkt, b, n);
	assert_true(ip_addr_eq(&c.last.peer, &lo));

	/* TLV form (RFC 5555 §4.1) carrying the same packet. */
	uint8_t tlv[80] = { 1, 4, 0, 0 };
	memcpy(tlv + 4, b, n);
	assert_int_equal(udp_send(peer, tlv, n + 4, &m), (ssize_t)(n + 4));
	run(&c);
	assert_int_equal(c.got_rx, 2);
	assert_int_equal(c.pkt_len, n);

	/* Garbage is counted, not delivered: send it, then a good one. */
	uint64_t bad = counter_value("mipsec_mip6_udp_rx_malformed_total");
	uint8_t junk[3] = { 0x00, 0xff, 0x01 };
	assert_int_equal(udp_send(peer, junk, sizeof(junk), &m), 3);
	assert_int_equal(udp_send(peer, b, n, &m), (ssize_t)n);
	run(&c);
	assert_int_equal(c.got_rx, 3);
	assert_int_equal(counter_value("mipsec_mip6_udp_rx_malformed_total"), bad + 1);

	/* Transmit outside an input batch leaves at once. */
	uint16_t pport;
	struct ip_addr paddr;
	assert_int_equal(udp_local(peer, &paddr, &pport), 0);
	assert_int_equal(mip6_ep_send(c.ep, &lo, pport, NULL, b, n), 0);
	uint8_t rb[128];
	struct udp_meta rm;
	wait_readable(peer);
	ssize_t got = udp_recv(peer, rb, sizeof(rb), &rm);
	assert_int_equal(got, (ssize_t)n);
	assert_int_equal(rm.peer_port, 14191);
	close(peer);
	mip6_ep_close(c.ep);
	loop_free(c.l);
}

static void test_tun_both_ways(void **state)
{
	struct tctx c = { 0 };
	struct mip6_ep_config cfg = { .port = 14192, .tun_name = "mip6test%d", .tun_mtu = 1400 };
	struct ip_addr lo;

	(void)state;
	if (!net_isolated)
		skip();
	if (access("/dev/net/tun", R_OK | W_OK) != 0)
		skip();
	ip_addr_parse("::1", AF_INET6, &lo);
	cfg.bind6 = lo;
	c.l = loop_new();
	c.ep = mip6_ep_open(c.l, &cfg, &ops, &c);
	assert_non_null(c.ep);
	int ifindex = mip6_ep_tun_ifindex(c.ep);
	assert_true(ifindex > 0);

	struct nl *nl = nl_open();
	assert_non_null(nl);
	assert_int_equal(nl_link_set_up(nl, ifindex, true), 0);
	struct nl_route r = { .oif = ifindex };
	ip_prefix_parse("2001:db8:77::/64", AF_INET6, true, &r.dst);
	assert_int_equal(nl_route_add(nl, &r, false), 0);

	/* Host -> TUN -> tun callback, which queues it to a UDP peer; the
	 * queue must be flushed when the batch ends. */
	int peer = udp_open(&lo, 0, NULL);
	uint16_t pport;
	struct ip_addr paddr;
	assert_int_equal(udp_local(peer, &paddr, &pport), 0);
	c.echo_tun_to_udp = true;
	c.echo_dst = lo;
	c.echo_port = pport;
	/* A global source on the TUN, so that the host's datagram and the
	 * reply written back into the TUN do not depend on the link-local
	 * address finishing DAD. */
	struct ip_prefix own;
	ip_prefix_parse("2001:db8:77::1/128", AF_INET6, true, &own);
	assert_int_equal(nl_addr_add(nl, ifindex, &own, NL_ADDR_NODAD), 0);
	int host = socket(AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_in6 src = { .sin6_family = AF_INET6 };
	memcpy(&src.sin6_addr, own.addr.bytes, 16);
	int bound = -1;
	for (int i = 0; i < 1000 && bound < 0; i++) {
		bound = bind(host, (struct sockaddr *)&src, sizeof(src));
		if (bound < 0) {
			assert_int_equal(errno, EADDRNOTAVAIL);
			poll(NULL, 0, 10);	/* bounded: the address is being set up */
		}
	}
	assert_int_equal(bound, 0);
	struct sockaddr_in6 to = { .sin6_family = AF_INET6, .sin6_port = htons(9) };
	inet_pton(AF_INET6, "2001:db8:77::5", &to.sin6_addr);
	assert_int_equal(sendto(host, "ping", 4, 0, (struct sockaddr *)&to, sizeof(to)), 4);
	run(&c);
	assert_int_equal(c.got_tun, 1);
	assert_int_equal(c.pkt[0] >> 4, 6);
	assert_int_equal(c.pkt[6], 17);		/* UDP inside */
	uint8_t rb[2048];
	struct udp_meta rm;
	wait_readable(peer);
	ssize_t got = udp_recv(peer, rb, sizeof(rb), &rm);
	assert_int_equal(got, (ssize_t)c.pkt_len);
	assert_memory_equal(rb, c.pkt, c.pkt_len);

	/* UDP peer -> TUN write -> the host's socket receives it: turn the
	 * packet around (swap addresses, ports) and write it into the TUN. */
	struct sockaddr_in6 hb = { .sin6_family = AF_INET6 };
	socklen_t hl = sizeof(hb);
	assert_int_equal(getsockname(host, (struct sockaddr *)&hb, &hl), 0);
	uint8_t back[2048];
	memcpy(back, c.pkt, c.pkt_len);
	memcpy(back + 8, c.pkt + 24, 16);
	memcpy(back + 24, c.pkt + 8, 16);
	memcpy(back + 40, c.pkt + 42, 2);
	memcpy(back + 42, c.pkt + 40, 2);
	back[46] = back[47] = 0;
	uint16_t sum = csum_ipv6(back + 8, back + 24, 17, back + 40, c.pkt_len - 40);
	put_be16(back + 46, sum ? sum : 0xffff);
	/* The kernel may still be bringing the TUN's addresses up (DAD of the
	 * link-local source the host used): write again, as a protocol would
	 * retransmit, until the host socket has it or 10 s have passed. */
	char got4[8] = "";
	ssize_t hn = -1;
	struct pollfd hp = { .fd = host, .events = POLLIN };
	for (int i = 0; i < 100 && hn < 0; i++) {
		assert_int_equal(mip6_ep_tun_write(c.ep, back, c.pkt_len), 0);
		if (poll(&hp, 1, 100) == 1)
			hn = recv(host, got4, sizeof(got4), MSG_DONTWAIT);
	}
	assert_int_equal(hn, 4);
	assert_memory_equal(got4, "ping", 4);
	close(host);
	close(peer);
	nl_close(nl);
	mip6_ep_close(c.ep);
	loop_free(c.l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_udp_roundtrip),
		cmocka_unit_test(test_tun_both_ways),
	};
	if (!net_isolate())
		fprintf(stderr, "not isolated, skipping: %s\n", net_isolate_why);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
