/* ike_crypto_tool: drives src/ikev2 crypto for the conformance tests.
 * Numbers are decimal IANA transform IDs; byte strings are hex.
 *
 *   prf      --prf P --key K --data D                  -> "out HEX"
 *   prfplus  --prf P --key K --seed S --len N          -> "out HEX"
 *   derive   SUITE --ni --nr --gir --spii --spir        -> "sk_d HEX" ... "sk_pr HEX",
 *            "record <ikev2_decryption_table record>"
 *   rekey    SUITE --old-prf P --sk-d K --gir --ni --nr --spii --spir (same output)
 *   child    --prf P --sk-d K [--gir G] --ni --nr --len N -> "out HEX"
 *   seal     SUITE --ke K [--ka K] --spii --spir --first T --plain HEX
 *            [--exchange E] [--msgid N] [--flags F] [--frag N/M]
 *            -> "msg HEX": an IKE message whose only payload is SK (or SKF)
 *            holding the plaintext chain `plain` (first payload type T)
 *   open     SUITE --ke K [--ka K] --msg HEX       -> "plain HEX" | "error MSG"
 *   dh       --group G --peer HEX          -> "public HEX" then "shared HEX"
 *                                              | "error MSG"
 *   sign     --key PEMFILE --hash H [--pss] --octets HEX -> "auth HEX" | "error MSG"
 *   verify   --cert PEMFILE --method M --auth HEX --octets HEX -> "ok" | "error MSG"
 *   octets   --prf P --skp K --msg HEX --nonce HEX --id HEX -> "out HEX"
 *   psk      --prf P --psk HEX --octets HEX    -> "out HEX"
 *
 * SUITE: --encr E --keylen BITS [--integ I] [--prf P]. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "ikev2/ike_crypto.h"
#include "wire/ikev2.h"

#define BIG 65536

struct args {
	struct ike_suite s;
	uint16_t old_prf, method;
	int hash;
	bool pss;
	size_t len;
	uint8_t first, exchange, flags;
	uint32_t msgid;
	uint16_t frag_num, frag_total;
	const char *keyfile, *certfile;
	/* byte-string options */
	uint8_t *key, *data, *seed, *ni, *nr, *gir, *spii, *spir, *skd, *ke, *ka;
	uint8_t *plain, *msg, *peer, *octets, *auth, *nonce, *id, *psk;
	size_t keyl, datal, seedl, nil, nrl, girl, spiil, spirl, skdl, kel, kal;
	size_t plainl, msgl, peerl, octetsl, authl, noncel, idl, pskl;
};

static void usage(void)
{
	fputs("usage: ike_crypto_tool prf|prfplus|derive|rekey|child|seal|open|dh|sign|"
	      "verify|octets|psk [options] (see the source)\n", stderr);
	exit(2);
}

static uint8_t *unhex(const char *s, size_t *len)
{
	size_t n = strlen(s);
	uint8_t *out;

	if (n % 2)
		usage();
	out = malloc(n / 2 + 1);
	if (!out)
		exit(1);
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			usage();
		out[i] = (uint8_t)v;
	}
	*len = n / 2;
	return out;
}

static void puthex(const char *label, const uint8_t *b, size_t n)
{
	printf("%s ", label);
	for (size_t i = 0; i < n; i++)
		printf("%02x", b[i]);
	putchar('\n');
}

