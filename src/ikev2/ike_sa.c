/* The IKE SA: life cycle, explicit state machine, the request queue with
 * retransmission (window size 1, §2.3), timers, and CHILD SAs. */
#include "ikev2/ike_sa.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "core/log.h"

/* Least gap between a CHILD SA's soft and hard byte limits. */
#define IKE_HARD_BYTES_MARGIN_MIN (UINT64_C(64) << 20)

static const char *const state_names[] = {
	[IKE_ST_INIT_SENT] = "init-sent",	[IKE_ST_INIT_DONE] = "half-open",
	[IKE_ST_AUTH_SENT] = "auth-sent",	[IKE_ST_ESTABLISHED] = "established",
	[IKE_ST_REKEYED] = "rekeyed",		[IKE_ST_DELETING] = "deleting",
	[IKE_ST_DEAD] = "dead",
};

const char *ike_state_name(enum ike_state s) { return state_names[s]; }

void ike_random(void *buf, size_t len)
{
	if (RAND_bytes(buf, (int)len) != 1)
		abort();	/* no randomness: nothing safe to do */
}

void ike_out_clear(struct ike_out *o)
{
	for (size_t i = 0; i < o->n; i++)
		free(o->dgram[i]);
	memset(o, 0, sizeof(*o));
}

static void rtx_fire(void *arg);
static void rekey_fire(void *arg);
static void expire_fire(void *arg);

/* RFC 3948 §2.3: keep the NAT mapping alive while we sit behind a NAT.
 * Called once when the SA is established (sends nothing without a NAT),
 * then by its timer. */
static void natka_fire(void *arg)
{
	struct ike_sa *sa = arg;
	const struct ike_engine *e = sa->e;

	if (sa->state != IKE_ST_ESTABLISHED || !sa->nat_local || !e->ops->keepalive ||
	    !e->cfg->natt_keepalive)
		return;
	if (timer_pending(&sa->natka))
		timer_cancel(&sa->natka);
	else
		e->ops->keepalive(e->arg, &sa->path);
	timer_arm_ms(&sa->natka, (uint64_t)e->cfg->natt_keepalive * 1000);
}

struct ike_sa *ike_sa_new(struct ike_engine *e, bool initiator, const struct ike_path *path)
{
	struct ike_sa *sa = calloc(1, sizeof(*sa));

	if (!sa)
		return NULL;
	sa->e = e;
	sa->id = ++e->next_ike_id;
	sa->initiator = initiator;
	sa->path = *path;
	sa->created_ms = sa->last_rx_ms = mono_ms();
	ike_random(initiator ? sa->spi_i : sa->spi_r, 8);
	timer_init(&sa->rtx, e->loop, rtx_fire, sa);
	timer_init(&sa->rekey, e->loop, rekey_fire, sa);
	timer_init(&sa->dpd, e->loop, NULL, sa);
	timer_init(&sa->expire, e->loop, expire_fire, sa);
	timer_init(&sa->natka, e->loop, natka_fire, sa);
	sa->next = e->sas;
	e->sas = sa;
	return sa;
}

