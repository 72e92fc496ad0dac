#include "net/icmp6.h"

#include <errno.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/stats.h"

const struct in6_addr icmp6_all_nodes = { { { 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 } } };
const struct in6_addr icmp6_all_routers = { { { 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2 } } };

static COUNTER_DEFINE(c_hoplimit, "mipsec_icmp6_hoplimit_drop_total",
		      "Neighbor Discovery messages dropped for a hop limit other than 255");
static COUNTER_DEFINE(c_trunc, "mipsec_icmp6_truncated_total",
		      "ICMPv6 messages larger than the receive buffer, dropped");

static int setopt(int fd, int level, int name, const void *v, socklen_t len)
{
	return setsockopt(fd, level, name, v, len) < 0 ? -errno : 0;
}

static int join(int fd, const struct in6_addr *group, int ifindex)
{
	struct ipv6_mreq mr = { .ipv6mr_multiaddr = *group, .ipv6mr_interface = (unsigned)ifindex };

	return setopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mr, sizeof(mr));
}

static int configure(int fd, const char *ifname, int ifindex, const uint8_t *types,
		     size_t n_types, unsigned flags)
{
	struct icmp6_filter filt;
	int one = 1, zero = 0, hops = 255, rc;

	ICMP6_FILTER_SETBLOCKALL(&filt);
	for (size_t i = 0; i < n_types; i++)
		ICMP6_FILTER_SETPASS(types[i], &filt);
	if ((rc = setopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filt, sizeof(filt))) ||
	    (rc = setopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname))) ||
	    (rc = setopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one))) ||
	    (rc = setopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof(one))) ||
	    (rc = setopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops))) ||
	    (rc = setopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof(hops))) ||
	    /* Our own multicasts must not come back as "heard from the link". */
	    (rc = setopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &zero, sizeof(zero))) ||
	    (rc = setopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof(ifindex))))
		return rc;
	if ((flags & ICMP6_JOIN_ALL_ROUTERS) && (rc = join(fd, &icmp6_all_routers, ifindex)))
		return rc;
	if ((flags & ICMP6_JOIN_ALL_NODES) && (rc = join(fd, &icmp6_all_nodes, ifindex)) &&
	    rc != -EADDRINUSE)
		return rc;
	return 0;
}

int icmp6_open(const char *ifname, const uint8_t *types, size_t n_types, unsigned flags)
{
	int ifindex = (int)if_nametoindex(ifname);
	int fd, rc;

	counter_register(&c_hoplimit);
	counter_register(&c_trunc);
	if (ifindex <= 0)
		return -ENODEV;
	fd = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMPV6);
	if (fd < 0)
		return -errno;
	rc = configure(fd, ifname, ifindex, types, n_types, flags);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

static void read_cmsgs(struct msghdr *mh, struct icmp6_rx *rx)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != IPPROTO_IPV6)
			continue;
		if (c->cmsg_type == IPV6_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			rx->dst = pi.ipi6_addr;
			rx->ifindex = (int)pi.ipi6_ifindex;
		} else if (c->cmsg_type == IPV6_HOPLIMIT && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
			memcpy(&rx->hop_limit, CMSG_DATA(c), sizeof(int));
		}
	}
}

ssize_t icmp6_recv(int fd, uint8_t *buf, size_t size, struct icmp6_rx *rx)
{
	union {
		struct cmsghdr align;
		uint8_t b[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(int))];
	} cbuf;
	struct sockaddr_in6 from;
	struct iovec iov = { buf, size };
	struct msghdr mh = {
		.msg_name = &from, .msg_namelen = sizeof(from),
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf.b, .msg_controllen = sizeof(cbuf.b),
	};
	ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);

	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	memset(rx, 0, sizeof(*rx));
	rx->hop_limit = -1;
	rx->src = from.sin6_addr;
	rx->ifindex = (int)from.sin6_scope_id;
	read_cmsgs(&mh, rx);
	if (mh.msg_flags & MSG_TRUNC) {
		counter_inc(&c_trunc);
		return 0;
	}
	/* RFC 4861 §6.1, §7.1: ND messages arrive with hop limit 255 or are
	 * forged from off link. */
	if (n >= 1 && buf[0] >= ND_ROUTER_SOLICIT && buf[0] <= ND_REDIRECT && rx->hop_limit != 255) {
		counter_inc(&c_hoplimit);
		return 0;
	}
	return n;
}

int icmp6_send(int fd, const struct in6_addr *dst, int ifindex, const uint8_t *msg, size_t len)
{
	struct sockaddr_in6 to = {
		.sin6_family = AF_INET6,
		.sin6_addr = *dst,
		.sin6_scope_id = (uint32_t)ifindex,
	};
	ssize_t n = sendto(fd, msg, len, 0, (const struct sockaddr *)&to, sizeof(to));

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EMSGSIZE;
}
