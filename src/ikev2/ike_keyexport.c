/* Keys for independent decryption (debugging and the conformance tests):
 * Wireshark's ikev2_decryption_table UAT records of the IKE SAs and the
 * esp_sa records (ipsec/sad.h format) of the CHILD SAs. The files are
 * written with mode 0600: they hold keys. */
#include <stdlib.h>
#include <string.h>

#include "core/keylog.h"
#include "core/log.h"
#include "ikev2/ike_sa.h"
#include "ipsec/sad.h"

int ike_keyexport_ike(const struct ike_sa *sa, char *buf, size_t size)
{
	if (!sa->keyed)
		return -1;
	return ike_decryption_table_record(&sa->suite, sa->spi_i, sa->spi_r, &sa->keys, buf, size);
}

static int esp_record(struct keylog *kl, const struct ike_child *c, bool out)
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
	int rc = 0;

	if (!s)
		return 0;
	if (sad_esp_sa_record(s, line, sizeof(line)) < (int)sizeof(line))
		rc = keylog_add(kl, line);
	sa_free(s);
	return rc;
}

static int export_ike(const struct ike_engine *e, struct keylog *kl)
{
	char line[640];

	for (const struct ike_sa *sa = e->sas; sa; sa = sa->next)
		if (sa->keyed && sa->state != IKE_ST_DEAD &&
		    ike_keyexport_ike(sa, line, sizeof(line)) > 0 && keylog_add(kl, line) < 0)
			return -1;
	return 0;
}

static int export_esp(const struct ike_engine *e, struct keylog *kl)
{
	for (const struct ike_sa *sa = e->sas; sa; sa = sa->next)
		for (const struct ike_child *c = sa->children; c; c = c->next)
			if (esp_record(kl, c, false) < 0 || esp_record(kl, c, true) < 0)
				return -1;
	return 0;
}

static int export_file(const struct ike_engine *e, const char *path, const char *header,
		       int (*fill)(const struct ike_engine *, struct keylog *))
{
	struct keylog *kl = keylog_open(path, header);
	int rc = kl ? fill(e, kl) : -1;

	if (rc < 0)
		log_warn("ike", "cannot write key export '%s'", path);
	keylog_close(kl);
	return rc;
}

int ike_engine_export_keys(const struct ike_engine *e, const char *ikev2_table,
			   const char *esp_sa)
{
	int rc = 0;

	if (ikev2_table && export_file(e, ikev2_table, NULL, export_ike) < 0)
		rc = -1;
	if (esp_sa && export_file(e, esp_sa, SAD_ESP_SA_HEADER, export_esp) < 0)
		rc = -1;
	return rc;
}

/* The `decryption_table` setting: a key log (core/keylog.h), so the
 * records of IKE SAs since rekeyed or deleted stay for their captures. */
void ike_keyexport_auto(struct ike_engine *e)
{
	if (e->cfg->decryption_table[0] &&
	    (keylog_use(&e->dtable_log, e->cfg->decryption_table, NULL) < 0 ||
	     export_ike(e, e->dtable_log) < 0))
		log_warn("ike", "cannot write key export '%s'", e->cfg->decryption_table);
}
