/* Mobility security association sets (mip6_sec.h): SAs per home address,
 * the RFC 4877 transport/tunnel split, in-place ESP insertion in front of
 * the Mobility Header and removal after it, and the outer-endpoint move of
 * RFC 4877 §4.3. The SAs live in one SAD per role (dumpable, exported for
 * tshark); two small hash tables find a set by home address (outbound)
 * and by inbound SPI (inbound), so the data path never searches. */
#include "mip6/mip6_sec.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/keylog.h"
#include "core/log.h"
#include "core/stats.h"
#include "core/table.h"
#include "ipsec/esp.h"
#include "ipsec/sad.h"
#include "net/loop.h"
#include "wire/ipv6.h"
#include "wire/mh.h"

#define MOD "mip6-sec"
#define NBUCKETS 256u		/* power of two */
#define LOG_INTERVAL_MS 10000u

static COUNTER_DEFINE(c_prot_mh, "mipsec_mip6_sec_mh_protected_total",
		      "Mobility Headers (BU/BA) sent in a transport-mode SA");
static COUNTER_DEFINE(c_prot_tun, "mipsec_mip6_sec_tunnel_protected_total",
		      "Packets sent through a tunnel-mode SA");
static COUNTER_DEFINE(c_rx_mh, "mipsec_mip6_sec_mh_accepted_total",
		      "Mobility Headers received and authenticated by a transport-mode SA");
static COUNTER_DEFINE(c_rx_tun, "mipsec_mip6_sec_tunnel_accepted_total",
		      "Packets received and authenticated by a tunnel-mode SA");
static COUNTER_DEFINE(c_rx_esp_err, "mipsec_mip6_sec_esp_dropped_total",
		      "ESP packets dropped by the data plane (unknown SPI, replay, ICV, padding: see mipsec_esp_*)");
static COUNTER_DEFINE(c_rx_selector, "mipsec_mip6_sec_selector_mismatch_total",
		      "Authenticated ESP packets whose content the SA does not cover (RFC 4877 selectors: transport SA only BU/BA, tunnel SA only IPv6)");
static COUNTER_DEFINE(c_tx_err, "mipsec_mip6_sec_protect_errors_total",
		      "Packets not sent: ESP encapsulation failed (no room, sequence overflow)");
static COUNTER_DEFINE(c_moves, "mipsec_mip6_sec_moves_total",
		      "Care-of address changes applied to SA endpoints without rekeying (RFC 4877 §4.3)");

void mip6_sec_counters_register(void)
{
	static struct counter *const all[] = { &c_prot_mh, &c_prot_tun, &c_rx_mh, &c_rx_tun,
					       &c_rx_esp_err, &c_rx_selector, &c_tx_err,
					       &c_moves };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		counter_register(all[i]);
	esp_stats_register();
}

/* Inbound SPI -> set, one link per inbound SA of a set. */
struct spi_link {
	uint32_t spi;
	enum mip6_sec_kind kind;
	struct mip6_sec_set *set;
	struct sa *sa;			/* the inbound SA it names */
	struct spi_link *next;
};

/* An inbound SA a rekey replaced, accepted until its CHILD SA goes. */
struct old_in {
	struct spi_link l;
	struct old_in *next;
};

#define MAX_OLD_IN 4	/* per set: more means child_down never came */

struct set_priv {
	struct mip6_sec_set pub;	/* first: a set pointer is a priv pointer */
	struct spi_link in_mh, in_tun;
	struct old_in *old;
	size_t n_old;
	struct mip6_sec *owner;
};

struct mip6_sec {
	enum mip6_sec_side side;
	struct sad *sad;
	struct mip6_sec_set *by_hoa[NBUCKETS];
	struct spi_link *by_spi[NBUCKETS];
	size_t count;
	struct table tbl;
	char table_name[32];
	struct keylog *export;		/* mip6_sec_export() */
	void (*expiry_cb)(void *);
	void *expiry_arg;
};

static unsigned hoa_hash(const struct in6_addr *a)
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < 16; i++)
		h = (h ^ a->s6_addr[i]) * 16777619u;
	return h & (NBUCKETS - 1);
}

static unsigned spi_hash(uint32_t spi)
{
	return (spi * 2654435761u) >> 24 & (NBUCKETS - 1);
}

static json_t *table_dump(void *arg) { return mip6_sec_dump(arg); }

static struct mip6_sec *instances[2];

