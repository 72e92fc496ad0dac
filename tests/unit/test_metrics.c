/* Metrics: the exposition text line by line, and real HTTP over TCP against
 * the server driven by our loop (no MHD thread). */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/stats.h"
#include "ctl/metrics.h"
#include "net/loop.h"

#define TIMEOUT_MS 10000

COUNTER_DEFINE(t_plain, "mipsec_test_plain_total", "A plain counter");
COUNTER_DEFINE(t_esc, "mipsec_test_escaped_total", "Help with \\ backslash\nand newline");
static struct counter t_if0 = { .name = "mipsec_test_if_rx_total", .help = "Per interface",
				.label = "iface=\"eth0\"" };
static struct counter t_if1 = { .name = "mipsec_test_if_rx_total", .help = "Per interface",
				.label = "iface=\"eth1\"" };

static int register_counters(void **state)
{
	(void)state;
	/* The family's members are split by another counter on purpose. */
	counter_register(&t_if0);
	counter_register(&t_plain);
	counter_register(&t_esc);
	counter_register(&t_if1);
	t_plain.value = 42;
	t_if0.value = 7;
	t_if1.value = UINT64_C(18446744073709551615);
	return 0;
}

static char **split_lines(char *text, size_t *n)
{
	char **lines = NULL;
	size_t cnt = 0;

	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		lines = realloc(lines, (cnt + 1) * sizeof(*lines));
		lines[cnt++] = l;
	}
	*n = cnt;
	return lines;
}

static ssize_t find_line(char **lines, size_t n, const char *want)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(lines[i], want) == 0)
			return (ssize_t)i;
	return -1;
}

static void test_render_format(void **state)
{
	char *text = metrics_render("ha\"1");
	size_t n;
	char **lines;

	(void)state;
	assert_non_null(text);
	assert_int_equal(text[strlen(text) - 1], '\n');
	lines = split_lines(text, &n);

	/* Every line is a comment or `name{labels} value`, labels start with node. */
	for (size_t i = 0; i < n; i++) {
		char name[128], labels[256], value[64];
		if (lines[i][0] == '#') {
			assert_true(strncmp(lines[i], "# HELP ", 7) == 0 ||
				    strncmp(lines[i], "# TYPE ", 7) == 0);
			continue;
		}
		if (sscanf(lines[i], "%127[a-zA-Z0-9_:]{%255[^}]} %63s", name, labels, value) != 3)
			fail_msg("bad sample line: %s", lines[i]);
		assert_true(strncmp(labels, "node=\"ha\\\"1\"", 12) == 0);
		char *end;
		strtod(value, &end);
		assert_int_equal(*end, '\0');
	}

	assert_true(find_line(lines, n, "# TYPE mipsec_up gauge") >= 0);
	assert_true(find_line(lines, n, "mipsec_up{node=\"ha\\\"1\"} 1") >= 0);
	assert_true(find_line(lines, n, "# TYPE mipsec_process_start_time_seconds gauge") >= 0);

	ssize_t h = find_line(lines, n, "# HELP mipsec_test_plain_total A plain counter");
	assert_true(h >= 0);
	assert_string_equal(lines[h + 1], "# TYPE mipsec_test_plain_total counter");
	assert_string_equal(lines[h + 2], "mipsec_test_plain_total{node=\"ha\\\"1\"} 42");

	h = find_line(lines, n,
		      "# HELP mipsec_test_escaped_total Help with \\\\ backslash\\nand newline");
	assert_true(h >= 0);

	/* One family: one HELP, one TYPE, members adjacent, own labels merged. */
	h = find_line(lines, n, "# HELP mipsec_test_if_rx_total Per interface");
	assert_true(h >= 0);
	assert_string_equal(lines[h + 1], "# TYPE mipsec_test_if_rx_total counter");
	assert_string_equal(lines[h + 2],
			    "mipsec_test_if_rx_total{node=\"ha\\\"1\",iface=\"eth0\"} 7");
	assert_string_equal(lines[h + 3], "mipsec_test_if_rx_total{node=\"ha\\\"1\","
					  "iface=\"eth1\"} 18446744073709551615");
	size_t helps = 0;
	for (size_t i = 0; i < n; i++)
		helps += strncmp(lines[i], "# HELP mipsec_test_if_rx_total ", 31) == 0;
	assert_int_equal(helps, 1);

	/* The start time is this process's, give or take clock granularity. */
	char want[128];
	snprintf(want, sizeof(want), "mipsec_process_start_time_seconds{node=\"ha\\\"1\"} ");
	for (size_t i = 0; i < n; i++)
		if (strncmp(lines[i], want, strlen(want)) == 0) {
			double t = strtod(lines[i] + strlen(want), NULL);
			double now = (double)time(NULL);
			assert_true(t > now - 600 && t <= now + 1);
			h = -2;
		}
	assert_int_equal(h, -2);
	free(lines);
	free(text);
}

