/* SPDX-License-Identifier: GPL-2.0-only OR LGPL-2.1-or-later */
/*
 * cvm_core.h - the secure-memory tables of a VM, written once and
 * compiled into cvm.ko and into the simulator (cvm-vmm's "sim" backend):
 * the GFN table's storage, conversions with rollback, DMA refcounts,
 * secure contents (take, seal, page-in, discard, eviction), guest access,
 * snapshots, the launch measurement, the sealing format and the lifecycle
 * and page-operation checks.
 *
 * The core uses the OS only through cvm_os.h, and the backend only
 * through the cvm_os_* hooks at the end of this file: how a host page is
 * pinned and found, which pages the guest touched, where the pool's pages
 * come from and what evicts when it is empty.
 *
 * Locking: the backend holds its VM lock around every call into the core
 * (the kernel's vm->lock, the simulator's mutex); hooks run under it.
 */
#ifndef CVM_CORE_H
#define CVM_CORE_H

#include "cvm_fsm.h"
#include "cvm_os.h"
#include "uapi/cvm.h"

#define CVM_TAG_SIZE CVM_OS_AEAD_TAG_SIZE

/**
 * struct cvm_spage - the secure contents of one GFN
 * @pool: the secure-pool page holding the contents (resident), or NULL
 *	when they are sealed in the host page (paged out).
 * @version: the seal counter of the current ciphertext (paged out only).
 * @tag: the AES-GCM tag of the current ciphertext, kept here, never in
 *	the host page.
 * @lru: on vm->lru while resident, most recently used first.
 *
 * Every GFN with a cvm_spage also has its host page pinned: it is the
 * page-out destination, so eviction never needs a pin that could fail.
 */
struct cvm_spage {
	u64 gfn;
	struct cvm_page *pool;
	u64 version;
	u8 tag[CVM_TAG_SIZE];
	struct list_head lru;
};

struct cvm_crypt;
struct cvm_measure;

/**
 * struct cvm_pool - secure-pool pages and which are free
 * @lock: the pool may serve several VMs (the module's serves every VM).
 * @free: a stack of the free pages, @nr_free of them.
 * @total: pages in the pool, at most @capacity.
 */
struct cvm_pool {
	struct cvm_os_lock lock;
	struct cvm_page **free;
	u64 nr_free;
	u64 total;
	u64 capacity;
};

/**
 * struct cvm_core - the portable part of a VM, embedded in the backend's
 * VM object
 * @state: the VM's lifecycle state.
 * @untouched_state: the state of every GFN without a @gfn_states entry.
 * @nr_pages: GFNs of the VM (the backend keeps it up to date).
 * @gfn_states: gfn -> cvm_os_map_value(enum cvm_gfn_state) for every GFN
 *	whose state differs from @untouched_state, which is what makes
 *	INIT_DONE and teardown cost O(touched pages), not O(memory size).
 * @nr_explicit: number of @gfn_states entries in each state.
 * @spages: gfn -> struct cvm_spage for secure GFNs with contents. A secure
 *	GFN without one was never touched: it reads as zeros.
 * @lru: resident cvm_spages, most recently used first.
 * @dma_refs: gfn -> cvm_os_map_value(refcount) of DMA shares.
 * @gfn_keep_slots: while a range conversion applies, a GFN going to
 *	@untouched_state keeps its @gfn_states slot as a reservation, so
 *	putting it back on rollback can't fail; @gfn_nr_kept counts them.
 * @nr_pinned: host pages pinned for the VM (the backend counts them).
 * @pin_limit_pages: per-VM cap on @nr_pinned, 0 for none.
 */
struct cvm_core {
	enum cvm_vm_state state;
	enum cvm_gfn_state untouched_state;
	u64 nr_pages;
	struct cvm_os_map gfn_states;
	u64 nr_explicit[CVM_GFN_NR_STATES];
	bool gfn_keep_slots;
	u64 gfn_nr_kept;

	struct cvm_os_map spages;
	struct list_head lru;
	u64 nr_resident;
	u64 nr_evictions;

	struct cvm_os_map dma_refs;
	u64 nr_dma_shared;

	u64 nr_pinned;
	u64 pin_limit_pages;

	struct cvm_crypt *crypt;
	struct cvm_measure *measure;
};

