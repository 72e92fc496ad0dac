/* Control socket server: a UNIX stream socket on the daemon's event loop.
 * Each connection carries newline-delimited JSON requests; each request gets
 * exactly one response line. Requests are bounded so a client cannot make the
 * daemon buffer without limit, and a connection with an unsent response is not
 * read from until the response has left, which bounds output the same way. */
#include "ctl/control.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/log.h"
#include "core/stats.h"
#include "net/loop.h"

#define MOD "ctl"
#define CTL_MAX_REQUEST (64u * 1024u)	/* one request line, newline excluded */
#define CTL_MAX_CLIENTS 32
#define CTL_READ_CHUNK 4096
/* A silent client holds one of CTL_MAX_CLIENTS slots; reclaim it. */
#define CTL_IDLE_MS 60000

COUNTER_DEFINE(ctl_requests, "mipsec_ctl_requests_total",
	       "Requests received on the control socket");
COUNTER_DEFINE(ctl_errors, "mipsec_ctl_errors_total",
	       "Control requests answered with an error (any reason)");
COUNTER_DEFINE(ctl_bad_json, "mipsec_ctl_bad_json_total",
	       "Control requests that were not a JSON object");
COUNTER_DEFINE(ctl_oversized, "mipsec_ctl_oversized_total",
	       "Control connections closed for a request over 64 KiB");
COUNTER_DEFINE(ctl_connections, "mipsec_ctl_connections_total",
	       "Connections accepted on the control socket");
COUNTER_DEFINE(ctl_idle, "mipsec_ctl_idle_closed_total",
	       "Control connections closed after 60 s without progress");
COUNTER_DEFINE(ctl_rejected, "mipsec_ctl_rejected_connections_total",
	       "Control connections refused because too many were open");

static struct counter *const ctl_counters[] = {
	&ctl_requests, &ctl_errors, &ctl_bad_json, &ctl_oversized, &ctl_connections,
	&ctl_rejected, &ctl_idle,
};

struct ctl_conn {
	struct ctl_server *srv;
	struct ctl_conn *next;
	int fd;
	struct io_watch *rd;	/* NULL while output is pending or input is done */
	struct event *wr;	/* fires while output is pending */
	struct timer idle;
	char *in;
	size_t in_len;
	char *out;
	size_t out_len, out_off;
	bool eof;		/* peer shut down its side */
	bool closing;		/* close once output is flushed */
};

struct ctl_server {
	struct loop *loop;
	int fd;
	struct io_watch *w;
	ctl_handler handler;
	void *arg;
	struct ctl_conn *conns;
	unsigned n_conns;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static unsigned open_servers;

json_t *ctl_ok(json_t *result)
{
	return json_pack("{s:b, s:o}", "ok", 1, "result", result ? result : json_null());
}

json_t *ctl_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

static void conn_free(struct ctl_conn *c)
{
	struct ctl_server *s = c->srv;

	for (struct ctl_conn **pp = &s->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	s->n_conns--;
	io_watch_del(c->rd);
	if (c->wr)
		event_free(c->wr);
	timer_deinit(&c->idle);
	if (c->closing) {
		/* Discard what the peer sent after the fatal request so the close
		 * does not turn into ECONNRESET before it reads our error. */
		char junk[CTL_READ_CHUNK];
		for (int i = 0; i < 64 && recv(c->fd, junk, sizeof(junk), MSG_DONTWAIT) > 0; i++)
			;
	}
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
}

/* Appends one response line; takes the reference. */
static int conn_queue(struct ctl_conn *c, json_t *resp)
{
	char *text;
	size_t n;

	if (!resp)
		resp = ctl_error("internal error: the handler returned nothing");
	if (json_is_false(json_object_get(resp, "ok")))
		counter_inc(&ctl_errors);
	text = json_dumps(resp, JSON_COMPACT);
	json_decref(resp);
	if (!text) {
		counter_inc(&ctl_errors);
		text = strdup("{\"ok\":false,\"error\":\"response could not be encoded\"}");
		if (!text)
			return -1;
	}
	n = strlen(text);
	char *out = realloc(c->out, c->out_len + n + 1);
	if (!out) {
		free(text);
		return -1;
	}
	memcpy(out + c->out_len, text, n);
	out[c->out_len + n] = '\n';
	c->out = out;
	c->out_len += n + 1;
	free(text);
	return 0;
}

static json_t *dispatch(struct ctl_server *s, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *req, *resp;

	counter_inc(&ctl_requests);
	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!req) {
		counter_inc(&ctl_bad_json);
		return ctl_error("malformed JSON at column %d: %s", jerr.column, jerr.text);
	}
	if (!json_is_object(req)) {
		json_decref(req);
		counter_inc(&ctl_bad_json);
		return ctl_error("request must be a JSON object");
	}
	resp = s->handler(req, s->arg);
	json_decref(req);
	return resp;
}

static void conn_rd_cb(int fd, void *arg);
static void conn_wr_cb(evutil_socket_t fd, short what, void *arg);
static void conn_progress(struct ctl_conn *c);

/* Answers every complete line in the input buffer, stopping at the first one
 * whose response cannot leave at once. Returns -1 if the connection died. */
static int conn_handle_input(struct ctl_conn *c)
{
	size_t off = 0;
	int rc = 0;

	while (!c->closing && c->out_len == 0) {
		char *nl = memchr(c->in + off, '\n', c->in_len - off);
		size_t len;

		if (!nl) {
			if (!c->eof || off == c->in_len)
				break;
			len = c->in_len - off;	/* last request without newline */
		} else {
			len = (size_t)(nl - (c->in + off));
		}
		if (len > CTL_MAX_REQUEST) {
			counter_inc(&ctl_oversized);
			rc = conn_queue(c, ctl_error("request exceeds %u bytes", CTL_MAX_REQUEST));
			c->closing = true;
			break;
		}
		/* Blank lines are keep-alives from line-oriented tools (socat). */
		bool blank = len == 0 || (len == 1 && c->in[off] == '\r');
		if (!blank)
			rc = conn_queue(c, dispatch(c->srv, c->in + off, len));
		off += len + (nl ? 1 : 0);
		if (rc < 0)
			break;
	}
	memmove(c->in, c->in + off, c->in_len - off);
	c->in_len -= off;
	if (!c->closing && c->in_len > CTL_MAX_REQUEST && !memchr(c->in, '\n', c->in_len)) {
		counter_inc(&ctl_oversized);
		rc = conn_queue(c, ctl_error("request exceeds %u bytes", CTL_MAX_REQUEST));
		c->closing = true;
	}
	if (rc == 0 && c->eof && c->out_len == 0 && c->in_len == 0)
		c->closing = true;
	return rc;
}

/* Sends what it can; 1 when everything left, 0 if more remains, -1 on error. */
static int conn_flush(struct ctl_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		c->out_off += (size_t)n;
	}
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	return 1;
}

