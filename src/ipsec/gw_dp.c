/* Data plane of the `ipsec` gateway role, see gw_dp.h. */
#include "ipsec/gw_dp.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/stats.h"
#include "ipsec/esp.h"
#include "ipsec/gw_offload.h"
#include "net/loop.h"
#include "net/udp.h"

#define MOD "ipsec-dp"

#define BATCH 64		/* datagrams / packets per batch */
#define SLOT 4096		/* one datagram or packet, headroom included */
#define HEADROOM 64		/* before a packet: ESP header, rebuilt IP header */
#define SUPER_MAX (65536 + 256)	/* a TUN super-packet with its vnet header */
#define GSO_MAX_BYTES 65000	/* UDP GSO: one send stays under 64 KiB */
#define IKE_RING 512	/* IKE datagrams queued RX thread -> loop: a burst of
			 * IKE_AUTH on the NAT-T port (2 MiB at most) */
#define VNET_LEN GW_VNET_LEN
#define SPI_SLOTS 256		/* open addressing, > 2 * GW_DP_MAX_CHILDREN */
_Static_assert(SUPER_MAX >= GW_COALESCE_BUF, "the coalescing buffer is a SUPER_MAX one");

#define C(var, name, help) static COUNTER_DEFINE(var, "mipsec_ipsec_" name "_total", help)
C(c_tun_rx, "tun_rx_packets", "Cleartext packets read from the TUN device");
C(c_tun_rx_super, "tun_rx_super_packets", "TCP super-packets (TSO) read from the TUN device and segmented");
C(c_tun_rx_bad, "tun_rx_malformed", "Packets from the TUN device that are not IPv4/IPv6 or are cut short, dropped");
C(c_no_policy, "tx_no_policy", "Cleartext packets with no SA for their destination, dropped");
C(c_encap_err, "tx_encap_errors", "Cleartext packets ESP refused (SA expired, sequence exhausted, too big)");
C(c_udp_tx, "udp_tx_datagrams", "ESP datagrams sent");
C(c_udp_tx_gso, "udp_tx_gso_sends", "UDP GSO sends (each carries several ESP datagrams)");
C(c_udp_tx_err, "udp_tx_errors", "ESP datagrams the kernel refused to send, dropped");
C(c_udp_rx, "udp_rx_datagrams", "Datagrams received on the NAT-T port");
C(c_udp_rx_trunc, "udp_rx_truncated", "Datagrams on the NAT-T port longer than the receive buffer, dropped");
C(c_keepalive, "natt_keepalives", "NAT keepalives (a single 0xff octet, RFC 3948 2.3) received");
C(c_ike_rx, "ike_rx_natt", "IKE messages (non-ESP marker) received on the NAT-T port");
C(c_ike_drop, "ike_rx_dropped", "IKE messages dropped: no handler, or the queue to the loop was full");
C(c_inner_bad, "rx_inner_malformed", "Decrypted packets that are not the IP packet the next header names, dropped");
C(c_inner_policy, "rx_policy_drop", "Decrypted packets whose addresses the SA's selectors do not allow, dropped");
C(c_tun_tx, "tun_tx_packets", "Decrypted packets written into the TUN device");
C(c_tun_tx_err, "tun_tx_errors", "Decrypted packets the TUN device refused");
C(c_tun_tx_super, "tun_tx_super_packets", "TCP or UDP super-packets written into the TUN device (coalesced segments)");
#undef C

/* The IKE counters are touched by the RX thread and by the event loop
 * (the hand-over queue): atomic adds. The others belong to one thread. */
static inline void shared_inc(struct counter *c)
{
	__atomic_fetch_add(&c->value, 1, __ATOMIC_RELAXED);
}

static struct counter *const all_counters[] = {
	&c_tun_rx, &c_tun_rx_super, &c_tun_rx_bad, &c_no_policy, &c_encap_err, &c_udp_tx,
	&c_udp_tx_gso, &c_udp_tx_err, &c_udp_rx, &c_udp_rx_trunc, &c_keepalive, &c_ike_rx,
	&c_ike_drop, &c_inner_bad, &c_inner_policy, &c_tun_tx, &c_tun_tx_err, &c_tun_tx_super,
};

void gw_dp_counters_register(void)
{
	for (size_t i = 0; i < sizeof(all_counters) / sizeof(all_counters[0]); i++)
		counter_register(all_counters[i]);
	esp_stats_register();
}

/* ---- snapshot --------------------------------------------------------------- */

struct pol_entry {
	struct ip_prefix p;
	struct gw_dp_child *c;
};

struct gw_dp_snap {
	struct gw_dp_child *children[GW_DP_MAX_CHILDREN];
	size_t n_children;
	struct pol_entry pol[GW_DP_MAX_CHILDREN * GW_MAX_TS];	/* longest prefix first */
	size_t n_pol;
	struct { uint32_t spi; struct gw_dp_child *c; } spi[SPI_SLOTS];
};

static size_t spi_hash(uint32_t spi)
{
	return (size_t)((spi * 0x9e3779b1u) >> 24) & (SPI_SLOTS - 1);
}

