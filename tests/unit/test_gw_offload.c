/* TUN offload transformations of the ipsec gateway (src/ipsec/gw_offload.h):
 * TSO segmentation (exact multiples of gso_size, one-byte tails, FIN/PSH on
 * the last segment and CWR on the first, IPv4 ID increments, IPv6, ECN),
 * partial checksums, refusal of malformed super-packets (each given in an
 * exact-size heap buffer so that ASan sees any read past its end), and the
 * coalescer: joins only in-order same-flow segments no longer than the
 * first, ends on PSH or a short segment, refuses other flags, flows,
 * options and kinds, limits, and a coalesce -> segment round trip.
 * Checksums are verified with the byte-wise sum below, not the code's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <netinet/in.h>

#include "ipsec/gw_offload.h"

#define F_FIN 0x01
#define F_SYN 0x02
#define F_PSH 0x08
#define F_ACK 0x10
#define F_URG 0x20
#define F_CWR 0x80

/* ---- independent helpers ---- */

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool v6of(const uint8_t *p)
{
	return p[0] >> 4 == 6;
}

static size_t iphl_of(const uint8_t *p)
{
	return v6of(p) ? 40 : (size_t)(p[0] & 15) * 4;
}

/* Pseudo-header sum (unfolded, not inverted). */
static uint32_t pseudo(const uint8_t *p, uint8_t proto, size_t l4)
{
	uint32_t s = v6of(p) ? sum16(p + 8, 32, 0) : sum16(p + 12, 8, 0);

	return s + proto + (uint32_t)(l4 >> 16) + (uint32_t)(l4 & 0xffff);
}

/* Whether the IPv4 header checksum (if any) and the L4 checksum hold and
 * the IP length is len. */
static void assert_valid(const uint8_t *p, size_t len)
{
	size_t ip = iphl_of(p);
	uint8_t proto = v6of(p) ? p[6] : p[9];

	if (v6of(p)) {
		assert_int_equal(be16(p + 4) + 40, len);
	} else {
		assert_int_equal(fold(sum16(p, ip, 0)), 0xffff);
		assert_int_equal(be16(p + 2), len);
	}
	assert_int_equal(fold(sum16(p + ip, len - ip, pseudo(p, proto, len - ip))), 0xffff);
}

static const uint8_t a4[8] = { 192, 0, 2, 1, 198, 51, 100, 2 };
static const uint8_t a6[32] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1,
				0x20, 0x01, 0x0d, 0xb8, 0, 2, [31] = 2 };

static uint8_t payload_byte(size_t i)
{
	return (uint8_t)(i * 7 + 3);
}

/* The IPv4 (with its checksum; DF if df) or IPv6 header of a packet of
 * len bytes in all. */
static void ip_hdr(uint8_t *b, bool v6, size_t len, uint8_t proto, uint16_t id, bool df)
{
	memset(b, 0, v6 ? 40 : 20);
	if (v6) {
		b[0] = 0x60;
		b[4] = (uint8_t)((len - 40) >> 8);
		b[5] = (uint8_t)(len - 40);
		b[6] = proto;
		b[7] = 64;
		memcpy(b + 8, a6, 32);
		return;
	}
	b[0] = 0x45;
	b[2] = (uint8_t)(len >> 8);
	b[3] = (uint8_t)len;
	b[4] = (uint8_t)(id >> 8);
	b[5] = (uint8_t)id;
	b[6] = df ? 0x40 : 0;
	b[8] = 64;
	b[9] = proto;
	memcpy(b + 12, a4, 8);
	uint16_t c = (uint16_t)~fold(sum16(b, 20, 0));
	b[10] = (uint8_t)(c >> 8);
	b[11] = (uint8_t)c;
}

/* A TCP packet: `opt` option bytes (NOPs + a timestamp-like tail),
 * payload bytes payload_byte(from + i). The TCP checksum is left 0 unless
 * `csum`. Returns the length. */
