// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tls-listen.c - the remote API's listener and connections (DESIGN §9).
 *
 * Each connection is a cvmd_client whose edge is a TCP stream with OpenSSL
 * between: bytes read go into a memory BIO, SSL_do_handshake()/SSL_read()
 * consume them, and whatever OpenSSL writes to the other memory BIO goes
 * out with uv_write(). Nothing here waits: a handshake advances as its
 * bytes arrive. Once the client's certificate is verified (tls.c), its
 * subject DN is its identity: the same per-identity limits as a uid on the
 * unix socket (limits.c), and its privileges (manage, memory) from the
 * DN patterns. Requests then run through the same dispatch table.
 *
 * Refusals (no certificate, another CA, expired, revoked, a DN that may
 * not do what it asked) are logged with the peer's address and counted.
 * SIGHUP reloads the credentials: new handshakes use the new context,
 * established connections stay unless the new CRL revokes their
 * certificate.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <systemd/sd-daemon.h>

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include "operations.h"
#include "tls.h"

/* A client that has not finished its handshake by then is dropped. */
#define TLS_HANDSHAKE_MS 10000

struct tls_conn {
	struct cvmd_client c; /* c.node: in tls->conns */
	struct cvmd_tls *tls;
	uv_tcp_t tcp;
	uv_shutdown_t shutdown;
	SSL *ssl;
	BIO *net_in; /* what the peer sent, for OpenSSL */
	BIO *net_out; /* what OpenSSL wrote, for the peer */
	uint64_t started; /* uv_now() at accept */
	bool established;
	bool manage, memory; /* what its DN may do */
	char addr[INET6_ADDRSTRLEN + 8];
	char dn[512];
};

