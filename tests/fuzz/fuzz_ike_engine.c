/* libFuzzer harness: datagrams into a responder IKE engine. The first
 * octet chooses how deep the input goes:
 *   0: the rest is one raw datagram to a fresh responder;
 *   1: a real initiator engine runs IKE_SA_INIT with the responder, then
 *      the rest is the inner payload chain (first type = next octet) of an
 *      IKE_AUTH request, protected with the initiator's real keys;
 *   2: the pair is established (PSK), then the rest is the inner chain of
 *      a CREATE_CHILD_SA (next octet even) or INFORMATIONAL request.
 * The engine must neither crash nor leak, whatever it is fed. */
#include <stdlib.h>
#include <string.h>

#include "../unit/ike_pair.h"
#include "ikev2/ike_sa.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char cfg_i[] =
	"ike = { local_id = \"fqdn:a.example\"; retransmit_timeout = 5000;\n"
	"  peers = ( { name = \"b\"; remote = \"192.0.2.2\"; local = \"192.0.2.1\";\n"
	"    remote_id = \"fqdn:b.example\"; auth = \"psk\"; psk = \"fuzz\"; dpd = 0;\n"
	"    ike_proposals = [\"aes128gcm16-prfsha256-curve25519\"];\n"
	"    local_ts = [\"10.1.0.0/16\"]; remote_ts = [\"10.2.0.0/16\"]; } ); };\n";
static const char cfg_r[] =
	"ike = { local_id = \"fqdn:b.example\"; retransmit_timeout = 5000; cookie_threshold = 8;\n"
	"  peers = ( { name = \"a\"; remote = \"any\"; local = \"192.0.2.2\";\n"
	"    remote_id = \"fqdn:a.example\"; auth = \"psk\"; psk = \"fuzz\"; dpd = 0;\n"
	"    ike_proposals = [\"aes128gcm16-prfsha256-curve25519\"];\n"
	"    local_ts = [\"10.2.0.0/16\"]; remote_ts = [\"10.1.0.0/16\"]; } ); };\n";

static bool half_open(struct pair *p)
{
	struct ike_sa *sa = ike_sa_by_id(p->s[0].e, 1);

	return sa && sa->state == IKE_ST_AUTH_SENT;
}

static bool up(struct pair *p) { return p->s[0].child_up && p->s[1].child_up; }

/* Stops the initiator's own IKE_AUTH at the wire: we send ours instead. */
static bool no_auth(struct pair *p, int from, uint8_t *buf, size_t *len, size_t cap,
		    unsigned seq)
{
	(void)p;
	(void)len;
	(void)cap;
	(void)seq;
	return !(from == 0 && buf[18] == IKEV2_IKE_AUTH);
}

static void inner(struct pair *p, uint8_t exchange, uint8_t first, const uint8_t *d, size_t n)
{
	struct ike_sa *sa = ike_sa_by_id(p->s[0].e, 1);
	struct ike_out o = { 0 };
	struct ike_path path = { .local = p->s[1].addr, .remote = p->s[0].addr, .lport = 500,
				 .rport = 500 };

	if (!sa || ike_msg_protect(sa, exchange, false, sa->tx_mid, first, d, n, &o))
		return;
	for (size_t i = 0; i < o.n; i++)
		ike_engine_input(p->s[1].e, &path, o.dgram[i], o.len[i]);
	ike_out_clear(&o);
	pair_deliver(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	struct pair p;
	char err[256];
	uint8_t *copy;

	if (!init) {
		log_init("fuzz_ike_engine", LOG_LVL_ERR, false);
		init = true;
	}
	if (size < 2 || size > 8192)
		return 0;
	if (pair_init(&p, cfg_i, cfg_r, "192.0.2.1", "192.0.2.2", err, sizeof(err)))
		abort();
	copy = malloc(size);
	memcpy(copy, data, size);
	switch (data[0] % 3) {
	case 0: {
		struct ike_path path = { .local = p.s[1].addr, .remote = p.s[0].addr,
					 .lport = 500, .rport = 500 };

		ike_engine_input(p.s[1].e, &path, copy + 1, size - 1);
		pair_deliver(&p);
		break;
	}
	case 1:
		p.filter = no_auth;
		ike_engine_initiate(p.s[0].e, "b");
		if (!pair_run(&p, half_open, 2000))
			abort();
		{
			/* The SA's next request ID is the one the responder expects. */
			struct ike_sa *sa = ike_sa_by_id(p.s[0].e, 1);

			sa->tx_mid = 1;
			inner(&p, IKEV2_IKE_AUTH, copy[1], copy + 2, size - 2);
		}
		break;
	default:
		ike_engine_initiate(p.s[0].e, "b");
		if (!pair_run(&p, up, 2000))
			abort();
		inner(&p, copy[1] & 1 ? IKEV2_INFORMATIONAL : IKEV2_CREATE_CHILD_SA, copy[1] >> 1,
		      copy + 2, size - 2);
		break;
	}
	free(copy);
	pair_free(&p);
	return 0;
}
