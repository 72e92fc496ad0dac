/* Counts heap allocations while `counting` is set, by interposing glibc's
 * malloc family: a benchmark proves a path allocates nothing by running it
 * with counting on. Include from exactly one file of a benchmark program.
 * Under AddressSanitizer (which owns malloc) nothing is interposed and the
 * count stays 0: build benchmarks without sanitizers to check this. */
#ifndef MIPSEC_BENCH_ALLOC_COUNT_H
#define MIPSEC_BENCH_ALLOC_COUNT_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NO_INTERPOSE 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define NO_INTERPOSE 1
#endif

static volatile unsigned long allocs;
static volatile int counting;

#ifndef NO_INTERPOSE
void *__libc_malloc(size_t);
void *__libc_calloc(size_t, size_t);
void *__libc_realloc(void *, size_t);
void *malloc(size_t n);
void *calloc(size_t n, size_t m);
void *realloc(void *p, size_t n);

void *malloc(size_t n)
{
	if (counting)
		allocs++;
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
	if (counting)
		allocs++;
	return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
	if (counting)
		allocs++;
	return __libc_realloc(p, n);
}
#endif

/* Checks that the interposition sees allocations, so that a count of zero
 * proves something. Returns 0, or -1 after saying why. */
static int alloc_count_selftest(const char *prog)
{
#ifndef NO_INTERPOSE
	/* volatile: the compiler may drop a malloc/free pair */
	void *volatile probe;

	counting = 1;
	probe = malloc(16);
	counting = 0;
	free(probe);
	if (allocs != 1) {
		fprintf(stderr, "%s: malloc interposition does not work\n", prog);
		return -1;
	}
	allocs = 0;
#else
	printf("(%s: sanitizer build, allocations not counted)\n", prog);
#endif
	return 0;
}

#endif
