/* Proxy neighbour entries (proxy ND / proxy ARP for home addresses). */
#include <errno.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "net/netlink.h"
#include "net/nl_priv.h"

static int proxy_req(struct nl *nl, uint16_t type, uint16_t flags, int ifindex,
		     const struct ip_addr *a)
{
	struct nlmsghdr *nlh;
	struct ndmsg *ndm;

	if (nl_family_max_plen(a->family) < 0)
		return -EINVAL;
	if (ifindex <= 0)
		return -ENODEV;
	nlh = nl_msg_new(nl, type, flags, sizeof(*ndm), (void **)&ndm);
	ndm->ndm_family = (uint8_t)a->family;
	ndm->ndm_ifindex = ifindex;
	ndm->ndm_state = NUD_PERMANENT;
	ndm->ndm_flags = NTF_PROXY;
	nl_put_addr(nlh, NDA_DST, a);
	return nl_transact(nl, nlh, NULL, NULL);
}

int nl_neigh_proxy_add(struct nl *nl, int ifindex, const struct ip_addr *a)
{
	return proxy_req(nl, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_EXCL, ifindex, a);
}

int nl_neigh_proxy_del(struct nl *nl, int ifindex, const struct ip_addr *a)
{
	return proxy_req(nl, RTM_DELNEIGH, 0, ifindex, a);
}
