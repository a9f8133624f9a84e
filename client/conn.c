// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * conn.c - cvmctl's connection to cvmd, over proto/cvm-frame.c's framing.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

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

static int connect_unix(const char *path, int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct pollfd p;
	socklen_t len;
	int fd, err, r;

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

	p = (struct pollfd){ .fd = fd, .events = POLLOUT };
	do {
		r = poll(&p, 1, remaining_ms(deadline));
	} while (r < 0 && errno == EINTR);
	if (r <= 0) {
		err = r ? errno : ETIMEDOUT;
		goto err_close;
	}
	len = sizeof(err);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (!err)
		return fd;
err_close:
	close(fd);
	return -err;
}

int cvm_conn_open(struct cvm_conn *c, const struct cvm_uri *uri,
		  int timeout_ms)
{
	int fd;

	c->fd = -1;
	cvm_frame_reader_init(&c->reader, CVM_FRAME_MAX);
	switch (uri->kind) {
	case CVM_URI_UNIX:
		fd = connect_unix(uri->path, timeout_ms);
		if (fd < 0)
			return fd;
		c->fd = fd;
		return 0;
	case CVM_URI_TLS:
		/* The TLS transport comes with the fleet work. */
		return -EPROTONOSUPPORT;
	}
	return -EINVAL;
}

int cvm_conn_call(struct cvm_conn *c, const Cvm__Request *req, int timeout_ms,
		  Cvm__Response **ret)
{
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	Cvm__Response *resp;
	int r;

	r = cvm_frame_send_request(c->fd, req, timeout_ms);
	if (r)
		return r;
	r = cvm_frame_recv_response(c->fd, &resp, remaining_ms(deadline));
	if (r)
		return r;
	if (resp->id != req->id) {
		cvm__response__free_unpacked(resp, NULL);
		return -EPROTO;
	}
	*ret = resp;
	return 0;
}

int cvm_conn_next(struct cvm_conn *c, int stop_fd, Cvm__Response **ret)
{
	struct pollfd p[2] = {
		{ .fd = c->fd, .events = POLLIN },
		{ .fd = stop_fd, .events = POLLIN },
	};
	uint8_t buf[65536];
	const uint8_t *msg;
	size_t len;
	ssize_t n;
	int r;

	for (;;) {
		r = cvm_frame_reader_next(&c->reader, &msg, &len);
		if (r < 0)
			return r;
		if (r) {
			*ret = cvm__response__unpack(NULL, len, msg);
			return *ret ? 0 : -EBADMSG;
		}
		r = poll(p, stop_fd >= 0 ? 2 : 1, -1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (stop_fd >= 0 && p[1].revents)
			return -EINTR;
		if (!p[0].revents)
			continue;
		n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (!n)
			return -ECONNRESET;
		r = cvm_frame_reader_feed(&c->reader, buf, n);
		if (r)
			return r;
	}
}

void cvm_conn_close(struct cvm_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	cvm_frame_reader_free(&c->reader);
}
