/* The `cn` role: sockets, TUN, binding cache, nonce table, housekeeping
 * timer, counters and the tables "cn_bindings" and "rr_nonces". */
#include <errno.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "daemon/daemon.h"
#include "daemon/role.h"
#include "mip6/bcache.h"
#include "mip6/cn.h"
#include "net/netlink.h"
#include "wire/ipv6.h"

#define MOD "cn"
#define CN_TICK_MS 1000
#define CN_TUN_MTU 1400		/* 1500 - outer IPv6 - UDP - RH2, rounded down */

#define C(var, name, help) COUNTER_DEFINE(var, "mipsec_cn_" name "_total", help)
C(cn_c_hoti_rx, "hoti_received", "Home Test Init messages received");
C(cn_c_coti_rx, "coti_received", "Care-of Test Init messages received");
C(cn_c_hot_tx, "hot_sent", "Home Test messages sent");
C(cn_c_cot_tx, "cot_sent", "Care-of Test messages sent");
C(cn_c_rr_bad_hao, "test_init_with_hao_dropped", "HoTI/CoTI with a Home Address option, dropped (RFC 6275 9.4)");
C(cn_c_bu_rx, "bu_received", "Binding Updates received");
C(cn_c_bu_accepted, "bu_accepted", "Binding Updates that created or refreshed a binding");
C(cn_c_bu_dereg, "bu_deregistrations", "Binding Updates that removed a binding (lifetime 0 or CoA = HoA)");
C(cn_c_bu_no_nonce, "bu_no_nonce_indices", "Binding Updates without a Nonce Indices option, dropped");
C(cn_c_bu_no_auth, "bu_no_auth_data", "Binding Updates without a final Binding Authorization Data option, dropped");
C(cn_c_bu_bad_auth, "bu_bad_authenticator", "Binding Updates whose authenticator does not verify, dropped");
C(cn_c_bu_expired_home, "bu_expired_home_nonce", "Binding Updates refused with status 136 (expired home nonce index)");
C(cn_c_bu_expired_coa, "bu_expired_coa_nonce", "Binding Updates refused with status 137 (expired care-of nonce index)");
C(cn_c_bu_expired_both, "bu_expired_nonces", "Binding Updates refused with status 138 (expired nonces)");
C(cn_c_bu_seq, "bu_sequence_out_of_window", "Binding Updates refused with status 135");
C(cn_c_bu_home_reg, "bu_home_registration", "Binding Updates with the H flag refused with status 131");
C(cn_c_bu_full, "bu_insufficient_resources", "Binding Updates refused with status 130 (binding cache full)");
C(cn_c_bu_bad_hoa, "bu_bad_home_address", "Binding Updates for a home address that cannot be one, dropped");
C(cn_c_ba_tx, "ba_sent", "Binding Acknowledgements sent");
C(cn_c_be_tx, "be_sent", "Binding Errors sent");
C(cn_c_be_limited, "be_rate_limited", "Binding Errors not sent because of the rate limit");
C(cn_c_brr_tx, "brr_sent", "Binding Refresh Requests sent");
C(cn_c_mh_malformed, "mh_malformed", "Mobility Headers dropped as malformed (length, checksum, payload proto)");
C(cn_c_mh_unknown, "mh_unknown_type", "Mobility Headers of an unknown type (Binding Error status 2)");
C(cn_c_mh_unexpected, "mh_unexpected_type", "Mobility Headers of a type a CN does not take, dropped");
C(cn_c_ro_rx, "ro_received", "Route-optimised packets (with a HAO) delivered to the host");
C(cn_c_ro_rx_no_binding, "ro_no_binding", "Packets with a HAO and no binding (Binding Error status 1)");
C(cn_c_ro_rx_coa_mismatch, "ro_coa_mismatch", "Packets with a HAO not from the binding's care-of address (Binding Error status 1)");
C(cn_c_ro_tx, "ro_sent", "Host packets sent route-optimised (RH2, in UDP to the CoA)");
C(cn_c_ro_tx_no_binding, "ro_tx_no_binding", "Host packets for a home address without a binding, dropped");
C(cn_c_ro_tx_unsupported, "ro_tx_unsupported", "Host packets the CN cannot route-optimise (not IPv6, hop-by-hop options, too large)");
C(cn_c_rx_malformed, "rx_malformed", "Inner packets that are not valid IPv6, dropped");
C(cn_c_rx_not_mobile, "rx_not_mobile", "Inner packets that are neither MH nor carry a HAO, dropped");
C(cn_c_raw_rx, "native_mh_received", "Mobility Headers received natively (raw IPPROTO_MH socket)");
C(cn_c_send_err, "send_errors", "Packets the CN could not send");
C(cn_c_route_err, "route_errors", "Host route changes the kernel refused");
C(cn_c_binding_expired, "bindings_expired", "Bindings removed at the end of their lifetime");

