// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * sim-dma.c - DMA shares, as cvm_dma.c: a refcount per GFN. A page with a
 * DMA share stays pinned and can't become secure (-EBUSY) until every
 * share is released. Range calls are all or nothing.
 */
#include <errno.h>

#include "sim-internal.h"

static void sim_dma_set(struct cvm_backend *vm, uint64_t gfn, uint32_t refs)
{
	uint32_t old = vm->dma_refs[gfn];

	vm->dma_refs[gfn] = refs;
	vm->nr_dma_shared += (refs > 0) - (old > 0);
}

/**
 * sim_dma_share() - take one DMA share on each GFN of a range
 * @vm: the VM, locked
 * @gfn: first GFN, the range inside the memory
 * @npages: GFNs
 *
 * Return: 0; -EBADFD when a GFN is secure (share it first); -EOVERFLOW;
 * -ENOMEM or -EFAULT from pinning. Nothing changes on error.
 */
int sim_dma_share(struct cvm_backend *vm, uint64_t gfn, uint64_t npages)
{
	uint64_t i;
	int ret;

	for (i = 0; i < npages; i++) {
		if (cvm_gfn_is_secure(sim_gfn_state(vm, gfn + i)))
			return -EBADFD;
		if (vm->dma_refs[gfn + i] == UINT32_MAX)
			return -EOVERFLOW;
	}
	ret = sim_pin_gfns(vm, gfn, npages, NULL);
	if (ret)
		return ret;
	for (i = 0; i < npages; i++)
		sim_dma_set(vm, gfn + i, vm->dma_refs[gfn + i] + 1);
	return 0;
}

/**
 * sim_dma_unshare() - drop one DMA share on each GFN of a range
 * @vm: the VM, locked
 * @gfn: first GFN, the range inside the memory
 * @npages: GFNs
 *
 * Return: 0, or -EBADFD when a GFN holds no DMA share (nothing changes).
 */
int sim_dma_unshare(struct cvm_backend *vm, uint64_t gfn, uint64_t npages)
{
	uint64_t i;

	for (i = 0; i < npages; i++)
		if (!vm->dma_refs[gfn + i])
			return -EBADFD;
	for (i = 0; i < npages; i++)
		sim_dma_set(vm, gfn + i, vm->dma_refs[gfn + i] - 1);
	return 0;
}
