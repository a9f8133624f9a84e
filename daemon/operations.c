// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * operations.c - the API's operations, one line each: the whole
 * privileged surface (STYLE §7) of both edges in one place.
 */
#include "operations.h"

#define BODY(field, type)						\
	.body = &cvm__##type##__descriptor,				\
	.body_offset = offsetof(Cvm__Request, field)

#define MANAGE CVMD_PRIV_MANAGE, "org.cvm.manage"
#define MEMORY CVMD_PRIV_MEMORY, "org.cvm.access-memory"
#define READ CVMD_PRIV_READ, NULL

static const struct cvmd_operation operations[] = {
	/*					   privilege  handler		     vmm    bus */
	[CVM__REQUEST__OP_STATUS]	= { "status", READ, cvmd_handle_status, false, true,
					    BODY(status, status_request) },
	[CVM__REQUEST__OP_LIST]		= { "list", READ, cvmd_handle_list, false, true,
					    BODY(list, list_request) },
	[CVM__REQUEST__OP_SHOW]		= { "show", READ, cvmd_rpc_vm_request, true, true,
					    BODY(show, show_request) },
	[CVM__REQUEST__OP_CREATE]	= { "create", MANAGE, cvmd_handle_create, false, true,
					    BODY(create, create_request) },
	[CVM__REQUEST__OP_DESTROY]	= { "destroy", MANAGE, cvmd_handle_destroy, true, true,
					    BODY(destroy, destroy_request) },
	[CVM__REQUEST__OP_LIFECYCLE]	= { "lifecycle", MANAGE, cvmd_rpc_vm_request, true, true,
					    BODY(lifecycle, lifecycle_request) },
	[CVM__REQUEST__OP_PAGE]		= { "page", MANAGE, cvmd_rpc_vm_request, true, true,
					    BODY(page, page_request) },
	[CVM__REQUEST__OP_GUEST_WRITE]	= { "guest-write", MANAGE, cvmd_rpc_vm_request, true, true,
					    BODY(guest_write, guest_write_request) },
	/* guest-read and host-read reveal VM memory */
	[CVM__REQUEST__OP_READ]		= { "read", MEMORY, cvmd_rpc_vm_request, true, true,
					    BODY(read, read_request) },
	[CVM__REQUEST__OP_SNAPSHOT]	= { "snapshot", READ, cvmd_rpc_vm_request, true, true,
					    BODY(snapshot, snapshot_request) },
	/* a stream of events: the socket's only */
	[CVM__REQUEST__OP_WATCH]	= { "watch", READ, cvmd_handle_watch, false, false,
					    BODY(watch, watch_request) },
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
