// SPDX-License-Identifier: GPL-2.0
/*
 * bench-cvmd - what cvmd's API costs: request round trip against a raw
 * unix-socket ping-pong of the same frame sizes, pipelined throughput,
 * throughput of 64 clients with 1,000 idle connections open against none,
 * durable transitions; plus pipelined bulk create/destroy for the
 * 1,000-VM part of bench-cvmd.sh (see README.md).
 *
 *   bench-cvmd [OPTIONS] SOCKET              latency, throughput, durable
 *   bench-cvmd SOCKET create PREFIX COUNT SIZE [WINDOW]
 *   bench-cvmd SOCKET destroy PREFIX COUNT [WINDOW]
 *
 * Prints figures only. It exits non-zero when a request fails, never
 * because something was slow.
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
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench-stats.h"
#include "cvm-frame.h"

#define TIMEOUT_MS	60000	/* per blocking request: a hang is a failure */
#define LAT_N		20000	/* round trips per latency series */
#define LAT_WARMUP	1000
#define LAT_BLOCKS	10	/* protocol and raw alternate in blocks */
#define TP_WINDOW	32	/* requests in flight per client */
#define TP_SECONDS	3
#define DUR_N		200	/* durable transition cycles */
#define DUR_VM		"lat"
#define BULK_WINDOW	32
#define IDLE_CONNS 1000 /* 2b: idle connections held open */
#define IDLE_CLIENTS 64
#define IDLE_ROUNDS 3
#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

static const unsigned int tp_clients[] = { 1, 8, 64 };

static void print_stats(const char *what, uint64_t *ns, size_t n)
{
	struct stats s = stats_of(ns, n);

	printf("  %-34s p50 %9.1f us  p99 %9.1f us  max %9.1f us  (n=%zu)\n",
	       what, us(s.p50), us(s.p99), us(s.max), n);
}

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
		if (errno == EAGAIN) {	/* backlog full */
			usleep(1000);
			continue;
		}
		close(fd);
		return -errno;
	}
	*ret_fd = fd;
	return 0;
}

/*
 * One request, one answer, blocking. Return 0 with *ret (caller frees) or
 * -errno; an answer with another id is -EPROTO. A non-OK status is not an
 * error here: the caller looks.
 */
static int call(int fd, const Cvm__Request *req, Cvm__Response **ret)
{
	Cvm__Response *resp;
	int err;

	err = cvm_frame_send_request(fd, req, TIMEOUT_MS);
	if (err)
		return err;
	err = cvm_frame_recv_response(fd, &resp, TIMEOUT_MS);
	if (err)
		return err;
	if (resp->id != req->id) {
		cvm__response__free_unpacked(resp, NULL);
		return -EPROTO;
	}
	*ret = resp;
	return 0;
}

/* Return: 0 when resp says OK, else its -errno (reported). */
static int resp_ok(const char *what, const Cvm__Response *resp)
{
	if (resp->status == CVM__STATUS__OK)
		return 0;
	fprintf(stderr, "bench-cvmd: %s: %s: %s\n", what,
		cvm_status_name(resp->status), resp->message);
	return resp->error ? resp->error : -EIO;
}

static int read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	ssize_t n;

	while (len) {
		n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			return -ECONNRESET;
		p += n;
		len -= n;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= n;
	}
	return 0;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/*
 * The raw baseline's server, in a child process (cvmd is one too): read a
 * frame (header, then the length it announces), answer with a frame of
 * resp_len zero bytes. No decoding, no dispatch. Ends at EOF.
 */
static void echo_server(int fd, uint32_t resp_len)
{
	uint8_t hdr[CVM_FRAME_HDR], in[256], *out;
	uint32_t len;

	out = calloc(1, CVM_FRAME_HDR + resp_len);
	if (!out)
		_exit(1);
	put_be32(out, resp_len);
	for (;;) {
		if (read_full(fd, hdr, sizeof(hdr)))
			_exit(0);
		len = get_be32(hdr);
		if (len > sizeof(in) || read_full(fd, in, len) ||
		    write_full(fd, out, CVM_FRAME_HDR + resp_len))
			_exit(1);
	}
}

/* The raw baseline's client side: a whole frame out, a whole frame in. */
static int raw_round_trip(int fd, const uint8_t *req, size_t req_len,
			  uint8_t *resp, size_t resp_cap, size_t *ret_len)
{
	uint8_t hdr[CVM_FRAME_HDR];
	uint32_t len;
	int ret;

	ret = write_full(fd, req, req_len);
	if (!ret)
		ret = read_full(fd, hdr, sizeof(hdr));
	if (ret)
		return ret;
	len = get_be32(hdr);
	if (len > resp_cap)
		return -EMSGSIZE;
	*ret_len = len;
	return read_full(fd, resp, len);
}

