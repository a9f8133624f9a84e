/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sim-internal.h - the sim backend's VM object and what its files share.
 *
 * The sim backend is cvm.ko's contract in one process (README.md): the
 * files mirror the module's (sim-gfn.c ~ cvm_gfn.c, sim-secure.c ~
 * cvm_secure.c, ...) and every state decision goes through the shared
 * state machine, kmod/cvm_fsm.c.
 *
 * Locking: vm->lock protects everything in struct cvm_backend, the pool
 * included (each VM has its own). Every entry point of the ops table takes
 * it; every function declared here that takes a VM runs with it held,
 * except sim_guest_access() and sim_vm_fail_pool_after(), which take it.
 */
#ifndef CVM_SIM_INTERNAL_H
#define CVM_SIM_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "backend.h"

/* The contract's page: GPAs, pins, measurement and sealing use 4 KiB. */
#define SIM_PAGE_SHIFT 12
#define SIM_PAGE_SIZE (1UL << SIM_PAGE_SHIFT)

#define SIM_TAG_SIZE 16
#define SIM_KEY_SIZE 32
#define SIM_POOL_DEFAULT_PAGES 16384

/* A minimal intrusive doubly-linked list, as the kernel's list_head. */
struct sim_list {
	struct sim_list *prev, *next;
};

#define sim_container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

static inline void sim_list_init(struct sim_list *l)
{
	l->prev = l->next = l;
}

static inline bool sim_list_empty(const struct sim_list *l)
{
	return l->next == l;
}

static inline void sim_list_add(struct sim_list *e, struct sim_list *head)
{
	e->next = head->next;
	e->prev = head;
	head->next->prev = e;
	head->next = e;
}

static inline void sim_list_del(struct sim_list *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	sim_list_init(e);
}

static inline void sim_list_move(struct sim_list *e, struct sim_list *head)
{
	sim_list_del(e);
	sim_list_add(e, head);
}

/* sim-bitmap.c: lazily zeroed arrays and two-level bitmaps */
void *sim_lazy_alloc(size_t bytes);
void *sim_lazy_free(void *p, size_t bytes);

/**
 * struct sim_bitmap - a bitmap whose set bits can be walked in order at a
 * cost that follows the number of set bits, not the size
 * @words: one bit per item.
 * @summary: one bit per word of @words, set while that word is non-zero;
 *	a walk skips 4096 empty items (16 MiB of guest memory) per zero
 *	summary word read.
 *
 * Both arrays are lazily zeroed mappings: untouched parts cost no memory.
 */
struct sim_bitmap {
	uint64_t *words;
	uint64_t *summary;
	uint64_t nbits;
	uint64_t nwords;
	uint64_t nsummary;
};

int sim_bitmap_init(struct sim_bitmap *bm, uint64_t nbits);
void sim_bitmap_fini(struct sim_bitmap *bm);
void sim_bitmap_set(struct sim_bitmap *bm, uint64_t bit);
void sim_bitmap_clear(struct sim_bitmap *bm, uint64_t bit);
void sim_bitmap_set_all(struct sim_bitmap *bm);
uint64_t sim_bitmap_next(const struct sim_bitmap *bm, uint64_t from);

static inline bool sim_bitmap_test(const struct sim_bitmap *bm, uint64_t bit)
{
	return bm->words[bit / 64] >> (bit % 64) & 1;
}

#define sim_bitmap_for_each(bit, bm)                                    \
	for ((bit) = sim_bitmap_next((bm), 0); (bit) < (bm)->nbits;     \
	     (bit) = sim_bitmap_next((bm), (bit) + 1))

/* Plain bitmaps of one call's range (take, was_shared, need). */
uint64_t *sim_bits_alloc(uint64_t nbits);

static inline void sim_bits_set(uint64_t *bits, uint64_t i)
{
	bits[i / 64] |= 1ULL << (i % 64);
}

static inline bool sim_bits_test(const uint64_t *bits, uint64_t i)
{
	return bits[i / 64] >> (i % 64) & 1;
}

