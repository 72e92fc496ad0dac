/* JSON view of the Mobility Header (see wirejson.h and wire/mh.h).
 *
 * Shape: {"type": "binding_update", "mh_type": 5, "payload_proto": 59,
 * "header_len": 3, "checksum": 4660, <fixed fields>, "options": [...]}.
 * Byte strings (cookies, tokens, authenticators, vendor data) are lower-case
 * hex; addresses are text; flags are lists of the RFCs' letters with the
 * bits no letter names in "reserved". Reserved fields appear only when not
 * zero. Options of a type this codec does not know appear with a numeric
 * "type" and their "data".
 *
 * Building: without "header_len" the options are laid out with the padding
 * their alignment rules need and the header is padded to 8n; with
 * "header_len" (as every decoded view has) the options are laid out exactly
 * as listed, Pad1/PadN included, so that encode(decode(x)) == x. */
#include "ctl/wirejson.h"
#include "ctl/wirejson_util.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "wire/mh.h"

static const char bu_letters[] = "AHLKMRPFTB";	/* from bit 15 down */
static const char ba_letters[] = "KRPTB";	/* from bit 7 down */

/* ---- decoding ---------------------------------------------------------- */

/* Flag letters of `bits` (width 8 or 16) named from the top bit down. */
static json_t *flags_json(unsigned bits, unsigned width, const char *letters)
{
	json_t *a = json_array();

	for (unsigned i = 0; letters[i]; i++)
		if (bits & 1u << (width - 1 - i)) {
			char s[2] = { letters[i], 0 };

			json_array_append_new(a, json_string(s));
		}
	return a;
}

static void set_nz(json_t *o, const char *k, json_int_t v)
{
	if (v)
		wj_set_int(o, k, v);
}

static void body_json(json_t *j, const struct mh_msg *m)
{
	const union mh_body *u = &m->u;
	json_t *a;

	switch (m->type) {
	case MH_BRR:
		set_nz(j, "reserved", u->brr.reserved);
		break;
	case MH_HOTI:
	case MH_COTI:
		set_nz(j, "reserved", u->hoti.reserved);
		json_object_set_new(j, m->type == MH_HOTI ? "home_init_cookie" : "care_of_init_cookie",
				    wj_hex(u->hoti.cookie, 8));
		break;
	case MH_HOT:
		wj_set_int(j, "home_nonce_index", u->hot.nonce_index);
		json_object_set_new(j, "home_init_cookie", wj_hex(u->hot.cookie, 8));
		json_object_set_new(j, "home_keygen_token", wj_hex(u->hot.token, 8));
		break;
	case MH_COT:
		wj_set_int(j, "care_of_nonce_index", u->hot.nonce_index);
		json_object_set_new(j, "care_of_init_cookie", wj_hex(u->hot.cookie, 8));
		json_object_set_new(j, "care_of_keygen_token", wj_hex(u->hot.token, 8));
		break;
	case MH_BU:
		wj_set_int(j, "sequence", u->bu.seq);
		json_object_set_new(j, "flags", flags_json(u->bu.flags, 16, bu_letters));
		set_nz(j, "reserved", u->bu.flags & ~MH_BU_KNOWN & 0xffff);
		wj_set_int(j, "lifetime", u->bu.lifetime);
		break;
	case MH_BA:
		wj_set_int(j, "status", u->ba.status);
		json_object_set_new(j, "flags", flags_json(u->ba.flags, 8, ba_letters));
		set_nz(j, "reserved", u->ba.flags & ~MH_BA_KNOWN & 0xff);
		wj_set_int(j, "sequence", u->ba.seq);
		wj_set_int(j, "lifetime", u->ba.lifetime);
		break;
	case MH_BE:
		wj_set_int(j, "status", u->be.status);
		set_nz(j, "reserved", u->be.reserved);
		json_object_set_new(j, "home_address", wj_addr(AF_INET6, u->be.home_addr));
		break;
	case MH_HAS:
		set_nz(j, "reserved", u->has.reserved);
		a = json_array();
		for (unsigned i = 0; i < u->has.n_addrs; i++)
			json_array_append_new(a, wj_addr(AF_INET6, u->has.addrs + 16 * i));
		json_object_set_new(j, "home_agent_addresses", a);
		break;
	}
}

static bool all_zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

