// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vm.c - the VM object in cvmd: its record, its cvm-vmm (spawned,
 * connected, or reconnected after a cvmd restart), the queue of calls to
 * it, and what happens when the VMM dies (the VM is marked failed with the
 * reason; nothing else is touched).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>
#include <systemd/sd-id128.h>

#include "bus.h"
#include "cvmd.h"
#include "failpoint.h"

static const char *const state_names[] = {
	[CVM__VM_STATE__NORMAL] = "normal",
	[CVM__VM_STATE__TRANSIENT] = "transient",
	[CVM__VM_STATE__SECURE] = "secure",
	[CVM__VM_STATE__FAILED] = "failed",
};

const char *cvmd_state_name(int state)
{
	if (state < 0 || state > CVM__VM_STATE__FAILED)
		return "unknown";
	return state_names[state];
}

struct cvmd_vm *cvmd_vm_find(struct cvmd *d, const char *name)
{
	struct cvmd_vm *vm;

	list_for_each_entry(vm, &d->vms, node)
		if (!strcmp(vm->rec.name, name))
			return vm;
	return NULL;
}

/**
 * cvmd_vm_pool() - the secure pool for status: on sim, the sum of the
 * pools of the VMs that have a VMM (one walk of at most max_vms VMs)
 * @d: the daemon
 * @ret: filled; all zeros on kmod
 */
void cvmd_vm_pool(struct cvmd *d, struct cvmd_pool *ret)
{
	uint64_t resident = 0;
	struct cvmd_vm *vm;

	memset(ret, 0, sizeof(*ret));
	if (strcmp(d->backend, "sim"))
		return;
	ret->per_vm = d->cfg.sim_pool_pages;
	list_for_each_entry (vm, &d->vms, node) {
		if (vm->rec.state == CVM__VM_STATE__FAILED)
			continue;
		ret->vms++;
		resident += vm->counts.pool_pages;
	}
	ret->total = ret->per_vm * ret->vms;
	ret->free = ret->total > resident ? ret->total - resident : 0;
}

