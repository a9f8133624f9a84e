/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sim-internal.h - the sim backend's VM object: the module's portable
 * core (kmod/cvm_core.h) in one process, with the mechanisms that are the
 * simulator's own (README.md): pins as mlock(2) of the caller's mapping, a
 * secure pool of its own per VM, the owner check.
 *
 * Locking: vm->lock protects everything in struct cvm_backend (the pool
 * has its own lock too, as the module's). Every entry point of the ops
 * table takes it; the core and the hooks below run with it held.
 */
#ifndef CVM_SIM_INTERNAL_H
#define CVM_SIM_INTERNAL_H

#include <pthread.h>
#include <sys/types.h>

#include "backend.h"
#include "cvm_core.h"

#define SIM_POOL_DEFAULT_PAGES 16384

/**
 * struct cvm_backend - one sim VM: one memslot, guest memory at GPA 0
 * @core: the module's tables (cvm_core.h).
 * @lock: the VM lock (see the top of this file).
 * @owner: the creating process; others get -EIO, as from the module.
 * @mem: the caller's mapping of the guest memory: the host view.
 * @pool: the VM's own secure pool (cvm_pool.c), its pages at @pool_mem,
 *	one anonymous mapping never part of the guest memory.
 * @pool_fail_after: test hook (sim_vm_fail_pool_after()): pool pages
 *	left before the pool behaves as exhausted with nothing to evict;
 *	negative when off.
 * @pinned: GFNs whose host page is mlock()ed.
 * @touched: GFNs the guest accessed as normal or shared pages: what
 *	INIT_DONE moves into secure memory (not pages pinned only upfront).
 * @lock_cap: CAP_IPC_LOCK in the effective set at creation.
 * @fault_around: the memslot's fault-around run in pages, 0 for none.
 */
struct cvm_backend {
	struct cvm_core core;
	pthread_mutex_t lock;
	pid_t owner;
	u8 *mem;
	struct cvm_pool pool;
	u8 *pool_mem;
	int64_t pool_fail_after;
	struct cvm_os_bitmap pinned;
	struct cvm_os_bitmap touched;
	bool lock_cap;
	u32 fault_around;
};

static inline struct cvm_backend *sim_vm_of(struct cvm_core *core)
{
	return container_of(core, struct cvm_backend, core);
}

static inline u8 *sim_gfn_host(struct cvm_backend *vm, u64 gfn)
{
	return vm->mem + (gfn << CVM_PAGE_SHIFT);
}

/* sim-vm.c */
/* Test hook: after n more pool pages, the pool has nothing to evict. */
void sim_vm_fail_pool_after(struct cvm_backend *vm, int64_t n);

/* sim-pin.c: pins as mlock(2) */
bool sim_pin_capable(void);
u64 sim_pin_memlock_limit(struct cvm_backend *vm);
int sim_pin_check_mapped(const void *mem, u64 bytes);
int sim_pin_upfront(struct cvm_backend *vm);
void sim_unpin_all(struct cvm_backend *vm);

/* sim-pool.c */
int sim_pool_init(struct cvm_backend *vm, u64 nr_pages);
void sim_pool_fini(struct cvm_backend *vm);

#endif /* CVM_SIM_INTERNAL_H */
