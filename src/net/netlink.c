/* rtnetlink core: the request socket, the synchronous request/ACK exchange
 * and the link requests. Addresses, routes and rules, neighbours and the
 * event monitor live in nl_addr.c, nl_route.c, nl_neigh.c, nl_monitor.c. */
#include "net/netlink.h"

#include <errno.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include "core/log.h"
#include "net/nl_priv.h"

COUNTER_DEFINE(nl_ctr_rejected, "mipsec_netlink_rejected_total",
	       "rtnetlink requests the kernel answered with an error");
COUNTER_DEFINE(nl_ctr_bad_msg, "mipsec_netlink_bad_messages_total",
	       "malformed or truncated rtnetlink messages received");
COUNTER_DEFINE(nl_ctr_overrun, "mipsec_netlink_monitor_overruns_total",
	       "times the netlink event socket overflowed and events were lost");

void nl_counters_register(void)
{
	counter_register(&nl_ctr_rejected);
	counter_register(&nl_ctr_bad_msg);
	counter_register(&nl_ctr_overrun);
}

struct nl *nl_open(void)
{
	struct nl *nl = calloc(1, sizeof(*nl));
	/* A wedged kernel must not hang the daemon forever. */
	struct timeval tv = { .tv_sec = 5 };
	int one = 1;

	if (!nl)
		return NULL;
	nl_counters_register();
	nl->sk = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl->sk || mnl_socket_bind(nl->sk, 0, MNL_SOCKET_AUTOPID) < 0) {
		log_err(NL_MOD, "cannot open rtnetlink socket err=\"%s\"", strerror(errno));
		if (nl->sk)
			mnl_socket_close(nl->sk);
		free(nl);
		return NULL;
	}
	/* Extended ACKs carry the kernel's reason; capped ACKs keep error
	 * replies small since we never need our own request echoed back. */
	mnl_socket_setsockopt(nl->sk, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sk, NETLINK_CAP_ACK, &one, sizeof(one));
	setsockopt(mnl_socket_get_fd(nl->sk), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	nl->portid = mnl_socket_get_portid(nl->sk);
	nl->seq = (uint32_t)time(NULL);
	return nl;
}

void nl_close(struct nl *nl)
{
	if (!nl)
		return;
	mnl_socket_close(nl->sk);
	free(nl);
}

struct nlmsghdr *nl_msg_new(struct nl *nl, uint16_t type, uint16_t flags, size_t hdrlen,
			    void **fam)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(nl->sbuf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	/* The GET and NEW flag bits overlap (NLM_F_DUMP vs NLM_F_EXCL), so a
	 * dump is recognised by the message type too: rtnetlink GETs are
	 * type % 4 == 2. Dumps end with NLMSG_DONE; all else needs an ACK. */
	if ((flags & NLM_F_DUMP) != NLM_F_DUMP || (type & 3) != 2)
		nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = ++nl->seq;
	*fam = mnl_nlmsg_put_extra_header(nlh, hdrlen);
	return nlh;
}

struct attr_tab {
	const struct nlattr **tb;
	unsigned max;
};

static int attr_store(const struct nlattr *a, void *arg)
{
	struct attr_tab *t = arg;
	unsigned type = mnl_attr_get_type(a);

	if (type <= t->max)
		t->tb[type] = a;
	return MNL_CB_OK;
}

int nl_parse_attrs(const struct nlmsghdr *nlh, size_t hdrlen, const struct nlattr **tb,
		   unsigned max)
{
	struct attr_tab t = { tb, max };

	memset(tb, 0, (max + 1) * sizeof(*tb));
	if (nlh->nlmsg_len < NLMSG_HDRLEN + NLMSG_ALIGN(hdrlen)) {
		counter_inc(&nl_ctr_bad_msg);
		return -EBADMSG;
	}
	if (mnl_attr_parse(nlh, (unsigned)hdrlen, attr_store, &t) < 0) {
		counter_inc(&nl_ctr_bad_msg);
		return -EBADMSG;
	}
	return 0;
}

int nl_family_max_plen(int family)
{
	return family == AF_INET ? 32 : family == AF_INET6 ? 128 : -1;
}

bool nl_attr_addr(const struct nlattr *a, int family, struct ip_addr *out)
{
	size_t want = family == AF_INET ? 4 : 16;

	memset(out, 0, sizeof(*out));
	if (!a || (family != AF_INET && family != AF_INET6) ||
	    mnl_attr_get_payload_len(a) != want)
		return false;
	out->family = family;
	memcpy(out->bytes, mnl_attr_get_payload(a), want);
	return true;
}

