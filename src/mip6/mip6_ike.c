/* RFC 4877 keying by IKEv2 (mip6_ike.h): sockets, the PAD hook, CHILD SA
 * -> mobility SA set, and the mobile node's IKE SA that follows its
 * care-of address. */
#include "mip6/mip6_ike.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "core/stats.h"
#include "ikev2/ike.h"
#include "ipsec/spd.h"
#include "net/loop.h"
#include "net/udp.h"
#include "wire/ikev2.h"

#define MOD "mip6-ike"

static COUNTER_DEFINE(c_pad_no_entry, "mipsec_mip6_ike_pad_refused_total",
		      "CHILD SAs refused by the home agent's PAD");
static COUNTER_DEFINE(c_pad_ts, "mipsec_mip6_ike_pad_refused_total",
		      "CHILD SAs refused by the home agent's PAD");
static COUNTER_DEFINE(c_pad_ok, "mipsec_mip6_ike_pad_allowed_total",
		      "CHILD SAs the PAD allowed (possibly narrowed to the identity's home addresses)");
static COUNTER_DEFINE(c_child_up, "mipsec_mip6_ike_children_installed_total",
		      "IKE CHILD SAs installed as mobility SAs (rekeys included)");
static COUNTER_DEFINE(c_child_bad, "mipsec_mip6_ike_children_refused_total",
		      "IKE CHILD SAs not installed: no single home address in the selectors, or the data plane refused them");
static COUNTER_DEFINE(c_rx_keepalive, "mipsec_mip6_ike_natt_keepalives_total",
		      "NAT keepalives (a single 0xff octet, RFC 3948 2.3) received on UDP 4500");
static COUNTER_DEFINE(c_life_soft, "mipsec_mip6_ike_lifetime_rekeys_total",
		      "CHILD SAs rekeyed because an SA reached its soft byte or packet lifetime");
static COUNTER_DEFINE(c_life_hard, "mipsec_mip6_ike_lifetime_deletes_total",
		      "CHILD SAs deleted because an SA reached its hard lifetime");
static COUNTER_DEFINE(c_rx_bad, "mipsec_mip6_ike_rx_dropped_total",
		      "Datagrams on UDP 500/4500 dropped before the engine (short, ESP on 4500, no local address)");

void mip6_ike_counters_register(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	c_pad_no_entry.label = "reason=\"no_entry\"";
	c_pad_ts.label = "reason=\"home_address\"";
	counter_register(&c_pad_no_entry);
	counter_register(&c_pad_ts);
	counter_register(&c_pad_ok);
	counter_register(&c_child_up);
	counter_register(&c_child_bad);
	counter_register(&c_rx_bad);
	counter_register(&c_rx_keepalive);
	counter_register(&c_life_soft);
	counter_register(&c_life_hard);
	pad_stats_register();
}

/* A CHILD SA as installed in the SA set. */
struct child_map {
	uint32_t id;
	uint32_t ike_id;
	struct in6_addr hoa;
	enum mip6_sec_kind kind;
	uint32_t spi_in, spi_out;
	bool rekey_asked;		/* soft lifetime reached, rekey started */
};

/* Byte and packet lifetimes are counted where the packets are: the packet
 * that crosses one wakes us (on_sa_expiry); a slow poll backs that up. */
#define LIFETIME_POLL_MS 1000

#define MAX_CHILDREN 1024

struct mip6_ike {
	struct loop *loop;
	enum mip6_sec_side side;
	struct mip6_ike_config *cfg;
	struct mip6_sec *sec;
	struct ike_engine *e;
	struct pad *pad;
	int fd[4];			/* v6/500, v6/4500, v4/500, v4/4500 */
	struct io_watch *w[4];
	char esp_sa_file[PATH_MAX];
	struct mip6_ike_hooks hooks;
	struct child_map ch[MAX_CHILDREN];
	size_t n_ch;
	/* Established IKE SAs and whom they authenticated: an IKE rekey
	 * (ike_up new, ike_down old) hands the children to the new one. */
	struct { uint32_t id; struct ike_id pid; } ikes[MAX_CHILDREN];
	size_t n_ikes;
	/* MN: the IKE SA with the home agent */
	uint32_t ike_sa;
	struct in6_addr hoa;
	struct ip_addr ha, coa;
	struct timer kick;		/* mh_down, outside the engine's callbacks */
	struct timer life;		/* lifetime poll, while there are children */
	struct in6_addr kick_hoa;
};

/* ---- configuration ---- */

