// SPDX-License-Identifier: GPL-2.0
/*
 * cvm_pool.c - the secure pool: pages the module allocates at load and
 * never maps anywhere, so no host mapping can reach a secure page's
 * contents. A page is zeroed when it goes back to the pool, so nothing of
 * one VM's secrets is left for the next user.
 */
#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/spinlock.h>

#include "cvm_internal.h"

static DEFINE_SPINLOCK(cvm_pool_lock);
static LIST_HEAD(cvm_pool_free_list);
static unsigned long cvm_pool_total;
static unsigned long cvm_pool_nr_free;

/**
 * cvm_pool_init() - allocate the pool
 * @nr_pages: its size
 *
 * Return: 0, or -ENOMEM with nothing allocated.
 */
int cvm_pool_init(unsigned long nr_pages)
{
	struct page *page;
	unsigned long i;

	for (i = 0; i < nr_pages; i++) {
		page = alloc_page(GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN);
		if (!page) {
			cvm_pool_exit();
			return -ENOMEM;
		}
		list_add(&page->lru, &cvm_pool_free_list);
		cvm_pool_total++;
		cvm_pool_nr_free++;
	}
	return 0;
}

void cvm_pool_exit(void)
{
	struct page *page, *next;

	/* Every VM is gone (each held a module reference): all are free. */
	WARN_ON_ONCE(cvm_pool_nr_free != cvm_pool_total);
	list_for_each_entry_safe(page, next, &cvm_pool_free_list, lru) {
		list_del(&page->lru);
		__free_page(page);
	}
	cvm_pool_total = 0;
	cvm_pool_nr_free = 0;
}

/*
 * The core's hooks (cvm_core.h): one pool for every VM.
 * Return: a zeroed pool page, or NULL when the pool is empty.
 */
struct cvm_page *cvm_os_pool_alloc(struct cvm_core *vm)
{
	struct page *page;

	spin_lock(&cvm_pool_lock);
	page = list_first_entry_or_null(&cvm_pool_free_list, struct page, lru);
	if (page) {
		list_del(&page->lru);
		cvm_pool_nr_free--;
	}
	spin_unlock(&cvm_pool_lock);
	return cvm_os_cpage(page);
}

void cvm_os_pool_free(struct cvm_core *vm, struct cvm_page *cpage)
{
	struct page *page = cvm_os_kpage(cpage);

	clear_highpage(page);
	spin_lock(&cvm_pool_lock);
	list_add(&page->lru, &cvm_pool_free_list);
	cvm_pool_nr_free++;
	spin_unlock(&cvm_pool_lock);
}

void cvm_pool_counts(u64 *ret_total, u64 *ret_free)
{
	spin_lock(&cvm_pool_lock);
	*ret_total = cvm_pool_total;
	*ret_free = cvm_pool_nr_free;
	spin_unlock(&cvm_pool_lock);
}
