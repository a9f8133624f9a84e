/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cvm_internal.h - the module's objects: a VM is the portable core's
 * tables (cvm_core.h, shared with the simulator) plus what only the
 * kernel has: memslots of the owner's address space, pins, the locked_vm
 * charge, the MMU notifier and the module-wide pool.
 *
 * Locking: vm->lock protects everything in struct cvm_vm and its memslots,
 * except what the MMU notifier records (slot->zap_*, under slot->zap_lock).
 * Lock order: vm->lock, then the owner's mmap_lock (pinning and charging),
 * then the pool's spinlock. Nothing takes vm->lock under mmap_lock: the
 * notifier only records the invalidated range, and the next operation on
 * the VM applies it (cvm_vm_lock()). Another VM's lock is only ever
 * trylock'ed (eviction), so VM locks never nest in a blocking way.
 *
 * Lifetime: a VM is referenced by its fd and by an evictor holding it
 * (taken under the VM list lock); the fd's release tears it down, the last
 * reference frees it (cvm_vm_put()).
 */
#ifndef CVM_INTERNAL_H
#define CVM_INTERNAL_H

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mm_types.h>
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/xarray.h>

#include "cvm_core.h"

struct cvm_vm;

/* Mark on a pinned page the guest has read or written through cvm. */
#define CVM_PAGE_TOUCHED XA_MARK_0
/*
 * Mark on a pinned page the owner invalidated while the page was out of
 * the host-side scope (normal, secure or DMA-shared): dropped once the GFN
 * is shared with no DMA share left, so its next use pins the current page.
 */
#define CVM_PAGE_STALE XA_MARK_1

/**
 * struct cvm_memslot - a range of the owner's address space used as guest
 * memory at [base_gfn, base_gfn + npages)
 * @pages: index within the slot -> pinned host page; absent: not pinned.
 *	Marked CVM_PAGE_TOUCHED once the guest accessed it as a normal or
 *	shared page.
 * @notifier: tells us when the owner unmaps or replaces part of the range.
 * @zap_first, @zap_last: slot indexes invalidated since the last drain.
 * @nr_stale: pages marked CVM_PAGE_STALE.
 */
struct cvm_memslot {
	struct list_head node;
	struct cvm_vm *vm;
	u32 id;
	u32 flags;
	u32 fault_around;
	u64 base_gfn;
	u64 npages;
	unsigned long uaddr;
	struct xarray pages;
	struct mmu_interval_notifier notifier;
	spinlock_t zap_lock;
	bool zap_pending;
	u64 zap_first;
	u64 zap_last;
	u64 nr_stale;
};

/**
 * struct cvm_vm - one VM, owned by the process that created it
 * @core: the secure-memory tables (cvm_core.h); core.nr_pages is the sum
 *	of the memslots' pages.
 * @mm: the owner's mm (mmgrab'd): pins and the locked_vm charge belong to it.
 * @task: the owner's thread-group leader, for its RLIMIT_MEMLOCK.
 * @lock_cap: CAP_IPC_LOCK captured at creation: bypasses RLIMIT_MEMLOCK.
 * @ref: the fd's reference and evictors' (cvm_vm_get()/cvm_vm_put()).
 * @by_gfn: the memslots sorted by base_gfn, @nr_slots of them, for lookups
 *	by binary search.
 * @mn: tells us when the owner's mm goes away (exit of its last user).
 * @dead: the owner's mm is gone: everything was unpinned and uncharged,
 *	every ioctl fails with -EIO.
 */
struct cvm_vm {
	struct cvm_core core;
	struct mutex lock;
	struct list_head node; /* on the module's VM list */
	struct list_head slots;	/* sorted by base_gfn */
	struct cvm_memslot **by_gfn;
	u32 nr_slots;
	struct kref ref;
	struct mmu_notifier mn;
	bool dead;

	struct mm_struct *mm;
	struct task_struct *task;
	bool lock_cap;
};

static inline struct cvm_vm *cvm_vm_of(struct cvm_core *core)
{
	return container_of(core, struct cvm_vm, core);
}

/* cvm_main.c: module-wide counters and VM list */
void cvm_stat_pinned(long delta);
void cvm_vm_list_add(struct cvm_vm *vm);
void cvm_vm_list_del(struct cvm_vm *vm);

/* cvm_vm.c */
int cvm_vm_create(const struct cvm_create_vm *arg);
void cvm_vm_lock(struct cvm_vm *vm);
void cvm_vm_release_kref(struct kref *ref);

static inline void cvm_vm_get(struct cvm_vm *vm)
{
	kref_get(&vm->ref);
}

static inline void cvm_vm_put(struct cvm_vm *vm)
{
	kref_put(&vm->ref, cvm_vm_release_kref);
}

/* Test only (cvm_main.c): sleep @ms_param milliseconds when it is set. */
void cvm_test_delay(const unsigned int *ms_param);
extern unsigned int cvm_test_delay_ms_pin;

/* cvm_memslot.c */
int cvm_memslot_add(struct cvm_vm *vm, const struct cvm_user_memslot *arg);
int cvm_memslot_delete(struct cvm_vm *vm, u32 id);
void cvm_memslot_delete_all(struct cvm_vm *vm);
struct cvm_memslot *cvm_memslot_find_gfn(struct cvm_vm *vm, u64 gfn);
int cvm_memslot_check_range(struct cvm_vm *vm, u64 gfn, u64 npages);
void cvm_memslot_zap_drain(struct cvm_vm *vm);
void cvm_memslot_zap_drain_slot(struct cvm_vm *vm, struct cvm_memslot *slot);
void cvm_memslot_unstale_range(struct cvm_vm *vm, u64 gfn, u64 npages);
bool cvm_memslot_backing_ok(struct vm_area_struct *vma);

/* cvm_pin.c */
int cvm_pin_charge(struct cvm_vm *vm, unsigned long npages);
void cvm_pin_uncharge(struct cvm_vm *vm, unsigned long npages);
int cvm_pin_slot_upfront(struct cvm_vm *vm, struct cvm_memslot *slot);
void cvm_unpin_slot(struct cvm_vm *vm, struct cvm_memslot *slot);
void cvm_unpin_stale(struct cvm_vm *vm, struct cvm_memslot *slot, u64 first,
		     u64 last);
void cvm_unpin_slot_range(struct cvm_vm *vm, struct cvm_memslot *slot,
			  u64 first, u64 last);
u64 cvm_pin_memlock_limit(struct cvm_vm *vm);

/* cvm_os_linux.c: is gcm(aes) available? Loads its module on demand. */
int cvm_os_aead_check(void);

/* cvm_vm.c: the ioctls around the core's calls */
int cvm_guest_access(struct cvm_vm *vm, const struct cvm_guest_access *arg);
int cvm_snapshot(struct cvm_vm *vm, struct cvm_snapshot *arg);

/* Helpers for ioctl argument checks */
static inline bool cvm_all_zero(const u64 *words, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (words[i])
			return false;
	return true;
}

#endif /* CVM_INTERNAL_H */
