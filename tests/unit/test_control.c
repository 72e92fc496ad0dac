/* Control socket: a real server on a real loop, real UNIX sockets. Clients are
 * nonblocking sockets driven alongside the loop, or ctl_request() in a child. */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/stats.h"
#include "ctl/control.h"
#include "ctl/ctl_client.h"
#include "net/loop.h"

#define TIMEOUT_MS 10000

struct fixture {
	struct loop *loop;
	struct timer tick;
	char dir[64];
	char path[128];
	struct ctl_server *srv;
	unsigned calls;
};

static json_t *handler(const json_t *req, void *arg)
{
	struct fixture *fx = arg;
	const char *cmd = json_string_value(json_object_get(req, "command"));

	fx->calls++;
	if (cmd && strcmp(cmd, "fail") == 0)
		return ctl_error("asked to fail");
	if (cmd && strcmp(cmd, "big") == 0) {
		/* Far more than a socket buffer: forces partial writes. */
		size_t n = 2u * 1024u * 1024u;
		char *s = malloc(n + 1);
		memset(s, 'x', n);
		s[n] = '\0';
		json_t *r = ctl_ok(json_stringn(s, n));
		free(s);
		return r;
	}
	return ctl_ok(json_pack("{s:O, s:I}", "echo", (json_t *)req, "calls",
				(json_int_t)fx->calls));
}

