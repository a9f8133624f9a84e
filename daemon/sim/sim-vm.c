// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * sim-vm.c - the "sim" backend's VM object: creation, destruction, the
 * secure lifecycle and the dispatch of every operation of the ops table,
 * with the module's order of argument checks and errnos (cvm_vm.c, plus
 * the checks the kmod backend makes before its ioctls).
 *
 * One VM per backend object, one memslot: the caller's mapping at GPA 0.
 * No global state: several sim VMs may live in one process.
 *
 * Zap scopes (the module's MMU notifier) do not apply here: the VMM never
 * unmaps or replaces its guest memory while the VM lives, and the pins are
 * mlock()s of that very mapping, so there is nothing to re-point.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim-internal.h"

/* Return: 0, or -ERANGE when [gfn, gfn + npages) leaves the memory. */
int sim_check_range(struct cvm_backend *vm, uint64_t gfn, uint64_t npages)
{
	uint64_t end;

	if (__builtin_add_overflow(gfn, npages, &end) || end > vm->nr_pages)
		return -ERANGE;
	return 0;
}

/*
 * Addresses and charges are the owner's: as the module (and KVM), refuse
 * any other process, e.g. a child that inherited the object over fork().
 */
int sim_check_owner(struct cvm_backend *vm)
{
	return getpid() == vm->owner ? 0 : -EIO;
}

void sim_vm_fail_pool_after(struct cvm_backend *vm, int64_t n)
{
	pthread_mutex_lock(&vm->lock);
	vm->pool_fail_after = n;
	pthread_mutex_unlock(&vm->lock);
}

static struct cvm_backend *sim_destroy(struct cvm_backend *vm)
{
	uint64_t n;

	if (!vm)
		return NULL;
	n = vm->nr_pages;
	pthread_mutex_lock(&vm->lock);
	/* Secure contents never reach the host: their host pages are zeroed. */
	if (vm->nr_pinned) {
		sim_secure_discard_all(vm);
		sim_unpin_all(vm);
	}
	pthread_mutex_unlock(&vm->lock);
	vm->measure = sim_measure_free(vm->measure);
	vm->crypt = sim_crypt_free(vm->crypt);
	sim_pool_fini(&vm->pool);
	sim_bitmap_fini(&vm->pinned);
	sim_bitmap_fini(&vm->touched);
	sim_bitmap_fini(&vm->explicit_gfns);
	vm->dma_refs = sim_lazy_free(vm->dma_refs, n * sizeof(*vm->dma_refs));
	vm->spages = sim_lazy_free(vm->spages, n * sizeof(*vm->spages));
	vm->gfn_states = sim_lazy_free(vm->gfn_states, n);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
	return NULL;
}

/* The memslot's checks: CVM_SET_MEMSLOT's errnos. */
static int sim_check_config(const struct cvm_backend_config *cfg)
{
	uintptr_t end;

	if (!cfg->memory_bytes || cfg->memory_bytes % SIM_PAGE_SIZE ||
	    (uintptr_t)cfg->mem % SIM_PAGE_SIZE ||
	    cfg->memory_bytes != (uintptr_t)cfg->memory_bytes ||
	    __builtin_add_overflow((uintptr_t)cfg->mem,
				   (uintptr_t)cfg->memory_bytes, &end))
		return -EINVAL;
	if (cfg->sim_pool_pages > UINT32_MAX)
		return -EINVAL;
	/* pins are mlock()s: pages must be the contract's 4 KiB */
	if (sysconf(_SC_PAGESIZE) != SIM_PAGE_SIZE)
		return -EOPNOTSUPP;
	if (!cfg->mem)
		return -EFAULT;
	return sim_pin_check_mapped(cfg->mem, cfg->memory_bytes);
}

static int sim_create(const struct cvm_backend_config *cfg,
		      struct cvm_backend **ret)
{
	struct cvm_backend *vm;
	uint64_t n;
	int r;

	if (!cfg || !ret)
		return -EINVAL;
	r = sim_check_config(cfg);
	if (r)
		return r;
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	pthread_mutex_init(&vm->lock, NULL);
	vm->owner = getpid();
	vm->state = CVM_VM_NORMAL;
	vm->untouched_state = CVM_GFN_NORMAL;
	vm->mem = cfg->mem;
	vm->nr_pages = n = cfg->memory_bytes >> SIM_PAGE_SHIFT;
	sim_list_init(&vm->lru);
	vm->pool_fail_after = -1;
	vm->pin_limit_pages = cfg->pin_limit_bytes >> SIM_PAGE_SHIFT;
	/*
	 * As the module, capture the right to bypass RLIMIT_MEMLOCK now, for
	 * stats; the kernel checks it again at each mlock() (README.md).
	 */
	vm->lock_cap = sim_pin_capable();

	vm->gfn_states = sim_lazy_alloc(n);
	vm->spages = sim_lazy_alloc(n * sizeof(*vm->spages));
	vm->dma_refs = sim_lazy_alloc(n * sizeof(*vm->dma_refs));
	if (!vm->gfn_states || !vm->spages || !vm->dma_refs)
		r = -ENOMEM;
	if (!r)
		r = sim_bitmap_init(&vm->explicit_gfns, n);
	if (!r)
		r = sim_bitmap_init(&vm->pinned, n);
	if (!r)
		r = sim_bitmap_init(&vm->touched, n);
	if (!r)
		r = sim_pool_init(&vm->pool, cfg->sim_pool_pages ?
				  cfg->sim_pool_pages : SIM_POOL_DEFAULT_PAGES);
	if (!r)
		r = sim_crypt_new(&vm->crypt);
	if (!r)
		r = sim_measure_new(&vm->measure);
	if (!r && cfg->upfront)
		r = sim_pin_upfront(vm);
	if (r) {
		sim_destroy(vm);
		return r;
	}
	*ret = vm;
	return 0;
}

/*
 * Apply a lifecycle operation: look the cell up, then move the GFNs the
 * way the GFN table's column for that operation says.
 */
static int sim_lifecycle(struct cvm_backend *vm, enum cvm_vm_op op)
{
	enum cvm_vm_state to;
	int ret;

	/* Starting a VM is the VMM's business: the module has no such call. */
	if (op == CVM_VM_OP_START_VM || (unsigned int)op >= CVM_VM_NR_OPS)
		return -EINVAL;
	ret = sim_check_owner(vm);
	if (ret)
		return ret;
	pthread_mutex_lock(&vm->lock);
	ret = cvm_vm_transition(vm->state, op, &to);
	if (ret)
		goto out;
	switch (op) {
	case CVM_VM_OP_INIT_START:
		ret = sim_measure_start(vm->measure);
		break;
	case CVM_VM_OP_INIT_DONE:
		/* Half way through, the VM stays transient: never half-secure. */
		ret = sim_convert_init_done(vm);
		break;
	case CVM_VM_OP_INIT_ABORT:
	case CVM_VM_OP_TERMINATE:
		sim_secure_discard_all(vm);
		sim_gfn_drop_all(vm);
		sim_measure_reset(vm->measure);
		break;
	case CVM_VM_OP_START_VM:
		break;
	}
	if (!ret)
		vm->state = to;
out:
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

/*
 * Page operations: page-in / page-out take one page, the others a range.
 * Argument errors come first (-EINVAL), then "not started" (-EOPNOTSUPP;
 * DMA shares are allowed in any VM state), then the GPA range (-ERANGE),
 * then the tables.
 */
static int sim_page_op(struct cvm_backend *vm, enum cvm_page_action op,
		       uint64_t gpa, uint64_t npages)
{
	enum cvm_gfn_op gop = CVM_GFN_OP_SHARE;
	uint64_t gfn = gpa >> SIM_PAGE_SHIFT;
	bool dma = false;
	int ret;

	if ((unsigned int)op > CVM_PAGE_OP_DMA_UNSHARE)
		return -EINVAL;
	switch (op) {
	case CVM_PAGE_OP_IN:
	case CVM_PAGE_OP_IN_SHARED:
	case CVM_PAGE_OP_OUT:
		if (npages > 1)
			return -EINVAL;
		gop = op == CVM_PAGE_OP_IN ? CVM_GFN_OP_PAGE_IN :
		      op == CVM_PAGE_OP_OUT ? CVM_GFN_OP_PAGE_OUT :
					      CVM_GFN_OP_SHARE;
		break;
	case CVM_PAGE_OP_SHARE:
		gop = CVM_GFN_OP_SHARE;
		break;
	case CVM_PAGE_OP_UNSHARE:
		gop = CVM_GFN_OP_UNSHARE;
		break;
	case CVM_PAGE_OP_DMA_SHARE:
	case CVM_PAGE_OP_DMA_UNSHARE:
		dma = true;
		break;
	}
	ret = sim_check_owner(vm);
	if (ret)
		return ret;
	if (gpa % SIM_PAGE_SIZE)
		return -EINVAL;
	if (!npages)
		npages = 1;

	pthread_mutex_lock(&vm->lock);
	ret = dma ? 0 : cvm_vm_page_op_check(vm->state);
	if (!ret)
		ret = sim_check_range(vm, gfn, npages);
	if (ret)
		goto out;
	if (op == CVM_PAGE_OP_DMA_SHARE)
		ret = sim_dma_share(vm, gfn, npages);
	else if (op == CVM_PAGE_OP_DMA_UNSHARE)
		ret = sim_dma_unshare(vm, gfn, npages);
	else
		ret = sim_convert_range(vm, gfn, npages, gop);
out:
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

static int sim_access(struct cvm_backend *vm, uint64_t gpa, void *buf,
		      uint32_t len, bool write)
{
	int ret = sim_check_owner(vm);

	if (ret)
		return ret;
	if (!len || len > CVM_ACCESS_MAX)
		return -EINVAL;
	return sim_guest_access(vm, gpa, buf, len, write);
}

/* Reading the counters is harmless from any process. */
static int sim_stats(struct cvm_backend *vm, struct cvm_vm_stats *ret)
{
	struct cvm_measurement m;
	struct cvm_vm_stats st;

	if (!ret)
		return -EFAULT;
	memset(&st, 0, sizeof(st));
	pthread_mutex_lock(&vm->lock);
	st.state = vm->state;
	st.nr_pages = vm->nr_pages;
	st.normal_pages = sim_gfn_count(vm, CVM_GFN_NORMAL);
	st.shared_pages = sim_gfn_count(vm, CVM_GFN_SHARED);
	st.secure_paged_out = sim_gfn_count(vm, CVM_GFN_SECURE_PAGED_OUT);
	st.secure_pages = sim_gfn_count(vm, CVM_GFN_SECURE) +
			  st.secure_paged_out;
	st.pinned_pages = vm->nr_pinned;
	st.charged_bytes = vm->nr_pinned << SIM_PAGE_SHIFT;
	st.pin_limit_bytes = vm->pin_limit_pages << SIM_PAGE_SHIFT;
	st.memlock_limit_bytes = sim_pin_memlock_limit(vm);
	st.nr_memslots = 1;
	st.pool_pages = vm->nr_resident;
	st.evictions = vm->nr_evictions;
	st.dma_shared_pages = vm->nr_dma_shared;
	sim_measure_read(vm->measure, &m);
	st.measured_pages = m.nr_pages;
	pthread_mutex_unlock(&vm->lock);
	*ret = st;
	return 0;
}

static int sim_snapshot(struct cvm_backend *vm, struct cvm_gfn_info *entries,
			uint32_t capacity, uint32_t *ret_nr)
{
	int ret;

	if (!ret_nr)
		return -EFAULT;
	ret = sim_check_owner(vm);
	if (ret)
		return ret;
	pthread_mutex_lock(&vm->lock);
	if (vm->nr_pages > UINT32_MAX) {
		ret = -E2BIG;
		goto out;
	}
	if (vm->nr_pages > capacity) {
		/* The caller learns the size it needs from a short buffer. */
		*ret_nr = (uint32_t)vm->nr_pages;
		ret = -ENOSPC;
		goto out;
	}
	if (!entries) {
		ret = -EFAULT;
		goto out;
	}
	sim_snapshot_fill(vm, entries);
	*ret_nr = (uint32_t)vm->nr_pages;
out:
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

static int sim_measurement(struct cvm_backend *vm, struct cvm_measurement *ret)
{
	if (!ret)
		return -EFAULT;
	pthread_mutex_lock(&vm->lock);
	sim_measure_read(vm->measure, ret);
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

/* The module's device-wide counters, for the one VM this backend holds. */
static int sim_info(struct cvm_backend *vm, struct cvm_info *ret)
{
	if (!ret)
		return -EFAULT;
	memset(ret, 0, sizeof(*ret));
	pthread_mutex_lock(&vm->lock);
	ret->api_version = CVM_API_VERSION;
	ret->nr_vms = 1;
	ret->pinned_pages = vm->nr_pinned;
	ret->charged_bytes = vm->nr_pinned << SIM_PAGE_SHIFT;
	ret->pool_total_pages = vm->pool.total;
	ret->pool_free_pages = vm->pool.nr_free;
	ret->evictions = vm->nr_evictions;
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

const struct cvm_backend_ops cvm_backend_sim = {
	.name = "sim",
	.create = sim_create,
	.destroy = sim_destroy,
	.lifecycle = sim_lifecycle,
	.page_op = sim_page_op,
	.guest_access = sim_access,
	.stats = sim_stats,
	.snapshot = sim_snapshot,
	.measurement = sim_measurement,
	.info = sim_info,
};
