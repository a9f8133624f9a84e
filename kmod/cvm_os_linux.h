/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cvm_os_linux.h - cvm_os.h in the kernel: the per-GFN map is an xarray,
 * memory is charged to the caller's memcg, pages are struct pages.
 * Included through cvm_os.h only.
 */
#ifndef CVM_OS_LINUX_H
#define CVM_OS_LINUX_H

#include <linux/bug.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/mm_types.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/types.h>
#include <linux/xarray.h>

/* Taken in eviction under a VM's mutex: a spinlock. */
struct cvm_os_lock {
	spinlock_t lock;
};

static inline void cvm_os_lock_init(struct cvm_os_lock *l)
{
	spin_lock_init(&l->lock);
}

static inline void cvm_os_lock(struct cvm_os_lock *l)
{
	spin_lock(&l->lock);
}

static inline void cvm_os_unlock(struct cvm_os_lock *l)
{
	spin_unlock(&l->lock);
}

static inline bool cvm_os_fatal_signal(void)
{
	return fatal_signal_pending(current);
}

struct cvm_os_map {
	struct xarray xa;
};

static inline int cvm_os_map_init(struct cvm_os_map *map, u64 nr)
{
	xa_init(&map->xa);
	return 0;
}

static inline void cvm_os_map_destroy(struct cvm_os_map *map)
{
	xa_destroy(&map->xa);
}

static inline void *cvm_os_map_load(struct cvm_os_map *map, u64 index)
{
	return xa_load(&map->xa, index);
}

static inline int cvm_os_map_reserve(struct cvm_os_map *map, u64 index)
{
	return xa_reserve(&map->xa, index, GFP_KERNEL_ACCOUNT);
}

static inline void cvm_os_map_release(struct cvm_os_map *map, u64 index)
{
	xa_release(&map->xa, index);
}

static inline int cvm_os_map_store(struct cvm_os_map *map, u64 index,
				   void *entry)
{
	return xa_err(xa_store(&map->xa, index, entry, GFP_KERNEL_ACCOUNT));
}

static inline void cvm_os_map_erase(struct cvm_os_map *map, u64 index)
{
	xa_erase(&map->xa, index);
}

static inline void cvm_os_map_unset(struct cvm_os_map *map, u64 index)
{
	/* Replacing a present entry needs no allocation. */
	xa_store(&map->xa, index, XA_ZERO_ENTRY, GFP_NOWAIT);
}

static inline void *cvm_os_map_find(struct cvm_os_map *map, u64 *index,
				    u64 last)
{
	unsigned long idx = *index;
	void *entry = xa_find(&map->xa, &idx, last, XA_PRESENT);

	*index = idx;
	return entry;
}

static inline void *cvm_os_map_value(unsigned long v)
{
	return xa_mk_value(v);
}

static inline unsigned long cvm_os_map_to_value(void *entry)
{
	return xa_to_value(entry);
}

/* The core's opaque page is the kernel's struct page. */
struct cvm_page;

static inline struct page *cvm_os_kpage(struct cvm_page *page)
{
	return (struct page *)page;
}

static inline struct cvm_page *cvm_os_cpage(struct page *page)
{
	return (struct cvm_page *)page;
}

#endif /* CVM_OS_LINUX_H */
