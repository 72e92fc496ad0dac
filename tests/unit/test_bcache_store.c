#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "mip6/bcache.h"
#include "mip6/bcache_store.h"
#include "net/loop.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/bcstore.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/bindings.db", dir);
	return 0;
}

static int teardown(void **state)
{
	char p[160];

	(void)state;
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };

	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
		unlink(p);
	}
	rmdir(dir);
	return 0;
}

static struct in6_addr hoa_n(uint32_t n)
{
	struct in6_addr a;

	inet_pton(AF_INET6, "2001:db8:2::", &a);
	a.s6_addr[13] = (uint8_t)(n >> 16);
	a.s6_addr[14] = (uint8_t)(n >> 8);
	a.s6_addr[15] = (uint8_t)n;
	return a;
}

static struct bce_update upd(uint32_t n, uint32_t lifetime)
{
	struct bce_update u = { .hoa = hoa_n(n), .seq = (uint16_t)(n * 7), .lifetime_s = lifetime,
				.flags = BCE_F_A | BCE_F_H, .peer = n, .ext = n + 1 };

	u.coa.family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8:ff::9", &u.coa.v6);
	u.coa.v6.s6_addr[15] = (uint8_t)n;
	return u;
}

static struct bcache *new_cache(void)
{
	struct bcache *bc = bcache_create(&(struct bcache_cfg){ .name = "t_store" });

	assert_non_null(bc);
	return bc;
}

static struct bcache_store *open_ok(void)
{
	struct bcache_store *s = NULL;
	char err[256];
	int rc = bcache_store_open(path, &s, err, sizeof(err));

	if (rc)
		fail_msg("open: %s", err);
	return s;
}

/* Rows visible to an independent connection. */
static int rows_on_disk(void)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int n = -1;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM binding", -1, &st, NULL),
			 SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static void sql(const char *stmt)
{
	sqlite3 *db;
	char *msg = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, stmt, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("sql %s: %s", stmt, msg);
	sqlite3_close(db);
}

static void test_round_trip(void **state)
{
	struct bcache *bc = new_cache(), *bc2;
	struct bcache_store *s = open_ok();
	struct bcache_store_load_stats st;
	uint64_t now = mono_ms();
	struct bce_update u;
	struct bce *e;

	(void)state;
	bcache_store_attach(s, bc);
	for (uint32_t i = 1; i <= 3; i++) {
		u = upd(i, 600);
		assert_int_equal(bcache_update(bc, &u, now, NULL), BCACHE_INSERTED);
	}
	/* hoa 2 moves behind a NAT to an IPv4 care-of address. */
	u = upd(2, 900);
	u.coa.family = AF_INET;
	inet_pton(AF_INET, "203.0.113.5", &u.coa.v4);
	u.coa_port = 61000;
	u.flags = BCE_F_A | BCE_F_H | BCE_F_K | BCE_F_R;
	u.seq = 65535;
	assert_int_equal(bcache_update(bc, &u, now, NULL), BCACHE_UPDATED);
	assert_true(bcache_delete(bc, &(struct in6_addr){ 0 }) == false);
	struct in6_addr gone = hoa_n(3);

	assert_true(bcache_delete(bc, &gone));
	/* Write-behind: nothing reaches the file before the flush. */
	assert_int_equal(bcache_store_pending(s), 5);
	assert_int_equal(rows_on_disk(), 0);
	assert_int_equal(bcache_store_flush(s), BCS_OK);
	assert_int_equal(bcache_store_pending(s), 0);
	assert_int_equal(rows_on_disk(), 2);
	/* WAL mode: the commit went to the write-ahead log. */
	char wal[160];

	snprintf(wal, sizeof(wal), "%s-wal", path);
	assert_int_equal(access(wal, F_OK), 0);
	bcache_store_close(s);

	s = open_ok();
	bc2 = new_cache();
	uint64_t now2 = mono_ms();

	assert_int_equal(bcache_store_load(s, bc2, now2, time(NULL), &st), BCS_OK);
	assert_int_equal(st.loaded, 2);
	assert_int_equal(st.bad, 0);
	assert_int_equal(bcache_count(bc2), 2);
	e = bcache_lookup(bc2, &u.hoa);
	assert_non_null(e);
	assert_int_equal(e->coa.family, AF_INET);
	assert_memory_equal(&e->coa.v4, &u.coa.v4, 4);
	assert_int_equal(e->coa_port, 61000);
	assert_int_equal(e->flags, BCE_F_A | BCE_F_H | BCE_F_K | BCE_F_R);
	assert_int_equal(e->seq, 65535);
	assert_int_equal(e->lifetime_s, 900);
	assert_int_equal(e->peer, 2);
	assert_int_equal(e->ext, 3);
	/* Rows keep whole wall-clock seconds, so the restored expiry is the
	 * granted one to within a second either way. */
	uint64_t want = now + 900000;

	assert_true(e->expiry_ms <= want + 1000);
	assert_true(e->expiry_ms + 2500 >= want);
	e = bcache_lookup(bc2, &(struct in6_addr){ .s6_addr = { 0 } });
	assert_null(e);
	u = upd(1, 600);
	e = bcache_lookup(bc2, &u.hoa);
	assert_non_null(e);
	assert_int_equal(e->coa.family, AF_INET6);
	assert_memory_equal(&e->coa.v6, &u.coa.v6, 16);
	assert_null(bcache_lookup(bc2, &gone));
	bcache_store_close(s);
	bcache_destroy(bc);
	bcache_destroy(bc2);
}