static struct counter *const all_counters[] = {
	&cn_c_hoti_rx, &cn_c_coti_rx, &cn_c_hot_tx, &cn_c_cot_tx, &cn_c_rr_bad_hao,
	&cn_c_bu_rx, &cn_c_bu_accepted, &cn_c_bu_dereg, &cn_c_bu_no_nonce, &cn_c_bu_no_auth,
	&cn_c_bu_bad_auth, &cn_c_bu_expired_home, &cn_c_bu_expired_coa, &cn_c_bu_expired_both,
	&cn_c_bu_seq, &cn_c_bu_home_reg, &cn_c_bu_full, &cn_c_bu_bad_hoa, &cn_c_ba_tx,
	&cn_c_be_tx, &cn_c_be_limited, &cn_c_brr_tx, &cn_c_mh_malformed, &cn_c_mh_unknown,
	&cn_c_mh_unexpected, &cn_c_ro_rx, &cn_c_ro_rx_no_binding, &cn_c_ro_rx_coa_mismatch,
	&cn_c_ro_tx, &cn_c_ro_tx_no_binding, &cn_c_ro_tx_unsupported, &cn_c_rx_malformed,
	&cn_c_rx_not_mobile, &cn_c_raw_rx, &cn_c_send_err, &cn_c_route_err,
	&cn_c_binding_expired,
};

void cn_counters_register(void)
{
	for (size_t i = 0; i < sizeof(all_counters) / sizeof(all_counters[0]); i++)
		counter_register(all_counters[i]);
}

/* ---- native Mobility Headers ----------------------------------------------
 * Linux delivers any IPv6 next header to a raw socket of that protocol even
 * without the mip6 module, and for IPPROTO_MH the raw socket verifies (in)
 * and fills (out) the checksum at offset 4 itself. */

static void on_raw(int fd, void *arg)
{
	struct cn *cn = arg;
	uint8_t buf[MH_MAX_LEN];
	struct sockaddr_in6 from;
	union {
		struct cmsghdr h;
		uint8_t b[CMSG_SPACE(sizeof(struct in6_pktinfo)) + 64];
	} cbuf;

	for (int i = 0; i < MIP6_EP_BATCH; i++) {
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr msg = { .msg_name = &from, .msg_namelen = sizeof(from),
				      .msg_iov = &iov, .msg_iovlen = 1,
				      .msg_control = cbuf.b, .msg_controllen = sizeof(cbuf.b) };
		ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);
		const uint8_t *dst = NULL;

		if (n < 0)
			break;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
			if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO)
				dst = ((struct in6_pktinfo *)(void *)CMSG_DATA(c))->ipi6_addr.s6_addr;
		counter_inc(&cn_c_raw_rx);
		if (!dst || (msg.msg_flags & MSG_TRUNC)) {
			counter_inc(&cn_c_mh_malformed);
			continue;
		}
		struct cn_mh_in in = { .src = from.sin6_addr.s6_addr, .dst = dst, .mh = buf,
				       .len = (size_t)n };
		cn_mh_input(cn, &in);
	}
	mip6_ep_flush(cn->ep);
}

