// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fuzz-vmm-answer.c - libFuzzer target: a VMM's answers as cvmd reads them.
 * A buggy or hostile cvm-vmm must not crash cvmd.
 *
 * Each input: a VM is recorded in an in-memory registry and restored the
 * way a restarted cvmd restores it (cvmd_vm_restore()), its VMM socket
 * being one this harness listens on. cvmd connects and asks for the VM's
 * counters; an admin client (a socketpair) then queues the calls the input
 * chooses (show, lifecycle, page, guest write, read, snapshot, destroy),
 * and the rest of the input is what the "VMM" sends back: cvmd's frame
 * reader, cvm__response__unpack, each call's done callback, the relay to
 * the client. Then the VMM hangs up and the daemon drops every VM, as when
 * it stops, so that nothing outlives the input. Whatever the VMM sent,
 * every request the client made has had exactly one answer (a snapshot's
 * in one or more frames), and the client holds no call any more.
 *
 * Input: byte 0 the recorded state (normal, transient, secure), byte 1 a
 * mask of the calls to queue, byte 2 the lifecycle and page operations,
 * then the VMM's bytes. No process is spawned or signalled: the VMM's
 * pidfd is /dev/null, which no signal reaches.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cvmd.h"

#define VM_NAME "fz"

static struct cvmd d;
static struct cvmd_client *client;
static int peer = -1;
static char dir[64], sock_path[108];

/* The client's side: every request it made gets exactly one answer. */
static struct cvm_frame_reader answers;
static uint32_t asked, answered;

static void cleanup(void)
{
	unlink(sock_path);
	rmdir(dir);
}

static void setup(void)
{
	int sv[2];

	snprintf(dir, sizeof(dir), "/tmp/cvm-fuzz-vmm-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(sock_path, sizeof(sock_path), "%s/vmm.sock", dir);
	atexit(cleanup);
	cvmd_config_defaults(&d.cfg);
	d.backend = "sim";
	cvmd_init(&d, uv_default_loop());
	if (cvm_registry_open(":memory:", &d.reg) ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv))
		abort();
	peer = sv[1];
	client = calloc(1, sizeof(*client));
	client->d = &d;
	client->ops = &cvmd_socket_client_ops;
	client->refs = 1;
	client->admin = true;
	cvm_frame_reader_init(&client->rd, CVM_FRAME_MAX);
	cvm_frame_reader_init(&answers, CVM_FRAME_MAX);
	uv_pipe_init(d.loop, &client->pipe, 0);
	client->pipe.data = client;
	if (uv_pipe_open(&client->pipe, sv[0]))
		abort();
	list_add_tail(&client->node, &d.clients);
}

/* The "VMM" listening where the record says its socket is. */
static int vmm_listen(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		abort();
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	unlink(sock_path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 4))
		abort();
	return fd;
}

static void drain(int fd)
{
	char sink[65536];

	while (read(fd, sink, sizeof(sink)) > 0)
		;
}

static void read_answers(void)
{
	const uint8_t *msg = NULL;
	uint8_t buf[65536];
	Cvm__Response *resp;
	size_t len = 0;
	ssize_t n;
	int ret;

	while ((n = read(peer, buf, sizeof(buf))) > 0) {
		if (cvm_frame_reader_feed(&answers, buf, n))
			abort();
		while ((ret = cvm_frame_reader_next(&answers, &msg, &len)) >
		       0) {
			resp = cvm__response__unpack(NULL, len, msg);
			/*
			 * An answer to a request made, and only one (a
			 * snapshot's frames before its last are parts of it).
			 */
			if (!resp || resp->id >= 32 ||
			    !(asked & (1U << resp->id)) ||
			    (answered & (1U << resp->id)))
				abort();
			if (resp->status != CVM__STATUS__OK ||
			    resp->result_case !=
				CVM__RESPONSE__RESULT_SNAPSHOT ||
			    !resp->snapshot->more)
				answered |= 1U << resp->id;
			cvm__response__free_unpacked(resp, NULL);
		}
		if (ret < 0)
			abort();
	}
}

static void run(int times)
{
	while (times--)
		uv_run(d.loop, UV_RUN_NOWAIT);
}

/* One client request, as the API socket would have delivered it. */
static void ask(Cvm__Request *req, uint64_t id)
{
	req->id = id;
	asked |= 1U << id;
	cvmd_client_handle(client, req);
}

