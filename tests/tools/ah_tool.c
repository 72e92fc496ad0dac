/* ah_tool: drives src/ipsec/ah.c for tests/conformance/test_ah_scapy.py.
 *
 *   ah_tool encap|decap --mode transport|tunnel --spi HEX --key HEX
 *           [--esn] [--seq N] [--src A --dst A]
 *
 * reads one packet in hex per line on stdin (a whole IP packet) and
 * prints one line per packet:
 *   encap: "packet <hex>" (sequence numbers N, N+1, ...; default 1)
 *   decap: "ok <next header> <seq> <hex of the packet without AH>" or
 *          "error <code> <message>"; --seq N makes N-1 the highest number
 *          already seen (to start an ESN window high up).
 * --src/--dst are the tunnel endpoints. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hexio.h"
#include "ipsec/ah.h"

#define MAXPKT 65536

static void usage(void)
{
	fputs("usage: ah_tool encap|decap --mode transport|tunnel --spi HEX --key HEX "
	      "[--esn] [--seq N] [--src A --dst A] < packets-in-hex\n", stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mode", 1, 0, 'm' }, { "spi", 1, 0, 's' }, { "key", 1, 0, 'k' },
		{ "esn", 0, 0, 'e' }, { "seq", 1, 0, 'q' }, { "src", 1, 0, 'S' },
		{ "dst", 1, 0, 'D' }, { 0, 0, 0, 0 }
	};
	static uint8_t key[64], buf[MAXPKT + 128];
	static char line[2 * MAXPKT + 16];
	struct sa_params p = { .proto = SA_PROTO_AH, .mode = SA_MODE_TRANSPORT };
	uint64_t seq = 1;
	enum sa_new_err ne;
	struct sa *sa;
	bool encap;
	int o;

	if (argc < 2)
		usage();
	encap = !strcmp(argv[1], "encap");
	if (!encap && strcmp(argv[1], "decap"))
		usage();
	optind = 2;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'm':
			if (!strcmp(optarg, "tunnel"))
				p.mode = SA_MODE_TUNNEL;
			else if (strcmp(optarg, "transport"))
				usage();
			break;
		case 's': p.spi = (uint32_t)strtoul(optarg, NULL, 16); break;
		case 'k':
			if (unhex(optarg, strlen(optarg), key, sizeof(key), &p.auth_key_len))
				usage();
			p.auth_key = key;
			break;
		case 'e': p.esn = true; break;
		case 'q': seq = strtoull(optarg, NULL, 0); break;
		case 'S':
			if (ip_addr_parse(optarg, AF_UNSPEC, &p.src) != ADDR_OK)
				usage();
			break;
		case 'D':
			if (ip_addr_parse(optarg, AF_UNSPEC, &p.dst) != ADDR_OK)
				usage();
			break;
		default:
			usage();
		}
	}
	p.dir = encap ? SA_DIR_OUT : SA_DIR_IN;
	sa = sa_new(&p, &ne);
	if (!sa) {
		fprintf(stderr, "ah_tool: %s\n", sa_new_strerror(ne));
		return 1;
	}
	if (seq)
		sa->seq = seq - 1;
	while (fgets(line, sizeof(line), stdin)) {
		size_t n = strcspn(line, "\r\n"), len, out;
		struct ah_decap_result r;
		enum ah_err e;

		if (!n)
			continue;
		if (unhex(line, n, buf, MAXPKT, &len)) {
			fputs("ah_tool: bad hex\n", stderr);
			return 2;
		}
		if (encap) {
			e = ah_encap(sa, buf, len, sizeof(buf), &out);
			if (e)
				printf("error %d %s\n", e, ah_strerror(e));
			else {
				printf("packet ");
				puthex(buf, out);
				putchar('\n');
			}
		} else {
			e = ah_decap(sa, buf, len, &r);
			if (e) {
				printf("error %d %s\n", e, ah_strerror(e));
			} else {
				printf("ok %u %llu ", r.next_header, (unsigned long long)r.seq);
				puthex(r.pkt, r.len);
				putchar('\n');
			}
		}
		fflush(stdout);
	}
	sa_free(sa);
	return 0;
}
