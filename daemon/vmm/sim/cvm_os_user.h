/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cvm_os_user.h - the module's OS interface (kmod/cvm_os.h) in one
 * process, so the module's core runs in the simulator: kernel types and
 * list helpers, a per-GFN map over lazily zeroed arrays whose present
 * entries a two-level bitmap walks, pages as addresses. Included through
 * cvm_os.h only; the functions are in sim-os.c.
 */
#ifndef CVM_OS_USER_H
#define CVM_OS_USER_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "list.h"

/* As the kernel's, so they are the uapi's __u64 and friends. */
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

#define U32_MAX UINT32_MAX
#define U64_MAX UINT64_MAX

/*
 * Broken invariants: reported once, as the kernel's WARN_ON_ONCE, and
 * counted (for tests: no call may reach one).
 */
extern unsigned long cvm_os_nr_warnings;
void cvm_os_warn(const char *file, int line);
#define WARN_ON_ONCE(cond)                               \
	({                                               \
		bool __warn = !!(cond);                  \
		static bool __warned;                    \
		if (__warn && !__warned) {               \
			__warned = true;                 \
			cvm_os_warn(__FILE__, __LINE__); \
		}                                        \
		__warn;                                  \
	})

struct cvm_os_lock {
	pthread_mutex_t mutex;
};

static inline void cvm_os_lock_init(struct cvm_os_lock *l)
{
	pthread_mutex_init(&l->mutex, NULL);
}

static inline void cvm_os_lock(struct cvm_os_lock *l)
{
	pthread_mutex_lock(&l->mutex);
}

static inline void cvm_os_unlock(struct cvm_os_lock *l)
{
	pthread_mutex_unlock(&l->mutex);
}

/* One process, no preemption points to offer. */
static inline void cond_resched(void)
{
}

/* A process being killed never returns to the core. */
static inline bool cvm_os_fatal_signal(void)
{
	return false;
}

/**
 * struct cvm_os_bitmap - a bitmap whose set bits can be walked in order at
 * a cost that follows the number of set bits, not the size
 * @words: one bit per item.
 * @summary: one bit per word of @words, set while that word is non-zero;
 *	a walk skips 4096 empty items (16 MiB of guest memory) per zero
 *	summary word read.
 *
 * Both arrays are lazily zeroed mappings: untouched parts cost no memory.
 */
struct cvm_os_bitmap {
	u64 *words;
	u64 *summary;
	u64 nbits;
	u64 nwords;
	u64 nsummary;
};

void *cvm_os_lazy_alloc(size_t bytes);
void *cvm_os_lazy_free(void *p, size_t bytes);
int cvm_os_bitmap_init(struct cvm_os_bitmap *bm, u64 nbits);
void cvm_os_bitmap_fini(struct cvm_os_bitmap *bm);
void cvm_os_bitmap_set(struct cvm_os_bitmap *bm, u64 bit);
void cvm_os_bitmap_clear(struct cvm_os_bitmap *bm, u64 bit);
void cvm_os_bitmap_set_all(struct cvm_os_bitmap *bm);
/* The first set bit at or after @from, or bm->nbits. */
u64 cvm_os_bitmap_next(const struct cvm_os_bitmap *bm, u64 from);

static inline bool cvm_os_bitmap_test(const struct cvm_os_bitmap *bm, u64 bit)
{
	return bit < bm->nbits && (bm->words[bit / 64] >> (bit % 64) & 1);
}

#define cvm_os_bitmap_for_each(bit, bm)                                \
	for ((bit) = cvm_os_bitmap_next((bm), 0); (bit) < (bm)->nbits; \
	     (bit) = cvm_os_bitmap_next((bm), (bit) + 1))

/*
 * The per-GFN map: a lazily zeroed array of entries, the bitmap of the
 * present ones, and the bitmap of the reserved ones. Storage exists for
 * every index from the start, so a store never needs memory; reservations
 * are tracked anyway, as the xarray's (a store consumes one, an erase or a
 * release drops it, an unset entry becomes one), so that tests see what a
 * call leaves reserved (@nr_reserved) and, with @strict set, see a store
 * to an index neither present nor reserved fail as an xarray allocation
 * can (-ENOMEM).
 */
struct cvm_os_map {
	void **slots;
	struct cvm_os_bitmap present;
	struct cvm_os_bitmap reserved;
	u64 nr_reserved;
	bool strict;
};

int cvm_os_map_init(struct cvm_os_map *map, u64 nr);
void cvm_os_map_destroy(struct cvm_os_map *map);

static inline void *cvm_os_map_load(struct cvm_os_map *map, u64 index)
{
	return index < map->present.nbits ? map->slots[index] : NULL;
}

static inline void cvm_os_map_unreserve(struct cvm_os_map *map, u64 index)
{
	if (cvm_os_bitmap_test(&map->reserved, index)) {
		cvm_os_bitmap_clear(&map->reserved, index);
		map->nr_reserved--;
	}
}

static inline int cvm_os_map_reserve(struct cvm_os_map *map, u64 index)
{
	if (index >= map->present.nbits)
		return -ENOMEM;
	if (!map->slots[index] && !cvm_os_bitmap_test(&map->reserved, index)) {
		cvm_os_bitmap_set(&map->reserved, index);
		map->nr_reserved++;
	}
	return 0;
}

static inline void cvm_os_map_release(struct cvm_os_map *map, u64 index)
{
	if (index < map->present.nbits && !map->slots[index])
		cvm_os_map_unreserve(map, index);
}

static inline int cvm_os_map_store(struct cvm_os_map *map, u64 index,
				   void *entry)
{
	if (index >= map->present.nbits)
		return -ENOMEM;
	if (map->strict && !map->slots[index] &&
	    !cvm_os_bitmap_test(&map->reserved, index))
		return -ENOMEM;
	cvm_os_map_unreserve(map, index);
	map->slots[index] = entry;
	cvm_os_bitmap_set(&map->present, index);
	return 0;
}

static inline void cvm_os_map_erase(struct cvm_os_map *map, u64 index)
{
	if (index >= map->present.nbits)
		return;
	cvm_os_map_unreserve(map, index);
	map->slots[index] = NULL;
	cvm_os_bitmap_clear(&map->present, index);
}

static inline void cvm_os_map_unset(struct cvm_os_map *map, u64 index)
{
	if (index >= map->present.nbits || !map->slots[index])
		return;
	cvm_os_map_erase(map, index);
	cvm_os_bitmap_set(&map->reserved, index);
	map->nr_reserved++;
}

static inline void *cvm_os_map_find(struct cvm_os_map *map, u64 *index,
				    u64 last)
{
	u64 i = cvm_os_bitmap_next(&map->present, *index);

	if (i >= map->present.nbits || i > last)
		return NULL;
	*index = i;
	return map->slots[i];
}

/* Values are tagged as the xarray's: never mistaken for a pointer. */
static inline void *cvm_os_map_value(unsigned long v)
{
	return (void *)((v << 1) | 1);
}

static inline unsigned long cvm_os_map_to_value(void *entry)
{
	return (unsigned long)entry >> 1;
}

/* The core's opaque page is the address of its first byte. */
struct cvm_page;

static inline struct cvm_page *cvm_os_upage(void *addr)
{
	return (struct cvm_page *)addr;
}

static inline u8 *cvm_os_uaddr(struct cvm_page *page)
{
	return (u8 *)page;
}

/* A cipher with a given key, for tests of the sealing format. */
struct cvm_os_aead;
int cvm_os_aead_new_with_key(const u8 *key, struct cvm_os_aead **ret);

#endif /* CVM_OS_USER_H */