/* Moves the connection along: answer buffered requests, flush, and pick the
 * one event (readable or writable) that can make further progress. */
static void conn_progress(struct ctl_conn *c)
{
	for (;;) {
		if (conn_handle_input(c) < 0)
			goto dead;
		if (c->out_len == 0)
			break;
		int f = conn_flush(c);
		if (f < 0)
			goto dead;
		if (f == 0) {
			io_watch_del(c->rd);
			c->rd = NULL;
			if (event_add(c->wr, NULL) < 0)
				goto dead;
			return;
		}
	}
	if (c->closing)
		goto dead;
	if (!c->rd && !c->eof) {
		c->rd = io_watch_add(c->srv->loop, c->fd, conn_rd_cb, c);
		if (!c->rd)
			goto dead;
	}
	return;
dead:
	conn_free(c);
}

static void conn_wr_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_conn *c = arg;

	event_del(c->wr);
	timer_arm_ms(&c->idle, CTL_IDLE_MS);
	conn_progress(c);
}

static void conn_idle_cb(void *arg)
{
	struct ctl_conn *c = arg;

	counter_inc(&ctl_idle);
	conn_free(c);
}

static void conn_rd_cb(int fd, void *arg)
{
	struct ctl_conn *c = arg;
	size_t room;
	ssize_t n;

	if (!c->in) {
		c->in = malloc(CTL_MAX_REQUEST + 2);
		if (!c->in) {
			conn_free(c);
			return;
		}
	}
	/* The buffer holds at most one oversized request plus its newline;
	 * conn_handle_input() has consumed or rejected anything longer, so
	 * there is always room while the read watch is armed. */
	room = CTL_MAX_REQUEST + 2 - c->in_len;
	if (room > CTL_READ_CHUNK)
		room = CTL_READ_CHUNK;
	if (room == 0) {
		conn_progress(c);
		return;
	}
	n = recv(fd, c->in + c->in_len, room, MSG_DONTWAIT);
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			conn_free(c);
		return;
	}
	if (n == 0) {
		/* A half-closed peer still waits for the answers it asked for. */
		c->eof = true;
		io_watch_del(c->rd);
		c->rd = NULL;
	}
	c->in_len += (size_t)n;
	timer_arm_ms(&c->idle, CTL_IDLE_MS);
	conn_progress(c);
}

