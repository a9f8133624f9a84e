// SPDX-License-Identifier: GPL-2.0
/*
 * bench-dbus - what cvmd's D-Bus API costs: the round trip of a property
 * read and of a read-only method through dbus-daemon, next to a trivial
 * sd-bus echo service on the same bus in the same run, and next to the
 * same reads over cvmd's protobuf socket (see README.md).
 *
 *   bench-dbus [-n N] BUS-ADDRESS SOCKET VM
 *
 * BUS-ADDRESS is the bus cvmd is on (e.g. unix:path=/tmp/x/bus), SOCKET
 * cvmd's protobuf socket, VM the name of a running VM.
 *
 * Prints figures only. It exits non-zero when a call fails or answers
 * something unexpected, never because something was slow.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "bench-stats.h"
#include "cvm-frame.h"

#define TIMEOUT_MS	60000	/* per protobuf request: a hang is a failure */
#define DEF_N		5000	/* round trips per series */
#define WARMUP		500	/* per series, before any timing */
#define BLOCKS		10	/* the series alternate in blocks */

#define CVM_NAME	"org.cvm.Manager1"
#define CVM_PATH	"/org/cvm/Manager1"
#define CVM_IFACE	"org.cvm.Manager1"
#define CVM_VM_IFACE	"org.cvm.VM1"
#define CVM_VM_PREFIX	"/org/cvm/Manager1/vm"

#define ECHO_NAME	"org.cvm.BenchEcho"
#define ECHO_PATH	"/echo"
#define ECHO_IFACE	"org.cvm.BenchEcho"
#define ECHO_VALUE	"normal"	/* as long as cvmd's State answer */

static void loadavg(const char *when)
{
	char buf[128] = "?";
	FILE *f = fopen("/proc/loadavg", "re");

	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			strcpy(buf, "?");
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = '\0';
	printf("# load average %s: %s (%ld CPUs online)\n", when, buf,
	       sysconf(_SC_NPROCESSORS_ONLN));
}

/* --- the echo service, in a child process (cvmd is one too) --- */

static int echo_get(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
	const char *s;
	int ret;

	(void)userdata;
	(void)e;
	ret = sd_bus_message_read(m, "s", &s);
	if (ret < 0)
		return ret;
	return sd_bus_reply_method_return(m, "s", s);
}

static int echo_value(sd_bus *bus, const char *path, const char *iface,
		      const char *property, sd_bus_message *reply,
		      void *userdata, sd_bus_error *e)
{
	(void)bus;
	(void)path;
	(void)iface;
	(void)property;
	(void)userdata;
	(void)e;
	return sd_bus_message_append(reply, "s", ECHO_VALUE);
}

