/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cvmd.h - the control-plane daemon's objects.
 *
 * One libuv loop, no threads. Each VM is a struct cvmd_vm: its registry
 * record plus the connection to its cvm-vmm; calls to a VMM are queued and
 * answered in order (the VMM serves one at a time), so operations on one
 * VM stay ordered while different VMs proceed independently and the loop
 * never waits on backend work.
 */
#ifndef CVMD_H
#define CVMD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <uv.h>

#include "cvm-frame.h"
#include "list.h"
#include "registry.h"

/* The release, from the top-level VERSION file (the Makefile passes it). */
#ifndef CVM_VERSION
#define CVM_VERSION "unknown"
#endif
#define CVMD_VERSION CVM_VERSION

/*
 * The VMM when neither --vmm nor the vmm key names one and none sits
 * beside cvmd's executable or in its ../libexec/cvm (docs/cvmd.md).
 */
#ifndef CVMD_DEFAULT_VMM
#define CVMD_DEFAULT_VMM "/usr/libexec/cvm/cvm-vmm"
#endif

struct cvmd_config {
	char *socket_path;
	char *state_dir;
	char *backend;		/* auto, kmod, sim */
	char *vmm_path;
	/* vmm_path came from --vmm or the vmm key: no lookup */
	bool vmm_set;
	char *device;
	char *admin_group;
	char *bus;			/* system, session, none */
	char *libvirt_uri;		/* none: no libvirt */
	unsigned int socket_mode;
	unsigned int max_vms;
	unsigned int max_requests;	/* per connection, in flight */
	unsigned int max_watches;	/* per connection */
	unsigned int max_watches_total;	/* all connections together */
	unsigned int max_connections;	/* API socket connections in all */
	unsigned int max_bus_calls_per_sender; /* D-Bus calls in flight */
	unsigned int max_connections_per_uid; /* uid 0 exempt */
	uint64_t max_input;		/* partial requests buffered, in all */
	uint64_t max_input_per_uid;	/* the same per uid, uid 0 exempt */
	uint64_t max_output;		/* per connection, unsent bytes */
	uint64_t sim_pool_pages;
	uint64_t default_memlock;	/* 0: no per-VM limit */
	char *metrics_listen;		/* unix:PATH or HOST:PORT; NULL: off */
	char *attest_key;		/* NULL: the TLS server key (attest.c) */
	char *attest_cert;		/* NULL: the TLS server certificate */
	/* The remote API (DESIGN §9, tls.h); listen_tls NULL: off. */
	char *listen_tls;
	char *tls_ca;
	char *tls_cert;
	char *tls_key;
	char *tls_crl;			/* "": no revocation list */
	char *tls_allow_manage;		/* DN globs that may mutate */
	char *tls_allow_memory;		/* DN globs that may read VM memory */
};

struct cvmd {
	uv_loop_t *loop;
	struct cvmd_config cfg;
	const char *backend;		/* resolved: kmod or sim */
	struct cvm_registry *reg;
	gid_t admin_gid;
	bool have_admin_gid;
	uv_pipe_t server;
	bool socket_activated;
	uv_timer_t watchdog;
	bool watchdog_on;
	uv_signal_t sigterm, sigint;
	struct list_head vms;
	unsigned int nr_vms;
	struct list_head clients;
	struct list_head peers;		/* per-uid tallies (limits.c) */
	struct list_head bus_senders;	/* D-Bus peers with calls in flight */
	unsigned int nr_conns;
	uint64_t input_bytes;
	uv_timer_t stall_timer;		/* watches paused clients for hangups */
	struct {
		uint64_t connections;	/* over a connection cap */
		uint64_t requests;	/* over max_requests in flight */
		uint64_t watches;	/* over a watch cap */
		uint64_t input_stalls;	/* reads paused for an input budget */
		uint64_t slow_readers;	/* dropped over max_output */
		uint64_t bus_calls;	/* over max_bus_calls_per_sender */
	} refused;
	struct list_head watches;
	unsigned int nr_watches;
	uv_timer_t record_timer;	/* rewrites records that failed (vm-record.c) */
	unsigned int record_backoff_ms;
	struct list_head pending_deletes;
	uint64_t records_deferred;
	unsigned int watch_walkers;	/* event fan-outs under way */
	bool stopping;
	bool ready;		/* READY=1 sent: STATUS= follows changes */
	sd_bus *bus;
	bool bus_lost;
	uv_poll_t bus_poll;
	uv_timer_t bus_timer;
	uv_prepare_t bus_prepare;
	struct cvmd_libvirt *libvirt;
	struct cvmd_metrics *metrics;	/* NULL: no metrics_listen */
	struct cvmd_tls *tls;		/* the remote API, or NULL (tls.h) */
	uv_signal_t sighup;
};

struct cvmd_client;

