/* Mobility Header (RFC 6275 §6.1) and mobility options (RFC 6275 §6.2,
 * RFC 3963, RFC 5094, RFC 5142, RFC 5555): a zero-copy parsed view and a
 * builder writing into a caller buffer. Follows the conventions of wire.h.
 *
 * Receiving rules chosen here (RFC 6275 §9.2 plus the codec's own):
 *  - the buffer must hold exactly the header: (Header Len + 1) * 8 octets,
 *    no more (WIRE_ETRUNC when shorter, WIRE_ELEN when longer); the caller
 *    slices the Mobility Header out of the IPv6 packet;
 *  - Payload Proto must be 59 (IPPROTO_NONE), else WIRE_EVALUE;
 *  - an MH Type this codec does not know is WIRE_ETYPE (the caller answers
 *    with a Binding Error, status 2);
 *  - Header Len below the fixed part of the type is WIRE_ELEN (RFC 6275
 *    §9.2: discard, ICMP Parameter Problem);
 *  - Reserved fields and unassigned flag bits are kept, never rejected;
 *  - Pad1/PadN are skipped; PadN contents are ignored as RFC 6275 §6.2.2
 *    requires (non-zero contents are kept in the view for exact re-encoding);
 *  - alignment (the "xn+y" rules) is a sender rule: the parser accepts
 *    misaligned options, the builder always aligns;
 *  - options of a known type with a length other than the RFC's are
 *    WIRE_ELEN; an option running past the header is WIRE_ELEN;
 *  - unrecognised options are skipped (RFC 6275 §6.2.1) but listed in the
 *    view with known == false; the codec does not judge which option may
 *    appear in which message, the protocol layer does;
 *  - at most MH_MAX_OPTS options other than padding, else WIRE_ECOUNT;
 *  - the checksum is verified when the caller passes the pseudo-header
 *    addresses (src = home address when a Home Address option is present,
 *    dst = final destination). */
#ifndef MIPSEC_WIRE_MH_H
#define MIPSEC_WIRE_MH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"

#define IPPROTO_MH_NUM		135	/* IANA protocol number of the MH */
#define MH_PROTO_NONE		59	/* Payload Proto, IPPROTO_NONE */
#define MH_MAX_LEN		2048	/* (255 + 1) * 8 */
#define MH_MAX_OPTS		32	/* non-padding options in one view */

enum mh_type {
	MH_BRR = 0,		/* Binding Refresh Request */
	MH_HOTI = 1,		/* Home Test Init */
	MH_COTI = 2,		/* Care-of Test Init */
	MH_HOT = 3,		/* Home Test */
	MH_COT = 4,		/* Care-of Test */
	MH_BU = 5,		/* Binding Update */
	MH_BA = 6,		/* Binding Acknowledgement */
	MH_BE = 7,		/* Binding Error */
	MH_HAS = 12,		/* Home Agent Switch (RFC 5142) */
};

/* Binding Update flags, the 16-bit word after the Sequence # (IANA
 * "Binding Update Flags"); the other bits are reserved and kept as is. */
#define MH_BU_A		0x8000	/* Acknowledge */
#define MH_BU_H		0x4000	/* Home Registration */
#define MH_BU_L		0x2000	/* Link-Local Address Compatibility */
#define MH_BU_K		0x1000	/* Key Management Mobility Capability */
#define MH_BU_M		0x0800	/* MAP Registration (HMIPv6, RFC 5380) */
#define MH_BU_R		0x0400	/* Mobile Router (NEMO, RFC 3963) */
#define MH_BU_P		0x0200	/* Proxy Registration (RFC 5213) */
#define MH_BU_F		0x0100	/* Force UDP encapsulation (RFC 5555) */
#define MH_BU_T		0x0080	/* TLV-header format (IANA registry) */
#define MH_BU_B		0x0040	/* Bulk Binding Update (RFC 6602) */
#define MH_BU_KNOWN	0xffc0

/* Binding Acknowledgement flags, the octet after the Status. */
#define MH_BA_K		0x80
#define MH_BA_R		0x40	/* NEMO, RFC 3963 */
#define MH_BA_P		0x20	/* RFC 5213 */
#define MH_BA_T		0x10	/* TLV-header format */
#define MH_BA_B		0x08	/* RFC 6602 */
#define MH_BA_KNOWN	0xf8

/* Binding Error status (RFC 6275 §6.1.9). */
#define MH_BE_UNKNOWN_HAO	1
#define MH_BE_UNKNOWN_MH	2