struct mip6_sec *mip6_sec_instance(enum mip6_sec_side side)
{
	return instances[side == MIP6_SEC_HA];
}

struct mip6_sec *mip6_sec_new(enum mip6_sec_side side, const char *table_name)
{
	struct mip6_sec *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->side = side;
	s->sad = sad_new();
	if (!s->sad) {
		free(s);
		return NULL;
	}
	mip6_sec_counters_register();
	if (table_name) {
		snprintf(s->table_name, sizeof(s->table_name), "%s", table_name);
		s->tbl.name = s->table_name;
		s->tbl.description = "Mobile IPv6 security association sets (RFC 4877): per home address, transport SAs for BU/BA and tunnel SAs";
		s->tbl.dump = table_dump;
		s->tbl.arg = s;
		table_register(&s->tbl);
		instances[side == MIP6_SEC_HA] = s;
	}
	return s;
}

static void spi_unlink(struct mip6_sec *s, struct spi_link *l)
{
	struct spi_link **pp = &s->by_spi[spi_hash(l->spi)];

	for (; *pp; pp = &(*pp)->next)
		if (*pp == l) {
			*pp = l->next;
			return;
		}
}

static void set_drop_sas(struct mip6_sec *s, struct mip6_sec_set *set)
{
	struct set_priv *p = (struct set_priv *)set;

	spi_unlink(s, &p->in_mh);
	spi_unlink(s, &p->in_tun);
	while (p->old) {
		struct old_in *o = p->old;
		p->old = o->next;
		spi_unlink(s, &o->l);
		sad_delete(s->sad, o->l.spi, SA_DIR_IN);
		free(o);
	}
	p->n_old = 0;
	if (set->mh_in)
		sad_delete(s->sad, set->mh_in->spi, SA_DIR_IN);
	if (set->mh_out)
		sad_delete(s->sad, set->mh_out->spi, SA_DIR_OUT);
	if (set->tun_in)
		sad_delete(s->sad, set->tun_in->spi, SA_DIR_IN);
	if (set->tun_out)
		sad_delete(s->sad, set->tun_out->spi, SA_DIR_OUT);
	set->mh_in = set->mh_out = set->tun_in = set->tun_out = NULL;
}

void mip6_sec_free(struct mip6_sec *s)
{
	if (!s)
		return;
	if (s->tbl.name)
		table_unregister(&s->tbl);
	if (instances[s->side == MIP6_SEC_HA] == s)
		instances[s->side == MIP6_SEC_HA] = NULL;
	for (unsigned i = 0; i < NBUCKETS; i++) {
		struct mip6_sec_set *set = s->by_hoa[i], *n;
		for (; set; set = n) {
			struct set_priv *p = (struct set_priv *)set;
			n = set->next;
			while (p->old) {
				struct old_in *o = p->old;
				p->old = o->next;
				free(o);
			}
			free(set);
		}
	}
	sad_free(s->sad);	/* frees every SA */
	keylog_close(s->export);
	free(s);
}

struct mip6_sec_set *mip6_sec_find(const struct mip6_sec *s, const struct in6_addr *hoa)
{
	struct mip6_sec_set *set = s->by_hoa[hoa_hash(hoa)];

	for (; set; set = set->next)
		if (memcmp(&set->hoa, hoa, 16) == 0)
			return set;
	return NULL;
}

size_t mip6_sec_count(const struct mip6_sec *s) { return s->count; }

static void set_ends(struct sa *sa, const struct ip_addr *src, const struct ip_addr *dst);

static struct mip6_sec_set *set_create(struct mip6_sec *s, const struct in6_addr *hoa)
{
	struct set_priv *p = calloc(1, sizeof(*p));
	unsigned h = hoa_hash(hoa);

	if (!p)
		return NULL;
	p->owner = s;
	p->pub.hoa = *hoa;
	p->pub.next = s->by_hoa[h];
	s->by_hoa[h] = &p->pub;
	s->count++;
	return &p->pub;
}

static struct sa *make_sa(const struct sa_params *src, enum sa_dir dir, enum sa_mode mode,
			  const char *what, char *err, size_t errlen)
{
	struct sa_params p = *src;
	enum sa_new_err e;
	struct sa *sa;

	p.dir = dir;
	p.mode = mode;
	p.now_s = mono_ms() / 1000;
	sa = sa_new(&p, &e);
	if (!sa)
		snprintf(err, errlen, "%s SA (SPI 0x%08x): %s", what, p.spi, sa_new_strerror(e));
	return sa;
}