/*
 * An edge the daemon answers through: the protobuf socket, or one D-Bus
 * method call. Both run the same dispatch table underneath.
 */
struct cvmd_client_ops {
	void (*send)(struct cvmd_client *c, const Cvm__Response *resp);
	void (*release)(struct cvmd_client *c);
	bool framed;		/* a byte stream: answers cut to frame size */
};

struct cvmd_client {
	struct cvmd *d;
	const struct cvmd_client_ops *ops;
	void *edge;			/* the edge's own state */
	struct list_head node;
	uv_pipe_t pipe;
	struct cvm_frame_reader rd;
	uid_t uid;
	pid_t pid;
	bool admin;			/* uid 0 or the admin group */
	bool authorized;		/* the edge checked this request (polkit) */
	bool closing;
	bool stalled;			/* reading paused: input budget full */
	struct cvmd_peer *peer;		/* its uid's or DN's tally (socket, TLS) */
	unsigned int refs;		/* the client and each call in flight */
	unsigned int in_flight;
	unsigned int nr_watches;
};

/* A VMM call: a client request forwarded to a VM's VMM, or internal. */
struct cvmd_call;
typedef void (*cvmd_call_done)(struct cvmd_call *call,
			       const Cvm__Response *resp, int err);

struct cvmd_call {
	struct list_head node;
	struct cvmd_vm *vm;
	struct cvmd_client *client;	/* NULL for the daemon's own calls */
	uint64_t client_id;
	Cvm__Request__OpCase op;
	int lifecycle_op;
	int page_op;
	uint64_t gpa;
	cvmd_call_done done;
};

/*
 * A snapshot's answer other than its last frame (Snapshot.more): the call
 * stays first in line, and done runs again with the next frame.
 */
static inline bool cvmd_call_continues(const struct cvmd_call *call,
				       const Cvm__Response *resp)
{
	return call->op == CVM__REQUEST__OP_SNAPSHOT && resp &&
	       resp->status == CVM__STATUS__OK &&
	       resp->result_case == CVM__RESPONSE__RESULT_SNAPSHOT &&
	       resp->snapshot->more;
}

/* Cached counters from the VMM's last answer, so list needs no round trip. */
struct cvmd_vm_counts {
	uint64_t normal, shared, secure, secure_paged_out;
	uint64_t pinned, dma_shared, pool_pages, evictions, measured;
	uint8_t measurement[32];
	bool sealed;
};

struct cvmd_vm {
	struct cvmd *d;
	struct list_head node;
	struct cvm_record rec;
	struct cvmd_vm_counts counts;
	uv_pipe_t vmm;			/* connection to cvm-vmm */
	bool vmm_open;			/* vmm handle initialised */
	bool connected;
	struct cvm_frame_reader rd;
	struct list_head calls;		/* sent, awaiting answers, FIFO */
	uv_process_t proc;		/* when this cvmd spawned the VMM */
	bool proc_live;
	int pidfd;			/* the VMM, whoever spawned it; -1: none */
	bool rec_dirty;			/* rec not written yet (vm-record.c) */
	uv_pipe_t ready;		/* the VMM's stdout until "ready" */
	bool ready_open;
	char ready_line[256];
	size_t ready_len;
	struct cvmd_client *creator;	/* waiting for create to finish */
	uint64_t creator_id;
	struct cvmd_client *destroyer;	/* waiting for destroy to finish */
	uint64_t destroyer_id;
	bool destroying;
	bool freeing;
	uint64_t page_outs;		/* metrics.c: page-outs answered OK */
	uint64_t integrity_failures;	/* metrics.c: answers INTEGRITY */
	unsigned int handles;		/* open libuv handles to close */
};

/* cvmd-init.c */
void cvmd_init(struct cvmd *d, uv_loop_t *loop);

/* limits.c */
struct cvmd_peer;
int cvmd_peer_admit(struct cvmd *d, uid_t uid, struct cvmd_peer **ret_peer);
int cvmd_peer_admit_dn(struct cvmd *d, const char *dn,
		       struct cvmd_peer **ret_peer);
void cvmd_peer_leave(struct cvmd *d, struct cvmd_peer *p);
void cvmd_peer_input(struct cvmd *d, struct cvmd_peer *p, int64_t delta);
bool cvmd_peer_may_read(struct cvmd *d, const struct cvmd_peer *p);

/* vm-record.c */
int cvmd_vm_record_save(struct cvmd_vm *vm);
int cvmd_vm_record_forget(struct cvmd *d, const char *name);
int cvmd_vm_record_clear_name(struct cvmd *d, const char *name);
void cvmd_vm_records_init(struct cvmd *d);
void cvmd_vm_records_stop(struct cvmd *d);
void cvmd_vm_records_free(struct cvmd *d);

