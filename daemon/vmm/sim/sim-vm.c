// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * sim-vm.c - the "sim" backend's VM object: creation, destruction and the
 * ops table, each entry the module's core (kmod/cvm_core.h) under the VM
 * lock, with the module's order of argument checks and errnos (cvm_vm.c,
 * plus the checks the kmod backend makes before its ioctls).
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

/*
 * Addresses and charges are the owner's: as the module (and KVM), refuse
 * any other process, e.g. a child that inherited the object over fork().
 */
static int sim_check_owner(struct cvm_backend *vm)
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
	if (!vm)
		return NULL;
	pthread_mutex_lock(&vm->lock);
	/* Secure contents never reach the host: their host pages are zeroed. */
	cvm_core_drop_all(&vm->core);
	sim_unpin_all(vm);
	/* The memory goes with the VM: so do its DMA shares. */
	if (vm->core.nr_pages)
		cvm_dma_forget_range(&vm->core, 0, vm->core.nr_pages);
	pthread_mutex_unlock(&vm->lock);
	cvm_core_fini(&vm->core);
	sim_pool_fini(vm);
	cvm_os_bitmap_fini(&vm->pinned);
	cvm_os_bitmap_fini(&vm->touched);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
	return NULL;
}

/* The memslot's checks: CVM_SET_MEMSLOT's errnos. */
static int sim_check_config(const struct cvm_backend_config *cfg)
{
	uintptr_t end;

	if (!cfg->memory_bytes || cfg->memory_bytes % CVM_PAGE_SIZE ||
	    (uintptr_t)cfg->mem % CVM_PAGE_SIZE ||
	    cfg->memory_bytes != (uintptr_t)cfg->memory_bytes ||
	    __builtin_add_overflow((uintptr_t)cfg->mem,
				   (uintptr_t)cfg->memory_bytes, &end))
		return -EINVAL;
	if (cfg->memory_bytes > CVM_MAX_MEMSLOT_SIZE)
		return -E2BIG;
	if (cfg->sim_pool_pages > UINT32_MAX)
		return -EINVAL;
	if (cfg->pin_limit_bytes && cfg->pin_limit_bytes < CVM_PAGE_SIZE)
		return -EINVAL; /* as the module: cvm_core_pin_limit() */
	if (cfg->fault_around &&
	    cvm_core_fault_around_check(cfg->upfront, true, cfg->fault_around))
		return -EINVAL;
	/* pins are mlock()s: pages must be the contract's 4 KiB */
	if (sysconf(_SC_PAGESIZE) != CVM_PAGE_SIZE)
		return -EOPNOTSUPP;
	if (!cfg->mem)
		return -EFAULT;
	return sim_pin_check_mapped(cfg->mem, cfg->memory_bytes);
}

static int sim_create(const struct cvm_backend_config *cfg,
		      struct cvm_backend **ret)
{
	struct cvm_backend *vm;
	u64 n, pool_pages;
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
	vm->mem = cfg->mem;
	vm->fault_around = cfg->fault_around;
	vm->pool_fail_after = -1;
	n = cfg->memory_bytes >> CVM_PAGE_SHIFT;
	pool_pages = cfg->sim_pool_pages;
	if (!pool_pages)
		pool_pages = SIM_POOL_DEFAULT_PAGES;
	/*
	 * As the module, capture the right to bypass RLIMIT_MEMLOCK now, for
	 * stats; the kernel checks it again at each mlock() (README.md).
	 */
	vm->lock_cap = sim_pin_capable();

	r = cvm_core_init(&vm->core, n);
	vm->core.nr_pages = n;
	vm->core.pin_limit_pages = cfg->pin_limit_bytes >> CVM_PAGE_SHIFT;
	if (!r)
		r = cvm_os_bitmap_init(&vm->pinned, n);
	if (!r)
		r = cvm_os_bitmap_init(&vm->touched, n);
	if (!r)
		r = sim_pool_init(vm, pool_pages);
	if (!r && cfg->upfront)
		r = sim_pin_upfront(vm);
	if (r) {
		sim_destroy(vm);
		return r;
	}
	*ret = vm;
	return 0;
}

