/* spd_bench: SPD lookup rates with 10, 1 000 and 100 000 policies, shaped
 * like a home agent's SPD (RFC 4877): per mobile node a transport policy
 * for BU/BA (MH types 5/6) and a tunnel policy for all its traffic, both
 * keyed by the home address, plus an IKE bypass on ::/0, a few policies
 * with address ranges that are no prefix (the scanned list), an IPv4
 * block and a final discard-all. Measures outbound lookups (spd_out),
 * the inbound check after decryption (spd_in_protected), the in-clear
 * check (spd_in_clear), the selector extraction from a raw IPv6 packet
 * (spd_pkt_parse), and for comparison a linear first-match scan; checks
 * that no lookup allocates (malloc interposed and counted while the
 * timed loops run) and that the index agrees with the scan. The AH data
 * path (ah_encap + ah_decap of 1400-byte IPv6 packets, transport mode,
 * ESN) runs under the same allocation count.
 *
 * usage: spd_bench [LOOKUPS]           (default 2000000)
 * Build without sanitizers (see bench/README.md). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "ipsec/ah.h"
#include "ipsec/spd.h"
#include "wire/ipv6.h"

#include "alloc_count.h"

#define RING 4096

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rs = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (uint32_t)rs;
}

static const char *HA = "2001:db8:1::1";

static void hoa(uint32_t i, uint8_t out[16])
{
	inet_pton(AF_INET6, "2001:db8:1::", out);
	out[12] = (uint8_t)(i >> 24);
	out[13] = (uint8_t)(i >> 16);
	out[14] = (uint8_t)(i >> 8);
	out[15] = (uint8_t)(i + 2);
}

static void host(struct spd_sel *s, const uint8_t *a, bool local)
{
	memcpy(local ? s->lstart : s->rstart, a, 16);
	memcpy(local ? s->lend : s->rend, a, 16);
}

struct shadow {
	struct spd_policy *v;
	size_t n;
};

static void add(struct spd *spd, struct shadow *sh, struct spd_policy *p)
{
	if (spd_add(spd, p, NULL) != SPD_OK) {
		fputs("spd_add failed\n", stderr);
		exit(1);
	}
	sh->v[sh->n++] = *p;
}

/* n policies in all; the MN policies are n - 8 of them. */
static struct spd *build(size_t n, struct shadow *sh, uint32_t *nmn)
{
	struct spd *spd = spd_new();
	struct spd_policy p;
	uint8_t ha[16], a[16];
	size_t fixed = 8;
	uint32_t m = (uint32_t)((n > fixed ? n - fixed : 2) / 2);

	sh->v = calloc(n + 16, sizeof(*sh->v));
	sh->n = 0;
	inet_pton(AF_INET6, HA, ha);
	/* IKE in clear, first. */
	memset(&p, 0, sizeof(p));
	spd_sel_any(&p.sel, AF_INET6);
	p.sel.proto = 17;
	p.sel.lport_start = p.sel.lport_end = 500;
	p.action = SPD_BYPASS;
	add(spd, sh, &p);
	p.sel.lport_start = p.sel.lport_end = 4500;
	add(spd, sh, &p);
	for (uint32_t i = 0; i < m; i++) {
		hoa(i, a);
		memset(&p, 0, sizeof(p));
		p.priority = 10;
		spd_sel_any(&p.sel, AF_INET6);
		host(&p.sel, ha, true);
		host(&p.sel, a, false);
		spd_sel_mh(&p.sel, 6, 5);
		p.action = SPD_PROTECT;
		p.protect = (struct spd_protect){ .child_id = 2 * i + 1, .ipsec_proto = 50,
						  .mode = SA_MODE_TRANSPORT };
		add(spd, sh, &p);
		spd_sel_any(&p.sel, AF_INET6);
		host(&p.sel, a, false);
		p.priority = 20;
		p.protect = (struct spd_protect){ .child_id = 2 * i + 2, .ipsec_proto = 50,
						  .mode = SA_MODE_TUNNEL };
		add(spd, sh, &p);
	}
	/* Ranges that are no prefix, and an IPv4 block. */
	for (int k = 0; k < 4; k++) {
		memset(&p, 0, sizeof(p));
		p.priority = 30;
		spd_sel_any(&p.sel, AF_INET6);
		inet_pton(AF_INET6, "2001:db8:7::3", p.sel.rstart);
		inet_pton(AF_INET6, "2001:db8:7::ff", p.sel.rend);
		p.sel.rstart[13] = (uint8_t)k;
		p.sel.rend[13] = (uint8_t)k;
		p.action = SPD_BYPASS;
		add(spd, sh, &p);
	}
	memset(&p, 0, sizeof(p));
	p.priority = 30;
	spd_sel_any(&p.sel, AF_INET);
	p.action = SPD_BYPASS;
	add(spd, sh, &p);
	/* The end: discard everything else. */
	memset(&p, 0, sizeof(p));
	p.priority = 100;
	spd_sel_any(&p.sel, AF_INET6);
	p.action = SPD_DISCARD;
	add(spd, sh, &p);
	*nmn = m;
	return spd;
}