static int status_call(int fd, uint64_t id, size_t *ret_resp_len)
{
	Cvm__StatusRequest st = CVM__STATUS_REQUEST__INIT;
	Cvm__Request req = CVM__REQUEST__INIT;
	Cvm__Response *resp;
	int ret;

	req.id = id;
	req.op_case = CVM__REQUEST__OP_STATUS;
	req.status = &st;
	ret = call(fd, &req, &resp);
	if (ret)
		return ret;
	ret = resp_ok("status", resp);
	if (!ret && resp->result_case != CVM__RESPONSE__RESULT_DAEMON)
		ret = -EPROTO;
	if (ret_resp_len)
		*ret_resp_len = cvm__response__get_packed_size(resp);
	cvm__response__free_unpacked(resp, NULL);
	return ret;
}

/*
 * The same status request with the raw baseline's plain blocking I/O
 * instead of cvm-frame.c's poll-then-recv helpers: what the daemon side
 * costs, without the client library's extra system calls.
 */
static int status_call_lean(int fd, uint64_t id)
{
	Cvm__StatusRequest st = CVM__STATUS_REQUEST__INIT;
	Cvm__Request req = CVM__REQUEST__INIT;
	uint8_t out[64], in[4096];
	Cvm__Response *resp;
	size_t len;
	int ret;

	req.id = id;
	req.op_case = CVM__REQUEST__OP_STATUS;
	req.status = &st;
	len = cvm__request__get_packed_size(&req);
	if (CVM_FRAME_HDR + len > sizeof(out))
		return -EMSGSIZE;
	put_be32(out, len);
	cvm__request__pack(&req, out + CVM_FRAME_HDR);
	ret = raw_round_trip(fd, out, CVM_FRAME_HDR + len, in, sizeof(in),
			     &len);
	if (ret)
		return ret;
	resp = cvm__response__unpack(NULL, len, in);
	if (!resp)
		return -EBADMSG;
	ret = resp_ok("status", resp);
	if (!ret && (resp->id != id ||
		     resp->result_case != CVM__RESPONSE__RESULT_DAEMON))
		ret = -EPROTO;
	cvm__response__free_unpacked(resp, NULL);
	return ret;
}

/*
 * 1. A read-only request through the protocol (client encode, cvmd's loop,
 * decode, dispatch, encode, client decode) against a raw ping-pong of the
 * same frame sizes over a unix stream socket to a child process. The
 * series alternate in blocks so drift of the machine hits all of them.
 */
static int bench_latency(const char *sock, unsigned int n)
{
	Cvm__StatusRequest st = CVM__STATUS_REQUEST__INIT;
	Cvm__Request req = CVM__REQUEST__INIT;
	uint64_t *proto_ns = NULL, *lean_ns = NULL, *raw_ns = NULL, id = 0, t0;
	uint8_t *raw_req = NULL, raw_resp[4096];
	size_t req_len, resp_len = 0, raw_req_len, len, i;
	unsigned int b, per_block = n / LAT_BLOCKS;
	size_t np = 0, nl = 0, nr = 0;
	struct stats sp, sl, sr;
	int fd = -1, pair[2] = { -1, -1 }, ret, status;
	pid_t child = -1;

	if (!per_block)
		per_block = 1;
	n = per_block * LAT_BLOCKS;
	ret = connect_unix(sock, &fd);
	if (ret) {
		fprintf(stderr, "bench-cvmd: connect %s: %s\n", sock,
			strerror(-ret));
		return ret;
	}
	for (i = 0; i < LAT_WARMUP; i++) {
		ret = status_call(fd, ++id, &resp_len);
		if (ret)
			goto out;
	}
	/* The largest request of the run (its id has the most varint bytes). */
	req.id = LAT_WARMUP + 2 * n;
	req.op_case = CVM__REQUEST__OP_STATUS;
	req.status = &st;
	req_len = cvm__request__get_packed_size(&req);
	ret = cvm_frame_pack_request(&req, &raw_req, &raw_req_len);
	if (ret)
		goto out;
	if (resp_len > sizeof(raw_resp)) {
		ret = -EMSGSIZE;
		goto out;
	}

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair)) {
		ret = -errno;
		goto out;
	}
	child = fork();
	if (child < 0) {
		ret = -errno;
		goto out;
	}
	if (!child) {
		close(pair[0]);
		close(fd);
		echo_server(pair[1], resp_len);
	}
	close(pair[1]);
	pair[1] = -1;

	proto_ns = calloc(n, sizeof(*proto_ns));
	lean_ns = calloc(n, sizeof(*lean_ns));
	raw_ns = calloc(n, sizeof(*raw_ns));
	if (!proto_ns || !lean_ns || !raw_ns) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < LAT_WARMUP; i++) {
		ret = raw_round_trip(pair[0], raw_req, raw_req_len, raw_resp,
				     sizeof(raw_resp), &len);
		if (ret)
			goto out;
	}
	for (b = 0; b < LAT_BLOCKS; b++) {
		for (i = 0; i < per_block; i++) {
			t0 = now_ns();
			ret = status_call(fd, ++id, NULL);
			if (ret)
				goto out;
			proto_ns[np++] = now_ns() - t0;
		}
		for (i = 0; i < per_block; i++) {
			t0 = now_ns();
			ret = status_call_lean(fd, ++id);
			if (ret)
				goto out;
			lean_ns[nl++] = now_ns() - t0;
		}
		for (i = 0; i < per_block; i++) {
			t0 = now_ns();
			ret = raw_round_trip(pair[0], raw_req, raw_req_len,
					     raw_resp, sizeof(raw_resp), &len);
			if (ret)
				goto out;
			raw_ns[nr++] = now_ns() - t0;
		}
	}

	printf("== 1. request round trip: status vs raw ping-pong ==\n");
	printf("  frames: request %d+%zu bytes, response %d+%zu bytes; "
	       "%u round trips per series, in %d alternating blocks, after "
	       "%d warm-up\n", CVM_FRAME_HDR, req_len, CVM_FRAME_HDR,
	       resp_len, n, LAT_BLOCKS, LAT_WARMUP);
	print_stats("protocol, cvm-frame.c client", proto_ns, np);
	print_stats("protocol, plain read/write client", lean_ns, nl);
	print_stats("raw unix-socket ping-pong", raw_ns, nr);
	sp = stats_of(proto_ns, np);
	sl = stats_of(lean_ns, nl);
	sr = stats_of(raw_ns, nr);
	printf("  ratio protocol/raw:       p50 %.2f  p99 %.2f  "
	       "(target p50 <= 1.3)\n",
	       (double)sp.p50 / sr.p50, (double)sp.p99 / sr.p99);
	printf("  ratio protocol(plain)/raw: p50 %.2f  p99 %.2f\n",
	       (double)sl.p50 / sr.p50, (double)sl.p99 / sr.p99);
	printf("\n");
	ret = 0;
