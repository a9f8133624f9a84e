// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * sim-pool.c - a VM's secure pool: the pages the core's pool (cvm_pool.c)
 * counts, in one anonymous mapping of their own, never part of the guest
 * memory (the host view), left out of core dumps and wiped in forked
 * children.
 */
#include <sys/mman.h>

#include "sim-internal.h"

/**
 * sim_pool_init() - map the VM's pool
 * @vm: the VM, its pool zeroed
 * @nr_pages: its size, 1 .. UINT32_MAX
 *
 * Return: 0, or -ENOMEM with nothing mapped.
 */
int sim_pool_init(struct cvm_backend *vm, u64 nr_pages)
{
	size_t bytes = nr_pages << CVM_PAGE_SHIFT;
	void *base;
	u64 i;

	base = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		return -ENOMEM;
	if (cvm_pool_init(&vm->pool, nr_pages)) {
		munmap(base, bytes);
		return -ENOMEM;
	}
	/* Best effort: secrets stay out of core dumps and forked children. */
	madvise(base, bytes, MADV_DONTDUMP);
	madvise(base, bytes, MADV_WIPEONFORK);
	vm->pool_mem = base;
	/* Lowest page on top: the first pages used are the first mapped. */
	for (i = nr_pages; i--;)
		cvm_pool_add(&vm->pool, cvm_os_upage(vm->pool_mem +
						     (i << CVM_PAGE_SHIFT)));
	return 0;
}

void sim_pool_fini(struct cvm_backend *vm)
{
	u64 pages = vm->pool.total;

	while (cvm_pool_remove(&vm->pool))
		;
	cvm_pool_fini(&vm->pool);
	if (vm->pool_mem)
		munmap(vm->pool_mem, pages << CVM_PAGE_SHIFT);
	vm->pool_mem = NULL;
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
	struct cvm_page *page;

	if (!vm->pool_fail_after)
		return NULL;
	page = cvm_pool_get(&vm->pool);
	if (page && vm->pool_fail_after > 0)
		vm->pool_fail_after--;
	return page;
}

void cvm_os_pool_free(struct cvm_core *core, struct cvm_page *page)
{
	cvm_pool_put(&sim_vm_of(core)->pool, page);
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
