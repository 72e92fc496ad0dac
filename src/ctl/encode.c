/* `mipsecctl encode`: one JSON object per line on stdin (the schema that
 * `mipsecctl decode` prints) -> one line of hex per object, built by our
 * own codecs. A bad object gives {"error": "..."} on its line and exit
 * status 1; the others are still encoded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/decode.h"
#include "ctl/wirejson_ip.h"

#define MAX_PACKET 65575	/* IPv6 payload limit plus its header */

static void put_hex(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
	putchar('\n');
}

static void put_error(const char *msg)
{
	json_t *o = json_pack("{s:s}", "error", msg);
	char *s = json_dumps(o, JSON_COMPACT);

	if (s)
		puts(s);
	free(s);
	json_decref(o);
}

int encode_command(int argc, char **argv)
{
	static uint8_t buf[MAX_PACKET];
	char *line = NULL;
	size_t cap = 0;
	int failed = 0;

	if (argc > 1) {
		fprintf(stderr, "usage: mipsecctl encode < objects.jsonl\n");
		return strcmp(argv[1], "--help") ? 2 : 0;
	}
	while (getline(&line, &cap, stdin) >= 0) {
		struct wire_error err = { 0 };
		json_error_t jerr;
		json_t *o;
		int n;

		if (strspn(line, " \t\r\n") == strlen(line))
			continue;
		o = json_loads(line, 0, &jerr);
		if (!o) {
			char msg[200];

			snprintf(msg, sizeof(msg), "json: %s at column %d", jerr.text, jerr.column);
			put_error(msg);
			failed = 1;
			continue;
		}
		n = ip_packet_from_json(o, buf, sizeof(buf), &err);
		json_decref(o);
		if (n < 0) {
			put_error(err.msg[0] ? err.msg : wire_strerror(err.code));
			failed = 1;
			continue;
		}
		put_hex(buf, (size_t)n);
	}
	free(line);
	return failed;
}
