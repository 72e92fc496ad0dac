/* Security Association Database, see sad.h. */
#include "ipsec/sad.h"
#include "core/keylog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SAD_MIN_BUCKETS 64

static size_t bucket_of(const struct sad *sad, uint32_t spi, enum sa_dir dir)
{
	/* SPIs are random (RFC 4303 2.1), a multiplicative mix suffices. */
	uint64_t h = ((uint64_t)spi << 1 | (dir == SA_DIR_OUT)) * 0x9e3779b97f4a7c15ull;

	return (size_t)(h >> 32) & (sad->nbuckets - 1);
}

struct sad *sad_new(void)
{
	struct sad *sad = calloc(1, sizeof(*sad));

	if (!sad)
		return NULL;
	sad->nbuckets = SAD_MIN_BUCKETS;
	sad->buckets = calloc(sad->nbuckets, sizeof(*sad->buckets));
	if (!sad->buckets) {
		free(sad);
		return NULL;
	}
	esp_stats_register();
	return sad;
}

void sad_free(struct sad *sad)
{
	if (!sad)
		return;
	if (sad->tbl.name)
		table_unregister(&sad->tbl);
	for (size_t i = 0; i < sad->nbuckets; i++) {
		struct sa *sa = sad->buckets[i], *n;

		for (; sa; sa = n) {
			n = sa->hnext;
			sa_free(sa);
		}
	}
	free(sad->buckets);
	free(sad);
}

struct sa *sad_lookup(const struct sad *sad, uint32_t spi, enum sa_dir dir)
{
	struct sa *sa = sad->buckets[bucket_of(sad, spi, dir)];

	while (sa && (sa->spi != spi || sa->dir != dir))
		sa = sa->hnext;
	return sa;
}

size_t sad_count(const struct sad *sad)
{
	return sad->count;
}

/* Doubles the table when the load passes 1 so that chains stay short. */
static int grow(struct sad *sad)
{
	size_t old_n = sad->nbuckets;
	struct sa **old = sad->buckets, **nb;

	nb = calloc(old_n * 2, sizeof(*nb));
	if (!nb)
		return -1;
	sad->buckets = nb;
	sad->nbuckets = old_n * 2;
	for (size_t i = 0; i < old_n; i++) {
		struct sa *sa = old[i], *n;

		for (; sa; sa = n) {
			size_t b = bucket_of(sad, sa->spi, sa->dir);

			n = sa->hnext;
			sa->hnext = nb[b];
			nb[b] = sa;
		}
	}
	free(old);
	return 0;
}

static struct sa **slot_of(struct sad *sad, uint32_t spi, enum sa_dir dir)
{
	struct sa **pp = &sad->buckets[bucket_of(sad, spi, dir)];

	while (*pp && ((*pp)->spi != spi || (*pp)->dir != dir))
		pp = &(*pp)->hnext;
	return pp;
}

struct sa *sad_replace(struct sad *sad, struct sa *sa)
{
	struct sa **pp = slot_of(sad, sa->spi, sa->dir), *old = *pp;

	if (old) {
		sa->hnext = old->hnext;
		*pp = sa;
		old->hnext = NULL;
		return old;
	}
	/* A failed growth only leaves chains longer; the add still works. */
	if (sad->count + 1 > sad->nbuckets)
		(void)grow(sad);
	pp = &sad->buckets[bucket_of(sad, sa->spi, sa->dir)];
	sa->hnext = *pp;
	*pp = sa;
	sad->count++;
	return NULL;
}

int sad_add(struct sad *sad, struct sa *sa)
{
	if (sad_lookup(sad, sa->spi, sa->dir)) {
		errno = EEXIST;
		return -1;
	}
	sad_replace(sad, sa);
	return 0;
}

bool sad_delete(struct sad *sad, uint32_t spi, enum sa_dir dir)
{
	struct sa **pp = slot_of(sad, spi, dir), *sa = *pp;

	if (!sa)
		return false;
	*pp = sa->hnext;
	sad->count--;
	sa_free(sa);
	return true;
}

