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

/*
 * Long-term pins, never get_page(): the page can't move or be reclaimed.
 * Under the owner's mmap_lock, so each page's VMA is checked for a backing
 * a memslot accepts: the layout may have changed since CVM_SET_MEMSLOT,
 * and this kernel's FOLL_LONGTERM refuses fsdax only, not page cache.
 * All or nothing: the number pinned (@npages), -EFAULT for a hole or a
 * page GUP refuses, -EINVAL for a refused backing.
 */
static long cvm_pin_user(unsigned long uaddr, unsigned long npages,
			 struct page **pages, struct vm_area_struct **vmas)
{
	struct mm_struct *mm = current->mm;
	long pinned, i;

	mmap_read_lock(mm);
	pinned = pin_user_pages(uaddr, npages, FOLL_WRITE | FOLL_LONGTERM,
				pages, vmas);
	for (i = 0; i < pinned; i++) {
		if (!cvm_memslot_backing_ok(vmas[i])) {
			unpin_user_pages(pages, pinned);
			pinned = -EINVAL;
			break;
		}
	}
	mmap_read_unlock(mm);
	if (pinned >= 0 && pinned < npages) {
		unpin_user_pages(pages, pinned);
		pinned = -EFAULT;
	}
	return pinned;
}

/*
 * Pin @npages pages of @slot from index @idx, coherent with the owner's
 * mappings (lib/test_hmm.c's discipline): when the slot's notifier saw an
 * invalidation since mmu_interval_read_begin(), the pages may be the ones
 * being unmapped, so they are dropped and pinned again.
 * Return: @npages, or -errno with nothing pinned (-EINTR when killed).
 */
static long cvm_pin_coherent(struct cvm_memslot *slot, u64 idx,
			     unsigned long npages, struct page **pages,
			     struct vm_area_struct **vmas)
{
	unsigned long seq;
	bool retry;
	long n;

	for (;;) {
		if (fatal_signal_pending(current))
			return -EINTR;
		seq = mmu_interval_read_begin(&slot->notifier);
		n = cvm_pin_user(slot->uaddr + (idx << PAGE_SHIFT), npages,
				 pages, vmas);
		if (n < 0)
			return n;
		cvm_test_delay(&cvm_test_delay_ms_pin);
		spin_lock(&slot->zap_lock);
		retry = mmu_interval_read_retry(&slot->notifier, seq);
		spin_unlock(&slot->zap_lock);
		if (!retry)
			return n;
		unpin_user_pages(pages, n);
	}
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
			if (!(n % CVM_PIN_BATCH))
				cond_resched();
		}
	}
	cvm_pin_uncharge(vm, n);
}

u32 cvm_os_fault_around(struct cvm_core *core, u64 gfn, u64 *ret_first,
			u64 *ret_end)
{
	struct cvm_memslot *slot = cvm_memslot_find_gfn(cvm_vm_of(core), gfn);

	if (!slot)
		return 0;
	*ret_first = slot->base_gfn;
	*ret_end = slot->base_gfn + slot->npages;
	return slot->fault_around;
}

/* Runs up to this long pin from arrays on the stack. */
#define CVM_PIN_STACK 16

/*
 * Pin one run of @n contiguous slot pages from @idx with one GUP call per
 * CVM_PIN_BATCH, storing them in the slot. Return: 0, or -errno with
 * *ret_done pages of the run pinned and stored.
 */
