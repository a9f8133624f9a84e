/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cvm-ops.h - the protocol's operations, one row each, indexed by the
 * request's oneof case: name, privilege, polkit action, whether a VM's VMM
 * serves it, whether D-Bus offers it, and the request's body. What cvmd
 * and cvm-vmm both know of an operation; cvmd adds its handlers
 * (daemon/operations.c).
 */
#ifndef CVM_OPS_H
#define CVM_OPS_H

#include <stdbool.h>
#include <stddef.h>

#include "cvm.pb-c.h"

/*
 * Who may run an operation. One model on every edge: uid 0 and members
 * of admin_group may run everything; anyone else may run the reads, and
 * on D-Bus the others if polkit grants the operation's action.
 */
enum cvm_privilege {
	CVM_PRIV_READ,		/* everyone */
	CVM_PRIV_MANAGE,	/* changes a VM: org.cvm.manage */
	CVM_PRIV_MEMORY,	/* reveals VM memory: org.cvm.access-memory */
};

struct cvm_operation {
	const char *name;		/* as refusals name it */
	enum cvm_privilege priv;
	const char *polkit_action;	/* NULL for reads */
	bool vmm;			/* a VM's VMM serves it (cvmd sends it) */
	bool bus;			/* a D-Bus method builds this request */
	const ProtobufCMessageDescriptor *body;	/* the request's body */
	size_t body_offset;		/* of the body's pointer in Cvm__Request */
};

/* Return: the operation of a request's oneof case, or NULL if none. */
const struct cvm_operation *cvm_operation(int op_case);
/* Return: the request's body, or NULL if unknown or absent. */
const ProtobufCMessage *cvm_request_body(const Cvm__Request *req);
/*
 * Return: the VM a per-VM request names (its body's "name" field), or
 * NULL if the request names none.
 */
const char *cvm_request_vm_name(const Cvm__Request *req);

#endif /* CVM_OPS_H */