struct sa *sad_iter_next(const struct sad *sad, struct sad_iter *it)
{
	struct sa *sa = it->next;

	while (!sa && it->bucket < sad->nbuckets)
		sa = sad->buckets[it->bucket++];
	if (sa)
		it->next = sa->hnext;
	return sa;
}

enum esp_err sad_decap(struct sad *sad, uint8_t *pkt, size_t len,
		       struct sa **sa_out, struct esp_decap_result *r)
{
	struct sa *sa;

	*sa_out = NULL;
	if (len < ESP_HDR_LEN) {
		esp_count_error(NULL, ESP_ERR_TRUNCATED);
		return ESP_ERR_TRUNCATED;
	}
	sa = sad_lookup(sad, esp_spi(pkt, len), SA_DIR_IN);
	if (!sa) {
		esp_count_error(NULL, ESP_ERR_UNKNOWN_SPI);
		return ESP_ERR_UNKNOWN_SPI;
	}
	*sa_out = sa;
	return esp_decap(sa, pkt, len, r);
}

/* ---- Wireshark esp_sa export ---- */

const char *sad_ws_encryption_name(const struct sa *sa)
{
	switch (sa->xform) {
	case ESP_XFORM_AES_GCM_16:
		return "AES-GCM with 16 octet ICV [RFC4106]";
	case ESP_XFORM_CHACHA20_POLY1305:
		/* Wireshark 4.0 has no ChaCha20 for ESP; later versions
		 * list it under this name. */
		return "ChaCha20 with Poly1305 [RFC7634]";
	case ESP_XFORM_AES_CBC_HMAC_SHA256:
		return "AES-CBC [RFC3602]";
	}
	return "NULL";
}

const char *sad_ws_authentication_name(const struct sa *sa)
{
	/* AEAD transforms authenticate with the cipher: "NULL" here. */
	return sa->xform == ESP_XFORM_AES_CBC_HMAC_SHA256 ?
	       "HMAC-SHA-256-128 [RFC4868]" : "NULL";
}

static void hex(char *out, const uint8_t *b, size_t n)
{
	static const char d[] = "0123456789abcdef";

	*out++ = '0';
	*out++ = 'x';
	for (size_t i = 0; i < n; i++) {
		*out++ = d[b[i] >> 4];
		*out++ = d[b[i] & 15];
	}
	*out = '\0';
}

struct ws_fields {
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], spi[11];
	char ekey[2 * SA_KEY_MAX + 3], akey[2 * 32 + 3];
};

/* any_addr: the record matches any address (SAs that follow a moving
 * care-of address), as Wireshark reads an empty or "*" field. */
static void ws_fields(const struct sa *sa, bool any_addr, struct ws_fields *f)
{
	f->src[0] = f->dst[0] = '\0';
	if (sa->src.family && !any_addr)
		ip_addr_fmt(&sa->src, f->src, sizeof(f->src));
	if (sa->dst.family && !any_addr)
		ip_addr_fmt(&sa->dst, f->dst, sizeof(f->dst));
	snprintf(f->spi, sizeof(f->spi), "0x%08x", sa->spi);
	hex(f->ekey, sa->enc_key, sa->enc_key_len);
	if (sa->auth_key_len)
		hex(f->akey, sa->auth_key, sa->auth_key_len);
	else
		f->akey[0] = '\0';
}

static const char *ws_proto(const struct sa *sa, bool any_addr)
{
	return sa->dst.family == AF_INET && !any_addr ? "IPv4" : "IPv6";
}

static int esp_sa_record(const struct sa *sa, bool any_addr, char *buf, size_t len)
{
	struct ws_fields f;

	ws_fields(sa, any_addr, &f);
	/* Empty addresses mean "any" to Wireshark ("*" also does). */
	return snprintf(buf, len, "\"%s\",\"%s\",\"%s\",\"%s\",\"%s\",\"%s\",\"%s\",\"%s\"",
			ws_proto(sa, any_addr), f.src[0] ? f.src : "*", f.dst[0] ? f.dst : "*",
			f.spi, sad_ws_encryption_name(sa), f.ekey,
			sad_ws_authentication_name(sa), f.akey);
}