static void tick_cb(void *arg) { (void)arg; }

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	strcpy(fx->dir, "/tmp/mipsec-ctl-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/run/sub/ctl.sock", fx->dir);
	fx->loop = loop_new();
	assert_non_null(fx->loop);
	assert_int_equal(timer_init(&fx->tick, fx->loop, tick_cb, NULL), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[160];

	ctl_server_close(fx->srv);
	timer_deinit(&fx->tick);
	loop_free(fx->loop);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

static void open_server(struct fixture *fx)
{
	fx->srv = ctl_server_open(fx->loop, fx->path, handler, fx);
	assert_non_null(fx->srv);
}

/* Runs the loop until pred(arg) holds; fails the test after TIMEOUT_MS. */
static void drive(struct fixture *fx, bool (*pred)(void *), void *arg)
{
	uint64_t deadline = mono_ms() + TIMEOUT_MS;

	while (!pred(arg)) {
		if (mono_ms() > deadline)
			fail_msg("condition not reached within %d ms", TIMEOUT_MS);
		timer_arm_ms(&fx->tick, 10);
		event_base_loop(loop_base(fx->loop), EVLOOP_ONCE);
	}
}

struct client {
	int fd;
	char *buf;
	size_t len, cap;
	bool eof;
	int err;
	size_t want_lines;
};

static void client_connect(struct client *c, const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	memset(c, 0, sizeof(*c));
	strcpy(sun.sun_path, path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_true(c->fd >= 0);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
}

static void client_pump(struct client *c)
{
	for (;;) {
		if (c->cap - c->len < 65536) {
			c->cap = c->cap ? c->cap * 2 : 65536;
			c->buf = realloc(c->buf, c->cap);
			assert_non_null(c->buf);
		}
		ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, MSG_DONTWAIT);
		if (n > 0) {
			c->len += (size_t)n;
			continue;
		}
		if (n == 0)
			c->eof = true;
		else if (errno != EAGAIN)
			c->err = errno, c->eof = true;
		return;
	}
}

static size_t client_lines(const struct client *c)
{
	size_t n = 0;

	for (size_t i = 0; i < c->len; i++)
		n += c->buf[i] == '\n';
	return n;
}

static bool has_lines(void *arg)
{
	struct client *c = arg;

	client_pump(c);
	return client_lines(c) >= c->want_lines || c->eof;
}

static bool has_eof(void *arg)
{
	struct client *c = arg;

	client_pump(c);
	return c->eof;
}

/* Sends everything, letting the server run whenever the socket is full. */
static void client_send(struct fixture *fx, struct client *c, const char *data, size_t len)
{
	size_t off = 0;
	uint64_t deadline = mono_ms() + TIMEOUT_MS;

	while (off < len) {
		ssize_t n = send(c->fd, data + off, len - off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		/* The server may hang up on a flood before it all went out. */
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
			return;
		assert_true(n < 0 && errno == EAGAIN);
		assert_true(mono_ms() < deadline);
		client_pump(c);
		timer_arm_ms(&fx->tick, 10);
		event_base_loop(loop_base(fx->loop), EVLOOP_ONCE);
	}
}

static void client_sends(struct fixture *fx, struct client *c, const char *s)
{
	client_send(fx, c, s, strlen(s));
}

/* Waits for response line number `idx` (0-based) and parses it. */
static json_t *client_response(struct fixture *fx, struct client *c, size_t idx)
{
	const char *p = c->buf;

	c->want_lines = idx + 1;
	drive(fx, has_lines, c);
	assert_true(client_lines(c) > idx);
	p = c->buf;
	for (size_t i = 0; i < idx; i++)
		p = memchr(p, '\n', (size_t)(c->buf + c->len - p)) + 1;
	const char *nl = memchr(p, '\n', (size_t)(c->buf + c->len - p));
	json_error_t e;
	json_t *j = json_loadb(p, (size_t)(nl - p), 0, &e);
	if (!j)
		fail_msg("response %zu is not JSON: %s", idx, e.text);
	return j;
}

static void client_close(struct client *c)
{
	close(c->fd);
	free(c->buf);
}

static uint64_t counter_value(const char *name)
{
	for (struct counter *c = counter_first(); c; c = c->next)
		if (strcmp(c->name, name) == 0)
			return c->value;
	fail_msg("counter %s is not registered", name);
	return 0;
}

static void assert_ok(json_t *r)
{
	assert_true(json_is_true(json_object_get(r, "ok")));
}

static void assert_error(json_t *r, const char *needle)
{
	const char *e = json_string_value(json_object_get(r, "error"));

	assert_true(json_is_false(json_object_get(r, "ok")));
	assert_non_null(e);
	if (!strstr(e, needle))
		fail_msg("error \"%s\" does not mention \"%s\"", e, needle);
}

static void test_valid_request(void **state)
{
	struct fixture *fx = *state;
	struct client c;
	uint64_t req0;
	json_t *r;

	open_server(fx);
	req0 = counter_value("mipsec_ctl_requests_total");
	client_connect(&c, fx->path);
	client_sends(fx, &c, "{\"command\":\"status\"}\n");
	r = client_response(fx, &c, 0);
	assert_ok(r);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(json_object_get(r, "result"), "echo"), "command")),
			    "status");
	json_decref(r);

	/* Two pipelined requests in one write, then one split over writes. */
	client_sends(fx, &c, "{\"command\":\"a\"}\n{\"command\":\"fail\"}\n{\"comm");
	r = client_response(fx, &c, 1);
	assert_ok(r);
	json_decref(r);
	r = client_response(fx, &c, 2);
	assert_error(r, "asked to fail");
	json_decref(r);
	client_sends(fx, &c, "and\":\"c\"}\r\n\n");
	r = client_response(fx, &c, 3);
	assert_ok(r);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(json_object_get(r, "result"), "echo"), "command")),
			    "c");
	json_decref(r);
	assert_int_equal(fx->calls, 4);
	assert_int_equal(counter_value("mipsec_ctl_requests_total") - req0, 4);
	client_close(&c);
}

static void test_malformed_json(void **state)
{
	struct fixture *fx = *state;
	struct client c;
	uint64_t err0, bad0;
	json_t *r;

	open_server(fx);
	err0 = counter_value("mipsec_ctl_errors_total");
	bad0 = counter_value("mipsec_ctl_bad_json_total");
	client_connect(&c, fx->path);
	client_sends(fx, &c, "{\"command\": status}\n");
	r = client_response(fx, &c, 0);
	assert_error(r, "malformed JSON");
	json_decref(r);
	client_sends(fx, &c, "[1,2]\n");
	r = client_response(fx, &c, 1);
	assert_error(r, "must be a JSON object");
	json_decref(r);
	client_sends(fx, &c, "{\"a\":1,\"a\":2}\n");
	r = client_response(fx, &c, 2);
	assert_error(r, "malformed JSON");
	json_decref(r);
	/* The connection survives bad input. */
	client_sends(fx, &c, "{\"command\":\"after\"}\n");
	r = client_response(fx, &c, 3);
	assert_ok(r);
	json_decref(r);
	assert_int_equal(fx->calls, 1);
	assert_int_equal(counter_value("mipsec_ctl_bad_json_total") - bad0, 3);
	assert_int_equal(counter_value("mipsec_ctl_errors_total") - err0, 3);
	client_close(&c);
}

