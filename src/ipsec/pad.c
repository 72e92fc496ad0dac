/* Peer Authorization Database, see pad.h. */
#include "ipsec/pad.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "core/stats.h"
#include "wire/ikev2.h"

#define PAD_BUCKETS 1024

COUNTER_DEFINE(ctr_no_entry, "mipsec_pad_no_entry_total",
	       "Peer identities with no PAD entry");
COUNTER_DEFINE(ctr_denied, "mipsec_pad_ts_denied_total",
	       "Peers refused: selectors outside the space their PAD entry allows");
COUNTER_DEFINE(ctr_narrowed, "mipsec_pad_ts_narrowed_total",
	       "Peers whose selectors were narrowed to their PAD space");
COUNTER_DEFINE(ctr_bad_ts, "mipsec_pad_bad_ts_total",
	       "Peers refused: malformed traffic selector");

void pad_stats_register(void)
{
	static int done;
	struct counter *all[] = { &ctr_no_entry, &ctr_denied, &ctr_narrowed, &ctr_bad_ts };

	if (done)
		return;
	done = 1;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		counter_register(all[i]);
}

const char *pad_strerror(enum pad_err e)
{
	switch (e) {
	case PAD_OK:			return "ok";
	case PAD_ERR_ID_TYPE:		return "identity type cannot be matched this way";
	case PAD_ERR_VALUE:		return "identity value does not parse for its type";
	case PAD_ERR_TOO_LONG:		return "identity value too long";
	case PAD_ERR_TOO_MANY_TS:	return "too many traffic selectors in one PAD entry";
	case PAD_ERR_NOMEM:		return "out of memory";
	case PAD_ERR_NOENT:		return "no such PAD entry";
	}
	return "unknown PAD error";
}

const char *pad_verdict_str(enum pad_verdict v)
{
	switch (v) {
	case PAD_ALLOW:		return "allowed";
	case PAD_NARROWED:	return "narrowed";
	case PAD_DENY_NO_ENTRY:	return "no PAD entry for the identity";
	case PAD_DENY_TS:	return "selectors outside the peer's authorised space";
	case PAD_DENY_BAD_TS:	return "malformed traffic selector";
	}
	return "unknown";
}

static bool is_name(uint8_t t)
{
	return t == IKEV2_ID_FQDN || t == IKEV2_ID_RFC822_ADDR;
}

static bool is_addr(uint8_t t)
{
	return t == IKEV2_ID_IPV4_ADDR || t == IKEV2_ID_IPV6_ADDR;
}

static size_t addr_len(uint8_t t)
{
	return t == IKEV2_ID_IPV4_ADDR ? 4 : 16;
}

/* ---- DNs ---- */

/* "C=FI, O=Example, CN=mn1" (no escaped commas) to DER. */
static enum pad_err dn_from_text(const char *text, uint8_t *out, size_t *len)
{
	X509_NAME *n = X509_NAME_new();
	char buf[512], *save = NULL, *tok;
	enum pad_err e = PAD_OK;
	unsigned char *p = out;
	int dlen;

	if (!n)
		return PAD_ERR_NOMEM;
	if (strlen(text) >= sizeof(buf)) {
		X509_NAME_free(n);
		return PAD_ERR_TOO_LONG;
	}
	strcpy(buf, text);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '='), *k = tok, *v, *end;

		if (!eq) {
			e = PAD_ERR_VALUE;
			break;
		}
		*eq = 0;
		v = eq + 1;
		while (isspace((unsigned char)*k))
			k++;
		for (end = eq; end > k && isspace((unsigned char)end[-1]); end--)
			end[-1] = 0;
		while (isspace((unsigned char)*v))
			v++;
		for (end = v + strlen(v); end > v && isspace((unsigned char)end[-1]); end--)
			end[-1] = 0;
		if (!*k || !*v || !X509_NAME_add_entry_by_txt(n, k, MBSTRING_UTF8,
							      (const unsigned char *)v, -1, -1, 0)) {
			e = PAD_ERR_VALUE;
			break;
		}
	}
	if (!e && X509_NAME_entry_count(n) == 0)
		e = PAD_ERR_VALUE;
	if (!e) {
		dlen = i2d_X509_NAME(n, NULL);
		if (dlen <= 0)
			e = PAD_ERR_VALUE;
		else if ((size_t)dlen > PAD_ID_MAX)
			e = PAD_ERR_TOO_LONG;
		else
			*len = (size_t)i2d_X509_NAME(n, &p);
	}
	X509_NAME_free(n);
	return e;
}

