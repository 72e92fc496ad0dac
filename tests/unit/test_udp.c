/* UDP helpers over loopback in a private netns: PKTINFO destination and
 * interface on receive, chosen source on send, socket options, batching. */
#include <errno.h>
#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/addr.h"
#include "net/loop.h"
#include "net/netlink.h"
#include "net/udp.h"
#include "net_isolate.h"

static int lo;

static struct ip_addr A(const char *s)
{
	struct ip_addr a;

	assert_int_equal(ip_addr_parse(s, AF_UNSPEC, &a), ADDR_OK);
	return a;
}

struct local_find {
	struct ip_addr want[2];
	bool found[2];
};

static void local_cb(const struct nl_route_info *ri, void *arg)
{
	struct local_find *f = arg;

	for (int i = 0; i < 2; i++)
		if (ri->type == RTN_LOCAL && ri->r.dst.len == 128 &&
		    ip_addr_eq(&ri->r.dst.addr, &f->want[i]))
			f->found[i] = true;
}

/* IPv6 addresses become usable (local route installed) only when the
 * kernel's DAD work has run, even with NODAD: wait for that condition. */
static void wait_v6_local(struct nl *nl)
{
	uint64_t deadline = mono_ms() + 10000;

	while (mono_ms() < deadline) {
		struct local_find f = { .want = { A("fd00::1"), A("fd00::2") } };

		assert_int_equal(nl_route_dump(nl, AF_INET6, RT_TABLE_LOCAL, local_cb, &f), 0);
		if (f.found[0] && f.found[1])
			return;
		poll(NULL, 0, 5);
	}
	fail_msg("IPv6 addresses on lo never became usable");
}

static int setup(void **state)
{
	const char *addrs[] = { "10.1.1.1/32", "10.1.1.2/32", "fd00::1/128", "fd00::2/128" };
	struct nl *nl;

	if (!net_isolated)
		return 0;
	nl = nl_open();
	assert_non_null(nl);
	lo = nl_link_index("lo");
	assert_true(lo > 0);
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		struct ip_prefix p;

		assert_int_equal(ip_prefix_parse(addrs[i], AF_UNSPEC, true, &p), ADDR_OK);
		assert_int_equal(nl_addr_add(nl, lo, &p, NL_ADDR_NODAD), 0);
	}
	wait_v6_local(nl);
	nl_close(nl);
	return 0;
}

static void wait_readable(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	assert_int_equal(poll(&pfd, 1, 10000), 1);
}

static int open_any(int family, uint16_t *port, const struct udp_opts *o)
{
	struct ip_addr any = { .family = family };
	struct ip_addr bound;
	int fd = udp_open(&any, 0, o);

	assert_true(fd >= 0);
	assert_int_equal(udp_local(fd, &bound, port), 0);
	assert_int_equal(bound.family, family);
	assert_true(*port != 0);
	return fd;
}

/* Sends from `src` (or the kernel's choice) to dst:port and checks what the
 * receiver learns from PKTINFO. */
static void roundtrip(int tx, int rx, uint16_t rx_port, const char *dst, const char *src)
{
	struct udp_meta m = { .peer = A(dst), .peer_port = rx_port }, got;
	uint16_t tx_port;
	struct ip_addr tx_addr;
	char buf[64];

	if (src)
		m.local = A(src);
	assert_int_equal(udp_local(tx, &tx_addr, &tx_port), 0);
	assert_int_equal(udp_send(tx, "ping", 4, &m), 4);
	wait_readable(rx);
	assert_int_equal(udp_recv(rx, buf, sizeof(buf), &got), 4);
	assert_memory_equal(buf, "ping", 4);
	assert_true(ip_addr_eq(&got.local, &m.peer));	/* destination seen */
	assert_int_equal(got.ifindex, lo);
	assert_int_equal(got.peer_port, tx_port);
	if (src)
		assert_true(ip_addr_eq(&got.peer, &m.local));
	assert_int_equal(udp_recv(rx, buf, sizeof(buf), &got), -EAGAIN);
}