static void test_expired_rows_skipped(void **state)
{
	struct bcache *bc = new_cache(), *bc2 = new_cache(), *bc3 = new_cache();
	struct bcache_store *s = open_ok();
	struct bcache_store_load_stats st;
	uint64_t now = mono_ms();
	time_t wall = time(NULL);

	(void)state;
	bcache_store_attach(s, bc);
	for (uint32_t i = 0; i < 10; i++) {
		struct bce_update u = upd(i, i < 4 ? 5 : 1000);

		bcache_update(bc, &u, now, NULL);
	}
	/* An expiry is also a change that must reach the file. */
	struct bce_update u = upd(100, 1);

	bcache_update(bc, &u, now, NULL);
	assert_int_equal(bcache_expire(bc, now + 1000, NULL, NULL), 1);
	assert_int_equal(bcache_store_flush(s), BCS_OK);
	assert_int_equal(rows_on_disk(), 10);
	bcache_store_close(s);

	/* Pretend 60 s passed while the daemon was down. */
	s = open_ok();
	uint64_t now2 = mono_ms();

	assert_int_equal(bcache_store_load(s, bc2, now2, wall + 60, &st), BCS_OK);
	assert_int_equal(st.loaded, 6);
	assert_int_equal(st.expired, 4);
	assert_int_equal(bcache_count(bc2), 6);
	/* Remaining lifetime is about 1000 - 60 s in the new monotonic frame. */
	u = upd(5, 1000);
	struct bce *e = bcache_lookup(bc2, &u.hoa);

	assert_non_null(e);
	assert_true(e->expiry_ms <= now2 + 941000);
	assert_true(e->expiry_ms + 2000 >= now2 + 940000);
	/* The expired rows were purged from the file. */
	assert_int_equal(rows_on_disk(), 6);
	assert_int_equal(bcache_store_load(s, bc3, now2, wall + 60, &st), BCS_OK);
	assert_int_equal(st.loaded, 6);
	assert_int_equal(st.expired, 0);
	bcache_store_close(s);
	bcache_destroy(bc);
	bcache_destroy(bc2);
	bcache_destroy(bc3);
}

/* A child writes and flushes, queues more without flushing, then dies by
 * SIGKILL: everything flushed must come back, nothing unflushed may. */
