// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * sim-pool.c - a VM's secure pool, as cvm_pool.c: pages that hold resident
 * secure contents. They live in one anonymous mapping of their own, never
 * part of the guest memory (the host view), left out of core dumps and
 * wiped in forked children. A page is zeroed when it goes back to the pool,
 * so nothing of a secure page's contents outlives it there.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "sim-internal.h"

/**
 * sim_pool_init() - map the pool
 * @pool: the pool, zeroed
 * @nr_pages: its size, 1 .. UINT32_MAX
 *
 * Return: 0, or -ENOMEM with nothing mapped.
 */
int sim_pool_init(struct sim_pool *pool, uint64_t nr_pages)
{
	size_t bytes = nr_pages << SIM_PAGE_SHIFT;
	uint64_t i;
	void *base;

	base = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		return -ENOMEM;
	pool->free = malloc(nr_pages * sizeof(*pool->free));
	if (!pool->free) {
		munmap(base, bytes);
		return -ENOMEM;
	}
	/* Best effort: secrets stay out of core dumps and forked children. */
	madvise(base, bytes, MADV_DONTDUMP);
	madvise(base, bytes, MADV_WIPEONFORK);
	pool->base = base;
	pool->total = nr_pages;
	/* Lowest index on top: the first pages used are the first mapped. */
	for (i = 0; i < nr_pages; i++)
		pool->free[i] = (uint32_t)(nr_pages - 1 - i);
	pool->nr_free = nr_pages;
	return 0;
}

void sim_pool_fini(struct sim_pool *pool)
{
	if (pool->base)
		munmap(pool->base, pool->total << SIM_PAGE_SHIFT);
	free(pool->free);
	pool->base = NULL;
	pool->free = NULL;
	pool->total = pool->nr_free = 0;
}

/* Return: a zeroed pool page, or NULL when the pool is empty. */
uint8_t *sim_pool_alloc(struct sim_pool *pool)
{
	if (!pool->nr_free)
		return NULL;
	return pool->base +
	       ((uint64_t)pool->free[--pool->nr_free] << SIM_PAGE_SHIFT);
}

void sim_pool_free(struct sim_pool *pool, uint8_t *page)
{
	explicit_bzero(page, SIM_PAGE_SIZE);
	pool->free[pool->nr_free++] =
		(uint32_t)((uint64_t)(page - pool->base) >> SIM_PAGE_SHIFT);
}
