/* libFuzzer harness: IPv6 chain walker, then the upper layer it finds
 * (ICMPv6 with its options, UDP with RFC 5555 encapsulation), with the
 * pseudo-header the walk chose. Checks the walk's view stays in bounds. */
#include <stdlib.h>

#include "wire/exthdr.h"
#include "wire/icmp6msg.h"
#include "wire/udp.h"
#include "wire/udpencap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void options(const uint8_t *p, size_t len)
{
	size_t off = 0, olen;
	uint8_t type;
	struct nd_pio pio;

	while (icmp6_opt_next(p, len, &off, &type, &olen, NULL) == WIRE_OK)
		if (type == ND_OPT_PREFIX_INFO)
			icmp6_pio_parse(p + off - olen, olen, &pio, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_error err;
	struct ipv6_chain c;
	struct icmp6_msg m;
	struct udp_hdr u;
	struct udpencap e;

	if (ipv6_walk(data, size, &c, &err) != WIRE_OK) {
		if (!err.msg[0])
			abort();	/* every failure must explain itself */
		return 0;
	}
	if (c.off + c.len > size || c.off < IPV6_HDR_LEN || c.n > IPV6_CHAIN_MAX)
		abort();
	if (c.fragment)
		return 0;
	(void)ipv6_upper_csum(data, &c);
	if (c.proto == PROTO_ICMPV6 &&
	    icmp6_parse(data + c.off, c.len, c.src, c.dst, &m, NULL) == WIRE_OK &&
	    m.type == ICMPV6_MPA)
		options(m.body, m.body_len);
	if (c.proto == PROTO_ICMPV6)
		icmp6_parse(data + c.off, c.len, NULL, NULL, &m, NULL);
	if (c.proto == PROTO_UDP &&
	    udp_parse(data + c.off, c.len, 6, c.src, c.dst, &u, NULL) == WIRE_OK &&
	    udpencap_parse(u.payload, u.payload_len, &e, NULL) == WIRE_OK &&
	    e.payload + e.payload_len > data + size)
		abort();
	return 0;
}