/* Flags as cvmd's: State emits changes (not const), GetVM unprivileged. */
static const sd_bus_vtable echo_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("Value", "s", echo_value, 0,
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_METHOD_WITH_NAMES("Get", "s", SD_BUS_PARAM(s), "s",
				 SD_BUS_PARAM(s), echo_get,
				 SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END
};

static int bus_connect(const char *address, sd_bus **ret)
{
	sd_bus *bus = NULL;
	int err;

	err = sd_bus_new(&bus);
	if (err >= 0)
		err = sd_bus_set_address(bus, address);
	if (err >= 0)
		err = sd_bus_set_bus_client(bus, 1);
	if (err >= 0)
		err = sd_bus_start(bus);
	if (err < 0) {
		sd_bus_unref(bus);
		return err;
	}
	*ret = bus;
	return 0;
}

/*
 * The child: own ECHO_NAME, say so on ready_fd, then serve until killed
 * (or until the bus goes away). Never returns.
 */
static void echo_service(const char *address, int ready_fd)
{
	sd_bus *bus = NULL;
	int err;

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	err = bus_connect(address, &bus);
	if (err >= 0)
		err = sd_bus_add_object_vtable(bus, NULL, ECHO_PATH, ECHO_IFACE,
					       echo_vtable, NULL);
	if (err >= 0)
		err = sd_bus_request_name(bus, ECHO_NAME, 0);
	if (err < 0) {
		fprintf(stderr, "bench-dbus: echo service: %s\n",
			strerror(-err));
		_exit(1);
	}
	if (write(ready_fd, "r", 1) != 1)
		_exit(1);
	close(ready_fd);
	for (;;) {
		err = sd_bus_process(bus, NULL);
		if (err > 0)
			continue;
		if (err == 0)
			err = sd_bus_wait(bus, UINT64_MAX);
		if (err < 0 && err != -EINTR)
			break;
	}
	fprintf(stderr, "bench-dbus: echo service: %s\n", strerror(-err));
	_exit(1);
}

static int echo_start(const char *address, pid_t *ret_pid)
{
	int pipefd[2], status;
	char c;
	pid_t pid;
	ssize_t n;

	if (pipe2(pipefd, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return -errno;
	}
	if (!pid) {
		close(pipefd[0]);
		echo_service(address, pipefd[1]);
	}
	close(pipefd[1]);
	do
		n = read(pipefd[0], &c, 1);
	while (n < 0 && errno == EINTR);
	close(pipefd[0]);
	if (n != 1) {	/* it died before owning its name */
		waitpid(pid, &status, 0);
		return -ECHILD;
	}
	*ret_pid = pid;
	return 0;
}

/* --- the D-Bus client side --- */

struct ctx {
	sd_bus *bus;
	int fd;			/* cvmd's protobuf socket */
	uint64_t id;		/* last protobuf request id */
	const char *vm;
	char *vm_path;		/* what GetVM must answer */
};

static int bus_failed(const char *what, int err, const sd_bus_error *e)
{
	fprintf(stderr, "bench-dbus: %s: %s%s%s\n", what,
		e && e->name ? e->name : strerror(-err),
		e && e->message ? ": " : "", e && e->message ? e->message : "");
	return err < 0 ? err : -EIO;
}

/* Properties.Get(iface, prop) of a string property; it must be want. */
static int get_string_prop(struct ctx *x, const char *dest, const char *path,
			   const char *iface, const char *prop,
			   const char *want)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	const char *s;
	int err;

	err = sd_bus_get_property(x->bus, dest, path, iface, prop, &e, &reply,
				  "s");
	if (err < 0) {
		err = bus_failed(prop, err, &e);
		goto out;
	}
	err = sd_bus_message_read(reply, "s", &s);	/* variant entered */
	if (err < 0) {
		err = bus_failed(prop, err, NULL);
		goto out;
	}
	if (strcmp(s, want)) {
		fprintf(stderr, "bench-dbus: %s is '%s', want '%s'\n", prop, s,
			want);
		err = -EPROTO;
		goto out;
	}
	err = 0;
out:
	sd_bus_error_free(&e);
	sd_bus_message_unref(reply);
	return err;
}

/* A method taking one string and answering one value of type sig. */
static int call_s(struct ctx *x, const char *dest, const char *path,
		  const char *iface, const char *method, const char *sig,
		  const char *arg, const char *want)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	const char *s;
	int err;

	err = sd_bus_call_method(x->bus, dest, path, iface, method, &e, &reply,
				 "s", arg);
	if (err < 0) {
		err = bus_failed(method, err, &e);
		goto out;
	}
	err = sd_bus_message_read(reply, sig, &s);
	if (err < 0) {
		err = bus_failed(method, err, NULL);
		goto out;
	}
	if (strcmp(s, want)) {
		fprintf(stderr, "bench-dbus: %s answered '%s', want '%s'\n",
			method, s, want);
		err = -EPROTO;
		goto out;
	}
	err = 0;
out:
	sd_bus_error_free(&e);
	sd_bus_message_unref(reply);
	return err;
}

static int cvm_prop(struct ctx *x)
{
	return get_string_prop(x, CVM_NAME, x->vm_path, CVM_VM_IFACE, "State",
			       "normal");
}

static int echo_prop(struct ctx *x)
{
	return get_string_prop(x, ECHO_NAME, ECHO_PATH, ECHO_IFACE, "Value",
			       ECHO_VALUE);
}

static int cvm_method(struct ctx *x)
{
	return call_s(x, CVM_NAME, CVM_PATH, CVM_IFACE, "GetVM", "o", x->vm,
		      x->vm_path);
}

static int echo_method(struct ctx *x)
{
	return call_s(x, ECHO_NAME, ECHO_PATH, ECHO_IFACE, "Get", "s", x->vm,
		      x->vm);
}

/* --- the protobuf side (as in bench-cvmd.c) --- */

static int connect_unix(const char *path, int *ret_fd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		if (errno == EINTR)
			continue;
		close(fd);
		return -errno;
	}
	*ret_fd = fd;
	return 0;
}