static void test_kill9_durability(void **state)
{
	enum { N = 2000 };
	pid_t pid;
	int status;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct bcache *bc = bcache_create(&(struct bcache_cfg){ .name = "child" });
		struct bcache_store *s = NULL;
		uint64_t now = mono_ms();

		if (!bc || bcache_store_open(path, &s, NULL, 0) != BCS_OK)
			_exit(2);
		bcache_store_attach(s, bc);
		for (uint32_t i = 0; i < N; i++) {
			struct bce_update u = upd(i, 3600);

			if (bcache_update(bc, &u, now, NULL) != BCACHE_INSERTED)
				_exit(3);
		}
		if (bcache_store_flush(s) != BCS_OK)
			_exit(4);
		for (uint32_t i = N; i < N + 10; i++) {
			struct bce_update u = upd(i, 3600);

			bcache_update(bc, &u, now, NULL);
		}
		kill(getpid(), SIGKILL);
		_exit(5);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFSIGNALED(status))
		fail_msg("child exited with %d instead of dying", WEXITSTATUS(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);

	struct bcache *bc = new_cache();
	struct bcache_store *s = open_ok();
	struct bcache_store_load_stats st;

	assert_int_equal(bcache_store_load(s, bc, mono_ms(), time(NULL), &st), BCS_OK);
	assert_int_equal(st.loaded, N);
	for (uint32_t i = 0; i < N + 10; i++) {
		struct bce_update u = upd(i, 3600);
		struct bce *e = bcache_lookup(bc, &u.hoa);

		if (i < N) {
			assert_non_null(e);
			assert_int_equal(e->seq, u.seq);
			assert_memory_equal(&e->coa.v6, &u.coa.v6, 16);
		} else {
			assert_null(e);
		}
	}
	bcache_store_close(s);
	bcache_destroy(bc);
}

static int open_err(char *err, size_t len)
{
	struct bcache_store *s = (void *)1;
	int rc = bcache_store_open(path, &s, err, len);

	assert_null(s);
	return rc;
}

