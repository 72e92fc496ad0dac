/* Hex in and out for the test tools that talk to Python oracles over
 * stdin/stdout (one packet per line as hex). */
#ifndef MIPSEC_TESTS_TOOLS_HEXIO_H
#define MIPSEC_TESTS_TOOLS_HEXIO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* n hex digits of s into out (at most cap bytes); -1 on odd length,
 * overflow or a non-hex pair. */
static inline int unhex(const char *s, size_t n, uint8_t *out, size_t cap, size_t *len)
{
	if (n % 2 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	*len = n / 2;
	return 0;
}

static inline void puthex(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", b[i]);
}

#endif
