// SPDX-License-Identifier: GPL-2.0-only OR LGPL-2.1-or-later
/*
 * cvm_access.c - emulated guest access: what the guest reads or writes at
 * a guest-physical address. A normal or shared GFN is the host page,
 * pinned on first use (demand pinning); a secure GFN is its pool page,
 * paged in first when paged out. The backend bounces the caller's bytes.
 */
#include "cvm_core.h"

/*
 * The page the guest sees at a GFN. A normal or shared one is marked
 * touched: INIT_DONE moves exactly those into secure memory (a page pinned
 * only because the memory is pinned upfront holds no guest data).
 */
static int cvm_access_page(struct cvm_core *vm, u64 gfn, struct cvm_page **ret)
{
	if (cvm_gfn_is_secure(cvm_gfn_state(vm, gfn)))
		return cvm_secure_guest_page(vm, gfn, ret);
	*ret = cvm_os_touch(vm, gfn);
	return *ret ? 0 : -EFAULT;
}

/* Set the bits of the normal and shared GFNs of [first, first + npages). */
static unsigned long *cvm_access_need(struct cvm_core *vm, u64 first,
				      u64 npages)
{
	unsigned long *need = cvm_os_bitmap_zalloc(npages);
	u64 i;

	if (!need)
		return NULL;
	for (i = 0; i < npages; i++)
		if (!cvm_gfn_is_secure(cvm_gfn_state(vm, first + i)))
			cvm_bit_set(need, i);
	return need;
}

/*
 * Fault-around (CVM_MEMSLOT_FAULT_AROUND): an access that needs a host
 * page not pinned yet, inside one memslot with a run of N pages, pins the
 * normal and shared GFNs of the aligned runs it covers (clipped to the
 * memslot) in one cvm_pin(), charged once for exactly what it pinned.
 * Best effort: when the runs do not fit a limit, or part of them can't be
 * pinned, nothing of them stays pinned and 1 tells the caller to pin what
 * the access touches alone. Return: 0 when pinned, 1, or -EINTR.
 */
static int cvm_access_around(struct cvm_core *vm, u64 first, u64 npages,
			     const unsigned long *need)
{
	u64 i, sfirst, send, wfirst, wend;
	unsigned long *wneed;
	bool missing = false;
	u32 run;
	int ret;

	for (i = 0; i < npages && !missing; i++)
		missing = cvm_bit_test(need, i) && !cvm_os_pinned(vm, first + i);
	if (!missing)
		return 1;
	run = cvm_os_fault_around(vm, first, &sfirst, &send);
	if (run < 2 || first + npages > send)
		return 1;
	wfirst = first & ~((u64)run - 1);
	wend = ((first + npages - 1) | (run - 1)) + 1;
	if (wfirst < sfirst)
		wfirst = sfirst;
	if (wend > send)
		wend = send;
	wneed = cvm_access_need(vm, wfirst, wend - wfirst);
	if (!wneed)
		return 1;
	ret = cvm_pin(vm, wfirst, wend - wfirst, wneed);
	cvm_os_bitmap_free(wneed);
	if (ret == -EINTR)
		return ret;
	return ret ? 1 : 0;
}

/*
 * Pin the host pages of the range's normal and shared GFNs, all or
 * nothing, so a limit is hit before any byte moves.
 */
static int cvm_access_pin(struct cvm_core *vm, u64 first, u64 npages)
{
	unsigned long *need;
	int ret;

	need = cvm_access_need(vm, first, npages);
	if (!need)
		return -ENOMEM;
	ret = cvm_access_around(vm, first, npages, need);
	if (ret > 0)
		ret = cvm_pin(vm, first, npages, need);
	cvm_os_bitmap_free(need);
	return ret;
}

/*
 * While the VM is transient, every secure GFN's contents are in the launch
 * measurement (they entered secure memory through cvm_secure_take(), which
 * extends it). A guest write there changes measured contents, so the page
 * as written extends the measurement again, (GPA, contents) as any
 * measured page: the digest sealed at INIT_DONE covers every byte the
 * secure memory holds at launch, and a write the verifier did not expect
 * shows in it. Writes to normal and shared pages are measured by INIT_DONE
 * itself (touched pages) or never enter secure memory.
 */
static int cvm_access_copy(struct cvm_core *vm, u64 gpa, u8 *buf, u32 len,
			   bool write)
{
	struct cvm_page *page;
	u32 off, chunk;
	u64 gfn;
	int ret;

	while (len) {
		off = gpa & (CVM_PAGE_SIZE - 1);
		chunk = CVM_PAGE_SIZE - off < len ? CVM_PAGE_SIZE - off : len;
		gfn = gpa >> CVM_PAGE_SHIFT;
		ret = cvm_access_page(vm, gfn, &page);
		if (ret)
			return ret;
		if (write) {
			cvm_os_page_write(page, off, buf, chunk);
			if (cvm_gfn_is_secure(cvm_gfn_state(vm, gfn))) {
				ret = cvm_measure_page(
				    vm->measure, gfn << CVM_PAGE_SHIFT, page);
				if (ret)
					return ret;
			}
		} else {
			cvm_os_page_read(buf, page, off, chunk);
		}
		gpa += chunk;
		buf += chunk;
		len -= chunk;
	}
	return 0;
}

/**
 * cvm_access_span() - the GFNs an access covers
 * @gpa: first byte
 * @len: bytes, at least 1
 * @ret_first: first GFN
 * @ret_npages: GFNs
 *
 * Return: 0, or -ERANGE when the access wraps around the address space.
 */
int cvm_access_span(u64 gpa, u32 len, u64 *ret_first, u64 *ret_npages)
{
	u64 end;

	if (__builtin_add_overflow(gpa, (u64)len, &end))
		return -ERANGE;
	*ret_first = gpa >> CVM_PAGE_SHIFT;
	*ret_npages = ((end - 1) >> CVM_PAGE_SHIFT) - *ret_first + 1;
	return 0;
}

/**
 * cvm_access_locked() - an emulated guest read or write
 * @vm: the VM, locked; the caller is its owner
 * @gpa: first byte
 * @buf: the bytes to write, or where the bytes read go (a bounce buffer:
 *	a write takes the caller's bytes before the VM is touched, a read
 *	hands them over only when the whole access succeeded)
 * @len: 1 .. CVM_ACCESS_MAX
 * @write: a guest write
 *
 * Host pages are pinned all or nothing. While the VM is transient, a write
 * to a secure page extends the launch measurement with the page as
 * written. A secure page that can't be made
 * resident (pool exhausted with nothing to evict, or paged-out contents
 * that fail authentication) stops the access there.
 *
 * Return: 0; -ERANGE when the range leaves the VM's memory; -EFAULT for an
 * unpinnable host page; -ENOMEM over a pin limit or with the pool
 * exhausted; -EBADMSG when paged-out contents were tampered with.
 */
int cvm_access_locked(struct cvm_core *vm, u64 gpa, void *buf, u32 len,
		      bool write)
{
	u64 first, npages;
	int ret;

	ret = cvm_access_span(gpa, len, &first, &npages);
	if (!ret)
		ret = cvm_os_check_range(vm, first, npages);
	if (!ret)
		ret = cvm_access_pin(vm, first, npages);
	if (!ret)
		ret = cvm_access_copy(vm, gpa, buf, len, write);
	return ret;
}
