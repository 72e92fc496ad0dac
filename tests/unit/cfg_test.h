/* Test helper for configuration parsers: write a configuration file, load
 * it with node_config_load(), and check that it yields exactly one error
 * "<file>:<line>: setting '<path>': <reason>". Include after cmocka.h. */
#ifndef MIPSEC_TESTS_CFG_TEST_H
#define MIPSEC_TESTS_CFG_TEST_H

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon/config.h"

static char cfg_test_path[128];

static int cfg_test_setup(void **state)
{
	(void)state;
	roles_register_all();
	snprintf(cfg_test_path, sizeof(cfg_test_path), "/tmp/%s.%d.conf",
		 program_invocation_short_name, (int)getpid());
	return 0;
}

static int cfg_test_teardown(void **state)
{
	(void)state;
	unlink(cfg_test_path);
	return 0;
}

static struct node_config *cfg_test_load(const char *text, struct cfg_ctx *ctx)
{
	FILE *f = fopen(cfg_test_path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	cfg_ctx_init(ctx, cfg_test_path);
	return node_config_load(cfg_test_path, ctx);
}

static void cfg_test_dump_errors(const struct cfg_ctx *ctx)
{
	for (size_t i = 0; i < ctx->n_errors; i++)
		fprintf(stderr, "  error: %s\n", ctx->errors[i]);
}

static void cfg_test_expect_error(const char *text, int line, const char *setting,
				  const char *reason)
{
	struct cfg_ctx ctx;
	char want[1024];
	struct node_config *nc = cfg_test_load(text, &ctx);

	snprintf(want, sizeof(want), "%s:%d: setting '%s': %s", cfg_test_path, line, setting,
		 reason);
	if (ctx.n_errors != 1 || strcmp(ctx.errors[0], want) != 0) {
		fprintf(stderr, "file:\n%s\nwant: %s\n", text, want);
		cfg_test_dump_errors(&ctx);
	}
	assert_null(nc);
	assert_int_equal(ctx.n_errors, 1);
	assert_string_equal(ctx.errors[0], want);
	cfg_ctx_clear(&ctx);
}

/* The same, for a test whose files are a fixed head, a body under test
 * and a fixed tail (the role block's opening and closing). */
static struct node_config *cfg_test_load_parts(const char *head, const char *body,
					       const char *tail, struct cfg_ctx *ctx)
{
	char text[4096];

	snprintf(text, sizeof(text), "%s%s%s", head, body, tail);
	return cfg_test_load(text, ctx);
}

static void cfg_test_expect_error_parts(const char *head, const char *body, const char *tail,
					int line, const char *setting, const char *reason)
{
	char text[4096];

	snprintf(text, sizeof(text), "%s%s%s", head, body, tail);
	cfg_test_expect_error(text, line, setting, reason);
}

#endif
