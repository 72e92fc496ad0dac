/* Command-line access to the ND codecs for the scapy conformance test
 * (tests/conformance/test_nd_scapy.py):
 *
 *   nd_oracle build-ra [src=ADDR dst=ADDR] [hop=N] [M=0|1] [O=..] [H=..] [P=..]
 *             [prf=N] [lifetime=N] [reachable=N] [retrans=N] [slla=aa:bb:..]
 *             [mtu=N] [advint=N] [hapref=N halife=N]
 *             [prefix=ADDR/LEN,L,A,R,VALID,PREFERRED]... [map=ADDR,DIST,PREF,R,VALID]...
 *   nd_oracle build-rs [src=ADDR dst=ADDR] [slla=..]
 *   nd_oracle build-ns|build-na [src=ADDR dst=ADDR] target=ADDR [slla=..|tlla=..] [R=1 S=1 O=1]
 *       print the ICMPv6 message in hex (checksum filled when src and dst are given);
 *   nd_oracle parse [SRC DST]
 *       read hex from stdin and print the parsed message as JSON with the
 *       RFC's field names, plus the checksum verdict when SRC and DST are given.
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/nd.h"

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "nd_oracle: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(2);
}

static void parse_addr(const char *s, uint8_t out[16])
{
	if (inet_pton(AF_INET6, s, out) != 1)
		die("bad IPv6 address '%s'", s);
}

static void parse_ll(const char *s, struct nd_lladdr *ll)
{
	unsigned v;
	int n;

	ll->len = 0;
	while (*s && ll->len < ND_LLADDR_MAX) {
		if (sscanf(s, "%2x%n", &v, &n) != 1)
			die("bad link-layer address '%s'", s);
		ll->addr[ll->len++] = (uint8_t)v;
		s += n;
		if (*s == ':')
			s++;
	}
}

static unsigned long num(const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 0);

	if (*end)
		die("bad number '%s'", s);
	return (unsigned long)v;
}

/* ADDR/LEN,L,A,R,VALID,PREFERRED */
static void parse_prefix(char *s, struct nd_prefix *p)
{
	char *f[6];
	int n = 0;

	for (char *t = strtok(s, ","); t && n < 6; t = strtok(NULL, ","))
		f[n++] = t;
	if (n != 6)
		die("prefix needs ADDR/LEN,L,A,R,VALID,PREFERRED: '%s'", s);
	char *slash = strchr(f[0], '/');
	if (!slash)
		die("prefix needs a length: '%s'", f[0]);
	*slash = '\0';
	parse_addr(f[0], p->prefix);
	p->prefix_len = (uint8_t)num(slash + 1);
	p->on_link = num(f[1]);
	p->autonomous = num(f[2]);
	p->router_address = num(f[3]);
	p->valid_lifetime = (uint32_t)num(f[4]);
	p->preferred_lifetime = (uint32_t)num(f[5]);
}

/* ADDR,DIST,PREF,R,VALID */
static void parse_map(char *s, struct nd_map *m)
{
	char *f[5];
	int n = 0;

	for (char *t = strtok(s, ","); t && n < 5; t = strtok(NULL, ","))
		f[n++] = t;
	if (n != 5)
		die("map needs ADDR,DIST,PREF,R,VALID: '%s'", s);
	parse_addr(f[0], m->addr);
	m->dist = (uint8_t)num(f[1]);
	m->pref = (uint8_t)num(f[2]);
	m->rcoa = num(f[3]);
	m->valid_lifetime = (uint32_t)num(f[4]);
}

struct build_args {
	struct nd_ra ra;
	struct nd_rs rs;
	struct nd_ns ns;
	struct nd_na na;
	uint8_t src[16], dst[16];
	bool have_src, have_dst;
};