/**
 * struct sim_spage - the secure contents of one GFN (cvm_spage)
 * @pool: the pool page holding the contents (resident), or NULL when they
 *	are sealed in the host page (paged out).
 * @version: the seal counter of the current ciphertext (paged out only).
 * @tag: the AES-GCM tag of the current ciphertext, kept here, never in the
 *	host page.
 * @lru: on vm->lru while resident, most recently used first.
 *
 * Every GFN with a sim_spage has its host page pinned: it is the page-out
 * destination, so eviction never needs a pin that could fail.
 */
struct sim_spage {
	uint64_t gfn;
	uint8_t *pool;
	uint64_t version;
	uint8_t tag[SIM_TAG_SIZE];
	struct sim_list lru;
};

/**
 * struct sim_pool - a VM's secure pool: one anonymous mapping of its own,
 * never part of the guest memory, so no host-view read reaches it
 * @base: the mapping, @total pages.
 * @free: stack of the free pages' indexes, @nr_free of them.
 */
struct sim_pool {
	uint8_t *base;
	uint64_t total;
	uint64_t nr_free;
	uint32_t *free;
};

struct sim_crypt;
struct sim_measure;

/**
 * struct cvm_backend - one sim VM: one memslot, guest memory at GPA 0
 * @lock: the VM lock (see the top of this file).
 * @owner: the creating process; others get -EIO, as from the module.
 * @mem: the caller's mapping of the guest memory: the host view.
 * @untouched_state: the state of every GFN without an explicit entry.
 * @gfn_states: a GFN's state where @explicit_gfns has its bit set; only
 *	GFNs whose state differs from @untouched_state have one, so INIT_DONE
 *	and teardown walk the touched GFNs, never the whole memory.
 * @nr_explicit: explicit entries in each state.
 * @spages: gfn -> secure contents, or NULL. A secure GFN without one was
 *	never touched since it became secure: it reads as zeros.
 * @lru: resident sim_spages, most recently used first.
 * @pool_fail_after: test hook (sim_vm_fail_pool_after()): pool pages
 *	left before the pool behaves as exhausted with nothing to evict;
 *	negative when off.
 * @dma_refs: gfn -> DMA-share refcount.
 * @pinned: GFNs whose host page is mlock()ed.
 * @touched: GFNs the guest accessed as normal or shared pages: what
 *	INIT_DONE moves into secure memory (not pages pinned only upfront).
 * @lock_cap: CAP_IPC_LOCK in the effective set at creation.
 * @pin_limit_pages: per-VM cap on @nr_pinned, 0 for none.
 *
 * The per-GFN arrays are lazily zeroed mappings: their cost follows the
 * GFNs used, not the memory size.
 */
struct cvm_backend {
	pthread_mutex_t lock;
	pid_t owner;
	enum cvm_vm_state state;
	uint8_t *mem;
	uint64_t nr_pages;

	enum cvm_gfn_state untouched_state;
	uint8_t *gfn_states;
	struct sim_bitmap explicit_gfns;
	uint64_t nr_explicit[CVM_GFN_NR_STATES];

	struct sim_spage **spages;
	struct sim_list lru;
	uint64_t nr_resident;
	uint64_t nr_evictions;
	struct sim_pool pool;
	int64_t pool_fail_after;

	uint32_t *dma_refs;
	uint64_t nr_dma_shared;

	struct sim_bitmap pinned;
	struct sim_bitmap touched;
	uint64_t nr_pinned;
	uint64_t pin_limit_pages;
	bool lock_cap;

	struct sim_crypt *crypt;
	struct sim_measure *measure;
};

static inline uint8_t *sim_gfn_host(struct cvm_backend *vm, uint64_t gfn)
{
	return vm->mem + (gfn << SIM_PAGE_SHIFT);
}

/* sim-vm.c */
int sim_check_range(struct cvm_backend *vm, uint64_t gfn, uint64_t npages);
int sim_check_owner(struct cvm_backend *vm);
/* Test hook: after n more pool pages, the pool has nothing to evict. */
void sim_vm_fail_pool_after(struct cvm_backend *vm, int64_t n);

