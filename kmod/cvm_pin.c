// SPDX-License-Identifier: GPL-2.0
/*
 * cvm_pin.c - demand and upfront pinning of guest pages, charged to the
 * owner's locked memory (RLIMIT_MEMLOCK, VFIO's model) and to the VM's own
 * pin limit. Every pinned page is charged exactly once; every unpin gives
 * exactly that charge back.
 */
#include <linux/bitmap.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>

#include "cvm_internal.h"

#define CVM_PIN_BATCH 512

/**
 * cvm_pin_charge() - charge pages about to be pinned
 * @vm: the VM, locked
 * @npages: pages
 *
 * Return: 0, or -ENOMEM when either the VM's pin limit or the owner's
 * RLIMIT_MEMLOCK would be exceeded (nothing is charged then).
 */
int cvm_pin_charge(struct cvm_vm *vm, unsigned long npages)
{
	int ret;

	if (vm->core.pin_limit_pages &&
	    vm->core.nr_pinned + npages > vm->core.pin_limit_pages)
		return -ENOMEM;
	if (!mmget_not_zero(vm->mm))
		return -ESRCH;
	mmap_write_lock(vm->mm);
	ret = __account_locked_vm(vm->mm, npages, true, vm->task, vm->lock_cap);
	mmap_write_unlock(vm->mm);
	mmput(vm->mm);
	if (ret)
		return ret;
	vm->core.nr_pinned += npages;
	cvm_stat_pinned(npages);
	return 0;
}

/**
 * cvm_pin_uncharge() - give back the charge of pages just unpinned
 * @vm: the VM, locked
 * @npages: pages
 *
 * When the owner's mm is already gone (the owner exited before its VM fd
 * was released), its locked_vm went with it: nothing to give back there.
 */
void cvm_pin_uncharge(struct cvm_vm *vm, unsigned long npages)
{
	if (!npages)
		return;
	if (mmget_not_zero(vm->mm)) {
		mmap_write_lock(vm->mm);
		__account_locked_vm(vm->mm, npages, false, vm->task,
				    vm->lock_cap);
		mmap_write_unlock(vm->mm);
		mmput(vm->mm);
	}
	vm->core.nr_pinned -= npages;
	cvm_stat_pinned(-(long)npages);
}

u64 cvm_pin_memlock_limit(struct cvm_vm *vm)
{
	if (vm->lock_cap)
		return U64_MAX;
	return task_rlimit(vm->task, RLIMIT_MEMLOCK);
}

static unsigned long cvm_gfn_uaddr(struct cvm_memslot *slot, u64 gfn)
{
	return slot->uaddr + ((gfn - slot->base_gfn) << PAGE_SHIFT);
}

/* Long-term pins, never get_page(): the page can't move or be reclaimed. */
static long cvm_pin_user(unsigned long uaddr, unsigned long npages,
			 struct page **pages)
{
	long pinned;

	pinned = pin_user_pages_fast(uaddr, npages,
				     FOLL_WRITE | FOLL_LONGTERM, pages);
	if (pinned >= 0 && pinned < npages) {
		unpin_user_pages(pages, pinned);
		pinned = -EFAULT;
	}
	return pinned;
}

/* The pinned host page of a GFN inside a memslot, or NULL. */
static struct page *cvm_host_page(struct cvm_vm *vm, u64 gfn)
{
	struct cvm_memslot *slot = cvm_memslot_find_gfn(vm, gfn);

	return slot ? xa_load(&slot->pages, gfn - slot->base_gfn) : NULL;
}

/* The core's hooks (cvm_core.h): host pages are pins of memslot pages. */
struct cvm_page *cvm_os_host_page(struct cvm_core *core, u64 gfn)
{
	return cvm_os_cpage(cvm_host_page(cvm_vm_of(core), gfn));
}

bool cvm_os_pinned(struct cvm_core *core, u64 gfn)
{
	return cvm_host_page(cvm_vm_of(core), gfn);
}

/* Undo the pins this call made, given which GFNs it pinned. */
static void cvm_unpin_new(struct cvm_vm *vm, u64 gfn,
			  const unsigned long *newly, u64 npages)
{
	struct cvm_memslot *slot;
	struct page *page;
	unsigned long i, n = 0;

	for_each_set_bit(i, newly, npages) {
		slot = cvm_memslot_find_gfn(vm, gfn + i);
		page = xa_erase(&slot->pages, gfn + i - slot->base_gfn);
		if (page) {
			unpin_user_page(page);
			n++;
		}
	}
	cvm_pin_uncharge(vm, n);
}

/**
 * cvm_os_pin_new() - pin the host pages of the GFNs cvm_pin() found missing
 * @core: the VM, locked; the caller is the owner (current->mm == vm->mm)
 * @gfn: first GFN, the whole range inside memslots
 * @npages: GFNs in the range
 * @newly: bitmap of the GFNs (relative to @gfn) to pin, none pinned yet
 * @missing: how many bits @newly has
 *
 * The pages are charged together first, so a request that does not fit
 * fails before anything is pinned; a later pin failure unpins and
 * uncharges what this call did. Either every page asked for is pinned or
 * nothing changed.
 *
 * Return: 0, -ENOMEM over a limit, -EFAULT when a host page can't be pinned.
 */
