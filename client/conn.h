/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * conn.h - cvmctl's connection to cvmd: connect to a URI (a unix socket,
 * or TCP with mutual TLS), send one Request and wait for its Response, or
 * read a stream of Responses (events) from one or several hosts. Every
 * function returns 0 or -errno; the caller says what failed (and, for
 * TLS, c->why says what OpenSSL said).
 */
#ifndef CVMCTL_CONN_H
#define CVMCTL_CONN_H

#include "cvm-frame.h"
#include "parse.h"

struct cvm_conn {
	int fd;
	struct cvm_frame_reader reader; /* for cvm_conn_next() */
	const char *pki_dir;		/* tls: --pki-dir, or NULL (defaults) */
	void *ssl_ctx;			/* tls: SSL_CTX, SSL (OpenSSL's) */
	void *ssl;
	char why[512];			/* tls: OpenSSL's reason, or "" */
};

#define CVM_CONN_INIT { .fd = -1 }

/* The TLS files cvmctl uses (DESIGN §9): --pki-dir, ~/.pki/cvm, /etc/pki. */
struct cvm_pki {
	char ca[4200], cert[4200], key[4200];	/* a 4095-byte dir and more */
};

/* Where the CA, certificate and key are looked for, given --pki-dir. */
void cvm_pki_paths(const char *pki_dir, const char *home,
		   struct cvm_pki *ret);

/*
 * Connect within timeout_ms (< 0: no limit); for tls:// the handshake
 * too. Return: -ETIMEDOUT, the connect() error (-ENOENT, -ECONNREFUSED,
 * -EHOSTUNREACH, ...), -EHOSTDOWN (no such host name), -ENOKEY (the CA
 * file is missing), -EACCES (a TLS peer refused, or was refused: why says
 * which).
 */
int cvm_conn_open(struct cvm_conn *c, const struct cvm_uri *uri,
		  int timeout_ms);

/*
 * Send req and wait, within timeout_ms overall, for the Response with
 * req's id. Return: -ETIMEDOUT, -ECONNRESET/-EPIPE (cvmd went away),
 * -EBADMSG/-EMSGSIZE (undecodable frame), -EPROTO (a response to another
 * request). A refusal with id 0 (cvmd refusing the connection, over a
 * limit) is the answer too. The caller frees *ret with cvm__response__free_unpacked().
 */
int cvm_conn_call(struct cvm_conn *c, const Cvm__Request *req, int timeout_ms,
		  Cvm__Response **ret);

/* Send one request without waiting for an answer (events). */
int cvm_conn_send(struct cvm_conn *c, const Cvm__Request *req, int timeout_ms);

/*
 * Next streamed Response, waiting without limit. Returns -EINTR as soon as
 * stop_fd (a signalfd, say; -1 for none) becomes readable, -ECONNRESET when
 * cvmd closes the connection.
 */
int cvm_conn_next(struct cvm_conn *c, int stop_fd, Cvm__Response **ret);

/*
 * The same over several connections: the next Response from any of them,
 * with *ret_index saying which; an error is that connection's (also in
 * *ret_index).
 */
int cvm_conn_next_any(struct cvm_conn **cs, size_t n, int stop_fd,
		      size_t *ret_index, Cvm__Response **ret);

void cvm_conn_close(struct cvm_conn *c);

#endif /* CVMCTL_CONN_H */
