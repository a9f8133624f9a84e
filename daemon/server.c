// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * server.c - the API socket: accept, peer credentials, framing, and the
 * dispatch of a request through the operation table (operations.c: its
 * privilege, its handler), whichever edge it came from.
 *
 * Limits per connection: requests in flight (max_requests, answered LIMIT
 * beyond), watches (max_watches), unsent output (max_output: a client
 * that stops reading is disconnected), and the frame cap; per uid and in
 * all: connections and buffered input (limits.c).
 */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "cvmd.h"
#include "failpoint.h"
#include "operations.h"
#include "metrics.h"
#include "attest.h"
#include "tls.h"

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);
static void client_close(struct cvmd_client *c);

struct cvmd_client *cvmd_client_ref(struct cvmd_client *c)
{
	c->refs++;
	return c;
}

static void client_freed(uv_handle_t *h)
{
	struct cvmd_client *c = h->data;

	cvm_frame_reader_free(&c->rd);
	free(c);
}

struct cvmd_client *cvmd_client_unref(struct cvmd_client *c)
{
	if (c && !--c->refs)
		c->ops->release(c);
	return NULL;
}

static void socket_release(struct cvmd_client *c)
{
	char scratch[4096];
	uv_os_fd_t fd;
	int i;

	/*
	 * Unread bytes at close make the kernel reset the connection, and
	 * the peer would lose our last answer (a refusal): discard them.
	 */
	if (!uv_fileno((uv_handle_t *)&c->pipe, &fd))
		for (i = 0; i < 16; i++)	/* a flooding peer gets its reset */
			if (recv(fd, scratch, sizeof(scratch), MSG_DONTWAIT) <= 0)
				break;
	uv_close((uv_handle_t *)&c->pipe, client_freed);
}

/*
 * A paused client is not read, so its hangup would go unseen while it
 * holds its uid's budget: check the paused ones each second.
 */
static void on_stall_check(uv_timer_t *t)
{
	struct cvmd *d = t->data;
	struct cvmd_client *c, *n;
	bool any = false;
	uv_os_fd_t fd;

	list_for_each_entry_safe(c, n, &d->clients, node) {
		if (!c->stalled)
			continue;
		if (!uv_fileno((uv_handle_t *)&c->pipe, &fd)) {
			struct pollfd p = { .fd = fd, .events = POLLRDHUP };

			if (poll(&p, 1, 0) == 1 &&
			    p.revents & (POLLRDHUP | POLLHUP | POLLERR)) {
				client_close(c);
				continue;
			}
		}
		any = true;
	}
	if (!any)
		uv_timer_stop(t);
}

/* Start reading again from clients paused for input room, if there is. */
static void resume_stalled(struct cvmd *d)
{
	struct cvmd_client *c;

	list_for_each_entry(c, &d->clients, node) {
		if (!c->stalled || !cvmd_peer_may_read(d, c->peer))
			continue;
		c->stalled = false;
		uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
	}
}

/* Stop serving a client; it is freed when no call refers to it. */
static void client_close(struct cvmd_client *c)
{
	struct cvmd *d = c->d;

	if (c->closing)
		return;
	c->closing = true;
	uv_read_stop((uv_stream_t *)&c->pipe);
	list_del(&c->node);
	cvmd_watch_drop_client(d, c);
	if (c->peer) {
		cvmd_peer_input(d, c->peer, -(int64_t)c->rd.cap);
		cvmd_peer_leave(d, c->peer);
		c->peer = NULL;
		resume_stalled(d);
	}
	cvmd_client_unref(c);
}

struct write_req {
	uv_write_t req;
	uint8_t *buf;
};

static void on_written(uv_write_t *req, int status)
{
	struct write_req *w = container_of(req, struct write_req, req);

	(void)status;
	free(w->buf);
	free(w);
}

void cvmd_client_send(struct cvmd_client *c, const Cvm__Response *resp)
{
	cvmd_metrics_answer(c, resp);
	if (!c->closing)
		c->ops->send(c, resp);
}

static void socket_send(struct cvmd_client *c, const Cvm__Response *resp)
{
	struct write_req *w;
	uv_buf_t buf;
	size_t len;

	/* A client that does not read does not get to pile up our memory. */
	if (uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe) >
	    c->d->cfg.max_output) {
		cvmd_log(LOG_WARNING, "client pid %d uid %u stopped reading: "
			 "disconnected", (int)c->pid, (unsigned int)c->uid);
		c->d->refused.slow_readers++;
		client_close(c);
		return;
	}
	w = calloc(1, sizeof(*w));
	if (!w || cvm_frame_pack_response(resp, &w->buf, &len)) {
		free(w);
		client_close(c);
		return;
	}
	buf = uv_buf_init((char *)w->buf, len);
	if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &buf, 1, on_written)) {
		free(w->buf);
		free(w);
		client_close(c);
	}
}

