/* Test driver for the IP-layer codecs until mipsecctl links with every
 * layer: `ip_tool decode [...]` and `ip_tool encode` behave exactly like
 * `mipsecctl decode` / `mipsecctl encode`. */
#include <stdio.h>
#include <string.h>

#include "ctl/decode.h"

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "decode"))
		return decode_command(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "encode"))
		return encode_command(argc - 1, argv + 1);
	fprintf(stderr, "usage: ip_tool decode|encode [options]\n");
	return 2;
}
