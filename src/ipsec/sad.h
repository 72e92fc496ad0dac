/* Security Association Database (RFC 4301 4.4.2): SAs keyed by
 * (SPI, direction) in a hash table with O(1) lookup, the inbound entry
 * point of the ESP data plane, and a dump as the `esp_sa` table whose
 * rows carry the keys in the layout of Wireshark's ESP SA table (the
 * `esp_sa` UAT), so that tshark can decrypt our captures:
 *
 *   "IPv6","<src>","<dst>","0x<spi>","<encryption algorithm>","0x<key>",
 *   "<authentication algorithm>","0x<key>"
 *
 * with the algorithm names exactly as Wireshark lists them ("AES-GCM with
 * 16 octet ICV [RFC4106]" whose key is AES key || salt, "AES-CBC
 * [RFC3602]", "HMAC-SHA-256-128 [RFC4868]", "NULL"). Use the record in
 * ~/.config/wireshark/esp_sa (one per line) or on the command line:
 * tshark -o esp.enable_encryption_decode:TRUE -o 'uat:esp_sa:<record>'. */
#ifndef MIPSEC_IPSEC_SAD_H
#define MIPSEC_IPSEC_SAD_H

#include <stdio.h>

#include <jansson.h>

#include "core/table.h"
#include "ipsec/esp.h"
#include "ipsec/sa.h"

struct sad {
	struct sa **buckets;
	size_t nbuckets;	/* power of two */
	size_t count;
	struct table tbl;
};

struct sad *sad_new(void);
/* Frees the SAD and every SA in it. */
void sad_free(struct sad *sad);

/* Adds `sa` (the SAD takes ownership on success). -1 with errno EEXIST
 * when an SA with the same SPI and direction exists. */
int sad_add(struct sad *sad, struct sa *sa);
/* Adds or replaces (the SAD takes ownership of `sa`); the replaced SA, or
 * NULL, is handed back to the caller, who frees it once no packet in
 * flight uses it. Cannot fail: when the table cannot grow, chains get
 * longer. */
struct sa *sad_replace(struct sad *sad, struct sa *sa);
/* Unlinks and frees; false when absent. */
bool sad_delete(struct sad *sad, uint32_t spi, enum sa_dir dir);
struct sa *sad_lookup(const struct sad *sad, uint32_t spi, enum sa_dir dir);
size_t sad_count(const struct sad *sad);
/* Iteration: start with a zeroed iterator; NULL at the end. The SAD must
 * not change during the walk. */
struct sad_iter {
	size_t bucket;
	struct sa *next;
};
struct sa *sad_iter_next(const struct sad *sad, struct sad_iter *it);

/* Inbound path: SPI lookup (ESP_ERR_UNKNOWN_SPI, counted, when absent)
 * then esp_decap(). `*sa_out` is the SA used (NULL when unknown). */
enum esp_err sad_decap(struct sad *sad, uint8_t *pkt, size_t len,
		       struct sa **sa_out, struct esp_decap_result *r);

/* Wireshark names of the SA's algorithms. */
const char *sad_ws_encryption_name(const struct sa *sa);
const char *sad_ws_authentication_name(const struct sa *sa);
/* One esp_sa UAT record (no newline) into buf; returns the length it
 * needs, like snprintf. */
int sad_esp_sa_record(const struct sa *sa, char *buf, size_t len);
/* Writes every SA as one esp_sa line to `f`. Returns 0 or -1. */
int sad_write_esp_sa(const struct sad *sad, FILE *f);
/* Writes the esp_sa file at `path` (mode 0600: it holds keys); NULL means
 * $HOME/.config/wireshark/esp_sa (the directory is created). */
int sad_write_esp_sa_file(const struct sad *sad, const char *path);

json_t *sad_dump(const struct sad *sad);
/* Registers the SAD as table `name` (NULL: "esp_sa"). */
void sad_table_register(struct sad *sad, const char *name);

#endif
