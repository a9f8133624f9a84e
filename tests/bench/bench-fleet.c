// SPDX-License-Identifier: GPL-2.0
/*
 * bench-fleet - the remote API's cost, against one cvmd:
 *
 *   bench-fleet UNIX_URI TLS_URI PKI_DIR [N [CVMD_PID]]
 *
 * 1. Round trip (status) after the handshake, over the unix socket and
 *    over TLS, N each on one connection: p50, p99 and the TLS/unix ratio.
 * 2. Full handshakes per second: connect, handshake, one status, close,
 *    for two seconds, one at a time; with CVMD_PID, also the CPU time
 *    cvmd and this client spent per handshake (the rate a loaded machine
 *    gives is mostly waiting for a CPU).
 * 3. The floor under 1: a 100-byte ping-pong with an echo thread over a
 *    unix socketpair and over TCP loopback, no cvmd, no TLS: how much of
 *    the TLS/unix ratio the kernel's TCP path alone costs.
 *
 * Uses cvmctl's own connection code (client/conn.c). Figures only.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench-stats.h"
#include "conn.h"

static int status_call(struct cvm_conn *c, uint64_t id)
{
	Cvm__StatusRequest st = CVM__STATUS_REQUEST__INIT;
	Cvm__Request req = CVM__REQUEST__INIT;
	Cvm__Response *resp;
	int r;

	req.id = id;
	req.op_case = CVM__REQUEST__OP_STATUS;
	req.status = &st;
	r = cvm_conn_call(c, &req, 10000, &resp);
	if (r)
		return r;
	r = resp->status == CVM__STATUS__OK ? 0 : -EIO;
	cvm__response__free_unpacked(resp, NULL);
	return r;
}

static int round_trips(const char *uri_str, const char *pki, size_t n,
		       struct stats *ret)
{
	struct cvm_conn c = CVM_CONN_INIT;
	struct cvm_uri uri;
	uint64_t *ns, t0;
	size_t i;
	int r;

	if (cvm_parse_uri(uri_str, &uri))
		return -EINVAL;
	ns = calloc(n, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	c.pki_dir = pki;
	r = cvm_conn_open(&c, &uri, 10000);
	if (r) {
		fprintf(stderr, "bench-fleet: %s: %s %s\n", uri_str,
			strerror(-r), c.why);
		free(ns);
		return r;
	}
	/* Warm up: the first calls pay for caches and the VMM-free path. */
	for (i = 0; i < 100 && !r; i++)
		r = status_call(&c, i + 1);
	for (i = 0; i < n && !r; i++) {
		t0 = now_ns();
		r = status_call(&c, 1000 + i);
		ns[i] = now_ns() - t0;
	}
	cvm_conn_close(&c);
	if (!r)
		*ret = stats_of(ns, n);
	free(ns);
	return r;
}

