// SPDX-License-Identifier: GPL-2.0
/*
 * cvm_measure.c - the launch measurement: while a VM is transient, every
 * page that enters secure memory from the host extends a SHA-256 digest
 * over (GPA as le64, page contents); INIT_DONE seals it.
 */
#include <crypto/hash.h>
#include <linux/highmem.h>
#include <linux/slab.h>

#include "cvm_internal.h"

struct cvm_measure {
	struct crypto_shash *tfm;
	struct shash_desc *desc;
	void *saved;		/* exported state, for all-or-nothing calls */
	bool active;		/* between INIT_START and INIT_DONE */
	bool sealed;
	u64 nr_pages;
	u64 saved_nr_pages;
	u8 digest[CVM_DIGEST_SIZE];
};

struct cvm_measure *cvm_measure_new(void)
{
	struct cvm_measure *m;
	int ret = -ENOMEM;

	m = kzalloc(sizeof(*m), GFP_KERNEL_ACCOUNT);
	if (!m)
		return ERR_PTR(-ENOMEM);
	m->tfm = crypto_alloc_shash("sha256", 0, 0);
	if (IS_ERR(m->tfm)) {
		ret = PTR_ERR(m->tfm);
		m->tfm = NULL;
		goto err_free;
	}
	m->desc = kzalloc(sizeof(*m->desc) + crypto_shash_descsize(m->tfm),
			  GFP_KERNEL_ACCOUNT);
	m->saved = kzalloc(crypto_shash_statesize(m->tfm), GFP_KERNEL_ACCOUNT);
	if (!m->desc || !m->saved)
		goto err_free;
	m->desc->tfm = m->tfm;
	return m;

err_free:
	cvm_measure_free(m);
	return ERR_PTR(ret);
}

void cvm_measure_free(struct cvm_measure *m)
{
	if (!m)
		return;
	kfree(m->saved);
	kfree(m->desc);
	if (m->tfm)
		crypto_free_shash(m->tfm);
	kfree(m);
}

/* INIT_START: a new, empty measurement. */
int cvm_measure_start(struct cvm_measure *m)
{
	cvm_measure_reset(m);
	m->active = true;
	return crypto_shash_init(m->desc);
}

/* Extend with one page entering secure memory; no-op unless transient. */
int cvm_measure_page(struct cvm_measure *m, u64 gpa, struct page *page)
{
	__le64 le_gpa = cpu_to_le64(gpa);
	void *va;
	int ret;

	if (!m->active)
		return 0;
	ret = crypto_shash_update(m->desc, (const u8 *)&le_gpa, sizeof(le_gpa));
	if (ret)
		return ret;
	va = kmap_local_page(page);
	ret = crypto_shash_update(m->desc, va, PAGE_SIZE);
	kunmap_local(va);
	if (!ret)
		m->nr_pages++;
	return ret;
}

/* INIT_DONE: seal. Nothing extends the digest afterwards. */
int cvm_measure_seal(struct cvm_measure *m)
{
	int ret = crypto_shash_final(m->desc, m->digest);

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
	return m->active ? crypto_shash_export(m->desc, m->saved) : 0;
}

void cvm_measure_restore(struct cvm_measure *m)
{
	m->nr_pages = m->saved_nr_pages;
	if (m->active)
		WARN_ON_ONCE(crypto_shash_import(m->desc, m->saved));
}

void cvm_measure_read(struct cvm_measure *m, struct cvm_measurement *out)
{
	out->flags = m->sealed ? CVM_MEASUREMENT_SEALED : 0;
	out->nr_pages = m->nr_pages;
	if (m->sealed)
		memcpy(out->digest, m->digest, CVM_DIGEST_SIZE);
}
