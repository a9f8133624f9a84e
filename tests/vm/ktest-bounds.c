// SPDX-License-Identifier: GPL-2.0
/*
 * ktest-bounds.c - user-sized ranges against the module: huge page
 * operations over MAP_NORESERVE memslots (which cost no memory) are
 * refused quickly, without a kernel warning, and without leaving memory
 * behind; a caller killed in the middle of a long walk dies at once.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include "ktest.h"

#define KT_GIB (1024UL * KT_MIB)

static double kt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Kernel log lines with "WARNING:" or "BUG:" in them, now. */
static int kt_kernel_warnings(void)
{
	static char buf[1 << 20];
	int len, n = 0;
	char *p;

	len = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, sizeof(buf) - 1);
	if (len < 0)
		return -1;
	buf[len] = 0;
	for (p = buf; (p = strstr(p, "WARNING:")); p++)
		n++;
	for (p = buf; (p = strstr(p, "BUG:")); p++)
		n++;
	return n;
}

/* Active objects of a slab cache (/proc/slabinfo), or -1. */
static long kt_slab_active(const char *cache)
{
	char line[512], name[128];
	long active = -1, n;
	FILE *f = fopen("/proc/slabinfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%127s %ld", name, &n) == 2 &&
		    !strcmp(name, cache))
			active = n;
	fclose(f);
	return active;
}

/*
 * A range of 2^26 pages (256 GiB) sized 8 MiB of per-call bitmaps from
 * the page allocator, which warned (order above MAX_ORDER). The range is
 * checked first now: a DMA-shared first page refuses it at once, and no
 * allocation sized by it, nor any warning, happens.
 */
static void test_huge_unshare_refused_quietly(void **state)
{
	const uint64_t npages = 1ULL << 26;
	struct kt_vm vm;
	int warnings;

	(void)state;
	assert_int_equal(kt_vm_new(&vm, npages * KT_PAGE, 0, 0), 0);
	assert_int_equal(cvm_dev_lifecycle(vm.fd, CVM_VM_OP_INIT_START), 0);
	assert_int_equal(cvm_dev_dma_share(vm.fd, 0, 1), 0);
	warnings = kt_kernel_warnings();
	assert_int_equal(cvm_dev_unshare(vm.fd, 0, npages), -EBUSY);
	assert_int_equal(kt_kernel_warnings(), warnings);
	assert_int_equal(kt_stats(vm.fd).pinned_pages, 1);
	kt_vm_free(&vm);
}

/*
 * The case: one demand memslot of 16 TiB + 1 page; a count past
 * CVM_PAGE_OP_MAX_PAGES is refused before anything is sized by it.
 */
static void test_count_past_max_refused(void **state)
{
	const uint64_t npages = (1ULL << 32) + 1;
	struct kt_vm vm;
	int warnings;

	(void)state;
	assert_int_equal(kt_vm_new(&vm, npages * KT_PAGE, 0, 0), 0);
	assert_int_equal(cvm_dev_lifecycle(vm.fd, CVM_VM_OP_INIT_START), 0);
	warnings = kt_kernel_warnings();
	assert_int_equal(cvm_dev_unshare(vm.fd, 0, npages), -E2BIG);
	assert_int_equal(cvm_dev_dma_share(vm.fd, 0, npages), -E2BIG);
	assert_int_equal(kt_kernel_warnings(), warnings);
	kt_vm_free(&vm);
}

/*
 * A refused range leaves no memory behind: UNSHARE over 2^20 normal pages
 * (4 GiB) whose last page holds a DMA share used to reserve a state entry
 * for each page before finding the share, and kept them until the VM went
 * away (~16k xarray nodes, 9 MiB).
 */
static void test_refused_range_keeps_no_memory(void **state)
{
	const uint64_t npages = 1ULL << 20;
	long before, after;
	struct kt_vm vm;

	(void)state;
	assert_int_equal(kt_vm_new(&vm, npages * KT_PAGE, 0, 0), 0);
	assert_int_equal(cvm_dev_lifecycle(vm.fd, CVM_VM_OP_INIT_START), 0);
	assert_int_equal(cvm_dev_dma_share(vm.fd, (npages - 1) * KT_PAGE, 1),
			 0);
	before = kt_slab_active("radix_tree_node");
	assert_true(before >= 0);
	assert_int_equal(cvm_dev_unshare(vm.fd, 0, npages), -EBUSY);
	after = kt_slab_active("radix_tree_node");
	print_message("radix_tree_node objects: %ld before, %ld after\n",
		      before, after);
	assert_true(after - before < 1000);
	kt_vm_free(&vm);
}

/*
 * A long walk under the VM lock stops when its caller is killed: UNSHARE
 * over secure pages never touched (nothing moves, only the walk), sized
 * here until the whole walk takes a second or more. A VM fd works only in
 * its owner, so a child makes its own VM, says when it is about to walk,
 * and is SIGKILLed a sixth of the way in; it must be gone long before the
 * walk would end.
 */
#define KT_WALK_MAX_PAGES (1ULL << 25)

static int kt_secure_vm(struct kt_vm *vm)
{
	int ret = kt_vm_new(vm, KT_WALK_MAX_PAGES * KT_PAGE, 0, 0);

	if (!ret)
		ret = cvm_dev_lifecycle(vm->fd, CVM_VM_OP_INIT_START);
	if (!ret)
		ret = cvm_dev_lifecycle(vm->fd, CVM_VM_OP_INIT_DONE);
	return ret;
}

static void test_killed_walk_stops(void **state)
{
	uint64_t npages = 1ULL << 20;
	double t0, full, gone;
	struct kt_vm vm;
	int status, pfd[2];
	pid_t pid;
	char c;

	(void)state;
	assert_int_equal(kt_secure_vm(&vm), 0);
	for (;;) {
		t0 = kt_now();
		assert_int_equal(cvm_dev_unshare(vm.fd, 0, npages), 0);
		full = kt_now() - t0;
		if (full >= 1.0 || npages == KT_WALK_MAX_PAGES)
			break;
		npages *= 2;
	}
	kt_vm_free(&vm);

	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		close(pfd[0]);
		KT_CHECK(kt_secure_vm(&vm) == 0);
		KT_CHECK(write(pfd[1], "w", 1) == 1);
		KT_CHECK(cvm_dev_unshare(vm.fd, 0, npages) == 0);
		_exit(0);
	}
	close(pfd[1]);
	assert_int_equal(read(pfd[0], &c, 1), 1);
	close(pfd[0]);
	usleep((useconds_t)(full * 1e6 / 6));
	t0 = kt_now();
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	gone = kt_now() - t0;
	print_message(
	    "walk of %llu pages: %.2f s whole; killed, gone in %.3f s\n",
	    (unsigned long long)npages, full, gone);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	/* meaningful only for a long walk */
	assert_true(full >= 1.0);
	assert_true(gone < full / 4);
}

int kt_run_bounds(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_huge_unshare_refused_quietly),
		cmocka_unit_test(test_count_past_max_refused),
		cmocka_unit_test(test_refused_range_keeps_no_memory),
		cmocka_unit_test(test_killed_walk_stops),
	};

	return cmocka_run_group_tests_name("bounds", tests, NULL, NULL);
}
