// SPDX-License-Identifier: GPL-2.0
/*
 * test-sim.c - the sim backend (daemon/vmm/sim): first the table tests
 * written once in tests/table (the same source cvm-ktest runs against
 * cvm.ko), then what is about the simulator's own mechanisms: argument
 * errors at the backend API, ownership, pool exhaustion and eviction
 * order, the pool's zeroing, the sealing format, bitmap walks, range
 * rollbacks through the test hook, pin limits with real mlock()
 * accounting (VmLck), measurement sources, random operations from threads.
 *
 * Expected values are written out from docs/uapi.md, not from the code.
 * RLIMIT_MEMLOCK may be as low as 8 MiB here: every test keeps its pins to
 * a few hundred KiB (the upfront test: 1 MiB) and gives them back.
 */
#include <errno.h>
#include <linux/capability.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/evp.h>

#include "sim-internal.h"
#include "table.h"

static const struct cvm_backend_ops *const sim = &cvm_backend_sim;

static int drop_ipc_lock(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	data[CAP_TO_INDEX(CAP_IPC_LOCK)].effective &= ~CAP_TO_MASK(CAP_IPC_LOCK);
	if (syscall(SYS_capset, &hdr, data))
		return -errno;
	return 0;
}

static int set_memlock(size_t bytes)
{
	struct rlimit rl = { .rlim_cur = bytes, .rlim_max = bytes };

	return setrlimit(RLIMIT_MEMLOCK, &rl) ? -errno : 0;
}

/*
 * Run fn in a forked child; returns its exit status (0: all its
 * CHILD_CHECKs held), or -1 when it died of a signal. cmocka's asserts
 * must not be used in the child.
 */
static int in_child(void (*fn)(void *), void *arg)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		fn(arg);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#define CHILD_CHECK(cond)                                                   \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "child check failed %s:%d: %s\n",   \
				__FILE__, __LINE__, #cond);                 \
			_exit(__LINE__ % 250 + 1);                          \
		}                                                           \
	} while (0)

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * INIT_DONE and TERMINATE cost O(touched pages): on a 1 TiB VM with three
 * touched pages they neither take long nor grow the process.
 */
static void test_init_done_touched_only(void **state)
{
	const uint64_t npages = (1ULL << 40) / PG;
	uint8_t b = 0xff;
	double t0, t_done, t_term;
	long rss0, rss1;
	struct cvm_vm_stats st;
	struct tvm vm;
	int ret;

	(void)state;
	ret = tvm_new_cfg(&vm, npages * PG, 0, false, 0);
	if (ret == -ENOMEM) {
		print_message("no room for a 1 TiB mapping here: skipped\n");
		skip();
	}
	assert_int_equal(ret, 0);
	assert_int_equal(touch(&vm, 0, 2), 0);
	assert_int_equal(touch(&vm, npages - 1, 1), 0);
	assert_int_equal(lc(&vm, CVM_VM_OP_INIT_START), 0);
	assert_int_equal(page_in(&vm, 0), 0);

	rss0 = status_kb("VmRSS");
	t0 = now_s();
	assert_int_equal(lc(&vm, CVM_VM_OP_INIT_DONE), 0);
	t_done = now_s() - t0;
	rss1 = status_kb("VmRSS");
	st = stats(&vm);
	assert_int_equal(st.secure_pages, npages);
	assert_int_equal(st.normal_pages, 0);
	assert_int_equal(st.pool_pages, 3);
	assert_int_equal(measurement(&vm).nr_pages, 3);
	/* an untouched page far away reads as zeros */
	assert_int_equal(gread(&vm, (npages / 2) * PG, &b, 1), 0);
	assert_int_equal(b, 0);

	t0 = now_s();
	assert_int_equal(lc(&vm, CVM_VM_OP_TERMINATE), 0);
	t_term = now_s() - t0;
	assert_int_equal(stats(&vm).normal_pages, npages);
	print_message("1 TiB VM: INIT_DONE %.3f ms, TERMINATE %.3f ms, "
		      "RSS +%ld kB\n", t_done * 1e3, t_term * 1e3, rss1 - rss0);
	/* 2^28 GFNs: a per-GFN walk takes far longer and writes far more */
	assert_true(t_done < 0.2);
	assert_true(t_term < 0.2);
	assert_true(rss1 - rss0 < 8 * 1024);
	tvm_free(&vm);
}

/*
 * A range of 2^32 GFNs or more inside a VM that large: refused as too big
 * (E2BIG) after the range check, before any per-GFN walk or bitmap (the
 * kernel's bitmaps take 32-bit sizes); nothing changes.
 */
static void test_range_too_big(void **state)
{
	const uint64_t npages = (1ULL << 32) + 2;
	struct cvm_vm_stats st;
	struct tvm vm;
	int ret;

	(void)state;
	ret = tvm_new_cfg(&vm, npages * PG, 0, false, 0);
	if (ret == -ENOMEM) {
		print_message("no room for a 16 TiB mapping here: skipped\n");
		skip();
	}
	assert_int_equal(ret, 0);
	assert_int_equal(dma_share(&vm, 0, 1ULL << 32), -E2BIG);
	assert_int_equal(dma_share(&vm, 1, (1ULL << 32) + 1), -E2BIG);
	assert_int_equal(dma_share(&vm, 2, (1ULL << 32) + 1), -ERANGE);
	assert_int_equal(lc(&vm, CVM_VM_OP_INIT_START), 0);
	assert_int_equal(sim->page_op(vm.b, CVM_PAGE_OP_UNSHARE, 0, 1ULL << 32),
			 -E2BIG);
	assert_int_equal(sim->page_op(vm.b, CVM_PAGE_OP_SHARE, PG, npages),
			 -ERANGE);
	assert_int_equal(sim->page_op(vm.b, CVM_PAGE_OP_SHARE, 0,
				      (1ULL << 32) - 1 + (1ULL << 63)),
			 -ERANGE);
	st = stats(&vm);
	assert_int_equal(st.normal_pages, npages);
	assert_int_equal(st.pinned_pages, 0);
	assert_int_equal(st.dma_shared_pages, 0);
	tvm_free(&vm);
}

/* ---- argument errors ---------------------------------------------------- */

static void test_page_op_bad(void **state)
{
	struct cvm_vm_stats before, after;
	struct tvm vm;

	(void)state;
	tvm_new(&vm, 16);
	/* bad arguments are refused before "not started" */
	assert_int_equal(sim->page_op(vm.b, CVM_PAGE_OP_SHARE, 1, 1), -EINVAL);
	assert_int_equal(lc(&vm, CVM_VM_OP_INIT_START), 0);
	before = stats(&vm);
	assert_int_equal(sim->page_op(vm.b, CVM_PAGE_OP_IN, 1, 1), -EINVAL);
	assert_int_equal(sim->page_op(vm.b, CVM_PAGE_OP_IN, PG + 8, 1),
			 -EINVAL);
	assert_int_equal(sim->page_op(vm.b, CVM_PAGE_OP_IN, 0, 2), -EINVAL);
	assert_int_equal(sim->page_op(vm.b, CVM_PAGE_OP_IN_SHARED, 0, 2),
			 -EINVAL);
	assert_int_equal(sim->page_op(vm.b, CVM_PAGE_OP_OUT, 0, 3), -EINVAL);
	assert_int_equal(sim->page_op(vm.b, CVM_PAGE_OP_UNSHARE, 100, 1),
			 -EINVAL);
	assert_int_equal(sim->page_op(vm.b, CVM_PAGE_OP_DMA_SHARE, 2048, 1),
			 -EINVAL);
	assert_int_equal(sim->page_op(vm.b, 99, 0, 1), -EINVAL);
	/* outside the memory, including a range that wraps */
	assert_int_equal(page_in(&vm, 16), -ERANGE);
	assert_int_equal(share_pages(&vm, 15, 2), -ERANGE);
	assert_int_equal(share_pages(&vm, 0, UINT64_MAX), -ERANGE);
	assert_int_equal(share_pages(&vm, 1, UINT64_MAX), -ERANGE);
	assert_int_equal(sim->page_op(vm.b, CVM_PAGE_OP_SHARE,
				      UINT64_MAX & ~(PG - 1), 1), -ERANGE);
	assert_int_equal(dma_share(&vm, 0, 17), -ERANGE);
	assert_int_equal(dma_unshare(&vm, 16, 1), -ERANGE);
	after = stats(&vm);
	assert_same(&before, &after);
	/* and the same calls, well formed, work */
	assert_int_equal(page_in(&vm, 0), 0);
	assert_int_equal(page_out(&vm, 0), 0);
	assert_int_equal(stats(&vm).secure_paged_out, 1);
	tvm_free(&vm);
}