static json_t *opt_json(const struct mh_opt *o)
{
	json_t *j = json_object();
	const char *name = o->known ? mh_opt_name(o->type) : NULL;

	if (name)
		json_object_set_new(j, "type", json_string(name));
	else
		wj_set_int(j, "type", o->type);
	switch (o->known ? o->type : 255) {
	case MH_OPT_PAD1:
		break;
	case MH_OPT_PADN:
		wj_set_int(j, "length", o->len);
		if (!all_zero(o->data, o->len))
			json_object_set_new(j, "data", wj_hex(o->data, o->len));
		break;
	case MH_OPT_BRA:
		wj_set_int(j, "refresh_interval", o->u.refresh_interval);
		break;
	case MH_OPT_ALT_COA:
		json_object_set_new(j, "address", wj_addr(AF_INET6, o->u.alt_coa));
		break;
	case MH_OPT_NONCE:
		wj_set_int(j, "home_nonce_index", o->u.nonce.home);
		wj_set_int(j, "care_of_nonce_index", o->u.nonce.care_of);
		break;
	case MH_OPT_AUTH:
		json_object_set_new(j, "authenticator", wj_hex(o->data, o->len));
		break;
	case MH_OPT_MNP:
		set_nz(j, "reserved", o->u.mnp.reserved);
		wj_set_int(j, "prefix_length", o->u.mnp.prefix_len);
		json_object_set_new(j, "prefix", wj_addr(AF_INET6, o->u.mnp.prefix));
		break;
	case MH_OPT_V4_HOA:
		wj_set_int(j, "prefix_len", o->u.v4_hoa.prefix_len);
		json_object_set_new(j, "flags", flags_json(o->u.v4_hoa.flags, 10, "P"));
		set_nz(j, "reserved", o->u.v4_hoa.flags & 0x01ff);
		json_object_set_new(j, "address", wj_addr(AF_INET, o->u.v4_hoa.addr));
		break;
	case MH_OPT_V4_ACK:
		wj_set_int(j, "status", o->u.v4_ack.status);
		wj_set_int(j, "prefix_len", o->u.v4_ack.prefix_len);
		set_nz(j, "reserved", o->u.v4_ack.reserved);
		json_object_set_new(j, "address", wj_addr(AF_INET, o->u.v4_ack.addr));
		break;
	case MH_OPT_NATD:
		json_object_set_new(j, "flags", flags_json(o->u.natd.flags, 16, "F"));
		set_nz(j, "reserved", o->u.natd.flags & 0x7fff);
		wj_set_int(j, "refresh_time", o->u.natd.refresh_time);
		break;
	case MH_OPT_V4_COA:
		set_nz(j, "reserved", o->u.v4_coa.reserved);
		json_object_set_new(j, "address", wj_addr(AF_INET, o->u.v4_coa.addr));
		break;
	case MH_OPT_VENDOR:
		wj_set_int(j, "vendor_id", o->u.vendor.vendor_id);
		wj_set_int(j, "sub_type", o->u.vendor.sub_type);
		json_object_set_new(j, "data", wj_hex(o->data + 5, o->len - 5u));
		break;
	default:
		json_object_set_new(j, "data", wj_hex(o->data, o->len));
		break;
	}
	return j;
}

json_t *mh_to_json(const uint8_t *mh, size_t len, const uint8_t *src, const uint8_t *dst,
		   struct wire_error *err)
{
	struct mh_msg m;
	struct mh_opt_iter it;
	struct mh_opt o;
	json_t *j, *opts;

	if (mh_parse(mh, len, src, dst, &m, err))
		return NULL;
	j = json_object();
	json_object_set_new(j, "type", json_string(mh_type_name(m.type)));
	wj_set_int(j, "mh_type", m.type);
	wj_set_int(j, "payload_proto", m.payload_proto);
	wj_set_int(j, "header_len", m.header_len);
	set_nz(j, "header_reserved", m.header_reserved);
	wj_set_int(j, "checksum", m.checksum);
	body_json(j, &m);
	opts = json_array();
	mh_opt_iter_init(&it, mh, m.len);
	while (mh_opt_next(&it, &o, NULL) > 0)
		json_array_append_new(opts, opt_json(&o));
	json_object_set_new(j, "options", opts);
	return j;
}

/* ---- encoding ---------------------------------------------------------- */

struct enc {
	struct wire_error *err;
	const char *where;	/* "binding_update", "option 2 (nonce_indices)" */
	bool failed;
};

