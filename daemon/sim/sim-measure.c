// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * sim-measure.c - the launch measurement, as cvm_measure.c: while a VM is
 * transient, every page that enters secure memory from the host extends a
 * SHA-256 digest over (GPA as le64, the page's 4096 bytes); INIT_DONE
 * seals it. Same inputs, same digest as the module.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "sim-internal.h"

struct sim_measure {
	EVP_MD_CTX *ctx;
	EVP_MD_CTX *saved;	/* copy, for all-or-nothing calls */
	bool active;		/* between INIT_START and INIT_DONE */
	bool sealed;
	uint64_t nr_pages;
	uint64_t saved_nr_pages;
	uint8_t digest[CVM_DIGEST_SIZE];
};

int sim_measure_new(struct sim_measure **ret)
{
	struct sim_measure *m;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->ctx = EVP_MD_CTX_new();
	m->saved = EVP_MD_CTX_new();
	if (!m->ctx || !m->saved) {
		sim_measure_free(m);
		return -ENOMEM;
	}
	*ret = m;
	return 0;
}

struct sim_measure *sim_measure_free(struct sim_measure *m)
{
	if (!m)
		return NULL;
	EVP_MD_CTX_free(m->ctx);
	EVP_MD_CTX_free(m->saved);
	free(m);
	return NULL;
}

/* INIT_START: a new, empty measurement. */
int sim_measure_start(struct sim_measure *m)
{
	sim_measure_reset(m);
	if (EVP_DigestInit_ex(m->ctx, EVP_sha256(), NULL) != 1)
		return -EIO;
	m->active = true;
	return 0;
}

/* Extend with one page entering secure memory; no-op unless transient. */
int sim_measure_page(struct sim_measure *m, uint64_t gpa, const uint8_t *page)
{
	uint8_t le_gpa[8];
	int i;

	if (!m->active)
		return 0;
	for (i = 0; i < 8; i++)
		le_gpa[i] = (uint8_t)(gpa >> (8 * i));
	if (EVP_DigestUpdate(m->ctx, le_gpa, sizeof(le_gpa)) != 1 ||
	    EVP_DigestUpdate(m->ctx, page, SIM_PAGE_SIZE) != 1)
		return -EIO;
	m->nr_pages++;
	return 0;
}

/* INIT_DONE: seal. Nothing extends the digest afterwards. */
int sim_measure_seal(struct sim_measure *m)
{
	if (EVP_DigestFinal_ex(m->ctx, m->digest, NULL) != 1)
		return -EIO;
	m->active = false;
	m->sealed = true;
	return 0;
}

/* INIT_ABORT / TERMINATE: the measurement belongs to the launch that ended. */
void sim_measure_reset(struct sim_measure *m)
{
	m->active = false;
	m->sealed = false;
	m->nr_pages = 0;
	memset(m->digest, 0, sizeof(m->digest));
}

/* Save the running state before a call that may roll back. */
int sim_measure_save(struct sim_measure *m)
{
	m->saved_nr_pages = m->nr_pages;
	if (m->active && EVP_MD_CTX_copy_ex(m->saved, m->ctx) != 1)
		return -ENOMEM;
	return 0;
}

/* Back to the saved state: swapping the contexts can't fail. */
void sim_measure_restore(struct sim_measure *m)
{
	EVP_MD_CTX *ctx = m->ctx;

	m->nr_pages = m->saved_nr_pages;
	if (m->active) {
		m->ctx = m->saved;
		m->saved = ctx;
	}
}

void sim_measure_read(struct sim_measure *m, struct cvm_measurement *out)
{
	memset(out, 0, sizeof(*out));
	out->flags = m->sealed ? CVM_MEASUREMENT_SEALED : 0;
	out->nr_pages = m->nr_pages;
	if (m->sealed)
		memcpy(out->digest, m->digest, CVM_DIGEST_SIZE);
}