/* The page operations, as the uapi's ioctls and the backends' calls. */
enum cvm_page_cmd {
	CVM_PAGE_CMD_IN,
	CVM_PAGE_CMD_IN_SHARED,
	CVM_PAGE_CMD_OUT,
	CVM_PAGE_CMD_SHARE,
	CVM_PAGE_CMD_UNSHARE,
	CVM_PAGE_CMD_DMA_SHARE,
	CVM_PAGE_CMD_DMA_UNSHARE,
};
#define CVM_PAGE_NR_CMDS 7

/*
 * The most GFNs one page operation covers (a range of 16 TiB): the
 * per-call bitmaps stay indexable by 32 bits (the kernel's bitmap_zalloc()
 * takes an unsigned int) and a call's walk stays bounded.
 */
#define CVM_PAGE_OP_MAX_PAGES 0xffffffffULL

/* cvm_core.c: the VM's life */
int cvm_core_init(struct cvm_core *vm, u64 nr_index);
void cvm_core_fini(struct cvm_core *vm);
void cvm_core_drop_all(struct cvm_core *vm);
int cvm_core_lifecycle(struct cvm_core *vm, enum cvm_vm_op op);
int cvm_core_page_op(struct cvm_core *vm, enum cvm_page_cmd cmd, u64 gpa,
		     u64 nr_pages);
void cvm_core_stats(struct cvm_core *vm, struct cvm_vm_stats *st);
int cvm_pin(struct cvm_core *vm, u64 gfn, u64 npages,
	    const unsigned long *need);
int cvm_core_pin_limit(u64 bytes, u64 *ret_pages);
int cvm_core_fault_around_check(bool upfront, bool flag, u32 pages);

/* cvm_pool.c */
int cvm_pool_init(struct cvm_pool *pool, u64 capacity);
void cvm_pool_fini(struct cvm_pool *pool);
void cvm_pool_add(struct cvm_pool *pool, struct cvm_page *page);
struct cvm_page *cvm_pool_remove(struct cvm_pool *pool);
struct cvm_page *cvm_pool_get(struct cvm_pool *pool);
void cvm_pool_put(struct cvm_pool *pool, struct cvm_page *page);
void cvm_pool_counts(struct cvm_pool *pool, u64 *ret_total, u64 *ret_free);

/* cvm_gfn.c */
enum cvm_gfn_state cvm_gfn_state(struct cvm_core *vm, u64 gfn);
u64 cvm_gfn_count(struct cvm_core *vm, enum cvm_gfn_state state);
int cvm_gfn_reserve(struct cvm_core *vm, u64 gfn, enum cvm_gfn_state to);
void cvm_gfn_set(struct cvm_core *vm, u64 gfn, enum cvm_gfn_state to);
void cvm_gfn_flip_untouched(struct cvm_core *vm);
void cvm_gfn_drop_all(struct cvm_core *vm);
void cvm_gfn_forget_range(struct cvm_core *vm, u64 gfn, u64 npages);

/* cvm_crypt.c: AES-256-GCM page sealing with a per-VM key */
int cvm_crypt_new(struct cvm_crypt **ret);
int cvm_crypt_new_with(struct cvm_os_aead *aead, struct cvm_crypt **ret);
void cvm_crypt_free(struct cvm_crypt *c);
int cvm_crypt_seal(struct cvm_crypt *c, u64 gfn, struct cvm_page *from,
		   struct cvm_page *to, u64 *ret_version, u8 *ret_tag);
int cvm_crypt_open(struct cvm_crypt *c, u64 gfn, u64 version, const u8 *tag,
		   struct cvm_page *from, struct cvm_page *to);

/* cvm_measure.c: the launch measurement */
int cvm_measure_new(struct cvm_measure **ret);
void cvm_measure_free(struct cvm_measure *m);
int cvm_measure_start(struct cvm_measure *m);
int cvm_measure_page(struct cvm_measure *m, u64 gpa, struct cvm_page *page);
int cvm_measure_seal(struct cvm_measure *m);
void cvm_measure_reset(struct cvm_measure *m);
int cvm_measure_save(struct cvm_measure *m);
void cvm_measure_restore(struct cvm_measure *m);
void cvm_measure_read(struct cvm_measure *m, struct cvm_measurement *out);

/* cvm_secure.c: moving contents in and out of secure memory */
struct cvm_spage *cvm_spage(struct cvm_core *vm, u64 gfn);
int cvm_secure_take(struct cvm_core *vm, u64 gfn);
int cvm_secure_give_back(struct cvm_core *vm, u64 gfn);
int cvm_secure_page_out(struct cvm_core *vm, u64 gfn);
int cvm_secure_page_in(struct cvm_core *vm, u64 gfn);
void cvm_secure_discard(struct cvm_core *vm, u64 gfn);
void cvm_secure_discard_range(struct cvm_core *vm, u64 gfn, u64 npages);
void cvm_secure_discard_all(struct cvm_core *vm);
int cvm_secure_guest_page(struct cvm_core *vm, u64 gfn,
			  struct cvm_page **ret_page);
