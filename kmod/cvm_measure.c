// SPDX-License-Identifier: GPL-2.0-only OR LGPL-2.1-or-later
/*
 * cvm_measure.c - the launch measurement: while a VM is transient, every
 * page that enters secure memory from the host extends a SHA-256 digest
 * over (GPA as le64, page contents); INIT_DONE seals it.
 */
#include "cvm_core.h"

struct cvm_measure {
	struct cvm_os_hash *hash;
	bool active;		/* between INIT_START and INIT_DONE */
	bool sealed;
	u64 nr_pages;
	u64 saved_nr_pages; /* with the hash's saved state */
	u8 digest[CVM_DIGEST_SIZE];
};

int cvm_measure_new(struct cvm_measure **ret)
{
	struct cvm_measure *m;
	int err;

	m = cvm_os_zalloc(sizeof(*m));
	if (!m)
		return -ENOMEM;
	err = cvm_os_hash_new(&m->hash);
	if (err) {
		cvm_os_free(m);
		return err;
	}
	*ret = m;
	return 0;
}

void cvm_measure_free(struct cvm_measure *m)
{
	if (!m)
		return;
	cvm_os_hash_free(m->hash);
	cvm_os_free(m);
}

/* INIT_START: a new, empty measurement. */
int cvm_measure_start(struct cvm_measure *m)
{
	int ret;

	cvm_measure_reset(m);
	ret = cvm_os_hash_init(m->hash);
	if (!ret)
		m->active = true;
	return ret;
}

/* Extend with one page entering secure memory; no-op unless transient. */
int cvm_measure_page(struct cvm_measure *m, u64 gpa, struct cvm_page *page)
{
	u8 le_gpa[8];
	int i, ret;

	if (!m->active)
		return 0;
	for (i = 0; i < 8; i++)
		le_gpa[i] = (u8)(gpa >> (8 * i));
	ret = cvm_os_hash_update(m->hash, le_gpa, sizeof(le_gpa));
	if (!ret)
		ret = cvm_os_hash_update_page(m->hash, page);
	if (!ret)
		m->nr_pages++;
	return ret;
}

/* INIT_DONE: seal. Nothing extends the digest afterwards. */
int cvm_measure_seal(struct cvm_measure *m)
{
	int ret = cvm_os_hash_final(m->hash, m->digest);

	if (ret)
		return ret;
	m->active = false;
	m->sealed = true;
	return 0;
}

/* INIT_ABORT / TERMINATE: the measurement belongs to the launch that ended. */
void cvm_measure_reset(struct cvm_measure *m)
{
	m->active = false;
	m->sealed = false;
	m->nr_pages = 0;
	memset(m->digest, 0, sizeof(m->digest));
}

/* Save the running state before a call that may roll back. */
int cvm_measure_save(struct cvm_measure *m)
{
	m->saved_nr_pages = m->nr_pages;
	return m->active ? cvm_os_hash_save(m->hash) : 0;
}

void cvm_measure_restore(struct cvm_measure *m)
{
	m->nr_pages = m->saved_nr_pages;
	if (m->active)
		WARN_ON_ONCE(cvm_os_hash_restore(m->hash));
}

void cvm_measure_read(struct cvm_measure *m, struct cvm_measurement *out)
{
	memset(out, 0, sizeof(*out));
	out->flags = m->sealed ? CVM_MEASUREMENT_SEALED : 0;
	out->nr_pages = m->nr_pages;
	if (m->sealed)
		memcpy(out->digest, m->digest, CVM_DIGEST_SIZE);
}
