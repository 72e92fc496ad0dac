/* The `ipsec` role: TUN device, UDP sockets (IKE port and NAT-T port),
 * the SAD, CHILD SA installation with their routes, the IKE hook, and the
 * data plane (gw_dp.c). See gw.h and docs/config-ipsec.md. */
#include "ipsec/gw.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/keylog.h"
#include "core/log.h"
#include "core/stats.h"
#include "daemon/daemon.h"
#include "daemon/role.h"
#include "ipsec/gw_dp.h"
#include "ipsec/gw_ike.h"
#include "ipsec/sad.h"
#include "net/loop.h"
#include "net/netlink.h"
#include "net/tun.h"
#include "net/udp.h"

#define MOD "ipsec"
#define IKE_MAX 65536

#define C(var, name, help) static COUNTER_DEFINE(var, "mipsec_ipsec_" name "_total", help)
C(c_ike_rx, "ike_rx_ike_port", "Datagrams received on the IKE port");
C(c_ike_rx_drop, "ike_rx_ike_port_dropped", "Datagrams on the IKE port dropped (no handler, truncated)");
C(c_ike_tx, "ike_tx", "IKE messages sent");
C(c_ike_tx_err, "ike_tx_errors", "IKE messages the kernel refused to send");
C(c_natt_ka_tx, "natt_keepalives_sent", "NAT keepalives sent (RFC 3948 2.3)");
C(c_route_err, "route_errors", "Routes or addresses the kernel refused");
C(c_child_add, "children_installed", "CHILD SA pairs installed");
C(c_child_del, "children_removed", "CHILD SA pairs removed");
#undef C

static struct counter *const gw_counters[] = {
	&c_ike_rx, &c_ike_rx_drop, &c_ike_tx, &c_ike_tx_err, &c_natt_ka_tx, &c_route_err,
	&c_child_add, &c_child_del,
};

struct gw_child_rec {
	struct gw_dp_child *dc;
	bool routes;			/* wanted */
	bool routes_on;			/* installed */
};

struct gw {
	struct daemon *d;
	struct loop *loop;
	struct gw_config *cfg;
	struct tun tun;
	bool has_tun, vnet;
	int ike_fd, natt_fd;
	struct io_watch *ike_w;
	struct gw_dp *dp;
	struct keylog *esp_log;		/* esp_sa_file */
	struct sad *sad;
	gw_ike_fn ike_fn;
	void *ike_arg;
	struct gw_child_rec children[GW_DP_MAX_CHILDREN];
	size_t n_children;
	bool started, addrs_on;
	uint8_t *ike_buf;
	struct gw_ike *ike;		/* the IKE engine, NULL without `ike` */
	uint64_t gen;			/* children installed so far */
};

/* ---- IKE hook ------------------------------------------------------------ */

static void ike_dispatch(void *arg, const struct gw_path *path, const uint8_t *msg, size_t len)
{
	struct gw *gw = arg;

	if (gw->ike_fn)
		gw->ike_fn(gw->ike_arg, path, msg, len);
	else
		counter_inc(&c_ike_rx_drop);
}

void gw_set_expiry_handler(struct gw *gw, void (*fn)(void *arg), void *arg)
{
	gw_dp_set_expiry(gw->dp, fn, arg);
}

void gw_set_ike_handler(struct gw *gw, gw_ike_fn fn, void *arg)
{
	gw->ike_arg = arg;
	gw->ike_fn = fn;
}

static void on_ike(int fd, void *arg)
{
	struct gw *gw = arg;

	for (int i = 0; i < 16; i++) {
		struct udp_meta m;
		ssize_t n = udp_recv(fd, gw->ike_buf, IKE_MAX, &m);

		if (n == -EAGAIN || n == -EWOULDBLOCK)
			break;
		counter_inc(&c_ike_rx);
		if (n < 0) {
			counter_inc(&c_ike_rx_drop);
			continue;
		}
		struct gw_path p = { .local = m.local, .peer = m.peer, .peer_port = m.peer_port,
				     .local_port = gw->cfg->ike_port, .ifindex = m.ifindex };
		ike_dispatch(gw, &p, gw->ike_buf, (size_t)n);
	}
}

