/* SPDX-License-Identifier: GPL-2.0-only OR LGPL-2.1-or-later */
/*
 * cvm_os.h - the narrow interface the portable core (cvm_core.h) is
 * written against, and nothing more.
 *
 * Two implementations: the kernel's (cvm_os_linux.h + cvm_os_linux.c:
 * xarray, kmalloc, spinlocks, kmap_local, the crypto API), compiled into
 * cvm.ko, and a userspace one (cvm_os_user.h beside the simulator: malloc,
 * lazily zeroed arrays with two-level bitmaps, pthreads, OpenSSL EVP),
 * compiled into cvm-vmm, as ZFS's libzpool runs the kernel DMU in
 * userspace.
 *
 * Each implementation header provides the types u8..u64, U32_MAX,
 * U64_MAX, struct list_head and its kernel-named helpers, WARN_ON_ONCE(),
 * cond_resched(), cvm_os_fatal_signal(), struct cvm_os_lock, struct
 * cvm_os_map and the inline functions marked "inline" below; the rest are
 * functions of the implementation.
 *
 * What a backend decides by mechanism (pinning, where the pool lives,
 * which pages count as touched) is declared in cvm_core.h as cvm_os_*
 * hooks taking the VM.
 */
#ifndef CVM_OS_H
#define CVM_OS_H

#ifdef __KERNEL__
#include "cvm_os_linux.h"
#else
#include "cvm_os_user.h"
#endif

/* The contract's page: GPAs, pins, measurement and sealing use 4 KiB. */
#define CVM_PAGE_SHIFT 12
#define CVM_PAGE_SIZE (1UL << CVM_PAGE_SHIFT)

/*
 * Loops over a user-sized range under the VM lock yield the CPU every
 * CVM_OS_RESCHED_EVERY items (cond_resched(), inline) and stop with -EINTR,
 * undoing what the call did, when the caller is being killed
 * (cvm_os_fatal_signal(), inline: the kernel's fatal_signal_pending();
 * always false in userspace).
 */
#define CVM_OS_RESCHED_EVERY 1024

static inline bool cvm_os_loop_point(u64 i)
{
	if (i % CVM_OS_RESCHED_EVERY)
		return false;
	cond_resched();
	return cvm_os_fatal_signal();
}

/*
 * Locking (struct cvm_os_lock, inline): for what several VMs share, the
 * pool; a VM's own state is under its backend's VM lock.
 * cvm_os_lock_init(lock), cvm_os_lock(lock), cvm_os_unlock(lock)
 *
 * Memory: cvm_os_zalloc() gives zeroed memory charged to the VM's owner
 * where the OS can, cvm_os_free() accepts NULL. Bitmaps of one call's
 * range (what to pin, what to roll back), nbits may be 0: their size
 * follows user input, so they are charged to the caller, fall back to
 * virtually contiguous memory when large, fail quietly (-ENOMEM, never a
 * warning) and are refused past CVM_OS_BITMAP_MAX_BITS.
 */
void *cvm_os_zalloc(size_t bytes);
void cvm_os_free(void *p);
/* Large arrays (kvzalloc in the kernel), NULL for 0 bytes or too many. */
void *cvm_os_vzalloc(size_t bytes);
void cvm_os_vfree(void *p);
#define CVM_OS_BITMAP_MAX_BITS 0xffffffffULL
unsigned long *cvm_os_bitmap_zalloc(u64 nbits);
void cvm_os_bitmap_free(unsigned long *bits);

#define CVM_BITS_PER_LONG (8 * sizeof(unsigned long))

static inline void cvm_bit_set(unsigned long *bits, u64 i)
{
	bits[i / CVM_BITS_PER_LONG] |= 1UL << (i % CVM_BITS_PER_LONG);
}

static inline bool cvm_bit_test(const unsigned long *bits, u64 i)
{
	return bits[i / CVM_BITS_PER_LONG] >> (i % CVM_BITS_PER_LONG) & 1;
}