static int sim_lifecycle(struct cvm_backend *vm, enum cvm_vm_op op)
{
	int ret;

	/* Starting a VM is the VMM's business: the module has no such call. */
	if (op == CVM_VM_OP_START_VM || (unsigned int)op >= CVM_VM_NR_OPS)
		return -EINVAL;
	ret = sim_check_owner(vm);
	if (ret)
		return ret;
	pthread_mutex_lock(&vm->lock);
	ret = cvm_core_lifecycle(&vm->core, op);
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

static const enum cvm_page_cmd sim_page_cmd[] = {
	[CVM_PAGE_OP_IN] = CVM_PAGE_CMD_IN,
	[CVM_PAGE_OP_IN_SHARED] = CVM_PAGE_CMD_IN_SHARED,
	[CVM_PAGE_OP_OUT] = CVM_PAGE_CMD_OUT,
	[CVM_PAGE_OP_SHARE] = CVM_PAGE_CMD_SHARE,
	[CVM_PAGE_OP_UNSHARE] = CVM_PAGE_CMD_UNSHARE,
	[CVM_PAGE_OP_DMA_SHARE] = CVM_PAGE_CMD_DMA_SHARE,
	[CVM_PAGE_OP_DMA_UNSHARE] = CVM_PAGE_CMD_DMA_UNSHARE,
};

/*
 * Page operations: what the kmod backend refuses before its ioctl comes
 * first (an unknown operation, a range for a one-page operation), then
 * the owner, then the core's checks.
 */
static int sim_page_op(struct cvm_backend *vm, enum cvm_page_action op,
		       uint64_t gpa, uint64_t npages)
{
	int ret;

	if ((unsigned int)op > CVM_PAGE_OP_DMA_UNSHARE)
		return -EINVAL;
	if (npages > 1 &&
	    (op == CVM_PAGE_OP_IN || op == CVM_PAGE_OP_IN_SHARED ||
	     op == CVM_PAGE_OP_OUT))
		return -EINVAL;
	ret = sim_check_owner(vm);
	if (ret)
		return ret;
	pthread_mutex_lock(&vm->lock);
	ret = cvm_core_page_op(&vm->core, sim_page_cmd[op], gpa, npages);
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

/*
 * An emulated guest read or write. As the module, the bytes go through a
 * bounce buffer: a write takes the caller's bytes before touching the VM,
 * a read hands them over only when the whole access succeeded.
 */
static int sim_access(struct cvm_backend *vm, uint64_t gpa, void *buf,
		      uint32_t len, bool write)
{
	u8 small[CVM_PAGE_SIZE], *bounce = small;
	u64 first, npages;
	int ret = sim_check_owner(vm);

	if (ret)
		return ret;
	if (!len || len > CVM_ACCESS_MAX)
		return -EINVAL;
	ret = cvm_access_span(gpa, len, &first, &npages);
	if (ret)
		return ret;
	if (len > sizeof(small)) {
		bounce = malloc(len);
		if (!bounce)
			return -ENOMEM;
	}
	if (write) {
		if (!buf) {
			ret = -EFAULT;
			goto out_free;
		}
		memcpy(bounce, buf, len);
	}

	pthread_mutex_lock(&vm->lock);
	ret = cvm_access_locked(&vm->core, gpa, bounce, len, write);
	pthread_mutex_unlock(&vm->lock);

	if (!ret && !write) {
		if (buf)
			memcpy(buf, bounce, len);
		else
			ret = -EFAULT;
	}
out_free:
	/* It held guest data: don't leave it behind. */
	explicit_bzero(bounce, len);
	if (bounce != small)
		free(bounce);
	return ret;
}

/* Reading the counters is harmless from any process. */
static int sim_stats(struct cvm_backend *vm, struct cvm_vm_stats *ret)
{
	struct cvm_vm_stats st;

	if (!ret)
		return -EFAULT;
	memset(&st, 0, sizeof(st));
	pthread_mutex_lock(&vm->lock);
	cvm_core_stats(&vm->core, &st);
	st.charged_bytes = vm->core.nr_pinned << CVM_PAGE_SHIFT;
	st.memlock_limit_bytes = sim_pin_memlock_limit(vm);
	st.nr_memslots = 1;
	pthread_mutex_unlock(&vm->lock);
	*ret = st;
	return 0;
}

/*
 * The runs go straight into the caller's buffer, counted and filled in one
 * hold of the lock; on -ENOSPC its contents are unspecified.
 */
static int sim_snapshot(struct cvm_backend *vm, struct cvm_gfn_run *runs,
			u32 capacity, u32 *ret_nr)
{
	u64 n;
	int ret;

	if (!ret_nr || (capacity && !runs))
		return -EFAULT;
	if (capacity > CVM_SNAPSHOT_MAX_ENTRIES)
		return -EINVAL;
	ret = sim_check_owner(vm);
	if (ret)
		return ret;
	pthread_mutex_lock(&vm->lock);
	ret = cvm_snapshot_runs(&vm->core, runs, capacity, &n);
	pthread_mutex_unlock(&vm->lock);
	if (ret)
		return ret;
	*ret_nr = n > UINT32_MAX ? UINT32_MAX : (u32)n;
	if (n > CVM_SNAPSHOT_MAX_ENTRIES)
		return -E2BIG;
	return n > capacity ? -ENOSPC : 0;
}

static int sim_measurement(struct cvm_backend *vm, struct cvm_measurement *ret)
{
	if (!ret)
		return -EFAULT;
	pthread_mutex_lock(&vm->lock);
	cvm_measure_read(vm->core.measure, ret);
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
	ret->pinned_pages = vm->core.nr_pinned;
	ret->charged_bytes = vm->core.nr_pinned << CVM_PAGE_SHIFT;
	cvm_pool_counts(&vm->pool, &ret->pool_total_pages,
			&ret->pool_free_pages);
	ret->evictions = vm->core.nr_evictions;
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