/* A NAT keepalive (RFC 3948 §2.3): one 0xff octet, no marker. */
int gw_send_natt_keepalive(struct gw *gw, const struct gw_path *path)
{
	struct sockaddr_storage ss;
	static const uint8_t ka = 0xff;
	socklen_t sl = udp_sockaddr(&path->peer, path->peer_port, &ss);

	if (!sl || gw->natt_fd < 0)
		return -EINVAL;
	if (sendto(gw->natt_fd, &ka, 1, MSG_DONTWAIT, (struct sockaddr *)&ss, sl) < 0) {
		counter_inc(&c_ike_tx_err);
		return -errno;
	}
	counter_inc(&c_natt_ka_tx);
	return 0;
}

int gw_send_ike(struct gw *gw, const struct gw_path *path, const uint8_t *msg, size_t len)
{
	static const uint8_t marker[4];
	bool natt = path->local_port == gw->cfg->natt_port;
	struct sockaddr_storage ss;
	struct iovec iov[2] = { { (void *)marker, 4 }, { (void *)msg, len } };
	struct msghdr mh = { .msg_name = &ss, .msg_iov = natt ? iov : iov + 1,
			     .msg_iovlen = natt ? 2 : 1 };
	int fd = natt ? gw->natt_fd : gw->ike_fd;

	mh.msg_namelen = udp_sockaddr(&path->peer, path->peer_port, &ss);
	if (!mh.msg_namelen || fd < 0)
		return -EINVAL;
	if (sendmsg(fd, &mh, MSG_DONTWAIT) < 0) {
		int rc = -errno;
		counter_inc(&c_ike_tx_err);
		return rc;
	}
	counter_inc(&c_ike_tx);
	return 0;
}

/* ---- children ------------------------------------------------------------ */

static int route(struct gw *gw, const struct ip_prefix *p, bool add)
{
	struct nl_route r = { .dst = *p, .oif = gw->tun.ifindex };
	char buf[INET6_ADDRSTRLEN + 8];
	int rc = add ? nl_route_add(gw->d->nl, &r, true) : nl_route_del(gw->d->nl, &r);

	if (rc < 0 && !(rc == -ESRCH && !add)) {
		counter_inc(&c_route_err);
		log_warn(MOD, "cannot %s route dst=%s dev=%s err=\"%s\"", add ? "add" : "delete",
			 ip_prefix_fmt(p, buf, sizeof(buf)), gw->tun.name, strerror(-rc));
	}
	return rc;
}

/* Whether a child other than `r` still routes prefix `p` (a rekey's old
 * and new child share their routes: the old one must not take them). */
static bool routed_by_other(const struct gw *gw, const struct gw_child_rec *r,
			    const struct ip_prefix *p)
{
	for (size_t i = 0; i < gw->n_children; i++) {
		const struct gw_child_rec *o = &gw->children[i];

		if (o == r || !o->routes_on)
			continue;
		for (size_t k = 0; k < o->dc->n_remote_ts; k++)
			if (o->dc->remote_ts[k].len == p->len &&
			    ip_addr_eq(&o->dc->remote_ts[k].addr, &p->addr))
				return true;
	}
	return false;
}

static void child_routes(struct gw *gw, struct gw_child_rec *r, bool on)
{
	if (!r->routes || r->routes_on == on)
		return;
	for (size_t i = 0; i < r->dc->n_remote_ts; i++) {
		const struct ip_prefix *p = &r->dc->remote_ts[i];
		/* A default route through the TUN would swallow ESP and IKE. */
		if (!p->len || (!on && routed_by_other(gw, r, p)))
			continue;
		route(gw, p, on);
	}
	r->routes_on = on;
}