static size_t tcp_pkt(uint8_t *b, bool v6, size_t opt, size_t from, size_t n, uint32_t seq,
		      uint8_t flags, uint16_t id, bool csum)
{
	size_t ip = v6 ? 40 : 20, th = 20 + opt, len = ip + th + n;

	memset(b + ip, 0, th);
	ip_hdr(b, v6, len, IPPROTO_TCP, id, true);
	uint8_t *t = b + ip;
	t[0] = 0x9c; t[1] = 0x40;		/* 40000 */
	t[2] = 0x00; t[3] = 0x50;		/* 80 */
	t[4] = (uint8_t)(seq >> 24); t[5] = (uint8_t)(seq >> 16);
	t[6] = (uint8_t)(seq >> 8); t[7] = (uint8_t)seq;
	t[8] = 0x11; t[9] = 0x22; t[10] = 0x33; t[11] = 0x44;	/* ack */
	t[12] = (uint8_t)((th / 4) << 4);
	t[13] = flags;
	t[14] = 0x01; t[15] = 0xf5;		/* window */
	for (size_t i = 0; i < opt; i++)
		t[20 + i] = i < 2 ? 1 : (uint8_t)(0x30 + i);
	for (size_t i = 0; i < n; i++)
		t[th + i] = payload_byte(from + i);
	if (csum) {
		uint16_t c = (uint16_t)~fold(sum16(t, th + n, pseudo(b, IPPROTO_TCP, th + n)));
		t[16] = (uint8_t)(c >> 8);
		t[17] = (uint8_t)c;
	}
	return len;
}

/* A UDP datagram with n payload bytes payload_byte(from + i), checksum. */
static size_t udp_pkt(uint8_t *b, bool v6, size_t from, size_t n, uint16_t sport)
{
	size_t ip = v6 ? 40 : 20, len = ip + 8 + n;

	memset(b + ip, 0, 8);
	ip_hdr(b, v6, len, IPPROTO_UDP, 0, false);
	uint8_t *u = b + ip;
	u[0] = (uint8_t)(sport >> 8); u[1] = (uint8_t)sport;
	u[2] = 0x11; u[3] = 0x5c;
	u[4] = (uint8_t)((n + 8) >> 8); u[5] = (uint8_t)(n + 8);
	for (size_t i = 0; i < n; i++)
		u[8 + i] = payload_byte(from + i);
	uint16_t c = (uint16_t)~fold(sum16(u, n + 8, pseudo(b, IPPROTO_UDP, n + 8)));
	u[6] = (uint8_t)(c >> 8);
	u[7] = (uint8_t)c;
	return len;
}

static struct virtio_net_hdr tso_hdr(bool v6, uint16_t mss, size_t hl)
{
	return (struct virtio_net_hdr){
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4,
		.hdr_len = (uint16_t)hl, .gso_size = mss,
		.csum_start = v6 ? 40 : 20, .csum_offset = 16,
	};
}

static uint8_t super[70000], seg[70000];

/* Segments super[0..len) and checks every segment: lengths, sequence,
 * IDs, flags, checksums, payload continuity. Returns the segment count. */
static size_t check_tso(const struct virtio_net_hdr *vh, size_t len, size_t expect_last)
{
	const bool v6 = v6of(super);
	const size_t ip = iphl_of(super), hl = ip + (size_t)(super[ip + 12] >> 4) * 4;
	const size_t data = len - hl, mss = vh->gso_size;
	const uint8_t flags = super[ip + 13];
	struct gw_tso t;
	size_t n, i = 0, got = 0;

	assert_int_equal(gw_tso_begin(&t, vh, super, len, hl + mss), GW_OFFLOAD_OK);
	while ((n = gw_tso_next(&t, seg))) {
		size_t pl = n - hl;
		bool last = got + pl == data;

		assert_true(n <= hl + mss);
		assert_valid(seg, n);
		if (!last)
			assert_int_equal(pl, mss);
		/* headers copied but for the fields that change */
		assert_memory_equal(seg + ip, super + ip, 4);
		assert_memory_equal(seg + ip + 8, super + ip + 8, 5);
		assert_memory_equal(seg + ip + 14, super + ip + 14, 2);
		assert_memory_equal(seg + ip + 20, super + ip + 20, hl - ip - 20);
		assert_int_equal(be32(seg + ip + 4), (uint32_t)(be32(super + ip + 4) + got));
		if (!v6)
			assert_int_equal(be16(seg + 4), (uint16_t)(be16(super + 4) + i));
		uint8_t want = flags;
		if (!last)
			want &= (uint8_t)~(F_FIN | F_PSH);
		if (i)
			want &= (uint8_t)~F_CWR;
		assert_int_equal(seg[ip + 13], want);
		assert_memory_equal(seg + hl, super + hl + got, pl);
		got += pl;
		i++;
		if (last && data)
			assert_int_equal(pl, expect_last);
	}
	assert_int_equal(got, data);
	assert_int_equal(gw_tso_next(&t, seg), 0);
	return i;
}

