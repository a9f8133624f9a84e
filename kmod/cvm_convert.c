// SPDX-License-Identifier: GPL-2.0-only OR LGPL-2.1-or-later
/*
 * cvm_convert.c - the page operations (page-in, page-out, share, unshare)
 * over a range, all or nothing, and INIT_DONE's move of touched pages into
 * secure memory.
 */
#include "cvm_core.h"

static bool cvm_becomes_secure(enum cvm_gfn_state from, enum cvm_gfn_state to)
{
	return !cvm_gfn_is_secure(from) && cvm_gfn_is_secure(to);
}

/* Apply one GFN's transition whose checks and resources are in place. */
static int cvm_convert_one(struct cvm_core *vm, u64 gfn, enum cvm_gfn_op op,
			   enum cvm_gfn_state from, enum cvm_gfn_state to)
{
	if (from == to)
		return 0;
	if (cvm_becomes_secure(from, to))
		return cvm_secure_take(vm, gfn);
	if (from == CVM_GFN_SECURE_PAGED_OUT && to == CVM_GFN_SECURE)
		return cvm_secure_page_in(vm, gfn);
	if (op == CVM_GFN_OP_PAGE_OUT)
		return cvm_secure_page_out(vm, gfn);
	/* secure -> shared discards; normal -> shared changes no bytes */
	cvm_secure_discard(vm, gfn);
	cvm_gfn_set(vm, gfn, to);
	return 0;
}

/* Drop the state-entry reservations left in [gfn, gfn + npages). */
static void cvm_convert_release(struct cvm_core *vm, u64 gfn, u64 npages)
{
	u64 i;

	for (i = 0; i < npages; i++) {
		if (!cvm_os_map_load(&vm->gfn_states, gfn + i))
			cvm_os_map_release(&vm->gfn_states, gfn + i);
		if (!((i + 1) % CVM_OS_RESCHED_EVERY))
			cond_resched();
	}
}

/*
 * Step 1: every GFN against the table and for DMA shares, nothing
 * changed, nothing allocated; the span [*ret_first, *ret_last] of the GFNs
 * whose contents move into secure memory (*ret_first U64_MAX: none).
 */
static int cvm_convert_check(struct cvm_core *vm, u64 gfn, u64 npages,
			     enum cvm_gfn_op op, u64 *ret_first, u64 *ret_last)
{
	enum cvm_gfn_state from, to;
	u64 i;
	int ret;

	*ret_first = U64_MAX;
	*ret_last = 0;
	for (i = 0; i < npages; i++) {
		if (cvm_os_loop_point(i + 1))
			return -EINTR;
		from = cvm_gfn_state(vm, gfn + i);
		ret = cvm_gfn_transition(from, op, &to);
		if (ret)
			return ret;
		if (!cvm_becomes_secure(from, to))
			continue;
		if (cvm_dma_refs(vm, gfn + i))
			return -EBUSY;
		if (*ret_first == U64_MAX)
			*ret_first = i;
		*ret_last = i;
	}
	return 0;
}

/**
 * cvm_convert_range() - apply a GFN-table operation to a range
 * @vm: the VM, locked and started
 * @gfn: first GFN, the range inside the VM's memory
 * @npages: GFNs
 * @op: SHARE, UNSHARE, PAGE_IN or PAGE_OUT (the last two: one page)
 *
 * 1. Check every GFN against the table and for DMA shares: a refusal here
 *    changes nothing and allocates nothing.
 * 2. Pin the host pages whose contents move into secure memory (all or
 *    nothing); the bitmaps of what moves cover only the span from the
 *    first to the last such GFN.
 * 3. Reserve the state entries the range needs; a failure releases them.
 * 4. Apply; only moving contents in can fail (pool exhausted with nothing
 *    left to evict), or the caller be killed (a range that discards or
 *    relabels can't be undone: once it changed a GFN it runs to its end),
 *    and then the GFNs moved by this call get their contents and state
 *    back, and the measurement its earlier value. While applying, a GFN
 *    going to the VM's untouched state keeps its entry as a reservation,
 *    so the rollback's stores can't fail; every reservation left is
 *    released at the end.
 *
 * Return: 0; -EBADFD (GFN state), -EBUSY (DMA-shared page would become
 * secure), -EBADMSG (paged-out contents failed authentication), -ENOMEM,
 * -EFAULT, -EINTR (the caller is being killed; nothing changed).
 */
int cvm_convert_range(struct cvm_core *vm, u64 gfn, u64 npages,
		      enum cvm_gfn_op op)
{
	unsigned long *take = NULL, *was_shared = NULL;
	enum cvm_gfn_state from, to;
	u64 i, done, first, last, span = 0, reserved = 0, nr_reserved = 0;
	bool changed = false;
	int ret;