static const char *id_text(const char *s, uint8_t *type)
{
	static const struct { const char *p; uint8_t t; } pre[] = {
		{ "ipv6:", IKEV2_ID_IPV6_ADDR }, { "ipv4:", IKEV2_ID_IPV4_ADDR },
		{ "fqdn:", IKEV2_ID_FQDN }, { "email:", IKEV2_ID_RFC822_ADDR },
		{ "dn:", IKEV2_ID_DER_ASN1_DN },
	};

	for (size_t i = 0; i < sizeof(pre) / sizeof(pre[0]); i++)
		if (!strncmp(s, pre[i].p, strlen(pre[i].p))) {
			*type = pre[i].t;
			return s + strlen(pre[i].p);
		}
	return NULL;
}

/* pad = ( { id = "ipv6:2001:db8:8::4"; home_addresses = [ "2001:db8:8::4" ];
 *           claim_self = true; } ) */
static void parse_pad_entry(struct cfg_ctx *ctx, const config_setting_t *g, struct pad_entry *pe)
{
	static const char *const known[] = { "id", "home_addresses", "claim_self", NULL };
	const config_setting_t *l;
	const char *v = NULL, *text;
	uint8_t type = 0;
	enum pad_err pe_err;

	cfg_check_known(ctx, g, known);
	if (!cfg_string(ctx, g, "id", true, &v) || !v)
		return;
	text = id_text(v, &type);
	if (!text) {
		cfg_error(ctx, config_setting_get_member(g, "id"),
			  "'%s' must start with ipv6:, ipv4:, fqdn:, email: or dn:", v);
		return;
	}
	pe_err = pad_entry_set_id(pe, type, text[0] == '*' ? PAD_MATCH_SUFFIX : PAD_MATCH_EXACT,
				  text);
	if (pe_err != PAD_OK) {
		cfg_error(ctx, config_setting_get_member(g, "id"), "'%s': %s", v,
			  pad_strerror(pe_err));
		return;
	}
	pe->auth = PAD_AUTH_CERT;
	/* RFC 4877 profile: an address identity is its own home address. */
	pe->claim_self = type == IKEV2_ID_IPV6_ADDR || type == IKEV2_ID_IPV4_ADDR;
	cfg_bool(ctx, g, "claim_self", &pe->claim_self);
	l = cfg_member(ctx, g, "home_addresses", CONFIG_TYPE_ARRAY, false);
	for (int i = 0; l && i < config_setting_length(l); i++) {
		const config_setting_t *s = config_setting_get_elem(l, (unsigned)i);
		struct ip_prefix p;

		if (!cfg_prefix_value(ctx, s, AF_INET6, false, &p))
			continue;
		if (pad_entry_add_prefix(pe, &p) != PAD_OK)
			cfg_error(ctx, s, "more than %d home addresses or prefixes", PAD_MAX_TS);
	}
	if (!pe->claim_self && !pe->nts)
		cfg_error(ctx, g, "the identity may claim nothing: give home_addresses");
}

bool mip6_ike_config_parse(struct cfg_ctx *ctx, const config_setting_t *ipsec,
			   enum mip6_sec_side side, struct mip6_ike_config **out)
{
	size_t before = ctx->n_errors;
	const config_setting_t *g = cfg_member(ctx, ipsec, "ike", CONFIG_TYPE_GROUP, false);
	const config_setting_t *peers, *pad;
	struct mip6_ike_config *c;

	*out = NULL;
	pad = config_setting_get_member(ipsec, "pad");
	if (!g) {
		if (pad)
			cfg_error(ctx, pad, "a PAD needs an 'ike' block");
		return ctx->n_errors == before;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		cfg_error(ctx, g, "out of memory");
		return false;
	}
	/* MN: remote = "dhaad" is the home agent found at run time. */
	peers = config_setting_get_member(g, "peers");
	for (int i = 0; side == MIP6_SEC_MN && peers && i < config_setting_length(peers); i++) {
		config_setting_t *p = config_setting_get_elem(peers, (unsigned)i);
		const char *r = NULL;

		if (p && config_setting_is_group(p) &&
		    config_setting_lookup_string(p, "remote", &r) && !strcmp(r, "dhaad"))
			config_setting_remove(p, "remote");
	}
	ike_config_parse(ctx, g, &c->ike);
	for (size_t i = 0; i < c->ike.n_peers && i < 8; i++) {
		const config_setting_t *pg = config_setting_get_elem(peers, (unsigned)i);
		c->auto_children[i] = pg && !config_setting_get_member(pg, "children");
	}
	if (side == MIP6_SEC_MN && c->ike.n_peers != 1 && ctx->n_errors == before)
		cfg_error(ctx, g, "a mobile node has one IKE peer: its home agent");
	if (pad && side == MIP6_SEC_MN)
		cfg_error(ctx, pad, "only a home agent has a PAD");
	if (pad && side == MIP6_SEC_HA) {
		if (!config_setting_is_list(pad)) {
			cfg_error(ctx, pad, "must be a list of groups { id = ...; home_addresses = [...]; }");
		} else {
			for (int i = 0; i < config_setting_length(pad); i++) {
				const config_setting_t *e = config_setting_get_elem(pad, (unsigned)i);
				if (c->n_pad >= MIP6_IKE_MAX_PAD) {
					cfg_error(ctx, e, "more than %d PAD entries", MIP6_IKE_MAX_PAD);
					break;
				}
				if (!config_setting_is_group(e)) {
					cfg_error(ctx, e, "must be a group { id = ...; home_addresses = [...]; }");
					continue;
				}
				parse_pad_entry(ctx, e, &c->pad[c->n_pad++]);
			}
		}
	}
	if (side == MIP6_SEC_HA && !c->n_pad && ctx->n_errors == before)
		cfg_error(ctx, ipsec, "IKE on a home agent needs a 'pad' saying which identity may use which home address");
	if (ctx->n_errors != before) {
		mip6_ike_config_free(c);
		return false;
	}
	*out = c;
	return true;
}