static int raw_open(const char *bind_dev, bool rx)
{
	int fd = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_MH);
	int on = 1;

	if (fd < 0)
		return -errno;
	if (rx && setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on)) < 0)
		goto fail;
	if (!rx) {
		/* Nothing is read from the sending socket. */
		int zero = 0;
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &zero, sizeof(zero));
		shutdown(fd, SHUT_RD);
	}
	/* Bound to the uplink, a HoT for a home address that has a binding
	 * (and so a route into our TUN) still goes out natively to the HA. */
	if (bind_dev && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, bind_dev,
				   (socklen_t)strlen(bind_dev)) < 0)
		goto fail;
	return fd;
fail:
	on = errno;
	close(fd);
	return -on;
}

/* ---- tables ---------------------------------------------------------------- */

static json_t *nonce_dump(void *arg)
{
	struct cn *cn = arg;

	return rr_table_dump(&cn->rr, mono_ms());
}

static void on_tick(void *arg)
{
	struct cn *cn = arg;

	cn_bindings_tick(cn, mono_ms());
	timer_arm_ms(&cn->tick, CN_TICK_MS);
}

/* ---- lifecycle ------------------------------------------------------------- */

static void cn_destroy(void *inst);

static void *cn_init(struct daemon *d, void *cfgp)
{
	struct cn_config *cfg = cfgp;
	struct cn *cn = calloc(1, sizeof(*cn));
	int rc;

	if (!cn)
		return NULL;
	cn_counters_register();
	cn->d = d;
	cn->loop = d->loop;
	cn->cfg = cfg;
	cn->raw_fd = cn->raw_tx_fd = -1;
	cn->be_tokens = cfg->be_rate;
	cn->be_last_ms = mono_ms();
	if ((rc = rr_table_init(&cn->rr, cfg->kcn_lifetime, cfg->nonce_interval,
				cfg->nonce_lifetime, mono_ms())) < 0) {
		log_err(MOD, "cannot set up the nonce table err=\"%s\"", strerror(-rc));
		goto fail;
	}
	cn->ext = calloc((size_t)cfg->max_bindings + 1, sizeof(*cn->ext));
	cn->ext_next = 1;
	cn->bc = bcache_create(&(struct bcache_cfg){ .name = "cn",
						     .max_entries = cfg->max_bindings });
	if (!cn->ext || !cn->bc)
		goto fail;
	struct mip6_ep_config ec = { .bind6 = cfg->bind, .tun_name = cfg->tun,
				     .tun_mtu = CN_TUN_MTU };
	struct mip6_ep_ops ops = { .rx = cn_udp_rx, .tun = cn_tun_rx };
	cn->ep = mip6_ep_open(d->loop, &ec, &ops, cn);
	if (!cn->ep)
		goto fail;
	cn->tun_ifindex = mip6_ep_tun_ifindex(cn->ep);
	if (cfg->native) {
		const char *dev = cfg->n_ifaces ? cfg->ifaces[0] : NULL;
		cn->raw_fd = raw_open(NULL, true);
		rc = cn->raw_fd;
		if (rc >= 0)
			rc = cn->raw_tx_fd = raw_open(dev, false);
		if (rc < 0) {
			log_err(MOD, "cannot open a raw IPPROTO_MH socket dev=%s err=\"%s\"",
				dev ? dev : "-", strerror(-rc));
			goto fail;
		}
		cn->raw_w = io_watch_add(d->loop, cn->raw_fd, on_raw, cn);
		if (!cn->raw_w)
			goto fail;
	}
	if (timer_init(&cn->tick, d->loop, on_tick, cn) < 0)
		goto fail;
	bcache_table_register(cn->bc, "cn_bindings");
	cn->nonce_table = (struct table){ .name = "rr_nonces",
		.description = "return routability nonces the CN accepts: index, age, remaining",
		.dump = nonce_dump, .arg = cn };
	table_register(&cn->nonce_table);
	log_info(MOD, "correspondent node ready tun=%s native=%s max_bindings=%u",
		 mip6_ep_tun_name(cn->ep), cfg->native ? "yes" : "no", cfg->max_bindings);
	return cn;
fail:
	cn->cfg = NULL;	/* the caller still owns cfg on failure */
	cn_destroy(cn);
	return NULL;
}

