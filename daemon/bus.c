// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * bus.c - the D-Bus edge of cvmd: sd-bus driven by libuv handles (no
 * second loop, no thread), the org.cvm.Manager1 object, and polkit for
 * mutating calls. Error names come from the one errno table
 * (proto/cvm-frame.c), beside each errno's Status.
 *
 * A method call becomes a Cvm__Request run through the same dispatch
 * table as the protobuf socket, by a short-lived client whose "send"
 * replies to the call: one implementation, two thin edges.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "bus.h"
#include "operations.h"
#include "uapi/cvm.h"

int cvmd_bus_vm_path(const char *name, char **ret_path)
{
	return sd_bus_path_encode(CVM_BUS_VM_PREFIX, name, ret_path);
}

/* --- requests built for method calls --- */

struct bus_request {
	Cvm__Request req;
	union {
		Cvm__StatusRequest status;
		Cvm__ListRequest list;
		Cvm__ShowRequest show;
		Cvm__CreateRequest create;
		Cvm__DestroyRequest destroy;
		Cvm__LifecycleRequest lifecycle;
		Cvm__PageRequest page;
		Cvm__GuestWriteRequest guest_write;
		Cvm__ReadRequest read;
		Cvm__SnapshotRequest snapshot;
	} u;
	char name[65];
};

/* A method's request, its body built as the operation table says. */
Cvm__Request *cvmd_bus_request_new(Cvm__Request__OpCase op, const char *name)
{
	const struct cvm_operation *o = cvm_operation(op);
	const ProtobufCFieldDescriptor *f;
	struct bus_request *br;

	if (!o || !o->bus || o->body->sizeof_message > sizeof(br->u))
		return NULL;
	br = calloc(1, sizeof(*br));
	if (!br)
		return NULL;
	cvm__request__init(&br->req);
	snprintf(br->name, sizeof(br->name), "%s", name ? name : "");
	br->req.op_case = op;
	protobuf_c_message_init(o->body, &br->u);
	*(void **)((char *)&br->req + o->body_offset) = &br->u;
	/* Every per-VM body names its VM in a "name" field. */
	f = protobuf_c_message_descriptor_get_field_by_name(o->body, "name");
	if (f)
		*(char **)((char *)&br->u + f->offset) = br->name;
	return &br->req;
}

Cvm__Request *cvmd_bus_request_free(Cvm__Request *req)
{
	struct bus_request *br;

	if (!req)
		return NULL;
	br = container_of(req, struct bus_request, req);
	if (req->op_case == CVM__REQUEST__OP_GUEST_WRITE)
		free(br->u.guest_write.data.data);
	free(br);
	return NULL;
}

/* --- one method call, as a client of the dispatch table --- */

/* A D-Bus peer's calls in flight, for max_bus_calls_per_sender. */
struct bus_sender {
	struct list_head node;
	unsigned int in_flight;
	char name[];			/* its unique name, ":1.42" */
};

struct bus_call {
	struct cvmd *d;
	struct bus_sender *sender;
	sd_bus_message *m;
	Cvm__Request *req;
	enum cvmd_bus_reply reply;
	sd_bus_slot *polkit;		/* the credentials query, then polkit's */
	const char *action;		/* polkit's, for a privileged call */
	uid_t uid;
	/* A snapshot's runs so far, when it comes in several frames. */
	Cvm__GfnInfo *runs;
	size_t nr_runs;
};

/*
 * Keep the runs of a snapshot frame (the frame itself is freed once
 * relayed). Bounded as the backend bounds a snapshot, so a VMM that never
 * stops sending cannot take cvmd's memory.
 */
static int snapshot_keep(struct bus_call *bc, const Cvm__Snapshot *snap)
{
	Cvm__GfnInfo *runs;
	size_t i;

	if (snap->n_gfns > CVM_SNAPSHOT_MAX_ENTRIES - bc->nr_runs)
		return -E2BIG;
	runs =
	    realloc(bc->runs, (bc->nr_runs + snap->n_gfns + 1) * sizeof(*runs));
	if (!runs)
		return -ENOMEM;
	bc->runs = runs;
	for (i = 0; i < snap->n_gfns; i++) {
		const Cvm__GfnInfo *g = snap->gfns[i];
		Cvm__GfnInfo *k = &runs[bc->nr_runs++];

		cvm__gfn_info__init(k);
		k->gfn = g->gfn;
		k->state = g->state;
		k->paged_out = g->paged_out;
		k->resident = g->resident;
		k->pinned = g->pinned;
		k->dma_refs = g->dma_refs;
		k->nr_pages = g->nr_pages;
	}
	return 0;
}

