// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vm-record.c - each VM's registry record kept in step with the VM.
 *
 * The loop never waits on another process's lock of the registry (its
 * busy timeout is 0 once cvmd serves), and a write that fails never undoes
 * what a VMM already did: the VMM holds the VM, so its state is the truth.
 * A record that could not be written is marked dirty (a deletion is kept
 * as pending) and written again by a timer, backing off from 50 ms to 2 s,
 * until it is. Should cvmd die first, the reconnect corrects the record
 * from the VMM (vm.c, refreshed()). A create, whose record must exist
 * before its VMM runs, is refused instead (EBUSY): nothing has happened.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "cvmd.h"

#define RETRY_FIRST_MS 50
#define RETRY_MAX_MS 2000

struct pending_delete {
	struct list_head node;
	char name[65];
};

static void on_retry(uv_timer_t *t);

static void arm_retry(struct cvmd *d)
{
	if (d->stopping || uv_is_active((uv_handle_t *)&d->record_timer))
		return;
	if (!d->record_backoff_ms)
		d->record_backoff_ms = RETRY_FIRST_MS;
	uv_timer_start(&d->record_timer, on_retry, d->record_backoff_ms, 0);
}

/**
 * cvmd_vm_record_save() - write the VM's record, or have it written later
 * @vm: the VM
 *
 * Return: 0 when written; -errno when deferred (logged once per VM until
 * it is written).
 */
int cvmd_vm_record_save(struct cvmd_vm *vm)
{
	int ret = cvm_registry_update(vm->d->reg, &vm->rec);

	if (!ret) {
		vm->rec_dirty = false;
		return 0;
	}
	if (!vm->rec_dirty)
		cvmd_log(LOG_WARNING, "vm %s: record not written (%s): "
			 "retrying", vm->rec.name, strerror(-ret));
	vm->rec_dirty = true;
	vm->d->records_deferred++;
	arm_retry(vm->d);
	return ret;
}

/* A pending deletion of @name, if one waits. */
static struct pending_delete *pending_find(struct cvmd *d, const char *name)
{
	struct pending_delete *p;

	list_for_each_entry(p, &d->pending_deletes, node)
		if (!strcmp(p->name, name))
			return p;
	return NULL;
}

/**
 * cvmd_vm_record_forget() - delete a VM's record, now or later
 * @d: the daemon
 * @name: the VM's name
 *
 * Return: 0 when deleted (or there was none); -errno when deferred.
 */
int cvmd_vm_record_forget(struct cvmd *d, const char *name)
{
	struct pending_delete *p;
	int ret = cvm_registry_delete(d->reg, name);

	if (!ret || ret == -ENOENT)
		return 0;
	if (pending_find(d, name))
		return ret;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	snprintf(p->name, sizeof(p->name), "%s", name);
	list_add_tail(&p->node, &d->pending_deletes);
	cvmd_log(LOG_WARNING, "vm %s: record not deleted (%s): retrying",
		 name, strerror(-ret));
	d->records_deferred++;
	arm_retry(d);
	return ret;
}

/*
 * Before a new record of @name: a deletion of the old one still pending
 * must happen first. Return: 0, or -EBUSY while it cannot.
 */
int cvmd_vm_record_clear_name(struct cvmd *d, const char *name)
{
	struct pending_delete *p = pending_find(d, name);
	int ret;

	if (!p)
		return 0;
	ret = cvm_registry_delete(d->reg, name);
	if (ret && ret != -ENOENT)
		return -EBUSY;
	list_del(&p->node);
	free(p);
	return 0;
}

/* Write what is owed; true when nothing is left. */
static bool flush(struct cvmd *d)
{
	struct pending_delete *p, *n;
	struct cvmd_vm *vm;
	bool done = true;
	int ret;

	list_for_each_entry_safe(p, n, &d->pending_deletes, node) {
		ret = cvm_registry_delete(d->reg, p->name);
		if (ret && ret != -ENOENT) {
			done = false;
			continue;
		}
		list_del(&p->node);
		free(p);
	}
	list_for_each_entry(vm, &d->vms, node) {
		if (!vm->rec_dirty)
			continue;
		if (cvm_registry_update(d->reg, &vm->rec)) {
			done = false;
			continue;
		}
		vm->rec_dirty = false;
		cvmd_log(LOG_INFO, "vm %s: record written", vm->rec.name);
	}
	return done;
}

static void on_retry(uv_timer_t *t)
{
	struct cvmd *d = t->data;

	if (flush(d)) {
		d->record_backoff_ms = 0;
		return;
	}
	d->record_backoff_ms *= 2;
	if (d->record_backoff_ms > RETRY_MAX_MS)
		d->record_backoff_ms = RETRY_MAX_MS;
	arm_retry(d);
}

void cvmd_vm_records_init(struct cvmd *d)
{
	list_init(&d->pending_deletes);
	uv_timer_init(d->loop, &d->record_timer);
	d->record_timer.data = d;
}

/*
 * cvmd stops: one last try, allowed to wait (no client is served any
 * more); what still fails is corrected from the VMMs at the next start.
 */
void cvmd_vm_records_stop(struct cvmd *d)
{
	cvm_registry_set_busy_timeout(d->reg, 2000);
	if (!flush(d))
		cvmd_log(LOG_WARNING, "some records could not be written; "
			 "the next start corrects them from the VMMs");
	if (!uv_is_closing((uv_handle_t *)&d->record_timer))
		uv_close((uv_handle_t *)&d->record_timer, NULL);
}

/* After the loop: deletions that never happened are forgotten. */
void cvmd_vm_records_free(struct cvmd *d)
{
	struct pending_delete *p, *n;

	list_for_each_entry_safe(p, n, &d->pending_deletes, node) {
		list_del(&p->node);
		free(p);
	}
}