static bool bad(struct enc *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool bad(struct enc *e, const char *fmt, ...)
{
	char m[100];
	va_list ap;

	if (!e->failed) {
		va_start(ap, fmt);
		vsnprintf(m, sizeof(m), fmt, ap);
		va_end(ap);
		wire_fail(e->err, WIRE_EVALUE, 0, "mh json: %s: %s", e->where, m);
	}
	e->failed = true;
	return false;
}

/* Every key of an object must be one the type knows: typos fail loudly. */
static bool check_keys(struct enc *e, const json_t *obj, const char *const *allowed)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)obj, k, v) {
		const char *const *a;

		(void)v;
		for (a = allowed; *a && strcmp(*a, k); a++)
			;
		if (!*a)
			return bad(e, "unknown field \"%s\"", k);
	}
	return true;
}

/* An unsigned field up to max; absent is 0 (or an error when needed). */
static json_int_t get_uint(struct enc *e, const json_t *obj, const char *k, json_int_t max,
			   bool need)
{
	json_t *v = json_object_get(obj, k);

	if (!v) {
		if (need)
			bad(e, "missing \"%s\"", k);
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max) {
		bad(e, "\"%s\" must be an integer from 0 to %lld", k, (long long)max);
		return 0;
	}
	return json_integer_value(v);
}

#define U(obj, k, max, need) get_uint(e, obj, k, max, need)

/* Hex string into out; exact: the length must be want, else at most want.
 * Returns the octet count or -1. */
static int get_hex(struct enc *e, const json_t *obj, const char *k, uint8_t *out, size_t want,
		   bool exact, bool need)
{
	json_t *v = json_object_get(obj, k);
	const char *s;
	size_t n;

	if (!v) {
		if (need)
			bad(e, "missing \"%s\"", k);
		memset(out, 0, want);
		return need ? -1 : 0;
	}
	s = json_string_value(v);
	n = s ? strlen(s) : 1;
	if (!s || n % 2 || (exact ? n / 2 != want : n / 2 > want)) {
		bad(e, "\"%s\" must be a hex string of %s%zu octets", k, exact ? "" : "at most ", want);
		return -1;
	}
	for (size_t i = 0; i < n / 2; i++) {
		int hi = wj_hexval(s[2 * i]), lo = wj_hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			bad(e, "\"%s\" is not hex", k);
			return -1;
		}
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (int)(n / 2);
}

static bool get_addr(struct enc *e, const json_t *obj, const char *k, int af, uint8_t *out)
{
	json_t *v = json_object_get(obj, k);
	const char *s = json_string_value(v);

	if (!s || inet_pton(af, s, out) != 1)
		return bad(e, "\"%s\" must be an %s address", k, af == AF_INET ? "IPv4" : "IPv6");
	return true;
}

static unsigned get_flags(struct enc *e, const json_t *obj, unsigned width, const char *letters)
{
	json_t *a = json_object_get(obj, "flags"), *v;
	unsigned bits = 0;
	size_t i;

	if (!a)
		return 0;
	if (!json_is_array(a)) {
		bad(e, "\"%s\" must be a list of flag letters", "flags");
		return 0;
	}
	json_array_foreach(a, i, v) {
		const char *s = json_string_value(v), *p;

		if (!s || strlen(s) != 1 || !(p = strchr(letters, s[0]))) {
			bad(e, "\"%s\" holds a letter other than %s", "flags", letters);
			return 0;
		}
		bits |= 1u << (width - 1 - (unsigned)(p - letters));
	}
	return bits;
}

/* Storage for the byte strings the body and options point at. */
struct enc_store {
	uint8_t cookie[8], token[8], addr[16];
	uint8_t has[255][16];
};

static const char *const k_common[] = { "type", "mh_type", "payload_proto", "header_len",
	"header_reserved", "checksum", "options" };
#define N_COMMON (sizeof(k_common) / sizeof(k_common[0]))

static bool body_keys(struct enc *e, const json_t *j, uint8_t type)
{
	static const char *const extra[][6] = {
		[MH_BRR] = { "reserved" },
		[MH_HOTI] = { "reserved", "home_init_cookie" },
		[MH_COTI] = { "reserved", "care_of_init_cookie" },
		[MH_HOT] = { "home_nonce_index", "home_init_cookie", "home_keygen_token" },
		[MH_COT] = { "care_of_nonce_index", "care_of_init_cookie", "care_of_keygen_token" },
		[MH_BU] = { "sequence", "flags", "reserved", "lifetime" },
		[MH_BA] = { "status", "flags", "reserved", "sequence", "lifetime" },
		[MH_BE] = { "status", "reserved", "home_address" },
		[MH_HAS] = { "reserved", "home_agent_addresses" },
	};
	const char *all[N_COMMON + 7];
	size_t n = 0;

	for (size_t i = 0; i < N_COMMON; i++)
		all[n++] = k_common[i];
	for (size_t i = 0; i < 6 && extra[type][i]; i++)
		all[n++] = extra[type][i];
	all[n] = NULL;
	return check_keys(e, j, all);
}

