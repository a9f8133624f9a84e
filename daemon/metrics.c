// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * metrics.c - GET /metrics for Prometheus (docs/metrics.md), served by
 * libmicrohttpd from its own thread.
 *
 * Two sides, one mutex. The loop side counts requests at the dispatch
 * (a table of requests in flight, keyed by client and id, gives each
 * answer its operation and latency) and renders the exposition from the
 * loop's own state: the registry's VMs with the counters the VMMs last
 * answered (cached in struct cvmd_vm, so a scrape costs no VMM a round
 * trip), the limits' refusals and the pool. The text is published under
 * m->lock; the HTTP thread only copies it.
 */
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"

#define NR_OPS 32 /* Cvm__Request__OpCase values fit below */
#define NR_STATUS 16 /* Cvm__Status values fit below */
#define NR_PENDING_BUCKETS 256
/* Requests in flight tracked at most; beyond, answers go uncounted. */
#define MAX_PENDING 65536
#define RENDER_MIN_MS 100 /* a change is published within this */
#define RENDER_EVERY_MS 1000 /* and everything at least this often */
/* Each idle VM's counters asked of its VMM this often (see refresh_vms). */
#define REFRESH_MS 5000

/* Transition latency buckets, in seconds (le). */
static const double buckets[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01,
				  0.025,  0.05,	 0.1,	 0.25,	0.5,
				  1,	  2.5,	 5,	 10 };
#define NR_BUCKETS (sizeof(buckets) / sizeof(buckets[0]))

static const char *const lifecycle_names[] = {
	[CVM__LIFECYCLE_OP__INIT_START] = "init-start",
	[CVM__LIFECYCLE_OP__INIT_DONE] = "init-done",
	[CVM__LIFECYCLE_OP__INIT_ABORT] = "init-abort",
	[CVM__LIFECYCLE_OP__TERMINATE] = "terminate",
};
#define NR_LIFECYCLE 4

/* The operation label: the request's member of the oneof. */
static const char *op_name(int op)
{
	switch ((Cvm__Request__OpCase)op) {
	case CVM__REQUEST__OP_STATUS:
		return "status";
	case CVM__REQUEST__OP_LIST:
		return "list";
	case CVM__REQUEST__OP_SHOW:
		return "show";
	case CVM__REQUEST__OP_CREATE:
		return "create";
	case CVM__REQUEST__OP_DESTROY:
		return "destroy";
	case CVM__REQUEST__OP_LIFECYCLE:
		return "lifecycle";
	case CVM__REQUEST__OP_PAGE:
		return "page";
	case CVM__REQUEST__OP_GUEST_WRITE:
		return "guest_write";
	case CVM__REQUEST__OP_READ:
		return "read";
	case CVM__REQUEST__OP_SNAPSHOT:
		return "snapshot";
	case CVM__REQUEST__OP_WATCH:
		return "watch";
	case CVM__REQUEST__OP_ATTEST:
		return "attest";
	case CVM__REQUEST__OP__NOT_SET:
	case _CVM__REQUEST__OP__CASE_IS_INT_SIZE:
		break;
	}
	return NULL;
}

struct pending {
	struct pending *next;
	const struct cvmd_client *c;
	uint64_t id;
	uint64_t start_ns;
	uint64_t pages; /* page operations: how many */
	int op; /* Cvm__Request__OpCase */
	int sub; /* lifecycle or page op; -1: none */
	char name[65]; /* the VM, for its own counters */
};

struct histogram {
	uint64_t le[NR_BUCKETS]; /* cumulative at render time */
	uint64_t count;
	double sum;
};

struct cvmd_metrics {
	struct cvmd *d;
	struct MHD_Daemon *mhd;
	int fd; /* the listening socket */
	char *unix_path; /* bound by us: unlinked at stop */

	/* Loop side. */
	struct pending *pending[NR_PENDING_BUCKETS];
	unsigned int nr_pending;
	uint64_t requests[NR_OPS][NR_STATUS];
	struct histogram transitions[NR_LIFECYCLE];
	bool dirty;
	uint64_t rendered_ns;
	uv_timer_t timer;
	uv_check_t check;
	uv_timer_t refresh;
	unsigned int handles; /* open at stop, to close */

