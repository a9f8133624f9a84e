// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * sim-snapshot.c - a copy of every GFN's state, taken under the VM lock so
 * it is one instant, as cvm_snapshot.c.
 */
#include "sim-internal.h"

static const uint8_t sim_uapi_gfn_state[CVM_GFN_NR_STATES] = {
	[CVM_GFN_NORMAL] = CVM_GFN_STATE_NORMAL,
	[CVM_GFN_SHARED] = CVM_GFN_STATE_SHARED,
	[CVM_GFN_SECURE] = CVM_GFN_STATE_SECURE,
	[CVM_GFN_SECURE_PAGED_OUT] = CVM_GFN_STATE_SECURE,
};

/**
 * sim_snapshot_fill() - one entry per GFN, in GFN order
 * @vm: the VM, locked
 * @out: room for vm->nr_pages entries
 */
void sim_snapshot_fill(struct cvm_backend *vm, struct cvm_gfn_info *out)
{
	enum cvm_gfn_state state;
	struct sim_spage *sp;
	uint64_t gfn;

	for (gfn = 0; gfn < vm->nr_pages; gfn++, out++) {
		state = sim_gfn_state(vm, gfn);
		sp = sim_spage(vm, gfn);
		out->gfn = gfn;
		out->state = sim_uapi_gfn_state[state];
		out->flags = 0;
		if (state == CVM_GFN_SECURE_PAGED_OUT)
			out->flags |= CVM_GFN_PAGED_OUT;
		if (sp && sp->pool)
			out->flags |= CVM_GFN_RESIDENT;
		if (sim_bitmap_test(&vm->pinned, gfn))
			out->flags |= CVM_GFN_PINNED;
		out->pad = 0;
		out->dma_refs = vm->dma_refs[gfn];
	}
}
