// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vm-rpc.c - the API's per-VM requests (show, lifecycle, page operations,
 * guest write, reads, snapshot): forwarded to the VM's VMM in order, and
 * answered when it answers. A transition is persisted before the client
 * hears of it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cvm-ops.h"
#include "cvmd.h"
#include "failpoint.h"

static const char *const lifecycle_verbs[] = {
	[CVM__LIFECYCLE_OP__INIT_START] = "init-start",
	[CVM__LIFECYCLE_OP__INIT_DONE] = "init-done",
	[CVM__LIFECYCLE_OP__INIT_ABORT] = "init-abort",
	[CVM__LIFECYCLE_OP__TERMINATE] = "terminate",
};

static const char *const page_verbs[] = {
	[CVM__PAGE_OP__PAGE_IN] = "page-in",
	[CVM__PAGE_OP__PAGE_IN_SHARED] = "page-in",
	[CVM__PAGE_OP__PAGE_OUT] = "page-out",
	[CVM__PAGE_OP__SHARE] = "share",
	[CVM__PAGE_OP__UNSHARE] = "unshare",
	[CVM__PAGE_OP__DMA_SHARE] = "dma-share",
	[CVM__PAGE_OP__DMA_UNSHARE] = "dma-unshare",
};

/* The GPA a body names in a "gpa" field, for messages; 0 if none. */
static uint64_t body_gpa(const ProtobufCMessage *body)
{
	const ProtobufCFieldDescriptor *f;

	f = protobuf_c_message_descriptor_get_field_by_name(body->descriptor,
							    "gpa");
	if (!f || f->type != PROTOBUF_C_TYPE_UINT64 ||
	    f->label == PROTOBUF_C_LABEL_REPEATED)
		return 0;
	return *(const uint64_t *)((const char *)body + f->offset);
}

/*
 * The verb a request stands for, as cvmctl names it: the operation's name
 * (proto/cvm-ops.c), or the sub-operation its body carries; NULL if
 * malformed. Its VM is the body's name, as for every per-VM request.
 */
static const char *verb_of(const Cvm__Request *req, uint64_t *ret_gpa,
			   const char **ret_name)
{
	const struct cvm_operation *op = cvm_operation(req->op_case);
	const ProtobufCMessage *body = cvm_request_body(req);

	*ret_gpa = 0;
	if (!op || !op->vmm || !body)
		return NULL;
	*ret_name = cvm_request_vm_name(req);
	if (!*ret_name)
		return NULL;
	*ret_gpa = body_gpa(body);
	switch (req->op_case) {
	case CVM__REQUEST__OP_LIFECYCLE:
		if (req->lifecycle->op_set_case != CVM__LIFECYCLE_REQUEST__OP_SET_OP ||
		    (unsigned int)req->lifecycle->op >= 4)
			return NULL;
		return lifecycle_verbs[req->lifecycle->op];
	case CVM__REQUEST__OP_PAGE:
		if (req->page->op_set_case != CVM__PAGE_REQUEST__OP_SET_OP ||
		    (unsigned int)req->page->op >= 7)
			return NULL;
		return page_verbs[req->page->op];
	case CVM__REQUEST__OP_READ:
		return req->read->host ? "host-read" : "guest-read";
	default:
		return op->name;
	}
}

struct rpc_call {
	struct cvmd_call call;
	const char *verb;
	uid_t uid;
};

static void reply_info(struct cvmd_vm *vm, struct cvmd_client *c, uint64_t id)
{
	Cvm__PageCounts pages;
	Cvm__Response resp;
	Cvm__VmInfo info;

	cvmd_vm_fill_info(vm, &info, &pages);
	cvm__response__init(&resp);
	resp.id = id;
	resp.result_case = CVM__RESPONSE__RESULT_VM;
	resp.vm = &info;
	cvmd_client_send(c, &resp);
}

