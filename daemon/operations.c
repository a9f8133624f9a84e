// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * operations.c - the API's operations, one line each: the whole
 * privileged surface (STYLE §7) of both edges in one place.
 */
#include "attest.h"
#include "operations.h"

#define MANAGE CVMD_PRIV_MANAGE, "org.cvm.manage"
#define MEMORY CVMD_PRIV_MEMORY, "org.cvm.access-memory"
#define ANYONE CVMD_PRIV_READ, NULL

/*
 * One row: the oneof case, its name, privilege and polkit action, the
 * handler, served by the VMM, offered on D-Bus, and the body's field.
 */
#define OP(op, name, priv, handle, vmm, bus, field)			\
	[CVM__REQUEST__OP_##op] = { name, priv, handle, vmm, bus,	\
		.body = &cvm__##field##_request__descriptor,		\
		.body_offset = offsetof(Cvm__Request, field) }

static const struct cvmd_operation operations[] = {
	OP(STATUS, "status", ANYONE, cvmd_handle_status, false, true, status),
	OP(LIST, "list", ANYONE, cvmd_handle_list, false, true, list),
	OP(SHOW, "show", ANYONE, cvmd_rpc_vm_request, true, true, show),
	OP(CREATE, "create", MANAGE, cvmd_handle_create, false, true, create),
	OP(DESTROY, "destroy", MANAGE, cvmd_handle_destroy, true, true, destroy),
	OP(LIFECYCLE, "lifecycle", MANAGE, cvmd_rpc_vm_request, true, true, lifecycle),
	OP(PAGE, "page", MANAGE, cvmd_rpc_vm_request, true, true, page),
	OP(GUEST_WRITE, "guest-write", MANAGE, cvmd_rpc_vm_request, true, true, guest_write),
	/* guest-read and host-read reveal VM memory */
	OP(READ, "read", MEMORY, cvmd_rpc_vm_request, true, true, read),
	OP(SNAPSHOT, "snapshot", ANYONE, cvmd_rpc_vm_request, true, true, snapshot),
	/* a stream of events: the socket's only */
	OP(WATCH, "watch", ANYONE, cvmd_handle_watch, false, false, watch),
	/* a signed launch report: cvmctl attest, not on D-Bus */
	OP(ATTEST, "attest", ANYONE, cvmd_attest_request, false, false, attest),
};

const struct cvmd_operation *cvmd_operation(int op_case)
{
	if (op_case < 0 ||
	    (size_t)op_case >= sizeof(operations) / sizeof(operations[0]) ||
	    !operations[op_case].name)
		return NULL;
	return &operations[op_case];
}

const ProtobufCMessage *cvmd_request_body(const Cvm__Request *req)
{
	const struct cvmd_operation *op = cvmd_operation(req->op_case);

	if (!op)
		return NULL;
	return *(ProtobufCMessage *const *)((const char *)req + op->body_offset);
}
