/* Interface addresses: add, delete, dump. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

#include "net/netlink.h"
#include "net/nl_priv.h"
#include "net/sysctl.h"

static bool prefix_ok(const struct ip_prefix *p)
{
	int max = nl_family_max_plen(p->addr.family);

	return max > 0 && p->len <= max;
}

static struct nlmsghdr *addr_msg(struct nl *nl, uint16_t type, uint16_t flags, int ifindex,
				 const struct ip_prefix *p)
{
	struct ifaddrmsg *ifa;
	struct nlmsghdr *nlh = nl_msg_new(nl, type, flags, sizeof(*ifa), (void **)&ifa);

	ifa->ifa_family = (uint8_t)p->addr.family;
	ifa->ifa_prefixlen = p->len;
	ifa->ifa_index = (uint32_t)ifindex;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	/* IFA_LOCAL is the address itself; IFA_ADDRESS the peer, which for a
	 * non point-to-point address is the same. */
	nl_put_addr(nlh, IFA_LOCAL, &p->addr);
	nl_put_addr(nlh, IFA_ADDRESS, &p->addr);
	return nlh;
}

int nl_ipv6_optimistic_dad(int ifindex, bool on)
{
	char name[IF_NAMESIZE];

	if (ifindex <= 0 || !if_indextoname((unsigned)ifindex, name))
		return -ENODEV;
	return sysctl_ipv6_if_set(name, "optimistic_dad", on ? '1' : '0', NULL);
}

int nl_addr_add(struct nl *nl, int ifindex, const struct ip_prefix *p, unsigned flags)
{
	struct ifaddrmsg *ifa;
	struct nlmsghdr *nlh;
	uint32_t ifa_flags = 0;

	if (!prefix_ok(p))
		return -EINVAL;
	if (ifindex <= 0)
		return -ENODEV;
	if (flags & ~(NL_ADDR_OPTIMISTIC | NL_ADDR_NODAD))
		return -EINVAL;
	/* DAD exists only for IPv6; the IPv4 code would store but ignore them. */
	if (p->addr.family == AF_INET6) {
		/* The kernel silently drops IFA_F_OPTIMISTIC unless the
		 * interface allows optimistic DAD, so allow it first. */
		if (flags & NL_ADDR_OPTIMISTIC) {
			int rc = nl_ipv6_optimistic_dad(ifindex, true);

			if (rc < 0)
				log_warn(NL_MOD, "cannot enable optimistic DAD ifindex=%d "
					 "err=\"%s\"", ifindex, strerror(-rc));
			ifa_flags |= IFA_F_OPTIMISTIC;
		}
		if (flags & NL_ADDR_NODAD)
			ifa_flags |= IFA_F_NODAD;
	}
	nlh = addr_msg(nl, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifindex, p);
	ifa = mnl_nlmsg_get_payload(nlh);
	ifa->ifa_flags = (uint8_t)ifa_flags;
	/* The 8-bit header field cannot hold the newer flags; IFA_FLAGS can. */
	if (ifa_flags)
		mnl_attr_put_u32(nlh, IFA_FLAGS, ifa_flags);
	return nl_transact(nl, nlh, NULL, NULL);
}

int nl_addr_del(struct nl *nl, int ifindex, const struct ip_prefix *p)
{
	if (!prefix_ok(p))
		return -EINVAL;
	if (ifindex <= 0)
		return -ENODEV;
	return nl_transact(nl, addr_msg(nl, RTM_DELADDR, 0, ifindex, p), NULL, NULL);
}

/* Shared with the monitor: RTM_NEWADDR/RTM_DELADDR to nl_addr_info. */
int nl_addr_parse(const struct nlmsghdr *nlh, struct nl_addr_info *a)
{
	const struct nlattr *tb[IFA_MAX + 1];
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *at;
	int rc;

	if ((rc = nl_parse_attrs(nlh, sizeof(*ifa), tb, IFA_MAX)) < 0)
		return rc;
	memset(a, 0, sizeof(*a));
	/* IFA_LOCAL is our own address when present (IPv4 always, IPv6 on
	 * point-to-point links); otherwise IFA_ADDRESS is. */
	at = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (!nl_attr_addr(at, ifa->ifa_family, &a->prefix.addr) ||
	    ifa->ifa_prefixlen > nl_family_max_plen(ifa->ifa_family)) {
		counter_inc(&nl_ctr_bad_msg);
		return -EBADMSG;
	}
	a->ifindex = (int)ifa->ifa_index;
	a->prefix.len = ifa->ifa_prefixlen;
	a->scope = ifa->ifa_scope;
	a->ifa_flags = ifa->ifa_flags;
	if (tb[IFA_FLAGS] && mnl_attr_validate(tb[IFA_FLAGS], MNL_TYPE_U32) == 0)
		a->ifa_flags = mnl_attr_get_u32(tb[IFA_FLAGS]);
	return 0;
}

struct addr_dump {
	int ifindex;
	nl_addr_cb cb;
	void *arg;
};

static int addr_dump_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct addr_dump *d = arg;
	struct nl_addr_info a;

	if (nlh->nlmsg_type != RTM_NEWADDR)
		return 0;
	/* One malformed entry should not hide all the others. */
	if (nl_addr_parse(nlh, &a) < 0)
		return 0;
	if (d->ifindex && a.ifindex != d->ifindex)
		return 0;
	d->cb(&a, d->arg);
	return 0;
}

int nl_addr_dump(struct nl *nl, int family, int ifindex, nl_addr_cb cb, void *arg)
{
	struct addr_dump d = { ifindex, cb, arg };
	struct ifaddrmsg *ifa;
	struct nlmsghdr *nlh;

	if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	nlh = nl_msg_new(nl, RTM_GETADDR, NLM_F_DUMP, sizeof(*ifa), (void **)&ifa);
	ifa->ifa_family = (uint8_t)family;
	return nl_transact(nl, nlh, addr_dump_cb, &d);
}