	/* Shared: the published exposition. */
	pthread_mutex_t lock;
	char *text;
	size_t len;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static unsigned int bucket_of(const struct cvmd_client *c, uint64_t id)
{
	uint64_t h = (uint64_t)(uintptr_t)c ^ (id * 0x9e3779b97f4a7c15ull);

	return (h ^ (h >> 29)) % NR_PENDING_BUCKETS;
}

/* The VM a request names, and its sub-operation, for its counters. */
static void describe(const Cvm__Request *req, struct pending *p)
{
	const char *name = NULL;

	p->sub = -1;
	p->pages = 0;
	switch (req->op_case) {
	case CVM__REQUEST__OP_LIFECYCLE:
		name = req->lifecycle->name;
		if (req->lifecycle->op_set_case ==
			CVM__LIFECYCLE_REQUEST__OP_SET_OP &&
		    (unsigned int)req->lifecycle->op < NR_LIFECYCLE)
			p->sub = req->lifecycle->op;
		break;
	case CVM__REQUEST__OP_PAGE:
		name = req->page->name;
		if (req->page->op_set_case == CVM__PAGE_REQUEST__OP_SET_OP)
			p->sub = req->page->op;
		p->pages = req->page->pages ? req->page->pages : 1;
		break;
	case CVM__REQUEST__OP_SHOW:
		name = req->show->name;
		break;
	case CVM__REQUEST__OP_GUEST_WRITE:
		name = req->guest_write->name;
		break;
	case CVM__REQUEST__OP_READ:
		name = req->read->name;
		break;
	case CVM__REQUEST__OP_SNAPSHOT:
		name = req->snapshot->name;
		break;
	default:
		break;
	}
	snprintf(p->name, sizeof(p->name), "%s", name ? name : "");
}

/**
 * cvmd_metrics_request() - a request enters the dispatch: remember it
 * until its answer (server.c calls this before running it)
 * @c: the client
 * @req: the request, decoded
 */
void cvmd_metrics_request(struct cvmd_client *c, const Cvm__Request *req)
{
	struct cvmd_metrics *m = c->d->metrics;
	struct pending *p;
	unsigned int b;

	if (!m || m->nr_pending >= MAX_PENDING)
		return;
	p = calloc(1, sizeof(*p));
	if (!p)
		return;
	p->c = c;
	p->id = req->id;
	p->op = req->op_case;
	p->start_ns = now_ns();
	if (op_name(p->op))
		describe(req, p);
	else
		p->sub = -1;
	b = bucket_of(c, req->id);
	p->next = m->pending[b];
	m->pending[b] = p;
	m->nr_pending++;
}

static struct pending *take_pending(struct cvmd_metrics *m,
				    const struct cvmd_client *c, uint64_t id)
{
	struct pending **pp, *p;

	for (pp = &m->pending[bucket_of(c, id)]; (p = *pp); pp = &p->next) {
		if (p->c == c && p->id == id) {
			*pp = p->next;
			m->nr_pending--;
			return p;
		}
	}
	return NULL;
}

static void count(struct cvmd_metrics *m, struct pending *p, int status)
{
	struct cvmd_vm *vm;
	struct histogram *h;
	double secs;
	size_t i;

	if ((unsigned int)status >= NR_STATUS)
		status = CVM__STATUS__INTERNAL;
	/* Anything unknown counts under op 0, rendered "unknown". */
	m->requests[op_name(p->op) ? p->op : 0][status]++;
	m->dirty = true;
	/* Transitions made: a refusal is counted above, not timed. */
	if (p->op == CVM__REQUEST__OP_LIFECYCLE && p->sub >= 0 &&
	    status == CVM__STATUS__OK) {
		h = &m->transitions[p->sub];
		secs = (now_ns() - p->start_ns) / 1e9;
		h->count++;
		h->sum += secs;
		for (i = 0; i < NR_BUCKETS; i++)
			if (secs <= buckets[i])
				h->le[i]++;
	}
	if (!p->name[0])
		return;
	vm = cvmd_vm_find(m->d, p->name);
	if (!vm)
		return;
	if (status == CVM__STATUS__INTEGRITY)
		vm->integrity_failures++;
	if (status == CVM__STATUS__OK && p->op == CVM__REQUEST__OP_PAGE &&
	    p->sub == CVM__PAGE_OP__PAGE_OUT)
		vm->page_outs += p->pages;
}

/**
 * cvmd_metrics_answer() - an answer leaves for a client: the first one to
 * a request counts it, with its status (server.c's send path)
 * @c: the client
 * @resp: the answer
 */
void cvmd_metrics_answer(struct cvmd_client *c, const Cvm__Response *resp)
{
	struct cvmd_metrics *m = c->d->metrics;
	struct pending *p;

	if (!m || !m->nr_pending)
		return;
	p = take_pending(m, c, resp->id);
	if (!p)
		return; /* an event, or a later part of a list */
	count(m, p, resp->status);
	free(p);
}

/**
 * cvmd_metrics_dispatched() - the dispatch returned: a watch that was not
 * refused has no answer of its own (events follow), so it counts as OK now
 * @c: the client
 * @req: the request
 */
void cvmd_metrics_dispatched(struct cvmd_client *c, const Cvm__Request *req)
{
	struct cvmd_metrics *m = c->d->metrics;
	struct pending *p;

	if (!m || req->op_case != CVM__REQUEST__OP_WATCH)
		return;
	p = take_pending(m, c, req->id);
	if (p)
		count(m, p, CVM__STATUS__OK);
	free(p);
}

/* --- rendering (loop side) ------------------------------------------- */

/* A label value, escaped as the text format wants (\\, \", \n). */
static void put_label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '"')
			fputs("\\\"", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{name="VM"} value, and name{name="VM",KEY="VALUE"} value. */
static void vm_sample(FILE *f, const char *metric, const char *vm,
		      const char *key, const char *value, uint64_t v)
{
	fprintf(f, "%s{name=\"", metric);
	put_label(f, vm);
	if (key) {
		fprintf(f, "\",%s=\"", key);
		put_label(f, value);
	}
	fprintf(f, "\"} %llu\n", (unsigned long long)v);
}

static const char *status_label(int status, char *buf, size_t size)
{
	const char *s = cvm_status_name(status);
	size_t i;

	for (i = 0; s[i] && i + 1 < size; i++)
		buf[i] = s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i];
	buf[i] = '\0';
	return buf;
}

