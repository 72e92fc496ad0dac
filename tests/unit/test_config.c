/* Configuration checking: every file in data/config/bad/ starts with
 * "# expect: TEXT" and must be rejected with an error containing TEXT, both
 * by node_config_load() and by `mipsecd -n`; every file in good/ loads. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "daemon/config.h"

#define BAD_DIR MIPSEC_TESTDATA "/config/bad"
#define GOOD_DIR MIPSEC_TESTDATA "/config/good"

static size_t list_confs(const char *dir, char names[][128], size_t max)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) && n < max) {
		size_t l = strlen(e->d_name);
		if (l > 5 && strcmp(e->d_name + l - 5, ".conf") == 0)
			snprintf(names[n++], 128, "%s", e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), (int (*)(const void *, const void *))strcmp);
	return n;
}

static void read_expect(const char *path, char *out, size_t size)
{
	FILE *f = fopen(path, "r");
	char line[512];

	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_int_equal(strncmp(line, "# expect: ", 10), 0);
	line[strcspn(line, "\n")] = '\0';
	snprintf(out, size, "%s", line + 10);
}

static void test_bad_configs_rejected_with_reason(void **state)
{
	static char names[64][128];
	size_t n = list_confs(BAD_DIR, names, 64);

	(void)state;
	/* The foundation issue asks for at least 12 distinct broken files. */
	assert_true(n >= 12);
	for (size_t i = 0; i < n; i++) {
		char path[512], expect[512];
		struct cfg_ctx ctx;
		bool found = false;

		snprintf(path, sizeof(path), "%s/%s", BAD_DIR, names[i]);
		read_expect(path, expect, sizeof(expect));
		cfg_ctx_init(&ctx, path);
		struct node_config *nc = node_config_load(path, &ctx);
		if (nc)
			fail_msg("%s: accepted, expected \"%s\"", names[i], expect);
		for (size_t k = 0; k < ctx.n_errors; k++) {
			/* Every message starts with the file and a line number. */
			assert_non_null(strstr(ctx.errors[k], BAD_DIR));
			if (strstr(ctx.errors[k], expect))
				found = true;
		}
		if (!found) {
			for (size_t k = 0; k < ctx.n_errors; k++)
				fprintf(stderr, "  got: %s\n", ctx.errors[k]);
			fail_msg("%s: no error contains \"%s\"", names[i], expect);
		}
		cfg_ctx_clear(&ctx);
	}
}

static void test_good_configs_load(void **state)
{
	static char names[16][128];
	size_t n = list_confs(GOOD_DIR, names, 16);

	(void)state;
	assert_true(n >= 2);
	for (size_t i = 0; i < n; i++) {
		char path[512];
		struct cfg_ctx ctx;

		snprintf(path, sizeof(path), "%s/%s", GOOD_DIR, names[i]);
		cfg_ctx_init(&ctx, path);
		struct node_config *nc = node_config_load(path, &ctx);
		for (size_t k = 0; k < ctx.n_errors; k++)
			fprintf(stderr, "%s\n", ctx.errors[k]);
		assert_non_null(nc);
		node_config_free(nc);
		cfg_ctx_clear(&ctx);
	}
}

static void test_full_config_values(void **state)
{
	struct cfg_ctx ctx;
	char buf[64];

	(void)state;
	cfg_ctx_init(&ctx, GOOD_DIR "/full.conf");
	struct node_config *nc = node_config_load(GOOD_DIR "/full.conf", &ctx);
	assert_non_null(nc);
	assert_string_equal(nc->name, "full");
	assert_string_equal(nc->user, "root");
	assert_int_equal(nc->log_level, LOG_LVL_DEBUG);
	assert_string_equal(nc->control_path, "/tmp/mipsec-test-full.sock");
	assert_true(nc->metrics_enabled);
	assert_int_equal(nc->metrics_addr.ss_family, AF_INET6);
	assert_int_equal(nc->n_ifaces, 1);
	assert_string_equal(nc->ifaces[0].name, "lo");
	assert_true(nc->ifaces[0].optimistic);
	assert_int_equal(nc->ifaces[0].mtu, 1500);
	assert_int_equal(nc->ifaces[0].n_addrs, 2);
	assert_string_equal(ip_prefix_fmt(&nc->ifaces[0].addrs[0], buf, sizeof(buf)),
			    "2001:db8::1/128");
	assert_string_equal(ip_prefix_fmt(&nc->ifaces[0].addrs[1], buf, sizeof(buf)),
			    "192.0.2.1/32");
	node_config_free(nc);
	cfg_ctx_clear(&ctx);
}

static void test_minimal_gets_default_socket(void **state)
{
	struct cfg_ctx ctx;

	(void)state;
	cfg_ctx_init(&ctx, GOOD_DIR "/minimal.conf");
	struct node_config *nc = node_config_load(GOOD_DIR "/minimal.conf", &ctx);
	assert_non_null(nc);
	assert_string_equal(nc->control_path, "/run/mipsec/n1.sock");
	assert_false(nc->metrics_enabled);
	node_config_free(nc);
}

static void test_unreadable_file(void **state)
{
	struct cfg_ctx ctx;

	(void)state;
	cfg_ctx_init(&ctx, "/nonexistent/mipsec.conf");
	assert_null(node_config_load("/nonexistent/mipsec.conf", &ctx));
	assert_int_equal(ctx.n_errors, 1);
	assert_string_equal(ctx.errors[0],
			    "/nonexistent/mipsec.conf: cannot read configuration file");
	cfg_ctx_clear(&ctx);
}

/* The same files through the real command line: exit 1, reason on stderr. */
static void test_mipsecd_check_mode(void **state)
{
	static char names[64][128];
	const char *mipsecd = getenv("MIPSECD");
	size_t n;

	(void)state;
	if (!mipsecd)
		skip();
	n = list_confs(BAD_DIR, names, 64);
	for (size_t i = 0; i < n; i++) {
		char path[512], expect[512], cmd[1200], out[4096] = "";
		snprintf(path, sizeof(path), "%s/%s", BAD_DIR, names[i]);
		read_expect(path, expect, sizeof(expect));
		snprintf(cmd, sizeof(cmd), "'%s' -n -c '%s' 2>&1", mipsecd, path);
		FILE *p = popen(cmd, "r");
		assert_non_null(p);
		size_t got = fread(out, 1, sizeof(out) - 1, p);
		out[got] = '\0';
		int st = pclose(p);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 1);
		if (!strstr(out, expect))
			fail_msg("mipsecd -n %s: output lacks \"%s\":\n%s", names[i], expect, out);
	}
	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "'%s' -n -c '%s/minimal.conf' >/dev/null", mipsecd, GOOD_DIR);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_configs_rejected_with_reason),
		cmocka_unit_test(test_good_configs_load),
		cmocka_unit_test(test_full_config_values),
		cmocka_unit_test(test_minimal_gets_default_socket),
		cmocka_unit_test(test_unreadable_file),
		cmocka_unit_test(test_mipsecd_check_mode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
