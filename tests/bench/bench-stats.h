/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bench-stats.h - what the control-plane benchmarks share: a monotonic
 * clock in ns, and p50 / p99 / max of a set of samples (nearest rank).
 */
#ifndef BENCH_STATS_H
#define BENCH_STATS_H

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted samples. */
static uint64_t pct(const uint64_t *sorted, size_t n, unsigned int p)
{
	size_t rank = (n * p + 99) / 100;

	if (!n)
		return 0;
	return sorted[rank ? rank - 1 : 0];
}

static double us(uint64_t ns)
{
	return ns / 1e3;
}

struct stats {
	uint64_t p50, p99, max;
};

static struct stats stats_of(uint64_t *ns, size_t n)
{
	struct stats s = {};

	if (!n)
		return s;
	qsort(ns, n, sizeof(*ns), cmp_u64);
	s.p50 = pct(ns, n, 50);
	s.p99 = pct(ns, n, 99);
	s.max = ns[n - 1];
	return s;
}

#endif /* BENCH_STATS_H */
