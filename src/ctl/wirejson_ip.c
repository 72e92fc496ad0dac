/* IP-layer JSON views: decode (bytes -> JSON) then encode (JSON -> bytes).
 * Every decode step goes through the src/wire/ codec of that layer so the
 * tool shows exactly what the daemons would accept. */
#include "ctl/wirejson_ip.h"

#include <arpa/inet.h>
#include <stdio.h>

#include "ctl/wirejson.h"
#include "ctl/wirejson_util.h"
#include "wire/exthdr.h"
#include "wire/icmp6msg.h"
#include "wire/ipv4.h"
#include "wire/ipv6.h"
#include "wire/udp.h"
#include "wire/udpencap.h"

#define MAX_DEPTH 8		/* tunnels inside tunnels */

/* ---------------------------------------------------------------- decode */

static json_t *ipv6_json(const uint8_t *buf, size_t len, int depth, struct wire_error *err);
static json_t *ipv4_json(const uint8_t *buf, size_t len, int depth, struct wire_error *err);

static json_t *esp_json(const uint8_t *buf, size_t len, struct wire_error *err)
{
	json_t *o;

	if (len < 8) {
		wire_fail(err, WIRE_ETRUNC, len, "esp: %zu bytes, header needs 8", len);
		return NULL;
	}
	o = json_object();
	wj_set_int(o, "spi", get_be32(buf));
	wj_set_int(o, "sequence_number", get_be32(buf + 4));
	wj_set(o, "data", wj_hex(buf + 8, len - 8));
	return o;
}

static json_t *opts_json(const struct ext_opts *o, uint8_t proto)
{
	json_t *h = json_object(), *list = json_array();

	wj_set(h, "header", json_string(proto == PROTO_HOPOPTS ? "hop_by_hop" : "destination_options"));
	wj_set_int(h, "next_header", o->next_header);
	wj_set_int(h, "hdr_ext_len", o->hdr_ext_len);
	for (size_t i = 0; i < o->n; i++) {
		const struct ext_opt *opt = &o->opt[i];
		json_t *j = json_object();

		wj_set_int(j, "type", opt->type);
		if (opt->type != OPT_PAD1)
			wj_set_int(j, "opt_data_len", opt->len);
		if (opt->type == OPT_HAO)
			wj_set(j, "home_address", wj_addr(AF_INET6, opt->data));
		else if (opt->type != OPT_PAD1 && opt->type != OPT_PADN)
			wj_set(j, "data", wj_hex(opt->data, opt->len));
		json_array_append_new(list, j);
	}
	wj_set(h, "options", list);
	return h;
}

static json_t *ext_json(const uint8_t *p, const struct ipv6_ext *x)
{
	struct ext_opts o;
	struct ext_rh rh;
	struct ext_frag f;
	json_t *h;

	/* The walk validated every header already. */
	switch (x->proto) {
	case PROTO_HOPOPTS:
	case PROTO_DSTOPTS:
		ext_opts_parse(p, x->len, x->proto, &o, NULL);
		return opts_json(&o, x->proto);
	case PROTO_ROUTING:
		ext_rh_parse(p, x->len, &rh, NULL);
		h = json_object();
		wj_set(h, "header", json_string("routing"));
		wj_set_int(h, "next_header", rh.next_header);
		wj_set_int(h, "hdr_ext_len", rh.hdr_ext_len);
		wj_set_int(h, "routing_type", rh.routing_type);
		wj_set_int(h, "segments_left", rh.segments_left);
		if (rh.addr) {
			wj_set_int(h, "reserved", rh.reserved);
			wj_set(h, "home_address", wj_addr(AF_INET6, rh.addr));
		} else {
			wj_set(h, "data", wj_hex(rh.data, rh.data_len));
		}
		return h;
	default:
		ext_frag_parse(p, x->len, &f, NULL);
		h = json_object();
		wj_set(h, "header", json_string("fragment"));
		wj_set_int(h, "next_header", f.next_header);
		wj_set_int(h, "reserved", f.reserved);
		wj_set_int(h, "fragment_offset", f.fragment_offset);
		wj_set_int(h, "res", f.res);
		wj_set(h, "m", json_boolean(f.m));
		wj_set_int(h, "identification", f.identification);
		return h;
	}
}

static json_t *pio_json(const uint8_t *opt, size_t olen, struct wire_error *err)
{
	struct nd_pio p;
	json_t *j;

	if (icmp6_pio_parse(opt, olen, &p, err))
		return NULL;
	j = json_object();
	wj_set_int(j, "type", ND_OPT_PREFIX_INFO);
	wj_set_int(j, "length", (json_int_t)(olen / 8));
	wj_set_int(j, "prefix_length", p.prefix_length);
	wj_set(j, "l", json_boolean(p.l));
	wj_set(j, "a", json_boolean(p.a));
	wj_set(j, "r", json_boolean(p.r));
	wj_set_int(j, "reserved1", p.reserved1);
	wj_set_int(j, "valid_lifetime", p.valid_lifetime);
	wj_set_int(j, "preferred_lifetime", p.preferred_lifetime);
	wj_set_int(j, "reserved2", p.reserved2);
	wj_set(j, "prefix", wj_addr(AF_INET6, p.prefix));
	return j;
}

static json_t *icmp6_opts_json(const uint8_t *buf, size_t len, struct wire_error *err)
{
	json_t *list = json_array(), *j;
	size_t off = 0, olen;
	uint8_t type;

	while (icmp6_opt_next(buf, len, &off, &type, &olen, err) == WIRE_OK) {
		const uint8_t *opt = buf + off - olen;

		if (type == ND_OPT_PREFIX_INFO) {
			j = pio_json(opt, olen, err);
			if (!j) {
				json_decref(list);
				return NULL;
			}
		} else {
			j = json_object();
			wj_set_int(j, "type", type);
			wj_set_int(j, "length", (json_int_t)(olen / 8));
			wj_set(j, "data", wj_hex(opt + 2, olen - 2));
		}
		json_array_append_new(list, j);
	}
	return list;
}

