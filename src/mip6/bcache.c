#include "mip6/bcache.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>

#include "core/log.h"
#include "core/stats.h"
#include "core/table.h"
#include "net/loop.h"

#define CHUNK_SHIFT_MAX 15u	/* 32768 entries, 2.5 MiB: mostly one huge page */
#define CHUNK_SHIFT_MIN 6u
#define HUGE_SZ ((size_t)2 << 20)
#define INDEX_MIN_SLOTS 64u
#define NO_ENTRY UINT32_MAX

/* One index slot: `idx` is pool index + 1 (0 = empty); `tag` the low 32 bits
 * of the key's hash, which also give the home slot (tag & mask), so growing
 * the index never needs the keys or the hash again. */
struct slot {
	uint32_t tag;
	uint32_t idx;
};

/* Expiry heap node: key <= the entry's expiry_ms (see the heap section). */
struct hnode {
	uint64_t key;
	uint32_t idx;
	uint32_t pad;
};

struct bcache {
	uint8_t key[16];		/* SipHash key */
	uint32_t max_entries;
	uint32_t count;

	struct bce **chunks;		/* pool: chunk i holds entries i << chunk_shift .. */
	uint32_t nchunks;
	uint32_t chunk_shift;		/* small caches get small chunks */
	uint32_t hw;			/* pool slots ever handed out */
	uint32_t free_head;		/* free list through bce.heap_pos */

	struct slot *index;
	uint32_t mask;			/* index slots - 1 */

	struct hnode *heap;		/* expiry min-heap, 4-ary */
	uint32_t heap_cap;

	bcache_observer obs;
	void *obs_arg;

	struct table tbl;
	char tbl_name[32];
	char label[48];
	struct counter c_insert, c_update, c_delete, c_expire, c_full;
};

/* ---- SipHash-2-4 (Aumasson & Bernstein), written from the paper ---- */

static inline uint64_t rotl64(uint64_t x, unsigned b) { return (x << b) | (x >> (64u - b)); }

static inline uint64_t load_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8u * i);
	return v;
}

#define SIPROUND(v0, v1, v2, v3) do {					\
	v0 += v1; v1 = rotl64(v1, 13); v1 ^= v0; v0 = rotl64(v0, 32);	\
	v2 += v3; v3 = rotl64(v3, 16); v3 ^= v2;			\
	v0 += v3; v3 = rotl64(v3, 21); v3 ^= v0;			\
	v2 += v1; v1 = rotl64(v1, 17); v1 ^= v2; v2 = rotl64(v2, 32);	\
} while (0)

