/* libFuzzer harness: IKEv2 messages (RFC 7296). Every accepted message is
 * taken apart with every payload parser, the SK body is walked as if it
 * were the decrypted inner chain, and the JSON view is encoded back and
 * must decode to the same view. Rejections must say why. */
#include <stdlib.h>

#include "ctl/wirejson.h"
#include "wire/ikev2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void views(const struct ikev2_chain *c, const uint8_t *lo, const uint8_t *hi)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct ikev2_payload *p = &c->pl[i];
		struct wire_error err = { 0 };

		if (p->body < lo || p->body + p->body_len > hi)
			abort();
		if (p->known && ikev2_payload_check(p, &err) != WIRE_OK)
			abort();	/* the chain walk accepted it */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ikev2_msg m;
	static struct ikev2_chain inner;
	static uint8_t out[70000];
	struct wire_error err = { 0 };
	json_t *j, *j2;
	int n;

	if (ikev2_parse(data, size, &m, &err) != WIRE_OK) {
		if (!err.msg[0])
			abort();
		if ((err.code == WIRE_ETYPE) != (m.chain.notify == IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD))
			abort();
		return 0;
	}
	views(&m.chain, data + IKEV2_HDR_LEN, data + size);
	if (m.chain.sk) {
		struct ikev2_sk sk;

		if (ikev2_sk_parse(m.chain.sk, &sk, &err) != WIRE_OK)
			abort();
		if (ikev2_chain_parse(sk.first, sk.data, sk.len, 0, &inner, &err) == WIRE_OK)
			views(&inner, sk.data, sk.data + sk.len);
	}
	j = ikev2_to_json(data, size, &err);
	if (!j)
		abort();
	n = ikev2_from_json(j, out, sizeof(out), &err);
	if (n < 0)
		abort();
	j2 = ikev2_to_json(out, (size_t)n, &err);
	if (!j2)
		abort();
	/* the only octets a view drops are reserved ones */
	if (!json_equal(j, j2))
		abort();
	json_decref(j);
	json_decref(j2);
	return 0;
}
