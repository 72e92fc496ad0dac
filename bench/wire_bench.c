/* wire_bench: parse and build rates of the packets on the hot path -
 * a Binding Update (IPv6 + Home Address option + MH), a Binding
 * Acknowledgement (IPv6 + type 2 RH + MH) and an RFC 5555 data packet
 * (IPv4 + UDP 4191 + IPv6 + UDP + 1200 bytes) - and a check that the
 * parse path never allocates: malloc and friends are interposed here and
 * counted while the parse loops run.
 *
 * usage: wire_bench [ITERATIONS]      (default 2000000)
 *
 * The Mobility Header body is parsed and built with src/wire/mh.h when
 * that codec is in the tree; otherwise the MH bytes are prebuilt and only
 * its checksum is verified/computed (which the MH codec also does). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "wire/exthdr.h"
#include "wire/ipv4.h"
#include "wire/udp.h"
#include "wire/udpencap.h"

#include "wire/mh.h"

#include "alloc_count.h"

static const uint8_t COA[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0x30, [15] = 0x64 };
static const uint8_t HA[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 1 };
static const uint8_t HOA[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 0x64 };
static const uint8_t V4S[4] = { 192, 0, 2, 10 }, V4D[4] = { 198, 51, 100, 1 };

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* MH of type 5 (BU) or 6 (BA) into buf; returns its length. */
static int build_mh(uint8_t *buf, size_t size, uint8_t type, const uint8_t *src,
		    const uint8_t *dst)
{
	struct mh_builder b;
	union mh_body body;

	memset(&body, 0, sizeof(body));
	if (type == 5) {
		body.bu.seq = 7;
		body.bu.flags = 0xc000;
		body.bu.lifetime = 100;
	} else {
		body.ba.seq = 7;
		body.ba.lifetime = 100;
	}
	mh_build_begin(&b, buf, size, type, &body, NULL);
	mh_build_bra(&b, 30);
	return mh_build_finish(&b, src, dst);
}

static int parse_mh(const uint8_t *buf, size_t len, const uint8_t *src, const uint8_t *dst)
{
	struct mh_msg m;

	return mh_parse(buf, len, src, dst, &m, NULL) == WIRE_OK && m.n_opts == 1 ? 0 : -1;
}

/* BU: IPv6(CoA -> HA) | DstOpt(HAO) | MH. BA: IPv6(HA -> CoA) | RH2 | MH. */
static int build_bu(uint8_t *p, size_t size)
{
	struct ipv6_hdr ip = { .next_header = PROTO_DSTOPTS, .hop_limit = 64, .src = COA, .dst = HA };
	int n = build_mh(p + 64, size - 64, 5, HOA, HA);

	if (n < 0 || ext_hao_build(p + 40, size - 40, PROTO_MH, HOA, NULL) < 0)
		return -1;
	ip.payload_length = (uint16_t)(24 + n);
	return ipv6_build(p, size, &ip, NULL) < 0 ? -1 : 64 + n;
}

static int build_ba(uint8_t *p, size_t size)
{
	struct ipv6_hdr ip = { .next_header = PROTO_ROUTING, .hop_limit = 64, .src = HA, .dst = COA };
	int n = build_mh(p + 64, size - 64, 6, HA, HOA);

	if (n < 0 || ext_rh2_build(p + 40, size - 40, PROTO_MH, HOA, NULL) < 0)
		return -1;
	ip.payload_length = (uint16_t)(24 + n);
	return ipv6_build(p, size, &ip, NULL) < 0 ? -1 : 64 + n;
}

static int parse_signalling(const uint8_t *p, size_t len)
{
	struct ipv6_chain c;

	if (ipv6_walk(p, len, &c, NULL) != WIRE_OK || c.proto != PROTO_MH)
		return -1;
	return parse_mh(p + c.off, c.len, c.src, c.dst);
}

#define INNER_PAYLOAD 1200
static uint8_t inner[40 + 8 + INNER_PAYLOAD];

