/* The IKEv2 engine in the `ipsec` role: datagrams in and out through gw's
 * IKE hook, CHILD SAs into the data plane, lifetimes polled from the SAs.
 * See gw_ike.h and docs/config-ipsec.md. */
#include "ipsec/gw_ike.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/stats.h"
#include "ikev2/ike.h"
#include "ikev2/ike_config.h"
#include "ipsec/gw.h"
#include "ipsec/gw_dp.h"
#include "ipsec/pad.h"
#include "ipsec/spd.h"
#include "net/loop.h"

#define MOD "ipsec"
#define GW_IKE_MAX_CHILDREN GW_DP_MAX_CHILDREN
/* How often the SAs' lifetimes are read besides the data plane's wake-up
 * when a packet crosses a byte/packet limit. */

#define C(var, name, help) static COUNTER_DEFINE(var, "mipsec_ipsec_" name "_total", help)
C(c_ike_child_err, "ike_child_install_errors", "CHILD SAs from IKE the data plane refused");
C(c_ike_soft, "ike_soft_expiries", "CHILD SAs past a soft byte/packet lifetime (rekey asked)");
C(c_ike_hard, "ike_hard_expiries", "CHILD SAs past a hard byte/packet lifetime (deleted)");
C(c_ike_pad_deny, "ike_pad_refused", "CHILD SAs refused by the PAD (identity or selectors)");
C(c_ike_ts_wide, "ike_ts_widened", "Traffic selector ranges widened to a covering prefix");
#undef C

struct gw_ike_child {
	uint32_t id;			/* engine child id; 0 = free slot */
	uint32_t spi_in;
	bool rekey_asked;
};

struct gw_ike {
	struct gw *gw;
	struct loop *loop;
	struct ike_engine *e;
	struct timer poll;
	unsigned poll_ms;		/* 0: no poll, wake-ups only */
	struct pad *pad;		/* NULL: no PAD configured */
	/* The negotiated selectors as PROTECT policies (`show spd`): what the
	 * data plane's own prefix table enforces, with ports and protocols. */
	struct spd *spd;
	struct gw_ike_child ch[GW_IKE_MAX_CHILDREN];
};

/* ---- engine -> gw -------------------------------------------------------- */

static void ops_send(void *arg, const struct ike_path *p, const uint8_t *msg, size_t len)
{
	struct gw_ike *g = arg;
	struct gw_path gp = { .local = p->local, .peer = p->remote, .local_port = p->lport,
			      .peer_port = p->rport };

	gw_send_ike(g->gw, &gp, msg, len);
}

static void ops_keepalive(void *arg, const struct ike_path *p)
{
	struct gw_ike *g = arg;
	struct gw_path gp = { .local = p->local, .peer = p->remote, .local_port = p->lport,
			      .peer_port = p->rport };

	gw_send_natt_keepalive(g->gw, &gp);
}

/* The prefix of `len` bits of `a` as the first or last address. */
static void prefix_edge(const struct ip_addr *a, unsigned len, bool last, uint8_t *out)
{
	size_t n = ip_addr_len(a);

	memcpy(out, a->bytes, n);
	for (unsigned bit = len; bit < n * 8; bit++) {
		uint8_t m = (uint8_t)(0x80u >> (bit % 8));
		out[bit / 8] = last ? (out[bit / 8] | m) : (out[bit / 8] & (uint8_t)~m);
	}
}

/* An address range as a prefix: exact when the range is one, else the
 * smallest prefix covering it (the data plane selects on prefixes). */
