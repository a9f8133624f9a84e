// SPDX-License-Identifier: GPL-2.0
/*
 * ktest-secure.c - snapshots of a VM with two memslots, which only the
 * module has (a sim VM has one). The confidentiality contract, tamper and
 * replay, the measurement and one-slot snapshots are table tests
 * (tests/table/table-tests.c), which cvm-ktest runs on the kmod backend.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "ktest.h"

static uint8_t pattern[4096];

static void fill_pattern(uint8_t seed)
{
	size_t i;

	for (i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(seed + i * 31 + (i >> 8));
}

static void start_with_pattern(struct kt_vm *vm, size_t pages, uint64_t page,
			       uint8_t seed)
{
	fill_pattern(seed);
	assert_int_equal(kt_vm_new(vm, pages * KT_PAGE, 0, 0), 0);
	assert_int_equal(cvm_dev_lifecycle(vm->fd, CVM_VM_OP_INIT_START), 0);
	assert_int_equal(cvm_dev_guest_write(vm->fd, page * KT_PAGE, pattern,
					     KT_PAGE), 0);
}

/* The snapshot agrees with the counters; a short buffer says its size. */
static void test_snapshot_two_slots(void **state)
{
	static struct cvm_gfn_info e[64];
	struct cvm_vm_stats st;
	uint64_t normal = 0, shared = 0, secure = 0, paged = 0, pinned = 0;
	uint32_t n = 0, i;
	struct kt_vm vm;
	uint8_t *extra;

	(void)state;
	start_with_pattern(&vm, 32, 3, 9);
	/* a second slot: entries follow GFN order across slots */
	extra = mmap(NULL, 8 * KT_PAGE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(extra != MAP_FAILED);
	assert_int_equal(cvm_dev_lifecycle(vm.fd, CVM_VM_OP_INIT_ABORT), 0);
	assert_int_equal(cvm_dev_set_memslot(vm.fd, 1, 1 * KT_MIB, 8 * KT_PAGE,
					     extra, 0), 0);
	assert_int_equal(cvm_dev_lifecycle(vm.fd, CVM_VM_OP_INIT_START), 0);
	assert_int_equal(cvm_dev_share(vm.fd, 4 * KT_PAGE, 3), 0);
	assert_int_equal(cvm_dev_page_in(vm.fd, 3 * KT_PAGE, false), 0);
	assert_int_equal(cvm_dev_page_in(vm.fd, 10 * KT_PAGE, false), 0);
	assert_int_equal(cvm_dev_page_out(vm.fd, 10 * KT_PAGE), 0);
	assert_int_equal(cvm_dev_dma_share(vm.fd, 5 * KT_PAGE, 1), 0);
	assert_int_equal(cvm_dev_dma_share(vm.fd, 5 * KT_PAGE, 1), 0);
	assert_int_equal(cvm_dev_lifecycle(vm.fd, CVM_VM_OP_INIT_DONE), 0);

	assert_int_equal(cvm_dev_snapshot(vm.fd, e, 10, &n), -ENOSPC);
	assert_int_equal(n, 40);
	assert_int_equal(cvm_dev_snapshot(vm.fd, e, 64, &n), 0);
	assert_int_equal(n, 40);
	st = kt_stats(vm.fd);
	for (i = 0; i < n; i++) {
		/* GFN order across slots */
		if (i)
			assert_true(e[i].gfn > e[i - 1].gfn);
		normal += e[i].state == CVM_GFN_STATE_NORMAL;
		shared += e[i].state == CVM_GFN_STATE_SHARED;
		secure += e[i].state == CVM_GFN_STATE_SECURE;
		paged += !!(e[i].flags & CVM_GFN_PAGED_OUT);
		pinned += !!(e[i].flags & CVM_GFN_PINNED);
	}
	assert_int_equal(normal, st.normal_pages);
	assert_int_equal(shared, st.shared_pages);
	assert_int_equal(secure, st.secure_pages);
	assert_int_equal(paged, st.secure_paged_out);
	assert_int_equal(pinned, st.pinned_pages);
	assert_int_equal(e[5].dma_refs, 2);
	assert_int_equal(e[5].state, CVM_GFN_STATE_SHARED);
	assert_int_equal(e[3].flags & CVM_GFN_RESIDENT, CVM_GFN_RESIDENT);
	assert_int_equal(e[10].flags & CVM_GFN_PAGED_OUT, CVM_GFN_PAGED_OUT);
	assert_int_equal(e[32].gfn, KT_MIB / KT_PAGE);
	munmap(extra, 8 * KT_PAGE);
	kt_vm_free(&vm);
}

int kt_run_secure(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snapshot_two_slots),
	};

	return cmocka_run_group_tests_name("secure", tests, NULL, NULL);
}
