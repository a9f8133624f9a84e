/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * operations.h - the one table of the API's operations, indexed by the
 * request's oneof case, that both edges read: the protobuf socket
 * (server.c: privilege, handler, body) and D-Bus (bus.c, vm-bus.c: the
 * request it builds, the polkit action it asks about).
 */
#ifndef CVMD_OPERATIONS_H
#define CVMD_OPERATIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "cvmd.h"

/*
 * Who may run an operation. One model on both edges: uid 0 and members
 * of admin_group may run everything; anyone else may run the reads, and
 * on D-Bus the others if polkit grants the operation's action.
 */
enum cvmd_privilege {
	CVMD_PRIV_READ,		/* everyone */
	CVMD_PRIV_MANAGE,	/* changes a VM: org.cvm.manage */
	CVMD_PRIV_MEMORY,	/* reveals VM memory: org.cvm.access-memory */
};

typedef void (*cvmd_handler)(struct cvmd *d, struct cvmd_client *c,
			     const Cvm__Request *req);

struct cvmd_operation {
	const char *name;		/* as refusals name it */
	enum cvmd_privilege priv;
	const char *polkit_action;	/* NULL for reads */
	cvmd_handler handle;
	bool vmm;			/* served by the VM's VMM (forwarded) */
	bool bus;			/* a D-Bus method builds this request */
	const ProtobufCMessageDescriptor *body;	/* the request's body */
	size_t body_offset;		/* of the body's pointer in Cvm__Request */
};

/* Return: the operation of a request's oneof case, or NULL if none. */
const struct cvmd_operation *cvmd_operation(int op_case);
/* Return: the request's body, or NULL if unknown or absent. */
const ProtobufCMessage *cvmd_request_body(const Cvm__Request *req);

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
