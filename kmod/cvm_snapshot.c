// SPDX-License-Identifier: GPL-2.0-only OR LGPL-2.1-or-later
/*
 * cvm_snapshot.c - a copy of every GFN's state, taken under the VM lock so
 * it is one instant, for inspection and debugging. The backend walks its
 * GFNs (memslots in the kernel) and copies the entries out.
 */
#include "cvm_core.h"

static const u8 cvm_uapi_gfn_state[CVM_GFN_NR_STATES] = {
	[CVM_GFN_NORMAL] = CVM_GFN_STATE_NORMAL,
	[CVM_GFN_SHARED] = CVM_GFN_STATE_SHARED,
	[CVM_GFN_SECURE] = CVM_GFN_STATE_SECURE,
	[CVM_GFN_SECURE_PAGED_OUT] = CVM_GFN_STATE_SECURE,
};

/**
 * cvm_snapshot_size() - the entries a snapshot of the VM needs
 * @vm: the VM, locked
 * @capacity: entries the caller has room for
 * @ret_nr: the entries needed, set unless -E2BIG
 *
 * Return: 0; -ENOSPC when @capacity is too small; -E2BIG when the VM has
 * more GFNs than one call can describe.
 */
int cvm_snapshot_size(struct cvm_core *vm, u64 capacity, u32 *ret_nr)
{
	if (vm->nr_pages > U32_MAX)
		return -E2BIG;
	*ret_nr = (u32)vm->nr_pages;
	return vm->nr_pages > capacity ? -ENOSPC : 0;
}

/* One GFN's entry. */
void cvm_snapshot_entry(struct cvm_core *vm, u64 gfn, struct cvm_gfn_info *out)
{
	enum cvm_gfn_state state = cvm_gfn_state(vm, gfn);
	struct cvm_spage *sp = cvm_spage(vm, gfn);

	out->gfn = gfn;
	out->state = cvm_uapi_gfn_state[state];
	out->flags = 0;
	if (state == CVM_GFN_SECURE_PAGED_OUT)
		out->flags |= CVM_GFN_PAGED_OUT;
	if (sp && sp->pool)
		out->flags |= CVM_GFN_RESIDENT;
	if (cvm_os_pinned(vm, gfn))
		out->flags |= CVM_GFN_PINNED;
	out->pad = 0;
	out->dma_refs = cvm_dma_refs(vm, gfn);
}