static void test_access_bad(void **state)
{
	struct cvm_vm_stats before, after;
	static uint8_t buf[2 * PG];
	struct tvm vm;

	(void)state;
	tvm_new(&vm, 16);
	before = stats(&vm);
	assert_int_equal(gread(&vm, 16 * PG, buf, 1), -ERANGE);
	assert_int_equal(gwrite(&vm, 15 * PG + 1, buf, PG), -ERANGE);
	assert_int_equal(gread(&vm, UINT64_MAX, buf, 2), -ERANGE);
	assert_int_equal(gread(&vm, 0, buf, 0), -EINVAL);
	assert_int_equal(gread(&vm, 0, buf, CVM_ACCESS_MAX + 1), -EINVAL);
	/* a bad buffer: nothing pinned, nothing written */
	assert_int_equal(gwrite(&vm, 0, NULL, 64), -EFAULT);
	after = stats(&vm);
	assert_same(&before, &after);
	assert_int_equal(after.pinned_pages, 0);
	/* an access across a page boundary works and pins both pages */
	memset(buf, 0x5a, sizeof(buf));
	assert_int_equal(gwrite(&vm, PG - 3, buf, 6), 0);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(gread(&vm, PG - 4, buf, 8), 0);
	assert_memory_equal(buf, "\0\x5a\x5a\x5a\x5a\x5a\x5a\0", 8);
	assert_int_equal(stats(&vm).pinned_pages, 2);
	/* and the host mapping holds those bytes (no secure memory yet) */
	assert_int_equal(vm.mem[PG], 0x5a);
	assert_int_equal(vm.mem[PG - 4], 0);
	tvm_free(&vm);
}

/* The largest access, CVM_ACCESS_MAX bytes, unaligned: 257 pages. */
static void test_access_max(void **state)
{
	uint8_t *big = malloc(CVM_ACCESS_MAX), *back = malloc(CVM_ACCESS_MAX);
	struct tvm vm;
	size_t i;

	(void)state;
	assert_non_null(big);
	assert_non_null(back);
	for (i = 0; i < CVM_ACCESS_MAX; i++)
		big[i] = (uint8_t)(i * 13 + (i >> 12));
	tvm_new(&vm, 512);
	assert_int_equal(gwrite(&vm, 100, big, CVM_ACCESS_MAX), 0);
	assert_int_equal(stats(&vm).pinned_pages, 257);
	assert_memory_equal(vm.mem + 100, big, CVM_ACCESS_MAX);
	assert_int_equal(gread(&vm, 100, back, CVM_ACCESS_MAX), 0);
	assert_memory_equal(back, big, CVM_ACCESS_MAX);
	tvm_free(&vm);
	free(big);
	free(back);
}

static int create_raw(void *mem, uint64_t size, uint64_t pool,
		      struct cvm_backend **ret)
{
	struct cvm_backend_config cfg = {
		.memory_bytes = size,
		.mem = mem,
		.sim_pool_pages = pool,
	};

	return sim->create(&cfg, ret);
}

static void test_create_bad(void **state)
{
	struct cvm_backend *b = (struct cvm_backend *)1;
	long lck = status_kb("VmLck");
	uint8_t *rw, *ro, *hole;

	(void)state;
	rw = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ro = mmap(NULL, 4 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	hole = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(rw != MAP_FAILED && ro != MAP_FAILED && hole != MAP_FAILED);
	assert_int_equal(munmap(hole + PG, PG), 0);

	assert_int_equal(sim->create(NULL, &b), -EINVAL);
	assert_int_equal(create_raw(rw, 0, 0, &b), -EINVAL);
	assert_int_equal(create_raw(rw, PG + 1, 0, &b), -EINVAL);
	assert_int_equal(create_raw(rw + 1, PG, 0, &b), -EINVAL);
	assert_int_equal(create_raw((void *)(UINTPTR_MAX & ~(PG - 1)), 2 * PG,
				    0, &b), -EINVAL);
	assert_int_equal(create_raw(rw, PG, 1ULL << 32, &b), -EINVAL);
	/* one page over the documented memslot maximum (64 TiB): E2BIG */
	assert_int_equal(
	    create_raw((void *)(1UL << 20), CVM_MAX_MEMSLOT_SIZE + PG, 0, &b),
	    -E2BIG);
	/* not mapped, or not writable: the module's -EFAULT */
	assert_int_equal(create_raw(NULL, PG, 0, &b), -EFAULT);
	assert_int_equal(create_raw(hole, 3 * PG, 0, &b), -EFAULT);
	assert_int_equal(create_raw(ro, 4 * PG, 0, &b), -EFAULT);
	assert_ptr_equal(b, (struct cvm_backend *)1);
	/* the good one, and destroy's contract */
	assert_int_equal(create_raw(hole, PG, 0, &b), 0);
	assert_non_null(b);
	assert_null(sim->destroy(b));
	assert_null(sim->destroy(NULL));
	assert_int_equal(status_kb("VmLck"), lck);
	munmap(rw, 4 * PG);
	munmap(ro, 4 * PG);
	munmap(hole, 4 * PG);
}

/* A process other than the creator gets -EIO, except for the counters. */
static struct tvm *owner_vm;
static void child_not_owner(void *arg)
{
	struct cvm_measurement m;
	struct cvm_vm_stats st;
	struct cvm_gfn_run e[4];
	struct cvm_info in;
	uint32_t n;
	uint8_t b = 1;

	(void)arg;
	CHILD_CHECK(sim->lifecycle(owner_vm->b, CVM_VM_OP_INIT_START) == -EIO);
	CHILD_CHECK(sim->page_op(owner_vm->b, CVM_PAGE_OP_DMA_SHARE, 0, 1) ==
		    -EIO);
	CHILD_CHECK(sim->guest_access(owner_vm->b, 0, &b, 1, true) == -EIO);
	CHILD_CHECK(sim->guest_access(owner_vm->b, 0, &b, 1, false) == -EIO);
	CHILD_CHECK(sim->snapshot(owner_vm->b, e, 4, &n) == -EIO);
	CHILD_CHECK(sim->stats(owner_vm->b, &st) == 0 && st.nr_pages == 4);
	CHILD_CHECK(sim->measurement(owner_vm->b, &m) == 0);
	CHILD_CHECK(sim->info(owner_vm->b, &in) == 0 && in.nr_vms == 1);
}

static void test_not_owner(void **state)
{
	struct tvm vm;

	(void)state;
	tvm_new(&vm, 4);
	owner_vm = &vm;
	assert_int_equal(in_child(child_not_owner, NULL), 0);
	assert_int_equal(stats(&vm).state, CVM_VM_NORMAL);
	assert_int_equal(stats(&vm).pinned_pages, 0);
	assert_int_equal(stats(&vm).dma_shared_pages, 0);
	assert_int_equal(lc(&vm, CVM_VM_OP_INIT_START), 0);
	tvm_free(&vm);
}

/* ---- the confidentiality table, row by row ----------------------------- */

/*
 * Untouched secure GFNs (after INIT_DONE) read as zeros whatever the host
 * wrote there, and get a zeroed pool page and a pin on first access.
 */
static void test_view_secure_untouched(void **state)
{
	struct tt_gfn e[8];
	struct cvm_vm_stats st;
	struct tvm vm;

	(void)state;
	tvm_new(&vm, 8);
	drive_vm(&vm, CVM_VM_SECURE);
	st = stats(&vm);
	assert_int_equal(st.pinned_pages, 0);
	assert_int_equal(st.pool_pages, 0);
	/* bytes the host wrote without going through cvm never reach it */
	memset(vm.mem + 3 * PG, 0x77, PG);
	assert_true(all_zero(guest_view(&vm, 3), PG));
	st = stats(&vm);
	assert_int_equal(st.pinned_pages, 1);
	assert_int_equal(st.pool_pages, 1);
	assert_int_equal(st.measured_pages, 0);
	get_snapshot(&vm, e, 8);
	assert_int_equal(e[3].flags, CVM_GFN_RESIDENT | CVM_GFN_PINNED);
	assert_int_equal(e[4].flags, 0);
	assert_int_equal(e[4].state, CVM_GFN_STATE_SECURE);
	/* page-out of a never-touched GFN seals zeros into its host page */
	memset(vm.mem + 5 * PG, 0x55, PG);
	assert_int_equal(page_out(&vm, 5), 0);
	assert_false(all_zero(host_view(&vm, 5), PG));
	assert_int_equal(host_view(&vm, 5)[0] == 0x55 &&
			 host_view(&vm, 5)[1] == 0x55, 0);
	assert_true(all_zero(guest_view(&vm, 5), PG));
	assert_true(all_zero(host_view(&vm, 5), PG));
	tvm_free(&vm);
}

/* ---- content rules ------------------------------------------------------ */

/* shared -> secure by page-in keeps the data; the host copy is scrubbed. */
static void test_page_in_from_shared_keeps_data(void **state)
{
	struct tvm vm;

	(void)state;
	start_with_pattern(&vm, 4, 1, 11);
	assert_int_equal(share_pages(&vm, 1, 1), 0);
	assert_memory_equal(host_view(&vm, 1), pattern, PG);
	assert_int_equal(page_in(&vm, 1), 0);
	assert_true(all_zero(host_view(&vm, 1), PG));
	assert_memory_equal(guest_view(&vm, 1), pattern, PG);
	/* page-in with the shared flag of a secure page discards it */
	assert_int_equal(page_in_shared(&vm, 1), 0);
	assert_true(all_zero(guest_view(&vm, 1), PG));
	assert_int_equal(stats(&vm).pool_pages, 0);
	tvm_free(&vm);
}

/* Destruction discards too: paged-out ciphertext is zeroed, pins go. */
static void test_destroy_discards(void **state)
{
	long lck = status_kb("VmLck");
	struct tvm vm;
	uint8_t *mem;

	(void)state;
	start_with_pattern(&vm, 4, 2, 12);
	assert_int_equal(page_in(&vm, 2), 0);
	assert_int_equal(page_out(&vm, 2), 0);
	assert_int_equal(touch(&vm, 3, 1), 0);
	assert_false(all_zero(host_view(&vm, 2), PG));
	assert_int_equal(status_kb("VmLck"), lck + 2 * 4);
	mem = vm.mem;
	assert_null(sim->destroy(vm.b));
	assert_true(all_zero(mem + 2 * PG, PG));
	/* a normal page keeps what the guest wrote: it is the host's */
	assert_int_equal(mem[3 * PG], 4);
	assert_int_equal(status_kb("VmLck"), lck);
	munmap(mem, vm.size);
}

/* A freed pool page is zeroed: nothing of the contents stays there. */
static void test_pool_pages_zeroed_on_free(void **state)
{
	struct tvm vm;
	int i;

	(void)state;
	tvm_new_pool(&vm, 8, 4);
	assert_int_equal(lc(&vm, CVM_VM_OP_INIT_START), 0);
	fill_pattern(13);
	for (i = 0; i < 4; i++) {
		assert_int_equal(gwrite(&vm, i * PG, pattern, PG), 0);
		assert_int_equal(page_in(&vm, i), 0);
	}
	assert_false(all_zero(vm.b->pool_mem, 4 * PG));
	assert_int_equal(page_out(&vm, 0), 0);
	assert_int_equal(page_out(&vm, 1), 0);
	assert_int_equal(share_pages(&vm, 2, 1), 0);
	assert_int_equal(lc(&vm, CVM_VM_OP_TERMINATE), 0);
	assert_true(all_zero(vm.b->pool_mem, 4 * PG));
	tvm_free(&vm);
}

/* ---- the sparse structures ---------------------------------------------- */

/* Set bits come back in order, across words and summary words. */
static void test_bitmap_walk(void **state)
{
	static const uint64_t bits[] = {
		0, 1, 63, 64, 4095, 4096, 4097, 262143, 262144, 299999,
	};
	const size_t nr = sizeof(bits) / sizeof(bits[0]);
	struct cvm_os_bitmap bm;
	uint64_t bit;
	size_t i = 0;

	(void)state;
	assert_int_equal(cvm_os_bitmap_init(&bm, 300000), 0);
	assert_int_equal(cvm_os_bitmap_next(&bm, 0), 300000);
	for (i = nr; i--;)
		cvm_os_bitmap_set(&bm, bits[i]);
	i = 0;
	cvm_os_bitmap_for_each(bit, &bm) {
		assert_true(i < nr);
		assert_int_equal(bit, bits[i]);
		assert_true(cvm_os_bitmap_test(&bm, bit));
		i++;
	}
	assert_int_equal(i, nr);
	assert_false(cvm_os_bitmap_test(&bm, 2));
	assert_int_equal(cvm_os_bitmap_next(&bm, 65), 4095);
	/* a word, then a whole summary word, emptied: skipped */
	cvm_os_bitmap_clear(&bm, 4096);
	cvm_os_bitmap_clear(&bm, 4097);
	assert_int_equal(cvm_os_bitmap_next(&bm, 4096), 262143);
	cvm_os_bitmap_clear(&bm, 262143);
	cvm_os_bitmap_clear(&bm, 262144);
	assert_int_equal(cvm_os_bitmap_next(&bm, 4096), 299999);
	assert_int_equal(cvm_os_bitmap_next(&bm, 300000), 300000);
	cvm_os_bitmap_for_each(bit, &bm)
		cvm_os_bitmap_clear(&bm, bit);
	assert_int_equal(cvm_os_bitmap_next(&bm, 0), 300000);
	cvm_os_bitmap_fini(&bm);

	/* all of a size that ends inside a word and inside a summary word */
	assert_int_equal(cvm_os_bitmap_init(&bm, 4100), 0);
	cvm_os_bitmap_set_all(&bm);
	i = 0;
	cvm_os_bitmap_for_each(bit, &bm)
		assert_int_equal(bit, i++);
	assert_int_equal(i, 4100);
	cvm_os_bitmap_fini(&bm);
}

/* ---- sealing ------------------------------------------------------------ */

/* Independent AES-256-GCM with the documented nonce and associated data. */
static void ref_seal(const uint8_t *key, uint64_t gfn, uint64_t version,
		     const uint8_t *in, uint8_t *out, uint8_t *tag)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	uint8_t iv[12] = { 0 }, aad[16];
	int len, i;

	for (i = 0; i < 8; i++) {
		iv[i] = (uint8_t)(version >> (8 * i));
		aad[i] = (uint8_t)(gfn >> (8 * i));
		aad[8 + i] = (uint8_t)(version >> (8 * i));
	}
	assert_non_null(ctx);
	assert_int_equal(EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key,
					    iv), 1);
	assert_int_equal(EVP_EncryptUpdate(ctx, NULL, &len, aad, 16), 1);
	assert_int_equal(EVP_EncryptUpdate(ctx, out, &len, in, PG), 1);
	assert_int_equal(len, PG);
	assert_int_equal(EVP_EncryptFinal_ex(ctx, out + len, &len), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16,
					     tag), 1);
	EVP_CIPHER_CTX_free(ctx);
}

