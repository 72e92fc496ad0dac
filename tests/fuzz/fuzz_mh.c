/* libFuzzer harness for the Mobility Header codec: arbitrary octets go
 * through mh_parse (with and without a pseudo-header) and the JSON view;
 * every header accepted must re-encode from its view to the same octets.
 * Inputs that happen to be JSON also drive the JSON builder. */
#include <stdlib.h>
#include <string.h>

#include "ctl/wirejson.h"
#include "wire/mh.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t SRC[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x01 };
static const uint8_t DST[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x99 };

static void roundtrip(const uint8_t *data, size_t size)
{
	struct mh_msg m, m2;
	struct wire_error err = { 0 };
	uint8_t out[MH_MAX_LEN];
	enum wire_err rc = mh_parse(data, size, NULL, NULL, &m, &err);
	json_t *j = mh_to_json(data, size, NULL, NULL, &err);
	int n;

	if ((rc == WIRE_OK) != (j != NULL))
		abort();	/* the view and the parser disagree */
	(void)mh_parse(data, size, SRC, DST, &m2, &err);
	if (!j)
		return;
	if (m.len != size || m.n_opts > MH_MAX_OPTS)
		abort();
	n = mh_from_json(j, out, sizeof(out), NULL, NULL, &err);
	if (n < 0 || (size_t)n != size || memcmp(out, data, size))
		abort();	/* encode(decode(x)) != x */
	/* With addresses the builder writes a checksum the parser accepts. */
	n = mh_from_json(j, out, sizeof(out), SRC, DST, &err);
	if (n < 0 || mh_parse(out, (size_t)n, SRC, DST, &m2, &err) != WIRE_OK)
		abort();
	json_decref(j);
}

static void from_json(const uint8_t *data, size_t size)
{
	struct wire_error err = { 0 };
	uint8_t out[MH_MAX_LEN];
	json_error_t jerr;
	json_t *spec;

	if (size == 0 || data[0] != '{')
		return;
	spec = json_loadb((const char *)data, size, 0, &jerr);
	if (!spec)
		return;
	(void)mh_from_json(spec, out, sizeof(out), SRC, DST, &err);
	(void)mh_from_json(spec, out, 16, NULL, NULL, &err);
	json_decref(spec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	roundtrip(data, size);
	from_json(data, size);
	return 0;
}
