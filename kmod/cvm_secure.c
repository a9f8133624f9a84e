// SPDX-License-Identifier: GPL-2.0-only OR LGPL-2.1-or-later
/*
 * cvm_secure.c - moving a GFN's contents between the host page and the
 * secure pool (DESIGN §3, content rules):
 *
 * - take: normal/shared -> secure resident. The host page's bytes move
 *   into a pool page and the host page is scrubbed before returning.
 * - seal (page-out, eviction): resident -> paged out. AES-GCM ciphertext
 *   goes into the host page; the pool page is freed (and zeroed).
 * - page-in: paged out -> resident, after the tag verifies.
 * - discard: the secure contents are dropped and the host page zeroed:
 *   plaintext of a secure page never reaches the host.
 *
 * Every function runs under the VM lock.
 */
#include "cvm_core.h"

/* Bound on evict-then-allocate rounds when other VMs race for the pool. */
#define CVM_POOL_RETRIES 64

struct cvm_spage *cvm_spage(struct cvm_core *vm, u64 gfn)
{
	return cvm_os_map_load(&vm->spages, gfn);
}

/*
 * A pool page, evicting cold resident pages while the pool is empty (the
 * backend says whose: cvm_os_pool_evict()). Eviction pages them out into
 * their host pages, which every secure GFN keeps pinned.
 */
static struct cvm_page *cvm_secure_pool_page(struct cvm_core *vm)
{
	struct cvm_page *page;
	int tries;

	for (tries = 0; tries < CVM_POOL_RETRIES; tries++) {
		page = cvm_os_pool_alloc(vm);
		if (page)
			return page;
		if (cvm_os_pool_evict(vm))
			break;
	}
	return NULL;
}

static void cvm_secure_make_resident(struct cvm_core *vm, struct cvm_spage *sp,
				     struct cvm_page *pool)
{
	sp->pool = pool;
	list_add(&sp->lru, &vm->lru);
	vm->nr_resident++;
}

static void cvm_secure_drop_resident(struct cvm_core *vm, struct cvm_spage *sp)
{
	list_del(&sp->lru);
	vm->nr_resident--;
	cvm_os_pool_free(vm, sp->pool);
	sp->pool = NULL;
}

/*
 * A new, empty record for a GFN; its host page is pinned already.
 * Return: the record, or NULL (-ENOMEM).
 */
static struct cvm_spage *cvm_secure_new(struct cvm_core *vm, u64 gfn)
{
	struct cvm_spage *sp;
	int ret;

	sp = cvm_os_zalloc(sizeof(*sp));
	if (!sp)
		return NULL;
	sp->gfn = gfn;
	INIT_LIST_HEAD(&sp->lru);
	ret = cvm_os_map_store(&vm->spages, gfn, sp);
	if (ret) {
		cvm_os_free(sp);
		return NULL;
	}
	return sp;
}

static void cvm_secure_forget(struct cvm_core *vm, struct cvm_spage *sp)
{
	cvm_os_map_erase(&vm->spages, sp->gfn);
	cvm_os_free(sp);
}

/**
 * cvm_secure_take() - move a normal or shared GFN's contents into secure
 * memory
 * @vm: the VM, locked
 * @gfn: the GFN; its host page is pinned and its state entry reserved
 *
 * While the VM is transient, the contents extend the launch measurement.
 *
 * Return: 0, or -ENOMEM (pool exhausted with nothing to evict) with
 * nothing changed.
 */