static struct tls_conn *to_conn(struct cvmd_client *c)
{
	return container_of(c, struct tls_conn, c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static char slab[65536];

	(void)h;
	(void)suggested;
	*buf = uv_buf_init(slab, sizeof(slab));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

static void conn_freed(uv_handle_t *h)
{
	struct tls_conn *t = h->data;

	SSL_free(t->ssl); /* frees both BIOs */
	cvm_frame_reader_free(&t->c.rd);
	free(t);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	struct tls_conn *t = req->data;

	(void)status;
	uv_close((uv_handle_t *)&t->tcp, conn_freed);
}

/* The last reference is gone: let queued bytes (an alert) out, then close. */
static void tls_release(struct cvmd_client *c)
{
	struct tls_conn *t = to_conn(c);
	char scratch[4096];
	uv_os_fd_t fd;
	int i;

	/* Unread input at close makes the kernel reset, losing our alert. */
	if (!uv_fileno((uv_handle_t *)&t->tcp, &fd))
		for (i = 0; i < 16; i++)
			if (recv(fd, scratch, sizeof(scratch), MSG_DONTWAIT) <=
			    0)
				break;
	t->shutdown.data = t;
	if (uv_shutdown(&t->shutdown, (uv_stream_t *)&t->tcp, on_shutdown))
		uv_close((uv_handle_t *)&t->tcp, conn_freed);
}

static void resume_stalled(struct cvmd_tls *tls);

static void conn_close(struct tls_conn *t)
{
	struct cvmd_client *c = &t->c;
	struct cvmd *d = c->d;

	if (c->closing)
		return;
	c->closing = true;
	uv_read_stop((uv_stream_t *)&t->tcp);
	list_del(&c->node);
	t->tls->nr_conns--;
	cvmd_watch_drop_client(d, c);
	if (c->peer) {
		cvmd_peer_input(d, c->peer, -(int64_t)c->rd.cap);
		cvmd_peer_leave(d, c->peer);
		c->peer = NULL;
		resume_stalled(t->tls);
	}
	cvmd_client_unref(c);
}

struct write_req {
	uv_write_t req;
	char *buf;
};

static void on_written(uv_write_t *req, int status)
{
	struct write_req *w = container_of(req, struct write_req, req);

	(void)status;
	free(w->buf);
	free(w);
}

/* Send what OpenSSL has written. Return 0 or -errno (then close). */
static int flush_out(struct tls_conn *t)
{
	size_t pending = BIO_ctrl_pending(t->net_out);
	struct write_req *w;
	uv_buf_t buf;
	int n;

	if (!pending)
		return 0;
	w = calloc(1, sizeof(*w));
	if (w)
		w->buf = malloc(pending);
	if (!w || !w->buf) {
		free(w);
		return -ENOMEM;
	}
	n = BIO_read(t->net_out, w->buf, pending);
	buf = uv_buf_init(w->buf, n > 0 ? n : 0);
	if (n <= 0 ||
	    uv_write(&w->req, (uv_stream_t *)&t->tcp, &buf, 1, on_written)) {
		free(w->buf);
		free(w);
		return -EIO;
	}
	return 0;
}

static void tls_send(struct cvmd_client *c, const Cvm__Response *resp)
{
	struct tls_conn *t = to_conn(c);
	uint8_t *frame;
	size_t len;

	/* A client that does not read does not get to pile up our memory. */
	if (uv_stream_get_write_queue_size((uv_stream_t *)&t->tcp) >
	    c->d->cfg.max_output) {
		cvmd_log(LOG_WARNING,
			 "tls: %s (%s) stopped reading: "
			 "disconnected",
			 t->addr, t->dn);
		c->d->refused.slow_readers++;
		conn_close(t);
		return;
	}
	if (cvm_frame_pack_response(resp, &frame, &len)) {
		conn_close(t);
		return;
	}
	/* Into a memory BIO: SSL_write() takes it all or fails. */
	ERR_clear_error();
	if (SSL_write(t->ssl, frame, len) != (int)len || flush_out(t))
		conn_close(t);
	free(frame);
}

static const struct cvmd_client_ops tls_client_ops = {
	.send = tls_send,
	.release = tls_release,
	.framed = true,
};

static void refuse(struct tls_conn *t, enum cvmd_tls_refusal why,
		   const char *detail)
{
	t->tls->refused[why]++;
	cvmd_log(LOG_WARNING, "tls: refused %s%s%s: %s (%s)", t->addr,
		 *t->dn ? " " : "", t->dn, cvmd_tls_refusal_name(why), detail);
}

/* A request frame: the DN's privileges, then the dispatch table. */
static void dispatch(struct tls_conn *t, const uint8_t *msg, size_t len)
{
	struct cvmd_client *c = &t->c;
	const struct cvm_operation *op;
	Cvm__Request *req;
	bool memory, allowed = true;
	char what[128];

	req = cvm_request_decode(msg, len);
	if (!req) {
		cvmd_client_error(c, 0, -EINVAL, "undecodable request frame");
		return;
	}
	/* Reading VM memory is its own privilege; any other change, manage. */
	op = cvm_operation(req->op_case);
	memory = op && op->priv == CVM_PRIV_MEMORY;
	if (memory)
		allowed = t->memory;
	else if (op && op->priv == CVM_PRIV_MANAGE)
		allowed = t->manage;
	if (!allowed) {
		snprintf(what, sizeof(what), "%s needs tls_allow_%s", op->name,
			 memory ? "memory" : "manage");
		refuse(t, CVMD_TLS_DENIED, what);
		cvmd_client_error(c, req->id, -EACCES,
				  "certificate %s may not "
				  "%s (tls_allow_%s)",
				  t->dn,
				  memory ? "read VM memory" : "change VMs",
				  memory ? "memory" : "manage");
	} else {
		c->authorized = true;
		cvmd_client_handle(c, req);
		c->authorized = false;
	}
	cvm__request__free_unpacked(req, NULL);
}

/* The handshake is done: who is it, and may it stay? */
static int established(struct tls_conn *t)
{
	struct cvmd_tls *tls = t->tls;
	struct cvmd *d = tls->d;
	X509 *cert = SSL_get0_peer_certificate(t->ssl);
	int ret;

	if (!cert || SSL_get_verify_result(t->ssl) != X509_V_OK) {
		refuse(t, cert ? CVMD_TLS_FAILED : CVMD_TLS_NO_CERT,
		       "not verified");
		return -EACCES;
	}
	ret = cvmd_tls_subject(cert, t->dn, sizeof(t->dn));
	if (ret) {
		refuse(t, CVMD_TLS_FAILED, "subject DN too long");
		return ret;
	}
	t->established = true;
	tls->handshakes++;
	t->manage = cvmd_tls_dn_matches(d->cfg.tls_allow_manage, t->dn);
	t->memory = cvmd_tls_dn_matches(d->cfg.tls_allow_memory, t->dn);
	ret = cvmd_peer_admit_dn(d, t->dn, &t->c.peer);
	if (ret) {
		cvmd_client_error(
		    &t->c, 0, ret,
		    ret == -EUSERS ? "too many connections (limits: %u in all, "
				     "%u per identity)"
				   : "out of memory",
		    d->cfg.max_connections, d->cfg.max_connections_per_uid);
		return ret;
	}
	cvmd_log(LOG_INFO, "tls: %s connected as %s (%s, %s)", t->addr, t->dn,
		 SSL_get_version(t->ssl),
		 t->manage && t->memory ? "manage, memory"
		 : t->manage		? "manage"
		 : t->memory		? "read, memory"
					: "read");
	return 0;
}

static int handshake(struct tls_conn *t)
{
	long verify;
	int r, err;

	ERR_clear_error();
	r = SSL_do_handshake(t->ssl);
	/* Our flight, or the alert that says why not. */
	if (flush_out(t))
		return -EIO;
	if (r == 1)
		return established(t);
	err = SSL_get_error(t->ssl, r);
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
		return 0;
	verify = SSL_get_verify_result(t->ssl);
	if (verify != X509_V_OK) {
		refuse(t, cvmd_tls_classify(verify, false),
		       X509_verify_cert_error_string(verify));
	} else {
		unsigned long e = ERR_peek_error();
		bool no_cert = ERR_GET_REASON(e) ==
			       SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE;

		refuse(t, cvmd_tls_classify(verify, no_cert),
		       e ? ERR_reason_error_string(e) : "connection closed");
	}
	ERR_clear_error();
	return -EACCES;
}

/* Paused for an input budget: may it read again? */
static void input_changed(struct tls_conn *t, size_t old_cap)
{
	struct cvmd_client *c = &t->c;
	struct cvmd *d = c->d;

	if (c->closing || c->rd.cap == old_cap)
		return;
	cvmd_peer_input(d, c->peer, (int64_t)c->rd.cap - (int64_t)old_cap);
	if (c->rd.cap < old_cap) {
		resume_stalled(t->tls);
	} else if (!cvmd_peer_may_read(d, c->peer)) {
		uv_read_stop((uv_stream_t *)&t->tcp);
		c->stalled = true;
		d->refused.input_stalls++;
	}
}

static void resume_stalled(struct cvmd_tls *tls)
{
	struct cvmd_client *c;

	list_for_each_entry(c, &tls->conns, node) {
		if (!c->stalled || !c->peer ||
		    !cvmd_peer_may_read(tls->d, c->peer))
			continue;
		c->stalled = false;
		uv_read_start((uv_stream_t *)&to_conn(c)->tcp, on_alloc,
			      on_read);
	}
}

/* Decrypt what arrived and run each whole frame. */
static void pump(struct tls_conn *t)
{
	struct cvmd_client *c = &t->c;
	size_t old_cap = c->rd.cap;
	const uint8_t *msg;
	char plain[16384];
	size_t len;
	int n, ret = 0;

	for (;;) {
		ERR_clear_error();
		n = SSL_read(t->ssl, plain, sizeof(plain));
		if (n <= 0)
			break;
		if (cvm_frame_reader_feed(&c->rd, plain, n)) {
			conn_close(t);
			return;
		}
		while (!c->closing &&
		       (ret = cvm_frame_reader_next(&c->rd, &msg, &len)) > 0)
			dispatch(t, msg, len);
		if (c->closing)
			return;
		if (ret < 0) {
			cvmd_client_error(c, 0, -EMSGSIZE,
					  "frame over %u bytes", CVM_FRAME_MAX);
			conn_close(t);
			return;
		}
	}
	n = SSL_get_error(t->ssl, n);
	/* close_notify, or a broken record: either way, done. */
	if ((n != SSL_ERROR_WANT_READ && n != SSL_ERROR_WANT_WRITE) ||
	    flush_out(t)) {
		conn_close(t);
		return;
	}
	cvm_frame_reader_trim(&c->rd);
	input_changed(t, old_cap);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct tls_conn *t = s->data;

	if (n < 0) {
		if (!t->established)
			refuse(t, CVMD_TLS_FAILED,
			       "closed during the handshake");
		conn_close(t);
		return;
	}
	if (!n)
		return;
	if (BIO_write(t->net_in, buf->base, n) != n) {
		conn_close(t);
		return;
	}
	cvmd_client_ref(&t->c);
	if (!t->established && handshake(t))
		conn_close(t);
	if (!t->c.closing && t->established)
		pump(t);
	cvmd_client_unref(&t->c);
}

/* Each second while there are any: handshakes that take too long. */
static void on_sweep(uv_timer_t *timer)
{
	struct cvmd_tls *tls = timer->data;
	struct cvmd_client *c, *n;
	bool any = false;

	list_for_each_entry_safe(c, n, &tls->conns, node) {
		struct tls_conn *t = to_conn(c);

		if (t->established)
			continue;
		if (uv_now(tls->d->loop) - t->started > TLS_HANDSHAKE_MS) {
			refuse(t, CVMD_TLS_FAILED, "handshake timed out");
			conn_close(t);
			continue;
		}
		any = true;
	}
	if (!any)
		uv_timer_stop(timer);
}

static void peer_name(uv_tcp_t *tcp, char *buf, size_t size)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	char ip[INET6_ADDRSTRLEN] = "?";
	unsigned int port = 0;

	if (!uv_tcp_getpeername(tcp, (struct sockaddr *)&ss, &len)) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *in = (struct sockaddr_in *)&ss;

			uv_ip4_name(in, ip, sizeof(ip));
			port = ntohs(in->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

			uv_ip6_name(in6, ip, sizeof(ip));
			port = ntohs(in6->sin6_port);
		}
	}
	snprintf(buf, size, ss.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip,
		 port);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct cvmd_tls *tls = server->data;
	struct cvmd *d = tls->d;
	struct tls_conn *t;

