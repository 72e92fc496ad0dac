/* mh_tool: Mobility Header codec from the command line, for the
 * conformance tests.
 *   mh_tool encode [SRC DST] < spec.json   -> hex of the header
 *   mh_tool decode [SRC DST] < hex         -> JSON view
 * With SRC and DST (IPv6 text) the checksum is computed / verified over
 * that pseudo-header. Errors: "mh_tool: <kind>: <message>", exit 1. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/wirejson.h"
#include "wire/mh.h"

static int fail(const struct wire_error *err)
{
	fprintf(stderr, "mh_tool: %s: %s\n", wire_strerror(err->code), err->msg);
	return 1;
}

static size_t read_all(char *buf, size_t size)
{
	size_t n = fread(buf, 1, size - 1, stdin);

	buf[n] = 0;
	return n;
}

static int decode(const uint8_t *src, const uint8_t *dst)
{
	static char text[2 * 4096 + 16];
	uint8_t mh[4096];
	struct wire_error err = { 0 };
	size_t n = 0, len = read_all(text, sizeof(text));
	json_t *j;
	char *out;

	for (size_t i = 0; i < len; i++) {
		unsigned v;

		if (isspace((unsigned char)text[i]))
			continue;
		if (i + 1 >= len || sscanf(text + i, "%2x", &v) != 1 || !isxdigit((unsigned char)text[i + 1]) ||
		    n == sizeof(mh)) {
			fprintf(stderr, "mh_tool: input is not hex\n");
			return 2;
		}
		mh[n++] = (uint8_t)v;
		i++;
	}
	j = mh_to_json(mh, n, src, dst, &err);
	if (!j)
		return fail(&err);
	out = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
	puts(out);
	free(out);
	json_decref(j);
	return 0;
}

static int encode(const uint8_t *src, const uint8_t *dst)
{
	uint8_t mh[MH_MAX_LEN];
	struct wire_error err = { 0 };
	json_error_t jerr;
	json_t *spec = json_loadf(stdin, 0, &jerr);
	int n;

	if (!spec) {
		fprintf(stderr, "mh_tool: bad JSON: %s\n", jerr.text);
		return 2;
	}
	n = mh_from_json(spec, mh, sizeof(mh), src, dst, &err);
	json_decref(spec);
	if (n < 0)
		return fail(&err);
	for (int i = 0; i < n; i++)
		printf("%02x", mh[i]);
	putchar('\n');
	return 0;
}

int main(int argc, char **argv)
{
	uint8_t src[16], dst[16];
	bool addrs = argc == 4;

	if ((argc != 2 && argc != 4) ||
	    (addrs && (inet_pton(AF_INET6, argv[2], src) != 1 || inet_pton(AF_INET6, argv[3], dst) != 1))) {
		fprintf(stderr, "usage: mh_tool encode|decode [SRC DST]\n");
		return 2;
	}
	if (!strcmp(argv[1], "encode"))
		return encode(addrs ? src : NULL, addrs ? dst : NULL);
	if (!strcmp(argv[1], "decode"))
		return decode(addrs ? src : NULL, addrs ? dst : NULL);
	fprintf(stderr, "usage: mh_tool encode|decode [SRC DST]\n");
	return 2;
}
