/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * metrics.h - GET /metrics in the Prometheus text format (docs/metrics.md).
 *
 * The loop counts requests as they are dispatched and answered, and
 * renders the whole exposition from its own state (registry, cached VMM
 * counters, limits) into a text it publishes under a mutex: when
 * something changed (at most every 100 ms) and every second. The HTTP
 * side is libmicrohttpd's own thread; it copies the published text and
 * never touches the loop's state nor waits on a VMM.
 */
#ifndef CVMD_METRICS_H
#define CVMD_METRICS_H

#include "cvmd.h"

/*
 * Start serving on cfg.metrics_listen, or on the socket systemd passed
 * under the name "metrics" (cvmd-metrics.socket). Neither: 0, nothing
 * served. Return 0 or -errno.
 */
int cvmd_metrics_start(struct cvmd *d);
void cvmd_metrics_stop(struct cvmd *d);

/* Hooks of the dispatch (server.c): a request in, and each answer out. */
void cvmd_metrics_request(struct cvmd_client *c, const Cvm__Request *req);
void cvmd_metrics_dispatched(struct cvmd_client *c, const Cvm__Request *req);
void cvmd_metrics_answer(struct cvmd_client *c, const Cvm__Response *resp);

/* Render the exposition now into a malloc'd text (tests, benchmarks). */
int cvmd_metrics_render(struct cvmd *d, char **ret_text, size_t *ret_len);

#endif /* CVMD_METRICS_H */
