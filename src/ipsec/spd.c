/* Security Policy Database, see spd.h. */
#include "ipsec/spd.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/stats.h"
#include "wire/exthdr.h"
#include "wire/ipv4.h"

#define SPD_MIN_BUCKETS 64

COUNTER_DEFINE(ctr_mismatch, "mipsec_spd_inbound_mismatch_total",
	       "Decrypted packets their SA's policies do not allow (spd_inbound_mismatch)");
COUNTER_DEFINE(ctr_clear_protected, "mipsec_spd_clear_protected_total",
	       "Packets that arrived in clear although a PROTECT policy covers them");
COUNTER_DEFINE(ctr_discard, "mipsec_spd_discard_total",
	       "Packets dropped by a DISCARD policy");
COUNTER_DEFINE(ctr_no_policy, "mipsec_spd_no_policy_total",
	       "Packets dropped because no policy matches them");
COUNTER_DEFINE(ctr_bad_packet, "mipsec_spd_bad_packet_total",
	       "Packets whose selectors could not be read (malformed IP header)");

void spd_stats_register(void)
{
	static int done;
	struct counter *all[] = { &ctr_mismatch, &ctr_clear_protected,
				  &ctr_discard, &ctr_no_policy, &ctr_bad_packet };

	if (done)
		return;
	done = 1;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		counter_register(all[i]);
}

const char *spd_strerror(enum spd_err e)
{
	switch (e) {
	case SPD_OK:			return "ok";
	case SPD_ERR_FAMILY:		return "selector family is neither IPv4 nor IPv6";
	case SPD_ERR_RANGE:		return "selector range starts after it ends";
	case SPD_ERR_PORTS_ANY_PROTO:	return "port ranges need a specific next-layer protocol";
	case SPD_ERR_PROTECT:		return "PROTECT needs a child id and ESP (50) or AH (51)";
	case SPD_ERR_NOMEM:		return "out of memory";
	case SPD_ERR_NOENT:		return "no such policy";
	case SPD_ERR_TS_TYPE:		return "traffic selector type is not an IPv4/IPv6 address range";
	}
	return "unknown SPD error";
}

static size_t alen(int family)
{
	return family == AF_INET ? 4 : 16;
}

static int fam_idx(int family)
{
	return family == AF_INET6;
}

/* ---- selectors ---- */

void spd_sel_any(struct spd_sel *s, int family)
{
	size_t n = alen(family);

	memset(s, 0, sizeof(*s));
	s->family = family;
	memset(s->lend, 0xff, n);
	memset(s->rend, 0xff, n);
	s->lport_end = s->rport_end = 0xffff;
}

static void prefix_range(const struct ip_prefix *p, uint8_t *start, uint8_t *end)
{
	size_t n = ip_addr_len(&p->addr);

	memset(start, 0, 16);
	memset(end, 0, 16);
	for (size_t i = 0; i < n; i++) {
		unsigned bits = p->len > i * 8 ? p->len - i * 8 : 0;
		uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff00 >> bits);

		start[i] = p->addr.bytes[i] & mask;
		end[i] = (uint8_t)(start[i] | (uint8_t)~mask);
	}
}

void spd_sel_local_prefix(struct spd_sel *s, const struct ip_prefix *p)
{
	s->family = p->addr.family;
	prefix_range(p, s->lstart, s->lend);
}

void spd_sel_remote_prefix(struct spd_sel *s, const struct ip_prefix *p)
{
	s->family = p->addr.family;
	prefix_range(p, s->rstart, s->rend);
}

void spd_sel_mh(struct spd_sel *s, int local_type, int remote_type)
{
	s->proto = PROTO_MH;
	s->lport_start = local_type < 0 ? 0 : (uint16_t)(local_type << 8);
	s->lport_end = local_type < 0 ? 0xffff : (uint16_t)(local_type << 8);
	s->rport_start = remote_type < 0 ? 0 : (uint16_t)(remote_type << 8);
	s->rport_end = remote_type < 0 ? 0xffff : (uint16_t)(remote_type << 8);
}

static bool in_range(const uint8_t *a, const uint8_t *s, const uint8_t *e, size_t n)
{
	return memcmp(a, s, n) >= 0 && memcmp(a, e, n) <= 0;
}

static bool port_in(uint16_t v, uint16_t s, uint16_t e)
{
	return v >= s && v <= e;
}

