/* Route optimisation hooks of the mobile node (RFC 6275 §11.6-11.7.2).
 *
 * Correspondent entries live in the same Binding Update List as the home
 * registration (BUL_CN): the machine asks for the return routability
 * exchange (START_RR), collects the Home and Care-of keygen tokens (HOT /
 * COT events) and then asks for a BU. What this file does now is the part
 * that needs no cryptography: matching HoT/CoT to the entry and feeding
 * the machine. Building HoTI/CoTI and the BU's Binding Authorization Data
 * needs the keygen and Kbm functions of mip6/rr.{h,c} (written with the CN
 * role); until then START_RR and CN BUs are counted and logged, and the
 * host's traffic to the CN simply keeps using the reverse tunnel. */
#include <arpa/inet.h>
#include <string.h>

#include "core/log.h"
#include "mip6/mn_priv.h"
#include "wire/exthdr.h"
#include "wire/mh.h"

#define MOD "mn"

static COUNTER_DEFINE(c_ro_skipped, "mipsec_mn_ro_skipped_total",
		      "Route optimisation steps skipped: return routability not built in yet");

void mn_ro_init(void)
{
	counter_register(&c_ro_skipped);
}

struct bul_entry *mn_ro_add_cn(struct mn *mn, const struct in6_addr *cn)
{
	struct bul_entry *e = bul_add(mn->bul, cn, &mn->hoa, BUL_CN);

	if (e)
		e->lifetime_req_s = mn->cfg->lifetime_s;
	return e;
}

void mn_ro_start_rr(struct mn *mn, struct bul_entry *e, uint8_t which)
{
	char b[64];

	counter_inc(&c_ro_skipped);
	log_debug(MOD, "return routability with cn=%s (%s%s) not sent: no rr.c yet",
		  inet_ntop(AF_INET6, &e->peer, b, sizeof(b)) ? b : "?",
		  which & BUL_TOK_HOME ? "HoTI" : "", which & BUL_TOK_CAREOF ? " CoTI" : "");
}

void mn_ro_send_bu(struct mn *mn, struct bul_entry *e, bool dereg)
{
	counter_inc(&c_ro_skipped);
	log_debug(MOD, "BU to a correspondent not sent: Binding Authorization Data needs rr.c");
}

/* HoT (via the HA, to the HoA) or CoT (to the CoA) from a correspondent
 * we have an entry for, echoing the cookie we sent (§11.6.2). */
void mn_ro_rx(struct mn *mn, const struct ipv6_chain *c, const struct mh_msg *m)
{
	struct in6_addr peer;
	bool home = m->type == MH_HOT;

	memcpy(&peer, c->ip.src, 16);
	struct bul_entry *e = bul_find(mn->bul, &peer, &mn->hoa);
	if (!e || e->kind != BUL_CN ||
	    memcmp(m->u.hot.cookie, home ? e->home_cookie : e->careof_cookie, 8) != 0) {
		counter_inc(&mn_c_rx_bad);
		return;
	}
	struct bul_event ev = { .type = home ? BUL_EV_HOT : BUL_EV_COT,
				.nonce_index = m->u.hot.nonce_index };
	memcpy(ev.token, m->u.hot.token, 8);
	struct bul_step st = bul_handle(mn->bul, e, &ev, mono_ms());
	if (st.action == BUL_ACT_SEND_BU)
		mn_ro_send_bu(mn, e, false);
	mn_reg_arm(mn);
}
