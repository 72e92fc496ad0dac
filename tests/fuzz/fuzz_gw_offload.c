/* libFuzzer harness: the TUN offload code of the ipsec gateway
 * (src/ipsec/gw_offload.h) on arbitrary bytes.
 *
 * Input: byte 0 selects the mode (bits 0-1: 0 segmentation, 1 partial
 * checksum, 2 coalescing, 3 all three) and, for the coalescer, refuses
 * TCP (bit 2) or UDP (bit 3); byte 1 the segment room (room = 64 + 256 *
 * byte); bytes 2-11 a virtio_net_hdr; the rest is the packet. For the
 * coalescer the rest is a series of records: a 16-bit big-endian length
 * and that many packet bytes, or a length with the top bit set: the
 * previous packet again with its TCP sequence number advanced by its
 * payload (so that flows get joined).
 *
 * Every packet sits in a heap buffer of its exact length (and each
 * segment in one of exactly `room` bytes) so that ASan sees any read or
 * write past the end. Checked: segments never exceed the room and carry
 * the whole payload; every TCP super-packet the coalescer makes is one
 * the segmenter accepts and cuts into as many segments as were joined. */
#include <stdlib.h>
#include <string.h>

#include "ipsec/gw_offload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *dup(const uint8_t *p, size_t n)
{
	uint8_t *h = malloc(n ? n : 1);

	if (!h)
		abort();
	memcpy(h, p, n);
	return h;
}

static void segment(const struct virtio_net_hdr *vh, const uint8_t *p, size_t len, size_t room)
{
	uint8_t *pkt = dup(p, len), *out = malloc(room);
	struct gw_tso t;
	size_t n, total = 0, segs = 0;

	if (!out)
		abort();
	if (gw_tso_begin(&t, vh, pkt, len, room) == GW_OFFLOAD_OK) {
		while ((n = gw_tso_next(&t, out))) {
			if (n > room || n < t.hl)
				abort();
			total += n - t.hl;
			segs++;
		}
		if (total != len - t.hl || !segs)
			abort();
	}
	free(out);
	free(pkt);
}

static void csum(const struct virtio_net_hdr *vh, const uint8_t *p, size_t len)
{
	uint8_t *pkt = dup(p, len);

	(void)gw_csum_finish(pkt, len, vh);
	free(pkt);
}

/* A flushed TCP super-packet must be one gw_tso cuts back into `segs`. */
static void check_flush(struct gw_coalescer *c)
{
	struct gw_coalesced o;
	struct virtio_net_hdr vh;
	struct gw_tso t;

	if (!gw_coalesce_flush(c, &o))
		return;
	if (o.len > GW_COALESCE_BUF || o.len <= GW_VNET_LEN || !o.segs ||
	    o.segs > GW_COALESCE_MAX_SEGS)
		abort();
	memcpy(&vh, o.buf, sizeof(vh));
	if (o.segs == 1 || o.udp)
		return;
	uint8_t *pkt = dup(o.buf + GW_VNET_LEN, o.len - GW_VNET_LEN);
	static uint8_t out[65536];
	unsigned n = 0;

	if (gw_tso_begin(&t, &vh, pkt, o.len - GW_VNET_LEN, sizeof(out)) != GW_OFFLOAD_OK)
		abort();
	while (gw_tso_next(&t, out))
		n++;
	if (n != o.segs)
		abort();
	free(pkt);
}

static void coalesce(const uint8_t *d, size_t size, bool tcp, bool udp)
{
	static uint8_t buf[GW_COALESCE_BUF];
	struct gw_coalescer c = { .buf = buf, .tcp_ok = tcp, .udp_ok = udp };
	uint8_t *prev = NULL;
	size_t plen = 0;

	while (size >= 2) {
		size_t n = (size_t)(d[0] & 0x7f) << 8 | d[1];
		uint8_t *p;

		if (d[0] & 0x80) {
			if (!prev)
				break;
			/* the previous packet, continued */
			p = dup(prev, plen);
			n = plen;
			size_t ip = p[0] >> 4 == 6 ? 40 : (size_t)(p[0] & 15) * 4;
			if (n >= ip + 20) {
				size_t hl = ip + (size_t)(p[ip + 12] >> 4) * 4;
				uint32_t s = gw_get32(p + ip + 4) + (uint32_t)(n > hl ? n - hl : 0);
				gw_put32(p + ip + 4, s);
			}
			d += 2;
			size -= 2;
		} else {
			if (n > size - 2)
				n = size - 2;
			p = dup(d + 2, n);
			d += 2 + n;
			size -= 2 + n;
		}
		switch (gw_coalesce_add(&c, p, n)) {
		case GW_COALESCE_HELD:
			break;
		case GW_COALESCE_FLUSH:
			check_flush(&c);
			break;
		case GW_COALESCE_OTHER:
			check_flush(&c);
			if (gw_coalesce_add(&c, p, n) == GW_COALESCE_FLUSH)
				check_flush(&c);
			break;
		case GW_COALESCE_ALONE:
			check_flush(&c);
			break;
		}
		free(prev);
		prev = p;
		plen = n;
	}
	check_flush(&c);
	free(prev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virtio_net_hdr vh;
	size_t room;
	unsigned mode;
	uint8_t sel;

	if (size < 2 + GW_VNET_LEN || size > 2 + GW_VNET_LEN + 70000)
		return 0;
	sel = data[0];
	mode = sel & 3;
	room = 64 + 256 * (size_t)data[1];
	memcpy(&vh, data + 2, sizeof(vh));
	data += 2 + GW_VNET_LEN;
	size -= 2 + GW_VNET_LEN;
	if (mode == 0 || mode == 3)
		segment(&vh, data, size, room);
	if (mode == 1 || mode == 3)
		csum(&vh, data, size);
	if (mode == 2 || mode == 3)
		coalesce(data, size, !(sel & 4), !(sel & 8));
	return 0;
}
