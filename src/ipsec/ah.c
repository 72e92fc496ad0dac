/* IP Authentication Header (RFC 4302), see ah.h. */
#include "ipsec/ah.h"

#include <string.h>
#include <sys/socket.h>

#include <openssl/crypto.h>

#include "core/stats.h"
#include "wire/ipv6.h"
#include "wire/wire.h"

#define AH_MAX_EXT	16	/* extension headers walked before giving up */

COUNTER_DEFINE(ctr_encap, "mipsec_ah_encap_total", "AH packets built");
COUNTER_DEFINE(ctr_decap, "mipsec_ah_decap_total", "AH packets accepted");
COUNTER_DEFINE(ctr_truncated, "mipsec_ah_truncated_total",
	       "AH packets ending inside the IP header or AH");
COUNTER_DEFINE(ctr_bad_len, "mipsec_ah_bad_length_total",
	       "AH packets with an impossible AH payload length");
COUNTER_DEFINE(ctr_malformed, "mipsec_ah_malformed_total",
	       "AH packets with a bad IP or extension header, on a fragment, or without AH");
COUNTER_DEFINE(ctr_replay, "mipsec_ah_replay_total",
	       "AH packets dropped by the anti-replay window");
COUNTER_DEFINE(ctr_auth, "mipsec_ah_auth_fail_total",
	       "AH packets whose ICV did not verify");
COUNTER_DEFINE(ctr_overflow, "mipsec_ah_seq_overflow_total",
	       "AH packets refused because the sequence space is used up");
COUNTER_DEFINE(ctr_expired, "mipsec_ah_expired_total",
	       "AH packets refused on an SA past its hard lifetime");
COUNTER_DEFINE(ctr_other, "mipsec_ah_other_error_total",
	       "AH packets refused for another reason (SPI, SA, buffer, tunnel payload)");

void ah_stats_register(void)
{
	static int done;
	struct counter *all[] = { &ctr_encap, &ctr_decap, &ctr_truncated, &ctr_bad_len,
				  &ctr_malformed, &ctr_replay, &ctr_auth, &ctr_overflow,
				  &ctr_expired, &ctr_other };

	if (done)
		return;
	done = 1;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		counter_register(all[i]);
}

const char *ah_strerror(enum ah_err e)
{
	switch (e) {
	case AH_OK:			return "ok";
	case AH_ERR_TRUNCATED:		return "AH packet truncated";
	case AH_ERR_BAD_LEN:		return "AH payload length impossible or misaligned (RFC 4302 2.2)";
	case AH_ERR_BAD_IP:		return "malformed IP or extension header";
	case AH_ERR_NOT_AH:		return "no AH after the IP headers";
	case AH_ERR_FRAGMENT:		return "AH on a fragment (RFC 4302 3.4.1)";
	case AH_ERR_HEADERS:		return "headers before AH too long, or a routing header "
					       "whose final form is unknown";
	case AH_ERR_WRONG_SPI:		return "packet SPI does not match the SA";
	case AH_ERR_REPLAY:		return "sequence number replayed or left of the anti-replay window";
	case AH_ERR_AUTH:		return "ICV verification failed";
	case AH_ERR_TUNNEL_NH:		return "tunnel-mode AH does not carry an IPv4 or IPv6 packet";
	case AH_ERR_SPACE:		return "buffer too small for AH";
	case AH_ERR_SEQ_OVERFLOW:	return "sequence number space exhausted, SA must be rekeyed";
	case AH_ERR_EXPIRED:		return "SA past its hard lifetime";
	case AH_ERR_SA:			return "not an AH SA for this direction (or tunnel without addresses)";
	}
	return "unknown AH error";
}

void ah_count_error(struct sa *sa, enum ah_err e)
{
	struct sa_stats *s = sa ? &sa->stats : NULL;
	uint64_t dummy, *v = &dummy;
	struct counter *c;

	switch (e) {
	case AH_OK:
		return;
	case AH_ERR_TRUNCATED:	c = &ctr_truncated; if (s) v = &s->truncated; break;
	case AH_ERR_BAD_LEN:	c = &ctr_bad_len; if (s) v = &s->bad_len; break;
	case AH_ERR_BAD_IP:
	case AH_ERR_NOT_AH:
	case AH_ERR_FRAGMENT:
	case AH_ERR_HEADERS:	c = &ctr_malformed; if (s) v = &s->bad_len; break;
	case AH_ERR_REPLAY:	c = &ctr_replay; if (s) v = &s->replay; break;
	case AH_ERR_AUTH:	c = &ctr_auth; if (s) v = &s->auth_fail; break;
	case AH_ERR_SEQ_OVERFLOW: c = &ctr_overflow; if (s) v = &s->seq_overflow; break;
	case AH_ERR_EXPIRED:	c = &ctr_expired; if (s) v = &s->expired; break;
	default:		c = &ctr_other; break;
	}
	counter_inc(c);
	SA_PUT(*v, *v + 1);	/* the SA's owner thread: one writer */
}