static void parse_kv(struct build_args *b, char *arg)
{
	char *eq = strchr(arg, '=');

	if (!eq)
		die("expected key=value, got '%s'", arg);
	*eq = '\0';
	const char *k = arg;
	char *v = eq + 1;
	struct nd_ra *ra = &b->ra;

	if (!strcmp(k, "src")) { parse_addr(v, b->src); b->have_src = true; }
	else if (!strcmp(k, "dst")) { parse_addr(v, b->dst); b->have_dst = true; }
	else if (!strcmp(k, "hop")) ra->cur_hop_limit = (uint8_t)num(v);
	else if (!strcmp(k, "M")) ra->managed = num(v);
	else if (!strcmp(k, "O")) { ra->other = num(v); b->na.override = num(v); }
	else if (!strcmp(k, "H")) ra->home_agent = num(v);
	else if (!strcmp(k, "P")) ra->proxy = num(v);
	else if (!strcmp(k, "R")) b->na.router = num(v);
	else if (!strcmp(k, "S")) b->na.solicited = num(v);
	else if (!strcmp(k, "prf")) ra->prf = (uint8_t)num(v);
	else if (!strcmp(k, "lifetime")) ra->router_lifetime = (uint16_t)num(v);
	else if (!strcmp(k, "reachable")) ra->reachable_time = (uint32_t)num(v);
	else if (!strcmp(k, "retrans")) ra->retrans_timer = (uint32_t)num(v);
	else if (!strcmp(k, "slla")) {
		parse_ll(v, &ra->slla);
		ra->has_slla = b->rs.has_slla = b->ns.has_slla = true;
		b->rs.slla = b->ns.slla = ra->slla;
	} else if (!strcmp(k, "tlla")) { parse_ll(v, &b->na.tlla); b->na.has_tlla = true; }
	else if (!strcmp(k, "target")) { parse_addr(v, b->ns.target); memcpy(b->na.target, b->ns.target, 16); }
	else if (!strcmp(k, "mtu")) { ra->has_mtu = true; ra->mtu = (uint32_t)num(v); }
	else if (!strcmp(k, "advint")) { ra->has_adv_interval = true; ra->adv_interval_ms = (uint32_t)num(v); }
	else if (!strcmp(k, "hapref")) { ra->has_ha_info = true; ra->ha_preference = (int16_t)strtol(v, NULL, 0); }
	else if (!strcmp(k, "halife")) { ra->has_ha_info = true; ra->ha_lifetime = (uint16_t)num(v); }
	else if (!strcmp(k, "prefix")) {
		if (ra->n_prefixes >= ND_MAX_PREFIXES)
			die("too many prefixes%s", "");
		parse_prefix(v, &ra->prefixes[ra->n_prefixes++]);
	} else if (!strcmp(k, "map")) {
		if (ra->n_maps >= ND_MAX_MAPS)
			die("too many maps%s", "");
		parse_map(v, &ra->maps[ra->n_maps++]);
	} else
		die("unknown key '%s'", k);
}

static int build(const char *what, int argc, char **argv)
{
	struct build_args b;
	struct wire_error err;
	uint8_t buf[1500];
	size_t len = 0;
	enum wire_err rc = WIRE_ETYPE;

	memset(&b, 0, sizeof(b));
	for (int i = 0; i < argc; i++)
		parse_kv(&b, argv[i]);
	if (!strcmp(what, "build-ra"))
		rc = nd_ra_build(&b.ra, buf, sizeof(buf), &len, &err);
	else if (!strcmp(what, "build-rs"))
		rc = nd_rs_build(&b.rs, buf, sizeof(buf), &len, &err);
	else if (!strcmp(what, "build-ns"))
		rc = nd_ns_build(&b.ns, buf, sizeof(buf), &len, &err);
	else if (!strcmp(what, "build-na"))
		rc = nd_na_build(&b.na, buf, sizeof(buf), &len, &err);
	else
		die("unknown command '%s'", what);
	if (rc != WIRE_OK) {
		fprintf(stderr, "nd_oracle: %s\n", err.msg);
		return 1;
	}
	if (b.have_src && b.have_dst)
		nd_csum_fill(b.src, b.dst, buf, len);
	for (size_t i = 0; i < len; i++)
		printf("%02x", buf[i]);
	putchar('\n');
	return 0;
}

static json_t *addr_json(const uint8_t a[16])
{
	char s[INET6_ADDRSTRLEN];

	return json_string(inet_ntop(AF_INET6, a, s, sizeof(s)));
}

static json_t *ll_json(const struct nd_lladdr *ll)
{
	char s[3 * ND_LLADDR_MAX + 1] = "";

	for (size_t i = 0; i < ll->len; i++)
		sprintf(s + strlen(s), "%s%02x", i ? ":" : "", ll->addr[i]);
	return json_string(s);
}

