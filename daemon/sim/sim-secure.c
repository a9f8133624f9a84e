// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * sim-secure.c - moving a GFN's contents between the host page and the
 * secure pool, with the module's content rules (cvm_secure.c):
 *
 * - take: normal/shared -> secure resident. The host page's bytes move
 *   into a pool page and the host page is zeroed before returning.
 * - seal (page-out, eviction): resident -> paged out. AES-GCM ciphertext
 *   goes into the host page; the pool page is freed (and zeroed).
 * - page-in: paged out -> resident, after the tag verifies.
 * - discard: the secure contents are dropped and the host page zeroed:
 *   plaintext of a secure page never reaches the host.
 *
 * Every function runs under vm->lock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim-internal.h"

struct sim_spage *sim_spage(struct cvm_backend *vm, uint64_t gfn)
{
	return vm->spages[gfn];
}

/*
 * A pool page, evicting this VM's coldest resident page while the pool is
 * empty. The pool is the VM's own, so every page in use is one of its
 * resident pages and eviction fails only when nothing is resident (or
 * when the test hook says so).
 */
static uint8_t *sim_secure_pool_page(struct cvm_backend *vm)
{
	uint8_t *page;

	if (!vm->pool_fail_after)
		return NULL;
	page = sim_pool_alloc(&vm->pool);
	if (!page && !sim_secure_evict_one(vm))
		page = sim_pool_alloc(&vm->pool);
	if (page && vm->pool_fail_after > 0)
		vm->pool_fail_after--;
	return page;
}

static void sim_secure_make_resident(struct cvm_backend *vm,
				     struct sim_spage *sp, uint8_t *pool)
{
	sp->pool = pool;
	sim_list_add(&sp->lru, &vm->lru);
	vm->nr_resident++;
}

static void sim_secure_drop_resident(struct cvm_backend *vm,
				     struct sim_spage *sp)
{
	sim_list_del(&sp->lru);
	vm->nr_resident--;
	sim_pool_free(&vm->pool, sp->pool);
	sp->pool = NULL;
}

/* A new, empty record for a GFN; its host page is pinned already. */
static struct sim_spage *sim_secure_new(struct cvm_backend *vm, uint64_t gfn)
{
	struct sim_spage *sp;

	sp = calloc(1, sizeof(*sp));
	if (!sp)
		return NULL;
	sp->gfn = gfn;
	sim_list_init(&sp->lru);
	vm->spages[gfn] = sp;
	return sp;
}

static void sim_secure_forget(struct cvm_backend *vm, struct sim_spage *sp)
{
	vm->spages[sp->gfn] = NULL;
	free(sp);
}

/**
 * sim_secure_take() - move a normal or shared GFN's contents into secure
 * memory
 * @vm: the VM, locked
 * @gfn: the GFN; its host page is pinned
 *
 * While the VM is transient, the contents extend the launch measurement.
 *
 * Return: 0, or -ENOMEM (pool exhausted with nothing to evict) with
 * nothing changed.
 */
int sim_secure_take(struct cvm_backend *vm, uint64_t gfn)
{
	uint8_t *host = sim_host_page(vm, gfn);
	struct sim_spage *sp;
	uint8_t *pool;
	int ret;

	/* Broken invariants, as the module's WARN_ON_ONCE. */
	if (!host || sim_spage(vm, gfn))
		return -EFAULT;
	pool = sim_secure_pool_page(vm);
	if (!pool)
		return -ENOMEM;
	sp = sim_secure_new(vm, gfn);
	if (!sp) {
		sim_pool_free(&vm->pool, pool);
		return -ENOMEM;
	}
	memcpy(pool, host, SIM_PAGE_SIZE);
	ret = sim_measure_page(vm->measure, gfn << SIM_PAGE_SHIFT, pool);
	if (ret) {
		sim_pool_free(&vm->pool, pool);
		sim_secure_forget(vm, sp);
		return ret;
	}
	memset(host, 0, SIM_PAGE_SIZE);
	sim_secure_make_resident(vm, sp, pool);
	sim_gfn_set(vm, gfn, CVM_GFN_SECURE);
	return 0;
}

/**
 * sim_secure_give_back() - undo sim_secure_take(): the contents go back to
 * the host page (rollback of a range that failed half way)
 * @vm: the VM, locked
 * @gfn: a secure GFN with contents; the caller sets its state afterwards
 */
int sim_secure_give_back(struct cvm_backend *vm, uint64_t gfn)
{
	struct sim_spage *sp = sim_spage(vm, gfn);
	uint8_t *host = sim_host_page(vm, gfn);
	int ret = 0;

	if (!sp || !host)
		return -EFAULT;
	if (sp->pool) {
		memcpy(host, sp->pool, SIM_PAGE_SIZE);
		sim_secure_drop_resident(vm, sp);
	} else {
		/* Evicted meanwhile: decrypt in place. */
		ret = sim_crypt_open(vm->crypt, gfn, sp->version, sp->tag, host,
				     host);
		if (ret)
			memset(host, 0, SIM_PAGE_SIZE);
	}
	sim_secure_forget(vm, sp);
	return ret;
}

