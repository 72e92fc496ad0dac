/* One IKE engine on real UDP sockets (500 and 4500, the non-ESP marker on
 * 4500), for interop checks against strongSwan before the gateway role
 * carries the engine:
 *
 *   ike_udp_tool CONFIG LOCAL_ADDR SECONDS [PEER_TO_INITIATE]
 *
 * CONFIG holds an `ike` block. Prints one line per event ("ike_up ID",
 * "child_up ID SPI_IN SPI_OUT POLICY", "child_down ID", "ike_down ID")
 * and exits after SECONDS. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../unit/ike_pair.h"
#include "net/udp.h"
#include "wire/ikev2.h"

struct udp_side {
	int fd[2];		/* 500, 4500 */
	struct ip_addr local;
	struct ike_engine *e;
	struct loop *loop;
};

static void tool_send(void *arg, const struct ike_path *path, const uint8_t *msg, size_t len)
{
	struct udp_side *u = arg;
	bool natt = path->lport == IKEV2_NATT_PORT;
	struct sockaddr_storage ss;
	socklen_t sl;
	uint8_t buf[65536];

	sl = udp_sockaddr(&path->remote, path->rport, &ss);
	if (natt) {
		memset(buf, 0, 4);
		memcpy(buf + 4, msg, len);
		sendto(u->fd[1], buf, len + 4, 0, (struct sockaddr *)&ss, sl);
	} else {
		sendto(u->fd[0], msg, len, 0, (struct sockaddr *)&ss, sl);
	}
}

static void rx(int fd, void *arg)
{
	struct udp_side *u = arg;
	uint8_t buf[65536];
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&ss, &sl);
	struct ike_path path = { .local = u->local };
	bool natt = fd == u->fd[1];

	if (n <= 0)
		return;
	path.lport = natt ? IKEV2_NATT_PORT : IKEV2_PORT;
	if (ss.ss_family == AF_INET) {
		path.remote.family = AF_INET;
		path.remote.v4 = ((struct sockaddr_in *)&ss)->sin_addr;
		path.rport = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	} else {
		path.remote.family = AF_INET6;
		path.remote.v6 = ((struct sockaddr_in6 *)&ss)->sin6_addr;
		path.rport = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	if (natt) {
		if (n < 4 || memcmp(buf, "\0\0\0\0", 4))
			return;	/* ESP, not ours */
		ike_engine_input(u->e, &path, buf + 4, (size_t)n - 4);
	} else {
		ike_engine_input(u->e, &path, buf, (size_t)n);
	}
}

static void ev_child_up(void *arg, const struct ike_child_info *c)
{
	(void)arg;
	printf("child_up %u %08x %08x %s\n", c->id, c->spi_in, c->spi_out, c->policy);
	fflush(stdout);
}

static void ev_child_down(void *arg, uint32_t id)
{
	(void)arg;
	printf("child_down %u\n", id);
	fflush(stdout);
}

static void ev_ike_up(void *arg, uint32_t id, const char *peer, const struct ike_id *pid)
{
	char b[300];

	(void)arg;
	printf("ike_up %u %s %s\n", id, peer, ike_id_fmt(pid, b, sizeof(b)));
	fflush(stdout);
}

static void ev_ike_down(void *arg, uint32_t id, const char *peer)
{
	(void)arg;
	printf("ike_down %u %s\n", id, peer);
	fflush(stdout);
}

static void stop(void *arg) { loop_exit(arg); }

static int bind_udp(const struct ip_addr *a, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd = socket(a->family, SOCK_DGRAM | SOCK_CLOEXEC, 0), one = 1;

	sl = udp_sockaddr(a, port, &ss);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, sl)) {
		fprintf(stderr, "bind port %u: %s\n", port, strerror(errno));
		exit(1);
	}
	return fd;
}

int main(int argc, char **argv)
{
	static struct ike_config cfg;
	struct ike_ops ops = { .send = tool_send, .child_up = ev_child_up,
			       .child_down = ev_child_down, .ike_up = ev_ike_up,
			       .ike_down = ev_ike_down };
	struct udp_side u = { 0 };
	struct timer t;
	char err[256], *text;
	FILE *f;
	long sz;

	if (argc < 4) {
		fprintf(stderr, "usage: %s CONFIG LOCAL_ADDR SECONDS [PEER]\n", argv[0]);
		return 2;
	}
	log_init("ike_udp_tool", getenv("IKE_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_INFO, false);
	f = fopen(argv[1], "r");
	if (!f)
		return perror(argv[1]), 1;
	fseek(f, 0, SEEK_END);
	sz = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)sz + 1);
	if (!text || fread(text, 1, (size_t)sz, f) != (size_t)sz)
		return 1;
	fclose(f);
	if (pair_config(&cfg, text, err, sizeof(err)))
		return fprintf(stderr, "%s\n", err), 1;
	if (ip_addr_parse(argv[2], AF_UNSPEC, &u.local) != ADDR_OK)
		return fprintf(stderr, "bad address %s\n", argv[2]), 1;
	u.loop = loop_new();
	u.fd[0] = bind_udp(&u.local, IKEV2_PORT);
	u.fd[1] = bind_udp(&u.local, IKEV2_NATT_PORT);
	u.e = ike_engine_new(u.loop, &cfg, &ops, &u, "udp", err, sizeof(err));
	if (!u.e)
		return fprintf(stderr, "%s\n", err), 1;
	io_watch_add(u.loop, u.fd[0], rx, &u);
	io_watch_add(u.loop, u.fd[1], rx, &u);
	timer_init(&t, u.loop, stop, u.loop);
	timer_arm_ms(&t, (uint64_t)atoi(argv[3]) * 1000);
	if (argc > 4)
		ike_engine_initiate(u.e, argv[4]);
	loop_run(u.loop);
	ike_engine_shutdown(u.e);
	ike_engine_free(u.e);
	return 0;
}
