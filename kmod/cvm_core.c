// SPDX-License-Identifier: GPL-2.0-only OR LGPL-2.1-or-later
/*
 * cvm_core.c - a VM's life in the portable core: creation of its tables,
 * the lifecycle operations with their content changes, the page
 * operations' checks and dispatch, and its counters. The backend locks
 * the VM around each call and checks who may call.
 */
#include "cvm_core.h"

/**
 * cvm_core_init() - set up a VM's tables, sealing key and measurement
 * @vm: the VM's core, zeroed
 * @nr_index: GFNs the maps must index (userspace sizes its arrays by it)
 *
 * Return: 0, or -errno with what was set up left for cvm_core_fini().
 */
int cvm_core_init(struct cvm_core *vm, u64 nr_index)
{
	int ret;

	vm->state = CVM_VM_NORMAL;
	vm->untouched_state = CVM_GFN_NORMAL;
	INIT_LIST_HEAD(&vm->lru);
	ret = cvm_os_map_init(&vm->gfn_states, nr_index);
	if (!ret)
		ret = cvm_os_map_init(&vm->spages, nr_index);
	if (!ret)
		ret = cvm_os_map_init(&vm->dma_refs, nr_index);
	if (!ret)
		ret = cvm_crypt_new(&vm->crypt);
	if (!ret)
		ret = cvm_measure_new(&vm->measure);
	return ret;
}

/* After the backend discarded the contents and unpinned everything. */
void cvm_core_fini(struct cvm_core *vm)
{
	WARN_ON_ONCE(vm->nr_pinned || vm->nr_resident || vm->nr_dma_shared);
	cvm_measure_free(vm->measure);
	vm->measure = NULL;
	cvm_crypt_free(vm->crypt);
	vm->crypt = NULL;
	cvm_os_map_destroy(&vm->dma_refs);
	cvm_os_map_destroy(&vm->spages);
	cvm_os_map_destroy(&vm->gfn_states);
}

/*
 * Every GFN back to normal, secure contents discarded and their host pages
 * zeroed: INIT_ABORT, TERMINATE, and a VM going away (its backend unpins
 * afterwards).
 */
void cvm_core_drop_all(struct cvm_core *vm)
{
	cvm_secure_discard_all(vm);
	cvm_gfn_drop_all(vm);
}

/**
 * cvm_core_lifecycle() - apply a lifecycle operation
 * @vm: the VM, locked
 * @op: the operation
 *
 * Looks the cell up, then moves the GFNs the way the GFN table's column
 * for that operation says.
 *
 * Return: 0; -EBADFD when the table refuses; INIT_DONE's errors (the VM
 * then stays transient, never half-secure).
 */
int cvm_core_lifecycle(struct cvm_core *vm, enum cvm_vm_op op)
{
	enum cvm_vm_state to;
	int ret;

	ret = cvm_vm_transition(vm->state, op, &to);
	if (ret)
		return ret;
	switch (op) {
	case CVM_VM_OP_INIT_START:
		ret = cvm_measure_start(vm->measure);
		break;
	case CVM_VM_OP_INIT_DONE:
		ret = cvm_convert_init_done(vm);
		break;
	case CVM_VM_OP_INIT_ABORT:
	case CVM_VM_OP_TERMINATE:
		cvm_core_drop_all(vm);
		cvm_measure_reset(vm->measure);
		break;
	case CVM_VM_OP_START_VM:
		break;
	}
	if (!ret)
		vm->state = to;
	return ret;
}

/**
 * cvm_core_page_op() - a page operation: PAGE_IN / PAGE_OUT take one page,
 * the others a range
 * @vm: the VM, locked
 * @cmd: the operation
 * @gpa: first GPA, page aligned
 * @nr_pages: pages, 0 meaning 1
 *
 * Argument errors come first (-EINVAL), then "not started" (-EOPNOTSUPP;
 * DMA shares are allowed in any VM state), then the GPA range (-ERANGE),
 * then the range's size (-E2BIG past CVM_PAGE_OP_MAX_PAGES), then the
 * tables.
 */
int cvm_core_page_op(struct cvm_core *vm, enum cvm_page_cmd cmd, u64 gpa,
		     u64 nr_pages)
{
	u64 npages = nr_pages ? nr_pages : 1;
	u64 gfn = gpa >> CVM_PAGE_SHIFT;
	enum cvm_gfn_op op = CVM_GFN_OP_SHARE;
	bool dma = false;
	int ret;

	if ((unsigned int)cmd >= CVM_PAGE_NR_CMDS || gpa % CVM_PAGE_SIZE)
		return -EINVAL;
	switch (cmd) {
	case CVM_PAGE_CMD_IN:
	case CVM_PAGE_CMD_IN_SHARED:
	case CVM_PAGE_CMD_OUT:
		if (npages != 1)
			return -EINVAL;
		op = cmd == CVM_PAGE_CMD_IN    ? CVM_GFN_OP_PAGE_IN
		     : cmd == CVM_PAGE_CMD_OUT ? CVM_GFN_OP_PAGE_OUT
					       : CVM_GFN_OP_SHARE;
		break;
	case CVM_PAGE_CMD_SHARE:
		op = CVM_GFN_OP_SHARE;
		break;
	case CVM_PAGE_CMD_UNSHARE:
		op = CVM_GFN_OP_UNSHARE;
		break;
	case CVM_PAGE_CMD_DMA_SHARE:
	case CVM_PAGE_CMD_DMA_UNSHARE:
		dma = true;
		break;
	}

	ret = dma ? 0 : cvm_vm_page_op_check(vm->state);
	if (!ret)
		ret = cvm_os_check_range(vm, gfn, npages);
	if (ret)
		return ret;
	if (npages > CVM_PAGE_OP_MAX_PAGES)
		return -E2BIG;
	if (cmd == CVM_PAGE_CMD_DMA_SHARE)
		return cvm_dma_share(vm, gfn, npages);
	if (cmd == CVM_PAGE_CMD_DMA_UNSHARE)
		return cvm_dma_unshare(vm, gfn, npages);
	return cvm_convert_range(vm, gfn, npages, op);
}

