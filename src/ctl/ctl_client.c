#include "ctl/ctl_client.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl/control.h"
#include "net/loop.h"

struct call {
	int fd;
	uint64_t deadline_ms;
	enum ctl_fail fail;
	const char *err;
};

static int call_fail(struct call *c, enum ctl_fail f, const char *err)
{
	c->fail = f;
	c->err = err;
	return -1;
}

/* Waits for `events` on the socket until the deadline. */
static int call_wait(struct call *c, short events)
{
	for (;;) {
		uint64_t now = mono_ms();
		struct pollfd p = { .fd = c->fd, .events = events };
		int n;

		if (now >= c->deadline_ms)
			return call_fail(c, CTL_FAIL_TIMEOUT, "timed out waiting for the daemon");
		n = poll(&p, 1, (int)(c->deadline_ms - now));
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return call_fail(c, CTL_FAIL_IO, strerror(errno));
	}
}

static int call_connect(struct call *c, const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sun.sun_path))
		return call_fail(c, CTL_FAIL_CONNECT, "socket path too long");
	strcpy(sun.sun_path, path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0)
		return call_fail(c, CTL_FAIL_CONNECT, strerror(errno));
	while (connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		if (errno == EINTR)
			continue;
		/* A full backlog: the daemon is busy, keep trying until the deadline. */
		if (errno == EAGAIN) {
			struct pollfd p = { .fd = -1 };
			if (mono_ms() >= c->deadline_ms)
				return call_fail(c, CTL_FAIL_TIMEOUT,
						 "timed out waiting for the daemon to accept");
			poll(&p, 0, 10);
			continue;
		}
		return call_fail(c, CTL_FAIL_CONNECT, strerror(errno));
	}
	return 0;
}

static int call_send(struct call *c, const char *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = send(c->fd, buf + off, len - off, MSG_NOSIGNAL);
		if (n >= 0) {
			off += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return call_fail(c, CTL_FAIL_IO, strerror(errno));
		if (call_wait(c, POLLOUT) < 0)
			return -1;
	}
	return 0;
}

/* Reads one line into a malloc'd buffer (newline stripped). */
static char *call_recv_line(struct call *c, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);

	if (!buf) {
		call_fail(c, CTL_FAIL_IO, "out of memory");
		return NULL;
	}
	for (;;) {
		char *nl;
		ssize_t r;

		if (n == cap) {
			char *nb;
			if (cap >= CTL_MAX_RESPONSE) {
				call_fail(c, CTL_FAIL_PROTO, "response too large");
				break;
			}
			nb = realloc(buf, cap * 2);
			if (!nb) {
				call_fail(c, CTL_FAIL_IO, "out of memory");
				break;
			}
			buf = nb;
			cap *= 2;
		}
		r = recv(c->fd, buf + n, cap - n, 0);
		if (r == 0) {
			call_fail(c, CTL_FAIL_IO, "the daemon closed the connection without answering");
			break;
		}
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				call_fail(c, CTL_FAIL_IO, strerror(errno));
				break;
			}
			if (call_wait(c, POLLIN) < 0)
				break;
			continue;
		}
		nl = memchr(buf + n, '\n', (size_t)r);
		n += (size_t)r;
		if (nl) {
			*len = (size_t)(nl - buf);
			return buf;
		}
	}
	free(buf);
	return NULL;
}

json_t *ctl_call(const char *path, const json_t *request, int timeout_ms,
		 enum ctl_fail *fail, const char **err)
{
	struct call c = { .fd = -1, .deadline_ms = mono_ms() + (uint64_t)timeout_ms };
	json_t *resp = NULL;
	char *text = NULL, *line = NULL;
	size_t len = 0;

	if (call_connect(&c, path) < 0)
		goto out;
	text = json_dumps(request, JSON_COMPACT);
	if (!text) {
		call_fail(&c, CTL_FAIL_PROTO, "request could not be encoded");
		goto out;
	}
	/* Send the request including its terminating NUL, rewritten as newline. */
	len = strlen(text);
	text[len] = '\n';
	if (call_send(&c, text, len + 1) < 0)
		goto out;
	line = call_recv_line(&c, &len);
	if (!line)
		goto out;
	resp = json_loadb(line, len, 0, NULL);
	if (!json_is_object(resp)) {
		json_decref(resp);
		resp = NULL;
		call_fail(&c, CTL_FAIL_PROTO, "the daemon answered with malformed JSON");
	}
out:
	if (c.fd >= 0)
		close(c.fd);
	free(text);
	free(line);
	if (fail)
		*fail = resp ? CTL_FAIL_NONE : c.fail;
	if (err)
		*err = resp ? NULL : c.err;
	return resp;
}

json_t *ctl_request(const char *path, const json_t *request, const char **err)
{
	return ctl_call(path, request, CTL_REQUEST_TIMEOUT_MS, NULL, err);
}
