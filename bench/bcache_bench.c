/* Binding cache benchmark: memory per binding at a million bindings and the
 * cost of the HA's per-BU work (lookup, sequence check, update).
 *
 *   bcache_bench [bindings]        (default 1000000)
 *
 * Build without sanitizers for meaningful numbers (see bench/README.md). */
#include <arpa/inet.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mip6/bcache.h"
#include "mip6/bcache_store.h"
#include "mip6/seq.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static size_t rss_bytes(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

static size_t heap_bytes(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;	/* arena in use + mmapped chunks */
}

/* xorshift64*: cheap per-op randomness that does not call the kernel. */
static uint64_t rng_state;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

/* Transparent huge pages actually backing us (AnonHugePages), in bytes. */
static size_t thp_bytes(void)
{
	char line[256];
	size_t kb = 0;
	FILE *f = fopen("/proc/self/smaps_rollup", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "AnonHugePages: %zu kB", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024u;
}

/* Baseline: one dependent random read over a 128 MiB array (huge pages
 * offered), i.e. what a single cache miss costs on this machine. A lookup
 * hit needs two (index slot, then entry). */
static volatile uint32_t chase_sink;

static double miss_latency_ns(void)
{
	size_t n = (128u << 20) / sizeof(uint32_t), steps = 4000000;
	uint32_t *a = aligned_alloc(2u << 20, n * sizeof(*a)), p = 0;
	double t0, t1;

	if (!a)
		return 0;
	madvise(a, n * sizeof(*a), MADV_HUGEPAGE);
	for (size_t i = 0; i < n; i++)
		a[i] = (uint32_t)i;
	for (size_t i = n - 1; i > 0; i--) {	/* Sattolo: one single cycle */
		size_t j = rng() % i;
		uint32_t t = a[i];

		a[i] = a[j];
		a[j] = t;
	}
	t0 = now_s();
	for (size_t i = 0; i < steps; i++)
		p = a[p];
	t1 = now_s();
	free(a);
	chase_sink = p;
	return (t1 - t0) * 1e9 / (double)steps;
}

static void report(const char *what, size_t ops, double secs)
{
	printf("%-34s %10zu ops %8.1f ns/op %12.0f ops/s\n", what, ops, secs * 1e9 / (double)ops,
	       (double)ops / secs);
}

/* Write-behind cost: `rows` BUs queued, then one flush (one transaction),
 * as the HA's 100 ms timer does. Returns 0 or -1. */
static int bench_store(const struct in6_addr *keys, size_t rows)
{
	char dir[] = "/tmp/bcbench.XXXXXX", path[64], p2[80];
	struct bcache_store *st = NULL;
	struct bcache *bc;
	struct bce_update u = { .peer = BCE_PEER_NONE, .flags = BCE_F_A | BCE_F_H };
	double t0, t1;
	int rc = -1;

	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/b.db", dir);
	bc = bcache_create(&(struct bcache_cfg){ .name = "bench_store", .max_entries = (uint32_t)rows });
	if (!bc || bcache_store_open(path, &st, NULL, 0) != BCS_OK)
		goto out;
	bcache_store_attach(st, bc);
	u.coa.family = AF_INET6;
	for (int round = 0; round < 2; round++) {
		for (size_t i = 0; i < rows; i++) {
			u.hoa = keys[i];
			u.seq = (uint16_t)round;
			u.lifetime_s = 3600;
			bcache_update(bc, &u, 0, NULL);
		}
		t0 = now_s();
		if (bcache_store_flush(st) != BCS_OK)
			goto out;
		t1 = now_s();
		report(round ? "store flush, updates (1 txn)" : "store flush, inserts (1 txn)",
		       rows, t1 - t0);
	}
	rc = 0;
out:
	bcache_store_close(st);
	bcache_destroy(bc);
	static const char *const sfx[] = { "", "-wal", "-shm" };

	for (size_t i = 0; i < 3; i++) {
		snprintf(p2, sizeof(p2), "%s%s", path, sfx[i]);
		unlink(p2);
	}
	rmdir(dir);
	return rc;
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 0) : 1000000u;
	struct in6_addr *keys, *query;
	uint32_t *order;
	struct bcache *bc;
	struct bce_update u;
	size_t rss0, heap0, rss1, heap1;
	double t0, t1;
	uint64_t sink = 0;

	if (n == 0 || n > BCACHE_HARD_MAX) {
		fprintf(stderr, "bcache_bench: bindings must be 1..%u\n", BCACHE_HARD_MAX);
		return 2;
	}
	if (getrandom(&rng_state, sizeof(rng_state), 0) != sizeof(rng_state) || !rng_state)
		rng_state = 88172645463325252ull;
	/* Test data first, so the baseline includes it. */
	keys = malloc(n * sizeof(*keys));
	query = malloc(n * sizeof(*query));
	order = malloc(n * sizeof(*order));
	if (!keys || !order || !query)
		return 1;
	for (size_t i = 0; i < n; i++) {
		uint64_t a = rng(), b = rng();

		memcpy(&keys[i].s6_addr[0], &a, 8);
		memcpy(&keys[i].s6_addr[8], &b, 8);
		order[i] = (uint32_t)i;
	}
	for (size_t i = n - 1; i > 0; i--) {	/* shuffle: lookups in random order */
		size_t j = rng() % (i + 1);
		uint32_t t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	/* The queries in shuffled order, laid out sequentially: the loops below
	 * then measure the cache's own misses, not the benchmark's. */
	for (size_t i = 0; i < n; i++)
		query[i] = keys[order[i]];
	memset(&u, 0, sizeof(u));
	u.coa.family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8:ffff::1", &u.coa.v6);
	u.flags = BCE_F_A | BCE_F_H | BCE_F_K;
	u.peer = BCE_PEER_NONE;

	rss0 = rss_bytes();
	heap0 = heap_bytes();
	bc = bcache_create(&(struct bcache_cfg){ .name = "bench", .max_entries = (uint32_t)n });
	if (!bc)
		return 1;

	t0 = now_s();
	for (size_t i = 0; i < n; i++) {
		u.hoa = keys[i];
		u.lifetime_s = 1 + (uint32_t)(rng() % 3600);
		u.seq = (uint16_t)i;
		if (bcache_update(bc, &u, 0, NULL) != BCACHE_INSERTED) {
			fprintf(stderr, "insert %zu failed\n", i);
			return 1;
		}
	}
	t1 = now_s();
	rss1 = rss_bytes();
	heap1 = heap_bytes();

	printf("bindings                           %10zu\n", bcache_count(bc));
	printf("structure bytes (bcache_memory)    %10zu  (%.1f B/binding)\n", bcache_memory(bc),
	       (double)bcache_memory(bc) / (double)n);
	printf("malloc delta (mallinfo2, small)     %10zu  (%.1f B/binding)\n", heap1 - heap0,
	       (double)(heap1 - heap0) / (double)n);
	printf("RSS delta (/proc/self/statm)       %10zu  (%.1f B/binding)\n", rss1 - rss0,
	       (double)(rss1 - rss0) / (double)n);
	printf("transparent huge pages in use      %10zu\n", thp_bytes());
	printf("index slots %zu, max probe %u, sizeof(struct bce) %zu\n",
	       bcache_index_slots(bc), bcache_max_probe(bc), sizeof(struct bce));
	report("insert (incl. growth)", n, t1 - t0);

	t0 = now_s();
	for (size_t i = 0; i < n; i++) {
		const struct bce *e = bcache_lookup(bc, &query[i]);

		sink += e ? e->seq : 0;
	}
	t1 = now_s();
	report("lookup hit (random order)", n, t1 - t0);

	t0 = now_s();
	for (size_t i = 0; i < n; i++) {
		struct in6_addr miss = query[i];

		miss.s6_addr[0] ^= 0x80;
		sink += bcache_lookup(bc, &miss) != NULL;
	}
	t1 = now_s();
	report("lookup miss", n, t1 - t0);

	/* What the HA does per accepted BU: look up, check the sequence number
	 * (RFC 6275 §9.5.1), update in place (expiry heap re-ordered). */
	size_t accepted = 0;

	t0 = now_s();
	for (size_t i = 0; i < n; i++) {
		struct bce *e = bcache_lookup(bc, &query[i]);
		uint16_t seq = (uint16_t)(e->seq + 1u);

		if (!seq_newer(seq, e->seq))
			continue;
		u.hoa = e->hoa;
		u.seq = seq;
		u.lifetime_s = 1 + (uint32_t)(rng() % 3600);
		accepted += bcache_update_entry(bc, e, &u, 1000) == BCACHE_UPDATED;
	}
	t1 = now_s();
	report("BU: lookup + seq check + update", n, t1 - t0);

	t0 = now_s();
	for (size_t i = 0; i < n; i++) {
		u.hoa = query[i];
		u.seq = (uint16_t)(i + 7);
		sink += bcache_update(bc, &u, 2000, NULL) == BCACHE_UPDATED;
	}
	t1 = now_s();
	report("bcache_update (upsert, existing)", n, t1 - t0);

	t0 = now_s();
	size_t expired = bcache_expire(bc, UINT64_MAX - 1, NULL, NULL);

	t1 = now_s();
	report("expire (all, earliest first)", expired, t1 - t0);

	if (bench_store(keys, n < 100000 ? n : 100000) < 0)
		fprintf(stderr, "store benchmark failed\n");
	printf("baseline: one random DRAM read     %10.1f ns\n", miss_latency_ns());
	printf("(accepted %zu, checksum %" PRIu64 ")\n", accepted, sink);
	bcache_destroy(bc);
	free(keys);
	free(query);
	free(order);
	return 0;
}
