// SPDX-License-Identifier: GPL-2.0
/*
 * test-sim.c - the sim backend (daemon/vmm/sim) against the module's
 * contract: every cell of the VM lifecycle table and of the GFN table
 * through the backend API (one test per cell, as
 * tests/vm/ktest-lifecycle.c), argument errors, the confidentiality table
 * row by row (guest view vs host view),
 * the content rules, AES-GCM tamper/swap/replay, DMA refcounts and range
 * rollback, pool exhaustion and eviction, pin limits with real mlock()
 * accounting (VmLck), the launch measurement against an independently
 * computed SHA-256, and snapshots against the counters.
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

#define PG 4096UL
#define MIB (1024UL * 1024)
#define REFUSED (-EBADFD)
#define NOT_STARTED (-EOPNOTSUPP)

static const struct cvm_backend_ops *const sim = &cvm_backend_sim;

/* ---- helpers ---------------------------------------------------------- */

/* A sim VM over a MAP_NORESERVE mapping of the test process (host view). */
struct tvm {
	struct cvm_backend *b;
	uint8_t *mem;
	size_t size;
};

static int tvm_new_cfg(struct tvm *vm, size_t size, uint64_t pin_limit,
		       bool upfront, uint64_t pool_pages)
{
	struct cvm_backend_config cfg = {
		.memory_bytes = size,
		.pin_limit_bytes = pin_limit,
		.upfront = upfront,
		.sim_pool_pages = pool_pages,
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

static void tvm_new(struct tvm *vm, size_t pages)
{
	assert_int_equal(tvm_new_cfg(vm, pages * PG, 0, false, 0), 0);
}

static void tvm_new_pool(struct tvm *vm, size_t pages, uint64_t pool)
{
	assert_int_equal(tvm_new_cfg(vm, pages * PG, 0, false, pool), 0);
}

/* No cmocka assert here: children use it too. */
static void tvm_free(struct tvm *vm)
{
	vm->b = sim->destroy(vm->b);
	if (vm->mem)
		munmap(vm->mem, vm->size);
	vm->mem = NULL;
}

static int lc(struct tvm *vm, enum cvm_vm_op op)
{
	return sim->lifecycle(vm->b, op);
}

static int page_in(struct tvm *vm, uint64_t page)
{
	return sim->page_op(vm->b, CVM_PAGE_OP_IN, page * PG, 1);
}

static int page_in_shared(struct tvm *vm, uint64_t page)
{
	return sim->page_op(vm->b, CVM_PAGE_OP_IN_SHARED, page * PG, 1);
}

static int page_out(struct tvm *vm, uint64_t page)
{
	return sim->page_op(vm->b, CVM_PAGE_OP_OUT, page * PG, 1);
}

static int share_pages(struct tvm *vm, uint64_t page, uint64_t n)
{
	return sim->page_op(vm->b, CVM_PAGE_OP_SHARE, page * PG, n);
}

static int unshare_pages(struct tvm *vm, uint64_t page, uint64_t n)
{
	return sim->page_op(vm->b, CVM_PAGE_OP_UNSHARE, page * PG, n);
}

static int dma_share(struct tvm *vm, uint64_t page, uint64_t n)
{
	return sim->page_op(vm->b, CVM_PAGE_OP_DMA_SHARE, page * PG, n);
}

static int dma_unshare(struct tvm *vm, uint64_t page, uint64_t n)
{
	return sim->page_op(vm->b, CVM_PAGE_OP_DMA_UNSHARE, page * PG, n);
}

static int gwrite(struct tvm *vm, uint64_t gpa, const void *buf, uint32_t len)
{
	return sim->guest_access(vm->b, gpa, (void *)buf, len, true);
}

static int gread(struct tvm *vm, uint64_t gpa, void *buf, uint32_t len)
{
	return sim->guest_access(vm->b, gpa, buf, len, false);
}

static struct cvm_vm_stats stats(struct tvm *vm)
{
	struct cvm_vm_stats st;

	if (sim->stats(vm->b, &st))
		memset(&st, 0xff, sizeof(st));
	return st;
}

static struct cvm_info info(struct tvm *vm)
{
	struct cvm_info in;

	if (sim->info(vm->b, &in))
		memset(&in, 0xff, sizeof(in));
	return in;
}

static struct cvm_measurement measurement(struct tvm *vm)
{
	struct cvm_measurement m;

	if (sim->measurement(vm->b, &m))
		memset(&m, 0xff, sizeof(m));
	return m;
}

/* Write one byte as the guest into each of pages [first, first + n). */
static int touch(struct tvm *vm, uint64_t first, uint64_t n)
{
	uint64_t i;
	uint8_t byte;
	int ret;

	for (i = 0; i < n; i++) {
		byte = (uint8_t)(first + i + 1);
		ret = gwrite(vm, (first + i) * PG, &byte, 1);
		if (ret)
			return ret;
	}
	return 0;
}

/* A field of /proc/self/status in kB ("VmLck", "VmRSS"), or -1. */
static long status_kb(const char *field)
{
	size_t len = strlen(field);
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, len) && line[len] == ':') {
			kb = strtol(line + len + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

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

static uint8_t pattern[PG], page_buf[PG];

static void fill_pattern(uint8_t seed)
{
	size_t i;

	for (i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(seed + i * 31 + (i >> 8));
}

static bool all_zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

/* Does the pattern appear anywhere in the page, even in part? */
static bool has_pattern_chunk(const uint8_t *p)
{
	size_t i;

	for (i = 0; i + 16 <= PG; i += 16)
		if (!memcmp(p + i, pattern + i, 16))
			return true;
	return false;
}

static const uint8_t *guest_view(struct tvm *vm, uint64_t page)
{
	assert_int_equal(gread(vm, page * PG, page_buf, PG), 0);
	return page_buf;
}

static const uint8_t *host_view(struct tvm *vm, uint64_t page)
{
	return vm->mem + page * PG;
}

static void start_with_pattern(struct tvm *vm, size_t pages, uint64_t page,
			       uint8_t seed)
{
	fill_pattern(seed);
	tvm_new(vm, pages);
	assert_int_equal(lc(vm, CVM_VM_OP_INIT_START), 0);
	assert_int_equal(gwrite(vm, page * PG, pattern, PG), 0);
}

static void get_snapshot(struct tvm *vm, struct cvm_gfn_info *e, uint32_t cap)
{
	uint32_t n = 0;

	assert_int_equal(sim->snapshot(vm->b, e, cap, &n), 0);
	assert_int_equal(n, stats(vm).nr_pages);
}

/* SHA-256 over (le64 GPA, page) entries, computed here independently. */
static void sha_page(EVP_MD_CTX *ctx, uint64_t gpa, const uint8_t *page)
{
	uint8_t le[8];
	int i;

	for (i = 0; i < 8; i++)
		le[i] = (uint8_t)(gpa >> (8 * i));
	assert_int_equal(EVP_DigestUpdate(ctx, le, sizeof(le)), 1);
	assert_int_equal(EVP_DigestUpdate(ctx, page, PG), 1);
}

static EVP_MD_CTX *sha_begin(void)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	assert_non_null(ctx);
	assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL), 1);
	return ctx;
}

static void sha_end(EVP_MD_CTX *ctx, uint8_t *out)
{
	assert_int_equal(EVP_DigestFinal_ex(ctx, out, NULL), 1);
	EVP_MD_CTX_free(ctx);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- the lifecycle table, one test per cell ---------------------------- */

static void drive_vm(struct tvm *vm, enum cvm_vm_state to)
{
	if (to == CVM_VM_NORMAL)
		return;
	assert_int_equal(lc(vm, CVM_VM_OP_INIT_START), 0);
	if (to == CVM_VM_SECURE)
		assert_int_equal(lc(vm, CVM_VM_OP_INIT_DONE), 0);
	assert_int_equal(stats(vm).state, to);
}

struct vm_cell {
	enum cvm_vm_state from;
	enum cvm_vm_op op;
	int err;
	enum cvm_vm_state to;
};

static const struct vm_cell vm_cells[] = {
	{ CVM_VM_NORMAL, CVM_VM_OP_INIT_START, 0, CVM_VM_TRANSIENT },
	{ CVM_VM_NORMAL, CVM_VM_OP_INIT_DONE, NOT_STARTED, CVM_VM_NORMAL },
	{ CVM_VM_NORMAL, CVM_VM_OP_INIT_ABORT, NOT_STARTED, CVM_VM_NORMAL },
	{ CVM_VM_NORMAL, CVM_VM_OP_TERMINATE, 0, CVM_VM_NORMAL },
	{ CVM_VM_SECURE, CVM_VM_OP_INIT_START, REFUSED, CVM_VM_SECURE },
	{ CVM_VM_SECURE, CVM_VM_OP_INIT_DONE, REFUSED, CVM_VM_SECURE },
	{ CVM_VM_SECURE, CVM_VM_OP_INIT_ABORT, REFUSED, CVM_VM_SECURE },
	{ CVM_VM_SECURE, CVM_VM_OP_TERMINATE, 0, CVM_VM_NORMAL },
	{ CVM_VM_TRANSIENT, CVM_VM_OP_INIT_START, REFUSED, CVM_VM_TRANSIENT },
	{ CVM_VM_TRANSIENT, CVM_VM_OP_INIT_DONE, 0, CVM_VM_SECURE },
	{ CVM_VM_TRANSIENT, CVM_VM_OP_INIT_ABORT, 0, CVM_VM_NORMAL },
	{ CVM_VM_TRANSIENT, CVM_VM_OP_TERMINATE, 0, CVM_VM_NORMAL },
};

static void test_vm_cell(void **state)
{
	const struct vm_cell *c = *state;
	struct cvm_vm_stats st;
	struct tvm vm;

	tvm_new(&vm, 16);
	drive_vm(&vm, c->from);
	assert_int_equal(lc(&vm, c->op), c->err);
	st = stats(&vm);
	assert_int_equal(st.state, c->to);
	/* Every GFN follows: normal VM -> all normal, secure -> all secure. */
	if (c->to == CVM_VM_NORMAL)
		assert_int_equal(st.normal_pages, 16);
	if (c->to == CVM_VM_SECURE)
		assert_int_equal(st.secure_pages, 16);
	if (c->to == CVM_VM_TRANSIENT)
		assert_int_equal(st.normal_pages, 16);
	tvm_free(&vm);
}

/* "start VM" has no module call: the backend refuses it as an argument. */
static void test_vm_start_is_not_a_backend_op(void **state)
{
	enum cvm_vm_state s;
	struct tvm vm;

	(void)state;
	for (s = CVM_VM_NORMAL; s <= CVM_VM_SECURE; s++) {
		tvm_new(&vm, 4);
		drive_vm(&vm, s);
		assert_int_equal(lc(&vm, CVM_VM_OP_START_VM), -EINVAL);
		assert_int_equal(lc(&vm, (enum cvm_vm_op)77), -EINVAL);
		assert_int_equal(stats(&vm).state, s);
		tvm_free(&vm);
	}
}

/* ---- the GFN table, one test per cell ---------------------------------- */

enum gfn_call { G_SHARE, G_UNSHARE, G_ABORT, G_TERMINATE, G_INIT_DONE,
		G_PAGE_IN, G_PAGE_IN_SHARED, G_PAGE_OUT, G_NR };
static const char *const gfn_call_names[G_NR] = {
	"share", "unshare", "init-abort", "terminate", "init-done",
	"page-in", "page-in-shared", "page-out",
};

struct gfn_cell {
	enum cvm_gfn_state from;
	enum gfn_call op;
	int err;
	enum cvm_gfn_state to;
};

#define S CVM_GFN_SECURE
#define P CVM_GFN_SECURE_PAGED_OUT
#define H CVM_GFN_SHARED
#define N CVM_GFN_NORMAL
static const struct gfn_cell gfn_cells[] = {
	{ S, G_SHARE, 0, H }, { S, G_UNSHARE, 0, S }, { S, G_ABORT, 0, N },
	{ S, G_TERMINATE, 0, N }, { S, G_INIT_DONE, 0, S },
	{ S, G_PAGE_IN, REFUSED, S }, { S, G_PAGE_IN_SHARED, 0, H },
	{ S, G_PAGE_OUT, 0, P },
	{ P, G_SHARE, 0, H }, { P, G_UNSHARE, 0, P }, { P, G_ABORT, 0, N },
	{ P, G_TERMINATE, 0, N }, { P, G_INIT_DONE, 0, P },
	{ P, G_PAGE_IN, 0, S }, { P, G_PAGE_IN_SHARED, 0, H },
	{ P, G_PAGE_OUT, REFUSED, P },
	{ H, G_SHARE, 0, H }, { H, G_UNSHARE, 0, S }, { H, G_ABORT, 0, N },
	{ H, G_TERMINATE, 0, N }, { H, G_INIT_DONE, 0, H },
	{ H, G_PAGE_IN, 0, S }, { H, G_PAGE_IN_SHARED, 0, H },
	{ H, G_PAGE_OUT, REFUSED, H },
	{ N, G_SHARE, 0, H }, { N, G_UNSHARE, 0, S }, { N, G_ABORT, 0, N },
	{ N, G_TERMINATE, 0, N }, { N, G_INIT_DONE, 0, S },
	{ N, G_PAGE_IN, 0, S }, { N, G_PAGE_IN_SHARED, 0, H },
	{ N, G_PAGE_OUT, REFUSED, N },
};
#undef S
#undef P
#undef H
#undef N

/* The single GFN's state, from the counters and from a snapshot. */
static enum cvm_gfn_state one_gfn_state(struct tvm *vm)
{
	struct cvm_vm_stats st = stats(vm);
	enum cvm_gfn_state s;
	struct cvm_gfn_info e;

	assert_int_equal(st.nr_pages, 1);
	assert_int_equal(st.normal_pages + st.shared_pages + st.secure_pages,
			 1);
	if (st.secure_paged_out)
		s = CVM_GFN_SECURE_PAGED_OUT;
	else if (st.secure_pages)
		s = CVM_GFN_SECURE;
	else
		s = st.shared_pages ? CVM_GFN_SHARED : CVM_GFN_NORMAL;
	get_snapshot(vm, &e, 1);
	assert_int_equal(e.gfn, 0);
	assert_int_equal(!!(e.flags & CVM_GFN_PAGED_OUT),
			 s == CVM_GFN_SECURE_PAGED_OUT);
	assert_int_equal(e.state, s == CVM_GFN_SECURE_PAGED_OUT ?
			 CVM_GFN_STATE_SECURE : (unsigned int)s);
	return s;
}

static void drive_gfn(struct tvm *vm, enum cvm_gfn_state to)
{
	switch (to) {
	case CVM_GFN_NORMAL:
		break;
	case CVM_GFN_SHARED:
		assert_int_equal(share_pages(vm, 0, 1), 0);
		break;
	case CVM_GFN_SECURE_PAGED_OUT:
		assert_int_equal(page_in(vm, 0), 0);
		assert_int_equal(page_out(vm, 0), 0);
		break;
	case CVM_GFN_SECURE:
		assert_int_equal(page_in(vm, 0), 0);
		break;
	}
	assert_int_equal(one_gfn_state(vm), to);
}

static int gfn_call(struct tvm *vm, enum gfn_call op)
{
	switch (op) {
	case G_SHARE:
		return share_pages(vm, 0, 1);
	case G_UNSHARE:
		return unshare_pages(vm, 0, 1);
	case G_ABORT:
		return lc(vm, CVM_VM_OP_INIT_ABORT);
	case G_TERMINATE:
		return lc(vm, CVM_VM_OP_TERMINATE);
	case G_INIT_DONE:
		return lc(vm, CVM_VM_OP_INIT_DONE);
	case G_PAGE_IN:
		return page_in(vm, 0);
	case G_PAGE_IN_SHARED:
		return page_in_shared(vm, 0);
	case G_PAGE_OUT:
		return page_out(vm, 0);
	case G_NR:
		break;
	}
	return -EINVAL;
}

static void test_gfn_cell(void **state)
{
	const struct gfn_cell *c = *state;
	struct tvm vm;

	/* GFN states other than normal exist only in a started VM. */
	tvm_new(&vm, 1);
	drive_vm(&vm, CVM_VM_TRANSIENT);
	drive_gfn(&vm, c->from);
	assert_int_equal(gfn_call(&vm, c->op), c->err);
	assert_int_equal(one_gfn_state(&vm), c->to);
	tvm_free(&vm);
}

/* ---- lifecycle and state counts ---------------------------------------- */

/* Page operations in a normal VM: "not started"; DMA shares allowed. */
static void test_page_ops_not_started(void **state)
{
	struct tvm vm;
	int i;

	(void)state;
	tvm_new(&vm, 4);
	for (i = 0; i < 2; i++) {
		assert_int_equal(page_in(&vm, 0), -EOPNOTSUPP);
		assert_int_equal(page_in_shared(&vm, 0), -EOPNOTSUPP);
		assert_int_equal(page_out(&vm, 0), -EOPNOTSUPP);
		assert_int_equal(share_pages(&vm, 0, 2), -EOPNOTSUPP);
		assert_int_equal(unshare_pages(&vm, 0, 2), -EOPNOTSUPP);
		/* "not started" comes before the range check */
		assert_int_equal(share_pages(&vm, 100, 1), -EOPNOTSUPP);
		assert_int_equal(stats(&vm).normal_pages, 4);
		assert_int_equal(stats(&vm).pinned_pages, 0);
		/* Again after a full INIT_START .. TERMINATE round. */
		drive_vm(&vm, CVM_VM_SECURE);
		assert_int_equal(lc(&vm, CVM_VM_OP_TERMINATE), 0);
	}
	assert_int_equal(dma_share(&vm, 0, 1), 0);
	assert_int_equal(dma_share(&vm, 100, 1), -ERANGE);
	assert_int_equal(dma_unshare(&vm, 0, 1), 0);
	tvm_free(&vm);
}

/*
 * A 64 MiB VM: INIT_DONE turns every normal GFN secure (touched or not),
 * keeps shared and paged-out ones; TERMINATE makes all normal.
 */
static void test_init_done_counts(void **state)
{
	const uint64_t npages = 64 * MIB / PG;
	struct cvm_vm_stats st;
	struct tvm vm;

	(void)state;
	tvm_new(&vm, npages);
	assert_int_equal(touch(&vm, 100, 10), 0);
	drive_vm(&vm, CVM_VM_TRANSIENT);
	assert_int_equal(share_pages(&vm, 10, 3), 0);
	assert_int_equal(page_in(&vm, 20), 0);
	assert_int_equal(page_in(&vm, 21), 0);
	assert_int_equal(page_out(&vm, 21), 0);
	st = stats(&vm);
	assert_int_equal(st.normal_pages, npages - 5);
	assert_int_equal(st.shared_pages, 3);
	assert_int_equal(st.secure_pages, 2);
	assert_int_equal(st.secure_paged_out, 1);
	assert_int_equal(st.pool_pages, 1);

	assert_int_equal(lc(&vm, CVM_VM_OP_INIT_DONE), 0);
	st = stats(&vm);
	assert_int_equal(st.state, CVM_VM_SECURE);
	assert_int_equal(st.normal_pages, 0);
	assert_int_equal(st.shared_pages, 3);
	assert_int_equal(st.secure_pages, npages - 3);
	assert_int_equal(st.secure_paged_out, 1);
	/* the 10 touched normal pages moved into the pool, nothing else */
	assert_int_equal(st.pool_pages, 11);
	assert_int_equal(st.pinned_pages, 12);
	/* In a secure VM, unshare makes shared pages secure again. */
	assert_int_equal(unshare_pages(&vm, 10, 3), 0);
	assert_int_equal(stats(&vm).secure_pages, npages);

	assert_int_equal(lc(&vm, CVM_VM_OP_TERMINATE), 0);
	st = stats(&vm);
	assert_int_equal(st.normal_pages, npages);
	assert_int_equal(st.secure_pages + st.shared_pages, 0);
	assert_int_equal(st.pool_pages, 0);
	tvm_free(&vm);
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

/* A range share that meets a refused GFN changes nothing at all. */
static void test_range_all_or_nothing(void **state)
{
	struct cvm_vm_stats st;
	struct tvm vm;

	(void)state;
	tvm_new(&vm, 16);
	drive_vm(&vm, CVM_VM_TRANSIENT);
	assert_int_equal(page_in(&vm, 5), 0);
	/* Range running past the end: -ERANGE, nothing shared. */
	assert_int_equal(share_pages(&vm, 10, 7), -ERANGE);
	st = stats(&vm);
	assert_int_equal(st.shared_pages, 0);
	assert_int_equal(st.secure_pages, 1);
	/* page-out of pages 4..5 does not exist: a range of 2 is refused */
	assert_int_equal(sim->page_op(vm.b, CVM_PAGE_OP_OUT, 5 * PG, 2),
			 -EINVAL);
	/* unshare over a range whose page 5 is secure: fine, page 5 kept */
	assert_int_equal(unshare_pages(&vm, 4, 3), 0);
	assert_int_equal(stats(&vm).secure_pages, 3);
	assert_int_equal(share_pages(&vm, 0, 16), 0);
	assert_int_equal(stats(&vm).shared_pages, 16);
	/* nr_pages 0 means one page */
	assert_int_equal(unshare_pages(&vm, 7, 0), 0);
	assert_int_equal(stats(&vm).shared_pages, 15);
	tvm_free(&vm);
}

/* ---- argument errors ---------------------------------------------------- */

static void assert_same(const struct cvm_vm_stats *a,
			const struct cvm_vm_stats *b)
{
	assert_int_equal(a->state, b->state);
	assert_int_equal(a->nr_pages, b->nr_pages);
	assert_int_equal(a->normal_pages, b->normal_pages);
	assert_int_equal(a->shared_pages, b->shared_pages);
	assert_int_equal(a->secure_pages, b->secure_pages);
	assert_int_equal(a->secure_paged_out, b->secure_paged_out);
	assert_int_equal(a->pinned_pages, b->pinned_pages);
	assert_int_equal(a->charged_bytes, b->charged_bytes);
	assert_int_equal(a->pool_pages, b->pool_pages);
	assert_int_equal(a->dma_shared_pages, b->dma_shared_pages);
	assert_int_equal(a->measured_pages, b->measured_pages);
}

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
	struct cvm_gfn_info e[4];
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

/* Row "normal" and row "shared": both sides see the host page. */
static void test_view_normal_and_shared(void **state)
{
	struct tvm vm;

	(void)state;
	start_with_pattern(&vm, 4, 0, 1);
	assert_memory_equal(guest_view(&vm, 0), pattern, PG);
	assert_memory_equal(host_view(&vm, 0), pattern, PG);
	assert_int_equal(share_pages(&vm, 1, 1), 0);
	assert_int_equal(gwrite(&vm, PG, pattern, PG), 0);
	assert_memory_equal(guest_view(&vm, 1), pattern, PG);
	assert_memory_equal(host_view(&vm, 1), pattern, PG);
	/* and the host's writes reach the guest */
	vm.mem[PG + 5] ^= 0xff;
	assert_int_equal(guest_view(&vm, 1)[5], pattern[5] ^ 0xff);
	vm.mem[7] ^= 0xff;
	assert_int_equal(guest_view(&vm, 0)[7], pattern[7] ^ 0xff);
	tvm_free(&vm);
}

/* Row "secure, resident": guest sees its data, host sees zeros. */
static void test_view_secure_resident(void **state)
{
	struct tvm vm;

	(void)state;
	start_with_pattern(&vm, 4, 2, 2);
	assert_int_equal(page_in(&vm, 2), 0);
	/* scrubbed before the call returned */
	assert_true(all_zero(host_view(&vm, 2), PG));
	assert_memory_equal(guest_view(&vm, 2), pattern, PG);
	/* the guest's later writes stay in secure memory */
	fill_pattern(3);
	assert_int_equal(gwrite(&vm, 2 * PG, pattern, PG), 0);
	assert_true(all_zero(host_view(&vm, 2), PG));
	assert_memory_equal(guest_view(&vm, 2), pattern, PG);
	/* and the host's writes don't reach the guest */
	memset(vm.mem + 2 * PG, 0x66, PG);
	assert_memory_equal(guest_view(&vm, 2), pattern, PG);
	/* the contents are in the pool, outside the guest memory */
	assert_true(vm.b->pool_mem + vm.b->pool.total * PG <= vm.mem ||
		    vm.b->pool_mem >= vm.mem + vm.size);
	tvm_free(&vm);
}

/* Row "secure, paged out": host sees ciphertext, guest its data. */
static void test_view_secure_paged_out(void **state)
{
	static uint8_t first[PG];
	struct cvm_vm_stats st;
	struct tvm vm;

	(void)state;
	start_with_pattern(&vm, 4, 1, 4);
	assert_int_equal(page_in(&vm, 1), 0);
	assert_int_equal(page_out(&vm, 1), 0);
	st = stats(&vm);
	assert_int_equal(st.secure_paged_out, 1);
	assert_int_equal(st.pool_pages, 0);
	assert_false(all_zero(host_view(&vm, 1), PG));
	assert_false(has_pattern_chunk(host_view(&vm, 1)));
	/* a guest access pages it back in */
	assert_memory_equal(guest_view(&vm, 1), pattern, PG);
	st = stats(&vm);
	assert_int_equal(st.secure_paged_out, 0);
	assert_int_equal(st.pool_pages, 1);
	assert_true(all_zero(host_view(&vm, 1), PG));
	/* the same bytes sealed twice give different ciphertexts */
	assert_int_equal(page_out(&vm, 1), 0);
	memcpy(first, host_view(&vm, 1), PG);
	assert_int_equal(page_in(&vm, 1), 0);
	assert_int_equal(page_out(&vm, 1), 0);
	assert_memory_not_equal(first, host_view(&vm, 1), PG);
	tvm_free(&vm);
}

/*
 * Untouched secure GFNs (after INIT_DONE) read as zeros whatever the host
 * wrote there, and get a zeroed pool page and a pin on first access.
 */
static void test_view_secure_untouched(void **state)
{
	struct cvm_gfn_info e[8];
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

/* unshare and INIT_DONE keep the data and scrub the host copy too. */
static void test_unshare_and_init_done_keep_data(void **state)
{
	struct tvm vm;

	(void)state;
	start_with_pattern(&vm, 4, 0, 5);
	assert_int_equal(gwrite(&vm, 3 * PG, pattern, PG), 0);
	assert_int_equal(share_pages(&vm, 0, 1), 0);
	assert_int_equal(unshare_pages(&vm, 0, 1), 0);
	assert_true(all_zero(host_view(&vm, 0), PG));
	assert_memory_equal(guest_view(&vm, 0), pattern, PG);
	/* page 3 is touched and normal: INIT_DONE moves it */
	assert_int_equal(lc(&vm, CVM_VM_OP_INIT_DONE), 0);
	assert_true(all_zero(host_view(&vm, 3), PG));
	assert_memory_equal(guest_view(&vm, 3), pattern, PG);
	/* an untouched page became secure without a copy: reads as zeros */
	vm.mem[2 * PG] = 0x77;
	assert_true(all_zero(guest_view(&vm, 2), PG));
	tvm_free(&vm);
}

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

/* secure -> shared discards: zeros on both sides, never the data. */
static void test_share_discards(void **state)
{
	struct tvm vm;
	int paged;

	(void)state;
	for (paged = 0; paged < 2; paged++) {
		start_with_pattern(&vm, 4, 0, 6);
		assert_int_equal(page_in(&vm, 0), 0);
		if (paged)
			assert_int_equal(page_out(&vm, 0), 0);
		assert_int_equal(share_pages(&vm, 0, 1), 0);
		assert_true(all_zero(host_view(&vm, 0), PG));
		assert_true(all_zero(guest_view(&vm, 0), PG));
		assert_int_equal(stats(&vm).pool_pages, 0);
		/* from then on the host page backs the GFN for both sides */
		vm.mem[9] = 0x42;
		assert_int_equal(guest_view(&vm, 0)[9], 0x42);
		tvm_free(&vm);
	}
}

/* secure -> normal (abort, terminate): the host page reads as zeros. */
static void test_abort_terminate_discard(void **state)
{
	enum cvm_vm_op ops[2] = { CVM_VM_OP_INIT_ABORT, CVM_VM_OP_TERMINATE };
	struct cvm_info in;
	struct tvm vm;
	int i;

	(void)state;
	for (i = 0; i < 2; i++) {
		start_with_pattern(&vm, 4, 0, 7);
		assert_int_equal(gwrite(&vm, PG, pattern, PG), 0);
		assert_int_equal(page_in(&vm, 0), 0);
		assert_int_equal(page_in(&vm, 1), 0);
		assert_int_equal(page_out(&vm, 1), 0);
		assert_false(all_zero(host_view(&vm, 1), PG));
		assert_int_equal(lc(&vm, ops[i]), 0);
		assert_true(all_zero(host_view(&vm, 0), PG));
		assert_true(all_zero(host_view(&vm, 1), PG));
		assert_true(all_zero(guest_view(&vm, 0), PG));
		assert_true(all_zero(guest_view(&vm, 1), PG));
		in = info(&vm);
		assert_int_equal(in.pool_free_pages, in.pool_total_pages);
		assert_int_equal(stats(&vm).pool_pages, 0);
		tvm_free(&vm);
	}
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

/* One byte flipped, another GFN's ciphertext, an older ciphertext. */
static void test_tamper_swap_replay(void **state)
{
	static uint8_t old[PG];
	struct tvm vm;
	uint8_t *h0, *h1;

	(void)state;
	start_with_pattern(&vm, 4, 0, 8);
	assert_int_equal(gwrite(&vm, PG, pattern, PG), 0);
	assert_int_equal(page_in(&vm, 0), 0);
	assert_int_equal(page_in(&vm, 1), 0);
	assert_int_equal(page_out(&vm, 0), 0);
	assert_int_equal(page_out(&vm, 1), 0);
	h0 = vm.mem;
	h1 = vm.mem + PG;

	/* flip one byte: integrity error, still paged out, access fails */
	h0[1234] ^= 0x01;
	assert_int_equal(page_in(&vm, 0), -EBADMSG);
	assert_int_equal(stats(&vm).secure_paged_out, 2);
	assert_int_equal(gread(&vm, 0, page_buf, 16), -EBADMSG);
	assert_int_equal(stats(&vm).pool_pages, 0);
	assert_int_equal(info(&vm).pool_free_pages,
			 info(&vm).pool_total_pages);
	/* put it back: it was that byte, nothing else */
	h0[1234] ^= 0x01;
	assert_int_equal(page_in(&vm, 0), 0);
	assert_memory_equal(guest_view(&vm, 0), pattern, PG);
	assert_int_equal(page_out(&vm, 0), 0);

	/* page 0's ciphertext over page 1 */
	memcpy(old, h1, PG);
	memcpy(h1, h0, PG);
	assert_int_equal(page_in(&vm, 1), -EBADMSG);
	memcpy(h1, old, PG);

	/* an older ciphertext of the same page */
	assert_int_equal(page_in(&vm, 1), 0);
	assert_int_equal(page_out(&vm, 1), 0);
	assert_memory_not_equal(old, h1, PG);
	memcpy(h1, old, PG);
	assert_int_equal(page_in(&vm, 1), -EBADMSG);
	assert_int_equal(stats(&vm).secure_paged_out, 2);
	tvm_free(&vm);
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

static void test_dma_refcount_busy(void **state)
{
	struct tvm vm;

	(void)state;
	tvm_new(&vm, 8);
	/* DMA shares work in any VM state: here a normal VM */
	assert_int_equal(dma_share(&vm, 0, 2), 0);
	assert_int_equal(dma_share(&vm, 0, 1), 0);
	assert_int_equal(stats(&vm).dma_shared_pages, 2);
	assert_int_equal(stats(&vm).pinned_pages, 2);
	assert_int_equal(lc(&vm, CVM_VM_OP_INIT_START), 0);
	assert_int_equal(share_pages(&vm, 0, 1), 0);
	/* shared twice, unshared once: still busy */
	assert_int_equal(dma_unshare(&vm, 0, 1), 0);
	assert_int_equal(unshare_pages(&vm, 0, 1), -EBUSY);
	assert_int_equal(page_in(&vm, 0), -EBUSY);
	assert_int_equal(stats(&vm).shared_pages, 1);
	/* a normal page with a DMA share blocks INIT_DONE: VM stays transient */
	assert_int_equal(lc(&vm, CVM_VM_OP_INIT_DONE), -EBUSY);
	assert_int_equal(stats(&vm).state, CVM_VM_TRANSIENT);
	assert_false(measurement(&vm).flags & CVM_MEASUREMENT_SEALED);
	assert_int_equal(dma_unshare(&vm, 1, 1), 0);
	assert_int_equal(lc(&vm, CVM_VM_OP_INIT_DONE), 0);
	/* the last share released: the page may become secure */
	assert_int_equal(dma_unshare(&vm, 0, 1), 0);
	assert_int_equal(unshare_pages(&vm, 0, 1), 0);
	assert_int_equal(stats(&vm).dma_shared_pages, 0);
	/* a secure page can't be DMA-shared; unbalanced unshare refused */
	assert_int_equal(dma_share(&vm, 0, 1), -EBADFD);
	assert_int_equal(dma_share(&vm, 5, 1), -EBADFD);
	assert_int_equal(dma_unshare(&vm, 0, 1), -EBADFD);
	/* pins stay: DMA-shared pages were pinned, unpinning is teardown's */
	assert_int_equal(stats(&vm).pinned_pages, 2);
	tvm_free(&vm);
}

static void snapshot_refs(struct tvm *vm, uint32_t *refs, uint8_t *states,
			  uint8_t *flags, int n)
{
	static struct cvm_gfn_info e[64];
	int i;

	get_snapshot(vm, e, 64);
	for (i = 0; i < n; i++) {
		refs[i] = e[i].dma_refs;
		states[i] = e[i].state;
		flags[i] = e[i].flags;
	}
}

static void test_dma_range_rollback(void **state)
{
	uint32_t refs_before[16], refs_after[16];
	uint8_t st_before[16], st_after[16], fl_before[16], fl_after[16];
	struct cvm_vm_stats before, after;
	struct tvm vm;

	(void)state;
	tvm_new(&vm, 16);
	assert_int_equal(lc(&vm, CVM_VM_OP_INIT_START), 0);
	assert_int_equal(dma_share(&vm, 2, 2), 0);
	assert_int_equal(page_in(&vm, 8), 0);
	snapshot_refs(&vm, refs_before, st_before, fl_before, 16);
	before = stats(&vm);
	/* pages 0..11: page 8 in the middle is secure */
	assert_int_equal(dma_share(&vm, 0, 12), -EBADFD);
	/* pages 2..5: pages 4 and 5 hold no share */
	assert_int_equal(dma_unshare(&vm, 2, 4), -EBADFD);
	snapshot_refs(&vm, refs_after, st_after, fl_after, 16);
	after = stats(&vm);
	assert_memory_equal(refs_before, refs_after, sizeof(refs_before));
	assert_memory_equal(st_before, st_after, sizeof(st_before));
	assert_memory_equal(fl_before, fl_after, sizeof(fl_before));
	assert_same(&before, &after);
	/* an unshare range whose middle pages are DMA-shared */
	assert_int_equal(share_pages(&vm, 0, 6), 0);
	before = stats(&vm);
	assert_int_equal(unshare_pages(&vm, 0, 6), -EBUSY);
	after = stats(&vm);
	assert_same(&before, &after);
	assert_int_equal(after.shared_pages, 6);
	/* INIT_ABORT and TERMINATE keep DMA shares */
	assert_int_equal(lc(&vm, CVM_VM_OP_TERMINATE), 0);
	snapshot_refs(&vm, refs_after, st_after, fl_after, 16);
	assert_memory_equal(refs_before, refs_after, sizeof(refs_before));
	assert_int_equal(stats(&vm).dma_shared_pages, 2);
	tvm_free(&vm);
}

/* The refcount's ceiling: -EOVERFLOW, nothing of the range changed. */
static void test_dma_overflow(void **state)
{
	struct cvm_gfn_info e[4];
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
	struct cvm_gfn_info e[8];
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

static void test_demand_pins_nothing(void **state)
{
	long lck = status_kb("VmLck");
	struct tvm vm;

	(void)state;
	assert_true(lck >= 0);
	tvm_new(&vm, 64 * MIB / PG);
	assert_int_equal(status_kb("VmLck"), lck);
	assert_int_equal(stats(&vm).pinned_pages, 0);
	assert_int_equal(stats(&vm).charged_bytes, 0);
	assert_int_equal(stats(&vm).nr_pages, 64 * MIB / PG);
	assert_int_equal(stats(&vm).nr_memslots, 1);
	assert_int_equal(info(&vm).pinned_pages, 0);
	/* the secure pool is not charged: it is not guest memory */
	drive_vm(&vm, CVM_VM_SECURE);
	assert_int_equal(status_kb("VmLck"), lck);
	tvm_free(&vm);
}

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

static void test_vm_pin_limit(void **state)
{
	long lck = status_kb("VmLck");
	uint8_t buf[3 * PG] = { 0 };
	struct cvm_vm_stats st;
	struct tvm vm;

	(void)state;
	assert_int_equal(tvm_new_cfg(&vm, 64 * PG, 8 * PG + 100, false, 0), 0);
	assert_int_equal(stats(&vm).pin_limit_bytes, 8 * PG);
	assert_int_equal(touch(&vm, 0, 6), 0);
	/* 3 new pages where 2 fit: all or nothing */
	assert_int_equal(gwrite(&vm, 6 * PG, buf, sizeof(buf)), -ENOMEM);
	assert_int_equal(stats(&vm).pinned_pages, 6);
	assert_int_equal(status_kb("VmLck"), lck + 6 * 4);
	assert_int_equal(gwrite(&vm, 6 * PG, buf, 2 * PG), 0);
	assert_int_equal(touch(&vm, 8, 1), -ENOMEM);
	assert_int_equal(stats(&vm).pinned_pages, 8);
	assert_int_equal(status_kb("VmLck"), lck + 8 * 4);
	/* pages already pinned still work */
	assert_int_equal(touch(&vm, 0, 8), 0);
	/* page operations and DMA shares that need a pin: refused whole */
	assert_int_equal(lc(&vm, CVM_VM_OP_INIT_START), 0);
	assert_int_equal(page_in(&vm, 20), -ENOMEM);
	assert_int_equal(unshare_pages(&vm, 6, 4), -ENOMEM);
	assert_int_equal(dma_share(&vm, 7, 2), -ENOMEM);
	st = stats(&vm);
	assert_int_equal(st.secure_pages, 0);
	assert_int_equal(st.dma_shared_pages, 0);
	assert_int_equal(st.measured_pages, 0);
	assert_int_equal(st.pinned_pages, 8);
	/* pinned pages convert without a new pin */
	assert_int_equal(unshare_pages(&vm, 4, 4), 0);
	assert_int_equal(stats(&vm).secure_pages, 4);
	tvm_free(&vm);
	assert_int_equal(status_kb("VmLck"), lck);
	/* an upfront VM over its limit is refused whole */
	assert_int_equal(tvm_new_cfg(&vm, 16 * PG, 8 * PG, true, 0), -ENOMEM);
	assert_int_equal(status_kb("VmLck"), lck);
}

static void test_upfront(void **state)
{
	long lck = status_kb("VmLck");
	struct cvm_gfn_info e[256];
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

/* The guest writes to the pinned host page: the VMM sees the bytes. */
static void test_pinned_page_is_host_page(void **state)
{
	struct tvm vm;
	uint8_t b = 0xa7;

	(void)state;
	tvm_new(&vm, 16);
	vm.mem[3 * PG + 9] = 0x11;
	assert_int_equal(gread(&vm, 3 * PG + 9, &b, 1), 0);
	assert_int_equal(b, 0x11);
	b = 0xa7;
	assert_int_equal(gwrite(&vm, 3 * PG + 10, &b, 1), 0);
	assert_int_equal(vm.mem[3 * PG + 10], 0xa7);
	tvm_free(&vm);
}

/* ---- measurement -------------------------------------------------------- */

/*
 * The measurement covers, in order, each page that entered secure memory
 * from the host while transient: page-ins as called, then INIT_DONE's
 * touched normal pages in GFN order.
 */
static void test_measurement(void **state)
{
	static uint8_t pages[4][PG];
	uint8_t expect[CVM_DIGEST_SIZE];
	struct cvm_measurement m;
	EVP_MD_CTX *ctx;
	struct tvm vm;
	int i;

	(void)state;
	tvm_new(&vm, 8);
	m = measurement(&vm);
	assert_int_equal(m.flags, 0);
	assert_int_equal(m.nr_pages, 0);
	for (i = 0; i < 4; i++) {
		memset(pages[i], 'a' + i, PG);
		assert_int_equal(gwrite(&vm, i * PG, pages[i], PG), 0);
	}
	assert_int_equal(lc(&vm, CVM_VM_OP_INIT_START), 0);
	assert_int_equal(page_in(&vm, 2), 0);
	assert_int_equal(page_in(&vm, 0), 0);
	m = measurement(&vm);
	assert_int_equal(m.flags, 0);
	assert_int_equal(m.nr_pages, 2);
	assert_true(all_zero(m.digest, sizeof(m.digest)));
	assert_int_equal(lc(&vm, CVM_VM_OP_INIT_DONE), 0);
	m = measurement(&vm);
	assert_int_equal(m.flags, CVM_MEASUREMENT_SEALED);
	assert_int_equal(m.nr_pages, 4);
	assert_int_equal(stats(&vm).measured_pages, 4);

	ctx = sha_begin();
	sha_page(ctx, 2 * PG, pages[2]);
	sha_page(ctx, 0, pages[0]);
	sha_page(ctx, 1 * PG, pages[1]);
	sha_page(ctx, 3 * PG, pages[3]);
	sha_end(ctx, expect);
	assert_memory_equal(m.digest, expect, sizeof(expect));

	/* sealed: later guest writes and conversions don't change it */
	assert_int_equal(gwrite(&vm, 5 * PG, pages[0], 64), 0);
	assert_int_equal(share_pages(&vm, 6, 1), 0);
	assert_int_equal(gwrite(&vm, 6 * PG, pages[1], 64), 0);
	assert_int_equal(unshare_pages(&vm, 6, 1), 0);
	m = measurement(&vm);
	assert_int_equal(m.nr_pages, 4);
	assert_memory_equal(m.digest, expect, sizeof(expect));
	/* a new launch starts a new measurement */
	assert_int_equal(lc(&vm, CVM_VM_OP_TERMINATE), 0);
	m = measurement(&vm);
	assert_int_equal(m.flags, 0);
	assert_int_equal(m.nr_pages, 0);
	assert_true(all_zero(m.digest, sizeof(m.digest)));
	tvm_free(&vm);
}

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

/* The snapshot agrees with the counters; a short buffer says its size. */
static void test_snapshot(void **state)
{
	static struct cvm_gfn_info e[64];
	uint64_t normal = 0, shared = 0, secure = 0, paged = 0, pinned = 0;
	uint64_t resident = 0, dma = 0;
	struct cvm_vm_stats st;
	uint32_t n = 7, i;
	struct tvm vm;

	(void)state;
	start_with_pattern(&vm, 40, 3, 9);
	assert_int_equal(share_pages(&vm, 4, 3), 0);
	assert_int_equal(page_in(&vm, 3), 0);
	assert_int_equal(page_in(&vm, 10), 0);
	assert_int_equal(page_out(&vm, 10), 0);
	assert_int_equal(dma_share(&vm, 5, 1), 0);
	assert_int_equal(dma_share(&vm, 5, 1), 0);
	assert_int_equal(touch(&vm, 30, 2), 0);
	assert_int_equal(lc(&vm, CVM_VM_OP_INIT_DONE), 0);
	assert_int_equal(touch(&vm, 35, 1), 0);

	assert_int_equal(sim->snapshot(vm.b, e, 10, &n), -ENOSPC);
	assert_int_equal(n, 40);
	assert_int_equal(sim->snapshot(vm.b, e, 39, &n), -ENOSPC);
	assert_int_equal(sim->snapshot(vm.b, NULL, 64, &n), -EFAULT);
	n = 0;
	assert_int_equal(sim->snapshot(vm.b, e, 64, &n), 0);
	assert_int_equal(n, 40);
	st = stats(&vm);
	for (i = 0; i < n; i++) {
		assert_int_equal(e[i].gfn, i);
		assert_int_equal(e[i].pad, 0);
		normal += e[i].state == CVM_GFN_STATE_NORMAL;
		shared += e[i].state == CVM_GFN_STATE_SHARED;
		secure += e[i].state == CVM_GFN_STATE_SECURE;
		paged += !!(e[i].flags & CVM_GFN_PAGED_OUT);
		pinned += !!(e[i].flags & CVM_GFN_PINNED);
		resident += !!(e[i].flags & CVM_GFN_RESIDENT);
		dma += e[i].dma_refs > 0;
	}
	assert_int_equal(normal, st.normal_pages);
	assert_int_equal(shared, st.shared_pages);
	assert_int_equal(secure, st.secure_pages);
	assert_int_equal(paged, st.secure_paged_out);
	assert_int_equal(pinned, st.pinned_pages);
	assert_int_equal(resident, st.pool_pages);
	assert_int_equal(dma, st.dma_shared_pages);
	/* and with what was done */
	assert_int_equal(st.shared_pages, 3);
	assert_int_equal(st.pinned_pages, 6);
	assert_int_equal(st.pool_pages, 4);
	assert_int_equal(e[5].dma_refs, 2);
	assert_int_equal(e[5].state, CVM_GFN_STATE_SHARED);
	assert_int_equal(e[5].flags, CVM_GFN_PINNED);
	assert_int_equal(e[3].flags, CVM_GFN_RESIDENT | CVM_GFN_PINNED);
	assert_int_equal(e[10].flags, CVM_GFN_PAGED_OUT | CVM_GFN_PINNED);
	assert_int_equal(e[30].flags, CVM_GFN_RESIDENT | CVM_GFN_PINNED);
	assert_int_equal(e[35].flags, CVM_GFN_RESIDENT | CVM_GFN_PINNED);
	assert_int_equal(e[20].flags, 0);
	assert_int_equal(e[20].state, CVM_GFN_STATE_SECURE);
	tvm_free(&vm);
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

/* ---- main --------------------------------------------------------------- */

static char *cell_name(const char *table, const char *from, const char *op,
		       int err, const char *to)
{
	char *name = NULL;

	if (err)
		assert_true(asprintf(&name, "%s %s x %s -> refused (%s)", table,
				     from, op, err == REFUSED ? "wrong state" :
				     "not started") > 0);
	else
		assert_true(asprintf(&name, "%s %s x %s -> %s", table, from, op,
				     to) > 0);
	return name;
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_vm_start_is_not_a_backend_op),
		cmocka_unit_test(test_page_ops_not_started),
		cmocka_unit_test(test_init_done_counts),
		cmocka_unit_test(test_init_done_touched_only),
		cmocka_unit_test(test_range_all_or_nothing),
		cmocka_unit_test(test_page_op_bad),
		cmocka_unit_test(test_access_bad),
		cmocka_unit_test(test_access_max),
		cmocka_unit_test(test_create_bad),
		cmocka_unit_test(test_not_owner),
		cmocka_unit_test(test_view_normal_and_shared),
		cmocka_unit_test(test_view_secure_resident),
		cmocka_unit_test(test_view_secure_paged_out),
		cmocka_unit_test(test_view_secure_untouched),
		cmocka_unit_test(test_unshare_and_init_done_keep_data),
		cmocka_unit_test(test_page_in_from_shared_keeps_data),
		cmocka_unit_test(test_share_discards),
		cmocka_unit_test(test_abort_terminate_discard),
		cmocka_unit_test(test_destroy_discards),
		cmocka_unit_test(test_pool_pages_zeroed_on_free),
		cmocka_unit_test(test_bitmap_walk),
		cmocka_unit_test(test_seal_format),
		cmocka_unit_test(test_seal_versions),
		cmocka_unit_test(test_two_vms_independent),
		cmocka_unit_test(test_tamper_swap_replay),
		cmocka_unit_test(test_access_stops_at_bad_page),
		cmocka_unit_test(test_access_mixed_states),
		cmocka_unit_test(test_dma_refcount_busy),
		cmocka_unit_test(test_dma_range_rollback),
		cmocka_unit_test(test_dma_overflow),
		cmocka_unit_test(test_range_too_big),
		cmocka_unit_test(test_pool_exhaustion_evicts),
		cmocka_unit_test(test_eviction_lru),
		cmocka_unit_test(test_eviction_by_guest_access),
		cmocka_unit_test(test_convert_rollback),
		cmocka_unit_test(test_init_done_half_way),
		cmocka_unit_test(test_demand_pins_nothing),
		cmocka_unit_test(test_touch_pins_exactly_n),
		cmocka_unit_test(test_vm_pin_limit),
		cmocka_unit_test(test_upfront),
		cmocka_unit_test(test_rlimit_boundary),
		cmocka_unit_test(test_rlimit_shared_with_mlock),
		cmocka_unit_test(test_memlock_reported),
		cmocka_unit_test(test_pinned_page_is_host_page),
		cmocka_unit_test(test_measurement),
		cmocka_unit_test(test_measurement_sources),
		cmocka_unit_test(test_snapshot),
		cmocka_unit_test(test_four_threads_random),
	};
	size_t nvm = sizeof(vm_cells) / sizeof(vm_cells[0]);
	size_t ngfn = sizeof(gfn_cells) / sizeof(gfn_cells[0]);
	size_t nfixed = sizeof(fixed) / sizeof(fixed[0]);
	struct CMUnitTest *tests = calloc(nvm + ngfn + nfixed, sizeof(*tests));
	size_t i, n = 0;
	int failed;

	if (!tests)
		return 1;
	for (i = 0; i < nvm; i++, n++) {
		tests[n].name = cell_name("vm",
					  cvm_vm_state_name(vm_cells[i].from),
					  cvm_vm_op_name(vm_cells[i].op),
					  vm_cells[i].err,
					  cvm_vm_state_name(vm_cells[i].to));
		tests[n].test_func = test_vm_cell;
		tests[n].initial_state = (void *)&vm_cells[i];
	}
	for (i = 0; i < ngfn; i++, n++) {
		tests[n].name = cell_name("gfn",
					  cvm_gfn_state_name(gfn_cells[i].from),
					  gfn_call_names[gfn_cells[i].op],
					  gfn_cells[i].err,
					  cvm_gfn_state_name(gfn_cells[i].to));
		tests[n].test_func = test_gfn_cell;
		tests[n].initial_state = (void *)&gfn_cells[i];
	}
	for (i = 0; i < nfixed; i++)
		tests[n++] = fixed[i];
	failed = _cmocka_run_group_tests("sim", tests, n, NULL, NULL);
	for (i = 0; i < nvm + ngfn; i++)
		free((char *)tests[i].name);
	free(tests);
	return failed;
}