void cvmd_client_error(struct cvmd_client *c, uint64_t id, int err,
		       const char *fmt, ...)
{
	Cvm__Response resp;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cvm__response__init(&resp);
	resp.id = id;
	resp.status = cvm_status_from_errno(err);
	resp.error = err;
	resp.message = msg;
	cvmd_client_send(c, &resp);
}

void cvmd_handle_status(struct cvmd *d, struct cvmd_client *c,
			const Cvm__Request *req)
{
	struct cvmd_pool pool;
	Cvm__DaemonStatus st;
	Cvm__Response resp;

	cvm__daemon_status__init(&st);
	st.version = CVMD_VERSION;
	st.backend = (char *)d->backend;
	st.vms = d->nr_vms;
	/* 2: LifecycleRequest.op and PageRequest.op must be present. */
	st.api_version = 2;
	/* sim: one pool per VMM process (kmod: the module's, via show). */
	cvmd_vm_pool(d, &pool);
	st.pool_total_pages = pool.total;
	st.pool_free_pages = pool.free;
	st.pool_pages_per_vm = pool.per_vm;
	st.pool_vms = pool.vms;
	st.connections = d->nr_conns;
	st.refused_connections = d->refused.connections;
	st.refused_requests = d->refused.requests;
	st.refused_watches = d->refused.watches;
	st.input_stalls = d->refused.input_stalls;
	st.dropped_slow_readers = d->refused.slow_readers;
	st.refused_bus_calls = d->refused.bus_calls;
	cvmd_tls_fill_status(d, &st);
	cvm__response__init(&resp);
	resp.id = req->id;
	resp.result_case = CVM__RESPONSE__RESULT_DAEMON;
	resp.daemon = &st;
	cvmd_client_send(c, &resp);
}

void cvmd_handle_list(struct cvmd *d, struct cvmd_client *c,
		      const Cvm__Request *req)
{
	Cvm__VmInfo *infos = calloc(d->nr_vms + 1, sizeof(*infos));
	Cvm__PageCounts *pages = calloc(d->nr_vms + 1, sizeof(*pages));
	Cvm__VmInfo **ptrs = calloc(d->nr_vms + 1, sizeof(*ptrs));
	size_t limit = cvmd_frame_max() - 1024, size, item, first, n = 0;
	Cvm__Response resp;
	struct cvmd_vm *vm;
	Cvm__VmList list;

	if (!infos || !pages || !ptrs) {
		cvmd_client_error(c, req->id, -ENOMEM, "out of memory");
		goto out;
	}
	list_for_each_entry(vm, &d->vms, node) {
		cvmd_vm_fill_info(vm, &infos[n], &pages[n]);
		ptrs[n] = &infos[n];
		n++;
	}
	cvm__response__init(&resp);
	resp.id = req->id;
	resp.result_case = CVM__RESPONSE__RESULT_LIST;
	resp.list = &list;
	/*
	 * max_vms allows far more VMs than one frame holds: on the socket,
	 * as many frames as it takes (D-Bus has one reply, and room).
	 */
	if (!c->ops->framed)
		limit = SIZE_MAX;
	first = 0;
	do {
		cvm__vm_list__init(&list);
		list.vms = ptrs + first;
		for (size = 64; first + list.n_vms < n; list.n_vms++) {
			item = cvm__vm_info__get_packed_size(ptrs[first + list.n_vms]) + 16;
			if (list.n_vms && size + item > limit)
				break;
			size += item;
		}
		first += list.n_vms;
		list.more = first < n;
		cvmd_client_send(c, &resp);
	} while (first < n && !c->closing);
out:
	free(infos);
	free(pages);
	free(ptrs);
}

/* Why create was refused, when cvmd_vm_create() did not say more. */
static const char *create_refusal(int err)
{
	switch (err) {
	case -EEXIST:
		return "a VM of that name exists";
	case -EUSERS:
		return "too many VMs on this host";
	case -EINVAL:
		return "invalid name or size";
	}
	return strerror(-err);
}

