/* Neighbor Discovery parsers (RS, RA, NS, NA with every option mipsec
 * knows). A message that parses must rebuild, and the rebuilt bytes must
 * parse again to the same fixed fields. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/nd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_error err;
	uint8_t out[2048];
	size_t n;

	if (size < 1)
		return 0;
	switch (data[0]) {
	case ND_TYPE_RS: {
		struct nd_rs a, b;
		if (nd_rs_parse(data, size, &a, &err) != WIRE_OK)
			return 0;
		if (nd_rs_build(&a, out, sizeof(out), &n, &err) != WIRE_OK ||
		    nd_rs_parse(out, n, &b, &err) != WIRE_OK)
			abort();
		break;
	}
	case ND_TYPE_RA: {
		struct nd_ra a, b;
		if (nd_ra_parse(data, size, &a, &err) != WIRE_OK)
			return 0;
		if (nd_ra_build(&a, out, sizeof(out), &n, &err) != WIRE_OK ||
		    nd_ra_parse(out, n, &b, &err) != WIRE_OK)
			abort();
		if (a.cur_hop_limit != b.cur_hop_limit || a.router_lifetime != b.router_lifetime ||
		    a.reachable_time != b.reachable_time || a.n_prefixes != b.n_prefixes ||
		    a.n_maps != b.n_maps)
			abort();
		break;
	}
	case ND_TYPE_NS: {
		struct nd_ns a, b;
		if (nd_ns_parse(data, size, &a, &err) != WIRE_OK)
			return 0;
		if (nd_ns_build(&a, out, sizeof(out), &n, &err) != WIRE_OK ||
		    nd_ns_parse(out, n, &b, &err) != WIRE_OK ||
		    memcmp(a.target, b.target, 16) != 0)
			abort();
		break;
	}
	case ND_TYPE_NA: {
		struct nd_na a, b;
		if (nd_na_parse(data, size, &a, &err) != WIRE_OK)
			return 0;
		if (nd_na_build(&a, out, sizeof(out), &n, &err) != WIRE_OK ||
		    nd_na_parse(out, n, &b, &err) != WIRE_OK ||
		    memcmp(a.target, b.target, 16) != 0)
			abort();
		break;
	}
	default:
		break;
	}
	return 0;
}