static void test_oversized_request(void **state)
{
	struct fixture *fx = *state;
	const size_t max = 64u * 1024u;
	struct client c;
	uint64_t over0;
	json_t *r;
	char *big;

	open_server(fx);
	over0 = counter_value("mipsec_ctl_oversized_total");

	/* Exactly at the limit is accepted. */
	big = malloc(max + 200000);
	const char *head = "{\"command\":\"pad\",\"pad\":\"";
	size_t hl = strlen(head);
	memcpy(big, head, hl);
	memset(big + hl, 'p', max - hl - 2);
	memcpy(big + max - 2, "\"}\n", 3);
	client_connect(&c, fx->path);
	client_send(fx, &c, big, max + 1);
	r = client_response(fx, &c, 0);
	assert_ok(r);
	json_decref(r);
	client_close(&c);

	/* One byte more, no newline yet: answered and closed. */
	client_connect(&c, fx->path);
	memset(big, 'a', max + 200000);
	client_send(fx, &c, big, max + 1);
	r = client_response(fx, &c, 0);
	assert_error(r, "exceeds 65536 bytes");
	json_decref(r);
	drive(fx, has_eof, &c);
	assert_int_equal(client_lines(&c), 1);
	client_close(&c);

	/* A flood far beyond the limit is cut off the same way. */
	client_connect(&c, fx->path);
	client_send(fx, &c, big, 150000);
	r = client_response(fx, &c, 0);
	assert_error(r, "exceeds");
	json_decref(r);
	drive(fx, has_eof, &c);
	client_close(&c);

	assert_int_equal(fx->calls, 1);
	assert_int_equal(counter_value("mipsec_ctl_oversized_total") - over0, 2);
	free(big);
}

static void test_multiple_clients(void **state)
{
	struct fixture *fx = *state;
	enum { N = 6 };
	struct client c[N];
	char msg[64];

	open_server(fx);
	for (int i = 0; i < N; i++)
		client_connect(&c[i], fx->path);
	/* Interleave halves of the requests across clients. */
	for (int i = 0; i < N; i++)
		client_sends(fx, &c[i], "{\"command\":\"id\",");
	for (int i = N - 1; i >= 0; i--) {
		snprintf(msg, sizeof(msg), "\"id\":%d}\n", i);
		client_sends(fx, &c[i], msg);
	}
	for (int i = 0; i < N; i++) {
		json_t *r = client_response(fx, &c[i], 0);
		assert_ok(r);
		assert_int_equal(json_integer_value(json_object_get(
					 json_object_get(json_object_get(r, "result"), "echo"), "id")),
				 i);
		json_decref(r);
	}
	/* A closing client does not disturb the others. */
	client_close(&c[0]);
	client_sends(fx, &c[1], "{\"command\":\"again\"}\n");
	json_t *r = client_response(fx, &c[1], 1);
	assert_ok(r);
	json_decref(r);
	for (int i = 1; i < N; i++)
		client_close(&c[i]);
}

static void test_large_response_and_half_close(void **state)
{
	struct fixture *fx = *state;
	struct client c, d;
	json_t *r;

	open_server(fx);
	client_connect(&c, fx->path);
	/* Two requests queued behind a response bigger than the socket buffer. */
	client_sends(fx, &c, "{\"command\":\"big\"}\n{\"command\":\"next\"}\n");
	r = client_response(fx, &c, 0);
	assert_ok(r);
	assert_int_equal(json_string_length(json_object_get(r, "result")), 2u * 1024u * 1024u);
	json_decref(r);
	r = client_response(fx, &c, 1);
	assert_ok(r);
	json_decref(r);
	client_close(&c);

	/* Last request without newline, then shutdown: answered, then EOF. */
	client_connect(&d, fx->path);
	client_sends(fx, &d, "{\"command\":\"x\"}\n{\"command\":\"last\"}");
	assert_int_equal(shutdown(d.fd, SHUT_WR), 0);
	drive(fx, has_eof, &d);
	assert_int_equal(client_lines(&d), 2);
	assert_int_equal(d.err, 0);
	r = client_response(fx, &d, 1);
	assert_ok(r);
	json_decref(r);
	client_close(&d);
}

