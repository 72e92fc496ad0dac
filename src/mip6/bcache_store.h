/* SQLite persistence of the binding cache: what an HA needs to resume its
 * bindings after a restart (DESIGN.md §2).
 *
 * Write-behind: attached to a cache, the store queues every insert, update,
 * delete and expiry in memory; bcache_store_flush() writes the queue in one
 * transaction. The HA role calls it from a ~100 ms timer and at shutdown, so
 * a Binding Update flood costs one WAL commit per tick, not one fsync per BU.
 * The database runs in WAL mode with synchronous=NORMAL: a committed flush
 * survives kill -9 of the daemon (it is in the WAL, handed to the kernel);
 * a power cut may lose the last flushes, which costs those MNs one
 * re-registration, not correctness.
 *
 * Monotonic time does not survive a restart, so rows carry absolute
 * CLOCK_REALTIME seconds (expiry, registration); loading skips rows already
 * expired and converts the rest back to monotonic milliseconds. */
#ifndef MIPSEC_MIP6_BCACHE_STORE_H
#define MIPSEC_MIP6_BCACHE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "mip6/bcache.h"

#define BCACHE_STORE_SCHEMA_VERSION 1
#define BCACHE_STORE_APP_ID 0x4d495042	/* "MIPB" in PRAGMA application_id */
#define BCACHE_STORE_QUEUE_MAX (1u << 22)	/* queued changes kept while flushes fail */

enum bcache_store_err {
	BCS_OK = 0,
	BCS_ERR_OPEN,		/* cannot open or create the file */
	BCS_ERR_NOTDB,		/* the file is not an SQLite database */
	BCS_ERR_FOREIGN,	/* an SQLite database, but not a mipsec binding store */
	BCS_ERR_VERSION,	/* written by a newer mipsec (schema version too high) */
	BCS_ERR_CORRUPT,	/* SQLite reports corruption, or the schema is damaged */
	BCS_ERR_IO,		/* disk full, I/O error, locked */
	BCS_ERR_NOMEM,
};
const char *bcache_store_strerror(int err);

struct bcache_store;

/* Opens (creating if needed) the store at `path`. On failure returns the
 * error and writes a one-line explanation into err (may be NULL). */
int bcache_store_open(const char *path, struct bcache_store **out, char *err, size_t errlen);
/* Flushes what is queued, then closes. NULL is fine. */
void bcache_store_close(struct bcache_store *s);
/* Detail of the last error (SQLite's message and our context). */
const char *bcache_store_errmsg(const struct bcache_store *s);

/* Loads every unexpired row into bc (rows with expiry <= now_wall_s are
 * skipped and purged; malformed rows are skipped, counted and logged).
 * Monotonic expiry = now_mono_ms + remaining wall-clock time. */
struct bcache_store_load_stats {
	size_t loaded, expired, bad, rejected;	/* rejected: cache refused (full) */
};
int bcache_store_load(struct bcache_store *s, struct bcache *bc, uint64_t now_mono_ms,
		      int64_t now_wall_s, struct bcache_store_load_stats *st);

/* Makes the store observe bc: each change is queued (converted to wall-clock
 * time with the current clocks). Replaces any other observer of bc. */
void bcache_store_attach(struct bcache_store *s, struct bcache *bc);
/* Queues one change explicitly (what the observer does). */
void bcache_store_note(struct bcache_store *s, enum bcache_event ev, const struct bce *e);

/* Writes the queue in one transaction. On failure the queue is kept for the
 * next attempt. */
int bcache_store_flush(struct bcache_store *s);
size_t bcache_store_pending(const struct bcache_store *s);

#endif
