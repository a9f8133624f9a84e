// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fuzz-bus-args.c - libFuzzer target: cvmd's D-Bus method handlers
 * (daemon/bus.c, daemon/vm-bus.c) with arbitrary argument messages.
 *
 * No bus daemon: cvmd's objects sit on a peer-to-peer sd-bus connection
 * (a socketpair, this process the server and its own client), registered
 * as cvmd_bus_start() registers them (bus.c is included here for its
 * static manager vtable). Each input is a list of method calls: the input
 * picks the object (the manager, a VM cvmd knows, a name of its own, a
 * malformed path), the interface and member (cvmd's methods, the
 * Properties and Introspectable ones, or a name of its own), and the
 * arguments as a signature and values, right or wrong. Calls are
 * dispatched by sd-bus into cvmd's vtables and answered; the replies are
 * read and dropped.
 *
 * The caller is uid 0 (the socket's peer credentials), so no polkit round
 * trip is made. cvmd knows one VM, "web1", restored each input the way a
 * restarted cvmd restores it, its "VMM" a socket this target holds: each
 * request that reaches the VMM is answered from the input too (a VmInfo,
 * data, a snapshot, an error, or nothing, of any values, whatever was
 * asked), and a destroy hangs up. A create never spawns a process: the VMM
 * path does not exist. After the input the VMM hangs up and cvmd drops its
 * VMs; by then every call that expected a reply has had exactly one.
 * CVM_FUZZ_VERBOSE=1 prints each call and reply.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../daemon/bus.c"

#define VM_NAME "web1"

static struct cvmd d;
static sd_bus *server, *peer;
static bool verbose;
/* Calls made expecting a reply, and replies read: one each, in the end. */
static unsigned int expected, replies;

struct input {
	const uint8_t *p;
	size_t left;
};

static uint8_t byte(struct input *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

static uint64_t u64(struct input *in)
{
	uint64_t v = 0;
	int i, n = byte(in) % 9;

	for (i = 0; i < n; i++)
		v = v << 8 | byte(in);
	return v;
}

/* A NUL-terminated string of up to 255 bytes from the input (any bytes). */
static void str(struct input *in, char *buf, size_t size)
{
	size_t n = byte(in), i;

	if (n >= size)
		n = size - 1;
	for (i = 0; i < n; i++)
		buf[i] = (char)byte(in);
	buf[n] = '\0';
}

/* The peer reads cvmd's replies and drops them (shown when verbose). */
static int peer_process(void)
{
	sd_bus_message *r = NULL;
	const sd_bus_error *e;
	int ret = sd_bus_process(peer, &r);

	/* A method return or error: it has a reply cookie. */
	if (r && sd_bus_message_get_reply_cookie(r, &(uint64_t){ 0 }) >= 0)
		replies++;
	if (r && verbose) {
		e = sd_bus_message_get_error(r);
		fprintf(stderr, "reply %s: %s %s\n",
			sd_bus_message_get_signature(r, 1), e ? e->name : "ok",
			e && e->message ? e->message : "");
	}
	sd_bus_message_unref(r);
	return ret;
}

static void pump(void)
{
	int i, a, b;

	for (i = 0; i < 64; i++) {
		a = sd_bus_process(server, NULL);
		b = peer_process();
		if (a <= 0 && b <= 0)
			break;
	}
	uv_run(d.loop, UV_RUN_NOWAIT);
	for (i = 0; i < 64; i++) {
		a = sd_bus_process(server, NULL);
		b = peer_process();
		if (a <= 0 && b <= 0)
			break;
	}
}

/* The VM's "VMM": a socket this target listens on and answers from. */
static char dir[64], sock_path[108];
static int vmm_fd = -1;
static struct cvm_frame_reader vmm_rd;

static void cleanup(void)
{
	unlink(sock_path);
	rmdir(dir);
}

/* Answer one request the way the input says (any kind, any values). */
static void vmm_answer(struct input *in, const Cvm__Request *req)
{
	Cvm__GfnInfo gfns[8], *gp[8];
	Cvm__PageCounts pages = CVM__PAGE_COUNTS__INIT;
	Cvm__Snapshot snap = CVM__SNAPSHOT__INIT;
	Cvm__VmInfo info = CVM__VM_INFO__INIT;
	Cvm__Response resp = CVM__RESPONSE__INIT;
	uint8_t kind = byte(in), buf[256], *out;
	char msg[256];
	size_t i, len;

	resp.id = req->id;
	switch (kind % 5) {
	case 0:
		info.name = VM_NAME;
		info.state = byte(in) % 6;
		pages.normal = u64(in);
		pages.secure = u64(in);
		info.pages = &pages;
		info.measurement.data = buf;
		info.measurement.len = byte(in) % 40;
		memset(buf, 0xab, sizeof(buf));
		resp.result_case = CVM__RESPONSE__RESULT_VM;
		resp.vm = &info;
		break;
	case 1:
		resp.data.len = byte(in);
		for (i = 0; i < resp.data.len; i++)
			buf[i] = byte(in);
		resp.data.data = buf;
		resp.result_case = CVM__RESPONSE__RESULT_DATA;
		break;
	case 2:
		snap.n_gfns = byte(in) % 8;
		for (i = 0; i < snap.n_gfns; i++) {
			cvm__gfn_info__init(&gfns[i]);
			gfns[i].gfn = u64(in);
			gfns[i].nr_pages = u64(in);
			gfns[i].state = (uint32_t)u64(in);
			gfns[i].paged_out = byte(in) & 1;
			gfns[i].dma_refs = (uint32_t)u64(in);
			gp[i] = &gfns[i];
		}
		snap.gfns = gp;
		resp.result_case = CVM__RESPONSE__RESULT_SNAPSHOT;
		resp.snapshot = &snap;
		break;
	case 3:
		resp.status = byte(in) % 13;
		resp.error = -(int)byte(in);
		str(in, msg, sizeof(msg));
		resp.message = msg;
		break;
	default:
		break;
	}
	if (cvm_frame_pack_response(&resp, &out, &len))
		return;
	if (send(vmm_fd, out, len, MSG_NOSIGNAL) != (ssize_t)len)
		abort();
	free(out);
}

/* Read what cvmd asked of the VMM, answer each; a destroy hangs up. */
static void vmm_serve(struct input *in)
{
	const uint8_t *msg = NULL;
	uint8_t buf[65536];
	Cvm__Request *req;
	bool bye = false;
	size_t len = 0;
	ssize_t n;

	if (vmm_fd < 0)
		return;
	while ((n = read(vmm_fd, buf, sizeof(buf))) > 0) {
		if (cvm_frame_reader_feed(&vmm_rd, buf, n))
			abort();
		while (cvm_frame_reader_next(&vmm_rd, &msg, &len) > 0) {
			req = cvm__request__unpack(NULL, len, msg);
			if (!req)
				abort();
			bye = bye || req->op_case == CVM__REQUEST__OP_DESTROY;
			vmm_answer(in, req);
			cvm__request__free_unpacked(req, NULL);
		}
	}
	if (bye) {
		close(vmm_fd);
		vmm_fd = -1;
	}
}

/*
 * The VM "web1" as a restarted cvmd finds it: recorded, its VMM on the
 * socket this target listens on, connected, its counters refreshed.
 */
static void add_vm(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct cvm_record rec = {};
	struct input none = {};
	struct cvmd_vm *vm;
	int lfd, i;

	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	unlink(sock_path);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(lfd, 4))
		abort();
	snprintf(rec.name, sizeof(rec.name), VM_NAME);
	snprintf(rec.uuid, sizeof(rec.uuid),
		 "00000000-0000-4000-8000-000000000002");
	rec.memory_bytes = 1 << 20;
	rec.vmm_pid = getpid();
	snprintf(rec.vmm_socket, sizeof(rec.vmm_socket), "%s", sock_path);
	if (cvm_registry_insert(d.reg, &rec) || cvmd_vm_restore(&d))
		abort();
	vm = cvmd_vm_find(&d, VM_NAME);
	if (!vm)
		abort();
	/* Not a process: cvmd_vmm_kill()'s signal goes nowhere. */
	vm->pidfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	for (i = 0; i < 2; i++)
		uv_run(d.loop, UV_RUN_NOWAIT);
	vmm_fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	close(lfd);
	if (vmm_fd < 0 || !vm->connected)
		abort();
	cvm_frame_reader_free(&vmm_rd);
	cvm_frame_reader_init(&vmm_rd, CVM_FRAME_MAX);
	/* The refresh: answered with a VmInfo of zeros (state normal). */
	vmm_serve(&none);
	for (i = 0; i < 2; i++)
		uv_run(d.loop, UV_RUN_NOWAIT);
}

/* The VMM hangs up, cvmd drops its VMs as when it stops, no record left. */
static void drop_vms(void)
{
	int i;

	if (vmm_fd >= 0)
		close(vmm_fd);
	vmm_fd = -1;
	for (i = 0; i < 2; i++)
		uv_run(d.loop, UV_RUN_NOWAIT);
	d.stopping = true;
	cvmd_vm_shutdown_all(&d);
	for (i = 0; i < 2; i++)
		uv_run(d.loop, UV_RUN_NOWAIT);
	d.stopping = false;
	if (d.nr_vms || !list_empty(&d.vms))
		abort();
	cvm_registry_delete(d.reg, VM_NAME);
}

static void setup(void)
{
	sd_id128_t id;
	int sv[2];

	snprintf(dir, sizeof(dir), "/tmp/cvm-fuzz-bus-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(sock_path, sizeof(sock_path), "%s/vmm.sock", dir);
	atexit(cleanup);
	cvm_frame_reader_init(&vmm_rd, CVM_FRAME_MAX);
	cvmd_config_defaults(&d.cfg);
	d.cfg.max_vms = 2;
	free(d.cfg.vmm_path);
	d.cfg.vmm_path = strdup("/nonexistent/cvm-vmm");
	free(d.cfg.state_dir);
	d.cfg.state_dir = strdup("/nonexistent");
	d.cfg.vmm_set = true;
	d.backend = "sim";
	cvmd_init(&d, uv_default_loop());
	if (cvm_registry_open(":memory:", &d.reg) ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
		       sv))
		abort();
	if (sd_id128_randomize(&id) < 0 || sd_bus_new(&server) < 0 ||
	    sd_bus_set_fd(server, sv[0], sv[0]) < 0 ||
	    sd_bus_set_server(server, 1, id) < 0 ||
	    sd_bus_set_anonymous(server, 1) < 0 ||
	    sd_bus_negotiate_creds(server, 1, SD_BUS_CREDS_EUID) < 0 ||
	    sd_bus_add_object_vtable(server, NULL, CVM_BUS_PATH,
				     CVM_BUS_MANAGER_IFACE, manager_vtable,
				     &d) < 0 ||
	    sd_bus_add_fallback_vtable(server, NULL, CVM_BUS_VM_PREFIX,
				       CVM_BUS_VM_IFACE, cvmd_vm_vtable,
				       cvmd_vm_bus_find, &d) < 0 ||
	    sd_bus_add_node_enumerator(server, NULL, CVM_BUS_VM_PREFIX,
				       cvmd_vm_bus_enumerate, &d) < 0 ||
	    sd_bus_add_object_manager(server, NULL, CVM_BUS_PATH) < 0 ||
	    sd_bus_start(server) < 0)
		abort();
	if (sd_bus_new(&peer) < 0 || sd_bus_set_fd(peer, sv[1], sv[1]) < 0 ||
	    sd_bus_set_anonymous(peer, 1) < 0 || sd_bus_start(peer) < 0)
		abort();
	/* The authentication handshake. */
	while (!sd_bus_is_ready(peer))
		pump();
	d.bus = server;
}

static const char *const members[] = {
	/* org.cvm.Manager1 */
	"ListVMs",
	"GetVM",
	"CreateVM",
	"DestroyVM",
	/* org.cvm.VM1 */
	"InitStart",
	"InitDone",
	"InitAbort",
	"Terminate",
	"PageIn",
	"PageOut",
	"Share",
	"Unshare",
	"DmaShare",
	"DmaUnshare",
	"GuestWrite",
	"GuestRead",
	"HostRead",
	"Snapshot",
	/* org.freedesktop.DBus.Properties */
	"Get",
	"GetAll",
	"Set",
	/* org.freedesktop.DBus.Introspectable, ObjectManager, Peer */
	"Introspect",
	"GetManagedObjects",
	"Ping",
};

static const char *const ifaces[] = {
	CVM_BUS_MANAGER_IFACE,
	CVM_BUS_VM_IFACE,
	"org.freedesktop.DBus.Properties",
	"org.freedesktop.DBus.Introspectable",
	"org.freedesktop.DBus.ObjectManager",
	NULL,
};

/* The signatures cvmd's methods take, so most inputs pass sd-bus's check. */
static const char *const sigs[] = {
	"", "s", "stts", "tb", "t", "tt", "tay", "tu", "ss", "ssv",
};

/* Append one complete type from *sig, values from the input. */
static int append_one(sd_bus_message *m, const char **sig, struct input *in,
		      int depth)
{
	char c = **sig, s[256];
	uint8_t n, i;
	int ret;

	(*sig)++;
	switch (c) {
	case 'y':
		return sd_bus_message_append_basic(m, c,
						   &(uint8_t){ byte(in) });
	case 'b':
		return sd_bus_message_append_basic(m, c,
						   &(int){ byte(in) & 1 });
	case 'n':
	case 'q':
		return sd_bus_message_append_basic(
		    m, c, &(uint16_t){ (uint16_t)u64(in) });
	case 'i':
	case 'u':
		return sd_bus_message_append_basic(
		    m, c, &(uint32_t){ (uint32_t)u64(in) });
	case 'x':
	case 't':
		return sd_bus_message_append_basic(m, c,
						   &(uint64_t){ u64(in) });
	case 'd':
		return sd_bus_message_append_basic(
		    m, c, &(double){ (double)u64(in) });
	case 's':
		str(in, s, sizeof(s));
		return sd_bus_message_append_basic(m, c, s);
	case 'o':
		str(in, s, sizeof(s));
		ret = sd_bus_message_append_basic(m, c, s);
		return ret < 0 ? sd_bus_message_append_basic(m, c, "/") : ret;
	case 'g':
		str(in, s, sizeof(s));
		ret = sd_bus_message_append_basic(m, c, s);
		return ret < 0 ? sd_bus_message_append_basic(m, c, "") : ret;
	case 'v':
		/* A variant of a basic type the input names. */
		s[0] = "ybuts"[byte(in) % 5];
		s[1] = '\0';
		ret = sd_bus_message_open_container(m, 'v', s);
		if (ret >= 0) {
			const char *vs = s;

			ret = append_one(m, &vs, in, depth + 1);
		}
		return ret < 0 ? ret : sd_bus_message_close_container(m);
	case 'a':
		if (**sig == 'y') {
			(*sig)++;
			n = byte(in);
			if (n > in->left)
				n = in->left;
			ret = sd_bus_message_append_array(m, 'y', in->p, n);
			in->p += n;
			in->left -= n;
			return ret;
		}
		/* Arrays of one basic type only. */
		if (depth > 2 || !strchr("ybuts", **sig))
			return -EINVAL;
		s[0] = **sig;
		s[1] = '\0';
		ret = sd_bus_message_open_container(m, 'a', s);
		n = byte(in) % 8;
		for (i = 0; ret >= 0 && i < n; i++) {
			const char *es = s;

			ret = append_one(m, &es, in, depth + 1);
		}
		(*sig)++;
		return ret < 0 ? ret : sd_bus_message_close_container(m);
	default:
		return -EINVAL;
	}
}

static void one_call(struct input *in)
{
	sd_bus_message *m = NULL;
	char path[300], name[256], member[64], sigbuf[16];
	const char *iface, *sig, *mem;
	uint64_t cookie;
	bool no_reply;
	uint8_t sel;
	int ret;

	sel = byte(in);
	switch ((sel & 7) % 5) {
	case 0:
		snprintf(path, sizeof(path), CVM_BUS_PATH);
		break;
	case 1:
		snprintf(path, sizeof(path), CVM_BUS_VM_PREFIX "/web1");
		break;
	case 2: {
		char *p = NULL;

		str(in, name, sizeof(name));
		if (sd_bus_path_encode(CVM_BUS_VM_PREFIX, name, &p) < 0 ||
		    strlen(p) >= sizeof(path)) {
			free(p);
			return;
		}
		snprintf(path, sizeof(path), "%s", p);
		free(p);
		break;
	}
	case 3:
		snprintf(path, sizeof(path), CVM_BUS_VM_PREFIX);
		break;
	default:
		snprintf(path, sizeof(path), "/");
		break;
	}
	iface =
	    ifaces[((sel >> 3) & 0xf) % (sizeof(ifaces) / sizeof(ifaces[0]))];
	/* Bit 7: the caller expects no reply (cvmd's replies are dropped). */
	no_reply = sel & 0x80;
	sel = byte(in);
	if (sel < 0xf0) {
		mem = members[sel % (sizeof(members) / sizeof(members[0]))];
	} else {
		str(in, member, sizeof(member));
		mem = member;
	}
	sel = byte(in);
	if (sel < 0xc0) {
		sig = sigs[sel % (sizeof(sigs) / sizeof(sigs[0]))];
	} else {
		/* A signature of the input's own: basic types and ay/as. */
		size_t i, n = sel % 6;

		for (i = 0; i < n; i++)
			sigbuf[i] = "sotuybxgvaa"[byte(in) % 11];
		sigbuf[n] = '\0';
		if (n && sigbuf[n - 1] == 'a')
			sigbuf[n - 1] = 's';
		sig = sigbuf;
	}
	if (sd_bus_message_new_method_call(peer, &m, NULL, path, iface, mem) <
	    0)
		return;
	while (*sig)
		if (append_one(m, &sig, in, 0) < 0) {
			if (verbose)
				fprintf(stderr, "call %s.%s: cannot append\n",
					iface ? iface : "", mem);
			goto out;
		}
	/* Without a cookie to keep, sd-bus would mark it "no reply expected".
	 */
	ret = sd_bus_send(peer, m, no_reply ? NULL : &cookie);
	if (ret >= 0 && !no_reply)
		expected++;
	if (verbose)
		fprintf(stderr, "call %s %s.%s(%s): %d\n", path,
			iface ? iface : "", mem,
			sd_bus_message_get_signature(m, 1), ret);
out:
	sd_bus_message_unref(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	int calls = 0;

	if (!server) {
		setup();
		verbose = getenv("CVM_FUZZ_VERBOSE");
	}
	add_vm();
	while (in.left && calls++ < 16) {
		one_call(&in);
		pump();
		/* What reached the VMM is answered from the input, in order. */
		vmm_serve(&in);
		pump();
	}
	drop_vms();
	pump();
	/* Whatever the VMM answered, each call got one reply. */
	if (replies != expected)
		abort();
	expected = replies = 0;
	return 0;
}
