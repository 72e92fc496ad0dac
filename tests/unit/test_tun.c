/* TUN devices, inside a private netns: packets the kernel routes into the
 * device come out of our fd, and packets we write are delivered locally. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
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
#include "net/tun.h"
#include "net/udp.h"
#include "net_isolate.h"

static struct nl *nl;
static char tun_skip_why[160];

static void require_tun(void)
{
	REQUIRE_NETNS();
	if (tun_skip_why[0]) {
		print_message("[  SKIPPED ] %s\n", tun_skip_why);
		skip();
	}
}

static int setup(void **state)
{
	struct tun t;
	int rc;

	if (!net_isolated)
		return 0;
	nl = nl_open();
	assert_non_null(nl);
	/* /dev/net/tun is often root-only (mode 0600): skip, don't fail. */
	rc = tun_open(&t, "mprobe%d", 1, 0);
	if (rc == -EACCES || rc == -EPERM || rc == -ENOENT || rc == -ENODEV) {
		snprintf(tun_skip_why, sizeof(tun_skip_why),
			 "cannot open /dev/net/tun (%s); TUN tests need access to it",
			 strerror(-rc));
		fprintf(stderr, "test_tun: skipping: %s\n", tun_skip_why);
		return 0;
	}
	assert_int_equal(rc, 0);
	tun_close(&t);
	return 0;
}

static int teardown(void **state)
{
	nl_close(nl);
	return 0;
}

static void configure(const struct tun *t, const char *prefix)
{
	struct ip_prefix p;

	assert_int_equal(ip_prefix_parse(prefix, AF_INET, true, &p), ADDR_OK);
	assert_int_equal(nl_link_set_up(nl, t->ifindex, true), 0);
	assert_int_equal(nl_addr_add(nl, t->ifindex, &p, 0), 0);
}

/* Sends one UDP datagram to dst:port from an unbound socket. */
static void send_udp(const char *dst, uint16_t port, const char *payload)
{
	struct ip_addr any = { .family = AF_INET };
	struct udp_meta m = { .peer_port = port };
	int fd = udp_open(&any, 0, NULL);

	assert_true(fd >= 0);
	assert_int_equal(ip_addr_parse(dst, AF_INET, &m.peer), ADDR_OK);
	assert_int_equal(udp_send(fd, payload, strlen(payload), &m), (ssize_t)strlen(payload));
	close(fd);
}

/* Reads packets from any of the fds until an IPv4/UDP one to dst:port with
 * `payload` shows up (the kernel may also emit IPv6 MLD/RS packets) or the
 * deadline passes. Returns the index of the fd it came from, or -1. */