/*
 * The per-GFN map (struct cvm_os_map): index -> entry, an entry being a
 * pointer or a value made with cvm_os_map_value() (0 .. LONG_MAX). An
 * absent index loads as NULL. Walks cost what the present entries cost,
 * not the index space: INIT_DONE and teardown depend on it.
 *
 * cvm_os_map_init(map, nr)	inline; indexes 0 .. nr - 1; 0 or -ENOMEM
 * cvm_os_map_destroy(map)	inline; entries must be gone
 * cvm_os_map_load(map, i)	inline
 * cvm_os_map_reserve(map, i)	inline; 0 or -ENOMEM; a store to a
 *				reserved index can't fail
 * cvm_os_map_release(map, i)	inline; drop an unused reservation
 * cvm_os_map_store(map, i, e)	inline; 0 or -ENOMEM (e not NULL)
 * cvm_os_map_erase(map, i)	inline
 * cvm_os_map_unset(map, i)	inline; the present entry at i becomes a
 *				reservation (loads as NULL, walks skip it, a
 *				store to it can't fail); never allocates
 * cvm_os_map_find(map, &i, last) inline; the first entry at an index in
 *				[*i, last], *i set to it; NULL when none
 * cvm_os_map_value(v), cvm_os_map_to_value(e)	inline
 */
#define cvm_os_map_for_each_range(map, idx, entry, first, last)          \
	for ((idx) = (first);                                            \
	     (idx) <= (last) &&                                          \
	     ((entry) = cvm_os_map_find((map), &(idx), (last))) != NULL; \
	     (idx)++)

#define cvm_os_map_for_each(map, idx, entry) \
	cvm_os_map_for_each_range(map, idx, entry, 0, U64_MAX - 1)

/*
 * Pages: struct cvm_page is opaque to the core, one CVM_PAGE_SIZE page
 * that the implementation maps when its bytes are needed (kernel: a
 * struct page, kmap_local; userspace: the page's address).
 */
struct cvm_page;

void cvm_os_page_copy(struct cvm_page *to, struct cvm_page *from);
void cvm_os_page_clear(struct cvm_page *page);
void cvm_os_page_read(void *buf, struct cvm_page *page, size_t off, size_t len);
void cvm_os_page_write(struct cvm_page *page, size_t off, const void *buf,
		       size_t len);

/*
 * SHA-256 with a saved state, for all-or-nothing calls. Return 0 or
 * -errno; cvm_os_hash_free() accepts NULL.
 */
#define CVM_OS_HASH_SIZE 32
struct cvm_os_hash;

int cvm_os_hash_new(struct cvm_os_hash **ret);
void cvm_os_hash_free(struct cvm_os_hash *h);
int cvm_os_hash_init(struct cvm_os_hash *h);
int cvm_os_hash_update(struct cvm_os_hash *h, const void *data, size_t len);
int cvm_os_hash_update_page(struct cvm_os_hash *h, struct cvm_page *page);
int cvm_os_hash_final(struct cvm_os_hash *h, u8 *digest);
int cvm_os_hash_save(struct cvm_os_hash *h);
int cvm_os_hash_restore(struct cvm_os_hash *h);

/*
 * AES-256-GCM over one page, with a key of its own (random, from the
 * OS's generator), a CVM_OS_AEAD_IV_SIZE IV, CVM_OS_AEAD_AAD_SIZE bytes
 * of associated data and a CVM_OS_AEAD_TAG_SIZE tag. @from may equal @to.
 * open returns -EBADMSG when the tag does not verify.
 */
#define CVM_OS_AEAD_KEY_SIZE 32
#define CVM_OS_AEAD_IV_SIZE 12
#define CVM_OS_AEAD_AAD_SIZE 16
#define CVM_OS_AEAD_TAG_SIZE 16
struct cvm_os_aead;

int cvm_os_aead_new(struct cvm_os_aead **ret);
void cvm_os_aead_free(struct cvm_os_aead *a);
int cvm_os_aead_seal(struct cvm_os_aead *a, const u8 *iv, const u8 *aad,
		     struct cvm_page *from, struct cvm_page *to, u8 *ret_tag);
int cvm_os_aead_open(struct cvm_os_aead *a, const u8 *iv, const u8 *aad,
		     const u8 *tag, struct cvm_page *from, struct cvm_page *to);

#endif /* CVM_OS_H */
