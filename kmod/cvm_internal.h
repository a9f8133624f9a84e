/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cvm_internal.h - objects shared by the module's files.
 *
 * Locking: vm->lock protects everything in struct cvm_vm and its memslots.
 * Lock order: vm->lock, then the owner's mmap_lock (taken by the pinning
 * and accounting helpers). Nothing takes vm->lock under mmap_lock.
 */
#ifndef CVM_INTERNAL_H
#define CVM_INTERNAL_H

#include <linux/list.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/xarray.h>

#include "cvm_fsm.h"
#include "uapi/cvm.h"

/**
 * struct cvm_memslot - a range of the owner's address space used as guest
 * memory at [base_gfn, base_gfn + npages)
 * @pages: index within the slot -> pinned host page; absent: not pinned.
 */
struct cvm_memslot {
	struct list_head node;
	u32 id;
	u32 flags;
	u64 base_gfn;
	u64 npages;
	unsigned long uaddr;
	struct xarray pages;
};

/**
 * struct cvm_vm - one VM, owned by the process that created it
 * @gfn_states: gfn -> xa_mk_value(enum cvm_gfn_state) for every GFN whose
 *	state differs from @untouched_state. GFNs without an entry are in
 *	@untouched_state, which is what makes INIT_DONE and teardown cost
 *	O(touched pages) instead of O(memory size).
 * @nr_explicit: number of @gfn_states entries in each state.
 * @mm: the owner's mm (mmgrab'd): pins and the locked_vm charge belong to it.
 * @task: the owner's thread-group leader, for its RLIMIT_MEMLOCK.
 * @lock_cap: CAP_IPC_LOCK captured at creation: bypasses RLIMIT_MEMLOCK.
 * @pin_limit_pages: per-VM cap on @nr_pinned, 0 for none.
 */
struct cvm_vm {
	struct mutex lock;
	enum cvm_vm_state state;
	enum cvm_gfn_state untouched_state;
	struct list_head slots;
	u32 nr_slots;
	u64 nr_pages;
	struct xarray gfn_states;
	u64 nr_explicit[CVM_GFN_NR_STATES];

	struct mm_struct *mm;
	struct task_struct *task;
	bool lock_cap;
	u64 pin_limit_pages;
	u64 nr_pinned;
};

/* cvm_main.c: module-wide counters */
void cvm_stat_vms(int delta);
void cvm_stat_pinned(long delta);

/* cvm_vm.c */
int cvm_vm_create(const struct cvm_create_vm *arg);

/* cvm_memslot.c */
int cvm_memslot_add(struct cvm_vm *vm, const struct cvm_user_memslot *arg);
int cvm_memslot_delete(struct cvm_vm *vm, u32 id);
void cvm_memslot_delete_all(struct cvm_vm *vm);
struct cvm_memslot *cvm_memslot_find_gfn(struct cvm_vm *vm, u64 gfn);
int cvm_memslot_check_range(struct cvm_vm *vm, u64 gfn, u64 npages);

/* cvm_pin.c */
int cvm_pin_charge(struct cvm_vm *vm, unsigned long npages);
void cvm_pin_uncharge(struct cvm_vm *vm, unsigned long npages);
int cvm_pin_gfns(struct cvm_vm *vm, u64 gfn, u64 npages);
int cvm_pin_slot_upfront(struct cvm_vm *vm, struct cvm_memslot *slot);
void cvm_unpin_slot(struct cvm_vm *vm, struct cvm_memslot *slot);
struct page *cvm_pinned_page(struct cvm_memslot *slot, u64 gfn);
u64 cvm_pin_memlock_limit(struct cvm_vm *vm);

/* cvm_gfn.c */
enum cvm_gfn_state cvm_gfn_state(struct cvm_vm *vm, u64 gfn);
u64 cvm_gfn_count(struct cvm_vm *vm, enum cvm_gfn_state state);
int cvm_gfn_apply_range(struct cvm_vm *vm, u64 gfn, u64 npages,
			enum cvm_gfn_op op);
void cvm_gfn_init_done(struct cvm_vm *vm);
void cvm_gfn_drop_all(struct cvm_vm *vm);
void cvm_gfn_forget_range(struct cvm_vm *vm, u64 gfn, u64 npages);

/* cvm_access.c */
int cvm_guest_access(struct cvm_vm *vm,
		     const struct cvm_guest_access *arg);

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