/* CPU seconds (user + system) of a process, from /proc; -1 when unknown. */
static double cpu_seconds(const char *pid)
{
	unsigned long long ut, st;
	char path[64], buf[1024], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid ? pid : "self");
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* After "(comm)": state is field 3, utime 14 and stime 15. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2,
			 "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
			 "%llu %llu",
			 &ut, &st) != 2)
		return -1;
	return (ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static unsigned long handshakes_done;

static int handshakes(const char *uri_str, const char *pki, double secs,
		      double *ret_rate)
{
	struct cvm_uri uri;
	uint64_t t0 = now_ns(), end = t0 + (uint64_t)(secs * 1e9);
	unsigned long n = 0;
	int r;

	if (cvm_parse_uri(uri_str, &uri))
		return -EINVAL;
	while (now_ns() < end) {
		struct cvm_conn c = CVM_CONN_INIT;

		c.pki_dir = pki;
		r = cvm_conn_open(&c, &uri, 10000);
		if (!r)
			r = status_call(&c, 1);
		cvm_conn_close(&c);
		if (r) {
			fprintf(stderr, "bench-fleet: handshake %lu: %s\n", n,
				strerror(-r));
			return r;
		}
		n++;
	}
	*ret_rate = n / ((now_ns() - t0) / 1e9);
	handshakes_done = n;
	return 0;
}

static void *echo(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[100];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (write(fd, buf, n) != n)
			break;
	close(fd);
	return NULL;
}

/* p50 of n 100-byte ping-pongs between fds[0] and an echo on fds[1]. */
static uint64_t ping_pong(int fds[2], size_t n)
{
	uint64_t *ns = calloc(n, sizeof(*ns)), t0, p50;
	char buf[100] = "";
	pthread_t th;
	size_t i;

	pthread_create(&th, NULL, echo, (void *)(intptr_t)fds[1]);
	for (i = 0; i < n; i++) {
		t0 = now_ns();
		if (write(fds[0], buf, sizeof(buf)) != sizeof(buf) ||
		    read(fds[0], buf, sizeof(buf)) != sizeof(buf))
			break;
		ns[i] = now_ns() - t0;
	}
	close(fds[0]);
	pthread_join(th, NULL);
	p50 = i == n ? stats_of(ns, n).p50 : 0;
	free(ns);
	return p50;
}

static int tcp_pair(int fds[2])
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int l, one = 1;

	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(l, 1) || getsockname(l, (struct sockaddr *)&sa, &len))
		return -errno;
	fds[0] = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(fds[0], (struct sockaddr *)&sa, sizeof(sa)))
		return -errno;
	fds[1] = accept(l, NULL, NULL);
	close(l);
	setsockopt(fds[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fds[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fds[1] < 0 ? -errno : 0;
}

int main(int argc, char **argv)
{
	size_t n = argc > 4 ? strtoul(argv[4], NULL, 10) : 20000;
	const char *pid = argc > 5 ? argv[5] : NULL;
	double rate, srv0, cli0;
	struct stats u, t;

	if (argc < 4) {
		fprintf(stderr,
			"usage: bench-fleet UNIX_URI TLS_URI PKI_DIR [N]\n");
		return 2;
	}
	if (round_trips(argv[1], NULL, n, &u) ||
	    round_trips(argv[2], argv[3], n, &t))
		return 1;
	printf("round trip (status, %zu calls, after the handshake):\n", n);
	printf("  unix socket  p50 %8.1f us  p99 %8.1f us  max %8.1f us\n",
	       us(u.p50), us(u.p99), us(u.max));
	printf("  mutual TLS   p50 %8.1f us  p99 %8.1f us  max %8.1f us\n",
	       us(t.p50), us(t.p99), us(t.max));
	printf("  TLS / unix   p50 %.2fx  p99 %.2fx  (target p50 <= 1.5x)\n",
	       (double)t.p50 / u.p50, (double)t.p99 / u.p99);
	srv0 = pid ? cpu_seconds(pid) : -1;
	cli0 = cpu_seconds(NULL);
	if (handshakes(argv[2], argv[3], 2.0, &rate))
		return 1;
	printf("full handshakes (connect, TLS 1.3 + client cert, status, "
	       "close), one at a time: %.0f /s\n",
	       rate);
	if (srv0 >= 0 && handshakes_done)
		printf("  CPU per handshake: cvmd %.2f ms (%.0f /s per core), "
		       "client %.2f ms (its context and files each time)\n",
		       (cpu_seconds(pid) - srv0) * 1e3 / handshakes_done,
		       handshakes_done / (cpu_seconds(pid) - srv0 + 1e-9),
		       (cpu_seconds(NULL) - cli0) * 1e3 / handshakes_done);
	{
		int fds[2];
		uint64_t un, tcp;

		if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds))
			return 1;
		un = ping_pong(fds, n);
		if (tcp_pair(fds))
			return 1;
		tcp = ping_pong(fds, n);
		printf("transport floor, 100-byte ping-pong, no cvmd, no TLS: "
		       "unix p50 %.1f us, TCP loopback p50 %.1f us (%.2fx)\n",
		       us(un), us(tcp), (double)tcp / un);
	}
	return 0;
}
