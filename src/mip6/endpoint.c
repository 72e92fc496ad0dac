#include "mip6/endpoint.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/stats.h"
#include "net/loop.h"
#include "net/tun.h"
#include "net/udp.h"
#include "wire/udpencap.h"

#define MOD "mip6-ep"
#define MIP6_PORT 4191

static COUNTER_DEFINE(c_udp_rx, "mipsec_mip6_udp_rx_packets_total",
		      "Datagrams received on the RFC 5555 UDP port");
static COUNTER_DEFINE(c_udp_tx, "mipsec_mip6_udp_tx_packets_total",
		      "Datagrams sent from the RFC 5555 UDP port");
static COUNTER_DEFINE(c_udp_tx_err, "mipsec_mip6_udp_tx_errors_total",
		      "Datagrams the kernel refused to send");
static COUNTER_DEFINE(c_udp_bad, "mipsec_mip6_udp_rx_malformed_total",
		      "Datagrams on the RFC 5555 port that carry no valid encapsulation");
static COUNTER_DEFINE(c_tun_rx, "mipsec_mip6_tun_rx_packets_total",
		      "Packets read from the host-facing TUN device");
static COUNTER_DEFINE(c_tun_tx, "mipsec_mip6_tun_tx_packets_total",
		      "Packets written into the host-facing TUN device");
static COUNTER_DEFINE(c_tun_tx_err, "mipsec_mip6_tun_tx_errors_total",
		      "Packets the TUN device refused");

struct ep_sock {
	int fd;
	struct io_watch *w;
	struct mip6_ep *ep;
	/* recvmmsg batch, reused for every wake-up */
	struct udp_msg msgs[MIP6_EP_BATCH];
	uint8_t bufs[MIP6_EP_BATCH][MIP6_EP_BUFSZ];
};

struct mip6_ep {
	struct mip6_ep_ops ops;
	void *arg;
	struct ep_sock *s6, *s4;
	struct tun tun;
	bool has_tun;
	struct io_watch *tun_w;
	uint8_t tun_buf[MIP6_EP_BUFSZ];
	/* transmit queue, flushed with sendmmsg per socket */
	struct udp_msg txq[MIP6_EP_BATCH];
	uint8_t txbuf[MIP6_EP_BATCH][MIP6_EP_BUFSZ];
	bool tx_is_v4[MIP6_EP_BATCH];
	unsigned ntx;
	int depth;		/* >0 while an input batch is being handled */
};

static void counters_register(void)
{
	struct counter *all[] = { &c_udp_rx, &c_udp_tx, &c_udp_tx_err, &c_udp_bad,
				  &c_tun_rx, &c_tun_tx, &c_tun_tx_err };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		counter_register(all[i]);
}

static void flush_family(struct mip6_ep *ep, bool v4)
{
	struct ep_sock *s = v4 ? ep->s4 : ep->s6;
	struct udp_msg batch[MIP6_EP_BATCH];
	unsigned n = 0;

	for (unsigned i = 0; i < ep->ntx; i++)
		if (ep->tx_is_v4[i] == v4)
			batch[n++] = ep->txq[i];
	if (!n)
		return;
	if (!s) {
		counter_add(&c_udp_tx_err, n);
		return;
	}
	unsigned done = 0;
	while (done < n) {
		int rc = udp_send_batch(s->fd, batch + done, n - done);
		if (rc < 0) {
			/* Skip the datagram the kernel refused and go on. */
			counter_inc(&c_udp_tx_err);
			log_debug(MOD, "send failed err=\"%s\"", strerror(-rc));
			done++;
			continue;
		}
		counter_add(&c_udp_tx, (uint64_t)rc);
		done += (unsigned)rc;
	}
}

void mip6_ep_flush(struct mip6_ep *ep)
{
	if (!ep->ntx)
		return;
	flush_family(ep, false);
	flush_family(ep, true);
	ep->ntx = 0;
}

