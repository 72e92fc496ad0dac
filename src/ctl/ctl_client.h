/* Control socket client with an explicit timeout and a failure class, so
 * mipsecctl can tell "no daemon there" from "the daemon misbehaved". */
#ifndef MIPSEC_CTL_CTL_CLIENT_H
#define MIPSEC_CTL_CTL_CLIENT_H

#include <jansson.h>

enum ctl_fail {
	CTL_FAIL_NONE = 0,
	CTL_FAIL_CONNECT,	/* socket missing, refused, permission */
	CTL_FAIL_IO,		/* the connection broke mid-exchange */
	CTL_FAIL_TIMEOUT,
	CTL_FAIL_PROTO,		/* the answer was not one JSON object line */
};

#define CTL_REQUEST_TIMEOUT_MS 10000
#define CTL_MAX_RESPONSE (64u * 1024u * 1024u)

/* One request, one response (new reference). On failure returns NULL, sets
 * *fail (if not NULL) and *err to a static or strerror() string. */
json_t *ctl_call(const char *path, const json_t *request, int timeout_ms,
		 enum ctl_fail *fail, const char **err);

#endif
