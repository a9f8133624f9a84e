/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cvm-dev.h - thin userspace wrapper of the /dev/cvm ioctls (kmod/uapi).
 * Every function returns 0 (or a documented non-negative value) or -errno,
 * exactly as the module answered; nothing here logs.
 */
#ifndef CVM_DEV_H
#define CVM_DEV_H

#include <stdbool.h>
#include <stdint.h>

#include "cvm_fsm.h"
#include "uapi/cvm.h"

#define CVM_DEV_PATH "/dev/cvm"

int cvm_dev_open(const char *path, int *ret_fd);
int cvm_dev_api_version(int dev_fd);
int cvm_dev_check_extension(int dev_fd, unsigned int cap);
int cvm_dev_info(int dev_fd, struct cvm_info *ret_info);
int cvm_dev_create_vm(int dev_fd, uint64_t pin_limit_bytes, int *ret_vm_fd);

int cvm_dev_set_memslot(int vm_fd, uint32_t slot, uint64_t gpa, uint64_t size,
			void *uaddr, uint32_t flags);
/* With CVM_MEMSLOT_FAULT_AROUND and a run of fault_around pages. */
int cvm_dev_set_memslot_around(int vm_fd, uint32_t slot, uint64_t gpa,
			       uint64_t size, void *uaddr, uint32_t flags,
			       uint32_t fault_around);
int cvm_dev_delete_memslot(int vm_fd, uint32_t slot);
int cvm_dev_lifecycle(int vm_fd, enum cvm_vm_op op);
int cvm_dev_guest_write(int vm_fd, uint64_t gpa, const void *buf,
			uint32_t len);
int cvm_dev_guest_read(int vm_fd, uint64_t gpa, void *buf, uint32_t len);
int cvm_dev_stats(int vm_fd, struct cvm_vm_stats *ret_stats);
int cvm_dev_page_in(int vm_fd, uint64_t gpa, bool shared);
int cvm_dev_page_out(int vm_fd, uint64_t gpa);
int cvm_dev_share(int vm_fd, uint64_t gpa, uint64_t npages);
int cvm_dev_unshare(int vm_fd, uint64_t gpa, uint64_t npages);
int cvm_dev_dma_share(int vm_fd, uint64_t gpa, uint64_t npages);
int cvm_dev_dma_unshare(int vm_fd, uint64_t gpa, uint64_t npages);
/*
 * The VM's GFNs as runs of equal state (struct cvm_gfn_run): fills at most
 * capacity (<= CVM_SNAPSHOT_MAX_ENTRIES) runs; *ret_nr is the number
 * written, or on -ENOSPC / -E2BIG the number needed.
 */
int cvm_dev_snapshot(int vm_fd, struct cvm_gfn_run *runs,
		     uint32_t capacity, uint32_t *ret_nr);
int cvm_dev_measurement(int vm_fd, struct cvm_measurement *ret_m);

#endif /* CVM_DEV_H */