static bool entry_eq(X509_NAME_ENTRY *a, X509_NAME_ENTRY *b)
{
	unsigned char *x = NULL, *y = NULL;
	int lx, ly;
	bool eq;

	if (OBJ_cmp(X509_NAME_ENTRY_get_object(a), X509_NAME_ENTRY_get_object(b)))
		return false;
	lx = ASN1_STRING_to_UTF8(&x, X509_NAME_ENTRY_get_data(a));
	ly = ASN1_STRING_to_UTF8(&y, X509_NAME_ENTRY_get_data(b));
	/* X.520 attributes match without case (caseIgnoreMatch). */
	eq = lx >= 0 && lx == ly && !strncasecmp((char *)x, (char *)y, (size_t)lx);
	OPENSSL_free(x);
	OPENSSL_free(y);
	return eq;
}

/* Entry DN `pat` against the peer's DER DN: all of it (exact) or its
 * first RDNs (subtree). */
static bool dn_match(const uint8_t *pat, size_t plen, const uint8_t *id, size_t ilen,
		     bool subtree)
{
	const unsigned char *pp = pat, *ip = id;
	X509_NAME *a = d2i_X509_NAME(NULL, &pp, (long)plen);
	X509_NAME *b = d2i_X509_NAME(NULL, &ip, (long)ilen);
	bool ok = false;
	int na, nb;

	if (!a || !b || ip != id + ilen)
		goto out;
	na = X509_NAME_entry_count(a);
	nb = X509_NAME_entry_count(b);
	if (na > nb || (!subtree && na != nb))
		goto out;
	ok = true;
	for (int i = 0; i < na && ok; i++)
		ok = entry_eq(X509_NAME_get_entry(a, i), X509_NAME_get_entry(b, i));
out:
	X509_NAME_free(a);
	X509_NAME_free(b);
	return ok;
}

/* ---- entries ---- */

enum pad_err pad_entry_set_id(struct pad_entry *e, uint8_t id_type, enum pad_match match,
			      const char *text)
{
	size_t n = strlen(text);

	e->id_type = id_type;
	e->match = match;
	e->value_len = 0;
	if (is_addr(id_type)) {
		int fam = id_type == IKEV2_ID_IPV4_ADDR ? AF_INET : AF_INET6;
		struct ip_prefix p;

		if (match == PAD_MATCH_EXACT) {
			if (inet_pton(fam, text, e->value) != 1)
				return PAD_ERR_VALUE;
			e->value_len = addr_len(id_type);
			return PAD_OK;
		}
		if (match != PAD_MATCH_RANGE)
			return PAD_ERR_ID_TYPE;
		if (ip_prefix_parse(text, fam, true, &p) != ADDR_OK)
			return PAD_ERR_VALUE;
		memcpy(e->value, p.addr.bytes, addr_len(id_type));
		e->value_len = addr_len(id_type);
		e->range_plen = p.len;
		return PAD_OK;
	}
	if (id_type == IKEV2_ID_DER_ASN1_DN) {
		if (match != PAD_MATCH_EXACT && match != PAD_MATCH_SUBTREE)
			return PAD_ERR_ID_TYPE;
		return dn_from_text(text, e->value, &e->value_len);
	}
	if (is_name(id_type) || id_type == IKEV2_ID_KEY_ID) {
		/* Wildcards are for names only, and start with the star. */
		if (match == PAD_MATCH_SUFFIX && !is_name(id_type))
			return PAD_ERR_ID_TYPE;
		if (match == PAD_MATCH_SUFFIX && (n < 2 || text[0] != '*'))
			return PAD_ERR_VALUE;
		if (match != PAD_MATCH_EXACT && match != PAD_MATCH_SUFFIX)
			return PAD_ERR_ID_TYPE;
		if (!n)
			return PAD_ERR_VALUE;
		if (n > PAD_ID_MAX)
			return PAD_ERR_TOO_LONG;
		memcpy(e->value, text, n);
		e->value_len = n;
		return PAD_OK;
	}
	return PAD_ERR_ID_TYPE;
}

enum pad_err pad_entry_add_prefix(struct pad_entry *e, const struct ip_prefix *p)
{
	struct spd_sel s;
	struct spd_ts *t;

	if (e->nts >= PAD_MAX_TS)
		return PAD_ERR_TOO_MANY_TS;
	t = &e->ts[e->nts];
	memset(t, 0, sizeof(*t));
	spd_sel_any(&s, p->addr.family);
	spd_sel_remote_prefix(&s, p);
	t->family = p->addr.family;
	memcpy(t->start, s.rstart, 16);
	memcpy(t->end, s.rend, 16);
	t->port_end = 0xffff;
	e->nts++;
	return PAD_OK;
}