void mip6_ike_config_free(struct mip6_ike_config *c)
{
	if (!c)
		return;
	ike_config_free(&c->ike);
	free(c);
}

/* ---- sockets ---- */

/* `marker`: an IKE message on port 4500 gets the non-ESP marker, a NAT
 * keepalive does not. */
static void send_dgram(struct mip6_ike *m, const struct ike_path *path, bool marker,
		       const uint8_t *msg, size_t len)
{
	bool natt = path->lport == IKEV2_NATT_PORT, v4 = path->remote.family == AF_INET;
	int fd = m->fd[(v4 ? 2 : 0) + natt];
	static const uint8_t zeros[4];
	struct sockaddr_storage ss;
	socklen_t sl;
	struct iovec iov[2] = { { (void *)zeros, natt && marker ? 4 : 0 }, { (void *)msg, len } };
	union {
		char b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} cb;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	char ab[INET6_ADDRSTRLEN];

	sl = udp_sockaddr(&path->remote, path->rport, &ss);
	mh.msg_name = &ss;
	mh.msg_namelen = sl;
	memset(&cb, 0, sizeof(cb));
	/* The source is the care-of address (MN) or the address the peer
	 * used (HA): chosen per datagram on the wildcard socket. */
	if (path->local.family == path->remote.family) {
		struct cmsghdr *cm;

		mh.msg_control = cb.b;
		if (v4) {
			struct in_pktinfo pi = { .ipi_spec_dst = path->local.v4 };
			mh.msg_controllen = CMSG_SPACE(sizeof(pi));
			cm = CMSG_FIRSTHDR(&mh);
			cm->cmsg_level = IPPROTO_IP;
			cm->cmsg_type = IP_PKTINFO;
			cm->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
		} else {
			struct in6_pktinfo pi = { .ipi6_addr = path->local.v6 };
			mh.msg_controllen = CMSG_SPACE(sizeof(pi));
			cm = CMSG_FIRSTHDR(&mh);
			cm->cmsg_level = IPPROTO_IPV6;
			cm->cmsg_type = IPV6_PKTINFO;
			cm->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
		}
	}
	if (fd < 0 || sendmsg(fd, &mh, 0) < 0)
		log_debug(MOD, "IKE send failed to=%s port=%u err=\"%s\"",
			  ip_addr_fmt(&path->remote, ab, sizeof(ab)), path->rport,
			  fd < 0 ? "no socket" : strerror(errno));
}

static void ev_send(void *arg, const struct ike_path *path, const uint8_t *msg, size_t len)
{
	send_dgram(arg, path, true, msg, len);
}

static void ev_keepalive(void *arg, const struct ike_path *path)
{
	static const uint8_t ka = 0xff;

	send_dgram(arg, path, false, &ka, 1);
}

static void on_rx(int fd, void *arg)
{
	struct mip6_ike *m = arg;
	uint8_t buf[65536];
	struct sockaddr_storage ss;
	union {
		char b[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct cmsghdr align;
	} cb;
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh = { .msg_name = &ss, .msg_namelen = sizeof(ss), .msg_iov = &iov,
			     .msg_iovlen = 1, .msg_control = cb.b, .msg_controllen = sizeof(cb.b) };
	struct ike_path path = { 0 };
	bool natt = fd == m->fd[1] || fd == m->fd[3];
	ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);

	if (n <= 0)
		return;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			path.local = (struct ip_addr){ .family = AF_INET6, .v6 = pi.ipi6_addr };
		} else if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			path.local = (struct ip_addr){ .family = AF_INET, .v4 = pi.ipi_addr };
		}
	}
	if (!path.local.family) {
		counter_inc(&c_rx_bad);
		return;
	}
	path.lport = natt ? IKEV2_NATT_PORT : IKEV2_PORT;
	if (ss.ss_family == AF_INET) {
		path.remote = (struct ip_addr){ .family = AF_INET,
						.v4 = ((struct sockaddr_in *)&ss)->sin_addr };
		path.rport = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	} else {
		path.remote = (struct ip_addr){ .family = AF_INET6,
						.v6 = ((struct sockaddr_in6 *)&ss)->sin6_addr };
		path.rport = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	if (natt) {
		if (n == 1 && buf[0] == 0xff) {
			counter_inc(&c_rx_keepalive);
			return;
		}
		/* RFC 3948: ESP has a non-zero SPI here; ours travels in 4191. */
		if (n < 4 || memcmp(buf, "\0\0\0\0", 4)) {
			counter_inc(&c_rx_bad);
			return;
		}
		ike_engine_input(m->e, &path, buf + 4, (size_t)n - 4);
	} else {
		ike_engine_input(m->e, &path, buf, (size_t)n);
	}
}

