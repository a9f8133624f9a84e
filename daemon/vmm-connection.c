// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vmm-connection.c - cvmd's connection to a VM's cvm-vmm: connect (after
 * a spawn or a cvmd restart), the queue of calls awaiting answers (the
 * VMM answers in order), frame reading and writing. A VMM that breaks
 * the protocol is given up on (cvmd_vm_lost()).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>

#include "cvmd.h"

/* Answer every queued call with err: the VMM is gone. */
void cvmd_vmm_fail_calls(struct cvmd_vm *vm, int err)
{
	struct cvmd_call *call;

	while (!list_empty(&vm->calls)) {
		call = list_first_entry(&vm->calls, struct cvmd_call, node);
		list_del(&call->node);
		call->done(call, NULL, err);
	}
}

void cvmd_vmm_disconnect(struct cvmd_vm *vm)
{
	if (vm->connected) {
		vm->connected = false;
		uv_read_stop((uv_stream_t *)&vm->vmm);
	}
	if (vm->vmm_open) {
		vm->vmm_open = false;
		cvmd_vm_close_handle(vm, (uv_handle_t *)&vm->vmm);
	}
}

static void on_vmm_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static char slab[65536];

	(void)h;
	(void)suggested;
	*buf = uv_buf_init(slab, sizeof(slab));
}

static void on_vmm_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct cvmd_vm *vm = s->data;
	struct cvmd_call *call;
	Cvm__Response *resp;
	const uint8_t *msg = NULL;
	size_t len = 0;
	char why[128];
	int ret;

	if (n < 0) {
		snprintf(why, sizeof(why), "VMM (pid %d) exited",
			 vm->rec.vmm_pid);
		cvmd_vm_lost(vm, why);
		return;
	}
	if (cvm_frame_reader_feed(&vm->rd, buf->base, n)) {
		cvmd_vm_lost(vm, "out of memory reading from the VMM");
		return;
	}
	while ((ret = cvm_frame_reader_next(&vm->rd, &msg, &len)) > 0) {
		resp = cvm_response_decode(msg, len);
		if (!resp || list_empty(&vm->calls)) {
			if (resp)
				cvm__response__free_unpacked(resp, NULL);
			cvmd_vm_lost(vm, "VMM sent an invalid answer");
			return;
		}
		call = list_first_entry(&vm->calls, struct cvmd_call, node);
		if (!cvmd_call_continues(call, resp))
			list_del(&call->node);
		if (resp->result_case == CVM__RESPONSE__RESULT_VM)
			cvmd_vm_take_info(vm, resp->vm);
		call->done(call, resp, 0);
		cvm__response__free_unpacked(resp, NULL);
		if (!vm->connected)
			return;
	}
	if (ret < 0)
		cvmd_vm_lost(vm, "VMM sent an oversized frame");
}

struct vmm_write {
	uv_write_t req;
	uint8_t *buf;
};

static void on_vmm_written(uv_write_t *req, int status)
{
	struct vmm_write *w = container_of(req, struct vmm_write, req);

	(void)status;	/* a broken VMM shows up as EOF on the read side */
	free(w->buf);
	free(w);
}

/**
 * cvmd_vm_call() - send a request to the VM's VMM; call->done runs with
 * its answer, or with -ENOLINK if the VMM goes away first
 * @vm: the VM
 * @req: the request (its id is the VMM connection's business)
 * @call: filled by the caller, owned by done from now on
 *
 * Return: 0, or -errno with call->done never called.
 */
int cvmd_vm_call(struct cvmd_vm *vm, const Cvm__Request *req,
		 struct cvmd_call *call)
{
	struct vmm_write *w;
	uv_buf_t buf;
	size_t len;
	int ret;

	if (!vm->connected)
		return -ENOLINK;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	ret = cvm_frame_pack_request(req, &w->buf, &len);
	if (ret) {
		free(w);
		return ret;
	}
	buf = uv_buf_init((char *)w->buf, len);
	ret = uv_write(&w->req, (uv_stream_t *)&vm->vmm, &buf, 1,
		       on_vmm_written);
	if (ret) {
		free(w->buf);
		free(w);
		return ret;
	}
	call->vm = vm;
	list_add_tail(&call->node, &vm->calls);
	return 0;
}

/*
 * The process at the other end of the VMM socket is the VMM, whatever the
 * record says (a crash before its pid was written leaves 0 there): hold it
 * by a pidfd, and correct the record.
 */
static void learn_vmm_pid(struct cvmd_vm *vm)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	uv_os_fd_t fd;
	int pidfd;

	if (vm->proc_live || uv_fileno((uv_handle_t *)&vm->vmm, &fd) ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) ||
	    cred.pid <= 0)
		return;
	if (vm->pidfd < 0 || cred.pid != vm->rec.vmm_pid) {
		pidfd = cvmd_vmm_pidfd(cred.pid, vm->rec.vmm_socket);
		if (pidfd < 0)
			return;
		cvmd_vmm_release(vm);
		vm->pidfd = pidfd;
	}
	if (cred.pid != vm->rec.vmm_pid) {
		cvmd_log(LOG_WARNING, "vm %s: recorded VMM pid %d, its socket's "
			 "peer is %d: record corrected", vm->rec.name,
			 vm->rec.vmm_pid, (int)cred.pid);
		vm->rec.vmm_pid = cred.pid;
		cvmd_vm_record_save(vm);
	}
}

static void on_connected(uv_connect_t *req, int status)
{
	struct cvmd_vm *vm = req->data;
	char why[160];

	free(req);
	if (vm->freeing)
		return;
	if (status < 0) {
		if (vm->creator) {
			cvmd_vm_create_failed(vm, -ENOLINK, "cannot reach its VMM");
			return;
		}
		snprintf(why, sizeof(why),
			 "VMM (pid %d) not reachable after cvmd restart: %s",
			 vm->rec.vmm_pid, uv_strerror(status));
		cvmd_vm_lost(vm, why);
		return;
	}
	vm->connected = true;
	vm->vmm.data = vm;
	learn_vmm_pid(vm);
	uv_read_start((uv_stream_t *)&vm->vmm, on_vmm_alloc, on_vmm_read);
	if (cvmd_vm_refresh(vm))
		cvmd_vm_lost(vm, "cannot talk to its VMM");
}

int cvmd_vmm_connect(struct cvmd_vm *vm)
{
	uv_connect_t *req = calloc(1, sizeof(*req));

	if (!req)
		return -ENOMEM;
	cvm_frame_reader_init(&vm->rd, CVM_FRAME_MAX);
	uv_pipe_init(vm->d->loop, &vm->vmm, 0);
	vm->vmm.data = vm;
	vm->vmm_open = true;
	vm->handles++;
	req->data = vm;
	uv_pipe_connect(req, &vm->vmm, vm->rec.vmm_socket, on_connected);
	return 0;
}