static void parse(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{ "encr", 1, 0, 1 }, { "keylen", 1, 0, 2 }, { "integ", 1, 0, 3 },
		{ "prf", 1, 0, 4 }, { "old-prf", 1, 0, 5 }, { "len", 1, 0, 6 },
		{ "first", 1, 0, 7 }, { "exchange", 1, 0, 8 }, { "flags", 1, 0, 9 },
		{ "msgid", 1, 0, 10 }, { "frag", 1, 0, 11 }, { "key", 1, 0, 12 },
		{ "data", 1, 0, 13 }, { "seed", 1, 0, 14 }, { "ni", 1, 0, 15 },
		{ "nr", 1, 0, 16 }, { "gir", 1, 0, 17 }, { "spii", 1, 0, 18 },
		{ "spir", 1, 0, 19 }, { "sk-d", 1, 0, 20 }, { "ke", 1, 0, 21 },
		{ "ka", 1, 0, 22 }, { "plain", 1, 0, 23 }, { "msg", 1, 0, 24 },
		{ "peer", 1, 0, 25 }, { "group", 1, 0, 26 }, { "hash", 1, 0, 27 },
		{ "pss", 0, 0, 28 }, { "octets", 1, 0, 29 }, { "cert", 1, 0, 30 },
		{ "method", 1, 0, 31 }, { "auth", 1, 0, 32 }, { "skp", 1, 0, 33 },
		{ "nonce", 1, 0, 34 }, { "id", 1, 0, 35 }, { "psk", 1, 0, 36 },
		{ 0, 0, 0, 0 }
	};
	int o;

	a->first = IKEV2_PL_IDI;
	a->exchange = IKEV2_IKE_AUTH;
	a->flags = IKEV2_FLAG_I;
	a->msgid = 1;
	a->s.integ = IKE_INTEG_NONE;
	optind = 2;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		unsigned long v = optarg ? strtoul(optarg, NULL, 0) : 0;

		switch (o) {
		case 1: a->s.encr = (uint16_t)v; break;
		case 2: a->s.encr_keylen = (uint16_t)v; break;
		case 3: a->s.integ = (uint16_t)v; break;
		case 4: a->s.prf = (uint16_t)v; break;
		case 5: a->old_prf = (uint16_t)v; break;
		case 6: a->len = v; break;
		case 7: a->first = (uint8_t)v; break;
		case 8: a->exchange = (uint8_t)v; break;
		case 9: a->flags = (uint8_t)v; break;
		case 10: a->msgid = (uint32_t)v; break;
		case 11: {
			unsigned n, m;

			if (sscanf(optarg, "%u/%u", &n, &m) != 2)
				usage();
			a->frag_num = (uint16_t)n;
			a->frag_total = (uint16_t)m;
			break;
		}
		case 12: a->key = unhex(optarg, &a->keyl); break;
		case 13: a->data = unhex(optarg, &a->datal); break;
		case 14: a->seed = unhex(optarg, &a->seedl); break;
		case 15: a->ni = unhex(optarg, &a->nil); break;
		case 16: a->nr = unhex(optarg, &a->nrl); break;
		case 17: a->gir = unhex(optarg, &a->girl); break;
		case 18: a->spii = unhex(optarg, &a->spiil); break;
		case 19: a->spir = unhex(optarg, &a->spirl); break;
		case 20: a->skd = unhex(optarg, &a->skdl); break;
		case 21: a->ke = unhex(optarg, &a->kel); break;
		case 22: a->ka = unhex(optarg, &a->kal); break;
		case 23: a->plain = unhex(optarg, &a->plainl); break;
		case 24: a->msg = unhex(optarg, &a->msgl); break;
		case 25: a->peer = unhex(optarg, &a->peerl); break;
		case 26: a->s.dh = (uint16_t)v; break;
		case 27: a->hash = (int)v; break;
		case 28: a->pss = true; break;
		case 29: a->octets = unhex(optarg, &a->octetsl); break;
		case 30: a->certfile = optarg; break;
		case 31: a->method = (uint16_t)v; break;
		case 32: a->auth = unhex(optarg, &a->authl); break;
		case 33: a->key = unhex(optarg, &a->keyl); break;
		case 34: a->nonce = unhex(optarg, &a->noncel); break;
		case 35: a->id = unhex(optarg, &a->idl); break;
		case 36: a->psk = unhex(optarg, &a->pskl); break;
		default: usage();
		}
	}
}

static const uint8_t zero8[8];