bool spd_sel_match(const struct spd_sel *s, enum spd_dir dir, const struct spd_pkt *t)
{
	const uint8_t *local = dir == SPD_OUT ? t->src : t->dst;
	const uint8_t *remote = dir == SPD_OUT ? t->dst : t->src;
	size_t n = alen(t->family);
	bool lany, rany;

	if (s->family != t->family || !in_range(remote, s->rstart, s->rend, n) ||
	    !in_range(local, s->lstart, s->lend, n))
		return false;
	if (s->proto && s->proto != t->proto)
		return false;
	lany = s->lport_start == 0 && s->lport_end == 0xffff;
	rany = s->rport_start == 0 && s->rport_end == 0xffff;
	if (lany && rany)
		return true;
	if (t->opaque)
		return false;
	if (t->typed)
		/* The sender's side carries the message type (spd.h). */
		return dir == SPD_OUT ? port_in(t->sport, s->lport_start, s->lport_end)
				      : port_in(t->sport, s->rport_start, s->rport_end);
	if (dir == SPD_OUT)
		return port_in(t->sport, s->lport_start, s->lport_end) &&
		       port_in(t->dport, s->rport_start, s->rport_end);
	return port_in(t->dport, s->lport_start, s->lport_end) &&
	       port_in(t->sport, s->rport_start, s->rport_end);
}

/* ---- index ---- */

/* Prefix length when [s, e] is exactly one prefix, else -1. */
static int range_plen(const uint8_t *s, const uint8_t *e, size_t n)
{
	size_t i = 0;
	int plen;

	while (i < n && s[i] == e[i])
		i++;
	plen = (int)(i * 8);
	if (i == n)
		return plen;
	{
		uint8_t x = s[i] ^ e[i];
		int b = 0;

		/* x must be 0..01..1 with s having zeros and e ones there. */
		while (b < 8 && !(x & (0x80 >> b)))
			b++;
		if ((uint8_t)(x + 1) & x)
			return -1;
		if ((s[i] & x) || (e[i] & x) != x)
			return -1;
		plen += b;
	}
	for (i++; i < n; i++)
		if (s[i] != 0 || e[i] != 0xff)
			return -1;
	return plen;
}

static uint64_t mix64(uint64_t h)
{
	/* MurmurHash3's finaliser: every input bit reaches every output bit,
	 * so host addresses differing only in their last bytes spread out. */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	return h ^ (h >> 33);
}

static uint64_t key_hash(int family, int plen, const uint8_t *addr)
{
	uint8_t m[16] = { 0 };
	size_t n = alen(family);
	uint64_t a, b;

	for (size_t i = 0; i < n && (int)(i * 8) < plen; i++) {
		int bits = plen - (int)(i * 8);

		m[i] = addr[i] & (bits >= 8 ? 0xff : (uint8_t)(0xff00 >> bits));
	}
	memcpy(&a, m, 8);
	memcpy(&b, m + 8, 8);
	return mix64(a ^ mix64(b ^ ((uint64_t)plen << 1 | (uint64_t)fam_idx(family))));
}

static size_t bucket_of(const struct spd *spd, const struct spd_policy *p)
{
	return key_hash(p->sel.family, p->rplen, p->sel.rstart) & (spd->nbuckets - 1);
}

static size_t child_of(const struct spd *spd, uint32_t child)
{
	return (size_t)(((uint64_t)child * 0x9e3779b97f4a7c15ull) >> 32) & (spd->nchildren - 1);
}

static void sorted_insert(struct spd_policy **head, struct spd_policy *p)
{
	while (*head && (*head)->order < p->order)
		head = &(*head)->bnext;
	p->bnext = *head;
	*head = p;
}

static void unlink_from(struct spd_policy **head, struct spd_policy *p, bool child)
{
	for (; *head; head = child ? &(*head)->cnext : &(*head)->bnext)
		if (*head == p) {
			*head = child ? p->cnext : p->bnext;
			return;
		}
}

static void rebuild_plens(struct spd *spd, int fi)
{
	uint8_t n = 0;

	for (int l = 0; l <= 128; l++)
		if (spd->plen_refs[fi][l])
			spd->plens[fi][n++] = (uint8_t)l;
	spd->nplens[fi] = n;
}

