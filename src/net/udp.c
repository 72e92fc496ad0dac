#include "net/udp.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/log.h"

#define MOD "udp"

/* Room for either kind of packet-info control message. */
union udp_cbuf {
	char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo))];
	struct cmsghdr align;
};

socklen_t udp_sockaddr(const struct ip_addr *a, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sin->sin_addr = a->v4;
		return sizeof(*sin);
	}
	if (a->family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		sin6->sin6_addr = a->v6;
		return sizeof(*sin6);
	}
	return 0;
}

static void addr_from_v6(const struct in6_addr *in, struct ip_addr *a)
{
	memset(a, 0, sizeof(*a));
	/* A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; callers
	 * see them as the IPv4 addresses they are. */
	if (IN6_IS_ADDR_V4MAPPED(in)) {
		a->family = AF_INET;
		memcpy(&a->v4, &in->s6_addr[12], 4);
	} else {
		a->family = AF_INET6;
		a->v6 = *in;
	}
}

bool udp_sockaddr_addr(const struct sockaddr *sa, struct ip_addr *a, uint16_t *port)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		memset(a, 0, sizeof(*a));
		a->family = AF_INET;
		a->v4 = sin->sin_addr;
		if (port)
			*port = ntohs(sin->sin_port);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

		addr_from_v6(&sin6->sin6_addr, a);
		if (port)
			*port = ntohs(sin6->sin6_port);
		return true;
	}
	return false;
}

static int set_int(int fd, int level, int opt, int val, const char *what)
{
	if (setsockopt(fd, level, opt, &val, sizeof(val)) == 0)
		return 0;
	log_err(MOD, "cannot set socket option opt=%s err=\"%s\"", what, strerror(errno));
	return -errno;
}

static int configure(int fd, int family, const struct udp_opts *o)
{
	int rc = 0;

	if (family == AF_INET)
		rc = set_int(fd, IPPROTO_IP, IP_PKTINFO, 1, "IP_PKTINFO");
	else
		rc = set_int(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO");
	if (rc == 0 && family == AF_INET6)
		rc = set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, o->v6only, "IPV6_V6ONLY");
	if (rc == 0 && o->reuseaddr)
		rc = set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
	if (rc == 0 && o->fwmark)
		rc = set_int(fd, SOL_SOCKET, SO_MARK, (int)o->fwmark, "SO_MARK");
	if (rc == 0 && o->freebind)
		rc = family == AF_INET ? set_int(fd, IPPROTO_IP, IP_FREEBIND, 1, "IP_FREEBIND") :
					 set_int(fd, IPPROTO_IPV6, IPV6_FREEBIND, 1, "IPV6_FREEBIND");
	if (rc == 0 && o->ifindex)
		rc = set_int(fd, SOL_SOCKET, SO_BINDTOIFINDEX, o->ifindex, "SO_BINDTOIFINDEX");
	return rc;
}

int udp_open_sa(const struct sockaddr *sa, socklen_t salen, const struct udp_opts *opts)
{
	static const struct udp_opts none;
	const struct udp_opts *o = opts ? opts : &none;
	int family = sa->sa_family;
	int fd, rc;

	if ((family != AF_INET || salen < sizeof(struct sockaddr_in)) &&
	    (family != AF_INET6 || salen < sizeof(struct sockaddr_in6)))
		return -EINVAL;
	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
	if (fd < 0)
		return -errno;
	rc = configure(fd, family, o);
	if (rc == 0 && bind(fd, sa, salen) < 0) {
		rc = -errno;
		log_err(MOD, "cannot bind err=\"%s\"", strerror(errno));
	}
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

int udp_open(const struct ip_addr *addr, uint16_t port, const struct udp_opts *opts)
{
	struct sockaddr_storage ss;
	socklen_t len = udp_sockaddr(addr, port, &ss);

	if (!len)
		return -EAFNOSUPPORT;
	return udp_open_sa((struct sockaddr *)&ss, len, opts);
}

int udp_local(int fd, struct ip_addr *addr, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	return udp_sockaddr_addr((struct sockaddr *)&ss, addr, port) ? 0 : -EAFNOSUPPORT;
}

/* Fills in the peer, destination and interface of a received datagram. */
static void parse_meta(const struct msghdr *mh, struct udp_meta *m)
{
	memset(m, 0, sizeof(*m));
	udp_sockaddr_addr(mh->msg_name, &m->peer, &m->peer_port);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR((struct msghdr *)mh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			m->local.family = AF_INET;
			m->local.v4 = pi.ipi_addr;	/* header destination */
			m->ifindex = pi.ipi_ifindex;
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
			   c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			addr_from_v6(&pi.ipi6_addr, &m->local);
			m->ifindex = (int)pi.ipi6_ifindex;
		}
	}
}

/* Builds the destination and, if a source or interface is requested, the
 * packet-info control message. The cmsg family follows the destination:
 * an IPv4 destination on a dual-stack socket takes IP_PKTINFO too. */
static int build_send(struct msghdr *mh, const struct udp_meta *m,
		      struct sockaddr_storage *ss, union udp_cbuf *cb)
{
	struct cmsghdr *c;

