// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * output.c - cvmctl's human and JSON output (see output.h, README.md).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "output.h"
#include "parse.h"

const char *cvm_vm_state_name(Cvm__VmState state)
{
	switch (state) {
	case CVM__VM_STATE__NORMAL:
		return "normal";
	case CVM__VM_STATE__TRANSIENT:
		return "transient";
	case CVM__VM_STATE__SECURE:
		return "secure";
	case CVM__VM_STATE__FAILED:
		return "failed";
	case _CVM__VM_STATE_IS_INT_SIZE:
		break;
	}
	return "unknown";
}

const char *cvm_pin_mode_name(Cvm__PinMode pin)
{
	switch (pin) {
	case CVM__PIN_MODE__DEMAND:
		return "demand";
	case CVM__PIN_MODE__UPFRONT:
		return "upfront";
	case _CVM__PIN_MODE_IS_INT_SIZE:
		break;
	}
	return "unknown";
}

const char *cvm_gfn_state_name(uint32_t state)
{
	static const char *const names[] = { "normal", "shared", "secure" };

	return state < 3 ? names[state] : "unknown";
}

char *cvm_base64_encode(const void *data, size_t len)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const uint8_t *in = data;
	char *out, *p;
	uint32_t v;
	size_t i;

	if (len > (SIZE_MAX - 1) / 4 * 3 - 2)
		return NULL;
	out = malloc((len + 2) / 3 * 4 + 1);
	if (!out)
		return NULL;
	p = out;
	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		*p++ = alphabet[v >> 18 & 63];
		*p++ = alphabet[v >> 12 & 63];
		*p++ = alphabet[v >> 6 & 63];
		*p++ = alphabet[v & 63];
	}
	if (i < len) {
		v = (uint32_t)in[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		*p++ = alphabet[v >> 18 & 63];
		*p++ = alphabet[v >> 12 & 63];
		*p++ = i + 1 < len ? alphabet[v >> 6 & 63] : '=';
		*p++ = '=';
	}
	*p = '\0';
	return out;
}

char *cvm_hex_encode(const void *data, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *in = data;
	char *out;
	size_t i;

	if (len > (SIZE_MAX - 1) / 2)
		return NULL;
	out = malloc(2 * len + 1);
	if (!out)
		return NULL;
	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
	return out;
}

void cvm_format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "TiB", "GiB", "MiB", "KiB" };
	unsigned int i, shift;

	for (i = 0; i < 4; i++) {
		shift = 40 - 10 * i;
		if (bytes && !(bytes & ((1ULL << shift) - 1))) {
			snprintf(buf, len, "%" PRIu64 " %s", bytes >> shift,
				 units[i]);
			return;
		}
	}
	snprintf(buf, len, "%" PRIu64 " B", bytes);
}

/* JSON helpers: json-c stores a NULL value as null, so OOM in a member
 * shows up as a null member; only the top object is checked. */
static void add(struct json_object *o, const char *key, struct json_object *v)
{
	json_object_object_add(o, key, v);
}

static void add_u64(struct json_object *o, const char *key, uint64_t v)
{
	add(o, key, json_object_new_uint64(v));
}

static void add_str(struct json_object *o, const char *key, const char *s)
{
	add(o, key, json_object_new_string(s ? s : ""));
}

/* A string, or null when empty. */
static void add_str_or_null(struct json_object *o, const char *key,
			    const char *s)
{
	add(o, key, s && *s ? json_object_new_string(s) : NULL);
}

struct json_object *cvm_json_vm(const Cvm__VmInfo *vm)
{
	static const Cvm__PageCounts no_pages = CVM__PAGE_COUNTS__INIT;
	const Cvm__PageCounts *pc = vm->pages ? vm->pages : &no_pages;
	struct json_object *o, *pages;
	char *hex = NULL;

