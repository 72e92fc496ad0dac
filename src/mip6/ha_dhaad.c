/* Dynamic Home Agent Address Discovery responder (RFC 6275 §10.5) and the
 * home agents list (§10.1, §10.5.1).
 *
 * Requests (ICMPv6 144) are sent by a mobile node from its care-of address
 * to the Home-Agents anycast address of its home prefix (RFC 2526) and are
 * routed to the home link, so they may reach us through any interface: the
 * request socket is a raw ICMPv6 socket not bound to a device, joined to
 * each anycast address with IPV6_JOIN_ANYCAST on the home link (allowed
 * without root inside a user namespace that owns the network namespace:
 * the kernel asks for CAP_NET_ADMIN in the namespace's owner). The reply
 * (145) is sent from our home address, listing the home agents of the
 * link by preference, highest first (§10.5.1).
 *
 * Other home agents are learnt from Router Advertisements on the home link
 * with the H flag: the Home Agent Information option gives preference and
 * lifetime (default: 0 and the router lifetime), a Prefix Information
 * option with the R flag the global address (§10.5.1). Lifetime 0 removes
 * an entry; entries lapse when their lifetime ends. */
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/icmp6.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "core/stats.h"
#include "mip6/ha_priv.h"
#include "net/icmp6.h"
#include "wire/icmp6msg.h"
#include "wire/nd.h"

#define MOD "ha"
#define HA_LIST_MAX 64
/* Addresses in a reply so that it fits in 1280 octets (§10.5.1). */
#define HA_REPLY_MAX ((1280 - 40 - 8) / 16)

struct ha_list_entry {
	struct in6_addr lladdr;		/* key: the router's link-local source */
	struct in6_addr global;
	bool has_global;
	int16_t preference;
	uint64_t expiry_ms;
};

struct ha_dhaad {
	struct ha *ha;
	int fd;				/* requests, any interface */
	struct io_watch *w;
	int ra_fd;			/* RAs on the home link */
	struct io_watch *ra_w;
	struct in6_addr joined[HA_MAX_PREFIXES];
	size_t n_joined;
	struct ha_list_entry list[HA_LIST_MAX];
	size_t n;
};

static COUNTER_DEFINE(c_req, "mipsec_ha_dhaad_requests_total",
		      "Home Agent Address Discovery Requests received");
static COUNTER_DEFINE(c_rep, "mipsec_ha_dhaad_replies_total",
		      "Home Agent Address Discovery Replies sent");
static COUNTER_DEFINE(c_bad, "mipsec_ha_dhaad_malformed_total",
		      "Home Agent Address Discovery Requests dropped as malformed");
static COUNTER_DEFINE(c_ra, "mipsec_ha_ra_home_agent_total",
		      "Router Advertisements with the H flag heard on the home link");
static COUNTER_DEFINE(c_ra_bad, "mipsec_ha_ra_malformed_total",
		      "Router Advertisements on the home link dropped as malformed");
static COUNTER_DEFINE(c_list_full, "mipsec_ha_list_full_total",
		      "Home agents not listed because the list was full");

static void counters_register(void)
{
	static struct counter *const all[] = { &c_req, &c_rep, &c_bad, &c_ra, &c_ra_bad,
					       &c_list_full };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		counter_register(all[i]);
}

struct cand {
	const struct in6_addr *a;
	int16_t pref;
	unsigned tie;
};

static int cand_cmp(const void *x, const void *y)
{
	const struct cand *a = x, *b = y;

	if (a->pref != b->pref)
		return a->pref > b->pref ? -1 : 1;
	return a->tie < b->tie ? -1 : a->tie > b->tie;
}

size_t ha_dhaad_reply(struct ha_dhaad *h, uint16_t id, const uint8_t *src, const uint8_t *dst,
		      uint8_t *buf, size_t size)
{
	struct cand c[HA_LIST_MAX + 1];
	uint8_t body[HA_REPLY_MAX * 16];
	size_t n = 0, k = 0;
	uint64_t now = mono_ms();
	struct wire_error err;

	c[n++] = (struct cand){ &h->ha->cfg->address, h->ha->cfg->preference, arc4random() };
	for (size_t i = 0; i < h->n; i++) {
		const struct ha_list_entry *e = &h->list[i];
		if (e->expiry_ms > now && e->has_global &&
		    memcmp(&e->global, &h->ha->cfg->address, 16) != 0)
			/* Equal preferences in random order: load sharing (§10.5.1). */
			c[n++] = (struct cand){ &e->global, e->preference, arc4random() };
	}
	qsort(c, n, sizeof(c[0]), cand_cmp);
	for (size_t i = 0; i < n && k < HA_REPLY_MAX; i++)
		memcpy(body + 16 * k++, c[i].a, 16);
	struct icmp6_msg m = { .type = ICMPV6_HAAD_REPLY, .identifier = id, .body = body,
			       .body_len = 16 * k };
	int len = icmp6_build(buf, size, &m, src, dst, &err);
	return len < 0 ? 0 : (size_t)len;
}

