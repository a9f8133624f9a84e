// SPDX-License-Identifier: GPL-2.0
/*
 * cvm_gfn.c - per-GFN state, stored sparsely: only GFNs whose state
 * differs from the VM's untouched state have an entry, so lifecycle
 * changes walk the touched GFNs, never the whole guest memory.
 */
#include <linux/sched.h>

#include "cvm_internal.h"

enum cvm_gfn_state cvm_gfn_state(struct cvm_vm *vm, u64 gfn)
{
	void *entry = xa_load(&vm->gfn_states, gfn);

	return entry ? xa_to_value(entry) : vm->untouched_state;
}

/**
 * cvm_gfn_count() - how many GFNs of the VM are in a state
 * @vm: the VM, locked
 * @state: the state
 */
u64 cvm_gfn_count(struct cvm_vm *vm, enum cvm_gfn_state state)
{
	u64 explicit = 0;
	int s;

	if (state != vm->untouched_state)
		return vm->nr_explicit[state];
	for (s = 0; s < CVM_GFN_NR_STATES; s++)
		explicit += vm->nr_explicit[s];
	return vm->nr_explicit[state] + vm->nr_pages - explicit;
}

/*
 * Set a GFN's state. Storing into a slot reserved beforehand (or erasing)
 * does not allocate, so this can't fail for callers that reserved.
 */
static int cvm_gfn_set(struct cvm_vm *vm, u64 gfn, enum cvm_gfn_state to)
{
	enum cvm_gfn_state from = cvm_gfn_state(vm, gfn);
	void *old;

	if (from == to)
		return 0;
	if (to == vm->untouched_state) {
		xa_erase(&vm->gfn_states, gfn);
	} else {
		old = xa_store(&vm->gfn_states, gfn, xa_mk_value(to),
			       GFP_KERNEL_ACCOUNT);
		if (xa_is_err(old))
			return xa_err(old);
		vm->nr_explicit[to]++;
	}
	if (from != vm->untouched_state)
		vm->nr_explicit[from]--;
	return 0;
}

/**
 * cvm_gfn_apply_range() - apply a GFN-table operation to a range, all or
 * nothing
 * @vm: the VM, locked, started (transient or secure)
 * @gfn: first GFN, the range inside memslots
 * @npages: GFNs in the range
 * @op: the operation
 *
 * Every GFN is checked against the table first and every entry that will
 * be needed is reserved, so the second pass can't fail half way.
 *
 * Return: 0, -EBADFD when any GFN is in the wrong state (nothing changed),
 * -ENOMEM.
 */
int cvm_gfn_apply_range(struct cvm_vm *vm, u64 gfn, u64 npages,
			enum cvm_gfn_op op)
{
	enum cvm_gfn_state from, to;
	u64 i;
	int ret;

	for (i = 0; i < npages; i++) {
		from = cvm_gfn_state(vm, gfn + i);
		ret = cvm_gfn_transition(from, op, &to);
		if (!ret && from != to && to != vm->untouched_state &&
		    from == vm->untouched_state)
			ret = xa_reserve(&vm->gfn_states, gfn + i,
					 GFP_KERNEL_ACCOUNT);
		if (ret)
			goto err_release;
		cond_resched();
	}
	for (i = 0; i < npages; i++) {
		from = cvm_gfn_state(vm, gfn + i);
		cvm_gfn_transition(from, op, &to);
		ret = cvm_gfn_set(vm, gfn + i, to);
		if (WARN_ON_ONCE(ret))
			return ret;
	}
	return 0;

err_release:
	/* Releasing a slot that holds a value is a no-op: safe for all. */
	while (i--)
		xa_release(&vm->gfn_states, gfn + i);
	return ret;
}

/*
 * INIT_DONE: normal GFNs become secure, shared ones stay shared (the GFN
 * table's INIT_DONE column). Untouched GFNs are all normal and become
 * secure by flipping the untouched state; only explicit entries are
 * walked.
 */
void cvm_gfn_init_done(struct cvm_vm *vm)
{
	unsigned long gfn;
	void *entry;

	/* Normal GFNs never hold an entry while untouched means normal. */
	WARN_ON_ONCE(vm->untouched_state != CVM_GFN_NORMAL ||
		     vm->nr_explicit[CVM_GFN_NORMAL]);
	vm->untouched_state = CVM_GFN_SECURE;
	xa_for_each(&vm->gfn_states, gfn, entry) {
		if (xa_to_value(entry) == CVM_GFN_SECURE) {
			xa_erase(&vm->gfn_states, gfn);
			vm->nr_explicit[CVM_GFN_SECURE]--;
		}
	}
	/* Paged-out and shared entries differ from untouched: kept. */
}

/* INIT_ABORT and TERMINATE: every GFN becomes normal. */
void cvm_gfn_drop_all(struct cvm_vm *vm)
{
	unsigned long gfn;
	void *entry;
	int s;

	xa_for_each(&vm->gfn_states, gfn, entry)
		xa_erase(&vm->gfn_states, gfn);
	for (s = 0; s < CVM_GFN_NR_STATES; s++)
		vm->nr_explicit[s] = 0;
	vm->untouched_state = CVM_GFN_NORMAL;
}

/* A memslot goes away: its GFNs stop existing. */
void cvm_gfn_forget_range(struct cvm_vm *vm, u64 gfn, u64 npages)
{
	unsigned long idx;
	void *entry;

	xa_for_each_range(&vm->gfn_states, idx, entry, gfn, gfn + npages - 1) {
		xa_erase(&vm->gfn_states, idx);
		vm->nr_explicit[xa_to_value(entry)]--;
	}
}