static void test_seal_format(void **state)
{
	static uint8_t out[PG], ref[PG], back[PG];
	uint8_t key[CVM_OS_AEAD_KEY_SIZE], tag[16], ref_tag[16];
	struct cvm_os_aead *aead;
	struct cvm_crypt *c;
	u64 version;
	int i;

	(void)state;
	for (i = 0; i < CVM_OS_AEAD_KEY_SIZE; i++)
		key[i] = (uint8_t)(i * 7 + 1);
	fill_pattern(21);
	assert_int_equal(cvm_os_aead_new_with_key(key, &aead), 0);
	assert_int_equal(cvm_crypt_new_with(aead, &c), 0);
	/* versions count from 1, one per seal */
	for (i = 1; i <= 2; i++) {
		assert_int_equal(cvm_crypt_seal(c, 5, cvm_os_upage(pattern),
						cvm_os_upage(out), &version,
						tag),
				 0);
		assert_int_equal(version, i);
		ref_seal(key, 5, i, pattern, ref, ref_tag);
		assert_memory_equal(out, ref, PG);
		assert_memory_equal(tag, ref_tag, 16);
	}
	assert_int_equal(
	    cvm_crypt_open(c, 5, 2, tag, cvm_os_upage(out), cvm_os_upage(back)),
	    0);
	assert_memory_equal(back, pattern, PG);
	/* another GFN, another version, another tag: refused */
	assert_int_equal(
	    cvm_crypt_open(c, 6, 2, tag, cvm_os_upage(out), cvm_os_upage(back)),
	    -EBADMSG);
	assert_int_equal(
	    cvm_crypt_open(c, 5, 1, tag, cvm_os_upage(out), cvm_os_upage(back)),
	    -EBADMSG);
	tag[3] ^= 1;
	assert_int_equal(
	    cvm_crypt_open(c, 5, 2, tag, cvm_os_upage(out), cvm_os_upage(back)),
	    -EBADMSG);
	tag[3] ^= 1;
	/* in place */
	memcpy(back, out, PG);
	assert_int_equal(cvm_crypt_open(c, 5, 2, tag, cvm_os_upage(back),
					cvm_os_upage(back)),
			 0);
	assert_memory_equal(back, pattern, PG);
	cvm_crypt_free(c);
	cvm_crypt_free(NULL);
}

/* The VM's seal counter: one per seal, across GFNs, never reused. */
static void test_seal_versions(void **state)
{
	struct tvm vm;

	(void)state;
	start_with_pattern(&vm, 4, 0, 14);
	assert_int_equal(page_in(&vm, 0), 0);
	assert_int_equal(page_in(&vm, 1), 0);
	assert_int_equal(page_out(&vm, 0), 0);
	assert_int_equal(cvm_spage(&vm.b->core, 0)->version, 1);
	assert_int_equal(page_out(&vm, 1), 0);
	assert_int_equal(cvm_spage(&vm.b->core, 1)->version, 2);
	assert_int_equal(page_in(&vm, 0), 0);
	assert_int_equal(page_out(&vm, 0), 0);
	assert_int_equal(cvm_spage(&vm.b->core, 0)->version, 3);
	tvm_free(&vm);
}

/* Two VMs in one process: own keys, own pools, own counters. */
static void test_two_vms_independent(void **state)
{
	struct tvm a, b;

	(void)state;
	fill_pattern(15);
	tvm_new_pool(&a, 4, 8);
	tvm_new_pool(&b, 4, 16);
	assert_int_equal(lc(&a, CVM_VM_OP_INIT_START), 0);
	assert_int_equal(lc(&b, CVM_VM_OP_INIT_START), 0);
	assert_int_equal(gwrite(&a, 0, pattern, PG), 0);
	assert_int_equal(gwrite(&b, 0, pattern, PG), 0);
	assert_int_equal(page_in(&a, 0), 0);
	assert_int_equal(page_in(&b, 0), 0);
	assert_int_equal(page_out(&a, 0), 0);
	assert_int_equal(page_out(&b, 0), 0);
	/* same bytes, same GFN, same version: different keys */
	assert_int_equal(cvm_spage(&a.b->core, 0)->version,
			 cvm_spage(&b.b->core, 0)->version);
	assert_memory_not_equal(a.mem, b.mem, PG);
	/* one VM's ciphertext in the other's page fails */
	memcpy(b.mem, a.mem, PG);
	assert_int_equal(page_in(&b, 0), -EBADMSG);
	assert_int_equal(page_in(&a, 0), 0);
	assert_int_equal(info(&a).pool_free_pages, 7);
	assert_int_equal(info(&b).pool_free_pages, 16);
	assert_int_equal(info(&b).pool_total_pages, 16);
	assert_int_equal(stats(&b).state, CVM_VM_TRANSIENT);
	assert_int_equal(lc(&a, CVM_VM_OP_TERMINATE), 0);
	assert_int_equal(stats(&b).secure_paged_out, 1);
	tvm_free(&a);
	tvm_free(&b);
}

