// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * sim-gfn.c - per-GFN state, stored sparsely as the module's cvm_gfn.c:
 * only GFNs whose state differs from the VM's untouched state have an
 * explicit entry, so lifecycle changes walk the touched GFNs, never the
 * whole guest memory.
 */
#include "sim-internal.h"

enum cvm_gfn_state sim_gfn_state(struct cvm_backend *vm, uint64_t gfn)
{
	if (sim_bitmap_test(&vm->explicit_gfns, gfn))
		return (enum cvm_gfn_state)vm->gfn_states[gfn];
	return vm->untouched_state;
}

/**
 * sim_gfn_count() - how many GFNs of the VM are in a state
 * @vm: the VM, locked
 * @state: the state
 */
uint64_t sim_gfn_count(struct cvm_backend *vm, enum cvm_gfn_state state)
{
	uint64_t explicit = 0;
	int s;

	if (state != vm->untouched_state)
		return vm->nr_explicit[state];
	for (s = 0; s < CVM_GFN_NR_STATES; s++)
		explicit += vm->nr_explicit[s];
	return vm->nr_explicit[state] + vm->nr_pages - explicit;
}

/* Set a GFN's state; storage is preallocated, so this can't fail. */
void sim_gfn_set(struct cvm_backend *vm, uint64_t gfn, enum cvm_gfn_state to)
{
	enum cvm_gfn_state from = sim_gfn_state(vm, gfn);

	if (from == to)
		return;
	if (to == vm->untouched_state) {
		sim_bitmap_clear(&vm->explicit_gfns, gfn);
	} else {
		vm->gfn_states[gfn] = (uint8_t)to;
		sim_bitmap_set(&vm->explicit_gfns, gfn);
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
void sim_gfn_flip_untouched(struct cvm_backend *vm)
{
	uint64_t gfn;

	vm->untouched_state = CVM_GFN_SECURE;
	sim_bitmap_for_each(gfn, &vm->explicit_gfns) {
		if (vm->gfn_states[gfn] == CVM_GFN_SECURE) {
			sim_bitmap_clear(&vm->explicit_gfns, gfn);
			vm->nr_explicit[CVM_GFN_SECURE]--;
		}
	}
}

/* INIT_ABORT and TERMINATE: every GFN becomes normal. */
void sim_gfn_drop_all(struct cvm_backend *vm)
{
	uint64_t gfn;
	int s;

	sim_bitmap_for_each(gfn, &vm->explicit_gfns)
		sim_bitmap_clear(&vm->explicit_gfns, gfn);
	for (s = 0; s < CVM_GFN_NR_STATES; s++)
		vm->nr_explicit[s] = 0;
	vm->untouched_state = CVM_GFN_NORMAL;
}
