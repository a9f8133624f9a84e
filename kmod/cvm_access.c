// SPDX-License-Identifier: GPL-2.0
/*
 * cvm_access.c - emulated guest access: what the guest reads or writes at
 * a guest-physical address. Each host page it touches is pinned on first
 * use (demand pinning).
 */
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "cvm_internal.h"

/* Copy between the bounce buffer and the guest pages, page by page. */
static void cvm_access_copy(struct cvm_vm *vm, u64 gpa, char *buf, u32 len,
			    bool write)
{
	struct cvm_memslot *slot;
	struct page *page;
	u32 off, chunk;

	while (len) {
		off = offset_in_page(gpa);
		chunk = min_t(u32, len, PAGE_SIZE - off);
		slot = cvm_memslot_find_gfn(vm, gpa >> PAGE_SHIFT);
		page = cvm_pinned_page(slot, gpa >> PAGE_SHIFT);
		if (write)
			memcpy_to_page(page, off, buf, chunk);
		else
			memcpy_from_page(buf, page, off, chunk);
		gpa += chunk;
		buf += chunk;
		len -= chunk;
	}
}

/**
 * cvm_guest_access() - CVM_GUEST_ACCESS
 * @vm: the VM, unlocked; the caller is its owner
 * @arg: flags, length and reserved fields checked
 *
 * The caller's bytes are copied in before the VM is touched, so a bad
 * buffer changes nothing; the pages are pinned all or nothing.
 *
 * Return: 0; -ERANGE when the range leaves the memslots; -EFAULT for a
 * bad buffer or an unpinnable host page; -ENOMEM over a pin limit.
 */
int cvm_guest_access(struct cvm_vm *vm, const struct cvm_guest_access *arg)
{
	bool write = arg->flags & CVM_ACCESS_WRITE;
	void __user *ubuf = u64_to_user_ptr(arg->uaddr);
	u64 first, npages, end;
	char *buf;
	int ret;

	if (check_add_overflow(arg->gpa, (u64)arg->len, &end))
		return -ERANGE;
	first = arg->gpa >> PAGE_SHIFT;
	npages = ((end - 1) >> PAGE_SHIFT) - first + 1;

	buf = kvmalloc(arg->len, GFP_KERNEL_ACCOUNT);
	if (!buf)
		return -ENOMEM;
	if (write && copy_from_user(buf, ubuf, arg->len)) {
		ret = -EFAULT;
		goto out_free;
	}

	mutex_lock(&vm->lock);
	ret = cvm_memslot_check_range(vm, first, npages);
	if (!ret)
		ret = cvm_pin_gfns(vm, first, npages);
	if (!ret)
		cvm_access_copy(vm, arg->gpa, buf, arg->len, write);
	mutex_unlock(&vm->lock);

	if (!ret && !write && copy_to_user(ubuf, buf, arg->len))
		ret = -EFAULT;
out_free:
	kvfree(buf);
	return ret;
}