	if (status < 0)
		return;
	t = calloc(1, sizeof(*t));
	if (!t)
		return;
	t->tls = tls;
	t->c.d = d;
	t->c.ops = &tls_client_ops;
	t->c.refs = 1;
	t->c.uid = (uid_t)-1; /* not a local user */
	t->c.edge = t;
	t->started = uv_now(d->loop);
	cvm_frame_reader_init(&t->c.rd, CVM_FRAME_MAX);
	uv_tcp_init(d->loop, &t->tcp);
	t->tcp.data = t;
	list_add_tail(&t->c.node, &tls->conns);
	tls->nr_conns++;
	if (uv_accept(server, (uv_stream_t *)&t->tcp)) {
		conn_close(t);
		return;
	}
	peer_name(&t->tcp, t->addr, sizeof(t->addr));
	/* Handshakes in progress count against the total, too. */
	if (tls->nr_conns > d->cfg.max_connections) {
		d->refused.connections++;
		conn_close(t);
		return;
	}
	t->ssl = SSL_new(tls->ctx);
	t->net_in = BIO_new(BIO_s_mem());
	t->net_out = BIO_new(BIO_s_mem());
	if (!t->ssl || !t->net_in || !t->net_out) {
		BIO_free(t->net_in);
		BIO_free(t->net_out);
		t->net_in = t->net_out = NULL;
		conn_close(t);
		return;
	}
	/* An empty input BIO means "wait for more", not end of stream. */
	BIO_set_mem_eof_return(t->net_in, -1);
	SSL_set_bio(t->ssl, t->net_in, t->net_out);
	SSL_set_accept_state(t->ssl);
	uv_tcp_nodelay(&t->tcp, 1);
	uv_read_start((uv_stream_t *)&t->tcp, on_alloc, on_read);
	if (!uv_is_active((uv_handle_t *)&tls->sweep))
		uv_timer_start(&tls->sweep, on_sweep, 1000, 1000);
}