/* Names: 1-64 of [A-Za-z0-9_.-], not starting with '.' or '-'. */
static bool name_valid(const char *name)
{
	size_t i, len = strlen(name);

	if (!len || len > 64 || name[0] == '.' || name[0] == '-')
		return false;
	for (i = 0; i < len; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789_.-", name[i]))
			return false;
	return true;
}

/* A random (v4) UUID from the kernel's getrandom(), without /proc: the
 * unit hides /proc's non-process files (ProcSubset=pid). */
static int new_uuid(char out[SD_ID128_UUID_STRING_MAX])
{
	sd_id128_t id;
	int ret = sd_id128_randomize(&id);

	if (ret < 0)
		return ret;
	sd_id128_to_uuid_string(id, out);
	return 0;
}

void cvmd_vm_fill_info(struct cvmd_vm *vm, Cvm__VmInfo *info,
		       Cvm__PageCounts *pages)
{
	cvm__vm_info__init(info);
	cvm__page_counts__init(pages);
	info->name = vm->rec.name;
	info->uuid = vm->rec.uuid;
	info->state = vm->rec.state;
	info->memory_bytes = vm->rec.memory_bytes;
	pages->normal = vm->counts.normal;
	pages->shared = vm->counts.shared;
	pages->secure = vm->counts.secure;
	pages->secure_paged_out = vm->counts.secure_paged_out;
	info->pages = pages;
	info->pinned_pages = vm->counts.pinned;
	info->memlock_limit_bytes = vm->rec.memlock_limit_bytes;
	info->dma_shared_pages = vm->counts.dma_shared;
	info->pin = vm->rec.pin;
	info->pool_pages = vm->counts.pool_pages;
	info->evictions = vm->counts.evictions;
	info->measured_pages = vm->counts.measured;
	if (vm->counts.sealed) {
		info->measurement.data = vm->counts.measurement;
		info->measurement.len = sizeof(vm->counts.measurement);
	}
	info->vmm_pid = vm->rec.vmm_pid;
	info->failure = vm->rec.failure;
	info->owner = vm->rec.owner;
}

void cvmd_vm_take_info(struct cvmd_vm *vm, const Cvm__VmInfo *info)
{
	struct cvmd_vm_counts *c = &vm->counts, old = vm->counts;

	if (info->pages) {
		c->normal = info->pages->normal;
		c->shared = info->pages->shared;
		c->secure = info->pages->secure;
		c->secure_paged_out = info->pages->secure_paged_out;
	}
	c->pinned = info->pinned_pages;
	c->dma_shared = info->dma_shared_pages;
	c->pool_pages = info->pool_pages;
	c->evictions = info->evictions;
	c->measured = info->measured_pages;
	c->sealed = info->measurement.len == sizeof(c->measurement);
	if (c->sealed)
		memcpy(c->measurement, info->measurement.data,
		       sizeof(c->measurement));
	if (memcmp(&old, c, sizeof(old)))
		cvmd_bus_vm_counts_changed(vm);
}

/**
 * cvmd_vm_set_state() - a transition the VMM made: recorded (at once when
 * the registry can be written, else as soon as it can: vm-record.c), then
 * logged and sent to watchers
 * @vm: the VM
 * @state: the new Cvm__VmState
 * @operation: what caused it
 * @caller: the uid that asked (0 for the daemon itself)
 */
void cvmd_vm_set_state(struct cvmd_vm *vm, int state, const char *operation,
		       uid_t caller)
{
	int from = vm->rec.state;

	if (from == state)
		return;
	vm->rec.state = state;
	cvmd_vm_record_save(vm);
	cvmd_event(vm->d, vm->rec.name, state == CVM__VM_STATE__FAILED ?
		   "failed" : "state", from, state, operation, caller,
		   state == CVM__VM_STATE__FAILED ? vm->rec.failure : NULL);
}

static void handle_closed(uv_handle_t *h)
{
	struct cvmd_vm *vm = h->data;

	if (--vm->handles || !vm->freeing)
		return;
	cvm_frame_reader_free(&vm->rd);
	free(vm);
}

static void close_handle(struct cvmd_vm *vm, uv_handle_t *h)
{
	if (uv_is_closing(h))
		return;
	h->data = vm;
	uv_close(h, handle_closed);
}

/* Answer every queued call with err: the VMM is gone. */
static void fail_calls(struct cvmd_vm *vm, int err)
{
	struct cvmd_call *call;

	while (!list_empty(&vm->calls)) {
		call = list_first_entry(&vm->calls, struct cvmd_call, node);
		list_del(&call->node);
		call->done(call, NULL, err);
	}
}

static void disconnect(struct cvmd_vm *vm)
{
	if (vm->connected) {
		vm->connected = false;
		uv_read_stop((uv_stream_t *)&vm->vmm);
	}
	if (vm->vmm_open) {
		vm->vmm_open = false;
		close_handle(vm, (uv_handle_t *)&vm->vmm);
	}
}

/*
 * The VM leaves cvmd. Its VMM goes with it, except when cvmd stops (VMMs
 * outlive cvmd by design). A VMM child's process handle stays open until
 * its exit callback, which reaps it: closed earlier, libuv would stop
 * waiting for it and it would stay a zombie.
 */
static void free_vm(struct cvmd_vm *vm)
{
	list_del(&vm->node);
	vm->d->nr_vms--;
	cvmd_notify_status(vm->d);
	vm->freeing = true;
	disconnect(vm);
	if (vm->ready_open) {
		vm->ready_open = false;
		close_handle(vm, (uv_handle_t *)&vm->ready);
	}
	if (!vm->d->stopping)
		cvmd_vmm_kill(vm);
	cvmd_vmm_release(vm);
	if (vm->proc_live && vm->d->stopping) {
		vm->proc_live = false;
		close_handle(vm, (uv_handle_t *)&vm->proc);
	}
	if (!vm->handles) {
		cvm_frame_reader_free(&vm->rd);
		free(vm);
	}
}

static void reply_vm(struct cvmd_vm *vm, struct cvmd_client *c, uint64_t id)
{
	Cvm__PageCounts pages;
	Cvm__Response resp;
	Cvm__VmInfo info;

	cvmd_vm_fill_info(vm, &info, &pages);
	cvm__response__init(&resp);
	resp.id = id;
	resp.result_case = CVM__RESPONSE__RESULT_VM;
	resp.vm = &info;
	cvmd_client_send(c, &resp);
}

static void finish_destroy(struct cvmd_vm *vm)
{
	struct cvmd *d = vm->d;
	struct cvmd_client *c = vm->destroyer;
	int from = vm->rec.state;

	cvmd_failpoint("destroy-vmm-gone");
	/* The VMM is gone: a deletion that must wait still succeeds. */
	cvmd_vm_record_forget(d, vm->rec.name);
	unlink(vm->rec.vmm_socket);
	cvmd_event(d, vm->rec.name, "destroyed", from, CVM__VM_STATE__NORMAL,
		   "destroy", c ? c->uid : 0, NULL);
	if (c) {
		Cvm__Response resp;

		cvm__response__init(&resp);
		resp.id = vm->destroyer_id;
		cvmd_client_send(c, &resp);
		c->in_flight--;
		cvmd_client_unref(c);
	}
	vm->destroyer = NULL;
	free_vm(vm);
}

/* The VMM went away without being asked: the VM failed. */
static void vmm_lost(struct cvmd_vm *vm, const char *why)
{
	disconnect(vm);
	/* Given up on: it must not run on with the VM's memory. */
	cvmd_vmm_kill(vm);
	fail_calls(vm, -ENOLINK);
	if (vm->destroying) {
		finish_destroy(vm);
		return;
	}
	if (vm->rec.state == CVM__VM_STATE__FAILED)
		return;
	snprintf(vm->rec.failure, sizeof(vm->rec.failure), "%s", why);
	unlink(vm->rec.vmm_socket);
	cvmd_vm_set_state(vm, CVM__VM_STATE__FAILED, "vmm-exit", 0);
}

/* cvmd gives up on a VM's VMM (it lied): the VM fails, the VMM is killed. */
void cvmd_vm_lost(struct cvmd_vm *vm, const char *why)
{
	vmm_lost(vm, why);
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
		vmm_lost(vm, why);
		return;
	}
	if (cvm_frame_reader_feed(&vm->rd, buf->base, n)) {
		vmm_lost(vm, "out of memory reading from the VMM");
		return;
	}
	while ((ret = cvm_frame_reader_next(&vm->rd, &msg, &len)) > 0) {
		resp = cvm__response__unpack(NULL, len, msg);
		if (!resp || list_empty(&vm->calls)) {
			if (resp)
				cvm__response__free_unpacked(resp, NULL);
			vmm_lost(vm, "VMM sent an invalid answer");
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
		vmm_lost(vm, "VMM sent an oversized frame");
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

/* The daemon's own refresh of a VM's counters (after create/reconnect). */
static void refreshed(struct cvmd_call *call, const Cvm__Response *resp,
		      int err)
{
	struct cvmd_vm *vm = call->vm;
	struct cvmd_client *c = vm->creator;

	if (c) {
		vm->creator = NULL;
		if (err || resp->status) {
			cvmd_client_error(c, vm->creator_id, -ENOLINK,
					  "VMM died while starting");
		} else {
			cvmd_event(vm->d, vm->rec.name, "created",
				   CVM__VM_STATE__NORMAL, CVM__VM_STATE__NORMAL,
				   "create", c->uid, NULL);
			reply_vm(vm, c, vm->creator_id);
		}
		c->in_flight--;
		cvmd_client_unref(c);
	} else if (!err && !resp->status &&
		   resp->result_case == CVM__RESPONSE__RESULT_VM &&
		   (int)resp->vm->state != vm->rec.state &&
		   resp->vm->state <= CVM__VM_STATE__SECURE) {
		/*
		 * Reconnected after a crash between the VMM's transition and
		 * its record: the VMM holds the VM, so its state wins.
		 */
		cvmd_log(LOG_WARNING, "vm %s: recorded %s, its VMM says %s: "
			 "record corrected", vm->rec.name,
			 cvmd_state_name(vm->rec.state),
			 cvmd_state_name(resp->vm->state));
		cvmd_vm_set_state(vm, resp->vm->state, "reconnect", 0);
	}
	free(call);
}

static int refresh(struct cvmd_vm *vm)
{
	Cvm__ShowRequest show = CVM__SHOW_REQUEST__INIT;
	Cvm__Request req = CVM__REQUEST__INIT;
	struct cvmd_call *call = calloc(1, sizeof(*call));
	int ret;

	if (!call)
		return -ENOMEM;
	show.name = vm->rec.name;
	req.op_case = CVM__REQUEST__OP_SHOW;
	req.show = &show;
	call->done = refreshed;
	ret = cvmd_vm_call(vm, &req, call);
	if (ret)
		free(call);
	return ret;
}

/* A create that could not finish: no record, no VM, the client told. */
static void create_failed(struct cvmd_vm *vm, int err, const char *why)
{
	struct cvmd_client *c = vm->creator;

	vm->creator = NULL;
	cvmd_vmm_kill(vm);
	cvmd_vm_record_forget(vm->d, vm->rec.name);
	unlink(vm->rec.vmm_socket);
	if (c) {
		cvmd_client_error(c, vm->creator_id, err, "cannot create: %s",
				  why);
		c->in_flight--;
		cvmd_client_unref(c);
	}
	free_vm(vm);
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
			create_failed(vm, -ENOLINK, "cannot reach its VMM");
			return;
		}
		snprintf(why, sizeof(why),
			 "VMM (pid %d) not reachable after cvmd restart: %s",
			 vm->rec.vmm_pid, uv_strerror(status));
		vmm_lost(vm, why);
		return;
	}
	vm->connected = true;
	vm->vmm.data = vm;
	learn_vmm_pid(vm);
	uv_read_start((uv_stream_t *)&vm->vmm, on_vmm_alloc, on_vmm_read);
	if (refresh(vm))
		vmm_lost(vm, "cannot talk to its VMM");
}

static int connect_vmm(struct cvmd_vm *vm)
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

static void on_exit_status(uv_process_t *p, int64_t status, int sig)
{
	struct cvmd_vm *vm = p->data;
	char why[128];

	vm->proc_live = false;
	close_handle(vm, (uv_handle_t *)&vm->proc);
	if (vm->freeing || vm->destroying)
		return;
	if (sig)
		snprintf(why, sizeof(why), "VMM (pid %d) killed by signal %d",
			 vm->rec.vmm_pid, sig);
	else
		snprintf(why, sizeof(why), "VMM (pid %d) exited with status %d",
			 vm->rec.vmm_pid, (int)status);
	if (vm->creator && !vm->connected) {
		/* Before "ready": the ready line says why, if it came. */
		return;
	}
	if (vm->rec.state == CVM__VM_STATE__FAILED) {
		/* Already failed on EOF: give the precise reason. */
		snprintf(vm->rec.failure, sizeof(vm->rec.failure), "%s", why);
		cvmd_vm_record_save(vm);
		return;
	}
	vmm_lost(vm, why);
}

static void on_ready_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct cvmd_vm *vm = h->data;

	(void)suggested;
	*buf = uv_buf_init(vm->ready_line + vm->ready_len,
			   sizeof(vm->ready_line) - 1 - vm->ready_len);
}