static uint64_t accepted_want;

static uint64_t accepted_count(void)
{
	return counter_value("mipsec_ctl_connections_total") +
	       counter_value("mipsec_ctl_rejected_connections_total");
}

static bool accepted(void *arg)
{
	(void)arg;
	return accepted_count() >= accepted_want;
}

static void test_too_many_clients(void **state)
{
	struct fixture *fx = *state;
	enum { N = 33 };
	struct client c[N];
	uint64_t rej0, acc0;
	json_t *r;

	open_server(fx);
	rej0 = counter_value("mipsec_ctl_rejected_connections_total");
	acc0 = accepted_count();
	for (int i = 0; i < N; i++) {
		client_connect(&c[i], fx->path);
		accepted_want = acc0 + (uint64_t)i + 1;
		drive(fx, accepted, NULL);
	}
	drive(fx, has_eof, &c[N - 1]);
	r = client_response(fx, &c[N - 1], 0);
	assert_error(r, "too many");
	json_decref(r);
	assert_int_equal(counter_value("mipsec_ctl_rejected_connections_total") - rej0, 1);
	client_sends(fx, &c[N - 2], "{\"command\":\"x\"}\n");
	r = client_response(fx, &c[N - 2], 0);
	assert_ok(r);
	json_decref(r);
	for (int i = 0; i < N; i++)
		client_close(&c[i]);
}

static void test_socket_file(void **state)
{
	struct fixture *fx = *state;
	struct stat st;
	char dir[160];

	open_server(fx);
	/* Parent directories created 0750, socket 0660. */
	snprintf(dir, sizeof(dir), "%s/run/sub", fx->dir);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0750);
	assert_int_equal(lstat(fx->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0660);

	/* A live daemon on the path: refused, and its socket left alone. */
	assert_null(ctl_server_open(fx->loop, fx->path, handler, fx));
	assert_int_equal(lstat(fx->path, &st), 0);
	struct client c;
	client_connect(&c, fx->path);
	client_sends(fx, &c, "{\"command\":\"alive\"}\n");
	json_t *r = client_response(fx, &c, 0);
	assert_ok(r);
	json_decref(r);
	client_close(&c);

	ctl_server_close(fx->srv);
	fx->srv = NULL;
	assert_int_equal(lstat(fx->path, &st), -1);
	assert_int_equal(errno, ENOENT);
}