	mh->msg_namelen = udp_sockaddr(&m->peer, m->peer_port, ss);
	if (!mh->msg_namelen)
		return -EDESTADDRREQ;
	mh->msg_name = ss;
	if (m->local.family && m->local.family != m->peer.family)
		return -EINVAL;
	if (m->peer.family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&m->peer.v6))
		((struct sockaddr_in6 *)ss)->sin6_scope_id = (uint32_t)m->ifindex;
	mh->msg_control = NULL;
	mh->msg_controllen = 0;
	if (!m->local.family && !m->ifindex)
		return 0;
	memset(cb, 0, sizeof(*cb));
	mh->msg_control = cb->buf;
	if (m->peer.family == AF_INET) {
		struct in_pktinfo pi = { .ipi_ifindex = m->ifindex };

		if (m->local.family)
			pi.ipi_spec_dst = m->local.v4;
		mh->msg_controllen = CMSG_SPACE(sizeof(pi));
		c = CMSG_FIRSTHDR(mh);
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	} else {
		struct in6_pktinfo pi = { .ipi6_ifindex = (unsigned)m->ifindex };

		if (m->local.family)
			pi.ipi6_addr = m->local.v6;
		mh->msg_controllen = CMSG_SPACE(sizeof(pi));
		c = CMSG_FIRSTHDR(mh);
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	}
	return 0;
}

ssize_t udp_recv(int fd, void *buf, size_t size, struct udp_meta *m)
{
	struct sockaddr_storage ss;
	union udp_cbuf cb;
	struct iovec iov = { buf, size };
	struct msghdr mh = {
		.msg_name = &ss, .msg_namelen = sizeof(ss), .msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cb.buf, .msg_controllen = sizeof(cb.buf),
	};
	ssize_t n;

	do
		n = recvmsg(fd, &mh, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	parse_meta(&mh, m);
	return (mh.msg_flags & MSG_TRUNC) ? -EMSGSIZE : n;
}

ssize_t udp_send(int fd, const void *buf, size_t len, const struct udp_meta *m)
{
	struct sockaddr_storage ss;
	union udp_cbuf cb;
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;
	int rc = build_send(&mh, m, &ss, &cb);

	if (rc < 0)
		return rc;
	do
		n = sendmsg(fd, &mh, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

int udp_recv_batch(int fd, struct udp_msg *msgs, unsigned n)
{
	struct mmsghdr mm[UDP_BATCH_MAX];
	struct iovec iov[UDP_BATCH_MAX];
	struct sockaddr_storage ss[UDP_BATCH_MAX];
	union udp_cbuf cb[UDP_BATCH_MAX];
	int got;

	if (n > UDP_BATCH_MAX)
		n = UDP_BATCH_MAX;
	if (n == 0)
		return 0;
	for (unsigned i = 0; i < n; i++) {
		iov[i].iov_base = msgs[i].buf;
		iov[i].iov_len = msgs[i].size;
		mm[i].msg_hdr = (struct msghdr){
			.msg_name = &ss[i], .msg_namelen = sizeof(ss[i]),
			.msg_iov = &iov[i], .msg_iovlen = 1,
			.msg_control = cb[i].buf, .msg_controllen = sizeof(cb[i].buf),
		};
		mm[i].msg_len = 0;
	}
	do
		got = recvmmsg(fd, mm, n, MSG_DONTWAIT, NULL);
	while (got < 0 && errno == EINTR);
	if (got < 0)
		return -errno;
	for (int i = 0; i < got; i++) {
		msgs[i].len = mm[i].msg_len;
		msgs[i].truncated = mm[i].msg_hdr.msg_flags & MSG_TRUNC;
		if (msgs[i].len > msgs[i].size)
			msgs[i].len = msgs[i].size;
		parse_meta(&mm[i].msg_hdr, &msgs[i].meta);
	}
	return got;
}

int udp_send_batch(int fd, const struct udp_msg *msgs, unsigned n)
{
	struct mmsghdr mm[UDP_BATCH_MAX];
	struct iovec iov[UDP_BATCH_MAX];
	struct sockaddr_storage ss[UDP_BATCH_MAX];
	union udp_cbuf cb[UDP_BATCH_MAX];
	int sent;

	if (n > UDP_BATCH_MAX)
		n = UDP_BATCH_MAX;
	if (n == 0)
		return 0;
	for (unsigned i = 0; i < n; i++) {
		int rc;

		iov[i].iov_base = msgs[i].buf;
		iov[i].iov_len = msgs[i].len;
		mm[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i], .msg_iovlen = 1 };
		mm[i].msg_len = 0;
		rc = build_send(&mm[i].msg_hdr, &msgs[i].meta, &ss[i], &cb[i]);
		if (rc < 0) {
			/* Send what precedes the bad entry; report it if first. */
			if (i == 0)
				return rc;
			n = i;
			break;
		}
	}
	do
		sent = sendmmsg(fd, mm, n, MSG_DONTWAIT);
	while (sent < 0 && errno == EINTR);
	return sent < 0 ? -errno : sent;
}