static int open_sock(int family, uint16_t port, uint32_t fwmark, char *err, size_t errlen)
{
	struct ip_addr any = { .family = family };
	struct sockaddr_storage ss;
	socklen_t sl;
	int one = 1, fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (family == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
	} else {
		setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	}
	/* Like the 4191 socket: policy routing keeps IKE off the tunnel. */
	if (fwmark && setsockopt(fd, SOL_SOCKET, SO_MARK, &fwmark, sizeof(fwmark)) < 0) {
		snprintf(err, errlen, "SO_MARK 0x%x: %s", fwmark, strerror(errno));
		close(fd);
		return -1;
	}
	sl = udp_sockaddr(&any, port, &ss);
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		snprintf(err, errlen, "bind UDP %s port %u: %s", family == AF_INET ? "IPv4" : "IPv6",
			 port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- the PAD hook (HA) ---- */

static void ts_to_spd(const struct ike_ts *t, struct spd_ts *s)
{
	memset(s, 0, sizeof(*s));
	s->family = t->start.family;
	s->proto = t->proto;
	s->port_start = t->sport;
	s->port_end = t->eport;
	memcpy(s->start, t->start.bytes, ip_addr_len(&t->start));
	memcpy(s->end, t->end.bytes, ip_addr_len(&t->end));
}

static void ts_from_spd(const struct spd_ts *s, struct ike_ts *t)
{
	memset(t, 0, sizeof(*t));
	t->start.family = t->end.family = s->family;
	t->proto = s->proto;
	t->sport = s->port_start;
	t->eport = s->port_end;
	memcpy(t->start.bytes, s->start, s->family == AF_INET ? 4 : 16);
	memcpy(t->end.bytes, s->end, s->family == AF_INET ? 4 : 16);
}

static int ev_authorize(void *arg, const char *peer, const struct ike_id *pid,
			const struct ike_ts_set *requested, struct ike_ts_set *allowed)
{
	struct mip6_ike *m = arg;
	struct spd_ts req[IKE_TS_MAX], ok[IKE_TS_MAX], conf[IKE_TS_MAX], res[IKE_TS_MAX];
	size_t nok = 0, nres;
	const struct pad_entry *pe;
	enum pad_verdict v;
	char why[160] = "", idb[300];

	if (m->side != MIP6_SEC_HA)
		return 0;	/* the MN trusts its configured selectors */
	pe = pad_lookup(m->pad, pid->type, pid->data, pid->len);
	if (!pe) {
		counter_inc(&c_pad_no_entry);
		log_warn(MOD, "CHILD SA refused: no PAD entry peer=%s id=%s", peer,
			 ike_id_fmt(pid, idb, sizeof(idb)));
		return -1;
	}
	for (size_t i = 0; i < requested->n; i++)
		ts_to_spd(&requested->ts[i], &req[i]);
	v = pad_authorize(pe, pid->type, pid->data, pid->len, req, requested->n, ok, IKE_TS_MAX,
			  &nok, why, sizeof(why));
	if (v != PAD_ALLOW && v != PAD_NARROWED) {
		counter_inc(&c_pad_ts);
		log_warn(MOD, "CHILD SA refused by the PAD peer=%s id=%s verdict=%s why=\"%s\"", peer,
			 ike_id_fmt(pid, idb, sizeof(idb)), pad_verdict_str(v), why);
		return -1;
	}
	/* What the policy allows, cut down to the identity's home space. */
	for (size_t i = 0; i < allowed->n; i++)
		ts_to_spd(&allowed->ts[i], &conf[i]);
	nres = spd_ts_narrow(ok, nok, conf, allowed->n, res, IKE_TS_MAX);
	if (!nres) {
		counter_inc(&c_pad_ts);
		log_warn(MOD, "CHILD SA refused: the PAD space and the policy do not meet peer=%s id=%s",
			 peer, ike_id_fmt(pid, idb, sizeof(idb)));
		return -1;
	}
	allowed->n = nres;
	for (size_t i = 0; i < nres; i++)
		ts_from_spd(&res[i], &allowed->ts[i]);
	counter_inc(&c_pad_ok);
	return 0;
}

/* ---- CHILD SAs -> mobility SA sets ---- */

/* The home address a CHILD SA protects: the MN's side of its selectors,
 * one IPv6 address. */
static bool child_hoa(const struct mip6_ike *m, const struct ike_child_info *c,
		      struct in6_addr *hoa)
{
	const struct ike_ts_set *mn = m->side == MIP6_SEC_MN ? &c->local_ts : &c->remote_ts;

	if (!mn->n)
		return false;
	for (size_t i = 0; i < mn->n; i++) {
		const struct ike_ts *t = &mn->ts[i];
		if (t->start.family != AF_INET6 || !ip_addr_eq(&t->start, &t->end) ||
		    (i && memcmp(&t->start.v6, hoa, 16)))
			return false;
		*hoa = t->start.v6;
	}
	return true;
}

static void export_sas(struct mip6_ike *m)
{
	if (m->esp_sa_file[0] && mip6_sec_export(m->sec, m->esp_sa_file) < 0)
		log_warn(MOD, "cannot write esp_sa records path=%s err=\"%s\"", m->esp_sa_file,
			 strerror(errno));
}

static void fill_params(const struct ike_child_info *c, bool in, struct sa_params *p)
{
	*p = (struct sa_params){
		.spi = in ? c->spi_in : c->spi_out,
		.xform = c->xform,
		.esn = c->esn,
		.enc_key = in ? c->enc_in : c->enc_out,
		.enc_key_len = c->enc_key_len,
		.soft = c->soft,
		.hard = c->hard,
		.src = in ? c->path.remote : c->path.local,
		.dst = in ? c->path.local : c->path.remote,
	};
	if (c->auth_key_len) {
		p->auth_key = in ? c->auth_in : c->auth_out;
		p->auth_key_len = c->auth_key_len;
	}
}

static struct child_map *map_find(struct mip6_ike *m, uint32_t id)
{
	for (size_t i = 0; i < m->n_ch; i++)
		if (m->ch[i].id == id)
			return &m->ch[i];
	return NULL;
}

static void ev_child_up(void *arg, const struct ike_child_info *c)
{
	struct mip6_ike *m = arg;
	enum mip6_sec_kind kind = c->mode == SA_MODE_TRANSPORT ? MIP6_SEC_MH : MIP6_SEC_TUN;
	struct sa_params in, out;
	struct in6_addr hoa;
	char err[160], hb[INET6_ADDRSTRLEN];

	if (!child_hoa(m, c, &hoa)) {
		counter_inc(&c_child_bad);
		log_err(MOD, "CHILD SA %u (%s) names no single home address: deleted", c->id, c->policy);
		ike_engine_delete_child(m->e, c->id);
		return;
	}
	if (m->n_ch >= MAX_CHILDREN) {
		counter_inc(&c_child_bad);
		log_err(MOD, "too many CHILD SAs: %u deleted", c->id);
		ike_engine_delete_child(m->e, c->id);
		return;
	}
	fill_params(c, true, &in);
	fill_params(c, false, &out);
	if (mip6_sec_install_pair(m->sec, &hoa, kind, &in, &out, err, sizeof(err)) < 0) {
		counter_inc(&c_child_bad);
		log_err(MOD, "cannot install CHILD SA %u hoa=%s err=\"%s\"", c->id,
			inet_ntop(AF_INET6, &hoa, hb, sizeof(hb)), err);
		ike_engine_delete_child(m->e, c->id);
		return;
	}
	m->ch[m->n_ch++] = (struct child_map){ .id = c->id, .ike_id = c->ike_id, .hoa = hoa,
					       .kind = kind, .spi_in = c->spi_in,
					       .spi_out = c->spi_out };
	if (!timer_pending(&m->life))
		timer_arm_ms(&m->life, LIFETIME_POLL_MS);
	counter_inc(&c_child_up);
	log_info(MOD, "CHILD SA installed hoa=%s kind=%s child=%u ike=%u spi_in=0x%08x spi_out=0x%08x%s",
		 inet_ntop(AF_INET6, &hoa, hb, sizeof(hb)), kind == MIP6_SEC_MH ? "transport" : "tunnel",
		 c->id, c->ike_id, c->spi_in, c->spi_out, c->replaces ? " rekey=yes" : "");
	export_sas(m);
	if (kind == MIP6_SEC_MH && !c->replaces && m->hooks.mh_up)
		m->hooks.mh_up(m->hooks.arg, &hoa);
}

static void ev_child_down(void *arg, uint32_t id)
{
	struct mip6_ike *m = arg;
	struct child_map *cm = map_find(m, id);
	char hb[INET6_ADDRSTRLEN];

	if (!cm)
		return;
	mip6_sec_remove_pair(m->sec, &cm->hoa, cm->spi_in);
	log_info(MOD, "CHILD SA removed hoa=%s child=%u spi_in=0x%08x",
		 inet_ntop(AF_INET6, &cm->hoa, hb, sizeof(hb)), id, cm->spi_in);
	if (m->side == MIP6_SEC_MN && cm->kind == MIP6_SEC_MH && m->hooks.mh_down) {
		struct mip6_sec_set *set = mip6_sec_find(m->sec, &cm->hoa);
		if (!set || !set->mh_out) {
			m->kick_hoa = cm->hoa;
			timer_arm_ms(&m->kick, 0);
		}
	}
	*cm = m->ch[--m->n_ch];
	export_sas(m);
}

static void on_life(void *arg)
{
	struct mip6_ike *m = arg;
	uint64_t now = mono_ms() / 1000;

	/* The engine's calls below may remove entries (child_down moves the
	 * last entry into the hole): walking backwards, only entries already
	 * visited move; the clamp covers more than one removal. */
	for (size_t i = m->n_ch; i-- > 0;) {
		struct child_map *cm = &m->ch[i];
		enum sa_expiry x = mip6_sec_pair_expiry(m->sec, cm->spi_in, cm->spi_out, now);
		uint32_t id = cm->id, spi = cm->spi_in;

		if (x == SA_HARD) {
			counter_inc(&c_life_hard);
			log_notice(MOD, "child=%u spi_in=0x%08x hard lifetime reached: deleting", id, spi);
			ike_engine_delete_child(m->e, id);
		} else if (x == SA_SOFT && !cm->rekey_asked) {
			counter_inc(&c_life_soft);
			cm->rekey_asked = true;
			log_info(MOD, "child=%u spi_in=0x%08x soft lifetime reached: rekeying", id, spi);
			ike_engine_rekey_child(m->e, id);
		}
		if (i > m->n_ch)
			i = m->n_ch;
	}
	if (m->n_ch)
		timer_arm_ms(&m->life, LIFETIME_POLL_MS);
}

static void on_sa_expiry(void *arg)
{
	struct mip6_ike *m = arg;

	timer_arm_ms(&m->life, 0);
}

static void on_kick(void *arg)
{
	struct mip6_ike *m = arg;
	struct mip6_sec_set *set = mip6_sec_find(m->sec, &m->kick_hoa);

	if (set && set->mh_out)	/* a new one came meanwhile */
		return;
	log_info(MOD, "transport SA with the home agent gone: registering again");
	m->hooks.mh_down(m->hooks.arg, &m->kick_hoa);
}

static void ev_child_moved(void *arg, const struct ike_child_info *c)
{
	struct mip6_ike *m = arg;
	struct child_map *cm = map_find(m, c->id);

	if (!cm)
		return;
	cm->ike_id = c->ike_id;
	/* The mobile node's end of the SAs: our local address on the MN. */
	mip6_sec_move(m->sec, &cm->hoa, m->side == MIP6_SEC_MN ? &c->path.local : &c->path.remote);
}

static void ev_ike_up(void *arg, uint32_t id, const char *peer, const struct ike_id *pid)
{
	struct mip6_ike *m = arg;
	char idb[300];

	if (m->side == MIP6_SEC_MN)
		m->ike_sa = id;
	if (m->n_ikes < MAX_CHILDREN) {
		m->ikes[m->n_ikes].id = id;
		m->ikes[m->n_ikes++].pid = *pid;
	}
	log_info(MOD, "IKE SA up ike=%u peer=%s id=%s", id, peer, ike_id_fmt(pid, idb, sizeof(idb)));
}

static void ev_ike_down(void *arg, uint32_t id, const char *peer)
{
	struct mip6_ike *m = arg;
	uint32_t heir = 0;
	size_t k;

	for (k = 0; k < m->n_ikes && m->ikes[k].id != id; k++)
		;
	if (k < m->n_ikes) {
		/* The newest other IKE SA of the same identity inherits. */
		for (size_t j = 0; j < m->n_ikes; j++)
			if (j != k && m->ikes[j].pid.type == m->ikes[k].pid.type &&
			    m->ikes[j].pid.len == m->ikes[k].pid.len &&
			    !memcmp(m->ikes[j].pid.data, m->ikes[k].pid.data, m->ikes[k].pid.len))
				heir = m->ikes[j].id;
		m->ikes[k] = m->ikes[--m->n_ikes];
	}
	for (size_t i = 0; heir && i < m->n_ch; i++)
		if (m->ch[i].ike_id == id)
			m->ch[i].ike_id = heir;
	if (m->side == MIP6_SEC_MN && m->ike_sa == id)
		m->ike_sa = 0;
	log_info(MOD, "IKE SA down ike=%u peer=%s", id, peer);
}

/* ---- life ---- */

static void auto_children_ha(struct ike_peer_cfg *p)
{
	struct ike_child_cfg *c = p->child;
	char e[64];

	/* BA out / BU in; the PAD narrows the MN's side to its home address. */
	memset(p->child, 0, sizeof(p->child));
	snprintf(c[0].name, sizeof(c[0].name), "mh");
	c[0].mode = SA_MODE_TRANSPORT;
	c[0].esp_props = p->esp_props;
	c[0].local_ts.n = c[0].remote_ts.n = 1;
	ike_ts_parse("::/0[mh/6]", &c[0].local_ts.ts[0], e, sizeof(e));
	ike_ts_parse("::/0[mh/5]", &c[0].remote_ts.ts[0], e, sizeof(e));
	snprintf(c[1].name, sizeof(c[1].name), "tunnel");
	c[1].mode = SA_MODE_TUNNEL;
	c[1].esp_props = p->esp_props;
	c[1].local_ts.n = c[1].remote_ts.n = 1;
	ike_ts_parse("::/0", &c[1].local_ts.ts[0], e, sizeof(e));
	ike_ts_parse("::/0", &c[1].remote_ts.ts[0], e, sizeof(e));
	p->n_child = 2;
}

static void auto_children_mn(struct ike_peer_cfg *p, const struct in6_addr *hoa,
			     const struct in6_addr *ha)
{
	struct ike_child_cfg *c = p->child;
	char h[INET6_ADDRSTRLEN], a[INET6_ADDRSTRLEN], s[96], e[64];

	inet_ntop(AF_INET6, hoa, h, sizeof(h));
	inet_ntop(AF_INET6, ha, a, sizeof(a));
	memset(p->child, 0, sizeof(p->child));
	snprintf(c[0].name, sizeof(c[0].name), "mh");
	c[0].mode = SA_MODE_TRANSPORT;
	c[0].esp_props = p->esp_props;
	c[0].local_ts.n = c[0].remote_ts.n = 1;
	snprintf(s, sizeof(s), "%s/128[mh/5]", h);	/* BU out */
	ike_ts_parse(s, &c[0].local_ts.ts[0], e, sizeof(e));
	snprintf(s, sizeof(s), "%s/128[mh/6]", a);	/* BA in */
	ike_ts_parse(s, &c[0].remote_ts.ts[0], e, sizeof(e));
	snprintf(c[1].name, sizeof(c[1].name), "tunnel");
	c[1].mode = SA_MODE_TUNNEL;
	c[1].esp_props = p->esp_props;
	c[1].local_ts.n = c[1].remote_ts.n = 1;
	snprintf(s, sizeof(s), "%s/128", h);
	ike_ts_parse(s, &c[1].local_ts.ts[0], e, sizeof(e));
	ike_ts_parse("::/0", &c[1].remote_ts.ts[0], e, sizeof(e));
	p->n_child = 2;
}

struct mip6_ike *mip6_ike_new(struct loop *loop, enum mip6_sec_side side,
			      struct mip6_ike_config *cfg, struct mip6_sec *sec,
			      uint32_t fwmark, const char *esp_sa_file,
			      const struct mip6_ike_hooks *hooks, char *err, size_t errlen)
{
	static const struct ike_ops ops = {
		.send = ev_send, .keepalive = ev_keepalive, .child_up = ev_child_up,
		.child_down = ev_child_down, .child_moved = ev_child_moved, .ike_up = ev_ike_up, .ike_down = ev_ike_down,
		.authorize = ev_authorize,
	};
	struct mip6_ike *m = calloc(1, sizeof(*m));
	static const int fam[4] = { AF_INET6, AF_INET6, AF_INET, AF_INET };
	static const uint16_t port[4] = { IKEV2_PORT, IKEV2_NATT_PORT, IKEV2_PORT, IKEV2_NATT_PORT };

	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	mip6_ike_counters_register();
	m->loop = loop;
	m->side = side;
	m->cfg = cfg;
	m->sec = sec;
	if (hooks)
		m->hooks = *hooks;
	if (esp_sa_file)
		snprintf(m->esp_sa_file, sizeof(m->esp_sa_file), "%s", esp_sa_file);
	for (int i = 0; i < 4; i++)
		m->fd[i] = -1;
	timer_init(&m->kick, loop, on_kick, m);
	timer_init(&m->life, loop, on_life, m);
	mip6_sec_set_expiry_handler(sec, on_sa_expiry, m);
	for (size_t i = 0; side == MIP6_SEC_HA && i < cfg->ike.n_peers && i < 8; i++)
		if (cfg->auto_children[i])
			auto_children_ha(&cfg->ike.peers[i]);
	if (side == MIP6_SEC_HA) {
		m->pad = pad_new();
		if (!m->pad) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		for (size_t i = 0; i < cfg->n_pad; i++) {
			uint32_t id;
			enum pad_err pe = pad_add(m->pad, &cfg->pad[i], &id);
			if (pe != PAD_OK) {
				snprintf(err, errlen, "PAD entry %zu: %s", i, pad_strerror(pe));
				goto fail;
			}
		}
		pad_table_register(m->pad, "pad");
	}
	for (int i = 0; i < 4; i++) {
		m->fd[i] = open_sock(fam[i], port[i], fwmark, err, errlen);
		if (m->fd[i] < 0)
			goto fail;
		m->w[i] = io_watch_add(loop, m->fd[i], on_rx, m);
	}
	m->e = ike_engine_new(loop, &cfg->ike, &ops, m, side == MIP6_SEC_MN ? "mn" : "ha", err,
			      errlen);
	if (!m->e)
		goto fail;
	ike_engine_register_tables(m->e);
	return m;
fail:
	mip6_ike_free(m, false);
	return NULL;
}

void mip6_ike_free(struct mip6_ike *m, bool graceful)
{
	if (!m)
		return;
	if (m->e) {
		if (graceful)
			ike_engine_shutdown(m->e);
		ike_engine_free(m->e);
	}
	timer_deinit(&m->kick);
	timer_deinit(&m->life);
	mip6_sec_set_expiry_handler(m->sec, NULL, NULL);
	for (int i = 0; i < 4; i++) {
		if (m->w[i])
			io_watch_del(m->w[i]);
		if (m->fd[i] >= 0)
			close(m->fd[i]);
	}
	if (m->pad) {
		pad_free(m->pad);
	}
	free(m);
}

struct ike_engine *mip6_ike_engine(struct mip6_ike *m) { return m->e; }

static void mn_initiate(struct mip6_ike *m, const struct in6_addr *hoa, const struct ip_addr *coa,
			const struct ip_addr *ha, const struct in6_addr *ha6)
{
	struct ike_peer_cfg *p = &m->cfg->ike.peers[0];
	char hb[INET6_ADDRSTRLEN], cb[INET6_ADDRSTRLEN];

	/* The engine reads its peer configuration when it initiates: the
	 * home agent and the care-of address of the moment go there. */
	p->remote_any = false;
	p->remote = *ha;
	p->has_local = true;
	p->local = *coa;
	if (m->cfg->auto_children[0])
		auto_children_mn(p, hoa, ha6);
	m->hoa = *hoa;
	m->coa = *coa;
	m->ha = *ha;
	m->ike_sa = ike_engine_initiate(m->e, p->name);
	log_info(MOD, "IKE started ha=%s coa=%s ike=%u", ip_addr_fmt(ha, hb, sizeof(hb)),
		 ip_addr_fmt(coa, cb, sizeof(cb)), m->ike_sa);
}

bool mip6_ike_mn_ready(struct mip6_ike *m, const struct in6_addr *hoa, const struct ip_addr *coa,
		       const struct ip_addr *ha, const struct in6_addr *ha6)
{
	enum ike_sa_state_pub st = m->ike_sa ? ike_engine_sa_state(m->e, m->ike_sa) : IKE_PUB_NONE;
	bool same = ip_addr_eq(&m->ha, ha) && !memcmp(&m->hoa, hoa, 16);
	struct mip6_sec_set *set;

	if (st == IKE_PUB_CLOSING)
		st = IKE_PUB_NONE;
	/* Another home agent or home address, or a CoA of the other family:
	 * that IKE SA cannot serve (its addresses are of one family). */
	if (st != IKE_PUB_NONE && (!same || coa->family != m->coa.family ||
				   (st == IKE_PUB_CONNECTING && !ip_addr_eq(coa, &m->coa)))) {
		ike_engine_delete_ike(m->e, m->ike_sa);
		m->ike_sa = 0;
		st = IKE_PUB_NONE;
	}
	if (st == IKE_PUB_NONE) {
		mn_initiate(m, hoa, coa, ha, ha6);
		return false;
	}
	if (st == IKE_PUB_CONNECTING)
		return false;
	if (!ip_addr_eq(&m->coa, coa)) {
		/* RFC 4877 §4.3: IKE follows the MN, no exchange. */
		ike_engine_update_path(m->e, m->ike_sa, coa);
		m->coa = *coa;
	}
	set = mip6_sec_find(m->sec, hoa);
	return set && set->mh_out;
}

void mip6_ike_peer_moved(struct mip6_ike *m, const struct in6_addr *hoa, const struct ip_addr *coa)
{
	uint32_t done[8];
	size_t nd = 0;

	for (size_t i = 0; i < m->n_ch; i++) {
		bool seen = false;
		if (memcmp(&m->ch[i].hoa, hoa, 16))
			continue;
		for (size_t k = 0; k < nd; k++)
			seen |= done[k] == m->ch[i].ike_id;
		if (seen)
			continue;
		ike_engine_update_remote(m->e, m->ch[i].ike_id, coa);
		if (nd < 8)
			done[nd++] = m->ch[i].ike_id;
	}
}
