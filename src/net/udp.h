/* UDP sockets for the data plane (RFC 5555 on 4191, IKE on 500/4500):
 * bound, nonblocking, reporting each datagram's destination address and
 * arrival interface (IP_PKTINFO / IPV6_RECVPKTINFO) and sending from a
 * chosen source address and interface. Batched variants use
 * recvmmsg/sendmmsg over caller-owned arrays and never allocate. */
#ifndef MIPSEC_NET_UDP_H
#define MIPSEC_NET_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "core/addr.h"

struct udp_opts {
	uint32_t fwmark;	/* SO_MARK; 0: none (needs CAP_NET_ADMIN) */
	bool v6only;		/* IPV6_V6ONLY on IPv6 sockets; false: dual stack */
	bool reuseaddr;		/* SO_REUSEADDR */
	bool freebind;		/* IP_FREEBIND: bind a tentative or absent address */
	int ifindex;		/* SO_BINDTOIFINDEX; 0: none */
};

/* Opens a socket bound to addr:port (any address: an all-zero ip_addr of the
 * wanted family). opts may be NULL. Returns the fd or a negative errno. */
int udp_open(const struct ip_addr *addr, uint16_t port, const struct udp_opts *opts);
int udp_open_sa(const struct sockaddr *sa, socklen_t salen, const struct udp_opts *opts);
/* The locally bound address and port; 0 or a negative errno. */
int udp_local(int fd, struct ip_addr *addr, uint16_t *port);

/* ip_addr + port <-> sockaddr. udp_sockaddr returns the length. */
socklen_t udp_sockaddr(const struct ip_addr *a, uint16_t port, struct sockaddr_storage *ss);
/* false if the family is neither AF_INET nor AF_INET6. A v4-mapped IPv6
 * address comes back as AF_INET. */
bool udp_sockaddr_addr(const struct sockaddr *sa, struct ip_addr *a, uint16_t *port);

struct udp_meta {
	struct ip_addr peer;	/* recv: source; send: destination */
	uint16_t peer_port;
	struct ip_addr local;	/* recv: destination; send: source (family 0: kernel's choice) */
	int ifindex;		/* recv: arrival; send: outgoing (0: by route) */
};

/* One datagram; returns its length, or a negative errno (-EAGAIN: nothing
 * queued). A datagram longer than size is truncated and -EMSGSIZE returned. */
ssize_t udp_recv(int fd, void *buf, size_t size, struct udp_meta *m);
/* Returns the bytes sent or a negative errno. */
ssize_t udp_send(int fd, const void *buf, size_t len, const struct udp_meta *m);

#define UDP_BATCH_MAX 64

struct udp_msg {
	void *buf;
	size_t size;		/* recv: capacity of buf */
	size_t len;		/* recv: bytes received; send: bytes to send */
	bool truncated;		/* recv: datagram was longer than size */
	struct udp_meta meta;
};

/* Receives up to n (at most UDP_BATCH_MAX per call) datagrams without
 * waiting; returns how many were filled in, or a negative errno (-EAGAIN:
 * none queued). */
int udp_recv_batch(int fd, struct udp_msg *msgs, unsigned n);
/* Sends up to n datagrams; returns how many were sent (the rest should be
 * retried or dropped by the caller), or a negative errno if none was. */
int udp_send_batch(int fd, const struct udp_msg *msgs, unsigned n);

#endif