static bool body_from_json(struct enc *e, const json_t *j, uint8_t type, union mh_body *u,
			   struct enc_store *st)
{
	json_t *a, *v;
	size_t i;

	if (!body_keys(e, j, type))
		return false;
	switch (type) {
	case MH_BRR:
		u->brr.reserved = (uint16_t)U(j, "reserved", 0xffff, false);
		break;
	case MH_HOTI:
	case MH_COTI:
		u->hoti.reserved = (uint16_t)U(j, "reserved", 0xffff, false);
		get_hex(e, j, type == MH_HOTI ? "home_init_cookie" : "care_of_init_cookie",
			st->cookie, 8, true, true);
		u->hoti.cookie = st->cookie;
		break;
	case MH_HOT:
	case MH_COT:
		u->hot.nonce_index = (uint16_t)U(j, type == MH_HOT ? "home_nonce_index"
					      : "care_of_nonce_index", 0xffff, true);
		get_hex(e, j, type == MH_HOT ? "home_init_cookie" : "care_of_init_cookie",
			st->cookie, 8, true, true);
		get_hex(e, j, type == MH_HOT ? "home_keygen_token" : "care_of_keygen_token",
			st->token, 8, true, true);
		u->hot.cookie = st->cookie;
		u->hot.token = st->token;
		break;
	case MH_BU:
		u->bu.seq = (uint16_t)U(j, "sequence", 0xffff, true);
		u->bu.flags = (uint16_t)(get_flags(e, j, 16, bu_letters) |
					 (U(j, "reserved", ~MH_BU_KNOWN & 0xffff, false)));
		u->bu.lifetime = (uint16_t)U(j, "lifetime", 0xffff, true);
		break;
	case MH_BA:
		u->ba.status = (uint8_t)U(j, "status", 255, true);
		u->ba.flags = (uint8_t)(get_flags(e, j, 8, ba_letters) |
					(U(j, "reserved", ~MH_BA_KNOWN & 0xff, false)));
		u->ba.seq = (uint16_t)U(j, "sequence", 0xffff, true);
		u->ba.lifetime = (uint16_t)U(j, "lifetime", 0xffff, true);
		break;
	case MH_BE:
		u->be.status = (uint8_t)U(j, "status", 255, true);
		u->be.reserved = (uint8_t)U(j, "reserved", 255, false);
		get_addr(e, j, "home_address", AF_INET6, st->addr);
		u->be.home_addr = st->addr;
		break;
	case MH_HAS:
		u->has.reserved = (uint8_t)U(j, "reserved", 255, false);
		a = json_object_get(j, "home_agent_addresses");
		if (!json_is_array(a) || json_array_size(a) > 127)
			return bad(e, "\"%s\" must be a list of at most 127 %s", "home_agent_addresses",
				   "IPv6 addresses");
		json_array_foreach(a, i, v) {
			const char *s = json_string_value(v);

			if (!s || inet_pton(AF_INET6, s, st->has[i]) != 1)
				return bad(e, "\"%s\" must hold %s", "home_agent_addresses",
					   "IPv6 addresses");
		}
		u->has.n_addrs = (uint8_t)json_array_size(a);
		u->has.addrs = st->has[0];
		break;
	}
	return !e->failed;
}

static const char *const k_opt[][7] = {
	[MH_OPT_PAD1] = { "type" },
	[MH_OPT_PADN] = { "type", "length", "data" },
	[MH_OPT_BRA] = { "type", "refresh_interval" },
	[MH_OPT_ALT_COA] = { "type", "address" },
	[MH_OPT_NONCE] = { "type", "home_nonce_index", "care_of_nonce_index" },
	[MH_OPT_AUTH] = { "type", "authenticator" },
	[MH_OPT_MNP] = { "type", "reserved", "prefix_length", "prefix" },
	[MH_OPT_VENDOR] = { "type", "vendor_id", "sub_type", "data" },
	[MH_OPT_V4_HOA] = { "type", "prefix_len", "flags", "reserved", "address" },
	[MH_OPT_V4_ACK] = { "type", "status", "prefix_len", "reserved", "address" },
	[MH_OPT_NATD] = { "type", "flags", "reserved", "refresh_time" },
	[MH_OPT_V4_COA] = { "type", "reserved", "address" },
};
static const char *const k_raw[] = { "type", "data", NULL };