int sad_esp_sa_record(const struct sa *sa, char *buf, size_t len)
{
	return esp_sa_record(sa, false, buf, len);
}

int sad_keylog(const struct sad *sad, struct keylog **klp, const char *path, bool any_addr)
{
	struct sad_iter it = { 0 };
	char line[512];
	struct sa *sa;

	if (keylog_use(klp, path, SAD_ESP_SA_HEADER) < 0)
		return -1;
	while ((sa = sad_iter_next(sad, &it))) {
		esp_sa_record(sa, any_addr, line, sizeof(line));
		if (keylog_add(*klp, line) < 0)
			return -1;
	}
	return 0;
}

int sad_write_esp_sa_file(const struct sad *sad, const char *path)
{
	struct keylog *kl = NULL;
	char def[4096];
	int rc;

	if (!path) {
		const char *home = getenv("HOME");

		if (!home)
			return -1;
		snprintf(def, sizeof(def), "%s/.config", home);
		mkdir(def, 0700);
		snprintf(def, sizeof(def), "%s/.config/wireshark", home);
		mkdir(def, 0700);
		snprintf(def, sizeof(def), "%s/.config/wireshark/esp_sa", home);
		path = def;
	}
	rc = sad_keylog(sad, &kl, path, false);
	keylog_close(kl);
	return rc;
}

static const char *expiry_name(enum sa_expiry e)
{
	return e == SA_HARD ? "hard" : e == SA_SOFT ? "soft" : "live";
}

static json_t *sa_json(const struct sa *sa)
{
	struct sa_snapshot v;
	const struct sa_stats *s = &v.stats;
	char rec[512];
	struct ws_fields f;
	json_t *o;

	sa_snapshot(sa, &v);	/* the data-plane threads may be counting */
	ws_fields(sa, false, &f);
	sad_esp_sa_record(sa, rec, sizeof(rec));
	o = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:I, s:s,"
		      " s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
		      " s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}}",
		      "spi", f.spi, "direction", sa_dir_name(sa->dir),
		      "mode", sa_mode_name(sa->mode),
		      "transform", sa_xform_name(sa->xform, sa->enc_key_len),
		      "esn", sa->esn, "src", f.src, "dst", f.dst,
		      "seq", (json_int_t)v.seq, "expiry", expiry_name(v.expiry),
		      "packets", (json_int_t)s->packets, "bytes", (json_int_t)s->bytes,
		      "auth_fail", (json_int_t)s->auth_fail,
		      "replay", (json_int_t)s->replay, "bad_padding", (json_int_t)s->bad_pad,
		      "truncated", (json_int_t)s->truncated,
		      "seq_overflow", (json_int_t)s->seq_overflow,
		      "expired", (json_int_t)s->expired,
		      "wireshark",
		      "protocol", ws_proto(sa, false), "src_ip", f.src[0] ? f.src : "*",
		      "dst_ip", f.dst[0] ? f.dst : "*", "spi", f.spi,
		      "encryption_algorithm", sad_ws_encryption_name(sa),
		      "encryption_key", f.ekey,
		      "authentication_algorithm", sad_ws_authentication_name(sa),
		      "authentication_key", f.akey, "uat_record", rec);
	return o;
}

json_t *sad_dump(const struct sad *sad)
{
	json_t *arr = json_array();
	struct sad_iter it = { 0 };
	struct sa *sa;

	if (!arr)
		return NULL;
	while ((sa = sad_iter_next(sad, &it))) {
		json_t *o = sa_json(sa);

		if (!o || json_array_append_new(arr, o) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static json_t *table_dump(void *arg)
{
	return sad_dump(arg);
}

void sad_table_register(struct sad *sad, const char *name)
{
	if (sad->tbl.name)
		table_unregister(&sad->tbl);
	sad->tbl.name = name ? name : "esp_sa";
	sad->tbl.description = "IPsec SAD: ESP security associations with their "
			       "keys as Wireshark's esp_sa table expects";
	sad->tbl.dump = table_dump;
	sad->tbl.arg = sad;
	table_register(&sad->tbl);
}