/* A passed socket with this FileDescriptorName, or -1 when none. */
static int listen_fd_named(const char *name)
{
	char **names = NULL;
	int n, i, fd = -1;

	n = sd_listen_fds_with_names(0, &names);
	for (i = 0; i < n; i++) {
		if (fd < 0 && names && !strcmp(names[i], name))
			fd = SD_LISTEN_FDS_START + i;
		if (names)
			free(names[i]);
	}
	free(names);
	/* Not for the VMMs cvmd spawns. */
	if (fd >= 0)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
}

/**
 * cvmd_listen_fd_unix() - the API socket systemd passed, if it did
 *
 * cvmd.socket may come with others (cvmd-tls.socket, cvmd-metrics.socket,
 * named "tls" and "metrics"): the listening unix stream socket among the
 * rest is the API's.
 *
 * Return: its fd, -1 when none was passed, -errno on a bad environment.
 */
int cvmd_listen_fd_unix(void)
{
	char **names = NULL;
	int n, i, fd = -1;

	n = sd_listen_fds_with_names(0, &names);
	if (n < 0)
		return n;
	for (i = 0; i < n && fd < 0; i++) {
		if (names && names[i] &&
		    (!strcmp(names[i], "tls") || !strcmp(names[i], "metrics")))
			continue;
		if (sd_is_socket_unix(SD_LISTEN_FDS_START + i, SOCK_STREAM, 1,
				      NULL, 0) > 0)
			fd = SD_LISTEN_FDS_START + i;
	}
	for (i = 0; names && names[i]; i++)
		free(names[i]);
	free(names);
	if (fd >= 0)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
}