uint64_t bcache_siphash24(const uint8_t key[16], const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
	uint64_t v0 = k0 ^ 0x736f6d6570736575ull;
	uint64_t v1 = k1 ^ 0x646f72616e646f6dull;
	uint64_t v2 = k0 ^ 0x6c7967656e657261ull;
	uint64_t v3 = k1 ^ 0x7465646279746573ull;
	size_t full = len & ~(size_t)7;
	uint64_t m, last = (uint64_t)(len & 0xff) << 56;

	for (size_t i = 0; i < full; i += 8) {
		m = load_le64(p + i);
		v3 ^= m;
		SIPROUND(v0, v1, v2, v3);
		SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	for (size_t i = 0; i < (len & 7u); i++)
		last |= (uint64_t)p[full + i] << (8u * i);
	v3 ^= last;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	v0 ^= last;
	v2 ^= 0xff;
	for (int i = 0; i < 4; i++)
		SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

static inline uint32_t hash_tag(const struct bcache *bc, const struct in6_addr *hoa)
{
	return (uint32_t)bcache_siphash24(bc->key, hoa, sizeof(*hoa));
}

/* ---- memory ----
 *
 * Lookups at a million bindings are random accesses over ~100 MiB; with 4 KiB
 * pages nearly each one also misses the TLB. Large arrays are therefore
 * mapped 2 MiB-aligned and offered to transparent huge pages. */

static size_t page_round(size_t len)
{
	return (len + 4095u) & ~(size_t)4095u;
}

static void *big_alloc(size_t len)	/* zeroed */
{
	if (len < HUGE_SZ)
		return calloc(1, len);
	len = page_round(len);
	size_t map = len + HUGE_SZ;
	uint8_t *p = mmap(NULL, map, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	uintptr_t a = ((uintptr_t)p + HUGE_SZ - 1u) & ~(uintptr_t)(HUGE_SZ - 1u);
	size_t head = a - (uintptr_t)p, tail = map - head - len;

	if (head)
		munmap(p, head);
	if (tail)
		munmap((uint8_t *)a + len, tail);
	madvise((void *)a, len, MADV_HUGEPAGE);	/* a hint: failure is fine */
	return (void *)a;
}

static void big_free(void *p, size_t len)
{
	if (!p)
		return;
	if (len < HUGE_SZ)
		free(p);
	else
		munmap(p, page_round(len));
}

static size_t chunk_bytes(const struct bcache *bc)
{
	return ((size_t)1 << bc->chunk_shift) * sizeof(struct bce);
}

/* ---- pool ---- */

static inline struct bce *pool_at(const struct bcache *bc, uint32_t i)
{
	return &bc->chunks[i >> bc->chunk_shift][i & ((1u << bc->chunk_shift) - 1u)];
}

static uint32_t pool_alloc(struct bcache *bc)
{
	uint32_t i;

	if (bc->free_head != NO_ENTRY) {
		i = bc->free_head;
		bc->free_head = pool_at(bc, i)->heap_pos;
		return i;
	}
	if ((bc->hw >> bc->chunk_shift) == bc->nchunks) {
		struct bce **nc = realloc(bc->chunks, (bc->nchunks + 1u) * sizeof(*nc));

		if (!nc)
			return NO_ENTRY;
		bc->chunks = nc;
		nc[bc->nchunks] = big_alloc(chunk_bytes(bc));
		if (!nc[bc->nchunks])
			return NO_ENTRY;
		bc->nchunks++;
	}
	return bc->hw++;
}

static void pool_free(struct bcache *bc, uint32_t i)
{
	struct bce *e = pool_at(bc, i);

	e->in_use = 0;
	e->heap_pos = bc->free_head;
	bc->free_head = i;
}

/* ---- index ---- */

static struct slot *index_alloc(uint32_t nslots)
{
	return big_alloc((size_t)nslots * sizeof(struct slot));
}

static void index_free(struct slot *index, uint32_t nslots)
{
	big_free(index, (size_t)nslots * sizeof(struct slot));
}

static void index_place(struct slot *index, uint32_t mask, struct slot s)
{
	uint32_t pos = s.tag & mask;

	while (index[pos].idx)
		pos = (pos + 1u) & mask;
	index[pos] = s;
}

static int index_grow(struct bcache *bc)
{
	uint32_t oldn = bc->mask + 1u, newn = oldn * 2u;
	struct slot *ni = index_alloc(newn);

	if (!ni)
		return -1;
	for (uint32_t i = 0; i < oldn; i++)
		if (bc->index[i].idx)
			index_place(ni, newn - 1u, bc->index[i]);
	index_free(bc->index, oldn);
	bc->index = ni;
	bc->mask = newn - 1u;
	return 0;
}

/* Index slot holding `hoa`, or NO_ENTRY. */
static uint32_t index_find(const struct bcache *bc, const struct in6_addr *hoa, uint32_t tag)
{
	uint32_t pos = tag & bc->mask;

	for (;;) {
		const struct slot *s = &bc->index[pos];

		if (!s->idx)
			return NO_ENTRY;
		if (s->tag == tag &&
		    memcmp(&pool_at(bc, s->idx - 1u)->hoa, hoa, sizeof(*hoa)) == 0)
			return pos;
		pos = (pos + 1u) & bc->mask;
	}
}

/* Backward-shift deletion: pull later members of the run into the hole
 * whenever their home slot allows it, so lookups never need tombstones. */
static void index_erase(struct bcache *bc, uint32_t hole)
{
	uint32_t pos = hole;

	for (;;) {
		pos = (pos + 1u) & bc->mask;
		if (!bc->index[pos].idx)
			break;
		uint32_t home = bc->index[pos].tag & bc->mask;
		/* May move if home is not cyclically inside (hole, pos]. */
		if (((pos - home) & bc->mask) >= ((pos - hole) & bc->mask)) {
			bc->index[hole] = bc->index[pos];
			hole = pos;
		}
	}
	bc->index[hole] = (struct slot){ 0, 0 };
}

/* ---- expiry heap ----
 *
 * A 4-ary min-heap whose nodes carry their own key, so sifting compares
 * within the heap array (four children share one cache line) and touches a
 * pool entry only to update its back-pointer.
 *
 * The key is a lower bound of the entry's real expiry, not always equal to
 * it: a refresh that pushes the expiry later -- what nearly every BU does --
 * only writes e->expiry_ms, O(1). When such a stale node reaches the top,
 * bcache_expire()/bcache_next_expiry() re-key it and sift it down, once per
 * lifetime, off the BU path. A shorter expiry sifts up at once so the key
 * never overshoots. */

static inline void heap_set(struct bcache *bc, uint32_t hpos, struct hnode n)
{
	bc->heap[hpos] = n;
	pool_at(bc, n.idx)->heap_pos = hpos;
}

static void heap_up(struct bcache *bc, uint32_t hpos)
{
	struct hnode n = bc->heap[hpos];

	while (hpos > 0) {
		uint32_t parent = (hpos - 1u) / 4u;

		if (bc->heap[parent].key <= n.key)
			break;
		heap_set(bc, hpos, bc->heap[parent]);
		hpos = parent;
	}
	heap_set(bc, hpos, n);
}

static void heap_down(struct bcache *bc, uint32_t hpos)
{
	uint32_t n = bc->count;
	struct hnode x = bc->heap[hpos];

	for (;;) {
		uint32_t c = 4u * hpos + 1u, best = c;

		if (c >= n)
			break;
		for (uint32_t k = c + 1u; k < c + 4u && k < n; k++)
			if (bc->heap[k].key < bc->heap[best].key)
				best = k;
		if (bc->heap[best].key >= x.key)
			break;
		heap_set(bc, hpos, bc->heap[best]);
		hpos = best;
	}
	heap_set(bc, hpos, x);
}

/* Restores heap order after the key at hpos changed either way. */
static void heap_fix(struct bcache *bc, uint32_t hpos)
{
	if (hpos > 0 && bc->heap[(hpos - 1u) / 4u].key > bc->heap[hpos].key)
		heap_up(bc, hpos);
	else
		heap_down(bc, hpos);
}

/* The entry's expiry changed from `old`: keep the key a lower bound of it.
 * The key is <= old, so a later expiry needs no look at the heap at all. */
static void heap_expiry_changed(struct bcache *bc, const struct bce *e, uint64_t old)
{
	if (e->expiry_ms >= old)
		return;
	struct hnode *n = &bc->heap[e->heap_pos];

	if (e->expiry_ms < n->key) {
		n->key = e->expiry_ms;
		heap_up(bc, e->heap_pos);
	}
}

/* Re-keys stale nodes at the top until the top key is a real expiry. */
static void heap_settle_top(struct bcache *bc)
{
	while (bc->count) {
		uint64_t real = pool_at(bc, bc->heap[0].idx)->expiry_ms;

		if (bc->heap[0].key >= real)
			return;
		bc->heap[0].key = real;
		heap_down(bc, 0);
	}
}

/* Removes heap position hpos; bc->count still includes the entry. */
static void heap_remove(struct bcache *bc, uint32_t hpos)
{
	uint32_t last = bc->count - 1u;

	if (hpos != last) {
		heap_set(bc, hpos, bc->heap[last]);
		bc->count--;
		heap_fix(bc, hpos);
		bc->count++;
	}
}

static int heap_reserve(struct bcache *bc, uint32_t n)
{
	if (n <= bc->heap_cap)
		return 0;
	uint32_t cap = bc->heap_cap ? bc->heap_cap : 64u;

	while (cap < n)
		cap *= 2u;
	struct hnode *nh = big_alloc((size_t)cap * sizeof(*nh));

	if (!nh)
		return -1;
	if (bc->count)
		memcpy(nh, bc->heap, (size_t)bc->count * sizeof(*nh));
	big_free(bc->heap, (size_t)bc->heap_cap * sizeof(*nh));
	bc->heap = nh;
	bc->heap_cap = cap;
	return 0;
}

/* ---- life cycle ---- */

static void counters_init(struct bcache *bc)
{
	snprintf(bc->label, sizeof(bc->label), "cache=\"%s\"", bc->tbl_name);
	bc->c_insert = (struct counter){ "mipsec_bcache_inserts_total",
		"Bindings created", bc->label, 0, NULL };
	bc->c_update = (struct counter){ "mipsec_bcache_updates_total",
		"Bindings refreshed or moved", bc->label, 0, NULL };
	bc->c_delete = (struct counter){ "mipsec_bcache_deletes_total",
		"Bindings deleted (deregistration or administrative)", bc->label, 0, NULL };
	bc->c_expire = (struct counter){ "mipsec_bcache_expired_total",
		"Bindings removed because their lifetime ran out", bc->label, 0, NULL };
	bc->c_full = (struct counter){ "mipsec_bcache_full_total",
		"Binding creations refused because the cache was full", bc->label, 0, NULL };
	counter_register(&bc->c_insert);
	counter_register(&bc->c_update);
	counter_register(&bc->c_delete);
	counter_register(&bc->c_expire);
	counter_register(&bc->c_full);
}

struct bcache *bcache_create(const struct bcache_cfg *cfg)
{
	struct bcache *bc = calloc(1, sizeof(*bc));

	if (!bc)
		return NULL;
	if (getrandom(bc->key, sizeof(bc->key), 0) != (ssize_t)sizeof(bc->key)) {
		log_err("bcache", "getrandom failed for the hash key err=\"%s\"", strerror(errno));
		free(bc);
		return NULL;
	}
	bc->max_entries = cfg && cfg->max_entries ? cfg->max_entries : BCACHE_DEFAULT_MAX;
	if (bc->max_entries > BCACHE_HARD_MAX)
		bc->max_entries = BCACHE_HARD_MAX;
	snprintf(bc->tbl_name, sizeof(bc->tbl_name), "%s",
		 cfg && cfg->name ? cfg->name : "bindings");
	bc->free_head = NO_ENTRY;
	bc->chunk_shift = CHUNK_SHIFT_MIN;
	while (bc->chunk_shift < CHUNK_SHIFT_MAX && (1u << bc->chunk_shift) < bc->max_entries)
		bc->chunk_shift++;
	bc->index = index_alloc(INDEX_MIN_SLOTS);
	if (!bc->index) {
		free(bc);
		return NULL;
	}
	bc->mask = INDEX_MIN_SLOTS - 1u;
	counters_init(bc);
	return bc;
}

void bcache_destroy(struct bcache *bc)
{
	if (!bc)
		return;
	if (bc->tbl.name)
		table_unregister(&bc->tbl);
	counter_unregister(&bc->c_insert);
	counter_unregister(&bc->c_update);
	counter_unregister(&bc->c_delete);
	counter_unregister(&bc->c_expire);
	counter_unregister(&bc->c_full);
	for (uint32_t c = 0; c < bc->nchunks; c++)
		big_free(bc->chunks[c], chunk_bytes(bc));
	free(bc->chunks);
	index_free(bc->index, bc->mask + 1u);
	big_free(bc->heap, (size_t)bc->heap_cap * sizeof(struct hnode));
	free(bc);
}

const char *bcache_strerror(int rc)
{
	switch (rc) {
	case BCACHE_UPDATED: return "binding updated";
	case BCACHE_INSERTED: return "binding created";
	case BCACHE_ERR_FULL: return "binding cache full";
	case BCACHE_ERR_NOMEM: return "out of memory";
	case BCACHE_ERR_INVAL: return "invalid binding (zero lifetime, bad care-of family or flags)";
	}
	return "unknown binding cache error";
}

/* ---- operations ---- */

struct bce *bcache_lookup(const struct bcache *bc, const struct in6_addr *hoa)
{
	uint32_t pos = index_find(bc, hoa, hash_tag(bc, hoa));

	return pos == NO_ENTRY ? NULL : pool_at(bc, bc->index[pos].idx - 1u);
}

static bool update_valid(const struct bce_update *u)
{
	if (u->lifetime_s == 0 || (u->flags & ~BCE_F_ALL))
		return false;
	return u->coa.family == AF_INET || u->coa.family == AF_INET6;
}

static void apply_update(struct bce *e, const struct bce_update *u, uint64_t now_ms)
{
	e->coa = u->coa;
	e->coa_port = u->coa_port;
	e->seq = u->seq;
	e->flags = u->flags;
	e->lifetime_s = u->lifetime_s;
	e->expiry_ms = now_ms + (uint64_t)u->lifetime_s * 1000u;
	e->peer = u->peer;
	e->ext = u->ext;
}

static void notify(struct bcache *bc, enum bcache_event ev, const struct bce *e)
{
	if (bc->obs)
		bc->obs(bc->obs_arg, ev, e);
}

int bcache_update_entry(struct bcache *bc, struct bce *e, const struct bce_update *u,
			uint64_t now_ms)
{
	if (!update_valid(u) || memcmp(&e->hoa, &u->hoa, sizeof(e->hoa)) != 0 || !e->in_use)
		return BCACHE_ERR_INVAL;
	uint64_t old = e->expiry_ms;

	apply_update(e, u, now_ms);
	heap_expiry_changed(bc, e, old);
	counter_inc(&bc->c_update);
	notify(bc, BCACHE_EV_UPDATE, e);
	return BCACHE_UPDATED;
}

/* Links a new pool entry into index and heap; `e` fields already set. */
static int insert_new(struct bcache *bc, const struct in6_addr *hoa, uint32_t tag,
		      const struct bce *src, struct bce **out)
{
	if (bc->count >= bc->max_entries) {
		counter_inc(&bc->c_full);
		return BCACHE_ERR_FULL;
	}
	if ((uint64_t)(bc->count + 1u) * 2u > (uint64_t)bc->mask + 1u && index_grow(bc) < 0)
		return BCACHE_ERR_NOMEM;
	if (heap_reserve(bc, bc->count + 1u) < 0)
		return BCACHE_ERR_NOMEM;
	uint32_t idx = pool_alloc(bc);

	if (idx == NO_ENTRY)
		return BCACHE_ERR_NOMEM;
	struct bce *e = pool_at(bc, idx);

	*e = *src;
	e->hoa = *hoa;
	e->in_use = 1;
	index_place(bc->index, bc->mask, (struct slot){ tag, idx + 1u });
	bc->heap[bc->count] = (struct hnode){ e->expiry_ms, idx, 0 };
	e->heap_pos = bc->count;
	bc->count++;
	heap_up(bc, e->heap_pos);
	if (out)
		*out = e;
	return BCACHE_INSERTED;
}

int bcache_update(struct bcache *bc, const struct bce_update *u, uint64_t now_ms,
		  struct bce **out)
{
	uint32_t tag, pos;
	struct bce tmp, *e;
	int rc;

	if (!update_valid(u))
		return BCACHE_ERR_INVAL;
	tag = hash_tag(bc, &u->hoa);
	pos = index_find(bc, &u->hoa, tag);
	if (pos != NO_ENTRY) {
		e = pool_at(bc, bc->index[pos].idx - 1u);
		if (out)
			*out = e;
		return bcache_update_entry(bc, e, u, now_ms);
	}
	memset(&tmp, 0, sizeof(tmp));
	apply_update(&tmp, u, now_ms);
	tmp.registered_ms = now_ms;
	rc = insert_new(bc, &u->hoa, tag, &tmp, &e);
	if (rc == BCACHE_INSERTED) {
		counter_inc(&bc->c_insert);
		notify(bc, BCACHE_EV_INSERT, e);
		if (out)
			*out = e;
	}
	return rc;
}

int bcache_restore(struct bcache *bc, const struct bce *src)
{
	uint32_t tag = hash_tag(bc, &src->hoa);
	struct bce *e;

	if (src->lifetime_s == 0 || (src->flags & ~BCE_F_ALL) ||
	    (src->coa.family != AF_INET && src->coa.family != AF_INET6))
		return BCACHE_ERR_INVAL;
	if (index_find(bc, &src->hoa, tag) != NO_ENTRY) {
		e = bcache_lookup(bc, &src->hoa);
		struct bce keep = *src;

		uint64_t old = e->expiry_ms;

		keep.heap_pos = e->heap_pos;
		keep.in_use = 1;
		*e = keep;
		heap_expiry_changed(bc, e, old);
		return BCACHE_UPDATED;
	}
	return insert_new(bc, &src->hoa, tag, src, NULL);
}

/* Unlinks pool entry idx (at index slot `pos`) from everything. */
static void unlink_entry(struct bcache *bc, uint32_t pos, uint32_t idx)
{
	struct bce *e = pool_at(bc, idx);

	index_erase(bc, pos);
	heap_remove(bc, e->heap_pos);
	bc->count--;
	pool_free(bc, idx);
}

bool bcache_delete(struct bcache *bc, const struct in6_addr *hoa)
{
	uint32_t pos = index_find(bc, hoa, hash_tag(bc, hoa));

	if (pos == NO_ENTRY)
		return false;
	uint32_t idx = bc->index[pos].idx - 1u;

	counter_inc(&bc->c_delete);
	notify(bc, BCACHE_EV_DELETE, pool_at(bc, idx));
	unlink_entry(bc, pos, idx);
	return true;
}

void bcache_remove(struct bcache *bc, struct bce *e)
{
	if (e && e->in_use)
		bcache_delete(bc, &e->hoa);
}

struct bce *bcache_next(const struct bcache *bc, uint32_t *cursor)
{
	while (*cursor < bc->hw) {
		struct bce *e = pool_at(bc, (*cursor)++);

		if (e->in_use)
			return e;
	}
	return NULL;
}

size_t bcache_count(const struct bcache *bc) { return bc->count; }
uint32_t bcache_max_entries(const struct bcache *bc) { return bc->max_entries; }

uint64_t bcache_next_expiry(struct bcache *bc)
{
	heap_settle_top(bc);
	return bc->count ? bc->heap[0].key : UINT64_MAX;
}

size_t bcache_expire(struct bcache *bc, uint64_t now_ms, bcache_expire_cb cb, void *arg)
{
	size_t n = 0;

	for (;;) {
		heap_settle_top(bc);
		if (!bc->count || bc->heap[0].key > now_ms)
			break;
		uint32_t idx = bc->heap[0].idx;
		struct bce *e = pool_at(bc, idx);
		uint32_t pos = index_find(bc, &e->hoa, hash_tag(bc, &e->hoa));

		if (cb)
			cb(e, arg);
		notify(bc, BCACHE_EV_EXPIRE, e);
		counter_inc(&bc->c_expire);
		unlink_entry(bc, pos, idx);
		n++;
	}
	return n;
}

void bcache_set_observer(struct bcache *bc, bcache_observer fn, void *arg)
{
	bc->obs = fn;
	bc->obs_arg = arg;
}

/* ---- dump ---- */

const char *bce_flags_str(uint8_t flags, char *buf)
{
	static const char letters[] = "AHLKR";
	size_t n = 0;

	for (unsigned i = 0; i < 5; i++)
		if (flags & (1u << i))
			buf[n++] = letters[i];
	buf[n] = '\0';
	return buf;
}

static json_t *bce_json(const struct bce *e, uint64_t now_ms)
{
	char hoa[INET6_ADDRSTRLEN], coa[INET6_ADDRSTRLEN + 4], fl[8];
	struct ip_addr h = { .family = AF_INET6, .v6 = e->hoa };
	uint64_t left = e->expiry_ms > now_ms ? (e->expiry_ms - now_ms) / 1000u : 0;
	json_t *o;

	ip_addr_fmt(&h, hoa, sizeof(hoa));
	ip_addr_fmt(&e->coa, coa, sizeof(coa));
	o = json_pack("{s:s, s:s, s:I, s:i, s:s, s:I}", "home_address", hoa,
		      "care_of_address", coa, "lifetime_remaining_s", (json_int_t)left,
		      "sequence", (int)e->seq, "flags", bce_flags_str(e->flags, fl),
		      "lifetime_s", (json_int_t)e->lifetime_s);
	if (o && e->coa_port)
		json_object_set_new(o, "care_of_port", json_integer(e->coa_port));
	if (o && e->peer != BCE_PEER_NONE)
		json_object_set_new(o, "peer", json_integer(e->peer));
	return o;
}

json_t *bcache_dump(const struct bcache *bc, uint64_t now_ms)
{
	json_t *arr = json_array();
	uint32_t cur = 0;
	struct bce *e;

	if (!arr)
		return NULL;
	while ((e = bcache_next(bc, &cur))) {
		json_t *o = bce_json(e, now_ms);

		if (!o || json_array_append_new(arr, o) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static json_t *table_dump(void *arg)
{
	return bcache_dump(arg, mono_ms());
}

void bcache_table_register(struct bcache *bc, const char *name)
{
	if (bc->tbl.name)
		table_unregister(&bc->tbl);
	if (name)
		snprintf(bc->tbl_name, sizeof(bc->tbl_name), "%s", name);
	bc->tbl.name = bc->tbl_name;
	bc->tbl.description = "Mobile IPv6 binding cache (RFC 6275 9.1)";
	bc->tbl.dump = table_dump;
	bc->tbl.arg = bc;
	table_register(&bc->tbl);
}

/* ---- diagnostics ---- */

uint32_t bcache_max_probe(const struct bcache *bc)
{
	uint32_t worst = 0;

	for (uint32_t pos = 0; pos <= bc->mask; pos++) {
		if (!bc->index[pos].idx)
			continue;
		uint32_t d = (pos - (bc->index[pos].tag & bc->mask)) & bc->mask;

		if (d > worst)
			worst = d;
	}
	return worst + 1u;
}

size_t bcache_index_slots(const struct bcache *bc) { return (size_t)bc->mask + 1u; }

size_t bcache_memory(const struct bcache *bc)
{
	return sizeof(*bc) + (size_t)bc->nchunks * (chunk_bytes(bc) + sizeof(void *)) +
	       ((size_t)bc->mask + 1u) * sizeof(struct slot) + (size_t)bc->heap_cap * sizeof(struct hnode);
}
