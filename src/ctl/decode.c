/* `mipsecctl decode`: packets as hex lines on stdin, or a classic pcap
 * file, -> one JSON object per packet (wirejson_ip.h). Malformed packets
 * give {"error": "..."}; all packets are still processed and the exit
 * status is 1 if any failed. */
#include "ctl/decode.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/wirejson_ip.h"

#define MAX_PACKET 262144		/* the largest pcap snaplen in use */
#define MAX_PCAP (1u << 30)

struct decode_opts {
	enum ip_layer layer;
	size_t flags;			/* jansson dump flags */
	int failed;
};

static void emit(struct decode_opts *d, json_t *o)
{
	char *s = json_dumps(o, d->flags);

	if (s)
		puts(s);
	free(s);
	json_decref(o);
}

static void emit_error(struct decode_opts *d, const char *msg)
{
	d->failed = 1;
	emit(d, json_pack("{s:s}", "error", msg));
}

static void decode_one(struct decode_opts *d, enum ip_layer layer, const uint8_t *p, size_t len)
{
	struct wire_error err = { 0 };
	json_t *o = ip_packet_to_json(layer, p, len, &err);

	if (!o) {
		emit_error(d, err.msg[0] ? err.msg : wire_strerror(err.code));
		return;
	}
	emit(d, o);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* One line of hex, whitespace ignored, into buf. Returns the length or -1
 * with msg filled in. */
static long parse_hex(const char *s, uint8_t *buf, size_t size, char *msg, size_t msz)
{
	size_t n = 0;
	int hi = -1, v;

	for (; *s; s++) {
		if (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
			continue;
		v = hexval((unsigned char)*s);
		if (v < 0) {
			snprintf(msg, msz, "hex: '%c' is not a hex digit", *s);
			return -1;
		}
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (n == size) {
			snprintf(msg, msz, "hex: packet longer than %zu bytes", size);
			return -1;
		}
		buf[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	if (hi >= 0) {
		snprintf(msg, msz, "hex: odd number of hex digits");
		return -1;
	}
	return (long)n;
}

static void decode_hex(struct decode_opts *d, FILE *in)
{
	static uint8_t buf[MAX_PACKET];
	char *line = NULL, msg[128];
	size_t cap = 0;
	long n;

	while (getline(&line, &cap, in) >= 0) {
		if (strspn(line, " \t\r\n") == strlen(line))
			continue;
		n = parse_hex(line, buf, sizeof(buf), msg, sizeof(msg));
		if (n < 0)
			emit_error(d, msg);
		else
			decode_one(d, d->layer, buf, (size_t)n);
	}
	free(line);
}

/* ------------------------------------------------------------------ pcap */

struct pcap {
	const uint8_t *p;
	size_t len;
	bool swap;
	uint32_t linktype;
};

static uint32_t rd32(const struct pcap *pc, const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return pc->swap ? __builtin_bswap32(v) : v;
}

/* Strips the link header; returns the IP layer or -1 with msg set. */
static int link_strip(const struct pcap *pc, const uint8_t **p, size_t *len, char *msg, size_t msz)
{
	uint16_t et;
	size_t off;

	switch (pc->linktype) {
	case 101:	/* LINKTYPE_RAW */
	case 12:	/* DLT_RAW on some systems */
		return LAYER_AUTO;
	case 228:
		return LAYER_IPV4;
	case 229:
		return LAYER_IPV6;
	case 1:		/* Ethernet, with up to two VLAN tags */
		off = 12;
		for (int tags = 0;; tags++) {
			if (*len < off + 2) {
				snprintf(msg, msz, "pcap.ethernet: frame of %zu bytes truncated", *len);
				return -1;
			}
			et = get_be16(*p + off);
			if ((et != 0x8100 && et != 0x88a8) || tags == 2)
				break;
			off += 4;
		}
		off += 2;
		break;
	case 113:	/* Linux cooked (SLL) */
		if (*len < 16) {
			snprintf(msg, msz, "pcap.sll: header truncated (%zu bytes)", *len);
			return -1;
		}
		et = get_be16(*p + 14);
		off = 16;
		break;
	case 276:	/* Linux cooked v2 */
		if (*len < 20) {
			snprintf(msg, msz, "pcap.sll2: header truncated (%zu bytes)", *len);
			return -1;
		}
		et = get_be16(*p);
		off = 20;
		break;
	default:
		snprintf(msg, msz, "pcap: link type %u not supported", pc->linktype);
		return -1;
	}
	*p += off;
	*len -= off;
	if (et == 0x0800)
		return LAYER_IPV4;
	if (et == 0x86dd)
		return LAYER_IPV6;
	snprintf(msg, msz, "pcap: ethertype 0x%04x is neither IPv4 nor IPv6", et);
	return -1;
}

static int decode_pcap(struct decode_opts *d, const char *path)
{
	struct pcap pc = { 0 };
	uint8_t *file;
	size_t off = 24, n = 0;
	uint32_t magic;
	char msg[128];
	long sz;
	FILE *f = fopen(path, "rb");

	if (!f || fseek(f, 0, SEEK_END) || (sz = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fprintf(stderr, "mipsecctl: decode: %s: %m\n", path);
		if (f)
			fclose(f);
		return 2;
	}
	if ((unsigned long)sz > MAX_PCAP || !(file = malloc((size_t)sz + 1)) ||
	    fread(file, 1, (size_t)sz, f) != (size_t)sz) {
		fprintf(stderr, "mipsecctl: decode: %s: cannot read\n", path);
		fclose(f);
		return 2;
	}
	fclose(f);
	pc.p = file;
	pc.len = (size_t)sz;
	if (pc.len < 24) {
		emit_error(d, "pcap: file header truncated");
		free(file);
		return 1;
	}
	memcpy(&magic, file, 4);
	if (magic == 0xa1b2c3d4 || magic == 0xa1b23c4d) {
		pc.swap = false;
	} else if (magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1) {
		pc.swap = true;
	} else {
		emit_error(d, "pcap: bad magic (not a classic pcap file)");
		free(file);
		return 1;
	}
	pc.linktype = rd32(&pc, file + 20) & 0x0fffffff;
	while (off < pc.len) {
		const uint8_t *p;
		size_t len;
		int layer;

		n++;
		if (pc.len - off < 16) {
			snprintf(msg, sizeof(msg), "pcap: record %zu header truncated", n);
			emit_error(d, msg);
			break;
		}
		len = rd32(&pc, file + off + 8);
		if (len > MAX_PACKET || len > pc.len - off - 16) {
			snprintf(msg, sizeof(msg), "pcap: record %zu length %zu overruns file", n, len);
			emit_error(d, msg);
			break;
		}
		p = file + off + 16;
		off += 16 + len;
		layer = link_strip(&pc, &p, &len, msg, sizeof(msg));
		if (layer < 0)
			emit_error(d, msg);
		else
			decode_one(d, (enum ip_layer)layer, p, len);
	}
	free(file);
	return d->failed;
}

static int parse_layer(const char *s, enum ip_layer *l)
{
	static const struct { const char *name; enum ip_layer l; } map[] = {
		{ "auto", LAYER_AUTO }, { "ipv6", LAYER_IPV6 }, { "ipv4", LAYER_IPV4 },
		{ "udpencap", LAYER_UDPENCAP }, { "mh", LAYER_MH }, { "icmp6", LAYER_ICMP6 },
		{ "icmpv6", LAYER_ICMP6 },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(s, map[i].name)) {
			*l = map[i].l;
			return 0;
		}
	return -1;
}

int decode_command(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pcap", required_argument, NULL, 'r' },
		{ "layer", required_argument, NULL, 'l' },
		{ "pretty", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct decode_opts d = { .layer = LAYER_AUTO, .flags = JSON_COMPACT | JSON_PRESERVE_ORDER };
	const char *pcap = NULL;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "r:l:ph", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			pcap = optarg;
			break;
		case 'l':
			if (parse_layer(optarg, &d.layer)) {
				fprintf(stderr, "mipsecctl: decode: unknown layer '%s'\n", optarg);
				return 2;
			}
			break;
		case 'p':
			d.flags = JSON_INDENT(2) | JSON_PRESERVE_ORDER;
			break;
		default:
			fprintf(stderr,
				"usage: mipsecctl decode [--pcap FILE] [--layer ipv6|ipv4|udpencap|mh|icmp6] [--pretty]\n"
				"  reads one hex packet per line on stdin unless --pcap is given\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (pcap)
		return decode_pcap(&d, pcap);
	decode_hex(&d, stdin);
	return d.failed;
}