static struct gw_dp_child *snap_spi(const struct gw_dp_snap *s, uint32_t spi)
{
	for (size_t i = spi_hash(spi), n = 0; n < SPI_SLOTS; i = (i + 1) & (SPI_SLOTS - 1), n++) {
		if (!s->spi[i].c)
			return NULL;
		if (s->spi[i].spi == spi)
			return s->spi[i].c;
	}
	return NULL;
}

static int pol_cmp(const void *a, const void *b)
{
	const struct pol_entry *x = a, *y = b;

	if (x->p.len != y->p.len)
		return (int)y->p.len - (int)x->p.len;
	/* Make-before-break: a rekeyed child wins over the one it replaces. */
	return x->c->gen < y->c->gen ? 1 : x->c->gen > y->c->gen ? -1 : 0;
}

static void snap_index(struct gw_dp_snap *s)
{
	s->n_pol = 0;
	memset(s->spi, 0, sizeof(s->spi));
	for (size_t i = 0; i < s->n_children; i++) {
		struct gw_dp_child *c = s->children[i];
		size_t h = spi_hash(c->id);

		for (size_t k = 0; k < c->n_remote_ts; k++)
			s->pol[s->n_pol++] = (struct pol_entry){ c->remote_ts[k], c };
		while (s->spi[h].c)
			h = (h + 1) & (SPI_SLOTS - 1);
		s->spi[h].spi = c->id;
		s->spi[h].c = c;
	}
	qsort(s->pol, s->n_pol, sizeof(s->pol[0]), pol_cmp);
}

static bool prefix_has(const struct ip_prefix *p, int family, const uint8_t *a)
{
	unsigned full = p->len / 8, rest = p->len % 8;

	if (p->addr.family != family)
		return false;
	if (memcmp(p->addr.bytes, a, full) != 0)
		return false;
	return !rest || ((p->addr.bytes[full] ^ a[full]) & (uint8_t)(0xff00u >> rest)) == 0;
}

/* Family and the source/destination address of an IP packet. */
static bool ip_addrs(const uint8_t *pkt, size_t len, int *family, const uint8_t **src,
		     const uint8_t **dst)
{
	if (len >= 20 && pkt[0] >> 4 == 4) {
		*family = AF_INET;
		*src = pkt + 12;
		*dst = pkt + 16;
		return true;
	}
	if (len >= 40 && pkt[0] >> 4 == 6) {
		*family = AF_INET6;
		*src = pkt + 8;
		*dst = pkt + 24;
		return true;
	}
	return false;
}

struct gw_dp_child *gw_dp_lookup_out(const struct gw_dp_snap *s, const uint8_t *pkt,
				     size_t len)
{
	const uint8_t *src, *dst;
	int family;

	if (!ip_addrs(pkt, len, &family, &src, &dst))
		return NULL;
	for (size_t i = 0; i < s->n_pol; i++)
		if (prefix_has(&s->pol[i].p, family, dst))
			return s->pol[i].c;
	return NULL;
}

static bool ts_has(const struct ip_prefix *ts, size_t n, int family, const uint8_t *a)
{
	for (size_t i = 0; i < n; i++)
		if (prefix_has(&ts[i], family, a))
			return true;
	return false;
}

bool gw_dp_check_in(const struct gw_dp_child *c, const uint8_t *pkt, size_t len)
{
	const uint8_t *src, *dst;
	int family;

	if (!ip_addrs(pkt, len, &family, &src, &dst))
		return false;
	return ts_has(c->remote_ts, c->n_remote_ts, family, src) &&
	       ts_has(c->local_ts, c->n_local_ts, family, dst);
}

/* ---- state ------------------------------------------------------------------ */

struct ike_slot {
	struct gw_path path;
	size_t len;
	uint8_t msg[SLOT];
};

struct worker {
	struct gw_dp *dp;
	pthread_t thread;
	bool running;
	_Atomic uint64_t active;	/* epoch entered, 0 when outside a batch */
};

struct tx_ctx {
	uint8_t (*slots)[SLOT];
	uint8_t *super;			/* TSO read buffer */
	struct iovec iov[BATCH];
	struct gw_dp_child *child[BATCH];
	unsigned n;
};

struct rx_ctx {
	/* One TCP or UDP flow being coalesced into a super-packet for the
	 * TUN device (the receive-side counterpart of TSO: one write and one
	 * pass through the host's stack for up to 64 segments); its
	 * tcp_ok/udp_ok drop when the TUN refuses a kind. */
	struct gw_coalescer gro;
	uint8_t (*slots)[SLOT];
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_storage from[BATCH];
	union { char b[256]; struct cmsghdr a; } cb[BATCH];
};

