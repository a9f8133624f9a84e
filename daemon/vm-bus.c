// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vm-bus.c - the D-Bus side of a VM: org.cvm.VM1 on
 * /org/cvm/Manager1/vm/<escaped name>, its properties (from cvmd's record
 * and the VMM's last counters, so a property read never waits on a VMM),
 * its methods (through the same dispatch as the socket), and its signals.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "uapi/cvm.h"

static struct cvmd_vm *vm_of_path(struct cvmd *d, const char *path)
{
	struct cvmd_vm *vm;
	char *name = NULL;

	if (sd_bus_path_decode(path, CVM_BUS_VM_PREFIX, &name) <= 0)
		return NULL;
	vm = cvmd_vm_find(d, name);
	free(name);
	return vm && !vm->destroying ? vm : NULL;
}

int cvmd_vm_bus_find(sd_bus *bus, const char *path, const char *iface,
		     void *userdata, void **ret_found, sd_bus_error *error)
{
	struct cvmd_vm *vm = vm_of_path(userdata, path);

	(void)bus;
	(void)iface;
	(void)error;
	if (!vm)
		return 0;
	*ret_found = vm;
	return 1;
}

int cvmd_vm_bus_enumerate(sd_bus *bus, const char *prefix, void *userdata,
			  char ***ret_nodes, sd_bus_error *error)
{
	struct cvmd *d = userdata;
	struct cvmd_vm *vm;
	char **nodes;
	size_t n = 0;

	(void)bus;
	(void)prefix;
	(void)error;
	nodes = calloc(d->nr_vms + 1, sizeof(*nodes));
	if (!nodes)
		return -ENOMEM;
	list_for_each_entry(vm, &d->vms, node) {
		if (vm->destroying)
			continue;
		if (cvmd_bus_vm_path(vm->rec.name, &nodes[n]) < 0)
			break;
		n++;
	}
	*ret_nodes = nodes;
	return 0;
}

static int prop_get(sd_bus *bus, const char *path, const char *iface,
		    const char *property, sd_bus_message *reply,
		    void *userdata, sd_bus_error *e)
{
	struct cvmd_vm *vm = userdata;
	struct cvmd_vm_counts *c = &vm->counts;

	(void)bus;
	(void)path;
	(void)iface;
	(void)e;
	if (!strcmp(property, "Name"))
		return sd_bus_message_append(reply, "s", vm->rec.name);
	if (!strcmp(property, "UUID"))
		return sd_bus_message_append(reply, "s", vm->rec.uuid);
	if (!strcmp(property, "State"))
		return sd_bus_message_append(reply, "s",
					     cvmd_state_name(vm->rec.state));
	if (!strcmp(property, "Failure"))
		return sd_bus_message_append(reply, "s", vm->rec.failure);
	if (!strcmp(property, "MemoryBytes"))
		return sd_bus_message_append(reply, "t", vm->rec.memory_bytes);
	if (!strcmp(property, "MemlockLimitBytes"))
		return sd_bus_message_append(reply, "t",
					     vm->rec.memlock_limit_bytes);
	if (!strcmp(property, "NormalPages"))
		return sd_bus_message_append(reply, "t", c->normal);
	if (!strcmp(property, "SharedPages"))
		return sd_bus_message_append(reply, "t", c->shared);
	if (!strcmp(property, "SecurePages"))
		return sd_bus_message_append(reply, "t", c->secure);
	if (!strcmp(property, "SecurePagedOutPages"))
		return sd_bus_message_append(reply, "t", c->secure_paged_out);
	if (!strcmp(property, "PinnedPages"))
		return sd_bus_message_append(reply, "t", c->pinned);
	if (!strcmp(property, "DmaSharedPages"))
		return sd_bus_message_append(reply, "t", c->dma_shared);
	if (!strcmp(property, "Measurement"))
		return sd_bus_message_append_array(reply, 'y', c->measurement,
						   c->sealed ?
						   sizeof(c->measurement) : 0);
	return -ENOENT;
}

static const char *vm_name(void *userdata)
{
	return ((struct cvmd_vm *)userdata)->rec.name;
}

static int lifecycle(sd_bus_message *m, void *userdata, Cvm__LifecycleOp op)
{
	Cvm__Request *req = cvmd_bus_request_new(CVM__REQUEST__OP_LIFECYCLE,
						 vm_name(userdata));

	if (req) {
		req->lifecycle->op = op;
		req->lifecycle->op_set_case = CVM__LIFECYCLE_REQUEST__OP_SET_OP;
	}
	return cvmd_bus_run(((struct cvmd_vm *)userdata)->d, m, req,
			    CVMD_BUS_REPLY_NONE);
}

static int method_init_start(sd_bus_message *m, void *u, sd_bus_error *e)
{
	(void)e;
	return lifecycle(m, u, CVM__LIFECYCLE_OP__INIT_START);
}

static int method_init_done(sd_bus_message *m, void *u, sd_bus_error *e)
{
	(void)e;
	return lifecycle(m, u, CVM__LIFECYCLE_OP__INIT_DONE);
}

static int method_init_abort(sd_bus_message *m, void *u, sd_bus_error *e)
{
	(void)e;
	return lifecycle(m, u, CVM__LIFECYCLE_OP__INIT_ABORT);
}

static int method_terminate(sd_bus_message *m, void *u, sd_bus_error *e)
{
	(void)e;
	return lifecycle(m, u, CVM__LIFECYCLE_OP__TERMINATE);
}

static int page(sd_bus_message *m, void *userdata, Cvm__PageOp op,
		uint64_t gpa, uint64_t pages)
{
	Cvm__Request *req = cvmd_bus_request_new(CVM__REQUEST__OP_PAGE,
						 vm_name(userdata));

	if (req) {
		req->page->op = op;
		req->page->op_set_case = CVM__PAGE_REQUEST__OP_SET_OP;
		req->page->gpa = gpa;
		req->page->pages = pages;
	}
	return cvmd_bus_run(((struct cvmd_vm *)userdata)->d, m, req,
			    CVMD_BUS_REPLY_NONE);
}

static int method_page_in(sd_bus_message *m, void *u, sd_bus_error *e)
{
	uint64_t gpa;
	int shared, ret;

	(void)e;
	ret = sd_bus_message_read(m, "tb", &gpa, &shared);
	if (ret < 0)
		return ret;
	return page(m, u, shared ? CVM__PAGE_OP__PAGE_IN_SHARED :
		    CVM__PAGE_OP__PAGE_IN, gpa, 1);
}

static int method_page_out(sd_bus_message *m, void *u, sd_bus_error *e)
{
	uint64_t gpa;
	int ret;

	(void)e;
	ret = sd_bus_message_read(m, "t", &gpa);
	if (ret < 0)
		return ret;
	return page(m, u, CVM__PAGE_OP__PAGE_OUT, gpa, 1);
}

/* Share, Unshare, DmaShare, DmaUnshare: (t gpa, t pages) */
static int range(sd_bus_message *m, void *u, Cvm__PageOp op)
{
	uint64_t gpa, pages;
	int ret = sd_bus_message_read(m, "tt", &gpa, &pages);

	if (ret < 0)
		return ret;
	return page(m, u, op, gpa, pages);
}

static int method_share(sd_bus_message *m, void *u, sd_bus_error *e)
{
	(void)e;
	return range(m, u, CVM__PAGE_OP__SHARE);
}

static int method_unshare(sd_bus_message *m, void *u, sd_bus_error *e)
{
	(void)e;
	return range(m, u, CVM__PAGE_OP__UNSHARE);
}

static int method_dma_share(sd_bus_message *m, void *u, sd_bus_error *e)
{
	(void)e;
	return range(m, u, CVM__PAGE_OP__DMA_SHARE);
}

static int method_dma_unshare(sd_bus_message *m, void *u, sd_bus_error *e)
{
	(void)e;
	return range(m, u, CVM__PAGE_OP__DMA_UNSHARE);
}

static int method_guest_write(sd_bus_message *m, void *u, sd_bus_error *e)
{
	Cvm__Request *req;
	const void *data;
	uint64_t gpa;
	size_t len;
	int ret;

	ret = sd_bus_message_read(m, "t", &gpa);
	if (ret >= 0)
		ret = sd_bus_message_read_array(m, 'y', &data, &len);
	if (ret < 0)
		return ret;
	if (!len || len > CVM_ACCESS_MAX)
		return sd_bus_error_setf(e, "org.cvm.Error.InvalidArgs",
					 "data must be 1 to %u bytes, not %zu",
					 CVM_ACCESS_MAX, len);
	req = cvmd_bus_request_new(CVM__REQUEST__OP_GUEST_WRITE, vm_name(u));
	if (req) {
		req->guest_write->gpa = gpa;
		req->guest_write->data.data = malloc(len);
		if (!req->guest_write->data.data)
			req = cvmd_bus_request_free(req);
		else
			memcpy(req->guest_write->data.data, data, len);
		if (req)
			req->guest_write->data.len = len;
	}
	return cvmd_bus_run(((struct cvmd_vm *)u)->d, m, req,
			    CVMD_BUS_REPLY_NONE);
}

static int read_bytes(sd_bus_message *m, void *u, sd_bus_error *e, bool host)
{
	Cvm__Request *req;
	uint64_t gpa;
	uint32_t len;
	int ret = sd_bus_message_read(m, "tu", &gpa, &len);

	if (ret < 0)
		return ret;
	if (!len || len > CVM_ACCESS_MAX)
		return sd_bus_error_setf(e, "org.cvm.Error.InvalidArgs",
					 "length must be 1 to %u, not %u",
					 CVM_ACCESS_MAX, len);
	req = cvmd_bus_request_new(CVM__REQUEST__OP_READ, vm_name(u));
	if (req) {
		req->read->gpa = gpa;
		req->read->length = len;
		req->read->host = host;
	}
	return cvmd_bus_run(((struct cvmd_vm *)u)->d, m, req,
			    CVMD_BUS_REPLY_DATA);
}

static int method_guest_read(sd_bus_message *m, void *u, sd_bus_error *e)
{
	return read_bytes(m, u, e, false);
}

static int method_host_read(sd_bus_message *m, void *u, sd_bus_error *e)
{
	return read_bytes(m, u, e, true);
}

static int method_snapshot(sd_bus_message *m, void *u, sd_bus_error *e)
{
	(void)e;
	return cvmd_bus_run(((struct cvmd_vm *)u)->d, m,
			    cvmd_bus_request_new(CVM__REQUEST__OP_SNAPSHOT,
						 vm_name(u)),
			    CVMD_BUS_REPLY_SNAPSHOT);
}

#define VM_PROP(name, sig, flags) \
	SD_BUS_PROPERTY(name, sig, prop_get, 0, flags)
#define CHANGES SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE
#define NOARGS "", , "", ,

const sd_bus_vtable cvmd_vm_vtable[] = {
	SD_BUS_VTABLE_START(0),
	VM_PROP("Name", "s", SD_BUS_VTABLE_PROPERTY_CONST),
	VM_PROP("UUID", "s", SD_BUS_VTABLE_PROPERTY_CONST),
	VM_PROP("State", "s", CHANGES),
	VM_PROP("Failure", "s", CHANGES),
	VM_PROP("MemoryBytes", "t", SD_BUS_VTABLE_PROPERTY_CONST),
	VM_PROP("MemlockLimitBytes", "t", SD_BUS_VTABLE_PROPERTY_CONST),
	VM_PROP("NormalPages", "t", CHANGES),
	VM_PROP("SharedPages", "t", CHANGES),
	VM_PROP("SecurePages", "t", CHANGES),
	VM_PROP("SecurePagedOutPages", "t", CHANGES),
	VM_PROP("PinnedPages", "t", CHANGES),
	VM_PROP("DmaSharedPages", "t", CHANGES),
	VM_PROP("Measurement", "ay", CHANGES),
	SD_BUS_METHOD("InitStart", "", "", method_init_start,
		      SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("InitDone", "", "", method_init_done,
		      SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("InitAbort", "", "", method_init_abort,
		      SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("Terminate", "", "", method_terminate,
		      SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_NAMES("PageIn", "tb", SD_BUS_PARAM(gpa)
				 SD_BUS_PARAM(shared), "", , method_page_in,
				 SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_NAMES("PageOut", "t", SD_BUS_PARAM(gpa), "", ,
				 method_page_out, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_NAMES("Share", "tt", SD_BUS_PARAM(gpa)
				 SD_BUS_PARAM(pages), "", , method_share,
				 SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_NAMES("Unshare", "tt", SD_BUS_PARAM(gpa)
				 SD_BUS_PARAM(pages), "", , method_unshare,
				 SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_NAMES("DmaShare", "tt", SD_BUS_PARAM(gpa)
				 SD_BUS_PARAM(pages), "", , method_dma_share,
				 SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_NAMES("DmaUnshare", "tt", SD_BUS_PARAM(gpa)
				 SD_BUS_PARAM(pages), "", , method_dma_unshare,
				 SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_NAMES("GuestWrite", "tay", SD_BUS_PARAM(gpa)
				 SD_BUS_PARAM(data), "", , method_guest_write,
				 SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_NAMES("GuestRead", "tu", SD_BUS_PARAM(gpa)
				 SD_BUS_PARAM(length), "ay", SD_BUS_PARAM(data),
				 method_guest_read, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_NAMES("HostRead", "tu", SD_BUS_PARAM(gpa)
				 SD_BUS_PARAM(length), "ay", SD_BUS_PARAM(data),
				 method_host_read, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_NAMES("Snapshot", "", , "a(ttybbbu)",
				 SD_BUS_PARAM(gfns), method_snapshot,
				 SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END
};

/* A transition, a VM appearing or going: signals and object changes. */
void cvmd_bus_vm_event(struct cvmd *d, const char *vm, const char *kind,
		       int from, int to, const char *operation)
{
	char *path = NULL;

	if (!d->bus || d->bus_lost || cvmd_bus_vm_path(vm, &path) < 0)
		return;
	if (!strcmp(kind, "created")) {
		sd_bus_emit_object_added(d->bus, path);
		sd_bus_emit_properties_changed(d->bus, CVM_BUS_PATH,
					       CVM_BUS_MANAGER_IFACE, "VMCount",
					       NULL);
	} else if (!strcmp(kind, "destroyed")) {
		sd_bus_emit_object_removed(d->bus, path);
		sd_bus_emit_properties_changed(d->bus, CVM_BUS_PATH,
					       CVM_BUS_MANAGER_IFACE, "VMCount",
					       NULL);
	} else if (!strcmp(kind, "state") || !strcmp(kind, "failed")) {
		sd_bus_emit_signal(d->bus, CVM_BUS_PATH, CVM_BUS_MANAGER_IFACE,
				   "StateChanged", "ssss", vm,
				   cvmd_state_name(from), cvmd_state_name(to),
				   operation);
		sd_bus_emit_properties_changed(d->bus, path, CVM_BUS_VM_IFACE,
					       "State", "Failure",
					       "Measurement", NULL);
	}
	free(path);
}

/* The VMM's counters changed: tell property watchers. */
void cvmd_bus_vm_counts_changed(struct cvmd_vm *vm)
{
	struct cvmd *d = vm->d;
	char *path = NULL;

	if (!d->bus || d->bus_lost || vm->destroying ||
	    cvmd_bus_vm_path(vm->rec.name, &path) < 0)
		return;
	sd_bus_emit_properties_changed(d->bus, path, CVM_BUS_VM_IFACE,
				       "NormalPages", "SharedPages",
				       "SecurePages", "SecurePagedOutPages",
				       "PinnedPages", "DmaSharedPages", NULL);
	free(path);
}
