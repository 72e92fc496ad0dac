/* The ar role on a real link: two network namespaces joined by a veth pair,
 * the role advertising on "va" in the first, a raw ICMPv6 socket (our
 * net/icmp6.c) listening on "vb" in the second. The receiver timestamps
 * every RA it gets; the assertions are on those timestamps and on the
 * messages, never on the test's own sleeps.
 *
 * Runs as root (CLONE_NEWNET) or unprivileged (CLONE_NEWUSER|CLONE_NEWNET). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ar/ar.h"
#include "core/log.h"
#include "core/stats.h"
#include "core/table.h"
#include "daemon/config.h"
#include "daemon/daemon.h"
#include "daemon/role.h"
#include "net/icmp6.h"
#include "net/loop.h"
#include "wire/nd.h"

extern const struct role_ops ar_role_ops;

static pid_t peer_pid = -1;		/* holds the receiver's namespace */
static int ns_a = -1, ns_b = -1;
static int rx_fd = -1, vb_index;
static uint8_t va_mac[6], vb_mac[6];
static struct loop *L;
static struct io_watch *rx_watch;
static char conf_path[64];

#define MAX_RAS 512
struct got_ra {
	uint64_t t_us;
	struct in6_addr dst;
	struct nd_ra ra;
};
static struct got_ra ras[MAX_RAS];
static size_t n_ras;
static size_t n_bad;

/* ---- namespaces and link ----------------------------------------------- */

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

static int enter_netns(void)
{
	if (geteuid() == 0)
		return unshare(CLONE_NEWNET);
	uid_t uid = geteuid();
	gid_t gid = getegid();
	char map[64];
	if (unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0)
		return -1;
	write_file("/proc/self/setgroups", "deny");
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
	if (write_file("/proc/self/uid_map", map) < 0)
		return -1;
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
	return write_file("/proc/self/gid_map", map);
}

static void sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0) {
		fprintf(stderr, "command failed: %s\n", cmd);
		exit(1);
	}
}

static void read_mac(int fd, const char *ifname, uint8_t mac[6])
{
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
		perror("SIOCGIFHWADDR");
		exit(1);
	}
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
}

/* Waits (polling, 5 s at most) for a usable link-local address. */
static void wait_link_local(const char *ifname)
{
	for (int i = 0; i < 500; i++) {
		struct ifaddrs *ifa, *it;
		bool ok = false;
		if (getifaddrs(&ifa) == 0) {
			for (it = ifa; it; it = it->ifa_next)
				if (it->ifa_addr && it->ifa_addr->sa_family == AF_INET6 &&
				    strcmp(it->ifa_name, ifname) == 0 &&
				    IN6_IS_ADDR_LINKLOCAL(&((struct sockaddr_in6 *)it->ifa_addr)->sin6_addr))
					ok = true;
			freeifaddrs(ifa);
		}
		if (ok)
			return;
		usleep(10000);
	}
	fprintf(stderr, "no link-local address on %s\n", ifname);
	exit(1);
}

static void on_rx(int fd, void *arg)
{
	uint8_t buf[2048];
	struct icmp6_rx rx;
	struct wire_error err;
	ssize_t n;

	(void)arg;
	while ((n = icmp6_recv(fd, buf, sizeof(buf), &rx)) != -EAGAIN) {
		if (n <= 0 || buf[0] != ND_TYPE_RA || n_ras >= MAX_RAS)
			continue;
		struct got_ra *g = &ras[n_ras];
		if (nd_ra_parse(buf, (size_t)n, &g->ra, &err) != WIRE_OK) {
			fprintf(stderr, "bad RA: %s\n", err.msg);
			n_bad++;
			continue;
		}
		g->t_us = mono_us();
		g->dst = rx.dst;
		n_ras++;
	}
}

