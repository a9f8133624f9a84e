// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vmm-serve.c - one request of cvmd to this VM's backend, and its answer:
 * one frame, or for a snapshot larger than a frame several (Snapshot.more
 * on all but the last). Errors travel as -errno in Response.error; cvmd
 * words the message.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cvm-frame.h"
#include "cvm-ops.h"
#include "vmm.h"

#define VMM_PAGE 4096ULL

static const Cvm__VmState uapi_state[] = {
	[CVM_STATE_NORMAL] = CVM__VM_STATE__NORMAL,
	[CVM_STATE_TRANSIENT] = CVM__VM_STATE__TRANSIENT,
	[CVM_STATE_SECURE] = CVM__VM_STATE__SECURE,
};

/* Storage a response points into, freed by vmm_response_free(). */
struct vmm_result {
	Cvm__VmInfo vm;
	Cvm__PageCounts pages;
	struct cvm_measurement m;
	Cvm__Snapshot snapshot;
	Cvm__GfnInfo *gfns;
	Cvm__GfnInfo **gfn_ptrs;
	size_t nr_gfns; /* runs in gfns */
	size_t next_gfn; /* the first run not yet in a frame */
	uint8_t *data;
	char message[64];
};

static int fill_vm_info(struct cvm_vmm *vmm, struct vmm_result *r)
{
	struct cvm_vm_stats st;
	int ret;

	ret = vmm->ops->stats(vmm->backend, &st);
	if (!ret)
		ret = vmm->ops->measurement(vmm->backend, &r->m);
	if (ret)
		return ret;
	cvm__vm_info__init(&r->vm);
	cvm__page_counts__init(&r->pages);
	r->vm.name = (char *)vmm->name;
	r->vm.uuid = (char *)vmm->uuid;
	r->vm.state = st.state < 3 ? uapi_state[st.state] : CVM__VM_STATE__NORMAL;
	r->vm.memory_bytes = st.nr_pages * VMM_PAGE;
	r->pages.normal = st.normal_pages;
	r->pages.shared = st.shared_pages;
	r->pages.secure = st.secure_pages;
	r->pages.secure_paged_out = st.secure_paged_out;
	r->vm.pages = &r->pages;
	r->vm.pinned_pages = st.pinned_pages;
	r->vm.memlock_limit_bytes = vmm->memlock_limit;
	r->vm.dma_shared_pages = st.dma_shared_pages;
	r->vm.pin = vmm->upfront ? CVM__PIN_MODE__UPFRONT : CVM__PIN_MODE__DEMAND;
	r->vm.pool_pages = st.pool_pages;
	r->vm.evictions = st.evictions;
	r->vm.measured_pages = r->m.nr_pages;
	if (r->m.flags & CVM_MEASUREMENT_SEALED) {
		r->vm.measurement.data = r->m.digest;
		r->vm.measurement.len = sizeof(r->m.digest);
	}
	r->vm.vmm_pid = getpid();
	return 0;
}

static int page_op_of(Cvm__PageOp op, enum cvm_page_action *ret)
{
	switch (op) {
	case CVM__PAGE_OP__PAGE_IN:
		*ret = CVM_PAGE_OP_IN;
		return 0;
	case CVM__PAGE_OP__PAGE_IN_SHARED:
		*ret = CVM_PAGE_OP_IN_SHARED;
		return 0;
	case CVM__PAGE_OP__PAGE_OUT:
		*ret = CVM_PAGE_OP_OUT;
		return 0;
	case CVM__PAGE_OP__SHARE:
		*ret = CVM_PAGE_OP_SHARE;
		return 0;
	case CVM__PAGE_OP__UNSHARE:
		*ret = CVM_PAGE_OP_UNSHARE;
		return 0;
	case CVM__PAGE_OP__DMA_SHARE:
		*ret = CVM_PAGE_OP_DMA_SHARE;
		return 0;
	case CVM__PAGE_OP__DMA_UNSHARE:
		*ret = CVM_PAGE_OP_DMA_UNSHARE;
		return 0;
	case _CVM__PAGE_OP_IS_INT_SIZE:
		break;
	}
	return -EINVAL;
}

static int lifecycle_op_of(Cvm__LifecycleOp op, enum cvm_vm_op *ret)
{
	switch (op) {
	case CVM__LIFECYCLE_OP__INIT_START:
		*ret = CVM_VM_OP_INIT_START;
		return 0;
	case CVM__LIFECYCLE_OP__INIT_DONE:
		*ret = CVM_VM_OP_INIT_DONE;
		return 0;
	case CVM__LIFECYCLE_OP__INIT_ABORT:
		*ret = CVM_VM_OP_INIT_ABORT;
		return 0;
	case CVM__LIFECYCLE_OP__TERMINATE:
		*ret = CVM_VM_OP_TERMINATE;
		return 0;
	case _CVM__LIFECYCLE_OP_IS_INT_SIZE:
		break;
	}
	return -EINVAL;
}