/*
 * One request, one answer, blocking, as cvmctl does it. Return 0 when
 * the answer is OK and carries the result expected, else -errno.
 */
static int pb_call(struct ctx *x, Cvm__Request *req,
		   Cvm__Response__ResultCase want, const char *what)
{
	Cvm__Response *resp;
	int err;

	req->id = ++x->id;
	err = cvm_frame_send_request(x->fd, req, TIMEOUT_MS);
	if (!err)
		err = cvm_frame_recv_response(x->fd, &resp, TIMEOUT_MS);
	if (err) {
		fprintf(stderr, "bench-dbus: %s: %s\n", what, strerror(-err));
		return err;
	}
	if (resp->status != CVM__STATUS__OK) {
		fprintf(stderr, "bench-dbus: %s: %s: %s\n", what,
			cvm_status_name(resp->status), resp->message);
		err = resp->error ? resp->error : -EIO;
	} else if (resp->id != req->id || resp->result_case != want) {
		fprintf(stderr, "bench-dbus: %s: unexpected answer\n", what);
		err = -EPROTO;
	}
	cvm__response__free_unpacked(resp, NULL);
	return err;
}

static int pb_status(struct ctx *x)
{
	Cvm__StatusRequest st = CVM__STATUS_REQUEST__INIT;
	Cvm__Request req = CVM__REQUEST__INIT;

	req.op_case = CVM__REQUEST__OP_STATUS;
	req.status = &st;
	return pb_call(x, &req, CVM__RESPONSE__RESULT_DAEMON, "status");
}

static int pb_show(struct ctx *x)
{
	Cvm__ShowRequest sr = CVM__SHOW_REQUEST__INIT;
	Cvm__Request req = CVM__REQUEST__INIT;

	sr.name = (char *)x->vm;
	req.op_case = CVM__REQUEST__OP_SHOW;
	req.show = &sr;
	return pb_call(x, &req, CVM__RESPONSE__RESULT_VM, "show");
}

/* --- the run --- */

struct series {
	const char *what;
	int (*fn)(struct ctx *x);
	uint64_t *ns;
	size_t n;
	struct stats s;
};

enum {
	S_CVM_PROP, S_ECHO_PROP, S_CVM_METHOD, S_ECHO_METHOD, S_PB_STATUS,
	S_PB_SHOW, NR_SERIES
};

static struct series series[NR_SERIES] = {
	[S_CVM_PROP] = { "cvmd   Properties.Get VM1.State", cvm_prop },
	[S_ECHO_PROP] = { "echo   Properties.Get Value", echo_prop },
	[S_CVM_METHOD] = { "cvmd   Manager1.GetVM(name)", cvm_method },
	[S_ECHO_METHOD] = { "echo   BenchEcho.Get(name)", echo_method },
	[S_PB_STATUS] = { "socket status (cvmd answers)", pb_status },
	[S_PB_SHOW] = { "socket show NAME (via the VMM)", pb_show },
};

static void print_series(const struct series *s)
{
	printf("  %-32s p50 %8.1f us  p99 %8.1f us  max %9.1f us  (n=%zu)\n",
	       s->what, us(s->s.p50), us(s->s.p99), us(s->s.max), s->n);
}

static void print_ratio(const char *what, int a, int b)
{
	printf("  %-44s p50 %5.2f  p99 %5.2f\n", what,
	       (double)series[a].s.p50 / series[b].s.p50,
	       (double)series[a].s.p99 / series[b].s.p99);
}

