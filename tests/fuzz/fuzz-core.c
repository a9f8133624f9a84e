// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fuzz-core.c - libFuzzer target: the module's portable core
 * (kmod/cvm_core.h) through the sim backend, on random VMs running random
 * operation sequences, with the invariants checked after every step:
 *
 * - pages add up: normal + shared + secure = the VM's pages, each count as
 *   a walk of every GFN finds it, paged-out ones among the secure ones;
 * - no secure plaintext in any host-visible page: every byte the guest
 *   writes into a secure GFN carries a marker that must never show in the
 *   VM's host memory, whatever happens next;
 * - pinned and charged counters equal what the GFNs hold, every GFN with
 *   secure contents or a DMA share is pinned, resident pages are the LRU
 *   and the pool's used pages; at the end of a run the process's locked
 *   memory (VmLck) is its pins exactly, and after destruction it is back
 *   where it was;
 * - DMA refs equal a model counted from the successful calls (never
 *   negative);
 * - the same sequence on a second VM gives the same errnos, the same
 *   states and the same measurement (the keys differ, nothing else may).
 *
 * Input: a header (pages, pool pages, pin limit, upfront) then operations
 * of a few bytes each; page counts and GPAs may be raw 64-bit values, so
 * ranges past the end and past 2^32 pages are reached. A broken invariant
 * aborts with its name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "sim-internal.h"

#define FZ_MAX_PAGES 64
#define FZ_MAX_OPS 256
#define FZ_SECRET 0xa5 /* marks bytes the guest writes into secure GFNs */
#define FZ_SECRET_WORD 0xa5a5a5a5a5a5a5a5ULL

struct fz_input {
	const uint8_t *data;
	size_t size;
};

static uint8_t fz_u8(struct fz_input *in)
{
	uint8_t v = 0;

	if (in->size) {
		v = *in->data++;
		in->size--;
	}
	return v;
}

static uint64_t fz_u64(struct fz_input *in)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v |= (uint64_t)fz_u8(in) << (8 * i);
	return v;
}

struct fz_vm {
	struct cvm_backend *b;
	uint8_t *mem;
	size_t size;
	uint64_t nr_pages;
	int64_t dma[FZ_MAX_PAGES];
};

/* One run's trace: what the second run must repeat. */
struct fz_trace {
	int ret[FZ_MAX_OPS];
	uint8_t state[FZ_MAX_OPS];
	size_t n;
};

#define fz_check(cond, what)                                              \
	do {                                                              \
		if (!(cond)) {                                            \
			fprintf(stderr, "fuzz-core: broken: %s\n", what); \
			abort();                                          \
		}                                                         \
	} while (0)

__attribute__((no_sanitize("coverage"))) static u64
fz_popcount(const struct cvm_os_bitmap *bm)
{
	u64 bit, n = 0;

	cvm_os_bitmap_for_each(bit, bm)
		n++;
	return n;
}