static const struct spd_policy *linear(const struct shadow *sh, enum spd_dir dir,
				       const struct spd_pkt *t)
{
	const struct spd_policy *best = NULL;

	for (size_t i = 0; i < sh->n; i++)
		if ((!best || sh->v[i].priority < best->priority) &&
		    spd_sel_match(&sh->v[i].sel, dir, t))
			best = &sh->v[i];
	return best;
}

/* A ring of packets: tunnel traffic to MNs, BAs out, some misses. */
static void mkpkts(struct spd_pkt *out, struct spd_pkt *in, uint32_t nmn, uint32_t *child)
{
	uint8_t ha[16];

	inet_pton(AF_INET6, HA, ha);
	for (int i = 0; i < RING; i++) {
		uint32_t mn = rnd() % nmn, kind = rnd() % 4;
		struct spd_pkt t = { .family = AF_INET6, .proto = 6,
				     .sport = (uint16_t)rnd(), .dport = 443 };

		inet_pton(AF_INET6, "2001:db8:5::9", t.src);
		hoa(mn, t.dst);
		child[i] = 2 * mn + 2;
		if (kind == 1) {		/* BA from the HA */
			memcpy(t.src, ha, 16);
			t.proto = 135;
			t.typed = true;
			t.sport = 6 << 8;
			child[i] = 2 * mn + 1;
		} else if (kind == 2) {		/* nobody's home address */
			t.dst[11] = 0x77;
		}
		out[i] = t;
		/* Inbound: the reverse direction, BU for kind 1. */
		in[i] = t;
		memcpy(in[i].src, t.dst, 16);
		memcpy(in[i].dst, t.src, 16);
		in[i].sport = t.dport;
		in[i].dport = t.sport;
		if (kind == 1)
			in[i].sport = 5 << 8;
	}
}

static void run(size_t n, long iters)
{
	static struct spd_pkt out[RING], in[RING];
	static uint32_t child[RING];
	struct shadow sh;
	uint32_t nmn;
	struct spd *spd = build(n, &sh, &nmn);
	const struct spd_policy *p;
	volatile unsigned long sink = 0;
	long lin_iters = iters / (long)(sh.n / 16 + 1) + 1000;
	double t0, t_out, t_in, t_clear, t_lin;

	mkpkts(out, in, nmn, child);
	for (int i = 0; i < RING; i++) {
		const struct spd_policy *a = spd_lookup(spd, SPD_OUT, &out[i]);
		const struct spd_policy *b = linear(&sh, SPD_OUT, &out[i]);

		if (!a || !b || a->action != b->action ||
		    a->protect.child_id != b->protect.child_id) {
			fprintf(stderr, "index and scan disagree on packet %d\n", i);
			exit(1);
		}
	}
	counting = 1;
	t0 = now();
	for (long i = 0; i < iters; i++)
		sink += spd_out(spd, &out[i & (RING - 1)], &p);
	t_out = now() - t0;
	t0 = now();
	for (long i = 0; i < iters; i++)
		sink += spd_in_protected(spd, child[i & (RING - 1)], &in[i & (RING - 1)]);
	t_in = now() - t0;
	t0 = now();
	for (long i = 0; i < iters; i++)
		sink += spd_in_clear(spd, &in[i & (RING - 1)]);
	t_clear = now() - t0;
	t0 = now();
	for (long i = 0; i < lin_iters; i++)
		sink += (unsigned long)(uintptr_t)linear(&sh, SPD_OUT, &out[i & (RING - 1)]);
	t_lin = now() - t0;
	counting = 0;
	printf("%7zu policies | out %6.2f M/s (%5.0f ns) | in-protected %6.2f M/s | "
	       "in-clear %6.2f M/s | linear scan %9.1f k/s\n",
	       spd_count(spd), iters / t_out / 1e6, t_out / (double)iters * 1e9,
	       iters / t_in / 1e6, iters / t_clear / 1e6, lin_iters / t_lin / 1e3);
	(void)sink;
	spd_free(spd);
	free(sh.v);
}