/* Resident -> paged out: seal the pool page into the host page. */
static int sim_secure_seal(struct cvm_backend *vm, struct sim_spage *sp)
{
	uint8_t *host = sim_host_page(vm, sp->gfn);
	int ret;

	if (!host || !sp->pool)
		return -EFAULT;
	ret = sim_crypt_seal(vm->crypt, sp->gfn, sp->pool, host, &sp->version,
			     sp->tag);
	if (ret)
		return ret;
	sim_secure_drop_resident(vm, sp);
	sim_gfn_set(vm, sp->gfn, CVM_GFN_SECURE_PAGED_OUT);
	return 0;
}

/**
 * sim_secure_evict_one() - page out the VM's coldest resident page
 * @vm: the VM, locked
 *
 * Return: 0 when a pool page was freed, -ENOENT when none is resident.
 */
int sim_secure_evict_one(struct cvm_backend *vm)
{
	struct sim_spage *sp;
	int ret;

	if (sim_list_empty(&vm->lru))
		return -ENOENT;
	sp = sim_container_of(vm->lru.prev, struct sim_spage, lru);
	ret = sim_secure_seal(vm, sp);
	if (ret)
		return ret;
	vm->nr_evictions++;
	return 0;
}

/**
 * sim_secure_page_in() - paged out -> resident
 * @vm: the VM, locked
 * @gfn: a paged-out GFN
 *
 * Return: 0; -EBADMSG when the host page is not the ciphertext sealed for
 * this GFN and version (tampered, swapped or replayed): the GFN stays
 * paged out; -ENOMEM.
 */
int sim_secure_page_in(struct cvm_backend *vm, uint64_t gfn)
{
	struct sim_spage *sp = sim_spage(vm, gfn);
	uint8_t *host = sim_host_page(vm, gfn);
	uint8_t *pool;
	int ret;

	if (!sp || sp->pool || !host)
		return -EFAULT;
	pool = sim_secure_pool_page(vm);
	if (!pool)
		return -ENOMEM;
	ret = sim_crypt_open(vm->crypt, gfn, sp->version, sp->tag, host, pool);
	if (ret) {
		sim_pool_free(&vm->pool, pool);
		return ret;
	}
	memset(host, 0, SIM_PAGE_SIZE);
	sim_secure_make_resident(vm, sp, pool);
	sim_gfn_set(vm, gfn, CVM_GFN_SECURE);
	return 0;
}

/**
 * sim_secure_guest_page() - the page holding a secure GFN's contents, for
 * the guest to read or write
 * @vm: the VM, locked
 * @gfn: a secure GFN (resident, paged out or never touched)
 * @ret_page: the pool page
 *
 * A paged-out GFN is paged in; a never-touched one gets a zeroed pool
 * page (and its host page pinned, the destination of a later page-out).
 */
int sim_secure_guest_page(struct cvm_backend *vm, uint64_t gfn,
			  uint8_t **ret_page)
{
	struct sim_spage *sp = sim_spage(vm, gfn);
	uint8_t *pool;
	int ret;

	if (!sp) {
		ret = sim_pin_gfns(vm, gfn, 1, NULL);
		if (ret)
			return ret;
		pool = sim_secure_pool_page(vm);
		if (!pool)
			return -ENOMEM;
		sp = sim_secure_new(vm, gfn);
		if (!sp) {
			sim_pool_free(&vm->pool, pool);
			return -ENOMEM;
		}
		sim_secure_make_resident(vm, sp, pool);
	} else if (!sp->pool) {
		ret = sim_secure_page_in(vm, gfn);
		if (ret)
			return ret;
	} else {
		sim_list_move(&sp->lru, &vm->lru);
	}
	*ret_page = sp->pool;
	return 0;
}

/**
 * sim_secure_page_out() - page-out of a secure resident GFN
 * @vm: the VM, locked
 * @gfn: the GFN, in the secure (resident) state
 */
int sim_secure_page_out(struct cvm_backend *vm, uint64_t gfn)
{
	uint8_t *unused;
	int ret;

	/* A never-touched GFN gets its (zero) contents first. */
	ret = sim_secure_guest_page(vm, gfn, &unused);
	if (ret)
		return ret;
	return sim_secure_seal(vm, sim_spage(vm, gfn));
}

/**
 * sim_secure_discard() - drop a GFN's secure contents, zero its host page
 * @vm: the VM, locked
 * @gfn: the GFN; the caller sets its new state
 */
void sim_secure_discard(struct cvm_backend *vm, uint64_t gfn)
{
	struct sim_spage *sp = sim_spage(vm, gfn);
	uint8_t *host;

	if (!sp)
		return;
	if (sp->pool)
		sim_secure_drop_resident(vm, sp);
	host = sim_host_page(vm, gfn);
	if (host)
		memset(host, 0, SIM_PAGE_SIZE);
	sim_secure_forget(vm, sp);
}

/* Every GFN with secure contents is pinned: walk the pinned ones. */
void sim_secure_discard_all(struct cvm_backend *vm)
{
	uint64_t gfn;

	sim_bitmap_for_each(gfn, &vm->pinned)
		sim_secure_discard(vm, gfn);
}
