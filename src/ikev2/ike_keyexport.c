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

int ike_keyexport_ike(const struct ike_sa *sa, char *buf, size_t size)
{
	if (!sa->keyed)
		return -1;
	return ike_decryption_table_record(&sa->suite, sa->spi_i, sa->spi_r, &sa->keys, buf, size);
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
