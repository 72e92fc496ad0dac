/* Prometheus metrics over libmicrohttpd, run from the daemon's event loop:
 * MHD in external epoll mode hands us one epoll fd that becomes readable
 * whenever any of its sockets needs attention, plus a timeout for idle
 * connection expiry. No thread, so counters are read without locking. */
#include "ctl/metrics.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/stats.h"
#include "net/loop.h"

#define MOD "metrics"
#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

COUNTER_DEFINE(m_scrapes, "mipsec_metrics_scrapes_total",
	       "Successful GET /metrics requests");
COUNTER_DEFINE(m_bad, "mipsec_metrics_bad_requests_total",
	       "Metrics HTTP requests answered 404 or 405");

struct metrics_server {
	struct loop *loop;
	struct MHD_Daemon *mhd;
	struct io_watch *w;
	struct timer t;
	char *node;
	unsigned port;
};

/* Text in HELP lines: backslash and newline are escaped. */
static void put_help(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

/* Label values additionally escape the double quote. */
static void put_label_value(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '"')
			fputs("\\\"", f);
		else if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void put_labels(FILE *f, const char *node, const char *extra)
{
	fputs("{node=\"", f);
	put_label_value(f, node);
	fputc('"', f);
	if (extra && *extra)
		fprintf(f, ",%s", extra);
	fputc('}', f);
}

static void put_family_head(FILE *f, const char *name, const char *help, const char *type)
{
	fprintf(f, "# HELP %s ", name);
	put_help(f, help ? help : "");
	fprintf(f, "\n# TYPE %s %s\n", name, type);
}

/* The process start time from the kernel (boot time + start ticks); the time
 * of the first call if /proc is unreadable. */
static double process_start_time(void)
{
	static double cached;
	unsigned long long start_ticks = 0, btime = 0;
	char buf[1024], line[256];
	FILE *f;

	if (cached > 0)
		return cached;
	f = fopen("/proc/self/stat", "r");
	if (f) {
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = '\0';
		fclose(f);
		/* Field 22; fields after the ")" closing comm start at field 3. */
		char *p = strrchr(buf, ')');
		for (int field = 2; p && field < 22; field++)
			p = strchr(p + 1, ' ');
		if (p)
			start_ticks = strtoull(p + 1, NULL, 10);
	}
	f = fopen("/proc/stat", "r");
	if (f) {
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "btime %llu", &btime) == 1)
				break;
		fclose(f);
	}
	long hz = sysconf(_SC_CLK_TCK);
	if (btime && start_ticks && hz > 0) {
		cached = (double)btime + (double)start_ticks / (double)hz;
	} else {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		cached = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	}
	return cached;
}

char *metrics_render(const char *node)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	if (!node)
		node = "";
	put_family_head(f, "mipsec_up", "1 while the daemon is running", "gauge");
	fputs("mipsec_up", f);
	put_labels(f, node, NULL);
	fputs(" 1\n", f);
	put_family_head(f, "mipsec_process_start_time_seconds",
			"Start time of the process since the Unix epoch in seconds", "gauge");
	fputs("mipsec_process_start_time_seconds", f);
	put_labels(f, node, NULL);
	fprintf(f, " %.2f\n", process_start_time());
	/* A family (one name, several label sets) must be contiguous with a
	 * single HELP/TYPE, whatever order its members registered in. */
	for (struct counter *c = counter_first(); c; c = c->next) {
		bool seen = false;
		for (struct counter *p = counter_first(); p != c && !seen; p = p->next)
			seen = strcmp(p->name, c->name) == 0;
		if (seen)
			continue;
		put_family_head(f, c->name, c->help, "counter");
		for (struct counter *m = c; m; m = m->next) {
			if (strcmp(m->name, c->name) != 0)
				continue;
			fputs(m->name, f);
			put_labels(f, node, m->label);
			fprintf(f, " %" PRIu64 "\n", m->value);
		}
	}
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, char *body,
			     const char *ctype, bool allow)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct metrics_server *m = cls;
	bool get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
		   strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
	static int seen;
	char *body;

	/* Answer once the whole request is in: a response queued on the first
	 * call makes MHD close the connection instead of keeping it alive. */
	if (!*con_cls) {
		*con_cls = &seen;
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0;	/* nothing here takes a body */
		return MHD_YES;
	}
	if (strcmp(url, "/metrics") != 0) {
		counter_inc(&m_bad);
		body = strdup("not found; metrics are at /metrics\n");
		return body ? reply(conn, MHD_HTTP_NOT_FOUND, body, "text/plain", false) : MHD_NO;
	}
	if (!get) {
		counter_inc(&m_bad);
		body = strdup("method not allowed; use GET\n");
		return body ? reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, body, "text/plain", true)
			    : MHD_NO;
	}
	counter_inc(&m_scrapes);
	body = metrics_render(m->node);
	if (!body)
		return MHD_NO;
	return reply(conn, MHD_HTTP_OK, body, CONTENT_TYPE, false);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_warn(MOD, "libmicrohttpd: %s", msg);
}

