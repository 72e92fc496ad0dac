#include "net/tun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/log.h"

#define MOD "tun"

static int open_queue(const char *name, short iff, char *actual)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = iff;
	if (name)
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	snprintf(actual, TUN_NAME_SIZE, "%s", ifr.ifr_name);
	return fd;
}

int tun_open(struct tun *t, const char *name, unsigned queues, unsigned flags)
{
	short iff = IFF_TUN | IFF_NO_PI;

	memset(t, 0, sizeof(*t));
	for (unsigned i = 0; i < TUN_MAX_QUEUES; i++)
		t->fds[i] = -1;
	if (queues == 0)
		queues = 1;
	if ((flags & ~(TUN_F_MULTI_QUEUE | TUN_F_VNET_HDR)) || queues > TUN_MAX_QUEUES ||
	    (queues > 1 && !(flags & TUN_F_MULTI_QUEUE)) ||
	    (name && strlen(name) >= TUN_NAME_SIZE))
		return -EINVAL;
	if (flags & TUN_F_MULTI_QUEUE)
		iff |= IFF_MULTI_QUEUE;
	if (flags & TUN_F_VNET_HDR)
		iff |= IFF_VNET_HDR;
	for (unsigned i = 0; i < queues; i++) {
		/* The first queue resolves a pattern; the others attach to the
		 * device it created by its real name. */
		int fd = open_queue(i ? t->name : name, iff, t->name);

		if (fd < 0) {
			log_err(MOD, "cannot open tun queue name=%s queue=%u err=\"%s\"",
				name && *name ? name : "(auto)", i, strerror(-fd));
			tun_close(t);
			return fd;
		}
		t->fds[i] = fd;
		t->nqueues = i + 1;
	}
	t->ifindex = (int)if_nametoindex(t->name);
	if (t->ifindex == 0) {
		int rc = -errno;

		tun_close(t);
		return rc ? rc : -ENODEV;
	}
	return 0;
}

void tun_close(struct tun *t)
{
	for (unsigned i = 0; i < t->nqueues; i++) {
		if (t->fds[i] >= 0)
			close(t->fds[i]);
		t->fds[i] = -1;
	}
	t->nqueues = 0;
}
