/* TUN devices carrying bare IP packets (IFF_TUN | IFF_NO_PI), optionally
 * multi-queue: one fd per queue, each nonblocking and close-on-exec. */
#ifndef MIPSEC_NET_TUN_H
#define MIPSEC_NET_TUN_H

#include <stdbool.h>

#define TUN_MAX_QUEUES 16
#define TUN_NAME_SIZE 16		/* IFNAMSIZ */

#define TUN_F_MULTI_QUEUE 0x1u	/* IFF_MULTI_QUEUE: one fd per queue */
/* IFF_VNET_HDR: every read/write then starts with a struct virtio_net_hdr
 * (10 bytes). Reserved for segmentation offload; nothing uses it yet. */
#define TUN_F_VNET_HDR	  0x2u

struct tun {
	char name[TUN_NAME_SIZE];	/* actual name given by the kernel */
	int ifindex;
	unsigned nqueues;
	int fds[TUN_MAX_QUEUES];
};

/* Opens (creating if needed) the TUN device `name` ("" or NULL: the kernel
 * picks "tunN"; a "%d" pattern is allowed). `queues` > 1 needs
 * TUN_F_MULTI_QUEUE. Returns 0 or a negative errno; on failure nothing stays
 * open. The device is not persistent: it goes away with the last fd. */
int tun_open(struct tun *t, const char *name, unsigned queues, unsigned flags);
void tun_close(struct tun *t);

#endif