static void render_host(FILE *f, struct cvmd *d)
{
	static const int states[] = { CVM__VM_STATE__NORMAL,
				      CVM__VM_STATE__TRANSIENT,
				      CVM__VM_STATE__SECURE,
				      CVM__VM_STATE__FAILED };
	uint64_t by_state[4] = {}, pinned = 0;
	struct cvmd_pool pool;
	struct cvmd_vm *vm;
	size_t i;

	head(f, "cvm_build_info", "gauge",
	     "cvm's version and the backend this cvmd runs, as labels.");
	fputs("cvm_build_info{version=\"", f);
	put_label(f, CVMD_VERSION);
	fputs("\",backend=\"", f);
	put_label(f, d->backend ? d->backend : "");
	fputs("\"} 1\n", f);

	cvmd_vm_pool(d, &pool);
	head(f, "cvm_secure_pool_pages", "gauge",
	     "Pages of the secure pool (sim: the VMs' pools together; "
	     "kmod: 0, not known to cvmd).");
	fprintf(f, "cvm_secure_pool_pages %llu\n",
		(unsigned long long)pool.total);
	head(f, "cvm_secure_pool_free_pages", "gauge",
	     "Pages of the secure pool that no VM holds.");
	fprintf(f, "cvm_secure_pool_free_pages %llu\n",
		(unsigned long long)pool.free);

	list_for_each_entry(vm, &d->vms, node) {
		if ((unsigned int)vm->rec.state < 4)
			by_state[vm->rec.state]++;
		pinned += vm->counts.pinned;
	}
	head(f, "cvm_vms", "gauge", "VMs in the registry, by state.");
	for (i = 0; i < 4; i++)
		fprintf(f, "cvm_vms{state=\"%s\"} %llu\n",
			cvmd_state_name(states[i]),
			(unsigned long long)by_state[states[i]]);
	head(f, "cvm_pinned_pages", "gauge", "Guest pages pinned, all VMs.");
	fprintf(f, "cvm_pinned_pages %llu\n", (unsigned long long)pinned);
	head(f, "cvm_charged_bytes", "gauge",
	     "Bytes charged to the VMs' RLIMIT_MEMLOCK (pinned pages), "
	     "all VMs.");
	fprintf(f, "cvm_charged_bytes %llu\n",
		(unsigned long long)(pinned * 4096));
	head(f, "cvm_connections", "gauge", "API socket connections open.");
	fprintf(f, "cvm_connections %u\n", d->nr_conns);
}

