/* Two real IKE engines in one process over a libevent loop: each one's
 * send callback queues the datagram, a zero-delay timer delivers it to
 * the other engine (never re-entering an engine from its own callback).
 * A per-datagram filter can drop or alter traffic, and every datagram can
 * be written to a pcap file (UDP over IPv4/IPv6, LINKTYPE_RAW) for tshark.
 * Used by tests/unit/test_ike_*.c and tests/tools/ike_pair_tool.c. */
#ifndef MIPSEC_TESTS_IKE_PAIR_H
#define MIPSEC_TESTS_IKE_PAIR_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libconfig.h>

#include "core/log.h"
#include "ikev2/ike.h"
#include "ikev2/ike_config.h"
#include "net/loop.h"
#include "wire/wire.h"

#define PAIR_QMAX 256

struct pair;

struct pair_side {
	struct pair *p;
	int idx;
	struct ike_engine *e;
	struct ike_config cfg;
	struct ike_ops ops;
	struct ip_addr addr;
	/* What the owner saw. */
	unsigned ike_up, ike_down, child_up, child_down, moved, keepalives;
	struct ike_path last_keepalive;
	struct ike_child_info last_child;
	uint32_t child_ids[64];
	size_t n_child_ids;
	uint32_t last_ike;
	/* PAD hook result, when set. */
	bool pad_set;
	struct ike_ts_set pad;
};

struct pair_dgram {
	int to;			/* side index */
	struct ike_path path;	/* as the receiver sees it */
	uint8_t *buf;
	size_t len;
};

/* Return false to drop; may alter buf/len (len <= cap). */
typedef bool (*pair_filter)(struct pair *p, int from, uint8_t *buf, size_t *len, size_t cap,
			    unsigned seq);

struct pair {
	struct loop *loop;
	struct pair_side s[2];
	struct pair_dgram q[PAIR_QMAX];
	size_t nq;
	struct timer deliver, tick, deadline;
	pair_filter filter;
	void *filter_arg;
	unsigned sent[2];	/* datagrams sent per side */
	unsigned seq;
	bool (*cond)(struct pair *p);
	bool timed_out;
	FILE *pcap;
	/* A NAT in front of side i: the other side sees it as nat[i]:nat_port[i]. */
	bool nat_on[2];
	struct ip_addr nat[2];
	uint16_t nat_port[2];
};

__attribute__((unused)) static void pair_pcap_write(struct pair *p, const struct ike_path *path, const uint8_t *b,
			    size_t len)
{
	uint8_t hdr[48 + 8];
	size_t hl = path->local.family == AF_INET ? 20 : 40;
	uint64_t us = mono_us();
	uint32_t rec[4] = { (uint32_t)(us / 1000000), (uint32_t)(us % 1000000),
			    (uint32_t)(hl + 8 + len), (uint32_t)(hl + 8 + len) };

	if (!p->pcap)
		return;
	memset(hdr, 0, sizeof(hdr));
	if (hl == 20) {
		hdr[0] = 0x45;
		put_be16(hdr + 2, (uint16_t)(hl + 8 + len));
		hdr[8] = 64;
		hdr[9] = 17;
		memcpy(hdr + 12, path->local.bytes, 4);
		memcpy(hdr + 16, path->remote.bytes, 4);
		put_be16(hdr + 10, csum_fold(csum_partial(hdr, 20, 0)));
	} else {
		hdr[0] = 0x60;
		put_be16(hdr + 4, (uint16_t)(8 + len));
		hdr[6] = 17;
		hdr[7] = 64;
		memcpy(hdr + 8, path->local.bytes, 16);
		memcpy(hdr + 24, path->remote.bytes, 16);
	}
	put_be16(hdr + hl, path->lport);
	put_be16(hdr + hl + 2, path->rport);
	put_be16(hdr + hl + 4, (uint16_t)(8 + len));
	if (hl == 40) {
		/* UDP over IPv6 needs its checksum (RFC 8200 §8.1). */
		uint8_t *udp = malloc(8 + len);

		if (udp) {
			memcpy(udp, hdr + hl, 8);
			memcpy(udp + 8, b, len);
			put_be16(hdr + hl + 6, csum_ipv6(hdr + 8, hdr + 24, 17, udp, 8 + len));
			free(udp);
		}
	}
	fwrite(rec, sizeof(rec), 1, p->pcap);
	fwrite(hdr, hl + 8, 1, p->pcap);
	fwrite(b, len, 1, p->pcap);
	fflush(p->pcap);
}