static void parse_rate(long iters)
{
	uint8_t b[128] = { 0x60 };
	struct spd_pkt t;
	volatile unsigned long sink = 0;
	double t0;

	put_be16(b + 4, 48);
	b[6] = PROTO_DSTOPTS;
	b[7] = 64;
	inet_pton(AF_INET6, "2001:db8:99::7", b + 8);
	inet_pton(AF_INET6, HA, b + 24);
	/* Destination Options with PadN + HAO, then a BU. */
	b[40] = PROTO_MH;
	b[41] = 2;
	b[42] = 1;
	b[43] = 2;
	b[46] = 201;
	b[47] = 16;
	inet_pton(AF_INET6, "2001:db8:1::2", b + 48);
	b[64] = 59;
	b[65] = 2;
	b[66] = 5;
	counting = 1;
	t0 = now();
	for (long i = 0; i < iters; i++) {
		if (spd_pkt_parse(b, 88, &t, NULL) != WIRE_OK || t.sport != 5 << 8)
			exit(1);
		sink += t.sport;
	}
	t0 = now() - t0;
	counting = 0;
	(void)sink;
	printf("spd_pkt_parse, IPv6 + HAO + MH BU: %.2f M/s (%.0f ns)\n",
	       iters / t0 / 1e6, t0 / (double)iters * 1e9);
}

static struct sa *ah_sa(enum sa_dir d)
{
	static const uint8_t k[32] = "spd_bench AH key material 012345";
	struct sa_params p = { .spi = 0x1234, .dir = d, .esn = true, .proto = SA_PROTO_AH,
			       .auth_key = k, .auth_key_len = 32 };
	struct sa *sa = sa_new(&p, NULL);

	if (!sa)
		exit(1);
	return sa;
}

static void ah_rate(long iters)
{
	static uint8_t orig[1500], b[1600];
	struct sa *out = ah_sa(SA_DIR_OUT), *in = ah_sa(SA_DIR_IN);
	struct ah_decap_result r;
	size_t len, n = 1400;
	double t0;

	orig[0] = 0x60;
	put_be16(orig + 4, (uint16_t)(n - 40));
	orig[6] = PROTO_UDP;
	orig[7] = 64;
	inet_pton(AF_INET6, "2001:db8:1::2", orig + 8);
	inet_pton(AF_INET6, HA, orig + 24);
	counting = 1;
	t0 = now();
	for (long i = 0; i < iters; i++) {
		memcpy(b, orig, n);
		if (ah_encap(out, b, n, sizeof(b), &len) != AH_OK ||
		    ah_decap(in, b, len, &r) != AH_OK)
			exit(1);
	}
	t0 = now() - t0;
	counting = 0;
	printf("AH encap+decap, 1400-byte IPv6, ESN: %.0f k/s (%.2f Gbit/s of packets)\n",
	       iters / t0 / 1e3, iters * n * 8.0 / t0 / 1e9);
	sa_free(out);
	sa_free(in);
}

int main(int argc, char **argv)
{
	long iters = argc > 1 ? atol(argv[1]) : 2000000;

	if (iters < RING || alloc_count_selftest("spd_bench"))
		return 1;
	run(10, iters);
	run(1000, iters);
	run(100000, iters);
	parse_rate(iters);
	ah_rate(iters / 10);
	if (allocs) {
		fprintf(stderr, "FAIL: %lu allocations in the lookup paths\n", allocs);
		return 1;
	}
	printf("allocations during lookups: 0\n");
	return 0;
}