/* vmm-process.c: the VMM as a process */
int cvmd_vmm_pidfd(pid_t pid, const char *socket);
void cvmd_vmm_kill(struct cvmd_vm *vm);
void cvmd_vmm_release(struct cvmd_vm *vm);
int cvmd_vmm_spawn(struct cvmd_vm *vm);

/* vmm-connection.c: cvmd's connection to the VMM */
int cvmd_vmm_connect(struct cvmd_vm *vm);
void cvmd_vmm_disconnect(struct cvmd_vm *vm);
void cvmd_vmm_fail_calls(struct cvmd_vm *vm, int err);
int cvmd_vm_call(struct cvmd_vm *vm, const Cvm__Request *req,
		 struct cvmd_call *call);

/* cvmd-config.c */
int cvmd_config_defaults(struct cvmd_config *cfg);
int cvmd_config_load(struct cvmd_config *cfg, const char *path);
void cvmd_config_free(struct cvmd_config *cfg);
int cvmd_config_set(struct cvmd_config *cfg, const char *key,
		    const char *value);
/* The remote API's port when listen_tls names none (DESIGN §9). */
#define CVMD_TLS_DEFAULT_PORT 16520
int cvmd_config_parse_listen(const char *s, char *host, size_t host_size,
			     unsigned int *ret_port);

/* server.c */
int cvmd_server_start(struct cvmd *d);
void cvmd_server_stop(struct cvmd *d);
void cvmd_client_send(struct cvmd_client *c, const Cvm__Response *resp);
void cvmd_client_error(struct cvmd_client *c, uint64_t id, int err,
		       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
struct cvmd_client *cvmd_client_ref(struct cvmd_client *c);
/* Decode one request frame and run it (exposed for the fuzz target). */
void cvmd_client_dispatch(struct cvmd_client *c, const uint8_t *msg,
			  size_t len);
void cvmd_client_handle(struct cvmd_client *c, const Cvm__Request *req);
extern const struct cvmd_client_ops cvmd_socket_client_ops;
/* Does the operation need the manage privilege (the table's flag)? */
struct cvmd_client *cvmd_client_unref(struct cvmd_client *c);

/*
 * The secure pool as status reports it. sim: each VM's VMM has a pool of
 * its own (cfg.sim_pool_pages), so the host's is their sum; a failed VM
 * has no VMM and no pool. kmod: the module's, not known to cvmd (zeros).
 * @vms VMs holding a pool, @per_vm pages in each, @total vms * per_vm,
 * @free total minus the pages the VMs hold resident.
 */
struct cvmd_pool {
	unsigned int vms;
	uint64_t per_vm;
	uint64_t total;
	uint64_t free;
};

/* vm.c */
struct cvmd_vm *cvmd_vm_find(struct cvmd *d, const char *name);
void cvmd_vm_pool(struct cvmd *d, struct cvmd_pool *ret);
int cvmd_vm_create(struct cvmd *d, const Cvm__CreateRequest *rq,
		   struct cvmd_client *c, uint64_t id, char *ret_why,
		   size_t why_size);
void cvmd_vm_destroy(struct cvmd_vm *vm, struct cvmd_client *c, uint64_t id);
int cvmd_vm_restore(struct cvmd *d);
void cvmd_vm_fill_info(struct cvmd_vm *vm, Cvm__VmInfo *info,
		       Cvm__PageCounts *pages);
void cvmd_vm_take_info(struct cvmd_vm *vm, const Cvm__VmInfo *info);
void cvmd_vm_set_state(struct cvmd_vm *vm, int state, const char *operation,
		       uid_t caller);
void cvmd_vm_shutdown_all(struct cvmd *d);
void cvmd_vm_lost(struct cvmd_vm *vm, const char *why);
const char *cvmd_state_name(int state);
/* For vmm-process.c and vmm-connection.c: the VM's side of their events. */
void cvmd_vm_close_handle(struct cvmd_vm *vm, uv_handle_t *h);
void cvmd_vm_create_failed(struct cvmd_vm *vm, int err, const char *why);
int cvmd_vm_refresh(struct cvmd_vm *vm);

/* vm-rpc.c: the per-VM requests of the API */
void cvmd_rpc_vm_request(struct cvmd *d, struct cvmd_client *c,
			 const Cvm__Request *req);

/* events.c */
void cvmd_event(struct cvmd *d, const char *vm, const char *kind, int from,
		int to, const char *operation, uid_t caller,
		const char *message);
int cvmd_watch_add(struct cvmd_client *c, uint64_t id, const char *vm);
void cvmd_watch_drop_client(struct cvmd *d, struct cvmd_client *c);
/* systemd's STATUS= line (a no-op without $NOTIFY_SOCKET). */
void cvmd_notify_status(struct cvmd *d);
void cvmd_log(int priority, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* messages.c: words for a refusal, naming the VM's state */
void cvmd_refusal(char *buf, size_t size, int state, const char *verb,
		  uint64_t gpa, int err);

#endif /* CVMD_H */
