/* esp_bench: ESP encapsulation and decapsulation rates of 1400-byte
 * payloads for every transform on one core, and a check that neither path
 * allocates: malloc and friends are interposed here and counted while the
 * timed loops run (the run fails if the count is not zero, and a start-up
 * probe fails it if the interposition itself does not work).
 *
 * usage: esp_bench [PACKETS] [PAYLOAD_BYTES]     (default 300000 1400)
 *
 * Encap works in place on one buffer (payload left at the header offset,
 * as the TUN read path will leave it); decap is timed on packets produced
 * beforehand (a ring of 256 distinct packets copied into the work buffer,
 * the copy being part of the measured loop, like a receive would be). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ipsec/esp.h"

#include "alloc_count.h"

#define RING 256
#define MAXLEN 9000

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct xf {
	const char *name;
	enum esp_xform x;
	size_t klen;
};

static struct sa *mk(const struct xf *f, enum sa_dir d)
{
	static uint8_t k[SA_KEY_MAX], a[32];
	struct sa_params p = {
		.spi = 0x1000, .dir = d, .xform = f->x, .enc_key = k,
		.enc_key_len = f->klen, .auth_key = a,
		.auth_key_len = f->x == ESP_XFORM_AES_CBC_HMAC_SHA256 ? 32 : 0,
		.esn = true,
	};
	enum sa_new_err e;
	struct sa *sa;

	for (size_t i = 0; i < sizeof(k); i++)
		k[i] = (uint8_t)(i * 13 + 7);
	sa = sa_new(&p, &e);
	if (!sa) {
		fprintf(stderr, "sa_new: %s\n", sa_new_strerror(e));
		exit(1);
	}
	return sa;
}

static int run(const struct xf *f, size_t n, size_t plen)
{
	static uint8_t buf[MAXLEN + 256], ring[RING][MAXLEN + 256];
	static size_t ring_len[RING];
	struct sa *o = mk(f, SA_DIR_OUT), *in = mk(f, SA_DIR_IN);
	size_t hdr = esp_header_len(o), len;
	unsigned long enc_allocs, dec_allocs;
	struct esp_decap_result r;
	double t0, te, td;

	memset(buf, 0xab, sizeof(buf));
	for (size_t i = 0; i < RING; i++)
		if (esp_encap(o, buf + hdr, plen, 41, ring[i], sizeof(ring[i]),
			      &ring_len[i]) != ESP_OK)
			return 1;

	allocs = 0;
	counting = 1;
	t0 = now();
	for (size_t i = 0; i < n; i++)
		if (esp_encap(o, buf + hdr, plen, 41, buf, sizeof(buf), &len) != ESP_OK) {
			counting = 0;
			fprintf(stderr, "encap failed\n");
			return 1;
		}
	te = now() - t0;
	enc_allocs = allocs;

	/* Decap: the ring was encrypted with sequence numbers 1..RING; the
	 * inbound SA is moved so that each round of the ring is new again
	 * (the window top is reset, which is what a fresh number would do). */
	allocs = 0;
	t0 = now();
	for (size_t i = 0; i < n; i++) {
		size_t k = i % RING;

		if (k == 0) {
			in->seq = 0;
			memset(in->replay, 0, sizeof(in->replay));
		}
		memcpy(buf, ring[k], ring_len[k]);
		if (esp_decap(in, buf, ring_len[k], &r) != ESP_OK || r.len != plen) {
			counting = 0;
			fprintf(stderr, "decap failed\n");
			return 1;
		}
	}
	td = now() - t0;
	counting = 0;
	dec_allocs = allocs;

	printf("%-18s %5zu B  encap %7.3f Mpkt/s %6.2f Gbit/s (%6.1f ns)  "
	       "decap %7.3f Mpkt/s %6.2f Gbit/s (%6.1f ns)  allocs %lu/%lu\n",
	       f->name, plen, n / te / 1e6, n * plen * 8 / te / 1e9, te / n * 1e9,
	       n / td / 1e6, n * plen * 8 / td / 1e9, td / n * 1e9,
	       enc_allocs, dec_allocs);
	sa_free(o);
	sa_free(in);
	return enc_allocs || dec_allocs;
}

int main(int argc, char **argv)
{
	static const struct xf xfs[] = {
		{ "aes128gcm16", ESP_XFORM_AES_GCM_16, 20 },
		{ "aes256gcm16", ESP_XFORM_AES_GCM_16, 36 },
		{ "chacha20poly1305", ESP_XFORM_CHACHA20_POLY1305, 36 },
		{ "aes128-sha256", ESP_XFORM_AES_CBC_HMAC_SHA256, 16 },
		{ "aes256-sha256", ESP_XFORM_AES_CBC_HMAC_SHA256, 32 },
	};
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 0) : 300000;
	size_t plen = argc > 2 ? strtoul(argv[2], NULL, 0) : 1400;
	int bad = 0;

	if (plen > MAXLEN || n == 0) {
		fprintf(stderr, "usage: esp_bench [PACKETS] [PAYLOAD_BYTES <= %d]\n", MAXLEN);
		return 2;
	}
	if (alloc_count_selftest("esp_bench") < 0)
		return 1;
	for (size_t i = 0; i < sizeof(xfs) / sizeof(xfs[0]); i++)
		bad |= run(&xfs[i], n, plen);
	if (bad)
		fprintf(stderr, "FAIL: an error or an allocation in the packet path\n");
	return bad;
}
