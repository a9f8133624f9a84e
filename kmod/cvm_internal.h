/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cvm_internal.h - objects shared by the module's files.
 *
 * Locking: vm->lock protects everything in struct cvm_vm and its memslots,
 * except what the MMU notifier records (slot->zap_*, under slot->zap_lock).
 * Lock order: vm->lock, then the owner's mmap_lock (pinning and charging),
 * then the pool's spinlock. Nothing takes vm->lock under mmap_lock: the
 * notifier only records the invalidated range, and the next operation on
 * the VM applies it (cvm_vm_lock()). Another VM's lock is only ever
 * trylock'ed (eviction), so VM locks never nest in a blocking way.
 */
#ifndef CVM_INTERNAL_H
#define CVM_INTERNAL_H

#include <linux/list.h>
#include <linux/mm_types.h>
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/xarray.h>

#include "cvm_fsm.h"
#include "uapi/cvm.h"

#define CVM_TAG_SIZE 16

struct cvm_vm;

/* Mark on a pinned page the guest has read or written through cvm. */
#define CVM_PAGE_TOUCHED XA_MARK_0

/**
 * struct cvm_memslot - a range of the owner's address space used as guest
 * memory at [base_gfn, base_gfn + npages)
 * @pages: index within the slot -> pinned host page; absent: not pinned.
 *	Marked CVM_PAGE_TOUCHED once the guest accessed it as a normal or
 *	shared page.
 * @notifier: tells us when the owner unmaps or replaces part of the range.
 * @zap_first, @zap_last: slot indexes invalidated since the last drain.
 */
struct cvm_memslot {
	struct list_head node;
	struct cvm_vm *vm;
	u32 id;
	u32 flags;
	u64 base_gfn;
	u64 npages;
	unsigned long uaddr;
	struct xarray pages;
	struct mmu_interval_notifier notifier;
	spinlock_t zap_lock;
	bool zap_pending;
	u64 zap_first;
	u64 zap_last;
};

/**
 * struct cvm_spage - the secure contents of one GFN
 * @pool: the secure-pool page holding the contents (resident), or NULL
 *	when they are sealed in the host page (paged out).
 * @version: the seal counter of the current ciphertext (paged out only).
 * @tag: the AES-GCM tag of the current ciphertext, kept by the module.
 * @lru: on vm->lru while resident, most recently used first.
 *
 * Every GFN with a cvm_spage also has its host page pinned: it is the
 * page-out destination.
 */
struct cvm_spage {
	u64 gfn;
	struct page *pool;
	u64 version;
	u8 tag[CVM_TAG_SIZE];
	struct list_head lru;
};

/**
 * struct cvm_vm - one VM, owned by the process that created it
 * @gfn_states: gfn -> xa_mk_value(enum cvm_gfn_state) for every GFN whose
 *	state differs from @untouched_state. GFNs without an entry are in
 *	@untouched_state, which is what makes INIT_DONE and teardown cost
 *	O(touched pages) instead of O(memory size).
 * @nr_explicit: number of @gfn_states entries in each state.
 * @spages: gfn -> struct cvm_spage for secure GFNs with contents. A secure
 *	GFN without one was never touched: it reads as zeros.
 * @dma_refs: gfn -> xa_mk_value(refcount) of DMA shares.
 * @mm: the owner's mm (mmgrab'd): pins and the locked_vm charge belong to it.
 * @task: the owner's thread-group leader, for its RLIMIT_MEMLOCK.
 * @lock_cap: CAP_IPC_LOCK captured at creation: bypasses RLIMIT_MEMLOCK.
 * @pin_limit_pages: per-VM cap on @nr_pinned, 0 for none.
 */
struct cvm_vm {
	struct mutex lock;
	struct list_head node;	/* on the module's VM list */
	enum cvm_vm_state state;
	enum cvm_gfn_state untouched_state;
	struct list_head slots;	/* sorted by base_gfn */
	u32 nr_slots;
	u64 nr_pages;
	struct xarray gfn_states;
	u64 nr_explicit[CVM_GFN_NR_STATES];

	struct xarray spages;
	struct list_head lru;
	u64 nr_resident;
	u64 nr_evictions;

	struct xarray dma_refs;
	u64 nr_dma_shared;

	struct mm_struct *mm;
	struct task_struct *task;
	bool lock_cap;
	u64 pin_limit_pages;
	u64 nr_pinned;

	struct cvm_crypt *crypt;
	struct cvm_measure *measure;
};

/* cvm_main.c: module-wide counters and VM list */
void cvm_stat_pinned(long delta);
void cvm_stat_eviction(void);
void cvm_vm_list_add(struct cvm_vm *vm);
void cvm_vm_list_del(struct cvm_vm *vm);
int cvm_evict_any(struct cvm_vm *self);

/* cvm_vm.c */
int cvm_vm_create(const struct cvm_create_vm *arg);
void cvm_vm_lock(struct cvm_vm *vm);

