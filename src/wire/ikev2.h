/* IKEv2 message codec (RFC 7296 §3; SKF RFC 7383; AUTH method 14
 * RFC 7427). Pure and bounded as every codec in src/wire/ (see wire.h):
 *
 *  - ikev2_parse() checks the IKE header and walks the generic payload
 *    header chain, checking every payload it knows with the per-payload
 *    parser below. The views point into the input.
 *  - ikev2_*_parse() turn one payload of the chain into its view.
 *  - struct ikev2_builder writes a message (or a bare payload chain, the
 *    plaintext of an SK payload) into a caller buffer, fixing up the
 *    Next Payload fields and the lengths as payloads are appended.
 *
 * The SK and SKF payloads are opaque here (IV | ciphertext | ICV): the
 * codec exposes the type of the first inner payload and the body; the
 * decrypted inner chain is parsed with ikev2_chain_parse().
 *
 * Two rejections need a particular answer from the caller (RFC 7296 §2.5,
 * §3.2); ikev2_parse() reports them through msg->notify as well as the
 * return code:
 *  - major version above 2: WIRE_EVALUE, notify = INVALID_MAJOR_VERSION;
 *  - unknown payload type with the Critical bit set: WIRE_ETYPE (the only
 *    path that returns WIRE_ETYPE), notify = UNSUPPORTED_CRITICAL_PAYLOAD
 *    and notify_type = the payload type to put in its data.
 * Unknown payloads without the Critical bit are skipped: they stay in the
 * chain with known = false and are counted in n_unknown. */
#ifndef MIPSEC_WIRE_IKEV2_H
#define MIPSEC_WIRE_IKEV2_H

#include "wire/wire.h"

#define IKEV2_HDR_LEN		28
#define IKEV2_GEN_LEN		4	/* generic payload header */
#define IKEV2_VERSION		0x20	/* 2.0 */
#define IKEV2_PORT		500
#define IKEV2_NATT_PORT		4500	/* RFC 3948 / RFC 7296 §2.23 */

#define IKEV2_MAX_PAYLOADS	32
#define IKEV2_MAX_PROPOSALS	8
#define IKEV2_MAX_TRANSFORMS	64	/* per proposal (strongSwan offers 30+) */
#define IKEV2_MAX_ATTRS		2	/* per transform */
#define IKEV2_MAX_TS		16
#define IKEV2_MAX_CFG_ATTRS	16
#define IKEV2_NONCE_MIN		16
#define IKEV2_NONCE_MAX		256

/* Exchange types (§3.1). */
enum {
	IKEV2_IKE_SA_INIT = 34,
	IKEV2_IKE_AUTH = 35,
	IKEV2_CREATE_CHILD_SA = 36,
	IKEV2_INFORMATIONAL = 37,
};

/* Header flags (§3.1). */
#define IKEV2_FLAG_I	0x08	/* initiator */
#define IKEV2_FLAG_V	0x10	/* higher version possible */
#define IKEV2_FLAG_R	0x20	/* response */
#define IKEV2_FLAGS_KNOWN (IKEV2_FLAG_I | IKEV2_FLAG_V | IKEV2_FLAG_R)

/* Payload types (§3.2, RFC 7383). */
enum {
	IKEV2_PL_NONE = 0,
	IKEV2_PL_SA = 33,
	IKEV2_PL_KE = 34,
	IKEV2_PL_IDI = 35,
	IKEV2_PL_IDR = 36,
	IKEV2_PL_CERT = 37,
	IKEV2_PL_CERTREQ = 38,
	IKEV2_PL_AUTH = 39,
	IKEV2_PL_NONCE = 40,
	IKEV2_PL_NOTIFY = 41,
	IKEV2_PL_DELETE = 42,
	IKEV2_PL_VENDOR = 43,
	IKEV2_PL_TSI = 44,
	IKEV2_PL_TSR = 45,
	IKEV2_PL_SK = 46,
	IKEV2_PL_CP = 47,
	IKEV2_PL_EAP = 48,
	IKEV2_PL_SKF = 53,
};

/* Protocol IDs (§3.3.1). */
enum { IKEV2_PROTO_IKE = 1, IKEV2_PROTO_AH = 2, IKEV2_PROTO_ESP = 3 };

/* Transform types (§3.3.2) and the one attribute (§3.3.5). */
enum {
	IKEV2_XF_ENCR = 1,
	IKEV2_XF_PRF = 2,
	IKEV2_XF_INTEG = 3,
	IKEV2_XF_DH = 4,
	IKEV2_XF_ESN = 5,
};
#define IKEV2_ATTR_KEY_LENGTH	14
#define IKEV2_ATTR_TV		0x8000	/* AF bit: Type/Value format */

