// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * sim-access.c - emulated guest access, as cvm_access.c: what the guest
 * reads or writes at a guest-physical address. A normal or shared GFN is
 * the host page, pinned on first use (demand pinning); a secure GFN is its
 * pool page, paged in first when paged out.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim-internal.h"

/*
 * The page the guest sees at a GFN. A normal or shared one is marked
 * touched: INIT_DONE moves exactly those into secure memory, as the
 * module does (a page pinned only upfront holds no guest data).
 */
static int sim_access_page(struct cvm_backend *vm, uint64_t gfn,
			   uint8_t **ret)
{
	if (cvm_gfn_is_secure(sim_gfn_state(vm, gfn)))
		return sim_secure_guest_page(vm, gfn, ret);
	*ret = sim_host_page(vm, gfn);
	if (!*ret)
		return -EFAULT;
	sim_bitmap_set(&vm->touched, gfn);
	return 0;
}

/* An access spans at most this many pages (CVM_ACCESS_MAX, unaligned). */
#define SIM_ACCESS_MAX_PAGES (CVM_ACCESS_MAX / SIM_PAGE_SIZE + 1)

/*
 * Pin the host pages of the range's normal and shared GFNs, all or
 * nothing, so a limit is hit before any byte moves.
 */
static int sim_access_pin(struct cvm_backend *vm, uint64_t first,
			  uint64_t npages)
{
	uint64_t need[(SIM_ACCESS_MAX_PAGES + 63) / 64] = { 0 };
	uint64_t i;

	for (i = 0; i < npages; i++)
		if (!cvm_gfn_is_secure(sim_gfn_state(vm, first + i)))
			sim_bits_set(need, i);
	return sim_pin_gfns(vm, first, npages, need);
}

static int sim_access_copy(struct cvm_backend *vm, uint64_t gpa, uint8_t *buf,
			   uint32_t len, bool write)
{
	uint32_t off, chunk;
	uint8_t *page;
	int ret;

	while (len) {
		off = gpa & (SIM_PAGE_SIZE - 1);
		chunk = SIM_PAGE_SIZE - off < len ? SIM_PAGE_SIZE - off : len;
		ret = sim_access_page(vm, gpa >> SIM_PAGE_SHIFT, &page);
		if (ret)
			return ret;
		if (write)
			memcpy(page + off, buf, chunk);
		else
			memcpy(buf, page + off, chunk);
		gpa += chunk;
		buf += chunk;
		len -= chunk;
	}
	return 0;
}

/**
 * sim_guest_access() - an emulated guest read or write
 * @vm: the VM, unlocked; the caller is its owner; @len checked
 * @gpa: first byte
 * @buf: the caller's bytes (write) or where they go (read)
 * @len: 1 .. CVM_ACCESS_MAX
 * @write: a guest write
 *
 * As the module, the bytes go through a bounce buffer: a write takes the
 * caller's bytes before touching the VM, a read hands them over only when
 * the whole access succeeded. Host pages are pinned all or nothing. A
 * secure page that can't be made resident (pool exhausted with nothing to
 * evict, or paged-out contents that fail authentication) stops the access
 * there, the bytes before it written.
 *
 * Return: 0; -ERANGE when the range leaves the memory; -EFAULT for a NULL
 * buffer; -ENOMEM over a pin limit or with the pool exhausted; -EBADMSG
 * when paged-out contents were tampered with.
 */
int sim_guest_access(struct cvm_backend *vm, uint64_t gpa, void *buf,
		     uint32_t len, bool write)
{
	uint8_t small[SIM_PAGE_SIZE], *bounce = small;
	uint64_t first, npages, end;
	int ret;

	if (__builtin_add_overflow(gpa, (uint64_t)len, &end))
		return -ERANGE;
	first = gpa >> SIM_PAGE_SHIFT;
	npages = ((end - 1) >> SIM_PAGE_SHIFT) - first + 1;

	if (len > sizeof(small)) {
		bounce = malloc(len);
		if (!bounce)
			return -ENOMEM;
	}
	if (write) {
		if (!buf) {
			ret = -EFAULT;
			goto out_free;
		}
		memcpy(bounce, buf, len);
	}

	pthread_mutex_lock(&vm->lock);
	ret = sim_check_range(vm, first, npages);
	if (!ret)
		ret = sim_access_pin(vm, first, npages);
	if (!ret)
		ret = sim_access_copy(vm, gpa, bounce, len, write);
	pthread_mutex_unlock(&vm->lock);

	if (!ret && !write) {
		if (buf)
			memcpy(buf, bounce, len);
		else
			ret = -EFAULT;
	}
out_free:
	/* It held guest data: don't leave it behind. */
	explicit_bzero(bounce, len);
	if (bounce != small)
		free(bounce);
	return ret;
}
