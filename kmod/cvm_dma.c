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
 * Checks first (nothing allocated), then pins (the limits bound what the
 * range may cost before any entry is reserved), then reserves the new
 * refcount entries, then applies.
 *
 * Return: 0; -EBADFD when a GFN is secure (share it first); -EOVERFLOW;
 * -ENOMEM or -EFAULT from pinning; -EINTR when the caller is being
 * killed. Nothing changes on error (pins taken stay, as any demand pin).
 */
int cvm_dma_share(struct cvm_core *vm, u64 gfn, u64 npages)
{
	u64 i, reserved = 0;
	int ret = 0;

	for (i = 0; i < npages; i++) {
		if (cvm_os_loop_point(i + 1))
			return -EINTR;
		if (cvm_gfn_is_secure(cvm_gfn_state(vm, gfn + i)))
			return -EBADFD;
		if (cvm_dma_refs(vm, gfn + i) == U32_MAX)
			return -EOVERFLOW;
	}
	ret = cvm_pin(vm, gfn, npages, NULL);
	if (ret)
		return ret;
	for (i = 0; i < npages; i++) {
		if (!cvm_dma_refs(vm, gfn + i))
			ret = cvm_os_map_reserve(&vm->dma_refs, gfn + i);
		if (ret)
			goto err_release;
		reserved = i + 1;
		if (cvm_os_loop_point(i + 1)) {
			ret = -EINTR;
			goto err_release;
		}
	}
	for (i = 0; i < npages; i++) {
		cvm_dma_set(vm, gfn + i, cvm_dma_refs(vm, gfn + i) + 1);
		if (!((i + 1) % CVM_OS_RESCHED_EVERY))
			cond_resched();
	}
	return 0;

err_release:
	for (i = 0; i < reserved; i++) {
		if (!cvm_dma_refs(vm, gfn + i))
			cvm_os_map_release(&vm->dma_refs, gfn + i);
		if (!((i + 1) % CVM_OS_RESCHED_EVERY))
			cond_resched();
	}
	return ret;
}

/**
 * cvm_dma_unshare() - drop one DMA share on each GFN of a range
 * @vm: the VM, locked
 * @gfn: first GFN, the range inside the VM's memory
 * @npages: GFNs
 *
 * Return: 0, -EBADFD when a GFN holds no DMA share, -EINTR when the caller
 * is being killed (nothing changes on error).
 */
int cvm_dma_unshare(struct cvm_core *vm, u64 gfn, u64 npages)
{
	u64 i;

	for (i = 0; i < npages; i++) {
		if (cvm_os_loop_point(i + 1))
			return -EINTR;
		if (!cvm_dma_refs(vm, gfn + i))
			return -EBADFD;
	}
	for (i = 0; i < npages; i++) {
		cvm_dma_set(vm, gfn + i, cvm_dma_refs(vm, gfn + i) - 1);
		if (!((i + 1) % CVM_OS_RESCHED_EVERY))
			cond_resched();
	}
	return 0;
}

/* A memslot goes away: its DMA shares with it. */
void cvm_dma_forget_range(struct cvm_core *vm, u64 gfn, u64 npages)
{
	void *entry;
	u64 idx, n = 0;

	cvm_os_map_for_each_range(&vm->dma_refs, idx, entry, gfn,
				  gfn + npages - 1) {
		cvm_dma_set(vm, idx, 0);
		if (!(++n % CVM_OS_RESCHED_EVERY))
			cond_resched();
	}
}