	o = json_object_new_object();
	if (!o)
		return NULL;
	add_str(o, "name", vm->name);
	add_str(o, "uuid", vm->uuid);
	add_str(o, "state", cvm_vm_state_name(vm->state));
	add_u64(o, "memory_bytes", vm->memory_bytes);
	pages = json_object_new_object();
	if (pages) {
		add_u64(pages, "normal", pc->normal);
		add_u64(pages, "shared", pc->shared);
		add_u64(pages, "secure", pc->secure);
		add_u64(pages, "secure_paged_out", pc->secure_paged_out);
	}
	add(o, "pages", pages);
	add_u64(o, "pinned_pages", vm->pinned_pages);
	add_u64(o, "memlock_limit_bytes", vm->memlock_limit_bytes);
	add_u64(o, "dma_shared_pages", vm->dma_shared_pages);
	add_str(o, "pin", cvm_pin_mode_name(vm->pin));
	add_u64(o, "pool_pages", vm->pool_pages);
	add_u64(o, "evictions", vm->evictions);
	if (vm->measurement.len)
		hex = cvm_hex_encode(vm->measurement.data, vm->measurement.len);
	add_str_or_null(o, "measurement", hex);
	free(hex);
	add_u64(o, "measured_pages", vm->measured_pages);
	add(o, "vmm_pid", vm->vmm_pid ? json_object_new_int(vm->vmm_pid) : NULL);
	add_str_or_null(o, "failure", vm->failure);
	add_str_or_null(o, "owner", vm->owner);
	return o;
}

struct json_object *cvm_json_list(const Cvm__VmList *list)
{
	struct json_object *a;
	size_t i;

	a = json_object_new_array();
	if (!a)
		return NULL;
	for (i = 0; list && i < list->n_vms; i++)
		json_object_array_add(a, cvm_json_vm(list->vms[i]));
	return a;
}

struct json_object *cvm_json_status(const Cvm__DaemonStatus *st)
{
	struct json_object *o;

	o = json_object_new_object();
	if (!o)
		return NULL;
	add_str(o, "version", st->version);
	add_u64(o, "api_version", st->api_version);
	add_str(o, "backend", st->backend);
	add_u64(o, "vms", st->vms);
	add_u64(o, "pool_total_pages", st->pool_total_pages);
	add_u64(o, "pool_free_pages", st->pool_free_pages);
	add_u64(o, "pool_pages_per_vm", st->pool_pages_per_vm);
	add_u64(o, "pool_vms", st->pool_vms);
	add_u64(o, "connections", st->connections);
	add_u64(o, "refused_connections", st->refused_connections);
	add_u64(o, "refused_requests", st->refused_requests);
	add_u64(o, "refused_watches", st->refused_watches);
	add_u64(o, "input_stalls", st->input_stalls);
	add_u64(o, "dropped_slow_readers", st->dropped_slow_readers);
	add_u64(o, "refused_bus_calls", st->refused_bus_calls);
	add_u64(o, "tls_connections", st->tls_connections);
	add_u64(o, "tls_handshakes", st->tls_handshakes);
	add_u64(o, "tls_refused_no_cert", st->tls_refused_no_cert);
	add_u64(o, "tls_refused_unknown_ca", st->tls_refused_unknown_ca);
	add_u64(o, "tls_refused_expired", st->tls_refused_expired);
	add_u64(o, "tls_refused_revoked", st->tls_refused_revoked);
	add_u64(o, "tls_refused_denied", st->tls_refused_denied);
	add_u64(o, "tls_refused_other", st->tls_refused_other);
	return o;
}

/* A run's length; a peer without runs sends one entry per GFN (0). */
uint64_t cvm_gfn_run_pages(const Cvm__GfnInfo *g)
{
	return g->nr_pages ? g->nr_pages : 1;
}

/* The GFNs a snapshot's runs cover. */
uint64_t cvm_snapshot_pages(const Cvm__Snapshot *snap)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; snap && i < snap->n_gfns; i++)
		n += cvm_gfn_run_pages(snap->gfns[i]);
	return n;
}

struct json_object *cvm_json_snapshot(const Cvm__Snapshot *snap)
{
	struct json_object *a, *o;
	const Cvm__GfnInfo *g;
	size_t i;

