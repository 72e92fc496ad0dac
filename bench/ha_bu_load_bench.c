/* Binding Update load generator for the home agent (issue 4 bench).
 *
 * Builds valid home registrations for N distinct home addresses, exactly as
 * a mobile node sends them (docs/mip6-transport.md):
 *   UDP(src -> HA, port 4191) / IPv6(src=CoA, dst=HA) / DestOpt(HAO=HoA) /
 *   MH(BU, A|H, sequence, lifetime)
 * with src/wire/mh.h and exthdr.h, fires them with sendmmsg and counts the
 * Binding Acknowledgements that come back (recvmmsg). At most `window` BUs
 * are outstanding, so the figure is what the HA processes, not what the
 * socket buffers drop. Round 1 creates the bindings; further rounds
 * refresh them (sequence + 1).
 *
 * usage: ha_bu_load -a HA -c COA [-p PREFIX] [-n N] [-r ROUNDS] [-w WINDOW]
 *                   [-b BATCH] [-l LIFETIME_S] [-t TIMEOUT_S] [-S SEQ]
 *   HA       the home agent's address (UDP destination and inner dst)
 *   COA      a local address of this host: UDP source and inner source
 *   PREFIX   home prefix /64 (default 2001:db8:8::); home address i is
 *            PREFIX::1:0:0 + i (never the HA's own or an anycast address)
 *   SEQ      sequence number of round 1 (round k uses SEQ + k - 1)
 * Prints one line per round: BUs sent, BAs by status, seconds, BA/s. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "wire/exthdr.h"
#include "wire/ipv6.h"
#include "wire/mh.h"

#define PKT_MAX 128
#define BATCH_MAX 256

struct opts {
	struct in6_addr ha, coa, prefix;
	unsigned long n, window;
	unsigned rounds, batch, lifetime_s, timeout_s;
	long seq;		/* first sequence number, -1: from the pid */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void hoa_of(const struct opts *o, unsigned long i, uint8_t out[16])
{
	memcpy(out, &o->prefix, 8);
	/* interface identifier 0:1:hi:lo — far from ::1 and from the
	 * RFC 2526 anycast range fdff:ffff:ffff:ff80..ff */
	uint64_t iid = 0x100000000ull + i;

	for (int k = 0; k < 8; k++)
		out[8 + k] = (uint8_t)(iid >> (56 - 8 * k));
}

/* One BU packet (the UDP payload); returns its length or -1. */
static int build_bu(const struct opts *o, unsigned long i, uint16_t seq, uint8_t *buf)
{
	struct wire_error err = { 0 };
	uint8_t hoa[16];
	uint8_t mh[64];
	struct mh_builder b;
	int hao, mlen;

	hoa_of(o, i, hoa);
	mh_build_begin(&b, mh, sizeof(mh), MH_BU,
		       &(union mh_body){ .bu = { .seq = seq, .flags = MH_BU_A | MH_BU_H,
						 .lifetime = (uint16_t)(o->lifetime_s / 4) } },
		       &err);
	/* RFC 6275 §6.1.1: with a HAO the pseudo-header source is the HoA */
	mlen = mh_build_finish(&b, hoa, o->ha.s6_addr);
	if (mlen < 0)
		return -1;
	hao = ext_hao_build(buf + 40, PKT_MAX - 40, PROTO_MH, hoa, &err);
	if (hao < 0 || 40 + hao + mlen > PKT_MAX)
		return -1;
	memcpy(buf + 40 + hao, mh, (size_t)mlen);
	struct ipv6_hdr h = {
		.payload_length = (uint16_t)(hao + mlen), .next_header = PROTO_DSTOPTS,
		.hop_limit = 64, .src = o->coa.s6_addr, .dst = o->ha.s6_addr,
	};
	if (ipv6_build(buf, 40, &h, &err) < 0)
		return -1;
	return 40 + hao + mlen;
}

/* Counts a received datagram if it is a BA: IPv6 / RH2 / MH(BA). */
static void count_ba(const uint8_t *p, size_t len, unsigned long *ok, unsigned long *bad,
		     unsigned long *other)
{
	size_t off = 40;
	uint8_t nh;

	if (len < 40 || (p[0] >> 4) != 6) {
		(*other)++;
		return;
	}
	nh = p[6];
	while (nh == PROTO_DSTOPTS || nh == 43) {	/* RH2, DestOpt */
		if (off + 2 > len) {
			(*other)++;
			return;
		}
		nh = p[off];
		off += 8u * (p[off + 1] + 1u);
	}
	if (nh != PROTO_MH || off + 8 > len || p[off + 2] != MH_BA) {
		(*other)++;
		return;
	}
	if (p[off + 6] < 128)
		(*ok)++;
	else
		(*bad)++;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	int c;

	*o = (struct opts){ .n = 100000, .window = 256, .rounds = 2, .batch = 64,
			    .lifetime_s = 3600, .timeout_s = 10, .seq = -1 };
	inet_pton(AF_INET6, "2001:db8:8::", &o->prefix);
	bool have_ha = false, have_coa = false;

	while ((c = getopt(argc, argv, "a:c:p:n:r:w:b:l:t:S:")) != -1) {
		switch (c) {
		case 'a': have_ha = inet_pton(AF_INET6, optarg, &o->ha) == 1; break;
		case 'c': have_coa = inet_pton(AF_INET6, optarg, &o->coa) == 1; break;
		case 'p':
			if (inet_pton(AF_INET6, optarg, &o->prefix) != 1) {
				fprintf(stderr, "ha_bu_load: -p %s: not an IPv6 prefix address\n", optarg);
				return -1;
			}
			break;
		case 'n': o->n = strtoul(optarg, NULL, 0); break;
		case 'r': o->rounds = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'w': o->window = strtoul(optarg, NULL, 0); break;
		case 'b': o->batch = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'l': o->lifetime_s = (unsigned)strtoul(optarg, NULL, 0); break;
		case 't': o->timeout_s = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'S': o->seq = (long)(strtoul(optarg, NULL, 0) & 0xffff); break;
		default: return -1;
		}
	}
	if (!have_ha || !have_coa) {
		fprintf(stderr, "ha_bu_load: -a HA and -c COA (IPv6 addresses) are required\n");
		return -1;
	}
	if (o->n == 0 || o->n > 0xffffffffu || o->batch == 0 || o->batch > BATCH_MAX ||
	    o->window < o->batch || o->lifetime_s < 4 || o->lifetime_s > 262140) {
		fprintf(stderr, "ha_bu_load: need 1 <= n < 2^32, 1 <= batch <= %d <= window, "
			"4 <= lifetime <= 262140\n", BATCH_MAX);
		return -1;
	}
	return 0;
}

