/* Per-interface IPv6 switches netlink has no message for
 * (net.ipv6.conf.<ifname>.<name>: proxy_ndp, accept_ra, optimistic_dad,
 * use_optimistic). Roles set them while they run and put back what they
 * found when they stop. */
#ifndef MIPSEC_NET_SYSCTL_H
#define MIPSEC_NET_SYSCTL_H

/* Sets the one-character value (written only when it differs). *old
 * (may be NULL) receives the value found, '\0' when unreadable.
 * 0 or -errno. */
int sysctl_ipv6_if_set(const char *ifname, const char *name, char value, char *old);

#endif