/* Identification types (§3.5). */
enum {
	IKEV2_ID_IPV4_ADDR = 1,
	IKEV2_ID_FQDN = 2,
	IKEV2_ID_RFC822_ADDR = 3,
	IKEV2_ID_IPV6_ADDR = 5,
	IKEV2_ID_DER_ASN1_DN = 9,
	IKEV2_ID_DER_ASN1_GN = 10,
	IKEV2_ID_KEY_ID = 11,
};

/* Certificate encodings (§3.6). */
#define IKEV2_CERT_X509_SIG	4

/* Authentication methods (§3.8, RFC 7427). */
enum {
	IKEV2_AUTH_RSA_SIG = 1,
	IKEV2_AUTH_PSK = 2,
	IKEV2_AUTH_DSS = 3,
	IKEV2_AUTH_DIGITAL_SIG = 14,
};

/* Notify message types used by the codec's callers (§3.10.1). */
enum {
	IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD = 1,
	IKEV2_N_INVALID_IKE_SPI = 4,
	IKEV2_N_INVALID_MAJOR_VERSION = 5,
	IKEV2_N_INVALID_SYNTAX = 7,
	IKEV2_N_INVALID_MESSAGE_ID = 9,
	IKEV2_N_INVALID_SPI = 11,
	IKEV2_N_NO_PROPOSAL_CHOSEN = 14,
	IKEV2_N_INVALID_KE_PAYLOAD = 17,
	IKEV2_N_AUTHENTICATION_FAILED = 24,
	IKEV2_N_TS_UNACCEPTABLE = 38,
	IKEV2_N_INITIAL_CONTACT = 16384,
	IKEV2_N_NAT_DETECTION_SOURCE_IP = 16388,
	IKEV2_N_NAT_DETECTION_DESTINATION_IP = 16389,
	IKEV2_N_COOKIE = 16390,
	IKEV2_N_USE_TRANSPORT_MODE = 16391,
	IKEV2_N_REKEY_SA = 16393,
	IKEV2_N_ESP_TFC_PADDING_NOT_SUPPORTED = 16394,
	IKEV2_N_NON_FIRST_FRAGMENTS_ALSO = 16395,
	IKEV2_N_IKEV2_FRAGMENTATION_SUPPORTED = 16430,	/* RFC 7383 */
	IKEV2_N_SIGNATURE_HASH_ALGORITHMS = 16431,	/* RFC 7427 */
};

/* Traffic selector types (§3.13.1). */
#define IKEV2_TS_IPV4_ADDR_RANGE 7
#define IKEV2_TS_IPV6_ADDR_RANGE 8
/* RFC 4877, after RFC 4301 §4.4.1.1: a selector for Mobility Header
 * messages (IP protocol 135) carries the MH type in the most significant
 * octet of the port fields; there is no TS type of its own. */
#define IKEV2_IPPROTO_MH	135
static inline uint16_t ikev2_ts_mh_port(uint8_t mh_type) { return (uint16_t)(mh_type << 8); }

/* Configuration payload (§3.15). */
enum { IKEV2_CFG_REQUEST = 1, IKEV2_CFG_REPLY = 2, IKEV2_CFG_SET = 3, IKEV2_CFG_ACK = 4 };

/* ---- views --------------------------------------------------------------- */

struct ikev2_hdr {
	uint8_t spi_i[8], spi_r[8];
	uint8_t next_payload;
	uint8_t major, minor;
	uint8_t exchange;
	uint8_t flags;		/* all eight bits as received */
	uint32_t message_id;
	uint32_t length;
};

struct ikev2_payload {
	uint8_t type;
	bool critical;
	bool known;		/* a payload type this codec parses */
	uint8_t next;		/* Next Payload field as received */
	size_t offset;		/* of the generic header in the input */
	const uint8_t *body;	/* after the generic header */
	size_t body_len;
};

struct ikev2_chain {
	size_t n;
	struct ikev2_payload pl[IKEV2_MAX_PAYLOADS];
	size_t n_unknown;		/* non-critical payloads skipped */
	/* Set when the chain ends in SK or SKF: that payload, and the type
	 * of the first payload inside it (its Next Payload field). */
	const struct ikev2_payload *sk;
	uint8_t sk_first;
	/* The answer a rejection asks for (0 = none), see the top comment. */
	uint16_t notify;
	uint8_t notify_type;
};