static void write_esp_sa(struct gw *gw)
{
	if (!gw->cfg || !gw->cfg->esp_sa_file[0])
		return;
	if (sad_keylog(gw->sad, &gw->esp_log, gw->cfg->esp_sa_file, false) < 0)
		log_warn(MOD, "cannot write esp_sa file path=%s err=\"%s\"",
			 gw->cfg->esp_sa_file, strerror(errno));
}

static bool sel_ok(const struct sa_params *in, const struct sa_params *out,
		   const struct gw_child_sel *sel)
{
	if (in->dir != SA_DIR_IN || out->dir != SA_DIR_OUT || in->mode != out->mode)
		return false;
	if (sel->n_local_ts > GW_MAX_TS || sel->n_remote_ts > GW_MAX_TS ||
	    !sel->n_local_ts || !sel->n_remote_ts)
		return false;
	if (sel->peer.family != AF_INET && sel->peer.family != AF_INET6)
		return false;
	/* Transport mode rebuilds the inner header from one host each side. */
	if (in->mode == SA_MODE_TRANSPORT &&
	    (sel->n_local_ts != 1 || sel->n_remote_ts != 1 ||
	     sel->local_ts[0].addr.family != sel->remote_ts[0].addr.family))
		return false;
	return true;
}

static struct sa *sa_make(const struct sa_params *p)
{
	enum sa_new_err e;
	struct sa *sa = sa_new(p, &e);

	if (!sa)
		log_err(MOD, "cannot create SA spi=0x%08x dir=%s err=\"%s\"", p->spi,
			sa_dir_name(p->dir), sa_new_strerror(e));
	return sa;
}

int gw_install_child(struct gw *gw, const struct sa_params *in, const struct sa_params *out,
		     const struct gw_child_sel *sel)
{
	struct gw_dp_child *c;
	struct sa *si, *so;
	int rc;

	if (!sel_ok(in, out, sel))
		return -EINVAL;
	if (gw->n_children >= GW_DP_MAX_CHILDREN)
		return -ENOSPC;
	if (sad_lookup(gw->sad, in->spi, SA_DIR_IN) || sad_lookup(gw->sad, out->spi, SA_DIR_OUT))
		return -EEXIST;
	if (!(c = calloc(1, sizeof(*c))))
		return -ENOMEM;
	si = sa_make(in);
	so = si ? sa_make(out) : NULL;
	if (!so) {
		sa_free(si);
		free(c);
		return -EINVAL;
	}
	c->id = in->spi;
	c->gen = ++gw->gen;
	c->mode = in->mode;
	c->in = si;
	c->out = so;
	c->peer = sel->peer;
	c->peer_port = sel->peer_port ? sel->peer_port : gw->cfg->natt_port;
	c->peer_salen = udp_sockaddr(&c->peer, c->peer_port, &c->peer_sa);
	memcpy(c->local_ts, sel->local_ts, sel->n_local_ts * sizeof(*c->local_ts));
	memcpy(c->remote_ts, sel->remote_ts, sel->n_remote_ts * sizeof(*c->remote_ts));
	c->n_local_ts = sel->n_local_ts;
	c->n_remote_ts = sel->n_remote_ts;
	sad_add(gw->sad, si);
	sad_add(gw->sad, so);
	if ((rc = gw_dp_add_child(gw->dp, c)) < 0) {
		sad_delete(gw->sad, in->spi, SA_DIR_IN);
		sad_delete(gw->sad, out->spi, SA_DIR_OUT);
		free(c);
		return rc;
	}
	struct gw_child_rec *r = &gw->children[gw->n_children++];
	*r = (struct gw_child_rec){ .dc = c, .routes = sel->routes };
	if (gw->started)
		child_routes(gw, r, true);
	counter_inc(&c_child_add);
	char pb[INET6_ADDRSTRLEN];
	log_info(MOD, "child installed spi_in=0x%08x spi_out=0x%08x peer=%s port=%u mode=%s xform=%s",
		 in->spi, out->spi, ip_addr_fmt(&c->peer, pb, sizeof(pb)), c->peer_port,
		 sa_mode_name(c->mode), sa_xform_name(in->xform, in->enc_key_len));
	write_esp_sa(gw);
	return 0;
}

