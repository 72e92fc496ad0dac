/* libFuzzer harness: RFC 5555 UDP payloads (plain and TLV forms) and the
 * IPv6 packet inside. */
#include <stdlib.h>

#include "wire/exthdr.h"
#include "wire/ipv4.h"
#include "wire/udpencap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_error err;
	struct udpencap e;
	struct ipv6_chain c;
	struct ipv4_hdr h;

	if (udpencap_parse(data, size, &e, &err) != WIRE_OK) {
		if (!err.msg[0])
			abort();
		return 0;
	}
	if (e.payload < data || e.payload + e.payload_len != data + size)
		abort();
	if (e.inner == PROTO_IPV6)
		ipv6_walk(e.payload, e.payload_len, &c, NULL);
	else if (e.inner == PROTO_IPV4)
		ipv4_parse(e.payload, e.payload_len, &h, NULL);
	return 0;
}
