// SPDX-License-Identifier: GPL-2.0
/*
 * cvm_snapshot.c - a copy of every GFN's state, taken under the VM lock so
 * it is one instant, for inspection and debugging.
 */
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "cvm_internal.h"

static const u8 cvm_uapi_gfn_state[CVM_GFN_NR_STATES] = {
	[CVM_GFN_NORMAL] = CVM_GFN_STATE_NORMAL,
	[CVM_GFN_SHARED] = CVM_GFN_STATE_SHARED,
	[CVM_GFN_SECURE] = CVM_GFN_STATE_SECURE,
	[CVM_GFN_SECURE_PAGED_OUT] = CVM_GFN_STATE_SECURE,
};

static void cvm_snapshot_fill(struct cvm_vm *vm, struct cvm_gfn_info *out)
{
	enum cvm_gfn_state state;
	struct cvm_memslot *slot;
	struct cvm_spage *sp;
	u64 i, gfn;

	list_for_each_entry(slot, &vm->slots, node) {
		for (i = 0; i < slot->npages; i++, out++) {
			gfn = slot->base_gfn + i;
			state = cvm_gfn_state(vm, gfn);
			sp = cvm_spage(vm, gfn);
			out->gfn = gfn;
			out->state = cvm_uapi_gfn_state[state];
			out->flags = 0;
			if (state == CVM_GFN_SECURE_PAGED_OUT)
				out->flags |= CVM_GFN_PAGED_OUT;
			if (sp && sp->pool)
				out->flags |= CVM_GFN_RESIDENT;
			if (xa_load(&slot->pages, i))
				out->flags |= CVM_GFN_PINNED;
			out->pad = 0;
			out->dma_refs = cvm_dma_refs(vm, gfn);
		}
		cond_resched();
	}
}

/**
 * cvm_snapshot() - CVM_SNAPSHOT
 * @vm: the VM, unlocked
 * @arg: the caller's buffer description; nr_entries is set on return
 *
 * Return: 0; -ENOSPC when the buffer is too small (nr_entries then says
 * how many are needed); -E2BIG when the VM has more GFNs than one call
 * can describe; -EFAULT; -ENOMEM.
 */
int cvm_snapshot(struct cvm_vm *vm, struct cvm_snapshot *arg)
{
	struct cvm_gfn_info *entries;
	u64 n;
	int ret = 0;

	cvm_vm_lock(vm);
	n = vm->nr_pages;
	if (n > U32_MAX) {
		ret = -E2BIG;
		goto out_unlock;
	}
	arg->nr_entries = n;
	if (n > arg->capacity) {
		ret = -ENOSPC;
		goto out_unlock;
	}
	entries = kvmalloc_array(n ? n : 1, sizeof(*entries), GFP_KERNEL);
	if (!entries) {
		ret = -ENOMEM;
		goto out_unlock;
	}
	cvm_snapshot_fill(vm, entries);
	mutex_unlock(&vm->lock);

	/* Copied out after unlocking: the contents are of one instant. */
	if (copy_to_user(u64_to_user_ptr(arg->uaddr), entries,
			 n * sizeof(*entries)))
		ret = -EFAULT;
	kvfree(entries);
	return ret;

out_unlock:
	mutex_unlock(&vm->lock);
	return ret;
}