static void grow(struct spd *spd)
{
	size_t nb = spd->nbuckets * 2;
	struct spd_policy **b = calloc(nb, sizeof(*b));
	struct spd_policy **c = calloc(nb, sizeof(*c));
	struct spd_policy **ob = spd->buckets, **oc = spd->children;
	size_t on = spd->nbuckets, onc = spd->nchildren;

	if (!b || !c) {
		/* Chains get longer; lookups stay correct. */
		free(b);
		free(c);
		return;
	}
	spd->buckets = b;
	spd->nbuckets = nb;
	spd->children = c;
	spd->nchildren = nb;
	for (size_t i = 0; i < on; i++) {
		struct spd_policy *p = ob[i], *n;

		for (; p; p = n) {
			n = p->bnext;
			sorted_insert(&b[bucket_of(spd, p)], p);
		}
	}
	for (size_t i = 0; i < onc; i++) {
		struct spd_policy *p = oc[i], *n;

		for (; p; p = n) {
			size_t k = child_of(spd, p->protect.child_id);

			n = p->cnext;
			p->cnext = c[k];
			c[k] = p;
		}
	}
	free(ob);
	free(oc);
}

struct spd *spd_new(void)
{
	struct spd *spd = calloc(1, sizeof(*spd));

	if (!spd)
		return NULL;
	spd->nbuckets = spd->nchildren = SPD_MIN_BUCKETS;
	spd->buckets = calloc(spd->nbuckets, sizeof(*spd->buckets));
	spd->children = calloc(spd->nchildren, sizeof(*spd->children));
	if (!spd->buckets || !spd->children) {
		free(spd->buckets);
		free(spd->children);
		free(spd);
		return NULL;
	}
	spd->next_id = 1;
	spd_stats_register();
	return spd;
}

void spd_free(struct spd *spd)
{
	if (!spd)
		return;
	if (spd->tbl.name)
		table_unregister(&spd->tbl);
	for (size_t i = 0; i < spd->nbuckets; i++) {
		struct spd_policy *p = spd->buckets[i], *n;

		for (; p; p = n) {
			n = p->bnext;
			free(p);
		}
	}
	for (struct spd_policy *p = spd->general, *n; p; p = n) {
		n = p->bnext;
		free(p);
	}
	free(spd->buckets);
	free(spd->children);
	free(spd);
}

static enum spd_err check_policy(const struct spd_policy *p)
{
	const struct spd_sel *s = &p->sel;
	size_t n;

	if (s->family != AF_INET && s->family != AF_INET6)
		return SPD_ERR_FAMILY;
	n = alen(s->family);
	if (memcmp(s->lstart, s->lend, n) > 0 || memcmp(s->rstart, s->rend, n) > 0 ||
	    s->lport_start > s->lport_end || s->rport_start > s->rport_end)
		return SPD_ERR_RANGE;
	if (!s->proto && (s->lport_start || s->lport_end != 0xffff ||
			  s->rport_start || s->rport_end != 0xffff))
		return SPD_ERR_PORTS_ANY_PROTO;
	if (p->action == SPD_PROTECT &&
	    (!p->protect.child_id || (p->protect.ipsec_proto != PROTO_ESP &&
				      p->protect.ipsec_proto != PROTO_AH)))
		return SPD_ERR_PROTECT;
	return SPD_OK;
}

enum spd_err spd_add(struct spd *spd, const struct spd_policy *tmpl, uint32_t *id)
{
	enum spd_err e = check_policy(tmpl);
	struct spd_policy *p;
	int fi;

	if (e)
		return e;
	p = malloc(sizeof(*p));
	if (!p)
		return SPD_ERR_NOMEM;
	*p = *tmpl;
	/* Unused address bytes stay zero so that hashing IPv4 is stable. */
	if (p->sel.family == AF_INET) {
		memset(p->sel.lstart + 4, 0, 12);
		memset(p->sel.lend + 4, 0, 12);
		memset(p->sel.rstart + 4, 0, 12);
		memset(p->sel.rend + 4, 0, 12);
	}
	p->id = spd->next_id++;
	if (!spd->next_id)
		spd->next_id = 1;
	p->hits = 0;
	p->order = (uint64_t)p->priority << 32 | (spd->next_seq++ & 0xffffffffu);
	p->rplen = range_plen(p->sel.rstart, p->sel.rend, alen(p->sel.family));
	p->bnext = p->cnext = NULL;
	if (spd->nindexed >= spd->nbuckets)
		grow(spd);
	if (p->rplen >= 0) {
		fi = fam_idx(p->sel.family);
		sorted_insert(&spd->buckets[bucket_of(spd, p)], p);
		spd->nindexed++;
		if (!spd->plen_refs[fi][p->rplen]++)
			rebuild_plens(spd, fi);
	} else {
		sorted_insert(&spd->general, p);
	}
	if (p->action == SPD_PROTECT) {
		size_t k = child_of(spd, p->protect.child_id);

		p->cnext = spd->children[k];
		spd->children[k] = p;
	}
	spd->count++;
	if (id)
		*id = p->id;
	return SPD_OK;
}

