// SPDX-License-Identifier: GPL-2.0-only OR LGPL-2.1-or-later
/*
 * cvm_pool.c - the secure pool's accounting: its pages, a stack of the
 * free ones, each zeroed when it comes back so nothing of one secure
 * page's contents is left for the next user. Where the pages come from
 * is the backend's: the module allocates them at load and never maps them
 * anywhere; the simulator maps them per VM, apart from guest memory.
 */
#include "cvm_core.h"

/**
 * cvm_pool_init() - an empty pool with room for pages
 * @pool: the pool
 * @capacity: the most pages it will hold
 *
 * Return: 0 or -ENOMEM.
 */
int cvm_pool_init(struct cvm_pool *pool, u64 capacity)
{
	cvm_os_lock_init(&pool->lock);
	pool->total = 0;
	pool->nr_free = 0;
	pool->capacity = capacity;
	pool->free = NULL;
	if (!capacity)
		return 0;
	pool->free = cvm_os_vzalloc(capacity * sizeof(*pool->free));
	return pool->free ? 0 : -ENOMEM;
}

void cvm_pool_fini(struct cvm_pool *pool)
{
	/* Every page left with cvm_pool_remove() first. */
	WARN_ON_ONCE(pool->total);
	cvm_os_vfree(pool->free);
	pool->free = NULL;
	pool->capacity = 0;
}

/* A new page, zeroed, joins the pool. */
void cvm_pool_add(struct cvm_pool *pool, struct cvm_page *page)
{
	if (WARN_ON_ONCE(pool->total == pool->capacity))
		return;
	pool->free[pool->nr_free++] = page;
	pool->total++;
}

/* A free page leaves the pool for good (its backend frees it), or NULL. */
struct cvm_page *cvm_pool_remove(struct cvm_pool *pool)
{
	if (!pool->nr_free)
		return NULL;
	pool->total--;
	return pool->free[--pool->nr_free];
}

/* Return: a zeroed pool page, or NULL when the pool is empty. */
struct cvm_page *cvm_pool_get(struct cvm_pool *pool)
{
	struct cvm_page *page = NULL;

	cvm_os_lock(&pool->lock);
	if (pool->nr_free)
		page = pool->free[--pool->nr_free];
	cvm_os_unlock(&pool->lock);
	return page;
}

void cvm_pool_put(struct cvm_pool *pool, struct cvm_page *page)
{
	cvm_os_page_clear(page);
	cvm_os_lock(&pool->lock);
	pool->free[pool->nr_free++] = page;
	cvm_os_unlock(&pool->lock);
}

void cvm_pool_counts(struct cvm_pool *pool, u64 *ret_total, u64 *ret_free)
{
	cvm_os_lock(&pool->lock);
	*ret_total = pool->total;
	*ret_free = pool->nr_free;
	cvm_os_unlock(&pool->lock);
}