struct gw_dp {
	struct gw_dp_config cfg;
	_Atomic(struct gw_dp_snap *) snap;
	_Atomic uint64_t epoch;
	struct worker tx_w, rx_w;
	int stop_fd;			/* eventfd: workers exit */
	int ike_fd;			/* eventfd: IKE messages queued or SA expiries noted, for the loop */
	struct io_watch *ike_w, *tun_w, *udp_w;
	bool started;
	bool gso_ok;
	struct tx_ctx tx;
	struct rx_ctx rx;
	struct ike_slot *ike;		/* SPSC ring RX thread -> loop */
	_Atomic unsigned ike_head, ike_tail;
	/* A worker saw an SA expire (soft or hard): the loop calls expiry(). */
	_Atomic bool expiry_pending;
	void (*expiry)(void *arg);
	void *expiry_arg;
};

/* Called by the thread that owns `sa` (TX for outbound, RX for inbound)
 * after a packet: wakes the loop the first time the SA reaches each
 * expiry state (ike_fd doubles as the loop's wake-up). */
static void note_expiry(struct gw_dp *dp, struct sa *sa)
{
	static const uint64_t one = 1;

	if (sa->expiry <= sa->expiry_told)
		return;
	sa->expiry_told = sa->expiry;
	atomic_store(&dp->expiry_pending, true);
	if (dp->cfg.workers >= 2)
		(void)!write(dp->ike_fd, &one, sizeof(one));
}

/* In the loop: tells the owner, once per batch of notes. */
static void expiry_flush(struct gw_dp *dp)
{
	if (atomic_exchange(&dp->expiry_pending, false) && dp->expiry)
		dp->expiry(dp->expiry_arg);
}

/* ---- RCU-like publication --------------------------------------------------- */

static void worker_enter(struct gw_dp *dp, struct worker *w)
{
	atomic_store(&w->active, atomic_load(&dp->epoch));
}

static void worker_leave(struct worker *w)
{
	atomic_store(&w->active, 0);
}

static void wait_worker(struct worker *w, uint64_t e)
{
	uint64_t a;

	if (!w->running)
		return;
	while ((a = atomic_load(&w->active)) != 0 && a < e)
		sched_yield();
}

/* Publishes `n` and frees the snapshot it replaces once no worker can
 * still be reading it. */
static void publish(struct gw_dp *dp, struct gw_dp_snap *n)
{
	struct gw_dp_snap *old = atomic_exchange(&dp->snap, n);
	uint64_t e = atomic_fetch_add(&dp->epoch, 1) + 1;

	wait_worker(&dp->tx_w, e);
	wait_worker(&dp->rx_w, e);
	free(old);
}

static struct gw_dp_snap *snap_copy(struct gw_dp *dp)
{
	struct gw_dp_snap *n = malloc(sizeof(*n)), *cur = atomic_load(&dp->snap);

	if (n)
		memcpy(n, cur, sizeof(*n));
	return n;
}

struct gw_dp_child *gw_dp_child_get(struct gw_dp *dp, uint32_t id)
{
	struct gw_dp_snap *s = atomic_load(&dp->snap);

	for (size_t i = 0; i < s->n_children; i++)
		if (s->children[i]->id == id)
			return s->children[i];
	return NULL;
}

int gw_dp_add_child(struct gw_dp *dp, struct gw_dp_child *c)
{
	struct gw_dp_snap *n;

	if (gw_dp_child_get(dp, c->id))
		return -EEXIST;
	if (atomic_load(&dp->snap)->n_children >= GW_DP_MAX_CHILDREN)
		return -ENOSPC;
	if (!(n = snap_copy(dp)))
		return -ENOMEM;
	n->children[n->n_children++] = c;
	snap_index(n);
	publish(dp, n);
	return 0;
}

struct gw_dp_child *gw_dp_remove_child(struct gw_dp *dp, uint32_t id)
{
	struct gw_dp_child *c = gw_dp_child_get(dp, id);
	struct gw_dp_snap *n;

	if (!c)
		return NULL;
	/* Without memory for a new snapshot, an empty table still stops
	 * every use of the child; the others are put back below. */
	n = snap_copy(dp);
	if (!n) {
		log_err(MOD, "no memory to remove child spi=0x%08x", id);
		return NULL;
	}
	for (size_t i = 0; i < n->n_children; i++)
		if (n->children[i] == c) {
			n->children[i] = n->children[--n->n_children];
			break;
		}
	snap_index(n);
	publish(dp, n);
	return c;
}

/* ---- TX: TUN -> ESP -> UDP -------------------------------------------------- */