static void render_refusals(FILE *f, struct cvmd *d)
{
	const struct {
		const char *cause;
		uint64_t v;
	} r[] = {
		{ "connections", d->refused.connections },
		{ "requests", d->refused.requests },
		{ "watches", d->refused.watches },
		{ "input_stalls", d->refused.input_stalls },
		{ "slow_readers", d->refused.slow_readers },
		{ "bus_calls", d->refused.bus_calls },
	};
	size_t i;

	head(f, "cvm_refusals_total", "counter",
	     "Clients refused or held back by a limit, by cause "
	     "(docs/cvmd.md, Limits).");
	for (i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		fprintf(f, "cvm_refusals_total{cause=\"%s\"} %llu\n",
			r[i].cause, (unsigned long long)r[i].v);
}

static void render_requests(FILE *f, struct cvmd_metrics *m)
{
	char status[32];
	unsigned int op, st;
	size_t i;

	head(f, "cvm_api_requests_total", "counter",
	     "API requests answered (socket and D-Bus), by operation and "
	     "status.");
	for (op = 0; op < NR_OPS; op++)
		for (st = 0; st < NR_STATUS; st++)
			if (m->requests[op][st])
				fprintf(
				    f,
				    "cvm_api_requests_total{operation=\"%s\","
				    "status=\"%s\"} %llu\n",
				    op_name(op) ? op_name(op) : "unknown",
				    status_label(st, status, sizeof(status)),
				    (unsigned long long)m->requests[op][st]);

	head(f, "cvm_transition_duration_seconds", "histogram",
	     "Transitions made (lifecycle requests answered OK), from "
	     "dispatch to answer, by operation.");
	for (op = 0; op < NR_LIFECYCLE; op++) {
		const struct histogram *h = &m->transitions[op];

		for (i = 0; i < NR_BUCKETS; i++)
			fprintf(f,
				"cvm_transition_duration_seconds_bucket{"
				"operation=\"%s\",le=\"%g\"} %llu\n",
				lifecycle_names[op], buckets[i],
				(unsigned long long)h->le[i]);
		fprintf(f,
			"cvm_transition_duration_seconds_bucket{operation="
			"\"%s\",le=\"+Inf\"} %llu\n",
			lifecycle_names[op], (unsigned long long)h->count);
		fprintf(f,
			"cvm_transition_duration_seconds_sum{operation="
			"\"%s\"} %.9f\n",
			lifecycle_names[op], h->sum);
		fprintf(f,
			"cvm_transition_duration_seconds_count{operation="
			"\"%s\"} %llu\n",
			lifecycle_names[op], (unsigned long long)h->count);
	}
}

/* Per-VM series: one family at a time, as the text format requires. */
static void render_vms(FILE *f, struct cvmd *d)
{
	static const int states[] = { CVM__VM_STATE__NORMAL,
				      CVM__VM_STATE__TRANSIENT,
				      CVM__VM_STATE__SECURE,
				      CVM__VM_STATE__FAILED };
	struct cvmd_vm *vm;
	size_t i;

	head(f, "cvm_vm_state", "gauge",
	     "1 for the state each VM is in, 0 for the others.");
	list_for_each_entry(vm, &d->vms, node)
		for (i = 0; i < 4; i++)
			vm_sample(f, "cvm_vm_state", vm->rec.name, "state",
				  cvmd_state_name(states[i]),
				  vm->rec.state == states[i]);
	head(f, "cvm_vm_pages", "gauge",
	     "Each VM's guest pages by GFN state (secure_paged_out: of the "
	     "secure ones, those encrypted out of the pool).");
	list_for_each_entry(vm, &d->vms, node) {
		vm_sample(f, "cvm_vm_pages", vm->rec.name, "state", "normal",
			  vm->counts.normal);
		vm_sample(f, "cvm_vm_pages", vm->rec.name, "state", "shared",
			  vm->counts.shared);
		vm_sample(f, "cvm_vm_pages", vm->rec.name, "state", "secure",
			  vm->counts.secure);
		vm_sample(f, "cvm_vm_pages", vm->rec.name, "state",
			  "secure_paged_out", vm->counts.secure_paged_out);
	}
	head(f, "cvm_vm_pinned_pages", "gauge", "Each VM's pinned pages.");
	list_for_each_entry(vm, &d->vms, node)
		vm_sample(f, "cvm_vm_pinned_pages", vm->rec.name, NULL, NULL,
			  vm->counts.pinned);
	head(f, "cvm_vm_evictions_total", "counter",
	     "Secure pages of each VM paged out to make room in the pool "
	     "(as its VMM last reported).");
	list_for_each_entry(vm, &d->vms, node)
		vm_sample(f, "cvm_vm_evictions_total", vm->rec.name, NULL, NULL,
			  vm->counts.evictions);
	head(f, "cvm_vm_page_outs_total", "counter",
	     "Pages each VM paged out on request (page-out), since this "
	     "cvmd started.");
	list_for_each_entry(vm, &d->vms, node)
		vm_sample(f, "cvm_vm_page_outs_total", vm->rec.name, NULL, NULL,
			  vm->page_outs);
	head(f, "cvm_vm_integrity_failures_total", "counter",
	     "Requests on each VM refused because a paged-out page failed "
	     "authentication, since this cvmd started.");
	list_for_each_entry(vm, &d->vms, node)
		vm_sample(f, "cvm_vm_integrity_failures_total", vm->rec.name,
			  NULL, NULL, vm->integrity_failures);
}

static int render(struct cvmd *d, struct cvmd_metrics *m, char **ret_text,
		  size_t *ret_len)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return -ENOMEM;
	render_host(f, d);
	render_refusals(f, d);
	if (m)
		render_requests(f, m);
	render_vms(f, d);
	if (fclose(f)) {
		free(text);
		return -ENOMEM;
	}
	*ret_text = text;
	*ret_len = len;
	return 0;
}