int cvm_secure_take(struct cvm_core *vm, u64 gfn)
{
	struct cvm_page *host = cvm_os_host_page(vm, gfn);
	struct cvm_spage *sp;
	struct cvm_page *pool;
	int ret;

	if (WARN_ON_ONCE(!host || cvm_spage(vm, gfn)))
		return -EFAULT;
	ret = cvm_gfn_reserve(vm, gfn, CVM_GFN_SECURE);
	if (ret)
		return ret;
	pool = cvm_secure_pool_page(vm);
	if (!pool)
		return -ENOMEM;
	sp = cvm_secure_new(vm, gfn);
	if (!sp) {
		cvm_os_pool_free(vm, pool);
		return -ENOMEM;
	}
	cvm_os_page_copy(pool, host);
	ret = cvm_measure_page(vm->measure, gfn << CVM_PAGE_SHIFT, pool);
	if (ret) {
		cvm_os_pool_free(vm, pool);
		cvm_secure_forget(vm, sp);
		return ret;
	}
	cvm_os_page_clear(host);
	cvm_secure_make_resident(vm, sp, pool);
	cvm_gfn_set(vm, gfn, CVM_GFN_SECURE);
	return 0;
}

/**
 * cvm_secure_give_back() - undo cvm_secure_take(): the contents go back
 * to the host page (rollback of a range that failed half way)
 * @vm: the VM, locked
 * @gfn: a secure GFN with contents; the caller sets its state afterwards
 */
int cvm_secure_give_back(struct cvm_core *vm, u64 gfn)
{
	struct cvm_spage *sp = cvm_spage(vm, gfn);
	struct cvm_page *host = cvm_os_host_page(vm, gfn);
	int ret = 0;

	if (WARN_ON_ONCE(!sp || !host))
		return -EFAULT;
	if (sp->pool) {
		cvm_os_page_copy(host, sp->pool);
		cvm_secure_drop_resident(vm, sp);
	} else {
		/* Evicted meanwhile: decrypt in place. */
		ret = cvm_crypt_open(vm->crypt, gfn, sp->version, sp->tag,
				     host, host);
		if (ret)
			cvm_os_page_clear(host);
	}
	cvm_secure_forget(vm, sp);
	return ret;
}

/* Resident -> paged out: seal the pool page into the host page. */
static int cvm_secure_seal(struct cvm_core *vm, struct cvm_spage *sp)
{
	struct cvm_page *host = cvm_os_host_page(vm, sp->gfn);
	int ret;

	if (WARN_ON_ONCE(!host || !sp->pool))
		return -EFAULT;
	ret = cvm_gfn_reserve(vm, sp->gfn, CVM_GFN_SECURE_PAGED_OUT);
	if (ret)
		return ret;
	ret = cvm_crypt_seal(vm->crypt, sp->gfn, sp->pool, host, &sp->version,
			     sp->tag);
	if (ret)
		return ret;
	cvm_secure_drop_resident(vm, sp);
	cvm_gfn_set(vm, sp->gfn, CVM_GFN_SECURE_PAGED_OUT);
	return 0;
}

/**
 * cvm_secure_evict_one() - page out the VM's coldest resident page
 * @vm: the VM, locked
 *
 * Return: 0 when a pool page was freed, -ENOENT when none is resident.
 */
int cvm_secure_evict_one(struct cvm_core *vm)
{
	struct cvm_spage *sp;
	int ret;

	if (list_empty(&vm->lru))
		return -ENOENT;
	sp = list_last_entry(&vm->lru, struct cvm_spage, lru);
	ret = cvm_secure_seal(vm, sp);
	if (ret)
		return ret;
	vm->nr_evictions++;
	cvm_os_evicted(vm);
	return 0;
}

/**
 * cvm_secure_page_in() - paged out -> resident
 * @vm: the VM, locked
 * @gfn: a paged-out GFN
 *
 * Return: 0; -EBADMSG when the host page is not the ciphertext sealed for
 * this GFN and version (tampered, swapped or replayed): the GFN stays
 * paged out; -ENOMEM.
 */