/* Outer IPv4 + UDP around the inner IPv6 packet already at p + 28. */
static int build_data(uint8_t *p, size_t size)
{
	struct ipv4_hdr h = { .total_length = (uint16_t)(28 + sizeof(inner)), .ttl = 64,
			      .protocol = 17, .src = V4S, .dst = V4D };

	if (udp_build(p + 20, size - 20, 4191, 4191, sizeof(inner), 4, V4S, V4D, 0, NULL) < 0)
		return -1;
	return ipv4_build(p, size, &h, true, NULL) < 0 ? -1 : 28 + (int)sizeof(inner);
}

static int parse_data(const uint8_t *p, size_t len)
{
	struct ipv4_hdr h;
	struct udp_hdr u;
	struct udpencap e;
	struct ipv6_chain c;

	if (ipv4_parse(p, len, &h, NULL) || udp_parse(p + 20, h.total_length - 20, 4, h.src, h.dst,
						      &u, NULL) ||
	    udpencap_parse(u.payload, u.payload_len, &e, NULL) || e.inner != PROTO_IPV6 ||
	    ipv6_walk(e.payload, e.payload_len, &c, NULL))
		return -1;
	return c.proto == PROTO_UDP ? 0 : -1;
}

struct bench {
	const char *name;
	int (*build)(uint8_t *p, size_t size);
	int (*parse)(const uint8_t *p, size_t len);
};

static int run(const struct bench *b, long iters)
{
	static uint8_t pkt[2048];
	double t0, tb, tp;
	unsigned long a;
	int n = 0;

	if (b->build == build_data)
		memcpy(pkt + 28, inner, sizeof(inner));
	t0 = now();
	for (long i = 0; i < iters; i++)
		n = b->build(pkt, sizeof(pkt));
	tb = now() - t0;
	if (n < 0 || b->parse(pkt, (size_t)n)) {
		fprintf(stderr, "%s: built packet does not parse\n", b->name);
		return 1;
	}
	allocs = 0;
	counting = 1;
	t0 = now();
	for (long i = 0; i < iters; i++)
		if (b->parse(pkt, (size_t)n))
			abort();
	tp = now() - t0;
	counting = 0;
	a = allocs;
	printf("%-14s %5d bytes  build %7.2f Mpkt/s (%6.1f ns)  parse %7.2f Mpkt/s (%6.1f ns)  allocs/parse %lu\n",
	       b->name, n, iters / tb / 1e6, tb / iters * 1e9, iters / tp / 1e6, tp / iters * 1e9,
	       a / (unsigned long)iters);
	if (a) {
		fprintf(stderr, "%s: parse allocated %lu times\n", b->name, a);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct bench benches[] = {
		{ "bu", build_bu, parse_signalling },
		{ "ba", build_ba, parse_signalling },
		{ "udpencap_data", build_data, parse_data },
	};
	struct ipv6_hdr ip = { .payload_length = 8 + INNER_PAYLOAD, .next_header = PROTO_UDP,
			       .hop_limit = 64, .src = HOA, .dst = HA };
	long iters = argc > 1 ? atol(argv[1]) : 2000000;
	int rc = 0;

	if (iters <= 0)
		iters = 1;
	memset(inner + 48, 0x5a, INNER_PAYLOAD);
	ipv6_build(inner, sizeof(inner), &ip, NULL);
	udp_build(inner + 40, sizeof(inner) - 40, 1000, 2000, INNER_PAYLOAD, 6, HOA, HA, 0, NULL);
	printf("wire_bench: %ld iterations, MH codec %s, malloc counting %s\n", iters,
	       "src/wire/mh.h",
#ifdef NO_INTERPOSE
	       "off (sanitizer build)"
#else
	       "on"
#endif
	);
	if (alloc_count_selftest("wire_bench") < 0)
		return 1;
	for (size_t i = 0; i < sizeof(benches) / sizeof(benches[0]); i++)
		rc |= run(&benches[i], iters);
	return rc;
}
