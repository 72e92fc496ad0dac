/* offload_tool: drives src/ipsec/gw_offload for the conformance tests.
 *
 *   offload_tool segment [--room N]
 *       each stdin line: hex of a virtio_net_hdr (10 bytes, host order)
 *       followed by a TCP super-packet; prints "ok <n>" then n lines
 *       "seg <hex>", or "error <name> <message>". --room: the largest
 *       segment (default 65535).
 *   offload_tool csum
 *       each stdin line: hex of a virtio_net_hdr + packet; prints
 *       "ok <hex of the packet with its checksum filled>" or "error ...".
 *   offload_tool coalesce [--no-tcp] [--no-udp]
 *       each stdin line: hex of a decrypted packet as the RX thread hands
 *       it over; an empty line ends a receive batch. Prints what the
 *       gateway writes into its TUN device, in order: "write <segments>
 *       <hex of vnet header + packet>" (the same decisions as
 *       gw_dp.c's rx_deliver). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hexio.h"
#include "ipsec/gw_offload.h"

#define MAXLINE (2 * (GW_VNET_LEN + 70000) + 16)

static const char *err_name(enum gw_offload_err e)
{
	static const char *n[] = { "ok", "truncated", "bad_hdr", "bad_gso", "not_tcp",
				   "bad_csum", "too_big" };

	return (size_t)e < sizeof(n) / sizeof(n[0]) ? n[e] : "?";
}

static char line[MAXLINE];
static uint8_t in[GW_VNET_LEN + 70000], out[70000];
static uint8_t cbuf[GW_COALESCE_BUF];

/* Next stdin line as bytes; -1 at the end, -2 on bad hex. */
static int next(size_t *len)
{
	size_t n;

	if (!fgets(line, sizeof(line), stdin))
		return -1;
	n = strcspn(line, "\r\n");
	return unhex(line, n, in, sizeof(in), len) ? -2 : 0;
}

static int do_segment(size_t room)
{
	struct virtio_net_hdr vh;
	struct gw_tso t;
	size_t len, n, count;
	int rc;

	while ((rc = next(&len)) != -1) {
		if (rc || len < GW_VNET_LEN) {
			printf("error input bad hex or no vnet header\n");
			continue;
		}
		memcpy(&vh, in, GW_VNET_LEN);
		enum gw_offload_err e = gw_tso_begin(&t, &vh, in + GW_VNET_LEN, len - GW_VNET_LEN,
						     room);
		if (e != GW_OFFLOAD_OK) {
			printf("error %s %s\n", err_name(e), gw_offload_strerror(e));
			continue;
		}
		/* Counted first: the segments are printed after. */
		struct gw_tso c = t;
		for (count = 0; gw_tso_next(&c, out); count++)
			;
		printf("ok %zu\n", count);
		while ((n = gw_tso_next(&t, out))) {
			printf("seg ");
			puthex(out, n);
			printf("\n");
		}
	}
	return 0;
}

static int do_csum(void)
{
	struct virtio_net_hdr vh;
	size_t len;
	int rc;

	while ((rc = next(&len)) != -1) {
		if (rc || len < GW_VNET_LEN) {
			printf("error input bad hex or no vnet header\n");
			continue;
		}
		memcpy(&vh, in, GW_VNET_LEN);
		enum gw_offload_err e = gw_csum_finish(in + GW_VNET_LEN, len - GW_VNET_LEN, &vh);
		if (e != GW_OFFLOAD_OK) {
			printf("error %s %s\n", err_name(e), gw_offload_strerror(e));
			continue;
		}
		printf("ok ");
		puthex(in + GW_VNET_LEN, len - GW_VNET_LEN);
		printf("\n");
	}
	return 0;
}

static void co_write(unsigned segs, const uint8_t *b, size_t n)
{
	printf("write %u ", segs);
	puthex(b, n);
	printf("\n");
}

static void co_flush(struct gw_coalescer *c)
{
	struct gw_coalesced o;

	if (gw_coalesce_flush(c, &o))
		co_write(o.segs, o.buf, o.len);
}

static int do_coalesce(bool tcp, bool udp)
{
	struct gw_coalescer c = { .buf = cbuf, .tcp_ok = tcp, .udp_ok = udp };
	size_t len;
	int rc;

	while ((rc = next(&len)) != -1) {
		if (rc || len > sizeof(in) - GW_VNET_LEN) {
			printf("error input bad hex or too long\n");
			continue;
		}
		if (!len) {
			co_flush(&c);		/* end of a receive batch */
			continue;
		}
		switch (gw_coalesce_add(&c, in, len)) {
		case GW_COALESCE_HELD:
			break;
		case GW_COALESCE_FLUSH:
			co_flush(&c);
			break;
		case GW_COALESCE_OTHER:
			co_flush(&c);
			if (gw_coalesce_add(&c, in, len) == GW_COALESCE_FLUSH)
				co_flush(&c);
			break;
		case GW_COALESCE_ALONE:
			co_flush(&c);
			/* as gw_dp's tun_write: a zero vnet header in front */
			memmove(in + GW_VNET_LEN, in, len);
			memset(in, 0, GW_VNET_LEN);
			co_write(1, in, len + GW_VNET_LEN);
			break;
		}
	}
	co_flush(&c);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "room", required_argument, NULL, 'r' },
		{ "no-tcp", no_argument, NULL, 't' },
		{ "no-udp", no_argument, NULL, 'u' },
		{ 0 },
	};
	size_t room = 65535;
	bool tcp = true, udp = true;
	const char *op;
	int o;

	if (argc < 2) {
		fprintf(stderr, "usage: offload_tool segment|csum|coalesce [options]\n");
		return 2;
	}
	op = argv[1];
	optind = 2;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'r':
			room = strtoul(optarg, NULL, 0);
			break;
		case 't':
			tcp = false;
			break;
		case 'u':
			udp = false;
			break;
		default:
			return 2;
		}
	}
	if (!strcmp(op, "segment"))
		return do_segment(room);
	if (!strcmp(op, "csum"))
		return do_csum();
	if (!strcmp(op, "coalesce"))
		return do_coalesce(tcp, udp);
	fprintf(stderr, "offload_tool: unknown operation %s\n", op);
	return 2;
}