/* Encapsulates the packet at `pkt` (inside slot tx->n) and queues it. */
static void tx_one(struct gw_dp *dp, const struct gw_dp_snap *s, uint8_t *slot, uint8_t *pkt,
		   size_t len)
{
	struct tx_ctx *tx = &dp->tx;
	struct gw_dp_child *c = gw_dp_lookup_out(s, pkt, len);
	const uint8_t *payload = pkt;
	size_t plen = len, olen;
	uint8_t nh, *out;

	counter_inc(&c_tun_rx);
	if (!c) {
		if (pkt[0] >> 4 != 4 && pkt[0] >> 4 != 6)
			counter_inc(&c_tun_rx_bad);
		else
			counter_inc(&c_no_policy);
		return;
	}
	if (c->mode == SA_MODE_TUNNEL) {
		nh = pkt[0] >> 4 == 4 ? IPPROTO_IPIP : IPPROTO_IPV6;
	} else {
		size_t hl = pkt[0] >> 4 == 4 ? (size_t)(pkt[0] & 15) * 4 : 40;

		if (hl < 20 || hl > len) {
			counter_inc(&c_tun_rx_bad);
			return;
		}
		nh = pkt[0] >> 4 == 4 ? pkt[9] : pkt[6];
		payload = pkt + hl;
		plen = len - hl;
	}
	out = (uint8_t *)payload - esp_header_len(c->out);
	enum esp_err e = esp_encap(c->out, payload, plen, nh, out, (size_t)(slot + SLOT - out),
				   &olen);
	note_expiry(dp, c->out);
	if (e != ESP_OK) {
		counter_inc(&c_encap_err);
		return;
	}
	tx->iov[tx->n] = (struct iovec){ out, olen };
	tx->child[tx->n] = c;
	tx->n++;
}

static bool wait_fd(int fd, short ev, int ms)
{
	struct pollfd p = { .fd = fd, .events = ev };

	return poll(&p, 1, ms) > 0;
}

/* Sends tx->iov[0..n): runs of equal length to one child as one UDP GSO
 * message (the last of a run may be shorter), the rest one by one. */
static void tx_flush(struct gw_dp *dp)
{
	struct tx_ctx *tx = &dp->tx;
	struct mmsghdr mm[BATCH];
	union { char b[CMSG_SPACE(sizeof(uint16_t))]; struct cmsghdr a; } cb[BATCH];
	unsigned first[BATCH], count[BATCH], nm = 0, done = 0;

	for (unsigned i = 0; i < tx->n;) {
		unsigned k = 1;
		size_t seg = tx->iov[i].iov_len, total = seg;

		if (dp->gso_ok)
			while (i + k < tx->n && tx->child[i + k] == tx->child[i] &&
			       tx->iov[i + k].iov_len <= seg &&
			       total + tx->iov[i + k].iov_len <= GSO_MAX_BYTES) {
				total += tx->iov[i + k].iov_len;
				k++;
				if (tx->iov[i + k - 1].iov_len < seg)
					break;
			}
		struct msghdr *h = &mm[nm].msg_hdr;
		*h = (struct msghdr){ .msg_name = &tx->child[i]->peer_sa,
				      .msg_namelen = tx->child[i]->peer_salen,
				      .msg_iov = &tx->iov[i], .msg_iovlen = k };
		if (k > 1) {
			uint16_t gs = (uint16_t)seg;

			h->msg_control = cb[nm].b;
			h->msg_controllen = sizeof(cb[nm].b);
			struct cmsghdr *cm = CMSG_FIRSTHDR(h);
			cm->cmsg_level = SOL_UDP;
			cm->cmsg_type = UDP_SEGMENT;
			cm->cmsg_len = CMSG_LEN(sizeof(gs));
			memcpy(CMSG_DATA(cm), &gs, sizeof(gs));
		}
		first[nm] = i;
		count[nm] = k;
		nm++;
		i += k;
	}
	while (done < nm) {
		int rc = sendmmsg(dp->cfg.udp_fd, mm + done, nm - done, 0);

		if (rc > 0) {
			for (unsigned j = done; j < done + (unsigned)rc; j++) {
				counter_add(&c_udp_tx, count[j]);
				if (count[j] > 1)
					counter_inc(&c_udp_tx_gso);
			}
			done += (unsigned)rc;
			continue;
		}
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0 && (errno == EAGAIN || errno == ENOBUFS) && dp->cfg.workers > 1 &&
		    wait_fd(dp->cfg.udp_fd, POLLOUT, 100))
			continue;	/* TX thread: wait for room rather than drop */
		if (rc < 0 && count[done] > 1 && (errno == EIO || errno == EINVAL ||
						  errno == EOPNOTSUPP)) {
			/* No UDP GSO here after all: send this one singly. */
			log_notice(MOD, "UDP GSO refused, sending datagrams singly err=\"%s\"",
				   strerror(errno));
			dp->gso_ok = false;
			for (unsigned j = 0; j < count[done]; j++) {
				struct iovec *v = &tx->iov[first[done] + j];
				if (sendto(dp->cfg.udp_fd, v->iov_base, v->iov_len, 0,
					   mm[done].msg_hdr.msg_name,
					   mm[done].msg_hdr.msg_namelen) < 0)
					counter_inc(&c_udp_tx_err);
				else
					counter_inc(&c_udp_tx);
			}
			done++;
			continue;
		}
		counter_add(&c_udp_tx_err, count[done]);
		log_debug(MOD, "send failed err=\"%s\"", strerror(errno));
		done++;
	}
	tx->n = 0;
}

/* A super-packet or partial checksum the offload code refused. */
static void tun_rx_refused(enum gw_offload_err e)
{
	counter_inc(&c_tun_rx_bad);
	log_debug(MOD, "TUN packet dropped: %s", gw_offload_strerror(e));
}