static int cvm_pin_run(struct cvm_memslot *slot, u64 idx, u64 n,
		       struct page **pages, struct vm_area_struct **vmas,
		       unsigned long batch, u64 *ret_done)
{
	u64 done = 0;
	long got, i;
	int ret;

	while (done < n) {
		got = cvm_pin_coherent(slot, idx + done,
				       min_t(u64, batch, n - done), pages,
				       vmas);
		if (got < 0) {
			ret = got;
			goto out;
		}
		for (i = 0; i < got; i++) {
			ret = xa_err(xa_store(&slot->pages, idx + done + i,
					      pages[i], GFP_KERNEL_ACCOUNT));
			if (ret) {
				unpin_user_pages(pages + i, got - i);
				done += i;
				goto out;
			}
		}
		done += got;
		if (done < n)
			cond_resched();
	}
	ret = 0;
out:
	*ret_done = done;
	return ret;
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
 * fails before anything is pinned; each run of contiguous pages in one
 * memslot is then pinned with one GUP call (per CVM_PIN_BATCH pages). A
 * later pin failure unpins and uncharges what this call did. Either every
 * page asked for is pinned or nothing changed.
 *
 * Return: 0, -ENOMEM over a limit, -EFAULT when a host page can't be pinned,
 * -EINVAL when it is not anonymous, shmem or hugetlb memory, -EINTR when
 * the caller was killed.
 */
int cvm_os_pin_new(struct cvm_core *core, u64 gfn, u64 npages,
		   const unsigned long *newly, u64 missing)
{
	struct vm_area_struct *stack_vmas[CVM_PIN_STACK], **vmas = stack_vmas;
	struct page *stack_pages[CVM_PIN_STACK], **pages = stack_pages;
	unsigned long batch = CVM_PIN_STACK, i, end;
	struct cvm_vm *vm = cvm_vm_of(core);
	struct cvm_memslot *slot;
	u64 idx, n, done;
	int ret;

	ret = cvm_pin_charge(vm, missing);
	if (ret)
		return ret;
	if (missing > CVM_PIN_STACK) {
		batch = min_t(u64, missing, CVM_PIN_BATCH);
		pages = kvmalloc_array(batch, sizeof(*pages), GFP_KERNEL);
		vmas = kvmalloc_array(batch, sizeof(*vmas), GFP_KERNEL);
		if (!pages || !vmas) {
			ret = -ENOMEM;
			goto err_uncharge;
		}
	}

	/* Each run of set bits, cut at the end of its memslot. */
	for (i = find_first_bit(newly, npages); i < npages;
	     i = find_next_bit(newly, npages, i + n)) {
		slot = cvm_memslot_find_gfn(vm, gfn + i);
		idx = gfn + i - slot->base_gfn;
		end = find_next_zero_bit(newly, npages, i);
		n = min_t(u64, end - i, slot->npages - idx);
		ret = cvm_pin_run(slot, idx, n, pages, vmas, batch, &done);
		missing -= done;
		if (ret)
			goto err_unpin;
	}
	goto out_free;

err_unpin:
	cvm_unpin_new(vm, gfn, newly, npages);
err_uncharge:
	/* The pages not reached yet were charged but never pinned. */
	cvm_pin_uncharge(vm, missing);
out_free:
	if (pages != stack_pages) {
		kvfree(vmas);
		kvfree(pages);
	}
	return ret;
}

/**
 * cvm_pin_slot_upfront() - pin and charge a whole memslot at registration
 * @vm: the VM, locked
 * @slot: the new slot, not yet on the VM's list
 *
 * Return: 0, or -errno with nothing pinned or charged (-EINTR when the
 * caller was killed).
 */
int cvm_pin_slot_upfront(struct cvm_vm *vm, struct cvm_memslot *slot)
{
	struct vm_area_struct **vmas;
	struct page **batch;
	u64 done = 0;
	long n, i;
	int ret;

	batch = kvmalloc_array(CVM_PIN_BATCH, sizeof(*batch), GFP_KERNEL);
	vmas = kvmalloc_array(CVM_PIN_BATCH, sizeof(*vmas), GFP_KERNEL);
	if (!batch || !vmas) {
		ret = -ENOMEM;
		goto out_free;
	}
	ret = cvm_pin_charge(vm, slot->npages);
	if (ret)
		goto out_free;

	while (done < slot->npages) {
		n = min_t(u64, CVM_PIN_BATCH, slot->npages - done);
		n = cvm_pin_coherent(slot, done, n, batch, vmas);
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
	kvfree(vmas);
	kvfree(batch);
	return ret;
}

/* Is the GFN in the scope of a host-side invalidation (DESIGN §5)? */
static bool cvm_host_scope(struct cvm_vm *vm, u64 gfn)
{
	return cvm_gfn_state(&vm->core, gfn) == CVM_GFN_SHARED &&
	       !cvm_spage(&vm->core, gfn) && !cvm_dma_refs(&vm->core, gfn);
}

/**
 * cvm_unpin_slot_range() - apply a host-side invalidation to part of a
 * memslot: unpin its shared pages, give the charge back, mark the others
 * stale
 * @vm: the VM, locked
 * @slot: the memslot
 * @first: first slot index
 * @last: last slot index (inclusive)
 *
 * Zap scope "shared only": the next use of a shared page pins whatever
 * the owner maps there now. Normal pages keep the guest's data and their
 * touched mark, secure pages their page-out destination and DMA-shared
 * pages the page a device may be using; CVM_PAGE_STALE remembers them.
 */
void cvm_unpin_slot_range(struct cvm_vm *vm, struct cvm_memslot *slot,
			  u64 first, u64 last)
{
	unsigned long idx, n = 0, seen = 0;
	struct page *page;

	xa_for_each_range(&slot->pages, idx, page, first, last) {
		if (!(++seen % CVM_PIN_BATCH))
			cond_resched();
		if (!cvm_host_scope(vm, slot->base_gfn + idx)) {
			if (!xa_get_mark(&slot->pages, idx, CVM_PAGE_STALE)) {
				xa_set_mark(&slot->pages, idx, CVM_PAGE_STALE);
				slot->nr_stale++;
			}
			continue;
		}
		if (xa_get_mark(&slot->pages, idx, CVM_PAGE_STALE))
			slot->nr_stale--;
		unpin_user_pages_dirty_lock(&page, 1, true);
		xa_erase(&slot->pages, idx);
		n++;
	}
	cvm_pin_uncharge(vm, n);
}

/**
 * cvm_unpin_stale() - unpin the stale pages (CVM_PAGE_STALE) of part of a
 * memslot that are now in a host-side invalidation's scope: shared,
 * without a DMA share
 * @vm: the VM, locked
 * @slot: the memslot
 * @first: first slot index
 * @last: last slot index (inclusive)
 *
 * Costs what the stale pages of the range cost.
 */
void cvm_unpin_stale(struct cvm_vm *vm, struct cvm_memslot *slot, u64 first,
		     u64 last)
{
	unsigned long idx = first, n = 0, seen = 0;
	struct page *page;

	for (page = xa_find(&slot->pages, &idx, last, CVM_PAGE_STALE); page;
	     page = xa_find_after(&slot->pages, &idx, last, CVM_PAGE_STALE)) {
		if (!(++seen % CVM_PIN_BATCH))
			cond_resched();
		if (!cvm_host_scope(vm, slot->base_gfn + idx))
			continue;
		unpin_user_pages_dirty_lock(&page, 1, true);
		xa_erase(&slot->pages, idx);
		slot->nr_stale--;
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
	slot->nr_stale = 0;
	cvm_pin_uncharge(vm, n);
}
