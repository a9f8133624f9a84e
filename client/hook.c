// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * hook.c - libvirt's qemu hook: `cvmctl hook qemu DOMAIN OP SUBOP EXTRA`
 * with the domain XML on stdin (DESIGN §8, docs/libvirt.md).
 *
 * libvirt runs it synchronously, without a timeout, holding the domain's
 * job lock, and captures its stdout and stderr until both close. So:
 *   - a call it does not act on (unknown, attach, another driver) exits 0
 *     without reading stdin; a domain that did not opt in exits 0 after
 *     parsing the XML, without contacting cvmd;
 *   - everything cvmd is asked shares one deadline (--timeout, 5 s by
 *     default), on one connection; no child process, ever;
 *   - stdout stays empty (for migrate and restore it would replace the
 *     XML); a refusal or failure is one "cvm: ..." line on stderr and exit
 *     1, which libvirt shows in its error;
 *   - stopped/release and reconnect always exit 0: cleanup must never
 *     block, and a failing reconnect would make libvirt kill the domain.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "exitcode.h"
#include "hook-xml.h"
#include "hook.h"
#include "read-all.h"

/* After a failure, the cleanup it calls for gets at least this long. */
#define GRACE_MS 1000

/* The positional arguments, kept by cvmctl_hook_build(). */
static struct {
	const char *driver, *domain, *op, *subop, *extra;
} hook_args;

struct hook {
	const char *domain, *op;
	char domain_shown[80], op_shown[24];
	enum cvm_hook_action action;
	const struct cvm_uri *uri;
	const char *uri_str;
	int timeout_ms;	  /* < 0: none */
	int64_t deadline; /* CLOCK_MONOTONIC ms, < 0: none */
	struct cvm_conn conn;
	uint64_t id;
	struct cvm_hook_doc *doc;
	struct cvm_hook_config cfg;
	char why[768]; /* what went wrong with cvmd, for the message */
};

int cvmctl_hook_build(struct cvm_call *c, char **args)
{
	size_t n = 0;

	(void)c;
	while (args[n])
		n++;
	if (n < 4) {
		fprintf(stderr, "cvmctl: hook: missing %s (usage: cvmctl hook "
				"qemu DOMAIN OP SUBOP EXTRA)\n",
			(const char *const[]){ "qemu", "DOMAIN", "OP",
					       "SUBOP" }[n]);
		return -EINVAL;
	}
	hook_args.driver = args[0];
	hook_args.domain = args[1];
	hook_args.op = args[2];
	hook_args.subop = args[3];
	/* Older libvirt always passes EXTRA; tolerate its absence. */
	hook_args.extra = n > 4 ? args[4] : "-";
	return 0;
}

/* --- messages ------------------------------------------------------------- */

