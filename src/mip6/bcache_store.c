#include "mip6/bcache_store.h"

#include <arpa/inet.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/stats.h"
#include "net/loop.h"

static COUNTER_DEFINE(c_flush, "mipsec_bcache_store_flushes_total",
		      "Binding store write-behind transactions committed");
static COUNTER_DEFINE(c_rows, "mipsec_bcache_store_rows_written_total",
		      "Binding store rows upserted or deleted");
static COUNTER_DEFINE(c_err, "mipsec_bcache_store_errors_total",
		      "Binding store open, load or flush failures");
static COUNTER_DEFINE(c_drop, "mipsec_bcache_store_dropped_total",
		      "Binding changes dropped because the write-behind queue was full");
static COUNTER_DEFINE(c_bad, "mipsec_bcache_store_bad_rows_total",
		      "Malformed binding rows skipped at load");

enum rec_op { REC_UPSERT, REC_DELETE };

/* A queued change: the entry copied as it was, plus wall-clock times. */
struct rec {
	struct bce e;
	int64_t expiry_wall;
	int64_t registered_wall;
	uint32_t arrival;	/* queue order, to keep the last change per key */
	uint8_t op;
};

struct bcache_store {
	sqlite3 *db;
	sqlite3_stmt *upsert, *del, *select, *purge;
	struct rec *q;
	size_t qlen, qcap;
	char errmsg[256];
};

static const char schema_sql[] =
	"CREATE TABLE binding ("
	" home_address BLOB PRIMARY KEY NOT NULL,"	/* 16 bytes */
	" coa_family INTEGER NOT NULL,"			/* 4 or 6 */
	" care_of_address BLOB NOT NULL,"		/* 4 or 16 bytes */
	" coa_port INTEGER NOT NULL,"
	" lifetime INTEGER NOT NULL,"			/* granted, seconds */
	" expiry_wall INTEGER NOT NULL,"		/* CLOCK_REALTIME seconds */
	" registered_wall INTEGER NOT NULL,"
	" sequence INTEGER NOT NULL,"
	" flags INTEGER NOT NULL,"			/* BCE_F_* */
	" peer INTEGER NOT NULL,"
	" ext INTEGER NOT NULL"
	") WITHOUT ROWID;";

const char *bcache_store_strerror(int err)
{
	switch (err) {
	case BCS_OK: return "ok";
	case BCS_ERR_OPEN: return "cannot open binding store";
	case BCS_ERR_NOTDB: return "binding store file is not an SQLite database";
	case BCS_ERR_FOREIGN: return "database is not a mipsec binding store";
	case BCS_ERR_VERSION: return "binding store schema is newer than this mipsec";
	case BCS_ERR_CORRUPT: return "binding store is corrupt";
	case BCS_ERR_IO: return "binding store I/O error";
	case BCS_ERR_NOMEM: return "out of memory";
	}
	return "unknown binding store error";
}

static int map_sqlite(int rc, int dflt)
{
	switch (rc & 0xff) {
	case SQLITE_NOTADB: return BCS_ERR_NOTDB;
	case SQLITE_CORRUPT: return BCS_ERR_CORRUPT;
	case SQLITE_NOMEM: return BCS_ERR_NOMEM;
	case SQLITE_CANTOPEN: return BCS_ERR_OPEN;
	case SQLITE_IOERR: case SQLITE_FULL: case SQLITE_BUSY: case SQLITE_LOCKED:
	case SQLITE_READONLY: case SQLITE_PERM:
		return BCS_ERR_IO;
	}
	return dflt;
}

static int fail(struct bcache_store *s, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct bcache_store *s, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->errmsg, sizeof(s->errmsg), fmt, ap);
	va_end(ap);
	counter_inc(&c_err);
	return err;
}

/* Fails with SQLite's own message appended. */
static int fail_db(struct bcache_store *s, int rc, int dflt, const char *what)
{
	return fail(s, map_sqlite(rc, dflt), "%s: %s (sqlite %d)", what,
		    sqlite3_errmsg(s->db), rc);
}