/* Cuts a TCP super-packet into gso_size segments, each a complete packet
 * with its own headers and checksums built straight into a TX slot, and
 * encapsulates them. */
static void tx_segment(struct gw_dp *dp, const struct gw_dp_snap *s, const uint8_t *pkt,
		       size_t len, const struct virtio_net_hdr *vh)
{
	struct gw_tso t;
	enum gw_offload_err e = gw_tso_begin(&t, vh, pkt, len, SLOT - HEADROOM - 64);
	size_t n;

	if (e != GW_OFFLOAD_OK) {
		tun_rx_refused(e);
		return;
	}
	counter_inc(&c_tun_rx_super);
	for (;;) {
		if (dp->tx.n == BATCH)
			tx_flush(dp);
		uint8_t *slot = dp->tx.slots[dp->tx.n], *p = slot + HEADROOM;

		if (!(n = gw_tso_next(&t, p)))
			break;
		tx_one(dp, s, slot, p, n);
	}
}

/* One super-packet read (vnet header first). */
static void tx_read_vnet(struct gw_dp *dp, const struct gw_dp_snap *s, size_t n)
{
	struct virtio_net_hdr vh;
	uint8_t *pkt = dp->tx.super + VNET_LEN;
	size_t len = n - VNET_LEN;
	enum gw_offload_err e;

	memcpy(&vh, dp->tx.super, VNET_LEN);
	if (vh.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		tx_segment(dp, s, pkt, len, &vh);
		return;
	}
	if (len + HEADROOM + 64 > SLOT) {
		counter_inc(&c_tun_rx_bad);
		return;
	}
	if (dp->tx.n == BATCH)
		tx_flush(dp);
	uint8_t *slot = dp->tx.slots[dp->tx.n], *p = slot + HEADROOM;

	memcpy(p, pkt, len);
	if ((e = gw_csum_finish(p, len, &vh)) != GW_OFFLOAD_OK) {
		tun_rx_refused(e);
		return;
	}
	tx_one(dp, s, slot, p, len);
}

/* Drains up to a batch's worth of reads from the TUN device; returns
 * whether the device may have more. */
static bool tx_batch(struct gw_dp *dp)
{
	struct gw_dp_snap *s = atomic_load(&dp->snap);
	bool more = true;

	for (unsigned r = 0; r < BATCH; r++) {
		ssize_t n;

		if (dp->cfg.vnet_hdr) {
			n = read(dp->cfg.tun_fd, dp->tx.super, SUPER_MAX);
			if (n <= (ssize_t)VNET_LEN) {
				more = n > 0;
				break;
			}
			tx_read_vnet(dp, s, (size_t)n);
			continue;
		}
		uint8_t *slot = dp->tx.slots[dp->tx.n], *p = slot + HEADROOM;
		n = read(dp->cfg.tun_fd, p, SLOT - HEADROOM - 64);
		if (n <= 0) {
			more = false;
			break;
		}
		tx_one(dp, s, slot, p, (size_t)n);
		if (dp->tx.n == BATCH)
			tx_flush(dp);
	}
	tx_flush(dp);
	return more;
}

/* ---- RX: UDP -> ESP -> TUN -------------------------------------------------- */

static void ike_deliver(struct gw_dp *dp, const struct gw_path *path, const uint8_t *msg,
			size_t len)
{
	shared_inc(&c_ike_rx);
	if (!dp->cfg.ike) {
		shared_inc(&c_ike_drop);
		return;
	}
	if (dp->cfg.workers < 2) {
		dp->cfg.ike(dp->cfg.ike_arg, path, msg, len);
		return;
	}
	unsigned h = atomic_load(&dp->ike_head), t = atomic_load(&dp->ike_tail);
	if (h - t >= IKE_RING || len > SLOT) {
		shared_inc(&c_ike_drop);
		return;
	}
	struct ike_slot *sl = &dp->ike[h % IKE_RING];
	sl->path = *path;
	sl->len = len;
	memcpy(sl->msg, msg, len);
	atomic_store(&dp->ike_head, h + 1);
	uint64_t one = 1;
	(void)!write(dp->ike_fd, &one, sizeof(one));
}

static void on_ike_queue(int fd, void *arg)
{
	struct gw_dp *dp = arg;
	uint64_t v;

	(void)!read(fd, &v, sizeof(v));
	for (;;) {
		unsigned t = atomic_load(&dp->ike_tail);
		if (t == atomic_load(&dp->ike_head))
			break;
		struct ike_slot *sl = &dp->ike[t % IKE_RING];
		if (dp->cfg.ike)
			dp->cfg.ike(dp->cfg.ike_arg, &sl->path, sl->msg, sl->len);
		else
			shared_inc(&c_ike_drop);
		atomic_store(&dp->ike_tail, t + 1);
	}
	expiry_flush(dp);
}