static void on_ready_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct cvmd_vm *vm = s->data;
	char *nl, *msg;
	int err;

	(void)buf;
	if (n > 0)
		vm->ready_len += n;
	vm->ready_line[vm->ready_len] = '\0';
	nl = strchr(vm->ready_line, '\n');
	if (!nl && n >= 0 && vm->ready_len < sizeof(vm->ready_line) - 1)
		return;
	uv_read_stop(s);
	vm->ready_open = false;
	close_handle(vm, (uv_handle_t *)&vm->ready);
	if (nl)
		*nl = '\0';
	if (!strcmp(vm->ready_line, "ready")) {
		if (connect_vmm(vm))
			create_failed(vm, -ENOMEM, "out of memory");
		return;
	}
	/* "error ERRNO WHAT: TEXT" from cvm-vmm, or nothing at all. */
	err = -EIO;
	msg = vm->ready_line;
	if (!strncmp(msg, "error ", 6)) {
		err = -atoi(msg + 6);
		msg = strchr(msg + 6, ' ');
		msg = msg ? msg + 1 : vm->ready_line;
	} else if (!*msg) {
		msg = "its VMM exited before it was ready";
	}
	create_failed(vm, err ? err : -EIO, msg);
}

static int spawn_vmm(struct cvmd_vm *vm)
{
	struct cvmd *d = vm->d;
	char mem[32], limit[32], pool[32];
	uv_process_options_t opt = {};
	uv_stdio_container_t stdio[3];
	char *args[32];
	int n = 0, ret;

	snprintf(mem, sizeof(mem), "%llu",
		 (unsigned long long)vm->rec.memory_bytes);
	snprintf(limit, sizeof(limit), "%llu",
		 (unsigned long long)vm->rec.memlock_limit_bytes);
	snprintf(pool, sizeof(pool), "%llu",
		 (unsigned long long)d->cfg.sim_pool_pages);
	args[n++] = d->cfg.vmm_path;
	args[n++] = "--name";
	args[n++] = vm->rec.name;
	args[n++] = "--uuid";
	args[n++] = vm->rec.uuid;
	args[n++] = "--memory";
	args[n++] = mem;
	args[n++] = "--memlock-limit";
	args[n++] = limit;
	args[n++] = "--pin";
	args[n++] = vm->rec.pin == CVM__PIN_MODE__UPFRONT ? "upfront" : "demand";
	args[n++] = "--backend";
	args[n++] = (char *)d->backend;
	args[n++] = "--device";
	args[n++] = d->cfg.device;
	args[n++] = "--sim-pool-pages";
	args[n++] = pool;
	args[n++] = "--socket";
	args[n++] = vm->rec.vmm_socket;
	args[n] = NULL;

	uv_pipe_init(d->loop, &vm->ready, 0);
	vm->ready.data = vm;
	vm->ready_open = true;
	vm->handles++;
	stdio[0].flags = UV_IGNORE;
	stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	stdio[1].data.stream = (uv_stream_t *)&vm->ready;
	stdio[2].flags = UV_INHERIT_FD;
	stdio[2].data.fd = STDERR_FILENO;
	opt.file = d->cfg.vmm_path;
	opt.args = args;
	opt.stdio = stdio;
	opt.stdio_count = 3;
	opt.exit_cb = on_exit_status;
	/* Its own session: the VMM outlives a cvmd restart (KillMode=process). */
	opt.flags = UV_PROCESS_DETACHED;
	vm->proc.data = vm;
	ret = uv_spawn(d->loop, &vm->proc, &opt);
	/* Initialised even when it fails: the handle is closed either way. */
	vm->handles++;
	if (ret) {
		vm->ready_open = false;
		close_handle(vm, (uv_handle_t *)&vm->ready);
		close_handle(vm, (uv_handle_t *)&vm->proc);
		return ret;
	}
	vm->proc_live = true;
	vm->rec.vmm_pid = vm->proc.pid;
	uv_read_start((uv_stream_t *)&vm->ready, on_ready_alloc, on_ready_read);
	return 0;
}

