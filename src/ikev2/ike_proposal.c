/* Proposals: strongSwan-style strings, SA payloads built from them, and
 * the choice of one transform of each type (RFC 7296 §2.7, §3.3.6). */
#include <stdio.h>
#include <string.h>

#include "ikev2/ike_sa.h"

struct alg_name {
	const char *name;
	uint8_t type;
	uint16_t id;
	uint16_t keylen;
};

static const struct alg_name algs[] = {
	{ "aes128", IKEV2_XF_ENCR, IKE_ENCR_AES_CBC, 128 },
	{ "aes192", IKEV2_XF_ENCR, IKE_ENCR_AES_CBC, 192 },
	{ "aes256", IKEV2_XF_ENCR, IKE_ENCR_AES_CBC, 256 },
	{ "aes128gcm16", IKEV2_XF_ENCR, IKE_ENCR_AES_GCM_16, 128 },
	{ "aes128gcm", IKEV2_XF_ENCR, IKE_ENCR_AES_GCM_16, 128 },
	{ "aes192gcm16", IKEV2_XF_ENCR, IKE_ENCR_AES_GCM_16, 192 },
	{ "aes256gcm16", IKEV2_XF_ENCR, IKE_ENCR_AES_GCM_16, 256 },
	{ "aes256gcm", IKEV2_XF_ENCR, IKE_ENCR_AES_GCM_16, 256 },
	{ "chacha20poly1305", IKEV2_XF_ENCR, IKE_ENCR_CHACHA20_POLY1305, 0 },
	{ "sha256", IKEV2_XF_INTEG, IKE_INTEG_HMAC_SHA2_256_128, 0 },
	{ "sha2_256", IKEV2_XF_INTEG, IKE_INTEG_HMAC_SHA2_256_128, 0 },
	{ "sha384", IKEV2_XF_INTEG, IKE_INTEG_HMAC_SHA2_384_192, 0 },
	{ "sha512", IKEV2_XF_INTEG, IKE_INTEG_HMAC_SHA2_512_256, 0 },
	{ "prfsha256", IKEV2_XF_PRF, IKE_PRF_HMAC_SHA2_256, 0 },
	{ "prfsha384", IKEV2_XF_PRF, IKE_PRF_HMAC_SHA2_384, 0 },
	{ "prfsha512", IKEV2_XF_PRF, IKE_PRF_HMAC_SHA2_512, 0 },
	{ "modp2048", IKEV2_XF_DH, IKE_DH_MODP2048, 0 },
	{ "ecp256", IKEV2_XF_DH, IKE_DH_ECP256, 0 },
	{ "curve25519", IKEV2_XF_DH, IKE_DH_CURVE25519, 0 },
	{ "x25519", IKEV2_XF_DH, IKE_DH_CURVE25519, 0 },
	{ "esn", IKEV2_XF_ESN, IKE_ESN_YES, 0 },
	{ "noesn", IKEV2_XF_ESN, IKE_ESN_NO, 0 },
};

static bool prop_has(const struct ike_prop *p, uint8_t type, uint16_t id, uint16_t keylen)
{
	for (unsigned i = 0; i < p->n[type]; i++)
		if (p->id[type][i] == id && (type != IKEV2_XF_ENCR || p->keylen[i] == keylen))
			return true;
	return false;
}

static int prop_add(struct ike_prop *p, uint8_t type, uint16_t id, uint16_t keylen)
{
	if (prop_has(p, type, id, keylen))
		return 0;
	if (p->n[type] >= IKE_PROP_ALGS)
		return -1;
	if (type == IKEV2_XF_ENCR)
		p->keylen[p->n[type]] = keylen;
	p->id[type][p->n[type]++] = id;
	return 0;
}