int mip6_ep_send2(struct mip6_ep *ep, const struct ip_addr *dst, uint16_t port,
		  const struct ip_addr *src, const uint8_t *a, size_t alen,
		  const uint8_t *b, size_t blen)
{
	if (alen + blen > MIP6_EP_BUFSZ)
		return -EMSGSIZE;
	if (dst->family != AF_INET && dst->family != AF_INET6)
		return -EAFNOSUPPORT;
	if (ep->ntx == MIP6_EP_BATCH)
		mip6_ep_flush(ep);
	unsigned i = ep->ntx++;
	struct udp_msg *m = &ep->txq[i];
	memcpy(ep->txbuf[i], a, alen);
	if (blen)
		memcpy(ep->txbuf[i] + alen, b, blen);
	memset(m, 0, sizeof(*m));
	m->buf = ep->txbuf[i];
	m->len = alen + blen;
	m->meta.peer = *dst;
	m->meta.peer_port = port ? port : MIP6_PORT;
	if (src)
		m->meta.local = *src;
	ep->tx_is_v4[i] = dst->family == AF_INET;
	if (!ep->depth)
		mip6_ep_flush(ep);
	return 0;
}

int mip6_ep_send(struct mip6_ep *ep, const struct ip_addr *dst, uint16_t port,
		 const struct ip_addr *src, const uint8_t *data, size_t len)
{
	return mip6_ep_send2(ep, dst, port, src, data, len, NULL, 0);
}

static void on_udp(int fd, void *arg)
{
	struct ep_sock *s = arg;
	struct mip6_ep *ep = s->ep;

	(void)fd;
	ep->depth++;
	for (;;) {
		for (unsigned i = 0; i < MIP6_EP_BATCH; i++) {
			s->msgs[i].buf = s->bufs[i];
			s->msgs[i].size = MIP6_EP_BUFSZ;
		}
		int n = udp_recv_batch(s->fd, s->msgs, MIP6_EP_BATCH);
		if (n <= 0)
			break;
		counter_add(&c_udp_rx, (uint64_t)n);
		for (int i = 0; i < n; i++) {
			struct udp_msg *m = &s->msgs[i];
			struct udpencap e;
			if (m->truncated ||
			    udpencap_parse(m->buf, m->len, &e, NULL) != WIRE_OK) {
				counter_inc(&c_udp_bad);
				continue;
			}
			struct mip6_rx rx = {
				.peer = m->meta.peer,
				.peer_port = m->meta.peer_port,
				.local = m->meta.local,
				.ifindex = m->meta.ifindex,
				.inner = e.inner,
				/* payload points into our own writable buffer */
				.pkt = (uint8_t *)e.payload,
				.len = e.payload_len,
			};
			ep->ops.rx(ep->arg, &rx);
		}
		if (n < MIP6_EP_BATCH)
			break;
	}
	ep->depth--;
	mip6_ep_flush(ep);
}

static void on_tun(int fd, void *arg)
{
	struct mip6_ep *ep = arg;

	ep->depth++;
	for (int i = 0; i < MIP6_EP_BATCH; i++) {
		ssize_t n = read(fd, ep->tun_buf + MIP6_EP_HEADROOM,
				 sizeof(ep->tun_buf) - MIP6_EP_HEADROOM);
		if (n <= 0)
			break;
		counter_inc(&c_tun_rx);
		struct mip6_tunpkt p = {
			.pkt = ep->tun_buf + MIP6_EP_HEADROOM,
			.len = (size_t)n,
			.headroom = MIP6_EP_HEADROOM,
		};
		ep->ops.tun(ep->arg, &p);
	}
	ep->depth--;
	mip6_ep_flush(ep);
}

int mip6_ep_tun_write(struct mip6_ep *ep, const uint8_t *pkt, size_t len)
{
	if (!ep->has_tun)
		return -ENODEV;
	ssize_t n = write(ep->tun.fds[0], pkt, len);
	if (n < 0) {
		counter_inc(&c_tun_tx_err);
		return -errno;
	}
	counter_inc(&c_tun_tx);
	return 0;
}