static json_t *ra_json(const struct nd_ra *ra)
{
	json_t *o = json_pack("{s:i, s:b, s:b, s:b, s:i, s:b, s:i, s:I, s:I, s:i}",
		"cur_hop_limit", ra->cur_hop_limit, "M", ra->managed, "O", ra->other,
		"H", ra->home_agent, "prf", ra->prf, "P", ra->proxy,
		"router_lifetime", ra->router_lifetime,
		"reachable_time", (json_int_t)ra->reachable_time,
		"retrans_timer", (json_int_t)ra->retrans_timer, "unknown_options", (int)ra->n_unknown);
	if (ra->has_slla)
		json_object_set_new(o, "source_link_layer_address", ll_json(&ra->slla));
	if (ra->has_mtu)
		json_object_set_new(o, "mtu", json_integer(ra->mtu));
	if (ra->has_adv_interval)
		json_object_set_new(o, "advertisement_interval", json_integer(ra->adv_interval_ms));
	if (ra->has_ha_info) {
		json_object_set_new(o, "home_agent_preference", json_integer(ra->ha_preference));
		json_object_set_new(o, "home_agent_lifetime", json_integer(ra->ha_lifetime));
	}
	json_t *pa = json_array();
	for (size_t i = 0; i < ra->n_prefixes; i++) {
		const struct nd_prefix *p = &ra->prefixes[i];
		json_array_append_new(pa, json_pack("{s:i, s:b, s:b, s:b, s:I, s:I, s:o}",
			"prefix_length", p->prefix_len, "L", p->on_link, "A", p->autonomous,
			"R", p->router_address, "valid_lifetime", (json_int_t)p->valid_lifetime,
			"preferred_lifetime", (json_int_t)p->preferred_lifetime,
			"prefix", addr_json(p->prefix)));
	}
	json_object_set_new(o, "prefixes", pa);
	json_t *ma = json_array();
	for (size_t i = 0; i < ra->n_maps; i++) {
		const struct nd_map *m = &ra->maps[i];
		json_array_append_new(ma, json_pack("{s:i, s:i, s:b, s:I, s:o}",
			"dist", m->dist, "pref", m->pref, "R", m->rcoa,
			"valid_lifetime", (json_int_t)m->valid_lifetime, "address", addr_json(m->addr)));
	}
	json_object_set_new(o, "maps", ma);
	return o;
}

static int parse(int argc, char **argv)
{
	static char hex[8192];
	uint8_t buf[4096];
	size_t len = 0;
	struct wire_error err = { 0 };
	enum wire_err rc;
	json_t *o;

	if (!fgets(hex, sizeof(hex), stdin))
		die("no input%s", "");
	for (char *p = hex; p[0] && p[1] && p[0] != '\n' && len < sizeof(buf); p += 2) {
		unsigned v;
		if (sscanf(p, "%2x", &v) != 1)
			die("bad hex at '%s'", p);
		buf[len++] = (uint8_t)v;
	}
	uint8_t type = len ? buf[0] : 0;
	if (type == ND_TYPE_RA) {
		struct nd_ra ra;
		rc = nd_ra_parse(buf, len, &ra, &err);
		o = rc == WIRE_OK ? ra_json(&ra) : json_object();
	} else if (type == ND_TYPE_RS) {
		struct nd_rs rs;
		rc = nd_rs_parse(buf, len, &rs, &err);
		o = json_object();
		if (rc == WIRE_OK && rs.has_slla)
			json_object_set_new(o, "source_link_layer_address", ll_json(&rs.slla));
	} else if (type == ND_TYPE_NS) {
		struct nd_ns ns;
		rc = nd_ns_parse(buf, len, &ns, &err);
		o = json_object();
		if (rc == WIRE_OK) {
			json_object_set_new(o, "target", addr_json(ns.target));
			if (ns.has_slla)
				json_object_set_new(o, "source_link_layer_address", ll_json(&ns.slla));
		}
	} else if (type == ND_TYPE_NA) {
		struct nd_na na;
		rc = nd_na_parse(buf, len, &na, &err);
		o = json_object();
		if (rc == WIRE_OK) {
			json_object_set_new(o, "target", addr_json(na.target));
			json_object_set_new(o, "R", json_boolean(na.router));
			json_object_set_new(o, "S", json_boolean(na.solicited));
			json_object_set_new(o, "O", json_boolean(na.override));
			if (na.has_tlla)
				json_object_set_new(o, "target_link_layer_address", ll_json(&na.tlla));
		}
	} else {
		die("not a Neighbor Discovery message%s", "");
		return 2;
	}
	json_object_set_new(o, "type", json_integer(type));
	json_object_set_new(o, "code", json_integer(len > 1 ? buf[1] : 0));
	if (len >= 4)
		json_object_set_new(o, "checksum", json_integer(get_be16(buf + 2)));
	if (rc != WIRE_OK)
		json_object_set_new(o, "error", json_string(err.msg));
	if (argc >= 2) {
		uint8_t src[16], dst[16];
		struct wire_error cerr = { 0 };
		parse_addr(argv[0], src);
		parse_addr(argv[1], dst);
		bool ok = nd_csum_verify(src, dst, buf, len, &cerr) == WIRE_OK;
		json_object_set_new(o, "checksum_ok", json_boolean(ok));
		if (!ok)
			json_object_set_new(o, "checksum_error", json_string(cerr.msg));
	}
	char *s = json_dumps(o, JSON_SORT_KEYS);
	puts(s);
	free(s);
	json_decref(o);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		die("usage: nd_oracle build-ra|build-rs|build-ns|build-na|parse ...%s", "");
	if (!strcmp(argv[1], "parse"))
		return parse(argc - 2, argv + 2);
	return build(argv[1], argc - 2, argv + 2);
}