static void test_tso_exact_multiple(void **st)
{
	(void)st;
	size_t len = tcp_pkt(super, false, 12, 0, 4 * 1000, 0xfffffc00u,
			     F_ACK | F_PSH | F_FIN | F_CWR, 0xfffe, false);
	struct virtio_net_hdr vh = tso_hdr(false, 1000, 52);

	/* sequence numbers and IDs wrap */
	assert_int_equal(check_tso(&vh, len, 1000), 4);
}

static void test_tso_one_byte_tail(void **st)
{
	(void)st;
	size_t len = tcp_pkt(super, false, 0, 0, 3 * 1448 + 1, 1000, F_ACK | F_PSH, 7, false);
	struct virtio_net_hdr vh = tso_hdr(false, 1448, 40);

	assert_int_equal(check_tso(&vh, len, 1), 4);
}

static void test_tso_ipv6(void **st)
{
	(void)st;
	size_t len = tcp_pkt(super, true, 12, 0, 60000, 5, F_ACK | F_PSH | F_CWR, 0, false);
	struct virtio_net_hdr vh = tso_hdr(true, 1220, 72);

	assert_int_equal(check_tso(&vh, len, 60000 - 49 * 1220), 50);
	/* one segment: every flag stays */
	len = tcp_pkt(super, true, 0, 0, 100, 5, F_ACK | F_PSH | F_FIN | F_CWR, 0, false);
	vh = tso_hdr(true, 1220, 60);
	assert_int_equal(check_tso(&vh, len, 100), 1);
}

static void test_tso_ecn_and_empty(void **st)
{
	(void)st;
	size_t len = tcp_pkt(super, false, 0, 0, 2500, 1, F_ACK | F_CWR, 100, false);
	struct virtio_net_hdr vh = tso_hdr(false, 1000, 40);
	struct gw_tso t;

	vh.gso_type |= VIRTIO_NET_HDR_GSO_ECN;
	assert_int_equal(check_tso(&vh, len, 500), 3);
	/* no payload: one header-only segment, not nothing */
	len = tcp_pkt(super, false, 0, 0, 0, 1, F_ACK | F_FIN, 100, false);
	assert_int_equal(gw_tso_begin(&t, &vh, super, len, 2000), GW_OFFLOAD_OK);
	assert_int_equal(gw_tso_next(&t, seg), 40);
	assert_valid(seg, 40);
	assert_int_equal(seg[33], F_ACK | F_FIN);
	assert_int_equal(gw_tso_next(&t, seg), 0);
}

/* gw_tso_begin on a copy of b[0..len) in a heap buffer of exactly len. */
static enum gw_offload_err tso_heap(const struct virtio_net_hdr *vh, const uint8_t *b,
				    size_t len, size_t room)
{
	uint8_t *h = malloc(len ? len : 1);
	struct gw_tso t;
	enum gw_offload_err e;

	assert_non_null(h);
	memcpy(h, b, len);
	e = gw_tso_begin(&t, vh, h, len, room);
	if (e == GW_OFFLOAD_OK)
		while (gw_tso_next(&t, seg))
			;
	free(h);
	return e;
}

