/* mipsecctl: talks to a running mipsecd over its control socket.
 *
 *   mipsecctl [-s SOCKET] [--json] status | tables | show TABLE | stats | reload
 *   mipsecctl decode ... / mipsecctl encode
 *
 * Exit status: 0 success, 1 the daemon reported an error or answered
 * badly, 2 usage error, 3 the daemon could not be reached. */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/control.h"
#include "ctl/ctl_client.h"
#include "ctl/decode.h"

#define DEFAULT_SOCKET "/run/mipsec/mipsecd.sock"

enum { EXIT_ERR = 1, EXIT_USAGE = 2, EXIT_CONNECT = 3 };

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mipsecctl [-s SOCKET] [--json] COMMAND\n"
		"commands:\n"
		"  status        node, version, pid, uptime and roles\n"
		"  tables        the tables `show` can dump\n"
		"  show TABLE    one table\n"
		"  stats         every counter\n"
		"  reload        reload the configuration (same as SIGHUP)\n"
		"  decode ...    decode packets (see mipsecctl decode -h)\n"
		"  encode        JSON views (one per line) on stdin -> hex packets\n"
		"options:\n"
		"  -s, --socket SOCKET  control socket (default $MIPSEC_CTL or %s)\n"
		"  -j, --json           print the result as JSON\n"
		"  -h, --help           this text\n",
		DEFAULT_SOCKET);
}

/* A JSON value as one table cell: strings bare, null as "-", composites as
 * compact JSON. Returns a malloc'd string. */
static char *cell_text(const json_t *v)
{
	char *s = NULL;

	switch (json_typeof(v)) {
	case JSON_STRING:
		return strdup(json_string_value(v));
	case JSON_NULL:
		return strdup("-");
	case JSON_TRUE:
		return strdup("yes");
	case JSON_FALSE:
		return strdup("no");
	case JSON_INTEGER:
		if (asprintf(&s, "%" JSON_INTEGER_FORMAT, json_integer_value(v)) < 0)
			return NULL;
		return s;
	default:
		return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	}
}

/* A string member, or `dflt` when absent or not a string. */
static const char *jstr(const json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : dflt;
}

static void print_uptime(uint64_t ms)
{
	uint64_t s = ms / 1000, d = s / 86400;

	if (d)
		printf("%" PRIu64 "d ", d);
	printf("%02" PRIu64 ":%02" PRIu64 ":%02" PRIu64 "\n", s / 3600 % 24, s / 60 % 60,
	       s % 60);
}

static void print_status(const json_t *r)
{
	const json_t *roles = json_object_get(r, "roles");
	const json_t *role, *v;
	const char *key;
	size_t i;

	printf("node:     %s\n", jstr(r, "node", "?"));
	if (json_object_get(r, "version"))
		printf("version:  %s\n", jstr(r, "version", "?"));
	printf("pid:      %" JSON_INTEGER_FORMAT "\n", json_integer_value(json_object_get(r, "pid")));
	printf("uptime:   ");
	print_uptime((uint64_t)json_integer_value(json_object_get(r, "uptime_ms")));
	if (json_object_get(r, "control"))
		printf("control:  %s\n", jstr(r, "control", "?"));
	printf("roles:    %zu\n", json_array_size(roles));
	json_array_foreach(roles, i, role) {
		const json_t *state = json_object_get(role, "state");
		printf("  %-8s %s\n", jstr(role, "name", "?"),
		       json_is_true(json_object_get(role, "started")) ? "started" : "stopped");
		if (json_is_object(state)) {
			json_object_foreach((json_t *)state, key, v) {
				char *t = cell_text(v);
				printf("    %s: %s\n", key, t ? t : "?");
				free(t);
			}
		} else if (state) {
			char *t = cell_text(state);
			printf("    %s\n", t ? t : "?");
			free(t);
		}
	}
}

/* Prints rows of objects as aligned columns; headers are the keys in the
 * order they first appear across the rows. */
static void print_rows(const json_t *rows)
{
	json_t *cols = json_array();
	const json_t *row, *v;
	const char *key;
	size_t i, j, ncols, nrows = json_array_size(rows);

	if (nrows == 0) {
		printf("(no rows)\n");
		json_decref(cols);
		return;
	}
	json_array_foreach(rows, i, row) {
		json_object_foreach((json_t *)row, key, v) {
			bool have = false;
			for (j = 0; j < json_array_size(cols) && !have; j++)
				have = strcmp(json_string_value(json_array_get(cols, j)), key) == 0;
			if (!have)
				json_array_append_new(cols, json_string(key));
		}
	}
	ncols = json_array_size(cols);
	char **cells = calloc((nrows + 1) * (ncols ? ncols : 1), sizeof(*cells));
	size_t *width = calloc(ncols ? ncols : 1, sizeof(*width));
	if (!cells || !width)
		goto out;
	for (j = 0; j < ncols; j++) {
		cells[j] = strdup(json_string_value(json_array_get(cols, j)));
		for (char *p = cells[j]; p && *p; p++)
			if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 'a' + 'A');
	}
	json_array_foreach(rows, i, row) {
		for (j = 0; j < ncols; j++) {
			v = json_object_get(row, json_string_value(json_array_get(cols, j)));
			cells[(i + 1) * ncols + j] = v ? cell_text(v) : strdup("");
		}
	}
	for (i = 0; i <= nrows; i++)
		for (j = 0; j < ncols; j++) {
			size_t n = cells[i * ncols + j] ? strlen(cells[i * ncols + j]) : 0;
			if (n > width[j])
				width[j] = n;
		}
	for (i = 0; i <= nrows; i++) {
		int pad = 0;	/* owed spaces, written only before a non-empty cell */
		for (j = 0; j < ncols; j++) {
			const char *c = cells[i * ncols + j] ? cells[i * ncols + j] : "?";
			if (*c) {
				printf("%*s%s", pad, "", c);
				pad = 0;
			}
			pad += (int)(width[j] - strlen(c)) + 2;
		}
		putchar('\n');
	}