__attribute__((unused)) static int pair_pcap_open(struct pair *p, const char *path)
{
	/* Classic pcap, LINKTYPE_RAW (101): IPv4 or IPv6 by version nibble. */
	uint32_t gh[6] = { 0xa1b2c3d4, 0x00040002, 0, 0, 65535, 101 };

	p->pcap = fopen(path, "wb");
	if (!p->pcap)
		return -1;
	fwrite(gh, sizeof(gh), 1, p->pcap);
	return 0;
}

__attribute__((unused)) static void pair_send(void *arg, const struct ike_path *path, const uint8_t *msg, size_t len)
{
	struct pair_side *s = arg;
	struct pair *p = s->p;
	struct pair_dgram *d;
	uint8_t *copy;
	size_t l = len, cap = len + 256;

	p->sent[s->idx]++;
	copy = malloc(cap);
	if (!copy)
		return;
	memcpy(copy, msg, len);
	if (p->filter && !p->filter(p, s->idx, copy, &l, cap, p->seq++)) {
		free(copy);
		return;
	}
	if (p->nq >= PAIR_QMAX) {
		free(copy);
		return;
	}
	pair_pcap_write(p, path, copy, l);
	d = &p->q[p->nq++];
	d->to = !s->idx;
	d->path.local = path->remote;
	d->path.remote = path->local;
	d->path.lport = path->rport;
	d->path.rport = path->lport;
	/* The engine may not know its own address: the pair does. */
	if (d->path.remote.family == 0 || !memcmp(d->path.remote.bytes, (uint8_t[16]){ 0 }, 16))
		d->path.remote = s->addr;
	if (p->nat_on[s->idx]) {
		d->path.remote = p->nat[s->idx];
		d->path.rport = (uint16_t)(p->nat_port[s->idx] + (path->lport == 4500));
	}
	d->buf = copy;
	d->len = l;
	timer_arm_us(&p->deliver, 0);
}

__attribute__((unused)) static void pair_deliver(void *arg)
{
	struct pair *p = arg;

	while (p->nq) {
		struct pair_dgram d = p->q[0];

		memmove(p->q, p->q + 1, (p->nq - 1) * sizeof(d));
		p->nq--;
		ike_engine_input(p->s[d.to].e, &d.path, d.buf, d.len);
		free(d.buf);
	}
}

__attribute__((unused)) static void pair_child_up(void *arg, const struct ike_child_info *c)
{
	struct pair_side *s = arg;

	s->child_up++;
	s->last_child = *c;
	if (s->n_child_ids < 64)
		s->child_ids[s->n_child_ids++] = c->id;
}

__attribute__((unused)) static void pair_child_down(void *arg, uint32_t id)
{
	struct pair_side *s = arg;

	(void)id;
	s->child_down++;
}

__attribute__((unused)) static void pair_child_moved(void *arg, const struct ike_child_info *c)
{
	struct pair_side *s = arg;

	s->moved++;
	s->last_child = *c;
}

__attribute__((unused)) static void pair_keepalive(void *arg, const struct ike_path *path)
{
	struct pair_side *s = arg;

	s->keepalives++;
	s->last_keepalive = *path;
}

__attribute__((unused)) static void pair_ike_up(void *arg, uint32_t id, const char *peer, const struct ike_id *pid)
{
	struct pair_side *s = arg;

	(void)peer;
	(void)pid;
	s->ike_up++;
	s->last_ike = id;
}

__attribute__((unused)) static void pair_ike_down(void *arg, uint32_t id, const char *peer)
{
	struct pair_side *s = arg;

	(void)id;
	(void)peer;
	s->ike_down++;
}

__attribute__((unused)) static int pair_authorize(void *arg, const char *peer, const struct ike_id *id,
			  const struct ike_ts_set *req, struct ike_ts_set *allowed)
{
	struct pair_side *s = arg;

	(void)peer;
	(void)id;
	(void)req;
	if (s->pad_set) {
		*allowed = s->pad;
		return allowed->n ? 0 : -1;
	}
	return 0;	/* the configured selectors, as they came in */
}