static void write_file(const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static void test_bad_files(void **state)
{
	char err[256], garbage[8192];
	struct bcache_store *s;

	(void)state;
	/* Not a database at all. */
	for (size_t i = 0; i < sizeof(garbage); i++)
		garbage[i] = (char)(i * 37 + 11);
	write_file(garbage, sizeof(garbage));
	assert_int_equal(open_err(err, sizeof(err)), BCS_ERR_NOTDB);
	assert_non_null(strstr(err, path));
	print_message("garbage: %s\n", err);
	unlink(path);

	/* Some other application's database. */
	sql("CREATE TABLE leases(ip TEXT); INSERT INTO leases VALUES('10.0.0.1');");
	assert_int_equal(open_err(err, sizeof(err)), BCS_ERR_FOREIGN);
	assert_non_null(strstr(err, "not a mipsec binding store"));
	print_message("foreign: %s\n", err);
	unlink(path);

	/* Ours, but written by a newer schema. */
	s = open_ok();
	bcache_store_close(s);
	sql("PRAGMA user_version=7");
	assert_int_equal(open_err(err, sizeof(err)), BCS_ERR_VERSION);
	print_message("version: %s\n", err);
	sql("PRAGMA user_version=1; DROP TABLE binding;");
	assert_int_equal(open_err(err, sizeof(err)), BCS_ERR_CORRUPT);
	print_message("damaged schema: %s\n", err);
	unlink(path);

	/* A store cut short (disk trouble, a bad copy): an error, not a crash. */
	s = open_ok();
	bcache_store_close(s);
	assert_int_equal(truncate(path, 100), 0);
	int rc = open_err(err, sizeof(err));

	print_message("truncated: %s\n", err);
	assert_int_equal(rc, BCS_ERR_CORRUPT);
	unlink(path);

	/* Unopenable path. */
	char saved[128];

	memcpy(saved, path, sizeof(saved));
	snprintf(path, sizeof(path), "%s/no/such/dir/b.db", dir);
	assert_int_equal(open_err(err, sizeof(err)), BCS_ERR_OPEN);
	print_message("open: %s\n", err);
	memcpy(path, saved, sizeof(path));
	assert_string_equal(bcache_store_strerror(BCS_ERR_NOTDB),
			    "binding store file is not an SQLite database");
}

/* A valid store whose table pages were overwritten: open or load reports
 * corruption, never crashes. */
static void test_corrupt_pages(void **state)
{
	struct bcache *bc = new_cache(), *bc2 = new_cache();
	struct bcache_store *s = open_ok();
	struct bcache_store_load_stats st;
	uint64_t now = mono_ms();
	char err[256], junk[4096];
	int fd, rc;

	(void)state;
	bcache_store_attach(s, bc);
	for (uint32_t i = 0; i < 3000; i++) {
		struct bce_update u = upd(i, 3600);

		bcache_update(bc, &u, now, NULL);
	}
	assert_int_equal(bcache_store_flush(s), BCS_OK);
	bcache_store_close(s);	/* checkpoints the WAL into the main file */

	memset(junk, 0xa5, sizeof(junk));
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	off_t size = lseek(fd, 0, SEEK_END);

	assert_true(size > 8 * 4096);
	/* Smash every page after the schema page. */
	for (off_t off = 4096; off < size; off += 4096)
		assert_int_equal(pwrite(fd, junk, sizeof(junk), off), (ssize_t)sizeof(junk));
	close(fd);

	s = NULL;
	rc = bcache_store_open(path, &s, err, sizeof(err));
	if (rc == BCS_OK) {
		rc = bcache_store_load(s, bc2, mono_ms(), time(NULL), &st);
		snprintf(err, sizeof(err), "%s", bcache_store_errmsg(s));
		bcache_store_close(s);
	}
	print_message("corrupt: %s\n", err);
	assert_int_equal(rc, BCS_ERR_CORRUPT);
	bcache_destroy(bc);
	bcache_destroy(bc2);
	unlink(path);
}

/* Malformed rows (edited by hand, or by a buggy version) are skipped. */
static void test_malformed_rows(void **state)
{
	struct bcache *bc = new_cache(), *bc2 = new_cache();
	struct bcache_store *s = open_ok();
	struct bcache_store_load_stats st;
	uint64_t now = mono_ms();
	char stmt[2048];

	(void)state;
	bcache_store_attach(s, bc);
	struct bce_update u = upd(1, 3600);

	bcache_update(bc, &u, now, NULL);
	assert_int_equal(bcache_store_flush(s), BCS_OK);
	bcache_store_close(s);
	long long exp = (long long)time(NULL) + 1000;

	snprintf(stmt, sizeof(stmt),
		 "INSERT INTO binding VALUES(x'0102', 6, zeroblob(16), 0, 10, %lld, 0, 1, 0, 0, 0);"
		 "INSERT INTO binding VALUES(zeroblob(16), 4, zeroblob(16), 0, 10, %lld, 0, 1, 0, 0, 0);"
		 "INSERT INTO binding VALUES(x'00000000000000000000000000000001', 9, zeroblob(16), 0, 10, %lld, 0, 1, 0, 0, 0);"
		 "INSERT INTO binding VALUES(x'00000000000000000000000000000002', 6, zeroblob(16), 0, 10, %lld, 0, 70000, 0, 0, 0);"
		 "INSERT INTO binding VALUES(x'00000000000000000000000000000003', 6, zeroblob(16), 0, 0, %lld, 0, 1, 0, 0, 0);"
		 "INSERT INTO binding VALUES(x'00000000000000000000000000000004', 6, zeroblob(16), 0, 10, %lld, 0, 1, 255, 0, 0);",
		 exp, exp, exp, exp, exp, exp);
	sql(stmt);
	s = open_ok();
	assert_int_equal(bcache_store_load(s, bc2, mono_ms(), time(NULL), &st), BCS_OK);
	assert_int_equal(st.loaded, 1);
	assert_int_equal(st.bad, 6);
	assert_non_null(bcache_lookup(bc2, &u.hoa));
	bcache_store_close(s);
	bcache_destroy(bc);
	bcache_destroy(bc2);
	unlink(path);
}

/* A flush that cannot get the write lock fails with a precise error and
 * keeps its queue; the next flush writes everything. */
static void test_flush_failure_keeps_queue(void **state)
{
	struct bcache *bc = new_cache();
	struct bcache_store *s = open_ok();
	uint64_t now = mono_ms();
	sqlite3 *other;

	(void)state;
	bcache_store_attach(s, bc);
	for (uint32_t i = 0; i < 50; i++) {
		struct bce_update u = upd(i, 3600);

		bcache_update(bc, &u, now, NULL);
	}
	assert_int_equal(sqlite3_open(path, &other), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	int rc = bcache_store_flush(s);	/* waits out the busy timeout */

	print_message("locked: %s\n", bcache_store_errmsg(s));
	assert_int_equal(rc, BCS_ERR_IO);
	assert_non_null(strstr(bcache_store_errmsg(s), "locked"));
	assert_int_equal(bcache_store_pending(s), 50);
	assert_int_equal(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(other);
	assert_int_equal(bcache_store_flush(s), BCS_OK);
	assert_int_equal(bcache_store_pending(s), 0);
	assert_int_equal(rows_on_disk(), 50);
	bcache_store_close(s);
	bcache_destroy(bc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expired_rows_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill9_durability, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush_failure_keeps_queue, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
