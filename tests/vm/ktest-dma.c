// SPDX-License-Identifier: GPL-2.0
/*
 * ktest-dma.c - DMA-share refcounts (a shared page can't become secure
 * until every share is released, ranges are all or nothing) and zap
 * scopes (a host-side unmap re-points shared pages, secure pages keep
 * their data; memslot deletion drops both).
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "ktest.h"

/*
 * munmap + a fresh mmap over a shared page: the guest sees the new page;
 * a secure page in the same range keeps its data.
 */
static void test_zap_shared_only(void **state)
{
	uint8_t secret[64], got[64];
	struct kt_vm vm;
	void *again;

	(void)state;
	memset(secret, 0x5e, sizeof(secret));
	assert_int_equal(kt_vm_new(&vm, 8 * KT_PAGE, 0, 0), 0);
	assert_int_equal(cvm_dev_lifecycle(vm.fd, CVM_VM_OP_INIT_START), 0);
	assert_int_equal(cvm_dev_share(vm.fd, 0, 1), 0);
	assert_int_equal(cvm_dev_guest_write(vm.fd, 0, "old", 4), 0);
	assert_int_equal(cvm_dev_guest_write(vm.fd, KT_PAGE, secret, 64), 0);
	assert_int_equal(cvm_dev_page_in(vm.fd, KT_PAGE, false), 0);
	assert_int_equal(cvm_dev_guest_write(vm.fd, 2 * KT_PAGE, secret, 64), 0);
	assert_int_equal(cvm_dev_page_in(vm.fd, 2 * KT_PAGE, false), 0);
	assert_int_equal(cvm_dev_page_out(vm.fd, 2 * KT_PAGE), 0);
	assert_int_equal(kt_stats(vm.fd).pinned_pages, 3);

	assert_int_equal(munmap(vm.mem, 4 * KT_PAGE), 0);
	again = mmap(vm.mem, 4 * KT_PAGE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	assert_ptr_equal(again, vm.mem);
	memcpy(vm.mem, "new", 4);
	/* the shared page's pin went with the old mapping */
	assert_int_equal(kt_stats(vm.fd).pinned_pages, 2);
	assert_int_equal(cvm_dev_guest_read(vm.fd, 0, got, 4), 0);
	assert_string_equal((char *)got, "new");
	/* guest writes reach the new page */
	assert_int_equal(cvm_dev_guest_write(vm.fd, 8, "xy", 2), 0);
	assert_memory_equal(vm.mem + 8, "xy", 2);
	/* secure pages, resident and paged out, kept their data */
	assert_int_equal(cvm_dev_guest_read(vm.fd, KT_PAGE, got, 64), 0);
	assert_memory_equal(got, secret, 64);
	assert_int_equal(cvm_dev_guest_read(vm.fd, 2 * KT_PAGE, got, 64), 0);
	assert_memory_equal(got, secret, 64);
	kt_vm_free(&vm);
}

/* Memslot deletion zaps both: secure contents and shared pins go. */
static void test_zap_memslot_delete(void **state)
{
	struct cvm_info base = kt_info();
	long lck = status_kb("VmLck");
	struct kt_vm vm;

	(void)state;
	assert_int_equal(kt_vm_new(&vm, 8 * KT_PAGE, 0, 0), 0);
	assert_int_equal(cvm_dev_lifecycle(vm.fd, CVM_VM_OP_INIT_START), 0);
	assert_int_equal(kt_touch(vm.fd, 0, 4), 0);
	assert_int_equal(cvm_dev_page_in(vm.fd, 0, false), 0);
	assert_int_equal(cvm_dev_page_in(vm.fd, KT_PAGE, false), 0);
	assert_int_equal(cvm_dev_page_out(vm.fd, KT_PAGE), 0);
	assert_int_equal(cvm_dev_share(vm.fd, 2 * KT_PAGE, 1), 0);
	assert_int_equal(cvm_dev_dma_share(vm.fd, 2 * KT_PAGE, 1), 0);
	assert_int_equal(cvm_dev_delete_memslot(vm.fd, 0), 0);
	assert_int_equal(kt_stats(vm.fd).pinned_pages, 0);
	assert_int_equal(kt_stats(vm.fd).pool_pages, 0);
	assert_int_equal(kt_stats(vm.fd).dma_shared_pages, 0);
	assert_int_equal(status_kb("VmLck"), lck);
	assert_int_equal(kt_info().pool_free_pages, base.pool_free_pages);
	/* secure contents never reach the host: both pages are zeros */
	assert_int_equal(vm.mem[0], 0);
	assert_int_equal(vm.mem[KT_PAGE + 100], 0);
	kt_vm_free(&vm);
}

int kt_run_dma(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zap_shared_only),
		cmocka_unit_test(test_zap_memslot_delete),
	};

	return cmocka_run_group_tests_name("dma-zap", tests, NULL, NULL);
}
