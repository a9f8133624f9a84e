// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * cvm-frame.c - length-prefixed protobuf frames and the errno <-> Status
 * mapping.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cvm-frame.h"

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for fd to be ready, within what is left of the deadline. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int timeout = -1, ret;

	if (deadline >= 0) {
		timeout = (int)(deadline - now_ms());
		if (timeout < 0)
			return -ETIMEDOUT;
	}
	do {
		ret = poll(&p, 1, timeout);
	} while (ret < 0 && errno == EINTR);
	if (ret < 0)
		return -errno;
	return ret ? 0 : -ETIMEDOUT;
}

static int write_all(int fd, const uint8_t *buf, size_t len, int64_t deadline)
{
	ssize_t n;
	int ret;

	while (len) {
		ret = wait_fd(fd, POLLOUT, deadline);
		if (ret)
			return ret;
		n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		buf += n;
		len -= n;
	}
	return 0;
}

static int read_all(int fd, uint8_t *buf, size_t len, int64_t deadline)
{
	ssize_t n;
	int ret;

	while (len) {
		ret = wait_fd(fd, POLLIN, deadline);
		if (ret)
			return ret;
		n = recv(fd, buf, len, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (!n)
			return -ECONNRESET;
		buf += n;
		len -= n;
	}
	return 0;
}

static int64_t deadline_of(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
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

static int pack(const ProtobufCMessage *msg, uint8_t **ret_buf,
		size_t *ret_len)
{
	size_t len = protobuf_c_message_get_packed_size(msg);
	uint8_t *buf;

	if (len > CVM_FRAME_MAX)
		return -EMSGSIZE;
	buf = malloc(CVM_FRAME_HDR + len);
	if (!buf)
		return -ENOMEM;
	put_be32(buf, len);
	protobuf_c_message_pack(msg, buf + CVM_FRAME_HDR);
	*ret_buf = buf;
	*ret_len = CVM_FRAME_HDR + len;
	return 0;
}

int cvm_frame_pack_response(const Cvm__Response *resp, uint8_t **ret_buf,
			    size_t *ret_len)
{
	return pack(&resp->base, ret_buf, ret_len);
}

int cvm_frame_pack_request(const Cvm__Request *req, uint8_t **ret_buf,
			   size_t *ret_len)
{
	return pack(&req->base, ret_buf, ret_len);
}

static int send_msg(int fd, const ProtobufCMessage *msg, int timeout_ms)
{
	uint8_t *buf;
	size_t len;
	int ret = pack(msg, &buf, &len);

	if (ret)
		return ret;
	ret = write_all(fd, buf, len, deadline_of(timeout_ms));
	free(buf);
	return ret;
}

int cvm_frame_send_request(int fd, const Cvm__Request *req, int timeout_ms)
{
	return send_msg(fd, &req->base, timeout_ms);
}

int cvm_frame_send_response(int fd, const Cvm__Response *resp, int timeout_ms)
{
	return send_msg(fd, &resp->base, timeout_ms);
}

static int recv_frame(int fd, uint8_t **ret_buf, size_t *ret_len,
		      int timeout_ms)
{
	int64_t deadline = deadline_of(timeout_ms);
	uint8_t hdr[CVM_FRAME_HDR], *buf;
	uint32_t len;
	int ret;

	ret = read_all(fd, hdr, sizeof(hdr), deadline);
	if (ret)
		return ret;
	len = get_be32(hdr);
	if (len > CVM_FRAME_MAX)
		return -EMSGSIZE;
	buf = malloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	ret = read_all(fd, buf, len, deadline);
	if (ret) {
		free(buf);
		return ret;
	}
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

/*
 * Drop the fields the schema does not know, here and in every nested
 * message. protobuf-c keeps them to pack them again, and it accepts keys
 * (field 0 in a non-minimal varint) that it packs as bytes no decoder
 * takes: relayed as they came, one peer's garbage would become another
 * peer's undecodable frame. What was not understood is never passed on.
 */
static void drop_unknown(ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	unsigned int i;
	size_t j, n;

	for (i = 0; i < m->n_unknown_fields; i++)
		free(m->unknown_fields[i].data);
	free(m->unknown_fields);
	m->unknown_fields = NULL;
	m->n_unknown_fields = 0;
	for (i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		char *at = (char *)m + f->offset;

		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			ProtobufCMessage **v = *(ProtobufCMessage ***)at;

			n = *(size_t *)((char *)m + f->quantifier_offset);
			for (j = 0; j < n; j++)
				if (v[j])
					drop_unknown(v[j]);
			continue;
		}
		/* A oneof's other members share this storage. */
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(uint32_t *)((char *)m + f->quantifier_offset) != f->id)
			continue;
		if (*(ProtobufCMessage **)at)
			drop_unknown(*(ProtobufCMessage **)at);
	}
}

Cvm__Request *cvm_request_decode(const uint8_t *msg, size_t len)
{
	Cvm__Request *req = cvm__request__unpack(NULL, len, msg);

	if (req)
		drop_unknown(&req->base);
	return req;
}

Cvm__Response *cvm_response_decode(const uint8_t *msg, size_t len)
{
	Cvm__Response *resp = cvm__response__unpack(NULL, len, msg);

	if (resp)
		drop_unknown(&resp->base);
	return resp;
}

int cvm_frame_recv_request(int fd, Cvm__Request **ret, int timeout_ms)
{
	uint8_t *buf;
	size_t len;
	int ret_code = recv_frame(fd, &buf, &len, timeout_ms);

	if (ret_code)
		return ret_code;
	*ret = cvm_request_decode(buf, len);
	free(buf);
	return *ret ? 0 : -EBADMSG;
}

int cvm_frame_recv_response(int fd, Cvm__Response **ret, int timeout_ms)
{
	uint8_t *buf;
	size_t len;
	int ret_code = recv_frame(fd, &buf, &len, timeout_ms);

	if (ret_code)
		return ret_code;
	*ret = cvm_response_decode(buf, len);
	free(buf);
	return *ret ? 0 : -EBADMSG;
}

void cvm_frame_reader_init(struct cvm_frame_reader *r, uint32_t max)
{
	memset(r, 0, sizeof(*r));
	r->max = max;
}

void cvm_frame_reader_free(struct cvm_frame_reader *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

int cvm_frame_reader_feed(struct cvm_frame_reader *r, const void *data,
			  size_t len)
{
	size_t cap;
	uint8_t *buf;

	if (r->len + len > r->cap) {
		cap = r->cap ? r->cap : 4096;
		while (cap < r->len + len)
			cap *= 2;
		/* Never buffer much more than one maximal frame. */
		if (cap > (size_t)r->max + CVM_FRAME_HDR + 65536)
			cap = r->len + len;
		buf = realloc(r->buf, cap);
		if (!buf)
			return -ENOMEM;
		r->buf = buf;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, data, len);
	r->len += len;
	return 0;
}

void cvm_frame_reader_trim(struct cvm_frame_reader *r)
{
	if (r->len || r->handed || r->cap <= 65536)
		return;
	free(r->buf);
	r->buf = NULL;
	r->cap = 0;
}

int cvm_frame_reader_next(struct cvm_frame_reader *r, const uint8_t **ret_msg,
			  size_t *ret_len)
{
	static const size_t hdr = CVM_FRAME_HDR;
	uint32_t len;

	/* Drop the frame handed out by the previous call. */
	if (r->handed) {
		memmove(r->buf, r->buf + r->handed, r->len - r->handed);
		r->len -= r->handed;
		r->handed = 0;
	}
	*ret_msg = NULL;
	*ret_len = 0;
	if (r->len < hdr)
		return 0;
	len = get_be32(r->buf);
	if (len > r->max)
		return -EMSGSIZE;
	if (r->len < hdr + len)
		return 0;
	*ret_msg = r->buf + hdr;
	*ret_len = len;
	r->handed = hdr + len;
	return 1;
}

/*
 * The one errno table: the Status each edge answers for an -errno, and the
 * D-Bus error name cvmd's bus edge replies with (the same word).
 */
static const struct {
	int err;
	Cvm__Status status;
	const char *bus_error;
} errno_map[] = {
	{ EINVAL, CVM__STATUS__INVALID_ARGUMENT, "org.cvm.Error.InvalidArgs" },
	{ ENOENT, CVM__STATUS__NOT_FOUND, "org.cvm.Error.NotFound" },
	{ EEXIST, CVM__STATUS__EXISTS, "org.cvm.Error.Exists" },
	{ EBADFD, CVM__STATUS__WRONG_STATE, "org.cvm.Error.InvalidState" },
	{ EOPNOTSUPP, CVM__STATUS__NOT_STARTED, "org.cvm.Error.NotStarted" },
	{ ENOMEM, CVM__STATUS__NO_MEMORY, "org.cvm.Error.NoMemory" },
	{ EBUSY, CVM__STATUS__BUSY, "org.cvm.Error.Busy" },
	{ EBADMSG, CVM__STATUS__INTEGRITY, "org.cvm.Error.Integrity" },
	{ ERANGE, CVM__STATUS__OUT_OF_RANGE, "org.cvm.Error.OutOfRange" },
	{ EACCES, CVM__STATUS__ACCESS_DENIED, "org.cvm.Error.AccessDenied" },
	{ EPERM, CVM__STATUS__ACCESS_DENIED, "org.cvm.Error.AccessDenied" },
	{ ENOLINK, CVM__STATUS__UNAVAILABLE, "org.cvm.Error.Unavailable" },
	{ EUSERS, CVM__STATUS__LIMIT, "org.cvm.Error.Limit" },
	/* a frame over the cap */
	{ EMSGSIZE, CVM__STATUS__LIMIT, "org.cvm.Error.Limit" },
};

Cvm__Status cvm_status_from_errno(int err)
{
	size_t i;

	if (err < 0)
		err = -err;
	if (!err)
		return CVM__STATUS__OK;
	for (i = 0; i < sizeof(errno_map) / sizeof(errno_map[0]); i++)
		if (errno_map[i].err == err)
			return errno_map[i].status;
	return CVM__STATUS__INTERNAL;
}

/* Return: the -errno a Status stands for (0 for OK, -EIO for INTERNAL). */
int cvm_errno_from_status(Cvm__Status status)
{
	size_t i;

	if (status == CVM__STATUS__OK)
		return 0;
	for (i = 0; i < sizeof(errno_map) / sizeof(errno_map[0]); i++)
		if (errno_map[i].status == status)
			return -errno_map[i].err;
	return -EIO;
}

/* Return: the D-Bus error name for an -errno (Failed for one not listed). */
const char *cvm_bus_error_from_errno(int err)
{
	size_t i;

	if (err < 0)
		err = -err;
	for (i = 0; i < sizeof(errno_map) / sizeof(errno_map[0]); i++)
		if (errno_map[i].err == err)
			return errno_map[i].bus_error;
	return "org.cvm.Error.Failed";
}

const char *cvm_status_name(Cvm__Status status)
{
	const ProtobufCEnumValue *v =
		protobuf_c_enum_descriptor_get_value(&cvm__status__descriptor,
						     status);

	return v ? v->name : "UNKNOWN";
}