static struct cvmd_vm *vm_new(struct cvmd *d)
{
	struct cvmd_vm *vm = calloc(1, sizeof(*vm));

	if (!vm)
		return NULL;
	vm->d = d;
	vm->pidfd = -1;
	list_init(&vm->calls);
	list_add_tail(&vm->node, &d->vms);
	d->nr_vms++;
	cvmd_notify_status(d);
	return vm;
}

/**
 * cvmd_vm_create() - create a VM: record it, start its VMM, answer the
 * client once the VMM is ready (or say why it is not)
 * @d: the daemon
 * @rq: the request
 * @c: the client to answer
 * @id: the request's id
 * @ret_why: on an error, what failed and why ("" when the errno says it)
 * @why_size: its size
 *
 * Return: 0 (the answer comes later), or -errno with nothing changed.
 */
int cvmd_vm_create(struct cvmd *d, const Cvm__CreateRequest *rq,
		   struct cvmd_client *c, uint64_t id, char *ret_why,
		   size_t why_size)
{
	struct cvmd_vm *vm;
	int ret;

	*ret_why = '\0';
	if (!name_valid(rq->name) || !rq->memory_bytes ||
	    (rq->owner[0] && strcmp(rq->owner, "libvirt")) ||
	    rq->memory_bytes % 4096 || rq->memory_bytes > (1ULL << 46) ||
	    (rq->pin != CVM__PIN_MODE__DEMAND &&
	     rq->pin != CVM__PIN_MODE__UPFRONT))
		return -EINVAL;
	if (cvmd_vm_find(d, rq->name))
		return -EEXIST;
	if (d->nr_vms >= d->cfg.max_vms)
		return -EUSERS;
	vm = vm_new(d);
	if (!vm)
		return -ENOMEM;
	snprintf(vm->rec.name, sizeof(vm->rec.name), "%s", rq->name);
	ret = new_uuid(vm->rec.uuid);
	vm->rec.state = CVM__VM_STATE__NORMAL;
	vm->rec.memory_bytes = rq->memory_bytes;
	vm->rec.memlock_limit_bytes = rq->memlock_limit_bytes ?
				      rq->memlock_limit_bytes :
				      d->cfg.default_memlock;
	vm->rec.pin = rq->pin;
	snprintf(vm->rec.owner, sizeof(vm->rec.owner), "%s", rq->owner);
	vm->counts.normal = rq->memory_bytes / 4096;
	if (!ret && snprintf(vm->rec.vmm_socket, sizeof(vm->rec.vmm_socket),
			     "%s/vmm/%s.sock", d->cfg.state_dir,
			     vm->rec.uuid) >= (int)sizeof(vm->rec.vmm_socket))
		ret = -ENAMETOOLONG;
	/* Recorded before anything runs: a crash now leaves a failed VM. */
	if (!ret)
		ret = cvmd_vm_record_clear_name(d, vm->rec.name);
	if (!ret)
		ret = cvm_registry_insert(d->reg, &vm->rec);
	if (ret == -EBUSY)
		snprintf(ret_why, why_size, "the registry is locked by another "
			 "process: try again");
	if (!ret)
		cvmd_failpoint("create-recorded");
	if (ret) {
		free_vm(vm);
		return ret;
	}
	ret = spawn_vmm(vm);
	if (ret) {
		snprintf(ret_why, why_size, "cannot start the VMM %s: %s",
			 d->cfg.vmm_path, strerror(-ret));
		cvmd_vm_record_forget(d, vm->rec.name);
		free_vm(vm);
		return ret;
	}
	cvmd_failpoint("create-spawned");
	/* Its pid: written now or soon; the VMM is held by this cvmd. */
	cvmd_vm_record_save(vm);
	cvmd_failpoint("create-pid-recorded");
	vm->creator = cvmd_client_ref(c);
	vm->creator_id = id;
	c->in_flight++;
	return 0;
}