static int exec(struct bcache_store *s, const char *sql, int dflt, const char *what)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? BCS_OK : fail_db(s, rc, dflt, what);
}

/* Runs a one-integer query ("PRAGMA user_version", counts). */
static int query_int(struct bcache_store *s, const char *sql, int64_t *out, const char *what)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return fail_db(s, rc, BCS_ERR_CORRUPT, what);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		int err = fail_db(s, rc, BCS_ERR_CORRUPT, what);

		sqlite3_finalize(st);
		return err;
	}
	*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return BCS_OK;
}

static int create_schema(struct bcache_store *s)
{
	char sql[sizeof(schema_sql) + 128];
	int err;

	snprintf(sql, sizeof(sql), "BEGIN IMMEDIATE;%sPRAGMA application_id=%d;"
		 "PRAGMA user_version=%d;COMMIT;", schema_sql, BCACHE_STORE_APP_ID,
		 BCACHE_STORE_SCHEMA_VERSION);
	err = exec(s, sql, BCS_ERR_IO, "creating the binding schema");
	if (err)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return err;
}

/* Decides what the file is: ours, new, foreign or too new. */
static int check_identity(struct bcache_store *s)
{
	int64_t app, ver, ntables;
	int err;

	if ((err = query_int(s, "PRAGMA application_id", &app, "reading application_id")) ||
	    (err = query_int(s, "PRAGMA user_version", &ver, "reading user_version")) ||
	    (err = query_int(s, "SELECT count(*) FROM sqlite_master", &ntables,
			     "reading the schema")))
		return err;
	if (app == 0 && ver == 0 && ntables == 0)
		return create_schema(s);
	if (app != BCACHE_STORE_APP_ID)
		return fail(s, BCS_ERR_FOREIGN, "application_id is 0x%08llx, expected 0x%08x "
			    "(%lld objects in the file): not a mipsec binding store",
			    (unsigned long long)(uint32_t)app, BCACHE_STORE_APP_ID,
			    (long long)ntables);
	if (ver > BCACHE_STORE_SCHEMA_VERSION)
		return fail(s, BCS_ERR_VERSION, "schema version %lld, this mipsec knows up to %d",
			    (long long)ver, BCACHE_STORE_SCHEMA_VERSION);
	if (ver < 1)
		return fail(s, BCS_ERR_CORRUPT, "schema version %lld with a mipsec application_id",
			    (long long)ver);
	return BCS_OK;
}

static int prepare(struct bcache_store *s, const char *sql, sqlite3_stmt **st)
{
	int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);

	/* Our application_id but missing columns: the schema was damaged. */
	return rc == SQLITE_OK ? BCS_OK : fail_db(s, rc, BCS_ERR_CORRUPT, "binding schema");
}

static int prepare_all(struct bcache_store *s)
{
	int err;

	if ((err = prepare(s, "INSERT INTO binding VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)"
			   " ON CONFLICT(home_address) DO UPDATE SET coa_family=?2,"
			   " care_of_address=?3, coa_port=?4, lifetime=?5, expiry_wall=?6,"
			   " registered_wall=?7, sequence=?8, flags=?9, peer=?10, ext=?11",
			   &s->upsert)) ||
	    (err = prepare(s, "DELETE FROM binding WHERE home_address=?1", &s->del)) ||
	    (err = prepare(s, "SELECT home_address, coa_family, care_of_address, coa_port,"
			   " lifetime, expiry_wall, registered_wall, sequence, flags, peer, ext"
			   " FROM binding WHERE expiry_wall > ?1", &s->select)) ||
	    (err = prepare(s, "DELETE FROM binding WHERE expiry_wall <= ?1", &s->purge)))
		return err;
	return BCS_OK;
}

