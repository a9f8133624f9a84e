/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * registry.h - cvmd's persistent VM records: SQLite in WAL mode, one row
 * per VM, written (and synced) before a transition is acknowledged.
 */
#ifndef CVMD_REGISTRY_H
#define CVMD_REGISTRY_H

#include <stdint.h>

#define CVM_REGISTRY_SCHEMA 2

struct cvm_registry;

struct cvm_record {
	char name[65];
	char uuid[37];
	int state;			/* Cvm__VmState */
	uint64_t memory_bytes;
	uint64_t memlock_limit_bytes;
	int pin;			/* Cvm__PinMode */
	int vmm_pid;
	char vmm_socket[108];
	char failure[256];
	char owner[33];			/* "" or "libvirt" (schema 2) */
};

int cvm_registry_open(const char *path, struct cvm_registry **ret);
struct cvm_registry *cvm_registry_close(struct cvm_registry *reg);
/* How long a write waits for another process's lock (0: not at all). */
void cvm_registry_set_busy_timeout(struct cvm_registry *reg, int ms);
int cvm_registry_insert(struct cvm_registry *reg, const struct cvm_record *rec);
int cvm_registry_update(struct cvm_registry *reg, const struct cvm_record *rec);
int cvm_registry_delete(struct cvm_registry *reg, const char *name);
/* Calls fn for every record, in creation order; stops at fn's error. */
int cvm_registry_foreach(struct cvm_registry *reg,
			 int (*fn)(const struct cvm_record *rec, void *data),
			 void *data);

#endif /* CVMD_REGISTRY_H */
