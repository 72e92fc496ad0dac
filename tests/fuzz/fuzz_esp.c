/* libFuzzer harness: ESP decapsulation of arbitrary bytes with fixed SAs
 * of every transform (with and without ESN), and an encap -> decap round
 * trip of arbitrary payloads that must give the payload back.
 *
 * Input: byte 0 selects the transform (bits 0-2), ESN (bit 3), the round
 * trip mode (bit 4) and a start of the receive window far up in the
 * sequence space (bit 5); the rest is the packet (or the payload). */
#include <stdlib.h>
#include <string.h>

#include "ipsec/esp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NXF 5

static struct sa *sas[NXF][2][2];	/* [xform][esn][dir] */

static struct sa *get(unsigned x, unsigned esn, enum sa_dir d)
{
	static const enum esp_xform xf[NXF] = {
		ESP_XFORM_AES_GCM_16, ESP_XFORM_AES_GCM_16,
		ESP_XFORM_CHACHA20_POLY1305, ESP_XFORM_AES_CBC_HMAC_SHA256,
		ESP_XFORM_AES_CBC_HMAC_SHA256,
	};
	static const size_t kl[NXF] = { 20, 36, 36, 16, 32 };
	static const uint8_t key[SA_KEY_MAX] = "fuzzing key material 0123456789ab";
	static const uint8_t auth[32] = "fuzzing authentication key 01234";

	if (!sas[x][esn][d]) {
		struct sa_params p = {
			.spi = 0x100 + x, .dir = d, .xform = xf[x], .esn = esn,
			.enc_key = key, .enc_key_len = kl[x], .auth_key = auth,
			.auth_key_len = xf[x] == ESP_XFORM_AES_CBC_HMAC_SHA256 ? 32 : 0,
		};

		sas[x][esn][d] = sa_new(&p, NULL);
		if (!sas[x][esn][d])
			abort();
	}
	return sas[x][esn][d];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[70000];
	struct esp_decap_result r;
	struct sa *in, *out;
	unsigned x, esn;
	size_t n;

	if (size < 1 || size > 65536)
		return 0;
	x = (data[0] & 7) % NXF;
	esn = (data[0] >> 3) & 1;
	in = get(x, esn, SA_DIR_IN);
	out = get(x, esn, SA_DIR_OUT);
	/* Each input starts from the same receive state. */
	in->seq = !(data[0] & 0x20) ? 0 : esn ? 0x1fffffff0ull : 0xfffff000ull;
	memset(in->replay, 0, sizeof(in->replay));
	in->expiry = SA_LIVE;
	out->expiry = SA_LIVE;
	data++;
	size--;
	if (!(data[-1] & 0x10)) {
		memcpy(buf, data, size);
		if (esp_decap(in, buf, size, &r) == ESP_OK &&
		    (r.payload < buf || r.payload + r.len > buf + size))
			abort();
		return 0;
	}
	/* Round trip: whatever we build, we must take back unchanged. */
	out->seq = in->seq;
	if (esp_encap(out, data, size, 41, buf, sizeof(buf), &n) != ESP_OK)
		abort();
	if (esp_decap(in, buf, n, &r) != ESP_OK || r.len != size ||
	    r.next_header != 41 || memcmp(r.payload, data, size) != 0)
		abort();
	return 0;
}
