// SPDX-License-Identifier: GPL-2.0-only OR LGPL-2.1-or-later
/*
 * cvm_snapshot.c - the GFNs' states as runs of consecutive GFNs of equal
 * (state, flags, DMA refcount), taken under the VM lock so they are one
 * instant, for inspection and debugging.
 *
 * The walk costs what the sparse maps hold (gfn_states, spages, dma_refs
 * and the backend's pinned pages) plus the memslots, never the VM's size:
 * a GFN with no entry in any of them has the VM's default state, so a gap
 * between entries is one run found with one lookup per map.
 */
#include "cvm_core.h"

static const u8 cvm_uapi_gfn_state[CVM_GFN_NR_STATES] = {
	[CVM_GFN_NORMAL] = CVM_GFN_STATE_NORMAL,
	[CVM_GFN_SHARED] = CVM_GFN_STATE_SHARED,
	[CVM_GFN_SECURE] = CVM_GFN_STATE_SECURE,
	[CVM_GFN_SECURE_PAGED_OUT] = CVM_GFN_STATE_SECURE,
};

/* Check for a fatal signal and reschedule once per this many steps. */
#define CVM_SNAPSHOT_STEPS 1024

/*
 * Where a walk stands in one map, once @valid: its first entry at or after
 * a GFN already passed (@next, U64_MAX when it has none up to the
 * extent's end) and that entry. A lookup is made again only once the walk
 * has gone past @next, so an empty map costs one lookup per extent, not
 * one per step.
 */
struct cvm_snapshot_cursor {
	bool valid;
	u64 next;
	void *entry;
};

/* Forget what the cursors know: a new extent starts. */
static void cvm_snapshot_reset(struct cvm_snapshot_cursor *c, int n)
{
	int i;

	for (i = 0; i < n; i++)
		c[i].valid = false;
}

/*
 * The cursor at @gfn: its entry there (NULL when absent), and *@next
 * lowered to the GFN where the map can next change what a run looks like:
 * @gfn + 1 after a present entry, the map's next entry after an absent one.
 */
static void *cvm_snapshot_at(struct cvm_snapshot_cursor *c, u64 gfn,
			     u64 *next)
{
	if (c->next == gfn) {
		*next = gfn + 1;
		return c->entry;
	}
	if (c->next < *next)
		*next = c->next;
	return NULL;
}

/* Bring a map's cursor up to @gfn, looking up only when it is behind. */
static void cvm_snapshot_seek(struct cvm_os_map *map,
			      struct cvm_snapshot_cursor *c, u64 gfn, u64 last)
{
	u64 idx = gfn;

	if (c->valid && c->next >= gfn)
		return;
	c->entry = cvm_os_map_find(map, &idx, last);
	c->next = c->entry ? idx : U64_MAX;
	c->valid = true;
}

enum { CVM_SNAP_STATE, CVM_SNAP_SPAGE, CVM_SNAP_DMA, CVM_SNAP_PIN,
       CVM_SNAP_NR };

/*
 * The run starting at @gfn inside the memslot extent ending at @end:
 * its attributes and its end (@run->nr_pages), as far as the maps show it
 * can't change.
 */
static void cvm_snapshot_step(struct cvm_core *vm,
			      struct cvm_snapshot_cursor *c, u64 gfn, u64 end,
			      struct cvm_gfn_run *run)
{
	enum cvm_gfn_state state = vm->untouched_state;
	struct cvm_spage *sp;
	u64 next = end;
	void *entry;

	cvm_snapshot_seek(&vm->gfn_states, &c[CVM_SNAP_STATE], gfn, end - 1);
	cvm_snapshot_seek(&vm->spages, &c[CVM_SNAP_SPAGE], gfn, end - 1);
	cvm_snapshot_seek(&vm->dma_refs, &c[CVM_SNAP_DMA], gfn, end - 1);
	if (!c[CVM_SNAP_PIN].valid || c[CVM_SNAP_PIN].next < gfn) {
		c[CVM_SNAP_PIN].next = cvm_os_next_pinned(vm, gfn, end - 1);
		c[CVM_SNAP_PIN].entry = NULL;
		c[CVM_SNAP_PIN].valid = true;
	}

	entry = cvm_snapshot_at(&c[CVM_SNAP_STATE], gfn, &next);
	if (entry)
		state = (enum cvm_gfn_state)cvm_os_map_to_value(entry);
	sp = cvm_snapshot_at(&c[CVM_SNAP_SPAGE], gfn, &next);
	entry = cvm_snapshot_at(&c[CVM_SNAP_DMA], gfn, &next);

	run->gfn = gfn;
	run->state = cvm_uapi_gfn_state[state];
	run->flags = 0;
	if (state == CVM_GFN_SECURE_PAGED_OUT)
		run->flags |= CVM_GFN_PAGED_OUT;
	if (sp && sp->pool)
		run->flags |= CVM_GFN_RESIDENT;
	if (c[CVM_SNAP_PIN].next == gfn)
		run->flags |= CVM_GFN_PINNED;
	cvm_snapshot_at(&c[CVM_SNAP_PIN], gfn, &next);
	run->pad = 0;
	run->dma_refs = entry ? (u32)cvm_os_map_to_value(entry) : 0;
	run->nr_pages = next - gfn;
}

static bool cvm_snapshot_same(const struct cvm_gfn_run *a,
			      const struct cvm_gfn_run *b)
{
	return a->gfn + a->nr_pages == b->gfn && a->state == b->state &&
	       a->flags == b->flags && a->dma_refs == b->dma_refs;
}

/**
 * cvm_snapshot_runs() - the VM's GFNs as runs of equal state
 * @vm: the VM, locked for the whole call: the runs are one instant
 * @out: where the first @capacity runs go; NULL when @capacity is 0
 * @capacity: runs @out has room for
 * @ret_nr: the runs the whole snapshot has, which may exceed @capacity
 *
 * Runs cover every GFN of every memslot once, in GFN order; consecutive
 * runs that touch differ. Counting the runs past @capacity lets a caller
 * learn the size it needs in the same lock hold. Costs O(entries of the
 * sparse maps + pinned pages + memslots), never O(VM size).
 *
 * Return: 0, or -EINTR on a fatal signal.
 */
int cvm_snapshot_runs(struct cvm_core *vm, struct cvm_gfn_run *out,
		      u32 capacity, u64 *ret_nr)
{
	struct cvm_snapshot_cursor c[CVM_SNAP_NR];
	struct cvm_gfn_run cur = { .nr_pages = 0 }, run;
	u64 gfn = 0, first, end, n = 0, steps = 0;

	while (cvm_os_next_memory(vm, gfn, &first, &end)) {
		cvm_snapshot_reset(c, CVM_SNAP_NR);
		for (gfn = first; gfn < end; gfn += run.nr_pages) {
			if (++steps % CVM_SNAPSHOT_STEPS == 0) {
				if (cvm_os_fatal_signal_pending())
					return -EINTR;
				cond_resched();
			}
			cvm_snapshot_step(vm, c, gfn, end, &run);
			if (cur.nr_pages && cvm_snapshot_same(&cur, &run)) {
				cur.nr_pages += run.nr_pages;
				continue;
			}
			if (cur.nr_pages && n < capacity)
				out[n] = cur;
			if (cur.nr_pages)
				n++;
			cur = run;
		}
		if (end == U64_MAX)
			break;
	}
	if (cur.nr_pages && n < capacity)
		out[n] = cur;
	if (cur.nr_pages)
		n++;
	*ret_nr = n;
	return 0;
}
