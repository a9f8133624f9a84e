// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * backend-kmod.c - the "kmod" backend: one VM of cvm.ko through /dev/cvm.
 * A thin layer: the module already speaks the backend's errnos.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "backend.h"
#include "cvm-dev.h"

struct cvm_backend {
	int dev_fd;
	int vm_fd;
};

static struct cvm_backend *kmod_destroy(struct cvm_backend *b)
{
	if (!b)
		return NULL;
	if (b->vm_fd >= 0)
		close(b->vm_fd);
	if (b->dev_fd >= 0)
		close(b->dev_fd);
	free(b);
	return NULL;
}

static int kmod_create(const struct cvm_backend_config *cfg,
		       struct cvm_backend **ret)
{
	struct cvm_backend *b;
	int r;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->dev_fd = b->vm_fd = -1;
	r = cvm_dev_open(cfg->dev_path, &b->dev_fd);
	if (!r)
		r = cvm_dev_create_vm(b->dev_fd, cfg->pin_limit_bytes, &b->vm_fd);
	if (!r)
		r = cvm_dev_set_memslot_around(
		    b->vm_fd, 0, 0, cfg->memory_bytes, cfg->mem,
		    (cfg->upfront ? CVM_MEMSLOT_UPFRONT : 0) |
			(cfg->fault_around ? CVM_MEMSLOT_FAULT_AROUND : 0),
		    cfg->fault_around);
	if (r) {
		kmod_destroy(b);
		return r;
	}
	*ret = b;
	return 0;
}

static int kmod_lifecycle(struct cvm_backend *b, enum cvm_vm_op op)
{
	return cvm_dev_lifecycle(b->vm_fd, op);
}

static int kmod_page_op(struct cvm_backend *b, enum cvm_page_action op,
			uint64_t gpa, uint64_t npages)
{
	switch (op) {
	case CVM_PAGE_OP_IN:
	case CVM_PAGE_OP_IN_SHARED:
	case CVM_PAGE_OP_OUT:
		/* single-page ioctls: anything but 0/1 pages is refused */
		if (npages > 1)
			return -EINVAL;
		if (op == CVM_PAGE_OP_OUT)
			return cvm_dev_page_out(b->vm_fd, gpa);
		return cvm_dev_page_in(b->vm_fd, gpa,
				       op == CVM_PAGE_OP_IN_SHARED);
	case CVM_PAGE_OP_SHARE:
		return cvm_dev_share(b->vm_fd, gpa, npages);
	case CVM_PAGE_OP_UNSHARE:
		return cvm_dev_unshare(b->vm_fd, gpa, npages);
	case CVM_PAGE_OP_DMA_SHARE:
		return cvm_dev_dma_share(b->vm_fd, gpa, npages);
	case CVM_PAGE_OP_DMA_UNSHARE:
		return cvm_dev_dma_unshare(b->vm_fd, gpa, npages);
	}
	return -EINVAL;
}

static int kmod_guest_access(struct cvm_backend *b, uint64_t gpa, void *buf,
			     uint32_t len, bool write)
{
	return write ? cvm_dev_guest_write(b->vm_fd, gpa, buf, len) :
		       cvm_dev_guest_read(b->vm_fd, gpa, buf, len);
}

static int kmod_stats(struct cvm_backend *b, struct cvm_vm_stats *ret)
{
	return cvm_dev_stats(b->vm_fd, ret);
}

static int kmod_snapshot(struct cvm_backend *b, struct cvm_gfn_run *runs,
			 uint32_t capacity, uint32_t *ret_nr)
{
	return cvm_dev_snapshot(b->vm_fd, runs, capacity, ret_nr);
}

static int kmod_measurement(struct cvm_backend *b, struct cvm_measurement *ret)
{
	return cvm_dev_measurement(b->vm_fd, ret);
}

static int kmod_info(struct cvm_backend *b, struct cvm_info *ret)
{
	return cvm_dev_info(b->dev_fd, ret);
}

const struct cvm_backend_ops cvm_backend_kmod = {
	.name = "kmod",
	.create = kmod_create,
	.destroy = kmod_destroy,
	.lifecycle = kmod_lifecycle,
	.page_op = kmod_page_op,
	.guest_access = kmod_guest_access,
	.stats = kmod_stats,
	.snapshot = kmod_snapshot,
	.measurement = kmod_measurement,
	.info = kmod_info,
};
