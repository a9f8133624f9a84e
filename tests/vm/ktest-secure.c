// SPDX-License-Identifier: GPL-2.0
/*
 * ktest-secure.c - snapshots of a VM with several memslots and of a
 * 16 TiB one, which only the module has (a sim VM has one small slot).
 * The confidentiality contract, tamper and replay, the measurement and
 * one-slot snapshots are table tests (tests/table/table-tests.c), which
 * cvm-ktest runs on the kmod backend.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>

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

/*
 * The snapshot's runs agree with the counters, follow GFN order across
 * slots, never span the hole between two slots and merge across two
 * adjacent ones; a short buffer says its size.
 */
static void test_snapshot_two_slots(void **state)
{
	static struct cvm_gfn_run r[64];
	struct cvm_vm_stats st;
	uint64_t normal = 0, shared = 0, secure = 0, paged = 0, pinned = 0;
	uint64_t pages = 0;
	uint32_t n = 0, i;
	struct kt_vm vm;
	uint8_t *extra;

	(void)state;
	start_with_pattern(&vm, 32, 3, 9);
	/* two more slots at 1 MiB, adjacent to each other */
	extra = mmap(NULL, 16 * KT_PAGE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(extra != MAP_FAILED);
	assert_int_equal(cvm_dev_lifecycle(vm.fd, CVM_VM_OP_INIT_ABORT), 0);
	assert_int_equal(cvm_dev_set_memslot(vm.fd, 1, 1 * KT_MIB, 8 * KT_PAGE,
					     extra, 0), 0);
	assert_int_equal(cvm_dev_set_memslot(vm.fd, 2, 1 * KT_MIB + 8 * KT_PAGE,
					     8 * KT_PAGE, extra + 8 * KT_PAGE,
					     0), 0);
	assert_int_equal(cvm_dev_lifecycle(vm.fd, CVM_VM_OP_INIT_START), 0);
	assert_int_equal(cvm_dev_share(vm.fd, 4 * KT_PAGE, 3), 0);
	assert_int_equal(cvm_dev_page_in(vm.fd, 3 * KT_PAGE, false), 0);
	assert_int_equal(cvm_dev_page_in(vm.fd, 10 * KT_PAGE, false), 0);
	assert_int_equal(cvm_dev_page_out(vm.fd, 10 * KT_PAGE), 0);
	assert_int_equal(cvm_dev_dma_share(vm.fd, 5 * KT_PAGE, 1), 0);
	assert_int_equal(cvm_dev_dma_share(vm.fd, 5 * KT_PAGE, 1), 0);
	assert_int_equal(cvm_dev_lifecycle(vm.fd, CVM_VM_OP_INIT_DONE), 0);

	/*
	 * 0-2, 3 resident, 4 shared, 5 shared DMA x2, 6 shared, 7-9, 10
	 * paged out, 11-31; then 256-271 over two slots: 9 runs.
	 */
	assert_int_equal(cvm_dev_snapshot(vm.fd, r, 8, &n), -ENOSPC);
	assert_int_equal(n, 9);
	assert_int_equal(cvm_dev_snapshot(vm.fd, r, 64, &n), 0);
	assert_int_equal(n, 9);
	st = kt_stats(vm.fd);
	for (i = 0; i < n; i++) {
		assert_true(r[i].nr_pages >= 1);
		assert_int_equal(r[i].pad, 0);
		if (i)
			assert_true(r[i].gfn >= r[i - 1].gfn + r[i - 1].nr_pages);
		pages += r[i].nr_pages;
		normal += r[i].state == CVM_GFN_STATE_NORMAL ? r[i].nr_pages : 0;
		shared += r[i].state == CVM_GFN_STATE_SHARED ? r[i].nr_pages : 0;
		secure += r[i].state == CVM_GFN_STATE_SECURE ? r[i].nr_pages : 0;
		paged += r[i].flags & CVM_GFN_PAGED_OUT ? r[i].nr_pages : 0;
		pinned += r[i].flags & CVM_GFN_PINNED ? r[i].nr_pages : 0;
	}
	assert_int_equal(pages, st.nr_pages);
	assert_int_equal(normal, st.normal_pages);
	assert_int_equal(shared, st.shared_pages);
	assert_int_equal(secure, st.secure_pages);
	assert_int_equal(paged, st.secure_paged_out);
	assert_int_equal(pinned, st.pinned_pages);
	assert_int_equal(r[3].gfn, 5);
	assert_int_equal(r[3].dma_refs, 2);
	assert_int_equal(r[3].state, CVM_GFN_STATE_SHARED);
	assert_int_equal(r[1].gfn, 3);
	assert_int_equal(r[1].flags & CVM_GFN_RESIDENT, CVM_GFN_RESIDENT);
	assert_int_equal(r[6].gfn, 10);
	assert_int_equal(r[6].flags & CVM_GFN_PAGED_OUT, CVM_GFN_PAGED_OUT);
	/* the hole between GFN 32 and 256 splits; the adjacent slots don't */
	assert_int_equal(r[7].gfn + r[7].nr_pages, 32);
	assert_int_equal(r[8].gfn, KT_MIB / KT_PAGE);
	assert_int_equal(r[8].nr_pages, 16);
	munmap(extra, 16 * KT_PAGE);
	kt_vm_free(&vm);
}

static double kt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * A demand memslot of 16 TiB + 1 page (2^32 + 1 GFNs, MAP_NORESERVE: no
 * memory) snapshots as a handful of runs, fast: the walk costs what the
 * VM holds, not its size. A capacity past the maximum is refused.
 */
static void test_snapshot_16tib(void **state)
{
	const uint64_t npages = (1ULL << 32) + 1;
	static struct cvm_gfn_run r[8];
	struct cvm_snapshot arg;
	uint32_t n = 0;
	uint8_t *huge, b = 0x5a;
	double t;
	int fd;

	(void)state;
	huge = mmap(NULL, npages * KT_PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (huge == MAP_FAILED) {
		print_message("no room for a 16 TiB mapping here: skipped\n");
		skip();
	}
	assert_int_equal(cvm_dev_create_vm(kt_dev_fd, 0, &fd), 0);
	assert_int_equal(cvm_dev_set_memslot(fd, 0, 0, npages * KT_PAGE, huge,
					     0), 0);
	assert_int_equal(cvm_dev_lifecycle(fd, CVM_VM_OP_INIT_START), 0);
	assert_int_equal(cvm_dev_guest_write(fd, (1ULL << 31) * KT_PAGE, &b, 1),
			 0);
	assert_int_equal(cvm_dev_share(fd, ((1ULL << 32) - 1) * KT_PAGE, 2), 0);

	t = kt_now();
	assert_int_equal(cvm_dev_snapshot(fd, r, 3, &n), -ENOSPC);
	assert_int_equal(n, 4);
	assert_int_equal(cvm_dev_snapshot(fd, r, 8, &n), 0);
	t = kt_now() - t;
	print_message("16 TiB memslot: %u runs in %.3f ms\n", n, t * 1e3);
	assert_true(t < 1.0);
	assert_int_equal(n, 4);
	assert_int_equal(r[0].gfn, 0);
	assert_int_equal(r[0].nr_pages, 1ULL << 31);
	assert_int_equal(r[0].state, CVM_GFN_STATE_NORMAL);
	assert_int_equal(r[0].flags, 0);
	assert_int_equal(r[1].gfn, 1ULL << 31);
	assert_int_equal(r[1].nr_pages, 1);
	assert_int_equal(r[1].flags, CVM_GFN_PINNED);
	assert_int_equal(r[2].nr_pages, (1ULL << 31) - 2);
	assert_int_equal(r[2].flags, 0);
	assert_int_equal(r[3].gfn, (1ULL << 32) - 1);
	assert_int_equal(r[3].nr_pages, 2);
	assert_int_equal(r[3].state, CVM_GFN_STATE_SHARED);

	memset(&arg, 0, sizeof(arg));
	arg.uaddr = (uintptr_t)r;
	arg.capacity = CVM_SNAPSHOT_MAX_ENTRIES + 1;
	assert_int_equal(ioctl(fd, CVM_SNAPSHOT, &arg), -1);
	assert_int_equal(errno, EINVAL);
	arg.capacity = 8;
	arg.reserved[1] = 1;
	assert_int_equal(ioctl(fd, CVM_SNAPSHOT, &arg), -1);
	assert_int_equal(errno, EINVAL);
	close(fd);
	munmap(huge, npages * KT_PAGE);
}

int kt_run_secure(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snapshot_two_slots),
		cmocka_unit_test(test_snapshot_16tib),
	};

	return cmocka_run_group_tests_name("secure", tests, NULL, NULL);
}