struct ikev2_msg {
	struct ikev2_hdr hdr;
	struct ikev2_chain chain;
};

struct ikev2_attr {
	uint16_t type;		/* without the AF bit */
	bool tv;
	uint16_t value;		/* TV */
	const uint8_t *data;	/* TLV */
	uint16_t len;
};

struct ikev2_transform {
	uint8_t type;
	uint16_t id;
	int key_length;		/* Key Length attribute, -1 when absent */
	uint8_t n_attr;
	struct ikev2_attr attr[IKEV2_MAX_ATTRS];
};

struct ikev2_proposal {
	uint8_t num;
	uint8_t protocol;
	uint8_t spi_size;
	const uint8_t *spi;
	uint8_t n_xf;
	struct ikev2_transform xf[IKEV2_MAX_TRANSFORMS];
};

struct ikev2_sa {
	uint8_t n;
	struct ikev2_proposal prop[IKEV2_MAX_PROPOSALS];
};

struct ikev2_ke {
	uint16_t group;
	const uint8_t *data;
	size_t len;
};

/* IDi, IDr, CERT, CERTREQ, AUTH and V share this shape: a type octet
 * (ID type, certificate encoding, auth method; 0 for V) and data. */
struct ikev2_typed {
	uint8_t type;
	const uint8_t *data;
	size_t len;
};

/* AUTH method 14 (RFC 7427 §3): the AlgorithmIdentifier and signature. */
struct ikev2_digsig {
	const uint8_t *alg;
	size_t alg_len;
	const uint8_t *sig;
	size_t sig_len;
};

struct ikev2_notify {
	uint8_t protocol;
	uint8_t spi_size;
	uint16_t type;
	const uint8_t *spi;
	const uint8_t *data;
	size_t len;
};

struct ikev2_delete {
	uint8_t protocol;
	uint8_t spi_size;
	uint16_t n;
	const uint8_t *spis;	/* n * spi_size octets */
};

struct ikev2_ts {
	uint8_t type;
	uint8_t ip_protocol;
	uint16_t start_port, end_port;
	const uint8_t *start, *end;	/* 4 or 16 octets; NULL for unknown types */
	const uint8_t *data;		/* the whole selector after its header */
	size_t len;			/* selector length */
};

struct ikev2_ts_list {
	uint8_t n;
	struct ikev2_ts ts[IKEV2_MAX_TS];
};

struct ikev2_sk {
	uint8_t first;			/* first inner payload type */
	uint16_t frag_num, frag_total;	/* SKF only; 0 for SK */
	const uint8_t *data;		/* IV | ciphertext | ICV */
	size_t len;
};

struct ikev2_cfg_attr {
	uint16_t type;		/* without the reserved bit */
	const uint8_t *value;
	uint16_t len;
};

struct ikev2_cp {
	uint8_t cfg_type;
	uint8_t n;
	struct ikev2_cfg_attr attr[IKEV2_MAX_CFG_ATTRS];
};

/* ---- parsing ------------------------------------------------------------- */

/* The header, its consistency with len, and the whole chain. */
enum wire_err ikev2_parse(const uint8_t *buf, size_t len, struct ikev2_msg *msg,
			  struct wire_error *err);
/* Only the header (no length-vs-buffer check beyond the 28 octets): what
 * a receiver needs to find the IKE SA before anything else. */
enum wire_err ikev2_hdr_parse(const uint8_t *buf, size_t len, struct ikev2_hdr *h,
			      struct wire_error *err);
/* A chain starting with payload type `first` over buf[0..len), such as the
 * decrypted content of an SK payload; `base` is added to error offsets. */
enum wire_err ikev2_chain_parse(uint8_t first, const uint8_t *buf, size_t len, size_t base,
				struct ikev2_chain *c, struct wire_error *err);
/* First payload of `type` in the chain, or NULL. */
const struct ikev2_payload *ikev2_find(const struct ikev2_chain *c, uint8_t type);

enum wire_err ikev2_sa_parse(const struct ikev2_payload *p, struct ikev2_sa *sa,
			     struct wire_error *err);
enum wire_err ikev2_ke_parse(const struct ikev2_payload *p, struct ikev2_ke *ke,
			     struct wire_error *err);
/* IDi/IDr, CERT, CERTREQ, AUTH, V (see struct ikev2_typed). */
enum wire_err ikev2_typed_parse(const struct ikev2_payload *p, struct ikev2_typed *t,
				struct wire_error *err);