/* An access stops at a page it can't make resident: bytes before it land. */
static void test_access_stops_at_bad_page(void **state)
{
	uint8_t buf[64];
	struct tvm vm;

	(void)state;
	start_with_pattern(&vm, 4, 1, 16);
	assert_int_equal(page_in(&vm, 1), 0);
	assert_int_equal(page_out(&vm, 1), 0);
	vm.mem[PG + 100] ^= 0x80;
	memset(buf, 0x3c, sizeof(buf));
	/* 32 bytes at the end of page 0, 32 into page 1 */
	assert_int_equal(gwrite(&vm, PG - 32, buf, 64), -EBADMSG);
	assert_memory_equal(vm.mem + PG - 32, buf, 32);
	assert_int_equal(stats(&vm).secure_paged_out, 1);
	/* a read that fails hands nothing over */
	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(gread(&vm, PG - 32, buf, 64), -EBADMSG);
	assert_int_equal(buf[0], 0xee);
	vm.mem[PG + 100] ^= 0x80;
	assert_int_equal(gread(&vm, PG - 32, buf, 64), 0);
	assert_int_equal(buf[0], 0x3c);
	assert_memory_equal(buf + 32, pattern, 32);
	tvm_free(&vm);
}

/* One access over normal, resident, paged-out and shared pages. */
static void test_access_mixed_states(void **state)
{
	static uint8_t buf[4 * PG], expect[4 * PG];
	struct tvm vm;
	int i;

	(void)state;
	tvm_new(&vm, 4);
	for (i = 0; i < (int)sizeof(expect); i++)
		expect[i] = (uint8_t)(i * 3 + 1);
	assert_int_equal(gwrite(&vm, 0, expect, sizeof(expect)), 0);
	assert_int_equal(lc(&vm, CVM_VM_OP_INIT_START), 0);
	assert_int_equal(page_in(&vm, 1), 0);
	assert_int_equal(page_in(&vm, 2), 0);
	assert_int_equal(page_out(&vm, 2), 0);
	assert_int_equal(share_pages(&vm, 3, 1), 0);
	assert_int_equal(gread(&vm, 0, buf, sizeof(buf)), 0);
	assert_memory_equal(buf, expect, sizeof(buf));
	/* and a write across all four lands where each state says */
	memset(buf, 0xab, sizeof(buf));
	assert_int_equal(gwrite(&vm, 0, buf, sizeof(buf)), 0);
	assert_int_equal(vm.mem[0], 0xab);
	assert_true(all_zero(host_view(&vm, 1), PG));
	assert_true(all_zero(host_view(&vm, 2), PG));
	assert_int_equal(vm.mem[3 * PG + 17], 0xab);
	assert_int_equal(gread(&vm, 0, expect, sizeof(expect)), 0);
	assert_memory_equal(buf, expect, sizeof(buf));
	tvm_free(&vm);
}

/* ---- DMA shares --------------------------------------------------------- */

/* The refcount's ceiling: -EOVERFLOW, nothing of the range changed. */
static void test_dma_overflow(void **state)
{
	struct tt_gfn e[4];
	struct tvm vm;

	(void)state;
	tvm_new(&vm, 4);
	assert_int_equal(dma_share(&vm, 1, 1), 0);
	/* four billion calls later: set the count just below its maximum */
	cvm_os_map_store(&vm.b->core.dma_refs, 1,
			 cvm_os_map_value(UINT32_MAX - 1));
	assert_int_equal(dma_share(&vm, 1, 1), 0);
	assert_int_equal(dma_share(&vm, 0, 2), -EOVERFLOW);
	get_snapshot(&vm, e, 4);
	assert_int_equal(e[0].dma_refs, 0);
	assert_int_equal(e[1].dma_refs, UINT32_MAX);
	assert_int_equal(e[0].flags & CVM_GFN_PINNED, 0);
	assert_int_equal(stats(&vm).dma_shared_pages, 1);
	cvm_os_map_store(&vm.b->core.dma_refs, 1, cvm_os_map_value(1));
	assert_int_equal(dma_unshare(&vm, 1, 1), 0);
	assert_int_equal(stats(&vm).dma_shared_pages, 0);
	tvm_free(&vm);
}

/* ---- pool and eviction -------------------------------------------------- */

static void test_pool_exhaustion_evicts(void **state)
{
	const uint64_t pool = 8, npages = 24;
	struct cvm_vm_stats st;
	struct cvm_info in;
	struct tvm vm;
	uint64_t i, word;

	(void)state;
	tvm_new_pool(&vm, npages, pool);
	in = info(&vm);
	assert_int_equal(in.api_version, CVM_API_VERSION);
	assert_int_equal(in.nr_vms, 1);
	assert_int_equal(in.pool_total_pages, pool);
	assert_int_equal(in.pool_free_pages, pool);
	assert_int_equal(lc(&vm, CVM_VM_OP_INIT_START), 0);
	for (i = 0; i < npages; i++) {
		word = i * 0x9e3779b97f4a7c15ULL;
		assert_int_equal(gwrite(&vm, i * PG, &word, sizeof(word)), 0);
		assert_int_equal(page_in(&vm, i), 0);
	}
	st = stats(&vm);
	assert_int_equal(st.secure_pages, npages);
	assert_int_equal(st.pool_pages, pool);
	assert_int_equal(st.secure_paged_out, npages - pool);
	assert_int_equal(st.evictions, npages - pool);
	in = info(&vm);
	assert_int_equal(in.pool_free_pages, 0);
	assert_int_equal(in.evictions, npages - pool);
	assert_int_equal(in.pinned_pages, npages);
	assert_int_equal(in.charged_bytes, npages * PG);
	/* every page still reads back, paging in and evicting as it goes */
	for (i = 0; i < npages; i++) {
		assert_int_equal(gread(&vm, i * PG, &word, sizeof(word)), 0);
		assert_true(word == i * 0x9e3779b97f4a7c15ULL);
	}
	assert_int_equal(stats(&vm).evictions, 2 * npages - pool);
	/* unshare of a range larger than the pool evicts within the call */
	assert_int_equal(share_pages(&vm, 0, 12), 0);
	assert_int_equal(touch(&vm, 0, 12), 0);
	assert_int_equal(unshare_pages(&vm, 0, 12), 0);
	assert_int_equal(stats(&vm).pool_pages, pool);
	for (i = 0; i < 12; i++) {
		assert_int_equal(gread(&vm, i * PG, &word, 1), 0);
		assert_int_equal(word & 0xff, i + 1);
	}
	tvm_free(&vm);
}

