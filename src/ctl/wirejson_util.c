#include "ctl/wirejson_util.h"

#include <arpa/inet.h>
#include <stdlib.h>

json_t *wj_hex_sep(const uint8_t *p, size_t n, char sep)
{
	static const char digits[] = "0123456789abcdef";
	char *s = malloc(n * 3 + 1);
	size_t k = 0;
	json_t *j;

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (sep && i)
			s[k++] = sep;
		s[k++] = digits[p[i] >> 4];
		s[k++] = digits[p[i] & 15];
	}
	s[k] = 0;
	j = json_string(s);
	free(s);
	return j;
}

json_t *wj_hex(const uint8_t *p, size_t n) { return wj_hex_sep(p, n, 0); }

int wj_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

json_t *wj_addr(int af, const uint8_t *p)
{
	char s[INET6_ADDRSTRLEN];

	if (!inet_ntop(af, p, s, sizeof(s)))
		return json_null();
	return json_string(s);
}
