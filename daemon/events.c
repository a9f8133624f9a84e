// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * events.c - state changes and errors, out to watchers (the protocol's
 * watch stream) and to the journal with structured fields (VM, FROM, TO,
 * OPERATION, CALLER_UID).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#include <time.h>

#include "bus.h"
#include "cvmd.h"

struct cvmd_watch {
	struct list_head node;
	struct cvmd_client *client;	/* NULL: dropped during a fan-out */
	uint64_t id;
	char vm[65];		/* empty: every VM */
};

/* Under systemd, log to the journal with fields; otherwise to stderr. */
static bool use_journal(void)
{
	static int journal = -1;

	if (journal < 0)
		journal = getenv("JOURNAL_STREAM") != NULL;
	return journal;
}

void cvmd_notify_status(struct cvmd *d)
{
	/*
	 * Not before READY (restoring 1,000 VMs would send 1,000 lines that
	 * READY's own STATUS= replaces), nor while stopping: VMs leave
	 * memory then, not the host.
	 */
	if (d->ready && !d->stopping)
		sd_notifyf(0, "STATUS=Serving %u VMs on the %s backend",
			   d->nr_vms, d->backend);
}

void cvmd_log(int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (use_journal()) {
		sd_journal_printv(priority, fmt, ap);
	} else {
		fputs("cvmd: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000;
}

static Cvm__VmState proto_state(int state)
{
	return state >= 0 && state <= CVM__VM_STATE__FAILED ? state :
	       CVM__VM_STATE__FAILED;
}

/* Free the watches dropped while a fan-out walked the list. */
static void watch_sweep(struct cvmd *d)
{
	struct cvmd_watch *w, *n;

	list_for_each_entry_safe(w, n, &d->watches, node) {
		if (w->client)
			continue;
		list_del(&w->node);
		free(w);
		d->nr_watches--;
	}
}

void cvmd_event(struct cvmd *d, const char *vm, const char *kind, int from,
		int to, const char *operation, uid_t caller,
		const char *message)
{
	struct cvmd_watch *w;
	Cvm__Response resp;
	Cvm__Event ev;

	if (use_journal())
		sd_journal_send("MESSAGE=vm %s: %s %s -> %s (%s)%s%s", vm, kind,
				cvmd_state_name(from), cvmd_state_name(to),
				operation, message ? ": " : "",
				message ? message : "",
				"PRIORITY=%d", !strcmp(kind, "failed") ||
					!strcmp(kind, "error") ? LOG_ERR : LOG_INFO,
				"CVM_VM=%s", vm, "CVM_EVENT=%s", kind,
				"CVM_FROM=%s", cvmd_state_name(from),
				"CVM_TO=%s", cvmd_state_name(to),
				"CVM_OPERATION=%s", operation,
				"CVM_CALLER_UID=%d", (int)caller, NULL);
	else
		fprintf(stderr, "cvmd: vm=%s event=%s from=%s to=%s op=%s "
			"caller=%d%s%s\n", vm, kind, cvmd_state_name(from),
			cvmd_state_name(to), operation, (int)caller,
			message ? " message=" : "", message ? message : "");

	cvmd_bus_vm_event(d, vm, kind, from, to, operation);

	cvm__event__init(&ev);
	ev.vm = (char *)vm;
	ev.kind = (char *)kind;
	ev.from = proto_state(from);
	ev.to = proto_state(to);
	ev.operation = (char *)operation;
	ev.message = (char *)(message ? message : "");
	ev.time_usec = now_usec();
	cvm__response__init(&resp);
	resp.result_case = CVM__RESPONSE__RESULT_EVENT;
	resp.event = &ev;
	/*
	 * A send can close its client (it stopped reading), which drops
	 * the client's watches: while we walk, they are only marked, and
	 * freed once no walk is under way.
	 */
	d->watch_walkers++;
	list_for_each_entry(w, &d->watches, node) {
		if (!w->client || (w->vm[0] && strcmp(w->vm, vm)))
			continue;
		resp.id = w->id;
		cvmd_client_send(w->client, &resp);
	}
	if (!--d->watch_walkers)
		watch_sweep(d);
}

int cvmd_watch_add(struct cvmd_client *c, uint64_t id, const char *vm)
{
	struct cvmd_watch *w;

	if (c->nr_watches >= c->d->cfg.max_watches ||
	    c->d->nr_watches >= c->d->cfg.max_watches_total) {
		c->d->refused.watches++;
		return -EUSERS;
	}
	if (strlen(vm) >= sizeof(w->vm))
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->client = c;
	w->id = id;
	strcpy(w->vm, vm);
	list_add_tail(&w->node, &c->d->watches);
	c->nr_watches++;
	c->d->nr_watches++;
	return 0;
}

void cvmd_watch_drop_client(struct cvmd *d, struct cvmd_client *c)
{
	struct cvmd_watch *w, *n;

	list_for_each_entry_safe(w, n, &d->watches, node) {
		if (w->client != c)
			continue;
		if (d->watch_walkers) {
			w->client = NULL;
			continue;
		}
		list_del(&w->node);
		free(w);
		d->nr_watches--;
	}
	c->nr_watches = 0;
}