/* The victim is the least recently used resident page. */
static void test_eviction_lru(void **state)
{
	struct tt_gfn e[8];
	struct tvm vm;
	uint8_t b;
	int i;

	(void)state;
	tvm_new_pool(&vm, 8, 4);
	assert_int_equal(lc(&vm, CVM_VM_OP_INIT_START), 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(page_in(&vm, i), 0);
	/* used most recently: 0, then 2, 3, 1 from the coldest */
	assert_int_equal(gread(&vm, 0, &b, 1), 0);
	assert_int_equal(page_in(&vm, 4), 0);
	get_snapshot(&vm, e, 8);
	assert_int_equal(e[1].flags & CVM_GFN_PAGED_OUT, CVM_GFN_PAGED_OUT);
	assert_int_equal(e[0].flags & CVM_GFN_RESIDENT, CVM_GFN_RESIDENT);
	assert_int_equal(page_in(&vm, 5), 0);
	get_snapshot(&vm, e, 8);
	assert_int_equal(e[2].flags & CVM_GFN_PAGED_OUT, CVM_GFN_PAGED_OUT);
	assert_int_equal(e[0].flags & CVM_GFN_RESIDENT, CVM_GFN_RESIDENT);
	assert_int_equal(e[3].flags & CVM_GFN_RESIDENT, CVM_GFN_RESIDENT);
	assert_int_equal(stats(&vm).evictions, 2);
	tvm_free(&vm);
}

/* Untouched secure pages take pool pages too, evicting as needed. */
static void test_eviction_by_guest_access(void **state)
{
	uint8_t b;
	struct tvm vm;
	int i;

	(void)state;
	tvm_new_pool(&vm, 16, 2);
	drive_vm(&vm, CVM_VM_SECURE);
	for (i = 0; i < 6; i++) {
		b = (uint8_t)(0x10 + i);
		assert_int_equal(gwrite(&vm, i * PG + 1, &b, 1), 0);
	}
	assert_int_equal(stats(&vm).pool_pages, 2);
	assert_int_equal(stats(&vm).evictions, 4);
	assert_int_equal(stats(&vm).secure_paged_out, 4);
	for (i = 0; i < 6; i++) {
		assert_int_equal(gread(&vm, i * PG + 1, &b, 1), 0);
		assert_int_equal(b, 0x10 + i);
	}
	tvm_free(&vm);
}

/*
 * A range that fails half way (pool exhausted with nothing to evict, from
 * the test hook) gives the GFNs it moved their bytes and states back, and
 * the measurement its earlier value; its pins stay.
 */
static void test_convert_rollback(void **state)
{
	static uint8_t pages[5][PG];
	uint8_t expect[CVM_DIGEST_SIZE];
	struct cvm_measurement m;
	struct cvm_vm_stats st;
	EVP_MD_CTX *ctx;
	struct tvm vm;
	int i;

	(void)state;
	/* a pool of 2: the range's earlier pages get evicted meanwhile */
	tvm_new_pool(&vm, 8, 2);
	for (i = 0; i < 5; i++) {
		memset(pages[i], 'A' + i, PG);
		assert_int_equal(gwrite(&vm, (i + 1) * PG, pages[i], PG), 0);
	}
	assert_int_equal(lc(&vm, CVM_VM_OP_INIT_START), 0);
	assert_int_equal(page_in(&vm, 5), 0);
	assert_int_equal(share_pages(&vm, 3, 2), 0);
	/* pages 1..4: three takes succeed, the fourth finds no pool page */
	sim_vm_fail_pool_after(vm.b, 3);
	assert_int_equal(unshare_pages(&vm, 1, 4), -ENOMEM);
	sim_vm_fail_pool_after(vm.b, -1);
	st = stats(&vm);
	assert_int_equal(st.normal_pages, 8 - 3);
	assert_int_equal(st.shared_pages, 2);
	assert_int_equal(st.secure_pages, 1);
	assert_int_equal(st.measured_pages, 1);
	assert_int_equal(st.pinned_pages, 5);
	for (i = 0; i < 4; i++)
		assert_memory_equal(host_view(&vm, i + 1), pages[i], PG);
	/* and it works once the pool does: the digest never saw the failure */
	assert_int_equal(unshare_pages(&vm, 1, 4), 0);
	assert_int_equal(lc(&vm, CVM_VM_OP_INIT_DONE), 0);
	m = measurement(&vm);
	assert_int_equal(m.nr_pages, 5);
	ctx = sha_begin();
	sha_page(ctx, 5 * PG, pages[4]);
	for (i = 0; i < 4; i++)
		sha_page(ctx, (i + 1) * PG, pages[i]);
	sha_end(ctx, expect);
	assert_memory_equal(m.digest, expect, sizeof(expect));
	for (i = 0; i < 5; i++)
		assert_memory_equal(guest_view(&vm, i + 1), pages[i], PG);
	tvm_free(&vm);
}

/*
 * A call leaves no state-entry reservation behind, refused or not: an
 * UNSHARE refused at its last page (a DMA share) used to keep one for
 * every page before it until the VM went away.
 */
static void test_calls_leave_no_reservation(void **state)
{
	struct cvm_os_map *states;
	struct tvm vm;

	(void)state;
	tvm_new_pool(&vm, 64, 4);
	states = &vm.b->core.gfn_states;
	assert_int_equal(lc(&vm, CVM_VM_OP_INIT_START), 0);
	assert_int_equal(dma_share(&vm, 63, 1), 0);
	assert_int_equal(unshare_pages(&vm, 0, 64), -EBUSY);
	assert_int_equal(states->nr_reserved, 0);
	assert_int_equal(stats(&vm).normal_pages, 64);
	/* failing half way (pool), then succeeding, then sharing back */
	sim_vm_fail_pool_after(vm.b, 2);
	assert_int_equal(unshare_pages(&vm, 0, 8), -ENOMEM);
	assert_int_equal(states->nr_reserved, 0);
	sim_vm_fail_pool_after(vm.b, -1);
	assert_int_equal(unshare_pages(&vm, 0, 8), 0);
	assert_int_equal(share_pages(&vm, 0, 16), 0);
	assert_int_equal(states->nr_reserved, 0);
	assert_int_equal(dma_unshare(&vm, 63, 1), 0);
	assert_int_equal(lc(&vm, CVM_VM_OP_INIT_DONE), 0);
	assert_int_equal(unshare_pages(&vm, 0, 16), 0);
	assert_int_equal(states->nr_reserved, 0);
	assert_int_equal(vm.b->core.dma_refs.nr_reserved, 0);
	tvm_free(&vm);
}

/*
 * UNSHARE's rollback in a secure VM, whose default state is secure: the
 * taken GFNs' state entries went to the default while applying, and
 * putting "shared" back must not need an allocation (the module warned
 * when that one failed). They keep their slots; all comes back, quietly.
 */
static void test_unshare_rollback_secure_vm(void **state)
{
	static uint8_t pages[4][PG];
	unsigned long warnings = cvm_os_nr_warnings;
	struct cvm_vm_stats st;
	struct tvm vm;
	int i;

	(void)state;
	tvm_new_pool(&vm, 8, 2);
	assert_int_equal(lc(&vm, CVM_VM_OP_INIT_START), 0);
	assert_int_equal(lc(&vm, CVM_VM_OP_INIT_DONE), 0);
	assert_int_equal(share_pages(&vm, 1, 4), 0);
	for (i = 0; i < 4; i++) {
		memset(pages[i], 'a' + i, PG);
		assert_int_equal(gwrite(&vm, (i + 1) * PG, pages[i], PG), 0);
	}
	/* a store needing memory fails here, as an xarray's can */
	vm.b->core.gfn_states.strict = true;
	sim_vm_fail_pool_after(vm.b, 3);
	assert_int_equal(unshare_pages(&vm, 1, 4), -ENOMEM);
	sim_vm_fail_pool_after(vm.b, -1);
	assert_int_equal(cvm_os_nr_warnings, warnings);
	assert_int_equal(vm.b->core.gfn_states.nr_reserved, 0);
	st = stats(&vm);
	assert_int_equal(st.shared_pages, 4);
	assert_int_equal(st.secure_pages, 8 - 4);
	assert_int_equal(st.pool_pages, 0);
	for (i = 0; i < 4; i++)
		assert_memory_equal(host_view(&vm, i + 1), pages[i], PG);
	assert_int_equal(unshare_pages(&vm, 1, 4), 0);
	for (i = 0; i < 4; i++)
		assert_memory_equal(guest_view(&vm, i + 1), pages[i], PG);
	assert_int_equal(stats(&vm).secure_pages, 8);
	assert_int_equal(cvm_os_nr_warnings, warnings);
	tvm_free(&vm);
}

/* INIT_DONE failing half way leaves the VM transient; a retry completes. */
static void test_init_done_half_way(void **state)
{
	static uint8_t pages[4][PG];
	uint8_t expect[CVM_DIGEST_SIZE];
	struct cvm_measurement m;
	struct cvm_vm_stats st;
	EVP_MD_CTX *ctx;
	struct tvm vm;
	int i;

	(void)state;
	tvm_new(&vm, 8);
	for (i = 0; i < 4; i++) {
		memset(pages[i], '0' + i, PG);
		assert_int_equal(gwrite(&vm, (2 * i) * PG, pages[i], PG), 0);
	}
	assert_int_equal(lc(&vm, CVM_VM_OP_INIT_START), 0);
	sim_vm_fail_pool_after(vm.b, 2);
	assert_int_equal(lc(&vm, CVM_VM_OP_INIT_DONE), -ENOMEM);
	sim_vm_fail_pool_after(vm.b, -1);
	st = stats(&vm);
	assert_int_equal(st.state, CVM_VM_TRANSIENT);
	assert_int_equal(st.secure_pages, 2);
	assert_int_equal(st.normal_pages, 6);
	m = measurement(&vm);
	assert_int_equal(m.flags, 0);
	assert_true(all_zero(m.digest, sizeof(m.digest)));
	assert_int_equal(lc(&vm, CVM_VM_OP_INIT_DONE), 0);
	assert_int_equal(stats(&vm).state, CVM_VM_SECURE);
	assert_int_equal(stats(&vm).secure_pages, 8);
	m = measurement(&vm);
	assert_int_equal(m.flags, CVM_MEASUREMENT_SEALED);
	assert_int_equal(m.nr_pages, 4);
	ctx = sha_begin();
	for (i = 0; i < 4; i++)
		sha_page(ctx, (2 * i) * PG, pages[i]);
	sha_end(ctx, expect);
	assert_memory_equal(m.digest, expect, sizeof(expect));
	tvm_free(&vm);
}

/* ---- pinning and accounting --------------------------------------------- */

static void test_touch_pins_exactly_n(void **state)
{
	long lck = status_kb("VmLck");
	uint8_t buf[5 * PG];
	struct tvm vm;

	(void)state;
	tvm_new(&vm, 64 * MIB / PG);
	assert_int_equal(touch(&vm, 1000, 37), 0);
	assert_int_equal(stats(&vm).pinned_pages, 37);
	assert_int_equal(stats(&vm).charged_bytes, 37 * PG);
	assert_int_equal(status_kb("VmLck"), lck + 37 * 4);
	/* touching the same pages again pins nothing more */
	assert_int_equal(touch(&vm, 1000, 37), 0);
	assert_int_equal(stats(&vm).pinned_pages, 37);
	/* 5 pages of which the first 2 are pinned already: 3 more */
	memset(buf, 7, sizeof(buf));
	assert_int_equal(gwrite(&vm, 1035 * PG, buf, sizeof(buf)), 0);
	assert_int_equal(stats(&vm).pinned_pages, 40);
	assert_int_equal(status_kb("VmLck"), lck + 40 * 4);
	/* reads pin too: the guest reads the host page */
	assert_int_equal(gread(&vm, 5000 * PG, buf, 1), 0);
	assert_int_equal(stats(&vm).pinned_pages, 41);
	/* a page-in pins its source, a DMA share its page */
	assert_int_equal(lc(&vm, CVM_VM_OP_INIT_START), 0);
	assert_int_equal(page_in(&vm, 6000), 0);
	assert_int_equal(dma_share(&vm, 7000, 2), 0);
	assert_int_equal(stats(&vm).pinned_pages, 44);
	assert_int_equal(status_kb("VmLck"), lck + 44 * 4);
	/* a share pins nothing: no bytes move */
	assert_int_equal(share_pages(&vm, 8000, 4), 0);
	assert_int_equal(stats(&vm).pinned_pages, 44);
	tvm_free(&vm);
	assert_int_equal(status_kb("VmLck"), lck);
}

static void test_upfront(void **state)
{
	long lck = status_kb("VmLck");
	struct tt_gfn e[256];
	struct tvm vm;
	int i;

	(void)state;
	assert_int_equal(tvm_new_cfg(&vm, 1 * MIB, 0, true, 0), 0);
	assert_int_equal(stats(&vm).pinned_pages, 256);
	assert_int_equal(stats(&vm).charged_bytes, 1 * MIB);
	assert_int_equal(status_kb("VmLck"), lck + 1024);
	/* touching pins nothing more */
	assert_int_equal(touch(&vm, 0, 100), 0);
	assert_int_equal(stats(&vm).pinned_pages, 256);
	get_snapshot(&vm, e, 256);
	for (i = 0; i < 256; i++)
		assert_int_equal(e[i].flags, CVM_GFN_PINNED);
	/*
	 * Pinned is not touched: INIT_DONE moves the 100 pages the guest
	 * wrote, not the 156 only pinned upfront (as in demand mode).
	 */
	drive_vm(&vm, CVM_VM_SECURE);
	assert_int_equal(measurement(&vm).nr_pages, 100);
	assert_int_equal(stats(&vm).pool_pages, 100);
	assert_int_equal(stats(&vm).secure_pages, 256);
	tvm_free(&vm);
	assert_int_equal(status_kb("VmLck"), lck);
}

/* A sim VM over fresh memory, with fault-around runs of @run pages. */
static int tvm_new_around(struct tvm *vm, size_t size, uint64_t pin_limit,
			  uint32_t run)
{
	struct cvm_backend_config cfg = {
		.memory_bytes = size,
		.pin_limit_bytes = pin_limit,
		.fault_around = run,
	};
	int ret;

	vm->b = NULL;
	vm->size = size;
	vm->mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->mem == MAP_FAILED) {
		vm->mem = NULL;
		return -errno;
	}
	cfg.mem = vm->mem;
	ret = sim->create(&cfg, &vm->b);
	if (ret) {
		munmap(vm->mem, size);
		vm->mem = NULL;
	}
	return ret;
}