	a = json_object_new_array();
	if (!a)
		return NULL;
	for (i = 0; snap && i < snap->n_gfns; i++) {
		g = snap->gfns[i];
		o = json_object_new_object();
		if (o) {
			add_u64(o, "gfn", g->gfn);
			add_u64(o, "nr_pages", cvm_gfn_run_pages(g));
			add_str(o, "state", cvm_gfn_state_name(g->state));
			add(o, "paged_out", json_object_new_boolean(g->paged_out));
			add(o, "resident", json_object_new_boolean(g->resident));
			add(o, "pinned", json_object_new_boolean(g->pinned));
			add_u64(o, "dma_refs", g->dma_refs);
		}
		json_object_array_add(a, o);
	}
	return a;
}

struct json_object *cvm_json_event(const Cvm__Event *ev)
{
	struct json_object *o;

	o = json_object_new_object();
	if (!o)
		return NULL;
	add_str(o, "vm", ev->vm);
	add_str(o, "kind", ev->kind);
	add_str(o, "from", cvm_vm_state_name(ev->from));
	add_str(o, "to", cvm_vm_state_name(ev->to));
	add_str(o, "operation", ev->operation);
	add_str(o, "message", ev->message);
	add_u64(o, "time_usec", ev->time_usec);
	return o;
}

struct json_object *cvm_json_data(uint64_t gpa, const void *data, size_t len)
{
	struct json_object *o;
	char *b64;

	b64 = cvm_base64_encode(data, len);
	if (!b64)
		return NULL;
	o = json_object_new_object();
	if (o) {
		add_u64(o, "gpa", gpa);
		add_u64(o, "length", len);
		add_str(o, "data", b64);
	}
	free(b64);
	return o;
}

struct json_object *cvm_json_error(const char *status, const char *message,
				   int err)
{
	struct json_object *o, *e;

	e = json_object_new_object();
	if (!e)
		return NULL;
	add_str(e, "status", status);
	add_str(e, "message", message);
	add(e, "errno", json_object_new_int(err < 0 ? -err : err));
	o = json_object_new_object();
	if (!o) {
		json_object_put(e);
		return NULL;
	}
	add(o, "error", e);
	return o;
}

int cvm_json_print(FILE *f, struct json_object *o, bool compact)
{
	int flags = JSON_C_TO_STRING_NOSLASHESCAPE;

	if (!o)
		return -ENOMEM;
	flags |= compact ? JSON_C_TO_STRING_PLAIN
			 : JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED;
	fprintf(f, "%s\n", json_object_to_json_string_ext(o, flags));
	json_object_put(o);
	return 0;
}

#define KEY "%-18s"

void cvm_print_vm(FILE *f, const Cvm__VmInfo *vm)
{
	static const Cvm__PageCounts no_pages = CVM__PAGE_COUNTS__INIT;
	const Cvm__PageCounts *pc = vm->pages ? vm->pages : &no_pages;
	char size[32];
	char *hex;

	fprintf(f, KEY "%s\n", "name:", vm->name);
	fprintf(f, KEY "%s\n", "uuid:", *vm->uuid ? vm->uuid : "-");
	fprintf(f, KEY "%s\n", "state:", cvm_vm_state_name(vm->state));
	cvm_format_size(vm->memory_bytes, size, sizeof(size));
	fprintf(f, KEY "%s (%" PRIu64 " pages)\n", "memory:", size,
		vm->memory_bytes / CVM_PAGE_SIZE);
	fprintf(f, KEY "%s\n", "pin:", cvm_pin_mode_name(vm->pin));
	fprintf(f, KEY "%" PRIu64 "\n", "normal pages:", pc->normal);
	fprintf(f, KEY "%" PRIu64 "\n", "shared pages:", pc->shared);
	fprintf(f, KEY "%" PRIu64 " (%" PRIu64 " paged out)\n",
		"secure pages:", pc->secure, pc->secure_paged_out);
	cvm_format_size(vm->pinned_pages * CVM_PAGE_SIZE, size, sizeof(size));
	fprintf(f, KEY "%" PRIu64 " pages (%s)\n", "pinned:",
		vm->pinned_pages, size);
	if (vm->memlock_limit_bytes)
		cvm_format_size(vm->memlock_limit_bytes, size, sizeof(size));
	else
		strcpy(size, "-");
	fprintf(f, KEY "%s\n", "memlock limit:", size);
	fprintf(f, KEY "%" PRIu64 "\n", "DMA-shared pages:",
		vm->dma_shared_pages);
	fprintf(f, KEY "%" PRIu64 "\n", "pool pages:", vm->pool_pages);
	fprintf(f, KEY "%" PRIu64 "\n", "evictions:", vm->evictions);
	hex = vm->measurement.len ? cvm_hex_encode(vm->measurement.data,
						   vm->measurement.len)
				  : NULL;
	fprintf(f, KEY "%s\n", "measurement:", hex ? hex : "-");
	free(hex);
	fprintf(f, KEY "%" PRIu64 "\n", "measured pages:", vm->measured_pages);
	if (vm->vmm_pid)
		fprintf(f, KEY "%d\n", "VMM pid:", vm->vmm_pid);
	else
		fprintf(f, KEY "-\n", "VMM pid:");
	if (*vm->owner)
		fprintf(f, KEY "%s\n", "owner:", vm->owner);
	if (vm->state == CVM__VM_STATE__FAILED || *vm->failure)
		fprintf(f, KEY "%s\n", "failure:",
			*vm->failure ? vm->failure : "-");
}

