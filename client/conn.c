// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * conn.c - cvmctl's connection to cvmd, over proto/cvm-frame.c's framing:
 * a unix socket, or TCP with mutual TLS (OpenSSL; cvmctl presents its
 * client certificate and checks cvmd's against the CA and the host name).
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "conn.h"

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What is left of a deadline as a timeout (-1: none; 0: expired). */
static int remaining_ms(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - now_ms();
	return left > 0 ? (int)left : 0;
}

/* Wait for a non-blocking connect() to finish. */
static int connect_wait(int fd, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	socklen_t len;
	int err, r;

	do {
		r = poll(&p, 1, remaining_ms(deadline));
	} while (r < 0 && errno == EINTR);
	if (r <= 0)
		return r ? -errno : -ETIMEDOUT;
	len = sizeof(err);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -errno;
	return -err;
}

static int connect_unix(const char *path, int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	for (;;) {
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			return fd;
		err = errno;
		if (err == EINTR)
			continue;
		if (err == EINPROGRESS)
			break;
		if (err != EAGAIN)
			goto err_close;
		/* The listen backlog is full: retry until the deadline. */
		if (deadline >= 0 && now_ms() >= deadline) {
			err = ETIMEDOUT;
			goto err_close;
		}
		usleep(10000);
	}
	err = -connect_wait(fd, deadline);
	if (!err)
		return fd;
err_close:
	close(fd);
	return -err;
}

static int connect_tcp(const char *host, uint16_t port, int64_t deadline)
{
	struct addrinfo hints = {
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG,
	}, *ai, *a;
	char serv[8];
	int fd = -1, r = -EHOSTDOWN, one = 1;

	snprintf(serv, sizeof(serv), "%u", port);
	if (getaddrinfo(host, serv, &hints, &ai))
		return -EHOSTDOWN;
	for (a = ai; a; a = a->ai_next) {
		fd = socket(a->ai_family,
			    a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			    a->ai_protocol);
		if (fd < 0) {
			r = -errno;
			continue;
		}
		/* One small frame each way: no Nagle delay. */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (!connect(fd, a->ai_addr, a->ai_addrlen))
			break;
		r = errno == EINPROGRESS ? connect_wait(fd, deadline) : -errno;
		if (!r)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd >= 0 ? fd : r;
}

void cvm_pki_paths(const char *pki_dir, const char *home, struct cvm_pki *ret)
{
	char dir[4096];

	if (!pki_dir && home) {
		snprintf(dir, sizeof(dir), "%.4000s/.pki/cvm", home);
		snprintf(ret->ca, sizeof(ret->ca), "%.4095s/cacert.pem", dir);
		if (!access(ret->ca, F_OK))
			pki_dir = dir;
	}
	if (pki_dir) {
		snprintf(ret->ca, sizeof(ret->ca), "%.4095s/cacert.pem",
			 pki_dir);
		snprintf(ret->cert, sizeof(ret->cert), "%.4095s/clientcert.pem",
			 pki_dir);
		snprintf(ret->key, sizeof(ret->key), "%.4095s/clientkey.pem",
			 pki_dir);
		return;
	}
	/* libvirt's layout */
	snprintf(ret->ca, sizeof(ret->ca), "/etc/pki/CA/cacert.pem");
	snprintf(ret->cert, sizeof(ret->cert), "/etc/pki/cvm/clientcert.pem");
	snprintf(ret->key, sizeof(ret->key),
		 "/etc/pki/cvm/private/clientkey.pem");
}

/* OpenSSL's last reason into c->why; the error as -errno. */
static int tls_fail(struct cvm_conn *c, int ssl_err, int fallback)
{
	unsigned long e = ERR_peek_last_error();
	long v;

	if (ssl_err == SSL_ERROR_SYSCALL && !e) {
		snprintf(c->why, sizeof(c->why), "connection closed");
		ERR_clear_error();
		return errno ? -errno : -ECONNRESET;
	}
	if (c->ssl && (v = SSL_get_verify_result(c->ssl)) != X509_V_OK)
		snprintf(c->why, sizeof(c->why), "cvmd's certificate: %s",
			 X509_verify_cert_error_string(v));
	else if (e)
		snprintf(c->why, sizeof(c->why), "%s",
			 ERR_reason_error_string(e));
	ERR_clear_error();
	/* An alert from cvmd, or its certificate refused here: denied. */
	return ssl_err == SSL_ERROR_SSL ? -EACCES : fallback;
}

/* Wait for what OpenSSL asked for; 0 to retry, or -errno. */
static int tls_wait(struct cvm_conn *c, int r, int64_t deadline)
{
	int e = SSL_get_error(c->ssl, r);
	struct pollfd p = { .fd = c->fd };

	if (e == SSL_ERROR_ZERO_RETURN)
		return -ECONNRESET;
	if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
		return tls_fail(c, e, -ECONNRESET);
	p.events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
	do {
		r = poll(&p, 1, remaining_ms(deadline));
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return r ? 0 : -ETIMEDOUT;
}

static int tls_open(struct cvm_conn *c, const struct cvm_uri *uri,
		    int64_t deadline)
{
	struct cvm_pki pki;
	SSL_CTX *ctx;
	SSL *ssl;
	int r;

	/*
	 * OpenSSL writes with write(): a cvmd that closed on us (a refusal)
	 * must give -EPIPE, not kill cvmctl with SIGPIPE.
	 */
	signal(SIGPIPE, SIG_IGN);
	cvm_pki_paths(c->pki_dir, getenv("HOME"), &pki);
	if (access(pki.ca, R_OK)) {
		snprintf(c->why, sizeof(c->why), "no CA certificate %.400s",
			 pki.ca);
		return -ENOKEY;
	}
	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		return -ENOMEM;
	c->ssl_ctx = ctx;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	/* A record's header and body in one read(), not two. */
	SSL_CTX_set_read_ahead(ctx, 1);
	if (SSL_CTX_load_verify_locations(ctx, pki.ca, NULL) != 1) {
		snprintf(c->why, sizeof(c->why), "cannot load %.400s", pki.ca);
		return -ENOKEY;
	}
	/* Without a certificate of ours cvmd refuses us, and says so. */
	if (!access(pki.cert, R_OK) &&
	    (SSL_CTX_use_certificate_chain_file(ctx, pki.cert) != 1 ||
	     SSL_CTX_use_PrivateKey_file(ctx, pki.key, SSL_FILETYPE_PEM) !=
		 1)) {
		snprintf(c->why, sizeof(c->why),
			 "cannot load %.150s and %.150s: %.150s", pki.cert,
			 pki.key,
			 ERR_reason_error_string(ERR_peek_last_error()));
		ERR_clear_error();
		return -ENOKEY;
	}
	r = connect_tcp(uri->host, uri->port, deadline);
	if (r < 0)
		return r;
	c->fd = r;
	ssl = SSL_new(ctx);
	if (!ssl)
		return -ENOMEM;
	c->ssl = ssl;
	/* cvmd's certificate must name the host we asked for. */
	if (SSL_set1_host(ssl, uri->host) != 1 || !SSL_set_fd(ssl, c->fd))
		return -ENOMEM;
	if (!strchr(uri->host, ':') &&
	    strspn(uri->host, "0123456789.") != strlen(uri->host))
		SSL_set_tlsext_host_name(ssl, uri->host);
	for (;;) {
		ERR_clear_error();
		r = SSL_connect(ssl);
		if (r == 1)
			return 0;
		r = tls_wait(c, r, deadline);
		if (r)
			return r;
	}
}

int cvm_conn_open(struct cvm_conn *c, const struct cvm_uri *uri,
		  int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	int fd, r;

	c->fd = -1;
	c->ssl = c->ssl_ctx = NULL;
	c->why[0] = '\0';
	cvm_frame_reader_init(&c->reader, CVM_FRAME_MAX);
	switch (uri->kind) {
	case CVM_URI_UNIX:
		fd = connect_unix(uri->path, timeout_ms);
		if (fd < 0)
			return fd;
		c->fd = fd;
		return 0;
	case CVM_URI_TLS:
		r = tls_open(c, uri, deadline);
		if (r)
			cvm_conn_close(c);
		return r;
	}
	return -EINVAL;
}

static int tls_write(struct cvm_conn *c, const uint8_t *buf, size_t len,
		     int64_t deadline)
{
	int n, r;

	while (len) {
		ERR_clear_error();
		n = SSL_write(c->ssl, buf, len);
		if (n > 0) {
			buf += n;
			len -= n;
			continue;
		}
		r = tls_wait(c, n, deadline);
		if (r)
			return r;
	}
	return 0;
}

int cvm_conn_send(struct cvm_conn *c, const Cvm__Request *req, int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	uint8_t *buf;
	size_t len;
	int r;

	if (!c->ssl)
		return cvm_frame_send_request(c->fd, req, timeout_ms);
	r = cvm_frame_pack_request(req, &buf, &len);
	if (r)
		return r;
	r = tls_write(c, buf, len, deadline);
	free(buf);
	return r;
}

/*
 * Read what is there into the frame reader without waiting. Return > 0
 * when bytes came, 0 when none are there yet, or -errno.
 */
static int read_some(struct cvm_conn *c)
{
	uint8_t buf[65536];
	ssize_t n;
	int e, r;

	if (c->ssl) {
		ERR_clear_error();
		n = SSL_read(c->ssl, buf, sizeof(buf));
		if (n <= 0) {
			e = SSL_get_error(c->ssl, n);
			if (e == SSL_ERROR_WANT_READ ||
			    e == SSL_ERROR_WANT_WRITE)
				return 0;
			if (e == SSL_ERROR_ZERO_RETURN)
				return -ECONNRESET;
			return tls_fail(c, e, -ECONNRESET);
		}
	} else {
		n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0)
			return errno == EINTR || errno == EAGAIN ? 0 : -errno;
		if (!n)
			return -ECONNRESET;
	}
	r = cvm_frame_reader_feed(&c->reader, buf, n);
	return r ? r : 1;
}

/* A whole frame already buffered (1), none (0), or -errno. */
static int take_frame(struct cvm_conn *c, Cvm__Response **ret)
{
	const uint8_t *msg;
	size_t len;
	int r;

	r = cvm_frame_reader_next(&c->reader, &msg, &len);
	if (r <= 0)
		return r;
	*ret = cvm_response_decode(msg, len);
	return *ret ? 1 : -EBADMSG;
}

/*
 * Bytes OpenSSL holds, decrypted or read ahead, that a poll() would not
 * announce. (A partial record too: read_some() then says 0, and the
 * caller polls.)
 */
static bool has_pending(struct cvm_conn *c)
{
	return c->ssl && SSL_has_pending(c->ssl);
}

int cvm_conn_next_any(struct cvm_conn **cs, size_t n, int stop_fd,
		      size_t *ret_index, Cvm__Response **ret)
{
	struct pollfd p[17];
	size_t i;
	int r;

	if (n > 16)
		return -E2BIG;
	for (;;) {
		for (i = 0; i < n; i++) {
			*ret_index = i;
			r = take_frame(cs[i], ret);
			if (r)
				return r < 0 ? r : 0;
			if (has_pending(cs[i])) {
				r = read_some(cs[i]);
				if (r < 0)
					return r;
				if (r)
					i--; /* take what it read */
			}
		}
		for (i = 0; i < n; i++)
			p[i] = (struct pollfd){ .fd = cs[i]->fd,
						.events = POLLIN };
		p[n] = (struct pollfd){ .fd = stop_fd, .events = POLLIN };
		r = poll(p, stop_fd >= 0 ? n + 1 : n, -1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (stop_fd >= 0 && p[n].revents)
			return -EINTR;
		for (i = 0; i < n; i++) {
			if (!p[i].revents)
				continue;
			*ret_index = i;
			r = read_some(cs[i]);
			if (r < 0)
				return r;
		}
	}
}

int cvm_conn_next(struct cvm_conn *c, int stop_fd, Cvm__Response **ret)
{
	size_t i;

	return cvm_conn_next_any(&c, 1, stop_fd, &i, ret);
}

/* One Response within the deadline, through the frame reader (TLS). */
static int tls_recv(struct cvm_conn *c, Cvm__Response **ret, int64_t deadline)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	bool starved = false;
	int r;

	for (;;) {
		r = take_frame(c, ret);
		if (r)
			return r < 0 ? r : 0;
		/* Wait first: after a request the answer is rarely there yet.
		 */
		if (starved || !has_pending(c)) {
			do {
				r = poll(&p, 1, remaining_ms(deadline));
			} while (r < 0 && errno == EINTR);
			if (r < 0)
				return -errno;
			if (!r)
				return -ETIMEDOUT;
		}
		r = read_some(c);
		if (r < 0)
			return r;
		starved = !r;
	}
}

int cvm_conn_call(struct cvm_conn *c, const Cvm__Request *req, int timeout_ms,
		  Cvm__Response **ret)
{
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	Cvm__Response *resp;
	int r;

	r = cvm_conn_send(c, req, timeout_ms);
	if (r)
		return r;
	if (c->ssl)
		r = tls_recv(c, &resp, deadline);
	else
		r = cvm_frame_recv_response(c->fd, &resp,
					    remaining_ms(deadline));
	if (r)
		return r;
	/* id 0: cvmd refusing the connection itself (a limit), say why. */
	if (resp->id != req->id &&
	    (resp->id || resp->status == CVM__STATUS__OK)) {
		cvm__response__free_unpacked(resp, NULL);
		return -EPROTO;
	}
	*ret = resp;
	return 0;
}

void cvm_conn_close(struct cvm_conn *c)
{
	if (c->ssl) {
		/* close_notify, best effort: cvmd closes either way. */
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	SSL_CTX_free(c->ssl_ctx);
	c->ssl = c->ssl_ctx = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	cvm_frame_reader_free(&c->reader);
}