/* Runs MHD and re-arms the timer from its idea of the next deadline. A zero
 * timeout means work is already pending (e.g. a queued response in an
 * edge-triggered socket), so the timer fires at once and we run again. */
static void metrics_drive(struct metrics_server *m)
{
	MHD_UNSIGNED_LONG_LONG ms;

	MHD_run(m->mhd);
	if (MHD_get_timeout(m->mhd, &ms) == MHD_YES)
		timer_arm_ms(&m->t, ms);
	else
		timer_cancel(&m->t);
}

static void on_epoll(int fd, void *arg) { metrics_drive(arg); }
static void on_timer(void *arg) { metrics_drive(arg); }

struct metrics_server *metrics_server_start(struct loop *l, const struct sockaddr *sa,
					    socklen_t salen, const char *node)
{
	const union MHD_DaemonInfo *info;
	struct metrics_server *m;
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	uint16_t port;
	char host[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET6 && salen >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		flags |= MHD_USE_IPv6;
		port = ntohs(s6->sin6_port);
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
	} else if (sa->sa_family == AF_INET && salen >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		port = ntohs(s4->sin_port);
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
	} else {
		log_err(MOD, "metrics listen address is neither IPv4 nor IPv6");
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->loop = l;
	m->node = strdup(node ? node : "");
	if (!m->node || timer_init(&m->t, l, on_timer, m) < 0)
		goto fail;
	m->mhd = MHD_start_daemon(flags, port, NULL, NULL, on_request, m,
				  MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				  MHD_OPTION_SOCK_ADDR, sa,
				  MHD_OPTION_CONNECTION_LIMIT, 32u,
				  MHD_OPTION_CONNECTION_TIMEOUT, 10u,
				  MHD_OPTION_END);
	if (!m->mhd) {
		log_err(MOD, "cannot start the metrics server listen=[%s]:%u", host, port);
		goto fail;
	}
	info = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info || info->epoll_fd < 0)
		goto fail;
	m->w = io_watch_add(l, info->epoll_fd, on_epoll, m);
	if (!m->w)
		goto fail;
	info = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_BIND_PORT);
	m->port = info ? info->port : port;
	counter_register(&m_scrapes);
	counter_register(&m_bad);
	metrics_drive(m);
	log_info(MOD, "metrics listening listen=[%s]:%u", host, m->port);
	return m;
fail:
	if (m->mhd)
		MHD_stop_daemon(m->mhd);
	timer_deinit(&m->t);
	free(m->node);
	free(m);
	return NULL;
}

unsigned metrics_server_port(const struct metrics_server *m) { return m ? m->port : 0; }

void metrics_server_stop(struct metrics_server *m)
{
	if (!m)
		return;
	io_watch_del(m->w);
	timer_deinit(&m->t);
	MHD_stop_daemon(m->mhd);
	free(m->node);
	free(m);
}