static void test_v4(void **state)
{
	struct udp_opts o = { .fwmark = 0x42, .reuseaddr = true };
	uint16_t rport, tport;
	int rx, tx, v = 0;
	socklen_t len = sizeof(v);

	REQUIRE_NETNS();
	rx = open_any(AF_INET, &rport, NULL);
	tx = open_any(AF_INET, &tport, &o);
	assert_int_equal(getsockopt(tx, SOL_SOCKET, SO_MARK, &v, &len), 0);
	assert_int_equal(v, 0x42);
	assert_int_equal(getsockopt(rx, SOL_SOCKET, SO_MARK, &v, &len), 0);
	assert_int_equal(v, 0);
	assert_int_equal(getsockopt(tx, SOL_SOCKET, SO_REUSEADDR, &v, &len), 0);
	assert_int_equal(v, 1);
	assert_true(fcntl(rx, F_GETFL) & O_NONBLOCK);

	roundtrip(tx, rx, rport, "10.1.1.1", "10.1.1.2");
	roundtrip(tx, rx, rport, "10.1.1.2", "10.1.1.1");
	roundtrip(tx, rx, rport, "10.1.1.1", NULL);
	roundtrip(tx, rx, rport, "127.0.0.1", NULL);
	close(rx);
	close(tx);
}

static void test_v6(void **state)
{
	struct udp_opts o = { .v6only = true, .fwmark = 7 };
	uint16_t rport, tport;
	int rx, tx, v = 0;
	socklen_t len = sizeof(v);

	REQUIRE_NETNS();
	rx = open_any(AF_INET6, &rport, &o);
	tx = open_any(AF_INET6, &tport, &o);
	assert_int_equal(getsockopt(rx, IPPROTO_IPV6, IPV6_V6ONLY, &v, &len), 0);
	assert_int_equal(v, 1);
	assert_int_equal(getsockopt(tx, SOL_SOCKET, SO_MARK, &v, &len), 0);
	assert_int_equal(v, 7);

	roundtrip(tx, rx, rport, "fd00::1", "fd00::2");
	roundtrip(tx, rx, rport, "fd00::2", "fd00::1");
	roundtrip(tx, rx, rport, "::1", NULL);
	close(rx);
	close(tx);
}

/* A dual-stack socket sees IPv4 peers as IPv4 and can answer them from a
 * chosen IPv4 source. */
static void test_dual_stack(void **state)
{
	struct udp_opts o = { .v6only = false };
	uint16_t rport, tport;
	int rx, tx, v = 1;
	socklen_t len = sizeof(v);
	struct udp_meta got, reply;
	char buf[16];

	REQUIRE_NETNS();
	rx = open_any(AF_INET6, &rport, &o);
	tx = open_any(AF_INET, &tport, NULL);
	assert_int_equal(getsockopt(rx, IPPROTO_IPV6, IPV6_V6ONLY, &v, &len), 0);
	assert_int_equal(v, 0);
	roundtrip(tx, rx, rport, "10.1.1.1", "10.1.1.2");

	/* Reply the other way: dual-stack socket to the IPv4 one. */
	reply = (struct udp_meta){ .peer = A("10.1.1.2"), .peer_port = tport,
				   .local = A("10.1.1.1") };
	assert_int_equal(udp_send(rx, "pong", 4, &reply), 4);
	wait_readable(tx);
	assert_int_equal(udp_recv(tx, buf, sizeof(buf), &got), 4);
	assert_true(ip_addr_eq(&got.peer, &reply.local));
	assert_int_equal(got.peer_port, rport);
	assert_true(ip_addr_eq(&got.local, &reply.peer));

	/* Source of the wrong family is refused before any syscall. */
	reply.local = A("fd00::1");
	assert_int_equal(udp_send(rx, "x", 1, &reply), -EINVAL);
	close(rx);
	close(tx);
}