void ike_child_remove(struct ike_child *c, bool notify)
{
	struct ike_sa *sa = c->sa;

	for (struct ike_child **pp = &sa->children; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	if (notify && sa->e->ops->child_down)
		sa->e->ops->child_down(sa->e->arg, c->id);
	timer_deinit(&c->rekey);
	timer_deinit(&c->expire);
	OPENSSL_cleanse(&c->info, sizeof(c->info));
	free(c);
}

void ike_child_remove_unlinked(struct ike_child *c)
{
	timer_deinit(&c->rekey);
	timer_deinit(&c->expire);
	OPENSSL_cleanse(&c->info, sizeof(c->info));
	free(c);
}

void ike_sa_free(struct ike_sa *sa)
{
	struct ike_engine *e = sa->e;

	for (struct ike_sa **pp = &e->sas; *pp; pp = &(*pp)->next)
		if (*pp == sa) {
			*pp = sa->next;
			break;
		}
	while (sa->children)
		ike_child_remove(sa->children, false);
	timer_deinit(&sa->rtx);
	timer_deinit(&sa->rekey);
	timer_deinit(&sa->dpd);
	timer_deinit(&sa->expire);
	timer_deinit(&sa->natka);
	ike_out_clear(&sa->req);
	ike_out_clear(&sa->resp);
	ike_frag_reset(&sa->frx);
	ike_pending_clear(&sa->pend);
	ike_dh_free(sa->dh);
	free(sa->init_i);
	free(sa->init_r);
	OPENSSL_cleanse(&sa->keys, sizeof(sa->keys));
	free(sa);
}

void ike_sa_set_state(struct ike_sa *sa, enum ike_state st)
{
	if (sa->state == st)
		return;
	log_debug("ike", "state sa=%u %s -> %s", sa->id, ike_state_name(sa->state),
		  ike_state_name(st));
	sa->state = st;
}

static void expire_fire(void *arg)
{
	struct ike_sa *sa = arg;

	if (sa->state == IKE_ST_DEAD) {
		ike_sa_free(sa);
		return;
	}
	if (sa->state == IKE_ST_INIT_DONE || sa->state == IKE_ST_INIT_SENT) {
		ike_count(sa->e, IKE_C_half_open_expired);
		log_info("ike", "half-open IKE SA expired sa=%u", sa->id);
	}
	ike_sa_close(sa, "expired");
}

/* Children go down, the owner hears ike_down if it heard ike_up, and the
 * SA is freed from the loop (we may be deep in its own call stack). */
void ike_sa_close(struct ike_sa *sa, const char *why)
{
	struct ike_engine *e = sa->e;
	bool was_up = sa->peer_authed;

	if (sa->state == IKE_ST_DEAD)
		return;
	log_info("ike", "IKE SA closed sa=%u peer=%s state=%s reason=\"%s\"", sa->id,
		 sa->peer ? sa->peer->name : "-", ike_state_name(sa->state), why);
	while (sa->children) {
		ike_count(e, IKE_C_child_deleted);
		ike_child_remove(sa->children, true);
	}
	if (sa->keyed && sa->state != IKE_ST_REKEYED && sa->peer_authed)
		ike_count(e, IKE_C_ike_deleted);
	if (was_up && e->ops->ike_down)
		e->ops->ike_down(e->arg, sa->id, sa->peer ? sa->peer->name : "");
	ike_sa_set_state(sa, IKE_ST_DEAD);
	timer_cancel(&sa->rtx);
	timer_cancel(&sa->rekey);
	timer_cancel(&sa->dpd);
	timer_cancel(&sa->natka);
	timer_arm_us(&sa->expire, 0);
}

struct ike_sa *ike_sa_by_spi(struct ike_engine *e, const uint8_t spi[8], bool ours_is_i)
{
	for (struct ike_sa *sa = e->sas; sa; sa = sa->next)
		if (sa->state != IKE_ST_DEAD && sa->initiator == ours_is_i &&
		    !memcmp(ours_is_i ? sa->spi_i : sa->spi_r, spi, 8))
			return sa;
	return NULL;
}

struct ike_sa *ike_sa_by_id(const struct ike_engine *e, uint32_t id)
{
	for (struct ike_sa *sa = e->sas; sa; sa = sa->next)
		if (sa->id == id && sa->state != IKE_ST_DEAD)
			return sa;
	return NULL;
}

struct ike_sa *ike_sa_half_open(struct ike_engine *e, const uint8_t spi_i[8],
				const struct ike_path *path)
{
	for (struct ike_sa *sa = e->sas; sa; sa = sa->next)
		if (!sa->initiator && sa->state != IKE_ST_DEAD && !memcmp(sa->spi_i, spi_i, 8) &&
		    ip_addr_eq(&sa->path.remote, &path->remote) && sa->path.rport == path->rport)
			return sa;
	return NULL;
}

size_t ike_sa_count_half_open(const struct ike_engine *e)
{
	size_t n = 0;

	for (struct ike_sa *sa = e->sas; sa; sa = sa->next)
		n += sa->state == IKE_ST_INIT_DONE;
	return n;
}

/* ---- sending and retransmission -------------------------------------------- */

void ike_sa_send_out(struct ike_sa *sa, const struct ike_out *o)
{
	for (size_t i = 0; i < o->n; i++) {
		sa->e->ops->send(sa->e->arg, &sa->path, o->dgram[i], o->len[i]);
		ike_count(sa->e, IKE_C_tx_msgs);
	}
}

static uint64_t rtx_delay_ms(const struct ike_sa *sa)
{
	uint64_t d = sa->e->cfg->retransmit_timeout_ms;

	for (unsigned i = 0; i < sa->retries && d < 60000; i++)
		d *= 2;	/* exponential backoff (§2.1) */
	return d;
}

void ike_sa_send_req(struct ike_sa *sa, enum ike_task_kind kind)
{
	sa->req_out = true;
	sa->req_kind = kind;
	sa->retries = 0;
	ike_sa_send_out(sa, &sa->req);
	timer_arm_ms(&sa->rtx, rtx_delay_ms(sa));
}

static void rtx_fire(void *arg)
{
	struct ike_sa *sa = arg;

	if (!sa->req_out)
		return;
	if (sa->retries >= sa->e->cfg->retransmit_tries) {
		if (sa->req_kind == IKE_T_DPD || sa->state == IKE_ST_ESTABLISHED) {
			ike_count(sa->e, IKE_C_dpd_dead);
			log_notice("ike", "peer not answering, declared dead sa=%u peer=%s", sa->id,
				   sa->peer ? sa->peer->name : "-");
		}
		sa->req_out = false;
		ike_sa_close(sa, "no answer to retransmissions");
		return;
	}
	sa->retries++;
	ike_count(sa->e, IKE_C_tx_retransmit);
	log_debug("ike", "retransmit sa=%u mid=%u try=%u", sa->id, sa->tx_mid - 1, sa->retries);
	ike_sa_send_out(sa, &sa->req);
	timer_arm_ms(&sa->rtx, rtx_delay_ms(sa));
}

void ike_sa_req_done(struct ike_sa *sa)
{
	sa->req_out = false;
	sa->req_kind = IKE_T_NONE;
	timer_cancel(&sa->rtx);
	ike_out_clear(&sa->req);
}

static void run_task(struct ike_sa *sa, struct ike_task t)
{
	switch (t.kind) {
	case IKE_T_CHILD_REKEY:
		ike_child_rekey_send(sa, t.child_id);
		break;
	case IKE_T_CHILD_NEW:
		ike_child_new_send(sa, (uint8_t)t.child_id);
		break;
	case IKE_T_IKE_REKEY:
		ike_ike_rekey_send(sa);
		break;
	case IKE_T_DELETE_CHILD:
		ike_info_send_delete_child(sa, t.child_id);
		break;
	case IKE_T_DELETE_IKE:
		ike_info_send_delete_ike(sa);
		break;
	case IKE_T_DPD:
		ike_info_send_dpd(sa);
		break;
	default:
		break;
	}
}

void ike_sa_next_task(struct ike_sa *sa)
{
	while (!sa->req_out && sa->n_tasks && sa->state == IKE_ST_ESTABLISHED) {
		struct ike_task t = sa->tasks[0];

		memmove(sa->tasks, sa->tasks + 1, (sa->n_tasks - 1) * sizeof(t));
		sa->n_tasks--;
		run_task(sa, t);
	}
	/* The deletion of a superseded SA runs in REKEYED too. */
	while (!sa->req_out && sa->n_tasks && sa->state == IKE_ST_REKEYED) {
		struct ike_task t = sa->tasks[0];

		memmove(sa->tasks, sa->tasks + 1, (sa->n_tasks - 1) * sizeof(t));
		sa->n_tasks--;
		if (t.kind == IKE_T_DELETE_IKE)
			run_task(sa, t);
	}
}

void ike_sa_task(struct ike_sa *sa, enum ike_task_kind kind, uint32_t child_id)
{
	for (size_t i = 0; i < sa->n_tasks; i++)
		if (sa->tasks[i].kind == kind && sa->tasks[i].child_id == child_id)
			return;
	if (sa->n_tasks < IKE_TASKS_MAX)
		sa->tasks[sa->n_tasks++] = (struct ike_task){ kind, child_id };
	ike_sa_next_task(sa);
}

/* ---- rekey and liveness timers ------------------------------------------------ */

/* Lifetime minus up to 10 % so the two ends rarely rekey together. */
static uint64_t jitter_ms(uint32_t seconds)
{
	uint64_t ms = (uint64_t)seconds * 1000, j = ms / 10;
	uint32_t r;

	ike_random(&r, sizeof(r));
	return ms - (j ? r % j : 0);
}

static void rekey_fire(void *arg)
{
	struct ike_sa *sa = arg;

	if (sa->state == IKE_ST_ESTABLISHED)
		ike_sa_task(sa, IKE_T_IKE_REKEY, 0);
}

void ike_sa_arm_rekey(struct ike_sa *sa)
{
	if (sa->peer && sa->peer->rekey_time)
		timer_arm_ms(&sa->rekey, jitter_ms(sa->peer->rekey_time));
}

void ike_sa_established(struct ike_sa *sa)
{
	struct ike_engine *e = sa->e;
	char id[300];

	ike_sa_set_state(sa, IKE_ST_ESTABLISHED);
	timer_cancel(&sa->expire);
	ike_count(e, IKE_C_ike_established);
	ike_sa_arm_rekey(sa);
	ike_dpd_arm(sa);
	natka_fire(sa);
	log_info("ike", "IKE SA established sa=%u peer=%s id=%s initiator=%d", sa->id,
		 sa->peer->name, ike_id_fmt(&sa->peer_id, id, sizeof(id)), sa->initiator);
	if (e->ops->ike_up)
		e->ops->ike_up(e->arg, sa->id, sa->peer->name, &sa->peer_id);
	ike_keyexport_auto(e);
}

/* ---- children ------------------------------------------------------------------ */

static void child_rekey_fire(void *arg)
{
	struct ike_child *c = arg;

	if (c->state == CHILD_ST_INSTALLED)
		ike_sa_task(c->sa, IKE_T_CHILD_REKEY, c->id);
}

static void child_expire_fire(void *arg)
{
	struct ike_child *c = arg;

	/* A replaced child whose DELETE never came: drop it locally. */
	ike_count(c->sa->e, IKE_C_child_deleted);
	ike_child_remove(c, true);
}

struct ike_child *ike_child_new(struct ike_sa *sa)
{
	struct ike_child *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->sa = sa;
	timer_init(&c->rekey, sa->e->loop, child_rekey_fire, c);
	timer_init(&c->expire, sa->e->loop, child_expire_fire, c);
	return c;
}

struct ike_child *ike_child_by_id(const struct ike_engine *e, uint32_t id)
{
	for (struct ike_sa *sa = e->sas; sa; sa = sa->next)
		for (struct ike_child *c = sa->children; c; c = c->next)
			if (c->id == id)
				return c;
	return NULL;
}

struct ike_child *ike_child_by_spi(struct ike_sa *sa, uint32_t spi, bool out)
{
	for (struct ike_child *c = sa->children; c; c = c->next)
		if ((out ? c->spi_out : c->spi_in) == spi)
			return c;
	return NULL;
}

static enum esp_xform xform_of(const struct ike_suite *s)
{
	if (s->encr == IKE_ENCR_AES_GCM_16)
		return ESP_XFORM_AES_GCM_16;
	if (s->encr == IKE_ENCR_CHACHA20_POLY1305)
		return ESP_XFORM_CHACHA20_POLY1305;
	return ESP_XFORM_AES_CBC_HMAC_SHA256;
}

int ike_child_install(struct ike_sa *sa, struct ike_child *c, bool we_initiated,
		      const uint8_t *gir, size_t girlen, const uint8_t *ni, size_t nilen,
		      const uint8_t *nr, size_t nrlen, uint32_t replaces)
{
	struct ike_engine *e = sa->e;
	struct ike_child_info *in = &c->info;
	size_t el = ike_encr_keymat_len(&c->suite), al = ike_integ_key_len(c->suite.integ);
	uint8_t km[2 * (SA_KEY_MAX + 64)];
	const uint8_t *i2r = km, *r2i = km + el + al;
	char sbuf[96];

	if (!el || el > SA_KEY_MAX || al > sizeof(in->auth_in) ||
	    (c->suite.encr == IKE_ENCR_AES_CBC && c->suite.integ != IKE_INTEG_HMAC_SHA2_256_128)) {
		log_warn("ike", "negotiated ESP suite not supported by the data plane sa=%u", sa->id);
		return -1;
	}
	if (ike_child_keymat(sa->suite.prf, sa->keys.sk_d, sa->keys.prf_len, gir, girlen, ni,
			     nilen, nr, nrlen, km, 2 * (el + al)))
		return -1;
	memset(in, 0, sizeof(*in));
	c->id = ++e->next_child_id;
	in->id = c->id;
	in->ike_id = sa->id;
	in->replaces = replaces;
	in->peer = sa->peer->name;
	in->policy = sa->peer->child[c->policy].name;
	in->peer_id = &sa->peer_id;
	in->spi_in = c->spi_in;
	in->spi_out = c->spi_out;
	in->xform = xform_of(&c->suite);
	in->esn = c->suite.esn;
	in->mode = c->mode;
	in->enc_key_len = el;
	in->auth_key_len = al;
	memcpy(we_initiated ? in->enc_out : in->enc_in, i2r, el);
	memcpy(we_initiated ? in->auth_out : in->auth_in, i2r + el, al);
	memcpy(we_initiated ? in->enc_in : in->enc_out, r2i, el);
	memcpy(we_initiated ? in->auth_in : in->auth_out, r2i + el, al);
	OPENSSL_cleanse(km, sizeof(km));
	if (sa->peer->child_rekey_bytes) {
		in->soft.bytes = sa->peer->child_rekey_bytes;
		uint64_t soft = sa->peer->child_rekey_bytes, margin = soft / 10;

		/* The rekey needs a round trip while traffic keeps flowing:
		 * at 2.5 Gbit/s 64 MiB last 200 ms. */
		if (margin < IKE_HARD_BYTES_MARGIN_MIN)
			margin = IKE_HARD_BYTES_MARGIN_MIN;
		in->hard.bytes = soft + margin;
	}
	if (sa->peer->child_rekey_time) {
		in->soft.seconds = sa->peer->child_rekey_time;
		in->hard.seconds = sa->peer->child_rekey_time + sa->peer->child_rekey_time / 10 + 60;
	}
	in->path = sa->path;
	in->encap = sa->path.rport == IKEV2_NATT_PORT || sa->path.lport == IKEV2_NATT_PORT;
	in->nat_local = sa->nat_local;
	in->nat_remote = sa->nat_remote;
	in->local_ts = c->local_ts;
	in->remote_ts = c->remote_ts;
	c->state = CHILD_ST_INSTALLED;
	c->established_ms = mono_ms();
	c->next = sa->children;
	sa->children = c;
	ike_count(e, replaces ? IKE_C_child_rekeyed : IKE_C_child_established);
	log_info("ike", "CHILD SA up child=%u sa=%u peer=%s spi_in=0x%08x spi_out=0x%08x suite=%s mode=%s%s",
		 c->id, sa->id, sa->peer->name, c->spi_in, c->spi_out,
		 ike_suite_fmt(&c->suite, false, sbuf, sizeof(sbuf)), sa_mode_name(c->mode),
		 replaces ? " rekey" : "");
	if (e->ops->child_up)
		e->ops->child_up(e->arg, in);
	if (sa->peer->child_rekey_time)
		timer_arm_ms(&c->rekey, jitter_ms(sa->peer->child_rekey_time));
	ike_keyexport_auto(e);
	return 0;
}

/* After a rekey: the old child stays installed a little (packets in
 * flight on it) and goes down then. */
void ike_child_retire(struct ike_child *c)
{
	c->state = CHILD_ST_REKEYED;
	timer_cancel(&c->rekey);
	timer_arm_ms(&c->expire, IKE_CHILD_OVERLAP_MS);
}
