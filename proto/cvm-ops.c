// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * cvm-ops.c - the protocol's operations, one line each: the whole
 * privileged surface (STYLE §7) of every edge, and what a VMM serves, in
 * one place.
 */
#include "cvm-ops.h"

#define MANAGE CVM_PRIV_MANAGE, "org.cvm.manage"
#define MEMORY CVM_PRIV_MEMORY, "org.cvm.access-memory"
#define ANYONE CVM_PRIV_READ, NULL

/*
 * One row: the oneof case, its name, privilege and polkit action, served
 * by the VMM, offered on D-Bus, and the body's field.
 */
#define OP(op, name, priv, vmm, bus, field)				\
	[CVM__REQUEST__OP_##op] = { name, priv, vmm, bus,		\
		.body = &cvm__##field##_request__descriptor,		\
		.body_offset = offsetof(Cvm__Request, field) }

static const struct cvm_operation operations[] = {
	OP(STATUS, "status", ANYONE, false, true, status),
	OP(LIST, "list", ANYONE, false, true, list),
	/* also cvmd's own refresh of its record, and metrics */
	OP(SHOW, "show", ANYONE, true, true, show),
	OP(CREATE, "create", MANAGE, false, true, create),
	/* cvmd asks the VMM to quit before it reaps it */
	OP(DESTROY, "destroy", MANAGE, true, true, destroy),
	OP(LIFECYCLE, "lifecycle", MANAGE, true, true, lifecycle),
	OP(PAGE, "page", MANAGE, true, true, page),
	OP(GUEST_WRITE, "guest-write", MANAGE, true, true, guest_write),
	/* guest-read and host-read reveal VM memory */
	OP(READ, "read", MEMORY, true, true, read),
	OP(SNAPSHOT, "snapshot", ANYONE, true, true, snapshot),
	/* a stream of events: the socket's only */
	OP(WATCH, "watch", ANYONE, false, false, watch),
	/* a signed launch report: cvmctl attest, not on D-Bus */
	OP(ATTEST, "attest", ANYONE, false, false, attest),
};

const struct cvm_operation *cvm_operation(int op_case)
{
	if (op_case < 0 ||
	    (size_t)op_case >= sizeof(operations) / sizeof(operations[0]) ||
	    !operations[op_case].name)
		return NULL;
	return &operations[op_case];
}

const ProtobufCMessage *cvm_request_body(const Cvm__Request *req)
{
	const struct cvm_operation *op = cvm_operation(req->op_case);

	if (!op)
		return NULL;
	return *(ProtobufCMessage *const *)((const char *)req + op->body_offset);
}

const char *cvm_request_vm_name(const Cvm__Request *req)
{
	const ProtobufCMessage *body = cvm_request_body(req);
	const ProtobufCFieldDescriptor *f;

	if (!body)
		return NULL;
	f = protobuf_c_message_descriptor_get_field_by_name(body->descriptor,
							    "name");
	if (!f || f->type != PROTOBUF_C_TYPE_STRING ||
	    f->label == PROTOBUF_C_LABEL_REPEATED)
		return NULL;
	return *(char *const *)((const char *)body + f->offset);
}
