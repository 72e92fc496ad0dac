/* libFuzzer harness: the `mipsecctl decode` view of whole packets (IPv6 or
 * IPv4 down to ICMPv6, UDP, RFC 5555 encapsulation, ESP and the Mobility
 * Header) and the round trip through `encode`: whatever decodes must
 * re-encode to exactly the bytes the view covers, and those bytes must
 * decode to the same view. */
#include <stdlib.h>

#include "ctl/wirejson_ip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[70000];
	struct wire_error err = { 0 };
	json_t *view = ip_packet_to_json(LAYER_AUTO, data, size, &err), *again;
	int n;

	if (!view) {
		if (!err.msg[0])
			abort();	/* every failure must explain itself */
		return 0;
	}
	n = ip_packet_from_json(view, out, sizeof(out), &err);
	/* trailing link padding is not part of the view */
	if (n < 0 || (size_t)n > size || memcmp(out, data, (size_t)n))
		abort();
	again = ip_packet_to_json(LAYER_AUTO, out, (size_t)n, &err);
	if (!again || !json_equal(view, again))
		abort();
	json_decref(again);
	json_decref(view);
	return 0;
}