int cvm_secure_page_in(struct cvm_core *vm, u64 gfn)
{
	struct cvm_spage *sp = cvm_spage(vm, gfn);
	struct cvm_page *host = cvm_os_host_page(vm, gfn);
	struct cvm_page *pool;
	int ret;

	if (WARN_ON_ONCE(!sp || sp->pool || !host))
		return -EFAULT;
	ret = cvm_gfn_reserve(vm, gfn, CVM_GFN_SECURE);
	if (ret)
		return ret;
	pool = cvm_secure_pool_page(vm);
	if (!pool)
		return -ENOMEM;
	ret = cvm_crypt_open(vm->crypt, gfn, sp->version, sp->tag, host, pool);
	if (ret) {
		cvm_os_pool_free(vm, pool);
		return ret;
	}
	cvm_os_page_clear(host);
	cvm_secure_make_resident(vm, sp, pool);
	cvm_gfn_set(vm, gfn, CVM_GFN_SECURE);
	return 0;
}

/**
 * cvm_secure_guest_page() - the page holding a secure GFN's contents, for
 * the guest to read or write
 * @vm: the VM, locked
 * @gfn: a secure GFN (resident, paged out or never touched)
 * @ret_page: the pool page
 *
 * A paged-out GFN is paged in; a never-touched one gets a zeroed pool
 * page (and its host page pinned, the destination of a later page-out).
 */
int cvm_secure_guest_page(struct cvm_core *vm, u64 gfn,
			  struct cvm_page **ret_page)
{
	struct cvm_spage *sp = cvm_spage(vm, gfn);
	struct cvm_page *pool;
	int ret;

	if (!sp) {
		ret = cvm_pin(vm, gfn, 1, NULL);
		if (ret)
			return ret;
		pool = cvm_secure_pool_page(vm);
		if (!pool)
			return -ENOMEM;
		sp = cvm_secure_new(vm, gfn);
		if (!sp) {
			cvm_os_pool_free(vm, pool);
			return -ENOMEM;
		}
		cvm_secure_make_resident(vm, sp, pool);
	} else if (!sp->pool) {
		ret = cvm_secure_page_in(vm, gfn);
		if (ret)
			return ret;
	} else {
		list_move(&sp->lru, &vm->lru);
	}
	*ret_page = sp->pool;
	return 0;
}

/**
 * cvm_secure_page_out() - CVM_PAGE_OUT of a secure resident GFN
 * @vm: the VM, locked
 * @gfn: the GFN, in the secure (resident) state
 */
int cvm_secure_page_out(struct cvm_core *vm, u64 gfn)
{
	struct cvm_page *unused;
	int ret;

	/* A never-touched GFN gets its (zero) contents first. */
	ret = cvm_secure_guest_page(vm, gfn, &unused);
	if (ret)
		return ret;
	return cvm_secure_seal(vm, cvm_spage(vm, gfn));
}

/**
 * cvm_secure_discard() - drop a GFN's secure contents, zero its host page
 * @vm: the VM, locked
 * @gfn: the GFN; the caller sets its new state
 */
void cvm_secure_discard(struct cvm_core *vm, u64 gfn)
{
	struct cvm_spage *sp = cvm_spage(vm, gfn);
	struct cvm_page *host;

	if (!sp)
		return;
	if (sp->pool)
		cvm_secure_drop_resident(vm, sp);
	host = cvm_os_host_page(vm, gfn);
	if (host)
		cvm_os_page_clear(host);
	cvm_secure_forget(vm, sp);
}

void cvm_secure_discard_range(struct cvm_core *vm, u64 gfn, u64 npages)
{
	struct cvm_spage *sp;
	u64 idx, n = 0;

	cvm_os_map_for_each_range(&vm->spages, idx, sp, gfn, gfn + npages - 1) {
		cvm_secure_discard(vm, idx);
		if (!(++n % CVM_OS_RESCHED_EVERY))
			cond_resched();
	}
}

void cvm_secure_discard_all(struct cvm_core *vm)
{
	struct cvm_spage *sp;
	u64 idx;

	cvm_os_map_for_each(&vm->spages, idx, sp) {
		cvm_secure_discard(vm, idx);
		cond_resched();
	}
}