/* Exact entries of these types live in the hash; DNs are compared
 * attribute by attribute, so they are scanned. */
static bool hashed(const struct pad_entry *e)
{
	return e->match == PAD_MATCH_EXACT && e->id_type != IKEV2_ID_DER_ASN1_DN;
}

static size_t hash_id(uint8_t type, const uint8_t *v, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull ^ type;

	for (size_t i = 0; i < n; i++) {
		uint8_t c = is_name(type) ? (uint8_t)tolower(v[i]) : v[i];

		h = (h ^ c) * 0x100000001b3ull;
	}
	return (size_t)(h ^ h >> 32) & (PAD_BUCKETS - 1);
}

static bool exact_eq(const struct pad_entry *e, uint8_t type, const uint8_t *d, size_t n)
{
	if (e->id_type != type || e->value_len != n)
		return false;
	if (is_name(type))
		return !strncasecmp((const char *)e->value, (const char *)d, n);
	return !memcmp(e->value, d, n);
}

static bool wild_match(const struct pad_entry *e, uint8_t type, const uint8_t *d, size_t n)
{
	switch (e->match) {
	case PAD_MATCH_EXACT:
		return e->id_type == type && type == IKEV2_ID_DER_ASN1_DN &&
		       dn_match(e->value, e->value_len, d, n, false);
	case PAD_MATCH_SUBTREE:
		return e->id_type == type && dn_match(e->value, e->value_len, d, n, true);
	case PAD_MATCH_SUFFIX: {
		/* "*.example.com": the part after the star, and more before it. */
		size_t sl = e->value_len - 1;

		return e->id_type == type && n > sl &&
		       !strncasecmp((const char *)d + n - sl, (const char *)e->value + 1, sl);
	}
	case PAD_MATCH_RANGE: {
		struct ip_prefix p = { .len = e->range_plen };
		struct ip_addr a = { 0 };

		if (e->id_type != type || n != addr_len(type))
			return false;
		p.addr.family = a.family = type == IKEV2_ID_IPV4_ADDR ? AF_INET : AF_INET6;
		memcpy(p.addr.bytes, e->value, n);
		memcpy(a.bytes, d, n);
		return ip_prefix_contains(&p, &a);
	}
	}
	return false;
}

struct pad *pad_new(void)
{
	struct pad *pad = calloc(1, sizeof(*pad));

	if (!pad)
		return NULL;
	pad->nhash = PAD_BUCKETS;
	pad->hash = calloc(pad->nhash, sizeof(*pad->hash));
	if (!pad->hash) {
		free(pad);
		return NULL;
	}
	pad->next_id = 1;
	pad_stats_register();
	return pad;
}

void pad_free(struct pad *pad)
{
	if (!pad)
		return;
	if (pad->tbl.name)
		table_unregister(&pad->tbl);
	for (size_t i = 0; i < pad->nhash; i++)
		for (struct pad_entry *e = pad->hash[i], *n; e; e = n) {
			n = e->hnext;
			OPENSSL_cleanse(e, sizeof(*e));
			free(e);
		}
	for (struct pad_entry *e = pad->wild, *n; e; e = n) {
		n = e->next;
		OPENSSL_cleanse(e, sizeof(*e));
		free(e);
	}
	free(pad->hash);
	free(pad);
}

enum pad_err pad_add(struct pad *pad, const struct pad_entry *tmpl, uint32_t *id)
{
	struct pad_entry *e, **pp;

	if (!tmpl->value_len)
		return PAD_ERR_VALUE;
	if (tmpl->nts > PAD_MAX_TS)
		return PAD_ERR_TOO_MANY_TS;
	e = malloc(sizeof(*e));
	if (!e)
		return PAD_ERR_NOMEM;
	*e = *tmpl;
	e->id = pad->next_id++;
	e->order = (uint64_t)e->priority << 32 | (pad->next_seq++ & 0xffffffffu);
	e->lookups = 0;
	e->next = e->hnext = NULL;
	if (hashed(e)) {
		pp = &pad->hash[hash_id(e->id_type, e->value, e->value_len)];
		e->hnext = *pp;
		*pp = e;
	} else {
		for (pp = &pad->wild; *pp && (*pp)->order < e->order; pp = &(*pp)->next)
			;
		e->next = *pp;
		*pp = e;
	}
	pad->count++;
	if (id)
		*id = e->id;
	return PAD_OK;
}

enum pad_err pad_del(struct pad *pad, uint32_t id)
{
	struct pad_entry **pp, *e;

