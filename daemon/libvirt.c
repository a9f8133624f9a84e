// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libvirt.c - cvmd and libvirt, outside the hook (DESIGN §8): at start and
 * on every (re)connection to libvirtd, list the running domains and
 * reconcile: a VM that a libvirt domain owns (created by the hook) whose
 * domain no longer runs is destroyed (its VMM discards the secure state);
 * a running opted-in domain without a VM is reported. Domain lifecycle
 * events clean up a domain that stopped even when no hook ran (its QEMU
 * was killed).
 *
 * libvirt's own event loop runs on one thread of ours, which only talks
 * to libvirt and posts what it learns to the libuv loop (uv_async); cvmd's
 * objects are touched on the loop only. libvirtd being down is logged and
 * retried every few seconds, never fatal.
 */
#include <errno.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "cvmd.h"
#include "libvirt.h"
#include "virt-api.h"

#define RETRY_MS 5000

enum msg_kind {
	MSG_RUNNING,	/* the list of running domains, start of a reconcile */
	MSG_STOPPED,	/* one domain stopped */
	MSG_LOG,
};

#define MSG_TEXT 256

struct msg {
	struct msg *next;
	enum msg_kind kind;
	char *names;	/* MSG_RUNNING: NUL-separated "name\0opted\0" pairs */
	size_t len;
	char text[MSG_TEXT];	/* MSG_STOPPED: the name; MSG_LOG: the text */
	int priority;
};

struct cvmd_libvirt {
	struct cvmd *d;
	char *uri;
	pthread_t thread;
	pthread_mutex_t lock;
	struct msg *head, **tail;	/* posted, not yet taken by the loop */
	uv_async_t async;
	bool stop;		/* under lock */
	bool running;		/* under lock: libvirt loaded, wake_timer made */
	/* libvirt thread only */
	virConnectPtr conn;
	int event_id;
	int retry_timer;
	int wake_timer;
};

static void post(struct cvmd_libvirt *lv, struct msg *m)
{
	pthread_mutex_lock(&lv->lock);
	*lv->tail = m;
	lv->tail = &m->next;
	pthread_mutex_unlock(&lv->lock);
	uv_async_send(&lv->async);
}

static void post_text(struct cvmd_libvirt *lv, int priority, const char *text)
{
	struct msg *m = calloc(1, sizeof(*m));

	if (!m)
		return;
	m->kind = MSG_LOG;
	m->priority = priority;
	snprintf(m->text, sizeof(m->text), "%s", text);
	post(lv, m);
}

static void post_log(struct cvmd_libvirt *lv, int priority, const char *what)
{
	const char *err = virt.virGetLastErrorMessage();
	char text[MSG_TEXT];

	snprintf(text, sizeof(text), "libvirt %s: %s", what,
		 err ? err : "unknown error");
	post_text(lv, priority, text);
}

/* Does this domain XML opt in (docs/libvirt.md)? */
static bool opted_in(const char *xml)
{
	xmlXPathContextPtr ctx = NULL;
	xmlXPathObjectPtr res = NULL;
	xmlDocPtr doc;
	bool yes = false;

	doc = xmlReadMemory(xml, strlen(xml), "domain.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR |
				    XML_PARSE_NOWARNING);
	if (!doc)
		return false;
	ctx = xmlXPathNewContext(doc);
	if (ctx)
		res = xmlXPathEvalExpression(
			(const xmlChar *)"boolean(/domain/launchSecurity | "
			"/domain/metadata/*[namespace-uri() = '" CVM_LIBVIRT_NS "'])",
			ctx);
	if (res && res->type == XPATH_BOOLEAN)
		yes = res->boolval;
	xmlXPathFreeObject(res);
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	return yes;
}

