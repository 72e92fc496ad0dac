/* Small JSON helpers shared by the wire views (wirejson_*.c). */
#ifndef MIPSEC_CTL_WIREJSON_UTIL_H
#define MIPSEC_CTL_WIREJSON_UTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Lower-case hex of n octets, optionally separated ("02:00:5e"). */
json_t *wj_hex(const uint8_t *p, size_t n);
json_t *wj_hex_sep(const uint8_t *p, size_t n, char sep);
/* Value of a hex digit, or -1. */
int wj_hexval(int c);
json_t *wj_addr(int af, const uint8_t *p);
static inline json_t *wj_addr6(const uint8_t *p) { return wj_addr(AF_INET6, p); }

static inline void wj_set(json_t *o, const char *k, json_t *v) { json_object_set_new(o, k, v); }
static inline void wj_set_int(json_t *o, const char *k, json_int_t v)
{
	json_object_set_new(o, k, json_integer(v));
}
static inline void wj_set_bool(json_t *o, const char *k, bool v)
{
	json_object_set_new(o, k, json_boolean(v));
}

#endif