static void print_keys(const struct args *a, const struct ike_keys *k)
{
	char rec[1024];

	puthex("sk_d", k->sk_d, k->prf_len);
	puthex("sk_ai", k->sk_ai, k->integ_len);
	puthex("sk_ar", k->sk_ar, k->integ_len);
	puthex("sk_ei", k->sk_ei, k->encr_len);
	puthex("sk_er", k->sk_er, k->encr_len);
	puthex("sk_pi", k->sk_pi, k->prf_len);
	puthex("sk_pr", k->sk_pr, k->prf_len);
	ike_decryption_table_record(&a->s, a->spii ? a->spii : zero8,
				    a->spir ? a->spir : zero8, k, rec, sizeof(rec));
	printf("record %s\n", rec);
}

static int cmd_seal(const struct args *a)
{
	static uint8_t buf[BIG];
	struct ikev2_hdr h = { .major = 2, .exchange = a->exchange, .flags = a->flags,
			       .message_id = a->msgid };
	struct ikev2_sk sk = { .first = a->first, .frag_num = a->frag_num,
			       .frag_total = a->frag_total };
	struct ikev2_builder b;
	struct wire_error we;
	size_t skl = ike_sk_len(&a->s, a->plainl);
	uint8_t *body;
	int len;

	if (!skl || !a->ke || a->spiil != 8 || a->spirl != 8)
		usage();
	memcpy(h.spi_i, a->spii, 8);
	memcpy(h.spi_r, a->spir, 8);
	sk.len = skl;
	ikev2_build_begin(&b, buf, sizeof(buf), &h, &we);
	body = ikev2_add_sk(&b, &sk);
	len = ikev2_build_end(&b);
	if (!body || len < 0) {
		printf("error build: %s\n", we.msg);
		return 1;
	}
	if (ike_sk_seal(&a->s, a->ke, a->ka, buf, (size_t)(body - buf), a->plain,
			a->plainl)) {
		printf("error seal failed\n");
		return 1;
	}
	puthex("msg", buf, (size_t)len);
	return 0;
}

static int cmd_open(const struct args *a)
{
	struct ikev2_msg m;
	struct wire_error we;
	uint8_t *plain;
	size_t plen, off;
	char err[256];

	if (!a->msg || !a->ke)
		usage();
	if (ikev2_parse(a->msg, a->msgl, &m, &we) != WIRE_OK) {
		printf("error parse: %s\n", we.msg);
		return 1;
	}
	if (!m.chain.sk) {
		printf("error parse: no SK payload\n");
		return 1;
	}
	off = m.chain.sk->offset + IKEV2_GEN_LEN + (m.chain.sk->type == IKEV2_PL_SKF ? 4 : 0);
	if (ike_sk_open(&a->s, a->ke, a->ka, a->msg, a->msgl, off, &plain, &plen, err,
			sizeof(err))) {
		printf("error %s\n", err);
		return 0;
	}
	puthex("plain", plain, plen);
	return 0;
}

static int cmd_dh(const struct args *a)
{
	uint8_t pub[IKE_DH_PUB_MAX], shared[IKE_DH_PUB_MAX];
	char err[256];
	struct ike_dh *dh = ike_dh_new(a->s.dh, err, sizeof(err));
	size_t n;

	if (!dh) {
		printf("error %s\n", err);
		return 1;
	}
	n = ike_dh_public(dh, pub, sizeof(pub));
	if (!n) {
		printf("error no public value\n");
		return 1;
	}
	puthex("public", pub, n);
	n = ike_dh_shared(dh, a->peer ? a->peer : pub, a->peer ? a->peerl : 0, shared,
			  sizeof(shared), err, sizeof(err));
	if (n)
		puthex("shared", shared, n);
	else
		printf("error %s\n", err);
	ike_dh_free(dh);
	return 0;
}

static int cmd_sign(const struct args *a)
{
	uint8_t out[4096];
	char err[256];
	FILE *f = a->keyfile ? fopen(a->keyfile, "r") : NULL;
	EVP_PKEY *key = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
	size_t n;

	if (f)
		fclose(f);
	if (!key || !a->octets) {
		printf("error cannot read the key\n");
		return 1;
	}
	n = ike_auth_sign(key, a->hash, a->pss, a->octets, a->octetsl, out, sizeof(out), err,
			  sizeof(err));
	if (n)
		puthex("auth", out, n);
	else
		printf("error %s\n", err);
	EVP_PKEY_free(key);
	return 0;
}