/* libvirt thread: list running domains, post them for reconciliation. */
static void list_running(struct cvmd_libvirt *lv)
{
	virDomainPtr *doms = NULL;
	struct msg *m;
	size_t len = 0, cap = 4096;
	int n, i;

	n = virt.virConnectListAllDomains(lv->conn, &doms,
					  VIR_CONNECT_LIST_DOMAINS_ACTIVE);
	if (n < 0) {
		post_log(lv, LOG_WARNING, "cannot list domains");
		return;
	}
	m = calloc(1, sizeof(*m));
	if (m)
		m->names = malloc(cap);
	for (i = 0; i < n; i++) {
		const char *name = virt.virDomainGetName(doms[i]);
		char *xml = virt.virDomainGetXMLDesc(doms[i], 0);
		const char *opt = xml && opted_in(xml) ? "1" : "0";
		size_t need = strlen(name) + 3;

		if (m && m->names && len + need > cap) {
			char *p = realloc(m->names, cap = 2 * (len + need));

			if (!p) {
				free(m->names);
				m->names = NULL;
			} else {
				m->names = p;
			}
		}
		if (m && m->names) {
			memcpy(m->names + len, name, strlen(name) + 1);
			len += strlen(name) + 1;
			memcpy(m->names + len, opt, 2);
			len += 2;
		}
		free(xml);
		virt.virDomainFree(doms[i]);
	}
	free(doms);
	if (!m || !m->names) {
		free(m);
		return;
	}
	m->kind = MSG_RUNNING;
	m->len = len;
	post(lv, m);
}

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event,
			int detail, void *opaque)
{
	struct cvmd_libvirt *lv = opaque;
	struct msg *m;

	(void)conn;
	(void)detail;
	if (event != VIR_DOMAIN_EVENT_STOPPED)
		return 0;
	/*
	 * A late event must not destroy the VM of a domain started again
	 * meanwhile (its hook created a new one): only act while it is down.
	 */
	if (virt.virDomainIsActive(dom) == 1)
		return 0;
	m = calloc(1, sizeof(*m));
	if (!m)
		return 0;
	m->kind = MSG_STOPPED;
	snprintf(m->text, sizeof(m->text), "%s", virt.virDomainGetName(dom));
	post(lv, m);
	return 0;
}

static void try_connect(int timer, void *opaque);

static void on_close(virConnectPtr conn, int reason, void *opaque)
{
	struct cvmd_libvirt *lv = opaque;

	(void)reason;
	if (lv->conn != conn)
		return;
	post_log(lv, LOG_WARNING, "connection closed, retrying");
	/* Unreferenced on the next attempt, outside this callback. */
	lv->event_id = -1;
	virt.virEventUpdateTimeout(lv->retry_timer, RETRY_MS);
}

static bool stopping(struct cvmd_libvirt *lv)
{
	bool stop;

	pthread_mutex_lock(&lv->lock);
	stop = lv->stop;
	pthread_mutex_unlock(&lv->lock);
	return stop;
}

/* libvirt thread: (re)connect, subscribe, reconcile. */
static void try_connect(int timer, void *opaque)
{
	struct cvmd_libvirt *lv = opaque;
	char text[MSG_TEXT];

	(void)timer;
	if (stopping(lv))
		return;
	if (lv->conn && virt.virConnectIsAlive(lv->conn) == 1) {
		virt.virEventUpdateTimeout(lv->retry_timer, -1);
		return;
	}
	if (lv->conn) {
		virt.virConnectUnregisterCloseCallback(lv->conn, on_close);
		virt.virConnectClose(lv->conn);
		lv->conn = NULL;
	}
	lv->conn = virt.virConnectOpen(lv->uri);
	if (!lv->conn) {
		virt.virEventUpdateTimeout(lv->retry_timer, RETRY_MS);
		return;
	}
	virt.virConnectRegisterCloseCallback(lv->conn, on_close, lv, NULL);
	snprintf(text, sizeof(text), "libvirt: connected to %s", lv->uri);
	post_text(lv, LOG_INFO, text);
	lv->event_id = virt.virConnectDomainEventRegisterAny(
	    lv->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
	    VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), lv, NULL);
	if (lv->event_id < 0)
		post_log(lv, LOG_WARNING, "cannot subscribe to domain events");
	virt.virEventUpdateTimeout(lv->retry_timer, -1);
	list_running(lv);
}

static void on_wake(int timer, void *opaque)
{
	(void)timer;
	(void)opaque;
}

static void silence(void *data, virErrorPtr err)
{
	(void)data;
	(void)err;	/* reported through post_log, once, with context */
}

/* Load libvirt, then run its event loop until cvmd stops. */
static void *libvirt_thread(void *arg)
{
	struct cvmd_libvirt *lv = arg;
	char err[160], text[MSG_TEXT];

	if (virt_api_load(err, sizeof(err))) {
		snprintf(text, sizeof(text),
			 "libvirt: cannot load it (%s): reconciliation is off",
			 err);
		post_text(lv, LOG_WARNING, text);
		return NULL;
	}
	virt.virSetErrorFunc(NULL, silence);
	if (virt.virEventRegisterDefaultImpl() < 0) {
		post_log(lv, LOG_WARNING, "cannot start its event loop");
		return NULL;
	}
	lv->retry_timer = virt.virEventAddTimeout(0, try_connect, lv, NULL);
	lv->wake_timer = virt.virEventAddTimeout(-1, on_wake, lv, NULL);
	pthread_mutex_lock(&lv->lock);
	lv->running = true;
	pthread_mutex_unlock(&lv->lock);
	while (!stopping(lv))
		if (virt.virEventRunDefaultImpl() < 0)
			break;
	if (lv->conn) {
		if (lv->event_id >= 0)
			virt.virConnectDomainEventDeregisterAny(lv->conn,
								lv->event_id);
		virt.virConnectUnregisterCloseCallback(lv->conn, on_close);
		virt.virConnectClose(lv->conn);
	}
	return NULL;
}