static bool ts_prefix(const struct ike_ts *ts, struct ip_prefix *out)
{
	size_t n = ip_addr_len(&ts->start);
	uint8_t lo[16], hi[16];
	unsigned len;

	if (!n || ts->start.family != ts->end.family)
		return false;
	/* The longest prefix of start that reaches end covers the range. */
	for (len = (unsigned)n * 8; len > 0; len--) {
		prefix_edge(&ts->start, len, true, hi);
		if (memcmp(hi, ts->end.bytes, n) >= 0)
			break;
	}
	prefix_edge(&ts->start, len, false, lo);
	prefix_edge(&ts->start, len, true, hi);
	if (memcmp(lo, ts->start.bytes, n) || memcmp(hi, ts->end.bytes, n))
		counter_inc(&c_ike_ts_wide);
	memset(out, 0, sizeof(*out));
	out->addr.family = ts->start.family;
	memcpy(out->addr.bytes, lo, n);
	out->len = (uint8_t)len;
	return true;
}

static size_t ts_prefixes(const struct ike_ts_set *s, struct ip_prefix *out)
{
	size_t k = 0;

	for (size_t i = 0; i < s->n && k < GW_MAX_TS; i++) {
		if (!ts_prefix(&s->ts[i], &out[k]))
			continue;
		/* Two selectors (ports, protocols) of one prefix: one entry. */
		bool dup = false;
		for (size_t j = 0; j < k; j++)
			dup |= out[j].len == out[k].len && ip_addr_eq(&out[j].addr, &out[k].addr);
		if (!dup)
			k++;
	}
	return k;
}

static struct gw_ike_child *slot_of(struct gw_ike *g, uint32_t id)
{
	for (size_t i = 0; i < GW_IKE_MAX_CHILDREN; i++)
		if (g->ch[i].id == id)
			return &g->ch[i];
	return NULL;
}

static void ts_to_spd(const struct ike_ts *t, struct spd_ts *o);

/* The child's selectors into the SPD (named by its inbound SPI, as the
 * data plane names it). */
static void spd_child_add(struct gw_ike *g, const struct ike_child_info *c)
{
	struct spd_ts l[IKE_TS_MAX], r[IKE_TS_MAX];
	struct spd_policy tmpl = { .action = SPD_PROTECT, .priority = 100,
				   .protect = { .child_id = c->spi_in, .mode = c->mode,
						.ipsec_proto = 50 } };
	enum spd_err err = SPD_OK;

	if (!g->spd)
		return;
	for (size_t i = 0; i < c->local_ts.n; i++)
		ts_to_spd(&c->local_ts.ts[i], &l[i]);
	for (size_t i = 0; i < c->remote_ts.n; i++)
		ts_to_spd(&c->remote_ts.ts[i], &r[i]);
	if (!spd_add_from_ts(g->spd, l, c->local_ts.n, r, c->remote_ts.n, &tmpl, &err) &&
	    err != SPD_OK)
		log_warn(MOD, "child %u: no SPD entry err=\"%s\"", c->id, spd_strerror(err));
}

