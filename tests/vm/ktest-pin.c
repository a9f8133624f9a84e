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
	};

	return cmocka_run_group_tests_name("pinning", tests, NULL, NULL);
}