static int cn_start(void *inst)
{
	struct cn *cn = inst;
	int rc;

	if (cn->tun_ifindex && (rc = nl_link_set_up(cn->d->nl, cn->tun_ifindex, true)) < 0) {
		log_err(MOD, "cannot bring up %s err=\"%s\"", cn->cfg->tun, strerror(-rc));
		return -1;
	}
	timer_arm_ms(&cn->tick, CN_TICK_MS);
	cn->started = true;
	return 0;
}

static void cn_stop(void *inst)
{
	struct cn *cn = inst;
	uint32_t cur = 0;
	struct bce *e;

	timer_cancel(&cn->tick);
	/* Bindings do not outlive the daemon: their routes go with them. */
	while ((e = bcache_next(cn->bc, &cur)))
		cn_binding_remove(cn, e, false);
	cn->started = false;
}

static int cn_reload(void *inst, void *cfgp)
{
	struct cn *cn = inst;
	struct cn_config *n = cfgp, *o = cn->cfg;

	if (strcmp(n->tun, o->tun) || !ip_addr_eq(&n->bind, &o->bind) ||
	    n->native != o->native || n->max_bindings != o->max_bindings ||
	    n->n_ifaces != o->n_ifaces ||
	    memcmp(n->ifaces, o->ifaces, sizeof(n->ifaces))) {
		log_err(MOD, "reload: tun, address, native, interfaces and max_bindings need a restart");
		return -1;
	}
	if (n->kcn_lifetime != o->kcn_lifetime || n->nonce_interval != o->nonce_interval ||
	    n->nonce_lifetime != o->nonce_lifetime) {
		/* Outstanding tokens stop verifying: MNs get 136-138 and redo RR. */
		if (rr_table_init(&cn->rr, n->kcn_lifetime, n->nonce_interval,
				  n->nonce_lifetime, mono_ms()) < 0)
			return -1;
	}
	cn->cfg = n;
	cn_config_free(o);
	log_info(MOD, "reloaded");
	return 0;
}

static json_t *cn_dump(void *inst)
{
	struct cn *cn = inst;

	return json_pack("{s:b, s:s, s:I, s:I, s:I}", "started", cn->started,
			 "tun", cn->cfg->tun, "bindings", (json_int_t)bcache_count(cn->bc),
			 "nonces_generated", (json_int_t)cn->rr.generated,
			 "kcn_generated", (json_int_t)cn->rr.kcn_generated);
}

static void cn_destroy(void *inst)
{
	struct cn *cn = inst;

	if (!cn)
		return;
	if (cn->nonce_table.name)
		table_unregister(&cn->nonce_table);
	if (cn->tick.ev)
		timer_deinit(&cn->tick);
	if (cn->raw_w)
		io_watch_del(cn->raw_w);
	if (cn->raw_fd >= 0)
		close(cn->raw_fd);
	if (cn->raw_tx_fd >= 0)
		close(cn->raw_tx_fd);
	if (cn->ep)
		mip6_ep_close(cn->ep);
	if (cn->bc)
		bcache_destroy(cn->bc);
	free(cn->ext);
	memset(&cn->rr, 0, sizeof(cn->rr));
	if (cn->cfg)
		cn_config_free(cn->cfg);
	free(cn);
}

/* Each of them owns UDP port 4191 on the node (docs/mip6-transport.md). */
static const char *const cn_conflicts[] = { "ha", "mn", NULL };

const struct role_ops cn_role_ops = {
	.name = "cn",
	.conflicts = cn_conflicts,
	.description = "correspondent node: return routability, binding cache, route optimisation",
	.caps = ROLE_CAP(CAP_NET_ADMIN),
	.parse = cn_config_parse,
	.free_config = cn_config_free,
	.init = cn_init,
	.start = cn_start,
	.stop = cn_stop,
	.reload = cn_reload,
	.dump = cn_dump,
	.destroy = cn_destroy,
};
