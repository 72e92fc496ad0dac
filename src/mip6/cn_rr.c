/* Return routability at the correspondent node (RFC 6275 §9.4): a HoTI
 * (from the home address, via the HA) gets a HoT with the home keygen token,
 * a CoTI (from the care-of address) a CoT with the care-of keygen token.
 * The CN keeps no per-MN state for this: the tokens are recomputed from
 * Kcn and the nonce index when the BU arrives. */
#include <arpa/inet.h>

#include "core/log.h"
#include "mip6/cn.h"
#include "wire/exthdr.h"

#define MOD "cn"

void cn_rr_input(struct cn *cn, const struct cn_mh_in *in, const struct mh_msg *m)
{
	bool home = m->type == MH_HOTI;
	uint8_t token[RR_TOKEN_LEN];
	char a[INET6_ADDRSTRLEN];

	counter_inc(home ? &cn_c_hoti_rx : &cn_c_coti_rx);
	/* §9.4.1/§9.4.2: a HoTI/CoTI carrying a Home Address option is
	 * silently discarded. */
	if (in->hoa) {
		counter_inc(&cn_c_rr_bad_hao);
		log_debug(MOD, "%s with a Home Address option dropped", mh_type_tag(m->type));
		return;
	}
	const struct rr_nonce *n = rr_table_current(&cn->rr, mono_ms());
	if (!n || rr_keygen_token(n->kcn, in->src, n->nonce, home ? RR_HOME : RR_CAREOF,
				  token) < 0)
		return;

	union mh_body body = { .hot = { .nonce_index = n->index, .cookie = m->u.hoti.cookie,
					.token = token } };
	struct mh_builder b;
	struct wire_error err;
	uint8_t mh[64];
	mh_build_begin(&b, mh, sizeof(mh), home ? MH_HOT : MH_COT, &body, &err);
	int len = mh_build_finish(&b, in->dst, in->src);
	if (len < 0)
		return;
	/* The answer goes back the way the init came: HoT natively to the
	 * home address (the HA tunnels it), CoT in UDP to the care-of address. */
	struct cn_out o = { .src = in->dst, .dst = in->src, .udp = in->udp,
			    .peer = in->peer, .peer_port = in->peer_port };
	if (cn_send_mh(cn, &o, mh, (size_t)len) < 0)
		return;
	counter_inc(home ? &cn_c_hot_tx : &cn_c_cot_tx);
	log_debug(MOD, "%s sent to=%s nonce_index=%u", home ? "HoT" : "CoT",
		  inet_ntop(AF_INET6, in->src, a, sizeof(a)), n->index);
}