static void remove_policy(struct spd *spd, struct spd_policy *p)
{
	if (p->rplen >= 0) {
		int fi = fam_idx(p->sel.family);

		unlink_from(&spd->buckets[bucket_of(spd, p)], p, false);
		spd->nindexed--;
		if (!--spd->plen_refs[fi][p->rplen])
			rebuild_plens(spd, fi);
	} else {
		unlink_from(&spd->general, p, false);
	}
	if (p->action == SPD_PROTECT)
		unlink_from(&spd->children[child_of(spd, p->protect.child_id)], p, true);
	spd->count--;
	free(p);
}

/* Control-plane walk over every policy (unordered). */
static struct spd_policy *find_id(const struct spd *spd, uint32_t id)
{
	for (size_t i = 0; i < spd->nbuckets; i++)
		for (struct spd_policy *p = spd->buckets[i]; p; p = p->bnext)
			if (p->id == id)
				return p;
	for (struct spd_policy *p = spd->general; p; p = p->bnext)
		if (p->id == id)
			return p;
	return NULL;
}

enum spd_err spd_del(struct spd *spd, uint32_t id)
{
	struct spd_policy *p = find_id(spd, id);

	if (!p)
		return SPD_ERR_NOENT;
	remove_policy(spd, p);
	return SPD_OK;
}

size_t spd_del_child(struct spd *spd, uint32_t child_id)
{
	struct spd_policy **head = &spd->children[child_of(spd, child_id)];
	size_t n = 0;

	for (struct spd_policy *p = *head, *nx; p; p = nx) {
		nx = p->cnext;
		if (p->protect.child_id == child_id) {
			remove_policy(spd, p);
			n++;
		}
	}
	return n;
}

const struct spd_policy *spd_get(const struct spd *spd, uint32_t id)
{
	return find_id(spd, id);
}

size_t spd_count(const struct spd *spd)
{
	return spd->count;
}

/* ---- lookups ---- */

/* Hit counts are statistics: relaxed loads and stores keep concurrent
 * lookups from two data-plane threads free of data races (a hit may be
 * lost then) without a locked instruction per packet. */
static void count_hit(struct spd_policy *p)
{
	__atomic_store_n(&p->hits, __atomic_load_n(&p->hits, __ATOMIC_RELAXED) + 1,
			 __ATOMIC_RELAXED);
}

static struct spd_policy *first_match(struct spd_policy *p, const struct spd_policy *best,
				      enum spd_dir dir, const struct spd_pkt *t)
{
	for (; p; p = p->bnext) {
		if (best && p->order >= best->order)
			return NULL;
		if (spd_sel_match(&p->sel, dir, t))
			return p;
	}
	return NULL;
}

const struct spd_policy *spd_lookup(struct spd *spd, enum spd_dir dir,
				    const struct spd_pkt *t)
{
	const uint8_t *remote = dir == SPD_OUT ? t->dst : t->src;
	struct spd_policy *best = NULL, *p;
	int fi;

	if (t->family != AF_INET && t->family != AF_INET6)
		return NULL;
	fi = fam_idx(t->family);
	for (unsigned i = 0; i < spd->nplens[fi]; i++) {
		int plen = spd->plens[fi][i];
		size_t b = key_hash(t->family, plen, remote) & (spd->nbuckets - 1);

		p = first_match(spd->buckets[b], best, dir, t);
		if (p)
			best = p;
	}
	p = first_match(spd->general, best, dir, t);
	if (p)
		best = p;
	if (best)
		count_hit(best);
	return best;
}

