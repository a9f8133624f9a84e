// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * sim-bitmap.c - the sim backend's sparse per-GFN storage: lazily zeroed
 * arrays (anonymous MAP_NORESERVE mappings, whose untouched pages cost
 * nothing, as the VMM's own guest memory) and two-level bitmaps whose set
 * bits are walked in GFN order at a cost that follows how many are set.
 * Together they play the part of the module's xarrays.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "sim-internal.h"

/* Return: zeroed memory of @bytes, or NULL. */
void *sim_lazy_alloc(size_t bytes)
{
	void *p;

	if (!bytes)
		bytes = 1;
	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

void *sim_lazy_free(void *p, size_t bytes)
{
	if (p)
		munmap(p, bytes ? bytes : 1);
	return NULL;
}

uint64_t *sim_bits_alloc(uint64_t nbits)
{
	return calloc(nbits / 64 + 1, sizeof(uint64_t));
}

int sim_bitmap_init(struct sim_bitmap *bm, uint64_t nbits)
{
	bm->nbits = nbits;
	bm->nwords = (nbits + 63) / 64;
	bm->nsummary = (bm->nwords + 63) / 64;
	bm->words = sim_lazy_alloc(bm->nwords * sizeof(uint64_t));
	bm->summary = sim_lazy_alloc(bm->nsummary * sizeof(uint64_t));
	if (!bm->words || !bm->summary) {
		sim_bitmap_fini(bm);
		return -ENOMEM;
	}
	return 0;
}

void sim_bitmap_fini(struct sim_bitmap *bm)
{
	bm->words = sim_lazy_free(bm->words, bm->nwords * sizeof(uint64_t));
	bm->summary = sim_lazy_free(bm->summary,
				    bm->nsummary * sizeof(uint64_t));
}

void sim_bitmap_set(struct sim_bitmap *bm, uint64_t bit)
{
	uint64_t w = bit / 64;

	bm->words[w] |= 1ULL << (bit % 64);
	bm->summary[w / 64] |= 1ULL << (w % 64);
}

void sim_bitmap_clear(struct sim_bitmap *bm, uint64_t bit)
{
	uint64_t w = bit / 64;

	bm->words[w] &= ~(1ULL << (bit % 64));
	if (!bm->words[w])
		bm->summary[w / 64] &= ~(1ULL << (w % 64));
}

/* Upfront pinning: every item, O(size) as the pinning itself. */
void sim_bitmap_set_all(struct sim_bitmap *bm)
{
	uint64_t w;

	for (w = 0; w < bm->nwords; w++)
		bm->words[w] = ~0ULL;
	if (bm->nbits % 64)
		bm->words[bm->nwords - 1] = (1ULL << (bm->nbits % 64)) - 1;
	for (w = 0; w < bm->nsummary; w++)
		bm->summary[w] = ~0ULL;
	if (bm->nwords % 64)
		bm->summary[bm->nsummary - 1] = (1ULL << (bm->nwords % 64)) - 1;
}

/**
 * sim_bitmap_next() - the first set bit at or after @from
 * @bm: the bitmap
 * @from: where to start
 *
 * Return: the bit, or bm->nbits when none is set.
 */
uint64_t sim_bitmap_next(const struct sim_bitmap *bm, uint64_t from)
{
	uint64_t w, s, word;

	if (from >= bm->nbits)
		return bm->nbits;
	w = from / 64;
	word = bm->words[w] & (~0ULL << (from % 64));
	if (word)
		return w * 64 + __builtin_ctzll(word);
	/* The rest of the words, found through the summary. */
	for (w++; w < bm->nwords; w = (s + 1) * 64) {
		s = w / 64;
		word = bm->summary[s] & (~0ULL << (w % 64));
		if (word) {
			w = s * 64 + __builtin_ctzll(word);
			return w * 64 + __builtin_ctzll(bm->words[w]);
		}
	}
	return bm->nbits;
}