void nl_put_addr(struct nlmsghdr *nlh, uint16_t type, const struct ip_addr *a)
{
	mnl_attr_put(nlh, type, ip_addr_len(a), a->bytes);
}

/* Logs the extended-ACK message of an error reply, if there is one. */
static int ext_ack_attr(const struct nlattr *a, void *arg)
{
	if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
		*(const char **)arg = mnl_attr_get_str(a);
	return MNL_CB_OK;
}

static int handle_error(const struct nlmsghdr *nlh, const struct nlmsghdr *req)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	const char *why = NULL;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e)) {
		counter_inc(&nl_ctr_bad_msg);
		return -EBADMSG;
	}
	if (e->error == 0)
		return 0;
	counter_inc(&nl_ctr_rejected);
	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) && (nlh->nlmsg_flags & NLM_F_CAPPED))
		mnl_attr_parse(nlh, sizeof(*e), ext_ack_attr, &why);
	log_debug(NL_MOD, "request rejected type=%u err=\"%s\" reason=\"%s\"",
		  req->nlmsg_type, strerror(-e->error), why ? why : "");
	/* Positive values are not errors the kernel sends; treat as protocol
	 * breakage rather than success. */
	return e->error < 0 ? e->error : -EPROTO;
}

/* Returns 1 when the reply is complete, 0 to keep reading. */
static int process(struct nl *nl, const struct nlmsghdr *req, ssize_t n, nl_msg_fn fn,
		   void *arg, int *rc)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)nl->rbuf;
	int len = (int)n;

	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
		/* Leftovers of an earlier request that was abandoned. */
		if (nlh->nlmsg_seq != req->nlmsg_seq || nlh->nlmsg_pid != nl->portid)
			continue;
		switch (nlh->nlmsg_type) {
		case NLMSG_NOOP:
			continue;
		case NLMSG_ERROR: {
			int e = handle_error(nlh, req);

			if (*rc == 0)
				*rc = e;
			return 1;
		}
		case NLMSG_DONE:
			if (*rc == 0 && mnl_nlmsg_get_payload_len(nlh) >= sizeof(int)) {
				int e = *(const int *)mnl_nlmsg_get_payload(nlh);

				*rc = e < 0 ? e : 0;
			}
			return 1;
		default:
			if (*rc == 0 && fn)
				*rc = fn(nlh, arg);
			/* A non-dump reply without ACK request would end
			 * here, but we always ask for one. */
		}
	}
	if (len > 0)
		counter_inc(&nl_ctr_bad_msg);
	return 0;
}

int nl_transact(struct nl *nl, struct nlmsghdr *nlh, nl_msg_fn fn, void *arg)
{
	int rc = 0;

	if (mnl_socket_sendto(nl->sk, nlh, nlh->nlmsg_len) < 0) {
		rc = -errno;
		log_warn(NL_MOD, "cannot send request type=%u err=\"%s\"", nlh->nlmsg_type,
			 strerror(errno));
		return rc;
	}
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->sk, nl->rbuf, sizeof(nl->rbuf));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				errno = ETIMEDOUT;
			rc = -errno;
			log_warn(NL_MOD, "no reply to request type=%u err=\"%s\"",
				 nlh->nlmsg_type, strerror(errno));
			return rc;
		}
		if (process(nl, nlh, n, fn, arg, &rc))
			return rc;
	}
}

int nl_link_index(const char *ifname)
{
	unsigned idx;

	if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ)
		return -EINVAL;
	idx = if_nametoindex(ifname);
	if (idx == 0)
		return errno ? -errno : -ENODEV;
	return (int)idx;
}

static struct nlmsghdr *link_msg(struct nl *nl, uint16_t type, uint16_t flags, int ifindex,
				 struct ifinfomsg **ifi)
{
	struct nlmsghdr *nlh = nl_msg_new(nl, type, flags, sizeof(**ifi), (void **)ifi);

	(*ifi)->ifi_family = AF_UNSPEC;
	(*ifi)->ifi_index = ifindex;
	return nlh;
}

int nl_link_set_up(struct nl *nl, int ifindex, bool up)
{
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh;

	if (ifindex <= 0)
		return -ENODEV;
	nlh = link_msg(nl, RTM_NEWLINK, 0, ifindex, &ifi);
	ifi->ifi_change = IFF_UP;
	ifi->ifi_flags = up ? IFF_UP : 0;
	return nl_transact(nl, nlh, NULL, NULL);
}

