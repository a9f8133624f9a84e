// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * sim-pin.c - demand and upfront pinning of guest pages, as cvm_pin.c.
 *
 * In one process, pinning is mlock(): a pinned host page stays resident,
 * and the kernel charges it to the process's locked memory (VmLck) against
 * RLIMIT_MEMLOCK - the very budget the module charges its pins to through
 * locked_vm. The per-VM pin limit is checked first, for the whole call.
 * Either every page a call asks for ends up pinned, or none of them does.
 *
 * Because pins are mlock()s of the caller's mapping, the caller must not
 * mlock() or munlock() guest memory itself (README.md).
 *
 * The system calls are made directly: sanitizer runtimes (ASan, which the
 * unit tests run under) turn the libc mlock() into a no-op, which would
 * hide the very accounting this file exists for.
 */
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sim-internal.h"

/* CAP_IPC_LOCK in the effective set, as capable() sees it in the module. */
bool sim_pin_capable(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2] = { { 0 } };

	if (syscall(SYS_capget, &hdr, data))
		return false;
	return data[CAP_TO_INDEX(CAP_IPC_LOCK)].effective &
	       CAP_TO_MASK(CAP_IPC_LOCK);
}

/*
 * The owner's RLIMIT_MEMLOCK now (stats may come from another process),
 * or ~0 when CAP_IPC_LOCK, captured at creation, bypasses it.
 */
u64 sim_pin_memlock_limit(struct cvm_backend *vm)
{
	struct rlimit rl;

	if (vm->lock_cap)
		return U64_MAX;
	if (prlimit(vm->owner, RLIMIT_MEMLOCK, NULL, &rl) &&
	    getrlimit(RLIMIT_MEMLOCK, &rl))
		return 0;
	return rl.rlim_cur == RLIM_INFINITY ? U64_MAX : rl.rlim_cur;
}

/**
 * sim_pin_check_mapped() - is [mem, mem + bytes) mapped writable, without
 * holes? (the module's check at memslot registration)
 * @mem: start, page aligned
 * @bytes: length
 *
 * Return: 0, or -EFAULT. When /proc is not there, the answer is left to
 * the first mlock().
 */
int sim_pin_check_mapped(const void *mem, u64 bytes)
{
	uintptr_t addr = (uintptr_t)mem, end = addr + bytes;
	unsigned long start, stop;
	char *line = NULL, perms[8];
	size_t cap = 0;
	FILE *f;

	f = fopen("/proc/self/maps", "re");
	if (!f)
		return 0;
	/* The lines come in address order. */
	while (addr < end && getline(&line, &cap, f) > 0) {
		if (sscanf(line, "%lx-%lx %7s", &start, &stop, perms) != 3)
			continue;
		if (stop <= addr)
			continue;
		if (start > addr || perms[1] != 'w')
			break;
		addr = stop;
	}
	free(line);
	fclose(f);
	return addr >= end ? 0 : -EFAULT;
}

static int sim_mlock(const void *addr, size_t len)
{
	return syscall(SYS_mlock, addr, len) ? -errno : 0;
}

static void sim_munlock(const void *addr, size_t len)
{
	syscall(SYS_munlock, addr, len);
}

/* mlock()'s refusals over a limit are the contract's -ENOMEM. */
static int sim_pin_errno(int err)
{
	switch (err) {
	case ENOMEM:
	case EAGAIN:
	case EPERM:
		return -ENOMEM;
	}
	return -EFAULT;
}

/* The core's hooks (cvm_core.h): a pinned host page is mlock()ed. */
struct cvm_page *cvm_os_host_page(struct cvm_core *core, u64 gfn)
{
	struct cvm_backend *vm = sim_vm_of(core);

	if (!cvm_os_bitmap_test(&vm->pinned, gfn))
		return NULL;
	return cvm_os_upage(sim_gfn_host(vm, gfn));
}

bool cvm_os_pinned(struct cvm_core *core, u64 gfn)
{
	return cvm_os_bitmap_test(&sim_vm_of(core)->pinned, gfn);
}

/* The one memslot: [0, nr_pages). */
u32 cvm_os_fault_around(struct cvm_core *core, u64 gfn, u64 *ret_first,
			u64 *ret_end)
{
	(void)gfn;
	*ret_first = 0;
	*ret_end = core->nr_pages;
	return sim_vm_of(core)->fault_around;
}

/* A normal or shared page the guest accesses: INIT_DONE moves it. */
struct cvm_page *cvm_os_touch(struct cvm_core *core, u64 gfn)
{
	struct cvm_backend *vm = sim_vm_of(core);
	struct cvm_page *page = cvm_os_host_page(core, gfn);

	if (page)
		cvm_os_bitmap_set(&vm->touched, gfn);
	return page;
}

u64 cvm_os_next_touched(struct cvm_core *core, u64 gfn)
{
	struct cvm_backend *vm = sim_vm_of(core);
	u64 next = cvm_os_bitmap_next(&vm->touched, gfn);

	return next < vm->touched.nbits ? next : U64_MAX;
}