static enum ah_err fail(struct sa *sa, enum ah_err e)
{
	ah_count_error(sa, e);
	return e;
}

/* ---- locating AH ---- */

struct ah_pos {
	int family;
	size_t end;		/* end of the IP packet by its length field */
	size_t off;		/* where AH is (decap) or goes (encap) */
	size_t nh_off;		/* byte holding the next header that is/becomes AH */
};

static bool is_ext(uint8_t nh)
{
	return nh == PROTO_HOPOPTS || nh == PROTO_ROUTING || nh == PROTO_DSTOPTS;
}

static enum ah_err locate_v4(const uint8_t *pkt, size_t len, bool insert, struct ah_pos *p)
{
	size_t hl;

	if (len < 20)
		return AH_ERR_TRUNCATED;
	hl = (size_t)(pkt[0] & 15) * 4;
	p->end = get_be16(pkt + 2);
	if (hl < 20 || p->end < hl)
		return AH_ERR_BAD_IP;
	if (p->end > len)
		return AH_ERR_TRUNCATED;
	if (get_be16(pkt + 6) & 0x3fff)		/* MF or an offset */
		return AH_ERR_FRAGMENT;
	if (!insert && pkt[9] != PROTO_AH)
		return AH_ERR_NOT_AH;
	p->family = AF_INET;
	p->off = hl;
	p->nh_off = 9;
	return AH_OK;
}

/* Encap follows RFC 4302 §3.1.1 as Linux and scapy do: AH after
 * Hop-by-Hop, Routing and Destination Options, except that Destination
 * Options after a Routing header stay behind AH (end-to-end options). */
static enum ah_err locate_v6(const uint8_t *pkt, size_t len, bool insert, struct ah_pos *p)
{
	size_t off = 40, nh_off = 6;
	uint8_t nh;
	bool seen_rh = false;

	if (len < 40)
		return AH_ERR_TRUNCATED;
	p->end = 40 + (size_t)get_be16(pkt + 4);
	if (p->end > len)
		return AH_ERR_TRUNCATED;
	nh = pkt[6];
	for (int n = 0;; n++) {
		size_t hl;

		if (nh == PROTO_FRAGMENT)
			return AH_ERR_FRAGMENT;
		if (!insert && nh == PROTO_AH)
			break;
		if (!is_ext(nh) || (insert && nh == PROTO_DSTOPTS && seen_rh)) {
			if (!insert)
				return AH_ERR_NOT_AH;
			break;
		}
		if (n == AH_MAX_EXT)
			return AH_ERR_BAD_IP;
		if (off + 2 > p->end)
			return AH_ERR_TRUNCATED;
		hl = ((size_t)pkt[off + 1] + 1) * 8;
		if (off + hl > p->end)
			return AH_ERR_TRUNCATED;
		seen_rh |= nh == PROTO_ROUTING;
		nh = pkt[off];
		nh_off = off;
		off += hl;
	}
	p->family = AF_INET6;
	p->off = off;
	p->nh_off = nh_off;
	return AH_OK;
}

static enum ah_err locate(const uint8_t *pkt, size_t len, bool insert, struct ah_pos *p)
{
	if (len < 1)
		return AH_ERR_TRUNCATED;
	if (pkt[0] >> 4 == 4)
		return locate_v4(pkt, len, insert, p);
	if (pkt[0] >> 4 == 6)
		return locate_v6(pkt, len, insert, p);
	return AH_ERR_BAD_IP;
}

enum ah_err ah_find(const uint8_t *pkt, size_t len, size_t *ah_off, uint32_t *spi)
{
	struct ah_pos p;
	enum ah_err e = locate(pkt, len, false, &p);

	if (e)
		return e;
	if (p.off + AH_HDR_LEN > p.end)
		return AH_ERR_TRUNCATED;
	*ah_off = p.off;
	*spi = get_be32(pkt + p.off + 4);
	return AH_OK;
}

/* ---- ICV ---- */