/* The host view: the VMM's own mapping, any GPA inside memory. */
static int host_read(struct cvm_vmm *vmm, uint64_t gpa, uint32_t len,
		     uint8_t *buf)
{
	if (gpa >= vmm->memory_bytes || len > vmm->memory_bytes - gpa)
		return -ERANGE;
	memcpy(buf, (uint8_t *)vmm->mem + gpa, len);
	return 0;
}

static int do_read(struct cvm_vmm *vmm, const Cvm__ReadRequest *rq,
		   Cvm__Response *resp, struct vmm_result *r)
{
	int ret;

	if (!rq->length || rq->length > CVM_ACCESS_MAX)
		return -EINVAL;
	r->data = malloc(rq->length);
	if (!r->data)
		return -ENOMEM;
	if (rq->host)
		ret = host_read(vmm, rq->gpa, rq->length, r->data);
	else
		ret = vmm->ops->guest_access(vmm->backend, rq->gpa, r->data,
					     rq->length, false);
	if (ret)
		return ret;
	resp->result_case = CVM__RESPONSE__RESULT_DATA;
	resp->data.data = r->data;
	resp->data.len = rq->length;
	return 0;
}

/*
 * Room for a frame's runs: the frame cap less room for the rest of the
 * Response. The test build takes a lower cap from CVMD_TEST_FRAME_MAX (as
 * cvmd does), so a test needs few runs to span many frames.
 */
static size_t snapshot_frame_budget(void)
{
	size_t max = CVM_FRAME_MAX;
#ifdef CVMD_FAILPOINTS
	const char *v = getenv("CVMD_TEST_FRAME_MAX");
	size_t test = v ? strtoul(v, NULL, 0) : 0;

	if (test >= 1024 && test < max)
		max = test;
#endif
	return max - 512;
}

/* The next frame's runs: as many as fit, and at least one. */
static void snapshot_window(struct vmm_result *r)
{
	size_t budget = snapshot_frame_budget(), size = 0, item;
	const Cvm__GfnInfo *run;

	r->snapshot.gfns = r->gfn_ptrs + r->next_gfn;
	r->snapshot.n_gfns = 0;
	while (r->next_gfn < r->nr_gfns) {
		/* the run, its tag and its length's varint */
		run = r->gfn_ptrs[r->next_gfn];
		item = cvm__gfn_info__get_packed_size(run) + 4;
		if (r->snapshot.n_gfns && size + item > budget)
			break;
		size += item;
		r->snapshot.n_gfns++;
		r->next_gfn++;
	}
	r->snapshot.more = r->next_gfn < r->nr_gfns;
}

/*
 * Sized by a first call, filled by a second; the VM may change in between,
 * so a short buffer is retried with the size the last call asked for.
 */
static int do_snapshot(struct cvm_vmm *vmm, Cvm__Response *resp,
		       struct vmm_result *r)
{
	struct cvm_gfn_run *e = NULL;
	uint32_t n = 0, cap = 0, i;
	int ret, tries;

	for (tries = 0; tries < 8; tries++) {
		ret = vmm->ops->snapshot(vmm->backend, e, cap, &n);
		if (ret != -ENOSPC)
			break;
		free(e);
		cap = n;
		e = calloc(cap ? cap : 1, sizeof(*e));
		if (!e)
			return -ENOMEM;
	}
	if (ret) {
		free(e);
		return ret;
	}
	r->gfns = calloc(n ? n : 1, sizeof(*r->gfns));
	r->gfn_ptrs = calloc(n ? n : 1, sizeof(*r->gfn_ptrs));
	if (!r->gfns || !r->gfn_ptrs) {
		free(e);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		cvm__gfn_info__init(&r->gfns[i]);
		r->gfns[i].gfn = e[i].gfn;
		r->gfns[i].nr_pages = e[i].nr_pages;
		r->gfns[i].state = e[i].state;
		r->gfns[i].paged_out = e[i].flags & CVM_GFN_PAGED_OUT;
		r->gfns[i].resident = e[i].flags & CVM_GFN_RESIDENT;
		r->gfns[i].pinned = e[i].flags & CVM_GFN_PINNED;
		r->gfns[i].dma_refs = e[i].dma_refs;
		r->gfn_ptrs[i] = &r->gfns[i];
	}
	free(e);
	cvm__snapshot__init(&r->snapshot);
	r->nr_gfns = n;
	snapshot_window(r);
	resp->result_case = CVM__RESPONSE__RESULT_SNAPSHOT;
	resp->snapshot = &r->snapshot;
	return 0;
}

