#include "net/sysctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int sysctl_ipv6_if_set(const char *ifname, const char *name, char value, char *old)
{
	char path[128], cur = '\0';
	int fd, rc = 0;

	if (old)
		*old = '\0';
	if (snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/%s", ifname, name) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (read(fd, &cur, 1) != 1)
		cur = '\0';
	if (cur != value && pwrite(fd, &value, 1, 0) != 1)
		rc = errno ? -errno : -EIO;
	close(fd);
	if (old)
		*old = cur;
	return rc;
}