static void reject_conn(int fd)
{
	static const char msg[] = "{\"ok\":false,\"error\":\"too many control connections\"}\n";

	(void)!send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

static void accept_cb(int lfd, void *arg)
{
	struct ctl_server *s = arg;

	for (int i = 0; i < 16; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct ctl_conn *c;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn(MOD, "accept failed error=\"%s\"", strerror(errno));
			return;
		}
		if (s->n_conns >= CTL_MAX_CLIENTS) {
			counter_inc(&ctl_rejected);
			reject_conn(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->srv = s;
		c->fd = fd;
		c->wr = event_new(loop_base(s->loop), fd, EV_WRITE, conn_wr_cb, c);
		c->rd = io_watch_add(s->loop, fd, conn_rd_cb, c);
		c->next = s->conns;
		s->conns = c;
		s->n_conns++;
		if (!c->wr || !c->rd || timer_init(&c->idle, s->loop, conn_idle_cb, c) < 0) {
			conn_free(c);
			continue;
		}
		timer_arm_ms(&c->idle, CTL_IDLE_MS);
		counter_inc(&ctl_connections);
	}
}

/* mkdir -p of the directory holding `path`, new levels mode 0750. */
static int make_parent(const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	if (strlen(path) >= sizeof(dir))
		return -1;
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; ; p++) {
		bool end = *p == '\0';
		if (*p != '/' && !end)
			continue;
		*p = '\0';
		if (mkdir(dir, 0750) < 0 && errno != EEXIST)
			return -1;
		if (end)
			break;
		*p = '/';
	}
	return 0;
}

/* Decides whether an existing path may be replaced: only a socket nobody is
 * listening on. Returns 0 when the path is free (now or after unlinking). */
static int clear_stale(const char *path, const struct sockaddr_un *sun)
{
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		log_err(MOD, "control path exists and is not a socket path=%s", path);
		errno = EEXIST;
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	int err = errno;
	close(fd);
	if (rc == 0 || err == EAGAIN || err == EINPROGRESS) {
		/* EAGAIN: its backlog is full, so it is very much alive. */
		log_err(MOD, "another daemon is listening on the control socket path=%s", path);
		errno = EADDRINUSE;
		return -1;
	}
	if (err != ECONNREFUSED && err != ENOENT) {
		log_err(MOD, "cannot probe the existing control socket path=%s error=\"%s\"",
			path, strerror(err));
		errno = err;
		return -1;
	}
	log_notice(MOD, "removing stale control socket path=%s", path);
	if (unlink(path) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

struct ctl_server *ctl_server_open(struct loop *l, const char *path, ctl_handler h,
				   void *arg)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct ctl_server *s;
	mode_t old_mask;
	int rc;

	if (!path || !*path || strlen(path) >= sizeof(sun.sun_path)) {
		log_err(MOD, "control socket path is empty or longer than %zu bytes",
			sizeof(sun.sun_path) - 1);
		return NULL;
	}
	strcpy(sun.sun_path, path);
	if (make_parent(path) < 0) {
		log_err(MOD, "cannot create the control socket directory path=%s error=\"%s\"",
			path, strerror(errno));
		return NULL;
	}
	if (clear_stale(path, &sun) < 0)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->loop = l;
	s->handler = h;
	s->arg = arg;
	strcpy(s->path, path);
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->fd < 0)
		goto fail;
	/* Created 0600 and widened afterwards: never briefly world-writable. */
	old_mask = umask(0177);
	rc = bind(s->fd, (const struct sockaddr *)&sun, sizeof(sun));
	umask(old_mask);
	if (rc < 0)
		goto fail;
	if (chmod(path, 0660) < 0 || listen(s->fd, 64) < 0) {
		int err = errno;
		unlink(path);
		errno = err;
		goto fail;
	}
	s->w = io_watch_add(l, s->fd, accept_cb, s);
	if (!s->w) {
		unlink(path);
		errno = ENOMEM;
		goto fail;
	}
	if (open_servers++ == 0)
		for (size_t i = 0; i < sizeof(ctl_counters) / sizeof(ctl_counters[0]); i++)
			counter_register(ctl_counters[i]);
	log_info(MOD, "control socket listening path=%s", path);
	return s;
fail:
	log_err(MOD, "cannot open the control socket path=%s error=\"%s\"", path,
		strerror(errno));
	if (s->fd >= 0)
		close(s->fd);
	free(s);
	return NULL;
}

void ctl_server_close(struct ctl_server *s)
{
	if (!s)
		return;
	while (s->conns)
		conn_free(s->conns);
	io_watch_del(s->w);
	close(s->fd);
	if (unlink(s->path) < 0 && errno != ENOENT)
		log_warn(MOD, "cannot remove the control socket path=%s error=\"%s\"", s->path,
			 strerror(errno));
	if (--open_servers == 0)
		for (size_t i = 0; i < sizeof(ctl_counters) / sizeof(ctl_counters[0]); i++)
			counter_unregister(ctl_counters[i]);
	free(s);
}
