// SPDX-License-Identifier: GPL-2.0-only OR LGPL-2.1-or-later
/*
 * cvm_dma.c - DMA shares: a refcount per GFN. A page with a DMA share
 * stays pinned and can't become secure (-EBUSY) until every share is
 * released. Range calls are all or nothing.
 */
#include "cvm_core.h"

u32 cvm_dma_refs(struct cvm_core *vm, u64 gfn)
{
	void *entry = cvm_os_map_load(&vm->dma_refs, gfn);

	return entry ? (u32)cvm_os_map_to_value(entry) : 0;
}

/* Set a GFN's refcount; a new entry was reserved. */
static void cvm_dma_set(struct cvm_core *vm, u64 gfn, u32 refs)
{
	u32 old = cvm_dma_refs(vm, gfn);

	if (refs)
		WARN_ON_ONCE(cvm_os_map_store(&vm->dma_refs, gfn,
					      cvm_os_map_value(refs)));
	else
		cvm_os_map_erase(&vm->dma_refs, gfn);
	vm->nr_dma_shared += (refs > 0) - (old > 0);
}

/**
 * cvm_dma_share() - take one DMA share on each GFN of a range
 * @vm: the VM, locked; the caller is its owner
 * @gfn: first GFN, the range inside the VM's memory
 * @npages: GFNs
 *
 * Return: 0; -EBADFD when a GFN is secure (share it first); -EOVERFLOW;
 * -ENOMEM or -EFAULT from pinning. Nothing changes on error.
 */
int cvm_dma_share(struct cvm_core *vm, u64 gfn, u64 npages)
{
	u64 i;
	int ret = 0;

	for (i = 0; i < npages && !ret; i++) {
		if (cvm_gfn_is_secure(cvm_gfn_state(vm, gfn + i)))
			ret = -EBADFD;
		else if (cvm_dma_refs(vm, gfn + i) == U32_MAX)
			ret = -EOVERFLOW;
		else if (!cvm_dma_refs(vm, gfn + i))
			ret = cvm_os_map_reserve(&vm->dma_refs, gfn + i);
		cond_resched();
	}
	if (!ret)
		ret = cvm_pin(vm, gfn, npages, NULL);
	if (ret) {
		while (i--)
			cvm_os_map_release(&vm->dma_refs, gfn + i);
		return ret;
	}
	for (i = 0; i < npages; i++)
		cvm_dma_set(vm, gfn + i, cvm_dma_refs(vm, gfn + i) + 1);
	return 0;
}

/**
 * cvm_dma_unshare() - drop one DMA share on each GFN of a range
 * @vm: the VM, locked
 * @gfn: first GFN, the range inside the VM's memory
 * @npages: GFNs
 *
 * Return: 0, or -EBADFD when a GFN holds no DMA share (nothing changes).
 */
int cvm_dma_unshare(struct cvm_core *vm, u64 gfn, u64 npages)
{
	u64 i;

	for (i = 0; i < npages; i++)
		if (!cvm_dma_refs(vm, gfn + i))
			return -EBADFD;
	for (i = 0; i < npages; i++)
		cvm_dma_set(vm, gfn + i, cvm_dma_refs(vm, gfn + i) - 1);
	return 0;
}

/* A memslot goes away: its DMA shares with it. */
void cvm_dma_forget_range(struct cvm_core *vm, u64 gfn, u64 npages)
{
	void *entry;
	u64 idx;

	cvm_os_map_for_each_range(&vm->dma_refs, idx, entry, gfn,
				  gfn + npages - 1)
		cvm_dma_set(vm, idx, 0);
}
