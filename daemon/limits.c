// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * limits.c - what clients of the API socket may make cvmd hold, per uid
 * and in all: connections (max_connections, max_connections_per_uid) and
 * bytes of requests read but not yet whole (max_input_per_uid,
 * max_input). Beyond a connection cap the peer gets one LIMIT answer and
 * is closed; beyond an input budget cvmd stops reading that connection
 * (backpressure) until the budget has room again. uid 0 is exempt from the
 * per-uid caps, never from the totals. Every refusal is counted
 * (cvmctl status).
 */
#include <errno.h>
#include <stdlib.h>
#include <syslog.h>

#include "cvmd.h"

struct cvmd_peer {
	struct list_head node;
	uid_t uid;
	unsigned int nr_conns;
	uint64_t input_bytes;
};

static struct cvmd_peer *peer_find(struct cvmd *d, uid_t uid)
{
	struct cvmd_peer *p;

	list_for_each_entry(p, &d->peers, node)
		if (p->uid == uid)
			return p;
	return NULL;
}

/**
 * cvmd_peer_admit() - count a new connection of @uid, or refuse it
 * @d: the daemon
 * @uid: the peer's uid
 * @ret_peer: its tally, for cvmd_peer_input() and cvmd_peer_leave()
 *
 * Return: 0; -EUSERS over a connection cap; -ENOMEM.
 */
int cvmd_peer_admit(struct cvmd *d, uid_t uid, struct cvmd_peer **ret_peer)
{
	struct cvmd_peer *p = peer_find(d, uid);

	if (d->nr_conns >= d->cfg.max_connections ||
	    (uid && p && p->nr_conns >= d->cfg.max_connections_per_uid)) {
		/* Logged, but not once per attempt: that would be a flood. */
		if (!(d->refused.connections++ % 100))
			cvmd_log(LOG_WARNING, "uid %u: too many connections "
				 "(limits: %u in all, %u per uid; %llu refused "
				 "so far)", (unsigned int)uid,
				 d->cfg.max_connections,
				 d->cfg.max_connections_per_uid,
				 (unsigned long long)d->refused.connections);
		return -EUSERS;
	}
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return -ENOMEM;
		p->uid = uid;
		list_add_tail(&p->node, &d->peers);
	}
	p->nr_conns++;
	d->nr_conns++;
	*ret_peer = p;
	return 0;
}

/* A connection of @p is gone (its input already given back). */
void cvmd_peer_leave(struct cvmd *d, struct cvmd_peer *p)
{
	d->nr_conns--;
	if (--p->nr_conns || p->input_bytes)
		return;
	list_del(&p->node);
	free(p);
}

/* Account for a connection's input buffer growing or shrinking by @delta. */
void cvmd_peer_input(struct cvmd *d, struct cvmd_peer *p, int64_t delta)
{
	p->input_bytes += delta;
	d->input_bytes += delta;
}

/* May a connection of @p read more, or must it wait for room? */
bool cvmd_peer_may_read(struct cvmd *d, const struct cvmd_peer *p)
{
	if (d->input_bytes >= d->cfg.max_input)
		return false;
	return !p->uid || p->input_bytes < d->cfg.max_input_per_uid;
}
