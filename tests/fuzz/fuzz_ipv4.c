/* libFuzzer harness: IPv4 header (checksum, options, fragments) and UDP
 * over it; a header that parses must rebuild to the same bytes. */
#include <stdlib.h>

#include "wire/ipv4.h"
#include "wire/udp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_error err;
	struct ipv4_hdr h;
	struct udp_hdr u;
	uint8_t out[60];
	size_t hlen;

	if (ipv4_parse(data, size, &h, &err) != WIRE_OK) {
		if (!err.msg[0])
			abort();
		return 0;
	}
	hlen = (size_t)h.ihl * 4;
	if (hlen > h.total_length || h.total_length > size)
		abort();
	if (ipv4_build(out, sizeof(out), &h, false, NULL) != (int)hlen ||
	    memcmp(out, data, hlen))
		abort();
	if (h.protocol == 17 && !ipv4_is_fragment(&h))
		udp_parse(data + hlen, h.total_length - hlen, 4, h.src, h.dst, &u, NULL);
	return 0;
}