static int reply_ok(struct bus_call *bc, const Cvm__Response *resp)
{
	sd_bus_message *r = NULL;
	char *path = NULL;
	size_t i;
	int ret;

	switch (bc->reply) {
	case CVMD_BUS_REPLY_NONE:
		return sd_bus_reply_method_return(bc->m, NULL);
	case CVMD_BUS_REPLY_PATH:
		if (resp->result_case != CVM__RESPONSE__RESULT_VM)
			return -EIO;
		ret = cvmd_bus_vm_path(resp->vm->name, &path);
		if (ret >= 0)
			ret = sd_bus_reply_method_return(bc->m, "o", path);
		free(path);
		return ret;
	case CVMD_BUS_REPLY_DATA:
		if (resp->result_case != CVM__RESPONSE__RESULT_DATA)
			return -EIO;
		ret = sd_bus_message_new_method_return(bc->m, &r);
		if (ret >= 0)
			ret = sd_bus_message_append_array(r, 'y', resp->data.data,
							  resp->data.len);
		break;
	case CVMD_BUS_REPLY_SNAPSHOT:
		if (resp->result_case != CVM__RESPONSE__RESULT_SNAPSHOT)
			return -EIO;
		ret = sd_bus_message_new_method_return(bc->m, &r);
		if (ret >= 0)
			ret = sd_bus_message_open_container(r, 'a', "(ttybbbu)");
		for (i = 0; ret >= 0 && i < resp->snapshot->n_gfns; i++) {
			const Cvm__GfnInfo *g = resp->snapshot->gfns[i];

			ret = sd_bus_message_append(r, "(ttybbbu)", g->gfn,
						    g->nr_pages ? g->nr_pages
								: (uint64_t)1,
						    (uint8_t)g->state,
						    (int)g->paged_out,
						    (int)g->resident,
						    (int)g->pinned, g->dma_refs);
		}
		if (ret >= 0)
			ret = sd_bus_message_close_container(r);
		break;
	case CVMD_BUS_REPLY_LIST:
		ret = sd_bus_message_new_method_return(bc->m, &r);
		if (ret >= 0)
			ret = sd_bus_message_open_container(r, 'a', "(sso)");
		for (i = 0; ret >= 0 && resp->result_case ==
			     CVM__RESPONSE__RESULT_LIST && i < resp->list->n_vms;
		     i++) {
			const Cvm__VmInfo *v = resp->list->vms[i];

			ret = cvmd_bus_vm_path(v->name, &path);
			if (ret >= 0)
				ret = sd_bus_message_append(r, "(sso)", v->name,
							    cvmd_state_name(v->state),
							    path);
			free(path);
			path = NULL;
		}
		if (ret >= 0)
			ret = sd_bus_message_close_container(r);
		break;
	default:
		return -EINVAL;
	}
	if (ret >= 0)
		ret = sd_bus_send(NULL, r, NULL);
	sd_bus_message_unref(r);
	return ret;
}

