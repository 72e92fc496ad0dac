/* mipsecd: runs the roles a configuration file names. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "daemon/config.h"
#include "daemon/daemon.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mipsecd [-n] [-d] [-p PIDFILE] -c FILE\n"
		"  -c FILE     configuration file (libconfig syntax)\n"
		"  -n          check the configuration and exit (0: valid)\n"
		"  -d          log at debug level, overriding the file\n"
		"  -p PIDFILE  write the process id to PIDFILE\n");
}

static int write_pidfile(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		log_err("daemon", "cannot write pid file path=%s", path);
		return -1;
	}
	fprintf(f, "%ld\n", (long)getpid());
	return fclose(f) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	const char *file = NULL, *pidfile = NULL;
	bool check = false, debug = false;
	int opt;

	while ((opt = getopt(argc, argv, "c:ndp:h")) != -1) {
		switch (opt) {
		case 'c': file = optarg; break;
		case 'n': check = true; break;
		case 'd': debug = true; break;
		case 'p': pidfile = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!file || optind != argc) {
		usage(stderr);
		return 2;
	}

	struct cfg_ctx ctx;
	cfg_ctx_init(&ctx, file);
	struct node_config *nc = node_config_load(file, &ctx);
	if (!nc) {
		for (size_t i = 0; i < ctx.n_errors; i++)
			fprintf(stderr, "%s\n", ctx.errors[i]);
		if (ctx.n_dropped)
			fprintf(stderr, "(%zu more errors)\n", ctx.n_dropped);
		fprintf(stderr, "mipsecd: %s: configuration rejected\n", file);
		cfg_ctx_clear(&ctx);
		return 1;
	}
	cfg_ctx_clear(&ctx);
	if (check) {
		printf("%s: configuration valid (node %s, %zu role%s)\n", file, nc->name,
		       nc->n_roles, nc->n_roles == 1 ? "" : "s");
		node_config_free(nc);
		return 0;
	}

	log_init("mipsecd", debug ? LOG_LVL_DEBUG : nc->log_level, nc->log_syslog);
	if (pidfile && write_pidfile(pidfile) < 0) {
		node_config_free(nc);
		return 1;
	}
	struct daemon *d = daemon_new(nc);
	if (!d)
		return 1;
	int rc = daemon_run(d);
	daemon_free(d);
	if (pidfile)
		unlink(pidfile);
	return rc;
}
