/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * output.h - what cvmctl prints: the human forms, the JSON forms (built
 * with json-c), base64 and hex. The formats are documented in README.md
 * and cvmctl.1; scripts depend on the JSON ones.
 */
#ifndef CVMCTL_OUTPUT_H
#define CVMCTL_OUTPUT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cvm.pb-c.h"

/* "normal", "transient", "secure", "failed" ("unknown" otherwise). */
const char *cvm_vm_state_name(Cvm__VmState state);
/* "demand", "upfront". */
const char *cvm_pin_mode_name(Cvm__PinMode pin);
/* GfnInfo.state: "normal", "shared", "secure". */
const char *cvm_gfn_state_name(uint32_t state);

/* Base64 (RFC 4648, padded) of len bytes; malloc'd, NULL on ENOMEM. */
char *cvm_base64_encode(const void *data, size_t len);
/* Lowercase hex of len bytes; malloc'd, NULL on ENOMEM. */
char *cvm_hex_encode(const void *data, size_t len);
/* "1 GiB", "512 MiB", "12 KiB" when exact, "12345 B" otherwise. */
void cvm_format_size(uint64_t bytes, char *buf, size_t len);

/*
 * JSON forms; each returns a new object (the caller puts it) or NULL on
 * ENOMEM.
 */
struct json_object *cvm_json_vm(const Cvm__VmInfo *vm);
struct json_object *cvm_json_list(const Cvm__VmList *list);
struct json_object *cvm_json_status(const Cvm__DaemonStatus *st);
uint64_t cvm_gfn_run_pages(const Cvm__GfnInfo *g);
uint64_t cvm_snapshot_pages(const Cvm__Snapshot *snap);
struct json_object *cvm_json_snapshot(const Cvm__Snapshot *snap);
struct json_object *cvm_json_event(const Cvm__Event *ev);
struct json_object *cvm_json_data(uint64_t gpa, const void *data, size_t len);
/* {"error": {"status": STATUS, "message": MESSAGE, "errno": ERR}} */
struct json_object *cvm_json_error(const char *status, const char *message,
				   int err);

/*
 * Print o (pretty, or on one line when compact) and a newline, then put
 * it. Return 0 or -errno (-ENOMEM when o is NULL).
 */
int cvm_json_print(FILE *f, struct json_object *o, bool compact);

/*
 * status's "secure pool:" value. kmod: "FREE of TOTAL pages free (SIZE)";
 * sim (cvmd reports pool_pages_per_vm): "per VM on the simulator: N VMs x
 * P pages (SIZE) = TOTAL pages, FREE free".
 */
void cvm_format_pool(const Cvm__DaemonStatus *st, char *buf, size_t len);

/* Human forms. */
void cvm_print_vm(FILE *f, const Cvm__VmInfo *vm);
void cvm_print_list(FILE *f, const Cvm__VmList *list);
/* The lists of several hosts in one table, a HOST column first. */
void cvm_print_list_hosts(FILE *f, const char *const *hosts,
			  const Cvm__VmList *const *lists, size_t n);
void cvm_print_status(FILE *f, const Cvm__DaemonStatus *st);
void cvm_print_snapshot(FILE *f, const Cvm__Snapshot *snap);
void cvm_print_event(FILE *f, const Cvm__Event *ev);

#endif /* CVMCTL_OUTPUT_H */