int ike_prop_parse(const char *s, bool esp, struct ike_prop *p, char *err, size_t errlen)
{
	char buf[256], *save = NULL, *tok;
	unsigned aead = 0, plain = 0;

	memset(p, 0, sizeof(*p));
	if (strlen(s) >= sizeof(buf) || !*s) {
		snprintf(err, errlen, "proposal '%s': empty or too long", s);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, "-", &save); tok; tok = strtok_r(NULL, "-", &save)) {
		const struct alg_name *a = NULL;

		for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
			if (!strcmp(algs[i].name, tok))
				a = &algs[i];
		if (!a) {
			snprintf(err, errlen, "proposal '%s': unknown algorithm '%s'", s, tok);
			return -1;
		}
		if (esp && a->type == IKEV2_XF_PRF) {
			snprintf(err, errlen, "proposal '%s': '%s' is not an ESP transform", s, tok);
			return -1;
		}
		if (!esp && a->type == IKEV2_XF_ESN) {
			snprintf(err, errlen, "proposal '%s': '%s' is an ESP transform", s, tok);
			return -1;
		}
		if (a->type == IKEV2_XF_ENCR && ike_encr_is_aead(a->id))
			aead++;
		else if (a->type == IKEV2_XF_ENCR)
			plain++;
		if (prop_add(p, a->type, a->id, a->keylen)) {
			snprintf(err, errlen, "proposal '%s': more than %d algorithms of a kind", s,
				 IKE_PROP_ALGS);
			return -1;
		}
	}
	if (!p->n[IKEV2_XF_ENCR]) {
		snprintf(err, errlen, "proposal '%s': no encryption algorithm", s);
		return -1;
	}
	if (aead && plain) {
		snprintf(err, errlen, "proposal '%s': AEAD and non-AEAD ciphers need separate proposals", s);
		return -1;
	}
	if (aead && p->n[IKEV2_XF_INTEG]) {
		snprintf(err, errlen, "proposal '%s': an AEAD cipher takes no integrity algorithm", s);
		return -1;
	}
	if (plain && !p->n[IKEV2_XF_INTEG]) {
		snprintf(err, errlen, "proposal '%s': '%s' needs an integrity algorithm", s,
			 ike_transform_name(IKEV2_XF_ENCR, p->id[IKEV2_XF_ENCR][0], p->keylen[0]) ?: "cipher");
		return -1;
	}
	if (!esp && !p->n[IKEV2_XF_PRF]) {
		/* strongSwan derives the PRF from the integrity algorithm. */
		for (unsigned i = 0; i < p->n[IKEV2_XF_INTEG]; i++) {
			uint16_t in = p->id[IKEV2_XF_INTEG][i];
			uint16_t prf = in == IKE_INTEG_HMAC_SHA2_256_128 ? IKE_PRF_HMAC_SHA2_256 :
				       in == IKE_INTEG_HMAC_SHA2_384_192 ? IKE_PRF_HMAC_SHA2_384 :
				       IKE_PRF_HMAC_SHA2_512;
			prop_add(p, IKEV2_XF_PRF, prf, 0);
		}
		if (!p->n[IKEV2_XF_PRF]) {
			snprintf(err, errlen, "proposal '%s': needs a PRF (prfsha256, ...)", s);
			return -1;
		}
	}
	if (!esp && !p->n[IKEV2_XF_DH]) {
		snprintf(err, errlen, "proposal '%s': needs a DH group (ecp256, curve25519, modp2048)", s);
		return -1;
	}
	if (esp && !p->n[IKEV2_XF_ESN])
		prop_add(p, IKEV2_XF_ESN, IKE_ESN_NO, 0);
	return 0;
}

uint16_t ike_props_first_dh(const struct ike_props *ps)
{
	for (size_t i = 0; i < ps->n; i++)
		if (ps->p[i].n[IKEV2_XF_DH])
			return ps->p[i].id[IKEV2_XF_DH][0];
	return 0;
}

bool ike_props_has_dh(const struct ike_props *ps, uint16_t group)
{
	for (size_t i = 0; i < ps->n; i++)
		if (prop_has(&ps->p[i], IKEV2_XF_DH, group, 0))
			return true;
	return false;
}

static void xf_set(struct ikev2_transform *x, uint8_t type, uint16_t id, int keylen)
{
	memset(x, 0, sizeof(*x));
	x->type = type;
	x->id = id;
	x->key_length = keylen;
}

static int encr_attr(uint16_t id, uint16_t keylen)
{
	/* ChaCha20 has a fixed key: no Key Length attribute (RFC 7634). */
	return id == IKE_ENCR_CHACHA20_POLY1305 ? -1 : keylen;
}