static uint8_t rxbuf[BATCH_MAX][2048];

/* Drains whatever BAs are queued; waits up to wait_ms for the first. */
static void drain(int fd, int wait_ms, unsigned long *ok, unsigned long *bad,
		  unsigned long *other)
{
	struct mmsghdr m[BATCH_MAX];
	struct iovec iov[BATCH_MAX];
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	if (wait_ms > 0 && poll(&pfd, 1, wait_ms) <= 0)
		return;
	for (;;) {
		for (int k = 0; k < BATCH_MAX; k++) {
			iov[k] = (struct iovec){ rxbuf[k], sizeof(rxbuf[k]) };
			m[k] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[k], .msg_iovlen = 1 } };
		}
		int r = recvmmsg(fd, m, BATCH_MAX, MSG_DONTWAIT, NULL);
		if (r <= 0)
			return;
		for (int k = 0; k < r; k++)
			count_ba(rxbuf[k], m[k].msg_len, ok, bad, other);
	}
}

int main(int argc, char **argv)
{
	static uint8_t pkts[BATCH_MAX][PKT_MAX];
	struct mmsghdr m[BATCH_MAX];
	struct iovec iov[BATCH_MAX];
	struct opts o;
	struct sockaddr_in6 ha = { .sin6_family = AF_INET6, .sin6_port = htons(4191) };
	struct sockaddr_in6 me = { .sin6_family = AF_INET6 };
	int fd, bufsz = 64 << 20;

	if (parse_opts(argc, argv, &o) < 0)
		return 2;
	ha.sin6_addr = o.ha;
	me.sin6_addr = o.coa;
	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0) {
		perror("ha_bu_load: socket/bind to the care-of address");
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	uint16_t seq0 = o.seq >= 0 ? (uint16_t)(o.seq - 1) :
			(uint16_t)((unsigned)getpid() * 2654435761u >> 16);
	int rc = 0;

	for (unsigned round = 1; round <= o.rounds; round++) {
		unsigned long sent = 0, ok = 0, bad = 0, other = 0;
		uint16_t seq = (uint16_t)(seq0 + round);
		double t0 = now_s(), last_rx = t0;

		while (sent < o.n) {
			unsigned long done = ok + bad;
			if (sent - done + o.batch > o.window) {
				unsigned long before = done;
				drain(fd, 100, &ok, &bad, &other);
				if (ok + bad != before)
					last_rx = now_s();
				else if (now_s() - last_rx > o.timeout_s)
					break;
				continue;
			}
			unsigned nb = 0;
			for (; nb < o.batch && sent + nb < o.n; nb++) {
				int len = build_bu(&o, sent + nb, seq, pkts[nb]);
				if (len < 0) {
					fprintf(stderr, "ha_bu_load: cannot build BU %lu\n", sent + nb);
					return 1;
				}
				iov[nb] = (struct iovec){ pkts[nb], (size_t)len };
				m[nb] = (struct mmsghdr){ .msg_hdr = {
					.msg_name = &ha, .msg_namelen = sizeof(ha),
					.msg_iov = &iov[nb], .msg_iovlen = 1 } };
			}
			int r = sendmmsg(fd, m, nb, 0);
			if (r < 0) {
				if (errno == EAGAIN || errno == ENOBUFS || errno == EINTR)
					continue;
				perror("ha_bu_load: sendmmsg");
				return 1;
			}
			sent += (unsigned long)r;
			drain(fd, 0, &ok, &bad, &other);
		}
		/* the last window */
		while (ok + bad < sent) {
			unsigned long before = ok + bad;
			drain(fd, 100, &ok, &bad, &other);
			if (ok + bad != before)
				last_rx = now_s();
			else if (now_s() - last_rx > o.timeout_s)
				break;
		}
		double secs = last_rx - t0;
		printf("round %u: sent %lu BUs, BAs accepted %lu, refused %lu, other %lu, "
		       "%.3f s, %.0f BA/s\n", round, sent, ok,
		       bad, other, secs, secs > 0 ? (ok + bad) / secs : 0.0);
		fflush(stdout);
		if (ok + bad < sent) {
			fprintf(stderr, "ha_bu_load: %lu BUs unanswered after %u s of silence\n",
				sent - ok - bad, o.timeout_s);
			rc = 1;
		}
	}
	close(fd);
	return rc;
}
