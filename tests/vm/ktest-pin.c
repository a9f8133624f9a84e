// SPDX-License-Identifier: GPL-2.0
/*
 * ktest-pin.c - demand and upfront pinning with exact RLIMIT_MEMLOCK and
 * per-VM accounting: nothing pinned at registration, exactly N pages after
 * touching N, -ENOMEM at the limit with the charge at (never over) it, and
 * every charge given back on delete, close and owner exit.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>

#include "ktest.h"

static void test_touch_pins_exactly_n(void **state)
{
	long lck = status_kb("VmLck");
	struct cvm_info info = kt_info();
	uint8_t buf[5 * 4096];
	struct kt_vm vm;

	(void)state;
	assert_int_equal(kt_vm_new(&vm, 64 * KT_MIB, 0, 0), 0);
	assert_int_equal(kt_touch(vm.fd, 1000, 37), 0);
	assert_int_equal(kt_stats(vm.fd).pinned_pages, 37);
	assert_int_equal(kt_stats(vm.fd).charged_bytes, 37 * KT_PAGE);
	assert_int_equal(status_kb("VmLck"), lck + 37 * 4);
	assert_int_equal(kt_info().pinned_pages, info.pinned_pages + 37);
	/* touching the same pages again pins nothing more */
	assert_int_equal(kt_touch(vm.fd, 1000, 37), 0);
	assert_int_equal(kt_stats(vm.fd).pinned_pages, 37);
	/* 5 pages of which the first 2 are pinned already: 3 more */
	memset(buf, 7, sizeof(buf));
	assert_int_equal(cvm_dev_guest_write(vm.fd, 1035 * KT_PAGE, buf,
					     sizeof(buf)), 0);
	assert_int_equal(kt_stats(vm.fd).pinned_pages, 40);
	assert_int_equal(status_kb("VmLck"), lck + 40 * 4);
	/* reads pin too: the guest reads the host page */
	assert_int_equal(cvm_dev_guest_read(vm.fd, 5000 * KT_PAGE, buf, 1), 0);
	assert_int_equal(kt_stats(vm.fd).pinned_pages, 41);
	kt_vm_free(&vm);
	assert_int_equal(status_kb("VmLck"), lck);
	assert_int_equal(kt_info().pinned_pages, info.pinned_pages);
	assert_int_equal(kt_info().nr_vms, info.nr_vms);
}