int cvmd_metrics_render(struct cvmd *d, char **ret_text, size_t *ret_len)
{
	return render(d, d->metrics, ret_text, ret_len);
}

/* Render and publish; the old text is freed outside the lock. */
static void publish(struct cvmd_metrics *m)
{
	char *text, *old;
	size_t len;

	if (render(m->d, m, &text, &len))
		return; /* the last one stays published */
	pthread_mutex_lock(&m->lock);
	old = m->text;
	m->text = text;
	m->len = len;
	pthread_mutex_unlock(&m->lock);
	free(old);
	m->dirty = false;
	m->rendered_ns = now_ns();
}

static void on_timer(uv_timer_t *h);

/* After each loop iteration: publish what changed, at most every 100 ms. */
static void on_check(uv_check_t *h)
{
	struct cvmd_metrics *m = h->data;
	uint64_t since_ms;

	if (!m->dirty)
		return;
	since_ms = (now_ns() - m->rendered_ns) / 1000000;
	if (since_ms >= RENDER_MIN_MS)
		publish(m);
	else if (uv_timer_get_due_in(&m->timer) > RENDER_MIN_MS - since_ms)
		/* Too soon: the timer publishes it when the 100 ms are up. */
		uv_timer_start(&m->timer, on_timer, RENDER_MIN_MS - since_ms,
			       RENDER_EVERY_MS);
}

static void refreshed(struct cvmd_call *call, const Cvm__Response *resp,
		      int err)
{
	(void)resp;
	(void)err;
	/* on_vmm_read() took the counters in; published within a second. */
	free(call);
}

/*
 * Counters can change without a request through cvmd (with kmod, a VM's
 * pages are evicted to make room for another's): every REFRESH_MS, a show
 * to each VM's VMM that has nothing else queued, one at most in flight
 * per VM. A VMM that does not answer holds only its own queue; scrapes
 * never wait for this.
 */
