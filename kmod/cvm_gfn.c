// SPDX-License-Identifier: GPL-2.0-only OR LGPL-2.1-or-later
/*
 * cvm_gfn.c - per-GFN state, stored sparsely: only GFNs whose state
 * differs from the VM's untouched state have an entry, so lifecycle
 * changes walk the touched GFNs, never the whole guest memory.
 */
#include "cvm_core.h"

enum cvm_gfn_state cvm_gfn_state(struct cvm_core *vm, u64 gfn)
{
	void *entry = cvm_os_map_load(&vm->gfn_states, gfn);

	return entry ? (enum cvm_gfn_state)cvm_os_map_to_value(entry)
		     : vm->untouched_state;
}

/**
 * cvm_gfn_count() - how many GFNs of the VM are in a state
 * @vm: the VM, locked
 * @state: the state
 */
u64 cvm_gfn_count(struct cvm_core *vm, enum cvm_gfn_state state)
{
	u64 explicit = 0;
	int s;

	if (state != vm->untouched_state)
		return vm->nr_explicit[state];
	for (s = 0; s < CVM_GFN_NR_STATES; s++)
		explicit += vm->nr_explicit[s];
	return vm->nr_explicit[state] + vm->nr_pages - explicit;
}

/**
 * cvm_gfn_reserve() - make sure cvm_gfn_set(vm, gfn, to) can't fail
 * @vm: the VM, locked
 * @gfn: the GFN
 * @to: the state it is going to
 *
 * Return: 0 or -ENOMEM. A reservation left unused holds memory until it
 * is released (cvm_os_map_release()) or the VM goes away.
 */
int cvm_gfn_reserve(struct cvm_core *vm, u64 gfn, enum cvm_gfn_state to)
{
	if (to == vm->untouched_state || cvm_os_map_load(&vm->gfn_states, gfn))
		return 0;
	return cvm_os_map_reserve(&vm->gfn_states, gfn);
}

/* Set a GFN's state; the entry was reserved (cvm_gfn_reserve()). */
void cvm_gfn_set(struct cvm_core *vm, u64 gfn, enum cvm_gfn_state to)
{
	enum cvm_gfn_state from = cvm_gfn_state(vm, gfn);

	if (from == to)
		return;
	if (to == vm->untouched_state) {
		if (vm->gfn_keep_slots) {
			cvm_os_map_unset(&vm->gfn_states, gfn);
			vm->gfn_nr_kept++;
		} else {
			cvm_os_map_erase(&vm->gfn_states, gfn);
		}
	} else {
		WARN_ON_ONCE(cvm_os_map_store(&vm->gfn_states, gfn,
					      cvm_os_map_value(to)));
		vm->nr_explicit[to]++;
	}
	if (from != vm->untouched_state)
		vm->nr_explicit[from]--;
}

/*
 * INIT_DONE's last step: every GFN still normal becomes secure. Those are
 * exactly the untouched ones (touched normal GFNs were moved already), so
 * flipping the untouched state does it; only explicit secure entries, now
 * equal to the default, are walked and dropped.
 */
void cvm_gfn_flip_untouched(struct cvm_core *vm)
{
	void *entry;
	u64 gfn, n = 0;

	WARN_ON_ONCE(vm->untouched_state != CVM_GFN_NORMAL ||
		     vm->nr_explicit[CVM_GFN_NORMAL]);
	vm->untouched_state = CVM_GFN_SECURE;
	cvm_os_map_for_each(&vm->gfn_states, gfn, entry) {
		if (cvm_os_map_to_value(entry) == CVM_GFN_SECURE) {
			cvm_os_map_erase(&vm->gfn_states, gfn);
			vm->nr_explicit[CVM_GFN_SECURE]--;
		}
		if (!(++n % CVM_OS_RESCHED_EVERY))
			cond_resched();
	}
}

/* INIT_ABORT and TERMINATE: every GFN becomes normal. */
void cvm_gfn_drop_all(struct cvm_core *vm)
{
	void *entry;
	u64 gfn, n = 0;
	int s;

	cvm_os_map_for_each(&vm->gfn_states, gfn, entry) {
		cvm_os_map_erase(&vm->gfn_states, gfn);
		if (!(++n % CVM_OS_RESCHED_EVERY))
			cond_resched();
	}
	for (s = 0; s < CVM_GFN_NR_STATES; s++)
		vm->nr_explicit[s] = 0;
	vm->untouched_state = CVM_GFN_NORMAL;
}

/* A memslot goes away: its GFNs stop existing. */
void cvm_gfn_forget_range(struct cvm_core *vm, u64 gfn, u64 npages)
{
	void *entry;
	u64 idx, n = 0;

	cvm_os_map_for_each_range(&vm->gfn_states, idx, entry, gfn,
				  gfn + npages - 1) {
		cvm_os_map_erase(&vm->gfn_states, idx);
		vm->nr_explicit[cvm_os_map_to_value(entry)]--;
		if (!(++n % CVM_OS_RESCHED_EVERY))
			cond_resched();
	}
}