static void ops_child_up(void *arg, const struct ike_child_info *c)
{
	struct gw_ike *g = arg;
	struct ip_prefix lts[GW_MAX_TS], rts[GW_MAX_TS];
	struct sa_params in = {
		.spi = c->spi_in, .dir = SA_DIR_IN, .mode = c->mode, .xform = c->xform,
		.esn = c->esn, .enc_key = c->enc_in, .enc_key_len = c->enc_key_len,
		.auth_key = c->auth_key_len ? c->auth_in : NULL, .auth_key_len = c->auth_key_len,
		.soft = c->soft, .hard = c->hard, .src = c->path.remote, .dst = c->path.local,
		.now_s = mono_ms() / 1000,
	};
	struct sa_params out = in;
	struct gw_ike_child *s = slot_of(g, 0);
	int rc;

	/* Time is the engine's (its jittered rekey timer); the poll acts on
	 * bytes and packets, and on the hard time limit as a backstop. */
	in.soft.seconds = 0;
	out = in;
	out.spi = c->spi_out;
	out.dir = SA_DIR_OUT;
	out.enc_key = c->enc_out;
	out.auth_key = c->auth_key_len ? c->auth_out : NULL;
	out.src = c->path.local;
	out.dst = c->path.remote;
	struct gw_child_sel sel = {
		/* Without NAT the IKE path is on port 500: ESP in UDP still goes
		 * to the NAT-T port (our data plane has no raw ESP). */
		.peer = c->path.remote, .peer_port = c->encap ? c->path.rport : 0,
		.local_ts = lts, .n_local_ts = ts_prefixes(&c->local_ts, lts),
		.remote_ts = rts, .n_remote_ts = ts_prefixes(&c->remote_ts, rts),
		.routes = true,
	};
	if (!c->encap)
		log_notice(MOD, "child %u negotiated without UDP encapsulation: sending ESP in UDP to port %u anyway",
			   c->id, c->path.rport);
	rc = s ? gw_install_child(g->gw, &in, &out, &sel) : -ENOSPC;
	if (rc < 0) {
		counter_inc(&c_ike_child_err);
		log_err(MOD, "cannot install IKE child id=%u policy=%s spi_in=0x%08x err=\"%s\"",
			c->id, c->policy, c->spi_in, strerror(-rc));
		ike_engine_delete_child(g->e, c->id);
		return;
	}
	*s = (struct gw_ike_child){ .id = c->id, .spi_in = c->spi_in };
	spd_child_add(g, c);
	/* The replaced child lives out its overlap without a rekey of its own. */
	struct gw_ike_child *old = c->replaces ? slot_of(g, c->replaces) : NULL;
	if (old)
		old->rekey_asked = true;
	log_info(MOD, "IKE child up id=%u ike=%u policy=%s peer=%s spi_in=0x%08x spi_out=0x%08x replaces=%u",
		 c->id, c->ike_id, c->policy, c->peer, c->spi_in, c->spi_out, c->replaces);
}

static void ops_child_down(void *arg, uint32_t id)
{
	struct gw_ike *g = arg;
	struct gw_ike_child *s = slot_of(g, id);

	if (!s || !id)
		return;
	gw_remove_child(g->gw, s->spi_in);
	if (g->spd)
		spd_del_child(g->spd, s->spi_in);
	log_info(MOD, "IKE child down id=%u spi_in=0x%08x", id, s->spi_in);
	memset(s, 0, sizeof(*s));
}

static void ops_child_moved(void *arg, const struct ike_child_info *c)
{
	/* The data plane's children are immutable: reinstall on the new path. */
	ops_child_down(arg, c->id);
	ops_child_up(arg, c);
}

static void ops_ike_up(void *arg, uint32_t id, const char *peer, const struct ike_id *pid)
{
	char b[300];

	(void)arg;
	log_info(MOD, "IKE SA up id=%u peer=%s id=%s", id, peer, ike_id_fmt(pid, b, sizeof(b)));
}

static void ops_ike_down(void *arg, uint32_t id, const char *peer)
{
	(void)arg;
	log_info(MOD, "IKE SA down id=%u peer=%s", id, peer);
}

/* ---- PAD ------------------------------------------------------------------- */

static void ts_to_spd(const struct ike_ts *t, struct spd_ts *o)
{
	/* (also the SPD mirror's conversion) */
	memset(o, 0, sizeof(*o));
	o->family = t->start.family;
	o->proto = t->proto;
	o->port_start = t->sport;
	o->port_end = t->eport;
	memcpy(o->start, t->start.bytes, ip_addr_len(&t->start));
	memcpy(o->end, t->end.bytes, ip_addr_len(&t->end));
}

static void ts_from_spd(const struct spd_ts *o, struct ike_ts *t)
{
	memset(t, 0, sizeof(*t));
	t->start.family = t->end.family = o->family;
	memcpy(t->start.bytes, o->start, o->family == AF_INET ? 4 : 16);
	memcpy(t->end.bytes, o->end, o->family == AF_INET ? 4 : 16);
	t->proto = o->proto;
	t->sport = o->port_start;
	t->eport = o->port_end;
}

