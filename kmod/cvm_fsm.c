// SPDX-License-Identifier: GPL-2.0-only OR LGPL-2.1-or-later
/*
 * cvm_fsm.c - the two state tables of DESIGN §2 and §3, written as tables
 * so that each cell reads exactly as it does in the design.
 */
#ifdef __KERNEL__
#include <linux/errno.h>
#include <linux/kernel.h>
#else
#include <errno.h>
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

#include "cvm_fsm.h"

/* A cell: the new state, or the error that refuses the operation. */
struct cvm_cell {
	int err;
	int to;
};

#define TO(s)		{ 0, (s) }
#define REFUSED		{ -EBADFD, 0 }
#define NOT_STARTED	{ -EOPNOTSUPP, 0 }

/*
 * Row: current VM state; column: operation. "start VM" of a transient VM
 * is n/a in the design (a transient VM never runs): refused here.
 */
static const struct cvm_cell vm_table[CVM_VM_NR_STATES][CVM_VM_NR_OPS] = {
	[CVM_VM_NORMAL] = {
		[CVM_VM_OP_START_VM]   = TO(CVM_VM_NORMAL),
		[CVM_VM_OP_INIT_START] = TO(CVM_VM_TRANSIENT),
		[CVM_VM_OP_INIT_DONE]  = NOT_STARTED,
		[CVM_VM_OP_INIT_ABORT] = NOT_STARTED,
		[CVM_VM_OP_TERMINATE]  = TO(CVM_VM_NORMAL),
	},
	[CVM_VM_SECURE] = {
		[CVM_VM_OP_START_VM]   = REFUSED,
		[CVM_VM_OP_INIT_START] = REFUSED,
		[CVM_VM_OP_INIT_DONE]  = REFUSED,
		[CVM_VM_OP_INIT_ABORT] = REFUSED,
		[CVM_VM_OP_TERMINATE]  = TO(CVM_VM_NORMAL),
	},
	[CVM_VM_TRANSIENT] = {
		[CVM_VM_OP_START_VM]   = REFUSED,
		[CVM_VM_OP_INIT_START] = REFUSED,
		[CVM_VM_OP_INIT_DONE]  = TO(CVM_VM_SECURE),
		[CVM_VM_OP_INIT_ABORT] = TO(CVM_VM_NORMAL),
		[CVM_VM_OP_TERMINATE]  = TO(CVM_VM_NORMAL),
	},
};

/*
 * Row: current GFN state; column: operation. The first four columns are
 * the design's GFN table (a paged-out GFN is "secure" there and keeps its
 * paged-out form where the table says "secure"); PAGE_IN and PAGE_OUT are
 * the migration operations between resident and paged out.
 */
static const struct cvm_cell gfn_table[CVM_GFN_NR_STATES][CVM_GFN_NR_OPS] = {
	[CVM_GFN_SECURE] = {
		[CVM_GFN_OP_SHARE]     = TO(CVM_GFN_SHARED),
		[CVM_GFN_OP_UNSHARE]   = TO(CVM_GFN_SECURE),
		[CVM_GFN_OP_DROP]      = TO(CVM_GFN_NORMAL),
		[CVM_GFN_OP_INIT_DONE] = TO(CVM_GFN_SECURE),
		[CVM_GFN_OP_PAGE_IN]   = REFUSED,
		[CVM_GFN_OP_PAGE_OUT]  = TO(CVM_GFN_SECURE_PAGED_OUT),
	},
	[CVM_GFN_SECURE_PAGED_OUT] = {
		[CVM_GFN_OP_SHARE]     = TO(CVM_GFN_SHARED),
		[CVM_GFN_OP_UNSHARE]   = TO(CVM_GFN_SECURE_PAGED_OUT),
		[CVM_GFN_OP_DROP]      = TO(CVM_GFN_NORMAL),
		[CVM_GFN_OP_INIT_DONE] = TO(CVM_GFN_SECURE_PAGED_OUT),
		[CVM_GFN_OP_PAGE_IN]   = TO(CVM_GFN_SECURE),
		[CVM_GFN_OP_PAGE_OUT]  = REFUSED,
	},
	[CVM_GFN_SHARED] = {
		[CVM_GFN_OP_SHARE]     = TO(CVM_GFN_SHARED),
		[CVM_GFN_OP_UNSHARE]   = TO(CVM_GFN_SECURE),
		[CVM_GFN_OP_DROP]      = TO(CVM_GFN_NORMAL),
		[CVM_GFN_OP_INIT_DONE] = TO(CVM_GFN_SHARED),
		[CVM_GFN_OP_PAGE_IN]   = TO(CVM_GFN_SECURE),
		[CVM_GFN_OP_PAGE_OUT]  = REFUSED,
	},
	[CVM_GFN_NORMAL] = {
		[CVM_GFN_OP_SHARE]     = TO(CVM_GFN_SHARED),
		[CVM_GFN_OP_UNSHARE]   = TO(CVM_GFN_SECURE),
		[CVM_GFN_OP_DROP]      = TO(CVM_GFN_NORMAL),
		[CVM_GFN_OP_INIT_DONE] = TO(CVM_GFN_SECURE),
		[CVM_GFN_OP_PAGE_IN]   = TO(CVM_GFN_SECURE),
		[CVM_GFN_OP_PAGE_OUT]  = REFUSED,
	},
};