void cvmd_handle_create(struct cvmd *d, struct cvmd_client *c,
			const Cvm__Request *req)
{
	char why[384];
	int ret = cvmd_vm_create(d, req->create, c, req->id, why, sizeof(why));

	if (ret)
		cvmd_client_error(c, req->id, ret, "%s",
				  *why ? why : create_refusal(ret));
}

void cvmd_handle_destroy(struct cvmd *d, struct cvmd_client *c,
			 const Cvm__Request *req)
{
	struct cvmd_vm *vm = cvmd_vm_find(d, req->destroy->name);

	if (!vm || vm->destroying) {
		cvmd_client_error(c, req->id, -ENOENT, "no VM of that name");
		return;
	}
	cvmd_vm_destroy(vm, c, req->id);
}

void cvmd_handle_watch(struct cvmd *d, struct cvmd_client *c,
		       const Cvm__Request *req)
{
	const char *name = req->watch->name;
	int ret;

	if (name[0] && !cvmd_vm_find(d, name)) {
		cvmd_client_error(c, req->id, -ENOENT, "no VM of that name");
		return;
	}
	ret = cvmd_watch_add(c, req->id, name);
	if (ret)
		cvmd_client_error(c, req->id, ret, "cannot watch: %s",
				  ret == -EUSERS ? "too many watches" :
				  strerror(-ret));
	/* No answer on success: events follow, with this request's id. */
}

void cvmd_client_dispatch(struct cvmd_client *c, const uint8_t *msg, size_t len)
{
	Cvm__Request *req;

	req = cvm_request_decode(msg, len);
	if (!req) {
		/* Nothing to answer to: no id. Say so and keep serving. */
		cvmd_client_error(c, 0, -EINVAL, "undecodable request frame");
		return;
	}
	cvmd_client_handle(c, req);
	cvm__request__free_unpacked(req, NULL);
}

/**
 * cvmd_client_handle() - run one decoded request through the dispatch
 * table, whichever edge it came from
 * @c: the client; its ops answer
 * @req: the request
 */
void cvmd_client_handle(struct cvmd_client *c, const Cvm__Request *req)
{
	const struct cvm_operation *op = cvm_operation(req->op_case);

	cvmd_metrics_request(c, req);
	if (!op || !cvm_request_body(req)) {
		cvmd_client_error(c, req->id, -EINVAL, "unknown or empty request");
	} else if (op->priv != CVM_PRIV_READ && !c->admin && !c->authorized) {
		cvmd_client_error(c, req->id, -EACCES,
				  "%s needs uid 0 or group %s",
				  op->name, c->d->cfg.admin_group);
	} else if (c->in_flight >= c->d->cfg.max_requests) {
		c->d->refused.requests++;
		cvmd_client_error(c, req->id, -EUSERS,
				  "too many requests in flight (limit %u)",
				  c->d->cfg.max_requests);
	} else {
		cvmd_operation_handler(req->op_case)(c->d, c, req);
	}
	cvmd_metrics_dispatched(c, req);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static char slab[65536];

	(void)h;
	(void)suggested;
	/* Single-threaded loop: one read at a time uses the slab. */
	*buf = uv_buf_init(slab, sizeof(slab));
}

/* The client's input buffer changed size: account, pause or resume. */
static void input_changed(struct cvmd_client *c, size_t old_cap)
{
	struct cvmd *d = c->d;

	if (c->closing || c->rd.cap == old_cap)
		return;
	cvmd_peer_input(d, c->peer, (int64_t)c->rd.cap - (int64_t)old_cap);
	if (c->rd.cap < old_cap) {
		resume_stalled(d);
	} else if (!cvmd_peer_may_read(d, c->peer)) {
		/* Backpressure: the peer waits in its socket buffer. */
		uv_read_stop((uv_stream_t *)&c->pipe);
		c->stalled = true;
		d->refused.input_stalls++;
		if (!uv_is_active((uv_handle_t *)&d->stall_timer))
			uv_timer_start(&d->stall_timer, on_stall_check, 1000, 1000);
	}
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct cvmd_client *c = s->data;
	size_t old_cap = c->rd.cap;
	const uint8_t *msg = NULL;
	size_t len = 0;
	int ret;

	if (n < 0) {
		client_close(c);
		return;
	}
	if (!n)
		return;
	if (cvm_frame_reader_feed(&c->rd, buf->base, n)) {
		client_close(c);
		return;
	}
	cvmd_client_ref(c);
	while (!c->closing && (ret = cvm_frame_reader_next(&c->rd, &msg, &len)) > 0)
		cvmd_client_dispatch(c, msg, len);
	if (!c->closing && ret < 0) {
		cvmd_client_error(c, 0, -EMSGSIZE, "frame over %u bytes",
				  CVM_FRAME_MAX);
		client_close(c);
	}
	if (!c->closing) {
		cvm_frame_reader_trim(&c->rd);
		input_changed(c, old_cap);
	}
	cvmd_client_unref(c);
}