static int setup(struct bcache_store *s)
{
	int64_t dummy;
	int err;

	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, 2000);
	/* Touch the header first: a non-database fails here with NOTADB. */
	if ((err = query_int(s, "PRAGMA schema_version", &dummy, "reading the database header")))
		return err;
	if ((err = check_identity(s)))
		return err;
	/* 16 MiB page cache: a flush of a flood's worth of random keys stays in
	 * memory instead of re-reading B-tree pages. */
	if ((err = exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
			" PRAGMA cache_size=-16384;",
			BCS_ERR_IO, "setting WAL mode")))
		return err;
	return prepare_all(s);
}

int bcache_store_open(const char *path, struct bcache_store **out, char *err, size_t errlen)
{
	struct bcache_store *s = calloc(1, sizeof(*s));
	int rc, e;

	counter_register(&c_flush);
	counter_register(&c_rows);
	counter_register(&c_err);
	counter_register(&c_drop);
	counter_register(&c_bad);
	*out = NULL;
	if (!s) {
		if (err)
			snprintf(err, errlen, "out of memory");
		return BCS_ERR_NOMEM;
	}
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			     SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK)
		e = fail(s, map_sqlite(rc, BCS_ERR_OPEN), "cannot open %s: %s", path,
			 s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
	else
		e = setup(s);
	if (e) {
		if (err)
			snprintf(err, errlen, "%s: %s", path, s->errmsg);
		log_err("bcache", "binding store unusable path=%s err=\"%s\"", path, s->errmsg);
		s->qlen = 0;
		bcache_store_close(s);
		return e;
	}
	*out = s;
	return BCS_OK;
}

void bcache_store_close(struct bcache_store *s)
{
	if (!s)
		return;
	if (s->qlen && s->upsert && bcache_store_flush(s))
		log_err("bcache", "final flush failed, %zu binding changes lost err=\"%s\"",
			s->qlen, s->errmsg);
	sqlite3_finalize(s->upsert);
	sqlite3_finalize(s->del);
	sqlite3_finalize(s->select);
	sqlite3_finalize(s->purge);
	sqlite3_close(s->db);
	free(s->q);
	free(s);
}

const char *bcache_store_errmsg(const struct bcache_store *s) { return s->errmsg; }
size_t bcache_store_pending(const struct bcache_store *s) { return s->qlen; }

/* ---- write-behind queue ---- */

static int64_t wall_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Monotonic ms -> wall-clock seconds, floored so a restored binding never
 * outlives what was granted. */
static int64_t to_wall_s(uint64_t mono, uint64_t mono_now, int64_t wall_now_ms_v)
{
	int64_t delta = (int64_t)mono - (int64_t)mono_now;
	int64_t w = wall_now_ms_v + delta;

	return w >= 0 ? w / 1000 : -((-w + 999) / 1000);
}

void bcache_store_note(struct bcache_store *s, enum bcache_event ev, const struct bce *e)
{
	struct rec *r;

	if (s->qlen == s->qcap) {
		size_t ncap = s->qcap ? s->qcap * 2 : 256;
		struct rec *nq;

		if (ncap > BCACHE_STORE_QUEUE_MAX ||
		    !(nq = realloc(s->q, ncap * sizeof(*nq)))) {
			counter_inc(&c_drop);
			return;
		}
		s->q = nq;
		s->qcap = ncap;
	}
	r = &s->q[s->qlen];
	r->arrival = (uint32_t)s->qlen++;
	r->e = *e;
	r->op = (ev == BCACHE_EV_INSERT || ev == BCACHE_EV_UPDATE) ? REC_UPSERT : REC_DELETE;
	if (r->op == REC_UPSERT) {
		uint64_t mnow = mono_ms();
		int64_t wnow = wall_now_ms();

		r->expiry_wall = to_wall_s(e->expiry_ms, mnow, wnow);
		r->registered_wall = to_wall_s(e->registered_ms, mnow, wnow);
	}
}