/* The engine's authorize hook: the identity needs a PAD entry, and what
 * it may claim is the configured remote_ts narrowed to the entry's space
 * (and to what it asked for). */
static int ops_authorize(void *arg, const char *peer, const struct ike_id *pid,
			 const struct ike_ts_set *req, struct ike_ts_set *allowed)
{
	struct gw_ike *g = arg;
	struct spd_ts r[IKE_TS_MAX], ok[IKE_TS_MAX], cfg[IKE_TS_MAX], out[IKE_TS_MAX];
	size_t nok = 0, n;
	char why[160], idb[300];

	if (!g->pad)
		return 0;
	const struct pad_entry *e = pad_lookup(g->pad, pid->type, pid->data, pid->len);
	if (!e) {
		counter_inc(&c_ike_pad_deny);
		log_notice(MOD, "PAD: no entry for identity %s (peer %s): CHILD SA refused",
			   ike_id_fmt(pid, idb, sizeof(idb)), peer);
		return -1;
	}
	for (size_t i = 0; i < req->n; i++)
		ts_to_spd(&req->ts[i], &r[i]);
	enum pad_verdict v = pad_authorize(e, pid->type, pid->data, pid->len, r, req->n, ok,
					   IKE_TS_MAX, &nok, why, sizeof(why));
	if (v != PAD_ALLOW && v != PAD_NARROWED) {
		counter_inc(&c_ike_pad_deny);
		log_notice(MOD, "PAD: identity %s (peer %s) refused: %s: %s",
			   ike_id_fmt(pid, idb, sizeof(idb)), peer, pad_verdict_str(v), why);
		return -1;
	}
	for (size_t i = 0; i < allowed->n; i++)
		ts_to_spd(&allowed->ts[i], &cfg[i]);
	n = spd_ts_narrow(ok, nok, cfg, allowed->n, out, IKE_TS_MAX);
	if (!n) {
		counter_inc(&c_ike_pad_deny);
		log_notice(MOD, "PAD: identity %s (peer %s): its space and remote_ts do not meet",
			   ike_id_fmt(pid, idb, sizeof(idb)), peer);
		return -1;
	}
	allowed->n = n;
	for (size_t i = 0; i < n; i++)
		ts_from_spd(&out[i], &allowed->ts[i]);
	return 0;
}

/* ---- gw -> engine -------------------------------------------------------- */

static void on_ike(void *arg, const struct gw_path *p, const uint8_t *msg, size_t len)
{
	struct gw_ike *g = arg;
	struct ike_path ip = { .local = p->local, .remote = p->peer, .lport = p->local_port,
			       .rport = p->peer_port };
	uint8_t *copy = malloc(len ? len : 1);

	/* The engine may modify the message (decryption in place). */
	if (!copy)
		return;
	memcpy(copy, msg, len);
	ike_engine_input(g->e, &ip, copy, len);
	free(copy);
}

/* Byte and packet lifetimes live in the SAs the workers count on: the
 * data plane wakes us when a packet crosses one (on_expiry), and a slow
 * poll backs that up and applies the hard time limit. */
static void check_lifetimes(struct gw_ike *g)
{
	uint64_t now = mono_ms() / 1000;

	for (size_t i = 0; i < GW_IKE_MAX_CHILDREN; i++) {
		struct gw_ike_child *s = &g->ch[i];
		struct gw_dp_child *c;

		if (!s->id || !(c = gw_child_get(g->gw, s->spi_in)))
			continue;
		/* peek: the SAs belong to the worker threads */
		enum sa_expiry a = sa_expiry_peek(c->in, now), b = sa_expiry_peek(c->out, now);
		enum sa_expiry x = a > b ? a : b;
		if (x == SA_HARD) {
			counter_inc(&c_ike_hard);
			log_notice(MOD, "child id=%u spi_in=0x%08x hard lifetime reached: deleting",
				   s->id, s->spi_in);
			ike_engine_delete_child(g->e, s->id);
		} else if (x == SA_SOFT && !s->rekey_asked) {
			counter_inc(&c_ike_soft);
			s->rekey_asked = true;
			log_info(MOD, "child id=%u spi_in=0x%08x soft lifetime reached: rekeying",
				 s->id, s->spi_in);
			ike_engine_rekey_child(g->e, s->id);
		}
	}
}