/* In a child without CAP_IPC_LOCK and a 16-page RLIMIT_MEMLOCK. */
static void child_rlimit_boundary(void *arg)
{
	const long limit_kb = 16 * 4;
	uint8_t buf[3 * 4096] = { 0 };
	struct kt_vm vm;

	(void)arg;
	KT_CHECK(status_kb("VmLck") == 0);
	KT_CHECK(kt_set_memlock(16 * KT_PAGE) == 0);
	KT_CHECK(kt_drop_ipc_lock() == 0);
	KT_CHECK(kt_vm_new(&vm, 64 * KT_PAGE, 0, 0) == 0);
	KT_CHECK(kt_stats(vm.fd).memlock_limit_bytes == 16 * KT_PAGE);
	KT_CHECK(kt_touch(vm.fd, 0, 14) == 0);
	/* 3 new pages where 2 fit: all or nothing */
	KT_CHECK(cvm_dev_guest_write(vm.fd, 14 * KT_PAGE, buf, sizeof(buf)) ==
		 -ENOMEM);
	KT_CHECK(kt_stats(vm.fd).pinned_pages == 14);
	KT_CHECK(status_kb("VmLck") == 14 * 4);
	KT_CHECK(cvm_dev_guest_write(vm.fd, 14 * KT_PAGE, buf, 2 * KT_PAGE) ==
		 0);
	KT_CHECK(status_kb("VmLck") == limit_kb);
	/* at the limit: one more page fails, the charge stays at the limit */
	KT_CHECK(kt_touch(vm.fd, 16, 1) == -ENOMEM);
	KT_CHECK(kt_stats(vm.fd).pinned_pages == 16);
	KT_CHECK(status_kb("VmLck") == limit_kb);
	/* pages already pinned still work */
	KT_CHECK(kt_touch(vm.fd, 0, 16) == 0);
	/* an upfront slot that does not fit: nothing pinned or charged */
	{
		uint8_t *m = mmap(NULL, 8 * KT_PAGE, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		KT_CHECK(m != MAP_FAILED);
		KT_CHECK(cvm_dev_set_memslot(vm.fd, 1, KT_MIB, 8 * KT_PAGE, m,
					     CVM_MEMSLOT_UPFRONT) == -ENOMEM);
		KT_CHECK(kt_stats(vm.fd).nr_memslots == 1);
		KT_CHECK(status_kb("VmLck") == limit_kb);
	}
	kt_vm_free(&vm);
	KT_CHECK(status_kb("VmLck") == 0);
}

static void test_rlimit_boundary(void **state)
{
	(void)state;
	assert_int_equal(kt_in_child(child_rlimit_boundary, NULL), 0);
}

/* mlock() and pinning share one locked_vm budget, as with VFIO. */
static void child_rlimit_shared_with_mlock(void *arg)
{
	struct kt_vm vm;
	uint8_t *m;

	(void)arg;
	KT_CHECK(kt_set_memlock(16 * KT_PAGE) == 0);
	KT_CHECK(kt_drop_ipc_lock() == 0);
	m = mmap(NULL, 4 * KT_PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	KT_CHECK(m != MAP_FAILED);
	KT_CHECK(mlock(m, 4 * KT_PAGE) == 0);
	KT_CHECK(kt_vm_new(&vm, 64 * KT_PAGE, 0, 0) == 0);
	KT_CHECK(kt_touch(vm.fd, 0, 12) == 0);
	KT_CHECK(kt_touch(vm.fd, 12, 1) == -ENOMEM);
	KT_CHECK(status_kb("VmLck") == 16 * 4);
	kt_vm_free(&vm);
	KT_CHECK(status_kb("VmLck") == 4 * 4);
}

static void test_rlimit_shared_with_mlock(void **state)
{
	(void)state;
	assert_int_equal(kt_in_child(child_rlimit_shared_with_mlock, NULL), 0);
}

/* CAP_IPC_LOCK at creation bypasses the limit; pages are still charged. */
static void child_ipc_lock_bypass(void *arg)
{
	struct kt_vm vm;

	(void)arg;
	KT_CHECK(kt_set_memlock(16 * KT_PAGE) == 0);
	KT_CHECK(kt_vm_new(&vm, 64 * KT_PAGE, 0, 0) == 0);
	KT_CHECK(kt_stats(vm.fd).memlock_limit_bytes == UINT64_MAX);
	/* dropping the capability later does not change the VM's right */
	KT_CHECK(kt_drop_ipc_lock() == 0);
	KT_CHECK(kt_touch(vm.fd, 0, 32) == 0);
	KT_CHECK(kt_stats(vm.fd).pinned_pages == 32);
	KT_CHECK(status_kb("VmLck") == 32 * 4);
	kt_vm_free(&vm);
	KT_CHECK(status_kb("VmLck") == 0);
}

static void test_ipc_lock_bypass(void **state)
{
	(void)state;
	assert_int_equal(kt_in_child(child_ipc_lock_bypass, NULL), 0);
}

static void test_upfront(void **state)
{
	long lck = status_kb("VmLck");
	struct cvm_info info = kt_info();
	struct kt_vm vm;

	(void)state;
	assert_int_equal(kt_vm_new(&vm, 4 * KT_MIB, 0, CVM_MEMSLOT_UPFRONT), 0);
	assert_int_equal(kt_stats(vm.fd).pinned_pages, 1024);
	assert_int_equal(status_kb("VmLck"), lck + 4096);
	assert_int_equal(kt_info().pinned_pages, info.pinned_pages + 1024);
	/* touching pins nothing more */
	assert_int_equal(kt_touch(vm.fd, 0, 100), 0);
	assert_int_equal(kt_stats(vm.fd).pinned_pages, 1024);
	assert_int_equal(cvm_dev_delete_memslot(vm.fd, 0), 0);
	assert_int_equal(kt_stats(vm.fd).pinned_pages, 0);
	assert_int_equal(status_kb("VmLck"), lck);
	assert_int_equal(kt_info().pinned_pages, info.pinned_pages);
	kt_vm_free(&vm);
}

static void test_delete_uncharges(void **state)
{
	long lck = status_kb("VmLck");
	struct kt_vm vm;
	uint8_t b;

	(void)state;
	assert_int_equal(kt_vm_new(&vm, 1 * KT_MIB, 0, 0), 0);
	assert_int_equal(kt_touch(vm.fd, 0, 20), 0);
	assert_int_equal(status_kb("VmLck"), lck + 20 * 4);
	assert_int_equal(cvm_dev_delete_memslot(vm.fd, 0), 0);
	assert_int_equal(status_kb("VmLck"), lck);
	assert_int_equal(kt_stats(vm.fd).nr_pages, 0);
	assert_int_equal(cvm_dev_guest_read(vm.fd, 0, &b, 1), -ERANGE);
	/* the id is free again */
	assert_int_equal(cvm_dev_set_memslot(vm.fd, 0, 0, vm.size, vm.mem, 0), 0);
	assert_int_equal(kt_stats(vm.fd).pinned_pages, 0);
	kt_vm_free(&vm);
}

static void child_exit_without_cleanup(void *arg)
{
	struct kt_vm vm;

	KT_CHECK(kt_vm_new(&vm, 1 * KT_MIB, 0, 0) == 0);
	KT_CHECK(kt_touch(vm.fd, 0, 100) == 0);
	KT_CHECK(kt_stats(vm.fd).pinned_pages == 100);
	if (arg)
		raise(SIGKILL);
	_exit(0); /* no close, no munmap */
}

static void test_owner_exit(void **state)
{
	struct cvm_info info = kt_info();

	(void)state;
	assert_int_equal(kt_in_child(child_exit_without_cleanup, NULL), 0);
	assert_int_equal(kt_info().nr_vms, info.nr_vms);
	assert_int_equal(kt_info().pinned_pages, info.pinned_pages);
	/* killed rather than exiting */
	assert_int_equal(kt_in_child(child_exit_without_cleanup, (void *)1), -1);
	assert_int_equal(kt_info().nr_vms, info.nr_vms);
	assert_int_equal(kt_info().pinned_pages, info.pinned_pages);
}

/* Slot 0 of a fresh VM again, with fault-around runs of @run pages. */
static int kt_vm_around(struct kt_vm *vm, size_t size, uint64_t pin_limit,
			uint32_t run)
{
	int ret = kt_vm_new(vm, size, pin_limit, 0);

	if (ret)
		return ret;
	ret = cvm_dev_delete_memslot(vm->fd, 0);
	if (!ret)
		ret = cvm_dev_set_memslot_around(vm->fd, 0, 0, vm->size, vm->mem,
						 CVM_MEMSLOT_FAULT_AROUND, run);
	if (ret)
		kt_vm_free(vm);
	return ret;
}

/*
 * A first touch pins the aligned run around it, charged exactly, clipped
 * to its memslot; a slot without the flag pins the page alone; delete and
 * close give every charge back.
 */
static void test_fault_around_exact(void **state)
{
	long lck = status_kb("VmLck");
	struct cvm_info info = kt_info();
	uint8_t buf[2 * 4096] = { 0 };
	struct kt_vm vm;
	uint8_t *m;

	(void)state;
	/* 40 pages: the last run, [32, 48), is cut to [32, 40) */
	assert_int_equal(kt_vm_around(&vm, 40 * KT_PAGE, 0, 16), 0);
	assert_int_equal(kt_stats(vm.fd).pinned_pages, 0);
	assert_int_equal(kt_touch(vm.fd, 5, 1), 0);
	assert_int_equal(kt_stats(vm.fd).pinned_pages, 16);
	assert_int_equal(kt_stats(vm.fd).charged_bytes, 16 * KT_PAGE);
	assert_int_equal(status_kb("VmLck"), lck + 16 * 4);
	assert_int_equal(kt_info().pinned_pages, info.pinned_pages + 16);
	/* the rest of the run is pinned already */
	assert_int_equal(kt_touch(vm.fd, 0, 16), 0);
	assert_int_equal(kt_stats(vm.fd).pinned_pages, 16);
	assert_int_equal(kt_touch(vm.fd, 35, 1), 0);
	assert_int_equal(kt_stats(vm.fd).pinned_pages, 24);
	/* an access within pinned runs pins nothing; over two runs, one
	 * pinned: the other one */
	assert_int_equal(cvm_dev_guest_write(vm.fd, 32 * KT_PAGE + 100, buf,
					     sizeof(buf)), 0);
	assert_int_equal(kt_stats(vm.fd).pinned_pages, 24);
	assert_int_equal(cvm_dev_guest_write(vm.fd, 15 * KT_PAGE + 100, buf,
					     sizeof(buf)), 0);
	assert_int_equal(kt_stats(vm.fd).pinned_pages, 40);
	assert_int_equal(status_kb("VmLck"), lck + 40 * 4);
	/* a slot without the flag beside it: one page */
	m = mmap(NULL, 64 * KT_PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(m != MAP_FAILED);
	assert_int_equal(cvm_dev_set_memslot(vm.fd, 1, KT_MIB, 64 * KT_PAGE, m,
					     0), 0);
	assert_int_equal(kt_touch(vm.fd, 256 + 3, 1), 0);
	assert_int_equal(kt_stats(vm.fd).pinned_pages, 41);
	assert_int_equal(status_kb("VmLck"), lck + 41 * 4);
	/* release: delete gives back exactly the slot's pins, close the rest */
	assert_int_equal(cvm_dev_delete_memslot(vm.fd, 0), 0);
	assert_int_equal(kt_stats(vm.fd).pinned_pages, 1);
	assert_int_equal(status_kb("VmLck"), lck + 4);
	kt_vm_free(&vm);
	munmap(m, 64 * KT_PAGE);
	assert_int_equal(status_kb("VmLck"), lck);
	assert_int_equal(kt_info().pinned_pages, info.pinned_pages);
}

/*
 * Pages pinned only because they are in a run hold no guest data: INIT_DONE
 * takes (and measures) the touched pages alone, as with upfront pinning.
 */
static void test_fault_around_touched_only(void **state)
{
	struct cvm_vm_stats st;
	struct kt_vm vm;

	(void)state;
	assert_int_equal(kt_vm_around(&vm, 64 * KT_PAGE, 0, 32), 0);
	assert_int_equal(cvm_dev_lifecycle(vm.fd, CVM_VM_OP_INIT_START), 0);
	assert_int_equal(kt_touch(vm.fd, 1, 1), 0);
	assert_int_equal(kt_touch(vm.fd, 40, 2), 0);
	assert_int_equal(kt_stats(vm.fd).pinned_pages, 64);
	assert_int_equal(cvm_dev_lifecycle(vm.fd, CVM_VM_OP_INIT_DONE), 0);
	st = kt_stats(vm.fd);
	assert_int_equal(st.pool_pages, 3);
	assert_int_equal(st.measured_pages, 3);
	assert_int_equal(st.pinned_pages, 64);
	kt_vm_free(&vm);
}

/*
 * A run over RLIMIT_MEMLOCK or the VM's pin limit falls back to the page
 * touched alone; the charge never passes the limit.
 */
static void child_fault_around_limit(void *arg)
{
	struct kt_vm vm;

	(void)arg;
	KT_CHECK(kt_set_memlock(12 * KT_PAGE) == 0);
	KT_CHECK(kt_drop_ipc_lock() == 0);
	KT_CHECK(kt_vm_around(&vm, 64 * KT_PAGE, 0, 8) == 0);
	KT_CHECK(kt_touch(vm.fd, 0, 1) == 0);
	KT_CHECK(kt_stats(vm.fd).pinned_pages == 8);
	/* [8, 16) would be 16 pages > 12: page 8 alone */
	KT_CHECK(kt_touch(vm.fd, 8, 1) == 0);
	KT_CHECK(kt_stats(vm.fd).pinned_pages == 9);
	KT_CHECK(status_kb("VmLck") == 9 * 4);
	KT_CHECK(kt_touch(vm.fd, 9, 3) == 0);
	KT_CHECK(kt_stats(vm.fd).pinned_pages == 12);
	KT_CHECK(status_kb("VmLck") == 12 * 4);
	/* at the limit, the page alone does not fit either */
	KT_CHECK(kt_touch(vm.fd, 12, 1) == -ENOMEM);
	KT_CHECK(kt_stats(vm.fd).pinned_pages == 12);
	KT_CHECK(status_kb("VmLck") == 12 * 4);
	kt_vm_free(&vm);
	KT_CHECK(status_kb("VmLck") == 0);
}

static void test_fault_around_limit(void **state)
{
	long lck = status_kb("VmLck");
	struct kt_vm vm;

	(void)state;
	assert_int_equal(kt_in_child(child_fault_around_limit, NULL), 0);
	/* the VM's own pin limit: 10 pages */
	assert_int_equal(kt_vm_around(&vm, 64 * KT_PAGE, 10 * KT_PAGE, 8), 0);
	assert_int_equal(kt_touch(vm.fd, 20, 1), 0);
	assert_int_equal(kt_stats(vm.fd).pinned_pages, 8);
	assert_int_equal(kt_touch(vm.fd, 40, 1), 0);
	assert_int_equal(kt_stats(vm.fd).pinned_pages, 9);
	assert_int_equal(status_kb("VmLck"), lck + 9 * 4);
	kt_vm_free(&vm);
	assert_int_equal(status_kb("VmLck"), lck);
}

/* A run with a hole the owner made since registration: the page alone. */
static void test_fault_around_hole(void **state)
{
	struct kt_vm vm;

	(void)state;
	assert_int_equal(kt_vm_around(&vm, 64 * KT_PAGE, 0, 16), 0);
	assert_int_equal(munmap(vm.mem + 20 * KT_PAGE, KT_PAGE), 0);
	assert_int_equal(kt_touch(vm.fd, 17, 1), 0);
	assert_int_equal(kt_stats(vm.fd).pinned_pages, 1);
	assert_int_equal(kt_touch(vm.fd, 20, 1), -EFAULT);
	assert_int_equal(kt_stats(vm.fd).pinned_pages, 1);
	/* another run is whole */
	assert_int_equal(kt_touch(vm.fd, 33, 1), 0);
	assert_int_equal(kt_stats(vm.fd).pinned_pages, 17);
	kt_vm_free(&vm);
}

int kt_run_pin(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_touch_pins_exactly_n),
		cmocka_unit_test(test_rlimit_boundary),
		cmocka_unit_test(test_rlimit_shared_with_mlock),
		cmocka_unit_test(test_ipc_lock_bypass),
		cmocka_unit_test(test_upfront),
		cmocka_unit_test(test_delete_uncharges),
		cmocka_unit_test(test_owner_exit),
		cmocka_unit_test(test_fault_around_exact),
		cmocka_unit_test(test_fault_around_touched_only),
		cmocka_unit_test(test_fault_around_limit),
		cmocka_unit_test(test_fault_around_hole),
	};

	return cmocka_run_group_tests_name("pinning", tests, NULL, NULL);
}
