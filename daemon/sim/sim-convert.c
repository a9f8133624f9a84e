// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * sim-convert.c - the page operations (page-in, page-out, share, unshare)
 * over a range, all or nothing, and INIT_DONE's move of touched pages into
 * secure memory; step for step the module's cvm_convert.c.
 */
#include <errno.h>
#include <stdlib.h>

#include "sim-internal.h"

static bool sim_becomes_secure(enum cvm_gfn_state from, enum cvm_gfn_state to)
{
	return !cvm_gfn_is_secure(from) && cvm_gfn_is_secure(to);
}

/* Apply one GFN's transition whose checks and resources are in place. */
static int sim_convert_one(struct cvm_backend *vm, uint64_t gfn,
			   enum cvm_gfn_op op, enum cvm_gfn_state from,
			   enum cvm_gfn_state to)
{
	if (from == to)
		return 0;
	if (sim_becomes_secure(from, to))
		return sim_secure_take(vm, gfn);
	if (from == CVM_GFN_SECURE_PAGED_OUT && to == CVM_GFN_SECURE)
		return sim_secure_page_in(vm, gfn);
	if (op == CVM_GFN_OP_PAGE_OUT)
		return sim_secure_page_out(vm, gfn);
	/* secure -> shared discards; normal -> shared changes no bytes */
	sim_secure_discard(vm, gfn);
	sim_gfn_set(vm, gfn, to);
	return 0;
}

/**
 * sim_convert_range() - apply a GFN-table operation to a range
 * @vm: the VM, locked and started
 * @gfn: first GFN, the range inside the memory
 * @npages: GFNs
 * @op: SHARE, UNSHARE, PAGE_IN or PAGE_OUT (the last two: one page)
 *
 * 1. Check every GFN against the table and for DMA shares: a refusal here
 *    changes nothing.
 * 2. Pin the host pages whose contents move into secure memory (all or
 *    nothing).
 * 3. Apply; only moving contents in can fail (pool exhausted with nothing
 *    left to evict), and then the GFNs moved by this call get their
 *    contents and state back, and the measurement its earlier value.
 *
 * Return: 0; -EBADFD (GFN state), -EBUSY (DMA-shared page would become
 * secure), -EBADMSG (paged-out contents failed authentication), -ENOMEM,
 * -EFAULT.
 */
int sim_convert_range(struct cvm_backend *vm, uint64_t gfn, uint64_t npages,
		      enum cvm_gfn_op op)
{
	uint64_t *take, *was_shared;
	enum cvm_gfn_state from, to;
	uint64_t i, done;
	int ret;

	take = sim_bits_alloc(npages);
	was_shared = sim_bits_alloc(npages);
	if (!take || !was_shared) {
		ret = -ENOMEM;
		goto out_free;
	}
	for (i = 0; i < npages; i++) {
		from = sim_gfn_state(vm, gfn + i);
		ret = cvm_gfn_transition(from, op, &to);
		if (ret)
			goto out_free;
		if (sim_becomes_secure(from, to)) {
			if (vm->dma_refs[gfn + i]) {
				ret = -EBUSY;
				goto out_free;
			}
			sim_bits_set(take, i);
			if (from == CVM_GFN_SHARED)
				sim_bits_set(was_shared, i);
		}
	}
	ret = sim_pin_gfns(vm, gfn, npages, take);
	if (!ret)
		ret = sim_measure_save(vm->measure);
	if (ret)
		goto out_free;

	for (done = 0; done < npages; done++) {
		from = sim_gfn_state(vm, gfn + done);
		cvm_gfn_transition(from, op, &to);
		ret = sim_convert_one(vm, gfn + done, op, from, to);
		if (ret)
			goto err_rollback;
	}
	goto out_free;

err_rollback:
	for (i = 0; i < done; i++) {
		if (!sim_bits_test(take, i))
			continue;
		sim_secure_give_back(vm, gfn + i);
		sim_gfn_set(vm, gfn + i, sim_bits_test(was_shared, i) ?
			    CVM_GFN_SHARED : CVM_GFN_NORMAL);
	}
	sim_measure_restore(vm->measure);
out_free:
	free(take);
	free(was_shared);
	return ret;
}

/**
 * sim_convert_init_done() - move every touched normal GFN into secure
 * memory, then make the untouched ones secure by state
 * @vm: the VM, locked, transient
 *
 * Walks the pages the guest touched (not those only pinned upfront), in
 * GFN order, never the whole
 * memory. A failure half way leaves the VM transient with the GFNs moved
 * so far secure; INIT_DONE may be retried.
 *
 * Return: 0; -EBUSY when a normal GFN holds a DMA share; -ENOMEM.
 */
int sim_convert_init_done(struct cvm_backend *vm)
{
	uint64_t gfn;
	int ret;

	/* DMA-shared GFNs are pinned: this walk meets every one. */
	sim_bitmap_for_each(gfn, &vm->pinned)
		if (vm->dma_refs[gfn] &&
		    sim_gfn_state(vm, gfn) == CVM_GFN_NORMAL)
			return -EBUSY;
	sim_bitmap_for_each(gfn, &vm->touched) {
		if (sim_gfn_state(vm, gfn) != CVM_GFN_NORMAL)
			continue;
		ret = sim_secure_take(vm, gfn);
		if (ret)
			return ret;
	}
	ret = sim_measure_seal(vm->measure);
	if (ret)
		return ret;
	sim_gfn_flip_untouched(vm);
	return 0;
}
