#include "core/keylog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* Records already written are remembered by a 64-bit hash in an
 * open-addressed set: a key log lives as long as the daemon and gains a
 * record per SA, so a linear scan would grow with every rekey. */
struct keylog {
	int fd;
	char *path;
	uint64_t *seen;		/* 0 marks an empty slot */
	size_t cap, n;
};

static uint64_t record_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h ? h : 1;
}

static int set_grow(struct keylog *kl)
{
	size_t cap = kl->cap ? kl->cap * 2 : 64;
	uint64_t *t = calloc(cap, sizeof(*t));

	if (!t)
		return -1;
	for (size_t i = 0; i < kl->cap; i++) {
		size_t j = kl->seen[i] & (cap - 1);

		if (!kl->seen[i])
			continue;
		while (t[j])
			j = (j + 1) & (cap - 1);
		t[j] = kl->seen[i];
	}
	free(kl->seen);
	kl->seen = t;
	kl->cap = cap;
	return 0;
}

/* true when h was already in the set; inserts it otherwise */
static bool set_test_add(struct keylog *kl, uint64_t h, bool *oom)
{
	size_t j;

	*oom = false;
	if ((kl->n + 1) * 2 > kl->cap && set_grow(kl) < 0) {
		*oom = true;
		return false;
	}
	for (j = h & (kl->cap - 1); kl->seen[j]; j = (j + 1) & (kl->cap - 1))
		if (kl->seen[j] == h)
			return true;
	kl->seen[j] = h;
	kl->n++;
	return false;
}

/* One writev per record: a reader following the file never sees half a
 * line (appends to a regular file are not interleaved). */
static int write_line(int fd, const char *s)
{
	struct iovec iov[2] = { { (void *)s, strlen(s) }, { "\n", 1 } };
	size_t want = iov[0].iov_len + 1;
	ssize_t w;

	do
		w = writev(fd, iov, 2);
	while (w < 0 && errno == EINTR);
	if (w >= 0 && (size_t)w != want)
		errno = EIO;
	return w >= 0 && (size_t)w == want ? 0 : -1;
}

struct keylog *keylog_open(const char *path, const char *header)
{
	struct keylog *kl = calloc(1, sizeof(*kl));

	if (!kl)
		return NULL;
	kl->path = strdup(path);
	kl->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
	/* an existing file keeps its mode through O_CREAT: narrow it */
	if (!kl->path || kl->fd < 0 || fchmod(kl->fd, 0600) < 0 ||
	    (header && write_line(kl->fd, header) < 0)) {
		int e = errno;

		keylog_close(kl);
		errno = e;
		return NULL;
	}
	return kl;
}

int keylog_add(struct keylog *kl, const char *record)
{
	bool oom;

	if (set_test_add(kl, record_hash(record), &oom))
		return 0;
	if (oom) {
		errno = ENOMEM;
		return -1;
	}
	return write_line(kl->fd, record) < 0 ? -1 : 1;
}

const char *keylog_path(const struct keylog *kl)
{
	return kl->path;
}

void keylog_close(struct keylog *kl)
{
	if (!kl)
		return;
	if (kl->fd >= 0)
		close(kl->fd);
	free(kl->path);
	free(kl->seen);
	free(kl);
}

int keylog_use(struct keylog **klp, const char *path, const char *header)
{
	if (*klp && !strcmp(keylog_path(*klp), path))
		return 0;
	keylog_close(*klp);
	*klp = keylog_open(path, header);
	return *klp ? 0 : -1;
}
