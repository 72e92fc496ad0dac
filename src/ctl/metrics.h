/* Prometheus text exposition of the counter registry over HTTP
 * (libmicrohttpd), driven from the daemon's event loop: no extra thread. */
#ifndef MIPSEC_CTL_METRICS_H
#define MIPSEC_CTL_METRICS_H

#include <stddef.h>
#include <sys/socket.h>

struct loop;
struct metrics_server;

/* `node` labels every series. Serves GET /metrics; 404 elsewhere. */
struct metrics_server *metrics_server_start(struct loop *l, const struct sockaddr *sa,
					    socklen_t salen, const char *node);
void metrics_server_stop(struct metrics_server *m);
/* The bound TCP port (useful when started on port 0). */
unsigned metrics_server_port(const struct metrics_server *m);
/* Renders the exposition text into a malloc'd string (also used by tests). */
char *metrics_render(const char *node);

#endif
