/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * conn.h - cvmctl's connection to cvmd: connect to a URI, send one Request
 * and wait for its Response, or read a stream of Responses (events).
 * Every function returns 0 or -errno; the caller says what failed.
 */
#ifndef CVMCTL_CONN_H
#define CVMCTL_CONN_H

#include "cvm-frame.h"
#include "parse.h"

struct cvm_conn {
	int fd;
	struct cvm_frame_reader reader; /* for cvm_conn_next() */
};

#define CVM_CONN_INIT { .fd = -1 }

/*
 * Connect within timeout_ms (< 0: no limit). Return: -EPROTONOSUPPORT for
 * tls:// (no TLS transport in this build), -ETIMEDOUT, or the connect()
 * error (-ENOENT, -ECONNREFUSED, -EACCES, ...).
 */
int cvm_conn_open(struct cvm_conn *c, const struct cvm_uri *uri,
		  int timeout_ms);

/*
 * Send req and wait, within timeout_ms overall, for the Response with
 * req's id. Return: -ETIMEDOUT, -ECONNRESET/-EPIPE (cvmd went away),
 * -EBADMSG/-EMSGSIZE (undecodable frame), -EPROTO (a response to another
 * request). The caller frees *ret with cvm__response__free_unpacked().
 */
int cvm_conn_call(struct cvm_conn *c, const Cvm__Request *req, int timeout_ms,
		  Cvm__Response **ret);

/*
 * Next streamed Response, waiting without limit. Returns -EINTR as soon as
 * stop_fd (a signalfd, say; -1 for none) becomes readable, -ECONNRESET when
 * cvmd closes the connection.
 */
int cvm_conn_next(struct cvm_conn *c, int stop_fd, Cvm__Response **ret);

void cvm_conn_close(struct cvm_conn *c);

#endif /* CVMCTL_CONN_H */
