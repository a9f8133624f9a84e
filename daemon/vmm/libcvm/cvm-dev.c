// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * cvm-dev.c - the /dev/cvm ioctls as functions returning 0 or -errno.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cvm-dev.h"

/* ioctl() returns -1 and sets errno; turn that into -errno once, here. */
static int xioctl(int fd, unsigned long cmd, void *arg)
{
	int ret = ioctl(fd, cmd, arg);

	return ret < 0 ? -errno : ret;
}

int cvm_dev_open(const char *path, int *ret_fd)
{
	int fd = open(path ? path : CVM_DEV_PATH, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	*ret_fd = fd;
	return 0;
}

int cvm_dev_api_version(int dev_fd)
{
	return xioctl(dev_fd, CVM_GET_API_VERSION, NULL);
}

int cvm_dev_check_extension(int dev_fd, unsigned int cap)
{
	return xioctl(dev_fd, CVM_CHECK_EXTENSION, (void *)(uintptr_t)cap);
}

int cvm_dev_info(int dev_fd, struct cvm_info *ret_info)
{
	memset(ret_info, 0, sizeof(*ret_info));
	return xioctl(dev_fd, CVM_GET_INFO, ret_info);
}

int cvm_dev_create_vm(int dev_fd, uint64_t pin_limit_bytes, int *ret_vm_fd)
{
	struct cvm_create_vm arg = { .pin_limit_bytes = pin_limit_bytes };
	int fd = xioctl(dev_fd, CVM_CREATE_VM, &arg);

	if (fd < 0)
		return fd;
	*ret_vm_fd = fd;
	return 0;
}

int cvm_dev_set_memslot_around(int vm_fd, uint32_t slot, uint64_t gpa,
			       uint64_t size, void *uaddr, uint32_t flags,
			       uint32_t fault_around)
{
	struct cvm_user_memslot arg = {
		.slot = slot,
		.flags = flags,
		.gpa = gpa,
		.size = size,
		.uaddr = (uintptr_t)uaddr,
		.fault_around = fault_around,
	};

	return xioctl(vm_fd, CVM_SET_MEMSLOT, &arg);
}

int cvm_dev_set_memslot(int vm_fd, uint32_t slot, uint64_t gpa, uint64_t size,
			void *uaddr, uint32_t flags)
{
	return cvm_dev_set_memslot_around(vm_fd, slot, gpa, size, uaddr, flags,
					  0);
}

int cvm_dev_delete_memslot(int vm_fd, uint32_t slot)
{
	struct cvm_user_memslot arg = { .slot = slot };

	return xioctl(vm_fd, CVM_DELETE_MEMSLOT, &arg);
}

int cvm_dev_lifecycle(int vm_fd, enum cvm_vm_op op)
{
	switch (op) {
	case CVM_VM_OP_INIT_START:
		return xioctl(vm_fd, CVM_INIT_START, NULL);
	case CVM_VM_OP_INIT_DONE:
		return xioctl(vm_fd, CVM_INIT_DONE, NULL);
	case CVM_VM_OP_INIT_ABORT:
		return xioctl(vm_fd, CVM_INIT_ABORT, NULL);
	case CVM_VM_OP_TERMINATE:
		return xioctl(vm_fd, CVM_TERMINATE, NULL);
	case CVM_VM_OP_START_VM:
		break;
	}
	/* Starting a VM is the VMM's business: the module has no ioctl. */
	return -EINVAL;
}

static int guest_access(int vm_fd, uint64_t gpa, void *buf, uint32_t len,
			uint32_t flags)
{
	struct cvm_guest_access arg = {
		.gpa = gpa,
		.uaddr = (uintptr_t)buf,
		.len = len,
		.flags = flags,
	};

	return xioctl(vm_fd, CVM_GUEST_ACCESS, &arg);
}

int cvm_dev_guest_write(int vm_fd, uint64_t gpa, const void *buf,
			uint32_t len)
{
	return guest_access(vm_fd, gpa, (void *)buf, len, CVM_ACCESS_WRITE);
}

int cvm_dev_guest_read(int vm_fd, uint64_t gpa, void *buf, uint32_t len)
{
	return guest_access(vm_fd, gpa, buf, len, 0);
}

int cvm_dev_stats(int vm_fd, struct cvm_vm_stats *ret_stats)
{
	memset(ret_stats, 0, sizeof(*ret_stats));
	return xioctl(vm_fd, CVM_GET_STATS, ret_stats);
}

static int page_op(int vm_fd, unsigned long cmd, uint64_t gpa,
		   uint64_t npages, uint32_t flags)
{
	struct cvm_page_op arg = {
		.gpa = gpa,
		.nr_pages = npages,
		.flags = flags,
	};

	return xioctl(vm_fd, cmd, &arg);
}

int cvm_dev_page_in(int vm_fd, uint64_t gpa, bool shared)
{
	return page_op(vm_fd, CVM_PAGE_IN, gpa, 1, shared ? CVM_PAGE_SHARED : 0);
}

int cvm_dev_page_out(int vm_fd, uint64_t gpa)
{
	return page_op(vm_fd, CVM_PAGE_OUT, gpa, 1, 0);
}

int cvm_dev_share(int vm_fd, uint64_t gpa, uint64_t npages)
{
	return page_op(vm_fd, CVM_SHARE, gpa, npages, 0);
}

int cvm_dev_unshare(int vm_fd, uint64_t gpa, uint64_t npages)
{
	return page_op(vm_fd, CVM_UNSHARE, gpa, npages, 0);
}

int cvm_dev_dma_share(int vm_fd, uint64_t gpa, uint64_t npages)
{
	return page_op(vm_fd, CVM_DMA_SHARE, gpa, npages, 0);
}

int cvm_dev_dma_unshare(int vm_fd, uint64_t gpa, uint64_t npages)
{
	return page_op(vm_fd, CVM_DMA_UNSHARE, gpa, npages, 0);
}

int cvm_dev_snapshot(int vm_fd, struct cvm_gfn_run *runs,
		     uint32_t capacity, uint32_t *ret_nr)
{
	struct cvm_snapshot arg = {
		.uaddr = (uintptr_t)runs,
		.capacity = capacity,
	};
	int ret = xioctl(vm_fd, CVM_SNAPSHOT, &arg);

	if (!ret || ret == -ENOSPC || ret == -E2BIG)
		*ret_nr = arg.nr_entries;
	return ret;
}

int cvm_dev_measurement(int vm_fd, struct cvm_measurement *ret_m)
{
	memset(ret_m, 0, sizeof(*ret_m));
	return xioctl(vm_fd, CVM_GET_MEASUREMENT, ret_m);
}