enum spd_action spd_out(struct spd *spd, const struct spd_pkt *t,
			const struct spd_policy **pol)
{
	const struct spd_policy *p = spd_lookup(spd, SPD_OUT, t);

	if (pol)
		*pol = p;
	if (!p) {
		counter_inc(&ctr_no_policy);
		return SPD_DISCARD;
	}
	if (p->action == SPD_DISCARD)
		counter_inc(&ctr_discard);
	return p->action;
}

bool spd_in_clear(struct spd *spd, const struct spd_pkt *t)
{
	const struct spd_policy *p = spd_lookup(spd, SPD_IN, t);

	if (!p) {
		counter_inc(&ctr_no_policy);
		return false;
	}
	switch (p->action) {
	case SPD_BYPASS:
		return true;
	case SPD_PROTECT:
		counter_inc(&ctr_clear_protected);
		return false;
	case SPD_DISCARD:
		break;
	}
	counter_inc(&ctr_discard);
	return false;
}

bool spd_in_protected(struct spd *spd, uint32_t child_id, const struct spd_pkt *t)
{
	struct spd_policy *p = spd->children[child_of(spd, child_id)];

	for (; p; p = p->cnext)
		if (p->protect.child_id == child_id && spd_sel_match(&p->sel, SPD_IN, t)) {
			count_hit(p);
			return true;
		}
	counter_inc(&ctr_mismatch);
	return false;
}

/* ---- packet selectors ---- */

static void upper_ports(struct spd_pkt *t, const uint8_t *p, size_t n)
{
	t->opaque = true;
	switch (t->proto) {
	case 6: case 17: case 33: case 132: case 136:	/* TCP UDP DCCP SCTP UDP-Lite */
		if (n >= 4) {
			t->sport = get_be16(p);
			t->dport = get_be16(p + 2);
			t->opaque = false;
		}
		return;
	case 1: case PROTO_ICMPV6:
		if (n >= 2) {
			t->typed = true;
			t->sport = (uint16_t)(p[0] << 8 | p[1]);
			t->opaque = false;
		}
		return;
	case PROTO_MH:
		/* The MH type is its third octet (RFC 6275 §6.1.1). */
		if (n >= 3) {
			t->typed = true;
			t->sport = (uint16_t)(p[2] << 8);
			t->opaque = false;
		}
		return;
	}
}

static enum wire_err parse_v4(const uint8_t *pkt, size_t len, struct spd_pkt *t,
			      struct wire_error *err)
{
	struct ipv4_hdr h;
	enum wire_err e = ipv4_parse(pkt, len, &h, err);
	size_t hl;

	if (e)
		return e;
	hl = (size_t)h.ihl * 4;
	t->family = AF_INET;
	memcpy(t->src, h.src, 4);
	memcpy(t->dst, h.dst, 4);
	t->proto = h.protocol;
	if (h.fragment_offset)
		t->opaque = true;
	else
		upper_ports(t, pkt + hl, h.total_length - hl);
	return WIRE_OK;
}

static enum wire_err parse_v6(const uint8_t *pkt, size_t len, struct spd_pkt *t,
			      struct wire_error *err)
{
	struct ipv6_chain c;
	enum wire_err e = ipv6_walk(pkt, len, &c, err);

	if (e)
		return e;
	t->family = AF_INET6;
	memcpy(t->src, c.src, 16);
	memcpy(t->dst, c.dst, 16);
	t->proto = c.proto;
	if (c.fragment) {
		const struct ipv6_ext *f = &c.ext[c.n - 1];

		/* Only the first fragment carries the upper-layer header. */
		if (get_be16(pkt + f->off + 2) >> 3) {
			t->opaque = true;
			return WIRE_OK;
		}
	}
	upper_ports(t, pkt + c.off, c.len);
	return WIRE_OK;
}

enum wire_err spd_pkt_parse(const uint8_t *pkt, size_t len, struct spd_pkt *t,
			    struct wire_error *err)
{
	enum wire_err e;

	memset(t, 0, sizeof(*t));
	if (len < 1)
		e = wire_fail(err, WIRE_ETRUNC, 0, "spd: empty packet");
	else if (pkt[0] >> 4 == 4)
		e = parse_v4(pkt, len, t, err);
	else if (pkt[0] >> 4 == 6)
		e = parse_v6(pkt, len, t, err);
	else
		e = wire_fail(err, WIRE_EVALUE, 0, "spd: IP version %u is neither 4 nor 6",
			      pkt[0] >> 4);
	if (e)
		counter_inc(&ctr_bad_packet);
	return e;
}

