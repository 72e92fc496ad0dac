/* Internals shared by the rtnetlink files (netlink.c, nl_addr.c, nl_route.c,
 * nl_neigh.c, nl_monitor.c). Not part of the public API. */
#ifndef MIPSEC_NET_NL_PRIV_H
#define MIPSEC_NET_NL_PRIV_H

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/stats.h"
#include "net/netlink.h"

#define NL_MOD "netlink"

/* Requests are a few hundred bytes; 8 KiB is libmnl's MNL_SOCKET_BUFFER_SIZE
 * upper bound. Replies use 32 KiB, the size the kernel itself caps dump
 * skbs at, so that no dump message is ever truncated. */
#define NL_SEND_SIZE 8192u
#define NL_RECV_SIZE 32768u

struct nl {
	struct mnl_socket *sk;
	uint32_t portid;
	uint32_t seq;
	uint8_t sbuf[NL_SEND_SIZE];
	uint8_t rbuf[NL_RECV_SIZE];
};

extern struct counter nl_ctr_rejected;
extern struct counter nl_ctr_bad_msg;
extern struct counter nl_ctr_overrun;
void nl_counters_register(void);

/* Starts a request in nl->sbuf: header plus a zeroed family header of `hdrlen`
 * bytes, which is returned through `*fam`. NLM_F_REQUEST and NLM_F_ACK are
 * always set. */
struct nlmsghdr *nl_msg_new(struct nl *nl, uint16_t type, uint16_t flags, size_t hdrlen,
			    void **fam);

/* Called for every data message of the reply; returns 0 or a negative errno
 * (which aborts the callbacks but not the draining of the reply). */
typedef int (*nl_msg_fn)(const struct nlmsghdr *nlh, void *arg);

/* Sends the message built in nl->sbuf and reads the reply up to the ACK, the
 * kernel error or NLMSG_DONE. Returns 0 or a negative errno. */
int nl_transact(struct nl *nl, struct nlmsghdr *nlh, nl_msg_fn fn, void *arg);

/* Parses the attributes after a family header of `hdrlen` bytes into tb[],
 * which must have max + 1 entries. Out-of-range types are ignored. */
int nl_parse_attrs(const struct nlmsghdr *nlh, size_t hdrlen, const struct nlattr **tb,
		   unsigned max);

/* Copies an address attribute of the right size for `family`; false if the
 * attribute is missing or malformed. */
bool nl_attr_addr(const struct nlattr *a, int family, struct ip_addr *out);
void nl_put_addr(struct nlmsghdr *nlh, uint16_t type, const struct ip_addr *a);
int nl_family_max_plen(int family);

/* RTM_NEWADDR/RTM_DELADDR to nl_addr_info (dump and monitor). */
int nl_addr_parse(const struct nlmsghdr *nlh, struct nl_addr_info *a);

#endif
