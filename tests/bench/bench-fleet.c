// SPDX-License-Identifier: GPL-2.0
/*
 * bench-fleet - the remote API's cost, against one cvmd:
 *
 *   bench-fleet UNIX_URI TLS_URI PKI_DIR [N]
 *
 * 1. Round trip (status) after the handshake, over the unix socket and
 *    over TLS, N each on one connection: p50, p99 and the TLS/unix ratio.
 * 2. Full handshakes per second: connect, handshake, one status, close,
 *    for two seconds, one at a time.
 *
 * Uses cvmctl's own connection code (client/conn.c). Figures only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	return 0;
}

int main(int argc, char **argv)
{
	size_t n = argc > 4 ? strtoul(argv[4], NULL, 10) : 20000;
	struct stats u, t;
	double rate;

	if (argc < 4) {
		fprintf(stderr, "usage: bench-fleet UNIX_URI TLS_URI PKI_DIR [N]\n");
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
	if (handshakes(argv[2], argv[3], 2.0, &rate))
		return 1;
	printf("full handshakes (connect, TLS 1.3 + client cert, status, "
	       "close), one at a time: %.0f /s\n", rate);
	return 0;
}