static int bind_listen(struct cvmd_tls *tls, const char *spec)
{
	struct addrinfo hints = {
		.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
		.ai_socktype = SOCK_STREAM,
	}, *ai;
	char host[256], port[8];
	unsigned int p;
	int ret;

	ret = cvmd_config_parse_listen(spec, host, sizeof(host), &p);
	if (ret)
		return ret;
	snprintf(port, sizeof(port), "%u", p);
	/* At start-up, before the loop serves anyone: may block. */
	if (getaddrinfo(host, port, &hints, &ai))
		return -EADDRNOTAVAIL;
	ret = uv_tcp_bind(&tls->server, ai->ai_addr, 0);
	freeaddrinfo(ai);
	return ret;
}

/**
 * cvmd_tls_start() - serve the remote API when configured
 * @d: the daemon, its config loaded
 *
 * On when listen_tls is set or systemd passed a socket named "tls"
 * (cvmd-tls.socket); off otherwise.
 *
 * Return: 0, or -errno (the credentials or the address are unusable;
 * logged here with the file and why).
 */
int cvmd_tls_start(struct cvmd *d)
{
	struct cvmd_tls *tls;
	char why[512];
	int fd, ret;

	fd = listen_fd_named("tls");
	/* Both sockets taken (server.c's first): not for the VMMs to read. */
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (fd < 0 && (!d->cfg.listen_tls || !*d->cfg.listen_tls))
		return 0;
	tls = calloc(1, sizeof(*tls));
	if (!tls)
		return -ENOMEM;
	tls->d = d;
	list_init(&tls->conns);
	ret = cvmd_tls_context(&d->cfg, &tls->ctx, &tls->crl_loaded, why,
			       sizeof(why));
	if (ret) {
		cvmd_log(LOG_ERR, "tls: %s", why);
		free(tls);
		return ret;
	}
	uv_tcp_init(d->loop, &tls->server);
	tls->server.data = tls;
	uv_timer_init(d->loop, &tls->sweep);
	tls->sweep.data = tls;
	d->tls = tls;
	if (fd >= 0) {
		tls->activated = true;
		ret = uv_tcp_open(&tls->server, fd);
	} else {
		ret = bind_listen(tls, d->cfg.listen_tls);
	}
	if (!ret)
		ret =
		    uv_listen((uv_stream_t *)&tls->server, 256, on_connection);
	if (ret) {
		cvmd_log(LOG_ERR, "tls: cannot listen on %s: %s",
			 fd >= 0 ? "the passed socket" : d->cfg.listen_tls,
			 strerror(-ret));
		return ret;
	}
	tls->listening = true;
	cvmd_log(LOG_INFO, "tls: listening on %s%s",
		 fd >= 0 ? "" : d->cfg.listen_tls,
		 fd >= 0 ? "cvmd-tls.socket" : "");
	return 0;
}