/* The checks are not what the fuzzer should steer by: no coverage. */
__attribute__((no_sanitize("coverage"))) static void
fz_invariants(struct fz_vm *vm)
{
	struct cvm_core *c = &vm->b->core;
	struct cvm_gfn_run r[FZ_MAX_PAGES];
	struct cvm_gfn_run e[FZ_MAX_PAGES];	/* each GFN's run */
	u64 count[CVM_GFN_NR_STATES] = { 0 };
	u64 gfn, resident = 0, dma_pages = 0, lru = 0, i;
	struct cvm_vm_stats st;
	struct list_head *pos;
	const uint64_t *host;
	struct cvm_spage *sp;
	u32 nr = 0;

	fz_check(!cvm_backend_sim.stats(vm->b, &st), "stats");
	fz_check(!cvm_backend_sim.snapshot(vm->b, r, FZ_MAX_PAGES, &nr),
		 "snapshot");
	/* runs cover every GFN once, in order; runs that touch differ */
	for (i = 0, gfn = 0; i < nr; i++) {
		fz_check(r[i].gfn == gfn && r[i].nr_pages >= 1 &&
			 r[i].nr_pages <= vm->nr_pages - gfn,
			 "snapshot runs cover the GFNs in order");
		fz_check(!i || r[i].state != r[i - 1].state ||
			 r[i].flags != r[i - 1].flags ||
			 r[i].dma_refs != r[i - 1].dma_refs,
			 "snapshot runs that touch differ");
		for (; gfn < r[i].gfn + r[i].nr_pages; gfn++)
			e[gfn] = r[i];
	}
	fz_check(gfn == vm->nr_pages, "snapshot size");
	for (gfn = 0; gfn < vm->nr_pages; gfn++) {
		enum cvm_gfn_state s = cvm_gfn_state(c, gfn);

		fz_check(e[gfn].state == (s == CVM_GFN_SECURE_PAGED_OUT
					  ? CVM_GFN_STATE_SECURE : (u8)s) &&
			 !!(e[gfn].flags & CVM_GFN_PAGED_OUT) ==
				 (s == CVM_GFN_SECURE_PAGED_OUT),
			 "snapshot state");

		count[s]++;
		sp = cvm_spage(c, gfn);
		if (sp) {
			fz_check(cvm_gfn_is_secure(s),
				 "contents of a non-secure GFN");
			fz_check(cvm_os_pinned(c, gfn), "secure GFN unpinned");
			fz_check((s == CVM_GFN_SECURE_PAGED_OUT) == !sp->pool,
				 "paged out <=> no pool page");
			resident += !!sp->pool;
		}
		fz_check(!!(e[gfn].flags & CVM_GFN_RESIDENT) == (sp && sp->pool),
			 "snapshot resident flag");
		if (!sp) {
			fz_check(s != CVM_GFN_SECURE_PAGED_OUT,
				 "paged out without contents");
		}
		fz_check(vm->dma[gfn] >= 0, "DMA refs negative");
		fz_check((int64_t)cvm_dma_refs(c, gfn) == vm->dma[gfn],
			 "DMA refs differ from the calls");
		fz_check(e[gfn].dma_refs == vm->dma[gfn], "snapshot DMA refs");
		if (vm->dma[gfn]) {
			dma_pages++;
			fz_check(cvm_os_pinned(c, gfn),
				 "DMA-shared GFN unpinned");
		}
		fz_check(!!(e[gfn].flags & CVM_GFN_PINNED) ==
			     cvm_os_pinned(c, gfn),
			 "snapshot pinned flag");
		/* the host view of any GFN: never a secure page's plaintext */
		host = (const uint64_t *)(vm->mem + gfn * CVM_PAGE_SIZE);
		for (i = 0; i < CVM_PAGE_SIZE / 8; i++)
			fz_check(host[i] != FZ_SECRET_WORD,
				 "secure plaintext in host memory");
	}
	fz_check(count[CVM_GFN_NORMAL] == st.normal_pages, "normal count");
	fz_check(count[CVM_GFN_SHARED] == st.shared_pages, "shared count");
	fz_check(count[CVM_GFN_SECURE] + count[CVM_GFN_SECURE_PAGED_OUT] ==
		     st.secure_pages,
		 "secure count");
	fz_check(count[CVM_GFN_SECURE_PAGED_OUT] == st.secure_paged_out,
		 "paged-out count");
	fz_check(st.normal_pages + st.shared_pages + st.secure_pages ==
			 st.nr_pages &&
		     st.nr_pages == vm->nr_pages,
		 "pages add up");
	fz_check(st.pinned_pages == fz_popcount(&vm->b->pinned),
		 "pinned count");
	fz_check(st.charged_bytes == st.pinned_pages * CVM_PAGE_SIZE,
		 "charged bytes");
	fz_check(!c->pin_limit_pages || st.pinned_pages <= c->pin_limit_pages,
		 "over the VM's pin limit");
	fz_check(st.dma_shared_pages == dma_pages, "DMA-shared count");
	for (pos = c->lru.next; pos != &c->lru; pos = pos->next)
		lru++;
	fz_check(resident == c->nr_resident && lru == resident &&
		     st.pool_pages == resident,
		 "resident pages");
	fz_check(vm->b->pool.total - vm->b->pool.nr_free == resident,
		 "pool pages in use");
}