	for (size_t i = 0; i < pad->nhash; i++)
		for (pp = &pad->hash[i]; *pp; pp = &(*pp)->hnext)
			if ((*pp)->id == id)
				goto found_hash;
	for (pp = &pad->wild; *pp; pp = &(*pp)->next)
		if ((*pp)->id == id) {
			e = *pp;
			*pp = e->next;
			goto freeit;
		}
	return PAD_ERR_NOENT;
found_hash:
	e = *pp;
	*pp = e->hnext;
freeit:
	OPENSSL_cleanse(e, sizeof(*e));
	free(e);
	pad->count--;
	return PAD_OK;
}

size_t pad_count(const struct pad *pad)
{
	return pad->count;
}

const struct pad_entry *pad_lookup(struct pad *pad, uint8_t id_type,
				   const uint8_t *data, size_t len)
{
	struct pad_entry *best = NULL;

	if (!data || !len)
		goto none;
	for (struct pad_entry *e = pad->hash[hash_id(id_type, data, len)]; e; e = e->hnext)
		if (exact_eq(e, id_type, data, len) && (!best || e->order < best->order))
			best = e;
	for (struct pad_entry *e = pad->wild; e; e = e->next) {
		if (best && e->order >= best->order)
			break;
		if (wild_match(e, id_type, data, len)) {
			best = e;
			break;
		}
	}
	if (best) {
		best->lookups++;
		return best;
	}
none:
	counter_inc(&ctr_no_entry);
	return NULL;
}

/* ---- authorisation ---- */

static bool ts_valid(const struct spd_ts *t)
{
	size_t n = t->family == AF_INET ? 4 : 16;

	if (t->family != AF_INET && t->family != AF_INET6)
		return false;
	return memcmp(t->start, t->end, n) <= 0 && t->port_start <= t->port_end;
}

static void fmt_ts(const struct spd_ts *t, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?", b[INET6_ADDRSTRLEN] = "?";

	if (t->family == AF_INET || t->family == AF_INET6) {
		inet_ntop(t->family, t->start, a, sizeof(a));
		inet_ntop(t->family, t->end, b, sizeof(b));
	}
	snprintf(buf, len, "%s-%s proto %u ports %u-%u", a, b, t->proto,
		 t->port_start, t->port_end);
}

enum pad_verdict pad_authorize(const struct pad_entry *e, uint8_t id_type,
			       const uint8_t *id_data, size_t id_len,
			       const struct spd_ts *req, size_t nreq,
			       struct spd_ts *out, size_t cap, size_t *nout,
			       char *why, size_t whylen)
{
	struct spd_ts space[PAD_MAX_TS + 1];
	size_t ns = 0, n;
	bool all_inside = true;
	char t[160];

	*nout = 0;
	if (!e) {
		counter_inc(&ctr_no_entry);
		if (why)
			snprintf(why, whylen, "pad: no entry for the peer identity");
		return PAD_DENY_NO_ENTRY;
	}
	for (size_t i = 0; i < e->nts && i < PAD_MAX_TS; i++)
		space[ns++] = e->ts[i];
	if (e->claim_self && is_addr(id_type) && id_data && id_len == addr_len(id_type)) {
		struct spd_ts *s = &space[ns++];

		memset(s, 0, sizeof(*s));
		s->family = id_type == IKEV2_ID_IPV4_ADDR ? AF_INET : AF_INET6;
		memcpy(s->start, id_data, id_len);
		memcpy(s->end, id_data, id_len);
		s->port_end = 0xffff;
	}
	if (!nreq) {
		counter_inc(&ctr_denied);
		if (why)
			snprintf(why, whylen, "pad: empty selector list");
		return PAD_DENY_TS;
	}
	for (size_t i = 0; i < nreq; i++) {
		struct spd_ts in;
		bool inside = false;

		if (!ts_valid(&req[i])) {
			counter_inc(&ctr_bad_ts);
			if (why)
				snprintf(why, whylen, "pad: requested selector %zu is malformed", i + 1);
			return PAD_DENY_BAD_TS;
		}

		for (size_t j = 0; j < ns && !inside; j++)
			inside = spd_ts_intersect(&req[i], &space[j], &in) &&
				 !memcmp(&in, &req[i], sizeof(in));
		if (!inside && all_inside) {
			all_inside = false;
			fmt_ts(&req[i], t, sizeof(t));
		}
	}
	if (all_inside) {
		n = nreq < cap ? nreq : cap;
		memcpy(out, req, n * sizeof(*out));
		*nout = n;
		return PAD_ALLOW;
	}
	n = spd_ts_narrow(req, nreq, space, ns, out, cap);
	*nout = n;
	if (!n) {
		counter_inc(&ctr_denied);
		if (why)
			snprintf(why, whylen, "pad: entry %u does not allow %s", e->id,
				 t);
		return PAD_DENY_TS;
	}
	counter_inc(&ctr_narrowed);
	if (why)
		snprintf(why, whylen, "pad: entry %u narrowed %s", e->id, t);
	return PAD_NARROWED;
}

