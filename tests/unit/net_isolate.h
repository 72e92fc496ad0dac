/* Test helper: move the test process into a private network namespace so
 * that it can create links, addresses and routes without touching the host.
 * As root a plain new netns is enough; otherwise a user namespace maps the
 * caller to root inside it. Call before cmocka starts (single-threaded). */
#ifndef MIPSEC_TESTS_NET_ISOLATE_H
#define MIPSEC_TESTS_NET_ISOLATE_H

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static char net_isolate_why[256];
static bool net_isolated;
static bool net_isolated_userns;

static int net_isolate_write(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -EIO;
}

static int net_isolate_lo_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		rc = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (rc == 0 && ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* Returns true when isolated; otherwise net_isolate_why says why not. */
static bool net_isolate(void)
{
	uid_t uid = getuid();
	gid_t gid = getgid();
	char map[64];
	int rc;

	if (unshare(CLONE_NEWNET) < 0) {
		int e1 = errno;

		if (unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0) {
			snprintf(net_isolate_why, sizeof(net_isolate_why),
				 "cannot create a network namespace: unshare(NEWNET): %s; "
				 "unshare(NEWUSER|NEWNET): %s", strerror(e1), strerror(errno));
			return false;
		}
		net_isolated_userns = true;
		snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
		if ((rc = net_isolate_write("/proc/self/setgroups", "deny")) < 0 ||
		    (rc = net_isolate_write("/proc/self/uid_map", map)) < 0)
			goto mapfail;
		snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
		if ((rc = net_isolate_write("/proc/self/gid_map", map)) < 0)
			goto mapfail;
	}
	if ((rc = net_isolate_lo_up()) < 0) {
		snprintf(net_isolate_why, sizeof(net_isolate_why),
			 "cannot bring up lo in the new netns: %s", strerror(-rc));
		return false;
	}
	net_isolated = true;
	return true;
mapfail:
	snprintf(net_isolate_why, sizeof(net_isolate_why),
		 "cannot write user namespace id maps: %s", strerror(-rc));
	return false;
}

/* In a test body: skip (with the reason) unless isolated. */
#define REQUIRE_NETNS()                                                          \
	do {                                                                     \
		if (!net_isolated) {                                             \
			print_message("[  SKIPPED ] %s\n", net_isolate_why);     \
			skip();                                                  \
		}                                                                \
	} while (0)

#endif