/* Snapshots: the sim's one memslot is [0, nr_pages). */
bool cvm_os_next_memory(struct cvm_core *core, u64 gfn, u64 *ret_first,
			u64 *ret_end)
{
	if (gfn >= core->nr_pages)
		return false;
	*ret_first = gfn;
	*ret_end = core->nr_pages;
	return true;
}

u64 cvm_os_next_pinned(struct cvm_core *core, u64 gfn, u64 last)
{
	u64 next = cvm_os_bitmap_next(&sim_vm_of(core)->pinned, gfn);

	return next <= last && next < sim_vm_of(core)->pinned.nbits ? next
								     : U64_MAX;
}

/* A userspace caller is not killed half way through a call. */
bool cvm_os_fatal_signal_pending(void)
{
	return false;
}

int cvm_os_check_range(struct cvm_core *core, u64 gfn, u64 npages)
{
	u64 end;

	if (__builtin_add_overflow(gfn, npages, &end) || end > core->nr_pages)
		return -ERANGE;
	return 0;
}

/*
 * mlock() (or munlock()) the runs of GFNs set in @newly among the first
 * @npages of the call, one syscall per run of contiguous pages. On a
 * failure, *ret_end is the index just past the run that failed.
 */
static int sim_pin_runs(struct cvm_backend *vm, u64 gfn, u64 npages,
			const unsigned long *newly, bool lock, u64 *ret_end)
{
	u64 i = 0, first;
	void *addr;
	size_t len;
	int ret;

	while (i < npages) {
		if (!cvm_bit_test(newly, i)) {
			i++;
			continue;
		}
		first = i;
		while (i < npages && cvm_bit_test(newly, i))
			i++;
		addr = sim_gfn_host(vm, gfn + first);
		len = (i - first) << CVM_PAGE_SHIFT;
		if (!lock) {
			sim_munlock(addr, len);
		} else {
			ret = sim_mlock(addr, len);
			if (ret) {
				*ret_end = i;
				return sim_pin_errno(-ret);
			}
		}
	}
	*ret_end = npages;
	return 0;
}

/**
 * cvm_os_pin_new() - mlock() the host pages of the GFNs cvm_pin() found
 * missing
 * @core: the VM, locked
 * @gfn: first GFN, the whole range inside the memory
 * @npages: GFNs in the range
 * @newly: bitmap of the GFNs (relative to @gfn) to pin, none pinned yet
 * @missing: how many bits @newly has
 *
 * If the kernel refuses one (over RLIMIT_MEMLOCK), what this call locked
 * is unlocked again.
 *
 * Return: 0, -ENOMEM over a limit (nothing of this call stays pinned),
 * -EFAULT when a page can't be locked for another reason.
 */
int cvm_os_pin_new(struct cvm_core *core, u64 gfn, u64 npages,
		   const unsigned long *newly, u64 missing)
{
	struct cvm_backend *vm = sim_vm_of(core);
	u64 i, end;
	int ret;

	ret = sim_pin_runs(vm, gfn, npages, newly, true, &end);
	if (ret) {
		sim_pin_runs(vm, gfn, end, newly, false, &end);
		return ret;
	}
	for (i = 0; i < npages; i++)
		if (cvm_bit_test(newly, i))
			cvm_os_bitmap_set(&vm->pinned, gfn + i);
	vm->core.nr_pinned += missing;
	return 0;
}

/**
 * sim_pin_upfront() - pin the whole memory at creation
 * @vm: the VM, nothing pinned yet
 *
 * Return: 0, or -ENOMEM (over a limit) / -EFAULT with nothing pinned.
 */
int sim_pin_upfront(struct cvm_backend *vm)
{
	size_t bytes = vm->core.nr_pages << CVM_PAGE_SHIFT;
	int ret;

	if (vm->core.pin_limit_pages &&
	    vm->core.nr_pages > vm->core.pin_limit_pages)
		return -ENOMEM;
	ret = sim_mlock(vm->mem, bytes);
	if (ret) {
		sim_munlock(vm->mem, bytes);
		return sim_pin_errno(-ret);
	}
	cvm_os_bitmap_set_all(&vm->pinned);
	vm->core.nr_pinned = vm->core.nr_pages;
	return 0;
}

/*
 * Destruction: unlock every pinned page, in one call (munlock() of pages
 * that are not locked is harmless), and give the whole charge back.
 */
void sim_unpin_all(struct cvm_backend *vm)
{
	u64 gfn;

	if (!vm->core.nr_pinned)
		return;
	sim_munlock(vm->mem, vm->core.nr_pages << CVM_PAGE_SHIFT);
	cvm_os_bitmap_for_each(gfn, &vm->pinned)
		cvm_os_bitmap_clear(&vm->pinned, gfn);
	vm->core.nr_pinned = 0;
}