/* Does the context's CRL revoke this established client? */
static bool revoked(struct cvmd_tls *tls, struct tls_conn *t)
{
	X509 *cert = SSL_get0_peer_certificate(t->ssl);
	X509_STORE_CTX *v;
	bool ret = false;

	if (!cert)
		return false;
	v = X509_STORE_CTX_new();
	if (!v)
		return false;
	if (X509_STORE_CTX_init(v, SSL_CTX_get_cert_store(tls->ctx), cert,
				SSL_get_peer_cert_chain(t->ssl)) == 1 &&
	    X509_verify_cert(v) != 1)
		ret = X509_STORE_CTX_get_error(v) == X509_V_ERR_CERT_REVOKED;
	X509_STORE_CTX_free(v);
	ERR_clear_error();
	return ret;
}

/**
 * cvmd_tls_reload() - read the CA, certificate, key and CRL again (SIGHUP)
 * @d: the daemon
 *
 * New handshakes use the new files; established connections stay, but
 * those whose certificate the new CRL revokes are closed. When a file is
 * unusable the old context stays in force.
 *
 * Return: 0, or -errno (logged).
 */
int cvmd_tls_reload(struct cvmd *d)
{
	struct cvmd_tls *tls = d->tls;
	struct cvmd_client *c, *n;
	unsigned int closed = 0;
	SSL_CTX *ctx;
	char why[512];
	bool crl;
	int ret;

	if (!tls)
		return 0;
	ret = cvmd_tls_context(&d->cfg, &ctx, &crl, why, sizeof(why));
	if (ret) {
		cvmd_log(LOG_ERR,
			 "tls: reload failed, keeping the old "
			 "credentials: %s",
			 why);
		return ret;
	}
	/* Connections hold their own reference to the old context. */
	SSL_CTX_free(tls->ctx);
	tls->ctx = ctx;
	tls->crl_loaded = crl;
	list_for_each_entry_safe(c, n, &tls->conns, node) {
		struct tls_conn *t = to_conn(c);

		if (!crl || !t->established || !revoked(tls, t))
			continue;
		refuse(t, CVMD_TLS_REVOKED, "revoked by the reloaded CRL");
		SSL_shutdown(t->ssl);
		flush_out(t);
		conn_close(t);
		closed++;
	}
	cvmd_log(LOG_INFO,
		 "tls: credentials reloaded (%s; %u connection%s "
		 "closed as revoked)",
		 crl ? "with a CRL" : "no CRL", closed, closed == 1 ? "" : "s");
	return 0;
}

void cvmd_tls_stop(struct cvmd *d)
{
	struct cvmd_tls *tls = d->tls;
	struct cvmd_client *c, *n;

	if (!tls)
		return;
	list_for_each_entry_safe(c, n, &tls->conns, node)
		conn_close(to_conn(c));
	if (!uv_is_closing((uv_handle_t *)&tls->sweep))
		uv_close((uv_handle_t *)&tls->sweep, NULL);
	if (!uv_is_closing((uv_handle_t *)&tls->server))
		uv_close((uv_handle_t *)&tls->server, NULL);
}

/* After the loop has closed every handle. */
void cvmd_tls_free(struct cvmd *d)
{
	if (!d->tls)
		return;
	SSL_CTX_free(d->tls->ctx);
	free(d->tls);
	d->tls = NULL;
}

void cvmd_tls_fill_status(struct cvmd *d, Cvm__DaemonStatus *st)
{
	struct cvmd_tls *tls = d->tls;

	if (!tls)
		return;
	st->tls_connections = tls->nr_conns;
	st->tls_handshakes = tls->handshakes;
	st->tls_refused_no_cert = tls->refused[CVMD_TLS_NO_CERT];
	st->tls_refused_unknown_ca = tls->refused[CVMD_TLS_UNKNOWN_CA];
	st->tls_refused_expired = tls->refused[CVMD_TLS_EXPIRED];
	st->tls_refused_revoked = tls->refused[CVMD_TLS_REVOKED];
	st->tls_refused_denied = tls->refused[CVMD_TLS_DENIED];
	st->tls_refused_other = tls->refused[CVMD_TLS_FAILED];
}