static const char *word_name(uint8_t type)
{
	switch (type) {
	case ICMPV6_PACKET_TOO_BIG: return "mtu";
	case ICMPV6_PARAM_PROB: return "pointer";
	default: return "unused";
	}
}

static json_t *icmp6_json(const uint8_t *buf, size_t len, const uint8_t *src,
			  const uint8_t *dst, struct wire_error *err)
{
	struct icmp6_msg m;
	json_t *o, *l;

	if (icmp6_parse(buf, len, src, dst, &m, err))
		return NULL;
	/* Neighbor Discovery (types 133-136) has its own view: wirejson_nd.c */
	if (m.type >= 133 && m.type <= 136)
		return nd_to_json(buf, len, src, dst, err);
	o = json_object();
	wj_set_int(o, "type", m.type);
	wj_set_int(o, "code", m.code);
	wj_set_int(o, "checksum", m.checksum);
	switch (m.type) {
	case ICMPV6_DST_UNREACH:
	case ICMPV6_PACKET_TOO_BIG:
	case ICMPV6_TIME_EXCEEDED:
	case ICMPV6_PARAM_PROB:
		wj_set_int(o, word_name(m.type), m.word);
		wj_set(o, "invoking_packet", wj_hex(m.body, m.body_len));
		break;
	case ICMPV6_ECHO_REQUEST:
	case ICMPV6_ECHO_REPLY:
		wj_set_int(o, "identifier", m.identifier);
		wj_set_int(o, "sequence_number", m.sequence);
		wj_set(o, "data", wj_hex(m.body, m.body_len));
		break;
	case ICMPV6_HAAD_REQUEST:
	case ICMPV6_HAAD_REPLY:
	case ICMPV6_MPS:
		wj_set_int(o, "identifier", m.identifier);
		if (m.type != ICMPV6_MPS)
			wj_set(o, "r", json_boolean(m.r));
		wj_set_int(o, "reserved", m.reserved);
		if (m.type == ICMPV6_HAAD_REPLY) {
			l = json_array();
			for (size_t i = 0; i < m.n_addrs; i++)
				json_array_append_new(l, wj_addr(AF_INET6, m.body + 16 * i));
			wj_set(o, "home_agent_addresses", l);
		} else if (m.body_len) {
			wj_set(o, "data", wj_hex(m.body, m.body_len));
		}
		break;
	case ICMPV6_MPA:
		wj_set_int(o, "identifier", m.identifier);
		wj_set(o, "m", json_boolean(m.m));
		wj_set(o, "o", json_boolean(m.o));
		wj_set_int(o, "reserved", m.reserved);
		l = icmp6_opts_json(m.body, m.body_len, err);
		if (!l) {
			json_decref(o);
			return NULL;
		}
		wj_set(o, "options", l);
		break;
	default:
		wj_set(o, "data", wj_hex(buf + 4, len - 4));
	}
	return o;
}

static json_t *udpencap_json(const uint8_t *buf, size_t len, int depth, struct wire_error *err)
{
	struct udpencap e;
	json_t *o, *t, *in;

	if (udpencap_parse(buf, len, &e, err))
		return NULL;
	o = json_object();
	if (e.tlv) {
		t = json_object();
		wj_set_int(t, "type", e.tlv_type);
		wj_set_int(t, "length", e.tlv_length);
		wj_set_int(t, "reserved", e.tlv_reserved);
		if (e.tlv_length > UDPENCAP_TLV_LEN)
			wj_set(t, "data", wj_hex(buf + UDPENCAP_TLV_LEN,
						e.tlv_length - UDPENCAP_TLV_LEN));
		wj_set(o, "tlv", t);
	}
	switch (e.inner) {
	case PROTO_IPV6:
		in = ipv6_json(e.payload, e.payload_len, depth + 1, err);
		break;
	case PROTO_IPV4:
		in = ipv4_json(e.payload, e.payload_len, depth + 1, err);
		break;
	case PROTO_ESP:
		in = esp_json(e.payload, e.payload_len, err);
		break;
	default:
		wj_set(o, "payload", wj_hex(e.payload, e.payload_len));
		return o;
	}
	if (!in) {
		json_decref(o);
		return NULL;
	}
	wj_set(o, e.inner == PROTO_IPV6 ? "ipv6" : e.inner == PROTO_IPV4 ? "ipv4" : "esp", in);
	return o;
}

static json_t *udp_json(const uint8_t *buf, size_t len, int af, const uint8_t *src,
			const uint8_t *dst, int depth, struct wire_error *err)
{
	struct udp_hdr u;
	json_t *o, *in;

	if (udp_parse(buf, len, af, src, dst, &u, err))
		return NULL;
	o = json_object();
	wj_set_int(o, "source_port", u.source_port);
	wj_set_int(o, "destination_port", u.destination_port);
	wj_set_int(o, "length", u.length);
	wj_set_int(o, "checksum", u.checksum);
	if (u.source_port != MIP6_UDP_PORT && u.destination_port != MIP6_UDP_PORT) {
		wj_set(o, "payload", wj_hex(u.payload, u.payload_len));
	} else {
		in = udpencap_json(u.payload, u.payload_len, depth, err);
		if (!in) {
			json_decref(o);
			return NULL;
		}
		wj_set(o, "udpencap", in);
	}
	/* bytes the IP layer carried beyond the UDP length */
	if (u.length < len)
		wj_set(o, "trailing", wj_hex(buf + u.length, len - u.length));
	return o;
}