int cvm_os_pin_new(struct cvm_core *core, u64 gfn, u64 npages,
		   const unsigned long *newly, u64 missing)
{
	struct cvm_vm *vm = cvm_vm_of(core);
	struct cvm_memslot *slot;
	struct page *page;
	unsigned long i;
	int ret;

	ret = cvm_pin_charge(vm, missing);
	if (ret)
		return ret;

	for_each_set_bit(i, newly, npages) {
		slot = cvm_memslot_find_gfn(vm, gfn + i);
		ret = cvm_pin_user(cvm_gfn_uaddr(slot, gfn + i), 1, &page);
		if (ret < 0)
			goto err_unpin;
		ret = xa_err(xa_store(&slot->pages, gfn + i - slot->base_gfn,
				      page, GFP_KERNEL_ACCOUNT));
		if (ret) {
			unpin_user_page(page);
			goto err_unpin;
		}
		missing--;
		if (!(missing % CVM_PIN_BATCH))
			cond_resched();
	}
	return 0;

err_unpin:
	/* The pages not reached yet were charged but never pinned. */
	cvm_pin_uncharge(vm, missing);
	cvm_unpin_new(vm, gfn, newly, npages);
	return ret;
}

/**
 * cvm_pin_slot_upfront() - pin and charge a whole memslot at registration
 * @vm: the VM, locked
 * @slot: the new slot, not yet on the VM's list
 *
 * Return: 0, or -errno with nothing pinned or charged.
 */
int cvm_pin_slot_upfront(struct cvm_vm *vm, struct cvm_memslot *slot)
{
	struct page **batch;
	u64 done = 0;
	long n, i;
	int ret;

	batch = kvmalloc_array(CVM_PIN_BATCH, sizeof(*batch), GFP_KERNEL);
	if (!batch)
		return -ENOMEM;
	ret = cvm_pin_charge(vm, slot->npages);
	if (ret)
		goto out_free;

	while (done < slot->npages) {
		n = min_t(u64, CVM_PIN_BATCH, slot->npages - done);
		n = cvm_pin_user(slot->uaddr + (done << PAGE_SHIFT), n, batch);
		if (n < 0) {
			ret = n;
			goto err_unpin;
		}
		for (i = 0; i < n; i++) {
			ret = xa_err(xa_store(&slot->pages, done + i, batch[i],
					      GFP_KERNEL_ACCOUNT));
			if (ret) {
				unpin_user_pages(batch + i, n - i);
				done += i;
				goto err_unpin;
			}
		}
		done += n;
		cond_resched();
	}
	goto out_free;

err_unpin:
	/* cvm_unpin_slot() uncharges what it unpins; the rest is ours. */
	cvm_unpin_slot(vm, slot);
	cvm_pin_uncharge(vm, slot->npages - done);
out_free:
	kvfree(batch);
	return ret;
}

/**
 * cvm_unpin_slot_range() - unpin the pinned pages of part of a memslot
 * that hold no secure contents and no DMA share, give the charge back
 * @vm: the VM, locked
 * @slot: the memslot
 * @first: first slot index
 * @last: last slot index (inclusive)
 *
 * Used for host-side invalidations (zap scope "shared only"): the next use
 * pins whatever page the owner maps there now.
 */
void cvm_unpin_slot_range(struct cvm_vm *vm, struct cvm_memslot *slot,
			  u64 first, u64 last)
{
	unsigned long idx, n = 0;
	struct page *page;
	u64 gfn;

	xa_for_each_range(&slot->pages, idx, page, first, last) {
		gfn = slot->base_gfn + idx;
		if (cvm_spage(&vm->core, gfn) || cvm_dma_refs(&vm->core, gfn))
			continue;
		unpin_user_pages_dirty_lock(&page, 1, true);
		xa_erase(&slot->pages, idx);
		n++;
	}
	cvm_pin_uncharge(vm, n);
}

/**
 * cvm_unpin_slot() - unpin every pinned page of a memslot, give the charge
 * back
 * @vm: the VM, locked
 * @slot: the memslot; its secure contents were discarded already
 */
void cvm_unpin_slot(struct cvm_vm *vm, struct cvm_memslot *slot)
{
	unsigned long idx, n = 0;
	struct page *page;

	xa_for_each(&slot->pages, idx, page) {
		/* The guest may have written it: dirty it for writeback. */
		unpin_user_pages_dirty_lock(&page, 1, true);
		xa_erase(&slot->pages, idx);
		n++;
		if (!(n % CVM_PIN_BATCH))
			cond_resched();
	}
	cvm_pin_uncharge(vm, n);
}
