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
int sim_pool_init(struct sim_pool *pool, u64 nr_pages)
{
	size_t bytes = nr_pages << CVM_PAGE_SHIFT;
	u64 i;
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
		pool->free[i] = (u32)(nr_pages - 1 - i);
	pool->nr_free = nr_pages;
	return 0;
}

void sim_pool_fini(struct sim_pool *pool)
{
	if (pool->base)
		munmap(pool->base, pool->total << CVM_PAGE_SHIFT);
	free(pool->free);
	pool->base = NULL;
	pool->free = NULL;
	pool->total = pool->nr_free = 0;
}

/*
 * The core's hooks (cvm_core.h). The pool is the VM's own, so every page
 * in use is one of its resident pages: eviction pages out its coldest,
 * and fails only when nothing is resident (or when the test hook says so).
 * Return: a zeroed pool page, or NULL when the pool is empty.
 */
struct cvm_page *cvm_os_pool_alloc(struct cvm_core *core)
{
	struct cvm_backend *vm = sim_vm_of(core);
	struct sim_pool *pool = &vm->pool;

	if (!vm->pool_fail_after || !pool->nr_free)
		return NULL;
	if (vm->pool_fail_after > 0)
		vm->pool_fail_after--;
	return cvm_os_upage(
	    pool->base + ((u64)pool->free[--pool->nr_free] << CVM_PAGE_SHIFT));
}

void cvm_os_pool_free(struct cvm_core *core, struct cvm_page *page)
{
	struct sim_pool *pool = &sim_vm_of(core)->pool;
	u8 *addr = cvm_os_uaddr(page);

	explicit_bzero(addr, CVM_PAGE_SIZE);
	pool->free[pool->nr_free++] =
	    (u32)((u64)(addr - pool->base) >> CVM_PAGE_SHIFT);
}

int cvm_os_pool_evict(struct cvm_core *core)
{
	if (!sim_vm_of(core)->pool_fail_after)
		return -ENOMEM;
	return cvm_secure_evict_one(core);
}

/* The pool is per VM: nothing counts beyond the VM's own evictions. */
void cvm_os_evicted(struct cvm_core *core)
{
	(void)core;
}