void ike_props_to_sa(const struct ike_props *ps, uint8_t protocol, const uint8_t *spi,
		     uint8_t spi_size, uint16_t dh_first, bool no_dh, struct ikev2_sa *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < ps->n && out->n < IKEV2_MAX_PROPOSALS; i++) {
		const struct ike_prop *p = &ps->p[i];
		struct ikev2_proposal *pr = &out->prop[out->n];

		pr->num = (uint8_t)(out->n + 1);
		pr->protocol = protocol;
		pr->spi = spi;
		pr->spi_size = spi_size;
		for (uint8_t t = IKEV2_XF_ENCR; t <= IKEV2_XF_ESN; t++) {
			if (t == IKEV2_XF_DH && no_dh)
				continue;
			if (t == IKEV2_XF_DH && dh_first && prop_has(p, t, dh_first, 0))
				xf_set(&pr->xf[pr->n_xf++], t, dh_first, -1);
			for (unsigned k = 0; k < p->n[t] && pr->n_xf < IKEV2_MAX_TRANSFORMS; k++) {
				if (t == IKEV2_XF_DH && p->id[t][k] == dh_first)
					continue;
				xf_set(&pr->xf[pr->n_xf++], t, p->id[t][k],
				       t == IKEV2_XF_ENCR ? encr_attr(p->id[t][k], p->keylen[k]) : -1);
			}
		}
		out->n++;
	}
}

void ike_suite_to_sa(const struct ike_suite *s, uint8_t num, uint8_t protocol,
		     const uint8_t *spi, uint8_t spi_size, struct ikev2_sa *out)
{
	struct ikev2_proposal *pr = &out->prop[0];

	memset(out, 0, sizeof(*out));
	out->n = 1;
	pr->num = num;
	pr->protocol = protocol;
	pr->spi = spi;
	pr->spi_size = spi_size;
	xf_set(&pr->xf[pr->n_xf++], IKEV2_XF_ENCR, s->encr, encr_attr(s->encr, s->encr_keylen));
	if (protocol == IKEV2_PROTO_IKE)
		xf_set(&pr->xf[pr->n_xf++], IKEV2_XF_PRF, s->prf, -1);
	if (s->integ)
		xf_set(&pr->xf[pr->n_xf++], IKEV2_XF_INTEG, s->integ, -1);
	if (s->dh)
		xf_set(&pr->xf[pr->n_xf++], IKEV2_XF_DH, s->dh, -1);
	if (protocol != IKEV2_PROTO_IKE)
		xf_set(&pr->xf[pr->n_xf++], IKEV2_XF_ESN, s->esn ? IKE_ESN_YES : IKE_ESN_NO, -1);
}

static uint16_t xf_keylen(const struct ikev2_transform *x)
{
	if (x->type == IKEV2_XF_ENCR && x->id == IKE_ENCR_CHACHA20_POLY1305)
		return x->key_length < 0 ? 256 : (uint16_t)x->key_length;
	return x->key_length < 0 ? 0 : (uint16_t)x->key_length;
}

/* The first transform of the peer's proposal `pr` of each type that our
 * proposal `p` has. A transform with attributes we do not know makes
 * that transform unusable (§3.3.6). */