static void test_tso_malformed(void **st)
{
	(void)st;
	uint8_t b[2000];
	size_t len = tcp_pkt(b, false, 0, 0, 1000, 1, F_ACK, 1, false);
	struct virtio_net_hdr vh = tso_hdr(false, 500, 40), v;

	assert_int_equal(tso_heap(&vh, b, len, 2000), GW_OFFLOAD_OK);
	v = vh;
	v.gso_size = 0;
	assert_int_equal(tso_heap(&v, b, len, 2000), GW_OFFLOAD_BAD_GSO);
	v = vh;
	v.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;		/* not the packet's version */
	assert_int_equal(tso_heap(&v, b, len, 2000), GW_OFFLOAD_BAD_GSO);
	v.gso_type = VIRTIO_NET_HDR_GSO_UDP_L4;
	assert_int_equal(tso_heap(&v, b, len, 2000), GW_OFFLOAD_BAD_GSO);
	v.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	assert_int_equal(tso_heap(&v, b, len, 2000), GW_OFFLOAD_BAD_GSO);
	v = vh;
	v.csum_start = (uint16_t)len;			/* beyond the packet */
	assert_int_equal(tso_heap(&v, b, len, 2000), GW_OFFLOAD_BAD_CSUM);
	assert_int_equal(tso_heap(&vh, b, len, 539), GW_OFFLOAD_TOO_BIG);
	assert_int_equal(tso_heap(&vh, b, len, 540), GW_OFFLOAD_OK);
	/* truncated: IP header, TCP header, TCP options */
	assert_int_equal(tso_heap(&vh, b, 0, 2000), GW_OFFLOAD_TRUNCATED);
	assert_int_equal(tso_heap(&vh, b, 19, 2000), GW_OFFLOAD_TRUNCATED);
	assert_int_equal(tso_heap(&vh, b, 30, 2000), GW_OFFLOAD_TRUNCATED);
	b[32] = 0xf0;					/* data offset 60 */
	assert_int_equal(tso_heap(&vh, b, 59, 2000), GW_OFFLOAD_TRUNCATED);
	b[32] = 0x40;					/* data offset 16 */
	assert_int_equal(tso_heap(&vh, b, len, 2000), GW_OFFLOAD_BAD_HDR);
	b[32] = 0x50;
	b[0] = 0x44;					/* IHL 16 bytes */
	assert_int_equal(tso_heap(&vh, b, len, 2000), GW_OFFLOAD_BAD_HDR);
	b[0] = 0x4f;					/* IHL 60 bytes */
	assert_int_equal(tso_heap(&vh, b, 50, 2000), GW_OFFLOAD_TRUNCATED);
	b[0] = 0x55;					/* version 5 */
	assert_int_equal(tso_heap(&vh, b, len, 2000), GW_OFFLOAD_BAD_HDR);
	b[0] = 0x45;
	b[9] = IPPROTO_UDP;
	assert_int_equal(tso_heap(&vh, b, len, 2000), GW_OFFLOAD_NOT_TCP);
	/* IPv6: a short fixed header, a next header that is not TCP */
	len = tcp_pkt(b, true, 0, 0, 1000, 1, F_ACK, 1, false);
	vh = tso_hdr(true, 500, 60);
	assert_int_equal(tso_heap(&vh, b, 39, 2000), GW_OFFLOAD_TRUNCATED);
	assert_int_equal(tso_heap(&vh, b, 50, 2000), GW_OFFLOAD_TRUNCATED);
	b[6] = 0;					/* hop-by-hop options */
	assert_int_equal(tso_heap(&vh, b, len, 2000), GW_OFFLOAD_NOT_TCP);
	for (size_t l = 0; l <= 60; l++)
		assert_int_not_equal(tso_heap(&vh, b, l, 2000), GW_OFFLOAD_OK);
}