static void refresh_vms(uv_timer_t *h)
{
	struct cvmd_metrics *m = h->data;
	Cvm__ShowRequest show = CVM__SHOW_REQUEST__INIT;
	Cvm__Request req = CVM__REQUEST__INIT;
	struct cvmd_call *call;
	struct cvmd_vm *vm;

	req.op_case = CVM__REQUEST__OP_SHOW;
	req.show = &show;
	list_for_each_entry(vm, &m->d->vms, node) {
		if (!vm->connected || vm->creator || vm->destroying ||
		    vm->freeing || !list_empty(&vm->calls))
			continue;
		call = calloc(1, sizeof(*call));
		if (!call)
			return;
		show.name = vm->rec.name;
		call->done = refreshed;
		if (cvmd_vm_call(vm, &req, call))
			free(call);
	}
}

/* Every second: what changed without an answer (a VMM died, a limit). */
static void on_timer(uv_timer_t *h)
{
	publish(h->data);
}

/* --- the HTTP side (libmicrohttpd's thread) ---------------------------- */

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int code,
			     const char *text, size_t len, bool owned)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, (void *)text,
					    owned ? MHD_RESPMEM_MUST_FREE
						  : MHD_RESPMEM_PERSISTENT);
	if (!r) {
		if (owned)
			free((void *)text);
		return MHD_NO;
	}
	if (code == MHD_HTTP_OK)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
					"text/plain; version=0.0.4; "
					"charset=utf-8");
	else
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
					"text/plain; charset=utf-8");
	if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	static const char not_found[] = "not found: only /metrics is here\n";
	static const char not_allowed[] = "only GET\n";
	struct cvmd_metrics *m = cls;
	char *copy;
	size_t len;

	(void)version;
	(void)upload;
	/* A body is neither wanted nor read: the request is answered now. */
	*upload_size = 0;
	(void)con_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, not_allowed,
			     sizeof(not_allowed) - 1, false);
	if (strcmp(url, "/metrics"))
		return reply(conn, MHD_HTTP_NOT_FOUND, not_found,
			     sizeof(not_found) - 1, false);
	pthread_mutex_lock(&m->lock);
	len = m->len;
	copy = malloc(len ? len : 1);
	if (copy && len)
		memcpy(copy, m->text, len);
	pthread_mutex_unlock(&m->lock);
	if (!copy)
		return MHD_NO;
	return reply(conn, MHD_HTTP_OK, copy, len, true);
}

/* --- the listening socket ------------------------------------------------ */

static int listen_unix(struct cvmd_metrics *m, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, ret;

	if (!*path || strlen(path) >= sizeof(sa.sun_path))
		return -EINVAL;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(path, 0666) ||
	    listen(fd, 64)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	m->unix_path = strdup(path);
	m->fd = fd;
	return 0;
}

/* HOST:PORT, [V6]:PORT; every address of HOST is tried, the first wins. */
static int listen_inet(struct cvmd_metrics *m, const char *spec)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res, *ai;
	char host[256];
	const char *colon = strrchr(spec, ':');
	size_t hlen;
	int fd = -1, ret = -EADDRNOTAVAIL, one = 1;

	if (!colon || !colon[1])
		return -EINVAL;
	hlen = colon - spec;
	if (hlen >= 2 && spec[0] == '[' && spec[hlen - 1] == ']') {
		spec++;
		hlen -= 2;
	}
	if (!hlen || hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, spec, hlen);
	host[hlen] = '\0';
	if (getaddrinfo(host, colon + 1, &hints, &res))
		return -EADDRNOTAVAIL;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			ret = -errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (!bind(fd, ai->ai_addr, ai->ai_addrlen) && !listen(fd, 64))
			break;
		ret = -errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return ret;
	m->fd = fd;
	return 0;
}

/* The socket systemd passed as FileDescriptorName=metrics, or -1. */
static int activated_fd(void)
{
	char **names = NULL;
	int n, i, fd = -1;

	/* The environment stays for server.c, which takes its own fd. */
	n = sd_listen_fds_with_names(0, &names);
	for (i = 0; i < n; i++)
		if (names && names[i] && !strcmp(names[i], "metrics"))
			fd = SD_LISTEN_FDS_START + i;
	for (i = 0; names && names[i]; i++)
		free(names[i]);
	free(names);
	return fd;
}

