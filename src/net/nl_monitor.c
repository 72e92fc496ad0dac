/* Link and address change events from the kernel, read from the event loop. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/log.h"
#include "net/loop.h"
#include "net/netlink.h"
#include "net/nl_priv.h"

/* Datagrams handled per wake-up, so that an event storm cannot starve the
 * rest of the loop; the fd stays readable and we come back. */
#define MON_BURST 64
#define MON_RCVBUF (1u << 20)

struct nl_monitor {
	struct mnl_socket *sk;
	struct io_watch *w;
	nl_event_cb cb;
	void *arg;
	uint8_t buf[NL_RECV_SIZE];
};

static void link_event(struct nl_monitor *m, const struct nlmsghdr *nlh)
{
	const struct nlattr *tb[IFLA_MAX + 1];
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct nl_event ev = { .kind = NL_EV_LINK };

	if (nl_parse_attrs(nlh, sizeof(*ifi), tb, IFLA_MAX) < 0)
		return;
	ev.ifindex = ifi->ifi_index;
	ev.up = ifi->ifi_flags & IFF_UP;
	ev.running = ifi->ifi_flags & IFF_RUNNING;
	ev.removed = nlh->nlmsg_type == RTM_DELLINK;
	if (tb[IFLA_IFNAME] && mnl_attr_validate(tb[IFLA_IFNAME], MNL_TYPE_NUL_STRING) == 0)
		snprintf(ev.ifname, sizeof(ev.ifname), "%s", mnl_attr_get_str(tb[IFLA_IFNAME]));
	m->cb(&ev, m->arg);
}

static void addr_event(struct nl_monitor *m, const struct nlmsghdr *nlh)
{
	struct nl_event ev = {
		.kind = nlh->nlmsg_type == RTM_NEWADDR ? NL_EV_ADDR_NEW : NL_EV_ADDR_DEL,
	};

	if (nl_addr_parse(nlh, &ev.addr) < 0)
		return;
	ev.ifindex = ev.addr.ifindex;
	m->cb(&ev, m->arg);
}

static void dispatch(struct nl_monitor *m, ssize_t n)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)m->buf;
	int len = (int)n;

	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
		size_t need = 0;

		switch (nlh->nlmsg_type) {
		case RTM_NEWLINK:
		case RTM_DELLINK:
			need = sizeof(struct ifinfomsg);
			break;
		case RTM_NEWADDR:
		case RTM_DELADDR:
			need = sizeof(struct ifaddrmsg);
			break;
		default:
			continue;
		}
		if (mnl_nlmsg_get_payload_len(nlh) < need) {
			counter_inc(&nl_ctr_bad_msg);
			continue;
		}
		if (need == sizeof(struct ifinfomsg))
			link_event(m, nlh);
		else
			addr_event(m, nlh);
	}
	if (len > 0)
		counter_inc(&nl_ctr_bad_msg);
}

static void mon_readable(int fd, void *arg)
{
	struct nl_monitor *m = arg;

	(void)fd;
	for (int i = 0; i < MON_BURST; i++) {
		ssize_t n = mnl_socket_recvfrom(m->sk, m->buf, sizeof(m->buf));

		if (n >= 0) {
			dispatch(m, n);
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		if (errno == ENOBUFS) {
			struct nl_event ev = { .kind = NL_EV_LOST };

			counter_inc(&nl_ctr_overrun);
			log_warn(NL_MOD, "event socket overrun; events lost");
			m->cb(&ev, m->arg);
			continue;
		}
		log_warn(NL_MOD, "event socket read failed err=\"%s\"", strerror(errno));
		return;
	}
}

struct nl_monitor *nl_monitor_open(struct loop *l, nl_event_cb cb, void *arg)
{
	struct nl_monitor *m = calloc(1, sizeof(*m));
	int fd, sz = MON_RCVBUF;

	if (!m)
		return NULL;
	nl_counters_register();
	m->cb = cb;
	m->arg = arg;
	m->sk = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!m->sk || mnl_socket_bind(m->sk, RTMGRP_LINK | RTMGRP_IPV4_IFADDR |
				      RTMGRP_IPV6_IFADDR, MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	fd = mnl_socket_get_fd(m->sk);
	/* Bursts (many addresses flushed at once) should not overflow the
	 * socket; FORCE works only with CAP_NET_ADMIN, plain is capped by
	 * rmem_max. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	m->w = io_watch_add(l, fd, mon_readable, m);
	if (!m->w)
		goto fail;
	return m;
fail:
	log_err(NL_MOD, "cannot open event socket err=\"%s\"", strerror(errno));
	nl_monitor_close(m);
	return NULL;
}

void nl_monitor_close(struct nl_monitor *m)
{
	if (!m)
		return;
	io_watch_del(m->w);
	if (m->sk)
		mnl_socket_close(m->sk);
	free(m);
}