/* s for one line: at most len - 1 bytes, control characters as '?'. */
static const char *one_line(const char *s, char *buf, size_t len)
{
	size_t i;

	snprintf(buf, len, "%s", s);
	if (strlen(s) >= len && len > 4)
		strcpy(buf + len - 4, "...");
	for (i = 0; buf[i]; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = '?';
	return buf;
}

/*
 * The one line: "cvm: OP 'DOMAIN' KIND: MESSAGE" (KIND "refused" or
 * "failed"), or "cvm: OP 'DOMAIN': warning: MESSAGE" when the hook still
 * exits 0.
 */
static void __attribute__((format(printf, 3, 4)))
say(struct hook *h, const char *kind, const char *fmt, ...)
{
	char msg[1024], line[1200], out[1200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!strcmp(kind, "warning"))
		snprintf(line, sizeof(line), "cvm: %s '%s': warning: %s",
			 h->op_shown, h->domain_shown, msg);
	else
		snprintf(line, sizeof(line), "cvm: %s '%s' %s: %s",
			 h->op_shown, h->domain_shown, kind, msg);
	fprintf(stderr, "%s\n", one_line(line, out, sizeof(out)));
	fflush(stderr);
}

static void __attribute__((format(printf, 2, 3)))
set_why(struct hook *h, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(h->why, sizeof(h->why), fmt, ap);
	va_end(ap);
}

/* "5 s" or "500 ms". */
static const char *bound_str(int ms, char *buf, size_t len)
{
	if (ms % 1000)
		snprintf(buf, len, "%d ms", ms);
	else
		snprintf(buf, len, "%d s", ms / 1000);
	return buf;
}

static void transport_why(struct hook *h, int err, bool connecting)
{
	char b[32];

	if (connecting && err == -EPROTONOSUPPORT)
		set_why(h, "cannot connect to cvmd at %s: TLS transport not "
			"available in this build", h->uri_str);
	else if (connecting && (err == -ENOENT || err == -ECONNREFUSED))
		set_why(h, "cvmd is not running (cannot connect to %s: %s)",
			h->uri_str, strerror(-err));
	else if (err == -ETIMEDOUT)
		set_why(h, "no answer from cvmd at %s within %s", h->uri_str,
			bound_str(h->timeout_ms, b, sizeof(b)));
	else if (connecting)
		set_why(h, "cannot connect to cvmd at %s: %s", h->uri_str,
			strerror(-err));
	else if (err == -ECONNRESET || err == -EPIPE)
		set_why(h, "connection to cvmd at %s lost (%s)", h->uri_str,
			strerror(-err));
	else if (err == -EBADMSG || err == -EMSGSIZE || err == -EPROTO)
		set_why(h, "cvmd at %s sent an invalid answer (%s)",
			h->uri_str, strerror(-err));
	else
		set_why(h, "talking to cvmd at %s: %s", h->uri_str,
			strerror(-err));
}

/* why = "cvmd refused INIT_DONE: MESSAGE" (or failed, denied). */
static void status_why(struct hook *h, const char *what,
		       const Cvm__Response *resp)
{
	const char *msg = resp->message && *resp->message
				  ? resp->message
				  : cvm_status_name(resp->status);

	switch (cvm_outcome_from_status(resp->status)) {
	case CVM_OUTCOME_REFUSED:
		set_why(h, "cvmd refused %s: %s", what, msg);
		break;
	case CVM_OUTCOME_DENIED:
		set_why(h, "cvmd denied %s (access denied): %s", what, msg);
		break;
	default:
		set_why(h, "%s failed in cvmd: %s", what, msg);
		break;
	}
}

/* --- talking to cvmd ------------------------------------------------------ */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What is left of the deadline (-1: no limit); grace: at least GRACE_MS. */
static int left_ms(const struct hook *h, bool grace)
{
	int64_t left;

	if (h->deadline < 0)
		return -1;
	left = h->deadline - now_ms();
	if (grace && left < GRACE_MS)
		left = GRACE_MS;
	return left > 0 ? (int)left : 0;
}

/*
 * One request and its answer, within the deadline. Return 0 with *ret
 * (any Status), or -errno for a transport failure (h->why says which);
 * the connection is then closed, so the next call starts afresh rather
 * than read a late answer.
 */
static int call(struct hook *h, Cvm__Request *req, bool grace,
		Cvm__Response **ret)
{
	int r;

	if (h->conn.fd < 0) {
		r = cvm_conn_open(&h->conn, h->uri, left_ms(h, grace));
		if (r) {
			transport_why(h, r, true);
			cvm_conn_close(&h->conn);
			return r;
		}
	}
	req->id = ++h->id;
	r = cvm_conn_call(&h->conn, req, left_ms(h, grace), ret);
	if (r) {
		transport_why(h, r, false);
		cvm_conn_close(&h->conn);
	}
	return r;
}

/* Whether the VM is this hook's to manage: created by it, for libvirt. */
static bool ours(const Cvm__VmInfo *vm)
{
	return vm->owner && !strcmp(vm->owner, "libvirt");
}

static const char *state_name(Cvm__VmState s)
{
	switch (s) {
	case CVM__VM_STATE__NORMAL:
		return "normal";
	case CVM__VM_STATE__TRANSIENT:
		return "transient";
	case CVM__VM_STATE__SECURE:
		return "secure";
	case CVM__VM_STATE__FAILED:
		return "failed";
	default:
		return "unknown";
	}
}

/* Free *resp and clear it. */
static void drop(Cvm__Response **resp)
{
	if (*resp)
		cvm__response__free_unpacked(*resp, NULL);
	*resp = NULL;
}

/* What show() found. */
#define FOUND 0
#define MISSING 1

/*
 * show DOMAIN: FOUND with *ret (result.vm is set), MISSING when cvmd has
 * no such VM, or -errno (h->why; -ENOENT there means no socket).
 */
static int show(struct hook *h, Cvm__Response **ret)
{
	Cvm__ShowRequest sr = CVM__SHOW_REQUEST__INIT;
	Cvm__Request req = CVM__REQUEST__INIT;
	Cvm__Response *resp = NULL;
	int r;

	sr.name = (char *)h->domain;
	req.op_case = CVM__REQUEST__OP_SHOW;
	req.show = &sr;
	r = call(h, &req, false, &resp);
	if (r)
		return r;
	if (resp->status == CVM__STATUS__NOT_FOUND) {
		drop(&resp);
		return MISSING;
	}
	if (resp->status != CVM__STATUS__OK) {
		status_why(h, "show", resp);
		drop(&resp);
		return -EIO;
	}
	if (resp->result_case != CVM__RESPONSE__RESULT_VM) {
		set_why(h, "cvmd's answer to show carries no VM");
		drop(&resp);
		return -EBADMSG;
	}
	*ret = resp;
	return FOUND;
}

static const char *lifecycle_name(Cvm__LifecycleOp op)
{
	switch (op) {
	case CVM__LIFECYCLE_OP__INIT_START:
		return "INIT_START";
	case CVM__LIFECYCLE_OP__INIT_DONE:
		return "INIT_DONE";
	case CVM__LIFECYCLE_OP__INIT_ABORT:
		return "INIT_ABORT";
	case CVM__LIFECYCLE_OP__TERMINATE:
		return "TERMINATE";
	default:
		return "lifecycle";
	}
}

/* One lifecycle operation: 0, or -errno (h->why). */
static int lifecycle(struct hook *h, Cvm__LifecycleOp op, bool grace)
{
	Cvm__LifecycleRequest lr = CVM__LIFECYCLE_REQUEST__INIT;
	Cvm__Request req = CVM__REQUEST__INIT;
	Cvm__Response *resp = NULL;
	int r;

	lr.name = (char *)h->domain;
	lr.op = op;
	lr.op_set_case = CVM__LIFECYCLE_REQUEST__OP_SET_OP;
	req.op_case = CVM__REQUEST__OP_LIFECYCLE;
	req.lifecycle = &lr;
	r = call(h, &req, grace, &resp);
	if (r)
		return r;
	if (resp->status != CVM__STATUS__OK) {
		status_why(h, lifecycle_name(op), resp);
		r = resp->error < 0 ? resp->error : -EIO;
	}
	drop(&resp);
	return r;
}

/* destroy: 0 (also when cvmd has no such VM), or -errno (h->why). */
static int destroy(struct hook *h, bool grace)
{
	Cvm__DestroyRequest dr = CVM__DESTROY_REQUEST__INIT;
	Cvm__Request req = CVM__REQUEST__INIT;
	Cvm__Response *resp = NULL;
	int r;

	dr.name = (char *)h->domain;
	req.op_case = CVM__REQUEST__OP_DESTROY;
	req.destroy = &dr;
	r = call(h, &req, grace, &resp);
	if (r)
		return r;
	if (resp->status != CVM__STATUS__OK &&
	    resp->status != CVM__STATUS__NOT_FOUND) {
		status_why(h, "destroy", resp);
		r = -EIO;
	}
	drop(&resp);
	return r;
}

/* create the VM the domain's XML asks for, owned by libvirt. */
static int create(struct hook *h)
{
	Cvm__CreateRequest cr = CVM__CREATE_REQUEST__INIT;
	Cvm__Request req = CVM__REQUEST__INIT;
	Cvm__Response *resp = NULL;
	int r;

	cr.name = (char *)h->domain;
	cr.memory_bytes = h->cfg.memory_bytes;
	cr.memlock_limit_bytes = h->cfg.memlock_limit_bytes;
	cr.pin = h->cfg.pin == CVM_HOOK_PIN_UPFRONT ? CVM__PIN_MODE__UPFRONT
						    : CVM__PIN_MODE__DEMAND;
	cr.owner = (char *)"libvirt";
	req.op_case = CVM__REQUEST__OP_CREATE;
	req.create = &cr;
	r = call(h, &req, false, &resp);
	if (r)
		return r;
	if (resp->status != CVM__STATUS__OK) {
		status_why(h, "create", resp);
		r = -EIO;
	}
	drop(&resp);
	return r;
}

/* INIT_START (if normal), then INIT_DONE; a failed INIT_DONE is aborted. */
static int make_secure(struct hook *h, Cvm__VmState state)
{
	char why[sizeof(h->why)], abort_why[sizeof(h->why)];
	int r;

	if (state == CVM__VM_STATE__NORMAL) {
		r = lifecycle(h, CVM__LIFECYCLE_OP__INIT_START, false);
		if (r)
			return r;
	}
	r = lifecycle(h, CVM__LIFECYCLE_OP__INIT_DONE, false);
	if (!r)
		return 0;
	/* Never leave it half-way: back to normal, or say it stayed. */
	memcpy(why, h->why, sizeof(why));
	if (lifecycle(h, CVM__LIFECYCLE_OP__INIT_ABORT, true)) {
		memcpy(abort_why, h->why, sizeof(abort_why));
		set_why(h, "%s; INIT_ABORT did not run either (%s)", why,
			abort_why);
	} else {
		set_why(h, "%s; INIT_ABORT done, the VM is normal", why);
	}
	return r;
}

/* --- the operations ------------------------------------------------------- */

/* The domain's options, or say why not; 0 or 1. */
static int need_config(struct hook *h, const char *kind)
{
	char err[512];

	if (!cvm_hook_doc_config(h->doc, &h->cfg, err, sizeof(err)))
		return 0;
	say(h, kind, "%s", err);
	return 1;
}

static int check_name(struct hook *h, const char *kind)
{
	int r = cvm_hook_check_name(h->domain);

	if (!r)
		return 0;
	say(h, kind, "'%s' can't be a cvm VM name: %s", h->domain_shown,
	    r == -ENAMETOOLONG
		    ? "longer than 64 characters"
		    : "use 1 to 64 of A-Z a-z 0-9 _ . - (not starting with "
		      "'.' or '-')");
	return 1;
}

/* prepare begin: admission, then create. */
static int op_prepare(struct hook *h)
{
	Cvm__StatusRequest sq = CVM__STATUS_REQUEST__INIT;
	Cvm__Request req = CVM__REQUEST__INIT;
	Cvm__Response *resp = NULL;
	const Cvm__VmInfo *vm;
	char err[512];
	int r;

	if (check_name(h, "refused") || need_config(h, "refused"))
		return CVM_EXIT_FAILED;
	if (cvm_hook_admit_memlock(&h->cfg, err, sizeof(err))) {
		say(h, "refused", "%s", err);
		return CVM_EXIT_FAILED;
	}

	/* cvmd must be up: its status also tells the secure pool. */
	req.op_case = CVM__REQUEST__OP_STATUS;
	req.status = &sq;
	r = call(h, &req, false, &resp);
	if (r) {
		say(h, "refused", "%s", h->why);
		return CVM_EXIT_FAILED;
	}
	if (resp->status != CVM__STATUS__OK ||
	    resp->result_case != CVM__RESPONSE__RESULT_DAEMON) {
		if (resp->status != CVM__STATUS__OK)
			status_why(h, "status", resp);
		else
			set_why(h, "cvmd's answer to status carries no "
				   "daemon status");
		drop(&resp);
		say(h, "refused", "%s", h->why);
		return CVM_EXIT_FAILED;
	}
	r = cvm_hook_admit_pool(resp->daemon->backend,
				resp->daemon->pool_total_pages,
				resp->daemon->pool_free_pages, err,
				sizeof(err));
	drop(&resp);
	if (r) {
		say(h, "refused", "%s", err);
		return CVM_EXIT_FAILED;
	}

	/* A VM of that name: secure or someone else's refuses; else stale. */
	r = show(h, &resp);
	if (r < 0) {
		say(h, "refused", "%s", h->why);
		return CVM_EXIT_FAILED;
	}
	if (r == FOUND) {
		vm = resp->vm;
		if (vm->state == CVM__VM_STATE__SECURE) {
			say(h, "refused", "a VM named '%s' is already secure "
			    "in cvmd", h->domain_shown);
			drop(&resp);
			return CVM_EXIT_FAILED;
		}
		if (!ours(vm)) {
			say(h, "refused", "a VM named '%s' already exists in "
			    "cvmd (%s) and was not created by libvirt; "
			    "remove it with 'cvmctl destroy %s' or rename "
			    "the domain", h->domain_shown,
			    state_name(vm->state), h->domain_shown);
			drop(&resp);
			return CVM_EXIT_FAILED;
		}
		/* Left by a start that never reached release: replace it. */
		drop(&resp);
		if (destroy(h, false)) {
			say(h, "refused", "cannot remove the stale VM '%s' "
			    "left in cvmd: %s", h->domain_shown, h->why);
			return CVM_EXIT_FAILED;
		}
	}
	if (create(h)) {
		say(h, "refused", "%s", h->why);
		return CVM_EXIT_FAILED;
	}
	return CVM_EXIT_OK;
}

/*
 * The VM for start/started: 0 with *ret, or 1 after saying why it can't
 * go on (missing, someone else's, failed).
 */
static int vm_for_start(struct hook *h, Cvm__Response **ret)
{
	const Cvm__VmInfo *vm;
	int r;

	if (check_name(h, "failed") || need_config(h, "failed"))
		return 1;
	r = show(h, ret);
	if (r == MISSING) {
		say(h, "failed", "cvmd has no VM '%s' (its prepare hook did "
		    "not run: was the hook installed after libvirtd "
		    "started?)", h->domain_shown);
		return 1;
	}
	if (r) {
		say(h, "failed", "%s", h->why);
		return 1;
	}
	vm = (*ret)->vm;
	if (!ours(vm)) {
		say(h, "failed", "the VM '%s' in cvmd was not created by "
		    "libvirt", h->domain_shown);
	} else if (vm->state == CVM__VM_STATE__FAILED) {
		say(h, "failed", "the VM '%s' failed in cvmd%s%s",
		    h->domain_shown, vm->failure && *vm->failure ? ": " : "",
		    vm->failure ? vm->failure : "");
	} else {
		return 0;
	}
	drop(ret);
	return 1;
}

/* start begin: INIT_START (already transient: nothing to do). */
static int op_start(struct hook *h)
{
	Cvm__Response *resp = NULL;
	Cvm__VmState state;

	if (vm_for_start(h, &resp))
		return CVM_EXIT_FAILED;
	state = resp->vm->state;
	drop(&resp);
	switch (state) {
	case CVM__VM_STATE__NORMAL:
		if (lifecycle(h, CVM__LIFECYCLE_OP__INIT_START, false)) {
			say(h, "failed", "%s", h->why);
			return CVM_EXIT_FAILED;
		}
		return CVM_EXIT_OK;
	case CVM__VM_STATE__TRANSIENT:
		return CVM_EXIT_OK;
	default:
		say(h, "failed", "the VM '%s' is already %s in cvmd: a start "
		    "needs a normal VM", h->domain_shown, state_name(state));
		return CVM_EXIT_FAILED;
	}
}

/* started begin: INIT_DONE (INIT_START first if still normal). */
static int op_started(struct hook *h)
{
	Cvm__Response *resp = NULL;
	Cvm__VmState state;

	if (vm_for_start(h, &resp))
		return CVM_EXIT_FAILED;
	state = resp->vm->state;
	drop(&resp);
	if (state == CVM__VM_STATE__SECURE)
		return CVM_EXIT_OK;
	if (make_secure(h, state)) {
		say(h, "failed", "%s", h->why);
		return CVM_EXIT_FAILED;
	}
	return CVM_EXIT_OK;
}

/*
 * stopped end, release end (after any run, also a failed start, maybe
 * twice): terminate and destroy the domain's VM if cvmd has it and it is
 * libvirt's. Always 0; what could not be done is a warning.
 */
static int op_cleanup(struct hook *h)
{
	Cvm__Response *resp = NULL;
	Cvm__VmState state;
	int r;

	/* No VM can have that name: nothing to clean up. */
	if (cvm_hook_check_name(h->domain))
		return CVM_EXIT_OK;
	r = show(h, &resp);
	if (r == MISSING)
		return CVM_EXIT_OK;
	if (r) {
		say(h, "warning", "%s; the VM is left to cvmd", h->why);
		return CVM_EXIT_OK;
	}
	if (!ours(resp->vm)) {
		drop(&resp);
		return CVM_EXIT_OK;
	}
	state = resp->vm->state;
	drop(&resp);
	/* Secure contents are discarded (scrubbed) before the VMM goes. */
	if ((state == CVM__VM_STATE__SECURE ||
	     state == CVM__VM_STATE__TRANSIENT) &&
	    lifecycle(h, CVM__LIFECYCLE_OP__TERMINATE, true))
		say(h, "warning", "%s; destroying it anyway", h->why);
	if (destroy(h, true))
		say(h, "warning", "%s; the VM is left to cvmd", h->why);
	return CVM_EXIT_OK;
}

/*
 * reconnect begin (libvirtd restarted; the domain runs): make cvmd's
 * record match a running secure domain. Always 0: a failing reconnect
 * makes libvirt kill the domain.
 */
static int op_reconnect(struct hook *h)
{
	Cvm__Response *resp = NULL;
	Cvm__VmState state;
	bool recreate = false;
	int r;

	if (check_name(h, "warning") || need_config(h, "warning"))
		return CVM_EXIT_OK;
	r = show(h, &resp);
	if (r < 0) {
		say(h, "warning", "cannot check the VM in cvmd: %s", h->why);
		return CVM_EXIT_OK;
	}
	if (r == MISSING) {
		recreate = true;
		state = CVM__VM_STATE__NORMAL;
	} else if (!ours(resp->vm)) {
		say(h, "warning", "the VM '%s' in cvmd was not created by "
		    "libvirt: left alone", h->domain_shown);
		drop(&resp);
		return CVM_EXIT_OK;
	} else {
		state = resp->vm->state;
		if (state == CVM__VM_STATE__SECURE &&
		    resp->vm->memory_bytes != h->cfg.memory_bytes)
			say(h, "warning", "the secure VM '%s' in cvmd has "
			    "%" PRIu64 " bytes of memory, the domain %" PRIu64,
			    h->domain_shown, resp->vm->memory_bytes,
			    h->cfg.memory_bytes);
		recreate = state == CVM__VM_STATE__FAILED;
	}
	drop(&resp);
	if (state == CVM__VM_STATE__SECURE)
		return CVM_EXIT_OK;

	if (recreate) {
		if (r == FOUND && destroy(h, false)) {
			say(h, "warning", "cannot replace the failed VM: %s",
			    h->why);
			return CVM_EXIT_OK;
		}
		if (create(h)) {
			say(h, "warning", "cvmd had no usable VM for this "
			    "running domain and cannot create one: %s",
			    h->why);
			return CVM_EXIT_OK;
		}
		state = CVM__VM_STATE__NORMAL;
	}
	if (make_secure(h, state)) {
		say(h, "warning", "cannot make the VM secure again: %s",
		    h->why);
		return CVM_EXIT_OK;
	}
	say(h, "warning", "repaired cvmd's record: the VM %s and is secure "
	    "again (new measurement)", recreate ? "was created" : "was not "
	    "secure");
	return CVM_EXIT_OK;
}

/* --- input and dispatch --------------------------------------------------- */

/* The domain XML could not be read or parsed (why in err). */
static int unreadable(struct hook *h, const char *err)
{
	switch (h->action) {
	case CVM_HOOK_PREPARE:
		say(h, "refused", "%s", err);
		return CVM_EXIT_FAILED;
	case CVM_HOOK_START:
	case CVM_HOOK_STARTED:
		say(h, "failed", "%s", err);
		return CVM_EXIT_FAILED;
	case CVM_HOOK_FILTER:
		/* It might be secure: don't let it through unseen. */
		say(h, "refused", "%s (can't tell whether it is a secure VM)",
		    err);
		return CVM_EXIT_FAILED;
	case CVM_HOOK_CLEANUP:
		/* Opted in or not: clean up a VM of libvirt's by that name. */
		return op_cleanup(h);
	case CVM_HOOK_RECONNECT:
		say(h, "warning", "%s", err);
		return CVM_EXIT_OK;
	case CVM_HOOK_IGNORE:
		break;
	}
	return CVM_EXIT_OK;
}

int cvmctl_hook_run(const struct cvm_call *c, int timeout_ms)
{
	struct hook h = { .conn = CVM_CONN_INIT };
	char err[512], *buf = NULL;
	size_t len = 0;
	int r;

	h.action = cvm_hook_action_of(hook_args.op, hook_args.subop);
	/* Only qemu domains, only the calls it acts on. */
	if (!hook_args.driver || strcmp(hook_args.driver, "qemu") ||
	    h.action == CVM_HOOK_IGNORE)
		return CVM_EXIT_OK;

	h.domain = hook_args.domain;
	h.op = hook_args.op;
	one_line(h.domain, h.domain_shown, sizeof(h.domain_shown));
	one_line(h.op, h.op_shown, sizeof(h.op_shown));
	h.uri = &c->uri;
	h.uri_str = c->uri_str;
	h.timeout_ms = timeout_ms;
	h.deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;

	/* One byte past the cap tells "too large"; libvirt ignores EPIPE. */
	r = cvm_read_all(STDIN_FILENO, CVM_HOOK_XML_MAX + 1, &buf, &len);
	if (r) {
		snprintf(err, sizeof(err), "cannot read the domain XML from "
			 "stdin: %s", strerror(-r));
		r = unreadable(&h, err);
		goto out;
	}
	if (cvm_hook_doc_parse(buf, len, &h.doc, err, sizeof(err))) {
		r = unreadable(&h, err);
		goto out;
	}
	free(buf);
	buf = NULL;
	/* Not ours: done, without a word to cvmd. */
	if (!cvm_hook_doc_opted_in(h.doc)) {
		r = CVM_EXIT_OK;
		goto out;
	}

	switch (h.action) {
	case CVM_HOOK_PREPARE:
		r = op_prepare(&h);
		break;
	case CVM_HOOK_START:
		r = op_start(&h);
		break;
	case CVM_HOOK_STARTED:
		r = op_started(&h);
		break;
	case CVM_HOOK_CLEANUP:
		r = op_cleanup(&h);
		break;
	case CVM_HOOK_FILTER:
		/* Print nothing: libvirt keeps its XML; the exit refuses. */
		if (!strcmp(h.op, "restore"))
			say(&h, "refused", "secure VMs can't be restored from "
			    "a saved image (their memory was never saved)");
		else
			say(&h, "refused", "secure VMs can't be migrated "
			    "yet");
		r = CVM_EXIT_FAILED;
		break;
	case CVM_HOOK_RECONNECT:
		r = op_reconnect(&h);
		break;
	case CVM_HOOK_IGNORE:
		r = CVM_EXIT_OK;
		break;
	}
out:
	free(buf);
	cvm_hook_doc_free(h.doc);
	cvm_conn_close(&h.conn);
	return r;
}