static struct cvmd_metrics *metrics_free(struct cvmd_metrics *m)
{
	struct pending *p, *next;
	size_t i;

	if (!m)
		return NULL;
	if (m->mhd)
		MHD_stop_daemon(m->mhd);
	if (m->fd >= 0)
		close(m->fd);
	if (m->unix_path)
		unlink(m->unix_path);
	for (i = 0; i < NR_PENDING_BUCKETS; i++)
		for (p = m->pending[i]; p; p = next) {
			next = p->next;
			free(p);
		}
	free(m->unix_path);
	free(m->text);
	pthread_mutex_destroy(&m->lock);
	free(m);
	return NULL;
}

int cvmd_metrics_start(struct cvmd *d)
{
	const char *spec = d->cfg.metrics_listen;
	struct cvmd_metrics *m;
	int fd = activated_fd(), ret = 0;

	if (fd < 0 && (!spec || !*spec))
		return 0;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->d = d;
	m->fd = -1;
	pthread_mutex_init(&m->lock, NULL);
	if (fd >= 0)
		m->fd = fd;
	else if (!strncmp(spec, "unix:", 5))
		ret = listen_unix(m, spec + 5);
	else
		ret = listen_inet(m, spec);
	if (fd < 0 && ret) {
		cvmd_log(LOG_ERR, "metrics: cannot listen on %s: %s", spec,
			 strerror(-ret));
		metrics_free(m);
		return ret;
	}
	d->metrics = m;
	publish(m);
	/*
	 * Its own thread; a bounded number of connections, each with a
	 * timeout, so scrapers cannot hold it.
	 */
	/*
	 * epoll (AUTO), not select(): with a thousand VMMs connected, cvmd's
	 * descriptors are past FD_SETSIZE.
	 */
	m->mhd = MHD_start_daemon(
	    MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
	    on_request, m, MHD_OPTION_LISTEN_SOCKET, m->fd,
	    MHD_OPTION_CONNECTION_LIMIT, 32u, MHD_OPTION_CONNECTION_TIMEOUT,
	    10u, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536,
	    MHD_OPTION_END);
	if (!m->mhd) {
		cvmd_log(LOG_ERR, "metrics: cannot start the HTTP server");
		d->metrics = metrics_free(m);
		return -EIO;
	}
	m->fd = -1; /* libmicrohttpd's now: MHD_stop_daemon() closes it */
	uv_timer_init(d->loop, &m->timer);
	m->timer.data = m;
	uv_timer_start(&m->timer, on_timer, RENDER_EVERY_MS, RENDER_EVERY_MS);
	uv_check_init(d->loop, &m->check);
	m->check.data = m;
	uv_check_start(&m->check, on_check);
	uv_timer_init(d->loop, &m->refresh);
	m->refresh.data = m;
	uv_timer_start(&m->refresh, refresh_vms, REFRESH_MS, REFRESH_MS);
	/* None of the handles keeps the loop alive on its own. */
	uv_unref((uv_handle_t *)&m->timer);
	uv_unref((uv_handle_t *)&m->check);
	uv_unref((uv_handle_t *)&m->refresh);
	cvmd_log(LOG_INFO, "metrics: serving GET /metrics on %s",
		 fd >= 0 ? "the socket systemd passed (metrics)" : spec);
	return 0;
}

static void on_handle_closed(uv_handle_t *h)
{
	struct cvmd_metrics *m = h->data;

	/* The two timers and the check: the last to close frees. */
	if (!--m->handles)
		metrics_free(m);
}

void cvmd_metrics_stop(struct cvmd *d)
{
	struct cvmd_metrics *m = d->metrics;

	if (!m)
		return;
	d->metrics = NULL;
	/* The HTTP thread first: nothing reads the text after this. */
	MHD_stop_daemon(m->mhd);
	m->mhd = NULL;
	m->handles = 3;
	uv_close((uv_handle_t *)&m->refresh, on_handle_closed);
	uv_close((uv_handle_t *)&m->timer, on_handle_closed);
	uv_close((uv_handle_t *)&m->check, on_handle_closed);
}
