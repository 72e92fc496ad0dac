#ifndef MIPSEC_DAEMON_COMMANDS_H
#define MIPSEC_DAEMON_COMMANDS_H

#include <jansson.h>

/* Control-socket dispatch for a running daemon (arg: struct daemon *). */
json_t *daemon_command(const json_t *request, void *arg);

#endif