static void destroy_answered(struct cvmd_call *call, const Cvm__Response *resp,
			     int err)
{
	(void)resp;
	(void)err;
	/* The VMM exits after answering; EOF finishes the destroy. */
	free(call);
}

/* Destroy: stop the VMM (its VM goes with it), forget the record. */
void cvmd_vm_destroy(struct cvmd_vm *vm, struct cvmd_client *c, uint64_t id)
{
	Cvm__DestroyRequest dr = CVM__DESTROY_REQUEST__INIT;
	Cvm__Request req = CVM__REQUEST__INIT;
	struct cvmd_call *call;

	if (vm->creator) {
		/*
		 * Still starting: the create fails (record, VMM and VM
		 * gone, its client told), which is the whole destroy.
		 */
		create_failed(vm, -ENOENT, "destroyed while starting");
		if (c) {
			Cvm__Response resp;

			cvm__response__init(&resp);
			resp.id = id;
			cvmd_client_send(c, &resp);
		}
		return;
	}
	vm->destroying = true;
	vm->destroyer = c ? cvmd_client_ref(c) : NULL;
	vm->destroyer_id = id;
	if (c)
		c->in_flight++;
	if (!vm->connected) {
		cvmd_vmm_kill(vm);
		finish_destroy(vm);
		return;
	}
	call = calloc(1, sizeof(*call));
	dr.name = vm->rec.name;
	req.op_case = CVM__REQUEST__OP_DESTROY;
	req.destroy = &dr;
	if (call) {
		call->done = destroy_answered;
		if (!cvmd_vm_call(vm, &req, call)) {
			cvmd_failpoint("destroy-asked");
			return;
		}
		free(call);
	}
	/* Could not even ask: make sure it is gone. */
	cvmd_vmm_kill(vm);
	disconnect(vm);
	finish_destroy(vm);
}