int nl_link_set_mtu(struct nl *nl, int ifindex, unsigned mtu)
{
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh;

	if (ifindex <= 0)
		return -ENODEV;
	nlh = link_msg(nl, RTM_NEWLINK, 0, ifindex, &ifi);
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	return nl_transact(nl, nlh, NULL, NULL);
}

static int link_info_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct nl_link_info *li = arg;
	const struct nlattr *tb[IFLA_MAX + 1];
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	int rc;

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return 0;
	if ((rc = nl_parse_attrs(nlh, sizeof(*ifi), tb, IFLA_MAX)) < 0)
		return rc;
	memset(li, 0, sizeof(*li));
	li->ifindex = ifi->ifi_index;
	li->flags = ifi->ifi_flags;
	if (tb[IFLA_IFNAME] && mnl_attr_validate(tb[IFLA_IFNAME], MNL_TYPE_NUL_STRING) == 0)
		snprintf(li->name, sizeof(li->name), "%s", mnl_attr_get_str(tb[IFLA_IFNAME]));
	if (tb[IFLA_MTU] && mnl_attr_validate(tb[IFLA_MTU], MNL_TYPE_U32) == 0)
		li->mtu = mnl_attr_get_u32(tb[IFLA_MTU]);
	if (tb[IFLA_ADDRESS]) {
		size_t n = mnl_attr_get_payload_len(tb[IFLA_ADDRESS]);

		if (n > sizeof(li->lladdr)) {
			counter_inc(&nl_ctr_bad_msg);
			return -EBADMSG;
		}
		memcpy(li->lladdr, mnl_attr_get_payload(tb[IFLA_ADDRESS]), n);
		li->lladdr_len = n;
	}
	return 0;
}

int nl_link_get(struct nl *nl, int ifindex, struct nl_link_info *li)
{
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh;
	int rc;

	if (ifindex <= 0)
		return -ENODEV;
	memset(li, 0, sizeof(*li));
	nlh = link_msg(nl, RTM_GETLINK, 0, ifindex, &ifi);
	/* Skip per-VF statistics; they can be large and we never use them. */
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	rc = nl_transact(nl, nlh, link_info_cb, li);
	if (rc == 0 && li->ifindex != ifindex)
		rc = -ENODEV;
	return rc;
}

int nl_link_lladdr(struct nl *nl, int ifindex, uint8_t *buf, size_t size)
{
	struct nl_link_info li;
	int rc = nl_link_get(nl, ifindex, &li);

	if (rc < 0)
		return rc;
	if (li.lladdr_len > size)
		return -ENOSPC;
	memcpy(buf, li.lladdr, li.lladdr_len);
	return (int)li.lladdr_len;
}

static bool ifname_ok(const char *name)
{
	return name && *name && strlen(name) < IFNAMSIZ;
}

int nl_link_add_veth(struct nl *nl, const char *name, const char *peer, int peer_netns_fd)
{
	struct ifinfomsg *ifi, *pifi;
	struct nlattr *info, *data, *pn;
	struct nlmsghdr *nlh;

	if (!ifname_ok(name) || !ifname_ok(peer))
		return -EINVAL;
	nlh = link_msg(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0, &ifi);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	/* The peer is described by a full ifinfomsg followed by its own
	 * attributes, all inside VETH_INFO_PEER. */
	pn = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	pifi = mnl_nlmsg_get_payload_tail(nlh);
	memset(pifi, 0, NLMSG_ALIGN(sizeof(*pifi)));
	nlh->nlmsg_len += NLMSG_ALIGN(sizeof(*pifi));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	if (peer_netns_fd >= 0)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)peer_netns_fd);
	mnl_attr_nest_end(nlh, pn);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	return nl_transact(nl, nlh, NULL, NULL);
}

int nl_link_del(struct nl *nl, int ifindex)
{
	struct ifinfomsg *ifi;

	if (ifindex <= 0)
		return -ENODEV;
	return nl_transact(nl, link_msg(nl, RTM_DELLINK, 0, ifindex, &ifi), NULL, NULL);
}

int nl_link_set_netns(struct nl *nl, int ifindex, int netns_fd)
{
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh;

	if (ifindex <= 0)
		return -ENODEV;
	if (netns_fd < 0)
		return -EBADF;
	nlh = link_msg(nl, RTM_NEWLINK, 0, ifindex, &ifi);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)netns_fd);
	return nl_transact(nl, nlh, NULL, NULL);
}
