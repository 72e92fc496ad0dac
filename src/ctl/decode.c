#include "ctl/decode.h"

#include <stdio.h>

/* Replaced by the wire-layer decoders (issue 3). */
int decode_command(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "mipsecctl: decode: no decoders built in yet\n");
	return 2;
}
