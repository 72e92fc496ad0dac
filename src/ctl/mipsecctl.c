/* mipsecctl: talks to a running mipsecd over its control socket.
 * (Skeleton; the control issue work fills this in.) */
#include <stdio.h>

#include "ctl/decode.h"

int main(int argc, char **argv)
{
	if (argc > 1 && argv[1][0] == 'd')
		return decode_command(argc - 1, argv + 1);
	fprintf(stderr, "usage: mipsecctl COMMAND\n");
	return 2;
}
