/* Raw ICMPv6 sockets for Neighbor Discovery: one socket per interface,
 * bound to it (SO_BINDTODEVICE), filtered to the wanted types (ICMP6_FILTER),
 * sending with hop limit 255 as RFC 4861 requires and dropping received ND
 * messages whose hop limit is not 255 (they crossed a router, §6.1). The
 * kernel computes and verifies the ICMPv6 checksum on these sockets. */
#ifndef MIPSEC_NET_ICMP6_H
#define MIPSEC_NET_ICMP6_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ICMP6_JOIN_ALL_ROUTERS 0x1u	/* join ff02::2 (to hear Router Solicitations) */
#define ICMP6_JOIN_ALL_NODES 0x2u	/* join ff02::1 (hosts are members anyway) */

/* Opens a non-blocking raw ICMPv6 socket on `ifname` passing only the
 * `n_types` ICMPv6 types listed. Returns the fd or a negative errno. */
int icmp6_open(const char *ifname, const uint8_t *types, size_t n_types, unsigned flags);

struct icmp6_rx {
	struct in6_addr src;
	struct in6_addr dst;		/* from IPV6_PKTINFO */
	int ifindex;
	int hop_limit;			/* -1 when the kernel did not say */
};

/* Receives one message. Returns its length; 0 when a message was dropped
 * (ND with hop limit != 255, counted in mipsec_icmp6_hoplimit_drop_total);
 * -EAGAIN when nothing is queued; another negative errno on failure. */
ssize_t icmp6_recv(int fd, uint8_t *buf, size_t size, struct icmp6_rx *rx);

/* Sends `msg` to dst on ifindex (link-local and multicast destinations need
 * the index). The kernel picks the source: the link-local address of the
 * interface for link-local and link-scope multicast destinations. Returns 0
 * or a negative errno. */
int icmp6_send(int fd, const struct in6_addr *dst, int ifindex, const uint8_t *msg, size_t len);

extern const struct in6_addr icmp6_all_nodes;	/* ff02::1 */
extern const struct in6_addr icmp6_all_routers;	/* ff02::2 */

#endif
