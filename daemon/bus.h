/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bus.h - cvmd's D-Bus edge (sd-bus on the libuv loop): the manager
 * object here, the per-VM objects in vm-bus.c. Both run requests through
 * the same dispatch table as the protobuf socket.
 */
#ifndef CVMD_BUS_H
#define CVMD_BUS_H

#include <systemd/sd-bus.h>

#include "cvmd.h"

#define CVM_BUS_NAME "org.cvm.Manager1"
#define CVM_BUS_PATH "/org/cvm/Manager1"
#define CVM_BUS_VM_PREFIX "/org/cvm/Manager1/vm"
#define CVM_BUS_MANAGER_IFACE "org.cvm.Manager1"
#define CVM_BUS_VM_IFACE "org.cvm.VM1"

/* What a method returns, built from the Response its request gets. */
enum cvmd_bus_reply {
	CVMD_BUS_REPLY_NONE,
	CVMD_BUS_REPLY_PATH,		/* "o": the VM's object path */
	CVMD_BUS_REPLY_DATA,		/* "ay" */
	CVMD_BUS_REPLY_SNAPSHOT,	/* "a(ttybbbu)" */
	CVMD_BUS_REPLY_LIST,		/* "a(sso)": name, state, path */
};

int cvmd_bus_start(struct cvmd *d, const char *which);
void cvmd_bus_stop(struct cvmd *d);
int cvmd_bus_vm_path(const char *name, char **ret_path);
/*
 * Run a request for a method call: authorize it when the operation table
 * names a polkit action for it (uid 0 and the admin group pass, anyone
 * else asks polkit about that action), dispatch it, reply when answered.
 * Takes ownership of req (built with cvmd_bus_request_new()).
 */
int cvmd_bus_run(struct cvmd *d, sd_bus_message *m, Cvm__Request *req,
		 enum cvmd_bus_reply reply);
Cvm__Request *cvmd_bus_request_new(Cvm__Request__OpCase op,
				   const char *name);
Cvm__Request *cvmd_bus_request_free(Cvm__Request *req);

/* vm-bus.c */
extern const sd_bus_vtable cvmd_vm_vtable[];
int cvmd_vm_bus_find(sd_bus *bus, const char *path, const char *iface,
		     void *userdata, void **ret_found, sd_bus_error *error);
int cvmd_vm_bus_enumerate(sd_bus *bus, const char *prefix, void *userdata,
			  char ***ret_nodes, sd_bus_error *error);
void cvmd_bus_vm_event(struct cvmd *d, const char *vm, const char *kind,
		       int from, int to, const char *operation);
void cvmd_bus_vm_counts_changed(struct cvmd_vm *vm);

#endif /* CVMD_BUS_H */
