/* Keys for independent decryption (debugging and the conformance tests):
 * Wireshark's ikev2_decryption_table UAT records of the IKE SAs and the
 * esp_sa records (ipsec/sad.h format) of the CHILD SAs. The files are
 * written with mode 0600: they hold keys. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "ikev2/ike_sa.h"
#include "ipsec/sad.h"

static const char *ws_encr(const struct ike_suite *s)
{
	static char buf[64];

	if (s->encr == IKE_ENCR_AES_GCM_16)
		snprintf(buf, sizeof(buf), "AES-GCM-%u with 16 octet ICV [RFC5282]", s->encr_keylen);
	else if (s->encr == IKE_ENCR_AES_CBC)
		snprintf(buf, sizeof(buf), "AES-CBC-%u [RFC3602]", s->encr_keylen);
	else
		return NULL;	/* Wireshark has no ChaCha20 for IKE */
	return buf;
}

static const char *ws_integ(uint16_t integ)
{
	switch (integ) {
	case IKE_INTEG_NONE:
		return "NONE [RFC4306]";
	case IKE_INTEG_HMAC_SHA2_256_128:
		return "HMAC_SHA2_256_128 [RFC4868]";
	case IKE_INTEG_HMAC_SHA2_384_192:
		return "HMAC_SHA2_384_192 [RFC4868]";
	case IKE_INTEG_HMAC_SHA2_512_256:
		return "HMAC_SHA2_512_256 [RFC4868]";
	default:
		return NULL;
	}
}

static size_t hexs(char *out, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
	return 2 * n;
}

int ike_keyexport_ike(const struct ike_sa *sa, char *buf, size_t size)
{
	const struct ike_keys *k = &sa->keys;
	const char *e = ws_encr(&sa->suite), *i = ws_integ(sa->suite.integ);
	char si[17], sr[17], ei[2 * IKE_KEY_MAX + 1] = "", er[2 * IKE_KEY_MAX + 1] = "";
	char ai[2 * IKE_KEY_MAX + 1] = "", ar[2 * IKE_KEY_MAX + 1] = "";

	if (!e || !i || !sa->keyed)
		return -1;
	si[hexs(si, sa->spi_i, 8)] = 0;
	sr[hexs(sr, sa->spi_r, 8)] = 0;
	ei[hexs(ei, k->sk_ei, k->encr_len)] = 0;
	er[hexs(er, k->sk_er, k->encr_len)] = 0;
	ai[hexs(ai, k->sk_ai, k->integ_len)] = 0;
	ar[hexs(ar, k->sk_ar, k->integ_len)] = 0;
	return snprintf(buf, size, "%s,%s,%s,%s,\"%s\",%s,%s,\"%s\"", si, sr, ei, er, e, ai, ar, i);
}

static FILE *open_secret(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	if (fd >= 0 && !f)
		close(fd);
	if (!f)
		log_warn("ike", "cannot write key export '%s'", path);
	return f;
}

static void esp_record(FILE *f, const struct ike_child *c, bool out)
{
	const struct ike_child_info *in = &c->info;
	struct sa_params p = {
		.spi = out ? in->spi_out : in->spi_in,
		.dir = out ? SA_DIR_OUT : SA_DIR_IN,
		.mode = in->mode,
		.xform = in->xform,
		.esn = in->esn,
		.enc_key = out ? in->enc_out : in->enc_in,
		.enc_key_len = in->enc_key_len,
		.auth_key = in->auth_key_len ? (out ? in->auth_out : in->auth_in) : NULL,
		.auth_key_len = in->auth_key_len,
		.src = out ? in->path.local : in->path.remote,
		.dst = out ? in->path.remote : in->path.local,
	};
	enum sa_new_err err;
	struct sa *s = sa_new(&p, &err);
	char line[512];

	if (!s)
		return;
	if (sad_esp_sa_record(s, line, sizeof(line)) < (int)sizeof(line))
		fprintf(f, "%s\n", line);
	sa_free(s);
}

int ike_engine_export_keys(const struct ike_engine *e, const char *ikev2_table,
			   const char *esp_sa)
{
	FILE *f;
	char line[640];

	if (ikev2_table && (f = open_secret(ikev2_table))) {
		for (const struct ike_sa *sa = e->sas; sa; sa = sa->next)
			if (sa->keyed && sa->state != IKE_ST_DEAD &&
			    ike_keyexport_ike(sa, line, sizeof(line)) > 0)
				fprintf(f, "%s\n", line);
		fclose(f);
	}
	if (esp_sa && (f = open_secret(esp_sa))) {
		for (const struct ike_sa *sa = e->sas; sa; sa = sa->next)
			for (const struct ike_child *c = sa->children; c; c = c->next) {
				esp_record(f, c, false);
				esp_record(f, c, true);
			}
		fclose(f);
	}
	return 0;
}

/* The `decryption_table` setting: rewritten whenever keys change. */
void ike_keyexport_auto(struct ike_engine *e)
{
	if (e->cfg->decryption_table[0])
		ike_engine_export_keys(e, e->cfg->decryption_table, NULL);
}