/* Parses the `ike` block of `text`; fails the test on any error. */
__attribute__((unused)) static int pair_config(struct ike_config *c, const char *text, char *errbuf, size_t errlen)
{
	char path[128];
	config_t lc;
	struct cfg_ctx ctx;
	FILE *f;
	const config_setting_t *g;
	bool ok;

	snprintf(path, sizeof(path), "/tmp/ike_pair.%d.conf", (int)getpid());
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	fclose(f);
	config_init(&lc);
	if (!config_read_file(&lc, path)) {
		snprintf(errbuf, errlen, "libconfig: %s line %d", config_error_text(&lc),
			 config_error_line(&lc));
		config_destroy(&lc);
		unlink(path);
		return -1;
	}
	cfg_ctx_init(&ctx, path);
	g = config_lookup(&lc, "ike");
	ok = g && ike_config_parse(&ctx, g, c);
	if (!ok)
		snprintf(errbuf, errlen, "%s", ctx.n_errors ? ctx.errors[0] : "no ike block");
	cfg_ctx_clear(&ctx);
	config_destroy(&lc);
	unlink(path);
	return ok ? 0 : -1;
}

__attribute__((unused)) static void pair_tick(void *arg)
{
	struct pair *p = arg;

	if (p->cond && p->cond(p)) {
		loop_exit(p->loop);
		return;
	}
	timer_arm_ms(&p->tick, 5);
}

__attribute__((unused)) static void pair_timeout(void *arg)
{
	struct pair *p = arg;

	p->timed_out = true;
	loop_exit(p->loop);
}

/* Runs the loop until cond(p) or timeout_ms; true when cond held. */
__attribute__((unused)) static bool pair_run(struct pair *p, bool (*cond)(struct pair *p), unsigned timeout_ms)
{
	p->cond = cond;
	p->timed_out = false;
	if (cond(p))
		return true;
	timer_arm_ms(&p->tick, 5);
	timer_arm_ms(&p->deadline, timeout_ms);
	loop_run(p->loop);
	timer_cancel(&p->tick);
	timer_cancel(&p->deadline);
	return cond(p);
}

/* Two engines from the two `ike` configurations. */
__attribute__((unused)) static int pair_init(struct pair *p, const char *cfg_a, const char *cfg_b, const char *addr_a,
		     const char *addr_b, char *err, size_t errlen)
{
	memset(p, 0, sizeof(*p));
	p->loop = loop_new();
	timer_init(&p->deliver, p->loop, pair_deliver, p);
	timer_init(&p->tick, p->loop, pair_tick, p);
	timer_init(&p->deadline, p->loop, pair_timeout, p);
	for (int i = 0; i < 2; i++) {
		struct pair_side *s = &p->s[i];

		s->p = p;
		s->idx = i;
		if (pair_config(&s->cfg, i ? cfg_b : cfg_a, err, errlen))
			return -1;
		ip_addr_parse(i ? addr_b : addr_a, AF_UNSPEC, &s->addr);
		s->ops = (struct ike_ops){ .send = pair_send, .child_up = pair_child_up,
					   .child_down = pair_child_down,
					   .child_moved = pair_child_moved, .ike_up = pair_ike_up,
					   .ike_down = pair_ike_down, .authorize = pair_authorize,
					   .keepalive = pair_keepalive };
		s->e = ike_engine_new(p->loop, &s->cfg, &s->ops, s, i ? "b" : "a", err, errlen);
		if (!s->e)
			return -1;
	}
	return 0;
}

__attribute__((unused)) static void pair_free(struct pair *p)
{
	pair_deliver(p);
	for (int i = 0; i < 2; i++) {
		ike_engine_free(p->s[i].e);
		ike_config_free(&p->s[i].cfg);
	}
	while (p->nq)
		free(p->q[--p->nq].buf);
	timer_deinit(&p->deliver);
	timer_deinit(&p->tick);
	timer_deinit(&p->deadline);
	if (p->pcap)
		fclose(p->pcap);
	loop_free(p->loop);
}

__attribute__((unused)) static uint64_t pc(struct pair *p, int side, const char *name)
{
	return ike_engine_counter(p->s[side].e, name);
}

#endif
