/* esp_tool: drives src/ipsec for the conformance tests.
 *
 *   esp_tool encap --xform X --spi HEX --key HEX [--auth-key HEX] [--esn]
 *                  [--seq N] [--count N] [--nh N] [--src A --dst A]
 *                  --payload HEX
 *       prints "record <esp_sa UAT record>" then one "packet <hex>" line
 *       per packet (sequence numbers N, N+1, ...; default N = 1).
 *       --esp-sa-file PATH also writes Wireshark's esp_sa file through
 *       the SAD (PATH "-" = the default $HOME/.config/wireshark/esp_sa).
 *   esp_tool decap (same SA options) [--seq N] --packet HEX [--packet HEX..]
 *       prints per packet "ok <nh> <seq> <payload hex>" or
 *       "error <code> <message>". --seq N makes N-1 the highest sequence
 *       number already seen (to start an ESN window high up).
 *
 * X: aes128gcm16 aes256gcm16 chacha20poly1305 aes128-sha256 aes256-sha256 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hexio.h"
#include "ipsec/esp.h"
#include "ipsec/sad.h"

#define MAXPKT 65536
#define MAXPACKETS 64

static int parse_xform(const char *s, enum esp_xform *x)
{
	if (!strcmp(s, "aes128gcm16") || !strcmp(s, "aes256gcm16"))
		*x = ESP_XFORM_AES_GCM_16;
	else if (!strcmp(s, "chacha20poly1305"))
		*x = ESP_XFORM_CHACHA20_POLY1305;
	else if (!strcmp(s, "aes128-sha256") || !strcmp(s, "aes256-sha256"))
		*x = ESP_XFORM_AES_CBC_HMAC_SHA256;
	else
		return -1;
	return 0;
}

static const char *err_name(enum esp_err e)
{
	static const char *n[] = { "ok", "truncated", "bad_len", "unknown_spi",
				   "wrong_spi", "replay", "auth", "pad", "space",
				   "seq_overflow", "expired", "dir", "crypto" };

	return (size_t)e < sizeof(n) / sizeof(n[0]) ? n[e] : "?";
}

/* The export goes through a SAD holding an inbound twin of the SA. */
static int write_esp_sa(const struct sa_params *p, const char *path)
{
	struct sad *sad = sad_new();
	struct sa_params q = *p;
	struct sa *twin;

	q.dir = SA_DIR_IN;
	twin = sa_new(&q, NULL);
	if (!sad || !twin || sad_add(sad, twin) < 0 ||
	    sad_write_esp_sa_file(sad, strcmp(path, "-") ? path : NULL) < 0) {
		perror("esp_tool: esp_sa file");
		return -1;
	}
	sad_free(sad);
	return 0;
}

static void usage(void)
{
	fputs("usage: esp_tool encap|decap --xform X --spi HEX --key HEX "
	      "[--auth-key HEX] [--esn] [--seq N] [--count N] [--nh N] "
	      "[--src A --dst A] (--payload HEX | --packet HEX...)\n", stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "xform", 1, 0, 'x' }, { "spi", 1, 0, 's' }, { "key", 1, 0, 'k' },
		{ "auth-key", 1, 0, 'a' }, { "esn", 0, 0, 'e' }, { "seq", 1, 0, 'q' },
		{ "count", 1, 0, 'c' }, { "nh", 1, 0, 'n' }, { "src", 1, 0, 'S' },
		{ "dst", 1, 0, 'D' }, { "payload", 1, 0, 'p' }, { "packet", 1, 0, 'P' },
		{ "esp-sa-file", 1, 0, 'F' },
		{ 0, 0, 0, 0 }
	};
	static uint8_t ekey[64], akey[64], buf[MAXPKT];
	const char *packets[MAXPACKETS];
	size_t npackets = 0, payload_len = 0, count = 1;
	struct sa_params p = { .spi = 0 };
	uint64_t seq = 1;
	unsigned nh = 41;
	const char *payload = NULL, *esp_sa_file = NULL;
	enum sa_new_err ne;
	bool encap;
	struct sa *sa;
	int o;

	if (argc < 2)
		usage();
	encap = !strcmp(argv[1], "encap");
	if (!encap && strcmp(argv[1], "decap"))
		usage();
	optind = 2;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'x': if (parse_xform(optarg, &p.xform)) usage(); break;
		case 's': p.spi = (uint32_t)strtoul(optarg, NULL, 16); break;
		case 'k': if (unhex(optarg, strlen(optarg), ekey, sizeof(ekey), &p.enc_key_len)) usage(); break;
		case 'a': if (unhex(optarg, strlen(optarg), akey, sizeof(akey), &p.auth_key_len)) usage(); break;
		case 'e': p.esn = true; break;
		case 'q': seq = strtoull(optarg, NULL, 0); break;
		case 'c': count = strtoul(optarg, NULL, 0); break;
		case 'n': nh = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'S': if (ip_addr_parse(optarg, AF_UNSPEC, &p.src)) usage(); break;
		case 'D': if (ip_addr_parse(optarg, AF_UNSPEC, &p.dst)) usage(); break;
		case 'p': payload = optarg; break;
		case 'F': esp_sa_file = optarg; break;
		case 'P': if (npackets < MAXPACKETS) packets[npackets++] = optarg; break;
		default: usage();
		}
	}
	p.enc_key = ekey;
	p.auth_key = akey;
	p.dir = encap ? SA_DIR_OUT : SA_DIR_IN;
	p.mode = SA_MODE_TUNNEL;
	sa = sa_new(&p, &ne);
	if (!sa) {
		fprintf(stderr, "esp_tool: %s\n", sa_new_strerror(ne));
		return 1;
	}
	if (seq)
		sa->seq = seq - 1;
	if (encap) {
		char rec[512];
		size_t hdr = esp_header_len(sa), out_len;

		if (!payload || unhex(payload, strlen(payload), buf + hdr, MAXPKT / 2, &payload_len))
			usage();
		sad_esp_sa_record(sa, rec, sizeof(rec));
		printf("record %s\n", rec);
		if (esp_sa_file && write_esp_sa(&p, esp_sa_file))
			return 1;
		for (size_t i = 0; i < count; i++) {
			static uint8_t out[MAXPKT];
			enum esp_err e = esp_encap(sa, buf + hdr, payload_len, (uint8_t)nh,
						   out, sizeof(out), &out_len);

			if (e != ESP_OK) {
				printf("error %s %s\n", err_name(e), esp_strerror(e));
				continue;
			}
			printf("packet ");
			puthex(out, out_len);
			printf("\n");
		}
	} else {
		for (size_t i = 0; i < npackets; i++) {
			struct esp_decap_result r;
			size_t len;
			enum esp_err e;

			if (unhex(packets[i], strlen(packets[i]), buf, sizeof(buf), &len))
				usage();
			e = esp_decap(sa, buf, len, &r);
			if (e != ESP_OK) {
				printf("error %s %s\n", err_name(e), esp_strerror(e));
				continue;
			}
			printf("ok %u %llu ", r.next_header, (unsigned long long)r.seq);
			puthex(r.payload, r.len);
			printf("\n");
		}
	}
	sa_free(sa);
	return 0;
}