static void queue_calls(uint8_t mask, uint8_t ops)
{
	Cvm__ShowRequest show = CVM__SHOW_REQUEST__INIT;
	Cvm__LifecycleRequest lc = CVM__LIFECYCLE_REQUEST__INIT;
	Cvm__PageRequest page = CVM__PAGE_REQUEST__INIT;
	Cvm__GuestWriteRequest gw = CVM__GUEST_WRITE_REQUEST__INIT;
	Cvm__ReadRequest rd = CVM__READ_REQUEST__INIT;
	Cvm__SnapshotRequest snap = CVM__SNAPSHOT_REQUEST__INIT;
	Cvm__DestroyRequest destroy = CVM__DESTROY_REQUEST__INIT;
	Cvm__Request req;
	static uint8_t data[16];

	show.name = lc.name = page.name = gw.name = rd.name = snap.name =
	    destroy.name = VM_NAME;
	lc.op = ops & 3;
	page.op = (ops >> 2) % 7;
	page.gpa = 0x1000;
	page.pages = 1 + (ops >> 5);
	gw.gpa = 0x2000;
	gw.data.data = data;
	gw.data.len = sizeof(data);
	rd.gpa = 0x2000;
	rd.length = 64;
	rd.host = ops & 0x80;

	cvm__request__init(&req);
	if (mask & 0x01) {
		req.op_case = CVM__REQUEST__OP_SHOW;
		req.show = &show;
		ask(&req, 1);
	}
	if (mask & 0x02) {
		req.op_case = CVM__REQUEST__OP_LIFECYCLE;
		req.lifecycle = &lc;
		ask(&req, 2);
	}
	if (mask & 0x04) {
		req.op_case = CVM__REQUEST__OP_PAGE;
		req.page = &page;
		ask(&req, 3);
	}
	if (mask & 0x08) {
		req.op_case = CVM__REQUEST__OP_GUEST_WRITE;
		req.guest_write = &gw;
		ask(&req, 4);
	}
	if (mask & 0x10) {
		req.op_case = CVM__REQUEST__OP_READ;
		req.read = &rd;
		ask(&req, 5);
	}
	if (mask & 0x20) {
		req.op_case = CVM__REQUEST__OP_SNAPSHOT;
		req.snapshot = &snap;
		ask(&req, 6);
	}
	if (mask & 0x40) {
		req.op_case = CVM__REQUEST__OP_DESTROY;
		req.destroy = &destroy;
		ask(&req, 7);
	}
	/* A second round behind the first: answers matched in order. */
	if (mask & 0x80) {
		req.op_case = CVM__REQUEST__OP_SHOW;
		req.show = &show;
		ask(&req, 8);
		req.op_case = CVM__REQUEST__OP_LIFECYCLE;
		req.lifecycle = &lc;
		ask(&req, 9);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cvm_record rec = {};
	struct cvmd_vm *vm;
	size_t off;
	int lfd, vfd, i;
	ssize_t n;

	if (size < 3)
		return 0;
	if (!client)
		setup();
	lfd = vmm_listen();
	asked = answered = 0;

	snprintf(rec.name, sizeof(rec.name), VM_NAME);
	snprintf(rec.uuid, sizeof(rec.uuid),
		 "00000000-0000-4000-8000-000000000001");
	rec.state = data[0] % 3;
	rec.memory_bytes = 1 << 20;
	rec.pin = CVM__PIN_MODE__DEMAND;
	rec.vmm_pid = getpid();
	snprintf(rec.vmm_socket, sizeof(rec.vmm_socket), "%s", sock_path);
	if (cvm_registry_insert(d.reg, &rec) || cvmd_vm_restore(&d))
		abort();
	vm = cvmd_vm_find(&d, VM_NAME);
	if (!vm)
		abort();
	/* Not a process: cvmd_vmm_kill()'s signal goes nowhere. */
	vm->pidfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	/* Connected, and the daemon's own refresh (a show) queued. */
	run(2);
	vfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	close(lfd);
	if (vfd < 0 || !vm->connected)
		abort();

	queue_calls(data[1], data[2]);
	run(1);
	drain(vfd);

	/* The VMM's answers. */
	for (off = 3, i = 0; off < size && i < 64; i++) {
		/* cvmd may have hung up already: no SIGPIPE. */
		n = send(vfd, data + off, size - off, MSG_NOSIGNAL);
		if (n > 0)
			off += n;
		run(1);
		drain(vfd);
	}
	run(2);
	read_answers();

	/* The VMM hangs up; cvmd stops (VMMs outlive it: none is killed). */
	close(vfd);
	run(2);
	d.stopping = true;
	cvmd_vm_shutdown_all(&d);
	run(2);
	d.stopping = false;
	if (d.nr_vms || !list_empty(&d.vms))
		abort();
	cvm_registry_delete(d.reg, VM_NAME);
	read_answers();
	if (answered != asked || answers.len || client->in_flight ||
	    client->refs != 1)
		abort();
	asked = answered = 0;
	return 0;
}
