/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cvm-frame.h - length-prefixed protobuf frames (4-byte big-endian length,
 * then the message), shared by cvmd, cvm-vmm and cvmctl; and the one
 * mapping between -errno and the protocol's Status.
 */
#ifndef CVM_FRAME_H
#define CVM_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "cvm.pb-c.h"

/* Largest frame anyone accepts: a 1 MiB guest read plus headroom. */
#define CVM_FRAME_MAX (4U << 20)
#define CVM_FRAME_HDR 4

/*
 * Blocking I/O on a socket. timeout_ms < 0 waits forever. Return 0 or
 * -errno: -ETIMEDOUT, -EPIPE/-ECONNRESET (peer gone), -EMSGSIZE (frame
 * over the cap), -EBADMSG (undecodable).
 */
int cvm_frame_send_request(int fd, const Cvm__Request *req, int timeout_ms);
int cvm_frame_send_response(int fd, const Cvm__Response *resp,
			    int timeout_ms);
int cvm_frame_recv_request(int fd, Cvm__Request **ret, int timeout_ms);
int cvm_frame_recv_response(int fd, Cvm__Response **ret, int timeout_ms);

/**
 * struct cvm_frame_reader - incremental reader for event loops: feed it
 * bytes as they arrive, take whole frames out.
 */
struct cvm_frame_reader {
	uint8_t *buf;
	size_t len;
	size_t cap;
	size_t handed;	/* bytes of the frame handed out, dropped next call */
	uint32_t max;
};

void cvm_frame_reader_init(struct cvm_frame_reader *r, uint32_t max);
void cvm_frame_reader_free(struct cvm_frame_reader *r);
int cvm_frame_reader_feed(struct cvm_frame_reader *r, const void *data,
			  size_t len);
/*
 * Return: 1 with the frame's bytes in ret_msg and ret_len (valid until the
 * next call) when a whole frame is buffered, 0 when more bytes are
 * needed, -EMSGSIZE when the announced length is over the cap.
 */
/* Free a large buffer once it holds nothing (after a big frame). */
void cvm_frame_reader_trim(struct cvm_frame_reader *r);
int cvm_frame_reader_next(struct cvm_frame_reader *r, const uint8_t **ret_msg,
			  size_t *ret_len);

/*
 * Decode a message, without the fields the schema does not know (they are
 * never passed on). Return: the message (free_unpacked), or NULL.
 */
Cvm__Request *cvm_request_decode(const uint8_t *msg, size_t len);
Cvm__Response *cvm_response_decode(const uint8_t *msg, size_t len);

/* Encode a message with its header into a malloc'd buffer. */
int cvm_frame_pack_response(const Cvm__Response *resp, uint8_t **ret_buf,
			    size_t *ret_len);
int cvm_frame_pack_request(const Cvm__Request *req, uint8_t **ret_buf,
			   size_t *ret_len);

/* The one errno table: errno <-> Status, and errno -> D-Bus error name. */
Cvm__Status cvm_status_from_errno(int err);
const char *cvm_bus_error_from_errno(int err);
int cvm_errno_from_status(Cvm__Status status);
const char *cvm_status_name(Cvm__Status status);

#endif /* CVM_FRAME_H */
