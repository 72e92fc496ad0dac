/* Two IKE engines (tests/unit/ike_pair.h) run a whole life in one
 * process: IKE_SA_INIT, IKE_AUTH (PSK), a CHILD SA rekey, an IKE SA rekey,
 * a CHILD SA DELETE and the IKE SA DELETE. Every datagram goes to a pcap,
 * and the keys of every IKE SA that existed to an ikev2_decryption_table
 * file (and the CHILD SAs to an esp_sa file), for
 * tests/conformance/test_ike_engine_tshark.py.
 *
 *   ike_pair_tool PCAP IKEV2_TABLE ESP_SA [v6] [SUITE] [SEEDS_DIR]
 *
 * SUITE is an IKE proposal string (default aes128gcm16-prfsha256-ecp256).
 * With SEEDS_DIR, fuzz seeds for fuzz_ike_engine are written there.
 * Prints "frames N", "ike_sas N" and "children N". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/ike_pair.h"
#include "wire/ikev2.h"

static char cfg[2][2048];
static char seen[64][640];
static size_t n_seen;

static void collect(struct pair *p, const char *tmp)
{
	char line[640];
	FILE *f;

	ike_engine_export_keys(p->s[0].e, tmp, NULL);
	f = fopen(tmp, "r");
	while (f && fgets(line, sizeof(line), f)) {
		bool dup = false;

		line[strcspn(line, "\n")] = 0;
		for (size_t i = 0; i < n_seen; i++)
			dup |= !strcmp(seen[i], line);
		if (!dup && n_seen < 64)
			snprintf(seen[n_seen++], sizeof(seen[0]), "%s", line);
	}
	if (f)
		fclose(f);
	unlink(tmp);
}

static bool up(struct pair *p) { return p->s[0].child_up >= 1 && p->s[1].child_up >= 1; }
static bool rekeyed(struct pair *p) { return p->s[0].child_up >= 2 && p->s[1].child_up >= 2; }
static bool ike_rekeyed(struct pair *p)
{
	return ike_engine_counter(p->s[0].e, "ike_rekeyed") >= 1 &&
	       ike_engine_counter(p->s[1].e, "ike_rekeyed") >= 1 && p->s[1].ike_down >= 1;
}
static bool child_gone(struct pair *p)
{
	return ike_engine_n_child(p->s[0].e) == 0 && ike_engine_n_child(p->s[1].e) == 0;
}
static bool down(struct pair *p) { return p->s[0].ike_down >= 2 && p->s[1].ike_down >= 2; }

static void seeds(const char *dir)
{
	/* Mode 1: an IKE_AUTH inner chain (IDi, AUTH, N); mode 2: a DELETE. */
	static const uint8_t auth[] = { 1, IKEV2_PL_IDI,
		IKEV2_PL_AUTH, 0, 0, 17, 2, 0, 0, 0, 'a', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e',
		IKEV2_PL_NOTIFY, 0, 0, 40, 2, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
		14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
		0, 0, 0, 8, 0, 0, 0x40, 0x07 };
	static const uint8_t del[] = { 2, 1 | (IKEV2_PL_DELETE << 1), 0, 0, 0, 12, 3, 4, 0, 1,
				       1, 2, 3, 4 };
	static const uint8_t cc[] = { 2, IKEV2_PL_SA << 1, IKEV2_PL_NONCE, 0, 0, 8, 0, 0, 0, 4,
				      0, 0, 0, 20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
				      15, 16 };
	const struct { const char *n; const uint8_t *d; size_t l; } s[] = {
		{ "auth", auth, sizeof(auth) }, { "delete", del, sizeof(del) },
		{ "create_child", cc, sizeof(cc) },
	};
	char path[512];

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", dir, s[i].n);
		f = fopen(path, "wb");
		if (f) {
			fwrite(s[i].d, s[i].l, 1, f);
			fclose(f);
		}
	}
}

static bool capture_seed_filter(struct pair *p, int from, uint8_t *buf, size_t *len,
				size_t cap, unsigned seq)
{
	const char *dir = p->filter_arg;
	char path[512];
	FILE *f;

	(void)cap;
	if (dir && from == 0 && seq == 0) {
		snprintf(path, sizeof(path), "%s/init", dir);
		f = fopen(path, "wb");
		if (f) {
			fputc(0, f);
			fwrite(buf, *len, 1, f);
			fclose(f);
		}
	}
	return true;
}

