/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * backend.h - one VM's secure memory, behind one interface with two
 * implementations (DESIGN §6): "kmod" drives cvm.ko through /dev/cvm,
 * "sim" does the same in process memory with the same contract. cvm-vmm
 * holds exactly one backend VM.
 *
 * Every function returns 0 or -errno with the errnos of docs/uapi.md, so
 * callers can't tell the backends apart by their results: EINVAL (bad
 * argument), EOPNOTSUPP (not started), EBADFD (wrong state), ERANGE (GPA
 * outside the VM), ENOMEM (pin limit or pool), EBUSY (DMA share),
 * EBADMSG (paged-out page failed authentication), EFAULT.
 */
#ifndef CVM_BACKEND_H
#define CVM_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "cvm_fsm.h"
#include "uapi/cvm.h"

enum cvm_page_action {
	CVM_PAGE_OP_IN,
	CVM_PAGE_OP_IN_SHARED,
	CVM_PAGE_OP_OUT,
	CVM_PAGE_OP_SHARE,
	CVM_PAGE_OP_UNSHARE,
	CVM_PAGE_OP_DMA_SHARE,
	CVM_PAGE_OP_DMA_UNSHARE,
};

/**
 * struct cvm_backend_config - what a VM is made of
 * @memory_bytes: guest memory, page multiple, at GPA 0 (one memslot).
 * @pin_limit_bytes: per-VM pin limit (0: none).
 * @upfront: pin the whole memory at creation instead of on demand.
 * @fault_around: demand pinning pins the aligned run of this many pages
 *	around a first touch (a power of two, 2..CVM_FAULT_AROUND_MAX;
 *	0: the touched pages alone; not with @upfront).
 * @mem: the guest memory, allocated by the caller (cvm-vmm) with
 *	MAP_NORESERVE: its own mapping is the host view.
 * @dev_path: kmod: the device (NULL: /dev/cvm).
 * @sim_pool_pages: sim: pages in the VM's secure pool (0: 16384).
 */
struct cvm_backend_config {
	uint64_t memory_bytes;
	uint64_t pin_limit_bytes;
	bool upfront;
	uint32_t fault_around;
	void *mem;
	const char *dev_path;
	uint64_t sim_pool_pages;
};

struct cvm_backend;

struct cvm_backend_ops {
	const char *name;
	int (*create)(const struct cvm_backend_config *cfg,
		      struct cvm_backend **ret);
	/* Frees everything; accepts NULL; returns NULL. */
	struct cvm_backend *(*destroy)(struct cvm_backend *b);
	/* INIT_START, INIT_DONE, INIT_ABORT, TERMINATE */
	int (*lifecycle)(struct cvm_backend *b, enum cvm_vm_op op);
	/* npages: 0 means 1; IN, IN_SHARED and OUT take exactly one page */
	int (*page_op)(struct cvm_backend *b, enum cvm_page_action op,
		       uint64_t gpa, uint64_t npages);
	/* any GPA and length 1..CVM_ACCESS_MAX, may cross pages */
	int (*guest_access)(struct cvm_backend *b, uint64_t gpa, void *buf,
			    uint32_t len, bool write);
	int (*stats)(struct cvm_backend *b, struct cvm_vm_stats *ret);
	/*
	 * Runs of equal state, one instant; ret_nr: runs written, or needed
	 * on -ENOSPC / -E2BIG; capacity over CVM_SNAPSHOT_MAX_ENTRIES: -EINVAL
	 */
	int (*snapshot)(struct cvm_backend *b, struct cvm_gfn_run *runs,
			uint32_t capacity, uint32_t *ret_nr);
	int (*measurement)(struct cvm_backend *b, struct cvm_measurement *ret);
	/* pool_total_pages, pool_free_pages, evictions of the backend */
	int (*info)(struct cvm_backend *b, struct cvm_info *ret);
};

extern const struct cvm_backend_ops cvm_backend_kmod;
extern const struct cvm_backend_ops cvm_backend_sim;

#endif /* CVM_BACKEND_H */