static void test_stale_socket(void **state)
{
	struct fixture *fx = *state;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char file[160];
	int fd;

	/* A socket file left by a crashed daemon: bound, never listening now. */
	snprintf(file, sizeof(file), "%s/run", fx->dir);
	assert_int_equal(mkdir(file, 0700), 0);
	snprintf(file, sizeof(file), "%s/run/sub", fx->dir);
	assert_int_equal(mkdir(file, 0700), 0);
	strcpy(sun.sun_path, fx->path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	open_server(fx);
	struct client c;
	client_connect(&c, fx->path);
	client_sends(fx, &c, "{\"command\":\"taken-over\"}\n");
	json_t *r = client_response(fx, &c, 0);
	assert_ok(r);
	json_decref(r);
	client_close(&c);

	/* Something that is not a socket is never removed. */
	snprintf(file, sizeof(file), "%s/plain", fx->dir);
	fd = open(file, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_null(ctl_server_open(fx->loop, file, handler, fx));
	assert_int_equal(access(file, F_OK), 0);

	/* A path too long for sun_path is refused with no side effect. */
	char longp[200];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	assert_null(ctl_server_open(fx->loop, longp, handler, fx));
}

static bool child_done(void *arg)
{
	int *st = arg;
	pid_t *pid = (pid_t *)(st + 1);

	return waitpid(*pid, st, WNOHANG) == *pid;
}

static void test_ctl_request(void **state)
{
	struct fixture *fx = *state;
	int st[2] = { 0, 0 };
	pid_t pid;

	open_server(fx);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const char *err = NULL;
		json_t *req = json_pack("{s:s, s:i}", "command", "from-child", "n", 7);
		json_t *r = ctl_request(fx->path, req, &err);
		int ok = r && json_is_true(json_object_get(r, "ok")) &&
			 json_integer_value(json_object_get(
				 json_object_get(json_object_get(r, "result"), "echo"), "n")) == 7;
		_exit(ok ? 0 : 1);
	}
	memcpy(&st[1], &pid, sizeof(pid));
	drive(fx, child_done, st);
	assert_true(WIFEXITED(st[0]));
	assert_int_equal(WEXITSTATUS(st[0]), 0);
	assert_int_equal(fx->calls, 1);
}

static void test_ctl_call_failures(void **state)
{
	struct fixture *fx = *state;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	json_t *req = json_pack("{s:s}", "command", "status");
	enum ctl_fail fail;
	const char *err;
	char path[160];
	int fd;

	/* Nothing there. */
	snprintf(path, sizeof(path), "%s/none.sock", fx->dir);
	assert_null(ctl_call(path, req, 1000, &fail, &err));
	assert_int_equal(fail, CTL_FAIL_CONNECT);
	assert_non_null(strstr(err, "No such file"));

	/* A listener that never answers: the timeout, not a hang. */
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(fd, 4), 0);
	uint64_t t0 = mono_ms();
	assert_null(ctl_call(path, req, 200, &fail, &err));
	assert_int_equal(fail, CTL_FAIL_TIMEOUT);
	assert_true(mono_ms() - t0 >= 200);
	assert_true(mono_ms() - t0 < 5000);

	/* A peer that answers garbage. */
	close(fd);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(fd, 4), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int c = accept(fd, NULL, NULL);
		char b[256];
		(void)!read(c, b, sizeof(b));
		(void)!write(c, "hello\n", 6);
		_exit(0);
	}
	assert_null(ctl_call(path, req, TIMEOUT_MS, &fail, &err));
	assert_int_equal(fail, CTL_FAIL_PROTO);
	waitpid(pid, NULL, 0);
	close(fd);
	json_decref(req);
}

/* A daemon-shaped handler (as src/daemon/commands.c answers) for mipsecctl. */
static json_t *daemon_like(const json_t *req, void *arg)
{
	const char *cmd = json_string_value(json_object_get(req, "command"));
	const char *table = json_string_value(json_object_get(req, "table"));

	(void)arg;
	if (cmd && strcmp(cmd, "status") == 0)
		return ctl_ok(json_pack("{s:s, s:s, s:I, s:I, s:s, s:[{s:s, s:b}]}", "node", "ha1",
					"version", "0.1.0", "pid", (json_int_t)4242, "uptime_ms",
					(json_int_t)93784123, "control", "/x", "roles", "name",
					"ha", "started", 1));
	if (cmd && strcmp(cmd, "stats") == 0)
		return ctl_ok(json_pack("{s:i, s:i}", "mipsec_a_total", 5,
					"mipsec_longer_name_total", 12));
	if (cmd && strcmp(cmd, "show") == 0 && table && strcmp(table, "bc") == 0)
		return ctl_ok(json_pack("[{s:s, s:i}, {s:s, s:i, s:b}]", "hoa", "2001:db8::1",
					"lifetime", 300, "hoa", "2001:db8::22", "lifetime", 7,
					"home", 1));
	if (cmd && strcmp(cmd, "show") == 0)
		return ctl_error("no table '%s' (try: mipsecctl tables)", table ? table : "");
	return ctl_error("unknown command '%s'", cmd ? cmd : "");
}

struct proc {
	pid_t pid;
	int status;
	bool done;
	struct client out, err;
};

static bool proc_done(void *arg)
{
	struct proc *p = arg;

	client_pump(&p->out);
	client_pump(&p->err);
	if (!p->done)
		p->done = waitpid(p->pid, &p->status, WNOHANG) == p->pid;
	return p->done && p->out.eof && p->err.eof;
}

/* Runs mipsecctl with the loop serving it; returns its exit status and
 * leaves stdout/stderr NUL-terminated in p. */
