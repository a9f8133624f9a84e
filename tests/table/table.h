/* SPDX-License-Identifier: GPL-2.0 */
/*
 * table.h - the test-facing driver of the table tests (table-tests.c): one
 * VM with one memslot at GPA 0 over a MAP_NORESERVE mapping of the test
 * process (the host view), driven through daemon/vmm/backend.h. The same
 * scenarios run on the sim backend on the host (tests/unit/test-sim) and
 * on the kmod backend against cvm.ko in the guest (tests/vm/cvm-ktest).
 */
#ifndef CVM_TEST_TABLE_H
#define CVM_TEST_TABLE_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/evp.h>

#include "backend.h"

#define PG 4096UL
#define MIB (1024UL * 1024)
#define REFUSED (-EBADFD)
#define NOT_STARTED (-EOPNOTSUPP)

/* The backend under test and, for kmod, its device (NULL: /dev/cvm). */
extern const struct cvm_backend_ops *tt_ops;
extern const char *tt_dev_path;

/* Is the backend under test the sim one (for documented differences)? */
static inline bool tt_sim(void)
{
	return !strcmp(tt_ops->name, "sim");
}

/*
 * Set by the sim's runner: is the VM's secure pool outside its guest
 * memory? (The module's pool is kernel memory, never in the process.)
 */
struct tvm;
extern bool (*tt_pool_outside_mem)(const struct tvm *vm);

struct tvm {
	struct cvm_backend *b;
	uint8_t *mem;
	size_t size;
};

/* pool_pages: sim only (0: its default); the module's pool is global. */
int tvm_new_cfg(struct tvm *vm, size_t size, uint64_t pin_limit, bool upfront,
		uint64_t pool_pages);
void tvm_new(struct tvm *vm, size_t pages);
void tvm_new_pool(struct tvm *vm, size_t pages, uint64_t pool);
/* No cmocka assert here: children use it too. */
void tvm_free(struct tvm *vm);

static inline int lc(struct tvm *vm, enum cvm_vm_op op)
{
	return tt_ops->lifecycle(vm->b, op);
}

static inline int page_in(struct tvm *vm, uint64_t page)
{
	return tt_ops->page_op(vm->b, CVM_PAGE_OP_IN, page * PG, 1);
}

static inline int page_in_shared(struct tvm *vm, uint64_t page)
{
	return tt_ops->page_op(vm->b, CVM_PAGE_OP_IN_SHARED, page * PG, 1);
}

static inline int page_out(struct tvm *vm, uint64_t page)
{
	return tt_ops->page_op(vm->b, CVM_PAGE_OP_OUT, page * PG, 1);
}

static inline int share_pages(struct tvm *vm, uint64_t page, uint64_t n)
{
	return tt_ops->page_op(vm->b, CVM_PAGE_OP_SHARE, page * PG, n);
}

static inline int unshare_pages(struct tvm *vm, uint64_t page, uint64_t n)
{
	return tt_ops->page_op(vm->b, CVM_PAGE_OP_UNSHARE, page * PG, n);
}

static inline int dma_share(struct tvm *vm, uint64_t page, uint64_t n)
{
	return tt_ops->page_op(vm->b, CVM_PAGE_OP_DMA_SHARE, page * PG, n);
}

static inline int dma_unshare(struct tvm *vm, uint64_t page, uint64_t n)
{
	return tt_ops->page_op(vm->b, CVM_PAGE_OP_DMA_UNSHARE, page * PG, n);
}

static inline int gwrite(struct tvm *vm, uint64_t gpa, const void *buf,
			 uint32_t len)
{
	return tt_ops->guest_access(vm->b, gpa, (void *)buf, len, true);
}

static inline int gread(struct tvm *vm, uint64_t gpa, void *buf, uint32_t len)
{
	return tt_ops->guest_access(vm->b, gpa, buf, len, false);
}

static inline struct cvm_vm_stats stats(struct tvm *vm)
{
	struct cvm_vm_stats st;

	if (tt_ops->stats(vm->b, &st))
		memset(&st, 0xff, sizeof(st));
	return st;
}

static inline struct cvm_info info(struct tvm *vm)
{
	struct cvm_info in;

	if (tt_ops->info(vm->b, &in))
		memset(&in, 0xff, sizeof(in));
	return in;
}

static inline struct cvm_measurement measurement(struct tvm *vm)
{
	struct cvm_measurement m;

	if (tt_ops->measurement(vm->b, &m))
		memset(&m, 0xff, sizeof(m));
	return m;
}

/* Write one byte as the guest into each of pages [first, first + n). */
int touch(struct tvm *vm, uint64_t first, uint64_t n);
/* Bring a fresh VM into a lifecycle state. */
void drive_vm(struct tvm *vm, enum cvm_vm_state to);

/* A page of test data, and a page-sized buffer guest_view() reads into. */
extern uint8_t pattern[PG], page_buf[PG];
void fill_pattern(uint8_t seed);
bool all_zero(const uint8_t *p, size_t n);
/* Does the pattern appear anywhere in the page, even in part? */
bool has_pattern_chunk(const uint8_t *p);
const uint8_t *guest_view(struct tvm *vm, uint64_t page);
const uint8_t *host_view(struct tvm *vm, uint64_t page);
void start_with_pattern(struct tvm *vm, size_t pages, uint64_t page,
			uint8_t seed);
void assert_same(const struct cvm_vm_stats *a, const struct cvm_vm_stats *b);
/* One GFN of a snapshot, expanded from its run (get_snapshot()). */
struct tt_gfn {
	uint64_t gfn;
	uint8_t state;
	uint8_t flags;
	uint32_t dma_refs;
};
/*
 * Check a snapshot's runs: each at least one GFN, pad 0, in GFN order
 * without overlap, and runs that touch differ. Returns the GFNs covered.
 */
uint64_t check_runs(const struct cvm_gfn_run *r, uint32_t n);
/* The snapshot (checked) expanded to one entry per GFN, cap at most 256. */
void get_snapshot(struct tvm *vm, struct tt_gfn *e, uint32_t cap);
/* SHA-256 over (le64 GPA, page) entries, computed here independently. */
void sha_page(EVP_MD_CTX *ctx, uint64_t gpa, const uint8_t *page);
EVP_MD_CTX *sha_begin(void);
void sha_end(EVP_MD_CTX *ctx, uint8_t *out);

/*
 * A field of /proc/self/status in kB, or -1: "VmLck" counts both backends'
 * pins (sim: mlock(); the module: locked_vm), "VmPin" the module's
 * pin_user_pages.
 */
long status_kb(const char *field);

/* Runs the table tests on ops as cmocka group "tables": failed count. */
int tt_run_tables(const struct cvm_backend_ops *ops, const char *dev_path);

#endif /* CVM_TEST_TABLE_H */