const struct cvmd_client_ops cvmd_socket_client_ops = {
	.send = socket_send,
	.release = socket_release,
	.framed = true,
};

static bool peer_is_admin(struct cvmd *d, int fd, struct ucred *cred)
{
	gid_t groups[256];
	socklen_t len = sizeof(groups);
	size_t i;

	if (cred->uid == 0)
		return true;
	if (!d->have_admin_gid)
		return false;
	if (cred->gid == d->admin_gid)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len))
		return false;
	for (i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == d->admin_gid)
			return true;
	return false;
}

static void on_connection(uv_stream_t *server, int status)
{
	struct cvmd *d = server->data;
	struct cvmd_client *c;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	uv_os_fd_t fd;
	int ret;

	if (status < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->d = d;
	c->ops = &cvmd_socket_client_ops;
	c->refs = 1;
	cvm_frame_reader_init(&c->rd, CVM_FRAME_MAX);
	uv_pipe_init(d->loop, &c->pipe, 0);
	c->pipe.data = c;
	list_add_tail(&c->node, &d->clients);
	if (uv_accept(server, (uv_stream_t *)&c->pipe) ||
	    uv_fileno((uv_handle_t *)&c->pipe, &fd) ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len)) {
		client_close(c);
		return;
	}
	c->uid = cred.uid;
	c->pid = cred.pid;
	c->admin = peer_is_admin(d, fd, &cred);
	ret = cvmd_peer_admit(d, c->uid, &c->peer);
	if (ret) {
		cvmd_client_error(c, 0, ret, ret == -EUSERS ?
				  "too many connections (limits: %u in all, "
				  "%u per uid)" : "out of memory",
				  d->cfg.max_connections,
				  d->cfg.max_connections_per_uid);
		client_close(c);
		return;
	}
	uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
}

/*
 * The API socket among those systemd passed: the one not named for
 * another listener (cvmd-metrics.socket's "metrics"). Return its fd, -1
 * for none, -EINVAL for more than one.
 */
int cvmd_server_start(struct cvmd *d)
{
	struct group *g;
	int ret, n;

	g = getgrnam(d->cfg.admin_group);
	if (g) {
		d->admin_gid = g->gr_gid;
		d->have_admin_gid = true;
	}
	uv_pipe_init(d->loop, &d->server, 0);
	d->server.data = d;
	uv_timer_init(d->loop, &d->stall_timer);
	d->stall_timer.data = d;
	/*
	 * Socket activation (cvmd.socket): the listening unix socket is
	 * ours; cvmd-tls.socket's and cvmd-metrics.socket's fds, if passed
	 * too, are tls-listen.c's and metrics.c's.
	 */
	n = cvmd_listen_fd_unix();
	if (n < -1)
		return n;
	if (n >= 0) {
		d->socket_activated = true;
		ret = uv_pipe_open(&d->server, n);
		if (!ret)
			ret = uv_listen((uv_stream_t *)&d->server, 256,
					on_connection);
		return ret;
	}
	unlink(d->cfg.socket_path);
	ret = uv_pipe_bind(&d->server, d->cfg.socket_path);
	if (!ret && chmod(d->cfg.socket_path, d->cfg.socket_mode))
		ret = -errno;
	if (!ret && d->have_admin_gid &&
	    chown(d->cfg.socket_path, (uid_t)-1, d->admin_gid))
		ret = -errno;
	if (!ret)
		ret = uv_listen((uv_stream_t *)&d->server, 256, on_connection);
	return ret;
}

void cvmd_server_stop(struct cvmd *d)
{
	struct cvmd_client *c, *n;

	list_for_each_entry_safe(c, n, &d->clients, node)
		client_close(c);
	if (!uv_is_closing((uv_handle_t *)&d->stall_timer))
		uv_close((uv_handle_t *)&d->stall_timer, NULL);
	if (!uv_is_closing((uv_handle_t *)&d->server))
		uv_close((uv_handle_t *)&d->server, NULL);
	/* An activated socket stays: systemd queues clients for the next cvmd. */
	if (!d->socket_activated)
		unlink(d->cfg.socket_path);
}