static int run_ctl(struct fixture *fx, struct proc *p, const char *const *args)
{
	int o[2], e[2];
	char *argv[16];
	size_t n = 0;

	argv[n++] = getenv("MIPSECCTL");
	for (; *args; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;
	memset(p, 0, sizeof(*p));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, o), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, e), 0);
	p->pid = fork();
	assert_true(p->pid >= 0);
	if (p->pid == 0) {
		dup2(o[1], 1);
		dup2(e[1], 2);
		setenv("MIPSEC_CTL", fx->path, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	close(o[1]);
	close(e[1]);
	p->out.fd = o[0];
	p->err.fd = e[0];
	drive(fx, proc_done, p);
	client_pump(&p->out);
	client_pump(&p->err);
	p->out.buf[p->out.len] = '\0';
	p->err.buf[p->err.len] = '\0';
	assert_true(WIFEXITED(p->status));
	return WEXITSTATUS(p->status);
}

static void proc_free(struct proc *p)
{
	client_close(&p->out);
	client_close(&p->err);
}

static void test_mipsecctl(void **state)
{
	struct fixture *fx = *state;
	const char *bin = getenv("MIPSECCTL");
	struct proc p;

	if (!bin || access(bin, X_OK) != 0)
		skip();
	fx->srv = ctl_server_open(fx->loop, fx->path, daemon_like, fx);
	assert_non_null(fx->srv);

	assert_int_equal(run_ctl(fx, &p, (const char *const[]){ "status", NULL }), 0);
	assert_non_null(strstr(p.out.buf, "node:     ha1\n"));
	assert_non_null(strstr(p.out.buf, "pid:      4242\n"));
	assert_non_null(strstr(p.out.buf, "uptime:   1d 02:03:04\n"));
	assert_non_null(strstr(p.out.buf, "  ha       started\n"));
	proc_free(&p);

	assert_int_equal(run_ctl(fx, &p, (const char *const[]){ "--json", "status", NULL }), 0);
	json_t *j = json_loads(p.out.buf, 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "uptime_ms")), 93784123);
	assert_non_null(strstr(p.out.buf, "\n  \"node\": \"ha1\""));	/* indent 2 */
	json_decref(j);
	proc_free(&p);

	assert_int_equal(run_ctl(fx, &p, (const char *const[]){ "stats", NULL }), 0);
	assert_string_equal(p.out.buf, "mipsec_a_total            5\n"
				       "mipsec_longer_name_total  12\n");
	proc_free(&p);

	assert_int_equal(run_ctl(fx, &p, (const char *const[]){ "show", "bc", NULL }), 0);
	assert_string_equal(p.out.buf, "HOA           LIFETIME  HOME\n"
				       "2001:db8::1   300\n"
				       "2001:db8::22  7         yes\n");
	proc_free(&p);

	/* The daemon's error: stderr, exit 1. */
	assert_int_equal(run_ctl(fx, &p, (const char *const[]){ "show", "zz", NULL }), 1);
	assert_string_equal(p.err.buf, "mipsecctl: show: no table 'zz' (try: mipsecctl tables)\n");
	assert_int_equal(p.out.len, 0);
	proc_free(&p);

	/* Usage errors: exit 2 without contacting the daemon. */
	assert_int_equal(run_ctl(fx, &p, (const char *const[]){ "show", NULL }), 2);
	proc_free(&p);
	assert_int_equal(run_ctl(fx, &p, (const char *const[]){ "frobnicate", NULL }), 2);
	proc_free(&p);
	assert_int_equal(run_ctl(fx, &p, (const char *const[]){ "--bogus", "status", NULL }), 2);
	proc_free(&p);

	/* No daemon at the socket: exit 3 with the path and reason. */
	char none[200];
	snprintf(none, sizeof(none), "%s/absent.sock", fx->dir);
	assert_int_equal(run_ctl(fx, &p, (const char *const[]){ "-s", none, "status", NULL }), 3);
	char want[300];
	snprintf(want, sizeof(want), "mipsecctl: cannot connect to %s: No such file or directory\n",
		 none);
	assert_string_equal(p.err.buf, want);
	proc_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_valid_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_multiple_clients, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_response_and_half_close, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_too_many_clients, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctl_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctl_call_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mipsecctl, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