/* --- on the libuv loop --- */

static void destroy_owned(struct cvmd *d, const char *name, const char *why)
{
	struct cvmd_vm *vm = cvmd_vm_find(d, name);

	if (!vm || vm->destroying || strcmp(vm->rec.owner, "libvirt"))
		return;
	cvmd_log(LOG_INFO, "vm %s: %s: destroying it", name, why);
	cvmd_vm_destroy(vm, NULL, 0);
}

static bool in_list(const struct msg *m, const char *name)
{
	size_t i = 0;

	while (i < m->len) {
		if (!strcmp(m->names + i, name))
			return true;
		i += strlen(m->names + i) + 1;
		i += strlen(m->names + i) + 1;
	}
	return false;
}

static void reconcile(struct cvmd *d, const struct msg *m)
{
	struct cvmd_vm *vm, *n;
	const char *name, *opt;
	size_t i = 0;

	list_for_each_entry_safe(vm, n, &d->vms, node)
		if (!strcmp(vm->rec.owner, "libvirt") &&
		    !in_list(m, vm->rec.name))
			destroy_owned(d, vm->rec.name,
				      "its libvirt domain is not running");
	while (i < m->len) {
		name = m->names + i;
		i += strlen(name) + 1;
		opt = m->names + i;
		i += strlen(opt) + 1;
		if (!strcmp(opt, "1") && !cvmd_vm_find(d, name))
			cvmd_log(LOG_WARNING, "libvirt domain %s opted in to "
				 "cvm and runs without a VM record", name);
	}
}

static void on_async(uv_async_t *h)
{
	struct cvmd_libvirt *lv = h->data;
	struct msg *m, *next;

	pthread_mutex_lock(&lv->lock);
	m = lv->head;
	lv->head = NULL;
	lv->tail = &lv->head;
	pthread_mutex_unlock(&lv->lock);
	for (; m; m = next) {
		next = m->next;
		switch (m->kind) {
		case MSG_RUNNING:
			reconcile(lv->d, m);
			break;
		case MSG_STOPPED:
			destroy_owned(lv->d, m->text, "its libvirt domain stopped");
			break;
		case MSG_LOG:
			cvmd_log(m->priority, "%s", m->text);
			break;
		}
		free(m->names);
		free(m);
	}
}

int cvmd_libvirt_start(struct cvmd *d, const char *uri)
{
	struct cvmd_libvirt *lv;
	int ret;

	if (!strcmp(uri, "none"))
		return 0;
	lv = calloc(1, sizeof(*lv));
	if (!lv)
		return -ENOMEM;
	lv->d = d;
	lv->tail = &lv->head;
	lv->event_id = -1;
	lv->uri = strdup(uri);
	pthread_mutex_init(&lv->lock, NULL);
	ret = uv_async_init(d->loop, &lv->async, on_async);
	if (ret) {
		free(lv->uri);
		free(lv);
		return ret;
	}
	lv->async.data = lv;
	ret = -pthread_create(&lv->thread, NULL, libvirt_thread, lv);
	if (ret) {
		uv_close((uv_handle_t *)&lv->async, NULL);
		free(lv->uri);
		free(lv);
		return ret;
	}
	d->libvirt = lv;
	return 0;
}

static void async_closed(uv_handle_t *h)
{
	struct cvmd_libvirt *lv = h->data;
	struct msg *m, *next;

	for (m = lv->head; m; m = next) {
		next = m->next;
		free(m->names);
		free(m);
	}
	pthread_mutex_destroy(&lv->lock);
	free(lv->uri);
	free(lv);
}

void cvmd_libvirt_stop(struct cvmd *d)
{
	struct cvmd_libvirt *lv = d->libvirt;
	bool running;

	if (!lv)
		return;
	pthread_mutex_lock(&lv->lock);
	lv->stop = true;
	running = lv->running;
	pthread_mutex_unlock(&lv->lock);
	/* Wake the libvirt loop so it sees stop (if it got that far). */
	if (running)
		virt.virEventUpdateTimeout(lv->wake_timer, 0);
	pthread_join(lv->thread, NULL);
	d->libvirt = NULL;
	uv_close((uv_handle_t *)&lv->async, async_closed);
}
