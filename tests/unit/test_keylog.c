/* Key logs (core/keylog.h): truncation and mode at open, each record
 * once, records kept after the SA they came from is gone, reopening on a
 * new path, thousands of records, and refusal of an unwritable path. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/keylog.h"
#include "ipsec/sa.h"
#include "ipsec/sad.h"

static char dir[] = "/tmp/test_keylog.XXXXXX";

static void path_of(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", dir, name);
}

static char *slurp(const char *path)
{
	static char buf[1 << 20];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void test_open_truncates_and_dedups(void **state)
{
	char p[256];
	struct keylog *kl;
	struct stat st;
	FILE *f;

	(void)state;
	path_of(p, sizeof(p), "a");
	f = fopen(p, "w");
	fputs("stale record of an earlier run\n", f);
	fclose(f);
	kl = keylog_open(p, "# header");
	assert_non_null(kl);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(keylog_add(kl, "one"), 1);
	assert_int_equal(keylog_add(kl, "two"), 1);
	assert_int_equal(keylog_add(kl, "one"), 0);
	assert_string_equal(slurp(p), "# header\none\ntwo\n");
	keylog_close(kl);
	/* a new run starts a new log */
	kl = keylog_open(p, NULL);
	assert_non_null(kl);
	assert_int_equal(keylog_add(kl, "two"), 1);
	assert_string_equal(slurp(p), "two\n");
	keylog_close(kl);
}

static void test_many_records(void **state)
{
	char p[256], rec[64];
	struct keylog *kl;
	char *s;
	int lines = 0;

	(void)state;
	path_of(p, sizeof(p), "many");
	kl = keylog_open(p, NULL);
	assert_non_null(kl);
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 5000; i++) {
			snprintf(rec, sizeof(rec), "record %d", i);
			assert_int_equal(keylog_add(kl, rec), round == 0 ? 1 : 0);
		}
	keylog_close(kl);
	s = slurp(p);
	for (; *s; s++)
		lines += *s == '\n';
	assert_int_equal(lines, 5000);
}

static void test_use_reopens_on_new_path(void **state)
{
	char a[256], b[256];
	struct keylog *kl = NULL;

	(void)state;
	path_of(a, sizeof(a), "use-a");
	path_of(b, sizeof(b), "use-b");
	assert_int_equal(keylog_use(&kl, a, NULL), 0);
	assert_int_equal(keylog_add(kl, "x"), 1);
	assert_int_equal(keylog_use(&kl, a, NULL), 0);	/* same path: kept */
	assert_int_equal(keylog_add(kl, "x"), 0);
	assert_int_equal(keylog_use(&kl, b, NULL), 0);	/* reload to a new path */
	assert_string_equal(keylog_path(kl), b);
	assert_int_equal(keylog_add(kl, "x"), 1);
	assert_string_equal(slurp(a), "x\n");
	assert_string_equal(slurp(b), "x\n");
	keylog_close(kl);
}

static void test_unwritable_path(void **state)
{
	char p[256];
	struct keylog *kl = NULL;

	(void)state;
	path_of(p, sizeof(p), "no/such/dir/esp_sa");
	errno = 0;
	assert_null(keylog_open(p, NULL));
	assert_int_equal(errno, ENOENT);
	assert_int_equal(keylog_use(&kl, p, NULL), -1);
	assert_null(kl);
}

/* The SAD's records survive the SA: what a capture across a rekey needs. */
static void test_sad_keylog_keeps_removed_sas(void **state)
{
	static const uint8_t key[20] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
					 17, 18, 19, 20 };
	struct sa_params p = {
		.dir = SA_DIR_IN, .mode = SA_MODE_TUNNEL, .xform = ESP_XFORM_AES_GCM_16,
		.enc_key = key, .enc_key_len = sizeof(key),
	};
	struct sad *sad = sad_new();
	struct keylog *kl = NULL;
	enum sa_new_err err;
	char path[256];
	struct sa *sa;
	const char *text;

	(void)state;
	path_of(path, sizeof(path), "esp_sa");
	ip_addr_parse("192.0.2.1", AF_INET, &p.src);
	ip_addr_parse("192.0.2.2", AF_INET, &p.dst);
	p.spi = 0x1001;
	sa = sa_new(&p, &err);
	assert_non_null(sa);
	assert_int_equal(sad_add(sad, sa), 0);
	assert_int_equal(sad_keylog(sad, &kl, path, false), 0);
	assert_true(sad_delete(sad, 0x1001, SA_DIR_IN));	/* rekeyed away */
	p.spi = 0x1002;
	sa = sa_new(&p, &err);
	assert_int_equal(sad_add(sad, sa), 0);
	assert_int_equal(sad_keylog(sad, &kl, path, true), 0);
	text = slurp(path);
	assert_non_null(strstr(text, SAD_ESP_SA_HEADER "\n"));
	assert_non_null(strstr(text, "\"IPv4\",\"192.0.2.1\",\"192.0.2.2\",\"0x00001001\""));
	assert_non_null(strstr(text, "\"IPv6\",\"*\",\"*\",\"0x00001002\""));
	keylog_close(kl);
	sad_free(sad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_truncates_and_dedups),
		cmocka_unit_test(test_many_records),
		cmocka_unit_test(test_use_reopens_on_new_path),
		cmocka_unit_test(test_unwritable_path),
		cmocka_unit_test(test_sad_keylog_keeps_removed_sas),
	};
	char cmd[300];
	int rc;

	if (!mkdtemp(dir))
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		rc = rc ? rc : 1;
	return rc;
}