/* Adds the upper layer `proto` found in buf[0..len) to o under its key. */
static bool upper_json(json_t *o, uint8_t proto, const uint8_t *buf, size_t len, int af,
		       const uint8_t *src, const uint8_t *dst, int depth, struct wire_error *err)
{
	json_t *in;
	const char *key;

	switch (proto) {
	case PROTO_ICMPV6:
		key = "icmpv6";
		in = icmp6_json(buf, len, af == 6 ? src : NULL, af == 6 ? dst : NULL, err);
		break;
	case PROTO_MH:
		key = "mh";
		in = mh_to_json(buf, len, af == 6 ? src : NULL, af == 6 ? dst : NULL, err);
		break;
	case PROTO_UDP:
		key = "udp";
		in = udp_json(buf, len, af, src, dst, depth, err);
		break;
	case PROTO_IPV6:
		key = "ipv6";
		in = ipv6_json(buf, len, depth + 1, err);
		break;
	case PROTO_IPV4:
		key = "ipv4";
		in = ipv4_json(buf, len, depth + 1, err);
		break;
	case PROTO_ESP:
		key = "esp";
		in = esp_json(buf, len, err);
		break;
	default:
		key = "payload";
		in = wj_hex(buf, len);
	}
	if (!in)
		return false;
	wj_set(o, key, in);
	return true;
}

/* Bytes after a tunnelled packet inside its carrier are shown so that the
 * view stays lossless; after the outermost packet they are link padding. */
static void trailing(json_t *o, const uint8_t *buf, size_t len, size_t used, int depth)
{
	if (depth > 0 && used < len)
		wj_set(o, "trailing", wj_hex(buf + used, len - used));
}

static json_t *ipv6_json(const uint8_t *buf, size_t len, int depth, struct wire_error *err)
{
	struct ipv6_chain c;
	json_t *o, *l;

	if (depth > MAX_DEPTH) {
		wire_fail(err, WIRE_ECOUNT, 0, "ipv6: tunnels nested deeper than %d", MAX_DEPTH);
		return NULL;
	}
	if (ipv6_walk(buf, len, &c, err))
		return NULL;
	o = json_object();
	wj_set_int(o, "version", 6);
	wj_set_int(o, "traffic_class", c.ip.traffic_class);
	wj_set_int(o, "flow_label", c.ip.flow_label);
	wj_set_int(o, "payload_length", c.ip.payload_length);
	wj_set_int(o, "next_header", c.ip.next_header);
	wj_set_int(o, "hop_limit", c.ip.hop_limit);
	wj_set(o, "source_address", wj_addr(AF_INET6, c.ip.src));
	wj_set(o, "destination_address", wj_addr(AF_INET6, c.ip.dst));
	l = json_array();
	for (size_t i = 0; i < c.n; i++)
		json_array_append_new(l, ext_json(buf + c.ext[i].off, &c.ext[i]));
	wj_set(o, "extension_headers", l);
	if (c.fragment) {
		wj_set(o, "payload", wj_hex(buf + c.off, c.len));
	} else if (!upper_json(o, c.proto, buf + c.off, c.len, 6, c.src, c.dst, depth, err)) {
		json_decref(o);
		return NULL;
	}
	trailing(o, buf, len, c.off + c.len, depth);
	return o;
}

static json_t *ipv4_json(const uint8_t *buf, size_t len, int depth, struct wire_error *err)
{
	struct ipv4_hdr h;
	json_t *o;
	size_t hlen;

	if (depth > MAX_DEPTH) {
		wire_fail(err, WIRE_ECOUNT, 0, "ipv4: tunnels nested deeper than %d", MAX_DEPTH);
		return NULL;
	}
	if (ipv4_parse(buf, len, &h, err))
		return NULL;
	hlen = (size_t)h.ihl * 4;
	o = json_object();
	wj_set_int(o, "version", 4);
	wj_set_int(o, "ihl", h.ihl);
	wj_set_int(o, "type_of_service", h.tos);
	wj_set_int(o, "total_length", h.total_length);
	wj_set_int(o, "identification", h.identification);
	wj_set(o, "reserved_flag", json_boolean(h.rf));
	wj_set(o, "df", json_boolean(h.df));
	wj_set(o, "mf", json_boolean(h.mf));
	wj_set_int(o, "fragment_offset", h.fragment_offset);
	wj_set_int(o, "time_to_live", h.ttl);
	wj_set_int(o, "protocol", h.protocol);
	wj_set_int(o, "header_checksum", h.checksum);
	wj_set(o, "source_address", wj_addr(AF_INET, h.src));
	wj_set(o, "destination_address", wj_addr(AF_INET, h.dst));
	wj_set(o, "options", wj_hex(h.options, h.options_len));
	if (ipv4_is_fragment(&h)) {
		wj_set(o, "payload", wj_hex(buf + hlen, h.total_length - hlen));
	} else if (!upper_json(o, h.protocol, buf + hlen, h.total_length - hlen, 4, h.src, h.dst,
			       depth, err)) {
		json_decref(o);
		return NULL;
	}
	trailing(o, buf, len, h.total_length, depth);
	return o;
}

json_t *ip_packet_to_json(enum ip_layer layer, const uint8_t *buf, size_t len,
			  struct wire_error *err)
{
	json_t *in, *o;
	const char *key;

	if (layer == LAYER_AUTO) {
		if (!len) {
			wire_fail(err, WIRE_ETRUNC, 0, "packet: empty");
			return NULL;
		}
		if (buf[0] >> 4 == 6) {
			layer = LAYER_IPV6;
		} else if (buf[0] >> 4 == 4) {
			layer = LAYER_IPV4;
		} else {
			wire_fail(err, WIRE_EVALUE, 0, "packet: IP version %u is neither 4 nor 6",
				  buf[0] >> 4);
			return NULL;
		}
	}
	switch (layer) {
	case LAYER_IPV6:
		key = "ipv6";
		in = ipv6_json(buf, len, 0, err);
		break;
	case LAYER_IPV4:
		key = "ipv4";
		in = ipv4_json(buf, len, 0, err);
		break;
	case LAYER_UDPENCAP:
		key = "udpencap";
		in = udpencap_json(buf, len, 0, err);
		break;
	case LAYER_MH:
		key = "mh";
		in = mh_to_json(buf, len, NULL, NULL, err);
		break;
	default:
		key = "icmpv6";
		in = icmp6_json(buf, len, NULL, NULL, err);
	}
	if (!in)
		return NULL;
	o = json_object();
	wj_set(o, key, in);
	return o;
}

/* ---------------------------------------------------------------- encode */

static bool has(const json_t *o, const char *k)
{
	return json_object_get(o, k) != NULL;
}