/*
 * Fault-around: a first touch pins the aligned run around it, charged
 * exactly and cut at the end of the memory; pages pinned only for the run
 * are not touched (INIT_DONE leaves them out); bad runs are refused.
 */
static void test_fault_around(void **state)
{
	long lck = status_kb("VmLck");
	uint8_t buf[2 * PG] = { 0 };
	struct tvm vm;

	(void)state;
	assert_int_equal(tvm_new_around(&vm, 40 * PG, 0, 3), -EINVAL);
	assert_int_equal(tvm_new_around(&vm, 40 * PG, 0, 1), -EINVAL);
	assert_int_equal(tvm_new_around(&vm, 40 * PG, 0,
					CVM_FAULT_AROUND_MAX * 2), -EINVAL);
	assert_int_equal(tvm_new_around(&vm, 40 * PG, 0, 16), 0);
	assert_int_equal(stats(&vm).pinned_pages, 0);
	assert_int_equal(touch(&vm, 5, 1), 0);
	assert_int_equal(stats(&vm).pinned_pages, 16);
	assert_int_equal(stats(&vm).charged_bytes, 16 * PG);
	assert_int_equal(status_kb("VmLck"), lck + 16 * 4);
	assert_int_equal(touch(&vm, 0, 16), 0);
	assert_int_equal(stats(&vm).pinned_pages, 16);
	/* the last run, [32, 48), is cut to [32, 40) */
	assert_int_equal(touch(&vm, 35, 1), 0);
	assert_int_equal(stats(&vm).pinned_pages, 24);
	/* an access over two runs, one pinned already */
	assert_int_equal(gwrite(&vm, 15 * PG + 100, buf, sizeof(buf)), 0);
	assert_int_equal(stats(&vm).pinned_pages, 40);
	assert_int_equal(status_kb("VmLck"), lck + 40 * 4);
	drive_vm(&vm, CVM_VM_SECURE);
	/* touched: 0..17 and 35: 19 pages, not the 40 pinned */
	assert_int_equal(measurement(&vm).nr_pages, 19);
	tvm_free(&vm);
	assert_int_equal(status_kb("VmLck"), lck);
}

/* A run over a limit falls back to the touched page alone. */
static void child_fault_around_limit(void *arg)
{
	struct tvm vm;

	(void)arg;
	CHILD_CHECK(set_memlock(12 * PG) == 0);
	CHILD_CHECK(drop_ipc_lock() == 0);
	CHILD_CHECK(tvm_new_around(&vm, 64 * PG, 0, 8) == 0);
	CHILD_CHECK(touch(&vm, 0, 1) == 0);
	CHILD_CHECK(stats(&vm).pinned_pages == 8);
	/* [8, 16) would be 16 pages > 12: page 8 alone */
	CHILD_CHECK(touch(&vm, 8, 1) == 0);
	CHILD_CHECK(stats(&vm).pinned_pages == 9);
	CHILD_CHECK(status_kb("VmLck") == 9 * 4);
	CHILD_CHECK(touch(&vm, 9, 3) == 0);
	CHILD_CHECK(status_kb("VmLck") == 12 * 4);
	CHILD_CHECK(touch(&vm, 12, 1) == -ENOMEM);
	CHILD_CHECK(stats(&vm).pinned_pages == 12);
	CHILD_CHECK(status_kb("VmLck") == 12 * 4);
	tvm_free(&vm);
	CHILD_CHECK(status_kb("VmLck") == 0);
	/* the VM's own pin limit */
	CHILD_CHECK(tvm_new_around(&vm, 64 * PG, 10 * PG, 8) == 0);
	CHILD_CHECK(touch(&vm, 20, 1) == 0);
	CHILD_CHECK(stats(&vm).pinned_pages == 8);
	CHILD_CHECK(touch(&vm, 40, 1) == 0);
	CHILD_CHECK(stats(&vm).pinned_pages == 9);
	CHILD_CHECK(status_kb("VmLck") == 9 * 4);
	tvm_free(&vm);
}

static void test_fault_around_limit(void **state)
{
	(void)state;
	assert_int_equal(in_child(child_fault_around_limit, NULL), 0);
}

/* In a child without CAP_IPC_LOCK and a 16-page RLIMIT_MEMLOCK. */
static void child_rlimit_boundary(void *arg)
{
	const long limit_kb = 16 * 4;
	static uint8_t six[6 * PG];
	uint8_t buf[3 * PG] = { 0 };
	struct tvm vm, up;

	(void)arg;
	/* mlock()s are not inherited over fork() */
	CHILD_CHECK(status_kb("VmLck") == 0);
	CHILD_CHECK(set_memlock(16 * PG) == 0);
	CHILD_CHECK(drop_ipc_lock() == 0);
	CHILD_CHECK(tvm_new_cfg(&vm, 64 * PG, 0, false, 0) == 0);
	CHILD_CHECK(stats(&vm).memlock_limit_bytes == 16 * PG);
	CHILD_CHECK(touch(&vm, 0, 14) == 0);
	/* 3 new pages where 2 fit: all or nothing */
	CHILD_CHECK(gwrite(&vm, 14 * PG, buf, sizeof(buf)) == -ENOMEM);
	CHILD_CHECK(stats(&vm).pinned_pages == 14);
	CHILD_CHECK(status_kb("VmLck") == 14 * 4);
	CHILD_CHECK(gwrite(&vm, 14 * PG, buf, 2 * PG) == 0);
	CHILD_CHECK(status_kb("VmLck") == limit_kb);
	/* at the limit: one more page fails, the charge stays at the limit */
	CHILD_CHECK(touch(&vm, 16, 1) == -ENOMEM);
	CHILD_CHECK(sim->lifecycle(vm.b, CVM_VM_OP_INIT_START) == 0);
	CHILD_CHECK(page_in(&vm, 30) == -ENOMEM);
	CHILD_CHECK(dma_share(&vm, 15, 3) == -ENOMEM);
	CHILD_CHECK(stats(&vm).pinned_pages == 16);
	CHILD_CHECK(stats(&vm).dma_shared_pages == 0);
	CHILD_CHECK(status_kb("VmLck") == limit_kb);
	/* pages already pinned still work */
	CHILD_CHECK(touch(&vm, 0, 16) == 0);
	CHILD_CHECK(page_in(&vm, 3) == 0);
	tvm_free(&vm);
	CHILD_CHECK(status_kb("VmLck") == 0);

	/*
	 * Two runs of new pages, the second over the limit: what the first
	 * locked is unlocked again. Pinned: 0..12 and 14 (14 pages); the
	 * write covers 12..17: runs [13] and [15..17].
	 */
	CHILD_CHECK(tvm_new_cfg(&vm, 64 * PG, 0, false, 0) == 0);
	CHILD_CHECK(touch(&vm, 0, 13) == 0);
	CHILD_CHECK(touch(&vm, 14, 1) == 0);
	CHILD_CHECK(status_kb("VmLck") == 14 * 4);
	CHILD_CHECK(gwrite(&vm, 12 * PG, six, sizeof(six)) == -ENOMEM);
	CHILD_CHECK(stats(&vm).pinned_pages == 14);
	CHILD_CHECK(status_kb("VmLck") == 14 * 4);
	CHILD_CHECK(touch(&vm, 13, 1) == 0);
	CHILD_CHECK(touch(&vm, 15, 1) == 0);
	CHILD_CHECK(status_kb("VmLck") == limit_kb);
	/* an upfront VM that does not fit: nothing pinned or charged */
	CHILD_CHECK(tvm_new_cfg(&up, 8 * PG, 0, true, 0) == -ENOMEM);
	CHILD_CHECK(status_kb("VmLck") == limit_kb);
	tvm_free(&vm);
	CHILD_CHECK(status_kb("VmLck") == 0);
}

