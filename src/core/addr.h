/* IP addresses and prefixes of either family, with strict text parsing. */
#ifndef MIPSEC_CORE_ADDR_H
#define MIPSEC_CORE_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ip_addr {
	int family;			/* AF_INET or AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
		uint8_t bytes[16];
	};
};

struct ip_prefix {
	struct ip_addr addr;
	uint8_t len;
};

enum addr_parse_err {
	ADDR_OK = 0,
	ADDR_ERR_SYNTAX,		/* not an address of the allowed family */
	ADDR_ERR_FAMILY,		/* valid address, wrong family */
	ADDR_ERR_PLEN_SYNTAX,		/* "/x" is not a number */
	ADDR_ERR_PLEN_RANGE,		/* prefix length over 32 or 128 */
	ADDR_ERR_PLEN_MISSING,
};

/* family: AF_INET, AF_INET6 or AF_UNSPEC (either). */
enum addr_parse_err ip_addr_parse(const char *s, int family, struct ip_addr *out);
/* Parses "addr/len"; if `need_len` is false a bare address gets the full length. */
enum addr_parse_err ip_prefix_parse(const char *s, int family, bool need_len,
				    struct ip_prefix *out);
const char *addr_parse_strerror(enum addr_parse_err e);

size_t ip_addr_len(const struct ip_addr *a);	/* 4 or 16 */
bool ip_addr_eq(const struct ip_addr *a, const struct ip_addr *b);
/* Formats into buf (at least INET6_ADDRSTRLEN + 4 bytes); returns buf. */
const char *ip_addr_fmt(const struct ip_addr *a, char *buf, size_t size);
const char *ip_prefix_fmt(const struct ip_prefix *p, char *buf, size_t size);
/* True if the host bits below len are zero. */
bool ip_prefix_is_network(const struct ip_prefix *p);
bool ip_prefix_contains(const struct ip_prefix *p, const struct ip_addr *a);

/* "[v6]:port", "v4:port"; port required. */
bool sockaddr_parse(const char *s, struct sockaddr_storage *ss, size_t *sslen);

#endif