static int run(struct ctx *x, unsigned int n)
{
	unsigned int per_block = n / BLOCKS, b, i, k;
	uint64_t t0;
	int err;

	if (!per_block)
		per_block = 1;
	n = per_block * BLOCKS;
	for (k = 0; k < NR_SERIES; k++) {
		series[k].ns = calloc(n, sizeof(*series[k].ns));
		if (!series[k].ns)
			return -ENOMEM;
	}
	/* Warm-up, which also checks every answer once before timing. */
	for (k = 0; k < NR_SERIES; k++) {
		for (i = 0; i < WARMUP; i++) {
			err = series[k].fn(x);
			if (err)
				return err;
		}
	}
	for (b = 0; b < BLOCKS; b++) {
		for (k = 0; k < NR_SERIES; k++) {
			struct series *s = &series[k];

			for (i = 0; i < per_block; i++) {
				t0 = now_ns();
				err = s->fn(x);
				if (err)
					return err;
				s->ns[s->n++] = now_ns() - t0;
			}
		}
	}
	for (k = 0; k < NR_SERIES; k++)
		series[k].s = stats_of(series[k].ns, series[k].n);

	printf("== round trips: %u per series, in %d alternating blocks of "
	       "%u, after %d warm-up each ==\n", n, BLOCKS, per_block, WARMUP);
	printf("-- property read (org.freedesktop.DBus.Properties.Get, "
	       "through dbus-daemon) --\n");
	print_series(&series[S_CVM_PROP]);
	print_series(&series[S_ECHO_PROP]);
	printf("-- read-only method (through dbus-daemon) --\n");
	print_series(&series[S_CVM_METHOD]);
	print_series(&series[S_ECHO_METHOD]);
	printf("-- protobuf socket, cvm-frame.c client (as cvmctl) --\n");
	print_series(&series[S_PB_STATUS]);
	print_series(&series[S_PB_SHOW]);
	printf("-- ratios --\n");
	print_ratio("property  cvmd/echo (target p50 <= 1.5)",
		    S_CVM_PROP, S_ECHO_PROP);
	print_ratio("method    cvmd/echo (target p50 <= 1.2)",
		    S_CVM_METHOD, S_ECHO_METHOD);
	print_ratio("D-Bus/protobuf: GetVM (record) / show (VMM)",
		    S_CVM_METHOD, S_PB_SHOW);
	print_ratio("D-Bus/protobuf: State / status (both: cvmd)",
		    S_CVM_PROP, S_PB_STATUS);
	print_ratio("D-Bus/protobuf: State / show (same data)",
		    S_CVM_PROP, S_PB_SHOW);
	print_ratio("echo/protobuf:  Get / status (bus vs direct)",
		    S_ECHO_METHOD, S_PB_STATUS);
	return 0;
}

static int parse_uint(const char *s, unsigned int *ret)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || !v || v > 10000000)
		return -EINVAL;
	*ret = v;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: bench-dbus [-n N] BUS-ADDRESS SOCKET VM\n"
		   "  -n N   round trips per series (%d)\n", DEF_N);
}

int main(int argc, char **argv)
{
	struct ctx x = { .fd = -1 };
	unsigned int n = DEF_N, k;
	const char *address, *sock;
	pid_t echo = -1;
	int opt, err, status;

	while ((opt = getopt(argc, argv, "+n:h")) != -1) {
		switch (opt) {
		case 'n':
			if (parse_uint(optarg, &n))
				goto bad;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			goto bad;
		}
	}
	if (argc - optind != 3)
		goto bad;
	address = argv[optind];
	sock = argv[optind + 1];
	x.vm = argv[optind + 2];
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* Fork first: an sd-bus connection does not survive a fork. */
	err = echo_start(address, &echo);
	if (err) {
		fprintf(stderr, "bench-dbus: starting the echo service: %s\n",
			strerror(-err));
		return 1;
	}
	err = bus_connect(address, &x.bus);
	if (err) {
		fprintf(stderr, "bench-dbus: connect %s: %s\n", address,
			strerror(-err));
		goto out;
	}
	err = sd_bus_path_encode(CVM_VM_PREFIX, x.vm, &x.vm_path);
	if (err < 0)
		goto out;
	err = connect_unix(sock, &x.fd);
	if (err) {
		fprintf(stderr, "bench-dbus: connect %s: %s\n", sock,
			strerror(-err));
		goto out;
	}
	printf("# bench-dbus: bus %s, socket %s, VM '%s' (%s)\n", address,
	       sock, x.vm, x.vm_path);
	printf("# echo service: %s %s %s, pid %d (sd_bus_process/"
	       "sd_bus_wait loop)\n", ECHO_NAME, ECHO_PATH, ECHO_IFACE,
	       (int)echo);
	loadavg("before");
	err = run(&x, n);
	loadavg("after");
out:
	if (x.fd >= 0)
		close(x.fd);
	sd_bus_flush_close_unref(x.bus);
	free(x.vm_path);
	if (echo > 0) {
		kill(echo, SIGTERM);
		waitpid(echo, &status, 0);
	}
	for (k = 0; k < NR_SERIES; k++)
		free(series[k].ns);
	if (err)
		fprintf(stderr, "bench-dbus: %s\n", strerror(-err));
	return err ? 1 : 0;
bad:
	usage(stderr);
	return 2;
}