static bool match(const struct ike_prop *p, const struct ikev2_proposal *pr, uint8_t protocol,
		  bool need_dh, struct ike_suite *s)
{
	bool got[6] = { false };
	bool aead;

	memset(s, 0, sizeof(*s));
	for (unsigned i = 0; i < pr->n_xf; i++) {
		const struct ikev2_transform *x = &pr->xf[i];
		bool unknown_attr = false;
		uint16_t kl = xf_keylen(x);

		if (x->type < IKEV2_XF_ENCR || x->type > IKEV2_XF_ESN || got[x->type])
			continue;
		for (unsigned a = 0; a < x->n_attr; a++)
			if (x->attr[a].type != IKEV2_ATTR_KEY_LENGTH)
				unknown_attr = true;
		if (unknown_attr)
			continue;
		if (x->type == IKEV2_XF_ENCR) {
			uint16_t want = x->id == IKE_ENCR_CHACHA20_POLY1305 ? 0 : kl;

			if (!prop_has(p, x->type, x->id, want))
				continue;
			s->encr = x->id;
			s->encr_keylen = kl;
		} else {
			if (!prop_has(p, x->type, x->id, 0))
				continue;
			if (x->type == IKEV2_XF_PRF)
				s->prf = x->id;
			else if (x->type == IKEV2_XF_INTEG)
				s->integ = x->id;
			else if (x->type == IKEV2_XF_DH)
				s->dh = x->id;
			else
				s->esn = x->id == IKE_ESN_YES;
		}
		got[x->type] = true;
	}
	if (!got[IKEV2_XF_ENCR])
		return false;
	aead = ike_encr_is_aead(s->encr);
	if (!aead && !got[IKEV2_XF_INTEG])
		return false;
	if (aead && s->integ != IKE_INTEG_NONE)
		return false;
	if (protocol == IKEV2_PROTO_IKE && !got[IKEV2_XF_PRF])
		return false;
	if (need_dh && !got[IKEV2_XF_DH])
		return false;
	/* A peer offering PFS when we want none: choose "none" only if it
	 * offered it; a transform type it offered that we lack fails. */
	for (unsigned i = 0; i < pr->n_xf; i++) {
		uint8_t t = pr->xf[i].type;

		if (t >= IKEV2_XF_ENCR && t <= IKEV2_XF_ESN && !got[t] &&
		    !(t == IKEV2_XF_DH && !need_dh && pr->xf[i].id == IKE_DH_NONE) &&
		    !(t == IKEV2_XF_INTEG && aead && pr->xf[i].id == IKE_INTEG_NONE))
			return false;
	}
	if (protocol != IKEV2_PROTO_IKE && !got[IKEV2_XF_ESN] && p->n[IKEV2_XF_ESN] &&
	    !prop_has(p, IKEV2_XF_ESN, IKE_ESN_NO, 0))
		return false;
	return true;
}

int ike_props_select(const struct ike_props *ours, const struct ikev2_sa *theirs,
		     uint8_t protocol, bool need_dh, struct ike_suite *sel, size_t *prop_idx)
{
	for (size_t i = 0; i < theirs->n; i++) {
		if (theirs->prop[i].protocol != protocol)
			continue;
		for (size_t k = 0; k < ours->n; k++) {
			bool dh = need_dh && ours->p[k].n[IKEV2_XF_DH];

			if (match(&ours->p[k], &theirs->prop[i], protocol, dh, sel)) {
				*prop_idx = i;
				return 0;
			}
		}
	}
	return -1;
}

int ike_props_check_answer(const struct ike_props *ours, const struct ikev2_sa *answer,
			   uint8_t protocol, bool need_dh, struct ike_suite *sel)
{
	const struct ikev2_proposal *pr;
	unsigned count[6] = { 0 };

	if (answer->n != 1)
		return -1;
	pr = &answer->prop[0];
	if (pr->protocol != protocol)
		return -1;
	for (unsigned i = 0; i < pr->n_xf; i++) {
		if (pr->xf[i].type < IKEV2_XF_ENCR || pr->xf[i].type > IKEV2_XF_ESN)
			return -1;
		if (++count[pr->xf[i].type] > 1)
			return -1;	/* an answer has one transform per type */
	}
	for (size_t k = 0; k < ours->n; k++)
		if (match(&ours->p[k], pr, protocol, need_dh && ours->p[k].n[IKEV2_XF_DH], sel))
			return 0;
	return -1;
}

const char *ike_suite_fmt(const struct ike_suite *s, bool ike, char *buf, size_t size)
{
	const char *e = ike_transform_name(IKEV2_XF_ENCR, s->encr, s->encr_keylen);
	const char *p = ike ? ike_transform_name(IKEV2_XF_PRF, s->prf, 0) : NULL;
	const char *i = s->integ ? ike_transform_name(IKEV2_XF_INTEG, s->integ, 0) : NULL;
	const char *d = s->dh ? ike_transform_name(IKEV2_XF_DH, s->dh, 0) : NULL;

	snprintf(buf, size, "%s%s%s%s%s%s%s%s", e ? e : "?", i ? "-" : "", i ? i : "",
		 p ? "-" : "", p ? p : "", d ? "-" : "", d ? d : "",
		 !ike && s->esn ? "-esn" : "");
	return buf;
}