enum wire_err ikev2_digsig_parse(const struct ikev2_typed *auth, size_t offset,
				 struct ikev2_digsig *d, struct wire_error *err);
enum wire_err ikev2_nonce_parse(const struct ikev2_payload *p, const uint8_t **nonce,
				size_t *len, struct wire_error *err);
enum wire_err ikev2_notify_parse(const struct ikev2_payload *p, struct ikev2_notify *n,
				 struct wire_error *err);
enum wire_err ikev2_delete_parse(const struct ikev2_payload *p, struct ikev2_delete *d,
				 struct wire_error *err);
enum wire_err ikev2_ts_parse(const struct ikev2_payload *p, struct ikev2_ts_list *l,
			     struct wire_error *err);
enum wire_err ikev2_sk_parse(const struct ikev2_payload *p, struct ikev2_sk *sk,
			     struct wire_error *err);
enum wire_err ikev2_cp_parse(const struct ikev2_payload *p, struct ikev2_cp *cp,
			     struct wire_error *err);
/* Checks one known payload with its parser (used by the chain walk). */
enum wire_err ikev2_payload_check(const struct ikev2_payload *p, struct wire_error *err);

const char *ikev2_payload_name(uint8_t type);	/* "SA", ... or NULL */

/* ---- building ------------------------------------------------------------ */

/* Errors are sticky: after the first failure every call does nothing and
 * ikev2_build_end() returns -1 with the first error in *err. */
struct ikev2_builder {
	uint8_t *buf;
	size_t size, len;
	bool header;		/* a message (true) or a bare chain */
	size_t np_off;		/* where the next payload's type goes */
	size_t n;		/* payloads appended */
	uint8_t first;		/* type of the first payload appended */
	bool closed;		/* an SK/SKF payload ended the chain */
	enum wire_err status;
	struct wire_error *err;
};

/* Starts a message with header h (next_payload and length are filled in
 * by the builder), or, with h NULL, a bare chain. */
void ikev2_build_begin(struct ikev2_builder *b, uint8_t *buf, size_t size,
		       const struct ikev2_hdr *h, struct wire_error *err);
/* Appends a payload of `type` with body_len octets of body and returns
 * where the body goes (the caller fills it), or NULL. */
uint8_t *ikev2_build_payload(struct ikev2_builder *b, uint8_t type, bool critical,
			     size_t body_len);
/* Same, copying the body. */
void ikev2_add_raw(struct ikev2_builder *b, uint8_t type, bool critical, const uint8_t *body,
		   size_t len);
void ikev2_add_sa(struct ikev2_builder *b, const struct ikev2_sa *sa);
void ikev2_add_ke(struct ikev2_builder *b, uint16_t group, const uint8_t *data, size_t len);
/* IDi/IDr (type = IKEV2_PL_IDI/IDR), CERT, CERTREQ, AUTH: a type octet,
 * three reserved octets for ID and AUTH, then the data. */
void ikev2_add_typed(struct ikev2_builder *b, uint8_t pl_type, uint8_t type,
		     const uint8_t *data, size_t len);
void ikev2_add_nonce(struct ikev2_builder *b, const uint8_t *nonce, size_t len);
void ikev2_add_notify(struct ikev2_builder *b, uint8_t protocol, const uint8_t *spi,
		      uint8_t spi_size, uint16_t type, const uint8_t *data, size_t len);
void ikev2_add_delete(struct ikev2_builder *b, uint8_t protocol, uint8_t spi_size,
		      uint16_t n, const uint8_t *spis);
void ikev2_add_vendor(struct ikev2_builder *b, const uint8_t *vid, size_t len);
/* TSi/TSr (pl_type = IKEV2_PL_TSI/TSR): start/end address of 4 or 16
 * octets per type; unknown types take `data` (len octets) as is. */
void ikev2_add_ts(struct ikev2_builder *b, uint8_t pl_type, const struct ikev2_ts *ts,
		  size_t n);
void ikev2_add_cp(struct ikev2_builder *b, const struct ikev2_cp *cp);
/* SK / SKF: reserves len octets for IV | ciphertext | ICV and returns where
 * they go; sk->data, if non-NULL, is copied there. frag_total 0 = SK. The
 * SK payload must be the last one. */
uint8_t *ikev2_add_sk(struct ikev2_builder *b, const struct ikev2_sk *sk);
/* Finishes: fixes the header length. Returns the length or -1. */
int ikev2_build_end(struct ikev2_builder *b);

#endif
