// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fuzz-request.c - libFuzzer target: bytes arriving on cvmd's API socket,
 * through the frame reader, request decoding and the dispatch table, as
 * an admin client (so every handler is reachable). The daemon has no VMs
 * and may create none (max_vms 0), so no process is ever spawned.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cvmd.h"

static struct cvmd d;
static struct cvmd_client *client;
static int peer = -1;

static void setup(void)
{
	int sv[2];

	cvmd_config_defaults(&d.cfg);
	d.cfg.max_vms = 0;
	d.backend = "sim";
	cvmd_init(&d, uv_default_loop());
	if (cvm_registry_open(":memory:", &d.reg) ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv))
		abort();
	peer = sv[1];
	client = calloc(1, sizeof(*client));
	client->d = &d;
	client->ops = &cvmd_socket_client_ops;
	client->refs = 1;
	client->admin = true;
	cvm_frame_reader_init(&client->rd, CVM_FRAME_MAX);
	uv_pipe_init(d.loop, &client->pipe, 0);
	client->pipe.data = client;
	if (uv_pipe_open(&client->pipe, sv[0]))
		abort();
	list_add_tail(&client->node, &d.clients);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *msg = NULL;
	char sink[65536];
	size_t len = 0;
	int ret;

	if (!client)
		setup();
	/* As the socket would deliver it: a byte stream of frames. */
	if (cvm_frame_reader_feed(&client->rd, data, size))
		return 0;
	while ((ret = cvm_frame_reader_next(&client->rd, &msg, &len)) > 0)
		cvmd_client_dispatch(client, msg, len);
	if (ret < 0) {
		cvm_frame_reader_free(&client->rd);
		cvm_frame_reader_init(&client->rd, CVM_FRAME_MAX);
	}
	/* Start each input from a clean connection state. */
	cvm_frame_reader_free(&client->rd);
	cvm_frame_reader_init(&client->rd, CVM_FRAME_MAX);
	cvmd_watch_drop_client(&d, client);
	client->in_flight = 0;
	uv_run(d.loop, UV_RUN_NOWAIT);
	while (read(peer, sink, sizeof(sink)) > 0)
		;
	return 0;
}
