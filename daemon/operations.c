// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * operations.c - cvmd's handler of each of the protocol's operations
 * (proto/cvm-ops.c has their rows), indexed the same way.
 */
#include "attest.h"
#include "operations.h"

static const cvmd_handler handlers[] = {
	[CVM__REQUEST__OP_STATUS] = cvmd_handle_status,
	[CVM__REQUEST__OP_LIST] = cvmd_handle_list,
	[CVM__REQUEST__OP_SHOW] = cvmd_rpc_vm_request,
	[CVM__REQUEST__OP_CREATE] = cvmd_handle_create,
	[CVM__REQUEST__OP_DESTROY] = cvmd_handle_destroy,
	[CVM__REQUEST__OP_LIFECYCLE] = cvmd_rpc_vm_request,
	[CVM__REQUEST__OP_PAGE] = cvmd_rpc_vm_request,
	[CVM__REQUEST__OP_GUEST_WRITE] = cvmd_rpc_vm_request,
	[CVM__REQUEST__OP_READ] = cvmd_rpc_vm_request,
	[CVM__REQUEST__OP_SNAPSHOT] = cvmd_rpc_vm_request,
	[CVM__REQUEST__OP_WATCH] = cvmd_handle_watch,
	[CVM__REQUEST__OP_ATTEST] = cvmd_attest_request,
};

cvmd_handler cvmd_operation_handler(int op_case)
{
	if (!cvm_operation(op_case) ||
	    (size_t)op_case >= sizeof(handlers) / sizeof(handlers[0]))
		return NULL;
	return handlers[op_case];
}