/* Sends from our home address (IPV6_PKTINFO), the kernel checksums. */
static int send_from(int fd, const struct in6_addr *src, const struct in6_addr *dst,
		     const uint8_t *msg, size_t len)
{
	struct sockaddr_in6 to = { .sin6_family = AF_INET6, .sin6_addr = *dst };
	union {
		struct cmsghdr align;
		uint8_t b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} cbuf;
	struct iovec iov = { (void *)msg, len };
	struct msghdr mh = { .msg_name = &to, .msg_namelen = sizeof(to), .msg_iov = &iov,
			     .msg_iovlen = 1, .msg_control = cbuf.b,
			     .msg_controllen = sizeof(cbuf.b) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	struct in6_pktinfo pi = { .ipi6_addr = *src };

	memset(cbuf.b, 0, sizeof(cbuf.b));
	cm->cmsg_level = IPPROTO_IPV6;
	cm->cmsg_type = IPV6_PKTINFO;
	cm->cmsg_len = CMSG_LEN(sizeof(pi));
	memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	return sendmsg(fd, &mh, 0) < 0 ? -errno : 0;
}

static void on_request(int fd, void *arg)
{
	struct ha_dhaad *h = arg;
	uint8_t buf[1500], out[1280];
	struct icmp6_rx rx;
	struct icmp6_msg m;
	struct wire_error err;
	ssize_t n;

	while ((n = icmp6_recv(fd, buf, sizeof(buf), &rx)) != -EAGAIN) {
		if (n <= 0) {
			if (n < 0)
				break;
			continue;
		}
		if (buf[0] != ICMPV6_HAAD_REQUEST)
			continue;
		counter_inc(&c_req);
		/* The kernel verified the checksum; check the layout. */
		if (icmp6_parse(buf, (size_t)n, NULL, NULL, &m, &err) != WIRE_OK ||
		    IN6_IS_ADDR_UNSPECIFIED(&rx.src) || IN6_IS_ADDR_MULTICAST(&rx.src)) {
			counter_inc(&c_bad);
			continue;
		}
		size_t len = ha_dhaad_reply(h, m.identifier, NULL, NULL, out, sizeof(out));
		int rc = len ? send_from(fd, &h->ha->cfg->address, &rx.src, out, len) : -EINVAL;
		if (rc == 0)
			counter_inc(&c_rep);
		else
			log_debug(MOD, "cannot send DHAAD reply err=\"%s\"", strerror(-rc));
	}
}

static struct ha_list_entry *list_find(struct ha_dhaad *h, const struct in6_addr *ll)
{
	uint64_t now = mono_ms();
	struct ha_list_entry *free_slot = NULL;

	for (size_t i = 0; i < h->n; i++) {
		if (memcmp(&h->list[i].lladdr, ll, 16) == 0)
			return &h->list[i];
		if (!free_slot && h->list[i].expiry_ms <= now)
			free_slot = &h->list[i];
	}
	if (!free_slot && h->n < HA_LIST_MAX)
		free_slot = &h->list[h->n++];
	if (free_slot) {
		memset(free_slot, 0, sizeof(*free_slot));
		free_slot->lladdr = *ll;
	}
	return free_slot;
}

static void learn(struct ha_dhaad *h, const struct in6_addr *src, const struct nd_ra *ra)
{
	uint16_t lifetime = ra->has_ha_info ? ra->ha_lifetime : ra->router_lifetime;
	struct ha_list_entry *e = list_find(h, src);

	if (!e) {
		counter_inc(&c_list_full);
		return;
	}
	e->preference = ra->has_ha_info ? ra->ha_preference : 0;
	e->expiry_ms = lifetime ? mono_ms() + lifetime * 1000ull : 0;
	for (size_t i = 0; i < ra->n_prefixes; i++)
		if (ra->prefixes[i].router_address) {
			memcpy(&e->global, ra->prefixes[i].prefix, 16);
			e->has_global = true;
		}
}

static void on_ra(int fd, void *arg)
{
	struct ha_dhaad *h = arg;
	uint8_t buf[1500];
	struct icmp6_rx rx;
	struct nd_ra ra;
	struct wire_error err;
	ssize_t n;

	while ((n = icmp6_recv(fd, buf, sizeof(buf), &rx)) != -EAGAIN) {
		if (n <= 0) {
			if (n < 0)
				break;
			continue;
		}
		if (nd_ra_parse(buf, (size_t)n, &ra, &err) != WIRE_OK ||
		    !IN6_IS_ADDR_LINKLOCAL(&rx.src)) {
			counter_inc(&c_ra_bad);
			continue;
		}
		if (!ra.home_agent)
			continue;
		counter_inc(&c_ra);
		learn(h, &rx.src, &ra);
	}
}

static void join_all(struct ha_dhaad *h, int fd)
{
	h->n_joined = 0;
	for (size_t i = 0; i < h->ha->cfg->n_prefixes; i++) {
		struct ipv6_mreq mr = { .ipv6mr_multiaddr = h->ha->anycast[i],
					.ipv6mr_interface = (unsigned)h->ha->home_ifindex };
		char a[INET6_ADDRSTRLEN];
		inet_ntop(AF_INET6, &mr.ipv6mr_multiaddr, a, sizeof(a));
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_ANYCAST, &mr, sizeof(mr)) < 0 &&
		    errno != EADDRINUSE) {
			/* EINVAL/EADDRNOTAVAIL: the prefix is not on the home
			 * link yet; requests to it will not reach us. */
			log_warn(MOD, "cannot join Home-Agents anycast addr=%s iface=%s err=\"%s\"", a,
				 h->ha->cfg->home_link, strerror(errno));
			continue;
		}
		log_info(MOD, "joined Home-Agents anycast addr=%s iface=%s", a, h->ha->cfg->home_link);
		h->joined[h->n_joined++] = mr.ipv6mr_multiaddr;
	}
}