/* Mutating operations answer with the VM as it is afterwards. */
static int answer_vm(struct cvm_vmm *vmm, Cvm__Response *resp,
		     struct vmm_result *r)
{
	int ret = fill_vm_info(vmm, r);

	if (ret)
		return ret;
	resp->result_case = CVM__RESPONSE__RESULT_VM;
	resp->vm = &r->vm;
	return 0;
}

/*
 * What the protocol's table (proto/cvm-ops.c) says a VMM serves, and only
 * that: anything else is cvmd's own, and refused here before the VM is
 * touched, as a request the VMM cannot take (INVALID_ARGUMENT, naming it).
 */
static int refuse_unserved(const Cvm__Request *req, Cvm__Response *resp,
			   struct vmm_result *r)
{
	const struct cvm_operation *op = cvm_operation(req->op_case);

	if (op && op->vmm && cvm_request_body(req))
		return 0;
	snprintf(r->message, sizeof(r->message), "%s is not served by a VM's VMM",
		 op ? op->name : "an unset operation");
	resp->message = r->message;
	return -EINVAL;
}

static int dispatch(struct cvm_vmm *vmm, const Cvm__Request *req,
		    Cvm__Response *resp, struct vmm_result *r)
{
	enum cvm_page_action pop;
	enum cvm_vm_op lop;
	int ret;

	ret = refuse_unserved(req, resp, r);
	if (ret)
		return ret;
	switch (req->op_case) {
	case CVM__REQUEST__OP_SHOW:
		return answer_vm(vmm, resp, r);
	case CVM__REQUEST__OP_DESTROY:
		vmm->quit = true;
		return 0;
	/*
	 * An absent op is the zero value, INIT_START / PAGE_IN: what a cvmd
	 * older than api_version 2 sends for them. cvmd refuses an unset op
	 * from its clients before it gets here.
	 */
	case CVM__REQUEST__OP_LIFECYCLE:
		ret = lifecycle_op_of(req->lifecycle->op, &lop);
		if (!ret)
			ret = vmm->ops->lifecycle(vmm->backend, lop);
		return ret ? ret : answer_vm(vmm, resp, r);
	case CVM__REQUEST__OP_PAGE:
		ret = page_op_of(req->page->op, &pop);
		if (!ret)
			ret = vmm->ops->page_op(vmm->backend, pop,
						req->page->gpa,
						req->page->pages);
		return ret ? ret : answer_vm(vmm, resp, r);
	case CVM__REQUEST__OP_GUEST_WRITE:
		if (!req->guest_write->data.len ||
		    req->guest_write->data.len > CVM_ACCESS_MAX)
			return -EINVAL;
		ret = vmm->ops->guest_access(vmm->backend,
					     req->guest_write->gpa,
					     req->guest_write->data.data,
					     req->guest_write->data.len, true);
		return ret ? ret : answer_vm(vmm, resp, r);
	case CVM__REQUEST__OP_READ:
		return do_read(vmm, req->read, resp, r);
	case CVM__REQUEST__OP_SNAPSHOT:
		return do_snapshot(vmm, resp, r);
	default:
		/* a row says the VMM serves it, and this switch does not */
		break;
	}
	return -EINVAL;
}

struct vmm_result *vmm_handle(struct cvm_vmm *vmm, const Cvm__Request *req,
			      Cvm__Response *resp)
{
	struct vmm_result *r = calloc(1, sizeof(*r));
	int ret;

	cvm__response__init(resp);
	resp->id = req->id;
	ret = r ? dispatch(vmm, req, resp, r) : -ENOMEM;
	if (ret) {
		resp->result_case = CVM__RESPONSE__RESULT__NOT_SET;
		resp->status = cvm_status_from_errno(ret);
		resp->error = ret;
	}
	return r;
}

bool vmm_result_next(struct vmm_result *r)
{
	if (!r || !r->snapshot.more)
		return false;
	snapshot_window(r);
	return true;
}

struct vmm_result *vmm_result_free(struct vmm_result *r)
{
	if (r) {
		free(r->gfns);
		free(r->gfn_ptrs);
		free(r->data);
		free(r);
	}
	return NULL;
}