/* RFC 4302 Appendix A.1: options that keep their value in transit, by
 * option number (EOL, NOP, Security, Extended Security, Commercial
 * Security, Router Alert, SDMRP). */
static bool v4_opt_immutable(uint8_t type)
{
	switch (type & 0x1f) {
	case 0: case 1: case 2: case 5: case 6: case 20: case 21:
		return true;
	}
	return false;
}

static enum ah_err zero_v4(uint8_t *pkt)
{
	size_t hl = (size_t)(pkt[0] & 15) * 4, off = 20;

	pkt[1] = 0;			/* TOS (DSCP, ECN) */
	pkt[6] = pkt[7] = 0;		/* flags, fragment offset */
	pkt[8] = 0;			/* TTL */
	pkt[10] = pkt[11] = 0;		/* checksum */
	while (off < hl) {
		uint8_t t = pkt[off], ol;

		if (t == 0)
			break;			/* end of list: the rest is padding */
		if (t == 1) {
			off++;
			continue;
		}
		if (off + 2 > hl || (ol = pkt[off + 1]) < 2 || off + ol > hl)
			return AH_ERR_BAD_IP;
		if (!v4_opt_immutable(t))
			memset(pkt + off, 0, ol);
		off += ol;
	}
	return AH_OK;
}

static void swap16(uint8_t *a, uint8_t *b)
{
	uint8_t t[16];

	memcpy(t, a, 16);
	memcpy(a, b, 16);
	memcpy(b, t, 16);
}

static enum ah_err zero_opts(uint8_t *pkt, size_t off, size_t hl, bool dstopts)
{
	size_t o = off + 2;

	while (o < off + hl) {
		uint8_t t = pkt[o], ol;

		if (t == 0) {			/* Pad1 */
			o++;
			continue;
		}
		if (o + 2 > off + hl || o + 2 + (ol = pkt[o + 1]) > off + hl)
			return AH_ERR_BAD_IP;
		if (t & 0x20)			/* may change en route */
			memset(pkt + o + 2, 0, ol);
		else if (dstopts && t == 201 && ol == 16)
			/* RFC 6275 §6.3: as if the source were the home
			 * address and the option held the care-of address. */
			swap16(pkt + 8, pkt + o + 2);
		o += 2 + (size_t)ol;
	}
	return AH_OK;
}

static enum ah_err zero_v6(uint8_t *pkt, size_t ah_off)
{
	size_t off = 40;
	uint8_t nh = pkt[6];

	pkt[0] &= 0xf0;			/* traffic class and flow label */
	pkt[1] = pkt[2] = pkt[3] = 0;
	pkt[7] = 0;			/* hop limit */
	while (off < ah_off) {
		size_t hl = ((size_t)pkt[off + 1] + 1) * 8;
		enum ah_err e = AH_OK;

		if (nh == PROTO_HOPOPTS || nh == PROTO_DSTOPTS) {
			e = zero_opts(pkt, off, hl, nh == PROTO_DSTOPTS);
		} else if (nh == PROTO_ROUTING && pkt[off + 3]) {
			/* Only type 2 has a final form we know: the home
			 * address as destination, segments left 0. */
			if (pkt[off + 2] != 2 || hl != 24 || pkt[off + 3] != 1)
				return AH_ERR_HEADERS;
			swap16(pkt + 24, pkt + off + 8);
			pkt[off + 3] = 0;
		}
		if (e)
			return e;
		nh = pkt[off];
		off += hl;
	}
	return AH_OK;
}

/* ICV of the packet (pkt[0..end)) whose AH (ah_len bytes) is at ah_off;
 * the packet is unchanged on return. */
static enum ah_err compute_icv(const struct sa *sa, uint8_t *pkt, const struct ah_pos *p,
			       size_t ah_len, uint64_t seq, uint8_t icv[SA_ICV_LEN])
{
	uint8_t save[AH_HDRS_MAX + AH_LEN_V6 + 32], hi[4];
	size_t region = p->off + ah_len;
	enum ah_err e;

	if (region > sizeof(save))
		return AH_ERR_HEADERS;
	memcpy(save, pkt, region);
	memset(pkt + p->off + AH_HDR_LEN, 0, ah_len - AH_HDR_LEN);
	e = p->family == AF_INET ? zero_v4(pkt) : zero_v6(pkt, p->off);
	if (!e) {
		put_be32(hi, (uint32_t)(seq >> 32));
		sa_hmac(sa, pkt, p->end, hi, sa->esn ? 4 : 0, icv);
	}
	memcpy(pkt, save, region);
	return e;
}