out:
	if (ret)
		fprintf(stderr, "bench-cvmd: latency: %s\n", strerror(-ret));
	if (pair[0] >= 0)
		close(pair[0]);	/* EOF ends the echo server */
	if (pair[1] >= 0)
		close(pair[1]);
	if (child > 0) {
		if (ret)
			kill(child, SIGKILL);
		waitpid(child, &status, 0);
	}
	if (fd >= 0)
		close(fd);
	free(raw_req);
	free(proto_ns);
	free(lean_ns);
	free(raw_ns);
	return ret;
}

/* cvmd's pid, from the connection's peer credentials. */
static int peer_pid(int fd, pid_t *ret)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		return -errno;
	*ret = cred.pid;
	return 0;
}

/* CPU time (user + system) of a process, from /proc (clock ticks). */
static int proc_cpu_ns(pid_t pid, uint64_t *ret)
{
	unsigned long long utime, stime;
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n ? -errno : -EIO;
	buf[n] = '\0';
	/* After "pid (comm)": state is field 3, utime 14, stime 15. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
			 "%*u %llu %llu", &utime, &stime) != 2)
		return -EIO;
	*ret = (utime + stime) * (1000000000ULL / sysconf(_SC_CLK_TCK));
	return 0;
}

static uint64_t self_cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) *
	       1000000000 +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

/* 2. Pipelined throughput: one epoll loop drives every connection. */
struct tp_conn {
	int fd;
	struct cvm_frame_reader rd;
	uint64_t sent, done;		/* ids are 1..sent; done answered */
	uint64_t counted;		/* answered before the deadline */
	uint64_t t_sent[TP_WINDOW];	/* by id % TP_WINDOW */
	uint8_t out[TP_WINDOW * 32];
	size_t out_len;
	bool want_out;
};

struct tp_samples {
	uint64_t *ns;
	size_t n, cap;
};

static int tp_sample(struct tp_samples *s, uint64_t ns)
{
	uint64_t *p;

	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 65536;
		p = realloc(s->ns, s->cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		s->ns = p;
	}
	s->ns[s->n++] = ns;
	return 0;
}

/* Queue requests until the window is full (while sending is allowed). */
static void tp_fill(struct tp_conn *c, bool sending)
{
	Cvm__StatusRequest st = CVM__STATUS_REQUEST__INIT;
	Cvm__Request req = CVM__REQUEST__INIT;
	uint64_t t = now_ns();
	size_t len;

	req.op_case = CVM__REQUEST__OP_STATUS;
	req.status = &st;
	while (sending && c->sent - c->done < TP_WINDOW) {
		req.id = c->sent + 1;
		len = cvm__request__get_packed_size(&req);
		if (c->out_len + CVM_FRAME_HDR + len > sizeof(c->out))
			break;
		put_be32(c->out + c->out_len, len);
		cvm__request__pack(&req, c->out + c->out_len + CVM_FRAME_HDR);
		c->out_len += CVM_FRAME_HDR + len;
		c->t_sent[req.id % TP_WINDOW] = t;
		c->sent++;
	}
}

static int tp_flush(int ep, struct tp_conn *c)
{
	struct epoll_event ev = { .data.ptr = c };
	ssize_t n;
	bool want;

	while (c->out_len) {
		n = send(c->fd, c->out, c->out_len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0)
			return -errno;
		memmove(c->out, c->out + n, c->out_len - n);
		c->out_len -= n;
	}
	want = c->out_len > 0;
	if (want != c->want_out) {
		ev.events = EPOLLIN | (want ? EPOLLOUT : 0);
		if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev))
			return -errno;
		c->want_out = want;
	}
	return 0;
}