/* Reads an optional unsigned field into *v (left alone when absent). */
static bool num(const json_t *o, const char *ctx, const char *k, uint64_t max, uint64_t *v,
		struct wire_error *err)
{
	const json_t *j = json_object_get(o, k);

	if (!j)
		return true;
	if (json_is_boolean(j) && max >= 1) {
		*v = json_is_true(j);
		return true;
	}
	if (!json_is_integer(j) || json_integer_value(j) < 0 ||
	    (uint64_t)json_integer_value(j) > max) {
		wire_fail(err, WIRE_EVALUE, 0, "encode.%s: field %s must be an integer in 0..%llu",
			  ctx, k, (unsigned long long)max);
		return false;
	}
	*v = (uint64_t)json_integer_value(j);
	return true;
}

static bool need(const json_t *o, const char *ctx, const char *k, struct wire_error *err)
{
	if (has(o, k))
		return true;
	wire_fail(err, WIRE_EVALUE, 0, "encode.%s: missing field %s", ctx, k);
	return false;
}

static bool addr(const json_t *o, const char *ctx, const char *k, int af, uint8_t *out,
		 struct wire_error *err)
{
	const char *s = json_string_value(json_object_get(o, k));

	if (!need(o, ctx, k, err))
		return false;
	if (!s || inet_pton(af, s, out) != 1) {
		wire_fail(err, WIRE_EVALUE, 0, "encode.%s: field %s is not an IPv%d address", ctx, k,
			  af == AF_INET ? 4 : 6);
		return false;
	}
	return true;
}

/* Optional hex-string field -> bytes; returns the length or -1. */
static int hexbytes(const json_t *o, const char *ctx, const char *k, uint8_t *buf, size_t size,
		    struct wire_error *err)
{
	const json_t *j = json_object_get(o, k);
	const char *s;
	size_t n;

	if (!j)
		return 0;
	s = json_string_value(j);
	n = s ? strlen(s) : 1;
	if (n % 2) {
		wire_fail(err, WIRE_EVALUE, 0, "encode.%s: field %s must be a hex string", ctx, k);
		return -1;
	}
	if (n / 2 > size) {
		wire_fail(err, WIRE_ESPACE, 0, "encode.%s: field %s does not fit", ctx, k);
		return -1;
	}
	for (size_t i = 0; i < n / 2; i++) {
		int hi = wj_hexval(s[2 * i]), lo = wj_hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			wire_fail(err, WIRE_EVALUE, 0, "encode.%s: field %s must be a hex string",
				  ctx, k);
			return -1;
		}
		buf[i] = (uint8_t)(hi << 4 | lo);
	}
	return (int)(n / 2);
}

static int space(size_t need_, size_t size, const char *ctx, struct wire_error *err)
{
	if (need_ <= size)
		return 0;
	wire_fail(err, WIRE_ESPACE, 0, "encode.%s: packet does not fit in %zu bytes", ctx, size);
	return -1;
}

static int enc_ipv6(const json_t *o, uint8_t *buf, size_t size, int depth, struct wire_error *err);
static int enc_ipv4(const json_t *o, uint8_t *buf, size_t size, int depth, struct wire_error *err);

/* Appends the "trailing" bytes of a view after the n bytes built. */
static int put_trailing(const json_t *o, const char *ctx, uint8_t *buf, size_t size, size_t n,
			struct wire_error *err)
{
	int t = hexbytes(o, ctx, "trailing", buf + n, size - n, err);

	return t < 0 ? -1 : (int)n + t;
}

static int enc_esp(const json_t *o, uint8_t *buf, size_t size, struct wire_error *err)
{
	uint64_t spi = 0, seq = 0;
	int n;

	if (!need(o, "esp", "spi", err) || !num(o, "esp", "spi", 0xffffffffu, &spi, err) ||
	    !num(o, "esp", "sequence_number", 0xffffffffu, &seq, err) || space(8, size, "esp", err))
		return -1;
	put_be32(buf, (uint32_t)spi);
	put_be32(buf + 4, (uint32_t)seq);
	n = hexbytes(o, "esp", "data", buf + 8, size - 8, err);
	return n < 0 ? -1 : 8 + n;
}

static int enc_opt(const json_t *j, const char *ctx, uint8_t *p, size_t size,
		   const uint8_t **hoa, struct wire_error *err)
{
	uint64_t type = 0, olen;
	int n;

	if (!json_is_object(j)) {
		wire_fail(err, WIRE_EVALUE, 0, "encode.%s: option is not an object", ctx);
		return -1;
	}
	if (!need(j, ctx, "type", err) || !num(j, ctx, "type", 255, &type, err))
		return -1;
	if (type == OPT_PAD1) {
		if (space(1, size, ctx, err))
			return -1;
		p[0] = OPT_PAD1;
		return 1;
	}
	if (space(2, size, ctx, err))
		return -1;
	p[0] = (uint8_t)type;
	if (type == OPT_HAO) {
		olen = HAO_LEN;
		if (!num(j, ctx, "opt_data_len", 255, &olen, err) || space(18, size, ctx, err) ||
		    !addr(j, ctx, "home_address", AF_INET6, p + 2, err))
			return -1;
		p[1] = (uint8_t)olen;
		*hoa = p + 2;
		return 18;
	}
	n = hexbytes(j, ctx, "data", p + 2, size - 2, err);
	if (n < 0)
		return -1;
	olen = (uint64_t)n;
	if (!num(j, ctx, "opt_data_len", 255, &olen, err))
		return -1;
	if (type == OPT_PADN && !has(j, "data")) {
		if (space(2 + olen, size, ctx, err))
			return -1;
		memset(p + 2, 0, olen);
		n = (int)olen;
	}
	p[1] = (uint8_t)olen;
	return 2 + n;
}