static void fz_vm_new(struct fz_vm *vm, struct fz_input *in)
{
	struct cvm_backend_config cfg = { 0 };
	uint8_t pool = fz_u8(in), limit = fz_u8(in), flags = fz_u8(in);

	memset(vm, 0, sizeof(*vm));
	vm->nr_pages = fz_u8(in) % FZ_MAX_PAGES + 1;
	vm->size = vm->nr_pages * CVM_PAGE_SIZE;
	vm->mem = mmap(NULL, vm->size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	fz_check(vm->mem != MAP_FAILED, "guest memory");
	cfg.memory_bytes = vm->size;
	cfg.mem = vm->mem;
	cfg.sim_pool_pages = pool % 16 + 1;
	cfg.pin_limit_bytes = (uint64_t)(limit % 80) * CVM_PAGE_SIZE;
	cfg.upfront = flags & 1;
	if (cvm_backend_sim.create(&cfg, &vm->b)) {
		/* an upfront pin over the limit: a refusal, not a finding */
		munmap(vm->mem, vm->size);
		vm->mem = NULL;
	}
}

static void fz_vm_free(struct fz_vm *vm)
{
	vm->b = cvm_backend_sim.destroy(vm->b);
	if (vm->mem)
		munmap(vm->mem, vm->size);
	vm->mem = NULL;
}

/* A range: small and inside mostly, raw 64-bit values sometimes. */
static void fz_range(struct fz_input *in, struct fz_vm *vm, uint64_t *gpa,
		     uint64_t *npages)
{
	uint8_t how = fz_u8(in);

	if (how & 0x80) {
		*gpa = fz_u64(in);
		*npages = fz_u64(in);
	} else {
		*gpa =
		    (uint64_t)(fz_u8(in) % (vm->nr_pages + 2)) * CVM_PAGE_SIZE;
		*npages = how % 5;
	}
}

static int fz_op(struct fz_input *in, struct fz_vm *vm)
{
	uint8_t buf[CVM_PAGE_SIZE];
	uint64_t gpa, npages, gfn, i;
	uint8_t op = fz_u8(in), a;
	uint32_t off, len;
	int ret;

	switch (op % 8) {
	case 0:
		return cvm_backend_sim.lifecycle(
		    vm->b, (enum cvm_vm_op)(fz_u8(in) % 6));
	case 1:
	case 2:
		a = fz_u8(in) % 8;
		fz_range(in, vm, &gpa, &npages);
		ret = cvm_backend_sim.page_op(vm->b, (enum cvm_page_action)a,
					      gpa, npages);
		if (!ret && (a == CVM_PAGE_OP_DMA_SHARE ||
			     a == CVM_PAGE_OP_DMA_UNSHARE)) {
			gfn = gpa / CVM_PAGE_SIZE;
			for (i = 0; i < (npages ? npages : 1); i++)
				vm->dma[gfn + i] +=
				    a == CVM_PAGE_OP_DMA_SHARE ? 1 : -1;
		}
		return ret;
	case 3:
		/* a guest write inside one page, marked when it is secret */
		gfn = fz_u8(in) % vm->nr_pages;
		off = fz_u8(in) * 16 % CVM_PAGE_SIZE;
		len = (uint32_t)fz_u8(in) * 16 % (CVM_PAGE_SIZE - off) + 1;
		memset(buf,
		       cvm_gfn_is_secure(cvm_gfn_state(&vm->b->core, gfn))
			   ? FZ_SECRET
			   : 0x5a,
		       len);
		return cvm_backend_sim.guest_access(
		    vm->b, gfn * CVM_PAGE_SIZE + off, buf, len, true);
	case 4:
		fz_range(in, vm, &gpa, &npages);
		len = (uint32_t)(npages % (2 * CVM_PAGE_SIZE)) + 1;
		return cvm_backend_sim.guest_access(
		    vm->b, gpa, buf, len > sizeof(buf) ? sizeof(buf) : len,
		    false);
	case 5:
		/* the host writes its own page: a tamper when paged out */
		gfn = fz_u8(in) % vm->nr_pages;
		vm->mem[gfn * CVM_PAGE_SIZE + fz_u8(in)] ^= 1;
		return 0;
	case 6:
		/* the pool runs dry after a few pages: rollbacks */
		a = fz_u8(in);
		sim_vm_fail_pool_after(vm->b, a & 0x80 ? -1 : a % 8);
		return 0;
	case 7:
		a = fz_u8(in) % 4;
		return cvm_backend_sim.lifecycle(
		    vm->b, a == 0   ? CVM_VM_OP_INIT_START
			   : a == 1 ? CVM_VM_OP_INIT_DONE
			   : a == 2 ? CVM_VM_OP_INIT_ABORT
				    : CVM_VM_OP_TERMINATE);
	}
	return 0;
}

/* The process's locked memory in KiB: mlock()ed pins are charged there. */
static long fz_vmlck_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "re");

	fz_check(f, "/proc/self/status");
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmLck: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* One run of the input; the tampering of host bytes replays as well. */
static void fz_run(const uint8_t *data, size_t size, struct fz_trace *t,
		   struct cvm_measurement *m)
{
	struct fz_input in = { data, size };
	long locked = fz_vmlck_kb();
	struct cvm_vm_stats st;
	struct fz_vm vm;

	t->n = 0;
	memset(m, 0, sizeof(*m));
	fz_vm_new(&vm, &in);
	if (!vm.b) {
		fz_check(fz_vmlck_kb() == locked,
			 "locked memory after a refusal");
		return;
	}
	fz_invariants(&vm);
	while (in.size && t->n < FZ_MAX_OPS) {
		t->ret[t->n] = fz_op(&in, &vm);
		fz_invariants(&vm);
		fz_check(!cvm_backend_sim.stats(vm.b, &st), "stats");
		t->state[t->n] = (uint8_t)st.state;
		t->n++;
	}
	fz_check(!cvm_backend_sim.measurement(vm.b, m), "measurement");
	fz_check(!cvm_backend_sim.stats(vm.b, &st), "stats");
	fz_check(fz_vmlck_kb() == locked + (long)(st.pinned_pages * 4),
		 "locked memory is the pins");
	fz_vm_free(&vm);
	fz_check(fz_vmlck_kb() == locked, "locked memory after destruction");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz_trace a, b;
	struct cvm_measurement ma, mb;
	size_t i;

	fz_run(data, size, &a, &ma);
	fz_run(data, size, &b, &mb);
	fz_check(a.n == b.n, "same sequence, same length");
	for (i = 0; i < a.n; i++) {
		fz_check(a.ret[i] == b.ret[i], "same sequence, same errnos");
		fz_check(a.state[i] == b.state[i],
			 "same sequence, same states");
	}
	fz_check(!memcmp(&ma, &mb, sizeof(ma)),
		 "same sequence, same measurement");
	return 0;
}