static void test_truncation_and_errors(void **state)
{
	struct udp_meta m = { .peer = A("10.1.1.1") }, got;
	struct ip_addr bad = { .family = AF_UNIX };
	uint16_t port;
	char buf[4];
	int rx;

	REQUIRE_NETNS();
	rx = open_any(AF_INET, &port, NULL);
	m.peer_port = port;
	assert_int_equal(udp_send(rx, "too long", 8, &m), 8);
	wait_readable(rx);
	assert_int_equal(udp_recv(rx, buf, sizeof(buf), &got), -EMSGSIZE);
	assert_int_equal(udp_open(&bad, 0, NULL), -EAFNOSUPPORT);
	/* Binding an address not on this host fails unless freebind. */
	struct ip_addr absent = A("192.0.2.77");
	assert_int_equal(udp_open(&absent, 0, NULL), -EADDRNOTAVAIL);
	int fb = udp_open(&absent, 0, &(struct udp_opts){ .freebind = true });
	assert_true(fb >= 0);
	close(fb);
	m.peer.family = 0;
	assert_int_equal(udp_send(rx, "x", 1, &m), -EDESTADDRREQ);
	close(rx);
}

static void test_batch(void **state)
{
	enum { N = 5 };
	char out[N][16], in[8][32];
	struct udp_msg tx_msgs[N], rx_msgs[8];
	uint16_t rport, tport;
	int rx, tx, got = 0;

	REQUIRE_NETNS();
	rx = open_any(AF_INET6, &rport, NULL);
	tx = open_any(AF_INET6, &tport, NULL);
	for (int i = 0; i < N; i++) {
		snprintf(out[i], sizeof(out[i]), "batch-%d", i);
		tx_msgs[i] = (struct udp_msg){
			.buf = out[i], .len = strlen(out[i]),
			.meta = { .peer = A("fd00::1"), .peer_port = rport,
				  .local = A(i % 2 ? "fd00::2" : "fd00::1") },
		};
	}
	assert_int_equal(udp_send_batch(tx, tx_msgs, N), N);
	for (int i = 0; i < 8; i++)
		rx_msgs[i] = (struct udp_msg){ .buf = in[i], .size = sizeof(in[i]) };
	/* Loopback delivery is synchronous, but read until all arrived rather
	 * than assume they come in one call. */
	while (got < N) {
		int n;

		wait_readable(rx);
		n = udp_recv_batch(rx, rx_msgs + got, (unsigned)(8 - got));
		assert_true(n > 0);
		got += n;
	}
	assert_int_equal(got, N);
	for (int i = 0; i < N; i++) {
		assert_int_equal(rx_msgs[i].len, strlen(out[i]));
		assert_memory_equal(rx_msgs[i].buf, out[i], strlen(out[i]));
		assert_false(rx_msgs[i].truncated);
		assert_true(ip_addr_eq(&rx_msgs[i].meta.peer, &tx_msgs[i].meta.local));
		assert_true(ip_addr_eq(&rx_msgs[i].meta.local, &tx_msgs[i].meta.peer));
		assert_int_equal(rx_msgs[i].meta.peer_port, tport);
		assert_int_equal(rx_msgs[i].meta.ifindex, lo);
	}
	assert_int_equal(udp_recv_batch(rx, rx_msgs, 8), -EAGAIN);
	/* A bad entry stops the batch: what precedes it is sent. */
	tx_msgs[2].meta.peer.family = 0;
	assert_int_equal(udp_send_batch(tx, tx_msgs, N), 2);
	close(rx);
	close(tx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4),
		cmocka_unit_test(test_v6),
		cmocka_unit_test(test_dual_stack),
		cmocka_unit_test(test_truncation_and_errors),
		cmocka_unit_test(test_batch),
	};

	if (!net_isolate())
		fprintf(stderr, "test_udp: skipping: %s\n", net_isolate_why);
	return cmocka_run_group_tests(tests, setup, NULL);
}