static int enc_opts(const json_t *h, uint8_t proto, uint8_t *buf, size_t size,
		    const uint8_t **hoa, struct wire_error *err)
{
	const char *ctx = proto == PROTO_HOPOPTS ? "ipv6.hbh" : "ipv6.dstopt";
	const json_t *opts = json_object_get(h, "options"), *j;
	size_t off = 2, i;
	uint64_t hel;
	int n;

	if (space(2, size, ctx, err))
		return -1;
	json_array_foreach(opts, i, j) {
		n = enc_opt(j, ctx, buf + off, size - off, hoa, err);
		if (n < 0)
			return -1;
		off += (size_t)n;
	}
	hel = off / 8 - 1;
	if (!has(h, "hdr_ext_len") && off % 8) {
		wire_fail(err, WIRE_ELEN, 0,
			  "encode.%s: options end at %zu, not a multiple of 8 (add padding)", ctx, off);
		return -1;
	}
	if (!num(h, ctx, "hdr_ext_len", 255, &hel, err))
		return -1;
	buf[1] = (uint8_t)hel;
	return (int)off;
}

static int enc_rh(const json_t *h, uint8_t *buf, size_t size, const uint8_t **rh2,
		  struct wire_error *err)
{
	uint64_t type = 2, sl, hel, res = 0;
	int n;

	if (!num(h, "ipv6.rh", "routing_type", 255, &type, err) || space(4, size, "ipv6.rh", err))
		return -1;
	sl = type == 2;
	if (!num(h, "ipv6.rh", "segments_left", 255, &sl, err))
		return -1;
	buf[2] = (uint8_t)type;
	buf[3] = (uint8_t)sl;
	if (type == 2) {
		hel = 2;
		if (!num(h, "ipv6.rh", "hdr_ext_len", 255, &hel, err) ||
		    !num(h, "ipv6.rh", "reserved", 0xffffffffu, &res, err) ||
		    space(24, size, "ipv6.rh", err) ||
		    !addr(h, "ipv6.rh", "home_address", AF_INET6, buf + 8, err))
			return -1;
		buf[1] = (uint8_t)hel;
		put_be32(buf + 4, (uint32_t)res);
		if (sl)
			*rh2 = buf + 8;
		return 24;
	}
	n = hexbytes(h, "ipv6.rh", "data", buf + 4, size - 4, err);
	if (n < 0)
		return -1;
	hel = (uint64_t)(4 + n) / 8 - 1;
	if (!num(h, "ipv6.rh", "hdr_ext_len", 255, &hel, err))
		return -1;
	buf[1] = (uint8_t)hel;
	return 4 + n;
}

static int enc_frag(const json_t *h, uint8_t *buf, size_t size, struct wire_error *err)
{
	uint64_t res1 = 0, fo = 0, res2 = 0, m = 0, id = 0;
	struct ext_frag f;

	if (!num(h, "ipv6.frag", "reserved", 255, &res1, err) ||
	    !num(h, "ipv6.frag", "fragment_offset", 0x1fff, &fo, err) ||
	    !num(h, "ipv6.frag", "res", 3, &res2, err) || !num(h, "ipv6.frag", "m", 1, &m, err) ||
	    !num(h, "ipv6.frag", "identification", 0xffffffffu, &id, err))
		return -1;
	f = (struct ext_frag){ .next_header = 0, .reserved = (uint8_t)res1,
			       .fragment_offset = (uint16_t)fo, .res = (uint8_t)res2,
			       .m = m, .identification = (uint32_t)id };
	return ext_frag_build(buf, size, &f, err);
}

static uint8_t ext_proto(const json_t *h)
{
	const char *s = json_string_value(json_object_get(h, "header"));

	if (!s)
		return 255;
	if (!strcmp(s, "hop_by_hop"))
		return PROTO_HOPOPTS;
	if (!strcmp(s, "destination_options"))
		return PROTO_DSTOPTS;
	if (!strcmp(s, "routing"))
		return PROTO_ROUTING;
	if (!strcmp(s, "fragment"))
		return PROTO_FRAGMENT;
	return 255;
}

static int enc_pio(const json_t *j, uint8_t *buf, size_t size, struct wire_error *err)
{
	uint64_t v[9] = { 4, 0, 0, 0, 0, 0, 0, 0, 0 };
	static const char *const k[] = { "length", "prefix_length", "l", "a", "r", "reserved1",
					 "valid_lifetime", "preferred_lifetime", "reserved2" };
	static const uint64_t max[] = { 255, 255, 1, 1, 1, 31, 0xffffffffu, 0xffffffffu,
					0xffffffffu };
	uint8_t prefix[16];
	struct nd_pio p;

	for (size_t i = 0; i < 9; i++)
		if (!num(j, "icmpv6.pio", k[i], max[i], &v[i], err))
			return -1;
	if (!addr(j, "icmpv6.pio", "prefix", AF_INET6, prefix, err))
		return -1;
	p = (struct nd_pio){ .prefix_length = (uint8_t)v[1], .l = v[2], .a = v[3], .r = v[4],
			     .reserved1 = (uint8_t)v[5], .valid_lifetime = (uint32_t)v[6],
			     .preferred_lifetime = (uint32_t)v[7], .reserved2 = (uint32_t)v[8],
			     .prefix = prefix };
	if (icmp6_pio_build(buf, size, &p, err) < 0)
		return -1;
	buf[1] = (uint8_t)v[0];
	return ND_OPT_PI_LEN;
}

static int enc_icmp6_opts(const json_t *list, uint8_t *buf, size_t size, struct wire_error *err)
{
	const json_t *j;
	size_t off = 0, i;
	uint64_t type, olen;
	int n;

	json_array_foreach(list, i, j) {
		type = 0;
		if (!need(j, "icmpv6.opt", "type", err) || !num(j, "icmpv6.opt", "type", 255, &type, err))
			return -1;
		if (type == ND_OPT_PREFIX_INFO) {
			n = enc_pio(j, buf + off, size - off, err);
		} else {
			if (space(off + 2, size, "icmpv6.opt", err))
				return -1;
			n = hexbytes(j, "icmpv6.opt", "data", buf + off + 2, size - off - 2, err);
			if (n < 0)
				return -1;
			olen = (uint64_t)(n + 2) / 8;
			if (!has(j, "length") && (n + 2) % 8) {
				wire_fail(err, WIRE_ELEN, 0,
					  "encode.icmpv6.opt: option %u data not a multiple of 8 with its header",
					  (unsigned)type);
				return -1;
			}
			if (!num(j, "icmpv6.opt", "length", 255, &olen, err))
				return -1;
			buf[off] = (uint8_t)type;
			buf[off + 1] = (uint8_t)olen;
			n += 2;
		}
		if (n < 0)
			return -1;
		off += (size_t)n;
	}
	return (int)off;
}