out:
	if (cells)
		for (i = 0; i < (nrows + 1) * ncols; i++)
			free(cells[i]);
	free(cells);
	free(width);
	json_decref(cols);
}

static void print_show(const json_t *r)
{
	const json_t *row;
	size_t i;
	bool objects = json_is_array(r);

	json_array_foreach(r, i, row)
		objects = objects && json_is_object(row);
	if (objects) {
		print_rows(r);
		return;
	}
	/* Not a list of records: print each element, or the value itself. */
	if (json_is_array(r)) {
		json_array_foreach(r, i, row) {
			char *t = cell_text(row);
			printf("%s\n", t ? t : "?");
			free(t);
		}
		return;
	}
	char *t = json_dumps(r, JSON_INDENT(2) | JSON_ENCODE_ANY);
	printf("%s\n", t ? t : "?");
	free(t);
}

static void print_tables(const json_t *r)
{
	const json_t *t;
	size_t i, w = 4;

	json_array_foreach(r, i, t) {
		size_t n = strlen(jstr(t, "name", ""));
		if (n > w)
			w = n;
	}
	json_array_foreach(r, i, t)
		printf("%-*s  %s\n", (int)w, jstr(t, "name", "?"),
		       jstr(t, "description", ""));
}

static void print_stats(const json_t *r)
{
	const char *key;
	const json_t *v;
	size_t w = 0;

	json_object_foreach((json_t *)r, key, v)
		if (strlen(key) > w)
			w = strlen(key);
	json_object_foreach((json_t *)r, key, v) {
		char *t = cell_text(v);
		printf("%-*s  %s\n", (int)w, key, t ? t : "?");
		free(t);
	}
}

struct command {
	const char *name;
	int nargs;
	void (*print)(const json_t *result);
};

static void print_reload(const json_t *r) { printf("configuration reloaded\n"); }

static const struct command commands[] = {
	{ "status", 0, print_status },
	{ "tables", 0, print_tables },
	{ "show", 1, print_show },
	{ "stats", 0, print_stats },
	{ "reload", 0, print_reload },
};

static int run(const char *sock, bool json, const struct command *cmd, char **args)
{
	json_t *req = json_pack("{s:s}", "command", cmd->name);
	json_t *resp, *result;
	enum ctl_fail fail;
	const char *err = NULL;
	int rc = 0;

	if (cmd->nargs == 1)
		json_object_set_new(req, "table", json_string(args[0]));
	resp = ctl_call(sock, req, CTL_REQUEST_TIMEOUT_MS, &fail, &err);
	json_decref(req);
	if (!resp) {
		if (fail == CTL_FAIL_CONNECT) {
			fprintf(stderr, "mipsecctl: cannot connect to %s: %s\n", sock, err);
			return EXIT_CONNECT;
		}
		fprintf(stderr, "mipsecctl: %s: %s\n", cmd->name, err ? err : "failed");
		return EXIT_ERR;
	}
	if (!json_is_true(json_object_get(resp, "ok"))) {
		const char *e = json_string_value(json_object_get(resp, "error"));
		fprintf(stderr, "mipsecctl: %s: %s\n", cmd->name,
			e ? e : "the daemon reported an unspecified error");
		json_decref(resp);
		return EXIT_ERR;
	}
	result = json_object_get(resp, "result");
	if (!result)
		result = json_null();
	if (json) {
		char *t = json_dumps(result, JSON_INDENT(2) | JSON_ENCODE_ANY);
		if (t)
			printf("%s\n", t);
		else
			rc = EXIT_ERR;
		free(t);
	} else {
		cmd->print(result);
	}
	if (fflush(stdout) != 0) {
		perror("mipsecctl: stdout");
		rc = EXIT_ERR;
	}
	json_decref(resp);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = getenv("MIPSEC_CTL");
	bool json = false;
	int c;

	if (!sock || !*sock)
		sock = DEFAULT_SOCKET;
	/* '+': stop at the command so its own arguments are left alone. */
	while ((c = getopt_long(argc, argv, "+s:jh", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			sock = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "mipsecctl: no command given\n");
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *name = argv[optind];
	if (strcmp(name, "decode") == 0) {
		int dargc = argc - optind;
		char **dargv = argv + optind;
		optind = 0;	/* decode may use getopt: start it afresh */
		return decode_command(dargc, dargv);
	}
	if (strcmp(name, "encode") == 0) {
		int eargc = argc - optind;
		char **eargv = argv + optind;

		optind = 0;
		return encode_command(eargc, eargv);
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct command *cmd = &commands[i];
		char *args[1] = { NULL };
		int n = 0;

		if (strcmp(name, cmd->name) != 0)
			continue;
		/* --json is also accepted after the command. */
		for (int a = optind + 1; a < argc; a++) {
			if (strcmp(argv[a], "--json") == 0 || strcmp(argv[a], "-j") == 0) {
				json = true;
			} else if (n < cmd->nargs && argv[a][0] != '-') {
				args[n++] = argv[a];
			} else {
				fprintf(stderr, "mipsecctl: %s: unexpected argument '%s'\n", name,
					argv[a]);
				return EXIT_USAGE;
			}
		}
		if (n < cmd->nargs) {
			fprintf(stderr, "mipsecctl: %s needs a table name (see: mipsecctl tables)\n",
				name);
			return EXIT_USAGE;
		}
		return run(sock, json, cmd, args);
	}
	fprintf(stderr, "mipsecctl: unknown command '%s'\n", name);
	usage(stderr);
	return EXIT_USAGE;
}