/* sim-gfn.c */
enum cvm_gfn_state sim_gfn_state(struct cvm_backend *vm, uint64_t gfn);
uint64_t sim_gfn_count(struct cvm_backend *vm, enum cvm_gfn_state state);
void sim_gfn_set(struct cvm_backend *vm, uint64_t gfn, enum cvm_gfn_state to);
void sim_gfn_flip_untouched(struct cvm_backend *vm);
void sim_gfn_drop_all(struct cvm_backend *vm);

/* sim-pin.c */
bool sim_pin_capable(void);
uint64_t sim_pin_memlock_limit(struct cvm_backend *vm);
int sim_pin_check_mapped(const void *mem, uint64_t bytes);
int sim_pin_gfns(struct cvm_backend *vm, uint64_t gfn, uint64_t npages,
		 const uint64_t *need);
int sim_pin_upfront(struct cvm_backend *vm);
void sim_unpin_all(struct cvm_backend *vm);
uint8_t *sim_host_page(struct cvm_backend *vm, uint64_t gfn);

/* sim-pool.c */
int sim_pool_init(struct sim_pool *pool, uint64_t nr_pages);
void sim_pool_fini(struct sim_pool *pool);
uint8_t *sim_pool_alloc(struct sim_pool *pool);
void sim_pool_free(struct sim_pool *pool, uint8_t *page);

/* sim-crypt.c: AES-256-GCM page sealing with a per-VM key */
int sim_crypt_new(struct sim_crypt **ret);
int sim_crypt_new_with_key(const uint8_t *key, struct sim_crypt **ret);
struct sim_crypt *sim_crypt_free(struct sim_crypt *c);
int sim_crypt_seal(struct sim_crypt *c, uint64_t gfn, const uint8_t *from,
		   uint8_t *to, uint64_t *ret_version, uint8_t *ret_tag);
int sim_crypt_open(struct sim_crypt *c, uint64_t gfn, uint64_t version,
		   const uint8_t *tag, const uint8_t *from, uint8_t *to);

/* sim-measure.c: the launch measurement */
int sim_measure_new(struct sim_measure **ret);
struct sim_measure *sim_measure_free(struct sim_measure *m);
int sim_measure_start(struct sim_measure *m);
int sim_measure_page(struct sim_measure *m, uint64_t gpa, const uint8_t *page);
int sim_measure_seal(struct sim_measure *m);
void sim_measure_reset(struct sim_measure *m);
int sim_measure_save(struct sim_measure *m);
void sim_measure_restore(struct sim_measure *m);
void sim_measure_read(struct sim_measure *m, struct cvm_measurement *out);

/* sim-secure.c: moving contents in and out of secure memory */
struct sim_spage *sim_spage(struct cvm_backend *vm, uint64_t gfn);
int sim_secure_take(struct cvm_backend *vm, uint64_t gfn);
int sim_secure_give_back(struct cvm_backend *vm, uint64_t gfn);
int sim_secure_page_out(struct cvm_backend *vm, uint64_t gfn);
int sim_secure_page_in(struct cvm_backend *vm, uint64_t gfn);
void sim_secure_discard(struct cvm_backend *vm, uint64_t gfn);
void sim_secure_discard_all(struct cvm_backend *vm);
int sim_secure_guest_page(struct cvm_backend *vm, uint64_t gfn,
			  uint8_t **ret_page);
int sim_secure_evict_one(struct cvm_backend *vm);

/* sim-convert.c: page operations and INIT_DONE's content moves */
int sim_convert_range(struct cvm_backend *vm, uint64_t gfn, uint64_t npages,
		      enum cvm_gfn_op op);
int sim_convert_init_done(struct cvm_backend *vm);

/* sim-dma.c */
int sim_dma_share(struct cvm_backend *vm, uint64_t gfn, uint64_t npages);
int sim_dma_unshare(struct cvm_backend *vm, uint64_t gfn, uint64_t npages);

/* sim-access.c */
int sim_guest_access(struct cvm_backend *vm, uint64_t gpa, void *buf,
		     uint32_t len, bool write);

/* sim-snapshot.c */
void sim_snapshot_fill(struct cvm_backend *vm, struct cvm_gfn_info *out);

#endif /* CVM_SIM_INTERNAL_H */