static void test_rlimit_boundary(void **state)
{
	(void)state;
	assert_int_equal(in_child(child_rlimit_boundary, NULL), 0);
}

/* mlock() and pinning share one locked-memory budget, as with the module. */
static void child_rlimit_shared_with_mlock(void *arg)
{
	struct tvm vm;
	uint8_t *m;

	(void)arg;
	CHILD_CHECK(set_memlock(16 * PG) == 0);
	CHILD_CHECK(drop_ipc_lock() == 0);
	m = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHILD_CHECK(m != MAP_FAILED);
	/* the system call itself: ASan's mlock() does nothing */
	CHILD_CHECK(syscall(SYS_mlock, m, 4 * PG) == 0);
	CHILD_CHECK(tvm_new_cfg(&vm, 64 * PG, 0, false, 0) == 0);
	CHILD_CHECK(touch(&vm, 0, 12) == 0);
	CHILD_CHECK(touch(&vm, 12, 1) == -ENOMEM);
	CHILD_CHECK(status_kb("VmLck") == 16 * 4);
	tvm_free(&vm);
	CHILD_CHECK(status_kb("VmLck") == 4 * 4);
}

static void test_rlimit_shared_with_mlock(void **state)
{
	(void)state;
	assert_int_equal(in_child(child_rlimit_shared_with_mlock, NULL), 0);
}

/* CAP_IPC_LOCK at creation is reported as no limit; without it, the limit. */
static void child_memlock_reported(void *arg)
{
	struct tvm vm;

	(void)arg;
	CHILD_CHECK(set_memlock(16 * PG) == 0);
	CHILD_CHECK(tvm_new_cfg(&vm, 4 * PG, 0, false, 0) == 0);
	if (sim_pin_capable()) {
		CHILD_CHECK(stats(&vm).memlock_limit_bytes == UINT64_MAX);
		/* dropping it later does not change what the VM captured */
		CHILD_CHECK(drop_ipc_lock() == 0);
		CHILD_CHECK(stats(&vm).memlock_limit_bytes == UINT64_MAX);
	}
	tvm_free(&vm);
	CHILD_CHECK(drop_ipc_lock() == 0);
	CHILD_CHECK(tvm_new_cfg(&vm, 4 * PG, 0, false, 0) == 0);
	CHILD_CHECK(stats(&vm).memlock_limit_bytes == 16 * PG);
	/* read when asked, as the module's task_rlimit() */
	CHILD_CHECK(set_memlock(8 * PG) == 0);
	CHILD_CHECK(stats(&vm).memlock_limit_bytes == 8 * PG);
	tvm_free(&vm);
}

static void test_memlock_reported(void **state)
{
	(void)state;
	assert_int_equal(in_child(child_memlock_reported, NULL), 0);
}

/* ---- measurement -------------------------------------------------------- */

/*
 * Unshare extends it like page-in; a page-in of paged-out contents (from
 * secure memory, not the host) and guest writes don't; abort resets it.
 */
static void test_measurement_sources(void **state)
{
	static uint8_t p0[PG], p1[PG], p3[PG];
	uint8_t expect[CVM_DIGEST_SIZE];
	struct cvm_measurement m;
	EVP_MD_CTX *ctx;
	struct tvm vm;

	(void)state;
	memset(p0, 0x10, PG);
	memset(p1, 0x11, PG);
	memset(p3, 0x13, PG);
	tvm_new(&vm, 8);
	assert_int_equal(lc(&vm, CVM_VM_OP_INIT_START), 0);
	assert_int_equal(gwrite(&vm, 0, p0, PG), 0);
	assert_int_equal(page_in(&vm, 0), 0);
	assert_int_equal(page_out(&vm, 0), 0);
	assert_int_equal(page_in(&vm, 0), 0);
	assert_int_equal(share_pages(&vm, 1, 1), 0);
	assert_int_equal(gwrite(&vm, PG, p1, PG), 0);
	assert_int_equal(unshare_pages(&vm, 1, 1), 0);
	assert_int_equal(gwrite(&vm, 3 * PG, p3, PG), 0);
	/* a shared page stays shared at INIT_DONE: not measured */
	assert_int_equal(share_pages(&vm, 4, 1), 0);
	assert_int_equal(gwrite(&vm, 4 * PG, p3, PG), 0);
	assert_int_equal(measurement(&vm).nr_pages, 2);
	assert_int_equal(lc(&vm, CVM_VM_OP_INIT_DONE), 0);
	m = measurement(&vm);
	assert_int_equal(m.nr_pages, 3);
	ctx = sha_begin();
	sha_page(ctx, 0, p0);
	sha_page(ctx, PG, p1);
	sha_page(ctx, 3 * PG, p3);
	sha_end(ctx, expect);
	assert_memory_equal(m.digest, expect, sizeof(expect));

	/* an aborted launch leaves nothing behind for the next one */
	assert_int_equal(lc(&vm, CVM_VM_OP_TERMINATE), 0);
	assert_int_equal(lc(&vm, CVM_VM_OP_INIT_START), 0);
	assert_int_equal(gwrite(&vm, 0, p1, PG), 0);
	assert_int_equal(page_in(&vm, 0), 0);
	assert_int_equal(lc(&vm, CVM_VM_OP_INIT_ABORT), 0);
	m = measurement(&vm);
	assert_int_equal(m.flags, 0);
	assert_int_equal(m.nr_pages, 0);
	assert_int_equal(lc(&vm, CVM_VM_OP_INIT_START), 0);
	assert_int_equal(gwrite(&vm, 2 * PG, p0, PG), 0);
	assert_int_equal(lc(&vm, CVM_VM_OP_INIT_DONE), 0);
	/*
	 * Touched means pinned, in any launch: pages 0, 1 and 3 read as zeros
	 * (their secure contents were discarded), page 4 holds what the guest
	 * wrote while it was shared.
	 */
	m = measurement(&vm);
	assert_int_equal(m.nr_pages, 5);
	memset(p1, 0, PG);
	ctx = sha_begin();
	sha_page(ctx, 0, p1);
	sha_page(ctx, PG, p1);
	sha_page(ctx, 2 * PG, p0);
	sha_page(ctx, 3 * PG, p1);
	sha_page(ctx, 4 * PG, p3);
	sha_end(ctx, expect);
	assert_memory_equal(m.digest, expect, sizeof(expect));
	tvm_free(&vm);
}

/* ---- snapshot ----------------------------------------------------------- */

/*
 * A large VM (64 GiB: 2^24 GFNs) snapshots as a handful of runs, fast:
 * the walk costs the pages touched, not the VM's size.
 */
static void test_snapshot_large(void **state)
{
	const uint64_t npages = 1ULL << 24;
	struct cvm_gfn_run r[8];
	uint32_t n = 0;
	struct tvm vm;
	uint8_t b = 1;
	double t;

	(void)state;
	tvm_new(&vm, npages);
	assert_int_equal(lc(&vm, CVM_VM_OP_INIT_START), 0);
	assert_int_equal(gwrite(&vm, (npages / 2) * PG, &b, 1), 0);
	assert_int_equal(share_pages(&vm, npages - 2, 2), 0);
	t = now_s();
	assert_int_equal(sim->snapshot(vm.b, r, 3, &n), -ENOSPC);
	assert_int_equal(n, 4);
	assert_int_equal(sim->snapshot(vm.b, r, 8, &n), 0);
	t = now_s() - t;
	print_message("2^24 GFNs: %u runs in %.3f ms\n", n, t * 1e3);
	assert_true(t < 0.5);
	assert_int_equal(n, 4);
	assert_int_equal(check_runs(r, n), npages);
	assert_int_equal(r[1].gfn, npages / 2);
	assert_int_equal(r[1].flags, CVM_GFN_PINNED);
	assert_int_equal(r[3].gfn, npages - 2);
	assert_int_equal(r[3].state, CVM_GFN_STATE_SHARED);
	tvm_free(&vm);
}

