// SPDX-License-Identifier: GPL-2.0
/*
 * table-tests.c - the module's tables and contract, written once against
 * the test driver (table.h) and run on both backends: the sim backend on
 * the host (tests/unit/test-sim, under ASan + UBSan) and the kmod backend
 * against cvm.ko in the guest (tests/vm/cvm-ktest). Every cell of the VM
 * lifecycle table and of the GFN table (one test per cell), "not started",
 * state counts, all-or-nothing ranges, the confidentiality table row by
 * row and the content rules, tamper/swap/replay, DMA refcounts and range
 * rollback, the measurement (and guest writes to measured pages),
 * snapshots, demand pinning, the per-VM pin limit (and one below a page),
 * and page-in while the host writes its page.
 *
 * Expected values are written out from docs/uapi.md, not from the code.
 * Where the backends differ by design (daemon/vmm/sim/README.md), the test
 * says so with tt_sim() and both expectations are written out.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "table.h"

/* ---- the lifecycle table, one test per cell ---------------------------- */

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

enum gfn_call {
	G_SHARE,
	G_UNSHARE,
	G_ABORT,
	G_TERMINATE,
	G_INIT_DONE,
	G_PAGE_IN,
	G_PAGE_IN_SHARED,
	G_PAGE_OUT,
	G_NR
};
static const char *const gfn_call_names[G_NR] = {
	"share",     "unshare", "init-abort",	  "terminate",
	"init-done", "page-in", "page-in-shared", "page-out",
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
	{ S, G_SHARE, 0, H },	       { S, G_UNSHARE, 0, S },
	{ S, G_ABORT, 0, N },	       { S, G_TERMINATE, 0, N },
	{ S, G_INIT_DONE, 0, S },      { S, G_PAGE_IN, REFUSED, S },
	{ S, G_PAGE_IN_SHARED, 0, H }, { S, G_PAGE_OUT, 0, P },
	{ P, G_SHARE, 0, H },	       { P, G_UNSHARE, 0, P },
	{ P, G_ABORT, 0, N },	       { P, G_TERMINATE, 0, N },
	{ P, G_INIT_DONE, 0, P },      { P, G_PAGE_IN, 0, S },
	{ P, G_PAGE_IN_SHARED, 0, H }, { P, G_PAGE_OUT, REFUSED, P },
	{ H, G_SHARE, 0, H },	       { H, G_UNSHARE, 0, S },
	{ H, G_ABORT, 0, N },	       { H, G_TERMINATE, 0, N },
	{ H, G_INIT_DONE, 0, H },      { H, G_PAGE_IN, 0, S },
	{ H, G_PAGE_IN_SHARED, 0, H }, { H, G_PAGE_OUT, REFUSED, H },
	{ N, G_SHARE, 0, H },	       { N, G_UNSHARE, 0, S },
	{ N, G_ABORT, 0, N },	       { N, G_TERMINATE, 0, N },
	{ N, G_INIT_DONE, 0, S },      { N, G_PAGE_IN, 0, S },
	{ N, G_PAGE_IN_SHARED, 0, H }, { N, G_PAGE_OUT, REFUSED, N },
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
	struct tt_gfn e;

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
	assert_int_equal(e.state, s == CVM_GFN_SECURE_PAGED_OUT
				      ? CVM_GFN_STATE_SECURE
				      : (unsigned int)s);
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
	assert_int_equal(tt_ops->page_op(vm.b, CVM_PAGE_OP_OUT, 5 * PG, 2),
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

/* ---- the confidentiality contract, tamper, DMA, measurement ---------- */

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
	/* sim: the contents are in the pool, outside the guest memory */
	if (tt_pool_outside_mem)
		assert_true(tt_pool_outside_mem(&vm));
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
	struct cvm_info base, in;
	struct tvm vm;
	int i;

	(void)state;
	for (i = 0; i < 2; i++) {
		start_with_pattern(&vm, 4, 0, 7);
		base = info(&vm);
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
		/* the pool's pages are back */
		assert_int_equal(in.pool_free_pages, base.pool_free_pages);
		/* sim: the pool is the VM's own, so all of it is free */
		if (tt_sim())
			assert_int_equal(in.pool_free_pages,
					 in.pool_total_pages);
		assert_int_equal(stats(&vm).pool_pages, 0);
		tvm_free(&vm);
	}
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
	/* sim: the pool is the VM's own (the module's is shared by all VMs) */
	if (tt_sim())
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
	/* a normal page with a DMA share blocks INIT_DONE: VM stays transient
	 */
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
	static struct tt_gfn e[64];
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
	/* and a new start with the same page-in is where we were */
	assert_int_equal(lc(&vm, CVM_VM_OP_INIT_START), 0);
	assert_int_equal(page_in(&vm, 8), 0);
	snapshot_refs(&vm, refs_after, st_after, fl_after, 16);
	after = stats(&vm);
	assert_memory_equal(refs_before, refs_after, sizeof(refs_before));
	assert_memory_equal(st_before, st_after, sizeof(st_before));
	assert_int_equal(before.pinned_pages, after.pinned_pages);
	assert_int_equal(before.dma_shared_pages, after.dma_shared_pages);
	tvm_free(&vm);
}

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

/* The digest does not depend on the pin mode (demand or upfront). */
static void test_measurement_pin_mode(void **state)
{
	struct cvm_measurement m[2];
	struct tvm vm;
	int mode;

	(void)state;
	for (mode = 0; mode < 2; mode++) {
		assert_int_equal(tvm_new_cfg(&vm, 16 * PG, 0, mode, 0), 0);
		assert_int_equal(gwrite(&vm, 3 * PG, "boot", 4), 0);
		assert_int_equal(gwrite(&vm, 9 * PG, "data", 4), 0);
		assert_int_equal(lc(&vm, CVM_VM_OP_INIT_START), 0);
		assert_int_equal(lc(&vm, CVM_VM_OP_INIT_DONE), 0);
		m[mode] = measurement(&vm);
		assert_int_equal(m[mode].nr_pages, 2);
		assert_int_equal(stats(&vm).pool_pages, 2);
		assert_int_equal(stats(&vm).pinned_pages, mode ? 16 : 2);
		tvm_free(&vm);
	}
	assert_memory_equal(m[0].digest, m[1].digest, CVM_DIGEST_SIZE);
}

/*
 * The snapshot is runs of equal state that agree with the counters; a short
 * buffer says the exact size it needs, a capacity past the maximum is
 * refused.
 */
static void test_snapshot(void **state)
{
	static struct cvm_gfn_run r[64];
	static struct tt_gfn e[64];
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

	/*
	 * 0-2 secure, 3 resident, 4 shared, 5 shared DMA x2, 6 shared,
	 * 7-9 secure, 10 paged out, 11-29 secure, 30-31 resident, 32-34
	 * secure, 35 resident, 36-39 secure: 12 runs, not 40 entries.
	 */
	assert_int_equal(tt_ops->snapshot(vm.b, NULL, 0, &n), -ENOSPC);
	assert_int_equal(n, 12);
	n = 0;
	assert_int_equal(tt_ops->snapshot(vm.b, r, 11, &n), -ENOSPC);
	assert_int_equal(n, 12);
	assert_int_equal(tt_ops->snapshot(vm.b, NULL, 64, &n), -EFAULT);
	assert_int_equal(tt_ops->snapshot(vm.b, r,
					  CVM_SNAPSHOT_MAX_ENTRIES + 1, &n),
			 -EINVAL);
	n = 0;
	assert_int_equal(tt_ops->snapshot(vm.b, r, 12, &n), 0);
	assert_int_equal(n, 12);
	assert_int_equal(check_runs(r, n), 40);
	assert_int_equal(r[7].gfn, 11);
	assert_int_equal(r[7].nr_pages, 19);
	assert_int_equal(r[7].state, CVM_GFN_STATE_SECURE);
	assert_int_equal(r[7].flags, 0);
	assert_int_equal(r[8].gfn, 30);
	assert_int_equal(r[8].nr_pages, 2);

	get_snapshot(&vm, e, 64);
	st = stats(&vm);
	for (i = 0; i < 40; i++) {
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

static double tt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct snap_flipper {
	struct tvm *vm;
	volatile int stop;
	long flips;
	int errors;
};

/* Pages 8..15 back and forth between shared and secure, one call each. */
static void *snap_flip_thread(void *arg)
{
	struct snap_flipper *f = arg;

	while (!f->stop) {
		f->errors += share_pages(f->vm, 8, 8) != 0;
		f->errors += unshare_pages(f->vm, 8, 8) != 0;
		f->flips++;
	}
	return NULL;
}

/*
 * A snapshot taken while another thread converts pages is one instant:
 * the eight pages a conversion moves together are one run, never split
 * between two states, and the runs cover the VM exactly.
 */
static void test_snapshot_one_instant(void **state)
{
	static struct cvm_gfn_run r[64];
	struct snap_flipper f = { .stop = 0 };
	long snaps = 0, split = 0;
	struct tvm vm;
	pthread_t t;
	uint32_t n;
	double end;

	(void)state;
	tvm_new(&vm, 64);
	assert_int_equal(lc(&vm, CVM_VM_OP_INIT_START), 0);
	assert_int_equal(share_pages(&vm, 8, 8), 0);
	f.vm = &vm;
	assert_int_equal(pthread_create(&t, NULL, snap_flip_thread, &f), 0);
	end = tt_now() + 1.0;
	while (tt_now() < end || f.flips < 100) {
		n = 0;
		assert_int_equal(tt_ops->snapshot(vm.b, r, 64, &n),
				 0);
		assert_int_equal(check_runs(r, n), 64);
		snaps++;
		/* normal 0-7, shared or secure 8-15, normal 16-63 */
		split += n != 3 || r[1].gfn != 8 || r[1].nr_pages != 8 ||
			 r[0].state != CVM_GFN_STATE_NORMAL ||
			 r[1].state == CVM_GFN_STATE_NORMAL;
	}
	f.stop = 1;
	pthread_join(t, NULL);
	print_message("%ld snapshots against %ld flips\n", snaps, f.flips);
	assert_int_equal(f.errors, 0);
	assert_int_equal(split, 0);
	tvm_free(&vm);
}

/* ---- pinning ----------------------------------------------------------- */

static void test_demand_pins_nothing(void **state)
{
	long lck = status_kb("VmLck"), pin = status_kb("VmPin");
	struct tvm vm;

	(void)state;
	assert_true(lck >= 0 && pin >= 0);
	tvm_new(&vm, 64 * MIB / PG);
	assert_int_equal(status_kb("VmLck"), lck);
	assert_int_equal(status_kb("VmPin"), pin);
	assert_int_equal(stats(&vm).pinned_pages, 0);
	assert_int_equal(stats(&vm).charged_bytes, 0);
	assert_int_equal(stats(&vm).nr_pages, 64 * MIB / PG);
	assert_int_equal(stats(&vm).nr_memslots, 1);
	/* sim: the VM's own pins; the module: all VMs' (none other here) */
	assert_int_equal(info(&vm).pinned_pages, 0);
	/* the secure pool is not charged: it is not guest memory */
	drive_vm(&vm, CVM_VM_SECURE);
	assert_int_equal(status_kb("VmLck"), lck);
	tvm_free(&vm);
}

/*
 * The per-VM pin limit (rounded down to pages) is checked for the whole
 * call: refused calls pin nothing.
 */
static void vm_pin_limit(uint64_t limit, long lck)
{
	uint8_t buf[3 * PG] = { 0 };
	struct cvm_vm_stats st;
	struct tvm vm;

	assert_int_equal(tvm_new_cfg(&vm, 64 * PG, limit, false, 0), 0);
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
}

static void test_vm_pin_limit(void **state)
{
	long lck = status_kb("VmLck");
	struct tvm vm;

	(void)state;
	/* a limit of 8 pages, and one that is no page multiple */
	vm_pin_limit(8 * PG, lck);
	vm_pin_limit(8 * PG + 100, lck);
	/* an upfront VM over its limit is refused whole */
	assert_int_equal(tvm_new_cfg(&vm, 16 * PG, 8 * PG, true, 0), -ENOMEM);
	assert_int_equal(status_kb("VmLck"), lck);
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

/* ---- pin limit, the measurement of later writes, sealing races -------- */

/* A pin limit below one page is refused, never read as "no limit". */
static void test_pin_limit_below_page(void **state)
{
	static const uint8_t b = 0x5c;
	struct tvm vm;

	(void)state;
	assert_int_equal(tvm_new_cfg(&vm, 16 * PG, 1, false, 0), -EINVAL);
	assert_int_equal(tvm_new_cfg(&vm, 16 * PG, PG - 1, false, 0), -EINVAL);
	/* one page: one page, and not two */
	assert_int_equal(tvm_new_cfg(&vm, 16 * PG, PG, false, 0), 0);
	assert_int_equal(stats(&vm).pin_limit_bytes, PG);
	assert_int_equal(gwrite(&vm, 0, &b, 1), 0);
	assert_int_equal(gwrite(&vm, PG, &b, 1), -ENOMEM);
	assert_int_equal(stats(&vm).pinned_pages, 1);
	tvm_free(&vm);
	/* above a page: rounded down to pages */
	assert_int_equal(tvm_new_cfg(&vm, 16 * PG, 2 * PG + 1, false, 0), 0);
	assert_int_equal(stats(&vm).pin_limit_bytes, 2 * PG);
	tvm_free(&vm);
}

/*
 * While transient, a guest write to a secure page, whose contents the
 * measurement already holds, extends it with the page as written (GPA,
 * contents); reads, and writes to normal pages, don't.
 */
static void test_measure_writes_to_secure(void **state)
{
	static uint8_t first[PG], second[PG], third[PG], normal[PG];
	uint8_t expect[CVM_DIGEST_SIZE];
	struct cvm_measurement m;
	EVP_MD_CTX *ctx;
	struct tvm vm;

	(void)state;
	start_with_pattern(&vm, 4, 1, 21);
	assert_int_equal(page_in(&vm, 1), 0);
	assert_int_equal(stats(&vm).measured_pages, 1);
	memcpy(first, pattern, PG);
	memcpy(second, pattern, PG);
	memset(second + 100, 0x5a, 8);
	assert_int_equal(gwrite(&vm, PG + 100, second + 100, 8), 0);
	assert_int_equal(stats(&vm).measured_pages, 2);
	/* paged out, then written: paged in, written, measured as written */
	assert_int_equal(page_out(&vm, 1), 0);
	memcpy(third, second, PG);
	third[4000] ^= 0x01;
	assert_int_equal(gwrite(&vm, PG + 4000, third + 4000, 1), 0);
	assert_int_equal(stats(&vm).measured_pages, 3);
	/* a read, and a write to a normal page, leave it */
	assert_int_equal(gread(&vm, PG, page_buf, 16), 0);
	normal[0] = 'x';
	assert_int_equal(gwrite(&vm, 2 * PG, normal, 1), 0);
	assert_int_equal(stats(&vm).measured_pages, 3);
	assert_int_equal(lc(&vm, CVM_VM_OP_INIT_DONE), 0);
	m = measurement(&vm);
	assert_int_equal(m.flags, CVM_MEASUREMENT_SEALED);
	/* INIT_DONE adds the touched normal page 2 */
	assert_int_equal(m.nr_pages, 4);
	ctx = sha_begin();
	sha_page(ctx, PG, first);
	sha_page(ctx, PG, second);
	sha_page(ctx, PG, third);
	sha_page(ctx, 2 * PG, normal);
	sha_end(ctx, expect);
	assert_memory_equal(m.digest, expect, sizeof(expect));
	/* sealed: a later write to a secure page leaves it */
	assert_int_equal(gwrite(&vm, PG, normal, 1), 0);
	m = measurement(&vm);
	assert_int_equal(m.nr_pages, 4);
	assert_memory_equal(m.digest, expect, sizeof(expect));
	tvm_free(&vm);
}

/* Keeps toggling one byte of a host page (an even number of times). */
struct flipper {
	volatile uint8_t *byte;
	int run;
	int started;
};

static void *flip_thread(void *arg)
{
	struct flipper *f = arg;

	__atomic_store_n(&f->started, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&f->run, __ATOMIC_ACQUIRE)) {
		*f->byte ^= 0x01;
		*f->byte ^= 0x01;
	}
	return NULL;
}

#define FLIP_ROUNDS 300

/*
 * The host writes its page while it is being opened (another thread of
 * the VMM here; a MAP_SHARED peer alike): a page-in either yields the
 * authentic contents or fails with -EBADMSG, never other bytes.
 */
static void test_page_in_while_host_writes(void **state)
{
	struct flipper f;
	int i, ret, rejected = 0, wrong = 0;
	pthread_t t;
	struct tvm vm;

	(void)state;
	start_with_pattern(&vm, 4, 1, 33);
	assert_int_equal(page_in(&vm, 1), 0);
	for (i = 0; i < FLIP_ROUNDS; i++) {
		assert_int_equal(page_out(&vm, 1), 0);
		f.byte = vm.mem + PG + (size_t)i * 37 % PG;
		f.run = 1;
		f.started = 0;
		assert_int_equal(pthread_create(&t, NULL, flip_thread, &f), 0);
		while (!__atomic_load_n(&f.started, __ATOMIC_ACQUIRE))
			;
		ret = page_in(&vm, 1);
		__atomic_store_n(&f.run, 0, __ATOMIC_RELEASE);
		pthread_join(t, NULL);
		if (ret == -EBADMSG) {
			/* the host page holds the sealed bytes again */
			rejected++;
			assert_int_equal(stats(&vm).secure_paged_out, 1);
			ret = page_in(&vm, 1);
		}
		assert_int_equal(ret, 0);
		if (memcmp(guest_view(&vm, 1), pattern, PG))
			wrong++;
	}
	print_message("%d page-ins under host writes: %d refused, %d wrong\n",
		      FLIP_ROUNDS, rejected, wrong);
	assert_int_equal(wrong, 0);
	tvm_free(&vm);
}

static char *cell_name(const char *table, const char *from, const char *op,
		       int err, const char *to)
{
	char *name = NULL;

	if (err)
		assert_true(asprintf(&name, "%s %s x %s -> refused (%s)", table,
				     from, op,
				     err == REFUSED ? "wrong state"
						    : "not started") > 0);
	else
		assert_true(asprintf(&name, "%s %s x %s -> %s", table, from, op,
				     to) > 0);
	return name;
}

int tt_run_tables(const struct cvm_backend_ops *ops, const char *dev_path)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_vm_start_is_not_a_backend_op),
		cmocka_unit_test(test_page_ops_not_started),
		cmocka_unit_test(test_init_done_counts),
		cmocka_unit_test(test_range_all_or_nothing),
		cmocka_unit_test(test_view_normal_and_shared),
		cmocka_unit_test(test_view_secure_resident),
		cmocka_unit_test(test_view_secure_paged_out),
		cmocka_unit_test(test_unshare_and_init_done_keep_data),
		cmocka_unit_test(test_share_discards),
		cmocka_unit_test(test_abort_terminate_discard),
		cmocka_unit_test(test_tamper_swap_replay),
		cmocka_unit_test(test_dma_refcount_busy),
		cmocka_unit_test(test_dma_range_rollback),
		cmocka_unit_test(test_measurement),
		cmocka_unit_test(test_measurement_pin_mode),
		cmocka_unit_test(test_snapshot),
		cmocka_unit_test(test_snapshot_one_instant),
		cmocka_unit_test(test_demand_pins_nothing),
		cmocka_unit_test(test_vm_pin_limit),
		cmocka_unit_test(test_pinned_page_is_host_page),
		cmocka_unit_test(test_pin_limit_below_page),
		cmocka_unit_test(test_measure_writes_to_secure),
		cmocka_unit_test(test_page_in_while_host_writes),
	};
	size_t nvm = sizeof(vm_cells) / sizeof(vm_cells[0]);
	size_t ngfn = sizeof(gfn_cells) / sizeof(gfn_cells[0]);
	size_t nfixed = sizeof(fixed) / sizeof(fixed[0]);
	struct CMUnitTest *tests = calloc(nvm + ngfn + nfixed, sizeof(*tests));
	size_t i, n = 0;
	int failed;

	if (!tests)
		return 1;
	tt_ops = ops;
	tt_dev_path = dev_path;
	for (i = 0; i < nvm; i++, n++) {
		tests[n].name =
		    cell_name("vm", cvm_vm_state_name(vm_cells[i].from),
			      cvm_vm_op_name(vm_cells[i].op), vm_cells[i].err,
			      cvm_vm_state_name(vm_cells[i].to));
		tests[n].test_func = test_vm_cell;
		tests[n].initial_state = (void *)&vm_cells[i];
	}
	for (i = 0; i < ngfn; i++, n++) {
		tests[n].name =
		    cell_name("gfn", cvm_gfn_state_name(gfn_cells[i].from),
			      gfn_call_names[gfn_cells[i].op], gfn_cells[i].err,
			      cvm_gfn_state_name(gfn_cells[i].to));
		tests[n].test_func = test_gfn_cell;
		tests[n].initial_state = (void *)&gfn_cells[i];
	}
	for (i = 0; i < nfixed; i++)
		tests[n++] = fixed[i];
	failed = _cmocka_run_group_tests("tables", tests, n, NULL, NULL);
	for (i = 0; i < nvm + ngfn; i++)
		free((char *)tests[i].name);
	free(tests);
	return failed;
}