static void answered(struct cvmd_call *call, const Cvm__Response *resp,
		     int err)
{
	struct rpc_call *rc = container_of(call, struct rpc_call, call);
	struct cvmd_client *c = call->client;
	struct cvmd_vm *vm = call->vm;
	Cvm__Response out;
	char msg[256];

	if (err || resp->status != CVM__STATUS__OK) {
		err = err ? err : (resp->error ? resp->error : -EIO);
		cvmd_refusal(msg, sizeof(msg), vm->rec.state, rc->verb, call->gpa,
			     err);
		if (resp && resp->error == 0)
			cvmd_client_error(c, call->client_id, -EIO, "%s: %s",
					  msg, cvm_status_name(resp->status));
		else
			cvmd_client_error(c, call->client_id, err, "%s", msg);
		if (call->op == CVM__REQUEST__OP_LIFECYCLE)
			cvmd_event(vm->d, vm->rec.name, "error", vm->rec.state,
				   vm->rec.state, rc->verb, rc->uid, msg);
		goto out;
	}
	switch (call->op) {
	case CVM__REQUEST__OP_LIFECYCLE:
		/* A VMM that reports no lifecycle state lies: given up on. */
		if (resp->result_case == CVM__RESPONSE__RESULT_VM &&
		    ((int)resp->vm->state < CVM__VM_STATE__NORMAL ||
		     resp->vm->state > CVM__VM_STATE__SECURE)) {
			cvmd_client_error(c, call->client_id, -EIO,
					  "%s: its VMM answered state %d",
					  rc->verb, (int)resp->vm->state);
			cvmd_vm_lost(vm, "VMM reported an invalid state");
			break;
		}
		/* Done by the VMM: recorded now or as soon as can be. */
		cvmd_failpoint("transition-acted");
		if (resp->result_case == CVM__RESPONSE__RESULT_VM)
			cvmd_vm_set_state(vm, resp->vm->state, rc->verb,
					  rc->uid);
		cvmd_failpoint("transition-recorded");
		reply_info(vm, c, call->client_id);
		break;
	case CVM__REQUEST__OP_READ:
	case CVM__REQUEST__OP_SNAPSHOT:
		/* Relayed as it came, so only the answer that was asked for. */
		if (resp->result_case != (call->op == CVM__REQUEST__OP_READ ?
					  CVM__RESPONSE__RESULT_DATA :
					  CVM__RESPONSE__RESULT_SNAPSHOT)) {
			cvmd_client_error(c, call->client_id, -EIO,
					  "%s: its VMM sent another kind of "
					  "answer", rc->verb);
			cvmd_vm_lost(vm, "VMM sent an invalid answer");
			break;
		}
		out = *resp;
		out.id = call->client_id;
		cvmd_client_send(c, &out);
		/* More frames to come: still in flight, still ours. */
		if (cvmd_call_continues(call, resp))
			return;
		break;
	default:
		reply_info(vm, c, call->client_id);
		break;
	}
out:
	c->in_flight--;
	cvmd_client_unref(c);
	free(rc);
}

void cvmd_rpc_vm_request(struct cvmd *d, struct cvmd_client *c,
			 const Cvm__Request *req)
{
	const char *verb, *name = "";
	struct cvmd_vm *vm;
	struct rpc_call *rc;
	uint64_t gpa;
	int ret;

	verb = verb_of(req, &gpa, &name);
	if (!verb) {
		cvmd_client_error(c, req->id, -EINVAL, "malformed request: "
				  "operation not set or unknown");
		return;
	}
	vm = cvmd_vm_find(d, name);
	if (!vm || vm->destroying) {
		cvmd_client_error(c, req->id, -ENOENT, "no VM named '%s'", name);
		return;
	}
	if (req->op_case == CVM__REQUEST__OP_SHOW &&
	    (vm->rec.state == CVM__VM_STATE__FAILED || !vm->connected)) {
		reply_info(vm, c, req->id);
		return;
	}
	if (vm->rec.state == CVM__VM_STATE__FAILED) {
		cvmd_client_error(c, req->id, -ENOLINK, "VM is failed (%s)",
				  vm->rec.failure);
		return;
	}
	if (vm->creator || !vm->connected) {
		cvmd_client_error(c, req->id, -EBUSY, "VM is %s (starting)",
				  cvmd_state_name(vm->rec.state));
		return;
	}
	rc = calloc(1, sizeof(*rc));
	if (!rc) {
		cvmd_client_error(c, req->id, -ENOMEM, "out of memory");
		return;
	}
	rc->verb = verb;
	rc->uid = c->uid;
	rc->call.client = cvmd_client_ref(c);
	rc->call.client_id = req->id;
	rc->call.op = req->op_case;
	rc->call.gpa = gpa;
	rc->call.done = answered;
	ret = cvmd_vm_call(vm, req, &rc->call);
	if (ret) {
		cvmd_client_error(c, req->id, ret, "cannot reach the VM's VMM");
		cvmd_client_unref(c);
		free(rc);
		return;
	}
	c->in_flight++;
}
