/* Binding Updates at the correspondent node (RFC 6275 §9.5): authorisation
 * by return routability, the binding cache, Binding Acknowledgements and
 * Binding Refresh Requests, and the per-binding host route that steers the
 * host's traffic for the home address into the TUN device. */
#include <arpa/inet.h>
#include <string.h>

#include "core/log.h"
#include "daemon/daemon.h"
#include "mip6/bcache.h"
#include "mip6/cn.h"
#include "mip6/seq.h"
#include "net/netlink.h"
#include "wire/exthdr.h"

#define MOD "cn"


struct cn_bext *cn_bext(struct cn *cn, const struct bce *e)
{
	return e->ext ? &cn->ext[e->ext] : NULL;
}

static uint32_t ext_alloc(struct cn *cn)
{
	uint32_t i;

	if (cn->ext_free) {
		i = cn->ext_free;
		cn->ext_free = cn->ext[i].next_free;
	} else if (cn->ext_next <= cn->cfg->max_bindings) {
		i = cn->ext_next++;
	} else {
		return 0;
	}
	memset(&cn->ext[i], 0, sizeof(cn->ext[i]));
	cn->ext[i].in_use = true;
	return i;
}

static void ext_release(struct cn *cn, uint32_t i)
{
	if (!i || !cn->ext[i].in_use)
		return;
	cn->ext[i].in_use = false;
	cn->ext[i].next_free = cn->ext_free;
	cn->ext_free = i;
}

static int host_route(struct cn *cn, const struct in6_addr *hoa, bool add)
{
	struct nl_route r = { .oif = cn->tun_ifindex };
	char a[INET6_ADDRSTRLEN];
	int rc;

	if (!cn->tun_ifindex)
		return 0;
	r.dst.addr.family = AF_INET6;
	r.dst.addr.v6 = *hoa;
	r.dst.len = 128;
	rc = add ? nl_route_add(cn->d->nl, &r, true) : nl_route_del(cn->d->nl, &r);
	if (rc < 0) {
		counter_inc(&cn_c_route_err);
		log_warn(MOD, "cannot %s route hoa=%s dev=%s err=\"%s\"", add ? "add" : "delete",
			 inet_ntop(AF_INET6, hoa, a, sizeof(a)), cn->cfg->tun, strerror(-rc));
	}
	return rc;
}

void cn_binding_remove(struct cn *cn, struct bce *e, bool expired)
{
	struct in6_addr hoa = e->hoa;

	ext_release(cn, e->ext);
	bcache_remove(cn->bc, e);
	host_route(cn, &hoa, false);
	if (expired)
		counter_inc(&cn_c_binding_expired);
}

/* Sends a BA for a BU. kbm NULL: no Binding Authorization Data (statuses
 * 136-138, where the CN cannot compute Kbm, and 131). */
static void send_ba(struct cn *cn, const struct cn_mh_in *in, const uint8_t *coa, uint8_t status, uint16_t seq, uint16_t lifetime,
		    const uint8_t *kbm)
{
	static const uint8_t zero[RR_AUTH_LEN];
	struct mh_builder b;
	struct wire_error err;
	uint8_t mh[64];
	/* With a HAO the MN is away: the BA goes to the CoA with a RH2 that
	 * names the home address, the checksum's final destination. */
	const uint8_t *rh2 = in->hoa;
	const uint8_t *final = rh2 ? rh2 : in->src;

	mh_build_begin(&b, mh, sizeof(mh), MH_BA,
		       &(union mh_body){ .ba = { .status = status, .seq = seq,
						 .lifetime = lifetime } }, &err);
	if (kbm)
		mh_build_auth(&b, zero, RR_AUTH_LEN);
	int n = mh_build_finish(&b, in->dst, final);
	if (n < 0)
		return;
	if (kbm && rr_seal(mh, (size_t)n, kbm, coa, in->dst, in->dst, final) < 0)
		return;
	struct cn_out o = { .src = in->dst, .dst = in->src, .rh2 = rh2, .udp = in->udp,
			    .peer = in->peer, .peer_port = in->peer_port };
	if (cn_send_mh(cn, &o, mh, (size_t)n) == 0)
		counter_inc(&cn_c_ba_tx);
}

/* Finds the nonce indices and the authenticator; false: silently dropped. */
static bool bu_options(const struct cn_mh_in *in, const struct mh_msg *m,
		       const struct mh_opt **nonce, int *auth_off)
{
	*nonce = mh_find_opt(m, MH_OPT_NONCE);
	if (!*nonce) {
		counter_inc(&cn_c_bu_no_nonce);
		log_debug(MOD, "BU without Nonce Indices dropped");
		return false;
	}
	*auth_off = rr_auth_offset(in->mh, in->len);
	if (*auth_off < 0) {
		counter_inc(&cn_c_bu_no_auth);
		log_debug(MOD, "BU without a final Binding Authorization Data option dropped");
		return false;
	}
	return true;
}

