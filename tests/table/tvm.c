// SPDX-License-Identifier: GPL-2.0
/*
 * tvm.c - the table tests' driver (table.h) over daemon/vmm/backend.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "table.h"

const struct cvm_backend_ops *tt_ops;
const char *tt_dev_path;
bool (*tt_pool_outside_mem)(const struct tvm *vm);

int tvm_new_cfg(struct tvm *vm, size_t size, uint64_t pin_limit, bool upfront,
		uint64_t pool_pages)
{
	struct cvm_backend_config cfg = {
		.memory_bytes = size,
		.pin_limit_bytes = pin_limit,
		.upfront = upfront,
		.sim_pool_pages = pool_pages,
		.dev_path = tt_dev_path,
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
	ret = tt_ops->create(&cfg, &vm->b);
	if (ret) {
		munmap(vm->mem, size);
		vm->mem = NULL;
	}
	return ret;
}

void tvm_new(struct tvm *vm, size_t pages)
{
	assert_int_equal(tvm_new_cfg(vm, pages * PG, 0, false, 0), 0);
}

void tvm_new_pool(struct tvm *vm, size_t pages, uint64_t pool)
{
	assert_int_equal(tvm_new_cfg(vm, pages * PG, 0, false, pool), 0);
}

/* No cmocka assert here: children use it too. */
void tvm_free(struct tvm *vm)
{
	vm->b = tt_ops->destroy(vm->b);
	if (vm->mem)
		munmap(vm->mem, vm->size);
	vm->mem = NULL;
}

/* Write one byte as the guest into each of pages [first, first + n). */
int touch(struct tvm *vm, uint64_t first, uint64_t n)
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

void drive_vm(struct tvm *vm, enum cvm_vm_state to)
{
	if (to == CVM_VM_NORMAL)
		return;
	assert_int_equal(lc(vm, CVM_VM_OP_INIT_START), 0);
	if (to == CVM_VM_SECURE)
		assert_int_equal(lc(vm, CVM_VM_OP_INIT_DONE), 0);
	assert_int_equal(stats(vm).state, to);
}

uint8_t pattern[PG], page_buf[PG];

void fill_pattern(uint8_t seed)
{
	size_t i;

	for (i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(seed + i * 31 + (i >> 8));
}

bool all_zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

/* Does the pattern appear anywhere in the page, even in part? */
bool has_pattern_chunk(const uint8_t *p)
{
	size_t i;

	for (i = 0; i + 16 <= PG; i += 16)
		if (!memcmp(p + i, pattern + i, 16))
			return true;
	return false;
}

const uint8_t *guest_view(struct tvm *vm, uint64_t page)
{
	assert_int_equal(gread(vm, page * PG, page_buf, PG), 0);
	return page_buf;
}

const uint8_t *host_view(struct tvm *vm, uint64_t page)
{
	return vm->mem + page * PG;
}

void start_with_pattern(struct tvm *vm, size_t pages, uint64_t page,
			uint8_t seed)
{
	fill_pattern(seed);
	tvm_new(vm, pages);
	assert_int_equal(lc(vm, CVM_VM_OP_INIT_START), 0);
	assert_int_equal(gwrite(vm, page * PG, pattern, PG), 0);
}

uint64_t check_runs(const struct cvm_gfn_run *r, uint32_t n)
{
	uint64_t pages = 0;
	uint32_t i;

	for (i = 0; i < n; i++) {
		assert_true(r[i].nr_pages >= 1);
		assert_int_equal(r[i].pad, 0);
		pages += r[i].nr_pages;
		if (!i)
			continue;
		assert_true(r[i].gfn >= r[i - 1].gfn + r[i - 1].nr_pages);
		if (r[i].gfn == r[i - 1].gfn + r[i - 1].nr_pages)
			assert_true(r[i].state != r[i - 1].state ||
				    r[i].flags != r[i - 1].flags ||
				    r[i].dma_refs != r[i - 1].dma_refs);
	}
	return pages;
}

void get_snapshot(struct tvm *vm, struct tt_gfn *e, uint32_t cap)
{
	static struct cvm_gfn_run r[256];
	uint32_t n = 0, i;
	uint64_t k, g = 0;

	assert_true(cap <= 256);
	assert_int_equal(tt_ops->snapshot(vm->b, r, cap, &n), 0);
	assert_true(n <= cap);
	assert_int_equal(check_runs(r, n), stats(vm).nr_pages);
	for (i = 0; i < n; i++) {
		/* the driver's VM is one memslot from GFN 0: no holes */
		assert_int_equal(r[i].gfn, g);
		for (k = 0; k < r[i].nr_pages; k++, g++) {
			assert_true(g < cap);
			e[g].gfn = g;
			e[g].state = r[i].state;
			e[g].flags = r[i].flags;
			e[g].dma_refs = r[i].dma_refs;
		}
	}
}

/* SHA-256 over (le64 GPA, page) entries, computed here independently. */
void sha_page(EVP_MD_CTX *ctx, uint64_t gpa, const uint8_t *page)
{
	uint8_t le[8];
	int i;

	for (i = 0; i < 8; i++)
		le[i] = (uint8_t)(gpa >> (8 * i));
	assert_int_equal(EVP_DigestUpdate(ctx, le, sizeof(le)), 1);
	assert_int_equal(EVP_DigestUpdate(ctx, page, PG), 1);
}

EVP_MD_CTX *sha_begin(void)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	assert_non_null(ctx);
	assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL), 1);
	return ctx;
}

void sha_end(EVP_MD_CTX *ctx, uint8_t *out)
{
	assert_int_equal(EVP_DigestFinal_ex(ctx, out, NULL), 1);
	EVP_MD_CTX_free(ctx);
}

void assert_same(const struct cvm_vm_stats *a, const struct cvm_vm_stats *b)
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

/* A field of /proc/self/status in kB ("VmLck", "VmRSS"), or -1. */
long status_kb(const char *field)
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
