// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * limits.c - what clients of the API socket may make cvmd hold, per uid
 * and in all: connections (max_connections, max_connections_per_uid) and
 * bytes of requests read but not yet whole (max_input_per_uid,
 * max_input). Beyond a connection cap the peer gets one LIMIT answer and
 * is closed; beyond an input budget cvmd stops reading that connection
 * (backpressure) until the budget has room again. uid 0 is exempt from the
 * per-uid caps, never from the totals. A TLS client's identity is its
 * certificate's subject DN: the same per-identity caps, keyed by DN, and
 * no exemption. Every refusal is counted (cvmctl status).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "cvmd.h"

struct cvmd_peer {
	struct list_head node;
	uid_t uid;
	char *dn; /* a TLS identity; NULL: a local uid */
	unsigned int nr_conns;
	uint64_t input_bytes;
};

static struct cvmd_peer *peer_find(struct cvmd *d, uid_t uid, const char *dn)
{
	struct cvmd_peer *p;

	list_for_each_entry(p, &d->peers, node)
		if (dn ? p->dn && !strcmp(p->dn, dn) : !p->dn && p->uid == uid)
			return p;
	return NULL;
}

/* Per-identity caps apply to every DN and to every uid but 0. */
static bool peer_capped(const struct cvmd_peer *p)
{
	return p->dn || p->uid;
}

static int peer_admit(struct cvmd *d, uid_t uid, const char *dn,
		      struct cvmd_peer **ret_peer)
{
	struct cvmd_peer *p = peer_find(d, uid, dn);

	if (d->nr_conns >= d->cfg.max_connections ||
	    ((dn || uid) && p &&
	     p->nr_conns >= d->cfg.max_connections_per_uid)) {
		/* Logged, but not once per attempt: that would be a flood. */
		if (!(d->refused.connections++ % 100)) {
			char who[64];

			if (!dn)
				snprintf(who, sizeof(who), "uid %u",
					 (unsigned int)uid);
			cvmd_log(LOG_WARNING,
				 "%s: too many connections "
				 "(limits: %u in all, %u per identity; %llu "
				 "refused so far)",
				 dn ? dn : who, d->cfg.max_connections,
				 d->cfg.max_connections_per_uid,
				 (unsigned long long)d->refused.connections);
		}
		return -EUSERS;
	}
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return -ENOMEM;
		p->uid = uid;
		if (dn && !(p->dn = strdup(dn))) {
			free(p);
			return -ENOMEM;
		}
		list_add_tail(&p->node, &d->peers);
	}
	p->nr_conns++;
	d->nr_conns++;
	*ret_peer = p;
	return 0;
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
	return peer_admit(d, uid, NULL, ret_peer);
}

/* The same for a TLS client, whose identity is its subject @dn. */
int cvmd_peer_admit_dn(struct cvmd *d, const char *dn,
		       struct cvmd_peer **ret_peer)
{
	return peer_admit(d, (uid_t)-1, dn, ret_peer);
}

/* A connection of @p is gone (its input already given back). */
void cvmd_peer_leave(struct cvmd *d, struct cvmd_peer *p)
{
	d->nr_conns--;
	if (--p->nr_conns || p->input_bytes)
		return;
	list_del(&p->node);
	free(p->dn);
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
	return !peer_capped(p) || p->input_bytes < d->cfg.max_input_per_uid;
}