/* cvm_memslot.c */
int cvm_memslot_add(struct cvm_vm *vm, const struct cvm_user_memslot *arg);
int cvm_memslot_delete(struct cvm_vm *vm, u32 id);
void cvm_memslot_delete_all(struct cvm_vm *vm);
struct cvm_memslot *cvm_memslot_find_gfn(struct cvm_vm *vm, u64 gfn);
int cvm_memslot_check_range(struct cvm_vm *vm, u64 gfn, u64 npages);
void cvm_memslot_zap_drain(struct cvm_vm *vm);

/* cvm_pin.c */
int cvm_pin_charge(struct cvm_vm *vm, unsigned long npages);
void cvm_pin_uncharge(struct cvm_vm *vm, unsigned long npages);
int cvm_pin_gfns(struct cvm_vm *vm, u64 gfn, u64 npages,
		 const unsigned long *need);
int cvm_pin_slot_upfront(struct cvm_vm *vm, struct cvm_memslot *slot);
void cvm_unpin_slot(struct cvm_vm *vm, struct cvm_memslot *slot);
void cvm_unpin_slot_range(struct cvm_vm *vm, struct cvm_memslot *slot,
			  u64 first, u64 last);
struct page *cvm_host_page(struct cvm_vm *vm, u64 gfn);
u64 cvm_pin_memlock_limit(struct cvm_vm *vm);

/* cvm_gfn.c */
enum cvm_gfn_state cvm_gfn_state(struct cvm_vm *vm, u64 gfn);
u64 cvm_gfn_count(struct cvm_vm *vm, enum cvm_gfn_state state);
int cvm_gfn_reserve(struct cvm_vm *vm, u64 gfn, enum cvm_gfn_state to);
void cvm_gfn_set(struct cvm_vm *vm, u64 gfn, enum cvm_gfn_state to);
void cvm_gfn_flip_untouched(struct cvm_vm *vm);
void cvm_gfn_drop_all(struct cvm_vm *vm);
void cvm_gfn_forget_range(struct cvm_vm *vm, u64 gfn, u64 npages);

/* cvm_pool.c */
int cvm_pool_init(unsigned long nr_pages);
void cvm_pool_exit(void);
struct page *cvm_pool_alloc(void);
void cvm_pool_free(struct page *page);
void cvm_pool_counts(u64 *ret_total, u64 *ret_free);

/* cvm_crypt.c: AES-256-GCM page sealing with a per-VM key */
int cvm_crypt_check(void);
struct cvm_crypt *cvm_crypt_new(void);
void cvm_crypt_free(struct cvm_crypt *c);
int cvm_crypt_seal(struct cvm_crypt *c, u64 gfn, struct page *from,
		   struct page *to, u64 *ret_version, u8 *ret_tag);
int cvm_crypt_open(struct cvm_crypt *c, u64 gfn, u64 version,
		   const u8 *tag, struct page *from, struct page *to);

/* cvm_measure.c: the launch measurement */
struct cvm_measure *cvm_measure_new(void);
void cvm_measure_free(struct cvm_measure *m);
int cvm_measure_start(struct cvm_measure *m);
int cvm_measure_page(struct cvm_measure *m, u64 gpa, struct page *page);
int cvm_measure_seal(struct cvm_measure *m);
void cvm_measure_reset(struct cvm_measure *m);
int cvm_measure_save(struct cvm_measure *m);
void cvm_measure_restore(struct cvm_measure *m);
void cvm_measure_read(struct cvm_measure *m, struct cvm_measurement *out);

/* cvm_secure.c: moving contents in and out of secure memory */
int cvm_secure_take(struct cvm_vm *vm, u64 gfn);
int cvm_secure_give_back(struct cvm_vm *vm, u64 gfn);
int cvm_secure_page_out(struct cvm_vm *vm, u64 gfn);
int cvm_secure_page_in(struct cvm_vm *vm, u64 gfn);
void cvm_secure_discard(struct cvm_vm *vm, u64 gfn);
void cvm_secure_discard_range(struct cvm_vm *vm, u64 gfn, u64 npages);
void cvm_secure_discard_all(struct cvm_vm *vm);
int cvm_secure_guest_page(struct cvm_vm *vm, u64 gfn,
			  struct page **ret_page);
int cvm_secure_evict_one(struct cvm_vm *vm);
struct cvm_spage *cvm_spage(struct cvm_vm *vm, u64 gfn);

/* cvm_convert.c: page operations and lifecycle content changes */
int cvm_convert_range(struct cvm_vm *vm, u64 gfn, u64 npages,
		      enum cvm_gfn_op op);
int cvm_convert_init_done(struct cvm_vm *vm);

/* cvm_dma.c */
u32 cvm_dma_refs(struct cvm_vm *vm, u64 gfn);
int cvm_dma_share(struct cvm_vm *vm, u64 gfn, u64 npages);
int cvm_dma_unshare(struct cvm_vm *vm, u64 gfn, u64 npages);
void cvm_dma_forget_range(struct cvm_vm *vm, u64 gfn, u64 npages);

/* cvm_access.c */
int cvm_guest_access(struct cvm_vm *vm,
		     const struct cvm_guest_access *arg);

/* cvm_snapshot.c */
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