static int cell_apply(const struct cvm_cell *cell, int *ret_to)
{
	if (cell->err)
		return cell->err;
	*ret_to = cell->to;
	return 0;
}

/**
 * cvm_vm_transition() - look up the lifecycle table
 * @from: the VM's current state
 * @op: the operation asked for
 * @ret_to: the new state, set only on success
 *
 * Return: 0, -EOPNOTSUPP (not started), -EBADFD (wrong state) or -EINVAL
 * (an operation or state outside the table).
 */
int cvm_vm_transition(enum cvm_vm_state from, enum cvm_vm_op op,
		      enum cvm_vm_state *ret_to)
{
	int to, ret;

	if ((unsigned int)from >= CVM_VM_NR_STATES ||
	    (unsigned int)op >= CVM_VM_NR_OPS)
		return -EINVAL;
	ret = cell_apply(&vm_table[from][op], &to);
	if (!ret)
		*ret_to = (enum cvm_vm_state)to;
	return ret;
}

/**
 * cvm_vm_page_op_check() - may page operations run in this VM state?
 * @state: the VM's current state
 *
 * Return: 0 when transient or secure, -EOPNOTSUPP in a normal VM (not
 * started), -EINVAL for a state outside the table.
 */
int cvm_vm_page_op_check(enum cvm_vm_state state)
{
	switch (state) {
	case CVM_VM_NORMAL:
		return -EOPNOTSUPP;
	case CVM_VM_TRANSIENT:
	case CVM_VM_SECURE:
		return 0;
	}
	return -EINVAL;
}

/**
 * cvm_gfn_transition() - look up the GFN table
 * @from: the GFN's current state
 * @op: the operation asked for
 * @ret_to: the new state, set only on success
 *
 * Return: 0, -EBADFD (wrong GFN state) or -EINVAL (outside the table).
 */
int cvm_gfn_transition(enum cvm_gfn_state from, enum cvm_gfn_op op,
		       enum cvm_gfn_state *ret_to)
{
	int to, ret;

	if ((unsigned int)from >= CVM_GFN_NR_STATES ||
	    (unsigned int)op >= CVM_GFN_NR_OPS)
		return -EINVAL;
	ret = cell_apply(&gfn_table[from][op], &to);
	if (!ret)
		*ret_to = (enum cvm_gfn_state)to;
	return ret;
}

static const char *const vm_state_names[CVM_VM_NR_STATES] = {
	[CVM_VM_NORMAL] = "normal",
	[CVM_VM_TRANSIENT] = "transient",
	[CVM_VM_SECURE] = "secure",
};

static const char *const vm_op_names[CVM_VM_NR_OPS] = {
	[CVM_VM_OP_START_VM] = "start",
	[CVM_VM_OP_INIT_START] = "init-start",
	[CVM_VM_OP_INIT_DONE] = "init-done",
	[CVM_VM_OP_INIT_ABORT] = "init-abort",
	[CVM_VM_OP_TERMINATE] = "terminate",
};

static const char *const gfn_state_names[CVM_GFN_NR_STATES] = {
	[CVM_GFN_NORMAL] = "normal",
	[CVM_GFN_SHARED] = "shared",
	[CVM_GFN_SECURE] = "secure",
	[CVM_GFN_SECURE_PAGED_OUT] = "secure-paged-out",
};

static const char *const gfn_op_names[CVM_GFN_NR_OPS] = {
	[CVM_GFN_OP_SHARE] = "share",
	[CVM_GFN_OP_UNSHARE] = "unshare",
	[CVM_GFN_OP_DROP] = "drop",
	[CVM_GFN_OP_INIT_DONE] = "init-done",
	[CVM_GFN_OP_PAGE_IN] = "page-in",
	[CVM_GFN_OP_PAGE_OUT] = "page-out",
};

static const char *name_of(const char *const *names, unsigned int nr,
			   unsigned int i)
{
	return i < nr ? names[i] : "invalid";
}

const char *cvm_vm_state_name(enum cvm_vm_state state)
{
	return name_of(vm_state_names, ARRAY_SIZE(vm_state_names), state);
}

const char *cvm_vm_op_name(enum cvm_vm_op op)
{
	return name_of(vm_op_names, ARRAY_SIZE(vm_op_names), op);
}

const char *cvm_gfn_state_name(enum cvm_gfn_state state)
{
	return name_of(gfn_state_names, ARRAY_SIZE(gfn_state_names), state);
}

const char *cvm_gfn_op_name(enum cvm_gfn_op op)
{
	return name_of(gfn_op_names, ARRAY_SIZE(gfn_op_names), op);
}