static int enc_icmp6_body(const json_t *o, struct icmp6_msg *m, uint8_t *body, size_t size,
			  struct wire_error *err)
{
	uint64_t v = 0, id = 0, seq = 0, r = 0, res = 0, mf = 0, of = 0;
	const json_t *l, *j;
	size_t i;

	switch (m->type) {
	case ICMPV6_DST_UNREACH:
	case ICMPV6_PACKET_TOO_BIG:
	case ICMPV6_TIME_EXCEEDED:
	case ICMPV6_PARAM_PROB:
		if (!num(o, "icmpv6", word_name(m->type), 0xffffffffu, &v, err))
			return -1;
		m->word = (uint32_t)v;
		return hexbytes(o, "icmpv6", "invoking_packet", body, size, err);
	case ICMPV6_ECHO_REQUEST:
	case ICMPV6_ECHO_REPLY:
		if (!num(o, "icmpv6", "identifier", 0xffff, &id, err) ||
		    !num(o, "icmpv6", "sequence_number", 0xffff, &seq, err))
			return -1;
		m->identifier = (uint16_t)id;
		m->sequence = (uint16_t)seq;
		return hexbytes(o, "icmpv6", "data", body, size, err);
	case ICMPV6_HAAD_REQUEST:
	case ICMPV6_HAAD_REPLY:
	case ICMPV6_MPS:
	case ICMPV6_MPA:
		if (!num(o, "icmpv6", "identifier", 0xffff, &id, err) ||
		    !num(o, "icmpv6", "r", 1, &r, err) || !num(o, "icmpv6", "m", 1, &mf, err) ||
		    !num(o, "icmpv6", "o", 1, &of, err) ||
		    !num(o, "icmpv6", "reserved", 0xffff, &res, err))
			return -1;
		m->identifier = (uint16_t)id;
		m->r = r;
		m->m = mf;
		m->o = of;
		m->reserved = (uint16_t)res;
		if (m->type == ICMPV6_MPA)
			return enc_icmp6_opts(json_object_get(o, "options"), body, size, err);
		if (m->type != ICMPV6_HAAD_REPLY)
			return hexbytes(o, "icmpv6", "data", body, size, err);
		l = json_object_get(o, "home_agent_addresses");
		json_array_foreach(l, i, j) {
			if (space(16 * (i + 1), size, "icmpv6", err))
				return -1;
			if (!json_is_string(j) || inet_pton(AF_INET6, json_string_value(j),
							    body + 16 * i) != 1) {
				wire_fail(err, WIRE_EVALUE, 0,
					  "encode.icmpv6: home_agent_addresses[%zu] is not an IPv6 address",
					  i);
				return -1;
			}
		}
		return (int)(16 * json_array_size(l));
	default:
		return -1;
	}
}

static int enc_icmp6(const json_t *o, uint8_t *buf, size_t size, const uint8_t *src,
		     const uint8_t *dst, struct wire_error *err)
{
	struct icmp6_msg m = { 0 };
	uint64_t type = 0, code = 0, csum = 0;
	int n;

	if (!need(o, "icmpv6", "type", err) || !num(o, "icmpv6", "type", 255, &type, err) ||
	    !num(o, "icmpv6", "code", 255, &code, err) ||
	    !num(o, "icmpv6", "checksum", 0xffff, &csum, err) || space(8, size, "icmpv6", err))
		return -1;
	/* Neighbor Discovery (types 133-136) is built by wirejson_nd.c */
	if (type >= 133 && type <= 136)
		return nd_from_json(o, buf, size, has(o, "checksum") ? NULL : src,
				    has(o, "checksum") ? NULL : dst, err);
	m.type = (uint8_t)type;
	m.code = (uint8_t)code;
	m.checksum = (uint16_t)csum;
	switch (m.type) {
	case ICMPV6_DST_UNREACH: case ICMPV6_PACKET_TOO_BIG: case ICMPV6_TIME_EXCEEDED:
	case ICMPV6_PARAM_PROB: case ICMPV6_ECHO_REQUEST: case ICMPV6_ECHO_REPLY:
	case ICMPV6_HAAD_REQUEST: case ICMPV6_HAAD_REPLY: case ICMPV6_MPS: case ICMPV6_MPA:
		n = enc_icmp6_body(o, &m, buf + 8, size - 8, err);
		break;
	default:
		/* Unknown types carry everything after the checksum as data. */
		n = hexbytes(o, "icmpv6", "data", buf + 4, size - 4, err);
		if (n >= 0 && n < 4) {
			memset(buf + 4 + n, 0, (size_t)(4 - n));
			n = 4;
		}
		if (n >= 0)
			m.word = get_be32(buf + 4);
		n = n < 0 ? -1 : n - 4;
	}
	if (n < 0)
		return -1;
	m.body = buf + 8;
	m.body_len = (size_t)n;
	if (has(o, "checksum"))
		src = dst = NULL;
	return icmp6_build(buf, size, &m, src, dst, err);
}

static int enc_udpencap(const json_t *o, uint8_t *buf, size_t size, int depth,
			struct wire_error *err);

/* Writes the upper layer named in o; *proto gets its protocol number. */
static int enc_upper(const json_t *o, uint8_t *buf, size_t size, int af, const uint8_t *src,
		     const uint8_t *dst, int depth, uint8_t *proto, struct wire_error *err);