/**
 * cvm_pin() - make sure GFNs of a range have their host page pinned
 * @vm: the VM, locked
 * @gfn: first GFN, the range inside the VM's memory
 * @npages: GFNs
 * @need: which of them (bit i for @gfn + i), or NULL for all
 *
 * All or nothing: the pages missing are counted and checked against the
 * per-VM limit together first, then the backend pins them
 * (cvm_os_pin_new()), undoing its own pins if one fails. The bitmap handed
 * to the backend covers only the span from the first to the last missing
 * page, so a range that is mostly pinned already, or refused by the limit,
 * costs no memory that grows with it.
 *
 * Return: 0, -ENOMEM over a limit (nothing of this call stays pinned or
 * charged), -EFAULT when a host page can't be pinned, -EINTR when the
 * caller is being killed.
 */
int cvm_pin(struct cvm_core *vm, u64 gfn, u64 npages, const unsigned long *need)
{
	u64 i, first = U64_MAX, last = 0, missing = 0;
	unsigned long *newly;
	int ret;

	for (i = 0; i < npages; i++) {
		if (cvm_os_loop_point(i + 1))
			return -EINTR;
		if (need && !cvm_bit_test(need, i))
			continue;
		if (cvm_os_pinned(vm, gfn + i))
			continue;
		if (first == U64_MAX)
			first = i;
		last = i;
		missing++;
	}
	if (!missing)
		return 0;
	if (vm->pin_limit_pages &&
	    (missing > vm->pin_limit_pages ||
	     vm->nr_pinned > vm->pin_limit_pages - missing))
		return -ENOMEM;
	newly = cvm_os_bitmap_zalloc(last - first + 1);
	if (!newly)
		return -ENOMEM;
	for (i = first; i <= last; i++) {
		if (need && !cvm_bit_test(need, i))
			continue;
		if (!cvm_os_pinned(vm, gfn + i))
			cvm_bit_set(newly, i - first);
		if (cvm_os_loop_point(i - first + 1)) {
			ret = -EINTR;
			goto out_free;
		}
	}
	ret = cvm_os_pin_new(vm, gfn + first, last - first + 1, newly, missing);
out_free:
	cvm_os_bitmap_free(newly);
	return ret;
}

/**
 * cvm_core_pin_limit() - the per-VM pin limit from its creation argument
 * @bytes: cvm_create_vm.pin_limit_bytes (0: no limit)
 * @ret_pages: the limit in pages, rounded down
 *
 * Return: 0, or -EINVAL for a limit below one page: rounded down it would
 * read as 0, "no limit", the opposite of what was asked.
 */
int cvm_core_pin_limit(u64 bytes, u64 *ret_pages)
{
	if (bytes && bytes < CVM_PAGE_SIZE)
		return -EINVAL;
	*ret_pages = bytes >> CVM_PAGE_SHIFT;
	return 0;
}

/**
 * cvm_core_fault_around_check() - check a memslot's fault-around request
 * @upfront: CVM_MEMSLOT_UPFRONT is set
 * @flag: CVM_MEMSLOT_FAULT_AROUND is set
 * @pages: cvm_user_memslot.fault_around
 *
 * Return: 0, or -EINVAL: a run that is not a power of two in
 * 2..CVM_FAULT_AROUND_MAX with the flag, a run without it, or the flag
 * with upfront pinning, where nothing is left to pin on a fault.
 */
int cvm_core_fault_around_check(bool upfront, bool flag, u32 pages)
{
	if (!flag)
		return pages ? -EINVAL : 0;
	if (upfront || pages < 2 || pages > CVM_FAULT_AROUND_MAX ||
	    (pages & (pages - 1)))
		return -EINVAL;
	return 0;
}

/*
 * The counters the core keeps; the backend adds the charge, its limits
 * and its memslots.
 */
void cvm_core_stats(struct cvm_core *vm, struct cvm_vm_stats *st)
{
	struct cvm_measurement m;

	st->state = vm->state;
	st->nr_pages = vm->nr_pages;
	st->normal_pages = cvm_gfn_count(vm, CVM_GFN_NORMAL);
	st->shared_pages = cvm_gfn_count(vm, CVM_GFN_SHARED);
	st->secure_paged_out = cvm_gfn_count(vm, CVM_GFN_SECURE_PAGED_OUT);
	st->secure_pages =
	    cvm_gfn_count(vm, CVM_GFN_SECURE) + st->secure_paged_out;
	st->pinned_pages = vm->nr_pinned;
	st->pin_limit_bytes = vm->pin_limit_pages << CVM_PAGE_SHIFT;
	st->pool_pages = vm->nr_resident;
	st->evictions = vm->nr_evictions;
	st->dma_shared_pages = vm->nr_dma_shared;
	cvm_measure_read(vm->measure, &m);
	st->measured_pages = m.nr_pages;
}