/*
 * A snapshot needing more than CVM_SNAPSHOT_MAX_ENTRIES runs (every other
 * page shared) is refused with E2BIG, saying how many it needs; under the
 * maximum, a short buffer gets ENOSPC and a large one the runs. Half a
 * million SHARE calls would take seconds: the states are set in the core's
 * table directly, under the VM lock, as the calls would leave them.
 */
static void test_snapshot_too_many_runs(void **state)
{
	const uint64_t npages = CVM_SNAPSHOT_MAX_ENTRIES + 1;
	struct cvm_gfn_run *r;
	uint32_t n = 0;
	struct tvm vm;
	uint64_t p;

	(void)state;
	r = calloc(CVM_SNAPSHOT_MAX_ENTRIES, sizeof(*r));
	assert_non_null(r);
	tvm_new(&vm, npages);
	assert_int_equal(lc(&vm, CVM_VM_OP_INIT_START), 0);
	pthread_mutex_lock(&vm.b->lock);
	for (p = 0; p < npages; p += 2) {
		assert_int_equal(cvm_gfn_reserve(&vm.b->core, p,
						 CVM_GFN_SHARED), 0);
		cvm_gfn_set(&vm.b->core, p, CVM_GFN_SHARED);
	}
	pthread_mutex_unlock(&vm.b->lock);
	assert_int_equal(stats(&vm).shared_pages, npages / 2 + 1);
	assert_int_equal(sim->snapshot(vm.b, r, 4, &n), -E2BIG);
	assert_int_equal(n, npages);
	assert_int_equal(sim->snapshot(vm.b, r, CVM_SNAPSHOT_MAX_ENTRIES, &n),
			 -E2BIG);
	/* pages 0-2 one run: two runs fewer */
	assert_int_equal(share_pages(&vm, 1, 1), 0);
	assert_int_equal(sim->snapshot(vm.b, r, 4, &n), -ENOSPC);
	assert_int_equal(n, npages - 2);
	assert_int_equal(sim->snapshot(vm.b, r, CVM_SNAPSHOT_MAX_ENTRIES, &n),
			 0);
	assert_int_equal(n, npages - 2);
	assert_int_equal(check_runs(r, n), npages);
	assert_int_equal(r[0].nr_pages, 3);
	tvm_free(&vm);
	free(r);
}

/* ---- threads ------------------------------------------------------------ */

#define NTHREADS 4
#define NPAGES 64

enum { TN, TH, TS, TP };	/* tracked GFN state */

struct worker {
	struct tvm *vm;
	int id;
	unsigned int seed;
	uint8_t state[NPAGES];
	uint8_t value[NPAGES];	/* what the guest should read at the page */
	int errors;
	long ops;
};

static void expect_ret(struct worker *w, int got, int want)
{
	if (got != want) {
		w->errors++;
		fprintf(stderr, "thread %d: got %d, want %d\n", w->id, got, want);
	}
}

/* Each thread owns the pages p with p % NTHREADS == id. */
static void *worker_thread(void *arg)
{
	struct worker *w = arg;
	double end = now_s() + 1.0;
	int p, op, ret;
	uint8_t b;

	while (now_s() < end) {
		p = (rand_r(&w->seed) % (NPAGES / NTHREADS)) * NTHREADS + w->id;
		op = rand_r(&w->seed) % 6;
		w->ops++;
		switch (op) {
		case 0:	/* guest write */
			b = (uint8_t)rand_r(&w->seed);
			ret = gwrite(w->vm, p * PG + 7, &b, 1);
			expect_ret(w, ret, 0);
			if (!ret)
				w->value[p] = b;
			if (w->state[p] == TP)
				w->state[p] = TS;
			break;
		case 1:	/* guest read */
			ret = gread(w->vm, p * PG + 7, &b, 1);
			expect_ret(w, ret, 0);
			if (!ret && b != w->value[p]) {
				w->errors++;
				fprintf(stderr, "page %d: read %u, want %u\n", p,
					b, w->value[p]);
			}
			if (w->state[p] == TP)
				w->state[p] = TS;
			break;
		case 2:	/* page-in; a page of ours may have been evicted */
			ret = page_in(w->vm, p);
			if (w->state[p] != TS || ret != 0)
				expect_ret(w, ret, w->state[p] == TS ? -EBADFD : 0);
			w->state[p] = TS;
			break;
		case 3:	/* page-out; refused when evicted already */
			ret = page_out(w->vm, p);
			if (w->state[p] != TS || ret != -EBADFD)
				expect_ret(w, ret, w->state[p] == TS ? 0 : -EBADFD);
			if (w->state[p] == TS)
				w->state[p] = TP;
			break;
		case 4:	/* share: secure contents are discarded */
			expect_ret(w, share_pages(w->vm, p, 1), 0);
			if (w->state[p] == TS || w->state[p] == TP)
				w->value[p] = 0;
			w->state[p] = TH;
			break;
		case 5:	/* unshare: contents kept */
			expect_ret(w, unshare_pages(w->vm, p, 1), 0);
			if (w->state[p] != TP)
				w->state[p] = TS;
			break;
		}
	}
	return NULL;
}

/*
 * Four threads doing random operations on their own pages of one VM with
 * a pool smaller than their working set, so they evict each other's pages.
 */
static void test_four_threads_random(void **state)
{
	struct worker w[NTHREADS];
	pthread_t t[NTHREADS];
	struct cvm_vm_stats st;
	uint64_t secure = 0;
	struct tvm vm;
	long ops = 0;
	int i, p;
	uint8_t b;

	(void)state;
	tvm_new_pool(&vm, NPAGES, 16);
	assert_int_equal(lc(&vm, CVM_VM_OP_INIT_START), 0);
	for (i = 0; i < NTHREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].vm = &vm;
		w[i].id = i;
		w[i].seed = 1234 + i;
		assert_int_equal(pthread_create(&t[i], NULL, worker_thread,
						&w[i]), 0);
	}
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].errors, 0);
		ops += w[i].ops;
	}
	print_message("four threads: %ld operations in 1 s, %llu evictions\n",
		      ops, (unsigned long long)stats(&vm).evictions);
	st = stats(&vm);
	assert_int_equal(st.normal_pages + st.shared_pages + st.secure_pages,
			 NPAGES);
	for (p = 0; p < NPAGES; p++)
		secure += w[p % NTHREADS].state[p] == TS ||
			  w[p % NTHREADS].state[p] == TP;
	assert_int_equal(st.secure_pages, secure);
	assert_true(st.pool_pages <= 16);
	for (p = 0; p < NPAGES; p++) {
		assert_int_equal(gread(&vm, p * PG + 7, &b, 1), 0);
		assert_int_equal(b, w[p % NTHREADS].value[p]);
	}
	tvm_free(&vm);
}

/* The secure pool is a mapping of its own, outside the guest memory. */
static bool pool_outside_mem(const struct tvm *vm)
{
	return vm->b->pool_mem + vm->b->pool.total * PG <= vm->mem ||
	       vm->b->pool_mem >= vm->mem + vm->size;
}

/* ---- main --------------------------------------------------------------- */

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_done_touched_only),
		cmocka_unit_test(test_page_op_bad),
		cmocka_unit_test(test_access_bad),
		cmocka_unit_test(test_access_max),
		cmocka_unit_test(test_create_bad),
		cmocka_unit_test(test_not_owner),
		cmocka_unit_test(test_view_secure_untouched),
		cmocka_unit_test(test_page_in_from_shared_keeps_data),
		cmocka_unit_test(test_destroy_discards),
		cmocka_unit_test(test_pool_pages_zeroed_on_free),
		cmocka_unit_test(test_bitmap_walk),
		cmocka_unit_test(test_seal_format),
		cmocka_unit_test(test_seal_versions),
		cmocka_unit_test(test_two_vms_independent),
		cmocka_unit_test(test_access_stops_at_bad_page),
		cmocka_unit_test(test_access_mixed_states),
		cmocka_unit_test(test_dma_overflow),
		cmocka_unit_test(test_range_too_big),
		cmocka_unit_test(test_pool_exhaustion_evicts),
		cmocka_unit_test(test_eviction_lru),
		cmocka_unit_test(test_eviction_by_guest_access),
		cmocka_unit_test(test_convert_rollback),
		cmocka_unit_test(test_unshare_rollback_secure_vm),
		cmocka_unit_test(test_calls_leave_no_reservation),
		cmocka_unit_test(test_init_done_half_way),
		cmocka_unit_test(test_touch_pins_exactly_n),
		cmocka_unit_test(test_upfront),
		cmocka_unit_test(test_fault_around),
		cmocka_unit_test(test_fault_around_limit),
		cmocka_unit_test(test_rlimit_boundary),
		cmocka_unit_test(test_rlimit_shared_with_mlock),
		cmocka_unit_test(test_memlock_reported),
		cmocka_unit_test(test_measurement_sources),
	cmocka_unit_test(test_snapshot_large),
	cmocka_unit_test(test_snapshot_too_many_runs),
	cmocka_unit_test(test_four_threads_random),
	};
	int failed;

	/* The table tests, written once (tests/table), on this backend. */
	tt_pool_outside_mem = pool_outside_mem;
	failed = tt_run_tables(&cvm_backend_sim, NULL);
	failed += cmocka_run_group_tests_name("sim", tests, NULL, NULL);
	return failed;
}