static void test_csum_finish(void **st)
{
	(void)st;
	uint8_t b[2000], c[2000];
	size_t len = tcp_pkt(b, false, 8, 0, 999, 77, F_ACK | F_PSH, 3, true);
	struct virtio_net_hdr vh = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 20,
				     .csum_offset = 16 };

	memcpy(c, b, len);
	c[36] = 0xde;
	c[37] = 0xad;
	assert_int_equal(gw_csum_finish(c, len, &vh), GW_OFFLOAD_OK);
	assert_memory_equal(c, b, len);
	/* without the flag nothing changes */
	c[36] = 0xde;
	vh.flags = 0;
	assert_int_equal(gw_csum_finish(c, len, &vh), GW_OFFLOAD_OK);
	assert_int_equal(c[36], 0xde);
	vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	/* refused: field beyond the packet, start inside the IP header */
	vh.csum_offset = (uint16_t)(len - 21);
	assert_int_equal(gw_csum_finish(c, len, &vh), GW_OFFLOAD_BAD_CSUM);
	vh.csum_offset = 16;
	vh.csum_start = 10;
	assert_int_equal(gw_csum_finish(c, len, &vh), GW_OFFLOAD_BAD_CSUM);
	vh.csum_start = 0xffff;
	vh.csum_offset = 0xffff;
	assert_int_equal(gw_csum_finish(c, len, &vh), GW_OFFLOAD_BAD_CSUM);
	vh.csum_start = 20;
	vh.csum_offset = 16;
	assert_int_equal(gw_csum_finish(c, 10, &vh), GW_OFFLOAD_TRUNCATED);
	c[0] = 0x75;
	assert_int_equal(gw_csum_finish(c, len, &vh), GW_OFFLOAD_BAD_HDR);

	/* IPv6 UDP whose checksum computes to 0: sent as 0xffff */
	len = udp_pkt(b, true, 0, 101, 5000);
	b[46] = b[47] = 0;			/* the checksum field */
	b[48] = b[49] = 0;			/* a free word in the payload */
	uint16_t f = fold(sum16(b + 40, len - 40, pseudo(b, IPPROTO_UDP, len - 40)));
	uint16_t x = (uint16_t)(0xffff - f);
	b[48] = (uint8_t)(x >> 8);
	b[49] = (uint8_t)x;
	assert_int_equal(fold(sum16(b + 40, len - 40, pseudo(b, IPPROTO_UDP, len - 40))), 0xffff);
	vh.csum_start = 40;
	vh.csum_offset = 6;
	assert_int_equal(gw_csum_finish(b, len, &vh), GW_OFFLOAD_OK);
	assert_int_equal(be16(b + 46), 0xffff);
	assert_valid(b, len);
}

/* ---- coalescer ---- */

static uint8_t cbuf[GW_COALESCE_BUF];

static void co_init(struct gw_coalescer *c)
{
	memset(c, 0, sizeof(*c));
	c->buf = cbuf;
	c->tcp_ok = c->udp_ok = true;
}

/* Checks a flushed super-packet of `segs` segments starting at payload
 * offset 0 with `total` payload bytes: vnet header, lengths, IPv4 header
 * checksum, pseudo-header sum in the checksum field, payload. */