static void bus_send(struct cvmd_client *c, const Cvm__Response *resp)
{
	struct bus_call *bc = c->edge;
	Cvm__GfnInfo **ptrs = NULL;
	struct bus_request *br;
	Cvm__Response joined;
	Cvm__Snapshot snap;
	size_t i;
	int ret;

	if (!bc->m)
		return;	/* answered already (a call gets one reply) */
	/* A snapshot in several frames: one reply once the last is in. */
	if (bc->reply == CVMD_BUS_REPLY_SNAPSHOT &&
	    resp->status == CVM__STATUS__OK &&
	    resp->result_case == CVM__RESPONSE__RESULT_SNAPSHOT &&
	    (resp->snapshot->more || bc->runs)) {
		ret = snapshot_keep(bc, resp->snapshot);
		if (!ret && resp->snapshot->more)
			return;
		ptrs = ret ? NULL : calloc(bc->nr_runs + 1, sizeof(*ptrs));
		if (!ptrs) {
			br = container_of(bc->req, struct bus_request, req);
			sd_bus_reply_method_errorf(
			    bc->m, cvm_bus_error_from_errno(ret ? ret : -ENOMEM),
			    "Snapshot '%s' failed: %s", br->name,
			    strerror(ret ? -ret : ENOMEM));
			bc->m = sd_bus_message_unref(bc->m);
			return;
		}
		for (i = 0; i < bc->nr_runs; i++)
			ptrs[i] = &bc->runs[i];
		cvm__snapshot__init(&snap);
		snap.gfns = ptrs;
		snap.n_gfns = bc->nr_runs;
		joined = *resp;
		joined.snapshot = &snap;
		resp = &joined;
	}
	/* Name the operation and the VM; the message says state and why. */
	if (resp->status != CVM__STATUS__OK)
		ret = sd_bus_reply_method_errorf(bc->m,
						 cvm_bus_error_from_errno(resp->error ?
								resp->error :
								-EIO),
						 "%s '%s' refused: %s",
						 sd_bus_message_get_member(bc->m),
						 container_of(bc->req,
							      struct bus_request,
							      req)->name,
						 resp->message);
	else
		ret = reply_ok(bc, resp);
	if (ret < 0) {
		br = container_of(bc->req, struct bus_request, req);
		cvmd_log(LOG_DEBUG, "D-Bus reply failed: %s", strerror(-ret));
		/* Not a reply the method can carry (a VMM's answer of the
		 * wrong kind): the caller still hears, and does not wait. */
		sd_bus_reply_method_errorf(
		    bc->m, "org.cvm.Error.Failed",
		    "%s '%s' failed: no valid answer: %s",
		    sd_bus_message_get_member(bc->m), br->name, strerror(-ret));
	}
	bc->m = sd_bus_message_unref(bc->m);
	free(ptrs);
}

/* Count a call of @m's sender, or refuse it (the sender has enough). */
static int sender_admit(struct cvmd *d, sd_bus_message *m,
			struct bus_sender **ret)
{
	const char *name = sd_bus_message_get_sender(m);
	struct bus_sender *s;

	if (!name)
		name = "";
	list_for_each_entry(s, &d->bus_senders, node)
		if (!strcmp(s->name, name))
			goto found;
	s = calloc(1, sizeof(*s) + strlen(name) + 1);
	if (!s)
		return -ENOMEM;
	strcpy(s->name, name);
	list_add_tail(&s->node, &d->bus_senders);
found:
	if (s->in_flight >= d->cfg.max_bus_calls_per_sender) {
		d->refused.bus_calls++;
		return -EUSERS;
	}
	s->in_flight++;
	*ret = s;
	return 0;
}

static void sender_done(struct bus_sender *s)
{
	if (!s || --s->in_flight)
		return;
	list_del(&s->node);
	free(s);
}

static void bus_release(struct cvmd_client *c)
{
	struct bus_call *bc = c->edge;

	if (bc->m)	/* never answered: say so rather than leave it hanging */
		sd_bus_reply_method_errorf(bc->m, "org.cvm.Error.Failed",
					   "no answer");
	sd_bus_message_unref(bc->m);
	sd_bus_slot_unref(bc->polkit);
	cvmd_bus_request_free(bc->req);
	sender_done(bc->sender);
	free(bc->runs);
	free(bc);
	free(c);
}

static const struct cvmd_client_ops bus_client_ops = {
	.send = bus_send,
	.release = bus_release,
};

static void bus_dispatch(struct cvmd_client *c)
{
	struct bus_call *bc = c->edge;

	c->authorized = true;
	cvmd_client_handle(c, bc->req);
	cvmd_client_unref(c);
}