int main(int argc, char **argv)
{
	bool v6 = argc > 4 && !strcmp(argv[4], "v6");
	const char *suite = argc > 5 ? argv[5] : "aes128gcm16-prfsha256-ecp256";
	const char *la = v6 ? "2001:db8::1" : "192.0.2.1", *lb = v6 ? "2001:db8::2" : "192.0.2.2";
	char tmp[300], err[256];
	struct pair p;
	FILE *f;

	if (argc < 4) {
		fprintf(stderr, "usage: %s PCAP IKEV2_TABLE ESP_SA [v4|v6] [SUITE] [SEEDS_DIR]\n",
			argv[0]);
		return 2;
	}
	log_init("ike_pair_tool", LOG_LVL_WARN, false);
	for (int i = 0; i < 2; i++)
		snprintf(cfg[i], sizeof(cfg[i]),
			 "ike = { local_id = \"fqdn:%s.example\"; retransmit_timeout = 500;\n"
			 "  peers = ( { name = \"%s\"; remote = \"%s\"; local = \"%s\";\n"
			 "    remote_id = \"fqdn:%s.example\"; auth = \"psk\"; psk = \"tshark reads this\";\n"
			 "    ike_proposals = [\"%s\"]; esp_proposals = [\"aes128gcm16\", \"aes256-sha256\"];\n"
			 "    local_ts = [\"%s\"]; remote_ts = [\"%s\"]; dpd = 0; } ); };\n",
			 i ? "b" : "a", i ? "a" : "b", i ? "any" : lb, i ? lb : la, i ? "a" : "b",
			 suite, i ? (v6 ? "2001:db8:b::/48" : "10.2.0.0/16") :
				    (v6 ? "2001:db8:a::/48[tcp]" : "10.1.0.0/16[tcp]"),
			 i ? (v6 ? "2001:db8:a::/48" : "10.1.0.0/16") :
			     (v6 ? "2001:db8:b::/48" : "10.2.0.0/16"));
	if (pair_init(&p, cfg[0], cfg[1], la, lb, err, sizeof(err))) {
		fprintf(stderr, "ike_pair_tool: %s\n", err);
		return 1;
	}
	if (pair_pcap_open(&p, argv[1])) {
		perror(argv[1]);
		return 1;
	}
	if (argc > 6) {
		seeds(argv[6]);
		p.filter = capture_seed_filter;
		p.filter_arg = argv[6];
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", argv[2]);
	ike_engine_initiate(p.s[0].e, "b");
	if (!pair_run(&p, up, 10000))
		return fprintf(stderr, "not established\n"), 1;
	collect(&p, tmp);
	ike_engine_export_keys(p.s[0].e, NULL, argv[3]);
	ike_engine_rekey_child(p.s[0].e, p.s[0].last_child.id);
	if (!pair_run(&p, rekeyed, 10000))
		return fprintf(stderr, "child not rekeyed\n"), 1;
	ike_engine_rekey_ike(p.s[1].e, ike_engine_ike_of(p.s[1].e, "a"));
	if (!pair_run(&p, ike_rekeyed, 10000))
		return fprintf(stderr, "IKE SA not rekeyed\n"), 1;
	collect(&p, tmp);
	/* Wait for the old child's overlap to end, then delete the new one. */
	ike_engine_delete_child(p.s[0].e, p.s[0].last_child.id);
	if (!pair_run(&p, child_gone, 10000))
		return fprintf(stderr, "child not deleted\n"), 1;
	ike_engine_delete_ike(p.s[0].e, ike_engine_ike_of(p.s[0].e, "b"));
	if (!pair_run(&p, down, 10000))
		return fprintf(stderr, "IKE SA not deleted\n"), 1;
	f = fopen(argv[2], "w");
	if (!f)
		return 1;
	for (size_t i = 0; i < n_seen; i++)
		fprintf(f, "%s\n", seen[i]);
	fclose(f);
	printf("frames %u\nike_sas %zu\nchildren %u\n", p.sent[0] + p.sent[1], n_seen,
	       p.s[0].child_up);
	pair_free(&p);
	return 0;
}
