// SPDX-License-Identifier: GPL-2.0
/*
 * cvm_access.c - emulated guest access: what the guest reads or writes at
 * a guest-physical address. A normal or shared GFN is the host page,
 * pinned on first use (demand pinning); a secure GFN is its pool page,
 * paged in first when paged out.
 */
#include <linux/bitmap.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "cvm_internal.h"

/*
 * The page the guest sees at a GFN. A normal or shared one is marked
 * touched: INIT_DONE moves exactly those into secure memory (a page pinned
 * only because the memslot is pinned upfront holds no guest data).
 */
static int cvm_access_page(struct cvm_vm *vm, u64 gfn, struct page **ret)
{
	struct cvm_memslot *slot;

	if (cvm_gfn_is_secure(cvm_gfn_state(vm, gfn)))
		return cvm_secure_guest_page(vm, gfn, ret);
	slot = cvm_memslot_find_gfn(vm, gfn);
	*ret = xa_load(&slot->pages, gfn - slot->base_gfn);
	if (!*ret)
		return -EFAULT;
	xa_set_mark(&slot->pages, gfn - slot->base_gfn, CVM_PAGE_TOUCHED);
	return 0;
}

/*
 * Pin the host pages of the range's normal and shared GFNs, all or
 * nothing, so a limit is hit before any byte moves.
 */
static int cvm_access_pin(struct cvm_vm *vm, u64 first, u64 npages)
{
	unsigned long *need;
	u64 i;
	int ret;

	need = bitmap_zalloc(npages, GFP_KERNEL);
	if (!need)
		return -ENOMEM;
	for (i = 0; i < npages; i++)
		if (!cvm_gfn_is_secure(cvm_gfn_state(vm, first + i)))
			__set_bit(i, need);
	ret = cvm_pin_gfns(vm, first, npages, need);
	bitmap_free(need);
	return ret;
}

static int cvm_access_copy(struct cvm_vm *vm, u64 gpa, char *buf, u32 len,
			   bool write)
{
	struct page *page;
	u32 off, chunk;
	int ret;

	while (len) {
		off = offset_in_page(gpa);
		chunk = min_t(u32, len, PAGE_SIZE - off);
		ret = cvm_access_page(vm, gpa >> PAGE_SHIFT, &page);
		if (ret)
			return ret;
		if (write)
			memcpy_to_page(page, off, buf, chunk);
		else
			memcpy_from_page(buf, page, off, chunk);
		gpa += chunk;
		buf += chunk;
		len -= chunk;
	}
	return 0;
}

/**
 * cvm_guest_access() - CVM_GUEST_ACCESS
 * @vm: the VM, unlocked; the caller is its owner
 * @arg: flags, length and reserved fields checked
 *
 * The caller's bytes are copied in before the VM is touched, so a bad
 * buffer changes nothing; host pages are pinned all or nothing. A secure
 * page that can't be made resident (pool exhausted with nothing to evict,
 * or paged-out contents that fail authentication) stops the access there.
 *
 * Return: 0; -ERANGE when the range leaves the memslots; -EFAULT for a
 * bad buffer or an unpinnable host page; -ENOMEM over a pin limit or with
 * the pool exhausted; -EBADMSG when paged-out contents were tampered with.
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

	cvm_vm_lock(vm);
	ret = cvm_memslot_check_range(vm, first, npages);
	if (!ret)
		ret = cvm_access_pin(vm, first, npages);
	if (!ret)
		ret = cvm_access_copy(vm, arg->gpa, buf, arg->len, write);
	mutex_unlock(&vm->lock);

	if (!ret && !write && copy_to_user(ubuf, buf, arg->len))
		ret = -EFAULT;
out_free:
	kvfree(buf);
	return ret;
}