/* polkit's answer: (bba{ss}) is_authorized, is_challenge, details */
static int on_polkit(sd_bus_message *reply, void *userdata,
		     sd_bus_error *ret_error)
{
	struct cvmd_client *c = userdata;
	struct bus_call *bc = c->edge;
	const sd_bus_error *e;
	int authorized = 0, challenge = 0, ret;

	(void)ret_error;
	bc->polkit = sd_bus_slot_unref(bc->polkit);
	e = sd_bus_message_get_error(reply);
	if (e) {
		sd_bus_reply_method_errorf(bc->m, "org.cvm.Error.AccessDenied",
					   "access denied: polkit: %s",
					   e->message ? e->message : e->name);
		bc->m = sd_bus_message_unref(bc->m);
		cvmd_client_unref(c);
		return 0;
	}
	ret = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
	if (ret >= 0)
		ret = sd_bus_message_read(reply, "bb", &authorized, &challenge);
	if (ret < 0 || !authorized) {
		sd_bus_reply_method_errorf(bc->m, "org.cvm.Error.AccessDenied",
					   "access denied: uid %u is not "
					   "authorized for this (%s)",
					   (unsigned int)bc->uid,
					   challenge ? "authentication required" :
					   "not allowed");
		bc->m = sd_bus_message_unref(bc->m);
		cvmd_client_unref(c);
		return 0;
	}
	/* The caller may have gone meanwhile: its message is still ours. */
	bus_dispatch(c);
	return 0;
}

/* Refuse a privileged call before it ran: the caller hears why. */
static void __attribute__((format(printf, 2, 3)))
deny(struct cvmd_client *c, const char *fmt, ...)
{
	struct bus_call *bc = c->edge;
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sd_bus_reply_method_errorf(bc->m, "org.cvm.Error.AccessDenied",
				   "access denied: %s", msg);
	bc->m = sd_bus_message_unref(bc->m);
	cvmd_client_unref(c);
}

static void ask_polkit(struct cvmd_client *c)
{
	struct bus_call *bc = c->edge;
	int ret;

	ret = sd_bus_call_method_async(
		sd_bus_message_get_bus(bc->m), &bc->polkit,
		"org.freedesktop.PolicyKit1",
		"/org/freedesktop/PolicyKit1/Authority",
		"org.freedesktop.PolicyKit1.Authority", "CheckAuthorization",
		on_polkit, c, "(sa{sv})sa{ss}us", "system-bus-name", 1, "name",
		"s", sd_bus_message_get_sender(bc->m), bc->action, 0,
		sd_bus_message_get_allow_interactive_authorization(bc->m) ? 1 : 0,
		"");
	if (ret < 0)
		deny(c, "polkit unavailable: %s", strerror(-ret));
}

/*
 * Read GetConnectionCredentials' a{sv}: UnixUserID, and whether
 * UnixGroupIDs (the primary group and the supplementary ones, as the bus
 * took them from the kernel when the caller connected) holds gid.
 */