int mip6_ep_tun_ifindex(const struct mip6_ep *ep) { return ep->has_tun ? ep->tun.ifindex : 0; }
const char *mip6_ep_tun_name(const struct mip6_ep *ep) { return ep->has_tun ? ep->tun.name : NULL; }

/* MTU by name through an ioctl: the endpoint has no rtnetlink socket. */
static int tun_set_mtu(const char *name, unsigned mtu)
{
	struct ifreq ifr = { .ifr_mtu = (int)mtu };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int rc = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, SIOCSIFMTU, &ifr) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

static struct ep_sock *sock_open(struct mip6_ep *ep, struct loop *l, const struct ip_addr *a,
				 uint16_t port, uint32_t fwmark)
{
	struct udp_opts o = { .fwmark = fwmark, .v6only = true, .reuseaddr = true,
			      .freebind = true };
	struct ep_sock *s = calloc(1, sizeof(*s));
	char buf[64];

	if (!s)
		return NULL;
	s->ep = ep;
	s->fd = udp_open(a, port, &o);
	if (s->fd < 0) {
		log_err(MOD, "cannot open UDP socket addr=%s port=%u err=\"%s\"",
			ip_addr_fmt(a, buf, sizeof(buf)), port, strerror(-s->fd));
		free(s);
		return NULL;
	}
	/* A burst of tunnelled TCP outruns the default 208 KiB between two
	 * wake-ups; FORCE goes past rmem_max where we hold CAP_NET_ADMIN. */
	int bufsz = 4 << 20;
	if (setsockopt(s->fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufsz, sizeof(bufsz)) < 0)
		setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	if (setsockopt(s->fd, SOL_SOCKET, SO_SNDBUFFORCE, &bufsz, sizeof(bufsz)) < 0)
		setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	s->w = io_watch_add(l, s->fd, on_udp, s);
	if (!s->w) {
		close(s->fd);
		free(s);
		return NULL;
	}
	return s;
}

static void sock_close(struct ep_sock *s)
{
	if (!s)
		return;
	io_watch_del(s->w);
	close(s->fd);
	free(s);
}

struct mip6_ep *mip6_ep_open(struct loop *l, const struct mip6_ep_config *cfg,
			     const struct mip6_ep_ops *ops, void *arg)
{
	struct mip6_ep *ep = calloc(1, sizeof(*ep));
	uint16_t port = cfg->port ? cfg->port : MIP6_PORT;

	if (!ep)
		return NULL;
	counters_register();
	ep->ops = *ops;
	ep->arg = arg;
	if (cfg->bind6.family == AF_INET6 &&
	    !(ep->s6 = sock_open(ep, l, &cfg->bind6, port, cfg->fwmark)))
		goto fail;
	if (cfg->bind4.family == AF_INET &&
	    !(ep->s4 = sock_open(ep, l, &cfg->bind4, port, cfg->fwmark)))
		goto fail;
	if (cfg->tun_name) {
		int rc = tun_open(&ep->tun, cfg->tun_name, 1, 0);
		if (rc < 0) {
			log_err(MOD, "cannot open TUN name=%s err=\"%s\"", cfg->tun_name,
				strerror(-rc));
			goto fail;
		}
		ep->has_tun = true;
		if (cfg->tun_mtu && (rc = tun_set_mtu(ep->tun.name, cfg->tun_mtu)) < 0)
			log_warn(MOD, "cannot set TUN mtu name=%s mtu=%u err=\"%s\"",
				 ep->tun.name, cfg->tun_mtu, strerror(-rc));
		ep->tun_w = io_watch_add(l, ep->tun.fds[0], on_tun, ep);
		if (!ep->tun_w || !ops->tun)
			goto fail;
	}
	return ep;
fail:
	mip6_ep_close(ep);
	return NULL;
}

void mip6_ep_close(struct mip6_ep *ep)
{
	if (!ep)
		return;
	mip6_ep_flush(ep);
	sock_close(ep->s6);
	sock_close(ep->s4);
	if (ep->tun_w)
		io_watch_del(ep->tun_w);
	if (ep->has_tun)
		tun_close(&ep->tun);
	free(ep);
}
