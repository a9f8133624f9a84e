/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmm.h - cvm-vmm: the per-VM process (DESIGN §6). It owns one VM's guest
 * memory and its backend VM, and serves that VM's operations to cvmd over
 * a private unix socket, one request at a time (so operations on one VM
 * stay in order).
 */
#ifndef CVM_VMM_H
#define CVM_VMM_H

#include <stdbool.h>
#include <stdint.h>

#include "backend.h"
#include "cvm.pb-c.h"

struct cvm_vmm {
	const char *name;
	const char *uuid;
	uint64_t memory_bytes;
	uint64_t memlock_limit;
	bool upfront;
	const struct cvm_backend_ops *ops;
	struct cvm_backend *backend;
	void *mem;
	bool quit;		/* set by a destroy request */
};

struct vmm_result;

/*
 * Handle one request and fill *resp, whose result points into the
 * returned storage: free it with vmm_result_free() once resp is sent.
 */
struct vmm_result *vmm_handle(struct cvm_vmm *vmm, const Cvm__Request *req,
			      Cvm__Response *resp);
/*
 * After resp was sent: true when the answer goes on in another frame, now
 * in resp (a snapshot larger than a frame), false when it was the last.
 */
bool vmm_result_next(struct vmm_result *r);
struct vmm_result *vmm_result_free(struct vmm_result *r);

#endif /* CVM_VMM_H */