/* ---- dump ---- */

static const char *match_name(enum pad_match m)
{
	switch (m) {
	case PAD_MATCH_EXACT:	return "exact";
	case PAD_MATCH_SUFFIX:	return "suffix";
	case PAD_MATCH_SUBTREE:	return "subtree";
	case PAD_MATCH_RANGE:	return "range";
	}
	return "?";
}

static const char *id_type_name(uint8_t t)
{
	switch (t) {
	case IKEV2_ID_IPV4_ADDR:	return "ipv4";
	case IKEV2_ID_IPV6_ADDR:	return "ipv6";
	case IKEV2_ID_FQDN:		return "fqdn";
	case IKEV2_ID_RFC822_ADDR:	return "rfc822";
	case IKEV2_ID_DER_ASN1_DN:	return "dn";
	case IKEV2_ID_KEY_ID:		return "key-id";
	}
	return "other";
}

static void id_text(const struct pad_entry *e, char *buf, size_t len)
{
	if (is_addr(e->id_type)) {
		char a[INET6_ADDRSTRLEN];

		inet_ntop(e->id_type == IKEV2_ID_IPV4_ADDR ? AF_INET : AF_INET6, e->value,
			  a, sizeof(a));
		if (e->match == PAD_MATCH_RANGE)
			snprintf(buf, len, "%s/%u", a, e->range_plen);
		else
			snprintf(buf, len, "%s", a);
	} else if (e->id_type == IKEV2_ID_DER_ASN1_DN) {
		const unsigned char *p = e->value;
		X509_NAME *n = d2i_X509_NAME(NULL, &p, (long)e->value_len);

		buf[0] = 0;
		if (n)
			X509_NAME_oneline(n, buf, (int)len);
		X509_NAME_free(n);
	} else {
		snprintf(buf, len, "%.*s", (int)e->value_len, (const char *)e->value);
	}
}

static json_t *entry_json(const struct pad_entry *e)
{
	char idt[PAD_ID_MAX + 32], ts[160];
	json_t *o, *space = json_array();

	id_text(e, idt, sizeof(idt));
	for (size_t i = 0; space && i < e->nts; i++) {
		fmt_ts(&e->ts[i], ts, sizeof(ts));
		json_array_append_new(space, json_string(ts));
	}
	o = json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:b, s:o, s:I}",
		      "id", (json_int_t)e->id, "priority", (json_int_t)e->priority,
		      "id_type", id_type_name(e->id_type), "match", match_name(e->match),
		      "identity", idt, "auth", e->auth == PAD_AUTH_PSK ? "psk" : "cert",
		      "ca", e->ca, "claim_self", e->claim_self,
		      "space", space ? space : json_array(), "lookups", (json_int_t)e->lookups);
	return o;
}

static int by_order(const void *a, const void *b)
{
	const struct pad_entry *x = *(const struct pad_entry *const *)a;
	const struct pad_entry *y = *(const struct pad_entry *const *)b;

	return x->order < y->order ? -1 : x->order > y->order;
}

json_t *pad_dump(const struct pad *pad)
{
	const struct pad_entry **v = malloc((pad->count ? pad->count : 1) * sizeof(*v));
	json_t *arr = json_array();
	size_t n = 0;

	if (!v || !arr)
		goto fail;
	for (size_t i = 0; i < pad->nhash; i++)
		for (const struct pad_entry *e = pad->hash[i]; e; e = e->hnext)
			v[n++] = e;
	for (const struct pad_entry *e = pad->wild; e; e = e->next)
		v[n++] = e;
	qsort(v, n, sizeof(*v), by_order);
	for (size_t i = 0; i < n; i++) {
		json_t *o = entry_json(v[i]);

		if (!o || json_array_append_new(arr, o) < 0)
			goto fail;
	}
	free(v);
	return arr;
fail:
	free(v);
	json_decref(arr);
	return NULL;
}

static json_t *table_dump(void *arg)
{
	return pad_dump(arg);
}

void pad_table_register(struct pad *pad, const char *name)
{
	if (pad->tbl.name)
		table_unregister(&pad->tbl);
	pad->tbl.name = name ? name : "pad";
	pad->tbl.description = "IPsec PAD: peer identities, authentication and the "
			       "addresses each may claim";
	pad->tbl.dump = table_dump;
	pad->tbl.arg = pad;
	table_register(&pad->tbl);
}