static int wait_udp(const int *fds, unsigned n, const char *dst, uint16_t port,
		    const char *payload)
{
	uint64_t deadline = mono_ms() + 10000;
	struct in_addr want;
	uint8_t buf[2048];

	assert_int_equal(inet_pton(AF_INET, dst, &want), 1);
	while (mono_ms() < deadline) {
		struct pollfd pfd[TUN_MAX_QUEUES];

		for (unsigned i = 0; i < n; i++)
			pfd[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
		if (poll(pfd, n, (int)(deadline - mono_ms())) <= 0)
			continue;
		for (unsigned i = 0; i < n; i++) {
			ssize_t len;

			if (!(pfd[i].revents & POLLIN))
				continue;
			while ((len = read(fds[i], buf, sizeof(buf))) > 0) {
				const struct iphdr *ip = (const void *)buf;
				const struct udphdr *uh;
				size_t hl = (size_t)ip->ihl * 4;

				if ((size_t)len < sizeof(*ip) || ip->version != 4 ||
				    ip->protocol != IPPROTO_UDP || ip->daddr != want.s_addr ||
				    (size_t)len < hl + sizeof(*uh) + strlen(payload))
					continue;
				uh = (const void *)(buf + hl);
				if (ntohs(uh->dest) == port &&
				    memcmp(buf + hl + sizeof(*uh), payload, strlen(payload)) == 0)
					return (int)i;
			}
			assert_true(len < 0 && errno == EAGAIN);
		}
	}
	return -1;
}

static void test_open_and_read(void **state)
{
	struct tun t;
	uint8_t buf[64];

	require_tun();
	assert_int_equal(tun_open(&t, "mtun%d", 1, 0), 0);
	assert_int_equal(strncmp(t.name, "mtun", 4), 0);
	assert_true(t.name[4] >= '0' && t.name[4] <= '9');
	assert_int_equal(t.nqueues, 1);
	assert_int_equal(nl_link_index(t.name), t.ifindex);
	assert_true(fcntl(t.fds[0], F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(t.fds[0], F_GETFD) & FD_CLOEXEC);
	assert_int_equal(read(t.fds[0], buf, sizeof(buf)), -1);
	assert_int_equal(errno, EAGAIN);

	configure(&t, "10.77.0.1/24");
	send_udp("10.77.0.2", 9999, "hello-tun");
	assert_int_equal(wait_udp(t.fds, 1, "10.77.0.2", 9999, "hello-tun"), 0);

	tun_close(&t);
	assert_int_equal(t.nqueues, 0);
	/* Not persistent: the device goes with its last fd. */
	assert_int_equal(nl_link_index("mtun0"), -ENODEV);
}

static uint16_t ip_csum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

static void test_write_delivers(void **state)
{
	struct ip_addr local;
	struct udp_meta m;
	struct tun t;
	uint8_t pkt[64], rx[64];
	struct iphdr *ip = (struct iphdr *)pkt;
	struct udphdr *uh = (struct udphdr *)(pkt + sizeof(*ip));
	const char *msg = "from-tun";
	size_t len = sizeof(*ip) + sizeof(*uh) + strlen(msg);
	uint16_t port;
	struct pollfd pfd;
	int fd;

	require_tun();
	assert_int_equal(tun_open(&t, "mtunw", 1, 0), 0);
	assert_string_equal(t.name, "mtunw");
	configure(&t, "10.78.0.1/24");
	assert_int_equal(ip_addr_parse("10.78.0.1", AF_INET, &local), ADDR_OK);
	fd = udp_open(&local, 0, NULL);
	assert_true(fd >= 0);
	assert_int_equal(udp_local(fd, &local, &port), 0);

	memset(pkt, 0, sizeof(pkt));
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = htons((uint16_t)len);
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	inet_pton(AF_INET, "10.78.0.2", &ip->saddr);
	inet_pton(AF_INET, "10.78.0.1", &ip->daddr);
	ip->check = ip_csum(ip, sizeof(*ip));
	uh->source = htons(4000);
	uh->dest = htons(port);
	uh->len = htons((uint16_t)(sizeof(*uh) + strlen(msg)));
	memcpy(uh + 1, msg, strlen(msg));	/* UDP checksum 0: none (IPv4) */
	assert_int_equal(write(t.fds[0], pkt, len), (ssize_t)len);

	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 10000), 1);
	assert_int_equal(udp_recv(fd, rx, sizeof(rx), &m), (ssize_t)strlen(msg));
	assert_memory_equal(rx, msg, strlen(msg));
	assert_int_equal(m.ifindex, t.ifindex);
	assert_int_equal(m.peer_port, 4000);
	close(fd);
	tun_close(&t);
}

static void test_multi_queue(void **state)
{
	struct tun t;
	char payload[32];
	int seen[2] = { 0, 0 };

	require_tun();
	assert_int_equal(tun_open(&t, "mtunq", 2, 0), -EINVAL);
	assert_int_equal(tun_open(&t, "mtunq", TUN_MAX_QUEUES + 1, TUN_F_MULTI_QUEUE), -EINVAL);
	assert_int_equal(tun_open(&t, "mtunq", 2, TUN_F_MULTI_QUEUE), 0);
	assert_int_equal(t.nqueues, 2);
	assert_string_equal(t.name, "mtunq");
	assert_true(t.fds[0] >= 0 && t.fds[1] >= 0 && t.fds[0] != t.fds[1]);
	configure(&t, "10.79.0.1/24");
	/* Different flows may hash to either queue; each must arrive on one. */
	for (int i = 0; i < 8; i++) {
		int q;

		snprintf(payload, sizeof(payload), "mq-%d", i);
		send_udp("10.79.0.2", (uint16_t)(7000 + i), payload);
		q = wait_udp(t.fds, 2, "10.79.0.2", (uint16_t)(7000 + i), payload);
		assert_true(q == 0 || q == 1);
		seen[q]++;
	}
	assert_int_equal(seen[0] + seen[1], 8);
	tun_close(&t);
}

static void test_vnet_hdr_flag(void **state)
{
	struct tun t, bad;

	require_tun();
	assert_int_equal(tun_open(&t, "mtunv", 1, TUN_F_VNET_HDR), 0);
	assert_int_equal(tun_open(&bad, "mtunv", 1, 0x80), -EINVAL);
	assert_int_equal(tun_open(&bad, "a-name-that-is-too-long", 1, 0), -EINVAL);
	/* A single-queue device in use cannot be attached a second time. */
	assert_int_equal(tun_open(&bad, "mtunv", 1, TUN_F_VNET_HDR), -EBUSY);
	tun_close(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_and_read),
		cmocka_unit_test(test_write_delivers),
		cmocka_unit_test(test_multi_queue),
		cmocka_unit_test(test_vnet_hdr_flag),
	};

	if (!net_isolate())
		fprintf(stderr, "test_tun: skipping: %s\n", net_isolate_why);
	return cmocka_run_group_tests(tests, setup, teardown);
}
