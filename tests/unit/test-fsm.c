// SPDX-License-Identifier: GPL-2.0
/*
 * test-fsm.c - every cell of the VM lifecycle table and of the GFN table
 * (DESIGN §2, §3), one cmocka test per cell, against the state machine
 * that cvm.ko and the simulator both compile.
 *
 * The expected cells are written out here independently of kmod/cvm_fsm.c,
 * straight from the design's tables.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cvm_fsm.h"

#define REFUSED (-EBADFD)
#define NOT_STARTED (-EOPNOTSUPP)

struct vm_cell {
	enum cvm_vm_state from;
	enum cvm_vm_op op;
	int err;
	enum cvm_vm_state to;
};

static const struct vm_cell vm_cells[] = {
	{ CVM_VM_NORMAL, CVM_VM_OP_START_VM, 0, CVM_VM_NORMAL },
	{ CVM_VM_NORMAL, CVM_VM_OP_INIT_START, 0, CVM_VM_TRANSIENT },
	{ CVM_VM_NORMAL, CVM_VM_OP_INIT_DONE, NOT_STARTED, 0 },
	{ CVM_VM_NORMAL, CVM_VM_OP_INIT_ABORT, NOT_STARTED, 0 },
	{ CVM_VM_NORMAL, CVM_VM_OP_TERMINATE, 0, CVM_VM_NORMAL },
	{ CVM_VM_SECURE, CVM_VM_OP_START_VM, REFUSED, 0 },
	{ CVM_VM_SECURE, CVM_VM_OP_INIT_START, REFUSED, 0 },
	{ CVM_VM_SECURE, CVM_VM_OP_INIT_DONE, REFUSED, 0 },
	{ CVM_VM_SECURE, CVM_VM_OP_INIT_ABORT, REFUSED, 0 },
	{ CVM_VM_SECURE, CVM_VM_OP_TERMINATE, 0, CVM_VM_NORMAL },
	/* "start VM" of a transient VM is n/a: refused. */
	{ CVM_VM_TRANSIENT, CVM_VM_OP_START_VM, REFUSED, 0 },
	{ CVM_VM_TRANSIENT, CVM_VM_OP_INIT_START, REFUSED, 0 },
	{ CVM_VM_TRANSIENT, CVM_VM_OP_INIT_DONE, 0, CVM_VM_SECURE },
	{ CVM_VM_TRANSIENT, CVM_VM_OP_INIT_ABORT, 0, CVM_VM_NORMAL },
	{ CVM_VM_TRANSIENT, CVM_VM_OP_TERMINATE, 0, CVM_VM_NORMAL },
};

struct gfn_cell {
	enum cvm_gfn_state from;
	enum cvm_gfn_op op;
	int err;
	enum cvm_gfn_state to;
};

#define S CVM_GFN_SECURE
#define P CVM_GFN_SECURE_PAGED_OUT
#define H CVM_GFN_SHARED
#define N CVM_GFN_NORMAL
static const struct gfn_cell gfn_cells[] = {
	/* The design's table: share, unshare, abort/terminate, INIT_DONE. */
	{ S, CVM_GFN_OP_SHARE, 0, H },
	{ S, CVM_GFN_OP_UNSHARE, 0, S },
	{ S, CVM_GFN_OP_DROP, 0, N },
	{ S, CVM_GFN_OP_INIT_DONE, 0, S },
	{ H, CVM_GFN_OP_SHARE, 0, H },
	{ H, CVM_GFN_OP_UNSHARE, 0, S },
	{ H, CVM_GFN_OP_DROP, 0, N },
	{ H, CVM_GFN_OP_INIT_DONE, 0, H },
	{ N, CVM_GFN_OP_SHARE, 0, H },
	{ N, CVM_GFN_OP_UNSHARE, 0, S },
	{ N, CVM_GFN_OP_DROP, 0, N },
	{ N, CVM_GFN_OP_INIT_DONE, 0, S },
	/* A paged-out GFN is "secure" in the table and stays paged out. */
	{ P, CVM_GFN_OP_SHARE, 0, H },
	{ P, CVM_GFN_OP_UNSHARE, 0, P },
	{ P, CVM_GFN_OP_DROP, 0, N },
	{ P, CVM_GFN_OP_INIT_DONE, 0, P },
	/* Migration: page-in to resident, page-out of resident only. */
	{ N, CVM_GFN_OP_PAGE_IN, 0, S },
	{ H, CVM_GFN_OP_PAGE_IN, 0, S },
	{ S, CVM_GFN_OP_PAGE_IN, REFUSED, 0 },
	{ P, CVM_GFN_OP_PAGE_IN, 0, S },
	{ N, CVM_GFN_OP_PAGE_OUT, REFUSED, 0 },
	{ H, CVM_GFN_OP_PAGE_OUT, REFUSED, 0 },
	{ S, CVM_GFN_OP_PAGE_OUT, 0, P },
	{ P, CVM_GFN_OP_PAGE_OUT, REFUSED, 0 },
};
#undef S
#undef P
#undef H
#undef N

#define SENTINEL_VM ((enum cvm_vm_state)77)
#define SENTINEL_GFN ((enum cvm_gfn_state)77)