static int enc_udp(const json_t *o, uint8_t *buf, size_t size, int af, const uint8_t *src,
		   const uint8_t *dst, int depth, struct wire_error *err)
{
	uint64_t sp = 0, dp = 0, len, csum = 0;
	const json_t *in = json_object_get(o, "udpencap");
	int n;

	if (!need(o, "udp", "source_port", err) || !need(o, "udp", "destination_port", err) ||
	    !num(o, "udp", "source_port", 0xffff, &sp, err) ||
	    !num(o, "udp", "destination_port", 0xffff, &dp, err) ||
	    !num(o, "udp", "checksum", 0xffff, &csum, err) || space(8, size, "udp", err))
		return -1;
	if (in)
		n = enc_udpencap(in, buf + 8, size - 8, depth, err);
	else
		n = hexbytes(o, "udp", "payload", buf + 8, size - 8, err);
	if (n < 0)
		return -1;
	if (udp_build(buf, size, (uint16_t)sp, (uint16_t)dp, (size_t)n,
		      has(o, "checksum") ? 0 : af, src, dst, (uint16_t)csum, err) < 0)
		return -1;
	len = 8 + (uint64_t)n;
	if (!num(o, "udp", "length", 0xffff, &len, err))
		return -1;
	put_be16(buf + 4, (uint16_t)len);
	return put_trailing(o, "udp", buf, size, 8 + (size_t)n, err);
}

static int enc_udpencap(const json_t *o, uint8_t *buf, size_t size, int depth,
			struct wire_error *err)
{
	const json_t *tlv = json_object_get(o, "tlv");
	uint64_t type = 0, tlen = UDPENCAP_TLV_LEN, res = 0;
	uint8_t proto;
	size_t off = 0;
	int n;

	if (tlv) {
		if (!num(tlv, "udpencap.tlv", "length", 255, &tlen, err) ||
		    !num(tlv, "udpencap.tlv", "reserved", 0xffff, &res, err) ||
		    space(tlen > 4 ? tlen : 4, size, "udpencap.tlv", err))
			return -1;
		off = tlen > 4 ? tlen : 4;
		memset(buf, 0, off);
		/* bytes of a longer header than ours, as decode showed them */
		if (hexbytes(tlv, "udpencap.tlv", "data", buf + 4, off - 4, err) < 0)
			return -1;
	}
	n = enc_upper(o, buf + off, size - off, 0, NULL, NULL, depth, &proto, err);
	if (n < 0)
		return -1;
	if (tlv) {
		type = proto == PROTO_ESP ? UDPENCAP_TLV_ESP : UDPENCAP_TLV_IP;
		if (!num(tlv, "udpencap.tlv", "type", 255, &type, err))
			return -1;
		buf[0] = (uint8_t)type;
		buf[1] = (uint8_t)tlen;
		put_be16(buf + 2, (uint16_t)res);
	}
	return (int)off + n;
}

static int enc_upper(const json_t *o, uint8_t *buf, size_t size, int af, const uint8_t *src,
		     const uint8_t *dst, int depth, uint8_t *proto, struct wire_error *err)
{
	const json_t *j;

	if (depth > MAX_DEPTH) {
		wire_fail(err, WIRE_ECOUNT, 0, "encode: tunnels nested deeper than %d", MAX_DEPTH);
		return -1;
	}
	if ((j = json_object_get(o, "icmpv6"))) {
		*proto = PROTO_ICMPV6;
		return enc_icmp6(j, buf, size, af == 6 ? src : NULL, af == 6 ? dst : NULL, err);
	}
	if ((j = json_object_get(o, "mh"))) {
		*proto = PROTO_MH;
		if (has(j, "checksum") || af != 6)
			src = dst = NULL;
		return mh_from_json(j, buf, size, src, dst, err);
	}
	if ((j = json_object_get(o, "udp"))) {
		*proto = PROTO_UDP;
		return enc_udp(j, buf, size, af, src, dst, depth, err);
	}
	if ((j = json_object_get(o, "ipv6"))) {
		*proto = PROTO_IPV6;
		return enc_ipv6(j, buf, size, depth + 1, err);
	}
	if ((j = json_object_get(o, "ipv4"))) {
		*proto = PROTO_IPV4;
		return enc_ipv4(j, buf, size, depth + 1, err);
	}
	if ((j = json_object_get(o, "esp"))) {
		*proto = PROTO_ESP;
		return enc_esp(j, buf, size, err);
	}
	*proto = PROTO_NONE;
	return hexbytes(o, "payload", "payload", buf, size, err);
}