static int read_creds(sd_bus_message *reply, bool want_gid, gid_t gid,
		      uid_t *ret_uid, bool *ret_member)
{
	const uint32_t *gids;
	const char *key;
	size_t size, i;
	uint32_t uid;
	int ret;

	*ret_uid = (uid_t)-1;
	*ret_member = false;
	ret = sd_bus_message_enter_container(reply, 'a', "{sv}");
	while (ret >= 0 &&
	       (ret = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
		ret = sd_bus_message_read(reply, "s", &key);
		if (ret >= 0 && !strcmp(key, "UnixUserID")) {
			ret = sd_bus_message_read(reply, "v", "u", &uid);
			if (ret >= 0)
				*ret_uid = uid;
		} else if (ret >= 0 && !strcmp(key, "UnixGroupIDs")) {
			ret = sd_bus_message_enter_container(reply, 'v', "au");
			if (ret >= 0)
				ret = sd_bus_message_read_array(
					reply, 'u', (const void **)&gids, &size);
			for (i = 0; ret >= 0 && want_gid &&
				    i < size / sizeof(*gids); i++)
				if (gids[i] == gid)
					*ret_member = true;
			if (ret >= 0)
				ret = sd_bus_message_exit_container(reply);
		} else if (ret >= 0) {
			ret = sd_bus_message_skip(reply, "v");
		}
		if (ret >= 0)
			ret = sd_bus_message_exit_container(reply);
	}
	return ret < 0 ? ret : 0;
}

/*
 * One privilege model, as on the socket: root and members of the admin
 * group run the call at once; anyone else is asked about polkit's action.
 */
static void authorize(struct cvmd_client *c, uid_t uid, bool member)
{
	struct bus_call *bc = c->edge;

	bc->uid = c->uid = uid;
	c->admin = uid == 0 || member;
	if (!c->admin) {
		ask_polkit(c);
		return;
	}
	cvmd_client_handle(c, bc->req);
	cvmd_client_unref(c);
}

/* The bus's answer about the caller: who it is, then authorize(). */
static int on_creds(sd_bus_message *reply, void *userdata,
		    sd_bus_error *ret_error)
{
	struct cvmd_client *c = userdata;
	struct bus_call *bc = c->edge;
	const sd_bus_error *e;
	bool member;
	uid_t uid;
	int ret;

	(void)ret_error;
	bc->polkit = sd_bus_slot_unref(bc->polkit);
	e = sd_bus_message_get_error(reply);
	if (e) {
		deny(c, "cannot learn the caller's credentials: %s",
		     e->message ? e->message : e->name);
		return 0;
	}
	ret = read_creds(reply, bc->d->have_admin_gid, bc->d->admin_gid, &uid,
			 &member);
	if (ret < 0 || uid == (uid_t)-1) {
		deny(c, "the bus did not say who the caller is");
		return 0;
	}
	authorize(c, uid, member);
	return 0;
}

int cvmd_bus_run(struct cvmd *d, sd_bus_message *m, Cvm__Request *req,
		 enum cvmd_bus_reply reply)
{
	const char *action = NULL;
	struct cvmd_client *c;
	struct bus_call *bc;
	int ret;

	if (!req)
		return -ENOMEM;
	/* The operation table says which polkit action guards it, if any. */
	if (cvm_operation(req->op_case))
		action = cvm_operation(req->op_case)->polkit_action;
	c = calloc(1, sizeof(*c));
	bc = calloc(1, sizeof(*bc));
	ret = c && bc ? sender_admit(d, m, &bc->sender) : -ENOMEM;
	if (ret) {
		free(c);
		free(bc);
		cvmd_bus_request_free(req);
		if (ret != -EUSERS)
			return ret;
		return sd_bus_reply_method_errorf(m, "org.cvm.Error.Limit",
			"too many calls in flight from %s (limit %u)",
			sd_bus_message_get_sender(m) ?: "this peer",
			d->cfg.max_bus_calls_per_sender);
	}
	bc->d = d;
	bc->m = sd_bus_message_ref(m);
	bc->req = req;
	bc->reply = reply;
	c->d = d;
	c->ops = &bus_client_ops;
	c->edge = bc;
	c->refs = 1;
	list_init(&c->node);
	if (!action) {
		/* Reads: open to everyone, no credentials needed. */
		cvmd_client_handle(c, req);
		cvmd_client_unref(c);
		return 1;
	}
	bc->action = action;
	if (!sd_bus_is_bus_client(sd_bus_message_get_bus(m))) {
		/* Peer to peer, no bus to ask: the socket's peer credentials. */
		sd_bus_creds *creds = NULL;
		uid_t uid = (uid_t)-1;

		ret = sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID, &creds);
		if (ret >= 0)
			ret = sd_bus_creds_get_euid(creds, &uid);
		sd_bus_creds_unref(creds);
		if (ret < 0)
			deny(c, "cannot learn the caller's credentials: %s",
			     strerror(-ret));
		else
			authorize(c, uid, false);
		return 1;
	}
	/* Who is calling, asked of the bus (no wait: on_creds goes on). */
	ret = sd_bus_call_method_async(
		sd_bus_message_get_bus(m), &bc->polkit, "org.freedesktop.DBus",
		"/org/freedesktop/DBus", "org.freedesktop.DBus",
		"GetConnectionCredentials", on_creds, c, "s",
		sd_bus_message_get_sender(m));
	if (ret < 0)
		deny(c, "cannot learn the caller's credentials: %s",
		     strerror(-ret));
	return 1;
}

/* --- org.cvm.Manager1 --- */

static int method_list(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
	(void)e;
	return cvmd_bus_run(userdata, m,
			    cvmd_bus_request_new(CVM__REQUEST__OP_LIST, NULL),
			    CVMD_BUS_REPLY_LIST);
}

/*
 * GetVM only names the VM's object: answered from cvmd's record, without a
 * round trip to its VMM (which may be busy or stopped).
 */