struct http {
	struct loop *loop;
	struct timer tick;
	struct metrics_server *m;
	int fd;
	char buf[1 << 16];
	size_t len;
	bool eof;
};

static void tick_cb(void *arg) { (void)arg; }

static bool pump(struct http *h)
{
	for (;;) {
		ssize_t n = recv(h->fd, h->buf + h->len, sizeof(h->buf) - 1 - h->len, MSG_DONTWAIT);
		if (n > 0) {
			h->len += (size_t)n;
			h->buf[h->len] = '\0';
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			h->eof = true;
		return h->eof;
	}
}

/* One request on a fresh connection (Connection: close); returns the reply. */
static const char *http_exchange(struct http *h, int family, const char *req)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	uint64_t deadline = mono_ms() + TIMEOUT_MS;

	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_loopback;
		s6->sin6_port = htons((uint16_t)metrics_server_port(h->m));
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		s4->sin_port = htons((uint16_t)metrics_server_port(h->m));
		sl = sizeof(*s4);
	}
	h->len = 0;
	h->buf[0] = '\0';
	h->eof = false;
	h->fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_true(h->fd >= 0);
	int rc = connect(h->fd, (struct sockaddr *)&ss, sl);
	assert_true(rc == 0 || errno == EINPROGRESS);
	size_t off = 0, len = strlen(req);
	while (!pump(h) || off < len) {
		if (off < len) {
			ssize_t n = send(h->fd, req + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0)
				off += (size_t)n;
		}
		if (h->eof)
			break;
		if (mono_ms() > deadline)
			fail_msg("no complete HTTP reply within %d ms (got %zu bytes)", TIMEOUT_MS,
				 h->len);
		timer_arm_ms(&h->tick, 10);
		event_base_loop(loop_base(h->loop), EVLOOP_ONCE);
	}
	close(h->fd);
	return h->buf;
}

static struct http *http_start(int family)
{
	struct http *h = calloc(1, sizeof(*h));
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;

	h->loop = loop_new();
	assert_non_null(h->loop);
	assert_int_equal(timer_init(&h->tick, h->loop, tick_cb, NULL), 0);
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_loopback;
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof(*s4);
	}
	h->m = metrics_server_start(h->loop, (struct sockaddr *)&ss, sl, "node-a");
	if (!h->m) {
		timer_deinit(&h->tick);
		loop_free(h->loop);
		free(h);
		return NULL;
	}
	assert_true(metrics_server_port(h->m) > 0);
	return h;
}

static void http_stop(struct http *h)
{
	metrics_server_stop(h->m);
	timer_deinit(&h->tick);
	loop_free(h->loop);
	free(h);
}

static const char *header(const char *resp, const char *name)
{
	static char val[256];
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\r\n%s: ", name);
	p = strcasestr(resp, pat);
	if (!p)
		return NULL;
	p += strlen(pat);
	size_t n = strcspn(p, "\r\n");
	snprintf(val, sizeof(val), "%.*s", (int)n, p);
	return val;
}

static uint64_t counter_value(const char *name)
{
	for (struct counter *c = counter_first(); c; c = c->next)
		if (strcmp(c->name, name) == 0)
			return c->value;
	fail_msg("counter %s is not registered", name);
	return 0;
}

