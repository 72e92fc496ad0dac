/* rtnetlink through libmnl: synchronous, acknowledged requests for links,
 * addresses, routes, policy rules and proxy neighbours, plus a monitor for
 * link and address change events that runs from the event loop.
 * Every request function returns 0 or a negative errno. */
#ifndef MIPSEC_NET_NETLINK_H
#define MIPSEC_NET_NETLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"

struct loop;
struct nl;

struct nl *nl_open(void);
void nl_close(struct nl *nl);

/* Interface index by name, or a negative errno. */
int nl_link_index(const char *ifname);
int nl_link_set_up(struct nl *nl, int ifindex, bool up);
int nl_link_set_mtu(struct nl *nl, int ifindex, unsigned mtu);
/* Hardware address of a link; returns its length (0..32) or a negative errno. */
int nl_link_lladdr(struct nl *nl, int ifindex, uint8_t *buf, size_t size);

struct nl_link_info {
	int ifindex;
	char name[16];
	unsigned flags;			/* IFF_* */
	unsigned mtu;
	uint8_t lladdr[32];
	size_t lladdr_len;
};
int nl_link_get(struct nl *nl, int ifindex, struct nl_link_info *li);
/* Creates a veth pair; peer_netns_fd >= 0 creates the peer in that netns. */
int nl_link_add_veth(struct nl *nl, const char *name, const char *peer, int peer_netns_fd);
int nl_link_del(struct nl *nl, int ifindex);
int nl_link_set_netns(struct nl *nl, int ifindex, int netns_fd);

#define NL_ADDR_OPTIMISTIC 0x1u	/* RFC 4429 optimistic DAD (IFA_F_OPTIMISTIC) */
#define NL_ADDR_NODAD	   0x2u	/* IFA_F_NODAD */

/* NL_ADDR_OPTIMISTIC also turns on the interface's optimistic_dad sysctl,
 * without which the kernel ignores the flag. */
int nl_addr_add(struct nl *nl, int ifindex, const struct ip_prefix *p, unsigned flags);
int nl_addr_del(struct nl *nl, int ifindex, const struct ip_prefix *p);

/* Sets net.ipv6.conf.<if>.optimistic_dad (a sysctl; netlink cannot). */
int nl_ipv6_optimistic_dad(int ifindex, bool on);

struct nl_addr_info {
	int ifindex;
	struct ip_prefix prefix;
	uint32_t ifa_flags;		/* IFA_F_* including TENTATIVE, OPTIMISTIC */
	uint8_t scope;
};
typedef void (*nl_addr_cb)(const struct nl_addr_info *a, void *arg);
/* Calls cb for each address of `family` (AF_UNSPEC: both) on ifindex (0: all). */
int nl_addr_dump(struct nl *nl, int family, int ifindex, nl_addr_cb cb, void *arg);

struct nl_route {
	struct ip_prefix dst;		/* family selects IPv4/IPv6 */
	struct ip_addr gateway;		/* family 0: none */
	struct ip_addr prefsrc;		/* family 0: none */
	int oif;			/* 0: none */
	uint32_t table;			/* 0: main */
	uint32_t metric;		/* 0: kernel default (add), any (del) */
};
int nl_route_add(struct nl *nl, const struct nl_route *r, bool replace);
int nl_route_del(struct nl *nl, const struct nl_route *r);

struct nl_route_info {
	struct nl_route r;		/* table is always filled in */
	uint8_t protocol;		/* RTPROT_* */
	uint8_t scope;			/* RT_SCOPE_* */
	uint8_t type;			/* RTN_* */
};
typedef void (*nl_route_cb)(const struct nl_route_info *ri, void *arg);
/* Calls cb for each route of `family` (AF_UNSPEC: both) in `table` (0: all). */
int nl_route_dump(struct nl *nl, int family, uint32_t table, nl_route_cb cb, void *arg);

struct nl_rule {
	int family;
	uint32_t priority;		/* 0: kernel picks (add), any (del) */
	uint32_t table;			/* 0: main */
	uint32_t fwmark, fwmask;	/* fwmask 0: no mark match */
	bool invert;			/* "not fwmark ..." as wg-quick uses */
	struct ip_prefix src, dst;	/* family 0: any */
};
int nl_rule_add(struct nl *nl, const struct nl_rule *r);
int nl_rule_del(struct nl *nl, const struct nl_rule *r);

int nl_neigh_proxy_add(struct nl *nl, int ifindex, const struct ip_addr *a);
int nl_neigh_proxy_del(struct nl *nl, int ifindex, const struct ip_addr *a);

/* Link and address events. */
/* NL_EV_LOST: the event socket overflowed; re-read whatever state matters. */
enum nl_event_kind { NL_EV_LINK, NL_EV_ADDR_NEW, NL_EV_ADDR_DEL, NL_EV_LOST };
struct nl_event {
	enum nl_event_kind kind;
	int ifindex;
	char ifname[16];		/* NL_EV_LINK */
	bool up;			/* NL_EV_LINK: IFF_UP */
	bool running;			/* NL_EV_LINK: IFF_RUNNING / carrier */
	bool removed;			/* NL_EV_LINK: RTM_DELLINK */
	struct nl_addr_info addr;	/* NL_EV_ADDR_* */
};
typedef void (*nl_event_cb)(const struct nl_event *ev, void *arg);
struct nl_monitor;
struct nl_monitor *nl_monitor_open(struct loop *l, nl_event_cb cb, void *arg);
void nl_monitor_close(struct nl_monitor *m);

#endif