enum mh_opt_type {
	MH_OPT_PAD1 = 0,
	MH_OPT_PADN = 1,
	MH_OPT_BRA = 2,		/* Binding Refresh Advice, 2n */
	MH_OPT_ALT_COA = 3,	/* Alternate Care-of Address, 8n+6 */
	MH_OPT_NONCE = 4,	/* Nonce Indices, 2n */
	MH_OPT_AUTH = 5,	/* Binding Authorization Data, 8n+2 */
	MH_OPT_MNP = 6,		/* Mobile Network Prefix (RFC 3963), 8n+4 */
	MH_OPT_VENDOR = 19,	/* Vendor-Specific (RFC 5094), 4n+2 */
	MH_OPT_V4_HOA = 29,	/* IPv4 Home Address (RFC 5555), 4n */
	MH_OPT_V4_ACK = 30,	/* IPv4 Address Acknowledgement (RFC 5555), 4n */
	MH_OPT_NATD = 31,	/* NAT Detection (RFC 5555), 4n */
	MH_OPT_V4_COA = 32,	/* IPv4 Care-of Address (RFC 5555), 4n */
};

#define MH_V4_HOA_P	0x0200	/* IPv4 Home Address: mobile network prefix */
#define MH_NATD_F	0x8000	/* NAT Detection: force UDP encapsulation */

/* Fixed part of each message after the 6-octet common header. Byte
 * strings point into the parsed buffer (or, when building, at the
 * caller's data). */
union mh_body {
	struct { uint16_t reserved; } brr;
	struct { uint16_t reserved; const uint8_t *cookie; } hoti;	/* and CoTI */
	struct {
		uint16_t nonce_index;
		const uint8_t *cookie;			/* 8 octets */
		const uint8_t *token;			/* 8 octets */
	} hot;							/* and CoT */
	struct { uint16_t seq, flags, lifetime; } bu;	/* flags: MH_BU_* + reserved */
	struct { uint8_t status, flags; uint16_t seq, lifetime; } ba;
	struct { uint8_t status, reserved; const uint8_t *home_addr; } be;
	struct { uint8_t n_addrs, reserved; const uint8_t *addrs; } has; /* 16 * n */
};

struct mh_opt {
	uint8_t type;
	uint8_t len;		/* Option Length: octets after type and length */
	bool known;		/* false: unrecognised, skipped (data/len only) */
	uint16_t off;		/* offset of the Option Type in the header */
	const uint8_t *data;	/* the len octets of option data */
	union {
		uint16_t refresh_interval;			/* BRA, 4 s units */
		const uint8_t *alt_coa;
		struct { uint16_t home, care_of; } nonce;
		struct { uint8_t reserved, prefix_len; const uint8_t *prefix; } mnp;
		struct { uint8_t prefix_len; uint16_t flags; const uint8_t *addr; } v4_hoa;
		struct { uint8_t status, prefix_len, reserved; const uint8_t *addr; } v4_ack;
		struct { uint16_t flags; uint32_t refresh_time; } natd;
		struct { uint16_t reserved; const uint8_t *addr; } v4_coa;
		struct { uint32_t vendor_id; uint8_t sub_type; } vendor; /* data+5 */
	} u;
	/* For BAD (authenticator), vendor data and PadN the bytes are in data. */
};

struct mh_msg {
	uint8_t payload_proto;
	uint8_t header_len;
	uint8_t type;
	uint8_t header_reserved;
	uint16_t checksum;
	uint16_t len;		/* whole header, octets */
	uint16_t opt_off;	/* first option octet */
	union mh_body u;
	uint8_t n_opts;		/* non-padding options in opts[] */
	uint8_t n_unknown;	/* of which unrecognised */
	uint16_t pad_octets;	/* Pad1/PadN octets skipped */
	struct mh_opt opts[MH_MAX_OPTS];
};

/* Parses one Mobility Header of exactly len octets. src/dst may be NULL
 * (checksum not verified). */
enum wire_err mh_parse(const uint8_t *buf, size_t len, const uint8_t *src,
		       const uint8_t *dst, struct mh_msg *m, struct wire_error *err);

/* First option of a type in a parsed view, or NULL. */
const struct mh_opt *mh_find_opt(const struct mh_msg *m, uint8_t type);

/* Walks the option area of a header mh_parse accepted, padding included
 * (for views that must show every octet). Returns 1 with *o filled, 0 at
 * the end, -1 on malformed options (never after a successful mh_parse). */