void ha_dhaad_rejoin(struct ha_dhaad *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n_joined; i++) {
		struct ipv6_mreq mr = { .ipv6mr_multiaddr = h->joined[i],
					.ipv6mr_interface = (unsigned)h->ha->home_ifindex };
		setsockopt(h->fd, IPPROTO_IPV6, IPV6_LEAVE_ANYCAST, &mr, sizeof(mr));
	}
	join_all(h, h->fd);
}

static int open_requests(struct ha_dhaad *h)
{
	struct icmp6_filter filt;
	int one = 1;
	int fd = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMPV6);

	if (fd < 0)
		return -errno;
	ICMP6_FILTER_SETBLOCKALL(&filt);
	ICMP6_FILTER_SETPASS(ICMPV6_HAAD_REQUEST, &filt);
	if (setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filt, sizeof(filt)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) < 0) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	join_all(h, fd);
	return fd;
}

struct ha_dhaad *ha_dhaad_open(struct ha *ha)
{
	static const uint8_t ra_types[] = { ND_ROUTER_ADVERT };
	struct ha_dhaad *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	counters_register();
	h->ha = ha;
	h->fd = open_requests(h);
	if (h->fd < 0) {
		log_err(MOD, "cannot open DHAAD socket err=\"%s\"", strerror(-h->fd));
		free(h);
		return NULL;
	}
	h->w = io_watch_add(ha->loop, h->fd, on_request, h);
	h->ra_fd = icmp6_open(ha->cfg->home_link, ra_types, 1, ICMP6_JOIN_ALL_NODES);
	if (h->ra_fd < 0)
		log_warn(MOD, "cannot listen to RAs on the home link iface=%s err=\"%s\"",
			 ha->cfg->home_link, strerror(-h->ra_fd));
	else
		h->ra_w = io_watch_add(ha->loop, h->ra_fd, on_ra, h);
	return h;
}

void ha_dhaad_close(struct ha_dhaad *h)
{
	if (!h)
		return;
	if (h->w)
		io_watch_del(h->w);
	if (h->ra_w)
		io_watch_del(h->ra_w);
	if (h->fd >= 0)
		close(h->fd);	/* leaves the anycast groups */
	if (h->ra_fd >= 0)
		close(h->ra_fd);
	free(h);
}

json_t *ha_dhaad_dump(struct ha_dhaad *h)
{
	json_t *a = json_array();
	uint64_t now = mono_ms();
	char buf[INET6_ADDRSTRLEN];

	if (!h)
		return a;
	json_array_append_new(a, json_pack("{s:s, s:i, s:i, s:b}", "address",
					   inet_ntop(AF_INET6, &h->ha->cfg->address, buf, sizeof(buf)),
					   "preference", h->ha->cfg->preference, "lifetime",
					   h->ha->cfg->lifetime, "self", 1));
	for (size_t i = 0; i < h->n; i++) {
		const struct ha_list_entry *e = &h->list[i];
		if (e->expiry_ms <= now)
			continue;
		char ll[INET6_ADDRSTRLEN];
		inet_ntop(AF_INET6, &e->lladdr, ll, sizeof(ll));
		json_array_append_new(a, json_pack("{s:s, s:s, s:i, s:I, s:b}", "address",
						   e->has_global ? inet_ntop(AF_INET6, &e->global, buf, sizeof(buf)) : "",
						   "link_local", ll, "preference", e->preference,
						   "remaining_s", (json_int_t)((e->expiry_ms - now) / 1000),
						   "self", 0));
	}
	return a;
}