static int max_int(int a, int b)
{
	return a > b ? a : b;
}

void cvm_print_list_hosts(FILE *f, const char *const *hosts,
			  const Cvm__VmList *const *lists, size_t n)
{
	int w_host = 4, w_name = 4, w_state = 5, w_mem = 6, w_pin = 6;
	char mem[32], pin[32];
	size_t h, i;

	for (h = 0; h < n; h++) {
		if (hosts)
			w_host = max_int(w_host, strlen(hosts[h]));
		for (i = 0; lists[h] && i < lists[h]->n_vms; i++) {
			const Cvm__VmInfo *vm = lists[h]->vms[i];

			w_name = max_int(w_name, strlen(vm->name));
			w_state = max_int(w_state,
					  strlen(cvm_vm_state_name(vm->state)));
			cvm_format_size(vm->memory_bytes, mem, sizeof(mem));
			w_mem = max_int(w_mem, strlen(mem));
			cvm_format_size(vm->pinned_pages * CVM_PAGE_SIZE, pin,
					sizeof(pin));
			w_pin = max_int(w_pin, strlen(pin));
		}
	}
	if (hosts)
		fprintf(f, "%-*s  ", w_host, "HOST");
	fprintf(f, "%-*s  %-*s  %-*s  %-*s  %s\n", w_name, "NAME", w_state,
		"STATE", w_mem, "MEMORY", w_pin, "PINNED", "UUID");
	for (h = 0; h < n; h++) {
		for (i = 0; lists[h] && i < lists[h]->n_vms; i++) {
			const Cvm__VmInfo *vm = lists[h]->vms[i];

			cvm_format_size(vm->memory_bytes, mem, sizeof(mem));
			cvm_format_size(vm->pinned_pages * CVM_PAGE_SIZE, pin,
					sizeof(pin));
			if (hosts)
				fprintf(f, "%-*s  ", w_host, hosts[h]);
			fprintf(f, "%-*s  %-*s  %-*s  %-*s  %s\n", w_name,
				vm->name, w_state, cvm_vm_state_name(vm->state),
				w_mem, mem, w_pin, pin,
				*vm->uuid ? vm->uuid : "-");
		}
	}
}

void cvm_print_list(FILE *f, const Cvm__VmList *list)
{
	cvm_print_list_hosts(f, NULL, &list, 1);
}