struct restore_list {
	struct cvm_record *recs;
	size_t n, cap;
};

static int collect(const struct cvm_record *rec, void *data)
{
	struct restore_list *l = data;
	struct cvm_record *r;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		r = realloc(l->recs, l->cap * sizeof(*r));
		if (!r)
			return -ENOMEM;
		l->recs = r;
	}
	l->recs[l->n++] = *rec;
	return 0;
}

/**
 * cvmd_vm_restore() - at start: every recorded VM back, reconnected to its
 * VMM; a VM whose VMM is not there any more is marked failed
 */
int cvmd_vm_restore(struct cvmd *d)
{
	struct restore_list l = {};
	struct cvmd_vm *vm;
	size_t i;
	int ret;

	ret = cvm_registry_foreach(d->reg, collect, &l);
	for (i = 0; !ret && i < l.n; i++) {
		vm = vm_new(d);
		if (!vm) {
			ret = -ENOMEM;
			break;
		}
		vm->rec = l.recs[i];
		vm->counts.normal = vm->rec.memory_bytes / 4096;
		vm->pidfd = cvmd_vmm_pidfd(vm->rec.vmm_pid, vm->rec.vmm_socket);
		if (vm->rec.state == CVM__VM_STATE__FAILED) {
			/* A failed VM's VMM serves nobody: it must not run. */
			if (vm->pidfd >= 0) {
				cvmd_log(LOG_WARNING, "vm %s: failed, but its VMM "
					 "(pid %d) still ran: killed",
					 vm->rec.name, vm->rec.vmm_pid);
				cvmd_vmm_kill(vm);
			}
			cvmd_vmm_release(vm);
			continue;
		}
		ret = connect_vmm(vm);
	}
	free(l.recs);
	return ret;
}

/* cvmd stops: VMMs keep running (they are reconnected on the next start). */
void cvmd_vm_shutdown_all(struct cvmd *d)
{
	struct cvmd_vm *vm, *n;

	list_for_each_entry_safe(vm, n, &d->vms, node) {
		fail_calls(vm, -ENOLINK);
		if (vm->creator)
			create_failed(vm, -ESHUTDOWN, "cvmd is stopping");
		else
			free_vm(vm);
	}
}