/* ---- traffic selectors ---- */

enum spd_err spd_ts_from_ikev2(const struct ikev2_ts *in, struct spd_ts *out)
{
	size_t n;

	memset(out, 0, sizeof(*out));
	if (in->type == IKEV2_TS_IPV4_ADDR_RANGE)
		out->family = AF_INET;
	else if (in->type == IKEV2_TS_IPV6_ADDR_RANGE)
		out->family = AF_INET6;
	else
		return SPD_ERR_TS_TYPE;
	if (!in->start || !in->end)
		return SPD_ERR_TS_TYPE;
	n = alen(out->family);
	memcpy(out->start, in->start, n);
	memcpy(out->end, in->end, n);
	out->proto = in->ip_protocol;
	out->port_start = in->start_port;
	out->port_end = in->end_port;
	if (memcmp(out->start, out->end, n) > 0 || out->port_start > out->port_end)
		return SPD_ERR_RANGE;
	return SPD_OK;
}

void spd_ts_to_ikev2(const struct spd_ts *in, struct ikev2_ts *out)
{
	memset(out, 0, sizeof(*out));
	out->type = in->family == AF_INET ? IKEV2_TS_IPV4_ADDR_RANGE : IKEV2_TS_IPV6_ADDR_RANGE;
	out->ip_protocol = in->proto;
	out->start_port = in->port_start;
	out->end_port = in->port_end;
	out->start = in->start;
	out->end = in->end;
	out->len = 8 + 2 * alen(in->family);
}

static bool proto_meet(uint8_t a, uint8_t b, uint8_t *out)
{
	if (a && b && a != b)
		return false;
	*out = a ? a : b;
	return true;
}

bool spd_ts_intersect(const struct spd_ts *a, const struct spd_ts *b, struct spd_ts *out)
{
	struct spd_ts r;
	size_t n;

	if (a->family != b->family || (a->family != AF_INET && a->family != AF_INET6))
		return false;
	memset(&r, 0, sizeof(r));
	r.family = a->family;
	if (!proto_meet(a->proto, b->proto, &r.proto))
		return false;
	r.port_start = a->port_start > b->port_start ? a->port_start : b->port_start;
	r.port_end = a->port_end < b->port_end ? a->port_end : b->port_end;
	if (r.port_start > r.port_end)
		return false;
	n = alen(r.family);
	memcpy(r.start, memcmp(a->start, b->start, n) > 0 ? a->start : b->start, n);
	memcpy(r.end, memcmp(a->end, b->end, n) < 0 ? a->end : b->end, n);
	if (memcmp(r.start, r.end, n) > 0)
		return false;
	*out = r;
	return true;
}

static bool ts_eq(const struct spd_ts *a, const struct spd_ts *b)
{
	size_t n = alen(a->family);

	return a->family == b->family && a->proto == b->proto &&
	       a->port_start == b->port_start && a->port_end == b->port_end &&
	       !memcmp(a->start, b->start, n) && !memcmp(a->end, b->end, n);
}

size_t spd_ts_narrow(const struct spd_ts *a, size_t na, const struct spd_ts *b,
		     size_t nb, struct spd_ts *out, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < na; i++)
		for (size_t j = 0; j < nb && n < cap; j++) {
			struct spd_ts r;
			bool dup = false;

			if (!spd_ts_intersect(&a[i], &b[j], &r))
				continue;
			for (size_t k = 0; k < n && !dup; k++)
				dup = ts_eq(&out[k], &r);
			if (!dup)
				out[n++] = r;
		}
	return n;
}

