// SPDX-License-Identifier: GPL-2.0
/*
 * cvm_memslot.c - guest memory registration: ranges of the owner's address
 * space placed at a guest-physical base, as KVM memslots.
 */
#include <linux/hugetlb.h>
#include <linux/magic.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "cvm_internal.h"

/**
 * cvm_memslot_backing_ok() - may this mapping back guest memory?
 * @vma: a VMA of the owner, its mmap_lock held
 *
 * Anonymous memory, shmem (memfd, /dev/shm, MAP_SHARED anonymous) and
 * hugetlb only: a long-term pin of a regular file's page cache would block
 * its writeback and truncation, which upstream GUP refuses too.
 *
 * Return: true when it may.
 */
bool cvm_memslot_backing_ok(struct vm_area_struct *vma)
{
	struct file *file = vma->vm_file;

	if (vma_is_anonymous(vma) || is_vm_hugetlb_page(vma))
		return true;
	return file && file_inode(file)->i_sb->s_magic == TMPFS_MAGIC;
}

/*
 * Is [uaddr, uaddr + size) covered by writable mappings, without holes,
 * of memory that may back a memslot?
 * Return: 0, -EFAULT for a hole or a read-only, I/O or PFN mapping,
 * -EINVAL for another backing (a regular file's page cache).
 */
static int cvm_range_mapped(struct mm_struct *mm, unsigned long uaddr,
			    unsigned long size)
{
	unsigned long addr = uaddr, end = uaddr + size;
	struct vm_area_struct *vma;
	int ret = 0;

	mmap_read_lock(mm);
	while (addr < end) {
		vma = vma_lookup(mm, addr);
		if (!vma || !(vma->vm_flags & VM_WRITE) ||
		    vma->vm_flags & (VM_IO | VM_PFNMAP)) {
			ret = -EFAULT;
			break;
		}
		if (!cvm_memslot_backing_ok(vma)) {
			ret = -EINVAL;
			break;
		}
		addr = vma->vm_end;
	}
	mmap_read_unlock(mm);
	return ret;
}

static struct cvm_memslot *cvm_memslot_find_id(struct cvm_vm *vm, u32 id)
{
	struct cvm_memslot *slot;

	list_for_each_entry(slot, &vm->slots, node)
		if (slot->id == id)
			return slot;
	return NULL;
}

/*
 * The index in vm->by_gfn of the last slot whose base_gfn is at most @gfn,
 * or -1 when there is none: a binary search over at most CVM_MAX_MEMSLOTS.
 */