static void rx_ike(struct gw_dp *dp, const struct mmsghdr *m, const uint8_t *buf, size_t len)
{
	const struct msghdr *h = &m->msg_hdr;
	struct gw_path path = { .local_port = dp->cfg.natt_port };

	udp_sockaddr_addr(h->msg_name, &path.peer, &path.peer_port);
	for (struct cmsghdr *c = CMSG_FIRSTHDR((struct msghdr *)h); c;
	     c = CMSG_NXTHDR((struct msghdr *)h, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			path.local.family = AF_INET;
			path.local.v4 = pi.ipi_addr;
			path.ifindex = pi.ipi_ifindex;
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			if (IN6_IS_ADDR_V4MAPPED(&pi.ipi6_addr)) {
				path.local.family = AF_INET;
				memcpy(&path.local.v4, &pi.ipi6_addr.s6_addr[12], 4);
			} else {
				path.local.family = AF_INET6;
				path.local.v6 = pi.ipi6_addr;
			}
			path.ifindex = (int)pi.ipi6_ifindex;
		}
	}
	ike_deliver(dp, &path, buf + 4, len - 4);
}

static void tun_write_raw(struct gw_dp *dp, uint8_t *pkt, size_t len)
{
	if (write(dp->cfg.tun_fd, pkt, len) < 0)
		counter_inc(&c_tun_tx_err);
}

static void tun_write(struct gw_dp *dp, uint8_t *pkt, size_t len)
{
	if (dp->cfg.vnet_hdr) {
		/* There is headroom in front: the ESP header at least. */
		pkt -= VNET_LEN;
		memset(pkt, 0, VNET_LEN);
		len += VNET_LEN;
	}
	tun_write_raw(dp, pkt, len);
	counter_inc(&c_tun_tx);
}

/* Writes the pending super-packet (or lone segment) into the TUN device. */
static void gro_flush(struct gw_dp *dp)
{
	struct gw_coalescer *g = &dp->rx.gro;
	struct gw_coalesced o;

	if (!gw_coalesce_flush(g, &o))
		return;
	if (o.segs > 1)
		counter_inc(&c_tun_tx_super);
	if (write(dp->cfg.tun_fd, o.buf, o.len) < 0) {
		counter_add(&c_tun_tx_err, o.segs);
		/* A kernel without TCP or UDP super-packets from user space:
		 * stop making them (this one is lost, TCP resends it). */
		if (o.segs > 1 && errno == EINVAL) {
			log_notice(MOD, "TUN refused a %s super-packet, writing segments singly",
				   o.udp ? "UDP" : "TCP");
			if (o.udp)
				g->udp_ok = false;
			else
				g->tcp_ok = false;
		}
	} else {
		counter_add(&c_tun_tx, o.segs);
	}
}

/* Hands a decrypted packet to the TUN device, coalescing segments of one
 * flow when the device takes super-packets. */
static void rx_deliver(struct gw_dp *dp, uint8_t *p, size_t len)
{
	struct gw_coalescer *g = &dp->rx.gro;

	if (!dp->cfg.vnet_hdr) {
		tun_write(dp, p, len);
		return;
	}
	switch (gw_coalesce_add(g, p, len)) {
	case GW_COALESCE_HELD:
		return;
	case GW_COALESCE_FLUSH:
		gro_flush(dp);
		return;
	case GW_COALESCE_OTHER:
		/* It starts the next one (and may end it at once). */
		gro_flush(dp);
		if (gw_coalesce_add(g, p, len) == GW_COALESCE_FLUSH)
			gro_flush(dp);
		return;
	case GW_COALESCE_ALONE:
		gro_flush(dp);
		tun_write(dp, p, len);
		return;
	}
}

/* Rebuilds the IP header a transport-mode packet lost, from the child's
 * single-host selectors; returns the packet start or NULL. */
static uint8_t *transport_hdr(const struct gw_dp_child *c, uint8_t *payload, size_t *len,
			      uint8_t nh)
{
	const struct ip_addr *src = &c->remote_ts[0].addr, *dst = &c->local_ts[0].addr;
	uint8_t *p;

	if (src->family == AF_INET) {
		p = payload - 20;
		memset(p, 0, 20);
		p[0] = 0x45;
		gw_put16(p + 2, (uint16_t)(*len + 20));
		p[6] = 0x40;	/* DF */
		p[8] = 64;
		p[9] = nh;
		memcpy(p + 12, &src->v4, 4);
		memcpy(p + 16, &dst->v4, 4);
		gw_ipv4_hdr_csum(p);
		*len += 20;
		return p;
	}
	p = payload - 40;
	memset(p, 0, 40);
	p[0] = 0x60;
	gw_put16(p + 4, (uint16_t)*len);
	p[6] = nh;
	p[7] = 64;
	memcpy(p + 8, &src->v6, 16);
	memcpy(p + 24, &dst->v6, 16);
	*len += 40;
	return p;
}

/* A decrypted tunnel-mode payload must be exactly the IP packet its next
 * header names (trailing bytes are trimmed to the IP length). */