static void setup_link(void)
{
	int pipefd[2];
	char c, path[64];

	if (enter_netns() < 0) {
		perror("cannot create a network namespace");
		exit(1);
	}
	ns_a = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (pipe(pipefd) < 0)
		exit(1);
	peer_pid = fork();
	if (peer_pid == 0) {
		if (unshare(CLONE_NEWNET) < 0)
			_exit(1);
		if (write(pipefd[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	if (read(pipefd[0], &c, 1) != 1)
		exit(1);
	close(pipefd[0]);
	close(pipefd[1]);
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)peer_pid);
	ns_b = open(path, O_RDONLY | O_CLOEXEC);

	sh("ip link set lo up && ip link add va type veth peer name vb");
	sh("ip link set vb netns %d", (int)peer_pid);
	/* No DAD: the link-local addresses are usable as soon as the link is. */
	write_file("/proc/sys/net/ipv6/conf/va/accept_dad", "0");
	sh("ip link set va up");

	if (setns(ns_b, CLONE_NEWNET) < 0) {
		perror("setns");
		exit(1);
	}
	write_file("/proc/sys/net/ipv6/conf/vb/accept_dad", "0");
	sh("ip link set lo up && ip link set vb up");
	static const uint8_t types[] = { ND_TYPE_RA };
	rx_fd = icmp6_open("vb", types, 1, 0);
	if (rx_fd < 0) {
		fprintf(stderr, "icmp6_open(vb): %s\n", strerror(-rx_fd));
		exit(1);
	}
	vb_index = (int)if_nametoindex("vb");
	read_mac(rx_fd, "vb", vb_mac);
	wait_link_local("vb");
	if (setns(ns_a, CLONE_NEWNET) < 0)
		exit(1);
	int s = socket(AF_INET6, SOCK_DGRAM, 0);
	read_mac(s, "va", va_mac);
	close(s);
	wait_link_local("va");
}

/* ---- waiting ----------------------------------------------------------- */

static bool (*wait_pred)(void);
static uint64_t wait_deadline;
static struct timer wait_timer;

static void on_wait(void *arg)
{
	(void)arg;
	if (wait_pred() || mono_us() >= wait_deadline)
		loop_exit(L);
	else
		timer_arm_ms(&wait_timer, 2);
}

/* Runs the loop until pred() holds or timeout_ms passes. */
static bool wait_for(bool (*pred)(void), unsigned timeout_ms)
{
	if (pred())
		return true;
	wait_pred = pred;
	wait_deadline = mono_us() + timeout_ms * 1000ull;
	timer_arm_ms(&wait_timer, 1);
	loop_run(L);
	timer_cancel(&wait_timer);
	return pred();
}

static size_t want_ras;
static bool have_ras(void) { return n_ras >= want_ras; }
static bool wait_ras(size_t n, unsigned timeout_ms)
{
	want_ras = n;
	return wait_for(have_ras, timeout_ms);
}

static uint64_t counter_value(const char *name)
{
	for (struct counter *c = counter_first(); c; c = c->next)
		if (strcmp(c->name, name) == 0)
			return c->value;
	return 0;
}

static const char *want_counter;
static uint64_t want_counter_value;
static bool counter_reached(void) { return counter_value(want_counter) >= want_counter_value; }

/* ---- the role ---------------------------------------------------------- */

static struct daemon fake_daemon;

static void *start_role(const char *ar_block)
{
	char text[2048];
	struct cfg_ctx ctx;
	FILE *f = fopen(conf_path, "w");

	assert_non_null(f);
	snprintf(text, sizeof(text),
		 "node = { name = \"ar\"; };\ninterfaces = ( { name = \"va\"; } );\n"
		 "roles = [ \"ar\" ];\nar = { interfaces = ( { name = \"va\"; %s } ); };\n",
		 ar_block);
	fputs(text, f);
	fclose(f);
	cfg_ctx_init(&ctx, conf_path);
	struct node_config *nc = node_config_load(conf_path, &ctx);
	for (size_t i = 0; i < ctx.n_errors; i++)
		fprintf(stderr, "config: %s\n", ctx.errors[i]);
	assert_non_null(nc);
	cfg_ctx_clear(&ctx);
	struct role_config *rc = (struct role_config *)node_config_role(nc, "ar");
	fake_daemon.loop = L;
	void *inst = ar_role_ops.init(&fake_daemon, rc->cfg);
	assert_non_null(inst);
	rc->cfg = NULL;
	node_config_free(nc);
	n_ras = 0;
	n_bad = 0;
	assert_int_equal(ar_role_ops.start(inst), 0);
	return inst;
}

static void *reload_cfg(const char *ar_block)
{
	char text[2048];
	struct cfg_ctx ctx;
	FILE *f = fopen(conf_path, "w");

	snprintf(text, sizeof(text),
		 "node = { name = \"ar\"; };\ninterfaces = ( { name = \"va\"; } );\n"
		 "roles = [ \"ar\" ];\nar = { interfaces = ( { name = \"va\"; %s } ); };\n",
		 ar_block);
	fputs(text, f);
	fclose(f);
	cfg_ctx_init(&ctx, conf_path);
	struct node_config *nc = node_config_load(conf_path, &ctx);
	assert_non_null(nc);
	struct role_config *rc = (struct role_config *)node_config_role(nc, "ar");
	void *cfg = rc->cfg;
	rc->cfg = NULL;
	node_config_free(nc);
	return cfg;
}

static void stop_role(void *inst)
{
	size_t before = n_ras;

	ar_role_ops.stop(inst);
	/* RFC 4861 §6.2.5: the last word is an RA with router lifetime 0. */
	assert_true(wait_ras(before + 1, 3000));
	assert_int_equal(ras[n_ras - 1].ra.router_lifetime, 0);
	ar_role_ops.destroy(inst);
}

static void send_rs(int hop_limit, bool zero_len_option)
{
	struct nd_rs rs = { .has_slla = true, .slla = { 6, { 0 } } };
	uint8_t buf[64];
	size_t len;

	memcpy(rs.slla.addr, vb_mac, 6);
	assert_int_equal(nd_rs_build(&rs, buf, sizeof(buf), &len, NULL), WIRE_OK);
	if (zero_len_option)
		buf[9] = 0;
	if (hop_limit != 255)
		assert_int_equal(setsockopt(rx_fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hop_limit,
					    sizeof(hop_limit)), 0);
	assert_int_equal(icmp6_send(rx_fd, &icmp6_all_routers, vb_index, buf, len), 0);
	if (hop_limit != 255) {
		int h = 255;
		setsockopt(rx_fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &h, sizeof(h));
	}
}

/* ---- tests ------------------------------------------------------------- */

static void test_unsolicited(void **state)
{
	(void)state;
	void *inst = start_role(
		"min_interval_ms = 30; max_interval_ms = 70; mtu = 1500; home_agent = true;"
		"router_lifetime = 300; home_agent_info = { preference = 5; lifetime = 900; };"
		"prefixes = ( { prefix = \"2001:db8:5b:1::1/64\"; router_address = true;"
		"  valid_lifetime = 86400; preferred_lifetime = 14400; } );"
		"map = ( { address = \"2001:db8:7::30\"; distance = 1; preference = 7; } );");

	assert_true(wait_ras(30, 10000));
	assert_int_equal(n_bad, 0);
	const struct nd_ra *ra = &ras[0].ra;
	assert_true(IN6_IS_ADDR_MULTICAST(&ras[0].dst));
	assert_int_equal(ra->cur_hop_limit, 64);
	assert_true(ra->home_agent);
	assert_false(ra->managed);
	assert_int_equal(ra->router_lifetime, 300);
	assert_true(ra->has_slla);
	assert_memory_equal(ra->slla.addr, va_mac, 6);
	assert_true(ra->has_mtu);
	assert_int_equal(ra->mtu, 1500);
	assert_true(ra->has_adv_interval);
	assert_int_equal(ra->adv_interval_ms, 70);
	assert_true(ra->has_ha_info);
	assert_int_equal(ra->ha_preference, 5);
	assert_int_equal(ra->ha_lifetime, 900);
	assert_int_equal(ra->n_prefixes, 1);
	assert_true(ra->prefixes[0].router_address);
	assert_int_equal(ra->prefixes[0].prefix[15], 1);
	assert_int_equal(ra->n_maps, 1);
	assert_int_equal(ra->maps[0].pref, 7);

	/* RFC 4861 §6.2.4: uniformly random in [30, 70] ms. The receiver's
	 * clock adds scheduling jitter, hence the small margins. */
	uint64_t lo = UINT64_MAX, hi = 0, sum = 0;
	size_t n = n_ras - 1;
	for (size_t i = 1; i < n_ras; i++) {
		uint64_t d = ras[i].t_us - ras[i - 1].t_us;
		if (d < 20000 || d > 100000)
			fprintf(stderr, "interval %zu: %llu us\n", i, (unsigned long long)d);
		assert_true(d >= 20000);
		assert_true(d <= 100000);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
		sum += d;
	}
	fprintf(stderr, "intervals: min %llu us, max %llu us, mean %llu us over %zu\n",
		(unsigned long long)lo, (unsigned long long)hi, (unsigned long long)(sum / n), n);
	assert_true(sum / n >= 40000 && sum / n <= 65000);
	assert_true(hi - lo >= 10000);	/* randomised, not a fixed period */

	json_t *dump = ar_role_ops.dump(inst);
	json_t *ifs = json_object_get(dump, "interfaces");
	assert_int_equal(json_array_size(ifs), 1);
	json_t *i0 = json_array_get(ifs, 0);
	assert_string_equal(json_string_value(json_object_get(i0, "interface")), "va");
	assert_true(json_integer_value(json_object_get(i0, "ras_sent")) >= 30);
	json_decref(dump);
	struct table *t = table_find("ar");
	assert_non_null(t);
	json_t *rows = t->dump(t->arg);
	assert_int_equal(json_array_size(rows), 1);
	json_decref(rows);
	stop_role(inst);
	assert_null(table_find("ar"));
}

static void test_rs_unicast(void **state)
{
	(void)state;
	void *inst = start_role("min_interval_ms = 3000; max_interval_ms = 4000;"
				"solicited_rate = 1; min_delay_between_ras_ms = 100;"
				"prefixes = ( { prefix = \"2001:db8:5b:1::/64\"; } );");
	uint64_t rs_before = counter_value("mipsec_ar_rs_received_total");
	uint64_t limited = counter_value("mipsec_ar_rs_ratelimited_total");
	uint64_t sol_before = counter_value("mipsec_ar_ra_solicited_total");

	assert_true(wait_ras(1, 5000));
	uint64_t t_rs = mono_us();
	send_rs(255, false);
	assert_true(wait_ras(2, 3000));
	uint64_t d = ras[1].t_us - t_rs;
	fprintf(stderr, "unicast answer after %llu us\n", (unsigned long long)d);
	/* The periodic RA is 3 s away: only the answer can be this early. */
	assert_true(d < 1000000);
	assert_false(IN6_IS_ADDR_MULTICAST(&ras[1].dst));
	assert_true(IN6_IS_ADDR_LINKLOCAL(&ras[1].dst));
	assert_int_equal(ras[1].ra.n_prefixes, 1);
	assert_int_equal(counter_value("mipsec_ar_rs_received_total"), rs_before + 1);
	assert_int_equal(counter_value("mipsec_ar_ra_solicited_total"), sol_before + 1);
	/* solicited_rate = 1: the next RS within the second is answered by
	 * a multicast RA instead. */
	t_rs = mono_us();
	send_rs(255, false);
	assert_true(wait_ras(3, 3000));
	assert_true(ras[2].t_us - t_rs < 1000000);
	assert_true(IN6_IS_ADDR_MULTICAST(&ras[2].dst));
	assert_int_equal(counter_value("mipsec_ar_rs_ratelimited_total"), limited + 1);
	assert_int_equal(counter_value("mipsec_ar_ra_solicited_total"), sol_before + 2);
	stop_role(inst);
}

static void test_rs_multicast_rate_limited(void **state)
{
	(void)state;
	void *inst = start_role("min_interval_ms = 3000; max_interval_ms = 4000;"
				"solicited_unicast = false; min_delay_between_ras_ms = 200;");

	assert_true(wait_ras(1, 5000));
	uint64_t t_rs = mono_us();
	send_rs(255, false);
	assert_true(wait_ras(2, 3000));
	assert_true(IN6_IS_ADDR_MULTICAST(&ras[1].dst));
	assert_true(ras[1].t_us - t_rs < 1000000);
	/* MinDelayBetweenRAs (RFC 6275 §7.5) holds between multicast RAs. */
	assert_true(ras[1].t_us - ras[0].t_us >= 190000);
	t_rs = mono_us();
	send_rs(255, false);
	send_rs(255, false);
	assert_true(wait_ras(3, 3000));
	assert_true(ras[2].t_us - t_rs < 1000000);
	assert_true(ras[2].t_us - ras[1].t_us >= 190000);
	stop_role(inst);
}

static void test_rs_invalid(void **state)
{
	(void)state;
	void *inst = start_role("min_interval_ms = 3000; max_interval_ms = 4000;");
	uint64_t hop = counter_value("mipsec_icmp6_hoplimit_drop_total");
	uint64_t inval = counter_value("mipsec_ar_rs_invalid_total");

	assert_true(wait_ras(1, 5000));
	/* RFC 4861 §6.1.1: hop limit must be 255. */
	send_rs(64, false);
	want_counter = "mipsec_icmp6_hoplimit_drop_total";
	want_counter_value = hop + 1;
	assert_true(wait_for(counter_reached, 3000));
	/* RFC 4861 §4.6: an option of length 0. */
	send_rs(255, true);
	want_counter = "mipsec_ar_rs_invalid_total";
	want_counter_value = inval + 1;
	assert_true(wait_for(counter_reached, 3000));
	/* Neither was answered: a valid RS now gets the next RA. */
	uint64_t t_rs = mono_us();
	send_rs(255, false);
	assert_true(wait_ras(2, 3000));
	assert_true(ras[1].t_us - t_rs < 1000000);
	assert_false(IN6_IS_ADDR_MULTICAST(&ras[1].dst));
	stop_role(inst);
}

static void test_reload(void **state)
{
	(void)state;
	void *inst = start_role("min_interval_ms = 3000; max_interval_ms = 4000;"
				"min_delay_between_ras_ms = 100;"
				"prefixes = ( { prefix = \"2001:db8:1::/64\"; } );");

	assert_true(wait_ras(1, 5000));
	assert_int_equal(ras[0].ra.prefixes[0].prefix[5], 1);
	void *cfg = reload_cfg("min_interval_ms = 3000; max_interval_ms = 4000;"
			       "min_delay_between_ras_ms = 100; managed = true;"
			       "prefixes = ( { prefix = \"2001:db8:2::/64\"; } );");
	uint64_t t = mono_us();
	assert_int_equal(ar_role_ops.reload(inst, cfg), 0);
	/* Changed information goes out at once (after MinDelayBetweenRAs),
	 * not at the next periodic RA 3-4 s later. */
	assert_true(wait_ras(2, 3000));
	assert_true(ras[1].t_us - t < 1000000);
	assert_true(ras[1].ra.managed);
	/* The new prefix, and the dropped one with zero lifetimes. */
	assert_int_equal(ras[1].ra.n_prefixes, 2);
	assert_int_equal(ras[1].ra.prefixes[0].prefix[5], 2);
	assert_int_equal(ras[1].ra.prefixes[0].valid_lifetime, 2592000);
	assert_int_equal(ras[1].ra.prefixes[1].prefix[5], 1);
	assert_int_equal(ras[1].ra.prefixes[1].valid_lifetime, 0);
	assert_int_equal(ras[1].ra.prefixes[1].preferred_lifetime, 0);
	/* Withdrawn prefixes ride on the initial RAs only. */
	cfg = reload_cfg("min_interval_ms = 30; max_interval_ms = 70;"
			 "min_delay_between_ras_ms = 30; managed = true;"
			 "prefixes = ( { prefix = \"2001:db8:2::/64\"; } );");
	assert_int_equal(ar_role_ops.reload(inst, cfg), 0);
	assert_true(wait_ras(10, 5000));
	for (size_t i = 2; i < 5; i++)
		assert_int_equal(ras[i].ra.n_prefixes, 2);
	for (size_t i = 5; i < n_ras; i++)
		assert_int_equal(ras[i].ra.n_prefixes, 1);
	stop_role(inst);
}

static int group_setup(void **state)
{
	(void)state;
	log_init("test_ar_role", LOG_LVL_WARN, false);
	snprintf(conf_path, sizeof(conf_path), "/tmp/test_ar_role.%d.conf", (int)getpid());
	setup_link();
	L = loop_new();
	assert_non_null(L);
	timer_init(&wait_timer, L, on_wait, NULL);
	rx_watch = io_watch_add(L, rx_fd, on_rx, NULL);
	return rx_watch ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	io_watch_del(rx_watch);
	timer_deinit(&wait_timer);
	loop_free(L);
	close(rx_fd);
	unlink(conf_path);
	if (peer_pid > 0) {
		kill(peer_pid, SIGKILL);
		waitpid(peer_pid, NULL, 0);
	}
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unsolicited),
		cmocka_unit_test(test_rs_unicast),
		cmocka_unit_test(test_rs_multicast_rate_limited),
		cmocka_unit_test(test_rs_invalid),
		cmocka_unit_test(test_reload),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