size_t spd_add_from_ts(struct spd *spd, const struct spd_ts *local, size_t nl,
		       const struct spd_ts *remote, size_t nr,
		       const struct spd_policy *tmpl, enum spd_err *err)
{
	size_t added = 0;

	if (err)
		*err = SPD_OK;
	for (size_t i = 0; i < nl; i++)
		for (size_t j = 0; j < nr; j++) {
			const struct spd_ts *l = &local[i], *r = &remote[j];
			struct spd_policy p = *tmpl;
			enum spd_err e;
			uint8_t proto;
			size_t n;

			if (l->family != r->family || !proto_meet(l->proto, r->proto, &proto))
				continue;
			n = alen(l->family);
			memset(&p.sel, 0, sizeof(p.sel));
			p.sel.family = l->family;
			p.sel.proto = proto;
			memcpy(p.sel.lstart, l->start, n);
			memcpy(p.sel.lend, l->end, n);
			memcpy(p.sel.rstart, r->start, n);
			memcpy(p.sel.rend, r->end, n);
			p.sel.lport_start = l->port_start;
			p.sel.lport_end = l->port_end;
			p.sel.rport_start = r->port_start;
			p.sel.rport_end = r->port_end;
			p.action = SPD_PROTECT;
			e = spd_add(spd, &p, NULL);
			if (e) {
				if (err)
					*err = e;
				continue;
			}
			added++;
		}
	return added;
}

/* ---- dump ---- */

static const char *action_name(enum spd_action a)
{
	return a == SPD_PROTECT ? "protect" : a == SPD_BYPASS ? "bypass" : "discard";
}

static void range_fmt(int family, const uint8_t *s, const uint8_t *e, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	int plen = range_plen(s, e, alen(family));

	inet_ntop(family, s, a, sizeof(a));
	if (plen >= 0) {
		snprintf(buf, size, "%s/%d", a, plen);
		return;
	}
	inet_ntop(family, e, b, sizeof(b));
	snprintf(buf, size, "%s-%s", a, b);
}

static json_t *policy_json(const struct spd_policy *p)
{
	char l[2 * INET6_ADDRSTRLEN + 8], r[2 * INET6_ADDRSTRLEN + 8];
	json_t *o;

	range_fmt(p->sel.family, p->sel.lstart, p->sel.lend, l, sizeof(l));
	range_fmt(p->sel.family, p->sel.rstart, p->sel.rend, r, sizeof(r));
	o = json_pack("{s:I, s:I, s:s, s:s, s:i, s:[i,i], s:[i,i], s:s, s:I}",
		      "id", (json_int_t)p->id, "priority", (json_int_t)p->priority,
		      "local", l, "remote", r, "proto", p->sel.proto,
		      "local_ports", p->sel.lport_start, p->sel.lport_end,
		      "remote_ports", p->sel.rport_start, p->sel.rport_end,
		      "action", action_name(p->action), "hits", (json_int_t)p->hits);
	if (o && p->action == SPD_PROTECT)
		json_object_set_new(o, "protect",
				    json_pack("{s:I, s:s, s:s}",
					      "child", (json_int_t)p->protect.child_id,
					      "mode", sa_mode_name(p->protect.mode),
					      "proto", p->protect.ipsec_proto == PROTO_AH ? "ah" : "esp"));
	return o;
}

static int by_order(const void *a, const void *b)
{
	const struct spd_policy *x = *(const struct spd_policy *const *)a;
	const struct spd_policy *y = *(const struct spd_policy *const *)b;

	return x->order < y->order ? -1 : x->order > y->order;
}

json_t *spd_dump(const struct spd *spd)
{
	const struct spd_policy **v = malloc((spd->count ? spd->count : 1) * sizeof(*v));
	json_t *arr = json_array();
	size_t n = 0;

	if (!v || !arr)
		goto fail;
	for (size_t i = 0; i < spd->nbuckets; i++)
		for (const struct spd_policy *p = spd->buckets[i]; p; p = p->bnext)
			v[n++] = p;
	for (const struct spd_policy *p = spd->general; p; p = p->bnext)
		v[n++] = p;
	qsort(v, n, sizeof(*v), by_order);
	for (size_t i = 0; i < n; i++) {
		json_t *o = policy_json(v[i]);

		if (!o || json_array_append_new(arr, o) < 0)
			goto fail;
	}
	free(v);
	return arr;
fail:
	free(v);
	json_decref(arr);
	return NULL;
}

static json_t *table_dump(void *arg)
{
	return spd_dump(arg);
}

void spd_table_register(struct spd *spd, const char *name)
{
	if (spd->tbl.name)
		table_unregister(&spd->tbl);
	spd->tbl.name = name ? name : "spd";
	spd->tbl.description = "IPsec SPD: ordered policies (selectors, action, CHILD SA)";
	spd->tbl.dump = table_dump;
	spd->tbl.arg = spd;
	table_register(&spd->tbl);
}