static bool inner_ok(uint8_t nh, const uint8_t *p, size_t *len)
{
	size_t l;

	if (nh == IPPROTO_IPIP && *len >= 20 && p[0] >> 4 == 4) {
		l = (size_t)p[2] << 8 | p[3];
		if (l < (size_t)(p[0] & 15) * 4 || l > *len)
			return false;
	} else if (nh == IPPROTO_IPV6 && *len >= 40 && p[0] >> 4 == 6) {
		l = 40 + ((size_t)p[4] << 8 | p[5]);
		if (l > *len)
			return false;
	} else {
		return false;
	}
	*len = l;
	return true;
}

static void rx_esp(struct gw_dp *dp, const struct gw_dp_snap *s, uint8_t *buf, size_t len)
{
	struct gw_dp_child *c = snap_spi(s, len >= 4 ? gw_get32(buf) : 0);
	struct esp_decap_result r;

	if (!c) {
		esp_count_error(NULL, len < ESP_HDR_LEN ? ESP_ERR_TRUNCATED : ESP_ERR_UNKNOWN_SPI);
		return;
	}
	enum esp_err e = esp_decap(c->in, buf, len, &r);
	note_expiry(dp, c->in);
	if (e != ESP_OK)
		return;		/* counted by esp_decap, per SA and globally */
	if (r.next_header == ESP_NH_NONE)
		return;		/* dummy packet (RFC 4303 2.6) */
	uint8_t *pkt = r.payload;
	size_t plen = r.len;

	if (c->mode == SA_MODE_TRANSPORT) {
		pkt = transport_hdr(c, r.payload, &plen, r.next_header);
	} else if (!inner_ok(r.next_header, pkt, &plen)) {
		counter_inc(&c_inner_bad);
		return;
	}
	if (!gw_dp_check_in(c, pkt, plen)) {
		counter_inc(&c_inner_policy);
		return;
	}
	rx_deliver(dp, pkt, plen);
}

static bool rx_batch(struct gw_dp *dp)
{
	struct rx_ctx *rx = &dp->rx;
	struct gw_dp_snap *s = atomic_load(&dp->snap);
	int n;

	for (unsigned i = 0; i < BATCH; i++) {
		rx->iov[i] = (struct iovec){ rx->slots[i] + HEADROOM, SLOT - HEADROOM };
		rx->mm[i].msg_hdr = (struct msghdr){
			.msg_name = &rx->from[i], .msg_namelen = sizeof(rx->from[i]),
			.msg_iov = &rx->iov[i], .msg_iovlen = 1,
			.msg_control = rx->cb[i].b, .msg_controllen = sizeof(rx->cb[i].b),
		};
	}
	do
		n = recvmmsg(dp->cfg.udp_fd, rx->mm, BATCH, MSG_DONTWAIT, NULL);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return false;
	counter_add(&c_udp_rx, (uint64_t)n);
	for (int i = 0; i < n; i++) {
		uint8_t *buf = rx->slots[i] + HEADROOM;
		size_t len = rx->mm[i].msg_len;

		if (rx->mm[i].msg_hdr.msg_flags & MSG_TRUNC) {
			counter_inc(&c_udp_rx_trunc);
			continue;
		}
		if (len == 1 && buf[0] == 0xff) {
			counter_inc(&c_keepalive);
			continue;
		}
		if (len >= 4 && gw_get32(buf) == 0) {
			rx_ike(dp, &rx->mm[i], buf, len);
			continue;
		}
		rx_esp(dp, s, buf, len);
	}
	gro_flush(dp);
	return n == BATCH;
}

/* ---- workers ---------------------------------------------------------------- */

/* One worker: wait for its input or the stop signal, then drain a few
 * batches inside a read-side section of the SA snapshot. */
static void worker_loop(struct worker *w, int fd, bool (*batch)(struct gw_dp *))
{
	struct gw_dp *dp = w->dp;
	struct pollfd p[2] = { { .fd = fd, .events = POLLIN },
			       { .fd = dp->stop_fd, .events = POLLIN } };

	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		worker_enter(dp, w);
		for (int k = 0; k < 4 && batch(dp); k++)
			;
		worker_leave(w);
	}
}

static void *tx_main(void *arg)
{
	struct worker *w = arg;

	worker_loop(w, w->dp->cfg.tun_fd, tx_batch);
	return NULL;
}

static void *rx_main(void *arg)
{
	struct worker *w = arg;

	worker_loop(w, w->dp->cfg.udp_fd, rx_batch);
	return NULL;
}

static void on_tun(int fd, void *arg)
{
	(void)fd;
	tx_batch(arg);
	expiry_flush(arg);
}

static void on_udp(int fd, void *arg)
{
	(void)fd;
	for (int k = 0; k < 4 && rx_batch(arg); k++)
		;
	expiry_flush(arg);
}

/* ---- lifecycle -------------------------------------------------------------- */

struct gw_dp *gw_dp_new(const struct gw_dp_config *c)
{
	struct gw_dp *dp = calloc(1, sizeof(*dp));