int cvm_secure_evict_one(struct cvm_core *vm);

/* cvm_convert.c: page operations and lifecycle content changes */
int cvm_convert_range(struct cvm_core *vm, u64 gfn, u64 npages,
		      enum cvm_gfn_op op);
int cvm_convert_init_done(struct cvm_core *vm);

/* cvm_dma.c */
u32 cvm_dma_refs(struct cvm_core *vm, u64 gfn);
int cvm_dma_share(struct cvm_core *vm, u64 gfn, u64 npages);
int cvm_dma_unshare(struct cvm_core *vm, u64 gfn, u64 npages);
void cvm_dma_forget_range(struct cvm_core *vm, u64 gfn, u64 npages);

/* cvm_access.c: emulated guest reads and writes */
int cvm_access_span(u64 gpa, u32 len, u64 *ret_first, u64 *ret_npages);
int cvm_access_locked(struct cvm_core *vm, u64 gpa, void *buf, u32 len,
		      bool write);

/* cvm_snapshot.c */
int cvm_snapshot_runs(struct cvm_core *vm, struct cvm_gfn_run *out,
		      u32 capacity, u64 *ret_nr);

/*
 * Hooks every backend provides (cvm_pin.c and friends in the kernel, the
 * simulator's glue in userspace), called with the VM locked.
 */

/* 0, or -ERANGE when [gfn, gfn + npages) leaves the VM's memory. */
int cvm_os_check_range(struct cvm_core *vm, u64 gfn, u64 npages);
/*
 * Pin the host pages of the GFNs set in @newly (bit i for @gfn + i,
 * @missing of them, none pinned yet; cvm_pin() checked the per-VM limit),
 * all or nothing, counting them in vm->nr_pinned: 0, -ENOMEM over the
 * OS's limit, -EFAULT.
 */
int cvm_os_pin_new(struct cvm_core *vm, u64 gfn, u64 npages,
		   const unsigned long *newly, u64 missing);
/*
 * Fault-around (CVM_MEMSLOT_FAULT_AROUND) of the memslot holding @gfn:
 * its run in pages (a power of two), its extent as [*ret_first, *ret_end);
 * 0 when the memslot has none.
 */
u32 cvm_os_fault_around(struct cvm_core *vm, u64 gfn, u64 *ret_first,
			u64 *ret_end);
/* A GFN's pinned host page, or NULL when it is not pinned. */
struct cvm_page *cvm_os_host_page(struct cvm_core *vm, u64 gfn);
bool cvm_os_pinned(struct cvm_core *vm, u64 gfn);
/* The pinned host page the guest accesses as a normal or shared page. */
struct cvm_page *cvm_os_touch(struct cvm_core *vm, u64 gfn);
/* The first touched GFN at or after @gfn, or U64_MAX. */
u64 cvm_os_next_touched(struct cvm_core *vm, u64 gfn);
/* A zeroed pool page, or NULL when the pool is empty. */
struct cvm_page *cvm_os_pool_alloc(struct cvm_core *vm);
/* A page back to the pool, zeroed. */
void cvm_os_pool_free(struct cvm_core *vm, struct cvm_page *page);
/*
 * Snapshots (cvm_snapshot.c). The first extent of the VM's GFNs (a
 * memslot) that ends after @gfn, as [*ret_first, *ret_end) with
 * *ret_first >= @gfn; false when there is none.
 */
bool cvm_os_next_memory(struct cvm_core *vm, u64 gfn, u64 *ret_first,
			u64 *ret_end);
/*
 * The first pinned GFN in [@gfn, @last], a range inside one extent of
 * cvm_os_next_memory(), or U64_MAX: O(log) in the pinned pages.
 */
u64 cvm_os_next_pinned(struct cvm_core *vm, u64 gfn, u64 last);
/* Is a fatal signal pending for the caller? Long walks stop: -EINTR. */
bool cvm_os_fatal_signal_pending(void);
/* Make room in an empty pool: 0 when a page was freed, else -errno. */
int cvm_os_pool_evict(struct cvm_core *vm);
/* Count an eviction of one of this VM's pages beyond the VM itself. */
void cvm_os_evicted(struct cvm_core *vm);

#endif /* CVM_CORE_H */