static int method_get(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
	struct cvmd_vm *vm;
	const char *name;
	char *path = NULL;
	int ret = sd_bus_message_read(m, "s", &name);

	(void)e;
	if (ret < 0)
		return ret;
	vm = cvmd_vm_find(userdata, name);
	if (!vm || vm->destroying)
		return sd_bus_reply_method_errorf(m,
						  cvm_bus_error_from_errno(-ENOENT),
						  "GetVM '%s' refused: no VM named '%s'",
						  name, name);
	ret = cvmd_bus_vm_path(vm->rec.name, &path);
	if (ret >= 0)
		ret = sd_bus_reply_method_return(m, "o", path);
	free(path);
	return ret;
}

static int method_create(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
	uint64_t memory, memlock;
	const char *name, *pin;
	Cvm__Request *req;
	int ret;

	ret = sd_bus_message_read(m, "stts", &name, &memory, &memlock, &pin);
	if (ret < 0)
		return ret;
	if (strcmp(pin, "demand") && strcmp(pin, "upfront"))
		return sd_bus_error_setf(e, "org.cvm.Error.InvalidArgs",
					 "pin mode '%s': want demand or upfront",
					 pin);
	req = cvmd_bus_request_new(CVM__REQUEST__OP_CREATE, name);
	if (req) {
		req->create->memory_bytes = memory;
		req->create->memlock_limit_bytes = memlock;
		req->create->pin = !strcmp(pin, "upfront") ?
				   CVM__PIN_MODE__UPFRONT : CVM__PIN_MODE__DEMAND;
	}
	return cvmd_bus_run(userdata, m, req, CVMD_BUS_REPLY_PATH);
}

static int method_destroy(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
	const char *name;
	int ret = sd_bus_message_read(m, "s", &name);

	(void)e;
	if (ret < 0)
		return ret;
	return cvmd_bus_run(userdata, m,
			    cvmd_bus_request_new(CVM__REQUEST__OP_DESTROY, name),
			    CVMD_BUS_REPLY_NONE);
}

static int prop_manager(sd_bus *bus, const char *path, const char *iface,
			const char *property, sd_bus_message *reply,
			void *userdata, sd_bus_error *e)
{
	struct cvmd *d = userdata;
	struct cvmd_pool pool;

	(void)bus;
	(void)path;
	(void)iface;
	(void)e;
	if (!strcmp(property, "Backend"))
		return sd_bus_message_append(reply, "s", d->backend);
	if (!strcmp(property, "Version"))
		return sd_bus_message_append(reply, "s", CVMD_VERSION);
	if (!strcmp(property, "VMCount"))
		return sd_bus_message_append(reply, "u", d->nr_vms);
	cvmd_vm_pool(d, &pool);
	if (!strcmp(property, "PoolTotalPages"))
		return sd_bus_message_append(reply, "t", pool.total);
	if (!strcmp(property, "PoolFreePages"))
		return sd_bus_message_append(reply, "t", pool.free);
	return -ENOENT;
}