	if (!dp)
		return NULL;
	gw_dp_counters_register();
	dp->cfg = *c;
	dp->stop_fd = dp->ike_fd = -1;
	dp->gso_ok = c->udp_gso;
	dp->rx.gro.tcp_ok = dp->rx.gro.udp_ok = true;
	dp->tx.slots = calloc(BATCH, SLOT);
	dp->rx.slots = calloc(BATCH, SLOT);
	dp->tx.super = c->vnet_hdr ? malloc(SUPER_MAX) : NULL;
	dp->rx.gro.buf = c->vnet_hdr ? malloc(SUPER_MAX) : NULL;
	dp->ike = calloc(IKE_RING, sizeof(*dp->ike));
	struct gw_dp_snap *s = calloc(1, sizeof(*s));
	atomic_init(&dp->snap, s);
	atomic_init(&dp->epoch, 1);
	dp->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	dp->ike_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!s || !dp->tx.slots || !dp->rx.slots || !dp->ike || (c->vnet_hdr && (!dp->tx.super || !dp->rx.gro.buf)) ||
	    dp->stop_fd < 0 || dp->ike_fd < 0) {
		gw_dp_free(dp);
		return NULL;
	}
	dp->tx_w.dp = dp->rx_w.dp = dp;
	return dp;
}

void gw_dp_set_expiry(struct gw_dp *dp, void (*fn)(void *arg), void *arg)
{
	dp->expiry_arg = arg;
	dp->expiry = fn;
}

void gw_dp_set_ike(struct gw_dp *dp, gw_ike_fn fn, void *arg)
{
	dp->cfg.ike_arg = arg;
	dp->cfg.ike = fn;
}

int gw_dp_start(struct gw_dp *dp)
{
	int rc;

	if (dp->started)
		return 0;
	if (dp->cfg.workers < 2) {
		dp->tun_w = io_watch_add(dp->cfg.loop, dp->cfg.tun_fd, on_tun, dp);
		dp->udp_w = io_watch_add(dp->cfg.loop, dp->cfg.udp_fd, on_udp, dp);
		if (!dp->tun_w || !dp->udp_w)
			return -ENOMEM;
		dp->started = true;
		return 0;
	}
	dp->ike_w = io_watch_add(dp->cfg.loop, dp->ike_fd, on_ike_queue, dp);
	if (!dp->ike_w)
		return -ENOMEM;
	if ((rc = pthread_create(&dp->tx_w.thread, NULL, tx_main, &dp->tx_w)) != 0)
		return -rc;
	dp->tx_w.running = true;
	if ((rc = pthread_create(&dp->rx_w.thread, NULL, rx_main, &dp->rx_w)) != 0) {
		gw_dp_stop(dp);
		return -rc;
	}
	dp->rx_w.running = true;
	dp->started = true;
	return 0;
}

void gw_dp_stop(struct gw_dp *dp)
{
	uint64_t one = 1;

	if (dp->tx_w.running || dp->rx_w.running)
		(void)!write(dp->stop_fd, &one, sizeof(one));
	if (dp->tx_w.running)
		pthread_join(dp->tx_w.thread, NULL);
	if (dp->rx_w.running)
		pthread_join(dp->rx_w.thread, NULL);
	dp->tx_w.running = dp->rx_w.running = false;
	if (dp->tun_w)
		io_watch_del(dp->tun_w);
	if (dp->udp_w)
		io_watch_del(dp->udp_w);
	if (dp->ike_w)
		io_watch_del(dp->ike_w);
	dp->tun_w = dp->udp_w = dp->ike_w = NULL;
	dp->started = false;
}

void gw_dp_free(struct gw_dp *dp)
{
	if (!dp)
		return;
	gw_dp_stop(dp);
	if (dp->stop_fd >= 0)
		close(dp->stop_fd);
	if (dp->ike_fd >= 0)
		close(dp->ike_fd);
	free(atomic_load(&dp->snap));
	free(dp->tx.slots);
	free(dp->rx.slots);
	free(dp->tx.super);
	free(dp->rx.gro.buf);
	free(dp->ike);
	free(dp);
}

json_t *gw_dp_dump(struct gw_dp *dp)
{
	json_t *o = json_object();
	struct gw_dp_snap *s = atomic_load(&dp->snap);

	json_object_set_new(o, "workers", json_integer(dp->cfg.workers));
	json_object_set_new(o, "tun_offload", json_boolean(dp->cfg.vnet_hdr));
	json_object_set_new(o, "udp_gso", json_boolean(dp->gso_ok));
	json_object_set_new(o, "tun_tcp_coalescing", json_boolean(dp->cfg.vnet_hdr && dp->rx.gro.tcp_ok));
	json_object_set_new(o, "tun_udp_coalescing", json_boolean(dp->cfg.vnet_hdr && dp->rx.gro.udp_ok));
	json_object_set_new(o, "children", json_integer((json_int_t)s->n_children));
	for (size_t i = 0; i < sizeof(all_counters) / sizeof(all_counters[0]); i++) {
		const char *n = all_counters[i]->name + strlen("mipsec_ipsec_");
		size_t l = strlen(n) - strlen("_total");
		char key[64];

		snprintf(key, sizeof(key), "%.*s", (int)l, n);
		json_object_set_new(o, key, json_integer((json_int_t)all_counters[i]->value));
	}
	return o;
}