static void v4_checksum(uint8_t *pkt)
{
	size_t hl = (size_t)(pkt[0] & 15) * 4;

	pkt[10] = pkt[11] = 0;
	put_be16(pkt + 10, csum_fold(csum_partial(pkt, hl, 0)));
}

/* ---- encap ---- */

size_t ah_overhead(const struct sa *sa, int family)
{
	if (sa->mode == SA_MODE_TUNNEL) {
		family = sa->dst.family;
		return family == AF_INET ? 20 + AH_LEN_V4 : 40 + AH_LEN_V6;
	}
	return family == AF_INET ? AH_LEN_V4 : AH_LEN_V6;
}

static void write_ah(uint8_t *a, size_t ah_len, uint8_t nh, uint32_t spi, uint64_t seq)
{
	a[0] = nh;
	a[1] = (uint8_t)(ah_len / 4 - 2);
	a[2] = a[3] = 0;
	put_be32(a + 4, spi);
	put_be32(a + 8, (uint32_t)seq);
	memset(a + AH_HDR_LEN, 0, ah_len - AH_HDR_LEN);
}

static enum ah_err encap_check(const struct sa *sa)
{
	if (sa->proto != SA_PROTO_AH || sa->dir != SA_DIR_OUT)
		return AH_ERR_SA;
	if (sa->expiry == SA_HARD)
		return AH_ERR_EXPIRED;
	if (sa->seq >= (sa->esn ? UINT64_MAX : UINT32_MAX))
		return AH_ERR_SEQ_OVERFLOW;	/* RFC 4302 3.3.2: never cycle */
	return AH_OK;
}

static enum ah_err encap_transport(struct sa *sa, uint8_t *pkt, size_t len, size_t cap,
				   uint64_t seq, struct ah_pos *p)
{
	enum ah_err e = locate(pkt, len, true, p);
	size_t ah_len;

	if (e)
		return e;
	ah_len = p->family == AF_INET ? AH_LEN_V4 : AH_LEN_V6;
	if (p->off > AH_HDRS_MAX)
		return AH_ERR_HEADERS;
	if (p->end + ah_len > cap || p->end + ah_len > 0xffff + (p->family == AF_INET6 ? 40u : 0u))
		return AH_ERR_SPACE;
	memmove(pkt + p->off + ah_len, pkt + p->off, p->end - p->off);
	write_ah(pkt + p->off, ah_len, pkt[p->nh_off], sa->spi, seq);
	pkt[p->nh_off] = PROTO_AH;
	p->end += ah_len;
	put_be16(pkt + (p->family == AF_INET ? 2 : 4),
		 (uint16_t)(p->family == AF_INET ? p->end : p->end - 40));
	return AH_OK;
}

static enum ah_err encap_tunnel(struct sa *sa, uint8_t *pkt, size_t len, size_t cap,
				uint64_t seq, struct ah_pos *p)
{
	int fam = sa->dst.family;
	size_t oh = fam == AF_INET ? 20 : 40, ah_len = fam == AF_INET ? AH_LEN_V4 : AH_LEN_V6;
	uint8_t inner;

	if ((fam != AF_INET && fam != AF_INET6) || sa->src.family != fam)
		return AH_ERR_SA;
	if (len < 1 || (pkt[0] >> 4 != 4 && pkt[0] >> 4 != 6))
		return AH_ERR_BAD_IP;
	inner = pkt[0] >> 4 == 4 ? PROTO_IPV4 : PROTO_IPV6;
	if (oh + ah_len + len > cap || ah_len + len > 0xffff)
		return AH_ERR_SPACE;
	memmove(pkt + oh + ah_len, pkt, len);
	memset(pkt, 0, oh);
	p->family = fam;
	p->off = oh;
	p->end = oh + ah_len + len;
	if (fam == AF_INET) {
		pkt[0] = 0x45;
		put_be16(pkt + 2, (uint16_t)p->end);
		put_be16(pkt + 4, (uint16_t)seq);	/* identification */
		pkt[8] = 64;
		pkt[9] = PROTO_AH;
		memcpy(pkt + 12, sa->src.bytes, 4);
		memcpy(pkt + 16, sa->dst.bytes, 4);
		p->nh_off = 9;
	} else {
		pkt[0] = 0x60;
		put_be16(pkt + 4, (uint16_t)(p->end - 40));
		pkt[6] = PROTO_AH;
		pkt[7] = 64;
		memcpy(pkt + 8, sa->src.bytes, 16);
		memcpy(pkt + 24, sa->dst.bytes, 16);
		p->nh_off = 6;
	}
	write_ah(pkt + oh, ah_len, inner, sa->spi, seq);
	return AH_OK;
}

