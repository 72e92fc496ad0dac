/* The control socket: a UNIX stream socket speaking newline-delimited JSON.
 * Request:  {"command": "status"} | {"command": "show", "table": NAME} | ...
 * Response: {"ok": true, "result": ...} | {"ok": false, "error": "why"} */
#ifndef MIPSEC_CTL_CONTROL_H
#define MIPSEC_CTL_CONTROL_H

#include <jansson.h>

struct loop;
struct ctl_server;

/* Returns the response (new reference) for one request; never NULL. */
typedef json_t *(*ctl_handler)(const json_t *request, void *arg);

/* Creates the socket (mode 0660, parent directory created 0750 if missing). */
struct ctl_server *ctl_server_open(struct loop *l, const char *path, ctl_handler h,
				   void *arg);
/* Closes every connection and unlinks the socket path. */
void ctl_server_close(struct ctl_server *s);

json_t *ctl_ok(json_t *result);		/* steals result */
json_t *ctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Client side (mipsecctl, tests): one request, one response. Returns NULL and
 * sets *err (static string or strerror) on failure. */
json_t *ctl_request(const char *path, const json_t *request, const char **err);

#endif