static int cvm_memslot_floor(struct cvm_vm *vm, u64 gfn)
{
	int lo = 0, hi = (int)vm->nr_slots - 1, mid, found = -1;

	while (lo <= hi) {
		mid = lo + (hi - lo) / 2;
		if (vm->by_gfn[mid]->base_gfn <= gfn) {
			found = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	return found;
}

/**
 * cvm_memslot_find_gfn() - the memslot holding a GFN, in O(log slots)
 * @vm: the VM, locked
 * @gfn: guest frame number
 *
 * Return: the slot, or NULL when no memslot covers @gfn.
 */
struct cvm_memslot *cvm_memslot_find_gfn(struct cvm_vm *vm, u64 gfn)
{
	int i = cvm_memslot_floor(vm, gfn);
	struct cvm_memslot *slot;

	if (i < 0)
		return NULL;
	slot = vm->by_gfn[i];
	return gfn - slot->base_gfn < slot->npages ? slot : NULL;
}

/**
 * cvm_memslot_check_range() - is every GFN of a range in some memslot?
 * @vm: the VM, locked
 * @gfn: first GFN
 * @npages: number of GFNs, at least 1
 *
 * Return: 0, or -ERANGE when any GFN is outside every memslot.
 */
int cvm_memslot_check_range(struct cvm_vm *vm, u64 gfn, u64 npages)
{
	struct cvm_memslot *slot;
	u64 end;

	if (check_add_overflow(gfn, npages, &end))
		return -ERANGE;
	while (gfn < end) {
		slot = cvm_memslot_find_gfn(vm, gfn);
		if (!slot)
			return -ERANGE;
		gfn = slot->base_gfn + slot->npages;
	}
	return 0;
}

/*
 * The owner unmapped, replaced or otherwise invalidated part of the slot.
 * Called with mmap_lock possibly held and possibly from reclaim: only
 * record the range; the next operation on the VM (cvm_vm_lock()) drops the
 * pins of shared and normal pages there, so their next use pins whatever
 * is mapped now. Secure pages keep their pins and contents.
 */
static bool cvm_memslot_invalidate(struct mmu_interval_notifier *mni,
				   const struct mmu_notifier_range *range,
				   unsigned long cur_seq)
{
	struct cvm_memslot *slot = container_of(mni, struct cvm_memslot,
						notifier);
	unsigned long start, end;
	u64 first, last;

	/*
	 * Permission changes (mprotect, fork's COW) leave the pages mapped:
	 * nothing to record, and no pin in progress needs to retry.
	 */
	switch (range->event) {
	case MMU_NOTIFY_PROTECTION_VMA:
	case MMU_NOTIFY_PROTECTION_PAGE:
	case MMU_NOTIFY_SOFT_DIRTY:
		return true;
	default:
		break;
	}
	start = max(range->start, slot->uaddr);
	end = min(range->end, slot->uaddr + (slot->npages << PAGE_SHIFT));
	if (start >= end)
		return true;
	first = (start - slot->uaddr) >> PAGE_SHIFT;
	last = (end - 1 - slot->uaddr) >> PAGE_SHIFT;

	/*
	 * Under zap_lock, which a pin takes to check for a retry before it
	 * records its page (test_hmm's discipline): a pin that raced with
	 * this invalidation sees the new sequence and pins again.
	 */
	spin_lock(&slot->zap_lock);
	mmu_interval_set_seq(mni, cur_seq);
	if (!slot->zap_pending) {
		slot->zap_first = first;
		slot->zap_last = last;
		slot->zap_pending = true;
	} else {
		slot->zap_first = min(slot->zap_first, first);
		slot->zap_last = max(slot->zap_last, last);
	}
	spin_unlock(&slot->zap_lock);
	return true;
}

static const struct mmu_interval_notifier_ops cvm_memslot_notifier_ops = {
	.invalidate = cvm_memslot_invalidate,
};

/**
 * cvm_memslot_zap_drain_slot() - apply one slot's recorded invalidations
 * @vm: the VM, locked
 * @slot: the memslot
 *
 * DESIGN's scope of a host-side invalidation: shared pages only. Their
 * pins go, so their next use pins what the owner maps now; normal, secure
 * and DMA-shared pages keep theirs (and the guest's data, and the touched
 * mark INIT_DONE needs) but are marked stale, and lose the pin once they
 * are shared with no DMA share left (cvm_memslot_unstale_range(), after
 * the operations that can make them so).
 */
void cvm_memslot_zap_drain_slot(struct cvm_vm *vm, struct cvm_memslot *slot)
{
	bool pending;
	u64 first, last;

	spin_lock(&slot->zap_lock);
	pending = slot->zap_pending;
	first = slot->zap_first;
	last = slot->zap_last;
	slot->zap_pending = false;
	spin_unlock(&slot->zap_lock);
	if (pending)
		cvm_unpin_slot_range(vm, slot, first, last);
}

/**
 * cvm_memslot_unstale_range() - drop the pins of the stale pages of a GFN
 * range that are now shared with no DMA share left, so their next use
 * pins the owner's current page
 * @vm: the VM, locked
 * @gfn: first GFN
 * @npages: GFNs (clamped to the GFN space)
 *
 * Called after the operations that can make a page shared or end its last
 * DMA share, over their range (page operations) or everything (lifecycle).
 */
void cvm_memslot_unstale_range(struct cvm_vm *vm, u64 gfn, u64 npages)
{
	struct cvm_memslot *slot;
	u64 end, first, last;
	int i;

	if (check_add_overflow(gfn, npages, &end))
		end = U64_MAX;
	for (i = max(cvm_memslot_floor(vm, gfn), 0); i < vm->nr_slots; i++) {
		slot = vm->by_gfn[i];
		if (slot->base_gfn >= end)
			break;
		if (!slot->nr_stale || slot->base_gfn + slot->npages <= gfn)
			continue;
		first = gfn > slot->base_gfn ? gfn - slot->base_gfn : 0;
		last = min(end - slot->base_gfn, slot->npages) - 1;
		cvm_unpin_stale(vm, slot, first, last);
	}
}

/**
 * cvm_memslot_zap_drain() - apply the host-side invalidations recorded
 * since the last call (cvm_memslot_zap_drain_slot())
 * @vm: the VM, locked
 */
void cvm_memslot_zap_drain(struct cvm_vm *vm)
{
	struct cvm_memslot *slot;

	list_for_each_entry(slot, &vm->slots, node)
		cvm_memslot_zap_drain_slot(vm, slot);
}

/* Does [gfn, gfn + npages) meet a memslot? Its neighbours tell. */
static bool cvm_memslot_overlaps(struct cvm_vm *vm, u64 gfn, u64 npages)
{
	int i = cvm_memslot_floor(vm, gfn);
	struct cvm_memslot *slot;

	if (i >= 0) {
		slot = vm->by_gfn[i];
		if (gfn - slot->base_gfn < slot->npages)
			return true;
	}
	if (i + 1 < (int)vm->nr_slots)
		return vm->by_gfn[i + 1]->base_gfn < gfn + npages;
	return false;
}

/**
 * cvm_memslot_add() - register a memslot (CVM_SET_MEMSLOT)
 * @vm: the VM, locked
 * @arg: the caller's description, flags and reserved fields checked
 *
 * Pins nothing in demand mode; pins and charges the whole slot in upfront
 * mode, failing with nothing pinned when that does not fit.
 *
 * Return: 0; -EINVAL for unaligned, empty or wrapping ranges; -E2BIG for
 * a slot over CVM_MAX_MEMSLOT_SIZE; -EEXIST for a slot id in use or
 * overlapping GPAs; -ENOSPC when the VM has CVM_MAX_MEMSLOTS already;
 * -EFAULT when the range is not mapped writable; -EINVAL when it is not
 * anonymous, shmem or hugetlb memory; -EBADFD unless the VM is normal;
 * -ENOMEM; -EINTR.
 */
int cvm_memslot_add(struct cvm_vm *vm, const struct cvm_user_memslot *arg)
{
	struct cvm_memslot *slot;
	u64 end;
	int ret, i;

	if (!arg->size || !PAGE_ALIGNED(arg->size) ||
	    !PAGE_ALIGNED(arg->gpa) || !PAGE_ALIGNED(arg->uaddr) ||
	    check_add_overflow(arg->gpa, arg->size, &end) ||
	    check_add_overflow(arg->uaddr, arg->size, &end) ||
	    end > TASK_SIZE_MAX || arg->uaddr != (unsigned long)arg->uaddr)
		return -EINVAL;
	if (arg->size > CVM_MAX_MEMSLOT_SIZE)
		return -E2BIG;
	/* A secure VM's GFNs are shared or secure: no new normal memory. */
	if (vm->core.state != CVM_VM_NORMAL)
		return -EBADFD;
	if (cvm_memslot_find_id(vm, arg->slot) ||
	    cvm_memslot_overlaps(vm, arg->gpa >> PAGE_SHIFT,
				 arg->size >> PAGE_SHIFT))
		return -EEXIST;
	if (vm->nr_slots >= CVM_MAX_MEMSLOTS)
		return -ENOSPC;
	ret = cvm_range_mapped(vm->mm, arg->uaddr, arg->size);
	if (ret)
		return ret;

	slot = kzalloc(sizeof(*slot), GFP_KERNEL_ACCOUNT);
	if (!slot)
		return -ENOMEM;
	slot->id = arg->slot;
	slot->flags = arg->flags;
	slot->fault_around = arg->fault_around;
	slot->base_gfn = arg->gpa >> PAGE_SHIFT;
	slot->npages = arg->size >> PAGE_SHIFT;
	slot->uaddr = arg->uaddr;
	slot->vm = vm;
	xa_init(&slot->pages);
	spin_lock_init(&slot->zap_lock);

	ret = mmu_interval_notifier_insert(&slot->notifier, vm->mm, slot->uaddr,
					   arg->size, &cvm_memslot_notifier_ops);
	if (ret)
		goto err_free;
	if (slot->flags & CVM_MEMSLOT_UPFRONT) {
		ret = cvm_pin_slot_upfront(vm, slot);
		if (ret)
			goto err_notifier;
	}
	/* Kept in GFN order, which snapshots follow, and indexed by it. */
	i = cvm_memslot_floor(vm, slot->base_gfn) + 1;
	if (i < vm->nr_slots)
		list_add_tail(&slot->node, &vm->by_gfn[i]->node);
	else
		list_add_tail(&slot->node, &vm->slots);
	memmove(&vm->by_gfn[i + 1], &vm->by_gfn[i],
		(vm->nr_slots - i) * sizeof(*vm->by_gfn));
	vm->by_gfn[i] = slot;
	vm->nr_slots++;
	vm->core.nr_pages += slot->npages;
	return 0;

err_notifier:
	mmu_interval_notifier_remove(&slot->notifier);
err_free:
	xa_destroy(&slot->pages);
	kfree(slot);
	return ret;
}

/* Memslot deletion zaps both scopes: secure contents and shared pages. */
static void cvm_memslot_free(struct cvm_vm *vm, struct cvm_memslot *slot)
{
	int i;

	mmu_interval_notifier_remove(&slot->notifier);
	cvm_secure_discard_range(&vm->core, slot->base_gfn, slot->npages);
	cvm_dma_forget_range(&vm->core, slot->base_gfn, slot->npages);
	cvm_unpin_slot(vm, slot);
	cvm_gfn_forget_range(&vm->core, slot->base_gfn, slot->npages);
	i = cvm_memslot_floor(vm, slot->base_gfn);
	memmove(&vm->by_gfn[i], &vm->by_gfn[i + 1],
		(vm->nr_slots - i - 1) * sizeof(*vm->by_gfn));
	list_del(&slot->node);
	vm->nr_slots--;
	vm->core.nr_pages -= slot->npages;
	xa_destroy(&slot->pages);
	kfree(slot);
}

/**
 * cvm_memslot_delete() - unpin, uncharge and forget a memslot
 * @vm: the VM, locked
 * @id: the slot id
 *
 * Return: 0, or -ENOENT when no slot has that id.
 */
int cvm_memslot_delete(struct cvm_vm *vm, u32 id)
{
	struct cvm_memslot *slot = cvm_memslot_find_id(vm, id);

	if (!slot)
		return -ENOENT;
	cvm_memslot_free(vm, slot);
	return 0;
}

void cvm_memslot_delete_all(struct cvm_vm *vm)
{
	struct cvm_memslot *slot, *next;

	list_for_each_entry_safe(slot, next, &vm->slots, node)
		cvm_memslot_free(vm, slot);
}

/* The core's hooks (cvm_core.h) over the memslots. */
int cvm_os_check_range(struct cvm_core *core, u64 gfn, u64 npages)
{
	return cvm_memslot_check_range(cvm_vm_of(core), gfn, npages);
}

/* A normal or shared page the guest accesses: marked for INIT_DONE. */
struct cvm_page *cvm_os_touch(struct cvm_core *core, u64 gfn)
{
	struct cvm_memslot *slot = cvm_memslot_find_gfn(cvm_vm_of(core), gfn);
	struct page *page;

	if (!slot)
		return NULL;
	page = xa_load(&slot->pages, gfn - slot->base_gfn);
	if (page)
		xa_set_mark(&slot->pages, gfn - slot->base_gfn,
			    CVM_PAGE_TOUCHED);
	return cvm_os_cpage(page);
}

u64 cvm_os_next_touched(struct cvm_core *core, u64 gfn)
{
	struct cvm_vm *vm = cvm_vm_of(core);
	int i = max(cvm_memslot_floor(vm, gfn), 0);
	struct cvm_memslot *slot;
	unsigned long idx;

	for (; i < vm->nr_slots; i++) {
		slot = vm->by_gfn[i];
		if (slot->base_gfn + slot->npages <= gfn)
			continue;
		idx = gfn > slot->base_gfn ? gfn - slot->base_gfn : 0;
		if (xa_find(&slot->pages, &idx, slot->npages - 1,
			    CVM_PAGE_TOUCHED))
			return slot->base_gfn + idx;
	}
	return U64_MAX;
}