int gw_remove_child(struct gw *gw, uint32_t spi_in)
{
	size_t i;

	for (i = 0; i < gw->n_children; i++)
		if (gw->children[i].dc->id == spi_in)
			break;
	if (i == gw->n_children)
		return -ENOENT;
	child_routes(gw, &gw->children[i], false);
	struct gw_child_rec r = gw->children[i];
	gw->children[i] = gw->children[--gw->n_children];
	/* After this no worker holds the child or its SAs. */
	gw_dp_remove_child(gw->dp, spi_in);
	sad_delete(gw->sad, r.dc->in->spi, SA_DIR_IN);
	sad_delete(gw->sad, r.dc->out->spi, SA_DIR_OUT);
	free(r.dc);
	counter_inc(&c_child_del);
	log_info(MOD, "child removed spi_in=0x%08x", spi_in);
	write_esp_sa(gw);
	return 0;
}

struct gw_dp_child *gw_child_get(struct gw *gw, uint32_t spi_in)
{
	return gw_dp_child_get(gw->dp, spi_in);
}

/* The source address the kernel picks towards `peer`: the outer address
 * the esp_sa records need. */
static void local_addr_for(const struct ip_addr *peer, uint16_t port, struct ip_addr *out)
{
	struct sockaddr_storage ss;
	socklen_t len = udp_sockaddr(peer, port, &ss);
	int fd = socket(peer->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	memset(out, 0, sizeof(*out));
	if (fd < 0)
		return;
	if (connect(fd, (struct sockaddr *)&ss, len) == 0) {
		uint16_t p;
		udp_local(fd, out, &p);
	}
	close(fd);
}

static int install_manual(struct gw *gw, const struct gw_manual_cfg *m)
{
	struct ip_addr local;
	struct sa_params in = {
		.spi = m->spi_in, .dir = SA_DIR_IN, .mode = m->mode, .xform = m->xform,
		.esn = m->esn, .enc_key = m->key_in, .enc_key_len = m->enc_key_len,
		.auth_key = m->auth_key_len ? m->key_in + m->enc_key_len : NULL,
		.auth_key_len = m->auth_key_len, .now_s = mono_ms() / 1000,
	};
	struct sa_params out = in;

	local_addr_for(&m->remote, m->remote_port, &local);
	in.src = m->remote;
	in.dst = local;
	out.spi = m->spi_out;
	out.dir = SA_DIR_OUT;
	out.enc_key = m->key_out;
	out.auth_key = m->auth_key_len ? m->key_out + m->enc_key_len : NULL;
	out.src = local;
	out.dst = m->remote;
	struct gw_child_sel sel = {
		.peer = m->remote, .peer_port = m->remote_port,
		.local_ts = m->local_ts, .n_local_ts = m->n_local_ts,
		.remote_ts = m->remote_ts, .n_remote_ts = m->n_remote_ts, .routes = true,
	};
	int rc = gw_install_child(gw, &in, &out, &sel);
	if (rc < 0)
		log_err(MOD, "cannot install manual SA spi_in=0x%08x err=\"%s\"", m->spi_in,
			strerror(-rc));
	return rc;
}

/* ---- sockets and TUN ---------------------------------------------------- */

static int sock_open(struct gw *gw, uint16_t port, bool big)
{
	struct udp_opts o = { .v6only = false, .reuseaddr = true, .freebind = true };
	char buf[INET6_ADDRSTRLEN];
	int fd = udp_open(&gw->cfg->listen, port, &o);

	if (fd < 0) {
		log_err(MOD, "cannot open UDP socket addr=%s port=%u err=\"%s\"",
			ip_addr_fmt(&gw->cfg->listen, buf, sizeof(buf)), port, strerror(-fd));
		return fd;
	}
	if (big) {
		/* Bursts of tunnelled TCP between two wake-ups of the worker,
		 * and of IKE_SA_INIT requests (each costs a DH and a
		 * signature) in front of the event loop. */
		int sz = 8 << 20;
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	}
	return fd;
}

static bool udp_gso_supported(int fd)
{
	int v = 0;
	socklen_t l = sizeof(v);

	return getsockopt(fd, SOL_UDP, UDP_SEGMENT, &v, &l) == 0;
}

static int set_mtu(const char *name, unsigned mtu)
{
	struct ifreq ifr = { .ifr_mtu = (int)mtu };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, SIOCSIFMTU, &ifr) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* With offload, the TUN device takes TCP super-packets and partial
 * checksums from the kernel (TUNSETOFFLOAD), which the data plane
 * segments and completes itself; without support it is plain. */
static int tun_setup(struct gw *gw)
{
	int rc;

	if (gw->cfg->offload) {
		rc = tun_open(&gw->tun, gw->cfg->tun, 1, TUN_F_VNET_HDR);
		if (rc == 0) {
			unsigned off = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
			if (ioctl(gw->tun.fds[0], TUNSETOFFLOAD, off) == 0) {
				gw->vnet = true;
			} else {
				log_notice(MOD, "TUN offload unavailable, plain TUN err=\"%s\"",
					   strerror(errno));
				tun_close(&gw->tun);
			}
		}
	}
	if (!gw->vnet) {
		rc = tun_open(&gw->tun, gw->cfg->tun, 1, 0);
		if (rc < 0) {
			log_err(MOD, "cannot open TUN name=%s err=\"%s\"", gw->cfg->tun,
				strerror(-rc));
			return rc;
		}
	}
	gw->has_tun = true;
	if ((rc = set_mtu(gw->tun.name, gw->cfg->tun_mtu)) < 0)
		log_warn(MOD, "cannot set TUN mtu name=%s mtu=%u err=\"%s\"", gw->tun.name,
			 gw->cfg->tun_mtu, strerror(-rc));
	return 0;
}

/* ---- lifecycle ---------------------------------------------------------- */

static void gw_destroy(void *inst);

static void *gw_init(struct daemon *d, void *cfgp)
{
	struct gw_config *cfg = cfgp;
	struct gw *gw = calloc(1, sizeof(*gw));

	if (!gw)
		return NULL;
	for (size_t i = 0; i < sizeof(gw_counters) / sizeof(gw_counters[0]); i++)
		counter_register(gw_counters[i]);
	gw->d = d;
	gw->loop = d->loop;
	gw->cfg = cfg;
	gw->ike_fd = gw->natt_fd = -1;
	gw->ike_buf = malloc(IKE_MAX);
	gw->sad = sad_new();
	if (!gw->ike_buf || !gw->sad || tun_setup(gw) < 0)
		goto fail;
	if ((gw->natt_fd = sock_open(gw, cfg->natt_port, true)) < 0 ||
	    (gw->ike_fd = sock_open(gw, cfg->ike_port, true)) < 0)
		goto fail;
	gw->ike_w = io_watch_add(d->loop, gw->ike_fd, on_ike, gw);
	struct gw_dp_config dc = {
		.loop = d->loop, .tun_fd = gw->tun.fds[0], .vnet_hdr = gw->vnet,
		.udp_fd = gw->natt_fd, .natt_port = cfg->natt_port,
		.udp_gso = cfg->offload && udp_gso_supported(gw->natt_fd),
		.workers = cfg->workers, .ike = ike_dispatch, .ike_arg = gw,
	};
	if (!gw->ike_w || !(gw->dp = gw_dp_new(&dc)))
		goto fail;
	for (size_t i = 0; i < cfg->n_manual; i++)
		if (install_manual(gw, &cfg->manual[i]) < 0)
			goto fail;
	if (cfg->ike) {
		char err[256];
		if (!(gw->ike = gw_ike_new(gw, d->loop, cfg->ike, cfg->pad, cfg->n_pad,
					   cfg->lifetime_poll_ms, err, sizeof(err)))) {
			log_err(MOD, "cannot start IKE err=\"%s\"", err);
			goto fail;
		}
	}
	sad_table_register(gw->sad, "esp_sa");
	log_info(MOD, "gateway ready tun=%s mtu=%u offload=%s udp_gso=%s workers=%u children=%zu",
		 gw->tun.name, cfg->tun_mtu, gw->vnet ? "yes" : "no", dc.udp_gso ? "yes" : "no",
		 cfg->workers, gw->n_children);
	return gw;
fail:
	gw->cfg = NULL;	/* the caller still owns cfg on failure */
	gw_destroy(gw);
	return NULL;
}

static int gw_start(void *inst)
{
	struct gw *gw = inst;
	int rc;

	if ((rc = nl_link_set_up(gw->d->nl, gw->tun.ifindex, true)) < 0) {
		log_err(MOD, "cannot bring up %s err=\"%s\"", gw->tun.name, strerror(-rc));
		return -1;
	}
	for (size_t i = 0; i < gw->cfg->n_tun_addrs; i++) {
		rc = nl_addr_add(gw->d->nl, gw->tun.ifindex, &gw->cfg->tun_addrs[i], NL_ADDR_NODAD);
		if (rc < 0 && rc != -EEXIST) {
			char b[INET6_ADDRSTRLEN + 8];
			counter_inc(&c_route_err);
			log_err(MOD, "cannot add address %s to %s err=\"%s\"",
				ip_prefix_fmt(&gw->cfg->tun_addrs[i], b, sizeof(b)), gw->tun.name,
				strerror(-rc));
			return -1;
		}
	}
	gw->addrs_on = true;
	gw->started = true;
	for (size_t i = 0; i < gw->n_children; i++)
		child_routes(gw, &gw->children[i], true);
	if ((rc = gw_dp_start(gw->dp)) < 0) {
		log_err(MOD, "cannot start the data plane err=\"%s\"", strerror(-rc));
		return -1;
	}
	write_esp_sa(gw);
	if (gw->ike)
		gw_ike_start(gw->ike);
	return 0;
}

static void gw_stop(void *inst)
{
	struct gw *gw = inst;

	if (gw->ike)
		gw_ike_stop(gw->ike);
	gw_dp_stop(gw->dp);
	for (size_t i = 0; i < gw->n_children; i++)
		child_routes(gw, &gw->children[i], false);
	if (gw->addrs_on)
		for (size_t i = 0; i < gw->cfg->n_tun_addrs; i++)
			nl_addr_del(gw->d->nl, gw->tun.ifindex, &gw->cfg->tun_addrs[i]);
	gw->addrs_on = false;
	gw->started = false;
	/* The device goes with its last descriptor. */
	if (gw->has_tun)
		tun_close(&gw->tun);
	gw->has_tun = false;
}

static bool manual_eq(const struct gw_manual_cfg *a, const struct gw_manual_cfg *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

static bool manual_in(const struct gw_manual_cfg *m, const struct gw_config *c)
{
	for (size_t i = 0; i < c->n_manual; i++)
		if (manual_eq(m, &c->manual[i]))
			return true;
	return false;
}

static int gw_reload(void *inst, void *cfgp)
{
	struct gw *gw = inst;
	struct gw_config *n = cfgp, *o = gw->cfg;

	if (strcmp(n->tun, o->tun) || n->tun_mtu != o->tun_mtu || n->offload != o->offload ||
	    !ip_addr_eq(&n->listen, &o->listen) || n->ike_port != o->ike_port ||
	    n->natt_port != o->natt_port || n->workers != o->workers ||
	    n->n_tun_addrs != o->n_tun_addrs ||
	    memcmp(n->tun_addrs, o->tun_addrs, sizeof(n->tun_addrs))) {
		log_err(MOD, "reload: only manual SAs and esp_sa_file change without a restart");
		return -1;
	}
	/* The engine keeps a pointer to its block: it stays as started. */
	if (o->ike || n->ike) {
		struct ike_config *t = n->ike;
		n->ike = o->ike;
		o->ike = t;
		log_notice(MOD, "reload: the ike block changes only with a restart");
	}
	for (size_t i = 0; i < o->n_manual; i++)
		if (!manual_in(&o->manual[i], n))
			gw_remove_child(gw, o->manual[i].spi_in);
	gw->cfg = n;
	for (size_t i = 0; i < n->n_manual; i++)
		if (!manual_in(&n->manual[i], o))
			install_manual(gw, &n->manual[i]);
	gw_config_free(o);
	write_esp_sa(gw);
	log_info(MOD, "reloaded children=%zu", gw->n_children);
	return 0;
}

static json_t *gw_dump(void *inst)
{
	struct gw *gw = inst;
	json_t *ch = json_array();
	char b[INET6_ADDRSTRLEN];

	for (size_t i = 0; i < gw->n_children; i++) {
		const struct gw_dp_child *c = gw->children[i].dc;
		struct sa_snapshot in, out;	/* the workers may be counting */
		char sin[11], sout[11];

		sa_snapshot(c->in, &in);
		sa_snapshot(c->out, &out);
		snprintf(sin, sizeof(sin), "0x%08x", c->in->spi);
		snprintf(sout, sizeof(sout), "0x%08x", c->out->spi);
		json_array_append_new(ch, json_pack(
			"{s:s, s:s, s:s, s:i, s:s, s:I, s:I, s:I, s:I, s:I, s:I}",
			"spi_in", sin, "spi_out", sout,
			"peer", ip_addr_fmt(&c->peer, b, sizeof(b)), "peer_port", c->peer_port,
			"mode", sa_mode_name(c->mode),
			"packets_in", (json_int_t)in.stats.packets,
			"packets_out", (json_int_t)out.stats.packets,
			"bytes_in", (json_int_t)in.stats.bytes,
			"bytes_out", (json_int_t)out.stats.bytes,
			"replay", (json_int_t)in.stats.replay,
			"auth_fail", (json_int_t)in.stats.auth_fail));
	}
	return json_pack("{s:b, s:s, s:i, s:i, s:i, s:o, s:o, s:o}", "started", gw->started,
			 "tun", gw->cfg->tun, "tun_mtu", (int)gw->cfg->tun_mtu,
			 "ike_port", gw->cfg->ike_port, "natt_port", gw->cfg->natt_port,
			 "children", ch, "dataplane", gw_dp_dump(gw->dp),
			 "ike", gw->ike ? gw_ike_dump(gw->ike) : json_null());
}

static void gw_destroy(void *inst)
{
	struct gw *gw = inst;

	if (!gw)
		return;
	gw_ike_free(gw->ike);
	gw->ike = NULL;
	if (gw->dp)
		gw_dp_stop(gw->dp);
	while (gw->n_children)
		gw_remove_child(gw, gw->children[0].dc->id);
	gw_dp_free(gw->dp);
	if (gw->ike_w)
		io_watch_del(gw->ike_w);
	if (gw->ike_fd >= 0)
		close(gw->ike_fd);
	if (gw->natt_fd >= 0)
		close(gw->natt_fd);
	if (gw->has_tun)
		tun_close(&gw->tun);
	sad_free(gw->sad);
	keylog_close(gw->esp_log);
	free(gw->ike_buf);
	if (gw->cfg)
		gw_config_free(gw->cfg);
	free(gw);
}

const struct role_ops ipsec_role_ops = {
	.name = "ipsec",
	.description = "IPsec gateway: ESP over UDP (RFC 3948) between a TUN device and its peers",
	.caps = ROLE_CAP(CAP_NET_ADMIN) | ROLE_CAP(CAP_NET_BIND_SERVICE),
	.parse = gw_config_parse,
	.free_config = gw_config_free,
	.init = gw_init,
	.start = gw_start,
	.stop = gw_stop,
	.reload = gw_reload,
	.dump = gw_dump,
	.destroy = gw_destroy,
};
