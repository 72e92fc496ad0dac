/* Packets the correspondent node originates: HoT, CoT, BA, BE, BRR. They
 * leave either natively through the raw IPPROTO_MH socket (HoT to the home
 * address, which the HA intercepts and tunnels) or as an inner IPv6 packet
 * in UDP 4191 (docs/mip6-transport.md). */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "mip6/cn.h"
#include "wire/exthdr.h"
#include "wire/ipv6.h"

#define MOD "cn"

static int send_native(struct cn *cn, const uint8_t *src, const uint8_t *dst,
		       const uint8_t *mh, size_t len)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6 };
	union {
		struct cmsghdr h;
		uint8_t b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} cbuf;
	struct iovec iov = { .iov_base = (void *)mh, .iov_len = len };
	struct msghdr msg = { .msg_name = &sa, .msg_namelen = sizeof(sa), .msg_iov = &iov,
			      .msg_iovlen = 1, .msg_control = cbuf.b,
			      .msg_controllen = sizeof(cbuf.b) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	struct in6_pktinfo pi = { 0 };

	if (cn->raw_tx_fd < 0)
		return -ENOTCONN;
	memcpy(&sa.sin6_addr, dst, 16);
	/* The source must be the address the MN sent to (the kernel computes
	 * the checksum over it). */
	memcpy(&pi.ipi6_addr, src, 16);
	c->cmsg_level = IPPROTO_IPV6;
	c->cmsg_type = IPV6_PKTINFO;
	c->cmsg_len = CMSG_LEN(sizeof(pi));
	memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	if (sendmsg(cn->raw_tx_fd, &msg, 0) < 0) {
		int e = errno;
		log_debug(MOD, "native send failed err=\"%s\"", strerror(e));
		return -e;
	}
	return 0;
}

int cn_send_mh(struct cn *cn, const struct cn_out *o, const uint8_t *mh, size_t len)
{
	uint8_t hdr[IPV6_HDR_LEN + 24];
	struct wire_error err;
	size_t hl = IPV6_HDR_LEN;
	int rc;

	if (!o->udp) {
		rc = send_native(cn, o->src, o->dst, mh, len);
		goto out;
	}
	struct ipv6_hdr h = {
		.payload_length = (uint16_t)(len + (o->rh2 ? 24 : 0)),
		.next_header = o->rh2 ? PROTO_ROUTING : PROTO_MH,
		.hop_limit = 64,
		.src = o->src,
		.dst = o->dst,
	};
	if (ipv6_build(hdr, sizeof(hdr), &h, &err) < 0 ||
	    (o->rh2 && ext_rh2_build(hdr + IPV6_HDR_LEN, 24, PROTO_MH, o->rh2, &err) < 0)) {
		rc = -EINVAL;
		goto out;
	}
	if (o->rh2)
		hl += 24;
	rc = mip6_ep_send2(cn->ep, &o->peer, o->peer_port, NULL, hdr, hl, mh, len);
out:
	if (rc < 0)
		counter_inc(&cn_c_send_err);
	return rc;
}

/* RFC 6275 §9.3.3: Binding Errors are rate limited. */
static bool be_allowed(struct cn *cn)
{
	uint64_t now = mono_ms();
	double rate = cn->cfg->be_rate;

	cn->be_tokens += (double)(now - cn->be_last_ms) * rate / 1000.0;
	if (cn->be_tokens > rate)
		cn->be_tokens = rate;
	cn->be_last_ms = now;
	if (cn->be_tokens < 1.0) {
		counter_inc(&cn_c_be_limited);
		return false;
	}
	cn->be_tokens -= 1.0;
	return true;
}

void cn_send_be_to(struct cn *cn, const uint8_t *src, const uint8_t *dst,
		   const struct ip_addr *peer, uint16_t port, uint8_t status,
		   const uint8_t *hoa)
{
	static const uint8_t unspec[16];
	struct mh_builder b;
	struct wire_error err;
	uint8_t mh[64];

	if (!be_allowed(cn))
		return;
	mh_build_begin(&b, mh, sizeof(mh), MH_BE,
		       &(union mh_body){ .be = { .status = status,
						 .home_addr = hoa ? hoa : unspec } }, &err);
	int n = mh_build_finish(&b, src, dst);
	if (n < 0)
		return;
	struct cn_out o = { .src = src, .dst = dst, .udp = peer != NULL, .peer_port = port };
	if (peer)
		o.peer = *peer;
	if (cn_send_mh(cn, &o, mh, (size_t)n) == 0)
		counter_inc(&cn_c_be_tx);
}

void cn_send_be(struct cn *cn, const struct cn_mh_in *in, uint8_t status, const uint8_t *hoa)
{
	/* To the source of the offending packet, from the address it was
	 * sent to (RFC 6275 §9.3.3). */
	cn_send_be_to(cn, in->dst, in->src, in->udp ? &in->peer : NULL, in->peer_port, status,
		      hoa);
}

int cn_local_addr(struct cn *cn, const struct ip_addr *dst, struct ip_addr *out)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons(4191) };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int rc = 0;

	(void)cn;
	if (fd < 0 || dst->family != AF_INET6)
		rc = -1;
	memcpy(&sa.sin6_addr, dst->bytes, 16);
	/* connect() on UDP only picks the route and the source address. */
	if (rc == 0 && (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
			getsockname(fd, (struct sockaddr *)&sa, &sl) < 0))
		rc = -1;
	if (fd >= 0)
		close(fd);
	if (rc == 0) {
		out->family = AF_INET6;
		memcpy(out->bytes, &sa.sin6_addr, 16);
	}
	return rc;
}