static int enc_ipv6(const json_t *o, uint8_t *buf, size_t size, int depth, struct wire_error *err)
{
	const json_t *exts = json_object_get(o, "extension_headers"), *h;
	uint8_t src[16], dst[16], psrc[16], pdst[16], protos[IPV6_CHAIN_MAX + 1];
	size_t nhpos[IPV6_CHAIN_MAX + 1], off = IPV6_HDR_LEN, n = 0, i;
	uint64_t tc = 0, fl = 0, hl = 64, plen, ver = 6, nh;
	const uint8_t *hoa = NULL, *rh2 = NULL;
	struct ipv6_hdr ip;
	uint8_t uproto;
	int len;

	if (!addr(o, "ipv6", "source_address", AF_INET6, src, err) ||
	    !addr(o, "ipv6", "destination_address", AF_INET6, dst, err) ||
	    !num(o, "ipv6", "version", 15, &ver, err) ||
	    !num(o, "ipv6", "traffic_class", 255, &tc, err) ||
	    !num(o, "ipv6", "flow_label", 0xfffff, &fl, err) ||
	    !num(o, "ipv6", "hop_limit", 255, &hl, err) || space(off, size, "ipv6", err))
		return -1;
	if (json_array_size(exts) > IPV6_CHAIN_MAX) {
		wire_fail(err, WIRE_ECOUNT, 0, "encode.ipv6: more than %d extension headers",
			  IPV6_CHAIN_MAX);
		return -1;
	}
	nhpos[0] = 6;
	json_array_foreach(exts, i, h) {
		protos[i] = ext_proto(h);
		if (space(off + 2, size, "ipv6", err))
			return -1;
		switch (protos[i]) {
		case PROTO_HOPOPTS:
		case PROTO_DSTOPTS:
			len = enc_opts(h, protos[i], buf + off, size - off, &hoa, err);
			break;
		case PROTO_ROUTING:
			len = enc_rh(h, buf + off, size - off, &rh2, err);
			break;
		case PROTO_FRAGMENT:
			len = enc_frag(h, buf + off, size - off, err);
			break;
		default:
			wire_fail(err, WIRE_ETYPE, 0,
				  "encode.ipv6: extension header %zu has no known \"header\"", i);
			return -1;
		}
		if (len < 0)
			return -1;
		nhpos[++n] = off;
		off += (size_t)len;
	}
	memcpy(psrc, hoa ? hoa : src, 16);
	memcpy(pdst, rh2 ? rh2 : dst, 16);
	len = enc_upper(o, buf + off, size - off, 6, psrc, pdst, depth, &uproto, err);
	if (len < 0)
		return -1;
	protos[n] = uproto;
	/* Next Header values not given are those of what follows. */
	for (i = 0; i <= n; i++) {
		const json_t *holder = i ? json_array_get(exts, i - 1) : o;

		nh = protos[i];
		if (!num(holder, "ipv6", "next_header", 255, &nh, err))
			return -1;
		buf[nhpos[i]] = (uint8_t)nh;
	}
	plen = off + (size_t)len - IPV6_HDR_LEN;
	if (plen > 0xffff) {
		wire_fail(err, WIRE_ESPACE, 0, "encode.ipv6: payload of %llu bytes over 65535",
			  (unsigned long long)plen);
		return -1;
	}
	if (!num(o, "ipv6", "payload_length", 0xffff, &plen, err))
		return -1;
	ip = (struct ipv6_hdr){ .traffic_class = (uint8_t)tc, .flow_label = (uint32_t)fl,
				.payload_length = (uint16_t)plen, .next_header = buf[6],
				.hop_limit = (uint8_t)hl, .src = src, .dst = dst };
	if (ipv6_build(buf, size, &ip, err) < 0)
		return -1;
	buf[0] = (uint8_t)(ver << 4 | (buf[0] & 0xf));
	return put_trailing(o, "ipv6", buf, size, off + (size_t)len, err);
}

static int enc_ipv4(const json_t *o, uint8_t *buf, size_t size, int depth, struct wire_error *err)
{
	uint8_t src[4], dst[4], opts[40], uproto;
	uint64_t v[10] = { 0, 0, 0, 0, 0, 0, 64, 0, 0, 4 };
	static const char *const k[] = { "type_of_service", "identification", "reserved_flag", "df",
					 "mf", "fragment_offset", "time_to_live", "protocol",
					 "header_checksum", "version" };
	static const uint64_t max[] = { 255, 0xffff, 1, 1, 1, 0x1fff, 255, 255, 0xffff, 15 };
	uint64_t ihl, tl;
	struct ipv4_hdr h;
	int olen, hlen, len;

	if (!addr(o, "ipv4", "source_address", AF_INET, src, err) ||
	    !addr(o, "ipv4", "destination_address", AF_INET, dst, err))
		return -1;
	for (size_t i = 0; i < 10; i++)
		if (!num(o, "ipv4", k[i], max[i], &v[i], err))
			return -1;
	olen = hexbytes(o, "ipv4", "options", opts, sizeof(opts), err);
	if (olen < 0)
		return -1;
	hlen = IPV4_HDR_LEN + olen;
	if (space((size_t)hlen, size, "ipv4", err))
		return -1;
	len = enc_upper(o, buf + hlen, size - (size_t)hlen, 4, src, dst, depth, &uproto, err);
	if (len < 0)
		return -1;
	if (!has(o, "protocol"))
		v[7] = uproto;
	tl = (uint64_t)hlen + (uint64_t)len;
	if (tl > 0xffff) {
		wire_fail(err, WIRE_ESPACE, 0, "encode.ipv4: packet of %llu bytes over 65535",
			  (unsigned long long)tl);
		return -1;
	}
	if (!num(o, "ipv4", "total_length", 0xffff, &tl, err))
		return -1;
	h = (struct ipv4_hdr){ .tos = (uint8_t)v[0], .total_length = (uint16_t)tl,
			       .identification = (uint16_t)v[1], .rf = v[2], .df = v[3], .mf = v[4],
			       .fragment_offset = (uint16_t)v[5], .ttl = (uint8_t)v[6],
			       .protocol = (uint8_t)v[7], .checksum = (uint16_t)v[8], .src = src,
			       .dst = dst, .options = opts, .options_len = (size_t)olen };
	ihl = (uint64_t)hlen / 4;
	if (!num(o, "ipv4", "ihl", 15, &ihl, err))
		return -1;
	if (has(o, "ihl") || has(o, "version")) {
		/* Deliberately odd headers: write them, then checksum them. */
		if (ipv4_build(buf, size, &h, false, err) < 0)
			return -1;
		buf[0] = (uint8_t)(v[9] << 4 | ihl);
		if (!has(o, "header_checksum")) {
			put_be16(buf + 10, 0);
			put_be16(buf + 10, csum_fold(csum_partial(buf, (size_t)hlen, 0)));
		}
	} else if (ipv4_build(buf, size, &h, !has(o, "header_checksum"), err) < 0) {
		return -1;
	}
	return put_trailing(o, "ipv4", buf, size, (size_t)(hlen + len), err);
}

int ip_packet_from_json(const json_t *obj, uint8_t *buf, size_t size, struct wire_error *err)
{
	const json_t *j;
	uint8_t proto;

	if (!json_is_object(obj)) {
		wire_fail(err, WIRE_EVALUE, 0, "encode: input is not a JSON object");
		return -1;
	}
	if ((j = json_object_get(obj, "udpencap")))
		return enc_udpencap(j, buf, size, 0, err);
	if (json_object_get(obj, "ipv6") || json_object_get(obj, "ipv4") ||
	    json_object_get(obj, "icmpv6") || json_object_get(obj, "mh"))
		return enc_upper(obj, buf, size, 0, NULL, NULL, 0, &proto, err);
	wire_fail(err, WIRE_EVALUE, 0,
		  "encode: object has none of ipv6, ipv4, udpencap, mh, icmpv6");
	return -1;
}