static void on_expiry(void *arg)
{
	check_lifetimes(arg);
}

static void on_poll(void *arg)
{
	struct gw_ike *g = arg;

	check_lifetimes(g);
	timer_arm_ms(&g->poll, g->poll_ms);
}

struct gw_ike *gw_ike_new(struct gw *gw, struct loop *loop, const struct ike_config *cfg,
			  const struct pad_entry *pad, size_t n_pad, unsigned poll_ms, char *err,
			  size_t errlen)
{
	static const struct ike_ops ops = {
		.send = ops_send, .keepalive = ops_keepalive, .child_up = ops_child_up,
		.child_down = ops_child_down, .child_moved = ops_child_moved, .ike_up = ops_ike_up, .ike_down = ops_ike_down,
		.authorize = ops_authorize,
	};
	struct gw_ike *g = calloc(1, sizeof(*g));

	if (!g) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	counter_register(&c_ike_child_err);
	counter_register(&c_ike_soft);
	counter_register(&c_ike_hard);
	counter_register(&c_ike_ts_wide);
	counter_register(&c_ike_pad_deny);
	g->gw = gw;
	g->poll_ms = poll_ms;
	if (n_pad) {
		uint32_t id;
		if (!(g->pad = pad_new())) {
			snprintf(err, errlen, "out of memory");
			free(g);
			return NULL;
		}
		pad_stats_register();
		for (size_t i = 0; i < n_pad; i++)
			if (pad_add(g->pad, &pad[i], &id) != PAD_OK) {
				snprintf(err, errlen, "cannot add PAD entry %zu", i);
				pad_free(g->pad);
				free(g);
				return NULL;
			}
		pad_table_register(g->pad, "pad");
	}
	g->loop = loop;
	if ((g->spd = spd_new())) {
		spd_stats_register();
		spd_table_register(g->spd, "spd");
	}
	if (!(g->e = ike_engine_new(loop, cfg, &ops, g, "ipsec", err, errlen))) {
		spd_free(g->spd);
		pad_free(g->pad);
		free(g);
		return NULL;
	}
	ike_engine_register_tables(g->e);
	timer_init(&g->poll, loop, on_poll, g);
	gw_set_ike_handler(gw, on_ike, g);
	gw_set_expiry_handler(gw, on_expiry, g);
	return g;
}

void gw_ike_start(struct gw_ike *g)
{
	ike_engine_start(g->e);
	if (g->poll_ms)
		timer_arm_ms(&g->poll, g->poll_ms);
}

void gw_ike_stop(struct gw_ike *g)
{
	timer_cancel(&g->poll);
	ike_engine_shutdown(g->e);
}

void gw_ike_free(struct gw_ike *g)
{
	if (!g)
		return;
	timer_deinit(&g->poll);
	gw_set_ike_handler(g->gw, NULL, NULL);
	gw_set_expiry_handler(g->gw, NULL, NULL);
	ike_engine_free(g->e);
	for (size_t i = 0; i < GW_IKE_MAX_CHILDREN; i++)
		if (g->ch[i].id)
			gw_remove_child(g->gw, g->ch[i].spi_in);
	spd_free(g->spd);
	pad_free(g->pad);
	free(g);
}

json_t *gw_ike_dump(const struct gw_ike *g)
{
	return json_pack("{s:I, s:I}", "ike_sas", (json_int_t)ike_engine_n_ike(g->e),
			 "child_sas", (json_int_t)ike_engine_n_child(g->e));
}
