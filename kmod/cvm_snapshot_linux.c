// SPDX-License-Identifier: GPL-2.0
/*
 * cvm_snapshot_linux.c - the kernel's snapshot hooks: the VM's GFNs are
 * its memslots, a pinned GFN is an entry of its memslot's pages xarray.
 */
#include <linux/sched/signal.h>

#include "cvm_internal.h"

/**
 * cvm_os_next_memory() - the first memslot that ends after a GFN
 * @core: the VM, locked
 * @gfn: where to look from
 * @ret_first: the memslot's first GFN at or after @gfn
 * @ret_end: the memslot's end
 *
 * Return: false when no memslot ends after @gfn.
 */
bool cvm_os_next_memory(struct cvm_core *core, u64 gfn, u64 *ret_first,
			u64 *ret_end)
{
	struct cvm_vm *vm = cvm_vm_of(core);
	struct cvm_memslot *slot;

	/* vm->slots is sorted by base_gfn. */
	list_for_each_entry(slot, &vm->slots, node) {
		if (slot->base_gfn + slot->npages <= gfn)
			continue;
		*ret_first = max(slot->base_gfn, gfn);
		*ret_end = slot->base_gfn + slot->npages;
		return true;
	}
	return false;
}

/**
 * cvm_os_next_pinned() - the first pinned GFN of a range inside a memslot
 * @core: the VM, locked
 * @gfn: the range's first GFN
 * @last: the range's last GFN, in @gfn's memslot
 *
 * Return: the GFN, or U64_MAX when none of the range is pinned.
 */
u64 cvm_os_next_pinned(struct cvm_core *core, u64 gfn, u64 last)
{
	struct cvm_memslot *slot = cvm_memslot_find_gfn(cvm_vm_of(core), gfn);
	unsigned long idx;

	if (!slot)
		return U64_MAX;
	idx = gfn - slot->base_gfn;
	last = min(last, slot->base_gfn + slot->npages - 1);
	if (!xa_find(&slot->pages, &idx, last - slot->base_gfn, XA_PRESENT))
		return U64_MAX;
	return slot->base_gfn + idx;
}

/**
 * cvm_os_fatal_signal_pending() - is the calling task being killed?
 *
 * Return: true when a fatal signal is pending: long walks stop.
 */
bool cvm_os_fatal_signal_pending(void)
{
	return fatal_signal_pending(current);
}