static int cmd_verify(const struct args *a)
{
	char err[256];
	FILE *f = a->certfile ? fopen(a->certfile, "r") : NULL;
	X509 *cert = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

	if (f)
		fclose(f);
	if (!cert || !a->octets || !a->auth) {
		printf("error cannot read the certificate\n");
		return 1;
	}
	if (ike_auth_verify(cert, (uint8_t)a->method, a->auth, a->authl, a->octets, a->octetsl,
			    err, sizeof(err)))
		printf("error %s\n", err);
	else
		printf("ok\n");
	X509_free(cert);
	return 0;
}

int main(int argc, char **argv)
{
	static uint8_t out[BIG];
	static struct args a;
	struct ike_keys k;
	const char *cmd;

	if (argc < 2)
		usage();
	cmd = argv[1];
	/* --key is a PEM file for sign, hex elsewhere. */
	if (!strcmp(cmd, "sign")) {
		for (int i = 2; i + 1 < argc; i++)
			if (!strcmp(argv[i], "--key")) {
				a.keyfile = argv[i + 1];
				argv[i] = (char *)"--cert";
			}
	}
	parse(argc, argv, &a);
	if (!strcmp(cmd, "sign"))
		a.keyfile = a.certfile;
	ike_crypto_stats_register();
	if (!strcmp(cmd, "prf")) {
		if (!a.key || ike_prf(a.s.prf, a.key, a.keyl, a.data, a.datal, out))
			return 1;
		puthex("out", out, ike_prf_len(a.s.prf));
	} else if (!strcmp(cmd, "prfplus")) {
		if (!a.key || a.len > sizeof(out) ||
		    ike_prf_plus(a.s.prf, a.key, a.keyl, a.seed, a.seedl, out, a.len))
			return 1;
		puthex("out", out, a.len);
	} else if (!strcmp(cmd, "derive")) {
		if (!a.ni || !a.nr || !a.gir || a.spiil != 8 || a.spirl != 8 ||
		    ike_keys_derive(&a.s, a.ni, a.nil, a.nr, a.nrl, a.gir, a.girl, a.spii,
				    a.spir, &k))
			return 1;
		print_keys(&a, &k);
	} else if (!strcmp(cmd, "rekey")) {
		if (!a.skd || !a.ni || !a.nr || !a.gir || a.spiil != 8 || a.spirl != 8 ||
		    ike_keys_rekey(&a.s, a.old_prf, a.skd, a.skdl, a.gir, a.girl, a.ni, a.nil,
				   a.nr, a.nrl, a.spii, a.spir, &k))
			return 1;
		print_keys(&a, &k);
	} else if (!strcmp(cmd, "child")) {
		if (!a.skd || !a.ni || !a.nr || a.len > sizeof(out) ||
		    ike_child_keymat(a.s.prf, a.skd, a.skdl, a.gir, a.girl, a.ni, a.nil, a.nr,
				     a.nrl, out, a.len))
			return 1;
		puthex("out", out, a.len);
	} else if (!strcmp(cmd, "seal")) {
		return cmd_seal(&a);
	} else if (!strcmp(cmd, "open")) {
		return cmd_open(&a);
	} else if (!strcmp(cmd, "dh")) {
		return cmd_dh(&a);
	} else if (!strcmp(cmd, "sign")) {
		return cmd_sign(&a);
	} else if (!strcmp(cmd, "verify")) {
		return cmd_verify(&a);
	} else if (!strcmp(cmd, "octets")) {
		size_t n = ike_auth_octets(a.s.prf, a.key, a.keyl, a.msg, a.msgl, a.nonce,
					   a.noncel, a.id, a.idl, out, sizeof(out));

		if (!n)
			return 1;
		puthex("out", out, n);
	} else if (!strcmp(cmd, "psk")) {
		size_t n = sizeof(out);

		if (!a.psk || ike_auth_psk(a.s.prf, a.psk, a.pskl, a.octets, a.octetsl, out, &n))
			return 1;
		puthex("out", out, n);
	} else {
		usage();
	}
	return 0;
}
