/* SPDX-License-Identifier: GPL-2.0-only OR LGPL-2.1-or-later */
/*
 * cvm_fsm.h - the VM lifecycle table and the GFN table (DESIGN §2, §3).
 *
 * Pure functions with no allocation, locking or I/O, compiled into cvm.ko
 * and into userspace (the simulator backend and the unit tests), so both
 * homes enforce the very same cells.
 */
#ifndef CVM_FSM_H
#define CVM_FSM_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdbool.h>
#endif

/* Values match CVM_STATE_* in the uapi header. */
enum cvm_vm_state {
	CVM_VM_NORMAL,
	CVM_VM_TRANSIENT,
	CVM_VM_SECURE,
};
#define CVM_VM_NR_STATES 3

enum cvm_vm_op {
	CVM_VM_OP_START_VM,
	CVM_VM_OP_INIT_START,
	CVM_VM_OP_INIT_DONE,
	CVM_VM_OP_INIT_ABORT,
	CVM_VM_OP_TERMINATE,
};
#define CVM_VM_NR_OPS 5

/*
 * A secure GFN is resident (its contents in the secure pool) or paged out
 * (encrypted in the host page); the GFN table treats both as "secure".
 */
enum cvm_gfn_state {
	CVM_GFN_NORMAL,
	CVM_GFN_SHARED,
	CVM_GFN_SECURE,
	CVM_GFN_SECURE_PAGED_OUT,
};
#define CVM_GFN_NR_STATES 4

enum cvm_gfn_op {
	CVM_GFN_OP_SHARE,
	CVM_GFN_OP_UNSHARE,
	CVM_GFN_OP_DROP,	/* INIT_ABORT or TERMINATE */
	CVM_GFN_OP_INIT_DONE,
	CVM_GFN_OP_PAGE_IN,
	CVM_GFN_OP_PAGE_OUT,
};
#define CVM_GFN_NR_OPS 6

/*
 * Errors of the tables, distinct from "bad argument" (-EINVAL):
 * -EOPNOTSUPP: the VM has not started secure init (INIT_START has not
 *	run): page operations, INIT_DONE and INIT_ABORT in a normal VM.
 * -EBADFD: the VM or the GFN is in the wrong state for the operation.
 */
int cvm_vm_transition(enum cvm_vm_state from, enum cvm_vm_op op,
		      enum cvm_vm_state *ret_to);
int cvm_vm_page_op_check(enum cvm_vm_state state);
int cvm_gfn_transition(enum cvm_gfn_state from, enum cvm_gfn_op op,
		       enum cvm_gfn_state *ret_to);

static inline bool cvm_gfn_is_secure(enum cvm_gfn_state s)
{
	return s == CVM_GFN_SECURE || s == CVM_GFN_SECURE_PAGED_OUT;
}

const char *cvm_vm_state_name(enum cvm_vm_state state);
const char *cvm_vm_op_name(enum cvm_vm_op op);
const char *cvm_gfn_state_name(enum cvm_gfn_state state);
const char *cvm_gfn_op_name(enum cvm_gfn_op op);

#endif /* CVM_FSM_H */