enum ah_err ah_encap(struct sa *sa, uint8_t *pkt, size_t len, size_t cap, size_t *out_len)
{
	uint64_t seq = sa->seq + 1;
	uint8_t icv[SA_ICV_LEN];
	struct ah_pos p;
	enum ah_err e;

	e = encap_check(sa);
	if (!e)
		e = sa->mode == SA_MODE_TUNNEL ? encap_tunnel(sa, pkt, len, cap, seq, &p)
					       : encap_transport(sa, pkt, len, cap, seq, &p);
	if (e)
		return fail(sa, e);
	e = compute_icv(sa, pkt, &p, p.family == AF_INET ? AH_LEN_V4 : AH_LEN_V6, seq, icv);
	if (e) {
		/* Only a malformed option or routing header gets here; the
		 * packet now carries AH, so tell the caller to drop it. */
		return fail(sa, e);
	}
	memcpy(pkt + p.off + AH_HDR_LEN, icv, SA_ICV_LEN);
	if (p.family == AF_INET)
		v4_checksum(pkt);
	SA_PUT(sa->seq, seq);
	sa_account(sa, len);
	counter_inc(&ctr_encap);
	*out_len = p.end;
	return AH_OK;
}

/* ---- decap ---- */

enum ah_err ah_decap(struct sa *sa, uint8_t *pkt, size_t len, struct ah_decap_result *r)
{
	uint8_t icv[SA_ICV_LEN], *a;
	struct ah_pos p;
	size_t ah_len;
	uint64_t seq;
	enum ah_err e;

	if (sa->proto != SA_PROTO_AH || sa->dir != SA_DIR_IN)
		return fail(sa, AH_ERR_SA);
	if (sa->expiry == SA_HARD)
		return fail(sa, AH_ERR_EXPIRED);
	e = locate(pkt, len, false, &p);
	if (e)
		return fail(sa, e);
	if (p.off > AH_HDRS_MAX)
		return fail(sa, AH_ERR_HEADERS);
	if (p.off + AH_HDR_LEN > p.end)
		return fail(sa, AH_ERR_TRUNCATED);
	a = pkt + p.off;
	ah_len = ((size_t)a[1] + 2) * 4;
	/* The ICV is 16 bytes; up to 28 more bytes of padding are tolerated. */
	if (ah_len < AH_LEN_V4 || ah_len > AH_LEN_V4 + 28 ||
	    (p.family == AF_INET6 && ah_len % 8))
		return fail(sa, AH_ERR_BAD_LEN);
	if (p.off + ah_len > p.end)
		return fail(sa, AH_ERR_TRUNCATED);
	if (get_be32(a + 4) != sa->spi)
		return fail(sa, AH_ERR_WRONG_SPI);
	if (!sa_replay_infer(sa, get_be32(a + 8), &seq) || !sa_replay_check(sa, seq))
		return fail(sa, AH_ERR_REPLAY);
	e = compute_icv(sa, pkt, &p, ah_len, seq, icv);
	if (e)
		return fail(sa, e);
	if (CRYPTO_memcmp(icv, a + AH_HDR_LEN, SA_ICV_LEN))
		return fail(sa, AH_ERR_AUTH);
	if (sa->mode == SA_MODE_TUNNEL && a[0] != PROTO_IPV4 && a[0] != PROTO_IPV6)
		return fail(sa, AH_ERR_TUNNEL_NH);
	sa_replay_update(sa, seq);
	sa_account(sa, p.end - p.off - ah_len);
	r->next_header = a[0];
	r->seq = seq;
	if (sa->mode == SA_MODE_TUNNEL) {
		r->pkt = a + ah_len;
		r->len = p.end - p.off - ah_len;
	} else {
		pkt[p.nh_off] = a[0];
		if (p.family == AF_INET) {
			put_be16(pkt + 2, (uint16_t)(p.end - ah_len));
			v4_checksum(pkt);
		} else {
			put_be16(pkt + 4, (uint16_t)(p.end - ah_len - 40));
		}
		memmove(pkt + ah_len, pkt, p.off);
		r->pkt = pkt + ah_len;
		r->len = p.end - ah_len;
	}
	counter_inc(&ctr_decap);
	return AH_OK;
}