	ret = cvm_convert_check(vm, gfn, npages, op, &first, &last);
	if (ret)
		return ret;
	if (first != U64_MAX) {
		span = last - first + 1;
		take = cvm_os_bitmap_zalloc(span);
		was_shared = cvm_os_bitmap_zalloc(span);
		if (!take || !was_shared) {
			ret = -ENOMEM;
			goto out_free;
		}
		for (i = 0; i < span; i++) {
			from = cvm_gfn_state(vm, gfn + first + i);
			cvm_gfn_transition(from, op, &to);
			if (cvm_becomes_secure(from, to)) {
				cvm_bit_set(take, i);
				if (from == CVM_GFN_SHARED)
					cvm_bit_set(was_shared, i);
			}
			if (cvm_os_loop_point(i + 1)) {
				ret = -EINTR;
				goto out_free;
			}
		}
		ret = cvm_pin(vm, gfn + first, span, take);
		if (ret)
			goto out_free;
	}
	for (i = 0; i < npages; i++) {
		from = cvm_gfn_state(vm, gfn + i);
		cvm_gfn_transition(from, op, &to);
		if (to != vm->untouched_state &&
		    !cvm_os_map_load(&vm->gfn_states, gfn + i))
			nr_reserved++;
		ret = cvm_gfn_reserve(vm, gfn + i, to);
		if (ret)
			goto out_release;
		reserved = i + 1;
		if (cvm_os_loop_point(i + 1)) {
			ret = -EINTR;
			goto out_release;
		}
	}
	ret = cvm_measure_save(vm->measure);
	if (ret)
		goto out_release;

	vm->gfn_keep_slots = true;
	vm->gfn_nr_kept = 0;
	for (done = 0; done < npages; done++) {
		/*
		 * Only moving contents in can be undone (SHARE's discards
		 * can't): a range stops for a fatal signal here when it moves
		 * contents in or changed nothing yet; the others just yield.
		 */
		if (cvm_os_loop_point(done + 1) && (span || !changed)) {
			ret = -EINTR;
			goto err_rollback;
		}
		from = cvm_gfn_state(vm, gfn + done);
		cvm_gfn_transition(from, op, &to);
		changed |= from != to;
		ret = cvm_convert_one(vm, gfn + done, op, from, to);
		if (ret)
			goto err_rollback;
	}
	goto out_keep;

err_rollback:
	for (i = 0; first != U64_MAX && i < span && first + i < done; i++) {
		if (!cvm_bit_test(take, i))
			continue;
		cvm_secure_give_back(vm, gfn + first + i);
		cvm_gfn_set(vm, gfn + first + i,
			    cvm_bit_test(was_shared, i) ? CVM_GFN_SHARED
							: CVM_GFN_NORMAL);
		if (!((i + 1) % CVM_OS_RESCHED_EVERY))
			cond_resched();
	}
	cvm_measure_restore(vm->measure);
out_keep:
	vm->gfn_keep_slots = false;
	nr_reserved += vm->gfn_nr_kept;
out_release:
	/* a walk only when this call left reservations */
	if (nr_reserved)
		cvm_convert_release(vm, gfn, reserved);
out_free:
	cvm_os_bitmap_free(take);
	cvm_os_bitmap_free(was_shared);
	return ret;
}

/**
 * cvm_convert_init_done() - move every touched normal GFN into secure
 * memory, then make the untouched ones secure by state
 * @vm: the VM, locked, transient
 *
 * Walks the pages the guest touched (cvm_os_next_touched()), in GFN order,
 * never the whole memory, and not the pages only pinned upfront: the
 * result, and the launch measurement, do not depend on the pinning mode. A
 * failure half way leaves the VM transient with the GFNs moved so far
 * secure; INIT_DONE may be retried.
 *
 * Return: 0; -EBUSY when a normal GFN holds a DMA share; -ENOMEM; -EINTR
 * when the caller is being killed.
 */
int cvm_convert_init_done(struct cvm_core *vm)
{
	void *entry;
	u64 gfn, n = 0;
	int ret;

	cvm_os_map_for_each(&vm->dma_refs, gfn, entry)
		if (cvm_gfn_state(vm, gfn) == CVM_GFN_NORMAL)
			return -EBUSY;
	for (gfn = cvm_os_next_touched(vm, 0); gfn != U64_MAX;
	     gfn = cvm_os_next_touched(vm, gfn + 1)) {
		if (cvm_gfn_state(vm, gfn) != CVM_GFN_NORMAL)
			continue;
		ret = cvm_secure_take(vm, gfn);
		if (!ret && cvm_os_loop_point(++n))
			ret = -EINTR;
		if (ret)
			return ret;
	}
	ret = cvm_measure_seal(vm->measure);
	if (ret)
		return ret;
	cvm_gfn_flip_untouched(vm);
	return 0;
}