static int opt_type_of(const json_t *t)
{
	const char *s = json_string_value(t);

	if (json_is_integer(t))
		return json_integer_value(t) >= 0 && json_integer_value(t) <= 255 ?
		       (int)json_integer_value(t) : -1;
	for (int i = 0; s && i < (int)(sizeof(k_opt) / sizeof(k_opt[0])); i++)
		if (mh_opt_name((uint8_t)i) && !strcmp(mh_opt_name((uint8_t)i), s))
			return i;
	return -1;
}

static void opt_from_json(struct enc *e, struct mh_builder *b, const json_t *j, bool exact)
{
	uint8_t data[255], a4[4], a16[16];
	struct mh_opt o = { .data = data };
	json_t *t = json_object_get(j, "type");
	int type = opt_type_of(t);
	int n;

	if (!json_is_object(j) || type < 0) {
		bad(e, "needs a \"%s\" that is an option name or a number", "type");
		return;
	}
	o.type = (uint8_t)type;
	if (json_is_integer(t)) {
		/* Raw option, laid out as given: also the way to build malformed ones. */
		if (!check_keys(e, j, k_raw))
			return;
		n = get_hex(e, j, "data", data, 255, false, false);
		if (n < 0)
			return;
		if (type == MH_OPT_PAD1 && n > 0) {
			bad(e, "a Pad1 (type %s) has no data", "0");
			return;
		}
		if (type == MH_OPT_PAD1)
			mh_build_pad(b, 1);
		else
			mh_build_raw(b, o.type, data, (uint8_t)n);
		return;
	}
	if (!check_keys(e, j, k_opt[type]))
		return;
	switch (type) {
	case MH_OPT_PAD1:
		mh_build_pad(b, 1);
		return;
	case MH_OPT_PADN:
		n = get_hex(e, j, "data", data, 255, false, false);
		if (n < 0)
			return;
		o.len = (uint8_t)U(j, "length", 255, json_object_get(j, "data") == NULL);
		if (json_object_get(j, "data")) {
			if (json_object_get(j, "length") && o.len != n) {
				bad(e, "\"%s\" disagrees with \"%s\"", "length", "data");
				return;
			}
			o.len = (uint8_t)n;
		}
		break;
	case MH_OPT_BRA:
		o.u.refresh_interval = (uint16_t)U(j, "refresh_interval", 0xffff, true);
		break;
	case MH_OPT_ALT_COA:
		get_addr(e, j, "address", AF_INET6, a16);
		o.u.alt_coa = a16;
		break;
	case MH_OPT_NONCE:
		o.u.nonce.home = (uint16_t)U(j, "home_nonce_index", 0xffff, true);
		o.u.nonce.care_of = (uint16_t)U(j, "care_of_nonce_index", 0xffff, true);
		break;
	case MH_OPT_AUTH:
		n = get_hex(e, j, "authenticator", data, 255, false, true);
		o.len = (uint8_t)(n < 0 ? 0 : n);
		break;
	case MH_OPT_MNP:
		o.u.mnp.reserved = (uint8_t)U(j, "reserved", 255, false);
		o.u.mnp.prefix_len = (uint8_t)U(j, "prefix_length", 128, true);
		get_addr(e, j, "prefix", AF_INET6, a16);
		o.u.mnp.prefix = a16;
		break;
	case MH_OPT_V4_HOA:
		o.u.v4_hoa.prefix_len = (uint8_t)U(j, "prefix_len", 32, true);
		o.u.v4_hoa.flags = (uint16_t)(get_flags(e, j, 10, "P") |
					      U(j, "reserved", 0x1ff, false));
		get_addr(e, j, "address", AF_INET, a4);
		o.u.v4_hoa.addr = a4;
		break;
	case MH_OPT_V4_ACK:
		o.u.v4_ack.status = (uint8_t)U(j, "status", 255, true);
		o.u.v4_ack.prefix_len = (uint8_t)U(j, "prefix_len", 32, true);
		o.u.v4_ack.reserved = (uint8_t)U(j, "reserved", 3, false);
		get_addr(e, j, "address", AF_INET, a4);
		o.u.v4_ack.addr = a4;
		break;
	case MH_OPT_NATD:
		o.u.natd.flags = (uint16_t)(get_flags(e, j, 16, "F") |
					    U(j, "reserved", 0x7fff, false));
		o.u.natd.refresh_time = (uint32_t)U(j, "refresh_time", 0xffffffff, true);
		break;
	case MH_OPT_V4_COA:
		o.u.v4_coa.reserved = (uint16_t)U(j, "reserved", 0xffff, false);
		get_addr(e, j, "address", AF_INET, a4);
		o.u.v4_coa.addr = a4;
		break;
	case MH_OPT_VENDOR:
		o.u.vendor.vendor_id = (uint32_t)U(j, "vendor_id", 0xffffffff, true);
		o.u.vendor.sub_type = (uint8_t)U(j, "sub_type", 255, true);
		n = get_hex(e, j, "data", data + 5, 250, false, false);
		o.len = (uint8_t)(5 + (n < 0 ? 0 : n));
		break;
	}
	if (!e->failed)
		mh_build_opt(b, &o, !exact);
}