static void observe(void *arg, enum bcache_event ev, const struct bce *e)
{
	bcache_store_note(arg, ev, e);
}

void bcache_store_attach(struct bcache_store *s, struct bcache *bc)
{
	bcache_set_observer(bc, observe, s);
}

static int write_rec(struct bcache_store *s, const struct rec *r)
{
	sqlite3_stmt *st = r->op == REC_UPSERT ? s->upsert : s->del;
	const struct bce *e = &r->e;
	int rc;

	sqlite3_reset(st);
	sqlite3_bind_blob(st, 1, &e->hoa, 16, SQLITE_STATIC);
	if (r->op == REC_UPSERT) {
		int v4 = e->coa.family == AF_INET;

		sqlite3_bind_int(st, 2, v4 ? 4 : 6);
		sqlite3_bind_blob(st, 3, e->coa.bytes, v4 ? 4 : 16, SQLITE_STATIC);
		sqlite3_bind_int(st, 4, e->coa_port);
		sqlite3_bind_int64(st, 5, e->lifetime_s);
		sqlite3_bind_int64(st, 6, r->expiry_wall);
		sqlite3_bind_int64(st, 7, r->registered_wall);
		sqlite3_bind_int(st, 8, e->seq);
		sqlite3_bind_int(st, 9, e->flags);
		sqlite3_bind_int64(st, 10, e->peer);
		sqlite3_bind_int64(st, 11, e->ext);
	}
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? BCS_OK : fail_db(s, rc, BCS_ERR_IO, "writing a binding");
}

static int rec_cmp(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	int c = memcmp(&x->e.hoa, &y->e.hoa, sizeof(x->e.hoa));

	if (c)
		return c;
	return x->arrival < y->arrival ? -1 : x->arrival > y->arrival;
}

/* Sorts the queue by home address (B-tree locality: neighbouring keys share
 * pages) and keeps only the last change of each binding. */
static void coalesce(struct bcache_store *s)
{
	size_t out = 0;

	qsort(s->q, s->qlen, sizeof(*s->q), rec_cmp);
	for (size_t i = 0; i < s->qlen; i++) {
		if (i + 1 < s->qlen && memcmp(&s->q[i].e.hoa, &s->q[i + 1].e.hoa,
					      sizeof(s->q[i].e.hoa)) == 0)
			continue;
		s->q[out++] = s->q[i];
	}
	for (size_t i = 0; i < out; i++)
		s->q[i].arrival = (uint32_t)i;
	s->qlen = out;
}

int bcache_store_flush(struct bcache_store *s)
{
	int err;

	if (!s->qlen)
		return BCS_OK;
	coalesce(s);
	if ((err = exec(s, "BEGIN IMMEDIATE", BCS_ERR_IO, "starting the flush")))
		return err;
	for (size_t i = 0; i < s->qlen; i++) {
		if ((err = write_rec(s, &s->q[i]))) {
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			return err;
		}
	}
	if ((err = exec(s, "COMMIT", BCS_ERR_IO, "committing the flush"))) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return err;
	}
	counter_inc(&c_flush);
	counter_add(&c_rows, s->qlen);
	s->qlen = 0;
	return BCS_OK;
}

/* ---- load ---- */

