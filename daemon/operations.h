/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * operations.h - cvmd's handler of each operation. The operations
 * themselves (name, privilege, polkit action, whether the VMM serves it,
 * whether D-Bus offers it, the body) are the protocol's table,
 * proto/cvm-ops.h, which cvm-vmm links too; both edges read it: the
 * protobuf socket (server.c: privilege, body, and the handler here) and
 * D-Bus (bus.c, vm-bus.c: the request it builds, the polkit action).
 */
#ifndef CVMD_OPERATIONS_H
#define CVMD_OPERATIONS_H

#include "cvm-ops.h"
#include "cvmd.h"

typedef void (*cvmd_handler)(struct cvmd *d, struct cvmd_client *c,
			     const Cvm__Request *req);

/* Return: cvmd's handler of a request's oneof case, or NULL if none. */
cvmd_handler cvmd_operation_handler(int op_case);

/* The handlers cvmd runs itself (server.c); vm-rpc.c has the forwarded. */
void cvmd_handle_status(struct cvmd *d, struct cvmd_client *c,
			const Cvm__Request *req);
void cvmd_handle_list(struct cvmd *d, struct cvmd_client *c,
		      const Cvm__Request *req);
void cvmd_handle_create(struct cvmd *d, struct cvmd_client *c,
			const Cvm__Request *req);
void cvmd_handle_destroy(struct cvmd *d, struct cvmd_client *c,
			 const Cvm__Request *req);
void cvmd_handle_watch(struct cvmd *d, struct cvmd_client *c,
		       const Cvm__Request *req);

#endif /* CVMD_OPERATIONS_H */
