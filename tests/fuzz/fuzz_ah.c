/* libFuzzer harness: AH verification (ah_decap) of arbitrary IP packets
 * with fixed inbound SAs, and an ah_encap -> ah_decap round trip of
 * arbitrary packets that must give the packet back; also the SPD's
 * selector extraction of the same bytes.
 *
 * Input: byte 0 selects tunnel mode (bit 0), ESN (bit 1), the round trip
 * (bit 2), an IPv4 tunnel (bit 3) and a receive window far up in the
 * sequence space (bit 4); the rest is the packet. The SAs use SPI 0x2345
 * and the key of tests/conformance/test_ah_scapy.py, so packets ah_tool
 * builds are valid seeds. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ipsec/ah.h"
#include "ipsec/spd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sa *sas[2][2][2][2];	/* [tunnel][esn][v4 tunnel][dir] */

static struct sa *get(unsigned tun, unsigned esn, unsigned v4, enum sa_dir d)
{
	uint8_t key[32];

	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(0x40 + i);
	if (!sas[tun][esn][v4][d]) {
		struct sa_params p = {
			.spi = 0x2345, .dir = d, .esn = esn, .proto = SA_PROTO_AH,
			.mode = tun ? SA_MODE_TUNNEL : SA_MODE_TRANSPORT,
			.auth_key = key, .auth_key_len = 32,
		};

		if (ip_addr_parse(v4 ? "203.0.113.1" : "2001:db8:ffff::1", AF_UNSPEC,
				  &p.src) != ADDR_OK ||
		    ip_addr_parse(v4 ? "203.0.113.2" : "2001:db8:ffff::2", AF_UNSPEC,
				  &p.dst) != ADDR_OK)
			abort();
		sas[tun][esn][v4][d] = sa_new(&p, NULL);
		if (!sas[tun][esn][v4][d])
			abort();
	}
	return sas[tun][esn][v4][d];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[70000];
	struct ah_decap_result r;
	struct spd_pkt t;
	unsigned tun, esn, v4;
	struct sa *in, *out;
	size_t n, end;

	if (size < 1 || size > 65536)
		return 0;
	tun = data[0] & 1;
	esn = (data[0] >> 1) & 1;
	v4 = (data[0] >> 3) & 1;
	in = get(tun, esn, v4, SA_DIR_IN);
	out = get(tun, esn, v4, SA_DIR_OUT);
	in->seq = !(data[0] & 0x10) ? 0 : esn ? 0x1fffffff0ull : 0xfffff000ull;
	memset(in->replay, 0, sizeof(in->replay));
	in->expiry = out->expiry = SA_LIVE;
	data++;
	size--;
	spd_pkt_parse(data, size, &t, NULL);
	memcpy(buf, data, size);
	if (!(data[-1] & 4)) {
		if (ah_decap(in, buf, size, &r) == AH_OK &&
		    (r.pkt < buf || r.pkt + r.len > buf + size))
			abort();
		return 0;
	}
	/* Round trip: what we protect, we take back unchanged. */
	out->seq = in->seq;
	if (ah_encap(out, buf, size, sizeof(buf), &n) != AH_OK)
		return 0;
	if (ah_decap(in, buf, n, &r) != AH_OK)
		abort();
	end = n - ah_overhead(out, size && data[0] >> 4 == 4 ? AF_INET : AF_INET6);
	if (r.len != end || r.pkt + r.len > buf + n)
		abort();
	if (tun) {
		if (memcmp(r.pkt, data, end))
			abort();
	} else if (data[0] >> 4 == 4) {
		/* The header checksum is recomputed, the rest is as given. */
		if (memcmp(r.pkt, data, 10) || memcmp(r.pkt + 12, data + 12, end - 12))
			abort();
	} else if (memcmp(r.pkt, data, end)) {
		abort();
	}
	return 0;
}