/* An SPI of another home address's set (the SAD key is SPI + direction). */
static bool spi_taken(const struct mip6_sec *s, uint32_t spi, enum sa_dir dir,
		      const struct mip6_sec_set *mine)
{
	struct sa *sa = sad_lookup(s->sad, spi, dir);

	if (!sa)
		return false;
	return !mine || (sa != mine->mh_in && sa != mine->mh_out && sa != mine->tun_in &&
			 sa != mine->tun_out);
}

static void free_all(struct sa **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sa_free(v[i]);
}

int mip6_sec_install(struct mip6_sec *s, const struct in6_addr *hoa,
		     const struct mip6_sec_sas *sas, char *err, size_t errlen)
{
	struct mip6_sec_set *set = mip6_sec_find(s, hoa);
	struct sa *v[4] = { 0 };
	static const char *const names[4] = { "inbound transport", "outbound transport",
					      "inbound tunnel", "outbound tunnel" };
	const struct sa_params *pv[4] = { &sas->mh_in, &sas->mh_out, &sas->tun_in, &sas->tun_out };
	static const enum sa_dir dirs[4] = { SA_DIR_IN, SA_DIR_OUT, SA_DIR_IN, SA_DIR_OUT };
	static const enum sa_mode modes[4] = { SA_MODE_TRANSPORT, SA_MODE_TRANSPORT,
					       SA_MODE_TUNNEL, SA_MODE_TUNNEL };

	if (sas->mh_in.spi == sas->tun_in.spi || sas->mh_out.spi == sas->tun_out.spi) {
		snprintf(err, errlen, "the transport and tunnel SAs need different SPIs (0x%08x)",
			 sas->mh_in.spi == sas->tun_in.spi ? sas->mh_in.spi : sas->mh_out.spi);
		return -1;
	}
	for (int i = 0; i < 4; i++)
		if (spi_taken(s, pv[i]->spi, dirs[i], set)) {
			snprintf(err, errlen, "%s SPI 0x%08x is used by another home address",
				 names[i], pv[i]->spi);
			return -1;
		}
	for (int i = 0; i < 4; i++) {
		v[i] = make_sa(pv[i], dirs[i], modes[i], names[i], err, errlen);
		if (!v[i]) {
			free_all(v, 4);
			return -1;
		}
	}
	if (set) {
		set_drop_sas(s, set);	/* a rekey: the old SAs go */
	} else if (!(set = set_create(s, hoa))) {
		free_all(v, 4);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	struct set_priv *p = (struct set_priv *)set;
	set->mh_in = v[0];
	set->mh_out = v[1];
	set->tun_in = v[2];
	set->tun_out = v[3];
	for (int i = 0; i < 4; i++) {
		struct sa *old = sad_replace(s->sad, v[i]);
		if (old)	/* checked above: only our own old SA */
			sa_free(old);
	}
	set->local = sas->mh_out.src;
	set->peer = sas->mh_out.dst;
	p->in_mh = (struct spi_link){ .spi = v[0]->spi, .kind = MIP6_SEC_MH, .set = set,
				      .sa = v[0] };
	p->in_tun = (struct spi_link){ .spi = v[2]->spi, .kind = MIP6_SEC_TUN, .set = set,
				       .sa = v[2] };
	p->in_mh.next = s->by_spi[spi_hash(p->in_mh.spi)];
	s->by_spi[spi_hash(p->in_mh.spi)] = &p->in_mh;
	p->in_tun.next = s->by_spi[spi_hash(p->in_tun.spi)];
	s->by_spi[spi_hash(p->in_tun.spi)] = &p->in_tun;
	return 0;
}

static void spi_link_add(struct mip6_sec *s, struct spi_link *l)
{
	unsigned h = spi_hash(l->spi);

	l->next = s->by_spi[h];
	s->by_spi[h] = l;
}

/* The current inbound SA of `kind` joins the old ones (a rekey). */
static void retire_in(struct mip6_sec *s, struct set_priv *p, struct spi_link *cur)
{
	struct old_in *o;

	spi_unlink(s, cur);
	if (p->n_old >= MAX_OLD_IN) {
		/* The oldest is at the tail. */
		struct old_in **pp = &p->old;
		while ((*pp)->next)
			pp = &(*pp)->next;
		spi_unlink(s, &(*pp)->l);
		sad_delete(s->sad, (*pp)->l.spi, SA_DIR_IN);
		free(*pp);
		*pp = NULL;
		p->n_old--;
	}
	o = calloc(1, sizeof(*o));
	if (!o) {	/* cannot keep it: drop it now */
		sad_delete(s->sad, cur->spi, SA_DIR_IN);
		return;
	}
	o->l = *cur;
	o->next = p->old;
	p->old = o;
	p->n_old++;
	spi_link_add(s, &o->l);
}

int mip6_sec_install_pair(struct mip6_sec *s, const struct in6_addr *hoa,
			  enum mip6_sec_kind kind, const struct sa_params *in,
			  const struct sa_params *out, char *err, size_t errlen)
{
	bool mh = kind == MIP6_SEC_MH;
	enum sa_mode mode = mh ? SA_MODE_TRANSPORT : SA_MODE_TUNNEL;
	struct mip6_sec_set *set;
	struct set_priv *p;
	struct sa *vin, *vout, **cin, **cout;
	struct spi_link *cl;

	if (sad_lookup(s->sad, in->spi, SA_DIR_IN) || sad_lookup(s->sad, out->spi, SA_DIR_OUT)) {
		snprintf(err, errlen, "SPI 0x%08x/0x%08x already installed", in->spi, out->spi);
		return -1;
	}
	vin = make_sa(in, SA_DIR_IN, mode, mh ? "inbound transport" : "inbound tunnel", err,
		      errlen);
	if (!vin)
		return -1;
	vout = make_sa(out, SA_DIR_OUT, mode, mh ? "outbound transport" : "outbound tunnel", err,
		       errlen);
	if (!vout) {
		sa_free(vin);
		return -1;
	}
	set = mip6_sec_find(s, hoa);
	if (!set)
		set = set_create(s, hoa);
	if (!set) {
		sa_free(vin);
		sa_free(vout);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	p = (struct set_priv *)set;
	cin = mh ? &set->mh_in : &set->tun_in;
	cout = mh ? &set->mh_out : &set->tun_out;
	cl = mh ? &p->in_mh : &p->in_tun;
	if (*cin)
		retire_in(s, p, cl);
	if (*cout)	/* outbound switches at once */
		sad_delete(s->sad, (*cout)->spi, SA_DIR_OUT);
	sad_replace(s->sad, vin);
	sad_replace(s->sad, vout);
	*cin = vin;
	*cout = vout;
	*cl = (struct spi_link){ .spi = vin->spi, .kind = kind, .set = set, .sa = vin };
	spi_link_add(s, cl);
	if (out->src.family)
		set->local = out->src;
	if (out->dst.family)
		set->peer = out->dst;
	set_ends(vout, &set->local, &set->peer);
	set_ends(vin, &set->peer, &set->local);
	return 0;
}

static bool drop_current(struct mip6_sec *s, struct set_priv *p, uint32_t spi_in)
{
	struct mip6_sec_set *set = &p->pub;

	for (int k = 0; k < 2; k++) {
		struct sa **in = k ? &set->tun_in : &set->mh_in;
		struct sa **out = k ? &set->tun_out : &set->mh_out;
		if (!*in || (*in)->spi != spi_in)
			continue;
		spi_unlink(s, k ? &p->in_tun : &p->in_mh);
		sad_delete(s->sad, spi_in, SA_DIR_IN);
		if (*out)
			sad_delete(s->sad, (*out)->spi, SA_DIR_OUT);
		*in = *out = NULL;
		return true;
	}
	return false;
}

bool mip6_sec_remove_pair(struct mip6_sec *s, const struct in6_addr *hoa, uint32_t spi_in)
{
	struct mip6_sec_set *set = mip6_sec_find(s, hoa);
	struct set_priv *p;
	bool found;

	if (!set)
		return false;
	p = (struct set_priv *)set;
	found = drop_current(s, p, spi_in);
	for (struct old_in **pp = &p->old; !found && *pp; pp = &(*pp)->next) {
		struct old_in *o = *pp;
		if (o->l.spi != spi_in)
			continue;
		*pp = o->next;
		spi_unlink(s, &o->l);
		sad_delete(s->sad, spi_in, SA_DIR_IN);
		free(o);
		p->n_old--;
		found = true;
		break;
	}
	if (found && !set->mh_in && !set->tun_in && !p->old)
		mip6_sec_remove(s, hoa);
	return found;
}

enum sa_expiry mip6_sec_pair_expiry(struct mip6_sec *s, uint32_t spi_in, uint32_t spi_out,
				    uint64_t now_s)
{
	struct sa *in = sad_lookup(s->sad, spi_in, SA_DIR_IN);
	struct sa *out = sad_lookup(s->sad, spi_out, SA_DIR_OUT);
	enum sa_expiry a = in ? sa_poll(in, now_s) : SA_LIVE;
	enum sa_expiry b = out ? sa_poll(out, now_s) : SA_LIVE;

	return a > b ? a : b;
}

bool mip6_sec_remove(struct mip6_sec *s, const struct in6_addr *hoa)
{
	struct mip6_sec_set **pp = &s->by_hoa[hoa_hash(hoa)];

	for (; *pp; pp = &(*pp)->next) {
		struct mip6_sec_set *set = *pp;
		if (memcmp(&set->hoa, hoa, 16) != 0)
			continue;
		*pp = set->next;
		set_drop_sas(s, set);
		free(set);
		s->count--;
		return true;
	}
	return false;
}

static void set_ends(struct sa *sa, const struct ip_addr *src, const struct ip_addr *dst)
{
	if (!sa)
		return;
	sa->src = *src;
	sa->dst = *dst;
}

bool mip6_sec_move(struct mip6_sec *s, const struct in6_addr *hoa, const struct ip_addr *coa)
{
	struct mip6_sec_set *set = mip6_sec_find(s, hoa);
	struct ip_addr *mine;

	if (!set)
		return false;
	/* The CoA is the MN's end: our local address on the MN, the peer on
	 * the HA. */
	mine = s->side == MIP6_SEC_MN ? &set->local : &set->peer;
	if (ip_addr_eq(mine, coa))
		return true;
	*mine = *coa;
	set_ends(set->mh_out, &set->local, &set->peer);
	set_ends(set->tun_out, &set->local, &set->peer);
	set_ends(set->mh_in, &set->peer, &set->local);
	set_ends(set->tun_in, &set->peer, &set->local);
	set->moves++;
	counter_inc(&c_moves);
	return true;
}

bool mip6_sec_home_agent(struct mip6_sec *s, const struct in6_addr *hoa, const struct ip_addr *ha)
{
	struct mip6_sec_set *set = mip6_sec_find(s, hoa);

	if (!set)
		return false;
	*(s->side == MIP6_SEC_MN ? &set->peer : &set->local) = *ha;
	set_ends(set->mh_out, &set->local, &set->peer);
	set_ends(set->tun_out, &set->local, &set->peer);
	set_ends(set->mh_in, &set->peer, &set->local);
	set_ends(set->tun_in, &set->peer, &set->local);
	return true;
}

/* The esp_sa records with "*" addresses: the inner IPv6 header carries
 * the care-of address of the moment (or the home address with an IPv4
 * CoA), and the SPI alone identifies the SA. */
int mip6_sec_export(struct mip6_sec *s, const char *path)
{
	return sad_keylog(s->sad, &s->export, path, true);
}

/* ---- outbound ---- */

/* The byte holding the Next Header value that names the upper layer. */
static uint8_t *nh_byte(uint8_t *buf, const struct ipv6_chain *c)
{
	return c->n ? buf + c->ext[c->n - 1].off : buf + 6;
}

static void set_payload_len(uint8_t *buf, size_t total)
{
	size_t pl = total - IPV6_HDR_LEN;

	buf[4] = (uint8_t)(pl >> 8);
	buf[5] = (uint8_t)pl;
}

void mip6_sec_set_expiry_handler(struct mip6_sec *s, void (*cb)(void *), void *arg)
{
	s->expiry_cb = cb;
	s->expiry_arg = arg;
}

/* The packet that made `sa` cross a byte or packet limit tells the owner
 * once per limit, at once rather than at its next poll. */
static void note_expiry(struct mip6_sec *s, struct sa *sa)
{
	if (sa->expiry <= sa->expiry_told)
		return;
	sa->expiry_told = sa->expiry;
	if (s->expiry_cb)
		s->expiry_cb(s->expiry_arg);
}

static struct mip6_sec *set_owner(struct mip6_sec_set *set)
{
	return ((struct set_priv *)set)->owner;
}

int mip6_sec_protect_mh(struct mip6_sec_set *set, uint8_t *buf, size_t cap, size_t *len)
{
	struct ipv6_chain c;
	struct wire_error werr;
	size_t elen;
	enum esp_err e;

	if (!set->mh_out || ipv6_walk(buf, *len, &c, &werr) != WIRE_OK || c.proto != PROTO_MH || c.fragment ||
	    c.off + c.len != *len) {
		counter_inc(&c_tx_err);
		return -1;
	}
	e = esp_encap(set->mh_out, buf + c.off, c.len, PROTO_MH, buf + c.off, cap - c.off, &elen);
	if (e != ESP_OK || c.off + elen - IPV6_HDR_LEN > 0xffff) {
		counter_inc(&c_tx_err);
		log_debug(MOD, "cannot protect a Mobility Header err=\"%s\"", esp_strerror(e));
		return -1;
	}
	note_expiry(set_owner(set), set->mh_out);
	*nh_byte(buf, &c) = PROTO_ESP;
	*len = c.off + elen;
	set_payload_len(buf, *len);
	counter_inc(&c_prot_mh);
	return 0;
}

size_t mip6_sec_tun_headroom(const struct mip6_sec_set *set)
{
	return IPV6_HDR_LEN + (set->tun_out ? esp_header_len(set->tun_out) : 8);
}

int mip6_sec_protect_tun(struct mip6_sec_set *set, uint8_t *buf, size_t cap, size_t off,
			 size_t len, const uint8_t src[16], const uint8_t dst[16],
			 size_t *out_off, size_t *out_len)
{
	size_t hdr, start, elen;
	struct wire_error werr;
	enum esp_err e;

	if (!set->tun_out) {	/* IKE: the tunnel CHILD SA is not up (yet) */
		counter_inc(&c_tx_err);
		return -1;
	}
	hdr = esp_header_len(set->tun_out);
	if (off < IPV6_HDR_LEN + hdr) {
		counter_inc(&c_tx_err);
		return -1;
	}
	start = off - hdr - IPV6_HDR_LEN;
	/* payload == out + header length: encrypted where it lies. */
	e = esp_encap(set->tun_out, buf + off, len, PROTO_IPV6, buf + off - hdr,
		      cap - (off - hdr), &elen);
	if (e != ESP_OK || elen > 0xffff) {
		counter_inc(&c_tx_err);
		log_debug(MOD, "cannot protect a tunnelled packet err=\"%s\"", esp_strerror(e));
		return -1;
	}
	note_expiry(set_owner(set), set->tun_out);
	struct ipv6_hdr h = { .payload_length = (uint16_t)elen, .next_header = PROTO_ESP,
			      .hop_limit = 64, .src = src, .dst = dst };
	if (ipv6_build(buf + start, IPV6_HDR_LEN, &h, &werr) < 0) {
		counter_inc(&c_tx_err);
		return -1;
	}
	*out_off = start;
	*out_len = IPV6_HDR_LEN + elen;
	counter_inc(&c_prot_tun);
	return 0;
}

/* ---- inbound ---- */

static struct spi_link *spi_find(const struct mip6_sec *s, uint32_t spi)
{
	struct spi_link *l = s->by_spi[spi_hash(spi)];

	for (; l; l = l->next)
		if (l->spi == spi)
			return l;
	return NULL;
}

int mip6_sec_unprotect(struct mip6_sec *s, uint8_t *buf, size_t len, const struct ipv6_chain *c,
		       struct mip6_sec_rx *out)
{
	uint8_t *esp = buf + c->off;
	struct esp_decap_result r;
	struct spi_link *l;
	struct sa *sa;
	enum esp_err e;

	memset(out, 0, sizeof(*out));
	if (c->proto != PROTO_ESP || c->fragment || c->off + c->len > len) {
		counter_inc(&c_rx_esp_err);
		return -1;
	}
	l = spi_find(s, esp_spi(esp, c->len));
	if (!l) {
		esp_count_error(NULL, ESP_ERR_UNKNOWN_SPI);
		counter_inc(&c_rx_esp_err);
		return -1;
	}
	sa = l->sa;
	e = esp_decap(sa, esp, c->len, &r);
	if (e != ESP_OK) {
		counter_inc(&c_rx_esp_err);
		return -1;
	}
	note_expiry(s, sa);
	out->set = l->set;
	out->kind = l->kind;
	if (l->kind == MIP6_SEC_TUN) {
		if (r.next_header != PROTO_IPV6 || r.len < IPV6_HDR_LEN || (r.payload[0] >> 4) != 6) {
			counter_inc(&c_rx_selector);
			return -1;
		}
		out->pkt = r.payload;
		out->len = r.len;
		counter_inc(&c_rx_tun);
		return 0;
	}
	/* Transport SA: only BU and BA (RFC 4877 §4.1 MH-type selectors). */
	if (r.next_header != PROTO_MH || r.len < 4 || (r.payload[2] != MH_BU && r.payload[2] != MH_BA)) {
		counter_inc(&c_rx_selector);
		return -1;
	}
	memmove(esp, r.payload, r.len);
	*nh_byte(buf, c) = PROTO_MH;
	out->pkt = buf;
	out->len = c->off + r.len;
	set_payload_len(buf, out->len);
	counter_inc(&c_rx_mh);
	return 0;
}

void mip6_sec_log_drop(struct mip6_sec_ratelog *rl, const char *mod, const char *what,
		       const uint8_t *hoa, const struct ip_addr *peer)
{
	uint64_t now = mono_ms();
	char h[INET6_ADDRSTRLEN] = "-", p[INET6_ADDRSTRLEN] = "-";

	if (rl->last_ms && now - rl->last_ms < LOG_INTERVAL_MS) {
		rl->suppressed++;
		return;
	}
	if (hoa)
		inet_ntop(AF_INET6, hoa, h, sizeof(h));
	if (peer)
		ip_addr_fmt(peer, p, sizeof(p));
	log_warn(mod, "%s dropped hoa=%s from=%s suppressed=%llu", what, h, p,
		 (unsigned long long)rl->suppressed);
	rl->last_ms = now;
	rl->suppressed = 0;
}

static json_t *sa_json(const struct sa *sa)
{
	char spi[16], a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

	if (!sa)
		return json_null();
	snprintf(spi, sizeof(spi), "0x%08x", sa->spi);
	return json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:I, s:I, s:I, s:I}", "spi", spi,
			 "mode", sa_mode_name(sa->mode),
			 "xform", sa_xform_name(sa->xform, sa->enc_key_len),
			 "src", sa->src.family ? ip_addr_fmt(&sa->src, a, sizeof(a)) : NULL,
			 "dst", sa->dst.family ? ip_addr_fmt(&sa->dst, b, sizeof(b)) : NULL,
			 "seq", (json_int_t)sa->seq, "packets", (json_int_t)sa->stats.packets,
			 "replay", (json_int_t)sa->stats.replay,
			 "auth_fail", (json_int_t)sa->stats.auth_fail);
}