static void test_vm_cell(void **state)
{
	const struct vm_cell *c = *state;
	enum cvm_vm_state to = SENTINEL_VM;

	assert_int_equal(cvm_vm_transition(c->from, c->op, &to), c->err);
	/* A refused cell leaves the output untouched: nothing changes. */
	assert_int_equal(to, c->err ? SENTINEL_VM : c->to);
}

static void test_gfn_cell(void **state)
{
	const struct gfn_cell *c = *state;
	enum cvm_gfn_state to = SENTINEL_GFN;

	assert_int_equal(cvm_gfn_transition(c->from, c->op, &to), c->err);
	assert_int_equal(to, c->err ? SENTINEL_GFN : c->to);
}

static void test_tables_complete(void **state)
{
	(void)state;
	/* Every (state, op) pair of both tables is listed above exactly once. */
	assert_int_equal(sizeof(vm_cells) / sizeof(vm_cells[0]),
			 CVM_VM_NR_STATES * CVM_VM_NR_OPS);
	assert_int_equal(sizeof(gfn_cells) / sizeof(gfn_cells[0]),
			 CVM_GFN_NR_STATES * CVM_GFN_NR_OPS);
}

static void test_page_op_check(void **state)
{
	(void)state;
	assert_int_equal(cvm_vm_page_op_check(CVM_VM_NORMAL), -EOPNOTSUPP);
	assert_int_equal(cvm_vm_page_op_check(CVM_VM_TRANSIENT), 0);
	assert_int_equal(cvm_vm_page_op_check(CVM_VM_SECURE), 0);
	assert_int_equal(cvm_vm_page_op_check((enum cvm_vm_state)3), -EINVAL);
}

static void test_out_of_table(void **state)
{
	enum cvm_vm_state vto = SENTINEL_VM;
	enum cvm_gfn_state gto = SENTINEL_GFN;

	(void)state;
	assert_int_equal(cvm_vm_transition(CVM_VM_NR_STATES, 0, &vto), -EINVAL);
	assert_int_equal(cvm_vm_transition(0, CVM_VM_NR_OPS, &vto), -EINVAL);
	assert_int_equal(cvm_vm_transition((enum cvm_vm_state)-1, 0, &vto),
			 -EINVAL);
	assert_int_equal(cvm_gfn_transition(CVM_GFN_NR_STATES, 0, &gto),
			 -EINVAL);
	assert_int_equal(cvm_gfn_transition(0, CVM_GFN_NR_OPS, &gto), -EINVAL);
	assert_int_equal(vto, SENTINEL_VM);
	assert_int_equal(gto, SENTINEL_GFN);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(cvm_vm_state_name(CVM_VM_TRANSIENT), "transient");
	assert_string_equal(cvm_vm_op_name(CVM_VM_OP_INIT_ABORT), "init-abort");
	assert_string_equal(cvm_gfn_state_name(CVM_GFN_SECURE_PAGED_OUT),
			    "secure-paged-out");
	assert_string_equal(cvm_gfn_op_name(CVM_GFN_OP_PAGE_OUT), "page-out");
	assert_string_equal(cvm_vm_state_name((enum cvm_vm_state)9), "invalid");
	assert_string_equal(cvm_gfn_op_name((enum cvm_gfn_op)-1), "invalid");
	assert_true(cvm_gfn_is_secure(CVM_GFN_SECURE_PAGED_OUT));
	assert_false(cvm_gfn_is_secure(CVM_GFN_SHARED));
}

static char *cell_name(const char *table, const char *from, const char *op,
		       int err, const char *to)
{
	char *name;

	if (err)
		asprintf(&name, "%s %s x %s -> refused (%s)", table, from, op,
			 err == REFUSED ? "wrong state" : "not started");
	else
		asprintf(&name, "%s %s x %s -> %s", table, from, op, to);
	return name;
}

int main(void)
{
	size_t nvm = sizeof(vm_cells) / sizeof(vm_cells[0]);
	size_t ngfn = sizeof(gfn_cells) / sizeof(gfn_cells[0]);
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_tables_complete),
		cmocka_unit_test(test_page_op_check),
		cmocka_unit_test(test_out_of_table),
		cmocka_unit_test(test_names),
	};
	size_t nfixed = sizeof(fixed) / sizeof(fixed[0]);
	struct CMUnitTest *tests = calloc(nvm + ngfn + nfixed, sizeof(*tests));
	size_t i, n = 0;
	int failed;

	for (i = 0; i < nvm; i++, n++) {
		const struct vm_cell *c = &vm_cells[i];

		tests[n].name = cell_name("vm", cvm_vm_state_name(c->from),
					  cvm_vm_op_name(c->op), c->err,
					  cvm_vm_state_name(c->to));
		tests[n].test_func = test_vm_cell;
		tests[n].initial_state = (void *)c;
	}
	for (i = 0; i < ngfn; i++, n++) {
		const struct gfn_cell *c = &gfn_cells[i];

		tests[n].name = cell_name("gfn", cvm_gfn_state_name(c->from),
					  cvm_gfn_op_name(c->op), c->err,
					  cvm_gfn_state_name(c->to));
		tests[n].test_func = test_gfn_cell;
		tests[n].initial_state = (void *)c;
	}
	for (i = 0; i < nfixed; i++)
		tests[n++] = fixed[i];

	failed = _cmocka_run_group_tests("fsm", tests, n, NULL, NULL);
	for (i = 0; i < nvm + ngfn; i++)
		free((char *)tests[i].name);
	free(tests);
	return failed;
}