void cvm_format_pool(const Cvm__DaemonStatus *st, char *buf, size_t len)
{
	char size[32];

	if (!strcmp(st->backend, "sim") && st->pool_pages_per_vm) {
		cvm_format_size(st->pool_pages_per_vm * CVM_PAGE_SIZE, size,
				sizeof(size));
		snprintf(buf, len,
			 "per VM on the simulator: %u VM%s x %" PRIu64
			 " pages (%s) = %" PRIu64 " pages, %" PRIu64 " free",
			 st->pool_vms, st->pool_vms == 1 ? "" : "s",
			 st->pool_pages_per_vm, size, st->pool_total_pages,
			 st->pool_free_pages);
		return;
	}
	cvm_format_size(st->pool_total_pages * CVM_PAGE_SIZE, size,
			sizeof(size));
	snprintf(buf, len, "%" PRIu64 " of %" PRIu64 " pages free (%s)",
		 st->pool_free_pages, st->pool_total_pages, size);
}

void cvm_print_status(FILE *f, const Cvm__DaemonStatus *st)
{
	char pool[160];

	fprintf(f, KEY "%s\n", "version:", *st->version ? st->version : "-");
	fprintf(f, KEY "%u\n", "API version:", st->api_version);
	fprintf(f, KEY "%s\n", "backend:", *st->backend ? st->backend : "-");
	fprintf(f, KEY "%u\n", "VMs:", st->vms);
	cvm_format_pool(st, pool, sizeof(pool));
	fprintf(f, KEY "%s\n", "secure pool:", pool);
	/* The remote API, once it has seen anyone (docs/remote.md). */
	if (st->tls_connections || st->tls_handshakes ||
	    st->tls_refused_no_cert || st->tls_refused_unknown_ca ||
	    st->tls_refused_expired || st->tls_refused_revoked ||
	    st->tls_refused_denied || st->tls_refused_other)
		fprintf(f,
			KEY "%u open, %" PRIu64 " handshakes; refused: %" PRIu64
			    " no certificate, %" PRIu64 " other CA, %" PRIu64
			    " expired, %" PRIu64 " revoked, %" PRIu64
			    " DN not allowed, %" PRIu64 " other\n",
			"remote (TLS):", st->tls_connections,
			st->tls_handshakes, st->tls_refused_no_cert,
			st->tls_refused_unknown_ca, st->tls_refused_expired,
			st->tls_refused_revoked, st->tls_refused_denied,
			st->tls_refused_other);
}

void cvm_print_snapshot(FILE *f, const Cvm__Snapshot *snap)
{
	size_t i, n = snap ? snap->n_gfns : 0;
	char gfn[24], flags[40];

	fprintf(f, "%-18s  %-12s  %-7s  %-26s  %s\n", "GFN", "PAGES", "STATE",
		"FLAGS", "DMA_REFS");
	for (i = 0; i < n; i++) {
		const Cvm__GfnInfo *g = snap->gfns[i];

		snprintf(gfn, sizeof(gfn), "0x%" PRIx64, g->gfn);
		snprintf(flags, sizeof(flags), "%s%s%s",
			 g->resident ? "resident," : "",
			 g->paged_out ? "paged-out," : "",
			 g->pinned ? "pinned," : "");
		if (*flags)
			flags[strlen(flags) - 1] = '\0';
		else
			strcpy(flags, "-");
		fprintf(f, "%-18s  %-12" PRIu64 "  %-7s  %-26s  %u\n", gfn,
			cvm_gfn_run_pages(g), cvm_gfn_state_name(g->state),
			flags, g->dma_refs);
	}
}

void cvm_print_event(FILE *f, const Cvm__Event *ev)
{
	time_t sec = ev->time_usec / 1000000;
	char when[64], zone[8];
	struct tm tm;

	if (localtime_r(&sec, &tm)) {
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		strftime(zone, sizeof(zone), "%z", &tm);
	} else {
		strcpy(when, "-");
		zone[0] = '\0';
	}
	fprintf(f, "%s.%06u%s %s %s", when,
		(unsigned int)(ev->time_usec % 1000000), zone,
		*ev->vm ? ev->vm : "-", *ev->kind ? ev->kind : "-");
	if (!strcmp(ev->kind, "state"))
		fprintf(f, " %s -> %s", cvm_vm_state_name(ev->from),
			cvm_vm_state_name(ev->to));
	if (*ev->operation)
		fprintf(f, " (%s)", ev->operation);
	if (*ev->message)
		fprintf(f, ": %s", ev->message);
	fputc('\n', f);
}