static void check_scrape(struct http *h, int family)
{
	const char *r;

	t_plain.value = 1234;
	r = http_exchange(h, family,
			  "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	assert_true(strncmp(r, "HTTP/1.1 200 ", 13) == 0);
	assert_non_null(header(r, "Content-Type"));
	assert_true(strncmp(header(r, "Content-Type"), "text/plain; version=0.0.4", 25) == 0);
	const char *body = strstr(r, "\r\n\r\n");
	assert_non_null(body);
	body += 4;
	assert_int_equal(strtoul(header(r, "Content-Length"), NULL, 10), strlen(body));
	assert_non_null(strstr(body, "\nmipsec_test_plain_total{node=\"node-a\"} 1234\n"));
	assert_non_null(strstr(body, "mipsec_up{node=\"node-a\"} 1\n"));
}

static bool full_reply(struct http *h, size_t from)
{
	const char *head = h->buf + from, *body, *cl;

	pump(h);
	if (h->len <= from)
		return false;
	body = strstr(head, "\r\n\r\n");
	cl = strcasestr(head, "\r\nContent-Length: ");
	if (!body || !cl)
		return false;
	return h->len - (size_t)(body + 4 - h->buf) >= strtoul(cl + 18, NULL, 10);
}

static void wait_reply(struct http *h, size_t from)
{
	uint64_t deadline = mono_ms() + TIMEOUT_MS;

	while (!full_reply(h, from)) {
		assert_false(h->eof);
		if (mono_ms() > deadline)
			fail_msg("no complete HTTP reply within %d ms", TIMEOUT_MS);
		timer_arm_ms(&h->tick, 10);
		event_base_loop(loop_base(h->loop), EVLOOP_ONCE);
	}
}

static void keepalive(struct http *h)
{
	struct sockaddr_in s4 = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				  .sin_port = htons((uint16_t)metrics_server_port(h->m)) };
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";

	h->len = 0;
	h->buf[0] = '\0';
	h->eof = false;
	h->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(h->fd, (struct sockaddr *)&s4, sizeof(s4)), 0);
	assert_int_equal(send(h->fd, req, sizeof(req) - 1, MSG_NOSIGNAL), sizeof(req) - 1);
	wait_reply(h, 0);
	assert_true(strncmp(h->buf, "HTTP/1.1 200 ", 13) == 0);
	assert_null(strcasestr(h->buf, "\r\nConnection: close"));
	size_t second = h->len;
	assert_int_equal(send(h->fd, req, sizeof(req) - 1, MSG_NOSIGNAL), sizeof(req) - 1);
	wait_reply(h, second);
	assert_true(strncmp(h->buf + second, "HTTP/1.1 200 ", 13) == 0);
	close(h->fd);
}

static void test_http_ipv4(void **state)
{
	struct http *h = http_start(AF_INET);
	const char *r;

	(void)state;
	assert_non_null(h);
	uint64_t s0 = counter_value("mipsec_metrics_scrapes_total");
	uint64_t b0 = counter_value("mipsec_metrics_bad_requests_total");
	check_scrape(h, AF_INET);
	/* The scrape counted itself before rendering. */
	assert_non_null(strstr(h->buf, "mipsec_metrics_scrapes_total{node=\"node-a\"} "));
	assert_int_equal(counter_value("mipsec_metrics_scrapes_total") - s0, 1);

	r = http_exchange(h, AF_INET, "GET /other HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	assert_true(strncmp(r, "HTTP/1.1 404 ", 13) == 0);
	r = http_exchange(h, AF_INET, "GET / HTTP/1.0\r\n\r\n");
	assert_true(strncmp(r, "HTTP/1.0 404 ", 13) == 0 || strncmp(r, "HTTP/1.1 404 ", 13) == 0);
	r = http_exchange(h, AF_INET,
			  "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
			  "Connection: close\r\n\r\nabc");
	assert_true(strncmp(r, "HTTP/1.1 405 ", 13) == 0);
	assert_non_null(header(r, "Allow"));
	assert_int_equal(counter_value("mipsec_metrics_bad_requests_total") - b0, 3);

	/* Garbage is answered (400 from MHD), and the server keeps serving. */
	r = http_exchange(h, AF_INET, "\x01\x02 nonsense\r\n\r\n");
	assert_true(strncmp(r, "HTTP/1.1 400 ", 13) == 0 || h->len == 0);
	check_scrape(h, AF_INET);

	/* Keep-alive: a second request on the same connection after the first
	 * answer (edge-triggered sockets under MHD's epoll must still wake us). */
	keepalive(h);
	http_stop(h);
}

static void test_http_ipv6(void **state)
{
	int probe = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };

	(void)state;
	if (probe < 0 || bind(probe, (struct sockaddr *)&s6, sizeof(s6)) < 0) {
		if (probe >= 0)
			close(probe);
		skip();
	}
	close(probe);
	struct http *h = http_start(AF_INET6);
	assert_non_null(h);
	check_scrape(h, AF_INET6);
	http_stop(h);
}

static void test_bind_conflict(void **state)
{
	struct http *h = http_start(AF_INET);
	struct sockaddr_in s4 = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				  .sin_port = htons((uint16_t)metrics_server_port(h->m)) };
	struct sockaddr_un { sa_family_t f; char p[8]; } bad = { .f = AF_UNIX };

	(void)state;
	assert_null(metrics_server_start(h->loop, (struct sockaddr *)&s4, sizeof(s4), "x"));
	assert_null(metrics_server_start(h->loop, (struct sockaddr *)&bad, sizeof(bad), "x"));
	check_scrape(h, AF_INET);
	http_stop(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_format),
		cmocka_unit_test(test_http_ipv4),
		cmocka_unit_test(test_http_ipv6),
		cmocka_unit_test(test_bind_conflict),
	};

	return cmocka_run_group_tests(tests, register_counters, NULL);
}