static void check_super(const struct gw_coalesced *o, bool v6, bool udp, unsigned segs,
			size_t hl, size_t mss, size_t total)
{
	struct virtio_net_hdr vh;
	const uint8_t *p = o->buf + GW_VNET_LEN;
	size_t ip = v6 ? 40 : 20, len = o->len - GW_VNET_LEN;

	assert_int_equal(o->segs, segs);
	assert_int_equal(len, hl + total);
	memcpy(&vh, o->buf, sizeof(vh));
	assert_int_equal(vh.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(vh.gso_type, udp ? VIRTIO_NET_HDR_GSO_UDP_L4 :
			 v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(vh.hdr_len, hl);
	assert_int_equal(vh.gso_size, mss);
	assert_int_equal(vh.csum_start, ip);
	assert_int_equal(vh.csum_offset, udp ? 6 : 16);
	if (v6) {
		assert_int_equal(be16(p + 4), len - 40);
	} else {
		assert_int_equal(be16(p + 2), len);
		assert_int_equal(fold(sum16(p, 20, 0)), 0xffff);
	}
	if (udp)
		assert_int_equal(be16(p + ip + 4), len - ip);
	assert_int_equal(be16(p + ip + (udp ? 6 : 16)),
			 fold(pseudo(p, udp ? IPPROTO_UDP : IPPROTO_TCP, len - ip)));
	for (size_t i = 0; i < total; i++)
		assert_int_equal(p[hl + i], payload_byte(i));
}

static void test_coalesce_tcp(void **st)
{
	(void)st;
	struct gw_coalescer c;
	struct gw_coalesced o;
	uint8_t b[2000];
	size_t len;

	for (int v6 = 0; v6 < 2; v6++) {
		size_t hl = (v6 ? 40 : 20) + 32;

		co_init(&c);
		assert_false(gw_coalesce_flush(&c, &o));
		for (unsigned i = 0; i < 4; i++) {
			len = tcp_pkt(b, v6, 12, i * 1000, 1000, 0xfffff000u + i * 1000, F_ACK,
				      (uint16_t)i, true);
			assert_int_equal(gw_coalesce_add(&c, b, len), GW_COALESCE_HELD);
		}
		/* a shorter segment with PSH ends it */
		len = tcp_pkt(b, v6, 12, 4000, 10, 0xfffff000u + 4000, F_ACK | F_PSH, 4, true);
		assert_int_equal(gw_coalesce_add(&c, b, len), GW_COALESCE_FLUSH);
		/* closed until flushed */
		len = tcp_pkt(b, v6, 12, 4010, 10, 0xfffff000u + 4010, F_ACK, 5, true);
		assert_int_equal(gw_coalesce_add(&c, b, len), GW_COALESCE_OTHER);
		assert_true(gw_coalesce_flush(&c, &o));
		check_super(&o, v6, false, 5, hl, 1000, 4010);
		assert_int_equal(o.buf[GW_VNET_LEN + (v6 ? 40 : 20) + 13], F_ACK | F_PSH);
		assert_false(gw_coalesce_flush(&c, &o));
	}
}

static void test_coalesce_tcp_refusals(void **st)
{
	(void)st;
	struct gw_coalescer c;
	struct gw_coalesced o;
	uint8_t b[2000], first[2000];
	size_t len, flen;

	co_init(&c);
	flen = tcp_pkt(first, false, 12, 0, 1000, 100, F_ACK, 1, true);
	assert_int_equal(gw_coalesce_add(&c, first, flen), GW_COALESCE_HELD);
	/* out of order, retransmission */
	len = tcp_pkt(b, false, 12, 1000, 1000, 100 + 2000, F_ACK, 2, true);
	assert_int_equal(gw_coalesce_add(&c, b, len), GW_COALESCE_OTHER);
	len = tcp_pkt(b, false, 12, 0, 1000, 100, F_ACK, 2, true);
	assert_int_equal(gw_coalesce_add(&c, b, len), GW_COALESCE_OTHER);
	/* larger than the first */
	len = tcp_pkt(b, false, 12, 1000, 1001, 1100, F_ACK, 2, true);
	assert_int_equal(gw_coalesce_add(&c, b, len), GW_COALESCE_OTHER);
	/* other flow: port, address, TTL, TOS, ack, window, options */
	struct { size_t off; uint8_t v; } chg[] = {
		{ 21, 0x41 }, { 19, 9 }, { 8, 63 }, { 1, 4 }, { 31, 0 }, { 35, 0 }, { 51, 9 },
	};
	for (size_t i = 0; i < sizeof(chg) / sizeof(chg[0]); i++) {
		len = tcp_pkt(b, false, 12, 1000, 1000, 1100, F_ACK, 2, true);
		b[chg[i].off] = chg[i].v;
		if (chg[i].off < 20) {
			b[10] = b[11] = 0;
			uint16_t x = (uint16_t)~fold(sum16(b, 20, 0));
			b[10] = (uint8_t)(x >> 8);
			b[11] = (uint8_t)x;
		}
		assert_int_equal(gw_coalesce_add(&c, b, len), GW_COALESCE_OTHER);
	}
	/* TCP with other flags, IPv6 segment, UDP: another kind or alone */
	uint8_t fl[] = { F_ACK | F_FIN, F_ACK | F_SYN, F_ACK | F_URG, F_ACK | F_CWR, 0, F_PSH };
	for (size_t i = 0; i < sizeof(fl); i++) {
		len = tcp_pkt(b, false, 12, 1000, 1000, 1100, fl[i], 2, true);
		assert_int_equal(gw_coalesce_add(&c, b, len), GW_COALESCE_ALONE);
	}
	len = tcp_pkt(b, true, 12, 1000, 1000, 1100, F_ACK, 2, true);
	assert_int_equal(gw_coalesce_add(&c, b, len), GW_COALESCE_OTHER);
	/* nothing joined: a lone segment, sent as it came */
	assert_true(gw_coalesce_flush(&c, &o));
	assert_int_equal(o.segs, 1);
	assert_int_equal(o.len, GW_VNET_LEN + flen);
	for (size_t i = 0; i < GW_VNET_LEN; i++)
		assert_int_equal(o.buf[i], 0);
	assert_memory_equal(o.buf + GW_VNET_LEN, first, flen);
	assert_valid(o.buf + GW_VNET_LEN, flen);

	/* not coalescible at all */
	len = tcp_pkt(b, false, 0, 0, 0, 1, F_ACK, 1, true);		/* no payload */
	assert_int_equal(gw_coalesce_add(&c, b, len), GW_COALESCE_ALONE);
	len = tcp_pkt(b, false, 0, 0, 100, 1, F_ACK, 1, true);
	assert_int_equal(gw_coalesce_add(&c, b, len - 1), GW_COALESCE_ALONE);	/* IP length */
	b[6] = 0x20;							/* MF */
	assert_int_equal(gw_coalesce_add(&c, b, len), GW_COALESCE_ALONE);
	b[6] = 0x40;
	b[0] = 0x46;							/* options */
	assert_int_equal(gw_coalesce_add(&c, b, len), GW_COALESCE_ALONE);
	b[0] = 0x45;
	b[9] = IPPROTO_ICMP;
	assert_int_equal(gw_coalesce_add(&c, b, len), GW_COALESCE_ALONE);
	b[9] = IPPROTO_TCP;
	c.tcp_ok = false;
	assert_int_equal(gw_coalesce_add(&c, b, len), GW_COALESCE_ALONE);
	c.tcp_ok = true;
	assert_int_equal(gw_coalesce_add(&c, b, len), GW_COALESCE_HELD);
	for (size_t l = 0; l < 60; l++) {
		uint8_t *h = malloc(l ? l : 1);

		memcpy(h, b, l);
		assert_int_equal(gw_coalesce_add(&c, h, l), GW_COALESCE_ALONE);
		free(h);
	}
}

static void test_coalesce_limits(void **st)
{
	(void)st;
	struct gw_coalescer c;
	struct gw_coalesced o;
	uint8_t b[2000];
	size_t len;
	unsigned i;

	/* 64 segments at most */
	co_init(&c);
	for (i = 0; i < 64; i++) {
		len = tcp_pkt(b, false, 0, i * 10, 10, i * 10, F_ACK, 0, true);
		assert_int_equal(gw_coalesce_add(&c, b, len), GW_COALESCE_HELD);
	}
	len = tcp_pkt(b, false, 0, i * 10, 10, i * 10, F_ACK, 0, true);
	assert_int_equal(gw_coalesce_add(&c, b, len), GW_COALESCE_OTHER);
	assert_true(gw_coalesce_flush(&c, &o));
	check_super(&o, false, false, 64, 40, 10, 640);
	/* and 65471 bytes of IP length */
	co_init(&c);
	for (i = 0; i < 45; i++) {
		len = tcp_pkt(b, false, 0, i * 1448, 1448, i * 1448, F_ACK, 0, true);
		assert_int_equal(gw_coalesce_add(&c, b, len), GW_COALESCE_HELD);
	}
	len = tcp_pkt(b, false, 0, i * 1448, 1448, i * 1448, F_ACK, 0, true);
	assert_int_equal(gw_coalesce_add(&c, b, len), GW_COALESCE_OTHER);
	assert_true(gw_coalesce_flush(&c, &o));
	check_super(&o, false, false, 45, 40, 1448, 45 * 1448);
	assert_true(o.len - GW_VNET_LEN <= GW_COALESCE_MAX_LEN);
}

static void test_coalesce_udp(void **st)
{
	(void)st;
	struct gw_coalescer c;
	struct gw_coalesced o;
	uint8_t b[2000];
	size_t len;

	for (int v6 = 0; v6 < 2; v6++) {
		co_init(&c);
		for (unsigned i = 0; i < 3; i++) {
			len = udp_pkt(b, v6, i * 1300, 1300, 4000);
			assert_int_equal(gw_coalesce_add(&c, b, len), GW_COALESCE_HELD);
		}
		len = udp_pkt(b, v6, 3900, 1301, 4000);		/* larger */
		assert_int_equal(gw_coalesce_add(&c, b, len), GW_COALESCE_OTHER);
		len = udp_pkt(b, v6, 3900, 1300, 4001);		/* other port */
		assert_int_equal(gw_coalesce_add(&c, b, len), GW_COALESCE_OTHER);
		len = udp_pkt(b, v6, 3900, 7, 4000);		/* shorter: ends it */
		assert_int_equal(gw_coalesce_add(&c, b, len), GW_COALESCE_FLUSH);
		assert_true(gw_coalesce_flush(&c, &o));
		check_super(&o, v6, true, 4, (v6 ? 40 : 20) + 8, 1300, 3907);
		/* a UDP length that is not the packet's */
		len = udp_pkt(b, v6, 0, 100, 4000);
		b[(v6 ? 40 : 20) + 5]++;
		assert_int_equal(gw_coalesce_add(&c, b, len), GW_COALESCE_ALONE);
		len = udp_pkt(b, v6, 0, 100, 4000);
		c.udp_ok = false;
		assert_int_equal(gw_coalesce_add(&c, b, len), GW_COALESCE_ALONE);
	}
}

/* Segments coalesced and cut again come back byte for byte (IDs that
 * increment, PSH on the last). */
static void test_coalesce_tso_round_trip(void **st)
{
	(void)st;
	static uint8_t orig[8][2000];
	size_t olen[8];
	struct gw_coalescer c;
	struct gw_coalesced o;
	struct virtio_net_hdr vh;
	struct gw_tso t;
	size_t n;

	for (int v6 = 0; v6 < 2; v6++) {
		co_init(&c);
		for (unsigned i = 0; i < 8; i++) {
			olen[i] = tcp_pkt(orig[i], v6, 12, i * 1200, i == 7 ? 333 : 1200,
					  42 + i * 1200, i == 7 ? F_ACK | F_PSH : F_ACK,
					  (uint16_t)(900 + i), true);
			assert_int_equal(gw_coalesce_add(&c, orig[i], olen[i]),
					 i == 7 ? GW_COALESCE_FLUSH : GW_COALESCE_HELD);
		}
		assert_true(gw_coalesce_flush(&c, &o));
		memcpy(&vh, o.buf, sizeof(vh));
		memcpy(super, o.buf + GW_VNET_LEN, o.len - GW_VNET_LEN);
		assert_int_equal(gw_tso_begin(&t, &vh, super, o.len - GW_VNET_LEN, 4000),
				 GW_OFFLOAD_OK);
		for (unsigned i = 0; i < 8; i++) {
			n = gw_tso_next(&t, seg);
			assert_int_equal(n, olen[i]);
			assert_memory_equal(seg, orig[i], n);
		}
		assert_int_equal(gw_tso_next(&t, seg), 0);
	}
}

static void test_strerror(void **st)
{
	(void)st;
	for (int e = GW_OFFLOAD_OK; e <= GW_OFFLOAD_TOO_BIG; e++)
		assert_string_not_equal(gw_offload_strerror((enum gw_offload_err)e), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tso_exact_multiple),
		cmocka_unit_test(test_tso_one_byte_tail),
		cmocka_unit_test(test_tso_ipv6),
		cmocka_unit_test(test_tso_ecn_and_empty),
		cmocka_unit_test(test_tso_malformed),
		cmocka_unit_test(test_csum_finish),
		cmocka_unit_test(test_coalesce_tcp),
		cmocka_unit_test(test_coalesce_tcp_refusals),
		cmocka_unit_test(test_coalesce_limits),
		cmocka_unit_test(test_coalesce_udp),
		cmocka_unit_test(test_coalesce_tso_round_trip),
		cmocka_unit_test(test_strerror),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