static const sd_bus_vtable manager_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("Backend", "s", prop_manager, 0,
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Version", "s", prop_manager, 0,
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("VMCount", "u", prop_manager, 0,
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("PoolTotalPages", "t", prop_manager, 0,
			SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
	SD_BUS_PROPERTY("PoolFreePages", "t", prop_manager, 0,
			SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
	SD_BUS_METHOD_WITH_NAMES("ListVMs", "", , "a(sso)", SD_BUS_PARAM(vms),
				 method_list, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_NAMES("GetVM", "s", SD_BUS_PARAM(name), "o",
				 SD_BUS_PARAM(vm), method_get,
				 SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_NAMES("CreateVM", "stts",
				 SD_BUS_PARAM(name) SD_BUS_PARAM(memory_bytes)
				 SD_BUS_PARAM(memlock_limit_bytes)
				 SD_BUS_PARAM(pin), "o", SD_BUS_PARAM(vm),
				 method_create, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_NAMES("DestroyVM", "s", SD_BUS_PARAM(name), "", ,
				 method_destroy, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_SIGNAL_WITH_NAMES("StateChanged", "ssss",
				 SD_BUS_PARAM(vm) SD_BUS_PARAM(old_state)
				 SD_BUS_PARAM(new_state) SD_BUS_PARAM(operation),
				 0),
	SD_BUS_VTABLE_END
};

/* --- sd-bus on the libuv loop --- */

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000;
}

static void bus_process(struct cvmd *d)
{
	int ret;

	do {
		ret = sd_bus_process(d->bus, NULL);
	} while (ret > 0);
	if (ret < 0 && !d->bus_lost) {
		d->bus_lost = true;
		cvmd_log(LOG_ERR, "D-Bus connection lost: %s", strerror(-ret));
		uv_poll_stop(&d->bus_poll);
		uv_timer_stop(&d->bus_timer);
	}
}

static void on_bus_poll(uv_poll_t *h, int status, int events)
{
	(void)status;
	(void)events;
	bus_process(h->data);
}

static void on_bus_timer(uv_timer_t *h)
{
	bus_process(h->data);
}

/* Before the loop sleeps: wait for what sd-bus wants now. */
static void on_bus_prepare(uv_prepare_t *h)
{
	struct cvmd *d = h->data;
	uint64_t until, now;
	int events, flags = 0;

	if (d->bus_lost)
		return;
	/* Replies sent from other callbacks may sit in sd-bus's queue. */
	bus_process(d);
	events = sd_bus_get_events(d->bus);
	if (events < 0)
		return;
	if (events & POLLIN)
		flags |= UV_READABLE;
	if (events & POLLOUT)
		flags |= UV_WRITABLE;
	uv_poll_start(&d->bus_poll, flags, on_bus_poll);
	if (sd_bus_get_timeout(d->bus, &until) >= 0 && until != UINT64_MAX) {
		now = now_usec();
		uv_timer_start(&d->bus_timer, on_bus_timer,
			       until > now ? (until - now + 999) / 1000 : 0, 0);
	} else {
		uv_timer_stop(&d->bus_timer);
	}
}

int cvmd_bus_start(struct cvmd *d, const char *which)
{
	int ret;

	if (!strcmp(which, "none"))
		return 0;
	/* DBUS_SYSTEM_BUS_ADDRESS / DBUS_SESSION_BUS_ADDRESS are honoured. */
	ret = !strcmp(which, "session") ? sd_bus_open_user(&d->bus) :
					  sd_bus_open_system(&d->bus);
	if (ret >= 0)
		ret = sd_bus_add_object_vtable(d->bus, NULL, CVM_BUS_PATH,
					       CVM_BUS_MANAGER_IFACE,
					       manager_vtable, d);
	if (ret >= 0)
		ret = sd_bus_add_fallback_vtable(d->bus, NULL, CVM_BUS_VM_PREFIX,
						 CVM_BUS_VM_IFACE,
						 cvmd_vm_vtable,
						 cvmd_vm_bus_find, d);
	if (ret >= 0)
		ret = sd_bus_add_node_enumerator(d->bus, NULL, CVM_BUS_VM_PREFIX,
						 cvmd_vm_bus_enumerate, d);
	if (ret >= 0)
		ret = sd_bus_add_object_manager(d->bus, NULL, CVM_BUS_PATH);
	if (ret >= 0)
		ret = sd_bus_request_name(d->bus, CVM_BUS_NAME, 0);
	if (ret < 0) {
		d->bus = sd_bus_flush_close_unref(d->bus);
		return ret;
	}
	uv_poll_init(d->loop, &d->bus_poll, sd_bus_get_fd(d->bus));
	uv_timer_init(d->loop, &d->bus_timer);
	uv_prepare_init(d->loop, &d->bus_prepare);
	d->bus_poll.data = d->bus_timer.data = d->bus_prepare.data = d;
	uv_prepare_start(&d->bus_prepare, on_bus_prepare);
	return 0;
}

void cvmd_bus_stop(struct cvmd *d)
{
	if (!d->bus)
		return;
	uv_prepare_stop(&d->bus_prepare);
	uv_close((uv_handle_t *)&d->bus_poll, NULL);
	uv_close((uv_handle_t *)&d->bus_timer, NULL);
	uv_close((uv_handle_t *)&d->bus_prepare, NULL);
	d->bus = sd_bus_flush_close_unref(d->bus);
}