/* Converts one row; false (with a reason) if it is malformed. */
static bool row_to_bce(sqlite3_stmt *st, struct bce *e, int64_t *exp_w, int64_t *reg_w,
		       const char **why)
{
	int fam = sqlite3_column_int(st, 1);
	int64_t port = sqlite3_column_int64(st, 3), lt = sqlite3_column_int64(st, 4);
	int64_t seq = sqlite3_column_int64(st, 7), flags = sqlite3_column_int64(st, 8);
	int64_t peer = sqlite3_column_int64(st, 9), ext = sqlite3_column_int64(st, 10);
	int alen = fam == 4 ? 4 : 16;

	memset(e, 0, sizeof(*e));
	if (sqlite3_column_type(st, 0) != SQLITE_BLOB || sqlite3_column_bytes(st, 0) != 16)
		return *why = "home address is not 16 bytes", false;
	if (fam != 4 && fam != 6)
		return *why = "care-of family is not 4 or 6", false;
	if (sqlite3_column_type(st, 2) != SQLITE_BLOB || sqlite3_column_bytes(st, 2) != alen)
		return *why = "care-of address length does not match its family", false;
	if (port < 0 || port > 65535 || seq < 0 || seq > 65535)
		return *why = "port or sequence out of range", false;
	if (lt <= 0 || lt > UINT32_MAX || flags < 0 || flags > BCE_F_ALL)
		return *why = "lifetime or flags out of range", false;
	if (peer < 0 || peer > UINT32_MAX || ext < 0 || ext > UINT32_MAX)
		return *why = "peer or ext out of range", false;
	memcpy(&e->hoa, sqlite3_column_blob(st, 0), 16);
	e->coa.family = fam == 4 ? AF_INET : AF_INET6;
	memcpy(e->coa.bytes, sqlite3_column_blob(st, 2), (size_t)alen);
	e->coa_port = (uint16_t)port;
	e->lifetime_s = (uint32_t)lt;
	e->seq = (uint16_t)seq;
	e->flags = (uint8_t)flags;
	e->peer = (uint32_t)peer;
	e->ext = (uint32_t)ext;
	*exp_w = sqlite3_column_int64(st, 5);
	*reg_w = sqlite3_column_int64(st, 6);
	return true;
}

static uint64_t from_wall_s(int64_t wall_s, uint64_t now_mono_ms, int64_t now_wall_s)
{
	int64_t d = (wall_s - now_wall_s) * 1000;

	if (d < 0 && (uint64_t)-d > now_mono_ms)
		return 0;
	return (uint64_t)((int64_t)now_mono_ms + d);
}

int bcache_store_load(struct bcache_store *s, struct bcache *bc, uint64_t now_mono_ms,
		      int64_t now_wall_s, struct bcache_store_load_stats *out)
{
	struct bcache_store_load_stats st = { 0 };
	int64_t total;
	int rc, err;

	if ((err = query_int(s, "SELECT count(*) FROM binding", &total, "counting bindings")))
		return err;
	sqlite3_reset(s->select);
	sqlite3_bind_int64(s->select, 1, now_wall_s);
	while ((rc = sqlite3_step(s->select)) == SQLITE_ROW) {
		struct bce e;
		int64_t exp_w, reg_w;
		const char *why = NULL;

		if (!row_to_bce(s->select, &e, &exp_w, &reg_w, &why)) {
			st.bad++;
			counter_inc(&c_bad);
			log_warn("bcache", "skipping malformed stored binding reason=\"%s\"", why);
			continue;
		}
		e.expiry_ms = from_wall_s(exp_w, now_mono_ms, now_wall_s);
		e.registered_ms = from_wall_s(reg_w, now_mono_ms, now_wall_s);
		if (bcache_restore(bc, &e) < 0)
			st.rejected++;
		else
			st.loaded++;
	}
	sqlite3_reset(s->select);
	if (rc != SQLITE_DONE)
		return fail_db(s, rc, BCS_ERR_CORRUPT, "reading bindings");
	st.expired = (size_t)total - st.loaded - st.bad - st.rejected;
	/* Expired rows are garbage now; drop them so the file does not grow. */
	sqlite3_reset(s->purge);
	sqlite3_bind_int64(s->purge, 1, now_wall_s);
	rc = sqlite3_step(s->purge);
	sqlite3_reset(s->purge);
	if (rc != SQLITE_DONE)
		return fail_db(s, rc, BCS_ERR_IO, "purging expired bindings");
	if (out)
		*out = st;
	log_info("bcache", "bindings restored loaded=%zu expired=%zu bad=%zu rejected=%zu",
		 st.loaded, st.expired, st.bad, st.rejected);
	return BCS_OK;
}
