#include "core/addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum addr_parse_err ip_addr_parse(const char *s, int family, struct ip_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET6, s, &out->v6) == 1) {
		out->family = AF_INET6;
		return family == AF_INET ? ADDR_ERR_FAMILY : ADDR_OK;
	}
	if (inet_pton(AF_INET, s, &out->v4) == 1) {
		out->family = AF_INET;
		return family == AF_INET6 ? ADDR_ERR_FAMILY : ADDR_OK;
	}
	return ADDR_ERR_SYNTAX;
}

enum addr_parse_err ip_prefix_parse(const char *s, int family, bool need_len,
				    struct ip_prefix *out)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	enum addr_parse_err e;

	memset(out, 0, sizeof(*out));
	if (alen >= sizeof(buf))
		return ADDR_ERR_SYNTAX;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	e = ip_addr_parse(buf, family, &out->addr);
	if (e != ADDR_OK)
		return e;
	unsigned max = out->addr.family == AF_INET ? 32 : 128;
	if (!slash) {
		if (need_len)
			return ADDR_ERR_PLEN_MISSING;
		out->len = (uint8_t)max;
		return ADDR_OK;
	}
	const char *p = slash + 1;
	if (*p < '0' || *p > '9' || strlen(p) > 3)
		return ADDR_ERR_PLEN_SYNTAX;
	char *end;
	unsigned long v = strtoul(p, &end, 10);
	if (*end != '\0')
		return ADDR_ERR_PLEN_SYNTAX;
	if (v > max)
		return ADDR_ERR_PLEN_RANGE;
	out->len = (uint8_t)v;
	return ADDR_OK;
}

const char *addr_parse_strerror(enum addr_parse_err e)
{
	switch (e) {
	case ADDR_OK: return "ok";
	case ADDR_ERR_SYNTAX: return "not a valid IP address";
	case ADDR_ERR_FAMILY: return "wrong address family";
	case ADDR_ERR_PLEN_SYNTAX: return "prefix length is not a number";
	case ADDR_ERR_PLEN_RANGE: return "prefix length out of range";
	case ADDR_ERR_PLEN_MISSING: return "prefix length missing";
	}
	return "?";
}

size_t ip_addr_len(const struct ip_addr *a) { return a->family == AF_INET ? 4 : 16; }

bool ip_addr_eq(const struct ip_addr *a, const struct ip_addr *b)
{
	return a->family == b->family && memcmp(a->bytes, b->bytes, ip_addr_len(a)) == 0;
}

const char *ip_addr_fmt(const struct ip_addr *a, char *buf, size_t size)
{
	if (!inet_ntop(a->family, a->bytes, buf, (socklen_t)size))
		snprintf(buf, size, "?");
	return buf;
}

const char *ip_prefix_fmt(const struct ip_prefix *p, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];

	snprintf(buf, size, "%s/%u", ip_addr_fmt(&p->addr, a, sizeof(a)), p->len);
	return buf;
}

static bool bits_match(const uint8_t *a, const uint8_t *b, unsigned len)
{
	unsigned full = len / 8, rest = len % 8;

	if (memcmp(a, b, full) != 0)
		return false;
	if (!rest)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

bool ip_prefix_is_network(const struct ip_prefix *p)
{
	size_t n = ip_addr_len(&p->addr);

	for (size_t bit = p->len; bit < n * 8; bit++)
		if (p->addr.bytes[bit / 8] & (0x80 >> (bit % 8)))
			return false;
	return true;
}

bool ip_prefix_contains(const struct ip_prefix *p, const struct ip_addr *a)
{
	return p->addr.family == a->family && bits_match(p->addr.bytes, a->bytes, p->len);
}

bool sockaddr_parse(const char *s, struct sockaddr_storage *ss, size_t *sslen)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon;
	size_t hlen;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (!rb || rb[1] != ':')
			return false;
		hlen = (size_t)(rb - s - 1);
		if (hlen >= sizeof(host))
			return false;
		memcpy(host, s + 1, hlen);
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return false;
		hlen = (size_t)(colon - s);
		if (hlen >= sizeof(host))
			return false;
		memcpy(host, s, hlen);
	}
	host[hlen] = '\0';
	char *end;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || port > 65535)
		return false;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	if (s[0] == '[' && inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*sslen = sizeof(*s6);
		return true;
	}
	if (s[0] != '[' && inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*sslen = sizeof(*s4);
		return true;
	}
	return false;
}