/* Take every whole answer buffered; each must be the next id, OK. */
static int tp_read(struct tp_conn *c, uint64_t deadline,
		   struct tp_samples *lat)
{
	static uint8_t buf[65536];
	const uint8_t *msg;
	Cvm__Response *resp;
	uint64_t t;
	size_t len;
	ssize_t n;
	int ret;

	for (;;) {
		n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0)
			return -errno;
		if (!n)
			return -ECONNRESET;
		ret = cvm_frame_reader_feed(&c->rd, buf, n);
		if (ret)
			return ret;
		if ((size_t)n < sizeof(buf))
			break;
	}
	t = now_ns();
	while ((ret = cvm_frame_reader_next(&c->rd, &msg, &len)) > 0) {
		resp = cvm__response__unpack(NULL, len, msg);
		if (!resp)
			return -EBADMSG;
		ret = resp_ok("status", resp);
		if (!ret && resp->id != c->done + 1)
			ret = -EPROTO;
		if (!ret && t <= deadline) {
			c->counted++;
			ret = tp_sample(lat, t - c->t_sent[resp->id % TP_WINDOW]);
		}
		cvm__response__free_unpacked(resp, NULL);
		if (ret)
			return ret;
		c->done++;
	}
	return ret;
}

/* One throughput run's figures, for the idle-connections comparison. */
struct tp_result {
	double rps;
	uint64_t p50, p99;
};

static int bench_throughput_one(const char *sock, unsigned int nr,
				unsigned int seconds, struct tp_result *ret_res)
{
	struct epoll_event ev, evs[64];
	struct tp_samples lat = {};
	struct tp_conn *conns;
	uint64_t start, deadline, drain_end, t, total = 0, lo = UINT64_MAX;
	uint64_t hi = 0, cvmd0 = 0, cvmd1 = 0, self0, self1, answers = 0;
	bool have_cpu = false;
	pid_t cvmd = 0;
	unsigned int i, open = 0;
	int ep, ret = 0, n, k, timeout;
	bool busy;
	struct stats s;

	conns = calloc(nr, sizeof(*conns));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!conns || ep < 0) {
		ret = conns ? -errno : -ENOMEM;
		goto out;
	}
	for (i = 0; i < nr; i++) {
		ret = connect_unix(sock, &conns[i].fd);
		if (ret)
			goto out;
		open++;
		cvm_frame_reader_init(&conns[i].rd, CVM_FRAME_MAX);
		ev = (struct epoll_event){ .events = EPOLLIN,
					   .data.ptr = &conns[i] };
		if (epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev)) {
			ret = -errno;
			goto out;
		}
	}
	have_cpu = !peer_pid(conns[0].fd, &cvmd) && !proc_cpu_ns(cvmd, &cvmd0);
	self0 = self_cpu_ns();
	start = now_ns();
	deadline = start + (uint64_t)seconds * 1000000000;
	drain_end = deadline + (uint64_t)TIMEOUT_MS * 1000000;
	for (i = 0; i < nr; i++) {
		tp_fill(&conns[i], true);
		ret = tp_flush(ep, &conns[i]);
		if (ret)
			goto out;
	}
	for (;;) {
		t = now_ns();
		busy = false;
		for (i = 0; i < nr; i++)
			busy |= conns[i].done < conns[i].sent;
		if (t > deadline && !busy)
			break;
		if (t > drain_end) {
			ret = -ETIMEDOUT;
			goto out;
		}
		timeout = t < deadline ? (int)((deadline - t) / 1000000) + 1 :
					 100;
		n = epoll_wait(ep, evs, ARRAY_LEN(evs), timeout);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			goto out;
		}
		for (k = 0; k < n; k++) {
			struct tp_conn *c = evs[k].data.ptr;

			if (evs[k].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
				ret = tp_read(c, deadline, &lat);
				if (ret)
					goto out;
			}
			tp_fill(c, now_ns() < deadline);
			ret = tp_flush(ep, c);
			if (ret)
				goto out;
		}
	}
	have_cpu = have_cpu && !proc_cpu_ns(cvmd, &cvmd1);
	self1 = self_cpu_ns();
	for (i = 0; i < nr; i++) {
		answers += conns[i].done;
		total += conns[i].counted;
		if (conns[i].counted < lo)
			lo = conns[i].counted;
		if (conns[i].counted > hi)
			hi = conns[i].counted;
	}
	s = stats_of(lat.ns, lat.n);
	if (ret_res)
		*ret_res =
		    (struct tp_result){ total / (double)seconds, s.p50, s.p99 };
	printf("  %2u client%s  %9.0f req/s total  %8.0f req/s per client "
	       "(min %.0f, max %.0f)  latency p50 %7.1f us  p99 %7.1f us\n",
	       nr, nr == 1 ? " " : "s", total / (double)seconds,
	       total / (double)seconds / nr, lo / (double)seconds,
	       hi / (double)seconds, us(s.p50), us(s.p99));
	if (have_cpu && answers)
		printf("             CPU per request: cvmd %.2f us, client "
		       "%.2f us; cvmd busy %.0f%% of one CPU\n",
		       (cvmd1 - cvmd0) / 1e3 / answers,
		       (self1 - self0) / 1e3 / answers,
		       100.0 * (cvmd1 - cvmd0) / (now_ns() - start));