struct mh_opt_iter {
	const uint8_t *buf;
	size_t off, end;
	unsigned idx;
	uint8_t mh_type;
	enum wire_err code;	/* why the walk stopped with -1 */
};
void mh_opt_iter_init(struct mh_opt_iter *it, const uint8_t *buf, size_t len);
int mh_opt_next(struct mh_opt_iter *it, struct mh_opt *o, struct wire_error *err);

/* Fixed octets after the common header for a type (HAS without addresses),
 * or -1 when the type is unknown. */
int mh_body_len(uint8_t type);
/* Lower-case names used in JSON views ("binding_update"), NULL if unknown;
 * short tags for error messages ("bu"). */
const char *mh_type_name(uint8_t type);
const char *mh_type_tag(uint8_t type);
const char *mh_opt_name(uint8_t type);
/* For options carrying a prefix length (MNP, IPv4 HoA, IPv4 Ack): stores it
 * and its largest valid value, and returns true; false for other options. */
bool mh_opt_prefix_len(const struct mh_opt *o, unsigned *plen, unsigned *max);
/* Required option data length for fixed-size options, -1 if variable. */
int mh_opt_fixed_len(uint8_t type);
/* Alignment rule xn+y of an option type (x = 0: none). */
void mh_opt_align(uint8_t type, unsigned *x, unsigned *y);

/* Builder. Usage:
 *	struct mh_builder b;
 *	mh_build_begin(&b, buf, sizeof(buf), MH_BU,
 *		       &(union mh_body){ .bu = { .seq = 7, .flags = MH_BU_A } }, &err);
 *	mh_build_alt_coa(&b, coa);
 *	n = mh_build_finish(&b, src, dst);	// length, or -1 with err
 * Every call after the first error does nothing; finish reports it. */
struct mh_builder {
	uint8_t *buf;
	size_t size;
	size_t len;
	uint8_t type;
	uint8_t payload_proto;	/* 59 unless changed before finish */
	uint8_t header_reserved;
	uint16_t checksum;	/* stored as is when finish gets no addresses */
	enum wire_err code;
	struct wire_error *err;
};

void mh_build_begin(struct mh_builder *b, uint8_t *buf, size_t size, uint8_t type,
		    const union mh_body *body, struct wire_error *err);
/* Adds an option. align: insert Pad1/PadN first to meet its xn+y rule.
 * Known types are encoded from o->u (and o->data/o->len for BAD, PadN and
 * vendor data); unknown types from o->data/o->len. */
void mh_build_opt(struct mh_builder *b, const struct mh_opt *o, bool align);
/* An option laid out as given, no alignment, no checks: also the way to
 * build malformed options for tests. */
void mh_build_raw(struct mh_builder *b, uint8_t type, const uint8_t *data, uint8_t len);
/* Exactly n octets of padding: Pad1 for 1, PadN (zero-filled) for more. */
void mh_build_pad(struct mh_builder *b, size_t n);
void mh_build_bra(struct mh_builder *b, uint16_t refresh_interval);
void mh_build_alt_coa(struct mh_builder *b, const uint8_t addr[16]);
void mh_build_nonce(struct mh_builder *b, uint16_t home, uint16_t care_of);
void mh_build_auth(struct mh_builder *b, const uint8_t *auth, uint8_t len);
void mh_build_mnp(struct mh_builder *b, uint8_t prefix_len, const uint8_t prefix[16]);
void mh_build_v4_hoa(struct mh_builder *b, uint8_t prefix_len, bool p, const uint8_t addr[4]);
void mh_build_v4_ack(struct mh_builder *b, uint8_t status, uint8_t prefix_len,
		     const uint8_t addr[4]);
void mh_build_natd(struct mh_builder *b, bool force, uint32_t refresh_time);
void mh_build_v4_coa(struct mh_builder *b, const uint8_t addr[4]);
void mh_build_vendor(struct mh_builder *b, uint32_t vendor_id, uint8_t sub_type,
		     const uint8_t *data, uint8_t len);
/* Pads to a multiple of 8, sets Header Len and, with both
 * addresses, the checksum. Returns the length or -1. */
int mh_build_finish(struct mh_builder *b, const uint8_t *src, const uint8_t *dst);

/* Checksum over the pseudo-header with the Checksum field taken as zero. */
uint16_t mh_checksum(const uint8_t *mh, size_t len, const uint8_t *src, const uint8_t *dst);

#endif