uint8_t cn_nonce_status(const struct rr_nonce *hn, const struct rr_nonce *cnn, bool dereg)
{
	if (!hn && (dereg || cnn))
		return CN_BA_EXPIRED_HOME_NONCE;
	if (!hn)
		return CN_BA_EXPIRED_NONCES;
	if (!dereg && !cnn)
		return CN_BA_EXPIRED_COA_NONCE;
	return CN_BA_ACCEPTED;
}

static void count_status(uint8_t st)
{
	if (st == CN_BA_EXPIRED_HOME_NONCE)
		counter_inc(&cn_c_bu_expired_home);
	else if (st == CN_BA_EXPIRED_COA_NONCE)
		counter_inc(&cn_c_bu_expired_coa);
	else
		counter_inc(&cn_c_bu_expired_both);
}

uint32_t cn_grant_lifetime(uint16_t units, uint32_t max_s)
{
	uint32_t life = (uint32_t)units * 4;

	if (life > max_s)
		life = max_s;
	life -= life % 4;	/* the BA says it in 4-second units */
	return life ? life : 4;
}

static bool compute_kbm(const struct rr_nonce *hn, const struct rr_nonce *cnn,
			const uint8_t *hoa, const uint8_t *coa, bool dereg,
			uint8_t kbm[RR_KBM_LEN])
{
	uint8_t ht[RR_TOKEN_LEN], ct[RR_TOKEN_LEN];

	if (rr_keygen_token(hn->kcn, hoa, hn->nonce, RR_HOME, ht) < 0)
		return false;
	if (!dereg && rr_keygen_token(cnn->kcn, coa, cnn->nonce, RR_CAREOF, ct) < 0)
		return false;
	return rr_kbm(ht, dereg ? NULL : ct, kbm) == 0;
}

static void bu_register(struct cn *cn, const struct cn_mh_in *in, const struct mh_msg *m,
			const uint8_t *hoa, const uint8_t *coa, bool dereg, const uint8_t *kbm)
{
	struct in6_addr h;
	bool ack = m->u.bu.flags & MH_BU_A;
	uint64_t now = mono_ms();

	memcpy(&h, hoa, 16);
	struct bce *e = bcache_lookup(cn->bc, &h);
	/* §9.5.1: the sequence number must be newer than the binding's. */
	if (e && !seq_newer(m->u.bu.seq, e->seq)) {
		counter_inc(&cn_c_bu_seq);
		send_ba(cn, in, coa, CN_BA_SEQ_OUT_OF_WINDOW, e->seq, 0, kbm);
		return;
	}
	if (dereg) {
		if (e)
			cn_binding_remove(cn, e, false);
		counter_inc(&cn_c_bu_dereg);
		if (ack)
			send_ba(cn, in, coa, CN_BA_ACCEPTED, m->u.bu.seq, 0, kbm);
		return;
	}
	uint32_t life = cn_grant_lifetime(m->u.bu.lifetime, cn->cfg->max_binding_lifetime);
	struct bce_update u = { .hoa = h, .seq = m->u.bu.seq, .lifetime_s = life,
				.coa_port = in->udp ? in->peer_port : 0, .peer = BCE_PEER_NONE };
	u.coa.family = AF_INET6;
	memcpy(u.coa.bytes, coa, 16);
	if (m->u.bu.flags & MH_BU_A)
		u.flags |= BCE_F_A;
	bool fresh = !e;
	if (fresh && !(u.ext = ext_alloc(cn))) {
		counter_inc(&cn_c_bu_full);
		send_ba(cn, in, coa, CN_BA_INSUFFICIENT, m->u.bu.seq, 0, kbm);
		return;
	}
	if (!fresh)
		u.ext = e->ext;
	int rc = e ? bcache_update_entry(cn->bc, e, &u, now) : bcache_update(cn->bc, &u, now, &e);
	if (rc < 0) {
		if (fresh)
			ext_release(cn, u.ext);
		counter_inc(&cn_c_bu_full);
		send_ba(cn, in, coa, CN_BA_INSUFFICIENT, m->u.bu.seq, 0, kbm);
		return;
	}
	struct cn_bext *x = cn_bext(cn, e);
	if (x)
		x->brr_sent_ms = 0;
	if (fresh)
		host_route(cn, &h, true);
	counter_inc(&cn_c_bu_accepted);
	char a[INET6_ADDRSTRLEN], c[INET6_ADDRSTRLEN];
	log_info(MOD, "binding %s hoa=%s coa=%s lifetime=%u seq=%u", fresh ? "added" : "updated",
		 inet_ntop(AF_INET6, hoa, a, sizeof(a)), inet_ntop(AF_INET6, coa, c, sizeof(c)),
		 life, m->u.bu.seq);
	if (ack)
		send_ba(cn, in, coa, CN_BA_ACCEPTED, m->u.bu.seq, (uint16_t)(life / 4), kbm);
}