static int type_from_json(struct enc *e, const json_t *j)
{
	const char *name = json_string_value(json_object_get(j, "type"));
	json_t *num = json_object_get(j, "mh_type");
	int t = -1;

	if (name) {
		for (int i = 0; i < 256 && t < 0; i++)
			if (mh_type_name((uint8_t)i) && !strcmp(mh_type_name((uint8_t)i), name))
				t = i;
		if (t < 0)
			return bad(e, "unknown message \"%s\"", name), -1;
	}
	if (num) {
		if (!json_is_integer(num) || json_integer_value(num) < 0 ||
		    json_integer_value(num) > 255 || mh_body_len((uint8_t)json_integer_value(num)) < 0)
			return bad(e, "\"%s\" is not a known MH type", "mh_type"), -1;
		if (t >= 0 && t != json_integer_value(num))
			return bad(e, "\"%s\" disagrees with \"%s\"", "mh_type", "type"), -1;
		t = (int)json_integer_value(num);
	}
	if (t < 0)
		bad(e, "needs \"%s\" or \"%s\"", "type", "mh_type");
	return t;
}

int mh_from_json(const json_t *spec, uint8_t *buf, size_t size, const uint8_t *src,
		 const uint8_t *dst, struct wire_error *err)
{
	struct enc ctx = { .err = err, .where = "mobility header" }, *e = &ctx;
	struct enc_store st;
	union mh_body body = { 0 };
	struct mh_builder b;
	json_t *opts, *o, *hl;
	char where[64];
	bool exact;
	size_t i;
	int type;

	if (!json_is_object(spec))
		return bad(e, "%s must be a JSON %s", "the spec", "object"), -1;
	type = type_from_json(e, spec);
	if (type < 0)
		return -1;
	e->where = mh_type_name((uint8_t)type);
	if (!body_from_json(e, spec, (uint8_t)type, &body, &st))
		return -1;
	mh_build_begin(&b, buf, size, (uint8_t)type, &body, err);
	b.payload_proto = (uint8_t)U(spec, "payload_proto", 255, false);
	if (!json_object_get(spec, "payload_proto"))
		b.payload_proto = MH_PROTO_NONE;
	b.header_reserved = (uint8_t)U(spec, "header_reserved", 255, false);
	b.checksum = (uint16_t)U(spec, "checksum", 0xffff, false);
	hl = json_object_get(spec, "header_len");
	exact = hl != NULL;
	(void)U(spec, "header_len", 255, false);
	opts = json_object_get(spec, "options");
	if (opts && !json_is_array(opts))
		bad(e, "\"%s\" must be a %s", "options", "list");
	json_array_foreach(opts, i, o) {
		if (e->failed || b.code)
			break;
		snprintf(where, sizeof(where), "%s option %zu", mh_type_name((uint8_t)type), i + 1);
		e->where = where;
		opt_from_json(e, &b, o, exact);
	}
	e->where = mh_type_name((uint8_t)type);
	if (e->failed || b.code)
		return -1;
	if (exact && b.len % 8)
		return wire_fail(err, WIRE_EALIGN, b.len,
				 "mh json: %s: options end at %zu octets, not a multiple of 8 (header_len given: exact layout)",
				 e->where, b.len), -1;
	if (exact && (json_int_t)(b.len / 8 - 1) != json_integer_value(hl))
		return wire_fail(err, WIRE_ELEN, 1,
				 "mh json: %s: header_len %lld given, content makes %zu",
				 e->where, (long long)json_integer_value(hl), b.len / 8 - 1), -1;
	return mh_build_finish(&b, src, dst);
}
