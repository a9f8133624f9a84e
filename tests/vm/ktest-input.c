// SPDX-License-Identifier: GPL-2.0
/*
 * ktest-input.c - bad input to every ioctl: each gets its documented errno
 * and changes nothing (slots, states, pins and charges stay as they were).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "ktest.h"

/* The VM's observable state, to compare before and after a bad call. */
static void assert_same(const struct cvm_vm_stats *a,
			const struct cvm_vm_stats *b)
{
	assert_int_equal(a->state, b->state);
	assert_int_equal(a->nr_pages, b->nr_pages);
	assert_int_equal(a->nr_memslots, b->nr_memslots);
	assert_int_equal(a->normal_pages, b->normal_pages);
	assert_int_equal(a->shared_pages, b->shared_pages);
	assert_int_equal(a->secure_pages, b->secure_pages);
	assert_int_equal(a->pinned_pages, b->pinned_pages);
	assert_int_equal(a->charged_bytes, b->charged_bytes);
}

static int raw_memslot(int fd, unsigned long cmd, struct cvm_user_memslot *m)
{
	return ioctl(fd, cmd, m) < 0 ? -errno : 0;
}

static void test_memslot_bad(void **state)
{
	struct cvm_vm_stats before, after;
	struct cvm_user_memslot m;
	struct kt_vm vm;
	uint8_t *ro, *hole, *a;

	(void)state;
	assert_int_equal(kt_vm_new(&vm, 64 * KT_PAGE, 0, 0), 0);
	before = kt_stats(vm.fd);
	ro = mmap(NULL, 4 * KT_PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
		  -1, 0);
	hole = mmap(NULL, 4 * KT_PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(ro != MAP_FAILED && hole != MAP_FAILED);
	assert_int_equal(munmap(hole + KT_PAGE, KT_PAGE), 0);

	a = vm.mem;
#define SLOT(id_, gpa_, size_, uaddr_, flags_)                              \
	cvm_dev_set_memslot(vm.fd, id_, gpa_, size_, (void *)(uaddr_), flags_)
	/* unaligned GPA, size, address; zero size; wrapping GPA */
	assert_int_equal(SLOT(1, 1 * KT_MIB + 1, KT_PAGE, a, 0), -EINVAL);
	assert_int_equal(SLOT(1, 1 * KT_MIB, KT_PAGE + 1, a, 0), -EINVAL);
	assert_int_equal(SLOT(1, 1 * KT_MIB, KT_PAGE, a + 1, 0), -EINVAL);
	assert_int_equal(SLOT(1, 1 * KT_MIB, 0, a, 0), -EINVAL);
	assert_int_equal(SLOT(1, UINT64_MAX - KT_PAGE + 1, 2 * KT_PAGE, a, 0),
			 -EINVAL);
	/* address range beyond userspace */
	assert_int_equal(SLOT(1, 1 * KT_MIB, KT_PAGE, 0xffff800000000000ULL, 0),
			 -EINVAL);
	/* unknown flag */
	assert_int_equal(SLOT(1, 1 * KT_MIB, KT_PAGE, a, 1U << 7), -EINVAL);
	/* overlapping GPA (slot 0 covers [0, 64 pages)) and a taken id */
	assert_int_equal(SLOT(1, 63 * KT_PAGE, 2 * KT_PAGE, a, 0), -EEXIST);
	assert_int_equal(SLOT(0, 1 * KT_MIB, KT_PAGE, a, 0), -EEXIST);
	/* unmapped and read-only host memory */
	assert_int_equal(SLOT(1, 1 * KT_MIB, 3 * KT_PAGE, hole, 0), -EFAULT);
	assert_int_equal(SLOT(1, 1 * KT_MIB, 4 * KT_PAGE, ro, 0), -EFAULT);
#undef SLOT
	/* reserved fields */
	memset(&m, 0, sizeof(m));
	m.slot = 1;
	m.gpa = 1 * KT_MIB;
	m.size = KT_PAGE;
	m.uaddr = (uintptr_t)a;
	m.reserved[0] = 1;
	assert_int_equal(raw_memslot(vm.fd, CVM_SET_MEMSLOT, &m), -EINVAL);
	m.reserved[0] = 0;
	m.pad = 1;
	assert_int_equal(raw_memslot(vm.fd, CVM_SET_MEMSLOT, &m), -EINVAL);
	m.pad = 0;
	/* fault-around: a run without the flag, not a power of two, too small
	 * or too large, or with upfront pinning */
	m.fault_around = 16;
	assert_int_equal(raw_memslot(vm.fd, CVM_SET_MEMSLOT, &m), -EINVAL);
	m.flags = CVM_MEMSLOT_FAULT_AROUND;
	m.fault_around = 12;
	assert_int_equal(raw_memslot(vm.fd, CVM_SET_MEMSLOT, &m), -EINVAL);
	m.fault_around = 1;
	assert_int_equal(raw_memslot(vm.fd, CVM_SET_MEMSLOT, &m), -EINVAL);
	m.fault_around = 0;
	assert_int_equal(raw_memslot(vm.fd, CVM_SET_MEMSLOT, &m), -EINVAL);
	m.fault_around = CVM_FAULT_AROUND_MAX * 2;
	assert_int_equal(raw_memslot(vm.fd, CVM_SET_MEMSLOT, &m), -EINVAL);
	m.fault_around = 16;
	m.flags |= CVM_MEMSLOT_UPFRONT;
	assert_int_equal(raw_memslot(vm.fd, CVM_SET_MEMSLOT, &m), -EINVAL);
	m.flags = 0;
	m.fault_around = 0;
	assert_int_equal(raw_memslot(vm.fd, CVM_SET_MEMSLOT, NULL), -EFAULT);
	/* delete: unknown id; fields other than the id set */
	assert_int_equal(cvm_dev_delete_memslot(vm.fd, 7), -ENOENT);
	memset(&m, 0, sizeof(m));
	m.gpa = KT_PAGE;
	assert_int_equal(raw_memslot(vm.fd, CVM_DELETE_MEMSLOT, &m), -EINVAL);
	m.gpa = 0;
	m.fault_around = 16;
	assert_int_equal(raw_memslot(vm.fd, CVM_DELETE_MEMSLOT, &m), -EINVAL);
	after = kt_stats(vm.fd);
	assert_same(&before, &after);
	/* a second, disjoint slot is fine; then slot creation in a started VM */
	assert_int_equal(cvm_dev_set_memslot(vm.fd, 1, 1 * KT_MIB, KT_PAGE,
					     hole, 0), 0);
	assert_int_equal(kt_stats(vm.fd).nr_memslots, 2);
	assert_int_equal(cvm_dev_lifecycle(vm.fd, CVM_VM_OP_INIT_START), 0);
	assert_int_equal(cvm_dev_set_memslot(vm.fd, 2, 2 * KT_MIB, KT_PAGE,
					     hole, 0), -EBADFD);
	assert_int_equal(kt_stats(vm.fd).nr_memslots, 2);
	assert_int_equal(cvm_dev_delete_memslot(vm.fd, 1), 0);
	assert_int_equal(kt_stats(vm.fd).nr_memslots, 1);
	munmap(ro, 4 * KT_PAGE);
	munmap(hole, 4 * KT_PAGE);
	kt_vm_free(&vm);
}

static int raw_access(int fd, uint64_t gpa, void *buf, uint32_t len,
		      uint32_t flags, uint64_t reserved)
{
	struct cvm_guest_access a = {
		.gpa = gpa, .uaddr = (uintptr_t)buf, .len = len, .flags = flags,
	};

	a.reserved[0] = reserved;
	return ioctl(fd, CVM_GUEST_ACCESS, &a) < 0 ? -errno : 0;
}

static void test_access_bad(void **state)
{
	struct cvm_vm_stats before, after;
	static uint8_t buf[2 * 4096];
	struct kt_vm vm;

	(void)state;
	assert_int_equal(kt_vm_new(&vm, 16 * KT_PAGE, 0, 0), 0);
	before = kt_stats(vm.fd);
	assert_int_equal(raw_access(vm.fd, 16 * KT_PAGE, buf, 1, 0, 0), -ERANGE);
	assert_int_equal(raw_access(vm.fd, 15 * KT_PAGE + 1, buf, KT_PAGE,
				    CVM_ACCESS_WRITE, 0), -ERANGE);
	assert_int_equal(raw_access(vm.fd, UINT64_MAX, buf, 2, 0, 0), -ERANGE);
	assert_int_equal(raw_access(vm.fd, 0, buf, 0, 0, 0), -EINVAL);
	assert_int_equal(raw_access(vm.fd, 0, buf, CVM_ACCESS_MAX + 1, 0, 0),
			 -EINVAL);
	assert_int_equal(raw_access(vm.fd, 0, buf, 1, 1U << 5, 0), -EINVAL);
	assert_int_equal(raw_access(vm.fd, 0, buf, 1, 0, 1), -EINVAL);
	/* a bad buffer: nothing pinned, nothing written */
	assert_int_equal(raw_access(vm.fd, 0, (void *)8, 64, CVM_ACCESS_WRITE,
				    0), -EFAULT);
	after = kt_stats(vm.fd);
	assert_same(&before, &after);
	assert_int_equal(after.pinned_pages, 0);
	/* an access across a page boundary works and pins both pages */
	memset(buf, 0x5a, sizeof(buf));
	assert_int_equal(cvm_dev_guest_write(vm.fd, KT_PAGE - 3, buf, 6), 0);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(cvm_dev_guest_read(vm.fd, KT_PAGE - 4, buf, 8), 0);
	assert_memory_equal(buf, "\0\x5a\x5a\x5a\x5a\x5a\x5a\0", 8);
	assert_int_equal(kt_stats(vm.fd).pinned_pages, 2);
	/* and the host mapping holds those bytes (no secure memory yet) */
	assert_int_equal(vm.mem[KT_PAGE], 0x5a);
	kt_vm_free(&vm);
}

static int raw_page_op(int fd, unsigned long cmd, uint64_t gpa, uint64_t n,
		       uint32_t flags, uint32_t shift, uint64_t reserved)
{
	struct cvm_page_op op = {
		.gpa = gpa, .nr_pages = n, .flags = flags, .page_shift = shift,
	};

	op.reserved[1] = reserved;
	return ioctl(fd, cmd, &op) < 0 ? -errno : 0;
}

static void test_page_op_bad(void **state)
{
	struct cvm_vm_stats before, after;
	struct kt_vm vm;

	(void)state;
	assert_int_equal(kt_vm_new(&vm, 16 * KT_PAGE, 0, 0), 0);
	assert_int_equal(cvm_dev_lifecycle(vm.fd, CVM_VM_OP_INIT_START), 0);
	before = kt_stats(vm.fd);
	assert_int_equal(raw_page_op(vm.fd, CVM_PAGE_IN, 1, 1, 0, 0, 0), -EINVAL);
	assert_int_equal(raw_page_op(vm.fd, CVM_PAGE_IN, 0, 1, 0, 21, 0),
			 -EINVAL);
	assert_int_equal(raw_page_op(vm.fd, CVM_PAGE_IN, 0, 1, 1U << 4, 0, 0),
			 -EINVAL);
	assert_int_equal(raw_page_op(vm.fd, CVM_PAGE_IN, 0, 2, 0, 0, 0), -EINVAL);
	assert_int_equal(raw_page_op(vm.fd, CVM_PAGE_OUT, 0, 1,
				     CVM_PAGE_SHARED, 0, 0), -EINVAL);
	assert_int_equal(raw_page_op(vm.fd, CVM_SHARE, 0, 1, CVM_PAGE_SHARED, 0,
				     0), -EINVAL);
	assert_int_equal(raw_page_op(vm.fd, CVM_UNSHARE, 0, 1, 0, 0, 9), -EINVAL);
	assert_int_equal(raw_page_op(vm.fd, CVM_PAGE_IN, 16 * KT_PAGE, 1, 0, 0,
				     0), -ERANGE);
	assert_int_equal(raw_page_op(vm.fd, CVM_SHARE, 0, UINT64_MAX, 0, 0, 0),
			 -ERANGE);
	/* the kernel's own page shift is accepted explicitly */
	assert_int_equal(raw_page_op(vm.fd, CVM_PAGE_IN, 0, 1, 0, 12, 0), 0);
	assert_int_equal(cvm_dev_page_out(vm.fd, 0), 0);
	after = kt_stats(vm.fd);
	assert_int_equal(after.secure_pages, before.secure_pages + 1);
	kt_vm_free(&vm);
}

/*
 * A range of 2^32 GFNs or more inside a memslot that large: E2BIG after
 * the range check, before any bitmap (bitmap_zalloc() takes 32-bit sizes:
 * a larger range used to get a bitmap of its low bits and write past it).
 */
static void test_page_op_too_big(void **state)
{
	const uint64_t npages = (1ULL << 32) + 2;
	struct cvm_vm_stats st;
	struct kt_vm vm;
	int ret;

	(void)state;
	ret = kt_vm_new(&vm, npages * KT_PAGE, 0, 0);
	if (ret == -ENOMEM) {
		print_message("no room for a 16 TiB memslot here: skipped\n");
		skip();
	}
	assert_int_equal(ret, 0);
	assert_int_equal(
	    raw_page_op(vm.fd, CVM_DMA_SHARE, 0, 1ULL << 32, 0, 0, 0), -E2BIG);
	assert_int_equal(raw_page_op(vm.fd, CVM_DMA_SHARE, KT_PAGE,
				     (1ULL << 32) + 1, 0, 0, 0),
			 -E2BIG);
	assert_int_equal(raw_page_op(vm.fd, CVM_DMA_SHARE, 2 * KT_PAGE,
				     (1ULL << 32) + 1, 0, 0, 0),
			 -ERANGE);
	assert_int_equal(cvm_dev_lifecycle(vm.fd, CVM_VM_OP_INIT_START), 0);
	assert_int_equal(
	    raw_page_op(vm.fd, CVM_UNSHARE, 0, 1ULL << 32, 0, 0, 0), -E2BIG);
	assert_int_equal(raw_page_op(vm.fd, CVM_SHARE, 0, npages, 0, 0, 0),
			 -E2BIG);
	st = kt_stats(vm.fd);
	assert_int_equal(st.normal_pages, npages);
	assert_int_equal(st.pinned_pages, 0);
	assert_int_equal(st.dma_shared_pages, 0);
	kt_vm_free(&vm);
}

/*
 * The documented bounds of CVM_SET_MEMSLOT: CVM_MAX_MEMSLOTS slots per VM
 * (ENOSPC past it, nothing changed), CVM_MAX_MEMSLOT_SIZE bytes per slot
 * (E2BIG one page past it, accepted at it).
 */
static void test_memslot_bounds(void **state)
{
	const size_t n = CVM_MAX_MEMSLOTS;
	const uint64_t max = CVM_MAX_MEMSLOT_SIZE;
	struct cvm_vm_stats st;
	uint8_t *mem, *huge;
	int fd;
	size_t i;

	(void)state;
	mem = mmap(NULL, (n + 1) * KT_PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(mem != MAP_FAILED);
	assert_int_equal(cvm_dev_create_vm(kt_dev_fd, 0, &fd), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(cvm_dev_set_memslot(fd, i, i * KT_PAGE,
						     KT_PAGE, mem + i * KT_PAGE,
						     0),
				 0);
	assert_int_equal(cvm_dev_set_memslot(fd, n, n * KT_PAGE, KT_PAGE,
					     mem + n * KT_PAGE, 0),
			 -ENOSPC);
	st = kt_stats(fd);
	assert_int_equal(st.nr_memslots, n);
	assert_int_equal(st.normal_pages, n);
	/* a slot deleted makes room again */
	assert_int_equal(cvm_dev_delete_memslot(fd, 7), 0);
	assert_int_equal(cvm_dev_set_memslot(fd, n, n * KT_PAGE, KT_PAGE,
					     mem + n * KT_PAGE, 0),
			 0);
	close(fd);
	munmap(mem, (n + 1) * KT_PAGE);

	huge = mmap(NULL, max + KT_PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (huge == MAP_FAILED) {
		print_message("no room for a 64 TiB mapping here: skipped\n");
		skip();
	}
	assert_int_equal(cvm_dev_create_vm(kt_dev_fd, 0, &fd), 0);
	assert_int_equal(cvm_dev_set_memslot(fd, 0, 0, max + KT_PAGE, huge, 0),
			 -E2BIG);
	assert_int_equal(kt_stats(fd).nr_memslots, 0);
	assert_int_equal(cvm_dev_set_memslot(fd, 0, 0, max, huge, 0), 0);
	assert_int_equal(kt_stats(fd).normal_pages, max / KT_PAGE);
	close(fd);
	munmap(huge, max + KT_PAGE);
}

static void test_create_bad(void **state)
{
	struct cvm_create_vm c;
	struct cvm_info before = kt_info(), after;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.flags = 1;
	assert_int_equal(ioctl(kt_dev_fd, CVM_CREATE_VM, &c), -1);
	assert_int_equal(errno, EINVAL);
	memset(&c, 0, sizeof(c));
	c.pad = 1;
	assert_int_equal(ioctl(kt_dev_fd, CVM_CREATE_VM, &c), -1);
	assert_int_equal(errno, EINVAL);
	memset(&c, 0, sizeof(c));
	c.reserved[3] = 1;
	assert_int_equal(ioctl(kt_dev_fd, CVM_CREATE_VM, &c), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(ioctl(kt_dev_fd, CVM_CREATE_VM, NULL), -1);
	assert_int_equal(errno, EFAULT);
	after = kt_info();
	assert_int_equal(before.nr_vms, after.nr_vms);
}

static void test_version_and_extensions(void **state)
{
	(void)state;
	assert_int_equal(cvm_dev_api_version(kt_dev_fd), CVM_API_VERSION);
	assert_int_equal(cvm_dev_check_extension(kt_dev_fd, CVM_CAP_DEMAND_PIN), 1);
	assert_int_equal(cvm_dev_check_extension(kt_dev_fd, CVM_CAP_UPFRONT_PIN), 1);
	assert_int_equal(cvm_dev_check_extension(kt_dev_fd, CVM_CAP_VM_PIN_LIMIT), 1);
	assert_int_equal(cvm_dev_check_extension(kt_dev_fd, CVM_CAP_PAGE_STATE), 1);
	assert_int_equal(cvm_dev_check_extension(kt_dev_fd, 0), 0);
	assert_int_equal(cvm_dev_check_extension(kt_dev_fd, 9999), 0);
	assert_int_equal(kt_info().api_version, CVM_API_VERSION);
}

/* Device ioctls on a VM fd, VM ioctls on /dev/cvm or on another file. */
static void test_wrong_fd_type(void **state)
{
	struct cvm_vm_stats st;
	struct kt_vm vm;
	int null_fd;

	(void)state;
	assert_int_equal(kt_vm_new(&vm, KT_PAGE, 0, 0), 0);
	assert_int_equal(cvm_dev_api_version(vm.fd), -ENOTTY);
	assert_int_equal(cvm_dev_create_vm(vm.fd, 0, &null_fd), -ENOTTY);
	assert_int_equal(cvm_dev_lifecycle(kt_dev_fd, CVM_VM_OP_INIT_START),
			 -ENOTTY);
	assert_int_equal(cvm_dev_stats(kt_dev_fd, &st), -ENOTTY);
	assert_int_equal(ioctl(vm.fd, _IO(CVMIO, 0x7f)), -1);
	assert_int_equal(errno, ENOTTY);
	null_fd = open("/dev/null", O_RDWR);
	assert_true(null_fd >= 0);
	assert_int_equal(cvm_dev_lifecycle(null_fd, CVM_VM_OP_INIT_START),
			 -ENOTTY);
	close(null_fd);
	/* an argument given to an argument-less ioctl */
	assert_int_equal(ioctl(vm.fd, CVM_INIT_START, 1UL), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(kt_stats(vm.fd).state, CVM_VM_NORMAL);
	kt_vm_free(&vm);
}

/* A child that inherited the VM fd is not its owner. */
static int owner_fd;
static void child_not_owner(void *arg)
{
	uint8_t b = 1;

	(void)arg;
	KT_CHECK(cvm_dev_lifecycle(owner_fd, CVM_VM_OP_INIT_START) == -EIO);
	KT_CHECK(cvm_dev_guest_write(owner_fd, 0, &b, 1) == -EIO);
	KT_CHECK(cvm_dev_delete_memslot(owner_fd, 0) == -EIO);
	/* reading the counters is allowed */
	KT_CHECK(kt_stats(owner_fd).nr_pages == 1);
}

static void test_not_owner(void **state)
{
	struct kt_vm vm;

	(void)state;
	assert_int_equal(kt_vm_new(&vm, KT_PAGE, 0, 0), 0);
	owner_fd = vm.fd;
	assert_int_equal(kt_in_child(child_not_owner, NULL), 0);
	assert_int_equal(kt_stats(vm.fd).state, CVM_VM_NORMAL);
	assert_int_equal(kt_stats(vm.fd).pinned_pages, 0);
	assert_int_equal(kt_stats(vm.fd).nr_memslots, 1);
	kt_vm_free(&vm);
}

int kt_run_input(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_and_extensions),
		cmocka_unit_test(test_create_bad),
		cmocka_unit_test(test_memslot_bad),
		cmocka_unit_test(test_access_bad),
		cmocka_unit_test(test_page_op_bad),
		cmocka_unit_test(test_page_op_too_big),
		cmocka_unit_test(test_memslot_bounds),
		cmocka_unit_test(test_wrong_fd_type),
		cmocka_unit_test(test_not_owner),
	};

	return cmocka_run_group_tests_name("input", tests, NULL, NULL);
}