void cn_bu_input(struct cn *cn, const struct cn_mh_in *in, const struct mh_msg *m)
{
	const uint8_t *hoa = in->hoa ? in->hoa : in->src;
	const uint8_t *coa = in->src;
	const struct mh_opt *nonce, *alt;
	uint8_t kbm[RR_KBM_LEN];
	int auth_off;

	counter_inc(&cn_c_bu_rx);
	if (ipv6_bad_hoa(hoa)) {
		counter_inc(&cn_c_bu_bad_hoa);
		return;
	}
	/* §9.5.1: a CN that is no home agent refuses home registrations. */
	if (m->u.bu.flags & MH_BU_H) {
		counter_inc(&cn_c_bu_home_reg);
		send_ba(cn, in, coa, CN_BA_HOME_REG_NOT_SUPPORTED, m->u.bu.seq, 0, NULL);
		return;
	}
	if (!bu_options(in, m, &nonce, &auth_off))
		return;
	if ((alt = mh_find_opt(m, MH_OPT_ALT_COA)))
		coa = alt->u.alt_coa;
	bool dereg = m->u.bu.lifetime == 0 || memcmp(coa, hoa, 16) == 0;

	uint64_t now = mono_ms();
	const struct rr_nonce *hn = rr_table_lookup(&cn->rr, nonce->u.nonce.home, now);
	const struct rr_nonce *cnn = dereg ? NULL :
				     rr_table_lookup(&cn->rr, nonce->u.nonce.care_of, now);
	uint8_t st = cn_nonce_status(hn, cnn, dereg);
	if (st != CN_BA_ACCEPTED) {
		count_status(st);
		send_ba(cn, in, coa, st, m->u.bu.seq, 0, NULL);
		return;
	}
	/* The CN's own address in the MAC is the one the BU was sent to. */
	if (!compute_kbm(hn, cnn, hoa, coa, dereg, kbm))
		return;
	if (!rr_auth_verify(kbm, coa, in->dst, in->mh, in->len, (size_t)auth_off)) {
		counter_inc(&cn_c_bu_bad_auth);
		char a[INET6_ADDRSTRLEN];
		log_info(MOD, "BU with a wrong authenticator dropped hoa=%s",
			 inet_ntop(AF_INET6, hoa, a, sizeof(a)));
		return;
	}
	bu_register(cn, in, m, hoa, coa, dereg, kbm);
}

/* BRR (§9.5.5): shortly before a binding that is in use expires, ask the
 * MN to refresh it, once per lifetime. */
static void send_brr(struct cn *cn, struct bce *e)
{
	struct mh_builder b;
	struct wire_error err;
	uint8_t mh[16], cnaddr[16];
	struct ip_addr local;

	/* The source is the CN's address; the UDP socket may be bound to any,
	 * so it is the configured address or the kernel's choice. */
	if (cn->cfg->bind.family == AF_INET6 && !IN6_IS_ADDR_UNSPECIFIED(&cn->cfg->bind.v6))
		local = cn->cfg->bind;
	else if (cn_local_addr(cn, &e->coa, &local) < 0)
		return;
	memcpy(cnaddr, local.bytes, 16);
	mh_build_begin(&b, mh, sizeof(mh), MH_BRR, &(union mh_body){ .brr = { 0 } }, &err);
	int n = mh_build_finish(&b, cnaddr, e->hoa.s6_addr);
	if (n < 0)
		return;
	struct cn_out o = { .src = cnaddr, .dst = e->coa.bytes, .rh2 = e->hoa.s6_addr,
			    .udp = true, .peer = e->coa,
			    .peer_port = e->coa_port ? e->coa_port : 0 };
	if (cn_send_mh(cn, &o, mh, (size_t)n) == 0)
		counter_inc(&cn_c_brr_tx);
}

static void expired_cb(const struct bce *e, void *arg)
{
	struct cn *cn = arg;
	char a[INET6_ADDRSTRLEN];

	ext_release(cn, e->ext);
	host_route(cn, &e->hoa, false);
	counter_inc(&cn_c_binding_expired);
	log_info(MOD, "binding expired hoa=%s", inet_ntop(AF_INET6, &e->hoa, a, sizeof(a)));
}

void cn_bindings_tick(struct cn *cn, uint64_t now_ms)
{
	uint32_t cur = 0;
	struct bce *e;

	bcache_expire(cn->bc, now_ms, expired_cb, cn);
	rr_table_expire(&cn->rr, now_ms);
	if (!cn->cfg->brr_before)
		return;
	uint64_t window = (uint64_t)cn->cfg->brr_before * 1000;
	/* Walk the cache only when some binding is inside the window. */
	if (bcache_next_expiry(cn->bc) > now_ms + window)
		goto out;
	while ((e = bcache_next(cn->bc, &cur))) {
		struct cn_bext *x = cn_bext(cn, e);

		if (!x || x->brr_sent_ms || e->expiry_ms > now_ms + window)
			continue;
		/* "In use": the host sent over it since the last BU. */
		if (x->last_used_ms < bce_updated_ms(e))
			continue;
		x->brr_sent_ms = now_ms;
		send_brr(cn, e);
	}
out:
	mip6_ep_flush(cn->ep);
}