out:
	if (ret)
		fprintf(stderr, "bench-cvmd: throughput, %u clients: %s\n", nr,
			strerror(-ret));
	for (i = 0; i < open; i++) {
		close(conns[i].fd);
		cvm_frame_reader_free(&conns[i].rd);
	}
	if (ep >= 0)
		close(ep);
	free(conns);
	free(lat.ns);
	return ret;
}

static int bench_throughput(const char *sock, unsigned int seconds)
{
	size_t i;
	int ret;

	printf("== 2. throughput: pipelined status, window %d per client, "
	       "%u s each ==\n", TP_WINDOW, seconds);
	printf("  (one client thread, an epoll loop over all connections; "
	       "latency = send to answer, under load)\n");
	for (i = 0; i < ARRAY_LEN(tp_clients); i++) {
		ret = bench_throughput_one(sock, tp_clients[i], seconds, NULL);
		if (ret)
			return ret;
	}
	printf("\n");
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median_of(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[(n - 1) / 2];
}

/*
 * nr connections that each had one status answered and then sit idle, as
 * clients that keep a connection open (watchers, tooling) do.
 */
static int idle_open(const char *sock, int *fds, unsigned int nr)
{
	unsigned int i;
	int ret;

	for (i = 0; i < nr; i++)
		fds[i] = -1;
	for (i = 0; i < nr; i++) {
		ret = connect_unix(sock, &fds[i]);
		if (!ret)
			ret = status_call(fds[i], 1, NULL);
		if (ret) {
			fprintf(stderr,
				"bench-cvmd: idle connection %u of %u: "
				"%s\n",
				i + 1, nr, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static void idle_close(int *fds, unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	usleep(200000); /* cvmd sees the hangups before the next run */
}

/*
 * 2b. The 64-client throughput with IDLE_CONNS idle connections open,
 * against the same run without them, alternating IDLE_ROUNDS times so
 * that drift of the machine hits both; medians over the rounds.
 */
static int bench_idle(const char *sock, unsigned int seconds)
{
	double rps[2][IDLE_ROUNDS], p50[2][IDLE_ROUNDS], p99[2][IDLE_ROUNDS];
	double m_rps[2], m_p50[2], m_p99[2];
	struct tp_result res;
	unsigned int r, with;
	int *fds, ret = 0;

	fds = calloc(IDLE_CONNS, sizeof(*fds));
	if (!fds)
		return -ENOMEM;
	printf("== 2b. throughput of %u clients with %d idle connections "
	       "open, against none; %d alternating rounds of %u s ==\n",
	       IDLE_CLIENTS, IDLE_CONNS, IDLE_ROUNDS, seconds);
	for (r = 0; r < IDLE_ROUNDS && !ret; r++) {
		for (with = 0; with < 2 && !ret; with++) {
			printf("  round %u, %s idle:", r + 1,
			       with ? "with   " : "without");
			if (with)
				ret = idle_open(sock, fds, IDLE_CONNS);
			if (!ret)
				ret = bench_throughput_one(sock, IDLE_CLIENTS,
							   seconds, &res);
			if (with)
				idle_close(fds, IDLE_CONNS);
			if (ret)
				break;
			rps[with][r] = res.rps;
			p50[with][r] = us(res.p50);
			p99[with][r] = us(res.p99);
		}
	}
	free(fds);
	if (ret)
		return ret;
	for (with = 0; with < 2; with++) {
		m_rps[with] = median_of(rps[with], IDLE_ROUNDS);
		m_p50[with] = median_of(p50[with], IDLE_ROUNDS);
		m_p99[with] = median_of(p99[with], IDLE_ROUNDS);
		printf("  median %s %d idle: %9.0f req/s  latency p50 %7.1f us"
		       "  p99 %7.1f us\n",
		       with ? "with   " : "without", IDLE_CONNS, m_rps[with],
		       m_p50[with], m_p99[with]);
	}
	printf("  ratio with/without idle: throughput %.2f  latency p50 %.2f"
	       "  p99 %.2f\n\n",
	       m_rps[1] / m_rps[0], m_p50[1] / m_p50[0], m_p99[1] / m_p99[0]);
	return 0;
}

static int vm_request(int fd, uint64_t id, Cvm__Request *req,
		      const char *what)
{
	Cvm__Response *resp;
	int ret;

	req->id = id;
	ret = call(fd, req, &resp);
	if (ret) {
		fprintf(stderr, "bench-cvmd: %s: %s\n", what, strerror(-ret));
		return ret;
	}
	ret = resp_ok(what, resp);
	cvm__response__free_unpacked(resp, NULL);
	return ret;
}

static int lifecycle(int fd, uint64_t id, Cvm__LifecycleOp op,
		     const char *what, uint64_t *ret_ns)
{
	Cvm__LifecycleRequest lr = CVM__LIFECYCLE_REQUEST__INIT;
	Cvm__Request req = CVM__REQUEST__INIT;
	uint64_t t0 = now_ns();
	int ret;

	lr.name = DUR_VM;
	/* op 0 (INIT_START) is a value: its presence is the oneof's case */
	lr.op_set_case = CVM__LIFECYCLE_REQUEST__OP_SET_OP;
	lr.op = op;
	req.op_case = CVM__REQUEST__OP_LIFECYCLE;
	req.lifecycle = &lr;
	ret = vm_request(fd, id, &req, what);
	*ret_ns = now_ns() - t0;
	return ret;
}

static int show(int fd, uint64_t id, uint64_t *ret_ns)
{
	Cvm__ShowRequest sr = CVM__SHOW_REQUEST__INIT;
	Cvm__Request req = CVM__REQUEST__INIT;
	uint64_t t0 = now_ns();
	int ret;

	sr.name = DUR_VM;
	req.op_case = CVM__REQUEST__OP_SHOW;
	req.show = &sr;
	ret = vm_request(fd, id, &req, "show");
	*ret_ns = now_ns() - t0;
	return ret;
}

static int create_vm(int fd, uint64_t id, const char *name, uint64_t bytes)
{
	Cvm__CreateRequest cr = CVM__CREATE_REQUEST__INIT;
	Cvm__Request req = CVM__REQUEST__INIT;

	cr.name = (char *)name;
	cr.memory_bytes = bytes;
	req.op_case = CVM__REQUEST__OP_CREATE;
	req.create = &cr;
	return vm_request(fd, id, &req, "create");
}

static int destroy_vm(int fd, uint64_t id, const char *name)
{
	Cvm__DestroyRequest dr = CVM__DESTROY_REQUEST__INIT;
	Cvm__Request req = CVM__REQUEST__INIT;

	dr.name = (char *)name;
	req.op_case = CVM__REQUEST__OP_DESTROY;
	req.destroy = &dr;
	return vm_request(fd, id, &req, "destroy");
}

/*
 * The baseline of a durable transition: what one synchronous 4 KiB append
 * to a file in the state directory costs (a WAL commit is an append and
 * an fsync), timed in the same cycles as the transitions.
 */
static int sync_open(const char *dir, int *ret_fd)
{
	char path[4096];
	int fd;

	if (snprintf(path, sizeof(path), "%s/bench-fsync.XXXXXX", dir) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	unlink(path);
	*ret_fd = fd;
	return 0;
}

static int sync_append(int fd, unsigned int i, uint64_t *ret_ns)
{
	static char block[4096] = { 0x5a };
	uint64_t t0 = now_ns();

	errno = 0;
	if (pwrite(fd, block, sizeof(block), (off_t)i * sizeof(block)) !=
	    (ssize_t)sizeof(block))
		return errno ? -errno : -EIO;
	if (fdatasync(fd))
		return -errno;
	*ret_ns = now_ns() - t0;
	return 0;
}

/* 3. Durable transitions on a small VM, each persisted before the answer. */
static int bench_durable(const char *sock, unsigned int n,
			 const char *state_dir)
{
	uint64_t *start_ns, *done_ns, *term_ns, *show_ns, *sync_ns, id = 0;
	struct stats ss, sd, sf;
	unsigned int i;
	int fd = -1, sync_fd = -1, ret;
	bool created = false;

	start_ns = calloc(n, sizeof(*start_ns));
	done_ns = calloc(n, sizeof(*done_ns));
	term_ns = calloc(n, sizeof(*term_ns));
	show_ns = calloc(n, sizeof(*show_ns));
	sync_ns = calloc(n, sizeof(*sync_ns));
	if (!start_ns || !done_ns || !term_ns || !show_ns || !sync_ns) {
		ret = -ENOMEM;
		goto out;
	}
	if (state_dir) {
		ret = sync_open(state_dir, &sync_fd);
		if (ret) {
			fprintf(stderr, "bench-cvmd: fsync baseline in %s: %s\n",
				state_dir, strerror(-ret));
			goto out;
		}
	}
	ret = connect_unix(sock, &fd);
	if (ret)
		goto out;
	ret = create_vm(fd, ++id, DUR_VM, 4096);
	if (ret)
		goto out;
	created = true;
	for (i = 0; i < n; i++) {
		ret = show(fd, ++id, &show_ns[i]);
		if (!ret)
			ret = lifecycle(fd, ++id, CVM__LIFECYCLE_OP__INIT_START,
					"init-start", &start_ns[i]);
		if (!ret)
			ret = lifecycle(fd, ++id, CVM__LIFECYCLE_OP__INIT_DONE,
					"init-done", &done_ns[i]);
		if (!ret)
			ret = lifecycle(fd, ++id, CVM__LIFECYCLE_OP__TERMINATE,
					"terminate", &term_ns[i]);
		if (!ret && sync_fd >= 0)
			ret = sync_append(sync_fd, i, &sync_ns[i]);
		if (ret)
			goto out;
	}
	printf("== 3. durable transitions: VM '%s' of 4 KiB, %u cycles "
	       "init-start, init-done, terminate ==\n", DUR_VM, n);
	printf("  (each transition is committed to SQLite, WAL, "
	       "synchronous=FULL, before the answer;\n"
	       "   the baseline, a 4 KiB append + fdatasync in the state "
	       "dir, runs once per cycle too)\n");
	print_stats("init-start (NORMAL->TRANSIENT)", start_ns, n);
	print_stats("init-done (TRANSIENT->SECURE)", done_ns, n);
	print_stats("terminate (SECURE->NORMAL)", term_ns, n);
	print_stats("show (VMM round trip, no write)", show_ns, n);
	ss = stats_of(start_ns, n);
	sd = stats_of(done_ns, n);
	if (sync_fd >= 0) {
		print_stats("4 KiB append+fdatasync (state dir)", sync_ns, n);
		sf = stats_of(sync_ns, n);
		printf("  ratio init-start/fdatasync: p50 %.2f  p99 %.2f; "
		       "init-done/fdatasync: p50 %.2f  p99 %.2f\n",
		       (double)ss.p50 / sf.p50, (double)ss.p99 / sf.p99,
		       (double)sd.p50 / sf.p50, (double)sd.p99 / sf.p99);
	}
	printf("\n");
out:
	if (ret)
		fprintf(stderr, "bench-cvmd: durable: %s\n", strerror(-ret));
	if (created && destroy_vm(fd, ++id, DUR_VM) && !ret)
		ret = -EIO;
	if (fd >= 0)
		close(fd);
	if (sync_fd >= 0)
		close(sync_fd);
	free(start_ns);
	free(done_ns);
	free(term_ns);
	free(show_ns);
	free(sync_ns);
	return ret;
}

/*
 * Bulk create or destroy of PREFIX0 .. PREFIX<count-1>, at most window
 * requests in flight on one connection (cvmd's max_requests is 64).
 */
static int bulk(const char *sock, bool create, const char *prefix,
		unsigned int count, uint64_t bytes, unsigned int window)
{
	Cvm__CreateRequest cr = CVM__CREATE_REQUEST__INIT;
	Cvm__DestroyRequest dr = CVM__DESTROY_REQUEST__INIT;
	Cvm__Request req = CVM__REQUEST__INIT;
	const char *verb = create ? "create" : "destroy";
	unsigned int sent = 0, answered = 0, failed = 0;
	uint64_t *t_sent, *lat, start, wall;
	Cvm__Response *resp;
	char name[128];
	int fd = -1, ret;

	t_sent = calloc(count + 1, sizeof(*t_sent));
	lat = calloc(count + 1, sizeof(*lat));
	if (!t_sent || !lat) {
		ret = -ENOMEM;
		goto out_free;
	}
	ret = connect_unix(sock, &fd);
	if (ret)
		goto out_free;
	if (create) {
		req.op_case = CVM__REQUEST__OP_CREATE;
		req.create = &cr;
		cr.name = name;
		cr.memory_bytes = bytes;
	} else {
		req.op_case = CVM__REQUEST__OP_DESTROY;
		req.destroy = &dr;
		dr.name = name;
	}
	start = now_ns();
	while (answered < count) {
		while (sent < count && sent - answered < window) {
			snprintf(name, sizeof(name), "%s%u", prefix, sent);
			req.id = sent + 1;
			t_sent[sent] = now_ns();
			ret = cvm_frame_send_request(fd, &req, TIMEOUT_MS);
			if (ret)
				goto out;
			sent++;
		}
		ret = cvm_frame_recv_response(fd, &resp, TIMEOUT_MS);
		if (ret)
			goto out;
		if (!resp->id || resp->id > sent) {
			cvm__response__free_unpacked(resp, NULL);
			ret = -EPROTO;
			goto out;
		}
		lat[answered] = now_ns() - t_sent[resp->id - 1];
		if (resp->status != CVM__STATUS__OK && failed++ < 5)
			fprintf(stderr, "bench-cvmd: %s %s%llu: %s: %s\n", verb,
				prefix, (unsigned long long)resp->id - 1,
				cvm_status_name(resp->status), resp->message);
		cvm__response__free_unpacked(resp, NULL);
		answered++;
	}
	wall = now_ns() - start;
	printf("%s %u VMs", verb, count);
	if (create)
		printf(" of %llu KiB", (unsigned long long)bytes >> 10);
	printf(", %u in flight: wall %.3f s, %.2f ms per VM, %.0f VMs/s\n",
	       window, wall / 1e9, wall / 1e6 / count, count / (wall / 1e9));
	print_stats("per-request latency (queued)", lat, count);
	if (failed) {
		fprintf(stderr, "bench-cvmd: %u of %u %s requests failed\n",
			failed, count, verb);
		ret = -EIO;
	}
out:
	if (ret && ret != -EIO)
		fprintf(stderr, "bench-cvmd: %s: %s\n", verb, strerror(-ret));
	if (fd >= 0)
		close(fd);
out_free:
	free(t_sent);
	free(lat);
	return ret;
}

/* SIZE: bytes with an optional K, M or G suffix (binary). */
static int parse_size(const char *s, uint64_t *ret)
{
	unsigned long long v;
	char *end;
	int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -EINVAL;
	switch (*end) {
	case 'K': shift = 10; end++; break;
	case 'M': shift = 20; end++; break;
	case 'G': shift = 30; end++; break;
	}
	if (*end || v > (UINT64_MAX >> shift))
		return -EINVAL;
	*ret = (uint64_t)v << shift;
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
	fprintf(f,
		"Usage: bench-cvmd [OPTIONS] SOCKET\n"
		"       bench-cvmd SOCKET create PREFIX COUNT SIZE [WINDOW]\n"
		"       bench-cvmd SOCKET destroy PREFIX COUNT [WINDOW]\n"
		"\n"
		"  --only latency|throughput|idle|durable  run one part only\n"
		"  -n N               round trips per latency series (%d)\n"
		"  --seconds S        throughput time per client count (%d)\n"
		"  --cycles N         durable transition cycles (%d)\n"
		"  --state-dir DIR    also time append+fdatasync in DIR\n",
		LAT_N, TP_SECONDS, DUR_N);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "only", required_argument, NULL, 'o' },
		{ "seconds", required_argument, NULL, 's' },
		{ "cycles", required_argument, NULL, 'c' },
		{ "state-dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	unsigned int n = LAT_N, seconds = TP_SECONDS, cycles = DUR_N;
	unsigned int count, window = BULK_WINDOW;
	const char *only = NULL, *state_dir = NULL, *sock;
	uint64_t bytes = 0;
	int opt, ret = 0;

	while ((opt = getopt_long(argc, argv, "+n:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			only = optarg;
			if (strcmp(only, "latency") &&
			    strcmp(only, "throughput") &&
			    strcmp(only, "idle") && strcmp(only, "durable"))
				goto bad;
			break;
		case 'n':
			if (parse_uint(optarg, &n))
				goto bad;
			break;
		case 's':
			if (parse_uint(optarg, &seconds))
				goto bad;
			break;
		case 'c':
			if (parse_uint(optarg, &cycles))
				goto bad;
			break;
		case 'd':
			state_dir = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			goto bad;
		}
	}
	if (optind >= argc)
		goto bad;
	sock = argv[optind++];
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (optind < argc && !strcmp(argv[optind], "create")) {
		if (argc - optind < 4 || argc - optind > 5 ||
		    parse_uint(argv[optind + 2], &count) ||
		    parse_size(argv[optind + 3], &bytes) ||
		    (argc - optind == 5 &&
		     parse_uint(argv[optind + 4], &window)))
			goto bad;
		return bulk(sock, true, argv[optind + 1], count, bytes,
			    window) ? 1 : 0;
	}
	if (optind < argc && !strcmp(argv[optind], "destroy")) {
		if (argc - optind < 3 || argc - optind > 4 ||
		    parse_uint(argv[optind + 2], &count) ||
		    (argc - optind == 4 &&
		     parse_uint(argv[optind + 3], &window)))
			goto bad;
		return bulk(sock, false, argv[optind + 1], count, 0,
			    window) ? 1 : 0;
	}
	if (optind != argc)
		goto bad;

	if (!only || !strcmp(only, "latency"))
		ret = bench_latency(sock, n);
	if (!ret && (!only || !strcmp(only, "throughput")))
		ret = bench_throughput(sock, seconds);
	if (!ret && (!only || !strcmp(only, "idle")))
		ret = bench_idle(sock, seconds);
	if (!ret && (!only || !strcmp(only, "durable")))
		ret = bench_durable(sock, cycles, state_dir);
	return ret ? 1 : 0;
bad:
	usage(stderr);
	return 2;
}