json_t *mip6_sec_dump(const struct mip6_sec *s)
{
	json_t *arr = json_array();

	for (unsigned i = 0; i < NBUCKETS; i++)
		for (const struct mip6_sec_set *set = s->by_hoa[i]; set; set = set->next) {
			char h[INET6_ADDRSTRLEN], l[INET6_ADDRSTRLEN], p[INET6_ADDRSTRLEN];
			inet_ntop(AF_INET6, &set->hoa, h, sizeof(h));
			json_array_append_new(arr, json_pack(
				"{s:s, s:s?, s:s?, s:I, s:I, s:o, s:o, s:o, s:o}", "home_address", h,
				"local", set->local.family ? ip_addr_fmt(&set->local, l, sizeof(l)) : NULL,
				"peer", set->peer.family ? ip_addr_fmt(&set->peer, p, sizeof(p)) : NULL,
				"moves", (json_int_t)set->moves,
				"old_inbound", (json_int_t)((const struct set_priv *)set)->n_old,
				"mh_in", sa_json(set->mh_in), "mh_out", sa_json(set->mh_out),
				"tun_in", sa_json(set->tun_in), "tun_out", sa_json(set->tun_out)));
		}
	return arr;
}

/* ---- configuration ---- */

static const struct {
	const char *name;
	enum esp_xform xform;
	size_t key_len, auth_len;
} xforms[] = {
	{ "aes128gcm16", ESP_XFORM_AES_GCM_16, 20, 0 },
	{ "aes256gcm16", ESP_XFORM_AES_GCM_16, 36, 0 },
	{ "chacha20poly1305", ESP_XFORM_CHACHA20_POLY1305, 36, 0 },
	{ "aes128-sha256", ESP_XFORM_AES_CBC_HMAC_SHA256, 16, 32 },
	{ "aes256-sha256", ESP_XFORM_AES_CBC_HMAC_SHA256, 32, 32 },
};

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static void parse_key(struct cfg_ctx *ctx, const config_setting_t *g, const char *name,
		      size_t want, uint8_t *out)
{
	const char *v = NULL;
	const config_setting_t *s = config_setting_get_member(g, name);

	if (!cfg_string(ctx, g, name, true, &v) || !v)
		return;
	if (v[0] == '0' && (v[1] == 'x' || v[1] == 'X'))
		v += 2;
	if (strlen(v) != want * 2) {
		cfg_error(ctx, s, "must be %zu hexadecimal digits (%zu bytes for this xform), not %zu",
			  want * 2, want, strlen(v));
		return;
	}
	for (size_t i = 0; i < want; i++) {
		int hi = hexval(v[2 * i]), lo = hexval(v[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			cfg_error(ctx, s, "'%c%c' at digit %zu is not hexadecimal", v[2 * i],
				  v[2 * i + 1], 2 * i);
			return;
		}
		out[i] = (uint8_t)(hi << 4 | lo);
	}
}

static void parse_spi(struct cfg_ctx *ctx, const config_setting_t *g, const char *name,
		      uint32_t *out)
{
	long long v = 0;

	/* RFC 4303 §2.1: 1..255 are reserved, 0 means "no SA". */
	if (cfg_int(ctx, g, name, true, 256, UINT32_MAX, &v))
		*out = (uint32_t)v;
}

bool mip6_sec_keycfg_parse(struct cfg_ctx *ctx, const config_setting_t *g,
			   struct mip6_sec_keycfg *k)
{
	size_t before = ctx->n_errors;
	const char *x = "aes128gcm16";
	size_t i;

	memset(k, 0, sizeof(*k));
	cfg_string(ctx, g, "xform", false, &x);
	for (i = 0; i < sizeof(xforms) / sizeof(xforms[0]); i++)
		if (strcmp(x, xforms[i].name) == 0)
			break;
	if (i == sizeof(xforms) / sizeof(xforms[0])) {
		cfg_error(ctx, config_setting_get_member(g, "xform"),
			  "'%s' is not one of aes128gcm16, aes256gcm16, chacha20poly1305, aes128-sha256, aes256-sha256",
			  x);
		return false;
	}
	k->xform = xforms[i].xform;
	k->key_len = xforms[i].key_len;
	k->auth_len = xforms[i].auth_len;
	parse_spi(ctx, g, "mh_spi_in", &k->mh_spi_in);
	parse_spi(ctx, g, "mh_spi_out", &k->mh_spi_out);
	parse_spi(ctx, g, "tun_spi_in", &k->tun_spi_in);
	parse_spi(ctx, g, "tun_spi_out", &k->tun_spi_out);
	size_t kl = k->key_len + k->auth_len;
	parse_key(ctx, g, "mh_key_in", kl, k->mh_key_in);
	parse_key(ctx, g, "mh_key_out", kl, k->mh_key_out);
	parse_key(ctx, g, "tun_key_in", kl, k->tun_key_in);
	parse_key(ctx, g, "tun_key_out", kl, k->tun_key_out);
	if (ctx->n_errors == before &&
	    (k->mh_spi_in == k->tun_spi_in || k->mh_spi_out == k->tun_spi_out))
		cfg_error(ctx, g, "the transport (mh_spi_*) and tunnel (tun_spi_*) SAs need different SPIs");
	return ctx->n_errors == before;
}

static void fill(const struct mip6_sec_keycfg *k, uint32_t spi, const uint8_t *key,
		 const struct ip_addr *src, const struct ip_addr *dst, struct sa_params *p)
{
	*p = (struct sa_params){ .spi = spi, .xform = k->xform, .enc_key = key,
				 .enc_key_len = k->key_len, .src = *src, .dst = *dst };
	if (k->auth_len) {
		p->auth_key = key + k->key_len;
		p->auth_key_len = k->auth_len;
	}
}

void mip6_sec_keycfg_sas(const struct mip6_sec_keycfg *k, const struct ip_addr *local,
			 const struct ip_addr *peer, struct mip6_sec_sas *out)
{
	fill(k, k->mh_spi_in, k->mh_key_in, peer, local, &out->mh_in);
	fill(k, k->mh_spi_out, k->mh_key_out, local, peer, &out->mh_out);
	fill(k, k->tun_spi_in, k->tun_key_in, peer, local, &out->tun_in);
	fill(k, k->tun_spi_out, k->tun_key_out, local, peer, &out->tun_out);
}
